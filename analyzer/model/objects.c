/* The runtime-object analysis (see objects.h; the rules are in docs/rcrt-analysis.md). It owns
 * the passes below and the node graph they share (ctx_t, built once after the counts); the
 * cycle search is scc.c's and symbolization goes through the trace's frames (frames.h). It
 * must not print, and must not know the leak set: leaks.c turns its groups into records.
 * Complexity per pass: analyzer/model/README.md (several passes are not linear today).
 *
 * How it works, on the walk W of the chosen check and the object section of its snapshot:
 *  1. Nodes are W's objects (containers); objects that appear only as referents (int, str) are
 *     leaves and are not analysed. One replay of the object events up to W gives each node its
 *     allocation stack and its last event.
 *  2. Counts: incoming(o) = W's references to o; holders(o) = root and malloc words pointing
 *     exactly at o (scan.c, lg_scan_objects). external(o) = refcount - incoming - holders.
 *     A word inside an object that points at o without a W reference saying so is a hidden
 *     pointer; such pointers explain up to external(o) references and become hidden edges.
 *     unexplained(o) = external(o) - accepted hidden pointers, at least 0.
 *  3. States: HELD = reachable (edges, hidden edges included) from a node with holders,
 *     without passing through the garbage list (the list rc_gc_garbage() allocated); GARBAGE
 *     = reachable only through it; LOST = the rest. Post: the garbage list itself is HELD.
 *  4. Cycles: strongly connected components of the non-HELD nodes (scc.c, the same
 *     search as classify.c's) with two or more members or a self edge. Each gets a closed path through its
 *     oldest member (breadth-first inside the component), what it keeps alive, and the first
 *     reason of enum lg_why that applies, from the collector events after it formed.
 *  5. Refcount leaks: nodes with unexplained > 0, in any state but the garbage list. Each
 *     one's history is replayed: its allocation is the first reference; each decrement is
 *     matched to an unmatched increment, preferring (a) the same kind (a reference the
 *     runtime stored for its caller, or one the caller took itself) at the same call site,
 *     (b) the same kind, (c) the same call site, (d) the newest. The unexplained references
 *     are blamed on the unmatched ones, those the caller took itself first, newest first; the
 *     blamed call sites are ranked over all leaked objects (the missing decrefs).
 *  6. Collector: per generation, collections, objects collected and uncollectable, pauses;
 *     the objects freed while a collection ran, by type and by allocation site. */
#define _GNU_SOURCE
#include "objects.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrmap.h"
#include "scc.h"

/* ---- tunables -------------------------------------------------------------------------- */
#define RC_THRESHOLD0 700     /* rcrt's (and CPython's) generation-0 threshold */
#define HIST_MATCH_MAX 200000 /* longer histories are matched newest-first only (O(n) each) */
/* ---------------------------------------------------------------------------------------- */

const char *lg_why_name(int why)
{
    switch (why) {
    case LG_WHY_GARBAGE: return "garbage-list";
    case LG_WHY_HIDDEN: return "hidden-reference";
    case LG_WHY_EXTERNAL: return "unexplained-reference";
    case LG_WHY_DISABLED: return "collector-disabled";
    case LG_WHY_NO_GC: return "no-collection";
    case LG_WHY_YOUNG: return "only-young-collections";
    default: return "unknown";
    }
}

/* ---- address -> index (nodes, leaks, allocation events), on common/addrmap.h ------------- */

/* The index stored for address a, -1 when there is none (a == 0 never has one). */
static long index_at(const lg_addrmap_t *m, uint64_t a)
{
    const uint64_t *v = a ? lg_addrmap_find(m, a) : NULL;
    return v ? (long)*v : -1;
}

/* Maps a to i (a later index replaces an earlier one); address 0 is not mapped. Returns 0 or
 * -ENOMEM. */
static int index_put(lg_addrmap_t *m, uint64_t a, size_t i)
{
    return a ? lg_addrmap_put(m, a, i) : 0;
}

/* ---- call sites ---------------------------------------------------------------------------- */
static bool runtime_frame(const lg_frame_t *f)
{
    if (f->function && !strncmp(f->function, "rc_", 3)) return true;
    if (f->file && strstr(f->file, "/runtime/")) return true;
    if (f->module && (strstr(f->module, "librcrt") || strstr(f->module, "libleakgraph")))
        return true;
    return false;
}

static bool primitive(const char *fn)
{
    static const char *const names[] = {"rc_incref", "rc_decref", "rc_xincref", "rc_xdecref",
                                        "rc_incref_traced", "rc_decref_traced", "rc_setref"};
    if (!fn) return false;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(fn, names[i])) return true;
    return false;
}

bool lg_objects_call_site(lg_frames_t *frames, uint32_t stack, uint64_t seq, lg_frame_t *site,
                          bool *store)
{
    lg_frame_t *fr;
    long n = lg_frames_stack(frames, stack, seq, 0, &fr);
    bool st = false, found = false;
    for (long k = 0; k < n; k++) {
        if (runtime_frame(&fr[k])) {
            if (!primitive(fr[k].function)) st = true;
            continue;
        }
        *site = fr[k];
        found = true;
        break;
    }
    if (!found && n > 0) *site = fr[n - 1];
    free(fr);
    if (store) *store = st;
    return n > 0;
}

/* Per-stack cache of sites (symbolizing is the expensive part). */
typedef struct sites {
    lg_frames_t *frames;
    lg_frame_t *frame;
    uint8_t *state; /* 0 unknown, 1 resolved, 2 resolved and store, 3 no stack */
} sites_t;

static const lg_frame_t *site_of(sites_t *C, uint32_t stack, uint64_t seq, bool *store)
{
    if (!stack || !C->state) {
        if (store) *store = false;
        return NULL;
    }
    if (!C->state[stack]) {
        bool st;
        C->state[stack] = lg_objects_call_site(C->frames, stack, seq, &C->frame[stack], &st)
                              ? (st ? 2 : 1)
                              : 3;
    }
    if (store) *store = C->state[stack] == 2;
    return C->state[stack] == 3 ? NULL : &C->frame[stack];
}

static bool same_site(const lg_frame_t *a, const lg_frame_t *b)
{
    if (!a || !b) return false;
    if (a->function && b->function)
        return a->function == b->function || !strcmp(a->function, b->function);
    return a->address == b->address;
}

