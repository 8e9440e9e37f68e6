#include "cli.h"

/* PLACEHOLDER until this command lands: replaced by its implementation. */
static int connections_list_pending(struct cli_ctx *ctx, const void *opts, int argc, char **argv)
{
    (void)opts, (void)argc, (void)argv;
    return cli_failf(ctx, ERR_INTERNAL, "'connections list' is not implemented yet");
}

static const struct cli_option connections_list_options[] = { { 0 } };

const struct cli_command cmd_connections_list = {
    .name = "connections list",
    .summary = "(in progress)",
    .args = "[ARG...]",
    .max_args = 100,
    .options = connections_list_options,
    .run = connections_list_pending,
};

/* PLACEHOLDER until this command lands: replaced by its implementation. */
static int connections_doctor_pending(struct cli_ctx *ctx, const void *opts, int argc, char **argv)
{
    (void)opts, (void)argc, (void)argv;
    return cli_failf(ctx, ERR_INTERNAL, "'connections doctor' is not implemented yet");
}

static const struct cli_option connections_doctor_options[] = { { 0 } };

const struct cli_command cmd_connections_doctor = {
    .name = "connections doctor",
    .summary = "(in progress)",
    .args = "[ARG...]",
    .max_args = 100,
    .options = connections_doctor_options,
    .run = connections_doctor_pending,
};

