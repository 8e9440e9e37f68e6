/* connections.c: search order, structural errors with positions, default selection, references,
 * ${VAR} / ${VAR:-fallback} substitution and every resolution message. */
#include "../harness/tap.h"
#include "connections.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0) {
        perror(path);
        exit(1);
    }
}

/* Loads text as t.yaml; returns the load status, the error in err. */
static int load_text(struct connections *c, const char *text, struct err *err)
{
    write_file("t.yaml", text);
    err_clear(err);
    return connections_load(c, "t.yaml", err);
}

/* Expects text to fail loading with exactly msg. */
static void load_fails(const char *text, const char *msg, const char *name)
{
    struct connections c = CONNECTIONS_INIT;
    struct err err = ERR_INIT;
    ok(load_text(&c, text, &err) == -1 && err.code == ERR_INPUT, "%s: rejected", name);
    is_str(err.msg, msg, "%s: message", name);
    ok(c.path == NULL && c.doc.root == NULL, "%s: nothing kept", name);
    connections_release(&c);
}

/* Resolves and returns the canonical JSON of the result, or "ERR: <message>". Owned. */
static char *resolve_text(const struct connections *c, const char *family, const char *alias)
{
    struct err err = ERR_INIT;
    json_t *v = connections_resolve(c, family, alias, &err);
    struct strbuf sb = STRBUF_INIT;
    if (v)
        jv_canonical(v, &sb);
    else
        strbuf_addf(&sb, "ERR: %s", err.msg);
    json_decref(v);
    return strbuf_detach(&sb, NULL);
}

static void resolves(const struct connections *c, const char *family, const char *alias,
                     const char *want, const char *name)
{
    char *got = resolve_text(c, family, alias);
    is_str(got, want, "%s", name);
    free(got);
}

static void test_search_order(const char *top)
{
    char path[512];
    struct connections c = CONNECTIONS_INIT;
    struct err err = ERR_INIT;
    snprintf(path, sizeof(path), "%s/proj/sub", top);
    make_dir(path);
    snprintf(path, sizeof(path), "%s/home", top);
    make_dir(path);
    snprintf(path, sizeof(path), "%s/proj/sub", top);
    if (chdir(path) != 0)
        exit(1);
    unsetenv("OSIRIS_HOME");

    ok(connections_load(&c, NULL, &err) == 0 && !c.path && !c.doc.root, "no file: no connections");
    resolves(&c, "mysql", NULL,
             "ERR: No connections configured. Create osiris_connections.yaml with mysql "
             "connections.",
             "no file: resolution says so");
    ok(connections_family(&c, "mysql") == NULL, "no file: no family");
    ok(connections_default_alias(&c, "mysql") == NULL, "no file: no default");
    connections_release(&c);

    write_file("../osiris_connections.yaml", "connections: {x: {a: {from: parent}}}\n");
    ok(connections_load(&c, NULL, &err) == 0, "parent file loads");
    is_str(c.path, "../osiris_connections.yaml", "the cwd's parent is searched");
    connections_release(&c);

    write_file("osiris_connections.yaml", "connections: {x: {a: {from: cwd}}}\n");
    ok(connections_load(&c, NULL, &err) == 0, "cwd file loads");
    is_str(c.path, "osiris_connections.yaml", "the cwd wins over its parent");
    resolves(&c, "x", "a", "{\"from\":\"cwd\"}", "values come from the cwd file");
    connections_release(&c);

    snprintf(path, sizeof(path), "%s/home/osiris_connections.yaml", top);
    write_file(path, "connections: {x: {a: {from: home}}}\n");
    snprintf(path, sizeof(path), "%s/home/", top);
    setenv("OSIRIS_HOME", path, 1);
    ok(connections_load(&c, NULL, &err) == 0, "OSIRIS_HOME file loads");
    snprintf(path, sizeof(path), "%s/home/osiris_connections.yaml", top);
    is_str(c.path, path, "$OSIRIS_HOME wins over the cwd (no doubled slash)");
    resolves(&c, "x", "a", "{\"from\":\"home\"}", "values come from $OSIRIS_HOME");
    connections_release(&c);

    snprintf(path, sizeof(path), "%s/home", top);
    setenv("OSIRIS_HOME", path, 1);
    write_file("given.yaml", "connections: {x: {a: {from: given}}}\n");
    ok(connections_load(&c, "given.yaml", &err) == 0, "explicit file loads");
    is_str(c.path, "given.yaml", "an explicit path wins over everything");
    connections_release(&c);
    ok(connections_load(&c, "missing.yaml", &err) != 0, "a missing explicit path is an error");
    like(err.msg, "missing.yaml", "... naming it");
    err_clear(&err);

    setenv("OSIRIS_HOME", "", 1);
    ok(connections_load(&c, NULL, &err) == 0, "empty OSIRIS_HOME is ignored");
    is_str(c.path, "osiris_connections.yaml", "... and the cwd is used");
    connections_release(&c);

    setenv("OSIRIS_HOME", top, 1); /* no file there */
    ok(connections_load(&c, NULL, &err) == 0, "OSIRIS_HOME without a file");
    is_str(c.path, "osiris_connections.yaml", "... falls back to the cwd");
    connections_release(&c);
    unsetenv("OSIRIS_HOME");

    /* A file that exists but cannot be read is an I/O error, not "no connections". */
    mkdir("dir.yaml", 0755);
    err_clear(&err);
    ok(connections_load(&c, "dir.yaml", &err) == -1 && err.code == ERR_IO, "a directory: ERR_IO");
    connections_release(&c);

    snprintf(path, sizeof(path), "%s", top);
    if (chdir(path) != 0)
        exit(1);
}

