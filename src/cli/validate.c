#include "cli.h"

/* PLACEHOLDER until this command lands: replaced by its implementation. */
static int validate_pending(struct cli_ctx *ctx, const void *opts, int argc, char **argv)
{
    (void)opts, (void)argc, (void)argv;
    return cli_failf(ctx, ERR_INTERNAL, "'validate' is not implemented yet");
}

static const struct cli_option validate_options[] = { { 0 } };

const struct cli_command cmd_validate = {
    .name = "validate",
    .summary = "(in progress)",
    .args = "[ARG...]",
    .max_args = 100,
    .options = validate_options,
    .run = validate_pending,
};

