/* osiris: global options, the command table and the mapping from errors to exit codes.
 * Global options may appear anywhere on the line; the first one to three words name the command
 * ("components list", "logs aiop show"). */
#include "cli/cli.h"
#include "suggest.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cli_option cli_global_options[] = {
    { "json", 0, CLI_FLAG, offsetof(struct cli_ctx, json), NULL, "print results as JSON on stdout",
      NULL, 0, 0 },
    { "verbose", 'v', CLI_FLAG, offsetof(struct cli_ctx, verbose), NULL,
      "more detail (technical error text, debug logs)", NULL, 0, 0 },
    { "help", 'h', CLI_FLAG, offsetof(struct cli_ctx, help), NULL, "show help for the command",
      NULL, 0, 0 },
    { "version", 0, CLI_FLAG, offsetof(struct cli_ctx, version), NULL, "print the version and exit",
      NULL, 0, 0 },
    { "components-dir", 0, CLI_STRING, offsetof(struct cli_ctx, components_dir), "DIR",
      "add or override component specs from DIR/<name>/spec.yaml (default $OSIRIS_COMPONENTS_DIR)",
      NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, 0, 0 },
};

/* Every command, in the order the help lists them. */
static const struct cli_command *const commands[] = {
    &cmd_init,
    &cmd_validate,
    &cmd_oml_validate,
    &cmd_compile,
    &cmd_run,
    &cmd_connections_list,
    &cmd_connections_doctor,
    &cmd_components_list,
    &cmd_components_show,
    &cmd_components_validate,
    &cmd_components_config_example,
    &cmd_discovery_run,
    &cmd_logs_list,
    &cmd_logs_show,
    &cmd_logs_last,
    &cmd_logs_gc,
    &cmd_logs_bundle,
    &cmd_logs_html,
    &cmd_logs_aiop_list,
    &cmd_logs_aiop_show,
    &cmd_logs_aiop_export,
    &cmd_maintenance_clean,
    &cmd_runs_list,
    &cmd_version,
    &cmd_worker,
};
#define NCOMMANDS (sizeof(commands) / sizeof(*commands))

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

/* True when c is listed under group ("components"); every command is under the NULL group. */
static bool in_group(const struct cli_command *c, const char *group)
{
    size_t n = group ? strlen(group) : 0;
    return !group || (strncmp(c->name, group, n) == 0 && c->name[n] == ' ');
}

/* True when some command is "<word> <subcommand>". */
static bool is_group(const char *word)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (in_group(commands[i], word))
            return true;
    return false;
}

static json_t *command_names(const char *group)
{
    json_t *a = json_array();
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!commands[i]->hidden && in_group(commands[i], group))
            json_array_append_new(a, json_string(commands[i]->name));
    return a;
}

/* The list of commands (of one group, or all), as text or JSON. */
static void print_overview(const struct cli_ctx *ctx, const char *group, FILE *out)
{
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < NCOMMANDS; i++) {
            const struct cli_command *c = commands[i];
            if (c->hidden || !in_group(c, group))
                continue;
            json_array_append_new(
                list, json_pack("{s:s, s:s}", "command", c->name, "summary", c->summary));
        }
        cli_print_json(json_pack("{s:s, s:o}", "usage",
                                 group ? "osiris [global options] GROUP COMMAND [options]"
                                       : "osiris [global options] COMMAND [options]",
                                 "commands", list));
        return;
    }
    fprintf(out, "usage: osiris [--json] [-v] [--components-dir DIR] %s%s<command> [options]\n\n",
            group ? group : "", group ? " " : "");
    fprintf(out,
            "osiris %s: compile declarative YAML pipelines into deterministic manifests and "
            "run them.\n\ncommands:\n",
            OSIRIS_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct cli_command *c = commands[i];
        if (c->hidden || !in_group(c, group))
            continue;
        fprintf(out, "  %-28s %s\n", c->name, c->summary);
    }
    fprintf(out, "\n'osiris <command> --help' describes a command; docs/commands/ has the "
                 "manual.\n");
}

/* "unknown command" with a suggestion taken from the command words one level down (top-level
 * words such as "components" when group is NULL, else the group's subcommands). */
