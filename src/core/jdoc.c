/* Source positions of a JSON tree, in a hash table keyed by (container address, key or index). */
#include "jdoc.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jdoc_slot {
    const json_t *parent; /* container; NULL = empty slot */
    char *key;            /* member key (owned), or NULL for a sequence item */
    size_t index;         /* sequence index */
    struct srcpos pos;    /* where the value starts */
    struct srcpos keypos; /* where the key starts (members only) */
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
    for (size_t i = 0; i < doc->nslots; i++)
        free(doc->slots[i].key);
    free(doc->slots);
    memset(doc, 0, sizeof(*doc));
}

static size_t hash_place(const json_t *parent, const char *key, size_t index)
{
    uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ULL;
    if (key)
        for (const unsigned char *p = (const unsigned char *)key; *p; p++)
            h = (h ^ *p) * 0x100000001b3ULL; /* FNV-1a over the key */
    else
        h ^= index * 0xff51afd7ed558ccdULL;
    h ^= h >> 29;
    return (size_t)h;
}

static bool same_place(const struct jdoc_slot *s, const json_t *parent, const char *key,
                       size_t index)
{
    if (s->parent != parent)
        return false;
    return key ? (s->key && strcmp(s->key, key) == 0) : (!s->key && s->index == index);
}

static struct jdoc_slot *find_slot(struct jdoc_slot *slots, size_t nslots, const json_t *parent,
                                   const char *key, size_t index)
{
    size_t mask = nslots - 1;
    for (size_t i = hash_place(parent, key, index) & mask;; i = (i + 1) & mask)
        if (!slots[i].parent || same_place(&slots[i], parent, key, index))
            return &slots[i];
}

static void grow(struct jdoc *doc)
{
    size_t n = doc->nslots ? doc->nslots * 2 : 256;
    struct jdoc_slot *slots = xcalloc(n, sizeof(*slots));
    for (size_t i = 0; i < doc->nslots; i++) {
        const struct jdoc_slot *s = &doc->slots[i];
        if (s->parent)
            *find_slot(slots, n, s->parent, s->key, s->index) = *s;
    }
    free(doc->slots);
    doc->slots = slots;
    doc->nslots = n;
}

static void set_slot(struct jdoc *doc, const json_t *parent, const char *key, size_t index,
                     struct srcpos pos, struct srcpos keypos)
{
    if (!parent)
        return;
    if ((doc->count + 1) * 4 > doc->nslots * 3)
        grow(doc);
    struct jdoc_slot *s = find_slot(doc->slots, doc->nslots, parent, key, index);
    if (!s->parent) {
        doc->count++;
        s->parent = parent;
        s->key = key ? xstrdup(key) : NULL;
        s->index = index;
    }
    s->pos = pos;
    s->keypos = keypos;
}

static const struct jdoc_slot *get_slot(const struct jdoc *doc, const json_t *parent,
                                        const char *key, size_t index)
{
    if (!doc->nslots || !parent)
        return NULL;
    const struct jdoc_slot *s = find_slot(doc->slots, doc->nslots, parent, key, index);
    return s->parent ? s : NULL;
}

void jdoc_set_member_pos(struct jdoc *doc, const json_t *object, const char *key, struct srcpos pos,
                         struct srcpos keypos)
{
    set_slot(doc, object, key, 0, pos, keypos);
}

void jdoc_set_item_pos(struct jdoc *doc, const json_t *array, size_t index, struct srcpos pos)
{
    set_slot(doc, array, NULL, index, pos, (struct srcpos){ 0, 0 });
}

struct srcpos jdoc_member_pos(const struct jdoc *doc, const json_t *object, const char *key,
                              bool key_pos)
{
    const struct jdoc_slot *s = get_slot(doc, object, key, 0);
    if (!s)
        return (struct srcpos){ 0, 0 };
    return key_pos && s->keypos.line ? s->keypos : s->pos;
}

struct srcpos jdoc_item_pos(const struct jdoc *doc, const json_t *array, size_t index)
{
    const struct jdoc_slot *s = get_slot(doc, array, NULL, index);
    return s ? s->pos : (struct srcpos){ 0, 0 };
}

void jdoc_copy_positions(struct jdoc *to, const json_t *dst, const struct jdoc *from,
                         const json_t *src)
{
    if (json_is_object(src) && json_is_object(dst)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)src, k, v)
        {
            const struct jdoc_slot *s = get_slot(from, src, k, 0);
            json_t *d = json_object_get(dst, k);
            if (!d)
                continue;
            if (s)
                set_slot(to, dst, k, 0, s->pos, s->keypos);
            jdoc_copy_positions(to, d, from, v);
        }
    } else if (json_is_array(src) && json_is_array(dst)) {
        size_t n = json_array_size(src) < json_array_size(dst) ? json_array_size(src)
                                                               : json_array_size(dst);
        for (size_t i = 0; i < n; i++) {
            const struct jdoc_slot *s = get_slot(from, src, NULL, i);
            if (s)
                set_slot(to, dst, NULL, i, s->pos, s->keypos);
            jdoc_copy_positions(to, json_array_get(dst, i), from, json_array_get(src, i));
        }
    }
}

struct srcpos jdoc_locate(const struct jdoc *doc, const char *pointer, bool key)
{
    const json_t *cur = doc->root;
    struct srcpos best = doc->root_pos;
    if (!pointer || !cur)
        return best;
    struct strbuf tok = STRBUF_INIT;
    const char *p = pointer;
    while (*p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        jv_pointer_unescape(&tok, p, n);
        p += n;
        const json_t *next = NULL;
        struct srcpos at = { 0, 0 };
        if (json_is_object(cur)) {
            next = json_object_get(cur, strbuf_str(&tok));
            if (next)
                at = jdoc_member_pos(doc, cur, strbuf_str(&tok), key && !*p);
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long idx = strtoul(strbuf_str(&tok), &end, 10);
            if (tok.len && !*end && (next = json_array_get(cur, idx)) != NULL)
                at = jdoc_item_pos(doc, cur, idx);
        }
        if (!next)
            break;
        if (at.line)
            best = at;
        cur = next;
    }
    strbuf_release(&tok);
    return best;
}

const char *jdoc_where(const struct jdoc *doc, const char *pointer, bool key, char *buf,
                       size_t size)
{
    struct srcpos at = jdoc_locate(doc, pointer, key);
    if (at.line)
        snprintf(buf, size, "%s:%d:%d", doc->file, at.line, at.col);
    else
        snprintf(buf, size, "%s", doc->file);
    return buf;
}