static void test_structure(void)
{
    struct connections c = CONNECTIONS_INIT;
    struct err err = ERR_INIT;

    ok(load_text(&c, "", &err) == 0 && c.path && json_is_null(c.doc.root), "empty file: loaded");
    resolves(&c, "duckdb", NULL,
             "ERR: No connections configured. Create osiris_connections.yaml with duckdb "
             "connections.",
             "empty file: no connections");
    connections_release(&c);
    ok(load_text(&c, "version: 1\n", &err) == 0, "version only: loaded");
    resolves(&c, "duckdb", "x",
             "ERR: No connections configured. Create osiris_connections.yaml with duckdb "
             "connections.",
             "no connections key: no connections");
    connections_release(&c);
    ok(load_text(&c, "version: 1\nconnections:\n", &err) == 0, "connections: null is empty");
    ok(json_is_object(json_object_get(c.doc.root, "connections")), "... normalised to {}");
    connections_release(&c);
    ok(load_text(&c, "connections:\n  mysql:\n  duckdb: {m: {path: x}}\n", &err) == 0,
       "an empty family is accepted");
    ok(json_is_object(connections_family(&c, "mysql")), "... as an empty mapping");
    resolves(&c, "mysql", NULL, "ERR: No connections defined for family 'mysql'",
             "empty family: resolution message");
    connections_release(&c);

    load_fails(
        "connections: [\n",
        "t.yaml:2:1: did not find expected node content (while parsing a flow node at line 2, "
        "column 1)",
        "bad YAML");
    load_fails("- a\n- b\n",
               "t.yaml:1:1: the connections file must be a mapping with a 'connections' key, "
               "got array",
               "root not a mapping");
    load_fails("version: 1\nconnection:\n  mysql: {}\n",
               "t.yaml:2:1: unknown top-level key 'connection' (expected 'connections' or "
               "'version')",
               "unknown top-level key");
    load_fails("connections: mysql\n",
               "t.yaml:1:14: 'connections' must be a mapping of families (mysql, duckdb, ...) to "
               "aliases, got string",
               "connections not a mapping");
    load_fails("connections:\n  - mysql\n",
               "t.yaml:2:3: 'connections' must be a mapping of families (mysql, duckdb, ...) to "
               "aliases, got array",
               "connections a list");
    load_fails("connections:\n  my sql:\n    a: {}\n",
               "t.yaml:2:3: invalid family name 'my sql': use letters, digits, '_' and '-'",
               "bad family name");
    load_fails("connections:\n  mysql.x:\n    a: {}\n",
               "t.yaml:2:3: invalid family name 'mysql.x': use letters, digits, '_' and '-'",
               "family name with a dot");
    load_fails("connections:\n  mysql: [a, b]\n",
               "t.yaml:2:10: family 'mysql' must be a mapping of aliases to connection fields, "
               "got array",
               "family not a mapping");
    load_fails("connections:\n  mysql:\n    a b: {}\n",
               "t.yaml:3:5: invalid alias name 'a b' in family 'mysql': use letters, digits, "
               "'_' and '-'",
               "bad alias name");
    load_fails("connections:\n  mysql:\n    main: localhost\n",
               "t.yaml:3:11: connection 'mysql.main' must be a mapping of fields, got string",
               "alias not a mapping");
    load_fails("connections:\n  mysql:\n    main:\n",
               "t.yaml:3:5: connection 'mysql.main' must be a mapping of fields, got nothing",
               "alias null");
    load_fails("connections:\n  mysql:\n    main:\n      default: \"true\"\n      host: h\n",
               "t.yaml:4:16: 'default' of 'mysql.main' must be a boolean, got the string "
               "\"true\"; write default: true without quotes",
               "default: \"true\" is an error with a hint");
    load_fails("connections:\n  mysql:\n    main: {default: 'False'}\n",
               "t.yaml:3:21: 'default' of 'mysql.main' must be a boolean, got the string "
               "\"False\"; write default: false without quotes",
               "default: 'False' too");
    load_fails("connections:\n  mysql:\n    main: {default: 1}\n",
               "t.yaml:3:21: 'default' of 'mysql.main' must be a boolean (true or false), got "
               "integer",
               "default: 1");
    load_fails("connections:\n  mysql:\n    a: {default: true}\n    b: {default: false}\n"
               "    c:\n      default: true\n",
               "t.yaml:6:7: family 'mysql' has two default aliases, 'a' (line 3) and 'c'; mark "
               "only one with default: true",
               "two defaults");
    load_fails("connections:\n  mysql:\n    a: {x: 1}\n    a: {x: 2}\n",
               "t.yaml:4:5: duplicate key 'a' (first defined at line 3)", "duplicate alias");
}

