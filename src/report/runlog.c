/* Reading run directories back (runlog.h). */
#include "runlog.h"
#include "files.h"
#include "runindex.h"
#include "strbuf.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 5 /* how deep runs are searched below the logs directory */

/* The integer at key (an integral real counts). */
bool runlog_int(const json_t *o, const char *key, int64_t *out)
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

const char *const runlog_step_state_name[] = { "started", "success", "failed", "skipped" };

void runlog_release(struct runlog *s)
{
    free(s->steps);
    json_decref(s->artifacts);
    s->steps = NULL;
    s->artifacts = NULL;
}

/* Reads a JSON-lines file into a new array of its objects; *bad counts the other lines. A
 * missing file gives NULL with *missing set and no error. */
json_t *runlog_read_jsonl(const char *path, size_t *bad, bool *missing, struct err *err)
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

static struct runlog_step *step_get(struct runlog *s, struct arena *a, const char *id)
{
    for (size_t i = 0; i < s->nsteps; i++)
        if (strcmp(s->steps[i].id, id) == 0)
            return &s->steps[i];
    XGROW(s->steps, s->capsteps, s->nsteps + 1);
    struct runlog_step *st = &s->steps[s->nsteps++];
    memset(st, 0, sizeof(*st));
    st->id = arena_strdup(a, id);
    return st;
}

/* The writer of a live run holds a lock on events.jsonl; a run that died holds none. */
bool runlog_is_live(const char *path)
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
        const char *metric = jv_str(m, "metric"), *step = jv_str(m, "step_id");
        if (!metric || strcmp(metric, name) != 0 || !runlog_int(m, "value", &v))
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

bool runlog_is_error(const json_t *e)
{
    static const char *const error_events[] = { "step_error", "step_failed", "run_error" };
    const char *event = jv_str(e, "event"), *level = jv_str(e, "level");
    if (level && (strcasecmp(level, "error") == 0 || strcasecmp(level, "critical") == 0))
        return true;
    for (size_t i = 0; event && i < sizeof(error_events) / sizeof(*error_events); i++)
        if (strcmp(event, error_events[i]) == 0)
            return true;
    return false;
}

static void count_levels(struct runlog *s, const json_t *e, const char *event)
{
    const char *level = jv_str(e, "level");
    if (runlog_is_error(e))
        s->errors++;
    else if ((level && (strcasecmp(level, "warning") == 0 || strcasecmp(level, "warn") == 0)) ||
             strstr(event, "warning"))
        s->warnings++;
}

/* One event into the summary: a handler per event name. */
struct take {
    struct runlog *s;
    struct arena *a;
    const json_t *e;
    const char *ts, *step;
    bool *failed;
    const json_t **run_end;
};

/* Copies e[key] into *dst when it is a string (the first one wins when keep_first). */
static void take_str(struct take *t, const char *key, const char **dst, bool keep_first)
{
    const char *v = jv_str(t->e, key);
    if (v && !(keep_first && *dst))
        *dst = arena_strdup(t->a, v);
}

static void on_run_start(struct take *t)
{
    struct runlog *s = t->s;
    if (!s->started_at && t->ts)
        s->started_at = arena_strdup(t->a, t->ts);
    take_str(t, "run_id", &s->run_id, true);
    take_str(t, "pipeline_id", &s->pipeline, true);
    take_str(t, "profile", &s->profile, true);
    take_str(t, "manifest_hash", &s->manifest_hash, true);
    if (runlog_int(t->e, "steps_total", &s->steps_total))
        s->have_steps_total = true;
}

static void on_step_start(struct take *t)
{
    take_str(t, "driver", &step_get(t->s, t->a, t->step)->driver, false);
}

static void on_step_complete(struct take *t)
{
    struct runlog_step *st = step_get(t->s, t->a, t->step);
    st->state = RUNLOG_SUCCESS;
    take_str(t, "driver", &st->driver, false);
    st->have_rows_in = runlog_int(t->e, "rows_in", &st->rows_in);
    st->have_rows_out = runlog_int(t->e, "rows_out", &st->rows_out);
    st->have_duration = runlog_int(t->e, "duration_ms", &st->duration_ms);
}

static void on_step_error(struct take *t)
{
    struct runlog *s = t->s;
    struct runlog_step *st = step_get(s, t->a, t->step);
    st->state = RUNLOG_FAILED;
    take_str(t, "driver", &st->driver, false);
    take_str(t, "error", &st->error, false);
    take_str(t, "error_code", &st->error_code, false);
    st->have_duration = runlog_int(t->e, "duration_ms", &st->duration_ms);
    *t->failed = true;
    if (!s->failed_step) {
        s->failed_step = st->id;
        s->reason = st->error;
        s->error_code = st->error_code;
    }
}

