/* shim/image_wrappers.c: the interposed calls that change the process image: dlopen, dlsym and
 * dlclose (the module map is brought up to date around them), the exec family (execl*
 * collect their arguments and go through the execv* wrappers; the trace is ended before the call
 * and resumed if it fails), _exit and _Exit (the exit check, then the end of the trace), the
 * constructor that starts tracing at load time, and prctl and syscall (trampolines that note a
 * seccomp filter request, see "seccomp" below). They must never hold the guard across the real
 * call: what it runs (a library's constructors) is traced like any code.
 *
 * dlopen and dlsym depend on their caller: ld.so takes it from their return address
 * (glibc's RETURN_ADDRESS(0)) and searches the caller's RPATH/RUNPATH ($ORIGIN is the caller's
 * directory) for a bare name, loads into the caller's namespace, and resolves RTLD_NEXT and
 * RTLD_DEFAULT from the caller. A C wrapper that calls the real function makes the shim the
 * caller (a plugin found through the program's RPATH is then not found). So these two are
 * assembly trampolines: they save the argument registers, call a C function that does the
 * shim's work and returns the real function, restore the registers and jump to it, with the
 * program's return address still where the real function reads it (no frame of the shim is
 * left; this does not rely on the compiler's sibling-call optimisation). Nothing runs after the
 * real call, so the module map is brought up to date before each of them (what the previous
 * dlopen loaded is recorded at the latest when the program looks up a symbol in it, before its
 * code runs through that symbol), before and after dlclose (a module is recorded before it goes,
 * so its frames are still symbolized), before _exit and exec, and at the start of a forked
 * child. A MODULE record written after the module's first allocations (its
 * constructors run inside dlopen) still names their frames: the analyzer takes the module that
 * covers an address when none was loaded at that event. dlclose does not depend on its caller
 * and stays a C wrapper; dlmopen and dlvsym are not interposed (they keep their caller). */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* The module map up to date, unless the shim is not tracing or this thread is inside it. */
static void dl_sync_modules(void)
{
    if (tracing() && tls.guard == 0) {
        tls.guard++;
        scan_modules_if_changed();
        tls.guard--;
    }
}

#if defined(__x86_64__) || defined(__aarch64__)
typedef void (*lg_dl_fn)(void);

/* What a trampoline jumps to when the real function cannot be found (it returns what the
 * real one returns on failure): the arguments are still in their registers, unused. */
static void *dl_null(void)
{
    return NULL;
}

/* The real dlsym, found with dlvsym (dlsym itself is the shim's): the version glibc 2.34 moved
 * into libc.so.6, else the architecture's first one (libdl.so.2 before 2.34). */
static void *_Atomic g_real_dlsym;

/* The C side of the trampolines (called from assembly only): the work before the real call,
 * then the function to jump to. */
lg_dl_fn lg_dl_enter_dlopen(void) __attribute__((visibility("hidden")));
lg_dl_fn lg_dl_enter_dlsym(void) __attribute__((visibility("hidden")));

lg_dl_fn lg_dl_enter_dlopen(void)
{
    if (UNLIKELY(!real_dlopen)) {
        slow_enter();
        if (!real_dlopen) return (lg_dl_fn)dl_null;
    }
    dl_sync_modules(); /* what earlier calls loaded */
    return (lg_dl_fn)real_dlopen;
}

lg_dl_fn lg_dl_enter_dlsym(void)
{
    void *real = atomic_load(&g_real_dlsym);
    if (UNLIKELY(!real)) { /* no slow_enter here: the shim's start-up itself calls dlsym */
#if defined(__x86_64__)
        static const char base[] = "GLIBC_2.2.5";
#else
        static const char base[] = "GLIBC_2.17";
#endif
        real = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
        if (!real) real = dlvsym(RTLD_NEXT, "dlsym", base);
        if (!real) return (lg_dl_fn)dl_null;
        atomic_store(&g_real_dlsym, real);
    }
    dl_sync_modules(); /* a lookup in a module just loaded: recorded before its code runs */
    return (lg_dl_fn)real;
}

/* name: save the argument registers (three: room for a function with one more), call enter, restore them, jump to
 * what enter returned. x86-64: three pushes keep the stack 16-aligned at the call. aarch64:
 * the link register (the caller's return address) is saved and restored with them; the jump
 * goes through x16, which a BTI landing pad ("bti c") accepts. */
