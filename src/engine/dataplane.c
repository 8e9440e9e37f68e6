/* The DuckDB data plane: a database file in the run's scratch directory, a memory limit and a
 * spill directory, SQL execution with DuckDB's messages as errors, and streaming cursors. */
#include "dataplane.h"
#include "files.h"
#include "xalloc.h"

#include <duckdb.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dataplane {
    duckdb_database db;
    duckdb_connection conn;
    char *dir; /* scratch directory, removed at close; owned */
};

/* DuckDB's messages span lines (a "LINE 1: ..." excerpt with a caret under it); an osiris error
 * is one line, so keep the message up to the excerpt and join its lines. */
static int duck_error(struct err *err, const char *msg)
{
    if (!msg || !*msg)
        return err_set(err, ERR_DATA, "query failed");
    struct strbuf sb = STRBUF_INIT;
    /* Cut before the SQL excerpt (a copy of our own statement with a caret under it). */
    const char *end = strstr(msg, "\n\nLINE ");
    size_t n = end ? (size_t)(end - msg) : strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (msg[i] == '\n') {
            if (sb.len && sb.buf[sb.len - 1] != ' ')
                strbuf_addch(&sb, ' ');
        } else {
            strbuf_addch(&sb, msg[i]);
        }
    }
    int rc = err_set(err, ERR_DATA, "%s", strbuf_str(&sb));
    strbuf_release(&sb);
    return rc;
}

struct dp_cursor {
    duckdb_prepared_statement stmt;
    duckdb_pending_result pending;
    duckdb_result result;
    bool have_result;
    duckdb_data_chunk chunk; /* the current chunk, or NULL */
    size_t ncols;
};

const char *dataplane_library_version(void)
{
    return duckdb_library_version();
}

struct dataplane *dataplane_open(const char *scratch_dir, const char *memory_limit, int threads,
                                 struct err *err)
{
    /* TIMESTAMPTZ values rendered as text follow the process time zone (this DuckDB build has no
     * ICU to set one per database): UTC makes outputs the same on every machine. osiris itself
     * only ever formats times in UTC, so nothing else changes. */
    setenv("TZ", "UTC", 1);
    tzset();
    if (files_mkdirs(scratch_dir, NULL, err) != 0)
        return NULL;
    struct dataplane *dp = xcalloc(1, sizeof(*dp));
    dp->dir = xstrdup(scratch_dir);
    char spill[4096], nthreads[32];
    snprintf(spill, sizeof(spill), "%s/spill", scratch_dir);
    snprintf(nthreads, sizeof(nthreads), "%d", threads);
    duckdb_config config;
    if (duckdb_create_config(&config) != DuckDBSuccess) {
        err_set(err, ERR_INTERNAL, "duckdb: cannot create a configuration");
        goto fail;
    }
    duckdb_set_config(config, "temp_directory", spill);
    if (memory_limit)
        duckdb_set_config(config, "memory_limit", memory_limit);
    if (threads > 0)
        duckdb_set_config(config, "threads", nthreads);
    char *msg = NULL;
    duckdb_state st = duckdb_open_ext(NULL, &dp->db, config, &msg); /* in memory */
    duckdb_destroy_config(&config);
    if (st != DuckDBSuccess) {
        err_set(err, ERR_INTERNAL, "duckdb: cannot open the run database: %s",
                msg ? msg : "unknown error");
        duckdb_free(msg);
        goto fail;
    }
    if (duckdb_connect(dp->db, &dp->conn) != DuckDBSuccess) {
        duckdb_close(&dp->db);
        err_set(err, ERR_INTERNAL, "duckdb: cannot connect to the run database");
        goto fail;
    }
    return dp;
fail:
    files_remove_tree(dp->dir, NULL);
    free(dp->dir);
    free(dp);
    return NULL;
}

