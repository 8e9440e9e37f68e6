/* yamlload.c: YAML 1.2 core-schema resolution, tags, anchors and merge keys, positions, and
 * every rejected input (with its file:line:col), including depth and alias bombs. */
#include "../harness/tap.h"
#include "yamlload.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

/* ==== Helpers ==== */

/* Canonical JSON of the loaded document, or "error: <message>". Caller frees. */
static char *load_text(const char *yaml, size_t len)
{
    struct jdoc doc = JDOC_INIT;
    struct err err = ERR_INIT;
    struct strbuf sb = STRBUF_INIT;
    if (yamlload_mem(&doc, "t.yaml", yaml, len, &err)) {
        strbuf_addf(&sb, "error: %s", err.msg);
        if (err.code != ERR_INPUT)
            strbuf_addf(&sb, " (code %s)", err_code_name(err.code));
        if (doc.root || doc.file || doc.slots)
            strbuf_adds(&sb, " (doc not released)");
    } else {
        jv_canonical(doc.root, &sb);
    }
    jdoc_release(&doc);
    return strbuf_detach(&sb, NULL);
}

static char *load(const char *yaml)
{
    return load_text(yaml, strlen(yaml));
}

/* Checks that yaml loads to want (canonical JSON, or "error: ..." compared as a prefix so the
 * position and the start of the message are both pinned). */
