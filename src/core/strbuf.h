/* strbuf: a growable, always NUL-terminated byte string (git strbuf, curl dynbuf).
 *
 * The buffer is owned by the strbuf and freed by strbuf_release(). An optional maximum size bounds
 * untrusted input (RPC lines, CSV fields): appends past `max` are dropped and `toobig` is set, so a
 * caller checks once at the end instead of after every append. */
#ifndef OSIRIS_STRBUF_H
#define OSIRIS_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *buf;   /* NUL-terminated; never NULL after the first append (strbuf_str() is safe) */
    size_t len;  /* bytes used, excluding the NUL */
    size_t cap;  /* bytes allocated */
    size_t max;  /* 0 = unbounded, else the largest len allowed */
    bool toobig; /* an append was dropped because of max */
};

#define STRBUF_INIT                                                                                \
    {                                                                                              \
        0                                                                                          \
    }

void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_release(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb); /* len = 0, keeps the allocation */

/* Makes room for n more bytes (and the NUL) in one allocation, for a caller about to append
 * many small pieces or to write into buf + len itself; false (and toobig) when max forbids. */
bool strbuf_grow(struct strbuf *sb, size_t n);

void strbuf_add(struct strbuf *sb, const void *data, size_t n);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void strbuf_truncate(struct strbuf *sb, size_t len);

/* The contents ("" for an empty strbuf); borrowed, valid until the next change. */
const char *strbuf_str(const struct strbuf *sb);

/* Hands the buffer to the caller (free() it) and leaves the strbuf empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

#endif
