/* Cycle A (2 blocks) points into cycle B (2 blocks); nothing else points to either.
 * Both are cycles; A keeps B alive.
 * EXPECT definite=32/1 indirect=96/3 possible=0/0 reachable=0/0 cycles=2 */
#define _GNU_SOURCE
#include <stdlib.h>
struct n { struct n *next, *other; long pad[2]; };
int main(void)
{
    struct n *b1 = calloc(1, sizeof *b1), *b2 = calloc(1, sizeof *b2);
    b1->next = b2;
    b2->next = b1;
    struct n *a1 = calloc(1, sizeof *a1), *a2 = calloc(1, sizeof *a2);
    a1->next = a2;
    a2->next = a1;
    a2->other = b1; /* into cycle B, at its lowest block */
    return 0;
}
