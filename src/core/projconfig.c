/* osiris.yaml: loads the project configuration, checks it against the embedded schema
 * (src/core/osiris.schema.json) plus the rules that relate two values, applies the environment
 * overrides and fills struct project_config with defaults for everything left out. Every
 * invalid value is one positioned line naming its dotted key path. */
#include "projconfig.h"
#include "diag.h"
#include "embedded.h"
#include "files.h"
#include "jsonschema.h"
#include "suggest.h"
#include "xalloc.h"
#include "yamlload.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCHEMA_PATH "src/core/osiris.schema.json"

static const char *const default_profiles[] = {
    "dev", "staging", "prod", "ml", "finance", "incident_debug",
};

/* ==== Environment overrides ==== */

enum { OV_PROFILE, OV_BASE, OV_RUN_ID_FORMAT, OV_RETENTION, OV_COUNT };

/* Each variable sets one place of the document, before validation, so a bad value is reported
 * like a bad value in the file, naming the variable. */
static const struct {
    const char *var;     /* environment variable */
    const char *pointer; /* JSON pointer of the value it replaces */
} overrides[OV_COUNT] = {
    [OV_PROFILE] = { "OSIRIS_PROFILE", "/filesystem/profiles/default" },
    [OV_BASE] = { "OSIRIS_FILESYSTEM_BASE", "/filesystem/base_path" },
    [OV_RUN_ID_FORMAT] = { "OSIRIS_RUN_ID_FORMAT", "/ids/run_id_format" },
    [OV_RETENTION] = { "OSIRIS_RETENTION_RUN_LOGS_DAYS", "/filesystem/retention/run_logs_days" },
};

struct loader {
    struct project_config *cfg;
    json_t *eff;            /* the document with overrides applied; owned */
    bool applied[OV_COUNT]; /* which overrides are in eff */
    const char *cwd;        /* in cfg's arena */
    const json_t *schema;   /* the schema document (borrowed from the compiled schema) */
};

/* The override covering pointer, or -1. */
static int override_for(const struct loader *ld, const char *pointer)
{
    for (int i = 0; i < OV_COUNT; i++) {
        size_t n = strlen(overrides[i].pointer);
        if (ld->applied[i] && strncmp(pointer, overrides[i].pointer, n) == 0 &&
            (pointer[n] == '\0' || pointer[n] == '/'))
            return i;
    }
    return -1;
}

/* "osiris.yaml:L:C: <dotted path>[ (from VAR)]: <message>"; the position is that of the key
 * (or item) at pointer in the file, or of its deepest ancestor present there; for a value set by
 * an environment variable, that of the key the variable replaces. */
