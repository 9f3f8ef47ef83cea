/*
 * tests/objects/progs/many_types.c - more runtime types than a stream used to name (256):
 * NTYPES classes T0, T1, ..., one instance each that references itself, with the collector
 * disabled. Each must be reported as its own cycle `Tn@1 .self -> Tn@1`, with its own type.
 */
#include <stdio.h>

#include <rcrt/rcrt.h>

#define NTYPES 300

static char names[NTYPES][8];

static __attribute__((noinline)) void leak_one(rc_type_t *type)
{
    rc_object_t *o = rc_instance_new(type);
    rc_setattr(o, "self", o);
    rc_decref(o);
}

int main(void)
{
    static const char *const slots[] = {"self", NULL};
    rc_gc_disable();
    for (int i = 0; i < NTYPES; i++) {
        snprintf(names[i], sizeof names[i], "T%d", i);
        leak_one(rc_class_new(names[i], slots, NULL));
    }
    return 0;
}
