/* "Did you mean": the closest candidate to a mistyped word (commands, options, components). */
#ifndef OSIRIS_SUGGEST_H
#define OSIRIS_SUGGEST_H

#include <stddef.h>

#include "json.h"

/* Index of the candidate closest to word by edit distance (a prefix match counts as close), or
 * -1 when none is close enough to be a plausible typo. Ties go to the earlier candidate. */
int suggest_closest(const char *word, const char *const *candidates, size_t n);

/* The same over JSON: the keys of an object, or the strings of an array. Returns the closest
 * (borrowed from the container) or NULL. */
const char *suggest_in(const char *word, const json_t *container);

#endif
