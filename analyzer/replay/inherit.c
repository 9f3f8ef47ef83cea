/* inherit.c: a forked child's trace starts with the blocks its parent held at the fork. It
 * loads the parent's trace (read.c, recursively, at most 16 ancestors deep) up to the fork's
 * sequence number and copies its live blocks into this trace's live set. It must not fail the
 * child's load because of the parent's trace: that one may be missing or damaged. The parent's
 * path comes from the child's file, which may come from anywhere: only the file of that name
 * in the child's own directory is read, and only if it is a regular file (read.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
    /* `leakgraph run` and the shim write a tree's traces side by side (PATH, PATH.<pid>): the
       parent is the file of the PARENT_TRACE's name in the child's directory, wherever the
       PARENT_TRACE says it was (the traces may have been moved together). */
    const char *slash = strrchr(t->path, '/'), *pb = strrchr(t->parent_trace, '/');
    const char *name = pb ? pb + 1 : t->parent_trace;
    char path[4096];
    const char *why = NULL;
    if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
        why = "the name of the parent's trace has no file name";
    else if ((size_t)snprintf(path, sizeof path, "%.*s%s", slash ? (int)(slash - t->path + 1) : 0,
                              t->path, name) >= sizeof path)
        why = "the path of the parent's trace is too long";
    else if (!strcmp(path, t->path))
        why = "the trace names itself as its parent's";
    if (why) {
        if (asprintf(&t->inherit_problem, "blocks inherited from pid %d are unknown: %s",
                     t->parent_pid, why) < 0)
            return -ENOMEM;
        return 0;
    }
    lg_trace_t pt;
    char err[512];
    int lrc = lg_load_file(path, &pt, NULL, NULL, t->fork_seq, L->depth + 1, err, sizeof err);
    if (lrc == -ENOMEM) {
        lg_trace_free(&pt);
        return -ENOMEM;
    }
    if (lrc) {
        if (asprintf(&t->inherit_problem,
                     "blocks inherited from pid %d are unknown: %s (a parent's trace is read "
                     "only from its child's directory)",
                     t->parent_pid, err) < 0)
            t->inherit_problem = NULL;
        lg_trace_free(&pt);
        return t->inherit_problem ? 0 : -ENOMEM;
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
