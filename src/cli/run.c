/* osiris run: compiles OML when given OML, then runs the manifest with the step engine
 * (src/engine/runner.h) and reports the run. Progress lines go to stderr on a terminal; the
 * result goes to stdout. Exit 0 when every step succeeded, 1 when a step failed, 2 for invalid
 * input (bad OML, bad manifest, no recent compile). */
#include "cli.h"
#include "compiler.h"
#include "engine/runner.h"
#include "files.h"
#include "fscontract.h"
#include "manifest.h"
#include "remote/proxy.h"
#include "yamlload.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct run_opts {
    bool last_compile;
    const char *last_compile_in;
    const char *profile;
    struct cli_list params;
    const char *out;
    bool dry_run;
    const char *remote;
    struct cli_list remote_env, remote_pass_env;
    long remote_timeout;
    bool e2b;
    bool remote_no_net;
    long remote_cpu, remote_mem_mb;
};

/* ==== Progress ==== */

struct progress {
    uint64_t step_t0;
};

static void on_event(void *data, const char *event, const json_t *f)
{
    struct progress *p = data;
    const char *id = json_string_value(json_object_get(f, "step_id"));
    if (strcmp(event, "step_start") == 0) {
        p->step_t0 = session_now_ms();
        fprintf(stderr, "  > %s (%s)\n", id, json_string_value(json_object_get(f, "driver")));
    } else if (strcmp(event, "step_complete") == 0) {
        json_int_t rows = json_integer_value(json_object_get(f, "rows_out"));
        json_int_t ms = json_integer_value(json_object_get(f, "duration_ms"));
        fprintf(stderr, "  + %s: %lld rows in %lld ms (%.0f rows/s)\n", id, (long long)rows,
                (long long)ms, ms > 0 ? (double)rows * 1000.0 / (double)ms : (double)rows);
    } else if (strcmp(event, "step_error") == 0) {
        fprintf(stderr, "  x %s: %s\n", id, json_string_value(json_object_get(f, "error")));
    } else if (strcmp(event, "step_skipped") == 0) {
        fprintf(stderr, "  - %s skipped\n", id);
    }
}

/* ==== Choosing what to run ==== */

/* Reads a pointer file (relative to the project root) into an absolute manifest path. */
static int pointer_manifest(struct cli_project *p, const char *pointer, struct strbuf *path,
                            struct err *err)
{
    struct strbuf line = STRBUF_INIT;
    int rc = fscontract_read_pointer(projconfig_path(&p->cfg, pointer), &line, err);
    if (rc == 0) {
        strbuf_adds(path, projconfig_path(&p->cfg, strbuf_str(&line)));
        if (!files_exists(strbuf_str(path)))
            rc = err_set(err, ERR_NOTFOUND, "%s names %s, which no longer exists; compile again",
                         pointer, strbuf_str(&line));
    } else if (err->code == ERR_NOTFOUND) {
        err_prefix(err, "no recent compile: ");
    }
    strbuf_release(&line);
    return rc;
}

/* The --param NAME=VALUE pairs, as the values of sensitive ${params.NAME} placeholders in cfg
 * files at run time (the runner falls back to OSIRIS_PARAM_<NAME>). NULL (err set) for a pair
 * without '='. */
static json_t *runtime_params(const struct run_opts *opts, struct err *err)
{
    json_t *values = json_object();
    for (size_t i = 0; i < opts->params.n; i++) {
        const char *item = opts->params.items[i], *eq = strchr(item, '=');
        if (!eq || eq == item) {
            json_decref(values);
            err_set(err, ERR_USAGE, "--param needs NAME=VALUE, got '%s'", item);
            return NULL;
        }
        char *name = strndup(item, (size_t)(eq - item));
        json_object_set_new(values, name, json_string(eq + 1));
        free(name);
    }
    return values;
}

/* Compiles OML (into dir when not NULL), puts the manifest path in path and the values of its
 * sensitive params in params: they include defaults and profile values, which a manifest run
 * cannot know. */
