/* `leakgraph run [--output PATH] -- PROGRAM [ARGS...]`: runs PROGRAM with the shim preloaded
 * and is the collector of every process image it and its descendants create.
 *
 * How it works: a private session directory holds a datagram socket; each process image's
 * shim creates its region in a memfd (a forking parent pre-creates its child's) and sends the
 * descriptor there (region.h); this process maps each and closes the descriptor, so the
 * regions live only in memory, whatever the directory's file system or its size.
 * Every round (LG_ROUND_NS) it drains each region's rings into that image's trace (the
 * collector of trace/writer.c) and beats in each region (the shim's watchdog). A janitor
 * process removes the directory if this process dies without doing it.
 * An image is finished when its process is gone (waitpid for the program itself, a pidfd for
 * descendants) or when a newer image of the same pid appeared (exec); then its rings are
 * drained one last time and the END block written. Because the rings live in this process's
 * mapping of the region, what the program logged reaches the trace even if it dies by SIGKILL.
 * The run ends when the program has been reaped and every traced descendant is finished.
 * When an image asks for a leak check, this process takes it (check.c) while the image waits.
 *
 * What it must not do to the program: write to its memory other than the region they share,
 * stop its threads or let them go other than by answering a check (its shim does both), or
 * signal it except to pass on the SIGINT, SIGQUIT, SIGTERM and SIGHUP that a process sends
 * leakgraph itself (forward_signal); every
 * check it is asked for ends with DONE or FAILED, so the program never waits for nothing.
 *
 * Giving up: an image whose trace cannot be created or written (no name left, a full disk, an
 * I/O error) is given up at once: the reason is said, the region is marked LG_CS_GAVE_UP (its
 * shim stops tracing at its next wait), its rings are emptied into nothing and its checks
 * answered FAILED until it ends, and the run exits 125 at the end. The program's own trace
 * is created before the program is let go (lg_trace_reserve): if that fails, the program never
 * runs and the run exits 125 at once, as Memcheck does with a log file it cannot open.
 *
 * Trace names: the program's first image writes PATH; every other image PATH.<pid>, or
 * PATH.<pid>.<n> if that exists. Nothing is ever overwritten.
 * Exit status: the program's own (128+N if it was killed by signal N); 125 if leakgraph itself
 * failed before the program ran or a trace of the run could not be created or written
 * completely; 126/127 if the program could not be executed / found. */
#define _GNU_SOURCE
#include "run.h"
#include "path.h"

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "codec.h"
#include "writer.h"
#include "leakgraph/trace_format.h"
#include "region.h"
#include "stop.h"
#include "trace.h"

/* ---- tunables -------------------------------------------------------------------------- */
#define LG_ROUND_NS 1000000ull      /* drain every 1 ms: a ring lasts >10 ms at full speed */
#define LG_SCAN_NS 10000000ull      /* the run ends 2 of these after the program: late regions */
#define LG_ORPHAN_GRACE_NS 500000000ull /* a pre-created child region whose parent died */
/* ---------------------------------------------------------------------------------------- */

typedef struct proc {
    char *trace_path; /* once its trace is open */
    lg_live_tracker_t *live; /* its live blocks, kept up to date (NULL: replay at a check) */
    uint64_t start_ns; /* copied from the region when its trace opens */
    lg_region_t *r;
    lg_collector_t *col;
    int pid;
    int pidfd;
    int exec_from;
    bool done;
    bool gave_up;           /* its trace could not be created or written (see above) */
    bool replaced;          /* a newer image of the same pid exists */
    uint64_t execing_since; /* attached: when we saw it exec'ing and could not read it */
    bool provisional;       /* attached: its END ("exec") is written, and taken back if the
                             * exec fails (finish_exec) */
    uint64_t orphan_since;  /* PREFORK region whose creator died: when we noticed */
    lg_stopped_t stopped;   /* its threads this collector stopped for a check (stop.c) */
} proc_t;

typedef struct session {
    bool attached;          /* `leakgraph __collect`: started by a shim preloaded by hand (see
                             * lg_collect_attached); the root is not our child */
    char dir[PATH_MAX];
    char base[PATH_MAX];    /* trace path of the program's first image */
    bool base_taken;
    int root_pid;
    bool root_reaped;
    int root_status;
    proc_t *procs;
    size_t nprocs, cap;
    bool quiet;
    int failed;             /* traces not created or not written completely */
    int sock;               /* the session socket: regions arrive there (region.h) */
    lg_region_t **pending;  /* received, header not initialized yet */
    size_t npending, pending_cap;
} session_t;

static volatile sig_atomic_t g_forward_pid;

/* SIGINT, SIGQUIT, SIGTERM, SIGHUP sent to leakgraph: passed on to the program, which ends
 * (or not) as it chooses, and the run ends with it, cleaning up. One the kernel sent (a
 * terminal's ^C, ^\ or hang-up goes to the whole process group) is not: the program got it
 * too, and must not get it twice. */
static void forward_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (g_forward_pid > 0 && si && si->si_code <= 0) kill((pid_t)g_forward_pid, sig);
}

/* Does process `pid` still run (a zombie does not)? */
static bool pid_running(int pid)
{
    if (pid <= 0) return false;
    if (kill(pid, 0) != 0 && errno == ESRCH) return false;
    return !lg_task_ended(pid, pid);
}

static bool add_proc(session_t *s, lg_region_t *r)
{
    if (s->nprocs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        proc_t *np = realloc(s->procs, cap * sizeof *np);
        if (!np) return false;
        s->procs = np;
        s->cap = cap;
    }
    s->procs[s->nprocs++] = (proc_t){.r = r, .pidfd = -1};
    return true;
}

