/* JSON Schema validation: a schema is compiled into a graph of nodes (every $ref resolved to the
 * node it names, every regex compiled, every keyword's shape checked), and validation walks that
 * graph over an instance. The only file that includes PCRE2. What is supported and why:
 * docs/internals/jsonschema.md. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "jsonschema.h"
#include "embedded.h"
#include "xalloc.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nested evaluations (and nested subschemas while compiling) allowed before giving up, so a
 * recursive schema such as {"$ref": "#"} or a hostile one cannot overflow the stack. */
#define MAX_DEPTH 2000

/* Longest JSON text of a value quoted in a message; a large const must not flood the output. */
#define MAX_VALUE_TEXT 200

/* Most enum values listed in one message. */
#define MAX_ENUM_LISTED 20

/* Functions off the recursive paths that format messages are kept out of line, so the frames of
 * the recursions (compile_node → keyword → compile_node, eval → keyword → eval) stay small and
 * MAX_DEPTH fits in a modest stack. */
#define NOINLINE __attribute__((noinline))

#define META_URI  "http://json-schema.org/draft-07/schema"
#define META_PATH "src/core/draft-07.schema.json"

/* ==== Keywords ==== */

enum kw_id {
    KW_ADDITIONAL_ITEMS,
    KW_ADDITIONAL_PROPERTIES,
    KW_ALL_OF,
    KW_ANY_OF,
    KW_CONST,
    KW_CONTAINS,
    KW_DEFINITIONS, /* definitions and $defs */
    KW_DEPENDENCIES,
    KW_DEPENDENT_REQUIRED,
    KW_DEPENDENT_SCHEMAS,
    KW_ELSE,
    KW_ENUM,
    KW_EXCLUSIVE_MAXIMUM,
    KW_EXCLUSIVE_MINIMUM,
    KW_IF,
    KW_ITEMS,
    KW_MAX_ITEMS,
    KW_MAX_LENGTH,
    KW_MAX_PROPERTIES,
    KW_MAXIMUM,
    KW_MIN_ITEMS,
    KW_MIN_LENGTH,
    KW_MIN_PROPERTIES,
    KW_MINIMUM,
    KW_MULTIPLE_OF,
    KW_NOT,
    KW_ONE_OF,
    KW_PATTERN,
    KW_PATTERN_PROPERTIES,
    KW_PREFIX_ITEMS,
    KW_PROPERTIES,
    KW_PROPERTY_NAMES,
    KW_REQUIRED,
    KW_THEN,
    KW_TYPE,
    KW_UNIQUE_ITEMS,
};

/* Where a keyword keeps subschemas; tells the $id scan which values are schemas. */
enum kw_shape {
    SH_VALUE,  /* no subschema */
    SH_SCHEMA, /* one schema */
    SH_ARRAY,  /* array of schemas */
    SH_MAP,    /* object whose values are schemas */
    SH_ITEMS,  /* one schema or an array of schemas */
    SH_DEPS,   /* object whose values are schemas or arrays of names */
};

struct keyword {
    const char *name;
    enum kw_id id;
    enum kw_shape shape;
};

static const struct keyword keywords[] = {
    { "$defs", KW_DEFINITIONS, SH_MAP },
    { "additionalItems", KW_ADDITIONAL_ITEMS, SH_SCHEMA },
    { "additionalProperties", KW_ADDITIONAL_PROPERTIES, SH_SCHEMA },
    { "allOf", KW_ALL_OF, SH_ARRAY },
    { "anyOf", KW_ANY_OF, SH_ARRAY },
    { "const", KW_CONST, SH_VALUE },
    { "contains", KW_CONTAINS, SH_SCHEMA },
    { "definitions", KW_DEFINITIONS, SH_MAP },
    { "dependencies", KW_DEPENDENCIES, SH_DEPS },
    { "dependentRequired", KW_DEPENDENT_REQUIRED, SH_VALUE },
    { "dependentSchemas", KW_DEPENDENT_SCHEMAS, SH_MAP },
    { "else", KW_ELSE, SH_SCHEMA },
    { "enum", KW_ENUM, SH_VALUE },
    { "exclusiveMaximum", KW_EXCLUSIVE_MAXIMUM, SH_VALUE },
    { "exclusiveMinimum", KW_EXCLUSIVE_MINIMUM, SH_VALUE },
    { "if", KW_IF, SH_SCHEMA },
    { "items", KW_ITEMS, SH_ITEMS },
    { "maxItems", KW_MAX_ITEMS, SH_VALUE },
    { "maxLength", KW_MAX_LENGTH, SH_VALUE },
    { "maxProperties", KW_MAX_PROPERTIES, SH_VALUE },
    { "maximum", KW_MAXIMUM, SH_VALUE },
    { "minItems", KW_MIN_ITEMS, SH_VALUE },
    { "minLength", KW_MIN_LENGTH, SH_VALUE },
    { "minProperties", KW_MIN_PROPERTIES, SH_VALUE },
    { "minimum", KW_MINIMUM, SH_VALUE },
    { "multipleOf", KW_MULTIPLE_OF, SH_VALUE },
    { "not", KW_NOT, SH_SCHEMA },
    { "oneOf", KW_ONE_OF, SH_ARRAY },
    { "pattern", KW_PATTERN, SH_VALUE },
    { "patternProperties", KW_PATTERN_PROPERTIES, SH_MAP },
    { "prefixItems", KW_PREFIX_ITEMS, SH_ARRAY },
    { "properties", KW_PROPERTIES, SH_MAP },
    { "propertyNames", KW_PROPERTY_NAMES, SH_SCHEMA },
    { "required", KW_REQUIRED, SH_VALUE },
    { "then", KW_THEN, SH_SCHEMA },
    { "type", KW_TYPE, SH_VALUE },
    { "uniqueItems", KW_UNIQUE_ITEMS, SH_VALUE },
};

static const struct keyword *keyword_find(const char *name)
{
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
        if (strcmp(keywords[i].name, name) == 0)
            return &keywords[i];
    return NULL;
}

/* The seven type names, as bits of a mask. */
static const char *const type_names[] = { "null",   "boolean", "object", "array",
                                          "number", "string",  "integer" };
enum {
    T_NULL = 1 << 0,
    T_BOOLEAN = 1 << 1,
    T_OBJECT = 1 << 2,
    T_ARRAY = 1 << 3,
    T_NUMBER = 1 << 4,
    T_STRING = 1 << 5,
    T_INTEGER = 1 << 6,
};

/* ==== Compiled form ==== */

struct node;

/* One subschema of a keyword that holds several: properties, items arrays, allOf, ... */
struct sub {
    const char *name;    /* property name or pattern (borrowed from the schema), else NULL */
    struct node *node;   /* the subschema; NULL for the array form of dependencies */
    pcre2_code *re;      /* patternProperties: the compiled name pattern; owned */
    const json_t *names; /* dependencies/dependentRequired: the array of required names */
};

struct kw {
    enum kw_id id;
    const char *name;    /* the keyword as spelled in the schema; static */
    char *ptr;           /* JSON pointer of the keyword in its document; owned */
    const json_t *value; /* the keyword's value, borrowed from the document */
    struct node *sub;    /* the subschema of a single-schema keyword */
    struct sub *subs;    /* the subschemas of a multi-schema keyword; owned */
    size_t nsubs;        /* entries in subs */
    pcre2_code *re;      /* pattern: compiled; owned */
    unsigned types;      /* type: mask of T_* */
    json_int_t count;    /* min/max Length/Items/Properties */
};

struct node {
    const json_t *value; /* the schema: an object or a boolean, borrowed from its document */
    size_t doc;          /* index into jsonschema.docs */
    char *ptr;           /* JSON pointer of the schema in its document; owned */
    char *ref_uri;       /* $ref: the absolute URI it names; owned */
    struct node *ref; /* $ref: the node it names, once resolved (draft 7: nothing else applies) */
    struct kw *kws;   /* keywords in schema order; owned */
    size_t nkws;      /* entries in kws */
    /* Keywords whose meaning depends on a sibling, looked up once at compile time. */
    const struct kw *properties;
    const struct kw *pattern_properties;
    const struct kw *items;
    const struct kw *prefix_items;
    const struct kw *then_kw;
    const struct kw *else_kw;
};

struct doc {
    json_t *root; /* owned reference */
    char *uri;    /* the URI it was loaded under, without fragment ("" for the compiled schema) */
};

