/*
 * runtime/weakref.c - weak references: the rc_weakref type, the per-object list of weak
 * references, and their clearing when the referent dies (by count, in rc_dealloc, or as
 * garbage, in the collector's handle_weakrefs). It never changes the referent's count except
 * in rc_weakref_get, which hands out a new strong reference.
 *
 * Each weak-referenceable object has, at type->weaklist_offset, the head of a doubly linked
 * list of the weak references to it, newest first. A weak reference is a container (tracked
 * by the collector) although it holds no strong reference: the collector must know whether a
 * weak reference is itself garbage, since a garbage weak reference does not call back.
 * Callbacks run newest first, each with a reference to its (already cleared) weak reference.
 */
#include <errno.h>

#include "internal.h"

typedef struct rc_weakref {
    rc_object_t ob;
    rc_object_t *target;            /* NULL once cleared */
    struct rc_weakref *next;        /* in the target's list */
    struct rc_weakref *prev;
    rc_weakref_callback_fn callback;
    void *data;
} rc_weakref_t;

static int weakref_traverse(rc_object_t *self, rc_visit_fn visit, void *arg)
{
    (void)self, (void)visit, (void)arg; /* no strong references */
    return 0;
}

static void weakref_dealloc(rc_object_t *self)
{
    rc_weakref_detach(self);
    rc_gc_untrack(self);
    rc_object_free(self);
}

const rc_type_t rc_weakref_type = {
    .name = "weakref",
    .basicsize = sizeof(rc_weakref_t),
    .flags = RC_TYPE_GC,
    .traverse = weakref_traverse,
    .dealloc = weakref_dealloc,
};

rc_object_t **rc_weaklist_of(rc_object_t *op)
{
    size_t off = op->type->weaklist_offset;
    return off ? (rc_object_t **)((char *)op + off) : NULL;
}

rc_object_t *rc_weakref_new(rc_object_t *target, rc_weakref_callback_fn callback, void *data)
{
    rc_object_t **head = rc_weaklist_of(target);
    if (head == NULL) {
        errno = EINVAL;
        return NULL;
    }
    rc_weakref_t *wr = (rc_weakref_t *)rc_object_new(&rc_weakref_type, 0);
    if (wr == NULL)
        return NULL;
    wr->target = target;
    wr->callback = callback;
    wr->data = data;
    wr->prev = NULL;
    wr->next = (rc_weakref_t *)*head;
    if (wr->next)
        wr->next->prev = wr;
    *head = &wr->ob;
    return &wr->ob;
}

void rc_weakref_detach(rc_object_t *self)
{
    rc_weakref_t *wr = (rc_weakref_t *)self;
    if (wr->target == NULL)
        return;
    if (wr->prev)
        wr->prev->next = wr->next;
    else
        *rc_weaklist_of(wr->target) = (rc_object_t *)wr->next;
    if (wr->next)
        wr->next->prev = wr->prev;
    wr->next = wr->prev = NULL;
    wr->target = NULL;
}

int rc_weakref_has_callback(rc_object_t *self)
{
    return ((rc_weakref_t *)self)->callback != NULL;
}

void rc_weakref_call(rc_object_t *self)
{
    rc_weakref_t *wr = (rc_weakref_t *)self;
    if (wr->callback != NULL) {
        rc_weakref_callback_fn cb = wr->callback;
        wr->callback = NULL; /* once */
        cb(self, wr->data);
    }
}

void rc_weakref_clear_all(rc_object_t *op)
{
    rc_object_t **head = rc_weaklist_of(op);
    /* Clear all first, collecting those with callbacks in a chain through `next` (free now),
     * then call them: no callback sees a weak reference to the dying object. */
    rc_weakref_t *calls = NULL, **tail = &calls;
    while (*head != NULL) {
        rc_weakref_t *wr = (rc_weakref_t *)*head;
        rc_weakref_detach(&wr->ob);
        if (wr->callback != NULL) {
            rc_incref(&wr->ob);
            *tail = wr;
            tail = &wr->next;
        }
    }
    while (calls != NULL) {
        rc_weakref_t *wr = calls;
        calls = wr->next;
        wr->next = NULL;
        rc_weakref_call(&wr->ob);
        rc_decref(&wr->ob);
    }
}

rc_object_t *rc_weakref_get(rc_object_t *self)
{
    rc_weakref_t *wr = (rc_weakref_t *)self;
    if (wr->target == NULL)
        return NULL;
    rc_incref(wr->target);
    return wr->target;
}

bool rc_weakref_alive(rc_object_t *self)
{
    return ((rc_weakref_t *)self)->target != NULL;
}

size_t rc_weakref_count(rc_object_t *target)
{
    rc_object_t **head = rc_weaklist_of(target);
    size_t n = 0;
    for (rc_weakref_t *wr = head ? (rc_weakref_t *)*head : NULL; wr != NULL; wr = wr->next)
        n++;
    return n;
}
