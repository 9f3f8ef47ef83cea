/* exit() called from a function that holds the only pointer to a block in a callee-saved
 * register (rbx; x19 on aarch64), as tsort and infocmp do: exit's own frames save that
 * register below the caller's stack pointer, and the caller's value is what Memcheck finds
 * there, so the block is still reachable. Built with -O2 (see CMakeLists.txt) so no stack
 * copy exists; the register is set by hand so the compiler cannot move the pointer.
 * EXPECT definite=0/0 indirect=0/0 possible=0/0 reachable=40/1 cycles=0 */
#include <stdlib.h>

__attribute__((noinline, noreturn)) static void leave(int status)
{
#if defined(__x86_64__)
    register void *p __asm__("rbx") = malloc(40);
#elif defined(__aarch64__)
    register void *p __asm__("x19") = malloc(40);
#else
    void *volatile p = malloc(40);
#endif
    __asm__ volatile("" : "+r"(p));
    exit(status);
}

int main(int argc, char **argv)
{
    (void)argv;
    leave(argc - 1);
}
