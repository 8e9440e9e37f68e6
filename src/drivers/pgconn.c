/* PostgreSQL connections (see pgconn.h): libpq parameters from an osiris connection, sessions in
 * transactions, and errors as one line with a category. Parameters go to PQconnectdbParams as
 * separate keyword/value pairs, so no value is ever spliced into a conninfo string. */
#include "pgconn.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "redact.h"
#include "strbuf.h"

/* ==== Categories ==== */

static const char *const category_names[] = {
    [PGCAT_NONE] = "",           [PGCAT_AUTH] = "auth",       [PGCAT_PERMISSION] = "permission",
    [PGCAT_NETWORK] = "network", [PGCAT_TIMEOUT] = "timeout", [PGCAT_CONFIG] = "config",
    [PGCAT_QUERY] = "query",     [PGCAT_DATA] = "data",       [PGCAT_UNKNOWN] = "unknown",
};

const char *pgconn_category_name(enum pgconn_category c)
{
    return (size_t)c < NELEM(category_names) ? category_names[c] : "unknown";
}

/* SQLSTATEs, most specific first: a 5-character entry matches exactly, a 2-character one the
 * class. The server sends one with every error of a query; connection failures carry none
 * (libpq keeps it private), so their text is matched below. */
static const struct {
    const char *state;
    enum pgconn_category cat;
} states[] = {
    { "42501", PGCAT_PERMISSION }, /* insufficient_privilege */
    { "57014", PGCAT_TIMEOUT },    /* query_canceled (statement_timeout) */
    { "55P03", PGCAT_TIMEOUT },    /* lock_not_available (lock_timeout) */
    { "25P03", PGCAT_TIMEOUT },    /* idle_in_transaction_session_timeout */
    { "3D000", PGCAT_CONFIG },     /* invalid_catalog_name: no such database */
    { "57P01", PGCAT_NETWORK },    /* admin_shutdown: pg_terminate_backend, server stop */
    { "57P02", PGCAT_NETWORK },    /* crash_shutdown */
    { "57P03", PGCAT_NETWORK },    /* cannot_connect_now: starting up */
    { "28", PGCAT_AUTH },          /* invalid_authorization_specification, invalid_password */
    { "08", PGCAT_NETWORK },       /* connection_exception */
    { "42", PGCAT_QUERY },         /* syntax_error_or_access_rule_violation */
    { "0A", PGCAT_QUERY },         /* feature_not_supported */
    { "3F", PGCAT_QUERY },         /* invalid_schema_name */
    { "25", PGCAT_QUERY },         /* invalid_transaction_state (read-only transaction) */
    { "22", PGCAT_DATA },          /* data_exception */
    { "23", PGCAT_DATA },          /* integrity_constraint_violation */
    { "21", PGCAT_DATA },          /* cardinality_violation (ON CONFLICT twice per row) */
};

/* Message texts of libpq and of the server's connection-time errors; both substrings (the
 * second may be NULL) must occur. */
static const struct {
    const char *text, *also;
    enum pgconn_category cat;
} texts[] = {
    { "password authentication failed", NULL, PGCAT_AUTH },
    { "no pg_hba.conf entry", NULL, PGCAT_AUTH },
    { "no password supplied", NULL, PGCAT_AUTH },
    { "authentication failed", NULL, PGCAT_AUTH },
    { "role \"", "does not exist", PGCAT_AUTH },
    { "database \"", "does not exist", PGCAT_CONFIG },
    { "permission denied", NULL, PGCAT_PERMISSION },
    { "timeout expired", NULL, PGCAT_TIMEOUT },
    { "statement timeout", NULL, PGCAT_TIMEOUT },
    { "Connection refused", NULL, PGCAT_NETWORK },
    { "could not translate host name", NULL, PGCAT_NETWORK },
    { "No route to host", NULL, PGCAT_NETWORK },
    { "Network is unreachable", NULL, PGCAT_NETWORK },
    { "Connection reset", NULL, PGCAT_NETWORK },
    { "server closed the connection", NULL, PGCAT_NETWORK },
    { "terminating connection", NULL, PGCAT_NETWORK },
    { "no connection to the server", NULL, PGCAT_NETWORK },
    { "could not connect", NULL, PGCAT_NETWORK },
    { "could not send data", NULL, PGCAT_NETWORK },
    { "could not receive data", NULL, PGCAT_NETWORK },
    { "SSL", NULL, PGCAT_NETWORK },
    { "the database system is", NULL, PGCAT_NETWORK }, /* starting up, shutting down */
};

