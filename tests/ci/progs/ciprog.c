/* ciprog: leaks on request, for the CI gate tests (tests/ci/driver.py). Each argument is one
 * action; the line that allocates each leak carries a SITE:<name> mark the driver looks up.
 *   definite N   N blocks of 100 bytes, each lost (one record)
 *   more         200 bytes lost by leak_definite_more (a name that starts like leak_definite)
 *   indirect     a 3-node list (32 bytes a node) whose head is lost: 1 definite + 2 indirect
 *   possible     64 bytes reached only through a pointer into their middle
 *   cycle        two 48-byte blocks pointing at each other, nothing else pointing at them
 *   reachable    128 bytes a global points to
 *   child        fork: the child loses 300 bytes and exits 0; the parent waits
 *   exit N       exit with status N
 *   abort        die by SIGABRT
 * Built three ways from this one file (tests/ci/CMakeLists.txt): ciprog_a (PIE), ciprog_b
 * (-DCI_SHIFT, from a copy whose lines are shifted, and not PIE: other lines and load
 * addresses) and ciprog_c
 * (-DCI_NEWLEAK: one more leak). Build with -O0 -fno-builtin so every allocation stays. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef CI_SHIFT
/* These lines move every function below: a baseline must not care.
 *
 *
 *
 *
 */
static int shift_padding(int x)
{
    return x * 3 + 1;
}
#endif

struct node {
    struct node *next;
    char payload[24];
};

void *volatile g_keep;        /* reachable */
char *volatile g_interior;    /* possible: points into the middle of a block */

__attribute__((noinline)) static void leak_definite(int n)
{
    for (int i = 0; i < n; i++) {
        char *p = malloc(100); /* SITE:definite */
        memset(p, 1, 100);
    }
}

__attribute__((noinline)) static void leak_definite_more(void)
{
    char *p = malloc(200); /* SITE:more */
    memset(p, 2, 200);
}

__attribute__((noinline)) static void leak_list(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 3; i++) {
        struct node *n = calloc(1, sizeof *n); /* SITE:indirect */
        n->next = head;
        head = n;
    }
}

__attribute__((noinline)) static void leak_possible(void)
{
    char *p = malloc(64); /* SITE:possible */
    g_interior = p + 16;
}

__attribute__((noinline)) static void leak_cycle(void)
{
    void **a = malloc(48); /* SITE:cycle */
    void **b = malloc(48);
    memset(a, 0, 48);
    memset(b, 0, 48);
    a[0] = b;
    b[0] = a;
}

__attribute__((noinline)) static void keep_reachable(void)
{
    g_keep = malloc(128); /* SITE:reachable */
}

#ifdef CI_NEWLEAK
__attribute__((noinline)) static void leak_new(void)
{
    char *p = malloc(77); /* SITE:newleak */
    memset(p, 3, 77);
}
#endif

__attribute__((noinline)) static void child_leaks(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char *p = malloc(300); /* SITE:child */
        memset(p, 4, 300);
        p = NULL;
        exit(0);
    }
    waitpid(pid, NULL, 0);
}

/* Clears the registers and stack slots that may still hold a pointer to a lost block. */
__attribute__((noinline)) static void scrub(void)
{
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

int main(int argc, char **argv)
{
    int status = 0;
#ifdef CI_SHIFT
    status = shift_padding(0) - 1;
#endif
#ifdef CI_NEWLEAK
    leak_new();
#endif
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "definite")) leak_definite(i + 1 < argc ? atoi(argv[++i]) : 1);
        else if (!strcmp(a, "more")) leak_definite_more();
        else if (!strcmp(a, "indirect")) leak_list();
        else if (!strcmp(a, "possible")) leak_possible();
        else if (!strcmp(a, "cycle")) leak_cycle();
        else if (!strcmp(a, "reachable")) keep_reachable();
        else if (!strcmp(a, "child")) child_leaks();
        else if (!strcmp(a, "exit") && i + 1 < argc) status = atoi(argv[++i]);
        else if (!strcmp(a, "abort")) abort();
        else {
            fprintf(stderr, "ciprog: unknown action %s\n", a);
            return 64;
        }
        scrub();
    }
    return status;
}
