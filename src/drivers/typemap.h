/* Type maps between the databases osiris moves data between and DuckDB, the run's data plane: one
 * table per direction and dialect (DESIGN §6), so that a type's journey MySQL → DuckDB →
 * PostgreSQL can be read in one file. docs/components/types.md is the user's version of these
 * tables, with the policies for values a target cannot hold.
 *
 * Every function returns a type name in DuckDB's or the target's SQL syntax, in arena a (or a
 * literal). Unknown source types become VARCHAR: their text form survives; nothing is guessed. */
#ifndef OSIRIS_TYPEMAP_H
#define OSIRIS_TYPEMAP_H

#include <stdbool.h>

#include "arena.h"

/* A MySQL/MariaDB result column as libmariadb describes it (MYSQL_FIELD): type is an
 * enum_field_types value; flags hold UNSIGNED_FLAG, ENUM_FLAG, SET_FLAG...; length is the
 * column's display width (for DECIMAL: digits plus sign and point); charsetnr 63 means binary. */
struct typemap_mysql_field {
    int type;
    unsigned flags;
    unsigned long length;
    unsigned decimals;
    unsigned charsetnr;
    const char *format;    /* MariaDB extended metadata: "json" for a JSON column, else NULL */
    const char *data_type; /* MariaDB extended metadata: its own types ("uuid", "inet6"), or NULL */
};

/* MySQL → DuckDB. TINYINT(1) is BOOLEAN (MySQL's own convention for bool columns; the extractor
 * refuses values other than 0 and 1); unsigned
 * integers keep their range (UTINYINT ... UBIGINT); DECIMAL(p,s) keeps p and s up to 38 digits
 * and becomes VARCHAR beyond (DuckDB's limit; the text is exact); DATETIME is TIMESTAMP and
 * TIMESTAMP is TIMESTAMPTZ (MySQL stores it in UTC; the extractor reads in a UTC session);
 * binary strings and BLOBs are BLOB; BIT(1) is BOOLEAN and BIT(n) UBIGINT; ENUM and SET are
 * VARCHAR; JSON is JSON (MySQL's JSON type, and MariaDB's JSON alias of LONGTEXT as its extended
 * metadata tells); MariaDB's UUID is UUID and INET4/INET6 are VARCHAR. */
const char *typemap_mysql_to_duckdb(struct arena *a, const struct typemap_mysql_field *f);

/* PostgreSQL → DuckDB, by type OID and typmod (PQftype, PQfmod). NUMERIC(p,s) keeps p and s up to
 * 38 digits (a negative scale, or one above p, widens to the digits the values need); NUMERIC
 * without a precision, or beyond 38, is VARCHAR (exact text; DuckDB has no unbounded decimal); json
 * and jsonb are JSON; arrays, enums, ranges and other types without a DuckDB equivalent are VARCHAR
 * in PostgreSQL's text form. */
const char *typemap_pg_to_duckdb(struct arena *a, unsigned oid, int typmod);

/* What a PostgreSQL type's COPY text needs before DuckDB reads it (see pgcopy.h). */
enum typemap_pg_text {
    TYPEMAP_PG_ASIS,     /* nothing */
    TYPEMAP_PG_BYTEA,    /* bytea's hex form turned into its bytes */
    TYPEMAP_PG_INTERVAL, /* the '+' signs of mixed-sign intervals dropped */
    TYPEMAP_PG_DATETIME, /* years BC of date, timestamp, timestamptz respelled */
};
enum typemap_pg_text typemap_pg_text_of(unsigned oid);

/* DuckDB → PostgreSQL DDL (create_if_missing), in upper case as DDL is written by hand. Unsigned
 * integers widen to the next signed type (UBIGINT to NUMERIC(20,0)), HUGEINT is NUMERIC(39,0),
 * JSON is JSONB, nested types (LIST, STRUCT, MAP) are JSONB holding their JSON form. */
const char *typemap_duckdb_to_pg(struct arena *a, const char *duckdb_type);

/* DuckDB → MySQL DDL (create_table). key: the column is part of a primary or unique key, where
 * MySQL needs a bounded length (VARCHAR(255) instead of LONGTEXT, VARBINARY(255) for BLOB).
 * TIMESTAMP and TIMESTAMPTZ are DATETIME(6) (MySQL's TIMESTAMP ends in 2038; TIMESTAMPTZ values
 * are written in UTC), TIMESTAMP_S/_MS/_NS DATETIME with 0, 3 and 6 digits (nanoseconds are
 * truncated when written), TIMETZ is TIME(6) (written as its UTC time of day), UUID is CHAR(36),
 * nested types are JSON, BIT, BIGNUM and unknown types LONGTEXT holding their text. */
const char *typemap_duckdb_to_mysql(struct arena *a, const char *duckdb_type, bool key);

/* True for LIST (T[]), arrays (T[n]), STRUCT, MAP and UNION, which writers send in their JSON
 * form. */
bool typemap_duckdb_is_nested(const char *duckdb_type);

/* True for DuckDB types whose values the writers send as bytes (BLOB) rather than text. */
bool typemap_duckdb_is_binary(const char *duckdb_type);

#endif
