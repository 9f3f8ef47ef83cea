/* mallocbench: the allocation microbenchmark of bench/run.sh. Each thread descends through
 * fifteen distinct noinline functions (depth_01 .. depth_15), then runs a loop of malloc and
 * free of mixed sizes (16..4096 bytes from a fixed-seed PRNG) through eight allocation sites,
 * keeping a small window of live blocks so that frees interleave with allocations. At the
 * bottom it leaks a known number of blocks from one site (leak_site), so the bench can check
 * that a tracer saw them and recorded their full stack.
 *
 * usage: mallocbench [EVENTS [THREADS [LEAKS]]]
 *   EVENTS  total malloc + free events over all threads (default 10000000)
 *   THREADS worker threads (default 1: the loop runs on the main thread, so the leaked
 *           blocks' stack ends in main; with more, it ends in worker)
 *   LEAKS   blocks leaked in total (default 1000), split over the threads
 * It prints one line: events, threads, leaks and a checksum (so nothing is optimized away).
 * It must not depend on anything but libc and pthreads. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
/* Live blocks per thread: small, so most frees hit recently allocated memory (as real
 * programs do) and the malloc fast path is exercised. Must be a power of two. */
#define WINDOW 64u
_Static_assert((WINDOW & (WINDOW - 1)) == 0, "WINDOW must be a power of two");

typedef struct job {
    uint64_t allocs; /* mallocs in the loop (as many frees follow) */
    uint64_t leaks;  /* blocks leaked at the end */
    uint64_t seed;
    uint64_t sum;    /* result: checksum */
} job_t;

static inline uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Sizes: mostly small, some medium, a few up to 4 KiB (a rough real-program mix). */
static inline size_t pick_size(uint64_t r)
{
    unsigned k = (unsigned)(r >> 60);
    if (k < 10) return 16 + (r & 127);  /* 16..143 */
    if (k < 14) return 16 + (r & 1023); /* 16..1039 */
    return 16 + (r & 4079);             /* 16..4095 */
}

/* Eight allocation sites, so the tracer sees several distinct stacks. */
#define SITE(n)                                                                                \
    static NOINLINE void *site_##n(size_t sz)                                                  \
    {                                                                                          \
        void *p = malloc(sz + n); /* + n: distinct code, so no two sites are folded */     \
        __asm__ volatile("" : : "r"(p) : "memory");                                            \
        return p;                                                                              \
    }
SITE(0)
SITE(1)
SITE(2)
SITE(3)
SITE(4)
SITE(5)
SITE(6)
SITE(7)
static void *(*const sites[8])(size_t) = {site_0, site_1, site_2, site_3,
                                          site_4, site_5, site_6, site_7};

static NOINLINE void *leak_site(size_t sz)
{
    char *p = malloc(sz);
    if (p) p[0] = 1; /* distinct from the sites above, so the linker cannot fold it */
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

static NOINLINE void loop(job_t *j)
{
    void *live[WINDOW] = {0};
    uint64_t s = j->seed, sum = 0;
    for (uint64_t i = 0; i < j->allocs; i++) {
        uint64_t r = next_rand(&s);
        unsigned slot = (unsigned)(r >> 8) & (WINDOW - 1);
        if (live[slot]) free(live[slot]);
        size_t sz = pick_size(r);
        char *p = sites[(r >> 20) & 7](sz);
        if (!p) abort();
        p[0] = (char)i;
        sum += (uintptr_t)p >> 4;
        live[slot] = p;
    }
    for (unsigned k = 0; k < WINDOW; k++) free(live[k]);
    /* The leaks: pointers dropped on purpose. */
    for (uint64_t i = 0; i < j->leaks; i++) {
        char *p = leak_site(32 + (i & 63));
        if (!p) abort();
        sum += (uintptr_t)p >> 4;
    }
    j->sum = sum;
}

/* The descent: fifteen distinct frames above loop(). Each does a little work after the call
 * so that the compiler keeps a real call (no tail call) and the frame stays on the stack. */
#define DEPTH(n, next)                                                                         \
    static NOINLINE uint64_t depth_##n(job_t *j)                                               \
    {                                                                                          \
        uint64_t r = next(j);                                                                  \
        __asm__ volatile("" : "+r"(r));                                                        \
        return r + 1;                                                                          \
    }
static NOINLINE uint64_t depth_bottom(job_t *j)
{
    loop(j);
    return j->sum;
}
DEPTH(15, depth_bottom)
DEPTH(14, depth_15)
DEPTH(13, depth_14)
DEPTH(12, depth_13)
DEPTH(11, depth_12)
DEPTH(10, depth_11)
DEPTH(09, depth_10)
DEPTH(08, depth_09)
DEPTH(07, depth_08)
DEPTH(06, depth_07)
DEPTH(05, depth_06)
DEPTH(04, depth_05)
DEPTH(03, depth_04)
DEPTH(02, depth_03)
DEPTH(01, depth_02)

static void *worker(void *arg)
{
    job_t *j = arg;
    j->sum = depth_01(j);
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000u;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    uint64_t leaks = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000u;
    if (threads < 1 || threads > 64 || events < 2) {
        fprintf(stderr, "usage: mallocbench [EVENTS [THREADS(1..64) [LEAKS]]]\n");
        return 2;
    }
    job_t jobs[64];
    memset(jobs, 0, sizeof jobs);
    for (int t = 0; t < threads; t++) {
        /* every malloc of the loop is freed: EVENTS/2 mallocs and as many frees in total */
        jobs[t].allocs = events / 2 / (uint64_t)threads;
        jobs[t].leaks = leaks / (uint64_t)threads + ((uint64_t)t < leaks % (uint64_t)threads);
        jobs[t].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
    }
    uint64_t sum = 0;
    if (threads == 1) {
        sum = depth_01(&jobs[0]);
    } else {
        pthread_t tid[64];
        for (int t = 0; t < threads; t++)
            if (pthread_create(&tid[t], NULL, worker, &jobs[t]) != 0) {
                perror("pthread_create");
                return 1;
            }
        for (int t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            sum += jobs[t].sum;
        }
    }
    printf("mallocbench: events=%llu threads=%d leaks=%llu checksum=%llx\n",
           (unsigned long long)(events / 2 / (uint64_t)threads * (uint64_t)threads * 2),
           threads, (unsigned long long)leaks, (unsigned long long)sum);
    return 0;
}
