/* Component registry: built-in specs from the embedded file table, then an optional override
 * directory. Each spec is parsed with positions so a bad one is reported at its file:line:col. */
#include "registry.h"
#include "embedded.h"
#include "files.h"
#include "suggest.h"
#include "xalloc.h"
#include "yamlload.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SPEC_SCHEMA_PATH "components/spec.schema.json"

static void add_problem(struct registry *reg, const char *file, const char *message)
{
    XGROW(reg->problems, reg->capproblems, reg->nproblems + 1);
    reg->problems[reg->nproblems].file = arena_strdup(&reg->arena, file);
    reg->problems[reg->nproblems].message = arena_strdup(&reg->arena, message);
    reg->nproblems++;
}

static int cmp_component(const void *a, const void *b)
{
    return strcmp(((const struct component *)a)->name, ((const struct component *)b)->name);
}

/* Parses and schema-checks one spec; on success appends it (replacing a built-in of the same
 * name), otherwise records why it was skipped. */
static void add_spec(struct registry *reg, const char *file, const unsigned char *data, size_t len,
                     bool builtin)
{
    struct err err = ERR_INIT;
    struct component c = { .file = file, .builtin = builtin, .data = data, .len = len };
    if (yamlload_mem(&c.doc, file, data, len, &err) != 0) {
        add_problem(reg, file, err.msg);
        return;
    }
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    if (!jsonschema_validate(reg->spec_schema, c.doc.root, &errs)) {
        char where[600];
        const struct schema_error *e = &errs.items[0];
        /* An unknown key is best shown at the key itself; anything else at the value. */
        struct strbuf ptr = STRBUF_INIT;
        strbuf_adds(&ptr, e->instance);
        bool at_key = e->property && strcmp(e->keyword, "additionalProperties") == 0;
        if (at_key)
            jv_pointer_add(&ptr, e->property);
        jdoc_where(&c.doc, strbuf_str(&ptr), at_key, where, sizeof(where));
        strbuf_release(&ptr);
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s: invalid component spec: %s%s%s", where,
                 *e->instance ? e->instance : "", *e->instance ? ": " : "", e->message);
        add_problem(reg, file, msg);
        schema_errors_release(&errs);
        jdoc_release(&c.doc);
        return;
    }
    schema_errors_release(&errs);

    c.name = json_string_value(json_object_get(c.doc.root, "name"));
    c.driver =
        json_string_value(json_object_get(json_object_get(c.doc.root, "x-runtime"), "driver"));
    fingerprint_of(data, len, c.sha256);
    for (size_t i = 0; i < reg->len; i++) {
        if (strcmp(reg->items[i].name, c.name) != 0)
            continue;
        if (!reg->items[i].builtin) {
            char msg[1024];
            snprintf(msg, sizeof(msg), "%s: duplicate component name '%s' (also in %s); skipped",
                     file, c.name, reg->items[i].file);
            add_problem(reg, file, msg);
            jdoc_release(&c.doc);
            return;
        }
        jdoc_release(&reg->items[i].doc);
        reg->items[i] = c;
        return;
    }
    XGROW(reg->items, reg->cap, reg->len + 1);
    reg->items[reg->len++] = c;
}