#if defined(__x86_64__)
#ifdef __CET__
#define LG_DL_LANDING "    endbr64\n"
#else
#define LG_DL_LANDING ""
#endif
#define LG_DL_TYPE "@function"
#define LG_DL_BODY(enter)                                                                   \
    "    push %rdi\n"                                                                       \
    "    push %rsi\n"                                                                       \
    "    push %rdx\n"                                                                       \
    "    call " enter "\n"                                                                  \
    "    pop %rdx\n"                                                                        \
    "    pop %rsi\n"                                                                        \
    "    pop %rdi\n"                                                                        \
    "    jmp *%rax\n"
#else
#ifdef __ARM_FEATURE_BTI_DEFAULT
#define LG_DL_LANDING "    bti c\n"
#else
#define LG_DL_LANDING ""
#endif
#define LG_DL_TYPE "%function"
#define LG_DL_BODY(enter)                                                                   \
    "    stp x29, x30, [sp, #-48]!\n"                                                       \
    "    mov x29, sp\n"                                                                     \
    "    stp x0, x1, [sp, #16]\n"                                                           \
    "    str x2, [sp, #32]\n"                                                               \
    "    bl " enter "\n"                                                                    \
    "    mov x16, x0\n"                                                                     \
    "    ldp x0, x1, [sp, #16]\n"                                                           \
    "    ldr x2, [sp, #32]\n"                                                               \
    "    ldp x29, x30, [sp], #48\n"                                                         \
    "    br x16\n"
#endif
#define LG_DL_TRAMPOLINE(name, enter)                                                       \
    __asm__(".text\n"                                                                       \
            ".p2align 4\n"                                                                  \
            ".globl " name "\n"                                                             \
            ".type " name ", " LG_DL_TYPE "\n" name ":\n" LG_DL_LANDING LG_DL_BODY(enter)   \
            ".size " name ", .-" name "\n")

LG_DL_TRAMPOLINE("dlopen", "lg_dl_enter_dlopen");
LG_DL_TRAMPOLINE("dlsym", "lg_dl_enter_dlsym");

/* ---- seccomp: prctl and syscall -------------------------------------------------------
 * A program that installs a seccomp filter (prctl(PR_SET_SECCOMP, ...), or syscall(SYS_seccomp,
 * SECCOMP_SET_MODE_STRICT or _FILTER, ...) as libseccomp does) may deny the system calls the
 * shim's own walks would make (libunwind's address validation): the request sets
 * g_sandboxed before the real call, so those walks make none from then on (lifecycle.c, "own
 * walks"); a request that fails leaves the shim as careful, nothing worse. Both functions are
 * variadic (syscall's arguments are six registers and a stack word, and %al on x86-64), so
 * they are trampolines too: every argument register is saved around the enter function,
 * which sees the first two as its own, and the real function gets them all, with the
 * program's return address. A filter installed through an inline system call instruction
 * is not seen. */
typedef long (*lg_sc_fn)(void);
static long sc_enosys(void)
{
    errno = ENOSYS;
    return -1;
}

static void *_Atomic g_real_prctl, *_Atomic g_real_syscall;

static lg_sc_fn sc_real(void *_Atomic *slot, const char *name)
{
    void *real = atomic_load(slot);
    if (UNLIKELY(!real)) {
#if defined(__x86_64__)
        real = dlvsym(RTLD_NEXT, name, "GLIBC_2.2.5");
#else
        real = dlvsym(RTLD_NEXT, name, "GLIBC_2.17");
#endif
        if (!real) return sc_enosys;
        atomic_store(slot, real);
    }
    return (lg_sc_fn)real;
}

lg_sc_fn lg_sc_enter_prctl(long option) __attribute__((visibility("hidden")));
lg_sc_fn lg_sc_enter_syscall(long nr, long op) __attribute__((visibility("hidden")));

lg_sc_fn lg_sc_enter_prctl(long option)
{
    if (option == PR_SET_SECCOMP) atomic_store(&g_sandboxed, true);
    return sc_real(&g_real_prctl, "prctl");
}

