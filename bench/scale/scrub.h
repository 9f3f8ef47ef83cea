/* scrub.h: the stack scrub shared by the shape programs of bench/scale/. A leaked block's
 * address can stay in a dead frame of the stack (or in the 128-byte red zone below the stack
 * pointer, which Memcheck scans too) and keep the block reachable; calling scrub() right
 * after the function that built the shape overwrites that part of the stack with zeros, so
 * the known totals hold for leakgraph and for Memcheck alike. */
#ifndef BENCH_SCALE_SCRUB_H
#define BENCH_SCALE_SCRUB_H
__attribute__((noinline)) static void scrub(void)
{
    volatile long w[256];
    for (int i = 0; i < 256; i++) w[i] = 0;
    (void)w[0];
}
#endif
