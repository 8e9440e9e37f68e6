/* osiris logs list|show|last: browse the run directories under <base_path>/<run_logs_dir> (or
 * --logs-dir). A session is a directory holding events.jsonl, found up to five levels deep; its
 * id is its path relative to the logs directory. Summaries trust status.json where the run wrote
 * one (the host writes it for every run, failed ones too) and otherwise read the events; a run
 * with run_error, step_error or run_end{status:failed} is failed, never "completed". */
#include "cli.h"
#include "envfile.h"
#include "files.h"
#include "remote/spawn.h"
#include "runindex.h"
#include "suggest.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The options every logs command that reads sessions shares, for its options struct T. */
#define LOGS_DIR_OPTION(T)                                                                         \
    {                                                                                              \
        "logs-dir", 0, CLI_STRING, offsetof(T, logs_dir), "DIR",                                   \
            "the logs directory (default <base_path>/<run_logs_dir> of osiris.yaml)", NULL, 0, 0   \
    }
#define SESSION_OPTION(T)                                                                          \
    {                                                                                              \
        "session", 's', CLI_STRING, offsetof(T, session), "ID",                                    \
            "the session: its id from 'logs list', its run id, or 'last'", NULL, 0, 0              \
    }

#define MAX_DEPTH     5  /* how deep sessions are searched below the logs directory */
#define DEFAULT_LIMIT 20 /* sessions listed without --limit */

/* ==== Small helpers ==== */

/* The integer at key (an integral real counts). */
static bool jint(const json_t *o, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    /* A damaged file may hold 1e300: only reals that fit an int64_t count. */
    if (json_is_real(v) && jv_is_integral(v) && json_real_value(v) >= -9.2e18 &&
        json_real_value(v) <= 9.2e18) {
        *out = (int64_t)json_real_value(v);
        return true;
    }
    return false;
}

static json_t *int_or_null(bool have, int64_t v)
{
    return have ? json_integer(v) : json_null();
}

static const char *fmt_int(struct arena *a, bool have, int64_t v)
{
    return have ? arena_printf(a, "%" PRId64, v) : "-";
}

/* ==== Reading a session ==== */

enum step_state { STEP_STARTED, STEP_SUCCESS, STEP_FAILED, STEP_SKIPPED };
static const char *const step_state_name[] = { "started", "success", "failed", "skipped" };

struct step_summary {
    const char *id;     /* step_id */
    const char *driver; /* or NULL */
    enum step_state state;
    bool have_rows_in, have_rows_out, have_duration;
    int64_t rows_in, rows_out, duration_ms;
    const char *error, *error_code; /* step_error */
    const char *reason;             /* step_skipped */
};

struct run_summary {
    const char *id;  /* path relative to the logs directory */
    const char *dir; /* the session directory */
    const char *run_id, *pipeline, *profile;
    const char *started_at, *finished_at; /* ISO text as recorded, or NULL */
    bool have_started;
    int64_t started_us; /* started_at, for ordering */
    bool have_duration;
    int64_t duration_ms;
    const char *status; /* success | failed | running | unknown */
    const char *failed_step, *reason, *error_code;
    bool have_steps_total;
    int64_t steps_total, steps_ok, steps_failed, steps_skipped;
    bool have_rows_in, have_rows_out;
    int64_t rows_in, rows_out; /* rows read by extractors, written by writers */
    int64_t errors, warnings, event_count;
    size_t bad_lines;           /* lines of events.jsonl that are not JSON objects */
    const char *status_problem; /* why status.json was ignored, or NULL */
    bool has_status_json;
    struct step_summary *steps; /* owned (free()), in order of first appearance */
    size_t nsteps, capsteps;
    json_t *artifacts; /* owned: [{step_id, artifact_type, path}] from artifact_created */
};

static void summary_release(struct run_summary *s)
{
    free(s->steps);
    json_decref(s->artifacts);
    s->steps = NULL;
    s->artifacts = NULL;
}

/* Reads a JSON-lines file into a new array of its objects; *bad counts the other lines. A
 * missing file gives NULL with *missing set and no error. */
static json_t *read_jsonl(const char *path, size_t *bad, bool *missing, struct err *err)
{
    struct strbuf text = STRBUF_INIT;
    *bad = 0;
    *missing = !files_exists(path);
    if (*missing)
        return NULL;
    if (files_read(path, &text, err) != 0) {
        strbuf_release(&text);
        return NULL;
    }
    json_t *out = json_array();
    for (char *p = text.buf; p && *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *line = p;
        p = nl ? nl + 1 : NULL;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0)
            continue;
        struct err perr = ERR_INIT;
        json_t *v = jv_parse(line, len, path, &perr);
        if (json_is_object(v))
            json_array_append_new(out, v);
        else {
            json_decref(v);
            (*bad)++;
        }
    }
    strbuf_release(&text);
    return out;
}

static struct step_summary *step_get(struct run_summary *s, struct arena *a, const char *id)
{
    for (size_t i = 0; i < s->nsteps; i++)
        if (strcmp(s->steps[i].id, id) == 0)
            return &s->steps[i];
    XGROW(s->steps, s->capsteps, s->nsteps + 1);
    struct step_summary *st = &s->steps[s->nsteps++];
    memset(st, 0, sizeof(*st));
    st->id = arena_strdup(a, id);
    return st;
}

/* The writer of a live run holds a lock on events.jsonl; a run that died holds none. */
static bool held_by_writer(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return busy;
}

/* Total of a rows metric: the last value of each step summed. Values without a step_id count
 * only when no value has one, so an engine total next to per-step values is not counted
 * twice. */
static bool metric_total(const json_t *metrics, const char *name, int64_t *out)
{
    json_t *per_step = json_object();
    int64_t unscoped = 0, v;
    bool any_unscoped = false;
    size_t i;
    json_t *m;
    json_array_foreach(metrics, i, m)
    {
        const char *metric = cli_jstr(m, "metric"), *step = cli_jstr(m, "step_id");
        if (!metric || strcmp(metric, name) != 0 || !jint(m, "value", &v))
            continue;
        if (step)
            json_object_set_new(per_step, step, json_integer(v));
        else {
            unscoped += v;
            any_unscoped = true;
        }
    }
    bool found = json_object_size(per_step) > 0 || any_unscoped;
    if (json_object_size(per_step) > 0) {
        const char *k;
        int64_t sum = 0;
        json_object_foreach(per_step, k, m) sum += json_integer_value(m);
        *out = sum;
    } else if (any_unscoped) {
        *out = unscoped;
    }
    json_decref(per_step);
    return found;
}

