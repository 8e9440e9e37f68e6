/* graphql.extractor: POSTs a GraphQL query and turns the records at data_path into the step's
 * table, page by page (records.h: each page goes into the data plane as it arrives).
 *
 * Fixed from the original (reference osiris-components.md §3.8, §5 items 3 and 12): endpoint,
 * auth and headers come from the connection (the original never read it, so compiled runs
 * could not authenticate); each page is requested once and its pageInfo read from that same
 * response (the original sent every page twice); a pageInfo that is missing fails the step
 * instead of silently ending the result; GraphQL errors fail at once and are never retried;
 * only network errors, timeouts, 429 and 5xx are retried, honouring Retry-After. */
#include "driver.h"
#include "fsdriver.h"
#include "graphql.h"
#include "http.h"
#include "records.h"
#include "suggest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef OSIRIS_VERSION
#define OSIRIS_VERSION "unknown"
#endif

static const char *const auth_types[] = { "none", "bearer", "basic", "api_key", NULL };
enum { AUTH_NONE, AUTH_BEARER, AUTH_BASIC, AUTH_API_KEY };
static const char *const pagination_types[] = { "cursor", "offset", NULL };
enum { PAGE_CURSOR, PAGE_OFFSET };

struct options {
    const char *endpoint, *query, *data_path;
    json_t *variables; /* owned copy: the pagination variable changes per page */
    json_t *headers;   /* owned: the connection's, then the step's over them */
    size_t auth;
    const char *token, *username, *auth_header;
    int64_t timeout, max_retries, max_pages;
    double retry_delay;
    bool paginate, flatten, validate_ssl;
    size_t page_type;
    const char *page_path, *cursor_field, *has_next_field, *cursor_var, *offset_var;
};

/* ==== Options ==== */

static int read_options(struct driver_ctx *ctx, struct options *o, struct err *err)
{
    const json_t *cfg = ctx->config;
    memset(o, 0, sizeof(*o));
    /* Connection fields read as if they were step options, with the step's over them. */
    json_t *merged = json_object();
    static const struct {
        const char *key;
        bool step_wins; /* allowed: the step's value wins; forbidden: the connection's */
    } conn_fields[] = {
        { "endpoint", true },     { "auth_type", true },      { "auth_header_name", true },
        { "auth_token", false },  { "auth_username", false }, { "timeout", true },
        { "validate_ssl", true },
    };
    for (size_t i = 0; i < NELEM(conn_fields); i++) {
        const json_t *v = driver_conn_field(ctx->config, ctx->connection, conn_fields[i].key,
                                            conn_fields[i].step_wins);
        if (v)
            json_object_set(merged, conn_fields[i].key, (json_t *)v);
    }
    int rc = fsdriver_opt_string(merged, "endpoint", NULL, &o->endpoint, err) ||
             fsdriver_opt_enum(merged, "auth_type", auth_types, AUTH_NONE, &o->auth, err) ||
             fsdriver_opt_string(merged, "auth_token", NULL, &o->token, err) ||
             fsdriver_opt_string(merged, "auth_username", NULL, &o->username, err) ||
             fsdriver_opt_string(merged, "auth_header_name", "X-API-Key", &o->auth_header, err) ||
             fsdriver_opt_int(merged, "timeout", 30, 1, &o->timeout, err) ||
             fsdriver_opt_bool(merged, "validate_ssl", true, &o->validate_ssl, err);
    /* Strings outlive merged: they point into the config or the connection, which stay. */
    json_decref(merged);
    if (rc || fsdriver_opt_string(cfg, "query", NULL, &o->query, err) ||
        fsdriver_opt_string(cfg, "data_path", "data", &o->data_path, err) ||
        fsdriver_opt_int(cfg, "max_retries", 3, 0, &o->max_retries, err) ||
        fsdriver_opt_int(cfg, "max_pages", 0, 0, &o->max_pages, err) ||
        fsdriver_opt_bool(cfg, "pagination_enabled", false, &o->paginate, err) ||
        fsdriver_opt_bool(cfg, "flatten_result", true, &o->flatten, err) ||
        fsdriver_opt_enum(cfg, "pagination_type", pagination_types, PAGE_CURSOR, &o->page_type,
                          err) ||
        fsdriver_opt_string(cfg, "pagination_path", "data.pageInfo", &o->page_path, err) ||
        fsdriver_opt_string(cfg, "pagination_cursor_field", "endCursor", &o->cursor_field, err) ||
        fsdriver_opt_string(cfg, "pagination_has_next_field", "hasNextPage", &o->has_next_field,
                            err) ||
        fsdriver_opt_string(cfg, "pagination_variable_name", "after", &o->cursor_var, err) ||
        fsdriver_opt_string(cfg, "pagination_offset_variable", "offset", &o->offset_var, err))
        return -1;
    const json_t *delay = json_object_get(cfg, "retry_delay");
    o->retry_delay = json_is_number(delay) ? json_number_value(delay) : 1.0;
    if (!o->endpoint || !*o->endpoint)
        return err_set(err, ERR_INPUT,
                       "no endpoint: give the step a connection (@graphql.NAME) with 'endpoint', "
                       "or the option 'endpoint'");
    if (!o->query || !*o->query)
        return err_set(err, ERR_INPUT, "option 'query' is required");
    if (o->auth != AUTH_NONE && (!o->token || !*o->token))
        return err_set(err, ERR_INPUT, "auth_type '%s' needs auth_token (from the connection)",
                       auth_types[o->auth]);
    if (o->auth == AUTH_BASIC && (!o->username || !*o->username))
        return err_set(err, ERR_INPUT,
                       "auth_type 'basic' needs auth_username (from the connection)");
    const json_t *vars = json_object_get(cfg, "variables");
    if (vars && !json_is_null(vars) && !json_is_object(vars))
        return err_set(err, ERR_INPUT, "option 'variables' must be a mapping");
    o->variables = json_is_object(vars) ? json_deep_copy(vars) : json_object();
    o->headers = json_object();
    const json_t *sources[] = { json_object_get(ctx->connection, "headers"),
                                json_object_get(cfg, "headers") };
    for (size_t i = 0; i < NELEM(sources); i++) {
        const char *name;
        json_t *v;
        if (sources[i] && !json_is_null(sources[i]) && !json_is_object(sources[i]))
            return err_set(err, ERR_INPUT, "'headers' must be a mapping of name to value");
        json_object_foreach((json_t *)sources[i], name, v)
        {
            if (!json_is_string(v))
                return err_set(err, ERR_INPUT, "header '%s' must be a string", name);
            json_object_set(o->headers, name, v);
        }
    }
    return 0;
}

