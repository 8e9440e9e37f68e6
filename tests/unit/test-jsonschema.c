/* jsonschema.c: every keyword passes and fails with the right error fields, compile errors name
 * the schema pointer, $ref and $id resolution, recursion bounds, code points, error order. */
#include "../harness/tap.h"
#include "jsonschema.h"

static json_t *parse(const char *text)
{
    struct err err = ERR_INIT;
    json_t *v = jv_parse(text, strlen(text), "t", &err);
    if (!v) {
        diag("bad test JSON %s: %s", text, err.msg);
        abort();
    }
    return v;
}

static int checks;             /* calls of check() */
static int verdict_mismatches; /* ... where the verdict without an error list differed */

/* Compiles schema text; NULL (and the message in err) when it does not compile. */
static struct jsonschema *compile(const char *text, struct err *err)
{
    json_t *schema = parse(text);
    struct jsonschema *s = jsonschema_compile(schema, NULL, 0, err);
    json_decref(schema);
    return s;
}

/* Validates instance text against schema text; the errors go to errs. */
static bool check(const char *schema, const char *instance, struct schema_errors *errs)
{
    struct err err = ERR_INIT;
    struct jsonschema *s = compile(schema, &err);
    if (!s) {
        diag("schema %s does not compile: %s", schema, err.msg);
        return false;
    }
    json_t *inst = parse(instance);
    bool valid = jsonschema_validate(s, inst, errs);
    /* The verdict must not depend on whether errors are collected (asserted in main()). */
    checks++;
    if (jsonschema_validate(s, inst, NULL) != valid) {
        diag("verdict differs without an error list for %s against %s", instance, schema);
        verdict_mismatches++;
    }
    json_decref(inst);
    jsonschema_free(s);
    return valid;
}

/* One row: a schema, an instance and, when it must fail, its only error. */
struct row {
    const char *schema;
    const char *instance;
    const char *message; /* NULL: the instance is valid */
    const char *keyword;
    const char *ip;       /* instance pointer */
    const char *sp;       /* schema pointer */
    const char *property; /* NULL when the error has none */
};

/* clang-format off */
#define VALID(schema, instance) { schema, instance, NULL, NULL, NULL, NULL, NULL }
#define FAIL(schema, instance, msg, kw, ip, sp) { schema, instance, msg, kw, ip, sp, NULL }
#define FAILP(schema, instance, msg, kw, ip, sp, prop) { schema, instance, msg, kw, ip, sp, prop }
/* clang-format on */

