/* Building the leak set (see leaks.h). It owns the grouping of blocks into loss records (by
 * kind and allocation stack), the records of cycles and of runtime objects, the totals, the
 * --since subtraction, and each trace's frames (frames.h) for the whole life of the set. The
 * classification is classify.c's and the object analysis objects.c's; it must not print
 * (report/ does) nor symbolize other than through frames.c. */
#define _GNU_SOURCE
#include "leaks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct keyed {
    int kind;
    uint32_t stack;
    size_t block;
} keyed_t;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed_t *x = a, *y = b;
    if (x->kind != y->kind) return x->kind - y->kind;
    if (x->stack != y->stack) return x->stack < y->stack ? -1 : 1;
    return x->block < y->block ? -1 : x->block > y->block;
}

static int cmp_leak(const void *a, const void *b)
{
    const lg_leak_t *x = a, *y = b;
    uint64_t tx = x->bytes + x->indirect_bytes, ty = y->bytes + y->indirect_bytes;
    if (tx != ty) return tx > ty ? -1 : 1;
    if (x->kind != y->kind) return y->kind - x->kind;
    if (x->blocks != y->blocks) return x->blocks > y->blocks ? -1 : 1;
    return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int add_leak(lg_leakset_t *ls, size_t *cap, const lg_leak_t *l)
{
    if (ls->nleaks == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        lg_leak_t *v = realloc(ls->leaks, nc * sizeof *v);
        if (!v) return -ENOMEM;
        ls->leaks = v;
        *cap = nc;
    }
    ls->leaks[ls->nleaks++] = *l;
    return 0;
}

static const lg_snapshot_t *pick_snapshot(const lg_trace_t *t, uint32_t check)
{
    const lg_snapshot_t *exit_snap = NULL;
    for (size_t i = 0; i < t->nsnaps; i++) {
        if (check && t->snaps[i].id == check) return &t->snaps[i];
        if (t->snaps[i].reason == 1 || t->snaps[i].reason == 4) exit_snap = &t->snaps[i];
    }
    if (check) return NULL;
    return exit_snap ? exit_snap : (t->nsnaps ? &t->snaps[t->nsnaps - 1] : NULL);
}

/* Records of a trace without a snapshot: every block still allocated, by stack. */
static int unfreed_records(lg_leakset_t *ls, size_t ti, size_t *cap)
{
    lg_trace_t *t = &ls->traces[ti];
    lg_totals_t *pt = &ls->procs[ti].totals;
    keyed_t *k = malloc((t->nlive ? t->nlive : 1) * sizeof *k);
    if (!k) return -ENOMEM;
    for (size_t i = 0; i < t->nlive; i++) k[i] = (keyed_t){0, t->live[i].stack, i};
    if (t->nlive > 1) qsort(k, t->nlive, sizeof *k, cmp_keyed);
    size_t first = ls->nleaks;
    for (size_t i = 0; i < t->nlive; i++) {
        const lg_block_t *b = &t->live[k[i].block];
        if (i == 0 || k[i].stack != k[i - 1].stack) {
            lg_leak_t l = {.kind = LG_KIND_UNFREED, .trace = ti, .stack = b->stack, .fn = b->fn,
                           .seq = b->seq};
            if (add_leak(ls, cap, &l)) {
                free(k);
                return -ENOMEM;
            }
        }
        ls->leaks[ls->nleaks - 1].bytes += b->size;
        ls->leaks[ls->nleaks - 1].blocks++;
        pt->bytes[LG_KIND_UNFREED] += b->size;
        pt->blocks[LG_KIND_UNFREED]++;
    }
    pt->live_bytes = pt->bytes[LG_KIND_UNFREED];
    pt->live_blocks = pt->blocks[LG_KIND_UNFREED];
    free(k);
    if (ls->nleaks - first > 1)
        qsort(ls->leaks + first, ls->nleaks - first, sizeof *ls->leaks, cmp_leak);
    return 0;
}

static int cycle_records(lg_leakset_t *ls, size_t ti, const lg_snapshot_t *S, const lg_class_t *c,
                         size_t *cap, size_t *ccap)
{
    lg_totals_t *pt = &ls->procs[ti].totals;
    for (size_t ci = 0; ci < c->ncycles; ci++) {
        const lg_cycle_t *cy = &c->cycles[ci];
        if (ls->ncycles == *ccap) {
            size_t nc = *ccap ? *ccap * 2 : 16;
            lg_cycle_rec_t *v = realloc(ls->cycles, nc * sizeof *v);
            if (!v) return -ENOMEM;
            ls->cycles = v;
            *ccap = nc;
        }
        lg_cycle_rec_t *r = &ls->cycles[ls->ncycles];
        *r = (lg_cycle_rec_t){.trace = ti, .nmembers = cy->nmembers, .bytes = cy->bytes,
                              .keeps_bytes = cy->keeps_bytes, .keeps_blocks = cy->keeps_blocks};
        r->members = calloc(cy->nmembers, sizeof *r->members);
        if (!r->members) return -ENOMEM;
        ls->ncycles++;
        size_t ne = 0, necap = 0;
        for (size_t m = 0; m < cy->nmembers; m++) {
            uint32_t b = cy->members[m];
            r->members[m] = (lg_cycle_member_t){S->addr[b], S->size[b], S->aseq[b], S->stack[b],
                                                S->fn[b], c->kind[b]};
            for (size_t e = S->edge_start[b]; e < S->edge_start[b + 1]; e++) {
                uint32_t to = S->edge_to[e];
                if (c->cycle_of[to] != ci + 1) continue;
                size_t tm = 0; /* member index of `to` (members are ascending) */
                size_t lo = 0, hi = cy->nmembers;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if (cy->members[mid] < to) lo = mid + 1;
                    else hi = mid;
                }
                tm = lo;
                if (ne == necap) {
                    necap = necap ? necap * 2 : 8;
                    lg_cycle_edge_t *v = realloc(r->edges, necap * sizeof *v);
                    if (!v) return -ENOMEM;
                    r->edges = v;
                }
                r->edges[ne++] = (lg_cycle_edge_t){(uint32_t)m, (uint32_t)tm, S->edge_src_off[e],
                                                   S->edge_dst_off[e]};
            }
        }
        r->nedges = ne;
        pt->cycles++;
        pt->cycle_bytes += cy->bytes;
        pt->cycle_blocks += cy->nmembers;
        lg_leak_t l = {.kind = LG_KIND_CYCLE, .trace = ti, .stack = r->members[0].stack,
                       .fn = r->members[0].fn, .seq = r->members[0].seq, .bytes = cy->bytes,
                       .blocks = cy->nmembers,
                       .indirect_bytes = cy->keeps_bytes, .indirect_blocks = cy->keeps_blocks,
                       .cycle = ls->ncycles - 1};
        if (add_leak(ls, cap, &l)) return -ENOMEM;
    }
    return 0;
}

