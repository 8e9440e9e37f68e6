/* The component registry: every spec compiled into the binary, plus those of an override
 * directory (OSIRIS_COMPONENTS_DIR or --components-dir) holding <name>/spec.yaml (or spec.json).
 *
 * Loading validates each spec against components/spec.schema.json; an invalid spec is skipped and
 * recorded as a problem with its file:line:col. An override spec replaces the built-in one of the
 * same name. Components are kept sorted by name, so every listing is deterministic. */
#ifndef OSIRIS_REGISTRY_H
#define OSIRIS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "fingerprint.h"
#include "jdoc.h"
#include "jsonschema.h"

struct component {
    const char *name;          /* spec `name`; in the registry arena */
    const char *file;          /* path used in messages ("components/x/spec.yaml" for built-ins) */
    bool builtin;              /* compiled in, not from the override directory */
    const unsigned char *data; /* the exact spec bytes (static or in the registry arena) */
    size_t len;
    struct jdoc doc;                  /* the parsed spec; owned */
    const char *driver;               /* x-runtime.driver, or NULL; borrowed from doc */
    char sha256[FINGERPRINT_HEX_LEN]; /* of data */
};

struct registry_problem {
    const char *file;    /* in the registry arena */
    const char *message; /* "file:line:col: ..." one line; in the registry arena */
};

struct registry {
    struct arena arena;      /* strings and override spec bytes */
    struct component *items; /* sorted by name; owned */
    size_t len, cap;
    struct registry_problem *problems; /* invalid specs that were skipped; owned */
    size_t nproblems, capproblems;
    struct jsonschema *spec_schema; /* compiled components/spec.schema.json; owned */
};

/* Loads the built-in specs and, when dir is not NULL, those under dir. Fails (ERR_INPUT) only when
 * dir cannot be read; invalid specs become problems. */
int registry_load(struct registry *reg, const char *dir, struct err *err);
void registry_release(struct registry *reg);

/* Borrowed; NULL when unknown. */
const struct component *registry_find(const struct registry *reg, const char *name);

/* The closest known name to a mistyped one, or NULL. Borrowed. */
const char *registry_suggest(const struct registry *reg, const char *name);

/* SHA-256 over the components named (all of them when n == 0), sorted by name and each
 * contributing "<name>\0<byte length>\0<exact spec bytes>". Unknown names are skipped. */
void registry_fingerprint(const struct registry *reg, const char *const *names, size_t n,
                          char out[FINGERPRINT_HEX_LEN]);

#endif
