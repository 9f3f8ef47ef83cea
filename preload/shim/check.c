/* shim/check.c: stop-the-world for leak checks (snapshots). The snapshot itself (roots,
 * conservative scan) is the collector's work: it reads this process's memory while every
 * thread here is stopped. This side only stops the threads, saves their registers, describes
 * leakgraph's own memory, and waits. Everything here is async-signal-safe (raw system calls,
 * no allocation), because the check signal's handler runs it. Order: stop threads -> request
 * -> wait for DONE -> release threads -> wait until every stop handler returned. The collector
 * is `leakgraph run`'s, or preloaded by hand the `leakgraph __collect` the shim started
 * (shim/own_collector.c): the protocol is the same. Also here: lg_check_now(), the check
 * signal, and the fatal-signal handlers that take a final check.
 * It must never scan memory itself, never leave a thread stopped (every path releases them,
 * but the exit check that ran freeres: those stay stopped until exit_group, see "exit with
 * other threads"), and never wait, while the others are stopped, for a lock one of them may
 * hold. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

static _Atomic int g_snap_busy;
static _Atomic uint32_t g_snap_next_id = 1;
static int g_stop_signal;
static int g_check_signal;
static uintptr_t g_shim_data_lo, g_shim_data_hi;

/* ---- exit with other threads: holding them for freeres -----------------------------------
 * Memcheck runs glibc's and libstdc++'s freeres at exit even while other threads live (it
 * ends them first). The shim matches it only where that cannot hang or crash the program:
 * at exit() (not _exit: exit's own flush takes stdio's list lock next anyway), the exit check
 * takes stdio's list lock (_IO_list_lock: taken while the others run, as that flush would),
 * stops the others, and runs freeres (freeres.c, freeres_others_stopped) only if every one of
 * them was stopped where it holds no lock freeres takes: not inside the shim (a wrapped
 * allocation holds malloc's arena lock, a wrapped dlopen the loader's), not in the code of
 * the loader, libgcc_s or libstdc++ (dladdr, lazy binding and the loader's own file reads
 * hold the loader's locks), and not in the C library's code unless it waits in a system call
 * there (pthread_cond_wait, read: a C library lock held across a system call is the stdio
 * list lock, which the check holds, or a stream's, which freeres only tries). A thread that
 * blocks the stop signal counts as stopped if it waits in the C library on a private futex
 * without a timeout (freeres.c, blocked_for_good: only a stopped thread could wake it). They
 * then stay stopped until exit_group ends them a moment later: released, they would use what
 * freeres freed. If any was stopped elsewhere, freeres is skipped and they are released, as
 * before.
 * What freeres locks (glibc 2.36): stdio's list lock (_IO_cleanup; each stream only by
 * trylock), malloc's arena locks (free), the loader's locks (dlclose of NSS modules and of
 * libgcc_s); the rest of it assumes it runs alone and locks nothing.
 * The watchdog: a thread stopped inside a callback that the loader runs with its lock held
 * (dl_iterate_phdr's) is in none of those codes; should freeres wait for such a lock longer
 * than LG_FREERES_HOLD_NS, the held threads go on (the one holding it releases it), so the
 * exit can be slower but never hangs. */
#define LG_FREERES_HOLD_NS 5000000000ull /* 5 s: freeres takes milliseconds on any machine */
static bool g_exit_flushes;              /* set by on_exit_status: exit(), not _exit */
static bool g_freeres_ran;               /* freeres.c: the runtimes' caches are freed */
static _Atomic uint64_t g_hold_deadline; /* while freeres runs with the others held */
typedef struct code_range {
    uintptr_t lo, hi;
    bool waits_ok; /* a thread waiting in a system call here holds no lock freeres takes */
} code_range_t;
static code_range_t g_lock_code[8]; /* code that may run with a lock freeres takes */
static uint32_t g_nlock_code;
static void resolve_freeres(void);                          /* freeres.c */
static bool freeres_others_stopped(const lg_snap_ctl_t *sc); /* freeres.c */
static void freeres_now(void);                              /* freeres.c */

