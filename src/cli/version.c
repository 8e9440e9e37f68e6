/* osiris version: the program version, the components compiled into it (with the registry
 * fingerprint a remote worker must match) and the versions of the libraries it runs with.
 * Library versions are asked of the loaded libraries, not taken from build-time headers. */
#include "cli.h"
#include "fingerprint.h"
#include "registry.h"
#include "yamlload.h"

#include <curl/curl.h>
#include <duckdb.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <stdio.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static json_t *libraries(void)
{
    char pq[32], pcre[64] = "";
    int v = PQlibVersion();
    snprintf(pq, sizeof(pq), "%d.%d", v / 10000, v % 10000);
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    json_t *libs = json_object();
    json_object_set_new(libs, "libyaml", json_string(yamlload_library_version()));
    json_object_set_new(libs, "jansson", json_string(jv_library_version()));
    json_object_set_new(libs, "libpq", json_string(pq));
    json_object_set_new(libs, "libmariadb", json_string(mysql_get_client_info()));
    json_object_set_new(libs, "duckdb", json_string(duckdb_library_version()));
    json_object_set_new(libs, "libcurl", json_string(curl_version_info(CURLVERSION_NOW)->version));
    json_object_set_new(libs, "openssl", json_string(fingerprint_library_version()));
    json_object_set_new(libs, "pcre2", json_string(pcre));
    return libs;
}

static int run(struct cli_ctx *ctx, const void *opts, int argc, char **argv)
{
    (void)opts, (void)argc, (void)argv;
    struct registry reg;
    struct err err = ERR_INIT;
    /* Only the compiled-in components: an override directory does not change the binary. */
    if (registry_load(&reg, NULL, &err) != 0)
        return cli_fail(ctx, &err, NULL);
    char fp[FINGERPRINT_HEX_LEN];
    registry_fingerprint(&reg, NULL, 0, fp);
    json_t *names = json_array();
    for (size_t i = 0; i < reg.len; i++)
        json_array_append_new(names, json_string(reg.items[i].name));
    registry_release(&reg);
    json_t *libs = libraries();

    if (ctx->json) {
        cli_print_json(json_pack("{s:s, s:o, s:s, s:o}", "version", OSIRIS_VERSION, "components",
                                 names, "registry_fp", fp, "libraries", libs));
        return EXIT_OK;
    }
    printf("osiris %s\n", OSIRIS_VERSION);
    printf("components (%zu):", json_array_size(names));
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        printf("%s %s", i ? "," : "", json_string_value(n));
    }
    printf("\nregistry fingerprint: %s\nlibraries:\n", fp);
    const char *key;
    json_t *val;
    json_object_foreach(libs, key, val)
    {
        printf("  %-11s %s\n", key, json_string_value(val));
    }
    json_decref(names);
    json_decref(libs);
    return EXIT_OK;
}

static const struct cli_option options[] = { { 0 } };

const struct cli_command cmd_version = {
    .name = "version",
    .summary = "Show the version, the compiled-in components and the library versions",
    .options = options,
    .run = run,
};
