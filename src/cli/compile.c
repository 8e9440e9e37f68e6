/* osiris compile: OML → build/ manifest (src/core/compiler.h). Every validation problem is
 * printed, one line each with file:line:col; invalid input exits 2, a failure to write 1. */
#include "cli.h"
#include "compiler.h"

#include <stdio.h>
#include <string.h>

struct compile_opts {
    const char *profile;
    struct cli_list params;
    const char *out;
};

static void print_diags(const struct diags *d, enum diag_severity only)
{
    struct strbuf line = STRBUF_INIT;
    for (size_t i = 0; i < d->len; i++) {
        if (d->items[i].severity != only)
            continue;
        strbuf_reset(&line);
        diag_format(&d->items[i], &line);
        fprintf(stderr, "%s\n", strbuf_str(&line));
    }
    strbuf_release(&line);
}

static json_t *diags_json(const struct diags *d, enum diag_severity only)
{
    json_t *a = json_array();
    for (size_t i = 0; i < d->len; i++)
        if (d->items[i].severity == only)
            json_array_append_new(a, diag_json(&d->items[i]));
    return a;
}

static int run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct compile_opts *opts = optsp;
    (void)argc;
    struct cli_project p;
    int rc = cli_project_open(ctx, &p);
    if (rc)
        return rc;
    struct compile_request req = {
        .oml_path = argv[0],
        .profile = opts->profile,
        .params = opts->params.items,
        .nparams = opts->params.n,
        .out_dir = opts->out,
    };
    struct compile_result res;
    struct err err = ERR_INIT;
    if (compiler_compile(&req, &p.cfg, &p.reg, &p.conns, &res, &err) != 0) {
        /* Every diagnostic on its own line; the summary line comes from cli_fail. */
        print_diags(&res.diags, DIAG_ERROR);
        print_diags(&res.diags, DIAG_WARNING);
        bool invalid = err.code == ERR_INPUT || err.code == ERR_NOTFOUND;
        if (res.diags.nerrors > 1) {
            char more[64];
            snprintf(more, sizeof(more), " (and %zu more error%s)", res.diags.nerrors - 1,
                     res.diags.nerrors == 2 ? "" : "s");
            strncat(err.msg, more, sizeof(err.msg) - strlen(err.msg) - 1);
        }
        err_prefix(&err, "compile failed: ");
        rc = cli_fail(ctx, &err,
                      json_pack("{s:s, s:s, s:s, s:o, s:o}", "status", "error", "error_type",
                                invalid ? "validation_error" : "compilation_error", "pipeline",
                                argv[0], "errors", diags_json(&res.diags, DIAG_ERROR), "warnings",
                                diags_json(&res.diags, DIAG_WARNING)));
    } else if (ctx->json) {
        print_diags(&res.diags, DIAG_WARNING);
        cli_print_json(json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:I, s:o}", "status", "success", "message",
            "Compilation successful", "manifest_path", res.manifest_path, "build_dir",
            res.build_dir, "manifest_hash", res.manifest_hash, "manifest_short", res.manifest_short,
            "pipeline_slug", res.pipeline_slug, "profile", res.profile, "steps",
            (json_int_t)res.nsteps, "warnings", diags_json(&res.diags, DIAG_WARNING)));
    } else {
        print_diags(&res.diags, DIAG_WARNING);
        printf("compiled %s: %zu step%s, profile %s\n", argv[0], res.nsteps,
               res.nsteps == 1 ? "" : "s", res.profile ? res.profile : "(none)");
        printf("  manifest: %s\n  hash:     %s (%s)\n", res.manifest_path, res.manifest_short,
               res.manifest_hash);
    }
    compile_result_release(&res);
    cli_project_close(&p);
    return rc;
}

static const struct cli_option options[] = {
    { "profile", 'p', CLI_STRING, offsetof(struct compile_opts, profile), "PROFILE",
      "profile to compile for (default: profiles.default of osiris.yaml)", NULL, 0, 0 },
    { "param", 0, CLI_LIST, offsetof(struct compile_opts, params), "NAME=VALUE",
      "set a declared param (repeatable; wins over env, profile and default)", NULL, 0, 0 },
    { "out", 'o', CLI_STRING, offsetof(struct compile_opts, out), "DIR",
      "write the manifest and cfg/ into DIR instead of the build directory", NULL, 0, 0 },
    { 0 },
};

const struct cli_command cmd_compile = {
    .name = "compile",
    .summary = "Compile an OML pipeline into a fingerprinted manifest under build/",
    .args = "FILE",
    .min_args = 1,
    .max_args = 1,
    .options = options,
    .opts_size = sizeof(struct compile_opts),
    .run = run,
};
