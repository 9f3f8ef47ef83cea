/* shim/lifecycle.c: start-up and the states of the shim (g_state, internal.h).
 * The first hooked call, or the constructor, runs slow_enter(): UNINIT -> RESOLVING (dlsym
 * of every hook, served by the bootstrap arena) -> STARTING (environment, mode, region,
 * trace, signal handlers) -> TRACING, or OFF for good. enter() is the wrappers' one test:
 * tracing and not re-entered. on_exit_status() is the last code of a normal exit: the exit
 * check, then the end of the trace. The LEAKGRAPH_* settings are read and validated here: one
 * that cannot serve gets one line on stderr and its default (a path that would be cut: no
 * tracing). Start-up may allocate (getenv, dlsym, dladdr) because it runs with the guard held,
 * before TRACING; it must never record, and a failure must leave the shim OFF with one
 * message, never a crash. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* A LEAKGRAPH_* setting that cannot serve: one line on stderr (per process image, as each
 * image reads its environment), e.g. "leakgraph[PID]: LEAKGRAPH_STOP_SIGNAL=9: cannot be
 * caught; using RTMAX-1". Not say_once: that stays free for the shim's own trouble. */
static void say_setting(const char *name, const char *value, const char *why, const char *then)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "leakgraph[%d]: %s=%.200s: %s; %s\n", (int)getpid(), name,
                     value, why, then);
    if (n <= 0) return;
    ssize_t w = write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    (void)w;
}

/* The number the setting `name` holds, in 0..max (decimal, or hex after 0x); `dflt` if it is
 * not set, or `dflt` after a message when it is not such a number. */
static uint64_t number_setting(const char *name, uint64_t dflt, uint64_t max, const char *then)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    bool hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
    const char *digits = hex ? v + 2 : v;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(digits, &end, hex ? 16 : 10);
    bool digit0 = hex ? isxdigit((unsigned char)digits[0]) : isdigit((unsigned char)digits[0]);
    if (digit0 && !*end && errno != ERANGE && n <= max) return n;
    char why[96];
    snprintf(why, sizeof why, "not a number from 0 to %llu", (unsigned long long)max);
    say_setting(name, v, why, then);
    return dflt;
}

/* Signal settings (LEAKGRAPH_STOP_SIGNAL, LEAKGRAPH_CHECK_SIGNAL): a number, or a name with
 * or without SIG (USR2, SIGUSR2, RTMIN+2, RTMAX-1). */
static const struct {
    const char *name;
    int sig;
} g_signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},   {"SYS", SIGSYS},
#ifdef SIGPWR
    {"PWR", SIGPWR},
#endif
};

/* The signal `v` names, or 0 if it names none. */
static int parse_signal(const char *v)
{
    char *end;
    if (v[0] >= '0' && v[0] <= '9') {
        long n = strtol(v, &end, 10);
        return *end || n > 1000 ? 0 : (int)n; /* a number above 1000 is out of range anyway */
    }
    if (!strncmp(v, "SIG", 3)) v += 3;
    for (size_t i = 0; i < sizeof g_signal_names / sizeof *g_signal_names; i++)
        if (!strcmp(v, g_signal_names[i].name)) return g_signal_names[i].sig;
    bool min = !strncmp(v, "RTMIN", 5), max = !strncmp(v, "RTMAX", 5);
    if (!min && !max) return 0;
    if (!v[5]) return min ? SIGRTMIN : SIGRTMAX;
    if (v[5] != (min ? '+' : '-') || v[6] < '0' || v[6] > '9') return 0;
    long n = strtol(v + 6, &end, 10);
    if (*end || n > SIGRTMAX - SIGRTMIN) return 0;
    return min ? SIGRTMIN + (int)n : SIGRTMAX - (int)n;
}

/* Why signal `sig` cannot serve as the stop or the check signal, or NULL if it can: it must be
 * one the shim can catch, that nothing else sends for its own reasons, and whose handler
 * returning is harmless (a crash signal's faulting instruction would run again). */
