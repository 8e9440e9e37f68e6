/* mysql.extractor: streams a query's rows from MySQL/MariaDB into the step's table. The result is
 * read unbuffered (the server sends rows as we take them, nothing is held but the current row)
 * and appended to DuckDB, which is flushed every batch_size rows, so the step holds at most one
 * batch whatever the row count. Rows come as text (mysql_use_result), except for a result with a
 * FLOAT column: the text protocol prints FLOAT with 6 significant digits, so such a result is read
 * through the binary protocol (a prepared statement), FLOAT and DOUBLE as their bytes and every
 * other column as the same text. Column types come from typemap.c; the few values DuckDB cannot
 * take as text (BIT bytes, TINYINT(1) as BOOLEAN, zero dates) are converted here, each by one rule
 * of the conversion table. */
#include "driver.h"
#include "fsdriver.h"
#include "mysqlconn.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ==== Options ==== */

struct options {
    const char *query;       /* or NULL */
    const char *table;       /* or NULL */
    const json_t *columns;   /* array of strings, or NULL */
    int64_t limit;           /* 0 = all rows */
    int64_t offset;          /* 0 = none */
    int64_t batch_size;      /* rows appended between flushes of the appender */
    int64_t connect_timeout; /* seconds */
    int64_t read_timeout;    /* seconds to wait for each read (and write) */
};

static int read_options(const json_t *cfg, struct options *o, struct err *err)
{
    memset(o, 0, sizeof(*o));
    if (fsdriver_opt_string(cfg, "query", NULL, &o->query, err) != 0 ||
        fsdriver_opt_string(cfg, "table", NULL, &o->table, err) != 0 ||
        fsdriver_opt_int(cfg, "limit", 0, 1, &o->limit, err) != 0 ||
        fsdriver_opt_int(cfg, "offset", 0, 0, &o->offset, err) != 0 ||
        fsdriver_opt_int(cfg, "batch_size", 10000, 1, &o->batch_size, err) != 0 ||
        fsdriver_opt_int(cfg, "connect_timeout", 10, 1, &o->connect_timeout, err) != 0 ||
        fsdriver_opt_int(cfg, "read_timeout", 3600, 1, &o->read_timeout, err) != 0)
        return -1;
    const json_t *cols = json_object_get(cfg, "columns");
    if (cols && !json_is_null(cols)) {
        size_t i;
        const json_t *v;
        if (!json_is_array(cols) || json_array_size(cols) == 0)
            return err_set(err, ERR_INPUT, "option 'columns' must be a non-empty list of names");
        json_array_foreach(cols, i, v)
        {
            if (!json_is_string(v) || !*json_string_value(v))
                return err_set(err, ERR_INPUT, "option 'columns' must list column names");
        }
        o->columns = cols;
    }
    if (o->query && !*o->query)
        o->query = NULL;
    if (o->table && !*o->table)
        o->table = NULL;
    if (!o->query == !o->table)
        return err_set(err, ERR_INPUT, "give either 'table' or 'query'%s",
                       o->query ? ", not both" : "");
    if (o->query && (o->columns || o->limit || o->offset))
        return err_set(err, ERR_INPUT,
                       "'columns', 'limit' and 'offset' apply to 'table' only; with 'query', "
                       "write them in the SQL");
    if (o->read_timeout > 0xFFFFFF || o->connect_timeout > 0xFFFFFF)
        return err_set(err, ERR_INPUT, "timeouts must be at most %d seconds", 0xFFFFFF);
    return 0;
}

