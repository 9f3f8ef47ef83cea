/* Classification (see classify.h). It owns Memcheck's three passes below, written so that the
 * totals match Memcheck's; the cycle search itself is scc.c's. It must not allocate per block
 * beyond a few arrays of nblocks (and of components). Complexity per pass:
 * analyzer/model/README.md (what a cycle above merging paths keeps alive is the one part not
 * linear in the worst case).
 *
 * Memcheck's algorithm, pass by pass:
 *
 * Pass 1, marking from the roots. Pre: every block Unreached. For each block a root points
 *   to: a start pointer (or an interior pointer that one of the heuristics accepts) makes it
 *   Reachable, any other interior pointer Possible; both push it. Then, until the stack is
 *   empty, pop a block and follow its pointers: "prior definite" = the popped block is not
 *   Possible. A target reached by a start (or heuristic) pointer from a definite prior becomes
 *   Reachable (upgrading Possible, and is pushed again); otherwise an Unreached target becomes
 *   Possible. Post: Reachable/Possible is the least fixed point of those rules (order free).
 * Pass 2, cliques. For every block still Unreached, in address order: it leads a clique; a
 *   depth-first walk from it turns every Unreached block it reaches (start or interior
 *   pointer alike) into Indirect, adding that block's size, and the indirect size it had
 *   gathered as an earlier leader, to the leader. Leaders stay Unreached = definitely lost.
 *   Post: a cycle nobody else points to has exactly one definite member (its lowest address),
 *   as Memcheck reports it.
 * Pass 3, cycles. The strongly connected components (scc.c, one iterative Tarjan search) of
 *   the lost blocks (definite and indirect) and the pointers between them: every component of
 *   two or more blocks, or a block pointing to itself, is a cycle. Cycles are in the order the
 *   search completes them, members in address order. What a cycle keeps alive: the lost
 *   blocks reachable from it that are not in it (cycles_keep). */
#include "classify.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "leakgraph/trace_format.h"
#include "scc.h"

enum { ST_UNREACHED = 0 };

const char *lg_kind_name(int kind)
{
    static const char *const names[LG_KIND_COUNT] = {
        "unfreed", "reachable", "possible", "indirect", "definite", "cycle", "refcount"};
    return kind >= 0 && kind < LG_KIND_COUNT ? names[kind] : "?";
}

int lg_kind_by_name(const char *s, size_t n)
{
    for (int k = 0; k < LG_KIND_COUNT; k++) {
        const char *name = lg_kind_name(k);
        if (strlen(name) == n && strncmp(name, s, n) == 0) return k;
    }
    return -1;
}

typedef struct mark {
    uint32_t *stack;
    size_t top;
    uint8_t *pending;
} mark_t;

static void push(mark_t *m, uint32_t i)
{
    if (m->pending[i]) return;
    m->pending[i] = 1;
    m->stack[m->top++] = i;
}

static bool pop(mark_t *m, uint32_t *i)
{
    if (!m->top) return false;
    *i = m->stack[--m->top];
    m->pending[*i] = 0;
    return true;
}

static void pass_roots(const lg_snapshot_t *S, lg_class_t *c, mark_t *m)
{
    uint8_t *k = c->kind;
    for (size_t i = 0; i < S->nblocks; i++) {
        uint8_t f = S->ref_flags[i];
        if (!f) continue;
        uint8_t h = f >> LG_REF_HEUR_SHIFT;
        if ((f & LG_REF_START) || h) {
            k[i] = LG_KIND_REACHABLE;
            c->heur[i] = (f & LG_REF_START) ? 0 : h;
        } else {
            k[i] = LG_KIND_POSSIBLE;
        }
        push(m, (uint32_t)i);
    }
    uint32_t b;
    while (pop(m, &b)) {
        bool prior_definite = k[b] != LG_KIND_POSSIBLE;
        for (size_t e = S->edge_start[b]; e < S->edge_start[b + 1]; e++) {
            uint32_t t = S->edge_to[e];
            bool start = S->edge_dst_off[e] == 0;
            if (k[t] == LG_KIND_REACHABLE) {
                if (start) c->heur[t] = 0;
                continue;
            }
            bool via_reachable = start || S->edge_heur[e];
            if (via_reachable && prior_definite) {
                k[t] = LG_KIND_REACHABLE;
                c->heur[t] = start ? 0 : S->edge_heur[e];
                push(m, t);
            } else if (k[t] == ST_UNREACHED) {
                k[t] = LG_KIND_POSSIBLE;
                push(m, t);
            }
        }
    }
}

