/* shim/freeres.c: before the exit check, frees what the C and C++ runtimes keep until exit
 * on purpose (__libc_freeres, __gnu_cxx::__freeres), as Memcheck does before its leak check,
 * so their caches are not reported. It must never run while another thread lives (that
 * thread may still use what would be freed) and never anywhere but at the very end. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* Is this the only thread left? Counts the entries of /proc/self/task. */
static bool single_threaded(void)
{
    char buf[4096];
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    int threads = 0;
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long off = 0; off < n;) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            if (name[0] != '.') threads++;
            off += reclen;
        }
    close(fd);
    return threads == 1;
}

static void run_freeres(void)
{
    if (!single_threaded()) return; /* others may still use what would be freed */
    void (*cxx)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZN9__gnu_cxx9__freeresEv");
    if (cxx) cxx();
    void (*libc)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "__libc_freeres");
    if (libc) libc();
}
