/* OML validation: document, steps, dependency graph, connections, secrets and step configs.
 * Rules are checked in the order of reference osiris-compile.md §2.4 so the diagnostics read in
 * the same order as the original's; ours follow. */
#include "oml.h"
#include "dag.h"
#include "fscontract.h"
#include "jsonschema.h"
#include "redact.h"
#include "suggest.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Tables ==== */

static const char *const required_keys[] = { "oml_version", "name", "steps" };

static const struct {
    const char *key;
    const char *hint;
} forbidden_keys[] = {
    { "version", "use 'oml_version'" },
    { "connectors", "connections live in osiris_connections.yaml; steps name them with "
                    "connection: '@family.alias'" },
    { "tasks", "use 'steps'" },
    { "outputs", "outputs are writer steps" },
};

static const char *const known_keys[] = {
    "oml_version", "name",   "steps",    "description", "metadata",
    "schedule",    "params", "profiles", "run",
};

static const char *const step_keys[] = {
    "id", "component", "mode", "needs", "config", "description"
};

static const struct {
    const char *key;
    const char *hint;
} legacy_step_keys[] = {
    { "uses", "use 'component'" },
    { "with", "use 'config'" },
    { "depends_on", "use 'needs'" },
    { "type", "use 'component'" },
};

static const struct {
    const char *oml;       /* OML mode */
    const char *component; /* the spec mode it maps to */
} modes[] = {
    { "read", "extract" },
    { "write", "write" },
    { "transform", "transform" },
};

#define N(a) (sizeof(a) / sizeof(*(a)))

const char *oml_component_mode(const char *oml_mode)
{
    for (size_t i = 0; oml_mode && i < N(modes); i++)
        if (strcmp(modes[i].oml, oml_mode) == 0)
            return modes[i].component;
    return NULL;
}

const char *oml_family(const char *component, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s", (int)strcspn(component, "."), component);
    return buf;
}

bool oml_connection_optional(const char *family)
{
    return strcmp(family, "duckdb") == 0 || strcmp(family, "filesystem") == 0;
}

/* The names a component treats as secret besides the common ones: the first segments of its
 * secrets/x-secret pointers (x-secret pointers into resolved_connection name connection fields,
 * which cannot be in a step config anyway). */
static bool component_secret(const json_t *spec, const char *key)
{
    static const char *const lists[] = { "secrets", "x-secret" };
    for (size_t l = 0; spec && l < 2; l++) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(spec, lists[l]), i, p)
        {
            const char *s = json_string_value(p);
            size_t n = s ? strcspn(s + 1, "/") : 0;
            if (s && strlen(key) == n && strncmp(s + 1, key, n) == 0)
                return true;
        }
    }
    return false;
}

const char *oml_connection_policy(const json_t *spec, const char *field)
{
    const json_t *fields = json_object_get(spec, "x-connection-fields");
    if (fields) {
        size_t i;
        json_t *f;
        json_array_foreach(fields, i, f)
        {
            if (json_is_string(f) && strcmp(json_string_value(f), field) == 0)
                return "allowed";
            if (json_is_object(f) &&
                strcmp(json_string_value(json_object_get(f, "name")), field) == 0) {
                const char *o = json_string_value(json_object_get(f, "override"));
                return o ? o : "allowed";
            }
        }
        return NULL;
    }
    /* Without x-connection-fields, secret fields come from the connection and may not be set
     * in a step (the original's fallback). */
    return component_secret(spec, field) ? "forbidden" : NULL;
}

/* ==== Checker state ==== */

struct compiled {
    const char *component;
    struct jsonschema *schema; /* NULL when the configSchema does not compile */
};

struct checker {
    const struct jdoc *doc;
    const struct oml_context *ctx;
    struct diags *d;
    json_t *ids;              /* step id → index of its first declaration (a hash map) */
    struct compiled *schemas; /* configSchemas compiled once per component; owned */
    size_t nschemas, capschemas;
    struct strbuf ptr; /* scratch pointer */
};

static const char *at(struct checker *ck, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A JSON pointer built from a format (step indices, escaped keys are added by the caller). */
static const char *at(struct checker *ck, const char *fmt, ...)
{
    strbuf_reset(&ck->ptr);
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&ck->ptr, fmt, ap);
    va_end(ap);
    return strbuf_str(&ck->ptr);
}

static const char *member(struct checker *ck, const char *base, const char *key)
{
    strbuf_reset(&ck->ptr);
    strbuf_adds(&ck->ptr, base);
    jv_pointer_add(&ck->ptr, key);
    return strbuf_str(&ck->ptr);
}

/* "; did you mean 'x'?" when best is not NULL, else "" (written into buf). */
static const char *mean(char *buf, size_t size, const char *best)
{
    if (best)
        snprintf(buf, size, "; did you mean '%s'?", best);
    else
        buf[0] = '\0';
    return buf;
}

