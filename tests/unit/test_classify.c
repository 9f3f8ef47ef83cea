/* test_classify.c: lg_classify (analyzer/model/classify.h) on snapshots built by hand, one small
 * heap graph per case, asserting the exact kind of every block with Memcheck's meanings: a
 * root's start pointer makes a block reachable, an interior one possible (unless a heuristic
 * accepts it); what reachable blocks point to by start pointers is reachable, by interior
 * pointers possible; what only a possible block points to is possible; a lost block nothing
 * points to is definite and what it reaches (by any pointer) is indirect, its size counted in
 * its leader's clique; a lost cycle is one definite block (the lowest address) and the rest
 * indirect, and is also reported as a cycle with what it alone keeps alive. The snapshots hold
 * only what classification reads (sizes, root flags, the edge lists); the test touches no file.
 */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "classify.h"
#include "leakgraph/trace_format.h"
#include "trace.h"

#define MAXB 16
#define MAXE 32

/* A heap graph and the snapshot arrays made from it. Block i has size SZ(i), so that a sum of
 * sizes names its blocks. */
#define SZ(i) (16ull << (i))

typedef struct edge {
    uint32_t from, to, dst_off;
    uint8_t heur;
} edge_t;

typedef struct graph {
    size_t n, ne;
    edge_t e[MAXE];
    uint64_t addr[MAXB], size[MAXB];
    uint8_t ref[MAXB];
    size_t edge_start[MAXB + 1];
    uint32_t edge_to[MAXE], edge_src_off[MAXE], edge_dst_off[MAXE];
    uint8_t edge_heur[MAXE];
    lg_snapshot_t S;
    lg_class_t c;
} graph_t;

static void g_init(graph_t *g, size_t n)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    for (size_t i = 0; i < n; i++) {
        g->addr[i] = 0x100000 + i * 0x1000; /* ascending, as in a snapshot */
        g->size[i] = SZ(i);
    }
}

/* A root word points into block i: LG_REF_START, LG_REF_INTERIOR, and a heuristic number. */
static void g_root(graph_t *g, uint32_t i, unsigned flags, unsigned heur)
{
    g->ref[i] = (uint8_t)(flags | heur << LG_REF_HEUR_SHIFT);
}

/* A word of block `from` points to block `to`, at offset dst_off into it (0: its start). */
static void g_edge(graph_t *g, uint32_t from, uint32_t to, uint32_t dst_off, unsigned heur)
{
    g->e[g->ne++] = (edge_t){from, to, dst_off, (uint8_t)heur};
}

/* Builds the snapshot (edges grouped by source, as the reader stores them) and classifies it. */
static int g_classify(graph_t *g)
{
    lg_snapshot_t *S = &g->S;
    size_t k = 0;
    for (uint32_t b = 0; b < g->n; b++) {
        g->edge_start[b] = k;
        for (size_t j = 0; j < g->ne; j++) {
            if (g->e[j].from != b) continue;
            g->edge_to[k] = g->e[j].to;
            g->edge_src_off[k] = (uint32_t)(8 * j);
            g->edge_dst_off[k] = g->e[j].dst_off;
            g->edge_heur[k] = g->e[j].heur;
            k++;
        }
    }
    g->edge_start[g->n] = k;
    *S = (lg_snapshot_t){.nblocks = g->n,
                         .addr = g->addr,
                         .size = g->size,
                         .ref_flags = g->ref,
                         .edge_start = g->edge_start,
                         .edge_to = g->edge_to,
                         .edge_src_off = g->edge_src_off,
                         .edge_dst_off = g->edge_dst_off,
                         .edge_heur = g->edge_heur,
                         .nedges = k};
    return lg_classify(S, &g->c);
}

