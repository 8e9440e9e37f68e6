/* osiris connections list|doctor: what osiris_connections.yaml defines (secrets masked, the
 * environment variables it needs) and whether each alias is usable. Both load .env first, since
 * connection values refer to the environment; neither writes anything to disk. */
#include "cli.h"
#include "drivers/graphql.h"
#include "drivers/http.h"
#include "drivers/mysqlconn.h"
#include "drivers/pgconn.h"
#include "files.h"
#include "connections.h"
#include "envfile.h"
#include "redact.h"
#include "registry.h"
#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Loads .env files, then the connections file. Returns 0, or the exit code of the error. */
static int load_all(struct cli_ctx *ctx, struct connections *c)
{
    struct err err = ERR_INIT;
    if (envfile_load_defaults(NULL, &err) != 0 || connections_load(c, NULL, &err) != 0)
        return cli_fail(ctx, &err, NULL);
    return EXIT_OK;
}

static const json_t *families_of(const struct connections *c)
{
    return json_object_get(c->doc.root, "connections");
}

static json_t *key_list(const json_t *o)
{
    json_t *a = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        json_array_append_new(a, json_string(key));
    }
    return a;
}

static void join_array(const json_t *a, struct strbuf *out)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        strbuf_addf(out, "%s%s", i ? ", " : "", json_string_value(v));
    }
}

/* ==== list ==== */

/* The last segment of every secrets / x-secret pointer of the family's components
 * ("<family>.*"), each once: component-specific secret names such as auth_username. */
static json_t *family_secret_names(const struct registry *reg, const char *family)
{
    static const char *const lists[] = { "secrets", "x-secret" };
    json_t *names = json_array();
    size_t flen = strlen(family);
    struct strbuf tok = STRBUF_INIT;
    for (size_t i = 0; i < reg->len; i++) {
        const struct component *comp = &reg->items[i];
        if (strncmp(comp->name, family, flen) != 0 || comp->name[flen] != '.')
            continue;
        for (size_t l = 0; l < sizeof(lists) / sizeof(*lists); l++) {
            size_t j;
            json_t *p;
            json_array_foreach(json_object_get(comp->doc.root, lists[l]), j, p)
            {
                const char *ptr = json_string_value(p);
                const char *last = ptr ? strrchr(ptr, '/') : NULL;
                if (!last || !last[1])
                    continue;
                jv_pointer_unescape(&tok, last + 1, strlen(last + 1));
                bool seen = false;
                size_t k;
                json_t *n;
                json_array_foreach(names, k, n)
                {
                    seen = seen || strcmp(json_string_value(n), strbuf_str(&tok)) == 0;
                }
                if (!seen)
                    json_array_append_new(names, json_string(strbuf_str(&tok)));
            }
        }
    }
    strbuf_release(&tok);
    return names;
}

/* "scheme://user:password@host" → "scheme://user:***@host": a URL is not a secret-named field,
 * but its password is a secret. Returns a new string, or NULL when s has no such password. */
static char *mask_url_password(const char *s)
{
    const char *sep = strstr(s, "://");
    if (!sep)
        return NULL;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', alen);
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon || colon + 1 == at)
        return NULL;
    /* A password that is a variable reference holds no secret and says where it comes from;
     * one with a fallback may hold one. */
    char *pw = xstrndup(colon + 1, (size_t)(at - colon - 1));
    bool keep = strcmp(pw, REDACT_MASK) == 0 || (redact_is_env_ref(pw) && !strstr(pw, ":-"));
    free(pw);
    if (keep)
        return NULL;
    struct strbuf sb = STRBUF_INIT;
    strbuf_add(&sb, s, (size_t)(colon + 1 - s));
    strbuf_adds(&sb, REDACT_MASK);
    strbuf_adds(&sb, at);
    return strbuf_detach(&sb, NULL);
}

/* Masks URL passwords in every string of v, in place. */
static void mask_urls(json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            char *m = json_is_string(item) ? mask_url_password(json_string_value(item)) : NULL;
            if (m)
                json_object_set_new(v, key, json_string(m));
            else
                mask_urls(item);
            free(m);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            char *m = json_is_string(item) ? mask_url_password(json_string_value(item)) : NULL;
            if (m)
                json_array_set_new(v, i, json_string(m));
            else
                mask_urls(item);
            free(m);
        }
    }
}

