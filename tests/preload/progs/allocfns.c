/* Every allocation function once, each leak on a line marked LEAK:<function>:<allocator>:<bytes>
 * (the test reads the marks to know the expected line). Blocks that are freed must not be
 * reported. No stdio: the report must contain exactly these leaks. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>

void *volatile sink;

static void leak_malloc(void) { sink = malloc(11); } /* LEAK:leak_malloc:malloc:11 */
static void leak_calloc(void) { sink = calloc(3, 7); } /* LEAK:leak_calloc:calloc:21 */
static void leak_realloc_grow(void)
{
    void *p = malloc(10);
    sink = realloc(p, 500); /* LEAK:leak_realloc_grow:realloc:500 */
}
static void leak_realloc_shrink(void)
{
    void *p = malloc(1000);
    sink = realloc(p, 16); /* LEAK:leak_realloc_shrink:realloc:16 */
}
static void leak_realloc_null(void) { sink = realloc(NULL, 40); } /* LEAK:leak_realloc_null:malloc:40 */
static void leak_reallocarray(void) { sink = reallocarray(NULL, 7, 9); } /* LEAK:leak_reallocarray:malloc:63 */
static void leak_posix_memalign(void)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, 200) == 0) sink = p; /* LEAK:leak_posix_memalign:posix_memalign:200 */
}
static void leak_aligned_alloc(void) { sink = aligned_alloc(32, 96); } /* LEAK:leak_aligned_alloc:aligned_alloc:96 */
static void leak_memalign(void) { sink = memalign(128, 130); } /* LEAK:leak_memalign:memalign:130 */
static void leak_valloc(void) { sink = valloc(100); } /* LEAK:leak_valloc:valloc:100 */
static void leak_pvalloc(void) { sink = pvalloc(100); } /* LEAK:leak_pvalloc:pvalloc:4096 */

static void no_leaks(void)
{
    free(malloc(5));
    free(calloc(2, 2));
    void *p = NULL;
    if (posix_memalign(&p, 16, 48) == 0) free(p);
    free(aligned_alloc(16, 64));
    free(memalign(64, 8));
    free(valloc(1));
    void *r = malloc(8);
    r = realloc(r, 4000);
    r = realloc(r, 2);
    free(r);
    void *z = malloc(9);
    z = realloc(z, 0); /* glibc frees and returns NULL */
    free(z);
    free(reallocarray(NULL, 2, 2));
}

int main(void)
{
    no_leaks();
    leak_malloc();
    leak_calloc();
    leak_realloc_grow();
    leak_realloc_shrink();
    leak_realloc_null();
    leak_reallocarray();
    leak_posix_memalign();
    leak_aligned_alloc();
    leak_memalign();
    leak_valloc();
    leak_pvalloc();
    sink = NULL;
    return 0;
}
