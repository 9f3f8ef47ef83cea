/* lg_unwind_backtrace against unw_backtrace: identical buffers at many call sites and depths
 * (recursion 1..60 through plain, alloca and big-frame functions, through a shared library,
 * a dlopen'ed module (dlclose + lg_unwind_flush + reload), function pointers, signal
 * handlers on the thread stack and on an alternate stack, a second thread, truncation at
 * several max values), cold and warm cache. Built at -O0/-O2, with and without frame
 * pointers (CMakeLists.txt). Exit 0 only with zero mismatches and fast-path hits seen. */
#include "cmp.h"

#include <alloca.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "unwlib.h"

volatile long sink;
typedef void (*leaf_fn)(int);

static void leaf_checks(int tag)
{
    char what[32];
    snprintf(what, sizeof what, "leaf tag %d", tag);
    compare_maxes(what);
}

void rec(int d, leaf_fn leaf, int tag);

__attribute__((noinline)) static void rec_plain(int d, leaf_fn leaf, int tag)
{
    rec(d - 1, leaf, tag);
    sink += d;
}

__attribute__((noinline)) static void rec_vla(int d, leaf_fn leaf, int tag)
{
    char *p = alloca((size_t)(8 + d * 16));
    memset(p, 1, 8);
    rec(d - 1, leaf, tag);
    sink += p[d & 7];
}

__attribute__((noinline)) static void rec_big(int d, leaf_fn leaf, int tag)
{
    volatile char big[70000]; /* CFA offset beyond 16 bits */
    big[d] = (char)d;
    rec(d - 1, leaf, tag);
    sink += big[d];
}

static void (*const volatile rec_table[3])(int, leaf_fn, int) = {rec_plain, rec_vla, rec_big};

__attribute__((noinline)) void rec(int d, leaf_fn leaf, int tag)
{
    if (d <= 0) {
        leaf(tag);
        return;
    }
    rec_table[(d * 7 + tag) % 3](d, leaf, tag); /* through a function pointer */
    sink++;
}

/* ---- through the shared library and a dlopen'ed module -------------------------------- */
static void lib_leaf(int tag) { leaf_checks(1000 + tag); }

static void through_lib(int d) { unwlib_recurse(d, lib_leaf, d); }

static int through_module(const char *path, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
            return -1;
        }
        int (*entry)(int, unwlib_cb, int) = (int (*)(int, unwlib_cb, int))dlsym(h, "unwmod_entry");
        if (!entry) return -1;
        for (int d = 0; d < 12; d += 3) entry(d, lib_leaf, 2000 + d);
        dlclose(h);
        lg_unwind_flush();
    }
    return 0;
}

/* ---- twins: the same frames at the same addresses, different return addresses ------------
 * Called alternately from one loop, the leaf sees the same stack pointer and the same
 * registers each time; only a return address on the stack tells the stacks apart, which is
 * what the memo must notice. */
__attribute__((noinline)) static void twin_a(int tag)
{
    leaf_checks(tag);
    sink += tag;
}

__attribute__((noinline)) static void twin_b(int tag)
{
    leaf_checks(tag);
    sink += tag;
}

static void (*const volatile twins[2])(int) = {twin_a, twin_b};

/* ---- signals --------------------------------------------------------------------------- */
static void on_signal(int sig)
{
    compare_maxes(sig == SIGUSR1 ? "signal handler" : "signal handler on altstack");
    rec(5, leaf_checks, 3000 + sig); /* deeper inside the handler */
}

static void raise_leaf(int tag) { raise(tag); }

/* ---- a second thread ------------------------------------------------------------------- */
static void *worker(void *arg)
{
    (void)arg;
    for (int pass = 0; pass < 2; pass++)
        for (int d = 1; d <= 30; d++) rec(d, leaf_checks, 4000 + d);
    through_lib(7);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *module = argc > 1 ? argv[1] : NULL;
    if (lg_unwind_init() != 0) {
        fprintf(stderr, "lg_unwind_init failed\n");
        return 1;
    }
    compare_maxes("main");
    for (int pass = 0; pass < 2; pass++) { /* cold, then warm cache */
        for (int d = 1; d <= 60; d++) rec(d, leaf_checks, d);
        for (int d = 0; d <= 20; d += 4) through_lib(d);
    }
    rec(280, leaf_checks, 9); /* deeper than the buffers: truncation */
    long hits0 = CMP_GET(cmp_memo_hits), checks0 = CMP_GET(cmp_checks);
    for (int i = 0; i < 16; i++) twins[i & 1](7000 + (i & 1));
    for (int i = 0; i < 16; i++) twins[(i >> 1) & 1](7100);
    long twin_hits = CMP_GET(cmp_memo_hits) - hits0, twin_checks = CMP_GET(cmp_checks) - checks0;

#ifdef LG_UNWIND_STATS
    lg_unwind_stats_t before, after;
    lg_unwind_get_stats(&before);
#endif
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &sa, NULL);
    static char altstack[1 << 20]; /* room for rec_big frames */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&ss, NULL);
    for (int d = 0; d < 20; d += 5) {
        rec(d, raise_leaf, SIGUSR1);
        rec(d, raise_leaf, SIGUSR2);
    }
#ifdef LG_UNWIND_STATS
    lg_unwind_get_stats(&after);
    printf("signal handlers: %lu calls fell back, %lu fast\n", after.fallback - before.fallback,
           after.fast - before.fast);
#endif

    pthread_t th;
    pthread_create(&th, NULL, worker, NULL);
    for (int d = 1; d <= 30; d++) rec(d, leaf_checks, 5000 + d); /* concurrently */
    pthread_join(th, NULL);

    if (module && through_module(module, 3) != 0) return 1;
    for (int d = 1; d <= 10; d++) rec(d, leaf_checks, 6000 + d); /* after flushes */

    long checks = CMP_GET(cmp_checks), failures = CMP_GET(cmp_failures);
    printf("%ld comparisons (%ld frames), %ld mismatches, %ld memo hits\n", checks,
           CMP_GET(cmp_frames), failures, CMP_GET(cmp_memo_hits));
    printf("twins: %ld of %ld comparisons answered by the memo\n", twin_hits, twin_checks);
    if (twin_hits < twin_checks / 2) { /* each (twin, max) misses once, then repeats */
        printf("FAIL: the memo recognised too few repeated stacks\n");
        return 1;
    }
#ifdef LG_UNWIND_STATS
    lg_unwind_stats_t st;
    lg_unwind_get_stats(&st);
    printf("lg_unwind: %lu fast, %lu fallback (%.1f%% fast), %lu rules computed, %lu not "
           "cacheable\n",
           st.fast, st.fallback, 100.0 * (double)st.fast / (double)(st.fast + st.fallback),
           st.fills, st.bad_rules);
    if (st.fast < (unsigned long)checks / 2) {
        printf("FAIL: the fast path served too few calls\n");
        return 1;
    }
#endif
    return failures == 0 && checks > 0 ? 0 : 1;
}