struct jsonschema {
    struct doc *docs; /* [0] is the schema that was compiled, then the preloaded documents and
                         the meta-schema when a $ref named it; owned */
    size_t ndocs;
    size_t capdocs;
    struct node **nodes; /* every node, for freeing; owned */
    size_t nnodes;
    size_t capnodes;
    struct node *root;           /* the node of docs[0] */
    pcre2_general_context *pcre; /* allocator for PCRE2 objects: aborts on OOM like xmalloc */
};

/* ==== Small helpers ==== */

static char *ptr_join(const char *ptr, const char *token)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, ptr);
    jv_pointer_add(&sb, token);
    return strbuf_detach(&sb, NULL);
}

static char *ptr_join_index(const char *ptr, size_t index)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, ptr);
    jv_pointer_add_index(&sb, index);
    return strbuf_detach(&sb, NULL);
}

/* Appends v as compact JSON, cut short (at a character boundary) when it is long. */
static void add_value(struct strbuf *sb, const json_t *v)
{
    struct strbuf t = STRBUF_INIT;
    jv_dump(v, &t, 0);
    size_t n = t.len;
    if (n > MAX_VALUE_TEXT) {
        n = MAX_VALUE_TEXT;
        while (n > 0 && ((unsigned char)t.buf[n] & 0xC0) == 0x80)
            n--;
    }
    strbuf_add(sb, strbuf_str(&t), n);
    if (n < t.len)
        strbuf_adds(sb, "...");
    strbuf_release(&t);
}

/* Appends a property name or a pattern between single quotes; control characters are escaped
 * so that a message stays on one line. */
static void add_name(struct strbuf *sb, const char *s)
{
    strbuf_addch(sb, '\'');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\n')
            strbuf_adds(sb, "\\n");
        else if (ch == '\t')
            strbuf_adds(sb, "\\t");
        else if (ch == '\r')
            strbuf_adds(sb, "\\r");
        else if (ch < 0x20 || ch == 0x7f)
            strbuf_addf(sb, "\\u%04x", ch);
        else
            strbuf_addch(sb, ch);
    }
    strbuf_addch(sb, '\'');
}

/* Number of code points in UTF-8 text (jansson only hands out valid UTF-8). */
static size_t utf8_length(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

/* Decodes %XX escapes (URI fragments are percent-encoded; RFC 6901 §6). */
static void percent_decode(struct strbuf *out, const char *s)
{
    strbuf_reset(out);
    strbuf_adds(out, "");
    for (; *s; s++) {
        if (s[0] == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
            char hex[3] = { s[1], s[2], 0 };
            strbuf_addch(out, (int)strtol(hex, NULL, 16));
            s += 2;
        } else {
            strbuf_addch(out, *s);
        }
    }
}

/* ==== String map ==== */

/* Open addressing, string keys; used for the $id index and the compiled-node memo. */
struct map_slot {
    char *key; /* owned; NULL for an empty slot */
    void *val;
};

struct map {
    struct map_slot *slots; /* owned; cap is a power of two */
    size_t cap;
    size_t len;
};

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static void *map_get(const struct map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].key)
            return NULL;
        if (strcmp(m->slots[i].key, key) == 0)
            return m->slots[i].val;
    }
}

static void map_insert_slot(struct map_slot *slots, size_t cap, char *key, void *val)
{
    size_t i = hash_str(key) & (cap - 1);
    while (slots[i].key)
        i = (i + 1) & (cap - 1);
    slots[i].key = key;
    slots[i].val = val;
}

/* Adds key (taking ownership of it) unless it is present; then the key is freed, the old value
 * stays, and false is returned. */
static bool map_put(struct map *m, char *key, void *val)
{
    if (map_get(m, key)) {
        free(key);
        return false;
    }
    if ((m->len + 1) * 3 > m->cap * 2) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        struct map_slot *slots = xcalloc(ncap, sizeof(*slots));
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key)
                map_insert_slot(slots, ncap, m->slots[i].key, m->slots[i].val);
        free(m->slots);
        m->slots = slots;
        m->cap = ncap;
    }
    map_insert_slot(m->slots, m->cap, key, val);
    m->len++;
    return true;
}

static void map_release(struct map *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        if (free_val && m->slots[i].key)
            free_val(m->slots[i].val);
    }
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* ==== URIs (RFC 3986 reference resolution) ==== */

struct uri {
    const char *scheme; /* each part NULL when absent; path is always present */
    size_t scheme_len;
    const char *auth;
    size_t auth_len;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
    const char *frag;
};

static void uri_parse(const char *s, struct uri *u)
{
    memset(u, 0, sizeof(*u));
    const char *p = s;
    if (isalpha((unsigned char)*p)) {
        const char *q = p + 1;
        while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
            q++;
        if (*q == ':') {
            u->scheme = p;
            u->scheme_len = (size_t)(q - p);
            p = q + 1;
        }
    }
    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        u->auth = p;
        u->auth_len = strcspn(p, "/?#");
        p += u->auth_len;
    }
    u->path = p;
    u->path_len = strcspn(p, "?#");
    p += u->path_len;
    if (*p == '?') {
        u->query = ++p;
        u->query_len = strcspn(p, "#");
        p += u->query_len;
    }
    if (*p == '#')
        u->frag = p + 1;
}

/* RFC 3986 §5.2.4: appends path with "." and ".." segments removed. */
static void remove_dot_segments(struct strbuf *dst, const char *path, size_t len)
{
    struct strbuf outbuf = STRBUF_INIT, *out = &outbuf;
    char *in = xstrndup(path, len);
    size_t i = 0;
    while (i < len) {
        const char *p = in + i;
        if (strncmp(p, "../", 3) == 0) {
            i += 3;
        } else if (strncmp(p, "./", 2) == 0) {
            i += 2;
        } else if (strncmp(p, "/./", 3) == 0) {
            i += 2;
        } else if (strcmp(p, "/.") == 0) {
            i += 1;
            in[i] = '/';
        } else if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0) {
            i += 2;
            if (in[i + 1] == '/')
                i++; /* "/../x" continues as "/x" */
            else
                in[i] = '/'; /* a final "/.." becomes "/" */
            char *slash = strrchr(out->buf ? out->buf : "", '/');
            strbuf_truncate(out, slash ? (size_t)(slash - out->buf) : 0);
        } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
            i = len;
        } else {
            size_t n = strcspn(p + 1, "/") + 1;
            strbuf_add(out, p, n);
            i += n;
        }
    }
    free(in);
    strbuf_add(dst, strbuf_str(out), out->len);
    strbuf_release(out);
}

/* Resolves ref against base (RFC 3986 §5.2.2); the result keeps ref's fragment. */
static char *uri_resolve(const char *base, const char *ref)
{
    struct uri b, r;
    uri_parse(base, &b);
    uri_parse(ref, &r);
    struct strbuf out = STRBUF_INIT;
    const struct uri *scheme = r.scheme ? &r : &b;
    if (scheme->scheme) {
        strbuf_add(&out, scheme->scheme, scheme->scheme_len);
        strbuf_addch(&out, ':');
    }
    const struct uri *auth = r.scheme || r.auth ? &r : &b;
    if (auth->auth) {
        strbuf_adds(&out, "//");
        strbuf_add(&out, auth->auth, auth->auth_len);
    }
    const struct uri *query = &r;
    if (r.scheme || r.auth || r.path[0] == '/') {
        remove_dot_segments(&out, r.path, r.path_len);
    } else if (r.path_len == 0) {
        strbuf_add(&out, b.path, b.path_len);
        if (!r.query)
            query = &b;
    } else {
        /* Merge: the base path up to its last '/', then the reference path. */
        struct strbuf merged = STRBUF_INIT;
        if (b.auth && b.path_len == 0) {
            strbuf_addch(&merged, '/');
        } else {
            size_t n = b.path_len;
            while (n > 0 && b.path[n - 1] != '/')
                n--;
            strbuf_add(&merged, b.path, n);
        }
        strbuf_add(&merged, r.path, r.path_len);
        remove_dot_segments(&out, strbuf_str(&merged), merged.len);
        strbuf_release(&merged);
    }
    if (query->query) {
        strbuf_addch(&out, '?');
        strbuf_add(&out, query->query, query->query_len);
    }
    if (r.frag) {
        strbuf_addch(&out, '#');
        strbuf_adds(&out, r.frag);
    }
    return strbuf_detach(&out, NULL);
}

static void uri_strip_fragment(char *uri)
{
    char *hash = strchr(uri, '#');
    if (hash)
        *hash = '\0';
}

