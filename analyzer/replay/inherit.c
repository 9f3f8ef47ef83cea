/* inherit.c: a forked child's trace starts with the blocks its parent held at the fork. It
 * loads the parent's trace (read.c, recursively, at most 16 ancestors deep) up to the fork's
 * sequence number and copies its live blocks into this trace's live set. It must not fail the
 * child's load because of the parent's trace: that one may be missing or damaged. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"

/* A forked child starts with its parent's live blocks: replay the parent's trace up to the
 * fork and put its blocks (and their stacks) into this trace's live set, numbered 0 (before
 * every event of this trace; no callback sees them). read.c calls it once, right after the
 * PROCESS block. A missing parent trace is not an error of this trace: the inherited blocks
 * are then unknown, and said so. */
int lg_inherit(loader_t *L)
{
    lg_trace_t *t = L->t;
    if (!t->parent_trace || !t->fork_seq || L->stop_seq == 1) return 0;
    if (L->depth >= 16) return 0;
    char alt[4096];
    const char *path = t->parent_trace;
    if (access(path, R_OK) != 0) { /* moved with its children: look beside this trace */
        const char *slash = strrchr(t->path, '/'), *pb = strrchr(path, '/');
        snprintf(alt, sizeof alt, "%.*s%s", slash ? (int)(slash - t->path + 1) : 0, t->path,
                 pb ? pb + 1 : path);
        path = alt;
    }
    lg_trace_t pt;
    char err[512];
    if (lg_load_file(path, &pt, NULL, NULL, t->fork_seq, L->depth + 1, err, sizeof err)) {
        if (asprintf(&t->inherit_problem, "blocks inherited from pid %d are unknown: %s",
                     t->parent_pid, err) < 0)
            t->inherit_problem = NULL;
        lg_trace_free(&pt);
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; i < pt.nlive && rc == 0; i++) {
        lg_block_t b = pt.live[i];
        const lg_stack_t *ps = &pt.stacks[b.stack];
        b.stack = ps->depth ? lg_intern_stack(t, &L->stacks, ps->ips, ps->depth) : 0;
        b.seq = 0; /* before every event of this trace */
        if ((ps->depth && !b.stack) || lg_liveset_put(&L->live, &b)) rc = -ENOMEM;
        t->inherited_blocks++;
    }
    lg_trace_free(&pt);
    return rc;
}
