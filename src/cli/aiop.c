/* osiris logs aiop list|show|export: the AI-readable summaries (docs/aiop.md) of the runs in the
 * run index. A run's AIOP directory is the one its index record names, else where the
 * filesystem contract puts it, so a summary exported later is found the same way. */
#include "cli.h"
#include "envfile.h"
#include "files.h"
#include "fscontract.h"
#include "report/aiop.h"
#include "report/runlog.h"
#include "runindex.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct aiop_opts {
    const char *run, *pipeline, *profile, *since, *out;
    bool last, card;
    long limit;
};

#define RUN_OPTIONS                                                                                \
    { "run",      'r',                                                                             \
      CLI_STRING, offsetof(struct aiop_opts, run),                                                 \
      "ID",       "the run (its run id, as 'runs list' shows it)",                                 \
      NULL,       0,                                                                               \
      0 },                                                                                         \
    {                                                                                              \
        "last", 0, CLI_FLAG, offsetof(struct aiop_opts, last), NULL,                               \
            "the newest run (of --pipeline, when given)", NULL, 0, 0                               \
    }
#define PIPELINE_OPTION                                                                            \
    {                                                                                              \
        "pipeline", 'p', CLI_STRING, offsetof(struct aiop_opts, pipeline), "SLUG",                 \
            "only runs of this pipeline", NULL, 0, 0                                               \
    }

/* What every subcommand works on: the project and its run index, newest first. */
struct project {
    struct project_config cfg;
    json_t *runs; /* index records */
};

static int project_open(struct cli_ctx *ctx, const struct aiop_opts *o, struct project *p)
{
    struct err err = ERR_INIT;
    p->runs = NULL;
    if (envfile_load_defaults(NULL, &err) != 0 || projconfig_load(&p->cfg, NULL, &err) != 0)
        return cli_fail(ctx, &err, NULL);
    struct runindex_query q = { .pipeline_slug = o->pipeline, .profile = o->profile };
    if (o->since && runindex_parse_since(o->since, runindex_now_us(), &q.since_us, &err) == 0)
        q.have_since = true;
    size_t skipped = 0;
    if (!err.code)
        p->runs = runindex_query(projconfig_path(&p->cfg, p->cfg.index_dir), &q, &skipped, &err);
    if (err.code) {
        projconfig_release(&p->cfg);
        return cli_fail(ctx, &err, NULL);
    }
    cli_warn_bad_lines("the run index", skipped);
    return EXIT_OK;
}

static void project_close(struct project *p)
{
    json_decref(p->runs);
    projconfig_release(&p->cfg);
}

/* The AIOP directory of an index record (absolute, in cfg's arena). */
static const char *aiop_dir_of(struct project *p, const json_t *rec)
{
    const char *path = jv_str(rec, "aiop_path");
    if (path && *path)
        return projconfig_path(&p->cfg, path);
    const char *profile = jv_str(rec, "profile");
    return fscontract_aiop_dir(&p->cfg, jv_str(rec, "pipeline_slug"),
                               profile && *profile ? profile : NULL, jv_str(rec, "manifest_hash"),
                               jv_str(rec, "manifest_short"), jv_str(rec, "run_id"));
}

static bool has_summary(struct project *p, const json_t *rec, int64_t *size)
{
    struct stat st;
    const char *path = arena_printf(&p->cfg.arena, "%s/summary.json", aiop_dir_of(p, rec));
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    if (size)
        *size = (int64_t)st.st_size;
    return true;
}

/* The record --run or --last names (with_summary: only runs that have one count for --last).
 * NULL after reporting why; *rc is the exit code. */
