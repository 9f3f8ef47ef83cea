/* First image: leaks 111 bytes, then execs itself with "second"; the second image leaks 222
 * bytes and exits 4. With "tryfail", the first image first tries an exec that fails, then
 * leaks 333 bytes more (traced: the image goes on) before its exec. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile sink;

static void before_exec(void) { sink = malloc(111); } /* LEAK:before_exec:malloc:111 */
static void after_exec(void) { sink = malloc(222); } /* LEAK:after_exec:malloc:222:1:reachable */
static void *kept;
static void after_failed_exec(void) { kept = malloc(333); } /* LEAK:after_failed_exec:malloc:333:1:reachable */

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "second") == 0) {
        after_exec();
        return 4;
    }
    before_exec();
    if (argc > 1 && strcmp(argv[1], "tryfail") == 0) {
        char *none[] = {"/nonexistent/leakgraph-test", NULL};
        execv(none[0], none);
        after_failed_exec();
    }
    char *args[] = {argv[0], "second", NULL};
    execv("/proc/self/exe", args);
    return 99;
}