/* The SQL sent for the options: query as written, or a SELECT over table. */
static const char *select_sql(struct arena *a, const struct options *o)
{
    if (o->query)
        return o->query;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "SELECT ");
    if (o->columns) {
        size_t i;
        const json_t *v;
        json_array_foreach(o->columns, i, v)
        {
            strbuf_addf(&sb, "%s%s", i ? ", " : "", mysqlconn_ident(a, json_string_value(v)));
        }
    } else {
        strbuf_adds(&sb, "*");
    }
    strbuf_addf(&sb, " FROM %s", mysqlconn_ident(a, o->table));
    /* MySQL has OFFSET only after a LIMIT; this one is "no limit" (2^64 - 1). */
    if (o->limit)
        strbuf_addf(&sb, " LIMIT %lld", (long long)o->limit);
    else if (o->offset)
        strbuf_adds(&sb, " LIMIT 18446744073709551615");
    if (o->offset)
        strbuf_addf(&sb, " OFFSET %lld", (long long)o->offset);
    return arena_take(a, &sb);
}

/* ==== Conversions ==== */

/* How a column's text (or bytes) from the server becomes a DuckDB value. */
enum conv {
    CONV_TEXT,     /* as it is; DuckDB casts it to the column type */
    CONV_BLOB,     /* bytes, NULs included */
    CONV_BOOL,     /* TINYINT(1): 0 is false, 1 true, any other number fails */
    CONV_BIT_BOOL, /* BIT(1): one byte */
    CONV_BIT_UINT, /* BIT(n): big-endian bytes → unsigned number */
    CONV_DATE,     /* zero dates → NULL */
    CONV_DATETIME, /* zero dates → NULL */
    CONV_TSTZ,     /* zero dates → NULL; the UTC session's text, marked as UTC */
};

/* By the DuckDB type typemap.c chose; BIT columns are told apart by their MySQL type. */
static const struct {
    const char *duck;
    enum conv conv;
} convs[] = {
    { "BLOB", CONV_BLOB },          { "BOOLEAN", CONV_BOOL },     { "DATE", CONV_DATE },
    { "TIMESTAMP", CONV_DATETIME }, { "TIMESTAMPTZ", CONV_TSTZ },
};

static enum conv conv_for(const MYSQL_FIELD *f, const char *duck)
{
    if (f->type == MYSQL_TYPE_BIT)
        return strcmp(duck, "BOOLEAN") == 0 ? CONV_BIT_BOOL : CONV_BIT_UINT;
    for (size_t i = 0; i < sizeof(convs) / sizeof(*convs); i++)
        if (strcmp(convs[i].duck, duck) == 0)
            return convs[i].conv;
    return CONV_TEXT;
}

struct column {
    const char *name;   /* as in the result */
    enum conv conv;     /* how its values are converted */
    int64_t zero_dates; /* values turned into NULL by the zero-date policy */
};

/* A date MySQL can store and nobody else can: 0000-00-00, or a zero month or day ("2024-00-10",
 * allowed without NO_ZERO_IN_DATE). Text is "YYYY-MM-DD[ hh:mm:ss[.f]]". */
static bool zero_date(const char *s, unsigned long len)
{
    return len >= 10 && s[4] == '-' && s[7] == '-' &&
           ((s[5] == '0' && s[6] == '0') || (s[8] == '0' && s[9] == '0'));
}