lg_sc_fn lg_sc_enter_syscall(long nr, long op)
{
    if (UNLIKELY((nr == SYS_seccomp && (op == 0 || op == 1)) || /* SECCOMP_SET_MODE_STRICT, */
                 (nr == SYS_prctl && op == PR_SET_SECCOMP)))      /* _FILTER */
        atomic_store(&g_sandboxed, true);
    return sc_real(&g_real_syscall, "syscall");
}

/* name: every argument register saved around enter (x86-64: seven pushes keep the stack
 * 16-aligned at the call; aarch64: x0-x7 and the frame record), then a jump to what enter
 * returned. */
#if defined(__x86_64__)
#define LG_SC_BODY(enter)                                                                   \
    "    push %rdi\n"                                                                       \
    "    push %rsi\n"                                                                       \
    "    push %rdx\n"                                                                       \
    "    push %rcx\n"                                                                       \
    "    push %r8\n"                                                                        \
    "    push %r9\n"                                                                        \
    "    push %rax\n"                                                                       \
    "    call " enter "\n"                                                                  \
    "    mov %rax, %r11\n"                                                                  \
    "    pop %rax\n"                                                                        \
    "    pop %r9\n"                                                                         \
    "    pop %r8\n"                                                                         \
    "    pop %rcx\n"                                                                        \
    "    pop %rdx\n"                                                                        \
    "    pop %rsi\n"                                                                        \
    "    pop %rdi\n"                                                                        \
    "    jmp *%r11\n"
#else
#define LG_SC_BODY(enter)                                                                   \
    "    stp x29, x30, [sp, #-80]!\n"                                                       \
    "    mov x29, sp\n"                                                                     \
    "    stp x0, x1, [sp, #16]\n"                                                           \
    "    stp x2, x3, [sp, #32]\n"                                                           \
    "    stp x4, x5, [sp, #48]\n"                                                           \
    "    stp x6, x7, [sp, #64]\n"                                                           \
    "    bl " enter "\n"                                                                    \
    "    mov x16, x0\n"                                                                     \
    "    ldp x0, x1, [sp, #16]\n"                                                           \
    "    ldp x2, x3, [sp, #32]\n"                                                           \
    "    ldp x4, x5, [sp, #48]\n"                                                           \
    "    ldp x6, x7, [sp, #64]\n"                                                           \
    "    ldp x29, x30, [sp], #80\n"                                                         \
    "    br x16\n"
#endif
#define LG_SC_TRAMPOLINE(name, enter)                                                       \
    __asm__(".text\n"                                                                       \
            ".p2align 4\n"                                                                  \
            ".globl " name "\n"                                                             \
            ".type " name ", " LG_DL_TYPE "\n" name ":\n" LG_DL_LANDING LG_SC_BODY(enter)   \
            ".size " name ", .-" name "\n")

LG_SC_TRAMPOLINE("prctl", "lg_sc_enter_prctl");
LG_SC_TRAMPOLINE("syscall", "lg_sc_enter_syscall");

#else /* another architecture: C wrappers (the shim is the caller of the real dlopen) */

EXPORT void *dlopen(const char *file, int flags)
{
    if (UNLIKELY(!real_dlopen)) {
        slow_enter();
        if (!real_dlopen) return NULL;
    }
    /* No guard around the real call: the library's constructors allocate like any code. */
    void *h = real_dlopen(file, flags);
    dl_sync_modules();
    return h;
}
#endif

EXPORT int dlclose(void *h)
{
    if (UNLIKELY(!real_dlclose)) {
        slow_enter();
        if (!real_dlclose) return -1;
    }
    dl_sync_modules(); /* what was loaded since the last scan, before it can go */
    int rc = real_dlclose(h);
    dl_sync_modules();
    return rc;
}

/* exec family: glibc's execv* call the system call directly, so each is wrapped. */
#define EXEC_WRAPPER(call)                                                                  \
    do {                                                                                    \
        slow_enter();                                                                       \
        dl_sync_modules();                                                                  \
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
    dl_sync_modules();
    if (atomic_load(&g_state) == ST_TRACING && g_exit_check) {
        /* the caller's stack pointer: just above this function's return address */
        uint64_t sp = (uint64_t)(uintptr_t)__builtin_frame_address(0) + 16;
        if (!atomic_load(&g_sandboxed)) run_freeres(); /* reads /proc, a filter may deny it */
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
