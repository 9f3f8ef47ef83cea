/* exit() while two threads still run: one blocked in pthread_cond_wait, one busy in a loop.
 * The C library keeps caches until exit (a locale, an iconv module, the NSS tables), freed by
 * __libc_freeres as Memcheck runs it: the shim stops the other threads first, runs it, and
 * keeps them stopped until the process ends. One block is lost for real.
 * The two threads' DTVs are possibly lost, as Memcheck reports them for every live thread.
 * EXPECT definite=33/1 indirect=0/0 possible>=0/0 reachable=0/0 cycles=0 */
#define _GNU_SOURCE
#include <iconv.h>
#include <locale.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static atomic_int started;
static void *volatile lost;

static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    atomic_fetch_add(&started, 1);
    for (;;) pthread_cond_wait(&never, &mu);
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    for (;;) __asm__ volatile("" ::: "memory");
    return NULL;
}

int main(void)
{
    setlocale(LC_ALL, "C.UTF-8");
    iconv_t cd = iconv_open("LATIN1", "UTF-8");
    if (cd != (iconv_t)-1) iconv_close(cd);
    getpwnam("root");
    lost = malloc(33);
    lost = NULL; /* its only pointer dropped */
    pthread_t a, b;
    pthread_create(&a, NULL, waiter, NULL);
    pthread_create(&b, NULL, spinner, NULL);
    while (atomic_load(&started) < 2) usleep(1000);
    exit(0);
}
