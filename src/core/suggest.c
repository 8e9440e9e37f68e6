/* Optimal-string-alignment distance (Levenshtein plus adjacent transpositions, git's choice). */
#include "suggest.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *prev2 = xcalloc(lb + 1, sizeof(size_t));
    size_t *prev = xcalloc(lb + 1, sizeof(size_t));
    size_t *cur = xcalloc(lb + 1, sizeof(size_t));
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < cur[j])
                cur[j] = prev2[j - 2] + 1;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[lb];
    free(prev2);
    free(prev);
    free(cur);
    return d;
}

int suggest_closest(const char *word, const char *const *candidates, size_t n)
{
    size_t wlen = strlen(word);
    int best = -1;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(word, candidates[i]);
        /* "mysql" for "mysql.extractor": a prefix of 3+ characters is as good as one typo. */
        if (wlen >= 3 && strncmp(candidates[i], word, wlen) == 0 && d > 1)
            d = 1;
        if (d < best_d) {
            best_d = d;
            best = (int)i;
        }
    }
    size_t limit = wlen < 6 ? 2 : wlen / 3;
    return best >= 0 && best_d <= limit ? best : -1;
}

const char *suggest_in(const char *word, const json_t *container)
{
    size_t n = json_is_object(container) ? json_object_size(container) : json_array_size(container);
    const char **names = xmalloc((n + 1) * sizeof(*names));
    size_t k = 0;
    if (json_is_object(container)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)container, key, v)
        {
            names[k++] = key;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if (json_is_string(json_array_get(container, i)))
                names[k++] = json_string_value(json_array_get(container, i));
    }
    int best = suggest_closest(word, names, k);
    const char *r = best >= 0 ? names[best] : NULL;
    free(names);
    return r;
}
