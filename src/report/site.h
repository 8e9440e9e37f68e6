/* The HTML run report (`osiris logs html`): a static site rendered from run directories alone.
 *
 *   <out>/index.html                 every run given: status, pipeline, start, duration, rows,
 *                                    local or remote, with a text and status filter
 *   <out>/<session id>/index.html    one run: overview (a failed run's step and error first),
 *                                    the step DAG as inline SVG, steps, events (filterable),
 *                                    metrics, the run directory's files with sizes, text logs
 *
 * Pages are self-contained: the stylesheet and script are inlined and the page's
 * Content-Security-Policy allows exactly those two by hash, nothing from the network, so even a
 * string that escaped escaping could not run. Every string from a run is HTML-escaped. Each page
 * is written atomically; pages of runs not given are left alone. */
#ifndef OSIRIS_SITE_H
#define OSIRIS_SITE_H

#include <stddef.h>

#include "err.h"
#include "runlog.h"

/* Writes the index of runs[0..n) (in that order) and a page per run under out_dir (created).
 * logs_dir is shown on the index. ERR_IO naming the file on failure (pages already written
 * stay). *pages counts the files written. */
int site_write(const char *out_dir, const char *logs_dir, const struct runlog *runs, size_t n,
               size_t *pages, struct err *err);

#endif
