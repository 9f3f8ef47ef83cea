/* scc.h: the model's one cycle search. Strongly connected components of a directed graph given
 * as compressed sparse rows (the graph of lost blocks in classify.c, of runtime objects in
 * objects.c), found by one iterative Tarjan search, and the cycles among them. It owns the
 * search and the definition of a cycle (a component of two or more vertices, or one vertex with
 * an edge to itself); it must not know what a vertex stands for: callers give the graph and
 * which vertices take part, and read indices back. Pure computation: no I/O, no recursion
 * (graphs have millions of vertices), O(V + E) time. */
#ifndef LG_MODEL_SCC_H
#define LG_MODEL_SCC_H

#include <stddef.h>
#include <stdint.h>

/* A directed graph on vertices 0 .. n-1: the edges of v go to to[start[v] .. start[v+1]). The
 * search sees the subgraph of the vertices with in[v] != 0 (every vertex when in is NULL):
 * the others are not visited and edges to them are ignored. */
typedef struct lg_scc_graph {
    size_t n;
    const size_t *start; /* n + 1 offsets into to */
    const uint32_t *to;  /* every target < n */
    const uint8_t *in;   /* NULL: all vertices */
} lg_scc_graph_t;

/* The components of g: comp[v] = the number (from 1) of v's component, 0 for a vertex outside
 * the subgraph; *ncomp = how many. comp has g->n entries (the caller's). Components are
 * numbered in the order Tarjan's search completes them, with roots tried in vertex order and
 * edges in CSR order: a component is numbered before every component that reaches it.
 * Returns 0 or -ENOMEM. */
int lg_scc(const lg_scc_graph_t *g, uint32_t *comp, size_t *ncomp);

/* The cycles of g: its components of two or more vertices or with a self edge, in the order of
 * their component numbers (lg_scc), each one's vertices ascending; and every vertex's
 * component, as lg_scc numbers them. */
typedef struct lg_scc_cycles {
    size_t ncycles;
    uint32_t *members;  /* cycle c: members[first[c] .. first[c+1]), ascending */
    size_t *first;      /* ncycles + 1 */
    uint32_t *cycle_of; /* per vertex (g->n): its cycle's index + 1, 0 if in none */
    uint32_t *comp;     /* per vertex (g->n): its component's number (lg_scc), 0 if outside */
    size_t ncomp;
} lg_scc_cycles_t;

/* Finds the cycles of g. Returns 0 or -ENOMEM (*out is then empty). */
int lg_scc_cycles(const lg_scc_graph_t *g, lg_scc_cycles_t *out);

/* Frees the arrays; a caller that took one over sets its pointer to NULL first. */
void lg_scc_cycles_free(lg_scc_cycles_t *c);

#endif /* LG_MODEL_SCC_H */