static void test_defaults_and_refs(void)
{
    struct connections c = CONNECTIONS_INIT;
    struct err err = ERR_INIT;
    ok(load_text(&c,
                 "connections:\n"
                 "  mysql:\n"
                 "    first: {host: a}\n"
                 "    default: {host: named}\n"
                 "    marked: {default: true, host: marked}\n"
                 "  pg:\n"
                 "    x: {host: x, default: false}\n"
                 "    default: {host: named}\n"
                 "  fs:\n"
                 "    a: {base_dir: ./a}\n"
                 "    b: {base_dir: ./b}\n",
                 &err) == 0,
       "defaults file loads");
    is_str(connections_default_alias(&c, "mysql"), "marked", "default: true wins over the name");
    is_str(connections_default_alias(&c, "pg"), "default", "else the alias named default");
    ok(connections_default_alias(&c, "fs") == NULL, "else none");
    ok(connections_default_alias(&c, "nope") == NULL, "unknown family: none");
    resolves(&c, "mysql", NULL, "{\"host\":\"marked\"}", "resolved default drops 'default'");
    resolves(&c, "pg", "x", "{\"host\":\"x\"}", "default: false is removed too");
    resolves(&c, "pg", NULL, "{\"host\":\"named\"}", "alias named default");
    resolves(&c, "fs", NULL,
             "ERR: No default connection for family 'fs'. Available aliases: a, b. Either: 1) "
             "Set 'default: true' on an alias, 2) Name an alias 'default', or 3) Specify an "
             "alias explicitly.",
             "no default: the original's message");
    resolves(&c, "fs", "c",
             "ERR: Connection alias 'c' not found in family 'fs'. Available "
             "aliases: a, b",
             "unknown alias");
    resolves(&c, "postgresql", "x",
             "ERR: Connection family 'postgresql' not found. Available families: mysql, pg, fs",
             "unknown family, families in file order");
    resolves(&c, "ignored", "@fs.b", "{\"base_dir\":\"./b\"}", "an @ alias overrides the family");
    resolves(&c, "fs", "@fs",
             "ERR: Invalid connection reference format '@fs'. Expected "
             "'@family.alias'",
             "a bad @ alias is reported");
    json_t *fam = (json_t *)connections_family(&c, "fs");
    ok(json_object_size(fam) == 2, "connections_family gives the aliases");
    connections_release(&c);

    char *f, *a;
    ok(connections_parse_ref("@mysql.db.prod.primary", &f, &a, &err) == 0, "dotted alias parses");
    is_str(f, "mysql", "split at the first dot: family");
    is_str(a, "db.prod.primary", "split at the first dot: alias");
    free(f);
    free(a);
    ok(connections_parse_ref("@m.a", &f, &a, &err) == 0, "short ref parses");
    is_str(f, "m", "family m");
    is_str(a, "a", "alias a");
    free(f);
    free(a);
    static const struct {
        const char *ref, *msg;
    } bad[] = {
        { "@mysql", "Invalid connection reference format '@mysql'. Expected '@family.alias'" },
        { "mysql.main",
          "Invalid connection reference format 'mysql.main'. Expected '@family.alias'" },
        { "@", "Invalid connection reference format '@'. Expected '@family.alias'" },
        { "", "Invalid connection reference format ''. Expected '@family.alias'" },
        { "@.x", "Family and alias cannot be empty in connection reference '@.x'" },
        { "@mysql.", "Family and alias cannot be empty in connection reference '@mysql.'" },
        { "@.", "Family and alias cannot be empty in connection reference '@.'" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        err_clear(&err);
        f = a = (char *)"unchanged";
        ok(connections_parse_ref(bad[i].ref, &f, &a, &err) == -1 && err.code == ERR_INPUT && !f &&
               !a,
           "'%s' is rejected", bad[i].ref);
        is_str(err.msg, bad[i].msg, "'%s': message", bad[i].ref);
    }
}

static char *subst_text(const char *json)
{
    struct err err = ERR_INIT;
    json_t *v = jv_parse(json, strlen(json), "t", &err);
    json_t *out = connections_substitute(v);
    struct strbuf sb = STRBUF_INIT;
    jv_canonical(out, &sb);
    json_decref(v);
    json_decref(out);
    return strbuf_detach(&sb, NULL);
}

static void substitutes(const char *json, const char *want, const char *name)
{
    char *got = subst_text(json);
    is_str(got, want, "%s", name);
    free(got);
}

static void test_substitution(void)
{
    setenv("CT_USER", "etl", 1);
    setenv("CT_PW", "s3cret", 1);
    setenv("CT_EMPTY", "", 1);
    setenv("CT_PORT", "3306", 1);
    unsetenv("CT_UNSET");

    substitutes("\"${CT_USER}\"", "\"etl\"", "whole value");
    substitutes("\"a-${CT_USER}-${CT_PW}-b\"", "\"a-etl-s3cret-b\"", "inside a longer string");
    substitutes("\"${CT_PORT}\"", "\"3306\"", "a substituted number stays a string");
    substitutes("\"${CT_UNSET}\"", "\"${CT_UNSET}\"", "unset: left as written");
    substitutes("\"${CT_EMPTY}\"", "\"${CT_EMPTY}\"", "empty counts as unset");
    substitutes("\"${CT_UNSET:-fb}\"", "\"fb\"", "fallback for unset");
    substitutes("\"${CT_EMPTY:-fb}\"", "\"fb\"", "fallback for empty");
    substitutes("\"${CT_USER:-fb}\"", "\"etl\"", "a set variable beats the fallback");
    substitutes("\"${CT_UNSET:-}\"", "\"\"", "empty fallback");
    substitutes("\"${CT_UNSET:-a b:c}\"", "\"a b:c\"", "fallback with spaces and colons");
    substitutes("\"$CT_USER ${ CT_USER} ${1X} ${CT-USER} ${CT_USER\"",
                "\"$CT_USER ${ CT_USER} ${1X} ${CT-USER} ${CT_USER\"",
                "malformed references stay literal");
    substitutes("\"${${CT_USER}}\"", "\"${etl}\"", "a reference after a literal ${");
    substitutes("{\"a\":{\"b\":[\"${CT_USER}\",{\"c\":\"${CT_PW}\"}]},\"n\":5,\"t\":true,"
                "\"z\":null,\"f\":1.5}",
                "{\"a\":{\"b\":[\"etl\",{\"c\":\"s3cret\"}]},\"f\":1.5,\"n\":5,\"t\":true,"
                "\"z\":null}",
                "nested maps and lists; other types untouched");

    struct err err = ERR_INIT;
    const char *doc = "{\"a\":\"${CT_USER}\",\"b\":[\"${CT_PW}x${CT_USER}\",\"${CT_UNSET:-d}\"],"
                      "\"c\":{\"d\":\"${CT_X1}\"},\"e\":\"${bad name}\"}";
    json_t *v = jv_parse(doc, strlen(doc), "t", &err);
    json_t *names = json_array();
    connections_env_names(v, names);
    struct strbuf sb = STRBUF_INIT;
    jv_canonical(names, &sb);
    is_str(strbuf_str(&sb), "[\"CT_USER\",\"CT_PW\",\"CT_UNSET\",\"CT_X1\"]",
           "env names: each once, in order, fallbacks included");
    connections_env_names(v, names);
    ok(json_array_size(names) == 4, "env names: appending again adds nothing");
    strbuf_release(&sb);
    json_decref(names);
    json_decref(v);

    struct connections c = CONNECTIONS_INIT;
    ok(load_text(&c,
                 "connections:\n"
                 "  mysql:\n"
                 "    primary:\n"
                 "      default: true\n"
                 "      host: ${CT_HOST:-localhost}\n"
                 "      port: ${CT_PORT}\n"
                 "      user: ${CT_USER}\n"
                 "      password: ${CT_PW}\n"
                 "    nested:\n"
                 "      options: {ssl: {ca: \"${CT_UNSET}\"}}\n"
                 "    listed:\n"
                 "      hosts: [a, \"${CT_EMPTY}\"]\n"
                 "    top:\n"
                 "      password: \"pre-${CT_UNSET}\"\n",
                 &err) == 0,
       "env file loads");
    resolves(&c, "mysql", NULL,
             "{\"host\":\"localhost\",\"password\":\"s3cret\",\"port\":\"3306\",\"user\":\"etl\"}",
             "resolution substitutes and drops default");
    resolves(&c, "mysql", "nested",
             "ERR: t.yaml:10:27: Environment variable 'CT_UNSET' not set for options.ssl.ca in "
             "mysql.nested",
             "unset variable in a nested map: positioned, dotted field");
    resolves(&c, "mysql", "listed",
             "ERR: t.yaml:12:18: Environment variable 'CT_EMPTY' not set for hosts[1] in "
             "mysql.listed",
             "empty variable in a list");
    resolves(&c, "mysql", "top",
             "ERR: t.yaml:14:17: Environment variable 'CT_UNSET' not set for password in mysql.top",
             "unset variable inside a longer string");
    ok(strstr(json_string_value(jv_pointer_get(c.doc.root, "/connections/mysql/primary/password")),
              "${CT_PW}") != NULL,
       "the loaded document keeps the file's values");
    connections_release(&c);
}

int main(void)
{
    char top[] = "/tmp/osiris-test-connections-XXXXXX";
    if (!mkdtemp(top))
        return 1;
    jv_init();
    char path[512];
    snprintf(path, sizeof(path), "%s/proj", top);
    mkdir(path, 0755);
    if (chdir(top) != 0)
        return 1;

    test_search_order(top);
    test_structure();
    test_defaults_and_refs();
    test_substitution();

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    return system(cmd) == 0 ? done_testing() : 1;
}
