/* osiris validate: checks the project's configuration without touching anything: .env,
 * osiris.yaml (every error positioned), and osiris_connections.yaml — which families have all
 * their ${VAR}s, and whether each connection's fields are ones its family's components accept.
 * The report is the original's (reference osiris-compile.md §1.3); unlike the original, strict
 * mode fails (exit 1) when anything is wrong, and nothing is written (no session directory). */
#include "cli.h"
#include "connections.h"
#include "envfile.h"
#include "files.h"
#include "jsonschema.h"
#include "projconfig.h"
#include "registry.h"
#include "suggest.h"
#include "xalloc.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct validate_opts {
    const char *config; /* --config FILE */
    const char *mode;   /* --mode warn|strict|off */
};

enum vmode { MODE_WARN, MODE_STRICT, MODE_OFF }; /* the order of modes[] */

static const char *const modes[] = { "warn", "strict", "off", NULL };

/* Sections every project is expected to have, reported first and always. */
static const char *const core_sections[] = { "logging", "filesystem", "ids", "aiop" };

/* Fields every connection may carry besides those of its components. */
static const char *const common_fields[] = { "default", "alias", "description" };

struct report {
    enum vmode mode;
    const struct registry *reg;
    const struct connections *conns;
    struct jsonschema **schemas; /* configSchema per registry component, compiled on demand */
    bool *compiled;              /* whether schemas[i] was attempted */
    size_t problems;             /* missing variables, plus errors and warnings of connections */
};

/* ==== Mode ==== */

static enum vmode parse_mode(const char *s)
{
    for (int i = 0; modes[i]; i++)
        if (strcmp(modes[i], s) == 0)
            return (enum vmode)i;
    return MODE_WARN;
}

/* --mode, then $OSIRIS_VALIDATION, then warn. */
static enum vmode pick_mode(const struct validate_opts *opts)
{
    if (opts->mode)
        return parse_mode(opts->mode);
    const char *env = getenv("OSIRIS_VALIDATION");
    if (!env || !*env)
        return MODE_WARN;
    for (int i = 0; modes[i]; i++)
        if (strcmp(modes[i], env) == 0)
            return (enum vmode)i;
    cli_warn("OSIRIS_VALIDATION='%s' is not one of warn, strict, off; using warn", env);
    return MODE_WARN;
}

/* ==== What a family's components accept ==== */

static bool in_family(const struct component *c, const char *family)
{
    size_t n = strlen(family);
    return strncmp(c->name, family, n) == 0 && c->name[n] == '.';
}

/* Object: field name → true, for every field a connection of family may carry: the configSchema
 * properties, x-connection-fields and x-secret /resolved_connection/<field> names of every
 * <family>.* component, plus common_fields. Empty when no component belongs to the family. New
 * reference. */
static json_t *family_fields(const struct registry *reg, const char *family, size_t *ncomponents)
{
    json_t *fields = json_object();
    *ncomponents = 0;
    for (size_t i = 0; i < reg->len; i++) {
        const struct component *c = &reg->items[i];
        if (!in_family(c, family))
            continue;
        (*ncomponents)++;
        const char *key;
        json_t *v;
        json_object_foreach(
            json_object_get(json_object_get(c->doc.root, "configSchema"), "properties"), key, v)
        {
            json_object_set_new(fields, key, json_true());
        }
        size_t k;
        json_array_foreach(json_object_get(c->doc.root, "x-connection-fields"), k, v)
        {
            const char *name = json_is_string(v) ? json_string_value(v)
                                                 : json_string_value(json_object_get(v, "name"));
            if (name)
                json_object_set_new(fields, name, json_true());
        }
        json_array_foreach(json_object_get(c->doc.root, "x-secret"), k, v)
        {
            const char *p = json_string_value(v);
            static const char prefix[] = "/resolved_connection/";
            if (p && strncmp(p, prefix, sizeof(prefix) - 1) == 0 && p[sizeof(prefix) - 1]) {
                char *name = xstrndup(p + sizeof(prefix) - 1, strcspn(p + sizeof(prefix) - 1, "/"));
                json_object_set_new(fields, name, json_true());
                free(name);
            }
        }
    }
    if (*ncomponents)
        for (size_t i = 0; i < sizeof(common_fields) / sizeof(*common_fields); i++)
            json_object_set_new(fields, common_fields[i], json_true());
    return fields;
}

