/* libleakgraph.so: the shim preloaded into the traced program. It interposes the malloc family
 * (hooks.h is the one list), records every allocation with its call stack and every free into
 * its thread's ring (region.h), keeps the module map (dlopen/dlclose), and follows the
 * process through fork, exec and exit. It never symbolizes or analyzes, and it must never
 * crash, deadlock or change the result of the program: on its own trouble it stops tracing
 * and says so once on stderr.
 *
 * Two modes, chosen by the environment at start:
 *  - collected (LEAKGRAPH_SESSION set by `leakgraph run`): the region is a file in the session
 *    directory, drained by the `leakgraph run` parent, so everything recorded survives SIGKILL.
 *  - self-collecting (preloaded by hand; LEAKGRAPH_OUTPUT names the trace): the region is
 *    private and the thread whose ring passes half full drains all rings into the trace
 *    (collect.c). Events still in rings when the process is killed are lost.
 *
 * States of the shim (g_state), and what each may call:
 *   UNINIT    -> nothing resolved yet; the first hooked call runs init().
 *   RESOLVING -> dlsym() is running; allocations are served from a static bootstrap arena
 *                (dlsym may call calloc) and are never freed to the C library.
 *   STARTING  -> real functions known; tracing is being set up: pass through, no records.
 *   TRACING   -> wrappers record.
 *   OFF       -> pass through forever (disabled, failed, or the trace was finished).
 *
 * Ordering rules, commented where they apply: a free is recorded before the real free (the
 * address cannot be reused by another thread before its free is in the trace); an allocation
 * after the real call returned; realloc reserves the sequence number of its free part before
 * the real call for the same reason. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "codec.h"
#include "hash.h"
#include "lg_version.h"
#include "writer.h"
#include "hooks.h"
#include "leakgraph/runtime_hooks.h"
#include "leakgraph/trace_format.h"
#include "region.h"
#include "unwind.h"

extern char **environ;

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define EXPORT __attribute__((visibility("default")))


/* ---- tunables -------------------------------------------------------------------------- */
/* Bootstrap arena for allocations made while dlsym resolves the real functions. glibc's
 * dlsym needs well under 1 KiB; 64 KiB leaves room for other C libraries. */
#define LG_BOOT_BYTES (64u << 10)
/* Modules tracked at once (loaded objects in the process). */
#define LG_MAX_MODULES 4096u
/* Run mode: a producer that waits this long for ring space checks that its collector lives. */
#define LG_WAIT_CHECK_NS 200000000ull
/* Runtime type names per stream: table slots, at most half used (more share id 0, "?"). */
#define LG_TYPE_SLOTS 8192u
/* Frames captured for incref/decref (LEAKGRAPH_RC_STACK_DEPTH; 0 = counts only): enough to
 * reach the program's call site through the runtime's own frames, cheap enough for hot paths. */
#define LG_RC_DEPTH_DEFAULT 12
/* Virtual range reserved for the shim's own memory (see map_anon). */
#define LG_INTERNAL_BYTES (64ull << 30)
/* How long a snapshot waits for other threads to stop (those that block the stop signal). */
#define LG_STOP_WAIT_NS 300000000ull
/* Fresh blocks up to this size are zeroed (LEAKGRAPH_SCRUB_MAX overrides; 0 disables).
 * Memcheck ignores bytes a program never wrote; a conservative scan cannot tell them apart,
 * so a stale pointer left in recycled heap memory would keep a lost block "reachable". A
 * fresh block's contents are indeterminate, so zero is a value the program may already get.
 * 256 bytes: stale pointers that matter sit in small struct-like blocks (the Memcheck
 * comparison scenarios); larger blocks are mostly buffers the program fills, and zeroing
 * every block up to 64 KiB cost 20-30% of the traced time of a malloc-heavy benchmark. */
#define LG_SCRUB_MAX_DEFAULT 256u
/* Self mode: a ring this full makes its writer drain all rings. */
#define LG_SELF_DRAIN_AT (LG_RING_BYTES / 2)
_Static_assert(LG_SELF_DRAIN_AT + LG_MAX_RECORD < LG_RING_BYTES, "drain before a ring fills");
/* ----------------------------------------------------------------------------------------- */

/* ---- the real functions, generated from the hook list ---------------------------------- */
#define X(ret, name, params, req) typedef ret(*lg_##name##_fn) params;
LG_HOOKS(X)
#undef X
#define X(ret, name, params, req) static lg_##name##_fn real_##name;
LG_HOOKS(X)
#undef X

enum { ST_UNINIT, ST_RESOLVING, ST_STARTING, ST_TRACING, ST_OFF };
static _Atomic int g_state;

/* ---- per-thread state ------------------------------------------------------------------ */
typedef struct lg_tls {
    uint64_t rc_inc, rc_dec; /* counts-only mode: increfs/decrefs not yet added to the region */
    int guard;    /* > 0 while inside the shim: nested calls pass through */
    uint32_t gen; /* region generation `ring` belongs to */
    uint32_t ring;
    pid_t tid;
} lg_tls_t;
static __thread lg_tls_t tls __attribute__((tls_model("initial-exec")));

/* ---- per-ring writer state (private memory, survives ring reuse by a new thread) ------- */
typedef struct lg_type_ent { /* open addressing by the name's address */
    const char *name;
    uint32_t id;
} lg_type_ent_t;

typedef struct lg_stack_ent {
    uint64_t hash;
    uint32_t id, depth;
    uintptr_t *ips;
} lg_stack_ent_t;

typedef struct lg_stream {
    int64_t last_seq;
    uint64_t prev_addr;
    uint32_t next_stack_id;
    pid_t last_tid;
    lg_stack_ent_t *tab; /* open addressing, capacity tab_mask+1, load <= 1/2 */
    uint32_t tab_mask, tab_used;
    uintptr_t *arena; /* bump storage for interned stacks */
    size_t arena_left;
    struct lg_type_ent *types; /* type names written to this stream (mapped when first used) */
    uint32_t ntypes;
    uint64_t tail_seen;      /* the ring's tail when last read (it only grows) */
    lg_unw_memo_set_t *memo; /* walks of the owning thread and their stack ids (unwind.h) */
    pid_t memo_tid;          /* the thread whose stack the memo describes */
} lg_stream_t;

/* ---- process-wide state ---------------------------------------------------------------- */
static lg_region_t *g_region;
static lg_stream_t *g_streams; /* LG_RINGS entries, mmap'd */
static _Atomic uint32_t g_gen = 1;
static bool g_self;                  /* self-collecting mode */
static lg_collector_t *g_collector;  /* self mode */
static _Atomic int g_drain_lock;     /* self mode: one drainer at a time */
static char g_session[1024];         /* run mode */
static char g_output[1024];          /* self mode: base trace path */
static char g_parent_trace[1200];    /* self mode, in a forked child: the parent's trace */
static uint64_t g_fork_seq;          /* in a forked child: the parent's sequence at the fork */
static pid_t g_collector_pid;
static char g_lg_bin[1100];          /* self mode: the leakgraph binary that takes checks */
static size_t g_scrub_max = LG_SCRUB_MAX_DEFAULT;
static int g_rc_depth = LG_RC_DEPTH_DEFAULT; /* LEAKGRAPH_RC_STACK_DEPTH */
static uintptr_t g_shim_lo, g_shim_hi; /* our own text, skipped in stacks */
static pthread_key_t g_thread_key;
static unsigned g_region_counter;
static lg_region_t *g_fork_region; /* run mode: region pre-created for a forking child */
static _Atomic int g_exit_status = -1;
static _Atomic int g_said;

/* ---- small helpers --------------------------------------------------------------------- */

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

/* ---- bootstrap arena ------------------------------------------------------------------- */
static _Alignas(16) uint8_t g_boot[LG_BOOT_BYTES];
static _Atomic size_t g_boot_used;

static void *boot_alloc(size_t n, size_t align)
{
    if (align < 16) align = 16;
    size_t need = ((n + 15) & ~(size_t)15) + align;
    size_t off = atomic_fetch_add(&g_boot_used, need);
    if (off + need > sizeof g_boot) return NULL;
    uintptr_t p = ((uintptr_t)g_boot + off + 16 + align - 1) & ~(uintptr_t)(align - 1);
    ((size_t *)p)[-1] = n; /* size, for realloc of a bootstrap block */
    return (void *)p;
}

static inline bool is_boot(const void *p)
{
    return (const uint8_t *)p >= g_boot && (const uint8_t *)p < g_boot + sizeof g_boot;
}

/* ---- process description ---------------------------------------------------------------- */

static uint8_t *kv_int(uint8_t *p, uint8_t *end, uint64_t key, uint64_t v)
{
    if (end - p < 2 * LG_VARINT_MAX + 1) return p;
    uint8_t tmp[LG_VARINT_MAX];
    uint8_t *e = lg_put_uv(tmp, v);
    p = lg_put_uv(p, key);
    return lg_put_bytes(p, tmp, (size_t)(e - tmp));
}

static uint8_t *kv_str(uint8_t *p, uint8_t *end, uint64_t key, const char *s, size_t n)
{
    if ((size_t)(end - p) < n + 2 * LG_VARINT_MAX) return p;
    p = lg_put_uv(p, key);
    return lg_put_bytes(p, s, n);
}

/* /proc/self/stat field 22 (start time in clock ticks), to tell a reused pid apart. */
static uint64_t proc_starttime(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    /* after ") " come fields 3.. ; start time is field 22 */
    int field = 2;
    for (; *p && field < 22; p++)
        if (*p == ' ') field++;
    return strtoull(p, NULL, 10);
}

