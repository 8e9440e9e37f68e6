/* filesystem.jsonl_writer: writes its one input table as JSON Lines (one object per row, keys in
 * the table's column order) with DuckDB's JSON writer, through a temporary file renamed into
 * place when complete. Non-finite FLOAT/DOUBLE columns become null, so those lines are valid
 * JSON; NaN or infinity nested in a LIST, STRUCT or MAP is still written as DuckDB writes it
 * (NaN, Infinity), which strict JSON readers refuse (see the component's doc page). */
#include "driver.h"
#include "fsdriver.h"

#include <string.h>

static const char *const compressions[] = { "none", "gzip", "zstd", NULL };

/* SELECT list: every column as it is, except FLOAT/DOUBLE, whose NaN and infinities have no
 * JSON form (DuckDB would write the invalid tokens NaN and Infinity). */
static int select_sql(struct driver_ctx *ctx, const char *table, const char **out, struct err *err)
{
    struct arena *a = ctx->arena;
    struct dp_columns dc;
    if (dataplane_describe(ctx->dp, table, a, &dc, err) != 0)
        return -1;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "SELECT ");
    for (size_t i = 0; i < dc.n; i++) {
        const char *id = dataplane_ident(a, dc.names[i]);
        if (strcmp(dc.types[i], "DOUBLE") == 0 || strcmp(dc.types[i], "FLOAT") == 0)
            strbuf_addf(&sb, "%sCASE WHEN isfinite(%s) THEN %s END AS %s", i ? ", " : "", id, id,
                        id);
        else
            strbuf_addf(&sb, "%s%s", i ? ", " : "", id);
    }
    strbuf_addf(&sb, " FROM %s", table);
    *out = arena_take(a, &sb);
    return 0;
}

static int run(struct driver_ctx *ctx, struct err *err)
{
    struct fsdriver_target t;
    size_t comp;
    if (fsdriver_target(ctx, &t, err) != 0 ||
        fsdriver_opt_enum(ctx->config, "compression", compressions, 0, &comp, err) != 0)
        return -1;
    const char *select;
    if (select_sql(ctx, t.in->table, &select, err) != 0 ||
        fsdriver_copy_to(
            ctx, select,
            arena_printf(ctx->arena, "FORMAT json, COMPRESSION '%s'", compressions[comp]), t.path,
            t.create_dirs, err) != 0)
        return fsdriver_write_failed(err, "JSON Lines", t.path);
    return 0;
}

const struct driver driver_jsonl_writer = {
    .name = "jsonl_writer",
    .run = run,
};