/* The base URI inside schema v, given the base around it: changed by a "$id" that is not a
 * sibling of "$ref" (draft 7 ignores every sibling of "$ref"). Returns an owned string. */
static char *base_inside(const char *base, const json_t *v)
{
    const json_t *id = json_is_object(v) ? json_object_get(v, "$id") : NULL;
    if (!json_is_string(id) || json_object_get(v, "$ref"))
        return xstrdup(base);
    char *abs = uri_resolve(base, json_string_value(id));
    uri_strip_fragment(abs);
    return abs;
}

/* ==== Compiler: documents and the $id index ==== */

/* A place in a document: what a URI names. */
struct loc {
    size_t doc;          /* index into jsonschema.docs */
    char *ptr;           /* JSON pointer in the document; owned */
    const json_t *value; /* borrowed */
    char *base;          /* the base URI around the value (before its own $id); owned */
};

struct cctx {
    struct jsonschema *s;  /* what is being built */
    struct map ids;        /* absolute URI (with the fragment for "#name" ids) -> struct loc */
    struct map memo;       /* "<doc>:<pointer>" -> struct node, so each place compiles once */
    struct node **pending; /* $ref nodes still to resolve; owned array */
    size_t npending;
    size_t cappending;
    int depth;        /* nesting of compile_node() */
    bool meta_loaded; /* the embedded draft-07 meta-schema was added as a document */
    struct err *err;  /* private to the compile: set means failed */
};

static void loc_free(void *p)
{
    struct loc *l = p;
    free(l->ptr);
    free(l->base);
    free(l);
}

static void register_loc(struct cctx *cc, const char *uri, size_t doc, const char *ptr,
                         const json_t *value, const char *base)
{
    struct loc *l = xmalloc(sizeof(*l));
    l->doc = doc;
    l->ptr = xstrdup(ptr);
    l->value = value;
    l->base = xstrdup(base);
    /* The first document to claim a URI keeps it. */
    if (!map_put(&cc->ids, xstrdup(uri), l))
        loc_free(l);
}

/* Records every "$id" found in schema positions under v (not inside enum, const or unknown
 * keywords, whose values are plain data). */
static void scan_ids(struct cctx *cc, size_t doc, const json_t *v, struct strbuf *ptr,
                     const char *base, int depth)
{
    if (!json_is_object(v) || depth > MAX_DEPTH)
        return;
    char *inner = base_inside(base, v);
    const json_t *id = json_object_get(v, "$id");
    if (json_is_string(id) && !json_object_get(v, "$ref")) {
        const char *text = json_string_value(id);
        char *abs = uri_resolve(base, text);
        const char *frag = strchr(abs, '#');
        if (frag && frag[1] && frag[1] != '/') /* "#name": a location-independent identifier */
            register_loc(cc, abs, doc, strbuf_str(ptr), v, base);
        if (text[0] != '#')
            register_loc(cc, inner, doc, strbuf_str(ptr), v, base);
        free(abs);
    }
    size_t len = ptr->len;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        const struct keyword *k = keyword_find(key);
        if (!k || k->shape == SH_VALUE)
            continue;
        jv_pointer_add(ptr, key);
        size_t klen = ptr->len;
        if (json_is_array(val) && (k->shape == SH_ARRAY || k->shape == SH_ITEMS)) {
            for (size_t i = 0; i < json_array_size(val); i++) {
                jv_pointer_add_index(ptr, i);
                scan_ids(cc, doc, json_array_get(val, i), ptr, inner, depth + 1);
                strbuf_truncate(ptr, klen);
            }
        } else if (json_is_object(val) && (k->shape == SH_MAP || k->shape == SH_DEPS)) {
            const char *name;
            json_t *sub;
            json_object_foreach(val, name, sub)
            {
                jv_pointer_add(ptr, name);
                scan_ids(cc, doc, sub, ptr, inner, depth + 1);
                strbuf_truncate(ptr, klen);
            }
        } else if (k->shape == SH_SCHEMA || k->shape == SH_ITEMS) {
            scan_ids(cc, doc, val, ptr, inner, depth + 1);
        }
        strbuf_truncate(ptr, len);
    }
    free(inner);
}

/* Adds a document (taking a new reference) under uri and indexes its $ids. */
static void add_doc(struct cctx *cc, json_t *root, const char *uri)
{
    struct jsonschema *s = cc->s;
    XGROW(s->docs, s->capdocs, s->ndocs + 1);
    size_t doc = s->ndocs++;
    s->docs[doc].root = json_incref(root);
    s->docs[doc].uri = xstrdup(uri);
    uri_strip_fragment(s->docs[doc].uri);
    register_loc(cc, s->docs[doc].uri, doc, "", root, s->docs[doc].uri);
    struct strbuf ptr = STRBUF_INIT;
    strbuf_adds(&ptr, "");
    scan_ids(cc, doc, root, &ptr, s->docs[doc].uri, 0);
    strbuf_release(&ptr);
}

/* The embedded draft-07 meta-schema, added the first time a $ref names it. */
static int load_meta(struct cctx *cc)
{
    const struct embedded_file *f = embedded_find(META_PATH);
    if (!f)
        return err_set(cc->err, ERR_INTERNAL, "the draft-07 meta-schema is not embedded");
    json_t *meta = jv_parse((const char *)f->data, f->len, META_PATH, cc->err);
    if (!meta)
        return -1;
    add_doc(cc, meta, META_URI);
    json_decref(meta);
    cc->meta_loaded = true;
    return 0;
}

/* Compile errors name the place: "schema '#/properties/a/minimum': must be a number". A very
 * long pointer (a hostile nesting) keeps its head and tail, so the reason still fits. */
__attribute__((format(printf, 4, 5))) NOINLINE static void
fail(struct cctx *cc, size_t doc, const char *ptr, const char *fmt, ...)
{
    char msg[sizeof(cc->err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t len = strlen(ptr), head = len, tail = len;
    if (len > 240) {
        head = 100;
        tail = len - 100;
        while (head > 0 && ((unsigned char)ptr[head] & 0xC0) == 0x80)
            head--;
        while (tail < len && ((unsigned char)ptr[tail] & 0xC0) == 0x80)
            tail++;
    }
    err_set(cc->err, ERR_INPUT, "schema '%s#%.*s%s%s': %s", cc->s->docs[doc].uri, (int)head, ptr,
            tail < len ? "..." : "", ptr + tail, msg);
}

/* "<what>, got <value>" */
NOINLINE static void fail_value(struct cctx *cc, size_t doc, const char *ptr, const char *what,
                                const json_t *v)
{
    struct strbuf sb = STRBUF_INIT;
    add_value(&sb, v);
    fail(cc, doc, ptr, "%s, got %s", what, strbuf_str(&sb));
    strbuf_release(&sb);
}

/* ==== Compiler: keywords ==== */

static struct node *compile_node(struct cctx *cc, size_t doc, const char *ptr, const json_t *v,
                                 const char *base);

NOINLINE static pcre2_code *compile_regex(struct cctx *cc, size_t doc, const char *ptr,
                                          const char *pattern)
{
    /* ECMA-262 flavour, as JSON Schema asks: UTF-8 code points; \uXXXX and \u{...} escapes;
     * '$' only at the very end; "[]" matches nothing and "[^]" any character; a backreference
     * to an unset group matches the empty string. \d, \w and \s stay ASCII, as in ECMA-262
     * for \d and \w (\s misses the non-ASCII spaces ECMA-262 includes). */
    pcre2_compile_context *ctx = pcre2_compile_context_create(cc->s->pcre);
    pcre2_set_compile_extra_options(ctx, PCRE2_EXTRA_ALT_BSUX);
    uint32_t options = PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY | PCRE2_ALLOW_EMPTY_CLASS |
                       PCRE2_MATCH_UNSET_BACKREF;
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options, &code, &offset, ctx);
    pcre2_compile_context_free(ctx);
    if (!re) {
        PCRE2_UCHAR why[256];
        pcre2_get_error_message(code, why, sizeof(why));
        struct strbuf sb = STRBUF_INIT;
        add_name(&sb, pattern);
        fail(cc, doc, ptr, "invalid regular expression %s: %s at offset %zu", strbuf_str(&sb),
             (const char *)why, (size_t)offset);
        strbuf_release(&sb);
    }
    return re;
}

/* A non-empty array of schemas (allOf, anyOf, oneOf, prefixItems, items). */
static int compile_schema_array(struct cctx *cc, size_t doc, struct kw *k, const char *base)
{
    if (!json_is_array(k->value)) {
        fail(cc, doc, k->ptr, "must be an array of schemas, got %s", jv_type_name(k->value));
        return -1;
    }
    if (json_array_size(k->value) == 0) {
        fail(cc, doc, k->ptr, "must not be empty");
        return -1;
    }
    k->nsubs = json_array_size(k->value);
    k->subs = xcalloc(k->nsubs, sizeof(*k->subs));
    for (size_t i = 0; i < k->nsubs; i++) {
        char *p = ptr_join_index(k->ptr, i);
        k->subs[i].node = compile_node(cc, doc, p, json_array_get(k->value, i), base);
        free(p);
        if (!k->subs[i].node)
            return -1;
    }
    return 0;
}

/* An array of distinct property names (required, dependentRequired, dependencies). */
NOINLINE static int check_names(struct cctx *cc, size_t doc, const char *ptr, const json_t *v)
{
    if (!json_is_array(v)) {
        fail(cc, doc, ptr, "must be an array of property names, got %s", jv_type_name(v));
        return -1;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *name = json_array_get(v, i);
        char *p = ptr_join_index(ptr, i);
        if (!json_is_string(name))
            fail(cc, doc, p, "must be a string, got %s", jv_type_name(name));
        for (size_t j = 0; j < i && !cc->err->code; j++) {
            if (jv_equal(name, json_array_get(v, j))) {
                struct strbuf sb = STRBUF_INIT;
                add_name(&sb, json_string_value(name));
                fail(cc, doc, p, "%s is listed twice", strbuf_str(&sb));
                strbuf_release(&sb);
            }
        }
        free(p);
        if (cc->err->code)
            return -1;
    }
    return 0;
}

/* An object whose values are schemas, or (dependencies) arrays of names. */
static int compile_schema_map(struct cctx *cc, size_t doc, struct kw *k, const char *base)
{
    if (!json_is_object(k->value)) {
        fail(cc, doc, k->ptr, "must be an object, got %s", jv_type_name(k->value));
        return -1;
    }
    k->subs = xcalloc(json_object_size(k->value), sizeof(*k->subs));
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)k->value, name, v)
    {
        struct sub *sub = &k->subs[k->nsubs++];
        sub->name = name;
        char *p = ptr_join(k->ptr, name);
        int rc = 0;
        if (k->id == KW_DEPENDENT_REQUIRED || (k->id == KW_DEPENDENCIES && json_is_array(v))) {
            sub->names = v;
            rc = check_names(cc, doc, p, v);
        } else {
            sub->node = compile_node(cc, doc, p, v, base);
            if (!sub->node)
                rc = -1;
            else if (k->id == KW_PATTERN_PROPERTIES && !(sub->re = compile_regex(cc, doc, p, name)))
                rc = -1;
        }
        free(p);
        if (rc)
            return -1;
    }
    return 0;
}

