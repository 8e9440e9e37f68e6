/* Benchmark input: writes an N-row CSV file of about 100 bytes per row, the same bytes for the
 * same N on every machine (a fixed-seed splitmix64 generator, no libc rand, no locale), so runs
 * can be compared. The file is written next to its target and renamed into place, so an
 * interrupted run never leaves a partial file that a later run would reuse.
 *
 *   gen_csv ROWS FILE
 *
 * Columns:
 *   id        1..ROWS
 *   category  cat-0000 .. cat-0999; 20% of the rows fall in the first 50 (a skewed key)
 *   ts        2024-01-01 00:00:00 .. 2024-12-31, rising through the file, "YYYY-MM-DD HH:MM:SS"
 *   amount    -500.00 .. 9999.99 with two decimals; empty in 1% of the rows
 *   score     0.0000 .. 0.9999
 *   code      a short code like KXR-07; empty in 2% of the rows
 *   note      4 to 10 words; 10% contain a comma and 0.5% a quoted phrase (both written quoted,
 *             with doubled quotes); empty in 3% of the rows */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Random numbers ==== */

struct rng {
    uint64_t state; /* splitmix64 state */
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); the modulo bias is below 2^-40 for the small n used here. */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(rng_next(r) % n);
}

/* ==== Output buffer ==== */

struct out {
    FILE *f;          /* the temporary file */
    char *buf;        /* pending bytes */
    size_t len;       /* bytes pending in buf */
    size_t cap;       /* size of buf */
    int failed;       /* a write failed */
    uint64_t written; /* bytes handed to the file */
};

static void out_flush(struct out *o)
{
    if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
        o->failed = 1;
    o->written += o->len;
    o->len = 0;
}

