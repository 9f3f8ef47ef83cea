/* 8 threads x 100,000 allocations of mixed sizes; each thread frees all but 10 blocks of
 * 24+t bytes (thread t), so exactly 80 blocks and 2,200 bytes leak at one line. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define THREADS 8
#define ALLOCS 100000
#define KEEP 10

void *volatile sink;

static void *keep_block(size_t n) { return malloc(n); } /* LEAK:keep_block:malloc:2200:80 */

static void *worker(void *arg)
{
    uintptr_t t = (uintptr_t)arg;
    void *window[64] = {0};
    uint32_t x = 12345u + (uint32_t)t;
    for (int i = 0; i < ALLOCS - KEEP; i++) {
        x = x * 1103515245u + 12345u;
        int slot = (int)(x >> 8) % 64;
        free(window[slot]);
        window[slot] = malloc(16 + (x >> 16) % 2000);
    }
    for (int i = 0; i < 64; i++) free(window[i]);
    for (int i = 0; i < KEEP; i++) sink = keep_block(24 + t);
    return NULL;
}

int main(void)
{
    pthread_t th[THREADS];
    for (uintptr_t t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, worker, (void *)t);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    sink = NULL;
    return 0;
}
