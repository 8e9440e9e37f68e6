/* File helpers: whole-file reads, atomic writes (temp file + fsync + rename, so a reader never
 * sees half a file), and mkdir -p. */
#ifndef OSIRIS_FILES_H
#define OSIRIS_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "arena.h"
#include "err.h"
#include "strbuf.h"

/* Appends the file's bytes to out. ERR_IO naming the path on failure. */
int files_read(const char *path, struct strbuf *out, struct err *err);

/* Writes data to path atomically with the given mode (e.g. 0644). */
int files_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                       struct err *err);

/* Writes data to path (created or truncated) without syncing: for files inside a directory that
 * is synced as a whole (files_sync_fs) and then renamed into place. */
int files_write(const char *path, const void *data, size_t len, mode_t mode, struct err *err);

/* Flushes every pending write of the file system holding path (syncfs): one call instead of an
 * fsync per file when a directory of many files is published at once. */
int files_sync_fs(const char *path, struct err *err);

/* fsync of a directory, so a rename inside it is durable. */
int files_sync_dir(const char *path, struct err *err);

/* Removes path and everything below it (no error when it does not exist). Symbolic links are
 * removed, never followed. */
int files_remove_tree(const char *path, struct err *err);

/* Copies the tree under from into to (created as needed); files are copied byte for byte,
 * symbolic links are skipped. */
int files_copy_tree(const char *from, const char *to, struct err *err);

/* Writes all of data to fd, retrying short writes and EINTR; -1 with errno set. */
int files_write_all(int fd, const void *data, size_t len);

/* Creates path and its missing parents (mode 0755). *created (may be NULL) tells whether the
 * last component did not exist before. */
int files_mkdirs(const char *path, bool *created, struct err *err);

/* "~" and "~/x" are the home directory ($HOME, else the password database), "~user/x" that
 * user's; other paths are returned as they are. NULL for an unknown user. In arena a. */
const char *files_expand_tilde(struct arena *a, const char *path);

/* The names in directory path but "." and "..", sorted bytewise (so walks are deterministic),
 * in arena a, NULL-terminated; *n counts them. NULL with *n 0 when path cannot be read. */
const char **files_list(struct arena *a, const char *path, size_t *n);

bool files_exists(const char *path);
bool files_is_dir(const char *path);

#endif