/* The distinct families of the registry (sorted, as the registry is), in names[] (malloc'd
 * strings); returns how many. */
static size_t registry_families(const struct registry *reg, char ***names)
{
    char **out = xcalloc(reg->len + 1, sizeof(*out));
    size_t n = 0;
    for (size_t i = 0; i < reg->len; i++) {
        const char *name = reg->items[i].name;
        size_t len = strcspn(name, ".");
        if (n && strlen(out[n - 1]) == len && strncmp(out[n - 1], name, len) == 0)
            continue;
        out[n++] = xstrndup(name, len);
    }
    *names = out;
    return n;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static struct jsonschema *component_schema(struct report *rep, size_t i)
{
    if (!rep->compiled[i]) {
        struct err err = ERR_INIT;
        rep->compiled[i] = true;
        rep->schemas[i] = jsonschema_compile(
            json_object_get(rep->reg->items[i].doc.root, "configSchema"), NULL, 0, &err);
    }
    return rep->schemas[i];
}

/* NULL when some component of family that declares field accepts value (or none can tell);
 * else the first complaint of the last one that declares it (malloc'd). */
static char *value_problem(struct report *rep, const char *family, const char *field,
                           const json_t *value)
{
    char *problem = NULL;
    json_t *instance = json_object();
    json_object_set(instance, field, (json_t *)value);
    struct strbuf ptr = STRBUF_INIT;
    jv_pointer_add(&ptr, field);
    for (size_t i = 0; i < rep->reg->len; i++) {
        const struct component *c = &rep->reg->items[i];
        const json_t *props =
            json_object_get(json_object_get(c->doc.root, "configSchema"), "properties");
        if (!in_family(c, family) || !json_object_get(props, field))
            continue;
        struct jsonschema *s = component_schema(rep, i);
        if (!s)
            continue;
        struct schema_errors errs = SCHEMA_ERRORS_INIT;
        jsonschema_validate(s, instance, &errs);
        const char *first = NULL;
        for (size_t k = 0; k < errs.len && !first; k++) {
            const char *inst = errs.items[k].instance;
            /* Only the field's own value counts: the rest of a step's config is absent here. */
            if (strncmp(inst, ptr.buf, ptr.len) == 0 &&
                (inst[ptr.len] == '\0' || inst[ptr.len] == '/'))
                first = errs.items[k].message;
        }
        if (!first) {
            free(problem);
            problem = NULL;
            schema_errors_release(&errs);
            break;
        }
        free(problem);
        problem = xstrdup(first);
        schema_errors_release(&errs);
    }
    strbuf_release(&ptr);
    json_decref(instance);
    return problem;
}

/* ==== Connections ==== */

/* An error or a warning, by mode; ignored when validation is off. */
static void add_issue(struct report *rep, json_t *check, const char *path, struct srcpos pos,
                      const char *message, const char *fix)
{
    if (rep->mode == MODE_OFF)
        return;
    json_t *issue = json_pack("{s:s, s:s, s:s}", "path", path, "message", message, "fix", fix);
    if (pos.line) {
        json_object_set_new(issue, "line", json_integer(pos.line));
        json_object_set_new(issue, "col", json_integer(pos.col));
    }
    json_array_append_new(json_object_get(check, rep->mode == MODE_STRICT ? "errors" : "warnings"),
                          issue);
    if (rep->mode == MODE_STRICT)
        json_object_set_new(check, "is_valid", json_false());
    rep->problems++;
}

/* Appends to names (unique) the ${VAR}s of s that have no :-fallback and are unset or empty. */
static void missing_in_string(const char *s, json_t *names)
{
    for (const char *p = strstr(s, "${"); p; p = strstr(p, "${")) {
        const char *q = p + 2;
        if (!isalpha((unsigned char)*q) && *q != '_') {
            p += 2;
            continue;
        }
        while (isalnum((unsigned char)*q) || *q == '_')
            q++;
        bool fallback = q[0] == ':' && q[1] == '-' && strchr(q, '}');
        if (!fallback && *q != '}') {
            p += 2;
            continue;
        }
        char *name = xstrndup(p + 2, (size_t)(q - p - 2));
        const char *val = getenv(name);
        bool listed = false;
        size_t i;
        json_t *v;
        json_array_foreach(names, i, v)
        {
            listed = listed || strcmp(json_string_value(v), name) == 0;
        }
        if (!fallback && (!val || !*val) && !listed)
            json_array_append_new(names, json_string(name));
        free(name);
        p = fallback ? strchr(q, '}') + 1 : q + 1;
    }
}

static void missing_vars(const json_t *v, json_t *names)
{
    if (json_is_string(v)) {
        missing_in_string(json_string_value(v), names);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            missing_vars(x, names);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            missing_vars(x, names);
        }
    }
}

