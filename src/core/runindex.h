/* The run index (reference osiris-runtime.md §3.8, osiris-compile.md §5.1): one compact JSON
 * RunRecord per line in <index_dir>/runs.jsonl and in <index_dir>/by_pipeline/<slug>.jsonl, for
 * every run, failed ones included (the original indexed successes only).
 *
 * A record's fields, in this order:
 *   run_id, pipeline_slug, profile ("" without profiles), manifest_hash (bare lower-case hex, or
 *   "" when the run never got a manifest), manifest_short, run_ts (ISO-8601 start time),
 *   status ("success" | "failed"), duration_ms, run_logs_path, aiop_path, build_manifest_path
 *   (relative to base_path when they lie under it), tags [...], branch, user, git_commit (""
 *   when unknown), runtime_env ("local" unless given), failed_step (null or a step id),
 *   error (null or one line of text).
 *
 * Writing: each file is opened with O_APPEND, locked with flock(LOCK_EX), the whole line is
 * written, the file fsync()ed and unlocked, so concurrent runs never interleave or lose lines.
 * A torn last line (a crash in the middle of a write) gets its newline before the next record,
 * so it cannot swallow that record. runs.jsonl is written first; the latest pointer
 * (.osiris/index/latest/<slug>.txt) is not touched here (fscontract_write_pointer()).
 *
 * Reading: files are read under flock(LOCK_SH); lines that are not JSON objects (a torn line,
 * hand edits) are skipped and counted. */
#ifndef OSIRIS_RUNINDEX_H
#define OSIRIS_RUNINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "json.h"

/* What the engine knows at the end of a run. Every pointer is borrowed for the call only; NULL
 * strings are written as "" (failed_step and error as null, runtime_env as "local"). */
struct runindex_record {
    const char *run_id;              /* required, not empty */
    const char *pipeline_slug;       /* required: a plain file name (no '/', no leading '.') */
    const char *profile;             /* NULL or "" without profiles */
    const char *manifest_hash;       /* bare hex; a "sha256:"-style prefix is refused */
    const char *manifest_short;      /* the short hash of the run directory name */
    const char *run_ts;              /* required: start time, ISO-8601 (session_now()) */
    bool ok;                         /* status "success" when true, else "failed" */
    int64_t duration_ms;             /* wall time of the run */
    const char *run_logs_path;       /* the run directory (absolute or relative) */
    const char *aiop_path;           /* the AIOP directory, or NULL */
    const char *build_manifest_path; /* the manifest the run executed, or NULL */
    const char *const *tags;         /* ntags strings (may be NULL when ntags is 0) */
    size_t ntags;
    const char *branch, *user, *git_commit; /* provenance, NULL when unknown */
    const char *runtime_env;                /* "local", "sandbox", "ssh", ...; NULL = "local" */
    const char *failed_step;                /* the step that failed, or NULL */
    const char *error;                      /* why the run failed (redacted), or NULL */
};

/* Appends rec to runs.jsonl and by_pipeline/<slug>.jsonl under index_dir (both created, with
 * their directories, as needed). base_path (may be NULL) is the project root: the three paths
 * of the record are stored relative to it when they lie under it. Errors: ERR_INPUT for a
 * record that breaks the rules above (nothing is written), ERR_IO naming the file. */
int runindex_append(const char *index_dir, const char *base_path, const struct runindex_record *rec,
                    struct err *err);

/* The record as it is stored (a new reference); the same rules and errors as runindex_append(). */
json_t *runindex_record_json(const struct runindex_record *rec, const char *base_path,
                             struct err *err);

/* Which records runindex_query() returns. A zeroed struct selects everything. */
struct runindex_query {
    const char
        *pipeline_slug;  /* only this pipeline (read from by_pipeline/<slug>.jsonl), or NULL */
    const char *profile; /* only this profile ("" = runs without a profile), or NULL */
    const char *status;  /* only "success" or only "failed", or NULL */
    bool have_since;     /* keep only runs that started at or after since_us */
    int64_t since_us;    /* microseconds since the epoch (runindex_parse_since()) */
    size_t limit;        /* at most this many (the newest); 0 = no limit */
};

/* Returns a new array of the matching records, as stored, newest first: by run_ts, later lines
 * first among equal times; records whose run_ts cannot be read sort last, and are left out when
 * have_since is set. A missing index file is an empty index. *skipped (may be NULL) receives the
 * number of lines that are not JSON objects. Errors: ERR_INPUT for a pipeline_slug that is not a
 * plain file name, ERR_IO for a file that exists but cannot be read. */
json_t *runindex_query(const char *index_dir, const struct runindex_query *q, size_t *skipped,
                       struct err *err);

/* Parses an ISO-8601 time into microseconds since the epoch (UTC): "2026-11-26",
 * "2026-11-26T10:01", "2026-11-26 10:01:47", "2026-11-26T10:01:47.022463+00:00", with an optional
 * fraction (up to 9 digits; truncated to microseconds) and offset ("Z", "+01:00", "+0100",
 * "+01"); a time without an offset is UTC. Returns 0, or -1 when text is not such a time. */
int runindex_parse_time(const char *text, int64_t *us);

/* The cutoff of a --since value: a duration back from now_us ("7d", "24h", "30m", "45s", "2w";
 * a non-negative integer and one unit) or a time runindex_parse_time() reads. ERR_INPUT
 * ("invalid time 'x': expected ...") otherwise. */
int runindex_parse_since(const char *text, int64_t now_us, int64_t *since_us, struct err *err);

/* The current time in microseconds since the epoch (CLOCK_REALTIME). */
int64_t runindex_now_us(void);

#endif