static void pass_cliques(const lg_snapshot_t *S, lg_class_t *c, mark_t *m)
{
    uint8_t *k = c->kind;
    for (size_t i = 0; i < S->nblocks; i++) {
        if (k[i] != ST_UNREACHED) continue;
        uint32_t leader = (uint32_t)i, b;
        push(m, leader);
        while (pop(m, &b)) {
            for (size_t e = S->edge_start[b]; e < S->edge_start[b + 1]; e++) {
                uint32_t t = S->edge_to[e];
                if (k[t] != ST_UNREACHED || t == leader) continue;
                push(m, t);
                c->ind_bytes[leader] += S->size[t] + c->ind_bytes[t];
                c->ind_blocks[leader] += 1 + c->ind_blocks[t];
                c->ind_bytes[t] = c->ind_blocks[t] = 0;
                k[t] = LG_KIND_INDIRECT;
                c->leader[t] = leader;
            }
        }
    }
    for (size_t i = 0; i < S->nblocks; i++)
        if (k[i] == ST_UNREACHED) k[i] = LG_KIND_DEFINITE;
    /* An indirect block's leader may itself have joined a later clique: follow to the top,
     * then point every block of the path at it (path compression). The leaders form a forest
     * whose roots are the definite blocks (a block joins one clique, led by a block that was
     * unreached then, so the chains have no loop); a block, once pointing at its root, keeps
     * pointing there, so each block is re-pointed at most once: O(B) for the whole loop. */
    for (size_t i = 0; i < S->nblocks; i++) {
        if (k[i] != LG_KIND_INDIRECT) continue;
        uint32_t top = c->leader[i];
        while (k[top] == LG_KIND_INDIRECT) top = c->leader[top];
        for (uint32_t b = (uint32_t)i, next; b != top; b = next) {
            next = c->leader[b];
            c->leader[b] = top;
        }
    }
}

static inline bool lost(const lg_class_t *c, uint32_t i)
{
    return c->kind[i] == LG_KIND_DEFINITE || c->kind[i] == LG_KIND_INDIRECT;
}

/* What each cycle keeps alive: the lost blocks reachable from it, outside it, counted on the
 * condensation of the lost blocks (cyc->comp; a component is numbered after every component
 * it reaches). A component is *closed* when every component below it has exactly one
 * component pointing to it: what lies below it is then a tree of components, entered only
 * through it, and what it keeps is the sum over its successors s of s's blocks and what s
 * keeps, computed once for every component in number order (successors first). A cycle that
 * is not closed is walked over components, stopping at closed ones (whose whole subtree is
 * added at once: nothing below them can be reached another way). O(B + P) for lists, trees
 * and any cycle whose subgraph below has no merging paths; a walk per non-closed cycle,
 * through its non-closed components only, otherwise. */
static int cycles_keep(const lg_snapshot_t *S, lg_class_t *c, const lg_scc_cycles_t *cyc)
{
    size_t n = S->nblocks, nc = cyc->ncomp;
    const uint32_t *comp = cyc->comp;
    size_t *first = calloc(nc + 2, sizeof *first);
    uint32_t *mem = malloc((n ? n : 1) * sizeof *mem), *stamp = calloc(nc + 1, sizeof *stamp);
    uint32_t *stk = malloc((nc + 1) * sizeof *stk);
    uint8_t *indeg = calloc(nc + 1, 1), *closed = calloc(nc + 1, 1);
    uint64_t *bytes = calloc(nc + 1, sizeof *bytes), *blocks = calloc(nc + 1, sizeof *blocks);
    uint64_t *kbytes = calloc(nc + 1, sizeof *kbytes), *kblocks = calloc(nc + 1, sizeof *kblocks);
    int rc = -ENOMEM;
    if (!first || !mem || !stamp || !stk || !indeg || !closed || !bytes || !blocks || !kbytes ||
        !kblocks)
        goto out;
    /* members of each component (counting sort), and its own blocks and bytes */
    for (size_t v = 0; v < n; v++)
        if (comp[v]) {
            first[comp[v] + 1]++;
            bytes[comp[v]] += S->size[v];
            blocks[comp[v]]++;
        }
    for (size_t x = 1; x <= nc + 1; x++) first[x] += first[x - 1];
    for (size_t v = 0; v < n; v++)
        if (comp[v]) mem[first[comp[v]] + stamp[comp[v]]++] = (uint32_t)v;
    memset(stamp, 0, (nc + 1) * sizeof *stamp);
    /* distinct components pointing to each (1, or 2 meaning two or more) */
    for (uint32_t x = 1; x <= nc; x++)
        for (size_t a = first[x]; a < first[x + 1]; a++)
            for (size_t e = S->edge_start[mem[a]]; e < S->edge_start[mem[a] + 1]; e++) {
                uint32_t y = comp[S->edge_to[e]];
                if (!y || y == x || stamp[y] == x) continue;
                stamp[y] = x;
                if (indeg[y] < 2) indeg[y]++;
            }
    /* closed, and what a closed component keeps, successors first */
    memset(stamp, 0, (nc + 1) * sizeof *stamp);
    for (uint32_t x = 1; x <= nc; x++) {
        closed[x] = 1;
        for (size_t a = first[x]; a < first[x + 1]; a++)
            for (size_t e = S->edge_start[mem[a]]; e < S->edge_start[mem[a] + 1]; e++) {
                uint32_t y = comp[S->edge_to[e]];
                if (!y || y == x || stamp[y] == x) continue;
                stamp[y] = x;
                if (indeg[y] != 1 || !closed[y]) closed[x] = 0;
                kbytes[x] += bytes[y] + kbytes[y];
                kblocks[x] += blocks[y] + kblocks[y];
            }
    }
    /* each cycle: its component's sums when closed, else a walk that stops at closed ones */
    memset(stamp, 0, (nc + 1) * sizeof *stamp);
    for (size_t ci = 0; ci < c->ncycles; ci++) {
        lg_cycle_t *cy = &c->cycles[ci];
        uint32_t x0 = comp[cy->members[0]];
        if (closed[x0]) {
            cy->keeps_bytes = kbytes[x0];
            cy->keeps_blocks = kblocks[x0];
            continue;
        }
        uint32_t mark = (uint32_t)ci + 1;
        size_t top = 0;
        stamp[x0] = mark;
        stk[top++] = x0;
        while (top) {
            uint32_t x = stk[--top];
            for (size_t a = first[x]; a < first[x + 1]; a++)
                for (size_t e = S->edge_start[mem[a]]; e < S->edge_start[mem[a] + 1]; e++) {
                    uint32_t y = comp[S->edge_to[e]];
                    if (!y || stamp[y] == mark) continue;
                    stamp[y] = mark;
                    cy->keeps_bytes += bytes[y];
                    cy->keeps_blocks += blocks[y];
                    if (closed[y]) {
                        cy->keeps_bytes += kbytes[y];
                        cy->keeps_blocks += kblocks[y];
                    } else {
                        stk[top++] = y;
                    }
                }
        }
    }
    rc = 0;
out:
    free(first);
    free(mem);
    free(stamp);
    free(stk);
    free(indeg);
    free(closed);
    free(bytes);
    free(blocks);
    free(kbytes);
    free(kblocks);
    return rc;
}

