/* shim/fork_exec.c: the process image changes. fork: the parent pre-creates the child's
 * region so the collector knows a child is coming; the child starts its own region and module
 * map, sequenced after the parent's fork point. exec and exit: image_ending() marks the
 * region; preloaded by hand, an exit waits until the collector wrote the trace's end
 * (own_collector.c); a failed exec resumes. The child has one thread: it must never wait on
 * a lock another thread of the parent held at the fork (it resets the module lock), and it
 * must never write into the parent's region (it only unmaps its own view of it). */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

static void fork_prepare(void)
{
    if (!tracing()) return;
    g_fork_seq = atomic_load(&g_region->hdr.seq); /* the child inherits what came before */
    tls.guard++;
    /* Pre-create the child's region while we can still tell the collector about it: if this
     * parent exits at once, the collector already knows a child is coming. */
    lg_region_t *r = create_session_region();
    if (r) {
        init_region_header(r, LG_RS_PREFORK);
        r->hdr.fork_parent = getpid();
        r->hdr.collector_pid = g_collector_pid;
        publish_region(r);
    }
    g_fork_region = r;
    tls.guard--;
}

static void fork_parent(void)
{
    if (g_fork_region) lg_region_unmap(g_fork_region); /* the child owns it now */
    g_fork_region = NULL;
}

static void fork_child(void)
{
    if (!tracing()) return;
    tls.guard++;
    tls.tid = 0;
    pid_t parent = getppid();
    lg_region_t *old = g_region;
    pthread_mutex_init(&g_mod_lock, NULL);
    if (g_attached) allow_collector(); /* Yama: the parent's exception is not inherited */
    if (!start_process(parent, g_fork_region)) {
        /* g_region may still be the parent's (shared with it under leakgraph run): marking
         * that one disabled would end the parent's tracing, not ours. */
        if (g_region == old) g_region = NULL;
        stop_tracing(NULL);
    } else {
        g_nmods = 0;
        g_mod_adds = g_mod_subs = ~0ull;
        scan_modules_if_changed();
        if (g_check_signal > 0) /* the handler is inherited */
            atomic_store(&g_region->hdr.check_signal, g_check_signal);
    }
    g_fork_region = NULL;
    if (old && old != g_region) lg_region_unmap(old); /* the parent's; only our view goes */
    tls.guard--;
}

/* The process image ends (exit, _exit, a fatal signal: `status` is then the signal) or is
 * replaced (exec). Under `leakgraph run` the collector finishes the trace once the process is
 * gone (and learns a death by signal from its wait status); preloaded by hand no one waits for
 * the process, so it says how it ends and waits until its collector wrote the end of the
 * trace (own_collector.c), and traces nothing after; before an exec too, and if the exec
 * fails, the collector takes that end back. */
static void image_ending(int reason, int status)
{
    if (atomic_load(&g_state) != ST_TRACING || !g_region) return;
    if (reason == LG_END_SIGNAL && !g_attached) return;
    if (g_region->hdr.pid != getpid()) return; /* a vfork child: the region is its parent's */
    tls.guard++;
    if (have_pending()) write_pending(); /* a signal handler's events (record.c) */
    rc_fold_counts();
    if (reason == LG_END_EXEC) {
        atomic_store(&g_region->hdr.state, LG_RS_EXECING);
        if (g_attached) wait_for_finish(); /* provisional: taken back if the exec fails */
    } else {
        if (reason == LG_END_SIGNAL) g_region->hdr.end_signal = status;
        else g_region->hdr.exit_status = status;
        atomic_store(&g_region->hdr.state, LG_RS_EXITED);
        if (g_attached) {
            wait_for_finish();
            atomic_store(&g_state, ST_OFF);
        }
    }
    tls.guard--;
}

static void exec_failed(void)
{
    if (atomic_load(&g_state) == ST_TRACING && g_region) {
        atomic_store(&g_region->hdr.finish, LG_FIN_NONE);
        atomic_store(&g_region->hdr.state, LG_RS_RUNNING);
    }
}