/* ==== Paths ==== */

/* One segment of a path: a member name, then optionally [*] or [n]. */
struct segment {
    const char *name; /* in the arena; "" when the segment is only an index */
    enum { IX_NONE, IX_ALL, IX_ONE } index;
    size_t n;
};

/* "data.products.edges[*].node", with an optional "$." in front. */
static int parse_path(struct arena *a, const char *option, const char *path, struct segment **out,
                      size_t *nout, struct err *err)
{
    if (strncmp(path, "$.", 2) == 0)
        path += 2;
    else if (strcmp(path, "$") == 0)
        path = "";
    size_t cap = 1;
    for (const char *p = path; *p; p++)
        cap += *p == '.';
    struct segment *segs = arena_calloc(a, cap + 1, sizeof(*segs));
    size_t n = 0;
    for (const char *p = path; *p;) {
        const char *end = p + strcspn(p, ".[");
        struct segment *s = &segs[n++];
        s->name = arena_strndup(a, p, (size_t)(end - p));
        p = end;
        if (*p == '[') {
            char *close = strchr(p, ']');
            char *num_end = NULL;
            if (close && close == p + 2 && p[1] == '*')
                s->index = IX_ALL;
            else if (close && (s->n = strtoull(p + 1, &num_end, 10), num_end == close) &&
                     close > p + 1)
                s->index = IX_ONE;
            else
                return err_set(err, ERR_INPUT,
                               "option '%s': '%s' is not a path like data.items[*].node "
                               "(an index is [*] or [number])",
                               option, path);
            p = close + 1;
        }
        if (!*s->name && s->index == IX_NONE)
            return err_set(err, ERR_INPUT, "option '%s': '%s' has an empty field name", option,
                           path);
        if (*p == '.')
            p++;
        else if (*p)
            return err_set(err, ERR_INPUT, "option '%s': '%s' is not a path like data.items",
                           option, path);
    }
    *out = segs;
    *nout = n;
    return 0;
}

/* The values path selects in doc, appended to out (borrowed). A field that is not there is an
 * error naming it and the fields that are; null along the way selects nothing. */