static const json_t *chosen_run(struct cli_ctx *ctx, const char *cmd, const struct aiop_opts *o,
                                struct project *p, bool with_summary, int *rc)
{
    if (!o->run == !o->last) {
        *rc = cli_failf(ctx, ERR_USAGE, "%s: give --run ID or --last", cmd);
        return NULL;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(p->runs, i, rec)
    {
        if (o->last ? !with_summary || has_summary(p, rec, NULL)
                    : strcmp(jv_str(rec, "run_id") ? jv_str(rec, "run_id") : "", o->run) == 0)
            return rec;
    }
    if (o->last)
        *rc =
            cli_failf(ctx, ERR_NOTFOUND, "%s: no run%s in the run index%s", cmd,
                      with_summary ? " with an AIOP" : "", o->pipeline ? " for that pipeline" : "");
    else
        *rc = cli_failf(ctx, ERR_NOTFOUND,
                        "%s: no run '%s' in the run index (see 'osiris runs list')", cmd, o->run);
    return NULL;
}

/* ==== list ==== */

static int list_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct aiop_opts *o = optsp;
    (void)argc;
    (void)argv;
    struct project p;
    int rc = project_open(ctx, o, &p);
    if (rc)
        return rc;
    json_t *out = json_array();
    size_t i;
    json_t *rec;
    json_array_foreach(p.runs, i, rec)
    {
        int64_t size;
        if (o->limit > 0 && json_array_size(out) >= (size_t)o->limit)
            break;
        if (!has_summary(&p, rec, &size))
            continue;
        const char *dir = aiop_dir_of(&p, rec);
        json_array_append_new(
            out,
            json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:o, s:o, s:I}", "run_id",
                      json_object_get(rec, "run_id"), "pipeline",
                      json_object_get(rec, "pipeline_slug"), "profile",
                      json_object_get(rec, "profile"), "status", json_object_get(rec, "status"),
                      "run_ts", json_object_get(rec, "run_ts"), "summary_path",
                      jv_text(arena_printf(&p.cfg.arena, "%s/summary.json", dir)), "run_card_path",
                      jv_text(arena_printf(&p.cfg.arena, "%s/run-card.md", dir)), "summary_bytes",
                      (json_int_t)size));
    }
    if (ctx->json) {
        cli_print_json(
            json_pack("{s:I, s:O}", "count", (json_int_t)json_array_size(out), "runs", out));
    } else if (json_array_size(out) == 0) {
        printf("no AIOP summaries in the run index\n");
    } else {
        struct cli_table t = { .ncols = 6 };
        cli_table_row(&t, "STARTED", "STATUS", "PIPELINE", "RUN ID", "BYTES", "SUMMARY");
        json_array_foreach(out, i, rec)
            cli_table_row(&t, runlog_fmt_time(&p.cfg.arena, jv_str(rec, "run_ts"), false),
                          jv_str(rec, "status"), jv_str(rec, "pipeline"), jv_str(rec, "run_id"),
                          arena_printf(&p.cfg.arena, "%" JSON_INTEGER_FORMAT,
                                       json_integer_value(json_object_get(rec, "summary_bytes"))),
                          jv_str(rec, "summary_path"));
        cli_table_print(&t);
    }
    json_decref(out);
    project_close(&p);
    return EXIT_OK;
}

static const struct cli_option list_options[] = {
    PIPELINE_OPTION,
    { "profile", 0, CLI_STRING, offsetof(struct aiop_opts, profile), "P",
      "only runs of this profile", NULL, 0, 0 },
    { "since", 0, CLI_STRING, offsetof(struct aiop_opts, since), "WHEN",
      "only runs started since then: 7d, 24h, 30m, or an ISO-8601 time", NULL, 0, 0 },
    { "limit", 'n', CLI_INT, offsetof(struct aiop_opts, limit), "N",
      "at most N summaries (the newest)", NULL, 1, 1000000 },
    { 0 },
};

const struct cli_command cmd_logs_aiop_list = {
    .name = "logs aiop list",
    .summary = "List the runs that have an AIOP summary, newest first",
    .options = list_options,
    .opts_size = sizeof(struct aiop_opts),
    .run = list_run,
};

/* ==== show ==== */

/* Runs act on the run --run or --last names (with_summary: only runs that have one count for
 * --last); returns the exit code. */
static int on_chosen_run(struct cli_ctx *ctx, const void *optsp, const char *cmd, bool with_summary,
                         int (*act)(struct cli_ctx *ctx, const struct aiop_opts *o,
                                    struct project *p, const json_t *rec))
{
    const struct aiop_opts *o = optsp;
    struct project p;
    int rc = project_open(ctx, o, &p);
    if (rc)
        return rc;
    const json_t *rec = chosen_run(ctx, cmd, o, &p, with_summary, &rc);
    if (rec)
        rc = act(ctx, o, &p, rec);
    project_close(&p);
    return rc;
}