static void count_levels(struct run_summary *s, const json_t *e, const char *event)
{
    static const char *const error_events[] = { "step_error", "step_failed", "run_error" };
    const char *level = cli_jstr(e, "level");
    bool is_error =
        level && (strcasecmp(level, "error") == 0 || strcasecmp(level, "critical") == 0);
    for (size_t i = 0; i < sizeof(error_events) / sizeof(*error_events) && !is_error; i++)
        is_error = strcmp(event, error_events[i]) == 0;
    if (is_error)
        s->errors++;
    else if ((level && (strcasecmp(level, "warning") == 0 || strcasecmp(level, "warn") == 0)) ||
             strstr(event, "warning"))
        s->warnings++;
}

/* One event into the summary: a handler per event name. */
struct take {
    struct run_summary *s;
    struct arena *a;
    const json_t *e;
    const char *ts, *step;
    bool *failed;
    const json_t **run_end;
};

/* Copies e[key] into *dst when it is a string (the first one wins when keep_first). */
static void take_str(struct take *t, const char *key, const char **dst, bool keep_first)
{
    const char *v = cli_jstr(t->e, key);
    if (v && !(keep_first && *dst))
        *dst = arena_strdup(t->a, v);
}

static void on_run_start(struct take *t)
{
    struct run_summary *s = t->s;
    if (!s->started_at && t->ts)
        s->started_at = arena_strdup(t->a, t->ts);
    take_str(t, "run_id", &s->run_id, true);
    take_str(t, "pipeline_id", &s->pipeline, true);
    take_str(t, "profile", &s->profile, true);
    if (jint(t->e, "steps_total", &s->steps_total))
        s->have_steps_total = true;
}

static void on_step_start(struct take *t)
{
    take_str(t, "driver", &step_get(t->s, t->a, t->step)->driver, false);
}

static void on_step_complete(struct take *t)
{
    struct step_summary *st = step_get(t->s, t->a, t->step);
    st->state = STEP_SUCCESS;
    take_str(t, "driver", &st->driver, false);
    st->have_rows_in = jint(t->e, "rows_in", &st->rows_in);
    st->have_rows_out = jint(t->e, "rows_out", &st->rows_out);
    st->have_duration = jint(t->e, "duration_ms", &st->duration_ms);
}

static void on_step_error(struct take *t)
{
    struct run_summary *s = t->s;
    struct step_summary *st = step_get(s, t->a, t->step);
    st->state = STEP_FAILED;
    take_str(t, "driver", &st->driver, false);
    take_str(t, "error", &st->error, false);
    take_str(t, "error_code", &st->error_code, false);
    st->have_duration = jint(t->e, "duration_ms", &st->duration_ms);
    *t->failed = true;
    if (!s->failed_step) {
        s->failed_step = st->id;
        s->reason = st->error;
        s->error_code = st->error_code;
    }
}

static void on_step_skipped(struct take *t)
{
    struct step_summary *st = step_get(t->s, t->a, t->step);
    st->state = STEP_SKIPPED;
    take_str(t, "reason", &st->reason, false);
}

static void on_artifact(struct take *t)
{
    json_array_append_new(t->s->artifacts,
                          json_pack("{s:o, s:o, s:o}", "step_id", jv_text(t->step), "artifact_type",
                                    jv_text(cli_jstr(t->e, "artifact_type")), "path",
                                    jv_text(cli_jstr(t->e, "path"))));
}

static void on_run_complete(struct take *t)
{
    struct run_summary *s = t->s;
    if (jint(t->e, "rows_read", &s->rows_in))
        s->have_rows_in = true;
    if (jint(t->e, "rows_written", &s->rows_out))
        s->have_rows_out = true;
    if (jint(t->e, "duration_ms", &s->duration_ms))
        s->have_duration = true;
}

static void on_run_error(struct take *t)
{
    struct run_summary *s = t->s;
    *t->failed = true;
    if (t->step && !s->failed_step)
        s->failed_step = arena_strdup(t->a, t->step);
    take_str(t, "error", &s->reason, false);
    take_str(t, "error_code", &s->error_code, false);
}

static void on_run_end(struct take *t)
{
    struct run_summary *s = t->s;
    *t->run_end = t->e;
    if (t->ts)
        s->finished_at = arena_strdup(t->a, t->ts);
    if (jint(t->e, "duration_ms", &s->duration_ms))
        s->have_duration = true;
    const char *st = cli_jstr(t->e, "status");
    if (st && strcmp(st, "success") != 0)
        *t->failed = true;
}

static const struct {
    const char *event;
    bool needs_step; /* ignored without a step_id */
    void (*take)(struct take *t);
} event_handlers[] = {
    { "run_start", false, on_run_start },
    { "step_start", true, on_step_start },
    { "step_complete", true, on_step_complete },
    { "step_error", true, on_step_error },
    { "step_failed", true, on_step_error }, /* the original's name */
    { "step_skipped", true, on_step_skipped },
    { "artifact_created", false, on_artifact },
    { "run_complete", false, on_run_complete },
    { "run_error", false, on_run_error },
    { "run_end", false, on_run_end },
};

static void take_event(struct run_summary *s, struct arena *a, const json_t *e, bool *failed,
                       const json_t **run_end)
{
    const char *event = cli_jstr(e, "event");
    if (!event)
        return;
    s->event_count++;
    count_levels(s, e, event);
    struct take t = { s, a, e, cli_jstr(e, "ts"), cli_jstr(e, "step_id"), failed, run_end };
    for (size_t i = 0; i < sizeof(event_handlers) / sizeof(*event_handlers); i++)
        if (strcmp(event, event_handlers[i].event) == 0) {
            if (t.step || !event_handlers[i].needs_step)
                event_handlers[i].take(&t);
            return;
        }
}