static int select_path(const json_t *doc, const struct segment *segs, size_t n, const char *option,
                       const char *path, json_t *out, struct err *err)
{
    json_t *cur = json_array();
    json_array_append(cur, (json_t *)doc);
    for (size_t s = 0; s < n; s++) {
        json_t *next = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(cur, i, v)
        {
            if (json_is_null(v))
                continue;
            if (*segs[s].name) {
                json_t *m = json_is_object(v) ? json_object_get(v, segs[s].name) : NULL;
                if (!m) {
                    const char *keys[64];
                    size_t nk = 0;
                    const char *k;
                    json_t *ignored;
                    json_object_foreach(json_is_object(v) ? v : NULL, k, ignored) if (nk < 64)
                        keys[nk++] = k;
                    int best = suggest_closest(segs[s].name, keys, nk);
                    err_set(err, ERR_DATA,
                            "option '%s' ('%s'): the response has no field '%s'%s%s%s", option,
                            path, segs[s].name, best >= 0 ? "; did you mean '" : "",
                            best >= 0 ? keys[best] : "", best >= 0 ? "'?" : "");
                    json_decref(next);
                    json_decref(cur);
                    return -1;
                }
                v = m;
            }
            if (segs[s].index == IX_NONE || json_is_null(v))
                json_array_append(next, v);
            else if (!json_is_array(v)) {
                err_set(err, ERR_DATA, "option '%s' ('%s'): field '%s' is not a list", option, path,
                        segs[s].name);
                json_decref(next);
                json_decref(cur);
                return -1;
            } else if (segs[s].index == IX_ALL)
                json_array_extend(next, v);
            else if (segs[s].n < json_array_size(v))
                json_array_append(next, json_array_get(v, segs[s].n));
        }
        json_decref(cur);
        cur = next;
    }
    json_array_extend(out, cur);
    json_decref(cur);
    return 0;
}

/* ==== Requests ==== */

struct job {
    struct driver_ctx *ctx;
    struct options o;
    struct http_request rq;
    struct http_retry retry;
    struct segment *data_path, *page_path;
    size_t ndata, npage;
    int64_t pages;
    const char *category; /* why the last fetch_page() failed (http.h's categories), or NULL */
};

static void on_retry(void *data, int attempt, long status, const char *why, double wait_s)
{
    struct job *j = data;
    http_report_retry(j->ctx, "graphql.retry", "GraphQL", j->pages + 1, attempt, status, why,
                      wait_s);
}

static void build_request(struct job *j, struct http_header **headers)
{
    struct options *o = &j->o;
    struct arena *a = j->ctx->arena;
    size_t n = json_object_size(o->headers) + 4, k = 0;
    struct http_header *h = arena_calloc(a, n, sizeof(*h));
    bool has_type = false, has_agent = false;
    const char *name;
    json_t *v;
    if (o->auth == AUTH_BEARER)
        h[k++] = (struct http_header){ "Authorization", arena_printf(a, "Bearer %s", o->token) };
    else if (o->auth == AUTH_API_KEY)
        h[k++] = (struct http_header){ o->auth_header, o->token };
    /* The step's and the connection's headers may replace the auth header (as the original). */
    json_object_foreach(o->headers, name, v)
    {
        for (size_t i = 0; i < k; i++)
            if (strcasecmp(h[i].name, name) == 0)
                h[i] = h[--k];
        h[k++] = (struct http_header){ name, json_string_value(v) };
        has_type |= strcasecmp(name, "Content-Type") == 0;
        has_agent |= strcasecmp(name, "User-Agent") == 0;
    }
    if (!has_type)
        h[k++] = (struct http_header){ "Content-Type", "application/json" };
    if (!has_agent)
        h[k++] = (struct http_header){ "User-Agent", "osiris/" OSIRIS_VERSION };
    *headers = h;
    j->rq = (struct http_request){
        .url = o->endpoint,
        .headers = h,
        .nheaders = k,
        .user = o->auth == AUTH_BASIC ? o->username : NULL,
        .password = o->auth == AUTH_BASIC ? o->token : NULL,
        .timeout_s = (long)o->timeout,
        .insecure = !o->validate_ssl,
    };
    j->retry = (struct http_retry){ .max_retries = (int)o->max_retries,
                                    .delay_s = o->retry_delay,
                                    .on_retry = on_retry,
                                    .data = j };
}

