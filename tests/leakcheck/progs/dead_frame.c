/* A stale copy in a dead stack frame does not keep a block alive: both are lost.
 * EXPECT definite=160/2 indirect=0/0 possible=0/0 reachable=0/0 cycles=0 */
#define _GNU_SOURCE
#include <stdlib.h>
__attribute__((noinline)) static void make_and_forget(size_t n)
{
    void *volatile p = malloc(n); /* the only copy lives in this frame */
    (void)p;
}
int main(void)
{
    make_and_forget(100);
    make_and_forget(60);
    return 0;
}
