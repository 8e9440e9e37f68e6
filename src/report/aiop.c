/* The AIOP builder (aiop.h): reads one run directory through the run-log reader, assembles the
 * layered summary (run, pipeline, evidence, semantic, narrative, metadata, controls), applies
 * the size policy of docs/aiop.md and renders the Markdown run card. */
#include "aiop.h"
#include "files.h"
#include "fingerprint.h"
#include "fscontract.h"
#include "projconfig.h"
#include "runindex.h"
#include "runlog.h"
#include "strbuf.h"
#include "xalloc.h"
#include "yamlload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef OSIRIS_VERSION
#define OSIRIS_VERSION "unknown"
#endif

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

#define AIOP_CONTEXT "https://osiris.io/schemas/aiop/v1"
#define AIOP_FORMAT  "1.0"
/* Bytes of one error message kept: one message must not eat the size budget. */
#define MESSAGE_MAX    2000
#define ARTIFACT_DEPTH 32 /* deepest artifacts/ subdirectory walked */
#define TOP_STEPS      10 /* step series the size policy's metrics stage keeps (§5.3) */
#define FLOW_STEPS     20 /* steps the narrative names one by one */
#define CARD_ERRORS    20 /* errors the run card lists */
#define HASH_CHUNK     65536

/* ==== Tables ==== */

const char *const aiop_density_name[] = { "low", "medium", "high" };

int aiop_density_parse(const char *s, enum aiop_density *out)
{
    for (size_t i = 0; s && i < NELEM(aiop_density_name); i++)
        if (strcmp(s, aiop_density_name[i]) == 0) {
            *out = (enum aiop_density)i;
            return 0;
        }
    return -1;
}

void aiop_options_default(struct aiop_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_core_bytes = 300000;
    o->timeline_density = AIOP_DENSITY_MEDIUM;
    o->metrics_topk = 100;
    o->osiris_version = OSIRIS_VERSION;
}

/* The run-log reader's status → what the summary says, the run card's icon and the narrative's
 * outcome paragraph. {name} placeholders are filled by expand(). */
struct run_status {
    const char *runlog;  /* runlog status */
    const char *status;  /* run.status */
    const char *icon;    /* run card heading */
    const char *outcome; /* narrative template */
};
static const struct run_status run_statuses[] = {
    { "success", "completed", "✅",
      "Run {run} of pipeline {pipeline} completed in {duration}: {steps_ok} of {steps_total} "
      "steps succeeded and {total_rows} rows were produced (counted from {rows_source})"
      "{cite_first}." },
    { "failed", "failed", "❌",
      "Run {run} of pipeline {pipeline} failed{at_step} after {duration}: {error}{cite_error}. "
      "{steps_ok} of {steps_total} steps completed{skipped}." },
    { "running", "running", "⏳",
      "Run {run} of pipeline {pipeline} was still running when this summary was made: "
      "{steps_ok} of {steps_total} steps had completed{cite_first}." },
    /* Last: also what any other status reads as. */
    { "unknown", "unknown", "⚠️",
      "Run {run} of pipeline {pipeline} has no recorded end (it was interrupted, or its events "
      "are missing): {steps_ok} of {steps_total} steps completed{cite_first}." },
};

/* Timeline types of the events osiris writes. */
static const struct {
    const char *event, *type;
} event_types[] = {
    { "run_start", "START" },
    { "run_complete", "COMPLETE" },
    { "run_end", "COMPLETE" },
    { "run_error", "ERROR" },
    { "step_start", "STEP_START" },
    { "step_complete", "STEP_COMPLETE" },
    { "step_error", "ERROR" },
    { "step_failed", "ERROR" },
    { "step_skipped", "STEP_SKIPPED" },
    { "artifact_created", "ARTIFACT" },
    { "artifacts_dir_created", "ARTIFACT" },
    { "inputs_resolved", "INPUTS" },
    { "config_meta_stripped", "CONFIG" },
    { "cfg_materialized", "CONFIG" },
    { "connection_resolve_start", "CONNECTION" },
    { "connection_resolve_complete", "CONNECTION" },
};

/* Other names (the original's, drivers', older versions'): the original's rules, but on whole
 * words ('_', '.', '-' separate them), so "dependency_check" or "pending" is no "end".
 * The first rule with a matching word wins; step_type applies when a word is "step". */
static const struct {
    const char *word, *type, *step_type;
} word_types[] = {
    { "error", "ERROR", "ERROR" },          { "failed", "ERROR", "ERROR" },
    { "start", "START", "STEP_START" },     { "complete", "COMPLETE", "STEP_COMPLETE" },
    { "end", "COMPLETE", "STEP_COMPLETE" }, { "metric", "METRICS", "METRICS" },
    { "metrics", "METRICS", "METRICS" },    { "debug", "DEBUG", "DEBUG" },
    { "trace", "TRACE", "TRACE" },
};

/* The least density that keeps a type; types not listed need high. */
static const struct {
    const char *type;
    enum aiop_density density;
} type_density[] = {
    { "START", AIOP_DENSITY_LOW },        { "COMPLETE", AIOP_DENSITY_LOW },
    { "STEP_START", AIOP_DENSITY_LOW },   { "STEP_COMPLETE", AIOP_DENSITY_LOW },
    { "STEP_SKIPPED", AIOP_DENSITY_LOW }, { "ERROR", AIOP_DENSITY_LOW },
    { "METRICS", AIOP_DENSITY_MEDIUM },
};

/* An event is an error by its name or by its level (the original missed step_failed). */
static const char *const error_events[] = { "step_error", "step_failed", "run_error", "error" };
static const char *const error_levels[] = { "error", "critical" };
static const char *const message_keys[] = { "error", "message", "error_message", "msg", "reason" };
static const char *const code_keys[] = { "error_code", "error_type" };

/* Fields of an event that the timeline item holds outside data. */
static const char *const envelope_keys[] = { "ts", "session", "event", "step_id" };

/* Per-step metric fields, and the metrics.jsonl names that fill them (the original's worker
 * names included). */
enum step_field { F_ROWS_READ, F_ROWS_WRITTEN, F_ROWS_OUT, F_DURATION, F_COUNT };
static const char *const field_names[F_COUNT] = { "rows_read", "rows_written", "rows_out",
                                                  "duration_ms" };
static const struct {
    const char *metric;
    enum step_field field;
} metric_fields[] = {
    { "rows_read", F_ROWS_READ },       { "rows_written", F_ROWS_WRITTEN },
    { "rows_out", F_ROWS_OUT },         { "rows_processed", F_ROWS_OUT },
    { "step_duration_ms", F_DURATION }, { "duration_ms", F_DURATION },
};

static const char *const step_status_name[] = {
    [RUNLOG_STARTED] = "started",
    [RUNLOG_SUCCESS] = "completed",
    [RUNLOG_FAILED] = "failed",
    [RUNLOG_SKIPPED] = "skipped",
};

/* Where the intent comes from, most trusted first (JSON pointers into manifest.yaml). */
static const struct {
    const char *pointer, *source, *trust;
} intent_sources[] = {
    { "/metadata/intent", "manifest.metadata.intent", "high" },
    { "/description", "manifest.description", "high" },
    { "/metadata/description", "manifest.metadata.description", "high" },
};

static const char *const glossary[][2] = {
    { "run", "One execution of a compiled pipeline manifest; run.session_id names its directory "
             "under the run logs, run.run_id is its unique id." },
    { "step", "One component invocation of the pipeline (extract, transform or write); the DAG's "
              "nodes." },
    { "manifest_hash", "SHA-256 of the compiled manifest: runs with the same hash ran the same "
                       "plan." },
    { "evidence_id", "An @id such as ev.event.step_start.load.1764161243625: ev.<event|error>."
                     "<name>.<step or run>.<epoch ms>; the narrative cites these." },
    { "timeline", "The run's events in time order, filtered by density; may be cut to its first "
                  "and last items." },
    { "total_rows", "Rows the run produced; metrics.rows_source says how they were counted "
                    "(rows written by writers, else rows read)." },
    { "delta", "Change against the previous comparable run (rows, duration, errors), or "
               "first_run." },
    { "truncated", "True when the size policy cut lists to stay under max_core_bytes; the first "
                   "error is never cut." },
};

/* ==== Small helpers ==== */

static json_t *jint(bool have, int64_t v)
{
    return have ? json_integer(v) : json_null();
}

static bool in_list(const char *s, const char *const *list, size_t n, bool nocase)
{
    for (size_t i = 0; s && i < n; i++)
        if ((nocase ? strcasecmp(s, list[i]) : strcmp(s, list[i])) == 0)
            return true;
    return false;
}

/* The first string of o among keys, or NULL. */
static const char *first_str(const json_t *o, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (jv_str(o, keys[i]) && *jv_str(o, keys[i]))
            return jv_str(o, keys[i]);
    return NULL;
}

/* Whether word is one of name's words ('_', '.' and '-' separate them). */
static bool has_word(const char *name, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = name;;) {
        size_t len = strcspn(p, "_.-");
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        if (!p[len])
            return false;
        p += len + 1;
    }
}

/* Lower-case ASCII letters and digits of s; other runs become one '_' ("extract-movies" →
 * "extract_movies"), so evidence ids stay plain dotted words. */
static void slug_add(struct strbuf *sb, const char *s)
{
    size_t start = sb->len;
    bool gap = false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int ch = *p >= 'A' && *p <= 'Z' ? *p + ('a' - 'A') : *p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
            if (gap && sb->len > start)
                strbuf_addch(sb, '_');
            strbuf_addch(sb, ch);
            gap = false;
        } else {
            gap = true;
        }
    }
    if (sb->len == start)
        strbuf_addch(sb, '_');
}

/* Single-quotes s for a POSIX shell unless it is made of safe characters only. */
static void shell_quote(struct strbuf *sb, const char *s)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "_-./:@%+=,";
    if (*s && strspn(s, safe) == strlen(s)) {
        strbuf_adds(sb, s);
        return;
    }
    strbuf_addch(sb, '\'');
    for (; *s; s++)
        if (*s == '\'')
            strbuf_adds(sb, "'\\''");
        else
            strbuf_addch(sb, *s);
    strbuf_addch(sb, '\'');
}

/* Appends tmpl with each {name} replaced by vars[name] (a string or an integer); other text,
 * and placeholders vars lacks, stay as they are. */
static void expand(struct strbuf *out, const char *tmpl, const json_t *vars)
{
    for (const char *p = tmpl; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close) {
            strbuf_addch(out, *p++);
            continue;
        }
        char name[64];
        size_t len = (size_t)(close - p - 1);
        const json_t *v = NULL;
        if (len < sizeof(name)) {
            memcpy(name, p + 1, len);
            name[len] = '\0';
            v = json_object_get(vars, name);
        }
        if (json_is_string(v))
            strbuf_adds(out, json_string_value(v));
        else if (json_is_integer(v))
            strbuf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
            strbuf_add(out, p, (size_t)(close - p + 1));
        p = close + 1;
    }
}