/* Takes the regions sent to the session socket since the last scan (region.h: a memfd each,
 * mapped here and closed), and adds those whose header is initialized; the others wait in
 * s->pending (their creator is still writing the header), or are dropped when their creator
 * died first. A region that cannot be mapped or kept is said: its image goes untraced, and
 * the run's exit status says a trace is missing. */
static void scan_regions(session_t *s)
{
    int fd;
    while ((fd = lg_region_recv_fd(s->sock)) >= 0) {
        lg_region_t *r = lg_region_map_fd(fd);
        int e = errno;
        close(fd);
        if (r && s->npending == s->pending_cap) {
            size_t cap = s->pending_cap ? s->pending_cap * 2 : 16;
            lg_region_t **np = realloc(s->pending, cap * sizeof *np);
            if (np) {
                s->pending = np;
                s->pending_cap = cap;
            } else {
                lg_region_unmap(r);
                r = NULL;
                e = ENOMEM;
            }
        }
        if (!r) {
            fprintf(stderr, "leakgraph: cannot map a process's trace region: %s; it is not "
                            "traced\n", e == EPROTO ? "written by another leakgraph version"
                                                    : strerror(e));
            s->failed++;
            continue;
        }
        s->pending[s->npending++] = r;
    }
    size_t keep = 0;
    for (size_t i = 0; i < s->npending; i++) {
        lg_region_t *r = s->pending[i];
        int rc = lg_region_ready(r);
        if (rc == -EAGAIN && pid_running(r->hdr.creator)) {
            s->pending[keep++] = r; /* next scan */
        } else if (rc == -EPROTO) {
            fprintf(stderr, "leakgraph: pid %d was traced by another leakgraph version; "
                            "ignored\n", (int)r->hdr.creator);
            lg_region_unmap(r);
        } else if (rc == 0 && !add_proc(s, r)) {
            s->pending[keep++] = r; /* no memory now: next scan */
        } else if (rc) {
            lg_region_unmap(r); /* its creator died before it was initialized */
        }
    }
    s->npending = keep;
}

/* The context is the tracker itself: proc_t entries move (the array is sorted every round
 * and grows). A tracker that fails marks itself (lg_live_trace()->problem), and the process's
 * checks then replay its trace file instead. */
static void observe_rings(void *ctx, uint32_t ring, const uint8_t *bytes, size_t n)
{
    lg_live_feed(ctx, ring, bytes, n);
}

/* Gives up on image p (see the top of this file), saying why. */
__attribute__((format(printf, 3, 4))) static void give_up(session_t *s, proc_t *p,
                                                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("leakgraph: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    atomic_store_explicit(&p->r->hdr.collector_state, LG_CS_GAVE_UP, memory_order_release);
    lg_collector_close(p->col);
    p->col = NULL;
    lg_live_free(p->live);
    p->live = NULL;
    p->gave_up = true;
    s->failed++;
}

/* A given-up image until it ends: its producers never block, its checks fail at once. */
static void serve_given_up(proc_t *p)
{
    for (uint32_t k = 0; k < LG_RINGS; k++)
        atomic_store(&p->r->rings[k].tail, atomic_load(&p->r->rings[k].head));
    uint32_t req = LG_SNAP_REQUESTED;
    atomic_compare_exchange_strong(&p->r->snap.state, &req, LG_SNAP_FAILED);
}

/* Opens the trace of a region whose process description is complete. */
static void start_trace(session_t *s, proc_t *p)
{
    p->pid = p->r->hdr.pid;
    if (p->pid != s->root_pid || s->attached) p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
    p->r->hdr.cookie = lg_mono_ns() ^ ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)p;
    /* An older unfinished image with the same pid was replaced by exec. */
    for (size_t i = 0; i < s->nprocs; i++) {
        proc_t *q = &s->procs[i];
        if (q != p && (q->col || q->gave_up) && !q->done && q->pid == p->pid &&
            q->r->hdr.start_ns < p->r->hdr.start_ns) {
            q->replaced = true;
            p->exec_from = 1;
        }
    }
    /* A forked child: name its parent's trace, so its inherited blocks can be replayed. */
    const proc_t *parent = NULL;
    for (size_t i = 0; p->r->hdr.fork_parent && i < s->nprocs; i++) {
        const proc_t *q = &s->procs[i];
        if (q != p && q->pid == p->r->hdr.fork_parent && q->trace_path &&
            q->start_ns <= p->r->hdr.start_ns)
            parent = q; /* the latest image of that pid that began before the child */
    }
    if (parent) {
        lg_region_hdr_t *h = &p->r->hdr;
        const char *pt = parent->trace_path;
        size_t l = strlen(pt);
        if (h->info_len + l + 3 * LG_VARINT_MAX < LG_INFO_BYTES) {
            uint8_t *q = h->info + h->info_len;
            q = lg_put_uv(q, LG_KEY_PARENT_TRACE);
            q = lg_put_bytes(q, pt, l);
            h->info_len = (uint32_t)(q - h->info);
        }
    }
    if (p->exec_from) { /* tell the reader: append to the description the shim wrote */
        lg_region_hdr_t *h = &p->r->hdr;
        if (h->info_len + 2 * LG_VARINT_MAX < LG_INFO_BYTES) {
            uint8_t *q = h->info + h->info_len;
            q = lg_put_uv(q, LG_KEY_EXEC_FROM);
            q = lg_put_uv(q, 1);
            *q++ = 1;
            h->info_len = (uint32_t)(q - h->info);
        }
    }
    char path[PATH_MAX + 32];
    int rc = -EEXIST;
    if (p->pid == s->root_pid && !p->exec_from && !s->base_taken) {
        /* made before the program ran; attached, the first image takes it if it is free */
        rc = s->attached ? lg_collector_open(&p->col, p->r, s->base)
                         : lg_collector_open_reserved(&p->col, p->r, s->base);
        s->base_taken = true;
        if (rc && rc != -EEXIST) {
            give_up(s, p, "cannot create the trace %s: %s", s->base, strerror(-rc));
            return;
        }
    }
    for (int n = 0; rc == -EEXIST && n < 1000; n++) {
        if (n == 0)
            snprintf(path, sizeof path, "%s.%d", s->base, p->pid);
        else
            snprintf(path, sizeof path, "%s.%d.%d", s->base, p->pid, n);
        rc = lg_collector_open(&p->col, p->r, path);
    }
    if (rc == -EEXIST) {
        give_up(s, p, "cannot create a trace for pid %d: %s.%d ... %s.%d.999 all exist", p->pid,
                s->base, p->pid, s->base, p->pid);
        return;
    }
    if (rc) {
        give_up(s, p, "cannot create a trace for pid %d beside %s: %s", p->pid, s->base,
                strerror(-rc));
        return;
    }
    p->trace_path = strdup(lg_collector_path(p->col));
    /* Keep the live set as the rings are drained, so a check needs no replay. A forked child
     * starts with blocks inherited from its parent's trace: its checks replay files. */
    if (!p->r->hdr.fork_parent && (p->live = lg_live_new(LG_RINGS)))
        lg_collector_set_observer(p->col, observe_rings, p->live);
    p->start_ns = p->r->hdr.start_ns;
}

