/* The type tables. Each direction is a table searched in order; the few rules that depend on more
 * than a name (MySQL's TINYINT(1), DECIMAL digits, binary character sets) sit next to their
 * table. */
#include "typemap.h"
#include "driver.h"

#include <mysql.h>
#include <stdio.h>
#include <string.h>

#define DUCKDB_MAX_DECIMAL   38
#define MYSQL_BINARY_CHARSET 63

/* ==== MySQL → DuckDB ==== */

static const struct {
    int type;
    const char *duck, *duck_unsigned;
} mysql_types[] = {
    { MYSQL_TYPE_TINY, "TINYINT", "UTINYINT" },
    { MYSQL_TYPE_SHORT, "SMALLINT", "USMALLINT" },
    { MYSQL_TYPE_INT24, "INTEGER", "UINTEGER" },
    { MYSQL_TYPE_LONG, "INTEGER", "UINTEGER" },
    { MYSQL_TYPE_LONGLONG, "BIGINT", "UBIGINT" },
    { MYSQL_TYPE_FLOAT, "FLOAT", "FLOAT" },
    { MYSQL_TYPE_DOUBLE, "DOUBLE", "DOUBLE" },
    { MYSQL_TYPE_YEAR, "SMALLINT", "SMALLINT" },
    { MYSQL_TYPE_DATE, "DATE", "DATE" },
    { MYSQL_TYPE_NEWDATE, "DATE", "DATE" },
    { MYSQL_TYPE_TIME, "TIME", "TIME" },
    { MYSQL_TYPE_TIME2, "TIME", "TIME" },
    { MYSQL_TYPE_DATETIME, "TIMESTAMP", "TIMESTAMP" },
    { MYSQL_TYPE_DATETIME2, "TIMESTAMP", "TIMESTAMP" },
    { MYSQL_TYPE_TIMESTAMP, "TIMESTAMPTZ", "TIMESTAMPTZ" },
    { MYSQL_TYPE_TIMESTAMP2, "TIMESTAMPTZ", "TIMESTAMPTZ" },
    { MYSQL_TYPE_JSON, "JSON", "JSON" },
    { MYSQL_TYPE_ENUM, "VARCHAR", "VARCHAR" },
    { MYSQL_TYPE_SET, "VARCHAR", "VARCHAR" },
    { MYSQL_TYPE_GEOMETRY, "BLOB", "BLOB" },
    { MYSQL_TYPE_NULL, "VARCHAR", "VARCHAR" },
};

/* Strings and blobs: BLOB when the character set is binary, else VARCHAR. */
static const int mysql_string_types[] = {
    MYSQL_TYPE_VARCHAR,     MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_STRING, MYSQL_TYPE_TINY_BLOB,
    MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB,  MYSQL_TYPE_BLOB,
};

/* MariaDB's own types, by the name its extended metadata gives them (they arrive as strings,
 * some with the binary character set, which would otherwise make them BLOB). */
static const struct {
    const char *name;
    const char *duck;
} mariadb_types[] = {
    { "uuid", "UUID" },
    { "inet4", "VARCHAR" },
    { "inet6", "VARCHAR" },
};

const char *typemap_mysql_to_duckdb(struct arena *a, const struct typemap_mysql_field *f)
{
    bool is_unsigned = f->flags & UNSIGNED_FLAG;
    if (f->format && strcmp(f->format, "json") == 0)
        return "JSON";
    for (size_t i = 0; f->data_type && i < NELEM(mariadb_types); i++)
        if (strcmp(f->data_type, mariadb_types[i].name) == 0)
            return mariadb_types[i].duck;
    if (f->flags & (ENUM_FLAG | SET_FLAG))
        return "VARCHAR";
    if (f->type == MYSQL_TYPE_TINY && f->length == 1 && !is_unsigned)
        return "BOOLEAN";
    if (f->type == MYSQL_TYPE_BIT)
        return f->length == 1 ? "BOOLEAN" : "UBIGINT";
    if (f->type == MYSQL_TYPE_DECIMAL || f->type == MYSQL_TYPE_NEWDECIMAL) {
        /* length counts the digits, the point (when there are decimals) and the sign. */
        unsigned long digits = f->length - (f->decimals ? 1 : 0) - (is_unsigned ? 0 : 1);
        if (digits < 1)
            digits = 1;
        if (digits > DUCKDB_MAX_DECIMAL || f->decimals > digits)
            return "VARCHAR";
        return arena_printf(a, "DECIMAL(%lu,%u)", digits, f->decimals);
    }
    for (size_t i = 0; i < NELEM(mysql_string_types); i++)
        if (f->type == mysql_string_types[i])
            return f->charsetnr == MYSQL_BINARY_CHARSET ? "BLOB" : "VARCHAR";
    for (size_t i = 0; i < NELEM(mysql_types); i++)
        if (f->type == mysql_types[i].type)
            return is_unsigned ? mysql_types[i].duck_unsigned : mysql_types[i].duck;
    return "VARCHAR";
}