static enum pgconn_category classify(const char *sqlstate, const char *text)
{
    if (sqlstate && *sqlstate) {
        for (size_t i = 0; i < NELEM(states); i++)
            if (strncmp(sqlstate, states[i].state, strlen(states[i].state)) == 0)
                return states[i].cat;
    }
    for (size_t i = 0; text && i < NELEM(texts); i++)
        if (strstr(text, texts[i].text) && (!texts[i].also || strstr(text, texts[i].also)))
            return texts[i].cat;
    return PGCAT_UNKNOWN;
}

/* The osiris error code for a category: lost or refused connections are the driver's
 * (connection.failed), timeouts their own, everything the server said about the SQL or the data
 * is a data error (extract.query_failed, write.failed). */
static int category_code(enum pgconn_category cat, bool connecting)
{
    if (cat == PGCAT_TIMEOUT)
        return ERR_TIMEOUT;
    if (connecting || cat == PGCAT_NETWORK || cat == PGCAT_AUTH)
        return ERR_DRIVER;
    return ERR_DATA;
}

/* ==== Messages ==== */

static const char *const line_prefixes[] = { "FATAL:  ", "ERROR:  ", "FATAL: ", "ERROR: " };

/* libpq's multi-line text as one line: each line trimmed, libpq's "connection to server at
 * ... failed: " and the severity dropped (the caller names the server), empty and repeated lines
 * left out, the rest joined with "; ". */
static void one_line(struct strbuf *out, const char *text)
{
    size_t start = out->len;
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        const char *s = text;
        text = nl ? nl + 1 : s + n;
        while (n && isspace((unsigned char)*s)) {
            s++;
            n--;
        }
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        if ((n > 20 && strncmp(s, "connection to server ", 21) == 0)) {
            const char *f = strstr(s, " failed: ");
            if (f && (size_t)(f - s) < n) {
                n -= (size_t)(f + 9 - s);
                s = f + 9;
            }
        }
        for (size_t i = 0; i < NELEM(line_prefixes); i++) {
            size_t pl = strlen(line_prefixes[i]);
            if (n >= pl && strncmp(s, line_prefixes[i], pl) == 0) {
                s += pl;
                n -= pl;
            }
        }
        if (!n)
            continue;
        /* Each address libpq tried repeats the same reason. */
        if (out->len > start && memmem(out->buf + start, out->len - start, s, n))
            continue;
        if (out->len > start)
            strbuf_adds(out, "; ");
        strbuf_add(out, s, n);
    }
    if (out->len == start)
        strbuf_adds(out, "unknown error");
}

/* Replaces every occurrence of the secrets (NULL-terminated) in sb by "***", however short
 * they are: a one-letter password garbles the message rather than showing in it. */
static void scrub(struct strbuf *sb, const char *const *secrets)
{
    size_t n = 0;
    while (secrets && secrets[n])
        n++;
    redact_scrub(sb, secrets, n);
}

/* Sets err to "<what> failed (<category>): <body>", scrubbed; sqlstate picks the category, else
 * the body's text. Returns -1. */
static int fail_with(struct err *err, bool connecting, const char *const *secrets, const char *what,
                     const char *sqlstate, const char *body, enum pgconn_category *cat_out)
{
    enum pgconn_category cat = classify(sqlstate, body);
    if (cat_out)
        *cat_out = cat;
    if (err->code)
        return -1;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s failed (%s): %s", what, pgconn_category_name(cat), body);
    scrub(&sb, secrets);
    err_set(err, category_code(cat, connecting), "%s", strbuf_str(&sb));
    if (sqlstate && strlen(sqlstate) == 5)
        memcpy(err->sqlstate, sqlstate, 6);
    strbuf_release(&sb);
    return -1;
}