static void finish_proc(session_t *s, proc_t *p, int reason, int status, int sig);

/* Finishes the trace of an image whose shim said how it ended (LG_RS_EXITED). */
static void finish_as_said(session_t *s, proc_t *p)
{
    int sig = p->r->hdr.end_signal;
    if (sig > 0)
        finish_proc(s, p, LG_END_SIGNAL, 0, sig);
    else
        finish_proc(s, p, LG_END_EXIT, p->r->hdr.exit_status, 0);
}

/* Attached: an image about to exec asks for its END first, so its trace is complete once
 * the new image runs (a user reads it when the program ends, and the new image's collector
 * is another one). The END is provisional: if the exec fails, the image goes on (state
 * RUNNING again) and the END is taken back (round_all). */
static void finish_exec(session_t *s, proc_t *p)
{
    int rc = lg_collector_finish(p->col, LG_END_EXEC, 0, 0);
    if (rc)
        give_up(s, p, "cannot write %s: %s; the rest of this trace is lost",
                lg_collector_path(p->col), strerror(-rc));
    else
        p->provisional = true;
    atomic_store(&p->r->hdr.finish, LG_FIN_DONE);
}

/* Attached: an exec'ing image whose exec succeeded. Its new image starts a collector of its
 * own (no environment variable tells it about us), so this one learns the exec from the
 * process's memory: once the region is no longer mapped at its address there (or something
 * else is), the image is gone. Where the memory cannot be read, an exec that has not
 * failed within LG_EXEC_WAIT_NS is taken as done. */
#define LG_EXEC_WAIT_NS 2000000000ull
static bool image_replaced(proc_t *p, uint64_t now)
{
    if (atomic_load(&p->r->hdr.state) != LG_RS_EXECING) {
        p->execing_since = 0;
        return false;
    }
    uint64_t v = 0;
    struct iovec local = {&v, sizeof v};
    struct iovec remote = {(void *)(uintptr_t)(p->r->hdr.self_addr +
                                               offsetof(lg_region_hdr_t, cookie)), sizeof v};
    ssize_t n = process_vm_readv(p->pid, &local, 1, &remote, 1, 0);
    if (n == (ssize_t)sizeof v) return v != p->r->hdr.cookie;
    if (n < 0 && errno == EFAULT) return true;
    if (!p->execing_since) p->execing_since = now;
    return now - p->execing_since > LG_EXEC_WAIT_NS;
}

/* Is the process of this (non-root) image gone? */
static bool proc_gone(const proc_t *p)
{
    if (p->pidfd >= 0) {
        struct pollfd pf = {p->pidfd, POLLIN, 0};
        return poll(&pf, 1, 0) > 0;
    }
    return !pid_running(p->pid);
}

static void finish_proc(session_t *s, proc_t *p, int reason, int status, int sig)
{
    if (p->col) {
        int rc = p->provisional ? 0 : lg_collector_finish(p->col, reason, status, sig);
        if (rc) {
            fprintf(stderr, "leakgraph: the trace %s is incomplete: %s\n",
                    lg_collector_path(p->col), strerror(-rc));
            s->failed++;
        } else if (atomic_load(&p->r->hdr.disabled)) {
            fprintf(stderr, "leakgraph: the trace %s is incomplete: pid %d stopped tracing "
                            "before it ended (it said why)\n", lg_collector_path(p->col), p->pid);
            s->failed++;
        } else if (!s->quiet) {
            fprintf(stderr, "leakgraph: trace of pid %d written to %s\n", p->pid,
                    lg_collector_path(p->col));
        }
        lg_collector_close(p->col);
        p->col = NULL;
    }
    /* a process waiting for its end to be written goes on (LG_FIN_WANTED) */
    uint32_t want = LG_FIN_WANTED;
    atomic_compare_exchange_strong(&p->r->hdr.finish, &want, LG_FIN_DONE);
    if (p->pidfd >= 0) close(p->pidfd);
    p->pidfd = -1;
    lg_stopped_poll(&p->stopped); /* reaps the held threads that ended with it */
    lg_stopped_free(&p->stopped);
    lg_live_free(p->live);
    p->live = NULL;
    lg_region_unmap(p->r);
    p->r = NULL;
    p->done = true;
}

