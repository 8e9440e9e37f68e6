/* JSON records into a typed data-plane table (records.h). */
#include "records.h"
#include "strbuf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct records {
    struct dataplane *dp;
    struct arena *a;
    const char *table, *staging; /* quoted identifiers */
    bool flatten;
    struct dp_appender *ap; /* open while records come */
    int64_t n;
    struct strbuf text; /* one record's JSON */
    /* DuckDB's column names ignore case, JSON keys do not: a key that differs from an earlier
     * one only in case ("Email" after "email") is renamed ("Email_2"), so neither column takes
     * the other's values. Both grow with the distinct keys, not the records. */
    json_t *by_lower; /* lower-case column name in use → true */
    json_t *column;   /* key → its column name */
    /* Column name → the type of its values so far ("NULL" while only nulls came), merged as
     * each record is added: memory grows with the columns, not the records. (DuckDB's
     * json_group_structure over the staging table needed more than the stream memory limit
     * for 100,000 records.) */
    json_t *types;
};

struct records *records_open(struct dataplane *dp, struct arena *a, const char *table, bool flatten,
                             struct err *err)
{
    static unsigned serial;
    struct records *r = arena_calloc(a, 1, sizeof(*r));
    r->dp = dp;
    r->a = a;
    r->table = table;
    r->flatten = flatten;
    r->by_lower = json_object();
    r->column = json_object();
    r->types = json_object();
    r->staging = dataplane_ident(a, arena_printf(a, "osiris_records_%u", ++serial));
    /* One JSON column; the table keeps the records' order (DuckDB preserves insertion order). */
    static const char *const names[] = { "rec" }, *const types[] = { "JSON" };
    const struct dp_columns cols = { 1, (const char **)names, (const char **)types };
    dataplane_exec(dp, arena_printf(a, "DROP TABLE IF EXISTS %s", r->staging), NULL);
    r->ap = dataplane_appender_open(dp, r->staging, &cols, err);
    return r->ap ? r : NULL;
}

/* Members of o into out, nested objects as prefix.key when flattening. */
static void flatten_into(json_t *out, const char *prefix, const json_t *o, bool flatten)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        char *name = NULL;
        if (prefix) {
            name = malloc(strlen(prefix) + strlen(key) + 2);
            sprintf(name, "%s.%s", prefix, key);
        }
        const char *k = name ? name : key;
        if (flatten && json_is_object(v) && json_object_size(v) > 0)
            flatten_into(out, k, v, flatten);
        else if (!json_object_get(out, k))
            json_object_set(out, k, v);
        free(name);
    }
}

static const char *column_name(struct records *r, const char *key)
{
    const char *known = jv_str(r->column, key);
    if (known)
        return known;
    struct strbuf low = STRBUF_INIT, name = STRBUF_INIT;
    strbuf_adds(&name, key);
    for (int n = 2;; n++) {
        strbuf_reset(&low);
        for (const char *c = name.buf; *c; c++)
            strbuf_addch(&low, *c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        if (!json_object_get(r->by_lower, low.buf))
            break;
        strbuf_reset(&name);
        strbuf_addf(&name, "%s_%d", key, n);
    }
    json_object_set_new(r->by_lower, low.buf, json_true());
    json_object_set_new(r->column, key, json_string(name.buf));
    strbuf_release(&low);
    strbuf_release(&name);
    return jv_str(r->column, key);
}

/* The column type of one JSON value. */
static const char *value_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        return "NULL";
    case JSON_INTEGER:
        return "BIGINT";
    case JSON_REAL:
        return "DOUBLE";
    case JSON_TRUE:
    case JSON_FALSE:
        return "BOOLEAN";
    case JSON_STRING:
        return "VARCHAR";
    default:
        return "JSON"; /* lists, objects */
    }
}

/* The type of a column that held a and now gets b: nulls take the other's type, integers
 * widen to DOUBLE, anything else that differs is JSON. */
