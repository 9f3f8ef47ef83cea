/* Two separate unreachable cycles (2 and 3 blocks of 32 bytes), a block pointing to itself
 * (16 bytes), and a cycle held by a global (not a leak). Memcheck: each lost cycle has one
 * definitely lost member (its lowest address), the others indirectly lost.
 * EXPECT definite=80/3 indirect=96/3 possible=0/0 reachable=64/2 cycles=3 */
#define _GNU_SOURCE
#include <stdlib.h>
struct n { struct n *next; long pad[3]; };
static struct n *ring(int k)
{
    struct n *first = calloc(1, sizeof *first), *cur = first;
    for (int i = 1; i < k; i++) {
        cur->next = calloc(1, sizeof *cur);
        cur = cur->next;
    }
    cur->next = first;
    return first;
}
struct n *held;
int main(void)
{
    ring(2);
    ring(3);
    struct n **self = calloc(2, sizeof *self);
    self[0] = (struct n *)self;
    held = ring(2);
    return 0;
}