/* The fields as the file has them, secrets masked, without `default`. New reference. */
static json_t *display_config(const json_t *fields, const json_t *extra)
{
    size_t n = json_array_size(extra);
    const char **names = xcalloc(n + 1, sizeof(*names));
    for (size_t i = 0; i < n; i++)
        names[i] = json_string_value(json_array_get(extra, i));
    json_t *copy = json_deep_copy(fields);
    json_object_del(copy, "default");
    json_t *masked = redact_mask_secrets(copy, names);
    mask_urls(masked);
    json_decref(copy);
    free(names);
    return masked;
}

static bool is_secret(const char *key, const json_t *extra)
{
    if (redact_is_secret_name(key))
        return true;
    size_t i;
    json_t *n;
    json_array_foreach(extra, i, n)
    {
        if (strcasecmp(json_string_value(n), key) == 0)
            return true;
    }
    return false;
}

/* Appends the text of a scalar field of the (masked) config; false when it is absent or not a
 * scalar. */
static bool add_field(struct strbuf *out, const json_t *config, const char *key)
{
    const json_t *v = json_object_get(config, key);
    if (json_is_string(v))
        strbuf_adds(out, json_string_value(v));
    else if (json_is_number(v) || json_is_boolean(v))
        jv_scalar(v, out);
    else
        return false;
    return true;
}

/* A short description of where the connection points, built from the masked config and never
 * from a secret-named field: user@host:port/db for databases, else url, path or base_dir, else
 * the first two other fields. */
static void connection_info(const json_t *config, const json_t *extra, struct strbuf *out)
{
    static const char *const db_keys[] = { "host", "user", "port", "database", "dbname" };
    static const char *const place_keys[] = { "url", "path", "base_dir", "endpoint" };
    bool db = false;
    for (size_t i = 0; i < sizeof(db_keys) / sizeof(*db_keys); i++)
        db = db || json_object_get(config, db_keys[i]);
    if (db) {
        size_t mark = out->len;
        if (add_field(out, config, "user"))
            strbuf_addch(out, '@');
        if (!add_field(out, config, "host"))
            strbuf_adds(out, "(no host)");
        mark = out->len;
        strbuf_addch(out, ':');
        if (!add_field(out, config, "port"))
            strbuf_truncate(out, mark);
        mark = out->len;
        strbuf_addch(out, '/');
        if (!add_field(out, config, "database") && !add_field(out, config, "dbname"))
            strbuf_truncate(out, mark);
        return;
    }
    for (size_t i = 0; i < sizeof(place_keys) / sizeof(*place_keys); i++)
        if (add_field(out, config, place_keys[i]))
            return;
    int shown = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)config, key, v)
    {
        if (shown == 2 || is_secret(key, extra) || !(json_is_string(v) || json_is_number(v)))
            continue;
        strbuf_addf(out, "%s%s=", shown ? ", " : "", key);
        add_field(out, config, key);
        shown++;
    }
    if (!shown)
        strbuf_adds(out, "-");
}

static json_t *list_json(const struct connections *c, const struct registry *reg)
{
    json_t *out = json_object();
    const char *family;
    json_t *aliases;
    json_object_foreach((json_t *)families_of(c), family, aliases)
    {
        json_t *extra = family_secret_names(reg, family);
        const char *def = connections_default_alias(c, family);
        json_t *fam = json_object();
        const char *alias;
        json_t *fields;
        json_object_foreach(aliases, alias, fields)
        {
            json_t *names = json_array();
            connections_env_names(fields, names);
            json_t *env = json_object();
            size_t i;
            json_t *n;
            json_array_foreach(names, i, n)
            {
                json_object_set_new(env, json_string_value(n),
                                    json_boolean(getenv(json_string_value(n)) != NULL));
            }
            json_decref(names);
            json_object_set_new(fam, alias,
                                json_pack("{s:b, s:o, s:o}", "is_default",
                                          def && strcmp(def, alias) == 0, "env_vars", env, "config",
                                          display_config(fields, extra)));
        }
        json_decref(extra);
        json_object_set_new(out, family, fam);
    }
    return out;
}

