/* jsonschema.c against the official JSON-Schema-Test-Suite (Debian package json-schema-test-suite,
 * installed by scripts/bootstrap.sh): every case of every top-level draft7 file must pass. One TAP
 * line per test group; a failing case is named by file, group and case. The remote documents are
 * preloaded under http://localhost:1234/ (nothing is fetched). The optional/ files are run too,
 * their counts printed as diagnostics only.
 *
 * JSON_SCHEMA_TEST_SUITE=<dir> points at another copy of the suite. */
#include "../harness/tap.h"
#include "jsonschema.h"
#include "xalloc.h"

#include <dirent.h>
#include <glob.h>
#include <sys/stat.h>

#define DEFAULT_SUITE "/usr/share/json-schema-test-suite"
#define REMOTE_BASE   "http://localhost:1234/"

struct remotes {
    struct schema_resource *items;
    char **uris; /* owned strings behind items[].uri */
    size_t len;
    size_t cap;
};

struct counts {
    size_t passed; /* cases that gave the expected verdict */
    size_t total;  /* cases run */
    size_t files;  /* keyword files run */
};

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct strbuf sb = STRBUF_INIT;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        strbuf_add(&sb, buf, n);
    fclose(f);
    return strbuf_detach(&sb, len);
}

/* Parses a suite file. The optional bignum file holds integers beyond int64, which jansson only
 * reads as reals; that fallback is for optional files only. */
