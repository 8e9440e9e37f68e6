/* The compiler: OML → a fingerprinted manifest and one config file per step, deterministic to
 * the byte (DESIGN §4, reference osiris-compile.md §4 with its bugs fixed).
 *
 * Order of work: load the OML with positions; pick the profile; resolve params; validate with
 * the OML validator (every error is reported, compile stops on any); order the steps
 * topologically (Kahn, ties by declaration order); build cfg/<id>.json (the step config without
 * secret-named keys, plus spec defaults except `mode` and connection-supplied fields) and
 * manifest.yaml (no timestamp); compute the fingerprints and manifest_hash; write the build
 * directory atomically (a temporary directory renamed into place) and the pointer files.
 *
 * Fingerprints are "sha256:<hex>": oml_fp of the canonical resolved OML (sensitive params as
 * placeholders), params_fp of the effective params (same), registry_fp of the spec bytes of the
 * components used (registry.h), compiler_fp of "osiris-compiler/<version>", manifest_fp of the
 * canonical manifest without its hash fields. manifest_hash (bare hex) is SHA-256 of the
 * canonical JSON {"cfg": {<step id>: <cfg>}, "manifest": <manifest without meta.manifest_hash,
 * meta.manifest_short and fingerprints.manifest_fp>, "profile": <profile or "">}. */
#ifndef OSIRIS_COMPILER_H
#define OSIRIS_COMPILER_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "connections.h"
#include "diag.h"
#include "err.h"
#include "projconfig.h"
#include "registry.h"

struct compile_request {
    const char *oml_path;      /* the pipeline file */
    const char *profile;       /* requested profile, or NULL for the default */
    const char *const *params; /* "NAME=VALUE" */
    size_t nparams;
    const char *out_dir; /* write here instead of the build directory; may be NULL */
    bool no_pointers;    /* leave the pointer files alone (a dry run compiles into a temp dir) */
};

struct compile_result {
    struct arena arena;         /* the strings below */
    struct diags diags;         /* every validation error and warning */
    const char *pipeline_slug;  /* slugified OML name */
    const char *profile;        /* active profile, or NULL */
    const char *manifest_hash;  /* 64 hex digits */
    const char *manifest_short; /* its first naming.manifest_short_len digits */
    const char *build_dir;      /* absolute */
    const char *manifest_path;  /* absolute */
    size_t nsteps;
    json_t *sensitive; /* name → value of every sensitive param with a value (owned): what a run of
                          this compile fills the placeholders in cfg files with; never written */
};

/* Compiles; on failure err says why (ERR_INPUT for invalid input, with res->diags holding every
 * diagnostic) and nothing is written. res must be released either way. */
int compiler_compile(const struct compile_request *req, struct project_config *cfg,
                     const struct registry *reg, const struct connections *conns,
                     struct compile_result *res, struct err *err);
void compile_result_release(struct compile_result *res);

#endif
