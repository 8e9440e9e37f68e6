/* Run ids: one small function per token, looked up in a table and joined with '_'. ULIDs and
 * snowflakes share the generator's clock so ids from one generator sort in creation order; the
 * incremental counter is a file under flock() so concurrent processes never share a number. */
#include "runid.h"
#include "files.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ULID_MAX_MS       ((UINT64_C(1) << 48) - 1) /* 10 base-32 characters hold 48 bits */
#define SNOWFLAKE_MAX_MS  ((UINT64_C(1) << 42) - 1) /* 64 bits minus 22 for pid and sequence */
#define SNOWFLAKE_MAX_SEQ 4095                      /* 12 bits */
#define PIECE_MAX         64                        /* longest single token (iso_ulid is 47) */

static const char CROCKFORD[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* State of one runid_next() call, shared by its tokens. */
struct call {
    const char *slug; /* pipeline slug, borrowed; may be NULL unless incremental is used */
    uint64_t ms;      /* the generator's clock for this call (never behind the last call's) */
    bool new_ms;      /* ms moved forward in this call: the next ULID draws fresh randomness */
};

typedef int token_fn(struct runid_gen *g, struct call *c, char piece[PIECE_MAX], struct err *err);

/* ==== Randomness ==== */

static int random_bytes(void *buf, size_t n, struct err *err)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return err_errno(err, ERR_INTERNAL, "cannot read random bytes");
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* ==== ULID ==== */

static void ulid_encode(uint64_t ms, const unsigned char rnd[10], char out[27])
{
    for (int i = 9; i >= 0; i--) {
        out[i] = CROCKFORD[ms & 31];
        ms >>= 5;
    }
    /* 80 bits read most significant first, five at a time. */
    for (int j = 0; j < 16; j++) {
        unsigned v = 0;
        for (int b = j * 5; b < j * 5 + 5; b++)
            v = (v << 1) | ((rnd[b / 8] >> (7 - b % 8)) & 1u);
        out[10 + j] = CROCKFORD[v];
    }
    out[26] = '\0';
}

/* Adds one to the 80-bit big-endian number; false when it wrapped to zero (the caller then puts
 * it back at its maximum, so later ids of this millisecond keep failing instead of going
 * backwards). */
static bool increment80(unsigned char rnd[10])
{
    for (int i = 9; i >= 0; i--) {
        rnd[i]++;
        if (rnd[i] != 0) /* no carry into the next byte */
            return true;
    }
    return false;
}

static int next_ulid(struct runid_gen *g, struct call *c, char out[27], struct err *err)
{
    if (c->ms > ULID_MAX_MS)
        return err_set(err, ERR_INPUT, "time %" PRIu64 " ms is beyond the range of a ULID", c->ms);
    if (c->new_ms) {
        if (random_bytes(g->last_rand, sizeof(g->last_rand), err) != 0)
            return -1;
        c->new_ms = false;
    } else if (!increment80(g->last_rand)) {
        memset(g->last_rand, 0xFF, sizeof(g->last_rand));
        return err_set(err, ERR_INTERNAL,
                       "cannot make another ULID in millisecond %" PRIu64
                       ": its random part is exhausted; retry in the next millisecond",
                       c->ms);
    }
    ulid_encode(c->ms, g->last_rand, out);
    return 0;
}

static int tok_ulid(struct runid_gen *g, struct call *c, char piece[PIECE_MAX], struct err *err)
{
    char ulid[27];
    if (next_ulid(g, c, ulid, err) != 0)
        return -1;
    memcpy(piece, ulid, sizeof(ulid));
    return 0;
}

static int tok_iso_ulid(struct runid_gen *g, struct call *c, char piece[PIECE_MAX], struct err *err)
{
    char ulid[27];
    if (next_ulid(g, c, ulid, err) != 0)
        return -1;
    /* The same clock as the ULID, so both halves name the same instant. */
    time_t secs = (time_t)(c->ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return err_set(err, ERR_INPUT, "time %" PRIu64 " ms cannot be written as a date", c->ms);
    size_t n = strftime(piece, PIECE_MAX, "%Y-%m-%dT%H-%M-%SZ_", &tm);
    if (n == 0 || n + sizeof(ulid) > PIECE_MAX)
        return err_set(err, ERR_INPUT, "time %" PRIu64 " ms cannot be written as a date", c->ms);
    memcpy(piece + n, ulid, sizeof(ulid));
    return 0;
}

/* ==== uuidv4 and snowflake ==== */

static int tok_uuidv4(struct runid_gen *g, struct call *c, char piece[PIECE_MAX], struct err *err)
{
    (void)g;
    (void)c;
    unsigned char b[16];
    if (random_bytes(b, sizeof(b), err) != 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    snprintf(piece, PIECE_MAX,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

/* A counted sequence rather than the original's random 12 bits: ids of one generator within a
 * millisecond can then never collide and still sort in creation order. */
static int tok_snowflake(struct runid_gen *g, struct call *c, char piece[PIECE_MAX],
                         struct err *err)
{
    if (c->ms > SNOWFLAKE_MAX_MS)
        return err_set(err, ERR_INPUT, "time %" PRIu64 " ms is beyond the range of a snowflake",
                       c->ms);
    if (g->seq > SNOWFLAKE_MAX_SEQ)
        return err_set(err, ERR_INTERNAL,
                       "cannot make more than %d snowflake ids in millisecond %" PRIu64
                       "; retry in the next millisecond",
                       SNOWFLAKE_MAX_SEQ + 1, c->ms);
    uint64_t pid = (uint64_t)getpid() % 1024;
    uint64_t v = (c->ms << 22) | (pid << 12) | g->seq;
    g->seq++;
    snprintf(piece, PIECE_MAX, "%" PRIu64, v);
    return 0;
}

/* ==== incremental ==== */

/* The slug becomes a file name: no directory separator, no hidden or dot-dot names. */
static int check_slug(const char *slug, struct err *err)
{
    if (!slug || !*slug)
        return err_set(err, ERR_INPUT, "incremental run ids need a pipeline slug");
    if (slug[0] == '.' || strchr(slug, '/'))
        return err_set(err, ERR_INPUT,
                       "pipeline slug '%s' cannot name a counter file (no '/' or leading '.')",
                       slug);
    return 0;
}

static int write_all_at(int fd, const char *p, size_t len)
{
    off_t off = 0;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads the counter under an exclusive lock and writes back value + 1. The new text is written
 * over the old one and the file then truncated to it: the value only grows, so its text never
 * gets shorter and there is no moment at which the file is empty (which would restart at 1). */
static int counter_next(const char *dir, const char *slug, uint64_t *value, struct err *err)
{
    if (!dir)
        return err_set(err, ERR_INTERNAL, "incremental run ids need a counter directory");
    if (check_slug(slug, err) != 0 || files_mkdirs(dir, NULL, err) != 0)
        return -1;
    struct strbuf path = STRBUF_INIT;
    strbuf_addf(&path, "%s/%s", dir, slug);
    const char *p = strbuf_str(&path);
    int rc = -1;
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        err_errno(err, ERR_IO, "cannot open run counter '%s'", p);
        goto done;
    }
    int lrc;
    do
        lrc = flock(fd, LOCK_EX);
    while (lrc != 0 && errno == EINTR);
    if (lrc != 0) {
        err_errno(err, ERR_IO, "cannot lock run counter '%s'", p);
        goto done;
    }

    char buf[64];
    ssize_t n;
    do
        n = pread(fd, buf, sizeof(buf) - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        err_errno(err, ERR_IO, "cannot read run counter '%s'", p);
        goto done;
    }
    buf[n] = '\0';
    /* A file just created is empty and means 0. Anything but digits and surrounding white space
     * is refused rather than reset, since resetting would hand out used numbers again. */
    const char *s = buf + strspn(buf, " \t\r\n");
    size_t digits = strspn(s, "0123456789");
    const char *rest = s + digits;
    uint64_t last = 0;
    bool valid = (size_t)n < sizeof(buf) - 1 && strlen(buf) == (size_t)n &&
                 rest[strspn(rest, " \t\r\n")] == '\0' && (digits > 0 || *s == '\0') &&
                 digits <= 19;
    for (size_t i = 0; valid && i < digits; i++)
        last = last * 10 + (uint64_t)(s[i] - '0');
    if (!valid) {
        err_set(err, ERR_INPUT, "run counter '%s' does not hold a number", p);
        goto done;
    }

    int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", last + 1);
    if (write_all_at(fd, buf, (size_t)len) != 0 || ftruncate(fd, len) != 0 || fsync(fd) != 0) {
        err_errno(err, ERR_IO, "cannot write run counter '%s'", p);
        goto done;
    }
    *value = last + 1;
    rc = 0;
done:
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
    strbuf_release(&path);
    return rc;
}

static int tok_incremental(struct runid_gen *g, struct call *c, char piece[PIECE_MAX],
                           struct err *err)
{
    uint64_t v = 0;
    if (counter_next(g->counter_dir, c->slug, &v, err) != 0)
        return -1;
    snprintf(piece, PIECE_MAX, "run-%06" PRIu64, v);
    return 0;
}

/* ==== Tokens ==== */

static const struct {
    const char *name;
    token_fn *fn;
} TOKENS[] = {
    { "incremental", tok_incremental }, { "ulid", tok_ulid },
    { "iso_ulid", tok_iso_ulid },       { "uuidv4", tok_uuidv4 },
    { "snowflake", tok_snowflake },
};

#define NTOKENS (sizeof(TOKENS) / sizeof(TOKENS[0]))

static token_fn *token_find(const char *token)
{
    for (size_t i = 0; token && i < NTOKENS; i++)
        if (strcmp(TOKENS[i].name, token) == 0)
            return TOKENS[i].fn;
    return NULL;
}

bool runid_token_known(const char *token)
{
    return token_find(token) != NULL;
}

void runid_init(struct runid_gen *g, const char *const *formats, size_t nformats,
                const char *counter_dir)
{
    static const char *const default_formats[] = { "iso_ulid" };
    memset(g, 0, sizeof(*g));
    g->formats = nformats ? formats : default_formats;
    g->nformats = nformats ? nformats : 1;
    g->counter_dir = counter_dir;
}

int runid_next(struct runid_gen *g, const char *pipeline_slug, uint64_t now_ms, char out[RUNID_MAX],
               struct err *err)
{
    out[0] = '\0';
    for (size_t i = 0; i < g->nformats; i++)
        if (!token_find(g->formats[i]))
            return err_set(err, ERR_INPUT,
                           "unknown run id token '%s' (known: incremental, ulid, iso_ulid, "
                           "uuidv4, snowflake)",
                           g->formats[i] ? g->formats[i] : "");

    /* A clock that steps back is held at the last millisecond, so order is kept. */
    struct call c = { .slug = pipeline_slug, .ms = now_ms, .new_ms = false };
    if (now_ms > g->last_ms) {
        g->last_ms = now_ms;
        g->seq = 0;
        c.new_ms = true;
    } else {
        c.ms = g->last_ms;
    }

    char id[RUNID_MAX];
    size_t len = 0;
    for (size_t i = 0; i < g->nformats; i++) {
        char piece[PIECE_MAX];
        if (token_find(g->formats[i])(g, &c, piece, err) != 0)
            return -1;
        size_t n = strlen(piece);
        if (len + (i > 0) + n + 1 > RUNID_MAX)
            return err_set(err, ERR_INPUT, "run id format gives ids longer than %d characters",
                           RUNID_MAX - 1);
        if (i > 0)
            id[len++] = '_';
        memcpy(id + len, piece, n + 1);
        len += n;
    }
    memcpy(out, id, len + 1);
    return 0;
}
