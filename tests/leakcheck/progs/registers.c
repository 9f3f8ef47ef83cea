/* A pointer held only in a register of a running thread is a root (Memcheck scans every
 * thread's registers). The worker keeps its block in r12 and spins; main exits.
 * Built with -O2 (see CMakeLists.txt) so no stack copy exists.
 * glibc's DTV of the worker is reached through an interior pointer: possibly lost, as
 * Memcheck reports it for every live thread.
 * EXPECT definite=0/0 indirect=0/0 possible>=0/0 reachable>=72/1 cycles=0 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
static atomic_int ready;
static void *spin(void *arg)
{
    (void)arg;
    register void *p __asm__("r12") = malloc(72);
    __asm__ volatile("" : "+r"(p));
    atomic_store(&ready, 1);
    for (;;) __asm__ volatile("pause" : "+r"(p));
    return NULL;
}
int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, spin, NULL);
    while (!atomic_load(&ready)) usleep(1000);
    usleep(20000);
    exit(0); /* the worker is still running, its block only in r12 */
}
