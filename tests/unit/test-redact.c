/* redact.c: which names are secret, env references, and masking of nested JSON. */
#include "../harness/tap.h"
#include "redact.h"

#include <stdlib.h>

static const struct {
    const char *name;
    bool secret;
} NAMES[] = {
    /* the fixed list, in any case and with '-' */
    { "password", true },
    { "PASSWORD", true },
    { "passwd", true },
    { "pwd", true },
    { "pass", true },
    { "secret", true },
    { "token", true },
    { "key", true },
    { "api_key", true },
    { "Api-Key", true },
    { "apikey", true },
    { "apiKey", true },
    { "access_token", true },
    { "accessToken", true },
    { "refresh_token", true },
    { "auth_token", true },
    { "bearer_token", true },
    { "client_secret", true },
    { "clientSecret", true },
    { "client_key", true },
    { "secret_key", true },
    { "service_key", true },
    { "service_role_key", true },
    { "anon_key", true },
    { "private_key", true },
    { "dsn", true },
    { "pg_dsn", true },
    { "sql_dsn", true },
    { "connection_string", true },
    { "authorization", true },
    { "Authorization", true },
    { "cookie", true },
    { "Cookie", true },
    { "credentials", true },
    /* the suffixes */
    { "DB_PASSWORD", true },
    { "mysql_password", true },
    { "dbPassword", true },
    { "passWord", true },
    { "aws_secret", true },
    { "github_token", true },
    { "X-Api-Key", true },
    { "stripe_key", true },
    { "supabase_service_role_key", true },
    /* key columns and other look-alikes */
    { "primary_key", false },
    { "PRIMARY_KEY", false },
    { "primaryKey", false },
    { "Primary-Key", false },
    { "upsert_keys", false },
    { "foreign_key", false },
    { "sort_key", false },
    { "sortKey", false },
    { "partition_key", false },
    { "key_column", false },
    { "key_columns", false },
    { "keys", false },
    { "monkey", false },
    { "keyboard", false },
    { "turnkey", false },
    { "token_url", false }, /* an endpoint, not a secret */
    { "token_type", false },
    { "max_tokens", false },
    { "tokenizer", false },
    { "passphrase_file", false },
    { "password_file", false }, /* a path; the file holds the secret */
    { "secret_name", false },
    { "username", false },
    { "user", false },
    { "auth_username", false }, /* secret only when a spec says so (extra_names) */
    { "headers", false },
    { "host", false },
    { "url", false },
    { "", false },
};

static void test_names(void)
{
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
        ok(redact_is_secret_name(NAMES[i].name) == NAMES[i].secret, "'%s' is %s", NAMES[i].name,
           NAMES[i].secret ? "secret" : "not secret");
    ok(!redact_is_secret_name(NULL), "NULL is not secret");
}

static void test_env_refs(void)
{
    const char *yes[] = { "${VAR}",       "${_V}",  "${DB_PASSWORD}", "${a1}",
                          "${VAR:-dflt}", "${V:-}", "${V:-a b:c$-{}" };
    const char *no[] = { "",        "$VAR",    "${}",       "${1VAR}",   "${VAR",
                         "${VAR}x", "x${VAR}", " ${VAR}",   "${VAR} ",   "${A}${B}",
                         "${A-B}",  "${A:B}",  "${A:-x}y}", "${A:-x",    "${params.pw}",
                         "${A B}",  "{VAR}",   "$${VAR}",   "${VAR:=x}", "hunter2" };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ok(redact_is_env_ref(yes[i]), "'%s' is an env reference", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ok(!redact_is_env_ref(no[i]), "'%s' is not an env reference", no[i]);
    ok(!redact_is_env_ref(NULL), "NULL is not an env reference");
}

static char *masked(const char *text, const char *const *extra)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v) {
        diag("bad test JSON: %s", jerr.text);
        return strdup("");
    }
    json_t *m = redact_mask_secrets(v, extra);
    char *in_before = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *s = json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY);
    char *in_after = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    ok(strcmp(in_before, in_after) == 0 && m != v, "input left unchanged");
    free(in_before);
    free(in_after);
    json_decref(v);
    json_decref(m);
    return s;
}

