/* Leaks 1000 blocks of 64 bytes, then ends as argv[1] says: "kill" (SIGKILL itself), "abort",
 * "segv", "_exit" (status 7), "wait" (prints "ready" and sleeps until killed from outside). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile sink;
static void *blocks[1000];

static void *leak_one(void) { return malloc(64); } /* LEAK:leak_one:malloc:64000:1000:reachable */

int main(int argc, char **argv)
{
    for (int i = 0; i < 1000; i++) blocks[i] = leak_one();
    const char *how = argc > 1 ? argv[1] : "kill";
    if (!strcmp(how, "kill")) raise(SIGKILL);
    if (!strcmp(how, "abort")) abort();
    if (!strcmp(how, "segv")) *(volatile int *)sink = 1;
    if (!strcmp(how, "_exit")) _exit(7);
    if (!strcmp(how, "wait")) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "ready %d\n", (int)getpid());
        if (write(1, msg, (size_t)n) != n) return 1;
        for (;;) {
            sink = malloc(8); /* keeps allocating until killed */
            free(sink);
            usleep(1000);
        }
    }
    return 0;
}