static const struct row rows[] = {
    /* type */
    VALID("{\"type\":\"string\"}", "\"x\""),
    FAIL("{\"type\":\"string\"}", "1", "expected string, got integer", "type", "", "/type"),
    VALID("{\"type\":\"integer\"}", "1.0"),
    FAIL("{\"type\":\"integer\"}", "1.5", "expected integer, got number", "type", "", "/type"),
    VALID("{\"type\":\"number\"}", "3"),
    VALID("{\"type\":[\"string\",\"null\"]}", "null"),
    FAIL("{\"type\":[\"string\",\"null\"]}", "7", "expected one of string, null, got integer",
         "type", "", "/type"),
    FAIL("{\"type\":\"object\"}", "[]", "expected object, got array", "type", "", "/type"),
    FAIL("{\"type\":\"boolean\"}", "null", "expected boolean, got null", "type", "", "/type"),
    /* enum, const */
    VALID("{\"enum\":[\"append\",\"replace\",\"upsert\"]}", "\"replace\""),
    FAIL("{\"enum\":[\"append\",\"replace\",\"upsert\"]}", "\"merge\"",
         "must be one of \"append\", \"replace\", \"upsert\"", "enum", "", "/enum"),
    VALID("{\"enum\":[1,[2],{\"a\":null}]}", "1.0"),
    VALID("{\"enum\":[1,[2],{\"a\":null}]}", "{\"a\":null}"),
    FAIL("{\"enum\":[\"only\"]}", "\"other\"", "must be \"only\"", "enum", "", "/enum"),
    VALID("{\"const\":{\"a\":[1,2]}}", "{\"a\":[1.0,2]}"),
    FAIL("{\"const\":{\"a\":[1,2]}}", "{\"a\":[2,1]}", "must be {\"a\":[1,2]}", "const", "",
         "/const"),
    /* properties, required, additionalProperties, patternProperties */
    VALID("{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":1,\"x\":\"y\"}"),
    FAIL("{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":\"1\"}",
         "expected integer, got string", "type", "/n", "/properties/n/type"),
    FAIL("{\"properties\":{\"a/b~c\":{\"minimum\":2}}}", "{\"a/b~c\":1}", "must be >= 2, got 1",
         "minimum", "/a~1b~0c", "/properties/a~1b~0c/minimum"),
    VALID("{\"required\":[\"version\"]}", "{\"version\":1}"),
    FAILP("{\"required\":[\"version\"]}", "{}", "'version' is a required property", "required", "",
          "/required", "version"),
    VALID("{\"required\":[\"version\"]}", "[]"),
    VALID("{\"properties\":{\"a\":{}},\"additionalProperties\":false}", "{\"a\":1}"),
    FAILP("{\"properties\":{\"a\":{}},\"additionalProperties\":false}", "{\"a\":1,\"foo\":2}",
          "unexpected property 'foo'", "additionalProperties", "", "/additionalProperties", "foo"),
    VALID("{\"additionalProperties\":{\"type\":\"string\"}}", "{\"k\":\"v\"}"),
    FAIL("{\"additionalProperties\":{\"type\":\"string\"}}", "{\"k\":1}",
         "expected string, got integer", "type", "/k", "/additionalProperties/type"),
    VALID("{\"patternProperties\":{\"^x-\":{}},\"additionalProperties\":false}", "{\"x-a\":1}"),
    FAILP("{\"patternProperties\":{\"^x-\":{}},\"additionalProperties\":false}", "{\"y-a\":1}",
          "unexpected property 'y-a'", "additionalProperties", "", "/additionalProperties", "y-a"),
    VALID("{\"patternProperties\":{\"_id$\":{\"type\":\"integer\"}}}", "{\"user_id\":3}"),
    FAIL("{\"patternProperties\":{\"_id$\":{\"type\":\"integer\"}}}", "{\"user_id\":\"3\"}",
         "expected integer, got string", "type", "/user_id", "/patternProperties/_id$/type"),
    /* propertyNames, min/maxProperties */
    VALID("{\"propertyNames\":{\"pattern\":\"^[a-z]+$\"}}", "{\"abc\":1}"),
    FAILP("{\"propertyNames\":{\"pattern\":\"^[a-z]+$\"}}", "{\"Abc\":1}",
          "property name 'Abc' does not match pattern '^[a-z]+$'", "propertyNames", "",
          "/propertyNames", "Abc"),
    FAILP("{\"propertyNames\":{\"maxLength\":3}}", "{\"abcd\":1}",
          "property name 'abcd' must be at most 3 characters long", "propertyNames", "",
          "/propertyNames", "abcd"),
    VALID("{\"minProperties\":1}", "{\"a\":1}"),
    FAIL("{\"minProperties\":1}", "{}", "must have at least 1 property", "minProperties", "",
         "/minProperties"),
    VALID("{\"maxProperties\":1}", "{\"a\":1}"),
    FAIL("{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "must have at most 1 property",
         "maxProperties", "", "/maxProperties"),
    /* dependencies (both forms), dependentRequired, dependentSchemas */
    VALID("{\"dependencies\":{\"a\":[\"b\"]}}", "{\"a\":1,\"b\":2}"),
    VALID("{\"dependencies\":{\"a\":[\"b\"]}}", "{\"b\":2}"),
    FAILP("{\"dependencies\":{\"a\":[\"b\"]}}", "{\"a\":1}", "'b' is a dependency of 'a'",
          "dependencies", "", "/dependencies", "b"),
    VALID("{\"dependencies\":{\"a\":{\"required\":[\"c\"]}}}", "{\"a\":1,\"c\":1}"),
    FAILP("{\"dependencies\":{\"a\":{\"required\":[\"c\"]}}}", "{\"a\":1}",
          "'c' is a required property", "required", "", "/dependencies/a/required", "c"),
    VALID("{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"a\":1,\"b\":1}"),
    FAILP("{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"a\":1}", "'b' is a dependency of 'a'",
          "dependentRequired", "", "/dependentRequired", "b"),
    VALID("{\"dependentSchemas\":{\"a\":{\"maxProperties\":1}}}", "{\"a\":1}"),
    FAIL("{\"dependentSchemas\":{\"a\":{\"maxProperties\":1}}}", "{\"a\":1,\"b\":2}",
         "must have at most 1 property", "maxProperties", "", "/dependentSchemas/a/maxProperties"),
    /* items (both forms), prefixItems, additionalItems */
    VALID("{\"items\":{\"type\":\"integer\"}}", "[1,2,3]"),
    FAIL("{\"items\":{\"type\":\"integer\"}}", "[1,\"2\"]", "expected integer, got string", "type",
         "/1", "/items/type"),
    VALID("{\"items\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "[\"a\",1,null]"),
    FAIL("{\"items\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "[\"a\",\"b\"]",
         "expected integer, got string", "type", "/1", "/items/1/type"),
    VALID("{\"items\":[{}],\"additionalItems\":{\"type\":\"null\"}}", "[1,null,null]"),
    FAIL("{\"items\":[{}],\"additionalItems\":{\"type\":\"null\"}}", "[1,null,2]",
         "expected null, got integer", "type", "/2", "/additionalItems/type"),
    FAIL("{\"items\":[{}],\"additionalItems\":false}", "[1,2]", "no value is allowed here", "false",
         "/1", "/additionalItems"),
    VALID("{\"items\":{},\"additionalItems\":false}", "[1,2]"),
    VALID("{\"additionalItems\":false}", "[1,2]"),
    VALID("{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"type\":\"integer\"}}",
          "[\"a\",1,2]"),
    FAIL("{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"type\":\"integer\"}}", "[1]",
         "expected string, got integer", "type", "/0", "/prefixItems/0/type"),
    FAIL("{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"type\":\"integer\"}}",
         "[\"a\",\"b\"]", "expected integer, got string", "type", "/1", "/items/type"),
    FAIL("{\"prefixItems\":[{}],\"items\":false}", "[1,2]", "no value is allowed here", "false",
         "/1", "/items"),
    FAIL("{\"prefixItems\":[{}],\"additionalItems\":false}", "[1,2]", "no value is allowed here",
         "false", "/1", "/additionalItems"),
    /* minItems, maxItems, uniqueItems, contains */
    VALID("{\"minItems\":2}", "[1,2]"),
    FAIL("{\"minItems\":2}", "[1]", "must have at least 2 items", "minItems", "", "/minItems"),
    VALID("{\"maxItems\":1}", "[1]"),
    FAIL("{\"maxItems\":1}", "[1,2]", "must have at most 1 item", "maxItems", "", "/maxItems"),
    VALID("{\"uniqueItems\":true}", "[1,\"1\",[1],{\"a\":1},{\"a\":2}]"),
    FAIL("{\"uniqueItems\":true}", "[1,2,1.0]", "items 0 and 2 are equal", "uniqueItems", "",
         "/uniqueItems"),
    FAIL("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]",
         "items 0 and 1 are equal", "uniqueItems", "", "/uniqueItems"),
    VALID("{\"uniqueItems\":false}", "[1,1]"),
    VALID("{\"contains\":{\"const\":3}}", "[1,3]"),
    FAIL("{\"contains\":{\"const\":3}}", "[1,2]", "no item matches the schema in 'contains'",
         "contains", "", "/contains"),
    FAIL("{\"contains\":{}}", "[]", "no item matches the schema in 'contains'", "contains", "",
         "/contains"),
    /* numbers */
    VALID("{\"minimum\":1}", "1"),
    FAIL("{\"minimum\":1}", "0", "must be >= 1, got 0", "minimum", "", "/minimum"),
    FAIL("{\"minimum\":1.5}", "1.4", "must be >= 1.5, got 1.4", "minimum", "", "/minimum"),
    VALID("{\"maximum\":3}", "3.0"),
    FAIL("{\"maximum\":3}", "3.5", "must be <= 3, got 3.5", "maximum", "", "/maximum"),
    VALID("{\"exclusiveMinimum\":0}", "0.1"),
    FAIL("{\"exclusiveMinimum\":0}", "0", "must be > 0, got 0", "exclusiveMinimum", "",
         "/exclusiveMinimum"),
    VALID("{\"exclusiveMaximum\":10}", "9"),
    FAIL("{\"exclusiveMaximum\":10}", "10.0", "must be < 10, got 10.0", "exclusiveMaximum", "",
         "/exclusiveMaximum"),
    FAIL("{\"maximum\":9007199254740992}", "9007199254740993",
         "must be <= 9007199254740992, got 9007199254740993", "maximum", "", "/maximum"),
    VALID("{\"minimum\":9007199254740992.0}", "9007199254740993"),
    VALID("{\"multipleOf\":2}", "10"),
    FAIL("{\"multipleOf\":2}", "7", "must be a multiple of 2, got 7", "multipleOf", "",
         "/multipleOf"),
    VALID("{\"multipleOf\":0.0001}", "0.0075"),
    VALID("{\"multipleOf\":0.01}", "19.99"),
    VALID("{\"multipleOf\":0.1}", "0.3"),
    FAIL("{\"multipleOf\":0.0001}", "0.00751", "must be a multiple of 0.0001, got 0.00751",
         "multipleOf", "", "/multipleOf"),
    FAIL("{\"multipleOf\":0.123456789}", "1e308", "must be a multiple of 0.123456789, got 1e+308",
         "multipleOf", "", "/multipleOf"),
    VALID("{\"multipleOf\":1e-8}", "12391239123"),
    VALID("{\"multipleOf\":1.5}", "4.5"),
    VALID("{\"minimum\":5}", "\"not a number\""),
    /* strings */
    VALID("{\"minLength\":2}", "\"ab\""),
    FAIL("{\"minLength\":2}", "\"a\"", "must be at least 2 characters long", "minLength", "",
         "/minLength"),
    VALID("{\"maxLength\":3}", "\"abc\""),
    FAIL("{\"maxLength\":3}", "\"abcd\"", "must be at most 3 characters long", "maxLength", "",
         "/maxLength"),
    VALID("{\"maxLength\":1}", "\"\\u00e9\""),
    VALID("{\"maxLength\":2}", "\"\\u65e5\\u672c\""),
    VALID("{\"maxLength\":1}", "\"\\ud83d\\ude00\""),
    FAIL("{\"minLength\":2}", "\"\\ud83d\\ude00\"", "must be at least 2 characters long",
         "minLength", "", "/minLength"),
    FAIL("{\"maxLength\":1}", "\"\\u65e5\\u672c\"", "must be at most 1 character long", "maxLength",
         "", "/maxLength"),
    VALID("{\"pattern\":\"^[a-z]+$\"}", "\"abc\""),
    FAIL("{\"pattern\":\"^[a-z]+$\"}", "\"abc1\"", "does not match pattern '^[a-z]+$'", "pattern",
         "", "/pattern"),
    VALID("{\"pattern\":\"b\"}", "\"abc\""),
    VALID("{\"pattern\":\"^.$\"}", "\"\\u00e9\""),
    FAIL("{\"pattern\":\"^a$\"}", "\"a\\n\"", "does not match pattern '^a$'", "pattern", "",
         "/pattern"),
    FAIL("{\"pattern\":\"^\\\\d$\"}", "\"\\u0663\"", "does not match pattern '^\\d$'", "pattern",
         "", "/pattern"),
    VALID("{\"pattern\":\"^\\\\u00e9$\"}", "\"\\u00e9\""),
    VALID("{\"pattern\":\"^a\"}", "5"),
    VALID("{\"pattern\":\"^[^]$\"}", "\"\\n\""),
    VALID("{\"pattern\":\"^(a)?\\\\1b$\"}", "\"b\""),
    VALID("{\"pattern\":\"^\\\\u{1F600}$\"}", "\"\\ud83d\\ude00\""),
    /* allOf, anyOf, oneOf, not */
    VALID("{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}", "2"),
    FAIL("{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}", "4", "must be <= 3, got 4", "maximum", "",
         "/allOf/1/maximum"),
    VALID("{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":3}]}", "5"),
    FAIL("{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":3}]}", "1",
         "does not match any of the 2 alternatives", "anyOf", "", "/anyOf"),
    VALID("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "1"),
    FAIL("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "1.5",
         "does not match any of the 2 alternatives", "oneOf", "", "/oneOf"),
    FAIL("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "5",
         "matches 2 of the alternatives, exactly one is allowed", "oneOf", "", "/oneOf"),
    VALID("{\"not\":{\"type\":\"null\"}}", "1"),
    FAIL("{\"not\":{\"type\":\"null\"}}", "null", "must not match the schema in 'not'", "not", "",
         "/not"),
    /* if/then/else */
    VALID("{\"if\":{\"type\":\"integer\"},\"then\":{\"minimum\":0},\"else\":{\"type\":\"string\"}}",
          "3"),
    VALID("{\"if\":{\"type\":\"integer\"},\"then\":{\"minimum\":0},\"else\":{\"type\":\"string\"}}",
          "\"s\""),
    FAIL("{\"if\":{\"type\":\"integer\"},\"then\":{\"minimum\":0},\"else\":{\"type\":\"string\"}}",
         "-1", "must be >= 0, got -1", "minimum", "", "/then/minimum"),
    FAIL("{\"if\":{\"type\":\"integer\"},\"then\":{\"minimum\":0},\"else\":{\"type\":\"string\"}}",
         "null", "expected string, got null", "type", "", "/else/type"),
    VALID("{\"then\":false,\"else\":false}", "1"),
    /* boolean schemas, annotations and unknown keywords */
    VALID("true", "{\"anything\":[1]}"),
    FAIL("false", "1", "no value is allowed here", "false", "", ""),
    FAIL("{\"properties\":{\"gone\":false}}", "{\"gone\":1}", "no value is allowed here", "false",
         "/gone", "/properties/gone"),
    VALID(
        "{\"format\":\"email\",\"default\":5,\"title\":\"t\",\"description\":\"d\",\"$comment\":"
        "\"c\","
        "\"examples\":[1],\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"x-custom\":[]}",
        "\"not an email\""),
    /* $ref and definitions / $defs */
    FAIL("{\"definitions\":{\"n\":{\"type\":\"integer\"}},\"properties\":{\"a\":{\"$ref\":\"#/"
         "definitions/n\"}}}",
         "{\"a\":\"x\"}", "expected integer, got string", "type", "/a", "/definitions/n/type"),
    VALID("{\"$defs\":{\"n\":{\"type\":\"integer\"}},\"items\":{\"$ref\":\"#/$defs/n\"}}", "[1,2]"),
    FAIL("{\"$defs\":{\"n\":{\"type\":\"integer\"}},\"items\":{\"$ref\":\"#/$defs/n\"}}",
         "[1,true]", "expected integer, got boolean", "type", "/1", "/$defs/n/type"),
    VALID(
        "{\"definitions\":{\"a b\":{\"const\":1},\"t~s/x\":{\"const\":2}},\"anyOf\":[{\"$ref\":\"#/"
        "definitions/a%20b\"},{\"$ref\":\"#/definitions/t~0s~1x\"}]}",
        "2"),
    VALID("{\"definitions\":{\"r\":{\"type\":\"array\"}},\"$ref\":\"#/definitions/"
          "r\",\"maxItems\":1}",
          "[1,2,3]"),
    FAILP("{\"properties\":{\"next\":{\"$ref\":\"#\"}},\"required\":[\"v\"]}",
          "{\"v\":1,\"next\":{\"v\":2,\"next\":{}}}", "'v' is a required property", "required",
          "/next/next", "/required", "v"),
    VALID("{\"$ref\":\"http://json-schema.org/draft-07/schema#\"}", "{\"minLength\":1}"),
    FAIL("{\"$ref\":\"http://json-schema.org/draft-07/schema#\"}", "{\"minLength\":-1}",
         "must be >= 0, got -1", "minimum", "/minLength",
         "/definitions/nonNegativeInteger/minimum"),
    FAIL("{\"allOf\":[{\"$ref\":\"#foo\"}],\"definitions\":{\"A\":{\"$id\":\"#foo\",\"type\":"
         "\"integer\"}}}",
         "\"a\"", "expected integer, got string", "type", "", "/definitions/A/type"),
    VALID(
        "{\"$id\":\"http://example.com/root.json\",\"definitions\":{\"A\":{\"$id\":\"nested.json\","
        "\"definitions\":{\"B\":{\"$id\":\"#foo\",\"type\":\"integer\"}}}},\"allOf\":[{\"$ref\":"
        "\"http://example.com/nested.json#foo\"}]}",
        "1"),
    FAIL(
        "{\"$id\":\"http://example.com/root.json\",\"definitions\":{\"A\":{\"$id\":\"nested.json\","
        "\"definitions\":{\"B\":{\"$id\":\"#foo\",\"type\":\"integer\"}}}},\"allOf\":[{\"$ref\":"
        "\"nested.json#foo\"}]}",
        "\"x\"", "expected integer, got string", "type", "", "/definitions/A/definitions/B/type"),
    /* The sibling $id of a $ref is ignored (draft 7), so foo.json resolves against base/. */
    VALID("{\"$id\":\"http://example.com/sib/base/\",\"definitions\":{\"foo\":{\"$id\":\"http://"
          "example.com/sib/foo.json\",\"type\":\"string\"},\"base_foo\":{\"$id\":\"foo.json\","
          "\"type\":\"number\"}},\"allOf\":[{\"$id\":\"http://example.com/sib/\",\"$ref\":\"foo."
          "json\"}]}",
          "5"),
    VALID(
        "{\"$id\":\"http://example.com/a/b/c.json\",\"definitions\":{\"x\":{\"$id\":\"../x.json\","
        "\"type\":\"null\"}},\"allOf\":[{\"$ref\":\"/a/x.json\"}]}",
        "null"),
    FAIL("{\"definitions\":{\"q\\\"r\":{\"type\":\"number\"}},\"$ref\":\"#/definitions/q%22r\"}",
         "\"1\"", "expected number, got string", "type", "", "/definitions/q\"r/type"),
    /* An $id inside enum is data, not an identifier. */
    VALID(
        "{\"definitions\":{\"e\":{\"enum\":[{\"$id\":\"#x\",\"type\":\"null\"}]},\"real\":{\"$id\":"
        "\"#x\",\"type\":\"integer\"}},\"$ref\":\"#x\"}",
        "1"),
};