/* Loss records of a classified snapshot: blocks grouped by (kind, stack). */
static int classified_records(lg_leakset_t *ls, size_t ti, const lg_snapshot_t *S, size_t *cap,
                              size_t *ccap)
{
    lg_class_t c;
    int rc = lg_classify(S, &c);
    if (rc) return rc;
    lg_totals_t *pt = &ls->procs[ti].totals;
    keyed_t *k = malloc((S->nblocks ? S->nblocks : 1) * sizeof *k);
    if (!k) {
        lg_class_free(&c);
        return -ENOMEM;
    }
    for (size_t i = 0; i < S->nblocks; i++) k[i] = (keyed_t){c.kind[i], S->stack[i], i};
    if (S->nblocks > 1) qsort(k, S->nblocks, sizeof *k, cmp_keyed);
    size_t first = ls->nleaks;
    for (size_t i = 0; i < S->nblocks && rc == 0; i++) {
        size_t b = k[i].block;
        if (i == 0 || k[i].kind != k[i - 1].kind || k[i].stack != k[i - 1].stack) {
            lg_leak_t l = {.kind = k[i].kind, .trace = ti, .stack = S->stack[b], .fn = S->fn[b],
                           .seq = S->aseq[b]};
            rc = add_leak(ls, cap, &l);
            if (rc) break;
        }
        lg_leak_t *l = &ls->leaks[ls->nleaks - 1];
        l->bytes += S->size[b];
        l->blocks++;
        if (k[i].kind == LG_KIND_DEFINITE) {
            l->indirect_bytes += c.ind_bytes[b];
            l->indirect_blocks += c.ind_blocks[b];
        }
        pt->bytes[k[i].kind] += S->size[b];
        pt->blocks[k[i].kind]++;
        pt->live_bytes += S->size[b];
        pt->live_blocks++;
    }
    free(k);
    if (rc == 0 && ls->nleaks - first > 1)
        qsort(ls->leaks + first, ls->nleaks - first, sizeof *ls->leaks, cmp_leak);
    if (rc == 0) rc = cycle_records(ls, ti, S, &c, cap, ccap);
    lg_class_free(&c);
    return rc;
}

/* Records of the runtime-object analysis of trace ti (objects.c): one per group of alike
 * cycles, one per group of refcount-leaked objects (same type and allocation stack). */
