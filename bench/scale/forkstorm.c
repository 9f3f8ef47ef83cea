/* forkstorm: forks C children one after the other (argv[1] = C), each of which leaks one
 * 64-byte block and exits; the parent waits for each, for bench/run.sh --scale: C traces in
 * one report. Known leaks: 64 bytes in 1 block definitely lost in each child, 64 C bytes in C
 * blocks in all; the parent leaks nothing. */
#define _GNU_SOURCE
#include "scrub.h"
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
__attribute__((noinline)) static void leak(void)
{
    char *p = malloc(64);
    if (!p) abort();
    p[0] = 1;
    __asm__ volatile("" : : "r"(p) : "memory");
}
int main(int argc, char **argv)
{
    int c = argc > 1 ? atoi(argv[1]) : 200;
    for (int i = 0; i < c; i++) {
        pid_t pid = fork();
        if (pid < 0) abort();
        if (pid == 0) {
            leak();
            scrub();
            exit(0);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) abort();
    }
    return 0;
}
