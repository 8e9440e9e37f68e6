/* osiris_connections.yaml: finding the file, checking its shape with positioned errors, picking
 * an alias (explicit, default: true, or the one named "default") and resolving its fields with
 * ${VAR} / ${VAR:-fallback} taken from the environment. */
#include "connections.h"
#include "files.h"
#include "strbuf.h"
#include "xalloc.h"
#include "yamlload.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONNECTIONS_FILE "osiris_connections.yaml"

/* ==== Loading and checking ==== */

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

/* A name as it may appear in a one-line message: control characters become '?', long names
 * are cut. */
static const char *printable(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; *s && n + 4 < size; s++)
        buf[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    if (*s) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static int fail_at(struct err *err, const struct jdoc *doc, const char *pointer, bool key,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail_at(struct err *err, const struct jdoc *doc, const char *pointer, bool key,
                   const char *fmt, ...)
{
    char msg[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct srcpos at = jdoc_locate(doc, pointer, key);
    return err_at(err, ERR_INPUT, doc->file, at.line, at.col, "%s", msg);
}

/* "/connections/<family>[/<alias>[/<field>]]" into sb (reset first). */
static void pointer_of(struct strbuf *sb, const char *family, const char *alias, const char *field)
{
    strbuf_reset(sb);
    strbuf_adds(sb, "/connections");
    jv_pointer_add(sb, family);
    if (alias)
        jv_pointer_add(sb, alias);
    if (field)
        jv_pointer_add(sb, field);
}

static const char *type_word(const json_t *v)
{
    return json_is_null(v) ? "nothing" : jv_type_name(v);
}

static int check_alias(const struct jdoc *doc, const char *family, const char *alias,
                       const json_t *fields, const char **first_default, struct strbuf *ptr,
                       struct err *err)
{
    char name[80];
    pointer_of(ptr, family, alias, NULL);
    if (!valid_name(alias))
        return fail_at(err, doc, strbuf_str(ptr), true,
                       "invalid alias name '%s' in family '%s': use letters, digits, '_' and '-'",
                       printable(alias, name, sizeof(name)), family);
    if (!json_is_object(fields))
        return fail_at(err, doc, strbuf_str(ptr), json_is_null(fields),
                       "connection '%s.%s' must be a mapping of fields, got %s", family, alias,
                       type_word(fields));
    const json_t *def = json_object_get(fields, "default");
    if (!def)
        return 0;
    pointer_of(ptr, family, alias, "default");
    if (json_is_string(def) && (strcasecmp(json_string_value(def), "true") == 0 ||
                                strcasecmp(json_string_value(def), "false") == 0))
        return fail_at(err, doc, strbuf_str(ptr), false,
                       "'default' of '%s.%s' must be a boolean, got the string \"%s\"; write "
                       "default: %s without quotes",
                       family, alias, json_string_value(def),
                       tolower((unsigned char)json_string_value(def)[0]) == 't' ? "true" : "false");
    if (!json_is_boolean(def))
        return fail_at(err, doc, strbuf_str(ptr), false,
                       "'default' of '%s.%s' must be a boolean (true or false), got %s", family,
                       alias, type_word(def));
    if (!json_is_true(def))
        return 0;
    if (*first_default) {
        struct strbuf first = STRBUF_INIT;
        pointer_of(&first, family, *first_default, "default");
        struct srcpos at = jdoc_locate(doc, strbuf_str(&first), true);
        strbuf_release(&first);
        return fail_at(err, doc, strbuf_str(ptr), true,
                       "family '%s' has two default aliases, '%s' (line %d) and '%s'; mark only "
                       "one with default: true",
                       family, *first_default, at.line, alias);
    }
    *first_default = alias;
    return 0;
}

static int check_family(const struct jdoc *doc, json_t *conns, const char *family,
                        struct strbuf *ptr, struct err *err)
{
    char name[80];
    pointer_of(ptr, family, NULL, NULL);
    if (!valid_name(family))
        return fail_at(err, doc, strbuf_str(ptr), true,
                       "invalid family name '%s': use letters, digits, '_' and '-'",
                       printable(family, name, sizeof(name)));
    json_t *aliases = json_object_get(conns, family);
    /* "mysql:" with every alias commented out is an empty family, not a mistake. The
     * replacement keeps the member's place, so its position stays known. */
    if (json_is_null(aliases)) {
        json_object_set_new(conns, family, json_object());
        return 0;
    }
    if (!json_is_object(aliases))
        return fail_at(err, doc, strbuf_str(ptr), false,
                       "family '%s' must be a mapping of aliases to connection fields, got %s",
                       family, type_word(aliases));
    const char *first_default = NULL;
    const char *alias;
    json_t *fields;
    json_object_foreach(aliases, alias, fields)
    {
        if (check_alias(doc, family, alias, fields, &first_default, ptr, err) != 0)
            return -1;
    }
    return 0;
}

static int check_file(struct jdoc *doc, struct err *err)
{
    json_t *root = doc->root;
    if (json_is_null(root))
        return 0; /* an empty file: no connections */
    if (!json_is_object(root))
        return fail_at(err, doc, "", false,
                       "the connections file must be a mapping with a 'connections' key, got %s",
                       type_word(root));
    struct strbuf ptr = STRBUF_INIT;
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "connections") != 0 && strcmp(key, "version") != 0) {
            char name[80];
            strbuf_reset(&ptr);
            jv_pointer_add(&ptr, key);
            rc = fail_at(err, doc, strbuf_str(&ptr), true,
                         "unknown top-level key '%s' (expected 'connections' or 'version')",
                         printable(key, name, sizeof(name)));
            goto done;
        }
    }
    json_t *conns = json_object_get(root, "connections");
    if (!conns)
        goto done; /* no connections */
    if (json_is_null(conns)) {
        json_object_set_new(root, "connections", json_object());
        goto done;
    }
    if (!json_is_object(conns)) {
        rc = fail_at(err, doc, "/connections", false,
                     "'connections' must be a mapping of families (mysql, duckdb, ...) to "
                     "aliases, got %s",
                     type_word(conns));
        goto done;
    }
    const char *family;
    json_object_foreach(conns, family, v)
    {
        rc = check_family(doc, conns, family, &ptr, err);
        if (rc)
            goto done;
    }
done:
    strbuf_release(&ptr);
    return rc;
}

