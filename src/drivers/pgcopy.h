/* PostgreSQL's COPY text format, the default of COPY ... TO STDOUT and FROM STDIN: one line per
 * row, fields separated by tabs, \N for NULL, and backslash escapes for the tabs, newlines and
 * backslashes inside values. The extractor decodes what the server sends and the writer encodes
 * what it sends; both also translate the few value spellings PostgreSQL and DuckDB disagree on
 * (years BC, the '+' signs of intervals). Nothing here allocates except into the strbufs given. */
#ifndef OSIRIS_PGCOPY_H
#define OSIRIS_PGCOPY_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* ==== Decoding (COPY TO STDOUT) ==== */

struct pgcopy_field {
    char *data; /* the decoded bytes, inside the row's buffer; NULL for SQL NULL */
    size_t len;
};

/* Splits a row as PQgetCopyData returns it (ending in a newline) into exactly n fields and
 * decodes their escapes in place (the row's buffer is overwritten). -1 when the row holds another
 * number of fields or does not end in a newline. */
int pgcopy_decode_row(char *row, size_t len, struct pgcopy_field *fields, size_t n);

/* bytea's hex output ("\x00ff", after decode_row) into its bytes, in place; -1 when the value is
 * not in that form (bytea_output must be hex). */
int pgcopy_unhex(struct pgcopy_field *f);

/* An interval in the postgres IntervalStyle for DuckDB: drops the '+' signs PostgreSQL writes
 * when signs are mixed ("-1 years +3 days" → "-1 years 3 days"), in place. */
void pgcopy_interval_to_duckdb(struct pgcopy_field *f);

/* A date, timestamp or timestamptz of a year BC for DuckDB, which reads "0044-03-15 BC" as the
 * year 44 AD but "0044-03-15 (BC)" correctly: "0044-03-15 10:00:00+00 BC" becomes
 * "0044-03-15 (BC) 10:00:00+00". Returns false when f needs no change, else true with the text
 * in scratch (reset first). */
bool pgcopy_bc_to_duckdb(const struct pgcopy_field *f, struct strbuf *scratch);

/* ==== Encoding (COPY FROM STDIN) ==== */

/* Appends \N. */
void pgcopy_put_null(struct strbuf *out);

/* Appends a value, escaping backslash, tab, newline and carriage return. */
void pgcopy_put_text(struct strbuf *out, const char *s, size_t len);

/* Appends a date or timestamp as DuckDB writes it, turning a year BC ("0044-03-15 (BC) 10:00:00")
 * into PostgreSQL's spelling ("0044-03-15 10:00:00 BC"). */
void pgcopy_put_datetime(struct strbuf *out, const char *s, size_t len);

#endif
