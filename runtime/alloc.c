/*
 * runtime/alloc.c - rcrt's small-object allocator: size classes, pools, arenas, the radix
 * ownership test, statistics and the debug mode. It owns every byte of the arenas; it must not
 * call anything that could re-enter it, and its fast paths (rc_malloc and rc_free of a small
 * block) take no lock, make no system call and call no libc function.
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
 *
 * Ownership. rc_free must tell a pool block from a malloc block without reading the block's
 * memory (it may be a malloc block next to unmapped memory). Arenas are aligned to their size,
 * so addr >> 20 identifies the arena; a two-level radix tree over the 28 bits of that key
 * (a static root of 16 Ki leaf pointers, leaves of 16 Ki bytes made on demand) answers in two
 * dependent loads. The pool header is then at addr & ~(16 KiB - 1).
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

static struct {
    rc_pool_t *usedpools[RC_NB_CLASSES];
    int mode;                     /* MODE_*: checked first on every call */
    int want_debug;               /* rc_alloc_set_debug before start */
    rc_arena_t *usable;
    rc_arena_t *nfp2lasta[RC_POOLS_PER_ARENA + 1];
    rc_arena_t *all;
    rc_arena_t *spare;
    size_t arenas_allocated, arenas_freed, arenas_current, arenas_highwater;
    size_t large_blocks, large_bytes;
} A;

/* ---- radix tree: is this address in one of our arenas? -------------------------------- */

#define RADIX_KEY_BITS (RC_ADDRESS_BITS - RC_ARENA_BITS)
#define RADIX_ROOT_BITS (RADIX_KEY_BITS / 2)
#define RADIX_LEAF_BITS (RADIX_KEY_BITS - RADIX_ROOT_BITS)
#define RADIX_LEAF_MASK (((uintptr_t)1 << RADIX_LEAF_BITS) - 1)

static uint8_t *radix_root[(size_t)1 << RADIX_ROOT_BITS];

static inline bool radix_get(uintptr_t addr)
{
    if (RC_UNLIKELY(addr >> RC_ADDRESS_BITS))
        return false;
    uintptr_t key = addr >> RC_ARENA_BITS;
    uint8_t *leaf = radix_root[key >> RADIX_LEAF_BITS];
    return leaf != NULL && leaf[key & RADIX_LEAF_MASK];
}

/* Mark or unmark an arena. Returns 0 or -ENOMEM (a leaf could not be made). */
static int radix_set(uintptr_t base, uint8_t value)
{
    if (base >> RC_ADDRESS_BITS)
        return -ENOMEM; /* outside the covered space: refuse the arena */
    uintptr_t key = base >> RC_ARENA_BITS;
    uint8_t **slot = &radix_root[key >> RADIX_LEAF_BITS];
    if (*slot == NULL) {
        if (!value)
            return 0;
        *slot = calloc((size_t)1 << RADIX_LEAF_BITS, 1);
        if (*slot == NULL)
            return -ENOMEM;
    }
    (*slot)[key & RADIX_LEAF_MASK] = value;
    return 0;
}

bool rc_alloc_owns(const void *p)
{
    return radix_get((uintptr_t)p);
}

/* ---- arenas ---------------------------------------------------------------------------- */