static bool same_line(const lg_frame_t *a, const lg_frame_t *b)
{
    if (!a || !b) return a == b;
    if (a->file && b->file && a->line)
        return a->line == b->line && !strcmp(a->file, b->file) && same_site(a, b);
    return a->address == b->address;
}

/* ---- naming ------------------------------------------------------------------------------ */
const char *lg_objects_name(const lg_objects_t *o, const lg_trace_t *t, uint32_t node, char *buf,
                            size_t len)
{
    const lg_onode_t *x = &o->nodes[node];
    snprintf(buf, len, "%s@%u", x->type < t->ntypes ? t->types[x->type] : "?", node + 1);
    return buf;
}

const char *lg_objects_step(const lg_objects_t *o, const lg_trace_t *t, const lg_ostep_t *s,
                            char *buf, size_t len)
{
    if (s->ref == SIZE_MAX) {
        snprintf(buf, len, "+%u (not reported by traverse)", s->word * 8);
        return buf;
    }
    const lg_walk_ref_t *r = &o->walk->refs[s->ref];
    const char *label = r->label && r->label < t->nlabels ? t->labels[r->label] : NULL;
    const lg_onode_t *from = &o->nodes[s->from];
    bool dict = from->type < t->ntypes && !strcmp(t->types[from->type], "dict");
    if (label && *label && dict) snprintf(buf, len, "['%s']", label);
    else if (label && *label) snprintf(buf, len, ".%s", label);
    else if (r->index >= 0) snprintf(buf, len, "[%" PRId64 "]", r->index);
    else snprintf(buf, len, "(ref)");
    return buf;
}

const char *lg_objects_why(const lg_objects_t *o, const lg_trace_t *t, const lg_ocycle_t *c,
                           char *buf, size_t len)
{
    char nm[128];
    const lg_onode_t *x = &o->nodes[c->why_node];
    const char *tn = x->type < t->ntypes ? t->types[x->type] : "?";
    switch (c->why) {
    case LG_WHY_GARBAGE:
        snprintf(buf, len, "uncollectable: the collector found it and put it in gc.garbage%s",
                 c->why_n ? " (a member's type has a legacy finalizer, legacy_del)" : "");
        break;
    case LG_WHY_HIDDEN:
        snprintf(buf, len, "a reference the type's traverse does not report: %s has %" PRId64
                 " reference(s) that no reported edge explains, and a pointer to it was found "
                 "inside the cycle; the collector counts it as external and keeps the cycle",
                 lg_objects_name(o, t, c->why_node, nm, sizeof nm), x->refcount - x->incoming);
        break;
    case LG_WHY_EXTERNAL:
        snprintf(buf, len, "%s has %" PRId64 " reference(s) that no object or root explains (a "
                 "missing decref, or a reference the type's traverse does not report); the "
                 "collector counts them as external and keeps the cycle",
                 lg_objects_name(o, t, c->why_node, nm, sizeof nm), x->unexplained);
        break;
    case LG_WHY_DISABLED:
        snprintf(buf, len, "the collector was disabled: no collection ran after it formed, "
                 "though %" PRIu64 " containers were allocated (the threshold is %d)",
                 c->why_n, RC_THRESHOLD0);
        break;
    case LG_WHY_NO_GC:
        snprintf(buf, len, "no collection ran after it formed (%" PRIu64 " containers allocated "
                 "since, the automatic threshold is %d)", c->why_n, RC_THRESHOLD0);
        break;
    case LG_WHY_YOUNG:
        snprintf(buf, len, "only young collections ran after it formed (generation 0: %" PRIu64
                 ", 1: %" PRIu64 "), and its members had been promoted; a full collection "
                 "would free it", c->gens[0], c->gens[1]);
        break;
    default:
        snprintf(buf, len, "not known: %" PRIu64 " full collection(s) ran after it formed",
                 c->gens[2]);
        break;
    }
    (void)tn;
    return buf;
}

/* ---- the graph ----------------------------------------------------------------------------- */
typedef struct hidden {
    uint32_t from, to, word;
} hidden_t;

typedef struct ctx {
    lg_objects_t *o;
    const lg_trace_t *t;
    lg_addrmap_t map;    /* address -> node */
    hidden_t *hid;       /* accepted hidden pointers, sorted by from, then word */
    size_t nhid;
    /* the graph of the nodes (compressed sparse rows, built by graph() after counts()): the
     * successors of v are eto[estart[v] .. estart[v+1]), its walk references to nodes in walk
     * order, then its hidden edges by word; eorig is each edge's walk reference, or nrefs +
     * its index in hid */
    size_t *estart;
    uint32_t *eto;
    size_t *eorig;
    sites_t sites;
} ctx_t;

/* Successors of node v, in the graph's order. Iterates with *k from 0. */
static bool next_succ(const ctx_t *C, uint32_t v, size_t *k, uint32_t *to, lg_ostep_t *step)
{
    size_t e = C->estart[v] + *k;
    if (e >= C->estart[v + 1]) return false;
    (*k)++;
    *to = C->eto[e];
    if (step) {
        size_t r = C->eorig[e], nr = C->o->walk->nrefs;
        *step = r < nr ? (lg_ostep_t){v, *to, r, 0}
                       : (lg_ostep_t){v, *to, SIZE_MAX, C->hid[r - nr].word};
    }
    return true;
}

static int cmp_hidden(const void *a, const void *b)
{
    const hidden_t *x = a, *y = b;
    if (x->from != y->from) return x->from < y->from ? -1 : 1;
    return x->word < y->word ? -1 : x->word > y->word;
}

static long held_index(const lg_snapshot_t *S, uint64_t a)
{
    size_t lo = 0, hi = S->nheld;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (S->held_addr[mid] < a) lo = mid + 1;
        else hi = mid;
    }
    return lo < S->nheld && S->held_addr[lo] == a ? (long)lo : -1;
}

