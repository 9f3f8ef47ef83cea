/* A leaked singly linked list of N nodes (16 bytes each, default 1 000 000; argv[1] sets N):
 * pushed at the front, so each node points to the one allocated before it, and the head
 * pointer is dropped before exit. Memcheck: the head is definitely lost, the N - 1 nodes
 * below it indirectly; no cycle. Issue #14: the clique pass's leader chase followed a chain
 * of N leaders per block (quadratic: 80 000 nodes 4 s, 1 000 000 nodes over 10 minutes); a test of
 * exact totals whose only timing is CTest's TIMEOUT.
 * EXPECT definite=16/1 indirect=15999984/999999 possible=0/0 reachable=0/0 cycles=0 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "shape.h"
struct node { struct node *next; long value; };
__attribute__((noinline)) static void build(long n)
{
    struct node *head = NULL;
    for (long i = 0; i < n; i++) {
        struct node *x = malloc(sizeof *x);
        x->next = head;
        x->value = i;
        head = x;
    }
}
SHAPE_MAIN(1000000)
