/*
 * runtime/int.c - the int type: a 64-bit integer object, and the cache of small ints
 * (-5..256) that every rc_int_from of such a value shares, as CPython does. The cached ints
 * live in static memory and are never freed: if their count ever reaches zero (a refcount bug
 * in the program), the dealloc resets it instead of freeing static memory.
 */
#include "internal.h"

typedef struct rc_int {
    rc_object_t ob;
    int64_t value;
} rc_int_t;

#define NSMALL (RC_SMALL_INT_MAX - RC_SMALL_INT_MIN + 1)
static rc_int_t small_ints[NSMALL];
static bool small_ready;

static void int_dealloc(rc_object_t *self)
{
    rc_int_t *i = (rc_int_t *)self;
    if (i >= small_ints && i < small_ints + NSMALL) {
        self->refcnt = 1; /* immortal in practice: the cache keeps its reference */
        return;
    }
    rc_object_free(self);
}

static uint64_t int_hash(rc_object_t *self)
{
    uint64_t x = (uint64_t)((rc_int_t *)self)->value;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static bool int_equal(rc_object_t *a, rc_object_t *b)
{
    return ((rc_int_t *)a)->value == ((rc_int_t *)b)->value;
}

const rc_type_t rc_int_type = {
    .name = "int",
    .basicsize = sizeof(rc_int_t),
    .dealloc = int_dealloc,
    .hash = int_hash,
    .equal = int_equal,
};

static void small_ints_init(void)
{
    for (int k = 0; k < NSMALL; k++) {
        small_ints[k].ob.refcnt = 1; /* the cache's own reference */
        small_ints[k].ob.type = &rc_int_type;
        small_ints[k].value = RC_SMALL_INT_MIN + k;
    }
    small_ready = true;
}

rc_object_t *rc_int_from(int64_t v)
{
    if (v >= RC_SMALL_INT_MIN && v <= RC_SMALL_INT_MAX) {
        if (RC_UNLIKELY(!small_ready))
            small_ints_init();
        rc_object_t *op = &small_ints[v - RC_SMALL_INT_MIN].ob;
        rc_incref(op);
        return op;
    }
    rc_int_t *i = (rc_int_t *)rc_object_new(&rc_int_type, 0);
    if (i != NULL)
        i->value = v;
    return &i->ob;
}

int64_t rc_int_value(const rc_object_t *op)
{
    return ((const rc_int_t *)op)->value;
}