/* status.json, written by the host for every run, is the authority where it has a field. */
static void take_status_json(struct run_summary *s, struct arena *a, const json_t *j)
{
    int64_t v;
    const char *st = cli_jstr(j, "status");
    const json_t *ok = json_object_get(j, "ok");
    if (st && (strcmp(st, "success") == 0 || strcmp(st, "failed") == 0))
        s->status = strcmp(st, "success") == 0 ? "success" : "failed";
    else if (json_is_boolean(ok))
        s->status = json_is_true(ok) ? "success" : "failed";
#define TAKE_STR(field, key)                                                                       \
    if (cli_jstr(j, key) && *cli_jstr(j, key))                                                     \
    s->field = arena_strdup(a, cli_jstr(j, key))
    TAKE_STR(run_id, "run_id");
    TAKE_STR(pipeline, "pipeline");
    TAKE_STR(profile, "profile");
    TAKE_STR(started_at, "started_at");
    TAKE_STR(finished_at, "finished_at");
    TAKE_STR(failed_step, "failed_step");
    TAKE_STR(reason, "reason");
    TAKE_STR(error_code, "error_code");
#undef TAKE_STR
    if (jint(j, "duration_ms", &v)) {
        s->duration_ms = v;
        s->have_duration = true;
    }
    if (jint(j, "steps_total", &v)) {
        s->steps_total = v;
        s->have_steps_total = true;
    }
    if (jint(j, "steps_completed", &v))
        s->steps_ok = v;
    if (jint(j, "rows_read", &v)) {
        s->rows_in = v;
        s->have_rows_in = true;
    }
    if (jint(j, "rows_written", &v)) {
        s->rows_out = v;
        s->have_rows_out = true;
    }
}

/* Summarises the session in dir. events receives the parsed events (a new reference) when not
 * NULL. Fails only when events.jsonl cannot be read. */
static int summarise(struct arena *a, const char *id, const char *dir, struct run_summary *s,
                     json_t **events_out, struct err *err)
{
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->dir = dir;
    s->artifacts = json_array();
    const char *events_path = arena_printf(a, "%s/events.jsonl", dir);
    bool missing, failed = false;
    json_t *events = read_jsonl(events_path, &s->bad_lines, &missing, err);
    if (!events && !missing)
        return -1;
    if (!events)
        events = json_array();
    const json_t *run_end = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) take_event(s, a, e, &failed, &run_end);
    for (i = 0; i < s->nsteps; i++) {
        s->steps_ok += s->steps[i].state == STEP_SUCCESS;
        s->steps_failed += s->steps[i].state == STEP_FAILED;
        s->steps_skipped += s->steps[i].state == STEP_SKIPPED;
    }
    if (!s->started_at && json_array_size(events) > 0 && cli_jstr(json_array_get(events, 0), "ts"))
        s->started_at = arena_strdup(a, cli_jstr(json_array_get(events, 0), "ts"));
    if (failed)
        s->status = "failed";
    else if (run_end)
        s->status = "success";
    else if (held_by_writer(events_path))
        s->status = "running";
    else
        s->status = "unknown";

    struct strbuf text = STRBUF_INIT;
    const char *status_path = arena_printf(a, "%s/status.json", dir);
    struct err serr = ERR_INIT;
    if (files_exists(status_path) && files_read(status_path, &text, &serr) == 0) {
        json_t *j = jv_parse(text.buf, text.len, status_path, &serr);
        if (json_is_object(j)) {
            s->has_status_json = true;
            take_status_json(s, a, j);
            if (strcmp(s->status, "success") == 0)
                s->reason = NULL;
        } else if (j) {
            err_set(&serr, ERR_INPUT, "%s: not a JSON object", status_path);
        }
        json_decref(j);
    }
    if (serr.code)
        s->status_problem = arena_strdup(a, serr.msg);
    strbuf_release(&text);
    if (strcmp(s->status, "unknown") == 0 && !s->reason)
        s->reason = "no run_end: interrupted or still running";

    if (!s->have_rows_in || !s->have_rows_out) {
        size_t bad;
        json_t *metrics =
            read_jsonl(arena_printf(a, "%s/metrics.jsonl", dir), &bad, &missing, &serr);
        if (metrics && !s->have_rows_in)
            s->have_rows_in = metric_total(metrics, "rows_read", &s->rows_in);
        if (metrics && !s->have_rows_out)
            s->have_rows_out = metric_total(metrics, "rows_written", &s->rows_out);
        json_decref(metrics);
    }
    if (s->started_at)
        s->have_started = runindex_parse_time(s->started_at, &s->started_us) == 0;
    int64_t end_us;
    if (!s->have_duration && s->have_started && s->finished_at &&
        runindex_parse_time(s->finished_at, &end_us) == 0) {
        s->duration_ms = (end_us - s->started_us) / 1000;
        s->have_duration = true;
    }
    if (events_out)
        *events_out = events;
    else
        json_decref(events);
    return 0;
}

/* ==== Finding sessions ==== */

