/*
 * runtime/tuple.c - the tuple type: a fixed-size sequence with its items inline. A container
 * (tracked by the collector); its references are labelled with their index.
 */
#include <stdarg.h>

#include "internal.h"

typedef struct rc_tuple {
    rc_object_t ob;
    size_t size;
    rc_object_t *items[];
} rc_tuple_t;

static int tuple_traverse(rc_object_t *self, rc_visit_fn visit, void *arg)
{
    rc_tuple_t *t = (rc_tuple_t *)self;
    for (size_t i = 0; i < t->size; i++) {
        if (t->items[i] != NULL) {
            int r = visit(t->items[i], NULL, (intptr_t)i, arg);
            if (r)
                return r;
        }
    }
    return 0;
}

static void tuple_clear(rc_object_t *self)
{
    rc_tuple_t *t = (rc_tuple_t *)self;
    for (size_t i = 0; i < t->size; i++) {
        rc_object_t *o = t->items[i];
        t->items[i] = NULL;
        rc_xdecref(o);
    }
}

static size_t tuple_sizeof(rc_object_t *self)
{
    return ((rc_tuple_t *)self)->size * sizeof(rc_object_t *);
}

const rc_type_t rc_tuple_type = {
    .name = "tuple",
    .basicsize = sizeof(rc_tuple_t),
    .itemsize = sizeof(rc_object_t *),
    .flags = RC_TYPE_GC,
    .traverse = tuple_traverse,
    .clear = tuple_clear,
    .size_of = tuple_sizeof,
};

rc_object_t *rc_tuple_new(size_t n)
{
    rc_tuple_t *t = (rc_tuple_t *)rc_object_new(&rc_tuple_type, n);
    if (t != NULL)
        t->size = n;
    return &t->ob;
}

rc_object_t *rc_tuple_pack(size_t n, ...)
{
    rc_object_t *t = rc_tuple_new(n);
    if (t == NULL)
        return NULL;
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        rc_tuple_set(t, i, va_arg(ap, rc_object_t *));
    va_end(ap);
    return t;
}

size_t rc_tuple_size(const rc_object_t *t)
{
    return ((const rc_tuple_t *)t)->size;
}

rc_object_t *rc_tuple_get(const rc_object_t *t, size_t i)
{
    const rc_tuple_t *tt = (const rc_tuple_t *)t;
    return i < tt->size ? tt->items[i] : NULL;
}

void rc_tuple_set(rc_object_t *t, size_t i, rc_object_t *item)
{
    rc_tuple_t *tt = (rc_tuple_t *)t;
    if (i >= tt->size)
        return;
    rc_xincref(item);
    rc_setref(&tt->items[i], item);
}
