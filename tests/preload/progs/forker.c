/* The parent leaks 100 bytes before fork and 300 after; the child leaks 200 and exits 5. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile sink;

static void parent_before(void) { sink = malloc(100); } /* LEAK:parent_before:malloc:100 */
static void in_child(void) { sink = malloc(200); } /* LEAK:in_child:malloc:200:1:reachable */
static void parent_after(void) { sink = malloc(300); } /* LEAK:parent_after:malloc:300:1:reachable */

int main(void)
{
    parent_before();
    pid_t pid = fork();
    if (pid == 0) {
        in_child();
        exit(5);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    parent_after();
    return WIFEXITED(st) && WEXITSTATUS(st) == 5 ? 0 : 1;
}
