/* The run index: append-only JSON-lines files under .osiris/index, written under flock so that
 * concurrent runs never interleave, and read back newest first with filters. Also the time
 * parsing behind --since, which the original could not do (naive vs aware datetimes). */
#include "runindex.h"
#include "files.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ==== Records ==== */

/* A pipeline slug names a file: it must not climb out of by_pipeline/ or hide itself. */
static int check_slug(const char *slug, struct err *err)
{
    if (!slug || !*slug)
        return err_set(err, ERR_INPUT, "run index: the pipeline slug is empty");
    if (strchr(slug, '/') || slug[0] == '.' || strlen(slug) > 200)
        return err_set(err, ERR_INPUT,
                       "run index: pipeline slug '%s' is not a plain file name (no '/', no "
                       "leading '.', at most 200 bytes)",
                       slug);
    return 0;
}

static int check_hash(const char *hash, struct err *err)
{
    if (!hash)
        return 0;
    if (strchr(hash, ':'))
        return err_set(err, ERR_INPUT,
                       "run index: manifest hash '%s' must be bare hex, without an algorithm "
                       "prefix such as 'sha256:'",
                       hash);
    for (const char *p = hash; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return err_set(err, ERR_INPUT, "run index: manifest hash '%s' is not lower-case hex",
                           hash);
    return 0;
}

/* path relative to base when it lies under it ("." for base itself), else path unchanged. */
static const char *relative_to(const char *path, const char *base)
{
    if (!path || !base || path[0] != '/' || base[0] != '/')
        return path;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (strncmp(path, base, n) != 0 || (path[n] != '\0' && path[n] != '/'))
        return path;
    const char *rest = path + n;
    while (*rest == '/')
        rest++;
    return *rest ? rest : ".";
}

static json_t *str_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *runindex_record_json(const struct runindex_record *rec, const char *base_path,
                             struct err *err)
{
    int64_t us;
    if (!rec->run_id || !*rec->run_id) {
        err_set(err, ERR_INPUT, "run index: the run id is empty");
        return NULL;
    }
    if (check_slug(rec->pipeline_slug, err) || check_hash(rec->manifest_hash, err))
        return NULL;
    if (!rec->run_ts || runindex_parse_time(rec->run_ts, &us) != 0) {
        err_set(err, ERR_INPUT, "run index: run_ts '%s' is not an ISO-8601 time",
                rec->run_ts ? rec->run_ts : "");
        return NULL;
    }
    json_t *tags = json_array();
    for (size_t i = 0; i < rec->ntags; i++)
        json_array_append_new(tags, json_string(rec->tags[i]));

    json_t *o = json_object();
    json_object_set_new(o, "run_id", json_string(rec->run_id));
    json_object_set_new(o, "pipeline_slug", json_string(rec->pipeline_slug));
    json_object_set_new(o, "profile", str_or_empty(rec->profile));
    json_object_set_new(o, "manifest_hash", str_or_empty(rec->manifest_hash));
    json_object_set_new(o, "manifest_short", str_or_empty(rec->manifest_short));
    json_object_set_new(o, "run_ts", json_string(rec->run_ts));
    json_object_set_new(o, "status", json_string(rec->ok ? "success" : "failed"));
    json_object_set_new(o, "duration_ms", json_integer(rec->duration_ms));
    json_object_set_new(o, "run_logs_path",
                        str_or_empty(relative_to(rec->run_logs_path, base_path)));
    json_object_set_new(o, "aiop_path", str_or_empty(relative_to(rec->aiop_path, base_path)));
    json_object_set_new(o, "build_manifest_path",
                        str_or_empty(relative_to(rec->build_manifest_path, base_path)));
    json_object_set_new(o, "tags", tags);
    json_object_set_new(o, "branch", str_or_empty(rec->branch));
    json_object_set_new(o, "user", str_or_empty(rec->user));
    json_object_set_new(o, "git_commit", str_or_empty(rec->git_commit));
    json_object_set_new(o, "runtime_env",
                        json_string(rec->runtime_env ? rec->runtime_env : "local"));
    json_object_set_new(o, "failed_step", str_or_null(rec->failed_step));
    json_object_set_new(o, "error", str_or_null(rec->error));
    return o;
}

/* ==== Appending ==== */

static int lock_fd(int fd, int op, const char *path, struct err *err)
{
    while (flock(fd, op) != 0)
        if (errno != EINTR)
            return err_errno(err, ERR_IO, "cannot lock run index '%s'", path);
    return 0;
}

static int write_all(int fd, const char *buf, size_t len, const char *path, struct err *err)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return err_errno(err, ERR_IO, "cannot write run index '%s'", path);
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Appends line (ending in '\n') to path under an exclusive lock, then fsyncs. */
static int append_line(const char *path, const char *dir, const struct strbuf *line,
                       struct err *err)
{
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_errno(err, ERR_IO, "cannot open run index '%s'", path);
    struct strbuf buf = STRBUF_INIT;
    struct stat st = { 0 };
    int rc = -1;
    if (lock_fd(fd, LOCK_EX, path, err) != 0)
        goto out;
    if (fstat(fd, &st) != 0) {
        err_errno(err, ERR_IO, "cannot stat run index '%s'", path);
        goto out;
    }
    if (st.st_size > 0) {
        /* A crash mid-write leaves a line without its newline; end it so our record stays
         * a line of its own (the torn one is skipped by readers). */
        char last = '\n';
        if (pread(fd, &last, 1, st.st_size - 1) != 1) {
            err_errno(err, ERR_IO, "cannot read run index '%s'", path);
            goto out;
        }
        if (last != '\n')
            strbuf_addch(&buf, '\n');
    }
    strbuf_add(&buf, line->buf, line->len);
    /* One write for the whole line: even a reader that ignores the lock sees whole lines. */
    if (write_all(fd, buf.buf, buf.len, path, err) != 0)
        goto out;
    if (fsync(fd) != 0) {
        err_errno(err, ERR_IO, "cannot sync run index '%s'", path);
        goto out;
    }
    rc = 0;
out:
    close(fd); /* releases the lock */
    strbuf_release(&buf);
    /* A new file is durable only once its directory entry is. */
    if (rc == 0 && st.st_size == 0)
        rc = files_sync_dir(dir, err);
    return rc;
}

int runindex_append(const char *index_dir, const char *base_path, const struct runindex_record *rec,
                    struct err *err)
{
    json_t *o = runindex_record_json(rec, base_path, err);
    if (!o)
        return -1;
    struct strbuf line = STRBUF_INIT, path = STRBUF_INIT, dir = STRBUF_INIT;
    jv_dump(o, &line, 0);
    strbuf_addch(&line, '\n');
    json_decref(o);

    int rc = -1;
    strbuf_addf(&dir, "%s/by_pipeline", index_dir);
    if (files_mkdirs(strbuf_str(&dir), NULL, err) != 0)
        goto out;
    strbuf_addf(&path, "%s/runs.jsonl", index_dir);
    if (append_line(strbuf_str(&path), index_dir, &line, err) != 0)
        goto out;
    strbuf_reset(&path);
    strbuf_addf(&path, "%s/%s.jsonl", strbuf_str(&dir), rec->pipeline_slug);
    if (append_line(strbuf_str(&path), strbuf_str(&dir), &line, err) != 0)
        goto out;
    rc = 0;
out:
    strbuf_release(&line);
    strbuf_release(&path);
    strbuf_release(&dir);
    return rc;
}

/* ==== Reading ==== */

/* Reads the whole file under a shared lock. *missing tells a file that does not exist. */
static int read_locked(const char *path, struct strbuf *out, bool *missing, struct err *err)
{
    *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = true;
            return 0;
        }
        return err_errno(err, ERR_IO, "cannot open run index '%s'", path);
    }
    int rc = lock_fd(fd, LOCK_SH, path, err);
    char chunk[65536];
    while (rc == 0) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = err_errno(err, ERR_IO, "cannot read run index '%s'", path);
        if (n <= 0)
            break;
        strbuf_add(out, chunk, (size_t)n);
    }
    close(fd);
    return rc;
}

