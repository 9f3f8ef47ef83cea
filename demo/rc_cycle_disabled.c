/*
 * demo/rc_cycle_disabled.c - seed bug: two objects that reference each other, made while the
 * cycle collector is disabled. Reference counting alone never frees a cycle; with the
 * collector off (Python: gc.disable()) every pair stays until the process ends.
 *
 *     gc.disable()
 *     for _ in range(400):
 *         a, b = Node(), Node()
 *         a.next = b; b.next = a
 *
 * leakgraph reports one group of 400 uncollected cycles `Node@1 .next -> Node@2 .next ->
 * Node@1`, and says why: no collection ran though 800 containers were allocated. The fixed
 * version (built with RC_DEMO_FIXED) turns the collector back on and collects: nothing left.
 * An argument makes that many pairs instead of 400 (tests/objects: the cycle passes at scale).
 */
#include <stdlib.h>

#include <rcrt/rcrt.h>

static rc_type_t *Node;

static __attribute__((noinline)) void make_pair(void)
{
    rc_object_t *a = rc_instance_new(Node), *b = rc_instance_new(Node);
    rc_setattr(a, "next", b);
    rc_setattr(b, "next", a);
    rc_decref(a);
    rc_decref(b);
}

static __attribute__((noinline)) void run(long pairs)
{
    rc_gc_disable();
    for (long i = 0; i < pairs; i++) make_pair();
#ifdef RC_DEMO_FIXED
    rc_gc_enable(); /* the fix: never leave the collector off while making cycles */
    rc_gc_collect(2);
#endif
}

int main(int argc, char **argv)
{
    static const char *const slots[] = {"next", NULL};
    Node = rc_class_new("Node", slots, NULL);
    run(argc > 1 ? atol(argv[1]) : 400);
    return 0;
}
