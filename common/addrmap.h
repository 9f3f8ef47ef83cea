/* addrmap.h: the analyzer's one hash table keyed by address: a 64-bit key (never 0) mapped to
 * a 64-bit value (a size, an index, ...). Open addressing with linear probing on a
 * power-of-two table kept at most half full, and backward-shift deletion, so a table that sees
 * millions of inserts and deletes never fills with tombstones. A table of 4 MiB or more is
 * mapped on its own with transparent huge pages requested: millions of random probes otherwise
 * miss the TLB as well as the cache.
 *
 * Memory: 16 bytes a slot, at most 4 slots an entry (the table doubles at half full). Lookups
 * and inserts are O(1) expected; iteration is over slots (key 0 = empty). Not thread-safe. */
#ifndef LG_COMMON_ADDRMAP_H
#define LG_COMMON_ADDRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lg_addrmap_slot {
    uint64_t key; /* 0 = empty */
    uint64_t val;
} lg_addrmap_slot_t;

typedef struct lg_addrmap {
    lg_addrmap_slot_t *slots; /* NULL until the first insert (or lg_addrmap_reserve) */
    size_t mask;              /* slots - 1 */
    size_t used;              /* entries */
} lg_addrmap_t;

/* The slot at which a key's probe starts (a full-avalanche mix of the address: allocators
 * align addresses, so their low bits alone would cluster). */
static inline size_t lg_addrmap_home(uint64_t key, size_t mask)
{
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ull;
    key ^= key >> 32;
    return (size_t)key & mask;
}

/* The value slot of key, or NULL when key is not in the map. The pointer is valid until the
 * next insert or delete. */
static inline uint64_t *lg_addrmap_find(const lg_addrmap_t *m, uint64_t key)
{
    if (!m->slots) return NULL;
    for (size_t j = lg_addrmap_home(key, m->mask); m->slots[j].key; j = (j + 1) & m->mask)
        if (m->slots[j].key == key) return &m->slots[j].val;
    return NULL;
}

/* Makes room for n entries without growing later. Returns 0 or -ENOMEM (map unchanged). */
int lg_addrmap_reserve(lg_addrmap_t *m, size_t n);

/* Maps key (!= 0) to val, replacing any value it had. Returns 0 or -ENOMEM (map unchanged). */
int lg_addrmap_put(lg_addrmap_t *m, uint64_t key, uint64_t val);

/* Removes key; stores its value in *val when val is not NULL. Returns false if key was not in
 * the map (key 0 never is). */
bool lg_addrmap_del(lg_addrmap_t *m, uint64_t key, uint64_t *val);

/* Frees the slots; the map is empty and reusable afterwards. */
void lg_addrmap_free(lg_addrmap_t *m);

/* The number of slots to iterate over (slots[i].key == 0 are empty). */
static inline size_t lg_addrmap_capacity(const lg_addrmap_t *m)
{
    return m->slots ? m->mask + 1 : 0;
}

/* A prefetch of key's home slot, for a caller that knows it will look key up soon. */
static inline void lg_addrmap_prefetch(const lg_addrmap_t *m, uint64_t key)
{
    if (m->slots) __builtin_prefetch(&m->slots[lg_addrmap_home(key, m->mask)], 1);
}

/* The memory of a table of `bytes` (zeroed): from malloc when small, else mapped on its own
 * with huge pages requested. Released with the same size. Shared with sizemap.c. */
void *lg_table_alloc(size_t bytes);
void lg_table_release(void *p, size_t bytes);

#endif
