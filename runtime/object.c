/*
 * runtime/object.c - the life of an object: allocation with its header (and collector header
 * for containers), the path taken when a count reaches zero (finalizer, weak references,
 * untracking, deallocation), and the generic queries (getrefcount, sizeof, hash, equality).
 * It does not know any concrete type; those live in int.c, str.c, tuple.c, list.c, dict.c and
 * instance.c.
 *
 * Deallocation without deep recursion
 * ===================================
 * Freeing the head of a linked list of a million nodes decrefs the second node from inside
 * the first one's dealloc, and so on: a recursion as deep as the chain, which overflows the C
 * stack. CPython's "trashcan" bounds it, and so does rc_dealloc:
 *
 *   - `depth` counts the deallocations in progress on the C stack.
 *   - At depth RC_TRASHCAN_DEPTH an object whose count reached zero is not destroyed but
 *     pushed on `pending`, a list threaded through the objects' own refcnt fields (the count
 *     is zero and nobody may look at it any more; containers are untracked before, so the
 *     collector never reads that field either).
 *   - When the outermost deallocation (depth back to 0) finishes, it pops and destroys the
 *     pending objects one by one; each may push more, never deeper than the limit.
 * So the C stack holds at most RC_TRASHCAN_DEPTH dealloc frames, and the pending list needs
 * no memory of its own.
 *
 * Order of rc_dealloc, and why:
 *   1. finalizer (PEP 442), if the type has one and it has not run: it may resurrect the
 *      object, so it must run while everything is intact; the count is set to 1 for the call
 *      and the object survives if the count is still above 0 afterwards.
 *   2. untrack (containers): from here on the collector must not see the object.
 *   3. clear weak references and run their callbacks: from now on nothing can reach the
 *      object, not even through a weak reference (a queued object's refcnt field is a link).
 *   4. trashcan check (above).
 *   5. the type's dealloc, which drops the references and calls rc_object_free, which
 *      reports the free to the tracer before giving the memory back.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* The public trace word (see trace.c for why it is defined here). */
unsigned rc_trace_mask;

static struct {
    unsigned depth;        /* deallocations in progress on the C stack */
    rc_object_t *pending;  /* objects waiting for destruction, linked through refcnt */
} T;

void *rc_object_block(const rc_object_t *op)
{
    return rc_is_gc(op) ? (void *)rc_as_gc(op) : (void *)(uintptr_t)op;
}

size_t rc_object_block_size(const rc_object_t *op)
{
    return rc_usable_size(rc_object_block(op));
}

rc_object_t *rc_object_new(const rc_type_t *type, size_t nitems)
{
    size_t size = type->basicsize + nitems * type->itemsize;
    if (type->itemsize != 0 && nitems > (SIZE_MAX / 2) / type->itemsize) {
        errno = ENOMEM;
        return NULL;
    }
    rc_object_t *op;
    if (type->flags & RC_TYPE_GC) {
        rc_gc_note_alloc(); /* may run a collection: before the new object exists */
        rc_gchead_t *g = rc_malloc(sizeof(rc_gchead_t) + size);
        if (g == NULL)
            return NULL;
        memset(g, 0, sizeof(rc_gchead_t) + size);
        op = rc_from_gc(g);
        op->refcnt = 1;
        op->type = type;
        rc_gc_track(op);
    } else {
        op = rc_malloc(size);
        if (op == NULL)
            return NULL;
        memset(op, 0, size);
        op->refcnt = 1;
        op->type = type;
    }
#if RC_TRACE_PATCHED
    if (rc_trace_objs_on())
        rc_trace_obj_alloc(op);
#elif RC_TRACE_HOOKS
    if (RC_UNLIKELY(RC_TRACE_WORD & RC_TRACE_OBJS))
        rc_trace_obj_alloc(op);
#endif
    return op;
}

void rc_object_free(rc_object_t *op)
{
#if RC_TRACE_PATCHED
    if (rc_trace_objs_on())
        rc_trace_obj_free(op); /* before the memory can be reused */
#elif RC_TRACE_HOOKS
    if (RC_UNLIKELY(RC_TRACE_WORD & RC_TRACE_OBJS))
        rc_trace_obj_free(op); /* before the memory can be reused */
#endif
    if (rc_is_gc(op)) {
        rc_gchead_t *g = rc_as_gc(op);
        if (g->next != NULL) /* a dealloc that forgot to untrack */
            rc_gc_unlink(op);
        rc_free(g);
    } else {
        rc_free(op);
    }
}

/* Step 5 of the essay: the type's own dealloc. */
static void destroy(rc_object_t *op)
{
    const rc_type_t *t = op->type;
    if (t->dealloc != NULL) {
        t->dealloc(op);
    } else {
        if (t->clear != NULL)
            t->clear(op);
        rc_object_free(op);
    }
}

void rc_dealloc(rc_object_t *op)
{
    const rc_type_t *t = op->type;
    if (t->finalize != NULL && (t->flags & RC_TYPE_GC)) {
        rc_gchead_t *g = rc_as_gc(op);
        if (!(g->info & RC_GC_FINALIZED)) {
            g->info |= RC_GC_FINALIZED;
            op->refcnt = 1; /* the finalizer's own reference; not traced (internal) */
            t->finalize(op);
            if (--op->refcnt != 0)
                return; /* resurrected: the finalizer stored a reference somewhere */
        }
    }
    if (t->flags & RC_TYPE_GC) {
        if (rc_as_gc(op)->next != NULL)
            rc_gc_unlink(op);
        rc_gc_note_free();
    }
    if (t->weaklist_offset != 0 && *(rc_object_t **)((char *)op + t->weaklist_offset) != NULL)
        rc_weakref_clear_all(op);
    if (T.depth >= RC_TRASHCAN_DEPTH) {
        op->refcnt = (intptr_t)T.pending;
        T.pending = op;
        return;
    }
    T.depth++;
    destroy(op);
    T.depth--;
    if (T.depth == 0) {
        /* Invariant: depth == 0 here, so each destroy below starts a fresh bounded descent. */
        while (T.pending != NULL) {
            rc_object_t *next = T.pending;
            T.pending = (rc_object_t *)next->refcnt;
            next->refcnt = 0;
            T.depth++;
            destroy(next);
            T.depth--;
        }
    }
}

intptr_t rc_getrefcount(const rc_object_t *op)
{
    return op->refcnt + 1;
}

size_t rc_sizeof(const rc_object_t *op)
{
    const rc_type_t *t = op->type;
    size_t n = t->basicsize;
    if (t->flags & RC_TYPE_GC)
        n += sizeof(rc_gchead_t);
    if (t->size_of != NULL)
        n += t->size_of((rc_object_t *)(uintptr_t)op);
    return n;
}

uint64_t rc_hash(rc_object_t *op)
{
    if (op->type->hash != NULL)
        return op->type->hash(op);
    uint64_t h = (uint64_t)(uintptr_t)op;
    return (h >> 4) | (h << 60);
}

bool rc_equal(rc_object_t *a, rc_object_t *b)
{
    if (a == b)
        return true;
    if (a->type != b->type || a->type->equal == NULL)
        return false;
    return a->type->equal(a, b);
}
