/* osiris maintenance clean: applies osiris.yaml's filesystem.retention to what osiris wrote.
 * Run logs: the sessions that finished more than run_logs_days ago (0 keeps them all), deleted
 * as `logs gc` deletes them — whole run directories, never a live run, nothing else. AIOP: per
 * pipeline and profile the newest aiop_keep_runs_per_pipeline summaries stay (0 keeps them all);
 * older ones go, each as its whole directory (the one holding summary.json). The build
 * directory and the run index are never touched. osiris writes no AIOP annex, so
 * annex_keep_days has nothing to act on. */
#include "cli.h"
#include "envfile.h"
#include "files.h"
#include "projconfig.h"
#include "report/runlog.h"
#include "runindex.h"
#include "xalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define AIOP_DEPTH 6 /* aiop/<profile>/<pipeline>/<manifest dir>/<run> is four */

struct clean_opts {
    bool dry_run;
};

/* One AIOP directory: identified by its summary.json, which names its pipeline and profile. */
struct aiop_entry {
    const char *dir, *rel; /* absolute; relative to the AIOP root */
    const char *group;     /* "<profile>/<pipeline>" */
    const char *run_id, *started_at;
    bool have_started;
    int64_t started_us;
};

struct aiop_list {
    struct arena *a;
    struct aiop_entry *items;
    size_t n, cap;
};

static void aiop_take(struct aiop_list *l, const char *dir, const char *rel)
{
    struct strbuf text = STRBUF_INIT;
    struct err err = ERR_INIT;
    json_t *s = NULL;
    if (files_read(arena_printf(l->a, "%s/summary.json", dir), &text, &err) == 0)
        s = jv_parse(text.buf, text.len, dir, &err);
    strbuf_release(&text);
    const char *pipeline = jv_str(jv_pointer_get(s, "/pipeline"), "name");
    /* What cannot be identified is never deleted. */
    if (pipeline) {
        XGROW(l->items, l->cap, l->n + 1);
        struct aiop_entry *e = &l->items[l->n++];
        const char *profile = jv_str(jv_pointer_get(s, "/run"), "profile");
        const char *started = jv_str(jv_pointer_get(s, "/run"), "started_at");
        e->dir = arena_strdup(l->a, dir);
        e->rel = arena_strdup(l->a, rel);
        e->group = arena_printf(l->a, "%s/%s", profile ? profile : "", pipeline);
        e->run_id = arena_strdup(l->a, jv_str(jv_pointer_get(s, "/run"), "run_id"));
        e->started_at = arena_strdup(l->a, started);
        e->have_started = started && runindex_parse_time(started, &e->started_us) == 0;
    }
    json_decref(s);
}

/* The directories under dir holding summary.json; links are not followed, names starting with
 * '.' skipped, and an AIOP directory's own subdirectories not searched. */
static void aiop_walk(struct aiop_list *l, const char *dir, const char *rel, int depth)
{
    size_t n;
    const char **names = files_list(l->a, dir, &n);
    for (size_t i = 0; i < n; i++) {
        if (names[i][0] == '.')
            continue;
        const char *path = arena_printf(l->a, "%s/%s", dir, names[i]);
        const char *sub = *rel ? arena_printf(l->a, "%s/%s", rel, names[i]) : names[i];
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (stat(arena_printf(l->a, "%s/summary.json", path), &st) == 0 && S_ISREG(st.st_mode))
            aiop_take(l, path, sub);
        else if (depth < AIOP_DEPTH)
            aiop_walk(l, path, sub, depth + 1);
    }
}

/* By group, newest first within one (runs without a start time last), then by path. */
static int aiop_cmp(const void *pa, const void *pb)
{
    const struct aiop_entry *a = pa, *b = pb;
    int c = strcmp(a->group, b->group);
    if (c)
        return c;
    if (a->have_started != b->have_started)
        return a->have_started ? -1 : 1;
    if (a->have_started && a->started_us != b->started_us)
        return a->started_us > b->started_us ? -1 : 1;
    return -strcmp(a->rel, b->rel);
}

