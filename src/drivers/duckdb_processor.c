/* duckdb.processor: runs the step's SQL over its inputs. Each input appears as a view named
 * df_<sanitized upstream id> (and, when there is exactly one, also as input_df, the name the
 * original's examples use); the result becomes the step's output table. */
#include "driver.h"

#include <ctype.h>
#include <string.h>

static int run(struct driver_ctx *ctx, struct err *err)
{
    const char *query = json_string_value(json_object_get(ctx->config, "query"));
    if (!query || !*query)
        return err_set(err, ERR_INPUT, "'query' is required");
    /* A trailing ';' would end the CREATE TABLE ... AS statement early. */
    size_t n = strlen(query);
    while (n && (isspace((unsigned char)query[n - 1]) || query[n - 1] == ';'))
        n--;
    struct arena *a = ctx->arena;
    int rc = 0;
    size_t made = 0;
    for (size_t i = 0; i < ctx->ninputs && rc == 0; i++, made++) {
        const struct step_input *in = &ctx->inputs[i];
        rc = dataplane_exec(ctx->dp,
                            arena_printf(a, "CREATE OR REPLACE TEMP VIEW %s AS SELECT * FROM %s",
                                         dataplane_ident(a, in->view), in->table),
                            err);
        ctx->rows_in += in->rows;
    }
    if (rc == 0 && ctx->ninputs == 1)
        rc = dataplane_exec(ctx->dp,
                            arena_printf(a,
                                         "CREATE OR REPLACE TEMP VIEW input_df AS SELECT * FROM %s",
                                         ctx->inputs[0].table),
                            err);
    if (rc == 0)
        rc = dataplane_exec(
            ctx->dp, arena_printf(a, "CREATE TABLE %s AS %.*s", ctx->output, (int)n, query), err);
    if (rc == 0)
        rc = dataplane_count(ctx->dp, ctx->output, &ctx->rows_out, err);
    if (rc != 0)
        err_prefix(err, "DuckDB transformation failed: ");
    /* The views belong to this step only: the next step sees its own inputs. */
    for (size_t i = 0; i < made; i++)
        dataplane_exec(
            ctx->dp,
            arena_printf(a, "DROP VIEW IF EXISTS %s", dataplane_ident(a, ctx->inputs[i].view)),
            NULL);
    dataplane_exec(ctx->dp, "DROP VIEW IF EXISTS input_df", NULL);
    return rc;
}

const struct driver driver_duckdb_processor = {
    .name = "duckdb_processor",
    .run = run,
};
