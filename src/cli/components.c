/* osiris components list|show|validate|config-example: the component registry as users see it.
 * Specs that fail to load are reported as warnings (file:line:col) and left out, so one broken
 * override never hides the others. */
#include "cli.h"
#include "drivers/driver.h"
#include "files.h"
#include "registry.h"
#include "speccheck.h"
#include "xalloc.h"
#include "yamlload.h"
#include "yamlwrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const spec_modes[] = {
    "extract", "write", "load", "transform", "discover", "analyze", "stream", NULL,
};
static const char *const levels[] = { "basic", "enhanced", "strict", NULL };

/* Loads the registry and reports specs that were skipped. */
static int load(struct cli_ctx *ctx, struct registry *reg)
{
    struct err err = ERR_INIT;
    if (registry_load(reg, ctx->components_dir, &err) != 0)
        return cli_fail(ctx, &err, NULL);
    for (size_t i = 0; i < reg->nproblems; i++)
        cli_warn("%s (skipped)", reg->problems[i].message);
    return EXIT_OK;
}

static bool runnable(const struct component *c)
{
    return driver_find(c->driver) != NULL;
}

static const char *spec_str(const struct component *c, const char *key)
{
    return json_string_value(json_object_get(c->doc.root, key));
}

static int unknown(struct cli_ctx *ctx, const struct registry *reg, const char *name)
{
    const char *best = registry_suggest(reg, name);
    if (best)
        return cli_failf(ctx, ERR_NOTFOUND, "unknown component '%s'; did you mean '%s'?", name,
                         best);
    return cli_failf(ctx, ERR_NOTFOUND, "unknown component '%s' (see 'osiris components list')",
                     name);
}

/* ==== list ==== */

struct list_opts {
    const char *mode;
    bool runnable;
};

static bool has_mode(const struct component *c, const char *mode)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c->doc.root, "modes"), i, m)
    {
        if (strcmp(json_string_value(m), mode) == 0)
            return true;
    }
    return false;
}

static void join_strings(const json_t *array, struct strbuf *out)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v)
    {
        strbuf_addf(out, "%s%s", i ? ", " : "", json_string_value(v));
    }
}

static int list_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct list_opts *opts = optsp;
    (void)argc, (void)argv;
    struct registry reg;
    int rc = load(ctx, &reg);
    if (rc)
        return rc;
    json_t *out = json_array();
    for (size_t i = 0; i < reg.len; i++) {
        const struct component *c = &reg.items[i];
        if ((opts->mode && !has_mode(c, opts->mode)) || (opts->runnable && !runnable(c)))
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(c->name));
        json_object_set_new(o, "version", json_string(spec_str(c, "version")));
        json_object_set(o, "modes", json_object_get(c->doc.root, "modes"));
        json_object_set_new(o, "title",
                            json_string(spec_str(c, "title") ? spec_str(c, "title") : ""));
        json_object_set_new(
            o, "description",
            json_string(spec_str(c, "description") ? spec_str(c, "description") : ""));
        json_object_set_new(o, "runnable", json_boolean(runnable(c)));
        json_object_set_new(o, "driver", c->driver ? json_string(c->driver) : json_null());
        json_object_set_new(o, "file", json_string(c->file));
        json_object_set_new(o, "builtin", json_boolean(c->builtin));
        json_array_append_new(out, o);
    }
    if (ctx->json) {
        cli_print_json(out);
    } else if (json_array_size(out) == 0) {
        printf("no components match\n");
        json_decref(out);
    } else {
        printf("%-26s %-8s %-22s %s\n", "NAME", "VERSION", "MODES", "TITLE");
        size_t i;
        json_t *o;
        json_array_foreach(out, i, o)
        {
            struct strbuf modes = STRBUF_INIT;
            join_strings(json_object_get(o, "modes"), &modes);
            printf("%-26s %-8s %-22s %s%s\n", json_string_value(json_object_get(o, "name")),
                   json_string_value(json_object_get(o, "version")), strbuf_str(&modes),
                   json_string_value(json_object_get(o, "title")),
                   json_is_true(json_object_get(o, "builtin")) ? "" : " [override]");
            strbuf_release(&modes);
        }
        json_decref(out);
    }
    registry_release(&reg);
    return EXIT_OK;
}

