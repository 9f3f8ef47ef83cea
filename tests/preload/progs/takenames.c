/* `takenames PATH`: takes every name the collector may give this pid's next trace (PATH.<pid>,
 * PATH.<pid>.1 ... PATH.<pid>.999, as another user of a shared directory could), then execs
 * itself as `takenames PATH exec'd`, whose image allocates and exits 0. Used to check that
 * `leakgraph run` ends (and says why) when it cannot create a trace for an image. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void *volatile sink;

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    if (argc > 2) { /* the exec'd image */
        sink = malloc(32);
        return 0;
    }
    char name[4096];
    for (int n = 0; n < 1000; n++) {
        if (n)
            snprintf(name, sizeof name, "%s.%d.%d", argv[1], (int)getpid(), n);
        else
            snprintf(name, sizeof name, "%s.%d", argv[1], (int)getpid());
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0) return 3;
        close(fd);
    }
    char *args[] = {argv[0], argv[1], "exec'd", NULL};
    execv("/proc/self/exe", args);
    return 4;
}