static void out_bytes(struct out *o, const char *s, size_t n)
{
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void out_str(struct out *o, const char *s)
{
    out_bytes(o, s, strlen(s));
}

static void out_ch(struct out *o, char c)
{
    o->buf[o->len++] = c;
}

static void out_uint(struct out *o, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        out_ch(o, tmp[--n]);
}

/* v zero-padded to width digits. */
static void out_padded(struct out *o, uint64_t v, int width)
{
    char tmp[24];
    for (int i = width - 1; i >= 0; i--) {
        tmp[i] = (char)('0' + v % 10);
        v /= 10;
    }
    out_bytes(o, tmp, (size_t)width);
}

/* ==== Columns ==== */

static const char *const words[] = {
    "alpha",    "bravo",  "charlie", "delta",   "echo",    "foxtrot",  "golf",     "hotel",
    "india",    "juliet", "kilo",    "lima",    "mike",    "november", "oscar",    "papa",
    "quebec",   "romeo",  "sierra",  "tango",   "uniform", "victor",   "whiskey",  "xray",
    "yankee",   "zulu",   "order",   "shipped", "late",    "refund",   "customer", "north",
    "south",    "east",   "west",    "premium", "basic",   "bundle",   "returned", "gift",
    "discount", "card",   "cash",    "online",  "store",   "mobile",   "priority", "express",
    "standard", "bulk",   "sample",  "review",  "good",    "bad",      "average",  "new",
    "old",      "blue",   "red",     "green",   "small",   "large",    "café",     "naïve",
};
#define NWORDS (sizeof(words) / sizeof(*words))

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void out_timestamp(struct out *o, int64_t epoch)
{
    int y, m, d;
    civil_from_days(epoch / 86400, &y, &m, &d);
    int64_t s = epoch % 86400;
    out_padded(o, (uint64_t)y, 4);
    out_ch(o, '-');
    out_padded(o, (uint64_t)m, 2);
    out_ch(o, '-');
    out_padded(o, (uint64_t)d, 2);
    out_ch(o, ' ');
    out_padded(o, (uint64_t)(s / 3600), 2);
    out_ch(o, ':');
    out_padded(o, (uint64_t)(s / 60 % 60), 2);
    out_ch(o, ':');
    out_padded(o, (uint64_t)(s % 60), 2);
}

/* A note: words separated by spaces, sometimes a comma or a quoted phrase (then the whole field
 * is quoted and its quotes doubled), sometimes empty. */
static void out_note(struct out *o, struct rng *r)
{
    uint32_t kind = rng_below(r, 1000);
    if (kind < 30)
        return; /* empty: NULL */
    int comma = kind < 130;
    int phrase = kind >= 130 && kind < 135;
    int quoted = comma || phrase;
    uint32_t n = 4 + rng_below(r, 7);
    uint32_t comma_at = 1 + rng_below(r, n - 1);
    if (quoted)
        out_ch(o, '"');
    for (uint32_t i = 0; i < n; i++) {
        if (i) {
            if (comma && i == comma_at)
                out_ch(o, ',');
            out_ch(o, ' ');
        }
        if (phrase && i == 1)
            out_str(o, "\"\"");
        out_str(o, words[rng_below(r, NWORDS)]);
        if (phrase && i == 2)
            out_str(o, "\"\"");
    }
    if (quoted)
        out_ch(o, '"');
}

static void out_row(struct out *o, struct rng *r, uint64_t id, uint64_t rows)
{
    /* 2024-01-01 00:00:00 UTC plus a share of the year proportional to id, plus jitter. */
    const int64_t year_start = 1704067200, year_len = 366 * 86400 - 3600;
    int64_t ts = year_start + (int64_t)((double)(id - 1) / (double)rows * (double)year_len) +
                 rng_below(r, 3600);
    uint32_t cat = rng_below(r, 5) == 0 ? rng_below(r, 50) : rng_below(r, 1000);

    out_uint(o, id);
    out_str(o, ",cat-");
    out_padded(o, cat, 4);
    out_ch(o, ',');
    out_timestamp(o, ts);
    out_ch(o, ',');
    if (rng_below(r, 100) != 0) {
        uint32_t cents = rng_below(r, 1000000);
        if (rng_below(r, 50) == 0) {
            out_ch(o, '-');
            cents %= 50000;
        }
        out_uint(o, cents / 100);
        out_ch(o, '.');
        out_padded(o, cents % 100, 2);
    }
    out_str(o, ",0.");
    out_padded(o, rng_below(r, 10000), 4);
    out_ch(o, ',');
    if (rng_below(r, 50) != 0) {
        for (int i = 0; i < 3; i++)
            out_ch(o, (char)('A' + rng_below(r, 26)));
        out_ch(o, '-');
        out_padded(o, rng_below(r, 100), 2);
    }
    out_ch(o, ',');
    out_note(o, r);
    out_ch(o, '\n');
}

/* ==== Main ==== */

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_csv ROWS FILE\n");
        return 2;
    }
    char *end;
    errno = 0;
    unsigned long long rows = strtoull(argv[1], &end, 10);
    if (errno || end == argv[1] || *end || argv[1][0] == '-') {
        fprintf(stderr, "gen_csv: ROWS must be a non-negative integer: %s\n", argv[1]);
        return 2;
    }
    const char *path = argv[2];
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp)
        abort();
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    struct out o = { 0 };
    o.cap = 1 << 20;
    o.buf = malloc(o.cap);
    if (!o.buf)
        abort();
    o.f = fopen(tmp, "wb");
    if (!o.f) {
        fprintf(stderr, "gen_csv: %s: %s\n", tmp, strerror(errno));
        goto fail;
    }
    struct rng r = { 0x6f73697269732d31u }; /* "osiris-1" */
    out_str(&o, "id,category,ts,amount,score,code,note\n");
    for (uint64_t id = 1; id <= rows; id++) {
        out_row(&o, &r, id, rows);
        if (o.len > o.cap - 1024) /* a row is well under 1 KiB */
            out_flush(&o);
    }
    out_flush(&o);
    if (fclose(o.f) != 0 || o.failed) {
        o.f = NULL;
        fprintf(stderr, "gen_csv: cannot write %s: %s\n", tmp, strerror(errno));
        goto fail;
    }
    o.f = NULL;
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "gen_csv: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        goto fail;
    }
    printf("%llu rows, %llu bytes: %s\n", rows, (unsigned long long)o.written, path);
    free(o.buf);
    free(tmp);
    return 0;
fail:
    if (o.f)
        fclose(o.f);
    remove(tmp);
    free(o.buf);
    free(tmp);
    return 1;
}