static int unknown_command(struct cli_ctx *ctx, const char *word, const char *group)
{
    const char *cand[NCOMMANDS];
    char buf[NCOMMANDS][64];
    size_t n = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const char *name = commands[i]->name;
        if (commands[i]->hidden || !in_group(commands[i], group))
            continue;
        const char *w = group ? name + strlen(group) + 1 : name;
        snprintf(buf[n], sizeof(buf[n]), "%.*s", (int)strcspn(w, " "), w);
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = strcmp(cand[k], buf[n]) == 0;
        if (!dup) {
            cand[n] = buf[n];
            n++;
        }
    }
    int best = suggest_closest(word, cand, n);
    const char *sp = group ? " " : "";
    struct err err = ERR_INIT;
    if (best >= 0)
        err_set(&err, ERR_USAGE, "unknown %s%scommand '%s'; did you mean '%s'?", group ? group : "",
                sp, word, cand[best]);
    else
        err_set(&err, ERR_USAGE, "unknown %s%scommand '%s' (see 'osiris %s%s--help')",
                group ? group : "", sp, word, group ? group : "", sp);
    return cli_fail(ctx, &err, json_pack("{s:o}", "available_commands", command_names(group)));
}

int main(int argc, char **argv)
{
    struct cli_ctx ctx = { 0 };
    struct err err = ERR_INIT;
    jv_init();
    if (cli_parse(cli_global_options, &ctx, &argc, argv, true, &err) != 0)
        return cli_fail(&ctx, &err, NULL);
    if (!ctx.components_dir) {
        const char *env = getenv("OSIRIS_COMPONENTS_DIR");
        if (env && *env)
            ctx.components_dir = env;
    }
    if (ctx.version) {
        if (ctx.json)
            cli_print_json(json_pack("{s:s}", "version", OSIRIS_VERSION));
        else
            printf("osiris %s\n", OSIRIS_VERSION);
        return EXIT_OK;
    }
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2) /* an option before any command word */
            return cli_failf(&ctx, ERR_USAGE, "unknown option '%s' (see 'osiris --help')", argv[1]);
        if (ctx.help) {
            print_overview(&ctx, NULL, stdout);
            return EXIT_OK;
        }
        print_overview(&ctx, NULL, stderr);
        if (ctx.json)
            cli_print_json(json_pack("{s:s, s:o}", "error", "no command given",
                                     "available_commands", command_names(NULL)));
        return EXIT_INVALID;
    }

    /* The longest run of words that names a command ("logs aiop list" before "logs"), going on
     * while the words so far name a group. */
    const struct cli_command *cmd = NULL;
    int words = 0, w;
    char name[192] = "", group[192] = "";
    for (w = 1; w <= 3 && w < argc && argv[w][0] != '-'; w++) {
        size_t len = strlen(name);
        snprintf(name + len, sizeof(name) - len, "%s%s", w > 1 ? " " : "", argv[w]);
        if (find_command(name)) {
            cmd = find_command(name);
            words = w;
        }
        if (!is_group(name))
            break;
        snprintf(group, sizeof(group), "%s", name);
    }
    if (!cmd) {
        if (w < argc && argv[w][0] != '-' && w <= 3)
            return unknown_command(&ctx, argv[w], *group ? group : NULL);
        /* "osiris components" alone: the group's command list. */
        print_overview(&ctx, group, ctx.help ? stdout : stderr);
        return ctx.help ? EXIT_OK : EXIT_INVALID;
    }
    ctx.cmd = cmd;
    if (ctx.help) {
        cli_help(&ctx, cmd);
        return EXIT_OK;
    }

    int nargs = argc - words;
    char **args = argv + words; /* args[0] is the last command word, as cli_parse expects */
    void *opts = xcalloc(1, cmd->opts_size ? cmd->opts_size : 1);
    int rc;
    if (cli_parse(cmd->options, opts, &nargs, args, false, &err) != 0) {
        err_prefix(&err, "%s: ", cmd->name);
        size_t len = strlen(err.msg);
        snprintf(err.msg + len, sizeof(err.msg) - len, " (see 'osiris %s --help')", cmd->name);
        rc = cli_fail(&ctx, &err, NULL);
    } else if (nargs - 1 < cmd->min_args || nargs - 1 > cmd->max_args) {
        struct strbuf syn = STRBUF_INIT;
        cli_synopsis(cmd, &syn);
        rc = cli_failf(&ctx, ERR_USAGE, "%s: %s (usage: %s)", cmd->name,
                       nargs - 1 < cmd->min_args ? "missing argument" : "too many arguments",
                       strbuf_str(&syn));
        strbuf_release(&syn);
    } else {
        rc = cmd->run(&ctx, opts, nargs - 1, args + 1);
    }
    free(opts);
    return rc;
}
