/*
 * runtime/gc.c - the cycle collector: generations, thresholds, the collection passes, PEP 442
 * finalizers, weak references to garbage, the garbage list, freeze, callbacks and statistics.
 * It owns the collector header of every container and the generation lists; it must not
 * allocate collector-tracked objects itself except the garbage list, and must not run while
 * a collection is in progress (a collection triggered inside one is skipped).
 *
 * Design
 * ======
 * Modelled on CPython 3.11's Modules/gcmodule.c and InternalDocs/garbage_collector.md;
 * written anew. Reference counting frees everything except groups of containers that keep
 * each other's counts above zero. Such a group is garbage when every reference to its
 * members comes from inside the group. The collector finds those groups among a set of
 * candidate containers (a generation and the younger ones) without any memory of its own:
 * everything it needs lives in the collector header that precedes each container,
 *
 *     [ next | prev | info = gc_refs << 5 | gen:2 | UNREACHABLE | COLLECTING | FINALIZED ][ object ]
 *
 * where next/prev link the object into exactly one list at every moment: a generation, or one
 * of the temporary lists of a collection (unreachable, finalizers, seen), and `gen` names the
 * generation list a tracked object is in (3 = frozen). Outside a collection no object has
 * COLLECTING or UNREACHABLE set.
 *
 * Generations. New containers enter generation 0. Survivors of a collection of generation g
 * move to g+1 (generation 2 keeps its own). A collection of generation g also collects all
 * younger ones. When to collect:
 *   - count[0] = container allocations minus deallocations since the last collection; when it
 *     exceeds threshold[0] (700) a collection runs, of the oldest generation g whose count
 *     exceeds its threshold (count[g] = collections of g-1 since the last one of g);
 *   - but generation 2 only if long_lived_pending > long_lived_total / 4: the objects that
 *     reached generation 2 since the last full collection are at least a quarter of those
 *     that survived it. A full collection costs time proportional to everything alive, so
 *     without this rule building a large structure would be quadratic; with it, the cost is
 *     amortised linear.
 *
 * One collection (collect(), the passes in order, each with its pre- and postcondition):
 *
 *  0. merge: the younger generations are appended to `young` (generation g).
 *  1. update_refs: for each object in young, gc_refs := refcnt, COLLECTING set.
 *     Post: gc_refs counts every reference, internal or external.
 *  2. subtract_refs: traverse each object in young; for each referent in young (COLLECTING),
 *     gc_refs -= 1. Post: gc_refs = references from outside young (from older objects,
 *     untracked objects, C variables). gc_refs > 0 means "certainly reachable".
 *     Passes 1 and 2 run as one sweep (update_and_subtract): an object is initialised (pass 1)
 *     when the sweep reaches it or when it is first met as a referent, whichever comes first;
 *     COLLECTING says "initialised". A referent belongs to young iff it is tracked and its
 *     gen tag is <= g, so no marking sweep is needed to know the candidates. Invariant of the
 *     sweep: every object before the cursor, and every referent met so far that is in young,
 *     has COLLECTING and gc_refs = refcnt - (references from objects before the cursor).
 *     Same post as 1+2; one pass over the memory of a million objects instead of two.
 *  3. move_unreachable: walk young in order. An object with gc_refs > 0 is reachable: its
 *     referents are marked reachable (gc_refs 0 -> 1 if not reached yet; if one was already
 *     moved to `unreachable`, it comes back to the end of young, where the walk will reach it
 *     again) and its COLLECTING flag is cleared (visited). An object with gc_refs == 0 is
 *     moved to `unreachable` with UNREACHABLE set: tentatively, a later object may reach it.
 *     Loop invariant: every object before the cursor is reachable and visited; every object
 *     in `unreachable` was not reached from any object before the cursor.
 *     Post: young holds exactly the objects reachable from outside; unreachable the rest.
 *     Reachable objects get the gen tag of the generation they are promoted to (step 4).
 *     No recursion and no extra memory: this is a breadth-first search using young itself as
 *     the queue.
 *  4. promote: young (the survivors) is appended to the next generation.
 *  5. legacy finalizers: objects whose type has legacy_del (CPython's tp_del), and everything
 *     they reach, move to `finalizers`; they will be uncollectable (the garbage list).
 *  6. handle_weakrefs: every weak reference *to* an unreachable object is cleared; if the
 *     weak reference is itself reachable and has a callback, the callback is queued. Weak
 *     references that are themselves unreachable are cleared without callback (the weakref
 *     dies with the garbage; CPython's rule). Only after all are cleared do the callbacks run,
 *     in order of the unreachable list and, per object, newest weak reference first; so no
 *     callback can see any garbage object through a weak reference.
 *  7. finalize_garbage: each unreachable object whose type has a finalizer that has not run
 *     gets FINALIZED and its finalizer called (PEP 442: once per object, ever). Objects are
 *     moved to a `seen` list before each call, so objects freed by a finalizer (untracked on
 *     the way) are never touched again.
 *  8. handle_resurrected: a finalizer may have stored a reference to garbage somewhere
 *     reachable. Steps 1-3 run again over the unreachable set alone (here as separate passes,
 *     the set being marked by COLLECTING, not by the gen tag): objects with references
 *     from outside the set (and what they reach) are resurrected and go to the old
 *     generation; the rest is the final garbage. Post: nobody outside final refers to it.
 *  9. delete_garbage: with DEBUG_SAVEALL, each object is appended to the garbage list. Else
 *     each object's clear is called (holding a reference so it cannot vanish mid-call): the
 *     internal references drop, the counts reach zero and reference counting frees the
 *     group. An object still alive after its clear (a type without clear) goes to old.
 * 10. the uncollectable objects of step 5 are appended to the garbage list and go to old.
 *
 * Passes 5-8 each sweep the whole unreachable set, so move_unreachable notes, for every
 * object it moves there, whether it could need them (a legacy_del type, a non-empty weak
 * reference list or being a weak reference, a finalizer not yet run); a pass nobody needs is
 * skipped. Pass 8 runs only if a finalizer was actually called: without user code no
 * reference to the garbage can have been stored anywhere (weak reference callbacks only see
 * cleared weak references), so the garbage found in pass 3 is final. On a million objects in
 * cycles without finalizers this removes five sweeps of the set.
 *
 * The number returned is |final garbage| + |uncollectable|, like gc.collect() (objects
 * resurrected by a finalizer are not counted).
 *
 * Deviation from CPython, on purpose: the header has three words, not two, so the lists stay
 * doubly linked throughout a collection (CPython reuses prev for gc_refs and must rebuild
 * it); each pass moves objects in O(1) and needs no repair pass.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

typedef struct gc_generation {
    rc_gchead_t head;
    int threshold;
    intptr_t count;
} gc_generation_t;

#define GEN_INIT(i, t) {{&G.gens[i].head, &G.gens[i].head, 0}, t, 0}

static struct gc_state {
    gc_generation_t gens[RC_GC_GENERATIONS];
    rc_gchead_t permanent;
    bool enabled;
    bool collecting;
    unsigned debug;
    size_t long_lived_total;
    size_t long_lived_pending;
    rc_object_t *garbage;
    rc_gc_gen_stats_t stats[RC_GC_GENERATIONS];
    struct {
        rc_gc_callback_fn fn;
        void *arg;
    } callbacks[RC_GC_MAX_CALLBACKS];
    unsigned ncallbacks;
} G = {
    .gens = {GEN_INIT(0, RC_GC_THRESHOLD0), GEN_INIT(1, RC_GC_THRESHOLD1),
             GEN_INIT(2, RC_GC_THRESHOLD2)},
    .permanent = {&G.permanent, &G.permanent, 0},
    .enabled = true,
};

/* ---- lists ------------------------------------------------------------------------------ */

