/* Every allocation function that can return recycled bytes (issue 12): before each case the
 * program fills a block with pointers to a block it then leaks (`lose`), frees it, and gets
 * a block from the same memory with the function under test; that block is kept in a global
 * (reachable) and its reused bytes are never written. To Memcheck they are undefined, so
 * every lost block is definitely lost; a conservative scan that sees the old pointers calls
 * them reachable. The cases: malloc of 200 and 2000 bytes, memalign, aligned_alloc,
 * posix_memalign (64-aligned, 3000), valloc (3000), pvalloc (4096, a whole page: Memcheck
 * does not round it up; Memcheck 3.19 aborts on pvalloc, so under it this case is valloc),
 * realloc grown in place (the next chunk was free) and moved,
 * reallocarray moved, and realloc grown within the block's slack (glibc keeps the block:
 * the bytes between the old and the new size held a lost pointer). operator new is malloc.
 * Lost: one block of 40 + 8 * k bytes per case k = 0..10 = 11 x 40 + 8 x 55 = 880 bytes.
 * Reachable: 200 + 2000 + 3 x 3000 + 3000 + 4096 + 1500 + 2000 + 2000 + 24 = 23820 bytes.
 * EXPECT definite=880/11 indirect=0/0 possible=0/0 reachable=23820/11 cycles=0 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
static void *keep[11];
static int k;

/* A block of 40 + 8k bytes, fully written, whose address is left in `n` bytes of freed
 * memory (from `at`, or from a new block of n bytes) and nowhere else. */
__attribute__((noinline)) static void lose(size_t n, void **at)
{
    char *lost = malloc(40 + 8 * (size_t)k++);
    memset(lost, 'x', 40 + 8 * (size_t)(k - 1));
    void **s = at ? at : malloc(n);
    for (size_t i = 0; i < n / sizeof *s; i++) s[i] = lost;
    free(s);
}

__attribute__((noinline)) static void plain(size_t n)
{
    lose(n, NULL);
    keep[k - 1] = malloc(n);
}

static int under_memcheck(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload_memcheck");
}

/* The recycled chunk is just big enough for the aligned block (the aligned functions carve it
 * out of a chunk of n + alignment + 32 bytes), so what is left of it cannot serve the next
 * case; the guard keeps it from merging with the top of the heap. */
__attribute__((noinline)) static void aligned(int which, size_t n, size_t align)
{
    void *g = malloc(n + align + 100), *guard = malloc(16);
    lose(n + align + 100, g);
    void *p = NULL;
    switch (which) {
    case 0: p = memalign(align, n); break;
    case 1: p = aligned_alloc(align, n); break;
    case 2: if (posix_memalign(&p, align, n)) p = NULL; break;
    case 3: p = valloc(n); break;
    default: p = under_memcheck() ? valloc(n) : pvalloc(n); break;
    }
    keep[k - 1] = p;
    free(guard);
}

/* realloc grown into the next chunk, which the program freed (glibc extends in place). */
__attribute__((noinline)) static void realloc_in_place(void)
{
    char *b = malloc(100);
    memset(b, 'b', 100);
    void *next = malloc(2000), *guard = malloc(16);
    lose(2000, next);
    keep[k - 1] = realloc(b, 1500);
    free(guard);
}

/* realloc (or reallocarray) moved into a recycled chunk: the grown tail is stale. */
__attribute__((noinline)) static void realloc_moved(int array)
{
    char *b = malloc(100);
    memset(b, 'b', 100);
    void *guard = malloc(16), *old = malloc(2000), *guard2 = malloc(16);
    lose(2000, old);
    keep[k - 1] = array ? reallocarray(b, 10, 200) : realloc(b, 2000);
    free(guard);
    free(guard2);
}

/* realloc grown within the block: 8 bytes asked for, 24 usable; the next 16 bytes held a
 * lost pointer (the last freed 24-byte block is the next one of that size). */
__attribute__((noinline)) static void realloc_slack(void)
{
    lose(24, NULL);
    char *b = malloc(8);
    memset(b, 'b', 8);
    keep[k - 1] = realloc(b, 24);
}

int main(void)
{
    realloc_in_place();
    realloc_moved(0);
    realloc_moved(1);
    realloc_slack();
    plain(200);
    plain(2000);
    aligned(0, 3000, 64);
    aligned(1, 3000, 64);
    aligned(2, 3000, 64);
    aligned(3, 3000, 4096);
    aligned(4, 4096, 4096);
    return keep[0] ? 0 : 1;
}
