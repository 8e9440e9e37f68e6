/* Streaming rows into MySQL/MariaDB (see mysqlload.h). The input is read through one DuckDB
 * cursor whose columns are text; LOAD DATA gets it as tab-separated lines formatted here, the
 * INSERT fallback as escaped literals. Nothing is held but the current chunk (2,048 rows). */
#include "mysqlload.h"
#include "driver.h"
#include "typemap.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Columns ==== */

/* DuckDB expressions producing the text each type is sent as; %1$s is the quoted column. The
 * rest is CAST(%s AS VARCHAR), nested types their JSON text. */
static const struct {
    const char *duck;
    const char *expr;
} send_as[] = {
    { "BLOB", "hex(%1$s)" },
    { "BOOLEAN", "CAST(CAST(%1$s AS TINYINT) AS VARCHAR)" }, /* MySQL's booleans are 0 and 1 */
    /* The float's exact value: its shortest text ("3.4028235e+38" for the largest float) can be
     * a double beyond FLOAT's range, which the server refuses. */
    { "FLOAT", "CAST(CAST(%1$s AS DOUBLE) AS VARCHAR)" },
    /* TIMESTAMPTZ is UTC inside DuckDB and the session's time zone is UTC. */
    { "TIMESTAMP WITH TIME ZONE", "CAST(CAST(%1$s AS TIMESTAMP) AS VARCHAR)" },
    /* Nanoseconds are more than DATETIME(6) and TIME(6) hold: truncated to microseconds. */
    { "TIMESTAMP_NS", "CAST(CAST(%1$s AS TIMESTAMP) AS VARCHAR)" },
    { "TIME_NS", "CAST(CAST(%1$s AS TIME) AS VARCHAR)" },
    /* MySQL has no time with an offset: its UTC time of day (23:30-02 is 01:30; TIME minus an
     * interval wraps around midnight). */
    { "TIME WITH TIME ZONE",
      "CAST(CAST(%1$s AS TIME) - to_seconds(date_part('timezone', %1$s)) AS VARCHAR)" },
};

static const char *send_expr(struct arena *a, const struct mysqlload_column *c)
{
    const char *id = dataplane_ident(a, c->name);
    for (size_t i = 0; i < NELEM(send_as); i++)
        if (strcmp(send_as[i].duck, c->type) == 0)
            return arena_printf(a, send_as[i].expr, id);
    if (typemap_duckdb_is_nested(c->type))
        return arena_printf(a, "CAST(to_json(%s) AS VARCHAR)", id);
    return arena_printf(a, "CAST(%s AS VARCHAR)", id);
}

void mysqlload_column_init(struct mysqlload_column *c, struct arena *a, const char *name,
                           const char *type)
{
    c->name = name;
    c->type = type;
    c->target = mysqlconn_ident(a, name);
    c->kind = typemap_duckdb_is_binary(type) ? MYSQLLOAD_HEX : MYSQLLOAD_TEXT;
}

/* ==== Formatting ==== */

/* LOAD DATA's escapes (FIELDS ESCAPED BY '\'): the escape character, the separators, CR and NUL;
 * NULL is \N. */
static void put_field(struct strbuf *b, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc;
        switch (s[i]) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\0':
            esc = "\\0";
            break;
        default:
            continue;
        }
        strbuf_add(b, s + start, i - start);
        strbuf_add(b, esc, 2);
        start = i + 1;
    }
    strbuf_add(b, s + start, len - start);
}

/* An INSERT value: NULL, X'hex', CAST('n' AS UNSIGNED) for BIT columns, else a quoted literal
 * escaped for the connection (scratch holds the escaped bytes: at most 2 per byte). */
static void put_value(struct strbuf *b, MYSQL *m, const struct mysqlload_column *c, const char *s,
                      size_t len, struct strbuf *scratch)
{
    if (!s) {
        strbuf_adds(b, "NULL");
        return;
    }
    if (c->kind == MYSQLLOAD_HEX) {
        strbuf_adds(b, "X'");
        strbuf_add(b, s, len);
        strbuf_addch(b, '\'');
        return;
    }
    strbuf_reset(scratch);
    strbuf_grow(scratch, 2 * len + 1);
    unsigned long n = mysql_real_escape_string(m, scratch->buf, s, len);
    strbuf_adds(b, c->kind == MYSQLLOAD_BIT ? "CAST('" : "'");
    strbuf_add(b, scratch->buf, n);
    strbuf_adds(b, c->kind == MYSQLLOAD_BIT ? "' AS UNSIGNED)" : "'");
}

