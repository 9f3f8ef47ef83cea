/* shim/support.c: the shim's own trouble and memory. say_once() is its one way to report
 * (once per process, on stderr); stop_tracing() turns tracing off for good and says why;
 * map_anon() hands out the shim's private memory (stream states, stack tables, interned
 * stacks) from chunks mapped as they are needed, each listed for a snapshot to exclude from
 * the roots (internal_ranges).
 * It must never allocate from the C library, never return memory, and never abort or crash the
 * traced program: on trouble the shim stops tracing, the program runs on. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* Says `msg` once per process on stderr (the shim's only way to report its own trouble), and
 * under `leakgraph run` in the session directory too (why.<pid>, read by run.c). */
static void say_once(const char *fmt, ...)
{
    if (atomic_exchange(&g_said, 1)) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(buf, sizeof buf, "leakgraph[%d]: ", (int)getpid());
    if (n > 0 && (size_t)n < sizeof buf) vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strnlen(buf, sizeof buf - 2);
    buf[len++] = '\n';
    ssize_t w = write(2, buf, len);
    (void)w;
    /* Under `leakgraph run`, also for the collector (why.<pid> in the session directory): if
     * this image never traced, run says this as the reason. */
    if (g_attached || !g_session[0] || atomic_load(&g_sandboxed) || n <= 0 || (size_t)n >= len)
        return; /* sandboxed: a seccomp filter may deny the open */
    char path[sizeof g_session + 32];
    snprintf(path, sizeof path, "%s/why.%d", g_session, (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return;
    w = write(fd, buf + n, len - (size_t)n);
    close(fd);
}

static uint64_t now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The shim's own memory (stream states, stack tables, interned stacks) comes from chunks
 * mapped as it is needed: the first LG_INTERNAL_FIRST_BYTES, each next one as large as all
 * before it (or the request), so the address space reserved stays within about twice what is
 * used, and LG_INTERNAL_CHUNKS chunks reach far beyond any real use. Every chunk is listed
 * (g_chunks) for a snapshot to tell the collector "never a root" (internal_ranges). Untouched
 * pages cost nothing (MAP_NORESERVE); nothing is ever returned (tables that grow leave their
 * old copy behind: at most as much again as the live tables).
 * Lock-free, no lock of its own and only mmap as a system call, so any thread may call it,
 * in a signal handler too: the common case is one atomic add in the current chunk; a thread
 * that finds it full maps a new chunk, lists it, and makes it current unless another thread
 * did so first (then the rest of its chunk stays unused: reserved, never touched). */
typedef struct lg_chunk {
    uint8_t *base;
    size_t size;
    _Atomic size_t used;  /* may pass size: the chunk is full */
    _Atomic uint32_t ready; /* base and size are set: listed for snapshots */
} lg_chunk_t;
static lg_chunk_t g_chunks[LG_INTERNAL_CHUNKS];
static _Atomic uint32_t g_nchunks;        /* slots taken in g_chunks */
static _Atomic int32_t g_chunk_cur = -1;  /* the chunk that serves, -1 before the first */
static _Atomic size_t g_internal_mapped;  /* bytes of all chunks */

/* Why `bytes` of address space could not be mapped, in buf: the limit and what is mapped
 * already when RLIMIT_AS is set, else the error. No allocation (a raw read of /proc). */
static const char *no_room_why(size_t bytes, int err, char *buf, size_t n)
{
    struct rlimit rl;
    if (err == ENOMEM && getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        unsigned long long vm_kib = 0;
        char st[4096];
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        ssize_t k = fd >= 0 ? read(fd, st, sizeof st - 1) : -1;
        if (fd >= 0) close(fd);
        const char *v = k > 0 ? (st[k] = 0, strstr(st, "VmSize:")) : NULL;
        if (v) vm_kib = strtoull(v + 7, NULL, 10);
        snprintf(buf, n, "cannot reserve %zu MiB of address space: RLIMIT_AS is %llu MiB, "
                 "%llu MiB of it in use", (bytes + (1u << 20) - 1) >> 20,
                 (unsigned long long)rl.rlim_cur >> 20, vm_kib >> 10);
    } else {
        snprintf(buf, n, "cannot reserve %zu MiB of address space: %s",
                 (bytes + (1u << 20) - 1) >> 20, strerror(err));
    }
    return buf;
}

/* A new chunk of at least n bytes (page multiple), listed and current; NULL if it cannot be
 * mapped (said once: before tracing starts the shim does not trace; later, the tables that
 * needed it go without: events lose their stacks or type names). */
static void *map_chunk(size_t n, int32_t cur)
{
    size_t size = atomic_load(&g_internal_mapped);
    if (size < LG_INTERNAL_FIRST_BYTES) size = LG_INTERNAL_FIRST_BYTES;
    if (size < n) size = (n + LG_INTERNAL_FIRST_BYTES - 1) & ~(size_t)(LG_INTERNAL_FIRST_BYTES - 1);
    uint32_t slot = atomic_load(&g_nchunks);
    do {
        if (slot >= LG_INTERNAL_CHUNKS) return NULL;
    } while (!atomic_compare_exchange_weak(&g_nchunks, &slot, slot + 1));
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m == MAP_FAILED) { /* the slot stays empty (never ready) */
        char why[256];
        say_once("%s; %s", no_room_why(size, errno, why, sizeof why),
                 cur < 0 ? "not tracing" : "events from here on may lack their stacks");
        return NULL;
    }
    lg_chunk_t *c = &g_chunks[slot];
    c->base = m;
    c->size = size;
    atomic_store(&c->used, n);
    atomic_store_explicit(&c->ready, 1, memory_order_release);
    atomic_fetch_add(&g_internal_mapped, size);
    atomic_compare_exchange_strong(&g_chunk_cur, &cur, (int32_t)slot);
    return m;
}

static void *map_anon(size_t n)
{
    n = (n + 4095) & ~(size_t)4095;
    int32_t cur = atomic_load_explicit(&g_chunk_cur, memory_order_acquire);
    if (LIKELY(cur >= 0)) {
        lg_chunk_t *c = &g_chunks[cur];
        size_t off = atomic_fetch_add(&c->used, n);
        if (off + n <= c->size) return c->base + off;
    }
    return map_chunk(n, cur);
}

/* The shim's chunks as ranges [start[i], end[i]), at most max of them (adjacent chunks as
 * one); returns how many. For a snapshot, while the other threads are stopped: a chunk still
 * being mapped holds nothing yet. */
static uint32_t internal_ranges(uint64_t *start, uint64_t *end, uint32_t max)
{
    uint32_t k = 0, n = atomic_load(&g_nchunks);
    for (uint32_t i = 0; i < n && i < LG_INTERNAL_CHUNKS; i++) {
        lg_chunk_t *c = &g_chunks[i];
        if (!atomic_load_explicit(&c->ready, memory_order_acquire)) continue;
        uint64_t s = (uintptr_t)c->base, e = s + c->size;
        uint32_t j = 0;
        for (; j < k; j++) /* the kernel often maps a new chunk right below the last */
            if (end[j] == s || start[j] == e) break;
        if (j < k) {
            if (end[j] == s) end[j] = e;
            else start[j] = s;
        } else if (k < max) {
            start[k] = s;
            end[k++] = e;
        }
    }
    return k;
}

/* Stops tracing for good (the program keeps running untouched). */
static void stop_tracing(const char *why)
{
    atomic_store(&g_state, ST_OFF);
    if (g_region) atomic_store(&g_region->hdr.disabled, 1);
    if (why) say_once("tracing stopped: %s", why);
}
