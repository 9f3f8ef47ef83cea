/* shim/own_collector.c: preloaded by hand (no `leakgraph run` around the program), the shim
 * starts its own collector, `leakgraph __collect` (analyzer/collect/run.c,
 * lg_collect_attached), before the first event, and from then on works exactly as under
 * `leakgraph run`: its region is a memfd sent to that collector's session, which drains the
 * rings, compresses and writes the trace, and takes the checks. So the traced process needs
 * no compressor, no trace writer and no helper per check (issue 13: the fewest libraries in
 * the program), and what it logged reaches the trace even if it is killed.
 *
 * The collector must be nobody the program can see: it is started by a double clone whose
 * middle process exits at once (the collector is no child of the program: no SIGCHLD, no
 * wait() of the program returns it, no zombie stays behind), with no descriptor of the
 * program's but its standard error (stdin and stdout are /dev/null), in a session of its own
 * (a terminal's ^C or ^Z do not reach it), with LD_PRELOAD removed and LEAKGRAPH_DISABLE=1
 * (it must not trace itself, even through /etc/ld.so.preload). The clones are raw system
 * calls: no fork handler of the program runs, and the children call only system calls until
 * execve. The collector says where its session is on a pipe ("OK <pid> <dir>"), or why it
 * cannot serve ("ERR ...").
 *
 * At the end of each image (exit, _exit, a fatal signal) the shim says how it ended and waits
 * until the collector wrote the end of the trace (wait_for_finish): nobody waits for the
 * process as `leakgraph run` does, and the trace must be complete once the process is. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* How long the shim waits for its collector to say it is ready (it makes a directory and a
 * socket, then answers). */
#define LG_OWN_COLLECTOR_START_MS 10000

/* Yama (ptrace_scope 1) lets only an ancestor, or the process a process names, read and stop
 * it: our collector is no ancestor. Without Yama the call fails with EINVAL: nothing needed. */
static void allow_collector(void)
{
    prctl(PR_SET_PTRACER, (unsigned long)g_collector_pid, 0, 0, 0);
}

/* In the collector-to-be, after the second clone: system calls only (glibc's thread state is
 * the parent's). Never returns. */
__attribute__((noreturn)) static void exec_collector(int ready, char *const argv[],
                                                      char *const envp[])
{
    syscall(SYS_setsid);
    if (ready != 3) {
        syscall(SYS_dup3, ready, 3, 0);
    } else {
        syscall(SYS_fcntl, 3, F_SETFD, 0);
    }
    int null = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR, 0);
    if (null >= 0) {
        if (null != 0) syscall(SYS_dup3, null, 0, 0);
        if (null != 1) syscall(SYS_dup3, null, 1, 0);
    }
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 4u, ~0u, 0u) != 0)
#endif
        for (int fd = 4; fd < 65536; fd++) syscall(SYS_close, fd);
    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
    syscall(SYS_execve, g_lg_bin, argv, envp);
    static const char msg[] = "ERR cannot run the leakgraph program\n";
    syscall(SYS_write, 3, msg, sizeof msg - 1);
    syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

/* Reads the collector's answer (one line) within the start-up bound. */
static bool read_answer(int fd, char *buf, size_t n)
{
    size_t len = 0;
    uint64_t deadline = now_ns(CLOCK_MONOTONIC) + LG_OWN_COLLECTOR_START_MS * 1000000ull;
    while (len + 1 < n) {
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        if (now >= deadline) break;
        struct pollfd pf = {fd, POLLIN, 0};
        int rc = poll(&pf, 1, (int)((deadline - now) / 1000000u) + 1);
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) break;
        ssize_t k = read(fd, buf + len, n - 1 - len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        len += (size_t)k;
        if (memchr(buf, '\n', len)) break;
    }
    buf[len] = 0;
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    return nl != NULL;
}

/* Starts `leakgraph __collect` and learns its session (g_session, g_collector_pid). False,
 * after saying why, when it cannot: the shim does not trace then. */
static bool start_own_collector(void)
{
    char pidbuf[24];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
    char *argv[] = {"leakgraph", "__collect", "--base", g_output, "--starter", pidbuf,
                    "--ready-fd", "3", NULL};
    size_t nenv = 0;
    while (environ && environ[nenv] && nenv < 4096) nenv++;
    char *envp[nenv + 2];
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
            strncmp(environ[i], "LEAKGRAPH_DISABLE=", 18) != 0)
            envp[k++] = environ[i];
    envp[k++] = "LEAKGRAPH_DISABLE=1";
    envp[k] = NULL;

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        say_once("cannot start the leakgraph collector: pipe: %s; not tracing", strerror(errno));
        return false;
    }
    /* exit signal 0: the middle process sends no SIGCHLD and no wait(-1) of the program sees
     * it; it is reaped below with __WCLONE */
    long mid = syscall(SYS_clone, 0ul, NULL, NULL, NULL, 0ul);
    if (mid == 0) {
        syscall(SYS_close, fds[0]);
        if (syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0ul) == 0)
            exec_collector(fds[1], argv, envp);
        syscall(SYS_exit_group, 0);
    }
    close(fds[1]);
    if (mid < 0) {
        close(fds[0]);
        say_once("cannot start the leakgraph collector: clone: %s; not tracing", strerror(errno));
        return false;
    }
    while (waitpid((pid_t)mid, NULL, __WCLONE) < 0 && errno == EINTR) {}
    char answer[sizeof g_session + 64];
    bool got = read_answer(fds[0], answer, sizeof answer);
    close(fds[0]);
    int pid = 0, at = 0;
    if (got && sscanf(answer, "OK %d %n", &pid, &at) == 1 && pid > 0 && at > 0 &&
        answer[at] == '/' && strlen(answer + at) < sizeof g_session) {
        g_collector_pid = pid;
        strcpy(g_session, answer + at);
        allow_collector();
        return true;
    }
    if (got && strncmp(answer, "ERR ", 4) == 0)
        say_once("the leakgraph collector (%s) could not start: %s; not tracing", g_lg_bin,
                 answer + 4);
    else
        say_once("the leakgraph collector (%s) did not answer within %d s; not tracing",
                 g_lg_bin, LG_OWN_COLLECTOR_START_MS / 1000);
    return false;
}

/* The image ended (hdr.state EXITED, how in exit_status or end_signal): waits until the
 * collector wrote the end of its trace, as long as the collector lives (wait_on_collector). */
static void wait_for_finish(void)
{
    atomic_store(&g_region->hdr.finish, LG_FIN_WANTED);
    uint64_t waited = 0;
    while (atomic_load(&g_region->hdr.finish) != LG_FIN_DONE)
        if (!wait_on_collector(&waited, 100000)) break;
}