/* Counts and hidden pointers (steps 1 and 2). */
static int counts(ctx_t *C)
{
    lg_objects_t *o = C->o;
    const lg_walk_t *w = o->walk;
    for (size_t r = 0; r < w->nrefs; r++) {
        long v = index_at(&C->map, w->refs[r].to);
        if (v >= 0) o->nodes[v].incoming++;
    }
    const lg_snapshot_t *S = o->snap;
    if (o->holders_known) {
        for (size_t i = 0; i < o->n; i++) {
            long h = held_index(S, o->nodes[i].addr);
            if (h < 0) continue;
            o->nodes[i].roots = S->held_roots[h];
            o->nodes[i].blocks = S->held_blocks[h];
            o->nodes[i].first_holder = S->held_first[h];
        }
    }
    for (size_t i = 0; i < o->n; i++) {
        lg_onode_t *x = &o->nodes[i];
        /* the count comes from the trace: any int64, so no signed arithmetic on it */
        uint64_t explained = (uint64_t)x->incoming + x->roots + x->blocks;
        uint64_t ext = x->refcount > 0 && (uint64_t)x->refcount > explained
                           ? (uint64_t)x->refcount - explained : 0;
        x->unexplained = (int64_t)ext;
    }
    /* hidden pointers: per (from, to), pointer words beyond the walk references */
    size_t cap = 0;
    for (size_t p = 0; S && S->has_objects && p < S->nptrs;) {
        size_t q = p;
        while (q < S->nptrs && S->ptr_from[q] == S->ptr_from[p]) q++;
        long from = index_at(&C->map, S->ptr_from[p]);
        for (size_t k = p; from >= 0 && k < q; k++) {
            long to = index_at(&C->map, S->ptr_to[k]);
            if (to < 0 || o->nodes[to].unexplained <= 0) continue;
            /* words of `from` pointing at `to`, minus its reported references to `to` */
            size_t words = 0, refs = 0, before = 0;
            for (size_t j = p; j < q; j++)
                if (S->ptr_to[j] == S->ptr_to[k]) {
                    words++;
                    if (j < k) before++;
                }
            const lg_onode_t *f = &o->nodes[from];
            for (size_t r = f->ref_start; r < f->ref_end; r++) refs += w->refs[r].to == S->ptr_to[k];
            if (before < refs || words <= refs) continue; /* this word is a reported one */
            if (C->nhid == cap) {
                cap = cap ? cap * 2 : 16;
                hidden_t *v = realloc(C->hid, cap * sizeof *v);
                if (!v) return -ENOMEM;
                C->hid = v;
            }
            C->hid[C->nhid++] = (hidden_t){(uint32_t)from, (uint32_t)to, S->ptr_word[k]};
            o->nodes[to].hidden_in++;
            o->nodes[to].unexplained--;
        }
        p = q;
    }
    if (C->nhid > 1) qsort(C->hid, C->nhid, sizeof *C->hid, cmp_hidden);
    return 0;
}

/* The graph (ctx_t): each node's walk references that point at nodes, then its hidden edges.
 * Built once, so that the passes after it follow edges without an address lookup. */
static int graph(ctx_t *C)
{
    const lg_objects_t *o = C->o;
    const lg_walk_t *w = o->walk;
    size_t cap = w->nrefs + C->nhid, ne = 0, h = 0;
    C->estart = malloc((o->n + 1) * sizeof *C->estart);
    C->eto = malloc((cap ? cap : 1) * sizeof *C->eto);
    C->eorig = malloc((cap ? cap : 1) * sizeof *C->eorig);
    if (!C->estart || !C->eto || !C->eorig) return -ENOMEM;
    for (size_t v = 0; v < o->n; v++) {
        C->estart[v] = ne;
        for (size_t r = o->nodes[v].ref_start; r < o->nodes[v].ref_end; r++) {
            long u = index_at(&C->map, w->refs[r].to);
            if (u < 0) continue;
            C->eto[ne] = (uint32_t)u;
            C->eorig[ne++] = r;
        }
        for (; h < C->nhid && C->hid[h].from == v; h++) {
            C->eto[ne] = C->hid[h].to;
            C->eorig[ne++] = w->nrefs + h;
        }
    }
    C->estart[o->n] = ne;
    return 0;
}

/* Marks every node reachable from the nodes with mark[v] == from as `to` (breadth-first; the
 * node `stop` is not passed through). */
static int spread(const ctx_t *C, uint8_t *mark, uint8_t from, uint8_t to, long stop)
{
    size_t n = C->o->n, head = 0, tail = 0;
    uint32_t *q = malloc((n ? n : 1) * sizeof *q);
    if (!q) return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (mark[i] == from) q[tail++] = (uint32_t)i;
    for (size_t i = 0; i < tail; i++) mark[q[i]] = to;
    while (head < tail) {
        uint32_t v = q[head++], u;
        if ((long)v == stop) continue;
        size_t k = 0;
        while (next_succ(C, v, &k, &u, NULL))
            if (mark[u] != to && mark[u] != 9) {
                mark[u] = to;
                q[tail++] = u;
            }
    }
    free(q);
    return 0;
}

static int states(ctx_t *C)
{
    lg_objects_t *o = C->o;
    uint8_t *mark = calloc(o->n ? o->n : 1, 1); /* 0 unknown, 1 held root, 2 held, 3 garbage root, 4 garbage */
    if (!mark) return -ENOMEM;
    for (size_t i = 0; i < o->n; i++)
        if (o->nodes[i].roots + o->nodes[i].blocks > 0 && (long)i != o->garbage_list) mark[i] = 1;
    int rc = spread(C, mark, 1, 2, o->garbage_list);
    if (rc == 0 && o->garbage_list >= 0) {
        mark[o->garbage_list] = 9; /* the list itself is the runtime's */
        size_t k = 0;
        uint32_t u;
        while (next_succ(C, (uint32_t)o->garbage_list, &k, &u, NULL))
            if (!mark[u]) mark[u] = 3;
        rc = spread(C, mark, 3, 4, -1);
    }
    for (size_t i = 0; i < o->n; i++) {
        lg_onode_t *x = &o->nodes[i];
        x->state = mark[i] == 2 || mark[i] == 9 ? LG_OBJ_HELD
                   : mark[i] == 4               ? LG_OBJ_GARBAGE
                                                : LG_OBJ_LOST;
        if (x->state != LG_OBJ_HELD) {
            o->lost_objects++;
            o->lost_bytes += x->size;
        }
    }
    free(mark);
    return rc;
}

/* ---- cycles -------------------------------------------------------------------------------- */
/* Every pass below is linear in the nodes, edges and collector events, whatever the number of
 * cycles (issue #14): the per-node arrays are made once and reused through stamps (a node is
 * marked for the current use when its stamp equals the use's number), what does not depend on
 * the cycle is computed once (why_ctx_t), and cycles are grouped by sorting their signatures.
 * Before, each cycle allocated and cleared arrays over every node, deduplicated its members
 * by comparing each with all before it, and looked through every collector event and every
 * group so far: 20k two-object cycles took 4.8 s to report. */
