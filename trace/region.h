/* The region: the memory a traced process image shares with its collector. It holds a header
 * (who the process is, how it ended, the global event sequence counter) and an array of rings,
 * one per thread slot. The shim writes records into rings; the collector (the `leakgraph run`
 * parent process, or preloaded by hand the `leakgraph __collect` the shim started) drains them
 * into the trace file. This file owns the layout and the single-producer/single-consumer ring protocol;
 * it must not know what the records mean.
 *
 * Ring protocol. `head` and `tail` are byte positions that only grow; the data index is
 * position & (size-1). Only the owning thread writes bytes and advances `head` (release store,
 * after the bytes); only the collector advances `tail` (release store, after it copied the
 * bytes out). head is advanced by whole records, so a drain always sees whole records. A
 * producer that finds no room waits for the collector: events are never dropped.
 *
 * Region memory: a memfd (memfd_create, close-on-exec), sized
 * LG_REGION_SIZE and sparse (only touched pages cost memory). It is on the kernel's own tmpfs,
 * so no mount's size limits it (a container's 64 MiB /dev/shm would: a store into a page the
 * full tmpfs cannot give is a SIGBUS in the traced program); only memory does, as it does the
 * program's own. The shim sends its descriptor to the collector (SCM_RIGHTS over the session
 * directory's datagram socket, LG_SESSION_SOCKET) and closes it at once: from then on the
 * memory lives in the two mappings and the message, so the program keeps no descriptor of
 * ours, and nothing stays in memory or on a disk when either side dies. `magic` is stored
 * last, so a collector that sees it sees an initialized header; until then the collector only
 * holds the mapping (hdr.creator says whose it is, for when the creator dies first).
 *
 * Who waits for whom: a producer waits for ring space and a checked process for its check;
 * both waits are bounded by the collector's liveness, its collector_state and its beat (the
 * watchdog, LG_COLLECTOR_SILENT_NS), and so is a hand-preloaded image's wait for its END
 * (hdr.finish). The collector never waits for the program. */
#ifndef LG_REGION_H
#define LG_REGION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* ---- tunables ------------------------------------------------------------------------- */
/* Bytes of record data per ring. 1 MiB holds ~150k events: at ~60 MB/s per thread it lasts
 * ~15 ms, ten collector rounds. Must be a power of two. */
#define LG_RING_BYTES (1u << 20)
/* Ring slots per process image. Slot 0 is shared (spinlock) by threads beyond the others. */
#define LG_RINGS 256u
/* Bytes reserved for the process description (argv, exe, cwd) after the header. */
#define LG_INFO_BYTES (64u << 10)
/* Largest record the shim writes: a module record with a PATH_MAX path, or a stack record
 * of LG_MAX_FRAMES frames plus its event. */
#define LG_MAX_RECORD 8192u
/* The shim's watchdog on its collector (run mode): a wait for ring space or for a check ends,
 * and tracing stops with a message, when the collector has not beaten (collector_beat, bumped
 * every round, ~1 ms) for LG_COLLECTOR_SILENT_NS; while it says it is taking a check
 * (LG_CS_CHECKING), whose time grows with the heap (19 s for 10M blocks, docs/bench.md), for
 * LG_COLLECTOR_CHECK_NS. 10 s is ten thousand missed rounds: a collector that silent is
 * stopped or stuck, not slow; a loaded CI machine delays a round by milliseconds. */
#define LG_COLLECTOR_SILENT_NS 10000000000ull
#define LG_COLLECTOR_CHECK_NS 1800000000000ull /* 30 min: ~100x the 10M-block check */
_Static_assert(LG_COLLECTOR_SILENT_NS < LG_COLLECTOR_CHECK_NS, "a check may be slow, a round not");
_Static_assert((LG_RING_BYTES & (LG_RING_BYTES - 1)) == 0, "ring size must be a power of 2");
_Static_assert(LG_MAX_RECORD * 16 < LG_RING_BYTES, "a record must fit a ring many times");
/* ---------------------------------------------------------------------------------------- */

#define LG_REGION_MAGIC 0x4e4f494745524c47ull /* "LGREGION" */
#define LG_REGION_VERSION 9u /* 8: regions are memfds (hdr.creator); threads stopped by the
                              * collector (LG_SNAP_STOP...); 9: finish requests, exec check */

