/* AIOP (AI Operation Package): a deterministic, size-bounded JSON summary of one run, and its
 * Markdown run card, for AI assistants and for people. Everything comes from the run directory's
 * own files (events.jsonl, metrics.jsonl, status.json, manifest.yaml, artifacts/) through the
 * run-log reader, so a failed, interrupted or remote run gets one too. The layout, every field
 * and the size policy are documented in docs/aiop.md; docs/aiop.schema.json describes exactly
 * what aiop_build() returns.
 *
 * Determinism: the same run directory and options give byte-identical summary.json files (no
 * clock is read, no absolute path is written, every list has a defined order). Secrets: the
 * inputs are the run's files, which the engine has already redacted; nothing else is read. */
#ifndef OSIRIS_AIOP_H
#define OSIRIS_AIOP_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "json.h"

enum aiop_density {
    AIOP_DENSITY_LOW,    /* run and step lifecycle events and errors */
    AIOP_DENSITY_MEDIUM, /* plus metric events */
    AIOP_DENSITY_HIGH,   /* every event */
};

/* "low", "medium", "high", indexed by enum aiop_density. */
extern const char *const aiop_density_name[];

/* The density named s (osiris.yaml aiop.timeline_density); -1 for another name. */
int aiop_density_parse(const char *s, enum aiop_density *out);

struct aiop_options {
    int64_t max_core_bytes;             /* size limit of summary.json; default 300000 */
    enum aiop_density timeline_density; /* default medium */
    int metrics_topk;                   /* most per-step metric series kept; default 100 */
    const char *osiris_version;         /* metadata.osiris_version; default this build's */
    /* How the summary names the run's places, as the caller wants them shown (relative to the
     * project's base path); NULL writes null. Borrowed for the call. */
    const char *run_logs_path; /* the run directory */
    const char *aiop_path;     /* the directory summary.json and run-card.md go to */
    const char *manifest_path; /* the compiled manifest the run executed */
    /* The summary of the previous comparable run (same pipeline and manifest), for
     * metadata.delta; NULL when there is none. Borrowed. */
    const json_t *previous;
};

void aiop_options_default(struct aiop_options *o);

/* The summary of the run in run_dir, with the size policy applied: a new reference.
 * session_id is the run directory's id relative to the logs directory (as `osiris logs` shows
 * it); NULL takes run_dir's last component. o may be NULL (defaults).
 * Fails only when run_dir does not exist (ERR_NOTFOUND), is not a directory (ERR_INPUT) or
 * cannot be read, or events.jsonl exists but cannot be read (ERR_IO). Missing or damaged inputs are
 * no error: a missing events.jsonl reads as no events, lines that are not JSON objects are counted
 * in metadata.inputs.bad_lines, an unreadable manifest.yaml makes the DAG come from the events. */
json_t *aiop_build(const char *run_dir, const char *session_id, const struct aiop_options *o,
                   struct err *err);

/* The Markdown run card of a summary made by aiop_build(); malloc'd, the caller frees it. Every
 * text taken from the run is escaped, so it cannot break a table or inject HTML. */
char *aiop_run_card(const json_t *summary);

/* Builds the summary and writes <out_dir>/summary.json (pretty, sorted keys; exactly
 * metadata.size_bytes bytes) and <out_dir>/run-card.md, each atomically, creating out_dir and
 * its parents. Errors: those of aiop_build(), ERR_IO for a directory or file that cannot be
 * written. */
int aiop_write(const char *run_dir, const char *session_id, const char *out_dir,
               const struct aiop_options *o, struct err *err);

/* A run of a project, as the engine or the run index knows it. Borrowed for the call. Paths are
 * read and written as given; in the summary an absolute path below base_path is shown relative
 * to it, any other as given. */
struct aiop_run {
    const char *run_dir;        /* the run directory (absolute, so its session id is known) */
    const char *run_id;         /* left out when looking for the previous run */
    const char *pipeline;       /* pipeline slug: the previous run is one of this pipeline, */
    const char *profile;        /* of this profile (NULL: none), */
    const char *manifest_hash;  /* and of this manifest (bare hex) */
    const char *manifest_short; /* for out_dir's default */
    const char *manifest_path;  /* the manifest it executed (only shown), or NULL */
    const char *out_dir;        /* where the files go; NULL: fscontract_aiop_dir() */
};

struct project_config;

/* aiop_write() for a run of the project cfg: options from osiris.yaml `aiop:` (max_core_bytes,
 * timeline_density, metrics_topk; run-card.md only with run_card true), paths in the summary
 * relative to base_path, session_id relative to the run logs directory, and the previous
 * comparable run found in the run index: the newest other run of the same pipeline, profile and
 * manifest hash that is older than this one (when this one is indexed) and has a readable
 * summary.json. A run index that cannot be read only loses the delta. Whether AIOP is enabled
 * is the caller's decision. A few paths are allocated in cfg's arena. Returns the summary
 * written (a new reference), or NULL with err set as aiop_write() does. */
json_t *aiop_export(struct project_config *cfg, const struct aiop_run *run, struct err *err);

/* The text summary.json holds for summary (pretty, sorted keys, final newline), appended to
 * out. */
void aiop_serialize(const json_t *summary, struct strbuf *out);

#endif