/* "415 ms", "4.2 s", "1h 2m 3s", "2d 0h 0m 5s"; "–" when unknown. */
static void format_duration(struct strbuf *sb, const json_t *ms_value)
{
    if (!json_is_integer(ms_value)) {
        strbuf_adds(sb, "–");
        return;
    }
    int64_t ms = json_integer_value(ms_value);
    if (ms < 0)
        ms = 0;
    if (ms < 1000) {
        strbuf_addf(sb, "%lld ms", (long long)ms);
        return;
    }
    if (ms < 60000) {
        strbuf_addf(sb, "%lld.%lld s", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
        return;
    }
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = { { 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" } };
    bool started = false;
    for (size_t i = 0; i < NELEM(units); i++) {
        int64_t n = ms / units[i].ms;
        ms %= units[i].ms;
        if (!n && !started)
            continue;
        strbuf_addf(sb, "%s%lld%s", started ? " " : "", (long long)n, units[i].unit);
        started = true;
    }
}

/* ==== Reading the run ==== */

struct step {
    const char *id, *component, *driver; /* in the build arena; component, driver may be NULL */
    const char *status;                  /* completed | failed | skipped | started | not_started */
    bool in_dag;                         /* a node of semantic.dag */
    bool have[F_COUNT];                  /* which of v are known */
    int64_t v[F_COUNT];                  /* indexed by enum step_field */
    bool have_rows_in;
    int64_t rows_in; /* step_complete rows_in: rows the step received */
};

struct event_ref {
    const json_t *e;  /* borrowed from ctx.events */
    const char *name; /* its "event" */
    const char *step; /* its step_id, or NULL */
    const char *ts;   /* its ts, or NULL */
    bool have_us;     /* ts parsed */
    int64_t us;       /* ts in microseconds since the epoch */
    size_t line;      /* position in events.jsonl, the tie-break */
};

struct tl_entry {
    const struct event_ref *ev; /* in ctx.evs */
    const char *type;           /* canonical type; static or in the build arena */
    const char *id;             /* evidence id, in the build arena */
};

struct artifact {
    const char *path; /* relative to the run directory; build arena */
    int64_t size;
    bool hashed; /* hex is valid */
    char hex[FINGERPRINT_HEX_LEN];
};

/* Everything one aiop_build() call reads and derives; released by ctx_release(). */
struct ctx {
    struct arena a;               /* strings of this build */
    struct aiop_options o;        /* a copy, defaults filled */
    const char *dir, *session_id; /* in a */
    struct runlog rl;             /* the run's summary; runlog_release() */
    json_t *events;               /* owned: events.jsonl's objects */
    bool have_events_file, have_metrics_file;
    json_t *metrics; /* owned: metrics.jsonl's objects, or NULL */
    size_t metrics_bad;
    json_t *manifest;             /* owned root of manifest.yaml, or NULL */
    const char *manifest_problem; /* why manifest.yaml was not used, or NULL */
    const char *status_problem;   /* why status.json was ignored (relative paths), or NULL */
    struct event_ref *evs;        /* owned, sorted by time */
    size_t nevs;
    struct step *steps; /* owned */
    size_t nsteps, capsteps;
    json_t *step_index;  /* owned: step id → index in steps */
    json_t *ids;         /* owned: evidence id → times handed out */
    struct tl_entry *tl; /* owned: the timeline, before the size policy */
    size_t ntl;
    struct artifact *arts; /* owned, sorted by path */
    size_t narts, caparts;
    const struct run_status *st;
    bool dag_from_events; /* manifest.yaml has no steps: nodes and edges from the events */
    bool capped;          /* a message was shortened */
    int64_t total_rows;
    const char *rows_source;
};

static void ctx_release(struct ctx *c)
{
    runlog_release(&c->rl);
    json_decref(c->events);
    json_decref(c->metrics);
    json_decref(c->manifest);
    json_decref(c->step_index);
    json_decref(c->ids);
    free(c->evs);
    free(c->tl);
    free(c->steps);
    free(c->arts);
    arena_release(&c->a);
}

/* A message in the arena, cut to MESSAGE_MAX bytes at a character boundary. */
static const char *cap_text(struct ctx *c, const char *s)
{
    size_t len = strlen(s);
    if (len <= MESSAGE_MAX)
        return s;
    len = MESSAGE_MAX - strlen("…");
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
        len--;
    c->capped = true;
    return arena_printf(&c->a, "%.*s…", (int)len, s);
}

/* A unique evidence id: base, or base.<n> for its n-th use. The bases of one kind have a fixed
 * number of dot-separated parts (slugs hold no dots), so a suffixed id, one part longer, cannot
 * equal a base. */
static const char *unique_id(struct ctx *c, struct strbuf *base)
{
    json_t *n = json_object_get(c->ids, base->buf);
    if (!n) {
        json_object_set_new(c->ids, base->buf, json_integer(1));
        return arena_take(&c->a, base);
    }
    json_int_t k = json_integer_value(n) + 1;
    json_integer_set(n, k);
    strbuf_addf(base, ".%" JSON_INTEGER_FORMAT, k);
    return arena_take(&c->a, base);
}

/* ev.<kind>.<name>.<step|run>.<epoch ms> */
static const char *evidence_id(struct ctx *c, const char *kind, const char *name, const char *step,
                               bool have_us, int64_t us)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "ev.%s.", kind);
    slug_add(&sb, name);
    strbuf_addch(&sb, '.');
    slug_add(&sb, step ? step : "run");
    strbuf_addf(&sb, ".%lld", have_us ? (long long)(us / 1000) : 0LL);
    return unique_id(c, &sb);
}

static int event_cmp(const void *pa, const void *pb)
{
    const struct event_ref *a = pa, *b = pb;
    /* Events without a readable time keep their file order after the others. */
    if (a->have_us != b->have_us)
        return a->have_us ? -1 : 1;
    if (a->have_us && a->us != b->us)
        return a->us < b->us ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

static void sort_events(struct ctx *c)
{
    size_t n = json_array_size(c->events);
    c->evs = xcalloc(n ? n : 1, sizeof(*c->evs));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(c->events, i);
        const char *name = jv_str(e, "event");
        if (!name)
            continue;
        struct event_ref *r = &c->evs[c->nevs++];
        r->e = e;
        r->name = name;
        r->step = jv_str(e, "step_id");
        r->ts = jv_str(e, "ts");
        r->have_us = r->ts && runindex_parse_time(r->ts, &r->us) == 0;
        r->line = i;
    }
    qsort(c->evs, c->nevs, sizeof(*c->evs), event_cmp);
}

/* manifest.yaml, read from memory so messages name it relative to the run directory. */
static void load_manifest(struct ctx *c)
{
    const char *path = arena_printf(&c->a, "%s/manifest.yaml", c->dir);
    if (!files_exists(path))
        return;
    struct strbuf text = STRBUF_INIT;
    struct jdoc doc = JDOC_INIT;
    struct err err = ERR_INIT;
    if (files_read(path, &text, &err) == 0 &&
        yamlload_mem(&doc, "manifest.yaml", text.buf ? text.buf : "", text.len, &err) == 0) {
        if (json_is_object(doc.root))
            c->manifest = json_incref(doc.root);
        else
            err_set(&err, ERR_INPUT, "manifest.yaml: not a mapping");
        jdoc_release(&doc);
    }
    if (err.code)
        c->manifest_problem = arena_strdup(&c->a, err.msg);
    strbuf_release(&text);
}

/* The reader names files by their full path; the summary must not (determinism, privacy). */
static const char *relative_message(struct ctx *c, const char *msg)
{
    size_t n = strlen(c->dir);
    if (msg && strncmp(msg, c->dir, n) == 0 && msg[n] == '/')
        return arena_strdup(&c->a, msg + n + 1);
    return msg ? arena_strdup(&c->a, msg) : NULL;
}

static int read_run(struct ctx *c, struct err *err)
{
    struct stat st;
    if (stat(c->dir, &st) != 0)
        return errno == ENOENT
                   ? err_set(err, ERR_NOTFOUND, "run directory '%s' does not exist", c->dir)
                   : err_errno(err, ERR_IO, "cannot read run directory '%s'", c->dir);
    if (!S_ISDIR(st.st_mode))
        return err_set(err, ERR_INPUT, "run directory '%s' is not a directory", c->dir);
    c->have_events_file = files_exists(arena_printf(&c->a, "%s/events.jsonl", c->dir));
    if (runlog_read(&c->a, c->session_id, c->dir, &c->rl, &c->events, err) != 0)
        return -1;
    c->status_problem = relative_message(c, c->rl.status_problem);
    bool missing = true;
    struct err merr = ERR_INIT; /* an unreadable metrics.jsonl only loses the metrics */
    c->metrics = runlog_read_jsonl(arena_printf(&c->a, "%s/metrics.jsonl", c->dir), &c->metrics_bad,
                                   &missing, &merr);
    c->have_metrics_file = !missing;
    load_manifest(c);
    sort_events(c);
    c->st = &run_statuses[NELEM(run_statuses) - 1];
    for (size_t i = 0; i < NELEM(run_statuses); i++)
        if (strcmp(c->rl.status, run_statuses[i].runlog) == 0)
            c->st = &run_statuses[i];
    return 0;
}

/* ==== Steps ==== */

static size_t step_add(struct ctx *c, const char *id)
{
    json_t *at = json_object_get(c->step_index, id);
    if (at)
        return (size_t)json_integer_value(at);
    XGROW(c->steps, c->capsteps, c->nsteps + 1);
    struct step *s = &c->steps[c->nsteps];
    memset(s, 0, sizeof(*s));
    s->id = arena_strdup(&c->a, id);
    s->status = "not_started";
    json_object_set_new(c->step_index, id, json_integer((json_int_t)c->nsteps));
    return c->nsteps++;
}

static const char *dup_or_null(struct ctx *c, const char *s)
{
    return s ? arena_strdup(&c->a, s) : NULL;
}

/* The steps: the manifest's (the DAG, in plan order), then those the events name, then those
 * only metrics.jsonl names. Values: step_complete's, overridden by metrics.jsonl (the last
 * value of a step wins, as the run-log reader counts). */
static void collect_steps(struct ctx *c)
{
    const json_t *msteps = json_object_get(c->manifest, "steps");
    size_t i;
    json_t *item;
    json_array_foreach(msteps, i, item)
    {
        const char *id = jv_str(item, "id");
        if (!id)
            continue;
        size_t k = step_add(c, id);
        struct step *s = &c->steps[k];
        s->component = dup_or_null(c, jv_str(item, "component"));
        s->driver = dup_or_null(c, jv_str(item, "driver"));
        s->in_dag = true;
    }
    c->dag_from_events = c->nsteps == 0;
    for (i = 0; i < c->rl.nsteps; i++) {
        const struct runlog_step *r = &c->rl.steps[i];
        size_t k = step_add(c, r->id);
        struct step *s = &c->steps[k];
        if (!s->driver)
            s->driver = r->driver;
        s->status = step_status_name[r->state];
        s->in_dag = s->in_dag || c->dag_from_events;
        s->have_rows_in = r->have_rows_in;
        s->rows_in = r->rows_in;
        s->have[F_ROWS_OUT] = r->have_rows_out;
        s->v[F_ROWS_OUT] = r->rows_out;
        s->have[F_DURATION] = r->have_duration;
        s->v[F_DURATION] = r->duration_ms;
    }
    json_array_foreach(c->metrics, i, item)
    {
        const char *name = jv_str(item, "metric");
        const char *step = jv_str(item, "step_id");
        int64_t v;
        if (!step) /* the documented contract's place for it */
            step = jv_str(json_object_get(item, "tags"), "step");
        if (!name || !step || !runlog_int(item, "value", &v))
            continue;
        for (size_t k = 0; k < NELEM(metric_fields); k++)
            if (strcmp(name, metric_fields[k].metric) == 0) {
                size_t at = step_add(c, step); /* may move c->steps */
                struct step *s = &c->steps[at];
                s->have[metric_fields[k].field] = true;
                s->v[metric_fields[k].field] = v;
                break;
            }
    }
}

/* ==== Sizes ==== */

/* The size policy measures the summary after every stage by counting the bytes jv_dump(v,
 * JV_PRETTY) would write, without writing them; a 100,000-event timeline is counted from the
 * events without being built at all. Key order does not change a size. The layout: each item or
 * member is preceded by ',' (but the first), a newline and the indentation of its depth; a
 * non-empty container's closing bracket by a newline and the indentation of the container's. */

static int digits(int64_t v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Bytes jv_quote() writes for s. */
static size_t quoted_size(const char *s, size_t len)
{
    size_t n = 2;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            n += 1;
        else if (ch == '"' || ch == '\\' || ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' ||
                 ch == '\t')
            n += 2;
        else
            n += 6; /* \u00XX */
    }
    return n;
}

static size_t text_size(const char *s)
{
    return s ? quoted_size(s, strlen(s)) : 4; /* null */
}

/* The i-th item of a container at depth, before its value. */
static size_t item_lead(size_t i, int depth)
{
    return (i ? 1 : 0) + 1 + 2 * (size_t)(depth + 1);
}

/* The i-th member of an object at depth whose value takes value bytes. */
static size_t member_size(size_t i, const char *key, size_t value, int depth)
{
    return item_lead(i, depth) + quoted_size(key, strlen(key)) + 2 + value;
}

/* The brackets of a container of n items at depth. */
static size_t brackets_size(size_t n, int depth)
{
    return 2 + (n ? 1 + 2 * (size_t)depth : 0);
}

static size_t pretty_size(const json_t *v, int depth)
{
    char num[32];
    size_t n = 0, i = 0;
    const char *key;
    json_t *item;
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_TRUE:
        return 4;
    case JSON_FALSE:
        return 5;
    case JSON_INTEGER:
        return (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        jv_format_real(json_real_value(v), num);
        return strlen(num);
    case JSON_STRING:
        return quoted_size(json_string_value(v), json_string_length(v));
    case JSON_ARRAY:
        json_array_foreach((json_t *)v, i, item)
        {
            n += item_lead(i, depth) + pretty_size(item, depth + 1);
        }
        break;
    case JSON_OBJECT:
        json_object_foreach((json_t *)v, key, item)
        {
            n += member_size(i, key, pretty_size(item, depth + 1), depth);
            i++;
        }
        break;
    }
    return n + brackets_size(i, depth);
}

/* ==== Evidence ==== */

static const char *timeline_type(const char *name, const json_t *e)
{
    if (in_list(jv_str(e, "level"), error_levels, NELEM(error_levels), true))
        return "ERROR";
    for (size_t i = 0; i < NELEM(event_types); i++)
        if (strcmp(name, event_types[i].event) == 0)
            return event_types[i].type;
    for (size_t i = 0; i < NELEM(word_types); i++)
        if (has_word(name, word_types[i].word))
            return has_word(name, "step") ? word_types[i].step_type : word_types[i].type;
    return NULL; /* the upper-cased name */
}

static enum aiop_density type_needs(const char *type)
{
    for (size_t i = 0; type && i < NELEM(type_density); i++)
        if (strcmp(type, type_density[i].type) == 0)
            return type_density[i].density;
    return AIOP_DENSITY_HIGH;
}

/* The timeline's entries: the events the density keeps, with their evidence ids (given to every
 * entry, so an id does not depend on what the size policy keeps). */
static void collect_timeline(struct ctx *c)
{
    c->tl = xcalloc(c->nevs ? c->nevs : 1, sizeof(*c->tl));
    for (size_t i = 0; i < c->nevs; i++) {
        const struct event_ref *r = &c->evs[i];
        const char *type = timeline_type(r->name, r->e);
        if (type_needs(type) > c->o.timeline_density)
            continue;
        if (!type) {
            char *upper = arena_strdup(&c->a, r->name);
            for (char *p = upper; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                    *p = (char)(*p - ('a' - 'A'));
            type = upper;
        }
        struct tl_entry *t = &c->tl[c->ntl++];
        t->ev = r;
        t->type = type;
        t->id = evidence_id(c, "event", r->name, r->step, r->have_us, r->us);
    }
}

/* A timeline item: the event's own fields, less those the item has outside data. Keep
 * timeline_item_size() in step. */
static json_t *timeline_item(const struct tl_entry *t)
{
    const struct event_ref *r = t->ev;
    json_t *data = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)r->e, key, v)
    {
        if (!in_list(key, envelope_keys, NELEM(envelope_keys), false))
            json_object_set(data, key, v);
    }
    return json_pack("{s:s, s:o, s:s, s:s, s:o, s:o}", "@id", t->id, "ts", jv_text(r->ts), "type",
                     t->type, "event", r->name, "step_id", jv_text(r->step), "data", data);
}

