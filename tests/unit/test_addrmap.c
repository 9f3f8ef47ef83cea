/* test_addrmap.c: the address map of common/addrmap.h through its public functions
 * (lg_addrmap_put, find, del, reserve, free, capacity, home): inserts and replacing a value;
 * deletes among keys chosen to collide on one home slot, at the end of the table so that their
 * probe run wraps around, checking the exact slots after the backward shift (entries whose
 * probe path crossed the hole move back, an entry at its own home stays); growth from the
 * first table to one past the 4 MiB size at which tables are mapped on their own, with
 * every key found, an iteration over the slots that sees each entry once, and deletes of half
 * of them; reserve (no growth afterwards) and reuse after free. No files. */
#include <stdint.h>
#include <stdlib.h>

#include "addrmap.h"
#include "harness.h"

static void test_empty(void)
{
    lg_addrmap_t m = {0};
    uint64_t v = 7;
    CHECK(lg_addrmap_find(&m, 0x1000) == NULL);
    CHECK(!lg_addrmap_del(&m, 0x1000, &v));
    CHECK_EQ(v, 7);
    CHECK_EQ(lg_addrmap_capacity(&m), 0);
    lg_addrmap_free(&m);
    CHECK(m.slots == NULL && m.used == 0);
}

static void test_put_replace(void)
{
    lg_addrmap_t m = {0};
    CHECK_EQ(lg_addrmap_put(&m, 0x1000, 1), 0);
    CHECK_EQ(lg_addrmap_put(&m, 0x2000, 2), 0);
    CHECK_EQ(m.used, 2);
    uint64_t *p = lg_addrmap_find(&m, 0x1000);
    CHECK(p && *p == 1);
    CHECK_EQ(lg_addrmap_put(&m, 0x1000, 10), 0); /* replace */
    CHECK_EQ(m.used, 2);
    p = lg_addrmap_find(&m, 0x1000);
    CHECK(p && *p == 10);
    *p = 11; /* the value slot is writable */
    p = lg_addrmap_find(&m, 0x1000);
    CHECK(p && *p == 11);
    CHECK(lg_addrmap_find(&m, 0x3000) == NULL);
    CHECK(lg_addrmap_find(&m, 0x1001) == NULL);
    CHECK(!lg_addrmap_del(&m, 0, NULL)); /* 0 marks an empty slot: never a key */
    CHECK_EQ(m.used, 2);
    uint64_t v = 0;
    CHECK(lg_addrmap_del(&m, 0x2000, &v));
    CHECK_EQ(v, 2);
    CHECK(!lg_addrmap_del(&m, 0x2000, NULL));
    CHECK(lg_addrmap_find(&m, 0x2000) == NULL);
    CHECK_EQ(m.used, 1);
    CHECK(lg_addrmap_del(&m, 0x1000, NULL));
    CHECK_EQ(m.used, 0);
    lg_addrmap_free(&m);
    CHECK_EQ(lg_addrmap_put(&m, 0x4000, 4), 0); /* reusable after free */
    p = lg_addrmap_find(&m, 0x4000);
    CHECK(p && *p == 4);
    lg_addrmap_free(&m);
}

/* The next key after *from (16-byte aligned, as allocators give) whose home slot is `home`. */
static uint64_t key_at(uint64_t *from, size_t home, size_t mask)
{
    for (uint64_t k = *from + 16;; k += 16)
        if (lg_addrmap_home(k, mask) == home) {
            *from = k;
            return k;
        }
}

/* The slot that holds key, or SIZE_MAX. */
static size_t slot_of(const lg_addrmap_t *m, uint64_t key)
{
    for (size_t i = 0; i < lg_addrmap_capacity(m); i++)
        if (m->slots[i].key == key) return i;
    return SIZE_MAX;
}

static void test_backward_shift(void)
{
    lg_addrmap_t m = {0};
    CHECK_EQ(lg_addrmap_reserve(&m, 1), 0);
    size_t mask = lg_addrmap_capacity(&m) - 1, h = mask - 1; /* the run wraps past the end */
    CHECK(mask >= 15);
    uint64_t from = 0x7f0000000000;
    uint64_t a = key_at(&from, h, mask), b = key_at(&from, h, mask), c = key_at(&from, h, mask);
    uint64_t d = key_at(&from, (h + 1) & mask, mask); /* displaced by the run of a, b, c */
    uint64_t e = key_at(&from, (h + 4) & mask, mask); /* at its own home, just after the run */
    uint64_t absent = key_at(&from, h, mask);
    uint64_t keys[] = {a, b, c, d, e};
    for (int i = 0; i < 5; i++)
        CHECK_EQ(lg_addrmap_put(&m, keys[i], 100 + (uint64_t)i), 0);
    CHECK_EQ(lg_addrmap_capacity(&m), mask + 1); /* no growth: the positions below hold */
    CHECK_EQ(slot_of(&m, a), h);
    CHECK_EQ(slot_of(&m, b), (h + 1) & mask);
    CHECK_EQ(slot_of(&m, c), (h + 2) & mask);
    CHECK_EQ(slot_of(&m, d), (h + 3) & mask);
    CHECK_EQ(slot_of(&m, e), (h + 4) & mask);
    CHECK(!lg_addrmap_del(&m, absent, NULL)); /* probes the whole run, finds nothing */

    uint64_t v = 0;
    CHECK(lg_addrmap_del(&m, a, &v)); /* the head of the run */
    CHECK_EQ(v, 100);
    CHECK_EQ(slot_of(&m, b), h);
    CHECK_EQ(slot_of(&m, c), (h + 1) & mask);
    CHECK_EQ(slot_of(&m, d), (h + 2) & mask);
    CHECK_EQ(m.slots[(h + 3) & mask].key, 0);
    CHECK_EQ(slot_of(&m, e), (h + 4) & mask); /* at home: not moved */
    CHECK_EQ(m.used, 4);

    CHECK(lg_addrmap_del(&m, c, &v)); /* the middle */
    CHECK_EQ(v, 102);
    CHECK_EQ(slot_of(&m, b), h);
    CHECK_EQ(slot_of(&m, d), (h + 1) & mask); /* d's home is h + 1: back home */
    CHECK_EQ(m.slots[(h + 2) & mask].key, 0);
    for (int i = 0; i < 5; i++) {
        uint64_t *p = lg_addrmap_find(&m, keys[i]);
        if (keys[i] == a || keys[i] == c)
            CHECK(p == NULL);
        else
            CHECK(p && *p == 100 + (uint64_t)i);
    }
    CHECK(lg_addrmap_del(&m, b, NULL));
    CHECK(lg_addrmap_del(&m, d, NULL));
    CHECK(lg_addrmap_del(&m, e, NULL));
    CHECK_EQ(m.used, 0);
    for (size_t i = 0; i <= mask; i++)
        CHECK_SILENT(m.slots[i].key == 0);
    lg_addrmap_free(&m);
}

