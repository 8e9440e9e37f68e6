/* projconfig.c: defaults, the init template, every rule of the schema and the C checks with
 * their positioned messages, environment overrides, base_path resolution and profiles. */
#include "../harness/tap.h"
#include "embedded.h"
#include "files.h"
#include "projconfig.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const env_vars[] = {
    "OSIRIS_HOME",
    "OSIRIS_PROFILE",
    "OSIRIS_FILESYSTEM_BASE",
    "OSIRIS_RUN_ID_FORMAT",
    "OSIRIS_RETENTION_RUN_LOGS_DAYS",
};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(*env_vars); i++)
        unsetenv(env_vars[i]);
}

static void write_file(const char *path, const char *text)
{
    struct err err = ERR_INIT;
    if (files_write_atomic(path, text, strlen(text), 0644, &err) != 0)
        diag("cannot write %s: %s", path, err.msg);
}

/* Loads text as ./osiris.yaml; returns the error message ("" when it loaded). */
static const char *load_text(const char *text, struct project_config *cfg)
{
    static struct err err;
    err_clear(&err);
    write_file("osiris.yaml", text);
    if (projconfig_load(cfg, NULL, &err) == 0)
        return "";
    return err.msg;
}

/* Extract and write steps get the stream limit, never more than the run's own limit, whatever
 * the units. */