/* ==== The stream ==== */

/* The local-infile handler's state. */
struct feed {
    struct mysqlload *l;
    struct dp_cursor *cur; /* the input, a chunk at a time */
    struct strbuf buf;     /* the current chunk, formatted */
    size_t pos;            /* bytes of buf already handed to the server */
    bool eof;              /* the input is exhausted */
    bool failed;           /* the handler stopped because reading the input failed (in err) */
    struct err err;        /* why reading the input failed */
};

/* Formats the rows of the next chunk into f->buf: 1 = some, 0 = end, -1 = error in f->err. */
static int next_chunk(struct feed *f)
{
    const struct mysqlload *l = f->l;
    strbuf_reset(&f->buf);
    f->pos = 0;
    int rc = dataplane_cursor_next(f->cur, &f->err);
    if (rc <= 0)
        return rc;
    size_t rows = dataplane_cursor_rows(f->cur);
    for (size_t r = 0; r < rows; r++) {
        for (size_t i = 0; i < l->ncols; i++) {
            size_t len;
            const char *s = dataplane_cursor_text(f->cur, i, r, &len);
            if (i)
                strbuf_addch(&f->buf, '\t');
            if (s)
                put_field(&f->buf, s, len);
            else
                strbuf_add(&f->buf, "\\N", 2);
        }
        strbuf_addch(&f->buf, '\n');
    }
    f->l->rows_sent += (int64_t)rows;
    return 1;
}

/* Waits until the server can take more data, or has hung up. A server whose connection is
 * killed mid-load closes its side but leaves the socket half-open with a full window for
 * minutes; libmariadb, blocked in a write, would wait for write_timeout. Here the hang-up is
 * seen (POLLRDHUP; any byte from the server mid-load is an error packet, POLLIN) and the load
 * stops at once. 0 = go on, -1 = stop. */
static int wait_writable(struct feed *f)
{
    const struct mysqlconn *c = f->l->conn;
    struct pollfd p = { .fd = (int)mysql_get_socket(c->mysql),
                        .events = POLLOUT | POLLIN | POLLRDHUP };
    int ms = c->params->write_timeout ? (int)c->params->write_timeout * 1000 : -1;
    int n;
    do
        n = poll(&p, 1, ms);
    while (n < 0 && errno == EINTR);
    return n > 0 && !(p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) ? 0 : -1;
}

/* The local-infile handler (libmariadb calls it when the server asks for the "file"): whatever
 * name the server asks for, it gets this stream and nothing else of this machine. */
static int infile_init(void **ptr, const char *filename, void *userdata)
{
    (void)filename;
    *ptr = userdata;
    return 0;
}

static int infile_read(void *ptr, char *buf, unsigned int buf_len)
{
    struct feed *f = ptr;
    if (wait_writable(f) != 0)
        return -1;
    while (f->pos == f->buf.len) {
        if (f->eof)
            return 0;
        int rc = next_chunk(f);
        if (rc < 0) {
            f->failed = true;
            return -1;
        }
        if (rc == 0) {
            f->eof = true;
            return 0;
        }
    }
    size_t n = f->buf.len - f->pos;
    if (n > buf_len)
        n = buf_len;
    memcpy(buf, f->buf.buf + f->pos, n);
    f->pos += n;
    return (int)n;
}

static void infile_end(void *ptr)
{
    (void)ptr;
}

static int infile_error(void *ptr, char *msg, unsigned int len)
{
    struct feed *f = ptr;
    snprintf(msg, len, "%s", f->err.msg[0] ? f->err.msg : "the server stopped reading");
    return 2000; /* CR_UNKNOWN_ERROR */
}

/* ==== Statements ==== */

