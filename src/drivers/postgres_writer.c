/* postgres.writer and supabase.writer: writes the step's one input table into a PostgreSQL table
 * in a single transaction. Rows stream out of the data plane a chunk at a time and into the server
 * with COPY ... FROM STDIN, in the binary format when every column has an exact encoding
 * (pgbinary.h: the server parses it at half the cost of text, and the server is what limits a
 * COPY), else in the text format, formatted as PostgreSQL reads them:
 *   append   COPY into the target;
 *   replace  COPY into a temporary staging table, then DELETE FROM the target and INSERT ...
 *            SELECT from the staging table;
 *   upsert   COPY into the staging table, then INSERT ... SELECT ... ON CONFLICT (primary_key)
 *            DO UPDATE SET every other column (DO NOTHING when there is none).
 * Nothing is committed until every statement succeeded, so a failure anywhere (a bad value, a
 * lost connection, pg_terminate_backend) leaves the target as it was: closing the connection
 * without COMMIT rolls everything back, create_if_missing's CREATE TABLE included. Row counts come
 * from the server's command tags. */
#include "driver.h"
#include "files.h"
#include "fsdriver.h"
#include "pgbinary.h"
#include "pgconn.h"
#include "pgcopy.h"
#include "typemap.h"

#include <stdlib.h>
#include <string.h>

/* A COPY data message is sent after batch_size rows, or sooner once this many bytes are
 * buffered, so memory stays bounded whatever batch_size and the row width are. */
#define FLUSH_BYTES (4u << 20)

/* The staging table of replace and upsert: temporary, so only this session sees it, and dropped
 * at the end of the transaction whatever happens. */
#define STAGING "pg_temp.osiris_staging"

enum mode { MODE_APPEND, MODE_REPLACE, MODE_UPSERT };
static const char *const modes[] = { "append", "replace", "upsert", NULL };

struct options {
    const char *table, *schema;
    size_t mode;
    const char **pk; /* primary_key columns; NULL-terminated */
    size_t npk;
    bool create_if_missing;
    int64_t batch_size, connect_timeout;
};

/* An input column. */
struct column {
    const char *name;                   /* as in the input table and the target */
    const char *type;                   /* DuckDB type */
    struct dp_type dtype;               /* the same, as the data plane hands out its values */
    const char *ident;                  /* quoted for PostgreSQL */
    const char *text;                   /* the data-plane expression of its value as COPY text */
    bool datetime;                      /* DATE or TIMESTAMP*: years BC are spelled differently */
    unsigned oid;                       /* the target column's type (pg_type OID) */
    const struct pgbinary_encoder *enc; /* its binary encoding, or NULL: none */
};

struct writer {
    struct driver_ctx *ctx;
    struct arena *a;
    struct pgconn *c;
    struct options o;
    const struct step_input *in;
    struct column *cols;
    size_t ncols;
    const char *target;  /* "schema"."table" */
    const char *display; /* schema.table, for messages and events */
    const char *select;  /* the data-plane query producing the COPY values as text */
    const char *binary;  /* the one producing the values for the binary format, or NULL when a
                            column has no binary encoding */
    const char *format;  /* of the COPY that wrote the rows: "binary" or "text" */
};

/* ==== Options ==== */

static int read_primary_key(struct arena *a, const json_t *cfg, struct options *o, struct err *err)
{
    const json_t *v = json_object_get(cfg, "primary_key");
    o->pk = arena_calloc(a, json_is_array(v) ? json_array_size(v) + 1 : 2, sizeof(*o->pk));
    o->npk = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v) && *json_string_value(v)) {
        o->pk[o->npk++] = json_string_value(v);
        return 0;
    }
    size_t i;
    const json_t *item;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return err_set(err, ERR_INPUT,
                       "option 'primary_key' must be a column name or a list of column names");
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item) || !*json_string_value(item))
            return err_set(err, ERR_INPUT, "option 'primary_key' must list column names");
        for (size_t k = 0; k < o->npk; k++)
            if (strcmp(o->pk[k], json_string_value(item)) == 0)
                return err_set(err, ERR_INPUT, "option 'primary_key' lists '%s' twice", o->pk[k]);
        o->pk[o->npk++] = json_string_value(item);
    }
    return 0;
}