static const char *signal_unfit(int sig, int other)
{
    static char range[64];
    if (sig < 1 || sig > SIGRTMAX) {
        snprintf(range, sizeof range, "not a signal (1-%d, or a name such as USR2)", SIGRTMAX);
        return range;
    }
    if (sig > 31 && sig < SIGRTMIN) return "reserved by the C library's threads";
    switch (sig) {
    case SIGKILL:
    case SIGSTOP: return "cannot be caught";
    case SIGCONT:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU: return "a job-control signal";
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGTRAP:
    case SIGSYS:
    case SIGABRT: return "a crash signal";
    case SIGCHLD: return "sent whenever a child process ends";
    }
    if (sig == other) return "the same as the stop signal (LEAKGRAPH_STOP_SIGNAL)";
    return NULL;
}

/* The signal the setting `name` asks for, `dflt` if it is not set, or `dflt` after a message
 * saying why it cannot serve (`other`: a signal it must differ from, or 0). */
static int signal_setting(const char *name, int dflt, int other, const char *fallback)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    int sig = parse_signal(v);
    const char *why = signal_unfit(sig, other);
    if (!why) return sig;
    say_setting(name, v, why, fallback);
    return dflt;
}

static int shim_range_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t me = (uintptr_t)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (me >= s && me < e) {
            g_shim_lo = s;
            g_shim_hi = e;
            for (int k = 0; k < info->dlpi_phnum; k++) { /* our .data/.bss: never a root */
                const ElfW(Phdr) *w = &info->dlpi_phdr[k];
                if (w->p_type != PT_LOAD || !(w->p_flags & PF_W)) continue;
                uintptr_t ws = info->dlpi_addr + w->p_vaddr;
                g_shim_data_lo = ws & ~(uintptr_t)4095;
                g_shim_data_hi = (ws + w->p_memsz + 4095) & ~(uintptr_t)4095;
            }
            return 1;
        }
    }
    return 0;
}

/* ---- own walks under a seccomp filter ----------------------------------------------------
 * libunwind validates every address unw_step reads (mincore, or msync, then a write to its
 * pipe): system calls a sandboxed program may have forbidden itself, so its exit check died
 * by SIGSYS. libunwind 1.6 has no setting to turn the validation off, but it reads through
 * the local address space's accessor table: init() puts own_access_mem there. For every
 * walk but the shim's own walks under a filter it calls libunwind's accessor (the program's
 * walks and the shim's walks without a filter are validated as before). In an own walk under
 * a filter it reads an address only when it lies in this thread's stack above the walk's
 * start, [own_lo, own_hi), or in a loaded module's segment (dl_iterate_phdr: no system
 * call), else refuses it (the walk ends there, own_refused is set): a frame guessed from
 * garbage cannot fault. The stack's end without a system call: the main thread's is the
 * page of __libc_stack_end, at most RLIMIT_STACK (read at start-up) below it; another
 * glibc thread's stack ends at its thread descriptor (pthread_self(): glibc puts it at the
 * top of the thread's stack block). A stack pointer outside both (an alternate signal
 * stack) makes the range empty. */
extern void *__libc_stack_end;
static int (*g_unw_access_mem)(unw_addr_space_t, unw_word_t, unw_word_t *, int, void *);
static uintptr_t g_main_self;   /* pthread_self() of the thread that started tracing */
static uintptr_t g_stack_limit; /* RLIMIT_STACK at start-up, at most 1 GiB */

static int module_has_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    const uintptr_t *a = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (a[0] >= s && a[1] <= e) return 1;
    }
    return 0;
}

static int own_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int wr,
                          void *arg)
{
    if (wr || !tls.own_walk) return g_unw_access_mem(as, addr, val, wr, arg);
    uintptr_t a[2] = {(uintptr_t)addr, (uintptr_t)addr + sizeof *val};
    if (a[1] < a[0] ||
        !((a[0] >= tls.own_lo && a[1] <= tls.own_hi) || dl_iterate_phdr(module_has_cb, a))) {
        tls.own_refused = true;
        return -UNW_EINVAL;
    }
    *val = *(const unw_word_t *)addr;
    return 0;
}

/* Before the shim walks this thread's own frames from `sp`, the lowest stack address the
 * walk reads (its context's): under a filter, the walk reads without a system call (above).
 * Returns true if so. */