/* pretty_size() of timeline_item(t) at depth, without building it. (Strings from jansson are
 * valid UTF-8, so jv_text() leaves them as they are.) */
static size_t timeline_item_size(const struct tl_entry *t, int depth)
{
    const struct event_ref *r = t->ev;
    size_t data = 0, n = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)r->e, key, v)
    {
        if (!in_list(key, envelope_keys, NELEM(envelope_keys), false))
            data += member_size(n++, key, pretty_size(v, depth + 2), depth + 1);
    }
    data += brackets_size(n, depth + 1);
    return member_size(0, "@id", text_size(t->id), depth) +
           member_size(1, "ts", text_size(r->ts), depth) +
           member_size(2, "type", text_size(t->type), depth) +
           member_size(3, "event", text_size(r->name), depth) +
           member_size(4, "step_id", text_size(r->step), depth) +
           member_size(5, "data", data, depth) + brackets_size(6, depth);
}

static json_t *error_item(struct ctx *c, const char *event, const char *step, const char *ts,
                          bool have_us, int64_t us, const char *message, const char *code)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:s}", "@id",
                     evidence_id(c, "error", event, step, have_us, us), "ts", jv_text(ts), "event",
                     jv_text(event), "step_id", jv_text(step), "message",
                     jv_text(cap_text(c, message)), "error_code", jv_text(code), "severity",
                     "error");
}

/* Errors in time order, so errors[0] is the run's first. A failed run whose events hold no
 * error (events.jsonl lost, an old writer) still gets one, from status.json. */
static json_t *build_errors(struct ctx *c)
{
    json_t *errors = json_array();
    for (size_t i = 0; i < c->nevs; i++) {
        const struct event_ref *r = &c->evs[i];
        if (!in_list(r->name, error_events, NELEM(error_events), false) &&
            !in_list(jv_str(r->e, "level"), error_levels, NELEM(error_levels), true))
            continue;
        const char *msg = first_str(r->e, message_keys, NELEM(message_keys));
        json_array_append_new(errors, error_item(c, r->name, r->step, r->ts, r->have_us, r->us,
                                                 msg ? msg : "(no message recorded)",
                                                 first_str(r->e, code_keys, NELEM(code_keys))));
    }
    if (json_array_size(errors) == 0 && strcmp(c->st->status, "failed") == 0) {
        const struct runlog *rl = &c->rl;
        int64_t us = 0;
        bool have_us = rl->finished_at && runindex_parse_time(rl->finished_at, &us) == 0;
        json_array_append_new(errors,
                              error_item(c, "status", rl->failed_step, rl->finished_at, have_us, us,
                                         rl->reason && *rl->reason ? rl->reason : "the run failed",
                                         rl->error_code));
    }
    return errors;
}

/* Rows the run produced, by the row-total rule: a remote original's cleanup_complete total
 * when positive (a zero there is the original's bug 5, never trusted), else the rows writers
 * wrote, else the rows extractors read. */
static bool rows_cleanup(const struct ctx *c, int64_t *rows)
{
    for (size_t i = c->nevs; i-- > 0;)
        if (strcmp(c->evs[i].name, "cleanup_complete") == 0 &&
            runlog_int(c->evs[i].e, "total_rows", rows) && *rows > 0)
            return true;
    return false;
}
static bool rows_written(const struct ctx *c, int64_t *rows)
{
    *rows = c->rl.rows_out;
    return c->rl.have_rows_out && *rows > 0;
}
static bool rows_read(const struct ctx *c, int64_t *rows)
{
    *rows = c->rl.rows_in;
    return c->rl.have_rows_in && *rows > 0;
}
static const struct {
    const char *source;
    bool (*get)(const struct ctx *c, int64_t *rows);
} row_sources[] = {
    { "cleanup_complete", rows_cleanup },
    { "rows_written", rows_written },
    { "rows_read", rows_read },
};

static void count_rows(struct ctx *c)
{
    c->total_rows = 0;
    c->rows_source = "none";
    for (size_t i = 0; i < NELEM(row_sources); i++)
        if (row_sources[i].get(c, &c->total_rows)) {
            c->rows_source = row_sources[i].source;
            return;
        }
    c->total_rows = 0;
}

/* The rows a step is ranked by: what it put out, else wrote, else read; -1 when unknown. */
static int64_t step_rank_rows(const struct step *s)
{
    static const enum step_field order[] = { F_ROWS_OUT, F_ROWS_WRITTEN, F_ROWS_READ };
    for (size_t i = 0; i < NELEM(order); i++)
        if (s->have[order[i]])
            return s->v[order[i]];
    return -1;
}

