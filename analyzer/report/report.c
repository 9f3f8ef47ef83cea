/* `leakgraph report`: prints a leak set (leaks.c) as text, in Memcheck's familiar layout, or
 * as JSON (the contract in docs/report-json.md: extend it, never change it). It only formats:
 * grouping and classification are done when the set is built. */
#define _GNU_SOURCE
#include "report.h"
#include "path.h"
#include "text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- text ------------------------------------------------------------------------------ */
static void text_frames(FILE *out, int pid, const char *indent, lg_leakset_t *ls, size_t ti,
                        uint32_t stack, uint64_t seq, int max_frames)
{
    lg_frame_t *fr;
    long n = lg_leakset_frames(ls, ti, stack, seq, max_frames, &fr);
    if (n <= 0) fprintf(out, "==%d== %s(no allocation stack recorded)\n", pid, indent);
    for (long k = 0; k < n; k++) {
        const lg_frame_t *f = &fr[k];
        fprintf(out, "==%d== %s%s 0x%" PRIX64 ": %s", pid, indent, k == 0 ? "at" : "by",
                f->address, f->function ? f->function : "???");
        if (f->file && f->line)
            fprintf(out, " (%s:%d)", lg_basename(f->file), f->line);
        else if (f->module)
            fprintf(out, " (in %s)", f->module);
        fputc('\n', out);
    }
    free(fr);
}

static const char *kind_phrase(int kind)
{
    switch (kind) {
    case LG_KIND_DEFINITE: return "definitely lost";
    case LG_KIND_INDIRECT: return "indirectly lost";
    case LG_KIND_POSSIBLE: return "possibly lost";
    case LG_KIND_REACHABLE: return "still reachable";
    default: return "unfreed at exit";
    }
}

static const char *snap_reason(uint32_t r)
{
    switch (r) {
    case 1: return "exit";
    case 2: return "lg_check_now";
    case 3: return "signal";
    case 4: return "fatal-signal";
    default: return "unknown";
    }
}

static void text_header(FILE *out, const lg_trace_t *t, const lg_snapshot_t *S)
{
    int pid = t->pid;
    fprintf(out, "==%d== leakgraph: ", pid);
    for (int i = 0; i < t->argc; i++) fprintf(out, "%s%s", i ? " " : "", t->argv[i]);
    if (t->argc == 0 && t->exe) fputs(t->exe, out);
    fprintf(out, " (pid %d", pid);
    if (t->parent_pid) fprintf(out, ", forked from %d", t->parent_pid);
    fprintf(out, ")\n==%d== ", pid);
    switch (t->end_reason) {
    case LG_END_EXIT: fprintf(out, "exited with status %d", t->exit_status); break;
    case LG_END_SIGNAL: fprintf(out, "killed by signal %d", t->signal); break;
    case LG_END_EXEC: fputs("replaced by exec", out); break;
    default: fputs("end not recorded", out); break;
    }
    fprintf(out, "; %" PRIu64 " events\n", t->nevents);
    if (S)
        fprintf(out, "==%d== %s check %u: %zu blocks, %u thread%s stopped, %.1f ms\n", pid,
                snap_reason(S->reason), S->id, S->nblocks, S->threads, S->threads == 1 ? "" : "s",
                (double)S->ns / 1e6);
    else
        fprintf(out, "==%d== no leak check in this trace: showing every block still allocated\n",
                pid);
    if (!t->complete)
        fprintf(out, "==%d== WARNING: the trace is incomplete: %s\n", pid,
                t->problem ? t->problem : "unknown reason");
    fprintf(out, "==%d==\n", pid);
}

/* A cycle record: its first max_members members (0: all) with their stacks, and as many of
 * the pointers between them; the rest as counts. */
static void text_cycle(FILE *out, int pid, lg_leakset_t *ls, const lg_cycle_rec_t *cy, size_t k,
                       size_t n, const lg_report_opts_t *o)
{
    char b1[32], b2[32];
    size_t cap = o->max_members ? o->max_members : SIZE_MAX;
    fprintf(out, "==%d== %s bytes in %zu blocks form an unreachable cycle (cycle %zu of %zu), "
                 "keeping %s bytes in %" PRIu64 " more blocks alive\n",
            pid, lg_thousands(cy->bytes, b1), cy->nmembers, k, n, lg_thousands(cy->keeps_bytes, b2),
            cy->keeps_blocks);
    uint64_t rest = 0;
    for (size_t m = 0; m < cy->nmembers; m++) {
        const lg_cycle_member_t *mb = &cy->members[m];
        if (m >= cap) {
            rest += mb->size;
            continue;
        }
        fprintf(out, "==%d==    #%zu: 0x%" PRIx64 ", %s bytes, %s, allocated\n", pid, m + 1, mb->addr,
                lg_thousands(mb->size, b1), kind_phrase(mb->kind));
        text_frames(out, pid, "      ", ls, cy->trace, mb->stack, mb->seq, o->max_frames);
    }
    if (cy->nmembers > cap)
        fprintf(out, "==%d==    ... and %s more members (%s bytes; --max-members=0 shows them all)\n",
                pid, lg_thousands(cy->nmembers - cap, b1), lg_thousands(rest, b2));
    fprintf(out, "==%d==    pointers:", pid);
    for (size_t e = 0; e < cy->nedges && e < cap; e++) {
        const lg_cycle_edge_t *ed = &cy->edges[e];
        fprintf(out, "%s #%u+%u -> #%u", e ? "," : "", ed->from + 1, ed->from_off, ed->to + 1);
        if (ed->to_off) fprintf(out, "+%u", ed->to_off);
    }
    if (cy->nedges > cap) fprintf(out, ", ... and %s more pointers", lg_thousands(cy->nedges - cap, b1));
    fprintf(out, "\n==%d==\n", pid);
}