/* ==== PostgreSQL → DuckDB ==== */

/* OIDs of pg_type (src/include/catalog/pg_type.dat); stable across PostgreSQL versions. text:
 * what the extractor does to the COPY text of a value of the type. */
static const struct {
    unsigned oid;
    const char *duck;
    enum typemap_pg_text text;
} pg_types[] = {
    { 16, "BOOLEAN", TYPEMAP_PG_ASIS },           /* bool */
    { 17, "BLOB", TYPEMAP_PG_BYTEA },             /* bytea */
    { 18, "VARCHAR", TYPEMAP_PG_ASIS },           /* "char" */
    { 19, "VARCHAR", TYPEMAP_PG_ASIS },           /* name */
    { 20, "BIGINT", TYPEMAP_PG_ASIS },            /* int8 */
    { 21, "SMALLINT", TYPEMAP_PG_ASIS },          /* int2 */
    { 23, "INTEGER", TYPEMAP_PG_ASIS },           /* int4 */
    { 25, "VARCHAR", TYPEMAP_PG_ASIS },           /* text */
    { 26, "UINTEGER", TYPEMAP_PG_ASIS },          /* oid */
    { 114, "JSON", TYPEMAP_PG_ASIS },             /* json */
    { 700, "FLOAT", TYPEMAP_PG_ASIS },            /* float4 */
    { 701, "DOUBLE", TYPEMAP_PG_ASIS },           /* float8 */
    { 1042, "VARCHAR", TYPEMAP_PG_ASIS },         /* bpchar */
    { 1043, "VARCHAR", TYPEMAP_PG_ASIS },         /* varchar */
    { 1082, "DATE", TYPEMAP_PG_DATETIME },        /* date */
    { 1083, "TIME", TYPEMAP_PG_ASIS },            /* time */
    { 1114, "TIMESTAMP", TYPEMAP_PG_DATETIME },   /* timestamp */
    { 1184, "TIMESTAMPTZ", TYPEMAP_PG_DATETIME }, /* timestamptz */
    { 1186, "INTERVAL", TYPEMAP_PG_INTERVAL },    /* interval */
    { 1266, "TIMETZ", TYPEMAP_PG_ASIS },          /* timetz */
    { 2950, "UUID", TYPEMAP_PG_ASIS },            /* uuid */
    { 3802, "JSON", TYPEMAP_PG_ASIS },            /* jsonb */
};

#define PG_NUMERIC_OID 1700
#define PG_VARHDRSZ    4

const char *typemap_pg_to_duckdb(struct arena *a, unsigned oid, int typmod)
{
    if (oid == PG_NUMERIC_OID) {
        if (typmod < PG_VARHDRSZ)
            return "VARCHAR"; /* numeric without precision: any number of digits */
        int precision = ((typmod - PG_VARHDRSZ) >> 16) & 0xffff;
        /* The scale is 11 bits, signed: PostgreSQL 15 allows numeric(5,-2) (hundreds) and
         * numeric(3,5) (0.00xyz), which need p - s and s digits. */
        int scale = (((typmod - PG_VARHDRSZ) & 0x7ff) ^ 0x400) - 0x400;
        int digits = scale < 0 ? precision - scale : scale > precision ? scale : precision;
        if (precision < 1 || digits > DUCKDB_MAX_DECIMAL)
            return "VARCHAR";
        return arena_printf(a, "DECIMAL(%d,%d)", digits, scale < 0 ? 0 : scale);
    }
    for (size_t i = 0; i < NELEM(pg_types); i++)
        if (pg_types[i].oid == oid)
            return pg_types[i].duck;
    return "VARCHAR";
}

enum typemap_pg_text typemap_pg_text_of(unsigned oid)
{
    for (size_t i = 0; i < NELEM(pg_types); i++)
        if (pg_types[i].oid == oid)
            return pg_types[i].text;
    return TYPEMAP_PG_ASIS;
}

/* ==== DuckDB → target DDL ==== */

/* Exact DuckDB type names (as DESCRIBE prints them) and their targets; DECIMAL(p,s) and nested
 * types are handled by duckdb_to(). key_mysql: the MySQL type when the column is a key. */
