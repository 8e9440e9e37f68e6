/* Result and error output: stdout carries results (text or --json), stderr carries messages. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

int cli_exit_code(int err_code)
{
    switch (err_code) {
    case ERR_NONE:
        return EXIT_OK;
    case ERR_USAGE:
    case ERR_INPUT:
    case ERR_NOTFOUND:
        return EXIT_INVALID;
    default:
        return EXIT_FAILED;
    }
}

void cli_print_json(json_t *v)
{
    struct strbuf sb = STRBUF_INIT;
    jv_dump(v, &sb, JV_PRETTY);
    strbuf_addch(&sb, '\n');
    fwrite(sb.buf, 1, sb.len, stdout);
    fflush(stdout);
    strbuf_release(&sb);
    json_decref(v);
}

int cli_fail(struct cli_ctx *ctx, const struct err *err, json_t *extra)
{
    fprintf(stderr, "osiris: %s\n", err->msg);
    if (ctx->json) {
        json_t *o =
            json_pack("{s:o, s:s}", "error", jv_text(err->msg), "code", err_code_name(err->code));
        if (extra)
            json_object_update(o, extra);
        cli_print_json(o);
    }
    json_decref(extra);
    return cli_exit_code(err->code);
}

int cli_failf(struct cli_ctx *ctx, int code, const char *fmt, ...)
{
    struct err err = ERR_INIT;
    va_list ap;
    va_start(ap, fmt);
    err_vset(&err, code, fmt, ap);
    va_end(ap);
    return cli_fail(ctx, &err, NULL);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "osiris: warning: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
