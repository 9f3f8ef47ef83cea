/* exit() from a SIGSEGV handler running on an alternate signal stack, a static array in .bss
 * (altstack_mmap.c: an mmap'd one). 200 blocks are held by the frames of a recursion that
 * longjmp left, so those frames are dead: definitely lost, as Memcheck reports them. The live
 * part of the thread's stack starts at the interrupted stack pointer, the handler's frames on
 * the alternate stack are live and the part of it below them is dead; the .bss around the
 * alternate stack is a root as any other (two globals keep their blocks reachable).
 * EXPECT definite=20000/200 indirect=0/0 possible=0/0 reachable=48/2 cycles=0 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define ALT_BYTES (64 * 1024)
static void *kept_before; /* globals around the alternate stack in .bss */
#ifndef ALT_MMAP
static char altstack[ALT_BYTES];
#endif
static void *kept_after;
static sigjmp_buf back;

__attribute__((noinline)) static void dive(int n)
{
    void *volatile p = malloc(100); /* the only pointer, in this frame */
    if (n > 1) dive(n - 1);
    else siglongjmp(back, 1);
    (void)p;
}

/* Overwrites the first dead frames, where the next calls' frames and red zone lie: Memcheck
 * never reads a stale word in a live frame (an unwritten slot is undefined to it), leakgraph
 * would, and this test is about the frames below. */
__attribute__((noinline)) static void overwrite(void)
{
    volatile long pad[64];
    for (int i = 0; i < 64; i++) pad[i] = 0;
    (void)pad[0];
}

/* Faults with the argument registers cleared: no stale pointer left by malloc in a
 * caller-saved register survives into the interrupted context (its registers are roots). */
__attribute__((noinline)) static void fault(volatile int *bad, long a, long b, long c, long d,
                                            long e)
{
    *bad = (int)(a + b + c + d + e);
}

static void on_segv(int sig)
{
    (void)sig;
    exit(0);
}

int main(void)
{
    kept_before = malloc(24);
    kept_after = malloc(24);
#ifdef ALT_MMAP
    void *alt = mmap(NULL, ALT_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (alt == MAP_FAILED) return 2;
#else
    void *alt = altstack;
#endif
    stack_t ss = {.ss_sp = alt, .ss_size = ALT_BYTES};
    struct sigaction sa = {.sa_handler = on_segv, .sa_flags = SA_ONSTACK};
    if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGSEGV, &sa, NULL) != 0) return 2;
    if (!sigsetjmp(back, 0)) dive(200);
    overwrite();
    fault(NULL, 0, 0, 0, 0, 0); /* the handler exits */
    return 1;
}
