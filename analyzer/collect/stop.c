/* Stopping a traced process's threads for a leak check, from the collector, with ptrace: the
 * way LeakSanitizer's StopTheWorld and debuggers do it. A signal-based stop is felt by the
 * program (a handler it may have replaced, a signal it may block or use itself, and every
 * timed wait of another thread cut short with EINTR); a ptrace stop is not: the kernel restarts
 * an interrupted wait as if nothing had happened (nanosleep and poll with the time left), and
 * no code of the program runs.
 *
 * Stop: every thread but the requester (which waits inside the shim) is seized
 * (PTRACE_SEIZE: no signal, no stop) and interrupted (PTRACE_INTERRUPT); the task list is read
 * again until it holds no thread not seized, and once all have stopped it is read once more
 * (a thread stopped right after a clone may have a new sibling). A thread that stops at a
 * signal it was about to take (signal-delivery-stop) counts as stopped: the signal is given
 * back when it is let go. The registers come from PTRACE_GETREGSET, in the order the shim's
 * stop handler saves them from a signal context, so the scan reads both alike.
 * A thread that does not stop within LG_STOP_WAIT_NS (waiting uninterruptibly, e.g. in vfork)
 * is entered without registers (its whole stack is scanned) and let go once it stops.
 *
 * Release: PTRACE_DETACH with the pending signal. Held threads (the exit check ran the C
 * library's freeres: released, they would use what it freed) stay stopped until exit_group
 * ends them; their exits are reaped here (a traced thread that ended is a zombie until its
 * tracer waits for it); the end of our own child's main thread, which is also the status its
 * parent waits for, is kept for the collector's main loop.
 *
 * Parked threads (shim/waits.c) are not stopped at all: a stop would end their epoll_wait
 * with EINTR, which the kernel never restarts. The collector sets the region's parked_wait
 * first, then reads each ring's park_sp: a thread parked there is entered with that stack
 * pointer (its callers' registers are saved on its stack) and no registers; if its wait ends
 * before the release, it waits in the shim until parked_wait is cleared (the shim clears its
 * park_sp, then reads parked_wait; we set parked_wait, then read park_sp: one of us sees the
 * other's store).
 *
 * Any failure to seize (EPERM: ptrace not permitted by policy, the process not dumpable, or
 * already traced by a debugger) lets go every thread seized so far: the caller then falls back
 * to the stop signal. */
#define _GNU_SOURCE
#include "stop.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/ucontext.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

/* ---- tunables -------------------------------------------------------------------------- */
#define LG_STOP_WAIT_NS 2000000000ull /* how long a thread may take to stop */
#define LG_STOP_PASSES 64             /* task list readings before giving up on a clone storm */
/* ---------------------------------------------------------------------------------------- */

enum { T_SEIZED, T_STOPPED, T_GONE, T_HELD, T_PARKED };

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static lg_stopped_thread_t *find(lg_stopped_t *st, pid_t tid)
{
    for (size_t i = 0; i < st->n; i++)
        if (st->t[i].tid == tid) return &st->t[i];
    return NULL;
}

static lg_stopped_thread_t *add(lg_stopped_t *st, pid_t tid)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        lg_stopped_thread_t *t = realloc(st->t, cap * sizeof *t);
        if (!t) return NULL;
        st->t = t;
        st->cap = cap;
    }
    st->t[st->n] = (lg_stopped_thread_t){.tid = tid, .state = T_SEIZED};
    return &st->t[st->n++];
}

/* What a wait status says about thread t. */
static void note(lg_stopped_thread_t *t, int status)
{
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
        t->state = T_GONE;
    } else if (WIFSTOPPED(status) && t->state == T_SEIZED) {
        /* PTRACE_EVENT_STOP: our interrupt, or a group-stop; else a signal-delivery-stop */
        if ((status >> 16) != PTRACE_EVENT_STOP) t->sig = WSTOPSIG(status);
        t->state = T_STOPPED;
    }
}

/* Waits (without blocking) for t's news. The end of our own child's main thread is its
 * process's end: kept for the main loop (child_ended). */
static void poll_one(lg_stopped_t *st, lg_stopped_thread_t *t)
{
    if (t->tid == st->child && st->child_ended) return;
    int status;
    pid_t w = waitpid(t->tid, &status, __WALL | WNOHANG);
    if (w == t->tid) {
        note(t, status);
        if (t->tid == st->child && t->state == T_GONE) {
            st->child_ended = true;
            st->child_status = status;
        }
    } else if (w < 0 && errno == ECHILD) {
        t->state = T_GONE;
    }
}

