/* rlimit_self: a program that lowers its own RLIMIT_AS (to argv[1] MiB, default 1024), then
 * mallocs 200 MB, touches it, creates a thread that mallocs, and leaks one block of 48 bytes.
 * Natively it exits 0; under the shim it must too (the shim used to reserve 64 GiB of address
 * space, so the malloc or the thread failed: exit 2 or 3). Exit 1: setrlimit failed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void *worker(void *arg)
{
    (void)arg;
    void *p = malloc(4096);
    free(p);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    struct rlimit rl = {(rlim_t)mib << 20, (rlim_t)mib << 20};
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
        perror("setrlimit");
        return 1;
    }
    size_t big = 200u * 1000 * 1000;
    char *p = malloc(big);
    if (!p) {
        fprintf(stderr, "malloc(200 MB) failed under RLIMIT_AS %lu MiB\n", mib);
        return 2;
    }
    memset(p, 1, big);
    free(p);
    pthread_t t;
    int e = pthread_create(&t, NULL, worker, NULL);
    if (e) {
        fprintf(stderr, "pthread_create: %s\n", strerror(e));
        return 3;
    }
    pthread_join(t, NULL);
    malloc(48); /* LEAK:main:malloc:48 */
    puts("done");
    return 0;
}