static void test_memory_limits(void)
{
    static const struct {
        const char *text, *memory, *stream;
    } cases[] = {
        { "version: \"2.0\"\n", "512MB", "96MB" },
        { "run:\n  memory_limit: 64MB\n", "64MB", "64MB" },
        { "run:\n  memory_limit: 0.09 GB\n", "0.09 GB", "0.09 GB" },
        { "run:\n  memory_limit: 1GiB\n  stream_memory_limit: 200MiB\n", "1GiB", "200MiB" },
        { "run:\n  memory_limit: 100MB\n  stream_memory_limit: 100MiB\n", "100MB", "100MB" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct project_config cfg;
        const char *msg = load_text(cases[i].text, &cfg);
        is_str(msg, "", "memory limits case %zu loads", i);
        if (*msg)
            continue;
        is_str(cfg.run.memory_limit, cases[i].memory, "memory_limit %s", cases[i].memory);
        is_str(cfg.run.stream_memory_limit, cases[i].stream, "stream_memory_limit %s",
               cases[i].stream);
        projconfig_release(&cfg);
    }
}

static void test_defaults(const char *cwd)
{
    struct project_config cfg;
    struct err err = ERR_INIT;
    unlink("osiris.yaml");
    ok(projconfig_load(&cfg, NULL, &err) == 0, "no osiris.yaml: defaults load (%s)", err.msg);
    ok(cfg.path == NULL, "no file: path is NULL");
    ok(cfg.doc.root == NULL, "no file: no document");
    is_str(cfg.base_path, cwd, "base_path defaults to the cwd");
    is_str(cfg.pipelines_dir, "pipelines", "pipelines_dir");
    is_str(cfg.build_dir, "build", "build_dir");
    is_str(cfg.aiop_dir, "aiop", "aiop_dir");
    is_str(cfg.run_logs_dir, "run_logs", "run_logs_dir");
    is_str(cfg.sessions_dir, ".osiris/sessions", "sessions_dir");
    is_str(cfg.cache_dir, ".osiris/cache", "cache_dir");
    is_str(cfg.index_dir, ".osiris/index", "index_dir");
    ok(cfg.profiles_enabled, "profiles enabled by default");
    is_int(cfg.nprofiles, 6, "six default profiles");
    is_str(cfg.profiles[0], "dev", "first profile");
    is_str(cfg.profiles[5], "incident_debug", "last profile");
    is_str(cfg.default_profile, "dev", "default profile");
    is_str(cfg.naming.manifest_dir, "{pipeline_slug}/{manifest_short}-{manifest_hash}",
           "manifest_dir template");
    is_str(cfg.naming.run_dir, "{pipeline_slug}/{run_ts}_{run_id}-{manifest_short}",
           "run_dir template");
    is_str(cfg.naming.aiop_run_dir, "{run_id}", "aiop_run_dir template");
    is_str(cfg.naming.run_ts_format, "iso_basic_z", "run_ts_format");
    is_int(cfg.naming.manifest_short_len, 7, "manifest_short_len");
    ok(cfg.artifacts.manifest && cfg.artifacts.plan && cfg.artifacts.fingerprints &&
           cfg.artifacts.run_summary && cfg.artifacts.cfg,
       "artifacts all on");
    is_int(cfg.artifacts.save_events_tail, 0, "save_events_tail");
    is_int(cfg.retention.run_logs_days, 7, "run_logs_days");
    is_int(cfg.retention.aiop_keep_runs_per_pipeline, 200, "aiop_keep_runs_per_pipeline");
    is_int(cfg.retention.annex_keep_days, 14, "annex_keep_days");
    is_str(cfg.outputs.directory, "output", "outputs.directory");
    is_str(cfg.outputs.format, "csv", "outputs.format");
    is_int(cfg.nrun_id_format, 1, "one run id token");
    is_str(cfg.run_id_format[0], "iso_ulid", "run_id_format defaults to iso_ulid");
    is_str(cfg.manifest_hash_algo, "sha256_slug", "manifest_hash_algo");
    projconfig_release(&cfg);

    const char *msg = load_text("", &cfg);
    is_str(msg, "", "an empty file loads");
    is_str(cfg.path, "osiris.yaml", "empty file: path recorded");
    is_str(cfg.build_dir, "build", "empty file: defaults");
    projconfig_release(&cfg);

    msg = load_text("# only a comment\n", &cfg);
    is_str(msg, "", "a file of comments loads");
    projconfig_release(&cfg);

    msg = load_text("filesystem:\nids:\nlogging: {level: DEBUG}\nversion: 2\n", &cfg);
    is_str(msg, "", "empty sections and other top-level keys are accepted");
    is_int(cfg.naming.manifest_short_len, 7, "empty sections keep defaults");
    projconfig_release(&cfg);
}

static void test_init_template(const char *cwd)
{
    const struct embedded_file *t = embedded_find("src/cli/templates/osiris.yaml");
    ok(t != NULL, "the init template is embedded");
    if (!t)
        return;
    struct strbuf sb = STRBUF_INIT;
    const char *mark = strstr((const char *)t->data, "{{base_path}}");
    strbuf_add(&sb, t->data, (size_t)(mark - (const char *)t->data));
    strbuf_addf(&sb, "\"%s/proj\"", cwd);
    strbuf_adds(&sb, mark + strlen("{{base_path}}"));
    struct project_config cfg;
    const char *msg = load_text(strbuf_str(&sb), &cfg);
    is_str(msg, "", "the init template loads without errors");
    if (!*msg) {
        char want[PATH_MAX + 8];
        snprintf(want, sizeof(want), "%s/proj", cwd);
        is_str(cfg.base_path, want, "template: base_path as written");
        is_str(cfg.build_dir, "build", "template: build_dir");
        is_str(cfg.default_profile, "dev", "template: default profile");
        is_int(cfg.nprofiles, 6, "template: six profiles");
        is_int(cfg.naming.manifest_short_len, 7, "template: manifest_short_len");
        is_int(cfg.retention.aiop_keep_runs_per_pipeline, 200, "template: aiop keep");
        is_int(cfg.nrun_id_format, 2, "template: two run id tokens");
        is_str(cfg.run_id_format[0], "incremental", "template: incremental first");
        is_str(cfg.run_id_format[1], "ulid", "template: then ulid");
        is_str(cfg.manifest_hash_algo, "sha256_slug", "template: hash algo");
        projconfig_release(&cfg);
    }
    strbuf_release(&sb);
}

/* Every invalid file gives exactly this one line. */
static const struct {
    const char *text, *want;
} bad[] = {
    { "filesystem:\n  naming:\n    manifest_short_len: 20\n",
      "osiris.yaml:3:5: filesystem.naming.manifest_short_len: must be <= 16, got 20" },
    { "filesystem:\n  naming:\n    manifest_short_len: 2\n",
      "osiris.yaml:3:5: filesystem.naming.manifest_short_len: must be >= 3, got 2" },
    { "filesystem:\n  naming:\n    manifest_short_len: \"7\"\n",
      "osiris.yaml:3:5: filesystem.naming.manifest_short_len: expected an integer, got '7'" },
    { "filesystem:\n  naming:\n    manifest_short_len: 7.5\n",
      "osiris.yaml:3:5: filesystem.naming.manifest_short_len: expected an integer, got 7.5" },
    { "run:\n  stream_memory_limit: lots\n",
      "osiris.yaml:2:3: run.stream_memory_limit: 'lots' is not a size: a number and a unit (B, "
      "KB, KiB, MB, MiB, GB, GiB, TB, TiB), e.g. 512MB" },
    { "filesystem:\n  bse_path: /x\n",
      "osiris.yaml:2:3: filesystem.bse_path: unknown key; did you mean 'base_path'?" },
    { "filesystem:\n  profiles:\n    enabled: true\n    colour: red\n",
      "osiris.yaml:4:5: filesystem.profiles.colour: unknown key (known keys: enabled, values, "
      "default)" },
    { "ids:\n  run_id_fromat: ulid\n",
      "osiris.yaml:2:3: ids.run_id_fromat: unknown key; did you mean 'run_id_format'?" },
    { "filesystem:\n  retention:\n    run_logs_days: -1\n",
      "osiris.yaml:3:5: filesystem.retention.run_logs_days: must be >= 0, got -1" },
    { "filesystem:\n  artifacts:\n    save_events_tail: -5\n",
      "osiris.yaml:3:5: filesystem.artifacts.save_events_tail: must be >= 0, got -5" },
    { "filesystem:\n  artifacts:\n    plan: yes\n",
      "osiris.yaml:3:5: filesystem.artifacts.plan: expected true or false, got 'yes'" },
    { "ids:\n  run_id_format: [incremental, ulidx]\n",
      "osiris.yaml:2:32: ids.run_id_format[1]: must be one of \"incremental\", \"ulid\", "
      "\"iso_ulid\", \"uuidv4\", \"snowflake\", got 'ulidx'; did you mean 'ulid'?" },
    { "ids:\n  run_id_format: banana\n",
      "osiris.yaml:2:3: ids.run_id_format: must be one of \"incremental\", \"ulid\", \"iso_ulid\", "
      "\"uuidv4\", \"snowflake\", got 'banana'" },
    { "ids:\n  run_id_format: []\n",
      "osiris.yaml:2:3: ids.run_id_format: must have at least 1 item" },
    { "ids:\n  manifest_hash_algo: md5\n",
      "osiris.yaml:2:3: ids.manifest_hash_algo: must be \"sha256_slug\", got 'md5'" },
    { "filesystem:\n  profiles:\n    values: [dev, prod]\n    default: staging\n",
      "osiris.yaml:4:5: filesystem.profiles.default: 'staging' is not one of "
      "filesystem.profiles.values (dev, prod)" },
    { "filesystem:\n  profiles:\n    values: [dev, prod]\n    default: prd\n",
      "osiris.yaml:4:5: filesystem.profiles.default: 'prd' is not one of "
      "filesystem.profiles.values (dev, prod); did you mean 'prod'?" },
    { "filesystem:\n  profiles:\n    values: [a, b]\n",
      "osiris.yaml:3:5: filesystem.profiles.default: not set, and the built-in default 'dev' is "
      "not one of filesystem.profiles.values (a, b); set it to one of them" },
    { "filesystem:\n  profiles:\n    enabled: true\n    values: []\n",
      "osiris.yaml:4:5: filesystem.profiles.values: must list at least one profile when profiles "
      "are enabled" },
    { "filesystem:\n  profiles:\n    values: [dev, dev]\n",
      "osiris.yaml:3:5: filesystem.profiles.values: lists a value twice (items 0 and 1 are "
      "equal)" },
    { "filesystem:\n  profiles:\n    values: [dev, ../x]\n    default: dev\n",
      "osiris.yaml:3:19: filesystem.profiles.values[1]: '../x' is not a valid profile name" },
    { "filesystem: [a, b]\n", "osiris.yaml:1:1: filesystem: expected a mapping, got a list" },
    { "filesystem:\n  naming: 5\n",
      "osiris.yaml:2:3: filesystem.naming: expected a mapping, got 5" },
    { "filesystem:\n  build_dir: \"\"\n",
      "osiris.yaml:2:3: filesystem.build_dir: must not be empty" },
    { "filesystem:\n  outputs:\n    directory: \"\"\n",
      "osiris.yaml:3:5: filesystem.outputs.directory: must not be empty" },
    { "filesystem:\n  build_dir: ~\n",
      "osiris.yaml:2:3: filesystem.build_dir: expected a string, got nothing (an empty value)" },
    { "- a\n- b\n", "osiris.yaml:1:1: root: expected a mapping, got a list" },
    { "just a string\n", "osiris.yaml:1:1: root: expected a mapping, got 'just a string'" },
    { "filesystem:\n  build_dir: a\n  build_dir: b\n",
      "osiris.yaml:3:3: duplicate key 'build_dir'" },
    { "filesystem:\n\tbuild_dir: a\n", "osiris.yaml:2:1: " },
    { "filesystem: {build_dir: [\n", "osiris.yaml:2:1: " },
    { "output:\n  format: 7\n", "osiris.yaml:2:3: output.format: expected a string, got 7" },
    { "filesystem:\n  \"a\\nb\": 1\n",
      "osiris.yaml:2:3: filesystem.a?b: unknown key (known keys: base_path," },
    { "filesystem:\n  build_dir: \"x\\ny\"\n  naming: {run_ts_format: 5}\n",
      "osiris.yaml:3:12: filesystem.naming.run_ts_format: expected a string, got 5" },
    { "filesystem:\n  profiles:\n    enabled: \"tab\\there\"\n",
      "osiris.yaml:3:5: filesystem.profiles.enabled: expected true or false, got 'tab?here'" },
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        struct project_config cfg;
        const char *msg = load_text(bad[i].text, &cfg);
        if (!*msg) {
            ok(false, "invalid file %zu is rejected", i);
            projconfig_release(&cfg);
            continue;
        }
        like(msg, bad[i].want, "bad %zu: %.50s", i, bad[i].want);
        ok(!strchr(msg, '\n'), "bad %zu: one line", i);
    }

    struct project_config cfg;
    struct err err = ERR_INIT;
    write_file("osiris.yaml", "filesystem:\n  naming:\n    manifest_short_len: 20\n");
    ok(projconfig_load(&cfg, NULL, &err) != 0 && err.code == ERR_INPUT, "invalid: ERR_INPUT");
    ok(cfg.path == NULL && cfg.doc.root == NULL, "invalid: the config is released");

    err_clear(&err);
    ok(projconfig_load(&cfg, "nope.yaml", &err) != 0 && err.code == ERR_NOTFOUND,
       "a missing explicit file is ERR_NOTFOUND");
    like(err.msg, "'nope.yaml' not found", "names the file");

    err_clear(&err);
    mkdir("adir.yaml", 0755);
    ok(projconfig_load(&cfg, "adir.yaml", &err) != 0 && err.code == ERR_INPUT,
       "a directory is ERR_INPUT");
    like(err.msg, "adir.yaml: is a directory", "names the directory");

    /* Binary junk is rejected by the YAML loader with a position. */
    static const char junk[] = "\x7f"
                               "ELF\x02\x01\x01\x00\x00\x00";
    err_clear(&err);
    write_file("junk.yaml", junk);
    ok(projconfig_load(&cfg, "junk.yaml", &err) != 0 && err.code == ERR_INPUT,
       "binary junk is ERR_INPUT");
    like(err.msg, "junk.yaml:1:1: ", "junk: positioned");

    /* With profiles disabled, default and values are not checked against each other. */
    const char *msg = load_text("filesystem:\n  profiles:\n    enabled: false\n    values: []\n"
                                "    default: nope\n",
                                &cfg);
    is_str(msg, "", "profiles disabled: default need not be listed");
    projconfig_release(&cfg);

    msg = load_text("filesystem:\n  mcp_logs_dir: .osiris/mcp/logs\n", &cfg);
    is_str(msg, "", "the original init's mcp_logs_dir is accepted");
    projconfig_release(&cfg);
}

