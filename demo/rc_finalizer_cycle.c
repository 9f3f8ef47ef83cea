/*
 * demo/rc_finalizer_cycle.c - seed bug: objects with a legacy finalizer (CPython's tp_del,
 * Python 2's __del__) in a cycle. The collector finds the cycle but cannot know in which order
 * to finalize its members, so it leaves them, uncollectable, in gc.garbage.
 *
 *     class Resource: __del__ ...         (legacy finalizer)
 *     a, b = Resource(), Resource(); a.peer = b; b.peer = a
 *     del a, b; gc.collect()              # 2 objects in gc.garbage
 *
 * leakgraph reports the cycle `Resource@1 .peer -> Resource@2 .peer -> Resource@1` and that it
 * sits in gc.garbage as uncollectable. The fixed version (RC_DEMO_FIXED) gives the class a
 * PEP 442 finalizer instead, which the collector runs before freeing the cycle.
 */
#include <rcrt/rcrt.h>

static rc_type_t *Resource;
static int closed;

static void close_resource(rc_object_t *self)
{
    (void)self;
    closed++;
}

static __attribute__((noinline)) void open_pair(void)
{
    rc_object_t *a = rc_instance_new(Resource), *b = rc_instance_new(Resource);
    rc_setattr(a, "peer", b);
    rc_setattr(b, "peer", a);
    rc_decref(a);
    rc_decref(b);
    rc_gc_collect(2);
}

int main(void)
{
    static const char *const slots[] = {"peer", NULL};
#ifdef RC_DEMO_FIXED
    Resource = rc_class_new("Resource", slots, close_resource); /* the fix: a PEP 442 finalizer */
#else
    Resource = rc_class_new("Resource", slots, NULL);
    Resource->legacy_del = close_resource; /* the bug: a legacy finalizer on a cycle member */
#endif
    open_pair();
    return 0;
}