/* LEAKGRAPH_VERBOSE=1: the collector says on stderr what each snapshot cost (bench/snapshot). */
static bool verbose(void)
{
    const char *v = getenv("LEAKGRAPH_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

/* The collector's own peak resident set (VmHWM), in KiB; 0 if unknown. */
static unsigned long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f) return 0;
    char line[256];
    unsigned long kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lu kB", &kib) == 1) break;
    fclose(f);
    return kib;
}

/* Says in every region what the collector is doing (LG_CS_SERVING or LG_CS_CHECKING: no
 * rounds until the check ends, and the shims' watchdogs wait longer), with a beat. */
static void tell_regions(session_t *s, uint32_t state)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        lg_region_t *r = s->procs[i].r;
        if (!r || s->procs[i].gave_up) continue;
        atomic_store_explicit(&r->hdr.collector_state, state, memory_order_release);
        atomic_fetch_add_explicit(&r->hdr.collector_beat, 1, memory_order_relaxed);
    }
}

/* A process asked for a leak check and waits, stopped: its trace so far on disk (or its live
 * set at hand), the check (check.c), and let it go. A trace that could not be written is
 * given up once the check is answered. */
static void take_snapshot(session_t *s, proc_t *p)
{
    tell_regions(s, LG_CS_CHECKING);
    lg_snap_ctl_t *sc = &p->r->snap;
    char err[512];
    int rc = 0;
    uint64_t t_start = lg_mono_ns(), t_end;
    lg_check_stats_t st = {0};
    lg_collector_drain(p->col); /* feeds the tracker too */
    if (p->live && lg_live_trace(p->live)->problem) { /* it failed: replay the file */
        lg_collector_set_observer(p->col, NULL, NULL);
        lg_live_free(p->live);
        p->live = NULL;
    }
    if (!p->live) { /* Every trace on disk up to now: a forked child replays its parent's. */
        for (size_t i = 0; i < s->nprocs; i++)
            if (s->procs[i].col && &s->procs[i] != p) {
                lg_collector_drain(s->procs[i].col);
                lg_collector_flush(s->procs[i].col);
            }
    }
    if ((rc = lg_collector_flush(p->col))) {
        snprintf(err, sizeof err, "cannot write the trace: %s", strerror(-rc));
    } else {
        lg_check_t c = {.pid = p->pid, .sc = sc, .live = p->live, .trace = lg_collector_path(p->col),
                        .col = p->col};
        rc = lg_check_take(&c, &st, err, sizeof err);
    }
    t_end = lg_mono_ns();
    if (rc && !s->quiet)
        fprintf(stderr, "leakgraph: no leak check of pid %d: %s\n", p->pid, err);
    if (verbose()) {
        uint64_t t_load = st.t_load, t_scan = st.t_scan, t_write = st.t_write;
        if (!t_scan) t_load = t_scan = t_write = t_end;
        fprintf(stderr,
                "leakgraph: snapshot of pid %d: %zu blocks; replay %.1f ms (load %.1f, sort "
                "%.1f), scan %.1f ms, write %.1f ms (payload %zu bytes); collector peak RSS "
                "%lu KiB\n",
                p->pid, st.nblocks, (double)(t_scan - t_start) / 1e6, (double)(t_load - t_start) / 1e6,
                (double)(t_scan - t_load) / 1e6, (double)(t_write - t_scan) / 1e6,
                (double)(t_end - t_write) / 1e6, st.payload, peak_rss_kib());
    }
    atomic_store_explicit(&sc->state, rc ? LG_SNAP_FAILED : LG_SNAP_DONE, memory_order_release);
    tell_regions(s, LG_CS_SERVING);
    if (lg_collector_error(p->col))
        give_up(s, p, "cannot write %s: %s; the rest of this trace is lost",
                lg_collector_path(p->col), strerror(-lg_collector_error(p->col)));
}

/* A process asks for its threads to be stopped for a check (region.h, LG_SNAP_STOP). When
 * ptrace cannot stop them, the shim stops them with its stop signal. */
static void stop_for_check(session_t *s, proc_t *p)
{
    lg_snap_ctl_t *sc = &p->r->snap;
    char err[256];
    p->stopped.child = !s->attached && p->pid == s->root_pid && !s->root_reaped ? p->pid : 0;
    sc->nthreads = 0;
    int rc = lg_stop_threads(&p->stopped, p->pid, sc->requester, sc, p->r, err, sizeof err);
    if (rc && verbose()) fprintf(stderr, "leakgraph: %s; the stop signal stops them\n", err);
    atomic_store_explicit(&sc->state, rc ? LG_SNAP_STOP_FAILED : LG_SNAP_STOPPED,
                          memory_order_release);
}

/* --check-every: asks each running image for a check with the check signal its shim
 * installed (hdr.check_signal: never before the handler is there, so the default action of a
 * real-time signal, which kills, is never met), unless one is under way. */
