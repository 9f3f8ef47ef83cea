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


#ifdef __cplusplus
#include <atomic>
static std::atomic<long> cmp_checks{0}, cmp_failures{0}, cmp_frames{0}, cmp_memo_hits{0};
#define CMP_INC(x, v) ((x) += (v))
#define CMP_GET(x) ((x).load())
#else
#include <stdatomic.h>
static _Atomic long cmp_checks, cmp_failures, cmp_frames, cmp_memo_hits;
#define CMP_INC(x, v) atomic_fetch_add(&(x), (v))
#define CMP_GET(x) atomic_load(&(x))
#endif

#include <sys/mman.h>

/* lg_unwind_memo as a backtrace: a hit gives back the frames stored when the remembered walk
 * ran (its value is their index in this thread's store), so a wrong hit shows as a mismatch.
 * Its own frame is dropped: the result starts at its caller, like the other two. */
#define CMP_STORE 8192
static __thread lg_unw_memo_set_t *cmp_memo;
static __thread void **cmp_store;      /* CMP_STORE stacks of CMP_MAXF + 1 words: n, frames */
static __thread unsigned cmp_nstored;

__attribute__((noinline)) static int cmp_memo_bt(void **buf, int max)
{
    if (!cmp_memo) {
        void *m = mmap(NULL, sizeof *cmp_memo, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        void *s = mmap(NULL, sizeof(void *) * (CMP_MAXF + 2) * CMP_STORE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED || s == MAP_FAILED) return -1;
        cmp_store = (void **)s;
        cmp_memo = (lg_unw_memo_set_t *)m;
    }
    void *tmp[CMP_MAXF + 1];
    lg_unw_memo_t *e = NULL;
    int n = lg_unwind_memo(tmp, max + 1, cmp_memo, &e);
    if (n == LG_UNW_HIT) {
        void **st = cmp_store + (size_t)e->value * (CMP_MAXF + 2);
        n = (int)(intptr_t)st[0];
        memcpy(buf, st + 1, sizeof(void *) * (size_t)n);
        CMP_INC(cmp_memo_hits, 1);
        return n;
    }
    if (n < 0) n = lg_unwind_backtrace(tmp, max + 1);
    if (n <= 0) return n;
    n--;
    memcpy(buf, tmp + 1, sizeof(void *) * (size_t)n);
    if (e && cmp_nstored < CMP_STORE) {
        unsigned i = cmp_nstored++;
        void **st = cmp_store + (size_t)i * (CMP_MAXF + 2);
        st[0] = (void *)(intptr_t)n;
        memcpy(st + 1, buf, sizeof(void *) * (size_t)n);
        e->value = i;
    } else if (e) {
        e->nreads = 0; /* store full: forget the walk */
    }
    return n;
}

typedef int (*cmp_bt_fn)(void **, int);
static cmp_bt_fn cmp_fns[3] = {unw_backtrace, lg_unwind_backtrace, cmp_memo_bt};
static volatile int cmp_two = 3;

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
    void *b[3][CMP_MAXF];
    int n[3];
    if (max > CMP_MAXF) max = CMP_MAXF;
    for (int w = 0; w < cmp_two; w++) n[w] = cmp_grab(w, b[w], max);
    CMP_INC(cmp_checks, 1);
    CMP_INC(cmp_frames, n[0]);
    if (n[0] == n[1] && memcmp(b[0], b[1], sizeof(void *) * (size_t)(n[0] > 0 ? n[0] : 0)) == 0 &&
        n[0] == n[2] && memcmp(b[0], b[2], sizeof(void *) * (size_t)(n[0] > 0 ? n[0] : 0)) == 0)
        return;
    if (n[0] == n[1] && memcmp(b[0], b[1], sizeof(void *) * (size_t)(n[0] > 0 ? n[0] : 0)) == 0) {
        n[1] = n[2]; /* lg_unwind_backtrace agreed: show the memo's answer */
        memcpy(b[1], b[2], sizeof(void *) * (size_t)(n[2] > 0 ? n[2] : 0));
        cmp_say("(memo) ");
    }
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