/* Slowest first, then most rows, then by id (§5.2). */
static int step_rank_cmp(const void *pa, const void *pb)
{
    const struct step *a = *(const struct step *const *)pa, *b = *(const struct step *const *)pb;
    int64_t da = a->have[F_DURATION] ? a->v[F_DURATION] : -1;
    int64_t db = b->have[F_DURATION] ? b->v[F_DURATION] : -1;
    if (da != db)
        return da > db ? -1 : 1;
    int64_t ra = step_rank_rows(a), rb = step_rank_rows(b);
    if (ra != rb)
        return ra > rb ? -1 : 1;
    return strcmp(a->id, b->id);
}

static json_t *step_metrics_json(const struct step *s)
{
    json_t *o = json_pack("{s:o}", "step_id", jv_text(s->id));
    for (int f = 0; f < F_COUNT; f++)
        json_object_set_new(o, field_names[f], jint(s->have[f], s->v[f]));
    return o;
}

static json_t *build_metrics(struct ctx *c, size_t *series)
{
    const struct step **ranked = xcalloc(c->nsteps ? c->nsteps : 1, sizeof(*ranked));
    size_t n = 0;
    int64_t active = 0;
    for (size_t i = 0; i < c->nsteps; i++) {
        const struct step *s = &c->steps[i];
        bool any = false;
        for (int f = 0; f < F_COUNT; f++)
            any = any || s->have[f];
        if (any)
            ranked[n++] = s;
        if (s->have[F_DURATION])
            active += s->v[F_DURATION];
    }
    qsort(ranked, n, sizeof(*ranked), step_rank_cmp);
    size_t keep =
        c->o.metrics_topk >= 0 && (size_t)c->o.metrics_topk < n ? (size_t)c->o.metrics_topk : n;
    json_t *steps = json_array();
    for (size_t i = 0; i < keep; i++)
        json_array_append_new(steps, step_metrics_json(ranked[i]));
    free(ranked);
    *series = n;
    const struct runlog *rl = &c->rl;
    json_t *m = json_pack("{s:o, s:I, s:s, s:o, s:o, s:o, s:I}", "steps", steps, "total_rows",
                          (json_int_t)c->total_rows, "rows_source", c->rows_source, "rows_read",
                          jint(rl->have_rows_in, rl->rows_in), "rows_written",
                          jint(rl->have_rows_out, rl->rows_out), "total_duration_ms",
                          jint(rl->have_duration, rl->duration_ms), "active_duration_ms",
                          (json_int_t)active);
    if (keep < n) { /* metrics_topk: cut by option, before any size stage */
        json_object_set_new(m, "truncated", json_true());
        json_object_set_new(m, "dropped_series", json_integer((json_int_t)(n - keep)));
    }
    return m;
}

/* ==== Artifacts ==== */

/* SHA-256 and size of the regular file at path, read in chunks; a symbolic link is refused
 * (O_NOFOLLOW), so a link swapped in after the walk is not followed either. */
static bool hash_file(const char *path, char hex[FINGERPRINT_HEX_LEN], int64_t *size)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return false;
    }
    char *buf = xmalloc(HASH_CHUNK);
    struct fingerprint fp;
    fingerprint_init(&fp);
    int64_t total = 0;
    ssize_t got;
    while ((got = read(fd, buf, HASH_CHUNK)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        fingerprint_update(&fp, buf, (size_t)got);
        total += got;
    }
    fingerprint_hex(&fp, hex);
    free(buf);
    close(fd);
    if (got < 0)
        return false;
    *size = total;
    return true;
}

/* Regular files below dir (rel is their path relative to the run directory); symbolic links
 * and other special files are skipped, never followed: each directory is opened with
 * O_NOFOLLOW, so neither artifacts/ itself nor a directory swapped for a link during the walk
 * leads outside the run. */
static void walk_artifacts(struct ctx *c, const char *dir, const char *rel, int depth)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        const char *path = arena_printf(&c->a, "%s/%s", dir, de->d_name);
        const char *child = arena_printf(&c->a, "%s/%s", rel, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < ARTIFACT_DEPTH) {
            walk_artifacts(c, path, child, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            XGROW(c->arts, c->caparts, c->narts + 1);
            struct artifact *art = &c->arts[c->narts++];
            art->path = child;
            art->size = (int64_t)st.st_size;
            art->hashed = hash_file(path, art->hex, &art->size);
        }
    }
    closedir(d);
}

static int artifact_cmp(const void *a, const void *b)
{
    return strcmp(((const struct artifact *)a)->path, ((const struct artifact *)b)->path);
}

static json_t *build_artifacts(struct ctx *c)
{
    walk_artifacts(c, arena_printf(&c->a, "%s/artifacts", c->dir), "artifacts", 1);
    if (c->narts > 1)
        qsort(c->arts, c->narts, sizeof(*c->arts), artifact_cmp);
    json_t *list = json_array();
    for (size_t i = 0; i < c->narts; i++) {
        const struct artifact *art = &c->arts[i];
        struct strbuf id = STRBUF_INIT;
        strbuf_adds(&id, "artifact.");
        slug_add(&id, art->path + strlen("artifacts/"));
        if (art->hashed)
            strbuf_addf(&id, ".%.8s", art->hex);
        json_array_append_new(
            list, json_pack("{s:s, s:o, s:I, s:o}", "@id", unique_id(c, &id), "path",
                            jv_text(art->path), "size_bytes", (json_int_t)art->size, "content_hash",
                            art->hashed ? json_sprintf("sha256:%s", art->hex) : json_null()));
    }
    return list;
}

/* ==== Semantic layer ==== */

struct edge {
    const char *from, *to, *relation;
};

static int edge_cmp(const void *pa, const void *pb)
{
    const struct edge *a = pa, *b = pb;
    int r = strcmp(a->from, b->from);
    return r ? r : strcmp(a->to, b->to);
}

static void edge_add(struct edge **edges, size_t *n, size_t *cap, const char *from, const char *to,
                     const char *relation)
{
    XGROW(*edges, *cap, *n + 1);
    (*edges)[(*n)++] = (struct edge){ from, to, relation };
}

/* Edges from the manifest's needs; without its steps, from the inputs the events say each step
 * received (the only dependency the events record). Sorted, without duplicates. */
static json_t *build_edges(struct ctx *c)
{
    struct edge *edges = NULL;
    size_t n = 0, cap = 0;
    size_t i, k;
    json_t *item, *need;
    json_array_foreach(json_object_get(c->manifest, "steps"), i, item)
    {
        json_array_foreach(json_object_get(item, "needs"), k, need)
        {
            if (jv_str(item, "id") && json_is_string(need))
                edge_add(&edges, &n, &cap, json_string_value(need), jv_str(item, "id"), "needs");
        }
    }
    for (i = 0; c->dag_from_events && i < c->nevs; i++)
        if (strcmp(c->evs[i].name, "inputs_resolved") == 0 && c->evs[i].step &&
            jv_str(c->evs[i].e, "from_step"))
            edge_add(&edges, &n, &cap, jv_str(c->evs[i].e, "from_step"), c->evs[i].step, "input");
    if (n > 1)
        qsort(edges, n, sizeof(*edges), edge_cmp);
    json_t *out = json_array();
    for (i = 0; i < n; i++)
        if (i == 0 || edge_cmp(&edges[i], &edges[i - 1]) != 0)
            json_array_append_new(out,
                                  json_pack("{s:o, s:o, s:s}", "from", jv_text(edges[i].from), "to",
                                            jv_text(edges[i].to), "relation", edges[i].relation));
    free(edges);
    return out;
}

static json_t *build_semantic(struct ctx *c, const char *top_id, const char *pipeline_name)
{
    json_t *nodes = json_array(), *components = json_object();
    for (size_t i = 0; i < c->nsteps; i++) {
        const struct step *s = &c->steps[i];
        if (!s->in_dag)
            continue;
        json_t *node = json_pack("{s:o, s:o, s:o, s:s, s:o}", "id", jv_text(s->id), "component",
                                 jv_text(s->component), "driver", jv_text(s->driver), "status",
                                 s->status, "rows_in", jint(s->have_rows_in, s->rows_in));
        for (int f = 0; f < F_COUNT; f++)
            json_object_set_new(node, field_names[f], jint(s->have[f], s->v[f]));
        json_array_append_new(nodes, node);
        const char *key = s->component ? s->component : s->driver ? s->driver : "unknown";
        json_t *comp = json_object_get(components, key);
        if (!comp) {
            comp = json_pack("{s:o, s:[]}", "driver", jv_text(s->driver), "steps");
            json_object_set_new(components, key, comp);
        }
        json_array_append_new(json_object_get(comp, "steps"), jv_text(s->id));
    }
    json_t *edges = build_edges(c);
    json_t *dag = json_pack("{s:s, s:o, s:o, s:{s:I, s:I}}", "source",
                            c->dag_from_events ? "events" : "manifest", "nodes", nodes, "edges",
                            edges, "counts", "nodes", (json_int_t)json_array_size(nodes), "edges",
                            (json_int_t)json_array_size(edges));
    return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o}", "@id", json_sprintf("%s#semantic", top_id),
                     "@type", "SemanticLayer", "pipeline_name", jv_text(pipeline_name),
                     "oml_version",
                     jv_text(jv_str(json_object_get(c->manifest, "meta"), "oml_version")), "dag",
                     dag, "components", components);
}

/* ==== Run, pipeline, delta ==== */

static const char *pipeline_name(const struct ctx *c)
{
    if (c->rl.pipeline)
        return c->rl.pipeline;
    if (jv_str(c->manifest, "name"))
        return jv_str(c->manifest, "name");
    return jv_str(json_object_get(c->manifest, "pipeline"), "id");
}

static json_t *build_run(struct ctx *c)
{
    const struct runlog *rl = &c->rl;
    int64_t total = rl->have_steps_total ? rl->steps_total : 0;
    if (!rl->have_steps_total)
        for (size_t i = 0; i < c->nsteps; i++)
            total += c->steps[i].in_dag;
    json_t *steps = json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)total, "completed",
                              (json_int_t)rl->steps_ok, "failed", (json_int_t)rl->steps_failed,
                              "skipped", (json_int_t)rl->steps_skipped);
    bool failed = strcmp(c->st->status, "failed") == 0;
    return json_pack("{s:o, s:o, s:s, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o}", "session_id",
                     jv_text(c->session_id), "run_id", jv_text(rl->run_id), "status", c->st->status,
                     "started_at", jv_text(rl->started_at), "completed_at",
                     jv_text(rl->finished_at), "duration_ms",
                     jint(rl->have_duration, rl->duration_ms), "total_rows",
                     (json_int_t)c->total_rows, "environment", jv_text(rl->environment), "profile",
                     jv_text(rl->profile), "failed_step", jv_text(failed ? rl->failed_step : NULL),
                     "error_code", jv_text(failed ? rl->error_code : NULL), "steps", steps);
}