static int object_records(lg_leakset_t *ls, size_t ti, const lg_snapshot_t *S, size_t *cap)
{
    int rc = lg_objects_build(&ls->frames[ti], ti, S, &ls->objs[ti]);
    const lg_objects_t *o = ls->objs[ti];
    if (rc || !o) return rc;
    lg_totals_t *pt = &ls->procs[ti].totals;
    for (size_t g = 0; g < o->ncgroups; g++) {
        const lg_ogroup_t *gr = &o->cgroups[g];
        const lg_onode_t *x = &o->nodes[o->cycles[gr->first].members[0]];
        lg_leak_t l = {.kind = LG_KIND_CYCLE, .trace = ti, .stack = x->stack, .seq = x->aseq,
                       .bytes = gr->bytes, .blocks = gr->objects, .indirect_bytes = gr->keeps_bytes,
                       .indirect_blocks = gr->keeps_objects, .object = true, .ogroup = g};
        if ((rc = add_leak(ls, cap, &l))) return rc;
        pt->obj_cycles += gr->count;
        pt->obj_cycle_objects += gr->objects;
        pt->obj_cycle_bytes += gr->bytes;
    }
    for (size_t g = 0; g < o->nlgroups; g++) {
        const lg_ogroup_t *gr = &o->lgroups[g];
        const lg_onode_t *x = &o->nodes[o->leaks[gr->first].node];
        lg_leak_t l = {.kind = LG_KIND_REFCOUNT, .trace = ti, .stack = x->stack, .seq = x->aseq,
                       .bytes = gr->bytes, .blocks = gr->objects, .indirect_bytes = gr->keeps_bytes,
                       .indirect_blocks = gr->keeps_objects, .object = true, .ogroup = g};
        if ((rc = add_leak(ls, cap, &l))) return rc;
        pt->refcount_objects += gr->objects;
        pt->refcount_bytes += gr->bytes;
        pt->refcount_refs += gr->refs;
    }
    return 0;
}

static int leakset_build(lg_leakset_t *ls, lg_trace_t *traces, size_t n, const lg_leak_opts_t *o,
                         char *err, size_t errlen);

/* Keeps in ls only what grew since `base` (same traces, an earlier check): per (trace, kind,
 * stack), bytes and blocks minus the base's, records that did not grow dropped; totals are
 * recomputed from what remains. Cycles are kept when they are new (no cycle of the same
 * size and first stack at the base). */
static void subtract(lg_leakset_t *ls, const lg_leakset_t *base)
{
    size_t kept = 0;
    memset(&ls->totals, 0, sizeof ls->totals);
    for (size_t ti = 0; ti < ls->ntraces; ti++) memset(&ls->procs[ti].totals, 0, sizeof(lg_totals_t));
    for (size_t i = 0; i < ls->nleaks; i++) {
        lg_leak_t l = ls->leaks[i];
        for (size_t j = 0; j < base->nleaks; j++) {
            const lg_leak_t *b = &base->leaks[j];
            if (b->trace != l.trace || b->kind != l.kind || b->stack != l.stack) continue;
            if (b->object != l.object) continue;
            if (l.kind == LG_KIND_CYCLE && b->bytes != l.bytes) continue;
            l.bytes = l.bytes > b->bytes ? l.bytes - b->bytes : 0;
            l.blocks = l.blocks > b->blocks ? l.blocks - b->blocks : 0;
            l.indirect_bytes = l.indirect_bytes > b->indirect_bytes ? l.indirect_bytes - b->indirect_bytes : 0;
            l.indirect_blocks = l.indirect_blocks > b->indirect_blocks ? l.indirect_blocks - b->indirect_blocks : 0;
            break;
        }
        if (!l.bytes && !l.blocks && !l.indirect_bytes) continue;
        ls->leaks[kept++] = l;
        lg_totals_t *pt = &ls->procs[l.trace].totals;
        if (l.object) { /* runtime objects: counted in objects, not blocks */
            const lg_objects_t *ob = ls->objs[l.trace];
            const lg_ogroup_t *gr = l.kind == LG_KIND_CYCLE ? &ob->cgroups[l.ogroup] : &ob->lgroups[l.ogroup];
            lg_totals_t *tt[2] = {pt, &ls->totals};
            for (int j = 0; j < 2; j++) {
                if (l.kind == LG_KIND_CYCLE) {
                    tt[j]->obj_cycles += gr->count;
                    tt[j]->obj_cycle_objects += l.blocks;
                    tt[j]->obj_cycle_bytes += l.bytes;
                } else {
                    tt[j]->refcount_objects += l.blocks;
                    tt[j]->refcount_bytes += l.bytes;
                    tt[j]->refcount_refs += gr->refs;
                }
            }
            continue;
        }
        if (l.kind == LG_KIND_CYCLE) {
            pt->cycles++;
            pt->cycle_bytes += l.bytes;
            pt->cycle_blocks += l.blocks;
            ls->totals.cycles++;
            ls->totals.cycle_bytes += l.bytes;
            ls->totals.cycle_blocks += l.blocks;
            continue;
        }
        pt->bytes[l.kind] += l.bytes;
        pt->blocks[l.kind] += l.blocks;
        pt->live_bytes += l.bytes;
        pt->live_blocks += l.blocks;
        ls->totals.bytes[l.kind] += l.bytes;
        ls->totals.blocks[l.kind] += l.blocks;
        ls->totals.live_bytes += l.bytes;
        ls->totals.live_blocks += l.blocks;
    }
    ls->nleaks = kept;
}

