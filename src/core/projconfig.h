/* osiris.yaml: the project configuration (reference osiris-compile.md §3.1), with defaults for
 * everything, environment overrides, and positioned errors for invalid values.
 *
 * Where: the file given, else $OSIRIS_HOME/osiris.yaml when OSIRIS_HOME is set, else
 * ./osiris.yaml. A missing file means all defaults (path NULL). The file is checked against the
 * embedded schema src/core/osiris.schema.json: inside `filesystem` and `ids` every key must be
 * known and well typed (ERR_INPUT, "osiris.yaml:12:5: filesystem.naming.manifest_short_len must
 * be at most 16"); other top-level sections (logging, aiop, discovery, llm, ...) are accepted.
 *
 * Environment overrides, applied after loading: OSIRIS_PROFILE (profiles.default),
 * OSIRIS_FILESYSTEM_BASE (base_path), OSIRIS_RUN_ID_FORMAT (ids.run_id_format, comma-separated),
 * OSIRIS_RETENTION_RUN_LOGS_DAYS (retention.run_logs_days; must be a non-negative integer). */
#ifndef OSIRIS_PROJCONFIG_H
#define OSIRIS_PROJCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "jdoc.h"

struct project_config {
    struct arena arena;       /* every string below */
    struct jdoc doc;          /* the file as loaded; root NULL when there is no file */
    const char *path;         /* the file read, or NULL when defaults apply */
    const char *base_path;    /* absolute project root (filesystem.base_path, else the cwd) */
    const char *pipelines_dir, *build_dir, *aiop_dir, *run_logs_dir; /* relative to base_path */
    const char *sessions_dir, *cache_dir, *index_dir;
    bool profiles_enabled;
    const char **profiles;    /* profiles.values */
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
};

/* Loads path (or searches as above when NULL). On error the config is released. */
int projconfig_load(struct project_config *cfg, const char *path, struct err *err);
void projconfig_release(struct project_config *cfg);

/* base_path joined with rel (rel as is when absolute); in cfg's arena. */
const char *projconfig_path(struct project_config *cfg, const char *rel);

/* The active profile: requested (may be NULL) or profiles.default; NULL when profiles are
 * disabled. A profile outside profiles.values, or any profile while profiles are disabled, is an
 * error (ERR_INPUT) listing the known ones. */
int projconfig_profile(const struct project_config *cfg, const char *requested,
                       const char **profile, struct err *err);

#endif
