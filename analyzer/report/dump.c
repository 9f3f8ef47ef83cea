/* `leakgraph dump TRACE`: the trace as text, one line per event in sequence order, then the
 * module map, the stacks and the end record. Meant for people and for tests that assert on
 * traces; the layout is line-oriented and stable: "<seq> <type> key=value ...". */
#define _GNU_SOURCE
#include <inttypes.h>
#include <string.h>

#include "report.h"

static void dump_event(void *ctx, const lg_trace_t *t, const lg_event_t *ev)
{
    FILE *out = ctx;
    fprintf(out, "%" PRIu64 " ", ev->seq);
    switch (ev->type) {
    case LG_REC_MALLOC:
    case LG_REC_CALLOC:
    case LG_REC_ALIGNED:
    case LG_REC_REALLOC:
        fprintf(out, "alloc fn=%s addr=0x%" PRIx64 " size=%" PRIu64, lg_fn_name(ev->fn), ev->addr,
                ev->size);
        if (ev->align) fprintf(out, " align=%" PRIu64, ev->align);
        fprintf(out, " stack=%u tid=%u\n", ev->stack, ev->tid);
        break;
    case LG_REC_FREE:
        fprintf(out, "free addr=0x%" PRIx64 " tid=%u\n", ev->addr, ev->tid);
        break;
    case LG_REC_MODULE: {
        const lg_module_info_t *m = &t->mods[ev->module];
        fprintf(out, "module id=%u bias=0x%" PRIx64 " start=0x%" PRIx64 " end=0x%" PRIx64
                     " path=%s build_id=",
                m->id, m->bias, m->start, m->end, m->path);
        for (size_t i = 0; i < m->build_id_len; i++) fprintf(out, "%02x", m->build_id[i]);
        fputc('\n', out);
        break;
    }
    case LG_REC_OBJ_ALLOC:
        fprintf(out, "obj_alloc addr=0x%" PRIx64 " size=%" PRIu64 " type=%s stack=%u tid=%u\n", ev->addr,
                ev->size, t->types[ev->otype], ev->stack, ev->tid);
        break;
    case LG_REC_OBJ_FREE:
        fprintf(out, "obj_free addr=0x%" PRIx64 " tid=%u\n", ev->addr, ev->tid);
        break;
    case LG_REC_INCREF:
    case LG_REC_DECREF:
        fprintf(out, "%s addr=0x%" PRIx64 " refcount=%" PRId64 " stack=%u tid=%u\n",
                ev->type == LG_REC_INCREF ? "incref" : "decref", ev->addr, ev->refcount, ev->stack,
                ev->tid);
        break;
    case LG_REC_GC_START:
        fprintf(out, "gc_start generation=%u\n", ev->gen);
        break;
    case LG_REC_GC_END:
        fprintf(out, "gc_end generation=%u collected=%" PRIu64 " uncollectable=%" PRIu64 " ns=%" PRIu64 "\n",
                ev->gen, ev->collected, ev->uncollectable, ev->ns);
        break;
    case LG_REC_WALK:
        fprintf(out, "walk\n");
        break;
    case LG_REC_UNMODULE:
        fprintf(out, "unmodule id=%u path=%s\n", t->mods[ev->module].id, t->mods[ev->module].path);
        break;
    default:
        fprintf(out, "nop\n");
        break;
    }
}