static void run_rows(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct schema_errors errs = SCHEMA_ERRORS_INIT;
        bool valid = check(r->schema, r->instance, &errs);
        if (!r->message) {
            if (!ok(valid && errs.len == 0, "%s accepts %s", r->schema, r->instance) && errs.len)
                diag("first error: %s", errs.items[0].message);
            schema_errors_release(&errs);
            continue;
        }
        ok(!valid && errs.len == 1, "%s rejects %s with one error (%zu)", r->schema, r->instance,
           errs.len);
        if (errs.len >= 1) {
            const struct schema_error *e = &errs.items[0];
            is_str(e->message, r->message, "  message");
            is_str(e->keyword, r->keyword, "  keyword");
            is_str(e->instance, r->ip, "  instance pointer");
            is_str(e->schema, r->sp, "  schema pointer");
            if (r->property)
                is_str(e->property, r->property, "  property");
            else
                ok(e->property == NULL, "  no property (%s)", e->property ? e->property : "");
        }
        schema_errors_release(&errs);
    }
}

/* Compile errors: each names the schema pointer of what is wrong. */
static void compile_errors(void)
{
    static const struct {
        const char *schema;
        const char *message;
    } bad[] = {
        { "{\"type\":5}",
          "schema '#/type': must be a type name or an array of type names, got integer" },
        { "{\"properties\":{\"a\":{\"type\":\"strng\"}}}",
          "schema '#/properties/a/type': unknown type \"strng\"" },
        { "{\"type\":[\"string\",\"string\"]}",
          "schema '#/type/1': type 'string' is listed twice" },
        { "{\"minimum\":\"x\"}", "schema '#/minimum': must be a number, got string" },
        { "{\"multipleOf\":0}", "schema '#/multipleOf': must be greater than 0, got 0" },
        { "{\"minLength\":-1}", "schema '#/minLength': must be a non-negative integer, got -1" },
        { "{\"maxItems\":1.5}", "schema '#/maxItems': must be a non-negative integer, got 1.5" },
        { "{\"items\":{\"pattern\":\"(\"}}",
          "schema '#/items/pattern': invalid regular expression '(': missing closing parenthesis" },
        { "{\"patternProperties\":{\"[\":{}}}",
          "schema '#/patternProperties/[': invalid regular expression '['" },
        { "{\"properties\":{\"a\":{\"$ref\":\"#/definitions/nope\"}}}",
          "schema '#/properties/a/$ref': cannot resolve '#/definitions/nope': no value at "
          "'/definitions/nope'" },
        { "{\"$ref\":\"http://example.com/other.json#/x\"}",
          "schema '#/$ref': cannot resolve 'http://example.com/other.json#/x': no document is "
          "known as 'http://example.com/other.json' (documents are never fetched" },
        { "{\"$ref\":\"#nowhere\"}", "schema '#/$ref': cannot resolve '#nowhere': no '$id' names" },
        { "{\"$ref\":5}", "schema '#/$ref': must be a string, got integer" },
        { "{\"properties\":{\"a\":5}}",
          "schema '#/properties/a': must be a schema (an object or a boolean), got integer" },
        { "{\"properties\":[]}", "schema '#/properties': must be an object, got array" },
        { "{\"required\":\"a\"}",
          "schema '#/required': must be an array of property names, got string" },
        { "{\"required\":[\"a\",1]}", "schema '#/required/1': must be a string, got integer" },
        { "{\"required\":[\"a\",\"a\"]}", "schema '#/required/1': 'a' is listed twice" },
        { "{\"items\":[]}", "schema '#/items': must not be empty" },
        { "{\"allOf\":[]}", "schema '#/allOf': must not be empty" },
        { "{\"anyOf\":{}}", "schema '#/anyOf': must be an array of schemas, got object" },
        { "{\"enum\":\"a\"}", "schema '#/enum': must be an array, got string" },
        { "{\"uniqueItems\":1}", "schema '#/uniqueItems': must be a boolean, got integer" },
        { "{\"dependencies\":{\"a\":[1]}}", "schema '#/dependencies/a/0': must be a string" },
        { "{\"prefixItems\":[{}],\"items\":[{}]}",
          "schema '#/items': must be a schema when 'prefixItems' is present" },
        { "{\"definitions\":{\"unused\":{\"maximum\":null}}}",
          "schema '#/definitions/unused/maximum': must be a number, got null" },
        { "{\"$id\":7}", "schema '#/$id': must be a string, got integer" },
        { "7", "schema '#': must be a schema (an object or a boolean), got integer" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct err err = ERR_INIT;
        struct jsonschema *s = compile(bad[i].schema, &err);
        ok(s == NULL && err.code == ERR_INPUT, "%s does not compile", bad[i].schema);
        like(err.msg, bad[i].message, "  message");
        jsonschema_free(s);
    }

    /* A caller's earlier error is kept (first error wins) and does not fail a good schema. */
    struct err err = ERR_INIT;
    err_set(&err, ERR_IO, "earlier");
    struct jsonschema *s = compile("{\"type\":\"string\"}", &err);
    ok(s != NULL, "a set err does not make a good schema fail");
    jsonschema_free(s);
    s = compile("{\"type\":1}", &err);
    ok(s == NULL && strcmp(err.msg, "earlier") == 0, "the first error wins");
}

/* Preloaded documents: refs into them, relative refs against them, $id base changes. */
static void resources(void)
{
    json_t *integer = parse("{\"type\":\"integer\"}");
    json_t *defs = parse("{\"definitions\":{\"pos\":{\"$ref\":\"#/definitions/n\",\"x\":1},"
                         "\"n\":{\"minimum\":1}},\"sub\":{\"$ref\":\"folder/int.json\"}}");
    struct schema_resource extra[] = {
        { "http://localhost:1234/folder/int.json", integer },
        { "http://localhost:1234/defs.json#", defs },
    };
    json_t *schema = parse("{\"$id\":\"http://localhost:1234/root.json\",\"properties\":{"
                           "\"a\":{\"$ref\":\"folder/int.json\"},"
                           "\"b\":{\"$ref\":\"defs.json#/definitions/pos\"},"
                           "\"c\":{\"$ref\":\"http://localhost:1234/defs.json#/sub\"},"
                           "\"d\":{\"$id\":\"folder/\",\"items\":{\"$ref\":\"int.json\"}}}}");
    struct err err = ERR_INIT;
    struct jsonschema *s = jsonschema_compile(schema, extra, 2, &err);
    json_decref(integer);
    json_decref(defs);
    json_decref(schema);
    if (!ok(s != NULL, "schema with preloaded documents compiles"))
        diag("%s", err.msg);
    if (!s)
        return;
    json_t *good = parse("{\"a\":1,\"b\":2,\"c\":3,\"d\":[4]}");
    ok(jsonschema_validate(s, good, NULL), "refs into preloaded documents");
    json_decref(good);
    json_t *bad = parse("{\"a\":\"1\",\"b\":0,\"c\":1.5,\"d\":[null]}");
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    ok(!jsonschema_validate(s, bad, &errs), "refs into preloaded documents reject");
    is_int(errs.len, 4, "four errors");
    if (errs.len == 4) {
        is_str(errs.items[0].instance, "/a", "error 0 instance");
        is_str(errs.items[0].schema, "/type", "error 0 schema pointer (in int.json)");
        is_str(errs.items[1].message, "must be >= 1, got 0", "error 1 message");
        is_str(errs.items[1].schema, "/definitions/n/minimum", "error 1 schema pointer");
        is_str(errs.items[2].instance, "/c", "error 2 instance");
        is_str(errs.items[3].instance, "/d/0", "error 3 instance");
    }
    schema_errors_release(&errs);
    json_decref(bad);
    jsonschema_free(s);

    /* The schema's own $ref may name a document that is not preloaded: an error, never a fetch. */
    schema = parse("{\"$id\":\"http://localhost:1234/x/\",\"not\":{\"$ref\":\"../missing.json\"}}");
    err_clear(&err);
    s = jsonschema_compile(schema, NULL, 0, &err);
    ok(s == NULL, "a ref to a document that is not preloaded fails");
    like(err.msg, "no document is known as 'http://localhost:1234/missing.json'",
         "  and names the resolved URI");
    json_decref(schema);
}

/* Infinite recursion is caught; deep but finite recursion works. */
static void recursion(void)
{
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    ok(!check("{\"$ref\":\"#\"}", "1", &errs), "{\"$ref\":\"#\"} fails, does not crash");
    ok(errs.len == 1 && strcmp(errs.items[0].message, "schema recursion too deep") == 0,
       "  with 'schema recursion too deep'");
    schema_errors_release(&errs);
    ok(!check("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},\"b\":{\"$ref\":\"#/"
              "definitions/a\"}},\"$ref\":\"#/definitions/a\"}",
              "{}", &errs),
       "a two-step $ref cycle fails");
    like(errs.len ? errs.items[errs.len - 1].message : "", "recursion too deep", "  too deep");
    schema_errors_release(&errs);
    ok(!check("{\"not\":{\"allOf\":[{\"$ref\":\"#\"}]}}", "1", &errs),
       "a cycle under 'not' does not turn into success");
    like(errs.len ? errs.items[errs.len - 1].message : "", "recursion too deep", "  too deep");
    schema_errors_release(&errs);
    ok(!check("{\"anyOf\":[{\"$ref\":\"#\"},true]}", "1", NULL), "a cycle in anyOf fails");

    /* A schema nested deeper than the bound does not compile (and does not overflow the stack). */
    struct strbuf deep = STRBUF_INIT;
    for (int i = 0; i < 2010; i++)
        strbuf_adds(&deep, "{\"not\":");
    strbuf_adds(&deep, "true");
    for (int i = 0; i < 2010; i++)
        strbuf_addch(&deep, '}');
    struct err err = ERR_INIT;
    struct jsonschema *s = compile(strbuf_str(&deep), &err);
    ok(s == NULL, "a schema nested 2010 deep does not compile");
    like(err.msg, "schema nesting too deep", "  'schema nesting too deep'");
    jsonschema_free(s);
    strbuf_release(&deep);
    err_clear(&err);
    ok(jsonschema_compile(NULL, NULL, 0, &err) == NULL && err.code == ERR_INPUT,
       "no schema is an input error");

    /* A linked list 500 deep against a recursive schema is fine. */
    struct strbuf sb = STRBUF_INIT;
    for (int i = 0; i < 500; i++)
        strbuf_adds(&sb, "{\"next\":");
    strbuf_adds(&sb, "null");
    for (int i = 0; i < 500; i++)
        strbuf_addch(&sb, '}');
    ok(check("{\"type\":[\"object\",\"null\"],\"properties\":{\"next\":{\"$ref\":\"#\"}}}",
             strbuf_str(&sb), NULL),
       "500 levels of recursion validate");
    strbuf_release(&sb);
    /* The JSON parser caps nesting at 2048; an instance that deep exceeds the bound cleanly. */
    for (int i = 0; i < 2000; i++)
        strbuf_adds(&sb, "[");
    for (int i = 0; i < 2000; i++)
        strbuf_adds(&sb, "]");
    ok(!check("{\"items\":{\"$ref\":\"#\"}}", strbuf_str(&sb), &errs),
       "2000 levels of nesting hit the bound");
    like(errs.len ? errs.items[0].message : "", "recursion too deep", "  too deep");
    schema_errors_release(&errs);
    strbuf_release(&sb);
}

/* Errors come out in schema keyword order, each keyword in its own order. */
static void error_order(void)
{
    const char *schema =
        "{\"type\":\"object\",\"required\":[\"z\",\"a\"],\"properties\":{\"m\":{\"type\":"
        "\"string\"},"
        "\"b\":{\"maximum\":1}},\"additionalProperties\":false,\"minProperties\":9}";
    const char *instance = "{\"b\":5,\"m\":1,\"q\":0,\"p\":0}";
    static const char *const want[] = {
        "'z' is a required property",      "'a' is a required property",
        "expected string, got integer",    "must be <= 1, got 5",
        "unexpected property 'q'",         "unexpected property 'p'",
        "must have at least 9 properties",
    };
    for (int round = 0; round < 2; round++) {
        struct schema_errors errs = SCHEMA_ERRORS_INIT;
        ok(!check(schema, instance, &errs), "several errors (round %d)", round);
        is_int(errs.len, 7, "  seven of them");
        for (size_t i = 0; i < errs.len && i < 7; i++)
            is_str(errs.items[i].message, want[i], "  error %zu", i);
        schema_errors_release(&errs);
    }

    /* anyOf/oneOf give one error of their own, not every branch's. */
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    check("{\"anyOf\":[{\"type\":\"string\",\"minLength\":3},{\"type\":\"integer\"},{"
          "\"required\":[\"a\"]}]}",
          "{}", &errs);
    ok(errs.len == 1 && strcmp(errs.items[0].keyword, "anyOf") == 0,
       "anyOf reports one error (%zu)", errs.len);
    schema_errors_release(&errs);

    /* The expected field carries the keyword's value. */
    check("{\"enum\":[1,2]}", "3", &errs);
    ok(errs.len == 1 && errs.items[0].expected && json_array_size(errs.items[0].expected) == 2,
       "expected is the enum array");
    schema_errors_release(&errs);

    /* Messages stay on one line whatever the property name holds. */
    check("{\"additionalProperties\":false}", "{\"a\\nb\":1}", &errs);
    is_str(errs.len ? errs.items[0].message : "", "unexpected property 'a\\nb'",
           "control characters escaped in messages");
    is_str(errs.len ? errs.items[0].property : "", "a\nb", "  the property is the raw name");
    schema_errors_release(&errs);

    /* A long value is cut short in messages. */
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "{\"const\":\"");
    for (int i = 0; i < 500; i++)
        strbuf_adds(&sb, "x");
    strbuf_adds(&sb, "\"}");
    check(strbuf_str(&sb), "1", &errs);
    ok(errs.len == 1 && strlen(errs.items[0].message) < 260 &&
           strstr(errs.items[0].message, "...") != NULL,
       "long values are truncated in messages");
    schema_errors_release(&errs);
    strbuf_release(&sb);
}

