/* Parameter declarations, the precedence of their sources, and substitution into the OML. */
#include "params.h"
#include "suggest.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLACEHOLDER "${params."

static const char *const decl_keys[] = { "default", "type", "description", "sensitive" };
static const char *const types[] = { "string", "integer", "number", "boolean" };

void params_release(struct params *p)
{
    for (size_t i = 0; i < p->len; i++)
        json_decref(p->items[i].value);
    free(p->items);
    free(p->uses);
    arena_release(&p->arena);
    memset(p, 0, sizeof(*p));
}

static struct param *find(const struct params *p, const char *name)
{
    for (size_t i = 0; i < p->len; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return &p->items[i];
    return NULL;
}

static bool valid_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

/* The declared type, else the default's, else NULL (text stays text). */
static const char *param_type(const json_t *decl)
{
    const char *t = json_string_value(json_object_get(decl, "type"));
    if (t)
        return t;
    const json_t *def = json_is_object(decl) ? json_object_get(decl, "default") : decl;
    if (json_is_integer(def))
        return "integer";
    if (json_is_real(def))
        return "number";
    if (json_is_boolean(def))
        return "boolean";
    return NULL;
}

static bool fits(const json_t *v, const char *type)
{
    if (!type || json_is_null(v))
        return true;
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v);
    if (strcmp(type, "number") == 0)
        return json_is_number(v);
    return json_is_boolean(v);
}

/* Converts command-line or environment text to the param's type; NULL when it does not fit. */
static json_t *convert(const char *text, const char *type)
{
    if (!type || strcmp(type, "string") == 0)
        return json_string(text);
    char *end;
    errno = 0;
    if (strcmp(type, "integer") == 0) {
        long long v = strtoll(text, &end, 10);
        return (*text && !*end && !errno) ? json_integer(v) : NULL;
    }
    if (strcmp(type, "number") == 0) {
        double v = strtod(text, &end);
        return (*text && !*end && !errno) ? json_real(v) : NULL;
    }
    if (strcasecmp(text, "true") == 0)
        return json_true();
    if (strcasecmp(text, "false") == 0)
        return json_false();
    return NULL;
}

static void set_value(struct param *pm, json_t *v, const char *source)
{
    json_decref(pm->value);
    pm->value = v;
    pm->source = source;
}

/* ==== Declarations ==== */

static void declare(struct params *p, const struct jdoc *doc, const char *name, const json_t *decl,
                    struct diags *d)
{
    struct strbuf ptr = STRBUF_INIT;
    strbuf_adds(&ptr, "/params");
    jv_pointer_add(&ptr, name);
    const char *at = strbuf_str(&ptr);
    if (!valid_name(name)) {
        diags_add(d, DIAG_ERROR, "invalid_param", doc, at, true,
                  "Param name '%s' must start with a letter or '_' and contain only letters, "
                  "digits and '_'",
                  name);
        goto done;
    }
    const json_t *def = decl;
    bool sensitive = false;
    if (json_is_object(decl)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)decl, key, v)
        {
            bool known = strncmp(key, "x-", 2) == 0;
            for (size_t i = 0; i < 4 && !known; i++)
                known = strcmp(key, decl_keys[i]) == 0;
            if (known)
                continue;
            int best = suggest_closest(key, decl_keys, 4);
            struct strbuf kp = STRBUF_INIT;
            strbuf_addf(&kp, "%s", at);
            jv_pointer_add(&kp, key);
            diags_add(d, DIAG_ERROR, "invalid_param", doc, strbuf_str(&kp), true,
                      "Param '%s': unknown key '%s'%s%s%s", name, key,
                      best >= 0 ? "; did you mean '" : "", best >= 0 ? decl_keys[best] : "",
                      best >= 0 ? "'?" : "");
            strbuf_release(&kp);
        }
        const json_t *t = json_object_get(decl, "type");
        bool type_ok = !t;
        for (size_t i = 0; i < 4 && !type_ok; i++)
            type_ok = json_is_string(t) && strcmp(json_string_value(t), types[i]) == 0;
        if (!type_ok) {
            struct strbuf tp = STRBUF_INIT;
            strbuf_addf(&tp, "%s/type", at);
            diags_add(d, DIAG_ERROR, "invalid_param", doc, strbuf_str(&tp), false,
                      "Param '%s': type must be one of string, integer, number, boolean", name);
            strbuf_release(&tp);
            goto done;
        }
        const json_t *s = json_object_get(decl, "sensitive");
        if (s && !json_is_boolean(s)) {
            struct strbuf sp = STRBUF_INIT;
            strbuf_addf(&sp, "%s/sensitive", at);
            diags_add(d, DIAG_ERROR, "invalid_param", doc, strbuf_str(&sp), false,
                      "Param '%s': sensitive must be true or false", name);
            strbuf_release(&sp);
        }
        sensitive = json_is_true(s);
        def = json_object_get(decl, "default");
    }
    if (def && !fits(def, param_type(decl))) {
        diags_add(d, DIAG_ERROR, "invalid_param", doc, at, true,
                  "Param '%s': default does not match its type %s", name, param_type(decl));
        def = NULL;
    }
    XGROW(p->items, p->cap, p->len + 1);
    struct param *pm = &p->items[p->len++];
    memset(pm, 0, sizeof(*pm));
    pm->name = arena_strdup(&p->arena, name);
    pm->sensitive = sensitive;
    if (def)
        set_value(pm, json_deep_copy(def), "default");