static int lock_code_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    const char *base = lg_basename(info->dlpi_name);
    bool libc = !strncmp(base, "libc.so", 7);
    if (!libc && strncmp(base, "ld-linux", 8) && strncmp(base, "libstdc++", 9) &&
        strncmp(base, "libgcc_s", 8))
        return 0;
    for (int i = 0; i < info->dlpi_phnum && g_nlock_code < 8; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        g_lock_code[g_nlock_code++] = (code_range_t){lo, lo + ph->p_memsz, libc};
    }
    return 0;
}

/* Was a thread stopped at `ip` somewhere it may hold a lock that freeres takes? (the rules
 * above). Async-signal-safe: reads the ranges found before the stop. */
static bool ip_unsafe(uintptr_t ip)
{
#if defined(__x86_64__)
    enum { INSN = 2 };
#elif defined(__aarch64__)
    enum { INSN = 4 };
#else
    (void)ip;
    return true;
#endif
    if (!ip) return true;
    for (uint32_t i = 0; i < g_nlock_code; i++) {
        const code_range_t *r = &g_lock_code[i];
        if (ip < r->lo || ip >= r->hi) continue;
        if (!r->waits_ok || ip < r->lo + INSN || ip + INSN > r->hi) return true;
        /* the system call instruction: before ip when the call returns, at ip when the kernel
         * restarts it after this handler */
#if defined(__x86_64__)
        const uint8_t *at = (const uint8_t *)ip; /* syscall: 0f 05 */
        return !((at[-2] == 0x0f && at[-1] == 0x05) || (at[0] == 0x0f && at[1] == 0x05));
#else
        const uint32_t *at = (const uint32_t *)ip; /* svc #0 */
        return !(at[-1] == 0xd4000001u || at[0] == 0xd4000001u);
#endif
    }
    return false;
}

/* The stop handler's test, for itself: inside the shim, or at an unsafe ip (context uc). */
static bool stopped_unsafe(const ucontext_t *uc)
{
    if (tls.guard > 0) return true;
#if defined(__x86_64__)
    return ip_unsafe((uintptr_t)uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return ip_unsafe((uintptr_t)uc->uc_mcontext.pc);
#else
    (void)uc;
    return true;
#endif
}

/* The same test for the threads the collector stopped (LG_TF_PTRACE), from the requester: a
 * thread's shim state is its `tls`, at the same offset from its thread pointer as ours (the
 * shim is loaded at start-up: its TLS block is static). */
static void mark_unsafe(lg_snap_ctl_t *sc)
{
    uintptr_t off = (uintptr_t)&tls - (uintptr_t)__builtin_thread_pointer();
    for (uint32_t i = 0; i < sc->nthreads; i++) {
        lg_snap_thread_t *t = &sc->threads[i];
        if (!(t->flags & LG_TF_PTRACE)) continue;
        const lg_tls_t *theirs = (const lg_tls_t *)(uintptr_t)(t->tp + off);
        if (!t->tp || theirs->guard > 0 || ip_unsafe((uintptr_t)t->pc)) t->flags |= LG_TF_UNSAFE;
    }
}

/* exit(): takes stdio's list lock (see "exit with other threads") and finds the code that may
 * hold a lock freeres takes, before the others stop. Returns false, having taken nothing, if
 * the C library does not export the list lock; else *unlock releases it. */
static bool hold_for_freeres(void (**unlock)(void))
{
    void (*lock)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "_IO_list_lock");
    *unlock = (void (*)(void))dlsym(RTLD_DEFAULT, "_IO_list_unlock");
    if (!lock || !*unlock) {
        *unlock = NULL;
        return false;
    }
    resolve_freeres();
    g_nlock_code = 0;
    dl_iterate_phdr(lock_code_cb, NULL);
    lock();
    return true;
}

static void save_regs(lg_snap_thread_t *t, const ucontext_t *uc)
{
#if defined(__x86_64__)
    t->nregs = NGREG < LG_SNAP_NREGS ? NGREG : LG_SNAP_NREGS;
    for (uint32_t i = 0; i < t->nregs; i++) t->regs[i] = (uint64_t)uc->uc_mcontext.gregs[i];
    t->sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    t->nregs = 31;
    for (uint32_t i = 0; i < 31; i++) t->regs[i] = uc->uc_mcontext.regs[i];
    t->sp = uc->uc_mcontext.sp;
#else
    (void)uc;
    t->nregs = 0;
    t->sp = 0;
#endif
}