static const struct {
    const char *duck;
    const char *pg;
    const char *mysql, *key_mysql;
} duck_types[] = {
    { "BOOLEAN", "BOOLEAN", "TINYINT(1)", NULL },
    { "TINYINT", "SMALLINT", "TINYINT", NULL },
    { "SMALLINT", "SMALLINT", "SMALLINT", NULL },
    { "INTEGER", "INTEGER", "INT", NULL },
    { "BIGINT", "BIGINT", "BIGINT", NULL },
    { "HUGEINT", "NUMERIC(39,0)", "DECIMAL(39,0)", NULL },
    { "UTINYINT", "SMALLINT", "TINYINT UNSIGNED", NULL },
    { "USMALLINT", "INTEGER", "SMALLINT UNSIGNED", NULL },
    { "UINTEGER", "BIGINT", "INT UNSIGNED", NULL },
    { "UBIGINT", "NUMERIC(20,0)", "BIGINT UNSIGNED", NULL },
    { "UHUGEINT", "NUMERIC(39,0)", "DECIMAL(39,0) UNSIGNED", NULL },
    { "FLOAT", "REAL", "FLOAT", NULL },
    { "DOUBLE", "DOUBLE PRECISION", "DOUBLE", NULL },
    { "VARCHAR", "TEXT", "LONGTEXT", "VARCHAR(255)" },
    { "BLOB", "BYTEA", "LONGBLOB", "VARBINARY(255)" },
    { "DATE", "DATE", "DATE", NULL },
    { "TIME", "TIME", "TIME(6)", NULL },
    { "TIME_NS", "TIME", "TIME(6)", NULL },
    { "TIME WITH TIME ZONE", "TIME WITH TIME ZONE", "TIME(6)", NULL },
    { "TIMESTAMP", "TIMESTAMP", "DATETIME(6)", NULL },
    { "TIMESTAMP_S", "TIMESTAMP(0)", "DATETIME", NULL },
    { "TIMESTAMP_MS", "TIMESTAMP(3)", "DATETIME(3)", NULL },
    { "TIMESTAMP_NS", "TIMESTAMP", "DATETIME(6)", NULL },
    { "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "DATETIME(6)", NULL },
    { "INTERVAL", "INTERVAL", "VARCHAR(64)", NULL },
    { "JSON", "JSONB", "JSON", NULL },
    { "UUID", "UUID", "CHAR(36)", NULL },
    { "BIT", "VARBIT", "LONGTEXT", "VARCHAR(255)" },
    { "BIGNUM", "NUMERIC", "LONGTEXT", "VARCHAR(255)" },
};

enum dialect { DIALECT_PG, DIALECT_MYSQL };

static const char *duckdb_to(struct arena *a, const char *t, enum dialect d, bool key)
{
    unsigned p, s;
    if (sscanf(t, "DECIMAL(%u,%u)", &p, &s) == 2)
        return arena_printf(a, d == DIALECT_PG ? "NUMERIC(%u,%u)" : "DECIMAL(%u,%u)", p, s);
    for (size_t i = 0; i < NELEM(duck_types); i++)
        if (strcmp(t, duck_types[i].duck) == 0) {
            if (d == DIALECT_PG)
                return duck_types[i].pg;
            return key && duck_types[i].key_mysql ? duck_types[i].key_mysql : duck_types[i].mysql;
        }
    /* LIST, arrays, STRUCT, MAP, UNION are written in their JSON form; anything else (ENUM, a
     * type a later DuckDB adds) as its text, which every type has. */
    if (typemap_duckdb_is_nested(t))
        return d == DIALECT_PG ? "JSONB" : "JSON";
    return d == DIALECT_PG ? "TEXT" : key ? "VARCHAR(255)" : "LONGTEXT";
}

bool typemap_duckdb_is_nested(const char *t)
{
    size_t n = strlen(t);
    return (n && t[n - 1] == ']') || strncmp(t, "STRUCT(", 7) == 0 || strncmp(t, "MAP(", 4) == 0 ||
           strncmp(t, "UNION(", 6) == 0;
}

const char *typemap_duckdb_to_pg(struct arena *a, const char *duckdb_type)
{
    return duckdb_to(a, duckdb_type, DIALECT_PG, false);
}

const char *typemap_duckdb_to_mysql(struct arena *a, const char *duckdb_type, bool key)
{
    return duckdb_to(a, duckdb_type, DIALECT_MYSQL, key);
}

bool typemap_duckdb_is_binary(const char *duckdb_type)
{
    return strcmp(duckdb_type, "BLOB") == 0;
}
