#include "cli.h"

/* PLACEHOLDER until this command lands: replaced by its implementation. */
static int compile_pending(struct cli_ctx *ctx, const void *opts, int argc, char **argv)
{
    (void)opts, (void)argc, (void)argv;
    return cli_failf(ctx, ERR_INTERNAL, "'compile' is not implemented yet");
}

static const struct cli_option compile_options[] = { { 0 } };

const struct cli_command cmd_compile = {
    .name = "compile",
    .summary = "(in progress)",
    .args = "[ARG...]",
    .max_args = 100,
    .options = compile_options,
    .run = compile_pending,
};