/* Fills the region's process description (PROCESS block keys). No allocation. */
static void describe_process(lg_region_t *r, pid_t fork_parent)
{
    lg_region_hdr_t *h = &r->hdr;
    h->pid = getpid();
    h->ppid = getppid();
    h->fork_parent = fork_parent;
    h->start_ns = now_ns(CLOCK_REALTIME);
    h->proc_starttime = proc_starttime();
    h->collector_pid = g_collector_pid;
    uint8_t *p = h->info, *end = h->info + LG_INFO_BYTES;
    p = kv_int(p, end, LG_KEY_PID, (uint64_t)h->pid);
    p = kv_int(p, end, LG_KEY_PPID, (uint64_t)h->ppid);
    p = kv_int(p, end, LG_KEY_START_NS, h->start_ns);
    if (fork_parent) {
        p = kv_int(p, end, LG_KEY_PARENT_PID, (uint64_t)fork_parent);
        p = kv_int(p, end, LG_KEY_FORK_SEQ, h->fork_seq);
        if (g_self && g_parent_trace[0]) /* under run, the collector adds the parent's trace */
            p = kv_str(p, end, LG_KEY_PARENT_TRACE, g_parent_trace, strlen(g_parent_trace));
    }
    p = kv_str(p, end, LG_KEY_TRACER, LG_TRACER_NAME, strlen(LG_TRACER_NAME));
    p = kv_int(p, end, LG_KEY_RC_DEPTH, (uint64_t)g_rc_depth);
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path);
    if (n > 0 && n < (ssize_t)sizeof path) p = kv_str(p, end, LG_KEY_EXE, path, (size_t)n);
    if (getcwd(path, sizeof path)) p = kv_str(p, end, LG_KEY_CWD, path, strlen(path));
    /* argv from /proc/self/cmdline: NUL-separated */
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[16384];
        size_t len = 0;
        ssize_t k;
        while (len < sizeof buf && (k = read(fd, buf + len, sizeof buf - len)) > 0) len += (size_t)k;
        close(fd);
        for (size_t i = 0; i < len;) {
            size_t s = strnlen(buf + i, len - i);
            p = kv_str(p, end, LG_KEY_ARG, buf + i, s);
            i += s + 1;
        }
    }
    h->info_len = (uint32_t)(p - h->info);
}

/* ---- regions and rings ----------------------------------------------------------------- */

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
    atomic_store(&r->hdr.state, state);
}

/* Run mode: a new region file in the session directory, header initialized but magic unset. */
static lg_region_t *create_session_region(void)
{
    char path[1200];
    for (int tries = 0; tries < 64; tries++) {
        snprintf(path, sizeof path, "%s/r.%d.%u", g_session, (int)getpid(), g_region_counter++);
        lg_region_t *r = lg_region_create_file(path);
        if (r) return r;
        if (errno != EEXIST) break;
    }
    return NULL;
}

/* Makes `r` visible to the collector. */
static void publish_region(lg_region_t *r)
{
    atomic_store_explicit(&r->hdr.magic, LG_REGION_MAGIC, memory_order_release);
}

/* Self mode: opens the trace file for this process: the base path if free, else base.<pid>,
 * else base.<pid>.<n>. Never overwrites. */
static int open_self_trace(void)
{
    char path[1200];
    int rc = lg_collector_open(&g_collector, g_region, g_output);
    if (rc != -EEXIST) return rc;
    for (int n = 0; n < 1000; n++) {
        if (n == 0)
            snprintf(path, sizeof path, "%s.%d", g_output, (int)getpid());
        else
            snprintf(path, sizeof path, "%s.%d.%d", g_output, (int)getpid(), n);
        rc = lg_collector_open(&g_collector, g_region, path);
        if (rc != -EEXIST) return rc;
    }
    return -EEXIST;
}