static void test_overrides(const char *cwd)
{
    struct project_config cfg;
    const char *tmpl = "filesystem:\n  retention:\n    run_logs_days: 3\n";
    setenv("OSIRIS_RETENTION_RUN_LOGS_DAYS", "30", 1);
    const char *msg = load_text(tmpl, &cfg);
    is_str(msg, "", "retention override loads");
    is_int(cfg.retention.run_logs_days, 30, "OSIRIS_RETENTION_RUN_LOGS_DAYS wins over the file");
    projconfig_release(&cfg);

    setenv("OSIRIS_RETENTION_RUN_LOGS_DAYS", "abc", 1);
    msg = load_text(tmpl, &cfg);
    is_str(msg,
           "osiris.yaml:3:5: filesystem.retention.run_logs_days (from "
           "OSIRIS_RETENTION_RUN_LOGS_DAYS): must be a non-negative integer, got 'abc'",
           "a non-integer retention override is an error naming the variable");
    setenv("OSIRIS_RETENTION_RUN_LOGS_DAYS", "-2", 1);
    msg = load_text(tmpl, &cfg);
    like(msg, "(from OSIRIS_RETENTION_RUN_LOGS_DAYS): must be >= 0, got -2",
         "a negative retention override is an error");
    unlink("osiris.yaml");
    struct err err = ERR_INIT;
    ok(projconfig_load(&cfg, NULL, &err) != 0, "override error without a file");
    is_str(err.msg,
           "filesystem.retention.run_logs_days (from OSIRIS_RETENTION_RUN_LOGS_DAYS): must be >= "
           "0, got -2",
           "override error without a file: no position");
    setenv("OSIRIS_RETENTION_RUN_LOGS_DAYS", "", 1);
    msg = load_text(tmpl, &cfg);
    is_str(msg, "", "an empty variable counts as unset");
    is_int(cfg.retention.run_logs_days, 3, "empty variable: the file's value");
    projconfig_release(&cfg);
    unsetenv("OSIRIS_RETENTION_RUN_LOGS_DAYS");

    setenv("OSIRIS_PROFILE", "prod", 1);
    msg = load_text("", &cfg);
    is_str(msg, "", "OSIRIS_PROFILE loads");
    is_str(cfg.default_profile, "prod", "OSIRIS_PROFILE sets the default profile");
    projconfig_release(&cfg);
    setenv("OSIRIS_PROFILE", "nope", 1);
    msg = load_text("filesystem:\n  profiles:\n    default: dev\n", &cfg);
    is_str(msg,
           "osiris.yaml:3:5: filesystem.profiles.default (from OSIRIS_PROFILE): 'nope' is not one "
           "of filesystem.profiles.values (dev, staging, prod, ml, finance, incident_debug)",
           "an unknown OSIRIS_PROFILE names the variable");
    msg = load_text("filesystem:\n  profiles:\n    enabled: false\n", &cfg);
    is_str(msg, "", "OSIRIS_PROFILE is ignored when profiles are disabled");
    projconfig_release(&cfg);
    setenv("OSIRIS_PROFILE", "a/b", 1);
    msg = load_text("filesystem:\n  profiles:\n    enabled: false\n", &cfg);
    is_str(msg, "", "... even when it is not a valid name");
    projconfig_release(&cfg);
    msg = load_text("", &cfg);
    like(msg,
         "filesystem.profiles.default (from OSIRIS_PROFILE): 'a/b' is not a valid profile name",
         "an invalid OSIRIS_PROFILE name");
    unsetenv("OSIRIS_PROFILE");

    setenv("OSIRIS_RUN_ID_FORMAT", "ulid, uuidv4", 1);
    msg = load_text("ids:\n  run_id_format: incremental\n", &cfg);
    is_str(msg, "", "OSIRIS_RUN_ID_FORMAT loads");
    is_int(cfg.nrun_id_format, 2, "comma-separated tokens");
    is_str(cfg.run_id_format[0], "ulid", "first token trimmed");
    is_str(cfg.run_id_format[1], "uuidv4", "second token trimmed");
    projconfig_release(&cfg);
    setenv("OSIRIS_RUN_ID_FORMAT", "ulid,,uuidv4", 1);
    msg = load_text("", &cfg);
    like(msg, "ids.run_id_format[1] (from OSIRIS_RUN_ID_FORMAT): must be one of",
         "an empty token is reported");
    setenv("OSIRIS_RUN_ID_FORMAT", "snowflak", 1);
    msg = load_text("", &cfg);
    like(msg, "got 'snowflak'; did you mean 'snowflake'?", "a mistyped token gets a suggestion");
    unsetenv("OSIRIS_RUN_ID_FORMAT");

    setenv("OSIRIS_FILESYSTEM_BASE", "elsewhere/../there", 1);
    mkdir("sub", 0755);
    write_file("sub/osiris.yaml", "filesystem:\n  base_path: proj\n");
    ok(projconfig_load(&cfg, "sub/osiris.yaml", &err) == 0, "base override loads");
    char want[PATH_MAX + 32];
    snprintf(want, sizeof(want), "%s/there", cwd);
    is_str(cfg.base_path, want, "OSIRIS_FILESYSTEM_BASE is relative to the cwd, normalised");
    projconfig_release(&cfg);
    setenv("OSIRIS_FILESYSTEM_BASE", "caf\xe9", 1);
    msg = load_text("", &cfg);
    is_str(msg,
           "osiris.yaml:1:1: filesystem.base_path (from OSIRIS_FILESYSTEM_BASE): the value is not "
           "valid UTF-8",
           "a value that is not UTF-8 is an error");
    unsetenv("OSIRIS_FILESYSTEM_BASE");

    /* An override of a section the file has as a scalar leaves the file's error to report. */
    setenv("OSIRIS_PROFILE", "dev", 1);
    msg = load_text("filesystem: 3\n", &cfg);
    is_str(msg, "osiris.yaml:1:1: filesystem: expected a mapping, got 3",
           "override into a non-mapping: the file's error");
    unsetenv("OSIRIS_PROFILE");
}

