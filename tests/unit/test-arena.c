/* arena.c: alignment, big blocks, printf, cleanup order, reuse after release. */
#include "../harness/tap.h"
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>

static char order[8];
static size_t norder;

static void record(void *data)
{
    order[norder++] = *(const char *)data;
}

int main(void)
{
    struct arena a;
    arena_init(&a);
    bool aligned = true;
    for (size_t n = 1; n < 200; n += 7) {
        void *p = arena_alloc(&a, n);
        aligned = aligned && ((uintptr_t)p % alignof(max_align_t)) == 0;
        memset(p, 0xAB, n);
    }
    ok(aligned, "every allocation is aligned for any type");
    char *big = arena_alloc(&a, 1 << 20);
    memset(big, 1, 1 << 20);
    char *small = arena_strdup(&a, "after big");
    is_str(small, "after big", "small allocation after a big block");
    is_str(arena_printf(&a, "%s-%d", "x", 42), "x-42", "arena_printf");
    is_str(arena_strndup(&a, "abcdef", 3), "abc", "arena_strndup");
    int *zeros = arena_calloc(&a, 100, sizeof(int));
    int sum = 0;
    for (int i = 0; i < 100; i++)
        sum += zeros[i];
    is_int(sum, 0, "arena_calloc zeroes");

    static const char a1 = 'a', b1 = 'b', c1 = 'c';
    arena_on_release(&a, record, (void *)&a1);
    arena_on_release(&a, record, (void *)&b1);
    arena_on_release(&a, record, (void *)&c1);
    arena_release(&a);
    order[norder] = '\0';
    is_str(order, "cba", "cleanups run newest first");
    ok(a.head == NULL && a.cleanups == NULL, "released arena is empty");
    is_str(arena_strdup(&a, "again"), "again", "arena reusable after release");
    arena_release(&a);
    return done_testing();
}
