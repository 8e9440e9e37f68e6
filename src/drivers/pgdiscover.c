/* Discovery of a PostgreSQL database (dbdiscover.h): the catalog for the tables, views,
 * columns (format_type, as psql's \d prints them) and primary keys of one schema, count(*) per
 * table (exact: pg_class.reltuples is an estimate, -1 before the first ANALYZE), and a sample
 * read in the drivers' session (UTC, ISO dates, bytea as hex). All in one read-only
 * transaction, so the counts and samples see one snapshot. */
#include "dbdiscover.h"
#include "pgconn.h"
#include "typemap.h"

#include <stdlib.h>
#include <string.h>

/* Relations of the schema: ordinary and partitioned tables, views, materialized views. */
static const char tables_sql[] =
    "SELECT c.relname, c.relkind IN ('v', 'm') FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY c.relname";

/* The last column is the column's position in the primary key (1-based), or NULL. */
static const char columns_sql[] =
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, a.atttypid, "
    "a.atttypmod, (SELECT array_position(i.indkey::int2[], a.attnum) - "
    "array_lower(i.indkey::int2[], 1) + 1 FROM pg_index i "
    "WHERE i.indrelid = c.oid AND i.indisprimary) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_attribute a ON a.attrelid = c.oid "
    "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY a.attnum";

static json_t *describe(struct pgconn *c, struct arena *a, const char *schema, const char *table,
                        bool view, long samples, struct err *err)
{
    const char *params[] = { schema, table };
    const char *rel = arena_printf(a, "%s.%s", pgconn_ident(a, schema), pgconn_ident(a, table));
    PGresult *cols = pgconn_query(c, "discovery (columns)", columns_sql, 2, params, err);
    if (!cols)
        return NULL;
    json_t *columns = json_array(), *pk = json_array();
    int ncols = PQntuples(cols);
    for (int i = 0; i < ncols; i++) {
        bool key = !PQgetisnull(cols, i, 5);
        const char *type = typemap_pg_to_duckdb(
            a, (unsigned)strtoul(PQgetvalue(cols, i, 3), NULL, 10), atoi(PQgetvalue(cols, i, 4)));
        json_array_append_new(
            columns,
            json_pack("{s:o, s:o, s:s, s:b, s:b}", "name", jv_text(PQgetvalue(cols, i, 0)), "type",
                      jv_text(PQgetvalue(cols, i, 1)), "duckdb_type", type, "nullable",
                      strcmp(PQgetvalue(cols, i, 2), "t") == 0, "primary_key", key));
    }
    /* The key in key order, which need not be the columns' order. */
    for (int pos = 1; pos <= ncols; pos++)
        for (int i = 0; i < ncols; i++)
            if (!PQgetisnull(cols, i, 5) && atoi(PQgetvalue(cols, i, 5)) == pos)
                json_array_append_new(pk, jv_text(PQgetvalue(cols, i, 0)));
    PQclear(cols);
    json_t *t = json_pack("{s:o, s:s, s:I, s:o, s:o}", "name", jv_text(table), "type",
                          view ? "view" : "table", "row_count", (json_int_t)0, "primary_key", pk,
                          "columns", columns);
    PGresult *count = pgconn_query(c, "discovery (count)",
                                   arena_printf(a, "SELECT count(*) FROM %s", rel), 0, NULL, err);
    PGresult *rows = count ? pgconn_query(c, "discovery (sample)",
                                          arena_printf(a, "SELECT * FROM %s LIMIT %ld", rel,
                                                       samples > 0 ? samples : 0),
                                          0, NULL, err)
                           : NULL;
    if (!rows) {
        PQclear(count);
        json_decref(t);
        return NULL;
    }
    json_object_set_new(t, "row_count", json_integer(strtoll(PQgetvalue(count, 0, 0), NULL, 10)));
    json_t *sample = json_array();
    for (int r = 0; r < PQntuples(rows); r++) {
        json_t *row = json_array();
        for (int f = 0; f < PQnfields(rows); f++)
            json_array_append_new(row, PQgetisnull(rows, r, f) ? json_null()
                                                               : jv_text(PQgetvalue(rows, r, f)));
        json_array_append_new(sample, row);
    }
    json_object_set_new(t, "sample", sample);
    PQclear(count);
    PQclear(rows);
    return t;
}

json_t *pgdiscover_run(const json_t *connection, const char *family,
                       const struct dbdiscover_opts *o, struct err *err)
{
    struct arena a = ARENA_INIT;
    const char *schema = o->schema ? o->schema : "public";
    struct pgconn_options po = {
        .connection = connection,
        .family = family,
        .application_name = "osiris discovery",
        .connect_timeout = o->timeout_s,
    };
    json_t *out = NULL;
    struct pgconn *c = pgconn_open(&a, &po, err);
    if (!c || pgconn_begin(c, true, err) != 0)
        goto done;
    /* Each query gets the timeout too, unless the connection sets its own. */
    if (!c->statement_timeout) {
        const char *params[] = { arena_printf(&a, "%ds", o->timeout_s) };
        if (pgconn_command(c, "discovery statement_timeout",
                           "SELECT pg_catalog.set_config('statement_timeout', $1, true)", 1, params,
                           NULL, err) != 0)
            goto done;
    }
    const char *params[] = { schema };
    PGresult *tables = pgconn_query(c, "discovery (tables)", tables_sql, 1, params, err);
    if (!tables)
        goto done;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(tables); i++) {
        json_t *t = describe(c, &a, schema, PQgetvalue(tables, i, 0),
                             strcmp(PQgetvalue(tables, i, 1), "t") == 0, o->samples, err);
        if (!t) {
            json_decref(list);
            list = NULL;
            break;
        }
        json_array_append_new(list, t);
    }
    PQclear(tables);
    if (list)
        out = json_pack("{s:o, s:o, s:o}", "database", jv_text(PQdb(c->conn)), "schema",
                        jv_text(schema), "tables", list);
done:
    arena_release(&a);
    return out;
}