done:
    strbuf_release(&ptr);
}

/* The declaration of a param, for its type. */
static const json_t *decl_of(const struct jdoc *doc, const char *name)
{
    return json_object_get(json_object_get(doc->root, "params"), name);
}

static void unknown_param(struct params *p, struct diags *d, const struct jdoc *doc,
                          const char *pointer, const char *name, const char *where)
{
    const char **names = xmalloc((p->len + 1) * sizeof(*names));
    for (size_t i = 0; i < p->len; i++)
        names[i] = p->items[i].name;
    int best = suggest_closest(name, names, p->len);
    struct diag *dg = diags_add(d, DIAG_ERROR, "unknown_param", doc, pointer, true,
                                "%s sets param '%s', which is not declared under params%s%s%s",
                                where, name, best >= 0 ? "; did you mean '" : "",
                                best >= 0 ? names[best] : "", best >= 0 ? "'?" : "");
    if (!pointer) {
        dg->location = "--param";
        dg->pos = (struct srcpos){ 0, 0 };
    }
    free(names);
}

static void apply_profile(struct params *p, const struct jdoc *doc, const char *profile,
                          struct diags *d)
{
    const json_t *profiles = json_object_get(doc->root, "profiles");
    if (profiles && !json_is_object(profiles)) {
        diags_add(d, DIAG_ERROR, "invalid_profiles", doc, "/profiles", false,
                  "profiles must be a mapping of profile names to {params: {...}}");
        return;
    }
    const json_t *prof = profile ? json_object_get(profiles, profile) : NULL;
    if (!prof)
        return;
    struct strbuf ptr = STRBUF_INIT;
    strbuf_adds(&ptr, "/profiles");
    jv_pointer_add(&ptr, profile);
    const json_t *values = json_object_get(prof, "params");
    if (!json_is_object(prof) || (values && !json_is_object(values))) {
        diags_add(d, DIAG_ERROR, "invalid_profiles", doc, strbuf_str(&ptr), false,
                  "profile '%s' must be a mapping with a params mapping", profile);
        strbuf_release(&ptr);
        return;
    }
    strbuf_adds(&ptr, "/params");
    size_t base = ptr.len;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)values, name, v)
    {
        strbuf_truncate(&ptr, base);
        jv_pointer_add(&ptr, name);
        struct param *pm = find(p, name);
        char where[256];
        snprintf(where, sizeof(where), "profile '%s'", profile);
        if (!pm) {
            unknown_param(p, d, doc, strbuf_str(&ptr), name, where);
        } else if (!fits(v, param_type(decl_of(doc, name)))) {
            diags_add(d, DIAG_ERROR, "invalid_param", doc, strbuf_str(&ptr), false,
                      "profile '%s' sets param '%s' to a value that is not of type %s", profile,
                      name, param_type(decl_of(doc, name)));
        } else {
            set_value(pm, json_deep_copy(v), "profile");
        }
    }
    strbuf_release(&ptr);
}

