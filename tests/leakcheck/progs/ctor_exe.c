/* Blocks allocated by a constructor of the executable before main, whose only pointers are
 * dropped when it returns: all are lost. Its dead frame lies where glibc's
 * __libc_start_call_main and then main put their frames, and a slot of those frames that is
 * never written keeps what the constructor left there (Memcheck sees such a slot undefined,
 * never a pointer). main exits from a frame with an unwritten buffer, so main's frame is live
 * at the exit check too.
 * EXPECT definite=4096/256 indirect=0/0 possible=0/0 reachable=0/0 cycles=0 */
#define _GNU_SOURCE
#include <stdlib.h>
__attribute__((constructor)) static void make_and_forget(void)
{
    void *volatile p[256]; /* the only copies, over 2 KiB of the constructor's frame */
    for (int i = 0; i < 256; i++) p[i] = malloc(16);
    (void)p;
}
int main(void)
{
    volatile char buf[512]; /* never written but for its first byte */
    buf[0] = 0;
    exit(buf[0]);
}
