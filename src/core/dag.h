/* Step dependency graphs: Kahn's topological order, ties broken by declaration order, and the
 * cycle that prevents one. Nodes are 0..n-1 in declaration order. */
#ifndef OSIRIS_DAG_H
#define OSIRIS_DAG_H

#include <stddef.h>

struct dag_edge {
    size_t from; /* the step that must run first (a need) */
    size_t to;   /* the step that needs it */
};

/* Writes a topological order of the n nodes into order (n entries) and returns 0; when the
 * graph has a cycle returns -1 and writes one cycle into cycle (node indices, first node not
 * repeated) with its length in *ncycle. order and cycle hold n entries each. */
int dag_order(size_t n, const struct dag_edge *edges, size_t nedges, size_t *order, size_t *cycle,
              size_t *ncycle);

#endif
