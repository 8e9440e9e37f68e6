/* Tables and display formats shared by the commands that print runs (logs, runs). */
#include "cli.h"
#include "runindex.h"
#include "xalloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_table_row(struct cli_table *t, ...)
{
    va_list ap;
    XGROW(t->cells, t->cap, (t->nrows + 1) * t->ncols);
    va_start(ap, t);
    for (size_t c = 0; c < t->ncols; c++) {
        const char *s = va_arg(ap, const char *);
        t->cells[t->nrows * t->ncols + c] = s ? s : "-";
    }
    va_end(ap);
    t->nrows++;
}

void cli_table_row_v(struct cli_table *t, const char *const *cells)
{
    XGROW(t->cells, t->cap, (t->nrows + 1) * t->ncols);
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = cells[c] ? cells[c] : "-";
    t->nrows++;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

void cli_table_print(struct cli_table *t)
{
    size_t *width = xcalloc(t->ncols, sizeof(*width));
    struct strbuf line = STRBUF_INIT;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        strbuf_reset(&line);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            strbuf_adds(&line, s);
            if (c + 1 < t->ncols)
                strbuf_addf(&line, "%*s", (int)(width[c] - text_width(s) + 2), "");
        }
        /* Empty trailing cells leave no trailing blanks. */
        size_t len = line.len;
        while (len > 0 && line.buf[len - 1] == ' ')
            len--;
        strbuf_truncate(&line, len);
        puts(strbuf_str(&line));
    }
    strbuf_release(&line);
    free(width);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

void cli_warn_bad_lines(const char *where, size_t n)
{
    if (n == 1)
        cli_warn("%s: 1 line that is not a JSON object skipped", where);
    else if (n > 1)
        cli_warn("%s: %zu lines that are not JSON objects skipped", where, n);
}
