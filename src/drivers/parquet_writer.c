/* filesystem.parquet_writer: writes its one input table to a Parquet file with DuckDB's Parquet
 * writer (columns, types and order as in the table), through a temporary file renamed into
 * place when complete. */
#include "driver.h"
#include "fsdriver.h"

static const char *const compressions[] = { "snappy", "zstd", "gzip", "uncompressed", NULL };

static int run(struct driver_ctx *ctx, struct err *err)
{
    struct fsdriver_target t;
    size_t comp;
    int64_t row_group_size;
    if (fsdriver_target(ctx, &t, err) != 0 ||
        fsdriver_opt_enum(ctx->config, "compression", compressions, 0, &comp, err) != 0 ||
        fsdriver_opt_int(ctx->config, "row_group_size", 122880, 1, &row_group_size, err) != 0)
        return -1;
    struct arena *a = ctx->arena;
    const char *options = arena_printf(a, "FORMAT parquet, COMPRESSION '%s', ROW_GROUP_SIZE %lld",
                                       compressions[comp], (long long)row_group_size);
    if (fsdriver_copy_to(ctx, arena_printf(a, "SELECT * FROM %s", t.in->table), options, t.path,
                         t.create_dirs, err) != 0)
        return fsdriver_write_failed(err, "Parquet", t.path);
    return 0;
}

const struct driver driver_parquet_writer = {
    .name = "parquet_writer",
    .run = run,
};