static void check_mask(const char *name, const char *in, const char *const *extra, const char *want)
{
    char *got = masked(in, extra);
    is_str(got, want, "%s", name);
    free(got);
}

static void test_mask(void)
{
    check_mask("flat connection",
               "{\"host\":\"db\",\"port\":5432,\"user\":\"etl\",\"password\":\"hunter2\"}", NULL,
               "{\"host\":\"db\",\"port\":5432,\"user\":\"etl\",\"password\":\"***\"}");
    check_mask("env references stay",
               "{\"password\":\"${PG_PASSWORD}\",\"key\":\"${K:-}\",\"token\":\"x${T}\"}", NULL,
               "{\"password\":\"${PG_PASSWORD}\",\"key\":\"${K:-}\",\"token\":\"***\"}");
    check_mask("an env reference's default is masked",
               "{\"password\":\"${PG_PASSWORD:-hunter2}\",\"host\":\"${H:-localhost}\"}", NULL,
               "{\"password\":\"${PG_PASSWORD:-***}\",\"host\":\"${H:-localhost}\"}");
    check_mask("any type under a secret name is masked, null stays",
               "{\"key\":12345,\"token\":true,\"secret\":1.5,\"pwd\":null,\"pass\":\"\"}", NULL,
               "{\"key\":\"***\",\"token\":\"***\",\"secret\":\"***\",\"pwd\":null,"
               "\"pass\":\"***\"}");
    check_mask("objects and arrays under a secret name are masked whole",
               "{\"credentials\":{\"user\":\"u\",\"pw\":\"p\"},\"api_key\":[\"a\",\"b\"]}", NULL,
               "{\"credentials\":\"***\",\"api_key\":\"***\"}");
    check_mask("nested objects and arrays",
               "{\"steps\":[{\"id\":\"a\",\"config\":{\"query\":\"select 1\",\"DB_PASSWORD\":"
               "\"pw\",\"headers\":{\"Authorization\":\"Bearer x\",\"Accept\":\"json\"}}},"
               "[{\"token\":\"t\"}],\"token\"]}",
               NULL,
               "{\"steps\":[{\"id\":\"a\",\"config\":{\"query\":\"select 1\",\"DB_PASSWORD\":"
               "\"***\",\"headers\":{\"Authorization\":\"***\",\"Accept\":\"json\"}}},"
               "[{\"token\":\"***\"}],\"token\"]}");
    check_mask("key columns are not masked",
               "{\"primary_key\":[\"id\"],\"upsert_keys\":[\"id\",\"day\"],\"key_column\":\"k\"}",
               NULL,
               "{\"primary_key\":[\"id\"],\"upsert_keys\":[\"id\",\"day\"],\"key_column\":\"k\"}");
    check_mask("a secret-looking value under a plain name is kept (names decide)",
               "{\"note\":\"hunter2\",\"url\":\"postgres://u:p@h/db\"}", NULL,
               "{\"note\":\"hunter2\",\"url\":\"postgres://u:p@h/db\"}");
    check_mask("scalars and arrays at the root", "[\"password\",1,null]", NULL,
               "[\"password\",1,null]");
    check_mask("empty object", "{}", NULL, "{}");

    const char *const extra[] = { "auth_username", "Resolved-Connection", NULL };
    check_mask("extra names, normalised the same way",
               "{\"AUTH-USERNAME\":\"alice\",\"authUsername\":\"bob\",\"resolved_connection\":"
               "{\"host\":\"h\"},\"username\":\"carol\",\"nested\":{\"auth_username\":\"d\"}}",
               extra,
               "{\"AUTH-USERNAME\":\"***\",\"authUsername\":\"***\",\"resolved_connection\":"
               "\"***\",\"username\":\"carol\",\"nested\":{\"auth_username\":\"***\"}}");
    const char *const none[] = { NULL };
    check_mask("empty extra list", "{\"auth_username\":\"alice\"}", none,
               "{\"auth_username\":\"alice\"}");
    is_str(REDACT_MASK, "***", "the mask");
}

