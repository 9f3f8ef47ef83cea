/* The address map (see addrmap.h): growth, insertion and backward-shift deletion. */
#define _GNU_SOURCE
#include "addrmap.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Tables this large are mapped on their own, with huge pages requested. */
#define LG_ADDRMAP_MMAP_BYTES (4u << 20)
#define LG_ADDRMAP_MIN_SLOTS 4096
_Static_assert((LG_ADDRMAP_MIN_SLOTS & (LG_ADDRMAP_MIN_SLOTS - 1)) == 0,
               "the probe masks with slots - 1");

void *lg_table_alloc(size_t bytes)
{
    if (bytes < LG_ADDRMAP_MMAP_BYTES) return calloc(1, bytes);
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    madvise(m, bytes, MADV_HUGEPAGE);
    return m;
}

void lg_table_release(void *p, size_t bytes)
{
    if (!p) return;
    if (bytes < LG_ADDRMAP_MMAP_BYTES) free(p);
    else munmap(p, bytes);
}

static lg_addrmap_slot_t *slots_alloc(size_t cap)
{
    return lg_table_alloc(cap * sizeof(lg_addrmap_slot_t));
}

static void slots_release(lg_addrmap_slot_t *slots, size_t cap)
{
    lg_table_release(slots, cap * sizeof(lg_addrmap_slot_t));
}

/* Rehashes into a table of cap slots (a power of two, > 2 * used). */
static int rehash(lg_addrmap_t *m, size_t cap)
{
    lg_addrmap_slot_t *ns = slots_alloc(cap);
    if (!ns) return -ENOMEM;
    for (size_t i = 0; m->slots && i <= m->mask; i++) {
        if (!m->slots[i].key) continue;
        size_t j = lg_addrmap_home(m->slots[i].key, cap - 1);
        while (ns[j].key) j = (j + 1) & (cap - 1);
        ns[j] = m->slots[i];
    }
    slots_release(m->slots, lg_addrmap_capacity(m));
    m->slots = ns;
    m->mask = cap - 1;
    return 0;
}

int lg_addrmap_reserve(lg_addrmap_t *m, size_t n)
{
    size_t cap = m->slots ? m->mask + 1 : LG_ADDRMAP_MIN_SLOTS;
    while (cap < 2 * n) cap *= 2;
    return m->slots && cap == m->mask + 1 ? 0 : rehash(m, cap);
}

int lg_addrmap_put(lg_addrmap_t *m, uint64_t key, uint64_t val)
{
    if ((!m->slots || (m->used + 1) * 2 > m->mask + 1) &&
        rehash(m, m->slots ? (m->mask + 1) * 2 : LG_ADDRMAP_MIN_SLOTS))
        return -ENOMEM;
    size_t j = lg_addrmap_home(key, m->mask);
    for (; m->slots[j].key; j = (j + 1) & m->mask)
        if (m->slots[j].key == key) break;
    if (!m->slots[j].key) m->used++;
    m->slots[j] = (lg_addrmap_slot_t){key, val};
    return 0;
}

bool lg_addrmap_del(lg_addrmap_t *m, uint64_t key, uint64_t *val)
{
    if (!m->slots || !key) return false;
    size_t i = lg_addrmap_home(key, m->mask);
    for (; m->slots[i].key != key; i = (i + 1) & m->mask)
        if (!m->slots[i].key) return false;
    if (val) *val = m->slots[i].val;
    size_t j = i;
    for (;;) { /* shift back every entry whose probe path crossed the hole */
        j = (j + 1) & m->mask;
        if (!m->slots[j].key) break;
        size_t home = lg_addrmap_home(m->slots[j].key, m->mask);
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = 0;
    m->used--;
    return true;
}

void lg_addrmap_free(lg_addrmap_t *m)
{
    slots_release(m->slots, lg_addrmap_capacity(m));
    *m = (lg_addrmap_t){0};
}
