/* A compiled manifest as the runner reads it (see compiler.h for how it is written): the
 * pipeline's identity and hash, and its steps in run order with the cfg file of each. Loading
 * checks the shape with positioned errors, so a hand-edited or truncated manifest fails before
 * anything runs. */
#ifndef OSIRIS_MANIFEST_H
#define OSIRIS_MANIFEST_H

#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "jdoc.h"

struct manifest_step {
    const char *id;        /* step id */
    const char *component; /* e.g. "filesystem.csv_writer" */
    const char *driver;    /* x-runtime.driver, e.g. "csv_writer" */
    const char *cfg_path;  /* absolute path of its cfg/<id>.json */
    const char **needs;    /* upstream step ids, in the order written */
    size_t nneeds;
};

struct manifest {
    struct arena arena;        /* every string below */
    struct jdoc doc;           /* the file as loaded */
    const char *path;          /* absolute path of manifest.yaml */
    const char *dir;           /* its directory */
    const char *pipeline_id;   /* the pipeline slug */
    const char *name;          /* OML name, or NULL */
    const char *profile;       /* or NULL */
    const char *manifest_hash; /* 64 hex digits */
    const char *manifest_short;
    const char *oml_version;
    struct manifest_step *steps; /* in run order */
    size_t nsteps;
};

/* Loads and checks path: every step names an id, component, driver and cfg_path; needs only
 * name earlier steps; ids are unique. ERR_INPUT with file:line:col otherwise. */
int manifest_load(struct manifest *m, const char *path, struct err *err);
void manifest_release(struct manifest *m);

/* True when a parsed YAML document is a manifest (pipeline, steps and meta at the top, and
 * no oml_version) rather than OML. */
bool manifest_detect(const json_t *root);

#endif