/* Self mode: drains every ring into the trace if no other thread is doing it. */
static void self_drain(bool wait)
{
    int expected = 0;
    while (!atomic_compare_exchange_weak(&g_drain_lock, &expected, 1)) {
        if (!wait) return;
        expected = 0;
        sched_yield();
    }
    if (g_collector && lg_collector_drain(g_collector) < 0)
        say_once("cannot write the trace %s: %s; events are being discarded",
                 lg_collector_path(g_collector), strerror(-lg_collector_error(g_collector)));
    atomic_store(&g_drain_lock, 0);
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

static void rc_fold_counts(void);

static void release_ring(void *unused)
{
    (void)unused;
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

/* Waits until `need` bytes fit in the ring at `head`. Returns false if tracing stopped. */
__attribute__((noinline, cold)) static bool wait_space(lg_ring_t *ring, uint64_t head, size_t need)
{
    uint64_t waited = 0;
    while (head + need - atomic_load_explicit(&ring->tail, memory_order_acquire) > LG_RING_BYTES) {
        if (g_self) {
            self_drain(true);
            continue;
        }
        if (atomic_load(&g_state) != ST_TRACING) return false;
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
        waited += 50000;
        if (waited >= LG_WAIT_CHECK_NS) {
            waited = 0;
            if (!collector_alive()) {
                stop_tracing("the leakgraph collector is gone");
                return false;
            }
        }
    }
    return true;
}

/* ---- stacks ---------------------------------------------------------------------------- */

/* Captures the caller's stack, innermost first, without the shim's own frames. Every address
 * stored is a return address (the analyzer looks up address-1). */
static int skip_shim_frames(const uintptr_t *raw, int n, int max, const uintptr_t **out)
{
    int i = 0;
    while (i < n && raw[i] >= g_shim_lo && raw[i] < g_shim_hi) i++;
    *out = raw + i; /* no copy: the frames stay where the unwinder put them */
    return n - i < max ? n - i : max;
}

static int capture_stack(uintptr_t *raw, int max, const uintptr_t **out)
{
    int n = lg_unwind_backtrace((void **)raw, max + 16); /* unwind.c: libunwind's result, cached */
    return skip_shim_frames(raw, n, max, out);
}

/* The stream's memo of this thread's walks (NULL on the shared ring 0, whose stream many
 * threads write, or if it cannot be mapped). Cleared when another thread owns the ring. */
static lg_unw_memo_set_t *stream_memo(lg_stream_t *st, uint32_t ri)
{
    if (ri == 0) return NULL;
    pid_t tid = my_tid();
    if (UNLIKELY(st->memo_tid != tid)) {
        if (!st->memo && !(st->memo = map_anon(sizeof *st->memo))) return NULL;
        memset(st->memo, 0, sizeof *st->memo);
        st->memo_tid = tid;
    }
    return st->memo;
}

/* The stream's id of a runtime type name (names are static: known by address), assigned on
 * first use (*is_new: the caller writes its TYPE record first); 0 when the stream cannot name
 * more types or the table cannot be mapped. */
static uint32_t type_id_of(lg_stream_t *st, const char *name, bool *is_new)
{
    *is_new = false;
    if (UNLIKELY(!st->types) && !(st->types = map_anon(LG_TYPE_SLOTS * sizeof *st->types)))
        return 0;
    uint32_t i = (uint32_t)(((uintptr_t)name * 0x9e3779b97f4a7c15ull) >> 40) & (LG_TYPE_SLOTS - 1);
    for (;; i = (i + 1) & (LG_TYPE_SLOTS - 1)) {
        lg_type_ent_t *e = &st->types[i];
        if (e->name == name) return e->id;
        if (!e->name) {
            if (st->ntypes >= LG_TYPE_SLOTS / 2) return 0;
            *e = (lg_type_ent_t){name, ++st->ntypes};
            *is_new = true;
            return e->id;
        }
    }
}

/* Two independent rotate-xor lanes (no multiply chain through every frame: this runs for
 * every allocation), one final mix. Collisions cost a memcmp, never a wrong stack. */
static uint64_t hash_stack(const uintptr_t *ips, int depth)
{
    uint64_t a = 0x9e3779b97f4a7c15ull ^ (uint64_t)depth, b = 0xc2b2ae3d27d4eb4full;
    int i = 0;
    for (; i + 1 < depth; i += 2) {
        a = ((a << 13) | (a >> 51)) ^ ips[i];
        b = ((b << 17) | (b >> 47)) ^ ips[i + 1];
    }
    if (i < depth) a = ((a << 13) | (a >> 51)) ^ ips[i];
    uint64_t h = (a ^ (b * 0xff51afd7ed558ccdull)) * 0xc4ceb9fe1a85ec53ull;
    return (h ^ (h >> 29)) | 1; /* 0 marks an empty slot */
}

static bool grow_table(lg_stream_t *st)
{
    uint32_t cap = st->tab ? (st->tab_mask + 1) * 2 : 1024;
    lg_stack_ent_t *nt = map_anon(sizeof *nt * cap);
    if (!nt) return false;
    for (uint32_t i = 0; st->tab && i <= st->tab_mask; i++) {
        if (!st->tab[i].hash) continue;
        uint32_t j = (uint32_t)st->tab[i].hash & (cap - 1);
        while (nt[j].hash) j = (j + 1) & (cap - 1);
        nt[j] = st->tab[i];
    }
    st->tab = nt; /* the old table stays in the internal range (see map_anon) */
    st->tab_mask = cap - 1;
    return true;
}

/* Returns the stream's id for this stack, interning it if new (*is_new set). 0 on failure. */
static uint32_t intern_stack(lg_stream_t *st, const uintptr_t *ips, int depth, bool *is_new)
{
    *is_new = false;
    if (depth == 0) return 0;
    if ((!st->tab || st->tab_used * 2 >= st->tab_mask + 1) && !grow_table(st)) return 0;
    uint64_t h = hash_stack(ips, depth);
    uint32_t j = (uint32_t)h & st->tab_mask;
    for (; st->tab[j].hash; j = (j + 1) & st->tab_mask) {
        lg_stack_ent_t *e = &st->tab[j];
        if (e->hash == h && e->depth == (uint32_t)depth &&
            memcmp(e->ips, ips, sizeof *ips * (size_t)depth) == 0)
            return e->id;
    }
    if (st->arena_left < (size_t)depth) {
        size_t n = 1u << 17; /* 1 MiB of addresses */
        st->arena = map_anon(n * sizeof(uintptr_t));
        if (!st->arena) {
            st->arena_left = 0;
            return 0;
        }
        st->arena_left = n;
    }
    uintptr_t *copy = st->arena;
    memcpy(copy, ips, sizeof *ips * (size_t)depth);
    st->arena += depth;
    st->arena_left -= (size_t)depth;
    st->tab[j] = (lg_stack_ent_t){h, ++st->next_stack_id, (uint32_t)depth, copy};
    st->tab_used++;
    *is_new = true;
    return st->tab[j].id;
}

/* ---- records --------------------------------------------------------------------------- */

/* Is there room for `need` bytes at `head`? The tail is read again only when the copy read
 * last says no: the collector moves it all the time, and reading it for every event would
 * fetch its cache line from the collector's core each time. */
static inline bool have_space(lg_ring_t *ring, lg_stream_t *st, uint64_t head, size_t need)
{
    if (LIKELY(head + need - st->tail_seen <= LG_RING_BYTES)) return true;
    st->tail_seen = atomic_load_explicit(&ring->tail, memory_order_acquire);
    if (head + need - st->tail_seen <= LG_RING_BYTES) return true;
    bool ok = wait_space(ring, head, need);
    st->tail_seen = atomic_load_explicit(&ring->tail, memory_order_acquire);
    return ok;
}

/* An event to record; fields used depend on `type` (trace_format.h). */
typedef struct lg_event {
    uint8_t type, fn;
    bool stack;
    int depth;             /* frames to capture when `stack` (0: LG_MAX_FRAMES) */
    int64_t seq1;          /* a reserved sequence number, or -1 to take one */
    const char *type_name; /* runtime object events */
    const lg_unw_regs_t *at; /* the hook's caller's registers: the stack starts there */
    union { /* by type; kept small, as every event is built on the stack */
        struct {
            uintptr_t addr;
            size_t size;
            union {
                uintptr_t old;    /* REALLOC */
                size_t align;     /* ALIGNED */
                int64_t refcount; /* INCREF / DECREF */
            };
        };
        struct {
            uint64_t gen, collected, uncollectable, ns; /* GC_START / GC_END */
        };
    };
} lg_event_t;

/* Encoding: tag with LG_TAG_SEQ1 when seq follows the stream's last one, else sv delta. */
static uint8_t *put_seq(uint8_t *tag, uint8_t *p, lg_stream_t *st, uint64_t seq)
{
    int64_t d = (int64_t)seq - (st->last_seq + 1);
    if (d == 0)
        *tag |= LG_TAG_SEQ1;
    else
        p = lg_put_sv(p, d);
    st->last_seq = (int64_t)seq;
    return p;
}

static uint8_t *put_addr(uint8_t *p, lg_stream_t *st, uintptr_t a)
{
    p = lg_put_sv(p, (int64_t)(a - st->prev_addr));
    st->prev_addr = a;
    return p;
}

/* Encoding: the one address of a record, as a delta in 16-byte units when it is a multiple
 * of 16 (LG_TAG_A16 set in the tag). */
static inline uint8_t *put_addr16(uint8_t *tag, uint8_t *p, lg_stream_t *st, uintptr_t a)
{
    int64_t d = (int64_t)(a - st->prev_addr);
    st->prev_addr = a;
    if ((d & 15) == 0) {
        *tag |= LG_TAG_A16;
        return lg_put_sv(p, d / 16);
    }
    return lg_put_sv(p, d);
}

/* Writes one event (and the stack and thread records it needs) into this thread's ring.
 * Called with the guard held. Must not allocate from the C library except through
 * self_drain (self mode), which runs with the guard held too. */
static void record(const lg_event_t *ev, const uint8_t *extra, size_t extra_len)
{
    uintptr_t raw[LG_MAX_FRAMES + 16];
    const uintptr_t *ips = raw;
    uint32_t ri = tls.gen == atomic_load_explicit(&g_gen, memory_order_relaxed) ? tls.ring
                                                                                : claim_ring();
    lg_ring_t *ring = &g_region->rings[ri];
    lg_stream_t *st = &g_streams[ri];
    /* The stack: the same as one the memo remembers (its id is known), or walked. */
    int depth = 0;
    lg_unw_memo_t *memo = NULL;
    bool known = false;
    if (ev->stack) {
        int max = ev->depth > 0 ? ev->depth : LG_MAX_FRAMES;
        lg_unw_memo_set_t *set = stream_memo(st, ri);
        /* From the hook's caller, no frame of ours is read: `max` frames are enough. */
        int n = !set     ? -1
                : ev->at ? lg_unwind_memo_from((void **)raw, max, set, &memo, ev->at)
                         : lg_unwind_memo((void **)raw, max + 16, set, &memo);
        if (n == LG_UNW_HIT)
            known = true;
        else if (n >= 0)
            depth = skip_shim_frames(raw, n, max, &ips);
        else
            depth = capture_stack(raw, max, &ips);
    }
    if (ri == 0)
        while (atomic_exchange_explicit(&ring->lock, 1, memory_order_acquire)) sched_yield();

    /* Kept small (thread + stack + event records): the shim may run on a signal stack. */
    uint8_t buf[32 + 11 * LG_MAX_FRAMES + 8 * LG_VARINT_MAX + 128 + LG_VARINT_MAX], *p = buf;
    pid_t tid = my_tid();
    if (st->last_tid != tid) {
        *p++ = LG_REC_THREAD;
        p = lg_put_uv(p, (uint64_t)tid);
        st->last_tid = tid;
    }
    uint32_t type_id = 0;
    bool type_new;
    if (ev->type_name && (type_id = type_id_of(st, ev->type_name, &type_new)) && type_new) {
        *p++ = LG_REC_TYPE;
        p = lg_put_bytes(p, ev->type_name, strnlen(ev->type_name, 120));
    }
    bool is_new = false;
    uint32_t sid;
    if (known) {
        sid = memo->value;
    } else {
        sid = intern_stack(st, ips, depth, &is_new);
        if (memo) {
            memo->value = sid;
            if (depth && !sid) memo->nreads = 0; /* not interned: do not remember */
        }
    }
    if (is_new) { /* STACK: depth, ip0, deltas */
        *p++ = LG_REC_STACK;
        p = lg_put_uv(p, (uint64_t)depth);
        p = lg_put_uv(p, ips[0]);
        for (int i = 1; i < depth; i++) p = lg_put_sv(p, (int64_t)(ips[i] - ips[i - 1]));
    }
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    size_t need = (size_t)(p - buf) + 8 * LG_VARINT_MAX + 2 + extra_len;
    if (!have_space(ring, st, head, need)) {
        atomic_fetch_add(&g_region->hdr.lost, 1);
        goto out;
    }
    /* The sequence number is taken only now, once space is certain: a taken number is
     * always published, so the analyzer's reordering never waits for a number that cannot
     * come. */
    uint64_t seq = ev->seq1 >= 0 ? (uint64_t)ev->seq1 : atomic_fetch_add(&g_region->hdr.seq, 1);
    /* An event alone that fits before the ring's end is encoded in place: no copy, and no
     * reload of bytes just stored one by one (which the CPU cannot forward to a wide load). */
    size_t off = (size_t)(head & (LG_RING_BYTES - 1));
    uint8_t *start = buf;
    if (p == buf && !extra_len && off + need <= LG_RING_BYTES) p = start = ring->data + off;
    uint8_t *tag = p++;
    *tag = ev->type;
    p = put_seq(tag, p, st, seq);
    switch (ev->type) {
    case LG_REC_MALLOC:
    case LG_REC_CALLOC:
        p = put_addr16(tag, p, st, ev->addr);
        p = lg_put_uv(p, ev->size);
        p = lg_put_uv(p, sid);
        break;
    case LG_REC_ALIGNED:
        p = lg_put_uv(p, ev->fn);
        p = put_addr16(tag, p, st, ev->addr);
        p = lg_put_uv(p, ev->size);
        p = lg_put_uv(p, ev->align);
        p = lg_put_uv(p, sid);
        break;
    case LG_REC_REALLOC: {
        p = put_addr(p, st, ev->old);
        p = lg_put_sv(p, (int64_t)(ev->addr - ev->old));
        st->prev_addr = ev->addr;
        p = lg_put_uv(p, ev->size);
        p = lg_put_uv(p, sid);
        uint64_t seq2 = atomic_fetch_add(&g_region->hdr.seq, 1);
        p = lg_put_uv(p, seq2 - seq);
        st->last_seq = (int64_t)seq2;
        break;
    }
    case LG_REC_FREE:
    case LG_REC_OBJ_FREE:
        p = put_addr16(tag, p, st, ev->addr);
        break;
    case LG_REC_OBJ_ALLOC:
        p = put_addr16(tag, p, st, ev->addr);
        p = lg_put_uv(p, ev->size);
        p = lg_put_uv(p, type_id);
        p = lg_put_uv(p, sid);
        break;
    case LG_REC_INCREF:
    case LG_REC_DECREF:
        p = put_addr16(tag, p, st, ev->addr);
        p = lg_put_sv(p, ev->refcount);
        p = lg_put_uv(p, sid);
        break;
    case LG_REC_GC_START:
        p = lg_put_uv(p, ev->gen);
        break;
    case LG_REC_GC_END:
        p = lg_put_uv(p, ev->gen);
        p = lg_put_uv(p, ev->collected);
        p = lg_put_uv(p, ev->uncollectable);
        p = lg_put_uv(p, ev->ns);
        break;
    default: /* NOP, MODULE, UNMODULE, WALK: payload in extra */
        break;
    }
    size_t len = (size_t)(p - start);
    if (start == buf) lg_ring_copy_in(ring, head, buf, len);
    if (extra_len) lg_ring_copy_in(ring, head + len, extra, extra_len);
    atomic_store_explicit(&ring->head, head + len + extra_len, memory_order_release);
out:
    if (ri == 0) atomic_store_explicit(&ring->lock, 0, memory_order_release);
    if (g_self && head - atomic_load_explicit(&ring->tail, memory_order_relaxed) >= LG_SELF_DRAIN_AT)
        self_drain(false);
}

/* Writes pre-encoded records that carry no sequence number (the walk's) into this thread's
 * ring, defining `type_name` first if the stream does not know it yet. Guard held. */
static void record_raw(const uint8_t *bytes, size_t n, const char *type_name, uint32_t *type_id)
{
    uint32_t ri = tls.gen == atomic_load_explicit(&g_gen, memory_order_relaxed) ? tls.ring
                                                                                : claim_ring();
    lg_ring_t *ring = &g_region->rings[ri];
    lg_stream_t *st = &g_streams[ri];
    if (ri == 0)
        while (atomic_exchange_explicit(&ring->lock, 1, memory_order_acquire)) sched_yield();
    uint8_t pre[16 + 128 + LG_VARINT_MAX], *p = pre;
    pid_t tid = my_tid();
    if (st->last_tid != tid) {
        *p++ = LG_REC_THREAD;
        p = lg_put_uv(p, (uint64_t)tid);
        st->last_tid = tid;
    }
    bool type_new;
    if (type_name && type_id && (*type_id = type_id_of(st, type_name, &type_new)) && type_new) {
        *p++ = LG_REC_TYPE;
        p = lg_put_bytes(p, type_name, strnlen(type_name, 120));
    }
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    size_t plen = (size_t)(p - pre);
    if (wait_space(ring, head, plen + n)) {
        if (plen) lg_ring_copy_in(ring, head, pre, plen);
        if (n) lg_ring_copy_in(ring, head + plen, bytes, n);
        atomic_store_explicit(&ring->head, head + plen + n, memory_order_release);
    }
    if (ri == 0) atomic_store_explicit(&ring->lock, 0, memory_order_release);
}

static inline bool tracing(void)
{
    return LIKELY(atomic_load_explicit(&g_state, memory_order_relaxed) == ST_TRACING);
}

/* ---- module map ------------------------------------------------------------------------ */
typedef struct lg_module {
    uintptr_t bias, start;
    uint64_t name_hash;
    uint32_t id;
    bool seen;
} lg_module_t;
static lg_module_t g_mods[LG_MAX_MODULES];
static uint32_t g_nmods, g_next_mod_id;
static unsigned long long g_mod_adds = ~0ull, g_mod_subs = ~0ull;
static pthread_mutex_t g_mod_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t find_build_id(struct dl_phdr_info *info, const uint8_t **out)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        const uint8_t *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const uint8_t *name = p + sizeof *nh;
            const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
            if (desc + nh->n_descsz > end) break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                *out = desc;
                return nh->n_descsz;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return 0;
}

static int scan_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (s < lo) lo = s;
        if (e > hi) hi = e;
    }
    if (hi == 0) return 0;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    uint64_t nh = lg_fnv1a(name);
    for (uint32_t i = 0; i < g_nmods; i++) {
        if (g_mods[i].bias == info->dlpi_addr && g_mods[i].start == lo && g_mods[i].name_hash == nh) {
            g_mods[i].seen = true;
            return 0;
        }
    }
    if (g_nmods == LG_MAX_MODULES) return 0;
    lg_module_t *m = &g_mods[g_nmods++];
    *m = (lg_module_t){info->dlpi_addr, lo, nh, g_next_mod_id++, true};

    char exe[4096];
    if (name[0] == 0) { /* the main program */
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        name = exe;
    }
    const uint8_t *bid = NULL;
    size_t bid_len = find_build_id(info, &bid);
    if (bid_len > 64) bid_len = 64;
    size_t name_len = strnlen(name, 4096);
    uint8_t extra[4096 + 128], *p = extra;
    p = lg_put_uv(p, m->id);
    p = lg_put_uv(p, info->dlpi_addr);
    p = lg_put_uv(p, lo);
    p = lg_put_uv(p, hi);
    p = lg_put_bytes(p, name, name_len);
    p = lg_put_bytes(p, bid, bid_len);
    lg_event_t ev = {.type = LG_REC_MODULE, .seq1 = -1};
    record(&ev, extra, (size_t)(p - extra));
    return 0;
}