/* Lifecycle of a region, stored in hdr.state. */
enum lg_region_state {
    LG_RS_PREFORK = 1,   /* created by a parent in fork's prepare step; child pid not yet known */
    LG_RS_RUNNING = 2,   /* a live process image owns it */
    LG_RS_EXITED = 3,    /* the shim saw the process exit (exit status is valid) */
    LG_RS_EXECING = 4,   /* an exec is under way; if it fails the state returns to RUNNING */
    LG_RS_ABANDONED = 5, /* a pre-created region whose fork failed: discard */
};

/* What the collector does with a region, stored in hdr.collector_state (run mode). */
enum lg_collector_state {
    LG_CS_SERVING = 0,  /* draining its rings, answering its checks */
    LG_CS_CHECKING = 1, /* taking a check (of this image or another): no rounds meanwhile */
    LG_CS_GAVE_UP = 2,  /* its trace cannot be created or written: the rings are emptied into
                         * nothing and every check fails; the shim stops tracing */
};

/* hdr.finish: a process preloaded by hand (its collector is `leakgraph __collect`, which the
 * shim started: no parent waits for it) asks at its end that its trace be finished before it
 * goes on, so the trace is complete once the process has exited. */
enum lg_finish_state {
    LG_FIN_NONE = 0,   /* the collector finishes the trace once the process is gone */
    LG_FIN_WANTED = 1, /* set by the shim, state EXITED (exit_status or end_signal valid) */
    LG_FIN_DONE = 2,   /* set by the collector once the END block is written */
};

typedef struct lg_ring {
    _Atomic uint32_t owner;   /* tid of the owning thread, 0 when free */
    _Atomic uint32_t lock;    /* spinlock, used only on the shared slot 0 */
    _Atomic uint64_t head;    /* producer position */
    _Atomic uint64_t park_sp; /* owner parked in a wait a stop would cut short (shim/waits.c):
                               * its stack pointer there, 0 when not parked */
    uint8_t pad1[40];
    _Atomic uint64_t tail;    /* consumer position */
    uint8_t pad2[56];
    uint8_t data[LG_RING_BYTES];
} lg_ring_t;

/* ---- snapshot hand-off ------------------------------------------------------------------
 * A snapshot (at exit, lg_check_now(), or the check signal) is taken by the collector, which
 * reads the stopped process's memory. First every thread but the requesting one stops:
 *  - by the collector (ptrace, invisible to the program): the requester sets `requester` and
 *    state STOP; the collector seizes and interrupts every other thread, fills `threads[]`
 *    with their registers (LG_TF_PTRACE) and sets STOPPED, or STOP_FAILED when it cannot
 *    (ptrace not permitted, the process already traced by a debugger): then
 *  - by the stop signal: the requester signals every other thread, each saves its registers
 *    in `threads[]` from the signal handler and waits.
 * The requester then fills the request and sets REQUESTED; the collector scans and sets DONE
 * (or FAILED). Threads the collector stopped: the requester sets `hold` and state RELEASE, the
 * collector lets them go (or, when `hold`, keeps them stopped until they end: exit_group is
 * near) and sets IDLE. Threads the stop signal stopped: the requester lets them go and sets
 * IDLE.
 * A thread parked in a wait the kernel would end with EINTR at a stop (epoll_wait: see
 * shim/waits.c) is not stopped: its callers' registers are on its stack, and it waits in the
 * shim if its wait ends before the collector clears parked_wait. */
#define LG_SNAP_MAX_THREADS 4096u
#define LG_SNAP_NREGS 32u /* general registers saved per thread (architecture order) */
#define LG_SNAP_MAX_EXCL 40u /* the region, the shim's data, its memory's chunks */

