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
    char *dir;   /* scratch directory, removed at close; owned */
    char *limit; /* the memory_limit in force, NULL for DuckDB's default; owned */
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
    if (memory_limit) {
        duckdb_set_config(config, "memory_limit", memory_limit);
        dp->limit = xstrdup(memory_limit);
    }
    if (threads > 0)
        duckdb_set_config(config, "threads", nthreads);
    /* No automatic checkpoints. DuckDB 1.4 checkpoints in-memory databases too, once the commits
     * since the last one reach checkpoint_threshold (16MB), and a checkpoint compresses every
     * table (FSST, dictionaries, statistics), reading spilled blocks back to do it. An extractor
     * commits every batch: compressing tables that are read once and dropped took 40% of its CPU
     * time (docs/benchmarks.md). */
    duckdb_set_config(config, "checkpoint_threshold", "1TB");
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
    free(dp->limit);
    free(dp);
    return NULL;
}

int dataplane_set_memory_limit(struct dataplane *dp, const char *limit, struct err *err)
{
    if (dp->limit && strcmp(dp->limit, limit) == 0)
        return 0;
    struct arena a = ARENA_INIT;
    int rc = dataplane_exec(
        dp, arena_printf(&a, "SET memory_limit = %s", dataplane_literal(&a, limit)), err);
    arena_release(&a);
    if (rc != 0)
        return -1;
    free(dp->limit);
    dp->limit = xstrdup(limit);
    return 1;
}

void dataplane_close(struct dataplane *dp)
{
    if (!dp)
        return;
    duckdb_disconnect(&dp->conn);
    duckdb_close(&dp->db);
    files_remove_tree(dp->dir, NULL);
    free(dp->dir);
    free(dp->limit);
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

/* ==== Values as DuckDB stores them ==== */

/* dataplane.h describes DuckDB's layouts without including duckdb.h; these keep it honest. */
_Static_assert(sizeof(struct dp_hugeint) == sizeof(duckdb_hugeint) &&
                   offsetof(struct dp_hugeint, upper) == offsetof(duckdb_hugeint, upper),
               "dp_hugeint is duckdb_hugeint");
_Static_assert(sizeof(struct dp_uhugeint) == sizeof(duckdb_uhugeint) &&
                   offsetof(struct dp_uhugeint, upper) == offsetof(duckdb_uhugeint, upper),
               "dp_uhugeint is duckdb_uhugeint");
_Static_assert(sizeof(struct dp_interval) == sizeof(duckdb_interval) &&
                   offsetof(struct dp_interval, days) == offsetof(duckdb_interval, days) &&
                   offsetof(struct dp_interval, micros) == offsetof(duckdb_interval, micros),
               "dp_interval is duckdb_interval");

static const struct {
    duckdb_type duck;
    enum dp_kind kind;
} kinds[] = {
    { DUCKDB_TYPE_BOOLEAN, DP_BOOLEAN },     { DUCKDB_TYPE_TINYINT, DP_TINYINT },
    { DUCKDB_TYPE_SMALLINT, DP_SMALLINT },   { DUCKDB_TYPE_INTEGER, DP_INTEGER },
    { DUCKDB_TYPE_BIGINT, DP_BIGINT },       { DUCKDB_TYPE_HUGEINT, DP_HUGEINT },
    { DUCKDB_TYPE_UTINYINT, DP_UTINYINT },   { DUCKDB_TYPE_USMALLINT, DP_USMALLINT },
    { DUCKDB_TYPE_UINTEGER, DP_UINTEGER },   { DUCKDB_TYPE_UBIGINT, DP_UBIGINT },
    { DUCKDB_TYPE_UHUGEINT, DP_UHUGEINT },   { DUCKDB_TYPE_FLOAT, DP_FLOAT },
    { DUCKDB_TYPE_DOUBLE, DP_DOUBLE },       { DUCKDB_TYPE_DECIMAL, DP_DECIMAL },
    { DUCKDB_TYPE_DATE, DP_DATE },           { DUCKDB_TYPE_TIME, DP_TIME },
    { DUCKDB_TYPE_TIMESTAMP, DP_TIMESTAMP }, { DUCKDB_TYPE_TIMESTAMP_TZ, DP_TIMESTAMP_TZ },
    { DUCKDB_TYPE_INTERVAL, DP_INTERVAL },   { DUCKDB_TYPE_UUID, DP_UUID },
    { DUCKDB_TYPE_VARCHAR, DP_VARCHAR },     { DUCKDB_TYPE_BLOB, DP_BLOB },
};

static void type_of(duckdb_logical_type lt, struct dp_type *out)
{
    static const struct {
        duckdb_type duck;
        uint8_t bytes;
    } decimal_bytes[] = { { DUCKDB_TYPE_SMALLINT, 2 },
                          { DUCKDB_TYPE_INTEGER, 4 },
                          { DUCKDB_TYPE_BIGINT, 8 },
                          { DUCKDB_TYPE_HUGEINT, 16 } };
    duckdb_type id = duckdb_get_type_id(lt);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i].duck == id)
            out->kind = kinds[i].kind;
    if (out->kind != DP_DECIMAL)
        return;
    duckdb_type internal = duckdb_decimal_internal_type(lt);
    out->width = duckdb_decimal_width(lt);
    out->scale = duckdb_decimal_scale(lt);
    for (size_t i = 0; i < sizeof(decimal_bytes) / sizeof(decimal_bytes[0]); i++)
        if (decimal_bytes[i].duck == internal)
            out->bytes = decimal_bytes[i].bytes;
    if (!out->bytes) /* a storage this code does not know: nobody may read it as a decimal */
        out->kind = DP_OTHER;
}

