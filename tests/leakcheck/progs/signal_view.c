/* A program that looks at the signal dispositions it was started with, as gdb does at start
 * (it warns "Found custom handler for signal N preinstalled" for each one that is not the
 * default, on stderr, and its heap at exit changes with it). Started
 * by `leakgraph run`, it must see what it sees under Memcheck or alone: SIG_DFL for every
 * signal it did not set, though the shim stands in for the default action of the fatal ones.
 * For each signal whose handler is not the default this program leaks a 64-byte note, so
 * a handler that shows through is a definitely lost block.
 * EXPECT definite=0/0 indirect=0/0 possible=0/0 reachable=0/0 cycles=0 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    int shown = 0;
    for (int sig = 1; sig < SIGRTMIN; sig++) {
        struct sigaction old;
        if (sigaction(sig, NULL, &old) != 0) continue;
        if (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN) continue;
        char *note = malloc(64);
        snprintf(note, 64, "custom handler for signal %d preinstalled", sig);
        note = NULL; /* dropped: a definite leak per visible handler */
        shown++;
    }
    /* a program that sets its own handler then sees it, and the default again once reset */
    struct sigaction mine = {.sa_handler = SIG_IGN}, seen;
    sigaction(SIGTERM, &mine, NULL);
    sigaction(SIGTERM, NULL, &seen);
    if (seen.sa_handler != SIG_IGN) return 2;
    mine.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &mine, &seen);
    if (seen.sa_handler != SIG_IGN) return 3;
    sigaction(SIGTERM, NULL, &seen);
    if (seen.sa_handler != SIG_DFL) return 4;
    return shown ? 1 : 0;
}
