/* Allocations made in a signal handler (issue #13). The main thread churns malloc/free from
 * deep in a recursion, so that under leakgraph it spends most of its time in the shim (the
 * unwinder, record()) around the real allocator call; a SIGALRM timer (setitimer, every 2 ms)
 * runs a handler that leaks one 48-byte block and allocates and frees a 112-byte one, NSIG_RUNS
 * times. Every leaked block must be reported definitely lost, wherever the signal landed, and
 * the blocks allocated and freed in the handler must not show at all.
 * The handler's malloc could in theory interrupt glibc's own malloc; here it cannot hurt: the
 * main loop's one 24-byte block always comes from and goes back to glibc's per-thread cache
 * (tcache) in a single-threaded process (no arena lock), and the handler's sizes are other
 * cache bins. Memcheck runs its allocator outside the program's code, out of reach of signals.
 * EXPECT definite=1680/35 indirect=0/0 possible=0/0 reachable=0/0 cycles=0 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

enum { NSIG_RUNS = 35, DEPTH = 48 };

static volatile sig_atomic_t runs;

static void on_alarm(int sig)
{
    (void)sig;
    if (runs >= NSIG_RUNS) return;
    void *leak = malloc(48);
    memset(leak, 0x5a, 48); /* no pointer in it */
    leak = NULL;            /* dropped: definitely lost */
    void *tmp = malloc(112);
    free(tmp);
    runs++;
}

static int churn(int depth)
{
    if (depth > 0) return churn(depth - 1) + 1;
    while (runs < NSIG_RUNS) {
        char *p = malloc(24);
        p[0] = 1;
        free(p);
    }
    return 0;
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_interval = {0, 2000}, .it_value = {0, 2000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int r = churn(DEPTH);
    struct itimerval off = {0};
    setitimer(ITIMER_REAL, &off, NULL);
    return r == DEPTH ? 0 : 1;
}
