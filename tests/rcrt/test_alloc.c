/*
 * tests/rcrt/test_alloc.c - unit tests of rcrt's allocator: size classes, alignment, usable
 * size, ownership, realloc, statistics, arena reclamation with one spare, the preference for
 * the fullest arena, and a random stress run checking block contents. Runs alone in its
 * process, so the statistics start from zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rcrt/alloc.h"

#define POOL 16384
#define ARENA (1024 * 1024)
#define POOL_HEADER 48

static size_t capacity(size_t size)
{
    return (POOL - POOL_HEADER) / size;
}

static void test_sizes_and_alignment(void)
{
    for (size_t n = 0; n <= 600; n++) {
        uint8_t *p = rc_malloc(n);
        CHECK(p != NULL);
        CHECK_EQ((uintptr_t)p % 16, 0);
        size_t expect = n == 0 ? 16 : n <= 512 ? (n + 15) / 16 * 16 : 0;
        if (n <= 512) {
            CHECK(rc_alloc_owns(p));
            CHECK_EQ(rc_usable_size(p), expect);
        } else {
            CHECK(!rc_alloc_owns(p));
            CHECK(rc_usable_size(p) >= n);
        }
        memset(p, 0xAB, n);
        rc_free(p);
    }
    int on_stack;
    CHECK(!rc_alloc_owns(&on_stack));
    CHECK(!rc_alloc_owns(NULL));
    rc_free(NULL);
}

static void test_stats_per_class(void)
{
    enum { N = 1000 };
    void *blocks[N];
    for (int i = 0; i < N; i++)
        blocks[i] = rc_malloc(48);
    rc_alloc_stats_t s;
    rc_alloc_get_stats(&s);
    const rc_size_class_stats_t *c = &s.classes[2];
    CHECK_EQ(c->block_size, 48);
    CHECK_EQ(c->blocks_in_use, N);
    CHECK_EQ(c->pools, (N + capacity(48) - 1) / capacity(48));
    CHECK_EQ(c->blocks_free, c->pools * capacity(48) - N);
    CHECK_EQ(s.bytes_in_use, N * 48);
    CHECK_EQ(s.bytes_pool_headers, c->pools * POOL_HEADER);
    CHECK_EQ(s.bytes_quantization, c->pools * (POOL - POOL_HEADER - capacity(48) * 48));
    CHECK_EQ(s.arenas_current, 1);
    /* Everything in the arenas is accounted for. */
    CHECK_EQ(s.bytes_in_use + s.bytes_free_blocks + s.bytes_free_pools + s.bytes_pool_headers +
                 s.bytes_quantization,
             s.arenas_current * (size_t)ARENA);
    rc_arena_stats_t as[4];
    CHECK_EQ(rc_alloc_get_arena_stats(as, 4), 1);
    CHECK_EQ(as[0].pools_used, c->pools);
    CHECK_EQ(as[0].blocks_in_use, N);
    CHECK_EQ(as[0].base % ARENA, 0);
    for (int i = 0; i < N; i++)
        rc_free(blocks[i]);
    rc_alloc_get_stats(&s);
    CHECK_EQ(s.classes[2].blocks_in_use, 0);
    CHECK_EQ(s.classes[2].pools, 0);
    void *big = rc_malloc(10000);
    rc_alloc_get_stats(&s);
    CHECK_EQ(s.large_blocks, 1);
    CHECK(s.large_bytes >= 10000);
    rc_free(big);
    rc_alloc_get_stats(&s);
    CHECK_EQ(s.large_blocks, 0);
}

/* Fill three arenas with 512-byte blocks, free everything: two arenas go back to the OS, one
 * stays as the spare, and the next arena comes from the spare. */
static void test_arena_reclaim(void)
{
    rc_alloc_stats_t s0, s;
    rc_alloc_get_stats(&s0);
    size_t per_arena = capacity(512) * (ARENA / POOL);
    size_t n = 3 * per_arena;
    void **blocks = malloc(n * sizeof *blocks);
    for (size_t i = 0; i < n; i++)
        blocks[i] = rc_malloc(512);
    rc_alloc_get_stats(&s);
    CHECK_EQ(s.arenas_current, 3);
    CHECK_EQ(s.classes[31].blocks_in_use, n);
    CHECK_EQ(s.pools_free, 0);
    for (size_t i = 0; i < n; i++)
        rc_free(blocks[i]);
    rc_alloc_get_stats(&s);
    CHECK_EQ(s.arenas_current, 0);
    CHECK_EQ(s.arenas_spare, 1);
    CHECK(s.arenas_highwater >= 3);
    /* The first arena to empty becomes the spare (the old spare was reused for the first of
     * the three), the other two are unmapped. */
    CHECK_EQ(s.arenas_freed_total - s0.arenas_freed_total, 2);
    size_t allocated = s.arenas_allocated_total;
    void *p = rc_malloc(16);
    rc_alloc_get_stats(&s);
    CHECK_EQ(s.arenas_allocated_total, allocated); /* reused the spare */
    CHECK_EQ(s.arenas_current, 1);
    rc_free(p);
    free(blocks);
}