int dataplane_column_types(struct dataplane *dp, const char *sql_or_relation, struct arena *a,
                           struct dp_type **types, size_t *n, struct err *err)
{
    char *sql = arena_printf(a, "SELECT * FROM %s", sql_or_relation);
    duckdb_prepared_statement stmt;
    if (duckdb_prepare(dp->conn, sql, &stmt) != DuckDBSuccess) {
        duck_error(err, duckdb_prepare_error(stmt));
        duckdb_destroy_prepare(&stmt);
        return -1;
    }
    *n = (size_t)duckdb_prepared_statement_column_count(stmt);
    *types = arena_calloc(a, *n ? *n : 1, sizeof(**types));
    for (size_t i = 0; i < *n; i++) {
        duckdb_logical_type lt = duckdb_prepared_statement_column_logical_type(stmt, i);
        type_of(lt, &(*types)[i]);
        duckdb_destroy_logical_type(&lt);
    }
    duckdb_destroy_prepare(&stmt);
    return 0;
}

void dataplane_cursor_vector(const struct dp_cursor *c, size_t col, struct dp_vector *out)
{
    duckdb_vector v = duckdb_data_chunk_get_vector(c->chunk, col);
    out->data = duckdb_vector_get_data(v);
    out->validity = duckdb_vector_get_validity(v);
}

const char *dataplane_vector_string(const struct dp_vector *v, size_t row, size_t *len)
{
    /* duckdb_string_t, decoded here rather than by a call into DuckDB per value: up to 12 bytes
     * are inlined, longer strings point elsewhere. */
    const duckdb_string_t *s = (const duckdb_string_t *)v->data + row;
    *len = s->value.inlined.length;
    return *len <= sizeof(s->value.inlined.inlined) ? s->value.inlined.inlined
                                                    : s->value.pointer.ptr;
}

/* ==== Chunks a caller owns ==== */

/* A dp_chunk is a duckdb_data_chunk under another name, so it needs no allocation of its own. */
static duckdb_data_chunk duck_chunk(const struct dp_chunk *ch)
{
    return (duckdb_data_chunk)(uintptr_t)ch;
}

int dataplane_cursor_fetch(struct dp_cursor *c, struct dp_chunk **out, struct err *err)
{
    duckdb_data_chunk chunk = duckdb_fetch_chunk(c->result);
    *out = (struct dp_chunk *)chunk;
    if (chunk)
        return 1;
    const char *m = duckdb_result_error(&c->result);
    return m && *m ? duck_error(err, m) : 0;
}

