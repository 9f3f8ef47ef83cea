/*
 * bench/rcgraph/nulltracer.c - a tracer whose rcrt hooks do nothing but count. Preloaded
 * instead of leakgraph's shim (run.sh, row "hooks"), it measures what the runtime's traced
 * paths cost by themselves: the patched sites, the traced forms and the calls through the
 * hook ABI (include/leakgraph/runtime_hooks.h). No tracer that uses that ABI can be cheaper.
 */
#include <stddef.h>
#include <stdint.h>

#include "leakgraph/runtime_hooks.h"

static __thread unsigned long n_events __attribute__((tls_model("initial-exec")));

void lg_rt_obj_alloc(const void *obj, const char *type_name, size_t size)
{
    (void)obj, (void)type_name, (void)size;
    n_events++;
}

void lg_rt_obj_free(const void *obj, const char *type_name, size_t size)
{
    (void)obj, (void)type_name, (void)size;
    n_events++;
}

void lg_rt_incref(const void *obj, intptr_t refcount)
{
    (void)obj, (void)refcount;
    n_events++;
}

void lg_rt_decref(const void *obj, intptr_t refcount)
{
    (void)obj, (void)refcount;
    n_events++;
}