static void list_text(const json_t *conns, const struct connections *c, const struct registry *reg)
{
    printf("connections file: %s\n", c->path);
    if (!json_object_size(conns)) {
        printf("\nno connections defined\n");
        return;
    }
    const char *family;
    json_t *aliases;
    json_object_foreach((json_t *)conns, family, aliases)
    {
        json_t *extra = family_secret_names(reg, family);
        printf("\n%s\n", family);
        if (!json_object_size(aliases)) {
            printf("  (no aliases)\n");
            json_decref(extra);
            continue;
        }
        /* Two passes: the column widths, then the rows. */
        int wa = (int)strlen("ALIAS"), wi = (int)strlen("CONNECTION");
        json_t *infos = json_object();
        const char *alias;
        json_t *a;
        json_object_foreach(aliases, alias, a)
        {
            struct strbuf info = STRBUF_INIT;
            connection_info(json_object_get(a, "config"), extra, &info);
            if ((int)strlen(alias) > wa)
                wa = (int)strlen(alias);
            if ((int)info.len > wi)
                wi = (int)info.len;
            json_object_set_new(infos, alias, json_string(strbuf_str(&info)));
            strbuf_release(&info);
        }
        printf("  %-*s  %-7s  %-*s  %s\n", wa, "ALIAS", "DEFAULT", wi, "CONNECTION", "ENV");
        json_object_foreach(aliases, alias, a)
        {
            struct strbuf env = STRBUF_INIT;
            const char *var;
            json_t *set;
            json_object_foreach(json_object_get(a, "env_vars"), var, set)
            {
                strbuf_addf(&env, "%s%s (%s)", env.len ? ", " : "", var,
                            json_is_true(set) ? "set" : "unset");
            }
            printf("  %-*s  %-7s  %-*s  %s\n", wa, alias,
                   json_is_true(json_object_get(a, "is_default")) ? "*" : "", wi,
                   json_string_value(json_object_get(infos, alias)), env.len ? env.buf : "-");
            strbuf_release(&env);
        }
        json_decref(infos);
        json_decref(extra);
    }
}

static int list_run(struct cli_ctx *ctx, const void *opts, int argc, char **argv)
{
    (void)opts, (void)argc, (void)argv;
    struct connections c = CONNECTIONS_INIT;
    int rc = load_all(ctx, &c);
    if (rc)
        return rc;
    if (!c.path) {
        if (ctx->json)
            cli_print_json(json_pack("{s:{}, s:n}", "connections", "file"));
        else
            printf("no connections file: osiris_connections.yaml was not found in "
                   "$OSIRIS_HOME, the current directory or its parent\n");
        return EXIT_OK;
    }
    struct registry reg;
    struct err err = ERR_INIT;
    if (registry_load(&reg, ctx->components_dir, &err) != 0) {
        connections_release(&c);
        return cli_fail(ctx, &err, NULL);
    }
    for (size_t i = 0; i < reg.nproblems; i++)
        cli_warn("%s (skipped)", reg.problems[i].message);
    json_t *conns = list_json(&c, &reg);
    if (ctx->json) {
        cli_print_json(json_pack("{s:o, s:s}", "connections", conns, "file", c.path));
    } else {
        list_text(conns, &c, &reg);
        json_decref(conns);
    }
    registry_release(&reg);
    connections_release(&c);
    return EXIT_OK;
}

static const struct cli_option no_options[] = { { 0 } };

const struct cli_command cmd_connections_list = {
    .name = "connections list",
    .summary = "List the connections of osiris_connections.yaml, secrets masked",
    .options = no_options,
    .run = list_run,
};

/* ==== doctor ==== */

struct doctor_opts {
    const char *family;
    const char *alias;
    const char *connection_id;
    long timeout; /* seconds per database check */
};

#define DOCTOR_TIMEOUT_S 5

struct check {
    const char *base_path; /* project root: relative paths resolve against it, as drivers do */
    const char *family;
    int timeout_s;        /* for the database families */
    const char *status;   /* success | failure | error | skipped */
    const char *category; /* config | permission | unsupported, or NULL */
    struct strbuf message;
};

static void check_set(struct check *ck, const char *status, const char *category, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void check_set(struct check *ck, const char *status, const char *category, const char *fmt,
                      ...)
{
    ck->status = status;
    ck->category = category;
    strbuf_reset(&ck->message);
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&ck->message, fmt, ap);
    va_end(ap);
}

