/* fscontract.c: slugify and template rendering (tables, with the reference's examples), build
 * and run directories with and without profiles, run timestamps and pointer files. */
#include "../harness/tap.h"
#include "files.h"
#include "fscontract.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_slugify(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "orders_etl", "orders-etl" },
        { "Orders ETL", "orders-etl" },
        { "run-000001_01M8BMVNREXHGRHWX40DC4CVY5", "run-000001-01m8bmvnrexhgrhwx40dc4cvy5" },
        { "2026-11-26T10-01-47Z_01M8BMVNRGQX95WMQFTSYDZTKA",
          "2026-11-26t10-01-47z-01m8bmvnrgqx95wmqftsydztka" },
        { "20261126T100147Z", "20261126t100147z" },
        { "  --Hello__World--  ", "hello-world" },
        { "a - b", "a-b" },
        { "a/b\\c.d", "abcd" },
        { "café crème", "caf-crme" },
        { "tab\there", "tabhere" }, /* only the space character becomes a dash */
        { "!!!", "" },
        { "", "" },
        { "---", "" },
        { "x_-_y", "x-y" },
        { "UPPER123", "upper123" },
        { "a!-!b", "a-b" },
    };
    struct arena a = ARENA_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        is_str(fscontract_slugify(&a, cases[i].in), cases[i].want, "slugify '%s'", cases[i].in);
    is_str(fscontract_slugify(&a, NULL), "", "slugify NULL");
    arena_release(&a);
}

static void test_render(void)
{
    static const char hash[] = "affa9f116d47035d2b50af7ef1d57909b7deb7376d81d35eaee7779ca8d88913";
    const struct fs_token tokens[] = {
        { "pipeline_slug", "orders_etl" },
        { "manifest_short", "affa9f1" },
        { "manifest_hash", hash },
        { "run_id", "run-000001_01M8BMVNREXHGRHWX40DC4CVY5" },
        { "run_ts", "20261126T100147Z" },
        { "profile", NULL },
        { "empty", "" },
    };
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        { "{pipeline_slug}/{manifest_short}-{manifest_hash}",
          "orders-etl/affa9f1-affa9f116d47035d2b50af7ef1d57909b7deb7376d81d35eaee7779ca8d88913" },
        { "{pipeline_slug}/{run_ts}_{run_id}-{manifest_short}",
          "orders-etl/20261126t100147z_run-000001-01m8bmvnrexhgrhwx40dc4cvy5-affa9f1" },
        { "{run_id}", "run-000001-01m8bmvnrexhgrhwx40dc4cvy5" },
        /* a missing value: the "/_" left behind is a mixed run and stays, as in the original */
        { "{pipeline_slug}/{empty}_{run_id}", "orders-etl/_run-000001-01m8bmvnrexhgrhwx40dc4cvy5" },
        { "{profile}/{pipeline_slug}", "orders-etl" },
        { "{unknown}-{pipeline_slug}--x", "orders-etl-x" },
        { "a//b__c--d", "a/b_c-d" },
        { "/-_a_-/", "a" },
        { "literal {} braces", "literal {} braces" },
        { "{unclosed", "{unclosed" },
        { "{a{b}c", "c" },
        { "", "" },
        { "{empty}", "" },
        { "Keep.Case", "Keep.Case" },
    };
    struct arena a = ARENA_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        is_str(fscontract_render(&a, cases[i].tmpl, tokens, sizeof(tokens) / sizeof(*tokens)),
               cases[i].want, "render '%s'", cases[i].tmpl);
    arena_release(&a);
}

static void test_dirs(const char *cwd)
{
    struct project_config cfg;
    struct err err = ERR_INIT;
    unlink("osiris.yaml");
    if (projconfig_load(&cfg, NULL, &err) != 0) {
        ok(false, "defaults load: %s", err.msg);
        return;
    }
    static const char hash[] = "affa9f116d47035d2b50af7ef1d57909b7deb7376d81d35eaee7779ca8d88913";
    char want[PATH_MAX + 256];
    snprintf(want, sizeof(want), "%s/build/pipelines/dev/orders-etl/affa9f1-%s", cwd, hash);
    is_str(fscontract_build_dir(&cfg, "orders_etl", "dev", hash, "affa9f1"), want,
           "build dir with a profile (the reference's example)");
    snprintf(want, sizeof(want), "%s/build/pipelines/orders-etl/affa9f1-%s", cwd, hash);
    is_str(fscontract_build_dir(&cfg, "orders_etl", NULL, hash, "affa9f1"), want,
           "build dir without a profile");
    is_str(fscontract_build_dir(&cfg, "orders_etl", "", hash, "affa9f1"), want,
           "build dir with an empty profile");

    const char *ts = fscontract_run_ts(&cfg.arena, cfg.naming.run_ts_format, 1795687307022ULL);
    snprintf(want, sizeof(want),
             "%s/run_logs/dev/orders-etl/20261126t100147z_run-000001-01m8bmvnrexhgrhwx40dc4cvy5-"
             "affa9f1",
             cwd);
    is_str(fscontract_run_dir(&cfg, "orders_etl", "dev", "run-000001_01M8BMVNREXHGRHWX40DC4CVY5",
                              ts, "affa9f1"),
           want, "run dir with a profile");
    snprintf(want, sizeof(want), "%s/run_logs/orders-etl/_run-000001-affa9f1", cwd);
    is_str(fscontract_run_dir(&cfg, "orders_etl", NULL, "run-000001", "", "affa9f1"), want,
           "run dir without a profile or timestamp");
    projconfig_release(&cfg);

    /* Profiles disabled: no profile segment even when one is passed; other dirs and templates. */
    const char *text = "filesystem:\n  build_dir: out/b\n  run_logs_dir: /var/tmp/rl\n"
                       "  profiles:\n    enabled: false\n  naming:\n"
                       "    manifest_dir: \"{manifest_short}\"\n    run_dir: \"{run_id}\"\n";
    if (files_write_atomic("osiris.yaml", text, strlen(text), 0644, &err) != 0 ||
        projconfig_load(&cfg, NULL, &err) != 0) {
        ok(false, "custom config loads: %s", err.msg);
        return;
    }
    snprintf(want, sizeof(want), "%s/out/b/pipelines/abc1234", cwd);
    is_str(fscontract_build_dir(&cfg, "p", "dev", hash, "abc1234"), want,
           "profiles disabled: no profile segment; custom build_dir and template");
    is_str(fscontract_run_dir(&cfg, "p", "dev", "RUN_1", "", "abc1234"), "/var/tmp/rl/run-1",
           "absolute run_logs_dir; custom template");
    projconfig_release(&cfg);
    unlink("osiris.yaml");
}

