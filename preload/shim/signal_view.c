/* shim/signal_view.c: the signal actions a program sets and sees. Two jobs:
 *
 * 1. The shim's own handlers stay out of sight. The shim stands in for the default action of
 * eleven fatal signals (check.c's fatal handler, so that a program killed by one still gets
 * its final check), but a program that asks with sigaction() must see SIG_DFL there, as it
 * does alone or under Memcheck, whose signal machinery the program never sees. Programs do
 * ask: gdb warns at start about every handler it finds installed ("Found custom handler for
 * signal N preinstalled"): 11 lines more on its stderr, and with glibc's freeres run at exit
 * as Memcheck runs it, 158 more reachable blocks (140 KB, Python objects) in `gdb --version`.
 * Only the answer changes: our handler stays in place until the program sets one of its own.
 * signal() and its BSD and System V twins still return our handler as the old one; a program
 * that sets it back restores the stand-in, which behaves as the default would. The check
 * signal's handler (LEAKGRAPH_CHECK_SIGNAL), asked for by the user, stays visible.
 *
 * 2. Every handler the program installs runs through sig_trampoline(), so that the shim knows
 * for certain when a program's handler runs on a thread: it sets tls.sig_base (the guard it
 * found plus 1) for the handler's duration, and the malloc-family wrappers record a handler's
 * allocations made while the code it interrupted held the guard (alloc_wrappers.c, "Signal
 * handlers"). The kernel gets the program's action with the trampoline as its handler: the
 * same flags (SA_SIGINFO or not, SA_RESETHAND, SA_NODEFER, SA_ONSTACK, SA_RESTART, ...) and
 * mask, so delivery behaves as it would natively; the trampoline passes the kernel's three
 * arguments on (a handler without SA_SIGINFO receives the same registers as natively) and
 * returns to the kernel's frame, and a handler may longjmp out (see alloc_wrappers.c for the
 * mark it leaves). The program's handler is kept per signal (g_sig_prog) and every answer
 * (sigaction's old action, signal()'s old handler) reports it where the kernel holds the
 * trampoline. signal(), bsd_signal, ssignal, sysv_signal, __sysv_signal and sigset install
 * through the C library's own function (its flags, mask and siginterrupt state), then the
 * handler is swapped for the trampoline. Only x86-64 and aarch64 are built, where a handler
 * called with three arguments ignores those it does not take.
 * Limits: two threads that set the same signal's handler at the same time may leave one's
 * flags with the other's handler; a signal delivered between signal()'s install and the swap
 * runs the program's handler without the trampoline (its allocations inside the shim then
 * pass through, as without the trampoline). Backtraces taken in a handler show one frame
 * of the shim between the handler and the signal frame. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* glibc's exported name of the real sigaction (the public one is its weak alias) */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

typedef void (*lg_sigfn_t)(int, siginfo_t *, void *);
typedef void (*lg_sighandler_t)(int);

/* The program's handler of each signal whose kernel action is the trampoline (written before
 * the trampoline is installed; never cleared, as a delivery may be under way). */
static _Atomic uintptr_t g_sig_prog[NSIG];

static void sig_trampoline(int sig, siginfo_t *si, void *uc)
{
    lg_sigfn_t h = (unsigned)sig < NSIG ? (lg_sigfn_t)atomic_load_explicit(&g_sig_prog[sig],
                                                                           memory_order_acquire)
                                        : NULL;
    if (!h) return;
    int saved = tls.sig_base;
    tls.sig_base = tls.guard + 1;
    atomic_signal_fence(memory_order_seq_cst);
    h(sig, si, uc);
    atomic_signal_fence(memory_order_seq_cst);
    tls.sig_base = saved;
}

/* Is `h` a program's handler, to run through the trampoline? Not SIG_DFL, SIG_IGN, SIG_HOLD
 * or another small constant, and not one of the shim's own handlers. */
static bool sig_wrappable(int sig, uintptr_t h)
{
    return sig > 0 && sig < NSIG && h >= 4096 && h != (uintptr_t)sig_trampoline &&
           h != (uintptr_t)fatal_handler && h != (uintptr_t)stop_handler &&
           h != (uintptr_t)check_signal_handler;
}

/* The program's view of a handler the kernel holds: the trampoline is the program's own
 * handler (`prog`), the fatal stand-in the default. */