int pgconn_fail(struct pgconn *c, const PGresult *res, const char *what, struct err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    struct strbuf body = STRBUF_INIT;
    if (primary) {
        one_line(&body, primary);
        const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
        const char *context = PQresultErrorField(res, PG_DIAG_CONTEXT);
        if (detail) {
            strbuf_adds(&body, " (");
            one_line(&body, detail);
            strbuf_adds(&body, ")");
        }
        /* COPY names the line and column of a value the server refused, in the context's
         * last line when a type's input function adds its own ("JSON data, line 1: ..."). */
        const char *copy = context;
        while (copy && strncmp(copy, "COPY ", 5) != 0) {
            copy = strchr(copy, '\n');
            if (copy)
                copy++;
        }
        if (copy) {
            strbuf_adds(&body, " at ");
            strbuf_add(&body, copy, strcspn(copy, "\n"));
        }
        if (hint) {
            strbuf_adds(&body, "; hint: ");
            one_line(&body, hint);
        }
    } else {
        one_line(&body, res ? PQresultErrorMessage(res) : NULL);
        if (!res || strcmp(strbuf_str(&body), "unknown error") == 0) {
            strbuf_reset(&body);
            one_line(&body, PQerrorMessage(c->conn));
        }
    }
    /* An error libpq made up (no SQLSTATE: the connection is gone): the server's own last word
     * says why, when it sent one. */
    if ((!state || !*state) && c->fatal[0]) {
        struct strbuf why = STRBUF_INIT;
        strbuf_addf(&why, "%s (the server closed the connection)", c->fatal);
        strbuf_release(&body);
        body = why;
        state = c->fatal_state;
    }
    int rc = fail_with(err, false, c->secrets, what, state, strbuf_str(&body), NULL);
    strbuf_release(&body);
    return rc;
}

/* ==== Connection parameters ==== */

/* Fields a step may set over its connection's: x-connection-fields of postgres.* and
 * supabase.* (the validator rejects the forbidden ones before a run). */
static const char *const step_fields[] = {
    "host", "port", "database", "user", "password", "sslmode", "url", "project_id",
};

#define MAX_PARAMS 24

struct params {
    const char *keys[MAX_PARAMS + 1]; /* NULL-terminated for PQconnectdbParams */
    const char *values[MAX_PARAMS + 1];
    size_t n;
};

static void param(struct params *p, const char *key, const char *value)
{
    if (value && p->n < MAX_PARAMS) {
        p->keys[p->n] = key;
        p->values[p->n] = value;
        p->n++;
    }
}

/* A field's text: the step's value when it sets one of step_fields, else the connection's.
 * Strings as they are, numbers in decimal (1.5 as "1.5"); absent, null and "" give NULL. */
static int field(struct arena *a, const struct pgconn_options *o, const char *name,
                 const char **out, struct err *err)
{
    const json_t *v = NULL;
    for (size_t i = 0; i < NELEM(step_fields); i++)
        if (strcmp(name, step_fields[i]) == 0)
            v = json_object_get(o->step, name);
    if (!v || json_is_null(v))
        v = json_object_get(o->connection, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        *out = *json_string_value(v) ? json_string_value(v) : NULL;
        return 0;
    }
    if (json_is_integer(v)) {
        *out = arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 0;
    }
    if (json_is_real(v)) {
        char buf[32];
        jv_format_real(json_real_value(v), buf);
        *out = arena_strdup(a, buf);
        return 0;
    }
    return err_set(err, ERR_INPUT, "%s connection field '%s' must be a string, not %s", o->family,
                   name, jv_type_name(v));
}

