/*
 * bench/rcrt/bench_gc.c - one full collection over four shapes of about a million objects,
 * built with the collector disabled, timed in ns per object (median of several runs):
 *   cycles  500k garbage pairs a <-> b       (all garbage: find and free)
 *   ring    a garbage ring of 1M links       (all garbage, one big cycle)
 *   tree    a live complete binary tree      (all reachable: pure marking cost)
 *   lists   a live list of 1000 lists of 999 empty lists
 * With `--python FILE` it reads the numbers of gc_shapes.py (same shapes in CPython) and
 * prints them side by side with the ratio rcrt / CPython. `--shape NAME` runs one shape only
 * (for profiling), `--runs N` sets the number of runs.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rcrt/rcrt.h"

#define N 1000000
static rc_type_t *Pair, *Link, *Tree;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static rc_object_t *build_cycles(size_t *n)
{
    for (int i = 0; i < N / 2; i++) {
        rc_object_t *a = rc_instance_new(Pair), *b = rc_instance_new(Pair);
        rc_setattr(a, "other", b);
        rc_setattr(b, "other", a);
        rc_decref(a);
        rc_decref(b);
    }
    *n = N;
    return NULL;
}

static rc_object_t *build_ring(size_t *n)
{
    rc_object_t *first = rc_instance_new(Link), *prev = first;
    rc_incref(first);
    for (int i = 1; i < N; i++) {
        rc_object_t *x = rc_instance_new(Link);
        rc_setattr(prev, "next", x);
        rc_decref(prev);
        prev = x;
    }
    rc_setattr(prev, "next", first);
    rc_decref(prev);
    rc_decref(first);
    *n = N;
    return NULL;
}

static rc_object_t *build_tree(size_t *n)
{
    rc_object_t **nodes = malloc(N * sizeof *nodes);
    for (int i = 0; i < N; i++)
        nodes[i] = rc_instance_new(Tree);
    for (int i = 0; i < N; i++) {
        if (2 * i + 1 < N)
            rc_setattr(nodes[i], "left", nodes[2 * i + 1]);
        if (2 * i + 2 < N)
            rc_setattr(nodes[i], "right", nodes[2 * i + 2]);
    }
    rc_object_t *root = nodes[0];
    for (int i = 1; i < N; i++)
        rc_decref(nodes[i]);
    free(nodes);
    *n = N;
    return root;
}

static rc_object_t *build_lists(size_t *n)
{
    rc_object_t *outer = rc_list_new();
    for (int i = 0; i < 1000; i++) {
        rc_object_t *mid = rc_list_new();
        for (int j = 0; j < 999; j++) {
            rc_object_t *e = rc_list_new();
            rc_list_append(mid, e);
            rc_decref(e);
        }
        rc_list_append(outer, mid);
        rc_decref(mid);
    }
    *n = 1 + 1000 + 1000 * 999;
    return outer;
}

struct shape {
    const char *name;
    rc_object_t *(*build)(size_t *n);
    double py_ns;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int runs = 5;
    const char *pyfile = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--python") == 0 && i + 1 < argc)
            pyfile = argv[++i];
        else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
    }
    static const char *const pair_slots[] = {"other", NULL};
    static const char *const link_slots[] = {"next", NULL};
    static const char *const tree_slots[] = {"left", "right", NULL};
    Pair = rc_class_new("Pair", pair_slots, NULL);
    Link = rc_class_new("Link", link_slots, NULL);
    Tree = rc_class_new("Tree", tree_slots, NULL);
    struct shape shapes[] = {
        {"cycles", build_cycles, 0},
        {"ring", build_ring, 0},
        {"tree", build_tree, 0},
        {"lists", build_lists, 0},
    };
    enum { NSHAPES = sizeof shapes / sizeof shapes[0] };
    if (pyfile != NULL) {
        FILE *f = fopen(pyfile, "r");
        char name[32];
        double ns;
        long n, found;
        while (f && fscanf(f, "%31s %ld %lf %ld", name, &n, &ns, &found) == 4)
            for (int s = 0; s < NSHAPES; s++)
                if (strcmp(shapes[s].name, name) == 0)
                    shapes[s].py_ns = ns;
        if (f)
            fclose(f);
    }
    printf("collector: full collection, ns per object (median of %d runs)\n", runs);
    printf("%-8s %9s %9s %10s %10s %14s\n", "shape", "objects", "found", "rcrt", "CPython",
           "rcrt/CPython");
    int all_ok = 1;
    for (int s = 0; s < NSHAPES; s++) {
        if (only != NULL && strcmp(only, shapes[s].name) != 0)
            continue;
        double *v = calloc((size_t)runs, sizeof *v);
        size_t n = 0;
        intptr_t found = 0;
        for (int r = 0; r < runs; r++) {
            rc_gc_collect(2);
            rc_gc_disable();
            rc_object_t *keep = shapes[s].build(&n);
            uint64_t t0 = now_ns();
            found = rc_gc_collect(2);
            v[r] = (double)(now_ns() - t0) / (double)n;
            rc_xdecref(keep);
            rc_gc_enable();
        }
        qsort(v, (size_t)runs, sizeof *v, cmp_double);
        double med = v[runs / 2];
        free(v);
        double ratio = shapes[s].py_ns > 0 ? med / shapes[s].py_ns : 0;
        if (shapes[s].py_ns > 0 && ratio > 0.5)
            all_ok = 0;
        printf("%-8s %9zu %9ld %10.2f %10.2f %14.2f\n", shapes[s].name, n, (long)found, med,
               shapes[s].py_ns, ratio);
    }
    if (pyfile != NULL)
        printf("target rcrt <= 0.5 x CPython on every shape: %s\n", all_ok ? "met" : "NOT met");
    rc_class_free(Pair);
    rc_class_free(Link);
    rc_class_free(Tree);
    return 0;
}
