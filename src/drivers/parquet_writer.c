/* filesystem.parquet_writer: writes its one input table to a Parquet file with DuckDB's Parquet
 * writer (columns, types and order as in the table), through a temporary file renamed into
 * place when complete. */
#include "driver.h"
#include "fsdriver.h"

static const char *const compressions[] = { "snappy", "zstd", "gzip", "uncompressed", NULL };

static int run(struct driver_ctx *ctx, struct err *err)
{
    const struct step_input *in;
    const char *path;
    bool create_dirs;
    size_t comp;
    int64_t row_group_size;
    if (fsdriver_single_input(ctx, &in, err) != 0 ||
        fsdriver_opt_string(ctx->config, "path", NULL, &path, err) != 0 ||
        fsdriver_opt_bool(ctx->config, "create_dirs", true, &create_dirs, err) != 0 ||
        fsdriver_opt_enum(ctx->config, "compression", compressions, 0, &comp, err) != 0 ||
        fsdriver_opt_int(ctx->config, "row_group_size", 122880, 1, &row_group_size, err) != 0)
        return -1;
    if (!path || !*path)
        return err_set(err, ERR_INPUT, "'path' is required");
    struct arena *a = ctx->arena;
    const char *target = fsdriver_resolve(a, path, ctx->base_path);
    const char *options = arena_printf(a, "FORMAT parquet, COMPRESSION '%s', ROW_GROUP_SIZE %lld",
                                       compressions[comp], (long long)row_group_size);
    if (fsdriver_copy_to(ctx, arena_printf(a, "SELECT * FROM %s", in->table), options, target,
                         create_dirs, err) != 0) {
        err_prefix(err, "Parquet write to '%s' failed: ", target);
        return -1;
    }
    return 0;
}

const struct driver driver_parquet_writer = {
    .name = "parquet_writer",
    .run = run,
};