static void test_base_path(const char *cwd)
{
    struct project_config cfg;
    struct err err = ERR_INIT;
    char want[PATH_MAX + 64];

    write_file("sub/osiris.yaml", "filesystem:\n  base_path: proj/./x/..\n");
    ok(projconfig_load(&cfg, "sub/osiris.yaml", &err) == 0, "relative base_path loads");
    snprintf(want, sizeof(want), "%s/sub/proj", cwd);
    is_str(cfg.base_path, want, "relative base_path: relative to the file's directory");
    snprintf(want, sizeof(want), "%s/sub/proj/build", cwd);
    is_str(projconfig_path(&cfg, cfg.build_dir), want, "projconfig_path joins");
    is_str(projconfig_path(&cfg, "/abs/x"), "/abs/x", "projconfig_path keeps absolute paths");
    snprintf(want, sizeof(want), "%s/sub/proj/a/b", cwd);
    is_str(projconfig_path(&cfg, "./a//b/"), want, "projconfig_path normalises");
    projconfig_release(&cfg);

    write_file("sub/osiris.yaml", "filesystem:\n  base_path: \"\"\n");
    ok(projconfig_load(&cfg, "sub/osiris.yaml", &err) == 0, "empty base_path loads");
    is_str(cfg.base_path, cwd, "empty base_path: the cwd");
    projconfig_release(&cfg);

    setenv("HOME", "/home/tester", 1);
    write_file("sub/osiris.yaml", "filesystem:\n  base_path: ~/work\n");
    ok(projconfig_load(&cfg, "sub/osiris.yaml", &err) == 0, "~ base_path loads");
    is_str(cfg.base_path, "/home/tester/work", "~ is the home directory");
    projconfig_release(&cfg);

    write_file("sub/osiris.yaml", "filesystem:\n  base_path: ~no-such-user-osiris/x\n");
    ok(projconfig_load(&cfg, "sub/osiris.yaml", &err) != 0, "~unknown user fails");
    like(err.msg, "sub/osiris.yaml:2:3: filesystem.base_path: cannot expand", "positioned");

    /* OSIRIS_HOME: the file there is the one read. */
    setenv("OSIRIS_HOME", "sub", 1);
    write_file("sub/osiris.yaml", "filesystem:\n  build_dir: from-home\n");
    write_file("osiris.yaml", "filesystem:\n  build_dir: from-cwd\n");
    err_clear(&err);
    ok(projconfig_load(&cfg, NULL, &err) == 0, "OSIRIS_HOME config loads");
    is_str(cfg.path, "sub/osiris.yaml", "OSIRIS_HOME/osiris.yaml is read");
    is_str(cfg.build_dir, "from-home", "its values are used");
    projconfig_release(&cfg);
    unsetenv("OSIRIS_HOME");
    ok(projconfig_load(&cfg, NULL, &err) == 0, "cwd config loads");
    is_str(cfg.build_dir, "from-cwd", "without OSIRIS_HOME: ./osiris.yaml");
    projconfig_release(&cfg);

    const char *msg = load_text("output:\n  directory: legacy\n", &cfg);
    is_str(msg, "", "legacy output section loads");
    is_str(cfg.outputs.directory, "legacy", "legacy output.directory is read");
    is_str(cfg.outputs.format, "csv", "legacy output: format default");
    projconfig_release(&cfg);
    msg = load_text("output:\n  directory: legacy\nfilesystem:\n  outputs:\n    format: parquet\n",
                    &cfg);
    is_str(cfg.outputs.directory, "output", "filesystem.outputs wins over legacy output");
    is_str(cfg.outputs.format, "parquet", "filesystem.outputs.format");
    projconfig_release(&cfg);
}

