/* runid.c: token formats, ordering of ULIDs, the counter file and concurrent counters. */
#include "../harness/tap.h"
#include "runid.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW      UINT64_C(1700000000123) /* 2023-11-14T22:13:20.123Z */
#define RE_ULID  "[0-9A-HJKMNP-TV-Z]{26}"
#define RE_ISO   "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}Z"
#define RE_UUID4 "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"

static char dir[256]; /* counter directory of this test */

static bool matches(const char *s, const char *re)
{
    regex_t rx;
    if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) {
        diag("bad regex %s", re);
        return false;
    }
    bool m = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return m;
}

static int next(struct runid_gen *g, const char *slug, uint64_t ms, char out[RUNID_MAX])
{
    struct err err = ERR_INIT;
    int rc = runid_next(g, slug, ms, out, &err);
    if (rc != 0)
        diag("runid_next: %s", err.msg);
    return rc;
}

/* Decodes one Crockford character (upper case as written). */
static unsigned b32(char c)
{
    const char *alpha = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    const char *p = strchr(alpha, c);
    return p ? (unsigned)(p - alpha) : 99;
}

static uint64_t ulid_ms(const char *u)
{
    uint64_t ms = 0;
    for (int i = 0; i < 10; i++)
        ms = ms * 32 + b32(u[i]);
    return ms;
}

/* The 80-bit random part as hi (16 bits) and lo (64 bits). */
static void ulid_rand(const char *u, uint64_t *hi, uint64_t *lo)
{
    *hi = *lo = 0;
    for (int i = 10; i < 26; i++) {
        unsigned v = b32(u[i]);
        *hi = (*hi << 5) | (*lo >> 59);
        *lo = (*lo << 5) | v;
    }
}

static void test_formats(void)
{
    char id[RUNID_MAX];
    struct runid_gen g;
    const char *const f_inc[] = { "incremental" };
    runid_init(&g, f_inc, 1, dir);
    ok(next(&g, "fmt", NOW, id) == 0 && matches(id, "^run-[0-9]{6}$"), "incremental: %s", id);
    is_str(id, "run-000001", "incremental starts at 1");
    next(&g, "fmt", NOW, id);
    is_str(id, "run-000002", "incremental counts");

    const char *const f_ulid[] = { "ulid" };
    runid_init(&g, f_ulid, 1, NULL);
    ok(next(&g, NULL, NOW, id) == 0 && matches(id, "^" RE_ULID "$"), "ulid: %s", id);
    is_int(ulid_ms(id), NOW, "ulid time part decodes to now");
    runid_init(&g, f_ulid, 1, NULL);
    next(&g, NULL, UINT64_C(1469918176385), id);
    ok(strncmp(id, "01ARYZ6S41", 10) == 0, "ulid time encoding matches the spec's example: %s", id);

    const char *const f_iso[] = { "iso_ulid" };
    runid_init(&g, f_iso, 1, NULL);
    ok(next(&g, NULL, NOW, id) == 0 && matches(id, "^" RE_ISO "_" RE_ULID "$"), "iso_ulid: %s", id);
    ok(strncmp(id, "2023-11-14T22-13-20Z_", 21) == 0, "iso_ulid date is UTC");
    is_int(ulid_ms(id + 21), NOW, "iso_ulid's ULID has the same time");
    runid_init(&g, NULL, 0, NULL);
    ok(next(&g, NULL, NOW, id) == 0 && matches(id, "^" RE_ISO "_" RE_ULID "$"),
       "empty format list means iso_ulid: %s", id);

    const char *const f_uuid[] = { "uuidv4" };
    runid_init(&g, f_uuid, 1, NULL);
    char id2[RUNID_MAX];
    ok(next(&g, NULL, NOW, id) == 0 && matches(id, "^" RE_UUID4 "$"), "uuidv4: %s", id);
    next(&g, NULL, NOW, id2);
    ok(matches(id2, "^" RE_UUID4 "$") && strcmp(id, id2) != 0, "uuidv4 is random: %s", id2);
    /* Version and variant over many draws, so a missing mask cannot pass by luck. */
    bool bits = true;
    for (int i = 0; i < 200 && bits; i++) {
        next(&g, NULL, NOW, id);
        bits = id[14] == '4' && strchr("89ab", id[19]) != NULL;
    }
    ok(bits, "uuidv4 version nibble 4 and variant 10xx in 200 ids");

    const char *const f_snow[] = { "snowflake" };
    runid_init(&g, f_snow, 1, NULL);
    bool layout = true;
    for (uint64_t seq = 0; seq < 3; seq++) {
        ok(next(&g, NULL, NOW, id) == 0 && matches(id, "^[0-9]+$"), "snowflake: %s", id);
        uint64_t v = strtoull(id, NULL, 10);
        layout = layout && v >> 22 == NOW && ((v >> 12) & 1023) == (uint64_t)getpid() % 1024 &&
                 (v & 4095) == seq;
    }
    ok(layout, "snowflake layout: ms << 22 | pid%%1024 << 12 | sequence 0, 1, 2");
    next(&g, NULL, NOW + 1, id);
    is_int(strtoull(id, NULL, 10) & 4095, 0, "snowflake sequence restarts in a new ms");
}

