/* shim/waits.c: the waits a stop would cut short. For a check, the collector stops the other
 * threads with ptrace (analyzer/collect/stop.c), and the kernel restarts nearly every wait a
 * stop interrupts as if nothing had happened (nanosleep and poll with the time left, futex
 * waits, read); epoll_wait, epoll_pwait and epoll_pwait2 it ends with EINTR instead, as it does
 * at SIGSTOP and SIGCONT (signal(7)). So a thread waiting there is not stopped but parked: the
 * wrappers below publish its stack pointer in its ring (park_sp, trace/region.h) with every
 * callee-saved register of its callers saved on its stack above it (__builtin_unwind_init), so
 * the scan finds there all that a stopped thread's registers would hold; the C library's own
 * wrapper below keeps nothing of the program's. A parked thread whose wait ends while the
 * collector holds the threads (parked_wait set) waits in park_end until it lets them go.
 * Preloaded by hand, the `leakgraph __snapshot` helper reads the rings and sets parked_wait
 * in this process's memory (no futex wake: the wait below re-reads it every millisecond), and
 * the checking thread clears it when the check is over.
 * Not parked (stopped as any other thread, its wait then ends with EINTR): a thread on the
 * shared ring slot 0, a wait made with a direct system call, and any wait when the threads are
 * stopped with the stop signal (no ptrace). */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* Marks this thread parked (inlined into the wrapper: park_sp is the wrapper's own stack
 * pointer, below the registers it saved). Returns its ring, or NULL if it does not park. */
static inline __attribute__((always_inline)) lg_ring_t *park_begin(void)
{
    if (!tracing() || tls.guard > 0 || !g_region) return NULL;
    tls.guard++;
    uint32_t ri = tls.gen == atomic_load(&g_gen) ? tls.ring : claim_ring();
    tls.guard--;
    if (ri == 0) return NULL;
    lg_ring_t *ring = &g_region->rings[ri];
    uintptr_t sp;
#if defined(__x86_64__)
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#else
    return NULL;
#endif
    atomic_store(&ring->park_sp, (uint64_t)sp); /* then the wait: the collector may read it */
    return ring;
}

/* The wait ended: unparks, then waits while the collector holds the threads. */
static void park_end(lg_ring_t *ring)
{
    int e = errno;
    atomic_store(&ring->park_sp, 0); /* before reading parked_wait (stop.c: one of us sees) */
    lg_snap_ctl_t *sc = &g_region->snap;
    uint64_t waited = 0;
    while (atomic_load(&sc->parked_wait)) {
        struct timespec ts = {0, 1000000};
        syscall(SYS_futex, (uint32_t *)&sc->parked_wait, FUTEX_WAIT, 1u, &ts, NULL, 0);
        if (!wait_on_collector(&waited, 0)) break; /* the collector is gone */
    }
    errno = e;
}

EXPORT int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    __builtin_unwind_init();
    lg_ring_t *ring = park_begin();
    int rc = real_epoll_wait ? real_epoll_wait(epfd, events, maxevents, timeout)
                             : (int)syscall(SYS_epoll_pwait, epfd, events, maxevents, timeout,
                                            NULL, (size_t)8);
    if (ring) park_end(ring);
    return rc;
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
                       const sigset_t *sigmask)
{
    __builtin_unwind_init();
    lg_ring_t *ring = park_begin();
    int rc = real_epoll_pwait ? real_epoll_pwait(epfd, events, maxevents, timeout, sigmask)
                              : (int)syscall(SYS_epoll_pwait, epfd, events, maxevents, timeout,
                                             sigmask, (size_t)8);
    if (ring) park_end(ring);
    return rc;
}

EXPORT int epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
                        const struct timespec *timeout, const sigset_t *sigmask)
{
    __builtin_unwind_init();
    if (!real_epoll_pwait2) { /* a C library without it: as that library would answer */
        errno = ENOSYS;
        return -1;
    }
    lg_ring_t *ring = park_begin();
    int rc = real_epoll_pwait2(epfd, events, maxevents, timeout, sigmask);
    if (ring) park_end(ring);
    return rc;
}