/* A new arena from the spare or from mmap; NULL if the OS says no. */
static rc_arena_t *arena_new(void)
{
    rc_arena_t *a = A.spare;
    if (a != NULL) {
        A.spare = NULL;
    } else {
        a = malloc(sizeof *a);
        if (a == NULL)
            return NULL;
        /* Map twice the size and trim to an aligned arena. */
        size_t len = 2 * (size_t)RC_ARENA_SIZE;
        uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            free(a);
            return NULL;
        }
        uintptr_t base = RC_ROUNDUP((uintptr_t)p, RC_ARENA_SIZE);
        size_t head = base - (uintptr_t)p;
        if (head)
            munmap(p, head);
        if (RC_ARENA_SIZE - head)
            munmap((void *)(base + RC_ARENA_SIZE), RC_ARENA_SIZE - head);
        if (radix_set(base, 1) != 0) {
            munmap((void *)base, RC_ARENA_SIZE);
            free(a);
            return NULL;
        }
        a->base = base;
        POISON((void *)base, RC_ARENA_SIZE);
        A.arenas_allocated++;
    }
    a->freepools = NULL;
    a->ntotalpools = a->nfreepools = RC_POOLS_PER_ARENA;
    a->pool_address = a->base;
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
    radix_set(a->base, 0);
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
    A.usedpools[idx] = pool;
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
 * or, if none is left, the pool is full and leaves the list. */
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
    A.usedpools[idx] = pool->nextpool;
    if (pool->nextpool)
        pool->nextpool->prevpool = NULL;
    pool->nextpool = pool->prevpool = NULL;
}

/* The first block of a full pool was freed: the pool is used again, at the front. */
static void pool_was_full(rc_pool_t *pool)
{
    pool->ref--; /* capacity >= 31, so the pool cannot be empty now */
    rc_pool_t *head = A.usedpools[pool->szidx];
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
        A.usedpools[pool->szidx] = pool->nextpool;
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
        rc_pool_t *pool = A.usedpools[idx];
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

/* Fast path of free: one radix lookup, push on the pool's free list. */
static inline void raw_free(void *p)
{
    if (RC_LIKELY(radix_get((uintptr_t)p))) {
        rc_pool_t *pool = POOL_ADDR(p);
        uint8_t *last = pool->freeblock;
        *(uint8_t **)p = last;
        pool->freeblock = p;
        POISON(p, INDEX2SIZE(pool->szidx));
        if (RC_UNLIKELY(last == NULL))
            pool_was_full(pool);
        else if (RC_UNLIKELY(--pool->ref == 0))
            pool_became_empty(pool);
        return;
    }
    if (p != NULL)
        large_free(p);
}

static size_t raw_usable(const void *p)
{
    if (radix_get((uintptr_t)p))
        return INDEX2SIZE(POOL_ADDR(p)->szidx);
    return malloc_usable_size((void *)(uintptr_t)p);
}

static void *raw_realloc(void *p, size_t n)
{
    size_t old;
    if (radix_get((uintptr_t)p)) {
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
    if (radix_get((uintptr_t)raw))
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

/* Popped the last free block of the head pool: carve the next one or retire the pool, then
 * hand out `bp`. Out of line so that the fast path below needs no stack frame. */
__attribute__((noinline)) static void *extend_then(rc_pool_t *pool, unsigned idx, void *bp)
{
    pool_extend(pool, idx);
    return bp;
}

/* Everything that is not a pop from a used pool: first call, debug mode, a class without a
 * used pool, large requests. */
__attribute__((noinline)) static void *malloc_slow(size_t n)
{
    if (A.mode == MODE_UNINIT)
        rc_alloc_init_once();
    if (A.mode == MODE_DEBUG)
        return debug_malloc(n);
    return raw_malloc(n);
}

/* The fast path: two tests, a pop, and tail calls to the slow paths (no frame, no spill). */
void *rc_malloc(size_t n)
{
    if (RC_LIKELY(A.mode == MODE_RAW) && RC_LIKELY(n - 1 < RC_SMALL_LIMIT)) {
        unsigned idx = (unsigned)((n - 1) >> RC_ALIGNMENT_SHIFT);
        rc_pool_t *pool = A.usedpools[idx];
        if (RC_LIKELY(pool != NULL)) {
            uint8_t *bp = pool->freeblock;
            UNPOISON(bp, INDEX2SIZE(idx));
            uint8_t *next = *(uint8_t **)bp;
            pool->ref++;
            pool->freeblock = next;
            if (RC_LIKELY(next != NULL))
                return bp;
            return extend_then(pool, idx, bp);
        }
    }
    return malloc_slow(n);
}

void rc_free(void *p)
{
    if (RC_LIKELY(A.mode != MODE_DEBUG))
        raw_free(p);
    else
        debug_free(p);
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