static int read_options(struct writer *w, struct err *err)
{
    const json_t *cfg = w->ctx->config;
    struct options *o = &w->o;
    if (fsdriver_opt_string(cfg, "table", NULL, &o->table, err) != 0 ||
        fsdriver_opt_string(cfg, "schema", "public", &o->schema, err) != 0 ||
        fsdriver_opt_enum(cfg, "write_mode", modes, MODE_APPEND, &o->mode, err) != 0 ||
        fsdriver_opt_bool(cfg, "create_if_missing", false, &o->create_if_missing, err) != 0 ||
        fsdriver_opt_int(cfg, "batch_size", 10000, 1, &o->batch_size, err) != 0 ||
        fsdriver_opt_int(cfg, "connect_timeout", 10, 1, &o->connect_timeout, err) != 0 ||
        read_primary_key(w->a, cfg, o, err) != 0)
        return -1;
    if (!o->table || !*o->table)
        return err_set(err, ERR_INPUT, "'table' is required");
    if (o->mode == MODE_UPSERT && o->npk == 0)
        return err_set(err, ERR_INPUT, "primary_key must be specified when write_mode is 'upsert'");
    return 0;
}

/* ==== The input ==== */

static bool is_datetime(const char *t)
{
    return strcmp(t, "DATE") == 0 || strncmp(t, "TIMESTAMP", 9) == 0;
}

/* The input's columns, and the query that renders each as the text COPY reads: bytes as \x<hex>
 * (bytea's hex input), nested values as JSON, everything else in DuckDB's text form, which
 * PostgreSQL reads for every scalar type (true/false, ISO dates, 'inf', intervals ...). */
static int plan_input(struct writer *w, struct err *err)
{
    struct dp_columns dc;
    struct dp_type *dtypes;
    size_t ntypes;
    if (dataplane_describe(w->ctx->dp, w->in->table, w->a, &dc, err) != 0 ||
        dataplane_column_types(w->ctx->dp, w->in->table, w->a, &dtypes, &ntypes, err) != 0)
        return -1;
    if (dc.n == 0)
        return err_set(err, ERR_INPUT, "the input table has no columns");
    if (ntypes != dc.n)
        return err_set(err, ERR_INTERNAL, "the input table has %zu columns and %zu types", dc.n,
                       ntypes);
    w->ncols = dc.n;
    w->cols = arena_calloc(w->a, dc.n, sizeof(*w->cols));
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "SELECT ");
    for (size_t i = 0; i < dc.n; i++) {
        struct column *c = &w->cols[i];
        c->name = dc.names[i];
        c->type = dc.types[i];
        c->dtype = dtypes[i];
        c->ident = pgconn_ident(w->a, c->name);
        c->datetime = is_datetime(c->type);
        const char *id = dataplane_ident(w->a, c->name);
        if (typemap_duckdb_is_binary(c->type))
            c->text = arena_printf(w->a, "'\\x' || hex(%s)", id);
        else if (typemap_duckdb_is_nested(c->type))
            c->text = arena_printf(w->a, "CAST(to_json(%s) AS VARCHAR)", id);
        else
            c->text = arena_printf(w->a, "CAST(%s AS VARCHAR)", id);
        strbuf_addf(&sb, "%s%s", i ? ", " : "", c->text);
    }
    strbuf_addf(&sb, " FROM %s", w->in->table);
    w->select = arena_take(w->a, &sb);
    for (size_t k = 0; k < w->o.npk; k++) {
        size_t i = 0;
        while (i < w->ncols && strcmp(w->cols[i].name, w->o.pk[k]) != 0)
            i++;
        if (i == w->ncols)
            return err_set(err, ERR_INPUT, "primary_key column '%s' is not a column of the input",
                           w->o.pk[k]);
    }
    return 0;
}