static inline void list_init(rc_gchead_t *l)
{
    l->next = l->prev = l;
}
static inline bool list_empty(const rc_gchead_t *l)
{
    return l->next == l;
}
static inline void list_append(rc_gchead_t *g, rc_gchead_t *l)
{
    rc_gchead_t *last = l->prev;
    g->prev = last;
    g->next = l;
    last->next = g;
    l->prev = g;
}
static inline void list_remove(rc_gchead_t *g)
{
    g->prev->next = g->next;
    g->next->prev = g->prev;
    g->next = NULL;
}
static inline void list_move(rc_gchead_t *g, rc_gchead_t *to)
{
    g->prev->next = g->next;
    g->next->prev = g->prev;
    list_append(g, to);
}
/* Append all of `from` to `to`; `from` becomes empty. */
static void list_merge(rc_gchead_t *from, rc_gchead_t *to)
{
    if (list_empty(from))
        return;
    rc_gchead_t *tail = to->prev;
    tail->next = from->next;
    from->next->prev = tail;
    to->prev = from->prev;
    to->prev->next = to;
    list_init(from);
}
static size_t list_size(const rc_gchead_t *l)
{
    size_t n = 0;
    for (const rc_gchead_t *g = l->next; g != l; g = g->next)
        n++;
    return n;
}

