/* seccomp_allow: a sandboxed program (issue #13). After start-up it installs a seccomp filter
 * that allows only what an OpenSSH-like sandbox allows a worker (read, write, brk, mmap,
 * munmap, mremap, madvise, mprotect, futex, clock_gettime, gettid, getpid, rt_sigprocmask,
 * rt_sigreturn, sched_yield, nanosleep, clock_nanosleep, close, exit, exit_group, getrandom
 * (malloc seeds its tcache key with it), and what
 * creating a thread needs: clone, clone3, set_robust_list, rseq) and kills the process
 * (argv[1] "kill": SECCOMP_RET_KILL_PROCESS, the default) or fails the call with EPERM
 * (argv[1] "errno") for anything else. Then it mallocs and frees through a few call depths, in
 * the main thread and in 2 threads created under the filter (one thread made and joined
 * before it, at start-up), and leaks one known block.
 * The allocating functions are in a library of their own (progs/seccomp_work.c), first called
 * under the filter: the first unwind through its frames happens there.
 * Natively it exits 0 and prints "sandboxed\ndone 2 threads\n" (write(2) only: stdio's first
 * output would call fstat). Under the shim it must too: the shim used to open each module's ELF
 * file lazily at the first unwind of its frames, and died by SIGSYS at the first malloc, then
 * at exit (libunwind's mincore in the exit check's walks): the check is taken without them.
 * argv[2] "check": before the leak, an on-demand check under the filter (lg_check_now, found
 * with dlsym: natively there is none, and nothing is called); "check failed" if it fails.
 * Exit 1: the filter could not be installed; 2: a thread could not be created. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static void say(const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(1, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static int sandbox(int kill)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        ALLOW(SYS_read), ALLOW(SYS_write), ALLOW(SYS_brk), ALLOW(SYS_mmap), ALLOW(SYS_munmap),
        ALLOW(SYS_mremap), ALLOW(SYS_madvise), ALLOW(SYS_mprotect), ALLOW(SYS_futex),
        ALLOW(SYS_clock_gettime), ALLOW(SYS_gettid), ALLOW(SYS_getpid), ALLOW(SYS_rt_sigprocmask),
        ALLOW(SYS_rt_sigreturn), ALLOW(SYS_sched_yield), ALLOW(SYS_nanosleep),
        ALLOW(SYS_clock_nanosleep), ALLOW(SYS_close), ALLOW(SYS_exit), ALLOW(SYS_exit_group),
        ALLOW(SYS_clone), ALLOW(SYS_clone3), ALLOW(SYS_set_robust_list), ALLOW(SYS_rseq), ALLOW(SYS_getrandom),
        BPF_STMT(BPF_RET | BPF_K, kill ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

void sb_churn1(int n); /* progs/seccomp_work.c, a library of its own */

static void *idle(void *arg)
{
    return arg;
}

static void *worker(void *arg)
{
    sb_churn1((int)(long)arg);
    return NULL;
}

int main(int argc, char **argv)
{
    int kill = !(argc > 1 && strcmp(argv[1], "errno") == 0);
    /* start-up: glibc's first pthread_create installs its SIGRT_1 handler (rt_sigaction,
     * which the filter denies); threads made after that need only what the filter allows */
    pthread_t t[2];
    if (pthread_create(&t[0], NULL, idle, NULL) != 0) return 2;
    pthread_join(t[0], NULL);
    if (sandbox(kill) != 0) return 1;
    say("sandboxed\n");
    sb_churn1(1000);
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)1000L) != 0) return 2;
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    if (argc > 2 && strcmp(argv[2], "check") == 0) {
        int (*check_now)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "lg_check_now");
        if (check_now && check_now() < 0) say("check failed\n");
    }
    char *leak = malloc(4242); /* LEAK:main:malloc:4242 */
    memset(leak, 7, 4242);
    leak = NULL;
    say("done 2 threads\n");
    return 0;
}
