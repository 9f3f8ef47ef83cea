/*
 * runtime/alloc.c - rcrt's small-object allocator: size classes, pools, arenas, the arena map
 * (the ownership test), statistics and the debug mode. It owns every byte of the arenas; it
 * must not call anything that could re-enter it, and its fast paths (rc_malloc and rc_free of
 * a small block) take no lock, make no system call and call no libc function.
 *
 * Design
 * ======
 * Modelled on CPython's Objects/obmalloc.c; written anew. Memory comes in three layers:
 *
 *     OS (mmap)  ->  arena, 1 MiB, aligned to 1 MiB, 64 pools
 *                      -> pool, 16 KiB, one size class: [header | block | block | ... | tail]
 *                           -> block, 16..512 bytes, what rc_malloc returns
 *     malloc     ->  every request over 512 bytes
 *
 * Size classes (16 bytes apart, so rounding wastes at most 15 bytes a block):
 *
 *     request bytes   class size   class index   blocks per pool
 *       1 -  16           16            0             1021
 *      17 -  32           32            1              510
 *      ...               ...          ...              ...
 *     497 - 512          512           31               31
 *
 * Pools. A pool serves one class. Its header holds the count of blocks in use (`ref`), a
 * singly linked list of freed blocks threaded through their first word (`freeblock`), and
 * `nextoffset`, the first never-used block: blocks are carved lazily, so a fresh pool costs
 * nothing until it is used, and the pages behind it are not touched either. A pool is in one
 * of three states:
 *
 *     used   0 < ref < capacity   linked in usedpools[class] (doubly linked, NULL-terminated)
 *     full   ref == capacity      in no list; freeblock == NULL
 *     empty  ref == 0             in its arena's freepools list (singly linked)
 *
 *     empty --alloc--> used --alloc last block--> full --free--> used --free last--> empty
 *
 * Invariant: a pool in usedpools has freeblock != NULL (a free or never-used block), so the
 * allocation fast path is: take the first pool of the class, pop its freeblock, and only if
 * the list ran dry look at nextoffset (carve) or unlink the now-full pool. A pool whose first
 * block is freed while full goes to the front of its class list; a pool that becomes empty
 * goes back to its arena and may later serve another class.
 *
 * Arenas. `usable` lists the arenas that have empty pools, sorted by their number of empty
 * pools, fewest first, and a new pool is always taken from the head: the fullest arena. So
 * allocation concentrates in few arenas and the others drain; an arena whose pools are all
 * empty is unmapped (one is kept as a spare, RC_ARENA_SPARES). Keeping the list sorted costs
 * O(1) per change thanks to nfp2lasta[n], the last arena in the list with n empty pools: an
 * arena whose count goes from n to n+1 moves right after nfp2lasta[n] (CPython's trick).
 * The spare keeps its carved pools (empty, in its freepools list) when it is reused.
 *
 * Huge pages. Once RC_HUGE_ARENAS arenas are in use, new arenas are mapped two at a time,
 * 2 MiB aligned, with MADV_HUGEPAGE: with millions of live blocks, a free otherwise pays a TLB
 * miss for the block and often another for its pool header (a different 4 KiB page), and
 * these page walks, not instructions, are the cost of random frees. Smaller programs keep
 * 4 KiB pages and their memory is not rounded up to 2 MiB.
 *
 * Ownership. rc_free must tell a pool block from a malloc block without reading the block's
 * memory (it may be a malloc block next to unmapped memory). Arenas are aligned to their size,
 * so addr >> 20 identifies the arena; the arena map holds one byte per such key over the 48-bit
 * user address space: 2^28 bytes of address space reserved read-only at start-up
 * (MAP_NORESERVE: reading an untouched page maps the zero page; a page is made writable, and
 * so backed and committed, when an arena in its 4 GiB of address space is made). The byte
 * says whose the arena is and in which mode: 0 not ours, ARENA_RAW, ARENA_DEBUG; so rc_free
 * answers "is it ours, and is the fast path allowed" with one bounds test and one load, and
 * needs no separate test of the mode. The pool header is then at addr & ~(16 KiB - 1).
 * (The first version was a two-level radix tree with a NULL test per level and a mode test
 * in front: 14 instructions where the map needs 6.)
 *
 * Empty classes. A class with no used pool has as its head `no_pool`, a static pool whose free
 * list is one block holding NULL: the allocation fast path pops it like any block, sees the
 * list run dry and only then goes to the slow path (malloc_refill), which restores `no_pool`
 * and starts a real pool. So the fast path has no separate test for an empty class.
 *
 * Debug mode wraps each block as [size | 8 x 0xFD | data (0xCD when fresh) | 8 x 0xFD];
 * freed blocks (and emptied pools) are filled with 0xDD, and reused pool blocks are checked
 * to still hold 0xDD (or 0, never used) past their link word. Under AddressSanitizer, free
 * blocks and never-used space are poisoned, so ASan sees use-after-free of pool blocks too.
 *
 * Thread model: none; the caller serialises (see rcrt/object.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

typedef struct rc_arena rc_arena_t;

/* Pool header, at the start of each 16 KiB pool. */
typedef struct rc_pool {
    uint32_t ref;                 /* blocks in use */
    uint32_t szidx;               /* size class index */
    uint8_t *freeblock;           /* first free block; NULL iff the pool is full */
    struct rc_pool *nextpool;     /* used: next in usedpools; empty: next in freepools */
    struct rc_pool *prevpool;     /* used: previous in usedpools (NULL at the head) */
    rc_arena_t *arena;            /* the arena holding this pool */
    uint32_t nextoffset;          /* offset of the first never-used block */
    uint32_t maxnextoffset;       /* largest offset where a whole block still fits */
} rc_pool_t;