static const char *closest(const char *word, const char *const *cands, size_t n)
{
    int best = suggest_closest(word, cands, n);
    return best >= 0 ? cands[best] : NULL;
}

/* Allowed values as "'a' or 'b'" / "one of 'a', 'b', 'c'", in the schema's order. */
static void allowed_list(const json_t *values, struct strbuf *out)
{
    size_t n = json_array_size(values);
    if (n > 2)
        strbuf_adds(out, "one of ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_adds(out, n == 2 ? " or " : ", ");
        const json_t *v = json_array_get(values, i);
        if (json_is_string(v))
            strbuf_addf(out, "'%s'", json_string_value(v));
        else
            jv_dump(v, out, 0);
    }
}

/* ==== Document ==== */

static void check_top(struct checker *ck, const json_t *root)
{
    for (size_t i = 0; i < N(required_keys); i++)
        if (!json_object_get(root, required_keys[i]))
            diags_add(ck->d, DIAG_ERROR, "missing_required_key", ck->doc, "", false,
                      "Missing required top-level key: '%s'", required_keys[i]);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)root, key, v)
    {
        bool handled = strncmp(key, "x-", 2) == 0;
        for (size_t i = 0; i < N(forbidden_keys) && !handled; i++) {
            if (strcmp(key, forbidden_keys[i].key) != 0)
                continue;
            diags_add(ck->d, DIAG_ERROR, "forbidden_key", ck->doc, member(ck, "", key), true,
                      "Forbidden top-level key: '%s' (%s)", key, forbidden_keys[i].hint);
            handled = true;
        }
        for (size_t i = 0; i < N(known_keys) && !handled; i++)
            handled = strcmp(key, known_keys[i]) == 0;
        if (!handled) {
            char hint[128];
            diags_add(ck->d, DIAG_WARNING, "unknown_key", ck->doc, member(ck, "", key), true,
                      "Unknown top-level key: '%s'%s", key,
                      mean(hint, sizeof(hint), closest(key, known_keys, N(known_keys))));
        }
    }

    const json_t *ver = json_object_get(root, "oml_version");
    if (ver && !json_is_string(ver)) {
        diags_add(ck->d, DIAG_ERROR, "invalid_version_type", ck->doc, "/oml_version", false,
                  "oml_version must be a string such as \"0.1.0\" (quote it), got %s",
                  jv_type_name(ver));
    } else if (ver && strcmp(json_string_value(ver), "0.1.0") != 0) {
        bool zero = strncmp(json_string_value(ver), "0.", 2) == 0;
        diags_add(ck->d, zero ? DIAG_WARNING : DIAG_ERROR, "unsupported_version", ck->doc,
                  "/oml_version", false, "OML version '%s' %s (expected '0.1.0')",
                  json_string_value(ver), zero ? "may not be fully supported" : "is not supported");
    }

    const json_t *name = json_object_get(root, "name");
    if (name && !json_is_string(name)) {
        diags_add(ck->d, DIAG_ERROR, "invalid_name_type", ck->doc, "/name", false,
                  "name must be a string, got %s", jv_type_name(name));
    } else if (name) {
        const char *s = json_string_value(name);
        bool blank = true, conventional = *s && (islower((unsigned char)*s) || isdigit(*s));
        for (const char *p = s; *p; p++) {
            blank = blank && isspace((unsigned char)*p);
            conventional = conventional &&
                           (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-');
        }
        if (blank)
            diags_add(ck->d, DIAG_ERROR, "empty_name", ck->doc, "/name", false,
                      "name must not be empty");
        else if (!conventional)
            diags_add(ck->d, DIAG_WARNING, "naming_convention", ck->doc, "/name", false,
                      "Pipeline name '%s' should use lower-case letters, digits and '-' only", s);
    }
    static const struct {
        const char *key;
        json_type type;
        const char *what;
    } shapes[] = {
        { "description", JSON_STRING, "a string" },
        { "metadata", JSON_OBJECT, "a mapping" },
    };
    for (size_t i = 0; i < N(shapes); i++) {
        const json_t *s = json_object_get(root, shapes[i].key);
        if (s && json_typeof(s) != shapes[i].type)
            diags_add(ck->d, DIAG_ERROR, "invalid_type", ck->doc, member(ck, "", shapes[i].key),
                      false, "%s must be %s, got %s", shapes[i].key, shapes[i].what,
                      jv_type_name(s));
    }
}

/* ==== Secrets ==== */

bool oml_secret_key(const json_t *spec, const char *key)
{
    return redact_is_secret_name(key) || (spec && component_secret(spec, key));
}

/* True for a value that would put a secret on disk: anything but null, "", booleans and
 * environment references. */
