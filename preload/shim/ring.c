/* shim/ring.c: the region and its rings on the producer side (trace/region.h owns the layout
 * and the ring protocol). It creates the region of this process image (a memfd, sent to the
 * collector: `leakgraph run`'s, or the one the shim started, shim/own_collector.c), gives each
 * thread a ring slot (slot 0 is shared under a spin lock) and takes it back at thread exit,
 * and waits for space when a ring is full.
 * The region reaches the `leakgraph run` collector as a descriptor sent over the session
 * socket (create_session_region; the program keeps none of ours).
 * It must never drop an event silently (a record that cannot be written is counted in `lost`)
 * and never wait forever: every wait on the collector goes through its watchdog,
 * wait_on_collector(), which ends it (and tracing) when the collector is gone, gave up on this
 * image or stopped beating. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

static bool collector_alive(void);

static lg_stream_t *new_streams(void)
{
    lg_stream_t *s = map_anon(sizeof(lg_stream_t) * LG_RINGS);
    if (s)
        for (uint32_t i = 0; i < LG_RINGS; i++) s[i] = (lg_stream_t){.last_seq = -1};
    return s;
}

static void init_region_header(lg_region_t *r, uint32_t state)
{
    r->hdr.version = LG_REGION_VERSION;
    r->hdr.nrings = LG_RINGS;
    r->hdr.ring_bytes = LG_RING_BYTES;
    r->hdr.self_addr = (uint64_t)(uintptr_t)r; /* a forked child maps it at the same address */
    atomic_store(&r->hdr.state, state);
}

/* Run mode: a new region (a memfd, region.h), header not initialized yet (magic unset), sent
 * to the collector through the session socket; its descriptor is closed before this returns,
 * so the program never holds one of ours. The socket's queue is short (a few messages) and
 * the collector empties it every round: a full queue is waited for, under the same bound as
 * any wait on the collector (wait_on_collector's: its liveness, LG_COLLECTOR_SILENT_NS).
 * NULL with errno set when the region cannot be made or handed over: this image (or the
 * child a fork is making) is then not traced, and the caller says why. */
static lg_region_t *create_session_region(void)
{
    int fd;
    lg_region_t *r = lg_region_create_memfd(&fd);
    if (!r) return NULL;
    uint64_t since = now_ns(CLOCK_MONOTONIC), checked = since;
    int rc;
    while ((rc = lg_region_send_fd(g_session, fd)) == -EAGAIN || rc == -EINTR) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        if (now - checked >= LG_WAIT_CHECK_NS) {
            checked = now;
            if (!atomic_load(&g_sandboxed) && !collector_alive()) { /* kill(): a filter may deny it */
                rc = -ECONNREFUSED;
                break;
            }
        }
        if (now - since >= LG_COLLECTOR_SILENT_NS) {
            rc = -ETIMEDOUT;
            break;
        }
    }
    close(fd);
    if (rc == 0) return r;
    lg_region_unmap(r);
    errno = -rc;
    return NULL;
}

/* Makes `r` visible to the collector. */
static void publish_region(lg_region_t *r)
{
    atomic_store_explicit(&r->hdr.magic, LG_REGION_MAGIC, memory_order_release);
}

static pid_t my_tid(void)
{
    if (UNLIKELY(tls.tid == 0)) tls.tid = (pid_t)syscall(SYS_gettid);
    return tls.tid;
}

/* Takes a free ring slot for this thread (or one left by a thread that died), else the
 * shared slot 0. */
static uint32_t claim_ring(void)
{
    pid_t tid = my_tid();
    uint32_t idx = 0;
    for (uint32_t i = 1; i < LG_RINGS && !idx; i++) {
        uint32_t z = 0;
        if (atomic_compare_exchange_strong(&g_region->rings[i].owner, &z, (uint32_t)tid)) idx = i;
    }
    for (uint32_t i = 1; i < LG_RINGS && !idx; i++) {
        uint32_t o = atomic_load(&g_region->rings[i].owner);
        if (o && syscall(SYS_tgkill, getpid(), (pid_t)o, 0) != 0 && errno == ESRCH &&
            atomic_compare_exchange_strong(&g_region->rings[i].owner, &o, (uint32_t)tid))
            idx = i;
    }
    tls.ring = idx;
    tls.gen = atomic_load(&g_gen);
    pthread_setspecific(g_thread_key, (void *)1); /* so thread exit releases the slot */
    return idx;
}

static inline bool have_pending(void); /* record.c */
static void write_pending(void);       /* record.c */

static void release_ring(void *unused)
{
    (void)unused;
    if (have_pending() && tls.gen == atomic_load(&g_gen) && atomic_load(&g_state) == ST_TRACING) {
        tls.guard++; /* a signal handler's events (record.c) before the ring goes */
        write_pending();
        tls.guard--;
    }
    rc_fold_counts();
    if (tls.gen == atomic_load(&g_gen) && tls.ring != 0 && g_region)
        atomic_store(&g_region->rings[tls.ring].owner, 0);
    tls.gen = 0;
}