static int show(struct cli_ctx *ctx, const struct aiop_opts *o, struct project *p,
                const json_t *rec)
{
    const char *run_id = jv_str(rec, "run_id");
    const char *path = arena_printf(&p->cfg.arena, "%s/%s", aiop_dir_of(p, rec),
                                    o->card ? "run-card.md" : "summary.json");
    struct strbuf text = STRBUF_INIT;
    struct err err = ERR_INIT;
    int rc = EXIT_OK;
    if (!files_exists(path))
        rc = cli_failf(ctx, ERR_NOTFOUND,
                       "logs aiop show: run '%s' has no %s (write it with 'osiris logs aiop "
                       "export --run %s')",
                       run_id, o->card ? "run card" : "AIOP summary", run_id);
    else if (files_read(path, &text, &err) != 0)
        rc = cli_fail(ctx, &err, NULL);
    else if (ctx->json && o->card)
        cli_print_json(json_pack("{s:s, s:s, s:s%}", "run_id", run_id, "path", path, "run_card",
                                 text.buf, text.len));
    else
        fwrite(text.buf, 1, text.len, stdout); /* summary.json is JSON already */
    strbuf_release(&text);
    return rc;
}

static int show_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return on_chosen_run(ctx, optsp, "logs aiop show", true, show);
}

static const struct cli_option show_options[] = {
    RUN_OPTIONS,
    PIPELINE_OPTION,
    { "card", 0, CLI_FLAG, offsetof(struct aiop_opts, card), NULL,
      "print the Markdown run card instead of summary.json", NULL, 0, 0 },
    { 0 },
};

const struct cli_command cmd_logs_aiop_show = {
    .name = "logs aiop show",
    .summary = "Print a run's AIOP summary.json (or its run card)",
    .options = show_options,
    .opts_size = sizeof(struct aiop_opts),
    .run = show_run,
};

/* ==== export ==== */

static int export(struct cli_ctx *ctx, const struct aiop_opts *o, struct project *p,
                  const json_t *rec)
{
    int rc = EXIT_OK;
    const char *profile = jv_str(rec, "profile"), *logs = jv_str(rec, "run_logs_path");
    struct aiop_run run = {
        .run_dir = logs && *logs ? projconfig_path(&p->cfg, logs) : "",
        .run_id = jv_str(rec, "run_id"),
        .pipeline = jv_str(rec, "pipeline_slug"),
        .profile = profile && *profile ? profile : NULL,
        .manifest_hash = jv_str(rec, "manifest_hash"),
        .manifest_short = jv_str(rec, "manifest_short"),
        .manifest_path = jv_str(rec, "build_manifest_path"),
        .out_dir = o->out ? o->out : aiop_dir_of(p, rec),
    };
    struct err err = ERR_INIT;
    json_t *summary = NULL;
    if (!files_is_dir(run.run_dir))
        rc = cli_failf(ctx, ERR_NOTFOUND,
                       "logs aiop export: the run directory of '%s' is gone ('%s'; logs gc "
                       "or maintenance clean may have deleted it)",
                       run.run_id, run.run_dir);
    else if (!(summary = aiop_export(&p->cfg, &run, &err)))
        rc = cli_fail(ctx, &err, NULL);
    else if (ctx->json)
        cli_print_json(json_pack(
            "{s:s, s:s, s:s, s:s, s:O?, s:O?}", "run_id", run.run_id, "aiop_path", run.out_dir,
            "summary_path", arena_printf(&p->cfg.arena, "%s/summary.json", run.out_dir),
            "run_card_path", arena_printf(&p->cfg.arena, "%s/run-card.md", run.out_dir),
            "size_bytes", jv_pointer_get(summary, "/metadata/size_bytes"), "truncated",
            jv_pointer_get(summary, "/metadata/truncated")));
    else
        printf("wrote the AIOP of %s to %s (summary.json %s bytes%s)\n", run.run_id, run.out_dir,
               arena_printf(&p->cfg.arena, "%" JSON_INTEGER_FORMAT,
                            json_integer_value(jv_pointer_get(summary, "/metadata/size_bytes"))),
               json_is_true(jv_pointer_get(summary, "/metadata/truncated")) ? ", truncated" : "");
    json_decref(summary);
    return rc;
}

static int export_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return on_chosen_run(ctx, optsp, "logs aiop export", false, export);
}

static const struct cli_option export_options[] = {
    RUN_OPTIONS,
    PIPELINE_OPTION,
    { "out", 'o', CLI_STRING, offsetof(struct aiop_opts, out), "DIR",
      "write into DIR instead of the run's AIOP directory", NULL, 0, 0 },
    { 0 },
};

const struct cli_command cmd_logs_aiop_export = {
    .name = "logs aiop export",
    .summary = "Write (again) a run's AIOP summary and run card from its run directory",
    .options = export_options,
    .opts_size = sizeof(struct aiop_opts),
    .run = export_run,
};
