#include "cli.h"

/* PLACEHOLDER until this command lands: replaced by its implementation. */
static int oml_validate_pending(struct cli_ctx *ctx, const void *opts, int argc, char **argv)
{
    (void)opts, (void)argc, (void)argv;
    return cli_failf(ctx, ERR_INTERNAL, "'oml validate' is not implemented yet");
}

static const struct cli_option oml_validate_options[] = { { 0 } };

const struct cli_command cmd_oml_validate = {
    .name = "oml validate",
    .summary = "(in progress)",
    .args = "[ARG...]",
    .max_args = 100,
    .options = oml_validate_options,
    .run = oml_validate_pending,
};