/* The run redactor over text: exact values, URL passwords, Bearer tokens, name=value pairs and
 * key-like strings. */
static const struct {
    const char *in, *out;
} TEXTS[] = {
    { "connect as etl with s3cretvalue now", "connect as etl with *** now" },
    { "abc", "abc" }, /* values under 4 bytes are not scrubbed (see redactor_add_value) */
    { "postgresql://etl:pw@db/shop", "postgresql://etl:***@db/shop" },
    { "Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***" },
    { "password=$ecret99 host=db", "password=*** host=db" },
    { "password=${PG_PASSWORD} host=db", "password=${PG_PASSWORD} host=db" },
    { "token: \"tk-1\"", "token: \"***\"" },
    /* random base62 of 24+ characters: masked */
    { "use 4eC39HqLyjWDarjtT1zdp7dc please", "use *** please" },
    { "ghp_1A2b3C4d5E6f7G8h9I0jKlMnOpQrStUvWx", "***" },
    { "Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***" },
    /* names with long words, hashes, ULIDs and run ids: kept */
    { "/data/CustomerOrdersExport2024Q1.csv", "/data/CustomerOrdersExport2024Q1.csv" },
    { "step LoadDailyRevenueSnapshots2026 done", "step LoadDailyRevenueSnapshots2026 done" },
    { "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" },
    { "run-000001_01M8BSMS4BMDCF3215EDEX24EY", "run-000001_01M8BSMS4BMDCF3215EDEX24EY" },
};

static void test_run_redactor(void)
{
    struct redactor r = REDACTOR_INIT;
    redactor_add_value(&r, "s3cretvalue");
    redactor_add_value(&r, "abc");
    for (size_t i = 0; i < sizeof(TEXTS) / sizeof(*TEXTS); i++) {
        char *got = redactor_text(&r, TEXTS[i].in);
        is_str(got, TEXTS[i].out, "text: %s", TEXTS[i].in);
        free(got);
    }
    /* A field named "key" is a secret name like any other (supabase's connection field). */
    json_t *in = json_pack("{s:s, s:s}", "key", "sb-anon-1", "table", "df_x");
    json_t *out = redactor_json(&r, in);
    is_str(json_string_value(json_object_get(out, "key")), "***", "json: key is masked");
    is_str(json_string_value(json_object_get(out, "table")), "df_x", "json: table is kept");
    json_decref(in);
    json_decref(out);
    redactor_release(&r);
}

/* redact_scrub: every occurrence of each value, however short, in order; NULL and "" skipped. */
static void check_scrub(const char *in, const char *const *values, size_t n, const char *want)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, in);
    redact_scrub(&sb, values, n);
    is_str(strbuf_str(&sb), want, "scrub: %s", in);
    strbuf_release(&sb);
}

static void test_scrub(void)
{
    const char *const pw[] = { "pw" };
    check_scrub("user \"pw_role\" (pw)", pw, 1, "user \"***_role\" (***)");
    const char *const one[] = { "x" };
    check_scrub("x-x", one, 1, "***-***");
    /* the longer value first masks it whole; the other order would leave its rest */
    const char *const nested[] = { "host=db password=s3 x", "s3 x", NULL, "" };
    check_scrub("bad dsn 'host=db password=s3 x' (s3 x)", nested, 4, "bad dsn '***' (***)");
    const char *const star[] = { "*" };
    check_scrub("a*b", star, 1, "a***b");
    check_scrub("", pw, 1, "");
    check_scrub("nothing", pw, 0, "nothing");
}

int main(void)
{
    test_names();
    test_env_refs();
    test_mask();
    test_run_redactor();
    test_scrub();
    return done_testing();
}
