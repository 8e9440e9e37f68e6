/* yamlwrite.c: exact output for small documents, quoting of tricky strings, and the round-trip
 * property yamlload(yamlwrite(t)) == t with stable bytes, on fixed and on random trees. */
#include "../harness/tap.h"
#include "yamlload.h"
#include "yamlwrite.h"

#include <math.h>
#include <stdint.h>

/* ==== Helpers ==== */

static char *write_yaml(const json_t *v, unsigned flags)
{
    struct strbuf sb = STRBUF_INIT;
    yamlwrite(v, &sb, flags);
    return strbuf_detach(&sb, NULL);
}

static json_t *parse(const char *json)
{
    struct err err = ERR_INIT;
    json_t *v = jv_parse(json, strlen(json), "t.json", &err);
    if (!v)
        diag("%s", err.msg);
    return v;
}

/* Writes v, loads it back and writes again: true when the tree is equal and the bytes stable.
 * On failure the YAML and the reason go to diag. */
static bool round_trips(const json_t *v, unsigned flags)
{
    char *yaml = write_yaml(v, flags);
    struct jdoc doc = JDOC_INIT;
    struct err err = ERR_INIT;
    bool pass = false;
    if (yamlload_mem(&doc, "out.yaml", yaml, strlen(yaml), &err)) {
        diag("reload failed: %s", err.msg);
    } else if (!jv_equal(v, doc.root)) {
        diag("reloaded tree differs");
    } else {
        char *again = write_yaml(doc.root, flags);
        pass = strcmp(yaml, again) == 0;
        if (!pass)
            diag("second write differs:\n%s", again);
        free(again);
    }
    if (!pass)
        diag("yaml was:\n%s", yaml);
    jdoc_release(&doc);
    free(yaml);
    return pass;
}

/* ==== Exact output ==== */

static void test_exact(void)
{
    json_t *v = parse("{\"name\":\"Orders ETL\",\"version\":\"0.1.0\",\"ref\":\"@mysql.main\","
                      "\"steps\":[{\"id\":\"extract\",\"needs\":[],\"config\":{\"batch\":10000,"
                      "\"ratio\":0.5,\"echo\":false,\"schema\":null}},"
                      "{\"id\":\"agg\",\"needs\":[\"extract\"],\"config\":{}}],"
                      "\"matrix\":[[1,2],[],[[3]]],"
                      "\"sql\":\"SELECT 1\\n  FROM t\\n\",\"last\":\"a\\nb\"}");
    char *got = write_yaml(v, 0);
    is_str(got,
           "name: Orders ETL\n"
           "version: 0.1.0\n"
           "ref: \"@mysql.main\"\n"
           "steps:\n"
           "- id: extract\n"
           "  needs: []\n"
           "  config:\n"
           "    batch: 10000\n"
           "    ratio: 0.5\n"
           "    echo: false\n"
           "    schema: null\n"
           "- id: agg\n"
           "  needs:\n"
           "  - extract\n"
           "  config: {}\n"
           "matrix:\n"
           "- - 1\n"
           "  - 2\n"
           "- []\n"
           "- - - 3\n"
           "sql: |\n"
           "  SELECT 1\n"
           "    FROM t\n"
           "last: |-\n"
           "  a\n"
           "  b\n",
           "small document, insertion order");
    free(got);
    ok(round_trips(v, 0), "small document round-trips");

    got = write_yaml(v, YAMLWRITE_SORT);
    is_str(got,
           "last: |-\n"
           "  a\n"
           "  b\n"
           "matrix:\n"
           "- - 1\n"
           "  - 2\n"
           "- []\n"
           "- - - 3\n"
           "name: Orders ETL\n"
           "ref: \"@mysql.main\"\n"
           "sql: |\n"
           "  SELECT 1\n"
           "    FROM t\n"
           "steps:\n"
           "- config:\n"
           "    batch: 10000\n"
           "    echo: false\n"
           "    ratio: 0.5\n"
           "    schema: null\n"
           "  id: extract\n"
           "  needs: []\n"
           "- config: {}\n"
           "  id: agg\n"
           "  needs:\n"
           "  - extract\n"
           "version: 0.1.0\n",
           "sorted keys, at every level");
    free(got);
    ok(round_trips(v, YAMLWRITE_SORT), "sorted document round-trips");
    json_decref(v);

    static const struct {
        const char *json; /* a root value */
        const char *yaml; /* exactly what the writer gives */
    } roots[] = {
        { "{}", "{}\n" },
        { "[]", "[]\n" },
        { "null", "null\n" },
        { "true", "true\n" },
        { "-7", "-7\n" },
        { "1.5", "1.5\n" },
        { "\"x\"", "x\n" },
        { "\"a\\nb\\n\"", "|\n  a\n  b\n" },
        { "[{}]", "- {}\n" },
        { "[\"a\\n\"]", "- |\n  a\n" },
        { "[{\"k\":\"a\\n\"}]", "- k: |\n    a\n" },
        { "{\"a\":{\"b\":{\"c\":[]}}}", "a:\n  b:\n    c: []\n" },
        { "{\"a\":[{\"b\":[1]}]}", "a:\n- b:\n  - 1\n" },
    };
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        v = parse(roots[i].json);
        got = write_yaml(v, 0);
        is_str(got, roots[i].yaml, "root %s written exactly", roots[i].json);
        ok(round_trips(v, 0), "root %s round-trips", roots[i].json);
        free(got);
        json_decref(v);
    }
}

