/* Spec validation levels and the mapping from validator errors to friendly messages. */
#include "speccheck.h"
#include "suggest.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_names[] = { "basic", "enhanced", "strict" };

int speccheck_level(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *speccheck_level_name(enum spec_level level)
{
    return level_names[level];
}

void spec_report_release(struct spec_report *rep)
{
    free(rep->items);
    arena_release(&rep->arena);
    memset(rep, 0, sizeof(*rep));
}

/* ==== Friendly labels and hints ==== */

/* Labels for well-known places in a spec; anything else is title-cased from its last token. */
static const struct {
    const char *pointer;
    const char *label;
} labels[] = {
    { "/name", "Component Name" },
    { "/version", "Version" },
    { "/modes", "Modes" },
    { "/capabilities", "Capabilities" },
    { "/configSchema", "Config Schema" },
    { "/configSchema/properties/host", "Database Host" },
    { "/configSchema/properties/port", "Database Port" },
    { "/configSchema/properties/database", "Database Name" },
    { "/configSchema/properties/user", "Database User" },
    { "/configSchema/properties/password", "Database Password" },
    { "/configSchema/properties/table", "Table Name" },
    { "/configSchema/properties/key", "API Key" },
    { "/configSchema/properties/url", "URL" },
    { "/x-runtime/driver", "Runtime Driver" },
    { "/x-connection-fields", "Connection Fields" },
};

/* Fix hints and examples for required fields, by name. */
static const struct {
    const char *field;
    const char *fix;
    const char *example;
} required_hints[] = {
    { "name", "Add the component name: lower-case letters, digits, '.', '_' or '-'",
      "name: mysql.extractor" },
    { "version", "Add a semantic version", "version: 1.0.0" },
    { "modes", "List the operations the component supports", "modes: [extract, discover]" },
    { "capabilities", "Add a capabilities mapping of boolean flags",
      "capabilities: {discover: true, streaming: true}" },
    { "configSchema", "Add a JSON Schema describing the step config",
      "configSchema: {type: object, properties: {query: {type: string}}}" },
    { "type", "Declare the schema type; a configSchema is always an object", "type: object" },
    { "properties", "Declare the config fields", "properties: {query: {type: string}}" },
    { "title", "Add a short title", "title: Load orders" },
    { "config", "Add the example's step config", "config: {query: SELECT 1}" },
    { "host", "Add the database host name or address", "host: db.example.com" },
    { "database", "Add the database name", "database: shop" },
    { "user", "Add the user name", "user: etl" },
    { "password", "Take the password from a connection, not the step", NULL },
    { "table", "Add the table name", "table: orders" },
    { "key", "Take the key from a connection, not the step", NULL },
    { "url", "Add the URL", "url: https://example.com" },
    { "project_id", "Add the project id", "project_id: \"12345\"" },
    { "driver", "Name the C driver that runs this component", "driver: mysql_extractor" },
};

static const struct {
    const char *type;
    const char *fix;
} type_hints[] = {
    { "integer", "Use a whole number without quotes, e.g. 5432" },
    { "number", "Use a number without quotes, e.g. 1.5" },
    { "boolean", "Use true or false without quotes" },
    { "string", "Use text; quote values that look like numbers or booleans, e.g. \"1.0\"" },
    { "array", "Use a list, e.g. [a, b]" },
    { "object", "Use a mapping of key: value pairs" },
    { "null", "Use null or leave the value empty" },
};

static const char *label_for(struct arena *a, const char *pointer)
{
    for (size_t i = 0; i < sizeof(labels) / sizeof(*labels); i++)
        if (strcmp(labels[i].pointer, pointer) == 0)
            return labels[i].label;
    if (!*pointer)
        return "Spec";
    const char *last = strrchr(pointer, '/') + 1;
    struct strbuf sb = STRBUF_INIT;
    if (isdigit((unsigned char)*last)) {
        /* An array item: name it after its list ("Modes item 2"). */
        size_t plen = (size_t)(last - 1 - pointer);
        char *parent = arena_strndup(a, pointer, plen);
        strbuf_addf(&sb, "%s item %d", label_for(a, parent), atoi(last) + 1);
    } else {
        struct strbuf tok = STRBUF_INIT;
        jv_pointer_unescape(&tok, last, strlen(last));
        bool up = true;
        for (const char *p = strbuf_str(&tok); *p; p++) {
            if (*p == '_' || *p == '-' || *p == '.') {
                strbuf_addch(&sb, ' ');
                up = true;
                continue;
            }
            /* camelCase: a capital after a lower-case letter starts a word. */
            if (isupper((unsigned char)*p) && p > tok.buf && islower((unsigned char)p[-1]))
                strbuf_addch(&sb, ' ');
            strbuf_addch(&sb, up ? toupper((unsigned char)*p) : *p);
            up = false;
        }
        strbuf_release(&tok);
    }
    char *label = arena_take(a, &sb);
    return label;
}

static char *json_text(struct arena *a, const json_t *v)
{
    struct strbuf sb = STRBUF_INIT;
    if (v)
        jv_dump(v, &sb, 0);
    char *s = arena_take(a, &sb);
    return s;
}

/* The allowed property names of the object schema an additionalProperties error came from, for
 * a "did you mean". schema_ptr points at the additionalProperties keyword. */
static const char *closest_property(const json_t *schema_root, const char *schema_ptr,
                                    const char *name)
{
    const char *slash = strrchr(schema_ptr, '/');
    if (!slash)
        return NULL;
    char *parent = xstrndup(schema_ptr, (size_t)(slash - schema_ptr));
    json_t *props = json_object_get(jv_pointer_get(schema_root, parent), "properties");
    free(parent);
    return suggest_in(name, props);
}

/* ==== Building issues ==== */

struct checker {
    const struct jdoc *doc;
    struct spec_report *rep;
    const char *level;
};

/* at_key: the issue is about a key (missing, unknown, misnamed) rather than about its value. */
static struct spec_issue *add_issue(struct checker *ck, const char *pointer, bool at_key)
{
    struct spec_report *rep = ck->rep;
    XGROW(rep->items, rep->cap, rep->len + 1);
    struct spec_issue *is = &rep->items[rep->len++];
    memset(is, 0, sizeof(*is));
    is->level = ck->level;
    is->pointer = arena_strdup(&rep->arena, pointer);
    is->pos = jdoc_locate(ck->doc, pointer, at_key);
    is->field = label_for(&rep->arena, pointer);
    return is;
}

/* Turns one validator error into a friendly issue. base is the pointer, inside the spec, of the
 * instance that was validated ("" for the spec itself, "/examples/0/config" for an example). */
static void add_schema_error(struct checker *ck, const char *base, const json_t *instance,
                             const struct schema_error *e, const json_t *schema_root)
{
    struct arena *a = &ck->rep->arena;
    struct strbuf ptr = STRBUF_INIT;
    strbuf_adds(&ptr, base);
    strbuf_adds(&ptr, e->instance);
    bool names_property = e->property && (strcmp(e->keyword, "required") == 0 ||
                                          strcmp(e->keyword, "additionalProperties") == 0);
    if (names_property)
        jv_pointer_add(&ptr, e->property);
    /* A missing property has no position of its own: jdoc_locate() falls back to its parent. */
    struct spec_issue *is = add_issue(ck, strbuf_str(&ptr), names_property);
    is->technical = arena_printf(a, "%s: %s (%s)", *strbuf_str(&ptr) ? strbuf_str(&ptr) : "/",
                                 e->message, e->keyword);
    const char *kw = e->keyword;
    const char *exp = json_text(a, e->expected);

    if (strcmp(kw, "required") == 0) {
        is->category = "config_error";
        is->problem = arena_printf(a, "Required field '%s' is missing", e->property);
        is->fix = arena_printf(a, "Add '%s'", e->property);
        for (size_t i = 0; i < sizeof(required_hints) / sizeof(*required_hints); i++)
            if (strcmp(required_hints[i].field, e->property) == 0) {
                is->fix = required_hints[i].fix;
                is->example = required_hints[i].example;
            }
    } else if (strcmp(kw, "additionalProperties") == 0 && e->property) {
        is->category = "config_error";
        is->problem = arena_printf(a, "Unknown field '%s'", e->property);
        const char *best = closest_property(schema_root, e->schema, e->property);
        is->fix = best ? arena_printf(a, "Did you mean '%s'?", best)
                       : arena_printf(a, "Remove '%s' or check its spelling", e->property);
    } else if (strcmp(kw, "type") == 0) {
        is->category = "type_error";
        const json_t *got = jv_pointer_get(instance, e->instance);
        struct strbuf types = STRBUF_INIT; /* "string" or "string or null" */
        if (json_is_string(e->expected))
            strbuf_adds(&types, json_string_value(e->expected));
        for (size_t i = 0; i < json_array_size(e->expected); i++)
            strbuf_addf(&types, "%s%s", i ? " or " : "",
                        json_string_value(json_array_get(e->expected, i)));
        is->problem = arena_printf(a, "Expected %s but got %s", strbuf_str(&types),
                                   got ? jv_type_name(got) : "nothing");
        strbuf_release(&types);
        is->fix = "Change the value to the expected type";
        const char *want = json_is_string(e->expected)
                               ? json_string_value(e->expected)
                               : json_string_value(json_array_get(e->expected, 0));
        for (size_t i = 0; want && i < sizeof(type_hints) / sizeof(*type_hints); i++)
            if (strcmp(type_hints[i].type, want) == 0)
                is->fix = type_hints[i].fix;
    } else if (strcmp(kw, "minimum") == 0 || strcmp(kw, "exclusiveMinimum") == 0 ||
               strcmp(kw, "maximum") == 0 || strcmp(kw, "exclusiveMaximum") == 0) {
        static const struct {
            const char *kw, *text;
        } bounds[] = {
            { "minimum", "at least" },
            { "exclusiveMinimum", "greater than" },
            { "maximum", "at most" },
            { "exclusiveMaximum", "less than" },
        };
        is->category = "constraint_error";
        is->problem = arena_printf(a, "Value %s", e->message);
        for (size_t i = 0; i < 4; i++)
            if (strcmp(bounds[i].kw, kw) == 0)
                is->fix = arena_printf(a, "Value must be %s %s", bounds[i].text, exp);
    } else if (strcmp(kw, "minLength") == 0 || strcmp(kw, "maxLength") == 0) {
        is->category = "constraint_error";
        is->problem = arena_printf(a, "Text %s", e->message);
        is->fix =
            arena_printf(a, "Use %s %s characters", kw[1] == 'i' ? "at least" : "at most", exp);
    } else if (strcmp(kw, "minItems") == 0 || strcmp(kw, "maxItems") == 0) {
        is->category = "constraint_error";
        is->problem = arena_printf(a, "List %s", e->message);
        is->fix = arena_printf(a, "List %s %s items", kw[1] == 'i' ? "at least" : "at most", exp);
    } else if (strcmp(kw, "enum") == 0 || strcmp(kw, "const") == 0) {
        is->category = "constraint_error";
        is->problem = arena_printf(a, "Value %s", e->message);
        is->fix = arena_printf(a, "Use %s %s", kw[0] == 'e' ? "one of" : "exactly", exp);
    } else if (strcmp(kw, "pattern") == 0) {
        is->category = "constraint_error";
        is->problem = arena_printf(a, "Value %s", e->message);
        is->fix = arena_printf(a, "Use a value matching %s", exp);
    } else if (strcmp(kw, "uniqueItems") == 0) {
        is->category = "constraint_error";
        is->problem = arena_printf(a, "List has duplicates: %s", e->message);
        is->fix = "Remove the duplicate items";
    } else {
        is->category = "schema_error";
        is->problem = arena_printf(a, "Value %s", e->message);
        is->fix = "Check the value against the spec format in docs/components/README.md";
    }
    strbuf_release(&ptr);
}

static void validate_into(struct checker *ck, const struct jsonschema *s, const json_t *instance,
                          const char *base)
{
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    if (!jsonschema_validate(s, instance, &errs))
        for (size_t i = 0; i < errs.len; i++)
            add_schema_error(ck, base, instance, &errs.items[i], jsonschema_document(s));
    schema_errors_release(&errs);
}

static void add_plain(struct checker *ck, const char *pointer, bool at_key, const char *category,
                      const char *problem, const char *fix)
{
    struct spec_issue *is = add_issue(ck, pointer, at_key);
    is->category = category;
    is->problem = arena_strdup(&ck->rep->arena, problem);
    is->fix = arena_strdup(&ck->rep->arena, fix);
    is->technical = arena_printf(&ck->rep->arena, "%s: %s", pointer, problem);
}

/* ==== Levels ==== */

static void check_enhanced(struct checker *ck, struct err *err)
{
    json_t *cs = json_object_get(ck->doc->root, "configSchema");
    struct jsonschema *meta = jsonschema_metaschema(err);
    if (!meta)
        return;
    size_t before = ck->rep->len;
    validate_into(ck, meta, cs, "/configSchema");
    jsonschema_free(meta);
    if (ck->rep->len > before)
        return;

    struct err cerr = ERR_INIT;
    struct jsonschema *config = jsonschema_compile(cs, NULL, 0, &cerr);
    if (!config) {
        add_plain(ck, "/configSchema", false, "schema_error", cerr.msg,
                  "Fix the schema so it compiles: patterns must be valid regular expressions "
                  "and every $ref must resolve");
        return;
    }
    json_t *examples = json_object_get(ck->doc->root, "examples");
    size_t i;
    json_t *ex;
    json_array_foreach(examples, i, ex)
    {
        char base[64];
        snprintf(base, sizeof(base), "/examples/%zu/config", i);
        validate_into(ck, config, json_object_get(ex, "config"), base);
    }
    jsonschema_free(config);
}

/* True when pointer names a field the config schema can hold: it walks properties, array items
 * and additionalProperties; a mapping that allows any key accepts any name below it. */
static bool pointer_in_schema(const json_t *schema, const char *pointer)
{
    struct strbuf tok = STRBUF_INIT;
    const char *p = pointer;
    bool found = true;
    while (found && *p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        jv_pointer_unescape(&tok, p, n);
        p += n;
        if (!json_is_object(schema)) {
            found = json_is_true(schema);
            break;
        }
        json_t *props = json_object_get(schema, "properties");
        json_t *items = json_object_get(schema, "items");
        json_t *addl = json_object_get(schema, "additionalProperties");
        json_t *next = json_object_get(props, strbuf_str(&tok));
        if (!next && items &&
            (strcmp(strbuf_str(&tok), "[]") == 0 || isdigit((unsigned char)*tok.buf)))
            next = items;
        if (!next && json_is_object(addl))
            next = addl;
        if (!next) {
            /* Without a declared shape, any key may appear (a free-form mapping). */
            found = !props && !json_is_false(addl) && !items;
            break;
        }
        schema = next;
    }
    strbuf_release(&tok);
    return found;
}

static void check_pointer_list(struct checker *ck, const json_t *cs, const char *list_ptr)
{
    json_t *list = jv_pointer_get(ck->doc->root, list_ptr);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *ptr = json_string_value(v);
        if (!ptr || strncmp(ptr, "/resolved_connection/", 21) == 0)
            continue;
        if (pointer_in_schema(cs, ptr))
            continue;
        char at[256];
        snprintf(at, sizeof(at), "%s/%zu", list_ptr, i);
        char problem[512];
        snprintf(problem, sizeof(problem), "Pointer '%s' does not name a config field", ptr);
        add_plain(ck, at, false, "config_error", problem,
                  "Point at a property of configSchema (or /resolved_connection/<field> for a "
                  "connection field)");
    }
}

