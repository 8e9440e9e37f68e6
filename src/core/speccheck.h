/* Component spec validation at three levels, with friendly messages (reference
 * osiris-components.md §2.3–§2.4):
 *   basic     the spec conforms to components/spec.schema.json;
 *   enhanced  basic, and configSchema is a valid JSON Schema (draft-07 meta-schema, plus our
 *             compiler: regexes compile, $refs resolve) and every example config validates;
 *   strict    enhanced, and every secret/redaction/sensitive pointer names a config field, every
 *             llmHints.inputAliases key and every constraints when/must key is a config property,
 *             every required name is a property and every property default fits its schema.
 * A level stops at the first level that found problems, as later checks assume earlier ones. */
#ifndef OSIRIS_SPECCHECK_H
#define OSIRIS_SPECCHECK_H

#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "jdoc.h"
#include "jsonschema.h"

enum spec_level { SPEC_BASIC, SPEC_ENHANCED, SPEC_STRICT };

struct spec_issue {
    const char *level;     /* "basic", "enhanced" or "strict": the level whose check failed */
    const char *pointer;   /* JSON pointer into the spec document */
    struct srcpos pos;     /* where in the spec file; {0,0} when unknown */
    const char *category;  /* schema_error, config_error, type_error or constraint_error */
    const char *field;     /* human label, e.g. "Version" or "Database Host" */
    const char *problem;   /* what is wrong, one sentence */
    const char *fix;       /* how to fix it, one sentence */
    const char *example;   /* a snippet that would be valid, or NULL */
    const char *technical; /* the validator's own words: "<pointer>: <message> (<keyword>)" */
};

/* All strings live in the report's arena. */
struct spec_report {
    struct arena arena;
    struct spec_issue *items; /* owned */
    size_t len, cap;
};

#define SPEC_REPORT_INIT                                                                           \
    {                                                                                              \
        0                                                                                          \
    }

void spec_report_release(struct spec_report *rep);

/* Parses "basic", "enhanced" or "strict"; -1 otherwise. */
int speccheck_level(const char *name);
const char *speccheck_level_name(enum spec_level level);

/* Checks doc (a parsed spec) up to level against spec_schema (components/spec.schema.json,
 * compiled), appending issues to rep. Fails only on an internal error. */
int speccheck(const struct jdoc *doc, enum spec_level level, const struct jsonschema *spec_schema,
              struct spec_report *rep, struct err *err);

#endif