/* The kinds of all blocks as letters: R reachable, P possible, I indirect, D definite. */
static const char *kinds(const graph_t *g)
{
    static const char letter[LG_KIND_COUNT] = {[LG_KIND_REACHABLE] = 'R',
                                               [LG_KIND_POSSIBLE] = 'P',
                                               [LG_KIND_INDIRECT] = 'I',
                                               [LG_KIND_DEFINITE] = 'D'};
    static char buf[MAXB + 1];
    for (size_t i = 0; i < g->n; i++) {
        uint8_t k = g->c.kind[i];
        buf[i] = k < LG_KIND_COUNT && letter[k] ? letter[k] : '?';
    }
    buf[g->n] = 0;
    return buf;
}

static graph_t g; /* one graph at a time; static: it is large for a stack */

/* Pointers from roots alone. */
static void test_roots(void)
{
    g_init(&g, 5);
    g_root(&g, 0, LG_REF_START, 0);
    g_root(&g, 1, LG_REF_INTERIOR, 0);
    g_root(&g, 2, LG_REF_INTERIOR, LG_HEUR_STDSTRING); /* the heuristic accepts it */
    /* block 3: nothing points to it */
    g_root(&g, 4, LG_REF_START | LG_REF_INTERIOR, 0);
    CHECK_EQ(g_classify(&g), 0);
    CHECK_STR(kinds(&g), "RPRDR");
    CHECK_EQ(g.c.heur[0], 0);
    CHECK_EQ(g.c.heur[2], LG_HEUR_STDSTRING);
    CHECK_EQ(g.c.heur[4], 0); /* a start pointer needs no heuristic */
    CHECK_EQ(g.c.ind_blocks[3], 0);
    CHECK_EQ(g.c.ncycles, 0);
    lg_class_free(&g.c);
}

/* What reachable and possible blocks point to. */
static void test_chains(void)
{
    g_init(&g, 6);
    g_root(&g, 0, LG_REF_START, 0);
    g_edge(&g, 0, 1, 0, 0);                 /* start pointer from a reachable block */
    g_edge(&g, 1, 2, 8, 0);                 /* interior pointer from a reachable block */
    g_edge(&g, 2, 3, 0, 0);                 /* start pointer from a possible block */
    g_edge(&g, 0, 4, 16, LG_HEUR_NEWARRAY); /* interior, accepted by a heuristic */
    g_edge(&g, 3, 5, 0, LG_HEUR_LENGTH64);  /* heuristic, but from a possible block */
    CHECK_EQ(g_classify(&g), 0);
    CHECK_STR(kinds(&g), "RRPPRP");
    CHECK_EQ(g.c.heur[1], 0);
    CHECK_EQ(g.c.heur[4], LG_HEUR_NEWARRAY);
    CHECK_EQ(g.c.ncycles, 0);
    lg_class_free(&g.c);
}

/* A possible block that a reachable one also points to by its start is reachable, and so is
 * what it points to; a cycle hanging from a root is reachable, and no lost cycle. */
static void test_upgrade(void)
{
    g_init(&g, 5);
    g_root(&g, 0, LG_REF_INTERIOR, 0); /* possible from the roots... */
    g_root(&g, 1, LG_REF_START, 0);
    g_edge(&g, 1, 0, 0, 0); /* ...and reachable through block 1 */
    g_edge(&g, 0, 2, 0, 0);
    g_edge(&g, 2, 3, 0, 0); /* 2 <-> 3 <-> 4 -> 2: a reachable cycle */
    g_edge(&g, 3, 4, 0, 0);
    g_edge(&g, 4, 2, 0, 0);
    CHECK_EQ(g_classify(&g), 0);
    CHECK_STR(kinds(&g), "RRRRR");
    CHECK_EQ(g.c.heur[0], 0);
    CHECK_EQ(g.c.ncycles, 0);
    lg_class_free(&g.c);
}

/* Definite blocks and their cliques; a block reached only through an interior pointer from a
 * lost block is indirect, and a possible block stays possible whoever else points to it. */