#define POOL_OVERHEAD RC_ROUNDUP(sizeof(rc_pool_t), RC_ALIGNMENT)
#define POOL_ADDR(p) ((rc_pool_t *)((uintptr_t)(p) & ~(uintptr_t)(RC_POOL_SIZE - 1)))
#define INDEX2SIZE(i) (((size_t)(i) + 1) << RC_ALIGNMENT_SHIFT)
#define POOL_CAPACITY(i) ((RC_POOL_SIZE - POOL_OVERHEAD) / INDEX2SIZE(i))

_Static_assert(POOL_OVERHEAD % RC_ALIGNMENT == 0, "first block aligned");

/* Arena descriptor (malloc'd, outside the arena, so an arena is 64 whole pools). */
struct rc_arena {
    uintptr_t base;               /* address of the mapping, RC_ARENA_SIZE aligned */
    rc_pool_t *freepools;         /* empty pools, linked by nextpool */
    unsigned nfreepools;          /* empty + never-used pools */
    unsigned ntotalpools;         /* RC_POOLS_PER_ARENA */
    uintptr_t pool_address;       /* first never-used pool */
    rc_arena_t *nextarena;        /* usable list, ascending nfreepools */
    rc_arena_t *prevarena;
    rc_arena_t *allnext;          /* all arenas in use */
    rc_arena_t *allprev;
};

enum { MODE_UNINIT = 0, MODE_RAW = 1, MODE_DEBUG = 2 };
/* Arena map bytes. */
enum { ARENA_NONE = 0, ARENA_RAW = 1, ARENA_DEBUG = 2 };

static struct {
    /* What the fast paths read, first, in the same cache lines. */
    size_t fast_limit;            /* RC_SMALL_LIMIT in raw mode; 0 before start-up and in debug
                                   * mode, so that every rc_malloc then goes to malloc_slow */
    uint8_t *map;                 /* the arena map, ARENA_* per addr >> RC_ARENA_BITS */
    uintptr_t map_keys;           /* entries of map; 0 until it is reserved */
    rc_pool_t *usedpools[RC_NB_CLASSES]; /* first used pool per class, or &no_pool */
    int mode;                     /* MODE_* */
    int want_debug;               /* rc_alloc_set_debug before start */
    size_t page_size;
    rc_arena_t *usable;
    rc_arena_t *nfp2lasta[RC_POOLS_PER_ARENA + 1];
    rc_arena_t *all;
    rc_arena_t *spare;
    uintptr_t half;               /* mapped second half of a huge-page pair, not yet an arena */
    size_t arenas_allocated, arenas_freed, arenas_current, arenas_highwater;
    size_t large_blocks, large_bytes;
} A;

/* ---- the arena map: is this address in one of our arenas? ----------------------------- */

#define MAP_KEYS ((uintptr_t)1 << (RC_ADDRESS_BITS - RC_ARENA_BITS))

/* Reserve the map at start-up. Without it no arena can be made (every pool allocation then
 * fails with ENOMEM), but frees, ownership tests and large blocks work. */