static bool has_var(const json_t *v)
{
    if (json_is_string(v))
        return strstr(json_string_value(v), "${") != NULL;
    const char *k;
    size_t i;
    json_t *x;
    if (json_is_object(v))
        json_object_foreach((json_t *)v, k, x)
        {
            if (has_var(x))
                return true;
        }
    if (json_is_array(v))
        json_array_foreach(v, i, x)
        {
            if (has_var(x))
                return true;
        }
    return false;
}

static void join_keys(const json_t *o, struct strbuf *out)
{
    bool first = true;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        strbuf_addf(out, "%s%s", first ? "" : ", ", k);
        first = false;
    }
}

/* The check of one connection: unknown fields, values its components reject, unset
 * variables. */
static json_t *check_connection(struct report *rep, const char *family, const char *alias,
                                const json_t *conn, const json_t *known, size_t ncomponents,
                                char **families, size_t nfamilies)
{
    json_t *check = json_pack("{s:b, s:[], s:[]}", "is_valid", true, "errors", "warnings");
    const struct jdoc *doc = &rep->conns->doc;
    struct strbuf ptr = STRBUF_INIT, path = STRBUF_INIT, msg = STRBUF_INIT, fix = STRBUF_INIT;
    strbuf_adds(&ptr, "/connections");
    jv_pointer_add(&ptr, family);
    jv_pointer_add(&ptr, alias);
    size_t base = ptr.len;

    if (ncomponents == 0) {
        int best = suggest_closest(family, (const char *const *)families, nfamilies);
        strbuf_addf(&msg, "no component uses the connection family '%s'", family);
        if (best >= 0)
            strbuf_addf(&msg, "; did you mean '%s'?", families[best]);
        strbuf_adds(&fix, "use a family that components name (");
        for (size_t i = 0; i < nfamilies; i++)
            strbuf_addf(&fix, "%s%s", i ? ", " : "", families[i]);
        strbuf_adds(&fix, ") or remove the connection");
        strbuf_addf(&path, "connections.%s.%s", family, alias);
        add_issue(rep, check, strbuf_str(&path), jdoc_locate(doc, strbuf_str(&ptr), true),
                  strbuf_str(&msg), strbuf_str(&fix));
    }

    const char *field;
    json_t *value;
    json_object_foreach((json_t *)conn, field, value)
    {
        strbuf_truncate(&ptr, base);
        jv_pointer_add(&ptr, field);
        strbuf_reset(&path);
        strbuf_addf(&path, "connections.%s.%s.%s", family, alias, field);
        strbuf_reset(&msg);
        strbuf_reset(&fix);
        if (ncomponents && !json_object_get(known, field)) {
            const char *best = suggest_in(field, known);
            strbuf_addf(&msg, "unknown field '%s' for family '%s'", field, family);
            if (best)
                strbuf_addf(&msg, "; did you mean '%s'?", best);
            strbuf_adds(&fix, "remove it or use one of: ");
            join_keys(known, &fix);
            add_issue(rep, check, strbuf_str(&path), jdoc_locate(doc, strbuf_str(&ptr), true),
                      strbuf_str(&msg), strbuf_str(&fix));
        } else if (ncomponents && !has_var(value)) {
            char *problem = value_problem(rep, family, field, value);
            if (problem) {
                strbuf_addf(&msg, "invalid value for '%s': %s", field, problem);
                strbuf_addf(&fix,
                            "see 'osiris components show %s.<component>' for what '%s' "
                            "accepts",
                            family, field);
                add_issue(rep, check, strbuf_str(&path), jdoc_locate(doc, strbuf_str(&ptr), false),
                          strbuf_str(&msg), strbuf_str(&fix));
                free(problem);
            }
        }
        json_t *names = json_array();
        missing_vars(value, names);
        size_t i;
        json_t *name;
        json_array_foreach(names, i, name)
        {
            const char *var = json_string_value(name);
            strbuf_reset(&msg);
            strbuf_reset(&fix);
            strbuf_addf(&msg, "environment variable '%s' is not set", var);
            strbuf_addf(&fix,
                        "set %s in the environment or in .env, or give a fallback: ${%s:-value}",
                        var, var);
            add_issue(rep, check, strbuf_str(&path), jdoc_locate(doc, strbuf_str(&ptr), false),
                      strbuf_str(&msg), strbuf_str(&fix));
        }
        json_decref(names);
    }
    strbuf_release(&ptr);
    strbuf_release(&path);
    strbuf_release(&msg);
    strbuf_release(&fix);
    return check;
}