/* ==== Strings ==== */

static const struct {
    const char *s;    /* the string */
    const char *yaml; /* how it is written as the value of key k, after "k: " */
} strings[] = {
    /* plain */
    { "hello world", "hello world" },
    { "0.1.0", "0.1.0" },
    { "a#b", "a#b" },
    { "a:b", "a:b" },
    { "http://x:80/y?z", "http://x:80/y?z" },
    { "${params.x}", "${params.x}" },
    { "it's", "it's" },
    { "é ünï ☃ 😀", "é ünï ☃ 😀" },
    { "x-1", "x-1" },
    { ".hidden", ".hidden" },
    /* would load as another type (YAML 1.2) */
    { "", "\"\"" },
    { "~", "\"~\"" },
    { "null", "\"null\"" },
    { "NULL", "\"NULL\"" },
    { "true", "\"true\"" },
    { "False", "\"False\"" },
    { "1", "\"1\"" },
    { "-1", "\"-1\"" },
    { "0777", "\"0777\"" },
    { "0o17", "\"0o17\"" },
    { "0x1F", "\"0x1F\"" },
    { "1.0", "\"1.0\"" },
    { ".5", "\".5\"" },
    { "1e3", "\"1e3\"" },
    { ".inf", "\".inf\"" },
    { "-.Inf", "\"-.Inf\"" },
    { ".nan", "\".nan\"" },
    { "99999999999999999999", "\"99999999999999999999\"" },
    /* would load as another type in YAML 1.1 (PyYAML) */
    { "yes", "\"yes\"" },
    { "No", "\"No\"" },
    { "on", "\"on\"" },
    { "OFF", "\"OFF\"" },
    { "y", "\"y\"" },
    { "1_000", "\"1_000\"" },
    { "0b101", "\"0b101\"" },
    { "1:30", "\"1:30\"" },
    { "2024-01-01", "\"2024-01-01\"" },
    { "2024-01-01 10:00:00", "\"2024-01-01 10:00:00\"" },
    { "<<", "\"<<\"" },
    { "=", "\"=\"" },
    /* YAML syntax */
    { " lead", "\" lead\"" },
    { "trail ", "\"trail \"" },
    { "a: b", "\"a: b\"" },
    { "x:", "\"x:\"" },
    { "a #b", "\"a #b\"" },
    { "#x", "\"#x\"" },
    { "- x", "\"- x\"" },
    { "-x", "\"-x\"" },
    { "? x", "\"? x\"" },
    { ":x", "\":x\"" },
    { "[a]", "\"[a]\"" },
    { "{a}", "\"{a}\"" },
    { "&anchor", "\"&anchor\"" },
    { "*alias", "\"*alias\"" },
    { "!tag", "\"!tag\"" },
    { "|", "\"|\"" },
    { ">", "\">\"" },
    { "'q'", "\"'q'\"" },
    { "\"q\"", "\"\\\"q\\\"\"" },
    { "%YAML", "\"%YAML\"" },
    { "@ref", "\"@ref\"" },
    { "`cmd`", "\"`cmd`\"" },
    { ",x", "\",x\"" },
    { "---", "\"---\"" },
    { "...", "\"...\"" },
    { "...x", "\"...x\"" },
    { "back\\slash", "back\\slash" },
    /* characters that need escapes */
    { "tab\there", "\"tab\\there\"" },
    { "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
    { "\xc2\x85 NEL", "\"\\u0085 NEL\"" },
    { "LS\xe2\x80\xa8PS\xe2\x80\xa9", "\"LS\\u2028PS\\u2029\"" },
    { "\xef\xbb\xbf"
      "bom",
      "\"\\ufeffbom\"" },
    { "cr\r\nlf", "\"cr\\r\\nlf\"" },
    { "bell\b\f", "\"bell\\b\\f\"" },
    /* multi-line */
    { "multi\nline\n", "|\n  multi\n  line\n" },
    { "multi\nline", "|-\n  multi\n  line\n" },
    { "a\n\nb\n", "|\n  a\n\n  b\n" },
    { "  x\ny\n", "\"  x\\ny\\n\"" },
    { "\nlead\n", "\"\\nlead\\n\"" },
    { "two\n\n", "\"two\\n\\n\"" },
    { "trailing \nspace\n", "\"trailing \\nspace\\n\"" },
    { "x\n", "|\n  x\n" },
    { "\n", "\"\\n\"" },
    { "# not a comment\n- not an item\n", "|\n  # not a comment\n  - not an item\n" },
    { "a\n\tb\n", "|\n  a\n  \tb\n" },
    { "a\n\x01\n", "\"a\\n\\u0001\\n\"" },
};

static void test_strings(void)
{
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        const char *s = strings[i].s;
        struct strbuf name = STRBUF_INIT; /* the string as JSON, so test names stay one line */
        jv_quote(&name, s, strlen(s));
        const char *shown = strbuf_str(&name);
        json_t *v = json_object();
        json_object_set_new(v, "k", json_string(s));
        char *got = write_yaml(v, 0);
        struct strbuf want = STRBUF_INIT;
        strbuf_addf(&want, "k: %s%s", strings[i].yaml,
                    strings[i].yaml[strlen(strings[i].yaml) - 1] == '\n' ? "" : "\n");
        is_str(got, strbuf_str(&want), "value %s", shown);
        ok(round_trips(v, 0), "value %s round-trips", shown);
        free(got);
        strbuf_release(&want);
        json_decref(v);

        /* The same string as a key (keys never use block scalars) and as a sequence item. */
        v = json_pack("{s:i}", s, 1);
        ok(round_trips(v, 0), "key %s round-trips", shown);
        json_decref(v);
        v = json_pack("[s,[s]]", s, s);
        ok(round_trips(v, 0), "item %s round-trips", shown);
        json_decref(v);
        strbuf_release(&name);
    }

    json_t *v = json_pack("{s:s%}", "nul", "a\0b", (size_t)3);
    char *got = write_yaml(v, 0);
    is_str(got, "nul: \"a\\u0000b\"\n", "NUL in a value is escaped");
    ok(round_trips(v, 0), "NUL in a value round-trips");
    free(got);
    json_decref(v);
}

