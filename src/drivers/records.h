/* JSON records from an API (graphql, posthog) into a data-plane table, page by page as they
 * arrive, so memory holds one page, not the result.
 *
 * Each record is flattened (when asked) and appended as JSON text to a staging table of the
 * run's DuckDB; when the last page is in, records_finish() gives the step's table one column
 * per key, in order of first appearance, typed over all records (merged as they are added):
 * BIGINT, DOUBLE (also for integers mixed with fractions), BOOLEAN, VARCHAR; a key whose
 * values have other different JSON types across records, or hold lists or objects, is a JSON
 * column; a key that is null everywhere is
 * VARCHAR. Typing over all records means a value seen on page 9 can never fail a type that
 * page 1 chose.
 *
 * Flattening: an object member whose value is an object becomes members parent.child
 * (recursively: a.b.c); lists stay lists (JSON columns). A member that is null in every record
 * where others flattened it (vendor: null next to vendor.name) adds no column of its own. Without
 * flattening, nested objects stay objects (JSON columns). A record that is not an object becomes
 * {"value": record}. Where a flattened name repeats a key the record already has, the first one
 * stays. */
#ifndef OSIRIS_RECORDS_H
#define OSIRIS_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "engine/dataplane.h"
#include "err.h"
#include "json.h"

struct records; /* in the arena given to records_open() */

/* Starts collecting records for table (a quoted identifier: driver_ctx.output). */
struct records *records_open(struct dataplane *dp, struct arena *a, const char *table, bool flatten,
                             struct err *err);
int records_add(struct records *r, const json_t *record, struct err *err);
/* Moves the records added so far into the staging table (call after each page). */
int records_flush(struct records *r, struct err *err);
int64_t records_count(const struct records *r);
/* Creates the table from the records (see above) and drops the staging table. With no record
 * at all the table has no rows and one JSON column, `record`. */
int records_finish(struct records *r, struct err *err);
/* Drops the staging table (after a failure); NULL is fine. */
void records_abort(struct records *r);

#endif
