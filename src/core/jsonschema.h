/* JSON Schema validation (draft 7, plus prefixItems, dependentRequired, dependentSchemas and
 * $defs from 2019-09/2020-12) for component specs and their configSchemas.
 * What is supported and what is not: docs/internals/jsonschema.md.
 *
 * A schema is compiled once (refs resolved, regexes compiled, keyword shapes checked) and then
 * validates any number of instances. Validation collects every error, in schema order.
 * A compiled schema is never changed by validation, so threads may share one. */
#ifndef OSIRIS_JSONSCHEMA_H
#define OSIRIS_JSONSCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "json.h"

struct jsonschema; /* opaque compiled schema */

/* A document known under a URI, so "$ref": "<uri>#..." resolves to it without any network access
 * (the draft-07 meta-schema is always known). */
struct schema_resource {
    const char *uri; /* absolute URI, e.g. "http://localhost:1234/integer.json" */
    json_t *doc;     /* borrowed; the compiled schema takes its own reference */
};

struct schema_error {
    char *instance;      /* JSON pointer to the failing value in the instance ("" = root); for the
                            keywords that set property, the object holding it; owned */
    char *schema;        /* JSON pointer to the failing keyword in the schema it came from (the
                            compiled schema, or the preloaded document or meta-schema a $ref led
                            to); owned */
    const char *keyword; /* "required", "type", "enum", ...; "false" for a false schema,
                            "$ref" for "schema recursion too deep"; static */
    char *property;      /* required/dependencies/dependentRequired/additionalProperties/
                            propertyNames: the property name concerned, else NULL; owned */
    json_t *expected;    /* the keyword's value in the schema (new reference), or NULL */
    char *message;       /* one line, e.g. "'version' is a required property"; owned */
};

struct schema_errors {
    struct schema_error *items; /* owned */
    size_t len;
    size_t cap;
};

/* clang-format off */
#define SCHEMA_ERRORS_INIT {0}
/* clang-format on */

void schema_errors_release(struct schema_errors *errs);

/* Compiles schema (a new reference is taken). extra lists further documents its $refs may name;
 * nothing is ever fetched. Fails (ERR_INPUT, message naming the schema pointer, e.g.
 * "schema '#/properties/a/minimum': must be a number, got string") on an unresolvable $ref, a
 * pattern that does not compile, a keyword whose value has the wrong shape, or nesting deeper
 * than 2000. */
struct jsonschema *jsonschema_compile(json_t *schema, const struct schema_resource *extra,
                                      size_t nextra, struct err *err);

/* The draft-07 meta-schema, compiled; the caller frees it. */
struct jsonschema *jsonschema_metaschema(struct err *err);

void jsonschema_free(struct jsonschema *s);

/* The schema document that was compiled (borrowed): error `schema` pointers of keywords from it
 * resolve against this. */
const json_t *jsonschema_document(const struct jsonschema *s);

/* Validates instance; appends every error to errs (which may be NULL when only the verdict
 * matters: validation then stops at the first failure). Returns true when instance is valid.
 * More than 2000 nested evaluations (a recursive $ref) fail with "schema recursion too deep". */
bool jsonschema_validate(const struct jsonschema *s, const json_t *instance,
                         struct schema_errors *errs);

#endif
