/* Node positions for a JSON tree, in a table keyed by node address. */
#include "jdoc.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jdoc_pos {
    const json_t *node;   /* NULL = empty slot */
    struct srcpos pos;    /* where the node's value starts */
    struct srcpos keypos; /* where its key starts when it is a mapping value, else {0,0} */
};

void jdoc_init(struct jdoc *doc, const char *file)
{
    memset(doc, 0, sizeof(*doc));
    doc->file = xstrdup(file ? file : "<input>");
}

void jdoc_release(struct jdoc *doc)
{
    json_decref(doc->root);
    free(doc->file);
    free(doc->slots);
    memset(doc, 0, sizeof(*doc));
}

static size_t hash_ptr(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static struct jdoc_pos *find_slot(struct jdoc_pos *slots, size_t nslots, const json_t *node)
{
    size_t mask = nslots - 1;
    for (size_t i = hash_ptr(node) & mask;; i = (i + 1) & mask)
        if (slots[i].node == node || !slots[i].node)
            return &slots[i];
}

static void grow(struct jdoc *doc)
{
    size_t n = doc->nslots ? doc->nslots * 2 : 256;
    struct jdoc_pos *slots = xcalloc(n, sizeof(*slots));
    for (size_t i = 0; i < doc->nslots; i++)
        if (doc->slots[i].node)
            *find_slot(slots, n, doc->slots[i].node) = doc->slots[i];
    free(doc->slots);
    doc->slots = slots;
    doc->nslots = n;
}

void jdoc_set_pos(struct jdoc *doc, const json_t *node, struct srcpos pos, const struct srcpos *keypos)
{
    if (!node)
        return;
    if ((doc->count + 1) * 4 > doc->nslots * 3)
        grow(doc);
    struct jdoc_pos *s = find_slot(doc->slots, doc->nslots, node);
    if (!s->node)
        doc->count++;
    s->node = node;
    s->pos = pos;
    s->keypos = keypos ? *keypos : (struct srcpos){ 0, 0 };
}

static const struct jdoc_pos *lookup(const struct jdoc *doc, const json_t *node)
{
    if (!node || !doc->nslots)
        return NULL;
    const struct jdoc_pos *s = find_slot(doc->slots, doc->nslots, node);
    return s->node ? s : NULL;
}

struct srcpos jdoc_pos(const struct jdoc *doc, const json_t *node)
{
    const struct jdoc_pos *s = lookup(doc, node);
    return s ? s->pos : (struct srcpos){ 0, 0 };
}

struct srcpos jdoc_key_pos(const struct jdoc *doc, const json_t *node)
{
    const struct jdoc_pos *s = lookup(doc, node);
    if (!s)
        return (struct srcpos){ 0, 0 };
    return s->keypos.line ? s->keypos : s->pos;
}

struct srcpos jdoc_locate(const struct jdoc *doc, const char *pointer, bool key)
{
    const json_t *cur = doc->root;
    struct srcpos best = jdoc_pos(doc, cur);
    if (!pointer || !cur)
        return best;
    struct strbuf tok = STRBUF_INIT;
    const char *p = pointer;
    while (*p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        jv_pointer_unescape(&tok, p, n);
        const json_t *next = NULL;
        if (json_is_object(cur)) {
            next = json_object_get(cur, strbuf_str(&tok));
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long idx = strtoul(strbuf_str(&tok), &end, 10);
            if (tok.len && !*end)
                next = json_array_get(cur, idx);
        }
        p += n;
        if (!next)
            break;
        cur = next;
        struct srcpos at = (key && !*p) ? jdoc_key_pos(doc, cur) : jdoc_pos(doc, cur);
        if (at.line)
            best = at;
    }
    strbuf_release(&tok);
    return best;
}

const char *jdoc_where(const struct jdoc *doc, const char *pointer, char *buf, size_t size)
{
    struct srcpos at = jdoc_locate(doc, pointer, true);
    if (at.line)
        snprintf(buf, size, "%s:%d:%d", doc->file, at.line, at.col);
    else
        snprintf(buf, size, "%s", doc->file);
    return buf;
}
