/* Help text generated from the option tables, so help, parser and docs cannot disagree. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void option_synopsis(const struct cli_option *o, struct strbuf *out)
{
    strbuf_adds(out, " [");
    if (o->short_name)
        strbuf_addf(out, "-%c|", o->short_name);
    strbuf_addf(out, "--%s", o->name);
    if (o->kind != CLI_FLAG)
        strbuf_addf(out, " %s", o->arg ? o->arg : "VALUE");
    strbuf_addch(out, ']');
    if (o->kind == CLI_LIST)
        strbuf_adds(out, "...");
}

void cli_synopsis(const struct cli_command *cmd, struct strbuf *out)
{
    strbuf_addf(out, "osiris %s", cmd->name);
    for (const struct cli_option *o = cmd->options; o && o->name; o++)
        option_synopsis(o, out);
    strbuf_adds(out, " [--json]");
    if (cmd->args)
        strbuf_addf(out, " %s", cmd->args);
}

static json_t *option_json(const struct cli_option *o)
{
    static const char *const kinds[] = { "flag", "string", "integer", "list" };
    json_t *j = json_object();
    json_object_set_new(j, "name", json_sprintf("--%s", o->name));
    json_object_set_new(j, "short",
                        o->short_name ? json_sprintf("-%c", o->short_name) : json_null());
    json_object_set_new(j, "type", json_string(kinds[o->kind]));
    if (o->arg)
        json_object_set_new(j, "arg", json_string(o->arg));
    json_object_set_new(j, "help", json_string(o->help));
    if (o->choices) {
        json_t *c = json_array();
        for (const char *const *p = o->choices; *p; p++)
            json_array_append_new(c, json_string(*p));
        json_object_set_new(j, "choices", c);
    }
    if (o->kind == CLI_INT) {
        json_object_set_new(j, "min", json_integer(o->min));
        json_object_set_new(j, "max", json_integer(o->max));
    }
    return j;
}

static void option_text(const struct cli_option *o)
{
    char left[96];
    char sh[8] = "    ";
    if (o->short_name)
        snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
    snprintf(left, sizeof(left), "%s--%s%s%s", sh, o->name, o->kind != CLI_FLAG ? " " : "",
             o->kind != CLI_FLAG ? (o->arg ? o->arg : "VALUE") : "");
    /* A long option gets the description on its own line rather than a ragged column. */
    if (strlen(left) > 28)
        printf("  %s\n  %-28s %s", left, "", o->help);
    else
        printf("  %-28s %s", left, o->help);
    if (o->choices) {
        printf(" (");
        for (const char *const *p = o->choices; *p; p++)
            printf("%s%s", p == o->choices ? "" : ", ", *p);
        printf(")");
    }
    printf("\n");
}

void cli_help(const struct cli_ctx *ctx, const struct cli_command *cmd)
{
    struct strbuf syn = STRBUF_INIT;
    cli_synopsis(cmd, &syn);
    if (ctx->json) {
        json_t *opts = json_array();
        for (const struct cli_option *o = cmd->options; o && o->name; o++)
            json_array_append_new(opts, option_json(o));
        for (const struct cli_option *o = cli_global_options; o->name; o++) {
            json_t *j = option_json(o);
            json_object_set_new(j, "global", json_true());
            json_array_append_new(opts, j);
        }
        cli_print_json(json_pack("{s:s, s:s, s:s, s:o}", "command", cmd->name, "synopsis",
                                 strbuf_str(&syn), "summary", cmd->summary, "options", opts));
    } else {
        printf("usage: %s\n\n%s\n\n", strbuf_str(&syn), cmd->summary);
        if (cmd->options && cmd->options->name) {
            printf("options:\n");
            for (const struct cli_option *o = cmd->options; o->name; o++)
                option_text(o);
            printf("\n");
        }
        printf("global options (anywhere on the line):\n");
        for (const struct cli_option *o = cli_global_options; o->name; o++)
            option_text(o);
        printf("\nSee docs/commands/%.*s.md for details.\n", (int)strcspn(cmd->name, " "),
               cmd->name);
    }
    strbuf_release(&syn);
}