/* database_connections and connection_validation. */
static void check_connections(struct report *rep, json_t *out)
{
    json_t *dbs = json_object();
    json_t *checks = json_object();
    char **families;
    size_t nfamilies = registry_families(rep->reg, &families);
    const json_t *all = json_object_get(rep->conns->doc.root, "connections");
    const char *family;
    json_t *aliases;
    json_object_foreach((json_t *)all, family, aliases)
    {
        size_t ncomponents;
        json_t *known = family_fields(rep->reg, family, &ncomponents);
        json_t *names = json_array();
        json_t *alias_list = json_array();
        const char *alias;
        json_t *conn;
        json_object_foreach(aliases, alias, conn)
        {
            json_array_append_new(alias_list, json_string(alias));
            missing_vars(conn, names);
            char key[512];
            snprintf(key, sizeof(key), "%s.%s", family, alias);
            json_object_set_new(checks, key,
                                check_connection(rep, family, alias, conn, known, ncomponents,
                                                 families, nfamilies));
        }
        /* Unset variables are issues of their connections, except when checks are off. */
        if (rep->mode == MODE_OFF)
            rep->problems += json_array_size(names);
        bool configured = json_array_size(alias_list) > 0 && json_array_size(names) == 0;
        json_object_set_new(dbs, family,
                            json_pack("{s:b, s:o, s:o}", "configured", configured, "aliases",
                                      alias_list, "missing_vars", names));
        json_decref(known);
    }
    free_names(families, nfamilies);
    json_object_set_new(out, "database_connections", dbs);
    json_object_set_new(out, "connection_validation", checks);
}

/* ==== Output ==== */

static json_t *sections(const struct project_config *cfg)
{
    json_t *out = json_object();
    const json_t *root = json_is_object(cfg->doc.root) ? cfg->doc.root : NULL;
    for (size_t i = 0; i < sizeof(core_sections) / sizeof(*core_sections); i++) {
        const json_t *v = json_object_get(root, core_sections[i]);
        json_object_set_new(
            out, core_sections[i],
            json_pack("{s:s}", "status", v && !json_is_null(v) ? "configured" : "missing"));
    }
    /* Further sections the file has (discovery, llm, ...): mappings at the top level. */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)root, key, v)
    {
        if (json_is_object(v) && !json_object_get(out, key))
            json_object_set_new(out, key, json_pack("{s:s}", "status", "configured"));
    }
    return out;
}

