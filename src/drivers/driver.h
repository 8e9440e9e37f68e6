/* Drivers: the C code that runs a component (its spec's x-runtime.driver names one).
 *
 * The engine calls a driver once per step with a context: the step's config (the cfg file
 * without `component` and `connection`, plus `resolved_connection` when the step has one), its
 * inputs as data-plane tables, and the name of the table it must create when it produces data.
 * A driver moves data only through the data plane (SQL and streaming cursors), reports the rows
 * it consumed and produced in rows_in/rows_out, and may add events and metrics through the
 * session. The engine owns everything in the context; a driver allocates only from ctx->arena. */
#ifndef OSIRIS_DRIVER_H
#define OSIRIS_DRIVER_H

/* Elements of an array (the drivers' option and type tables). */
#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "engine/dataplane.h"
#include "engine/session.h"
#include "err.h"
#include "json.h"

struct step_input {
    const char *step_id; /* the upstream step */
    const char *table;   /* its output table in the data plane (an SQL identifier, quoted form) */
    const char *view;    /* the name the step sees it under: df_<sanitized id> (unquoted) */
    int64_t rows;        /* rows in the table */
};

struct driver_ctx {
    const char *step_id;             /* borrowed */
    const char *component;           /* e.g. "filesystem.csv_writer" */
    const char *mode;                /* component mode: "extract", "transform" or "write" */
    json_t *config;                  /* borrowed; see above */
    const json_t *connection;        /* the resolved connection, or NULL */
    struct dataplane *dp;            /* the run's database */
    const struct step_input *inputs; /* in `needs` order */
    size_t ninputs;
    const char *output;        /* quoted table name to create, or NULL for writers */
    const char *artifacts_dir; /* absolute; exists */
    const char *base_path;     /* project root; relative paths resolve against it */
    /* Incremental state (runner.c, "State"): the step's state as the last successful run left
     * it, a JSON file that may not exist. A driver that keeps state reads it from here and
     * writes the new state to <artifacts_dir>/state.json; the runner moves that into the store
     * only when the whole run succeeds, so a failed run is fetched again in full. */
    const char *state_path;
    struct session *session; /* events, metrics and log lines */
    struct arena *arena;     /* freed after the step */
    int64_t rows_in;         /* set by the driver: rows consumed */
    int64_t rows_out;        /* set by the driver: rows produced or written */
    int64_t bytes_written;   /* set by writers that write files */
};

struct driver {
    const char *name; /* x-runtime.driver, e.g. "csv_writer" */
    /* Runs the step; on failure err says why (the engine adds the step id). */
    int (*run)(struct driver_ctx *ctx, struct err *err);
};

/* A field that a step's config and its connection may both give (the spec's
 * x-connection-fields): with step_wins (override allowed) the step's value, else the
 * connection's; the other one when the first is absent or null. NULL when neither has it.
 * Either object may be NULL. Borrowed. */
const json_t *driver_conn_field(const json_t *config, const json_t *connection, const char *key,
                                bool step_wins);

/* The compiled-in driver of that name, or NULL. Static data. */
const struct driver *driver_find(const char *name);
/* The i-th compiled-in driver, NULL past the last. Static data. */
const struct driver *driver_at(size_t i);

/* Each driver file defines one of these; drivers.c lists them. */
extern const struct driver driver_duckdb_processor;
extern const struct driver driver_csv_extractor;
extern const struct driver driver_csv_writer;
extern const struct driver driver_parquet_writer;
extern const struct driver driver_jsonl_writer;
extern const struct driver driver_mysql_extractor;
extern const struct driver driver_mysql_writer;
extern const struct driver driver_postgres_extractor;
extern const struct driver driver_postgres_writer;
extern const struct driver driver_graphql_extractor;
extern const struct driver driver_posthog_extractor;

#endif