static const struct cli_option list_options[] = {
    { "mode", 0, CLI_STRING, offsetof(struct list_opts, mode), "MODE",
      "only components whose spec lists MODE", spec_modes, 0, 0 },
    { "runnable", 0, CLI_FLAG, offsetof(struct list_opts, runnable), NULL,
      "only components whose driver is compiled into this binary", NULL, 0, 0 },
    { 0 },
};

const struct cli_command cmd_components_list = {
    .name = "components list",
    .summary = "List the available components, sorted by name",
    .options = list_options,
    .opts_size = sizeof(struct list_opts),
    .run = list_run,
};

/* ==== show ==== */

static const struct cli_option no_options[] = { { 0 } };

static void show_text(const struct component *c)
{
    const json_t *spec = c->doc.root;
    const char *title = spec_str(c, "title");
    printf("%s %s%s%s\n", c->name, spec_str(c, "version"), title ? " - " : "", title ? title : "");
    if (spec_str(c, "description"))
        printf("\n%s\n", spec_str(c, "description"));
    struct strbuf sb = STRBUF_INIT;
    join_strings(json_object_get(spec, "modes"), &sb);
    printf("\nmodes:        %s\n", strbuf_str(&sb));
    strbuf_reset(&sb);
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(spec, "capabilities"), key, v)
    {
        if (json_is_true(v))
            strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", key);
    }
    printf("capabilities: %s\n", sb.len ? strbuf_str(&sb) : "(none)");
    printf("driver:       %s%s\n", c->driver ? c->driver : "(none)",
           c->driver && !runnable(c) ? " (not compiled into this binary yet)" : "");
    printf("file:         %s%s\n", c->file, c->builtin ? " (built in)" : "");
    printf("sha256:       %s\n", c->sha256);
    strbuf_reset(&sb);
    join_strings(json_object_get(spec, "secrets"), &sb);
    if (sb.len)
        printf("secrets:      %s\n", strbuf_str(&sb));

    const json_t *cs = json_object_get(spec, "configSchema");
    const json_t *required = json_object_get(cs, "required");
    printf("\nconfig:\n  %-26s %-18s %-3s %-16s %s\n", "OPTION", "TYPE", "REQ", "DEFAULT",
           "DESCRIPTION");
    json_object_foreach(json_object_get(cs, "properties"), key, v)
    {
        struct strbuf type = STRBUF_INIT, def = STRBUF_INIT;
        json_t *t = json_object_get(v, "type");
        if (json_is_array(t))
            join_strings(t, &type);
        else
            strbuf_adds(&type, json_is_string(t) ? json_string_value(t) : "any");
        if (json_object_get(v, "default"))
            jv_dump(json_object_get(v, "default"), &def, 0);
        bool req = false;
        size_t i;
        json_t *r;
        json_array_foreach(required, i, r)
        {
            req = req || strcmp(json_string_value(r), key) == 0;
        }
        const char *desc = json_string_value(json_object_get(v, "description"));
        printf("  %-26s %-18s %-3s %-16s %s\n", key, strbuf_str(&type), req ? "yes" : "",
               strbuf_str(&def), desc ? desc : "");
        strbuf_release(&type);
        strbuf_release(&def);
    }
    const json_t *fields = json_object_get(spec, "x-connection-fields");
    if (json_array_size(fields)) {
        strbuf_reset(&sb);
        size_t i;
        json_array_foreach(fields, i, v)
        {
            const char *name = json_is_string(v) ? json_string_value(v)
                                                 : json_string_value(json_object_get(v, "name"));
            const char *policy = json_string_value(json_object_get(v, "override"));
            strbuf_addf(&sb, "%s%s (%s)", i ? ", " : "", name, policy ? policy : "allowed");
        }
        printf("\nconnection fields: %s\n", strbuf_str(&sb));
    }
    size_t nex = json_array_size(json_object_get(spec, "examples"));
    if (nex)
        printf("\nexamples: %zu (osiris components config-example %s --example-index 0..%zu)\n",
               nex, c->name, nex - 1);
    strbuf_release(&sb);
}