/* Brings the recorded module map up to date: MODULE records for new objects, UNMODULE for
 * objects that were unloaded. Called at start, after dlopen and dlclose, and in a forked
 * child (whose trace needs its own map). */
static void scan_modules(void)
{
    pthread_mutex_lock(&g_mod_lock);
    for (uint32_t i = 0; i < g_nmods; i++) g_mods[i].seen = false;
    dl_iterate_phdr(scan_cb, NULL);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < g_nmods; i++) {
        if (g_mods[i].seen) {
            g_mods[kept++] = g_mods[i];
            continue;
        }
        uint8_t extra[LG_VARINT_MAX], *p = lg_put_uv(extra, g_mods[i].id);
        lg_event_t ev = {.type = LG_REC_UNMODULE, .seq1 = -1};
        record(&ev, extra, (size_t)(p - extra));
    }
    g_nmods = kept;
    pthread_mutex_unlock(&g_mod_lock);
}

static int adds_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    unsigned long long *v = data;
    v[0] = info->dlpi_adds;
    v[1] = info->dlpi_subs;
    return 1;
}

/* Rescans only when the loader's counters moved (dlopen of a loaded object changes nothing). */
static void scan_modules_if_changed(void)
{
    unsigned long long v[2] = {0, 0};
    dl_iterate_phdr(adds_cb, v);
    if (v[0] == g_mod_adds && v[1] == g_mod_subs) return;
    g_mod_adds = v[0];
    g_mod_subs = v[1];
    scan_modules();
    unw_flush_cache(unw_local_addr_space, 0, 0); /* stale unwind info of unloaded code */
    lg_unwind_flush();
}

/* ---- reference-counting runtimes (include/leakgraph/runtime_hooks.h) --------------------
 * The hooks may run before the shim's constructor (enter() starts tracing then). Object
 * events are sequenced like malloc's, so an address reused by the runtime's allocator is
 * replayed in order; incref/decref keep only LG_RC_DEPTH frames (or none). */
#define LG_MAX_RUNTIMES 4
static inline bool enter(void);
static const struct lg_rt_ops *g_runtimes[LG_MAX_RUNTIMES];
static _Atomic uint32_t g_nruntimes;
static bool g_rc_counts_only; /* LEAKGRAPH_RC_STACK_DEPTH=0, once tracing */

EXPORT int lg_rt_register(const struct lg_rt_ops *ops)
{
    if (!ops || ops->abi_version != LG_RT_ABI_VERSION ||
        ops->struct_size < sizeof(struct lg_rt_ops))
        return -EPROTO;
    uint32_t i = atomic_fetch_add(&g_nruntimes, 1);
    if (i >= LG_MAX_RUNTIMES) return -ENOSPC;
    g_runtimes[i] = ops;
    return 0;
}

static void rt_event(const lg_event_t *ev)
{
    if (!enter()) return;
    tls.guard++;
    int e = errno;
    record(ev, NULL, 0);
    errno = e;
    tls.guard--;
}

/* The hooks that record a stack are entered through a stub that takes the caller's
 * registers (return address, stack pointer after the return, RBP) and tail-jumps to the C
 * function with them as extra arguments: the walk then starts at the hook's caller and
 * reads none of the shim's own frames (record, rt_event, the hook), which were about a
 * quarter of the words each memo check read, and it stops at the frames kept. */