static void test_indirect(void)
{
    g_init(&g, 5);
    g_edge(&g, 0, 1, 0, 0);  /* 0 lost -> 1 by its start */
    g_edge(&g, 1, 2, 24, 0); /* 1 -> 2 by an interior pointer only */
    /* block 3: lost alone */
    g_root(&g, 4, LG_REF_INTERIOR, 0);
    g_edge(&g, 0, 4, 0, 0); /* a lost block's pointer does not make 4 lost */
    CHECK_EQ(g_classify(&g), 0);
    CHECK_STR(kinds(&g), "DIIDP");
    CHECK_EQ(g.c.leader[1], 0);
    CHECK_EQ(g.c.leader[2], 0);
    CHECK_EQ(g.c.ind_bytes[0], SZ(1) + SZ(2));
    CHECK_EQ(g.c.ind_blocks[0], 2);
    CHECK_EQ(g.c.ind_bytes[3], 0);
    CHECK_EQ(g.c.ind_blocks[3], 0);
    CHECK_EQ(g.c.ncycles, 0);
    lg_class_free(&g.c);
}

/* A leader met later by another clique joins it, with what it had gathered. */
static void test_clique_merge(void)
{
    g_init(&g, 3);
    g_edge(&g, 0, 2, 0, 0); /* 0 leads first and gathers 2 */
    g_edge(&g, 1, 0, 0, 0); /* then 1 reaches 0 */
    CHECK_EQ(g_classify(&g), 0);
    CHECK_STR(kinds(&g), "IDI");
    CHECK_EQ(g.c.leader[0], 1);
    CHECK_EQ(g.c.leader[2], 1); /* followed to the top */
    CHECK_EQ(g.c.ind_bytes[1], SZ(0) + SZ(2));
    CHECK_EQ(g.c.ind_blocks[1], 2);
    CHECK_EQ(g.c.ind_bytes[0], 0);
    CHECK_EQ(g.c.ind_blocks[0], 0);
    lg_class_free(&g.c);
}

/* The cycle of `block`, or NULL. */
static const lg_cycle_t *cycle_of(const graph_t *gr, uint32_t block)
{
    uint32_t k = gr->c.cycle_of[block];
    return k ? &gr->c.cycles[k - 1] : NULL;
}

/* Lost cycles, as Memcheck reports them (definite + indirect), and as cycles. */
static void test_cycles(void)
{
    g_init(&g, 9);
    g_edge(&g, 0, 1, 0, 0); /* 0 <-> 1 */
    g_edge(&g, 1, 0, 0, 0);
    g_edge(&g, 2, 2, 8, 0); /* 2 points into itself */
    g_root(&g, 3, LG_REF_START, 0);
    g_edge(&g, 5, 4, 0, 0); /* 4 <-> 5, and 5 -> 6 that only the cycle keeps */
    g_edge(&g, 4, 5, 0, 0);
    g_edge(&g, 5, 6, 0, 0);
    g_edge(&g, 8, 7, 0, 0); /* 8 -> 7 <-> 7: a self-cycle below a definite block */
    g_edge(&g, 7, 7, 0, 0);
    CHECK_EQ(g_classify(&g), 0);
    CHECK_STR(kinds(&g), "DIDRDIIID");
    CHECK_EQ(g.c.ncycles, 4);
    CHECK_EQ(g.c.ind_bytes[0], SZ(1));
    CHECK_EQ(g.c.ind_bytes[4], SZ(5) + SZ(6));
    CHECK_EQ(g.c.ind_blocks[4], 2);
    CHECK_EQ(g.c.ind_bytes[8], SZ(7));

    const lg_cycle_t *a = cycle_of(&g, 0), *b = cycle_of(&g, 2), *c = cycle_of(&g, 4),
                     *d = cycle_of(&g, 7);
    CHECK(a && b && c && d);
    if (!a || !b || !c || !d) return;
    CHECK(a == cycle_of(&g, 1));
    CHECK(c == cycle_of(&g, 5));
    CHECK(cycle_of(&g, 3) == NULL);
    CHECK(cycle_of(&g, 6) == NULL);
    CHECK(cycle_of(&g, 8) == NULL);
    CHECK_EQ(a->nmembers, 2);
    CHECK_EQ(a->members[0], 0);
    CHECK_EQ(a->members[1], 1);
    CHECK_EQ(a->bytes, SZ(0) + SZ(1));
    CHECK_EQ(a->keeps_blocks, 0);
    CHECK_EQ(b->nmembers, 1);
    CHECK_EQ(b->members[0], 2);
    CHECK_EQ(b->bytes, SZ(2));
    CHECK_EQ(c->nmembers, 2);
    CHECK_EQ(c->members[0], 4); /* ascending, whatever order the search found them in */
    CHECK_EQ(c->members[1], 5);
    CHECK_EQ(c->keeps_blocks, 1);
    CHECK_EQ(c->keeps_bytes, SZ(6));
    CHECK_EQ(d->nmembers, 1);
    CHECK_EQ(d->keeps_blocks, 0);
    lg_class_free(&g.c);
}