struct hit {
    json_t *rec;   /* borrowed from the parsed lines */
    int64_t ts;    /* run_ts in microseconds, when have_ts */
    bool have_ts;  /* run_ts could be read */
    size_t lineno; /* position in the file: later lines are newer among equal times */
};

static int hit_cmp(const void *pa, const void *pb)
{
    const struct hit *a = pa, *b = pb;
    if (a->have_ts != b->have_ts)
        return a->have_ts ? -1 : 1;
    if (a->have_ts && a->ts != b->ts)
        return a->ts > b->ts ? -1 : 1;
    return a->lineno > b->lineno ? -1 : a->lineno < b->lineno;
}

static bool field_is(const json_t *rec, const char *key, const char *want)
{
    const json_t *v = json_object_get(rec, key);
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    return strcmp(s, want) == 0;
}

json_t *runindex_query(const char *index_dir, const struct runindex_query *q, size_t *skipped,
                       struct err *err)
{
    if (skipped)
        *skipped = 0;
    if (q->pipeline_slug && check_slug(q->pipeline_slug, err) != 0)
        return NULL;
    struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
    if (q->pipeline_slug)
        strbuf_addf(&path, "%s/by_pipeline/%s.jsonl", index_dir, q->pipeline_slug);
    else
        strbuf_addf(&path, "%s/runs.jsonl", index_dir);
    bool missing;
    json_t *lines = NULL, *result = NULL;
    struct hit *hits = NULL;
    size_t nhits = 0, cap = 0, lineno = 0;
    if (read_locked(strbuf_str(&path), &text, &missing, err) != 0)
        goto out;
    lines = json_array(); /* owns every parsed record until the result takes its references */
    for (char *p = text.buf; p && *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *next = nl ? nl + 1 : NULL;
        lineno++;
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0) {
            p = next;
            continue;
        }
        struct err perr = ERR_INIT;
        json_t *rec = jv_parse(p, len, "runs.jsonl", &perr);
        p = next;
        if (!json_is_object(rec)) {
            json_decref(rec);
            if (skipped)
                (*skipped)++;
            continue;
        }
        json_array_append_new(lines, rec);
        if ((q->pipeline_slug && !field_is(rec, "pipeline_slug", q->pipeline_slug)) ||
            (q->profile && !field_is(rec, "profile", q->profile)) ||
            (q->status && !field_is(rec, "status", q->status)))
            continue;
        const json_t *ts = json_object_get(rec, "run_ts");
        struct hit h = { rec, 0, false, lineno };
        h.have_ts = json_is_string(ts) && runindex_parse_time(json_string_value(ts), &h.ts) == 0;
        if (q->have_since && (!h.have_ts || h.ts < q->since_us))
            continue;
        XGROW(hits, cap, nhits + 1);
        hits[nhits++] = h;
    }
    if (nhits > 1)
        qsort(hits, nhits, sizeof(*hits), hit_cmp);
    result = json_array();
    for (size_t i = 0; i < nhits && (q->limit == 0 || i < q->limit); i++)
        json_array_append(result, hits[i].rec);