typedef struct scratch {
    lg_ostep_t *via;  /* closed_path: the step that reached a node */
    uint32_t *stamp;  /* per node: the use that last marked it */
    uint32_t *q;      /* a queue of nodes */
    uint32_t use;     /* the current use's number */
} scratch_t;

static int scratch_init(scratch_t *W, size_t n)
{
    W->via = malloc((n ? n : 1) * sizeof *W->via);
    W->stamp = calloc(n ? n : 1, sizeof *W->stamp);
    W->q = malloc((n ? n : 1) * sizeof *W->q);
    W->use = 0;
    return W->via && W->stamp && W->q ? 0 : -ENOMEM;
}

static void scratch_free(scratch_t *W)
{
    free(W->via), free(W->stamp), free(W->q);
}

/* A new use: no node is marked for it. */
static uint32_t scratch_use(scratch_t *W, size_t n)
{
    if (++W->use == 0) { /* wrapped: clear the stamps once */
        memset(W->stamp, 0, (n ? n : 1) * sizeof *W->stamp);
        W->use = 1;
    }
    return W->use;
}

/* A shortest closed path from m0 back to m0 inside its cycle (cycle_of: per node, its cycle
 * + 1). */
static int closed_path(const ctx_t *C, scratch_t *W, const uint32_t *cycle_of, uint32_t m0,
                       lg_ocycle_t *cy)
{
    uint32_t use = scratch_use(W, C->o->n);
    size_t head = 0, tail = 0;
    W->q[tail++] = m0;
    bool done = false;
    lg_ostep_t last = {0};
    while (head < tail && !done) {
        uint32_t v = W->q[head++], u;
        size_t k = 0;
        lg_ostep_t st;
        while (next_succ(C, v, &k, &u, &st)) {
            if (cycle_of[u] != cycle_of[m0]) continue;
            if (u == m0) {
                last = st;
                done = true;
                break;
            }
            if (W->stamp[u] == use) continue;
            W->stamp[u] = use;
            W->via[u] = st;
            W->q[tail++] = u;
        }
    }
    size_t len = 1;
    for (uint32_t v = last.from; v != m0; v = W->via[v].from) len++;
    cy->path = malloc(len * sizeof *cy->path);
    if (!cy->path) return -ENOMEM;
    cy->npath = len;
    cy->path[len - 1] = last;
    size_t i = len - 1;
    for (uint32_t v = last.from; v != m0; v = W->via[v].from) cy->path[--i] = W->via[v];
    return 0;
}

/* What explain() needs from the collector's events, the same for every cycle. */
typedef struct why_ctx {
    bool uncollectable;  /* a collection found uncollectable objects */
    uint64_t peak;       /* containers allocated, net of frees, since the last collection
                          * before the walk (their peak) */
    uint64_t *start_seq; /* collections started before the walk, by sequence number */
    uint8_t *start_gen;  /* ... and their generation, in the same order */
    uint32_t (*before)[3]; /* before[i][g]: collections of generation g among the first i */
    size_t nstart;
} why_ctx_t;

static int cmp_u64_pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

static int why_init(const ctx_t *C, why_ctx_t *W, const uint8_t *container_type)
{
    const lg_objects_t *o = C->o;
    const lg_trace_t *t = C->t;
    *W = (why_ctx_t){0};
    uint64_t (*ev)[2] = malloc((t->ngcev ? t->ngcev : 1) * sizeof *ev);
    W->start_seq = malloc((t->ngcev ? t->ngcev : 1) * sizeof *W->start_seq);
    W->start_gen = malloc(t->ngcev ? t->ngcev : 1);
    W->before = calloc(t->ngcev + 1, sizeof *W->before);
    if (!ev || !W->start_seq || !W->start_gen || !W->before) {
        free(ev);
        return -ENOMEM;
    }
    uint64_t since = 0;
    for (size_t g = 0; g < t->ngcev; g++) {
        const lg_gc_event_t *e = &t->gcev[g];
        if (e->end && e->uncollectable) W->uncollectable = true;
        if (e->end && e->seq < o->walk->seq) since = e->seq;
        if (!e->end && e->seq <= o->walk->seq) {
            ev[W->nstart][0] = e->seq;
            ev[W->nstart++][1] = e->gen < 3 ? e->gen : 2;
        }
    }
    qsort(ev, W->nstart, sizeof *ev, cmp_u64_pair);
    for (size_t i = 0; i < W->nstart; i++) {
        W->start_seq[i] = ev[i][0];
        W->start_gen[i] = (uint8_t)ev[i][1];
        memcpy(W->before[i + 1], W->before[i], sizeof W->before[i]);
        W->before[i + 1][ev[i][1]]++;
    }
    free(ev);
    int64_t net = 0, peak = 0;
    for (size_t i = 0; i < t->nobjev; i++) {
        const lg_obj_event_t *e = &t->objev[i];
        if (e->seq <= since) continue;
        if (e->seq >= o->walk->seq) break;
        if (e->kind == LG_REC_OBJ_ALLOC && e->type < t->ntypes && container_type[e->type]) net++;
        if (net > peak) peak = net;
    }
    W->peak = (uint64_t)peak;
    return 0;
}

static void why_free(why_ctx_t *W)
{
    free(W->start_seq), free(W->start_gen), free(W->before);
}