static json_t *build_pipeline(struct ctx *c)
{
    const json_t *meta = json_object_get(c->manifest, "meta");
    const char *hash = c->rl.manifest_hash ? c->rl.manifest_hash : jv_str(meta, "manifest_hash");
    const char *shortened = jv_str(meta, "manifest_short");
    return json_pack("{s:o, s:o, s:o}", "name", jv_text(pipeline_name(c)), "manifest_hash",
                     jv_text(hash), "manifest_short", jv_text(shortened));
}

/* previous → current for one number; change_percent with two decimals, null from zero. */
static json_t *delta_entry(const json_t *prev, const json_t *cur)
{
    json_t *o = json_pack("{s:O, s:O}", "previous", json_is_integer(prev) ? prev : json_null(),
                          "current", json_is_integer(cur) ? cur : json_null());
    if (!json_is_integer(prev) || !json_is_integer(cur)) {
        json_object_set_new(o, "change", json_null());
        json_object_set_new(o, "change_percent", json_null());
        return o;
    }
    int64_t p = json_integer_value(prev), change = json_integer_value(cur) - p;
    json_object_set_new(o, "change", json_integer(change));
    json_object_set_new(o, "change_percent",
                        p ? json_real(round((double)change * 10000.0 / (double)p) / 100.0)
                          : json_null());
    return o;
}

/* Where a count lives in a summary, most exact first. */
static const json_t *summary_errors_count(const json_t *s, json_t **tmp)
{
    const json_t *v = jv_pointer_get(s, "/metadata/compute/errors_count");
    const json_t *list = jv_pointer_get(s, "/evidence/errors");
    if (json_is_integer(v) || !json_is_array(list))
        return v;
    *tmp = json_integer((json_int_t)json_array_size(list));
    return *tmp;
}

static json_t *build_delta(const struct ctx *c, const json_t *run, const json_t *errors_count)
{
    const json_t *prev = c->o.previous;
    if (!json_is_object(prev))
        return json_pack("{s:b}", "first_run", true);
    json_t *tmp = NULL;
    const json_t *prev_errors = summary_errors_count(prev, &tmp);
    json_t *d = json_pack(
        "{s:b, s:s, s:o, s:o, s:o, s:o, s:o}", "first_run", false, "delta_source",
        "previous_summary", "previous_run_id",
        jv_text(jv_str(json_object_get(prev, "run"), "run_id")), "previous_session_id",
        jv_text(jv_str(json_object_get(prev, "run"), "session_id")), "rows",
        delta_entry(jv_pointer_get(prev, "/run/total_rows"), json_object_get(run, "total_rows")),
        "duration_ms",
        delta_entry(jv_pointer_get(prev, "/run/duration_ms"), json_object_get(run, "duration_ms")),
        "errors_count", delta_entry(prev_errors, errors_count));
    json_decref(tmp);
    return d;
}

/* ==== Narrative ==== */

/* The text of a number or "unknown" for the templates. */
static json_t *count_text(const json_t *v)
{
    return json_is_integer(v) ? json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v))
                              : json_string("unknown");
}

static json_t *duration_text(const json_t *ms)
{
    struct strbuf sb = STRBUF_INIT;
    if (json_is_integer(ms))
        format_duration(&sb, ms);
    else
        strbuf_adds(&sb, "an unknown time");
    json_t *s = jv_text(strbuf_str(&sb));
    strbuf_release(&sb);
    return s;
}

static json_t *cite(const char *id)
{
    return id ? json_sprintf(" [%s]", id) : json_string("");
}

/* "a → b → c" over the DAG nodes (at most FLOW_STEPS of them). */
static void step_chain(struct strbuf *sb, const json_t *nodes)
{
    size_t i;
    json_t *node;
    json_array_foreach(nodes, i, node)
    {
        if (i == FLOW_STEPS) {
            strbuf_addf(sb, " and %zu more", json_array_size(nodes) - FLOW_STEPS);
            break;
        }
        strbuf_addf(sb, "%s%s", i ? " → " : "", jv_str(node, "id"));
    }
}

/* One sentence per step, then the slowest step. */
static void flow_paragraph(struct strbuf *sb, const json_t *nodes)
{
    size_t i;
    json_t *node;
    const json_t *slowest = NULL;
    strbuf_adds(sb, "Steps in plan order: ");
    json_array_foreach(nodes, i, node)
    {
        const json_t *d = json_object_get(node, "duration_ms");
        if (json_is_integer(d) &&
            (!slowest ||
             json_integer_value(d) > json_integer_value(json_object_get(slowest, "duration_ms"))))
            slowest = node;
        if (i >= FLOW_STEPS)
            continue;
        strbuf_addf(sb, "%s%s (%s, %s", i ? "; " : "", jv_str(node, "id"),
                    jv_str(node, "driver") ? jv_str(node, "driver") : "unknown driver",
                    jv_str(node, "status"));
        if (json_is_integer(json_object_get(node, "rows_out")))
            strbuf_addf(sb, ", %" JSON_INTEGER_FORMAT " rows out",
                        json_integer_value(json_object_get(node, "rows_out")));
        if (json_is_integer(d)) {
            strbuf_adds(sb, ", ");
            format_duration(sb, d);
        }
        strbuf_addch(sb, ')');
    }
    if (json_array_size(nodes) > FLOW_STEPS)
        strbuf_addf(sb, "; and %zu more", json_array_size(nodes) - FLOW_STEPS);
    strbuf_addch(sb, '.');
    if (slowest) {
        strbuf_addf(sb, " The slowest step was %s (", jv_str(slowest, "id"));
        format_duration(sb, json_object_get(slowest, "duration_ms"));
        strbuf_adds(sb, ").");
    }
}

static void delta_paragraph(struct strbuf *sb, const json_t *delta)
{
    static const struct {
        const char *key, *label;
    } parts[] = { { "rows", "rows" },
                  { "duration_ms", "duration (ms)" },
                  { "errors_count", "errors" } };
    const char *prev = jv_str(delta, "previous_run_id");
    strbuf_addf(sb, "Compared with the previous run%s%s: ", prev ? " " : "", prev ? prev : "");
    for (size_t i = 0; i < NELEM(parts); i++) {
        const json_t *e = json_object_get(delta, parts[i].key);
        json_t *p = count_text(json_object_get(e, "previous"));
        json_t *c = count_text(json_object_get(e, "current"));
        strbuf_addf(sb, "%s%s %s → %s", i ? ", " : "", parts[i].label, json_string_value(p),
                    json_string_value(c));
        const json_t *pct = json_object_get(e, "change_percent");
        if (json_is_number(pct))
            strbuf_addf(sb, " (%+.2f%%)", json_number_value(pct));
        json_decref(p);
        json_decref(c);
    }
    strbuf_addch(sb, '.');
}

static json_t *build_narrative(struct ctx *c, const json_t *doc)
{
    const json_t *run = json_object_get(doc, "run");
    const json_t *errors = jv_pointer_get(doc, "/evidence/errors");
    const json_t *nodes = jv_pointer_get(doc, "/semantic/dag/nodes");
    const json_t *delta = jv_pointer_get(doc, "/metadata/delta");
    const json_t *err0 = json_array_get(errors, 0);
    const char *name = jv_str(json_object_get(doc, "pipeline"), "name");
    const char *first_ev = c->ntl ? c->tl[0].id : NULL;
    const char *last_ev = c->ntl ? c->tl[c->ntl - 1].id : NULL;
    const char *error_ev = jv_str(err0, "@id");

    /* Intent: the manifest's own words when it has them, else what its steps show. */
    const char *intent = NULL, *source = "inferred", *trust = "low";
    for (size_t i = 0; i < NELEM(intent_sources) && !intent; i++) {
        const json_t *v = jv_pointer_get(c->manifest, intent_sources[i].pointer);
        if (json_is_string(v) && *json_string_value(v)) {
            intent = cap_text(c, json_string_value(v));
            source = intent_sources[i].source;
            trust = intent_sources[i].trust;
        }
    }
    struct strbuf inferred = STRBUF_INIT, para = STRBUF_INIT;
    if (!intent) {
        strbuf_addf(&inferred, "Moves data through %zu steps", json_array_size(nodes));
        if (json_array_size(nodes)) {
            strbuf_adds(&inferred, ": ");
            step_chain(&inferred, nodes);
        }
        intent = strbuf_str(&inferred);
    }
    json_t *paragraphs = json_array();
    if (strcmp(source, "inferred") != 0) {
        strbuf_addf(&para, "Intent (from %s): %s", source, intent);
        if (!strchr(".!?", para.buf[para.len - 1]))
            strbuf_addch(&para, '.');
    } else
        strbuf_addf(&para, "No intent was recorded for pipeline '%s'; from its plan it: %s.",
                    name ? name : "(unnamed)", intent);
    json_array_append_new(paragraphs, jv_text(strbuf_str(&para)));

    const char *failed_step = jv_str(run, "failed_step");
    json_t *vars = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "run",
        json_sprintf("'%s'",
                     jv_str(run, "run_id") ? jv_str(run, "run_id") : jv_str(run, "session_id")),
        "pipeline", json_sprintf("'%s'", name ? name : "(unnamed)"), "duration",
        duration_text(json_object_get(run, "duration_ms")), "steps_ok",
        count_text(jv_pointer_get(run, "/steps/completed")), "steps_total",
        count_text(jv_pointer_get(run, "/steps/total")), "total_rows",
        count_text(json_object_get(run, "total_rows")), "rows_source", jv_text(c->rows_source),
        "error",
        jv_text(jv_str(err0, "message") ? jv_str(err0, "message") : "no error was recorded"),
        "at_step", failed_step ? json_sprintf(" at step '%s'", failed_step) : json_string(""),
        "skipped",
        jv_pointer_get(run, "/steps/skipped") &&
                json_integer_value(jv_pointer_get(run, "/steps/skipped")) > 0
            ? json_sprintf("; %" JSON_INTEGER_FORMAT " were skipped",
                           json_integer_value(jv_pointer_get(run, "/steps/skipped")))
            : json_string(""),
        "cite_first", cite(first_ev), "cite_error", cite(error_ev));
    strbuf_reset(&para);
    expand(&para, c->st->outcome, vars);
    json_array_append_new(paragraphs, jv_text(strbuf_str(&para)));
    json_decref(vars);

    if (json_array_size(nodes)) {
        strbuf_reset(&para);
        flow_paragraph(&para, nodes);
        if (last_ev && (!first_ev || strcmp(last_ev, first_ev) != 0))
            strbuf_addf(&para, " [%s]", last_ev);
        json_array_append_new(paragraphs, jv_text(strbuf_str(&para)));
    }
    if (json_is_false(json_object_get(delta, "first_run"))) {
        strbuf_reset(&para);
        delta_paragraph(&para, delta);
        json_array_append_new(paragraphs, jv_text(strbuf_str(&para)));
    }

    strbuf_reset(&para);
    size_t i;
    json_t *p;
    json_array_foreach(paragraphs, i, p)
        strbuf_addf(&para, "%s%s", i ? "\n\n" : "", json_string_value(p));
    json_t *citations = json_array();
    const char *cited[] = { first_ev, error_ev, last_ev };
    for (i = 0; i < NELEM(cited); i++) {
        bool dup = false;
        for (size_t k = 0; k < i; k++)
            dup = dup || (cited[k] && cited[i] && strcmp(cited[k], cited[i]) == 0);
        if (cited[i] && !dup)
            json_array_append_new(citations, jv_text(cited[i]));
    }
    json_t *n =
        json_pack("{s:o, s:o, s:o, s:b, s:[{s:s, s:s}], s:o}", "narrative",
                  jv_text(strbuf_str(&para)), "paragraphs", paragraphs, "intent_summary",
                  jv_text(intent), "intent_known", strcmp(source, "inferred") != 0,
                  "intent_provenance", "source", source, "trust", trust, "citations", citations);
    strbuf_release(&inferred);
    strbuf_release(&para);
    return n;
}

