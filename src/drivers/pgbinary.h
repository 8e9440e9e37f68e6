/* PostgreSQL's COPY binary format, which postgres.writer sends when it can: a header, then per
 * row a 16-bit field count and per field a 32-bit length (-1 for NULL) and the value as the
 * column type's binary input function (its "recv") reads it, big-endian; a field count of -1
 * ends the data.
 *
 * Why: the server parses the text format at about twice the CPU it spends on the binary one
 * (5M rows of nine common columns: 8.5 s against 4 s), and the server is what limits a COPY.
 * The values come straight from DuckDB's vectors (dataplane.h), so DuckDB does not render them
 * as text either.
 *
 * Only exact encodings exist: a value is encoded in binary only where the column then holds
 * exactly what the text format would have given it (the same integer, the same bits of a
 * double, numeric with the same digits and display scale, the same day and microsecond), which
 * for most pairs of DuckDB and PostgreSQL type means the same type; other pairs (FLOAT into
 * double precision, whose text form rounds differently; BIGINT into integer, which the text
 * input range-checks; VARCHAR into numeric) have no encoder, and the writer then sends the whole
 * COPY as text. Text, varchar, char(n), json and jsonb columns take any value as the text the text
 * format sends, so they never force the text format. */
#ifndef OSIRIS_PGBINARY_H
#define OSIRIS_PGBINARY_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/dataplane.h"
#include "strbuf.h"

struct pgbinary_encoder; /* static; one per pair of DuckDB kind and PostgreSQL type */

/* A column being encoded. */
struct pgbinary_column {
    const struct pgbinary_encoder *enc;
    struct dp_type type; /* of the cursor's column: VARCHAR when pgbinary_reads_text(enc) */
    struct dp_vector v;  /* the values of the current chunk */
};

/* The encoder for values of DuckDB type t into a column whose type has the pg_type OID oid (a
 * built-in type; a domain, enum or extension type has none), or NULL when there is none.
 * as_text: the column's text form (what the text format sends) may be sent instead when the
 * target is a text type; the writer clears it for dates and timestamps, whose text it rewrites
 * for years BC. */
const struct pgbinary_encoder *pgbinary_encoder(const struct dp_type *t, unsigned oid,
                                                bool as_text);

/* Whether the encoder reads the column's text form (a VARCHAR: the same expression the text
 * format selects) rather than the column itself. */
bool pgbinary_reads_text(const struct pgbinary_encoder *e);

/* The strbufs given to these have no maximum: values are written into room made for them. */

/* The signature and header that start the data. */
void pgbinary_put_header(struct strbuf *out);

/* Appends row `row` of the chunk in cols. -1, with nothing appended and *bad set to the column,
 * when a value has no exact binary form (a timestamp beyond PostgreSQL's range, whose text
 * PostgreSQL rejects with its own message; an interval of more hours than the text input reads):
 * the caller sends the data as text instead. */
int pgbinary_put_row(struct strbuf *out, const struct pgbinary_column *cols, size_t n, size_t row,
                     size_t *bad);

/* The -1 that ends the data. */
void pgbinary_put_trailer(struct strbuf *out);

#endif
