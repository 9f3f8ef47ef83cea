/* Signals and the shim. Phase 1: a timer signal every 100 us, whose handler is
 * async-signal-safe, interrupts a tight malloc/free loop (and so the shim's own code) many
 * times: the program must run to the end unchanged. Phase 2: while the main thread sleeps,
 * the handler allocates (legal there: nothing else is inside malloc) and keeps 20 blocks of
 * 64 bytes in a global array: they must be traced (still reachable). Also checks that errno,
 * as the program sees it, is unchanged by the shim around every allocation function, and
 * that a failing malloc still sets ENOMEM. Prints "ok" or what went wrong. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t ticks, allocating;
static void *kept[20];

static void on_alarm(int sig)
{
    (void)sig;
    int e = errno;
    ticks++;
    if (allocating && ticks <= 20) kept[ticks - 1] = malloc(64); /* LEAK:on_alarm:malloc:1280:20:reachable */
    errno = e;
}

#define EXPECT_ERRNO(call)                                                                    \
    do {                                                                                      \
        errno = EDOM;                                                                         \
        call;                                                                                 \
        if (errno != EDOM) {                                                                  \
            printf("errno changed by %s: %s\n", #call, strerror(errno));                      \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

int main(void)
{
    void *p = NULL;
    EXPECT_ERRNO(p = malloc(10));
    EXPECT_ERRNO(p = realloc(p, 1000));
    EXPECT_ERRNO(free(p));
    EXPECT_ERRNO(p = calloc(4, 4));
    EXPECT_ERRNO(free(p));
    EXPECT_ERRNO(free(NULL));
    errno = 0;
    volatile size_t huge = (size_t)-1 / 2;
    if (malloc(huge) != NULL || errno != ENOMEM) {
        printf("malloc(huge) did not fail with ENOMEM\n");
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 100}, {0, 100}};
    setitimer(ITIMER_REAL, &it, NULL);
    unsigned long sum = 0;
    for (int i = 0; i < 400000; i++) { /* phase 1 */
        char *q = malloc(16 + (size_t)(i % 512));
        q[0] = (char)i;
        sum += (unsigned char)q[0];
        free(q);
    }
    int interrupted = ticks;
    ticks = 0;
    allocating = 1; /* phase 2 */
    while (ticks < 20) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    allocating = 0;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    if (interrupted < 10) {
        printf("only %d signals during the loop\n", interrupted);
        return 1;
    }
    printf("ok %lu\n", sum ? 1ul : 0ul);
    return 0;
}