/* Keys as an allocator hands them out: 48 bytes apart. */
#define KEY(i) (0x7f3a00000000ull + (uint64_t)(i)*48)

static void test_growth_and_iteration(void)
{
    enum { N = 300000 }; /* needs 2^20 slots of 16 bytes: past the 4 MiB mmap threshold */
    lg_addrmap_t m = {0};
    size_t grew = 0, cap = 0;
    for (size_t i = 0; i < N; i++) {
        if (!CHECK_SILENT(lg_addrmap_put(&m, KEY(i), i) == 0)) break;
        if (lg_addrmap_capacity(&m) != cap) grew++, cap = lg_addrmap_capacity(&m);
    }
    CHECK_EQ(m.used, N);
    CHECK(grew >= 6);
    CHECK(cap * sizeof(lg_addrmap_slot_t) > (4u << 20));
    CHECK((cap & (cap - 1)) == 0);
    CHECK(cap >= 2 * (size_t)N); /* at most half full */
    size_t missing = 0;
    for (size_t i = 0; i < N; i++) {
        uint64_t *p = lg_addrmap_find(&m, KEY(i));
        if (!p || *p != i) missing++;
    }
    CHECK_EQ(missing, 0);

    /* iteration: every entry exactly once, each value with its key */
    uint8_t *seen = calloc(N, 1);
    size_t entries = 0, wrong = 0;
    for (size_t s = 0; seen && s < lg_addrmap_capacity(&m); s++) {
        uint64_t k = m.slots[s].key, v = m.slots[s].val;
        if (!k) continue;
        entries++;
        if (v >= N || KEY(v) != k || seen[v]++) wrong++;
    }
    CHECK(seen != NULL);
    CHECK_EQ(entries, N);
    CHECK_EQ(wrong, 0);
    free(seen);

    /* delete every other entry; the rest stay reachable across the shifted runs */
    for (size_t i = 0; i < N; i += 2)
        CHECK_SILENT(lg_addrmap_del(&m, KEY(i), NULL));
    CHECK_EQ(m.used, N / 2);
    missing = 0;
    for (size_t i = 0; i < N; i++) {
        uint64_t *p = lg_addrmap_find(&m, KEY(i));
        if (i % 2 ? !p || *p != i : p != NULL) missing++;
    }
    CHECK_EQ(missing, 0);
    CHECK_EQ(lg_addrmap_capacity(&m), cap); /* deleting never shrinks */
    lg_addrmap_free(&m);
    CHECK_EQ(lg_addrmap_capacity(&m), 0);
}

static void test_reserve(void)
{
    lg_addrmap_t m = {0};
    CHECK_EQ(lg_addrmap_reserve(&m, 10000), 0);
    size_t cap = lg_addrmap_capacity(&m);
    CHECK(cap >= 20000);
    const lg_addrmap_slot_t *slots = m.slots;
    for (size_t i = 0; i < 10000; i++)
        CHECK_SILENT(lg_addrmap_put(&m, KEY(i + 1), i) == 0);
    CHECK(m.slots == slots); /* no rehash */
    CHECK_EQ(lg_addrmap_capacity(&m), cap);
    CHECK_EQ(lg_addrmap_reserve(&m, 100), 0); /* never shrinks */
    CHECK_EQ(lg_addrmap_capacity(&m), cap);
    CHECK_EQ(lg_addrmap_reserve(&m, cap), 0); /* grows, keeping the entries */
    CHECK(lg_addrmap_capacity(&m) >= 2 * cap);
    uint64_t *p = lg_addrmap_find(&m, KEY(5000));
    CHECK(p && *p == 4999);
    CHECK_EQ(m.used, 10000);
    lg_addrmap_free(&m);
}

int main(void)
{
    RUN(test_empty);
    RUN(test_put_replace);
    RUN(test_backward_shift);
    RUN(test_growth_and_iteration);
    RUN(test_reserve);
    return check_result("test_addrmap");
}
