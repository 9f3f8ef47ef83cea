/* The frame shared by the leaked-shape programs of issue #14 (long_list.c, self_list.c,
 * shuffled_dlist.c, tree.c, two_cycles.c, fan_in.c, big_block.c): each defines
 * `static void build(long n)`, which makes its shape and drops every pointer to it, and ends
 * with SHAPE_MAIN(default n): main builds the shape with argv[1] or the default, then zeroes
 * the dead stack below it. Nothing else: the shapes and their EXPECT lines are the programs'. */
#ifndef LG_SHAPE_H
#define LG_SHAPE_H
#include <stdlib.h>

/* Zeroes the stack where build's frame was: Memcheck scans the 128 bytes below the stack
 * pointer (amd64's red zone), where a stale copy of a block's address would keep it alive;
 * 16 KiB covers the largest local array of a build (big_block.c's 8000 bytes). */
__attribute__((noinline)) static void scrub(void)
{
    volatile long w[2048];
    for (int i = 0; i < 2048; i++) w[i] = 0;
    (void)w[0];
}

#define SHAPE_MAIN(dflt)                                                                       \
    int main(int argc, char **argv)                                                            \
    {                                                                                          \
        build(argc > 1 ? atol(argv[1]) : (dflt));                                              \
        scrub();                                                                               \
        return 0;                                                                              \
    }
#endif
