/* schema-check: validates JSON files against a JSON Schema (draft 7) with osiris's own validator,
 * for tests that check what a command wrote (e.g. AIOP summaries against docs/aiop.schema.json).
 *
 *   schema-check SCHEMA.json FILE.json...
 *
 * Prints one line per violation ("FILE: /pointer: message") and exits 1 when a file is invalid,
 * 2 when a file cannot be read or the schema does not compile, 0 when every file is valid. */
#include "files.h"
#include "json.h"
#include "jsonschema.h"
#include "strbuf.h"

#include <stdio.h>

static json_t *load(const char *path)
{
    struct strbuf text = STRBUF_INIT;
    struct err err = ERR_INIT;
    json_t *v = NULL;
    if (files_read(path, &text, &err) == 0)
        v = jv_parse(text.buf, text.len, path, &err);
    if (!v)
        fprintf(stderr, "schema-check: %s\n", err.msg);
    strbuf_release(&text);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: schema-check SCHEMA.json FILE.json...\n");
        return 2;
    }
    jv_init();
    struct err err = ERR_INIT;
    json_t *doc = load(argv[1]);
    struct jsonschema *schema = doc ? jsonschema_compile(doc, NULL, 0, &err) : NULL;
    json_decref(doc);
    if (!schema) {
        if (err.code)
            fprintf(stderr, "schema-check: %s: %s\n", argv[1], err.msg);
        return 2;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        json_t *v = load(argv[i]);
        struct schema_errors errs = SCHEMA_ERRORS_INIT;
        if (!v)
            rc = 2;
        else if (!jsonschema_validate(schema, v, &errs)) {
            for (size_t k = 0; k < errs.len; k++)
                printf("%s: %s: %s\n", argv[i],
                       *errs.items[k].instance ? errs.items[k].instance : "/",
                       errs.items[k].message);
            if (rc == 0)
                rc = 1;
        }
        schema_errors_release(&errs);
        json_decref(v);
    }
    jsonschema_free(schema);
    return rc;
}
