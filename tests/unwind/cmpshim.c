/* A test-only LD_PRELOAD library: in every malloc of the program it takes the stack with both
 * unw_backtrace and lg_unwind_backtrace, from the same call instruction, and counts the calls
 * whose buffers differ. dlclose is wrapped to call lg_unwind_flush(). At exit it appends one
 * line to $LGUNW_CMP_OUT (or stderr):
 *   lgunw-cmp pid=P calls=N mismatches=M fast=F fallback=B fills=R bad=X frames=T
 * The first few mismatches are printed in full on stderr. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include "unwind.h"

#define MAXF 128

extern void *__libc_malloc(size_t);

static __thread int in_hook __attribute__((tls_model("initial-exec")));
static atomic_int ready;
static _Atomic unsigned long calls, mismatches, frames;
static int (*const fns[2])(void **, int) = {unw_backtrace, lg_unwind_backtrace};
static volatile int two = 2;

__attribute__((noinline)) static int grab(int w, void **buf, int max)
{
    int r = fns[w](buf, max);
    __asm__ volatile("" ::: "memory");
    return r;
}

static void say(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

__attribute__((noinline)) static void compare(void)
{
    void *b[2][MAXF];
    int n[2];
    for (int w = 0; w < two; w++) n[w] = grab(w, b[w], MAXF);
    atomic_fetch_add(&calls, 1);
    atomic_fetch_add(&frames, (unsigned long)n[0]);
    if (n[0] == n[1] && memcmp(b[0], b[1], sizeof(void *) * (size_t)n[0]) == 0) return;
    if (atomic_fetch_add(&mismatches, 1) >= 3) return;
    char line[512];
    snprintf(line, sizeof line, "lgunw-cmp MISMATCH pid %d: unw %d frames, lg %d frames\n",
             (int)getpid(), n[0], n[1]);
    say(line);
    for (int i = 0; i < (n[0] > n[1] ? n[0] : n[1]); i++) {
        Dl_info di;
        void *a = i < n[0] ? b[0][i] : i < n[1] ? b[1][i] : NULL;
        const char *mod = dladdr(a, &di) && di.dli_fname ? di.dli_fname : "?";
        const char *sym = dladdr(a, &di) && di.dli_sname ? di.dli_sname : "?";
        snprintf(line, sizeof line, "  %3d %18p %18p %s %s%s\n", i, i < n[0] ? b[0][i] : NULL,
                 i < n[1] ? b[1][i] : NULL, mod, sym,
                 (i < n[0] && i < n[1] && b[0][i] == b[1][i]) ? "" : "  <--");
        say(line);
    }
}

void *malloc(size_t size)
{
    void *p = __libc_malloc(size);
    if (in_hook || !atomic_load_explicit(&ready, memory_order_relaxed)) return p;
    in_hook = 1;
    compare();
    in_hook = 0;
    return p;
}

int dlclose(void *h)
{
    static int (*real)(void *);
    if (!real) real = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    int r = real(h);
    lg_unwind_flush();
    return r;
}

__attribute__((constructor)) static void start(void)
{
    in_hook = 1;
    if (lg_unwind_init() == 0) atomic_store(&ready, 1);
    in_hook = 0;
}

__attribute__((destructor)) static void finish(void)
{
    in_hook = 1;
    lg_unwind_stats_t st;
    lg_unwind_get_stats(&st);
    char line[256];
    snprintf(line, sizeof line,
             "lgunw-cmp pid=%d calls=%lu mismatches=%lu fast=%lu fallback=%lu fills=%lu bad=%lu "
             "frames=%lu\n",
             (int)getpid(), atomic_load(&calls), atomic_load(&mismatches), st.fast, st.fallback,
             st.fills, st.bad_rules, atomic_load(&frames));
    const char *out = getenv("LGUNW_CMP_OUT");
    int fd = out ? open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : 2;
    if (fd >= 0) {
        ssize_t r = write(fd, line, strlen(line));
        (void)r;
        if (fd != 2) close(fd);
    }
}
