/* Which traces of a CI set a verdict could not see whole (see complete.h). The reasons, in the
 * order they are written on a trace's one line:
 *   1. the trace is incomplete (replay/ says why: cut, damaged, no END, out of memory);
 *   2. the shim lost events (END's LOST key): blocks may be missing or wrongly live;
 *   3. no final leak check (snapshot reason 1 at exit or 4 at a fatal signal) although the
 *      process did not exec: its blocks are only "unfreed", never classified. A cut trace
 *      without one says only "no leak check" (the cut is why); a whole one says how the
 *      process ended, which is why the check could not be taken.
 * What is not a gap: an image replaced by exec (END reason EXEC) needs no check, its address
 * space is gone and the new image is traced on its own; a forked child that leaves by _exit
 * takes its exit check like any other process; blocks a forked child inherited from a parent
 * trace that cannot be read are classified by the child's check all the same (only their
 * stacks are unknown), so that is not a gap either. */
#define _GNU_SOURCE
#include "complete.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

/* Snapshot reasons (docs/trace-format.md 6.3, LG_KEY_SNAP_REASON) that are a final check. */
enum { SNAP_AT_EXIT = 1, SNAP_AT_FATAL_SIGNAL = 4 };

static bool has_final_check(const lg_trace_t *t)
{
    for (size_t i = 0; i < t->nsnaps; i++)
        if (t->snaps[i].reason == SNAP_AT_EXIT || t->snaps[i].reason == SNAP_AT_FATAL_SIGNAL)
            return true;
    return false;
}

/* Appends to buf (which holds len bytes) "; " and a formatted part. */
static size_t add(char *buf, size_t cap, size_t len, const char *fmt, ...)
{
    if (len >= cap) return len;
    if (len) len += (size_t)snprintf(buf + len, cap - len, "; ");
    if (len >= cap) return len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    return n < 0 ? len : len + (size_t)n;
}

/* Why a whole trace's process has no final check: how it ended. */
static size_t why_no_check(char *buf, size_t cap, size_t len, const lg_trace_t *t, const char *what)
{
    switch (t->end_reason) {
    case LG_END_SIGNAL: {
        const char *abbrev = sigabbrev_np(t->signal);
        return add(buf, cap, len, "%s: the process was killed by SIG%s (signal %d) before one could be taken",
                   what, abbrev ? abbrev : "?", t->signal);
    }
    case LG_END_EXIT:
        return add(buf, cap, len, "%s: the process exited with status %d without one (the check failed, or "
                                  "LEAKGRAPH_EXIT_CHECK=0 asked for none)",
                   what, t->exit_status);
    default:
        return add(buf, cap, len, "%s: the process ended, how is not known (killed by SIGKILL, or lost by "
                                  "its collector)",
                   what);
    }
}

int lg_ci_find_gaps(lg_ci_set_t *cs, uint32_t check_number)
{
    const lg_leakset_t *ls = cs->ls;
    cs->ngaps = 0;
    cs->gap = calloc(ls->ntraces ? ls->ntraces : 1, sizeof *cs->gap);
    if (!cs->gap) return -ENOMEM;
    for (size_t ti = 0; ti < ls->ntraces; ti++) {
        const lg_trace_t *t = &ls->traces[ti];
        char buf[1024];
        size_t len = 0;
        bool check_missing = !check_number && t->end_reason != LG_END_EXEC && !has_final_check(t);
        if (!t->complete)
            len = add(buf, sizeof buf, len, "the trace is incomplete: %s", t->problem ? t->problem : "unknown reason");
        if (t->lost)
            len = add(buf, sizeof buf, len,
                      "the shim could not record %" PRIu64 " event%s (tracing stopped, or signal "
                      "handlers allocated while their thread's queue was full)",
                      t->lost, t->lost == 1 ? "" : "s");
        if (check_missing) {
            const char *what = t->nsnaps ? "no final leak check" : "no leak check";
            if (!t->complete) len = add(buf, sizeof buf, len, "%s", what);
            else len = why_no_check(buf, sizeof buf, len, t, what);
            if (t->nsnaps)
                len = add(buf, sizeof buf, len, "the verdict is on check %u, taken while it ran",
                          ls->procs[ti].snap ? ls->procs[ti].snap->id : 0);
        }
        if (!len) continue;
        if (!(cs->gap[ti] = strdup(buf))) return -ENOMEM;
        cs->ngaps++;
    }
    return 0;
}

const char *lg_ci_gap(const lg_ci_set_t *cs, size_t ti)
{
    return cs->gap && ti < cs->ls->ntraces ? cs->gap[ti] : NULL;
}
