/* The compact table of live blocks (see sizemap.h): growth by half, insertion, lookup,
 * backward-shift deletion and iteration; sizes and addresses that do not pack go to the side
 * map. */
#define _GNU_SOURCE
#include "sizemap.h"

#include <errno.h>

/* Tunables. The first table is small (a process that allocates little costs little). The
 * table is rehashed 3/2 times larger when LOAD_MAX of its slots are used: linear probing at
 * 80% load probes about 3 slots for a hit and 13 for a miss, that is one or two cache lines of
 * 8 slots; after growth it is 53% full (15 bytes an entry), and never more than 80% (10). */
#define SIZEMAP_MIN_SLOTS 1024
#define SIZEMAP_LOAD_NUM 4 /* LOAD_MAX = 4/5 */
#define SIZEMAP_LOAD_DEN 5
/* after growth the table is LOAD_MAX * 2/3 full: 8 bytes / that <= 24 bytes an entry */
_Static_assert(8 * SIZEMAP_LOAD_DEN * 3 <= 24 * SIZEMAP_LOAD_NUM * 2,
               "a grown table must cost at most 24 bytes an entry");
_Static_assert(SIZEMAP_LOAD_NUM < SIZEMAP_LOAD_DEN, "a slot must stay empty to end probes");

#define KEY_MASK ((1ull << LG_SIZEMAP_ADDR_BITS) - 1)

static uint64_t *slots_alloc(size_t cap)
{
    return lg_table_alloc(cap * sizeof(uint64_t));
}

static void slots_release(uint64_t *slots, size_t cap)
{
    lg_table_release(slots, cap * sizeof(uint64_t));
}

static inline size_t next_slot(size_t j, size_t cap)
{
    return j + 1 == cap ? 0 : j + 1;
}

/* The slot holding key (addr >> 3), or the empty slot that ends its probe. */
static size_t probe(const lg_sizemap_t *m, uint64_t key)
{
    size_t j = lg_sizemap_home(key, m->cap);
    while (m->slots[j] && (m->slots[j] & KEY_MASK) != key) j = next_slot(j, m->cap);
    return j;
}

static int rehash(lg_sizemap_t *m, size_t cap)
{
    uint64_t *ns = slots_alloc(cap);
    if (!ns) return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i]) continue;
        size_t j = lg_sizemap_home(m->slots[i] & KEY_MASK, cap);
        while (ns[j]) j = next_slot(j, cap);
        ns[j] = m->slots[i];
    }
    slots_release(m->slots, m->cap);
    m->slots = ns;
    m->cap = cap;
    return 0;
}

int lg_sizemap_put(lg_sizemap_t *m, uint64_t addr, uint64_t size)
{
    if (!lg_sizemap_packs(addr)) {
        bool had = lg_addrmap_find(&m->big, addr) != NULL;
        if (lg_addrmap_put(&m->big, addr, size)) return -ENOMEM;
        m->count += !had;
        return 0;
    }
    if ((!m->slots || (m->used + 1) * SIZEMAP_LOAD_DEN > m->cap * SIZEMAP_LOAD_NUM) &&
        rehash(m, m->slots ? m->cap + m->cap / 2 : SIZEMAP_MIN_SLOTS))
        return -ENOMEM;
    uint64_t key = addr >> 3, code = size < LG_SIZEMAP_BIG ? size : LG_SIZEMAP_BIG;
    if (code == LG_SIZEMAP_BIG && lg_addrmap_put(&m->big, addr, size)) return -ENOMEM;
    size_t j = probe(m, key);
    if (!m->slots[j]) {
        m->used++;
        m->count++;
    } else if (code != LG_SIZEMAP_BIG && (m->slots[j] >> LG_SIZEMAP_ADDR_BITS) == LG_SIZEMAP_BIG) {
        lg_addrmap_del(&m->big, addr, NULL); /* was big, is small now */
    }
    m->slots[j] = key | code << LG_SIZEMAP_ADDR_BITS;
    return 0;
}

bool lg_sizemap_get(const lg_sizemap_t *m, uint64_t addr, uint64_t *size)
{
    const uint64_t *v;
    if (!lg_sizemap_packs(addr) || !m->slots) {
        if (!(v = lg_addrmap_find(&m->big, addr))) return false;
        *size = *v;
        return true;
    }
    size_t j = probe(m, addr >> 3);
    if (!m->slots[j]) return false;
    uint64_t code = m->slots[j] >> LG_SIZEMAP_ADDR_BITS;
    *size = code == LG_SIZEMAP_BIG ? *lg_addrmap_find(&m->big, addr) : code;
    return true;
}

bool lg_sizemap_del(lg_sizemap_t *m, uint64_t addr, uint64_t *size)
{
    uint64_t dummy, *sz = size ? size : &dummy;
    if (!lg_sizemap_packs(addr)) {
        if (!lg_addrmap_del(&m->big, addr, sz)) return false;
        m->count--;
        return true;
    }
    if (!m->slots) return false;
    size_t i = probe(m, addr >> 3);
    if (!m->slots[i]) return false;
    uint64_t code = m->slots[i] >> LG_SIZEMAP_ADDR_BITS;
    if (code == LG_SIZEMAP_BIG) lg_addrmap_del(&m->big, addr, sz);
    else *sz = code;
    size_t j = i;
    for (;;) { /* shift back every entry whose probe path crossed the hole */
        j = next_slot(j, m->cap);
        if (!m->slots[j]) break;
        size_t home = lg_sizemap_home(m->slots[j] & KEY_MASK, m->cap);
        size_t dist_home = j >= home ? j - home : j + m->cap - home;
        size_t dist_hole = j >= i ? j - i : j + m->cap - i;
        if (dist_home >= dist_hole) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = 0;
    m->used--;
    m->count--;
    return true;
}

bool lg_sizemap_next(const lg_sizemap_t *m, size_t *pos, uint64_t *addr, uint64_t *size)
{
    for (; *pos < m->cap; ++*pos) {
        uint64_t s = m->slots[*pos];
        if (!s) continue;
        *addr = (s & KEY_MASK) << 3;
        uint64_t code = s >> LG_SIZEMAP_ADDR_BITS;
        *size = code == LG_SIZEMAP_BIG ? *lg_addrmap_find(&m->big, *addr) : code;
        ++*pos;
        return true;
    }
    for (size_t k; (k = *pos - m->cap) < lg_addrmap_capacity(&m->big); ++*pos) {
        const lg_addrmap_slot_t *s = &m->big.slots[k];
        if (!s->key || lg_sizemap_packs(s->key)) continue; /* empty, or the size of a slot */
        *addr = s->key;
        *size = s->val;
        ++*pos;
        return true;
    }
    return false;
}

size_t lg_sizemap_bytes(const lg_sizemap_t *m)
{
    return m->cap * sizeof(uint64_t) + lg_addrmap_capacity(&m->big) * sizeof(lg_addrmap_slot_t);
}

void lg_sizemap_free(lg_sizemap_t *m)
{
    slots_release(m->slots, m->cap);
    lg_addrmap_free(&m->big);
    *m = (lg_sizemap_t){0};
}