/* Cycles among the lost blocks (scc.c), in the order the search completes them, members
 * ascending; then what each keeps alive. */
static int pass_cycles(const lg_snapshot_t *S, lg_class_t *c)
{
    size_t n = S->nblocks;
    uint8_t *in = malloc(n ? n : 1);
    lg_scc_cycles_t cyc = {0};
    int rc = -ENOMEM;
    if (!in) goto out;
    for (size_t i = 0; i < n; i++) in[i] = lost(c, (uint32_t)i);
    lg_scc_graph_t g = {.n = n, .start = S->edge_start, .to = S->edge_to, .in = in};
    if (lg_scc_cycles(&g, &cyc)) goto out;
    if (cyc.ncycles && !(c->cycles = calloc(cyc.ncycles, sizeof *c->cycles))) goto out;
    for (size_t ci = 0; ci < cyc.ncycles; ci++) {
        size_t cnt = cyc.first[ci + 1] - cyc.first[ci];
        lg_cycle_t *cy = &c->cycles[c->ncycles];
        *cy = (lg_cycle_t){.members = malloc(cnt * sizeof(uint32_t)), .nmembers = cnt};
        if (!cy->members) goto out;
        c->ncycles++;
        memcpy(cy->members, cyc.members + cyc.first[ci], cnt * sizeof(uint32_t));
        for (size_t a = 0; a < cnt; a++) cy->bytes += S->size[cy->members[a]];
    }
    c->cycle_of = cyc.cycle_of;
    cyc.cycle_of = NULL;
    if (c->ncycles && cycles_keep(S, c, &cyc)) goto out;
    rc = 0;
out:
    lg_scc_cycles_free(&cyc);
    free(in);
    return rc;
}

int lg_classify(const lg_snapshot_t *S, lg_class_t *c)
{
    memset(c, 0, sizeof *c);
    size_t n = S->nblocks ? S->nblocks : 1;
    c->kind = calloc(n, 1);
    c->heur = calloc(n, 1);
    c->leader = calloc(n, sizeof *c->leader);
    c->ind_bytes = calloc(n, sizeof *c->ind_bytes);
    c->ind_blocks = calloc(n, sizeof *c->ind_blocks);
    mark_t m = {malloc(n * sizeof(uint32_t)), 0, calloc(n, 1)};
    int rc = -ENOMEM;
    if (c->kind && c->heur && c->leader && c->ind_bytes && c->ind_blocks && m.stack && m.pending) {
        pass_roots(S, c, &m);
        pass_cliques(S, c, &m);
        rc = pass_cycles(S, c);
    }
    free(m.stack);
    free(m.pending);
    if (rc) lg_class_free(c);
    return rc;
}

void lg_class_free(lg_class_t *c)
{
    free(c->kind);
    free(c->heur);
    free(c->leader);
    free(c->ind_bytes);
    free(c->ind_blocks);
    for (size_t i = 0; i < c->ncycles; i++) free(c->cycles[i].members);
    free(c->cycles);
    free(c->cycle_of);
    memset(c, 0, sizeof *c);
}