static const lg_obj_event_t *objev_at(const lg_trace_t *t, uint64_t seq)
{
    size_t lo = 0, hi = t->nobjev;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->objev[mid].seq < seq) lo = mid + 1;
        else hi = mid;
    }
    return lo < t->nobjev && t->objev[lo].seq == seq ? &t->objev[lo] : NULL;
}

static void site_text(FILE *out, const lg_frame_t *f)
{
    if (!f || (!f->function && !f->address)) {
        fputs("(no stack recorded)", out);
        return;
    }
    fputs(f->function ? f->function : "???", out);
    if (f->file && f->line) fprintf(out, " (%s:%d)", lg_basename(f->file), f->line);
    else if (f->module) fprintf(out, " (in %s)", f->module);
}

/* "Node@1 .next -> Node@2 .next -> Node@1", members numbered by their place in the cycle. */
static void cycle_path(FILE *out, const lg_trace_t *t, const lg_objects_t *ob, const lg_ocycle_t *cy,
                       const char *arrow)
{
    for (size_t i = 0; i <= cy->npath; i++) {
        uint32_t v = i < cy->npath ? cy->path[i].from : cy->path[0].from;
        size_t num = 0;
        for (size_t m = 0; m < cy->nmembers; m++)
            if (cy->members[m] == v) num = m + 1;
        const lg_onode_t *x = &ob->nodes[v];
        fprintf(out, "%s%s@%zu", i ? " " : "", t->types[x->type < t->ntypes ? x->type : 0], num);
        if (i < cy->npath) {
            char lab[160];
            fprintf(out, " %s %s", lg_objects_step(ob, t, &cy->path[i], lab, sizeof lab), arrow);
        }
    }
}

static const char *state_phrase(int st)
{
    return st == LG_OBJ_HELD ? "still held" : st == LG_OBJ_GARBAGE ? "in gc.garbage" : "unreachable";
}

static void text_node(FILE *out, int pid, lg_leakset_t *ls, size_t ti, const lg_objects_t *ob,
                      uint32_t v, const char *label, int max_frames)
{
    const lg_trace_t *t = &ls->traces[ti];
    const lg_onode_t *x = &ob->nodes[v];
    char b1[32];
    fprintf(out, "==%d==    %s 0x%" PRIx64 ", %s bytes, refcount %" PRId64 " (%u from objects", pid,
            label, x->addr, lg_thousands(x->size, b1), x->refcount, x->incoming);
    if (x->hidden_in) fprintf(out, ", %u from pointers the traverse does not report", x->hidden_in);
    if (ob->holders_known) fprintf(out, ", %" PRIu64 " from roots or malloc blocks", x->roots + x->blocks);
    fprintf(out, ", %" PRId64 " unexplained), %s, allocated\n", x->unexplained, state_phrase(x->state));
    text_frames(out, pid, "      ", ls, ti, x->stack, x->aseq, max_frames);
    (void)t;
}

static void text_object_cycle(FILE *out, int pid, lg_leakset_t *ls, size_t ti, const lg_objects_t *ob,
                              size_t g, size_t k, size_t n, int max_frames)
{
    const lg_trace_t *t = &ls->traces[ti];
    const lg_ogroup_t *gr = &ob->cgroups[g];
    const lg_ocycle_t *cy = &ob->cycles[gr->first];
    char b1[32], b2[32], why[512];
    if (gr->count > 1)
        fprintf(out, "==%d== %" PRIu64 " uncollected cycles like this one, %s bytes in %" PRIu64
                     " %s objects, keeping %s bytes in %" PRIu64 " more objects alive (object cycle "
                     "record %zu of %zu)\n",
                pid, gr->count, lg_thousands(gr->bytes, b1), gr->objects, ob->walk->runtime,
                lg_thousands(gr->keeps_bytes, b2), gr->keeps_objects, k, n);
    else
        fprintf(out, "==%d== %s bytes in %zu %s objects form an uncollected cycle, keeping %s bytes "
                     "in %" PRIu64 " more objects alive (object cycle record %zu of %zu)\n",
                pid, lg_thousands(cy->bytes, b1), cy->nmembers, ob->walk->runtime,
                lg_thousands(cy->keeps_bytes, b2), cy->keeps_objects, k, n);
    fprintf(out, "==%d==    cycle: ", pid);
    cycle_path(out, t, ob, cy, "->");
    fprintf(out, "\n==%d==    not collected because %s\n", pid, lg_objects_why(ob, t, cy, why, sizeof why));
    for (size_t m = 0; m < cy->nmembers; m++) {
        char lab[160];
        snprintf(lab, sizeof lab, "#%zu %s@%zu", m + 1,
                 t->types[ob->nodes[cy->members[m]].type < t->ntypes ? ob->nodes[cy->members[m]].type : 0],
                 m + 1);
        text_node(out, pid, ls, ti, ob, cy->members[m], lab, max_frames);
    }
    const lg_obj_event_t *last = objev_at(t, cy->formed_seq);
    if (last && last->stack) {
        lg_frame_t f;
        if (lg_objects_site(ls, ti, last->stack, last->seq, &f, NULL)) {
            fprintf(out, "==%d==    last reference change before it was left alone (%s): ", pid,
                    last->kind == LG_REC_DECREF ? "decref" : last->kind == LG_REC_INCREF ? "incref" : "allocation");
            site_text(out, &f);
            fputc('\n', out);
        }
    }
    fprintf(out, "==%d==\n", pid);
}