static inline uintptr_t gc_refs(const rc_gchead_t *g)
{
    return g->info >> RC_GC_REFS_SHIFT;
}

/* ---- tracking --------------------------------------------------------------------------- */

/* What an object keeps of its header bits when it leaves a collection alive (or is tagged). */
#define KEEP_FINALIZED(g) ((g)->info & RC_GC_FINALIZED)
#define KEEP_OUTSIDE (RC_GC_FINALIZED | RC_GC_GEN_MASK)

void rc_gc_track(rc_object_t *op)
{
    rc_gchead_t *g = rc_as_gc(op);
    if (g->next == NULL) {
        list_append(g, &G.gens[0].head);
        g->info = KEEP_FINALIZED(g) | RC_GC_GEN_TAG(0);
    }
}

void rc_gc_unlink(rc_object_t *op)
{
    list_remove(rc_as_gc(op));
}

void rc_gc_untrack(rc_object_t *op)
{
    rc_gchead_t *g = rc_as_gc(op);
    if (g->next != NULL)
        list_remove(g);
}

bool rc_gc_is_tracked(const rc_object_t *op)
{
    return rc_is_gc(op) && rc_as_gc(op)->next != NULL;
}

bool rc_gc_is_finalized(const rc_object_t *op)
{
    return rc_is_gc(op) && (rc_as_gc(op)->info & RC_GC_FINALIZED);
}

/* ---- the passes ------------------------------------------------------------------------- */

static inline uintptr_t collecting_info(const rc_gchead_t *g, const rc_object_t *op)
{
    return (g->info & KEEP_OUTSIDE) | RC_GC_COLLECTING |
           ((uintptr_t)op->refcnt << RC_GC_REFS_SHIFT);
}

/* Pass 1 alone (used by the resurrection pass, whose set is not a generation). */
static void update_refs(rc_gchead_t *young)
{
    for (rc_gchead_t *g = young->next; g != young; g = g->next)
        g->info = collecting_info(g, rc_from_gc(g));
}

static int visit_decref(rc_object_t *op, const char *label, intptr_t index, void *arg)
{
    (void)label, (void)index, (void)arg;
    if (op != NULL && rc_is_gc(op)) {
        rc_gchead_t *g = rc_as_gc(op);
        if (g->info & RC_GC_COLLECTING)
            g->info -= RC_GC_REFS_ONE;
    }
    return 0;
}

/* Pass 2 alone, after update_refs. */
static void subtract_refs(rc_gchead_t *young)
{
    for (rc_gchead_t *g = young->next; g != young; g = g->next) {
        rc_object_t *op = rc_from_gc(g);
        op->type->traverse(op, visit_decref, NULL);
    }
}

/* Passes 1+2 in one sweep over a set made of whole generations 0..g (see the essay): `arg`
 * points at the largest gen tag in the set. A referent not yet initialised is a candidate iff
 * it is tracked and its tag is at most that. */
