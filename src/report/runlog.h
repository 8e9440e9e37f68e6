/* A run directory read back: the summary of one run from its own files (events.jsonl,
 * status.json, metrics.jsonl, manifest.yaml), and the run directories found under a logs
 * directory. Everything `logs`, the HTML report and AIOP show comes from here, so they agree,
 * and they work for runs made remotely or by older versions: nothing is taken from the engine.
 *
 * Summaries trust status.json where the run wrote one (the host writes it for every run, failed
 * ones too) and otherwise read the events; a run with run_error, step_error (or the original's
 * step_failed) or run_end{status:failed} is failed, never "completed". */
#ifndef OSIRIS_RUNLOG_H
#define OSIRIS_RUNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "json.h"
#include "strbuf.h"

enum runlog_step_state { RUNLOG_STARTED, RUNLOG_SUCCESS, RUNLOG_FAILED, RUNLOG_SKIPPED };
extern const char *const runlog_step_state_name[]; /* "started", "success", "failed", "skipped" */

/* Strings of a summary live in the arena it was read with. */
struct runlog_step {
    const char *id;     /* step_id */
    const char *driver; /* or NULL */
    enum runlog_step_state state;
    bool have_rows_in, have_rows_out, have_duration;
    int64_t rows_in, rows_out, duration_ms;
    const char *error, *error_code; /* step_error */
    const char *reason;             /* step_skipped */
};

struct runlog {
    const char *id;  /* path relative to the logs directory */
    const char *dir; /* the run directory */
    const char *run_id, *pipeline, *profile, *manifest_hash;
    const char *environment, *sandbox_id; /* status.json: "local"/"remote", the backend */
    const char *started_at, *finished_at; /* ISO text as recorded, or NULL */
    bool have_started;
    int64_t started_us; /* started_at, for ordering */
    bool have_duration;
    int64_t duration_ms;
    const char *status; /* success | failed | running | unknown */
    const char *failed_step, *reason, *error_code;
    bool have_steps_total;
    int64_t steps_total, steps_ok, steps_failed, steps_skipped;
    bool have_rows_in, have_rows_out;
    int64_t rows_in, rows_out; /* rows read by extractors, written by writers */
    int64_t errors, warnings, event_count;
    size_t bad_lines;           /* lines of events.jsonl that are not JSON objects */
    const char *status_problem; /* why status.json was ignored, or NULL */
    bool has_status_json;
    struct runlog_step *steps; /* owned (runlog_release()), in order of first appearance */
    size_t nsteps, capsteps;
    json_t *artifacts; /* owned: [{step_id, artifact_type, path}] from artifact_created */
};

/* Summarises the run in dir, whose id (relative to the logs directory) is id; every string goes
 * to arena a. events receives the parsed events (a new reference) when not NULL. Fails only
 * when events.jsonl cannot be read (a missing one reads as empty). */
int runlog_read(struct arena *a, const char *id, const char *dir, struct runlog *s, json_t **events,
                struct err *err);
void runlog_release(struct runlog *s);

/* Newest first: by start time, runs without one last, then by id (descending). For qsort. */
int runlog_cmp(const void *a, const void *b);

/* A JSON-lines file as a new array of its objects; *bad counts the other lines. A missing file
 * gives NULL with *missing set and no error. */
json_t *runlog_read_jsonl(const char *path, size_t *bad, bool *missing, struct err *err);

/* Whether an event is an error: step_error, step_failed (the original's), run_error, or any
 * event with level error or critical. */
bool runlog_is_error(const json_t *e);

/* Whether a live run holds the lock on this events.jsonl (a run that died holds none). */
bool runlog_is_live(const char *events_path);

/* The integer at key (an integral real that fits counts). */
bool runlog_int(const json_t *o, const char *key, int64_t *out);

/* "850ms", "1.2s", "2m03s", "1h02m"; "-" when !have. In arena a (or a literal). */
const char *runlog_fmt_duration(struct arena *a, bool have, int64_t ms);

/* An ISO-8601 time as "2026-11-26 10:01:47" (UTC) or, with time_only, "10:01:47.022"; the text
 * as given when it is not such a time; "-" for NULL. In arena a (or borrowed). */
const char *runlog_fmt_time(struct arena *a, const char *iso, bool time_only);

/* Appends "k=v k2=v2" for the members of rec not named in skip (NULL-terminated): strings as
 * they are unless empty or holding a space, '"' or '=', other values as JSON. */
void runlog_details(struct strbuf *out, const json_t *rec, const char *const *skip);

/* Bytes of the regular files under path (links not followed). */
uint64_t runlog_tree_bytes(const char *path);

/* The run directories under a logs directory: those holding events.jsonl, up to five levels
 * deep, not below one another, skipping names that start with '.' or '@' and never following a
 * symbolic link. ids are relative to path, sorted by name per directory. */
struct runlog_dir {
    struct arena arena; /* ids, path, and what callers read with it */
    const char *path;   /* the logs directory, without trailing '/' */
    bool exists;        /* false when path does not exist (no run yet): no ids */
    const char **ids;   /* owned array, strings in arena */
    size_t n, cap;
};

/* Opens path. ERR_IO when it cannot be read, ERR_INPUT when it is not a directory; a missing
 * directory is no error (exists false). d is initialised either way; release it. */
int runlog_dir_open(struct runlog_dir *d, const char *path, struct err *err);
void runlog_dir_release(struct runlog_dir *d);

#endif
