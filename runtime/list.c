/*
 * runtime/list.c - the list type: a growable array of references (the array itself comes
 * from rc_malloc, so small lists stay in pools). A container; references labelled by index.
 * Growth over-allocates by about 1/8 plus a little, like CPython, for amortised O(1) append.
 */
#include <errno.h>

#include "internal.h"

typedef struct rc_list {
    rc_object_t ob;
    size_t size;
    size_t allocated;
    rc_object_t **items;
} rc_list_t;

static int list_traverse(rc_object_t *self, rc_visit_fn visit, void *arg)
{
    rc_list_t *l = (rc_list_t *)self;
    for (size_t i = 0; i < l->size; i++) {
        int r = visit(l->items[i], NULL, (intptr_t)i, arg);
        if (r)
            return r;
    }
    return 0;
}

/* Drop all items, last first; the list may be changed by a dealloc on the way, so the array
 * is detached before any decref. */
static void list_clear(rc_object_t *self)
{
    rc_list_t *l = (rc_list_t *)self;
    rc_object_t **items = l->items;
    size_t n = l->size;
    l->items = NULL;
    l->size = l->allocated = 0;
    while (n > 0)
        rc_decref(items[--n]);
    rc_free(items);
}

static size_t list_sizeof(rc_object_t *self)
{
    return ((rc_list_t *)self)->allocated * sizeof(rc_object_t *);
}

const rc_type_t rc_list_type = {
    .name = "list",
    .basicsize = sizeof(rc_list_t),
    .flags = RC_TYPE_GC,
    .traverse = list_traverse,
    .clear = list_clear,
    .size_of = list_sizeof,
};

rc_object_t *rc_list_new(void)
{
    return rc_object_new(&rc_list_type, 0);
}

size_t rc_list_size(const rc_object_t *l)
{
    return ((const rc_list_t *)l)->size;
}

static int list_grow(rc_list_t *l, size_t need)
{
    size_t cap = need + (need >> 3) + (need < 9 ? 3 : 6);
    rc_object_t **items = rc_realloc(l->items, cap * sizeof *items);
    if (items == NULL)
        return -ENOMEM;
    l->items = items;
    l->allocated = cap;
    return 0;
}

int rc_list_append(rc_object_t *self, rc_object_t *item)
{
    rc_list_t *l = (rc_list_t *)self;
    if (l->size == l->allocated && list_grow(l, l->size + 1) != 0)
        return -ENOMEM;
    rc_incref(item);
    l->items[l->size++] = item;
    return 0;
}

rc_object_t *rc_list_get(const rc_object_t *self, size_t i)
{
    const rc_list_t *l = (const rc_list_t *)self;
    return i < l->size ? l->items[i] : NULL;
}

int rc_list_set(rc_object_t *self, size_t i, rc_object_t *item)
{
    rc_list_t *l = (rc_list_t *)self;
    if (i >= l->size)
        return -EINVAL;
    rc_incref(item);
    rc_setref(&l->items[i], item);
    return 0;
}

int rc_list_del(rc_object_t *self, size_t i)
{
    rc_list_t *l = (rc_list_t *)self;
    if (i >= l->size)
        return -EINVAL;
    rc_object_t *old = l->items[i];
    for (size_t k = i + 1; k < l->size; k++)
        l->items[k - 1] = l->items[k];
    l->size--;
    rc_decref(old);
    return 0;
}

rc_object_t *rc_list_pop(rc_object_t *self)
{
    rc_list_t *l = (rc_list_t *)self;
    if (l->size == 0)
        return NULL;
    return l->items[--l->size]; /* the list's reference becomes the caller's */
}

void rc_list_clear(rc_object_t *self)
{
    list_clear(self);
}