/* "OSIRIS_PARAM_" + the name in upper case. */
struct env_var {
    char s[256];
};

static struct env_var env_name(const char *name)
{
    struct env_var v = { "OSIRIS_PARAM_" };
    size_t n = strlen(v.s);
    for (; *name && n < sizeof(v.s) - 1; name++)
        v.s[n++] = (char)toupper((unsigned char)*name);
    v.s[n] = '\0';
    return v;
}

static void apply_env(struct params *p, const struct jdoc *doc, struct diags *d)
{
    for (size_t i = 0; i < p->len; i++) {
        struct param *pm = &p->items[i];
        struct env_var var = env_name(pm->name);
        const char *text = getenv(var.s);
        if (!text)
            continue;
        const char *type = param_type(decl_of(doc, pm->name));
        json_t *v = convert(text, type);
        if (!v) {
            /* The value may be a secret: never echo it. */
            diags_add_at(d, DIAG_ERROR, "invalid_param", NULL, (struct srcpos){ 0, 0 }, var.s,
                         "%s is not a valid %s for param '%s'", var.s, type, pm->name);
            continue;
        }
        set_value(pm, v, "env");
    }
}

static void apply_cli(struct params *p, const struct jdoc *doc, const char *const *cli, size_t ncli,
                      struct diags *d)
{
    for (size_t i = 0; i < ncli; i++) {
        const char *eq = strchr(cli[i], '=');
        if (!eq || eq == cli[i]) {
            diags_add_at(d, DIAG_ERROR, "invalid_param", NULL, (struct srcpos){ 0, 0 }, "--param",
                         "--param needs NAME=VALUE");
            continue;
        }
        char *name = xstrndup(cli[i], (size_t)(eq - cli[i]));
        struct param *pm = find(p, name);
        if (!pm) {
            unknown_param(p, d, doc, NULL, name, "--param");
        } else {
            const char *type = param_type(decl_of(doc, name));
            json_t *v = convert(eq + 1, type);
            if (v)
                set_value(pm, v, "cli");
            else
                diags_add_at(d, DIAG_ERROR, "invalid_param", NULL, (struct srcpos){ 0, 0 },
                             "--param", "--param %s: the value is not a valid %s", name, type);
        }
        free(name);
    }
}

/* ==== Substitution ==== */

struct walk {
    struct params *p;
    const struct jdoc *doc;
    struct diags *d;
    json_t *unresolved; /* name → pointer of the first use */
    struct strbuf ptr;  /* pointer of the current place */
};

static void value_text(const json_t *v, struct strbuf *out)
{
    if (json_is_string(v))
        strbuf_add(out, json_string_value(v), json_string_length(v));
    else if (json_is_object(v) || json_is_array(v))
        jv_canonical(v, out);
    else
        jv_scalar(v, out);
}

/* The value of a param for expand(), or NULL to leave its placeholder as it is. */
typedef const json_t *param_lookup(void *data, const char *name);

/* The replacement for a string holding placeholders (new reference), or NULL to keep it. A string
 * that is exactly one placeholder takes the param's value with its type; otherwise values are
 * spliced in as text. */
static json_t *expand(const char *s, param_lookup *lookup, void *data)
{
    struct strbuf out = STRBUF_INIT;
    json_t *whole = NULL;
    bool changed = false;
    for (const char *p = s; *p;) {
        const char *at = strstr(p, PLACEHOLDER);
        const char *close = at ? strchr(at + strlen(PLACEHOLDER), '}') : NULL;
        if (!at || !close) {
            strbuf_adds(&out, p);
            break;
        }
        strbuf_add(&out, p, (size_t)(at - p));
        const char *nstart = at + strlen(PLACEHOLDER);
        char *name = xstrndup(nstart, (size_t)(close - nstart));
        const json_t *v = lookup(data, name);
        if (!v) {
            strbuf_add(&out, at, (size_t)(close + 1 - at));
        } else {
            if (at == s && !close[1])
                whole = json_deep_copy(v);
            value_text(v, &out);
            changed = true;
        }
        free(name);
        p = close + 1;
    }
    json_t *r = whole ? whole : changed ? json_stringn(out.buf, out.len) : NULL;
    strbuf_release(&out);
    return r;
}