static const char *objev_kind(uint8_t k)
{
    switch (k) {
    case LG_REC_OBJ_ALLOC: return "alloc ";
    case LG_REC_INCREF: return "incref";
    case LG_REC_DECREF: return "decref";
    default: return "free  ";
    }
}

#define TEXT_HISTORY_MAX 40 /* events of a history printed in text (JSON has them all) */

static void text_refcount(FILE *out, int pid, lg_leakset_t *ls, size_t ti, const lg_objects_t *ob,
                          size_t g, size_t k, size_t n, int max_frames)
{
    const lg_trace_t *t = &ls->traces[ti];
    const lg_ogroup_t *gr = &ob->lgroups[g];
    const lg_oleak_t *lk = &ob->leaks[gr->first];
    const lg_onode_t *x = &ob->nodes[lk->node];
    char b1[32], nm[128];
    fprintf(out, "==%d== %" PRIu64 " unexplained reference%s to %" PRIu64 " %s object%s of type %s "
                 "(%s bytes) in refcount record %zu of %zu\n",
            pid, gr->refs, gr->refs == 1 ? "" : "s", gr->objects, ob->walk->runtime,
            gr->objects == 1 ? "" : "s", t->types[x->type < t->ntypes ? x->type : 0],
            lg_thousands(gr->bytes, b1), k, n);
    if (gr->keeps_objects)
        fprintf(out, "==%d==    keeping %s bytes in %" PRIu64 " more objects alive\n", pid,
                lg_thousands(gr->keeps_bytes, b1), gr->keeps_objects);
    text_node(out, pid, ls, ti, ob, lk->node, lg_objects_name(ob, t, lk->node, nm, sizeof nm), max_frames);
    if (ob->counted_only)
        fprintf(out, "==%d==    increfs and decrefs were counted, not recorded "
                     "(LEAKGRAPH_RC_STACK_DEPTH=0): who took these references is not known\n", pid);
    bool any = false;
    for (size_t h = 0; h < lk->nhist; h++) {
        if (!lk->hist[h].culprit) continue;
        const lg_obj_event_t *e = &t->objev[lk->hist[h].ev];
        if (!any) fprintf(out, "==%d==    the reference never given back (its missing decref):\n", pid);
        any = true;
        fprintf(out, "==%d==      %s (count %" PRId64 ")\n", pid, objev_kind(e->kind),
                e->kind == LG_REC_OBJ_ALLOC ? 1 : e->value);
        text_frames(out, pid, "        ", ls, ti, e->stack, e->seq, max_frames);
    }
    fprintf(out, "==%d==    history of %s (%zu events%s):\n", pid, nm, lk->nhist,
            lk->history_complete ? "" : ", allocation not seen");
    for (size_t h = 0; h < lk->nhist && h < TEXT_HISTORY_MAX; h++) {
        const lg_obj_event_t *e = &t->objev[lk->hist[h].ev];
        lg_frame_t f;
        bool have = e->stack && lg_objects_site(ls, ti, e->stack, e->seq, &f, NULL);
        fprintf(out, "==%d==      %s %3" PRId64 "  ", pid, objev_kind(e->kind),
                e->kind == LG_REC_OBJ_ALLOC ? 1 : e->value);
        site_text(out, have ? &f : NULL);
        fputs(lk->hist[h].culprit ? "  <- never matched: blamed" : lk->hist[h].unmatched ? "  <- never matched" : "", out);
        fputc('\n', out);
    }
    if (lk->nhist > TEXT_HISTORY_MAX)
        fprintf(out, "==%d==      ... %zu more (the JSON report has them all)\n", pid,
                lk->nhist - TEXT_HISTORY_MAX);
    if (gr->count > 1)
        fprintf(out, "==%d==    (and %" PRIu64 " more objects of this type allocated there)\n", pid,
                gr->count - 1);
    fprintf(out, "==%d==\n", pid);
}

