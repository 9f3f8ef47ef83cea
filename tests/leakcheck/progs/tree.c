/* A leaked complete binary tree of N nodes (24 bytes each, default 1 000 000; argv[1] sets N):
 * node i's children are nodes 2i+1 and 2i+2; the root pointer is dropped before exit and the
 * array that held the nodes while they were linked is freed. Memcheck: the root definitely
 * lost, the N - 1 nodes below it indirectly; no cycle. Issue #14: every pass over the
 * snapshot linear, no recursion; a test of exact totals whose only timing is CTest's TIMEOUT.
 * EXPECT definite=24/1 indirect=23999976/999999 possible=0/0 reachable=0/0 cycles=0 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "shape.h"
struct node { struct node *left, *right; long value; };
__attribute__((noinline)) static void build(long n)
{
    struct node **all = malloc((size_t)n * sizeof *all);
    for (long i = 0; i < n; i++) {
        all[i] = malloc(sizeof **all);
        all[i]->value = i;
    }
    for (long i = 0; i < n; i++) {
        all[i]->left = 2 * i + 1 < n ? all[2 * i + 1] : NULL;
        all[i]->right = 2 * i + 2 < n ? all[2 * i + 2] : NULL;
    }
    free(all);
}
SHAPE_MAIN(1000000)