/* Why the collector left cycle cy (enum lg_why), from the collector events after it formed. */
static void explain(const ctx_t *C, lg_ocycle_t *cy, const why_ctx_t *W)
{
    const lg_objects_t *o = C->o;
    for (size_t m = 0; m < cy->nmembers; m++)
        if (o->nodes[cy->members[m]].state == LG_OBJ_GARBAGE) {
            cy->why = LG_WHY_GARBAGE;
            cy->why_node = cy->members[m];
            /* the collection that found it: the first after it formed... or before, with
             * uncollectable objects */
            if (W->uncollectable) cy->why_n = 1;
            return;
        }
    for (size_t m = 0; m < cy->nmembers; m++)
        if (o->nodes[cy->members[m]].hidden_in) {
            cy->why = LG_WHY_HIDDEN;
            cy->why_node = cy->members[m];
            return;
        }
    for (size_t m = 0; m < cy->nmembers; m++)
        if (o->nodes[cy->members[m]].unexplained) {
            cy->why = LG_WHY_EXTERNAL;
            cy->why_node = cy->members[m];
            return;
        }
    cy->why_node = cy->members[0];
    /* the collections started after it formed (and before the walk), by generation */
    size_t lo = 0, hi = W->nstart;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (W->start_seq[mid] <= cy->formed_seq) lo = mid + 1;
        else hi = mid;
    }
    for (int g = 0; g < 3; g++) cy->gens[g] = W->before[W->nstart][g] - W->before[lo][g];
    if (cy->gens[2]) {
        cy->why = LG_WHY_UNKNOWN;
        return;
    }
    if (cy->gens[0] || cy->gens[1]) {
        cy->why = LG_WHY_YOUNG;
        return;
    }
    cy->why_n = W->peak;
    cy->why = W->peak > RC_THRESHOLD0 ? LG_WHY_DISABLED : LG_WHY_NO_GC;
}

/* Nodes outside the members that are not held and are reachable from them. */
static void keeps(const ctx_t *C, scratch_t *W, const uint32_t *members, size_t nm,
                  uint64_t *objs, uint64_t *bytes)
{
    uint32_t use = scratch_use(W, C->o->n);
    size_t head = 0, tail = 0;
    for (size_t m = 0; m < nm; m++) {
        W->stamp[members[m]] = use;
        W->q[tail++] = members[m];
    }
    *objs = *bytes = 0;
    while (head < tail) {
        uint32_t v = W->q[head++], u;
        size_t k = 0;
        while (next_succ(C, v, &k, &u, NULL)) {
            if (W->stamp[u] == use || C->o->nodes[u].state == LG_OBJ_HELD) continue;
            W->stamp[u] = use;
            W->q[tail++] = u;
            (*objs)++;
            *bytes += C->o->nodes[u].size;
        }
    }
}

static uint64_t cycle_sig(const ctx_t *C, const lg_ocycle_t *cy)
{
    uint64_t h = 1469598103934665603ull ^ cy->nmembers ^ ((uint64_t)cy->why << 40);
    for (size_t i = 0; i < cy->npath; i++) {
        const lg_onode_t *x = &C->o->nodes[cy->path[i].from];
        uint64_t lab = cy->path[i].ref == SIZE_MAX ? 0xfffff000u + cy->path[i].word
                                                   : C->o->walk->refs[cy->path[i].ref].label;
        h = (h ^ x->type) * 1099511628211ull;
        h = (h ^ x->stack) * 1099511628211ull;
        h = (h ^ lab) * 1099511628211ull;
    }
    return h;
}

/* Orders the cycle numbers by signature, then number: equal shapes are neighbours. */
static const uint64_t *g_sig_sort; /* qsort has no context argument */
static int cmp_by_sig(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (g_sig_sort[x] != g_sig_sort[y]) return g_sig_sort[x] < g_sig_sort[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Groups of cycles of the same shape, numbered in the order of their first cycle. */
static int group_cycles(ctx_t *C)
{
    lg_objects_t *o = C->o;
    size_t n = o->ncycles;
    uint64_t *sig = malloc((n ? n : 1) * sizeof *sig);
    size_t *ord = malloc((n ? n : 1) * sizeof *ord), *firsts = malloc((n ? n : 1) * sizeof *firsts);
    o->cgroups = calloc(n ? n : 1, sizeof *o->cgroups);
    if (!sig || !ord || !firsts || !o->cgroups) {
        free(sig), free(ord), free(firsts);
        return -ENOMEM;
    }
    for (size_t c = 0; c < n; c++) {
        sig[c] = cycle_sig(C, &o->cycles[c]);
        ord[c] = c;
    }
    g_sig_sort = sig;
    qsort(ord, n, sizeof *ord, cmp_by_sig);
    /* each run of one signature: its first cycle; runs numbered by that cycle */
    size_t nruns = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || sig[ord[i]] != sig[ord[i - 1]]) firsts[nruns++] = ord[i];
    qsort(firsts, nruns, sizeof *firsts, cmp_size);
    for (size_t g = 0; g < nruns; g++) {
        o->cgroups[g] = (lg_ogroup_t){.first = firsts[g]};
        o->cycles[firsts[g]].group = g;
    }
    o->ncgroups = nruns;
    for (size_t i = 0; i < n; i++) { /* the run's first cycle knows its group */
        size_t c = ord[i], lead = c;
        if (i > 0 && sig[c] == sig[ord[i - 1]]) lead = ord[i - 1];
        o->cycles[c].group = o->cycles[lead].group;
    }
    for (size_t c = 0; c < n; c++) {
        const lg_ocycle_t *cy = &o->cycles[c];
        lg_ogroup_t *gr = &o->cgroups[cy->group];
        gr->count++;
        gr->objects += cy->nmembers;
        gr->bytes += cy->bytes;
        gr->keeps_objects += cy->keeps_objects;
        gr->keeps_bytes += cy->keeps_bytes;
    }
    free(sig), free(ord), free(firsts);
    return 0;
}

static int cycles(ctx_t *C)
{
    lg_objects_t *o = C->o;
    const lg_trace_t *t = C->t;
    uint8_t *in = malloc(o->n ? o->n : 1);
    uint8_t *ctype = calloc(t->ntypes ? t->ntypes : 1, 1);
    lg_scc_cycles_t sc = {0};
    scratch_t W = {0};
    why_ctx_t why = {0};
    int rc = in && ctype ? scratch_init(&W, o->n) : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < o->n; i++) {
        in[i] = o->nodes[i].state != LG_OBJ_HELD;
        if (o->nodes[i].type < t->ntypes) ctype[o->nodes[i].type] = 1;
    }
    if (rc == 0) rc = why_init(C, &why, ctype);
    /* the cycles among the nodes that are not held (scc.c), members in walk order */
    lg_scc_graph_t g = {.n = o->n, .start = C->estart, .to = C->eto, .in = in};
    if (rc == 0) rc = lg_scc_cycles(&g, &sc);
    if (rc == 0 && !(o->cycles = calloc(sc.ncycles ? sc.ncycles : 1, sizeof *o->cycles)))
        rc = -ENOMEM;
    for (size_t c = 0; rc == 0 && c < sc.ncycles; c++) {
        lg_ocycle_t *cy = &o->cycles[o->ncycles];
        size_t nm = sc.first[c + 1] - sc.first[c];
        if (!(cy->members = malloc(nm * sizeof *cy->members))) {
            rc = -ENOMEM;
            break;
        }
        o->ncycles++;
        memcpy(cy->members, sc.members + sc.first[c], nm * sizeof *cy->members);
        cy->nmembers = nm;
    }
    for (size_t v = 0; rc == 0 && v < o->n; v++) o->nodes[v].cycle = sc.cycle_of[v];
    for (size_t c = 0; rc == 0 && c < o->ncycles; c++) {
        lg_ocycle_t *cy = &o->cycles[c];
        /* oldest member (smallest allocation seq, then address) first */
        size_t best = 0;
        for (size_t m = 1; m < cy->nmembers; m++) {
            const lg_onode_t *a = &o->nodes[cy->members[m]], *b = &o->nodes[cy->members[best]];
            if (a->aseq < b->aseq || (a->aseq == b->aseq && a->addr < b->addr)) best = m;
        }
        uint32_t m0 = cy->members[best];
        if ((rc = closed_path(C, &W, sc.cycle_of, m0, cy))) break;
        /* members in path order, then the rest in walk order */
        uint32_t *ord = malloc(cy->nmembers * sizeof *ord);
        if (!ord) {
            rc = -ENOMEM;
            break;
        }
        uint32_t use = scratch_use(&W, o->n);
        size_t k = 0;
        for (size_t p = 0; p < cy->npath; p++)
            if (W.stamp[cy->path[p].from] != use) {
                W.stamp[cy->path[p].from] = use;
                ord[k++] = cy->path[p].from;
            }
        for (size_t m = 0; m < cy->nmembers; m++)
            if (W.stamp[cy->members[m]] != use) {
                W.stamp[cy->members[m]] = use;
                ord[k++] = cy->members[m];
            }
        free(cy->members);
        cy->members = ord;
        for (size_t m = 0; m < cy->nmembers; m++) {
            const lg_onode_t *x = &o->nodes[cy->members[m]];
            cy->bytes += x->size;
            if (x->last_seq > cy->formed_seq) cy->formed_seq = x->last_seq;
        }
        explain(C, cy, &why);
        keeps(C, &W, cy->members, cy->nmembers, &cy->keeps_objects, &cy->keeps_bytes);
        o->cycle_objects += cy->nmembers;
        o->cycle_bytes += cy->bytes;
    }
    if (rc == 0) rc = group_cycles(C);
    free(in), free(ctype);
    scratch_free(&W);
    why_free(&why);
    lg_scc_cycles_free(&sc);
    return rc;
}