struct logs_dir {
    struct arena arena; /* every string here and in the summaries */
    const char *path;   /* the logs directory */
    bool exists;
    const char **ids; /* session ids (owned array, strings in arena) */
    size_t n, cap;
};

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void walk(struct logs_dir *d, const char *rel, int depth)
{
    const char *full = *rel ? arena_printf(&d->arena, "%s/%s", d->path, rel) : d->path;
    DIR *dir = opendir(full);
    if (!dir)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' || de->d_name[0] == '@')
            continue;
        XGROW(names, cap, n + 1);
        names[n++] = xstrdup(de->d_name);
    }
    closedir(dir);
    if (n > 1)
        qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n; i++) {
        const char *child = *rel ? arena_printf(&d->arena, "%s/%s", rel, names[i])
                                 : arena_strdup(&d->arena, names[i]);
        const char *path = arena_printf(&d->arena, "%s/%s", d->path, child);
        struct stat st;
        /* Symbolic links are not followed: a link cannot make the walk loop. */
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        const char *events = arena_printf(&d->arena, "%s/events.jsonl", path);
        if (stat(events, &st) == 0 && S_ISREG(st.st_mode)) {
            XGROW(d->ids, d->cap, d->n + 1);
            d->ids[d->n++] = child;
        } else if (depth < MAX_DEPTH) {
            walk(d, child, depth + 1);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void logs_dir_release(struct logs_dir *d)
{
    free(d->ids);
    arena_release(&d->arena);
}

/* The logs directory (--logs-dir, else <base_path>/<run_logs_dir> of osiris.yaml) and the
 * sessions below it. On failure the error has been reported and the exit code is returned. */
static int logs_dir_open(struct cli_ctx *ctx, const char *opt, struct logs_dir *d)
{
    memset(d, 0, sizeof(*d));
    arena_init(&d->arena);
    if (opt) {
        size_t len = strlen(opt);
        while (len > 1 && opt[len - 1] == '/')
            len--;
        d->path = arena_strndup(&d->arena, opt, len);
    } else {
        struct err err = ERR_INIT;
        struct project_config cfg;
        if (envfile_load_defaults(NULL, &err) != 0 || projconfig_load(&cfg, NULL, &err) != 0) {
            logs_dir_release(d);
            return cli_fail(ctx, &err, NULL);
        }
        d->path = arena_strdup(&d->arena, projconfig_path(&cfg, cfg.run_logs_dir));
        projconfig_release(&cfg);
    }
    struct stat st;
    if (stat(d->path, &st) != 0) {
        if (errno != ENOENT) {
            int rc = cli_failf(ctx, ERR_IO, "cannot read logs directory '%s': %s", d->path,
                               strerror(errno));
            logs_dir_release(d);
            return rc;
        }
        return EXIT_OK;
    }
    if (!S_ISDIR(st.st_mode)) {
        int rc = cli_failf(ctx, ERR_INPUT, "logs directory '%s' is not a directory", d->path);
        logs_dir_release(d);
        return rc;
    }
    d->exists = true;
    walk(d, "", 1);
    return EXIT_OK;
}

/* Newest first: by start time, sessions without one last, then by id (descending). */
static int summary_cmp(const void *pa, const void *pb)
{
    const struct run_summary *a = pa, *b = pb;
    if (a->have_started != b->have_started)
        return a->have_started ? -1 : 1;
    if (a->have_started && a->started_us != b->started_us)
        return a->started_us > b->started_us ? -1 : 1;
    return -strcmp(a->id, b->id);
}

/* Summaries of every session, newest first (an owned array of d->n). Sessions whose events
 * cannot be read are reported as warnings and left out (*n counts the rest). */
static struct run_summary *summarise_all(struct logs_dir *d, size_t *n)
{
    struct run_summary *all = xcalloc(d->n ? d->n : 1, sizeof(*all));
    *n = 0;
    for (size_t i = 0; i < d->n; i++) {
        struct err err = ERR_INIT;
        const char *dir = arena_printf(&d->arena, "%s/%s", d->path, d->ids[i]);
        if (summarise(&d->arena, d->ids[i], dir, &all[*n], NULL, &err) != 0) {
            cli_warn("session '%s' skipped: %s", d->ids[i], err.msg);
            summary_release(&all[*n]);
            continue;
        }
        (*n)++;
    }
    qsort(all, *n, sizeof(*all), summary_cmp);
    return all;
}

static void summaries_release(struct run_summary *all, size_t n)
{
    for (size_t i = 0; i < n; i++)
        summary_release(&all[i]);
    free(all);
}

/* ==== Output ==== */

static json_t *summary_json(const struct run_summary *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "session_id", jv_text(s->id));
    json_object_set_new(o, "run_id", jv_text(s->run_id));
    json_object_set_new(o, "pipeline", jv_text(s->pipeline));
    json_object_set_new(o, "profile", jv_text(s->profile));
    json_object_set_new(o, "status", json_string(s->status));
    json_object_set_new(o, "started_at", jv_text(s->started_at));
    json_object_set_new(o, "finished_at", jv_text(s->finished_at));
    json_object_set_new(o, "duration_ms", int_or_null(s->have_duration, s->duration_ms));
    json_object_set_new(o, "steps_total", int_or_null(s->have_steps_total, s->steps_total));
    json_object_set_new(o, "steps_ok", json_integer(s->steps_ok));
    json_object_set_new(o, "steps_failed", json_integer(s->steps_failed));
    json_object_set_new(o, "steps_skipped", json_integer(s->steps_skipped));
    json_object_set_new(o, "rows_in", int_or_null(s->have_rows_in, s->rows_in));
    json_object_set_new(o, "rows_out", int_or_null(s->have_rows_out, s->rows_out));
    json_object_set_new(o, "errors", json_integer(s->errors));
    json_object_set_new(o, "warnings", json_integer(s->warnings));
    json_object_set_new(o, "failed_step", jv_text(s->failed_step));
    json_object_set_new(o, "reason", jv_text(s->reason));
    json_object_set_new(o, "error_code", jv_text(s->error_code));
    json_object_set_new(o, "path", jv_text(s->dir));
    return o;
}

/* The summary plus steps, artifacts and counts (show, last). */
static json_t *detail_json(const struct run_summary *s)
{
    json_t *o = summary_json(s);
    json_t *steps = json_array();
    for (size_t i = 0; i < s->nsteps; i++) {
        const struct step_summary *st = &s->steps[i];
        json_array_append_new(
            steps,
            json_pack("{s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "step_id", jv_text(st->id),
                      "driver", jv_text(st->driver), "status", step_state_name[st->state],
                      "rows_in", int_or_null(st->have_rows_in, st->rows_in), "rows_out",
                      int_or_null(st->have_rows_out, st->rows_out), "duration_ms",
                      int_or_null(st->have_duration, st->duration_ms), "error", jv_text(st->error),
                      "error_code", jv_text(st->error_code), "reason", jv_text(st->reason)));
    }
    json_object_set_new(o, "event_count", json_integer(s->event_count));
    json_object_set_new(o, "has_status_json", json_boolean(s->has_status_json));
    json_object_set_new(o, "steps", steps);
    json_object_set_new(o, "artifacts", json_incref(s->artifacts));
    return o;
}

static const char *steps_cell(struct arena *a, const struct run_summary *s)
{
    if (s->have_steps_total)
        return arena_printf(a, "%" PRId64 "/%" PRId64, s->steps_ok, s->steps_total);
    return arena_printf(a, "%" PRId64 "/?", s->steps_ok);
}

/* "2026-11-26 10:01:47 UTC", or the text as recorded when it is not an ISO time. */
static const char *fmt_utc(struct arena *a, const char *iso)
{
    const char *t = cli_fmt_time(a, iso, false);
    return iso && t != iso ? arena_printf(a, "%s UTC", t) : t;
}

static void print_detail(struct arena *a, const struct run_summary *s)
{
    printf("%-10s %s\n", "session", s->id);
    printf("%-10s %s\n", "run id", s->run_id ? s->run_id : "-");
    printf("%-10s %s\n", "pipeline", s->pipeline ? s->pipeline : "-");
    printf("%-10s %s\n", "profile", s->profile && *s->profile ? s->profile : "-");
    printf("%-10s %s", "status", s->status);
    if (s->error_code)
        printf(" (%s)", s->error_code);
    putchar('\n');
    if (s->failed_step)
        printf("%-10s %s\n", "failed at", s->failed_step);
    if (s->reason)
        printf("%-10s %s\n", "reason", s->reason);
    printf("%-10s %s\n", "started", fmt_utc(a, s->started_at));
    printf("%-10s %s\n", "finished", fmt_utc(a, s->finished_at));
    printf("%-10s %s\n", "duration", cli_fmt_duration(a, s->have_duration, s->duration_ms));
    printf("%-10s %" PRId64 " ok, %" PRId64 " failed, %" PRId64 " skipped, of %s\n", "steps",
           s->steps_ok, s->steps_failed, s->steps_skipped,
           fmt_int(a, s->have_steps_total, s->steps_total));
    printf("%-10s %s read, %s written\n", "rows", fmt_int(a, s->have_rows_in, s->rows_in),
           fmt_int(a, s->have_rows_out, s->rows_out));
    printf("%-10s %" PRId64 " errors, %" PRId64 " warnings, %" PRId64 " events\n", "events",
           s->errors, s->warnings, s->event_count);
    printf("%-10s %s\n", "directory", s->dir);
    if (s->nsteps == 0)
        return;
    struct cli_table t = { .ncols = 7 };
    putchar('\n');
    cli_table_row(&t, "STEP", "DRIVER", "STATUS", "ROWS IN", "ROWS OUT", "DURATION", "DETAIL");
    for (size_t i = 0; i < s->nsteps; i++) {
        const struct step_summary *st = &s->steps[i];
        const char *detail = st->error ? st->error : st->reason ? st->reason : "";
        cli_table_row(&t, st->id, st->driver, step_state_name[st->state],
                      fmt_int(a, st->have_rows_in, st->rows_in),
                      fmt_int(a, st->have_rows_out, st->rows_out),
                      cli_fmt_duration(a, st->have_duration, st->duration_ms), detail);
    }
    cli_table_print(&t);
}

/* ==== logs list ==== */

struct list_opts {
    long limit;
    const char *logs_dir;
};

static int list_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct list_opts *opts = optsp;
    (void)argc;
    (void)argv;
    struct logs_dir d;
    int rc = logs_dir_open(ctx, opts->logs_dir, &d);
    if (rc)
        return rc;
    size_t n = 0, limit = opts->limit > 0 ? (size_t)opts->limit : DEFAULT_LIMIT;
    struct run_summary *all = summarise_all(&d, &n);
    size_t shown = n < limit ? n : limit;
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < shown; i++)
            json_array_append_new(list, summary_json(&all[i]));
        json_t *o = json_pack("{s:o, s:I, s:o}", "sessions", list, "total_sessions", (json_int_t)n,
                              "logs_dir", jv_text(d.path));
        if (!d.exists)
            json_object_set_new(o, "message",
                                json_string("the logs directory does not exist (no run yet)"));
        cli_print_json(o);
    } else if (!d.exists) {
        printf("no sessions: the logs directory '%s' does not exist (no run yet)\n", d.path);
    } else if (n == 0) {
        printf("no sessions in '%s'\n", d.path);
    } else {
        struct cli_table t = { .ncols = 8 };
        cli_table_row(&t, "STARTED", "STATUS", "DURATION", "STEPS", "ROWS IN", "ROWS OUT",
                      "PIPELINE", "SESSION");
        for (size_t i = 0; i < shown; i++) {
            const struct run_summary *s = &all[i];
            cli_table_row(&t, cli_fmt_time(&d.arena, s->started_at, false), s->status,
                          cli_fmt_duration(&d.arena, s->have_duration, s->duration_ms),
                          steps_cell(&d.arena, s), fmt_int(&d.arena, s->have_rows_in, s->rows_in),
                          fmt_int(&d.arena, s->have_rows_out, s->rows_out), s->pipeline, s->id);
        }
        cli_table_print(&t);
        if (shown < n)
            printf("(%zu of %zu sessions; --limit N shows more)\n", shown, n);
    }
    summaries_release(all, n);
    logs_dir_release(&d);
    return EXIT_OK;
}