static void text_objects(FILE *out, lg_leakset_t *ls, size_t ti, const lg_report_opts_t *o)
{
    const lg_objects_t *ob = ls->objs ? ls->objs[ti] : NULL;
    if (!ob) return;
    int pid = ls->traces[ti].pid;
    const lg_trace_t *t = &ls->traces[ti];
    char b1[32], b2[32];
    size_t kc = 0, kr = 0;
    for (size_t i = 0; i < ls->nleaks; i++) {
        const lg_leak_t *l = &ls->leaks[i];
        if (l->trace != ti || !l->object) continue;
        if (l->kind == LG_KIND_CYCLE)
            text_object_cycle(out, pid, ls, ti, ob, l->ogroup, ++kc, ob->ncgroups, o->max_frames);
    }
    for (size_t i = 0; i < ls->nleaks; i++) {
        const lg_leak_t *l = &ls->leaks[i];
        if (l->trace != ti || !l->object) continue;
        if (l->kind == LG_KIND_REFCOUNT)
            text_refcount(out, pid, ls, ti, ob, l->ogroup, ++kr, ob->nlgroups, o->max_frames);
    }
    if (ob->counted_only && ob->nleaks)
        fprintf(out, "==%d== MISSING DECREFS: not known, increfs and decrefs were only counted (%" PRIu64
                     " increfs, %" PRIu64 " decrefs); run with LEAKGRAPH_RC_STACK_DEPTH above 0 to "
                     "record them with their stacks\n==%d==\n", pid, t->rc_increfs, t->rc_decrefs, pid);
    if (ob->nculprits) {
        fprintf(out, "==%d== MISSING DECREFS (increments that no decrement matched, blamed for the "
                     "unexplained references; most first):\n", pid);
        for (size_t c = 0; c < ob->nculprits; c++) {
            const lg_osite_t *s = &ob->culprits[c];
            fprintf(out, "==%d==    %" PRIu64 " reference%s in %" PRIu64 " object%s: ", pid, s->count,
                    s->count == 1 ? "" : "s", s->objects, s->objects == 1 ? "" : "s");
            site_text(out, s->frame.address || s->frame.function ? &s->frame : NULL);
            fputc('\n', out);
        }
        fprintf(out, "==%d==\n", pid);
    }
    fprintf(out, "==%d== COLLECTOR: %" PRIu64 " collection%s (generation 0: %" PRIu64 ", 1: %" PRIu64
                 ", 2: %" PRIu64 "), %" PRIu64 " objects collected, %" PRIu64 " uncollectable; "
                 "pauses: %" PRIu64 ", total %.3f ms, longest %.3f ms\n",
            pid, ob->collections, ob->collections == 1 ? "" : "s", ob->gen[0].collections,
            ob->gen[1].collections, ob->gen[2].collections,
            ob->gen[0].collected + ob->gen[1].collected + ob->gen[2].collected,
            ob->gen[0].uncollectable + ob->gen[1].uncollectable + ob->gen[2].uncollectable,
            ob->collections, (double)ob->pause_ns / 1e6, (double)ob->pause_max_ns / 1e6);
    if (ob->ncollected_types) {
        fprintf(out, "==%d==    freed by collections, by type:", pid);
        for (size_t i = 0; i < ob->ncollected_types && i < 10; i++)
            fprintf(out, "%s %s %" PRIu64, i ? "," : "", t->types[ob->collected_types[i].type < t->ntypes ? ob->collected_types[i].type : 0],
                    ob->collected_types[i].count);
        fprintf(out, "\n==%d==    freed by collections, by allocation site (code that makes cycles):\n", pid);
        for (size_t i = 0; i < ob->ncollected_sites && i < 10; i++) {
            fprintf(out, "==%d==      %" PRIu64 " ", pid, ob->collected_sites[i].count);
            site_text(out, ob->collected_sites[i].frame.address || ob->collected_sites[i].frame.function
                               ? &ob->collected_sites[i].frame : NULL);
            fputc('\n', out);
        }
    }
    const lg_totals_t *tt = &ls->procs[ti].totals;
    fprintf(out, "==%d== OBJECT SUMMARY (%s walk at check %u: %zu objects, %zu references; %s):\n",
            pid, ob->walk->runtime ? ob->walk->runtime : "runtime", ob->walk->check, ob->n,
            ob->walk->nrefs,
            ob->holders_known || !ob->n ? "holders scanned"
                                        : "holders NOT scanned: every object counts as unheld");
    fprintf(out, "==%d==    uncollected cycles: %" PRIu64 " (%s bytes in %s objects)\n", pid,
            tt->obj_cycles, lg_thousands(tt->obj_cycle_bytes, b1), lg_thousands(tt->obj_cycle_objects, b2));
    fprintf(out, "==%d==        refcount leaks: %" PRIu64 " unexplained references in %s objects (%s "
                 "bytes)\n", pid, tt->refcount_refs, lg_thousands(tt->refcount_objects, b1),
            lg_thousands(tt->refcount_bytes, b2));
    fprintf(out, "==%d==\n", pid);
}

