/* The OML v0.1.0 validator (reference osiris-compile.md §2.4), the one `oml validate` and
 * `compile` share. Every rule reports a typed diagnostic with file:line:col; nothing stops at
 * the first problem. Our rules beyond the original's: params/profiles/x-* are known keys; step
 * ids must be file-name safe; cycles and self-dependencies are errors; a writer or processor
 * without needs gets a warning (no implicit chaining); the config is checked against the
 * component's configSchema (types, enums, ranges) and its `constraints`; connection references
 * are checked against osiris_connections.yaml when there is one; secrets may not be written
 * inline anywhere in the (resolved) document. The full list is in docs/commands/oml.md. */
#ifndef OSIRIS_OML_H
#define OSIRIS_OML_H

#include "connections.h"
#include "diag.h"
#include "jdoc.h"
#include "params.h"
#include "registry.h"

struct oml_context {
    const struct registry *reg;      /* components */
    const struct connections *conns; /* may be NULL or hold no file */
    const struct params *params; /* substitution record, to name a secret's param; may be NULL */
    bool compiling; /* compile, not just validate: an unknown component or one without a
                       driver is an error, not a warning */
};

/* Validates doc (params already substituted) into d. */
void oml_validate(const struct jdoc *doc, const struct oml_context *ctx, struct diags *d);

/* The component mode an OML mode maps to ("read" → "extract"), or NULL for an unknown mode. */
const char *oml_component_mode(const char *oml_mode);

/* The family of a component: its name up to the first '.' ("mysql"); in buf. */
const char *oml_family(const char *component, char *buf, size_t size);

/* Whether steps of this family work without a connection (duckdb, filesystem). */
bool oml_connection_optional(const char *family);

/* True when key must not be written: a secret name (redact.h) or the first segment of one of the
 * component's secrets/x-secret pointers. spec may be NULL. */
bool oml_secret_key(const json_t *spec, const char *key);

/* The x-connection-fields override policy of field for a spec: "allowed", "forbidden",
 * "warning", or NULL when the field is not connection-provided. */
const char *oml_connection_policy(const json_t *spec, const char *field);

#endif