/* ==== Metadata and controls ==== */

static json_t *build_metadata(struct ctx *c, size_t timeline_events, size_t metric_series,
                              size_t errors)
{
    const struct aiop_options *o = &c->o;
    const char *density = aiop_density_name[o->timeline_density];
    json_t *terms = json_object();
    for (size_t i = 0; i < NELEM(glossary); i++)
        json_object_set_new(terms, glossary[i][0], json_string(glossary[i][1]));
    return json_pack(
        "{s:s, s:o, s:b, s:I, s:[], s:{s:I, s:s, s:I, s:s, s:s},"
        " s:{s:I, s:s, s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:s},"
        " s:{s:s, s:o}, s:{s:o, s:o, s:o},"
        " s:{s:b, s:b, s:b, s:b, s:I, s:I, s:o, s:o}}",
        "aiop_format", AIOP_FORMAT, "osiris_version", jv_text(o->osiris_version), "truncated",
        false, "size_bytes", (json_int_t)0, "truncation_stages", "config_effective",
        "max_core_bytes", (json_int_t)o->max_core_bytes, "timeline_density", density,
        "metrics_topk", (json_int_t)o->metrics_topk, "policy", "core", "schema_mode", "summary",
        "compute", "total_rows", (json_int_t)c->total_rows, "rows_source", c->rows_source,
        "errors_count", (json_int_t)errors, "events_count", (json_int_t)c->nevs, "size_hints",
        "timeline_events", (json_int_t)timeline_events, "metrics_steps", (json_int_t)metric_series,
        "artifacts", (json_int_t)c->narts, "errors", (json_int_t)errors, "max_core_bytes",
        (json_int_t)o->max_core_bytes, "metrics_topk", (json_int_t)o->metrics_topk, "policy",
        "core", "schema_mode", "summary", "timeline_density", density, "llm_primer", "about",
        "An AIOP (AI Operation Package) is a deterministic, size-bounded summary of one osiris "
        "pipeline run: run facts, evidence (timeline, metrics, errors, artifacts) with stable "
        "@ids, the pipeline's DAG, and a narrative that cites evidence ids. It is built from the "
        "run directory's own files; secrets were redacted before they reached them.",
        "glossary", terms, "paths", "run_logs_path", jv_text(o->run_logs_path), "aiop_path",
        jv_text(o->aiop_path), "manifest_path", jv_text(o->manifest_path), "inputs", "events_jsonl",
        c->have_events_file, "metrics_jsonl", c->have_metrics_file, "status_json",
        c->rl.has_status_json, "manifest_yaml", c->manifest != NULL, "bad_lines",
        (json_int_t)c->rl.bad_lines, "metrics_bad_lines", (json_int_t)c->metrics_bad,
        "status_problem", jv_text(c->status_problem), "manifest_problem",
        jv_text(c->manifest_problem));
}

/* Only commands this osiris has; {session}, {run_id} are shell-quoted. */
static const struct {
    const char *title, *command, *notes;
    bool needs_run_id;
} control_examples[] = {
    { "Show this run", "osiris logs show --session {session}",
      "Summary and steps of this run; add --events or --metrics for its raw records.", false },
    { "HTML report", "osiris logs html --out dist/logs",
      "Writes the static HTML report of the recorded runs (one page per run) into dist/logs/.",
      false },
    { "This summary", "osiris logs aiop show --run {run_id}", "Prints this AIOP summary again.",
      true },
    { "Run again", "osiris run --last-compile",
      "Runs the last compiled manifest again (compile first if the pipeline changed).", false },
};

static json_t *build_controls(const json_t *run)
{
    const char *session = jv_str(run, "session_id"), *run_id = jv_str(run, "run_id");
    struct strbuf q = STRBUF_INIT, cmd = STRBUF_INIT;
    shell_quote(&q, session ? session : "last");
    json_t *vars = json_pack("{s:o}", "session", jv_text(strbuf_str(&q)));
    if (run_id) {
        strbuf_reset(&q);
        shell_quote(&q, run_id);
        json_object_set_new(vars, "run_id", jv_text(strbuf_str(&q)));
    }
    json_t *examples = json_array();
    for (size_t i = 0; i < NELEM(control_examples); i++) {
        if (control_examples[i].needs_run_id && !run_id)
            continue;
        strbuf_reset(&cmd);
        expand(&cmd, control_examples[i].command, vars);
        json_array_append_new(
            examples, json_pack("{s:s, s:o, s:s}", "title", control_examples[i].title, "command",
                                jv_text(strbuf_str(&cmd)), "notes", control_examples[i].notes));
    }
    json_decref(vars);
    strbuf_release(&q);
    strbuf_release(&cmd);
    return json_pack("{s:o}", "examples", examples);
}

/* ==== Size policy ==== */

struct policy {
    const struct ctx *c; /* the timeline's entries */
    json_t *doc;         /* borrowed */
    json_t *evidence;    /* borrowed, doc's */
    json_t *metadata;    /* borrowed, doc's */
    json_t *artifacts;   /* owned: every artifact */
    size_t k;            /* items kept at each end of the timeline by the first stage */
    size_t kept_timeline, kept_artifacts;
    int64_t size;
};

void aiop_serialize(const json_t *summary, struct strbuf *out)
{
    jv_dump(summary, out, JV_PRETTY | JV_SORT);
    strbuf_addch(out, '\n');
}

/* The size of a summary whose text without the digits of size_bytes takes base bytes: the
 * fixed point of base + digits(size). */
static int64_t with_size_digits(int64_t base)
{
    for (int d = 1; d <= 20; d++)
        if (digits(base + d) == d)
            return base + d;
    return base + 1;
}

/* The size of the summary as it stands, written into metadata.size_bytes, so that the field
 * holds the size of the text that holds it. */
static void measure(struct policy *p)
{
    json_object_set_new(p->metadata, "size_bytes", json_integer(0));
    /* the text and its final newline, less the "0" */
    p->size = with_size_digits((int64_t)pretty_size(p->doc, 0) + 1 - 1);
    json_object_set_new(p->metadata, "size_bytes", json_integer(p->size));
}

/* Builds evidence.timeline: the whole timeline (each == SIZE_MAX), or its first and last `each`
 * items (none when each is 0); false, changing nothing, when the latter would not keep fewer
 * items than now. */
static bool keep_timeline_ends(struct policy *p, size_t each)
{
    size_t n = p->c->ntl;
    bool all = each == SIZE_MAX;
    if (!all && (n <= 2 * each || p->kept_timeline <= 2 * each))
        return false;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        if (all || i < each || i >= n - each)
            json_array_append_new(items, timeline_item(&p->c->tl[i]));
    if (all) {
        json_object_set_new(p->evidence, "timeline", items);
        p->kept_timeline = n;
        return false;
    }
    json_t *t = json_pack("{s:o, s:b, s:I}", "items", items, "truncated", true, "dropped_events",
                          (json_int_t)(n - 2 * each));
    if (each == 0)
        json_object_set_new(t, "all_dropped", json_true());
    json_object_set_new(p->evidence, "timeline", t);
    p->kept_timeline = 2 * each;
    return true;
}

static bool stage_timeline_5(struct policy *p)
{
    return keep_timeline_ends(p, 5);
}

static bool stage_timeline_1(struct policy *p)
{
    return keep_timeline_ends(p, 1);
}

static bool stage_timeline_none(struct policy *p)
{
    return keep_timeline_ends(p, 0);
}

static bool stage_metrics_top(struct policy *p)
{
    json_t *m = json_object_get(p->evidence, "metrics");
    json_t *steps = json_object_get(m, "steps");
    size_t n = json_array_size(steps);
    if (n <= TOP_STEPS)
        return false;
    int64_t dropped = 0;
    runlog_int(m, "dropped_series", &dropped);
    while (json_array_size(steps) > TOP_STEPS)
        json_array_remove(steps, json_array_size(steps) - 1);
    json_object_set_new(m, "truncated", json_true());
    json_object_set_new(m, "dropped_series", json_integer(dropped + (json_int_t)(n - TOP_STEPS)));
    return true;
}

static bool stage_metrics_aggregates(struct policy *p)
{
    json_t *m = json_object_get(p->evidence, "metrics");
    json_t *steps = json_object_get(m, "steps");
    if (json_array_size(steps) == 0)
        return false;
    int64_t dropped = 0;
    runlog_int(m, "dropped_series", &dropped);
    dropped += (int64_t)json_array_size(steps);
    json_object_del(m, "steps");
    json_object_set_new(m, "truncated", json_true());
    json_object_set_new(m, "aggregates_only", json_true());
    json_object_set_new(m, "dropped_series", json_integer(dropped));
    return true;
}

static bool keep_artifacts(struct policy *p, size_t keep)
{
    size_t n = json_array_size(p->artifacts);
    if (p->kept_artifacts <= keep)
        return false;
    json_t *files = json_array();
    for (size_t i = 0; i < keep; i++)
        json_array_append(files, json_array_get(p->artifacts, i));
    json_t *a = json_pack("{s:o, s:b, s:I}", "files", files, "truncated", true, "dropped_files",
                          (json_int_t)(n - keep));
    if (keep == 0)
        json_object_set_new(a, "all_dropped", json_true());
    json_object_set_new(p->evidence, "artifacts", a);
    p->kept_artifacts = keep;
    return true;
}

static bool stage_artifacts_10(struct policy *p)
{
    return keep_artifacts(p, 10);
}

static bool stage_artifacts_none(struct policy *p)
{
    return keep_artifacts(p, 0);
}

