/* First image: leaks 111 bytes, then execs itself with "second"; the second image leaks 222
 * bytes and exits 4. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile sink;

static void before_exec(void) { sink = malloc(111); } /* LEAK:before_exec:malloc:111 */
static void after_exec(void) { sink = malloc(222); } /* LEAK:after_exec:malloc:222:1:reachable */

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "second") == 0) {
        after_exec();
        return 4;
    }
    before_exec();
    char *args[] = {argv[0], "second", NULL};
    execv("/proc/self/exe", args);
    return 99;
}