enum lg_snap_state {
    LG_SNAP_IDLE = 0,
    LG_SNAP_REQUESTED = 1,
    LG_SNAP_DONE = 2,
    LG_SNAP_FAILED = 3,
    LG_SNAP_STOP = 4,        /* requester -> collector: stop every thread but `requester` */
    LG_SNAP_STOPPED = 5,     /* collector -> requester: done, threads[] filled */
    LG_SNAP_STOP_FAILED = 6, /* collector -> requester: could not; nothing is stopped */
    LG_SNAP_RELEASE = 7,     /* requester -> collector: let them go (or hold them); then IDLE */
};
/* Entries the requester may add after the others: its own (describe_self, LG_TF_MORE). */
#define LG_SNAP_SELF_ENTRIES 2u
enum lg_snap_reason { LG_SNAP_EXIT = 1, LG_SNAP_CHECK = 2, LG_SNAP_SIGNAL = 3, LG_SNAP_FATAL = 4 };
enum lg_thread_state { LG_TS_PENDING = 0, LG_TS_SAVED = 1, LG_TS_NOREGS = 2 };
/* An entry describes one stretch of a thread's live frames: from sp up, with the registers
 * live there. A thread has one entry, or two when its frames continue on another stack (a
 * signal handler running on the alternate signal stack: the handler's frames there, and the
 * interrupted frames on the thread's own stack, flagged LG_TF_MORE).
 * LG_TF_EXACT_SP: sp is exactly where live frames begin (the caller of exit or lg_check_now):
 * no red zone below it is scanned. Otherwise sp is an interrupted thread's, whose leaf may use
 * the 128 bytes below it.
 * LG_TF_ALTSTACK: sp lies on an alternate signal stack that begins at alt_lo: [alt_lo, sp)
 * (minus the red zone) is dead, and the mapping that holds it is no thread's stack (the
 * alternate stack may be a static array in .bss, a malloc'd block or an mmap; the rest of the
 * mapping is a root as any other).
 * LG_TF_MORE: more frames of the thread of the entry before, not another thread.
 * LG_TF_UNSAFE: the shim's own (the collector ignores it): the thread was stopped inside the
 * shim or inside the C library's code, where it may hold a lock of the C library.
 * LG_TF_PTRACE: the collector stopped the thread and read its registers (regs[] in the order of
 * a signal context's general registers, as the stop handler saves them; pc and tp set). */
#define LG_TF_EXACT_SP 1u
#define LG_TF_ALTSTACK 2u
#define LG_TF_MORE 4u
#define LG_TF_UNSAFE 8u
#define LG_TF_PTRACE 16u

typedef struct lg_snap_thread {
    _Atomic uint32_t state; /* enum lg_thread_state */
    int32_t tid;
    uint32_t nregs;         /* registers valid in regs[] */
    uint32_t flags;         /* LG_TF_* */
    uint64_t sp;            /* stack pointer (0 if unknown) */
    uint64_t alt_lo;        /* LG_TF_ALTSTACK: where the alternate signal stack begins */
    uint64_t pc;            /* program counter (0 if unknown) */
    uint64_t tp;            /* thread pointer: its TLS (0 if unknown) */
    uint64_t regs[LG_SNAP_NREGS];
} lg_snap_thread_t;

typedef struct lg_snap_ctl {
    _Atomic uint32_t state;   /* enum lg_snap_state */
    _Atomic uint32_t release; /* bumped by the requester to let stopped threads go */
    _Atomic uint32_t inside;  /* threads still inside the stop handler */
    uint32_t id;              /* check number: 1, 2, ... in the order taken */
    uint32_t reason;          /* enum lg_snap_reason */
    uint32_t nthreads;        /* entries used in threads[] */
    uint64_t seq;             /* the event sequence number at the snapshot */
    uint32_t nexcl;           /* leakgraph's own memory: never a root */
    int32_t requester;        /* LG_SNAP_STOP: the thread that asks (it is not stopped) */
    uint32_t hold;            /* LG_SNAP_RELEASE: keep the threads stopped until they end */
    _Atomic uint32_t parked_wait; /* set by the collector while it stops threads: a parked
                                   * thread whose wait ends waits for it to clear */
    _Atomic uint64_t freeres_until; /* CLOCK_MONOTONIC ns: the requester runs freeres with the
                                     * threads the collector stopped; past it, let them go */
    uint64_t excl_start[LG_SNAP_MAX_EXCL], excl_end[LG_SNAP_MAX_EXCL];
    lg_snap_thread_t threads[LG_SNAP_MAX_THREADS];
} lg_snap_ctl_t;

