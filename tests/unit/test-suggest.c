/* suggest.c: the "did you mean" matcher. */
#include "../harness/tap.h"
#include "suggest.h"

int main(void)
{
    static const char *const words[] = { "components", "compile",         "connections",
                                         "init",       "mysql.extractor", "mysql.writer" };
    is_int(suggest_closest("componets", words, 6), 0, "dropped letter");
    is_int(suggest_closest("inti", words, 6), 3, "transposition");
    is_int(suggest_closest("mysql.extracter", words, 6), 4, "typo in a component name");
    is_int(suggest_closest("mysql", words, 6), 4, "prefix suggests the first match");
    is_int(suggest_closest("frobnicate", words, 6), -1, "nothing close");
    return done_testing();
}
