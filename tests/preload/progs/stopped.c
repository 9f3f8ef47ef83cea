/* Stopped the normal way: by SIGINT, SIGTERM, SIGHUP or SIGQUIT from outside. Keeps 1000
 * blocks of 64 bytes through a global array and loses one of 100 bytes, prints "ready <pid>"
 * and allocates until a signal ends it. argv[1]:
 *   "default": leaves every signal's action as it found it (the default, or ignored);
 *   "handler": installs its own handler for SIGINT, SIGTERM and SIGHUP (after the shim has
 *              started), which prints "handled <sig>" and ends by _exit(3). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile sink;
static void *blocks[1000];

static void *keep_one(void) { return malloc(64); } /* LEAK:keep_one:malloc:64000:1000:reachable */
static void lose(void) { sink = malloc(100); } /* LEAK:lose:malloc:100 */

static void on_signal(int sig)
{
    char msg[32];
    int n = snprintf(msg, sizeof msg, "handled %d\n", sig);
    if (write(1, msg, (size_t)n) != n) _exit(4);
    _exit(3);
}

int main(int argc, char **argv)
{
    for (int i = 0; i < 1000; i++) blocks[i] = keep_one();
    lose();
    sink = NULL;
    if (argc > 1 && !strcmp(argv[1], "handler")) {
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
    }
    char msg[32];
    int n = snprintf(msg, sizeof msg, "ready %d\n", (int)getpid());
    if (write(1, msg, (size_t)n) != n) return 1;
    for (;;) {
        void *p = malloc(8); /* allocates until a signal ends it */
        free(p);
        usleep(1000);
    }
}