out:
    json_decref(lines);
    free(hits);
    strbuf_release(&path);
    strbuf_release(&text);
    return result;
}

/* ==== Time ==== */

/* Exactly n digits at *p, advancing past them. */
static bool take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int runindex_parse_time(const char *text, int64_t *us)
{
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0;
    int64_t frac_us = 0, offset_s = 0;
    if (!p || !take_digits(&p, 4, &y) || *p++ != '-' || !take_digits(&p, 2, &mo) || *p++ != '-' ||
        !take_digits(&p, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (!take_digits(&p, 2, &s))
                return -1;
            if (*p == '.' || *p == ',') {
                p++;
                int ndig = 0;
                for (; *p >= '0' && *p <= '9'; p++, ndig++)
                    if (ndig < 6)
                        frac_us = frac_us * 10 + (*p - '0');
                if (ndig == 0 || ndig > 9)
                    return -1;
                for (int i = ndig; i < 6; i++)
                    frac_us *= 10;
            }
        }
        if (h > 23 || mi > 59 || s > 60)
            return -1;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (!take_digits(&p, 2, &oh))
                return -1;
            if (*p == ':') {
                p++;
                if (!take_digits(&p, 2, &om))
                    return -1;
            } else if (*p >= '0' && *p <= '9' && !take_digits(&p, 2, &om)) {
                return -1;
            }
            if (oh > 23 || om > 59)
                return -1;
            offset_s = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_s;
    *us = secs * 1000000 + frac_us;
    return 0;
}

int runindex_parse_since(const char *text, int64_t now_us, int64_t *since_us, struct err *err)
{
    static const struct {
        char unit;
        int64_t us;
    } units[] = {
        { 's', 1000000LL },         { 'm', 60 * 1000000LL },        { 'h', 3600 * 1000000LL },
        { 'd', 86400 * 1000000LL }, { 'w', 7 * 86400 * 1000000LL },
    };
    size_t ndig = strspn(text, "0123456789");
    if (ndig > 0 && ndig <= 18 && text[ndig] && !text[ndig + 1]) {
        for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
            if (text[ndig] != units[i].unit)
                continue;
            int64_t n = strtoll(text, NULL, 10);
            if (n > (INT64_MAX / 2) / units[i].us)
                return err_set(err, ERR_INPUT, "invalid time '%s': too far back", text);
            *since_us = now_us - n * units[i].us;
            return 0;
        }
    }
    if (runindex_parse_time(text, since_us) == 0)
        return 0;
    return err_set(err, ERR_INPUT,
                   "invalid time '%s': expected a duration such as 7d, 24h, 30m or 45s, or an "
                   "ISO-8601 time such as 2026-11-26T10:00:00Z",
                   text);
}

int64_t runindex_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