/* The first candidate that exists, malloc'd, or NULL. */
static char *find_file(const char *path)
{
    if (path)
        return xstrdup(path); /* named explicitly: it must exist (yamlload reports it) */
    const char *home = getenv("OSIRIS_HOME");
    if (home && *home) {
        struct strbuf sb = STRBUF_INIT;
        size_t n = strlen(home);
        strbuf_addf(&sb, "%s%s%s", home, home[n - 1] == '/' ? "" : "/", CONNECTIONS_FILE);
        if (files_exists(strbuf_str(&sb)))
            return strbuf_detach(&sb, NULL);
        strbuf_release(&sb);
    }
    if (files_exists(CONNECTIONS_FILE))
        return xstrdup(CONNECTIONS_FILE);
    if (files_exists("../" CONNECTIONS_FILE))
        return xstrdup("../" CONNECTIONS_FILE);
    return NULL;
}

int connections_load(struct connections *c, const char *path, struct err *err)
{
    memset(c, 0, sizeof(*c));
    char *found = find_file(path);
    if (!found)
        return 0;
    if (yamlload_file(&c->doc, found, err) != 0 || check_file(&c->doc, err) != 0) {
        jdoc_release(&c->doc);
        free(found);
        return -1;
    }
    c->path = found;
    return 0;
}

void connections_release(struct connections *c)
{
    jdoc_release(&c->doc);
    free(c->path);
    memset(c, 0, sizeof(*c));
}

/* ==== Lookup ==== */

static const json_t *all_families(const struct connections *c)
{
    const json_t *conns = json_object_get(c->doc.root, "connections");
    return json_is_object(conns) ? conns : NULL;
}

const json_t *connections_family(const struct connections *c, const char *family)
{
    const json_t *f = json_object_get(all_families(c), family);
    return json_is_object(f) ? f : NULL;
}

const char *connections_default_alias(const struct connections *c, const char *family)
{
    const json_t *aliases = connections_family(c, family);
    const char *alias;
    json_t *fields;
    json_object_foreach((json_t *)aliases, alias, fields)
    {
        if (json_is_true(json_object_get(fields, "default")))
            return alias;
    }
    json_object_foreach((json_t *)aliases, alias, fields)
    {
        if (strcmp(alias, "default") == 0)
            return alias;
    }
    return NULL;
}