static int show_run(struct cli_ctx *ctx, const void *opts, int argc, char **argv)
{
    (void)opts, (void)argc;
    struct registry reg;
    int rc = load(ctx, &reg);
    if (rc)
        return rc;
    const struct component *c = registry_find(&reg, argv[0]);
    if (!c) {
        rc = unknown(ctx, &reg, argv[0]);
    } else if (ctx->json) {
        json_t *o = json_deep_copy(c->doc.root);
        json_object_set_new(o, "origin",
                            json_pack("{s:s, s:b, s:s}", "file", c->file, "builtin", c->builtin,
                                      "sha256", c->sha256));
        json_object_set_new(o, "runnable", json_boolean(runnable(c)));
        cli_print_json(o);
    } else {
        show_text(c);
    }
    registry_release(&reg);
    return rc;
}

const struct cli_command cmd_components_show = {
    .name = "components show",
    .summary = "Show one component: options, defaults, secrets, connection fields, driver",
    .args = "NAME",
    .min_args = 1,
    .max_args = 1,
    .options = no_options,
    .run = show_run,
};

/* ==== validate ==== */

struct validate_opts {
    const char *level;
};

/* The spec file a NAME|PATH argument designates: an existing file, DIR/spec.yaml, or the
 * override directory's NAME/spec.yaml (which may have failed to load). NULL when none. */
static char *spec_path(const struct cli_ctx *ctx, const char *arg)
{
    static const char *const names[] = { "spec.yaml", "spec.yml", "spec.json" };
    char buf[4096];
    if (files_exists(arg) && !files_is_dir(arg))
        return xstrdup(arg);
    for (size_t i = 0; i < 3; i++) {
        if (files_is_dir(arg)) {
            snprintf(buf, sizeof(buf), "%s/%s", arg, names[i]);
            if (files_exists(buf))
                return xstrdup(buf);
        }
        if (ctx->components_dir && !strchr(arg, '/')) {
            snprintf(buf, sizeof(buf), "%s/%s/%s", ctx->components_dir, arg, names[i]);
            if (files_exists(buf))
                return xstrdup(buf);
        }
    }
    return NULL;
}

static json_t *issue_json(const struct spec_issue *is)
{
    json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "category", is->category, "field", is->field,
                          "problem", is->problem, "fix", is->fix);
    if (is->example)
        json_object_set_new(f, "example", json_string(is->example));
    json_t *o = json_pack("{s:s, s:s, s:o, s:s}", "level", is->level, "path", is->pointer,
                          "friendly", f, "technical", is->technical);
    if (is->pos.line) {
        json_object_set_new(o, "line", json_integer(is->pos.line));
        json_object_set_new(o, "col", json_integer(is->pos.col));
    }
    return o;
}

static void issue_text(const struct cli_ctx *ctx, const char *file, const struct spec_issue *is)
{
    if (is->pos.line)
        printf("  %s:%d:%d: ", file, is->pos.line, is->pos.col);
    else
        printf("  %s: ", file);
    printf("%s in %s: %s\n", is->category, is->field, is->problem);
    printf("      fix: %s\n", is->fix);
    if (is->example)
        printf("      example: %s\n", is->example);
    if (ctx->verbose)
        printf("      technical: %s\n", is->technical);
}