#define HOOK_ENTRY(name, ra, sp, bp)                                                       \
    __asm__(".text\n"                                                                      \
            ".globl " #name "\n"                                                           \
            ".type " #name ", @function\n"                                                 \
            ".p2align 4\n" #name ":\n"                                                     \
            ".cfi_startproc\n"                                                             \
            "  endbr64\n"                                                                  \
            "  movq (%rsp), %" #ra "\n"                                                    \
            "  leaq 8(%rsp), %" #sp "\n"                                                   \
            "  movq %rbp, %" #bp "\n"                                                      \
            "  jmp " #name "_at\n"                                                         \
            ".cfi_endproc\n"                                                               \
            ".size " #name ", .-" #name "\n")

void lg_rt_obj_alloc_at(const void *obj, const char *type_name, size_t size, uintptr_t ra,
                        uintptr_t sp, uintptr_t bp) __attribute__((used, visibility("hidden")));
HOOK_ENTRY(lg_rt_obj_alloc, rcx, r8, r9);
void lg_rt_obj_alloc_at(const void *obj, const char *type_name, size_t size, uintptr_t ra,
                        uintptr_t sp, uintptr_t bp)
{
    lg_unw_regs_t at = {ra, sp, bp};
    lg_event_t ev = {.type = LG_REC_OBJ_ALLOC, .addr = (uintptr_t)obj, .size = size,
                     .type_name = type_name ? type_name : "?", .seq1 = -1, .stack = true,
                     .at = &at};
    rt_event(&ev);
}

EXPORT void lg_rt_obj_free(const void *obj, const char *type_name, size_t size)
{
    (void)type_name;
    (void)size;
    lg_event_t ev = {.type = LG_REC_OBJ_FREE, .addr = (uintptr_t)obj, .seq1 = -1};
    rt_event(&ev);
}

/* Counts-only mode (LEAKGRAPH_RC_STACK_DEPTH=0): an incref or decref is one thread-local
 * increment, added to the region's totals when the thread exits or takes a check. */
static void rc_fold_counts(void)
{
    if (!g_region || (!tls.rc_inc && !tls.rc_dec)) return;
    atomic_fetch_add(&g_region->hdr.rc_increfs, tls.rc_inc);
    atomic_fetch_add(&g_region->hdr.rc_decrefs, tls.rc_dec);
    tls.rc_inc = tls.rc_dec = 0;
}

/* An incref or decref (`type`): counted in *counted in counts-only mode, else recorded. */
static inline void count_change(uint8_t type, uint64_t *counted, const void *obj,
                                intptr_t refcount, uintptr_t ra, uintptr_t sp, uintptr_t bp)
{
    if (g_rc_counts_only) {
        (*counted)++;
        return;
    }
    lg_unw_regs_t at = {ra, sp, bp};
    lg_event_t ev = {.type = type, .addr = (uintptr_t)obj, .refcount = refcount, .seq1 = -1,
                     .stack = g_rc_depth > 0, .depth = g_rc_depth, .at = &at};
    rt_event(&ev);
}

void lg_rt_incref_at(const void *obj, intptr_t refcount, uintptr_t ra, uintptr_t sp,
                     uintptr_t bp) __attribute__((used, visibility("hidden")));
HOOK_ENTRY(lg_rt_incref, rdx, rcx, r8);
void lg_rt_incref_at(const void *obj, intptr_t refcount, uintptr_t ra, uintptr_t sp, uintptr_t bp)
{
    count_change(LG_REC_INCREF, &tls.rc_inc, obj, refcount, ra, sp, bp);
}

void lg_rt_decref_at(const void *obj, intptr_t refcount, uintptr_t ra, uintptr_t sp,
                     uintptr_t bp) __attribute__((used, visibility("hidden")));
HOOK_ENTRY(lg_rt_decref, rdx, rcx, r8);
void lg_rt_decref_at(const void *obj, intptr_t refcount, uintptr_t ra, uintptr_t sp, uintptr_t bp)
{
    count_change(LG_REC_DECREF, &tls.rc_dec, obj, refcount, ra, sp, bp);
}

EXPORT void lg_rt_gc_start(int generation)
{
    lg_event_t ev = {.type = LG_REC_GC_START, .gen = (uint64_t)generation, .seq1 = -1};
    rt_event(&ev);
}

EXPORT void lg_rt_gc_end(int generation, size_t collected, size_t uncollectable, uint64_t ns)
{
    lg_event_t ev = {.type = LG_REC_GC_END, .gen = (uint64_t)generation, .collected = collected,
                     .uncollectable = uncollectable, .ns = ns, .seq1 = -1};
    rt_event(&ev);
}

/* The walk's visitor: every object and reference becomes a record in this thread's ring. */
typedef struct walk_state {
    uint64_t prev, cur;
    uint64_t objects;
} walk_state_t;

static int walk_object(void *arg, const void *obj, const char *type_name, size_t size,
                       intptr_t refcount)
{
    walk_state_t *w = arg;
    uint32_t type_id = 0;
    /* the type is defined in the stream first: encode after knowing its id */
    record_raw(NULL, 0, type_name ? type_name : "?", &type_id);
    uint8_t b[5 * LG_VARINT_MAX], *p = b;
    *p++ = LG_REC_WALK_OBJ;
    p = lg_put_sv(p, (int64_t)((uintptr_t)obj - w->prev));
    p = lg_put_uv(p, size);
    p = lg_put_uv(p, type_id);
    p = lg_put_sv(p, refcount);
    record_raw(b, (size_t)(p - b), NULL, NULL);
    w->prev = w->cur = (uintptr_t)obj;
    w->objects++;
    return 0;
}

static int walk_ref(void *arg, const void *from, const void *to, const char *label, intptr_t index)
{
    walk_state_t *w = arg;
    (void)from;
    size_t ll = label ? strnlen(label, 120) : 0;
    uint8_t b[3 * LG_VARINT_MAX + 128], *p = b;
    *p++ = LG_REC_WALK_REF;
    p = lg_put_sv(p, (int64_t)((uintptr_t)to - w->cur));
    p = lg_put_sv(p, index);
    p = lg_put_bytes(p, label ? label : "", ll);
    record_raw(b, (size_t)(p - b), NULL, NULL);
    return 0;
}

/* Records every registered runtime's objects and references for check `id`. Runs in the
 * checking thread, with the other threads stopped, outside any hook. */
static void walk_runtimes(uint32_t id)
{
    uint32_t n = atomic_load(&g_nruntimes);
    for (uint32_t i = 0; i < n && i < LG_MAX_RUNTIMES; i++) {
        const struct lg_rt_ops *ops = g_runtimes[i];
        if (!ops || !ops->walk) continue;
        const char *name = ops->runtime ? ops->runtime : "";
        uint8_t extra[LG_VARINT_MAX + 64], *p = extra;
        p = lg_put_uv(p, id);
        p = lg_put_bytes(p, name, strnlen(name, 48));
        lg_event_t ev = {.type = LG_REC_WALK, .seq1 = -1};
        record(&ev, extra, (size_t)(p - extra));
        walk_state_t w = {0};
        struct lg_rt_visitor v = {.arg = &w, .object = walk_object, .ref = walk_ref};
        int rc = ops->walk(ops->ctx, &v);
        uint8_t b[2 * LG_VARINT_MAX + 1], *q = b;
        *q++ = LG_REC_WALK_END;
        q = lg_put_uv(q, w.objects);
        q = lg_put_sv(q, rc);
        record_raw(b, (size_t)(q - b), NULL, NULL);
    }
}

/* ---- snapshots -------------------------------------------------------------------------
 * The snapshot itself (roots, conservative scan) is the collector's work: it reads this
 * process's memory while every thread here is stopped. This side only stops the threads,
 * saves their registers, describes leakgraph's own memory, and waits. Everything here is
 * async-signal-safe (raw system calls, no allocation), because the check signal's handler
 * runs it. Order: stop threads -> request -> wait for DONE -> release threads -> wait until
 * every stop handler returned. */
static _Atomic int g_snap_busy;
static _Atomic uint32_t g_snap_next_id = 1;
static int g_stop_signal;
static int g_check_signal;
static uintptr_t g_shim_data_lo, g_shim_data_hi;

static void save_regs(lg_snap_thread_t *t, const ucontext_t *uc)
{
#if defined(__x86_64__)
    t->nregs = NGREG < LG_SNAP_NREGS ? NGREG : LG_SNAP_NREGS;
    for (uint32_t i = 0; i < t->nregs; i++) t->regs[i] = (uint64_t)uc->uc_mcontext.gregs[i];
    t->sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    t->nregs = 31;
    for (uint32_t i = 0; i < 31; i++) t->regs[i] = uc->uc_mcontext.regs[i];
    t->sp = uc->uc_mcontext.sp;
#else
    (void)uc;
    t->nregs = 0;
    t->sp = 0;
#endif
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
    struct timespec ts = {0, 10000000}; /* 10 ms: every wait re-checks its condition */
    return syscall(SYS_futex, (uint32_t *)addr, op, val, op == FUTEX_WAIT ? &ts : NULL, NULL, 0);
}

/* Runs in every other thread when a snapshot stops the process. */
static void stop_handler(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    int e = errno;
    lg_snap_ctl_t *sc = &g_region->snap;
    uint32_t gen = atomic_load(&sc->release);
    pid_t tid = (pid_t)syscall(SYS_gettid);
    atomic_fetch_add(&sc->inside, 1);
    for (uint32_t i = 0; i < sc->nthreads; i++) {
        lg_snap_thread_t *t = &sc->threads[i];
        if (t->tid != tid) continue;
        save_regs(t, ucv);
        atomic_store_explicit(&t->state, LG_TS_SAVED, memory_order_release);
        break;
    }
    while (atomic_load(&sc->release) == gen) futex(&sc->release, FUTEX_WAIT, gen);
    atomic_fetch_sub(&sc->inside, 1);
    errno = e;
}

/* Lists the other threads of this process into the snapshot table and signals each. */
static void stop_others(lg_snap_ctl_t *sc, pid_t self)
{
    struct linux_dirent64_ {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
    };
    sc->nthreads = 0;
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct linux_dirent64_ *d = (struct linux_dirent64_ *)(buf + off);
            off += d->reclen;
            pid_t tid = (pid_t)atoi(d->name);
            if (tid <= 0 || tid == self || sc->nthreads + 1 >= LG_SNAP_MAX_THREADS) continue;
            lg_snap_thread_t *t = &sc->threads[sc->nthreads++];
            *t = (lg_snap_thread_t){.tid = tid};
        }
    }
    close(fd);
    pid_t pid = getpid();
    for (uint32_t i = 0; i < sc->nthreads; i++)
        if (syscall(SYS_tgkill, pid, sc->threads[i].tid, g_stop_signal) != 0)
            atomic_store(&sc->threads[i].state, LG_TS_NOREGS); /* exited meanwhile */
    /* Wait for them; a thread that blocks the signal keeps state PENDING (its stack is then
     * scanned whole, its registers are unknown). */
    for (uint64_t waited = 0; waited < LG_STOP_WAIT_NS; waited += 100000) {
        uint32_t pending = 0;
        for (uint32_t i = 0; i < sc->nthreads; i++)
            pending += atomic_load(&sc->threads[i].state) == LG_TS_PENDING;
        if (!pending) break;
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

/* Self mode: there is no collector process, so the check is taken by `leakgraph __snapshot`,
 * started now (without the shim), allowed to read this process (PR_SET_PTRACER, for Yama),
 * and waited for: it reads the request at `sc`, replays the trace we just flushed, scans our
 * memory and appends the SNAPSHOT. SIGCHLD stays blocked meanwhile, so a program's own
 * handler cannot reap the helper. Returns 0 or a negative errno. */
static int self_check(lg_snap_ctl_t *sc)
{
    if (!g_lg_bin[0] || !g_collector) return -ENOTSUP;
    while (atomic_exchange(&g_drain_lock, 1)) sched_yield();
    lg_collector_drain(g_collector);
    int rc = lg_collector_flush(g_collector);
    atomic_store(&g_drain_lock, 0);
    if (rc) return rc;
    char pidbuf[24], ctlbuf[24];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
    snprintf(ctlbuf, sizeof ctlbuf, "0x%lx", (unsigned long)(uintptr_t)sc);
    char *argv[] = {"leakgraph", "__snapshot", "--pid", pidbuf, "--ctl", ctlbuf, "--trace",
                    (char *)lg_collector_path(g_collector), NULL};
    size_t nenv = 0;
    while (environ && environ[nenv] && nenv < 4096) nenv++;
    char *envp[nenv + 1];
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0) envp[k++] = environ[i];
    envp[k] = NULL;
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, &old);
    pid_t child;
    rc = posix_spawn(&child, g_lg_bin, NULL, NULL, argv, envp);
    if (rc == 0) {
        prctl(PR_SET_PTRACER, (unsigned long)child, 0, 0, 0);
        int st = 0;
        pid_t w;
        while ((w = waitpid(child, &st, 0)) < 0 && errno == EINTR) {}
        if (w < 0) { /* SIGCHLD ignored: reaped by the kernel; wait for it to be gone */
            while (kill(child, 0) == 0) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            rc = 0;
        } else {
            rc = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
        }
        prctl(PR_SET_PTRACER, 0, 0, 0, 0);
    } else {
        rc = -rc;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Takes a snapshot through the collector. Returns its id, or a negative errno (-ENOTSUP when
 * no collector can read this process, -EBUSY when another snapshot is under way). */
static int take_snapshot(uint32_t reason, const ucontext_t *self_uc, uint64_t self_sp)
{
    if (atomic_load(&g_state) != ST_TRACING || !g_region) return -ENOTSUP;
    if (g_self && !g_lg_bin[0]) return -ENOTSUP; /* no leakgraph binary to take the check */
    if (atomic_exchange(&g_snap_busy, 1)) return -EBUSY;
    tls.guard++;
    lg_snap_ctl_t *sc = &g_region->snap;
    pid_t self = (pid_t)syscall(SYS_gettid);
    struct sigaction sa = {.sa_sigaction = stop_handler, .sa_flags = SA_SIGINFO | SA_RESTART}, old;
    sigfillset(&sa.sa_mask);
    sigaction(g_stop_signal, &sa, &old);
    stop_others(sc, self);
    uint32_t id = atomic_fetch_add(&g_snap_next_id, 1);
    rc_fold_counts();
    /* The runtimes' objects, while nothing else runs; not from a signal (a hook or a
     * collection may have been interrupted). */
    if (reason == LG_SNAP_EXIT || reason == LG_SNAP_CHECK) walk_runtimes(id);

    /* This thread's own registers and stack pointer: those of the interrupted code when a
     * signal asked for the check, else ours; the stack is scanned from the caller's frame up
     * when it is known (dead frames below it are not roots). */
    ucontext_t uc;
    if (!self_uc) {
        getcontext(&uc);
        self_uc = &uc;
    }
    lg_snap_thread_t *me = &sc->threads[sc->nthreads++];
    *me = (lg_snap_thread_t){.tid = self};
    save_regs(me, self_uc);
    if (self_sp) {
        me->sp = self_sp;
        me->flags |= LG_TF_EXACT_SP;
    }
    else if (self_uc == &uc)
        me->sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    atomic_store(&me->state, LG_TS_SAVED);

    sc->nexcl = 0;
    sc->excl_start[sc->nexcl] = (uintptr_t)g_region;
    sc->excl_end[sc->nexcl++] = (uintptr_t)g_region + LG_REGION_SIZE;
    if (g_internal) {
        sc->excl_start[sc->nexcl] = (uintptr_t)g_internal;
        sc->excl_end[sc->nexcl++] = (uintptr_t)g_internal + LG_INTERNAL_BYTES;
    }
    if (g_shim_data_hi) {
        sc->excl_start[sc->nexcl] = g_shim_data_lo;
        sc->excl_end[sc->nexcl++] = g_shim_data_hi;
    }
    sc->id = id;
    sc->reason = reason;
    sc->seq = atomic_load(&g_region->hdr.seq);
    int rc = (int)id;
    uint64_t waited = 0;
    if (g_self) {
        int e = self_check(sc);
        if (e) rc = e;
    } else {
        atomic_store_explicit(&sc->state, LG_SNAP_REQUESTED, memory_order_release);
    }
    /* The collector polls every millisecond; wait as long as it lives. */
    for (; !g_self;) {
        uint32_t st = atomic_load_explicit(&sc->state, memory_order_acquire);
        if (st == LG_SNAP_DONE) break;
        if (st == LG_SNAP_FAILED) {
            rc = -EIO;
            break;
        }
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        waited += 200000;
        if (waited >= LG_WAIT_CHECK_NS) {
            waited = 0;
            if (!collector_alive()) {
                rc = -ENOTSUP;
                break;
            }
        }
    }
    atomic_store(&sc->state, LG_SNAP_IDLE);
    atomic_fetch_add(&sc->release, 1);
    futex(&sc->release, FUTEX_WAKE, INT32_MAX);
    for (int i = 0; i < 10000 && atomic_load(&sc->inside) > 0; i++) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    sigaction(g_stop_signal, &old, NULL);
    tls.guard--;
    atomic_store(&g_snap_busy, 0);
    return rc;
}

/* The public on-demand check (include/leakgraph/leakgraph.h). */
EXPORT int lg_check_now(void)
{
    /* the caller's stack pointer: just above this function's return address */
    return take_snapshot(LG_SNAP_CHECK, NULL, (uint64_t)(uintptr_t)__builtin_frame_address(0) + 16);
}

static void check_signal_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    int e = errno;
    take_snapshot(LG_SNAP_SIGNAL, uc, 0);
    errno = e;
}