static int visit_decref_fused(rc_object_t *op, const char *label, intptr_t index, void *arg)
{
    (void)label, (void)index;
    if (op != NULL && rc_is_gc(op)) {
        rc_gchead_t *g = rc_as_gc(op);
        uintptr_t info = g->info;
        if (!(info & RC_GC_COLLECTING)) {
            if ((info & RC_GC_GEN_MASK) > *(const uintptr_t *)arg || g->next == NULL)
                return 0; /* older, frozen or untracked: an external referrer */
            info = collecting_info(g, op);
        }
        g->info = info - RC_GC_REFS_ONE;
    }
    return 0;
}

static void update_and_subtract(rc_gchead_t *young, int generation)
{
    uintptr_t max_tag = RC_GC_GEN_TAG(generation);
    for (rc_gchead_t *g = young->next; g != young; g = g->next) {
        rc_object_t *op = rc_from_gc(g);
        if (!(g->info & RC_GC_COLLECTING))
            g->info = collecting_info(g, op);
        op->type->traverse(op, visit_decref_fused, &max_tag);
    }
}

/* State of one move_unreachable run. `needs` collects, conservatively (objects may still be
 * moved back), what the unreachable objects will require from passes 5-8, so that passes with
 * nothing to do are skipped instead of sweeping a million objects for nothing. */
#define NEED_LEGACY 0x1u
#define NEED_WEAKREFS 0x2u
#define NEED_FINALIZE 0x4u
typedef struct move_state {
    rc_gchead_t *young;
    uintptr_t promote_tag; /* gen tag given to reachable objects */
    size_t moved;      /* moves into unreachable */
    size_t moved_back; /* moves back into young */
    unsigned needs;
} move_state_t;

static int visit_reachable(rc_object_t *op, const char *label, intptr_t index, void *arg)
{
    (void)label, (void)index;
    if (op == NULL || !rc_is_gc(op))
        return 0;
    rc_gchead_t *g = rc_as_gc(op);
    if (!(g->info & RC_GC_COLLECTING))
        return 0; /* not a candidate, or already visited */
    if (g->info & RC_GC_UNREACHABLE) {
        /* Tentatively unreachable, but reached now: back to young, to be visited. */
        move_state_t *st = arg;
        list_move(g, st->young);
        st->moved_back++;
        g->info = (g->info & KEEP_OUTSIDE) | RC_GC_COLLECTING | RC_GC_REFS_ONE;
    } else if (gc_refs(g) == 0) {
        g->info += RC_GC_REFS_ONE; /* reached before the cursor got there */
    }
    return 0;
}

/* What an unreachable object will need from passes 5-8. */
static unsigned needs_of(const rc_gchead_t *g, rc_object_t *op)
{
    const rc_type_t *t = op->type;
    unsigned n = 0;
    if (RC_UNLIKELY(t->legacy_del != NULL))
        n |= NEED_LEGACY;
    if (t->finalize != NULL && !(g->info & RC_GC_FINALIZED))
        n |= NEED_FINALIZE;
    if (t == &rc_weakref_type ||
        (t->weaklist_offset != 0 && *(rc_object_t **)((char *)op + t->weaklist_offset)))
        n |= NEED_WEAKREFS;
    return n;
}

/* Pass 3 (see the essay for the invariant). Fills *st; reachable objects get gen tag
 * `promote_tag`. Returns the number of reachable objects. */
static size_t move_unreachable(rc_gchead_t *young, rc_gchead_t *unreachable, move_state_t *st,
                               uintptr_t promote_tag)
{
    size_t reachable = 0;
    st->young = young;
    st->promote_tag = promote_tag;
    st->moved = st->moved_back = 0;
    st->needs = 0;
    rc_gchead_t *g = young->next;
    while (g != young) {
        if (gc_refs(g) > 0) {
            rc_object_t *op = rc_from_gc(g);
            op->type->traverse(op, visit_reachable, st);
            g->info = (g->info & ~(uintptr_t)(RC_GC_COLLECTING | RC_GC_GEN_MASK)) | st->promote_tag;
            g = g->next;
            reachable++;
        } else {
            rc_gchead_t *next = g->next;
            list_move(g, unreachable);
            g->info |= RC_GC_UNREACHABLE;
            st->needs |= needs_of(g, rc_from_gc(g));
            st->moved++;
            g = next;
        }
    }
    return reachable;
}