static int load_builtin(struct registry *reg, struct err *err)
{
    const struct embedded_file *schema = embedded_find(SPEC_SCHEMA_PATH);
    struct jdoc doc = JDOC_INIT;
    if (!schema || yamlload_mem(&doc, SPEC_SCHEMA_PATH, schema->data, schema->len, err) != 0)
        return err_set(err, ERR_INTERNAL, "built-in %s is missing", SPEC_SCHEMA_PATH);
    reg->spec_schema = jsonschema_compile(doc.root, NULL, 0, err);
    jdoc_release(&doc);
    if (!reg->spec_schema) {
        err_prefix(err, "%s: ", SPEC_SCHEMA_PATH);
        return -1;
    }
    for (const struct embedded_file *f = embedded_files; f->path; f++) {
        size_t n = strlen(f->path);
        if (strncmp(f->path, "components/", 11) == 0 && n > 10 &&
            strcmp(f->path + n - 10, "/spec.yaml") == 0)
            add_spec(reg, f->path, f->data, f->len, true);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole file into the registry arena (spec bytes must outlive the parse: they are
 * fingerprinted and shown by `components show`). */
static unsigned char *slurp(struct registry *reg, const char *path, size_t *len, struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    unsigned char *data = NULL;
    if (files_read(path, &sb, err) == 0) {
        data = arena_alloc(&reg->arena, sb.len + 1);
        memcpy(data, strbuf_str(&sb), sb.len + 1);
        *len = sb.len;
    }
    strbuf_release(&sb);
    return data;
}

static int load_dir(struct registry *reg, const char *dir, struct err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return err_errno(err, ERR_INPUT, "components directory '%s'", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        XGROW(names, cap, n + 1);
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        static const char *const candidates[] = { "spec.yaml", "spec.yml", "spec.json" };
        for (size_t k = 0; k < sizeof(candidates) / sizeof(*candidates); k++) {
            char *path = arena_printf(&reg->arena, "%s/%s/%s", dir, names[i], candidates[k]);
            struct stat st;
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            size_t len = 0;
            struct err rerr = ERR_INIT;
            unsigned char *data = slurp(reg, path, &len, &rerr);
            if (!data) {
                add_problem(reg, path, rerr.msg);
            } else {
                add_spec(reg, path, data, len, false);
            }
            break;
        }
        free(names[i]);
    }
    free(names);
    return 0;
}

int registry_load(struct registry *reg, const char *dir, struct err *err)
{
    memset(reg, 0, sizeof(*reg));
    arena_init(&reg->arena);
    if (load_builtin(reg, err) != 0 || (dir && load_dir(reg, dir, err) != 0)) {
        registry_release(reg);
        return -1;
    }
    qsort(reg->items, reg->len, sizeof(*reg->items), cmp_component);
    return 0;
}

void registry_release(struct registry *reg)
{
    for (size_t i = 0; i < reg->len; i++)
        jdoc_release(&reg->items[i].doc);
    free(reg->items);
    free(reg->problems);
    jsonschema_free(reg->spec_schema);
    arena_release(&reg->arena);
    memset(reg, 0, sizeof(*reg));
}

const struct component *registry_find(const struct registry *reg, const char *name)
{
    struct component key = { .name = name };
    return bsearch(&key, reg->items, reg->len, sizeof(*reg->items), cmp_component);
}

const char *registry_suggest(const struct registry *reg, const char *name)
{
    const char **names = xmalloc((reg->len + 1) * sizeof(*names));
    for (size_t i = 0; i < reg->len; i++)
        names[i] = reg->items[i].name;
    int k = suggest_closest(name, names, reg->len);
    free(names);
    return k >= 0 ? reg->items[k].name : NULL;
}

void registry_fingerprint(const struct registry *reg, const char *const *names, size_t n,
                          char out[FINGERPRINT_HEX_LEN])
{
    struct fingerprint fp;
    fingerprint_init(&fp);
    /* reg->items is sorted by name, so walking it in order and picking the wanted ones gives the
     * sorted, de-duplicated selection. */
    for (size_t i = 0; i < reg->len; i++) {
        const struct component *c = &reg->items[i];
        bool wanted = n == 0;
        for (size_t k = 0; k < n && !wanted; k++)
            wanted = strcmp(names[k], c->name) == 0;
        if (!wanted)
            continue;
        char len[32];
        int m = snprintf(len, sizeof(len), "%zu", c->len);
        fingerprint_update(&fp, c->name, strlen(c->name) + 1);
        fingerprint_update(&fp, len, (size_t)m + 1);
        fingerprint_update(&fp, c->data, c->len);
    }
    fingerprint_hex(&fp, out);
}
