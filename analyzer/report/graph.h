/* The pictures of `leakgraph graph` (the command is cli/cmd_graph.c): the runtime-object
 * analysis (objects.h) in Graphviz DOT: each reported cycle (one per group of alike cycles, its members and labelled references, hidden
 * pointers dashed) and the referrer chain of each refcount-leaked object (what points to it,
 * and what points to those, as objgraph's back-reference charts; unexplained references as a
 * node of their own). It only formats. */
#ifndef LG_GRAPH_H
#define LG_GRAPH_H

#include <stdio.h>

#include "leaks.h"

/* Writes the DOT of every object record of the set to `out`. Returns 0 or a negative errno. */
int lg_graph_dot(FILE *out, lg_leakset_t *ls);

#endif /* LG_GRAPH_H */