NOINLINE static int compile_type(struct cctx *cc, size_t doc, struct kw *k)
{
    bool one = json_is_string(k->value);
    if (!one && !json_is_array(k->value)) {
        fail(cc, doc, k->ptr, "must be a type name or an array of type names, got %s",
             jv_type_name(k->value));
        return -1;
    }
    size_t n = one ? 1 : json_array_size(k->value);
    if (n == 0) {
        fail(cc, doc, k->ptr, "must not be empty");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *t = one ? k->value : json_array_get(k->value, i);
        char *p = one ? xstrdup(k->ptr) : ptr_join_index(k->ptr, i);
        size_t bit = 0;
        while (bit < sizeof(type_names) / sizeof(type_names[0]) &&
               !(json_is_string(t) && strcmp(json_string_value(t), type_names[bit]) == 0))
            bit++;
        if (bit == sizeof(type_names) / sizeof(type_names[0])) {
            struct strbuf sb = STRBUF_INIT;
            add_value(&sb, t);
            fail(cc, doc, p,
                 "unknown type %s (expected one of null, boolean, object, array, "
                 "number, string, integer)",
                 strbuf_str(&sb));
            strbuf_release(&sb);
        } else if (k->types & (1u << bit)) {
            fail(cc, doc, p, "type '%s' is listed twice", type_names[bit]);
        }
        free(p);
        if (cc->err->code)
            return -1;
        k->types |= 1u << bit;
    }
    return 0;
}

/* minLength and friends: a non-negative integer (1.0 counts, as "integer" does). */
NOINLINE static int compile_count(struct cctx *cc, size_t doc, struct kw *k)
{
    if (!jv_is_integral(k->value) || json_number_value(k->value) < 0) {
        fail_value(cc, doc, k->ptr, "must be a non-negative integer", k->value);
        return -1;
    }
    if (json_is_integer(k->value))
        k->count = json_integer_value(k->value);
    else if (json_real_value(k->value) >= 9.2e18)
        k->count = INT64_MAX; /* no instance is that large anyway */
    else
        k->count = (json_int_t)json_real_value(k->value);
    return 0;
}

static int compile_kw(struct cctx *cc, size_t doc, struct kw *k, const char *base)
{
    switch (k->id) {
    case KW_TYPE:
        return compile_type(cc, doc, k);
    case KW_ENUM:
        if (!json_is_array(k->value)) {
            fail(cc, doc, k->ptr, "must be an array, got %s", jv_type_name(k->value));
            return -1;
        }
        return 0;
    case KW_CONST:
        return 0;
    case KW_PROPERTIES:
    case KW_PATTERN_PROPERTIES:
    case KW_DEFINITIONS:
    case KW_DEPENDENCIES:
    case KW_DEPENDENT_REQUIRED:
    case KW_DEPENDENT_SCHEMAS:
        return compile_schema_map(cc, doc, k, base);
    case KW_REQUIRED:
        return check_names(cc, doc, k->ptr, k->value);
    case KW_ADDITIONAL_ITEMS:
    case KW_ADDITIONAL_PROPERTIES:
    case KW_CONTAINS:
    case KW_PROPERTY_NAMES:
    case KW_NOT:
    case KW_IF:
    case KW_THEN:
    case KW_ELSE:
        k->sub = compile_node(cc, doc, k->ptr, k->value, base);
        return k->sub ? 0 : -1;
    case KW_ITEMS:
        if (json_is_array(k->value))
            return compile_schema_array(cc, doc, k, base);
        k->sub = compile_node(cc, doc, k->ptr, k->value, base);
        return k->sub ? 0 : -1;
    case KW_PREFIX_ITEMS:
    case KW_ALL_OF:
    case KW_ANY_OF:
    case KW_ONE_OF:
        return compile_schema_array(cc, doc, k, base);
    case KW_MINIMUM:
    case KW_MAXIMUM:
    case KW_EXCLUSIVE_MINIMUM:
    case KW_EXCLUSIVE_MAXIMUM:
    case KW_MULTIPLE_OF:
        if (!json_is_number(k->value)) {
            fail(cc, doc, k->ptr, "must be a number, got %s", jv_type_name(k->value));
            return -1;
        }
        if (k->id == KW_MULTIPLE_OF && json_number_value(k->value) <= 0) {
            fail_value(cc, doc, k->ptr, "must be greater than 0", k->value);
            return -1;
        }
        return 0;
    case KW_MIN_LENGTH:
    case KW_MAX_LENGTH:
    case KW_MIN_ITEMS:
    case KW_MAX_ITEMS:
    case KW_MIN_PROPERTIES:
    case KW_MAX_PROPERTIES:
        return compile_count(cc, doc, k);
    case KW_PATTERN:
        if (!json_is_string(k->value)) {
            fail(cc, doc, k->ptr, "must be a string, got %s", jv_type_name(k->value));
            return -1;
        }
        k->re = compile_regex(cc, doc, k->ptr, json_string_value(k->value));
        return k->re ? 0 : -1;
    case KW_UNIQUE_ITEMS:
        if (!json_is_boolean(k->value)) {
            fail(cc, doc, k->ptr, "must be a boolean, got %s", jv_type_name(k->value));
            return -1;
        }
        return 0;
    }
    return 0;
}

/* ==== Compiler: nodes and $ref ==== */

NOINLINE static struct node *new_node(struct cctx *cc, size_t doc, const char *ptr, const json_t *v)
{
    struct jsonschema *s = cc->s;
    struct node *n = xcalloc(1, sizeof(*n));
    n->value = v;
    n->doc = doc;
    n->ptr = xstrdup(ptr);
    XGROW(s->nodes, s->capnodes, s->nnodes + 1);
    s->nodes[s->nnodes++] = n;
    struct strbuf key = STRBUF_INIT;
    strbuf_addf(&key, "%zu:%s", doc, ptr);
    map_put(&cc->memo, strbuf_detach(&key, NULL), n);
    return n;
}

