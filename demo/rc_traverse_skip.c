/*
 * demo/rc_traverse_skip.c - seed bug: a container type whose traverse function does not
 * report one of its references (CPython: a tp_traverse that forgets a field). The collector
 * cannot see that reference, counts it as coming from outside, and keeps the cycle it closes.
 *
 * leakgraph reports the cycle `Pair@1 .first -> Pair@2 +N (not reported by traverse) ->
 * Pair@1` (the pointer was found in Pair@2's memory), and why the collector kept it. The fixed
 * version (RC_DEMO_FIXED) reports `second` too, and the collector frees the pair.
 */
#include <rcrt/rcrt.h>

typedef struct pair {
    rc_object_t ob;
    rc_object_t *first, *second;
} pair_t;

static int pair_traverse(rc_object_t *self, rc_visit_fn visit, void *arg)
{
    pair_t *p = (pair_t *)self;
    int rc = p->first ? visit(p->first, "first", -1, arg) : 0;
#ifdef RC_DEMO_FIXED
    if (rc == 0 && p->second) rc = visit(p->second, "second", -1, arg); /* the fix */
#endif
    return rc; /* the bug (without the fix): `second` is never reported */
}

static void pair_clear(rc_object_t *self)
{
    pair_t *p = (pair_t *)self;
    rc_setref(&p->first, NULL);
    rc_setref(&p->second, NULL);
}

static const rc_type_t Pair = {
    .name = "Pair",
    .basicsize = sizeof(pair_t),
    .flags = RC_TYPE_GC,
    .traverse = pair_traverse,
    .clear = pair_clear,
};

static rc_object_t *pair_new(void)
{
    return rc_object_new(&Pair, 0);
}

static __attribute__((noinline)) void link_pairs(void)
{
    pair_t *a = (pair_t *)pair_new(), *b = (pair_t *)pair_new();
    rc_incref(&b->ob);
    a->first = &b->ob;
    rc_incref(&a->ob);
    b->second = &a->ob;
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    rc_gc_collect(2);
}

int main(void)
{
    link_pairs();
    return 0;
}