static bool holds_secret(const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        /* ${VAR:-fallback} with a non-empty fallback writes the fallback, a literal, to disk. */
        const char *dflt = strstr(s, ":-");
        bool literal_default = dflt && dflt[2] != '}';
        return json_string_length(v) > 0 && (!redact_is_env_ref(s) || literal_default);
    }
    return json_is_number(v) || json_is_object(v) || json_is_array(v);
}

static void scan_secrets(struct checker *ck, const json_t *node, const json_t *spec,
                         struct strbuf *ptr, int depth)
{
    if (depth > 600)
        return;
    size_t base = ptr->len;
    if (json_is_object(node)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)node, key, v)
        {
            /* params and profiles are never written; steps are scanned one by one with their
             * component's secret names. */
            if (depth == 0 && (strcmp(key, "params") == 0 || strcmp(key, "profiles") == 0 ||
                               strcmp(key, "steps") == 0))
                continue;
            jv_pointer_add(ptr, key);
            bool secret = oml_secret_key(spec, key);
            if (secret && holds_secret(v)) {
                const struct param_use *use =
                    ck->ctx->params ? params_use_at(ck->ctx->params, node, key, 0) : NULL;
                if (!use || !use->sensitive) {
                    const char *loc = diag_location(&ck->d->arena, strbuf_str(ptr));
                    char from[512] = "";
                    if (use)
                        snprintf(from, sizeof(from),
                                 " (the value comes from param '%s'; mark it sensitive: true)",
                                 use->names);
                    diags_add(ck->d, DIAG_ERROR, "inline_secret", ck->doc, strbuf_str(ptr), false,
                              "Inline secret at %s%s: put secrets in osiris_connections.yaml "
                              "(as ${ENV_VAR}) and name the connection",
                              loc, from);
                }
            } else {
                scan_secrets(ck, v, spec, ptr, depth + 1);
            }
            strbuf_truncate(ptr, base);
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            jv_pointer_add_index(ptr, i);
            scan_secrets(ck, json_array_get(node, i), spec, ptr, depth + 1);
            strbuf_truncate(ptr, base);
        }
    }
}

/* ==== Step configs ==== */

static struct jsonschema *config_schema(struct checker *ck, const struct component *c)
{
    for (size_t i = 0; i < ck->nschemas; i++)
        if (strcmp(ck->schemas[i].component, c->name) == 0)
            return ck->schemas[i].schema;
    struct err err = ERR_INIT;
    json_t *cs = json_object_get(c->doc.root, "configSchema");
    struct jsonschema *s = jsonschema_compile(cs, NULL, 0, &err);
    if (!s)
        diags_add_at(ck->d, DIAG_ERROR, "invalid_component", c->file, (struct srcpos){ 0, 0 }, NULL,
                     "component '%s' has an invalid configSchema: %s", c->name, err.msg);
    XGROW(ck->schemas, ck->capschemas, ck->nschemas + 1);
    ck->schemas[ck->nschemas++] = (struct compiled){ c->name, s };
    return s;
}

/* Whether value satisfies a fragment of a constraint's `must` (a JSON Schema). */
static bool satisfies(const json_t *value, const json_t *fragment)
{
    struct err err = ERR_INIT;
    struct jsonschema *s = jsonschema_compile((json_t *)fragment, NULL, 0, &err);
    if (!s)
        return true; /* a bad fragment is the spec's problem, reported by components validate */
    bool ok = jsonschema_validate(s, value, NULL);
    jsonschema_free(s);
    return ok;
}

/* Evaluates spec.constraints.required; returns how many were violated. */
static size_t check_constraints(struct checker *ck, const char *sid, const char *cptr,
                                const json_t *config, const json_t *spec, bool via_connection)
{
    size_t violated = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(spec, "constraints"), "required"), i, c)
    {
        const json_t *when = json_object_get(c, "when");
        bool applies = json_is_object(when);
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)when, key, v)
        {
            const json_t *have = json_object_get(config, key);
            applies = applies && (json_is_null(v) ? !have : (have && jv_equal(have, v)));
        }
        if (!applies)
            continue;
        bool missing = false, bad = false;
        json_object_foreach(json_object_get(c, "must"), key, v)
        {
            /* A field the connection may supply cannot be judged from the step alone. */
            if (via_connection && oml_connection_policy(spec, key))
                continue;
            const json_t *have = json_object_get(config, key);
            if (!have)
                missing = true;
            else if (!satisfies(have, v))
                bad = true;
        }
        if (!missing && !bad)
            continue;
        const char *text = json_string_value(json_object_get(c, "error"));
        diags_add(ck->d, DIAG_ERROR, missing ? "missing_required_field" : "constraint_violation",
                  ck->doc, cptr, false, "Step '%s': %s", sid,
                  text ? text : "a constraint of the component is not met");
        violated++;
    }
    return violated;
}

/* A friendlier message for a oneOf/not over `required` lists ("exactly one of 'query' or
 * 'table'"); NULL when the keyword has another shape. */