static int validate_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct validate_opts *opts = optsp;
    (void)argc;
    int level = speccheck_level(opts->level ? opts->level : "basic");
    struct registry reg;
    int rc = load(ctx, &reg);
    if (rc)
        return rc;

    struct err err = ERR_INIT;
    struct jdoc local = JDOC_INIT;
    const struct jdoc *doc = NULL;
    const char *file = NULL;
    char *path = NULL;
    const struct component *c = registry_find(&reg, argv[0]);
    if (c && !strchr(argv[0], '/')) {
        doc = &c->doc;
        file = c->file;
    } else if ((path = spec_path(ctx, argv[0])) != NULL) {
        file = path;
        if (yamlload_file(&local, path, &err) == 0)
            doc = &local;
    } else if (strchr(argv[0], '/') || strstr(argv[0], ".yaml") || strstr(argv[0], ".json")) {
        rc = cli_failf(ctx, ERR_NOTFOUND, "no spec file at '%s'", argv[0]);
        goto done;
    } else {
        rc = unknown(ctx, &reg, argv[0]);
        goto done;
    }

    struct spec_report rep = SPEC_REPORT_INIT;
    if (doc && speccheck(doc, level, reg.spec_schema, &rep, &err) != 0) {
        rc = cli_fail(ctx, &err, NULL);
        spec_report_release(&rep);
        goto done;
    }
    /* A spec that is not even YAML is invalid like any other: report it the same way. */
    bool valid = doc && rep.len == 0;
    const char *name = doc ? json_string_value(json_object_get(doc->root, "name")) : NULL;
    if (ctx->json) {
        json_t *errors = json_array();
        if (!doc)
            json_array_append_new(errors,
                                  json_pack("{s:s, s:s}", "level", "basic", "technical", err.msg));
        for (size_t i = 0; i < rep.len; i++)
            json_array_append_new(errors, issue_json(&rep.items[i]));
        json_t *o = json_pack("{s:s?, s:s, s:s, s:b, s:o}", "component", name, "file", file,
                              "level", levels[level], "is_valid", valid, "errors", errors);
        if (doc && json_object_get(doc->root, "version"))
            json_object_set(o, "version", json_object_get(doc->root, "version"));
        if (doc && json_object_get(doc->root, "modes"))
            json_object_set(o, "modes", json_object_get(doc->root, "modes"));
        cli_print_json(o);
    } else if (valid) {
        printf("%s: valid at level %s (%s)\n", name ? name : argv[0], levels[level], file);
    } else if (!doc) {
        printf("%s: invalid spec: %s\n", file, err.msg);
    } else {
        printf("%s: invalid at level %s: %zu problem%s\n", name ? name : file, rep.items[0].level,
               rep.len, rep.len == 1 ? "" : "s");
        for (size_t i = 0; i < rep.len; i++)
            issue_text(ctx, file, &rep.items[i]);
    }
    if (!valid)
        fprintf(stderr, "osiris: %s: spec is invalid\n", file);
    rc = valid ? EXIT_OK : EXIT_FAILED;
    spec_report_release(&rep);
done:
    jdoc_release(&local);
    free(path);
    registry_release(&reg);
    return rc;
}

static const struct cli_option validate_options[] = {
    { "level", 0, CLI_STRING, offsetof(struct validate_opts, level), "LEVEL",
      "how thoroughly to check (default basic)", levels, 0, 0 },
    { 0 },
};

const struct cli_command cmd_components_validate = {
    .name = "components validate",
    .summary = "Check a component spec (by name or path) at level basic, enhanced or strict",
    .args = "NAME|PATH",
    .min_args = 1,
    .max_args = 1,
    .options = validate_options,
    .opts_size = sizeof(struct validate_opts),
    .run = validate_run,
};

/* ==== config-example ==== */

struct example_opts {
    long index;
};

static int example_run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct example_opts *opts = optsp;
    (void)argc;
    struct registry reg;
    int rc = load(ctx, &reg);
    if (rc)
        return rc;
    const struct component *c = registry_find(&reg, argv[0]);
    if (!c) {
        rc = unknown(ctx, &reg, argv[0]);
        goto done;
    }
    json_t *examples = json_object_get(c->doc.root, "examples");
    size_t n = json_array_size(examples);
    if ((size_t)opts->index >= n) {
        rc = n ? cli_failf(ctx, ERR_NOTFOUND,
                           "component '%s' has %zu example%s; --example-index must be 0..%zu",
                           c->name, n, n == 1 ? "" : "s", n - 1)
               : cli_failf(ctx, ERR_NOTFOUND, "component '%s' has no examples", c->name);
        goto done;
    }
    json_t *ex = json_array_get(examples, (size_t)opts->index);
    json_t *config = json_object_get(ex, "config");
    if (ctx->json) {
        cli_print_json(json_incref(config));
    } else {
        struct strbuf sb = STRBUF_INIT;
        printf("# %s example %ld of %zu: %s\n", c->name, opts->index + 1, n,
               json_string_value(json_object_get(ex, "title")));
        yamlwrite(config, &sb, 0);
        fwrite(sb.buf, 1, sb.len, stdout);
        strbuf_release(&sb);
    }
done:
    registry_release(&reg);
    return rc;
}

static const struct cli_option example_options[] = {
    { "example-index", 0, CLI_INT, offsetof(struct example_opts, index), "N",
      "which example to print, counting from 0 (default 0)", NULL, 0, 1000 },
    { 0 },
};

const struct cli_command cmd_components_config_example = {
    .name = "components config-example",
    .summary = "Print an example step config of a component as YAML",
    .args = "NAME",
    .min_args = 1,
    .max_args = 1,
    .options = example_options,
    .opts_size = sizeof(struct example_opts),
    .run = example_run,
};