/* ==== The target ==== */

/* The target's columns (names, types as format_type writes them, and type OIDs) in order;
 * *exists false when there is no such table. In the arena. */
struct target {
    bool exists;
    size_t n;
    const char **names, **types;
    unsigned *oids;
};

static int read_target(struct writer *w, struct target *t, struct err *err)
{
    const char *params[] = { w->target };
    const char *what = arena_printf(w->a, "%s lookup of %s", w->c->family, w->display);
    PGresult *res = pgconn_query(w->c, what, "SELECT to_regclass($1) IS NOT NULL", 1, params, err);
    if (!res)
        return -1;
    t->exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    t->n = 0;
    if (!t->exists)
        return 0;
    res =
        pgconn_query(w->c, what,
                     "SELECT attname, pg_catalog.format_type(atttypid, atttypmod), atttypid FROM "
                     "pg_catalog.pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND "
                     "NOT attisdropped ORDER BY attnum",
                     1, params, err);
    if (!res)
        return -1;
    t->n = (size_t)PQntuples(res);
    t->names = arena_calloc(w->a, t->n + 1, sizeof(*t->names));
    t->types = arena_calloc(w->a, t->n + 1, sizeof(*t->types));
    t->oids = arena_calloc(w->a, t->n + 1, sizeof(*t->oids));
    for (size_t i = 0; i < t->n; i++) {
        t->names[i] = arena_strdup(w->a, PQgetvalue(res, (int)i, 0));
        t->types[i] = arena_strdup(w->a, PQgetvalue(res, (int)i, 1));
        t->oids[i] = (unsigned)strtoul(PQgetvalue(res, (int)i, 2), NULL, 10);
    }
    PQclear(res);
    return 0;
}

/* Every input column must be a column of the target (the target may have more: they get their
 * defaults). */
static int match_columns(struct writer *w, const struct target *t, const char **types,
                         struct err *err)
{
    for (size_t i = 0; i < w->ncols; i++) {
        size_t k = 0;
        while (k < t->n && strcmp(t->names[k], w->cols[i].name) != 0)
            k++;
        if (k < t->n) {
            types[i] = t->types[k];
            w->cols[i].oid = t->oids[k];
            continue;
        }
        struct strbuf has = STRBUF_INIT;
        for (k = 0; k < t->n; k++)
            strbuf_addf(&has, "%s%s", k ? ", " : "", t->names[k]);
        err_set(err, ERR_DATA, "input column '%s' is not a column of table %s (it has: %s)",
                w->cols[i].name, w->display, strbuf_str(&has));
        strbuf_release(&has);
        return -1;
    }
    return 0;
}

/* ==== create_if_missing ==== */

static void event(struct writer *w, const char *name, json_t *fields)
{
    if (!w->ctx->session) {
        json_decref(fields);
        return;
    }
    json_t *all = json_pack("{s:s}", "step_id", w->ctx->step_id);
    json_object_update(all, fields);
    json_decref(fields);
    session_event(w->ctx->session, name, all);
}

/* CREATE TABLE IF NOT EXISTS with the input's columns in the typemap's types and primary_key as
 * the PRIMARY KEY; names quoted only where PostgreSQL needs it (quote_ident), so the plan reads
 * like hand-written DDL: CREATE TABLE IF NOT EXISTS public.t (id INTEGER, ..., PRIMARY KEY (id)).
 */
