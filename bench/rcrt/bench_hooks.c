/*
 * bench/rcrt/bench_hooks.c - the cost of compiled-in trace hooks when no tracer is loaded.
 * Built twice, against rcrt with RC_TRACE_HOOKS=1 and =0; run.sh runs both alternately and
 * compares the best times. Two workloads:
 *   program   what a program does with the runtime: split text into words, count them in a
 *             dict, keep the counts as ints, build records (instances with attributes) and a
 *             list of tuples, find the most frequent word, drop everything, and let the
 *             collector run on the cycles it made. Refcount operations are frequent but
 *             among other work. This is the workload of the 2% target.
 *   refcount  a loop of almost nothing but increfs, decrefs and small allocations (appending
 *             shared small ints to lists): the worst case for a per-site branch.
 * Prints "<program ns per iteration> <refcount ns per iteration>", each the best of `reps`
 * timings (CPU time: the machine is shared).
 * Usage: bench_hooks [program_iterations refcount_iterations reps]   (default 4000 20000 5;
 * run.sh uses small counts under callgrind to count instructions per iteration).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rcrt/rcrt.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static rc_type_t *Record, *Node;

static const char *const text[] = {
    "the quick brown fox jumps over the lazy dog and the dog sleeps",
    "a reference count is the number of places that hold a pointer to an object",
    "when the count of an object drops to zero the object is freed at once",
    "objects that refer to each other in a cycle need the collector to be freed",
    "the collector subtracts internal references and moves the unreachable objects",
    "weak references do not keep their target alive and their callbacks run later",
};
#define NLINES (sizeof text / sizeof text[0])

static void program_iteration(int k)
{
    rc_object_t *counts = rc_dict_new();
    for (size_t l = 0; l < NLINES; l++) {
        const char *p = text[(l + (size_t)k) % NLINES];
        while (*p) {
            const char *e = strchr(p, ' ');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            rc_object_t *w = rc_str_from_len(p, n);
            rc_object_t *old = rc_dict_get(counts, w);
            rc_object_t *c = rc_int_from(old ? rc_int_value(old) + 1 : 1);
            rc_dict_set(counts, w, c);
            rc_decref(c);
            rc_decref(w);
            p += n + (e != NULL);
        }
    }
    rc_object_t *records = rc_list_new();
    size_t pos = 0;
    rc_object_t *key, *value, *best = NULL;
    int64_t best_n = -1;
    while (rc_dict_next(counts, &pos, &key, &value)) {
        rc_object_t *r = rc_instance_new(Record);
        rc_setattr(r, "word", key);
        rc_setattr(r, "count", value);
        rc_setattr(r, "list", records); /* a cycle: records -> r -> records */
        rc_list_append(records, r);
        rc_decref(r);
        if (rc_int_value(value) > best_n) {
            best_n = rc_int_value(value);
            best = key;
        }
    }
    rc_object_t *t = rc_tuple_pack(2, best, rc_dict_get(counts, best));
    rc_decref(t);
    rc_decref(records);
    rc_decref(counts);
}

static void refcount_iteration(void)
{
    rc_object_t *l = rc_list_new();
    for (int i = 0; i < 100; i++) {
        rc_object_t *v = rc_int_from(i);
        rc_list_append(l, v);
        rc_decref(v);
    }
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
    rc_decref(l);
    rc_decref(prev);
}

static int reps = 5;

static double best_of(void (*fn)(int), int iters)
{
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        uint64_t t0 = now_ns();
        for (int k = 0; k < iters; k++)
            fn(k);
        double ns = (double)(now_ns() - t0) / iters;
        if (ns < best)
            best = ns;
    }
    return best;
}

static void refcount_wrapper(int k)
{
    (void)k;
    refcount_iteration();
}

int main(int argc, char **argv)
{
    int program_iters = 4000, refcount_iters = 20000;
    if (argc == 4) {
        program_iters = atoi(argv[1]);
        refcount_iters = atoi(argv[2]);
        reps = atoi(argv[3]);
    }
    static const char *const record_slots[] = {"word", "count", "list", NULL};
    static const char *const node_slots[] = {"value", "next", NULL};
    Record = rc_class_new("Record", record_slots, NULL);
    Node = rc_class_new("Node", node_slots, NULL);
    double program = best_of(program_iteration, program_iters);
    double refcount = best_of(refcount_wrapper, refcount_iters);
    rc_gc_collect(2);
    printf("%.1f %.1f\n", program, refcount);
    return 0;
}
