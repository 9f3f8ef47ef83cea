/* exit() while other threads hold locks of the C library or are inside the allocator: one
 * holds stdout's lock for good (flockfile), one allocates and frees in a loop, one opens and
 * closes streams in a loop (stdio's list lock), one is blocked in a pipe read. The exit check
 * stops them and must never wait for one of those locks: the program exits with status 0
 * in well under a second (the test's timeout fails a hang). Whether freeres ran depends on
 * where each thread was stopped, so the totals are bounds, and nothing is definitely lost.
 * EXPECT definite=0/0 indirect=0/0 possible>=0/0 reachable>=0/0 cycles=0 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_int started;
static int fds[2];

static void *hold_stdout(void *arg)
{
    (void)arg;
    flockfile(stdout);
    atomic_fetch_add(&started, 1);
    for (;;) pause();
    return NULL;
}

static void *churn_malloc(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    for (unsigned i = 0;; i++) {
        void *volatile p = malloc(16 + i % 4096);
        free(p);
    }
    return NULL;
}

static void *churn_streams(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    for (;;) {
        FILE *f = fopen("/dev/null", "w");
        if (f) {
            fputs("x", f);
            fclose(f); /* not fflush(NULL): it would wait for stdout's lock holding the list
                        * lock, and exit's own flush would wait for that, without leakgraph */
        }
    }
    return NULL;
}

static void *read_pipe(void *arg)
{
    (void)arg;
    char c;
    atomic_fetch_add(&started, 1);
    for (;;)
        if (read(fds[0], &c, 1) <= 0) pause();
    return NULL;
}

int main(void)
{
    if (pipe(fds) != 0) return 2;
    void *(*fn[])(void *) = {hold_stdout, churn_malloc, churn_streams, read_pipe};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, fn[i], NULL);
    while (atomic_load(&started) < 4) usleep(1000);
    usleep(50000);
    exit(0);
}
