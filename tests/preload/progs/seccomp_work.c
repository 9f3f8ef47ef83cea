/* seccomp_work: the allocating functions of seccomp_allow.c, in a shared library of their own
 * so that the first stack the shim unwinds through them is taken under the program's seccomp
 * filter (the unwinder used to open a module's ELF file at its first frame). */
#include <stdlib.h>

void *volatile sb_sink;

__attribute__((noinline)) static void sb_churn3(int n)
{
    for (int i = 0; i < n; i++) {
        void *p = malloc((size_t)(16 + i % 200));
        sb_sink = p;
        free(p);
    }
}

__attribute__((noinline)) static void sb_churn2(int n)
{
    sb_churn3(n);
    char *q = calloc(3, 100);
    sb_sink = realloc(q, 1000);
    free(sb_sink);
}

__attribute__((noinline)) void sb_churn1(int n)
{
    sb_churn2(n);
}