/* The first error is what a reader of a failed run needs most: it is never dropped. */
static bool stage_errors_first(struct policy *p)
{
    json_t *errors = json_object_get(p->evidence, "errors");
    if (json_array_size(errors) <= 1)
        return false;
    while (json_array_size(errors) > 1)
        json_array_remove(errors, json_array_size(errors) - 1);
    return true;
}

/* §5.3, in order; each stage runs only while the summary is still too big. */
static const struct {
    const char *name;
    bool (*apply)(struct policy *p);
} stages[] = {
    /* Applied by apply_size_policy() itself, from the counted size of the whole timeline. */
    { "timeline_first_last_k", NULL },
    { "metrics_top_10", stage_metrics_top },
    { "metrics_aggregates_only", stage_metrics_aggregates },
    { "artifacts_first_10", stage_artifacts_10 },
    { "timeline_first_last_5", stage_timeline_5 },
    { "timeline_first_last_1", stage_timeline_1 },
    { "timeline_none", stage_timeline_none },
    { "artifacts_none", stage_artifacts_none },
    { "errors_first_only", stage_errors_first },
};

/* K by how far over the limit the whole summary is (§5.3). */
static size_t overshoot_k(double ratio)
{
    static const struct {
        double above;
        size_t k;
    } ks[] = { { 10, 5 }, { 5, 10 }, { 2, 20 }, { 1.5, 50 } };
    for (size_t i = 0; i < NELEM(ks); i++)
        if (ratio > ks[i].above)
            return ks[i].k;
    return 100;
}

/* The whole timeline's size less that of the empty array evidence.timeline holds until the first
 * stage: evidence is at depth 1, so the array is at depth 2. */
static int64_t timeline_extra(const struct ctx *c)
{
    size_t n = brackets_size(c->ntl, 2) - 2;
    for (size_t i = 0; i < c->ntl; i++)
        n += item_lead(i, 2) + timeline_item_size(&c->tl[i], 3);
    return (int64_t)n;
}

/* Applies the stages to doc until it fits in max bytes (0 or less: no limit), recording them in
 * metadata; cut tells whether something was shortened before (metrics_topk, long messages).
 * evidence.timeline is an empty array on entry: the first stage decides from the counted size
 * how much of the timeline to build. */
static void apply_size_policy(const struct ctx *c, json_t *doc, int64_t max, bool cut)
{
    struct policy p = { 0 };
    p.c = c;
    p.doc = doc;
    p.evidence = json_object_get(doc, "evidence");
    p.metadata = json_object_get(doc, "metadata");
    p.artifacts = json_incref(json_object_get(p.evidence, "artifacts"));
    p.kept_timeline = c->ntl;
    p.kept_artifacts = json_array_size(p.artifacts);
    json_t *applied = json_object_get(p.metadata, "truncation_stages");
    json_object_set_new(p.metadata, "truncated", json_boolean(cut));
    measure(&p);
    int64_t whole = with_size_digits(p.size - digits(p.size) + timeline_extra(c));
    p.k = overshoot_k((double)whole / (double)(max > 0 ? max : 1));
    /* The first stage, which also builds the timeline: its ends when too big, else all of it. */
    if (max > 0 && whole > max && keep_timeline_ends(&p, p.k)) {
        json_array_append_new(applied, json_string(stages[0].name));
        json_object_set_new(p.metadata, "truncated", json_true());
    } else {
        keep_timeline_ends(&p, SIZE_MAX);
    }
    measure(&p);
    for (size_t i = 1; i < NELEM(stages) && max > 0 && p.size > max; i++) {
        if (!stages[i].apply(&p))
            continue;
        json_array_append_new(applied, json_string(stages[i].name));
        json_object_set_new(p.metadata, "truncated", json_true());
        measure(&p);
    }
    json_decref(p.artifacts);
}

/* ==== Building ==== */

json_t *aiop_build(const char *run_dir, const char *session_id, const struct aiop_options *o,
                   struct err *err)
{
    struct ctx c;
    memset(&c, 0, sizeof(c));
    arena_init(&c.a);
    if (o)
        c.o = *o;
    else
        aiop_options_default(&c.o);
    if ((unsigned)c.o.timeline_density > AIOP_DENSITY_HIGH)
        c.o.timeline_density = AIOP_DENSITY_MEDIUM;
    size_t len = strlen(run_dir);
    while (len > 1 && run_dir[len - 1] == '/')
        len--;
    c.dir = arena_strndup(&c.a, run_dir, len);
    if (!session_id) {
        const char *slash = strrchr(c.dir, '/');
        session_id = slash && slash[1] ? slash + 1 : c.dir;
    }
    c.session_id = arena_strdup(&c.a, session_id);
    c.step_index = json_object();
    c.ids = json_object();
    if (read_run(&c, err) != 0) {
        ctx_release(&c);
        return NULL;
    }
    collect_steps(&c);
    count_rows(&c);

    const json_t *meta = json_object_get(c.manifest, "meta");
    const char *hash = c.rl.manifest_hash ? c.rl.manifest_hash : jv_str(meta, "manifest_hash");
    json_t *top_id = hash ? json_sprintf("osiris://pipeline/@%s", hash)
                          : json_string("osiris://pipeline/unknown");
    size_t series = 0;
    collect_timeline(&c);
    json_t *errors = build_errors(&c);
    json_t *metrics = build_metrics(&c, &series);
    json_t *artifacts = build_artifacts(&c);
    size_t nerrors = json_array_size(errors);
    json_t *run = build_run(&c);
    json_t *doc =
        json_pack("{s:s, s:O, s:o, s:o, s:{s:o, s:o, s:o, s:o}, s:o}", "@context", AIOP_CONTEXT,
                  "@id", top_id, "run", run, "pipeline", build_pipeline(&c), "evidence", "timeline",
                  json_array(), "metrics", metrics, "errors", errors, "artifacts", artifacts,
                  "semantic", build_semantic(&c, json_string_value(top_id), pipeline_name(&c)));
    json_t *metadata = build_metadata(&c, c.ntl, series, nerrors);
    json_object_set_new(metadata, "delta",
                        build_delta(&c, run, jv_pointer_get(metadata, "/compute/errors_count")));
    json_object_set_new(doc, "metadata", metadata);
    json_object_set_new(doc, "narrative", build_narrative(&c, doc));
    json_object_set_new(doc, "controls", build_controls(run));
    /* Cuts made while building count as truncation too, named like the stages. */
    json_t *stages_applied = json_object_get(metadata, "truncation_stages");
    if (json_is_true(json_object_get(metrics, "truncated")))
        json_array_append_new(stages_applied, json_string("metrics_topk"));
    if (c.capped)
        json_array_append_new(stages_applied, json_string("messages_capped"));
    apply_size_policy(&c, doc, c.o.max_core_bytes, json_array_size(stages_applied) > 0);
    json_decref(top_id);
    ctx_release(&c);
    return doc;
}

/* ==== Run card ==== */

/* Text from the run, made inert: it cannot close a table cell, start a code span or a link, or
 * be read as HTML; line breaks become spaces so a table row stays one line. */
static void md_text(struct strbuf *sb, const char *s)
{
    if (!s) {
        strbuf_adds(sb, "–");
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\':
        case '|':
        case '`':
        case '[':
        case ']':
            strbuf_addch(sb, '\\');
            strbuf_addch(sb, *p);
            break;
        case '<':
            strbuf_adds(sb, "&lt;");
            break;
        case '>':
            strbuf_adds(sb, "&gt;");
            break;
        case '&':
            strbuf_adds(sb, "&amp;");
            break;
        case '\n':
        case '\r':
        case '\t':
            strbuf_addch(sb, ' ');
            break;
        default:
            if (*p >= 0x20 && *p != 0x7f)
                strbuf_addch(sb, *p);
        }
    }
}

static void md_int(struct strbuf *sb, const json_t *v)
{
    if (json_is_integer(v))
        strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        strbuf_adds(sb, "–");
}

/* The markers of one "Since last run" row: how a rise reads for this measure. */
static const struct {
    const char *key, *label;
    bool is_duration;
    const char *up, *down, *same;
} delta_rows[] = {
    { "rows", "Rows", false, "📈", "📉", "➖" },
    { "duration_ms", "Duration", true, "🔴", "🟢", "➖" },
    { "errors_count", "Errors", false, "❗", "✅", "➖" },
};

static void card_delta(struct strbuf *sb, const json_t *delta)
{
    strbuf_adds(sb, "\n### 📊 Since last run\n\n");
    if (!json_is_false(json_object_get(delta, "first_run"))) {
        strbuf_adds(sb, "*First run with this configuration*\n");
        return;
    }
    if (jv_str(delta, "previous_run_id")) {
        strbuf_adds(sb, "Previous run: ");
        md_text(sb, jv_str(delta, "previous_run_id"));
        strbuf_adds(sb, "\n\n");
    }
    strbuf_adds(sb, "| Measure | Previous | Current | Change |\n|---|---:|---:|---|\n");
    for (size_t i = 0; i < NELEM(delta_rows); i++) {
        const json_t *e = json_object_get(delta, delta_rows[i].key);
        const json_t *prev = json_object_get(e, "previous"), *cur = json_object_get(e, "current");
        const json_t *change = json_object_get(e, "change");
        strbuf_addf(sb, "| %s | ", delta_rows[i].label);
        if (delta_rows[i].is_duration) {
            format_duration(sb, prev);
            strbuf_adds(sb, " | ");
            format_duration(sb, cur);
        } else {
            md_int(sb, prev);
            strbuf_adds(sb, " | ");
            md_int(sb, cur);
        }
        strbuf_adds(sb, " | ");
        if (json_is_integer(change)) {
            json_int_t d = json_integer_value(change);
            strbuf_addf(sb, d ? "%s %+" JSON_INTEGER_FORMAT "%s" : "%s %" JSON_INTEGER_FORMAT "%s",
                        d > 0   ? delta_rows[i].up
                        : d < 0 ? delta_rows[i].down
                                : delta_rows[i].same,
                        d, delta_rows[i].is_duration ? " ms" : "");
            const json_t *pct = json_object_get(e, "change_percent");
            if (json_is_number(pct))
                strbuf_addf(sb, " (%+.1f%%)", json_number_value(pct));
        } else {
            strbuf_adds(sb, "–");
        }
        strbuf_adds(sb, " |\n");
    }
}

static void card_steps(struct strbuf *sb, const json_t *nodes)
{
    if (!json_array_size(nodes))
        return;
    strbuf_adds(sb, "\n### Step Metrics\n\n| Step | Status | Rows Read | Rows Written | Rows Out "
                    "| Duration |\n|---|---|---:|---:|---:|---:|\n");
    size_t i;
    json_t *node;
    json_array_foreach(nodes, i, node)
    {
        strbuf_adds(sb, "| ");
        md_text(sb, jv_str(node, "id"));
        strbuf_adds(sb, " | ");
        md_text(sb, jv_str(node, "status"));
        for (int f = 0; f < F_DURATION; f++) {
            strbuf_adds(sb, " | ");
            md_int(sb, json_object_get(node, field_names[f]));
        }
        strbuf_adds(sb, " | ");
        format_duration(sb, json_object_get(node, "duration_ms"));
        strbuf_adds(sb, " |\n");
    }
}