static void text_trace(FILE *out, lg_leakset_t *ls, size_t ti, const lg_report_opts_t *o)
{
    const lg_trace_t *t = &ls->traces[ti];
    const lg_proc_t *p = &ls->procs[ti];
    int pid = t->pid;
    char b1[32], b2[32], b3[32], b4[32];
    text_header(out, t, p->snap);
    size_t nrec = 0, k = 0, ncy = 0, kcy = 0;
    size_t cap = o->max_records ? o->max_records : SIZE_MAX;
    for (size_t i = 0; i < ls->nleaks; i++) {
        const lg_leak_t *l = &ls->leaks[i];
        if (l->trace != ti || l->object) continue;
        if (l->kind == LG_KIND_CYCLE) ncy++;
        else if (l->kind != LG_KIND_REACHABLE || o->show_reachable) nrec++;
    }
    /* the records past the cap: per kind, how many and their totals */
    uint64_t more[LG_KIND_COUNT][3] = {{0}}; /* records, bytes, blocks */
    for (size_t i = 0; i < ls->nleaks; i++) {
        const lg_leak_t *l = &ls->leaks[i];
        if (l->trace != ti || l->kind == LG_KIND_CYCLE || l->object) continue;
        if (l->kind == LG_KIND_REACHABLE && !o->show_reachable) continue;
        if (k++ >= cap) {
            more[l->kind][0]++;
            more[l->kind][1] += l->bytes + l->indirect_bytes;
            more[l->kind][2] += l->blocks;
            continue;
        }
        if (l->indirect_bytes)
            fprintf(out, "==%d== %s (%s direct, %s indirect) bytes in %s blocks are %s in loss "
                         "record %zu of %zu\n",
                    pid, lg_thousands(l->bytes + l->indirect_bytes, b1), lg_thousands(l->bytes, b2),
                    lg_thousands(l->indirect_bytes, b3), lg_thousands(l->blocks, b4),
                    kind_phrase(l->kind), k, nrec);
        else
            fprintf(out, "==%d== %s bytes in %s blocks are %s in loss record %zu of %zu\n", pid,
                    lg_thousands(l->bytes, b1), lg_thousands(l->blocks, b2), kind_phrase(l->kind), k,
                    nrec);
        fprintf(out, "==%d==    allocated by %s\n", pid, lg_fn_name(l->fn));
        text_frames(out, pid, "   ", ls, ti, l->stack, l->seq, o->max_frames);
        fprintf(out, "==%d==\n", pid);
    }
    if (nrec > cap) {
        fprintf(out, "==%d== ... and %s more loss records (--max-records=0 shows them all):\n", pid,
                lg_thousands(nrec - cap, b1));
        for (int kd = 0; kd < LG_KIND_COUNT; kd++)
            if (more[kd][0])
                fprintf(out, "==%d==    %s records: %s bytes in %s blocks are %s\n", pid,
                        lg_thousands(more[kd][0], b1), lg_thousands(more[kd][1], b2),
                        lg_thousands(more[kd][2], b3), kind_phrase(kd));
        fprintf(out, "==%d==\n", pid);
    }
    uint64_t cy_bytes = 0, cy_blocks = 0;
    for (size_t i = 0; i < ls->nleaks; i++) {
        const lg_leak_t *l = &ls->leaks[i];
        if (l->trace != ti || l->kind != LG_KIND_CYCLE || l->object) continue;
        const lg_cycle_rec_t *cy = &ls->cycles[l->cycle];
        if (kcy++ >= cap) {
            cy_bytes += cy->bytes;
            cy_blocks += cy->nmembers;
            continue;
        }
        text_cycle(out, pid, ls, cy, kcy, ncy, o);
    }
    if (ncy > cap)
        fprintf(out, "==%d== ... and %s more cycles: %s bytes in %s blocks (--max-records=0 shows "
                     "them all)\n==%d==\n",
                pid, lg_thousands(ncy - cap, b1), lg_thousands(cy_bytes, b2),
                lg_thousands(cy_blocks, b3), pid);
    text_objects(out, ls, ti, o);
    const lg_totals_t *tt = &p->totals;
    if (p->snap) {
        fprintf(out, "==%d== LEAK SUMMARY:\n", pid);
        static const int order[] = {LG_KIND_DEFINITE, LG_KIND_INDIRECT, LG_KIND_POSSIBLE,
                                    LG_KIND_REACHABLE};
        static const char *const label[] = {"definitely lost", "indirectly lost",
                                            "  possibly lost", "still reachable"};
        for (int i = 0; i < 4; i++)
            fprintf(out, "==%d==    %s: %s bytes in %s blocks\n", pid, label[i],
                    lg_thousands(tt->bytes[order[i]], b1), lg_thousands(tt->blocks[order[i]], b2));
        fprintf(out, "==%d==             cycles: %" PRIu64 " (%s bytes in %s blocks)\n", pid,
                tt->cycles, lg_thousands(tt->cycle_bytes, b1), lg_thousands(tt->cycle_blocks, b2));
        if (!o->show_reachable && tt->blocks[LG_KIND_REACHABLE])
            fprintf(out, "==%d== Reachable blocks (those to which a pointer was found) are not "
                         "shown.\n==%d== To see them, add --show-reachable\n",
                    pid, pid);
    } else {
        fprintf(out, "==%d== SUMMARY:\n==%d==    unfreed at exit: %s bytes in %s blocks\n", pid,
                pid, lg_thousands(tt->live_bytes, b1), lg_thousands(tt->live_blocks, b2));
    }
}

/* ---- JSON ------------------------------------------------------------------------------ */
static void json_program(FILE *out, const lg_trace_t *t, const lg_snapshot_t *S)
{
    fputs("{\"path\":", out);
    lg_json_str(out, t->exe);
    fputs(",\"argv\":[", out);
    for (int i = 0; i < t->argc; i++) {
        if (i) fputc(',', out);
        lg_json_str(out, t->argv[i]);
    }
    fprintf(out, "],\"pid\":%d,\"ppid\":%d,\"parent_pid\":%d", t->pid, t->ppid, t->parent_pid);
    if (t->end_reason == LG_END_EXIT)
        fprintf(out, ",\"exit_status\":%d", t->exit_status);
    else
        fputs(",\"exit_status\":null", out);
    fprintf(out, ",\"signal\":%d,\"end\":\"%s\",\"complete\":%s,\"problem\":", t->signal,
            lg_end_reason_name(t->end_reason), t->complete ? "true" : "false");
    lg_json_str(out, t->problem);
    fputs(",\"trace\":", out);
    lg_json_str(out, t->path);
    fprintf(out, ",\"events\":%" PRIu64 ",\"check\":", t->nevents);
    if (S)
        fprintf(out, "{\"id\":%u,\"reason\":\"%s\",\"blocks\":%zu,\"threads\":%u,\"scanned\":%" PRIu64
                     ",\"ns\":%" PRIu64 "}",
                S->id, snap_reason(S->reason), S->nblocks,
                S->threads, S->scanned, S->ns);
    else
        fputs("null", out);
    fputc('}', out);
}

void lg_json_frame_open(FILE *out, const lg_frame_t *f)
{
    fputs("{\"function\":", out);
    lg_json_str(out, f->function);
    fputs(",\"file\":", out);
    lg_json_str(out, f->file);
    fprintf(out, ",\"line\":%d,\"module\":", f->line);
    lg_json_str(out, f->module);
    fprintf(out, ",\"address\":\"0x%" PRIx64 "\",\"offset\":\"0x%" PRIx64 "\",\"inlined\":%s",
            f->address, f->offset, f->inlined ? "true" : "false");
}

