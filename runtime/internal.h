/*
 * runtime/internal.h - what rcrt's source files share and nobody else sees: the tunables, the
 * collector header that precedes containers, and the internal functions, grouped by the file
 * that defines them. Nothing here is part of the public API or the hook ABI.
 */
#ifndef RCRT_INTERNAL_H
#define RCRT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "rcrt/rcrt.h"

/* ======================================================================================
 * Tunables. Each value says why it is what it is; the invariants are checked below.
 * ====================================================================================== */

/* Block alignment and size-class spacing. 16 is what malloc guarantees on x86-64 and what
 * long double / SSE need; every class size is a multiple of it, so every block is aligned. */
#define RC_ALIGNMENT 16
#define RC_ALIGNMENT_SHIFT 4
/* Largest request served from pools. Above it, the per-pool waste and the few objects per
 * pool make malloc the better choice (CPython uses 512 too). */
#define RC_SMALL_LIMIT 512
#define RC_NB_CLASSES (RC_SMALL_LIMIT / RC_ALIGNMENT)
/* Pool: the unit of one size class. 16 KiB (CPython 3.11) holds >= 31 blocks of the largest
 * class while keeping the tail waste under 512 bytes (3%). */
#define RC_POOL_SIZE (16 * 1024)
#define RC_POOL_BITS 14
/* Arena: the unit taken from the OS with mmap, aligned to its size so that the arena of an
 * address is addr & ~(RC_ARENA_SIZE-1) and the radix lookup needs one key per arena. */
#define RC_ARENA_SIZE (1024 * 1024)
#define RC_ARENA_BITS 20
#define RC_POOLS_PER_ARENA (RC_ARENA_SIZE / RC_POOL_SIZE)
/* Wholly free arenas kept mapped instead of unmapped: one, so that a program that oscillates
 * around an arena boundary does not mmap/munmap on every swing. */
#define RC_ARENA_SPARES 1
/* Arenas in use from which new arenas are mapped in pairs aligned to 2 MiB with transparent huge
 * pages requested (MADV_HUGEPAGE): one TLB entry then covers two arenas where 4 KiB pages need
 * 512, and a free of a random block among millions stops paying a page walk for its block and
 * another for its pool header (in a virtual machine each walk costs tens of loads). Below it,
 * arenas stay in 4 KiB pages, so a small program is not rounded up to 2 MiB; above it, the
 * rounding (at most one pair partly used, 2 MiB) is at most a quarter of the arenas in use. */
#define RC_HUGE_ARENAS 8
/* User address bits covered by the radix tree (x86-64 and AArch64 with 4-level tables). */
#define RC_ADDRESS_BITS 48
/* Deallocation depth after which objects are queued instead of freed recursively (CPython's
 * trashcan uses 50). Each level costs a few hundred bytes of C stack at most. */
#define RC_TRASHCAN_DEPTH 50
/* Collector thresholds, CPython's defaults: a young collection every 700 net container
 * allocations, a middle one every 10 young ones, a full one every 10 middle ones when at
 * least a quarter (1/RC_GC_FULL_RATIO) of the long-lived objects are new since the last. */
#define RC_GC_THRESHOLD0 700
#define RC_GC_THRESHOLD1 10
#define RC_GC_THRESHOLD2 10
#define RC_GC_FULL_RATIO 4
/* Collector callbacks registered at once (gc.callbacks is a list; 16 covers the tools). */
#define RC_GC_MAX_CALLBACKS 16
/* ====================================================================================== */

_Static_assert(RC_ALIGNMENT == (1 << RC_ALIGNMENT_SHIFT), "shift matches alignment");
_Static_assert(RC_SMALL_LIMIT % RC_ALIGNMENT == 0, "classes tile the small range");
_Static_assert(RC_NB_CLASSES == RC_ALLOC_NB_CLASSES, "public class count matches");
_Static_assert(RC_POOL_SIZE == (1 << RC_POOL_BITS), "pool bits match pool size");
_Static_assert(RC_ARENA_SIZE == (1 << RC_ARENA_BITS), "arena bits match arena size");
_Static_assert(RC_ARENA_SIZE % RC_POOL_SIZE == 0, "arenas hold whole pools");
_Static_assert(RC_POOLS_PER_ARENA <= 255, "pool counts fit the arena bookkeeping");
_Static_assert(2 * RC_ARENA_SIZE == 2 * 1024 * 1024, "an arena pair is one 2 MiB huge page");
_Static_assert((RC_POOL_SIZE - 64) / RC_SMALL_LIMIT >= 2, "a pool holds several blocks");
_Static_assert(RC_GC_FULL_RATIO >= 1, "ratio is a divisor");