NOINLINE static struct node *memo_find(struct cctx *cc, size_t doc, const char *ptr)
{
    struct strbuf key = STRBUF_INIT;
    strbuf_addf(&key, "%zu:%s", doc, ptr);
    struct node *n = map_get(&cc->memo, strbuf_str(&key));
    strbuf_release(&key);
    return n;
}

/* Compiles the schema v found at ptr in document doc, where base is the base URI around it.
 * A place is compiled once; a second request (a $ref to it) gets the same node. */
static struct node *compile_node(struct cctx *cc, size_t doc, const char *ptr, const json_t *v,
                                 const char *base)
{
    struct node *n = memo_find(cc, doc, ptr);
    if (n)
        return n;
    if (!json_is_object(v) && !json_is_boolean(v)) {
        fail(cc, doc, ptr, "must be a schema (an object or a boolean), got %s", jv_type_name(v));
        return NULL;
    }
    if (cc->depth >= MAX_DEPTH) {
        fail(cc, doc, ptr, "schema nesting too deep");
        return NULL;
    }
    n = new_node(cc, doc, ptr, v);
    if (json_is_boolean(v))
        return n;

    const json_t *ref = json_object_get(v, "$ref");
    if (ref) {
        /* Draft 7: "All other properties in a $ref object MUST be ignored." */
        if (!json_is_string(ref)) {
            char *p = ptr_join(ptr, "$ref");
            fail(cc, doc, p, "must be a string, got %s", jv_type_name(ref));
            free(p);
            return NULL;
        }
        n->ref_uri = uri_resolve(base, json_string_value(ref));
        XGROW(cc->pending, cc->cappending, cc->npending + 1);
        cc->pending[cc->npending++] = n;
        return n;
    }
    const json_t *id = json_object_get(v, "$id");
    if (id && !json_is_string(id)) {
        char *p = ptr_join(ptr, "$id");
        fail(cc, doc, p, "must be a string, got %s", jv_type_name(id));
        free(p);
        return NULL;
    }

    char *inner = base_inside(base, v);
    n->kws = xcalloc(json_object_size(v), sizeof(*n->kws));
    cc->depth++;
    const char *name;
    json_t *val;
    json_object_foreach((json_t *)v, name, val)
    {
        const struct keyword *kwd = keyword_find(name);
        if (!kwd)
            continue; /* unknown keywords are ignored, as the specification requires */
        struct kw *k = &n->kws[n->nkws++];
        k->id = kwd->id;
        k->name = kwd->name;
        k->ptr = ptr_join(ptr, name);
        k->value = val;
        if (compile_kw(cc, doc, k, inner))
            break;
    }
    cc->depth--;
    free(inner);
    if (cc->err->code)
        return NULL;

    for (size_t i = 0; i < n->nkws; i++) {
        const struct kw *k = &n->kws[i];
        if (k->id == KW_PROPERTIES)
            n->properties = k;
        else if (k->id == KW_PATTERN_PROPERTIES)
            n->pattern_properties = k;
        else if (k->id == KW_ITEMS)
            n->items = k;
        else if (k->id == KW_PREFIX_ITEMS)
            n->prefix_items = k;
        else if (k->id == KW_THEN)
            n->then_kw = k;
        else if (k->id == KW_ELSE)
            n->else_kw = k;
    }
    if (n->prefix_items && n->items && n->items->subs) {
        fail(cc, doc, n->items->ptr, "must be a schema when 'prefixItems' is present");
        return NULL;
    }
    return n;
}

/* Finds the place a JSON-pointer fragment names, starting at the resource l. */
static int walk_pointer(struct cctx *cc, const struct node *from, const struct loc *l,
                        const char *pointer, struct loc *out)
{
    const json_t *cur = l->value;
    char *outer = xstrdup(l->base);
    char *inner = base_inside(outer, cur);
    struct strbuf ptr = STRBUF_INIT, tok = STRBUF_INIT;
    strbuf_adds(&ptr, l->ptr);
    const char *p = pointer;
    while (cur && *p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        jv_pointer_unescape(&tok, p, n);
        p += n;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, strbuf_str(&tok));
            jv_pointer_add(&ptr, strbuf_str(&tok));
        } else if (json_is_array(cur)) {
            /* RFC 6901 §4: digits only, no leading zero. */
            const char *t = strbuf_str(&tok);
            bool digits = tok.len > 0 && strspn(t, "0123456789") == tok.len &&
                          (tok.len == 1 || t[0] != '0') && tok.len < 19;
            size_t idx = digits ? (size_t)strtoull(t, NULL, 10) : (size_t)-1;
            cur = digits ? json_array_get(cur, idx) : NULL;
            jv_pointer_add_index(&ptr, idx);
        } else {
            cur = NULL;
        }
        if (cur) {
            free(outer);
            outer = inner;
            inner = base_inside(outer, cur);
        }
    }
    free(inner);
    strbuf_release(&tok);
    if (!cur) {
        char *p2 = ptr_join(from->ptr, "$ref");
        fail(cc, from->doc, p2, "cannot resolve '%s': no value at '%s'", from->ref_uri, pointer);
        free(p2);
        free(outer);
        strbuf_release(&ptr);
        return -1;
    }
    out->doc = l->doc;
    out->ptr = strbuf_detach(&ptr, NULL);
    out->value = cur;
    out->base = outer;
    return 0;
}

static int resolve_ref(struct cctx *cc, struct node *n)
{
    char *uri = xstrdup(n->ref_uri);
    char *frag = strchr(uri, '#');
    if (frag)
        *frag++ = '\0';
    const struct loc *l = map_get(&cc->ids, uri);
    if (!l && !cc->meta_loaded && strcmp(uri, META_URI) == 0) {
        if (load_meta(cc)) {
            free(uri);
            return -1;
        }
        l = map_get(&cc->ids, uri);
    }
    char *p = ptr_join(n->ptr, "$ref");
    struct loc target = { 0 };
    int rc = -1;
    if (!l) {
        fail(cc, n->doc, p,
             "cannot resolve '%s': no document is known as '%s' (documents are never fetched; "
             "they must be preloaded)",
             n->ref_uri, uri);
    } else if (frag && frag[0] == '/') {
        struct strbuf pointer = STRBUF_INIT;
        percent_decode(&pointer, frag);
        rc = walk_pointer(cc, n, l, strbuf_str(&pointer), &target);
        strbuf_release(&pointer);
    } else if (frag && frag[0]) {
        const struct loc *a = map_get(&cc->ids, n->ref_uri);
        if (!a) {
            fail(cc, n->doc, p, "cannot resolve '%s': no '$id' names '#%s'%s%s%s", n->ref_uri, frag,
                 uri[0] ? " in '" : "", uri, uri[0] ? "'" : "");
        } else {
            target.doc = a->doc;
            target.ptr = xstrdup(a->ptr);
            target.value = a->value;
            target.base = xstrdup(a->base);
            rc = 0;
        }
    } else {
        target.doc = l->doc;
        target.ptr = xstrdup(l->ptr);
        target.value = l->value;
        target.base = xstrdup(l->base);
        rc = 0;
    }
    if (rc == 0) {
        n->ref = compile_node(cc, target.doc, target.ptr, target.value, target.base);
        if (!n->ref)
            rc = -1;
    }
    free(target.ptr);
    free(target.base);
    free(p);
    free(uri);
    return rc;
}

/* ==== Compiler: entry points ==== */

static void *pcre_malloc(PCRE2_SIZE n, void *data)
{
    (void)data;
    return xmalloc(n);
}

static void pcre_free(void *p, void *data)
{
    (void)data;
    free(p);
}

static void free_node(struct node *n)
{
    for (size_t i = 0; i < n->nkws; i++) {
        struct kw *k = &n->kws[i];
        for (size_t j = 0; j < k->nsubs; j++)
            pcre2_code_free(k->subs[j].re);
        free(k->subs);
        pcre2_code_free(k->re);
        free(k->ptr);
    }
    free(n->kws);
    free(n->ref_uri);
    free(n->ptr);
    free(n);
}

void jsonschema_free(struct jsonschema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nnodes; i++)
        free_node(s->nodes[i]);
    free(s->nodes);
    for (size_t i = 0; i < s->ndocs; i++) {
        json_decref(s->docs[i].root);
        free(s->docs[i].uri);
    }
    free(s->docs);
    pcre2_general_context_free(s->pcre);
    free(s);
}