static void json_frames(FILE *out, lg_leakset_t *ls, size_t ti, uint32_t stack, uint64_t seq,
                        int max_frames)
{
    lg_frame_t *fr;
    long n = lg_leakset_frames(ls, ti, stack, seq, max_frames, &fr);
    fputc('[', out);
    for (long k = 0; k < n; k++) {
        if (k) fputc(',', out);
        lg_json_frame_open(out, &fr[k]);
        fputc('}', out);
    }
    fputc(']', out);
    free(fr);
}

static void json_summary(FILE *out, const lg_totals_t *t, bool classified)
{
    fprintf(out, "{\"unfreed\":{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}", t->live_bytes,
            t->live_blocks);
    if (classified) {
        static const int kinds[] = {LG_KIND_DEFINITE, LG_KIND_INDIRECT, LG_KIND_POSSIBLE,
                                    LG_KIND_REACHABLE};
        for (int i = 0; i < 4; i++)
            fprintf(out, ",\"%s\":{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}",
                    lg_kind_name(kinds[i]), t->bytes[kinds[i]], t->blocks[kinds[i]]);
        fprintf(out, ",\"cycles\":{\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}",
                t->cycles, t->cycle_bytes, t->cycle_blocks);
    }
    fprintf(out, ",\"object_cycles\":{\"count\":%" PRIu64 ",\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64
                 "},\"refcount\":{\"objects\":%" PRIu64 ",\"unexplained\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
            t->obj_cycles, t->obj_cycle_objects, t->obj_cycle_bytes, t->refcount_objects,
            t->refcount_refs, t->refcount_bytes);
    fputc('}', out);
}


/* ---- runtime objects (objects.c): JSON ------------------------------------------------------- */
static void json_site(FILE *out, const lg_frame_t *f)
{
    if (!f || (!f->function && !f->address)) {
        fputs("null", out);
        return;
    }
    fputs("{\"function\":", out);
    lg_json_str(out, f->function);
    fputs(",\"file\":", out);
    lg_json_str(out, f->file);
    fprintf(out, ",\"line\":%d,\"address\":\"0x%" PRIx64 "\"}", f->line, f->address);
}

static void json_node(FILE *out, lg_leakset_t *ls, size_t ti, const lg_objects_t *ob, uint32_t v,
                      int max_frames)
{
    const lg_trace_t *t = &ls->traces[ti];
    const lg_onode_t *x = &ob->nodes[v];
    fputs("{\"type\":", out);
    lg_json_str(out, t->types[x->type < t->ntypes ? x->type : 0]);
    fprintf(out, ",\"address\":\"0x%" PRIx64 "\",\"size\":%" PRIu64 ",\"refcount\":%" PRId64
                 ",\"from_objects\":%u,\"hidden\":%u,\"held\":%" PRIu64 ",\"unexplained\":%" PRId64
                 ",\"state\":\"%s\",\"stack\":",
            x->addr, x->size, x->refcount, x->incoming, x->hidden_in, x->roots + x->blocks,
            x->unexplained, x->state == LG_OBJ_HELD ? "held" : x->state == LG_OBJ_GARBAGE ? "garbage" : "lost");
    json_frames(out, ls, ti, x->stack, x->aseq, max_frames);
    fputc('}', out);
}