static bool own_walk_begin(uintptr_t sp)
{
    if (!atomic_load(&g_sandboxed) || !g_unw_access_mem) return false;
    uintptr_t hi = 0, self = (uintptr_t)pthread_self();
    if (self == g_main_self) {
        uintptr_t top = ((uintptr_t)__libc_stack_end | 4095u) + 1;
        if (sp < top && top - sp <= g_stack_limit) hi = top;
    } else if (sp < self && self - sp <= g_stack_limit) {
        hi = self;
    }
    tls.own_lo = sp;
    tls.own_hi = hi;
    tls.own_refused = hi == 0;
    tls.own_walk = true;
    return true;
}

/* After it: true if the walk was cut (a read was refused, or the stack was not found). */
static bool own_walk_end(void)
{
    bool cut = tls.own_walk && tls.own_refused;
    tls.own_walk = false;
    return cut;
}

/* Once, on stderr (write(2) only: say_once would also open a file): a check under a filter
 * described the checking thread from less than usual. */
static void say_sandboxed(void)
{
    static _Atomic int said;
    if (atomic_exchange(&said, 1)) return;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "leakgraph[%d]: a seccomp filter is installed: the leak "
                     "check could not walk all of this thread's frames without a system call; "
                     "it may be less exact\n", (int)getpid());
    if (n > 0 && (size_t)n < sizeof buf) {
        ssize_t w = write(2, buf, (size_t)n);
        (void)w;
    }
}

/* The stack pointer of the code that called exit() (or returned from main): frames below it
 * are dead, though glibc's exit path runs over them. 0 if it cannot be found. */
static uint64_t exit_caller_sp(void)
{
    void *exit_fn = dlsym(RTLD_DEFAULT, "exit");
    unw_context_t ctx;
    unw_cursor_t cur;
    if (!exit_fn || unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0) return 0;
    own_walk_begin((uintptr_t)&ctx); /* the walk reads the context, then the frames above */
    uint64_t found = 0;
    bool in_exit = false;
    for (int depth = 0; depth < 64 && unw_step(&cur) > 0; depth++) {
        unw_word_t ip, sp;
        Dl_info info;
        unw_get_reg(&cur, UNW_REG_IP, &ip);
        unw_get_reg(&cur, UNW_REG_SP, &sp);
        bool here = dladdr((void *)(uintptr_t)(ip - 1), &info) && info.dli_saddr == exit_fn;
        if (in_exit && !here) {
            found = sp;
            break;
        }
        in_exit |= here;
    }
    if (own_walk_end()) say_sandboxed();
    return found;
}

/* Registered from the shim's constructor, which runs before __libc_start_main registers
 * _dl_fini: so this handler runs after every atexit handler and every destructor, the last
 * code of a normal exit. That is where the status is known and the trace is finished. */
static void on_exit_status(int status, void *arg)
{
    (void)arg;
    atomic_store(&g_exit_status, status & 0xff);
    if (atomic_load(&g_state) == ST_TRACING && g_exit_check) {
        uint64_t sp = exit_caller_sp();
        g_exit_flushes = true; /* glibc's stdio flush follows (check.c: exit with other threads) */
        tls.guard++;
        scan_modules_if_changed(); /* loaded since the last dlopen/dlsym/dlclose; before freeres
                                    * unloads any (its dlclose is not the wrapped one) */
        tls.guard--;
        if (!atomic_load(&g_sandboxed)) run_freeres(); /* its /proc read: a filter may deny it */
        take_snapshot(LG_SNAP_EXIT, NULL, sp);
    }
    image_ending(LG_END_EXIT, status & 0xff);
}