/* Keys too long for a simple key use the explicit "? key" form. */
static void test_long_keys(void)
{
    struct strbuf key = STRBUF_INIT;
    for (int i = 0; i < 1100; i++)
        strbuf_addch(&key, 'k');
    json_t *v = json_object();
    json_object_set_new(v, strbuf_str(&key), json_integer(1));
    json_object_set_new(v, "x", json_pack("{s:[i,{s:s}]}", strbuf_str(&key), 2, "k2", "a\nb\n"));
    json_object_set_new(v, "y", json_pack("{s:{s:i}}", strbuf_str(&key), "z", 3));
    char *got = write_yaml(v, 0);
    ok(strncmp(got, "? kkk", 5) == 0, "long key written as '? key'");
    like(got, "\n: 1\n", "its value follows ': '");
    ok(round_trips(v, 0), "long keys round-trip, with block values");
    free(got);
    json_decref(v);

    strbuf_reset(&key);
    for (int i = 0; i < 1000; i++)
        strbuf_addch(&key, 'k');
    v = json_pack("{s:i}", strbuf_str(&key), 1);
    got = write_yaml(v, 0);
    ok(strncmp(got, "kkk", 3) == 0, "a 1000-byte key is still a simple key");
    ok(round_trips(v, 0), "1000-byte key round-trips");
    free(got);
    json_decref(v);
    strbuf_release(&key);
}

