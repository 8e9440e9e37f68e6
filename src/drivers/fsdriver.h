/* Helpers shared by the filesystem.* drivers: typed access to step options, path resolution,
 * the single input of a writer, and atomic output files (a temporary file next to the target,
 * fsync, rename), so a failed step never leaves a partial file and an existing target stays as
 * it was. The option readers and fsdriver_single_input() serve the database drivers too. Strings
 * come from the step's arena; nothing here prints. */
#ifndef OSIRIS_FSDRIVER_H
#define OSIRIS_FSDRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "driver.h"

/* ==== Options ====
 * Each reads config[key]: absent or null gives def; a value of the wrong type fails with
 * ERR_INPUT naming the option. Strings are borrowed from config. */
int fsdriver_opt_string(const json_t *config, const char *key, const char *def, const char **out,
                        struct err *err);
int fsdriver_opt_bool(const json_t *config, const char *key, bool def, bool *out, struct err *err);
/* An integer >= min. */
int fsdriver_opt_int(const json_t *config, const char *key, int64_t def, int64_t min, int64_t *out,
                     struct err *err);
/* A string that is one of allowed (NULL-terminated); *index gets its position. */
int fsdriver_opt_enum(const json_t *config, const char *key, const char *const *allowed, size_t def,
                      size_t *index, struct err *err);

/* ==== Paths ==== */

/* The absolute path a configured path names: "~", "~/x" and "~user/x" are home directories; an
 * absolute path is kept; a relative one is joined to base (absolute; "." and "" mean the current
 * directory). In arena a; NULL (ERR_INPUT) for "~user" of an unknown user. */
char *fsdriver_resolve(struct arena *a, const char *path, const char *base, struct err *err);

/* ==== Writers ==== */

/* The one input of a writer (every writer, files and databases alike), borrowed from ctx. Fails
 * (ERR_INPUT) when the step's `needs` is empty or lists several steps, naming them. */
int fsdriver_single_input(const struct driver_ctx *ctx, const struct step_input **in,
                          struct err *err);

/* What every file writer starts from: its one input, the required `path` resolved against the
 * project base path, and `create_dirs` (default true). in is borrowed from ctx, path is in
 * ctx->arena. */
struct fsdriver_target {
    const struct step_input *in;
    const char *path;
    bool create_dirs;
};
int fsdriver_target(struct driver_ctx *ctx, struct fsdriver_target *t, struct err *err);

/* Prefixes a writer's error with "<format> write to '<path>' failed: " (without the path when the
 * message already names it) and returns -1. */
int fsdriver_write_failed(struct err *err, const char *format, const char *path);

struct fsdriver_out {
    const char *path; /* the target, absolute; in the arena */
    char *tmp;        /* the temporary file in the target's directory; in the arena */
    char *dir;        /* the target's directory; in the arena */
    int fd;           /* open for writing on tmp, or -1 once closed */
    mode_t mode;      /* mode of the published file: the old target's, else 0644 */
    bool published;   /* renamed into place: nothing left to remove */
};

/* Prepares an atomic write of path: creates missing parent directories when create_dirs (else
 * a missing directory fails), refuses a directory as target, and creates the empty temporary
 * file, open in o->fd. The state lives in arena a; until fsdriver_out_commit() succeeds,
 * releasing the arena removes the temporary file, so every failure path leaves the directory as
 * it was. NULL with err on failure. */
struct fsdriver_out *fsdriver_out_begin(struct arena *a, const char *path, bool create_dirs,
                                        struct err *err);

/* Writes all of buf to o->fd (ERR_IO naming the target on failure). */
int fsdriver_out_write(struct fsdriver_out *o, const void *buf, size_t len, struct err *err);

/* Closes o->fd without publishing, for a writer that lets DuckDB write o->tmp itself. */
void fsdriver_out_close_fd(struct fsdriver_out *o);

/* Flushes the temporary file to disk, gives it its mode, renames it over the target and syncs
 * the directory. *bytes (may be NULL) gets the file's size. */
int fsdriver_out_commit(struct fsdriver_out *o, int64_t *bytes, struct err *err);

/* Removes the temporary file now (no-op once published). Safe to call more than once. */
void fsdriver_out_abort(struct fsdriver_out *o);

/* ==== Writers built on DuckDB's COPY ==== */

/* Writes the rows of `select` (a query over the step's input) to path with COPY ... TO and the
 * given COPY options ("FORMAT parquet, COMPRESSION 'zstd'"), atomically as above; sets
 * ctx->rows_in, rows_out and bytes_written. */
int fsdriver_copy_to(struct driver_ctx *ctx, const char *select, const char *copy_options,
                     const char *path, bool create_dirs, struct err *err);

#endif