static int compile_oml(struct cli_project *p, const struct run_opts *opts, const char *file,
                       const char *dir, struct strbuf *path, json_t *params, struct err *err)
{
    struct compile_request req = { .oml_path = file,
                                   .profile = opts->profile,
                                   .params = opts->params.items,
                                   .nparams = opts->params.n,
                                   .out_dir = dir,
                                   .no_pointers = dir != NULL };
    struct compile_result res;
    int rc = compiler_compile(&req, &p->cfg, &p->reg, &p->conns, &res, err);
    struct strbuf line = STRBUF_INIT;
    for (size_t i = 0; i < res.diags.len; i++) {
        strbuf_reset(&line);
        diag_format(&res.diags.items[i], &line);
        fprintf(stderr, "%s\n", strbuf_str(&line));
    }
    strbuf_release(&line);
    if (rc == 0) {
        strbuf_adds(path, res.manifest_path);
        json_object_update(params, res.sensitive);
    } else
        err_prefix(err, "compile failed: ");
    compile_result_release(&res);
    return rc;
}

static int choose(struct cli_project *p, const struct run_opts *opts, int argc, char **argv,
                  const char *dry_dir, struct strbuf *path, json_t *params, struct err *err)
{
    int sources = (argc > 0) + opts->last_compile + (opts->last_compile_in != NULL);
    if (sources != 1)
        return err_set(err, ERR_USAGE,
                       sources ? "give one of FILE, --last-compile and --last-compile-in"
                               : "nothing to run: give FILE, --last-compile or "
                                 "--last-compile-in SLUG");
    if (opts->last_compile)
        return pointer_manifest(
            p, arena_printf(&p->cfg.arena, "%s/last_compile.txt", p->cfg.index_dir), path, err);
    if (opts->last_compile_in) /* a pipeline name works too, as in `runs list --pipeline` */
        return pointer_manifest(
            p,
            arena_printf(&p->cfg.arena, "%s/latest/%s.txt", p->cfg.index_dir,
                         fscontract_slugify(&p->cfg.arena, opts->last_compile_in)),
            path, err);
    struct jdoc doc = JDOC_INIT;
    if (yamlload_file(&doc, argv[0], err) != 0) {
        err->code = ERR_INPUT;
        return -1;
    }
    bool is_manifest = manifest_detect(doc.root);
    jdoc_release(&doc);
    if (is_manifest) {
        strbuf_adds(path, argv[0]);
        return 0;
    }
    return compile_oml(p, opts, argv[0], dry_dir, path, params, err);
}

/* ==== Output ==== */

/* The connection reference in a step's cfg file, or NULL when it has none (or the file cannot be
 * read: the plan shows what is there, the run reports what is wrong). */
static json_t *step_connection(const struct manifest_step *s)
{
    struct strbuf text = STRBUF_INIT;
    struct err err = ERR_INIT;
    json_t *cfg = NULL, *conn = NULL;
    if (files_read(s->cfg_path, &text, &err) == 0)
        cfg = jv_parse(strbuf_str(&text), text.len, s->cfg_path, &err);
    if (json_is_string(json_object_get(cfg, "connection")))
        conn = json_incref(json_object_get(cfg, "connection"));
    json_decref(cfg);
    strbuf_release(&text);
    return conn ? conn : json_null();
}

/* What --dry-run shows; the text form is printed from it, so the two cannot differ. */
static json_t *plan_json(const struct manifest *m)
{
    json_t *steps = json_array();
    for (size_t i = 0; i < m->nsteps; i++) {
        const struct manifest_step *s = &m->steps[i];
        json_t *needs = json_array();
        for (size_t k = 0; k < s->nneeds; k++)
            json_array_append_new(needs, json_string(s->needs[k]));
        json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", s->id,
                                               "component", s->component, "driver", s->driver,
                                               "connection", step_connection(s), "needs", needs));
    }
    return json_pack("{s:s, s:b, s:s, s:s?, s:s, s:s, s:o}", "status", "planned", "dry_run", true,
                     "pipeline", m->pipeline_id, "profile", m->profile, "manifest_hash",
                     m->manifest_hash, "manifest_short", m->manifest_short, "steps", steps);
}

