/* The shim's signal handler wrapping is invisible (issue #13): the shim runs every handler the
 * program installs through a trampoline of its own (preload/shim/signal_view.c). This program
 * installs handlers with sigaction (SA_SIGINFO and not, SA_RESETHAND, SA_NODEFER, SA_ONSTACK),
 * signal, sysv_signal and sigset; reads each back with sigaction(sig, NULL, &old) and compares
 * the handler, flags and mask with what it set; raises the signals and checks that the
 * handlers ran with the right arguments (signal number, siginfo, ucontext, the blocked mask,
 * the alternate stack); and leaves a handler by siglongjmp. It prints one line per check:
 * the driver compares the output natively, under `leakgraph run` and preloaded by hand. The
 * handlers allocate: on_plain's 64-byte block is lost twice (overwritten) and on_reset's
 * 40 bytes twice: 208 bytes in 4 blocks definitely lost. Exit status 0. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LG_SA_RESTORER 0x04000000 /* added by glibc: not the program's */

static int failures;

static void say(const char *what, int ok)
{
    printf("%s: %s\n", what, ok ? "ok" : "WRONG");
    if (!ok) failures++;
}

static int same_mask(const sigset_t *a, const sigset_t *b)
{
    for (int s = 1; s < 65; s++)
        if (s != 32 && s != 33 && sigismember(a, s) != sigismember(b, s)) return 0;
    return 1;
}

/* Reads sig's action back and compares it with `want` (handler, flags, mask). */
static void readback(const char *what, int sig, const struct sigaction *want)
{
    struct sigaction old;
    memset(&old, 0x55, sizeof old);
    char line[160];
    int rc = sigaction(sig, NULL, &old);
    snprintf(line, sizeof line, "%s read back (flags %#x)", what,
             (unsigned)old.sa_flags & ~(unsigned)LG_SA_RESTORER);
    say(line, rc == 0 && (void *)old.sa_sigaction == (void *)want->sa_sigaction &&
                  (old.sa_flags & ~LG_SA_RESTORER) == want->sa_flags &&
                  same_mask(&old.sa_mask, &want->sa_mask));
}

/* ---- SA_SIGINFO: siginfo and ucontext ---- */
static volatile int info_sig, info_code, info_val, info_uc_ok, info_blocked_ok;
static void on_info(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    info_sig = si->si_signo == sig ? sig : -1;
    info_code = si->si_code;
    info_val = si->si_value.sival_int;
    info_uc_ok = uc != NULL && !sigismember(&uc->uc_sigmask, SIGUSR1) &&
                 !sigismember(&uc->uc_sigmask, SIGUSR2);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    info_blocked_ok = sigismember(&now, SIGUSR1) && sigismember(&now, SIGUSR2) &&
                      !sigismember(&now, SIGHUP);
    free(malloc(100));
}

/* ---- a fault: the kernel's siginfo and the interrupted context ---- */
static char *page;
static volatile int segv_ok;
static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    segv_ok = sig == SIGSEGV && si->si_signo == SIGSEGV && si->si_code == SEGV_ACCERR &&
              si->si_addr == page + 8 && uc && uc->uc_mcontext.gregs[REG_RIP] != 0;
    mprotect(page, 4096, PROT_READ | PROT_WRITE); /* the write is made again on return */
    free(malloc(24));
}

/* ---- plain handlers ---- */
static volatile int plain_sig, plain_runs;
static void *kept;
static void on_plain(int sig)
{
    plain_sig = sig;
    plain_runs++;
    kept = malloc(64); /* reachable through `kept` when last */
}

/* ---- SA_RESETHAND: the action is the default inside the handler ---- */
static volatile int reset_runs, reset_dfl_inside;
static void on_reset(int sig)
{
    struct sigaction in;
    reset_runs++;
    reset_dfl_inside = sigaction(sig, NULL, &in) == 0 && in.sa_handler == SIG_DFL;
    void *leak = malloc(40); /* LEAK: one block of 40 bytes from a handler */
    memset(leak, 1, 40);
}