static void check_names(struct checker *ck, const json_t *props, const json_t *names,
                        const char *base, const char *what)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)names, key, v)
    {
        if (json_object_get(props, key))
            continue;
        struct strbuf ptr = STRBUF_INIT;
        strbuf_adds(&ptr, base);
        jv_pointer_add(&ptr, key);
        char problem[512], fix[512];
        snprintf(problem, sizeof(problem), "%s '%s' is not a configSchema property", what, key);
        const char *best = suggest_in(key, props);
        if (best)
            snprintf(fix, sizeof(fix), "Did you mean '%s'?", best);
        else
            snprintf(fix, sizeof(fix), "Use one of the configSchema properties");
        add_plain(ck, strbuf_str(&ptr), true, "config_error", problem, fix);
        strbuf_release(&ptr);
    }
}

static void check_strict(struct checker *ck, struct err *err)
{
    const json_t *root = ck->doc->root;
    json_t *cs = json_object_get(root, "configSchema");
    json_t *props = json_object_get(cs, "properties");

    check_pointer_list(ck, cs, "/secrets");
    check_pointer_list(ck, cs, "/x-secret");
    check_pointer_list(ck, cs, "/redaction/extras");
    check_pointer_list(ck, cs, "/loggingPolicy/sensitivePaths");

    check_names(ck, props, jv_pointer_get(root, "/llmHints/inputAliases"), "/llmHints/inputAliases",
                "Alias target");

    size_t i;
    json_t *c;
    json_array_foreach(jv_pointer_get(root, "/constraints/required"), i, c)
    {
        char base[64];
        snprintf(base, sizeof(base), "/constraints/required/%zu/when", i);
        check_names(ck, props, json_object_get(c, "when"), base, "Constraint field");
        snprintf(base, sizeof(base), "/constraints/required/%zu/must", i);
        check_names(ck, props, json_object_get(c, "must"), base, "Constraint field");
    }

    json_t *req;
    json_array_foreach(json_object_get(cs, "required"), i, req)
    {
        const char *name = json_string_value(req);
        if (name && !json_object_get(props, name)) {
            char at[64], problem[512];
            snprintf(at, sizeof(at), "/configSchema/required/%zu", i);
            snprintf(problem, sizeof(problem), "Required field '%s' is not a property", name);
            add_plain(ck, at, false, "config_error", problem,
                      "Declare it under properties or remove it");
        }
    }

    /* Defaults are injected into compiled configs, so each must be a valid value itself. */
    const char *key;
    json_t *prop;
    json_object_foreach(props, key, prop)
    {
        json_t *def = json_object_get(prop, "default");
        if (!def)
            continue;
        struct jsonschema *s = jsonschema_compile(prop, NULL, 0, err);
        if (!s)
            return;
        struct strbuf base = STRBUF_INIT;
        strbuf_adds(&base, "/configSchema/properties");
        jv_pointer_add(&base, key);
        if (!jsonschema_validate(s, def, NULL)) {
            strbuf_adds(&base, "/default");
            char problem[512];
            snprintf(problem, sizeof(problem), "Default of '%s' does not satisfy its own schema",
                     key);
            add_plain(ck, strbuf_str(&base), false, "constraint_error", problem,
                      "Change the default or the property's schema");
        }
        strbuf_release(&base);
        jsonschema_free(s);
    }
}

int speccheck(const struct jdoc *doc, enum spec_level level, const struct jsonschema *spec_schema,
              struct spec_report *rep, struct err *err)
{
    struct checker ck = { .doc = doc, .rep = rep, .level = "basic" };
    validate_into(&ck, spec_schema, doc->root, "");
    if (rep->len || level == SPEC_BASIC)
        return 0;
    ck.level = "enhanced";
    check_enhanced(&ck, err);
    if (err->code)
        return -1;
    if (rep->len || level == SPEC_ENHANCED)
        return 0;
    ck.level = "strict";
    check_strict(&ck, err);
    return err->code ? -1 : 0;
}
