/* COPY binary format (see pgbinary.h): each type's layout is that of its send/recv functions in
 * PostgreSQL's src/backend/utils/adt; the header and framing are those of copyfromparse.c. */
#include "pgbinary.h"

#include <endian.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

/* pg_type OIDs of built-in types: fixed since they were added (pg_type.dat). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_JSON = 114,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_BPCHAR = 1042,
    OID_VARCHAR = 1043,
    OID_DATE = 1082,
    OID_TIME = 1083,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_INTERVAL = 1186,
    OID_NUMERIC = 1700,
    OID_UUID = 2950,
    OID_JSONB = 3802,
};

/* Appends the field (length and bytes) of row `row`; -1 when the value has no exact binary form
 * (nothing appended). */
typedef int put_fn(struct strbuf *out, const struct pgbinary_column *c, size_t row);

struct pgbinary_encoder {
    enum dp_kind kind;
    unsigned oid;
    put_fn *put;
};

/* ==== Writing ==== */

/* Room for n more bytes at the end of out (and its NUL), written directly and then counted by
 * adding to out->len: strbuf_add per piece costs more than the encoding. */
static unsigned char *room(struct strbuf *out, size_t n)
{
    if (out->cap - out->len <= n)
        strbuf_grow(out, n);
    return (unsigned char *)out->buf + out->len;
}

static void be16(unsigned char *p, uint16_t v)
{
    v = htobe16(v);
    memcpy(p, &v, sizeof(v));
}

static void be32(unsigned char *p, uint32_t v)
{
    v = htobe32(v);
    memcpy(p, &v, sizeof(v));
}

static void be64(unsigned char *p, uint64_t v)
{
    v = htobe64(v);
    memcpy(p, &v, sizeof(v));
}

static void put4(struct strbuf *out, uint32_t v)
{
    unsigned char *p = room(out, 8);
    be32(p, 4);
    be32(p + 4, v);
    out->len += 8;
}

static void put8(struct strbuf *out, uint64_t v)
{
    unsigned char *p = room(out, 12);
    be32(p, 8);
    be64(p + 4, v);
    out->len += 12;
}

static int put_raw(struct strbuf *out, const char *prefix, size_t plen, const char *s, size_t len)
{
    if (len + plen > INT32_MAX)
        return -1; /* beyond any field PostgreSQL takes (1 GB): its text input says so */
    unsigned char *p = room(out, 4 + plen + len);
    be32(p, (uint32_t)(plen + len));
    memcpy(p + 4, prefix, plen);
    memcpy(p + 4 + plen, s, len);
    out->len += 4 + plen + len;
    return 0;
}

/* ==== Reading DuckDB's values ==== */

static int64_t load_i8(const void *d, size_t r)
{
    return ((const int8_t *)d)[r];
}
static int64_t load_i16(const void *d, size_t r)
{
    return ((const int16_t *)d)[r];
}
static int64_t load_i32(const void *d, size_t r)
{
    return ((const int32_t *)d)[r];
}
static int64_t load_i64(const void *d, size_t r)
{
    return ((const int64_t *)d)[r];
}
static int64_t load_u8(const void *d, size_t r)
{
    return ((const uint8_t *)d)[r];
}
static int64_t load_u16(const void *d, size_t r)
{
    return ((const uint16_t *)d)[r];
}
static int64_t load_u32(const void *d, size_t r)
{
    return ((const uint32_t *)d)[r];
}

/* Integer kinds that fit int64_t, by kind. */
static int64_t (*const load_int[])(const void *, size_t) = {
    [DP_TINYINT] = load_i8,   [DP_SMALLINT] = load_i16, [DP_INTEGER] = load_i32,
    [DP_BIGINT] = load_i64,   [DP_UTINYINT] = load_u8,  [DP_USMALLINT] = load_u16,
    [DP_UINTEGER] = load_u32,
};

/* A value as sign and magnitude, for numeric. */
struct mag {
    bool neg;
    u128 m;
};

static struct mag mag_of_i64(int64_t v)
{
    /* The magnitude of INT64_MIN does not fit int64_t: negate in unsigned arithmetic. */
    return (struct mag){ v < 0, v < 0 ? (u128)(0 - (uint64_t)v) : (u128)v };
}

static struct mag mag_of_hugeint(const struct dp_hugeint *h)
{
    u128 v = ((u128)(uint64_t)h->upper << 64) | h->lower;
    return (struct mag){ h->upper < 0, h->upper < 0 ? 0 - v : v };
}