static void map_reserve(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    A.page_size = ps > 0 ? (size_t)ps : 4096;
    void *m = mmap(NULL, MAP_KEYS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return;
    A.map = m;
    A.map_keys = MAP_KEYS;
}

/* ARENA_* of the arena holding `addr` (ARENA_NONE if none of ours). */
static inline unsigned arena_kind(uintptr_t addr)
{
    uintptr_t key = addr >> RC_ARENA_BITS;
    return key < A.map_keys ? A.map[key] : ARENA_NONE;
}

/* Mark (kind ARENA_RAW / ARENA_DEBUG) or unmark (ARENA_NONE) an arena. Returns 0 or -ENOMEM
 * (outside the mapped space, or its page of the map could not be made writable). */
static int map_set(uintptr_t base, uint8_t kind)
{
    uintptr_t key = base >> RC_ARENA_BITS;
    if (key >= A.map_keys)
        return -ENOMEM;
    if (kind != ARENA_NONE) {
        uintptr_t page = (uintptr_t)&A.map[key] & ~(uintptr_t)(A.page_size - 1);
        if (mprotect((void *)page, A.page_size, PROT_READ | PROT_WRITE) != 0)
            return -ENOMEM;
    }
    A.map[key] = kind;
    return 0;
}

bool rc_alloc_owns(const void *p)
{
    return arena_kind((uintptr_t)p) != ARENA_NONE;
}

/* ---- empty classes ----------------------------------------------------------------------- */

static _Alignas(RC_ALIGNMENT) uint8_t no_pool_block[RC_SMALL_LIMIT]; /* its link word is NULL */
static rc_pool_t no_pool = {.freeblock = no_pool_block};

static inline rc_pool_t *class_first(unsigned idx)
{
    rc_pool_t *pool = A.usedpools[idx];
    return pool == &no_pool ? NULL : pool;
}

static inline void class_set_first(unsigned idx, rc_pool_t *pool)
{
    A.usedpools[idx] = pool != NULL ? pool : &no_pool;
}

/* ---- arenas ---------------------------------------------------------------------------- */

/* A new arena from the spare or from mmap; NULL if the OS says no. The spare comes back as it
 * left: its pools all empty but still carved, in its freepools list, each with its free list
 * and class (so a program that empties its last arena and starts again, as a LIFO loop does,
 * re-carves nothing). */
/* Map `len` bytes aligned to `len` (a power of two): map twice as much and trim. Returns the
 * base, or 0 if the OS says no. */
static uintptr_t map_aligned(size_t len)
{
    uint8_t *p = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    uintptr_t base = RC_ROUNDUP((uintptr_t)p, len);
    size_t head = base - (uintptr_t)p;
    if (head)
        munmap(p, head);
    if (len - head)
        munmap((void *)(base + len), len - head);
    return base;
}

/* The address of a fresh arena: with RC_HUGE_ARENAS arenas in use, the first half of a new
 * pair aligned to 2 MiB with transparent huge pages requested (the second half is kept in
 * `half` for the next arena); below it, an arena of its own. 0 if the OS says no. A failed
 * madvise (no THP in the kernel) leaves an ordinary pair. */
static uintptr_t arena_map(void)
{
    if (A.half != 0) {
        uintptr_t base = A.half;
        A.half = 0;
        return base;
    }
    if (A.arenas_current < RC_HUGE_ARENAS)
        return map_aligned(RC_ARENA_SIZE);
    uintptr_t base = map_aligned(2 * (size_t)RC_ARENA_SIZE);
    if (base == 0)
        return 0;
#ifdef MADV_HUGEPAGE
    (void)madvise((void *)base, 2 * (size_t)RC_ARENA_SIZE, MADV_HUGEPAGE);
#endif
    A.half = base + RC_ARENA_SIZE;
    return base;
}

static rc_arena_t *arena_new(void)
{
    rc_arena_t *a = A.spare;
    if (a != NULL) {
        A.spare = NULL;
    } else {
        a = malloc(sizeof *a);
        if (a == NULL)
            return NULL;
        uintptr_t base = arena_map();
        if (base == 0) {
            free(a);
            return NULL;
        }
        if (map_set(base, A.mode == MODE_DEBUG ? ARENA_DEBUG : ARENA_RAW) != 0) {
            munmap((void *)base, RC_ARENA_SIZE);
            free(a);
            return NULL;
        }
        a->base = base;
        POISON((void *)base, RC_ARENA_SIZE);
        A.arenas_allocated++;
        a->freepools = NULL;
        a->pool_address = a->base;
    }
    a->ntotalpools = a->nfreepools = RC_POOLS_PER_ARENA;
    a->nextarena = a->prevarena = NULL;
    a->allprev = NULL;
    a->allnext = A.all;
    if (A.all)
        A.all->allprev = a;
    A.all = a;
    if (++A.arenas_current > A.arenas_highwater)
        A.arenas_highwater = A.arenas_current;
    return a;
}

/* An arena whose pools are all empty (already out of the usable list) goes to the spare slot
 * or back to the OS. */
static void arena_release(rc_arena_t *a)
{
    if (a->allprev)
        a->allprev->allnext = a->allnext;
    else
        A.all = a->allnext;
    if (a->allnext)
        a->allnext->allprev = a->allprev;
    A.arenas_current--;
    if (A.spare == NULL && RC_ARENA_SPARES > 0) {
        A.spare = a;
        return;
    }
    map_set(a->base, ARENA_NONE);
    UNPOISON((void *)a->base, RC_ARENA_SIZE);
    munmap((void *)a->base, RC_ARENA_SIZE);
    free(a);
    A.arenas_freed++;
}

static void usable_unlink(rc_arena_t *a)
{
    if (a->prevarena)
        a->prevarena->nextarena = a->nextarena;
    else
        A.usable = a->nextarena;
    if (a->nextarena)
        a->nextarena->prevarena = a->prevarena;
    a->nextarena = a->prevarena = NULL;
}

/* Take an empty pool from the fullest usable arena (making an arena if none is usable).
 * Keeps `usable` sorted: the head has the fewest empty pools, so decrementing its count keeps
 * it first, and it is the only arena with the new count. */
static rc_pool_t *pool_take(bool *was_used)
{
    rc_arena_t *a = A.usable;
    if (a == NULL) {
        a = arena_new();
        if (a == NULL)
            return NULL;
        A.usable = a;
        A.nfp2lasta[a->nfreepools] = a;
    }
    rc_pool_t *pool;
    if (a->freepools != NULL) {
        pool = a->freepools;
        UNPOISON(pool, POOL_OVERHEAD);
        a->freepools = pool->nextpool;
        *was_used = true;
    } else {
        pool = (rc_pool_t *)a->pool_address;
        UNPOISON(pool, POOL_OVERHEAD);
        a->pool_address += RC_POOL_SIZE;
        *was_used = false;
    }
    unsigned nf = a->nfreepools;
    if (A.nfp2lasta[nf] == a)
        A.nfp2lasta[nf] = NULL;
    a->nfreepools = --nf;
    if (nf == 0)
        usable_unlink(a);
    else
        A.nfp2lasta[nf] = a; /* no other arena had fewer than the head */
    pool->arena = a;
    return pool;
}

/* A pool of arena `a` became empty: one more free pool. Move `a` right after the last arena
 * with its old count (O(1) with nfp2lasta), and release the arena if it is wholly free. */
static void arena_gained_pool(rc_arena_t *a)
{
    unsigned nf = a->nfreepools;
    a->nfreepools = nf + 1;
    if (nf == 0) {
        /* Was full, so not listed: 1 is the smallest count, insert at the head. */
        a->prevarena = NULL;
        a->nextarena = A.usable;
        if (A.usable)
            A.usable->prevarena = a;
        A.usable = a;
        if (A.nfp2lasta[1] == NULL)
            A.nfp2lasta[1] = a;
    } else {
        rc_arena_t *last = A.nfp2lasta[nf];
        if (last == a)
            A.nfp2lasta[nf] =
                (a->prevarena && a->prevarena->nfreepools == nf) ? a->prevarena : NULL;
        else {
            usable_unlink(a);
            a->prevarena = last;
            a->nextarena = last->nextarena;
            if (last->nextarena)
                last->nextarena->prevarena = a;
            last->nextarena = a;
        }
        if (A.nfp2lasta[nf + 1] == NULL)
            A.nfp2lasta[nf + 1] = a;
    }
    if (a->nfreepools == a->ntotalpools) {
        unsigned n = a->ntotalpools;
        if (A.nfp2lasta[n] == a)
            A.nfp2lasta[n] =
                (a->prevarena && a->prevarena->nfreepools == n) ? a->prevarena : NULL;
        usable_unlink(a);
        arena_release(a);
    }
}

/* ---- pools ----------------------------------------------------------------------------- */

static void pool_extend(rc_pool_t *pool, unsigned idx);

/* Slow path of allocation: class `idx` has no used pool. Start a pool for it. */
static void *alloc_new_pool(unsigned idx)
{
    bool was_used;
    rc_pool_t *pool = pool_take(&was_used);
    if (pool == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    size_t size = INDEX2SIZE(idx);
    pool->ref = 1;
    pool->nextpool = pool->prevpool = NULL;
    class_set_first(idx, pool);
    if (was_used && pool->szidx == idx && A.mode != MODE_DEBUG) {
        /* The pool last served this class: its free list is intact (an empty pool keeps its
         * blocks linked), so no re-carving. This keeps a pool that empties and refills, as in
         * a LIFO loop, as cheap as any other (CPython's allocate_from_new_pool does this). */
        uint8_t *bp = pool->freeblock;
        UNPOISON(bp, size);
        pool->freeblock = *(uint8_t **)bp;
        if (pool->freeblock == NULL)
            pool_extend(pool, idx);
        return bp;
    }
    pool->szidx = idx;
    uint8_t *bp = (uint8_t *)pool + POOL_OVERHEAD;
    pool->freeblock = bp + size;
    pool->nextoffset = (uint32_t)(POOL_OVERHEAD + 2 * size);
    pool->maxnextoffset = (uint32_t)(RC_POOL_SIZE - size);
    UNPOISON(pool->freeblock, sizeof(void *));
    *(uint8_t **)pool->freeblock = NULL;
    POISON(pool->freeblock, sizeof(void *));
    UNPOISON(bp, size);
    return bp;
}

/* The pool at the head of its class ran out of free blocks: carve the next never-used block,
 * or, if none is left, the pool is full and leaves the list (its links are left as they are:
 * a full pool is in no list, and pool_was_full sets both). */
static void pool_extend(rc_pool_t *pool, unsigned idx)
{
    if (pool->nextoffset <= pool->maxnextoffset) {
        uint8_t *fb = (uint8_t *)pool + pool->nextoffset;
        pool->nextoffset += (uint32_t)INDEX2SIZE(idx);
        UNPOISON(fb, sizeof(void *));
        *(uint8_t **)fb = NULL;
        POISON(fb, sizeof(void *));
        pool->freeblock = fb;
        return;
    }
    class_set_first(idx, pool->nextpool);
    if (pool->nextpool)
        pool->nextpool->prevpool = NULL;
}

/* The first block of a full pool was freed (and counted): the pool is used again, at the
 * front. */
__attribute__((noinline)) static void pool_was_full(rc_pool_t *pool)
{
    rc_pool_t *head = class_first(pool->szidx);
    pool->prevpool = NULL;
    pool->nextpool = head;
    if (head)
        head->prevpool = pool;
    A.usedpools[pool->szidx] = pool;
}

/* The last block of a pool was freed: the pool leaves its class and returns to its arena. */
static void pool_became_empty(rc_pool_t *pool)
{
    if (pool->prevpool)
        pool->prevpool->nextpool = pool->nextpool;
    else
        class_set_first(pool->szidx, pool->nextpool);
    if (pool->nextpool)
        pool->nextpool->prevpool = pool->prevpool;
    if (A.mode == MODE_DEBUG) {
        UNPOISON((uint8_t *)pool + POOL_OVERHEAD, RC_POOL_SIZE - POOL_OVERHEAD);
        memset((uint8_t *)pool + POOL_OVERHEAD, 0xDD, RC_POOL_SIZE - POOL_OVERHEAD);
        POISON((uint8_t *)pool + POOL_OVERHEAD, RC_POOL_SIZE - POOL_OVERHEAD);
    }
    rc_arena_t *a = pool->arena;
    pool->nextpool = a->freepools;
    pool->prevpool = NULL;
    a->freepools = pool;
    arena_gained_pool(a);
}

/* ---- the raw allocator ------------------------------------------------------------------ */

static void *large_malloc(size_t n)
{
    void *p = malloc(n);
    if (p != NULL) {
        A.large_blocks++;
        A.large_bytes += malloc_usable_size(p);
    }
    return p;
}

static void large_free(void *p)
{
    A.large_blocks--;
    A.large_bytes -= malloc_usable_size(p);
    free(p);
}

/* Fast path: pop the first free block of the first used pool of the class. Must never call
 * libc or the OS; everything else is in the named slow paths. */
static inline void *raw_malloc(size_t n)
{
    if (RC_LIKELY(n - 1 < RC_SMALL_LIMIT)) {
        unsigned idx = (unsigned)((n - 1) >> RC_ALIGNMENT_SHIFT);
        rc_pool_t *pool = class_first(idx);
        if (RC_LIKELY(pool != NULL)) {
            uint8_t *bp = pool->freeblock;
            UNPOISON(bp, INDEX2SIZE(idx));
            pool->ref++;
            if (RC_UNLIKELY((pool->freeblock = *(uint8_t **)bp) == NULL))
                pool_extend(pool, idx);
            return bp;
        }
        return alloc_new_pool(idx);
    }
    if (n == 0)
        return raw_malloc(1);
    return large_malloc(n);
}

/* Push pool block `p` on its pool's free list; the pool may change state. */
static inline void pool_push(void *p)
{
    rc_pool_t *pool = POOL_ADDR(p);
    uint8_t *last = pool->freeblock;
    *(uint8_t **)p = last;
    pool->freeblock = p;
    POISON(p, INDEX2SIZE(pool->szidx));
    if (RC_UNLIKELY(--pool->ref == 0))
        pool_became_empty(pool);
    else if (RC_UNLIKELY(last == NULL))
        pool_was_full(pool); /* capacity >= 31, so a full pool cannot have become empty */
}

static inline void raw_free(void *p)
{
    if (arena_kind((uintptr_t)p) != ARENA_NONE)
        pool_push(p);
    else if (p != NULL)
        large_free(p);
}

static size_t raw_usable(const void *p)
{
    if (arena_kind((uintptr_t)p) != ARENA_NONE)
        return INDEX2SIZE(POOL_ADDR(p)->szidx);
    return malloc_usable_size((void *)(uintptr_t)p);
}

static void *raw_realloc(void *p, size_t n)
{
    size_t old;
    if (arena_kind((uintptr_t)p) != ARENA_NONE) {
        old = INDEX2SIZE(POOL_ADDR(p)->szidx);
        /* Keep the block unless it would waste more than a quarter of it. */
        if (n <= old && 4 * n > 3 * old)
            return p;
    } else {
        if (n > RC_SMALL_LIMIT) {
            size_t before = malloc_usable_size(p);
            void *q = realloc(p, n);
            if (q != NULL)
                A.large_bytes += malloc_usable_size(q) - before;
            return q;
        }
        old = malloc_usable_size(p);
    }
    void *q = raw_malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    raw_free(p);
    return q;
}

/* ---- debug mode ------------------------------------------------------------------------- */

#define DBG_HEAD 16 /* size word + 8 guard bytes */
#define DBG_TAIL 8
#define DBG_GUARD 0xFD
#define DBG_FRESH 0xCD
#define DBG_DEAD 0xDD

static void dbg_fail(const char *what, const void *p)
{
    fprintf(stderr, "rcrt: debug allocator: %s at %p\n", what, p);
    abort();
}

static void dbg_check_guards(uint8_t *raw)
{
    size_t n;
    memcpy(&n, raw, sizeof n);
    for (int i = 8; i < DBG_HEAD; i++)
        if (raw[i] != DBG_GUARD)
            dbg_fail("guard bytes before the block overwritten (or a bad free)", raw + DBG_HEAD);
    for (int i = 0; i < DBG_TAIL; i++)
        if (raw[DBG_HEAD + n + i] != DBG_GUARD)
            dbg_fail("guard bytes after the block overwritten", raw + DBG_HEAD);
}

/* A reused pool block must still hold the dead pattern past its link word (or zeros if it was
 * never used since the arena was mapped). */
static void dbg_check_reuse(uint8_t *raw)
{
    size_t size = raw_usable(raw);
    uint8_t first = raw[sizeof(void *)];
    if (first != DBG_DEAD && first != 0)
        dbg_fail("write to a freed block detected at reuse", raw + DBG_HEAD);
    for (size_t i = sizeof(void *); i < size; i++)
        if (raw[i] != first)
            dbg_fail("write to a freed block detected at reuse", raw + DBG_HEAD);
}

static void *debug_malloc(size_t n)
{
    if (n > SIZE_MAX - DBG_HEAD - DBG_TAIL) {
        errno = ENOMEM;
        return NULL;
    }
    uint8_t *raw = raw_malloc(n + DBG_HEAD + DBG_TAIL);
    if (raw == NULL)
        return NULL;
    if (arena_kind((uintptr_t)raw) != ARENA_NONE)
        dbg_check_reuse(raw);
    memcpy(raw, &n, sizeof n);
    memset(raw + 8, DBG_GUARD, DBG_HEAD - 8);
    memset(raw + DBG_HEAD, DBG_FRESH, n);
    memset(raw + DBG_HEAD + n, DBG_GUARD, DBG_TAIL);
    return raw + DBG_HEAD;
}

static void debug_free(void *p)
{
    if (p == NULL)
        return;
    uint8_t *raw = (uint8_t *)p - DBG_HEAD;
    dbg_check_guards(raw);
    memset(raw, DBG_DEAD, raw_usable(raw));
    raw_free(raw);
}

static size_t debug_size(const void *p)
{
    size_t n;
    memcpy(&n, (const uint8_t *)p - DBG_HEAD, sizeof n);
    return n;
}

/* ---- start-up --------------------------------------------------------------------------- */

void rc_alloc_init_once(void)
{
    if (A.mode != MODE_UNINIT)
        return;
    const char *env = getenv("RCRT_MALLOC_DEBUG");
    if (env != NULL && env[0] != '\0' && env[0] != '0')
        A.want_debug = 1;
    A.mode = A.want_debug ? MODE_DEBUG : MODE_RAW;
    map_reserve();
    for (unsigned i = 0; i < RC_NB_CLASSES; i++)
        A.usedpools[i] = &no_pool;
    A.fast_limit = A.mode == MODE_RAW ? RC_SMALL_LIMIT : 0;
}

int rc_alloc_set_debug(bool on)
{
    if (A.mode != MODE_UNINIT)
        return (A.mode == MODE_DEBUG) == on ? 0 : -EBUSY;
    A.want_debug = on;
    return 0;
}

bool rc_alloc_debug_enabled(void)
{
    return A.mode == MODE_DEBUG || (A.mode == MODE_UNINIT && A.want_debug);
}

/* ---- public entry points ---------------------------------------------------------------- */

/* The fast path popped the last free block of the head pool of the class of `n`: if that pool
 * was `no_pool` (the class has none), restore it and start a real pool; otherwise carve the next
 * block or retire the pool, and hand out `bp`. Out of line so that the fast path needs no
 * stack frame. */
__attribute__((noinline)) static void *malloc_refill(size_t n, rc_pool_t *pool, void *bp)
{
    if (pool == &no_pool) {
        no_pool.freeblock = no_pool_block;
        no_pool.ref = 0;
        return alloc_new_pool((unsigned)((n - 1) >> RC_ALIGNMENT_SHIFT));
    }
    pool_extend(pool, pool->szidx);
    return bp;
}

/* Everything that is not a pop from a pool: first call, debug mode, large requests, 0. */
__attribute__((noinline)) static void *malloc_slow(size_t n)
{
    if (A.mode == MODE_UNINIT)
        rc_alloc_init_once();
    if (A.mode == MODE_DEBUG)
        return debug_malloc(n);
    return raw_malloc(n);
}

/* The fast path: one test of the size (against fast_limit, which is 0 unless the allocator
 * runs in raw mode), a pop, one test that the list did not run dry, and tail calls to the
 * slow paths. No frame, no spill; it must never call libc or the OS. */
void *rc_malloc(size_t n)
{
    if (RC_LIKELY(n - 1 < A.fast_limit)) {
        size_t idx = (n - 1) >> RC_ALIGNMENT_SHIFT;
        rc_pool_t *pool = A.usedpools[idx];
        uint8_t *bp = pool->freeblock;
        UNPOISON(bp, INDEX2SIZE(idx));
        uint8_t *next = *(uint8_t **)bp;
        pool->ref++;
        pool->freeblock = next;
        if (RC_LIKELY(next != NULL))
            return bp;
        return malloc_refill(n, pool, bp);
    }
    return malloc_slow(n);
}

/* Not a raw-mode pool block: NULL, a large block, or any block in debug mode. */
__attribute__((noinline)) static void free_slow(void *p)
{
    if (p == NULL)
        return;
    if (A.mode == MODE_DEBUG)
        debug_free(p);
    else
        large_free(p);
}

/* The fast path: one bounds test and one load of the arena map (which also says the mode), a
 * push, and the two tests of a pool changing state. It must never call libc or the OS. */
void rc_free(void *p)
{
    uintptr_t key = (uintptr_t)p >> RC_ARENA_BITS;
    if (RC_LIKELY(key < A.map_keys) && RC_LIKELY(A.map[key] == ARENA_RAW))
        pool_push(p);
    else
        free_slow(p);
}

void *rc_calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = rc_malloc(count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

void *rc_realloc(void *p, size_t n)
{
    if (p == NULL)
        return rc_malloc(n);
    if (A.mode != MODE_DEBUG)
        return raw_realloc(p, n);
    uint8_t *raw = (uint8_t *)p - DBG_HEAD;
    dbg_check_guards(raw);
    void *q = debug_malloc(n);
    if (q == NULL)
        return NULL;
    size_t old = debug_size(p);
    memcpy(q, p, old < n ? old : n);
    debug_free(p);
    return q;
}

size_t rc_usable_size(const void *p)
{
    if (p == NULL)
        return 0;
    if (A.mode == MODE_DEBUG)
        return debug_size(p);
    return raw_usable(p);
}

/* ---- statistics ------------------------------------------------------------------------- */

/* Visit the carved pools of an arena: used ones (ref > 0) count per class. */
static void arena_tally(const rc_arena_t *a, rc_alloc_stats_t *s, rc_arena_stats_t *as)
{
    size_t carved = (a->pool_address - a->base) / RC_POOL_SIZE;
    as->base = a->base;
    as->pools_total = a->ntotalpools;
    as->pools_used = 0;
    as->blocks_in_use = 0;
    for (size_t i = 0; i < carved; i++) {
        const rc_pool_t *pool = (const rc_pool_t *)(a->base + i * RC_POOL_SIZE);
        if (pool->ref == 0)
            continue;
        as->pools_used++;
        as->blocks_in_use += pool->ref;
        if (s != NULL) {
            unsigned idx = pool->szidx;
            size_t size = INDEX2SIZE(idx), cap = POOL_CAPACITY(idx);
            rc_size_class_stats_t *c = &s->classes[idx];
            c->pools++;
            c->blocks_in_use += pool->ref;
            c->blocks_free += cap - pool->ref;
            s->bytes_in_use += pool->ref * size;
            s->bytes_free_blocks += (cap - pool->ref) * size;
            s->bytes_pool_headers += POOL_OVERHEAD;
            s->bytes_quantization += RC_POOL_SIZE - POOL_OVERHEAD - cap * size;
        }
    }
    as->pools_free = as->pools_total - as->pools_used;
}

void rc_alloc_get_stats(rc_alloc_stats_t *s)
{
    memset(s, 0, sizeof *s);
    for (unsigned i = 0; i < RC_NB_CLASSES; i++)
        s->classes[i].block_size = INDEX2SIZE(i);
    for (const rc_arena_t *a = A.all; a != NULL; a = a->allnext) {
        rc_arena_stats_t as;
        arena_tally(a, s, &as);
        s->pools_used += as.pools_used;
        s->pools_free += as.pools_free;
    }
    s->bytes_free_pools = s->pools_free * RC_POOL_SIZE;
    s->arenas_allocated_total = A.arenas_allocated;
    s->arenas_freed_total = A.arenas_freed;
    s->arenas_current = A.arenas_current;
    s->arenas_highwater = A.arenas_highwater;
    s->arenas_spare = A.spare != NULL;
    s->bytes_arena_alignment = 0;
    s->large_blocks = A.large_blocks;
    s->large_bytes = A.large_bytes;
}

size_t rc_alloc_get_arena_stats(rc_arena_stats_t *out, size_t max)
{
    size_t n = 0;
    for (const rc_arena_t *a = A.all; a != NULL; a = a->allnext, n++)
        if (n < max)
            arena_tally(a, NULL, &out[n]);
    return n;
}

void rc_alloc_print_stats(FILE *out)
{
    rc_alloc_stats_t s;
    rc_alloc_get_stats(&s);
    fprintf(out, "Small block threshold = %d, in %d size classes.\n\n", RC_SMALL_LIMIT,
            RC_NB_CLASSES);
    fprintf(out, "class   size   num pools   blocks in use  avail blocks\n");
    fprintf(out, "-----   ----   ---------   -------------  ------------\n");
    for (unsigned i = 0; i < RC_NB_CLASSES; i++) {
        const rc_size_class_stats_t *c = &s.classes[i];
        if (c->pools == 0)
            continue;
        fprintf(out, "%5u %6zu %11zu %15zu %13zu\n", i, c->block_size, c->pools,
                c->blocks_in_use, c->blocks_free);
    }
    fprintf(out, "\n");
    fprintf(out, "# arenas allocated total           = %14zu\n", s.arenas_allocated_total);
    fprintf(out, "# arenas reclaimed                 = %14zu\n", s.arenas_freed_total);
    fprintf(out, "# arenas highwater mark            = %14zu\n", s.arenas_highwater);
    fprintf(out, "# arenas allocated current         = %14zu\n", s.arenas_current);
    fprintf(out, "# spare arenas kept mapped         = %14zu\n", s.arenas_spare);
    fprintf(out, "%zu arenas * %d bytes/arena %*s= %14zu\n", s.arenas_current, RC_ARENA_SIZE,
            8, "", s.arenas_current * (size_t)RC_ARENA_SIZE);
    fprintf(out, "\n");
    fprintf(out, "# bytes in allocated blocks        = %14zu\n", s.bytes_in_use);
    fprintf(out, "# bytes in available blocks        = %14zu\n", s.bytes_free_blocks);
    fprintf(out, "%zu unused pools * %d bytes %*s= %14zu\n", s.pools_free, RC_POOL_SIZE, 9, "",
            s.bytes_free_pools);
    fprintf(out, "# bytes lost to pool headers       = %14zu\n", s.bytes_pool_headers);
    fprintf(out, "# bytes lost to quantization       = %14zu\n", s.bytes_quantization);
    fprintf(out, "# bytes lost to arena alignment    = %14zu\n", s.bytes_arena_alignment);
    fprintf(out, "Total                              = %14zu\n",
            s.bytes_in_use + s.bytes_free_blocks + s.bytes_free_pools + s.bytes_pool_headers +
                s.bytes_quantization + s.bytes_arena_alignment);
    fprintf(out, "\n# large blocks (malloc)            = %14zu\n", s.large_blocks);
    fprintf(out, "# bytes in large blocks            = %14zu\n", s.large_bytes);
}
