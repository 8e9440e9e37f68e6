/* postgres.extractor and supabase.extractor: reads a query's result, or a table with PostgREST-
 * style select/filter/order, into the step's DuckDB table. The statement is described first
 * (column types → typemap → the table's types), then streamed with COPY (...) TO STDOUT into the
 * data plane's appender a row at a time, so memory stays flat however many rows come.
 *
 * Filter values never enter the SQL text: they are parameters ($n) when the statement is
 * described, so the server infers each one's type from its column, and COPY, which takes no
 * parameters, reads them back from transaction-local settings (set_config with the value as a
 * parameter), cast to the inferred types. */
#include "driver.h"
#include "fsdriver.h"
#include "pgconn.h"
#include "pgcopy.h"
#include "typemap.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct options {
    const char *query;
    const char *table, *schema, *select, *order;
    const json_t *filter; /* object column → condition, or NULL */
    int64_t limit;        /* 0: all rows */
    int64_t offset;
    int64_t connect_timeout;
};

/* ==== Options ==== */

static const char *const table_only[] = {
    "schema", "select", "filter", "order", "limit", "offset"
};

static int read_options(const json_t *cfg, struct options *o, struct err *err)
{
    memset(o, 0, sizeof(*o));
    if (fsdriver_opt_string(cfg, "query", NULL, &o->query, err) != 0 ||
        fsdriver_opt_string(cfg, "table", NULL, &o->table, err) != 0 ||
        fsdriver_opt_string(cfg, "schema", "public", &o->schema, err) != 0 ||
        fsdriver_opt_string(cfg, "select", NULL, &o->select, err) != 0 ||
        fsdriver_opt_string(cfg, "order", NULL, &o->order, err) != 0 ||
        fsdriver_opt_int(cfg, "limit", 0, 1, &o->limit, err) != 0 ||
        fsdriver_opt_int(cfg, "offset", 0, 0, &o->offset, err) != 0 ||
        fsdriver_opt_int(cfg, "connect_timeout", 10, 1, &o->connect_timeout, err) != 0)
        return -1;
    if (o->query && !*o->query)
        o->query = NULL;
    if (o->table && !*o->table)
        o->table = NULL;
    if (!o->query == !o->table)
        return err_set(err, ERR_INPUT,
                       o->query ? "give either 'table' or 'query', not both"
                                : "either 'table' or 'query' must be specified for extraction");
    if (o->query) {
        for (size_t i = 0; i < NELEM(table_only); i++) {
            const json_t *v = json_object_get(cfg, table_only[i]);
            if (v && !json_is_null(v))
                return err_set(err, ERR_INPUT, "option '%s' goes with 'table', not with 'query'",
                               table_only[i]);
        }
    }
    const json_t *f = json_object_get(cfg, "filter");
    if (f && !json_is_null(f)) {
        if (!json_is_object(f))
            return err_set(err, ERR_INPUT,
                           "option 'filter' must be a mapping of column to condition");
        const char *col;
        const json_t *v;
        json_object_foreach((json_t *)f, col, v)
        {
            if (!json_is_string(v))
                return err_set(err, ERR_INPUT, "filter of column '%s' must be a string like eq.5",
                               col);
        }
        o->filter = f;
    }
    return 0;
}

/* ==== select, filter, order → SQL ==== */

/* One condition of `filter`. */
struct cond {
    const char *column;
    const char *op;    /* SQL between the column and the value: "=", "LIKE", "= ANY" ... */
    const char *value; /* the parameter's text, or NULL: op is complete ("IS NULL") */
    bool any;          /* value is an array: op ANY(value) */
};

static const struct {
    const char *name, *sql;
    bool pattern; /* PostgREST's '*' stands for '%' */
} compare_ops[] = {
    { "eq", "=", false },     { "neq", "<>", false },     { "gt", ">", false },
    { "gte", ">=", false },   { "lt", "<", false },       { "lte", "<=", false },
    { "like", "LIKE", true }, { "ilike", "ILIKE", true },
};

static const struct {
    const char *name, *sql;
} is_ops[] = {
    { "null", "IS NULL" },
    { "true", "IS TRUE" },
    { "false", "IS FALSE" },
};