/* Passes 1-3 over `set`, any list whose members have COLLECTING clear and are the only
 * ones to get it; reachable objects stay in `set` (tagged `promote_tag`), the rest go to
 * `unreachable`. Returns the number of reachable objects. */
static size_t deduce_unreachable(rc_gchead_t *set, rc_gchead_t *unreachable, move_state_t *st,
                                 uintptr_t promote_tag)
{
    update_refs(set);
    subtract_refs(set);
    return move_unreachable(set, unreachable, st, promote_tag);
}

/* Clear the collection flags of objects leaving a collection alive into generation `tag`. */
static void clear_flags(rc_gchead_t *l, uintptr_t tag)
{
    for (rc_gchead_t *g = l->next; g != l; g = g->next)
        g->info = KEEP_FINALIZED(g) | tag;
}

static int visit_move_to(rc_object_t *op, const char *label, intptr_t index, void *arg)
{
    (void)label, (void)index;
    if (op != NULL && rc_is_gc(op)) {
        rc_gchead_t *g = rc_as_gc(op);
        if ((g->info & RC_GC_UNREACHABLE) && g->next != NULL) {
            list_move(g, (rc_gchead_t *)arg);
            g->info &= ~(uintptr_t)RC_GC_UNREACHABLE;
        }
    }
    return 0;
}

/* Pass 5: legacy finalizers and what they reach go to `finalizers`. Objects moved there lose
 * UNREACHABLE, so each is moved once; the walk over `finalizers` also visits the ones
 * appended during the walk (transitive closure). */
static void move_legacy_finalizers(rc_gchead_t *unreachable, rc_gchead_t *finalizers)
{
    rc_gchead_t *g = unreachable->next;
    while (g != unreachable) {
        rc_gchead_t *next = g->next;
        if (rc_from_gc(g)->type->legacy_del != NULL) {
            list_move(g, finalizers);
            g->info &= ~(uintptr_t)RC_GC_UNREACHABLE;
        }
        g = next;
    }
    for (g = finalizers->next; g != finalizers; g = g->next) {
        rc_object_t *op = rc_from_gc(g);
        op->type->traverse(op, visit_move_to, finalizers);
    }
}

/* Pass 6. Weak references are collector-tracked objects, so "is the weak reference itself
 * garbage" is its UNREACHABLE flag. Callbacks are queued as (new reference to the weakref)
 * in a temporary list and run after every clearing is done. */
typedef struct wr_queue {
    rc_object_t **items;
    size_t n, cap;
} wr_queue_t;

static void handle_weakrefs(rc_gchead_t *unreachable)
{
    wr_queue_t q = {NULL, 0, 0};
    for (rc_gchead_t *g = unreachable->next; g != unreachable; g = g->next) {
        rc_object_t *op = rc_from_gc(g);
        if (op->type == &rc_weakref_type) {
            rc_weakref_detach(op); /* a dead weakref never calls back */
            continue;
        }
        rc_object_t **head = rc_weaklist_of(op);
        if (head == NULL)
            continue;
        while (*head != NULL) {
            rc_object_t *wr = *head; /* newest first */
            rc_weakref_detach(wr);   /* unlinks it: *head advances */
            if ((rc_as_gc(wr)->info & RC_GC_UNREACHABLE) || !rc_weakref_has_callback(wr))
                continue;
            if (q.n == q.cap) {
                size_t cap = q.cap ? 2 * q.cap : 16;
                rc_object_t **items = rc_realloc(q.items, cap * sizeof *items);
                if (items == NULL)
                    continue; /* out of memory: this callback is lost, the clearing is not */
                q.items = items;
                q.cap = cap;
            }
            rc_incref(wr);
            q.items[q.n++] = wr;
        }
    }
    for (size_t i = 0; i < q.n; i++) {
        rc_weakref_call(q.items[i]);
        rc_decref(q.items[i]);
    }
    rc_free(q.items);
}

