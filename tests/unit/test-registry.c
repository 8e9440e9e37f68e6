/* registry.c: built-ins load and are sorted; fingerprints follow the documented byte layout;
 * override directories replace and add specs; invalid specs become positioned problems. */
#include "../harness/tap.h"
#include "embedded.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* The fingerprint computed by hand from the embedded bytes, as docs/internals/architecture.md
 * describes it. */
static void expected_fp(const char *const *names, size_t n, char out[FINGERPRINT_HEX_LEN])
{
    struct fingerprint fp;
    fingerprint_init(&fp);
    for (size_t i = 0; i < n; i++) {
        char path[256], len[32];
        snprintf(path, sizeof(path), "components/%s/spec.yaml", names[i]);
        const struct embedded_file *f = embedded_find(path);
        int m = snprintf(len, sizeof(len), "%zu", f->len);
        fingerprint_update(&fp, names[i], strlen(names[i]) + 1);
        fingerprint_update(&fp, len, (size_t)m + 1);
        fingerprint_update(&fp, f->data, f->len);
    }
    fingerprint_hex(&fp, out);
}

int main(void)
{
    struct registry reg;
    struct err err = ERR_INIT;
    ok(registry_load(&reg, NULL, &err) == 0, "built-in registry loads: %s", err.msg);
    is_int(reg.len, 13, "thirteen built-in components");
    is_int(reg.nproblems, 0, "no built-in spec is invalid");
    for (size_t i = 0; i < reg.nproblems; i++)
        diag("%s", reg.problems[i].message);
    bool sorted = true;
    for (size_t i = 1; i < reg.len; i++)
        sorted = sorted && strcmp(reg.items[i - 1].name, reg.items[i].name) < 0;
    ok(sorted, "components sorted by name");
    ok(registry_find(&reg, "mysql.extractor") != NULL, "find a component");
    ok(registry_find(&reg, "mysql.extract") == NULL, "no partial match");
    is_str(registry_suggest(&reg, "mysql.extracter"), "mysql.extractor", "suggestion");

    static const char *const two[] = { "duckdb.processor", "mysql.writer" };
    static const char *const two_rev[] = { "mysql.writer", "duckdb.processor", "mysql.writer" };
    char a[FINGERPRINT_HEX_LEN], b[FINGERPRINT_HEX_LEN], c[FINGERPRINT_HEX_LEN];
    registry_fingerprint(&reg, two, 2, a);
    registry_fingerprint(&reg, two_rev, 3, b);
    expected_fp(two, 2, c);
    is_str(a, c, "fingerprint = sha256 over sorted (name, length, bytes)");
    is_str(a, b, "order and duplicates of the selection do not matter");
    registry_fingerprint(&reg, NULL, 0, b);
    ok(strcmp(a, b) != 0, "all components give another fingerprint");
    registry_release(&reg);

    char dir[] = "/tmp/osiris-test-registry-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[512];
    snprintf(path, sizeof(path), "%s/mysql.writer", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/mysql.writer/spec.yaml", dir);
    write_file(path, "name: mysql.writer\nversion: 3.0.0\nmodes: [write]\ncapabilities: {}\n"
                     "configSchema: {type: object, properties: {table: {type: string}}}\n");
    snprintf(path, sizeof(path), "%s/zz.new", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/zz.new/spec.json", dir);
    write_file(path, "{\"name\": \"zz.new\", \"version\": \"0.0.1\", \"modes\": [\"extract\"],\n"
                     " \"capabilities\": {}, \"configSchema\": {\"type\": \"object\", "
                     "\"properties\": {}}}\n");
    snprintf(path, sizeof(path), "%s/bad", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/bad/spec.yaml", dir);
    write_file(path, "name: bad\nversion: 1.0.0\nmodes: []\ncapabilities: {}\n"
                     "configSchema: {type: object, properties: {}}\n");

    ok(registry_load(&reg, dir, &err) == 0, "registry with an override directory loads");
    is_int(reg.len, 14, "one spec added");
    const struct component *w = registry_find(&reg, "mysql.writer");
    ok(w && !w->builtin, "override replaces the built-in spec");
    is_str(json_string_value(json_object_get(w->doc.root, "version")), "3.0.0", "override content");
    ok(registry_find(&reg, "zz.new") != NULL, "spec.json is read too");
    is_int(reg.nproblems, 1, "the invalid spec is a problem");
    if (reg.nproblems)
        like(reg.problems[0].message, "bad/spec.yaml:3:8: invalid component spec: /modes",
             "problem names file:line:col and the field");
    registry_release(&reg);

    char missing[600];
    snprintf(missing, sizeof(missing), "%s/nope", dir);
    ok(registry_load(&reg, missing, &err) != 0, "a missing override directory is an error");
    like(err.msg, "components directory", "error says what");

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? done_testing() : 1;
}
