/* shim/image_wrappers.c: the interposed calls that change the process image: dlopen and
 * dlclose (the module map is rescanned after the real call), the exec family (execl* collect
 * their arguments and go through the execv* wrappers; the trace is ended before the call and
 * resumed if it fails), _exit and _Exit (the exit check, then the end of the trace), and the
 * constructor that starts tracing at load time. They must never hold the guard across the
 * real call: what it runs (a library's constructors) is traced like any code. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

EXPORT void *dlopen(const char *file, int flags)
{
    if (UNLIKELY(!real_dlopen)) {
        slow_enter();
        if (!real_dlopen) return NULL;
    }
    /* No guard around the real call: the library's constructors allocate like any code. */
    void *h = real_dlopen(file, flags);
    if (tracing() && tls.guard == 0) {
        tls.guard++;
        scan_modules_if_changed();
        tls.guard--;
    }
    return h;
}

EXPORT int dlclose(void *h)
{
    if (UNLIKELY(!real_dlclose)) {
        slow_enter();
        if (!real_dlclose) return -1;
    }
    int rc = real_dlclose(h);
    if (tracing() && tls.guard == 0) {
        tls.guard++;
        scan_modules_if_changed();
        tls.guard--;
    }
    return rc;
}

/* exec family: glibc's execv* call the system call directly, so each is wrapped. */
#define EXEC_WRAPPER(call)                                                                  \
    do {                                                                                    \
        slow_enter();                                                                       \
        image_ending(LG_END_EXEC, 0);                                                       \
        int rc_ = call;                                                                     \
        int e_ = errno;                                                                     \
        exec_failed();                                                                      \
        errno = e_;                                                                         \
        return rc_;                                                                         \
    } while (0)

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    EXEC_WRAPPER(real_execve ? real_execve(path, argv, envp) : (errno = ENOSYS, -1));
}

EXPORT int execv(const char *path, char *const argv[])
{
    EXEC_WRAPPER(real_execv ? real_execv(path, argv) : (errno = ENOSYS, -1));
}

EXPORT int execvp(const char *file, char *const argv[])
{
    EXEC_WRAPPER(real_execvp ? real_execvp(file, argv) : (errno = ENOSYS, -1));
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    EXEC_WRAPPER(real_execvpe ? real_execvpe(file, argv, envp) : (errno = ENOSYS, -1));
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    EXEC_WRAPPER(real_fexecve ? real_fexecve(fd, argv, envp) : (errno = ENOSYS, -1));
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    EXEC_WRAPPER(real_execveat ? real_execveat(dirfd, path, argv, envp, flags)
                               : (errno = ENOSYS, -1));
}

/* execl, execlp, execle: collect the variadic arguments, then the execv* wrappers. */
static int count_args(va_list ap)
{
    int n = 1;
    while (va_arg(ap, const char *)) n++;
    return n;
}

/* Declares `argv` (a VLA: its size is only known here) holding `arg` and the variadic
 * arguments up to their NULL, and leaves `ap` after that NULL (execle's envp follows). */
#define COLLECT_ARGV(arg, ap)                                                               \
    va_list aq_;                                                                            \
    va_copy(aq_, ap);                                                                       \
    int n_ = count_args(aq_);                                                               \
    va_end(aq_);                                                                            \
    char *argv[n_ + 1];                                                                     \
    argv[0] = (char *)(arg);                                                                \
    for (int i_ = 1; i_ <= n_; i_++) argv[i_] = i_ < n_ ? va_arg(ap, char *) : NULL

EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGV(arg, ap);
    va_end(ap);
    return execv(path, argv);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGV(arg, ap);
    va_end(ap);
    return execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGV(arg, ap);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

EXPORT void _exit(int status)
{
    if (atomic_load(&g_state) == ST_TRACING) {
        /* the caller's stack pointer: just above this function's return address */
        uint64_t sp = (uint64_t)(uintptr_t)__builtin_frame_address(0) + 16;
        run_freeres();
        take_snapshot(LG_SNAP_EXIT, NULL, sp);
    }
    image_ending(LG_END_EXIT, status);
    if (real__exit) real__exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

EXPORT void _Exit(int status)
{
    _exit(status);
}

/* Start tracing at load time even if nothing allocates before main. */
__attribute__((constructor(101))) static void lg_init(void)
{
    slow_enter();
}