/* If this thread runs on its alternate signal stack and `t`'s stack pointer lies on it: flags
 * it LG_TF_ALTSTACK (region.h), so the stack's dead part is not scanned and the mapping that
 * holds it stays an ordinary root. Returns true if so, with the stack's end in *hi (may be
 * NULL). Async-signal-safe (one system call). A handler installed with SS_AUTODISARM sees its
 * alternate stack disabled and is not found. */
static bool mark_altstack(lg_snap_thread_t *t, uint64_t *hi)
{
    stack_t ss;
    if (!t->sp || sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK)) return false;
    uint64_t lo = (uint64_t)(uintptr_t)ss.ss_sp;
    if (t->sp < lo || t->sp - lo >= ss.ss_size) return false;
    t->flags |= LG_TF_ALTSTACK;
    t->alt_lo = lo;
    if (hi) *hi = lo + ss.ss_size;
    return true;
}

/* ---- the checking thread's own frames ----------------------------------------------------
 * Other threads are described by their stop handler (the registers the signal saved). This
 * thread describes itself before it stops the others (libunwind's walk takes the loader's
 * lock, which a stopped thread could hold):
 *  - called by exit, _exit or lg_check_now with `exact_sp`, the stack pointer of their
 *    caller: live frames begin there, and the registers live there are the caller's
 *    callee-saved ones as libunwind recovers them (still in the register, or saved by a callee
 *    below exact_sp: exit's own frames save them in memory that is not scanned). The other
 *    registers are dead across a call and are not roots. Without that frame (libunwind cannot
 *    walk there), this thread's current registers, as before;
 *  - called from a signal handler with the interrupted context `uc`: its registers and SP;
 *  - in both cases, when those frames lie on the alternate signal stack (a handler installed
 *    with SA_ONSTACK), the entry is flagged LG_TF_ALTSTACK and the walk goes on through the
 *    signal frames until the interrupted frame is off that stack: a second entry (LG_TF_MORE)
 *    with its stack pointer and every register the signal saved, so the thread's own stack is
 *    scanned from there up (the frames below, left by a longjmp or unwound, are dead);
 *  - under a seccomp filter the program installed (g_sandboxed), with no system call: the
 *    walk's reads are checked without one (lifecycle.c, "own walks"), getcontext's signal
 *    mask is not read, and sigaltstack is not asked: a thread on its alternate stack gets
 *    one entry, and the user is told once that the check may be less exact.
 * Returns the number of entries written to out[] (1 or 2). */

/* libunwind's numbers of the general registers, and their slots in regs[] (save_regs's
 * order); callee_saved: preserved across a call by the ABI. */
#if defined(__x86_64__)
static const struct {
    int unw, slot;
    bool callee_saved;
} g_unw_regs[] = {
    {UNW_X86_64_RAX, REG_RAX, false}, {UNW_X86_64_RDX, REG_RDX, false},
    {UNW_X86_64_RCX, REG_RCX, false}, {UNW_X86_64_RBX, REG_RBX, true},
    {UNW_X86_64_RSI, REG_RSI, false}, {UNW_X86_64_RDI, REG_RDI, false},
    {UNW_X86_64_RBP, REG_RBP, true},  {UNW_X86_64_R8, REG_R8, false},
    {UNW_X86_64_R9, REG_R9, false},   {UNW_X86_64_R10, REG_R10, false},
    {UNW_X86_64_R11, REG_R11, false}, {UNW_X86_64_R12, REG_R12, true},
    {UNW_X86_64_R13, REG_R13, true},  {UNW_X86_64_R14, REG_R14, true},
    {UNW_X86_64_R15, REG_R15, true},  {UNW_X86_64_RIP, REG_RIP, true},
};
#define LG_UNW_NREGS (sizeof g_unw_regs / sizeof *g_unw_regs)
#define LG_UNW_REG(i) g_unw_regs[i].unw
#define LG_UNW_SLOT(i) g_unw_regs[i].slot
#define LG_UNW_KEPT(i) g_unw_regs[i].callee_saved
#define LG_NREGS_SAVED (NGREG < LG_SNAP_NREGS ? NGREG : LG_SNAP_NREGS)
#elif defined(__aarch64__)
#define LG_UNW_NREGS 31u /* x0..x30 (UNW_AARCH64_X0 is 0), in slots 0..30 */
#define LG_UNW_REG(i) ((int)(i))
#define LG_UNW_SLOT(i) ((int)(i))
#define LG_UNW_KEPT(i) ((i) >= 19) /* x19..x29 and the link register */
#define LG_NREGS_SAVED 31u
#else
#define LG_UNW_NREGS 0u
#define LG_UNW_REG(i) 0
#define LG_UNW_SLOT(i) 0
#define LG_UNW_KEPT(i) false
#define LG_NREGS_SAVED 0u
#endif

