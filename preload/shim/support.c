/* shim/support.c: the shim's own trouble and memory. say_once() is its one way to report
 * (once per process, on stderr); stop_tracing() turns tracing off for good and says why;
 * map_anon() hands out the shim's private memory (stream states, stack tables, interned
 * stacks) from one reserved range that a snapshot excludes from the roots with one interval.
 * It must never allocate from the C library, never return memory, and never abort or crash the
 * traced program: on trouble the shim stops tracing, the program runs on. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* Says `msg` once per process on stderr (the shim's only way to report its own trouble). */
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
}

static uint64_t now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* All of the shim's own memory (stream states, stack tables, interned stacks) comes from one
 * reserved range, so a snapshot can tell the collector "never a root" with one interval.
 * Untouched pages cost nothing (MAP_NORESERVE); nothing is ever returned (tables that grow
 * leave their old copy behind: at most as much again as the live tables). */
static uint8_t *g_internal;
static _Atomic size_t g_internal_used;

static void *map_anon(size_t n)
{
    if (!g_internal) {
        void *m = mmap(NULL, LG_INTERNAL_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) return NULL;
        g_internal = m;
    }
    n = (n + 4095) & ~(size_t)4095;
    size_t off = atomic_fetch_add(&g_internal_used, n);
    if (off + n > LG_INTERNAL_BYTES) return NULL;
    return g_internal + off;
}

/* Stops tracing for good (the program keeps running untouched). */
static void stop_tracing(const char *why)
{
    atomic_store(&g_state, ST_OFF);
    if (g_region) atomic_store(&g_region->hdr.disabled, 1);
    if (why) say_once("tracing stopped: %s", why);
}
