/* posthog.extractor: events or persons from PostHog's HogQL query API into the step's table, one
 * page at a time (keyset pagination; records.h puts each page into the data plane as it arrives),
 * incrementally: the position reached goes to <artifacts>/state.json, which the runner keeps only
 * when the whole run succeeds, and the next run starts there, lookback_window_minutes earlier.
 *
 * Fixed from the original (reference osiris-components.md §3.9, §5 item 6): the state is read and
 * written; the lookback re-reads rows (the keyset applies within a run only) and the rows an
 * earlier run delivered are skipped by uuid / id, so late rows are caught without duplicates;
 * keyset positions keep microseconds, so any number of rows sharing a second pages correctly;
 * every value put into HogQL is an escaped string literal; step region / custom_base_url apply. */
#include "dbdiscover.h"
#include "driver.h"
#include "files.h"
#include "fsdriver.h"
#include "http.h"
#include "records.h"
#include "runindex.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef OSIRIS_VERSION
#define OSIRIS_VERSION "unknown"
#endif

#define RECENT_MAX         10000 /* keys kept in the state for deduplication */
#define RECENT_SPAN_MIN    60 /* ... of the rows this close to the position (the largest lookback) */
#define DEFAULT_SINCE_DAYS 30 /* a first run without initial_since starts this long ago */
#define REQUEST_TIMEOUT_S  30
#define MAX_RETRIES        5 /* 429 / 5xx / network: waits 1, 2, 4, 8, 16 s unless Retry-After */
#define US_PER_MIN         (60 * INT64_C(1000000))

/* ==== What is extracted ==== */

/* What differs between the data types. */
static const struct kind {
    const char *name;         /* data_type */
    const char *select;       /* the HogQL select list */
    const char *table;        /* the HogQL table */
    const char *ts;           /* time column: the window and the first ordering column */
    const char *key;          /* unique key: the second ordering column and the dedup key */
    const char *prefix;       /* column name of a property: prefix + property name */
    const char *state;        /* the state member holding this type's position */
    const char *state_ts;     /* ... its time member */
    const char *state_key;    /* ... its key member */
    const char *state_recent; /* ... its list of recently delivered keys */
    const char *empty;        /* the table's columns when no row is delivered */
} kinds[] = {
    { "events", "uuid, event, timestamp, distinct_id, person_id, properties", "events", "timestamp",
      "uuid", "properties_", "events_state", "last_timestamp", "last_uuid", "recent_uuids",
      "uuid VARCHAR, event VARCHAR, \"timestamp\" TIMESTAMPTZ, distinct_id VARCHAR, "
      "person_id VARCHAR" },
    { "persons", "id, created_at, is_identified, properties", "persons", "created_at", "id",
      "person_properties_", "persons_state", "last_created_at", "last_id", "recent_ids",
      "id VARCHAR, created_at TIMESTAMPTZ, is_identified BOOLEAN" },
};

static const char *const data_types[] = { "events", "persons", NULL };
static const char *const regions[] = { "us", "eu", "self_hosted", NULL };
static const char *const region_urls[] = { "https://us.posthog.com", "https://eu.posthog.com" };
enum { REGION_SELF_HOSTED = 2 };

/* ==== Time ==== */

