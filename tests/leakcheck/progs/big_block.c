/* One leaked block of M MiB (default 64; argv[1] sets M) whose every word points at one of
 * 1000 small leaked blocks (16 bytes each), in turn: M MiB / 8 pointer words, 1000 distinct
 * targets. Memcheck: the big block definitely lost, the 1000 small ones indirectly. Issue #14:
 * each pointer word was an edge of the snapshot (2 GiB: a 190 MB trace, 5.5 GB to report);
 * edges are stored per (block, target) pair. A test of exact totals whose only timing is
 * CTest's TIMEOUT.
 * EXPECT definite=67108864/1 indirect=16000/1000 possible=0/0 reachable=0/0 cycles=0
 *        edges<=2000 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "shape.h"
#define NSMALL 1000
__attribute__((noinline)) static void build(long mib)
{
    void *small[NSMALL];
    for (int i = 0; i < NSMALL; i++) small[i] = malloc(16);
    size_t nw = (size_t)mib << 17;
    void **big = malloc(nw * sizeof *big);
    for (size_t i = 0; i < nw; i++) big[i] = small[i % NSMALL];
    for (int i = 0; i < NSMALL; i++) small[i] = NULL;
}
SHAPE_MAIN(64)
