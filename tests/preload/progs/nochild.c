/* The collector that a shim preloaded by hand starts must be nobody the program sees: no
 * child that wait() returns, no SIGCHLD, no zombie, not even after a leak check. This program
 * checks that from inside: wait() finds no child at start and after a check (lg_check,
 * when the shim is there), one fork gives exactly one SIGCHLD and wait() returns that child.
 * It leaks 48 bytes (LEAK below) and exits 0 when all held, else 1 with the reason. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leakgraph/leakgraph.h"

static volatile sig_atomic_t g_chld;
static void on_chld(int sig) { (void)sig; g_chld++; }

void *volatile sink;
static void *leak48(void) { return malloc(48); } /* LEAK:leak48:malloc:48:1:definite */

static int no_child(const char *when)
{
    errno = 0;
    pid_t w = waitpid(-1, NULL, WNOHANG);
    if (w == -1 && errno == ECHILD) return 0;
    fprintf(stderr, "nochild: %s: waitpid(-1) returned %d (errno %d), want -1 ECHILD\n", when,
            (int)w, errno);
    return 1;
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_chld};
    sigaction(SIGCHLD, &sa, NULL);
    sink = leak48();
    sink = NULL;
    int bad = no_child("at start");
    lg_check();
    usleep(50000);
    bad |= no_child("after a check");
    if (g_chld) {
        fprintf(stderr, "nochild: %d SIGCHLD before any fork\n", (int)g_chld);
        bad = 1;
    }
    pid_t kid = fork();
    if (kid == 0) _exit(0);
    int st;
    pid_t w;
    while ((w = wait(&st)) < 0 && errno == EINTR) {}
    if (w != kid) {
        fprintf(stderr, "nochild: wait() returned %d, want the child %d\n", (int)w, (int)kid);
        bad = 1;
    }
    bad |= no_child("after the child");
    if (g_chld != 1) {
        fprintf(stderr, "nochild: %d SIGCHLD for one child\n", (int)g_chld);
        bad = 1;
    }
    return bad;
}
