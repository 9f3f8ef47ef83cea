/*
 * bench/rcrt/bench_alloc.c - rcrt's allocator against glibc malloc and CPython's pymalloc
 * (PyObject_Malloc/PyObject_Free from libpython3.11, loaded with dlopen; pymalloc works before
 * the interpreter is initialised). Every allocator is called through the same kind of function
 * pointer, so call overhead is equal. Two workloads per size row:
 *   lifo    batches of 64 allocations freed in reverse order (a stack discipline);
 *   random  1M live blocks; each operation frees a random one and allocates a replacement.
 *
 * Statistics. A run times each allocator once on the row, one after the other, the order
 * rotated from run to run (so that no allocator always runs first, after the same neighbour).
 * The ratio of a row is the median over runs of the per-run ratio rcrt / pymalloc: the two
 * times of one run were taken seconds apart, under about the same load, so the ratio cancels
 * most of the machine's drift, and the median ignores the runs a burst of load hit. "won"
 * counts the runs where rcrt was faster: by a two-sided sign test, 12 or more wins of 15 (the
 * lifo default) or 8 or more of 9 (the random default) is a difference beyond chance
 * (p < 0.04), as are 3 or fewer and 1 or fewer. The verdict of a row is "met" when its median
 * ratio is at most 1.00. Times are CPU time (shared machine); the ns columns are
 * the medians of each allocator's own times.
 *
 * Usage: bench_alloc [--runs N] [--random-runs N] [--only lifo|random] [--size N|mixed]
 *        (defaults 15 and 9 runs, every row)
 *        bench_alloc --count   one short run of each row and allocator (rcrt, pymalloc) for
 *        callgrind: each timed loop is bracketed by CALLGRIND_ZERO_STATS and
 *        CALLGRIND_DUMP_STATS_AT("<workload> <size> <allocator> <pairs>"); run it with
 *        --toggle-collect on the four allocator functions (run.sh does) and each dump holds
 *        the instructions executed inside them for that many pairs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_DUMP_STATS_AT
#define CALLGRIND_ZERO_STATS ((void)0)
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

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

/* In --count mode, the label of the dump that ends the timed loop (NULL: timing run). */
static const char *count_label;

#define BATCH 64
static double run_lifo(const struct allocator *a, size_t size, size_t pairs)
{
    void *blocks[BATCH];
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    if (count_label)
        CALLGRIND_ZERO_STATS;
    uint64_t t0 = now_ns();
    for (size_t done = 0; done < pairs; done += BATCH) {
        for (int i = 0; i < BATCH; i++) {
            blocks[i] = a->alloc(pick_size(size, next_rand(&x)));
            *(volatile char *)blocks[i] = 1;
        }
        for (int i = BATCH - 1; i >= 0; i--)
            a->release(blocks[i]);
    }
    uint64_t t1 = now_ns();
    if (count_label)
        CALLGRIND_DUMP_STATS_AT(count_label);
    return (double)(t1 - t0) / (double)pairs;
}

