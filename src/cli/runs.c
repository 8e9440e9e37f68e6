/* osiris runs list: the run index (<base_path>/<index_dir>, src/core/runindex.h), newest first,
 * filtered by pipeline, profile, status and start time. Failed runs are in the index too. */
#include "cli.h"
#include "report/runlog.h"
#include "envfile.h"
#include "fscontract.h"
#include "runindex.h"

#include <inttypes.h>
#include <string.h>

#define DEFAULT_LIMIT 100 /* runs listed without --limit */

struct runs_opts {
    const char *pipeline;
    const char *profile;
    const char *status;
    const char *since;
    long limit;
};

static void print_table(struct arena *a, const json_t *runs)
{
    struct cli_table t = { .ncols = 6 };
    cli_table_row(&t, "RUN ID", "PIPELINE", "PROFILE", "STATUS", "STARTED", "DURATION");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        const json_t *d = json_object_get(r, "duration_ms");
        const char *profile = jv_str(r, "profile");
        const char *status = jv_str(r, "status");
        const char *failed_step = jv_str(r, "failed_step");
        if (status && failed_step && strcmp(status, "failed") == 0)
            status = arena_printf(a, "failed (%s)", failed_step);
        cli_table_row(&t, jv_str(r, "run_id"), jv_str(r, "pipeline_slug"),
                      profile && *profile ? profile : NULL, status,
                      runlog_fmt_time(a, jv_str(r, "run_ts"), false),
                      runlog_fmt_duration(a, json_is_integer(d), json_integer_value(d)));
    }
    cli_table_print(&t);
}

static int list_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct runs_opts *opts = optsp;
    (void)argc;
    (void)argv;
    struct err err = ERR_INIT;
    struct project_config cfg;
    if (envfile_load_defaults(NULL, &err) != 0 || projconfig_load(&cfg, NULL, &err) != 0)
        return cli_fail(ctx, &err, NULL);

    struct runindex_query q = {
        .profile = opts->profile,
        .status = opts->status,
        .limit = opts->limit > 0 ? (size_t)opts->limit : DEFAULT_LIMIT,
    };
    int rc = EXIT_OK;
    if (opts->pipeline) {
        /* The index is keyed by slug: "Orders ETL" and "orders_etl" find "orders-etl". */
        q.pipeline_slug = fscontract_slugify(&cfg.arena, opts->pipeline);
        if (!*q.pipeline_slug) {
            rc = cli_failf(ctx, ERR_USAGE, "runs list: --pipeline '%s' is not a pipeline name",
                           opts->pipeline);
            goto out;
        }
    }
    if (opts->since) {
        if (runindex_parse_since(opts->since, runindex_now_us(), &q.since_us, &err) != 0) {
            err_prefix(&err, "runs list: --since: ");
            rc = cli_fail(ctx, &err, NULL);
            goto out;
        }
        q.have_since = true;
    }
    const char *index_dir = projconfig_path(&cfg, cfg.index_dir);
    size_t skipped = 0;
    json_t *runs = runindex_query(index_dir, &q, &skipped, &err);
    if (!runs) {
        rc = cli_fail(ctx, &err, NULL);
        goto out;
    }
    cli_warn_bad_lines(arena_printf(&cfg.arena, "run index '%s'", index_dir), skipped);
    if (ctx->json) {
        cli_print_json(runs);
    } else {
        if (json_array_size(runs) == 0) {
            bool filtered = opts->pipeline || opts->profile || opts->status || opts->since;
            printf("no runs %s in '%s'\n", filtered ? "match" : "recorded", index_dir);
        } else {
            print_table(&cfg.arena, runs);
        }
        json_decref(runs);
    }
out:
    projconfig_release(&cfg);
    return rc;
}

static const char *const status_choices[] = { "success", "failed", NULL };

static const struct cli_option options[] = {
    { "pipeline", 0, CLI_STRING, offsetof(struct runs_opts, pipeline), "SLUG",
      "only runs of this pipeline (its name or slug)", NULL, 0, 0 },
    { "profile", 'p', CLI_STRING, offsetof(struct runs_opts, profile), "PROFILE",
      "only runs with this profile", NULL, 0, 0 },
    { "status", 0, CLI_STRING, offsetof(struct runs_opts, status), "STATUS",
      "only successful or only failed runs", status_choices, 0, 0 },
    { "since", 0, CLI_STRING, offsetof(struct runs_opts, since), "WHEN",
      "only runs started since WHEN: 7d, 24h, 30m, 45s ago, or an ISO-8601 time", NULL, 0, 0 },
    { "limit", 'n', CLI_INT, offsetof(struct runs_opts, limit), "N",
      "show the N newest runs (default 100)", NULL, 1, 1000000000 },
    { 0 },
};

const struct cli_command cmd_runs_list = {
    .name = "runs list",
    .summary = "List indexed runs (successful and failed), newest first",
    .options = options,
    .opts_size = sizeof(struct runs_opts),
    .run = list_run,
};
