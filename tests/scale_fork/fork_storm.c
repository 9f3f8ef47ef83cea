/* fork_storm.c: forks N children (argv[1]) one after another; child i leaks one block of
 * 100 + i bytes from leak_in_child (its only leak: a definite leak of one block) and exits.
 * The parent leaks nothing. A report on all the traces must show each child's leak with its
 * symbolized frame; its memory must not grow with the number of children (one symbolizer per
 * distinct module, not per trace). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static void *leak_in_child(size_t n)
{
    return malloc(n); /* LEAK */
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 0;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) return 1;
        if (p == 0) {
            void *volatile v = leak_in_child(100 + (size_t)i);
            v = NULL;
            _exit(v != NULL);
        }
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st)) return 1;
    }
    return 0;
}