int mysqlload_check_warnings(struct mysqlconn *c, struct arena *a, const char *what,
                             struct err *err)
{
    if (mysql_warning_count(c->mysql) == 0)
        return 0;
    struct mysqlconn_rows r;
    if (mysqlconn_query(c, "SHOW WARNINGS LIMIT 20", a, &r, err) != 0)
        return -1;
    for (size_t i = 0; r.ncols >= 3 && i < r.n; i++) {
        unsigned code = r.rows[i][1] ? (unsigned)atoi(r.rows[i][1]) : 0;
        if (code == 1287) /* ER_WARN_DEPRECATED_SYNTAX */
            continue;
        char safe[600];
        mysqlconn_safe_message(safe, sizeof(safe), r.rows[i][2] ? r.rows[i][2] : "", c->params);
        err_set(err, ERR_DATA, "%s: %s (%s %u)", mysqlconn_category(code, safe, false), safe, what,
                code);
        err->sys = (int)code;
        return -1;
    }
    return 0;
}

/* LOAD DATA LOCAL INFILE; *refused when the server refuses local infile before reading a byte. */
static int load_data(struct mysqlload *l, struct feed *f, const char *table, bool *refused,
                     struct err *err)
{
    struct mysqlconn *c = l->conn;
    struct strbuf sql = STRBUF_INIT, set = STRBUF_INIT;
    strbuf_addf(&sql,
                "LOAD DATA LOCAL INFILE 'osiris-input' INTO TABLE %s CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY X'09' ESCAPED BY X'5C' LINES TERMINATED BY X'0A' (",
                table);
    for (size_t i = 0; i < l->ncols; i++) {
        const struct mysqlload_column *col = &l->cols[i];
        if (col->kind == MYSQLLOAD_TEXT) {
            strbuf_addf(&sql, "%s%s", i ? ", " : "", col->target);
            continue;
        }
        strbuf_addf(&sql, "%s@v%zu", i ? ", " : "", i);
        strbuf_addf(&set, "%s%s = %s(@v%zu%s", set.len ? ", " : " SET ", col->target,
                    col->kind == MYSQLLOAD_HEX ? "UNHEX" : "CAST", i,
                    col->kind == MYSQLLOAD_HEX ? ")" : " AS UNSIGNED)");
    }
    strbuf_adds(&sql, ")");
    strbuf_add(&sql, set.buf ? set.buf : "", set.len);
    strbuf_release(&set);
    const char *stmt = arena_take(l->arena, &sql);
    mysql_set_local_infile_handler(c->mysql, infile_init, infile_read, infile_end, infile_error, f);
    uint64_t t0 = session_clock_ms();
    int rc = mysql_real_query(c->mysql, stmt, strlen(stmt));
    mysql_set_local_infile_default(c->mysql);
    if (rc != 0) {
        unsigned code = mysql_errno(c->mysql);
        /* MariaDB 4166, MySQL 1148 / 3948: local infile is off; the INSERT path takes over
         * with the same cursor, untouched. */
        if ((code == 4166 || code == 1148 || code == 3948) && l->rows_sent == 0 && !f->eof) {
            *refused = true;
            return 0;
        }
        if (f->failed)
            return err_set(err, f->err.code, "reading the input failed: %s", f->err.msg);
        return mysqlconn_fail(c, t0, c->params->read_timeout, err);
    }
    l->stored = (int64_t)mysql_affected_rows(c->mysql);
    return mysqlload_check_warnings(c, l->arena, "LOAD DATA", err);
}

/* Sends head + values as one INSERT; l->stored grows by the rows the server inserted. */
static int flush_insert(struct mysqlload *l, const struct strbuf *head, const struct strbuf *values,
                        struct err *err)
{
    struct mysqlconn *c = l->conn;
    struct strbuf stmt = STRBUF_INIT;
    strbuf_add(&stmt, head->buf, head->len);
    strbuf_add(&stmt, values->buf, values->len);
    uint64_t t0 = session_clock_ms();
    int rc = mysql_real_query(c->mysql, stmt.buf, stmt.len);
    strbuf_release(&stmt);
    if (rc != 0)
        return mysqlconn_fail(c, t0, c->params->read_timeout, err);
    l->stored += (int64_t)mysql_affected_rows(c->mysql);
    return mysqlload_check_warnings(c, l->arena, "INSERT", err);
}

