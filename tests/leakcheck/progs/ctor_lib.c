/* A constructor of a DT_NEEDED library (progs/ctor_libdep.c) leaks before main: its blocks'
 * only pointers were in its frame, dead once it returned, where _start, __libc_start_main,
 * __libc_start_call_main and main later put their frames: all 1024 blocks are lost.
 * EXPECT definite=16384/1024 indirect=0/0 possible=0/0 reachable=0/0 cycles=0 */
#define _GNU_SOURCE
#include <stdlib.h>
int ctor_libdep_answer(void);
int main(void)
{
    volatile char buf[512]; /* never written but for its first byte */
    buf[0] = 0;
    return ctor_libdep_answer() - 42 + buf[0];
}