static void test_numbers(void)
{
    json_t *v = json_pack("[I,I,i,f,f,f,f,f,f,f]", (json_int_t)INT64_MAX, (json_int_t)INT64_MIN, 0,
                          1.0, -0.0, 0.1, 1e16, 1.5e-05, 5e-324, 1.7976931348623157e308);
    char *got = write_yaml(v, 0);
    is_str(got,
           "- 9223372036854775807\n- -9223372036854775808\n- 0\n- 1.0\n- -0.0\n- 0.1\n"
           "- 1e+16\n- 1.5e-05\n- 5e-324\n- 1.7976931348623157e+308\n",
           "numbers: %%lld and Python repr");
    ok(round_trips(v, 0), "numbers round-trip");
    free(got);

    /* A real stays a real: 1.0 reads back as 1.0, not as the integer 1. */
    struct jdoc doc = JDOC_INIT;
    struct err err = ERR_INIT;
    got = write_yaml(v, 0);
    ok(yamlload_mem(&doc, "n.yaml", got, strlen(got), &err) == 0, "numbers reload");
    ok(json_is_real(json_array_get(doc.root, 3)), "1.0 reloads as a real");
    ok(json_is_integer(json_array_get(doc.root, 2)), "0 reloads as an integer");
    jdoc_release(&doc);
    free(got);
    json_decref(v);
}

/* ==== Random trees ==== */

struct rng {
    uint64_t s; /* xorshift64 state, never 0 */
};

static uint32_t rnd(struct rng *r, uint32_t n)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)((r->s >> 32) % n);
}

/* Pieces that exercise every quoting rule when glued together at random. */
static const char *const pieces[] = {
    "a",
    "Z",
    " ",
    "  ",
    ":",
    ": ",
    "#",
    " #",
    "-",
    "- ",
    "?",
    ",",
    "[",
    "]",
    "{",
    "}",
    "&",
    "*",
    "!",
    "|",
    ">",
    "'",
    "\"",
    "%",
    "@",
    "`",
    "\\",
    "\n",
    "\t",
    "\r",
    "0",
    "1",
    "7",
    ".",
    "e",
    "x",
    "o",
    "_",
    "+",
    "~",
    "<<",
    "=",
    "...",
    "---",
    "null",
    "true",
    "yes",
    "inf",
    ".inf",
    ".nan",
    "é",
    "☃",
    "😀",
    "\x01",
    "\x7f",
    "\xc2\x85",
    "\xe2\x80\xa8",
    "\xef\xbb\xbf",
    "\xef\xbf\xbe",
    "2024-01-01",
};

static char *rand_text(struct rng *r, size_t *len)
{
    struct strbuf sb = STRBUF_INIT;
    int n = (int)rnd(r, 7);
    for (int i = 0; i < n; i++)
        strbuf_adds(&sb, pieces[rnd(r, sizeof(pieces) / sizeof(pieces[0]))]);
    return strbuf_detach(&sb, len);
}

static json_t *rand_value(struct rng *r, int depth)
{
    uint32_t kind = rnd(r, depth > 4 ? 7 : 9);
    switch (kind) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(rnd(r, 2));
    case 2: {
        static const json_int_t ints[] = { 0, 1, -1, 777, INT64_MAX, INT64_MIN, 1000000 };
        return json_integer(ints[rnd(r, sizeof(ints) / sizeof(ints[0]))]);
    }
    case 3: {
        double d;
        uint64_t bits = ((uint64_t)rnd(r, 1u << 31) << 33) ^ ((uint64_t)rnd(r, 1u << 31) << 2);
        memcpy(&d, &bits, sizeof(d));
        if (!isfinite(d))
            d = 0.25;
        return json_real(rnd(r, 2) ? d : (double)rnd(r, 1000) / 8);
    }
    case 4:
    case 5:
    case 6: {
        size_t len;
        char *s = rand_text(r, &len);
        json_t *v = json_stringn(s, len);
        free(s);
        return v;
    }
    case 7: {
        json_t *a = json_array();
        int n = (int)rnd(r, 4);
        for (int i = 0; i < n; i++)
            json_array_append_new(a, rand_value(r, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        int n = (int)rnd(r, 4);
        for (int i = 0; i < n; i++) {
            char *k = rand_text(r, NULL);
            json_object_set_new(o, k, rand_value(r, depth + 1));
            free(k);
        }
        return o;
    }
    }
}

static void test_random(void)
{
    struct rng r = { 0x9e3779b97f4a7c15ULL };
    int failed = 0;
    int total = 3000;
    for (int i = 0; i < total && failed < 5; i++) {
        json_t *v = rand_value(&r, 0);
        if (!round_trips(v, i % 2 ? YAMLWRITE_SORT : 0)) {
            failed++;
            char *json = NULL;
            struct strbuf sb = STRBUF_INIT;
            jv_dump(v, &sb, 0);
            json = strbuf_detach(&sb, NULL);
            diag("tree %d: %s", i, json);
            free(json);
        }
        json_decref(v);
    }
    is_int(failed, 0, "%d random trees round-trip with stable bytes", total);
}

int main(void)
{
    test_exact();
    test_strings();
    test_long_keys();
    test_numbers();
    test_random();
    return done_testing();
}
