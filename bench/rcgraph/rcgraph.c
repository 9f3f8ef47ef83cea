/*
 * bench/rcgraph/rcgraph.c - the cost of recording an rcrt program's reference counts (issue 5,
 * item 7): builds and drops N objects (default 1M) with 5 reference-count operations each
 * (5M increfs and decrefs), in batches of 1000 held by a list, so objects are allocated and
 * freed all along and the cycle collector runs as it would. Prints the loop's wall time (the
 * shim's stack captures and ring waits happen in this process) and CPU time, in ns per object.
 * Run it plain and under `leakgraph run` (run.sh does, with several stack depths).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rcrt/rcrt.h>

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static __attribute__((noinline)) void touch(rc_object_t *o)
{
    rc_incref(o); /* a borrowed reference made strong for a while, as callers do */
    rc_decref(o);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    static const char *const slots[] = {"value", NULL};
    rc_type_t *Node = rc_class_new("Node", slots, NULL);
    rc_object_t *batch = rc_list_new();
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
        rc_object_t *o = rc_instance_new(Node); /* alloc */
        rc_list_append(batch, o);               /* incref */
        touch(o);                               /* incref, decref */
        rc_decref(o);                           /* decref: the list holds it */
        if (rc_list_size(batch) == 1000) rc_list_clear(batch); /* decref: freed */
    }
    rc_list_clear(batch);
    double w1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_PROCESS_CPUTIME_ID);
    rc_decref(batch);
    printf("rcgraph: %ld objects, %ld refcount operations: %.1f ns/object wall, %.1f ns/object cpu\n",
           n, 5 * n, (w1 - w0) / (double)n, (c1 - c0) / (double)n);
    return 0;
}