int lg_leakset_build(lg_leakset_t *ls, lg_trace_t *traces, size_t n, const lg_leak_opts_t *o,
                     char *err, size_t errlen)
{
    int rc = leakset_build(ls, traces, n, o, err, errlen);
    if (rc || !o->since) return rc;
    lg_leakset_t base;
    lg_leak_opts_t bo = {.check = o->since};
    rc = leakset_build(&base, traces, n, &bo, err, errlen);
    if (rc == 0) subtract(ls, &base);
    lg_leakset_free(&base);
    return rc;
}

static int leakset_build(lg_leakset_t *ls, lg_trace_t *traces, size_t n, const lg_leak_opts_t *o,
                         char *err, size_t errlen)
{
    memset(ls, 0, sizeof *ls);
    ls->traces = traces;
    ls->ntraces = n;
    ls->procs = calloc(n ? n : 1, sizeof *ls->procs);
    ls->frames = calloc(n ? n : 1, sizeof *ls->frames);
    ls->objs = calloc(n ? n : 1, sizeof *ls->objs);
    if (!ls->procs || !ls->frames || !ls->objs) return -ENOMEM;
    for (size_t ti = 0; ti < n; ti++) lg_frames_init(&ls->frames[ti], &traces[ti]);
    size_t cap = 0, ccap = 0;
    for (size_t ti = 0; ti < n; ti++) {
        const lg_snapshot_t *S = pick_snapshot(&traces[ti], o->check);
        if (o->check && !S) {
            snprintf(err, errlen, "%s: no check number %u in this trace", traces[ti].path,
                     o->check);
            return -ENOENT;
        }
        ls->procs[ti].snap = S;
        int rc = S ? classified_records(ls, ti, S, &cap, &ccap) : unfreed_records(ls, ti, &cap);
        if (rc == 0) rc = object_records(ls, ti, S, &cap);
        if (rc) {
            snprintf(err, errlen, "out of memory");
            return rc;
        }
        const lg_totals_t *pt = &ls->procs[ti].totals;
        for (int k = 0; k < LG_KIND_COUNT; k++) {
            ls->totals.bytes[k] += pt->bytes[k];
            ls->totals.blocks[k] += pt->blocks[k];
        }
        ls->totals.cycles += pt->cycles;
        ls->totals.cycle_bytes += pt->cycle_bytes;
        ls->totals.cycle_blocks += pt->cycle_blocks;
        ls->totals.live_bytes += pt->live_bytes;
        ls->totals.live_blocks += pt->live_blocks;
        ls->totals.obj_cycles += pt->obj_cycles;
        ls->totals.obj_cycle_objects += pt->obj_cycle_objects;
        ls->totals.obj_cycle_bytes += pt->obj_cycle_bytes;
        ls->totals.refcount_objects += pt->refcount_objects;
        ls->totals.refcount_bytes += pt->refcount_bytes;
        ls->totals.refcount_refs += pt->refcount_refs;
    }
    return 0;
}

void lg_leakset_free(lg_leakset_t *ls)
{
    for (size_t i = 0; i < ls->ncycles; i++) {
        free(ls->cycles[i].members);
        free(ls->cycles[i].edges);
    }
    free(ls->cycles);
    free(ls->leaks);
    for (size_t i = 0; ls->objs && i < ls->ntraces; i++) lg_objects_free(ls->objs[i]);
    free(ls->objs);
    for (size_t i = 0; ls->frames && i < ls->ntraces; i++) lg_frames_fini(&ls->frames[i]);
    free(ls->frames);
    free(ls->procs);
    memset(ls, 0, sizeof *ls);
}

long lg_leakset_frames(lg_leakset_t *ls, size_t ti, uint32_t stack, uint64_t seq, int max_frames,
                       lg_frame_t **out)
{
    return lg_frames_stack(&ls->frames[ti], stack, seq, max_frames, out);
}

bool lg_objects_site(lg_leakset_t *ls, size_t ti, uint32_t stack, uint64_t seq, lg_frame_t *site,
                     bool *store)
{
    return lg_objects_call_site(&ls->frames[ti], stack, seq, site, store);
}
