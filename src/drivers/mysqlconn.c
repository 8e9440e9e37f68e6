/* MySQL/MariaDB connections (see mysqlconn.h). Errors are classified by one table of error
 * numbers; their text is the server's or the library's, minus the credentials it may contain. */
#include "mysqlconn.h"
#include "driver.h"
#include "typemap.h"
#include "redact.h"
#include "engine/session.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_HOST "localhost"
#define DEFAULT_PORT 3306

/* ==== Settings ==== */

/* The connection fields, in the order of fields[]. */
enum field { F_HOST, F_PORT, F_DATABASE, F_USER, F_PASSWORD };

/* Their names, and whether a step may override the connection's value (the specs'
 * x-connection-fields). */
static const struct {
    const char *name;
    bool step_wins;
} fields[] = {
    [F_HOST] = { "host", true },          [F_PORT] = { "port", true },
    [F_DATABASE] = { "database", false }, [F_USER] = { "user", false },
    [F_PASSWORD] = { "password", false },
};

static const json_t *field(const json_t *config, const json_t *connection, enum field i)
{
    return driver_conn_field(config, connection, fields[i].name, fields[i].step_wins);
}

static int string_field(const json_t *v, const char *name, const char *def, const char **out,
                        struct err *err)
{
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_string(v))
        return err_set(err, ERR_INPUT, "connection field '%s' must be a string, not %s", name,
                       jv_type_name(v));
    *out = json_string_value(v);
    return 0;
}

int mysqlconn_params_read(const json_t *config, const json_t *connection,
                          struct mysqlconn_params *p, struct err *err)
{
    memset(p, 0, sizeof(*p));
    const json_t *port = field(config, connection, F_PORT);
    if (string_field(field(config, connection, F_HOST), "host", DEFAULT_HOST, &p->host, err) != 0 ||
        string_field(field(config, connection, F_DATABASE), "database", NULL, &p->database, err) !=
            0 ||
        string_field(field(config, connection, F_USER), "user", NULL, &p->user, err) != 0 ||
        string_field(field(config, connection, F_PASSWORD), "password", "", &p->password, err) != 0)
        return -1;
    long long n = DEFAULT_PORT;
    if (json_is_integer(port)) {
        n = json_integer_value(port);
    } else if (json_is_string(port)) {
        char *end;
        errno = 0;
        n = strtoll(json_string_value(port), &end, 10);
        if (errno || end == json_string_value(port) || *end)
            n = -1;
    } else if (port) {
        n = -1;
    }
    if (n < 1 || n > 65535)
        return err_set(err, ERR_INPUT, "connection field 'port' must be a number from 1 to 65535");
    p->port = (unsigned)n;
    if (!*p->host)
        return err_set(err, ERR_INPUT, "connection field 'host' is empty");
    if (!p->database || !*p->database)
        return err_set(err, ERR_INPUT, "the connection has no 'database'");
    if (!p->user || !*p->user)
        return err_set(err, ERR_INPUT, "the connection has no 'user'");
    return 0;
}

/* ==== Errors ==== */

/* MySQL and MariaDB error numbers (server: mysqld_error.h, client: errmsg.h) by category;
 * anything not listed is "unknown". */