/* PostgREST's in.(a,"b,c",d) list (without the parentheses) as a PostgreSQL array literal
 * {"a","b,c","d"}: items are separated by commas; a double-quoted item may hold commas and
 * \-escaped quotes. "" is the empty list. */
static const char *in_list(struct arena *a, const char *s, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addch(&sb, '{');
    for (size_t i = 0; n > 0;) {
        strbuf_adds(&sb, i ? ",\"" : "\"");
        bool quoted = i < n && s[i] == '"';
        if (quoted)
            i++;
        for (; i < n && (quoted ? s[i] != '"' : s[i] != ','); i++) {
            if (quoted && s[i] == '\\' && i + 1 < n)
                i++;
            if (s[i] == '"' || s[i] == '\\')
                strbuf_addch(&sb, '\\');
            strbuf_addch(&sb, s[i]);
        }
        strbuf_addch(&sb, '"');
        while (i < n && s[i] != ',') /* the closing quote (and anything after it) */
            i++;
        if (i++ >= n)
            break;
    }
    strbuf_addch(&sb, '}');
    return arena_take(a, &sb);
}

static int parse_cond(struct arena *a, const char *column, const char *spec, struct cond *c,
                      struct err *err)
{
    const char *dot = strchr(spec, '.');
    size_t oplen = dot ? (size_t)(dot - spec) : strlen(spec);
    const char *arg = dot ? dot + 1 : "";
    c->column = column;
    c->value = NULL;
    c->any = false;
    for (size_t i = 0; dot && i < NELEM(compare_ops); i++) {
        if (strlen(compare_ops[i].name) != oplen || strncmp(spec, compare_ops[i].name, oplen))
            continue;
        c->op = compare_ops[i].sql;
        char *v = arena_strdup(a, arg);
        for (char *p = v; compare_ops[i].pattern && *p; p++)
            if (*p == '*')
                *p = '%';
        c->value = v;
        return 0;
    }
    if (dot && oplen == 2 && strncmp(spec, "is", 2) == 0)
        for (size_t i = 0; i < NELEM(is_ops); i++)
            if (strcmp(arg, is_ops[i].name) == 0) {
                c->op = is_ops[i].sql;
                return 0;
            }
    size_t alen = strlen(arg);
    if (dot && oplen == 2 && strncmp(spec, "in", 2) == 0 && alen >= 2 && arg[0] == '(' &&
        arg[alen - 1] == ')') {
        c->op = "=";
        c->any = true;
        c->value = in_list(a, arg + 1, alen - 2);
        return 0;
    }
    return err_set(err, ERR_INPUT,
                   "filter of column '%s': '%s' is not a condition (eq, neq, gt, gte, lt, lte, "
                   "like or ilike followed by .value; is.null, is.true, is.false; in.(a,b))",
                   column, spec);
}

static const struct {
    const char *name, *sql;
} order_words[] = {
    { "asc", "ASC" },
    { "desc", "DESC" },
    { "nullsfirst", "NULLS FIRST" },
    { "nullslast", "NULLS LAST" },
};

/* "a.desc.nullslast,b" → "a" DESC NULLS LAST, "b" */
static int order_sql(struct arena *a, const char *order, struct strbuf *out, struct err *err)
{
    char *copy = arena_strdup(a, order), *save = NULL;
    bool first = true;
    for (char *entry = strtok_r(copy, ",", &save); entry; entry = strtok_r(NULL, ",", &save)) {
        char *dot = strchr(entry, '.');
        if (dot)
            *dot = '\0';
        if (!*entry)
            return err_set(err, ERR_INPUT, "option 'order': an entry has no column ('%s')", order);
        strbuf_addf(out, "%s%s", first ? "" : ", ", pgconn_ident(a, entry));
        first = false;
        for (char *w = dot ? dot + 1 : NULL; w;) {
            char *next = strchr(w, '.');
            if (next)
                *next++ = '\0';
            size_t k = 0;
            while (k < NELEM(order_words) && strcmp(w, order_words[k].name) != 0)
                k++;
            if (k == NELEM(order_words))
                return err_set(err, ERR_INPUT,
                               "option 'order': '%s' is not asc, desc, nullsfirst or nullslast", w);
            strbuf_addf(out, " %s", order_words[k].sql);
            w = next;
        }
    }
    return 0;
}