static const char *ddl_text(struct writer *w, struct err *err)
{
    size_t n = 2 + w->ncols;
    const char **params = arena_calloc(w->a, n, sizeof(*params));
    struct strbuf sql = STRBUF_INIT;
    params[0] = w->o.schema;
    params[1] = w->o.table;
    for (size_t i = 0; i < w->ncols; i++)
        params[2 + i] = w->cols[i].name;
    strbuf_adds(&sql, "SELECT ");
    for (size_t i = 0; i < n; i++)
        strbuf_addf(&sql, "%squote_ident($%zu)", i ? ", " : "", i + 1);
    PGresult *res = pgconn_query(w->c, arena_printf(w->a, "%s DDL", w->c->family), strbuf_str(&sql),
                                 (int)n, params, err);
    strbuf_release(&sql);
    if (!res)
        return NULL;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "CREATE TABLE IF NOT EXISTS %s.%s (", PQgetvalue(res, 0, 0),
                PQgetvalue(res, 0, 1));
    for (size_t i = 0; i < w->ncols; i++)
        strbuf_addf(&sb, "%s\n    %s %s", i ? "," : "", PQgetvalue(res, 0, (int)(2 + i)),
                    typemap_duckdb_to_pg(w->a, w->cols[i].type));
    for (size_t k = 0; k < w->o.npk; k++) {
        size_t i = 0;
        while (strcmp(w->cols[i].name, w->o.pk[k]) != 0)
            i++;
        strbuf_addf(&sb, "%s%s", k ? ", " : ",\n    PRIMARY KEY (",
                    PQgetvalue(res, 0, (int)(2 + i)));
    }
    strbuf_adds(&sb, w->o.npk ? ")\n)" : "\n)");
    PQclear(res);
    return arena_take(w->a, &sb);
}

/* Writes the plan to artifacts/<step>/ddl_plan.sql (before it runs, so it is there to read when
 * it fails), then runs it inside the write's transaction. */
static int create_table(struct writer *w, const char **ddl_path, struct err *err)
{
    const char *ddl = ddl_text(w, err);
    if (!ddl)
        return -1;
    const char *path = arena_printf(w->a, "%s/ddl_plan.sql", w->ctx->artifacts_dir);
    const char *file = arena_printf(w->a, "%s;\n", ddl);
    if (files_write_atomic(path, file, strlen(file), 0644, err) != 0)
        return -1;
    *ddl_path = arena_printf(w->a, "artifacts/%s/ddl_plan.sql", w->ctx->step_id);
    event(w, "artifact_created",
          json_pack("{s:s, s:s}", "artifact_type", "ddl_plan", "path", *ddl_path));
    event(w, "table.ddl_planned",
          json_pack("{s:s, s:s, s:s, s:b}", "table", w->display, "operation", "create_table",
                    "ddl_path", *ddl_path, "executed", false));
    const char *what = arena_printf(w->a, "%s CREATE TABLE %s", w->c->family, w->display);
    if (pgconn_command(w->c, what, ddl, 0, NULL, NULL, err) != 0)
        return -1;
    /* Supabase's REST API (PostgREST) caches the schema; this makes it see the new table once
     * the transaction commits. Harmless where nobody listens. */
    if (strcmp(w->c->family, "supabase") == 0 &&
        pgconn_command(w->c, what, "NOTIFY pgrst, 'reload schema'", 0, NULL, NULL, err) != 0)
        return -1;
    return 0;
}

/* ==== COPY ==== */

static const char *column_list(struct writer *w)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < w->ncols; i++)
        strbuf_addf(&sb, "%s%s", i ? ", " : "", w->cols[i].ident);
    return arena_take(w->a, &sb);
}

/* The binary format when every column has an exact binary encoding into its target column
 * (types: the target's, as format_type writes them), and the query producing its values: the
 * column itself, or its COPY text for a text column. The debug log names the column that keeps
 * a write in the text format. */
