/* osiris logs list|show|last: browse the run directories under <base_path>/<run_logs_dir> (or
 * --logs-dir). A session is a directory holding events.jsonl, found up to five levels deep; its
 * id is its path relative to the logs directory. Summaries trust status.json where the run wrote
 * one (the host writes it for every run, failed ones too) and otherwise read the events; a run
 * with run_error, step_error or run_end{status:failed} is failed, never "completed". */
#include "cli.h"
#include "envfile.h"
#include "files.h"
#include "remote/spawn.h"
#include "report/runlog.h"
#include "report/site.h"
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

#define DEFAULT_LIMIT 20 /* sessions listed without --limit */

/* ==== Small helpers ==== */

static json_t *int_or_null(bool have, int64_t v)
{
    return have ? json_integer(v) : json_null();
}

static const char *fmt_int(struct arena *a, bool have, int64_t v)
{
    return have ? arena_printf(a, "%" PRId64, v) : "-";
}

/* ==== Finding sessions ==== */

/* The logs directory and the summaries of its sessions, newest first, as every logs command
 * starts. */
struct sessions {
    struct runlog_dir d; /* its arena holds the summaries' strings */
    struct runlog *all;  /* owned; n of them */
    size_t n;
};

/* Opens the logs directory (--logs-dir, else <base_path>/<run_logs_dir> of osiris.yaml) and
 * summarises every session; sessions whose events cannot be read are reported as warnings and
 * left out. On failure the error has been reported and the exit code is returned (ss needs no
 * release then). */
static int sessions_open(struct cli_ctx *ctx, const char *opt, struct sessions *ss)
{
    struct err err = ERR_INIT;
    struct runlog_dir *d = &ss->d;
    const char *path = opt;
    struct project_config cfg;
    bool have_cfg = false;
    ss->all = NULL;
    ss->n = 0;
    if (!path) {
        if (envfile_load_defaults(NULL, &err) != 0 || projconfig_load(&cfg, NULL, &err) != 0)
            return cli_fail(ctx, &err, NULL);
        have_cfg = true;
        path = projconfig_path(&cfg, cfg.run_logs_dir);
    }
    int rc = runlog_dir_open(d, path, &err);
    if (have_cfg)
        projconfig_release(&cfg);
    if (rc) {
        runlog_dir_release(d);
        return cli_fail(ctx, &err, NULL);
    }
    ss->all = xcalloc(d->n ? d->n : 1, sizeof(*ss->all));
    for (size_t i = 0; i < d->n; i++) {
        const char *dir = arena_printf(&d->arena, "%s/%s", d->path, d->ids[i]);
        if (runlog_read(&d->arena, d->ids[i], dir, &ss->all[ss->n], NULL, &err) != 0) {
            cli_warn("session '%s' skipped: %s", d->ids[i], err.msg);
            runlog_release(&ss->all[ss->n]);
            err_clear(&err);
            continue;
        }
        ss->n++;
    }
    qsort(ss->all, ss->n, sizeof(*ss->all), runlog_cmp);
    return EXIT_OK;
}

static void sessions_close(struct sessions *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        runlog_release(&ss->all[i]);
    free(ss->all);
    runlog_dir_release(&ss->d);
}

/* ==== Output ==== */