static struct mag wide_int(const struct pgbinary_column *c, size_t r)
{
    return mag_of_i64(load_int[c->type.kind](c->v.data, r));
}
static struct mag wide_u64(const struct pgbinary_column *c, size_t r)
{
    return (struct mag){ false, ((const uint64_t *)c->v.data)[r] };
}
static struct mag wide_hugeint(const struct pgbinary_column *c, size_t r)
{
    return mag_of_hugeint((const struct dp_hugeint *)c->v.data + r);
}
static struct mag wide_uhugeint(const struct pgbinary_column *c, size_t r)
{
    const struct dp_uhugeint *h = (const struct dp_uhugeint *)c->v.data + r;
    return (struct mag){ false, ((u128)h->upper << 64) | h->lower };
}

/* Integer kinds as sign and magnitude, by kind. */
static struct mag (*const load_wide[])(const struct pgbinary_column *, size_t) = {
    [DP_TINYINT] = wide_int,       [DP_SMALLINT] = wide_int, [DP_INTEGER] = wide_int,
    [DP_BIGINT] = wide_int,        [DP_UTINYINT] = wide_int, [DP_USMALLINT] = wide_int,
    [DP_UINTEGER] = wide_int,      [DP_UBIGINT] = wide_u64,  [DP_HUGEINT] = wide_hugeint,
    [DP_UHUGEINT] = wide_uhugeint,
};

static struct mag dec16(const void *d, size_t r)
{
    return mag_of_i64(((const int16_t *)d)[r]);
}
static struct mag dec32(const void *d, size_t r)
{
    return mag_of_i64(((const int32_t *)d)[r]);
}
static struct mag dec64(const void *d, size_t r)
{
    return mag_of_i64(((const int64_t *)d)[r]);
}
static struct mag dec128(const void *d, size_t r)
{
    return mag_of_hugeint((const struct dp_hugeint *)d + r);
}

/* DECIMAL values by their storage's bytes. */
static struct mag (*const load_decimal[17])(const void *, size_t) = {
    [2] = dec16,
    [4] = dec32,
    [8] = dec64,
    [16] = dec128,
};

/* ==== Encoders ==== */

static int put_bool(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    unsigned char *p = room(out, 5);
    be32(p, 1);
    p[4] = ((const uint8_t *)c->v.data)[row] != 0;
    out->len += 5;
    return 0;
}

/* Integers into a type at least as wide: the same number the text form gives. */
static int put_int2(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    unsigned char *p = room(out, 6);
    be32(p, 2);
    be16(p + 4, (uint16_t)load_int[c->type.kind](c->v.data, row));
    out->len += 6;
    return 0;
}

static int put_int4(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    put4(out, (uint32_t)load_int[c->type.kind](c->v.data, row));
    return 0;
}

static int put_int8(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    put8(out, (uint64_t)load_int[c->type.kind](c->v.data, row));
    return 0;
}

/* Divides *m by `by` (at most 10000) and returns the remainder; 64-bit division while the value
 * fits, which is most of the time and much cheaper than the 128-bit one. */
static unsigned divmod(u128 *m, unsigned by)
{
    if (*m <= UINT64_MAX) {
        uint64_t v = (uint64_t)*m;
        *m = v / by;
        return (unsigned)(v % by);
    }
    unsigned rem = (unsigned)(*m % by);
    *m /= by;
    return rem;
}

/* numeric: the value v.m / 10^scale as digit count, weight (of the first digit, in powers of
 * 10000), sign, display scale and base-10000 digits, most significant first, without leading or
 * trailing zero digits (as the server stores it). The display scale is the DECIMAL's scale, as
 * in its text ("1.50"); a numeric(p,s) column rounds it to s itself, as for the text. */
static void put_numeric(struct strbuf *out, struct mag v, unsigned scale)
{
    static const unsigned tens[] = { 1, 10, 100, 1000 };
    uint16_t d[24]; /* least significant first; 39 integer digits and 38 decimals fit */
    size_t n = 0, nfrac = (scale + 3) / 4;
    unsigned r = scale % 4;
    /* The last group of decimals holds the last r of them, followed by 4 - r zeros. */
    if (r)
        d[n++] = (uint16_t)(divmod(&v.m, tens[r]) * tens[4 - r]);
    while (n < nfrac)
        d[n++] = (uint16_t)divmod(&v.m, 10000);
    int weight = -1;
    while (v.m) {
        d[n++] = (uint16_t)divmod(&v.m, 10000);
        weight++;
    }
    size_t lo = 0;
    while (n > lo && d[n - 1] == 0) {
        n--;
        weight--;
    }
    while (lo < n && d[lo] == 0)
        lo++;
    size_t nd = n - lo;
    if (nd == 0)
        weight = 0;
    unsigned char *p = room(out, 12 + 2 * nd);
    be32(p, (uint32_t)(8 + 2 * nd));
    be16(p + 4, (uint16_t)nd);
    be16(p + 6, (uint16_t)(int16_t)weight);
    be16(p + 8, v.neg && nd ? 0x4000 : 0x0000);
    be16(p + 10, (uint16_t)scale);
    for (size_t i = 0; i < nd; i++)
        be16(p + 12 + 2 * i, d[n - 1 - i]);
    out->len += 12 + 2 * nd;
}

