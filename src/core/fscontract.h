/* The filesystem contract: slugs, naming templates and the paths and pointer files built from
 * them (reference osiris-compile.md §4.5, §5.2).
 *
 * slugify: lower-case; spaces and '_' become '-'; characters outside [a-z0-9-] dropped; runs of
 * '-' collapsed; '-' stripped from both ends.
 * render: every {token} of the template is replaced by the slugified value of the token (unknown
 * or missing tokens by nothing); then runs of '/', of '-' and of '_' are collapsed (each
 * separately: "/_" stays, as in the original) and those characters stripped from both ends.
 * Examples: slugify("orders_etl") = "orders-etl"; a run id "run-000001_01M8..." renders as
 * "run-000001-01m8...". */
#ifndef OSIRIS_FSCONTRACT_H
#define OSIRIS_FSCONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "projconfig.h"
#include "strbuf.h"

struct fs_token {
    const char *name;  /* "pipeline_slug" */
    const char *value; /* NULL renders as nothing */
};

/* In arena a. */
char *fscontract_slugify(struct arena *a, const char *s);

/* Whether s can name a directory or file under a project directory: letters, digits, '_', '.',
 * '-', not empty and not starting with '.' or '-' (so never "..", never an option). Step ids,
 * profiles and pipeline ids all become path segments. */
bool fscontract_is_segment(const char *s);
char *fscontract_render(struct arena *a, const char *tmpl, const struct fs_token *tokens,
                        size_t ntokens);

/* <base>/<build_dir>/pipelines/[<profile>/]<render(naming.manifest_dir)>, absolute, in cfg's
 * arena. The profile segment appears only when profiles are enabled and profile is not NULL or
 * "" (pass the result of projconfig_profile(); it is used as is). */
char *fscontract_build_dir(struct project_config *cfg, const char *slug, const char *profile,
                           const char *manifest_hash, const char *manifest_short);

/* <base>/<aiop_dir>/[<profile>/]<render(naming.manifest_dir)>/<render(naming.aiop_run_dir)>,
 * absolute, in cfg's arena: where a run's summary.json and run-card.md go. */
char *fscontract_aiop_dir(struct project_config *cfg, const char *slug, const char *profile,
                          const char *manifest_hash, const char *manifest_short,
                          const char *run_id);

/* The run timestamp for run_ts_format at time ms (UTC): iso_basic_z "20261126T100147Z",
 * epoch_ms, none (""), or a strftime format (an empty result, e.g. from an empty format or one
 * longer than 255 bytes, falls back to iso_basic_z). In arena a. */
char *fscontract_run_ts(struct arena *a, const char *format, uint64_t ms);

/* <base>/<run_logs_dir>/[<profile>/]<render(naming.run_dir)>, absolute, in cfg's arena. */
char *fscontract_run_dir(struct project_config *cfg, const char *slug, const char *profile,
                         const char *run_id, const char *run_ts, const char *manifest_short);

/* A pointer file: three lines (manifest path, manifest hash, profile or an empty line when
 * profile is NULL or ""), written atomically; missing parent directories are created. */
int fscontract_write_pointer(const char *path, const char *manifest_path, const char *hash,
                             const char *profile, struct err *err);

/* Reads line 1 (the manifest path, without "\r\n") of a pointer file into out (reset first).
 * A missing file or an empty first line is ERR_NOTFOUND ("pointer file 'P' does not exist",
 * "pointer file 'P' is empty"); other read errors are ERR_IO. */
int fscontract_read_pointer(const char *path, struct strbuf *out, struct err *err);

#endif