static void check(const char *yaml, const char *want, const char *name)
{
    char *got = load(yaml);
    if (strncmp(want, "error: ", 7) == 0) {
        bool pass = strncmp(got, want, strlen(want)) == 0;
        if (!ok(pass, "%s", name))
            diag("     got: '%s'\n#  wanted: '%s...'", got, want);
    } else {
        is_str(got, want, "%s", name);
    }
    free(got);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool pos_is(struct srcpos p, int line, int col)
{
    if (p.line == line && p.col == col)
        return true;
    diag("     got: %d:%d\n#  wanted: %d:%d", p.line, p.col, line, col);
    return false;
}

/* ==== Scalars ==== */

/* Plain scalars under the YAML 1.2 core schema; "error: " rows are rejected values. */
static const struct {
    const char *text; /* the plain scalar, as the value of key v */
    const char *want; /* canonical JSON of v, or an error prefix */
} plain_cases[] = {
    /* null */
    { "~", "null" },
    { "null", "null" },
    { "Null", "null" },
    { "NULL", "null" },
    { "", "null" },
    { "nUll", "\"nUll\"" },
    { "none", "\"none\"" },
    /* bool: three spellings each, and nothing from YAML 1.1 */
    { "true", "true" },
    { "True", "true" },
    { "TRUE", "true" },
    { "false", "false" },
    { "False", "false" },
    { "FALSE", "false" },
    { "tRUE", "\"tRUE\"" },
    { "yes", "\"yes\"" },
    { "No", "\"No\"" },
    { "on", "\"on\"" },
    { "OFF", "\"OFF\"" },
    { "y", "\"y\"" },
    /* int: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+ */
    { "0", "0" },
    { "-0", "0" },
    { "+12", "12" },
    { "-42", "-42" },
    { "0777", "777" },
    { "007", "7" },
    { "0o17", "15" },
    { "0o8", "\"0o8\"" },
    { "0O17", "\"0O17\"" },
    { "+0o7", "\"+0o7\"" },
    { "0x1F", "31" },
    { "0xff", "255" },
    { "0X1F", "\"0X1F\"" },
    { "-0x1F", "\"-0x1F\"" },
    { "0x", "\"0x\"" },
    { "0b101", "\"0b101\"" },
    { "1_000", "\"1_000\"" },
    { "1:30", "\"1:30\"" },
    { "9223372036854775807", "9223372036854775807" },
    { "-9223372036854775808", "-9223372036854775808" },
    { "0x7fffffffffffffff", "9223372036854775807" },
    { "9223372036854775808",
      "error: t.yaml:1:4: integer 9223372036854775808 is outside the 64-bit" },
    { "-9223372036854775809", "error: t.yaml:1:4: integer -9223372036854775809 is outside" },
    { "0x8000000000000000", "error: t.yaml:1:4: integer 0x8000000000000000 is outside" },
    { "123456789012345678901234567890",
      "error: t.yaml:1:4: integer 123456789012345678901234567890" },
    /* float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    { "1.0", "1.0" },
    { "1.", "1.0" },
    { ".5", "0.5" },
    { "-.5", "-0.5" },
    { "+1.5e3", "1500.0" },
    { "1e3", "1000.0" },
    { "1E-2", "0.01" },
    { "2.5e+3", "2500.0" },
    { "-0.0", "-0.0" },
    { "1e", "\"1e\"" },
    { "e3", "\"e3\"" },
    { ".", "\".\"" },
    { "1.2.3", "\"1.2.3\"" },
    { "0.1.0", "\"0.1.0\"" },
    { "1,5", "\"1,5\"" },
    { "1e400", "error: t.yaml:1:4: number 1e400 is too large" },
    { "1e-400", "0.0" },
    /* infinity and NaN: valid YAML, impossible in JSON */
    { ".inf", "error: t.yaml:1:4: '.inf': JSON cannot hold infinity/NaN" },
    { "-.Inf", "error: t.yaml:1:4: '-.Inf': JSON cannot hold infinity/NaN" },
    { "+.INF", "error: t.yaml:1:4: '+.INF': JSON cannot hold infinity/NaN" },
    { ".nan", "error: t.yaml:1:4: '.nan': JSON cannot hold infinity/NaN" },
    { ".NaN", "error: t.yaml:1:4: '.NaN': JSON cannot hold infinity/NaN" },
    { ".NAN", "error: t.yaml:1:4: '.NAN': JSON cannot hold infinity/NaN" },
    { ".Nan", "\".Nan\"" },
    { "inf", "\"inf\"" },
    { "-.nan", "\"-.nan\"" },
    /* other strings */
    { "hello world", "\"hello world\"" },
    { "${params.x}", "\"${params.x}\"" },
    { "2024-01-01", "\"2024-01-01\"" },
    { "a:b", "\"a:b\"" },
};

static void test_plain_scalars(void)
{
    for (size_t i = 0; i < sizeof(plain_cases) / sizeof(plain_cases[0]); i++) {
        struct strbuf doc = STRBUF_INIT;
        strbuf_addf(&doc, "v: %s\n", plain_cases[i].text);
        char *got = load(strbuf_str(&doc));
        const char *want = plain_cases[i].want;
        if (strncmp(want, "error: ", 7) == 0) {
            if (!ok(strncmp(got, want, strlen(want)) == 0, "plain '%s' is rejected",
                    plain_cases[i].text))
                diag("     got: '%s'\n#  wanted: '%s...'", got, want);
        } else {
            struct strbuf w = STRBUF_INIT;
            strbuf_addf(&w, "{\"v\":%s}", want);
            is_str(got, strbuf_str(&w), "plain '%s' is %s", plain_cases[i].text, want);
            strbuf_release(&w);
            /* The writer relies on this to decide when to quote. */
            ok(yamlload_plain_is_string(plain_cases[i].text, strlen(plain_cases[i].text)) ==
                   (want[0] == '"'),
               "yamlload_plain_is_string('%s')", plain_cases[i].text);
        }
        free(got);
        strbuf_release(&doc);
    }
}

static void test_quoted_and_block_scalars(void)
{
    check("a: \"1\"\nb: 1\nc: '1'\n", "{\"a\":\"1\",\"b\":1,\"c\":\"1\"}",
          "\"1\" string, 1 integer");
    check("a: 'true'\nb: \"null\"\nc: ''\nd: \"\"\ne: '0.1.0'\n",
          "{\"a\":\"true\",\"b\":\"null\",\"c\":\"\",\"d\":\"\",\"e\":\"0.1.0\"}",
          "quoted look-alikes stay strings");
    check("a: \"x\\ty\\n\\u00e9\\\\\"\nb: 'it''s'\n", "{\"a\":\"x\\ty\\né\\\\\",\"b\":\"it's\"}",
          "escapes in double quotes, '' in single");
    check("a: \"nul\\0byte\"\n", "{\"a\":\"nul\\u0000byte\"}", "NUL inside a string value is kept");
    check("a: |\n  line 1\n    indented\n  line 3\n", "{\"a\":\"line 1\\n  indented\\nline 3\\n\"}",
          "literal block keeps newlines and inner indentation");
    check("a: >\n  folded\n  text\n\n  para\n", "{\"a\":\"folded text\\npara\\n\"}",
          "folded block joins lines");
    check("a: |-\n  strip\n\nb: 1\n", "{\"a\":\"strip\",\"b\":1}", "strip chomping |-");
    check("a: |+\n  keep\n\nb: 1\n", "{\"a\":\"keep\\n\\n\",\"b\":1}", "keep chomping |+");
    check("a: >-\n  x\n  y\n", "{\"a\":\"x y\"}", "folded with strip");
    check("a: |\n  123\nb: >\n  true\n", "{\"a\":\"123\\n\",\"b\":\"true\\n\"}",
          "block scalars are strings");
    check("a: |2\n   lead\n", "{\"a\":\" lead\\n\"}", "explicit indentation indicator");
    check("a: multi\n  line plain\n", "{\"a\":\"multi line plain\"}", "multi-line plain scalar");
}

/* ==== Tags ==== */

static void test_tags(void)
{
    check("a: !!str 12\nb: !!str true\nc: !!str\n", "{\"a\":\"12\",\"b\":\"true\",\"c\":\"\"}",
          "!!str forces a string");
    check("a: !!int 0x1f\nb: !!int \"42\"\nc: !!int -7\n", "{\"a\":31,\"b\":42,\"c\":-7}",
          "!!int converts, quoted text too");
    check("a: !!float 1\nb: !!float '2.5'\nc: !!float 0x10\nd: !!float 12345678901234567890\n",
          "{\"a\":1.0,\"b\":2.5,\"c\":16.0,\"d\":1.2345678901234567e+19}",
          "!!float converts integers to reals");
    check("a: !!bool True\nb: !!bool 'false'\n", "{\"a\":true,\"b\":false}", "!!bool converts");
    check("a: !!null\nb: !!null ~\nc: !!null ''\n", "{\"a\":null,\"b\":null,\"c\":null}",
          "!!null converts");
    check("a: !!map {x: 1}\nb: !!seq [1]\n", "{\"a\":{\"x\":1},\"b\":[1]}", "!!map and !!seq");
    check("a: ! 12\nb: ! [1]\n", "{\"a\":\"12\",\"b\":[1]}", "the non-specific tag ! is a string");
    check("a: !<tag:yaml.org,2002:int> 5\n", "{\"a\":5}", "verbatim standard tag");
    check("a: !!int 1.5\n", "error: t.yaml:1:4: '1.5' is not a valid !!int", "!!int of a float");
    check("a: !!int abc\n", "error: t.yaml:1:4: 'abc' is not a valid !!int", "!!int of text");
    check("a: !!int 99999999999999999999\n", "error: t.yaml:1:4: integer 99999999999999999999",
          "!!int out of range");
    check("a: !!float abc\n", "error: t.yaml:1:4: 'abc' is not a valid !!float", "!!float of text");
    check("a: !!float .inf\n", "error: t.yaml:1:4: '.inf': JSON cannot hold infinity/NaN",
          "!!float .inf");
    check("a: !!bool yes\n", "error: t.yaml:1:4: 'yes' is not a valid !!bool", "!!bool yes");
    check("a: !!null 0\n", "error: t.yaml:1:4: '0' is not a valid !!null", "!!null 0");
    check("a: !!map 1\n", "error: t.yaml:1:4: tag !!map cannot be used on a scalar",
          "!!map on a scalar");
    check("a: !!seq {}\n", "error: t.yaml:1:4: tag !!seq cannot be used on a mapping",
          "!!seq on a mapping");
    check("a: !!str [1]\n", "error: t.yaml:1:4: tag !!str cannot be used on a sequence",
          "!!str on a sequence");
    check("a: !foo 1\n", "error: t.yaml:1:4: unsupported tag '!foo'", "local tag rejected");
    check("a: !!timestamp 2020-01-01\n", "error: t.yaml:1:4: unsupported tag '!!timestamp'",
          "!!timestamp rejected");
    check("a: !!binary aGk=\n", "error: t.yaml:1:4: unsupported tag '!!binary'",
          "!!binary rejected");
    check("a: !!set {x}\n", "error: t.yaml:1:4: unsupported tag '!!set'", "!!set rejected");
    check("a: !<urn:x> {}\n", "error: t.yaml:1:4: unsupported tag 'urn:x'",
          "verbatim tag rejected");
}

/* ==== Keys ==== */

static void test_keys(void)
{
    check("\"1\": x\n'true': y\n\"null\": z\n", "{\"1\":\"x\",\"null\":\"z\",\"true\":\"y\"}",
          "quoted look-alike keys are strings");
    check("1: x\n", "error: t.yaml:1:1: mapping keys must be strings, got integer", "1: rejected");
    check("a: 1\n1.5: x\n", "error: t.yaml:2:1: mapping keys must be strings, got number",
          "float key rejected");
    check("true: x\n", "error: t.yaml:1:1: mapping keys must be strings, got boolean",
          "true: rejected");
    check("null: x\n", "error: t.yaml:1:1: mapping keys must be strings, got null",
          "null: rejected");
    check("~: x\n", "error: t.yaml:1:1: mapping keys must be strings, got null", "~: rejected");
    check("!!int 3: x\n", "error: t.yaml:1:1: mapping keys must be strings, got integer",
          "!!int key rejected");
    check("!!str 3: x\n", "{\"3\":\"x\"}", "!!str key accepted");
    check("[a, b]: x\n", "error: t.yaml:1:1: mapping keys must be strings, got array",
          "flow sequence key rejected");
    check("? {a: 1}\n: x\n", "error: t.yaml:1:3: mapping keys must be strings, got object",
          "complex mapping key rejected");
    check("? - a\n: x\n", "error: t.yaml:1:3: mapping keys must be strings, got array",
          "complex sequence key rejected");
    check("? plain\n: x\n", "{\"plain\":\"x\"}", "explicit string key");
    check("\"a\\0b\": 1\n", "error: t.yaml:1:1: mapping key contains a NUL character",
          "key with NUL rejected");
    check("k: 1\nother: 2\nk: 3\n",
          "error: t.yaml:3:1: duplicate key 'k' (first defined at line 1)",
          "duplicate key, both positions");
    check("top:\n  a: 1\n  b: 2\n  'a': 3\n",
          "error: t.yaml:4:3: duplicate key 'a' (first defined at line 2)",
          "duplicate key across quoting styles");
    check("{x: true, y: 1, x: false}",
          "error: t.yaml:1:17: duplicate key 'x' (first defined at line 1)",
          "duplicate flow key whose first value is a boolean");
    check("a: &k name\n*k : 1\n", "{\"a\":\"name\",\"name\":1}", "alias of a string as a key");
    check("a: &k [1]\n*k : 1\n", "error: t.yaml:2:1: mapping keys must be strings, got array",
          "alias of a sequence as a key");
    check("\"\": empty\n", "{\"\":\"empty\"}", "empty quoted key");
}

/* ==== Anchors, aliases and merge keys ==== */

static void test_anchors(void)
{
    check("a: &x {k: [1, 2]}\nb: *x\nc: [*x, &s str, *s]\n",
          "{\"a\":{\"k\":[1,2]},\"b\":{\"k\":[1,2]},\"c\":[{\"k\":[1,2]},\"str\",\"str\"]}",
          "aliases expand to copies");
    check("a: &x 1\nb: &x 2\nc: *x\n", "{\"a\":1,\"b\":2,\"c\":2}", "an anchor may be redefined");
    check("a: *nope\n", "error: t.yaml:1:4: unknown alias '*nope'", "unknown alias");
    check("a: &r [1, *r]\n", "error: t.yaml:1:11: alias '*r' refers to a node that contains it",
          "recursive alias");

    /* The copy is a separate tree with the positions of the original; its top node takes the
     * key position of the alias. */
    const char *text = "base: &b\n"  /* 1 */
                       "  host: h\n" /* 2 */
                       "  port: 1\n" /* 3 */
                       "items:\n"    /* 4 */
                       "  - *b\n"    /* 5 */
                       "copy: *b\n"; /* 6 */
    struct jdoc doc = JDOC_INIT;
    struct err err = ERR_INIT;
    ok(yamlload_mem(&doc, "a.yaml", text, strlen(text), &err) == 0, "anchor document loads");
    json_t *base = json_object_get(doc.root, "base");
    json_t *copy = json_object_get(doc.root, "copy");
    ok(base && copy && base != copy && jv_equal(base, copy), "alias is an equal copy");
    ok(json_object_get(base, "host") != json_object_get(copy, "host"), "children copied too");
    ok(pos_is(jdoc_member_pos(&doc, doc.root, "copy", false), 1, 7),
       "copy keeps the anchored node's position");
    ok(pos_is(jdoc_member_pos(&doc, doc.root, "copy", true), 6, 1),
       "copy takes the alias's key position");
    ok(pos_is(jdoc_locate(&doc, "/copy/port", false), 3, 9), "copied child keeps its position");
    ok(pos_is(jdoc_locate(&doc, "/copy/port", true), 3, 3), "copied child keeps its key position");
    ok(pos_is(jdoc_locate(&doc, "/items/0/host", true), 2, 3), "copy inside a sequence");
    jdoc_release(&doc);
}

static void test_merge(void)
{
    check("base: &b {host: h, port: 1}\nc:\n  <<: *b\n  port: 2\n",
          "{\"base\":{\"host\":\"h\",\"port\":1},\"c\":{\"host\":\"h\",\"port\":2}}",
          "merge: explicit keys win");
    check("base: &b {host: h, port: 1}\nc:\n  port: 2\n  <<: *b\n",
          "{\"base\":{\"host\":\"h\",\"port\":1},\"c\":{\"host\":\"h\",\"port\":2}}",
          "merge: explicit keys win even before <<");
    check(
        "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  w: 0\n",
        "{\"a\":{\"x\":1,\"y\":1},\"b\":{\"y\":2,\"z\":2},\"c\":{\"w\":0,\"x\":1,\"y\":1,\"z\":2}}",
        "merge sequence: earlier mappings win");
    check("c: {<<: {a: 1}}\n", "{\"c\":{\"a\":1}}", "inline merge mapping");
    check("c: {<<: [], a: 1}\n", "{\"c\":{\"a\":1}}", "empty merge sequence");
    check("c: {\"<<\": 1}\n", "{\"c\":{\"<<\":1}}", "quoted << is an ordinary key");
    check(
        "c: {<<: 1}\n",
        "error: t.yaml:1:9: merge key '<<' needs a mapping or a sequence of mappings, got integer",
        "merge of a scalar");
    check("c: {<<: [{a: 1}, 2]}\n",
          "error: t.yaml:1:18: merge key '<<' needs a mapping or a sequence of mappings, got an "
          "item of type integer",
          "merge sequence with a scalar");
    check("c: {<<: {a: 1}, <<: {b: 1}}\n",
          "error: t.yaml:1:17: duplicate key '<<' (first defined at line 1)", "two merge keys");
    check("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}\n",
          "{\"a\":{\"x\":1},\"b\":{\"x\":1,\"y\":2},\"c\":{\"x\":1,\"y\":2,\"z\":3}}",
          "nested merges");

    /* Key order: merged keys first (as PyYAML), each keeping where it was written. */
    const char *text = "d: &d\n  a: 1\n  b: 2\nm:\n  b: 3\n  <<: *d\n  c: 4\n";
    struct jdoc doc = JDOC_INIT;
    struct err err = ERR_INIT;
    ok(yamlload_mem(&doc, "m.yaml", text, strlen(text), &err) == 0, "merge document loads");
    struct strbuf sb = STRBUF_INIT;
    jv_dump(json_object_get(doc.root, "m"), &sb, 0);
    is_str(strbuf_str(&sb), "{\"a\":1,\"b\":3,\"c\":4}", "merged keys come first");
    strbuf_release(&sb);
    ok(pos_is(jdoc_locate(&doc, "/m/a", true), 2, 3), "merged key points at its definition");
    ok(pos_is(jdoc_locate(&doc, "/m/b", true), 5, 3), "overriding key points at itself");
    ok(pos_is(jdoc_locate(&doc, "/m/c", false), 7, 6), "explicit value position");
    jdoc_release(&doc);
}

/* ==== Positions ==== */

static void test_positions(void)
{
    const char *text = "name: demo\n"        /* 1 */
                       "steps:\n"            /* 2 */
                       "  - id: a\n"         /* 3 */
                       "    config:\n"       /* 4 */
                       "      n: 5\n"        /* 5 */
                       "  - id: \"b\"\n"     /* 6 */
                       "    flag: true\n"    /* 7 */
                       "list: [x, {k: v}]\n" /* 8 */
                       "sql: |\n"            /* 9 */
                       "  SELECT 1\n"        /* 10 */
                       "é: [ü, z]\n";        /* 11 */
    struct jdoc doc = JDOC_INIT;
    struct err err = ERR_INIT;
    ok(yamlload_mem(&doc, "p.yaml", text, strlen(text), &err) == 0, "position document loads");
    is_str(doc.file, "p.yaml", "jdoc keeps the name");
    ok(pos_is(doc.root_pos, 1, 1), "root mapping at 1:1");
    ok(pos_is(jdoc_member_pos(&doc, doc.root, "name", false), 1, 7), "member value position");
    ok(pos_is(jdoc_member_pos(&doc, doc.root, "name", true), 1, 1), "member key position");
    ok(pos_is(jdoc_locate(&doc, "/steps", false), 3, 3), "block sequence starts at its '-'");
    ok(pos_is(jdoc_locate(&doc, "/steps", true), 2, 1), "key of the sequence");
    ok(pos_is(jdoc_locate(&doc, "/steps/0", false), 3, 5), "mapping in a sequence");
    ok(pos_is(jdoc_locate(&doc, "/steps/0/config", false), 5, 7), "nested mapping");
    ok(pos_is(jdoc_locate(&doc, "/steps/0/config", true), 4, 5), "nested mapping's key");
    ok(pos_is(jdoc_locate(&doc, "/steps/0/config/n", false), 5, 10), "deep value");
    ok(pos_is(jdoc_locate(&doc, "/steps/0/config/n", true), 5, 7), "deep key");
    ok(pos_is(jdoc_locate(&doc, "/steps/1/id", false), 6, 9), "quoted value");
    /* true/false/null are shared jansson nodes: positions by place still tell them apart. */
    ok(pos_is(jdoc_locate(&doc, "/steps/1/flag", false), 7, 11), "boolean has its own position");
    ok(pos_is(jdoc_locate(&doc, "/steps/1/flag", true), 7, 5), "boolean's key position");
    ok(pos_is(jdoc_locate(&doc, "/list/1/k", false), 8, 15), "flow mapping value");
    ok(pos_is(jdoc_locate(&doc, "/list/1/k", true), 8, 12), "flow mapping key");
    ok(pos_is(jdoc_locate(&doc, "/list/0", false), 8, 8), "flow sequence item");
    ok(pos_is(jdoc_locate(&doc, "/sql", false), 9, 6), "literal block starts at '|'");
    ok(pos_is(jdoc_locate(&doc, "/é/1", false), 11, 8), "columns count characters, not bytes");
    ok(pos_is(jdoc_locate(&doc, "/steps/0/missing", true), 3, 5), "missing key: deepest parent");
    char where[256];
    is_str(jdoc_where(&doc, "/steps/0/config/n", true, where, sizeof(where)), "p.yaml:5:7",
           "jdoc_where (key)");
    is_str(jdoc_where(&doc, "/steps/0/config/n", false, where, sizeof(where)), "p.yaml:5:10",
           "jdoc_where (value)");
    jdoc_release(&doc);

    /* Several true/false/null values, each at its own place; a null root of an empty file. */
    const char *flags = "a: true\nb: [null, false, true]\nc: ~\n";
    ok(yamlload_mem(&doc, "f.yaml", flags, strlen(flags), &err) == 0, "flags document loads");
    ok(pos_is(jdoc_locate(&doc, "/a", false), 1, 4), "first true");
    ok(pos_is(jdoc_locate(&doc, "/b/2", false), 2, 18), "second true");
    ok(pos_is(jdoc_locate(&doc, "/b/0", false), 2, 5), "null in a list");
    ok(pos_is(jdoc_locate(&doc, "/c", false), 3, 4), "null as a value");
    jdoc_release(&doc);
    ok(yamlload_mem(&doc, "e.yaml", "", 0, &err) == 0 && pos_is(doc.root_pos, 1, 1),
       "empty document: null root at 1:1");
    jdoc_release(&doc);

    /* A BOM does not shift columns. */
    const char *bom = "\xef\xbb\xbf"
                      "a: [1, x]\n";
    ok(yamlload_mem(&doc, "b.yaml", bom, strlen(bom), &err) == 0, "BOM accepted");
    ok(pos_is(jdoc_locate(&doc, "/a/1", false), 1, 8), "BOM: columns unchanged");
    jdoc_release(&doc);
}

/* ==== Documents, errors and files ==== */

static void test_documents(void)
{
    check("", "null", "empty stream is null");
    check("# only a comment\n", "null", "comment-only stream is null");
    check("---\n", "null", "empty document is null");
    check("--- \n...\n", "null", "explicit empty document is null");
    check("a: 1\n...\n", "{\"a\":1}", "document end marker");
    check("%YAML 1.2\n---\na: 1\n", "{\"a\":1}", "%YAML directive");
    check("\xef\xbb\xbf"
          "a: 1\n",
          "{\"a\":1}", "BOM");
    check("- 1\n- x\n", "[1,\"x\"]", "sequence root");
    check("plain\n", "\"plain\"", "scalar root");
    check("a: 1\n---\nb: 2\n", "error: t.yaml:2:1: more than one YAML document", "two documents");
    check("a: 1\n--- \n", "error: t.yaml:2:1: more than one YAML document",
          "an empty second document");
    check("a: b\n  c: d\n", "error: t.yaml:2:4: mapping values are not allowed in this context",
          "syntax error with libyaml's text and mark");
    check("a: [1, 2\n",
          "error: t.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence at "
          "line 1, column 4)",
          "unclosed flow sequence with context");
    check("a: 'x\n", "error: t.yaml:2:1: found unexpected end of stream", "unclosed quote");
    check("a:\tb\n\tc: 1\n", "error: t.yaml:2:1: found a tab character that violates indentation",
          "tab indentation");
    check("a: \"\\ud800\"\n", "error: t.yaml:1:7: found invalid Unicode character escape code",
          "surrogate escape");

    /* Invalid UTF-8: libyaml finds it; the message says so and the position is computed. */
    check("a: \xff\n", "error: t.yaml:1:4: invalid UTF-8: invalid leading UTF-8 octet #xFF",
          "invalid leading byte");
    check("a: 1\nb: x\xc3\x28\n",
          "error: t.yaml:2:6: invalid UTF-8: invalid trailing UTF-8 octet #x28",
          "invalid continuation byte");
    check("a: \xc0\xaf\n", "error: t.yaml:1:4: invalid UTF-8: invalid length of a UTF-8 sequence",
          "overlong encoding");
    check("a: \xed\xa0\x80\n", "error: t.yaml:1:4: invalid UTF-8: invalid Unicode character",
          "encoded surrogate");
    check("a: \xe2\x82", "error: t.yaml:1:4: invalid UTF-8: incomplete UTF-8 octet sequence",
          "truncated sequence at the end");
    check("a: x\x01y\n", "error: t.yaml:1:5: control character #x1 is not allowed",
          "control character");
    char *got = load_text("a: x\0y\n", 7);
    like(got, "control character #x0 is not allowed", "NUL byte in the input");
    free(got);

    struct jdoc doc = JDOC_INIT;
    struct err err = ERR_INIT;
    ok(yamlload_mem(&doc, "e.yaml", NULL, 0, &err) == 0 && json_is_null(doc.root),
       "NULL buffer of length 0 is an empty stream");
    jdoc_release(&doc);
}

static void test_files(void)
{
    char path[] = "/tmp/test-yamlload-XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0, "temp file");
    const char *text = "a: [1, 2]\nb: x\n";
    ok(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "temp file written");
    close(fd);
    struct jdoc doc = JDOC_INIT;
    struct err err = ERR_INIT;
    ok(yamlload_file(&doc, path, &err) == 0, "yamlload_file reads a file");
    is_str(doc.file, path, "the path names the document");
    ok(pos_is(jdoc_locate(&doc, "/b", false), 2, 4), "positions from a file");
    jdoc_release(&doc);

    fd = open(path, O_WRONLY | O_TRUNC);
    close(fd);
    ok(yamlload_file(&doc, path, &err) == 0 && json_is_null(doc.root), "empty file is null");
    jdoc_release(&doc);
    unlink(path);

    errno = 0;
    ok(yamlload_file(&doc, path, &err) == -1, "missing file fails");
    is_int(err.code, ERR_IO, "missing file is ERR_IO");
    is_int(err.sys, ENOENT, "errno recorded");
    struct strbuf want = STRBUF_INIT;
    strbuf_addf(&want, "cannot read '%s': No such file or directory", path);
    is_str(err.msg, strbuf_str(&want), "message names the path");
    strbuf_release(&want);
    ok(!doc.root && !doc.file && !doc.slots, "doc left released");

    err_clear(&err);
    ok(yamlload_file(&doc, "/", &err) == -1 && err.code == ERR_IO, "a directory fails");
    like(err.msg, "cannot read '/'", "directory message names the path");
}

/* ==== Limits ==== */

static void check_limit(const char *what, struct strbuf *doc, const char *want)
{
    struct jdoc jd = JDOC_INIT;
    struct err err = ERR_INIT;
    double t0 = now_ms();
    int rc = yamlload_mem(&jd, "big.yaml", doc->buf, doc->len, &err);
    double ms = now_ms() - t0;
    ok(rc == -1, "%s is rejected", what);
    like(err.msg, want, "%s: message", what);
    ok(ms < 2000, "%s fails fast (%.1f ms)", what, ms);
    diag("%s: %.2f ms", what, ms);
    ok(!jd.root && !jd.slots, "%s: doc left released", what);
    jdoc_release(&jd);
}

static void test_limits(void)
{
    enum { N = 100000 };
    struct strbuf sb = STRBUF_INIT;

    for (int i = 0; i < N; i++)
        strbuf_addch(&sb, '[');
    for (int i = 0; i < N; i++)
        strbuf_addch(&sb, ']');
    check_limit("100000-deep flow sequence", &sb, "big.yaml:1:513: nesting deeper than 512 levels");

    strbuf_reset(&sb);
    for (int i = 0; i < N; i++)
        strbuf_adds(&sb, "{a: ");
    strbuf_adds(&sb, "1");
    for (int i = 0; i < N; i++)
        strbuf_addch(&sb, '}');
    check_limit("100000-deep flow mapping", &sb, "big.yaml:1:2049: nesting deeper than 512");

    strbuf_reset(&sb);
    for (int i = 0; i < N; i++)
        strbuf_adds(&sb, "- ");
    strbuf_adds(&sb, "x\n");
    check_limit("100000-deep block sequence", &sb, "big.yaml:1:1025: nesting deeper than 512");

    /* Exactly at the limit is fine. */
    strbuf_reset(&sb);
    for (int i = 0; i < YAMLLOAD_MAX_DEPTH; i++)
        strbuf_addch(&sb, '[');
    for (int i = 0; i < YAMLLOAD_MAX_DEPTH; i++)
        strbuf_addch(&sb, ']');
    char *got = load(strbuf_str(&sb));
    ok(got[0] == '[', "%d levels are allowed", YAMLLOAD_MAX_DEPTH);
    free(got);

    /* Billion laughs: 9 levels of 9 aliases would be 9^9 nodes. */
    strbuf_reset(&sb);
    strbuf_adds(&sb, "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (char c = 'b'; c <= 'i'; c++) {
        strbuf_addf(&sb, "%c: &%c [", c, c);
        for (int i = 0; i < 9; i++)
            strbuf_addf(&sb, "%s*%c", i ? ", " : "", c - 1);
        strbuf_adds(&sb, "]\n");
    }
    check_limit("billion laughs", &sb, "alias expansion exceeds 100000 nodes (alias bomb?)");
    got = load(strbuf_str(&sb));
    like(got, "error: t.yaml:6:", "bomb error is positioned on the alias that overflows");
    free(got);

    /* Aliases cannot stack levels past the depth limit either. */
    strbuf_reset(&sb);
    strbuf_adds(&sb, "a: &a ");
    for (int i = 0; i < 300; i++)
        strbuf_addch(&sb, '[');
    for (int i = 0; i < 300; i++)
        strbuf_addch(&sb, ']');
    strbuf_adds(&sb, "\nb: ");
    for (int i = 0; i < 300; i++)
        strbuf_addch(&sb, '[');
    strbuf_adds(&sb, "*a");
    for (int i = 0; i < 300; i++)
        strbuf_addch(&sb, ']');
    strbuf_adds(&sb, "\n");
    check_limit("aliases nesting past the limit", &sb, "alias '*a' nests deeper than 512 levels");
    strbuf_release(&sb);
}

int main(void)
{
    test_plain_scalars();
    test_quoted_and_block_scalars();
    test_tags();
    test_keys();
    test_anchors();
    test_merge();
    test_positions();
    test_documents();
    test_files();
    test_limits();
    like(yamlload_library_version(), "0.", "libyaml version");
    return done_testing();
}