/* Compile time: a param without a value is recorded as unresolved at the current place; the
 * params used are listed in names, and whether one is sensitive. */
struct compile_lookup {
    struct walk *w;
    struct strbuf *names;
    bool sensitive;
};

static const json_t *compile_lookup(void *data, const char *name)
{
    struct compile_lookup *c = data;
    struct param *pm = find(c->w->p, name);
    if (!pm || !pm->value) {
        if (!json_object_get(c->w->unresolved, name))
            json_object_set_new(c->w->unresolved, name, json_string(strbuf_str(&c->w->ptr)));
        return NULL;
    }
    strbuf_addf(c->names, "%s%s", c->names->len ? ", " : "", name);
    c->sensitive = c->sensitive || pm->sensitive;
    return pm->value;
}

static void record(struct walk *w, json_t *container, const char *key, size_t index,
                   const char *template, const struct strbuf *names, bool sensitive)
{
    struct params *p = w->p;
    XGROW(p->uses, p->capuses, p->nuses + 1);
    struct param_use *u = &p->uses[p->nuses++];
    u->container = container;
    u->key = key ? arena_strdup(&p->arena, key) : NULL;
    u->index = index;
    u->pointer = arena_strdup(&p->arena, strbuf_str(&w->ptr));
    u->template = arena_strdup(&p->arena, template);
    u->names = arena_strdup(&p->arena, strbuf_str(names));
    u->sensitive = sensitive;
}

/* Replaces container's child (at key, or index) when it is a string with placeholders. */
static json_t *visit_string(struct walk *w, json_t *container, const char *key, size_t index,
                            json_t *v)
{
    struct strbuf names = STRBUF_INIT;
    struct compile_lookup c = { w, &names, false };
    json_t *r = expand(json_string_value(v), compile_lookup, &c);
    if (r)
        record(w, container, key, index, json_string_value(v), &names, c.sensitive);
    strbuf_release(&names);
    return r;
}

