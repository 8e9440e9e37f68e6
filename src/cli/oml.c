/* osiris oml validate: checks OML files with the validator compile uses, after resolving
 * params (defaults, profile, OSIRIS_PARAM_*, --param), and reports every error and warning
 * with file:line:col. Exit 0 when every file is valid, 1 otherwise. */
#include "cli.h"
#include "diag.h"
#include "oml.h"
#include "params.h"
#include "yamlload.h"

#include <stdio.h>
#include <string.h>

struct oml_opts {
    const char *profile;
    struct cli_list params;
};

/* Validates one file into d; returns the loaded document's summary fields for -v. */
static void validate_file(struct cli_project *p, const struct oml_opts *opts, const char *path,
                          struct diags *d, json_t *summary)
{
    struct jdoc doc = JDOC_INIT;
    struct err err = ERR_INIT;
    if (yamlload_file(&doc, path, &err) != 0) {
        bool missing = err.code == ERR_IO;
        /* The loader's message starts "path:line:col: "; keep the position as a position. */
        struct srcpos pos = { 0, 0 };
        const char *msg = err.msg;
        size_t n = strlen(path);
        int used = 0;
        if (!missing && strncmp(msg, path, n) == 0 &&
            sscanf(msg + n, ":%d:%d: %n", &pos.line, &pos.col, &used) == 2 && used > 0)
            msg += n + (size_t)used;
        diags_add_at(d, DIAG_ERROR, missing ? "file_not_found" : "yaml_parse_error",
                     missing ? NULL : path, pos, NULL, "%s", msg);
        return;
    }
    const char *profile = NULL;
    if (projconfig_profile(&p->cfg, opts->profile, &profile, &err) != 0)
        diags_add_at(d, DIAG_ERROR, "invalid_profile", NULL, (struct srcpos){ 0, 0 }, "--profile",
                     "%s", err.msg);
    struct params params = PARAMS_INIT;
    params_resolve(&params, &doc, profile, opts->params.items, opts->params.n, d);
    struct oml_context octx = { .reg = &p->reg, .conns = &p->conns, .params = &params };
    oml_validate(&doc, &octx, d);
    if (json_is_object(doc.root)) {
        static const char *const keys[] = { "oml_version", "name" };
        for (size_t i = 0; i < 2; i++)
            if (json_object_get(doc.root, keys[i]))
                json_object_set(summary, keys[i], json_object_get(doc.root, keys[i]));
        json_object_set_new(
            summary, "steps_count",
            json_integer((json_int_t)json_array_size(json_object_get(doc.root, "steps"))));
    }
    params_release(&params);
    jdoc_release(&doc);
}

static json_t *file_json(const char *path, const struct diags *d, json_t *summary, bool verbose)
{
    json_t *errors = json_array(), *warnings = json_array();
    for (size_t i = 0; i < d->len; i++)
        json_array_append_new(d->items[i].severity == DIAG_ERROR ? errors : warnings,
                              diag_json(&d->items[i]));
    json_t *o = json_pack("{s:b, s:s, s:o, s:o}", "valid", d->nerrors == 0, "file", path, "errors",
                          errors, "warnings", warnings);
    if (verbose)
        json_object_update(o, summary);
    return o;
}

static void file_text(const char *path, const struct diags *d)
{
    if (d->nerrors)
        printf("%s: invalid (%zu error%s, %zu warning%s)\n", path, d->nerrors,
               d->nerrors == 1 ? "" : "s", d->nwarnings, d->nwarnings == 1 ? "" : "s");
    else
        printf("%s: valid%s\n", path, d->nwarnings ? " with warnings" : "");
    struct strbuf line = STRBUF_INIT;
    for (size_t i = 0; i < d->len; i++) {
        strbuf_reset(&line);
        diag_format(&d->items[i], &line);
        printf("  %s\n", strbuf_str(&line));
    }
    strbuf_release(&line);
}

static int run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct oml_opts *opts = optsp;
    struct cli_project p;
    int rc = cli_project_open(ctx, &p);
    if (rc)
        return rc;
    bool all_valid = true;
    json_t *files = json_array();
    for (int i = 0; i < argc; i++) {
        struct diags d = DIAGS_INIT;
        json_t *summary = json_object();
        validate_file(&p, opts, argv[i], &d, summary);
        all_valid = all_valid && d.nerrors == 0;
        if (ctx->json)
            json_array_append_new(files, file_json(argv[i], &d, summary, ctx->verbose));
        else
            file_text(argv[i], &d);
        json_decref(summary);
        diags_release(&d);
    }
    if (ctx->json && argc == 1)
        cli_print_json(json_incref(json_array_get(files, 0)));
    else if (ctx->json)
        cli_print_json(json_pack("{s:O, s:b}", "files", files, "all_valid", all_valid));
    json_decref(files);
    cli_project_close(&p);
    return all_valid ? EXIT_OK : EXIT_FAILED;
}

static const struct cli_option options[] = {
    { "profile", 'p', CLI_STRING, offsetof(struct oml_opts, profile), "PROFILE",
      "resolve params with this profile (default: profiles.default of osiris.yaml)", NULL, 0, 0 },
    { "param", 0, CLI_LIST, offsetof(struct oml_opts, params), "NAME=VALUE",
      "set a declared param (repeatable)", NULL, 0, 0 },
    { 0 },
};

const struct cli_command cmd_oml_validate = {
    .name = "oml validate",
    .summary = "Check OML pipeline files and report every error with file:line:col",
    .args = "FILE...",
    .min_args = 1,
    .max_args = 1000,
    .options = options,
    .opts_size = sizeof(struct oml_opts),
    .run = run,
};