static int put_numeric_int(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    put_numeric(out, load_wide[c->type.kind](c, row), 0);
    return 0;
}

static int put_numeric_decimal(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    put_numeric(out, load_decimal[c->type.bytes](c->v.data, row), c->type.scale);
    return 0;
}

/* Floats keep their bits (the text form is the shortest that reads back as the same bits), but
 * every NaN becomes the one NaN the server's text input makes. */
static int put_float4(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    float f = ((const float *)c->v.data)[row];
    uint32_t bits;
    if (isnan(f))
        f = NAN;
    memcpy(&bits, &f, sizeof(bits));
    put4(out, bits);
    return 0;
}

static int put_float8(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    double f = ((const double *)c->v.data)[row];
    uint64_t bits;
    if (isnan(f))
        f = (double)NAN;
    memcpy(&bits, &f, sizeof(bits));
    put8(out, bits);
    return 0;
}

/* PostgreSQL counts days and microseconds from 2000-01-01, DuckDB from 1970-01-01; both mark
 * infinity with the largest value and -infinity with the smallest (DuckDB: minus the largest). */
#define PG_EPOCH_DAYS   10957
#define PG_EPOCH_MICROS INT64_C(946684800000000)

static int put_date(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    int32_t d = ((const int32_t *)c->v.data)[row];
    int64_t pg = (int64_t)d - PG_EPOCH_DAYS;
    if (d == INT32_MAX || d == -INT32_MAX)
        pg = d == INT32_MAX ? INT32_MAX : INT32_MIN;
    else if (pg <= INT32_MIN) /* would read as -infinity, or wrap */
        return -1;
    put4(out, (uint32_t)(int32_t)pg);
    return 0;
}

static int put_timestamp(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    int64_t t = ((const int64_t *)c->v.data)[row], pg;
    if (t == INT64_MAX || t == -INT64_MAX)
        pg = t == INT64_MAX ? INT64_MAX : INT64_MIN;
    else if (__builtin_sub_overflow(t, PG_EPOCH_MICROS, &pg) || pg == INT64_MIN)
        return -1; /* years before 290000 BC, which the server refuses anyway */
    put8(out, (uint64_t)pg);
    return 0;
}

static int put_time(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    put8(out, (uint64_t)((const int64_t *)c->v.data)[row]);
    return 0;
}

#define MICROS_PER_HOUR INT64_C(3600000000)

/* interval: microseconds, days, months. The text form spells the microseconds as hours:minutes:
 * seconds, and a server may read no more hours than an int holds: beyond that, the text decides. */
static int put_interval(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    const struct dp_interval *iv = (const struct dp_interval *)c->v.data + row;
    int64_t hours = iv->micros / MICROS_PER_HOUR;
    if (hours > INT32_MAX || hours < -INT32_MAX)
        return -1;
    unsigned char *p = room(out, 20);
    be32(p, 16);
    be64(p + 4, (uint64_t)iv->micros);
    be32(p + 12, (uint32_t)iv->days);
    be32(p + 16, (uint32_t)iv->months);
    out->len += 20;
    return 0;
}

static int put_uuid(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    const struct dp_hugeint *h = (const struct dp_hugeint *)c->v.data + row;
    unsigned char *p = room(out, 20);
    be32(p, 16);
    be64(p + 4, (uint64_t)h->upper ^ (UINT64_C(1) << 63));
    be64(p + 12, h->lower);
    out->len += 20;
    return 0;
}

/* Text types, and bytea from a BLOB: the bytes. */
static int put_bytes(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    size_t len;
    const char *s = dataplane_vector_string(&c->v, row, &len);
    return put_raw(out, "", 0, s, len);
}

/* jsonb: a format version (1), then the JSON text. */
static int put_jsonb(struct strbuf *out, const struct pgbinary_column *c, size_t row)
{
    size_t len;
    const char *s = dataplane_vector_string(&c->v, row, &len);
    return put_raw(out, "\1", 1, s, len);
}

/* ==== The encoders ==== */

