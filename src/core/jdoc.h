/* jdoc: a JSON tree together with where each value came from in its source file.
 *
 * Positions are kept by place — (mapping, key) for a member, (sequence, index) for an item, and
 * the root — not by node address, because jansson shares one node for every true, false and
 * null. Error messages cite "file:line:col" through jdoc_locate() with the JSON pointer of the
 * value concerned. A jdoc owns one reference to its root, its file name and its position table;
 * the tree must not be modified while positions are looked up (they are keyed by container
 * address). */
#ifndef OSIRIS_JDOC_H
#define OSIRIS_JDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

struct srcpos {
    int line; /* 1-based; 0 when unknown */
    int col;  /* 1-based, in characters */
};

struct jdoc_slot; /* hash-table entry, private to jdoc.c */

struct jdoc {
    json_t *root;            /* owned reference; NULL until loaded */
    char *file;              /* owned; the name used in messages */
    struct srcpos root_pos;  /* where the root value starts */
    struct jdoc_slot *slots; /* open-addressing table keyed by place; owned */
    size_t nslots;           /* power of two, 0 when empty */
    size_t count;            /* used slots */
};

#define JDOC_INIT                                                                                  \
    {                                                                                              \
        0                                                                                          \
    }

void jdoc_init(struct jdoc *doc, const char *file);
void jdoc_release(struct jdoc *doc);

/* Records where object[key]'s value starts and where its key starts. */
void jdoc_set_member_pos(struct jdoc *doc, const json_t *object, const char *key, struct srcpos pos,
                         struct srcpos keypos);
/* Records where array[index] starts. */
void jdoc_set_item_pos(struct jdoc *doc, const json_t *array, size_t index, struct srcpos pos);

/* Position of object[key]'s value, or of its key when key_pos is set; {0,0} when unknown. */
struct srcpos jdoc_member_pos(const struct jdoc *doc, const json_t *object, const char *key,
                              bool key_pos);
struct srcpos jdoc_item_pos(const struct jdoc *doc, const json_t *array, size_t index);

/* Copies the positions of every member or item of src (a container) to the same places of dst,
 * and recursively below, where dst has the same shape. */
void jdoc_copy_positions(struct jdoc *to, const json_t *dst, const struct jdoc *from,
                         const json_t *src);

/* Position for a JSON pointer: the value it names or, when it does not exist, its deepest
 * existing ancestor. With key set, the key of the last token is preferred (for "unknown key" and
 * "missing key" messages). */
struct srcpos jdoc_locate(const struct jdoc *doc, const char *pointer, bool key);

/* "file:line:col" (or "file" when unknown) for pointer, written into buf. */
const char *jdoc_where(const struct jdoc *doc, const char *pointer, bool key, char *buf,
                       size_t size);

#endif
