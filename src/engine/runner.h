/* The step engine — the only one: `osiris run` calls it in-process and the remote worker will
 * call the same code. It runs a compiled manifest's steps in order (the compiler wrote them in
 * topological order) with fail-fast semantics, against one data plane per run, and records the
 * run in its directory: events, metrics, logs, artifacts, the manifest and cfg copies, and a
 * status.json that is true for success and failure alike (DESIGN §5).
 *
 * Per step: step_start; the cfg is loaded (sensitive ${params.NAME} placeholders resolved from
 * params), `component` and `connection` are stripped (config_meta_stripped), the connection is
 * resolved (connection_resolve_start/complete) and its secrets handed to the redactor before
 * anything could print them; artifacts/<step>/cleaned_config.json is written redacted; inputs
 * are wired from needs (inputs_resolved, one per upstream table, under the view name
 * df_<sanitized id>); the driver runs; step_complete{rows_in, rows_out, duration_ms} or
 * step_error{error, error_code}; later steps are step_skipped. A table is dropped once its last
 * consumer has run. */
#ifndef OSIRIS_RUNNER_H
#define OSIRIS_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "arena.h"
#include "connections.h"
#include "engine/session.h"
#include "err.h"
#include "manifest.h"
#include "projconfig.h"
#include "registry.h"

/* Everything is borrowed and must outlive runner_run(). */
struct run_request {
    const struct manifest *manifest; /* what to run */
    struct project_config *cfg;      /* paths, naming, run ids, memory limit */
    const struct registry *reg;      /* specs, for secret names */
    const struct connections *conns; /* connection aliases */
    const json_t *params;            /* values for ${params.NAME} left in cfg files, or NULL */
    bool verbose;                    /* debug.log */
    session_observer *observer;      /* progress display, or NULL */
    void *observer_data;
    /* The remote worker's run: events, metrics and log lines go to stream as frames, the host
     * names the run (run_id, run_dir) and resolved its connections (resolved: an object of the
     * connection objects by reference, "@family.alias", or "@family" for the family's default),
     * and the host writes status.json and the run index. NULL in a local run. */
    FILE *stream;
    const char *run_id, *run_dir;
    const json_t *resolved;
    /* The host of a remote run: the steps run in a worker (no data plane here), whose frames and
     * outcomes the caller hands to runner_relay() and runner_record(); environment and
     * sandbox_id go to status.json ("local" when NULL). */
    bool remote;
    const char *environment, *sandbox_id;
};

/* One step's outcome, as step_complete or step_error says it. */
struct step_report {
    bool ok;
    int64_t rows_in, rows_out, duration_ms;
    const char *error, *error_code; /* when !ok; borrowed from the run */
};

struct run_result {
    struct arena arena; /* the strings below */
    const char *run_id;
    const char *run_dir; /* absolute */
    bool ok;
    size_t steps_total, steps_completed;
    const char *failed_step; /* or NULL (also when the run could not start) */
    const char *error;       /* first error (of a step, or of setting the run up), or NULL */
    const char *error_code;  /* its taxonomy code, or NULL */
    int64_t rows_read, rows_written;
    int64_t duration_ms;
    const char *index_error;  /* why the run could not be added to the run index, or NULL */
    const char *aiop_dir;     /* where the run's AIOP went (absolute), or NULL */
    const char *aiop_error;   /* why the run's AIOP could not be written, or NULL */
    const char *record_error; /* the first file of the run directory that could not be written */
};

/* Runs the manifest. Returns 0 when the run happened — successful or not, see res->ok — and
 * -1 when it could not start (the run directory cannot be created). res must be released. */
int runner_run(const struct run_request *req, struct run_result *res, struct err *err);

/* The same run a step at a time, for a caller that decides when each step runs (the remote
 * worker). runner_open() does what runner_run() does before the first step and returns the run,
 * which lives in res's arena, or NULL as runner_run() returns -1. runner_step() runs step i of
 * the manifest — or records it skipped once a step has failed or the run could not start — and
 * returns 0 when it completed, -1 otherwise (res says why). runner_close() ends the run as
 * runner_run() does after the last step (run_complete or run_error, status.json, run_end, the
 * run index); the run is gone afterwards, res stays. */
struct engine;
struct engine *runner_open(const struct run_request *req, struct run_result *res, struct err *err);
int runner_step(struct engine *e, size_t i, struct step_report *out); /* out may be NULL */
void runner_close(struct engine *e);

/* The host of a remote run. runner_relay() writes an event, metric or log frame of the worker
 * (protocol.md) through the run's session and redactor, as if the step had run here (frame is
 * borrowed; other frames are ignored). runner_record() takes step i's outcome from the worker's
 * response, as runner_step() would have found it (the worker sent step_error itself).
 * runner_fail() fails the run for a reason outside the steps' own (the worker died, the
 * handshake failed) unless it has failed already; with step_id, that step gets a step_error. */
void runner_relay(struct engine *e, const json_t *frame);
void runner_record(struct engine *e, size_t i, const struct step_report *rep);
void runner_fail(struct engine *e, const char *step_id, const char *error, const char *code);
/* The secrets of a connection the host resolved for the worker join the run's redactor. */
void runner_learn_connection(struct engine *e, const json_t *resolved);
/* The run's session, for the host's own diagnostic events. Borrowed. */
struct session *runner_session(struct engine *e);
void run_result_release(struct run_result *res);

/* The view name a step sees an upstream under: "df_" + the id with every character outside
 * [0-9A-Za-z_] replaced by '_' and a leading digit prefixed with '_' (reference
 * osiris-components.md §3.0). When two upstreams of one step sanitize alike, each name gets "_"
 * and the first 8 hex digits of SHA-256(original id). In arena a. */
const char *runner_view_name(struct arena *a, const char *step_id, bool collides);

/* Where a step's incremental state lives, relative to the project's base_path:
 * .osiris/state/<pipeline_id>/<step_id>.json. In arena a. */
#define STATE_DIR ".osiris/state"
const char *runner_state_file(struct arena *a, const char *pipeline_id, const char *step_id);

#endif