/* Is the `leakgraph run` process that drains our region still there? A zombie is not: kill()
 * still succeeds on it, so its state is read from /proc. No allocation. */
static bool collector_alive(void)
{
    if (g_collector_pid <= 0) return true;
    if (kill(g_collector_pid, 0) != 0 && errno == ESRCH) return false;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)g_collector_pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno != ENOENT;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return true;
    buf[n] = 0;
    const char *q = strrchr(buf, ')');
    return !(q && q[1] == ' ' && (q[2] == 'Z' || q[2] == 'X'));
}

/* The watchdog of every wait of the shim on its collector (for ring space, for a check). The
 * wait's state is one word, 0 at its start (so a caller needs no more than `uint64_t w = 0`):
 *   bits 0-35   this process's CLOCK_MONOTONIC in microseconds (mod 2^36, 19 hours) when the
 *               collector last showed life: its beat (hdr.collector_beat, bumped every round)
 *               changed, or the wait began;
 *   bits 36-47  the LG_WAIT_CHECK_NS period (mod 4096) of the last liveness check;
 *   bits 48-63  the beat last seen (mod 65536: ~65 s of rounds, far above a period).
 * Only this process's clock is read, so a time namespace cannot skew the bound. */
#define LG_WAIT_SINCE_MASK ((1ull << 36) - 1)
#define LG_WAIT_PERIOD(w) (((w) >> 36) & 0xfffu)
#define LG_WAIT_BEAT(w) ((uint32_t)((w) >> 48))
#define LG_WAIT_WORD(since, period, beat) \
    (((since) & LG_WAIT_SINCE_MASK) | ((uint64_t)((period) & 0xfffu) << 36) | ((uint64_t)(beat) << 48))
_Static_assert(LG_COLLECTOR_CHECK_NS / 1000 < LG_WAIT_SINCE_MASK / 2, "the clock must not wrap");

/* Sleeps `ns` nanoseconds of a wait on the collector and says whether to go on waiting. Every
 * call reads two words of the region (no system call); once a period (LG_WAIT_CHECK_NS) it
 * also checks that the collector process lives. It stops (returns false, after stop_tracing()
 * said why) when the collector is gone, when it gave up on this image, or when it has not
 * beaten for LG_COLLECTOR_SILENT_NS (LG_COLLECTOR_CHECK_NS while it says it is taking a
 * check). So no wait on the collector is longer than LG_COLLECTOR_CHECK_NS, and a silent
 * collector costs the program LG_COLLECTOR_SILENT_NS once: tracing is then off. */
static bool wait_on_collector(uint64_t *waited, long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
    uint64_t now = now_ns(CLOCK_MONOTONIC) / 1000;
    uint32_t cs = atomic_load_explicit(&g_region->hdr.collector_state, memory_order_acquire);
    uint32_t beat = (uint16_t)atomic_load_explicit(&g_region->hdr.collector_beat,
                                                   memory_order_relaxed);
    uint32_t period = (uint32_t)(now / (LG_WAIT_CHECK_NS / 1000));
    uint64_t w = *waited;
    if (cs == LG_CS_GAVE_UP) {
        stop_tracing("the leakgraph collector gave up on this process (it said why)");
        return false;
    }
    if (w == 0 || beat != LG_WAIT_BEAT(w)) { /* the wait begins, or the collector beat */
        *waited = LG_WAIT_WORD(now, period, beat);
        return true;
    }
    if ((period & 0xfffu) != LG_WAIT_PERIOD(w)) { /* once a period: does it live? */
        if (!atomic_load(&g_sandboxed) && !collector_alive()) { /* kill(): a filter may deny it */
            stop_tracing("the leakgraph collector is gone");
            return false;
        }
        *waited = LG_WAIT_WORD(w, period, beat);
    }
    uint64_t silent = (now - w) & LG_WAIT_SINCE_MASK;
    uint64_t limit = cs == LG_CS_CHECKING ? LG_COLLECTOR_CHECK_NS : LG_COLLECTOR_SILENT_NS;
    if (silent < limit / 1000) return true;
    char why[96];
    snprintf(why, sizeof why, "the leakgraph collector did not answer for %llu s",
             (unsigned long long)(silent / 1000000u));
    stop_tracing(why);
    return false;
}

/* Waits until `need` bytes fit in the ring at `head`. Returns false if tracing stopped. */
__attribute__((noinline, cold)) static bool wait_space(lg_ring_t *ring, uint64_t head, size_t need)
{
    uint64_t waited = 0;
    while (head + need - atomic_load_explicit(&ring->tail, memory_order_acquire) > LG_RING_BYTES) {
        if (atomic_load(&g_state) != ST_TRACING) return false;
        if (!wait_on_collector(&waited, 50000)) return false;
    }
    return true;
}