static const char *merge_type(const char *a, const char *b)
{
    if (!a || strcmp(a, b) == 0 || strcmp(a, "NULL") == 0)
        return b;
    if (strcmp(b, "NULL") == 0)
        return a;
    if ((strcmp(a, "BIGINT") == 0 && strcmp(b, "DOUBLE") == 0) ||
        (strcmp(a, "DOUBLE") == 0 && strcmp(b, "BIGINT") == 0))
        return "DOUBLE";
    return "JSON";
}

int records_add(struct records *r, const json_t *record, struct err *err)
{
    json_t *row = json_object();
    if (json_is_object(record))
        flatten_into(row, NULL, record, r->flatten);
    else
        json_object_set(row, "value", (json_t *)record);
    json_t *named = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(row, key, v)
    {
        const char *col = column_name(r, key);
        const char *type = merge_type(jv_str(r->types, col), value_type(v));
        if (!jv_str(r->types, col) || strcmp(jv_str(r->types, col), type) != 0)
            json_object_set_new(r->types, col, json_string(type));
        json_object_set(named, col, v);
    }
    strbuf_reset(&r->text);
    jv_dump(named, &r->text, 0);
    json_decref(named);
    json_decref(row);
    if (dataplane_append_text(r->ap, r->text.buf, r->text.len, err) != 0 ||
        dataplane_append_end_row(r->ap, err) != 0)
        return -1;
    r->n++;
    return 0;
}

int records_flush(struct records *r, struct err *err)
{
    return dataplane_appender_flush(r->ap, err);
}

int64_t records_count(const struct records *r)
{
    return r->n;
}

/* A key null in every record whose flattened children are columns ("vendor" null where other
 * records have vendor.name): the children say all there is, so it gets no column of its own. */
static bool null_parent(const json_t *structure, const char *key, const json_t *t)
{
    if (!json_is_string(t) || strcmp(json_string_value(t), "NULL") != 0)
        return false;
    size_t n = strlen(key);
    const char *other;
    json_t *ignored;
    json_object_foreach((json_t *)structure, other, ignored)
    {
        if (strncmp(other, key, n) == 0 && other[n] == '.')
            return true;
    }
    return false;
}

/* What records_add() keeps: the appender, the text buffer, the name and type maps. */
static int release(struct records *r, struct err *err)
{
    int rc = dataplane_appender_close(r->ap, err);
    r->ap = NULL;
    strbuf_release(&r->text);
    json_decref(r->by_lower);
    json_decref(r->column);
    json_decref(r->types);
    r->by_lower = r->column = r->types = NULL;
    return rc;
}

int records_finish(struct records *r, struct err *err)
{
    struct arena *a = r->a;
    /* The columns' types; a column that only ever held null is VARCHAR. */
    json_t *types = json_object();
    const char *key;
    json_t *t;
    json_object_foreach(r->types, key, t)
    {
        const char *type = json_string_value(t);
        if (!null_parent(r->types, key, t))
            json_object_set_new(types, key,
                                json_string(strcmp(type, "NULL") == 0 ? "VARCHAR" : type));
    }
    int rc = release(r, err);
    if (rc == 0 && r->n == 0)
        rc = dataplane_exec(r->dp, arena_printf(a, "CREATE TABLE %s (record JSON)", r->table), err);
    else if (rc == 0) {
        struct strbuf spec = STRBUF_INIT;
        jv_dump(types, &spec, 0);
        rc = dataplane_exec(r->dp,
                            arena_printf(a,
                                         "CREATE TABLE %s AS SELECT unnest(json_transform(rec, "
                                         "%s)) FROM %s",
                                         r->table, dataplane_literal(a, strbuf_str(&spec)),
                                         r->staging),
                            err);
        strbuf_release(&spec);
    }
    json_decref(types);
    dataplane_exec(r->dp, arena_printf(a, "DROP TABLE IF EXISTS %s", r->staging), NULL);
    return rc;
}

void records_abort(struct records *r)
{
    if (!r)
        return;
    struct err ignored = ERR_INIT;
    release(r, &ignored);
    dataplane_exec(r->dp, arena_printf(r->a, "DROP TABLE IF EXISTS %s", r->staging), NULL);
}
