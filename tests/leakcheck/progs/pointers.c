/* Pointer shapes. A start pointer keeps a block reachable; an interior pointer only makes it
 * possibly lost; a pointer stored at an unaligned address or XOR-hidden is not seen: lost.
 * EXPECT definite=96/2 indirect=0/0 possible=40/1 reachable=24/1 cycles=0 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
void *start_ptr;
char *inside_ptr;
char unaligned_store[17];
uintptr_t hidden;
int main(void)
{
    start_ptr = malloc(24);
    inside_ptr = (char *)malloc(40) + 8;
    void *u = malloc(32);
    memcpy(unaligned_store + 1, &u, sizeof u);
    u = NULL;
    hidden = (uintptr_t)malloc(64) ^ 0x5a5a5a5aul;
    return 0;
}