/* A lost cycle that a definite block points to: all of it is indirect, whether the block
 * pointing to it comes before or after it in address order. */
static void test_cycle_below_definite(void)
{
    g_init(&g, 4);
    g_edge(&g, 0, 1, 0, 0); /* 0 -> (1 <-> 2) */
    g_edge(&g, 1, 2, 0, 0);
    g_edge(&g, 2, 1, 0, 0);
    g_edge(&g, 3, 1, 0, 0); /* 3 -> the same cycle, but 0 gathered it first */
    CHECK_EQ(g_classify(&g), 0);
    CHECK_STR(kinds(&g), "DIID");
    CHECK_EQ(g.c.ind_bytes[0], SZ(1) + SZ(2));
    CHECK_EQ(g.c.ind_bytes[3], 0);
    CHECK_EQ(g.c.ncycles, 1);
    lg_class_free(&g.c);

    g_init(&g, 3);
    g_edge(&g, 0, 1, 0, 0); /* (0 <-> 1) <- 2 */
    g_edge(&g, 1, 0, 0, 0);
    g_edge(&g, 2, 0, 0, 0);
    CHECK_EQ(g_classify(&g), 0);
    CHECK_STR(kinds(&g), "IID");
    CHECK_EQ(g.c.leader[0], 2);
    CHECK_EQ(g.c.leader[1], 2);
    CHECK_EQ(g.c.ind_bytes[2], SZ(0) + SZ(1));
    CHECK_EQ(g.c.ind_blocks[2], 2);
    CHECK_EQ(g.c.ncycles, 1);
    lg_class_free(&g.c);
}

static void test_empty_and_names(void)
{
    g_init(&g, 0);
    CHECK_EQ(g_classify(&g), 0);
    CHECK_EQ(g.c.ncycles, 0);
    lg_class_free(&g.c);
    CHECK(g.c.kind == NULL); /* freed and cleared */
    CHECK_STR(lg_kind_name(LG_KIND_UNFREED), "unfreed");
    CHECK_STR(lg_kind_name(LG_KIND_REACHABLE), "reachable");
    CHECK_STR(lg_kind_name(LG_KIND_POSSIBLE), "possible");
    CHECK_STR(lg_kind_name(LG_KIND_INDIRECT), "indirect");
    CHECK_STR(lg_kind_name(LG_KIND_DEFINITE), "definite");
    CHECK_STR(lg_kind_name(LG_KIND_CYCLE), "cycle");
    CHECK_STR(lg_kind_name(LG_KIND_REFCOUNT), "refcount");
    CHECK_STR(lg_kind_name(LG_KIND_COUNT), "?");
    CHECK_STR(lg_kind_name(-1), "?");
}

int main(void)
{
    RUN(test_roots);
    RUN(test_chains);
    RUN(test_upgrade);
    RUN(test_indirect);
    RUN(test_clique_merge);
    RUN(test_cycles);
    RUN(test_cycle_below_definite);
    RUN(test_empty_and_names);
    return check_result("test_classify");
}