static void print_plan(const json_t *plan)
{
    const json_t *steps = json_object_get(plan, "steps");
    printf("plan for pipeline %s (%zu steps, manifest %s):\n", jv_str(plan, "pipeline"),
           json_array_size(steps), jv_str(plan, "manifest_short"));
    size_t i;
    const json_t *s;
    json_array_foreach(steps, i, s)
    {
        const char *conn = jv_str(s, "connection");
        printf("  %zu. %s  %s (driver %s)  connection %s", i + 1, jv_str(s, "id"),
               jv_str(s, "component"), jv_str(s, "driver"), conn ? conn : "-");
        const json_t *needs = json_object_get(s, "needs");
        for (size_t k = 0; k < json_array_size(needs); k++)
            printf("%s%s", k ? ", " : "  needs ", json_string_value(json_array_get(needs, k)));
        printf("\n");
    }
    const json_t *remote = json_object_get(plan, "remote");
    if (remote) {
        const json_t *inputs = json_object_get(remote, "inputs");
        const json_t *pack = json_object_get(remote, "pack");
        printf("the steps would run in a worker (--remote %s), shipped:\n",
               jv_str(remote, "target"));
        if (json_array_size(pack))
            printf("  the pack: %zu files, %lld bytes\n", json_array_size(pack),
                   (long long)json_integer_value(json_object_get(remote, "pack_bytes")));
        else
            printf("  the pack: none (the worker is this binary)\n");
        json_array_foreach(pack, i, s)
        {
            printf("    %s  %lld  %s\n", jv_str(s, "name"),
                   (long long)json_integer_value(json_object_get(s, "size")), jv_str(s, "source"));
        }
        json_array_foreach(inputs, i, s)
        {
            printf("  input %s\n", json_string_value(s));
        }
    }
    printf("nothing was run or written (--dry-run)\n");
}

/* out_error: why --out could not copy the artifacts, or NULL. It fails the command, as does a run
 * record that could not be written completely (r->record_error). */
static int report(struct cli_ctx *ctx, const struct manifest *m, struct run_result *r,
                  const char *out_error)
{
    if (ctx->json) {
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:s, s:s?, s:o, s:I, s:I, s:s?, s:o, s:s?, s:I, s:I, s:I, s:o}",
            "status", r->ok ? "success" : "failed", "run_id", r->run_id, "session_id", r->run_id,
            "pipeline", m->pipeline_id, "profile", m->profile, "run_dir", jv_text(r->run_dir),
            "steps_total", (json_int_t)r->steps_total, "steps_completed",
            (json_int_t)r->steps_completed, "failed_step", r->failed_step, "error",
            jv_text(r->error), "error_code", r->error_code, "rows_read", (json_int_t)r->rows_read,
            "rows_written", (json_int_t)r->rows_written, "duration_ms", (json_int_t)r->duration_ms,
            "artifacts_dir", jv_text(arena_printf(&r->arena, "%s/artifacts", r->run_dir)));
        json_object_set_new(o, "aiop_dir", jv_text(r->aiop_dir));
        if (out_error)
            json_object_set_new(o, "out_error", jv_text(out_error));
        if (r->record_error)
            json_object_set_new(o, "record_error", jv_text(r->record_error));
        cli_print_json(o);
    } else if (r->ok) {
        printf("run %s succeeded: %zu/%zu steps, %lld rows read, %lld rows written, %.2f s\n",
               r->run_id, r->steps_completed, r->steps_total, (long long)r->rows_read,
               (long long)r->rows_written, (double)r->duration_ms / 1000.0);
        printf("  run directory: %s\n", r->run_dir);
    } else if (r->failed_step) {
        printf("run %s failed at step '%s': %s\n", r->run_id, r->failed_step, r->error);
        printf("  %zu/%zu steps completed; run directory: %s\n", r->steps_completed, r->steps_total,
               r->run_dir);
    } else {
        printf("run %s failed: %s\n  run directory: %s\n", r->run_id, r->error, r->run_dir);
    }
    if (!r->ok && r->failed_step)
        fprintf(stderr, "osiris: run failed: step '%s': %s\n", r->failed_step, r->error);
    else if (!r->ok)
        fprintf(stderr, "osiris: run failed: %s\n", r->error);
    if (r->record_error)
        fprintf(stderr, "osiris: the run record is incomplete: %s\n", r->record_error);
    if (out_error)
        fprintf(stderr, "osiris: --out: %s\n", out_error);
    return r->ok && !out_error && !r->record_error ? EXIT_OK : EXIT_FAILED;
}