/* `t`'s registers and stack pointer from the frame under cursor `c`: every register (`all`:
 * a frame a signal interrupted, whose registers the signal frame saved), else the callee-saved
 * ones only. */
static void frame_regs(unw_cursor_t *c, lg_snap_thread_t *t, bool all)
{
    unw_word_t v;
    memset(t->regs, 0, sizeof t->regs);
    t->nregs = LG_NREGS_SAVED;
    for (size_t i = 0; i < LG_UNW_NREGS; i++)
        if ((all || LG_UNW_KEPT(i)) && unw_get_reg(c, LG_UNW_REG(i), &v) == 0)
            t->regs[LG_UNW_SLOT(i)] = (uint64_t)v;
    if (unw_get_reg(c, UNW_REG_SP, &v) == 0) t->sp = (uint64_t)v;
#if defined(__x86_64__)
    t->regs[REG_RSP] = t->sp;
#endif
}

static uint32_t describe_self(lg_snap_thread_t out[LG_SNAP_SELF_ENTRIES], pid_t self,
                              const ucontext_t *uc, uint64_t exact_sp)
{
    unw_context_t uctx;
    unw_cursor_t cur;
    bool walk = false;
    lg_snap_thread_t *me = &out[0];
    *me = (lg_snap_thread_t){.tid = self};
    /* under a seccomp filter: no system call (lifecycle.c, "own walks") */
    const bool sandboxed = own_walk_begin((uintptr_t)&uctx < (uintptr_t)__builtin_frame_address(0)
                                              ? (uintptr_t)&uctx
                                              : (uintptr_t)__builtin_frame_address(0));
    if (uc) {
        save_regs(me, uc);
        walk = unw_init_local2(&cur, (unw_context_t *)(uintptr_t)uc, UNW_INIT_SIGNAL_FRAME) == 0;
    } else {
        /* getcontext saves the signal mask with a system call, unw_getcontext does not (on
         * these two architectures its context is a ucontext_t) */
        walk = unw_getcontext(&uctx) == 0;
#if defined(__x86_64__) || defined(__aarch64__)
        if (sandboxed && walk) {
            save_regs(me, (const ucontext_t *)(const void *)&uctx);
        } else
#endif
        {
            ucontext_t here;
            getcontext(&here);
            save_regs(me, &here);
        }
        me->sp = exact_sp ? exact_sp : (uint64_t)(uintptr_t)__builtin_frame_address(0);
        if (exact_sp) me->flags |= LG_TF_EXACT_SP;
        walk = walk && unw_init_local(&cur, &uctx) == 0;
        for (int depth = 0; walk && exact_sp && depth < 64; depth++) {
            unw_word_t sp;
            if (unw_step(&cur) <= 0 || unw_get_reg(&cur, UNW_REG_SP, &sp) != 0 || sp > exact_sp) {
                walk = false;
                break;
            }
            if (sp == exact_sp) {
                frame_regs(&cur, me, false);
                break;
            }
        }
    }
    atomic_store(&me->state, LG_TS_SAVED);
    uint64_t hi;
    if (sandboxed) { /* sigaltstack may be denied: a thread on its alternate stack (its */
        if (own_walk_end()) say_sandboxed(); /* stack is then not found) is said, not followed */
        return 1;
    }
    if (!mark_altstack(me, &hi) || !walk) return 1;
    uint64_t lo = me->alt_lo;
    for (int depth = 0; depth < 256; depth++) {
        int sig = unw_is_signal_frame(&cur);
        unw_word_t sp;
        if (unw_step(&cur) <= 0 || unw_get_reg(&cur, UNW_REG_SP, &sp) != 0) break;
        if (sig > 0 && (sp < lo || sp >= hi)) { /* the frame the outermost handler interrupted */
            lg_snap_thread_t *more = &out[1];
            *more = (lg_snap_thread_t){.tid = self, .flags = LG_TF_MORE};
            frame_regs(&cur, more, true);
            atomic_store(&more->state, LG_TS_SAVED);
            return 2;
        }
    }
    return 1;
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
    struct timespec ts = {0, 10000000}; /* 10 ms: every wait re-checks its condition */
    return syscall(SYS_futex, (uint32_t *)addr, op, val, op == FUTEX_WAIT ? &ts : NULL, NULL, 0);
}

