/* Prints the file descriptors open in this process (their numbers and what /proc says they
 * are, pipes and sockets without their inode, "c" when close-on-exec) at main's start and after some allocation, then
 * forks a child that prints its own: a traced run must print exactly what a native run does
 * (issue #13: the shim keeps no descriptor of its own in the program). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile sink;

static void list(const char *when)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) exit(2);
    int own = dirfd(d);
    printf("%s:", when);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == own) continue;
        char path[64], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        char *inode = strchr(target, '[');
        if (inode && strchr(target, ':')) *inode = 0; /* pipe:[123] -> pipe: */
        int cloexec = 0; /* fdinfo's flags are octal; O_CLOEXEC is 02000000 */
        snprintf(path, sizeof path, "/proc/self/fdinfo/%s", e->d_name);
        FILE *f = fopen(path, "re");
        char line[128];
        unsigned flags;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "flags: %o", &flags) == 1) cloexec = (flags & 02000000) != 0;
        if (f) fclose(f);
        printf(" %s=%s%s", e->d_name, target, cloexec ? "c" : "");
    }
    printf("\n");
    fflush(stdout);
    closedir(d);
}

int main(void)
{
    list("start");
    for (int i = 0; i < 10000; i++) free(malloc(16 + i % 500));
    sink = malloc(10);
    list("after");
    pid_t c = fork();
    if (c == 0) {
        list("child");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}
