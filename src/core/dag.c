/* Kahn's algorithm with the ready set kept ordered by declaration index, so the same pipeline
 * always yields the same order; when nodes remain, a walk along their unfinished needs finds a
 * cycle to report. */
#include "dag.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int dag_order(size_t n, const struct dag_edge *edges, size_t nedges, size_t *order, size_t *cycle,
              size_t *ncycle)
{
    size_t *indeg = xcalloc(n + 1, sizeof(*indeg));
    /* Adjacency in CSR form: successors of node i are succ[start[i] .. start[i+1]). */
    size_t *start = xcalloc(n + 2, sizeof(*start));
    size_t *succ = xmalloc((nedges + 1) * sizeof(*succ));
    for (size_t e = 0; e < nedges; e++) {
        start[edges[e].from + 1]++;
        indeg[edges[e].to]++;
    }
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    size_t *fill = xmalloc((n + 1) * sizeof(*fill));
    memcpy(fill, start, (n + 1) * sizeof(*fill));
    for (size_t e = 0; e < nedges; e++)
        succ[fill[edges[e].from]++] = edges[e].to;

    /* The ready set as a min-heap of node indices: O((n + e) log n) for big pipelines. */
    size_t *heap = xmalloc((n + 1) * sizeof(*heap));
    size_t nheap = 0, done = 0;
    for (size_t i = 0; i < n; i++)
        if (!indeg[i])
            heap[nheap++] = i; /* ascending, so already a heap */
    while (nheap) {
        size_t top = heap[0];
        heap[0] = heap[--nheap];
        for (size_t i = 0;;) { /* sift down */
            size_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < nheap && heap[l] < heap[m])
                m = l;
            if (r < nheap && heap[r] < heap[m])
                m = r;
            if (m == i)
                break;
            size_t t = heap[i];
            heap[i] = heap[m];
            heap[m] = t;
            i = m;
        }
        order[done++] = top;
        for (size_t k = start[top]; k < start[top + 1]; k++) {
            size_t s = succ[k];
            if (--indeg[s])
                continue;
            size_t i = nheap++; /* sift up */
            heap[i] = s;
            while (i && heap[(i - 1) / 2] > heap[i]) {
                size_t t = heap[i];
                heap[i] = heap[(i - 1) / 2];
                heap[(i - 1) / 2] = t;
                i = (i - 1) / 2;
            }
        }
    }

    int rc = 0;
    if (done < n) {
        /* Every remaining node has a remaining need: walking backwards along needs must
         * revisit a node, and the walk from there on is a cycle. */
        size_t *pred = xmalloc((n + 1) * sizeof(*pred));
        bool *left = xcalloc(n + 1, sizeof(*left));
        for (size_t i = 0; i < n; i++)
            left[i] = indeg[i] > 0;
        for (size_t e = 0; e < nedges; e++)
            if (left[edges[e].to] && left[edges[e].from])
                pred[edges[e].to] = edges[e].from;
        size_t *seen = xcalloc(n + 1, sizeof(*seen)); /* step number + 1 when visited */
        size_t cur = 0;
        while (!left[cur])
            cur++;
        size_t step = 1;
        while (!seen[cur]) {
            seen[cur] = step++;
            cur = pred[cur];
        }
        /* cur is on the cycle; collect it in the forward (need → needer) direction. */
        size_t len = 0;
        size_t v = cur;
        do {
            cycle[len++] = v;
            v = pred[v];
        } while (v != cur);
        for (size_t i = 0; i < len / 2; i++) {
            size_t t = cycle[i];
            cycle[i] = cycle[len - 1 - i];
            cycle[len - 1 - i] = t;
        }
        *ncycle = len;
        free(pred);
        free(left);
        free(seen);
        rc = -1;
    }
    free(indeg);
    free(start);
    free(succ);
    free(fill);
    free(heap);
    return rc;
}
