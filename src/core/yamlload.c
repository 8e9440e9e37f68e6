/* YAML loader: libyaml's event parser feeding an explicit stack that builds a jansson tree.
 *
 * Positions are kept by place (see jdoc.h) in a scratch jdoc while loading, because some
 * containers are built and later dropped (merge sources, mappings replaced by their merged
 * form). When the document is complete, only the places of the final tree are copied into the
 * caller's jdoc, so it never holds an entry for a freed address that a later allocation could
 * reuse. */
#include "yamlload.h"
#include "xalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define STD_TAG_PREFIX "tag:yaml.org,2002:"

/* ==== Plain scalars: YAML 1.2 core schema ==== */

enum scalar_kind {
    SK_STR,
    SK_NULL,
    SK_BOOL,
    SK_INT,
    SK_FLOAT,
    SK_INF, /* .inf and .nan: valid YAML, but JSON has no such numbers */
};

static bool is_word(const char *s, size_t n, const char *const *words)
{
    for (; *words; words++)
        if (strlen(*words) == n && memcmp(s, *words, n) == 0)
            return true;
    return false;
}

/* Length of the run of characters of s[0..n) that are in set. */
static size_t span(const char *s, size_t n, const char *set)
{
    size_t i = 0;
    while (i < n && s[i] && strchr(set, s[i]))
        i++;
    return i;
}

#define DIGITS "0123456789"