static bool resolve_all(void)
{
    bool ok = true;
#define X(ret, name, params, req)                                                          \
    real_##name = (lg_##name##_fn)dlsym(RTLD_NEXT, #name);                                  \
    if (!real_##name && req) ok = false;
    LG_HOOKS(X)
#undef X
    return ok;
}

/* Sets up the region for the current process image and hands it to the collector.
 * `fork_parent_pid` is the parent's pid when called in a forked child. */
static bool start_process(pid_t fork_parent_pid, lg_region_t *precreated)
{
    lg_stream_t *streams = new_streams();
    if (!streams) return false;
    lg_region_t *r = precreated;
    if (!r) r = create_session_region();
    if (!r) {
        char why[256];
        int e = errno;
        say_once("cannot create the trace region: %s; not tracing",
                 e == ENOMEM ? no_room_why(LG_REGION_SIZE, e, why, sizeof why) : strerror(e));
        return false;
    }
    /* The description is complete before the state says RUNNING: a collector reads it then. */
    init_region_header(r, precreated ? LG_RS_PREFORK : LG_RS_RUNNING);
    r->hdr.fork_seq = fork_parent_pid ? g_fork_seq : 0;
    describe_process(r, fork_parent_pid);
    atomic_store(&r->hdr.state, LG_RS_RUNNING);
    g_region = r;
    g_streams = streams;
    atomic_fetch_add(&g_gen, 1);
    publish_region(r);
    return true;
}

/* The mode, from the environment: run mode when `leakgraph run` set LEAKGRAPH_SESSION (and
 * LEAKGRAPH_COLLECTOR, its pid), else preloaded by hand: the shim starts its own collector
 * (own_collector.c), which writes LEAKGRAPH_OUTPUT (default leakgraph.<pid>.lgt in the
 * working directory), made absolute. Returns false, after a message,
 * when a setting cannot serve: a path would be cut (the trace must not go elsewhere), a pid is
 * not one; the shim then does not trace. */
static bool choose_mode(void)
{
    const char *session = getenv("LEAKGRAPH_SESSION");
    const char *output = getenv("LEAKGRAPH_OUTPUT");
    char why[64];
    if (session && *session) {
        if (strlen(session) >= sizeof g_session) {
            snprintf(why, sizeof why, "longer than %zu bytes", sizeof g_session - 1);
            say_setting("LEAKGRAPH_SESSION", session, why, "not tracing");
            return false;
        }
        strcpy(g_session, session);
        g_collector_pid = (pid_t)number_setting("LEAKGRAPH_COLLECTOR", 0, INT32_MAX,
                                                "its liveness is not checked");
        return true;
    }
    g_attached = true;
    char def[64];
    if (!output || !*output) {
        snprintf(def, sizeof def, "leakgraph.%d.lgt", (int)getpid());
        output = def;
    }
    char cwd[900] = "";
    if (output[0] != '/' && !getcwd(cwd, sizeof cwd)) {
        say_setting("LEAKGRAPH_OUTPUT", output, "a relative path, and the working directory "
                    "cannot be read (or is longer than 899 bytes)", "not tracing");
        return false;
    }
    int n = snprintf(g_output, sizeof g_output, "%s%s%s", cwd, cwd[0] ? "/" : "", output);
    if (n < 0 || (size_t)n >= sizeof g_output) {
        snprintf(why, sizeof why, "longer than %zu bytes (as an absolute path)", sizeof g_output - 1);
        say_setting("LEAKGRAPH_OUTPUT", output, why, "not tracing");
        return false;
    }
    return true;
}

/* Preloaded by hand: the leakgraph program that collects, LEAKGRAPH_BIN, else the one an
 * installation or the build tree puts beside the shim: ../bin/leakgraph (the shim in lib/),
 * ../../bin/leakgraph (in a private lib/leakgraph/), or leakgraph in its own directory.
 * False, after saying why, when there is none: the shim does not trace then. */
static bool find_lg_bin(void)
{
    const char *bin = getenv("LEAKGRAPH_BIN");
    if (bin && *bin) {
        if (strlen(bin) >= sizeof g_lg_bin || access(bin, X_OK) != 0) {
            say_setting("LEAKGRAPH_BIN", bin, "not an executable file", "not tracing");
            return false;
        }
        snprintf(g_lg_bin, sizeof g_lg_bin, "%s", bin);
        return true;
    }
    Dl_info di;
    const char *slash = NULL;
    if (dladdr((void *)(uintptr_t)&find_lg_bin, &di) && di.dli_fname)
        slash = strrchr(di.dli_fname, '/');
    static const char *const rel[] = {"/../bin/leakgraph", "/../../bin/leakgraph", "/leakgraph"};
    for (size_t i = 0; slash && i < sizeof rel / sizeof *rel; i++) {
        int n = snprintf(g_lg_bin, sizeof g_lg_bin, "%.*s%s", (int)(slash - di.dli_fname),
                         di.dli_fname, rel[i]);
        if (n > 0 && (size_t)n < sizeof g_lg_bin && access(g_lg_bin, X_OK) == 0) return true;
    }
    g_lg_bin[0] = 0;
    say_once("preloaded by hand, libleakgraph.so starts the leakgraph program as its collector, "
             "and there is none beside it (%s): set LEAKGRAPH_BIN; not tracing",
             slash ? di.dli_fname : "libleakgraph.so");
    return false;
}

static void init(void)
{
    tls.guard++;
    if (!resolve_all()) {
        atomic_store(&g_state, ST_OFF);
        say_once("cannot resolve the C library's allocator; not tracing");
        tls.guard--;
        return;
    }
    atomic_store(&g_state, ST_STARTING);
    const char *dis = getenv("LEAKGRAPH_DISABLE");
    if ((dis && *dis && strcmp(dis, "0") != 0) || !choose_mode()) {
        atomic_store(&g_state, ST_OFF);
        tls.guard--;
        return;
    }
    dl_iterate_phdr(shim_range_cb, (void *)(uintptr_t)&init);
    if (g_attached && (!find_lg_bin() || !start_own_collector())) {
        atomic_store(&g_state, ST_OFF);
        tls.guard--;
        return;
    }
    /* before the process is described (PROCESS key RC_DEPTH) */
    g_rc_depth = (int)number_setting("LEAKGRAPH_RC_STACK_DEPTH", LG_RC_DEPTH_DEFAULT, LG_MAX_FRAMES,
                                     "using 12");
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    unw_accessors_t *acc = unw_get_accessors(unw_local_addr_space); /* own walks (above) */
    if (acc && acc->access_mem) {
        struct rlimit rl;
        g_stack_limit = (uintptr_t)1 << 30;
        if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur < g_stack_limit)
            g_stack_limit = (uintptr_t)rl.rlim_cur;
        g_main_self = (uintptr_t)pthread_self();
        g_unw_access_mem = acc->access_mem;
        acc->access_mem = own_access_mem;
    }
    lg_unwind_init(); /* on failure every capture is unw_backtrace's */
    if (pthread_key_create(&g_thread_key, release_ring) != 0 || !start_process(0, NULL)) {
        atomic_store(&g_state, ST_OFF);
        tls.guard--;
        return;
    }
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    on_exit(on_exit_status, NULL);
    g_rc_counts_only = g_rc_depth == 0;
    g_exit_check = number_setting("LEAKGRAPH_EXIT_CHECK", 1, 1, "taking it") != 0;
    g_scrub_max = (size_t)number_setting("LEAKGRAPH_SCRUB_MAX", LG_SCRUB_MAX_DEFAULT, SIZE_MAX,
                                         "zeroing every byte");
    g_stop_signal = signal_setting("LEAKGRAPH_STOP_SIGNAL", SIGRTMAX - 1, 0, "using RTMAX-1");
    g_check_signal = signal_setting("LEAKGRAPH_CHECK_SIGNAL", 0, g_stop_signal, "no check signal");
    install_fatal_handlers();
    if (g_check_signal > 0) {
        struct sigaction sa = {.sa_sigaction = check_signal_handler,
                               .sa_flags = SA_RESTART | SA_SIGINFO};
        if (sigaction(g_check_signal, &sa, NULL) == 0) /* from now on it may be sent */
            atomic_store(&g_region->hdr.check_signal, g_check_signal);
    }
    atomic_store(&g_state, ST_TRACING);
    scan_modules_if_changed();
    tls.guard--;
}

/* The slow path of every wrapper: first call, bootstrap, or not tracing. Returns true when
 * the caller should record (we are tracing and not re-entered). */
static bool slow_enter(void)
{
    int st = atomic_load(&g_state);
    if (st == ST_UNINIT) {
        int expected = ST_UNINIT;
        if (atomic_compare_exchange_strong(&g_state, &expected, ST_RESOLVING)) {
            init();
        } else {
            while (atomic_load(&g_state) == ST_RESOLVING && tls.guard == 0) sched_yield();
        }
        st = atomic_load(&g_state);
    }
    return st == ST_TRACING && tls.guard == 0;
}

static inline bool enter(void)
{
    if (LIKELY(tracing()) && LIKELY(tls.guard == 0)) return true;
    return slow_enter();
}