static void walk(struct walk *w, json_t *node, int depth)
{
    if (depth > 600) /* trees come from the YAML loader, which bounds depth well below this */
        return;
    size_t base = w->ptr.len;
    if (json_is_object(node)) {
        for (void *it = json_object_iter(node); it; it = json_object_iter_next(node, it)) {
            const char *key = json_object_iter_key(it);
            json_t *v = json_object_iter_value(it);
            if (depth == 0 && (strcmp(key, "params") == 0 || strcmp(key, "profiles") == 0))
                continue;
            jv_pointer_add(&w->ptr, key);
            if (json_is_string(v)) {
                json_t *r = visit_string(w, node, key, 0, v);
                if (r)
                    json_object_iter_set_new(node, it, r);
            } else {
                walk(w, v, depth + 1);
            }
            strbuf_truncate(&w->ptr, base);
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            json_t *v = json_array_get(node, i);
            jv_pointer_add_index(&w->ptr, i);
            if (json_is_string(v)) {
                json_t *r = visit_string(w, node, NULL, i, v);
                if (r)
                    json_array_set_new(node, i, r);
            } else {
                walk(w, v, depth + 1);
            }
            strbuf_truncate(&w->ptr, base);
        }
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void params_resolve(struct params *p, struct jdoc *doc, const char *profile, const char *const *cli,
                    size_t ncli, struct diags *d)
{
    if (!json_is_object(doc->root))
        return;
    const json_t *decls = json_object_get(doc->root, "params");
    if (decls && !json_is_object(decls)) {
        diags_add(d, DIAG_ERROR, "invalid_param", doc, "/params", false,
                  "params must be a mapping of names to {default: ...} (or to default values)");
    } else {
        const char *name;
        json_t *decl;
        json_object_foreach((json_t *)decls, name, decl)
        {
            declare(p, doc, name, decl, d);
        }
    }
    apply_profile(p, doc, profile, d);
    apply_env(p, doc, d);
    apply_cli(p, doc, cli, ncli, d);

    struct walk w = { .p = p, .doc = doc, .d = d, .unresolved = json_object() };
    walk(&w, doc->root, 0);
    size_t n = json_object_size(w.unresolved);
    if (n) {
        const char **names = xmalloc(n * sizeof(*names));
        size_t k = 0;
        const char *name;
        json_t *v;
        json_object_foreach(w.unresolved, name, v)
        {
            names[k++] = name;
        }
        qsort(names, n, sizeof(*names), cmp_str);
        struct strbuf list = STRBUF_INIT;
        for (size_t i = 0; i < n; i++)
            strbuf_addf(&list, "%s'%s'", i ? ", " : "", names[i]);
        /* Positioned at the first use of the first name in sorted order. */
        diags_add(d, DIAG_ERROR, "unresolved_param", doc,
                  json_string_value(json_object_get(w.unresolved, names[0])), false,
                  "Unresolved parameters: %s (declare them under params with a default, or "
                  "pass --param NAME=VALUE)",
                  strbuf_str(&list));
        strbuf_release(&list);
        free(names);
    }
    json_decref(w.unresolved);
    strbuf_release(&w.ptr);
}

const struct param_use *params_use_at(const struct params *p, const json_t *container,
                                      const char *key, size_t index)
{
    for (size_t i = 0; i < p->nuses; i++) {
        const struct param_use *u = &p->uses[i];
        if (u->container == container &&
            (key ? (u->key && strcmp(u->key, key) == 0) : (!u->key && u->index == index)))
            return u;
    }
    return NULL;
}

static const json_t *plain_lookup(void *data, const char *name)
{
    const struct param *pm = find(data, name);
    return pm && !pm->sensitive ? pm->value : NULL;
}

void params_restore_sensitive(const struct params *p)
{
    for (size_t i = 0; i < p->nuses; i++) {
        const struct param_use *u = &p->uses[i];
        if (!u->sensitive)
            continue;
        /* Plain params stay substituted: a run fills only what it is given at run time. */
        json_t *v = expand(u->template, plain_lookup, (void *)p);
        if (!v)
            v = json_string(u->template);
        if (u->key)
            json_object_set_new(u->container, u->key, v);
        else
            json_array_set_new(u->container, u->index, v);
    }
}

json_t *params_effective(const struct params *p)
{
    json_t *o = json_object();
    for (size_t i = 0; i < p->len; i++) {
        const struct param *pm = &p->items[i];
        if (!pm->value)
            continue;
        if (pm->sensitive)
            json_object_set_new(o, pm->name, json_sprintf("${params.%s}", pm->name));
        else
            json_object_set(o, pm->name, pm->value);
    }
    return o;
}

/* ==== Filling placeholders at run time ==== */

/* Run time: values come from an object, then from OSIRIS_PARAM_<NAME> (upper case, as at compile
 * time); a name filled is set in used, a name without a value is listed once in missing. */
struct fill_lookup {
    const json_t *values;
    json_t *used, *missing;
};

static const json_t *fill_lookup(void *data, const char *name)
{
    struct fill_lookup *f = data;
    json_t *v = json_object_get(f->values, name);
    if (v) {
        json_object_set(f->used, name, v);
        return v;
    }
    const char *text = getenv(env_name(name).s);
    if (text) {
        json_object_set_new(f->used, name, json_string(text));
        return json_object_get(f->used, name);
    }
    for (size_t i = 0; i < json_array_size(f->missing); i++)
        if (strcmp(json_string_value(json_array_get(f->missing, i)), name) == 0)
            return NULL;
    json_array_append_new(f->missing, json_string(name));
    return NULL;
}

static json_t *fill_string(const char *s, struct fill_lookup *f)
{
    return strstr(s, PLACEHOLDER) ? expand(s, fill_lookup, f) : NULL;
}

static void fill(json_t *v, struct fill_lookup *f)
{
    if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
            json_t *child = json_object_iter_value(it);
            json_t *r = json_is_string(child) ? fill_string(json_string_value(child), f) : NULL;
            if (r)
                json_object_iter_set_new(v, it, r);
            else
                fill(child, f);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *child = json_array_get(v, i);
            json_t *r = json_is_string(child) ? fill_string(json_string_value(child), f) : NULL;
            if (r)
                json_array_set_new(v, i, r);
            else
                fill(child, f);
        }
    }
}

void params_fill(json_t *v, const json_t *values, json_t *used, json_t *missing)
{
    struct fill_lookup f = { values, used, missing };
    fill(v, &f);
}