/* [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ ; *base tells which one matched. */
static bool match_int(const char *s, size_t n, int *base)
{
    if (n > 2 && s[0] == '0' && s[1] == 'o' && span(s + 2, n - 2, "01234567") == n - 2) {
        *base = 8;
        return true;
    }
    if (n > 2 && s[0] == '0' && s[1] == 'x' && span(s + 2, n - 2, DIGITS "abcdefABCDEF") == n - 2) {
        *base = 16;
        return true;
    }
    size_t i = (n && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    *base = 10;
    return n > i && span(s + i, n - i, DIGITS) == n - i;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool match_float(const char *s, size_t n)
{
    size_t i = (n && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (i < n && s[i] == '.') {
        size_t d = span(s + i + 1, n - i - 1, DIGITS);
        if (!d)
            return false;
        i += 1 + d;
    } else {
        size_t d = span(s + i, n - i, DIGITS);
        if (!d)
            return false;
        i += d;
        if (i < n && s[i] == '.')
            i += 1 + span(s + i + 1, n - i - 1, DIGITS);
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t d = span(s + i, n - i, DIGITS);
        if (!d)
            return false;
        i += d;
    }
    return i == n;
}

static enum scalar_kind classify_plain(const char *s, size_t n)
{
    static const char *const nulls[] = { "~", "null", "Null", "NULL", NULL };
    static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE", NULL };
    static const char *const specials[] = { ".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
                                            "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
                                            ".NaN",  ".NAN",  NULL };
    int base;
    if (n == 0 || is_word(s, n, nulls))
        return SK_NULL;
    if (is_word(s, n, bools))
        return SK_BOOL;
    if (match_int(s, n, &base))
        return SK_INT;
    if (match_float(s, n))
        return SK_FLOAT;
    if (is_word(s, n, specials))
        return SK_INF;
    return SK_STR;
}

bool yamlload_plain_is_string(const char *s, size_t len)
{
    return classify_plain(s, len) == SK_STR;
}

/* ==== Loader state ==== */

/* One open collection. */
struct frame {
    json_t *node;      /* the object or array being filled; owned */
    char *anchor;      /* anchor to register once the collection is complete, or NULL; owned */
    struct srcpos pos; /* where the collection starts */
    size_t nodes;      /* nodes in the subtree so far, this one included */
    int height;        /* collection levels in the subtree, this one included */
    /* mappings only */
    bool have_key;          /* a key was read and its value comes next */
    bool key_is_merge;      /* that key is the merge key << */
    char *key;              /* the pending key; owned */
    struct srcpos keypos;   /* where the pending key starts */
    struct srcpos *keyposv; /* position of each explicit key, in insertion order; owned */
    size_t nkeys;           /* used entries of keyposv */
    size_t capkeys;         /* allocated entries of keyposv */
    json_t *merge;          /* the value of <<, applied when the mapping ends; owned or NULL */
    struct srcpos mergepos; /* where the << key starts */
};

/* A completed anchored node; an alias copies it. */
struct anchor {
    char *name;   /* owned; NULL marks an empty slot */
    json_t *node; /* owned reference, kept even when the node leaves the tree (merge sources) */
    struct srcpos pos; /* where the anchored node starts; an alias copy reports this place */
    size_t nodes;      /* subtree size, charged to the alias budget on every copy */
    int height;        /* collection levels, so a copy cannot nest past YAMLLOAD_MAX_DEPTH */
};

struct loader {
    const char *name;       /* file name for messages */
    const char *buf;        /* the input, to place reader errors */
    size_t len;             /* bytes in buf */
    struct jdoc scratch;    /* positions of every node built, including dropped ones */
    struct frame *stack;    /* open collections, innermost last; owned */
    size_t depth;           /* used entries of stack */
    size_t cap;             /* allocated entries of stack */
    struct anchor *anchors; /* open-addressing table keyed by name; owned */
    size_t nanchor_slots;   /* power of two, 0 when empty */
    size_t nanchors;        /* used slots */
    size_t alias_nodes;     /* nodes created by alias expansion so far */
    int documents;          /* DOCUMENT-START events seen */
    json_t *root;           /* the finished root; owned */
    struct srcpos root_pos; /* where the root starts */
    struct err *err;        /* where the first error goes */
};

static struct srcpos mark_pos(yaml_mark_t m)
{
    return (struct srcpos){ (int)m.line + 1, (int)m.column + 1 };
}

static int fail_at(struct loader *ld, struct srcpos at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *ld, struct srcpos at, const char *fmt, ...)
{
    char msg[sizeof(ld->err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_at(ld->err, ERR_INPUT, ld->name, at.line, at.col, "%s", msg);
}

/* "!!str" for the standard tags, the tag as written otherwise. */
static void tag_name(const char *tag, char *buf, size_t size)
{
    size_t plen = strlen(STD_TAG_PREFIX);
    if (strncmp(tag, STD_TAG_PREFIX, plen) == 0)
        snprintf(buf, size, "!!%s", tag + plen);
    else
        snprintf(buf, size, "%s", tag);
}

/* ==== Anchors ==== */

static size_t hash_name(const char *s)
{
    size_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static struct anchor *anchor_slot(struct anchor *slots, size_t nslots, const char *name)
{
    size_t mask = nslots - 1;
    for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask)
        if (!slots[i].name || strcmp(slots[i].name, name) == 0)
            return &slots[i];
}

static const struct anchor *anchor_find(const struct loader *ld, const char *name)
{
    if (!ld->nanchor_slots)
        return NULL;
    const struct anchor *a = anchor_slot(ld->anchors, ld->nanchor_slots, name);
    return a->name ? a : NULL;
}

/* Registers (or, as YAML allows, redefines) an anchor; takes ownership of name. */
static void anchor_set(struct loader *ld, char *name, json_t *node, struct srcpos pos, size_t nodes,
                       int height)
{
    if ((ld->nanchors + 1) * 2 > ld->nanchor_slots) {
        size_t n = ld->nanchor_slots ? ld->nanchor_slots * 2 : 64;
        struct anchor *slots = xcalloc(n, sizeof(*slots));
        for (size_t i = 0; i < ld->nanchor_slots; i++)
            if (ld->anchors[i].name)
                *anchor_slot(slots, n, ld->anchors[i].name) = ld->anchors[i];
        free(ld->anchors);
        ld->anchors = slots;
        ld->nanchor_slots = n;
    }
    struct anchor *a = anchor_slot(ld->anchors, ld->nanchor_slots, name);
    if (a->name) {
        free(a->name);
        json_decref(a->node);
    } else {
        ld->nanchors++;
    }
    *a = (struct anchor){ name, json_incref(node), pos, nodes, height };
}

/* Copies src and the positions below it. json_deep_copy() recurses, but an anchored subtree is
 * at most YAMLLOAD_MAX_DEPTH levels deep. */
static json_t *copy_node(struct jdoc *pos, const json_t *src)
{
    json_t *dst = json_deep_copy(src);
    jdoc_copy_positions(pos, dst, pos, src);
    return dst;
}

/* ==== Scalars ==== */

static int to_int(struct loader *ld, struct srcpos at, const char *s, size_t n, json_int_t *out)
{
    int base;
    match_int(s, n, &base);
    const char *digits = base == 10 ? s : s + 2;
    char *end;
    errno = 0;
    long long v = strtoll(digits, &end, base);
    if (errno == ERANGE || end != s + n)
        return fail_at(ld, at, "integer %.*s%s is outside the 64-bit range", n > 40 ? 40 : (int)n,
                       s, n > 40 ? "..." : "");
    *out = v;
    return 0;
}

static int to_real(struct loader *ld, struct srcpos at, const char *s, size_t n, double *out)
{
    errno = 0;
    double d = strtod(s, NULL);
    if (errno == ERANGE && (d > 1 || d < -1))
        return fail_at(ld, at, "number %.*s%s is too large for a double", n > 40 ? 40 : (int)n, s,
                       n > 40 ? "..." : "");
    *out = d; /* underflow to zero or a subnormal is fine */
    return 0;
}

/* The scalar tags we honour and what the text must resolve to under each; false for others. */
static bool scalar_tag(const char *tag, enum scalar_kind *want)
{
    static const struct {
        const char *tag;
        enum scalar_kind kind;
    } tags[] = {
        { "!", SK_STR }, /* the non-specific tag: a string */
        { YAML_STR_TAG, SK_STR }, { YAML_NULL_TAG, SK_NULL },   { YAML_BOOL_TAG, SK_BOOL },
        { YAML_INT_TAG, SK_INT }, { YAML_FLOAT_TAG, SK_FLOAT },
    };
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        if (strcmp(tag, tags[i].tag) == 0) {
            *want = tags[i].kind;
            return true;
        }
    }
    return false;
}

/* The error for a tag that does not fit a node of the given kind ("scalar", "mapping"...). */
static int bad_tag(struct loader *ld, struct srcpos at, const char *tag, const char *node)
{
    char name[128];
    enum scalar_kind kind;
    tag_name(tag, name, sizeof(name));
    if (strcmp(tag, YAML_MAP_TAG) == 0 || strcmp(tag, YAML_SEQ_TAG) == 0 || scalar_tag(tag, &kind))
        return fail_at(ld, at, "tag %s cannot be used on a %s", name, node);
    return fail_at(ld, at, "unsupported tag '%s'", name);
}

/* The node for a scalar event (*out, owned): plain scalars resolved, tags checked and applied. */
static int scalar_node(struct loader *ld, const yaml_event_t *ev, json_t **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    int shown = n > 40 ? 40 : (int)n; /* how much of the text an error message quotes */
    const char *more = n > 40 ? "..." : "";
    const char *tag = (const char *)ev->data.scalar.tag;
    struct srcpos at = mark_pos(ev->start_mark);
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    enum scalar_kind kind = (plain && !tag) ? classify_plain(s, n) : SK_STR;

    *out = NULL;
    enum scalar_kind want = SK_STR;
    if (tag && !scalar_tag(tag, &want))
        return bad_tag(ld, at, tag, "scalar");
    if (want != SK_STR) {
        /* A tag applies to quoted text too: !!int "42" is 42. */
        kind = memchr(s, '\0', n) ? SK_STR : classify_plain(s, n);
        bool fits = kind == want || (want == SK_FLOAT && (kind == SK_INT || kind == SK_INF));
        if (!fits) {
            char name[128];
            tag_name(tag, name, sizeof(name));
            return fail_at(ld, at, "'%.*s%s' is not a valid %s", shown, s, more, name);
        }
        int base;
        if (want == SK_FLOAT && kind == SK_INT && match_int(s, n, &base) && base == 10)
            kind = SK_FLOAT; /* strtod() takes any length; 0o and 0x go through to_int() */
    }

    json_int_t i = 0;
    double d = 0;
    switch (kind) {
    case SK_NULL:
        *out = json_null();
        return 0;
    case SK_BOOL:
        *out = json_boolean(s[0] == 't' || s[0] == 'T');
        return 0;
    case SK_INT:
        if (to_int(ld, at, s, n, &i))
            return -1;
        *out = want == SK_FLOAT ? json_real((double)i) : json_integer(i);
        return 0;
    case SK_FLOAT:
        if (to_real(ld, at, s, n, &d))
            return -1;
        *out = json_real(d);
        return 0;
    case SK_INF:
        return fail_at(ld, at, "'%.*s': JSON cannot hold infinity/NaN (quote it for a string)",
                       shown, s);
    case SK_STR:
        break;
    }
    *out = json_stringn(s, n);
    if (!*out) /* libyaml hands out valid UTF-8; this guards the contract, not the input */
        return fail_at(ld, at, "invalid UTF-8 in a string");
    return 0;
}

/* ==== Building the tree ==== */

static struct frame *top(struct loader *ld)
{
    return ld->depth ? &ld->stack[ld->depth - 1] : NULL;
}

static bool wants_key(struct loader *ld)
{
    struct frame *f = top(ld);
    return f && json_is_object(f->node) && !f->have_key;
}

static void frame_release(struct frame *f)
{
    json_decref(f->node);
    json_decref(f->merge);
    free(f->anchor);
    free(f->key);
    free(f->keyposv);
}

/* Where the explicit key already in f's mapping was written. */
static struct srcpos first_key_pos(const struct frame *f, const char *key)
{
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(f->node, k, v)
    {
        if (strcmp(k, key) == 0)
            return i < f->nkeys ? f->keyposv[i] : (struct srcpos){ 0, 0 };
        i++;
    }
    return (struct srcpos){ 0, 0 };
}

/* Accepts key (a string node, borrowed) as the pending key of the innermost mapping. */
static int take_key(struct loader *ld, const json_t *key, struct srcpos at, bool merge)
{
    struct frame *f = top(ld);
    if (!json_is_string(key))
        return fail_at(ld, at, "mapping keys must be strings, got %s", jv_type_name(key));
    const char *s = json_string_value(key);
    size_t n = json_string_length(key);
    if (memchr(s, '\0', n))
        return fail_at(ld, at, "mapping key contains a NUL character");
    struct srcpos first = { 0, 0 };
    bool dup = false;
    if (merge) {
        dup = f->merge != NULL;
        first = f->mergepos;
    } else if (json_object_get(f->node, s)) {
        dup = true;
        first = first_key_pos(f, s);
    }
    if (dup)
        return fail_at(ld, at, "duplicate key '%.*s%s' (first defined at line %d)",
                       n > 60 ? 60 : (int)n, s, n > 60 ? "..." : "", first.line);
    f->have_key = true;
    f->key_is_merge = merge;
    f->key = xstrndup(s, n);
    f->keypos = at;
    return 0;
}

/* Hangs a finished node (owned) that starts at pos under the innermost collection, or makes it
 * the root. */
static int attach(struct loader *ld, json_t *node, size_t nodes, int height, struct srcpos pos)
{
    struct frame *f = top(ld);
    if (!f) {
        ld->root = node;
        ld->root_pos = pos;
        return 0;
    }
    f->nodes += nodes;
    if (height + 1 > f->height)
        f->height = height + 1;
    if (json_is_array(f->node)) {
        jdoc_set_item_pos(&ld->scratch, f->node, json_array_size(f->node), pos);
        json_array_append_new(f->node, node);
        return 0;
    }

    f->have_key = false;
    char *key = f->key;
    f->key = NULL;
    if (f->key_is_merge) {
        /* Names the offending value: the whole value, or the first item that is no mapping. */
        const json_t *bad = (json_is_object(node) || json_is_array(node)) ? NULL : node;
        struct srcpos at = pos;
        for (size_t i = 0; json_is_array(node) && i < json_array_size(node); i++) {
            bad = json_array_get(node, i);
            if (json_is_object(bad)) {
                bad = NULL;
            } else {
                at = jdoc_item_pos(&ld->scratch, node, i);
                break;
            }
        }
        if (bad) {
            if (!at.line)
                at = f->keypos;
            fail_at(ld, at, "merge key '<<' needs a mapping or a sequence of mappings, got %s%s",
                    bad == node ? "" : "an item of type ", jv_type_name(bad));
            json_decref(node);
            free(key);
            return -1;
        }
        f->merge = node;
        f->mergepos = f->keypos;
    } else {
        jdoc_set_member_pos(&ld->scratch, f->node, key, pos, f->keypos);
        json_object_set_new(f->node, key, node);
        XGROW(f->keyposv, f->capkeys, f->nkeys + 1);
        f->keyposv[f->nkeys++] = f->keypos;
    }
    free(key);
    return 0;
}

/* The values move to the merged mapping as they are, so only their own places need copying; the
 * places below them are keyed by their (unchanged) containers. */
static void copy_member_pos(struct loader *ld, const json_t *out, const json_t *from, const char *k)
{
    struct srcpos pos = jdoc_member_pos(&ld->scratch, from, k, false);
    struct srcpos keypos = jdoc_member_pos(&ld->scratch, from, k, true);
    jdoc_set_member_pos(&ld->scratch, out, k, pos, keypos);
}

/* Applies f's merge key: its mappings' keys first (earlier mappings win), explicit keys win
 * over merged ones, then the explicit keys not yet present. Returns the new mapping (owned). */
static json_t *apply_merge(struct loader *ld, struct frame *f)
{
    json_t *out = json_object();
    size_t nsrc = json_is_array(f->merge) ? json_array_size(f->merge) : 1;
    for (size_t i = 0; i < nsrc; i++) {
        json_t *src = json_is_array(f->merge) ? json_array_get(f->merge, i) : f->merge;
        const char *k;
        json_t *v;
        json_object_foreach(src, k, v)
        {
            if (json_object_get(out, k))
                continue;
            json_t *mine = json_object_get(f->node, k);
            json_object_set(out, k, mine ? mine : v);
            copy_member_pos(ld, out, mine ? f->node : src, k);
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach(f->node, k, v)
    {
        if (!json_object_get(out, k)) {
            json_object_set(out, k, v);
            copy_member_pos(ld, out, f->node, k);
        }
    }
    return out;
}

static int on_scalar(struct loader *ld, const yaml_event_t *ev)
{
    json_t *node;
    if (scalar_node(ld, ev, &node))
        return -1;
    struct srcpos at = mark_pos(ev->start_mark);
    const char *anchor = (const char *)ev->data.scalar.anchor;
    if (anchor)
        anchor_set(ld, xstrdup(anchor), node, at, 1, 0);
    if (wants_key(ld)) {
        bool merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag &&
                     ev->data.scalar.length == 2 && memcmp(ev->data.scalar.value, "<<", 2) == 0;
        int rc = take_key(ld, node, at, merge);
        json_decref(node);
        return rc;
    }
    return attach(ld, node, 1, 0, at);
}

static int on_alias(struct loader *ld, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    struct srcpos at = mark_pos(ev->start_mark);
    const struct anchor *a = anchor_find(ld, name);
    if (!a) {
        for (size_t i = 0; i < ld->depth; i++)
            if (ld->stack[i].anchor && strcmp(ld->stack[i].anchor, name) == 0)
                return fail_at(ld, at, "alias '*%s' refers to a node that contains it", name);
        return fail_at(ld, at, "unknown alias '*%s'", name);
    }
    if (ld->depth + (size_t)a->height > YAMLLOAD_MAX_DEPTH)
        return fail_at(ld, at, "alias '*%s' nests deeper than %d levels", name, YAMLLOAD_MAX_DEPTH);
    /* Charged before copying, so a billion-laughs document fails without allocating. */
    if (a->nodes > YAMLLOAD_MAX_ALIAS_NODES - ld->alias_nodes)
        return fail_at(ld, at, "alias expansion exceeds %d nodes (alias bomb?)",
                       YAMLLOAD_MAX_ALIAS_NODES);
    ld->alias_nodes += a->nodes;
    if (wants_key(ld))
        return take_key(ld, a->node, at, false);
    return attach(ld, copy_node(&ld->scratch, a->node), a->nodes, a->height, a->pos);
}

static int on_start(struct loader *ld, const yaml_event_t *ev)
{
    bool map = ev->type == YAML_MAPPING_START_EVENT;
    struct srcpos at = mark_pos(ev->start_mark);
    const char *tag =
        (const char *)(map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
    const char *anchor =
        (const char *)(map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
    if (wants_key(ld))
        return fail_at(ld, at, "mapping keys must be strings, got %s", map ? "object" : "array");
    if (ld->depth >= YAMLLOAD_MAX_DEPTH)
        return fail_at(ld, at, "nesting deeper than %d levels", YAMLLOAD_MAX_DEPTH);
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, map ? YAML_MAP_TAG : YAML_SEQ_TAG) != 0)
        return bad_tag(ld, at, tag, map ? "mapping" : "sequence");
    XGROW(ld->stack, ld->cap, ld->depth + 1);
    struct frame *f = &ld->stack[ld->depth++];
    memset(f, 0, sizeof(*f));
    f->node = map ? json_object() : json_array();
    f->anchor = anchor ? xstrdup(anchor) : NULL;
    f->pos = at;
    f->nodes = 1;
    f->height = 1;
    return 0;
}

static int on_end(struct loader *ld)
{
    struct frame f = *top(ld);
    ld->depth--;
    if (f.merge) {
        json_t *merged = apply_merge(ld, &f);
        json_decref(f.node);
        f.node = merged;
    }
    json_t *node = f.node;
    f.node = NULL;
    if (f.anchor) {
        anchor_set(ld, f.anchor, node, f.pos, f.nodes, f.height);
        f.anchor = NULL;
    }
    frame_release(&f);
    return attach(ld, node, f.nodes, f.height, f.pos);
}

static int on_event(struct loader *ld, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (ld->documents++)
            return fail_at(ld, mark_pos(ev->start_mark),
                           "more than one YAML document (only one is allowed per file)");
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(ld, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(ld, ev);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return on_start(ld, ev);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(ld);
    default:
        return 0;
    }
}

/* ==== Errors from libyaml ==== */

/* Line and column of a byte offset; libyaml gives reader errors only as offsets. */
static struct srcpos offset_pos(const char *buf, size_t len, size_t offset)
{
    struct srcpos p = { 1, 1 };
    size_t i = 0;
    if (len >= 2 &&
        ((buf[0] == '\xfe' && buf[1] == '\xff') || (buf[0] == '\xff' && buf[1] == '\xfe')))
        return (struct srcpos){ 0, 0 }; /* UTF-16: the offset does not map to UTF-8 lines */
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    for (; i < offset && i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n' || (c == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
            p.line++;
            p.col = 1;
        } else if ((c & 0xc0) != 0x80) {
            p.col++;
        }
    }
    return p;
}

static int parser_error(struct loader *ld, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "unknown error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        fprintf(stderr, "osiris: out of memory (parsing YAML)\n");
        abort();
    case YAML_READER_ERROR: {
        struct srcpos at = offset_pos(ld->buf, ld->len, p->problem_offset);
        char value[32] = "";
        if (p->problem_value >= 0)
            snprintf(value, sizeof(value), " #x%X", (unsigned)p->problem_value);
        if (strstr(problem, "UTF-8") || strstr(problem, "Unicode"))
            return fail_at(ld, at, "invalid UTF-8: %s%s (byte offset %zu)", problem, value,
                           p->problem_offset);
        if (strstr(problem, "control characters"))
            return fail_at(ld, at, "control character%s is not allowed (byte offset %zu)", value,
                           p->problem_offset);
        return fail_at(ld, at, "%s%s (byte offset %zu)", problem, value, p->problem_offset);
    }
    default: {
        struct srcpos at = mark_pos(p->problem_mark);
        size_t off = p->problem_mark.index;
        if (off < ld->len && ld->buf[off] == '\t' && strstr(problem, "cannot start any token"))
            return fail_at(ld, at, "tab character where YAML needs spaces (indent with spaces)");
        if (p->context) {
            struct srcpos c = mark_pos(p->context_mark);
            return fail_at(ld, at, "%s (%s at line %d, column %d)", problem, p->context, c.line,
                           c.col);
        }
        return fail_at(ld, at, "%s", problem);
    }
    }
}

/* ==== Entry points ==== */

int yamlload_mem(struct jdoc *doc, const char *name, const void *buf, size_t len, struct err *err)
{
    struct loader ld = {
        .name = name ? name : "<input>", .buf = buf ? buf : "", .len = len, .err = err
    };
    jdoc_init(doc, ld.name);
    jdoc_init(&ld.scratch, ld.name);

    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)ld.buf, len);
    int rc = 0;
    bool done = false;
    while (!done && !rc) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = parser_error(&ld, &parser);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&ld, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);

    if (!rc) {
        /* An empty document is a null root at 1:1. */
        doc->root_pos = ld.root ? ld.root_pos : (struct srcpos){ 1, 1 };
        doc->root = ld.root ? ld.root : json_null();
        ld.root = NULL;
        /* Only the places of the final tree: dropped containers stay behind in scratch. */
        jdoc_copy_positions(doc, doc->root, &ld.scratch, doc->root);
    }
    json_decref(ld.root);
    for (size_t i = 0; i < ld.depth; i++)
        frame_release(&ld.stack[i]);
    free(ld.stack);
    for (size_t i = 0; i < ld.nanchor_slots; i++) {
        free(ld.anchors[i].name);
        json_decref(ld.anchors[i].node);
    }
    free(ld.anchors);
    jdoc_release(&ld.scratch);
    if (rc)
        jdoc_release(doc);
    return rc;
}

int yamlload_file(struct jdoc *doc, const char *path, struct err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        memset(doc, 0, sizeof(*doc));
        return err_errno(err, ERR_IO, "cannot read '%s'", path);
    }
    struct strbuf sb = STRBUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        strbuf_add(&sb, chunk, n);
    if (ferror(fp)) {
        int saved = errno;
        fclose(fp);
        strbuf_release(&sb);
        memset(doc, 0, sizeof(*doc));
        errno = saved;
        return err_errno(err, ERR_IO, "cannot read '%s'", path);
    }
    fclose(fp);
    int rc = yamlload_mem(doc, path, sb.buf, sb.len, err);
    strbuf_release(&sb);
    return rc;
}

const char *yamlload_library_version(void)
{
    return yaml_get_version_string();
}