struct jsonschema *jsonschema_compile(json_t *schema, const struct schema_resource *extra,
                                      size_t nextra, struct err *err)
{
    if (!schema) {
        err_set(err, ERR_INPUT, "no schema to compile");
        return NULL;
    }
    struct jsonschema *s = xcalloc(1, sizeof(*s));
    s->pcre = pcre2_general_context_create(pcre_malloc, pcre_free, NULL);
    /* A private err: failure is detected by its code, which a caller's earlier error (first
     * error wins) must not fake. */
    struct err local = ERR_INIT;
    struct cctx cc = { .s = s, .err = &local };

    add_doc(&cc, schema, "");
    for (size_t i = 0; i < nextra; i++)
        add_doc(&cc, extra[i].doc, extra[i].uri);
    s->root = compile_node(&cc, 0, "", schema, "");
    /* Resolving a $ref may compile more nodes and so add more $refs; the array may move. */
    for (size_t i = 0; s->root && i < cc.npending; i++)
        if (resolve_ref(&cc, cc.pending[i]))
            s->root = NULL;

    free(cc.pending);
    map_release(&cc.ids, loc_free);
    map_release(&cc.memo, NULL);
    if (!s->root) {
        err_set(err, local.code, "%s", local.msg);
        jsonschema_free(s);
        return NULL;
    }
    return s;
}

const json_t *jsonschema_document(const struct jsonschema *s)
{
    return s->docs[0].root;
}

struct jsonschema *jsonschema_metaschema(struct err *err)
{
    const struct embedded_file *f = embedded_find(META_PATH);
    if (!f) {
        err_set(err, ERR_INTERNAL, "the draft-07 meta-schema is not embedded");
        return NULL;
    }
    json_t *meta = jv_parse((const char *)f->data, f->len, META_PATH, err);
    if (!meta)
        return NULL;
    struct jsonschema *s = jsonschema_compile(meta, NULL, 0, err);
    json_decref(meta);
    return s;
}

/* ==== Validation: context and errors ==== */

struct vctx {
    const struct jsonschema *s;
    struct schema_errors *errs; /* where errors go; NULL while only the verdict matters */
    struct strbuf ip;           /* JSON pointer of the value being validated */
    int depth;                  /* nesting of eval() */
    bool too_deep;              /* MAX_DEPTH was hit: everything fails from then on */
    char *deep_ip;              /* where it was hit (instance and schema pointers); owned */
    char *deep_ptr;
    pcre2_match_data *md; /* created on the first regex match; owned */
};

static void push_error(struct schema_errors *errs, const char *instance, const char *schema,
                       const char *keyword, const char *property, const json_t *expected,
                       char *message)
{
    XGROW(errs->items, errs->cap, errs->len + 1);
    struct schema_error *e = &errs->items[errs->len++];
    e->instance = xstrdup(instance);
    e->schema = xstrdup(schema);
    e->keyword = keyword;
    e->property = property ? xstrdup(property) : NULL;
    e->expected = expected ? json_incref((json_t *)expected) : NULL;
    e->message = message;
}

void schema_errors_release(struct schema_errors *errs)
{
    for (size_t i = 0; i < errs->len; i++) {
        struct schema_error *e = &errs->items[i];
        free(e->instance);
        free(e->schema);
        free(e->property);
        json_decref(e->expected);
        free(e->message);
    }
    free(errs->items);
    memset(errs, 0, sizeof(*errs));
}

/* Records an error of keyword k at the current instance; takes the message. */
static void report(struct vctx *c, const struct kw *k, const char *property, struct strbuf *msg)
{
    push_error(c->errs, strbuf_str(&c->ip), k->ptr, k->name, property, k->value,
               strbuf_detach(msg, NULL));
}

/* The reporters below do nothing while errors are not collected, so a quiet evaluation (an
 * anyOf branch, say) never formats a message. */
__attribute__((format(printf, 4, 5))) NOINLINE static void
reportf(struct vctx *c, const struct kw *k, const char *property, const char *fmt, ...)
{
    if (!c->errs)
        return;
    struct strbuf msg = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    report(c, k, property, &msg);
}

/* "<before>'name'<after>", e.g. "unexpected property 'foo'"; property is the name. */
NOINLINE static void report_name(struct vctx *c, const struct kw *k, const char *name,
                                 const char *before, const char *after)
{
    if (!c->errs)
        return;
    struct strbuf msg = STRBUF_INIT;
    strbuf_adds(&msg, before);
    add_name(&msg, name);
    strbuf_adds(&msg, after);
    report(c, k, name, &msg);
}

NOINLINE static void report_dependency(struct vctx *c, const struct kw *k, const char *missing,
                                       const char *present)
{
    if (!c->errs)
        return;
    struct strbuf msg = STRBUF_INIT;
    add_name(&msg, missing);
    strbuf_adds(&msg, " is a dependency of ");
    add_name(&msg, present);
    report(c, k, missing, &msg);
}

/* Validates a property name against propertyNames. A name has no JSON pointer of its own, so
 * its errors stay on the object, carry the name in property and read "property name 'x' ...". */
NOINLINE static bool eval_property_name(struct vctx *c, const struct kw *k, const char *key);

/* 1 on a match, 0 on none, a negative PCRE2 code when matching gave up (match limit). */
static int regex_search(struct vctx *c, const pcre2_code *re, const char *s, size_t len)
{
    if (!c->md)
        c->md = pcre2_match_data_create(1, c->s->pcre);
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, c->md, NULL);
    if (rc >= 0)
        return 1;
    return rc == PCRE2_ERROR_NOMATCH ? 0 : rc;
}

static bool eval(struct vctx *c, const struct node *n, const json_t *inst);

/* Validates inst against n without recording errors (anyOf branches, not, if, contains). */
static bool eval_quiet(struct vctx *c, const struct node *n, const json_t *inst)
{
    struct schema_errors *saved = c->errs;
    c->errs = NULL;
    bool ok = eval(c, n, inst);
    c->errs = saved;
    return ok;
}

static bool eval_child(struct vctx *c, const struct node *n, const json_t *inst, const char *key)
{
    size_t len = c->ip.len;
    jv_pointer_add(&c->ip, key);
    bool ok = eval(c, n, inst);
    strbuf_truncate(&c->ip, len);
    return ok;
}

static bool eval_item(struct vctx *c, const struct node *n, const json_t *inst, size_t index)
{
    size_t len = c->ip.len;
    jv_pointer_add_index(&c->ip, index);
    bool ok = eval(c, n, inst);
    strbuf_truncate(&c->ip, len);
    return ok;
}

/* ==== Validation: numbers ==== */

/* Decimal fractions are inexact in binary (0.0075 / 0.0001 = 74.99999999999999), so a quotient
 * within a few units in the last place of an integer counts as one. A quotient that overflows
 * is not a multiple. */
static bool is_multiple(const json_t *x, const json_t *m)
{
    if (json_is_integer(x) && json_is_integer(m))
        return json_integer_value(x) % json_integer_value(m) == 0; /* m > 0 (compile) */
    double q = json_number_value(x) / json_number_value(m);
    if (!isfinite(q))
        return false;
    if (fabs(q) >= 9007199254740992.0) /* 2^53: every double this large is an integer */
        return true;
    return fabs(q - round(q)) <= fabs(q) * 8 * DBL_EPSILON;
}

NOINLINE static bool eval_number(struct vctx *c, const struct kw *k, const json_t *inst)
{
    if (!json_is_number(inst))
        return true;
    const char *op;
    bool ok;
    int cmp = jv_number_cmp(inst, k->value);
    switch (k->id) {
    case KW_MINIMUM:
        op = "must be >= ";
        ok = cmp >= 0;
        break;
    case KW_MAXIMUM:
        op = "must be <= ";
        ok = cmp <= 0;
        break;
    case KW_EXCLUSIVE_MINIMUM:
        op = "must be > ";
        ok = cmp > 0;
        break;
    case KW_EXCLUSIVE_MAXIMUM:
        op = "must be < ";
        ok = cmp < 0;
        break;
    default:
        op = "must be a multiple of ";
        ok = is_multiple(inst, k->value);
        break;
    }
    if (ok || !c->errs)
        return ok;
    struct strbuf msg = STRBUF_INIT;
    strbuf_adds(&msg, op);
    add_value(&msg, k->value);
    strbuf_adds(&msg, ", got ");
    add_value(&msg, inst);
    report(c, k, NULL, &msg);
    return false;
}