int connections_parse_ref(const char *ref, char **family, char **alias, struct err *err)
{
    *family = NULL;
    *alias = NULL;
    const char *dot = ref[0] == '@' ? strchr(ref, '.') : NULL;
    if (!dot)
        return err_set(err, ERR_INPUT,
                       "Invalid connection reference format '%s'. Expected '@family.alias'", ref);
    if (dot == ref + 1 || !dot[1])
        return err_set(err, ERR_INPUT,
                       "Family and alias cannot be empty in connection reference '%s'", ref);
    *family = xstrndup(ref + 1, (size_t)(dot - ref - 1));
    *alias = xstrdup(dot + 1);
    return 0;
}

/* ", "-separated keys of an object, in file order. */
static void join_keys(const json_t *o, struct strbuf *out)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        strbuf_addf(out, "%s%s", out->len ? ", " : "", key);
    }
}

/* ==== Substitution ==== */

/* One ${NAME} or ${NAME:-fallback} at s (which starts with "${"): the name's span, the
 * fallback's span (fb NULL when there is none) and the length of the whole reference. Returns
 * false when s holds no well-formed reference, so the text stays literal. */
struct varref {
    const char *name;
    size_t name_len;
    const char *fb;
    size_t fb_len;
    size_t len;
};

static bool parse_varref(const char *s, struct varref *r)
{
    const char *p = s + 2;
    if (!isalpha((unsigned char)*p) && *p != '_')
        return false;
    r->name = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    r->name_len = (size_t)(p - r->name);
    r->fb = NULL;
    r->fb_len = 0;
    if (p[0] == ':' && p[1] == '-') {
        r->fb = p + 2;
        p = strchr(r->fb, '}');
        if (!p)
            return false;
        r->fb_len = (size_t)(p - r->fb);
    }
    if (*p != '}')
        return false;
    r->len = (size_t)(p + 1 - s);
    return true;
}

struct subst {
    const struct jdoc *doc; /* for the position of the first unset variable; may be NULL */
    struct strbuf ptr;      /* JSON pointer of the value being walked */
    struct strbuf field;    /* the same as "options.hosts[0]" */
    char *missing;          /* first unset variable without a fallback, or NULL; owned */
    char *missing_field;    /* where it was; owned */
    struct srcpos missing_pos;
};

static json_t *subst_string(const char *s, struct subst *st)
{
    struct strbuf out = STRBUF_INIT;
    struct strbuf name = STRBUF_INIT;
    while (*s) {
        const char *ref = strstr(s, "${");
        struct varref r;
        if (!ref) {
            strbuf_adds(&out, s);
            break;
        }
        strbuf_add(&out, s, (size_t)(ref - s));
        if (!parse_varref(ref, &r)) {
            strbuf_add(&out, ref, 2);
            s = ref + 2;
            continue;
        }
        strbuf_reset(&name);
        strbuf_add(&name, r.name, r.name_len);
        const char *val = getenv(strbuf_str(&name));
        if (val && *val) {
            strbuf_adds(&out, val);
        } else if (r.fb) {
            strbuf_add(&out, r.fb, r.fb_len);
        } else {
            strbuf_add(&out, ref, r.len);
            if (!st->missing) {
                st->missing = xstrdup(strbuf_str(&name));
                st->missing_field = xstrdup(strbuf_str(&st->field));
                if (st->doc)
                    st->missing_pos = jdoc_locate(st->doc, strbuf_str(&st->ptr), false);
            }
        }
        s = ref + r.len;
    }
    json_t *v = json_stringn(out.buf ? out.buf : "", out.len);
    strbuf_release(&out);
    strbuf_release(&name);
    return v;
}

static json_t *subst_value(const json_t *v, struct subst *st)
{
    if (json_is_string(v))
        return subst_string(json_string_value(v), st);
    size_t plen = st->ptr.len, flen = st->field.len;
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item)
        {
            jv_pointer_add(&st->ptr, key);
            strbuf_addf(&st->field, "%s%s", flen ? "." : "", key);
            json_object_set_new(out, key, subst_value(item, st));
            strbuf_truncate(&st->ptr, plen);
            strbuf_truncate(&st->field, flen);
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            jv_pointer_add_index(&st->ptr, i);
            strbuf_addf(&st->field, "[%zu]", i);
            json_array_append_new(out, subst_value(item, st));
            strbuf_truncate(&st->ptr, plen);
            strbuf_truncate(&st->field, flen);
        }
        return out;
    }
    return json_incref((json_t *)v);
}