/* <ref> of https://<ref>.supabase.co[/...], or NULL for any other URL. */
static const char *supabase_ref(struct arena *a, const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return NULL;
    p += 3;
    size_t n = strcspn(p, "/:?#");
    static const char suffix[] = ".supabase.co";
    size_t sl = sizeof(suffix) - 1;
    if (n <= sl || strncasecmp(p + n - sl, suffix, sl) != 0)
        return NULL;
    for (size_t i = 0; i < n - sl; i++)
        if (!isalnum((unsigned char)p[i]) && p[i] != '-')
            return NULL;
    return arena_strndup(a, p, n - sl);
}

/* The password inside a DSN (key=value or URI), or NULL; in arena a. -1 when libpq cannot parse
 * the DSN: libpq's message is dropped, as it quotes the DSN's text around the fault, which can
 * be part of a password the scrubbing cannot know (`password=two words`). */
static int dsn_password(struct arena *a, const char *dsn, const char **pw)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &msg);
    *pw = NULL;
    PQfreemem(msg);
    if (!opts)
        return -1;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            *pw = arena_strdup(a, o->val);
    PQconninfoFree(opts);
    return 0;
}

/* Where the connection's location comes from: the fields a connection may hold. */
struct location {
    const char *dsn, *host, *port, *database, *user, *password, *sslmode, *url, *project_id;
    const char *statement_timeout;
};

/* Each field and where it goes; the first of several names for one place wins (pg_dsn over
 * dsn). */
static const struct {
    const char *name;
    size_t offset;
} location_fields[] = {
    { "pg_dsn", offsetof(struct location, dsn) },
    { "dsn", offsetof(struct location, dsn) },
    { "host", offsetof(struct location, host) },
    { "port", offsetof(struct location, port) },
    { "database", offsetof(struct location, database) },
    { "user", offsetof(struct location, user) },
    { "password", offsetof(struct location, password) },
    { "sslmode", offsetof(struct location, sslmode) },
    { "url", offsetof(struct location, url) },
    { "project_id", offsetof(struct location, project_id) },
    { "statement_timeout", offsetof(struct location, statement_timeout) },
};

static int read_location(struct arena *a, const struct pgconn_options *o, struct location *l,
                         struct err *err)
{
    memset(l, 0, sizeof(*l));
    for (size_t i = 0; i < NELEM(location_fields); i++) {
        const char **slot = (const char **)((char *)l + location_fields[i].offset);
        if (!*slot && field(a, o, location_fields[i].name, slot, err) != 0)
            return -1;
    }
    return 0;
}

/* Supabase's rule: without a DSN or host, the project's url (or project_id) plus the database
 * password locate the database; a REST-only connection (url + key) cannot. */
static int supabase_location(struct arena *a, struct location *l, struct err *err)
{
    const char *ref = l->url ? supabase_ref(a, l->url) : l->project_id;
    if (!l->url && !l->project_id)
        return err_set(err, ERR_INPUT,
                       "supabase connection names no database: give pg_dsn, or host, database, "
                       "user and password, or url (https://<ref>.supabase.co) with the database "
                       "password");
    if (!ref)
        return err_set(err, ERR_INPUT,
                       "supabase connection: url '%s' is not https://<ref>.supabase.co, so the "
                       "database host cannot be derived from it: give host (or pg_dsn)",
                       l->url);
    if (!l->password)
        return err_set(err, ERR_INPUT,
                       "supabase connection has no PostgreSQL access: url and key reach only the "
                       "REST API, but osiris connects to the project's PostgreSQL database; add "
                       "the database password (password: ${SUPABASE_DB_PASSWORD}), or pg_dsn, or "
                       "host, user and password");
    l->host = arena_printf(a, "db.%s.supabase.co", ref);
    l->port = l->port ? l->port : "5432";
    l->database = l->database ? l->database : "postgres";
    l->user = l->user ? l->user : "postgres";
    l->sslmode = l->sslmode ? l->sslmode : "require";
    return 0;
}

