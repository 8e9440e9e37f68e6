/* Files compiled into the binary (tools/embed.c writes the table at build time): the component
 * specs, components/spec.schema.json and the JSON Schema meta-schema. All data is static. */
#ifndef OSIRIS_EMBEDDED_H
#define OSIRIS_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
    const char *path;          /* repository-relative, e.g. "components/mysql.writer/spec.yaml" */
    const unsigned char *data; /* the exact file bytes, followed by a NUL */
    size_t len;                /* length without the NUL */
};

/* Sorted by path; ends with an entry whose path is NULL. */
extern const struct embedded_file embedded_files[];

/* The file with that exact path, or NULL. */
const struct embedded_file *embedded_find(const char *path);

#endif