static void plan_binary(struct writer *w, const char **types)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "SELECT ");
    w->binary = NULL;
    for (size_t i = 0; i < w->ncols; i++) {
        struct column *c = &w->cols[i];
        c->enc = pgbinary_encoder(&c->dtype, c->oid, !c->datetime);
        if (!c->enc) {
            if (w->ctx->session)
                session_log(w->ctx->session, SESSION_DEBUG,
                            "step '%s': COPY in the text format: column '%s' (%s) has no binary "
                            "encoding into %s",
                            w->ctx->step_id, c->name, c->type, types[i]);
            strbuf_release(&sb);
            return;
        }
        strbuf_addf(&sb, "%s%s", i ? ", " : "",
                    pgbinary_reads_text(c->enc) ? c->text : dataplane_ident(w->a, c->name));
    }
    strbuf_addf(&sb, " FROM %s", w->in->table);
    w->binary = arena_take(w->a, &sb);
}

/* Hands the buffered rows to libpq as one COPY data message. */
static int send_batch(struct writer *w, struct strbuf *buf)
{
    int rc = buf->len ? PQputCopyData(w->c->conn, buf->buf, (int)buf->len) : 1;
    strbuf_reset(buf);
    return rc == 1 ? 0 : -1;
}

/* Appends row r of the chunk (v: its columns, all VARCHAR) as a line of COPY text. */
static void put_text_row(struct writer *w, const struct dp_vector *v, size_t r, struct strbuf *buf)
{
    for (size_t i = 0; i < w->ncols; i++) {
        if (i)
            strbuf_addch(buf, '\t');
        if (!dp_vector_valid(&v[i], r)) {
            pgcopy_put_null(buf);
            continue;
        }
        size_t len;
        const char *s = dataplane_vector_string(&v[i], r, &len);
        (w->cols[i].datetime ? pgcopy_put_datetime : pgcopy_put_text)(buf, s, len);
    }
    strbuf_addch(buf, '\n');
}

/* How a COPY ended. COPY_REFUSED (binary format only; err says why): the server refused the
 * data, or a value has no exact binary form, and the connection is fine: the text format may yet
 * succeed, and if not its error is the one to report, since it quotes the value or line the
 * server refused and the binary format's cannot. */
enum copy_end { COPY_DONE, COPY_FAILED, COPY_REFUSED };

/* SQLSTATE classes of failures the text format would meet just the same: the connection,
 * deadlocks and serialization failures, resources, locks, cancellation and timeouts. */
static const char *const final_classes[] = { "08", "40", "53", "55", "57" };

static bool text_may_differ(struct pgconn *c, const struct err *e)
{
    if (PQstatus(c->conn) != CONNECTION_OK || !e->sqlstate[0])
        return false;
    for (size_t i = 0; i < sizeof(final_classes) / sizeof(final_classes[0]); i++)
        if (strncmp(e->sqlstate, final_classes[i], 2) == 0)
            return false;
    return true;
}

/* One COPY of every input row into dest; *sent counts the rows sent, *copied the server's count
 * (smaller when a trigger on the table skips rows). */
