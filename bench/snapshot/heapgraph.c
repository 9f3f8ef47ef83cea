/* heapgraph: the workload of the snapshot benchmark (bench/snapshot/run.sh). It builds a heap
 * of N live blocks (default 10M) of 24..183 bytes (mean ~104, ~1 GiB in all) linked the way
 * real programs link their data, keeps part of it reachable and loses the rest, then exits
 * so that the leak check (leakgraph's snapshot, or Memcheck's) runs on it.
 *
 * Shares of the N blocks (each share is built in its own phase, with short-lived
 * temporaries allocated and freed between, so the heap has holes and reused chunks):
 *  - 40 % elements of one big pointer array (a global points to it): reachable;
 *  - 30 % nodes of singly linked lists of 100; a heads array holds every list head but:
 *      1 in 20 lists is dropped (head definitely lost, the rest indirectly lost),
 *      1 in 100 is held by a pointer 16 bytes into its head (the list is possibly lost),
 *      1 in 50 of the dropped lists is closed into a ring (a cycle);
 *  - 25 % nodes of binary trees of 1023 nodes with parent pointers (every node points back:
 *    cycles everywhere); a roots array holds each root but 1 in 10 trees is dropped;
 *  - 5 % lone blocks, 1 in 10 of them never stored (definitely lost).
 * Every block is fully written (memset, then the links) so no stale allocator metadata is
 * left in it: under Memcheck the allocator is Valgrind's, and stale words would differ.
 * The nodes of one list or one tree have one size (chosen at random per structure), like the
 * nodes of one type: the block that leads a lost cycle is its lowest address, which depends
 * on the allocator's layout, and only equal sizes make the definite/indirect split of the
 * bytes independent of it (so leakgraph's totals can be compared with Memcheck's).
 *
 * usage: heapgraph [N]   (prints a one-line summary of what it built on stderr) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static inline uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static size_t g_allocated, g_bytes;

static size_t any_size(void)
{
    return 24 + (size_t)(rnd() % 160);
}

/* A block of `size` bytes, every word written with a non-pointer value (a small counter). */
static void *block(size_t size)
{
    uint64_t *p = malloc(size);
    if (!p) {
        fputs("heapgraph: out of memory\n", stderr);
        exit(1);
    }
    memset(p, 0, size);
    for (size_t i = 0; i < size / 8; i++) p[i] = g_allocated & 0xffff;
    g_allocated++;
    g_bytes += size;
    return p;
}

/* Short-lived allocations between the phases: freed again, so the heap has reused chunks. */
static void churn(size_t n)
{
    enum { WINDOW = 64 };
    void *w[WINDOW] = {0};
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(rnd() % WINDOW);
        free(w[k]);
        w[k] = malloc(16 + (size_t)(rnd() % 400));
        if (w[k]) memset(w[k], 0, 16);
    }
    for (size_t k = 0; k < WINDOW; k++) free(w[k]);
}

typedef struct node {
    struct node *next;
} node_t;

typedef struct tnode {
    struct tnode *left, *right, *parent;
} tnode_t;

static tnode_t *tree(size_t n, tnode_t *parent, size_t size)
{
    if (!n) return NULL;
    tnode_t *t = block(size);
    t->parent = parent;
    size_t rest = n - 1;
    t->left = tree(rest / 2, t, size);
    t->right = tree(rest - rest / 2, t, size);
    return t;
}

/* The roots: globals in .bss, as a real program's would be. */
static void **g_array;
static void **g_list_heads;
static void **g_tree_roots;
static void **g_lone;

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    if (n < 10000) n = 10000;
    size_t n_array = n * 40 / 100, n_lists = n * 30 / 100 / 100, n_trees = n * 25 / 100 / 1023;
    size_t n_lone = n - n_array - n_lists * 100 - n_trees * 1023;

    g_array = calloc(n_array, sizeof *g_array);
    g_list_heads = calloc(n_lists, sizeof *g_list_heads);
    g_tree_roots = calloc(n_trees, sizeof *g_tree_roots);
    g_lone = calloc(n_lone, sizeof *g_lone);
    if (!g_array || !g_list_heads || !g_tree_roots || !g_lone) return 1;

    for (size_t i = 0; i < n_array; i++) {
        g_array[i] = block(any_size());
        if (i % 1000 == 999) churn(100);
    }
    size_t dropped_lists = 0, possible_lists = 0, rings = 0;
    for (size_t l = 0; l < n_lists; l++) {
        size_t size = any_size();
        node_t *head = block(size), *tail = head;
        for (int k = 1; k < 100; k++) {
            node_t *x = block(size);
            tail->next = x;
            tail = x;
        }
        if (l % 20 == 7) {
            dropped_lists++;
            if (dropped_lists % 50 == 1) {
                tail->next = head;
                rings++;
            }
        } else if (l % 100 == 13) {
            possible_lists++;
            g_list_heads[l] = (char *)head + 16;
        } else {
            g_list_heads[l] = head;
        }
        churn(100);
    }
    size_t dropped_trees = 0;
    for (size_t t = 0; t < n_trees; t++) {
        tnode_t *r = tree(1023, NULL, any_size());
        if (t % 10 == 3) dropped_trees++;
        else g_tree_roots[t] = r;
        churn(1000);
    }
    size_t lost_lone = 0;
    for (size_t i = 0; i < n_lone; i++) {
        void *p = block(any_size());
        if (i % 10 == 9) lost_lone++;
        else g_lone[i] = p;
    }
    fprintf(stderr,
            "heapgraph: %zu blocks, %zu bytes; array %zu, lists %zu (dropped %zu, rings %zu, "
            "possible %zu), trees %zu (dropped %zu), lone %zu (lost %zu)\n",
            g_allocated, g_bytes, n_array, n_lists, dropped_lists, rings, possible_lists, n_trees,
            dropped_trees, n_lone, lost_lone);
    return 0;
}