static void json_objects(FILE *out, lg_leakset_t *ls, const lg_report_opts_t *o)
{
    fputs(",\n\"objects\":{\"cycles\":[", out);
    bool first = true;
    for (size_t ti = 0; ti < ls->ntraces; ti++) {
        const lg_objects_t *ob = ls->objs ? ls->objs[ti] : NULL;
        const lg_trace_t *t = &ls->traces[ti];
        for (size_t g = 0; ob && g < ob->ncgroups; g++) {
            const lg_ogroup_t *gr = &ob->cgroups[g];
            const lg_ocycle_t *cy = &ob->cycles[gr->first];
            char why[512], lab[160];
            fprintf(out, "%s\n  {\"pid\":%d,\"count\":%" PRIu64 ",\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64
                         ",\"keeps\":{\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64 "},\"why\":\"%s\",\"why_text\":",
                    first ? "" : ",", t->pid, gr->count, gr->objects, gr->bytes, gr->keeps_objects,
                    gr->keeps_bytes, lg_why_name(cy->why));
            first = false;
            lg_json_str(out, lg_objects_why(ob, t, cy, why, sizeof why));
            fputs(",\"members\":[", out);
            for (size_t m = 0; m < cy->nmembers; m++) {
                if (m) fputc(',', out);
                json_node(out, ls, ti, ob, cy->members[m], o->max_frames);
            }
            fputs("],\"path\":[", out);
            for (size_t p = 0; p < cy->npath; p++) {
                size_t fm = 0, tm = 0;
                for (size_t m = 0; m < cy->nmembers; m++) {
                    if (cy->members[m] == cy->path[p].from) fm = m;
                    if (cy->members[m] == cy->path[p].to) tm = m;
                }
                fprintf(out, "%s{\"from\":%zu,\"to\":%zu,\"label\":", p ? "," : "", fm, tm);
                lg_json_str(out, lg_objects_step(ob, t, &cy->path[p], lab, sizeof lab));
                fprintf(out, ",\"hidden\":%s}", cy->path[p].ref == SIZE_MAX ? "true" : "false");
            }
            fputs("],\"text\":\"", out);
            /* the path as one string, as the text report prints it */
            char *buf = NULL;
            size_t blen = 0;
            FILE *mf = open_memstream(&buf, &blen);
            if (mf) {
                cycle_path(mf, t, ob, cy, "->");
                fclose(mf);
                for (size_t i = 0; i < blen; i++) {
                    if (buf[i] == '"' || buf[i] == '\\') fputc('\\', out);
                    fputc(buf[i], out);
                }
                free(buf);
            }
            fputs("\"}", out);
        }
    }
    fputs("],\"refcount\":[", out);
    first = true;
    for (size_t ti = 0; ti < ls->ntraces; ti++) {
        const lg_objects_t *ob = ls->objs ? ls->objs[ti] : NULL;
        const lg_trace_t *t = &ls->traces[ti];
        for (size_t l = 0; ob && l < ob->nleaks; l++) {
            const lg_oleak_t *lk = &ob->leaks[l];
            fprintf(out, "%s\n  {\"pid\":%d,\"record\":%zu,\"unexplained\":%" PRId64 ",\"keeps\":{\"objects\":%"
                         PRIu64 ",\"bytes\":%" PRIu64 "},\"history_complete\":%s,\"object\":",
                    first ? "" : ",", t->pid, lk->group, lk->unexplained, lk->keeps_objects,
                    lk->keeps_bytes, lk->history_complete ? "true" : "false");
            first = false;
            json_node(out, ls, ti, ob, lk->node, o->max_frames);
            fputs(",\"history\":[", out);
            for (size_t h = 0; h < lk->nhist; h++) {
                const lg_obj_event_t *e = &t->objev[lk->hist[h].ev];
                lg_frame_t f;
                bool have = e->stack && lg_objects_site(ls, ti, e->stack, e->seq, &f, NULL);
                fprintf(out, "%s{\"event\":\"%s\",\"refcount\":%" PRId64 ",\"unmatched\":%s,\"blamed\":%s,\"site\":",
                        h ? "," : "", e->kind == LG_REC_OBJ_ALLOC ? "alloc" : e->kind == LG_REC_INCREF ? "incref" : "decref",
                        e->kind == LG_REC_OBJ_ALLOC ? 1 : e->value, lk->hist[h].unmatched ? "true" : "false",
                        lk->hist[h].culprit ? "true" : "false");
                json_site(out, have ? &f : NULL);
                fputs(",\"stack\":", out);
                json_frames(out, ls, ti, e->stack, e->seq, o->max_frames);
                fputc('}', out);
            }
            fputs("]}", out);
        }
    }
    fputs("],\"missing_decrefs\":[", out);
    first = true;
    for (size_t ti = 0; ti < ls->ntraces; ti++) {
        const lg_objects_t *ob = ls->objs ? ls->objs[ti] : NULL;
        for (size_t c = 0; ob && c < ob->nculprits; c++) {
            const lg_osite_t *st = &ob->culprits[c];
            fprintf(out, "%s\n  {\"pid\":%d,\"references\":%" PRIu64 ",\"objects\":%" PRIu64 ",\"site\":",
                    first ? "" : ",", ls->traces[ti].pid, st->count, st->objects);
            first = false;
            json_site(out, &st->frame);
            fputs(",\"stack\":", out);
            json_frames(out, ls, ti, st->stack, st->seq, o->max_frames);
            fputc('}', out);
        }
    }
    fputs("],\"collector\":[", out);
    first = true;
    for (size_t ti = 0; ti < ls->ntraces; ti++) {
        const lg_objects_t *ob = ls->objs ? ls->objs[ti] : NULL;
        const lg_trace_t *t = &ls->traces[ti];
        if (!ob) continue;
        fprintf(out, "%s\n  {\"pid\":%d,\"runtime\":", first ? "" : ",", t->pid);
        first = false;
        lg_json_str(out, ob->walk->runtime);
        fprintf(out, ",\"refcount_events\":\"%s\",\"increfs_counted\":%" PRIu64 ",\"decrefs_counted\":%" PRIu64,
                ob->counted_only ? "counted" : "recorded", t->rc_increfs, t->rc_decrefs);
        fprintf(out, ",\"check\":%u,\"objects_walked\":%zu,\"holders_scanned\":%s,\"collections\":%" PRIu64
                     ",\"pause_ns\":%" PRIu64 ",\"pause_max_ns\":%" PRIu64 ",\"generations\":[",
                ob->walk->check, ob->n, ob->holders_known ? "true" : "false", ob->collections,
                ob->pause_ns, ob->pause_max_ns);
        for (int g = 0; g < 3; g++)
            fprintf(out, "%s{\"collections\":%" PRIu64 ",\"collected\":%" PRIu64 ",\"uncollectable\":%" PRIu64
                         ",\"pause_ns\":%" PRIu64 ",\"pause_max_ns\":%" PRIu64 "}",
                    g ? "," : "", ob->gen[g].collections, ob->gen[g].collected, ob->gen[g].uncollectable,
                    ob->gen[g].pause_ns, ob->gen[g].pause_max_ns);
        fprintf(out, "],\"freed_in_collections\":%" PRIu64 ",\"by_type\":[", ob->collected_objects);
        for (size_t i = 0; i < ob->ncollected_types; i++) {
            fputs(i ? ",{\"type\":" : "{\"type\":", out);
            lg_json_str(out, t->types[ob->collected_types[i].type < t->ntypes ? ob->collected_types[i].type : 0]);
            fprintf(out, ",\"objects\":%" PRIu64 "}", ob->collected_types[i].count);
        }
        fputs("],\"by_site\":[", out);
        for (size_t i = 0; i < ob->ncollected_sites; i++) {
            fprintf(out, "%s{\"objects\":%" PRIu64 ",\"site\":", i ? "," : "", ob->collected_sites[i].count);
            json_site(out, &ob->collected_sites[i].frame);
            fputc('}', out);
        }
        fputs("]}", out);
    }
    fputs("]}", out);
}