static json_t *summary_json(const struct runlog *s)
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
static json_t *detail_json(const struct runlog *s)
{
    json_t *o = summary_json(s);
    json_t *steps = json_array();
    for (size_t i = 0; i < s->nsteps; i++) {
        const struct runlog_step *st = &s->steps[i];
        json_array_append_new(
            steps,
            json_pack("{s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "step_id", jv_text(st->id),
                      "driver", jv_text(st->driver), "status", runlog_step_state_name[st->state],
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

static const char *steps_cell(struct arena *a, const struct runlog *s)
{
    if (s->have_steps_total)
        return arena_printf(a, "%" PRId64 "/%" PRId64, s->steps_ok, s->steps_total);
    return arena_printf(a, "%" PRId64 "/?", s->steps_ok);
}

/* "2026-11-26 10:01:47 UTC", or the text as recorded when it is not an ISO time. */
static const char *fmt_utc(struct arena *a, const char *iso)
{
    const char *t = runlog_fmt_time(a, iso, false);
    return iso && t != iso ? arena_printf(a, "%s UTC", t) : t;
}

static void print_detail(struct arena *a, const struct runlog *s)
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
    printf("%-10s %s\n", "duration", runlog_fmt_duration(a, s->have_duration, s->duration_ms));
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
        const struct runlog_step *st = &s->steps[i];
        const char *detail = st->error ? st->error : st->reason ? st->reason : "";
        cli_table_row(&t, st->id, st->driver, runlog_step_state_name[st->state],
                      fmt_int(a, st->have_rows_in, st->rows_in),
                      fmt_int(a, st->have_rows_out, st->rows_out),
                      runlog_fmt_duration(a, st->have_duration, st->duration_ms), detail);
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
    struct sessions ss;
    int rc = sessions_open(ctx, opts->logs_dir, &ss);
    if (rc)
        return rc;
    size_t n = ss.n, limit = opts->limit > 0 ? (size_t)opts->limit : DEFAULT_LIMIT;
    struct runlog *all = ss.all;
    size_t shown = n < limit ? n : limit;
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < shown; i++)
            json_array_append_new(list, summary_json(&all[i]));
        json_t *o = json_pack("{s:o, s:I, s:o}", "sessions", list, "total_sessions", (json_int_t)n,
                              "logs_dir", jv_text(ss.d.path));
        if (!ss.d.exists)
            json_object_set_new(o, "message",
                                json_string("the logs directory does not exist (no run yet)"));
        cli_print_json(o);
    } else if (!ss.d.exists) {
        printf("no sessions: the logs directory '%s' does not exist (no run yet)\n", ss.d.path);
    } else if (n == 0) {
        printf("no sessions in '%s'\n", ss.d.path);
    } else {
        struct cli_table t = { .ncols = 8 };
        cli_table_row(&t, "STARTED", "STATUS", "DURATION", "STEPS", "ROWS IN", "ROWS OUT",
                      "PIPELINE", "SESSION");
        for (size_t i = 0; i < shown; i++) {
            const struct runlog *s = &all[i];
            cli_table_row(&t, runlog_fmt_time(&ss.d.arena, s->started_at, false), s->status,
                          runlog_fmt_duration(&ss.d.arena, s->have_duration, s->duration_ms),
                          steps_cell(&ss.d.arena, s),
                          fmt_int(&ss.d.arena, s->have_rows_in, s->rows_in),
                          fmt_int(&ss.d.arena, s->have_rows_out, s->rows_out), s->pipeline, s->id);
        }
        cli_table_print(&t);
        if (shown < n)
            printf("(%zu of %zu sessions; --limit N shows more)\n", shown, n);
    }
    sessions_close(&ss);
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
static const struct runlog *find_session(struct runlog *all, size_t n, const char *want,
                                         const char **suggestion, size_t *matches)
{
    *suggestion = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].id, want) == 0)
            return &all[i];
    if (strcmp(want, "last") == 0 && n > 0)
        return &all[0];
    const struct runlog *found = NULL;
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
    runlog_details(&sb, rec, skip);
    return arena_take(a, &sb);
}

static void print_events(struct arena *a, const json_t *events)
{
    static const char *const skip[] = { "ts", "session", "event", "step_id", NULL };
    struct cli_table t = { .ncols = 4 };
    cli_table_row(&t, "TIME", "EVENT", "STEP", "DETAILS");
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
        cli_table_row(&t, runlog_fmt_time(a, jv_str(e, "ts"), true), jv_str(e, "event"),
                      jv_str(e, "step_id"), details(a, e, skip));
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
        if (jv_str(m, "unit"))
            strbuf_addf(&sb, " %s", jv_str(m, "unit"));
        cli_table_row(&t, runlog_fmt_time(a, jv_str(m, "ts"), true), jv_str(m, "metric"),
                      jv_str(m, "step_id"), arena_strdup(a, strbuf_str(&sb)), details(a, m, skip));
        strbuf_release(&sb);
    }
    cli_table_print(&t);
}

