/* shim/signal_view.c: the signal actions a program sees when it asks. The shim stands in
 * for the default action of eleven fatal signals (check.c's fatal handler, so that a program
 * killed by one still gets its final check), but a program that asks with sigaction() must
 * see SIG_DFL there, as it does alone or under Memcheck, whose signal machinery the program
 * never sees. Programs do ask: gdb warns at start about every handler it finds installed
 * ("Found custom handler for signal N preinstalled"): 11 lines more on its stderr, and with
 * glibc's freeres run at exit as Memcheck runs it, 158 more reachable blocks (140 KB, Python
 * objects) in `gdb --version`. Only the answer changes: our handler stays in place
 * until the program sets one of its own, as before. signal() and its BSD and System V twins
 * go through glibc's internal sigaction and still return our handler as the old one; a
 * program that sets it back restores the stand-in, which behaves as the default would.
 * The check signal's handler (LEAKGRAPH_CHECK_SIGNAL), asked for by the user, stays visible. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* glibc's exported name of the real sigaction (the public one is its weak alias) */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    int rc = __sigaction(sig, act, old);
    if (rc == 0 && old && (old->sa_flags & SA_SIGINFO) && old->sa_sigaction == fatal_handler) {
        memset(old, 0, sizeof *old); /* what the kernel reports for an untouched signal */
        old->sa_handler = SIG_DFL;
    }
    return rc;
}