static void test_multi(void)
{
    char id[RUNID_MAX];
    struct runid_gen g;
    const char *const f[] = { "incremental", "ulid" };
    runid_init(&g, f, 2, dir);
    ok(next(&g, "multi", NOW, id) == 0 && matches(id, "^run-000001_01[0-9A-HJKMNP-TV-Z]{24}$"),
       "[incremental, ulid]: %s", id);

    const char *const all[] = { "incremental", "ulid", "iso_ulid", "uuidv4", "snowflake" };
    runid_init(&g, all, 5, dir);
    ok(next(&g, "multi", NOW, id) == 0 &&
           matches(id, "^run-000002_" RE_ULID "_" RE_ISO "_" RE_ULID "_" RE_UUID4 "_[0-9]+$"),
       "all five tokens, in order: %s", id);
    /* The two ULIDs of one id come from the same generator: the second is the first plus one. */
    ok(strncmp(id + 11, id + 11 + 27 + 21, 10) == 0 && strncmp(id + 11, id + 11 + 27 + 21, 26) < 0,
       "second ULID in one id sorts after the first");

    const char *const many[] = { "iso_ulid", "iso_ulid", "iso_ulid", "iso_ulid", "iso_ulid" };
    struct err err = ERR_INIT;
    runid_init(&g, many, 5, NULL);
    is_int(runid_next(&g, NULL, NOW, id, &err), -1, "too long an id fails");
    is_int(err.code, ERR_INPUT, "too long is ERR_INPUT");
    is_str(id, "", "out is empty on error");
}

