/* osiris.yaml: the project configuration (reference osiris-compile.md §3.1), with defaults for
 * everything, environment overrides, and positioned errors for invalid values. Keys, defaults
 * and rules: docs/internals/configuration.md.
 *
 * Where: the file given (missing: ERR_NOTFOUND), else $OSIRIS_HOME/osiris.yaml when OSIRIS_HOME
 * is set and not empty, else ./osiris.yaml. A missing searched file, an empty file or one of
 * only comments means all defaults (path NULL when there is no file). The file is checked against
 * the embedded schema src/core/osiris.schema.json: inside `filesystem` and `ids` every key must
 * be known and well typed, and so inside `run` and `aiop`; other top-level sections (logging,
 * discovery, llm, ...) are accepted. With profiles enabled, profiles.values must not be empty and
 * profiles.default must be one of them. Every error is ERR_INPUT and one line naming the dotted key
 * path at the key's position, the earliest in the file when there are several: "osiris.yaml:12:5:
 * filesystem.naming.manifest_short_len: must be <= 16, got 20" "osiris.yaml:3:3:
 * filesystem.bse_path: unknown key; did you mean 'base_path'?" YAML errors come from yamlload
 * (positioned, ERR_INPUT); a directory is ERR_INPUT; an unreadable file ERR_IO.
 *
 * Environment overrides, applied before checking and checked like the file (a bad value is
 * reported at the key it replaces, "(from VAR)" after the key path); an empty variable counts as
 * unset: OSIRIS_PROFILE (profiles.default; no effect while profiles are disabled),
 * OSIRIS_FILESYSTEM_BASE (base_path; relative to the cwd), OSIRIS_RUN_ID_FORMAT
 * (ids.run_id_format, comma-separated), OSIRIS_RETENTION_RUN_LOGS_DAYS (retention.run_logs_days;
 * must be a non-negative integer).
 *
 * base_path: "", null or absent is the cwd; `~` and `~user` are expanded; a relative path is
 * relative to the directory holding osiris.yaml. The result is absolute and lexically normalised
 * (it need not exist). */
#ifndef OSIRIS_PROJCONFIG_H
#define OSIRIS_PROJCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "jdoc.h"

struct project_config {
    struct arena arena;    /* every string below */
    struct jdoc doc;       /* the file as loaded; root NULL when there is no file */
    const char *path;      /* the file read, or NULL when defaults apply */
    const char *base_path; /* absolute project root (filesystem.base_path, else the cwd) */
    const char *pipelines_dir, *build_dir, *aiop_dir, *run_logs_dir; /* relative to base_path */
    const char *sessions_dir, *cache_dir, *index_dir;
    bool profiles_enabled;
    const char **profiles; /* profiles.values */
    size_t nprofiles;
    const char *default_profile;
    struct {
        const char *manifest_dir;  /* "{pipeline_slug}/{manifest_short}-{manifest_hash}" */
        const char *run_dir;       /* "{pipeline_slug}/{run_ts}_{run_id}-{manifest_short}" */
        const char *aiop_run_dir;  /* "{run_id}" */
        const char *run_ts_format; /* iso_basic_z | epoch_ms | none | strftime format */
        int manifest_short_len;    /* 3..16 */
    } naming;
    struct {
        bool manifest, plan, fingerprints, run_summary, cfg;
        int save_events_tail;
    } artifacts;
    struct {
        int run_logs_days, aiop_keep_runs_per_pipeline, annex_keep_days;
    } retention;
    struct {
        const char *directory, *format;
    } outputs;
    const char **run_id_format; /* tokens, see runid.h */
    size_t nrun_id_format;
    const char *manifest_hash_algo; /* "sha256_slug" */
    struct {
        const char *memory_limit;        /* DuckDB syntax, e.g. "1GB" */
        const char *stream_memory_limit; /* rows only moved (runner.c); never above memory_limit */
        int threads;                     /* 0 = DuckDB's default (one per core) */
    } run;
    struct {
        bool enabled, run_card;
        int max_core_bytes, metrics_topk;
        const char *timeline_density; /* "low" | "medium" | "high" */
    } aiop;
};

/* Loads path (or searches as above when NULL) into cfg (any previous content is ignored; release
 * it with projconfig_release()). On error the config is released. */
int projconfig_load(struct project_config *cfg, const char *path, struct err *err);
void projconfig_release(struct project_config *cfg);

/* base_path joined with rel (rel as is when absolute), lexically normalised; in cfg's arena. */
const char *projconfig_path(struct project_config *cfg, const char *rel);

/* The active profile: requested (may be NULL) or profiles.default; NULL when profiles are
 * disabled. A profile outside profiles.values, or any profile while profiles are disabled, is an
 * error (ERR_INPUT) listing the known ones. */
int projconfig_profile(const struct project_config *cfg, const char *requested,
                       const char **profile, struct err *err);

#endif
