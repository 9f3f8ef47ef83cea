/* N leaked blocks that all point at one leaked block (16 bytes each, default 1 000 000;
 * argv[1] sets N). Memcheck: the N pointing blocks definitely lost, the target indirectly
 * (it joins the clique of the first of them, in address order). Issue #14: every pass linear
 * (a block with a million pointers to it); a test of exact totals whose only timing is
 * CTest's TIMEOUT.
 * EXPECT definite=16000000/1000000 indirect=16/1 possible=0/0 reachable=0/0 cycles=0 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "shape.h"
struct node { struct node *to; long value; };
__attribute__((noinline)) static void build(long n)
{
    struct node *target = malloc(sizeof *target);
    target->to = NULL;
    target->value = -1;
    for (long i = 0; i < n; i++) {
        struct node *x = malloc(sizeof *x);
        x->to = target;
        x->value = i;
    }
}
SHAPE_MAIN(1000000)