static void json_report(FILE *out, lg_leakset_t *ls, const lg_report_opts_t *o)
{
    bool classified = false;
    for (size_t i = 0; i < ls->ntraces; i++) classified |= ls->procs[i].snap != NULL;
    fputs("{\"version\":1,\"program\":", out);
    json_program(out, &ls->traces[0], ls->procs[0].snap);
    fputs(",\"leaks\":[", out);
    bool first = true;
    for (size_t i = 0; i < ls->nleaks; i++) {
        const lg_leak_t *l = &ls->leaks[i];
        fputs(first ? "\n  " : ",\n  ", out);
        first = false;
        fprintf(out, "{\"kind\":\"%s\",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64, lg_kind_name(l->kind),
                l->bytes, l->blocks);
        if (l->kind == LG_KIND_DEFINITE)
            fprintf(out, ",\"indirect_bytes\":%" PRIu64 ",\"indirect_blocks\":%" PRIu64,
                    l->indirect_bytes, l->indirect_blocks);
        if (l->kind == LG_KIND_CYCLE && !l->object)
            fprintf(out, ",\"cycle\":%zu,\"keeps_bytes\":%" PRIu64 ",\"keeps_blocks\":%" PRIu64,
                    l->cycle, l->indirect_bytes, l->indirect_blocks);
        if (l->object) {
            const lg_objects_t *ob = ls->objs[l->trace];
            const lg_ogroup_t *gr = l->kind == LG_KIND_CYCLE ? &ob->cgroups[l->ogroup] : &ob->lgroups[l->ogroup];
            fprintf(out, ",\"runtime\":\"%s\",\"objects\":%" PRIu64 ",\"keeps_bytes\":%" PRIu64
                         ",\"keeps_objects\":%" PRIu64,
                    ob->walk->runtime ? ob->walk->runtime : "", gr->objects, gr->keeps_bytes, gr->keeps_objects);
            if (l->kind == LG_KIND_CYCLE) fprintf(out, ",\"cycles\":%" PRIu64, gr->count);
            else fprintf(out, ",\"unexplained\":%" PRIu64, gr->refs);
        }
        if (ls->ntraces > 1) fprintf(out, ",\"pid\":%d", ls->traces[l->trace].pid);
        fprintf(out, ",\"allocator\":\"%s\",\"stack\":", lg_fn_name(l->fn));
        json_frames(out, ls, l->trace, l->stack, l->seq, o->max_frames);
        fputc('}', out);
    }
    fputs("],\n\"summary\":", out);
    json_summary(out, &ls->totals, classified);
    fputs(",\n\"cycles\":[", out);
    for (size_t c = 0; c < ls->ncycles; c++) {
        const lg_cycle_rec_t *cy = &ls->cycles[c];
        fprintf(out, "%s\n  {\"pid\":%d,\"bytes\":%" PRIu64 ",\"blocks\":%zu,\"keeps\":{\"bytes\":%" PRIu64
                     ",\"blocks\":%" PRIu64 "},\"members\":[",
                c ? "," : "", ls->traces[cy->trace].pid, cy->bytes, cy->nmembers, cy->keeps_bytes,
                cy->keeps_blocks);
        for (size_t m = 0; m < cy->nmembers; m++) {
            const lg_cycle_member_t *mb = &cy->members[m];
            fprintf(out, "%s{\"address\":\"0x%" PRIx64 "\",\"size\":%" PRIu64 ",\"kind\":\"%s\",\"allocator\":\"%s\",\"stack\":",
                    m ? "," : "", mb->addr, mb->size, lg_kind_name(mb->kind), lg_fn_name(mb->fn));
            json_frames(out, ls, cy->trace, mb->stack, mb->seq, o->max_frames);
            fputc('}', out);
        }
        fputs("],\"edges\":[", out);
        for (size_t e = 0; e < cy->nedges; e++)
            fprintf(out, "%s{\"from\":%u,\"from_offset\":%u,\"to\":%u,\"to_offset\":%u}", e ? "," : "",
                    cy->edges[e].from, cy->edges[e].from_off, cy->edges[e].to, cy->edges[e].to_off);
        fputs("]}", out);
    }
    fputs("]", out);
    json_objects(out, ls, o);
    fputs(",\n\"processes\":[", out);
    for (size_t i = 0; i < ls->ntraces; i++) {
        fputs(i ? ",\n  {\"program\":" : "\n  {\"program\":", out);
        json_program(out, &ls->traces[i], ls->procs[i].snap);
        fputs(",\"summary\":", out);
        json_summary(out, &ls->procs[i].totals, ls->procs[i].snap != NULL);
        fputc('}', out);
    }
    fputs("]}\n", out);
}

int lg_report(FILE *out, lg_leakset_t *ls, const lg_report_opts_t *o)
{
    if (ls->ntraces == 0) return -EINVAL;
    if (o->format == LG_FORMAT_JSON) {
        json_report(out, ls, o);
        return 0;
    }
    for (size_t i = 0; i < ls->ntraces; i++) {
        if (i) fputc('\n', out);
        text_trace(out, ls, i, o);
    }
    return 0;
}