/* ==== Validation: keywords ==== */

NOINLINE static bool eval_type(struct vctx *c, const struct kw *k, const json_t *inst)
{
    unsigned t = k->types;
    bool ok;
    switch (json_typeof(inst)) {
    case JSON_NULL:
        ok = t & T_NULL;
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        ok = t & T_BOOLEAN;
        break;
    case JSON_OBJECT:
        ok = t & T_OBJECT;
        break;
    case JSON_ARRAY:
        ok = t & T_ARRAY;
        break;
    case JSON_STRING:
        ok = t & T_STRING;
        break;
    default: /* numbers; an integral real such as 1.0 is an integer */
        ok = (t & T_NUMBER) || ((t & T_INTEGER) && jv_is_integral(inst));
        break;
    }
    if (ok || !c->errs)
        return ok;
    struct strbuf msg = STRBUF_INIT;
    if (json_is_string(k->value)) {
        strbuf_addf(&msg, "expected %s", json_string_value(k->value));
    } else {
        strbuf_adds(&msg, json_array_size(k->value) > 1 ? "expected one of " : "expected ");
        for (size_t i = 0; i < json_array_size(k->value); i++)
            strbuf_addf(&msg, "%s%s", i ? ", " : "",
                        json_string_value(json_array_get(k->value, i)));
    }
    strbuf_addf(&msg, ", got %s", jv_type_name(inst));
    report(c, k, NULL, &msg);
    return false;
}

NOINLINE static bool eval_enum(struct vctx *c, const struct kw *k, const json_t *inst)
{
    size_t n = k->id == KW_CONST ? 1 : json_array_size(k->value);
    bool ok = false;
    if (k->id == KW_CONST)
        ok = jv_equal(inst, k->value);
    for (size_t i = 0; k->id == KW_ENUM && i < n && !ok; i++)
        ok = jv_equal(inst, json_array_get(k->value, i));
    if (ok || !c->errs)
        return ok;
    struct strbuf msg = STRBUF_INIT;
    if (k->id == KW_CONST) {
        strbuf_adds(&msg, "must be ");
        add_value(&msg, k->value);
    } else if (n == 0) {
        strbuf_adds(&msg, "no value is allowed here (empty 'enum')");
    } else {
        strbuf_adds(&msg, n == 1 ? "must be " : "must be one of ");
        for (size_t i = 0; i < n && i < MAX_ENUM_LISTED; i++) {
            if (i)
                strbuf_adds(&msg, ", ");
            add_value(&msg, json_array_get(k->value, i));
        }
        if (n > MAX_ENUM_LISTED)
            strbuf_addf(&msg, ", ... (%zu values)", n);
    }
    report(c, k, NULL, &msg);
    return false;
}

/* minLength and friends: "must be at least 3 characters long", "must have at most 1 item". */
NOINLINE static bool eval_count(struct vctx *c, const struct kw *k, const json_t *inst)
{
    size_t have;
    const char *verb, *one, *many;
    if (k->id == KW_MIN_LENGTH || k->id == KW_MAX_LENGTH) {
        if (!json_is_string(inst))
            return true;
        have = utf8_length(json_string_value(inst), json_string_length(inst));
        verb = "must be";
        one = "character long";
        many = "characters long";
    } else if (k->id == KW_MIN_ITEMS || k->id == KW_MAX_ITEMS) {
        if (!json_is_array(inst))
            return true;
        have = json_array_size(inst);
        verb = "must have";
        one = "item";
        many = "items";
    } else {
        if (!json_is_object(inst))
            return true;
        have = json_object_size(inst);
        verb = "must have";
        one = "property";
        many = "properties";
    }
    bool min = k->id == KW_MIN_LENGTH || k->id == KW_MIN_ITEMS || k->id == KW_MIN_PROPERTIES;
    if (min ? (json_int_t)have >= k->count : (json_int_t)have <= k->count)
        return true;
    reportf(c, k, NULL, "%s %s %lld %s", verb, min ? "at least" : "at most", (long long)k->count,
            k->count == 1 ? one : many);
    return false;
}

NOINLINE static bool eval_pattern(struct vctx *c, const struct kw *k, const json_t *inst)
{
    if (!json_is_string(inst))
        return true;
    int rc = regex_search(c, k->re, json_string_value(inst), json_string_length(inst));
    if (rc == 1 || !c->errs)
        return rc == 1;
    struct strbuf msg = STRBUF_INIT;
    strbuf_adds(&msg, rc == 0 ? "does not match pattern " : "could not be matched against ");
    add_name(&msg, json_string_value(k->value));
    if (rc < 0) {
        PCRE2_UCHAR why[128];
        pcre2_get_error_message(rc, why, sizeof(why));
        strbuf_addf(&msg, ": %s", (const char *)why);
    }
    report(c, k, NULL, &msg);
    return false;
}

NOINLINE static bool eval_unique(struct vctx *c, const struct kw *k, const json_t *inst)
{
    if (!json_is_array(inst) || !json_is_true(k->value))
        return true;
    size_t len = json_array_size(inst);
    for (size_t j = 1; j < len; j++)
        for (size_t i = 0; i < j; i++)
            if (jv_equal(json_array_get(inst, i), json_array_get(inst, j))) {
                reportf(c, k, NULL, "items %zu and %zu are equal", i, j);
                return false;
            }
    return true;
}

/* A match error (PCRE2 giving up) counts as no match here: the name is then checked by
 * additionalProperties, which is the stricter outcome. */
static bool matches_pattern_property(struct vctx *c, const struct kw *pp, const char *key)
{
    for (size_t i = 0; pp && i < pp->nsubs; i++)
        if (regex_search(c, pp->subs[i].re, key, strlen(key)) == 1)
            return true;
    return false;
}

static bool eval_object(struct vctx *c, const struct node *n, const struct kw *k,
                        const json_t *inst)
{
    if (!json_is_object(inst))
        return true;
    bool ok = true;
    const char *key;
    json_t *val;
    switch (k->id) {
    case KW_PROPERTIES:
        for (size_t i = 0; i < k->nsubs && (ok || c->errs); i++) {
            const json_t *v = json_object_get(inst, k->subs[i].name);
            if (v && !eval_child(c, k->subs[i].node, v, k->subs[i].name))
                ok = false;
        }
        return ok;
    case KW_PATTERN_PROPERTIES:
        for (size_t i = 0; i < k->nsubs && (ok || c->errs); i++) {
            json_object_foreach((json_t *)inst, key, val)
            {
                if (regex_search(c, k->subs[i].re, key, strlen(key)) == 1 &&
                    !eval_child(c, k->subs[i].node, val, key)) {
                    ok = false;
                    if (!c->errs)
                        break;
                }
            }
        }
        return ok;
    case KW_ADDITIONAL_PROPERTIES:
        json_object_foreach((json_t *)inst, key, val)
        {
            if ((n->properties && json_object_get(n->properties->value, key)) ||
                matches_pattern_property(c, n->pattern_properties, key))
                continue;
            if (json_is_false(k->sub->value)) {
                report_name(c, k, key, "unexpected property ", "");
                ok = false;
            } else if (!eval_child(c, k->sub, val, key)) {
                ok = false;
            }
            if (!ok && !c->errs)
                break;
        }
        return ok;
    case KW_REQUIRED:
        for (size_t i = 0; i < json_array_size(k->value) && (ok || c->errs); i++) {
            const char *name = json_string_value(json_array_get(k->value, i));
            if (!json_object_get(inst, name)) {
                report_name(c, k, name, "", " is a required property");
                ok = false;
            }
        }
        return ok;
    case KW_DEPENDENCIES:
    case KW_DEPENDENT_REQUIRED:
    case KW_DEPENDENT_SCHEMAS:
        for (size_t i = 0; i < k->nsubs && (ok || c->errs); i++) {
            const struct sub *d = &k->subs[i];
            if (!json_object_get(inst, d->name))
                continue;
            if (d->node) {
                if (!eval(c, d->node, inst))
                    ok = false;
                continue;
            }
            for (size_t j = 0; j < json_array_size(d->names); j++) {
                const char *name = json_string_value(json_array_get(d->names, j));
                if (!json_object_get(inst, name)) {
                    report_dependency(c, k, name, d->name);
                    ok = false;
                }
            }
        }
        return ok;
    case KW_PROPERTY_NAMES:
        json_object_foreach((json_t *)inst, key, val)
        {
            if (!eval_property_name(c, k, key)) {
                ok = false;
                if (!c->errs)
                    break;
            }
        }
        return ok;
    default:
        return true;
    }
}