void dataplane_close(struct dataplane *dp)
{
    if (!dp)
        return;
    duckdb_disconnect(&dp->conn);
    duckdb_close(&dp->db);
    files_remove_tree(dp->dir, NULL);
    free(dp->dir);
    free(dp);
}

int dataplane_exec(struct dataplane *dp, const char *sql, struct err *err)
{
    duckdb_result res;
    if (duckdb_query(dp->conn, sql, &res) != DuckDBSuccess) {
        duck_error(err, duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return -1;
    }
    duckdb_destroy_result(&res);
    return 0;
}

int dataplane_count(struct dataplane *dp, const char *relation, int64_t *rows, struct err *err)
{
    struct arena a = ARENA_INIT;
    duckdb_result res;
    char *sql = arena_printf(&a, "SELECT count(*) FROM %s", relation);
    int rc = 0;
    if (duckdb_query(dp->conn, sql, &res) != DuckDBSuccess) {
        rc = duck_error(err, duckdb_result_error(&res));
    } else {
        *rows = duckdb_value_int64(&res, 0, 0);
    }
    duckdb_destroy_result(&res);
    arena_release(&a);
    return rc;
}

/* ==== Cursors ==== */

struct dp_cursor *dataplane_cursor_open(struct dataplane *dp, const char *sql, struct err *err)
{
    struct dp_cursor *c = xcalloc(1, sizeof(*c));
    if (duckdb_prepare(dp->conn, sql, &c->stmt) != DuckDBSuccess) {
        duck_error(err, duckdb_prepare_error(c->stmt));
        goto fail;
    }
    /* Streaming: chunks are produced as they are fetched, never the whole result at once. */
    if (duckdb_pending_prepared_streaming(c->stmt, &c->pending) != DuckDBSuccess) {
        duck_error(err, duckdb_pending_error(c->pending));
        goto fail;
    }
    if (duckdb_execute_pending(c->pending, &c->result) != DuckDBSuccess) {
        duck_error(err, duckdb_result_error(&c->result));
        c->have_result = true;
        goto fail;
    }
    c->have_result = true;
    c->ncols = duckdb_column_count(&c->result);
    return c;
fail:
    dataplane_cursor_close(c);
    return NULL;
}

int dataplane_cursor_next(struct dp_cursor *c, struct err *err)
{
    if (c->chunk)
        duckdb_destroy_data_chunk(&c->chunk);
    c->chunk = duckdb_fetch_chunk(c->result);
    if (c->chunk)
        return 1;
    const char *m = duckdb_result_error(&c->result);
    return m && *m ? duck_error(err, m) : 0;
}

size_t dataplane_cursor_rows(const struct dp_cursor *c)
{
    return c->chunk ? (size_t)duckdb_data_chunk_get_size(c->chunk) : 0;
}

size_t dataplane_cursor_columns(const struct dp_cursor *c)
{
    return c->ncols;
}

const char *dataplane_cursor_text(const struct dp_cursor *c, size_t col, size_t row, size_t *len)
{
    duckdb_vector v = duckdb_data_chunk_get_vector(c->chunk, col);
    uint64_t *validity = duckdb_vector_get_validity(v);
    if (validity && !duckdb_validity_row_is_valid(validity, row)) {
        *len = 0;
        return NULL;
    }
    duckdb_string_t *s = (duckdb_string_t *)duckdb_vector_get_data(v) + row;
    *len = duckdb_string_t_length(*s);
    return duckdb_string_t_data(s);
}

void dataplane_cursor_close(struct dp_cursor *c)
{
    if (!c)
        return;
    if (c->chunk)
        duckdb_destroy_data_chunk(&c->chunk);
    if (c->have_result)
        duckdb_destroy_result(&c->result);
    duckdb_destroy_pending(&c->pending);
    duckdb_destroy_prepare(&c->stmt);
    free(c);
}

int dataplane_describe(struct dataplane *dp, const char *sql_or_relation, struct arena *a,
                       struct dp_columns *out, struct err *err)
{
    char *sql = arena_printf(a, "DESCRIBE SELECT * FROM %s", sql_or_relation);
    struct dp_cursor *c = dataplane_cursor_open(dp, sql, err);
    if (!c)
        return -1;
    size_t cap = 0;
    memset(out, 0, sizeof(*out));
    int rc;
    while ((rc = dataplane_cursor_next(c, err)) == 1) {
        for (size_t r = 0; r < dataplane_cursor_rows(c); r++) {
            size_t nlen, tlen;
            const char *name = dataplane_cursor_text(c, 0, r, &nlen);
            const char *type = dataplane_cursor_text(c, 1, r, &tlen);
            if (out->n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                const char **names = arena_alloc(a, ncap * sizeof(*names));
                const char **types = arena_alloc(a, ncap * sizeof(*types));
                if (out->n) {
                    memcpy(names, out->names, out->n * sizeof(*names));
                    memcpy(types, out->types, out->n * sizeof(*types));
                }
                out->names = names;
                out->types = types;
                cap = ncap;
            }
            out->names[out->n] = arena_strndup(a, name ? name : "", nlen);
            out->types[out->n] = arena_strndup(a, type ? type : "", tlen);
            out->n++;
        }
    }
    dataplane_cursor_close(c);
    return rc < 0 ? -1 : 0;
}

/* ==== Appending rows ==== */

struct dp_appender {
    duckdb_appender app;
    char **names; /* column names, for messages */
    char **types;
    bool *cast;        /* per column: text goes in as a VARCHAR value, cast by DuckDB (INTERVAL) */
    size_t ncols, col; /* col: the next column of the current row */
    int64_t rows;
};

/* "name" → name (doubled quotes undone); other text as it is. */
static char *unquote(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return xstrdup(s);
    char *out = xmalloc(n), *o = out;
    for (size_t i = 1; i + 1 < n; i++) {
        *o++ = s[i];
        if (s[i] == '"' && s[i + 1] == '"')
            i++;
    }
    *o = '\0';
    return out;
}

struct dp_appender *dataplane_appender_open(struct dataplane *dp, const char *table,
                                            const struct dp_columns *cols, struct err *err)
{
    struct arena a = ARENA_INIT;
    struct strbuf sql = STRBUF_INIT;
    strbuf_addf(&sql, "CREATE TABLE %s (", table);
    for (size_t i = 0; i < cols->n; i++)
        strbuf_addf(&sql, "%s%s %s", i ? ", " : "", dataplane_ident(&a, cols->names[i]),
                    cols->types[i]);
    strbuf_adds(&sql, ")");
    int rc = dataplane_exec(dp, strbuf_str(&sql), err);
    strbuf_release(&sql);
    arena_release(&a);
    if (rc != 0)
        return NULL;
    struct dp_appender *ap = xcalloc(1, sizeof(*ap));
    char *name = unquote(table);
    duckdb_state st = duckdb_appender_create(dp->conn, NULL, name, &ap->app);
    free(name);
    if (st != DuckDBSuccess) {
        err_set(err, ERR_INTERNAL, "duckdb: cannot append to %s: %s", table,
                ap->app ? duckdb_appender_error(ap->app) : "unknown error");
        dataplane_appender_close(ap, NULL);
        return NULL;
    }
    ap->ncols = cols->n;
    ap->names = xcalloc(cols->n + 1, sizeof(*ap->names));
    ap->types = xcalloc(cols->n + 1, sizeof(*ap->types));
    ap->cast = xcalloc(cols->n + 1, sizeof(*ap->cast));
    for (size_t i = 0; i < cols->n; i++) {
        ap->names[i] = xstrdup(cols->names[i]);
        ap->types[i] = xstrdup(cols->types[i]);
        /* The appender casts text to every type but INTERVAL ("Unimplemented type for cast" in
         * DuckDB 1.4). */
        ap->cast[i] = strcmp(cols->types[i], "INTERVAL") == 0;
    }
    return ap;
}

/* The appender's error for the value just appended, with the row and column it was for. */
static int append_failed(struct dp_appender *ap, struct err *err)
{
    size_t col = ap->col < ap->ncols ? ap->col : ap->ncols - 1;
    struct err e = ERR_INIT;
    duck_error(&e, duckdb_appender_error(ap->app));
    return err_set(err, ERR_DATA, "row %" PRId64 ", column '%s' (%s): %s", ap->rows + 1,
                   ap->names[col], ap->types[col], e.msg);
}

static int appended(struct dp_appender *ap, duckdb_state st, struct err *err)
{
    if (st != DuckDBSuccess)
        return append_failed(ap, err);
    ap->col++;
    return 0;
}

int dataplane_append_text(struct dp_appender *ap, const char *s, size_t len, struct err *err)
{
    /* A VARCHAR value goes through DuckDB's full cast, which the appender's own lacks. */
    if (ap->col < ap->ncols && ap->cast[ap->col]) {
        duckdb_value v = duckdb_create_varchar_length(s, len);
        duckdb_state st = duckdb_append_value(ap->app, v);
        duckdb_destroy_value(&v);
        return appended(ap, st, err);
    }
    return appended(ap, duckdb_append_varchar_length(ap->app, s, len), err);
}

int dataplane_append_blob(struct dp_appender *ap, const void *p, size_t len, struct err *err)
{
    return appended(ap, duckdb_append_blob(ap->app, p, len), err);
}

int dataplane_append_null(struct dp_appender *ap, struct err *err)
{
    return appended(ap, duckdb_append_null(ap->app), err);
}

int dataplane_append_end_row(struct dp_appender *ap, struct err *err)
{
    if (duckdb_appender_end_row(ap->app) != DuckDBSuccess)
        return append_failed(ap, err);
    ap->col = 0;
    ap->rows++;
    return 0;
}

int64_t dataplane_appender_rows(const struct dp_appender *ap)
{
    return ap->rows;
}

int dataplane_appender_flush(struct dp_appender *ap, struct err *err)
{
    if (duckdb_appender_flush(ap->app) == DuckDBSuccess)
        return 0;
    struct err e = ERR_INIT;
    duck_error(&e, duckdb_appender_error(ap->app));
    return err_set(err, ERR_DATA, "%s", e.msg);
}

int dataplane_appender_close(struct dp_appender *ap, struct err *err)
{
    if (!ap)
        return 0;
    int rc = 0;
    if (ap->app && duckdb_appender_close(ap->app) != DuckDBSuccess) {
        struct err e = ERR_INIT;
        duck_error(&e, duckdb_appender_error(ap->app));
        if (err && !err->code)
            err_set(err, ERR_DATA, "%s", e.msg);
        rc = -1;
    }
    if (ap->app)
        duckdb_appender_destroy(&ap->app);
    for (size_t i = 0; i < ap->ncols; i++) {
        free(ap->names[i]);
        free(ap->types[i]);
    }
    free(ap->names);
    free(ap->types);
    free(ap->cast);
    free(ap);
    return rc;
}

/* ==== Quoting ==== */

static char *quote(struct arena *a, const char *s, char q)
{
    size_t n = 2;
    for (const char *p = s; *p; p++)
        n += *p == q ? 2 : 1;
    char *out = arena_alloc(a, n + 1), *o = out;
    *o++ = q;
    for (const char *p = s; *p; p++) {
        if (*p == q)
            *o++ = q;
        *o++ = *p;
    }
    *o++ = q;
    *o = '\0';
    return out;
}

char *dataplane_ident(struct arena *a, const char *name)
{
    return quote(a, name, '"');
}

char *dataplane_literal(struct arena *a, const char *text)
{
    return quote(a, text, '\'');
}