typedef struct lg_region_hdr {
    _Atomic uint64_t magic;
    uint32_t version;
    uint32_t nrings;
    uint64_t ring_bytes;
    int32_t pid, ppid;
    int32_t fork_parent;         /* pid this image was forked from, 0 if none */
    uint64_t fork_seq;           /* the parent's sequence number when it forked */
    int32_t exec_from;           /* 1 if this image replaced another one of the same pid */
    _Atomic uint32_t state;      /* enum lg_region_state */
    int32_t exit_status;         /* valid in LG_RS_EXITED */
    int32_t collector_pid;       /* the process draining this region */
    uint32_t info_len;           /* bytes used in info[] */
    uint64_t start_ns;
    uint64_t proc_starttime;     /* /proc/<pid>/stat field 22, to tell a reused pid apart */
    _Atomic uint64_t seq;        /* next event sequence number (dense, from 0) */
    _Atomic uint64_t lost;       /* events not recorded because tracing stopped */
    _Atomic uint32_t disabled;   /* set when the shim stopped tracing (collector gone) */
    _Atomic uint64_t rc_increfs; /* counts-only mode: increfs and decrefs of runtime objects */
    _Atomic uint64_t rc_decrefs;
    _Atomic uint32_t collector_state; /* enum lg_collector_state, written by the collector */
    _Atomic uint32_t collector_beat;  /* bumped by the collector every round (the watchdog's) */
    _Atomic uint32_t finish;     /* enum lg_finish_state */
    int32_t end_signal;          /* LG_RS_EXITED by this fatal signal (0: exit_status) */
    uint64_t self_addr;          /* the region's address in the process that owns it */
    uint64_t cookie;             /* the collector's random number, read back at self_addr to
                                  * tell whether an image that was exec'ing is gone */
    _Atomic int32_t check_signal; /* the check signal, once its handler is installed (0: none):
                                   * what `leakgraph run --check-every` sends */
    uint8_t pad[8];
    uint8_t info[LG_INFO_BYTES]; /* PROCESS block payload (key/value list), info_len bytes */
    int32_t creator;             /* pid of the process that created the region (run mode) */
    uint32_t pad2;
} lg_region_hdr_t;

typedef struct lg_region {
    lg_region_hdr_t hdr;
    lg_snap_ctl_t snap;
    lg_ring_t rings[LG_RINGS];
} lg_region_t;

#define LG_REGION_SIZE sizeof(lg_region_t)

/* The session directory's datagram socket: the shim sends each region's memfd there. */
#define LG_SESSION_SOCKET "s"

/* Creates a region in a memfd (close-on-exec, sparse) and maps it shared; hdr.creator is set.
 * Returns the mapping and the descriptor in *fd (the caller sends, then closes it), or NULL
 * with errno set. Uses only raw system calls: safe inside malloc hooks. */
lg_region_t *lg_region_create_memfd(int *fd);
/* Maps the region behind descriptor `fd` read-write (collector side; the caller still owns
 * fd). NULL with errno on failure, EPROTO if fd is no region of this leakgraph build. */
lg_region_t *lg_region_map_fd(int fd);
/* 0 when r's header is initialized (magic set), -EAGAIN when not yet, -EPROTO when it was
 * written by another leakgraph build. */
int lg_region_ready(const lg_region_t *r);
/* Sends descriptor fd (a region) to the socket LG_SESSION_SOCKET in directory dir, without
 * waiting. 0, or a negative errno: -EAGAIN when the socket's queue is full (try again soon),
 * -ECONNREFUSED or -ENOENT when no collector listens there. Raw system calls only. */
int lg_region_send_fd(const char *dir, int fd);
/* Collector side: the next descriptor sent to the (non-blocking) socket sock, close-on-exec;
 * -EAGAIN when none is waiting, another negative errno on failure. */
int lg_region_recv_fd(int sock);
/* Private anonymous region (the unit tests write traces through one). */
lg_region_t *lg_region_create_private(void);
void lg_region_unmap(lg_region_t *r);

/* Bytes waiting in a ring (consumer view). */
static inline uint64_t lg_ring_used(lg_ring_t *ring)
{
    return atomic_load_explicit(&ring->head, memory_order_acquire) -
           atomic_load_explicit(&ring->tail, memory_order_relaxed);
}

/* Producer: copies `len` bytes at position `head` (caller checked space). */
static inline void lg_ring_copy_in(lg_ring_t *ring, uint64_t head, const uint8_t *src, size_t len)
{
    size_t off = (size_t)(head & (LG_RING_BYTES - 1));
    size_t first = LG_RING_BYTES - off;
    if (first >= len) {
        memcpy(ring->data + off, src, len);
    } else {
        memcpy(ring->data + off, src, first);
        memcpy(ring->data, src + first, len - first);
    }
}

/* Consumer: copies `len` bytes starting at `pos` out of the ring. */
static inline void lg_ring_copy_out(lg_ring_t *ring, uint64_t pos, uint8_t *dst, size_t len)
{
    size_t off = (size_t)(pos & (LG_RING_BYTES - 1));
    size_t first = LG_RING_BYTES - off;
    if (first >= len) {
        memcpy(dst, ring->data + off, len);
    } else {
        memcpy(dst, ring->data + off, first);
        memcpy(dst + first, ring->data, len - first);
    }
}

#endif /* LG_REGION_H */