/* Signal numbers from the environment: a number, or a name such as USR2 or RTMAX-1. */
static int parse_signal(const char *v, int dflt)
{
    if (!v || !*v) return dflt;
    if (v[0] >= '0' && v[0] <= '9') return atoi(v);
    if (!strncmp(v, "SIG", 3)) v += 3;
    if (!strcmp(v, "USR1")) return SIGUSR1;
    if (!strcmp(v, "USR2")) return SIGUSR2;
    if (!strncmp(v, "RTMAX", 5)) return SIGRTMAX + (v[5] ? atoi(v + 5) : 0);
    if (!strncmp(v, "RTMIN", 5)) return SIGRTMIN + (v[5] ? atoi(v + 5) : 0);
    return dflt;
}

/* A fatal signal the program does not handle itself: take the final check (as Memcheck
 * reports leaks of a crashing program), then die by the same signal. SA_RESETHAND restored
 * the default action; the re-raised signal stays pending until this handler returns. */
static void fatal_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    int e = errno;
    take_snapshot(LG_SNAP_FATAL, uc, 0);
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
    errno = e;
}

static void install_fatal_handlers(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction cur;
        if (sigaction(sigs[i], NULL, &cur) != 0 || cur.sa_handler != SIG_DFL) continue;
        struct sigaction sa = {.sa_sigaction = fatal_handler,
                               .sa_flags = SA_RESETHAND | SA_SIGINFO};
        sigaction(sigs[i], &sa, NULL);
    }
}

/* Frees what the C and C++ runtimes keep until exit on purpose, as Memcheck does before its
 * leak check, so their caches are not reported. Only at the very end of the process. */
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

static void run_freeres(void)
{
    if (!single_threaded()) return; /* others may still use what would be freed */
    void (*cxx)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZN9__gnu_cxx9__freeresEv");
    if (cxx) cxx();
    void (*libc)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "__libc_freeres");
    if (libc) libc();
}

/* ---- start-up -------------------------------------------------------------------------- */

static int shim_range_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t me = (uintptr_t)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (me >= s && me < e) {
            g_shim_lo = s;
            g_shim_hi = e;
            for (int k = 0; k < info->dlpi_phnum; k++) { /* our .data/.bss: never a root */
                const ElfW(Phdr) *w = &info->dlpi_phdr[k];
                if (w->p_type != PT_LOAD || !(w->p_flags & PF_W)) continue;
                uintptr_t ws = info->dlpi_addr + w->p_vaddr;
                g_shim_data_lo = ws & ~(uintptr_t)4095;
                g_shim_data_hi = (ws + w->p_memsz + 4095) & ~(uintptr_t)4095;
            }
            return 1;
        }
    }
    return 0;
}

static void image_ending(int reason, int status);

/* Registered from the shim's constructor, which runs before __libc_start_main registers
 * _dl_fini: so this handler runs after every atexit handler and every destructor, the last
 * code of a normal exit. That is where the status is known and the trace is finished. */
static int take_snapshot(uint32_t reason, const ucontext_t *self_uc, uint64_t self_sp);
static void run_freeres(void);
static void install_fatal_handlers(void);

/* The stack pointer of the code that called exit() (or returned from main): frames below it
 * are dead, though glibc's exit path runs over them. 0 if it cannot be found. */
static uint64_t exit_caller_sp(void)
{
    void *exit_fn = dlsym(RTLD_DEFAULT, "exit");
    unw_context_t ctx;
    unw_cursor_t cur;
    if (!exit_fn || unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0) return 0;
    bool in_exit = false;
    for (int depth = 0; depth < 64 && unw_step(&cur) > 0; depth++) {
        unw_word_t ip, sp;
        Dl_info info;
        unw_get_reg(&cur, UNW_REG_IP, &ip);
        unw_get_reg(&cur, UNW_REG_SP, &sp);
        bool here = dladdr((void *)(uintptr_t)(ip - 1), &info) && info.dli_saddr == exit_fn;
        if (in_exit && !here) return sp;
        in_exit |= here;
    }
    return 0;
}

static void on_exit_status(int status, void *arg)
{
    (void)arg;
    atomic_store(&g_exit_status, status & 0xff);
    if (atomic_load(&g_state) == ST_TRACING) {
        uint64_t sp = exit_caller_sp();
        run_freeres();
        take_snapshot(LG_SNAP_EXIT, NULL, sp);
    }
    image_ending(LG_END_EXIT, status & 0xff);
}

static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

