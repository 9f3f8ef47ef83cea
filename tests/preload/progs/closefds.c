/* Closes every file descriptor and changes directory, then leaks 77 bytes: tracing must not
 * notice. Exits 0. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

void *volatile sink;

static void leak_after_close(void) { sink = malloc(77); } /* LEAK:leak_after_close:malloc:77:1:reachable */

int main(void)
{
    for (int fd = 0; fd < 1024; fd++) close(fd);
    if (chdir("/") != 0) return 1;
    for (int i = 0; i < 2000; i++) free(malloc(50)); /* enough to force writes */
    leak_after_close();
    return 0;
}
