/* Fills more than 64 MiB of trace rings at once (issue #13, a container's 64 MiB /dev/shm):
 * THREADS threads (argv[1], default 72), all alive together (a barrier at the end) so each has
 * a ring of its own, each making 100,000 allocations of mixed sizes (about 1.3 MiB of records:
 * its whole 1 MiB ring is touched), one thread after the other (a turn), so that the
 * collector drains one busy ring at a time however slow the build. Each thread frees all but 10 blocks of 32 bytes: exactly 10 blocks
 * and 320 bytes a thread leak at one line (72 threads: 720 blocks, 23,040 bytes). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_THREADS 256
#define ALLOCS 100000
#define KEEP 10

void *volatile sink;
static pthread_barrier_t all_alive;
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cond = PTHREAD_COND_INITIALIZER;
static uintptr_t turn;

static void *keep_block(size_t n) { return malloc(n); } /* LEAK:keep_block:malloc:23040:720 */

static void *worker(void *arg)
{
    uintptr_t t = (uintptr_t)arg;
    uint32_t x = 12345u + (uint32_t)t;
    void *window[64] = {0};
    pthread_mutex_lock(&turn_lock);
    while (turn != t) pthread_cond_wait(&turn_cond, &turn_lock);
    pthread_mutex_unlock(&turn_lock);
    for (int i = 0; i < ALLOCS - KEEP; i++) {
        x = x * 1103515245u + 12345u;
        int slot = (int)(x >> 8) % 64;
        free(window[slot]);
        window[slot] = malloc(16 + (x >> 16) % 2000);
    }
    for (int i = 0; i < 64; i++) free(window[i]);
    for (int i = 0; i < KEEP; i++) sink = keep_block(32);
    pthread_mutex_lock(&turn_lock);
    turn++;
    pthread_cond_broadcast(&turn_cond);
    pthread_mutex_unlock(&turn_lock);
    pthread_barrier_wait(&all_alive); /* no ring is given back before every one is full */
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 72;
    if (threads < 1 || threads > MAX_THREADS) return 2;
    pthread_t th[MAX_THREADS];
    pthread_barrier_init(&all_alive, NULL, (unsigned)threads);
    for (int t = 0; t < threads; t++)
        if (pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t) != 0) return 2;
    for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
    sink = NULL;
    puts("shmfill: done");
    return 0;
}