static const struct {
    unsigned code;
    const char *category;
} categories[] = {
    { 1045, "auth" },       /* ER_ACCESS_DENIED_ERROR */
    { 1698, "auth" },       /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */
    { 1251, "auth" },       /* ER_NOT_SUPPORTED_AUTH_MODE */
    { 2059, "auth" },       /* CR_AUTH_PLUGIN_CANNOT_LOAD */
    { 1044, "permission" }, /* ER_DBACCESS_DENIED_ERROR */
    { 1142, "permission" }, /* ER_TABLEACCESS_DENIED_ERROR */
    { 1143, "permission" }, /* ER_COLUMNACCESS_DENIED_ERROR */
    { 1227, "permission" }, /* ER_SPECIFIC_ACCESS_DENIED_ERROR */
    { 1370, "permission" }, /* ER_PROCACCESS_DENIED_ERROR */
    { 2002, "network" },    /* CR_CONNECTION_ERROR */
    { 2003, "network" },    /* CR_CONN_HOST_ERROR */
    { 2005, "network" },    /* CR_UNKNOWN_HOST */
    { 2006, "network" },    /* CR_SERVER_GONE_ERROR */
    { 2013, "network" },    /* CR_SERVER_LOST */
    { 2055, "network" },    /* CR_SERVER_LOST_EXTENDED */
    { 1053, "network" },    /* ER_SERVER_SHUTDOWN */
    { 1927, "network" },    /* ER_CONNECTION_KILLED (MariaDB) */
    { 1205, "timeout" },    /* ER_LOCK_WAIT_TIMEOUT */
    { 1969, "timeout" },    /* ER_STATEMENT_TIMEOUT (MariaDB max_statement_time) */
    { 3024, "timeout" },    /* ER_QUERY_TIMEOUT (MySQL max_execution_time) */
    { 4031, "timeout" },    /* ER_CLIENT_INTERACTION_TIMEOUT (MySQL) */
    { 1049, "config" },     /* ER_BAD_DB_ERROR */
    { 1146, "query" },      /* ER_NO_SUCH_TABLE */
    { 1054, "query" },      /* ER_BAD_FIELD_ERROR */
    { 1064, "query" },      /* ER_PARSE_ERROR */
    { 1149, "query" },      /* ER_SYNTAX_ERROR */
    { 1048, "data" },       /* ER_BAD_NULL_ERROR */
    { 1062, "data" },       /* ER_DUP_ENTRY */
    { 1451, "data" },       /* ER_ROW_IS_REFERENCED_2 */
    { 1452, "data" },       /* ER_NO_REFERENCED_ROW_2 */
    { 4025, "data" },       /* ER_CONSTRAINT_FAILED (MariaDB CHECK) */
    { 3819, "data" },       /* ER_CHECK_CONSTRAINT_VIOLATED (MySQL) */
    { 1261, "data" },       /* ER_WARN_TOO_FEW_RECORDS */
    { 1262, "data" },       /* ER_WARN_TOO_MANY_RECORDS */
    { 1263, "data" },       /* ER_WARN_NULL_TO_NOTNULL */
    { 1264, "data" },       /* ER_WARN_DATA_OUT_OF_RANGE */
    { 1265, "data" },       /* WARN_DATA_TRUNCATED */
    { 1292, "data" },       /* ER_TRUNCATED_WRONG_VALUE */
    { 1366, "data" },       /* ER_TRUNCATED_WRONG_VALUE_FOR_FIELD */
    { 1367, "data" },       /* ER_ILLEGAL_VALUE_FOR_TYPE */
    { 1406, "data" },       /* ER_DATA_TOO_LONG */
};

/* Every category, and the error code a failure of that kind gets: the runner names timeouts
 * runtime.timeout and failed connections connection.failed, the rest by the step's mode. */
static const struct {
    const char *name;
    int code;
} kinds[] = {
    { "auth", ERR_DRIVER },     { "network", ERR_DRIVER }, { "timeout", ERR_TIMEOUT },
    { "permission", ERR_DATA }, { "config", ERR_INPUT },   { "query", ERR_DATA },
    { "data", ERR_DATA },       { "unknown", ERR_DATA },
};

/* The entry of kinds[] for a category name (the first n bytes of name), or NULL. */
static int kind_of(const char *name, size_t n)
{
    for (size_t i = 0; i < NELEM(kinds); i++)
        if (strlen(kinds[i].name) == n && strncmp(kinds[i].name, name, n) == 0)
            return (int)i;
    return -1;
}

const char *mysqlconn_category(unsigned code, const char *msg, bool timed_out)
{
    const char *cat = "unknown";
    for (size_t i = 0; i < NELEM(categories); i++)
        if (categories[i].code == code)
            cat = categories[i].category;
    /* The library reports an expired connect or read timeout as a failed or lost connection;
     * only its message or the time the call took tells them apart. */
    bool says_timeout = msg && (strcasestr(msg, "timeout") || strcasestr(msg, "timed out"));
    if ((strcmp(cat, "network") == 0 || strcmp(cat, "unknown") == 0) && (timed_out || says_timeout))
        cat = "timeout";
    return cat;
}