/* ---- refcount leaks ------------------------------------------------------------------------ */
typedef struct hist_ctx {
    lg_ohist_t *h;
    size_t n, cap;
    bool alloc_seen;
} hist_ctx_t;

static int cmp_site_count(const void *a, const void *b)
{
    const lg_osite_t *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    if (x->objects != y->objects) return x->objects > y->objects ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int add_site(lg_osite_t **v, size_t *n, size_t *cap, const lg_frame_t *f, uint32_t stack,
                    uint64_t seq, uint32_t type, uint64_t count, bool by_line)
{
    for (size_t i = 0; i < *n; i++) {
        lg_osite_t *s = &(*v)[i];
        if (by_line ? (f ? same_line(&s->frame, f) : s->frame.address == 0 && s->type == type)
                    : s->type == type) {
            s->count += count;
            s->objects++;
            return 0;
        }
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        lg_osite_t *nv = realloc(*v, nc * sizeof *nv);
        if (!nv) return -ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = (lg_osite_t){.frame = f ? *f : (lg_frame_t){0}, .stack = stack, .seq = seq,
                                .count = count, .objects = 1, .type = type};
    return 0;
}

/* Matching of one leaked object's history (step 5). Not when increfs and decrefs were only
 * counted: the history then lacks them, and the allocation would be blamed for them. */
static void match(ctx_t *C, lg_oleak_t *lk)
{
    const lg_trace_t *t = C->t;
    size_t n = lk->nhist;
    if (C->o->counted_only) return;
    bool *store = calloc(n ? n : 1, sizeof *store);
    const lg_frame_t **site = calloc(n ? n : 1, sizeof *site);
    size_t *open = malloc((n ? n : 1) * sizeof *open); /* unmatched increments, oldest first */
    if (!store || !site || !open) {
        free(store), free(site), free(open);
        return;
    }
    bool slow = n <= HIST_MATCH_MAX;
    for (size_t i = 0; i < n && slow; i++) {
        const lg_obj_event_t *e = &t->objev[lk->hist[i].ev];
        site[i] = site_of(&C->sites, e->stack, e->seq, &store[i]);
        if (e->kind == LG_REC_OBJ_ALLOC) store[i] = false;
    }
    size_t nopen = 0;
    for (size_t i = 0; i < n; i++) {
        const lg_obj_event_t *e = &t->objev[lk->hist[i].ev];
        if (e->kind == LG_REC_OBJ_ALLOC || e->kind == LG_REC_INCREF) {
            open[nopen++] = i;
            continue;
        }
        if (e->kind != LG_REC_DECREF || !nopen) continue;
        size_t pick = nopen - 1;
        if (slow) {
            int best = -1;
            for (size_t j = nopen; j-- > 0;) {
                size_t c = open[j];
                bool ss = store[c] == store[i], sf = same_site(site[c], site[i]);
                int score = ss && sf ? 3 : ss ? 2 : sf ? 1 : 0;
                if (score > best) {
                    best = score;
                    pick = j;
                    if (score == 3) break;
                }
            }
        }
        memmove(open + pick, open + pick + 1, (nopen - pick - 1) * sizeof *open);
        nopen--;
    }
    for (size_t j = 0; j < nopen; j++) lk->hist[open[j]].unmatched = true;
    /* blame: those taken directly first, newest first; then the rest, newest first */
    int64_t left = lk->unexplained;
    for (int pass = 0; pass < 2 && left > 0; pass++)
        for (size_t j = nopen; j-- > 0 && left > 0;) {
            size_t c = open[j];
            if (lk->hist[c].culprit || (pass == 0 && store[c])) continue;
            lk->hist[c].culprit = true;
            left--;
        }
    free(store), free(site), free(open);
}

static int refcount_leaks(ctx_t *C)
{
    lg_objects_t *o = C->o;
    const lg_trace_t *t = C->t;
    size_t nl = 0;
    for (size_t i = 0; i < o->n; i++)
        nl += o->nodes[i].unexplained > 0 && (long)i != o->garbage_list;
    o->leaks = calloc(nl ? nl : 1, sizeof *o->leaks);
    hist_ctx_t *hc = calloc(nl ? nl : 1, sizeof *hc);
    lg_addrmap_t lm = {0}; /* address -> leak */
    int rc = o->leaks && hc ? lg_addrmap_reserve(&lm, nl) : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < o->n; i++) {
        if (o->nodes[i].unexplained <= 0 || (long)i == o->garbage_list) continue;
        o->leaks[o->nleaks] = (lg_oleak_t){.node = (uint32_t)i,
                                           .unexplained = o->nodes[i].unexplained};
        rc = index_put(&lm, o->nodes[i].addr, o->nleaks);
        o->nleaks++;
        o->leak_refs += (uint64_t)o->nodes[i].unexplained;
    }
    if (rc) {
        free(hc);
        lg_addrmap_free(&lm);
        return rc;
    }
    for (size_t i = 0; i < t->nobjev && rc == 0; i++) {
        const lg_obj_event_t *e = &t->objev[i];
        if (e->seq >= o->walk->seq) break;
        long l = index_at(&lm, e->addr);
        if (l < 0) continue;
        hist_ctx_t *h = &hc[l];
        if (e->kind == LG_REC_OBJ_ALLOC) {
            h->n = 0;
            h->alloc_seen = true;
        }
        if (e->kind == LG_REC_OBJ_FREE) {
            h->n = 0;
            h->alloc_seen = false;
            continue;
        }
        if (h->n == h->cap) {
            size_t nc = h->cap ? h->cap * 2 : 16;
            lg_ohist_t *v = realloc(h->h, nc * sizeof *v);
            if (!v) {
                rc = -ENOMEM;
                break;
            }
            h->h = v;
            h->cap = nc;
        }
        h->h[h->n++] = (lg_ohist_t){.ev = i};
    }
    scratch_t W = {0};
    if (rc == 0) rc = scratch_init(&W, o->n);
    for (size_t l = 0; l < o->nleaks; l++) {
        lg_oleak_t *lk = &o->leaks[l];
        lk->hist = hc[l].h;
        lk->nhist = hc[l].n;
        lk->history_complete = hc[l].alloc_seen;
        if (rc == 0) match(C, lk);
        if (rc == 0) keeps(C, &W, &lk->node, 1, &lk->keeps_objects, &lk->keeps_bytes);
    }
    scratch_free(&W);
    free(hc);
    lg_addrmap_free(&lm);
    if (rc) return rc;
    /* groups by (type, allocation stack) and the ranked missing decrefs */
    o->lgroups = calloc(o->nleaks ? o->nleaks : 1, sizeof *o->lgroups);
    if (!o->lgroups) return -ENOMEM;
    size_t ccap = 0;
    for (size_t l = 0; l < o->nleaks && rc == 0; l++) {
        lg_oleak_t *lk = &o->leaks[l];
        const lg_onode_t *x = &o->nodes[lk->node];
        size_t g = 0;
        for (; g < o->nlgroups; g++) {
            const lg_onode_t *y = &o->nodes[o->leaks[o->lgroups[g].first].node];
            if (y->type == x->type && y->stack == x->stack) break;
        }
        if (g == o->nlgroups) o->lgroups[o->nlgroups++] = (lg_ogroup_t){.first = l};
        lg_ogroup_t *gr = &o->lgroups[g];
        gr->count++;
        gr->objects++;
        gr->bytes += x->size;
        gr->refs += (uint64_t)lk->unexplained;
        gr->keeps_objects += lk->keeps_objects;
        gr->keeps_bytes += lk->keeps_bytes;
        lk->group = g;
        /* each distinct culprit site of this object: its count, and the object once */
        for (size_t k = 0; k < lk->nhist && rc == 0; k++) {
            if (!lk->hist[k].culprit) continue;
            const lg_obj_event_t *e = &t->objev[lk->hist[k].ev];
            const lg_frame_t *f = site_of(&C->sites, e->stack, e->seq, NULL);
            bool seen = false;
            for (size_t j = 0; j < k && !seen; j++) {
                if (!lk->hist[j].culprit) continue;
                const lg_obj_event_t *ej = &t->objev[lk->hist[j].ev];
                const lg_frame_t *fj = site_of(&C->sites, ej->stack, ej->seq, NULL);
                seen = f ? same_line(fj, f) : fj == NULL;
            }
            if (seen) continue;
            uint64_t cnt = 0;
            for (size_t j = k; j < lk->nhist; j++) {
                if (!lk->hist[j].culprit) continue;
                const lg_obj_event_t *ej = &t->objev[lk->hist[j].ev];
                const lg_frame_t *fj = site_of(&C->sites, ej->stack, ej->seq, NULL);
                cnt += f ? same_line(fj, f) : fj == NULL;
            }
            rc = add_site(&o->culprits, &o->nculprits, &ccap, f, e->stack, e->seq, x->type, cnt,
                          true);
        }
    }
    if (o->nculprits > 1) qsort(o->culprits, o->nculprits, sizeof *o->culprits, cmp_site_count);
    return rc;
}

/* ---- the collector --------------------------------------------------------------------------- */
static int collector(ctx_t *C)
{
    lg_objects_t *o = C->o;
    const lg_trace_t *t = C->t;
    uint64_t limit = o->walk->seq;
    for (size_t g = 0; g < t->ngcev; g++) {
        const lg_gc_event_t *e = &t->gcev[g];
        if (e->seq >= limit) break;
        unsigned gen = e->gen < 3 ? e->gen : 2;
        if (!e->end) {
            o->gen[gen].collections++;
            o->collections++;
            continue;
        }
        o->gen[gen].collected += e->collected;
        o->gen[gen].uncollectable += e->uncollectable;
        o->gen[gen].pause_ns += e->ns;
        if (e->ns > o->gen[gen].pause_max_ns) o->gen[gen].pause_max_ns = e->ns;
        o->pause_ns += e->ns;
        if (e->ns > o->pause_max_ns) o->pause_max_ns = e->ns;
    }
    if (!o->collections) return 0;
    /* objects freed while a collection ran: their allocation from a live map */
    /* the map keeps the newest allocation at an address (replaced in place, never deleted) */
    lg_addrmap_t live = {0};
    size_t ti = 0, g = 0, tcap = 0, scap = 0;
    bool in_gc = false;
    int rc = 0;
    for (size_t i = 0; i < t->nobjev && rc == 0; i++) {
        const lg_obj_event_t *e = &t->objev[i];
        if (e->seq >= limit) break;
        while (g < t->ngcev && t->gcev[g].seq < e->seq) in_gc = !t->gcev[g++].end;
        if (e->kind == LG_REC_OBJ_ALLOC && (rc = index_put(&live, e->addr, i))) break;
        if (e->kind != LG_REC_OBJ_FREE || !in_gc) continue;
        long a = index_at(&live, e->addr);
        if (a < 0) continue;
        const lg_obj_event_t *al = &t->objev[a];
        o->collected_objects++;
        rc = add_site(&o->collected_types, &o->ncollected_types, &tcap, NULL, al->stack, al->seq,
                      al->type, 1, false);
        const lg_frame_t *f = site_of(&C->sites, al->stack, al->seq, NULL);
        if (rc == 0)
            rc = add_site(&o->collected_sites, &o->ncollected_sites, &scap, f, al->stack, al->seq,
                          al->type, 1, true);
        (void)ti;
    }
    lg_addrmap_free(&live);
    if (o->ncollected_types > 1)
        qsort(o->collected_types, o->ncollected_types, sizeof(lg_osite_t), cmp_site_count);
    if (o->ncollected_sites > 1)
        qsort(o->collected_sites, o->ncollected_sites, sizeof(lg_osite_t), cmp_site_count);
    return rc;
}

/* ---- building -------------------------------------------------------------------------------- */
static const lg_walk_t *pick_walk(const lg_trace_t *t, const lg_snapshot_t *S)
{
    const lg_walk_t *w = NULL;
    for (size_t i = 0; i < t->nwalks; i++)
        if (!S || t->walks[i].check == S->id) w = &t->walks[i];
    return w;
}

int lg_objects_build(lg_frames_t *fr, size_t ti, const lg_snapshot_t *S, lg_objects_t **out)
{
    const lg_trace_t *t = fr->trace;
    *out = NULL;
    const lg_walk_t *w = pick_walk(t, S);
    if (!w) return 0;
    lg_objects_t *o = calloc(1, sizeof *o);
    if (!o) return -ENOMEM;
    o->trace = ti;
    o->walk = w;
    o->snap = S;
    o->holders_known = S && S->has_objects;
    o->garbage_list = -1;
    o->n = w->nobjs;
    o->nodes = calloc(o->n ? o->n : 1, sizeof *o->nodes);
    ctx_t C = {.o = o, .t = t, .sites = {.frames = fr}};
    C.sites.frame = calloc(t->nstacks ? t->nstacks : 1, sizeof *C.sites.frame);
    C.sites.state = calloc(t->nstacks ? t->nstacks : 1, 1);
    int rc = o->nodes && C.sites.frame && C.sites.state ? lg_addrmap_reserve(&C.map, o->n)
                                                        : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < o->n; i++) {
        const lg_walk_obj_t *wo = &w->objs[i];
        o->nodes[i] = (lg_onode_t){.addr = wo->addr, .size = wo->size, .type = wo->type,
                                   .refcount = wo->refcount, .ref_start = wo->ref_start,
                                   .ref_end = i + 1 < o->n ? w->objs[i + 1].ref_start : w->nrefs};
        rc = index_put(&C.map, wo->addr, i);
    }
    o->counted_only = t->rc_depth == 0;
    /* allocation stacks and last events (one replay); do increments carry stacks? */
    for (size_t i = 0; rc == 0 && i < t->nobjev; i++) {
        const lg_obj_event_t *e = &t->objev[i];
        if (e->seq >= w->seq) break;
        if ((e->kind == LG_REC_INCREF || e->kind == LG_REC_DECREF) && e->stack) o->stacks = true;
        long v = index_at(&C.map, e->addr);
        if (v < 0) continue;
        lg_onode_t *x = &o->nodes[v];
        if (e->kind == LG_REC_OBJ_ALLOC) {
            x->stack = e->stack;
            x->aseq = e->seq;
        }
        if (e->kind != LG_REC_OBJ_FREE) x->last_seq = e->seq;
    }
    /* the garbage list: a list allocated by rc_gc_garbage() */
    for (size_t i = 0; rc == 0 && i < o->n && o->garbage_list < 0; i++) {
        const lg_onode_t *x = &o->nodes[i];
        if (x->type >= t->ntypes || strcmp(t->types[x->type], "list") || !x->stack) continue;
        lg_frame_t *f;
        long nf = lg_frames_stack(fr, x->stack, x->aseq, 8, &f);
        for (long k = 0; k < nf; k++)
            if (f[k].function && !strcmp(f[k].function, "rc_gc_garbage")) o->garbage_list = (long)i;
        free(f);
    }
    if (rc == 0) rc = counts(&C);
    if (rc == 0) rc = graph(&C);
    if (rc == 0) rc = states(&C);
    if (rc == 0) rc = cycles(&C);
    if (rc == 0) rc = refcount_leaks(&C);
    if (rc == 0) rc = collector(&C);
    lg_addrmap_free(&C.map);
    free(C.hid);
    free(C.estart);
    free(C.eto);
    free(C.eorig);
    free(C.sites.frame);
    free(C.sites.state);
    if (rc) {
        lg_objects_free(o);
        return rc;
    }
    *out = o;
    return 0;
}

void lg_objects_free(lg_objects_t *o)
{
    if (!o) return;
    for (size_t c = 0; c < o->ncycles; c++) {
        free(o->cycles[c].members);
        free(o->cycles[c].path);
    }
    for (size_t l = 0; l < o->nleaks; l++) free(o->leaks[l].hist);
    free(o->cycles);
    free(o->cgroups);
    free(o->leaks);
    free(o->lgroups);
    free(o->culprits);
    free(o->collected_types);
    free(o->collected_sites);
    free(o->nodes);
    free(o);
}