static void ask_checks(session_t *s)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        proc_t *p = &s->procs[i];
        if (p->done || !p->col || p->gave_up || p->provisional) continue;
        int sig = atomic_load(&p->r->hdr.check_signal);
        if (sig > 0 && atomic_load(&p->r->hdr.state) == LG_RS_RUNNING &&
            atomic_load(&p->r->snap.state) == LG_SNAP_IDLE && !proc_gone(p))
            kill(p->pid, sig);
    }
}

/* Images of one pid must start their traces in the order they began (an exec'd image after
 * the one it replaced), whatever order the directory listed their regions in. */
static int cmp_start(const void *a, const void *b)
{
    const proc_t *x = a, *y = b;
    uint64_t sx = x->r ? x->r->hdr.start_ns : x->start_ns, sy = y->r ? y->r->hdr.start_ns : y->start_ns;
    return sx < sy ? -1 : sx > sy;
}

/* One collector round over every region. */
static void round_all(session_t *s, uint64_t now)
{
    if (s->nprocs > 1) qsort(s->procs, s->nprocs, sizeof *s->procs, cmp_start);
    for (size_t i = 0; i < s->nprocs; i++) {
        proc_t *p = &s->procs[i];
        if (p->done) continue;
        atomic_fetch_add_explicit(&p->r->hdr.collector_beat, 1, memory_order_relaxed);
        if (p->gave_up) {
            serve_given_up(p);
            continue;
        }
        uint32_t st = atomic_load(&p->r->hdr.state);
        if (!p->col) {
            if (st == LG_RS_ABANDONED) {
                finish_proc(s, p, 0, 0, 0);
                continue;
            }
            if (st == LG_RS_PREFORK) {
                int creator = p->r->hdr.fork_parent;
                if (creator > 0 && kill(creator, 0) != 0 && errno == ESRCH) {
                    if (!p->orphan_since) p->orphan_since = now;
                    if (now - p->orphan_since > LG_ORPHAN_GRACE_NS) finish_proc(s, p, 0, 0, 0);
                } else if (s->root_reaped && creator == s->root_pid) {
                    if (!p->orphan_since) p->orphan_since = now;
                    if (now - p->orphan_since > LG_ORPHAN_GRACE_NS) finish_proc(s, p, 0, 0, 0);
                }
                continue;
            }
            start_trace(s, p);
            if (p->gave_up) {
                serve_given_up(p);
                continue;
            }
        }
        if (p->provisional) { /* its END is written: nothing more unless its exec failed */
            if (atomic_load(&p->r->hdr.state) != LG_RS_RUNNING) continue;
            p->provisional = false;
            int rc = lg_collector_unfinish(p->col);
            if (rc) {
                give_up(s, p, "cannot write %s: %s; the rest of this trace is lost",
                        lg_collector_path(p->col), strerror(-rc));
                serve_given_up(p);
                continue;
            }
        }
        uint32_t snap = atomic_load_explicit(&p->r->snap.state, memory_order_acquire);
        if (snap == LG_SNAP_STOP) {
            stop_for_check(s, p);
            continue;
        }
        if (snap == LG_SNAP_REQUESTED) {
            take_snapshot(s, p);
            continue;
        }
        if (snap == LG_SNAP_RELEASE) {
            lg_release_threads(&p->stopped, p->r, p->r->snap.hold != 0);
            atomic_store_explicit(&p->r->snap.state, LG_SNAP_IDLE, memory_order_release);
        }
        if (snap == LG_SNAP_STOPPED && p->stopped.n) { /* freeres's watchdog (shim/check.c) */
            uint64_t until = atomic_load(&p->r->snap.freeres_until);
            if (until && lg_mono_ns() > until) lg_release_threads(&p->stopped, p->r, false);
        }
        if (p->stopped.n) lg_stopped_poll(&p->stopped);
        if (lg_collector_drain(p->col) < 0) {
            give_up(s, p, "cannot write %s: %s; the rest of this trace is lost",
                    lg_collector_path(p->col), strerror(-lg_collector_error(p->col)));
            serve_given_up(p);
        }
    }
    /* Finish the images that ended. */
    for (size_t i = 0; i < s->nprocs; i++) {
        proc_t *p = &s->procs[i];
        if (p->done || (!p->col && !p->gave_up)) continue;
        if (p->replaced) {
            finish_proc(s, p, LG_END_EXEC, 0, 0);
        } else if (atomic_load(&p->r->hdr.finish) == LG_FIN_WANTED) {
            /* the process waits for it, then exits or execs */
            if (atomic_load(&p->r->hdr.state) == LG_RS_EXECING) {
                if (p->col) finish_exec(s, p);
            } else {
                finish_as_said(s, p);
            }
        } else if (!s->attached && p->pid == s->root_pid) {
            if (!s->root_reaped) continue;
            /* the root's latest image: the wait status says how it ended */
            if (WIFSIGNALED(s->root_status))
                finish_proc(s, p, LG_END_SIGNAL, 0, WTERMSIG(s->root_status));
            else
                finish_proc(s, p, LG_END_EXIT, WEXITSTATUS(s->root_status), 0);
        } else if (proc_gone(p)) {
            /* the state is read once the process is gone, so an exit is never missed */
            if (atomic_load(&p->r->hdr.state) == LG_RS_EXITED)
                finish_as_said(s, p);
            else
                finish_proc(s, p, LG_END_UNKNOWN, 0, 0);
        } else if (s->attached && image_replaced(p, now)) {
            finish_proc(s, p, LG_END_EXEC, 0, 0);
        }
    }
}