/* Pass 7. Returns the number of finalizers called. */
static size_t finalize_garbage(rc_gchead_t *unreachable)
{
    size_t called = 0;
    rc_gchead_t seen;
    list_init(&seen);
    while (!list_empty(unreachable)) {
        rc_gchead_t *g = unreachable->next;
        list_move(g, &seen);
        rc_object_t *op = rc_from_gc(g);
        if (op->type->finalize != NULL && !(g->info & RC_GC_FINALIZED)) {
            g->info |= RC_GC_FINALIZED;
            called++;
            rc_incref(op);
            op->type->finalize(op);
            rc_decref(op); /* may free it (a finalizer broke the cycle): it unlinks itself */
        }
    }
    list_merge(&seen, unreachable);
    return called;
}

/* Pass 8: after it, `final` holds the true garbage; resurrected objects are in `old`.
 * Returns the size of `final`. */
static size_t handle_resurrected(rc_gchead_t *unreachable, rc_gchead_t *final, rc_gchead_t *old,
                                 uintptr_t old_tag)
{
    move_state_t st;
    deduce_unreachable(unreachable, final, &st, old_tag);
    list_merge(unreachable, old); /* resurrected; move_unreachable cleared COLLECTING */
    return st.moved - st.moved_back;
}

/* Pass 9. */
static void delete_garbage(rc_gchead_t *collectable, rc_gchead_t *old, uintptr_t old_tag)
{
    while (!list_empty(collectable)) {
        rc_gchead_t *g = collectable->next;
        rc_object_t *op = rc_from_gc(g);
        if (G.debug & RC_GC_DEBUG_SAVEALL) {
            rc_list_append(G.garbage, op);
        } else if (op->type->clear != NULL) {
            rc_incref(op);
            op->type->clear(op);
            rc_decref(op);
        }
        if (collectable->next == g) {
            /* Still alive (saved, or its type cannot clear): it leaves the collection. */
            list_move(g, old);
            g->info = KEEP_FINALIZED(g) | old_tag;
        }
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One collection of generations 0..generation; returns the unreachable count and fills
 * *uncollectable. Pre: !G.collecting. */
static size_t collect(int generation, size_t *uncollectable_out)
{
    rc_gchead_t *young = &G.gens[generation].head;
    int old_gen = generation + 1 < RC_GC_GENERATIONS ? generation + 1 : generation;
    rc_gchead_t *old = &G.gens[old_gen].head;
    uintptr_t old_tag = RC_GC_GEN_TAG(old_gen);
    rc_gchead_t unreachable, finalizers, final;
    list_init(&unreachable);
    list_init(&finalizers);
    list_init(&final);

    if (generation + 1 < RC_GC_GENERATIONS)
        G.gens[generation + 1].count++;
    for (int i = 0; i <= generation; i++)
        G.gens[i].count = 0;

    /* 0 */
    for (int i = 0; i < generation; i++)
        list_merge(&G.gens[i].head, young);
    /* 1-3 */
    move_state_t st;
    update_and_subtract(young, generation);
    size_t survivors = move_unreachable(young, &unreachable, &st, old_tag);
    size_t n_unreachable = st.moved - st.moved_back;
    /* 4 */
    if (generation == RC_GC_GENERATIONS - 2)
        G.long_lived_pending += survivors;
    if (young != old)
        list_merge(young, old);
    else {
        G.long_lived_pending = 0;
        G.long_lived_total = survivors;
    }
    /* 5 */
    size_t uncollectable = 0;
    if (st.needs & NEED_LEGACY) {
        move_legacy_finalizers(&unreachable, &finalizers);
        uncollectable = list_size(&finalizers);
    }
    if ((G.debug & RC_GC_DEBUG_SAVEALL) || uncollectable != 0)
        rc_gc_garbage(); /* create the list now; collecting is set, so no nested collection */
    /* 6 */
    if (st.needs & NEED_WEAKREFS)
        handle_weakrefs(&unreachable);
    /* 7, 8: without a finalizer call no user code ran that could resurrect anything (weak
     * reference callbacks only see cleared weak references), so `unreachable` is final. */
    size_t collected;
    if ((st.needs & NEED_FINALIZE) && finalize_garbage(&unreachable) != 0) {
        collected = handle_resurrected(&unreachable, &final, old, old_tag);
    } else {
        list_merge(&unreachable, &final);
        collected = n_unreachable - uncollectable;
    }
    /* 9 */
    delete_garbage(&final, old, old_tag);
    /* 10 */
    for (rc_gchead_t *g = finalizers.next; g != &finalizers; g = g->next)
        rc_list_append(G.garbage, rc_from_gc(g));
    clear_flags(&finalizers, old_tag);
    list_merge(&finalizers, old);
    *uncollectable_out = uncollectable;
    return collected;
}

/* Wraps collect with the flag, the callbacks, the trace hooks and the statistics. */
static size_t collect_with_callbacks(int generation)
{
    rc_gc_info_t info = {generation, 0, 0, 0};
    G.collecting = true;
    for (unsigned i = 0; i < G.ncallbacks; i++)
        G.callbacks[i].fn(RC_GC_START, &info, G.callbacks[i].arg);
#if RC_TRACE_HOOKS
    if (RC_UNLIKELY(rc_trace_gc_on()))
        rc_trace_gc_start(generation);
#endif
    uint64_t t0 = now_ns();
    size_t uncollectable = 0;
    size_t collected = collect(generation, &uncollectable);
    info.duration_ns = now_ns() - t0;
    info.collected = collected;
    info.uncollectable = uncollectable;
    G.stats[generation].collections++;
    G.stats[generation].collected += collected;
    G.stats[generation].uncollectable += uncollectable;
    if (G.debug & RC_GC_DEBUG_STATS)
        fprintf(stderr, "rcrt gc: generation %d: %zu unreachable, %zu uncollectable, %.3f ms\n",
                generation, collected, uncollectable, info.duration_ns / 1e6);
#if RC_TRACE_HOOKS
    if (RC_UNLIKELY(rc_trace_gc_on()))
        rc_trace_gc_end(generation, collected, uncollectable, info.duration_ns);
#endif
    for (unsigned i = 0; i < G.ncallbacks; i++)
        G.callbacks[i].fn(RC_GC_STOP, &info, G.callbacks[i].arg);
    G.collecting = false;
    return collected + uncollectable;
}

/* Automatic collection: the oldest generation over its threshold (with the long-lived rule
 * for the oldest). */
static void collect_generations(void)
{
    for (int i = RC_GC_GENERATIONS - 1; i >= 0; i--) {
        if (G.gens[i].count > G.gens[i].threshold) {
            if (i == RC_GC_GENERATIONS - 1 &&
                G.long_lived_pending < G.long_lived_total / RC_GC_FULL_RATIO)
                continue;
            collect_with_callbacks(i);
            break;
        }
    }
}

void rc_gc_note_alloc(void)
{
    G.gens[0].count++;
    if (RC_UNLIKELY(G.gens[0].count > G.gens[0].threshold) && G.enabled &&
        G.gens[0].threshold != 0 && !G.collecting)
        collect_generations();
}

void rc_gc_note_free(void)
{
    if (G.gens[0].count > 0)
        G.gens[0].count--;
}

/* ---- public API ------------------------------------------------------------------------- */

intptr_t rc_gc_collect(int generation)
{
    if (generation < 0 || generation >= RC_GC_GENERATIONS)
        return -EINVAL;
    if (G.collecting)
        return 0;
    return (intptr_t)collect_with_callbacks(generation);
}

void rc_gc_enable(void)
{
    G.enabled = true;
}
void rc_gc_disable(void)
{
    G.enabled = false;
}
bool rc_gc_isenabled(void)
{
    return G.enabled;
}

void rc_gc_get_count(intptr_t out[RC_GC_GENERATIONS])
{
    for (int i = 0; i < RC_GC_GENERATIONS; i++)
        out[i] = G.gens[i].count;
}

void rc_gc_get_threshold(int out[RC_GC_GENERATIONS])
{
    for (int i = 0; i < RC_GC_GENERATIONS; i++)
        out[i] = G.gens[i].threshold;
}

int rc_gc_set_threshold(int t0, int t1, int t2)
{
    if (t0 < 0 || t1 < 0 || t2 < 0)
        return -EINVAL;
    G.gens[0].threshold = t0;
    G.gens[1].threshold = t1;
    G.gens[2].threshold = t2;
    return 0;
}

void rc_gc_set_debug(unsigned flags)
{
    G.debug = flags;
}
unsigned rc_gc_get_debug(void)
{
    return G.debug;
}

/* Give every object of list `l` gen tag `tag`. */
static void retag(rc_gchead_t *l, uintptr_t tag)
{
    for (rc_gchead_t *g = l->next; g != l; g = g->next)
        g->info = (g->info & ~RC_GC_GEN_MASK) | tag;
}

/* Freeze and unfreeze sweep the objects once, to retag them (rare calls; every collection
 * relies on the tags). */
void rc_gc_freeze(void)
{
    for (int i = 0; i < RC_GC_GENERATIONS; i++) {
        retag(&G.gens[i].head, RC_GC_GEN_TAG(RC_GC_GEN_FROZEN));
        list_merge(&G.gens[i].head, &G.permanent);
    }
    G.gens[0].count = 0;
}

void rc_gc_unfreeze(void)
{
    retag(&G.permanent, RC_GC_GEN_TAG(RC_GC_GENERATIONS - 1));
    list_merge(&G.permanent, &G.gens[RC_GC_GENERATIONS - 1].head);
}

size_t rc_gc_get_freeze_count(void)
{
    return list_size(&G.permanent);
}

rc_object_t *rc_gc_garbage(void)
{
    if (G.garbage == NULL) {
        bool was = G.collecting;
        G.collecting = true; /* creating it must not start a collection */
        G.garbage = rc_list_new();
        G.collecting = was;
    }
    return G.garbage;
}

size_t rc_gc_tracked_count(int generation)
{
    if (generation >= 0 && generation < RC_GC_GENERATIONS)
        return list_size(&G.gens[generation].head);
    size_t n = 0;
    for (int i = 0; i < RC_GC_GENERATIONS; i++)
        n += list_size(&G.gens[i].head);
    return n;
}

void rc_gc_get_stats(rc_gc_gen_stats_t out[RC_GC_GENERATIONS])
{
    memcpy(out, G.stats, sizeof G.stats);
}

int rc_gc_callback_add(rc_gc_callback_fn fn, void *arg)
{
    if (G.ncallbacks == RC_GC_MAX_CALLBACKS)
        return -ENOSPC;
    G.callbacks[G.ncallbacks].fn = fn;
    G.callbacks[G.ncallbacks].arg = arg;
    G.ncallbacks++;
    return 0;
}

int rc_gc_callback_remove(rc_gc_callback_fn fn, void *arg)
{
    for (unsigned i = 0; i < G.ncallbacks; i++) {
        if (G.callbacks[i].fn == fn && G.callbacks[i].arg == arg) {
            memmove(&G.callbacks[i], &G.callbacks[i + 1],
                    (G.ncallbacks - i - 1) * sizeof G.callbacks[0]);
            G.ncallbacks--;
            return 0;
        }
    }
    return -ENOENT;
}

static int walk_list(rc_gchead_t *l, rc_gc_object_visitor_fn object, rc_visit_fn ref, void *arg)
{
    for (rc_gchead_t *g = l->next; g != l; g = g->next) {
        rc_object_t *op = rc_from_gc(g);
        int r = object ? object(op, arg) : 0;
        if (r == 0 && ref != NULL)
            r = op->type->traverse(op, ref, arg);
        if (r != 0)
            return r;
    }
    return 0;
}

int rc_gc_walk(rc_gc_object_visitor_fn object, rc_visit_fn ref, void *arg)
{
    if (G.collecting)
        return -EBUSY;
    for (int i = 0; i < RC_GC_GENERATIONS; i++) {
        int r = walk_list(&G.gens[i].head, object, ref, arg);
        if (r != 0)
            return r;
    }
    return walk_list(&G.permanent, object, ref, arg);
}