static char *combinator_message(const json_t *schema_root, const struct schema_error *e,
                                const json_t *config)
{
    const json_t *kw = jv_pointer_get(schema_root, e->schema);
    struct strbuf sb = STRBUF_INIT;
    if (strcmp(e->keyword, "oneOf") == 0 && json_is_array(kw)) {
        size_t given = 0;
        struct strbuf names = STRBUF_INIT;
        size_t n = json_array_size(kw);
        for (size_t i = 0; i < n; i++) {
            const json_t *req = json_object_get(json_array_get(kw, i), "required");
            if (json_object_size(json_array_get(kw, i)) != 1 || json_array_size(req) != 1) {
                strbuf_release(&names);
                return NULL;
            }
            const char *name = json_string_value(json_array_get(req, 0));
            strbuf_addf(&names, "%s'%s'", i == 0 ? "" : i + 1 == n ? " or " : ", ", name);
            given += json_object_get(config, name) != NULL;
        }
        strbuf_addf(&sb, "exactly one of %s is required (%s given)", strbuf_str(&names),
                    given ? "more than one" : "none");
        strbuf_release(&names);
    } else if (strcmp(e->keyword, "not") == 0 && json_is_object(kw) && json_object_size(kw) == 1 &&
               json_is_array(json_object_get(kw, "required"))) {
        const json_t *req = json_object_get(kw, "required");
        for (size_t i = 0; i < json_array_size(req); i++)
            strbuf_addf(&sb, "%s'%s'", i ? " and " : "", json_string_value(json_array_get(req, i)));
        strbuf_adds(&sb, " cannot be used together");
    } else {
        return NULL;
    }
    return strbuf_detach(&sb, NULL);
}

static bool is_combinator(const char *kw)
{
    static const char *const list[] = { "oneOf", "anyOf", "allOf", "not", "if", "then", "else" };
    for (size_t i = 0; i < N(list); i++)
        if (strcmp(kw, list[i]) == 0)
            return true;
    return false;
}

static void schema_error_diag(struct checker *ck, const char *sid, const char *cptr,
                              const struct component *comp, const json_t *config,
                              const struct jsonschema *s, const struct schema_error *e,
                              bool via_connection, size_t violated)
{
    const json_t *spec = comp->doc.root;
    const char *kw = e->keyword;
    struct strbuf ptr = STRBUF_INIT, msg = STRBUF_INIT;
    strbuf_addf(&ptr, "%s%s", cptr, e->instance);
    /* "na_values[0]" rather than a bare "0" for an item of a list. */
    const char *field = *e->instance ? diag_location(&ck->d->arena, e->instance) : "config";
    const char *type = "invalid_config";
    bool at_key = false;
    if (strcmp(kw, "additionalProperties") == 0 && e->property) {
        char hint[160];
        mean(hint, sizeof(hint),
             suggest_in(e->property,
                        json_object_get(json_object_get(spec, "configSchema"), "properties")));
        type = "unknown_config_key";
        at_key = true;
        jv_pointer_add(&ptr, e->property);
        strbuf_addf(&msg, "Unknown configuration key '%s' for component '%s'%s", e->property,
                    comp->name, hint);
    } else if (strcmp(kw, "required") == 0 && e->property) {
        if (via_connection && !*e->instance && oml_connection_policy(spec, e->property))
            goto done; /* the connection supplies it */
        type = "missing_config_key";
        strbuf_addf(&msg, "Missing required configuration key '%s' for component '%s'", e->property,
                    comp->name);
    } else if (strcmp(kw, "type") == 0) {
        type = "invalid_config_type";
        strbuf_addf(&msg, "Step '%s': '%s' %s", sid, field, e->message);
    } else if (strcmp(kw, "enum") == 0 || strcmp(kw, "const") == 0) {
        type = "invalid_config_value";
        strbuf_addf(&msg, "Step '%s': %s must be ", sid, field);
        if (strcmp(kw, "enum") == 0)
            allowed_list(e->expected, &msg);
        else
            jv_dump(e->expected, &msg, 0);
        const json_t *got = jv_pointer_get(config, e->instance);
        if (json_is_string(got))
            strbuf_addf(&msg, " (got '%s')", json_string_value(got));
        else if (got) {
            strbuf_adds(&msg, " (got ");
            jv_dump(got, &msg, 0);
            strbuf_adds(&msg, ")");
        }
    } else if (is_combinator(kw)) {
        /* The spec's constraints explain the same rule better. */
        if (violated)
            goto done;
        char *friendly = combinator_message(jsonschema_document(s), e, config);
        strbuf_addf(&msg, "Step '%s': %s", sid, friendly ? friendly : e->message);
        free(friendly);
    } else {
        type = strcmp(kw, "dependencies") == 0 || strcmp(kw, "dependentRequired") == 0
                   ? "invalid_config"
                   : "invalid_config_value";
        strbuf_addf(&msg, "Step '%s': '%s' %s", sid, field, e->message);
    }
    diags_add(ck->d, DIAG_ERROR, type, ck->doc, strbuf_str(&ptr), at_key, "%s", strbuf_str(&msg));
done:
    strbuf_release(&ptr);
    strbuf_release(&msg);
}

