/* pgconn.c through pgconn_doctor (what `osiris connections doctor` calls): the supabase rules,
 * incomplete connections and a DSN libpq cannot parse without a server, and, with the test server
 * of tests/servers.sh, a good connection and each failure category, none of whose messages holds
 * the password. */
#include "../harness/tap.h"
#include "drivers/pgconn.h"

#include <stdlib.h>

static void check(const char *name, json_t *conn, const char *family, bool ok_want,
                  enum pgconn_category cat, const char *text)
{
    struct pgconn_doctor_result r;
    pgconn_doctor(conn, family, 3, &r);
    ok(r.ok == ok_want, "%s: %s", name, ok_want ? "succeeds" : "fails");
    is_str(pgconn_category_name(r.category), pgconn_category_name(cat), "%s: category", name);
    like(r.message, text, "%s: message", name);
    const char *pw = json_string_value(json_object_get(conn, "password"));
    ok(!pw || !strstr(r.message, pw), "%s: the password is not in the message", name);
    ok(r.latency_ms >= 0 && r.latency_ms < 10000, "%s: latency %lld ms", name,
       (long long)r.latency_ms);
    json_decref(conn);
}

int main(void)
{
    check("rest-only supabase",
          json_pack("{s:s, s:s}", "url", "https://abcdefghij.supabase.co", "key", "k-123456"),
          "supabase", false, PGCAT_CONFIG, "url and key reach only the REST API");
    check("supabase custom domain",
          json_pack("{s:s, s:s}", "url", "https://db.example.com", "password", "pw-123456"),
          "supabase", false, PGCAT_CONFIG, "cannot be derived");
    check("no database", json_pack("{s:s, s:s}", "host", "127.0.0.1", "user", "u"), "postgres",
          false, PGCAT_CONFIG, "has no 'database'");
    check("bad port",
          json_pack("{s:s, s:s, s:s, s:s}", "host", "h", "port", "x", "database", "d", "user", "u"),
          "postgres", false, PGCAT_CONFIG, "port 'x' is not a number");
    /* libpq's message for a DSN it cannot parse quotes the DSN around the fault: not echoed. */
    struct pgconn_doctor_result r;
    json_t *bad = json_pack("{s:s}", "pg_dsn", "host=h password=pw-head pw-tail-4711");
    pgconn_doctor(bad, "postgres", 3, &r);
    like(r.message, "its dsn could not be parsed", "unparsable dsn: message");
    ok(!strstr(r.message, "4711") && !strstr(r.message, "pw-head"),
       "unparsable dsn: no part of it in the message");
    is_str(pgconn_category_name(r.category), "config", "unparsable dsn: category");
    json_decref(bad);

    const char *host = getenv("OSIRIS_TEST_PG_HOST"), *port = getenv("OSIRIS_TEST_PG_PORT");
    const char *user = getenv("OSIRIS_TEST_PG_USER"), *pw = getenv("OSIRIS_TEST_PG_PASSWORD");
    const char *db = getenv("OSIRIS_TEST_PG_DATABASE");
    if (!getenv("OSIRIS_TEST_HAVE_PG") || !host || !port || !user || !pw || !db) {
        diag("no PostgreSQL test server (run under tests/servers.sh): server checks skipped");
        return done_testing();
    }
#define CONN(h, p, d, u, w)                                                                        \
    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "host", h, "port", p, "database", d, "user", u,    \
              "password", w, "sslmode", "disable")
    check("good", CONN(host, port, db, user, pw), "postgres", true, PGCAT_NONE, "connected to ");
    check("good supabase", CONN(host, port, db, user, pw), "supabase", true, PGCAT_NONE,
          "(PostgreSQL ");
    check("wrong password", CONN(host, port, db, user, "wrong-pw-123"), "postgres", false,
          PGCAT_AUTH, "failed (auth): password authentication failed");
    check("unknown role", CONN(host, port, db, "no_such_role_x", pw), "postgres", false, PGCAT_AUTH,
          "failed (auth)");
    /* A password of any length is scrubbed, here from the role name the server quotes back. */
    check("short password", CONN(host, port, db, "osiris_zq_role", "zq"), "postgres", false,
          PGCAT_AUTH, "for user \"osiris_***_role\"");
    check("unknown database", CONN(host, port, "no_such_db_x", user, pw), "postgres", false,
          PGCAT_CONFIG, "database \"no_such_db_x\" does not exist");
    /* A database field is a name: libpq does not expand it as a connection string. */
    check("database with '='", CONN(host, port, "dbname=x port=1", user, pw), "postgres", false,
          PGCAT_CONFIG, "database \"dbname=x port=1\" does not exist");
    check("closed port", CONN(host, "1", db, user, pw), "postgres", false, PGCAT_NETWORK,
          "Connection refused");
    char *dsn = NULL;
    if (asprintf(&dsn, "postgresql://%s:%s@%s:%s/%s?sslmode=disable", user, pw, host, port, db) < 0)
        return 1;
    check("dsn", json_pack("{s:s}", "pg_dsn", dsn), "postgres", true, PGCAT_NONE, "as ");
    free(dsn);
    return done_testing();
}
