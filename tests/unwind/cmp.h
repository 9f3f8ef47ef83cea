/* Shared by the unwinder tests: compare lg_unwind_backtrace with unw_backtrace from the very
 * same call instruction (grab() calls both through one indirect call, from one call site in
 * compare_here()), so the whole buffers, buf[0] included, must be identical. */
#ifndef LG_UNWIND_TEST_CMP_H
#define LG_UNWIND_TEST_CMP_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include "unwind.h"

#define CMP_MAXF 300

typedef int (*cmp_bt_fn)(void **, int);
static cmp_bt_fn cmp_fns[2] = {unw_backtrace, lg_unwind_backtrace};
static volatile int cmp_two = 2;
#ifdef __cplusplus
#include <atomic>
static std::atomic<long> cmp_checks{0}, cmp_failures{0}, cmp_frames{0};
#define CMP_INC(x, v) ((x) += (v))
#define CMP_GET(x) ((x).load())
#else
#include <stdatomic.h>
static _Atomic long cmp_checks, cmp_failures, cmp_frames;
#define CMP_INC(x, v) atomic_fetch_add(&(x), (v))
#define CMP_GET(x) atomic_load(&(x))
#endif

__attribute__((noinline)) static int cmp_grab(int w, void **buf, int max)
{
    int r = cmp_fns[w](buf, max);
    __asm__ volatile("" ::: "memory");
    return r;
}

/* Async-signal-safe report (snprintf into a stack buffer, write(2)). */
static void cmp_say(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

__attribute__((noinline)) static void compare_here(const char *what, int max)
{
    void *b[2][CMP_MAXF];
    int n[2];
    if (max > CMP_MAXF) max = CMP_MAXF;
    for (int w = 0; w < cmp_two; w++) n[w] = cmp_grab(w, b[w], max);
    CMP_INC(cmp_checks, 1);
    CMP_INC(cmp_frames, n[0]);
    if (n[0] == n[1] && memcmp(b[0], b[1], sizeof(void *) * (size_t)(n[0] > 0 ? n[0] : 0)) == 0)
        return;
    long f = CMP_INC(cmp_failures, 1);
    if (f >= 3) return;
    char line[160];
    snprintf(line, sizeof line, "MISMATCH at %s (max %d): unw %d frames, lg %d frames\n", what,
             max, n[0], n[1]);
    cmp_say(line);
    for (int i = 0; i < (n[0] > n[1] ? n[0] : n[1]); i++) {
        snprintf(line, sizeof line, "  %3d %18p %18p%s\n", i, i < n[0] ? b[0][i] : NULL,
                 i < n[1] ? b[1][i] : NULL,
                 (i < n[0] && i < n[1] && b[0][i] == b[1][i]) ? "" : "  <--");
        cmp_say(line);
    }
}

/* Several truncations of the same stack. */
__attribute__((noinline)) static void compare_maxes(const char *what)
{
    static const int maxes[] = {1, 2, 3, 7, 20, 64, CMP_MAXF};
    for (unsigned i = 0; i < sizeof maxes / sizeof maxes[0]; i++) compare_here(what, maxes[i]);
}
#endif