/* Connection reference, overrides, constraints and the configSchema of one step. */
static void check_config(struct checker *ck, size_t idx, const char *sid,
                         const struct component *comp, const json_t *config)
{
    const json_t *spec = comp->doc.root;
    char cptr[64];
    snprintf(cptr, sizeof(cptr), "/steps/%zu/config", idx);
    char family[128];
    oml_family(comp->name, family, sizeof(family));
    const struct connections *conns = ck->ctx->conns;
    bool have_file = conns && conns->doc.root;

    /* C1: the connection reference. */
    bool via_connection = false;
    const json_t *ref = json_object_get(config, "connection");
    const char *refptr = member(ck, cptr, "connection");
    char *rfam = NULL, *ralias = NULL;
    if (ref && !json_is_string(ref)) {
        diags_add(ck->d, DIAG_ERROR, "invalid_connection_ref", ck->doc, refptr, false,
                  "connection must be a string '@family.alias', got %s", jv_type_name(ref));
    } else if (ref) {
        const char *r = json_string_value(ref);
        bool shape = r[0] == '@' && strchr(r, '.');
        for (const char *p = r + 1; shape && *p; p++)
            shape = isalnum((unsigned char)*p) || strchr("_-.", *p);
        struct err err = ERR_INIT;
        if (!shape || connections_parse_ref(r, &rfam, &ralias, &err) != 0) {
            diags_add(ck->d, DIAG_ERROR, "invalid_connection_ref", ck->doc, refptr, false,
                      "Invalid connection reference '%s': expected '@family.alias'", r);
        } else if (strcmp(rfam, family) != 0) {
            diags_add(ck->d, DIAG_ERROR, "connection_family_mismatch", ck->doc, refptr, false,
                      "Step '%s': component '%s' needs a '%s' connection, got '%s'", sid,
                      comp->name, family, r);
        } else if (have_file && !json_object_get(connections_family(conns, rfam), ralias)) {
            const json_t *aliases = connections_family(conns, rfam);
            struct strbuf avail = STRBUF_INIT;
            const char *a;
            json_t *v;
            json_object_foreach((json_t *)aliases, a, v)
            {
                strbuf_addf(&avail, "%s%s", avail.len ? ", " : "", a);
            }
            if (aliases)
                diags_add(ck->d, DIAG_ERROR, "unknown_connection", ck->doc, refptr, false,
                          "Connection '%s' not found in %s; available aliases: %s", r, conns->path,
                          strbuf_str(&avail));
            else
                diags_add(ck->d, DIAG_ERROR, "unknown_connection", ck->doc, refptr, false,
                          "Connection '%s' not found: %s has no family '%s'", r, conns->path, rfam);
            strbuf_release(&avail);
        } else {
            via_connection = true;
        }
    } else if (!oml_connection_optional(family)) {
        const char *dflt = have_file ? connections_default_alias(conns, family) : NULL;
        if (dflt) {
            via_connection = true;
        } else if (have_file) {
            diags_add(ck->d, DIAG_ERROR, "missing_connection", ck->doc, at(ck, "/steps/%zu", idx),
                      false,
                      "Step '%s': no connection for '%s': add connection: '@%s.<alias>' or mark "
                      "an alias default: true in %s",
                      sid, comp->name, family, conns->path);
        } else {
            via_connection = true; /* assume the default the run will need */
            diags_add(ck->d, DIAG_WARNING, "missing_connection", ck->doc, at(ck, "/steps/%zu", idx),
                      false,
                      "Step '%s' names no connection and no osiris_connections.yaml was found; "
                      "the run will need a default '%s' connection",
                      sid, family);
        }
    }
    free(rfam);
    free(ralias);

    /* Override policies for fields the connection supplies. */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)config, key, v)
    {
        const char *policy = via_connection ? oml_connection_policy(spec, key) : NULL;
        if (!policy || strcmp(policy, "allowed") == 0)
            continue;
        bool forbidden = strcmp(policy, "forbidden") == 0;
        diags_add(ck->d, forbidden ? DIAG_ERROR : DIAG_WARNING,
                  forbidden ? "forbidden_override" : "override_warning", ck->doc,
                  member(ck, cptr, key), true, "%s connection field '%s' (policy: %s)",
                  forbidden ? "Cannot override" : "Overriding", key, policy);
    }

    size_t violated = check_constraints(ck, sid, cptr, config, spec, via_connection);

    struct jsonschema *s = config_schema(ck, comp);
    if (!s)
        return;
    json_t *check = json_deep_copy(config);
    json_object_del(check, "connection");
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    if (!jsonschema_validate(s, check, &errs))
        for (size_t i = 0; i < errs.len; i++)
            schema_error_diag(ck, sid, cptr, comp, check, s, &errs.items[i], via_connection,
                              violated);
    schema_errors_release(&errs);
    json_decref(check);
}