static void sig_view(struct sigaction *a, uintptr_t prog)
{
    if ((uintptr_t)a->sa_sigaction == (uintptr_t)sig_trampoline) {
        a->sa_sigaction = (lg_sigfn_t)prog;
    } else if ((a->sa_flags & SA_SIGINFO) && a->sa_sigaction == fatal_handler) {
        memset(a, 0, sizeof *a); /* what the kernel reports for an untouched signal */
        a->sa_handler = SIG_DFL;
    }
}

/* Every signal blocked on this thread while a handler and the trampoline are swapped, so that
 * none of its signals sees one without the other (raw system call: no interceptor). */
static void sig_block(sigset_t *old)
{
    sigset_t all;
    memset(&all, 0xff, sizeof all);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, old, (size_t)(_NSIG / 8));
}

static void sig_unblock(const sigset_t *old)
{
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, (size_t)(_NSIG / 8));
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!act || !sig_wrappable(sig, (uintptr_t)act->sa_sigaction)) {
        int rc = __sigaction(sig, act, old);
        if (rc == 0 && old)
            sig_view(old, (unsigned)sig < NSIG ? atomic_load(&g_sig_prog[sig]) : 0);
        return rc;
    }
    sigset_t mask;
    sig_block(&mask);
    uintptr_t prev = atomic_load(&g_sig_prog[sig]);
    atomic_store_explicit(&g_sig_prog[sig], (uintptr_t)act->sa_sigaction, memory_order_release);
    struct sigaction w = *act;
    w.sa_sigaction = sig_trampoline;
    int rc = __sigaction(sig, &w, old);
    int e = errno;
    if (rc != 0)
        atomic_store(&g_sig_prog[sig], prev);
    else if (old)
        sig_view(old, prev);
    sig_unblock(&mask);
    errno = e;
    return rc;
}

/* The one-handler calls: install through the C library's `name` (resolved once, next after
 * the shim), then swap a program's handler for the trampoline with the flags and mask the
 * call gave it. The old handler is reported as sigaction reports it, but for the fatal
 * stand-in (see the top). */
static lg_sighandler_t sig_set_simple(const char *name, _Atomic uintptr_t *real, int sig,
                                      lg_sighandler_t h)
{
    lg_sighandler_t (*fn)(int, lg_sighandler_t) =
        (lg_sighandler_t(*)(int, lg_sighandler_t))atomic_load(real);
    if (!fn) {
        tls.guard++; /* dlsym may allocate */
        fn = (lg_sighandler_t(*)(int, lg_sighandler_t))dlsym(RTLD_NEXT, name);
        tls.guard--;
        if (!fn) {
            errno = ENOSYS;
            return SIG_ERR;
        }
        atomic_store(real, (uintptr_t)fn);
    }
    bool wrap = sig_wrappable(sig, (uintptr_t)h);
    uintptr_t prev = (unsigned)sig < NSIG ? atomic_load(&g_sig_prog[sig]) : 0;
    lg_sighandler_t old = fn(sig, h);
    if (old == SIG_ERR) return old;
    int e = errno;
    if (wrap) {
        sigset_t mask;
        sig_block(&mask);
        struct sigaction cur;
        if (__sigaction(sig, NULL, &cur) == 0 && cur.sa_handler == h) {
            atomic_store_explicit(&g_sig_prog[sig], (uintptr_t)h, memory_order_release);
            cur.sa_sigaction = sig_trampoline;
            __sigaction(sig, &cur, NULL);
        }
        sig_unblock(&mask);
    }
    if ((uintptr_t)old == (uintptr_t)sig_trampoline) old = (lg_sighandler_t)prev;
    errno = e;
    return old;
}

#define LG_SIMPLE_SIGNAL(fname)                                                    \
    EXPORT lg_sighandler_t fname(int sig, lg_sighandler_t h)                       \
    {                                                                              \
        static _Atomic uintptr_t real;                                             \
        return sig_set_simple(#fname, &real, sig, h);                              \
    }
LG_SIMPLE_SIGNAL(signal)
LG_SIMPLE_SIGNAL(bsd_signal)
LG_SIMPLE_SIGNAL(ssignal)
LG_SIMPLE_SIGNAL(sysv_signal)
LG_SIMPLE_SIGNAL(__sysv_signal)
LG_SIMPLE_SIGNAL(sigset)
#undef LG_SIMPLE_SIGNAL
