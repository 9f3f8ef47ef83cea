/*
 * bench/rcrt/bench_hooks.c - the cost of compiled-in trace hooks when no tracer is loaded.
 * Built twice, against rcrt with RC_TRACE_HOOKS=1 and =0; run.sh runs both alternately and
 * compares medians. The workload is dominated by what the hooks sit on: increfs and decrefs
 * (list and dict stores, attribute sets, temporaries), object allocation and free, and young
 * collections. Prints "<ns per iteration>" of the best-of-3 inner timing.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "rcrt/rcrt.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static rc_type_t *Node;

/* One iteration: a list of 100 ints (refcount traffic on shared small ints), a dict of 20
 * entries, 10 linked instances, a tuple, everything released; a cycle every 8th iteration. */
static void iteration(int k)
{
    rc_object_t *l = rc_list_new();
    for (int i = 0; i < 100; i++) {
        rc_object_t *v = rc_int_from(i);
        rc_list_append(l, v);
        rc_decref(v);
    }
    rc_object_t *d = rc_dict_new();
    for (int i = 0; i < 20; i++)
        rc_dict_set(d, rc_list_get(l, (size_t)i), rc_list_get(l, (size_t)(99 - i)));
    rc_object_t *prev = NULL;
    for (int i = 0; i < 10; i++) {
        rc_object_t *n = rc_instance_new(Node);
        rc_setattr(n, "value", rc_list_get(l, (size_t)i));
        if (prev) {
            rc_setattr(n, "next", prev);
            rc_decref(prev);
        }
        prev = n;
    }
    if (k % 8 == 0)
        rc_setattr(prev, "back", prev); /* a small cycle for the collector */
    rc_object_t *t = rc_tuple_pack(3, l, d, prev);
    rc_decref(l);
    rc_decref(d);
    rc_decref(prev);
    rc_decref(t);
}

int main(void)
{
    static const char *const slots[] = {"value", "next", "back", NULL};
    Node = rc_class_new("Node", slots, NULL);
    enum { ITERS = 20000 };
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        uint64_t t0 = now_ns();
        for (int k = 0; k < ITERS; k++)
            iteration(k);
        double ns = (double)(now_ns() - t0) / ITERS;
        if (ns < best)
            best = ns;
    }
    rc_gc_collect(2);
    printf("%.1f\n", best);
    return 0;
}