static const struct cli_option list_options[] = {
    { "limit", 'n', CLI_INT, offsetof(struct list_opts, limit), "N",
      "show the N newest sessions (default 20)", NULL, 1, 1000000 },
    LOGS_DIR_OPTION(struct list_opts),
    { 0 },
};

const struct cli_command cmd_logs_list = {
    .name = "logs list",
    .summary = "List run sessions, newest first, with status, duration, steps and rows",
    .options = list_options,
    .opts_size = sizeof(struct list_opts),
    .run = list_run,
};

/* ==== logs show ==== */

/* Finds the session named by want: its id, "last" (the newest), or a unique run id or final
 * path component. NULL when there is none; *suggestion then names a likely one (or NULL), and
 * *matches counts the sessions want names when it is ambiguous (then *suggestion is the newest). */
static const struct run_summary *find_session(struct run_summary *all, size_t n, const char *want,
                                              const char **suggestion, size_t *matches)
{
    *suggestion = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].id, want) == 0)
            return &all[i];
    if (strcmp(want, "last") == 0 && n > 0)
        return &all[0];
    const struct run_summary *found = NULL;
    *matches = 0;
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(all[i].id, '/');
        base = base ? base + 1 : all[i].id;
        if (strcmp(base, want) == 0 || (all[i].run_id && strcmp(all[i].run_id, want) == 0)) {
            if (!found)
                found = &all[i];
            (*matches)++;
        }
    }
    if (*matches == 1)
        return found;
    if (found) {
        *suggestion = found->id;
        return NULL;
    }
    /* The newest session whose id contains what was typed, else the closest id. */
    for (size_t i = 0; i < n && !*suggestion; i++)
        if (strstr(all[i].id, want))
            *suggestion = all[i].id;
    if (!*suggestion && n > 0) {
        const char **ids = xmalloc(n * sizeof(*ids));
        for (size_t i = 0; i < n; i++)
            ids[i] = all[i].id;
        int best = suggest_closest(want, ids, n);
        if (best >= 0)
            *suggestion = ids[best];
        free(ids);
    }
    return NULL;
}

struct show_opts {
    const char *session;
    bool events, metrics;
    const char *logs_dir;
};