NOINLINE static bool eval_property_name(struct vctx *c, const struct kw *k, const char *key)
{
    json_t *name = json_string(key);
    struct schema_errors inner = SCHEMA_ERRORS_INIT;
    struct schema_errors *saved = c->errs;
    c->errs = saved ? &inner : NULL;
    bool ok = eval(c, k->sub, name);
    c->errs = saved;
    json_decref(name);
    for (size_t i = 0; i < inner.len; i++) {
        struct strbuf msg = STRBUF_INIT;
        strbuf_adds(&msg, "property name ");
        add_name(&msg, key);
        strbuf_addf(&msg, " %s", inner.items[i].message);
        report(c, k, key, &msg);
    }
    schema_errors_release(&inner);
    return ok;
}

/* The number of leading items validated by a tuple (prefixItems, or items in array form). */
static size_t tuple_length(const struct node *n)
{
    if (n->prefix_items)
        return n->prefix_items->nsubs;
    if (n->items && n->items->subs)
        return n->items->nsubs;
    return 0;
}

static bool eval_items_from(struct vctx *c, const struct node *sub, const json_t *inst, size_t from)
{
    bool ok = true;
    for (size_t i = from; i < json_array_size(inst) && (ok || c->errs); i++)
        if (!eval_item(c, sub, json_array_get(inst, i), i))
            ok = false;
    return ok;
}

static bool eval_array(struct vctx *c, const struct node *n, const struct kw *k, const json_t *inst)
{
    if (!json_is_array(inst))
        return true;
    size_t len = json_array_size(inst);
    bool ok = true;
    switch (k->id) {
    case KW_PREFIX_ITEMS:
    case KW_ITEMS:
        if (!k->subs) /* schema form: every item after the tuple of prefixItems */
            return eval_items_from(c, k->sub, inst, n->prefix_items ? n->prefix_items->nsubs : 0);
        for (size_t i = 0; i < k->nsubs && i < len && (ok || c->errs); i++)
            if (!eval_item(c, k->subs[i].node, json_array_get(inst, i), i))
                ok = false;
        return ok;
    case KW_ADDITIONAL_ITEMS:
        /* Only after a tuple, and not when a schema-form items already covers the rest. */
        if (tuple_length(n) == 0 && !n->prefix_items)
            return true;
        if (n->items && !n->items->subs)
            return true;
        return eval_items_from(c, k->sub, inst, tuple_length(n));
    case KW_CONTAINS:
        for (size_t i = 0; i < len; i++)
            if (eval_quiet(c, k->sub, json_array_get(inst, i)))
                return true;
        reportf(c, k, NULL, "no item matches the schema in 'contains'");
        return false;
    default:
        return true;
    }
}

static bool eval_logic(struct vctx *c, const struct node *n, const struct kw *k, const json_t *inst)
{
    bool ok = true;
    size_t matched = 0;
    switch (k->id) {
    case KW_ALL_OF:
        for (size_t i = 0; i < k->nsubs && (ok || c->errs); i++)
            if (!eval(c, k->subs[i].node, inst))
                ok = false;
        return ok;
    case KW_ANY_OF:
        for (size_t i = 0; i < k->nsubs; i++)
            if (eval_quiet(c, k->subs[i].node, inst))
                return true;
        reportf(c, k, NULL, "does not match any of the %zu alternatives", k->nsubs);
        return false;
    case KW_ONE_OF:
        for (size_t i = 0; i < k->nsubs; i++)
            if (eval_quiet(c, k->subs[i].node, inst))
                matched++;
        if (matched == 1)
            return true;
        if (matched == 0)
            reportf(c, k, NULL, "does not match any of the %zu alternatives", k->nsubs);
        else
            reportf(c, k, NULL, "matches %zu of the alternatives, exactly one is allowed", matched);
        return false;
    case KW_NOT:
        if (!eval_quiet(c, k->sub, inst))
            return true;
        reportf(c, k, NULL, "must not match the schema in 'not'");
        return false;
    case KW_IF:
        /* then/else do nothing on their own; their errors come out here, at the 'if'. */
        if (eval_quiet(c, k->sub, inst))
            return n->then_kw ? eval(c, n->then_kw->sub, inst) : true;
        return n->else_kw ? eval(c, n->else_kw->sub, inst) : true;
    default:
        return true;
    }
}

static bool eval_kw(struct vctx *c, const struct node *n, const struct kw *k, const json_t *inst)
{
    switch (k->id) {
    case KW_TYPE:
        return eval_type(c, k, inst);
    case KW_ENUM:
    case KW_CONST:
        return eval_enum(c, k, inst);
    case KW_MINIMUM:
    case KW_MAXIMUM:
    case KW_EXCLUSIVE_MINIMUM:
    case KW_EXCLUSIVE_MAXIMUM:
    case KW_MULTIPLE_OF:
        return eval_number(c, k, inst);
    case KW_MIN_LENGTH:
    case KW_MAX_LENGTH:
    case KW_MIN_ITEMS:
    case KW_MAX_ITEMS:
    case KW_MIN_PROPERTIES:
    case KW_MAX_PROPERTIES:
        return eval_count(c, k, inst);
    case KW_PATTERN:
        return eval_pattern(c, k, inst);
    case KW_UNIQUE_ITEMS:
        return eval_unique(c, k, inst);
    case KW_PROPERTIES:
    case KW_PATTERN_PROPERTIES:
    case KW_ADDITIONAL_PROPERTIES:
    case KW_REQUIRED:
    case KW_DEPENDENCIES:
    case KW_DEPENDENT_REQUIRED:
    case KW_DEPENDENT_SCHEMAS:
    case KW_PROPERTY_NAMES:
        return eval_object(c, n, k, inst);
    case KW_ITEMS:
    case KW_PREFIX_ITEMS:
    case KW_ADDITIONAL_ITEMS:
    case KW_CONTAINS:
        return eval_array(c, n, k, inst);
    case KW_ALL_OF:
    case KW_ANY_OF:
    case KW_ONE_OF:
    case KW_NOT:
    case KW_IF:
        return eval_logic(c, n, k, inst);
    case KW_THEN:
    case KW_ELSE:
    case KW_DEFINITIONS:
        return true;
    }
    return true;
}

/* Every keyword of an object schema, in schema order; without an error list, stops at the first
 * failure. */
NOINLINE static bool eval_keywords(struct vctx *c, const struct node *n, const json_t *inst)
{
    bool ok = true;
    for (size_t i = 0; i < n->nkws; i++) {
        if (!eval_kw(c, n, &n->kws[i], inst)) {
            ok = false;
            if (!c->errs || c->too_deep)
                break;
        }
    }
    return ok;
}

NOINLINE static bool eval_false(struct vctx *c, const struct node *n)
{
    if (c->errs)
        push_error(c->errs, strbuf_str(&c->ip), n->ptr, "false", NULL, n->value,
                   xstrdup("no value is allowed here"));
    return false;
}

NOINLINE static void hit_depth_bound(struct vctx *c, const struct node *n)
{
    c->too_deep = true;
    c->deep_ip = xstrdup(strbuf_str(&c->ip));
    c->deep_ptr = xstrdup(n->ptr);
}

static bool eval(struct vctx *c, const struct node *n, const json_t *inst)
{
    if (c->too_deep)
        return false;
    if (c->depth >= MAX_DEPTH) {
        hit_depth_bound(c, n);
        return false;
    }
    bool ok;
    c->depth++;
    if (n->ref)
        ok = eval(c, n->ref, inst);
    else if (json_is_boolean(n->value))
        ok = json_is_true(n->value) || eval_false(c, n);
    else
        ok = eval_keywords(c, n, inst);
    c->depth--;
    return ok && !c->too_deep;
}

bool jsonschema_validate(const struct jsonschema *s, const json_t *instance,
                         struct schema_errors *errs)
{
    struct vctx c = { .s = s, .errs = errs };
    strbuf_adds(&c.ip, "");
    bool ok = eval(&c, s->root, instance);
    if (c.too_deep) {
        /* Reported once, where the bound was hit, even if that was inside an anyOf branch. */
        ok = false;
        if (errs)
            push_error(errs, c.deep_ip, c.deep_ptr, "$ref", NULL, NULL,
                       xstrdup("schema recursion too deep"));
    }
    free(c.deep_ip);
    free(c.deep_ptr);
    strbuf_release(&c.ip);
    pcre2_match_data_free(c.md);
    return ok;
}