static void subst_release(struct subst *st)
{
    strbuf_release(&st->ptr);
    strbuf_release(&st->field);
    free(st->missing);
    free(st->missing_field);
}

json_t *connections_substitute(const json_t *v)
{
    struct subst st = { 0 };
    json_t *out = subst_value(v, &st);
    subst_release(&st);
    return out;
}

static void env_names(const json_t *v, json_t *names, struct strbuf *name)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        const char *ref;
        while ((ref = strstr(s, "${")) != NULL) {
            struct varref r;
            if (!parse_varref(ref, &r)) {
                s = ref + 2;
                continue;
            }
            strbuf_reset(name);
            strbuf_add(name, r.name, r.name_len);
            bool seen = false;
            size_t i;
            json_t *n;
            json_array_foreach(names, i, n)
            {
                seen = seen || strcmp(json_string_value(n), strbuf_str(name)) == 0;
            }
            if (!seen)
                json_array_append_new(names, json_string(strbuf_str(name)));
            s = ref + r.len;
        }
        return;
    }
    const char *key;
    size_t i;
    json_t *item;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, item)
        {
            env_names(item, names, name);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            env_names(item, names, name);
        }
    }
}

void connections_env_names(const json_t *v, json_t *names)
{
    struct strbuf name = STRBUF_INIT;
    env_names(v, names, &name);
    strbuf_release(&name);
}

/* ==== Resolution ==== */

static json_t *resolve(const struct connections *c, const char *family, const char *alias,
                       struct err *err)
{
    const json_t *families = all_families(c);
    if (!json_object_size(families)) {
        err_set(err, ERR_NOTFOUND,
                "No connections configured. Create osiris_connections.yaml with %s connections.",
                family);
        return NULL;
    }
    const json_t *aliases = connections_family(c, family);
    if (!aliases) {
        struct strbuf names = STRBUF_INIT;
        join_keys(families, &names);
        err_set(err, ERR_NOTFOUND, "Connection family '%s' not found. Available families: %s",
                family, strbuf_str(&names));
        strbuf_release(&names);
        return NULL;
    }
    if (!json_object_size(aliases)) {
        err_set(err, ERR_NOTFOUND, "No connections defined for family '%s'", family);
        return NULL;
    }
    struct strbuf names = STRBUF_INIT;
    join_keys(aliases, &names);
    if (!alias) {
        alias = connections_default_alias(c, family);
        if (!alias) {
            err_set(err, ERR_INPUT,
                    "No default connection for family '%s'. Available aliases: %s. Either: 1) "
                    "Set 'default: true' on an alias, 2) Name an alias 'default', or 3) Specify "
                    "an alias explicitly.",
                    family, strbuf_str(&names));
            strbuf_release(&names);
            return NULL;
        }
    }
    const json_t *fields = json_object_get(aliases, alias);
    if (!fields) {
        err_set(err, ERR_NOTFOUND,
                "Connection alias '%s' not found in family '%s'. Available aliases: %s", alias,
                family, strbuf_str(&names));
        strbuf_release(&names);
        return NULL;
    }
    strbuf_release(&names);

    struct subst st = { .doc = &c->doc };
    pointer_of(&st.ptr, family, alias, NULL);
    json_t *out = subst_value(fields, &st);
    json_object_del(out, "default");
    if (st.missing) {
        err_at(err, ERR_INPUT, c->doc.file, st.missing_pos.line, st.missing_pos.col,
               "Environment variable '%s' not set for %s in %s.%s", st.missing, st.missing_field,
               family, alias);
        json_decref(out);
        out = NULL;
    }
    subst_release(&st);
    return out;
}

json_t *connections_resolve(const struct connections *c, const char *family, const char *alias,
                            struct err *err)
{
    if (alias && alias[0] == '@') {
        char *f, *a;
        if (connections_parse_ref(alias, &f, &a, err) != 0)
            return NULL;
        json_t *out = resolve(c, f, a, err);
        free(f);
        free(a);
        return out;
    }
    return resolve(c, family, alias, err);
}
