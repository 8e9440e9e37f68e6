/* .env files: KEY=VALUE lines loaded into the process environment without overriding variables
 * that are already set (an exported empty value counts as set).
 *
 * Format: blank lines and lines starting with '#' are ignored; `export KEY=VALUE` is accepted;
 * KEY matches [A-Za-z_][A-Za-z0-9_]*, with optional blanks around '='; VALUE may be
 * 'single-quoted' (literal), "double-quoted" (\n \t \" \\ escapes; other backslashes are kept
 * as written) or bare (trailing blanks and a " #comment" are dropped; a '#' not preceded by a
 * blank is data). Quoted values end on their line; after the closing quote only a comment may
 * follow. There is no ${VAR} interpolation. CRLF line ends and a UTF-8 BOM are accepted.
 * Within one file the last assignment of a key wins (as when a shell sources it).
 *
 * A malformed line (no '=', bad key, unterminated quote, text after a quote) is an error naming
 * file:line (ERR_INPUT) and the whole file is then loaded not at all. Values are never written
 * anywhere, error messages included; a message names at most the key. */
#ifndef OSIRIS_ENVFILE_H
#define OSIRIS_ENVFILE_H

#include "err.h"
#include "strbuf.h"

/* Loads one file; a missing file is not an error (returns 0 and loads nothing). An unreadable
 * one is (ERR_IO). */
int envfile_load(const char *path, struct err *err);

/* Loads $OSIRIS_HOME/.env (when OSIRIS_HOME is set and not empty), then ./.env, skipping a file
 * already loaded in this call (same device and inode, so a symlinked or repeated directory is
 * read once). The paths of the files that were read are appended to loaded (one per line, the
 * cwd file as an absolute path) when it is not NULL. Earlier files win, since a loaded variable
 * counts as set. Calling it again is harmless: nothing already set changes. */
int envfile_load_defaults(struct strbuf *loaded, struct err *err);

#endif
