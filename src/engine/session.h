/* The run session: the run directory's structured record. Every line goes through the run's
 * redactor before it is written, and nothing else writes these files:
 *   events.jsonl   {"ts","session","event",...fields}, one compact JSON object per line;
 *   metrics.jsonl  {"ts","session","metric","value","unit"[,"step_id"],...};
 *   osiris.log     "<ts> <LEVEL> [<run id>] <message>" (INFO and up; DEBUG with verbose);
 *   debug.log      every level, only when verbose.
 * ts is ISO-8601 UTC with microseconds and "+00:00". Lines are flushed as written, so a crash
 * leaves a readable record. An observer (the CLI's progress display) may watch events. */
#ifndef OSIRIS_SESSION_H
#define OSIRIS_SESSION_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "err.h"
#include "json.h"
#include "redact.h"

struct session; /* opaque */

enum session_level { SESSION_DEBUG, SESSION_INFO, SESSION_WARNING, SESSION_ERROR };

/* Called for every event after it is written (redacted copy, borrowed). */
typedef void session_observer(void *data, const char *event, const json_t *fields);

/* Creates run_dir (and parents) and opens its files. redactor is borrowed and must outlive the
 * session. */
struct session *session_open(const char *run_dir, const char *run_id, const struct redactor *r,
                             bool verbose, struct err *err);

/* The same session as frames on out, one JSON object per line: {"type":"event","event":name,
 * ...}, {"type":"metric","metric":name, ...} and {"type":"log","level":L,"message":M}, redacted
 * like the files (the remote worker; protocol.md). run_dir is where the run's other files go.
 * out is borrowed and stays open. */
struct session *session_open_stream(FILE *out, const char *run_dir, const char *run_id,
                                    const struct redactor *r, bool verbose, struct err *err);

/* Closes the files; NULL is fine. Returns -1 (err set, first error wins) when a write failed at
 * any time, 0 otherwise. */
int session_close(struct session *s, struct err *err);

void session_set_observer(struct session *s, session_observer *fn, void *data);

/* Appends an event; fields (may be NULL) is stolen. */
void session_event(struct session *s, const char *name, json_t *fields);

/* Appends a metric with its unit ("rows", "ms", "bytes", ...) and, when step_id is not NULL, the
 * step it belongs to; extra (may be NULL) is stolen and merged. */
void session_metric(struct session *s, const char *name, json_t *value, const char *unit,
                    const char *step_id, json_t *extra);

void session_log(struct session *s, enum session_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The run directory and run id (borrowed). */
const char *session_dir(const struct session *s);
const char *session_run_id(const struct session *s);

/* Current time: ISO-8601 UTC with microseconds ("2026-11-26T10:01:47.022463+00:00") into buf,
 * and milliseconds since the epoch. */
void session_now(char buf[40]);
uint64_t session_now_ms(void);

/* Milliseconds on a clock that never steps back (durations; NTP may move the wall clock). */
uint64_t session_clock_ms(void);
/* The same clock, cheap enough to read once per row but up to a few milliseconds behind. */
uint64_t session_coarse_clock_ms(void);

#endif