static void card_errors(struct strbuf *sb, const json_t *errors, const json_t *count)
{
    if (!json_array_size(errors))
        return;
    strbuf_adds(sb, "\n### Errors\n\n");
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        if (i == CARD_ERRORS)
            break;
        strbuf_adds(sb, "- \\[");
        md_text(sb, jv_str(e, "@id"));
        strbuf_adds(sb, "\\] ");
        if (jv_str(e, "step_id")) {
            strbuf_adds(sb, "step ");
            md_text(sb, jv_str(e, "step_id"));
            strbuf_adds(sb, ": ");
        }
        md_text(sb, jv_str(e, "message"));
        if (jv_str(e, "error_code")) {
            strbuf_adds(sb, " (");
            md_text(sb, jv_str(e, "error_code"));
            strbuf_addch(sb, ')');
        }
        strbuf_addch(sb, '\n');
    }
    size_t shown = json_array_size(errors) < CARD_ERRORS ? json_array_size(errors) : CARD_ERRORS;
    size_t total = json_is_integer(count) ? (size_t)json_integer_value(count) : 0;
    if (total < json_array_size(errors))
        total = json_array_size(errors);
    if (total > shown)
        strbuf_addf(sb, "- … and %zu more (events.jsonl of the run has them all)\n", total - shown);
}

static void card_files(struct strbuf *sb, const json_t *paths)
{
    static const struct {
        const char *key, *label, *file;
    } files[] = {
        { "run_logs_path", "Run logs", NULL },
        { "aiop_path", "Summary", "summary.json" },
        { "aiop_path", "Run card", "run-card.md" },
        { "manifest_path", "Manifest", NULL },
    };
    bool any = false;
    for (size_t i = 0; i < NELEM(files); i++) {
        const char *path = jv_str(paths, files[i].key);
        if (!path)
            continue;
        if (!any)
            strbuf_adds(sb, "\n### 📁 Files\n\n");
        any = true;
        strbuf_addf(sb, "- %s: ", files[i].label);
        md_text(sb, path);
        if (files[i].file) {
            strbuf_addch(sb, '/');
            strbuf_adds(sb, files[i].file);
        }
        strbuf_addch(sb, '\n');
    }
}

char *aiop_run_card(const json_t *summary)
{
    struct strbuf sb = STRBUF_INIT;
    const json_t *run = json_object_get(summary, "run");
    const json_t *narrative = json_object_get(summary, "narrative");
    const char *status = jv_str(run, "status");
    const struct run_status *st = &run_statuses[NELEM(run_statuses) - 1];
    for (size_t i = 0; status && i < NELEM(run_statuses); i++)
        if (strcmp(status, run_statuses[i].status) == 0)
            st = &run_statuses[i];

    strbuf_adds(&sb, "## ");
    const char *name = jv_str(json_object_get(summary, "pipeline"), "name");
    md_text(&sb, name ? name : "(unnamed pipeline)");
    strbuf_addf(&sb, " %s\n\n", st->icon);
    if (json_is_true(json_object_get(narrative, "intent_known"))) {
        strbuf_adds(&sb, "*Intent:* ");
        md_text(&sb, jv_str(narrative, "intent_summary"));
        strbuf_adds(&sb, "\n\n");
    }
    strbuf_adds(&sb, "- **Status:** ");
    md_text(&sb, status ? status : "unknown");
    strbuf_adds(&sb, "\n- **Run:** ");
    md_text(&sb, jv_str(run, "run_id"));
    strbuf_adds(&sb, " (session ");
    md_text(&sb, jv_str(run, "session_id"));
    strbuf_adds(&sb, ")\n");
    if (jv_str(run, "failed_step")) {
        strbuf_adds(&sb, "- **Failed step:** ");
        md_text(&sb, jv_str(run, "failed_step"));
        strbuf_addch(&sb, '\n');
    }
    strbuf_adds(&sb, "- **Duration:** ");
    format_duration(&sb, json_object_get(run, "duration_ms"));
    strbuf_adds(&sb, "\n- **Total Rows:** ");
    md_int(&sb, json_object_get(run, "total_rows"));
    const char *source = jv_str(jv_pointer_get(summary, "/metadata/compute"), "rows_source");
    if (source) {
        strbuf_adds(&sb, " (from ");
        md_text(&sb, source);
        strbuf_addch(&sb, ')');
    }
    strbuf_adds(&sb, "\n- **Environment:** ");
    md_text(&sb, jv_str(run, "environment"));
    strbuf_addch(&sb, '\n');

    card_delta(&sb, jv_pointer_get(summary, "/metadata/delta"));
    card_steps(&sb, jv_pointer_get(summary, "/semantic/dag/nodes"));
    card_errors(&sb, jv_pointer_get(summary, "/evidence/errors"),
                jv_pointer_get(summary, "/metadata/compute/errors_count"));
    card_files(&sb, jv_pointer_get(summary, "/metadata/paths"));
    return strbuf_detach(&sb, NULL);
}

/* ==== Writing ==== */

static int write_files(const json_t *summary, const char *out_dir, bool card, struct err *err)
{
    struct strbuf text = STRBUF_INIT, path = STRBUF_INIT;
    char *md = NULL;
    int rc = -1;
    if (files_mkdirs(out_dir, NULL, err) != 0)
        goto done;
    aiop_serialize(summary, &text);
    strbuf_addf(&path, "%s/summary.json", out_dir);
    if (files_write_atomic(strbuf_str(&path), text.buf, text.len, 0644, err) != 0)
        goto done;
    if (card) {
        md = aiop_run_card(summary);
        strbuf_reset(&path);
        strbuf_addf(&path, "%s/run-card.md", out_dir);
        if (files_write_atomic(strbuf_str(&path), md, strlen(md), 0644, err) != 0)
            goto done;
    }
    rc = 0;
done:
    free(md);
    strbuf_release(&text);
    strbuf_release(&path);
    return rc;
}

int aiop_write(const char *run_dir, const char *session_id, const char *out_dir,
               const struct aiop_options *o, struct err *err)
{
    json_t *summary = aiop_build(run_dir, session_id, o, err);
    if (!summary)
        return -1;
    int rc = write_files(summary, out_dir, true, err);
    json_decref(summary);
    return rc;
}

/* ==== Exporting a run of a project ==== */

/* path relative to dir when it lies below it (dir itself is "."), else path as it is. */
static const char *below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (!path || strncmp(path, dir, n) != 0 || (path[n] != '\0' && path[n] != '/'))
        return path;
    const char *rest = path + n;
    while (*rest == '/')
        rest++;
    return *rest ? rest : ".";
}

/* The summary of the previous comparable run (a new reference), or NULL. */
static json_t *previous_summary(struct project_config *cfg, const struct aiop_run *run)
{
    struct err err = ERR_INIT;
    struct runindex_query q = { .pipeline_slug = run->pipeline,
                                .profile = run->profile ? run->profile : "" };
    json_t *records = run->pipeline && run->manifest_hash
                          ? runindex_query(projconfig_path(cfg, cfg->index_dir), &q, NULL, &err)
                          : NULL;
    bool indexed = false;
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        const char *id = jv_str(rec, "run_id");
        indexed = indexed || (id && run->run_id && strcmp(id, run->run_id) == 0);
    }
    /* Newest first: when this run is indexed, only the runs after it in the list are older. */
    bool after = !indexed;
    json_t *found = NULL;
    json_array_foreach(records, i, rec)
    {
        const char *id = jv_str(rec, "run_id"), *hash = jv_str(rec, "manifest_hash");
        if (id && run->run_id && strcmp(id, run->run_id) == 0) {
            after = true;
            continue;
        }
        if (!after || !id || !hash || strcmp(hash, run->manifest_hash) != 0)
            continue;
        const char *dir = jv_str(rec, "aiop_path");
        const char *profile = jv_str(rec, "profile");
        dir = dir && *dir ? projconfig_path(cfg, dir)
                          : fscontract_aiop_dir(cfg, jv_str(rec, "pipeline_slug"),
                                                profile && *profile ? profile : NULL, hash,
                                                jv_str(rec, "manifest_short"), id);
        const char *path = arena_printf(&cfg->arena, "%s/summary.json", dir);
        struct strbuf text = STRBUF_INIT;
        if (files_exists(path) && files_read(path, &text, &err) == 0)
            found = jv_parse(text.buf ? text.buf : "", text.len, path, &err);
        strbuf_release(&text);
        err_clear(&err);
        if (json_is_object(found))
            break;
        json_decref(found);
        found = NULL;
    }
    json_decref(records);
    return found;
}

/* How a path is shown in the summary: relative to base_path when it is an absolute path below
 * it, else as given. */
static const char *shown(struct project_config *cfg, const char *path)
{
    return path && path[0] == '/' ? below(projconfig_path(cfg, path), cfg->base_path) : path;
}

json_t *aiop_export(struct project_config *cfg, const struct aiop_run *run, struct err *err)
{
    struct aiop_options o;
    aiop_options_default(&o);
    if (cfg->aiop.max_core_bytes > 0)
        o.max_core_bytes = cfg->aiop.max_core_bytes;
    if (cfg->aiop.metrics_topk > 0)
        o.metrics_topk = cfg->aiop.metrics_topk;
    aiop_density_parse(cfg->aiop.timeline_density, &o.timeline_density);
    const char *out_dir =
        run->out_dir ? run->out_dir
                     : fscontract_aiop_dir(cfg, run->pipeline, run->profile, run->manifest_hash,
                                           run->manifest_short, run->run_id);
    o.run_logs_path = shown(cfg, run->run_dir);
    o.aiop_path = shown(cfg, out_dir);
    o.manifest_path = shown(cfg, run->manifest_path);
    /* The session id is the run directory below the logs directory; a run directory elsewhere
     * is named by its last component. */
    const char *session = NULL;
    if (run->run_dir[0] == '/') {
        const char *abs = projconfig_path(cfg, run->run_dir);
        session = below(abs, projconfig_path(cfg, cfg->run_logs_dir));
        session = session == abs ? NULL : session;
    }
    json_t *prev = previous_summary(cfg, run);
    o.previous = prev;
    json_t *summary = aiop_build(run->run_dir, session, &o, err);
    json_decref(prev);
    if (summary && write_files(summary, out_dir, cfg->aiop.run_card, err) != 0) {
        json_decref(summary);
        summary = NULL;
    }
    return summary;
}
