/* leakdemo: a small program with several distinct leaks, each in a function named for what it
 * does, for the README's first command (`leakgraph run -- leakdemo`, then `leakgraph report`).
 *   - make_lost_buffer: a 4096-byte buffer whose only pointer is dropped
 *   - build_list_and_drop_head: a 10-node list (32 bytes a node) whose head is dropped
 *   - make_ring_and_drop: three 48-byte nodes pointing to each other in a ring: an
 *     unreachable cycle once the last pointer to it is dropped
 *   - worker_leaks_in_thread: 256 bytes leaked by a second thread
 *   - child_leaks_after_fork: 512 bytes leaked by a forked child (its own trace: PATH.<pid>)
 *   - a freed buffer and a realloc'd one that is freed, which must not be reported
 * It checks nothing itself; tests/preload asserts the exact report. Build with -fno-builtin
 * so the compiler keeps every allocation. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct node {
    struct node *next;
    char payload[24];
};

static void make_lost_buffer(void)
{
    char *buf = malloc(4096);
    memset(buf, 'x', 4096);
    buf = NULL; /* the only pointer is gone */
}

static void build_list_and_drop_head(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 10; i++) {
        struct node *n = calloc(1, sizeof *n);
        n->next = head;
        head = n;
    }
    head = NULL;
}

struct ring_node {
    struct ring_node *next;
    char name[40];
};

static void make_ring_and_drop(void)
{
    struct ring_node *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *c = calloc(1, sizeof *c);
    a->next = b;
    b->next = c;
    c->next = a;
    a = b = c = NULL;
}

static void *worker_leaks_in_thread(void *arg)
{
    (void)arg;
    void *p = malloc(256);
    return p ? NULL : NULL;
}

static void child_leaks_after_fork(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char *p = malloc(512);
        memset(p, 0, 512);
        exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void use_and_free(void)
{
    char *a = malloc(100);
    char *b = realloc(malloc(10), 1000);
    free(a);
    free(b);
}

int main(void)
{
    make_lost_buffer();
    build_list_and_drop_head();
    make_ring_and_drop();
    pthread_t t;
    pthread_create(&t, NULL, worker_leaks_in_thread, NULL);
    pthread_join(t, NULL);
    child_leaks_after_fork();
    use_and_free();
    puts("leakdemo: done");
    return 0;
}
