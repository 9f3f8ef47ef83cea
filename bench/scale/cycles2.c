/* cycles2: N leaked two-node cycles (argv[1] = N; 16-byte nodes, each pointing to the other of
 * its pair), for bench/run.sh --scale. Known leaks: one node of each pair definitely lost,
 * the other indirectly: 16 N bytes in N blocks each; nothing else. */
#define _GNU_SOURCE
#include "scrub.h"
#include <stdlib.h>
struct node { struct node *other; long value; };
__attribute__((noinline)) static void build(long n)
{
    for (long i = 0; i < n; i++) {
        struct node *a = malloc(sizeof *a), *b = malloc(sizeof *b);
        if (!a || !b) abort();
        a->other = b;
        b->other = a;
        a->value = b->value = i;
    }
}
int main(int argc, char **argv)
{
    build(argc > 1 ? atol(argv[1]) : 1000000);
    scrub();
    return 0;
}