/* "k=v k2=v2" of the fields not already in a column. */
static const char *details(struct arena *a, const json_t *rec, const char *const *skip)
{
    struct strbuf sb = STRBUF_INIT;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)rec, key, v)
    {
        bool skipped = false;
        for (const char *const *k = skip; *k && !skipped; k++)
            skipped = strcmp(*k, key) == 0;
        if (skipped)
            continue;
        if (sb.len)
            strbuf_addch(&sb, ' ');
        strbuf_addf(&sb, "%s=", key);
        const char *str = json_is_string(v) ? json_string_value(v) : NULL;
        if (str && *str && !strpbrk(str, " \t\r\n\"="))
            strbuf_adds(&sb, str);
        else
            jv_dump(v, &sb, 0);
    }
    const char *out = arena_take(a, &sb);
    return out;
}

static void print_events(struct arena *a, const json_t *events)
{
    static const char *const skip[] = { "ts", "session", "event", "step_id", NULL };
    struct cli_table t = { .ncols = 4 };
    cli_table_row(&t, "TIME", "EVENT", "STEP", "DETAILS");
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
        cli_table_row(&t, cli_fmt_time(a, cli_jstr(e, "ts"), true), cli_jstr(e, "event"),
                      cli_jstr(e, "step_id"), details(a, e, skip));
    cli_table_print(&t);
}

static void print_metrics(struct arena *a, const json_t *metrics)
{
    static const char *const skip[] = {
        "ts", "session", "metric", "value", "unit", "step_id", NULL
    };
    struct cli_table t = { .ncols = 5 };
    cli_table_row(&t, "TIME", "METRIC", "STEP", "VALUE", "DETAILS");
    size_t i;
    json_t *m;
    json_array_foreach(metrics, i, m)
    {
        struct strbuf sb = STRBUF_INIT;
        const json_t *value = json_object_get(m, "value");
        if (value)
            jv_dump(value, &sb, 0);
        if (cli_jstr(m, "unit"))
            strbuf_addf(&sb, " %s", cli_jstr(m, "unit"));
        cli_table_row(&t, cli_fmt_time(a, cli_jstr(m, "ts"), true), cli_jstr(m, "metric"),
                      cli_jstr(m, "step_id"), arena_strdup(a, strbuf_str(&sb)),
                      details(a, m, skip));
        strbuf_release(&sb);
    }
    cli_table_print(&t);
}

static int show_session(struct cli_ctx *ctx, struct logs_dir *d, const struct run_summary *s,
                        bool events, bool metrics)
{
    struct err err = ERR_INIT;
    cli_warn_bad_lines(arena_printf(&d->arena, "%s/events.jsonl", s->id), s->bad_lines);
    if (s->status_problem)
        cli_warn("status.json ignored: %s", s->status_problem);
    if (!events && !metrics) {
        if (ctx->json)
            cli_print_json(detail_json(s));
        else
            print_detail(&d->arena, s);
        return EXIT_OK;
    }
    json_t *ev = NULL, *mt = NULL;
    size_t bad = 0;
    bool missing;
    if (events)
        ev = read_jsonl(arena_printf(&d->arena, "%s/events.jsonl", s->dir), &bad, &missing, &err);
    if (metrics && err.code == ERR_NONE) {
        mt = read_jsonl(arena_printf(&d->arena, "%s/metrics.jsonl", s->dir), &bad, &missing, &err);
        cli_warn_bad_lines(arena_printf(&d->arena, "%s/metrics.jsonl", s->id), bad);
        if (!mt && missing)
            mt = json_array();
    }
    if (err.code != ERR_NONE) {
        json_decref(ev);
        json_decref(mt);
        return cli_fail(ctx, &err, NULL);
    }
    if (ctx->json) {
        json_t *o = json_pack("{s:o}", "session_id", jv_text(s->id));
        if (ev)
            json_object_set(o, "events", ev);
        if (mt)
            json_object_set(o, "metrics", mt);
        cli_print_json(o);
    } else {
        if (ev)
            print_events(&d->arena, ev);
        if (ev && mt)
            putchar('\n');
        if (mt && json_array_size(mt) == 0)
            printf("no metrics in %s\n", s->id);
        else if (mt)
            print_metrics(&d->arena, mt);
    }
    json_decref(ev);
    json_decref(mt);
    return EXIT_OK;
}

/* The session a command names (--session ID or the argument; "./a/b/" names "a/b"), found
 * as find_session() finds it in the summaries all (of d); NULL after reporting why, with *rc the
 * exit code. */
static const struct run_summary *named_session(struct cli_ctx *ctx, const char *cmd,
                                               const char *opt, int argc, char **argv,
                                               struct logs_dir *d, struct run_summary *all,
                                               size_t n, int *rc)
{
    const char *want = opt;
    if (argc > 0 && want && strcmp(want, argv[0]) != 0) {
        *rc = cli_failf(ctx, ERR_USAGE, "%s: the session is given twice ('%s' and '%s')", cmd, want,
                        argv[0]);
        return NULL;
    }
    if (argc > 0)
        want = argv[0];
    if (!want || !*want) {
        *rc = cli_failf(ctx, ERR_USAGE,
                        "%s: which session? give --session ID (see 'osiris logs list')", cmd);
        return NULL;
    }
    while (want[0] == '.' && want[1] == '/')
        want += 2;
    size_t len = strlen(want);
    while (len > 1 && want[len - 1] == '/')
        len--;
    want = arena_strndup(&d->arena, want, len);
    const char *suggestion;
    size_t matches;
    const struct run_summary *s = find_session(all, n, want, &suggestion, &matches);
    if (s)
        return s;
    struct err err = ERR_INIT;
    if (matches > 1)
        err_set(&err, ERR_USAGE,
                "session '%s' is ambiguous: %zu sessions in '%s' match it, the newest is "
                "'%s'; give the full id",
                want, matches, d->path, suggestion);
    else if (!d->exists)
        err_set(&err, ERR_NOTFOUND, "no session '%s': the logs directory '%s' does not exist", want,
                d->path);
    else if (suggestion)
        err_set(&err, ERR_NOTFOUND, "no session '%s' in '%s'; did you mean '%s'?", want, d->path,
                suggestion);
    else
        err_set(&err, ERR_NOTFOUND, "no session '%s' in '%s' (see 'osiris logs list')", want,
                d->path);
    *rc = cli_fail(
        ctx, &err,
        json_pack("{s:o, s:o}", "logs_dir", jv_text(d->path), "suggestion", jv_text(suggestion)));
    return NULL;
}

