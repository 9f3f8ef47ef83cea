/* shim/fork_exec.c: the process image changes. fork: the parent drains (self mode) or
 * pre-creates the child's region (run mode) so the collector knows a child is coming; the
 * child starts its own region and module map, sequenced after the parent's fork point. exec
 * and exit: image_ending() marks the region and, in self mode, finishes the trace; a failed
 * exec resumes. The destructor drains the rings in self mode in case the exit handler never
 * runs. The child has one thread: it must never wait on a lock another thread of the parent
 * held at the fork (it resets the drain and module locks), and it must never write into the
 * parent's region (it only unmaps its own view of it). */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

static void fork_prepare(void)
{
    if (!tracing()) return;
    g_fork_seq = atomic_load(&g_region->hdr.seq); /* the child inherits what came before */
    if (g_self) {
        if (g_collector) { /* on disk before the child exists: its check replays it */
            snprintf(g_parent_trace, sizeof g_parent_trace, "%s", lg_collector_path(g_collector));
            tls.guard++;
            take_drain_lock(false);
            lg_collector_drain(g_collector);
            lg_collector_flush(g_collector);
            atomic_store(&g_drain_lock, 0);
            tls.guard--;
        }
        return;
    }
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
    lg_collector_t *old_col = g_collector;
    g_collector = NULL;
    atomic_store(&g_drain_lock, 0);
    pthread_mutex_init(&g_mod_lock, NULL);
    if (!start_process(parent, g_fork_region)) {
        /* g_region may still be the parent's (shared with it under leakgraph run): marking
         * that one disabled would end the parent's tracing, not ours. */
        if (g_region == old) g_region = NULL;
        stop_tracing(NULL);
    } else {
        g_nmods = 0;
        g_mod_adds = g_mod_subs = ~0ull;
        scan_modules_if_changed();
    }
    g_fork_region = NULL;
    lg_collector_close(old_col);
    if (old && old != g_region) lg_region_unmap(old); /* the parent's; only our view goes */
    tls.guard--;
}

/* The process image ends (exit, _exit, a fatal signal: `status` is then the signal) or is
 * replaced (exec). In self mode the trace is finished here; in run mode the collector
 * finishes it once the process is gone (and learns a death by signal from the process). */
static void image_ending(int reason, int status)
{
    if (atomic_load(&g_state) != ST_TRACING || !g_region) return;
    if (reason == LG_END_SIGNAL && !g_self) return;
    tls.guard++;
    if (have_pending()) write_pending(); /* a signal handler's events (record.c) */
    rc_fold_counts();
    if (reason == LG_END_EXIT) {
        g_region->hdr.exit_status = status;
        atomic_store(&g_region->hdr.state, LG_RS_EXITED);
    } else if (reason == LG_END_EXEC) {
        atomic_store(&g_region->hdr.state, LG_RS_EXECING);
    }
    if (g_self && g_collector) {
        self_drain(true);
        take_drain_lock(false);
        if (reason == LG_END_SIGNAL)
            lg_collector_finish(g_collector, reason, 0, status);
        else
            lg_collector_finish(g_collector, reason, status, 0);
        atomic_store(&g_drain_lock, 0);
        if (reason != LG_END_EXEC) atomic_store(&g_state, ST_OFF);
    }
    tls.guard--;
}

static void exec_failed(void)
{
    if (atomic_load(&g_state) == ST_TRACING && g_region)
        atomic_store(&g_region->hdr.state, LG_RS_RUNNING);
}

/* Destructors run before on_exit_status (see there). In self mode, move what the rings hold
 * into the trace now, in case the process never reaches the handler. */
__attribute__((destructor(101))) static void lg_fini(void)
{
    if (g_self && atomic_load(&g_state) == ST_TRACING) {
        tls.guard++;
        self_drain(true);
        tls.guard--;
    }
}
