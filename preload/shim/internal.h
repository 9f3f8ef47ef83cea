/* preload/shim/internal.h: what every part of the shim shares: the includes, the tunables,
 * the real functions generated from the hook list (hooks.h), the states, the per-thread and
 * per-ring-stream types, and the process-wide state. It defines static storage, so it is
 * included exactly once, by preload/shim.c, before the part files; it must never be included
 * anywhere else (tests and tools use the public headers and the trace format instead). */
#ifndef LG_SHIM_INTERNAL_H
#define LG_SHIM_INTERNAL_H
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

#include <ctype.h>
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
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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
#include "path.h"
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
/* The shim's own memory (see map_anon): the first chunk mapped, and the most chunks (each
 * next one as large as all before it: 32 reach 16 TiB). Every chunk is one range a snapshot
 * excludes (with the region and the shim's data: LG_SNAP_MAX_EXCL). 4 MiB holds the streams,
 * one stack table and the first stack arena (1 MiB). */
#define LG_INTERNAL_FIRST_BYTES ((size_t)4 << 20)
#define LG_INTERNAL_CHUNKS 32u
_Static_assert((LG_INTERNAL_FIRST_BYTES & (LG_INTERNAL_FIRST_BYTES - 1)) == 0, "a power of 2");
_Static_assert(LG_INTERNAL_CHUNKS + 2 <= LG_SNAP_MAX_EXCL, "every chunk excluded in a snapshot");
/* How long a snapshot waits for other threads to stop (those that block the stop signal). */
#define LG_STOP_WAIT_NS 300000000ull
/* Scrubbing (shim/alloc_wrappers.c): the bytes of a fresh block the program has not written
 * are zeroed, up to the block's usable size, and so is the part a realloc grew (moved or in
 * place). Memcheck ignores bytes a program never wrote; a conservative scan cannot tell them
 * apart, so a stale word of recycled heap memory (glibc's free-list words, an old block's
 * pointers) would make a lost block reachable, possibly or indirectly lost, or part of a
 * cycle that does not exist. A fresh block's contents are indeterminate, so zero is a value
 * the program may already get. Skipped: calloc (zero already) and glibc chunks mmapped for
 * the block (the kernel's zeros).
 * The default is every byte (SIZE_MAX): the exact mode. LEAKGRAPH_SCRUB_MAX=N zeroes at most
 * N bytes per block (its first N, or the first N of a realloc's new part); 0 disables. That
 * cheaper mode gives up exactness on blocks larger than N: a stale word past their first N
 * bytes is scanned as a pointer. Cost of the exact mode: docs/bench.md, "Scrubbing". */
#define LG_SCRUB_MAX_DEFAULT SIZE_MAX
/* ----------------------------------------------------------------------------------------- */

/* ---- the real functions, generated from the hook list ---------------------------------- */
#define X(ret, name, params, req) typedef ret(*lg_##name##_fn) params;
LG_HOOKS(X)
#undef X
#define X(ret, name, params, req) static lg_##name##_fn real_##name;
LG_HOOKS(X)
#undef X

/* States of the shim (g_state), and what each may call (transitions: lifecycle.c):
 *   UNINIT    -> nothing resolved yet; the first hooked call runs init().
 *   RESOLVING -> dlsym() is running; allocations are served from a static bootstrap arena
 *                (dlsym may call calloc) and are never freed to the C library.
 *   STARTING  -> real functions known; tracing is being set up: pass through, no records.
 *   TRACING   -> wrappers record.
 *   OFF       -> pass through forever (disabled, failed, or the trace was finished). */
enum { ST_UNINIT, ST_RESOLVING, ST_STARTING, ST_TRACING, ST_OFF };
static _Atomic int g_state;

/* Is the shim tracing? The first test of every wrapper and hook, so a relaxed load. */
static inline bool tracing(void)
{
    return LIKELY(atomic_load_explicit(&g_state, memory_order_relaxed) == ST_TRACING);
}

/* ---- per-thread state ------------------------------------------------------------------ */
/* An allocation event of a program's signal handler that interrupted the shim on its thread
 * (signal_view.c, alloc_wrappers.c "Signal handlers"), queued until this thread's next
 * record() writes it (record.c, queue_event()): its sequence numbers are taken when it is
 * queued, so it keeps its place among every thread's events. */
typedef struct lg_pending {
    uint8_t type, fn;
    uintptr_t addr, old;
    size_t size, align;
    uint64_t seq1, seq2;
} lg_pending_t;
#define LG_PENDING 8u /* queued at once per thread; more are counted lost */

typedef struct lg_tls {
    uint64_t rc_inc, rc_dec; /* counts-only mode: increfs/decrefs not yet added to the region */
    int guard;    /* > 0 while inside the shim: nested calls pass through, but see sig_base */
    uint32_t gen; /* region generation `ring` belongs to */
    uint32_t ring;
    pid_t tid;
    /* A program's signal handler runs through the shim's trampoline (signal_view.c), which
     * sets sig_base to the guard it found plus 1 while the handler runs (0: no handler). A
     * call that finds guard > 0 and guard + 1 == sig_base is the handler's own, made while
     * the code it interrupted held the guard: its events are queued (sig_queue > 0). */
    int sig_base;
    int sig_queue;
    _Atomic uint32_t pend_r, pend_w; /* the queue of a handler's events: read and write counts */
    lg_pending_t pend[LG_PENDING];
    /* The shim walks this thread's own frames under a seccomp filter (lifecycle.c, "own
     * walks"): libunwind's reads are checked against [own_lo, own_hi) and the loaded modules
     * instead of by a system call; own_refused: a read was refused (the walk was cut). */
    bool own_walk, own_refused;
    uintptr_t own_lo, own_hi;
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
static bool g_attached;              /* preloaded by hand: the collector is ours (own_collector.c) */
static char g_session[1024];         /* the collector's session directory */
static char g_output[1024];          /* preloaded by hand: base trace path */
static uint64_t g_fork_seq;          /* in a forked child: the parent's sequence at the fork */
static pid_t g_collector_pid;
static char g_lg_bin[1100];          /* preloaded by hand: the leakgraph program (collector) */
static size_t g_scrub_max = LG_SCRUB_MAX_DEFAULT;
static int g_rc_depth = LG_RC_DEPTH_DEFAULT; /* LEAKGRAPH_RC_STACK_DEPTH */
static uintptr_t g_shim_lo, g_shim_hi; /* our own text, skipped in stacks */
static pthread_key_t g_thread_key;
static lg_region_t *g_fork_region; /* run mode: region pre-created for a forking child */
static _Atomic int g_exit_status = -1;
static bool g_exit_check = true;     /* LEAKGRAPH_EXIT_CHECK: the final check (exit, fatal signal) */
static _Atomic int g_said;
/* The program asked for a seccomp filter (image_wrappers.c: prctl PR_SET_SECCOMP, syscall
 * SYS_seccomp): from then on the shim's own walks make no system call (lifecycle.c). */
static _Atomic bool g_sandboxed;
static bool own_walk_begin(uintptr_t sp);
static bool own_walk_end(void);
static void say_sandboxed(void);

/* ---- defined in later parts, used before them --------------------------------------------- */
static inline bool enter(void);                                            /* lifecycle.c */
static void rc_fold_counts(void);                                          /* runtime_hooks.c */
static void image_ending(int reason, int status);                          /* fork_exec.c */
static void fork_prepare(void);                                            /* fork_exec.c */
static void fork_parent(void);                                             /* fork_exec.c */
static void fork_child(void);                                              /* fork_exec.c */

#endif /* LG_SHIM_INTERNAL_H */