/* The compiled meta-schema accepts good schemas and rejects bad ones. */
static void metaschema(void)
{
    struct err err = ERR_INIT;
    struct jsonschema *m = jsonschema_metaschema(&err);
    if (!ok(m != NULL, "meta-schema compiles"))
        diag("%s", err.msg);
    if (!m)
        return;
    json_t *good = parse("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":[\"string\","
                         "\"null\"],\"minLength\":1}},\"required\":[\"a\"]}");
    ok(jsonschema_validate(m, good, NULL), "a good schema is valid");
    json_t *bad = parse("{\"type\":\"strng\",\"minLength\":-1}");
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    ok(!jsonschema_validate(m, bad, &errs), "a bad schema is invalid");
    ok(errs.len == 2, "  two errors (%zu)", errs.len);
    if (errs.len == 2) {
        /* The meta-schema lists minLength before type. */
        is_str(errs.items[0].instance, "/minLength", "  first at /minLength");
        is_str(errs.items[0].message, "must be >= 0, got -1", "  first message");
        is_str(errs.items[1].instance, "/type", "  second at /type");
        is_str(errs.items[1].keyword, "anyOf", "  type is an anyOf in the meta-schema");
    }
    schema_errors_release(&errs);
    json_decref(good);
    json_decref(bad);

    /* Two compiled meta-schemas are independent (no shared state). */
    struct jsonschema *m2 = jsonschema_metaschema(&err);
    ok(m2 != NULL && m2 != m, "a second meta-schema is a fresh object");
    jsonschema_free(m2);
    jsonschema_free(m);
}

int main(void)
{
    run_rows();
    compile_errors();
    resources();
    recursion();
    error_order();
    metaschema();
    ok(checks > 150 && verdict_mismatches == 0,
       "the verdict is the same with and without an error list (%d checks)", checks);
    jsonschema_free(NULL);
    struct schema_errors empty = SCHEMA_ERRORS_INIT;
    schema_errors_release(&empty);
    return done_testing();
}