/* Appends s[0..n) to out (size cap, used *len), truncating. */
void mysqlconn_safe_message(char *out, size_t n, const char *msg, const struct mysqlconn_params *p)
{
    struct strbuf sb = STRBUF_INIT;
    char userhost[512] = "";
    if (p && p->user && p->host)
        snprintf(userhost, sizeof(userhost), "%s@%s", p->user, p->host);
    size_t uhlen = strlen(userhost);
    /* The server's "(using password: YES)" reads as a secret to the run's redactor, which
     * would mask the rest of the line. */
    static const struct {
        const char *from, *to;
    } phrases[] = {
        { "(using password: YES)", "(with a password)" },
        { "(using password: NO)", "(without a password)" },
    };
    for (const char *s = msg; *s;) {
        size_t k = 0;
        while (k < NELEM(phrases) && strncmp(s, phrases[k].from, strlen(phrases[k].from)) != 0)
            k++;
        if (k < NELEM(phrases)) {
            strbuf_adds(&sb, phrases[k].to);
            s += strlen(phrases[k].from);
        } else if (s[0] == '\'' && s[1] == '@' && s[2] == '\'' && strchr(s + 3, '\'')) {
            /* 'user'@'host': keep 'user' (its closing quote), drop @'host' */
            strbuf_addch(&sb, '\'');
            s = strchr(s + 3, '\'') + 1;
        } else if (uhlen > 1 && strncmp(s, userhost, uhlen) == 0) {
            strbuf_addf(&sb, "'%s'", p->user);
            s += uhlen;
        } else {
            /* One line: messages quoting a multi-line query keep to it. */
            strbuf_addch(&sb, *s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s);
            s++;
        }
    }
    const char *pw = p ? p->password : NULL;
    redact_scrub(&sb, &pw, 1);
    snprintf(out, n, "%s", strbuf_str(&sb));
    strbuf_release(&sb);
}

/* "Can't connect to server on 'h' (111)" → "... (111: Connection refused)". */
static void explain_errno(char *msg, size_t cap)
{
    size_t len = strlen(msg);
    if (len < 3 || msg[len - 1] != ')')
        return;
    const char *open = strrchr(msg, '(');
    if (!open || open[1] == ')')
        return;
    for (const char *q = open + 1; q < msg + len - 1; q++)
        if (!isdigit((unsigned char)*q))
            return;
    int e = atoi(open + 1);
    if (e <= 0)
        return;
    /* With a connect timeout the library connects without blocking and reports the pending
     * connect (EINPROGRESS), not what became of it. */
    if (e == EINPROGRESS)
        snprintf(msg + len - 1, cap - (len - 1), ": refused or unreachable)");
    else
        snprintf(msg + len - 1, cap - (len - 1), ": %s)", strerror(e));
}

/* timeout_s: the limit the failed call had, when it ran out of it (else 0). err_code: the error
 * code to set, or 0 for the one of the category (kinds[]). */
static int fail_with(const struct mysqlconn_params *p, unsigned code, const char *raw,
                     unsigned timeout_s, int err_code, struct err *err)
{
    char safe[700];
    mysqlconn_safe_message(safe, sizeof(safe), raw && *raw ? raw : "unknown error", p);
    explain_errno(safe, sizeof(safe));
    const char *cat = mysqlconn_category(code, safe, timeout_s > 0);
    if (timeout_s && strcmp(cat, "timeout") == 0) {
        size_t len = strlen(safe);
        snprintf(safe + len, sizeof(safe) - len, " (no answer within %u s)", timeout_s);
    }
    if (err && !err->code) {
        err_set(err, err_code ? err_code : kinds[kind_of(cat, strlen(cat))].code, "%s: %s", cat,
                safe);
        err->sys = (int)code;
    }
    return -1;
}

/* timeout_s when a call that started at started_ms used up that timeout, else 0. */
static unsigned ran_out(uint64_t started_ms, unsigned timeout_s)
{
    /* A little slack: the library's clock and ours do not start at the same instant. */
    bool out = timeout_s && session_clock_ms() - started_ms + 250 >= (uint64_t)timeout_s * 1000;
    return out ? timeout_s : 0;
}

