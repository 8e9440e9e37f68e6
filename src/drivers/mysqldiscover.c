/* Discovery of a MySQL/MariaDB database (dbdiscover.h): information_schema for the tables,
 * columns and keys of the connection's database, COUNT(*) per table (exact: an estimate from
 * information_schema.tables.table_rows can be off by half for InnoDB), and the sample through
 * the same result metadata the extractor reads, so duckdb_type is what an extraction gives. */
#include "dbdiscover.h"
#include "mysqlconn.h"
#include "typemap.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* A sample value: text, or "\x" + hex for a column extracted as BLOB, NULL for SQL NULL. */
static json_t *sample_value(bool binary, const char *v, unsigned long len)
{
    if (!v)
        return json_null();
    if (!binary) {
        char *s = xstrndup(v, len);
        json_t *j = jv_text(s);
        free(s);
        return j;
    }
    static const char hex[] = "0123456789abcdef";
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "\\x");
    for (unsigned long i = 0; i < len; i++) {
        strbuf_addch(&sb, hex[(unsigned char)v[i] >> 4]);
        strbuf_addch(&sb, hex[(unsigned char)v[i] & 15]);
    }
    json_t *j = json_stringn(sb.buf, sb.len);
    strbuf_release(&sb);
    return j;
}

/* Fills columns' duckdb_type from the sample query's metadata and appends its rows. */
static int sample(struct mysqlconn *c, struct arena *a, const char *table, long n, json_t *t,
                  struct err *err)
{
    const char *sql =
        arena_printf(a, "SELECT * FROM %s LIMIT %ld", mysqlconn_ident(a, table), n > 0 ? n : 0);
    if (mysql_real_query(c->mysql, sql, strlen(sql)) != 0)
        return mysqlconn_fail(c, 0, 0, err);
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (!res)
        return mysqlconn_fail(c, 0, 0, err);
    unsigned nf = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    json_t *cols = json_object_get(t, "columns");
    bool *binary = arena_calloc(a, nf + 1, sizeof(*binary));
    for (unsigned i = 0; i < nf; i++) {
        const char *type = mysqlconn_duckdb_type(a, &f[i]);
        binary[i] = typemap_duckdb_is_binary(type);
        json_object_set_new(json_array_get(cols, i), "duckdb_type", json_string(type));
    }
    json_t *rows = json_array();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL) {
        unsigned long *len = mysql_fetch_lengths(res);
        json_t *r = json_array();
        for (unsigned i = 0; i < nf; i++)
            json_array_append_new(r, sample_value(binary[i], row[i], len[i]));
        json_array_append_new(rows, r);
    }
    mysql_free_result(res);
    json_object_set_new(t, "sample", rows);
    return 0;
}

/* One table: columns and keys from information_schema, the exact row count, the sample. */
static json_t *describe(struct mysqlconn *c, struct arena *a, const char *table, const char *type,
                        long samples, struct err *err)
{
    struct mysqlconn_rows cr, count;
    const char *lit = mysqlconn_literal(c, a, table, strlen(table));
    if (mysqlconn_query(c,
                        arena_printf(a,
                                     "SELECT column_name, column_type, is_nullable, column_key "
                                     "FROM information_schema.columns WHERE table_schema = "
                                     "DATABASE() AND table_name = %s ORDER BY ordinal_position",
                                     lit),
                        a, &cr, err) != 0 ||
        mysqlconn_query(c, arena_printf(a, "SELECT COUNT(*) FROM %s", mysqlconn_ident(a, table)), a,
                        &count, err) != 0)
        return NULL;
    json_t *cols = json_array(), *pk = json_array();
    for (size_t i = 0; i < cr.n; i++) {
        char **r = cr.rows[i];
        bool key = r[3] && strcmp(r[3], "PRI") == 0;
        json_array_append_new(cols,
                              json_pack("{s:o, s:o, s:n, s:b, s:b}", "name", jv_text(r[0]), "type",
                                        jv_text(r[1]), "duckdb_type", "nullable",
                                        r[2] && strcmp(r[2], "YES") == 0, "primary_key", key));
        if (key)
            json_array_append_new(pk, jv_text(r[0]));
    }
    json_t *t = json_pack("{s:o, s:s, s:I, s:o, s:o}", "name", jv_text(table), "type",
                          strcmp(type, "VIEW") == 0 ? "view" : "table", "row_count",
                          (json_int_t)(count.n ? strtoll(count.rows[0][0], NULL, 10) : 0),
                          "primary_key", pk, "columns", cols);
    if (sample(c, a, table, samples, t, err) != 0) {
        json_decref(t);
        return NULL;
    }
    return t;
}

json_t *mysqldiscover_run(const json_t *connection, const struct dbdiscover_opts *o,
                          struct err *err)
{
    struct arena a = ARENA_INIT;
    struct mysqlconn_params p;
    json_t *out = NULL;
    if (mysqlconn_params_read(NULL, connection, &p, err) != 0)
        goto done;
    p.connect_timeout = p.read_timeout = p.write_timeout = (unsigned)o->timeout_s;
    struct mysqlconn *c = mysqlconn_open(&a, &p, err);
    struct mysqlconn_rows tables;
    if (!c || mysqlconn_query(c,
                              "SELECT table_name, table_type FROM information_schema.tables "
                              "WHERE table_schema = DATABASE() ORDER BY table_name",
                              &a, &tables, err) != 0)
        goto done;
    json_t *list = json_array();
    for (size_t i = 0; i < tables.n; i++) {
        json_t *t = describe(c, &a, tables.rows[i][0], tables.rows[i][1], o->samples, err);
        if (!t) {
            json_decref(list);
            goto done;
        }
        json_array_append_new(list, t);
    }
    out = json_pack("{s:o, s:o}", "database", jv_text(p.database), "tables", list);
done:
    arena_release(&a);
    return out;
}
