/* Roots in .data and .bss: both blocks are still reachable; a third is lost.
 * EXPECT definite=30/1 indirect=0/0 possible=0/0 reachable=300/2 cycles=0 */
#define _GNU_SOURCE
#include <stdlib.h>
void *in_data = (void *)1; /* initialized: .data */
void *in_bss;              /* zero: .bss */
int main(void)
{
    in_data = malloc(100);
    in_bss = malloc(200);
    void *volatile lost = malloc(30);
    lost = NULL;
    (void)lost;
    return 0;
}