static json_t *load_json(const char *path, bool lenient, struct err *err)
{
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        err_errno(err, ERR_IO, "cannot read '%s'", path);
        return NULL;
    }
    json_t *v = jv_parse(text, len, path, err);
    if (!v && lenient) {
        err_clear(err);
        json_error_t je;
        v = json_loadb(text, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
        if (!v)
            err_set(err, ERR_INPUT, "%s: %s", path, je.text);
    }
    free(text);
    return v;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every *.json under dir, recursively, preloaded as REMOTE_BASE + its relative path. */
static void load_remotes(struct remotes *r, const char *root, const char *rel)
{
    struct strbuf dirpath = STRBUF_INIT;
    strbuf_addf(&dirpath, "%s%s", root, rel);
    DIR *d = opendir(strbuf_str(&dirpath));
    if (!d) {
        strbuf_release(&dirpath);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        XGROW(names, cap, n + 1);
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct strbuf path = STRBUF_INIT, relpath = STRBUF_INIT;
        strbuf_addf(&relpath, "%s%s", rel, names[i]);
        strbuf_addf(&path, "%s%s", root, strbuf_str(&relpath));
        struct stat st;
        if (stat(strbuf_str(&path), &st) == 0 && S_ISDIR(st.st_mode)) {
            strbuf_addch(&relpath, '/');
            load_remotes(r, root, strbuf_str(&relpath));
        } else if (strlen(names[i]) > 5 && strcmp(names[i] + strlen(names[i]) - 5, ".json") == 0) {
            struct err err = ERR_INIT;
            json_t *doc = load_json(strbuf_str(&path), false, &err);
            if (!doc) {
                diag("remote %s: %s", strbuf_str(&path), err.msg);
            } else {
                XGROW(r->items, r->cap, r->len + 1);
                r->uris = xrealloc(r->uris, r->cap * sizeof(*r->uris));
                struct strbuf uri = STRBUF_INIT;
                strbuf_addf(&uri, "%s%s", REMOTE_BASE, strbuf_str(&relpath));
                r->uris[r->len] = strbuf_detach(&uri, NULL);
                r->items[r->len].uri = r->uris[r->len];
                r->items[r->len].doc = doc;
                r->len++;
            }
        }
        strbuf_release(&path);
        strbuf_release(&relpath);
        free(names[i]);
    }
    free(names);
    strbuf_release(&dirpath);
}

static void remotes_release(struct remotes *r)
{
    for (size_t i = 0; i < r->len; i++) {
        json_decref(r->items[i].doc);
        free(r->uris[i]);
    }
    free(r->items);
    free(r->uris);
}

/* Runs one case; on failure fills why. The verdict with and without an error list must agree,
 * and an invalid instance must come with at least one error (a valid one with none). */
static bool run_case(const struct jsonschema *s, const json_t *data, bool want, struct strbuf *why)
{
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    bool got = jsonschema_validate(s, data, &errs);
    bool quick = jsonschema_validate(s, data, NULL);
    bool pass = got == want && quick == got && (got ? errs.len == 0 : errs.len > 0);
    if (!pass) {
        strbuf_addf(why, "expected %s, got %s (without error list: %s, %zu errors)",
                    want ? "valid" : "invalid", got ? "valid" : "invalid",
                    quick ? "valid" : "invalid", errs.len);
        if (errs.len)
            strbuf_addf(why, "; first: %s at '%s' (schema '%s')", errs.items[0].message,
                        errs.items[0].instance, errs.items[0].schema);
    }
    schema_errors_release(&errs);
    return pass;
}

/* Runs every group of one file. With tap, emits one TAP line per group; otherwise only counts. */
static struct counts run_file(const char *path, const char *name, const struct remotes *r, bool tap)
{
    struct counts c = { 0, 0, 0 };
    struct err err = ERR_INIT;
    json_t *groups = load_json(path, !tap, &err);
    if (!json_is_array(groups)) {
        if (tap)
            ok(false, "%s: %s", name, groups ? "not an array of groups" : err.msg);
        else
            diag("optional %s: %s", name, groups ? "not an array of groups" : err.msg);
        json_decref(groups);
        return c;
    }
    for (size_t g = 0; g < json_array_size(groups); g++) {
        const json_t *group = json_array_get(groups, g);
        const char *gdesc = json_string_value(json_object_get(group, "description"));
        const json_t *tests = json_object_get(group, "tests");
        struct err cerr = ERR_INIT;
        struct jsonschema *s =
            jsonschema_compile(json_object_get(group, "schema"), r->items, r->len, &cerr);
        struct strbuf fails = STRBUF_INIT;
        size_t passed = 0;
        for (size_t t = 0; t < json_array_size(tests); t++) {
            const json_t *test = json_array_get(tests, t);
            const char *tdesc = json_string_value(json_object_get(test, "description"));
            struct strbuf why = STRBUF_INIT;
            bool pass;
            if (!s) {
                strbuf_addf(&why, "schema does not compile: %s", cerr.msg);
                pass = false;
            } else {
                pass = run_case(s, json_object_get(test, "data"),
                                json_is_true(json_object_get(test, "valid")), &why);
            }
            if (pass)
                passed++;
            else
                strbuf_addf(&fails, "%s%s: %s: %s: %s", fails.len ? "\n# " : "", name, gdesc, tdesc,
                            strbuf_str(&why));
            strbuf_release(&why);
        }
        size_t total = json_array_size(tests);
        if (tap) {
            ok(passed == total, "%s: %s (%zu/%zu cases)", name, gdesc, passed, total);
            if (passed != total)
                diag("%s", strbuf_str(&fails));
        }
        c.passed += passed;
        c.total += total;
        strbuf_release(&fails);
        jsonschema_free(s);
    }
    json_decref(groups);
    return c;
}

static struct counts run_glob(const char *suite, const char *pattern, const struct remotes *r,
                              bool tap)
{
    struct counts sum = { 0, 0, 0 };
    struct strbuf pat = STRBUF_INIT;
    strbuf_addf(&pat, "%s/tests/%s", suite, pattern);
    glob_t gl;
    if (glob(strbuf_str(&pat), 0, NULL, &gl) == 0) {
        for (size_t i = 0; i < gl.gl_pathc; i++) {
            const char *name = gl.gl_pathv[i] + strlen(suite) + strlen("/tests/");
            struct counts c = run_file(gl.gl_pathv[i], name, r, tap);
            diag("%s%s: %zu/%zu passed", tap ? "" : "optional ", name, c.passed, c.total);
            sum.passed += c.passed;
            sum.total += c.total;
            sum.files++;
        }
        globfree(&gl);
    }
    strbuf_release(&pat);
    return sum;
}

int main(void)
{
    const char *suite = getenv("JSON_SCHEMA_TEST_SUITE");
    if (!suite || !*suite)
        suite = DEFAULT_SUITE;
    struct strbuf dir = STRBUF_INIT;
    strbuf_addf(&dir, "%s/tests/draft7", suite);
    struct stat st;
    if (stat(strbuf_str(&dir), &st) != 0 || !S_ISDIR(st.st_mode)) {
        ok(false,
           "JSON-Schema-Test-Suite found at %s (run scripts/bootstrap.sh to install the "
           "json-schema-test-suite package)",
           strbuf_str(&dir));
        strbuf_release(&dir);
        return done_testing();
    }
    strbuf_release(&dir);

    struct remotes r = { 0 };
    struct strbuf rdir = STRBUF_INIT;
    strbuf_addf(&rdir, "%s/remotes/", suite);
    load_remotes(&r, strbuf_str(&rdir), "");
    strbuf_release(&rdir);
    ok(r.len > 0, "remote documents preloaded (%zu)", r.len);

    struct counts total = run_glob(suite, "draft7/*.json", &r, true);
    ok(total.total > 0, "the suite has cases");
    diag("total: %zu/%zu", total.passed, total.total);
    /* On stderr too, so `make test` shows the count without prove -v. */
    fprintf(stderr, "JSON-Schema-Test-Suite draft7: %zu/%zu cases passed in %zu keyword files\n",
            total.passed, total.total, total.files);

    struct counts opt = run_glob(suite, "draft7/optional/*.json", &r, false);
    struct counts fmt = run_glob(suite, "draft7/optional/format/*.json", &r, false);
    diag("optional total (not required; format is an annotation only): %zu/%zu",
         opt.passed + fmt.passed, opt.total + fmt.total);

    remotes_release(&r);
    return done_testing();
}