static void test_ulid_order(void)
{
    char prev[RUNID_MAX], id[RUNID_MAX];
    struct runid_gen g;
    const char *const f[] = { "ulid" };
    runid_init(&g, f, 1, NULL);
    next(&g, NULL, NOW, prev);
    bool increasing = true, plus_one = true, same_ms = true;
    for (int i = 0; i < 1000; i++) {
        next(&g, NULL, NOW, id);
        uint64_t ph, pl, h, l;
        ulid_rand(prev, &ph, &pl);
        ulid_rand(id, &h, &l);
        increasing = increasing && strcmp(prev, id) < 0;
        bool step = (l == pl + 1 && h == ph) || (l == 0 && pl == UINT64_MAX && h == ph + 1);
        if (!step && plus_one)
            diag("%s -> %s", prev, id);
        plus_one = plus_one && step;
        same_ms = same_ms && ulid_ms(id) == NOW;
        memcpy(prev, id, sizeof(id));
    }
    ok(increasing, "1000 ULIDs in one millisecond strictly increase");
    ok(plus_one, "within a millisecond the random part is incremented by one");
    ok(same_ms, "and keep the millisecond");

    /* Carries, set up by hand: 0x..00FFFF + 1 and 0x0000FF..FF + 1 (across 64 bits). */
    uint64_t h, l;
    memset(g.last_rand, 0, sizeof(g.last_rand));
    g.last_rand[8] = g.last_rand[9] = 0xFF;
    next(&g, NULL, NOW, id);
    ulid_rand(id, &h, &l);
    ok(h == 0 && l == 0x10000, "increment carries across bytes: %s", id);
    memset(g.last_rand + 2, 0xFF, 8);
    next(&g, NULL, NOW, id);
    ulid_rand(id, &h, &l);
    ok(h == 1 && l == 0, "increment carries across the 64-bit boundary: %s", id);
    memcpy(prev, id, sizeof(id));

    next(&g, NULL, NOW + 1, id);
    ok(strcmp(prev, id) < 0 && ulid_ms(id) == NOW + 1, "next millisecond sorts after");
    memcpy(prev, id, sizeof(id));
    next(&g, NULL, NOW + 1000, id);
    ok(strcmp(prev, id) < 0, "a later second sorts after");
    memcpy(prev, id, sizeof(id));
    next(&g, NULL, NOW - 60000, id);
    ok(strcmp(prev, id) < 0 && ulid_ms(id) == NOW + 1000,
       "a clock stepping back keeps the last millisecond and the order");

    /* Two generators in one millisecond draw independent randomness. */
    struct runid_gen g2;
    char other[RUNID_MAX];
    runid_init(&g, f, 1, NULL);
    runid_init(&g2, f, 1, NULL);
    next(&g, NULL, NOW, id);
    next(&g2, NULL, NOW, other);
    ok(strcmp(id + 10, other + 10) != 0, "random part is random: %s %s", id, other);

    /* Exhausted randomness within one millisecond fails clearly, and recovers a ms later. */
    struct err err = ERR_INIT;
    memset(g.last_rand, 0xFF, sizeof(g.last_rand));
    is_int(runid_next(&g, NULL, NOW, id, &err), -1, "overflow of the random part fails");
    like(err.msg, "retry in the next millisecond", "overflow message");
    err_clear(&err);
    is_int(runid_next(&g, NULL, NOW, id, &err), -1, "and keeps failing in that millisecond");
    err_clear(&err);
    is_int(runid_next(&g, NULL, NOW + 1, id, &err), 0, "next millisecond works again");

    runid_init(&g, f, 1, NULL);
    is_int(runid_next(&g, NULL, UINT64_C(1) << 48, id, &err), -1, "time beyond 48 bits fails");

    const char *const s[] = { "snowflake" };
    runid_init(&g, s, 1, NULL);
    bool all_ok = true;
    for (int i = 0; i < 4096; i++)
        all_ok = all_ok && runid_next(&g, NULL, NOW, id, &err) == 0;
    ok(all_ok, "4096 snowflakes in one millisecond");
    is_int(runid_next(&g, NULL, NOW, id, &err), -1, "the 4097th fails");
    err_clear(&err);
}