/* Multi-row INSERTs of batch_size rows, or fewer when max_allowed_packet demands. */
static int insert_rows(struct mysqlload *l, struct dp_cursor *cur, const char *table,
                       struct err *err)
{
    struct mysqlconn_rows r;
    if (mysqlconn_query(l->conn, "SELECT @@max_allowed_packet", l->arena, &r, err) != 0)
        return -1;
    long long max_packet = r.n && r.rows[0][0] ? atoll(r.rows[0][0]) : 4 << 20;
    size_t limit = max_packet > (2 << 20) ? (size_t)max_packet - (1 << 20) : (size_t)max_packet / 2;
    struct strbuf head = STRBUF_INIT, values = STRBUF_INIT, scratch = STRBUF_INIT;
    strbuf_addf(&head, "INSERT INTO %s (", table);
    for (size_t i = 0; i < l->ncols; i++)
        strbuf_addf(&head, "%s%s", i ? ", " : "", l->cols[i].target);
    strbuf_adds(&head, ") VALUES ");
    int64_t in_stmt = 0;
    int rc;
    while ((rc = dataplane_cursor_next(cur, err)) == 1) {
        size_t rows = dataplane_cursor_rows(cur);
        for (size_t row = 0; rc == 1 && row < rows; row++) {
            size_t mark = values.len;
            strbuf_adds(&values, in_stmt ? ", (" : "(");
            for (size_t i = 0; i < l->ncols; i++) {
                size_t len;
                const char *s = dataplane_cursor_text(cur, i, row, &len);
                if (i)
                    strbuf_addch(&values, ',');
                put_value(&values, l->conn->mysql, &l->cols[i], s, len, &scratch);
            }
            strbuf_addch(&values, ')');
            l->rows_sent++;
            /* A row that would take the statement past the packet limit starts the next one. */
            if (in_stmt && head.len + values.len > limit) {
                struct strbuf row_text = STRBUF_INIT;
                strbuf_add(&row_text, values.buf + mark + 2, values.len - mark - 2);
                strbuf_truncate(&values, mark);
                rc = flush_insert(l, &head, &values, err) == 0 ? 1 : -1;
                strbuf_reset(&values);
                strbuf_add(&values, row_text.buf, row_text.len);
                strbuf_release(&row_text);
                in_stmt = 0;
            }
            if (rc == 1 && ++in_stmt == l->batch_size) {
                rc = flush_insert(l, &head, &values, err) == 0 ? 1 : -1;
                strbuf_reset(&values);
                in_stmt = 0;
            }
        }
        if (rc < 0)
            break;
    }
    if (rc == 0 && in_stmt)
        rc = flush_insert(l, &head, &values, err);
    strbuf_release(&head);
    strbuf_release(&values);
    strbuf_release(&scratch);
    return rc < 0 ? -1 : 0;
}

int mysqlload_run(struct mysqlload *l, const char *table, struct err *err)
{
    struct strbuf sel = STRBUF_INIT;
    strbuf_adds(&sel, "SELECT ");
    for (size_t i = 0; i < l->ncols; i++)
        strbuf_addf(&sel, "%s%s", i ? ", " : "", send_expr(l->arena, &l->cols[i]));
    strbuf_addf(&sel, " FROM %s", l->relation);
    struct feed f = { .l = l };
    l->rows_sent = l->stored = 0;
    l->method = "load_data";
    f.cur = dataplane_cursor_open(l->dp, strbuf_str(&sel), err);
    strbuf_release(&sel);
    if (!f.cur)
        return -1;
    bool refused = false;
    int rc = load_data(l, &f, table, &refused, err);
    if (rc == 0 && refused) {
        l->method = "insert";
        if (l->session)
            session_log(l->session, SESSION_INFO,
                        "step '%s': the server refuses LOAD DATA LOCAL INFILE (local_infile is "
                        "off); writing with INSERT statements of up to %lld rows",
                        l->step_id, (long long)l->batch_size);
        rc = insert_rows(l, f.cur, table, err);
    }
    dataplane_cursor_close(f.cur);
    strbuf_release(&f.buf);
    if (rc == 0 && l->stored != l->rows_sent)
        rc = err_set(err, ERR_DATA, "the server stored %lld of the %lld rows sent",
                     (long long)l->stored, (long long)l->rows_sent);
    return rc;
}
