/* mysqlconn.c: error categories, messages without credentials, connection settings, identifier
 * quoting, and the doctor (against the test server when tests/servers.sh runs one). */
#include "../harness/tap.h"
#include "drivers/mysqlconn.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    unsigned code;
    const char *msg;
    bool timed_out;
    const char *category;
} CATEGORIES[] = {
    { 1045, "Access denied for user 'u'@'h' (using password: YES)", false, "auth" },
    { 1698, "Access denied for user 'root'@'localhost'", false, "auth" },
    { 1044, "Access denied for user 'u'@'%' to database 'x'", false, "permission" },
    { 1142, "SELECT command denied to user 'u'@'h' for table `d`.`t`", false, "permission" },
    { 1143, "SELECT command denied to user 'u'@'h' for column 'c'", false, "permission" },
    { 2002, "Can't connect to server on 'h' (115)", false, "network" },
    { 2003, "Can't connect to server on 'h' (111)", false, "network" },
    { 2005, "Unknown server host 'nowhere' (-2)", false, "network" },
    { 2006, "Server has gone away", false, "network" },
    { 2013, "Lost connection to server during query", false, "network" },
    { 2013, "Lost connection to server during query", true, "timeout" },
    { 2002, "Can't connect to server on 'h' (115)", true, "timeout" },
    { 2013, "Lost connection to server at 'handshake', system error: 110 Connection timed out",
      false, "timeout" },
    { 1205, "Lock wait timeout exceeded; try restarting transaction", false, "timeout" },
    { 1146, "Table 'd.t' doesn't exist", false, "query" },
    { 1049, "Unknown database 'd'", false, "config" },
    { 1064, "You have an error in your SQL syntax", false, "query" },
    { 1062, "Duplicate entry '1' for key 'PRIMARY'", false, "data" },
    { 1406, "Data too long for column 'c' at row 1", false, "data" },
    { 1045, "Access denied", true, "auth" }, /* slow, but not a timeout */
    { 9999, "something else", false, "unknown" },
};

static void test_categories(void)
{
    for (size_t i = 0; i < sizeof(CATEGORIES) / sizeof(*CATEGORIES); i++)
        is_str(mysqlconn_category(CATEGORIES[i].code, CATEGORIES[i].msg, CATEGORIES[i].timed_out),
               CATEGORIES[i].category, "category of %u '%s'%s", CATEGORIES[i].code,
               CATEGORIES[i].msg, CATEGORIES[i].timed_out ? " (timed out)" : "");
}

static void test_safe_message(void)
{
    struct mysqlconn_params p = { .host = "db.example", .user = "etl", .password = "S3cr3t!" };
    char out[256];
    mysqlconn_safe_message(out, sizeof(out),
                           "Access denied for user 'etl'@'10.0.0.7' (using password: YES)", &p);
    is_str(out, "Access denied for user 'etl' (with a password)", "'user'@'host' is cut to 'user'");
    mysqlconn_safe_message(out, sizeof(out), "cannot log in as etl@db.example with S3cr3t!", &p);
    is_str(out, "cannot log in as 'etl' with ***", "user@host and the password are masked");
    mysqlconn_safe_message(out, sizeof(out), "near 'SELEC\n  1' at line 1", &p);
    is_str(out, "near 'SELEC   1' at line 1", "one line");
    mysqlconn_safe_message(out, sizeof(out), "Access denied for user 'x'@'%' (using password: NO)",
                           &p);
    is_str(out, "Access denied for user 'x' (without a password)", "another user's host too");
    mysqlconn_safe_message(out, 12, "Access denied for user", &p);
    is_str(out, "Access deni", "truncated to the buffer");
}

static void test_params(void)
{
    struct err err = ERR_INIT;
    struct mysqlconn_params p;
    json_t *conn = json_pack("{s:s, s:s, s:s, s:s, s:s}", "host", "db1", "port", "3307", "database",
                             "shop", "user", "etl", "password", "pw");
    json_t *cfg = json_pack("{s:s, s:i, s:s}", "host", "replica", "port", 3308, "user", "other");
    ok(mysqlconn_params_read(cfg, conn, &p, &err) == 0, "params from config and connection");
    is_str(p.host, "replica", "the step's host wins (override allowed)");
    is_int(p.port, 3308, "the step's port wins");
    is_str(p.user, "etl", "the connection's user wins (override forbidden)");
    is_str(p.database, "shop", "database from the connection");
    is_str(p.password, "pw", "password from the connection");
    ok(mysqlconn_params_read(NULL, conn, &p, &err) == 0, "connection only");
    is_int(p.port, 3307, "a port given as a string (${VAR} substitution)");
    json_object_del(conn, "port");
    json_object_del(conn, "host");
    json_object_del(conn, "password");
    ok(mysqlconn_params_read(NULL, conn, &p, &err) == 0, "defaults");
    is_str(p.host, "localhost", "default host");
    is_int(p.port, 3306, "default port");
    is_str(p.password, "", "no password");
    json_object_set_new(conn, "port", json_string("http"));
    ok(mysqlconn_params_read(NULL, conn, &p, &err) == -1, "a bad port fails");
    like(err.msg, "'port' must be a number", "and says so");
    err_clear(&err);
    json_object_del(conn, "port");
    json_object_del(conn, "database");
    ok(mysqlconn_params_read(NULL, conn, &p, &err) == -1, "no database fails");
    like(err.msg, "no 'database'", "and says so");
    json_decref(conn);
    json_decref(cfg);
}

