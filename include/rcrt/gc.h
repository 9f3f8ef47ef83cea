/*
 * rcrt/gc.h - the cycle collector, the counterpart of Python's gc module.
 *
 * Reference counting frees most objects; this collector finds the groups of containers that
 * keep each other alive after the program dropped them (cycles) and frees those. Three
 * generations, CPython 3.11's algorithm and policies; the design is written at the top of
 * runtime/gc.c. Same thread rule as the rest of rcrt (see rcrt/object.h).
 */
#ifndef RCRT_GC_H
#define RCRT_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rcrt/object.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RC_GC_GENERATIONS 3

/* Debug flags (gc.set_debug). */
#define RC_GC_DEBUG_STATS 0x1u   /* print statistics of each collection on stderr */
#define RC_GC_DEBUG_SAVEALL 0x20u /* put every unreachable object in the garbage list */

/* Collect generations 0..generation (2 = full collection). Returns the number of unreachable
 * objects found (collected plus uncollectable), like gc.collect(); 0 if a collection is
 * already running; -EINVAL for a bad generation. Runs even when the collector is disabled. */
intptr_t rc_gc_collect(int generation);

/* Automatic collection on/off (gc.enable, gc.disable, gc.isenabled). On at start. */
void rc_gc_enable(void);
void rc_gc_disable(void);
bool rc_gc_isenabled(void);

/* gc.get_count(): out[0] = container allocations minus deallocations since the last
 * collection; out[1], out[2] = collections of the younger generation since the last one of
 * this generation. */
void rc_gc_get_count(intptr_t out[RC_GC_GENERATIONS]);

/* gc.get_threshold() / gc.set_threshold(). Defaults 700, 10, 10. threshold0 == 0 disables
 * automatic collection. Returns 0 or -EINVAL for negative values. */
void rc_gc_get_threshold(int out[RC_GC_GENERATIONS]);
int rc_gc_set_threshold(int threshold0, int threshold1, int threshold2);

/* gc.set_debug() / gc.get_debug(). */
void rc_gc_set_debug(unsigned flags);
unsigned rc_gc_get_debug(void);

/* gc.freeze(): move every tracked object to a permanent generation that collections ignore.
 * gc.unfreeze() puts them back into the oldest generation. */
void rc_gc_freeze(void);
void rc_gc_unfreeze(void);
size_t rc_gc_get_freeze_count(void);

/* gc.garbage: the list of uncollectable objects (types with legacy_del found in a cycle, and
 * everything with RC_GC_DEBUG_SAVEALL). Borrowed reference; created on first use. The program
 * may empty it (rc_list_clear) to release them. */
rc_object_t *rc_gc_garbage(void);

/* Start or stop tracking a container (gc.is_tracked). rc_object_new tracks GC types at once;
 * untrack objects that can no longer be part of a cycle, track them again before they can. */
void rc_gc_track(rc_object_t *obj);
void rc_gc_untrack(rc_object_t *obj);
bool rc_gc_is_tracked(const rc_object_t *obj);
/* gc.is_finalized(): true once the finalizer has run (GC types). */
bool rc_gc_is_finalized(const rc_object_t *obj);

/* Number of tracked objects in `generation` (0..2), or in all generations with -1. */
size_t rc_gc_tracked_count(int generation);

/* Statistics of one generation (gc.get_stats()). */
typedef struct rc_gc_gen_stats {
    size_t collections;
    size_t collected;
    size_t uncollectable;
} rc_gc_gen_stats_t;
void rc_gc_get_stats(rc_gc_gen_stats_t out[RC_GC_GENERATIONS]);

/* gc.callbacks: called with RC_GC_START before and RC_GC_STOP after each collection. At
 * start, collected, uncollectable and duration_ns are 0. */
typedef enum rc_gc_phase { RC_GC_START, RC_GC_STOP } rc_gc_phase_t;
typedef struct rc_gc_info {
    int generation;
    size_t collected;     /* unreachable objects destroyed (or saved by SAVEALL) */
    size_t uncollectable; /* put in the garbage list for legacy finalizers */
    uint64_t duration_ns; /* wall time of the collection (monotonic clock) */
} rc_gc_info_t;
typedef void (*rc_gc_callback_fn)(rc_gc_phase_t phase, const rc_gc_info_t *info, void *arg);
/* Returns 0, or -ENOSPC if 16 callbacks are already registered. */
int rc_gc_callback_add(rc_gc_callback_fn fn, void *arg);
/* Returns 0, or -ENOENT if that pair is not registered. */
int rc_gc_callback_remove(rc_gc_callback_fn fn, void *arg);

/* Visit every tracked object (all generations, the permanent one included) and, if `ref` is
 * given, its references. The leakgraph walk is built on it. Returns -EBUSY during a
 * collection, else 0 or the first nonzero visitor result. */
typedef int (*rc_gc_object_visitor_fn)(rc_object_t *obj, void *arg);
int rc_gc_walk(rc_gc_object_visitor_fn object, rc_visit_fn ref, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* RCRT_GC_H */