bool lg_task_ended(pid_t pid, pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return true;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return true;
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X' || p[2] == 'x';
}

/* Seizes and interrupts every thread of pid not seized yet but requester. Returns how many
 * were new, or a negative errno. */
static int seize_new(lg_stopped_t *st, pid_t pid, pid_t requester)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -errno;
    int added = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == requester || find(st, tid)) continue;
        if (st->n + LG_SNAP_SELF_ENTRIES >= LG_SNAP_MAX_THREADS) {
            rc = -E2BIG;
            break;
        }
        if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
            int e = errno;
            if (e == ESRCH || (e == EPERM && lg_task_ended(pid, tid))) continue; /* ended */
            rc = -e;
            break;
        }
        lg_stopped_thread_t *t = add(st, tid);
        if (!t) {
            ptrace(PTRACE_DETACH, tid, 0, 0); /* not stopped: fails, but it was never interrupted */
            rc = -ENOMEM;
            break;
        }
        if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0 && errno == ESRCH) t->state = T_GONE;
        added++;
    }
    closedir(d);
    return rc ? rc : added;
}

/* Waits until every seized thread stopped or ended, at most until deadline. */
static void wait_stops(lg_stopped_t *st, uint64_t deadline)
{
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < st->n; i++) {
            if (st->t[i].state == T_SEIZED) poll_one(st, &st->t[i]);
            pending += st->t[i].state == T_SEIZED;
        }
        if (!pending || mono_ns() > deadline) return;
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

/* Reads thread t's registers into entry e (the stop handler's order, region.h). */
static bool read_regs(pid_t tid, lg_snap_thread_t *e)
{
#if defined(__x86_64__)
    struct user_regs_struct r;
    struct iovec io = {&r, sizeof r};
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &io) != 0) return false;
    uint64_t *g = e->regs;
    g[REG_R8] = r.r8, g[REG_R9] = r.r9, g[REG_R10] = r.r10, g[REG_R11] = r.r11;
    g[REG_R12] = r.r12, g[REG_R13] = r.r13, g[REG_R14] = r.r14, g[REG_R15] = r.r15;
    g[REG_RDI] = r.rdi, g[REG_RSI] = r.rsi, g[REG_RBP] = r.rbp, g[REG_RBX] = r.rbx;
    g[REG_RDX] = r.rdx, g[REG_RAX] = r.rax, g[REG_RCX] = r.rcx, g[REG_RSP] = r.rsp;
    g[REG_RIP] = r.rip, g[REG_EFL] = r.eflags;
    e->nregs = REG_EFL + 1;
    e->sp = r.rsp;
    e->pc = r.rip;
    e->tp = r.fs_base;
    return true;
#elif defined(__aarch64__)
    struct user_pt_regs r;
    struct iovec io = {&r, sizeof r};
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &io) != 0) return false;
    for (int i = 0; i < 31; i++) e->regs[i] = r.regs[i];
    e->nregs = 31;
    e->sp = r.sp;
    e->pc = r.pc;
    uint64_t tp = 0;
    struct iovec tio = {&tp, sizeof tp};
    if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_TLS, &tio) == 0) e->tp = tp;
    return true;
#else
    (void)tid;
    (void)e;
    return false;
#endif
}

