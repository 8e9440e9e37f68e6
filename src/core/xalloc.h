/* Allocation that never returns NULL: running out of memory aborts with a message.
 * Callers therefore never check the result (DESIGN §2: "OOM aborts"). */
#ifndef OSIRIS_XALLOC_H
#define OSIRIS_XALLOC_H

#include <stddef.h>

/* All return memory owned by the caller (free() it). */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Grows *items (an array of *cap elements of size elem) so it holds at least need elements. */
void xgrow(void **items, size_t *cap, size_t need, size_t elem);

#define XGROW(items, cap, need) xgrow((void **)&(items), &(cap), (need), sizeof(*(items)))

#endif