/* Sends one page's request; the parsed response (a new reference) or NULL with err. */
static json_t *fetch_page(struct job *j, struct err *err)
{
    json_t *body = json_pack("{s:s, s:O}", "query", j->o.query, "variables", j->o.variables);
    struct http_response rs = { .body = STRBUF_INIT };
    json_t *doc = NULL;
    const char *what =
        arena_printf(j->ctx->arena, "page %lld of %s", (long long)(j->pages + 1), j->o.endpoint);
    int rc = http_post_json(&j->rq, &j->retry, body, &rs, err);
    json_decref(body);
    if (rc != 0) {
        j->category = rs.category;
        err_prefix(err, "%s: ", what);
    } else if (rs.status < 200 || rs.status >= 300) {
        j->category = http_status_category(rs.status);
        http_fail_status(&rs, what, err);
    } else {
        struct err perr = ERR_INIT;
        doc = jv_parse(rs.body.buf ? rs.body.buf : "", rs.body.len, "response", &perr);
        if (!json_is_object(doc)) {
            json_decref(doc);
            doc = NULL;
            j->category = "data";
            err_set(err, ERR_DATA, "%s: the response is not a JSON object%s%s", what,
                    perr.code ? ": " : "", perr.code ? perr.msg : "");
        }
    }
    strbuf_release(&rs.body);
    return doc;
}

/* GraphQL errors fail the step with the server's first message (and where it happened). */
static int check_errors(const json_t *doc, int64_t page, struct err *err)
{
    const json_t *errors = json_object_get(doc, "errors");
    if (!json_is_array(errors) || json_array_size(errors) == 0)
        return 0;
    const json_t *first = json_array_get(errors, 0);
    const char *msg = jv_str(first, "message");
    struct strbuf where = STRBUF_INIT;
    const json_t *path = json_object_get(first, "path");
    if (json_is_array(path)) {
        size_t i;
        json_t *p;
        json_array_foreach(path, i, p)
        {
            strbuf_adds(&where, i ? "." : " at ");
            jv_scalar(p, &where);
            if (json_is_string(p))
                strbuf_adds(&where, json_string_value(p));
        }
    }
    size_t more = json_array_size(errors) - 1;
    char extra[64] = "";
    if (more)
        snprintf(extra, sizeof(extra), " (and %zu more error%s)", more, more == 1 ? "" : "s");
    err_set(err, ERR_DRIVER, "GraphQL error on page %lld%s: %s%s", (long long)page,
            strbuf_str(&where), msg ? msg : "(no message)", extra);
    strbuf_release(&where);
    return -1;
}

/* Reads pageInfo from the page's response: 1 and the cursor when another page follows. */
static int next_cursor(struct job *j, const json_t *doc, const char **cursor, struct err *err)
{
    json_t *found = json_array();
    int rc =
        select_path(doc, j->page_path, j->npage, "pagination_path", j->o.page_path, found, err);
    const json_t *info = json_array_get(found, 0);
    if (rc == 0 && !json_is_object(info))
        rc = err_set(err, ERR_DATA,
                     "option 'pagination_path' ('%s'): no pageInfo object in the response of "
                     "page %lld",
                     j->o.page_path, (long long)j->pages);
    const json_t *has = json_object_get(info, j->o.has_next_field);
    const json_t *cur = json_object_get(info, j->o.cursor_field);
    if (rc == 0 && !json_is_boolean(has))
        rc = err_set(err, ERR_DATA, "pageInfo of page %lld has no boolean '%s'",
                     (long long)j->pages, j->o.has_next_field);
    if (rc == 0 && json_is_true(has) && !json_is_string(cur))
        rc = err_set(err, ERR_DATA, "pageInfo of page %lld says '%s' but has no cursor '%s'",
                     (long long)j->pages, j->o.has_next_field, j->o.cursor_field);
    if (rc == 0 && json_is_true(has))
        *cursor = arena_strdup(j->ctx->arena, json_string_value(cur));
    json_decref(found);
    return rc < 0 ? -1 : json_is_true(has);
}

static int extract(struct job *j, struct records *rec, struct err *err)
{
    const struct options *o = &j->o;
    int64_t first_page_rows = -1;
    for (;;) {
        json_t *doc = fetch_page(j, err);
        if (!doc)
            return -1;
        j->pages++;
        json_t *items = json_array();
        int rc = check_errors(doc, j->pages, err);
        if (rc == 0)
            rc = select_path(doc, j->data_path, j->ndata, "data_path", o->data_path, items, err);
        /* One match that is a list is the list of records; anything else, one record each. */
        if (rc == 0 && json_array_size(items) == 1 && json_is_array(json_array_get(items, 0))) {
            json_t *list = json_incref(json_array_get(items, 0));
            json_array_clear(items);
            json_array_extend(items, list);
            json_decref(list);
        }
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item) if (rc == 0 && !json_is_null(item)) rc =
            records_add(rec, item, err);
        int64_t rows = (int64_t)json_array_size(items);
        const char *cursor = NULL;
        int more = 0;
        if (rc == 0)
            rc = records_flush(rec, err);
        if (rc == 0 && o->paginate && o->page_type == PAGE_CURSOR)
            rc = more = next_cursor(j, doc, &cursor, err);
        else if (rc == 0 && o->paginate) /* offset: until a short or empty page */
            more = rows > 0 && (first_page_rows < 0 || rows >= first_page_rows);
        json_decref(items);
        json_decref(doc);
        if (rc < 0)
            return -1;
        if (first_page_rows < 0)
            first_page_rows = rows;
        session_event(j->ctx->session, "graphql.page",
                      json_pack("{s:s, s:I, s:I}", "step_id", j->ctx->step_id, "page",
                                (json_int_t)j->pages, "rows", (json_int_t)rows));
        if (!more || (o->max_pages > 0 && j->pages >= o->max_pages))
            return 0;
        if (o->page_type == PAGE_CURSOR)
            json_object_set_new(j->o.variables, o->cursor_var, json_string(cursor));
        else
            json_object_set_new(j->o.variables, o->offset_var, json_integer(records_count(rec)));
    }
}

