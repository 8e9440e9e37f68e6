/* Run ids (reference osiris-compile.md §5.4), built from the tokens of ids.run_id_format joined
 * with '_' in the configured order:
 *   incremental  run-000001, from a per-pipeline counter file under the index directory, updated
 *                under flock() so concurrent runs never share a number;
 *   ulid         26 Crockford base-32 characters: 48-bit milliseconds, then 80 bits from the
 *                kernel's cryptographic random source, incremented (not redrawn) for further ids
 *                in the same millisecond, so ids from one generator sort in creation order;
 *   iso_ulid     YYYY-MM-DDTHH-MM-SSZ_<ulid> (UTC);
 *   uuidv4       a random RFC 4122 version-4 UUID;
 *   snowflake    (epoch_ms << 22) | (pid % 1024) << 12 | sequence, in decimal. */
#ifndef OSIRIS_RUNID_H
#define OSIRIS_RUNID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define RUNID_MAX 128 /* longest id, NUL included, for any combination of tokens */

struct runid_gen {
    const char *const *formats; /* tokens, borrowed */
    size_t nformats;
    const char *counter_dir;    /* directory for incremental counters (created as needed); borrowed */
    uint64_t last_ms;           /* millisecond of the last ULID */
    unsigned char last_rand[10]; /* its 80 random bits, incremented within one millisecond */
    uint16_t seq;               /* snowflake sequence within last_ms */
};

/* True for a token listed above. */
bool runid_token_known(const char *token);

/* Initialises a generator; formats must be known tokens (an empty list means iso_ulid). */
void runid_init(struct runid_gen *g, const char *const *formats, size_t nformats,
                const char *counter_dir);

/* Writes the next id for pipeline_slug (used by incremental) into out. now_ms is the current
 * time in milliseconds since the epoch (callers pass the real clock; tests a fixed one). */
int runid_next(struct runid_gen *g, const char *pipeline_slug, uint64_t now_ms,
               char out[RUNID_MAX], struct err *err);

#endif
