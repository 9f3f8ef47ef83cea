/* ciprog: leaks on request, for the CI gate tests (tests/ci/driver.py). Each argument is one
 * action; the line that allocates each leak carries a SITE:<name> mark the driver looks up.
 *   definite N   N blocks of 100 bytes, each lost (one record)
 *   scatter N    N blocks of 16 to 4,111 bytes (sizes from a fixed sequence), each lost (a
 *                trace that does not compress to nothing)
 *   more         200 bytes lost by leak_definite_more (a name that starts like leak_definite)
 *   indirect     a 3-node list (32 bytes a node) whose head is lost: 1 definite + 2 indirect
 *   possible     64 bytes reached only through a pointer into their middle
 *   cycle        two 48-byte blocks pointing at each other, nothing else pointing at them
 *   reachable    128 bytes a global points to
 *   child        fork: the child loses 300 bytes and exits 0; the parent waits
 *   child_exit   as child, but the child leaves by _exit(0) (no atexit handlers, no stdio flush)
 *   exit N       exit with status N
 *   abort        die by SIGABRT
 *   kill, term   raise SIGKILL (no leak check can be taken), SIGTERM
 *   usr2         raise SIGUSR2 (a leak check while it runs, with LEAKGRAPH_CHECK_SIGNAL=USR2)
 *   exec ...     replace this image by ciprog with the remaining actions (its blocks vanish)
 *   fill T F     wait until the trace T has its header, then write F until the disk is full
 *                (the trace's later blocks find no room: the disk filling mid-run)
 * Built three ways from this one file (tests/ci/CMakeLists.txt): ciprog_a (PIE), ciprog_b
 * (-DCI_SHIFT, from a copy whose lines are shifted, and not PIE: other lines and load
 * addresses) and ciprog_c
 * (-DCI_NEWLEAK: one more leak). Build with -O0 -fno-builtin so every allocation stays. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

__attribute__((noinline)) static void leak_scattered(int n)
{
    unsigned x = 12345;
    for (int i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        size_t size = 16 + (x >> 16) % 4096;
        char *p = malloc(size); /* SITE:scatter */
        memset(p, 5, size);
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

/* The child leaves by exit(0), or by _exit(0) when by_exit is true. */
__attribute__((noinline)) static void child_leaks(int by_exit)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char *p = malloc(300); /* SITE:child */
        memset(p, 4, 300);
        p = NULL;
        if (by_exit) _exit(0);
        exit(0);
    }
    waitpid(pid, NULL, 0);
}

/* Waits (10 s at most) until `trace` is not empty, then fills its file system with `file`. */
static void fill_disk(const char *trace, const char *file)
{
    struct stat st;
    for (int i = 0; i < 1000 && (stat(trace, &st) != 0 || st.st_size == 0); i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static char zeros[4096];
    while (fd >= 0 && (write(fd, zeros, sizeof zeros) > 0 || errno == EINTR)) {}
    if (fd >= 0) close(fd);
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
        else if (!strcmp(a, "scatter")) leak_scattered(i + 1 < argc ? atoi(argv[++i]) : 1);
        else if (!strcmp(a, "more")) leak_definite_more();
        else if (!strcmp(a, "indirect")) leak_list();
        else if (!strcmp(a, "possible")) leak_possible();
        else if (!strcmp(a, "cycle")) leak_cycle();
        else if (!strcmp(a, "reachable")) keep_reachable();
        else if (!strcmp(a, "child")) child_leaks(0);
        else if (!strcmp(a, "child_exit")) child_leaks(1);
        else if (!strcmp(a, "kill")) raise(SIGKILL);
        else if (!strcmp(a, "term")) raise(SIGTERM);
        else if (!strcmp(a, "usr2")) raise(SIGUSR2);
        else if (!strcmp(a, "exec")) {
            argv[i] = argv[0];
            execv(argv[0], argv + i);
            return 65;
        }
        else if (!strcmp(a, "fill") && i + 2 < argc) fill_disk(argv[i + 1], argv[i + 2]), i += 2;
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