static enum copy_end copy_rows(struct writer *w, const char *dest, bool binary, int64_t *sent,
                               int64_t *copied, struct err *err)
{
    struct pgconn *c = w->c;
    const char *what = arena_printf(w->a, "%s COPY into %s", c->family, w->display);
    /* COPY BINARY t FROM STDIN, the older spelling the grammar keeps, rather than WITH (FORMAT
     * binary): the statement ends in FROM STDIN in both formats, as whoever looks for the
     * writer's COPY in pg_stat_activity expects (the tests that terminate it do). */
    PGresult *res = PQexec(c->conn, arena_printf(w->a, "COPY %s%s (%s) FROM STDIN",
                                                 binary ? "BINARY " : "", dest, column_list(w)));
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        /* A server that does not take the binary format (a PostgreSQL look-alike) may take the
         * text one; a missing privilege and the like fail that one the same way. */
        pgconn_fail(c, res, what, err);
        PQclear(res);
        return binary && text_may_differ(c, err) ? COPY_REFUSED : COPY_FAILED;
    }
    PQclear(res);
    struct dp_cursor *cur = dataplane_cursor_open(w->ctx->dp, binary ? w->binary : w->select, err);
    struct dp_vector *v = arena_calloc(w->a, w->ncols, sizeof(*v));
    struct pgbinary_column *bc = arena_calloc(w->a, w->ncols, sizeof(*bc));
    for (size_t i = 0; i < w->ncols; i++) {
        bc[i].enc = w->cols[i].enc;
        bc[i].type = w->cols[i].dtype;
        if (binary && pgbinary_reads_text(bc[i].enc))
            bc[i].type = (struct dp_type){ .kind = DP_VARCHAR };
    }
    struct strbuf buf = STRBUF_INIT;
    if (binary)
        pgbinary_put_header(&buf);
    int64_t batch = 0;
    int rc = cur ? 0 : -1;
    bool lost = false, unencodable = false;
    struct err why = ERR_INIT; /* why a value has no binary form */
    while (rc == 0 && !lost && !unencodable && (rc = dataplane_cursor_next(cur, err)) == 1) {
        rc = 0;
        size_t rows = dataplane_cursor_rows(cur);
        for (size_t i = 0; i < w->ncols; i++) {
            dataplane_cursor_vector(cur, i, &v[i]);
            bc[i].v = v[i];
        }
        for (size_t r = 0; r < rows && !lost; r++) {
            size_t bad;
            if (!binary) {
                put_text_row(w, v, r, &buf);
            } else if (pgbinary_put_row(&buf, bc, w->ncols, r, &bad) != 0) {
                unencodable = true;
                err_set(&why, ERR_DATA, "row %lld, column '%s': the value has no exact binary form",
                        (long long)*sent + 1, w->cols[bad].name);
                break;
            }
            (*sent)++;
            if (++batch >= w->o.batch_size || buf.len >= FLUSH_BYTES) {
                lost = send_batch(w, &buf) != 0;
                batch = 0;
            }
        }
    }
    dataplane_cursor_close(cur);
    if (rc == 0 && !lost && !unencodable) {
        if (binary)
            pgbinary_put_trailer(&buf);
        lost = send_batch(w, &buf) != 0;
    }
    strbuf_release(&buf);
    if (rc < 0) {
        /* The input failed (err is set): abort the COPY; the transaction is rolled back. */
        PQputCopyEnd(c->conn, "osiris: reading the input failed");
        pgconn_finish_results(c, what, NULL, err);
        return COPY_FAILED;
    }
    if (unencodable) {
        PQputCopyEnd(c->conn, "osiris: a value has no exact binary form");
        pgconn_finish_results(c, what, NULL, err);
        if (PQstatus(c->conn) != CONNECTION_OK)
            return COPY_FAILED;
        *err = why; /* rather than the server's "COPY from stdin failed" */
        return COPY_REFUSED;
    }
    if (lost || PQputCopyEnd(c->conn, NULL) != 1) {
        /* The server's reason (a refused value, a terminated backend) is in the results. */
        if (pgconn_finish_results(c, what, NULL, err) == 0)
            pgconn_fail(c, NULL, what, err);
    } else if (pgconn_finish_results(c, what, copied, err) == 0) {
        return COPY_DONE;
    }
    return binary && text_may_differ(c, err) ? COPY_REFUSED : COPY_FAILED;
}

/* Streams every input row into COPY dest (see copy_rows). The binary format runs inside a
 * savepoint: when it ends in COPY_REFUSED, the rows go again in the text format, whose outcome
 * is then the step's, exactly as if there were no binary format. */
