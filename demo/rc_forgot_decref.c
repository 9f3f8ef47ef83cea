/*
 * demo/rc_forgot_decref.c - seed bug: a helper that takes a reference it never gives back.
 * rc_list_append takes its own reference (as PyList_Append does), so the rc_incref before it
 * is one too many: every session stays alive with a count of 1 after the registry and the
 * caller dropped theirs.
 *
 * leakgraph reports 3 objects of type Session, each with 1 unexplained reference, and names
 * the increment that no decrement matched: remember(), at the rc_incref line. The fixed
 * version (RC_DEMO_FIXED) drops the extra rc_incref.
 */
#include <rcrt/rcrt.h>

static rc_type_t *Session;

static __attribute__((noinline)) void remember(rc_object_t *registry, rc_object_t *item)
{
#ifndef RC_DEMO_FIXED
    rc_incref(item); /* the bug: rc_list_append below takes its own reference */
#endif
    rc_list_append(registry, item);
}

static __attribute__((noinline)) void run(void)
{
    rc_object_t *registry = rc_list_new();
    for (int i = 0; i < 3; i++) {
        rc_object_t *s = rc_instance_new(Session);
        rc_setattr(s, "id", rc_int_from(i)); /* small ints are shared: no new reference */
        remember(registry, s);
        rc_decref(s);
    }
    rc_decref(registry);
}

int main(void)
{
    static const char *const slots[] = {"id", NULL};
    Session = rc_class_new("Session", slots, NULL);
    run();
    return 0;
}