static bool resolve_all(void)
{
    bool ok = true;
#define X(ret, name, params, req)                                                          \
    real_##name = (lg_##name##_fn)dlsym(RTLD_NEXT, #name);                                  \
    if (!real_##name && req) ok = false;
    LG_HOOKS(X)
#undef X
    return ok;
}

/* Sets up the region (and in self mode the trace file) for the current process image.
 * `fork_parent_pid` is the parent's pid when called in a forked child. */
static bool start_process(pid_t fork_parent_pid, lg_region_t *precreated)
{
    lg_stream_t *streams = new_streams();
    if (!streams) return false;
    lg_region_t *r = precreated;
    if (!r) r = g_self ? lg_region_create_private() : create_session_region();
    if (!r) {
        say_once("cannot create the trace region: %s; not tracing", strerror(errno));
        return false;
    }
    /* The description is complete before the state says RUNNING: a collector reads it then. */
    init_region_header(r, precreated ? LG_RS_PREFORK : LG_RS_RUNNING);
    r->hdr.fork_seq = fork_parent_pid ? g_fork_seq : 0;
    describe_process(r, fork_parent_pid);
    atomic_store(&r->hdr.state, LG_RS_RUNNING);
    g_region = r;
    g_streams = streams;
    atomic_fetch_add(&g_gen, 1);
    if (g_self) {
        int rc = open_self_trace();
        if (rc) {
            say_once("cannot create the trace %s: %s; not tracing", g_output, strerror(-rc));
            return false;
        }
    } else {
        publish_region(r);
    }
    return true;
}

static void init(void)
{
    tls.guard++;
    if (!resolve_all()) {
        atomic_store(&g_state, ST_OFF);
        say_once("cannot resolve the C library's allocator; not tracing");
        tls.guard--;
        return;
    }
    atomic_store(&g_state, ST_STARTING);
    const char *dis = getenv("LEAKGRAPH_DISABLE");
    const char *session = getenv("LEAKGRAPH_SESSION");
    const char *output = getenv("LEAKGRAPH_OUTPUT");
    const char *cpid = getenv("LEAKGRAPH_COLLECTOR");
    if (dis && *dis && strcmp(dis, "0") != 0) {
        atomic_store(&g_state, ST_OFF);
        tls.guard--;
        return;
    }
    if (session && *session && strlen(session) < sizeof g_session) {
        strcpy(g_session, session);
        g_collector_pid = cpid ? (pid_t)atoi(cpid) : 0;
    } else {
        g_self = true;
        char def[64];
        if (!output || !*output) {
            snprintf(def, sizeof def, "leakgraph.%d.lgt", (int)getpid());
            output = def;
        }
        if (output[0] == '/') {
            snprintf(g_output, sizeof g_output, "%s", output);
        } else {
            char cwd[900];
            if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
            snprintf(g_output, sizeof g_output, "%s/%s", cwd, output);
        }
    }
    dl_iterate_phdr(shim_range_cb, (void *)(uintptr_t)&init);
    if (g_self) { /* the binary that takes leak checks: LEAKGRAPH_BIN, else beside the shim */
        const char *bin = getenv("LEAKGRAPH_BIN");
        Dl_info di;
        if (bin && *bin) {
            snprintf(g_lg_bin, sizeof g_lg_bin, "%s", bin);
        } else if (dladdr((void *)(uintptr_t)&init, &di) && di.dli_fname) {
            const char *slash = strrchr(di.dli_fname, '/');
            if (slash)
                snprintf(g_lg_bin, sizeof g_lg_bin, "%.*s/../bin/leakgraph",
                         (int)(slash - di.dli_fname), di.dli_fname);
        }
        if (g_lg_bin[0] && access(g_lg_bin, X_OK) != 0) g_lg_bin[0] = 0;
    }
    const char *rcd = getenv("LEAKGRAPH_RC_STACK_DEPTH"); /* before the process is described */
    if (rcd && *rcd) {
        g_rc_depth = atoi(rcd);
        if (g_rc_depth < 0) g_rc_depth = 0;
        if (g_rc_depth > (int)LG_MAX_FRAMES) g_rc_depth = LG_MAX_FRAMES;
    }
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    lg_unwind_init(); /* on failure every capture is unw_backtrace's */
    if (pthread_key_create(&g_thread_key, release_ring) != 0 || !start_process(0, NULL)) {
        atomic_store(&g_state, ST_OFF);
        tls.guard--;
        return;
    }
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    on_exit(on_exit_status, NULL);
    g_rc_counts_only = g_rc_depth == 0;
    const char *scrub = getenv("LEAKGRAPH_SCRUB_MAX");
    if (scrub && *scrub) g_scrub_max = (size_t)strtoull(scrub, NULL, 0);
    g_stop_signal = parse_signal(getenv("LEAKGRAPH_STOP_SIGNAL"), SIGRTMAX - 1);
    g_check_signal = parse_signal(getenv("LEAKGRAPH_CHECK_SIGNAL"), 0);
    if (!g_self || g_lg_bin[0]) install_fatal_handlers();
    if (g_check_signal > 0 && g_check_signal != g_stop_signal) {
        struct sigaction sa = {.sa_sigaction = check_signal_handler,
                               .sa_flags = SA_RESTART | SA_SIGINFO};
        sigaction(g_check_signal, &sa, NULL);
    }
    atomic_store(&g_state, ST_TRACING);
    scan_modules_if_changed();
    tls.guard--;
}

/* The slow path of every wrapper: first call, bootstrap, or not tracing. Returns true when
 * the caller should record (we are tracing and not re-entered). */
static bool slow_enter(void)
{
    int st = atomic_load(&g_state);
    if (st == ST_UNINIT) {
        int expected = ST_UNINIT;
        if (atomic_compare_exchange_strong(&g_state, &expected, ST_RESOLVING)) {
            init();
        } else {
            while (atomic_load(&g_state) == ST_RESOLVING && tls.guard == 0) sched_yield();
        }
        st = atomic_load(&g_state);
    }
    return st == ST_TRACING && tls.guard == 0;
}

static inline bool enter(void)
{
    if (LIKELY(tracing()) && LIKELY(tls.guard == 0)) return true;
    return slow_enter();
}

/* ---- fork, exec, exit ------------------------------------------------------------------ */

static void fork_prepare(void)
{
    if (!tracing()) return;
    g_fork_seq = atomic_load(&g_region->hdr.seq); /* the child inherits what came before */
    if (g_self) {
        if (g_collector) { /* on disk before the child exists: its check replays it */
            snprintf(g_parent_trace, sizeof g_parent_trace, "%s", lg_collector_path(g_collector));
            tls.guard++;
            while (atomic_exchange(&g_drain_lock, 1)) sched_yield();
            lg_collector_drain(g_collector);
            lg_collector_flush(g_collector);
            atomic_store(&g_drain_lock, 0);
            tls.guard--;
        }
        return;
    }
    tls.guard++;
    /* Pre-create the child's region while we can still tell the collector about it: if this
     * parent exits at once, the collector already knows a child is coming. */
    lg_region_t *r = create_session_region();
    if (r) {
        init_region_header(r, LG_RS_PREFORK);
        r->hdr.fork_parent = getpid();
        r->hdr.collector_pid = g_collector_pid;
        publish_region(r);
    }
    g_fork_region = r;
    tls.guard--;
}

static void fork_parent(void)
{
    if (g_fork_region) lg_region_unmap(g_fork_region); /* the child owns it now */
    g_fork_region = NULL;
}

static void fork_child(void)
{
    if (!tracing()) return;
    tls.guard++;
    tls.tid = 0;
    pid_t parent = getppid();
    lg_region_t *old = g_region;
    lg_collector_t *old_col = g_collector;
    g_collector = NULL;
    atomic_store(&g_drain_lock, 0);
    pthread_mutex_init(&g_mod_lock, NULL);
    if (!start_process(parent, g_fork_region)) {
        stop_tracing(NULL);
    } else {
        g_nmods = 0;
        g_mod_adds = g_mod_subs = ~0ull;
        scan_modules_if_changed();
    }
    g_fork_region = NULL;
    lg_collector_close(old_col);
    if (old && old != g_region) lg_region_unmap(old); /* the parent's; only our view goes */
    tls.guard--;
}

/* The process image ends (exit, _exit) or is replaced (exec). In self mode the trace is
 * finished here; in run mode the collector finishes it once the process is gone. */
static void image_ending(int reason, int status)
{
    if (atomic_load(&g_state) != ST_TRACING || !g_region) return;
    tls.guard++;
    rc_fold_counts();
    if (reason == LG_END_EXIT) {
        g_region->hdr.exit_status = status;
        atomic_store(&g_region->hdr.state, LG_RS_EXITED);
    } else {
        atomic_store(&g_region->hdr.state, LG_RS_EXECING);
    }
    if (g_self && g_collector) {
        self_drain(true);
        while (atomic_exchange(&g_drain_lock, 1)) sched_yield();
        lg_collector_finish(g_collector, reason, status, 0);
        atomic_store(&g_drain_lock, 0);
        if (reason == LG_END_EXIT) atomic_store(&g_state, ST_OFF);
    }
    tls.guard--;
}

static void exec_failed(void)
{
    if (atomic_load(&g_state) == ST_TRACING && g_region)
        atomic_store(&g_region->hdr.state, LG_RS_RUNNING);
}

/* Destructors run before on_exit_status (see there). In self mode, move what the rings hold
 * into the trace now, in case the process never reaches the handler. */
__attribute__((destructor(101))) static void lg_fini(void)
{
    if (g_self && atomic_load(&g_state) == ST_TRACING) {
        tls.guard++;
        self_drain(true);
        tls.guard--;
    }
}

/* ---- the wrappers ---------------------------------------------------------------------- */

static inline void record_alloc(uint8_t type, uint8_t fn, void *p, size_t size, size_t align)
{
    if (type != LG_REC_CALLOC && size <= g_scrub_max) memset(p, 0, size); /* see LG_SCRUB_MAX */
    lg_event_t ev = {.type = type, .fn = fn, .addr = (uintptr_t)p, .size = size,
                     .align = align, .seq1 = -1, .stack = true};
    record(&ev, NULL, 0);
}

/* Records a free; must run before the real free (see the ordering rules at the top). */
static inline void record_free(void *p)
{
    lg_event_t ev = {.type = LG_REC_FREE, .addr = (uintptr_t)p, .seq1 = -1};
    record(&ev, NULL, 0);
}

EXPORT void *malloc(size_t n)
{
    if (UNLIKELY(!enter())) {
        if (UNLIKELY(!real_malloc)) return boot_alloc(n, 16);
        return real_malloc(n);
    }
    tls.guard++;
    void *p = real_malloc(n);
    int e = errno;
    if (p) record_alloc(LG_REC_MALLOC, LG_FN_MALLOC, p, n, 0);
    tls.guard--;
    errno = e;
    return p;
}

EXPORT void *calloc(size_t n, size_t s)
{
    if (UNLIKELY(!enter())) {
        if (UNLIKELY(!real_calloc)) {
            size_t t;
            if (__builtin_mul_overflow(n, s, &t)) return NULL;
            return boot_alloc(t, 16); /* static memory is zero */
        }
        return real_calloc(n, s);
    }
    tls.guard++;
    void *p = real_calloc(n, s);
    int e = errno;
    if (p) record_alloc(LG_REC_CALLOC, LG_FN_CALLOC, p, n * s, 0);
    tls.guard--;
    errno = e;
    return p;
}

EXPORT void free(void *p)
{
    if (UNLIKELY(!p || is_boot(p))) return;
    if (UNLIKELY(!enter())) {
        if (real_free) real_free(p);
        return;
    }
    tls.guard++;
    int e = errno;
    record_free(p);
    real_free(p);
    tls.guard--;
    errno = e;
}

EXPORT void free_sized(void *p, size_t n)
{
    (void)n;
    free(p); /* same as free; real_free_sized need not exist */
}

EXPORT void free_aligned_sized(void *p, size_t a, size_t n)
{
    (void)a;
    (void)n;
    free(p);
}

/* realloc and reallocarray: `fn` says which; n is the byte count (already multiplied). */
static void *realloc_common(void *old, size_t n, size_t nmemb, size_t size, bool array)
{
    if (UNLIKELY(is_boot(old))) { /* a bootstrap block: move it to the real heap */
        size_t had = ((size_t *)old)[-1];
        void *p = malloc(n);
        if (p) memcpy(p, old, had < n ? had : n);
        return p;
    }
    if (UNLIKELY(!enter())) {
        if (UNLIKELY(!real_realloc)) return old ? NULL : boot_alloc(n, 16);
        return array && real_reallocarray ? real_reallocarray(old, nmemb, size)
                                          : real_realloc(old, n);
    }
    tls.guard++;
    /* Reserve the free's sequence number before the real call: once realloc released the old
     * block, another thread may get the same address and record it. */
    size_t had = old && n <= g_scrub_max ? malloc_usable_size(old) : 0;
    int64_t seq1 = old ? (int64_t)atomic_fetch_add(&g_region->hdr.seq, 1) : -1;
    void *p = array && real_reallocarray ? real_reallocarray(old, nmemb, size) : real_realloc(old, n);
    int e = errno;
    if (!old) {
        if (p) record_alloc(LG_REC_MALLOC, LG_FN_MALLOC, p, n, 0);
    } else if (p) {
        if (n > had && n <= g_scrub_max) memset((char *)p + had, 0, n - had); /* the new part */
        lg_event_t ev = {.type = LG_REC_REALLOC, .addr = (uintptr_t)p, .old = (uintptr_t)old,
                         .size = n, .seq1 = seq1, .stack = true};
        record(&ev, NULL, 0);
    } else if (n == 0 && !array) { /* glibc: realloc(p, 0) frees p and returns NULL */
        lg_event_t ev = {.type = LG_REC_FREE, .addr = (uintptr_t)old, .seq1 = seq1};
        record(&ev, NULL, 0);
    } else { /* failed: the old block is untouched; publish the reserved number */
        lg_event_t ev = {.type = LG_REC_NOP, .seq1 = seq1};
        record(&ev, NULL, 0);
    }
    tls.guard--;
    errno = e;
    return p;
}

EXPORT void *realloc(void *p, size_t n)
{
    return realloc_common(p, n, 0, 0, false);
}

EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_common(p, n, nmemb, size, true);
}

