/* Arena: a chunked bump allocator with cleanup handlers (nginx pools).
 *
 * Everything allocated from an arena lives until arena_release(); nothing is freed one by one.
 * Foreign handles (PGconn, MYSQL, duckdb connections, FILE) are tied to an arena with
 * arena_on_release(), so every exit path closes them. Lifetimes used in osiris: one arena per
 * command or run, one per batch (reset after each batch). Allocation never fails (OOM aborts). */
#ifndef OSIRIS_ARENA_H
#define OSIRIS_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_chunk;
struct arena_cleanup;

struct arena {
    struct arena_chunk *head;       /* newest chunk first; owned */
    struct arena_cleanup *cleanups; /* LIFO list, stored in the arena itself */
    size_t chunk_size;              /* size of ordinary chunks; bigger requests get their own */
};

#define ARENA_INIT                                                                                 \
    {                                                                                              \
        0                                                                                          \
    }

void arena_init(struct arena *a);

/* Runs the cleanup handlers (newest first), frees every chunk and leaves the arena empty and
 * reusable. */
void arena_release(struct arena *a);

/* Memory is aligned for any type and owned by the arena. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t count, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);

/* Copies what sb holds into the arena and releases sb (the end of building a string). */
struct strbuf;
char *arena_take(struct arena *a, struct strbuf *sb);

/* Registers fn(data) to run at arena_release(). */
void arena_on_release(struct arena *a, void (*fn)(void *data), void *data);

#endif