#define LIVE (1u << 20)
static double run_random(const struct allocator *a, size_t size, size_t ops, void **live)
{
    uint64_t x = 0x2545F4914F6CDD1DULL;
    for (size_t i = 0; i < LIVE; i++) {
        live[i] = a->alloc(pick_size(size, next_rand(&x)));
        *(volatile char *)live[i] = 1;
    }
    if (count_label)
        CALLGRIND_ZERO_STATS;
    uint64_t t0 = now_ns();
    for (size_t n = 0; n < ops; n++) {
        uint64_t r = next_rand(&x);
        size_t i = r & (LIVE - 1);
        a->release(live[i]);
        live[i] = a->alloc(pick_size(size, r));
        *(volatile char *)live[i] = 1;
    }
    uint64_t t1 = now_ns();
    if (count_label)
        CALLGRIND_DUMP_STATS_AT(count_label);
    for (size_t i = 0; i < LIVE; i++)
        a->release(live[i]);
    return (double)(t1 - t0) / (double)ops;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_RUNS 101
#define LIFO_PAIRS (4u << 20)
#define RANDOM_OPS (1u << 20)
static const size_t sizes[] = {16, 64, 256, 512, 0};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static const char *size_label(size_t size, char *buf, size_t len)
{
    if (size)
        snprintf(buf, len, "%zu", size);
    else
        snprintf(buf, len, "16-512");
    return buf;
}

/* One short run per row of rcrt and pymalloc, each timed loop dumped by callgrind. */
static int count_mode(const struct allocator *al, int have_py, void **live)
{
    for (int w = 0; w < 2; w++)
        for (size_t s = 0; s < NSIZES; s++)
            for (int k = 0; k < 3; k += 2) {
                if (k == 2 && !have_py)
                    continue;
                char label[96], sz[24];
                size_t pairs = 1u << 18;
                snprintf(label, sizeof label, "%s %s %s %zu", w == 0 ? "lifo" : "random",
                         size_label(sizes[s], sz, sizeof sz), al[k].name, pairs);
                count_label = label;
                if (w == 0)
                    run_lifo(&al[k], sizes[s], pairs);
                else
                    run_random(&al[k], sizes[s], pairs, live);
                count_label = NULL;
            }
    return 0;
}

int main(int argc, char **argv)
{
    int runs = 15, random_runs = 9, count = 0, only = -1;
    long only_size = -1; /* -1 every size, 0 mixed */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--random-runs") == 0 && i + 1 < argc)
            random_runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--count") == 0)
            count = 1;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = strcmp(argv[++i], "random") == 0;
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            only_size = strcmp(argv[++i], "mixed") == 0 ? 0 : atol(argv[i]);
        else {
            fprintf(stderr, "usage: bench_alloc [--runs N] [--random-runs N] [--only lifo|random] "
                            "[--size N|mixed] [--count]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS || random_runs < 1 || random_runs > MAX_RUNS) {
        fprintf(stderr, "bench_alloc: runs must be 1..%d\n", MAX_RUNS);
        return 2;
    }
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
    if (live == NULL)
        return 1;
    if (count)
        return count_mode(al, have_py, live);

    printf("allocator: ns per malloc+free pair; ratio = median over runs of rcrt/pymalloc in the "
           "same run\n(%d lifo / %d random runs, allocators interleaved, order rotated each "
           "run; won = runs rcrt was faster)\n",
           runs, random_runs);
    printf("%-8s %-7s %9s %9s %9s %14s %7s  %s\n", "workload", "size", "rcrt", "glibc",
           "pymalloc", "rcrt/pymalloc", "won", "verdict");
    int all_ok = 1;
    for (int w = 0; w < 2; w++) {
        for (size_t s = 0; s < NSIZES; s++) {
            if ((only >= 0 && only != w) || (only_size >= 0 && (size_t)only_size != sizes[s]))
                continue;
            int n = w == 0 ? runs : random_runs;
            double v[3][MAX_RUNS], ratio[MAX_RUNS], med[3] = {0, 0, 0};
            int won = 0;
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < 3; j++) {
                    int k = (j + r) % 3;
                    if (k == 2 && !have_py)
                        continue;
                    v[k][r] = w == 0 ? run_lifo(&al[k], sizes[s], LIFO_PAIRS)
                                     : run_random(&al[k], sizes[s], RANDOM_OPS, live);
                }
                if (have_py) {
                    ratio[r] = v[0][r] / v[2][r];
                    won += ratio[r] < 1.0;
                }
            }
            for (int k = 0; k < 3; k++)
                if (k < 2 || have_py)
                    med[k] = median_of(v[k], n);
            char label[24];
            size_label(sizes[s], label, sizeof label);
            if (!have_py) {
                printf("%-8s %-7s %9.1f %9.1f %9s %14s %7s  %s\n", w == 0 ? "lifo" : "random",
                       label, med[0], med[1], "n/a", "n/a", "-", "-");
                all_ok = 0;
                continue;
            }
            double mr = median_of(ratio, n);
            int ok = mr <= 1.0;
            all_ok &= ok;
            printf("%-8s %-7s %9.1f %9.1f %9.1f %14.3f %4d/%-2d  %s\n",
                   w == 0 ? "lifo" : "random", label, med[0], med[1], med[2], mr, won, n,
                   ok ? "met" : "NOT met");
        }
    }
    printf("target rcrt <= pymalloc on every row (median ratio <= 1.00): %s\n",
           all_ok ? "met" : "NOT met");
    free(live);
    return 0;
}
