/* osiris maintenance clean: applies osiris.yaml's filesystem.retention to what osiris wrote.
 * Run logs: the sessions that finished more than run_logs_days ago (0 keeps them all), deleted
 * as `logs gc` deletes them — whole run directories, never a live run, nothing else. The build
 * directory and the run index are never touched. AIOP packages and their annexes
 * (aiop_keep_runs_per_pipeline, annex_keep_days) join once osiris writes them. */
#include "cli.h"
#include "envfile.h"
#include "projconfig.h"

struct clean_opts {
    bool dry_run;
};

static int clean_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct clean_opts *opts = optsp;
    (void)argc, (void)argv;
    struct err err = ERR_INIT;
    struct project_config cfg;
    if (envfile_load_defaults(NULL, &err) != 0 || projconfig_load(&cfg, NULL, &err) != 0)
        return cli_fail(ctx, &err, NULL);
    int days = cfg.retention.run_logs_days;
    projconfig_release(&cfg);
    if (days <= 0) {
        if (ctx->json)
            cli_print_json(json_pack("{s:b, s:I, s:I, s:[], s:[], s:s}", "dry_run", opts->dry_run,
                                     "count", (json_int_t)0, "bytes", (json_int_t)0, "sessions",
                                     "errors", "reason", "retention.run_logs_days is 0"));
        else
            printf("nothing to clean: filesystem.retention.run_logs_days is 0 (keep run logs)\n");
        return EXIT_OK;
    }
    return cli_logs_gc(ctx, NULL, days, -1, opts->dry_run);
}

static const struct cli_option options[] = {
    { "dry-run", 'n', CLI_FLAG, offsetof(struct clean_opts, dry_run), NULL,
      "list what would be deleted and delete nothing", NULL, 0, 0 },
    { 0 },
};

const struct cli_command cmd_maintenance_clean = {
    .name = "maintenance clean",
    .summary = "Delete run logs older than filesystem.retention.run_logs_days",
    .options = options,
    .opts_size = sizeof(struct clean_opts),
    .run = clean_run,
};