/* The session's memory, once every image is finished (their regions are unmapped). */
static void session_free(session_t *s)
{
    for (size_t i = 0; i < s->nprocs; i++) free(s->procs[i].trace_path);
    free(s->procs);
    for (size_t i = 0; i < s->npending; i++) lg_region_unmap(s->pending[i]);
    free(s->pending);
}

static bool all_done(const session_t *s)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (!s->procs[i].done) return false;
    return true;
}

static int find_shim(char *out, size_t n)
{
    const char *env = getenv("LEAKGRAPH_PRELOAD");
    if (env && *env) {
        if (access(env, R_OK) != 0) return -errno;
        if (!realpath(env, out)) return -errno;
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0) return -ENOENT;
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    static const char *const rel[] = {"/../lib/libleakgraph.so", "/../lib/leakgraph/libleakgraph.so",
                                      "/libleakgraph.so"};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
        if (access(cand, R_OK) == 0 && realpath(cand, out)) return 0;
    }
    (void)n;
    return -ENOENT;
}

/* Makes the private session directory (0700) and binds its socket, where the shims send
 * their regions (region.h; nothing large is ever stored in the directory, so any file system
 * serves): under /dev/shm, else $TMPDIR, else /tmp; one where the directory cannot be made
 * (missing, read-only, full) or where its socket's name is too long is passed over. Returns
 * the socket (non-blocking, close-on-exec) or a negative errno, the last base's failure. */
static int make_session_dir(char *out, size_t n)
{
    const char *bases[] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};
    int err = ENOENT;
    for (size_t i = 0; i < 3; i++) {
        if (!bases[i] || !*bases[i]) continue;
        snprintf(out, n, "%s/leakgraph.XXXXXX", bases[i]);
        if (!mkdtemp(out)) {
            err = errno;
            continue;
        }
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        int len = snprintf(a.sun_path, sizeof a.sun_path, "%s/%s", out, LG_SESSION_SOCKET);
        int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (sock < 0) {
            err = errno;
            rmdir(out);
            break;
        }
        if (len > 0 && (size_t)len < sizeof a.sun_path &&
            bind(sock, (struct sockaddr *)&a, sizeof a) == 0)
            return sock;
        err = len > 0 && (size_t)len < sizeof a.sun_path ? errno : ENAMETOOLONG;
        close(sock);
        unlink(a.sun_path);
        rmdir(out);
    }
    out[0] = 0;
    return -err;
}

/* Removes the session directory and what is left in it (regions never published: a shim
 * that died while creating one). A shim may create a region meanwhile: a few tries. */
static void remove_session(const char *dir)
{
    for (int tries = 0; tries < 20; tries++) {
        DIR *d = opendir(dir);
        if (!d) return;
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
        if (rmdir(dir) == 0 || errno != ENOTEMPTY) return;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
}

/* The janitor: a child forked before the program, holding only the read end of a pipe whose
 * one writer is this process (*writer, close-on-exec, so the program never holds it). When
 * this process ends, however (SIGKILL included), its read returns 0, and it removes the
 * session directory and exits; after a normal end it finds nothing to do. It ignores the
 * signals a terminal or a job control sends to the whole group (the program and we get them
 * too), and its standard streams are /dev/null, so it never holds a pipe a caller reads to
 * its end. Returns its pid, or -1 (then nothing removes a directory a killed run leaves). */
static pid_t start_janitor(const char *dir, int *writer)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        static const int sigs[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE};
        for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], SIG_IGN);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 0; fd < 3 && null >= 0; fd++) dup2(null, fd);
        char c;
        while (read(fds[0], &c, 1) < 0 && errno == EINTR) {}
        remove_session(dir);
        _exit(0);
    }
    close(fds[0]);
    if (pid < 0) {
        close(fds[1]);
        return -1;
    }
    *writer = fds[1];
    return pid;
}

/* The program never traced: says why. Its shim, if it ran, said its reason in the session
 * directory (why.<pid>, shim/support.c; an address-space limit is named there). No reason at
 * all: the shim never ran in the program (the dynamic loader ignores LD_PRELOAD for a static
 * executable and for a setuid one). */
static void say_not_traced(const session_t *s)
{
    char path[PATH_MAX + 32], why[512] = "";
    snprintf(path, sizeof path, "%s/why.%d", s->dir, s->root_pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        ssize_t n = read(fd, why, sizeof why - 1);
        close(fd);
        why[n > 0 ? n : 0] = 0;
        why[strcspn(why, "\n")] = 0;
    }
    if (!why[0]) {
        fprintf(stderr, "leakgraph: the program was not traced (is it statically linked, or "
                        "setuid?)\n");
        return;
    }
    fprintf(stderr, "leakgraph: the program was not traced: %s\n", why); /* the shim's words */
}

/* Creates the program's trace (lg_trace_reserve) before it runs, and says why it cannot. */
static int reserve_base(const char *base)
{
    int rc = lg_trace_reserve(base);
    struct stat st;
    if (rc == -EEXIST && lstat(base, &st) == 0 && S_ISDIR(st.st_mode))
        fprintf(stderr, "leakgraph: %s is a directory: --output names the trace file to create\n",
                base);
    else if (rc == -EEXIST)
        fprintf(stderr, "leakgraph: %s exists; refusing to overwrite it\n", base);
    else if (rc)
        fprintf(stderr, "leakgraph: cannot create the trace %s: %s\n", base, strerror(-rc));
    return rc;
}