static void test_ident(void)
{
    struct arena a = ARENA_INIT;
    is_str(mysqlconn_ident(&a, "plain"), "`plain`", "quoted");
    is_str(mysqlconn_ident(&a, "we`ird"), "`we``ird`", "backticks doubled");
    arena_release(&a);
}

static void test_doctor(void)
{
    struct mysqlconn_check ck;
    json_t *conn = json_pack("{s:s, s:i, s:s, s:s}", "host", "127.0.0.1", "port", 1, "database",
                             "d", "user", "u");
    mysqlconn_doctor(conn, 2, &ck);
    ok(!ck.ok, "doctor: nothing listens on port 1");
    is_str(ck.category, "network", "doctor: network");
    like(ck.message, "Can't connect to server on '127.0.0.1'", "doctor: the library's message");
    json_decref(conn);
    conn = json_pack("{s:s}", "host", "127.0.0.1");
    mysqlconn_doctor(conn, 2, &ck);
    is_str(ck.category, "config", "doctor: a connection without database");
    json_decref(conn);

    const char *have = getenv("OSIRIS_TEST_HAVE_MYSQL");
    if (!have || !*have) {
        diag("no test server: doctor against MySQL not run (tests/servers.sh run ...)");
        return;
    }
    conn = json_pack("{s:s, s:s, s:s, s:s, s:s}", "host", getenv("OSIRIS_TEST_MYSQL_HOST"), "port",
                     getenv("OSIRIS_TEST_MYSQL_PORT"), "database",
                     getenv("OSIRIS_TEST_MYSQL_DATABASE"), "user", getenv("OSIRIS_TEST_MYSQL_USER"),
                     "password", getenv("OSIRIS_TEST_MYSQL_PASSWORD"));
    mysqlconn_doctor(conn, 5, &ck);
    ok(ck.ok, "doctor: the test server answers (%s)", ck.message);
    ok(ck.category == NULL, "doctor: no category when ok");
    ok(ck.latency_ms >= 0 && ck.latency_ms < 5000, "doctor: latency %.0f ms", ck.latency_ms);
    like(ck.message, "connected to ", "doctor: says what it reached");
    json_object_set_new(conn, "password", json_string("wrong-password"));
    mysqlconn_doctor(conn, 5, &ck);
    ok(!ck.ok, "doctor: a wrong password fails");
    is_str(ck.category, "auth", "doctor: auth");
    ok(strstr(ck.message, "'@'") == NULL && strstr(ck.message, "wrong-password") == NULL,
       "doctor: neither user@host nor the password in '%s'", ck.message);
    json_decref(conn);
}

/* mysqlconn_open() keeps its own copy of the params, fails without touching an error that is
 * already set (first error wins), and accepts err == NULL. */
static void test_open(void)
{
    struct arena a = ARENA_INIT;
    struct mysqlconn_params p = { .host = "127.0.0.1",
                                  .port = 1,
                                  .database = "d",
                                  .user = "u",
                                  .password = "",
                                  .connect_timeout = 2 };
    struct err err = ERR_INIT;
    err_set(&err, ERR_INPUT, "an earlier failure");
    ok(mysqlconn_open(&a, &p, &err) == NULL, "open: nothing listens on port 1");
    is_int(err.code, ERR_INPUT, "open: an error already set keeps its code");
    is_str(err.msg, "an earlier failure", "open: and its message");
    ok(mysqlconn_open(&a, &p, NULL) == NULL, "open: a failure with err NULL");
    err_clear(&err);
    ok(mysqlconn_open(&a, &p, &err) == NULL && err.code == ERR_DRIVER,
       "open: a failed connect is ERR_DRIVER whatever its category");

    const char *have = getenv("OSIRIS_TEST_HAVE_MYSQL");
    if (!have || !*have) {
        diag("no test server: mysqlconn_open's params copy not checked");
        arena_release(&a);
        return;
    }
    /* The params and their strings may go away once the connection is open. */
    struct mysqlconn_params *q = calloc(1, sizeof(*q));
    char *user = strdup(getenv("OSIRIS_TEST_MYSQL_USER"));
    q->host = getenv("OSIRIS_TEST_MYSQL_HOST");
    q->port = (unsigned)atoi(getenv("OSIRIS_TEST_MYSQL_PORT"));
    q->database = getenv("OSIRIS_TEST_MYSQL_DATABASE");
    q->user = user;
    q->password = getenv("OSIRIS_TEST_MYSQL_PASSWORD");
    q->connect_timeout = q->read_timeout = q->write_timeout = 5;
    err_clear(&err);
    struct mysqlconn *c = mysqlconn_open(&a, q, &err);
    ok(c != NULL, "open: the test server (%s)", err.msg);
    memset(user, 'x', strlen(user));
    free(user);
    memset(q, 0, sizeof(*q));
    free(q);
    if (c) {
        is_str(c->params->user, getenv("OSIRIS_TEST_MYSQL_USER"), "open: params are the arena's");
        is_int(c->params->read_timeout, 5, "open: with their timeouts");
        ok(mysqlconn_exec(c, "SELECT 1", &err) == 0, "open: the connection works (%s)", err.msg);
    }
    arena_release(&a);
}

int main(void)
{
    test_categories();
    test_safe_message();
    test_params();
    test_ident();
    test_doctor();
    test_open();
    return done_testing();
}