/* --remote and its options, before anything is compiled: a usage error exits 2. */
static int check_remote(struct cli_ctx *ctx, const struct run_opts *opts)
{
    struct err err = ERR_INIT;
    bool limits = opts->remote_no_net || opts->remote_cpu || opts->remote_mem_mb;
    if (opts->e2b)
        err_set(&err, ERR_USAGE,
                "--e2b: this osiris has no E2B backend yet; run the steps in a "
                "sandbox here (--remote sandbox) or on a host of yours "
                "(--remote ssh://HOST)");
    else if (!opts->remote &&
             (opts->remote_env.n || opts->remote_pass_env.n || opts->remote_timeout || limits))
        err_set(&err, ERR_USAGE, "the --remote-* options need --remote");
    else if (opts->remote && remote_check_target(opts->remote, &err) == 0 && limits &&
             strcmp(opts->remote, "sandbox") != 0)
        err_set(&err, ERR_USAGE,
                "--remote-no-net, --remote-cpu and --remote-mem-mb need --remote "
                "sandbox");
    for (size_t i = 0; !err.code && i < opts->remote_env.n; i++)
        if (!strchr(opts->remote_env.items[i], '=') || opts->remote_env.items[i][0] == '=')
            err_set(&err, ERR_USAGE, "--remote-env %s: K=V expected", opts->remote_env.items[i]);
    for (size_t i = 0; !err.code && i < opts->remote_pass_env.n; i++) {
        const char *n = opts->remote_pass_env.items[i];
        if (!*n ||
            strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                strlen(n) ||
            isdigit((unsigned char)n[0]))
            err_set(&err, ERR_USAGE, "--remote-pass-env %s: a variable name expected", n);
    }
    return err.code ? cli_fail(ctx, &err, NULL) : EXIT_OK;
}

static int run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct run_opts *opts = optsp;
    int crc = check_remote(ctx, opts);
    if (crc)
        return crc;
    struct cli_project p;
    int rc = cli_project_open(ctx, &p);
    if (rc)
        return rc;
    struct err err = ERR_INIT;
    struct strbuf path = STRBUF_INIT;
    /* A dry run compiles into a temporary directory and touches nothing in the project. */
    const char *tmp = getenv("TMPDIR");
    char *dry_dir = opts->dry_run ? arena_printf(&p.cfg.arena, "%s/osiris-dry-run-XXXXXX",
                                                 tmp && *tmp ? tmp : "/tmp")
                                  : NULL;
    struct manifest m;
    json_t *params = runtime_params(opts, &err);
    if (dry_dir && !mkdtemp(dry_dir)) {
        err_errno(&err, ERR_IO, "cannot create a temporary directory for --dry-run");
        dry_dir = NULL;
    }
    if (err.code || choose(&p, opts, argc, argv, dry_dir, &path, params, &err) != 0 ||
        manifest_load(&m, strbuf_str(&path), &err) != 0) {
        rc = cli_fail(ctx, &err, NULL);
        goto done;
    }
    struct progress prog = { 0 };
    bool tty = !ctx->json && isatty(STDERR_FILENO);
    struct run_request req = { .manifest = &m,
                               .cfg = &p.cfg,
                               .reg = &p.reg,
                               .conns = &p.conns,
                               .params = params,
                               .verbose = ctx->verbose,
                               .observer = tty ? on_event : NULL,
                               .observer_data = &prog };
    struct run_result res;
    /* The worker's environment holds only what is named: --remote-env, and --remote-pass-env
     * with this process's values. */
    const char
        *env[2 * (sizeof(opts->remote_env.items) / sizeof(opts->remote_env.items[0])) + 1] = { 0 };
    size_t nenv = 0;
    for (size_t i = 0; i < opts->remote_env.n; i++)
        env[nenv++] = opts->remote_env.items[i];
    for (size_t i = 0; i < opts->remote_pass_env.n; i++) {
        const char *name = opts->remote_pass_env.items[i], *v = getenv(name);
        if (v)
            env[nenv++] = arena_printf(&p.cfg.arena, "%s=%s", name, v);
        else
            cli_warn("--remote-pass-env %s: not set here, so not passed", name);
    }
    /* The process backend can start another binary (tests: a worker of another version). */
    const char *worker = getenv("OSIRIS_WORKER_BIN");
    struct remote_opts ro = { .target = opts->remote,
                              .env = env,
                              .no_net = opts->remote_no_net,
                              .cpus = (int)opts->remote_cpu,
                              .mem_mb = opts->remote_mem_mb,
                              .worker_path = worker && *worker ? worker : NULL,
                              .run_timeout_ms = (int)opts->remote_timeout * 1000 };
    if (opts->dry_run) {
        json_t *plan = plan_json(&m);
        json_t *ship = opts->remote ? remote_shipment(&req, &ro, &err) : NULL;
        if (err.code) {
            json_decref(plan);
            manifest_release(&m);
            rc = cli_fail(ctx, &err, NULL);
            goto done;
        }
        if (ship)
            json_object_set_new(plan, "remote", ship);
        if (ctx->json)
            cli_print_json(plan);
        else {
            print_plan(plan);
            json_decref(plan);
        }
        manifest_release(&m);
        goto done;
    }
    if (opts->remote ? remote_run(&req, &ro, &res, &err) != 0 : runner_run(&req, &res, &err) != 0) {
        rc = cli_fail(ctx, &err, NULL);
    } else {
        const char *out_error = NULL;
        if (opts->out && files_copy_tree(arena_printf(&res.arena, "%s/artifacts", res.run_dir),
                                         opts->out, &err) != 0)
            out_error = err.msg;
        if (res.index_error)
            cli_warn("the run was not added to the run index: %s", res.index_error);
        if (res.aiop_error)
            cli_warn("the run's AIOP summary was not written: %s", res.aiop_error);
        rc = report(ctx, &m, &res, out_error);
    }
    run_result_release(&res);
    manifest_release(&m);
