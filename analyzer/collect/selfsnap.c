/* `leakgraph __snapshot --pid P --ctl ADDR --trace PATH`: the leak check of a process that
 * collects its own trace (libleakgraph.so preloaded by hand). That process cannot read itself
 * while stopped and must not link the analyzer, so at a check it stops its threads, flushes
 * its trace, starts this command (untraced) and waits for it. This command reads the check's
 * request (the lg_snap_ctl_t at ADDR in the process: its threads' registers, leakgraph's own
 * memory ranges) and takes the check exactly as `leakgraph run` does (check.c: PATH replayed
 * for the live blocks, the memory scan, the holders of runtime objects, the SNAPSHOT appended
 * to PATH). Exit status 0 when the
 * snapshot was written, 1 otherwise (with a message on stderr). Not a user command. */
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
    int rc = read_remote((pid_t)pid, ctl, sc, head);
    if (rc == 0 && sc->nthreads > LG_SNAP_MAX_THREADS) rc = -EPROTO;
    if (rc == 0 && sc->nthreads)
        rc = read_remote((pid_t)pid, ctl + head, sc->threads,
                         sc->nthreads * sizeof(lg_snap_thread_t));
    if (rc) {
        fprintf(stderr, "leakgraph: no leak check of pid %ld: cannot read its request: %s\n", pid,
                strerror(-rc));
        free(sc);
        return 1;
    }
    char err[512];
    lg_check_t c = {.pid = (pid_t)pid, .sc = sc, .trace = trace};
    lg_check_stats_t st;
    rc = lg_check_take(&c, &st, err, sizeof err);
    if (rc) fprintf(stderr, "leakgraph: no leak check of pid %ld: %s\n", pid, err);
    free(sc);
    return rc ? 1 : 0;
}