static int select_list(struct arena *a, const char *select, struct strbuf *out, struct err *err)
{
    if (!select || strcmp(select, "*") == 0) {
        strbuf_adds(out, "*");
        return 0;
    }
    char *copy = arena_strdup(a, select), *save = NULL;
    bool first = true;
    for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*c))
            c++;
        size_t n = strlen(c);
        while (n && isspace((unsigned char)c[n - 1]))
            c[--n] = '\0';
        if (!n)
            return err_set(err, ERR_INPUT, "option 'select': an empty column name in '%s'", select);
        strbuf_addf(out, "%s%s", first ? "" : ", ", pgconn_ident(a, c));
        first = false;
    }
    return 0;
}

/* The parsed filter: its conditions, nparams of which take a value. */
struct plan {
    struct cond *conds;
    size_t nconds, nparams;
};

static int plan_filter(struct arena *a, const struct options *o, struct plan *p, struct err *err)
{
    memset(p, 0, sizeof(*p));
    if (!o->filter)
        return 0;
    p->conds = arena_calloc(a, json_object_size(o->filter) + 1, sizeof(*p->conds));
    const char *col;
    const json_t *v;
    json_object_foreach((json_t *)o->filter, col, v)
    {
        struct cond *c = &p->conds[p->nconds++];
        if (parse_cond(a, col, json_string_value(v), c, err) != 0)
            return -1;
        if (c->value)
            p->nparams++;
    }
    return 0;
}

/* The table's SELECT; param[k] is how the k-th filter value is written: a $n placeholder to
 * describe the statement, a setting cast to its inferred type for COPY. */
static const char *table_sql(struct arena *a, const struct options *o, const struct plan *p,
                             const char *const *param, struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "SELECT ");
    if (select_list(a, o->select, &sb, err) != 0)
        goto fail;
    strbuf_addf(&sb, " FROM %s.%s", pgconn_ident(a, o->schema), pgconn_ident(a, o->table));
    for (size_t i = 0, k = 0; i < p->nconds; i++) {
        const struct cond *c = &p->conds[i];
        strbuf_addf(&sb, "%s%s %s", i ? " AND " : " WHERE ", pgconn_ident(a, c->column), c->op);
        if (c->value)
            strbuf_addf(&sb, c->any ? " ANY(%s)" : " %s", param[k++]);
    }
    if (o->order) {
        strbuf_adds(&sb, " ORDER BY ");
        if (order_sql(a, o->order, &sb, err) != 0)
            goto fail;
    }
    if (o->limit)
        strbuf_addf(&sb, " LIMIT %lld", (long long)o->limit);
    if (o->offset)
        strbuf_addf(&sb, " OFFSET %lld", (long long)o->offset);
    return arena_take(a, &sb);
fail:
    strbuf_release(&sb);
    return NULL;
}

/* The user's query without trailing semicolons and blanks (COPY (...) takes one statement). */
static const char *trim_query(struct arena *a, const char *q)
{
    size_t n = strlen(q);
    while (n && (isspace((unsigned char)q[n - 1]) || q[n - 1] == ';'))
        n--;
    return arena_strndup(a, q, n);
}

/* ==== Describe ==== */

struct described {
    struct dp_columns cols;      /* names (unique for DuckDB) and DuckDB types */
    enum typemap_pg_text *texts; /* what each column's COPY text needs */
    size_t nparams;
    const Oid *param_types; /* in the arena */
};

/* DuckDB's column names are case-insensitive and must be unique, PostgreSQL's result names need
 * not be (SELECT 1 AS a, 2 AS a): later duplicates get _1, _2 ... as DuckDB itself names them. */
static const char *unique_name(struct arena *a, const char **names, size_t n, const char *want)
{
    const char *name = want;
    for (int k = 1;; k++) {
        size_t i = 0;
        while (i < n && strcasecmp(names[i], name) != 0)
            i++;
        if (i == n)
            return name;
        name = arena_printf(a, "%s_%d", want, k);
    }
}