/* "YYYY-MM-DDThh:mm:ss.ffffffZ" of microseconds since the epoch. */
static void format_ts(int64_t us, char buf[64])
{
    time_t secs = (time_t)(us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
    int frac = (int)(us - (int64_t)secs * 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, 64, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 64 - n, ".%06dZ", frac);
}

/* ==== Options ==== */

struct options {
    const struct kind *kind;
    const char *api_key;       /* the connection's only; never in a message */
    const char *project_id;    /* the connection's only */
    const char *base_url;      /* without a trailing slash; in the arena */
    const json_t *event_types; /* a list of names, or NULL; borrowed from the config */
    int64_t lookback_min;      /* lookback_window_minutes */
    int64_t page_size;
    bool has_since;   /* initial_since was given */
    int64_t since_us; /* ... as microseconds since the epoch */
    bool dedup;       /* deduplication_enabled */
};

static int read_connection(struct driver_ctx *ctx, struct options *o, struct err *err)
{
    struct arena *a = ctx->arena;
    const json_t *conn = ctx->connection;
    if (!conn)
        return err_set(err, ERR_INPUT,
                       "no PostHog connection: give the step connection: \"@posthog.NAME\" (an "
                       "alias of osiris_connections.yaml with api_key and project_id)");
    o->api_key = jv_str(conn, "api_key");
    if (!o->api_key || !*o->api_key)
        return err_set(err, ERR_INPUT, "the PostHog connection has no api_key");
    /* Only the connection's project_id: the step may not override it (a YAML number is fine). */
    const json_t *pid = json_object_get(conn, "project_id");
    if (json_is_integer(pid))
        o->project_id = arena_printf(a, "%lld", (long long)json_integer_value(pid));
    else
        o->project_id = json_string_value(pid);
    if (!o->project_id || !*o->project_id)
        return err_set(err, ERR_INPUT, "the PostHog connection has no project_id");
    /* It becomes part of the URL path. */
    if (strspn(o->project_id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") !=
        strlen(o->project_id))
        return err_set(err, ERR_INPUT,
                       "the PostHog connection's project_id '%s' is not a project id (letters, "
                       "digits, '_' and '-')",
                       o->project_id);
    json_t *merged = json_object();
    static const char *const fields[] = { "region", "custom_base_url" };
    for (size_t i = 0; i < NELEM(fields); i++) {
        /* x-connection-fields allowed: the step's wins. */
        const json_t *v = driver_conn_field(ctx->config, ctx->connection, fields[i], true);
        if (v)
            json_object_set(merged, fields[i], (json_t *)v);
    }
    size_t region;
    const char *url = NULL;
    int rc = fsdriver_opt_enum(merged, "region", regions, 0, &region, err) ||
             fsdriver_opt_string(merged, "custom_base_url", NULL, &url, err);
    if (rc == 0 && region == REGION_SELF_HOSTED && (!url || !*url))
        rc = err_set(
            err, ERR_INPUT,
            "A self_hosted region requires custom_base_url (in the connection or the step)");
    if (rc == 0 && region == REGION_SELF_HOSTED && strncmp(url, "http://", 7) != 0 &&
        strncmp(url, "https://", 8) != 0)
        rc = err_set(err, ERR_INPUT, "custom_base_url '%s' is not an http:// or https:// URL", url);
    if (rc == 0) {
        const char *base = region == REGION_SELF_HOSTED ? url : region_urls[region];
        size_t len = strlen(base);
        while (len > 0 && base[len - 1] == '/')
            len--;
        o->base_url = arena_strndup(a, base, len);
    }
    json_decref(merged); /* url is copied above */
    return rc ? -1 : 0;
}

static int read_options(struct driver_ctx *ctx, struct options *o, struct err *err)
{
    const json_t *cfg = ctx->config;
    memset(o, 0, sizeof(*o));
    size_t type;
    const char *since = NULL;
    if (!json_object_get(cfg, "data_type"))
        return err_set(err, ERR_INPUT, "option 'data_type' is required (events or persons)");
    if (fsdriver_opt_enum(cfg, "data_type", data_types, 0, &type, err) ||
        fsdriver_opt_int(cfg, "lookback_window_minutes", 15, 5, &o->lookback_min, err) ||
        fsdriver_opt_int(cfg, "page_size", 1000, 100, &o->page_size, err) ||
        fsdriver_opt_bool(cfg, "deduplication_enabled", true, &o->dedup, err) ||
        fsdriver_opt_string(cfg, "initial_since", NULL, &since, err))
        return -1;
    o->kind = &kinds[type];
    if (o->lookback_min > 60)
        return err_set(err, ERR_INPUT,
                       "option 'lookback_window_minutes' must be at most 60, not %lld",
                       (long long)o->lookback_min);
    if (o->page_size > 10000)
        return err_set(err, ERR_INPUT, "option 'page_size' must be at most 10000, not %lld",
                       (long long)o->page_size);
    if (since) {
        if (runindex_parse_time(since, &o->since_us) != 0)
            return err_set(err, ERR_INPUT,
                           "option 'initial_since': '%s' is not an ISO 8601 date or timestamp "
                           "(such as 2024-01-01 or 2024-01-01T00:00:00Z)",
                           since);
        o->has_since = true;
    }
    const json_t *types = json_object_get(cfg, "event_types");
    if (types && !json_is_null(types)) {
        size_t i;
        const json_t *v;
        if (!json_is_array(types) || json_array_size(types) == 0)
            return err_set(err, ERR_INPUT,
                           "option 'event_types' must be a non-empty list of names");
        json_array_foreach(types, i, v)
        {
            if (!json_is_string(v) || !*json_string_value(v))
                return err_set(err, ERR_INPUT,
                               "option 'event_types' must list event names (non-empty strings)");
        }
        if (o->kind != &kinds[0])
            return err_set(err, ERR_INPUT, "option 'event_types' applies to data_type events only");
        o->event_types = types;
    }
    return read_connection(ctx, o, err);
}

/* ==== HogQL ==== */

/* s as a HogQL string literal: quotes and backslashes escaped, and the control characters the
 * HogQL lexer knows by their escapes (as PostHog's own escape_hogql_string does). */
static void hogql_string(struct strbuf *sb, const char *s)
{
    strbuf_addch(sb, '\'');
    for (; *s; s++) {
        static const char from[] = "\\'\b\f\r\n\t\a\v", to[] = "\\'bfrntav";
        const char *hit = strchr(from, *s);
        if (hit) {
            strbuf_addch(sb, '\\');
            strbuf_addch(sb, to[hit - from]);
        } else {
            strbuf_addch(sb, *s);
        }
    }
    strbuf_addch(sb, '\'');
}

/* toDateTime64('YYYY-MM-DD hh:mm:ss.ffffff', 6, 'UTC'): microseconds, and UTC whatever the
 * project's time zone (HogQL adds the project's zone to a time function given no zone). */
static void hogql_time(struct strbuf *sb, int64_t us)
{
    char t[64];
    format_ts(us, t);
    /* A space for the T and no Z: toDateTime64 takes the zone as its argument. */
    *strchr(t, 'T') = ' ';
    *strchr(t, 'Z') = '\0';
    strbuf_adds(sb, "toDateTime64(");
    hogql_string(sb, t);
    strbuf_adds(sb, ", 6, 'UTC')");
}

/* A keyset position: the last row's time and key. */
struct position {
    bool set;
    int64_t ts;
    char *key; /* owned (malloc) */
};

static void position_set(struct position *p, int64_t ts, const char *key)
{
    free(p->key);
    p->set = true;
    p->ts = ts;
    p->key = xstrdup(key);
}

/* The query of one page: the window [since, until), the event names, and after the last row of
 * the previous page (time, then key: rows sharing a time are neither skipped nor repeated). */
static void build_query(struct strbuf *q, const struct options *o, int64_t since, int64_t until,
                        const struct position *after)
{
    const struct kind *k = o->kind;
    strbuf_reset(q);
    strbuf_addf(q, "SELECT %s FROM %s WHERE %s >= ", k->select, k->table, k->ts);
    hogql_time(q, since);
    strbuf_addf(q, " AND %s < ", k->ts);
    hogql_time(q, until);
    if (o->event_types) {
        size_t i;
        const json_t *v;
        strbuf_adds(q, " AND event IN (");
        json_array_foreach(o->event_types, i, v)
        {
            if (i)
                strbuf_adds(q, ", ");
            hogql_string(q, json_string_value(v));
        }
        strbuf_addch(q, ')');
    }
    if (after->set) {
        strbuf_addf(q, " AND (%s > ", k->ts);
        hogql_time(q, after->ts);
        strbuf_addf(q, " OR (%s = ", k->ts);
        hogql_time(q, after->ts);
        strbuf_addf(q, " AND %s > ", k->key);
        hogql_string(q, after->key);
        strbuf_adds(q, "))");
    }
    strbuf_addf(q, " ORDER BY %s ASC, %s ASC LIMIT %lld", k->ts, k->key, (long long)o->page_size);
}

/* ==== Keys seen ==== */

/* The keys an earlier run delivered (borrowed from the old state): an open-addressing set. */
struct keyset {
    const char **slots;
    size_t mask;
};

static size_t key_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static void keyset_init(struct keyset *ks, struct arena *a, const json_t *list)
{
    size_t cap = 16;
    while (cap < 2 * json_array_size(list) + 1)
        cap *= 2;
    ks->slots = arena_calloc(a, cap, sizeof(*ks->slots));
    ks->mask = cap - 1;
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *key = json_string_value(v);
        if (!key)
            continue;
        size_t h = key_hash(key) & ks->mask;
        while (ks->slots[h] && strcmp(ks->slots[h], key) != 0)
            h = (h + 1) & ks->mask;
        ks->slots[h] = key;
    }
}

static bool keyset_has(const struct keyset *ks, const char *key)
{
    for (size_t h = key_hash(key) & ks->mask; ks->slots[h]; h = (h + 1) & ks->mask)
        if (strcmp(ks->slots[h], key) == 0)
            return true;
    return false;
}

/* The last RECENT_MAX rows read (delivered or skipped), oldest first: the next state's keys. */
struct recent {
    int64_t ts[RECENT_MAX];
    char *key[RECENT_MAX]; /* owned (malloc) */
    size_t head, n;        /* the oldest entry, and how many there are */
    bool dropped;          /* an entry was pushed out ... */
    int64_t dropped_ts;    /* ... the latest time of one */
};

static void recent_push(struct recent *r, int64_t ts, const char *key)
{
    size_t i = (r->head + r->n) % RECENT_MAX;
    if (r->n == RECENT_MAX) {
        r->dropped = true;
        r->dropped_ts = r->ts[i];
        free(r->key[i]);
        r->head = (r->head + 1) % RECENT_MAX;
    } else {
        r->n++;
    }
    r->ts[i] = ts;
    r->key[i] = xstrdup(key);
}

static void recent_release(void *data)
{
    struct recent *r = data;
    for (size_t i = 0; i < r->n; i++)
        free(r->key[(r->head + i) % RECENT_MAX]);
    free(r);
}

/* ==== State ==== */

/* Where an earlier successful run stopped. */
struct state {
    json_t *doc;          /* the whole state file, or NULL for a first run; owned */
    struct position pos;  /* the last row delivered */
    bool has_end;         /* no row yet, but an earlier run read up to end */
    int64_t end;          /* ... (window_end) */
    const json_t *recent; /* keys delivered near pos (a list of strings), or NULL; in doc */
    struct keyset seen;   /* ... as a set */
};

static int state_bad(struct err *err, const char *path, const char *what)
{
    return err_set(err, ERR_INPUT,
                   "the saved state %s %s; delete the file to start again from initial_since", path,
                   what);
}

/* Reads the step's state file (none: a first run). Also takes the original's shapes: a flat
 * {last_timestamp, last_uuid} and recent_uuids beside events_state. */
static int state_load(struct driver_ctx *ctx, const struct kind *k, struct state *st,
                      struct err *err)
{
    memset(st, 0, sizeof(*st));
    keyset_init(&st->seen, ctx->arena, NULL);
    if (!ctx->state_path || !files_exists(ctx->state_path))
        return 0;
    struct strbuf text = STRBUF_INIT;
    if (files_read(ctx->state_path, &text, err) != 0)
        return -1;
    struct err perr = ERR_INIT;
    st->doc = jv_parse(strbuf_str(&text), text.len, ctx->state_path, &perr);
    strbuf_release(&text);
    if (!json_is_object(st->doc))
        return state_bad(err, ctx->state_path, "is not a JSON object");
    const json_t *sub = json_object_get(st->doc, k->state);
    if (!sub && k == &kinds[0] && json_object_get(st->doc, "last_timestamp"))
        sub = st->doc;
    if (!sub)
        return 0;
    if (!json_is_object(sub))
        return state_bad(err, ctx->state_path,
                         arena_printf(ctx->arena, "has no object %s", k->state));
    const char *ts = jv_str(sub, k->state_ts), *key = jv_str(sub, k->state_key);
    const char *end = jv_str(sub, "window_end");
    int64_t us;
    if (ts) {
        if (runindex_parse_time(ts, &us) != 0 || !key)
            return state_bad(
                err, ctx->state_path,
                arena_printf(ctx->arena, "has no valid %s and %s", k->state_ts, k->state_key));
        position_set(&st->pos, us, key);
    }
    if (end && runindex_parse_time(end, &st->end) == 0)
        st->has_end = true;
    st->recent = json_object_get(sub, k->state_recent);
    if (!st->recent && k == &kinds[0])
        st->recent = json_object_get(st->doc, "recent_uuids");
    if (st->recent && !json_is_array(st->recent))
        st->recent = NULL;
    keyset_init(&st->seen, ctx->arena, st->recent);
    return 0;
}

/* The new state into <artifacts>/state.json: the old document (other data types keep their
 * positions) with this type's position, window end and recent keys. */
static int state_save(struct driver_ctx *ctx, const struct options *o, const struct state *old,
                      const struct position *pos, int64_t until, const struct recent *r,
                      bool read_any, struct err *err)
{
    const struct kind *k = o->kind;
    json_t *doc = json_is_object(old->doc) ? json_deep_copy(old->doc) : json_object();
    /* The original's shapes, now under <type>_state. */
    static const char *const legacy[] = { "last_timestamp", "last_uuid", "recent_uuids" };
    for (size_t i = 0; i < NELEM(legacy); i++)
        json_object_del(doc, legacy[i]);
    json_t *sub = json_object();
    char t[64];
    if (pos->set) {
        format_ts(pos->ts, t);
        json_object_set_new(sub, k->state_ts, json_string(t));
        json_object_set_new(sub, k->state_key, json_string(pos->key));
    }
    format_ts(until, t);
    json_object_set_new(sub, "window_end", json_string(t));
    json_t *keys = json_array();
    if (!read_any && old->recent) {
        json_array_extend(keys, (json_t *)old->recent);
    } else if (pos->set) {
        /* What a later window can read again: rows within the largest lookback of the position
         * (so a larger lookback next time still finds them), at most RECENT_MAX. */
        for (size_t i = 0; i < r->n; i++) {
            size_t at = (r->head + i) % RECENT_MAX;
            if (r->ts[at] >= pos->ts - RECENT_SPAN_MIN * US_PER_MIN)
                json_array_append_new(keys, json_string(r->key[at]));
        }
    }
    json_object_set_new(sub, k->state_recent, keys);
    json_object_set_new(doc, k->state, sub);
    json_object_set_new(doc, "version", json_integer(1));
    struct strbuf text = STRBUF_INIT;
    jv_dump(doc, &text, JV_PRETTY | JV_SORT);
    strbuf_addch(&text, '\n');
    json_decref(doc);
    int rc = files_write_atomic(arena_printf(ctx->arena, "%s/state.json", ctx->artifacts_dir),
                                text.buf, text.len, 0600, err);
    strbuf_release(&text);
    return rc;
}

/* ==== Requests ==== */

struct job {
    struct driver_ctx *ctx;
    struct options o;
    struct http_request rq;
    struct http_retry retry;
    const char *url;
    int64_t pages, deduplicated;
    int page_first_request; /* retry.requests before the current page's first request */
};

static void on_retry(void *data, int attempt, long status, const char *why, double wait_s)
{
    struct job *j = data;
    http_report_retry(j->ctx, "posthog.retry", "PostHog", j->pages + 1, attempt, status, why,
                      wait_s);
}

/* "detail" of PostHog's JSON error body, else the body's start; one line, at most 300 bytes. */
static void error_detail(const struct http_response *rs, char out[HTTP_EXCERPT])
{
    struct err ignored = ERR_INIT;
    json_t *doc = rs->body.len ? jv_parse(rs->body.buf, rs->body.len, "error", &ignored) : NULL;
    const char *detail = jv_str(doc, "detail");
    http_excerpt(detail ? detail : rs->body.buf, out);
    json_decref(doc);
}

/* An HTTP error status as one line. Neither the key nor (for 401/403) the body is shown: a
 * server may echo what it was sent. */
static int fail_status(struct job *j, const struct http_response *rs, struct err *err)
{
    const struct options *o = &j->o;
    char detail[HTTP_EXCERPT];
    switch (rs->status) {
    case 401:
        return err_set(err, ERR_DRIVER,
                       "auth: PostHog rejected the connection's api_key (HTTP 401) at %s; check "
                       "the personal API key of the connection",
                       o->base_url);
    case 403:
        return err_set(err, ERR_DRIVER,
                       "permission: the connection's api_key may not query project %s at %s "
                       "(HTTP 403); it needs the query:read scope on that project",
                       o->project_id, o->base_url);
    case 404:
        return err_set(err, ERR_DRIVER, "config: PostHog project %s not found at %s (HTTP 404)",
                       o->project_id, o->base_url);
    case 429:
        return err_set(err, ERR_DRIVER,
                       "network: PostHog is still rate limiting (HTTP 429) after %d requests for "
                       "page %lld",
                       j->retry.requests - j->page_first_request, (long long)(j->pages + 1));
    }
    error_detail(rs, detail);
    if (rs->status >= 500)
        return err_set(err, ERR_DRIVER,
                       "network: PostHog failed (HTTP %ld) after %d requests for "
                       "page %lld%s%s",
                       rs->status, j->retry.requests - j->page_first_request,
                       (long long)(j->pages + 1), *detail ? ": " : "", detail);
    return err_set(err, ERR_DRIVER,
                   "%s: PostHog refused the HogQL query of page %lld (HTTP %ld)%s%s",
                   http_status_category(rs->status), (long long)(j->pages + 1), rs->status,
                   *detail ? ": " : "", detail);
}

/* Sends one query; the parsed response (a new reference: an object with the arrays columns and
 * results) or NULL with err. */
static json_t *fetch_page(struct job *j, const char *hogql, struct err *err)
{
    json_t *body = json_pack("{s:{s:s, s:s}}", "query", "kind", "HogQLQuery", "query", hogql);
    struct http_response rs = { .body = STRBUF_INIT };
    json_t *doc = NULL;
    j->page_first_request = j->retry.requests;
    int rc = http_post_json(&j->rq, &j->retry, body, &rs, err);
    json_decref(body);
    if (rc != 0) {
        err_prefix(err, "PostHog page %lld: ", (long long)(j->pages + 1));
    } else if (rs.status < 200 || rs.status >= 300) {
        fail_status(j, &rs, err);
    } else {
        struct err perr = ERR_INIT;
        doc = jv_parse(rs.body.buf ? rs.body.buf : "", rs.body.len, "response", &perr);
        if (!json_is_object(doc) || !json_is_array(json_object_get(doc, "results")) ||
            !json_is_array(json_object_get(doc, "columns"))) {
            err_set(err, ERR_DATA,
                    "data: the PostHog response of page %lld is not an object with the lists "
                    "'columns' and 'results'%s%s",
                    (long long)(j->pages + 1), perr.code ? ": " : "", perr.code ? perr.msg : "");
            json_decref(doc);
            doc = NULL;
        }
    }
    strbuf_release(&rs.body);
    return doc;
}

static void build_request(struct job *j)
{
    struct arena *a = j->ctx->arena;
    struct http_header *h = arena_calloc(a, 4, sizeof(*h));
    h[0] = (struct http_header){ "Authorization", arena_printf(a, "Bearer %s", j->o.api_key) };
    h[1] = (struct http_header){ "Content-Type", "application/json" };
    h[2] = (struct http_header){ "Accept", "application/json" };
    h[3] = (struct http_header){ "User-Agent", "osiris/" OSIRIS_VERSION };
    j->url = arena_printf(a, "%s/api/projects/%s/query/", j->o.base_url, j->o.project_id);
    j->rq = (struct http_request){
        .url = j->url, .headers = h, .nheaders = 4, .timeout_s = REQUEST_TIMEOUT_S
    };
    j->retry = (struct http_retry){
        .max_retries = MAX_RETRIES, .delay_s = 1.0, .on_retry = on_retry, .data = j
    };
}

/* ==== Rows ==== */

/* A value as JSON text when it is an object or a list (as a column holds it), or, with
 * scalars, anything but null and strings (as discovery shows samples). New reference. */
static json_t *as_text(const json_t *v, bool scalars)
{
    if (json_is_null(v) || json_is_string(v) ||
        (!scalars && !json_is_object(v) && !json_is_array(v)))
        return json_incref((json_t *)v);
    struct strbuf sb = STRBUF_INIT;
    jv_dump(v, &sb, 0);
    json_t *s = json_string(strbuf_str(&sb));
    strbuf_release(&sb);
    return s;
}

/* rec[name] = value (stolen) unless the record has that column already. Names that differ
 * only in case are told apart by records.c. */
static void record_put(json_t *rec, const char *name, json_t *value)
{
    if (json_object_get(rec, name))
        json_decref(value);
    else
        json_object_set_new(rec, name, value);
}

/* The record of one result row: its columns, the time normalised to UTC, and one column per
 * property (prefix + name). properties may arrive as an object or as JSON text. */
static json_t *make_record(const struct kind *k, const json_t *columns, const json_t *row,
                           size_t ts_col, const char *ts_text)
{
    json_t *rec = json_object();
    size_t i;
    const json_t *name;
    json_array_foreach(columns, i, name)
    {
        const char *col = json_string_value(name);
        const json_t *v = json_array_get(row, i);
        if (!col || !v)
            continue;
        if (i == ts_col) {
            record_put(rec, col, json_string(ts_text));
            continue;
        }
        if (strcmp(col, "properties") != 0) {
            record_put(rec, col, as_text(v, false));
            continue;
        }
        json_t *props = NULL;
        if (json_is_string(v)) {
            struct err ignored = ERR_INIT;
            props = jv_parse(json_string_value(v), json_string_length(v), "properties", &ignored);
        } else {
            props = json_incref((json_t *)v);
        }
        if (json_is_object(props)) {
            const char *key;
            json_t *pv;
            struct strbuf cname = STRBUF_INIT;
            json_object_foreach(props, key, pv)
            {
                strbuf_reset(&cname);
                strbuf_addf(&cname, "%s%s", k->prefix, key);
                record_put(rec, cname.buf, as_text(pv, false));
            }
            strbuf_release(&cname);
        } else if (!json_is_null(v)) {
            record_put(rec, col, as_text(v, false)); /* not an object: kept as it came */
        }
        json_decref(props);
    }
    return rec;
}

/* Index of the column named name, or -1. */
static long column_index(const json_t *columns, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(columns, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return (long)i;
    }
    return -1;
}

/* A key value as text (PostHog sends uuids and ids as strings; numbers are taken too). */
static const char *key_text(const json_t *v, char buf[32])
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

/* Every page of the window [since, until) into rec; *last gets the last row read. */
static int extract(struct job *j, struct records *rec, struct state *st, struct recent *recent,
                   int64_t since, int64_t until, struct position *last, struct err *err)
{
    const struct kind *k = j->o.kind;
    struct strbuf q = STRBUF_INIT;
    int rc = 0;
    while (rc == 0) {
        build_query(&q, &j->o, since, until, last);
        if (j->pages == 0)
            session_log(j->ctx->session, SESSION_DEBUG, "step '%s': HogQL: %s", j->ctx->step_id,
                        q.buf);
        json_t *doc = fetch_page(j, q.buf, err);
        if (!doc) {
            rc = -1;
            break;
        }
        const json_t *columns = json_object_get(doc, "columns");
        const json_t *rows = json_object_get(doc, "results");
        long ts_col = column_index(columns, k->ts), key_col = column_index(columns, k->key);
        if (ts_col < 0 || key_col < 0)
            rc =
                err_set(err, ERR_DATA, "data: the PostHog response of page %lld has no column '%s'",
                        (long long)(j->pages + 1), ts_col < 0 ? k->ts : k->key);
        int64_t kept = 0, skipped = 0;
        /* Where the page started from, to tell that it moved on. */
        bool was_set = last->set;
        int64_t was_ts = last->ts;
        char *was_key = last->set ? xstrdup(last->key) : NULL;
        size_t i;
        const json_t *row;
        json_array_foreach(rows, i, row)
        {
            if (rc != 0)
                break;
            char ts_text[64], num[32];
            const json_t *tv = json_array_get(row, (size_t)ts_col);
            const char *key = key_text(json_array_get(row, (size_t)key_col), num);
            int64_t ts;
            if (!json_is_array(row) || !json_is_string(tv) ||
                runindex_parse_time(json_string_value(tv), &ts) != 0 || !key) {
                rc = err_set(err, ERR_DATA,
                             "data: row %zu of PostHog page %lld has no valid '%s' and '%s'", i + 1,
                             (long long)(j->pages + 1), k->ts, k->key);
                break;
            }
            position_set(last, ts, key);
            recent_push(recent, ts, key);
            if (j->o.dedup && keyset_has(&st->seen, key)) {
                skipped++;
                continue;
            }
            format_ts(ts, ts_text);
            json_t *r = make_record(k, columns, row, (size_t)ts_col, ts_text);
            rc = records_add(rec, r, err);
            json_decref(r);
            kept++;
        }
        if (rc == 0)
            rc = records_flush(rec, err);
        size_t n = json_array_size(rows);
        bool moved = last->set && (!was_set || last->ts != was_ts || strcmp(last->key, was_key));
        free(was_key);
        json_decref(doc);
        if (rc != 0)
            break;
        j->pages++;
        j->deduplicated += skipped;
        session_event(j->ctx->session, "posthog.page",
                      json_pack("{s:s, s:I, s:I, s:I}", "step_id", j->ctx->step_id, "page",
                                (json_int_t)j->pages, "rows", (json_int_t)kept, "deduplicated",
                                (json_int_t)skipped));
        if ((int64_t)n < j->o.page_size)
            break;
        /* A full page that does not move the position would be asked for again forever. */
        if (!moved)
            rc = err_set(err, ERR_DATA,
                         "data: PostHog page %lld repeats the position of the page before it (the "
                         "server ignores the keyset condition)",
                         (long long)j->pages);
    }
    strbuf_release(&q);
    return rc;
}

/* ==== The step ==== */

/* The step's table when no row was delivered: the type's fixed columns, so later steps can refer
 * to them. Otherwise records_finish() and the time column as TIMESTAMPTZ. */
static int finish_table(struct driver_ctx *ctx, const struct kind *k, struct records *rec,
                        struct err *err)
{
    if (records_count(rec) == 0) {
        records_abort(rec);
        return dataplane_exec(
            ctx->dp, arena_printf(ctx->arena, "CREATE TABLE %s (%s)", ctx->output, k->empty), err);
    }
    if (records_finish(rec, err) != 0)
        return -1;
    const char *col = dataplane_ident(ctx->arena, k->ts);
    return dataplane_exec(ctx->dp,
                          arena_printf(ctx->arena,
                                       "ALTER TABLE %s ALTER COLUMN %s SET DATA TYPE TIMESTAMPTZ "
                                       "USING CAST(%s AS TIMESTAMPTZ)",
                                       ctx->output, col, col),
                          err);
}

static int run(struct driver_ctx *ctx, struct err *err)
{
    if (!ctx->output)
        return err_set(err, ERR_INTERNAL, "posthog_extractor runs in extract mode only");
    struct job j = { .ctx = ctx };
    struct state st = { 0 };
    struct position last = { 0 };
    struct records *rec = NULL;
    struct recent *recent = xcalloc(1, sizeof(*recent));
    arena_on_release(ctx->arena, recent_release, recent);
    int64_t until =
        runindex_now_us(); /* fixed for the whole step, so the pages are of one window */
    int rc = read_options(ctx, &j.o, err);
    if (rc == 0)
        rc = state_load(ctx, j.o.kind, &st, err);
    if (rc != 0)
        goto done;
    /* Where this run starts: before the saved position by the lookback (late rows), else
     * initial_since or 30 days ago. */
    int64_t lookback = j.o.lookback_min * US_PER_MIN, since;
    if (st.pos.set)
        since = st.pos.ts - lookback;
    else if (st.has_end)
        since = st.end - lookback;
    else if (j.o.has_since)
        since = j.o.since_us;
    else
        since = until - DEFAULT_SINCE_DAYS * 24 * 60 * US_PER_MIN;
    char from[64], to[64];
    format_ts(since, from);
    format_ts(until, to);
    session_event(ctx->session, "posthog.window",
                  json_pack("{s:s, s:s, s:s, s:s, s:b}", "step_id", ctx->step_id, "data_type",
                            j.o.kind->name, "since", from, "until", to, "resumed",
                            st.pos.set || st.has_end));
    build_request(&j);
    rec = records_open(ctx->dp, ctx->arena, ctx->output, false, err);
    if (!rec) {
        rc = -1;
        goto done;
    }
    if (since < until)
        rc = extract(&j, rec, &st, recent, since, until, &last, err);
    if (rc == 0)
        rc = finish_table(ctx, j.o.kind, rec, err);
    else
        records_abort(rec);
    if (rc == 0) {
        ctx->rows_out = ctx->rows_in = records_count(rec);
        /* The new position: the last row read, unless the saved one is later (rows deleted). */
        struct position *pos = &st.pos;
        if (last.set && (!st.pos.set || last.ts >= st.pos.ts))
            pos = &last;
        rc = state_save(ctx, &j.o, &st, pos, until, recent, last.set, err);
        if (rc == 0 && pos->set && recent->dropped && recent->dropped_ts >= pos->ts - lookback)
            session_log(ctx->session, SESSION_WARNING,
                        "step '%s': more than %d rows lie within lookback_window_minutes of the "
                        "saved position; the next run may deliver the older ones again",
                        ctx->step_id, RECENT_MAX);
    }
    session_metric(ctx->session, "requests_made", json_integer(j.retry.requests), "requests",
                   ctx->step_id, NULL);
    session_metric(ctx->session, "pages_fetched", json_integer(j.pages), "pages", ctx->step_id,
                   NULL);
    session_metric(ctx->session, "rows_deduplicated", json_integer(j.deduplicated), "rows",
                   ctx->step_id, NULL);
done:
    free(st.pos.key);
    free(last.key);
    json_decref(st.doc);
    return rc;
}

const struct driver driver_posthog_extractor = { "posthog_extractor", run };

/* ==== osiris discovery run @posthog.alias ==== */

/* The column type the extractor gives a HogQL column of this kind (kind->empty names them;
 * properties become one column per property). */
static const char *duckdb_type(struct arena *a, const struct kind *k, const char *column)
{
    if (strcmp(column, "properties") == 0)
        return arena_printf(a, "one column per property (%s<key>)", k->prefix);
    const char *p = strstr(k->empty, column);
    if (!p)
        return "VARCHAR";
    p += strlen(column) + (p > k->empty && p[-1] == '"' ? 2 : 1);
    return arena_strndup(a, p, strcspn(p, ","));
}

/* One data type as discovery shows a table: the HogQL columns with their ClickHouse and DuckDB
 * types, the row count and the newest rows. */
static json_t *discover_kind(struct job *j, const struct kind *k, long samples, struct err *err)
{
    struct arena *a = j->ctx->arena;
    json_t *count = fetch_page(j, arena_printf(a, "SELECT count() FROM %s", k->table), err);
    json_t *rows = count ? fetch_page(j,
                                      arena_printf(a,
                                                   "SELECT %s FROM %s ORDER BY %s DESC, %s DESC "
                                                   "LIMIT %ld",
                                                   k->select, k->table, k->ts, k->key,
                                                   samples > 0 ? samples : 1),
                                      err)
                         : NULL;
    json_t *out = NULL;
    if (rows) {
        json_t *columns = json_array(), *sample = json_array();
        const json_t *names = json_object_get(rows, "columns");
        const json_t *types = json_object_get(rows, "types");
        size_t i;
        const json_t *name;
        json_array_foreach(names, i, name)
        {
            const char *n = json_string_value(name);
            const json_t *t = json_array_get(json_array_get(types, i), 1);
            json_array_append_new(columns,
                                  json_pack("{s:s, s:o, s:s, s:b, s:b}", "name", n ? n : "", "type",
                                            jv_text(json_string_value(t)), "duckdb_type",
                                            duckdb_type(a, k, n ? n : ""), "nullable", true,
                                            "primary_key", n && strcmp(n, k->key) == 0));
        }
        const json_t *row;
        json_array_foreach(json_object_get(rows, "results"), i, row)
        {
            if ((long)i >= samples)
                break;
            json_t *cells = json_array();
            size_t c;
            const json_t *v;
            json_array_foreach(row, c, v) json_array_append_new(cells, as_text(v, true));
            json_array_append_new(sample, cells);
        }
        const json_t *n = json_array_get(json_array_get(json_object_get(count, "results"), 0), 0);
        out = json_pack("{s:s, s:s, s:o, s:[s], s:o, s:o}", "name", k->table, "type", "table",
                        "row_count",
                        json_is_integer(n) ? json_integer(json_integer_value(n)) : json_null(),
                        "primary_key", k->key, "columns", columns, "sample", sample);
    }
    json_decref(count);
    json_decref(rows);
    return out;
}

json_t *posthogdiscover_run(const json_t *connection, const struct dbdiscover_opts *o,
                            struct err *err)
{
    struct arena a;
    arena_init(&a);
    json_t *config = json_object();
    struct driver_ctx ctx = {
        .step_id = "discovery", .config = config, .connection = connection, .arena = &a
    };
    struct job j = { .ctx = &ctx };
    json_t *tables = json_array(), *out = NULL;
    if (read_connection(&ctx, &j.o, err) == 0) {
        build_request(&j);
        j.rq.timeout_s = o->timeout_s > 0 ? o->timeout_s : REQUEST_TIMEOUT_S;
        j.retry.max_retries = 0; /* discovery reports what it meets, as doctor does */
        j.retry.on_retry = NULL;
        for (size_t i = 0; i < NELEM(kinds); i++) {
            json_t *t = discover_kind(&j, &kinds[i], o->samples, err);
            if (!t)
                break;
            json_array_append_new(tables, t);
        }
        if (!err->code)
            out =
                json_pack("{s:s, s:O}", "database",
                          arena_printf(&a, "PostHog project %s", j.o.project_id), "tables", tables);
    }
    json_decref(tables);
    json_decref(config);
    arena_release(&a);
    return out;
}
