/* shim/lifecycle.c: start-up and the states of the shim (g_state, internal.h).
 * The first hooked call, or the constructor, runs slow_enter(): UNINIT -> RESOLVING (dlsym
 * of every hook, served by the bootstrap arena) -> STARTING (environment, mode, region,
 * trace, signal handlers) -> TRACING, or OFF for good. enter() is the wrappers' one test:
 * tracing and not re-entered. on_exit_status() is the last code of a normal exit: the exit
 * check, then the end of the trace. Start-up may allocate (getenv, dlsym, dladdr) because it
 * runs with the guard held, before TRACING; it must never record, and a failure must leave the
 * shim OFF with one message, never a crash. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

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

/* The stack pointer of the code that called exit() (or returned from main): frames below it
 * are dead, though glibc's exit path runs over them. 0 if it cannot be found. */
static uint64_t exit_caller_sp(void)
{
    void *exit_fn = dlsym(RTLD_DEFAULT, "exit");
    unw_context_t ctx;
    unw_cursor_t cur;
    if (!exit_fn || unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0) return 0;
    bool in_exit = false;
    for (int depth = 0; depth < 64 && unw_step(&cur) > 0; depth++) {
        unw_word_t ip, sp;
        Dl_info info;
        unw_get_reg(&cur, UNW_REG_IP, &ip);
        unw_get_reg(&cur, UNW_REG_SP, &sp);
        bool here = dladdr((void *)(uintptr_t)(ip - 1), &info) && info.dli_saddr == exit_fn;
        if (in_exit && !here) return sp;
        in_exit |= here;
    }
    return 0;
}

/* Registered from the shim's constructor, which runs before __libc_start_main registers
 * _dl_fini: so this handler runs after every atexit handler and every destructor, the last
 * code of a normal exit. That is where the status is known and the trace is finished. */
static void on_exit_status(int status, void *arg)
{
    (void)arg;
    atomic_store(&g_exit_status, status & 0xff);
    if (atomic_load(&g_state) == ST_TRACING) {
        uint64_t sp = exit_caller_sp();
        run_freeres();
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

/* Sets up the region (and in self mode the trace file) for the current process image.
 * `fork_parent_pid` is the parent's pid when called in a forked child. */
static bool start_process(pid_t fork_parent_pid, lg_region_t *precreated)
{
    lg_stream_t *streams = new_streams();
    if (!streams) return false;
    lg_region_t *r = precreated;
    if (!r) r = g_self ? lg_region_create_private() : create_session_region();
    if (!r) {
        say_once("cannot create the trace region: %s; not tracing", strerror(errno));
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
    if (g_self) {
        int rc = open_self_trace();
        if (rc) {
            say_once("cannot create the trace %s: %s; not tracing", g_output, strerror(-rc));
            return false;
        }
    } else {
        publish_region(r);
    }
    return true;
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
    const char *session = getenv("LEAKGRAPH_SESSION");
    const char *output = getenv("LEAKGRAPH_OUTPUT");
    const char *cpid = getenv("LEAKGRAPH_COLLECTOR");
    if (dis && *dis && strcmp(dis, "0") != 0) {
        atomic_store(&g_state, ST_OFF);
        tls.guard--;
        return;
    }
    if (session && *session && strlen(session) < sizeof g_session) {
        strcpy(g_session, session);
        g_collector_pid = cpid ? (pid_t)atoi(cpid) : 0;
    } else {
        g_self = true;
        char def[64];
        if (!output || !*output) {
            snprintf(def, sizeof def, "leakgraph.%d.lgt", (int)getpid());
            output = def;
        }
        if (output[0] == '/') {
            snprintf(g_output, sizeof g_output, "%s", output);
        } else {
            char cwd[900];
            if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
            snprintf(g_output, sizeof g_output, "%s/%s", cwd, output);
        }
    }
    dl_iterate_phdr(shim_range_cb, (void *)(uintptr_t)&init);
    if (g_self) { /* the binary that takes leak checks: LEAKGRAPH_BIN, else beside the shim */
        const char *bin = getenv("LEAKGRAPH_BIN");
        Dl_info di;
        if (bin && *bin) {
            snprintf(g_lg_bin, sizeof g_lg_bin, "%s", bin);
        } else if (dladdr((void *)(uintptr_t)&init, &di) && di.dli_fname) {
            const char *slash = strrchr(di.dli_fname, '/');
            if (slash)
                snprintf(g_lg_bin, sizeof g_lg_bin, "%.*s/../bin/leakgraph",
                         (int)(slash - di.dli_fname), di.dli_fname);
        }
        if (g_lg_bin[0] && access(g_lg_bin, X_OK) != 0) g_lg_bin[0] = 0;
    }
    const char *rcd = getenv("LEAKGRAPH_RC_STACK_DEPTH"); /* before the process is described */
    if (rcd && *rcd) {
        g_rc_depth = atoi(rcd);
        if (g_rc_depth < 0) g_rc_depth = 0;
        if (g_rc_depth > (int)LG_MAX_FRAMES) g_rc_depth = LG_MAX_FRAMES;
    }
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    lg_unwind_init(); /* on failure every capture is unw_backtrace's */
    if (pthread_key_create(&g_thread_key, release_ring) != 0 || !start_process(0, NULL)) {
        atomic_store(&g_state, ST_OFF);
        tls.guard--;
        return;
    }
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    on_exit(on_exit_status, NULL);
    g_rc_counts_only = g_rc_depth == 0;
    const char *scrub = getenv("LEAKGRAPH_SCRUB_MAX");
    if (scrub && *scrub) g_scrub_max = (size_t)strtoull(scrub, NULL, 0);
    g_stop_signal = parse_signal(getenv("LEAKGRAPH_STOP_SIGNAL"), SIGRTMAX - 1);
    g_check_signal = parse_signal(getenv("LEAKGRAPH_CHECK_SIGNAL"), 0);
    install_fatal_handlers(); /* self mode without the leakgraph binary: the end of the trace */
    if (g_check_signal > 0 && g_check_signal != g_stop_signal) {
        struct sigaction sa = {.sa_sigaction = check_signal_handler,
                               .sa_flags = SA_RESTART | SA_SIGINFO};
        sigaction(g_check_signal, &sa, NULL);
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
