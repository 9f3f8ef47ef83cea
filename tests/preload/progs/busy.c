/* Prints "ready <pid>", then makes 3 million malloc/free pairs (enough to fill its ring many
 * times over) and finally creates the file argv[1]. Used to kill the collector mid-run: the
 * program must still finish. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void *volatile sink;

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    usleep(100000);
    for (int i = 0; i < 3000000; i++) {
        sink = malloc(16 + (size_t)(i % 200));
        free(sink);
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL, 0600);
    return fd >= 0 ? 0 : 1;
}