static char *absolute(const char *path)
{
    char buf[PATH_MAX];
    if (realpath(path, buf))
        return xstrdup(buf);
    return xstrdup(path);
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static void print_text(const json_t *out, const char *conns_file, size_t problems, enum vmode mode)
{
    printf("configuration: %s (valid)\n", json_string_value(json_object_get(out, "config_file")));
    printf("validation mode: %s\n", json_string_value(json_object_get(out, "validation_mode")));
    const json_t *envs = json_object_get(out, "env_files");
    printf(".env files: %s", json_array_size(envs) ? "" : "none\n");
    size_t i;
    json_t *v;
    json_array_foreach(envs, i, v)
    {
        printf("%s%s", i ? ", " : "", json_string_value(v));
        if (i + 1 == json_array_size(envs))
            printf("\n");
    }
    printf("\nsections:\n");
    const char *key;
    json_object_foreach(json_object_get(out, "sections"), key, v)
    {
        printf("  %-14s %s\n", key, json_string_value(json_object_get(v, "status")));
    }
    const json_t *file = json_object_get(out, "connections_file");
    if (json_is_null(file)) {
        printf("\nconnections: no osiris_connections.yaml found\n");
    } else {
        printf("\nconnections: %s\n", json_string_value(file));
        json_object_foreach(json_object_get(out, "database_connections"), key, v)
        {
            struct strbuf sb = STRBUF_INIT;
            size_t k;
            json_t *x;
            json_array_foreach(json_object_get(v, "aliases"), k, x)
            {
                strbuf_addf(&sb, "%s%s", k ? ", " : "", json_string_value(x));
            }
            printf("  %-14s %-14s aliases: %s", key,
                   json_is_true(json_object_get(v, "configured")) ? "configured" : "not configured",
                   sb.len ? strbuf_str(&sb) : "(none)");
            strbuf_reset(&sb);
            json_array_foreach(json_object_get(v, "missing_vars"), k, x)
            {
                strbuf_addf(&sb, "%s%s", k ? ", " : "", json_string_value(x));
            }
            printf("%s%s\n", sb.len ? "; missing variables: " : "", strbuf_str(&sb));
            strbuf_release(&sb);
        }
        json_object_foreach(json_object_get(out, "connection_validation"), key, v)
        {
            static const char *const kinds[] = { "errors", "warnings" };
            for (int k = 0; k < 2; k++) {
                size_t n;
                json_t *is;
                json_array_foreach(json_object_get(v, kinds[k]), n, is)
                {
                    const json_t *line = json_object_get(is, "line");
                    printf("  %s: %s:", k ? "warning" : "error", conns_file);
                    if (line)
                        printf("%lld:%lld:", (long long)json_integer_value(line),
                               (long long)json_integer_value(json_object_get(is, "col")));
                    printf(" %s: %s\n      fix: %s\n",
                           json_string_value(json_object_get(is, "path")),
                           json_string_value(json_object_get(is, "message")),
                           json_string_value(json_object_get(is, "fix")));
                }
            }
        }
    }
    if (problems == 0)
        printf("\nresult: no problems found\n");
    else
        printf("\nresult: %zu problem%s%s\n", problems, problems == 1 ? "" : "s",
               mode == MODE_STRICT ? " (strict mode: failing)" : "");
}

static int not_found(struct cli_ctx *ctx, const char *file)
{
    struct err err = ERR_INIT;
    err_set(&err, ERR_NOTFOUND,
            "Configuration file '%s' not found; run 'osiris init' to create one", file);
    char cwd[PATH_MAX];
    const char *home = getenv("OSIRIS_HOME");
    const char *dir = getcwd(cwd, sizeof(cwd));
    json_t *extra =
        json_pack("{s:s, s:o, s:o, s:o}", "suggestion",
                  "Run 'osiris init' to create a project configuration", "searched_path",
                  file[0] == '/' || !dir ? json_string(file) : json_sprintf("%s/%s", dir, file),
                  "osiris_home", string_or_null(home && *home ? home : NULL), "working_directory",
                  string_or_null(dir));
    cli_fail(ctx, &err, extra);
    return EXIT_FAILED; /* the original's status for a missing configuration */
}

/* What validate loads, in this order: .env, osiris.yaml, the registry, the connections. */
struct project {
    struct strbuf env_files; /* one loaded .env path per line */
    struct project_config cfg;
    struct registry reg;
    struct connections conns;
    int loaded; /* how many of cfg, reg, conns were loaded */
};

static void project_close(struct project *p)
{
    if (p->loaded > 2)
        connections_release(&p->conns);
    if (p->loaded > 1)
        registry_release(&p->reg);
    if (p->loaded > 0)
        projconfig_release(&p->cfg);
    strbuf_release(&p->env_files);
}

/* EXIT_OK, or the exit status of the failure it reported (then p is released). */
static int project_open(struct cli_ctx *ctx, const struct validate_opts *opts, struct project *p)
{
    struct err err = ERR_INIT;
    memset(p, 0, sizeof(*p));
    int rc = EXIT_OK;
    if (envfile_load_defaults(&p->env_files, &err) != 0) {
        rc = cli_fail(ctx, &err, NULL);
        goto fail;
    }
    /* --config as given; else the search of projconfig_load(), done here so that a missing file
     * is reported the original's way instead of meaning the defaults. */
    struct strbuf file = STRBUF_INIT;
    const char *home = getenv("OSIRIS_HOME");
    if (opts->config)
        strbuf_adds(&file, opts->config);
    else if (home && *home)
        strbuf_addf(&file, "%s/osiris.yaml", home);
    else
        strbuf_adds(&file, "osiris.yaml");
    if (!files_exists(strbuf_str(&file)))
        rc = not_found(ctx, strbuf_str(&file));
    else if (projconfig_load(&p->cfg, strbuf_str(&file), &err) != 0)
        rc = cli_fail(ctx, &err, NULL);
    strbuf_release(&file);
    if (rc)
        goto fail;
    p->loaded = 1;
    if (registry_load(&p->reg, ctx->components_dir, &err) != 0) {
        rc = cli_fail(ctx, &err, NULL);
        goto fail;
    }
    p->loaded = 2;
    for (size_t i = 0; i < p->reg.nproblems; i++)
        cli_warn("%s (skipped)", p->reg.problems[i].message);
    if (connections_load(&p->conns, NULL, &err) != 0) {
        rc = cli_fail(ctx, &err, NULL);
        goto fail;
    }
    p->loaded = 3;
    return EXIT_OK;
fail:
    project_close(p);
    return rc;
}

/* The whole report (new reference), or NULL when a path cannot be put in JSON (not UTF-8). */
static json_t *report_json(struct report *rep, const struct project *p)
{
    char *cfg_abs = absolute(p->cfg.path);
    char *conns_abs = p->conns.path ? absolute(p->conns.path) : NULL;
    char cwd[PATH_MAX];
    const char *home = getenv("OSIRIS_HOME");
    json_t *envs = json_array();
    for (const char *s = strbuf_str(&p->env_files); *s;) {
        size_t n = strcspn(s, "\n");
        json_array_append_new(envs, json_stringn(s, n));
        s += n + (s[n] == '\n');
    }
    json_t *out =
        json_pack("{s:s, s:b, s:s, s:{s:o, s:o}, s:o, s:o, s:o}", "config_file", cfg_abs,
                  "config_valid", true, "validation_mode", modes[rep->mode], "environment",
                  "osiris_home", string_or_null(home && *home ? home : NULL), "working_directory",
                  string_or_null(getcwd(cwd, sizeof(cwd))), "env_files", envs, "sections",
                  sections(&p->cfg), "connections_file", string_or_null(conns_abs));
    free(cfg_abs);
    free(conns_abs);
    if (!out)
        return NULL;
    check_connections(rep, out);
    json_object_set_new(out, "problems", json_integer((json_int_t)rep->problems));
    return out;
}

static int run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct validate_opts *opts = optsp;
    (void)argc, (void)argv;
    struct project p;
    int rc = project_open(ctx, opts, &p);
    if (rc)
        return rc;

    struct report rep = { .mode = pick_mode(opts), .reg = &p.reg, .conns = &p.conns };
    rep.schemas = xcalloc(p.reg.len + 1, sizeof(*rep.schemas));
    rep.compiled = xcalloc(p.reg.len + 1, sizeof(*rep.compiled));
    json_t *out = report_json(&rep, &p);
    if (!out) {
        rc = cli_failf(ctx, ERR_INPUT, "cannot report a path that is not valid UTF-8");
    } else {
        if (ctx->json)
            cli_print_json(json_incref(out));
        else
            print_text(out, p.conns.path, rep.problems, rep.mode);
        json_decref(out);
        if (rep.mode == MODE_STRICT && rep.problems) {
            fprintf(stderr, "osiris: validation failed in strict mode: %zu problem%s\n",
                    rep.problems, rep.problems == 1 ? "" : "s");
            rc = EXIT_FAILED;
        }
    }
    for (size_t i = 0; i < p.reg.len; i++)
        jsonschema_free(rep.schemas[i]);
    free(rep.schemas);
    free(rep.compiled);
    project_close(&p);
    return rc;
}

static const struct cli_option validate_options[] = {
    { "config", 0, CLI_STRING, offsetof(struct validate_opts, config), "FILE",
      "the project configuration (default $OSIRIS_HOME/osiris.yaml, else ./osiris.yaml)", NULL, 0,
      0 },
    { "mode", 0, CLI_STRING, offsetof(struct validate_opts, mode), "warn|strict|off",
      "how connection problems count (default $OSIRIS_VALIDATION, else warn)", modes, 0, 0 },
    { 0 },
};

const struct cli_command cmd_validate = {
    .name = "validate",
    .summary = "Check osiris.yaml, .env and osiris_connections.yaml",
    .options = validate_options,
    .opts_size = sizeof(struct validate_opts),
    .run = run,
};