static void on_step_skipped(struct take *t)
{
    struct runlog_step *st = step_get(t->s, t->a, t->step);
    st->state = RUNLOG_SKIPPED;
    take_str(t, "reason", &st->reason, false);
}

static void on_artifact(struct take *t)
{
    json_array_append_new(t->s->artifacts,
                          json_pack("{s:o, s:o, s:o}", "step_id", jv_text(t->step), "artifact_type",
                                    jv_text(jv_str(t->e, "artifact_type")), "path",
                                    jv_text(jv_str(t->e, "path"))));
}

static void on_run_complete(struct take *t)
{
    struct runlog *s = t->s;
    if (runlog_int(t->e, "rows_read", &s->rows_in))
        s->have_rows_in = true;
    if (runlog_int(t->e, "rows_written", &s->rows_out))
        s->have_rows_out = true;
    if (runlog_int(t->e, "duration_ms", &s->duration_ms))
        s->have_duration = true;
}

static void on_run_error(struct take *t)
{
    struct runlog *s = t->s;
    *t->failed = true;
    if (t->step && !s->failed_step)
        s->failed_step = arena_strdup(t->a, t->step);
    take_str(t, "error", &s->reason, false);
    take_str(t, "error_code", &s->error_code, false);
}

static void on_run_end(struct take *t)
{
    struct runlog *s = t->s;
    *t->run_end = t->e;
    if (t->ts)
        s->finished_at = arena_strdup(t->a, t->ts);
    if (runlog_int(t->e, "duration_ms", &s->duration_ms))
        s->have_duration = true;
    const char *st = jv_str(t->e, "status");
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

static void take_event(struct runlog *s, struct arena *a, const json_t *e, bool *failed,
                       const json_t **run_end)
{
    const char *event = jv_str(e, "event");
    if (!event)
        return;
    s->event_count++;
    count_levels(s, e, event);
    struct take t = { s, a, e, jv_str(e, "ts"), jv_str(e, "step_id"), failed, run_end };
    for (size_t i = 0; i < sizeof(event_handlers) / sizeof(*event_handlers); i++)
        if (strcmp(event, event_handlers[i].event) == 0) {
            if (t.step || !event_handlers[i].needs_step)
                event_handlers[i].take(&t);
            return;
        }
}

/* status.json, written by the host for every run, is the authority where it has a field. */
static void take_status_json(struct runlog *s, struct arena *a, const json_t *j)
{
    int64_t v;
    const char *st = jv_str(j, "status");
    const json_t *ok = json_object_get(j, "ok");
    if (st && (strcmp(st, "success") == 0 || strcmp(st, "failed") == 0))
        s->status = strcmp(st, "success") == 0 ? "success" : "failed";
    else if (json_is_boolean(ok))
        s->status = json_is_true(ok) ? "success" : "failed";
#define TAKE_STR(field, key)                                                                       \
    if (jv_str(j, key) && *jv_str(j, key))                                                         \
    s->field = arena_strdup(a, jv_str(j, key))
    TAKE_STR(run_id, "run_id");
    TAKE_STR(pipeline, "pipeline");
    TAKE_STR(profile, "profile");
    TAKE_STR(started_at, "started_at");
    TAKE_STR(finished_at, "finished_at");
    TAKE_STR(failed_step, "failed_step");
    TAKE_STR(reason, "reason");
    TAKE_STR(error_code, "error_code");
    TAKE_STR(manifest_hash, "manifest_hash");
    TAKE_STR(environment, "environment");
    TAKE_STR(sandbox_id, "sandbox_id");
#undef TAKE_STR
    if (runlog_int(j, "duration_ms", &v)) {
        s->duration_ms = v;
        s->have_duration = true;
    }
    if (runlog_int(j, "steps_total", &v)) {
        s->steps_total = v;
        s->have_steps_total = true;
    }
    if (runlog_int(j, "steps_completed", &v))
        s->steps_ok = v;
    if (runlog_int(j, "rows_read", &v)) {
        s->rows_in = v;
        s->have_rows_in = true;
    }
    if (runlog_int(j, "rows_written", &v)) {
        s->rows_out = v;
        s->have_rows_out = true;
    }
}

int runlog_read(struct arena *a, const char *id, const char *dir, struct runlog *s,
                json_t **events_out, struct err *err)
{
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->dir = dir;
    s->artifacts = json_array();
    const char *events_path = arena_printf(a, "%s/events.jsonl", dir);
    bool missing, failed = false;
    json_t *events = runlog_read_jsonl(events_path, &s->bad_lines, &missing, err);
    if (!events && !missing)
        return -1;
    if (!events)
        events = json_array();
    const json_t *run_end = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) take_event(s, a, e, &failed, &run_end);
    for (i = 0; i < s->nsteps; i++) {
        s->steps_ok += s->steps[i].state == RUNLOG_SUCCESS;
        s->steps_failed += s->steps[i].state == RUNLOG_FAILED;
        s->steps_skipped += s->steps[i].state == RUNLOG_SKIPPED;
    }
    if (!s->started_at && json_array_size(events) > 0 && jv_str(json_array_get(events, 0), "ts"))
        s->started_at = arena_strdup(a, jv_str(json_array_get(events, 0), "ts"));
    if (failed)
        s->status = "failed";
    else if (run_end)
        s->status = "success";
    else if (runlog_is_live(events_path))
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
            runlog_read_jsonl(arena_printf(a, "%s/metrics.jsonl", dir), &bad, &missing, &serr);
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
static void walk(struct runlog_dir *d, const char *rel, int depth)
{
    const char *full = *rel ? arena_printf(&d->arena, "%s/%s", d->path, rel) : d->path;
    size_t n;
    const char **names = files_list(&d->arena, full, &n);
    for (size_t i = 0; i < n; i++) {
        if (names[i][0] == '.' || names[i][0] == '@')
            continue;
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
}

void runlog_dir_release(struct runlog_dir *d)
{
    free(d->ids);
    arena_release(&d->arena);
}

int runlog_dir_open(struct runlog_dir *d, const char *path, struct err *err)
{
    memset(d, 0, sizeof(*d));
    arena_init(&d->arena);
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    d->path = arena_strndup(&d->arena, path, len);
    struct stat st;
    if (stat(d->path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return err_set(err, ERR_IO, "cannot read logs directory '%s': %s", d->path,
                       strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return err_set(err, ERR_INPUT, "logs directory '%s' is not a directory", d->path);
    d->exists = true;
    walk(d, "", 1);
    return 0;
}

int runlog_cmp(const void *pa, const void *pb)
{
    const struct runlog *a = pa, *b = pb;
    if (a->have_started != b->have_started)
        return a->have_started ? -1 : 1;
    if (a->have_started && a->started_us != b->started_us)
        return a->started_us > b->started_us ? -1 : 1;
    return -strcmp(a->id, b->id);
}

uint64_t runlog_tree_bytes(const char *path)
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
        n += runlog_tree_bytes(child);
        free(child);
    }
    if (d)
        closedir(d);
    return n;
}

const char *runlog_fmt_duration(struct arena *a, bool have, int64_t ms)
{
    if (!have || ms < 0)
        return "-";
    if (ms < 1000)
        return arena_printf(a, "%" PRId64 "ms", ms);
    if (ms < 60000) /* tenths truncated: 59999 ms is "59.9s", never "60.0s" */
        return arena_printf(a, "%" PRId64 ".%" PRId64 "s", ms / 1000, ms % 1000 / 100);
    int64_t s = ms / 1000;
    if (s < 3600)
        return arena_printf(a, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    return arena_printf(a, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
}

const char *runlog_fmt_time(struct arena *a, const char *iso, bool time_only)
{
    int64_t us;
    if (!iso)
        return "-";
    if (runindex_parse_time(iso, &us) != 0)
        return iso;
    time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return iso;
    char buf[64];
    if (time_only) {
        int ms = (int)((us - (int64_t)secs * 1000000) / 1000);
        snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    } else {
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
    }
    return arena_strdup(a, buf);
}

void runlog_details(struct strbuf *out, const json_t *rec, const char *const *skip)
{
    const char *key;
    json_t *v;
    bool first = true;
    json_object_foreach((json_t *)rec, key, v)
    {
        bool skipped = false;
        for (const char *const *k = skip; *k && !skipped; k++)
            skipped = strcmp(*k, key) == 0;
        if (skipped)
            continue;
        if (!first)
            strbuf_addch(out, ' ');
        first = false;
        strbuf_addf(out, "%s=", key);
        const char *str = json_is_string(v) ? json_string_value(v) : NULL;
        if (str && *str && !strpbrk(str, " \t\r\n\"="))
            strbuf_adds(out, str);
        else
            jv_dump(v, out, 0);
    }
}
