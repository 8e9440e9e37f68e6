/* json.c: canonical writer, number text, equality, pointers. */
#include "../harness/tap.h"
#include "json.h"

static char *canon(const char *text)
{
    struct err err = ERR_INIT;
    json_t *v = jv_parse(text, strlen(text), "t", &err);
    if (!v)
        return strdup(err.msg);
    struct strbuf sb = STRBUF_INIT;
    jv_canonical(v, &sb);
    json_decref(v);
    return strbuf_detach(&sb, NULL);
}

static json_t *parse(const char *text)
{
    struct err err = ERR_INIT;
    json_t *v = jv_parse(text, strlen(text), "t", &err);
    if (!v)
        diag("%s", err.msg);
    return v;
}

static void check_real(double d, const char *want)
{
    char buf[32];
    jv_format_real(d, buf);
    is_str(buf, want, "real %.17g", d);
}

int main(void)
{
    char *s;
    s = canon("{\"b\":1,\"a\":[true,null,\"x\"],\"c\":{\"z\":1.5,\"y\":\"é\\n\"}}");
    is_str(s, "{\"a\":[true,null,\"x\"],\"b\":1,\"c\":{\"y\":\"é\\n\",\"z\":1.5}}",
           "sorted, compact, UTF-8 kept");
    free(s);
    s = canon("{\"a\":1,\"a\":2}");
    like(s, "duplicate", "duplicate keys rejected");
    free(s);
    s = canon("[1.0, 100.0, 0.1, 1e16, 1e-5, -0.0, 123456789012345678]");
    is_str(s, "[1.0,100.0,0.1,1e+16,1e-05,-0.0,123456789012345678]", "numbers keep their type");
    free(s);

    check_real(0.1, "0.1");
    check_real(1.0 / 3, "0.3333333333333333");
    check_real(1e22, "1e+22");
    check_real(123456.789, "123456.789");
    check_real(0.0001, "0.0001");
    check_real(2.5e-7, "2.5e-07");
    check_real(1e15, "1000000000000000.0");
    check_real(5e-324, "5e-324");
    check_real(1.7976931348623157e308, "1.7976931348623157e+308");

    json_t *a = parse("{\"x\":[1,{\"k\":1.0}]}");
    json_t *b = parse("{\"x\":[1.0,{\"k\":1}]}");
    ok(a && b && jv_equal(a, b), "1 equals 1.0 deep");
    json_t *c = parse("{\"x\":[1,{\"k\":2}]}");
    ok(c && !jv_equal(a, c), "different values differ");

    json_t *big = parse("[9007199254740993, 9007199254740992.0, 9007199254740992]");
    ok(!jv_equal(json_array_get(big, 0), json_array_get(big, 1)),
       "2^53+1 differs from 2^53 as a real");
    ok(jv_equal(json_array_get(big, 2), json_array_get(big, 1)), "2^53 equals 2^53.0");
    is_int(jv_number_cmp(json_array_get(big, 0), json_array_get(big, 1)), 1, "exact comparison");
    json_decref(big);

    json_t *d = parse("{\"a/b\":{\"m~n\":[10,20]},\"\":5}");
    ok(d != NULL, "pointer doc parses");
    is_int(json_integer_value(jv_pointer_get(d, "/a~1b/m~0n/1")), 20, "escaped pointer");
    is_int(json_integer_value(jv_pointer_get(d, "/")), 5, "empty key");
    ok(jv_pointer_get(d, "/a~1b/m~0n/01") == NULL, "leading zero index rejected");
    ok(jv_pointer_get(d, "") == d, "empty pointer is the root");
    struct strbuf sb = STRBUF_INIT;
    jv_pointer_add(&sb, "a/b");
    jv_pointer_add(&sb, "m~n");
    jv_pointer_add_index(&sb, 3);
    is_str(strbuf_str(&sb), "/a~1b/m~0n/3", "pointer building escapes");
    strbuf_reset(&sb);
    jv_dump(d, &sb, JV_PRETTY);
    is_str(strbuf_str(&sb),
           "{\n  \"a/b\": {\n    \"m~n\": [\n      10,\n      20\n    ]\n  },\n  \"\": 5\n}",
           "pretty keeps insertion order");
    strbuf_release(&sb);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    return done_testing();
}
