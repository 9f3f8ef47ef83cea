/* sizemap.h: the compact table of live blocks: block address -> size, in one 8-byte word per
 * slot. `leakgraph run`'s collector keeps every traced process's live set in one while it
 * drains the rings (analyzer/replay/live.c), so its memory is what grows with the program's
 * heap: it must cost no more than the program's own malloc metadata (glibc: 8 to 16 bytes of
 * header and at least 32 bytes a chunk), whatever the number of blocks.
 *
 * Layout. A slot is 0 (empty) or (address >> 3) | (size code << 45): addresses handed out by
 * malloc are 8-byte aligned (16 on x86-64 glibc) and below 2^48, so 45 bits hold them; the
 * remaining 19 bits hold the size when it is below LG_SIZEMAP_BIG, else LG_SIZEMAP_BIG and
 * the size is in the side map `big` (an lg_addrmap: address -> size). An address that does
 * not fit (not 8-byte aligned, below 8 or at 2^48 and above) is kept in `big` alone. Blocks
 * of 512 KiB or more and odd addresses are rare, so `big` stays small.
 *
 * Probing. Open addressing with linear probing and backward-shift deletion (as addrmap.h),
 * on a table of any size (the home slot is the high half of mix(address) * capacity, not a
 * mask), so growth need not double: the table grows by half when it is LG_SIZEMAP_LOAD_MAX
 * full, to LG_SIZEMAP_LOAD_MAX * 2/3 full. Memory: 8 / 0.8 = 10 to 8 / 0.53 = 15 bytes an
 * entry once past the first table (24 bytes an entry for the moment of a rehash, when both
 * tables exist). No allocation per entry. Not thread-safe. */
#ifndef LG_COMMON_SIZEMAP_H
#define LG_COMMON_SIZEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addrmap.h"

#define LG_SIZEMAP_ADDR_BITS 45 /* address >> 3 */
#define LG_SIZEMAP_BIG ((1ull << (64 - LG_SIZEMAP_ADDR_BITS)) - 1) /* size code: in `big` */

typedef struct lg_sizemap {
    uint64_t *slots; /* NULL until the first insert */
    size_t cap;      /* slots */
    size_t used;     /* entries in slots */
    size_t count;    /* entries in all (slots, and `big` alone) */
    lg_addrmap_t big; /* sizes of LG_SIZEMAP_BIG entries; whole entries of odd addresses */
} lg_sizemap_t;

/* Does addr fit in a slot? */
static inline bool lg_sizemap_packs(uint64_t addr)
{
    return addr >= 8 && !(addr & 7) && addr < (1ull << (LG_SIZEMAP_ADDR_BITS + 3));
}

/* The slot at which the probe for addr (packed: addr >> 3) starts. */
static inline size_t lg_sizemap_home(uint64_t key, size_t cap)
{
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ull;
    key ^= key >> 32;
    key *= 0x94d049bb133111ebull;
    return (size_t)(((unsigned __int128)key * cap) >> 64);
}

/* Inserts addr (!= 0) with size, replacing any size it had. Returns 0 or -ENOMEM (map
 * unchanged). */
int lg_sizemap_put(lg_sizemap_t *m, uint64_t addr, uint64_t size);

/* Removes addr; stores its size in *size when size is not NULL. Returns false if addr was not
 * in the map. */
bool lg_sizemap_del(lg_sizemap_t *m, uint64_t addr, uint64_t *size);

/* Finds addr: true and its size in *size, or false. */
bool lg_sizemap_get(const lg_sizemap_t *m, uint64_t addr, uint64_t *size);

/* Iteration: call with *pos = 0; each call stores the next entry and returns true, or returns
 * false at the end. Every entry once, in no particular order; the map must not change
 * between the calls. */
bool lg_sizemap_next(const lg_sizemap_t *m, size_t *pos, uint64_t *addr, uint64_t *size);

/* The bytes the map holds allocated now (its slots and its side map). */
size_t lg_sizemap_bytes(const lg_sizemap_t *m);

/* Frees everything; the map is empty and reusable afterwards. */
void lg_sizemap_free(lg_sizemap_t *m);

/* A prefetch of addr's home slot, for a caller that will look it up soon. */
static inline void lg_sizemap_prefetch(const lg_sizemap_t *m, uint64_t addr)
{
    if (m->slots) __builtin_prefetch(&m->slots[lg_sizemap_home(addr >> 3, m->cap)], 1);
}

#endif