static int append_value(struct dp_appender *ap, struct column *col, const char *s,
                        unsigned long len, struct err *err)
{
    char buf[64];
    switch (col->conv) {
    case CONV_TEXT:
        return dataplane_append_text(ap, s, len, err);
    case CONV_BLOB:
        return dataplane_append_blob(ap, s, len, err);
    case CONV_BOOL:
        /* MySQL's BOOLEAN is TINYINT(1), which holds -128..127: another number is no boolean,
         * and turning it into true would lose it. */
        if (len == 1 && (s[0] == '0' || s[0] == '1'))
            return dataplane_append_text(ap, s[0] == '1' ? "true" : "false", s[0] == '1' ? 4 : 5,
                                         err);
        return err_set(err, ERR_DATA,
                       "row %lld, column '%s' (BOOLEAN): TINYINT(1) value %.*s is neither 0 nor "
                       "1; read it as a number with CAST(%s AS SIGNED) in a query",
                       (long long)dataplane_appender_rows(ap) + 1, col->name, (int)len, s,
                       col->name);
    case CONV_BIT_BOOL:
    case CONV_BIT_UINT: {
        unsigned long long v = 0;
        for (unsigned long i = 0; i < len; i++)
            v = v << 8 | (unsigned char)s[i];
        if (col->conv == CONV_BIT_BOOL)
            return dataplane_append_text(ap, v ? "true" : "false", v ? 4 : 5, err);
        int n = snprintf(buf, sizeof(buf), "%llu", v);
        return dataplane_append_text(ap, buf, (size_t)n, err);
    }
    case CONV_DATE:
    case CONV_DATETIME:
    case CONV_TSTZ:
        if (zero_date(s, len)) {
            col->zero_dates++;
            return dataplane_append_null(ap, err);
        }
        if (col->conv != CONV_TSTZ || len + 4 > sizeof(buf))
            return dataplane_append_text(ap, s, len, err);
        memcpy(buf, s, len);
        memcpy(buf + len, "+00", 3);
        return dataplane_append_text(ap, buf, len + 3, err);
    }
    return 0;
}

/* ==== Reading ==== */

/* A column of the binary protocol's row: FLOAT and DOUBLE arrive as their bytes and are printed
 * here with the digits that bring the same value back; every other type as text (libmariadb
 * prints numbers and dates as the server does in the text protocol). */
struct cell {
    char *buf;         /* the text; heap, grown to the longest value */
    unsigned long cap; /* bytes allocated for buf */
    unsigned long len; /* the value's length (more than cap when it did not fit) */
    my_bool is_null;   /* SQL NULL */
    my_bool error;     /* truncated (libmariadb's flag; len tells by how much) */
    float f;           /* a FLOAT column's value */
    double d;          /* a DOUBLE column's value */
};

/* The result being read, by either protocol. */
struct reader {
    struct mysqlconn *conn; /* the step's connection */
    MYSQL_RES *res;         /* the text protocol's unbuffered result, or NULL */
    MYSQL_STMT *stmt;       /* the binary protocol's statement, or NULL */
    MYSQL_RES *meta;        /* its result metadata */
    MYSQL_BIND *bind;       /* its output buffers, one per column */
    struct cell *cells;     /* what they point to */
    unsigned n;             /* columns */
    MYSQL_FIELD *fields;    /* their metadata */
    const char **values;    /* the current row: each value, NULL for SQL NULL */
    unsigned long *lens;    /* and its length */
    bool finished;          /* every row was read: freeing the result sends nothing */
};

/* Freeing an unbuffered result reads its remaining rows first; after a failure the connection is
 * cancelled so that this costs nothing (the connection is closed next anyway). */
static void reader_release(void *data)
{
    struct reader *r = data;
    if (!r->finished)
        mysqlconn_abort(r->conn);
    if (r->res)
        mysql_free_result(r->res);
    if (r->meta)
        mysql_free_result(r->meta);
    if (r->stmt)
        mysql_stmt_close(r->stmt);
    for (unsigned i = 0; r->cells && i < r->n; i++)
        free(r->cells[i].buf);
    free(r->cells);
    free(r->bind);
    free(r->values);
    free(r->lens);
}

/* The statement that reads sql through the binary protocol when its result has a FLOAT column,
 * with its metadata in *meta; NULL for the text protocol: no FLOAT column, or a statement the
 * server does not prepare (which then runs, or fails, as text). */
