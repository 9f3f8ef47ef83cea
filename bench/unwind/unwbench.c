/* Micro-benchmark: ns per backtrace of unw_backtrace (libunwind's per-thread cache, as the
 * shim uses it) and lg_unwind_backtrace (preload/unwind.c), at several stack depths.
 *   lg_unwind_bench [--iters N] [--runs R] [--depths 10,20,40] [--impl both|unw|lg|none]
 * Each run times N captures per implementation at each depth (implementations interleaved
 * run by run); the table gives the median ns per capture over the runs. The depth is the
 * number of frames unw_backtrace returns (recursion frames + main, libc start, _start).
 * --impl X --runs 1 is for instruction counting under callgrind (bench/unwind/run.sh). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include "unwind.h"

#define MAXF 128
typedef int (*bt_fn)(void **, int);
static volatile long sink;

typedef struct {
    bt_fn fn;
    long iters;
    double ns;
    int frames;
} job_t;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

__attribute__((noinline)) static void leaf(job_t *j)
{
    void *buf[MAXF];
    int n = 0;
    double t0 = now_ns();
    if (j->fn)
        for (long i = 0; i < j->iters; i++) {
            n = j->fn(buf, MAXF);
            sink += (long)buf[n - 1];
        }
    j->ns = (now_ns() - t0) / (double)(j->iters ? j->iters : 1);
    j->frames = n;
}

__attribute__((noinline)) static void rec(int d, job_t *j)
{
    if (d <= 0)
        leaf(j);
    else
        rec(d - 1, j);
    sink++; /* no tail call */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long iters = 200000;
    int runs = 7;
    const char *depths = "10,20,40", *impl = "both";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--iters")) iters = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs")) runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--depths")) depths = argv[i + 1];
        else if (!strcmp(argv[i], "--impl")) impl = argv[i + 1];
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (runs < 1 || runs > 99 || iters < 1) return 2;
    if (lg_unwind_init() != 0) {
        fprintf(stderr, "lg_unwind_init failed\n");
        return 1;
    }
    /* frames below rec(0): leaf, rec(0), main, libc's two, _start */
    job_t probe = {unw_backtrace, 1, 0, 0};
    rec(0, &probe);
    int base = probe.frames;

    bt_fn fns[2] = {unw_backtrace, lg_unwind_backtrace};
    const char *names[2] = {"unw_backtrace", "lg_unwind_backtrace"};
    int use[2] = {!strcmp(impl, "both") || !strcmp(impl, "unw"),
                  !strcmp(impl, "both") || !strcmp(impl, "lg")};
    if (!strcmp(impl, "none")) { /* the same loops without captures: callgrind baseline */
        for (const char *p = depths; *p;) {
            int d = atoi(p);
            job_t j = {NULL, iters, 0, 0};
            rec(d - base, &j);
            p = strchr(p, ',') ? strchr(p, ',') + 1 : "";
        }
        return 0;
    }
    printf("%-7s %-24s %-24s %s\n", "frames", "unw_backtrace ns (min)", "lg_unwind ns (min)",
           "speedup (median)");
    for (const char *p = depths; *p;) {
        int d = atoi(p);
        double t[2][99];
        int frames[2] = {0, 0};
        for (int r = 0; r < runs; r++)
            for (int w = 0; w < 2; w++) {
                if (!use[w]) continue;
                job_t j = {fns[w], iters, 0, 0};
                rec(d - base > 0 ? d - base : 0, &j);
                t[w][r] = j.ns;
                frames[w] = j.frames;
            }
        double med[2] = {0, 0}, mn[2] = {0, 0};
        for (int w = 0; w < 2; w++) {
            if (!use[w]) continue;
            qsort(t[w], (size_t)runs, sizeof(double), cmp_double);
            med[w] = t[w][runs / 2];
            mn[w] = t[w][0];
        }
        if (use[0] && use[1] && frames[0] != frames[1]) {
            fprintf(stderr, "frame counts differ: %s %d, %s %d\n", names[0], frames[0], names[1],
                    frames[1]);
            return 1;
        }
        printf("%-7d %7.1f (%7.1f)         %7.1f (%7.1f)         %s%.2fx\n",
               frames[use[0] ? 0 : 1], med[0], mn[0], med[1], mn[1], "", use[0] && use[1] ? med[0] / med[1] : 0.0);
        p = strchr(p, ',') ? strchr(p, ',') + 1 : "";
    }
    return 0;
}