/* The error that fail_with() just set gets the SQLSTATE too, when there is one. */
static void set_sqlstate(const char *sqlstate, bool was_set, struct err *err)
{
    if (err && !was_set && sqlstate && strlen(sqlstate) == 5 && strcmp(sqlstate, "00000") != 0)
        memcpy(err->sqlstate, sqlstate, 6);
}

int mysqlconn_fail(struct mysqlconn *c, uint64_t started_ms, unsigned timeout_s, struct err *err)
{
    bool was_set = err && err->code;
    fail_with(c->params, mysql_errno(c->mysql), mysql_error(c->mysql),
              ran_out(started_ms, timeout_s), 0, err);
    set_sqlstate(mysql_sqlstate(c->mysql), was_set, err);
    return -1;
}

int mysqlconn_fail_stmt(struct mysqlconn *c, MYSQL_STMT *stmt, uint64_t started_ms,
                        unsigned timeout_s, struct err *err)
{
    /* A connection lost while rows stream is the connection's error, not the statement's. */
    if (mysql_stmt_errno(stmt) == 0)
        return mysqlconn_fail(c, started_ms, timeout_s, err);
    bool was_set = err && err->code;
    fail_with(c->params, mysql_stmt_errno(stmt), mysql_stmt_error(stmt),
              ran_out(started_ms, timeout_s), 0, err);
    set_sqlstate(mysql_stmt_sqlstate(stmt), was_set, err);
    return -1;
}

/* ==== Connections ==== */

static void close_conn(void *data)
{
    mysql_close(data);
}

/* A copy of p in arena a, strings included. */
static const struct mysqlconn_params *params_copy(struct arena *a, const struct mysqlconn_params *p)
{
    struct mysqlconn_params *q = arena_alloc(a, sizeof(*q));
    *q = *p;
    q->host = p->host ? arena_strdup(a, p->host) : NULL;
    q->database = p->database ? arena_strdup(a, p->database) : NULL;
    q->user = p->user ? arena_strdup(a, p->user) : NULL;
    q->password = p->password ? arena_strdup(a, p->password) : NULL;
    return q;
}

struct mysqlconn *mysqlconn_open(struct arena *a, const struct mysqlconn_params *params,
                                 struct err *err)
{
    MYSQL *m = mysql_init(NULL);
    if (!m)
        abort(); /* mysql_init fails only when out of memory */
    arena_on_release(a, close_conn, m);
    struct mysqlconn *c = arena_calloc(a, 1, sizeof(*c));
    const struct mysqlconn_params *p = params_copy(a, params);
    c->mysql = m;
    c->params = p;
    /* TCP even for "localhost" (which libmariadb would take for the Unix socket), so `port` is
     * honoured and the same settings reach the same server from anywhere. */
    unsigned proto = MYSQL_PROTOCOL_TCP, local = p->local_infile ? 1 : 0;
    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &proto);
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &p->connect_timeout);
    if (p->read_timeout)
        mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &p->read_timeout);
    if (p->write_timeout)
        mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &p->write_timeout);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* TIMESTAMP values are read and written in UTC, whatever the server's time zone. */
    mysql_optionsv(m, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
    mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &local);
    uint64_t t0 = session_clock_ms();
    if (!mysql_real_connect(m, p->host, p->user, p->password, p->database, p->port, NULL, 0)) {
        /* Whatever the cause, the step could not connect: ERR_DRIVER. */
        fail_with(p, mysql_errno(m), mysql_error(m), ran_out(t0, p->connect_timeout), ERR_DRIVER,
                  err);
        return NULL;
    }
    return c;
}

int mysqlconn_exec(struct mysqlconn *c, const char *sql, struct err *err)
{
    uint64_t t0 = session_clock_ms();
    if (mysql_real_query(c->mysql, sql, strlen(sql)) != 0)
        return mysqlconn_fail(c, t0, c->params->read_timeout, err);
    /* A statement may still answer with rows (SHOW ..., a SELECT by mistake): drain them. */
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (res)
        mysql_free_result(res);
    else if (mysql_errno(c->mysql))
        return mysqlconn_fail(c, t0, c->params->read_timeout, err);
    return 0;
}

