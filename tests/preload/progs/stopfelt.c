/* stopfelt: a leak check must not be felt by the program's other threads (issue #13, "the stop
 * signal is felt"). Each mode prints what the program sees; the driver (test_stop_*) requires
 * the same output and exit status traced as natively, and the leak below in the report.
 *
 *   sigrtmax  the program uses SIGRTMAX-1 (leakgraph's default stop signal) itself: a thread
 *             sends it to the main thread every 20 us while main returns (the exit check)
 *   blocked   a thread blocks every signal during a mid-run check, then unblocks them
 *   waits     threads wait in nanosleep, clock_nanosleep, poll, select, epoll_wait,
 *             sem_timedwait, pthread_cond_timedwait, sleep and read during a mid-run check:
 *             each must end as it would untraced (no EINTR, not early)
 *   epollreg  a thread waits in epoll_wait for ever, the only pointer to a block of its own in
 *             a callee-saved register of its caller (built -O2), while main takes a check and
 *             exits: the block is still reachable at both checks, as Memcheck says
 *
 * Every mode leaks one block of 4321 bytes (leak_once, the line marked). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "leakgraph/leakgraph.h"

static void *g_keep;

static void leak_once(void)
{
    g_keep = malloc(4321); /* LEAK:leak_once:malloc:4321 */
    g_keep = NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- sigrtmax ------------------------------------------------------------------------- */
static atomic_long g_handled;
static atomic_int g_stop_sending;
static pid_t g_main_tid;

static void count_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&g_handled, 1);
}

static void *sender(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop_sending)) {
        syscall(SYS_tgkill, getpid(), g_main_tid, SIGRTMAX - 1);
        struct timespec ts = {0, 20000}; /* paced: a queue never empty would starve main */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int mode_sigrtmax(void)
{
    struct sigaction sa = {.sa_handler = count_handler, .sa_flags = SA_RESTART};
    sigaction(SIGRTMAX - 1, &sa, NULL);
    g_main_tid = (pid_t)syscall(SYS_gettid);
    pthread_t t;
    pthread_create(&t, NULL, sender, NULL);
    while (atomic_load(&g_handled) < 100) {}
    leak_once();
    puts("sigrtmax: handled signals, exiting with the sender still sending");
    fflush(stdout);
    return 0; /* exit() runs the final check while the sender sends */
}

/* ---- blocked -------------------------------------------------------------------------- */
static atomic_int g_phase;

static void *blocker(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    atomic_store(&g_phase, 1);
    while (atomic_load(&g_phase) < 2) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    pthread_sigmask(SIG_UNBLOCK, &all, NULL);
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    return NULL;
}

static int mode_blocked(void)
{
    pthread_t t;
    pthread_create(&t, NULL, blocker, NULL);
    while (atomic_load(&g_phase) < 1) {}
    leak_once();
    int rc = lg_check();
    atomic_store(&g_phase, 2);
    pthread_join(t, NULL);
    printf("blocked: the check %s; the blocking thread ended normally\n",
           rc >= 0 || rc == -ENOSYS ? "ran" : "failed");
    return 0;
}

/* ---- waits ---------------------------------------------------------------------------- */
#define WAIT_S 1.5
enum { W_NANOSLEEP, W_CLOCK_NANOSLEEP, W_POLL, W_SELECT, W_EPOLL, W_EPOLL_PWAIT, W_SEM, W_COND,
       W_SLEEP, W_READ, NWAITS };
static const char *const wait_names[NWAITS] = {
    "nanosleep", "clock_nanosleep", "poll", "select", "epoll_wait", "epoll_pwait", "sem_timedwait",
    "pthread_cond_timedwait", "sleep", "read"};
static struct { int rc, err; double took; } g_res[NWAITS];
static atomic_int g_ready;
static int g_pipe[2];

static void *waiter(void *arg)
{
    long k = (long)arg;
    struct timespec rel = {1, 500000000}, abs_rt;
    clock_gettime(CLOCK_REALTIME, &abs_rt);
    abs_rt.tv_sec += 1;
    abs_rt.tv_nsec += 500000000;
    if (abs_rt.tv_nsec >= 1000000000) abs_rt.tv_sec++, abs_rt.tv_nsec -= 1000000000;
    int rc = 0, err = 0;
    atomic_fetch_add(&g_ready, 1);
    double t0 = now();
    errno = 0;
    switch (k) {
    case W_NANOSLEEP: rc = nanosleep(&rel, NULL); break;
    case W_CLOCK_NANOSLEEP: rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL); break;
    case W_POLL: rc = poll(NULL, 0, 1500); break;
    case W_SELECT: {
        struct timeval tv = {1, 500000};
        rc = select(0, NULL, NULL, NULL, &tv);
        break;
    }
    case W_EPOLL:
    case W_EPOLL_PWAIT: {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev;
        rc = k == W_EPOLL ? epoll_wait(ep, &ev, 1, 1500) : epoll_pwait(ep, &ev, 1, 1500, NULL);
        err = errno;
        close(ep);
        errno = err;
        break;
    }
    case W_SEM: {
        sem_t s;
        sem_init(&s, 0, 0);
        rc = sem_timedwait(&s, &abs_rt);
        break;
    }
    case W_COND: {
        pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
        pthread_cond_t c = PTHREAD_COND_INITIALIZER;
        pthread_mutex_lock(&m);
        rc = pthread_cond_timedwait(&c, &m, &abs_rt); /* returns the error */
        pthread_mutex_unlock(&m);
        break;
    }
    case W_SLEEP: rc = (int)sleep(2); break; /* the seconds left: 0 unless cut short */
    case W_READ: {
        char c;
        rc = (int)read(g_pipe[0], &c, 1); /* the main thread writes one byte after WAIT_S */
        break;
    }
    }
    err = rc < 0 ? errno : 0;
    g_res[k].took = now() - t0;
    g_res[k].rc = rc;
    g_res[k].err = err;
    return NULL;
}