static int show_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct show_opts *opts = optsp;
    struct logs_dir d;
    int rc = logs_dir_open(ctx, opts->logs_dir, &d);
    if (rc)
        return rc;
    size_t n = 0;
    struct run_summary *all = summarise_all(&d, &n);
    const struct run_summary *s =
        named_session(ctx, "logs show", opts->session, argc, argv, &d, all, n, &rc);
    if (s)
        rc = show_session(ctx, &d, s, opts->events, opts->metrics);
    summaries_release(all, n);
    logs_dir_release(&d);
    return rc;
}

static const struct cli_option show_options[] = {
    SESSION_OPTION(struct show_opts),
    { "events", 0, CLI_FLAG, offsetof(struct show_opts, events), NULL,
      "print the events (events.jsonl)", NULL, 0, 0 },
    { "metrics", 0, CLI_FLAG, offsetof(struct show_opts, metrics), NULL,
      "print the metrics (metrics.jsonl)", NULL, 0, 0 },
    LOGS_DIR_OPTION(struct show_opts),
    { 0 },
};

const struct cli_command cmd_logs_show = {
    .name = "logs show",
    .summary = "Show one session: its summary and steps, or its events or metrics",
    .args = "[SESSION]",
    .min_args = 0,
    .max_args = 1,
    .options = show_options,
    .opts_size = sizeof(struct show_opts),
    .run = show_run,
};

/* ==== logs last ==== */

struct last_opts {
    const char *logs_dir;
};

static int last_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct last_opts *opts = optsp;
    (void)argc;
    (void)argv;
    struct logs_dir d;
    int rc = logs_dir_open(ctx, opts->logs_dir, &d);
    if (rc)
        return rc;
    size_t n = 0;
    struct run_summary *all = summarise_all(&d, &n);
    if (n == 0) {
        struct err err = ERR_INIT;
        if (!d.exists)
            err_set(&err, ERR_NOTFOUND, "no sessions: the logs directory '%s' does not exist",
                    d.path);
        else
            err_set(&err, ERR_NOTFOUND, "no sessions in '%s'", d.path);
        rc = cli_fail(ctx, &err, json_pack("{s:o}", "logs_dir", jv_text(d.path)));
    } else {
        rc = show_session(ctx, &d, &all[0], false, false);
    }
    summaries_release(all, n);
    logs_dir_release(&d);
    return rc;
}

static const struct cli_option last_options[] = {
    LOGS_DIR_OPTION(struct last_opts),
    { 0 },
};

const struct cli_command cmd_logs_last = {
    .name = "logs last",
    .summary = "Show the newest session with its steps",
    .options = last_options,
    .opts_size = sizeof(struct last_opts),
    .run = last_run,
};

/* ==== logs gc ==== */

struct gc_opts {
    long days;
    const char *max_gb;
    bool dry_run;
    const char *logs_dir;
};

/* Bytes under path (files, not following links). */
static uint64_t tree_bytes(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    uint64_t n = 0;
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *child = xmalloc(strlen(path) + strlen(de->d_name) + 2);
        sprintf(child, "%s/%s", path, de->d_name);
        n += tree_bytes(child);
        free(child);
    }
    if (d)
        closedir(d);
    return n;
}

struct gc_run {
    const struct run_summary *s;
    int64_t ended_us; /* when it finished (or started, or events.jsonl was last written) */
    uint64_t bytes;
    const char *reason; /* why it goes, or NULL: it stays */
};

static int gc_oldest_first(const void *pa, const void *pb)
{
    const struct gc_run *a = pa, *b = pb;
    if (a->ended_us != b->ended_us)
        return a->ended_us < b->ended_us ? -1 : 1;
    return strcmp(a->s->id, b->s->id);
}

/* Whole run directories only: sessions as `logs list` finds them (a directory holding
 * events.jsonl), never a live one (its writer holds events.jsonl locked), and nothing else
 * under the logs directory. Older than --days first, then oldest first while the rest is over
 * --max-gb. */
int cli_logs_gc(struct cli_ctx *ctx, const char *logs_dir, long days, double max_gb, bool dry_run)
{
    struct logs_dir d;
    int rc = logs_dir_open(ctx, logs_dir, &d);
    if (rc)
        return rc;
    size_t n = 0;
    struct run_summary *all = summarise_all(&d, &n);
    struct gc_run *runs = xcalloc(n + 1, sizeof(*runs));
    int64_t now = runindex_now_us();
    int64_t cutoff = days > 0 ? now - (int64_t)days * 86400 * 1000000 : INT64_MIN;
    size_t kept = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *events = arena_printf(&d.arena, "%s/events.jsonl", all[i].dir);
        if (held_by_writer(events))
            continue; /* a live run is never collected */
        struct gc_run *r = &runs[kept++];
        r->s = &all[i];
        r->bytes = tree_bytes(all[i].dir);
        struct stat st;
        if (!(all[i].finished_at && runindex_parse_time(all[i].finished_at, &r->ended_us) == 0) &&
            !(all[i].started_at && runindex_parse_time(all[i].started_at, &r->ended_us) == 0))
            r->ended_us = stat(events, &st) == 0 ? (int64_t)st.st_mtime * 1000000 : now;
        total += r->bytes;
    }
    qsort(runs, kept, sizeof(*runs), gc_oldest_first);
    uint64_t limit = max_gb >= 0 ? (uint64_t)(max_gb * 1e9) : UINT64_MAX, freed = 0;
    size_t count = 0;
    for (size_t i = 0; i < kept; i++) {
        struct gc_run *r = &runs[i];
        if (r->ended_us < cutoff)
            r->reason = "age";
        else if (total - freed > limit)
            r->reason = "size";
        if (r->reason) {
            freed += r->bytes;
            count++;
        }
    }
    json_t *list = json_array(), *errors = json_array();
    for (size_t i = 0; i < kept; i++) {
        const struct gc_run *r = &runs[i];
        if (!r->reason)
            continue;
        struct err err = ERR_INIT;
        if (!dry_run && files_remove_tree(r->s->dir, &err) != 0)
            json_array_append_new(errors, json_string(err.msg));
        json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:I, s:s}", "session_id",
                                              jv_text(r->s->id), "run_id", jv_text(r->s->run_id),
                                              "finished_at", jv_text(r->s->finished_at), "bytes",
                                              (json_int_t)r->bytes, "reason", r->reason));
    }
    size_t nerrors = json_array_size(errors);
    if (ctx->json) {
        cli_print_json(json_pack("{s:b, s:I, s:I, s:I, s:o, s:o, s:o}", "dry_run", dry_run, "count",
                                 (json_int_t)count, "bytes", (json_int_t)freed, "kept",
                                 (json_int_t)(n - count), "sessions", list, "errors", errors,
                                 "logs_dir", jv_text(d.path)));
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(list, i, o)
        {
            const char *why = strcmp(cli_jstr(o, "reason"), "age") == 0
                                  ? arena_printf(&d.arena, "finished more than %ld days ago", days)
                                  : "over the size limit";
            printf("%s %s (%s, %lld bytes)\n", dry_run ? "would delete" : "deleted",
                   cli_jstr(o, "session_id"), why,
                   (long long)json_integer_value(json_object_get(o, "bytes")));
        }
        json_array_foreach(errors, i, o)
        {
            cli_warn("%s", json_string_value(o));
        }
        printf("%s %zu of %zu sessions, %.1f MB%s\n", dry_run ? "would delete" : "deleted", count,
               n, (double)freed / 1e6, dry_run ? " (--dry-run: nothing deleted)" : "");
        json_decref(list);
        json_decref(errors);
    }
    free(runs);
    summaries_release(all, n);
    logs_dir_release(&d);
    return nerrors ? EXIT_FAILED : EXIT_OK;
}

