/* postgres_extractor.c against a fake server: a forked child speaks just enough of the
 * PostgreSQL protocol (startup, BEGIN, prepare and describe, COPY TO STDOUT) to send rows no real
 * server sends, such as a row with fewer fields than the statement was described with. */
#include "../harness/tap.h"
#include "drivers/driver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==== The fake server ==== */

struct msg {
    char buf[512];
    size_t len;
};

static void add(struct msg *m, const void *p, size_t n)
{
    memcpy(m->buf + m->len, p, n);
    m->len += n;
}

static void add16(struct msg *m, uint16_t v)
{
    v = htons(v);
    add(m, &v, 2);
}

static void add32(struct msg *m, uint32_t v)
{
    v = htonl(v);
    add(m, &v, 4);
}

static void adds(struct msg *m, const char *s)
{
    add(m, s, strlen(s) + 1);
}

/* Sends message type with body m. */
static void send_msg(int fd, char type, const struct msg *m)
{
    struct msg out = { .len = 0 };
    add(&out, &type, 1);
    add32(&out, (uint32_t)(m->len + 4));
    add(&out, m->buf, m->len);
    if (write(fd, out.buf, out.len) != (ssize_t)out.len)
        _exit(2);
}

static void send_empty(int fd, char type)
{
    struct msg m = { .len = 0 };
    send_msg(fd, type, &m);
}

static void send_str(int fd, char type, const char *s)
{
    struct msg m = { .len = 0 };
    adds(&m, s);
    send_msg(fd, type, &m);
}

static void ready(int fd, char state)
{
    struct msg m = { .len = 0 };
    add(&m, &state, 1);
    send_msg(fd, 'Z', &m);
}

static bool read_full(int fd, void *p, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* Reads one length-prefixed body (the length counts itself) into buf. */
static bool read_body(int fd, char *buf, size_t cap, uint32_t *len)
{
    if (!read_full(fd, len, 4))
        return false;
    *len = ntohl(*len) - 4;
    return *len < cap && read_full(fd, buf, *len);
}

/* Serves one connection: a statement of two text columns a and b, whose COPY sends row. */
static void serve(int fd, const char *row)
{
    char buf[4096];
    uint32_t len;
    /* Startup, after declining SSL and GSS encryption requests (codes 80877103, 80877104). */
    for (;;) {
        if (!read_body(fd, buf, sizeof(buf), &len) || len < 4)
            _exit(3);
        uint32_t code;
        memcpy(&code, buf, 4);
        code = ntohl(code);
        if (code != 80877103 && code != 80877104)
            break;
        if (write(fd, "N", 1) != 1)
            _exit(2);
    }
    struct msg m = { .len = 0 };
    add32(&m, 0);
    send_msg(fd, 'R', &m); /* AuthenticationOk */
    static const char *const params[][2] = {
        { "server_version", "15.0" },  { "server_encoding", "UTF8" },
        { "client_encoding", "UTF8" }, { "DateStyle", "ISO, YMD" },
        { "integer_datetimes", "on" }, { "standard_conforming_strings", "on" },
    };
    for (size_t i = 0; i < NELEM(params); i++) {
        m.len = 0;
        adds(&m, params[i][0]);
        adds(&m, params[i][1]);
        send_msg(fd, 'S', &m);
    }
    m.len = 0;
    add32(&m, 4242);
    add32(&m, 1);
    send_msg(fd, 'K', &m);
    ready(fd, 'I');
    for (;;) {
        char type;
        if (!read_full(fd, &type, 1) || !read_body(fd, buf, sizeof(buf) - 1, &len))
            _exit(0);
        buf[len] = '\0';
        switch (type) {
        case 'Q': /* simple query: BEGIN and the session settings, or the COPY */
            if (strncmp(buf, "COPY", 4) == 0) {
                m.len = 0;
                add(&m, "", 1); /* text format */
                add16(&m, 2);
                add16(&m, 0);
                add16(&m, 0);
                send_msg(fd, 'H', &m);
                m.len = 0;
                add(&m, row, strlen(row));
                send_msg(fd, 'd', &m);
                send_empty(fd, 'c');
                send_str(fd, 'C', "COPY 1");
            } else {
                send_str(fd, 'C', "SET");
            }
            ready(fd, 'T');
            break;
        case 'P':
            send_empty(fd, '1'); /* ParseComplete */
            break;
        case 'B':
            send_empty(fd, '2'); /* BindComplete */
            break;
        case 'D':
            if (buf[0] == 'S') {
                m.len = 0;
                add16(&m, 0);
                send_msg(fd, 't', &m); /* no parameters */
                m.len = 0;
                add16(&m, 2);
                for (const char *col = "a"; col; col = *col == 'a' ? "b" : NULL) {
                    adds(&m, col);
                    add32(&m, 0);          /* table */
                    add16(&m, 0);          /* column */
                    add32(&m, 25);         /* text */
                    add16(&m, 0xffff);     /* varlena */
                    add32(&m, 0xffffffff); /* no typmod */
                    add16(&m, 0);          /* text format */
                }
                send_msg(fd, 'T', &m);
            } else {
                send_empty(fd, 'n'); /* NoData */
            }
            break;
        case 'E':
            send_str(fd, 'C', "SELECT 0");
            break;
        case 'S':
            ready(fd, 'T');
            break;
        case 'X':
            _exit(0);
        default:
            break;
        }
    }
}

/* ==== The extractor against it ==== */

/* Runs the extractor on a fresh fake server that answers the COPY with row; 0 or -1 with err. */
static int extract(struct dataplane *dp, const char *table, const char *row, int64_t *rows,
                   struct err *err)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
        return err_set(err, ERR_INTERNAL, "cannot listen on the loopback interface");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            _exit(4);
        serve(fd, row);
        _exit(0);
    }
    close(lfd);
    struct arena a = ARENA_INIT;
    json_t *config = json_pack("{s:s}", "query", "SELECT a, b FROM t");
    json_t *conn = json_pack("{s:s}", "dsn",
                             arena_printf(&a,
                                          "host=127.0.0.1 port=%d dbname=d user=u "
                                          "sslmode=disable gssencmode=disable",
                                          ntohs(sa.sin_port)));
    struct driver_ctx ctx = {
        .step_id = "ext",
        .component = "postgres.extractor",
        .mode = "extract",
        .config = config,
        .connection = conn,
        .dp = dp,
        .output = table,
        .arena = &a,
    };
    int rc = driver_postgres_extractor.run(&ctx, err);
    *rows = ctx.rows_out;
    arena_release(&a); /* closes the connection: the server exits */
    json_decref(config);
    json_decref(conn);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        diag("fake server: exit status %d", status);
    return rc;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/osiris-test-pgextract-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    struct err err = ERR_INIT;
    struct dataplane *dp = dataplane_open(dir, NULL, 1, &err);
    ok(dp != NULL, "data plane opens");
    if (!dp)
        return done_testing();

    int64_t rows = 0;
    int rc = extract(dp, "\"good\"", "x\ty\n", &rows, &err);
    ok(rc == 0, "a row of the described fields extracts (%s)", err.msg);
    is_int(rows, 1, "one row");

    /* A row the statement was not described with: the server's fault, not a value's. */
    err = (struct err)ERR_INIT;
    rc = extract(dp, "\"short\"", "x\n", &rows, &err);
    ok(rc == -1, "a row with one field of two fails");
    is_str(err.msg,
           "postgres COPY failed: row 1 does not have the 2 fields the statement was described "
           "with",
           "the message names the row and the fields, without \"value does not fit\"");

    dataplane_close(dp);
    rmdir(dir);
    return done_testing();
}
