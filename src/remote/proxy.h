/* The host side of a remote run (`osiris run --remote`): the same run record as a local run
 * (runner_open/runner_close on the host), with every step executed by an `osiris worker`
 * started by a backend and driven over protocol v1 (docs/internals/protocol.md):
 *   hello (version and registry fingerprint must match the host's), prepare (the manifest, the
 *   cfg files, the connections the host resolved — in memory only), exec_step per step in order
 *   with fail-fast, cleanup.
 * The worker's event, metric and log frames go through the host's session and redactor. Files
 * the extract steps read (a relative `path`) are copied into the worker's fresh session
 * directory first; the files the write steps produce and the steps' artifacts come back to the
 * host paths the pipeline names and under the run directory. A worker that dies or stops
 * answering fails the run with its last stderr lines in the error. */
#ifndef OSIRIS_PROXY_H
#define OSIRIS_PROXY_H

#include "engine/runner.h"
#include "err.h"

struct remote_opts {
    const char *target;      /* "process", "sandbox" or "ssh://[user@]host[:port]" */
    const char *const *env;  /* extra K=V for the worker, NULL-terminated (may be NULL) */
    bool no_net;             /* sandbox: a network namespace of its own */
    int cpus;                /* sandbox: CPU limit, 0: none */
    long mem_mb;             /* sandbox: memory limit, 0: none */
    int call_timeout_ms;     /* per request; 0: 10 minutes */
    int run_timeout_ms;      /* the whole run; 0: none */
    const char *worker_path; /* the osiris binary to start (and pack); NULL: this one */
};

/* 0 when target names a backend this osiris has, in its syntax; else ERR_USAGE saying why. */
int remote_check_target(const char *target, struct err *err);

/* What a remote run would ship (`--dry-run --remote`): {target, pack: [{name, size, source}]
 * (empty for `process`, which starts this binary), pack_bytes, inputs: [path]}. New reference, or
 * NULL with err (a path outside the project, a library the pack cannot find). */
json_t *remote_shipment(const struct run_request *req, const struct remote_opts *o,
                        struct err *err);

/* Runs req's manifest remotely; returns like runner_run() (res must be released). */
int remote_run(const struct run_request *req, const struct remote_opts *o, struct run_result *res,
               struct err *err);

#endif
