/* jdoc: a JSON tree together with where each node came from in its source file.
 *
 * The YAML loader fills one; error messages then cite "file:line:col" for any node, found by
 * node identity or by JSON pointer. A jdoc owns one reference to its root and its file name;
 * nodes must not be removed from the tree while the jdoc is in use, since positions are keyed
 * by node address. */
#ifndef OSIRIS_JDOC_H
#define OSIRIS_JDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

struct srcpos {
    int line; /* 1-based; 0 when unknown */
    int col;  /* 1-based, in characters */
};

struct jdoc_pos; /* hash-table slot, private to jdoc.c */

struct jdoc {
    json_t *root;          /* owned reference; NULL until loaded */
    char *file;            /* owned; the name used in messages */
    struct jdoc_pos *slots; /* open-addressing table keyed by node address; owned */
    size_t nslots;         /* power of two, 0 when empty */
    size_t count;          /* used slots */
};

#define JDOC_INIT {0}

void jdoc_init(struct jdoc *doc, const char *file);
void jdoc_release(struct jdoc *doc);

/* Records where node starts and, for a mapping value, where its key starts (keypos may be NULL). */
void jdoc_set_pos(struct jdoc *doc, const json_t *node, struct srcpos pos, const struct srcpos *keypos);

/* Position of node; {0,0} when unknown. */
struct srcpos jdoc_pos(const struct jdoc *doc, const json_t *node);

/* Position of the key under which node sits in its parent mapping; falls back to jdoc_pos(). */
struct srcpos jdoc_key_pos(const struct jdoc *doc, const json_t *node);

/* Position for a JSON pointer: the node it names or, when it does not exist, its deepest existing
 * ancestor. With key set, the position of the last token's key is preferred. */
struct srcpos jdoc_locate(const struct jdoc *doc, const char *pointer, bool key);

/* "file:line:col" (or "file" when unknown) for pointer, written into buf. */
const char *jdoc_where(const struct jdoc *doc, const char *pointer, char *buf, size_t size);

#endif
