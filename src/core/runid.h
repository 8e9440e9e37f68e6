/* Run ids (reference osiris-compile.md §5.4), built from the tokens of ids.run_id_format joined
 * with '_' in the configured order:
 *   incremental  run-000001, from the counter file <counter_dir>/<pipeline_slug> (the last value
 *                as decimal text), updated under flock() so concurrent runs never share a number;
 *                the slug must be a plain file name (no '/', no leading '.');
 *   ulid         26 Crockford base-32 characters: 48-bit milliseconds, then 80 bits from the
 *                kernel's cryptographic random source, incremented (not redrawn) for further ids
 *                in the same millisecond, so ids from one generator sort in creation order;
 *   iso_ulid     YYYY-MM-DDTHH-MM-SSZ_<ulid> (UTC, the same instant as the ULID's time);
 *   uuidv4       a random RFC 4122 version-4 UUID (lower-case hex);
 *   snowflake    (epoch_ms << 22) | (pid % 1024) << 12 | sequence, in decimal; the sequence
 *                counts this generator's snowflakes within the millisecond from 0.
 * The generator's clock never goes back: a now_ms earlier than the last one is taken as the last
 * one, so ordering survives a clock step. */
#ifndef OSIRIS_RUNID_H
#define OSIRIS_RUNID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Longest id, NUL included, for any list of distinct tokens (all five take 158 with a 20-digit
 * counter). A list repeating tokens may need more; runid_next() then fails (ERR_INPUT). */
#define RUNID_MAX 192

struct runid_gen {
    const char *const *formats; /* tokens, borrowed */
    size_t nformats;
    const char *counter_dir; /* directory for incremental counters (created as needed); borrowed */
    uint64_t last_ms;        /* the generator's clock: the latest millisecond used */
    unsigned char last_rand[10]; /* 80 random bits of the last ULID, incremented within last_ms */
    uint16_t seq;                /* next snowflake sequence number within last_ms */
};

/* True for a token listed above. */
bool runid_token_known(const char *token);

/* Initialises a generator; formats should be known tokens (check them with runid_token_known()
 * when reading the configuration; runid_next() refuses unknown ones). An empty list means
 * iso_ulid. formats and counter_dir are borrowed and must outlive the generator. */
void runid_init(struct runid_gen *g, const char *const *formats, size_t nformats,
                const char *counter_dir);

/* Writes the next id for pipeline_slug (used by incremental only; may be NULL otherwise) into
 * out. now_ms is the current time in milliseconds since the epoch (callers pass the real clock;
 * tests a fixed one). Errors: ERR_INPUT for an unknown token, a bad slug, a counter file that
 * does not hold a number or an id longer than RUNID_MAX; ERR_IO for the counter file;
 * ERR_INTERNAL when a millisecond's ULID randomness or 4096 snowflake sequence numbers are used
 * up (retry in the next millisecond). On error out is "". */
int runid_next(struct runid_gen *g, const char *pipeline_slug, uint64_t now_ms, char out[RUNID_MAX],
               struct err *err);

#endif