/* Runs in every other thread when a snapshot stops the process. */
static void stop_handler(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    int e = errno;
    lg_snap_ctl_t *sc = &g_region->snap;
    uint32_t gen = atomic_load(&sc->release);
    pid_t tid = (pid_t)syscall(SYS_gettid);
    atomic_fetch_add(&sc->inside, 1);
    for (uint32_t i = 0; i < sc->nthreads; i++) {
        lg_snap_thread_t *t = &sc->threads[i];
        if (t->tid != tid) continue;
        save_regs(t, ucv);
        mark_altstack(t, NULL);
        if (stopped_unsafe(ucv)) t->flags |= LG_TF_UNSAFE;
        atomic_store_explicit(&t->state, LG_TS_SAVED, memory_order_release);
        break;
    }
    while (atomic_load(&sc->release) == gen) {
        futex(&sc->release, FUTEX_WAIT, gen);
        uint64_t deadline = atomic_load(&g_hold_deadline); /* the watchdog (see above) */
        if (deadline && now_ns(CLOCK_MONOTONIC) > deadline) break;
    }
    atomic_fetch_sub(&sc->inside, 1);
    errno = e;
}

/* Lists the other threads of this process into the snapshot table and signals each. */
static void stop_others(lg_snap_ctl_t *sc, pid_t self)
{
    struct linux_dirent64_ {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
    };
    sc->nthreads = 0;
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct linux_dirent64_ *d = (struct linux_dirent64_ *)(buf + off);
            off += d->reclen;
            pid_t tid = (pid_t)atoi(d->name);
            if (tid <= 0 || tid == self || sc->nthreads + LG_SNAP_SELF_ENTRIES >= LG_SNAP_MAX_THREADS)
                continue;
            lg_snap_thread_t *t = &sc->threads[sc->nthreads++];
            *t = (lg_snap_thread_t){.tid = tid};
        }
    }
    close(fd);
    pid_t pid = getpid();
    for (uint32_t i = 0; i < sc->nthreads; i++)
        if (syscall(SYS_tgkill, pid, sc->threads[i].tid, g_stop_signal) != 0)
            atomic_store(&sc->threads[i].state, LG_TS_NOREGS); /* exited meanwhile */
    /* Wait for them; a thread that blocks the signal keeps state PENDING (its stack is then
     * scanned whole, its registers are unknown). */
    for (uint64_t waited = 0; waited < LG_STOP_WAIT_NS; waited += 100000) {
        uint32_t pending = 0;
        for (uint32_t i = 0; i < sc->nthreads; i++)
            pending += atomic_load(&sc->threads[i].state) == LG_TS_PENDING;
        if (!pending) break;
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

/* Asks the collector to stop every other thread (region.h, LG_SNAP_STOP): true when it did,
 * false when it cannot (ptrace not permitted, a debugger traces the process) or is gone. */
static bool collector_stop(lg_snap_ctl_t *sc, pid_t self)
{
    sc->requester = self;
    sc->nthreads = 0;
    sc->hold = 0;
    atomic_store(&sc->freeres_until, 0);
    atomic_store_explicit(&sc->state, LG_SNAP_STOP, memory_order_release);
    uint64_t waited = 0;
    for (;;) {
        uint32_t st = atomic_load_explicit(&sc->state, memory_order_acquire);
        if (st == LG_SNAP_STOPPED) return true;
        if (st == LG_SNAP_STOP_FAILED || !wait_on_collector(&waited, 100000)) break;
    }
    sc->nthreads = 0;
    atomic_store(&sc->state, LG_SNAP_IDLE);
    return false;
}

/* Lets the threads the collector stopped go (or, with hold, asks it to keep them until they
 * end) and waits until it did. */
static void collector_release(lg_snap_ctl_t *sc, bool hold)
{
    sc->hold = hold;
    atomic_store_explicit(&sc->state, LG_SNAP_RELEASE, memory_order_release);
    uint64_t waited = 0;
    while (atomic_load_explicit(&sc->state, memory_order_acquire) == LG_SNAP_RELEASE)
        if (!wait_on_collector(&waited, 100000)) break;
    atomic_store(&sc->state, LG_SNAP_IDLE);
}

/* Takes a snapshot through the collector. Returns its id, or a negative errno (-ENOTSUP when
 * no collector can read this process, -EBUSY when another snapshot is under way). */
static int take_snapshot(uint32_t reason, const ucontext_t *self_uc, uint64_t self_sp)
{
    if (atomic_load(&g_state) != ST_TRACING || !g_region) return -ENOTSUP;
    if (g_region->hdr.pid != getpid()) return -ENOTSUP; /* a vfork child: not its region */
    bool interrupted = tls.guard > 0; /* a signal stopped this thread inside the shim */
    if (atomic_exchange(&g_snap_busy, 1)) return -EBUSY;
    tls.guard++;
    /* exit() with other threads: stdio's list lock first */
    void (*list_unlock)(void) = NULL;
    bool hold = reason == LG_SNAP_EXIT && g_exit_flushes && !g_freeres_ran && !interrupted &&
                hold_for_freeres(&list_unlock);
    lg_snap_ctl_t *sc = &g_region->snap;
    pid_t self = (pid_t)syscall(SYS_gettid);
    lg_snap_thread_t mine[LG_SNAP_SELF_ENTRIES];
    uint32_t nmine = describe_self(mine, self, self_uc, self_sp); /* before the others stop */
    /* The collector stops them (ptrace, unfelt); else the stop signal does. */
    bool by_collector = collector_stop(sc, self);
    struct sigaction sa = {.sa_sigaction = stop_handler, .sa_flags = SA_SIGINFO | SA_RESTART}, old;
    bool installed = false;
    if (by_collector) {
        if (hold) mark_unsafe(sc);
    } else {
        sigfillset(&sa.sa_mask);
        installed = sigaction(g_stop_signal, &sa, &old) == 0;
        if (installed) stop_others(sc, self);
        else sc->nthreads = 0; /* denied (a seccomp filter): the others run on, unstopped */
    }
    if (hold && sc->nthreads) {
        /* freeres records its frees, and the watchdog runs */
        uint64_t deadline = now_ns(CLOCK_MONOTONIC) + LG_FREERES_HOLD_NS;
        if (by_collector) atomic_store(&sc->freeres_until, deadline);
        else atomic_store(&g_hold_deadline, deadline);
        tls.guard--;
        hold = freeres_others_stopped(sc);
        tls.guard++;
        atomic_store(&g_hold_deadline, 0);
        atomic_store(&sc->freeres_until, 0);
    } else if (hold && by_collector) {
        /* no other thread left (the last one ended after run_freeres counted it): alone */
        tls.guard--;
        freeres_now();
        tls.guard++;
        hold = false;
    } else {
        hold = false;
    }
    uint32_t id = atomic_fetch_add(&g_snap_next_id, 1);
    rc_fold_counts();
    /* The runtimes' objects, while nothing else runs; not from a signal (a hook or a
     * collection may have been interrupted). */
    if (reason == LG_SNAP_EXIT || reason == LG_SNAP_CHECK) walk_runtimes(id);

    for (uint32_t i = 0; i < nmine; i++) sc->threads[sc->nthreads++] = mine[i];

    sc->nexcl = 0;
    sc->excl_start[sc->nexcl] = (uintptr_t)g_region;
    sc->excl_end[sc->nexcl++] = (uintptr_t)g_region + LG_REGION_SIZE;
    sc->nexcl += internal_ranges(&sc->excl_start[sc->nexcl], &sc->excl_end[sc->nexcl],
                                 LG_SNAP_MAX_EXCL - 2);
    if (g_shim_data_hi) {
        sc->excl_start[sc->nexcl] = g_shim_data_lo;
        sc->excl_end[sc->nexcl++] = g_shim_data_hi;
    }
    sc->id = id;
    sc->reason = reason;
    sc->seq = atomic_load(&g_region->hdr.seq);
    int rc = (int)id;
    uint64_t waited = 0;
    atomic_store_explicit(&sc->state, LG_SNAP_REQUESTED, memory_order_release);
    /* The collector polls every millisecond; wait as long as it lives. */
    for (;;) {
        uint32_t st = atomic_load_explicit(&sc->state, memory_order_acquire);
        if (st == LG_SNAP_DONE) break;
        if (st == LG_SNAP_FAILED) {
            rc = -EIO;
            break;
        }
        if (!wait_on_collector(&waited, 200000)) {
            rc = -ENOTSUP;
            break;
        }
    }
    /* held: until exit_group (see "exit with other threads") */
    if (by_collector) {
        collector_release(sc, hold);
    } else {
        atomic_store(&sc->state, LG_SNAP_IDLE);
        if (!hold) { /* held threads stay stopped until exit_group */
            atomic_fetch_add(&sc->release, 1);
            futex(&sc->release, FUTEX_WAKE, INT32_MAX);
            for (int i = 0; i < 10000 && atomic_load(&sc->inside) > 0; i++) {
                struct timespec ts = {0, 100000};
                nanosleep(&ts, NULL);
            }
        }
        if (installed) sigaction(g_stop_signal, &old, NULL);
    }
    if (list_unlock) list_unlock();
    tls.guard--;
    atomic_store(&g_snap_busy, 0);
    return rc;
}

/* The public on-demand check (include/leakgraph/leakgraph.h). */
EXPORT int lg_check_now(void)
{
    /* the caller's stack pointer: just above this function's return address */
    return take_snapshot(LG_SNAP_CHECK, NULL, (uint64_t)(uintptr_t)__builtin_frame_address(0) + 16);
}

static void check_signal_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    int e = errno;
    take_snapshot(LG_SNAP_SIGNAL, uc, 0);
    errno = e;
}