done:
    if (dry_dir)
        files_remove_tree(dry_dir, NULL);
    json_decref(params);
    strbuf_release(&path);
    cli_project_close(&p);
    return rc;
}

static const struct cli_option options[] = {
    { "last-compile", 0, CLI_FLAG, offsetof(struct run_opts, last_compile), NULL,
      "run the manifest of the last `osiris compile`", NULL, 0, 0 },
    { "last-compile-in", 0, CLI_STRING, offsetof(struct run_opts, last_compile_in), "SLUG",
      "run the last compiled manifest of pipeline SLUG", NULL, 0, 0 },
    { "profile", 'p', CLI_STRING, offsetof(struct run_opts, profile), "PROFILE",
      "profile to compile OML for (default: profiles.default of osiris.yaml)", NULL, 0, 0 },
    { "param", 0, CLI_LIST, offsetof(struct run_opts, params), "NAME=VALUE",
      "set a param (repeatable); also fills sensitive params of a manifest", NULL, 0, 0 },
    { "out", 'o', CLI_STRING, offsetof(struct run_opts, out), "DIR",
      "copy the run's artifacts into DIR afterwards", NULL, 0, 0 },
    { "dry-run", 'n', CLI_FLAG, offsetof(struct run_opts, dry_run), NULL,
      "print the plan (steps, drivers, connections, needs) and run nothing", NULL, 0, 0 },
    { "remote", 0, CLI_STRING, offsetof(struct run_opts, remote), "TARGET",
      "run the steps in an osiris worker: process, sandbox, ssh://[user@]host[:port]", NULL, 0, 0 },
    { "remote-env", 0, CLI_LIST, offsetof(struct run_opts, remote_env), "K=V",
      "set K=V in the worker's environment (repeatable)", NULL, 0, 0 },
    { "remote-pass-env", 0, CLI_LIST, offsetof(struct run_opts, remote_pass_env), "NAME",
      "pass the variable NAME of this environment to the worker (repeatable)", NULL, 0, 0 },
    { "e2b", 0, CLI_FLAG, offsetof(struct run_opts, e2b), NULL,
      "run in an E2B cloud sandbox (no such backend yet: exits 2)", NULL, 0, 0 },
    { "remote-timeout", 0, CLI_INT, offsetof(struct run_opts, remote_timeout), "SECONDS",
      "fail a remote run that takes longer (default: no limit)", NULL, 1, 86400 },
    { "remote-no-net", 0, CLI_FLAG, offsetof(struct run_opts, remote_no_net), NULL,
      "sandbox: no network but loopback", NULL, 0, 0 },
    { "remote-cpu", 0, CLI_INT, offsetof(struct run_opts, remote_cpu), "N",
      "sandbox: at most N CPUs", NULL, 1, 1024 },
    { "remote-mem-mb", 0, CLI_INT, offsetof(struct run_opts, remote_mem_mb), "MB",
      "sandbox: at most MB of memory", NULL, 64, 1048576 },
    { 0 },
};

const struct cli_command cmd_run = {
    .name = "run",
    .summary = "Run a pipeline (OML or compiled manifest) and record the run under run_logs/",
    .args = "[FILE]",
    .min_args = 0,
    .max_args = 1,
    .options = options,
    .opts_size = sizeof(struct run_opts),
    .run = run,
};