static int describe(struct pgconn *c, struct arena *a, const char *sql, int nparams,
                    struct described *d, struct err *err)
{
    const char *what = arena_printf(a, "%s query", c->family);
    PGresult *res = PQprepare(c->conn, "", sql, nparams, NULL);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        pgconn_fail(c, res, what, err);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    res = PQdescribePrepared(c->conn, "");
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        pgconn_fail(c, res, what, err);
        PQclear(res);
        return -1;
    }
    int n = PQnfields(res);
    int rc = 0;
    if (n == 0) {
        rc = err_set(err, ERR_INPUT,
                     "%s query returns no columns: the query must be a SELECT (or VALUES, or a "
                     "statement with RETURNING)",
                     c->family);
    } else if (PQnparams(res) != nparams) {
        rc = err_set(err, ERR_INPUT,
                     "%s query has %d parameter%s ($1 ...), but osiris passes none: write the "
                     "values into the query",
                     c->family, PQnparams(res), PQnparams(res) == 1 ? "" : "s");
    } else {
        d->cols.n = (size_t)n;
        d->cols.names = arena_calloc(a, (size_t)n, sizeof(*d->cols.names));
        d->cols.types = arena_calloc(a, (size_t)n, sizeof(*d->cols.types));
        d->texts = arena_calloc(a, (size_t)n, sizeof(*d->texts));
        for (int i = 0; i < n; i++) {
            d->cols.names[i] =
                unique_name(a, d->cols.names, (size_t)i, arena_strdup(a, PQfname(res, i)));
            d->cols.types[i] = typemap_pg_to_duckdb(a, PQftype(res, i), PQfmod(res, i));
            d->texts[i] = typemap_pg_text_of(PQftype(res, i));
        }
        Oid *pt = arena_calloc(a, (size_t)nparams + 1, sizeof(*pt));
        for (int i = 0; i < nparams; i++)
            pt[i] = PQparamtype(res, i);
        d->nparams = (size_t)nparams;
        d->param_types = pt;
    }
    PQclear(res);
    return rc;
}

/* Hands the filter values to the transaction as settings osiris.p1 ... and returns how COPY's
 * statement reads each back: CAST(current_setting('osiris.pN') AS <type the server inferred>).
 * The type is named without a modifier (typmod -1: bpchar, "bit", not character and bit, which
 * are char(1) and bit(1) and would cut the value short). */
static const char **bind_settings(struct pgconn *c, struct arena *a, const struct plan *p,
                                  const struct described *d, struct err *err)
{
    const char **param = arena_calloc(a, p->nparams + 1, sizeof(*param));
    for (size_t i = 0, k = 0; i < p->nconds; i++) {
        if (!p->conds[i].value)
            continue;
        const char *name = arena_printf(a, "osiris.p%zu", k + 1);
        const char *values[] = { name, p->conds[i].value,
                                 arena_printf(a, "%u", (unsigned)d->param_types[k]) };
        PGresult *res = pgconn_query(
            c, arena_printf(a, "%s filter", c->family),
            "SELECT pg_catalog.set_config($1, $2, true), pg_catalog.format_type($3::oid, -1)", 3,
            values, err);
        if (!res)
            return NULL;
        param[k] = arena_printf(a, "CAST(pg_catalog.current_setting('%s') AS %s)", name,
                                PQgetvalue(res, 0, 1));
        PQclear(res);
        k++;
    }
    return param;
}

/* ==== Streaming ==== */

static int append_row(struct dp_appender *ap, const struct described *d,
                      struct pgcopy_field *fields, struct strbuf *scratch, struct err *err)
{
    for (size_t i = 0; i < d->cols.n; i++) {
        struct pgcopy_field *f = &fields[i];
        int rc;
        if (!f->data) {
            rc = dataplane_append_null(ap, err);
        } else if (d->texts[i] == TYPEMAP_PG_BYTEA) {
            if (pgcopy_unhex(f) != 0)
                return err_set(err, ERR_DATA,
                               "row %lld, column '%s': bytea value is not in hex form",
                               (long long)dataplane_appender_rows(ap) + 1, d->cols.names[i]);
            rc = dataplane_append_blob(ap, f->data, f->len, err);
        } else if (d->texts[i] == TYPEMAP_PG_DATETIME && pgcopy_bc_to_duckdb(f, scratch)) {
            rc = dataplane_append_text(ap, scratch->buf, scratch->len, err);
        } else {
            if (d->texts[i] == TYPEMAP_PG_INTERVAL)
                pgcopy_interval_to_duckdb(f);
            rc = dataplane_append_text(ap, f->data, f->len, err);
        }
        if (rc != 0)
            return -1;
    }
    return dataplane_append_end_row(ap, err);
}