static int build_params(struct arena *a, const struct pgconn_options *o, struct location *l,
                        struct params *p, const char **secrets, struct err *err)
{
    size_t ns = 0;
    if (read_location(a, o, l, err) != 0)
        return -1;
    if (l->dsn) {
        const char *pw;
        /* The DSN before the passwords: scrubbed whole before the one inside it breaks it up. */
        secrets[ns++] = l->dsn;
        if (dsn_password(a, l->dsn, &pw) != 0)
            return err_set(err, ERR_INPUT,
                           "%s connection: its dsn could not be parsed as a libpq connection "
                           "string (name=value settings separated by spaces, or a postgresql:// "
                           "URI): check the setting names, and that values with spaces are in "
                           "single quotes",
                           o->family);
        if (pw)
            secrets[ns++] = pw;
    } else if (!l->host && strcmp(o->family, "supabase") == 0) {
        if (supabase_location(a, l, err) != 0)
            return -1;
    } else {
        if (!l->database)
            return err_set(err, ERR_INPUT,
                           "%s connection has no 'database' (give database, or a dsn)", o->family);
        if (!l->user)
            return err_set(err, ERR_INPUT, "%s connection has no 'user' (give user, or a dsn)",
                           o->family);
        if (!l->host)
            l->host = "localhost";
    }
    if (l->password)
        secrets[ns++] = l->password;
    if (l->port) {
        char *end;
        long v = strtol(l->port, &end, 10);
        if (*end || end == l->port || v < 1 || v > 65535)
            return err_set(err, ERR_INPUT, "%s connection: port '%s' is not a number 1-65535",
                           o->family, l->port);
    }
    /* With expand_dbname (given only with a DSN, so that a database field is only ever a
     * name), the first dbname holding a connection string is expanded in place; the parameters
     * after it override its parts. */
    if (l->dsn)
        param(p, "dbname", l->dsn);
    param(p, "host", l->host);
    param(p, "port", l->port);
    param(p, "dbname", l->database);
    param(p, "user", l->user);
    param(p, "password", l->password);
    param(p, "sslmode", l->sslmode);
    param(p, "client_encoding", "UTF8");
    param(p, "application_name", o->application_name ? o->application_name : "osiris");
    param(p, "connect_timeout",
          arena_printf(a, "%d", o->connect_timeout > 0 ? o->connect_timeout : 10));
    /* A server that vanishes mid-transfer is noticed within about a minute instead of never. */
    param(p, "keepalives", "1");
    param(p, "keepalives_idle", "30");
    param(p, "keepalives_interval", "10");
    param(p, "keepalives_count", "3");
    return 0;
}

static const char *connect_timeout_of(const struct params *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->keys[i], "connect_timeout") == 0)
            return p->values[i];
    return "?";
}

/* libpq prints notices to stderr by default, which is not ours to write to. Warnings and
 * notices are dropped (the drivers cause none worth a line); a FATAL is kept for the error that
 * follows it. */
static void on_notice(void *data, const PGresult *res)
{
    struct pgconn *c = data;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (!sev || !msg || (strcmp(sev, "FATAL") != 0 && strcmp(sev, "PANIC") != 0))
        return;
    snprintf(c->fatal, sizeof(c->fatal), "%s", msg);
    snprintf(c->fatal_state, sizeof(c->fatal_state), "%s", state ? state : "");
}

static void finish(void *data)
{
    PQfinish(data);
}

static const char *where_of(struct arena *a, PGconn *conn)
{
    const char *host = PQhost(conn), *port = PQport(conn);
    if (!host || !*host)
        host = "localhost";
    return port && *port ? arena_printf(a, "%s:%s", host, port) : arena_strdup(a, host);
}

/* A statement_timeout as PostgreSQL reads it: a plain number is seconds ("30", "1.5", ".5"),
 * which PostgreSQL would read as milliseconds, so it gets the unit s; anything else ("500ms",
 * "5min") goes as it is. */
static const char *timeout_setting(struct arena *a, const char *t)
{
    size_t n = strspn(t, "0123456789.");
    const char *dot = strchr(t, '.');
    bool plain = !t[n] && n > (dot ? 1u : 0u) && (!dot || !strchr(dot + 1, '.'));
    return plain ? arena_printf(a, "%ss", t) : t;
}

