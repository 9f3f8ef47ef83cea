/* An anonymous mapping of the program's own (as CPython's arenas are) that the kernel merged
 * with a chunk glibc's malloc mmap'd for one large block: one mapping holds both. The program's
 * part is a root, so the block it points to is still reachable; the large block is reachable
 * from .bss; a third block is lost.
 * EXPECT definite=30/1 indirect=0/0 possible=0/0 reachable=1048616/2 cycles=0 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

void *big; /* .bss */

/* The mapping holding `p`, from /proc/self/maps, and the free space around it: [*below, lo)
 * and [hi, *above). Returns -1 if no mapping holds `p`. */
static int mapping_of(uintptr_t p, uintptr_t *lo, uintptr_t *hi, uintptr_t *below,
                      uintptr_t *above)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    unsigned long s, e, prev_end = 0;
    char line[512];
    int found = -1;
    *above = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%lx-%lx", &s, &e) != 2) continue;
        if (found == 0 && !*above) *above = s;
        if (p >= s && p < e) {
            *lo = s;
            *hi = e;
            *below = prev_end;
            found = 0;
        }
        prev_end = e;
    }
    fclose(f);
    return found;
}

/* A fresh anonymous mapping of up to `len` bytes in [from, to), or MAP_FAILED. */
static void *map_in(uintptr_t from, uintptr_t to, size_t len, int at_top)
{
    if (to <= from || to - from < 4096) return MAP_FAILED;
    if (to - from < len) len = (size_t)(to - from) & ~(size_t)4095;
    void *want = (void *)(at_top ? to - len : from);
    void *r = mmap(want, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (r != MAP_FAILED && r != want) {
        munmap(r, len);
        r = MAP_FAILED;
    }
    return r;
}

int main(void)
{
    const size_t len = 64 << 10;
    /* above the mmap threshold: a chunk of its own; shrinking it unmaps its tail, which
     * leaves room right above it (the mappings around a chunk are often packed tight) */
    big = malloc(2 << 20);
    big = realloc(big, 1 << 20);
    uintptr_t lo, hi, below, above;
    void *region = MAP_FAILED;
    if (mapping_of((uintptr_t)big, &lo, &hi, &below, &above) == 0) { /* right below or above */
        region = map_in(hi, above ? above : hi + len, len, 0);
        if (region == MAP_FAILED) region = map_in(below, lo, len, 1);
    }
    if (region == MAP_FAILED) /* (under Valgrind the block is not in a mapping of its own) */
        region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) return 2;
    ((void **)region)[100] = malloc(40); /* reachable only from the program's mapping */
    void *volatile lost = malloc(30);
    lost = NULL;
    (void)lost;
    uintptr_t rlo, rhi, rb, ra;
    if (getenv("ANON_MERGED_VERBOSE") && mapping_of((uintptr_t)region, &rlo, &rhi, &rb, &ra) == 0)
        printf("block %p, region %p, one mapping: %s\n", big, region,
               rlo <= (uintptr_t)big && (uintptr_t)big < rhi ? "yes" : "no");
    return 0;
}
