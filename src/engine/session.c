/* The run session's files. Writes go through the redactor and are flushed line by line; stdio
 * buffering would otherwise keep the last events of a crashed run in memory. */
#include "session.h"
#include "files.h"
#include "xalloc.h"

#include <stdarg.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct session {
    char *dir;
    char *run_id;
    const struct redactor *r;
    FILE *events, *metrics, *log, *debug; /* debug is NULL unless verbose */
    FILE *stream;                         /* frames instead of files, borrowed; or NULL */
    bool verbose;
    session_observer *observer;
    void *observer_data;
    struct err write_err; /* the first failed write */
};

void session_now(char buf[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, 40, "%.19s.%06d+00:00", base, (int)(ts.tv_nsec / 1000));
}

static uint64_t clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t session_now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

uint64_t session_clock_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

uint64_t session_coarse_clock_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC_COARSE);
}

/* Notes the first write that failed (a full disk): the record goes on with what can still be
 * written, and session_close() says it is incomplete. */
static void check_write(struct session *s, const char *name, bool ok)
{
    if (!ok && !s->write_err.code)
        err_errno(&s->write_err, ERR_IO, "cannot write '%s/%s'", s->dir, name);
}

static FILE *open_in(const char *dir, const char *name, struct err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "a");
    if (!f)
        err_errno(err, ERR_IO, "cannot write '%s'", path);
    return f;
}

static struct session *session_new(const char *run_dir, const char *run_id,
                                   const struct redactor *r, bool verbose, struct err *err)
{
    if (files_mkdirs(run_dir, NULL, err) != 0)
        return NULL;
    struct session *s = xcalloc(1, sizeof(*s));
    s->dir = xstrdup(run_dir);
    s->run_id = xstrdup(run_id);
    s->r = r;
    s->verbose = verbose;
    return s;
}

struct session *session_open(const char *run_dir, const char *run_id, const struct redactor *r,
                             bool verbose, struct err *err)
{
    struct session *s = session_new(run_dir, run_id, r, verbose, err);
    if (!s)
        return NULL;
    s->events = open_in(run_dir, "events.jsonl", err);
    /* Held until session_close: `osiris logs` tells a live run (locked) from a dead one. */
    if (s->events)
        flock(fileno(s->events), LOCK_EX | LOCK_NB);
    s->metrics = s->events ? open_in(run_dir, "metrics.jsonl", err) : NULL;
    s->log = s->metrics ? open_in(run_dir, "osiris.log", err) : NULL;
    s->debug = s->log && verbose ? open_in(run_dir, "debug.log", err) : NULL;
    if (!s->log || (verbose && !s->debug)) {
        session_close(s, NULL);
        return NULL;
    }
    return s;
}

struct session *session_open_stream(FILE *out, const char *run_dir, const char *run_id,
                                    const struct redactor *r, bool verbose, struct err *err)
{
    struct session *s = session_new(run_dir, run_id, r, verbose, err);
    if (s)
        s->stream = out;
    return s;
}

static const char *const file_names[] = { "events.jsonl", "metrics.jsonl", "osiris.log",
                                          "debug.log" };

int session_close(struct session *s, struct err *err)
{
    if (!s)
        return 0;
    FILE *files[] = { s->events, s->metrics, s->log, s->debug }; /* all NULL for a stream */
    for (size_t i = 0; i < 4; i++)
        if (files[i])
            check_write(s, file_names[i], fclose(files[i]) == 0);
    int rc = 0;
    if (s->write_err.code) {
        if (err && !err->code)
            *err = s->write_err;
        rc = -1;
    }
    free(s->dir);
    free(s->run_id);
    free(s);
    return rc;
}

void session_set_observer(struct session *s, session_observer *fn, void *data)
{
    s->observer = fn;
    s->observer_data = data;
}

const char *session_dir(const struct session *s)
{
    return s->dir;
}

const char *session_run_id(const struct session *s)
{
    return s->run_id;
}

/* {"ts","session",<kind>: name, ...redacted fields} as one line. */
static void write_record(struct session *s, FILE *f, const char *file, const char *kind,
                         const char *name, json_t *fields, json_t **written)
{
    char ts[40];
    session_now(ts);
    json_t *rec = json_pack("{s:s, s:s, s:s}", "ts", ts, "session", s->run_id, kind, name);
    if (s->stream) {
        f = s->stream;
        file = "stdout";
        json_object_set_new(rec, "type", json_string(kind));
    }
    json_t *clean = fields ? redactor_json(s->r, fields) : json_object();
    json_object_update(rec, clean);
    struct strbuf sb = STRBUF_INIT;
    jv_dump(rec, &sb, 0);
    strbuf_addch(&sb, '\n');
    check_write(s, file, fwrite(sb.buf, 1, sb.len, f) == sb.len && fflush(f) == 0);
    strbuf_release(&sb);
    json_decref(rec);
    json_decref(fields);
    if (written)
        *written = clean;
    else
        json_decref(clean);
}

void session_event(struct session *s, const char *name, json_t *fields)
{
    json_t *clean = NULL;
    write_record(s, s->events, "events.jsonl", "event", name, fields, &clean);
    if (s->observer)
        s->observer(s->observer_data, name, clean);
    json_decref(clean);
}

void session_metric(struct session *s, const char *name, json_t *value, const char *unit,
                    const char *step_id, json_t *extra)
{
    json_t *fields = json_pack("{s:o, s:s}", "value", value, "unit", unit);
    if (step_id)
        json_object_set_new(fields, "step_id", json_string(step_id));
    if (extra) {
        json_object_update(fields, extra);
        json_decref(extra);
    }
    write_record(s, s->metrics, "metrics.jsonl", "metric", name, fields, NULL);
}

void session_log(struct session *s, enum session_level level, const char *fmt, ...)
{
    static const char *const names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };
    struct strbuf msg = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    char *clean = redactor_text(s->r, strbuf_str(&msg));
    char ts[40];
    session_now(ts);
    if (s->stream) {
        if (level >= SESSION_INFO || s->verbose)
            write_record(s, s->stream, "stdout", "level", names[level],
                         json_pack("{s:s, s:s}", "type", "log", "message", clean), NULL);
        free(clean);
        strbuf_release(&msg);
        return;
    }
    /* osiris.log takes INFO and up (everything with -v); debug.log, when open, everything. */
    FILE *targets[2] = { level >= SESSION_INFO || s->debug ? s->log : NULL, s->debug };
    for (size_t i = 0; i < 2; i++) {
        if (!targets[i])
            continue;
        check_write(s, file_names[2 + i],
                    fprintf(targets[i], "%s %s [%s] %s\n", ts, names[level], s->run_id, clean) >=
                            0 &&
                        fflush(targets[i]) == 0);
    }
    free(clean);
    strbuf_release(&msg);
}