static int gc_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct gc_opts *opts = optsp;
    (void)argc, (void)argv;
    char *end = NULL;
    double max_gb = opts->max_gb ? strtod(opts->max_gb, &end) : 1.0;
    if (opts->max_gb && (end == opts->max_gb || *end || !(max_gb >= 0)))
        return cli_failf(ctx, ERR_USAGE, "--max-gb %s: a number of gigabytes expected",
                         opts->max_gb);
    return cli_logs_gc(ctx, opts->logs_dir, opts->days ? opts->days : 7, max_gb, opts->dry_run);
}

static const struct cli_option gc_options[] = {
    { "days", 0, CLI_INT, offsetof(struct gc_opts, days), "N",
      "delete sessions that finished more than N days ago (default 7)", NULL, 1, 100000 },
    { "max-gb", 0, CLI_STRING, offsetof(struct gc_opts, max_gb), "G",
      "then the oldest while the rest is over G gigabytes (default 1)", NULL, 0, 0 },
    { "dry-run", 'n', CLI_FLAG, offsetof(struct gc_opts, dry_run), NULL,
      "list what would be deleted and delete nothing", NULL, 0, 0 },
    LOGS_DIR_OPTION(struct gc_opts),
    { 0 },
};

const struct cli_command cmd_logs_gc = {
    .name = "logs gc",
    .summary = "Delete old run sessions (whole run directories only) by age and total size",
    .options = gc_options,
    .opts_size = sizeof(struct gc_opts),
    .run = gc_run,
};

/* ==== logs bundle ==== */

struct bundle_opts {
    const char *session;
    const char *output;
    const char *logs_dir;
};

/* One session's directory as a tar.gz, written under a temporary name and renamed into place.
 * Everything in a run directory went through the redactor when it was written, so the bundle
 * holds no secret either. */
static int bundle_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct bundle_opts *opts = optsp;
    struct logs_dir d;
    int rc = logs_dir_open(ctx, opts->logs_dir, &d);
    if (rc)
        return rc;
    size_t n = 0;
    struct run_summary *all = summarise_all(&d, &n);
    const struct run_summary *s =
        named_session(ctx, "logs bundle", opts->session, argc, argv, &d, all, n, &rc);
    if (s) {
        const char *base = strrchr(s->dir, '/') ? strrchr(s->dir, '/') + 1 : s->dir;
        const char *parent = arena_strndup(&d.arena, s->dir, (size_t)(base - s->dir));
        const char *out = opts->output ? opts->output : arena_printf(&d.arena, "%s.tar.gz", base);
        const char *tmp = arena_printf(&d.arena, "%s.tmp-%d", out, (int)getpid());
        const char *tar[] = { "tar", "-C", *parent ? parent : ".", "-czf", tmp, "--", base, NULL };
        struct spawn_proc p = SPAWN_PROC_INIT;
        struct spawn_opts so = { .argv = tar, .stdio = { SPAWN_NULL, SPAWN_NULL, SPAWN_PIPE } };
        struct strbuf errout = STRBUF_INIT;
        struct err err = ERR_INIT;
        struct stat st;
        if (spawn_start(&p, &so, &err) == 0 &&
            spawn_communicate(&p, NULL, 0, NULL, &errout, 10 * 60 * 1000, &err) == 0 &&
            !(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0))
            err_set(&err, ERR_IO, "tar could not write '%s': %.300s", tmp,
                    errout.len ? errout.buf : "no message");
        if (!err.code && rename(tmp, out) != 0)
            err_errno(&err, ERR_IO, "cannot write '%s'", out);
        if (!err.code && stat(out, &st) != 0)
            err_errno(&err, ERR_IO, "cannot read '%s'", out);
        spawn_stop(&p, 0);
        strbuf_release(&errout);
        if (err.code) {
            unlink(tmp);
            rc = cli_fail(ctx, &err, NULL);
        } else if (ctx->json) {
            cli_print_json(json_pack("{s:s, s:s, s:I, s:o}", "status", "ok", "bundle_path", out,
                                     "size_bytes", (json_int_t)st.st_size, "session_id",
                                     jv_text(s->id)));
        } else {
            printf("bundled %s into %s (%lld bytes)\n", s->id, out, (long long)st.st_size);
        }
    }
    summaries_release(all, n);
    logs_dir_release(&d);
    return rc;
}

static const struct cli_option bundle_options[] = {
    SESSION_OPTION(struct bundle_opts),
    { "output", 'o', CLI_STRING, offsetof(struct bundle_opts, output), "FILE",
      "write the bundle here (default <run directory name>.tar.gz)", NULL, 0, 0 },
    LOGS_DIR_OPTION(struct bundle_opts),
    { 0 },
};

const struct cli_command cmd_logs_bundle = {
    .name = "logs bundle",
    .summary = "Pack one session's run directory into a tar.gz file",
    .args = "[SESSION]",
    .min_args = 0,
    .max_args = 1,
    .options = bundle_options,
    .opts_size = sizeof(struct bundle_opts),
    .run = bundle_run,
};
