/* A leaked doubly linked list of N nodes (16 bytes each, default 200 000; argv[1] sets N),
 * linked in a shuffled order (a fixed xorshift seed), its head dropped before exit: one
 * cycle of N blocks whose members' addresses come in no order along the list. Memcheck: one
 * block definitely lost (the lowest address leads the clique), the others indirectly.
 * Issue #14: the cycle's members were insertion-sorted (quadratic: 100 000 nodes 14 s); a
 * test of exact totals whose only timing is CTest's TIMEOUT.
 * EXPECT definite=16/1 indirect=3199984/199999 possible=0/0 reachable=0/0 cycles=1 keeps=0/0 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include "shape.h"
struct node { struct node *next, *prev; };
__attribute__((noinline)) static void build(long n)
{
    struct node **v = malloc(n * sizeof *v); /* freed before exit: no root, no leak */
    for (long i = 0; i < n; i++) v[i] = calloc(1, sizeof **v);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (long i = n - 1; i > 0; i--) { /* Fisher-Yates */
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        long j = (long)(s % (uint64_t)(i + 1));
        struct node *t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    for (long i = 1; i < n; i++) {
        v[i - 1]->next = v[i];
        v[i]->prev = v[i - 1];
    }
    for (long i = 0; i < n; i++) v[i] = NULL;
    free(v);
}
SHAPE_MAIN(200000)