static void test_errors(void)
{
    char id[RUNID_MAX];
    struct runid_gen g;
    struct err err = ERR_INIT;
    ok(runid_token_known("incremental") && runid_token_known("ulid") &&
           runid_token_known("iso_ulid") && runid_token_known("uuidv4") &&
           runid_token_known("snowflake"),
       "the five tokens are known");
    ok(!runid_token_known("ULID") && !runid_token_known("") && !runid_token_known(NULL),
       "others are not");

    const char *const bad[] = { "ulid", "bogus" };
    runid_init(&g, bad, 2, NULL);
    is_int(runid_next(&g, NULL, NOW, id, &err), -1, "unknown token fails");
    is_int(err.code, ERR_INPUT, "unknown token is ERR_INPUT");
    like(err.msg, "unknown run id token 'bogus'", "message names the token");

    const char *const inc[] = { "incremental" };
    const char *slugs[] = { "a/b", ".hidden", "..", "", NULL };
    runid_init(&g, inc, 1, dir);
    for (size_t i = 0; i < sizeof(slugs) / sizeof(slugs[0]); i++) {
        err_clear(&err);
        is_int(runid_next(&g, slugs[i], NOW, id, &err), -1, "slug '%s' refused",
               slugs[i] ? slugs[i] : "(null)");
        is_int(err.code, ERR_INPUT, "slug '%s' is ERR_INPUT", slugs[i] ? slugs[i] : "(null)");
    }

    /* An existing counter continues; a corrupt one is refused and left alone. */
    char path[512];
    snprintf(path, sizeof(path), "%s/cont", dir);
    FILE *f = fopen(path, "w");
    fputs("41\n", f);
    fclose(f);
    next(&g, "cont", NOW, id);
    is_str(id, "run-000042", "counter continues from the file");
    char buf[64] = "";
    f = fopen(path, "r");
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    is_str(buf, "42\n", "counter file holds the last value");
    f = fopen(path, "w");
    fputs("12abc\n", f);
    fclose(f);
    err_clear(&err);
    is_int(runid_next(&g, "cont", NOW, id, &err), -1, "corrupt counter fails");
    is_int(err.code, ERR_INPUT, "corrupt counter is ERR_INPUT");
    f = fopen(path, "r");
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    is_str(buf, "12abc\n", "corrupt counter left as it was");
    unlink(path);

    /* The counter directory is created as needed. */
    char nested[300];
    snprintf(nested, sizeof(nested), "%s/a/b", dir);
    runid_init(&g, inc, 1, nested);
    ok(next(&g, "deep", NOW, id) == 0, "counter directory created");
    snprintf(path, sizeof(path), "%s/deep", nested);
    unlink(path);
    snprintf(path, sizeof(path), "%s/a/b", dir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/a", dir);
    rmdir(path);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Four processes take 50 numbers each from one counter: the 200 numbers are exactly 1..200. */
static void test_concurrency(void)
{
    enum { NPROC = 4, PER = 50 };
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pids[NPROC];
    for (int p = 0; p < NPROC; p++) {
        pids[p] = fork();
        if (pids[p] < 0) {
            perror("fork");
            exit(1);
        }
        if (pids[p] == 0) {
            close(fds[0]);
            struct runid_gen g;
            const char *const inc[] = { "incremental" };
            runid_init(&g, inc, 1, dir);
            for (int i = 0; i < PER; i++) {
                char id[RUNID_MAX];
                struct err err = ERR_INIT;
                uint32_t v = 0;
                if (runid_next(&g, "race", NOW, id, &err) == 0)
                    v = (uint32_t)strtoul(id + 4, NULL, 10);
                /* 4-byte writes to a pipe are atomic, so values never interleave. */
                if (write(fds[1], &v, sizeof(v)) != sizeof(v))
                    _exit(2);
            }
            _exit(0);
        }
    }
    close(fds[1]);
    uint32_t got[NPROC * PER + 1];
    size_t n = 0;
    for (;;) {
        uint32_t v;
        ssize_t r = read(fds[0], &v, sizeof(v));
        if (r < 0 && errno == EINTR)
            continue;
        if (r != (ssize_t)sizeof(v))
            break;
        if (n < sizeof(got) / sizeof(got[0]))
            got[n++] = v;
    }
    close(fds[0]);
    bool exited = true;
    for (int p = 0; p < NPROC; p++) {
        int status;
        exited = exited && waitpid(pids[p], &status, 0) == pids[p] && WIFEXITED(status) &&
                 WEXITSTATUS(status) == 0;
    }
    ok(exited, "children exited cleanly");
    is_int(n, NPROC * PER, "200 ids collected");
    qsort(got, n, sizeof(got[0]), cmp_u32);
    bool exact = n == NPROC * PER;
    for (size_t i = 0; exact && i < n; i++)
        exact = got[i] == i + 1;
    ok(exact, "the ids are exactly 1..200, none shared, none skipped");
    char path[512];
    snprintf(path, sizeof(path), "%s/race", dir);
    unlink(path);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/osiris-runid-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_formats();
    test_multi();
    test_ulid_order();
    test_errors();
    test_concurrency();
    const char *files[] = { "fmt", "multi" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    if (rmdir(dir) != 0)
        diag("leftover files in %s", dir);
    return done_testing();
}