/* The aligned family shares one shape; `call` performs the real allocation. */
#define ALIGNED_WRAPPER(fnid, align_expr, size_expr, real_call, boot_call)                 \
    do {                                                                                    \
        if (UNLIKELY(!enter())) {                                                           \
            if (UNLIKELY(!real_posix_memalign)) return boot_call;                           \
            return real_call;                                                               \
        }                                                                                   \
        tls.guard++;                                                                        \
        void *p_ = real_call;                                                               \
        int e_ = errno;                                                                     \
        if (p_) record_alloc(LG_REC_ALIGNED, fnid, p_, size_expr, align_expr);              \
        tls.guard--;                                                                        \
        errno = e_;                                                                         \
        return p_;                                                                          \
    } while (0)

static void *via_posix_memalign(size_t a, size_t n)
{
    void *p = NULL;
    int rc = real_posix_memalign(&p, a, n);
    if (rc) {
        errno = rc;
        return NULL;
    }
    return p;
}

EXPORT void *aligned_alloc(size_t a, size_t n)
{
    ALIGNED_WRAPPER(LG_FN_ALIGNED_ALLOC, a, n,
                    real_aligned_alloc ? real_aligned_alloc(a, n) : via_posix_memalign(a, n),
                    boot_alloc(n, a));
}

EXPORT void *memalign(size_t a, size_t n)
{
    ALIGNED_WRAPPER(LG_FN_MEMALIGN, a, n,
                    real_memalign ? real_memalign(a, n) : via_posix_memalign(a, n),
                    boot_alloc(n, a));
}

EXPORT void *valloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    ALIGNED_WRAPPER(LG_FN_VALLOC, pg, n, real_valloc ? real_valloc(n) : via_posix_memalign(pg, n),
                    boot_alloc(n, pg));
}

EXPORT void *pvalloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = (n + pg - 1) & ~(pg - 1);
    if (rounded == 0) rounded = pg;
    ALIGNED_WRAPPER(LG_FN_PVALLOC, pg, rounded,
                    real_pvalloc ? real_pvalloc(n) : via_posix_memalign(pg, rounded),
                    boot_alloc(rounded, pg));
}

EXPORT int posix_memalign(void **out, size_t a, size_t n)
{
    if (UNLIKELY(!enter())) {
        if (UNLIKELY(!real_posix_memalign)) {
            *out = boot_alloc(n, a);
            return *out ? 0 : ENOMEM;
        }
        return real_posix_memalign(out, a, n);
    }
    tls.guard++;
    int rc = real_posix_memalign(out, a, n);
    int e = errno;
    if (rc == 0 && *out) record_alloc(LG_REC_ALIGNED, LG_FN_POSIX_MEMALIGN, *out, n, a);
    tls.guard--;
    errno = e;
    return rc;
}

EXPORT void *dlopen(const char *file, int flags)
{
    if (UNLIKELY(!real_dlopen)) {
        slow_enter();
        if (!real_dlopen) return NULL;
    }
    /* No guard around the real call: the library's constructors allocate like any code. */
    void *h = real_dlopen(file, flags);
    if (tracing() && tls.guard == 0) {
        tls.guard++;
        scan_modules_if_changed();
        tls.guard--;
    }
    return h;
}

EXPORT int dlclose(void *h)
{
    if (UNLIKELY(!real_dlclose)) {
        slow_enter();
        if (!real_dlclose) return -1;
    }
    int rc = real_dlclose(h);
    if (tracing() && tls.guard == 0) {
        tls.guard++;
        scan_modules_if_changed();
        tls.guard--;
    }
    return rc;
}

/* exec family: glibc's execv* call the system call directly, so each is wrapped. */
#define EXEC_WRAPPER(call)                                                                  \
    do {                                                                                    \
        slow_enter();                                                                       \
        image_ending(LG_END_EXEC, 0);                                                       \
        int rc_ = call;                                                                     \
        int e_ = errno;                                                                     \
        exec_failed();                                                                      \
        errno = e_;                                                                         \
        return rc_;                                                                         \
    } while (0)

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    EXEC_WRAPPER(real_execve ? real_execve(path, argv, envp) : (errno = ENOSYS, -1));
}

EXPORT int execv(const char *path, char *const argv[])
{
    EXEC_WRAPPER(real_execv ? real_execv(path, argv) : (errno = ENOSYS, -1));
}

EXPORT int execvp(const char *file, char *const argv[])
{
    EXEC_WRAPPER(real_execvp ? real_execvp(file, argv) : (errno = ENOSYS, -1));
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    EXEC_WRAPPER(real_execvpe ? real_execvpe(file, argv, envp) : (errno = ENOSYS, -1));
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    EXEC_WRAPPER(real_fexecve ? real_fexecve(fd, argv, envp) : (errno = ENOSYS, -1));
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    EXEC_WRAPPER(real_execveat ? real_execveat(dirfd, path, argv, envp, flags)
                               : (errno = ENOSYS, -1));
}

/* execl, execlp, execle: collect the variadic arguments, then the execv* wrappers. */
static int count_args(va_list ap)
{
    int n = 1;
    while (va_arg(ap, const char *)) n++;
    return n;
}

/* Declares `argv` (a VLA: its size is only known here) holding `arg` and the variadic
 * arguments up to their NULL, and leaves `ap` after that NULL (execle's envp follows). */
#define COLLECT_ARGV(arg, ap)                                                               \
    va_list aq_;                                                                            \
    va_copy(aq_, ap);                                                                       \
    int n_ = count_args(aq_);                                                               \
    va_end(aq_);                                                                            \
    char *argv[n_ + 1];                                                                     \
    argv[0] = (char *)(arg);                                                                \
    for (int i_ = 1; i_ <= n_; i_++) argv[i_] = i_ < n_ ? va_arg(ap, char *) : NULL

EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGV(arg, ap);
    va_end(ap);
    return execv(path, argv);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGV(arg, ap);
    va_end(ap);
    return execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGV(arg, ap);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

EXPORT void _exit(int status)
{
    if (atomic_load(&g_state) == ST_TRACING) {
        /* the caller's stack pointer: just above this function's return address */
        uint64_t sp = (uint64_t)(uintptr_t)__builtin_frame_address(0) + 16;
        run_freeres();
        take_snapshot(LG_SNAP_EXIT, NULL, sp);
    }
    image_ending(LG_END_EXIT, status);
    if (real__exit) real__exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

EXPORT void _Exit(int status)
{
    _exit(status);
}

/* Start tracing at load time even if nothing allocates before main. */
__attribute__((constructor(101))) static void lg_init(void)
{
    slow_enter();
}