__attribute__((format(printf, 4, 5))) static int fail_at(struct loader *ld, const char *pointer,
                                                         struct err *err, const char *fmt, ...)
{
    struct project_config *cfg = ld->cfg;
    char msg[768], line[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int ov = override_for(ld, pointer);
    const char *var = ov >= 0 ? overrides[ov].var : NULL;
    snprintf(line, sizeof(line), "%s%s%s%s: %s", diag_location(&cfg->arena, pointer),
             var ? " (from " : "", var ? var : "", var ? ")" : "", msg);
    /* Keys and values may hold any character; the message stays one line. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    struct srcpos pos = { 0, 0 };
    if (cfg->doc.root)
        pos = jdoc_locate(&cfg->doc, ov >= 0 ? overrides[ov].pointer : pointer, true);
    return err_at(err, ERR_INPUT, cfg->doc.root ? cfg->doc.file : NULL, pos.line, pos.col, "%s",
                  line);
}

/* The object at key of parent, created when absent or null; NULL when something else is there
 * (the file's own type error is then reported by the schema). */
static json_t *child_object(json_t *parent, const char *key)
{
    json_t *v = json_object_get(parent, key);
    if (v && json_is_object(v))
        return v;
    if (v && !json_is_null(v))
        return NULL;
    v = json_object();
    json_object_set_new(parent, key, v);
    return v;
}

/* Sets eff[pointer] = value (stolen), creating the parents; nothing when a parent is not a
 * mapping. */
static void set_override(struct loader *ld, int which, json_t *value)
{
    json_t *cur = ld->eff;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", overrides[which].pointer + 1);
    char *save = NULL;
    char *tok = strtok_r(buf, "/", &save);
    for (char *next = strtok_r(NULL, "/", &save); next; next = strtok_r(NULL, "/", &save)) {
        cur = child_object(cur, tok);
        if (!cur) {
            json_decref(value);
            return;
        }
        tok = next;
    }
    json_object_set_new(cur, tok, value);
    ld->applied[which] = true;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* The variable's value; NULL when unset or empty (an empty variable counts as unset, as ${VAR}
 * does in the connections file). */
static const char *env_value(int which)
{
    const char *v = getenv(overrides[which].var);
    return v && *v ? v : NULL;
}

/* An override's value as JSON text must be UTF-8; reported at the key it replaces. */
static int not_utf8(struct loader *ld, int which, struct err *err)
{
    ld->applied[which] = true; /* so that the message names the variable */
    return fail_at(ld, overrides[which].pointer, err, "the value is not valid UTF-8");
}

static int apply_overrides(struct loader *ld, struct err *err)
{
    if (!json_is_object(ld->eff))
        return 0;
    /* With profiles disabled there is no default profile to set: the variable is ignored. */
    bool disabled = json_is_false(jv_pointer_get(ld->eff, "/filesystem/profiles/enabled"));
    static const int strings[] = { OV_PROFILE, OV_BASE };
    for (size_t i = 0; i < 2; i++) {
        const char *v = env_value(strings[i]);
        if (!v || (strings[i] == OV_PROFILE && disabled))
            continue;
        json_t *s = json_string(v);
        if (!s)
            return not_utf8(ld, strings[i], err);
        set_override(ld, strings[i], s);
    }

    const char *v = env_value(OV_RUN_ID_FORMAT);
    if (v) {
        json_t *list = json_array();
        char *copy = xstrdup(v), *rest = copy;
        /* strsep, not strtok: an empty item must be reported, not skipped. */
        while (rest) {
            json_t *s = json_string(trim(strsep(&rest, ",")));
            if (!s) {
                free(copy);
                json_decref(list);
                return not_utf8(ld, OV_RUN_ID_FORMAT, err);
            }
            json_array_append_new(list, s);
        }
        free(copy);
        set_override(ld, OV_RUN_ID_FORMAT, list);
    }

    v = env_value(OV_RETENTION);
    if (v) {
        char *copy = xstrdup(v), *end;
        char *t = trim(copy);
        errno = 0;
        long long n = strtoll(t, &end, 10);
        bool valid = *t && !*end && errno == 0;
        free(copy);
        if (!valid) {
            ld->applied[OV_RETENTION] = true; /* so that the message names the variable */
            return fail_at(ld, overrides[OV_RETENTION].pointer, err,
                           "must be a non-negative integer, got '%.100s'", v);
        }
        set_override(ld, OV_RETENTION, json_integer(n));
    }
    return 0;
}

/* ==== Schema errors as one positioned line ==== */

static const char *type_phrase(const char *type)
{
    static const struct {
        const char *json, *phrase;
    } names[] = {
        { "object", "a mapping" },   { "array", "a list" },    { "string", "a string" },
        { "integer", "an integer" }, { "number", "a number" }, { "boolean", "true or false" },
        { "null", "nothing" },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (strcmp(names[i].json, type) == 0)
            return names[i].phrase;
    return type;
}

/* "a list", "'abc'", "20", "true", "nothing (an empty value)". */
static void describe_value(const json_t *v, struct strbuf *out)
{
    if (!v || json_is_null(v))
        strbuf_adds(out, "nothing (an empty value)");
    else if (json_is_string(v))
        strbuf_addf(out, "'%.200s'", json_string_value(v));
    else if (json_is_object(v) || json_is_array(v))
        strbuf_adds(out, type_phrase(jv_type_name(v)));
    else
        jv_scalar(v, out);
}

static void type_message(const struct schema_error *e, const json_t *value, struct strbuf *out)
{
    strbuf_adds(out, "expected ");
    const json_t *want = e->expected;
    if (json_is_string(want)) {
        strbuf_adds(out, type_phrase(json_string_value(want)));
    } else {
        /* ["object", "null"]: null only means "an empty section", not worth offering. */
        size_t i, k = 0;
        json_t *t;
        json_array_foreach(want, i, t)
        {
            if (strcmp(json_string_value(t), "null") == 0 && json_array_size(want) > 1)
                continue;
            strbuf_addf(out, "%s%s", k++ ? " or " : "", type_phrase(json_string_value(t)));
        }
    }
    strbuf_adds(out, ", got ");
    describe_value(value, out);
}

/* The keys the schema knows at the object whose additionalProperties rejected a key. */
static void known_keys(const struct loader *ld, const char *schema_ptr, const char ***keys,
                       size_t *n)
{
    *keys = NULL;
    *n = 0;
    const char *slash = strrchr(schema_ptr, '/');
    if (!slash)
        return;
    char *parent = xstrndup(schema_ptr, (size_t)(slash - schema_ptr));
    const json_t *props = json_object_get(jv_pointer_get(ld->schema, parent), "properties");
    free(parent);
    size_t count = json_object_size(props);
    if (!count)
        return;
    const char **list = arena_calloc(&ld->cfg->arena, count, sizeof(*list));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v)
    {
        list[(*n)++] = k;
    }
    *keys = list;
}

static void unknown_key_message(const struct loader *ld, const struct schema_error *e,
                                struct strbuf *out)
{
    const char **keys;
    size_t n;
    known_keys(ld, e->schema, &keys, &n);
    int best = suggest_closest(e->property, keys, n);
    if (best >= 0) {
        strbuf_addf(out, "unknown key; did you mean '%s'?", keys[best]);
        return;
    }
    strbuf_adds(out, "unknown key (known keys:");
    for (size_t i = 0; i < n; i++)
        strbuf_addf(out, "%s %s", i ? "," : "", keys[i]);
    strbuf_adds(out, ")");
}

static void enum_message(const struct schema_error *e, const json_t *value, struct strbuf *out)
{
    strbuf_adds(out, e->message);
    strbuf_adds(out, ", got ");
    describe_value(value, out);
    if (!json_is_string(value) || !json_is_array(e->expected))
        return;
    const char *cand[32];
    size_t n = 0, i;
    json_t *c;
    json_array_foreach(e->expected, i, c)
    {
        if (json_is_string(c) && n < 32)
            cand[n++] = json_string_value(c);
    }
    int best = suggest_closest(json_string_value(value), cand, n);
    if (best >= 0)
        strbuf_addf(out, "; did you mean '%s'?", cand[best]);
}

static struct srcpos error_pos(const struct loader *ld, const struct schema_error *e,
                               struct strbuf *ptr)
{
    strbuf_reset(ptr);
    strbuf_adds(ptr, e->instance);
    if (e->property)
        jv_pointer_add(ptr, e->property);
    struct srcpos none = { 0, 0 };
    return ld->cfg->doc.root ? jdoc_locate(&ld->cfg->doc, strbuf_str(ptr), true) : none;
}

static bool before(struct srcpos a, struct srcpos b)
{
    return a.line && (!b.line || a.line < b.line || (a.line == b.line && a.col < b.col));
}

/* Reports the error that comes first in the file (ties: schema order). */

/* What a value that does not match its pattern should have been, by where it is (a printf
 * format for the value): sizes under run, profile names everywhere else. */
static const char *pattern_message(const char *instance)
{
    static const struct {
        const char *prefix, *format;
    } messages[] = {
        { "/run/", "'%.200s' is not a size: a number and a unit (B, KB, KiB, MB, MiB, GB, GiB, "
                   "TB, TiB), e.g. 512MB" },
        { "", "'%.200s' is not a valid profile name (letters, digits, '_', '.' and '-', not "
              "starting with '.' or '-')" },
    };
    size_t i = 0;
    while (strncmp(instance, messages[i].prefix, strlen(messages[i].prefix)) != 0)
        i++;
    return messages[i].format;
}
static int schema_failure(struct loader *ld, const struct schema_errors *errs, struct err *err)
{
    struct strbuf ptr = STRBUF_INIT, msg = STRBUF_INIT;
    size_t best = 0;
    struct srcpos best_pos = error_pos(ld, &errs->items[0], &ptr);
    for (size_t i = 1; i < errs->len; i++) {
        struct srcpos p = error_pos(ld, &errs->items[i], &ptr);
        if (before(p, best_pos)) {
            best = i;
            best_pos = p;
        }
    }
    const struct schema_error *e = &errs->items[best];
    error_pos(ld, e, &ptr);
    const json_t *value = jv_pointer_get(ld->eff, e->instance);
    if (strcmp(e->keyword, "type") == 0)
        type_message(e, value, &msg);
    else if (strcmp(e->keyword, "additionalProperties") == 0 && e->property)
        unknown_key_message(ld, e, &msg);
    else if (strcmp(e->keyword, "enum") == 0)
        enum_message(e, value, &msg);
    else if (strcmp(e->keyword, "minLength") == 0)
        strbuf_adds(&msg, "must not be empty");
    else if (strcmp(e->keyword, "pattern") == 0)
        strbuf_addf(&msg, pattern_message(e->instance), json_string_value(value));
    else if (strcmp(e->keyword, "uniqueItems") == 0)
        strbuf_addf(&msg, "lists a value twice (%s)", e->message);
    else
        strbuf_adds(&msg, e->message);
    fail_at(ld, strbuf_str(&ptr), err, "%s", strbuf_str(&msg));
    strbuf_release(&ptr);
    strbuf_release(&msg);
    return -1;
}

static int check_schema(struct loader *ld, struct err *err)
{
    const struct embedded_file *f = embedded_find(SCHEMA_PATH);
    if (!f)
        return err_set(err, ERR_INTERNAL, "%s is not embedded in this binary", SCHEMA_PATH);
    json_t *doc = jv_parse((const char *)f->data, f->len, SCHEMA_PATH, err);
    if (!doc)
        return -1;
    struct jsonschema *s = jsonschema_compile(doc, NULL, 0, err);
    json_decref(doc);
    if (!s)
        return -1;
    ld->schema = jsonschema_document(s);
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    int rc = 0;
    if (!jsonschema_validate(s, ld->eff, &errs))
        rc = schema_failure(ld, &errs, err);
    schema_errors_release(&errs);
    ld->schema = NULL;
    jsonschema_free(s);
    return rc;
}

/* ==== Values with defaults ==== */

/* The value at pointer in the effective document; NULL when absent or null. */
static const json_t *value_at(const struct loader *ld, const char *pointer)
{
    const json_t *v = jv_pointer_get(ld->eff, pointer);
    return json_is_null(v) ? NULL : v;
}

static const char *str_or(struct loader *ld, const char *pointer, const char *def)
{
    const char *s = json_string_value(value_at(ld, pointer));
    return arena_strdup(&ld->cfg->arena, s ? s : def);
}

static int int_or(struct loader *ld, const char *pointer, int def)
{
    const json_t *v = value_at(ld, pointer);
    return v ? (int)json_number_value(v) : def;
}

/* A size in the schema's syntax ("96MB", "1.5 GiB") in bytes; units as DuckDB reads them (KB is
 * 1000 bytes, KiB 1024). */
static double size_bytes(const char *s)
{
    static const struct {
        const char *unit;
        double bytes;
    } units[] = {
        { "B", 1 },
        { "KB", 1e3 },
        { "KiB", 1024.0 },
        { "MB", 1e6 },
        { "MiB", 1048576.0 },
        { "GB", 1e9 },
        { "GiB", 1073741824.0 },
        { "TB", 1e12 },
        { "TiB", 1099511627776.0 },
    };
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(end, units[i].unit) == 0)
            return v * units[i].bytes;
    return v;
}

static bool bool_or(struct loader *ld, const char *pointer, bool def)
{
    const json_t *v = value_at(ld, pointer);
    return v ? json_is_true(v) : def;
}

/* ==== Paths ==== */

/* Lexically normalised absolute path: no ".", "..", empty segments or trailing '/'. */
static char *normalize(struct arena *a, const char *abs)
{
    size_t len = strlen(abs);
    char *out = arena_alloc(a, len + 2);
    size_t o = 0;
    const char *p = abs;
    while (*p) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0)
            break;
        if (n == 1 && p[0] == '.') {
            /* skip */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else {
            out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return out;
}

static char *join(struct arena *a, const char *dir, const char *rel)
{
    if (rel[0] == '/')
        return normalize(a, rel);
    return normalize(a, arena_printf(a, "%s/%s", dir, rel));
}

static int resolve_base(struct loader *ld, struct err *err)
{
    struct project_config *cfg = ld->cfg;
    const char *raw = json_string_value(value_at(ld, overrides[OV_BASE].pointer));
    if (!raw || !*raw) {
        cfg->base_path = ld->cwd;
        return 0;
    }
    const char *expanded = files_expand_tilde(&cfg->arena, raw);
    if (!expanded)
        return fail_at(ld, overrides[OV_BASE].pointer, err, "cannot expand '%s': no such user",
                       raw);
    /* Relative to the file that says so; an override or a default is relative to the cwd. */
    const char *anchor = ld->cwd;
    if (cfg->path && !ld->applied[OV_BASE]) {
        char *abs = join(&cfg->arena, ld->cwd, cfg->path);
        *strrchr(abs, '/') = '\0';
        anchor = *abs ? abs : "/";
    }
    cfg->base_path = join(&cfg->arena, anchor, expanded);
    return 0;
}

/* ==== Rules between values ==== */

static bool listed(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static void join_list(const char *const *list, size_t n, struct strbuf *out)
{
    for (size_t i = 0; i < n; i++)
        strbuf_addf(out, "%s%s", i ? ", " : "", list[i]);
}

static int load_profiles(struct loader *ld, struct err *err)
{
    struct project_config *cfg = ld->cfg;
    cfg->profiles_enabled = bool_or(ld, "/filesystem/profiles/enabled", true);
    const json_t *values = value_at(ld, "/filesystem/profiles/values");
    if (values) {
        cfg->nprofiles = json_array_size(values);
        cfg->profiles = arena_calloc(&cfg->arena, cfg->nprofiles + 1, sizeof(*cfg->profiles));
        for (size_t i = 0; i < cfg->nprofiles; i++)
            cfg->profiles[i] =
                arena_strdup(&cfg->arena, json_string_value(json_array_get(values, i)));
    } else {
        cfg->nprofiles = sizeof(default_profiles) / sizeof(*default_profiles);
        cfg->profiles = arena_calloc(&cfg->arena, cfg->nprofiles + 1, sizeof(*cfg->profiles));
        for (size_t i = 0; i < cfg->nprofiles; i++)
            cfg->profiles[i] = default_profiles[i];
    }
    const char *def_ptr = overrides[OV_PROFILE].pointer;
    bool explicit = value_at(ld, def_ptr) != NULL;
    cfg->default_profile = str_or(ld, def_ptr, "dev");
    if (!cfg->profiles_enabled)
        return 0;
    if (cfg->nprofiles == 0)
        return fail_at(ld, "/filesystem/profiles/values", err,
                       "must list at least one profile when profiles are enabled");
    if (listed(cfg->default_profile, cfg->profiles, cfg->nprofiles))
        return 0;
    struct strbuf known = STRBUF_INIT;
    join_list(cfg->profiles, cfg->nprofiles, &known);
    if (explicit) {
        int best = suggest_closest(cfg->default_profile, cfg->profiles, cfg->nprofiles);
        fail_at(ld, def_ptr, err, "'%s' is not one of filesystem.profiles.values (%s)%s%s%s",
                cfg->default_profile, strbuf_str(&known), best >= 0 ? "; did you mean '" : "",
                best >= 0 ? cfg->profiles[best] : "", best >= 0 ? "'?" : "");
    } else {
        fail_at(ld, def_ptr, err,
                "not set, and the built-in default 'dev' is not one of "
                "filesystem.profiles.values (%s); set it to one of them",
                strbuf_str(&known));
    }
    strbuf_release(&known);
    return -1;
}

static void load_run_id_format(struct loader *ld)
{
    struct project_config *cfg = ld->cfg;
    const json_t *v = value_at(ld, overrides[OV_RUN_ID_FORMAT].pointer);
    if (json_is_array(v)) {
        cfg->nrun_id_format = json_array_size(v);
        cfg->run_id_format = arena_calloc(&cfg->arena, cfg->nrun_id_format + 1, sizeof(char *));
        for (size_t i = 0; i < cfg->nrun_id_format; i++)
            cfg->run_id_format[i] =
                arena_strdup(&cfg->arena, json_string_value(json_array_get(v, i)));
    } else {
        cfg->nrun_id_format = 1;
        cfg->run_id_format = arena_calloc(&cfg->arena, 2, sizeof(char *));
        cfg->run_id_format[0] =
            arena_strdup(&cfg->arena, json_is_string(v) ? json_string_value(v) : "iso_ulid");
    }
}

static void load_values(struct loader *ld)
{
    struct project_config *cfg = ld->cfg;
    cfg->pipelines_dir = str_or(ld, "/filesystem/pipelines_dir", "pipelines");
    cfg->build_dir = str_or(ld, "/filesystem/build_dir", "build");
    cfg->aiop_dir = str_or(ld, "/filesystem/aiop_dir", "aiop");
    cfg->run_logs_dir = str_or(ld, "/filesystem/run_logs_dir", "run_logs");
    cfg->sessions_dir = str_or(ld, "/filesystem/sessions_dir", ".osiris/sessions");
    cfg->cache_dir = str_or(ld, "/filesystem/cache_dir", ".osiris/cache");
    cfg->index_dir = str_or(ld, "/filesystem/index_dir", ".osiris/index");

    cfg->naming.manifest_dir = str_or(ld, "/filesystem/naming/manifest_dir",
                                      "{pipeline_slug}/{manifest_short}-{manifest_hash}");
    cfg->naming.run_dir = str_or(ld, "/filesystem/naming/run_dir",
                                 "{pipeline_slug}/{run_ts}_{run_id}-{manifest_short}");
    cfg->naming.aiop_run_dir = str_or(ld, "/filesystem/naming/aiop_run_dir", "{run_id}");
    cfg->naming.run_ts_format = str_or(ld, "/filesystem/naming/run_ts_format", "iso_basic_z");
    cfg->naming.manifest_short_len = int_or(ld, "/filesystem/naming/manifest_short_len", 7);

    cfg->artifacts.manifest = bool_or(ld, "/filesystem/artifacts/manifest", true);
    cfg->artifacts.plan = bool_or(ld, "/filesystem/artifacts/plan", true);
    cfg->artifacts.fingerprints = bool_or(ld, "/filesystem/artifacts/fingerprints", true);
    cfg->artifacts.run_summary = bool_or(ld, "/filesystem/artifacts/run_summary", true);
    cfg->artifacts.cfg = bool_or(ld, "/filesystem/artifacts/cfg", true);
    cfg->artifacts.save_events_tail = int_or(ld, "/filesystem/artifacts/save_events_tail", 0);

    cfg->retention.run_logs_days = int_or(ld, "/filesystem/retention/run_logs_days", 7);
    cfg->retention.aiop_keep_runs_per_pipeline =
        int_or(ld, "/filesystem/retention/aiop_keep_runs_per_pipeline", 200);
    cfg->retention.annex_keep_days = int_or(ld, "/filesystem/retention/annex_keep_days", 14);

    /* The legacy top-level `output` is read only when filesystem.outputs is absent. */
    const char *outputs = value_at(ld, "/filesystem/outputs") || !value_at(ld, "/output")
                              ? "/filesystem/outputs"
                              : "/output";
    char ptr[64];
    snprintf(ptr, sizeof(ptr), "%s/directory", outputs);
    cfg->outputs.directory = str_or(ld, ptr, "output");
    snprintf(ptr, sizeof(ptr), "%s/format", outputs);
    cfg->outputs.format = str_or(ld, ptr, "csv");

    load_run_id_format(ld);
    cfg->manifest_hash_algo = str_or(ld, "/ids/manifest_hash_algo", "sha256_slug");

    /* 512MB keeps a run under 1 GiB of memory (DuckDB needs ~250 MB beyond its limit); larger
     * data spills to disk (docs/benchmarks.md). */
    cfg->run.memory_limit = str_or(ld, "/run/memory_limit", "512MB");
    /* Moving rows needs no cache: a table only a writer reads is read once, and reading it back
     * from the spill files cost no more than keeping it (docs/benchmarks.md), while keeping it
     * made memory grow with the row count up to memory_limit. */
    cfg->run.stream_memory_limit = str_or(ld, "/run/stream_memory_limit", "96MB");
    if (size_bytes(cfg->run.stream_memory_limit) > size_bytes(cfg->run.memory_limit))
        cfg->run.stream_memory_limit = cfg->run.memory_limit;
    cfg->run.threads = int_or(ld, "/run/threads", 0);

    cfg->aiop.enabled = bool_or(ld, "/aiop/enabled", true);
    cfg->aiop.run_card = bool_or(ld, "/aiop/run_card", true);
    cfg->aiop.max_core_bytes = int_or(ld, "/aiop/max_core_bytes", 300000);
    cfg->aiop.metrics_topk = int_or(ld, "/aiop/metrics_topk", 100);
    cfg->aiop.timeline_density = str_or(ld, "/aiop/timeline_density", "medium");
}

/* ==== API ==== */

int projconfig_load(struct project_config *cfg, const char *path, struct err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    arena_init(&cfg->arena);
    struct loader ld = { .cfg = cfg };

    char *cwd = getcwd(NULL, 0);
    if (!cwd) {
        err_errno(err, ERR_IO, "cannot determine the current directory");
        goto fail;
    }
    ld.cwd = arena_strdup(&cfg->arena, cwd);
    free(cwd);

    const char *file = path;
    if (!file) {
        const char *home = getenv("OSIRIS_HOME");
        file = home && *home ? arena_printf(&cfg->arena, "%s/osiris.yaml", home) : "osiris.yaml";
    } else if (!files_exists(file)) {
        err_set(err, ERR_NOTFOUND, "configuration file '%s' not found", file);
        goto fail;
    }
    if (files_exists(file)) {
        if (files_is_dir(file)) {
            err_at(err, ERR_INPUT, file, 0, 0,
                   "is a directory; expected a configuration file (osiris.yaml)");
            goto fail;
        }
        if (yamlload_file(&cfg->doc, file, err) != 0)
            goto fail;
        cfg->path = arena_strdup(&cfg->arena, file);
    }

    ld.eff = cfg->doc.root && !json_is_null(cfg->doc.root) ? json_deep_copy(cfg->doc.root)
                                                           : json_object();
    if (apply_overrides(&ld, err) != 0 || check_schema(&ld, err) != 0 ||
        load_profiles(&ld, err) != 0 || resolve_base(&ld, err) != 0)
        goto fail;
    load_values(&ld);
    json_decref(ld.eff);
    return 0;

fail:
    json_decref(ld.eff);
    projconfig_release(cfg);
    return -1;
}

void projconfig_release(struct project_config *cfg)
{
    jdoc_release(&cfg->doc);
    arena_release(&cfg->arena);
    memset(cfg, 0, sizeof(*cfg));
}

const char *projconfig_path(struct project_config *cfg, const char *rel)
{
    return join(&cfg->arena, cfg->base_path, rel);
}

int projconfig_profile(const struct project_config *cfg, const char *requested,
                       const char **profile, struct err *err)
{
    *profile = NULL;
    if (!cfg->profiles_enabled) {
        if (requested)
            return err_set(err, ERR_INPUT,
                           "profile '%s' given, but profiles are disabled "
                           "(filesystem.profiles.enabled is false in %s)",
                           requested, cfg->path ? cfg->path : "osiris.yaml");
        return 0;
    }
    const char *p = requested ? requested : cfg->default_profile;
    if (listed(p, cfg->profiles, cfg->nprofiles)) {
        *profile = p;
        return 0;
    }
    struct strbuf known = STRBUF_INIT;
    join_list(cfg->profiles, cfg->nprofiles, &known);
    int best = suggest_closest(p, cfg->profiles, cfg->nprofiles);
    if (best >= 0)
        err_set(err, ERR_INPUT, "unknown profile '%s'; did you mean '%s'? (profiles: %s)", p,
                cfg->profiles[best], strbuf_str(&known));
    else
        err_set(err, ERR_INPUT, "unknown profile '%s' (profiles: %s)", p, strbuf_str(&known));
    strbuf_release(&known);
    return -1;
}