/* 0, or -ENAMETOOLONG when the absolute name does not fit in out. */
static int absolute_path(const char *p, char *out, size_t n)
{
    char cwd[PATH_MAX] = "";
    if (p[0] != '/' && !getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    int len = p[0] == '/' ? snprintf(out, n, "%s", p) : snprintf(out, n, "%s/%s", cwd, p);
    return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int lg_run(const lg_run_opts_t *o, char *const argv[], lg_run_result_t *res)
{
    session_t s = {.quiet = o->quiet};
    lg_run_result_t unused;
    if (!res) res = &unused;
    *res = (lg_run_result_t){.program_status = -1};
    char shim[PATH_MAX];
    int rc = find_shim(shim, sizeof shim);
    if (rc) {
        fprintf(stderr, "leakgraph: cannot find libleakgraph.so next to this program "
                        "(set LEAKGRAPH_PRELOAD): %s\n", strerror(-rc));
        return 125;
    }
    if (o->output && absolute_path(o->output, s.base, sizeof s.base)) {
        fprintf(stderr, "leakgraph: %s: %s\n", o->output, strerror(ENAMETOOLONG));
        return 125;
    }
    if ((s.sock = make_session_dir(s.dir, sizeof s.dir)) < 0) {
        fprintf(stderr, "leakgraph: cannot create a session directory (under /dev/shm, "
                        "$TMPDIR or /tmp): %s\n", strerror(-s.sock));
        return 125;
    }
    int janitor_fd = -1;
    pid_t janitor = start_janitor(s.dir, &janitor_fd);

    /* The program's environment: the shim first in LD_PRELOAD, and where to find us. */
    const char *old = getenv("LD_PRELOAD");
    size_t plen = strlen(shim) + (old ? strlen(old) + 1 : 0) + 1;
    char *preload = malloc(plen), pidbuf[32];
    int status = 125;
    if (!preload) goto out;
    snprintf(preload, plen, "%s%s%s", shim, old && *old ? ":" : "", old ? old : "");
    /* fixed width (pid_max is at most 2^22): the program's environment is as long whatever
     * our pid, as a program that copies its environment would otherwise show (gawk's ENVIRON
     * held one byte more when the collector's pid had one digit more than in the run before) */
    snprintf(pidbuf, sizeof pidbuf, "%010d", (int)getpid());

    /* errpipe: the child's exec error; gopipe: the child execs only once its trace exists
     * (the default name holds its pid), and exits 125 if the pipe closes without a byte. */
    int errpipe[2], gopipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0 || pipe2(gopipe, O_CLOEXEC) != 0) {
        perror("leakgraph: pipe");
        free(preload);
        goto out;
    }
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        perror("leakgraph: fork");
        free(preload);
        goto out;
    }
    if (child == 0) {
        close(errpipe[0]);
        close(gopipe[1]);
        char go;
        ssize_t g;
        while ((g = read(gopipe[0], &go, 1)) < 0 && errno == EINTR) {}
        if (g != 1) _exit(125);
        setenv("LD_PRELOAD", preload, 1);
        setenv("LEAKGRAPH_SESSION", s.dir, 1);
        setenv("LEAKGRAPH_COLLECTOR", pidbuf, 1);
        unsetenv("LEAKGRAPH_OUTPUT");
        if (o->check_every_ns) setenv("LEAKGRAPH_CHECK_SIGNAL", "RTMIN+3", 0);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(errpipe[1], &e, sizeof e);
        (void)w;
        _exit(e == ENOENT ? 127 : 126);
    }
    free(preload);
    close(errpipe[1]);
    close(gopipe[0]);
    if (!o->output) {
        char name[PATH_MAX];
        snprintf(name, sizeof name, "leakgraph.%s.%d.lgt", lg_basename(argv[0]), (int)child);
        if (absolute_path(name, s.base, sizeof s.base)) /* a cwd too long: keep it relative */
            snprintf(s.base, sizeof s.base, "%s", name);
    }
    bool reserved = reserve_base(s.base) == 0;
    if (reserved && write(gopipe[1], "g", 1) != 1) { /* cannot happen: the child reads */
        unlink(s.base);
        reserved = false;
    }
    close(gopipe[1]);
    int exec_errno = 0;
    ssize_t got;
    while ((got = read(errpipe[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {}
    close(errpipe[0]);
    if (!reserved) { /* the child exits 125 without running the program */
        waitpid(child, NULL, 0);
        goto out;
    }
    if (got == (ssize_t)sizeof exec_errno) {
        fprintf(stderr, "leakgraph: cannot run %s: %s\n", argv[0], strerror(exec_errno));
        waitpid(child, NULL, 0);
        unlink(s.base);
        status = res->program_status = exec_errno == ENOENT ? 127 : 126;
        goto out;
    }

    s.root_pid = child;
    g_forward_pid = child;
    /* Like a shell running a job: ^C goes to the program, and we keep collecting. */
    struct sigaction fwd = {.sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
    static const int fwd_sigs[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof fwd_sigs / sizeof *fwd_sigs; i++) sigaction(fwd_sigs[i], &fwd, NULL);

    uint64_t root_done_at = 0, next_check = lg_mono_ns() + o->check_every_ns;
    for (;;) {
        uint64_t now = lg_mono_ns();
        if (o->check_every_ns && now >= next_check) {
            ask_checks(&s);
            next_check = now + o->check_every_ns;
        }
        scan_regions(&s); /* every round: the shims' sends wait on a short queue */
        if (!s.root_reaped) {
            int st;
            pid_t w = waitpid(child, &st, WNOHANG);
            if (w == child && WIFSTOPPED(st)) { /* a ptrace stop of its main thread (stop.c) */
                for (size_t i = 0; i < s.nprocs; i++)
                    if (s.procs[i].pid == child) lg_stopped_note(&s.procs[i].stopped, child, st);
                w = 0;
            }
            for (size_t i = 0; w != child && i < s.nprocs; i++)
                if (s.procs[i].pid == child && s.procs[i].stopped.child_ended) {
                    w = child; /* reaped by stop.c, as the tracer of its main thread */
                    st = s.procs[i].stopped.child_status;
                }
            if (w == child) {
                s.root_reaped = true;
                s.root_status = st;
                g_forward_pid = 0;
                root_done_at = now;
                scan_regions(&s); /* regions created just before the end */
            }
        }
        round_all(&s, now);
        if (s.root_reaped && all_done(&s) && now - root_done_at > 2 * LG_SCAN_NS) break;
        struct timespec ts = {0, LG_ROUND_NS};
        nanosleep(&ts, NULL);
    }
    session_free(&s);
    if (verbose()) fprintf(stderr, "leakgraph: collector peak RSS %lu KiB\n", peak_rss_kib());
    if (!s.base_taken) {
        if (lg_trace_is_reserved(s.base)) unlink(s.base);
        say_not_traced(&s);
    }
    status = res->program_status = WIFSIGNALED(s.root_status) ? 128 + WTERMSIG(s.root_status)
                                                              : WEXITSTATUS(s.root_status);
    res->failed_traces = s.failed;
    if (s.failed) {
        fprintf(stderr, "leakgraph: %d trace%s of this run could not be created or written "
                        "completely: exit status 125 (the program's own: %d)\n",
                s.failed, s.failed > 1 ? "s" : "", status);
        status = 125;
    }
out:
    close(s.sock);
    remove_session(s.dir);
    if (janitor > 0) {
        close(janitor_fd);
        waitpid(janitor, NULL, 0);
    }
    return status;
}

/* Attached: every image of the starter's pid served here is finished (an exec'd image of it
 * has a collector of its own). */
static bool starter_done(const session_t *s)
{
    bool seen = false;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == s->root_pid) {
            if (!s->procs[i].done) return false;
            seen = true;
        }
    return seen;
}

/* `leakgraph __collect`: the collector of a program preloaded by hand. Its shim starts this
 * process (a grandchild it lets go: it is nobody's child the program can wait for, and in a
 * session of its own, so a terminal's signals do not end it) before its first event; it
 * makes a session exactly as `run` does, says on `ready_fd` where it is ("OK <pid> <dir>\n"),
 * and serves every image of the program and of its forked children that joins it. An
 * image's exec starts a new collector in the new image; this one finishes the old image's
 * trace once the exec took (image_replaced). Each image asks at its end that its trace be
 * finished before it exits (LG_FIN_WANTED), so its trace is complete when the program's exit
 * status is known. It ends when every image is finished, or when the starter is gone without
 * ever sending its region. It gives the program's stderr (its only descriptor of the
 * program's) back once the program's own image is finished: a daemon child it serves must
 * not hold a pipe the program's caller reads to the end. Trace names are `run`'s, with `base` taken only if it is free.
 * Returns 0, or 1 when a trace could not be created or written completely (said on stderr). */
int lg_collect_attached(const char *base, int starter, int ready_fd)
{
    session_t s = {.attached = true, .quiet = true, .root_pid = starter, .root_reaped = true};
    FILE *ready = fdopen(ready_fd, "w");
    if (!ready) return 1;
    if (snprintf(s.base, sizeof s.base, "%s", base) >= (int)sizeof s.base) {
        fprintf(ready, "ERR %s: %s\n", base, strerror(ENAMETOOLONG));
        fclose(ready);
        return 1;
    }
    if ((s.sock = make_session_dir(s.dir, sizeof s.dir)) < 0) {
        fprintf(ready, "ERR cannot create a session directory (under /dev/shm, $TMPDIR or "
                       "/tmp): %s\n", strerror(-s.sock));
        fclose(ready);
        return 1;
    }
    static const int ignored[] = {SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE, SIGTSTP, SIGTTIN,
                                  SIGTTOU};
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++) signal(ignored[i], SIG_IGN);
    int janitor_fd = -1;
    pid_t janitor = start_janitor(s.dir, &janitor_fd);
    fprintf(ready, "OK %d %s\n", (int)getpid(), s.dir);
    fclose(ready);

    uint64_t started = lg_mono_ns(), quiet_since = 0;
    bool stderr_held = true;
    for (;;) {
        uint64_t now = lg_mono_ns();
        scan_regions(&s);
        round_all(&s, now);
        if (stderr_held && starter_done(&s)) {
            /* The program's stderr may be a pipe its caller reads to the end: once the
             * program's own image is finished, a daemon child it left must not keep it open
             * through us. What we say about the others' traces from now on is lost. */
            int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (null >= 0) {
                dup2(null, 2);
                close(null);
            }
            stderr_held = false;
        }
        if (!all_done(&s) || s.npending) {
            quiet_since = 0;
        } else {
            if (!quiet_since) quiet_since = now;
            if (now - quiet_since > 2 * LG_SCAN_NS &&
                (s.nprocs || !pid_running(starter) || now - started > LG_COLLECTOR_SILENT_NS))
                break;
        }
        struct timespec ts = {0, LG_ROUND_NS};
        nanosleep(&ts, NULL);
    }
    session_free(&s);
    close(s.sock);
    remove_session(s.dir);
    if (janitor > 0) {
        close(janitor_fd);
        waitpid(janitor, NULL, 0);
    }
    return s.failed ? 1 : 0;
}