/* pgconn_open(), also telling the category of a failure. */
static struct pgconn *open_conn(struct arena *a, const struct pgconn_options *o,
                                enum pgconn_category *cat, struct err *err)
{
    struct pgconn *c = arena_calloc(a, 1, sizeof(*c));
    struct location l;
    struct params p = { .n = 0 };
    c->family = o->family ? o->family : "postgres";
    struct pgconn_options eff = *o;
    eff.family = c->family;
    *cat = PGCAT_NONE;
    if (build_params(a, &eff, &l, &p, c->secrets, err) != 0) {
        *cat = PGCAT_CONFIG;
        return NULL;
    }
    c->conn = PQconnectdbParams(p.keys, p.values, l.dsn != NULL);
    if (!c->conn) {
        err_set(err, ERR_INTERNAL, "libpq could not allocate a connection");
        *cat = PGCAT_UNKNOWN;
        return NULL;
    }
    arena_on_release(a, finish, c->conn);
    PQsetNoticeReceiver(c->conn, on_notice, c);
    c->where = where_of(a, c->conn);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        struct strbuf body = STRBUF_INIT;
        one_line(&body, PQerrorMessage(c->conn));
        if (classify(NULL, strbuf_str(&body)) == PGCAT_TIMEOUT)
            strbuf_addf(&body, " (connect_timeout: %s s)", connect_timeout_of(&p));
        fail_with(err, true, c->secrets,
                  arena_printf(a, "%s connection to %s", c->family, c->where), NULL,
                  strbuf_str(&body), cat);
        strbuf_release(&body);
        return NULL;
    }
    if (l.statement_timeout)
        c->statement_timeout = timeout_setting(a, l.statement_timeout);
    return c;
}

struct pgconn *pgconn_open(struct arena *a, const struct pgconn_options *o, struct err *err)
{
    enum pgconn_category cat;
    return open_conn(a, o, &cat, err);
}

struct pgconn *pgconn_open_step(struct driver_ctx *ctx, int connect_timeout, struct err *err)
{
    const char *dot = strchr(ctx->component, '.');
    struct pgconn_options o = {
        .connection = ctx->connection,
        .step = ctx->config,
        .family = dot ? arena_strndup(ctx->arena, ctx->component, (size_t)(dot - ctx->component))
                      : ctx->component,
        .application_name = arena_printf(ctx->arena, "osiris %s", ctx->step_id),
        .connect_timeout = connect_timeout,
    };
    return pgconn_open(ctx->arena, &o, err);
}

const char *pgconn_ident(struct arena *a, const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addch(&sb, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            strbuf_addch(&sb, '"');
        strbuf_addch(&sb, *p);
    }
    strbuf_addch(&sb, '"');
    return arena_take(a, &sb);
}

/* ==== Statements ==== */

PGresult *pgconn_query(struct pgconn *c, const char *what, const char *sql, int nparams,
                       const char *const *params, struct err *err)
{
    PGresult *res = PQexecParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    pgconn_fail(c, res, what, err);
    PQclear(res);
    return NULL;
}

static int64_t cmd_rows(PGresult *res)
{
    const char *n = PQcmdTuples(res);
    return n && *n ? strtoll(n, NULL, 10) : 0;
}

int pgconn_command(struct pgconn *c, const char *what, const char *sql, int nparams,
                   const char *const *params, int64_t *rows, struct err *err)
{
    PGresult *res = pgconn_query(c, what, sql, nparams, params, err);
    if (!res)
        return -1;
    if (rows)
        *rows = cmd_rows(res);
    PQclear(res);
    return 0;
}

/* Settings for every transaction: times in UTC and ISO form (DuckDB reads them), intervals in
 * the postgres style (DuckDB reads it once the '+' signs are dropped; it reads neither iso_8601
 * nor sql_standard), floats exact, bytea as hex. */
