/* Chunked bump allocator; cleanup handlers run newest first so later resources, which may depend
 * on earlier ones (a statement on a connection), are closed before them. */
#include "arena.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdalign.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARENA_ALIGN      alignof(max_align_t)
#define ARENA_CHUNK_SIZE (64 * 1024)

struct arena_chunk {
    struct arena_chunk *next; /* older chunk */
    size_t used;              /* bytes handed out from data */
    size_t size;              /* capacity of data */
    alignas(max_align_t) unsigned char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    void (*fn)(void *data);
    void *data;
};

void arena_init(struct arena *a)
{
    memset(a, 0, sizeof(*a));
}

void arena_release(struct arena *a)
{
    while (a->cleanups) {
        struct arena_cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->data);
    }
    while (a->head) {
        struct arena_chunk *c = a->head;
        a->head = c->next;
        free(c);
    }
}

void *arena_alloc(struct arena *a, size_t n)
{
    size_t need = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    struct arena_chunk *c = a->head;
    if (c && c->size - c->used >= need) {
        void *p = c->data + c->used;
        c->used += need;
        return p;
    }
    size_t base = a->chunk_size ? a->chunk_size : ARENA_CHUNK_SIZE;
    if (need > base / 4) {
        /* A big block gets a chunk of its own behind the current one, so the current chunk's
         * free space is not wasted. */
        struct arena_chunk *big = xmalloc(sizeof(*big) + need);
        big->size = big->used = need;
        if (c) {
            big->next = c->next;
            c->next = big;
        } else {
            big->next = NULL;
            a->head = big;
        }
        return big->data;
    }
    c = xmalloc(sizeof(*c) + base);
    c->size = base;
    c->used = need;
    c->next = a->head;
    a->head = c;
    return c->data;
}

void *arena_calloc(struct arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        fprintf(stderr, "osiris: arena_calloc overflow\n");
        abort();
    }
    void *p = arena_alloc(a, count * size);
    memset(p, 0, count * size);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        n = 0;
    char *p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

void arena_on_release(struct arena *a, void (*fn)(void *data), void *data)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
    c->fn = fn;
    c->data = data;
    c->next = a->cleanups;
    a->cleanups = c;
}

char *arena_take(struct arena *a, struct strbuf *sb)
{
    char *s = arena_strndup(a, sb->buf ? sb->buf : "", sb->len);
    strbuf_release(sb);
    return s;
}
