/* peakrss: runs a command and measures the peak resident set of its top process and of that
 * process's first exec'd child separately, for bench/run.sh --scale. GNU time's %M cannot:
 * Linux reports for a reaped child the largest ru_maxrss of it and all its reaped
 * descendants, so `/usr/bin/time leakgraph run -- PROG` gives max(collector, program).
 *
 * It forks and execs CMD, then every 10 ms reads VmHWM (the kernel's own high-water mark of
 * the resident set) from /proc/PID/status of CMD's process ("top") and of each of its direct
 * children whose name (/proc/PID/comm) differs from top's, i.e. that have exec'd another
 * program ("child": under `leakgraph run` the traced program; the collector's janitor keeps
 * the name leakgraph). A high-water mark only grows, so a sample taken late enough is exact:
 * the traced program is held stopped during leakgraph's exit check, so its last sample is its
 * peak; the top process's own peak may grow after the last sample (its last 10 ms), which
 * the caller corrects with the tree's ru_maxrss (see bench/run.sh). At the end it writes one
 * line to OUT: "TOP_KIB CHILD_KIB TREE_KIB CPU_S" (TREE: wait4's ru_maxrss of the whole
 * tree, as GNU time's %M; CPU: user + system seconds of the tree; 0 for a value never seen)
 * and exits with CMD's status (128 + signal when killed).
 *
 * usage: peakrss OUT CMD [ARGS...] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Reads /proc/PID/FILE into buf (NUL-terminated); 0 on success. */
static int read_proc(pid_t pid, const char *file, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0) return -1;
    buf[n] = 0;
    return 0;
}

/* VmHWM of pid in KiB, 0 if unknown (gone, or a zombie: its memory is released). */
static unsigned long hwm_kib(pid_t pid)
{
    char buf[4096];
    if (read_proc(pid, "status", buf, sizeof buf)) return 0;
    const char *p = strstr(buf, "\nVmHWM:");
    return p ? strtoul(p + 7, NULL, 10) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: peakrss OUT CMD [ARGS...]\n");
        return 2;
    }
    pid_t top = fork();
    if (top < 0) {
        perror("peakrss: fork");
        return 2;
    }
    if (top == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "peakrss: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    /* The command's name once it has exec'd (a child with the same name is not the program). */
    char self_comm[64] = "", comm[64], kids[4096];
    unsigned long top_kib = 0, child_kib = 0;
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        pid_t w = wait4(top, &st, WNOHANG, &ru);
        if (w == top) break;
        if (w < 0 && errno != EINTR) {
            perror("peakrss: wait4");
            return 2;
        }
        unsigned long k = hwm_kib(top);
        if (k > top_kib) top_kib = k;
        if (!read_proc(top, "comm", comm, sizeof comm)) snprintf(self_comm, sizeof self_comm, "%s", comm);
        char path[64];
        snprintf(path, sizeof path, "task/%d/children", (int)top);
        if (self_comm[0] && !read_proc(top, path, kids, sizeof kids)) {
            for (char *s = kids, *e; *s; s = e) {
                long c = strtol(s, &e, 10);
                if (e == s) break;
                if (c <= 0 || read_proc((pid_t)c, "comm", comm, sizeof comm) ||
                    !strcmp(comm, self_comm))
                    continue;
                k = hwm_kib((pid_t)c);
                if (k > child_kib) child_kib = k;
            }
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    FILE *f = fopen(argv[1], "we");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fprintf(f, "%lu %lu %ld %.2f\n", top_kib, child_kib, ru.ru_maxrss,
            ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
                (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    fclose(f);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}
