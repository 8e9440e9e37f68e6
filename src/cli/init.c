/* osiris init: scaffolds a project (reference osiris-compile.md §1.3): the directories of the
 * filesystem contract, osiris.yaml, the .gitignore block, .env.example and
 * osiris_connections.example.yaml. Existing files are never clobbered silently: osiris.yaml is
 * replaced only with --force (the old one is kept as osiris.yaml.bak), the examples are written
 * only when missing, and .gitignore is appended to only when it lacks the contract marker. */
#include "cli.h"
#include "embedded.h"
#include "files.h"
#include "xalloc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct init_opts {
    bool force;
};

static const char *const directories[] = {
    "pipelines", "build", "aiop", "run_logs", ".osiris/sessions", ".osiris/cache", ".osiris/index",
};

#define GITIGNORE_MARKER "# Osiris Filesystem Contract v1"

static const struct embedded_file *template(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "src/cli/templates/%s", name);
    return embedded_find(path);
}

/* osiris.yaml with base_path filled in, double-quoted so any path reads back verbatim. */
static void render_config(const char *base, struct strbuf *out)
{
    const struct embedded_file *t = template("osiris.yaml");
    const char *mark = strstr((const char *)t->data, "{{base_path}}");
    strbuf_add(out, t->data, (size_t)(mark - (const char *)t->data));
    jv_quote(out, base, strlen(base));
    strbuf_adds(out, mark + strlen("{{base_path}}"));
}

static int write_file(const char *dir, const char *name, const struct strbuf *content,
                      struct err *err)
{
    char *path = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    int rc = files_write_atomic(path, content->buf, content->len, 0644, err);
    free(path);
    return rc;
}

/* Writes an example file only when it does not exist; returns "created" or "exists". */
static const char *write_example(const char *dir, const char *name, const char *tmpl,
                                 struct err *err)
{
    char *path = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    bool exists = files_exists(path);
    free(path);
    if (exists)
        return "exists";
    const struct embedded_file *t = template(tmpl);
    struct strbuf sb = STRBUF_INIT;
    strbuf_add(&sb, t->data, t->len);
    int rc = write_file(dir, name, &sb, err);
    strbuf_release(&sb);
    return rc == 0 ? "created" : NULL;
}

/* Creates .gitignore, or appends the contract block when its marker line is missing. */
static const char *update_gitignore(const char *dir, struct err *err)
{
    char *path = xmalloc(strlen(dir) + 16);
    sprintf(path, "%s/.gitignore", dir);
    struct strbuf sb = STRBUF_INIT;
    const char *result = "created";
    if (files_exists(path)) {
        if (files_read(path, &sb, err) != 0) {
            result = NULL;
            goto done;
        }
        if (strstr(strbuf_str(&sb), GITIGNORE_MARKER)) {
            result = "unchanged";
            goto done;
        }
        result = "appended";
        if (sb.len && sb.buf[sb.len - 1] != '\n')
            strbuf_addch(&sb, '\n');
        if (sb.len)
            strbuf_addch(&sb, '\n');
    }
    const struct embedded_file *t = template("gitignore");
    strbuf_add(&sb, t->data, t->len);
    if (files_write_atomic(path, sb.buf, sb.len, 0644, err) != 0)
        result = NULL;
done:
    strbuf_release(&sb);
    free(path);
    return result;
}

static int run(struct cli_ctx *ctx, const void *optsp, int argc, char **argv)
{
    const struct init_opts *opts = optsp;
    struct err err = ERR_INIT;
    const char *target = argc > 0 ? argv[0] : ".";
    if (files_mkdirs(target, NULL, &err) != 0)
        return cli_fail(ctx, &err, NULL);
    char base[PATH_MAX];
    if (!realpath(target, base)) {
        err_errno(&err, ERR_IO, "cannot resolve '%s'", target);
        return cli_fail(ctx, &err, NULL);
    }

    char cfg_path[PATH_MAX + 32];
    snprintf(cfg_path, sizeof(cfg_path), "%s/osiris.yaml", base);
    bool had_config = files_exists(cfg_path);
    if (had_config && !opts->force)
        return cli_failf(ctx, ERR_CONFLICT, "%s already exists; use --force to overwrite it",
                         cfg_path);

    json_t *created_dirs = json_array();
    json_t *result = NULL;
    for (size_t i = 0; i < sizeof(directories) / sizeof(*directories); i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/%s", base, directories[i]);
        bool created;
        if (files_mkdirs(path, &created, &err) != 0)
            goto fail;
        if (created)
            json_array_append_new(created_dirs, json_string(directories[i]));
    }

    struct strbuf sb = STRBUF_INIT;
    if (had_config) {
        if (files_read(cfg_path, &sb, &err) != 0 || write_file(base, "osiris.yaml.bak", &sb, &err))
            goto fail_sb;
        strbuf_reset(&sb);
    }
    render_config(base, &sb);
    if (write_file(base, "osiris.yaml", &sb, &err) != 0)
        goto fail_sb;
    strbuf_release(&sb);

    const char *gitignore = update_gitignore(base, &err);
    const char *env = gitignore ? write_example(base, ".env.example", "env.example", &err) : NULL;
    const char *conns = env ? write_example(base, "osiris_connections.example.yaml",
                                            "osiris_connections.example.yaml", &err)
                            : NULL;
    if (!conns)
        goto fail;

    const char *config_state = had_config ? "overwritten" : "created";
    json_t *next =
        json_pack("[s,s,s]", "cp osiris_connections.example.yaml osiris_connections.yaml",
                  "cp .env.example .env   # then fill in the secrets", "osiris components list");
    if (ctx->json) {
        result = json_pack("{s:s, s:s, s:s, s:{s:O, s:s, s:s, s:s, s:s}, s:O}", "status", "success",
                           "message", "Osiris project initialised", "project_path", base, "created",
                           "directories", created_dirs, "osiris_yaml", config_state, "gitignore",
                           gitignore, "env_example", env, "connections_example", conns,
                           "next_steps", next);
        cli_print_json(result);
    } else {
        printf("Initialised an osiris project in %s\n", base);
        size_t i;
        json_t *d;
        json_array_foreach(created_dirs, i, d)
        {
            printf("  created   %s/\n", json_string_value(d));
        }
        printf("  %-9s osiris.yaml%s\n", config_state,
               had_config ? " (previous file kept as osiris.yaml.bak)" : "");
        printf("  %-9s .gitignore\n", gitignore);
        printf("  %-9s .env.example\n", env);
        printf("  %-9s osiris_connections.example.yaml\n", conns);
        printf("\nnext steps:\n");
        json_t *s;
        json_array_foreach(next, i, s)
        {
            printf("  %s\n", json_string_value(s));
        }
    }
    json_decref(next);
    json_decref(created_dirs);
    return EXIT_OK;

fail_sb:
    strbuf_release(&sb);
fail:
    json_decref(created_dirs);
    return cli_fail(ctx, &err, NULL);
}

static const struct cli_option options[] = {
    { "force", 'f', CLI_FLAG, offsetof(struct init_opts, force), NULL,
      "overwrite an existing osiris.yaml (the old one is kept as osiris.yaml.bak)", NULL, 0, 0 },
    { 0 },
};

const struct cli_command cmd_init = {
    .name = "init",
    .summary = "Create a project scaffold: directories, osiris.yaml, .gitignore and examples",
    .args = "[PATH]",
    .min_args = 0,
    .max_args = 1,
    .options = options,
    .opts_size = sizeof(struct init_opts),
    .run = run,
};