/* ==== Steps ==== */

/* Index of the first step declaring id, or -1. */
static int id_index(const struct checker *ck, const char *id)
{
    const json_t *v = json_object_get(ck->ids, id);
    return v ? (int)json_integer_value(v) : -1;
}

static void check_step_keys(struct checker *ck, size_t i, const json_t *step)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)step, key, v)
    {
        bool known = strncmp(key, "x-", 2) == 0;
        for (size_t k = 0; k < N(step_keys) && !known; k++)
            known = strcmp(key, step_keys[k]) == 0;
        if (known)
            continue;
        char base[64];
        snprintf(base, sizeof(base), "/steps/%zu", i);
        const char *ptr = member(ck, base, key);
        for (size_t k = 0; k < N(legacy_step_keys); k++)
            if (strcmp(key, legacy_step_keys[k].key) == 0) {
                diags_add(ck->d, DIAG_ERROR, "legacy_key", ck->doc, ptr, true,
                          "Step key '%s' is not supported: %s", key, legacy_step_keys[k].hint);
                known = true;
            }
        if (known)
            continue;
        if (strcmp(key, "inputs") == 0) {
            diags_add(ck->d, DIAG_WARNING, "unknown_step_key", ck->doc, ptr, true,
                      "Step key 'inputs' is not used: data flows through 'needs'");
            continue;
        }
        char hint[128];
        diags_add(ck->d, DIAG_WARNING, "unknown_step_key", ck->doc, ptr, true,
                  "Unknown step key '%s'%s", key,
                  mean(hint, sizeof(hint), closest(key, step_keys, N(step_keys))));
    }
}

static void check_needs(struct checker *ck, const json_t *steps, size_t i, const char *sid,
                        struct dag_edge **edges, size_t *nedges, size_t *capedges)
{
    const json_t *needs = json_object_get(json_array_get(steps, i), "needs");
    if (!needs)
        return;
    if (!json_is_array(needs)) {
        diags_add(ck->d, DIAG_ERROR, "invalid_needs_type", ck->doc, at(ck, "/steps/%zu/needs", i),
                  false, "needs must be a list of step ids, got %s", jv_type_name(needs));
        return;
    }
    for (size_t j = 0; j < json_array_size(needs); j++) {
        const json_t *dep = json_array_get(needs, j);
        const char *ptr = at(ck, "/steps/%zu/needs/%zu", i, j);
        if (!json_is_string(dep)) {
            diags_add(ck->d, DIAG_ERROR, "invalid_dependency_type", ck->doc, ptr, false,
                      "needs entries must be step ids (strings), got %s", jv_type_name(dep));
            continue;
        }
        const char *name = json_string_value(dep);
        int target = id_index(ck, name);
        if (target < 0) {
            char hint[160];
            mean(hint, sizeof(hint), suggest_in(name, ck->ids));
            diags_add(ck->d, DIAG_ERROR, "unknown_dependency", ck->doc, ptr, false,
                      "Unknown dependency: '%s'%s", name, hint);
        } else if ((size_t)target == i) {
            diags_add(ck->d, DIAG_ERROR, "self_dependency", ck->doc, ptr, false,
                      "Step '%s' needs itself", sid);
        } else {
            bool dup = false;
            for (size_t k = 0; k < j && !dup; k++)
                dup = jv_equal(json_array_get(needs, k), dep);
            if (dup) {
                diags_add(ck->d, DIAG_WARNING, "duplicate_dependency", ck->doc, ptr, false,
                          "Step '%s' needs '%s' twice", sid, name);
                continue;
            }
            XGROW(*edges, *capedges, *nedges + 1);
            (*edges)[(*nedges)++] = (struct dag_edge){ (size_t)target, i };
        }
    }
}

static void check_cycles(struct checker *ck, const json_t *steps, const struct dag_edge *edges,
                         size_t nedges)
{
    size_t n = json_array_size(steps);
    size_t *order = xmalloc((n + 1) * sizeof(*order));
    size_t *cycle = xmalloc((n + 1) * sizeof(*cycle));
    size_t ncycle = 0;
    if (dag_order(n, edges, nedges, order, cycle, &ncycle) != 0) {
        /* dag_order lists the cycle in run order (each entry is needed by the next); read it
         * backwards from its first-declared step: "a needs c needs b needs a". */
        size_t first = 0;
        for (size_t k = 1; k < ncycle; k++)
            if (cycle[k] < cycle[first])
                first = k;
        struct strbuf path = STRBUF_INIT;
        for (size_t k = 0; k <= ncycle; k++) {
            size_t idx = cycle[(first + ncycle - k % ncycle) % ncycle];
            strbuf_addf(&path, "%s%s", k ? " needs " : "",
                        json_string_value(json_object_get(json_array_get(steps, idx), "id")));
        }
        diags_add(ck->d, DIAG_ERROR, "dependency_cycle", ck->doc,
                  at(ck, "/steps/%zu/needs", cycle[first]), false, "Dependency cycle: %s",
                  strbuf_str(&path));
        strbuf_release(&path);
    }
    free(order);
    free(cycle);
}

