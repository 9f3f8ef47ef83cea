/* A leaked list of N nodes (24 bytes each, default 100 000; argv[1] sets N), each holding an
 * empty embedded list head (pointing to itself, an interior pointer) and a pointer to the
 * node allocated before it; the last node's pointer is dropped before exit. So N one-node
 * cycles, node i keeping the i nodes below it alive. Memcheck: the last node definitely
 * lost, the others indirectly. Issue #14: what each cycle keeps alive was a walk per cycle
 * (quadratic: 100 000 nodes 22 s); a test of exact totals whose only timing is CTest's
 * TIMEOUT.
 * EXPECT definite=24/1 indirect=2399976/99999 possible=0/0 reachable=0/0 cycles=100000
 *        keeps=119998800000/4999950000 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "shape.h"
struct list_head { struct list_head *next, *prev; };
struct node { struct node *below; struct list_head items; };
__attribute__((noinline)) static void build(long n)
{
    struct node *top = NULL;
    for (long i = 0; i < n; i++) {
        struct node *x = malloc(sizeof *x);
        x->below = top;
        x->items.next = x->items.prev = &x->items; /* empty: points to itself */
        top = x;
    }
}
SHAPE_MAIN(100000)