int lg_dump(FILE *out, const char *path, char *err, size_t errlen)
{
    lg_trace_t t;
    fprintf(out, "# events\n");
    int rc = lg_trace_load(path, &t, dump_event, out, err, errlen);
    if (rc) {
        lg_trace_free(&t);
        return rc;
    }
    fprintf(out, "# process\npid=%d ppid=%d parent_pid=%d exe=%s cwd=%s tracer=%s start_ns=%" PRIu64
                 " rings=%u\nargv:",
            t.pid, t.ppid, t.parent_pid, t.exe ? t.exe : "", t.cwd ? t.cwd : "",
            t.tracer ? t.tracer : "", t.start_ns, t.nrings);
    for (int i = 0; i < t.argc; i++) fprintf(out, " %s", t.argv[i]);
    if (t.parent_trace)
        fprintf(out, "\nparent_trace=%s fork_seq=%" PRIu64 " inherited_blocks=%" PRIu64 "%s%s",
                t.parent_trace, t.fork_seq, t.inherited_blocks, t.inherit_problem ? " problem: " : "",
                t.inherit_problem ? t.inherit_problem : "");
    fprintf(out, "\n# stacks\n");
    for (size_t i = 1; i < t.nstacks; i++) {
        fprintf(out, "stack %zu:", i);
        for (uint32_t k = 0; k < t.stacks[i].depth; k++) fprintf(out, " 0x%" PRIx64, t.stacks[i].ips[k]);
        fputc('\n', out);
    }
    for (size_t i = 0; i < t.nsnaps; i++) {
        const lg_snapshot_t *S = &t.snaps[i];
        fprintf(out, "# snapshot id=%u reason=%u seq=%" PRIu64 " threads=%u noregs=%u blocks=%zu "
                     "edges=%zu regions=%zu scanned=%" PRIu64 " skipped=%" PRIu64 " ns=%" PRIu64 "\n",
                S->id, S->reason, S->seq, S->threads, S->noregs, S->nblocks, S->nedges,
                S->nregions, S->scanned, S->skipped, S->ns);
        for (size_t r = 0; r < S->nregions; r++)
            fprintf(out, "region %zu kind=%d start=0x%" PRIx64 " end=0x%" PRIx64 " tid=%d name=%s\n",
                    r, S->regions[r].kind, S->regions[r].start, S->regions[r].end,
                    S->regions[r].tid, S->regions[r].name);
        for (size_t b = 0; b < S->nblocks; b++) {
            fprintf(out, "block %zu addr=0x%" PRIx64 " size=%" PRIu64 " stack=%u roots=%u", b,
                    S->addr[b], S->size[b], S->stack[b], S->ref_flags[b]);
            if (S->ref_flags[b]) fprintf(out, " region=%u", S->ref_region[b]);
            for (size_t e = S->edge_start[b]; e < S->edge_start[b + 1]; e++)
                fprintf(out, " ->%u@%u+%u", S->edge_to[e], S->edge_src_off[e], S->edge_dst_off[e]);
            fputc('\n', out);
        }
    }
    for (size_t i = 0; i < t.nwalks; i++) {
        const lg_walk_t *w = &t.walks[i];
        fprintf(out, "# walk check=%u runtime=%s objects=%zu refs=%zu status=%d%s\n", w->check,
                w->runtime, w->nobjs, w->nrefs, w->status, w->ended ? "" : " (cut short)");
        for (size_t o = 0; o < w->nobjs; o++) {
            const lg_walk_obj_t *ob = &w->objs[o];
            fprintf(out, "object 0x%" PRIx64 " type=%s size=%" PRIu64 " refcount=%" PRId64, ob->addr,
                    t.types[ob->type], ob->size, ob->refcount);
            size_t end = o + 1 < w->nobjs ? w->objs[o + 1].ref_start : w->nrefs;
            for (size_t r = ob->ref_start; r < end; r++) {
                fprintf(out, " ->0x%" PRIx64, w->refs[r].to);
                if (w->refs[r].label) fprintf(out, "[%s]", t.labels[w->refs[r].label]);
                if (w->refs[r].index >= 0) fprintf(out, "[%" PRId64 "]", w->refs[r].index);
            }
            fputc('\n', out);
        }
    }
    fprintf(out, "# end\nend=%s exit_status=%d signal=%d events=%" PRIu64 " lost=%" PRIu64
                 " complete=%s live_blocks=%zu unknown_frees=%" PRIu64 "\n",
            lg_end_reason_name(t.end_reason), t.exit_status, t.signal, t.nevents, t.lost,
            t.complete ? "yes" : "no", t.nlive, t.unknown_frees);
    if (t.rc_depth >= 0) fprintf(out, "rc_stack_depth=%d%s\n", t.rc_depth, t.rc_depth ? "" : " (counts only)");
    if (t.rc_increfs || t.rc_decrefs)
        fprintf(out, "rc_counts increfs=%" PRIu64 " decrefs=%" PRIu64 "\n", t.rc_increfs, t.rc_decrefs);
    if (t.problem) fprintf(out, "problem: %s\n", t.problem);
    lg_trace_free(&t);
    return 0;
}