static void check_step(struct checker *ck, const json_t *steps, size_t i, bool *id_ok)
{
    const json_t *step = json_array_get(steps, i);
    const char *sptr = at(ck, "/steps/%zu", i);
    if (!json_is_object(step)) {
        diags_add(ck->d, DIAG_ERROR, "invalid_step_type", ck->doc, sptr, false,
                  "Step must be a mapping with id, component and mode, got %s", jv_type_name(step));
        return;
    }
    static const char *const fields[] = { "id", "component", "mode" };
    for (size_t f = 0; f < N(fields); f++)
        if (!json_object_get(step, fields[f]))
            diags_add(ck->d, DIAG_ERROR, "missing_step_field", ck->doc, at(ck, "/steps/%zu", i),
                      false, "Step missing required field: '%s'", fields[f]);
    check_step_keys(ck, i, step);

    const json_t *id = json_object_get(step, "id");
    const char *sid = json_string_value(id);
    if (id && !sid) {
        diags_add(ck->d, DIAG_ERROR, "invalid_id_type", ck->doc, at(ck, "/steps/%zu/id", i), false,
                  "Step id must be a string, got %s", jv_type_name(id));
    } else if (sid && !fscontract_is_segment(sid)) {
        diags_add(ck->d, DIAG_ERROR, "invalid_id", ck->doc, at(ck, "/steps/%zu/id", i), false,
                  "Step id '%s' may only contain letters, digits, '_', '-' and '.', and must "
                  "start with a letter, digit or '_'",
                  sid);
    } else if (sid) {
        int first = id_index(ck, sid);
        if (first >= 0 && (size_t)first != i) {
            struct srcpos p = jdoc_locate(ck->doc, at(ck, "/steps/%d/id", first), false);
            diags_add(ck->d, DIAG_ERROR, "duplicate_id", ck->doc, at(ck, "/steps/%zu/id", i), false,
                      "Duplicate step ID: '%s' (first used at line %d)", sid, p.line);
        } else {
            *id_ok = true;
        }
    }
    char label[256];
    snprintf(label, sizeof(label), "%s", sid ? sid : "?");

    const json_t *comp = json_object_get(step, "component");
    const struct component *c = NULL;
    if (comp && !json_is_string(comp)) {
        diags_add(ck->d, DIAG_ERROR, "invalid_component_type", ck->doc,
                  at(ck, "/steps/%zu/component", i), false, "component must be a string, got %s",
                  jv_type_name(comp));
    } else if (comp) {
        c = registry_find(ck->ctx->reg, json_string_value(comp));
        if (!c) {
            /* A warning for `oml validate` (as in the original: the file may target another
             * registry); compile cannot build it. */
            char hint[160];
            diags_add(
                ck->d, ck->ctx->compiling ? DIAG_ERROR : DIAG_WARNING, "unknown_component", ck->doc,
                at(ck, "/steps/%zu/component", i), false,
                "Unknown component '%s'%s (see 'osiris components list')", json_string_value(comp),
                mean(hint, sizeof(hint), registry_suggest(ck->ctx->reg, json_string_value(comp))));
        } else if (!c->driver && ck->ctx->compiling) {
            diags_add(ck->d, DIAG_ERROR, "missing_driver", ck->doc,
                      at(ck, "/steps/%zu/component", i), false,
                      "Component '%s' has no runtime driver (x-runtime.driver in %s)", c->name,
                      c->file);
        }
    }

    const json_t *mode = json_object_get(step, "mode");
    const char *cmode = NULL;
    if (mode && !json_is_string(mode)) {
        diags_add(ck->d, DIAG_ERROR, "invalid_mode_type", ck->doc, at(ck, "/steps/%zu/mode", i),
                  false, "mode must be a string, got %s", jv_type_name(mode));
    } else if (mode && !(cmode = oml_component_mode(json_string_value(mode)))) {
        diags_add(ck->d, DIAG_ERROR, "invalid_mode", ck->doc, at(ck, "/steps/%zu/mode", i), false,
                  "Invalid mode: '%s' (must be one of: read, write, transform)",
                  json_string_value(mode));
    } else if (mode && c) {
        const json_t *smodes = json_object_get(c->doc.root, "modes");
        bool ok = false;
        struct strbuf allowed = STRBUF_INIT;
        for (size_t m = 0; m < N(modes); m++) {
            bool has = false;
            size_t k;
            json_t *sm;
            json_array_foreach(smodes, k, sm)
            {
                has = has || strcmp(json_string_value(sm), modes[m].component) == 0;
            }
            if (has)
                strbuf_addf(&allowed, "%s%s", allowed.len ? ", " : "", modes[m].oml);
            ok = ok || (has && strcmp(modes[m].component, cmode) == 0);
        }
        if (!ok)
            diags_add(ck->d, DIAG_ERROR, "incompatible_mode", ck->doc, at(ck, "/steps/%zu/mode", i),
                      false, "Step '%s': mode '%s' not supported by component '%s'. Allowed: %s",
                      label, json_string_value(mode), c->name,
                      allowed.len ? strbuf_str(&allowed) : "(none)");
        strbuf_release(&allowed);
    }

    const json_t *config = json_object_get(step, "config");
    if (config && !json_is_object(config)) {
        diags_add(ck->d, DIAG_ERROR, "invalid_config_type", ck->doc, at(ck, "/steps/%zu/config", i),
                  false, "config must be a mapping, got %s", jv_type_name(config));
        return;
    }
    if (c) {
        json_t *empty = config ? NULL : json_object();
        check_config(ck, i, label, c, config ? config : empty);
        json_decref(empty);
    }
    if (cmode && strcmp(cmode, "extract") != 0 && !json_array_size(json_object_get(step, "needs")))
        diags_add(ck->d, DIAG_WARNING, "no_inputs", ck->doc, at(ck, "/steps/%zu", i), false,
                  "Step '%s' has no needs, so it receives no input (steps are not chained "
                  "implicitly; add needs: [...])",
                  label);
}