static int run(struct driver_ctx *ctx, struct err *err)
{
    struct job j = { .ctx = ctx };
    struct records *rec = NULL;
    struct http_header *headers;
    int rc = read_options(ctx, &j.o, err);
    if (rc == 0)
        rc = parse_path(ctx->arena, "data_path", j.o.data_path, &j.data_path, &j.ndata, err);
    if (rc == 0 && j.o.paginate && j.o.page_type == PAGE_CURSOR)
        rc = parse_path(ctx->arena, "pagination_path", j.o.page_path, &j.page_path, &j.npage, err);
    if (rc == 0) {
        build_request(&j, &headers);
        rec = records_open(ctx->dp, ctx->arena, ctx->output, j.o.flatten, err);
        rc = rec ? extract(&j, rec, err) : -1;
    }
    if (rc == 0)
        rc = records_finish(rec, err);
    else
        records_abort(rec);
    if (rec)
        ctx->rows_out = records_count(rec);
    json_decref(j.o.variables);
    json_decref(j.o.headers);
    const char *step = ctx->step_id;
    session_metric(ctx->session, "requests_made", json_integer(j.retry.requests), "requests", step,
                   NULL);
    session_metric(ctx->session, "pages_fetched", json_integer(j.pages), "pages", step, NULL);
    /* rows_read is the runner's, from rows_out, as for every extractor. */
    return rc;
}

const struct driver driver_graphql_extractor = { "graphql_extractor", run };

/* ==== connections doctor ==== */

void graphql_doctor(const json_t *connection, int timeout_s, struct graphql_check *out)
{
    struct arena a;
    arena_init(&a);
    json_t *config = json_pack("{s:s, s:I}", "query", "{ __schema { queryType { name } } }",
                               "max_retries", (json_int_t)0);
    struct driver_ctx ctx = { .config = config, .connection = connection, .arena = &a };
    struct job j = { .ctx = &ctx };
    struct http_header *headers;
    struct err err = ERR_INIT;
    out->ok = false;
    out->category = NULL;
    strbuf_reset(&out->message);
    if (read_options(&ctx, &j.o, &err) != 0) {
        out->category = "config";
        strbuf_adds(&out->message, err.msg);
    } else {
        build_request(&j, &headers);
        j.rq.timeout_s = timeout_s > 0 ? timeout_s : 10;
        j.retry.on_retry = NULL;
        json_t *doc = fetch_page(&j, &err);
        const json_t *errors = json_object_get(doc, "errors");
        const char *first = jv_str(json_array_get(errors, 0), "message");
        if (!doc) {
            out->category = j.category ? j.category : "unknown";
            strbuf_adds(&out->message, err.msg);
        } else if (json_array_size(errors) == 0) {
            out->ok = true;
            strbuf_addf(&out->message, "GraphQL endpoint %s answered (query type %s)", j.o.endpoint,
                        jv_str(jv_pointer_get(doc, "/data/__schema/queryType"), "name")
                            ? jv_str(jv_pointer_get(doc, "/data/__schema/queryType"), "name")
                            : "unknown");
        } else if (first && strcasestr(first, "introspection")) {
            out->ok = true;
            strbuf_addf(&out->message, "GraphQL endpoint %s answered (introspection disabled)",
                        j.o.endpoint);
        } else {
            out->category = "query";
            strbuf_addf(&out->message, "GraphQL endpoint %s answered with an error: %s",
                        j.o.endpoint, first ? first : "(no message)");
        }
        json_decref(doc);
    }
    json_decref(j.o.variables);
    json_decref(j.o.headers);
    json_decref(config);
    arena_release(&a);
}
