/*
 * bench/rcrt/bench_alloc.c - rcrt's allocator against glibc malloc and CPython's pymalloc
 * (PyObject_Malloc/PyObject_Free from libpython3.11, loaded with dlopen; pymalloc works before
 * the interpreter is initialised). Every allocator is called through the same kind of function
 * pointer, so call overhead is equal. Two workloads per size row:
 *   lifo    batches of 64 allocations freed in reverse order (a stack discipline);
 *   random  1M live blocks; each operation frees a random one and allocates a replacement.
 * Prints ns per (malloc + free) pair, the median of 9 runs (5 for random, whose set-up of 1M
 * blocks dominates), allocators interleaved, and rcrt / pymalloc. CPU time (shared machine).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rcrt/alloc.h"

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);

struct allocator {
    const char *name;
    malloc_fn alloc;
    free_fn release;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* size 0 = mixed 16..512 */
static inline size_t pick_size(size_t size, uint64_t r)
{
    return size ? size : 16 + (r >> 40) % 497;
}

#define BATCH 64
static double run_lifo(const struct allocator *a, size_t size, size_t pairs)
{
    void *blocks[BATCH];
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    uint64_t t0 = now_ns();
    for (size_t done = 0; done < pairs; done += BATCH) {
        for (int i = 0; i < BATCH; i++) {
            blocks[i] = a->alloc(pick_size(size, next_rand(&x)));
            *(volatile char *)blocks[i] = 1;
        }
        for (int i = BATCH - 1; i >= 0; i--)
            a->release(blocks[i]);
    }
    return (double)(now_ns() - t0) / (double)pairs;
}

#define LIVE (1u << 20)
static double run_random(const struct allocator *a, size_t size, size_t ops, void **live)
{
    uint64_t x = 0x2545F4914F6CDD1DULL;
    for (size_t i = 0; i < LIVE; i++) {
        live[i] = a->alloc(pick_size(size, next_rand(&x)));
        *(volatile char *)live[i] = 1;
    }
    uint64_t t0 = now_ns();
    for (size_t n = 0; n < ops; n++) {
        uint64_t r = next_rand(&x);
        size_t i = r & (LIVE - 1);
        a->release(live[i]);
        live[i] = a->alloc(pick_size(size, r));
        *(volatile char *)live[i] = 1;
    }
    double ns = (double)(now_ns() - t0) / (double)ops;
    for (size_t i = 0; i < LIVE; i++)
        a->release(live[i]);
    return ns;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define RUNS 9
#define RANDOM_RUNS 5
static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return v[n / 2];
}

int main(void)
{
    struct allocator al[3] = {
        {"rcrt", rc_malloc, rc_free},
        {"glibc", malloc, free},
        {"pymalloc", NULL, NULL},
    };
    void *py = dlopen("libpython3.11.so.1.0", RTLD_NOW | RTLD_LOCAL);
    if (py != NULL) {
        al[2].alloc = (malloc_fn)dlsym(py, "PyObject_Malloc");
        al[2].release = (free_fn)dlsym(py, "PyObject_Free");
    }
    int have_py = al[2].alloc != NULL && al[2].release != NULL;
    if (!have_py)
        fprintf(stderr, "bench_alloc: libpython3.11 not found, pymalloc column is n/a\n");

    void **live = malloc(LIVE * sizeof *live);
    const size_t sizes[] = {16, 64, 256, 512, 0};
    printf("allocator: ns per malloc+free pair (median of %d lifo / %d random runs)\n", RUNS,
           RANDOM_RUNS);
    printf("%-8s %-9s %10s %10s %10s %14s\n", "workload", "size", "rcrt", "glibc", "pymalloc",
           "rcrt/pymalloc");
    int all_ok = 1;
    for (int w = 0; w < 2; w++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            /* Allocators interleaved run by run, so that a change in the machine's load
             * hits all three alike; the median per allocator. */
            int runs = w == 0 ? RUNS : RANDOM_RUNS;
            double v[3][RUNS], med[3] = {0, 0, 0};
            for (int r = 0; r < runs; r++)
                for (int k = 0; k < 3; k++)
                    if (k < 2 || have_py)
                        v[k][r] = w == 0 ? run_lifo(&al[k], sizes[s], 4u << 20)
                                         : run_random(&al[k], sizes[s], 1u << 20, live);
            for (int k = 0; k < 3; k++)
                if (k < 2 || have_py)
                    med[k] = median_of(v[k], runs);
            char label[32];
            if (sizes[s])
                snprintf(label, sizeof label, "%zu", sizes[s]);
            else
                snprintf(label, sizeof label, "16-512");
            double ratio = have_py ? med[0] / med[2] : 0;
            if (have_py && ratio > 1.0)
                all_ok = 0;
            printf("%-8s %-9s %10.1f %10.1f %10.1f %14.2f\n", w == 0 ? "lifo" : "random", label,
                   med[0], med[1], med[2], ratio);
        }
    }
    printf("target rcrt <= pymalloc on every row: %s\n", all_ok ? "met" : "NOT met");
    free(live);
    return 0;
}