/* A fatal signal whose action the program left the default: SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT (stopped the normal way: ^C, kill, a closed terminal) or a crash. As Memcheck runs
 * its leak search when a program dies by a default-action signal, take the final check, say
 * how the image ends (preloaded by hand the shim waits until its collector wrote it; under
 * `leakgraph run` the collector sees the death), then die by the same signal: SA_RESETHAND
 * restored the default action, and the signal raised again stays pending (blocked in its own
 * handler) until this handler returns, so the wait status is the one the program would have
 * had (a second signal meanwhile kills at once). Neither allocates. */
static void fatal_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    int e = errno;
    if (g_exit_check) take_snapshot(LG_SNAP_FATAL, uc, 0);
    image_ending(LG_END_SIGNAL, sig);
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
    errno = e;
}

/* At start (the constructor, before main): the fatal handler for each signal above whose
 * action is still the default. A signal the program inherited ignored stays ignored, and a
 * handler the program installs later replaces ours (a program that asks sees ours meanwhile,
 * where it would see SIG_DFL). */
static void install_fatal_handlers(void)
{
    static const int sigs[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGSEGV,
                               SIGBUS,  SIGFPE,  SIGILL,  SIGABRT, SIGSYS, SIGTRAP};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction cur;
        if (sigs[i] == g_check_signal || sigs[i] == g_stop_signal) continue;
        if (sigaction(sigs[i], NULL, &cur) != 0 || cur.sa_handler != SIG_DFL) continue;
        struct sigaction sa = {.sa_sigaction = fatal_handler,
                               .sa_flags = SA_RESETHAND | SA_SIGINFO};
        sigaction(sigs[i], &sa, NULL);
    }
}