/* Two arenas: A nearly full, B nearly empty. New pools must come from A (the fullest). */
static void test_prefers_fullest_arena(void)
{
    size_t per_arena = capacity(512) * (ARENA / POOL);
    size_t n = 2 * per_arena;
    void **blocks = malloc(n * sizeof *blocks);
    for (size_t i = 0; i < n; i++)
        blocks[i] = rc_malloc(512);
    uintptr_t arena_a = (uintptr_t)blocks[0] & ~(uintptr_t)(ARENA - 1);
    uintptr_t arena_b = (uintptr_t)blocks[n - 1] & ~(uintptr_t)(ARENA - 1);
    CHECK(arena_a != arena_b);
    /* Free 4 pools' worth in A and all but one block in B. */
    size_t freed_a = 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t ar = (uintptr_t)blocks[i] & ~(uintptr_t)(ARENA - 1);
        if (ar == arena_a && freed_a < 4 * capacity(512)) {
            rc_free(blocks[i]);
            blocks[i] = NULL;
            freed_a++;
        } else if (ar == arena_b && i != n - 1) {
            rc_free(blocks[i]);
            blocks[i] = NULL;
        }
    }
    rc_arena_stats_t as[4];
    CHECK_EQ(rc_alloc_get_arena_stats(as, 4), 2);
    /* A fresh size class needs a new pool: it must be carved from A. */
    void *p = rc_malloc(200);
    CHECK_EQ((uintptr_t)p & ~(uintptr_t)(ARENA - 1), arena_a);
    rc_free(p);
    for (size_t i = 0; i < n; i++)
        rc_free(blocks[i]);
    free(blocks);
}

static void test_realloc_and_calloc(void)
{
    uint8_t *p = rc_malloc(10);
    for (int i = 0; i < 10; i++)
        p[i] = (uint8_t)i;
    p = rc_realloc(p, 12); /* same class: same block */
    CHECK(rc_usable_size(p) == 16);
    p = rc_realloc(p, 300);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(p[i], i);
    p = rc_realloc(p, 5000); /* to malloc */
    CHECK(!rc_alloc_owns(p));
    for (int i = 0; i < 10; i++)
        CHECK_EQ(p[i], i);
    p = rc_realloc(p, 20); /* back to a pool */
    CHECK(rc_alloc_owns(p));
    for (int i = 0; i < 10; i++)
        CHECK_EQ(p[i], i);
    rc_free(p);
    uint32_t *z = rc_calloc(50, 4);
    int zero = 1;
    for (int i = 0; i < 50; i++)
        zero &= z[i] == 0;
    CHECK(zero);
    rc_free(z);
    CHECK(rc_calloc(SIZE_MAX / 2, 4) == NULL);
}

/* Random allocations and frees; each block holds a pattern derived from its slot, checked
 * before it is freed. */
static void test_random_stress(void)
{
    enum { SLOTS = 20000, OPS = 300000 };
    uint8_t **slot = calloc(SLOTS, sizeof *slot);
    size_t *len = calloc(SLOTS, sizeof *len);
    uint64_t x = 88172645463325252ULL;
    int bad = 0;
    for (int op = 0; op < OPS; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t i = x % SLOTS;
        if (slot[i]) {
            for (size_t k = 0; k < len[i]; k++)
                bad |= slot[i][k] != (uint8_t)(i + k);
            rc_free(slot[i]);
            slot[i] = NULL;
        } else {
            len[i] = (x >> 20) % 700;
            slot[i] = rc_malloc(len[i]);
            for (size_t k = 0; k < len[i]; k++)
                slot[i][k] = (uint8_t)(i + k);
        }
    }
    for (size_t i = 0; i < SLOTS; i++)
        rc_free(slot[i]);
    CHECK(!bad);
    rc_alloc_stats_t s;
    rc_alloc_get_stats(&s);
    size_t in_use = 0;
    for (int c = 0; c < RC_ALLOC_NB_CLASSES; c++)
        in_use += s.classes[c].blocks_in_use;
    CHECK_EQ(in_use, 0);
    CHECK_EQ(s.large_blocks, 0);
    CHECK_EQ(s.arenas_current, 0);
    free(slot);
    free(len);
}

int main(void)
{
    CHECK(!rc_alloc_debug_enabled());
    RUN(test_sizes_and_alignment);
    RUN(test_stats_per_class);
    RUN(test_arena_reclaim);
    RUN(test_prefers_fullest_arena);
    RUN(test_realloc_and_calloc);
    RUN(test_random_stress);
    CHECK_EQ(rc_alloc_set_debug(true), -16 /* EBUSY */);
    rc_alloc_print_stats(stdout);
    return check_result("rcrt_test_alloc");
}
