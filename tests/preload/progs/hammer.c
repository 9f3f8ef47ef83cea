/* Checks and exits while other threads allocate without pause (the self-mode drain racing
 * with stop-the-world). argv[1]:
 *   "check N [W]": W detached threads (default 1) allocate and free forever; main takes N
 *                  lg_check()s 10 ms apart, prints "checks OK" if every one returned a check
 *                  number, then returns 0.
 *   "exit [MS]":   8 detached threads allocate and free forever; main lets them run MS
 *                  milliseconds (default 50, below 1000) and returns 0: the exit check runs
 *                  while they allocate.
 *   "_exit [MS]":  the same, ending by _exit(0) (no destructor drains the rings first).
 * Each worker keeps one 32-byte block (reachable through a global); main loses 100 bytes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "leakgraph/leakgraph.h"

#define MAX_WORKERS 8

void *volatile sink;
static void *kept[MAX_WORKERS];

static void *worker(void *arg)
{
    uintptr_t t = (uintptr_t)arg;
    kept[t] = malloc(32);
    uint32_t x = 12345u + (uint32_t)t;
    void *window[16] = {0};
    for (;;) {
        x = x * 1103515245u + 12345u;
        int slot = (int)(x >> 8) % 16;
        free(window[slot]);
        window[slot] = malloc(16 + (x >> 16) % 500);
    }
    return NULL;
}

static void start_workers(int n)
{
    if (n > MAX_WORKERS) n = MAX_WORKERS;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    for (uintptr_t t = 0; t < (uintptr_t)n; t++) {
        pthread_t th;
        pthread_create(&th, &a, worker, (void *)t);
    }
    pthread_attr_destroy(&a);
}

static void lose(void) { sink = malloc(100); } /* LEAK:lose:malloc:100 */

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "exit";
    lose();
    sink = NULL;
    if (!strcmp(how, "check")) {
        int n = argc > 2 ? atoi(argv[2]) : 50, bad = 0;
        start_workers(argc > 3 ? atoi(argv[3]) : 1);
        for (int i = 0; i < n; i++) {
            struct timespec gap = {0, 10000000}; /* 10 ms: the workers run (and drain) between checks */
            nanosleep(&gap, NULL);
            int c = lg_check();
            if (c <= 0) {
                printf("check %d: %d\n", i + 1, c);
                bad++;
            }
        }
        printf("checks %s\n", bad ? "FAILED" : "OK");
        fflush(stdout);
        return 0;
    }
    start_workers(MAX_WORKERS);
    struct timespec ts = {0, (argc > 2 ? atoi(argv[2]) : 50) * 1000000L};
    nanosleep(&ts, NULL);
    if (!strcmp(how, "_exit")) _exit(0);
    return 0;
}