static const char session_settings[] = "SET LOCAL TimeZone = 'UTC'; "
                                       "SET LOCAL DateStyle = 'ISO, YMD'; "
                                       "SET LOCAL IntervalStyle = 'postgres'; "
                                       "SET LOCAL extra_float_digits = 3; "
                                       "SET LOCAL bytea_output = 'hex'";

int pgconn_begin(struct pgconn *c, bool read_only, struct err *err)
{
    struct arena a = ARENA_INIT;
    const char *sql =
        arena_printf(&a, "BEGIN%s; %s", read_only ? " READ ONLY" : "", session_settings);
    /* Several statements in one simple query: PQexec, not PQexecParams. */
    PGresult *res = PQexec(c->conn, sql);
    int rc = 0;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pgconn_fail(c, res, arena_printf(&a, "%s session setup", c->family), err);
    PQclear(res);
    if (rc == 0 && c->statement_timeout) {
        const char *params[] = { c->statement_timeout };
        rc = pgconn_command(c, arena_printf(&a, "%s statement_timeout", c->family),
                            "SELECT pg_catalog.set_config('statement_timeout', $1, true)", 1,
                            params, NULL, err);
    }
    arena_release(&a);
    return rc;
}

int pgconn_commit(struct pgconn *c, struct err *err)
{
    struct arena a = ARENA_INIT;
    int rc =
        pgconn_command(c, arena_printf(&a, "%s COMMIT", c->family), "COMMIT", 0, NULL, NULL, err);
    arena_release(&a);
    return rc;
}

int pgconn_finish_results(struct pgconn *c, const char *what, int64_t *rows, struct err *err)
{
    PGresult *res, *failed = NULL;
    bool lost = false;
    /* Every result is read before the first failure is reported: when the server ends the
     * connection, its reason arrives as a notice after libpq's own "server closed the
     * connection". A COPY IN the connection lost can report COPY IN again: end it, or libpq would
     * keep returning it; the bound guards against a result that never changes. */
    for (int guard = 0; guard < 64 && (res = PQgetResult(c->conn)) != NULL; guard++) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (rows)
                *rows = cmd_rows(res);
        } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
            if (st == PGRES_COPY_IN)
                PQputCopyEnd(c->conn, "osiris: write abandoned");
            lost = true;
            if (st == PGRES_COPY_OUT) {
                PQclear(res);
                break;
            }
        } else if (!failed) {
            failed = res;
            continue;
        }
        PQclear(res);
    }
    int rc = 0;
    if (failed || lost)
        rc = pgconn_fail(c, failed, what, err);
    PQclear(failed);
    return rc;
}

/* ==== connections doctor ==== */

void pgconn_doctor(const json_t *connection, const char *family, int timeout_s,
                   struct pgconn_doctor_result *out)
{
    memset(out, 0, sizeof(*out));
    struct arena a = ARENA_INIT;
    struct err err = ERR_INIT;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pgconn_options o = { .connection = connection,
                                .family = family,
                                .application_name = "osiris doctor",
                                .connect_timeout = timeout_s };
    enum pgconn_category cat;
    struct pgconn *c = open_conn(&a, &o, &cat, &err);
    if (c) {
        PGresult *res = PQexec(c->conn, "SELECT 1");
        if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
            const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
            cat = classify(state, res ? PQresultErrorMessage(res) : PQerrorMessage(c->conn));
            pgconn_fail(c, res, arena_printf(&a, "%s SELECT 1", c->family), &err);
        }
        PQclear(res);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    out->latency_ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (err.code) {
        out->category = cat == PGCAT_NONE ? PGCAT_UNKNOWN : cat;
        snprintf(out->message, sizeof(out->message), "%s", err.msg);
    } else {
        int v = PQserverVersion(c->conn);
        out->ok = true;
        snprintf(out->message, sizeof(out->message), "connected to %s (PostgreSQL %d.%d) as %s",
                 c->where, v / 10000, v % 10000, PQuser(c->conn));
    }
    arena_release(&a);
}