static void test_profiles(void)
{
    struct project_config cfg;
    struct err err = ERR_INIT;
    const char *p = "x";
    const char *msg = load_text("", &cfg);
    is_str(msg, "", "defaults");
    ok(projconfig_profile(&cfg, NULL, &p, &err) == 0, "no profile requested");
    is_str(p, "dev", "the default profile");
    ok(projconfig_profile(&cfg, "prod", &p, &err) == 0, "known profile");
    is_str(p, "prod", "requested profile");
    ok(projconfig_profile(&cfg, "prd", &p, &err) != 0 && err.code == ERR_INPUT,
       "unknown profile is ERR_INPUT");
    is_str(
        err.msg,
        "unknown profile 'prd'; did you mean 'prod'? (profiles: dev, staging, prod, ml, finance, "
        "incident_debug)",
        "unknown profile: suggestion and list");
    ok(p == NULL, "unknown profile: NULL");
    projconfig_release(&cfg);

    msg = load_text("filesystem:\n  profiles:\n    enabled: false\n", &cfg);
    is_str(msg, "", "profiles disabled loads");
    p = "x";
    err_clear(&err);
    ok(projconfig_profile(&cfg, NULL, &p, &err) == 0 && p == NULL, "disabled: no profile");
    ok(projconfig_profile(&cfg, "dev", &p, &err) != 0, "disabled: a requested profile fails");
    like(err.msg, "profiles are disabled", "disabled: says so");
    projconfig_release(&cfg);
}

int main(void)
{
    char dir[] = "/tmp/osiris-test-projconfig-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0)
        return 1;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return 1;
    clear_env();
    test_defaults(cwd);
    test_init_template(cwd);
    test_errors();
    test_memory_limits();
    test_overrides(cwd);
    test_base_path(cwd);
    test_profiles();

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", cwd);
    if (chdir("/") != 0 || system(cmd) != 0)
        return 1;
    return done_testing();
}