static MYSQL_STMT *prepare_binary(struct mysqlconn *c, const char *sql, MYSQL_RES **meta)
{
    MYSQL_STMT *st = mysql_stmt_init(c->mysql);
    if (!st)
        abort(); /* mysql_stmt_init fails only when out of memory */
    *meta = NULL;
    if (mysql_stmt_prepare(st, sql, strlen(sql)) == 0 && mysql_stmt_param_count(st) == 0 &&
        (*meta = mysql_stmt_result_metadata(st)) != NULL) {
        unsigned n = mysql_num_fields(*meta);
        MYSQL_FIELD *f = mysql_fetch_fields(*meta);
        for (unsigned i = 0; i < n; i++)
            if (f[i].type == MYSQL_TYPE_FLOAT)
                return st;
        mysql_free_result(*meta);
        *meta = NULL;
    }
    mysql_stmt_close(st);
    return NULL;
}

/* Binds the statement's columns: FLOAT and DOUBLE to their C types, the rest to text buffers. */
static int bind_binary(struct reader *r)
{
    r->bind = xcalloc(r->n + 1, sizeof(*r->bind));
    r->cells = xcalloc(r->n + 1, sizeof(*r->cells));
    for (unsigned i = 0; i < r->n; i++) {
        MYSQL_BIND *b = &r->bind[i];
        struct cell *c = &r->cells[i];
        b->length = &c->len;
        b->is_null = &c->is_null;
        b->error = &c->error;
        if (r->fields[i].type == MYSQL_TYPE_FLOAT) {
            b->buffer_type = MYSQL_TYPE_FLOAT;
            b->buffer = &c->f;
        } else if (r->fields[i].type == MYSQL_TYPE_DOUBLE) {
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = &c->d;
        } else {
            c->cap = 256;
            c->buf = xmalloc(c->cap);
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = c->buf;
            b->buffer_length = c->cap;
        }
    }
    return mysql_stmt_bind_result(r->stmt, r->bind) == 0 ? 0 : -1;
}

/* The next row of the binary protocol into r->values: 1, 0 at the end, -1 when the server or
 * the connection failed (mysql_stmt_error()). */
static int next_binary(struct reader *r)
{
    int rc = mysql_stmt_fetch(r->stmt);
    if (rc == MYSQL_NO_DATA)
        return 0;
    if (rc != 0 && rc != MYSQL_DATA_TRUNCATED)
        return -1;
    bool rebind = false;
    for (unsigned i = 0; i < r->n; i++) {
        struct cell *c = &r->cells[i];
        MYSQL_BIND *b = &r->bind[i];
        r->values[i] = NULL;
        r->lens[i] = 0;
        if (c->is_null)
            continue;
        if (b->buffer_type == MYSQL_TYPE_FLOAT || b->buffer_type == MYSQL_TYPE_DOUBLE) {
            /* 9 and 17 significant digits give back the same float and double. */
            char num[40];
            int len = b->buffer_type == MYSQL_TYPE_FLOAT
                          ? snprintf(num, sizeof(num), "%.9g", c->f)
                          : snprintf(num, sizeof(num), "%.17g", c->d);
            if (!c->buf) {
                c->cap = sizeof(num);
                c->buf = xmalloc(c->cap);
            }
            memcpy(c->buf, num, (size_t)len);
            c->len = (unsigned long)len;
        } else if (c->len > c->cap) {
            /* Too long for the buffer: grow it and fetch the value again. */
            c->cap = c->len + 1;
            c->buf = xrealloc(c->buf, c->cap);
            b->buffer = c->buf;
            b->buffer_length = c->cap;
            if (mysql_stmt_fetch_column(r->stmt, b, i, 0) != 0)
                return -1;
            rebind = true;
        }
        r->values[i] = c->buf;
        r->lens[i] = c->len;
    }
    return rebind && mysql_stmt_bind_result(r->stmt, r->bind) != 0 ? -1 : 1;
}

/* The next row into r->values: 1, 0 at the end, -1 when the server or the connection failed. */
static int reader_next(struct reader *r)
{
    if (r->stmt)
        return next_binary(r);
    MYSQL_ROW row = mysql_fetch_row(r->res);
    if (!row)
        return mysql_errno(r->conn->mysql) ? -1 : 0;
    unsigned long *len = mysql_fetch_lengths(r->res);
    for (unsigned i = 0; i < r->n; i++) {
        r->values[i] = row[i];
        r->lens[i] = len[i];
    }
    return 1;
}

