/* Heap churn from 8 threads (issue 12): each thread allocates and frees 150000 blocks of
 * 16 bytes to 64 KiB through a window of 48 live ones, writing a pointer to another live
 * block of its window into every 512th word of each (never a freed one), and leaks 25
 * blocks of 1000 + 8 * (25 * thread + i) bytes on the way (only their first byte written).
 * At the end each thread frees its window. The leaked blocks are carved out of its arena's
 * recycled chunks, whose old pointers and free-list words Memcheck never sees: every leaked
 * block is definitely lost, none in a cycle. 200 x 1000 + 8 x (0 + ... + 199) = 359200.
 * EXPECT definite=359200/200 indirect=0/0 possible=0/0 reachable=0/0 cycles=0 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
enum { THREADS = 8, OPS = 150000, WINDOW = 48, LEAKS = 25 };

static void *churn(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    uint64_t x = 0x9e3779b97f4a7c15ull * (t + 1);
    void **win[WINDOW] = {0};
    int leaked = 0;
    for (int op = 0; op < OPS; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int slot = (int)(x % WINDOW);
        free(win[slot]);
        size_t n = 16 + (size_t)((x >> 8) % 65521);
        void **b = malloc(n);
        win[slot] = b;
        void **other = win[(slot + 1) % WINDOW];
        for (size_t w = 0; w < n / sizeof *b; w += 64) b[w] = other ? (void *)other : (void *)b;
        if (op % (OPS / LEAKS) == OPS / LEAKS / 2 && leaked < LEAKS) {
            volatile char *l = malloc(1000 + 8 * (size_t)(LEAKS * t + (unsigned)leaked++));
            l[0] = 1;
        }
    }
    for (int i = 0; i < WINDOW; i++) free(win[i]);
    return NULL;
}

int main(void)
{
    pthread_t th[THREADS];
    for (unsigned t = 0; t < THREADS; t++)
        if (pthread_create(&th[t], NULL, churn, (void *)(uintptr_t)t)) return 2;
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    return 0;
}