static int show_session(struct cli_ctx *ctx, struct runlog_dir *d, const struct runlog *s,
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
        ev = runlog_read_jsonl(arena_printf(&d->arena, "%s/events.jsonl", s->dir), &bad, &missing,
                               &err);
    if (metrics && err.code == ERR_NONE) {
        mt = runlog_read_jsonl(arena_printf(&d->arena, "%s/metrics.jsonl", s->dir), &bad, &missing,
                               &err);
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
static const struct runlog *named_session(struct cli_ctx *ctx, const char *cmd, const char *opt,
                                          int argc, char **argv, struct sessions *ss, int *rc)
{
    const struct runlog_dir *d = &ss->d;
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
    want = arena_strndup(&ss->d.arena, want, len);
    const char *suggestion;
    size_t matches;
    const struct runlog *s = find_session(ss->all, ss->n, want, &suggestion, &matches);
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
    struct sessions ss;
    int rc = sessions_open(ctx, opts->logs_dir, &ss);
    if (rc)
        return rc;
    const struct runlog *s = named_session(ctx, "logs show", opts->session, argc, argv, &ss, &rc);
    if (s)
        rc = show_session(ctx, &ss.d, s, opts->events, opts->metrics);
    sessions_close(&ss);
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
    struct sessions ss;
    int rc = sessions_open(ctx, opts->logs_dir, &ss);
    if (rc)
        return rc;
    size_t n = ss.n;
    struct runlog *all = ss.all;
    if (n == 0) {
        struct err err = ERR_INIT;
        if (!ss.d.exists)
            err_set(&err, ERR_NOTFOUND, "no sessions: the logs directory '%s' does not exist",
                    ss.d.path);
        else
            err_set(&err, ERR_NOTFOUND, "no sessions in '%s'", ss.d.path);
        rc = cli_fail(ctx, &err, json_pack("{s:o}", "logs_dir", jv_text(ss.d.path)));
    } else {
        rc = show_session(ctx, &ss.d, &all[0], false, false);
    }
    sessions_close(&ss);
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

struct gc_run {
    const struct runlog *s;
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
json_t *cli_logs_gc(struct cli_ctx *ctx, const char *logs_dir, long days, double max_gb,
                    bool dry_run, int *rc)
{
    struct sessions ss;
    *rc = sessions_open(ctx, logs_dir, &ss);
    if (*rc)
        return NULL;
    size_t n = ss.n;
    struct runlog *all = ss.all;
    struct gc_run *runs = xcalloc(n + 1, sizeof(*runs));
    int64_t now = runindex_now_us();
    int64_t cutoff = days > 0 ? now - (int64_t)days * 86400 * 1000000 : INT64_MIN;
    size_t kept = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *events = arena_printf(&ss.d.arena, "%s/events.jsonl", all[i].dir);
        if (runlog_is_live(events))
            continue; /* a live run is never collected */
        struct gc_run *r = &runs[kept++];
        r->s = &all[i];
        r->bytes = runlog_tree_bytes(all[i].dir);
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
    json_t *result = json_pack("{s:b, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "dry_run", dry_run,
                               "count", (json_int_t)count, "bytes", (json_int_t)freed, "kept",
                               (json_int_t)(n - count), "days", (json_int_t)days, "sessions", list,
                               "errors", errors, "logs_dir", jv_text(ss.d.path));
    *rc = json_array_size(errors) ? EXIT_FAILED : EXIT_OK;
    free(runs);
    sessions_close(&ss);
    return result;
}

void cli_logs_gc_print(const json_t *result)
{
    struct arena a;
    arena_init(&a);
    bool dry_run = json_is_true(json_object_get(result, "dry_run"));
    int64_t days = json_integer_value(json_object_get(result, "days"));
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(result, "sessions"), i, o)
    {
        const char *why = strcmp(jv_str(o, "reason"), "age") == 0
                              ? arena_printf(&a, "finished more than %" PRId64 " days ago", days)
                              : "over the size limit";
        printf("%s %s (%s, %lld bytes)\n", dry_run ? "would delete" : "deleted",
               jv_str(o, "session_id"), why,
               (long long)json_integer_value(json_object_get(o, "bytes")));
    }
    json_array_foreach(json_object_get(result, "errors"), i, o)
        cli_warn("%s", json_string_value(o));
    int64_t count = json_integer_value(json_object_get(result, "count"));
    int64_t kept = json_integer_value(json_object_get(result, "kept"));
    printf("%s %" PRId64 " of %" PRId64 " sessions, %.1f MB%s\n",
           dry_run ? "would delete" : "deleted", count, count + kept,
           (double)json_integer_value(json_object_get(result, "bytes")) / 1e6,
           dry_run ? " (--dry-run: nothing deleted)" : "");
    arena_release(&a);
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
    int rc;
    json_t *result =
        cli_logs_gc(ctx, opts->logs_dir, opts->days ? opts->days : 7, max_gb, opts->dry_run, &rc);
    if (result && ctx->json)
        cli_print_json(result);
    else if (result) {
        cli_logs_gc_print(result);
        json_decref(result);
    }
    return rc;
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
    struct sessions ss;
    int rc = sessions_open(ctx, opts->logs_dir, &ss);
    if (rc)
        return rc;
    const struct runlog *s = named_session(ctx, "logs bundle", opts->session, argc, argv, &ss, &rc);
    if (s) {
        const char *base = strrchr(s->dir, '/') ? strrchr(s->dir, '/') + 1 : s->dir;
        const char *parent = arena_strndup(&ss.d.arena, s->dir, (size_t)(base - s->dir));
        const char *out =
            opts->output ? opts->output : arena_printf(&ss.d.arena, "%s.tar.gz", base);
        const char *tmp = arena_printf(&ss.d.arena, "%s.tmp-%d", out, (int)getpid());
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
    sessions_close(&ss);
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

/* ==== logs html ==== */

struct html_opts {
    const char *out, *since, *status, *logs_dir;
    long sessions;
    bool open;
};

static const char *const html_statuses[] = { "success", "failed", "running", "unknown", NULL };

/* Opens the report with the desktop's opener; without one, says where the report is. */
static void open_report(const char *index)
{
    const char *argv[] = { "xdg-open", index, NULL };
    struct spawn_proc p = SPAWN_PROC_INIT;
    struct spawn_opts so = { .argv = argv, .stdio = { SPAWN_NULL, SPAWN_NULL, SPAWN_NULL } };
    struct err err = ERR_INIT;
    if (spawn_start(&p, &so, &err) != 0 || spawn_wait(&p, 10 * 1000, &err) != 0 ||
        !(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0))
        cli_warn("cannot open a browser (xdg-open): open %s yourself", index);
    spawn_stop(&p, 0);
}

static int html_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct html_opts *opts = optsp;
    (void)argc;
    (void)argv;
    int64_t since_us = 0;
    if (opts->since && runindex_parse_time(opts->since, &since_us) != 0)
        return cli_failf(ctx, ERR_USAGE,
                         "logs html: --since '%s' is not an ISO-8601 time "
                         "(e.g. 2026-11-26 or 2026-11-26T10:00:00Z)",
                         opts->since);
    struct sessions ss;
    int rc = sessions_open(ctx, opts->logs_dir, &ss);
    if (rc)
        return rc;
    size_t n = ss.n, kept = 0;
    struct runlog *all = ss.all;
    /* Filters keep the order (newest first), so --sessions N takes the newest N that match. */
    for (size_t i = 0; i < n; i++) {
        bool keep = (!opts->status || strcmp(all[i].status, opts->status) == 0) &&
                    (!opts->since || (all[i].have_started && all[i].started_us >= since_us)) &&
                    (opts->sessions <= 0 || kept < (size_t)opts->sessions);
        if (!keep)
            continue;
        if (kept != i) {
            struct runlog tmp = all[kept];
            all[kept] = all[i];
            all[i] = tmp;
        }
        kept++;
    }
    const char *out = opts->out ? opts->out : "dist/logs";
    size_t pages;
    struct err err = ERR_INIT;
    if (site_write(out, ss.d.path, all, kept, &pages, &err) != 0) {
        rc = cli_fail(ctx, &err, NULL);
    } else {
        const char *index = arena_printf(&ss.d.arena, "%s/index.html", out);
        if (ctx->json) {
            json_t *list = json_array();
            for (size_t i = 0; i < kept; i++)
                json_array_append_new(
                    list, json_pack("{s:o, s:s, s:o}", "session_id", jv_text(all[i].id), "status",
                                    all[i].status, "page",
                                    jv_text(arena_printf(&ss.d.arena, "%s/%s/index.html", out,
                                                         all[i].id))));
            cli_print_json(json_pack("{s:s, s:o, s:I, s:o, s:o}", "out_dir", out, "index",
                                     jv_text(index), "count", (json_int_t)kept, "sessions", list,
                                     "logs_dir", jv_text(ss.d.path)));
        } else {
            printf("wrote %s: %zu run page%s and the index (%zu of %zu sessions)\n", index, kept,
                   kept == 1 ? "" : "s", kept, n);
        }
        if (opts->open)
            open_report(index);
    }
    sessions_close(&ss);
    return rc;
}

static const struct cli_option html_options[] = {
    { "out", 'o', CLI_STRING, offsetof(struct html_opts, out), "DIR",
      "write the report here (default dist/logs)", NULL, 0, 0 },
    { "open", 0, CLI_FLAG, offsetof(struct html_opts, open), NULL,
      "open the index in a browser afterwards (xdg-open)", NULL, 0, 0 },
    { "sessions", 'n', CLI_INT, offsetof(struct html_opts, sessions), "N",
      "only the N newest sessions (after the other filters)", NULL, 1, 1000000 },
    { "since", 0, CLI_STRING, offsetof(struct html_opts, since), "ISO",
      "only sessions started at or after this time", NULL, 0, 0 },
    { "status", 0, CLI_STRING, offsetof(struct html_opts, status), "S",
      "only sessions with this status", html_statuses, 0, 0 },
    LOGS_DIR_OPTION(struct html_opts),
    { 0 },
};

const struct cli_command cmd_logs_html = {
    .name = "logs html",
    .summary = "Write a static HTML report of the run sessions (no network, one page per run)",
    .options = html_options,
    .opts_size = sizeof(struct html_opts),
    .run = html_run,
};