/* Keeps the newest keep summaries of each pipeline and profile under root. */
static json_t *aiop_clean(const char *root, int keep, bool dry_run, int *rc)
{
    struct arena a;
    arena_init(&a);
    struct aiop_list l = { .a = &a };
    if (keep > 0)
        aiop_walk(&l, root, "", 1);
    if (l.n > 1)
        qsort(l.items, l.n, sizeof(*l.items), aiop_cmp);
    json_t *runs = json_array(), *errors = json_array();
    uint64_t freed = 0;
    int in_group = 0;
    for (size_t i = 0; i < l.n; i++) {
        const struct aiop_entry *e = &l.items[i];
        in_group = i > 0 && strcmp(e->group, l.items[i - 1].group) == 0 ? in_group + 1 : 1;
        if (in_group <= keep)
            continue;
        uint64_t bytes = runlog_tree_bytes(e->dir);
        struct err err = ERR_INIT;
        if (!dry_run && files_remove_tree(e->dir, &err) != 0) {
            json_array_append_new(errors, json_string(err.msg));
            continue;
        }
        freed += bytes;
        json_array_append_new(runs, json_pack("{s:o, s:o, s:o, s:o, s:I}", "path", jv_text(e->rel),
                                              "group", jv_text(e->group), "run_id",
                                              jv_text(e->run_id), "started_at",
                                              jv_text(e->started_at), "bytes", (json_int_t)bytes));
    }
    *rc = json_array_size(errors) ? EXIT_FAILED : EXIT_OK;
    json_t *out = json_pack(
        "{s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "count", (json_int_t)json_array_size(runs), "bytes",
        (json_int_t)freed, "kept", (json_int_t)(l.n - json_array_size(runs)), "keep_runs",
        (json_int_t)keep, "runs", runs, "errors", errors, "aiop_dir", jv_text(root));
    free(l.items);
    arena_release(&a);
    return out;
}

static void aiop_print(const json_t *r, bool dry_run)
{
    int64_t keep = json_integer_value(json_object_get(r, "keep_runs"));
    if (keep <= 0) {
        printf("AIOP: nothing to clean: filesystem.retention.aiop_keep_runs_per_pipeline is 0 "
               "(keep every summary)\n");
        return;
    }
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(r, "runs"), i, o) printf(
        "%s AIOP %s (older than the newest %" PRId64 " of %s, %" JSON_INTEGER_FORMAT " bytes)\n",
        dry_run ? "would delete" : "deleted", jv_str(o, "path"), keep, jv_str(o, "group"),
        json_integer_value(json_object_get(o, "bytes")));
    json_array_foreach(json_object_get(r, "errors"), i, o) cli_warn("%s", json_string_value(o));
    int64_t count = json_integer_value(json_object_get(r, "count"));
    int64_t kept = json_integer_value(json_object_get(r, "kept"));
    printf("%s %" PRId64 " of %" PRId64 " AIOP summaries, %.1f MB%s\n",
           dry_run ? "would delete" : "deleted", count, count + kept,
           (double)json_integer_value(json_object_get(r, "bytes")) / 1e6,
           dry_run ? " (--dry-run: nothing deleted)" : "");
}

static int clean_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct clean_opts *opts = optsp;
    (void)argc, (void)argv;
    struct err err = ERR_INIT;
    struct project_config cfg;
    if (envfile_load_defaults(NULL, &err) != 0 || projconfig_load(&cfg, NULL, &err) != 0)
        return cli_fail(ctx, &err, NULL);
    int days = cfg.retention.run_logs_days, rc = EXIT_OK, arc;
    json_t *logs = NULL;
    if (days > 0 && !(logs = cli_logs_gc(ctx, NULL, days, -1, opts->dry_run, &rc))) {
        projconfig_release(&cfg);
        return rc;
    }
    json_t *aiop = aiop_clean(projconfig_path(&cfg, cfg.aiop_dir),
                              cfg.retention.aiop_keep_runs_per_pipeline, opts->dry_run, &arc);
    projconfig_release(&cfg);
    if (ctx->json) {
        cli_print_json(json_pack("{s:b, s:o, s:o}", "dry_run", opts->dry_run, "run_logs",
                                 logs ? logs : json_null(), "aiop", aiop));
        return rc ? rc : arc;
    }
    if (logs)
        cli_logs_gc_print(logs);
    else
        printf("nothing to clean: filesystem.retention.run_logs_days is 0 (keep run logs)\n");
    aiop_print(aiop, opts->dry_run);
    json_decref(logs);
    json_decref(aiop);
    return rc ? rc : arc;
}

static const struct cli_option options[] = {
    { "dry-run", 'n', CLI_FLAG, offsetof(struct clean_opts, dry_run), NULL,
      "list what would be deleted and delete nothing", NULL, 0, 0 },
    { 0 },
};

const struct cli_command cmd_maintenance_clean = {
    .name = "maintenance clean",
    .summary = "Delete run logs and AIOP summaries past filesystem.retention",
    .options = options,
    .opts_size = sizeof(struct clean_opts),
    .run = clean_run,
};
