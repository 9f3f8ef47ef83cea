/* Locals of main stay roots when main calls exit(): its frame is still live.
 * EXPECT definite=0/0 indirect=0/0 possible=0/0 reachable=96/2 cycles=0 */
#define _GNU_SOURCE
#include <stdlib.h>
int main(void)
{
    void *volatile a = malloc(64);
    void *volatile b = malloc(32);
    (void)a;
    (void)b;
    exit(0);
}