/* Sets err from the reader's failure (started_ms: when the call that failed began). */
static int reader_fail(struct reader *r, uint64_t started_ms, unsigned timeout_s, struct err *err)
{
    if (r->stmt)
        return mysqlconn_fail_stmt(r->conn, r->stmt, started_ms, timeout_s, err);
    return mysqlconn_fail(r->conn, started_ms, timeout_s, err);
}

/* Sends sql and opens its result (r is registered for release in arena a before the first row).
 * -1 with err set when the server refuses the query or it returns no rows. */
static int reader_open(struct reader *r, struct arena *a, struct mysqlconn *c, const char *sql,
                       unsigned timeout_s, struct err *err)
{
    r->conn = c;
    arena_on_release(a, reader_release, r);
    uint64_t t0 = session_clock_ms();
    r->stmt = prepare_binary(c, sql, &r->meta);
    if (r->stmt) {
        r->n = mysql_num_fields(r->meta);
        r->fields = mysql_fetch_fields(r->meta);
        if (mysql_stmt_execute(r->stmt) != 0 || bind_binary(r) != 0)
            return mysqlconn_fail_stmt(c, r->stmt, t0, timeout_s, err);
    } else {
        if (mysql_real_query(c->mysql, sql, strlen(sql)) != 0)
            return mysqlconn_fail(c, t0, timeout_s, err);
        r->res = mysql_use_result(c->mysql);
        if (!r->res) {
            r->finished = true; /* nothing to free, nothing to cancel */
            if (mysql_errno(c->mysql))
                return mysqlconn_fail(c, t0, timeout_s, err);
            return err_set(err, ERR_INPUT,
                           "the query returned no rows to extract (only statements that return "
                           "a result, such as SELECT, can be extracted)");
        }
        r->n = mysql_num_fields(r->res);
        r->fields = mysql_fetch_fields(r->res);
    }
    r->values = xcalloc(r->n + 1, sizeof(*r->values));
    r->lens = xcalloc(r->n + 1, sizeof(*r->lens));
    return 0;
}

/* The step's columns from the result's metadata; two names DuckDB cannot tell apart fail. */
static int plan_columns(struct arena *a, const struct reader *r, struct dp_columns *dc,
                        struct column **cols, struct err *err)
{
    unsigned n = r->n;
    MYSQL_FIELD *f = r->fields;
    dc->n = n;
    dc->names = arena_calloc(a, n + 1, sizeof(*dc->names));
    dc->types = arena_calloc(a, n + 1, sizeof(*dc->types));
    *cols = arena_calloc(a, n + 1, sizeof(**cols));
    for (unsigned i = 0; i < n; i++) {
        dc->names[i] = arena_strndup(a, f[i].name, f[i].name_length);
        dc->types[i] = mysqlconn_duckdb_type(a, &f[i]);
        (*cols)[i] = (struct column){ .name = dc->names[i], .conv = conv_for(&f[i], dc->types[i]) };
        for (unsigned k = 0; k < i; k++)
            if (strcasecmp(dc->names[k], dc->names[i]) == 0)
                return err_set(err, ERR_INPUT,
                               "the result has two columns named '%s'%s: give them different "
                               "names (AS ...)",
                               dc->names[i],
                               strcmp(dc->names[k], dc->names[i]) ? " (ignoring case)" : "");
    }
    return 0;
}

