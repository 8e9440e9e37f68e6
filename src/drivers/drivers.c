/* The table of compiled-in drivers: each driver file defines one entry. */
#include "driver.h"

#include <stddef.h>
#include <string.h>

static const struct driver *const drivers[] = {
    &driver_duckdb_processor,  &driver_csv_extractor,      &driver_csv_writer,
    &driver_parquet_writer,    &driver_jsonl_writer,       &driver_mysql_extractor,
    &driver_mysql_writer,      &driver_postgres_extractor, &driver_postgres_writer,
    &driver_graphql_extractor, &driver_posthog_extractor,  NULL,
};

const struct driver *driver_at(size_t i)
{
    return i < sizeof(drivers) / sizeof(drivers[0]) ? drivers[i] : NULL;
}

const struct driver *driver_find(const char *name)
{
    for (size_t i = 0; name && drivers[i]; i++)
        if (strcmp(drivers[i]->name, name) == 0)
            return drivers[i];
    return NULL;
}

const json_t *driver_conn_field(const json_t *config, const json_t *connection, const char *key,
                                bool step_wins)
{
    const json_t *first = step_wins ? config : connection;
    const json_t *second = step_wins ? connection : config;
    const json_t *v = json_object_get(first, key);
    if (!v || json_is_null(v))
        v = json_object_get(second, key);
    return json_is_null(v) ? NULL : v;
}