#define RC_ROUNDUP(n, a) (((n) + (a)-1) & ~((size_t)(a)-1))

/* ---- The collector header, before every object of an RC_TYPE_GC type -------------------
 * next/prev link the object into its generation's list (circular, with a sentinel head);
 * next == NULL means untracked. `info` holds the flags and generation below in its low bits
 * and, during a collection, the copy of the reference count (gc_refs) above them. Three words
 * instead of CPython's two: the lists stay doubly linked during a collection, so every pass can move an
 * object in O(1) and no pass has to restore pointers afterwards. */
typedef struct rc_gchead {
    struct rc_gchead *next;
    struct rc_gchead *prev;
    uintptr_t info;
} rc_gchead_t;

#define RC_GC_FINALIZED 0x1u   /* the finalizer ran (PEP 442: never again) */
#define RC_GC_COLLECTING 0x2u  /* in the set being collected, not yet known reachable */
#define RC_GC_UNREACHABLE 0x4u /* in the tentatively-unreachable list */
/* The generation a tracked object is in (0..RC_GC_GENERATIONS-1), or RC_GC_GEN_FROZEN for the
 * permanent generation. Meaningful only while the object is tracked (next != NULL); it lets
 * the collector tell "in the collected generations" from "older" with one load of the header
 * it touches anyway, instead of a sweep that marks the candidates first. */
#define RC_GC_GEN_SHIFT 3
#define RC_GC_GEN_MASK ((uintptr_t)3 << RC_GC_GEN_SHIFT)
#define RC_GC_GEN_FROZEN 3
#define RC_GC_GEN_TAG(gen) ((uintptr_t)(gen) << RC_GC_GEN_SHIFT)
#define RC_GC_FLAG_MASK 0x1Fu
#define RC_GC_REFS_SHIFT 5
#define RC_GC_REFS_ONE ((uintptr_t)1 << RC_GC_REFS_SHIFT)
_Static_assert(RC_GC_GENERATIONS <= RC_GC_GEN_FROZEN, "generation numbers fit the header tag");
_Static_assert((RC_GC_GEN_MASK | 0x7u) == RC_GC_FLAG_MASK, "flag bits below the count copy");

/* Objects after the header are 8-byte aligned (every field of an object is a word). */
_Static_assert(sizeof(rc_gchead_t) % sizeof(void *) == 0, "header keeps objects aligned");

static inline rc_gchead_t *rc_as_gc(const rc_object_t *op)
{
    return (rc_gchead_t *)((char *)(uintptr_t)op - sizeof(rc_gchead_t));
}
static inline rc_object_t *rc_from_gc(rc_gchead_t *g)
{
    return (rc_object_t *)((char *)g + sizeof(rc_gchead_t));
}
static inline int rc_is_gc(const rc_object_t *op)
{
    return (op->type->flags & RC_TYPE_GC) != 0;
}

/* ---- alloc.c ---- */
/* Called once, from the first allocation: reads the environment. */
void rc_alloc_init_once(void);

/* ---- object.c ---- */
/* Memory block of an object (gc header included) and its size. */
void *rc_object_block(const rc_object_t *op);
size_t rc_object_block_size(const rc_object_t *op);

/* ---- gc.c ---- */
/* A container was allocated (counts towards threshold 0; may collect first) or freed. */
void rc_gc_note_alloc(void);
void rc_gc_note_free(void);
/* Unlink a tracked object (no counting). */
void rc_gc_unlink(rc_object_t *op);

/* ---- weakref.c ---- */
/* Head of the weak-reference list of `op`, or NULL if its type has none. */
rc_object_t **rc_weaklist_of(rc_object_t *op);
/* Called by rc_dealloc: clear every weak reference to `op` and run their callbacks. */
void rc_weakref_clear_all(rc_object_t *op);
/* Used by the collector: detach weak reference `wr` from its referent, no callback. */
void rc_weakref_detach(rc_object_t *wr);
/* Used by the collector: if `wr` has a callback, return it for a later call. */
int rc_weakref_has_callback(rc_object_t *wr);
void rc_weakref_call(rc_object_t *wr);

/* ---- trace.c ---- */
RC_COLD void rc_trace_obj_alloc(rc_object_t *op);
RC_COLD void rc_trace_obj_free(rc_object_t *op);
RC_COLD void rc_trace_gc_start(int generation);
RC_COLD void rc_trace_gc_end(int generation, size_t collected, size_t uncollectable, uint64_t ns);

/* ---- str.c ---- */
/* Remove a dying interned string from the table. */
void rc_str_unintern(rc_object_t *s);

/* ---- instance.c ---- */
int rc_instance_is_class_type(const rc_type_t *t);

#endif /* RCRT_INTERNAL_H */