int mysqlconn_query(struct mysqlconn *c, const char *sql, struct arena *a,
                    struct mysqlconn_rows *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    uint64_t t0 = session_clock_ms();
    if (mysql_real_query(c->mysql, sql, strlen(sql)) != 0)
        return mysqlconn_fail(c, t0, c->params->read_timeout, err);
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (!res)
        return mysql_errno(c->mysql) ? mysqlconn_fail(c, t0, c->params->read_timeout, err) : 0;
    out->ncols = mysql_num_fields(res);
    out->rows = arena_calloc(a, (size_t)mysql_num_rows(res) + 1, sizeof(*out->rows));
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL) {
        unsigned long *len = mysql_fetch_lengths(res);
        char **r = arena_calloc(a, out->ncols + 1, sizeof(*r));
        for (size_t i = 0; i < out->ncols; i++)
            r[i] = row[i] ? arena_strndup(a, row[i], len[i]) : NULL;
        out->rows[out->n++] = r;
    }
    mysql_free_result(res);
    return 0;
}

void mysqlconn_abort(struct mysqlconn *c)
{
    mariadb_cancel(c->mysql);
}

const char *mysqlconn_duckdb_type(struct arena *a, const MYSQL_FIELD *f)
{
    struct typemap_mysql_field tf = {
        .type = (int)f->type,
        .flags = f->flags,
        .length = f->length,
        .decimals = f->decimals,
        .charsetnr = f->charsetnr,
    };
    MARIADB_CONST_STRING attr;
    if (mariadb_field_attr(&attr, f, MARIADB_FIELD_ATTR_FORMAT_NAME) == 0 && attr.length)
        tf.format = arena_strndup(a, attr.str, attr.length);
    if (mariadb_field_attr(&attr, f, MARIADB_FIELD_ATTR_DATA_TYPE_NAME) == 0 && attr.length)
        tf.data_type = arena_strndup(a, attr.str, attr.length);
    return typemap_mysql_to_duckdb(a, &tf);
}

char *mysqlconn_ident(struct arena *a, const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addch(&sb, '`');
    for (const char *s = name; *s; s++) {
        if (*s == '`')
            strbuf_addch(&sb, '`');
        strbuf_addch(&sb, *s);
    }
    strbuf_addch(&sb, '`');
    return arena_take(a, &sb);
}

char *mysqlconn_literal(struct mysqlconn *c, struct arena *a, const char *s, size_t len)
{
    char *out = arena_alloc(a, 2 * len + 3);
    out[0] = '\'';
    unsigned long n = mysql_real_escape_string(c->mysql, out + 1, s, len);
    out[n + 1] = '\'';
    out[n + 2] = '\0';
    return out;
}

/* ==== Doctor ==== */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void mysqlconn_doctor(const json_t *connection, unsigned timeout_s, struct mysqlconn_check *out)
{
    memset(out, 0, sizeof(*out));
    struct arena a = ARENA_INIT;
    struct err err = ERR_INIT;
    struct mysqlconn_params p;
    double t0 = now_ms();
    if (mysqlconn_params_read(NULL, connection, &p, &err) != 0) {
        out->category = "config";
        snprintf(out->message, sizeof(out->message), "%s", err.msg);
        arena_release(&a);
        return;
    }
    p.connect_timeout = p.read_timeout = p.write_timeout = timeout_s ? timeout_s : 5;
    struct mysqlconn_rows rows;
    struct mysqlconn *c = mysqlconn_open(&a, &p, &err);
    if (c && mysqlconn_query(c, "SELECT 1", &a, &rows, &err) == 0) {
        out->ok = true;
        out->latency_ms = now_ms() - t0;
        snprintf(out->message, sizeof(out->message), "connected to %s in %.0f ms",
                 mysql_get_server_info(c->mysql), out->latency_ms);
    } else {
        out->latency_ms = now_ms() - t0;
        /* err is "<category>: <message>"; the category goes in its own field. */
        const char *colon = strstr(err.msg, ": ");
        int k = colon ? kind_of(err.msg, (size_t)(colon - err.msg)) : -1;
        out->category = kinds[k < 0 ? (int)NELEM(kinds) - 1 : k].name;
        snprintf(out->message, sizeof(out->message), "%s", colon ? colon + 2 : err.msg);
    }
    arena_release(&a);
}