static void test_run_ts(void)
{
    struct arena a = ARENA_INIT;
    const uint64_t ms = 1795687307022ULL; /* 2026-11-26T10:01:47.022Z */
    is_str(fscontract_run_ts(&a, "iso_basic_z", ms), "20261126T100147Z", "iso_basic_z");
    is_str(fscontract_run_ts(&a, "epoch_ms", ms), "1795687307022", "epoch_ms");
    is_str(fscontract_run_ts(&a, "none", ms), "", "none");
    is_str(fscontract_run_ts(&a, "%Y-%m-%d_%H%M", ms), "2026-11-26_1001", "strftime format");
    is_str(fscontract_run_ts(&a, "iso_basic_z", 0), "19700101T000000Z", "the epoch");
    is_str(fscontract_run_ts(&a, "", ms), "20261126T100147Z", "empty format: iso basic");
    arena_release(&a);
}

static void test_pointers(void)
{
    struct err err = ERR_INIT;
    struct strbuf sb = STRBUF_INIT;
    ok(fscontract_write_pointer(".osiris/index/latest/orders-etl.txt", "/p/build/manifest.yaml",
                                "abc123", "dev", &err) == 0,
       "pointer written, parents created (%s)", err.msg);
    ok(files_read(".osiris/index/latest/orders-etl.txt", &sb, &err) == 0, "read raw");
    is_str(strbuf_str(&sb), "/p/build/manifest.yaml\nabc123\ndev\n", "three lines");
    strbuf_reset(&sb);
    ok(fscontract_write_pointer(".osiris/index/last_compile.txt", "/p/m.yaml", "def456", NULL,
                                &err) == 0,
       "pointer without profile written");
    ok(files_read(".osiris/index/last_compile.txt", &sb, &err) == 0, "read raw");
    is_str(strbuf_str(&sb), "/p/m.yaml\ndef456\n\n", "empty third line without a profile");

    strbuf_reset(&sb);
    strbuf_adds(&sb, "stale");
    ok(fscontract_read_pointer(".osiris/index/latest/orders-etl.txt", &sb, &err) == 0,
       "read pointer");
    is_str(strbuf_str(&sb), "/p/build/manifest.yaml", "line 1 only, out reset first");

    ok(files_write_atomic("short.txt", "/only/path", 10, 0644, &err) == 0 &&
           fscontract_read_pointer("short.txt", &sb, &err) == 0,
       "a one-line pointer without newline is read");
    is_str(strbuf_str(&sb), "/only/path", "its path");
    ok(files_write_atomic("crlf.txt", "/w/m.yaml\r\nh\r\n", 13, 0644, &err) == 0 &&
           fscontract_read_pointer("crlf.txt", &sb, &err) == 0,
       "CRLF pointer read");
    is_str(strbuf_str(&sb), "/w/m.yaml", "CR stripped");

    ok(fscontract_read_pointer("missing.txt", &sb, &err) != 0 && err.code == ERR_NOTFOUND,
       "missing pointer: ERR_NOTFOUND");
    like(err.msg, "'missing.txt' does not exist", "missing pointer: message");
    err_clear(&err);
    ok(files_write_atomic("empty.txt", "", 0, 0644, &err) == 0 &&
           fscontract_read_pointer("empty.txt", &sb, &err) != 0 && err.code == ERR_NOTFOUND,
       "empty pointer: ERR_NOTFOUND");
    like(err.msg, "'empty.txt' is empty", "empty pointer: message");
    err_clear(&err);
    ok(files_write_atomic("blank.txt", "\nh\n", 3, 0644, &err) == 0 &&
           fscontract_read_pointer("blank.txt", &sb, &err) != 0 && err.code == ERR_NOTFOUND,
       "empty first line: ERR_NOTFOUND");
    err_clear(&err);
    ok(files_write_atomic("file", "x", 1, 0644, &err) == 0 &&
           fscontract_write_pointer("file/sub/p.txt", "m", "h", NULL, &err) != 0,
       "a parent that is a file: error");
    strbuf_release(&sb);
}

int main(void)
{
    char dir[] = "/tmp/osiris-test-fscontract-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0)
        return 1;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return 1;
    unsetenv("OSIRIS_HOME");
    unsetenv("OSIRIS_PROFILE");
    unsetenv("OSIRIS_FILESYSTEM_BASE");
    test_slugify();
    test_render();
    test_dirs(cwd);
    test_run_ts();
    test_pointers();

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", cwd);
    if (chdir("/") != 0 || system(cmd) != 0)
        return 1;
    return done_testing();
}