size_t dataplane_chunk_rows(const struct dp_chunk *ch)
{
    return (size_t)duckdb_data_chunk_get_size(duck_chunk(ch));
}

void dataplane_chunk_vector(const struct dp_chunk *ch, size_t col, struct dp_vector *out)
{
    duckdb_vector v = duckdb_data_chunk_get_vector(duck_chunk(ch), col);
    out->data = duckdb_vector_get_data(v);
    out->validity = duckdb_vector_get_validity(v);
}

int dataplane_chunk_cast_text(const struct dp_chunk *ch, size_t col, size_t row, struct strbuf *out,
                              struct err *err)
{
    duckdb_vector vec = duckdb_data_chunk_get_vector(duck_chunk(ch), col);
    duckdb_logical_type lt = duckdb_vector_get_column_type(vec);
    duckdb_type id = duckdb_get_type_id(lt);
    duckdb_destroy_logical_type(&lt);
    const void *d = duckdb_vector_get_data(vec);
    duckdb_value v;
    switch (id) {
    case DUCKDB_TYPE_DATE:
        v = duckdb_create_date((duckdb_date){ ((const int32_t *)d)[row] });
        break;
    case DUCKDB_TYPE_TIMESTAMP:
        v = duckdb_create_timestamp((duckdb_timestamp){ ((const int64_t *)d)[row] });
        break;
    default:
        return err_set(err, ERR_INTERNAL, "no text cast for column %zu", col);
    }
    /* duckdb_get_varchar() applies the VARCHAR cast a query's CAST would. */
    char *s = duckdb_get_varchar(v);
    duckdb_destroy_value(&v);
    if (!s)
        return err_set(err, ERR_INTERNAL, "duckdb: cannot cast a value of column %zu", col);
    strbuf_adds(out, s);
    duckdb_free(s);
    return 0;
}