/* A path field of the resolved connection with a leading ~ expanded (as DuckDB and the
 * filesystem drivers do); NULL (and ck set) when it is not a string. Owned. */
static char *path_field(const json_t *conn, const char *key, const char *fallback, const char *who,
                        struct check *ck)
{
    const json_t *v = json_object_get(conn, key);
    if (!v && fallback)
        return xstrdup(fallback);
    if (!json_is_string(v) || !*json_string_value(v)) {
        check_set(ck, "failure", "config", "%s has no '%s' (a non-empty string is needed)", who,
                  key);
        return NULL;
    }
    struct arena a = ARENA_INIT;
    const char *p = files_expand_tilde(&a, json_string_value(v));
    if (!p)
        p = json_string_value(v);
    /* Absolute paths and DuckDB's ":memory:" are used as they are. */
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    char *r = p[0] == '/' || p[0] == ':' || !ck->base_path
                  ? xstrdup(p)
                  : xstrdup(arena_printf(&a, "%s/%s", ck->base_path, p));
    arena_release(&a);
    return r;
}

static void doctor_duckdb(const json_t *conn, const char *who, struct check *ck)
{
    char *path = path_field(conn, "path", NULL, who, ck);
    if (!path)
        return;
    struct stat st;
    if (strcmp(path, ":memory:") == 0) {
        check_set(ck, "success", NULL, "In-memory database ready");
    } else if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            check_set(ck, "failure", "config", "%s exists but is not a regular file", path);
        else if (access(path, R_OK) != 0)
            check_set(ck, "failure", "permission", "Database file %s is not readable", path);
        else
            check_set(ck, "success", NULL, "Database file %s exists and is accessible", path);
    } else if (errno != ENOENT) {
        check_set(ck, "failure", errno == EACCES ? "permission" : "config", "cannot access %s: %s",
                  path, strerror(errno));
    } else {
        const char *slash = strrchr(path, '/');
        char *dir =
            slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
        if (stat(dir, &st) != 0)
            check_set(ck, "failure", errno == EACCES ? "permission" : "config",
                      "Directory %s does not exist; the database file %s cannot be created", dir,
                      path);
        else if (!S_ISDIR(st.st_mode))
            check_set(ck, "failure", "config", "%s is not a directory", dir);
        else if (access(dir, W_OK | X_OK) != 0)
            check_set(ck, "failure", "permission",
                      "Directory %s is not writable; the database cannot be created", dir);
        else
            check_set(ck, "success", NULL, "Directory %s is writable; the database will be created",
                      dir);
        free(dir);
    }
    free(path);
}

static void doctor_filesystem(const json_t *conn, const char *who, struct check *ck)
{
    char *dir = path_field(conn, "base_dir", ".", who, ck);
    if (!dir)
        return;
    struct stat st;
    if (stat(dir, &st) != 0)
        check_set(ck, "failure", errno == EACCES ? "permission" : "config",
                  "Directory %s does not exist", dir);
    else if (!S_ISDIR(st.st_mode))
        check_set(ck, "failure", "config", "%s is not a directory", dir);
    else if (access(dir, R_OK | W_OK | X_OK) != 0)
        check_set(ck, "failure", "permission", "Directory %s is not readable and writable", dir);
    else
        check_set(ck, "success", NULL, "Directory %s exists and is readable and writable", dir);
    free(dir);
}

static void doctor_mysql(const json_t *conn, const char *who, struct check *ck)
{
    (void)who; /* the drivers' messages name the server, never the user or password */
    struct mysqlconn_check r;
    mysqlconn_doctor(conn, (unsigned)ck->timeout_s, &r);
    check_set(ck, r.ok ? "success" : "failure", r.category, "%s", r.message);
}

static void doctor_postgres(const json_t *conn, const char *who, struct check *ck)
{
    (void)who;
    struct pgconn_doctor_result r;
    pgconn_doctor(conn, ck->family, ck->timeout_s, &r);
    check_set(ck, r.ok ? "success" : "failure", r.ok ? NULL : pgconn_category_name(r.category),
              "%s", r.message);
}

/* POSTs the HogQL query SELECT 1 to the project's query API (as posthog.extractor does; the
 * region, or custom_base_url for self_hosted, gives the base URL), once, within the timeout. */