static const struct pgbinary_encoder encoders[] = {
    { DP_BOOLEAN, OID_BOOL, put_bool },
    { DP_TINYINT, OID_INT2, put_int2 },
    { DP_TINYINT, OID_INT4, put_int4 },
    { DP_TINYINT, OID_INT8, put_int8 },
    { DP_TINYINT, OID_NUMERIC, put_numeric_int },
    { DP_SMALLINT, OID_INT2, put_int2 },
    { DP_SMALLINT, OID_INT4, put_int4 },
    { DP_SMALLINT, OID_INT8, put_int8 },
    { DP_SMALLINT, OID_NUMERIC, put_numeric_int },
    { DP_INTEGER, OID_INT4, put_int4 },
    { DP_INTEGER, OID_INT8, put_int8 },
    { DP_INTEGER, OID_NUMERIC, put_numeric_int },
    { DP_BIGINT, OID_INT8, put_int8 },
    { DP_BIGINT, OID_NUMERIC, put_numeric_int },
    { DP_HUGEINT, OID_NUMERIC, put_numeric_int },
    { DP_UTINYINT, OID_INT2, put_int2 },
    { DP_UTINYINT, OID_INT4, put_int4 },
    { DP_UTINYINT, OID_INT8, put_int8 },
    { DP_UTINYINT, OID_NUMERIC, put_numeric_int },
    { DP_USMALLINT, OID_INT4, put_int4 },
    { DP_USMALLINT, OID_INT8, put_int8 },
    { DP_USMALLINT, OID_NUMERIC, put_numeric_int },
    { DP_UINTEGER, OID_INT8, put_int8 },
    { DP_UINTEGER, OID_NUMERIC, put_numeric_int },
    { DP_UBIGINT, OID_NUMERIC, put_numeric_int },
    { DP_UHUGEINT, OID_NUMERIC, put_numeric_int },
    { DP_FLOAT, OID_FLOAT4, put_float4 },
    { DP_DOUBLE, OID_FLOAT8, put_float8 },
    { DP_DECIMAL, OID_NUMERIC, put_numeric_decimal },
    { DP_DATE, OID_DATE, put_date },
    { DP_TIME, OID_TIME, put_time },
    /* The text of a TIMESTAMP read into timestamptz is a time in the session's zone, UTC; that of
     * a TIMESTAMP WITH TIME ZONE into timestamp drops its "+00": the same microseconds. */
    { DP_TIMESTAMP, OID_TIMESTAMP, put_timestamp },
    { DP_TIMESTAMP, OID_TIMESTAMPTZ, put_timestamp },
    { DP_TIMESTAMP_TZ, OID_TIMESTAMP, put_timestamp },
    { DP_TIMESTAMP_TZ, OID_TIMESTAMPTZ, put_timestamp },
    { DP_INTERVAL, OID_INTERVAL, put_interval },
    { DP_UUID, OID_UUID, put_uuid },
    { DP_BLOB, OID_BYTEA, put_bytes },
};

/* Types whose binary input is their text (with the same checks and typmod as the text input:
 * encoding, char(n) padding, varchar(n) length, JSON syntax), for a column's text form. */
static const struct pgbinary_encoder text_encoders[] = {
    { DP_VARCHAR, OID_TEXT, put_bytes },   { DP_VARCHAR, OID_VARCHAR, put_bytes },
    { DP_VARCHAR, OID_BPCHAR, put_bytes }, { DP_VARCHAR, OID_JSON, put_bytes },
    { DP_VARCHAR, OID_JSONB, put_jsonb },
};

#define LENGTH(a) (sizeof(a) / sizeof((a)[0]))

const struct pgbinary_encoder *pgbinary_encoder(const struct dp_type *t, unsigned oid, bool as_text)
{
    for (size_t i = 0; i < LENGTH(encoders); i++)
        if (encoders[i].kind == t->kind && encoders[i].oid == oid)
            return &encoders[i];
    for (size_t i = 0; as_text && i < LENGTH(text_encoders); i++)
        if (text_encoders[i].oid == oid)
            return &text_encoders[i];
    return NULL;
}

bool pgbinary_reads_text(const struct pgbinary_encoder *e)
{
    return e >= text_encoders && e < text_encoders + LENGTH(text_encoders);
}

void pgbinary_put_header(struct strbuf *out)
{
    /* The signature, then 32-bit flags (none) and the length of a header extension (none). */
    static const char header[19] = "PGCOPY\n\377\r\n";
    strbuf_add(out, header, sizeof(header));
}

int pgbinary_put_row(struct strbuf *out, const struct pgbinary_column *cols, size_t n, size_t row,
                     size_t *bad)
{
    size_t start = out->len;
    be16(room(out, 2), (uint16_t)n);
    out->len += 2;
    for (size_t i = 0; i < n; i++) {
        if (dp_vector_valid(&cols[i].v, row)) {
            if (cols[i].enc->put(out, &cols[i], row) == 0)
                continue;
            out->len = start;
            out->buf[start] = '\0';
            *bad = i;
            return -1;
        }
        be32(room(out, 4), UINT32_MAX); /* -1: NULL */
        out->len += 4;
    }
    out->buf[out->len] = '\0';
    return 0;
}

void pgbinary_put_trailer(struct strbuf *out)
{
    be16(room(out, 2), UINT16_MAX); /* -1 */
    out->len += 2;
    out->buf[out->len] = '\0';
}
