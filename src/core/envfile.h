/* .env files: KEY=VALUE lines loaded into the process environment without overriding variables
 * that are already set (an exported empty value counts as set).
 *
 * Format: blank lines and lines starting with '#' are ignored; `export KEY=VALUE` is accepted;
 * KEY matches [A-Za-z_][A-Za-z0-9_]*; VALUE may be 'single-quoted' (literal), "double-quoted"
 * (\n \t \" \\ escapes) or bare (trailing spaces and an unquoted " #comment" are dropped).
 * A malformed line is an error naming file:line (ERR_INPUT). Values are never written anywhere. */
#ifndef OSIRIS_ENVFILE_H
#define OSIRIS_ENVFILE_H

#include "err.h"
#include "strbuf.h"

/* Loads one file; a missing file is not an error (returns 0 and loads nothing). */
int envfile_load(const char *path, struct err *err);

/* Loads $OSIRIS_HOME/.env (when OSIRIS_HOME is set), then ./.env, skipping a file already
 * loaded. The paths of the files that were read are appended to loaded (one per line) when it
 * is not NULL. Earlier files win, since a loaded variable counts as set. */
int envfile_load_defaults(struct strbuf *loaded, struct err *err);

#endif