static int stream(struct pgconn *c, struct arena *a, const char *select, const struct described *d,
                  struct dp_appender *ap, struct err *err)
{
    const char *what = arena_printf(a, "%s COPY", c->family);
    /* On lines of their own, so a query ending in a -- comment keeps its closing parenthesis. */
    PGresult *res = PQexec(c->conn, arena_printf(a, "COPY (\n%s\n) TO STDOUT", select));
    if (!res || PQresultStatus(res) != PGRES_COPY_OUT) {
        pgconn_fail(c, res, what, err);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    struct pgcopy_field *fields = arena_calloc(a, d->cols.n, sizeof(*fields));
    struct strbuf scratch = STRBUF_INIT;
    int rc = 0, n;
    char *row = NULL;
    while ((n = PQgetCopyData(c->conn, &row, 0)) > 0) {
        if (pgcopy_decode_row(row, (size_t)n, fields, d->cols.n) != 0) {
            rc = err_set(err, ERR_DATA,
                         "%s failed: row %lld does not have the %zu fields the statement was "
                         "described with",
                         what, (long long)dataplane_appender_rows(ap) + 1, d->cols.n);
        } else if (append_row(ap, d, fields, &scratch, err) != 0) {
            /* A value the data plane refused (out of DuckDB's range, NaN in a DECIMAL ...). */
            err_prefix(err, "%s value does not fit its column (data): ", c->family);
            rc = -1;
        }
        PQfreemem(row);
        row = NULL;
        if (rc != 0)
            break;
    }
    strbuf_release(&scratch);
    /* The appender casts values a chunk at a time: the last ones are cast here. */
    if (rc == 0 && n == -1 && dataplane_appender_flush(ap, err) != 0) {
        err_prefix(err, "%s value does not fit its column (data): ", c->family);
        rc = -1;
    }
    /* On failure the connection is closed with the arena, which ends the COPY on the server. */
    if (rc != 0)
        return -1;
    if (pgconn_finish_results(c, what, NULL, err) != 0)
        return -1;
    return n == -2 ? pgconn_fail(c, NULL, what, err) : 0;
}

/* ==== The driver ==== */

static int run(struct driver_ctx *ctx, struct err *err)
{
    struct arena *a = ctx->arena;
    struct options o;
    struct plan p = { 0 };
    if (!ctx->output)
        return err_set(err, ERR_INTERNAL, "postgres_extractor runs in extract mode only");
    if (read_options(ctx->config, &o, err) != 0 || plan_filter(a, &o, &p, err) != 0)
        return -1;
    const char *sql = NULL;
    const char **placeholders = arena_calloc(a, p.nparams + 1, sizeof(*placeholders));
    for (size_t i = 0; i < p.nparams; i++)
        placeholders[i] = arena_printf(a, "$%zu", i + 1);
    if (o.query)
        sql = trim_query(a, o.query);
    else if (!(sql = table_sql(a, &o, &p, placeholders, err)))
        return -1;

    struct pgconn *c = pgconn_open_step(ctx, (int)o.connect_timeout, err);
    struct described d = { 0 };
    /* A read-only transaction: an extraction never changes the source, whatever the query. */
    if (!c || pgconn_begin(c, true, err) != 0 || describe(c, a, sql, (int)p.nparams, &d, err) != 0)
        return -1;
    if (p.nparams) {
        const char **settings = bind_settings(c, a, &p, &d, err);
        if (!settings || !(sql = table_sql(a, &o, &p, settings, err)))
            return -1;
    }
    struct dp_appender *ap = dataplane_appender_open(ctx->dp, ctx->output, &d.cols, err);
    if (!ap)
        return -1;
    int rc = stream(c, a, sql, &d, ap, err);
    if (rc == 0)
        rc = pgconn_commit(c, err);
    ctx->rows_out = dataplane_appender_rows(ap);
    if (dataplane_appender_close(ap, err) != 0)
        rc = -1;
    ctx->rows_in = ctx->rows_out;
    return rc;
}

const struct driver driver_postgres_extractor = {
    .name = "postgres_extractor",
    .run = run,
};