/* The parked_wait word of the region, and a wake for the shims that wait on it. */
static void set_parked_wait(lg_region_t *r, uint32_t v)
{
    atomic_store(&r->snap.parked_wait, v);
    syscall(SYS_futex, &r->snap.parked_wait, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* The threads parked in a wait (see above), entered first so that they are never seized. */
static void find_parked(lg_stopped_t *st, lg_region_t *r, pid_t requester)
{
    set_parked_wait(r, 1);
    for (uint32_t i = 1; i < LG_RINGS; i++) {
        uint64_t sp = atomic_load(&r->rings[i].park_sp);
        pid_t tid = (pid_t)atomic_load(&r->rings[i].owner);
        if (!sp || tid <= 0 || tid == requester || find(st, tid)) continue;
        if (st->n + LG_SNAP_SELF_ENTRIES >= LG_SNAP_MAX_THREADS) break;
        lg_stopped_thread_t *t = add(st, tid);
        if (!t) break;
        t->state = T_PARKED;
        t->sp = sp;
    }
}

int lg_stop_threads(lg_stopped_t *st, pid_t pid, pid_t requester, lg_snap_ctl_t *sc,
                    lg_region_t *r, char *err, size_t errlen)
{
    st->pid = pid;
    st->holding = false;
    size_t k = 0; /* forget the ended ones: their tids may be new threads' now */
    for (size_t i = 0; i < st->n; i++)
        if (st->t[i].state != T_GONE) st->t[k++] = st->t[i];
    st->n = k;
    if (r) find_parked(st, r, requester);
    uint64_t deadline = mono_ns() + LG_STOP_WAIT_NS;
    int rc = 0, pass;
    for (pass = 0; pass < LG_STOP_PASSES; pass++) {
        rc = seize_new(st, pid, requester);
        if (rc < 0) break;
        if (rc == 0) {
            /* nothing new: once all have stopped, no stopped thread can clone; read once more */
            wait_stops(st, deadline);
            if ((rc = seize_new(st, pid, requester)) == 0) break;
            if (rc < 0) break;
        }
    }
    if (rc < 0 || pass == LG_STOP_PASSES) {
        snprintf(err, errlen, "cannot stop the threads of pid %d with ptrace: %s", (int)pid,
                 rc == -EPERM ? "not permitted (traced by a debugger, not dumpable, or forbidden by "
                                "policy)"
                 : rc < 0    ? strerror(-rc)
                             : "threads keep appearing");
        lg_release_threads(st, r, false);
        return rc < 0 ? rc : -EAGAIN;
    }
    for (size_t i = 0; i < st->n && sc->nthreads < LG_SNAP_MAX_THREADS; i++) {
        lg_stopped_thread_t *t = &st->t[i];
        if (t->state == T_GONE) continue;
        lg_snap_thread_t *e = &sc->threads[sc->nthreads++];
        if (t->state == T_PARKED) {
            *e = (lg_snap_thread_t){.tid = t->tid, .flags = LG_TF_EXACT_SP, .sp = t->sp};
            atomic_store_explicit(&e->state, LG_TS_SAVED, memory_order_release);
            continue;
        }
        *e = (lg_snap_thread_t){.tid = t->tid, .flags = LG_TF_PTRACE};
        bool ok = t->state == T_STOPPED && read_regs(t->tid, e);
        atomic_store_explicit(&e->state, ok ? LG_TS_SAVED : LG_TS_NOREGS, memory_order_release);
    }
    return 0;
}

static void let_go(lg_stopped_thread_t *t)
{
    if (ptrace(PTRACE_DETACH, t->tid, 0, (void *)(intptr_t)t->sig) == 0 || errno == ESRCH)
        t->state = T_GONE;
}

void lg_release_threads(lg_stopped_t *st, lg_region_t *r, bool hold)
{
    st->holding = hold;
    for (size_t i = 0; i < st->n; i++) {
        lg_stopped_thread_t *t = &st->t[i];
        if (t->state == T_PARKED) t->state = T_GONE; /* theirs to go on, below */
        if (t->state == T_STOPPED || (!hold && t->state == T_HELD)) {
            if (hold) t->state = T_HELD;
            else let_go(t);
        }
    }
    if (!hold && r)
        set_parked_wait(r, 0); /* held: parked ones wait in the shim until exit_group too */
    lg_stopped_poll(st);
}

size_t lg_stopped_poll(lg_stopped_t *st)
{
    size_t left = 0;
    for (size_t i = 0; i < st->n; i++) {
        lg_stopped_thread_t *t = &st->t[i];
        if (t->state == T_SEIZED || t->state == T_HELD) {
            int was = t->state;
            poll_one(st, t);
            if (was == T_SEIZED && t->state == T_STOPPED) { /* stopped late */
                if (st->holding) t->state = T_HELD;
                else let_go(t);
            }
        }
        if (t->state != T_GONE) left++;
    }
    if (!left) st->n = 0;
    return left;
}

void lg_stopped_note(lg_stopped_t *st, pid_t tid, int status)
{
    lg_stopped_thread_t *t = find(st, tid);
    if (!t) return;
    int was = t->state;
    note(t, status);
    if (was == T_SEIZED && t->state == T_STOPPED && !st->holding) let_go(t);
    else if (was == T_SEIZED && t->state == T_STOPPED) t->state = T_HELD;
}

void lg_stopped_free(lg_stopped_t *st)
{
    free(st->t);
    *st = (lg_stopped_t){0};
}
