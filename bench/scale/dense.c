/* dense: one leaked block of MIB mebibytes (argv[1]; 2048 = 2 GiB) full of pointer-looking
 * words, every word pointing to one of M small blocks (16 bytes each; argv[2] = M) in turn,
 * for bench/run.sh --scale: a scan that meets a pointer in every word. Known leaks: the big
 * block definitely lost (MIB * 1048576 bytes in 1 block), the M small blocks indirectly
 * (16 M bytes in M blocks); the index array is freed. */
#define _GNU_SOURCE
#include "scrub.h"
#include <stdint.h>
#include <stdlib.h>
__attribute__((noinline)) static void build(size_t mib, size_t m)
{
    void **small = malloc(m * sizeof *small);
    size_t words = mib * 1048576 / sizeof(void *);
    void **big = malloc(words * sizeof *big);
    if (!small || !big) abort();
    for (size_t i = 0; i < m; i++)
        if (!(small[i] = calloc(1, 16))) abort();
    for (size_t i = 0, k = 0; i < words; i++, k = k + 1 == m ? 0 : k + 1) big[i] = small[k];
    for (size_t i = 0; i < m; i++) small[i] = NULL;
    free(small);
    __asm__ volatile("" : : "r"(big) : "memory");
}
int main(int argc, char **argv)
{
    build(argc > 1 ? strtoul(argv[1], NULL, 10) : 2048, argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000);
    scrub();
    return 0;
}
