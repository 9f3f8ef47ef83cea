/* N leaked two-node cycles (16-byte nodes, default 100 000 cycles; argv[1] sets N): each
 * pair points at each other and nothing else points at either. Memcheck: in each pair the
 * lower address is definitely lost, the other indirectly; leakgraph also reports N cycles.
 * Issue #14: every pass linear (cycles, what each keeps alive); a test of exact totals whose
 * only timing is CTest's TIMEOUT (100 000 pairs: the JSON the driver
 * reads has a record per cycle).
 * EXPECT definite=1600000/100000 indirect=1600000/100000 possible=0/0 reachable=0/0
 *        cycles=100000 keeps=0/0 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "shape.h"
struct node { struct node *other; long value; };
__attribute__((noinline)) static void build(long n)
{
    for (long i = 0; i < n; i++) {
        struct node *a = malloc(sizeof *a), *b = malloc(sizeof *b);
        a->other = b;
        b->other = a;
        a->value = b->value = i;
    }
}
SHAPE_MAIN(100000)
