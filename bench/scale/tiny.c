/* tiny: N live 1-byte blocks at exit (argv[1] = N), held by a global array of N pointers, for
 * bench/run.sh --scale: the collector's live table against the program's own heap. Known
 * leaks: none; still reachable: the N blocks and the array (N + 8 N bytes in N + 1 blocks). */
#define _GNU_SOURCE
#include <stdlib.h>
static char **live;
int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000000;
    if (!(live = malloc(n * sizeof *live))) abort();
    for (long i = 0; i < n; i++)
        if (!(live[i] = malloc(1))) abort();
    __asm__ volatile("" : : "r"(live) : "memory");
    return 0;
}