/* ---- SA_NODEFER: the handler interrupts itself ---- */
static volatile int depth, max_depth, nodefer_runs;
static void on_nodefer(int sig)
{
    depth++;
    if (depth > max_depth) max_depth = depth;
    if (nodefer_runs++ == 0) raise(sig); /* runs inside with SA_NODEFER, after it without */
    depth--;
}

/* ---- SA_ONSTACK ---- */
static char altstack[64 * 1024];
static volatile int on_alt;
static void on_onstack(int sig)
{
    (void)sig;
    char here;
    on_alt = &here >= altstack && &here < altstack + sizeof altstack;
}

/* ---- siglongjmp out of a handler ---- */
static sigjmp_buf jb;
static void on_jump(int sig)
{
    void *p = malloc(32);
    free(p);
    siglongjmp(jb, sig);
}

int main(void)
{
    struct sigaction sa, old;

    /* the shim's stand-in for the default of a fatal signal is not seen */
    say("SIGTERM default before", sigaction(SIGTERM, NULL, &old) == 0 && old.sa_handler == SIG_DFL);

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    say("SA_SIGINFO install", sigaction(SIGUSR1, &sa, &old) == 0 && old.sa_handler == SIG_DFL);
    readback("SA_SIGINFO", SIGUSR1, &sa);
    /* the user's queue of pending signals may be full (RLIMIT_SIGPENDING): then the signal
     * comes without its value, or not at all */
    int queued = sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 42}) == 0;
    say("SA_SIGINFO siginfo", info_sig == SIGUSR1 &&
                                  (!queued || (info_code == SI_QUEUE && info_val == 42)));
    say("SA_SIGINFO ucontext", info_uc_ok);
    say("SA_SIGINFO mask while running", info_blocked_ok);
    /* a fault on a signal the shim stands in for: SIGSEGV */
    page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigaction sv = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_RESETHAND};
    sigemptyset(&sv.sa_mask);
    say("SIGSEGV install", sigaction(SIGSEGV, &sv, &old) == 0 && old.sa_handler == SIG_DFL);
    readback("SIGSEGV", SIGSEGV, &sv);
    *(volatile char *)(page + 8) = 7;
    say("SIGSEGV siginfo and return", segv_ok && page[8] == 7);
    say("SIGSEGV default after", sigaction(SIGSEGV, NULL, &old) == 0 && old.sa_handler == SIG_DFL);

    /* replacing it reports the old action exactly */
    struct sigaction sb = {.sa_handler = on_plain};
    sigemptyset(&sb.sa_mask);
    memset(&old, 0, sizeof old);
    say("replace reports old", sigaction(SIGUSR1, &sb, &old) == 0 && old.sa_sigaction == on_info &&
                                   (old.sa_flags & ~LG_SA_RESTORER) == (SA_SIGINFO | SA_RESTART));
    readback("plain sigaction", SIGUSR1, &sb);
    raise(SIGUSR1);
    say("plain handler ran", plain_sig == SIGUSR1 && plain_runs == 1);

    /* signal(): BSD semantics from the C library; the old handler comes back */
    say("signal install", signal(SIGUSR2, on_plain) == SIG_DFL);
    struct sigaction bsd;
    sigaction(SIGUSR2, NULL, &bsd);
    printf("signal flags %#x\n", (unsigned)bsd.sa_flags & ~(unsigned)LG_SA_RESTORER);
    say("signal read back", bsd.sa_handler == on_plain);
    raise(SIGUSR2);
    say("signal handler ran", plain_sig == SIGUSR2 && plain_runs == 2);
    say("signal returns old", signal(SIGUSR2, SIG_IGN) == on_plain);
    say("signal returns ignore", signal(SIGUSR2, on_plain) == SIG_IGN);

    /* sysv_signal: one shot, not deferred */
    say("sysv_signal install", sysv_signal(SIGUSR2, on_reset) == on_plain);
    sigaction(SIGUSR2, NULL, &bsd);
    printf("sysv_signal flags %#x\n", (unsigned)bsd.sa_flags & ~(unsigned)LG_SA_RESTORER);
    raise(SIGUSR2);
    say("sysv_signal one shot", reset_runs == 1 && reset_dfl_inside &&
                                    sigaction(SIGUSR2, NULL, &bsd) == 0 && bsd.sa_handler == SIG_DFL);

    /* sigset */
    say("sigset install", sigset(SIGUSR2, on_plain) == SIG_DFL);
    sigaction(SIGUSR2, NULL, &bsd);
    printf("sigset flags %#x\n", (unsigned)bsd.sa_flags & ~(unsigned)LG_SA_RESTORER);
    say("sigset read back", bsd.sa_handler == on_plain);
    raise(SIGUSR2);
    say("sigset handler ran", plain_sig == SIGUSR2 && plain_runs == 3);

    /* SA_RESETHAND on a signal the shim stands in for */
    struct sigaction sr = {.sa_handler = on_reset, .sa_flags = SA_RESETHAND};
    sigemptyset(&sr.sa_mask);
    say("SA_RESETHAND install", sigaction(SIGHUP, &sr, &old) == 0 && old.sa_handler == SIG_DFL);
    readback("SA_RESETHAND", SIGHUP, &sr);
    raise(SIGHUP);
    say("SA_RESETHAND default inside", reset_runs == 2 && reset_dfl_inside);
    say("SA_RESETHAND default after", sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler == SIG_DFL);

    /* SA_NODEFER */
    struct sigaction sn = {.sa_handler = on_nodefer, .sa_flags = SA_NODEFER};
    sigemptyset(&sn.sa_mask);
    sigaction(SIGUSR1, &sn, NULL);
    readback("SA_NODEFER", SIGUSR1, &sn);
    raise(SIGUSR1);
    say("SA_NODEFER nested", max_depth == 2 && depth == 0 && nodefer_runs == 2);
    struct sigaction sd = {.sa_handler = on_nodefer};
    sigemptyset(&sd.sa_mask);
    sigaction(SIGUSR1, &sd, NULL);
    max_depth = nodefer_runs = 0;
    raise(SIGUSR1);
    say("deferred without SA_NODEFER", max_depth == 1 && depth == 0 && nodefer_runs == 2);

    /* SA_ONSTACK */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&ss, NULL);
    struct sigaction so = {.sa_handler = on_onstack, .sa_flags = SA_ONSTACK};
    sigemptyset(&so.sa_mask);
    sigaction(SIGUSR2, &so, NULL);
    readback("SA_ONSTACK", SIGUSR2, &so);
    raise(SIGUSR2);
    say("SA_ONSTACK on the alternate stack", on_alt);

    /* siglongjmp out of a handler, three times; the program allocates on after it */
    struct sigaction sj = {.sa_handler = on_jump};
    sigemptyset(&sj.sa_mask);
    sigaction(SIGTERM, &sj, NULL);
    int jumps = 0;
    for (int i = 0; i < 3; i++) {
        int got = sigsetjmp(jb, 1);
        if (got == 0) {
            raise(SIGTERM);
            break; /* not reached */
        }
        jumps += got == SIGTERM;
    }
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    say("siglongjmp out", jumps == 3 && !sigismember(&now, SIGTERM));
    for (int i = 0; i < 1000; i++) free(malloc((size_t)i + 1));

    /* back to the default: reported as such, and the handler no longer runs */
    sj.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sj, NULL);
    say("SIGTERM default again", sigaction(SIGTERM, NULL, &old) == 0 && old.sa_handler == SIG_DFL);
    free(kept);
    printf("failures %d\n", failures);
    return failures ? 1 : 0;
}
