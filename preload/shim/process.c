/* shim/process.c: the process description, the key/value entries of the PROCESS block
 * (docs/trace-format.md), written into the region header at start and in a forked child:
 * pid, parent, start time, tracer, argv, executable, working directory. The collector copies
 * them into the trace; the entries are encoded by lg_kv_int/lg_kv_str (trace/codec.h). It
 * must never allocate (stack buffers and raw reads of /proc only) and never write past
 * LG_INFO_BYTES: an entry that does not fit is left out. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* /proc/self/stat field 22 (start time in clock ticks), to tell a reused pid apart. */
static uint64_t proc_starttime(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    /* after ") " come fields 3.. ; start time is field 22 */
    int field = 2;
    for (; *p && field < 22; p++)
        if (*p == ' ') field++;
    return strtoull(p, NULL, 10);
}

/* Fills the region's process description (PROCESS block keys). No allocation. */
static void describe_process(lg_region_t *r, pid_t fork_parent)
{
    lg_region_hdr_t *h = &r->hdr;
    h->pid = getpid();
    h->ppid = getppid();
    h->fork_parent = fork_parent;
    h->start_ns = now_ns(CLOCK_REALTIME);
    h->proc_starttime = proc_starttime();
    h->collector_pid = g_collector_pid;
    uint8_t *p = h->info, *end = h->info + LG_INFO_BYTES;
    p = lg_kv_int(p, end, LG_KEY_PID, (uint64_t)h->pid);
    p = lg_kv_int(p, end, LG_KEY_PPID, (uint64_t)h->ppid);
    p = lg_kv_int(p, end, LG_KEY_START_NS, h->start_ns);
    if (fork_parent) {
        p = lg_kv_int(p, end, LG_KEY_PARENT_PID, (uint64_t)fork_parent);
        p = lg_kv_int(p, end, LG_KEY_FORK_SEQ, h->fork_seq);
    }
    p = lg_kv_str(p, end, LG_KEY_TRACER, LG_TRACER_NAME, strlen(LG_TRACER_NAME));
    p = lg_kv_int(p, end, LG_KEY_RC_DEPTH, (uint64_t)g_rc_depth);
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path);
    if (n > 0 && n < (ssize_t)sizeof path) p = lg_kv_str(p, end, LG_KEY_EXE, path, (size_t)n);
    if (getcwd(path, sizeof path)) p = lg_kv_str(p, end, LG_KEY_CWD, path, strlen(path));
    /* argv from /proc/self/cmdline: NUL-separated */
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[16384];
        size_t len = 0;
        ssize_t k;
        while (len < sizeof buf && (k = read(fd, buf + len, sizeof buf - len)) > 0) len += (size_t)k;
        close(fd);
        for (size_t i = 0; i < len;) {
            size_t s = strnlen(buf + i, len - i);
            p = lg_kv_str(p, end, LG_KEY_ARG, buf + i, s);
            i += s + 1;
        }
    }
    h->info_len = (uint32_t)(p - h->info);
}