static int mode_waits(void)
{
    if (pipe(g_pipe) != 0) return 1;
    pthread_t t[NWAITS];
    for (long k = 0; k < NWAITS; k++) pthread_create(&t[k], NULL, waiter, (void *)k);
    while (atomic_load(&g_ready) < NWAITS) {}
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL); /* every waiter is inside its wait by now */
    leak_once();
    int rc = lg_check();
    ts = (struct timespec){1, 300000000};
    nanosleep(&ts, NULL);
    if (write(g_pipe[1], "x", 1) != 1) return 1;
    for (int k = 0; k < NWAITS; k++) pthread_join(t[k], NULL);
    printf("waits: the check %s\n", rc >= 0 || rc == -ENOSYS ? "ran" : "failed");
    for (int k = 0; k < NWAITS; k++) {
        double want = k == W_SLEEP ? 2.0 : WAIT_S;
        printf("%s: %d %s%s\n", wait_names[k], g_res[k].rc,
               g_res[k].err ? strerror(g_res[k].err) : "ok",
               g_res[k].took + 0.05 < want ? " (ended early)" : "");
    }
    return 0;
}

/* ---- epollreg ------------------------------------------------------------------------ */
static atomic_int g_holding;

/* Zeroes the dead stack below the caller, where malloc's frames left copies of p. */
__attribute__((noinline)) static void scrub_below(void)
{
    volatile char dead[16384];
    for (size_t i = 0; i < sizeof dead; i++) dead[i] = 0;
}

__attribute__((noinline, optimize("O2"))) static void *epoll_holder(void *arg)
{
    int ep = *(int *)arg;
    char *p = malloc(777); /* LEAK:epoll_holder:malloc:777:1:reachable */
    scrub_below();
    atomic_store(&g_holding, 1);
    for (;;) { /* p lives in a callee-saved register across the wait: it is used after it */
        struct epoll_event ev;
        if (epoll_wait(ep, &ev, 1, -1) > 0 && p[0] == 1) break;
    }
    free(p);
    return NULL;
}

static int mode_epollreg(void)
{
    static int ep;
    ep = epoll_create1(EPOLL_CLOEXEC);
    pthread_t t;
    pthread_create(&t, NULL, epoll_holder, &ep);
    while (!atomic_load(&g_holding)) {}
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    leak_once();
    int rc = lg_check();
    printf("epollreg: the check %s\n", rc >= 0 || rc == -ENOSYS ? "ran" : "failed");
    return 0; /* the holder still waits: the exit check */
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "sigrtmax")) return mode_sigrtmax();
    if (!strcmp(argv[1], "blocked")) return mode_blocked();
    if (!strcmp(argv[1], "waits")) return mode_waits();
    if (!strcmp(argv[1], "epollreg")) return mode_epollreg();
    return 2;
}
