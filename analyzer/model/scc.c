/* The cycle search (see scc.h). It owns Tarjan's algorithm, written once without recursion;
 * it must not allocate per vertex or per edge (a few arrays of n, allocated once) nor look at
 * what the vertices mean.
 *
 * How it works. Tarjan's search numbers vertices in depth-first preorder (index, from 1; 0 =
 * not yet visited) and keeps low[v] = the smallest index reachable from v's subtree through
 * one edge to a vertex still on the component stack. The recursion is an explicit call stack
 * of vertices; pos[v] is the next edge of v to try, so a vertex resumes where it left off.
 *   Invariant (component stack): the visited vertices without a component, in visiting order;
 *   "on the stack" is therefore index[v] != 0 && comp[v] == 0, with no flag of its own.
 *   On finishing v: its parent's low takes min(low[parent], low[v]); if low[v] == index[v],
 *   v roots a component: the stack down to v is popped and numbered ++ncomp.
 *   Post: comp[v] > 0 for every vertex of the subgraph; a component is numbered after every
 *   component it reaches (reverse topological order of the condensation).
 * Cost: each vertex is pushed and popped once, each edge tried once: O(V + E) time; five
 * arrays of n (index, low, pos, the two stacks) besides comp. */
#include "scc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool in_graph(const lg_scc_graph_t *g, uint32_t v)
{
    return !g->in || g->in[v];
}

int lg_scc(const lg_scc_graph_t *g, uint32_t *comp, size_t *ncomp)
{
    size_t n = g->n, m = n ? n : 1;
    uint32_t *index = calloc(m, sizeof *index), *low = malloc(m * sizeof *low);
    uint32_t *stk = malloc(m * sizeof *stk), *call = malloc(m * sizeof *call);
    size_t *pos = malloc(m * sizeof *pos);
    int rc = -ENOMEM;
    *ncomp = 0;
    if (!index || !low || !stk || !call || !pos) goto out;
    memset(comp, 0, n * sizeof *comp);
    uint32_t counter = 0;
    size_t sp = 0, nc = 0;
    for (size_t root = 0; root < n; root++) {
        if (!in_graph(g, (uint32_t)root) || index[root]) continue;
        size_t depth = 0;
        index[root] = low[root] = ++counter;
        pos[root] = g->start[root];
        stk[sp++] = (uint32_t)root;
        call[depth++] = (uint32_t)root;
        while (depth) {
            uint32_t v = call[depth - 1];
            if (pos[v] < g->start[v + 1]) {
                uint32_t w = g->to[pos[v]++];
                if (!in_graph(g, w)) continue;
                if (!index[w]) { /* tree edge: descend */
                    index[w] = low[w] = ++counter;
                    pos[w] = g->start[w];
                    stk[sp++] = w;
                    call[depth++] = w;
                } else if (!comp[w] && index[w] < low[v]) { /* w still on the stack */
                    low[v] = index[w];
                }
                continue;
            }
            depth--; /* v is finished */
            if (depth && low[v] < low[call[depth - 1]]) low[call[depth - 1]] = low[v];
            if (low[v] != index[v]) continue;
            nc++;
            uint32_t x;
            do {
                x = stk[--sp];
                comp[x] = (uint32_t)nc;
            } while (x != v);
        }
    }
    *ncomp = nc;
    rc = 0;
out:
    free(index);
    free(low);
    free(stk);
    free(call);
    free(pos);
    return rc;
}

/* From the components to the cycles: per component its size, whether it is a cycle and its
 * cycle number, then the members by counting sort over the vertices in ascending order (so
 * each cycle's members come out ascending). O(V + E): the self-edge test reads the edges of
 * single-vertex components once. */
int lg_scc_cycles(const lg_scc_graph_t *g, lg_scc_cycles_t *out)
{
    size_t n = g->n, nc = 0;
    memset(out, 0, sizeof *out);
    uint32_t *comp = malloc((n ? n : 1) * sizeof *comp); /* becomes cycle_of */
    if (!comp) return -ENOMEM;
    if (lg_scc(g, comp, &nc)) {
        free(comp);
        return -ENOMEM;
    }
    uint32_t *size = calloc(nc + 1, sizeof *size), *cid = calloc(nc + 1, sizeof *cid);
    out->comp = malloc((n ? n : 1) * sizeof *out->comp);
    if (!size || !cid || !out->comp) goto nomem;
    memcpy(out->comp, comp, n * sizeof *comp);
    out->ncomp = nc;
    for (size_t v = 0; v < n; v++) size[comp[v]]++;
    for (size_t v = 0; v < n; v++) {
        if (!comp[v] || size[comp[v]] != 1) continue;
        for (size_t e = g->start[v]; e < g->start[v + 1]; e++)
            if (g->to[e] == v) cid[comp[v]] = 1;
    }
    size_t ncyc = 0, nmem = 0;
    for (size_t c = 1; c <= nc; c++) {
        if (size[c] < 2 && !cid[c]) continue;
        cid[c] = (uint32_t)++ncyc;
        nmem += size[c];
    }
    out->first = calloc(ncyc + 1, sizeof *out->first);
    out->members = malloc((nmem ? nmem : 1) * sizeof *out->members);
    if (!out->first || !out->members) goto nomem;
    for (size_t v = 0; v < n; v++) {
        comp[v] = cid[comp[v]]; /* cid[0] == 0: outside the subgraph */
        if (comp[v]) out->first[comp[v]]++;
    }
    for (size_t c = 0; c < ncyc; c++) out->first[c + 1] += out->first[c];
    for (size_t c = 0; c < ncyc; c++) size[c] = (uint32_t)out->first[c]; /* next slot of c */
    for (size_t v = 0; v < n; v++)
        if (comp[v]) out->members[size[comp[v] - 1]++] = (uint32_t)v;
    free(size);
    free(cid);
    out->ncycles = ncyc;
    out->cycle_of = comp;
    return 0;
nomem:
    free(size);
    free(cid);
    free(comp);
    lg_scc_cycles_free(out);
    return -ENOMEM;
}

void lg_scc_cycles_free(lg_scc_cycles_t *c)
{
    free(c->members);
    free(c->first);
    free(c->cycle_of);
    free(c->comp);
    memset(c, 0, sizeof *c);
}