static void doctor_posthog(const json_t *conn, const char *who, struct check *ck)
{
    static const char *const regions[] = { "us", "eu", "self_hosted" };
    static const char *const urls[] = { "https://us.posthog.com", "https://eu.posthog.com", NULL };
    const char *key = jv_str(conn, "api_key"), *region = jv_str(conn, "region");
    const char *base = jv_str(conn, "custom_base_url");
    const json_t *pid = json_object_get(conn, "project_id");
    char project[64];
    if (json_is_integer(pid))
        snprintf(project, sizeof(project), "%lld", (long long)json_integer_value(pid));
    else
        snprintf(project, sizeof(project), "%s", json_is_string(pid) ? json_string_value(pid) : "");
    size_t r = 0;
    while (region && r < 3 && strcmp(regions[r], region) != 0)
        r++;
    if (!key || !*key || !*project) {
        check_set(ck, "failure", "config", "%s needs api_key and project_id", who);
        return;
    }
    if (r == 3 || (r == 2 && (!base || !*base))) {
        check_set(ck, "failure", "config", "%s: %s", who,
                  r == 3 ? "region must be us, eu or self_hosted"
                         : "a self_hosted region requires custom_base_url");
        return;
    }
    if (strspn(project, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") !=
        strlen(project)) {
        check_set(ck, "failure", "config", "%s: project_id '%s' is not a project id", who, project);
        return;
    }
    if (r < 2)
        base = urls[r];
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    struct strbuf url = STRBUF_INIT, auth = STRBUF_INIT;
    strbuf_addf(&url, "%.*s/api/projects/%s/query/", (int)blen, base, project);
    strbuf_addf(&auth, "Bearer %s", key);
    const struct http_header headers[] = { { "Authorization", auth.buf },
                                           { "Content-Type", "application/json" } };
    static const char body[] = "{\"query\":{\"kind\":\"HogQLQuery\",\"query\":\"SELECT 1\"}}";
    const struct http_request rq = { .url = url.buf,
                                     .body = body,
                                     .body_len = sizeof(body) - 1,
                                     .headers = headers,
                                     .nheaders = 2,
                                     .timeout_s = ck->timeout_s,
                                     .max_body = 1 << 20 };
    struct http_response rs = { .body = STRBUF_INIT };
    struct err err = ERR_INIT;
    if (http_send(&rq, &rs, &err) != 0)
        check_set(ck, "failure", rs.category, "%s", err.msg);
    else if (rs.status == 401)
        check_set(ck, "failure", "auth", "PostHog rejected the api_key (HTTP 401) at %.*s",
                  (int)blen, base);
    else if (rs.status == 403)
        check_set(ck, "failure", "permission",
                  "the api_key may not query project %s (HTTP 403); it needs query:read", project);
    else if (rs.status == 404)
        check_set(ck, "failure", "config", "PostHog project %s not found at %.*s (HTTP 404)",
                  project, (int)blen, base);
    else if (rs.status < 200 || rs.status >= 300)
        check_set(ck, "failure", http_status_category(rs.status),
                  "PostHog answered HTTP %ld to SELECT 1 at %.*s", rs.status, (int)blen, base);
    else
        check_set(ck, "success", NULL, "PostHog project %s at %.*s answered SELECT 1", project,
                  (int)blen, base);
    strbuf_release(&rs.body);
    strbuf_release(&url);
    strbuf_release(&auth);
}

static void doctor_graphql(const json_t *conn, const char *who, struct check *ck)
{
    (void)who;
    struct graphql_check r = { .message = STRBUF_INIT };
    graphql_doctor(conn, ck->timeout_s, &r);
    check_set(ck, r.ok ? "success" : "failure", r.category, "%s", strbuf_str(&r.message));
    strbuf_release(&r.message);
}

/* The families osiris can check. */
static const struct {
    const char *family;
    void (*check)(const json_t *conn, const char *who, struct check *ck);
} doctors[] = {
    { "duckdb", doctor_duckdb },     { "filesystem", doctor_filesystem },
    { "mysql", doctor_mysql },       { "postgres", doctor_postgres },
    { "supabase", doctor_postgres }, { "posthog", doctor_posthog },
    { "graphql", doctor_graphql },
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static json_t *doctor_one(const struct connections *c, const char *base_path, const char *family,
                          const char *alias, int timeout_s)
{
    struct check ck = {
        .base_path = base_path, .family = family, .timeout_s = timeout_s, .message = STRBUF_INIT
    };
    struct err err = ERR_INIT;
    char who[300];
    snprintf(who, sizeof(who), "%s.%s", family, alias);
    double start = now_ms();
    json_t *conn = connections_resolve(c, family, alias, &err);
    if (!conn) {
        check_set(&ck, "error", "config", "%s", err.msg);
    } else {
        check_set(&ck, "skipped", "unsupported",
                  "no doctor for family '%s' (no component of osiris uses it)", family);
        for (size_t i = 0; i < sizeof(doctors) / sizeof(*doctors); i++)
            if (strcmp(doctors[i].family, family) == 0)
                doctors[i].check(conn, who, &ck);
    }
    double ms = now_ms() - start;
    json_t *r =
        json_pack("{s:s, s:f, s:s}", "status", ck.status, "latency_ms",
                  (double)(long long)(ms * 100 + 0.5) / 100, "message", strbuf_str(&ck.message));
    if (ck.category)
        json_object_set_new(r, "category", json_string(ck.category));
    json_decref(conn);
    strbuf_release(&ck.message);
    return r;
}

/* Applies --connection-id to family/alias; exit code on a bad or conflicting id, else 0. */
static int apply_connection_id(struct cli_ctx *ctx, const char *id, const char **family,
                               const char **alias, char **f, char **a)
{
    struct err err = ERR_INIT;
    struct strbuf ref = STRBUF_INIT;
    strbuf_addf(&ref, "%s%s", id[0] == '@' ? "" : "@", id);
    int rc = connections_parse_ref(strbuf_str(&ref), f, a, &err);
    strbuf_release(&ref);
    if (rc != 0) {
        err.code = ERR_USAGE;
        return cli_fail(ctx, &err, NULL);
    }
    if ((*family && strcmp(*family, *f) != 0) || (*alias && strcmp(*alias, *a) != 0))
        return cli_failf(ctx, ERR_USAGE,
                         "--connection-id '%s' contradicts --family/--alias; give one or the other",
                         id);
    *family = *f;
    *alias = *a;
    return 0;
}

/* Exit 2 naming what exists when a filter matches nothing; 0 when everything is known. */
static int check_filters(struct cli_ctx *ctx, const struct connections *c, const char *family,
                         const char *alias)
{
    const json_t *fams = families_of(c);
    const char *where = c->path ? c->path : "osiris_connections.yaml (not found)";
    struct err err = ERR_INIT;
    if (family && !connections_family(c, family)) {
        json_t *names = key_list(fams);
        struct strbuf sb = STRBUF_INIT;
        join_array(names, &sb);
        err_set(&err, ERR_NOTFOUND, "unknown family '%s' in %s; available families: %s", family,
                where, sb.len ? sb.buf : "(none)");
        strbuf_release(&sb);
        return cli_fail(ctx, &err, json_pack("{s:o}", "available_families", names));
    }
    if (!alias)
        return 0;
    json_t *names = json_array();
    bool found = false;
    const char *fam;
    json_t *aliases;
    json_object_foreach((json_t *)fams, fam, aliases)
    {
        if (family && strcmp(fam, family) != 0)
            continue;
        found = found || json_object_get(aliases, alias);
        const char *a;
        json_t *v;
        json_object_foreach(aliases, a, v)
        {
            json_array_append_new(names, family ? json_string(a) : json_sprintf("%s.%s", fam, a));
        }
    }
    if (found) {
        json_decref(names);
        return 0;
    }
    struct strbuf sb = STRBUF_INIT;
    join_array(names, &sb);
    if (family)
        err_set(&err, ERR_NOTFOUND, "unknown alias '%s' in family '%s'; available aliases: %s",
                alias, family, sb.len ? sb.buf : "(none)");
    else
        err_set(&err, ERR_NOTFOUND, "no family of %s has an alias '%s'; available: %s", where,
                alias, sb.len ? sb.buf : "(none)");
    strbuf_release(&sb);
    return cli_fail(ctx, &err, json_pack("{s:o}", "available_aliases", names));
}

static void doctor_text(const json_t *results)
{
    int width = 0;
    const char *family, *alias;
    json_t *fam, *r;
    json_object_foreach((json_t *)results, family, fam)
    {
        json_object_foreach(fam, alias, r)
        {
            int w = (int)(strlen(family) + 1 + strlen(alias));
            if (w > width)
                width = w;
        }
    }
    json_object_foreach((json_t *)results, family, fam)
    {
        json_object_foreach(fam, alias, r)
        {
            char who[300];
            snprintf(who, sizeof(who), "%s.%s", family, alias);
            printf("%-*s  %-7s  %s\n", width, who, json_string_value(json_object_get(r, "status")),
                   json_string_value(json_object_get(r, "message")));
        }
    }
}

static int doctor_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct doctor_opts *opts = optsp;
    (void)argc, (void)argv;
    const char *family = opts->family, *alias = opts->alias;
    char *f = NULL, *a = NULL;
    struct connections c = CONNECTIONS_INIT;
    struct project_config cfg;
    bool have_cfg = false;
    int rc = 0;
    if (opts->connection_id)
        rc = apply_connection_id(ctx, opts->connection_id, &family, &alias, &f, &a);
    if (!rc)
        rc = load_all(ctx, &c);
    struct err cerr = ERR_INIT;
    if (!rc && projconfig_load(&cfg, NULL, &cerr) != 0)
        rc = cli_fail(ctx, &cerr, NULL);
    else if (!rc)
        have_cfg = true;
    if (!rc)
        rc = check_filters(ctx, &c, family, alias);
    if (rc)
        goto done;

    json_t *results = json_object();
    size_t total = 0, failed = 0;
    const char *fam;
    json_t *aliases;
    json_object_foreach((json_t *)families_of(&c), fam, aliases)
    {
        if (family && strcmp(fam, family) != 0)
            continue;
        json_t *out = json_object();
        const char *name;
        json_t *v;
        json_object_foreach(aliases, name, v)
        {
            if (alias && strcmp(name, alias) != 0)
                continue;
            json_t *r = doctor_one(&c, cfg.base_path, fam, name,
                                   opts->timeout > 0 ? (int)opts->timeout : DOCTOR_TIMEOUT_S);
            const char *st = json_string_value(json_object_get(r, "status"));
            total++;
            failed += strcmp(st, "failure") == 0 || strcmp(st, "error") == 0;
            json_object_set_new(out, name, r);
        }
        if (json_object_size(out))
            json_object_set_new(results, fam, out);
        else
            json_decref(out);
    }
    if (ctx->json) {
        cli_print_json(json_pack("{s:o}", "results", results));
    } else {
        if (!c.path)
            printf("no connections file: osiris_connections.yaml was not found in "
                   "$OSIRIS_HOME, the current directory or its parent\n");
        else if (!total)
            printf("%s defines no connections\n", c.path);
        doctor_text(results);
        json_decref(results);
    }
    if (failed)
        fprintf(stderr, "osiris: %zu of %zu connection check%s failed\n", failed, total,
                total == 1 ? "" : "s");
    rc = failed ? EXIT_FAILED : EXIT_OK;
done:
    if (have_cfg)
        projconfig_release(&cfg);
    connections_release(&c);
    free(f);
    free(a);
    return rc;
}

static const struct cli_option doctor_options[] = {
    { "family", 0, CLI_STRING, offsetof(struct doctor_opts, family), "FAMILY",
      "only this family (mysql, duckdb, filesystem, ...)", NULL, 0, 0 },
    { "alias", 0, CLI_STRING, offsetof(struct doctor_opts, alias), "ALIAS",
      "only aliases with this name", NULL, 0, 0 },
    { "connection-id", 0, CLI_STRING, offsetof(struct doctor_opts, connection_id), "ID",
      "only the connection @FAMILY.ALIAS (sets both filters; the '@' is optional)", NULL, 0, 0 },
    { "timeout", 0, CLI_INT, offsetof(struct doctor_opts, timeout), "SECONDS",
      "give each database connection this long to answer (default 5)", NULL, 1, 300 },
    { 0 },
};

const struct cli_command cmd_connections_doctor = {
    .name = "connections doctor",
    .summary = "Check that each connection is usable",
    .options = doctor_options,
    .opts_size = sizeof(struct doctor_opts),
    .run = doctor_run,
};
