/* strbuf.c and err.c: growth, formatting, the size bound, first-error-wins and prefixes. */
#include "../harness/tap.h"
#include "err.h"
#include "strbuf.h"

#include <errno.h>

int main(void)
{
    struct strbuf sb = STRBUF_INIT;
    is_str(strbuf_str(&sb), "", "empty strbuf reads as \"\"");
    for (int i = 0; i < 1000; i++)
        strbuf_addf(&sb, "%d,", i % 10);
    is_int(sb.len, 2000, "grows across many appends");
    strbuf_truncate(&sb, 4);
    is_str(strbuf_str(&sb), "0,1,", "truncate");
    strbuf_addch(&sb, 'x');
    strbuf_add(&sb, "yz", 2);
    is_str(strbuf_str(&sb), "0,1,xyz", "addch and add");
    size_t len;
    char *s = strbuf_detach(&sb, &len);
    is_str(s, "0,1,xyz", "detach hands over the buffer");
    is_int(len, 7, "detach length");
    ok(sb.buf == NULL && sb.len == 0, "detach leaves the strbuf empty");
    free(s);

    ok(strbuf_grow(&sb, 100) && sb.cap >= 101 && sb.len == 0, "grow makes room without adding");
    char *room = sb.buf;
    for (int i = 0; i < 100; i++)
        strbuf_addch(&sb, 'a');
    ok(sb.buf == room && sb.len == 100, "appends within the grown room do not reallocate");
    strbuf_release(&sb);

    strbuf_init(&sb, 5);
    ok(strbuf_grow(&sb, 5), "grow up to max");
    ok(!strbuf_grow(&sb, 6) && sb.toobig, "grow past max fails and sets toobig");
    strbuf_reset(&sb);
    strbuf_adds(&sb, "abc");
    strbuf_adds(&sb, "def");
    ok(sb.toobig, "append past max sets toobig");
    is_str(strbuf_str(&sb), "abc", "append past max is dropped whole");
    strbuf_reset(&sb);
    ok(!sb.toobig && sb.len == 0, "reset clears toobig");
    strbuf_release(&sb);

    struct err err = ERR_INIT;
    is_int(err_set(&err, ERR_INPUT, "first %d", 1), -1, "err_set returns -1");
    err_set(&err, ERR_IO, "second");
    is_str(err.msg, "first 1", "first error wins");
    is_int(err.code, ERR_INPUT, "first code kept");
    err_prefix(&err, "step '%s': ", "load");
    is_str(err.msg, "step 'load': first 1", "prefix adds context");
    is_str(err_code_name(err.code), "invalid_input", "code name");
    err_clear(&err);
    errno = ENOENT;
    err_errno(&err, ERR_IO, "cannot open '%s'", "x.yaml");
    is_str(err.msg, "cannot open 'x.yaml': No such file or directory",
           "err_errno appends strerror");
    is_int(err.sys, ENOENT, "err_errno records errno");
    err_clear(&err);
    err_at(&err, ERR_INPUT, "p.yaml", 3, 7, "bad %s", "value");
    is_str(err.msg, "p.yaml:3:7: bad value", "err_at positions");
    err_clear(&err);
    err_prefix(&err, "ignored: ");
    is_str(err.msg, "", "prefix without an error does nothing");
    return done_testing();
}
