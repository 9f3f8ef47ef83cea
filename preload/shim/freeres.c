/* shim/freeres.c: before the exit check, frees what the C and C++ runtimes keep until exit
 * on purpose (__libc_freeres, __gnu_cxx::__freeres), as Memcheck does before its leak check,
 * so their caches are not reported. It must never run while another thread may run again
 * (that thread may still use what would be freed), nor while a stopped thread may hold a lock
 * it takes (check.c, "exit with other threads"), and never anywhere but at the very end. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* Is this the only thread left? Counts the entries of /proc/self/task. */
static bool single_threaded(void)
{
    char buf[4096];
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    int threads = 0;
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long off = 0; off < n;) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            if (name[0] != '.') threads++;
            off += reclen;
        }
    close(fd);
    return threads == 1;
}

static void (*g_cxx_freeres)(void), (*g_libc_freeres)(void);

/* Finds the two functions (dlsym takes the loader's lock: never with other threads stopped). */
static void resolve_freeres(void)
{
    g_cxx_freeres = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZN9__gnu_cxx9__freeresEv");
    g_libc_freeres = (void (*)(void))dlsym(RTLD_DEFAULT, "__libc_freeres");
}

static void freeres_now(void)
{
    if (g_cxx_freeres) g_cxx_freeres();
    if (g_libc_freeres) g_libc_freeres();
    g_freeres_ran = true;
}

/* At exit, before the check: alone, now. With other threads, the exit check decides (below). */
static void run_freeres(void)
{
    if (!single_threaded()) return; /* others may still use what would be freed */
    resolve_freeres();
    freeres_now();
}

/* A thread that blocks the stop signal (xz's workers block every signal) is not stopped, but
 * it cannot run again before exit_group either if it waits, in the C library's code, on a
 * private futex without a timeout: only another thread of this process could wake it, and
 * all of them are stopped. /proc/self/task/TID/syscall says "NR arg1..arg6 sp pc" of the call
 * it is blocked in ("running" if none). */
static bool blocked_for_good(pid_t tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    unsigned long long v[9];
    char *p = buf;
    for (int i = 0; i < 9; i++) {
        char *end;
        v[i] = strtoull(p, &end, i ? 16 : 10);
        if (end == p) return false;
        p = end;
    }
    unsigned op = (unsigned)v[2] & ~(unsigned)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    bool wait = op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET;
    if (v[0] != SYS_futex || !wait || !(v[2] & FUTEX_PRIVATE_FLAG) || v[4] != 0) return false;
    for (uint32_t i = 0; i < g_nlock_code; i++) /* in the C library's code */
        if (v[8] >= g_lock_code[i].lo && v[8] < g_lock_code[i].hi) return g_lock_code[i].waits_ok;
    return false;
}

/* The exit check, with every other thread stopped and the stdio list lock held (check.c,
 * "exit with other threads"): runs freeres if each was stopped where it holds no lock that
 * freeres takes (or blocks the stop signal and waits for good, see above). Returns true if it
 * ran: the caller then keeps them stopped for good. resolve_freeres ran before the others
 * were stopped. */
static bool freeres_others_stopped(const lg_snap_ctl_t *sc)
{
    if (g_freeres_ran) return false;
    for (uint32_t i = 0; i < sc->nthreads; i++) {
        const lg_snap_thread_t *t = &sc->threads[i];
        uint32_t st = atomic_load(&t->state);
        if (st == LG_TS_PENDING && blocked_for_good(t->tid)) continue;
        if (st != LG_TS_SAVED || (t->flags & LG_TF_UNSAFE)) return false;
    }
    freeres_now();
    return true;
}