void dataplane_chunk_free(struct dp_chunk *ch)
{
    duckdb_data_chunk chunk = duck_chunk(ch);
    if (chunk)
        duckdb_destroy_data_chunk(&chunk);
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

/* Values are staged as text (or bytes, for BLOB columns) in a data chunk of DuckDB's vector
 * size, which the appender casts a vector at a time: a per-value append costs a type switch and
 * a scalar cast per value, a third of an extractor's CPU time. A chunk the cast rejects is
 * appended again value by value, so the error names the row and column at fault. */
struct dp_appender {
    duckdb_appender app;
    duckdb_data_chunk chunk; /* staged rows: VARCHAR vectors, BLOB for BLOB columns */
    duckdb_vector *vecs;     /* its vectors, per column */
    /* The staged texts longer than a duckdb_string_t inlines, until the chunk is appended:
     * written here rather than through duckdb_vector_assign_string_element_len(), whose string
     * heap cost a tenth of an extraction's CPU time. */
    struct arena heap;
    bool *blob;   /* per column: staged as BLOB */
    char **names; /* column names, for messages */
    char **types;
    bool *cast;        /* per column: text goes in as a VARCHAR value, cast by DuckDB (INTERVAL) */
    size_t ncols, col; /* col: the next column of the current row */
    idx_t staged, cap; /* rows in chunk, and how many fit */
    int64_t rows;      /* rows ended, staged ones included */
    int64_t unflushed; /* rows in the appender since its last flush */
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
    size_t n = cols->n;
    ap->ncols = n;
    ap->names = xcalloc(n + 1, sizeof(*ap->names));
    ap->types = xcalloc(n + 1, sizeof(*ap->types));
    ap->cast = xcalloc(n + 1, sizeof(*ap->cast));
    ap->blob = xcalloc(n + 1, sizeof(*ap->blob));
    ap->vecs = xcalloc(n + 1, sizeof(*ap->vecs));
    duckdb_logical_type *lt = xcalloc(n + 1, sizeof(*lt));
    for (size_t i = 0; i < n; i++) {
        ap->names[i] = xstrdup(cols->names[i]);
        ap->types[i] = xstrdup(cols->types[i]);
        /* The appender casts text to every type but INTERVAL ("Unimplemented type for cast" in
         * DuckDB 1.4). */
        ap->cast[i] = strcmp(cols->types[i], "INTERVAL") == 0;
        duckdb_logical_type t = duckdb_appender_column_type(ap->app, i);
        ap->blob[i] = duckdb_get_type_id(t) == DUCKDB_TYPE_BLOB;
        duckdb_destroy_logical_type(&t);
        lt[i] = duckdb_create_logical_type(ap->blob[i] ? DUCKDB_TYPE_BLOB : DUCKDB_TYPE_VARCHAR);
    }
    ap->chunk = duckdb_create_data_chunk(lt, n);
    for (size_t i = 0; i < n; i++) {
        duckdb_destroy_logical_type(&lt[i]);
        ap->vecs[i] = duckdb_data_chunk_get_vector(ap->chunk, i);
    }
    free(lt);
    ap->cap = duckdb_vector_size();
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

/* Appends the staged chunk's row i value by value, to find the value its cast rejects; ap->rows
 * and ap->col say where, for append_failed(). */
static int replay_row(struct dp_appender *ap, idx_t i, struct err *err)
{
    for (ap->col = 0; ap->col < ap->ncols; ap->col++) {
        duckdb_vector v = ap->vecs[ap->col];
        uint64_t *valid = duckdb_vector_get_validity(v);
        duckdb_state st;
        if (!duckdb_validity_row_is_valid(valid, i)) {
            st = duckdb_append_null(ap->app);
        } else {
            duckdb_string_t *s = (duckdb_string_t *)duckdb_vector_get_data(v) + i;
            const char *p = duckdb_string_t_data(s);
            uint32_t len = duckdb_string_t_length(*s);
            if (ap->blob[ap->col]) {
                st = duckdb_append_blob(ap->app, p, len);
            } else if (ap->cast[ap->col]) {
                /* A VARCHAR value goes through DuckDB's full cast, which the appender's own
                 * lacks. */
                duckdb_value val = duckdb_create_varchar_length(p, len);
                st = duckdb_append_value(ap->app, val);
                duckdb_destroy_value(&val);
            } else {
                st = duckdb_append_varchar_length(ap->app, p, len);
            }
        }
        if (st != DuckDBSuccess)
            return append_failed(ap, err);
    }
    ap->col = ap->ncols - 1; /* a failed end of row is the row's, named by its last column */
    if (duckdb_appender_end_row(ap->app) != DuckDBSuccess)
        return append_failed(ap, err);
    ap->col = 0;
    return 0;
}

static int flush_appender(struct dp_appender *ap, struct err *err)
{
    ap->unflushed = 0;
    if (duckdb_appender_flush(ap->app) == DuckDBSuccess)
        return 0;
    struct err e = ERR_INIT;
    duck_error(&e, duckdb_appender_error(ap->app));
    return err_set(err, ERR_DATA, "%s", e.msg);
}

/* DuckDB's appender flushes by itself once it holds this many rows (204,800 in 1.4), inside
 * the chunk append; it is flushed here before that, so that a failing chunk append is always
 * the cast's, and replaying the chunk cannot append rows that were already appended. */
#define FLUSH_ROWS 100000

/* Moves the staged rows into the appender. */
static int push(struct dp_appender *ap, struct err *err)
{
    if (ap->staged == 0)
        return 0;
    if (ap->unflushed + (int64_t)ap->staged > FLUSH_ROWS && flush_appender(ap, err) != 0)
        return -1;
    duckdb_data_chunk_set_size(ap->chunk, ap->staged);
    ap->unflushed += (int64_t)ap->staged;
    int rc = 0;
    if (duckdb_append_data_chunk(ap->app, ap->chunk) != DuckDBSuccess) {
        int64_t rows = ap->rows, first = rows - (int64_t)ap->staged;
        for (idx_t i = 0; rc == 0 && i < ap->staged; i++) {
            ap->rows = first + (int64_t)i;
            rc = replay_row(ap, i, err);
        }
        ap->rows = rows;
    }
    duckdb_data_chunk_reset(ap->chunk);
    arena_release(&ap->heap);
    ap->staged = 0;
    return rc;
}

static int misuse(struct dp_appender *ap, const char *what, struct err *err)
{
    return err_set(err, ERR_INTERNAL, "appender: %s at row %" PRId64 ", column %zu of %zu", what,
                   ap->rows + 1, ap->col + 1, ap->ncols);
}

static int stage(struct dp_appender *ap, const char *p, size_t len, bool blob, struct err *err)
{
    if (ap->col >= ap->ncols)
        return misuse(ap, "a value beyond the last column", err);
    if (ap->blob[ap->col] != blob)
        return misuse(ap, blob ? "bytes for a text column" : "text for a BLOB column", err);
    duckdb_string_t *d = (duckdb_string_t *)duckdb_vector_get_data(ap->vecs[ap->col]) + ap->staged;
    if (len > UINT32_MAX)
        return misuse(ap, "a value of 4 GiB or more", err);
    d->value.inlined.length = (uint32_t)len;
    if (len <= sizeof(d->value.inlined.inlined)) {
        memset(d->value.inlined.inlined, 0, sizeof(d->value.inlined.inlined));
        if (len)
            memcpy(d->value.inlined.inlined, p, len);
    } else {
        char *copy = arena_alloc(&ap->heap, len);
        memcpy(copy, p, len);
        memcpy(d->value.pointer.prefix, p, sizeof(d->value.pointer.prefix));
        d->value.pointer.ptr = copy;
    }
    ap->col++;
    return 0;
}

int dataplane_append_text(struct dp_appender *ap, const char *s, size_t len, struct err *err)
{
    return stage(ap, s, len, false, err);
}

int dataplane_append_blob(struct dp_appender *ap, const void *p, size_t len, struct err *err)
{
    return stage(ap, p, len, true, err);
}

int dataplane_append_null(struct dp_appender *ap, struct err *err)
{
    if (ap->col >= ap->ncols)
        return misuse(ap, "a value beyond the last column", err);
    duckdb_vector v = ap->vecs[ap->col];
    duckdb_vector_ensure_validity_writable(v);
    duckdb_validity_set_row_invalid(duckdb_vector_get_validity(v), ap->staged);
    ap->col++;
    return 0;
}

int dataplane_append_end_row(struct dp_appender *ap, struct err *err)
{
    if (ap->col != ap->ncols)
        return misuse(ap, "a row ended early", err);
    ap->col = 0;
    ap->rows++;
    if (++ap->staged == ap->cap)
        return push(ap, err);
    return 0;
}

int64_t dataplane_appender_rows(const struct dp_appender *ap)
{
    return ap->rows;
}

int dataplane_appender_flush(struct dp_appender *ap, struct err *err)
{
    return push(ap, err) == 0 ? flush_appender(ap, err) : -1;
}

int dataplane_appender_close(struct dp_appender *ap, struct err *err)
{
    if (!ap)
        return 0;
    /* A failed extraction closes with err set and its rows are not wanted: the chunk is not
     * pushed, so no second error can be raised. */
    int rc = ap->app && ap->chunk && !(err && err->code) ? push(ap, err) : 0;
    if (ap->app && duckdb_appender_close(ap->app) != DuckDBSuccess) {
        struct err e = ERR_INIT;
        duck_error(&e, duckdb_appender_error(ap->app));
        if (err && !err->code)
            err_set(err, ERR_DATA, "%s", e.msg);
        rc = -1;
    }
    if (ap->app)
        duckdb_appender_destroy(&ap->app);
    if (ap->chunk)
        duckdb_destroy_data_chunk(&ap->chunk);
    for (size_t i = 0; i < ap->ncols; i++) {
        free(ap->names[i]);
        free(ap->types[i]);
    }
    free(ap->names);
    free(ap->types);
    free(ap->cast);
    free(ap->blob);
    free(ap->vecs);
    arena_release(&ap->heap);
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
