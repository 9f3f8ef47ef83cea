/* Another thread's live stack frame is a root; so are __thread variables and pthread
 * keys' values of live threads and of main. A block only the exited thread held is lost.
 * (Live threads' DTVs are possibly lost, as Memcheck reports them.)
 * EXPECT definite=11/1 indirect=0/0 possible>=0/0 reachable>=350/4 cycles=0 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
static __thread void *tls_ptr;
static pthread_key_t key;
static sem_t started, stop;
static void *waiter(void *arg)
{
    (void)arg;
    void *volatile local = malloc(100);  /* on this thread's live stack */
    tls_ptr = malloc(50);                /* its static TLS */
    pthread_setspecific(key, malloc(80)); /* its pthread-specific data */
    sem_post(&started);
    sem_wait(&stop); /* blocked here at exit */
    (void)local;
    return NULL;
}
static void *short_lived(void *arg)
{
    (void)arg;
    void *volatile local = malloc(11); /* the thread exits: the block is lost */
    (void)local;
    return NULL;
}
int main(void)
{
    pthread_key_create(&key, NULL);
    sem_init(&started, 0, 0);
    sem_init(&stop, 0, 0);
    pthread_t a, b;
    pthread_create(&b, NULL, short_lived, NULL);
    pthread_join(b, NULL);
    pthread_create(&a, NULL, waiter, NULL);
    sem_wait(&started);
    tls_ptr = malloc(120); /* main's static TLS */
    exit(0);
}
