/* `leakgraph __snapshot --pid P --ctl ADDR --trace PATH`: the leak check of a process that
 * collects its own trace (libleakgraph.so preloaded by hand). That process cannot read itself
 * while stopped and must not link the analyzer, so at a check it starts this command
 * (untraced) and follows the snapshot protocol of trace/region.h with it through the
 * lg_snap_ctl_t at ADDR in its memory, which this command reads and writes with
 * process_vm_readv/writev, as `leakgraph run`'s collector does in the shared region:
 *  - state STOP: the other threads are stopped here with ptrace (stop.c; parked ones are not:
 *    their rings are read here), their registers written back, state STOPPED (or STOP_FAILED:
 *    the process stops them with its stop signal);
 *  - state REQUESTED (the process flushed its trace to PATH): the check is taken exactly as
 *    `leakgraph run` takes it (check.c: PATH replayed for the live blocks, the memory scan,
 *    the holders of runtime objects, the SNAPSHOT appended to PATH), state DONE or FAILED;
 *  - state RELEASE: the threads are let go (or held until they end: the exit check after
 *    freeres), state IDLE.
 * A process that asks for no stop (state REQUESTED at once) gets the check alone. Exit status 0
 * when the snapshot was written, 1 otherwise (with a message on stderr). Not a user command. */
#define _GNU_SOURCE
#include "selfsnap.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "stop.h"

/* Reads `len` bytes of process `pid` at `addr`; the process grants access (PR_SET_PTRACER)
 * right after starting us, so EPERM is retried for a while. */
static int read_remote(pid_t pid, uint64_t addr, void *dst, size_t len)
{
    for (int tries = 0; tries < 400; tries++) {
        struct iovec l = {dst, len}, r = {(void *)(uintptr_t)addr, len};
        ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);
        if (n == (ssize_t)len) return 0;
        if (n < 0 && errno != EPERM) return -errno;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    return -EPERM;
}

/* Writes `len` bytes to process `pid` at `addr`. */
static int write_remote(pid_t pid, uint64_t addr, const void *src, size_t len)
{
    struct iovec l = {(void *)src, len}, r = {(void *)(uintptr_t)addr, len};
    ssize_t n = process_vm_writev(pid, &l, 1, &r, 1, 0);
    return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

#define CTL_FIELD(f) ((uint64_t)offsetof(lg_snap_ctl_t, f))

static int set_state(pid_t pid, uint64_t ctl, uint32_t state)
{
    return write_remote(pid, ctl + CTL_FIELD(state), &state, sizeof state);
}

/* Waits until the process's request leaves `from`: the new state, or -1 when it is gone. The
 * freeres watchdog (shim/check.c) runs meanwhile: past freeres_until the threads go. */
static int64_t wait_state(pid_t pid, uint64_t ctl, uint32_t from, lg_stopped_t *st)
{
    for (;;) {
        uint32_t state;
        uint64_t until;
        if (read_remote(pid, ctl + CTL_FIELD(state), &state, sizeof state) != 0) return -1;
        if (state != from) return state;
        if (st->n && read_remote(pid, ctl + CTL_FIELD(freeres_until), &until, sizeof until) == 0 &&
            until && lg_mono_ns() > until)
            lg_release_threads(st, NULL, false);
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

int lg_selfsnap_main(int argc, char **argv)
{
    long pid = 0;
    uint64_t ctl = 0;
    const char *trace = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--pid")) pid = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--ctl")) ctl = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--trace")) trace = argv[i + 1];
    }
    if (pid <= 0 || !ctl || !trace) {
        fputs("usage: leakgraph __snapshot --pid P --ctl ADDR --trace PATH (internal)\n", stderr);
        return 2;
    }
    lg_snap_ctl_t *sc = calloc(1, sizeof *sc);
    if (!sc) return 1;
    size_t head = offsetof(lg_snap_ctl_t, threads);
    char err[512];
    lg_stopped_t stopped = {0};
    int rc = read_remote((pid_t)pid, ctl, sc, head);
    uint32_t state = rc == 0 ? atomic_load(&sc->state) : 0;
    if (rc == 0 && state == LG_SNAP_STOP) {
        sc->nthreads = 0;
        stopped.remote_region = ctl - offsetof(lg_region_t, snap); /* ctl: its region's snap */
        int e = lg_stop_threads(&stopped, (pid_t)pid, sc->requester, sc, NULL, err, sizeof err);
        if (e == 0)
            e = write_remote((pid_t)pid, ctl + head, sc->threads,
                             sc->nthreads * sizeof(lg_snap_thread_t));
        if (e == 0)
            e = write_remote((pid_t)pid, ctl + CTL_FIELD(nthreads), &sc->nthreads,
                             sizeof sc->nthreads);
        if (e) lg_release_threads(&stopped, NULL, false);
        rc = set_state((pid_t)pid, ctl, e ? LG_SNAP_STOP_FAILED : LG_SNAP_STOPPED);
        int64_t next = rc ? -1 : wait_state((pid_t)pid, ctl, e ? LG_SNAP_STOP_FAILED : LG_SNAP_STOPPED,
                                            &stopped);
        if (next != LG_SNAP_REQUESTED) rc = -ESRCH; /* gone, or gave up on the check */
        else rc = read_remote((pid_t)pid, ctl, sc, head);
    }
    if (rc == 0 && sc->nthreads > LG_SNAP_MAX_THREADS) rc = -EPROTO;
    if (rc == 0 && sc->nthreads)
        rc = read_remote((pid_t)pid, ctl + head, sc->threads,
                         sc->nthreads * sizeof(lg_snap_thread_t));
    if (rc) {
        fprintf(stderr, "leakgraph: no leak check of pid %ld: cannot read its request: %s\n", pid,
                strerror(-rc));
        lg_release_threads(&stopped, NULL, false);
        lg_stopped_free(&stopped);
        free(sc);
        return 1;
    }
    lg_check_t c = {.pid = (pid_t)pid, .sc = sc, .trace = trace};
    lg_check_stats_t cst;
    rc = lg_check_take(&c, &cst, err, sizeof err);
    if (rc) fprintf(stderr, "leakgraph: no leak check of pid %ld: %s\n", pid, err);
    if (state == LG_SNAP_STOP) { /* the release, as run.c's collector does it */
        set_state((pid_t)pid, ctl, rc ? LG_SNAP_FAILED : LG_SNAP_DONE);
        bool hold = false;
        if (wait_state((pid_t)pid, ctl, rc ? LG_SNAP_FAILED : LG_SNAP_DONE, &stopped) ==
            LG_SNAP_RELEASE) {
            uint32_t h = 0;
            read_remote((pid_t)pid, ctl + CTL_FIELD(hold), &h, sizeof h);
            hold = h != 0;
        }
        lg_release_threads(&stopped, NULL, hold);
        set_state((pid_t)pid, ctl, LG_SNAP_IDLE);
        /* held: until exit_group ends them (bounded: the freeres watchdog's time) */
        for (uint64_t end = lg_mono_ns() + 5000000000ull; lg_stopped_poll(&stopped);) {
            if (lg_mono_ns() > end) {
                lg_release_threads(&stopped, NULL, false);
                break;
            }
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    lg_stopped_free(&stopped);
    free(sc);
    return rc ? 1 : 0;
}
