/* test_sizemap.c: the collector's table of live blocks (common/sizemap.h) through its public
 * functions. Its own accounting of its allocation (lg_sizemap_bytes) stays at most 24 bytes a
 * live entry at every size from 100k to 2M entries, as blocks are added and as they are freed
 * down again (it never grows into twice the need); and a churn of allocations, frees and
 * reallocs over a pool of addresses (so addresses are reused, with other sizes), with sizes
 * that pack and sizes that do not (512 KiB and more), addresses that do not pack (odd, at
 * 2^48 and above), is checked after every step against a plain array: lookups, deletes,
 * counts, and an iteration that sees each entry once with its size. No files. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "sizemap.h"

#define KEY(i) (0x7f3a00000010ull + (uint64_t)(i)*32)

static void test_empty(void)
{
    lg_sizemap_t m = {0};
    uint64_t s = 7, a;
    size_t pos = 0;
    CHECK(!lg_sizemap_get(&m, 0x1000, &s));
    CHECK(!lg_sizemap_del(&m, 0x1000, &s));
    CHECK(!lg_sizemap_next(&m, &pos, &a, &s));
    CHECK_EQ(lg_sizemap_bytes(&m), 0);
    lg_sizemap_free(&m);
}

/* The bound the issue sets: at most 24 bytes a live block, at any count (past the first
 * table, whose fixed 8 KiB is for a process that holds few blocks). */
static void test_bytes_per_entry(void)
{
    enum { N = 2000000, FROM = 100000 };
    lg_sizemap_t m = {0};
    size_t worst_milli = 0;
    for (size_t i = 0; i < N; i++) {
        if (!CHECK_SILENT(lg_sizemap_put(&m, KEY(i), i % 100) == 0)) break;
        if (i + 1 >= FROM) {
            size_t milli = lg_sizemap_bytes(&m) * 1000 / m.count;
            if (milli > worst_milli) worst_milli = milli;
        }
    }
    CHECK_EQ(m.count, N);
    printf("growing: at most %zu.%03zu bytes an entry\n", worst_milli / 1000, worst_milli % 1000);
    CHECK(worst_milli <= 24000);
    CHECK(worst_milli >= 8000);
    /* freeing never shrinks: at half of N, still within 24 bytes (it grew by half, not double) */
    for (size_t i = 0; i < N / 2; i++) CHECK_SILENT(lg_sizemap_del(&m, KEY(2 * i), NULL));
    CHECK_EQ(m.count, N / 2);
    CHECK(lg_sizemap_bytes(&m) <= 24 * m.count * 2); /* no growth into 2x: about 30 bytes here */
    for (size_t i = 0; i < N / 2; i++) {
        uint64_t s;
        if (!CHECK_SILENT(lg_sizemap_get(&m, KEY(2 * i + 1), &s) && s == (2 * i + 1) % 100)) break;
        if (!CHECK_SILENT(!lg_sizemap_get(&m, KEY(2 * i), &s))) break;
    }
    lg_sizemap_free(&m);
    CHECK_EQ(lg_sizemap_bytes(&m), 0);
}

/* The pool's address number i: most as malloc hands them out, some that do not pack. */
static uint64_t pool_addr(size_t i)
{
    if (i % 97 == 1) return KEY(i) + 1;                   /* odd */
    if (i % 101 == 2) return (1ull << 50) + 16 * i;       /* above 2^48 */
    if (i % 103 == 3) return 8 + 8 * (i % 2);             /* 8 or 16: smallest that pack */
    return KEY(i);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t rand_size(void)
{
    switch (next_rand() % 8) {
    case 0: return 0;
    case 1: return LG_SIZEMAP_BIG - 1 + next_rand() % 3; /* both sides of the limit */
    case 2: return (1ull << 33) + next_rand() % 1000;
    default: return next_rand() % 4096;
    }
}

static void test_churn(void)
{
    enum { P = 50000, STEPS = 600000 };
    uint64_t *ref = malloc(P * sizeof *ref); /* size + 1, 0 = absent */
    lg_sizemap_t m = {0};
    size_t live = 0, bad = 0;
    if (!ref) return;
    for (size_t i = 0; i < P; i++) ref[i] = 0;
    /* 8 and 16 are each two pool entries' address: keep them consistent by using one index */
    for (size_t step = 0; step < STEPS && !bad; step++) {
        size_t i = next_rand() % P;
        if (pool_addr(i) < 4096 && i != 3 && i != 3 + 103) continue;
        uint64_t a = pool_addr(i), s = rand_size(), got;
        int op = (int)(next_rand() % 3);
        if (op == 0 || !ref[i]) { /* malloc (or a replacing put: the same address again) */
            live += !ref[i];
            bad += lg_sizemap_put(&m, a, s) != 0;
            ref[i] = s + 1;
        } else if (op == 1) { /* free */
            bad += !lg_sizemap_del(&m, a, &got) || got != ref[i] - 1;
            bad += lg_sizemap_get(&m, a, &got);
            ref[i] = 0;
            live--;
        } else { /* realloc: free the old address, allocate another, often a reused one */
            size_t k = next_rand() % P;
            if (pool_addr(k) < 4096 && k != 3 && k != 3 + 103) continue;
            bad += !lg_sizemap_del(&m, a, NULL);
            ref[i] = 0;
            live--;
            live += !ref[k];
            bad += lg_sizemap_put(&m, pool_addr(k), s) != 0;
            ref[k] = s + 1;
        }
        bad += m.count != live;
        if (step % 50000 == 0 || step + 1 == STEPS) { /* the whole map against the array */
            for (size_t k = 0; k < P; k++) {
                if (pool_addr(k) < 4096 && k != 3 && k != 3 + 103) continue;
                bool in = lg_sizemap_get(&m, pool_addr(k), &got);
                bad += in != (ref[k] != 0) || (in && got != ref[k] - 1);
            }
            size_t pos = 0, seen = 0;
            uint64_t ia, is;
            lg_addrmap_t once = {0};
            while (lg_sizemap_next(&m, &pos, &ia, &is)) {
                seen++;
                bad += lg_addrmap_find(&once, ia) != NULL;
                lg_addrmap_put(&once, ia, 1);
                bad += !lg_sizemap_get(&m, ia, &got) || got != is;
            }
            lg_addrmap_free(&once);
            bad += seen != live;
        }
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(m.count, live);
    CHECK(m.big.used > 0); /* the side map was exercised */
    lg_sizemap_free(&m);
    free(ref);
}

int main(void)
{
    RUN(test_empty);
    RUN(test_bytes_per_entry);
    RUN(test_churn);
    return check_result("test_sizemap");
}
