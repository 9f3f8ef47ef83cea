/*
 * demo/rc_self_ref.c - seed bug: an object that references itself (a cache entry pointing at
 * its own record). Its count never reaches zero; only the cycle collector could free it, and
 * the program ends before the collector runs (too few containers for its threshold).
 *
 *     e = Entry(); e.self = e; del e
 *
 * leakgraph reports the cycle `Entry@1 .self -> Entry@1` and that no collection ran after it
 * formed. The fixed version (RC_DEMO_FIXED) clears the self reference before dropping it.
 */
#include <rcrt/rcrt.h>

static rc_type_t *Entry;

static __attribute__((noinline)) void cache_entry(void)
{
    rc_object_t *e = rc_instance_new(Entry);
    rc_object_t *payload = rc_list_new();
    rc_setattr(e, "payload", payload);
    rc_decref(payload);
    rc_setattr(e, "self", e);
#ifdef RC_DEMO_FIXED
    rc_setattr(e, "self", NULL); /* the fix: break the self reference before dropping it */
#endif
    rc_decref(e);
}

int main(void)
{
    static const char *const slots[] = {"self", "payload", NULL};
    Entry = rc_class_new("Entry", slots, NULL);
    cache_entry();
    return 0;
}