void oml_validate(const struct jdoc *doc, const struct oml_context *ctx, struct diags *d)
{
    struct checker ck = { .doc = doc, .ctx = ctx, .d = d };
    const json_t *root = doc->root;
    if (!json_is_object(root)) {
        diags_add(d, DIAG_ERROR, "invalid_type", doc, "", false,
                  "OML must be a mapping (dictionary/object), got %s", jv_type_name(root));
        return;
    }
    check_top(&ck, root);

    const json_t *steps = json_object_get(root, "steps");
    if (steps && !json_is_array(steps)) {
        diags_add(d, DIAG_ERROR, "invalid_steps_type", doc, "/steps", false,
                  "steps must be a list, got %s", jv_type_name(steps));
    } else if (steps && !json_array_size(steps)) {
        diags_add(d, DIAG_ERROR, "empty_steps", doc, "/steps", false,
                  "Pipeline must have at least one step");
    } else if (steps) {
        size_t n = json_array_size(steps);
        ck.ids = json_object();
        for (size_t i = 0; i < n; i++) {
            const char *sid = json_string_value(json_object_get(json_array_get(steps, i), "id"));
            if (sid && !json_object_get(ck.ids, sid))
                json_object_set_new(ck.ids, sid, json_integer((json_int_t)i));
        }
        struct dag_edge *edges = NULL;
        size_t nedges = 0, capedges = 0;
        bool all_ids = true;
        for (size_t i = 0; i < n; i++) {
            bool id_ok = false;
            check_step(&ck, steps, i, &id_ok);
            all_ids = all_ids && id_ok;
        }
        for (size_t i = 0; i < n; i++) {
            const char *sid = json_string_value(json_object_get(json_array_get(steps, i), "id"));
            if (sid)
                check_needs(&ck, steps, i, sid, &edges, &nedges, &capedges);
        }
        /* A cycle is only well defined when every step has its own id. */
        if (all_ids)
            check_cycles(&ck, steps, edges, nedges);
        free(edges);
        /* Secrets per step, with the step's component-specific secret names. */
        for (size_t i = 0; i < n; i++) {
            const json_t *step = json_array_get(steps, i);
            const char *cname = json_string_value(json_object_get(step, "component"));
            const struct component *c = cname ? registry_find(ctx->reg, cname) : NULL;
            struct strbuf ptr = STRBUF_INIT;
            strbuf_addf(&ptr, "/steps/%zu", i);
            scan_secrets(&ck, step, c ? c->doc.root : NULL, &ptr, 1);
            strbuf_release(&ptr);
        }
    }
    /* Secrets elsewhere in the document (metadata, description, ...). */
    struct strbuf ptr = STRBUF_INIT;
    scan_secrets(&ck, root, NULL, &ptr, 0);
    strbuf_release(&ptr);

    json_decref(ck.ids);
    for (size_t i = 0; i < ck.nschemas; i++)
        jsonschema_free(ck.schemas[i].schema);
    free(ck.schemas);
    strbuf_release(&ck.ptr);
}
