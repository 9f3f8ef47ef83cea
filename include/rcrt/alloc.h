/*
 * rcrt/alloc.h - rcrt's small-object allocator (pools of 16 KiB in 1 MiB arenas) and its
 * statistics. Requests up to 512 bytes are served from size classes 16 bytes apart; larger
 * ones go to the C library's malloc. All blocks are 16-byte aligned.
 *
 * Same thread rule as the rest of rcrt: one thread at a time (see rcrt/object.h).
 */
#ifndef RCRT_ALLOC_H
#define RCRT_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RC_ALLOC_NB_CLASSES 32 /* 16, 32, ... 512 */

/* Allocate `n` bytes (n == 0 gives a distinct 16-byte block). NULL and errno ENOMEM on
 * failure. */
void *rc_malloc(size_t n);
/* Allocate `count * size` zeroed bytes; NULL on overflow or failure. */
void *rc_calloc(size_t count, size_t size);
/* Resize; keeps the block when the new size fits its size class. NULL on failure (the old
 * block is then untouched). */
void *rc_realloc(void *p, size_t n);
/* Free a block from rc_malloc/rc_calloc/rc_realloc (NULL is ignored). */
void rc_free(void *p);

/* True if `p` lies in one of the allocator's arenas (O(1): one load from the arena map, no
 * memory of the block is read). False for blocks served by malloc. */
bool rc_alloc_owns(const void *p);

/* Bytes usable in the block at `p` (its size class; malloc_usable_size for large blocks; the
 * requested size in debug mode). */
size_t rc_usable_size(const void *p);

/* Debug mode (like PYTHONMALLOC=debug): fresh blocks are filled with 0xCD, freed ones with
 * 0xDD, each block is framed by 8 guard bytes of 0xFD on both sides that are checked at free
 * and realloc, and freed pool blocks are checked for writes-after-free when reused. A failed
 * check prints the block and aborts. Must be chosen before the first allocation (also by
 * setting RCRT_MALLOC_DEBUG=1 in the environment). Returns 0, or -EBUSY once blocks exist. */
int rc_alloc_set_debug(bool on);
bool rc_alloc_debug_enabled(void);

/* Statistics of one size class. */
typedef struct rc_size_class_stats {
    size_t block_size;    /* bytes per block */
    size_t pools;         /* pools currently serving this class */
    size_t blocks_in_use; /* allocated blocks */
    size_t blocks_free;   /* free blocks inside those pools */
} rc_size_class_stats_t;

/* Statistics of one arena. */
typedef struct rc_arena_stats {
    uintptr_t base;       /* address of the arena (1 MiB aligned) */
    size_t pools_total;   /* pools in the arena */
    size_t pools_used;    /* pools holding at least one block */
    size_t pools_free;    /* empty pools (including never-used ones) */
    size_t blocks_in_use; /* allocated blocks in the arena */
} rc_arena_stats_t;

/* Whole-allocator statistics, in the spirit of sys._debugmallocstats(). */
typedef struct rc_alloc_stats {
    rc_size_class_stats_t classes[RC_ALLOC_NB_CLASSES];
    size_t arenas_allocated_total; /* arenas mapped since start */
    size_t arenas_freed_total;     /* arenas unmapped since start */
    size_t arenas_current;         /* arenas in use (not counting the spare) */
    size_t arenas_highwater;       /* most arenas in use at once */
    size_t arenas_spare;           /* free arena kept mapped for reuse (0 or 1) */
    size_t pools_used;             /* pools holding blocks */
    size_t pools_free;             /* empty or never-used pools in arenas in use */
    size_t bytes_in_use;           /* bytes in allocated blocks (class sizes) */
    size_t bytes_free_blocks;      /* bytes in free blocks of used pools */
    size_t bytes_free_pools;       /* bytes in empty pools (headers included) */
    size_t bytes_pool_headers;     /* bytes lost to pool headers of used pools */
    size_t bytes_quantization;     /* bytes lost at the end of used pools (size % class) */
    size_t bytes_arena_alignment;  /* bytes lost aligning arenas (0: arenas are aligned) */
    size_t large_blocks;           /* live blocks served by malloc */
    size_t large_bytes;            /* bytes requested for them */
} rc_alloc_stats_t;

/* Fill `out`. Walks the arenas: O(arenas * pools), for diagnostics, not hot paths. */
void rc_alloc_get_stats(rc_alloc_stats_t *out);

/* Fill up to `max` arena records, in address order of creation; returns the number of arenas
 * in use (which may exceed `max`). */
size_t rc_alloc_get_arena_stats(rc_arena_stats_t *out, size_t max);

/* Print the statistics as a table, like sys._debugmallocstats(). */
void rc_alloc_print_stats(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* RCRT_ALLOC_H */