static int copy_in(struct writer *w, const char *dest, int64_t *sent, int64_t *copied,
                   struct err *err)
{
    struct pgconn *c = w->c;
    w->format = "text";
    if (w->binary) {
        const char *what = arena_printf(w->a, "%s savepoint", c->family);
        struct err e = ERR_INIT;
        int64_t n = 0;
        if (pgconn_command(c, what, "SAVEPOINT osiris_copy", 0, NULL, NULL, err) != 0)
            return -1;
        switch (copy_rows(w, dest, true, &n, copied, &e)) {
        case COPY_DONE:
            *sent = n;
            w->format = "binary";
            return pgconn_command(c, what, "RELEASE SAVEPOINT osiris_copy", 0, NULL, NULL, err);
        case COPY_FAILED:
            if (!err->code)
                *err = e;
            return -1;
        case COPY_REFUSED:
            break;
        }
        if (w->ctx->session)
            session_log(w->ctx->session, SESSION_INFO,
                        "step '%s': sending the rows again in the text format: %s", w->ctx->step_id,
                        e.msg);
        if (pgconn_command(c, what, "ROLLBACK TO SAVEPOINT osiris_copy", 0, NULL, NULL, err) != 0)
            return -1;
    }
    return copy_rows(w, dest, false, sent, copied, err) == COPY_DONE ? 0 : -1;
}

/* ==== Write modes ==== */

/* The staging table, with the target's column types, and the COPY into it. */
static int stage(struct writer *w, const char **types, int64_t *sent, struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "CREATE TEMPORARY TABLE osiris_staging (");
    for (size_t i = 0; i < w->ncols; i++)
        strbuf_addf(&sb, "%s%s %s", i ? ", " : "", w->cols[i].ident, types[i]);
    strbuf_adds(&sb, ") ON COMMIT DROP");
    int rc = pgconn_command(w->c, arena_printf(w->a, "%s staging table", w->c->family),
                            strbuf_str(&sb), 0, NULL, NULL, err);
    strbuf_release(&sb);
    int64_t copied = 0;
    return rc == 0 ? copy_in(w, STAGING, sent, &copied, err) : -1;
}

/* "SET a = EXCLUDED.a, ..." over the non-key columns; "" when every column is a key. */
static const char *update_list(struct writer *w)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < w->ncols; i++) {
        bool key = false;
        for (size_t k = 0; k < w->o.npk && !key; k++)
            key = strcmp(w->cols[i].name, w->o.pk[k]) == 0;
        if (!key)
            strbuf_addf(&sb, "%s%s = EXCLUDED.%s", sb.len ? ", " : "", w->cols[i].ident,
                        w->cols[i].ident);
    }
    return arena_take(w->a, &sb);
}

static int write_rows(struct writer *w, const struct target *t, int64_t *sent, int64_t *written,
                      struct err *err)
{
    const char **types = arena_calloc(w->a, w->ncols, sizeof(*types));
    const char *cols = column_list(w);
    const char *fam = w->c->family;
    if (match_columns(w, t, types, err) != 0)
        return -1;
    plan_binary(w, types);
    if (w->o.mode == MODE_APPEND)
        return copy_in(w, w->target, sent, written, err);
    if (stage(w, types, sent, err) != 0)
        return -1;
    const char *insert =
        arena_printf(w->a, "INSERT INTO %s (%s) SELECT %s FROM " STAGING, w->target, cols, cols);
    if (w->o.mode == MODE_REPLACE) {
        /* DELETE rather than TRUNCATE: it takes no exclusive lock (readers keep seeing the old
         * rows until COMMIT) and other transactions' snapshots stay consistent. */
        if (pgconn_command(w->c, arena_printf(w->a, "%s DELETE FROM %s", fam, w->display),
                           arena_printf(w->a, "DELETE FROM %s", w->target), 0, NULL, NULL,
                           err) != 0)
            return -1;
        return pgconn_command(w->c, arena_printf(w->a, "%s INSERT INTO %s", fam, w->display),
                              insert, 0, NULL, written, err);
    }
    struct strbuf keys = STRBUF_INIT;
    for (size_t k = 0; k < w->o.npk; k++)
        strbuf_addf(&keys, "%s%s", k ? ", " : "", pgconn_ident(w->a, w->o.pk[k]));
    const char *set = update_list(w);
    const char *sql = arena_printf(w->a, "%s ON CONFLICT (%s) DO %s%s", insert, strbuf_str(&keys),
                                   *set ? "UPDATE SET " : "NOTHING", set);
    strbuf_release(&keys);
    return pgconn_command(w->c, arena_printf(w->a, "%s upsert into %s", fam, w->display), sql, 0,
                          NULL, written, err);
}