/* Zero-date policy, said once per column: one warning event and log line with the count. */
static void report_zero_dates(struct driver_ctx *ctx, const struct column *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!cols[i].zero_dates)
            continue;
        if (ctx->session) {
            session_event(ctx->session, "zero_dates_as_null",
                          json_pack("{s:s, s:s, s:I}", "step_id", ctx->step_id, "column",
                                    cols[i].name, "count", (json_int_t)cols[i].zero_dates));
            session_log(ctx->session, SESSION_WARNING,
                        "step '%s': column '%s': %lld zero date%s (0000-00-00 or a zero month "
                        "or day) read as NULL",
                        ctx->step_id, cols[i].name, (long long)cols[i].zero_dates,
                        cols[i].zero_dates == 1 ? "" : "s");
        }
    }
}

static int stream_rows(struct driver_ctx *ctx, struct reader *r, const struct options *o,
                       struct err *err)
{
    struct arena *a = ctx->arena;
    struct dp_columns dc;
    struct column *cols;
    struct dp_appender *ap = NULL;
    if (plan_columns(a, r, &dc, &cols, err) == 0)
        ap = dataplane_appender_open(ctx->dp, ctx->output, &dc, err);
    if (!ap) {
        err_prefix(err, "MySQL extraction failed for step %s: ", ctx->step_id);
        return -1;
    }
    int64_t rows = 0;
    uint64_t last = session_clock_ms(); /* when the last row arrived, to recognise a timeout */
    int rc = 0, more;
    while (rc == 0 && (more = reader_next(r)) == 1) {
        last = session_coarse_clock_ms();
        for (size_t i = 0; rc == 0 && i < dc.n; i++)
            rc = r->values[i] ? append_value(ap, &cols[i], r->values[i], r->lens[i], err)
                              : dataplane_append_null(ap, err);
        if (rc == 0)
            rc = dataplane_append_end_row(ap, err);
        if (rc == 0 && ++rows % o->batch_size == 0) {
            rc = dataplane_appender_flush(ap, err);
            if (ctx->session)
                session_log(ctx->session, SESSION_DEBUG, "step '%s': %lld rows", ctx->step_id,
                            (long long)rows);
        }
    }
    if (rc == 0 && more < 0) {
        rc = reader_fail(r, last, (unsigned)o->read_timeout, err);
        err_prefix(err, "MySQL read failed for step %s after %lld rows: ", ctx->step_id,
                   (long long)rows);
    } else {
        if (rc == 0) {
            r->finished = true;
            rc = dataplane_appender_flush(ap, err); /* the last rows' values are cast here */
        }
        if (rc != 0)
            err_prefix(err, "MySQL extraction failed for step %s: ", ctx->step_id);
    }
    if (dataplane_appender_close(ap, err) != 0)
        rc = -1;
    if (rc == 0) {
        ctx->rows_out = ctx->rows_in = rows;
        report_zero_dates(ctx, cols, dc.n);
    }
    return rc;
}

static int run(struct driver_ctx *ctx, struct err *err)
{
    struct arena *a = ctx->arena;
    struct options o;
    struct mysqlconn_params p;
    if (!ctx->output)
        return err_set(err, ERR_INTERNAL, "mysql_extractor runs in extract mode only");
    if (read_options(ctx->config, &o, err) != 0 ||
        mysqlconn_params_read(ctx->config, ctx->connection, &p, err) != 0)
        return -1;
    p.connect_timeout = (unsigned)o.connect_timeout;
    p.read_timeout = (unsigned)o.read_timeout;
    p.write_timeout = (unsigned)o.read_timeout;
    struct mysqlconn *c = mysqlconn_open(a, &p, err);
    if (!c) {
        err_prefix(err, "MySQL connection failed for step %s: ", ctx->step_id);
        return -1;
    }
    struct reader *r = arena_calloc(a, 1, sizeof(*r));
    if (reader_open(r, a, c, select_sql(a, &o), p.read_timeout, err) != 0) {
        err_prefix(err, "MySQL query failed for step %s: ", ctx->step_id);
        return -1;
    }
    return stream_rows(ctx, r, &o, err);
}

const struct driver driver_mysql_extractor = {
    .name = "mysql_extractor",
    .run = run,
};