/* ==== The driver ==== */

static int run(struct driver_ctx *ctx, struct err *err)
{
    struct writer w = { .ctx = ctx, .a = ctx->arena };
    uint64_t t0 = session_clock_ms();
    if (fsdriver_single_input(w.ctx, &w.in, err) != 0 || read_options(&w, err) != 0 ||
        plan_input(&w, err) != 0)
        return -1;
    w.target =
        arena_printf(w.a, "%s.%s", pgconn_ident(w.a, w.o.schema), pgconn_ident(w.a, w.o.table));
    w.display = arena_printf(w.a, "%s.%s", w.o.schema, w.o.table);
    event(&w, "write.start",
          json_pack("{s:s, s:s, s:I, s:I}", "table", w.display, "mode", modes[w.o.mode], "rows",
                    (json_int_t)w.in->rows, "batch_size", (json_int_t)w.o.batch_size));
    struct target t;
    const char *ddl_path = NULL;
    if (!(w.c = pgconn_open_step(ctx, (int)w.o.connect_timeout, err)) ||
        pgconn_begin(w.c, false, err) != 0 || read_target(&w, &t, err) != 0)
        return -1;
    if (!t.exists) {
        if (!w.o.create_if_missing)
            return err_set(err, ERR_DATA,
                           "table %s does not exist (create it, or set create_if_missing: true)",
                           w.display);
        if (create_table(&w, &ddl_path, err) != 0 || read_target(&w, &t, err) != 0)
            return -1;
    }
    int64_t sent = 0, written = 0;
    if (write_rows(&w, &t, &sent, &written, err) != 0)
        return -1;
    ctx->rows_in = sent;
    ctx->rows_out = written;
    /* Checked before COMMIT, so a write that went nowhere changes nothing. An upsert into a table
     * of key columns only (DO NOTHING) legitimately writes no row when every key is there. */
    bool keys_only = w.o.mode == MODE_UPSERT && !*update_list(&w);
    if (sent > 0 && written == 0 && !keys_only)
        return err_set(err, ERR_DATA, "received %lld rows but wrote none to %s", (long long)sent,
                       w.display);
    if (pgconn_commit(w.c, err) != 0)
        return -1;
    if (ctx->session && written < sent && w.o.mode != MODE_UPSERT)
        session_log(ctx->session, SESSION_WARNING,
                    "step '%s': %s kept %lld of the %lld rows written (a trigger or rule skipped "
                    "the others)",
                    ctx->step_id, w.display, (long long)written, (long long)sent);
    if (ddl_path)
        event(&w, "table.ddl_executed",
              json_pack("{s:s, s:s, s:s, s:b}", "table", w.display, "operation", "create_table",
                        "ddl_path", ddl_path, "executed", true));
    event(&w, "write.complete",
          json_pack("{s:s, s:s, s:I, s:s, s:I}", "table", w.display, "mode", modes[w.o.mode],
                    "rows_written", (json_int_t)written, "format", w.format, "duration_ms",
                    (json_int_t)(session_clock_ms() - t0)));
    if (ctx->session)
        session_log(ctx->session, SESSION_INFO, "step '%s': wrote %lld rows to %s (%s)",
                    ctx->step_id, (long long)written, w.display, modes[w.o.mode]);
    return 0;
}

const struct driver driver_postgres_writer = {
    .name = "postgres_writer",
    .run = run,
};
