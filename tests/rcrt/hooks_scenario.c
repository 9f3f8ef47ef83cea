/*
 * tests/rcrt/hooks_scenario.c - a known scenario run under the test tracer (tracer.c), built
 * twice: linked statically with rcrt into a PIE executable, and linked with librcrt.so. With
 * `--traced` it requires the tracer to be preloaded and checks the exact number of each event
 * and the objects, labels and counts reported by the walk; without it, it checks that no hook
 * is bound (rc_trace_mask == 0) and that the program runs the same.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "harness.h"
#include "rcrt/rcrt.h"

struct lg_test_counts {
    long registers, abi_version;
    long allocs, frees, increfs, decrefs, gc_starts, gc_ends;
    long last_gc_generation, last_collected, last_uncollectable;
    long errors;
};

/* Values kept in general and vector registers across hook sites survive the traced path:
 * a patched site promises the compiler that nothing but the flags changes (rcrt/object.h), so
 * the entry in trace.c must save everything. keep_live and keep_plain compute the same thing,
 * with and without sites in the loop; the results must be identical. */
#define KEEP_BODY(SITE_IN, SITE_OUT)                                                           \
    double a = x * 1.25, b = x + 3.0, c = x - 0.5, d = x * x;                                  \
    long p = k * 3, q = k + 7, r = k ^ 5;                                                      \
    for (int i = 0; i < 4; i++) {                                                              \
        SITE_IN;                                                                               \
        a = a * 1.01 + b;                                                                      \
        b = b * 0.99 + c;                                                                      \
        c = c + d * 0.001;                                                                     \
        d = d * 0.5 + a * 0.25;                                                                \
        p += q;                                                                                \
        q ^= r;                                                                                \
        r += p;                                                                                \
        SITE_OUT;                                                                              \
    }                                                                                          \
    return a + b + c + d + (double)(p + q + r);

static __attribute__((noinline)) double keep_live(rc_object_t *o, double x, long k)
{
    KEEP_BODY(rc_incref(o), rc_decref(o))
}
static __attribute__((noinline)) double keep_plain(rc_object_t *o, double x, long k)
{
    KEEP_BODY((void)o, (void)o)
}

int main(int argc, char **argv)
{
    int traced = argc > 1 && strcmp(argv[1], "--traced") == 0;
    struct lg_test_counts *counts = dlsym(RTLD_DEFAULT, "lg_test_tracer_counts");
    int (*dump)(char *, size_t) = (int (*)(char *, size_t))dlsym(RTLD_DEFAULT,
                                                                 "lg_test_tracer_dump");
    if (traced) {
        CHECK(counts != NULL && dump != NULL);
        if (counts == NULL || dump == NULL)
            return check_result("rcrt_hooks");
        CHECK_EQ(rc_trace_mask, RC_TRACE_REFS | RC_TRACE_OBJS | RC_TRACE_GC);
        CHECK_EQ(counts->registers, 1);
        CHECK_EQ(counts->abi_version, 1);
    } else {
        CHECK(counts == NULL);
        CHECK_EQ(rc_trace_mask, 0);
    }
    static const char *const slots[] = {"items", "name", NULL};
    rc_type_t *Holder = rc_class_new("Holder", slots, NULL);
    struct lg_test_counts before = counts ? *counts : (struct lg_test_counts){0};

    /* holder.items = [ "leaf" ] */
    rc_object_t *holder = rc_instance_new(Holder); /* alloc 1 */
    rc_object_t *list = rc_list_new();             /* alloc 2 */
    rc_object_t *s = rc_str_from("leaf");          /* alloc 3 */
    rc_list_append(list, s);                       /* incref 1 */
    rc_setattr(holder, "items", list);             /* incref 2 */
    rc_decref(list);                               /* decref 1 */
    rc_decref(s);                                  /* decref 2 */
    char text[512];
    if (traced) {
        CHECK_EQ(dump(text, sizeof text), 0);
        const char *expect = "Holder size=64 rc=1 items->list\nlist size=64 rc=1 [0]->str";
        if (strcmp(text, expect) != 0)
            fprintf(stderr, "walk gave:\n%s\nexpected:\n%s\n", text, expect);
        CHECK(strcmp(text, expect) == 0);
    }

    /* a.items = b; b.items = a; del a, b; gc.collect() */
    rc_object_t *a = rc_instance_new(Holder), *b = rc_instance_new(Holder); /* allocs 4, 5 */
    rc_setattr(a, "items", b);                                              /* incref 3 */
    rc_setattr(b, "items", a);                                              /* incref 4 */
    rc_decref(a);                                                           /* decref 3 */
    rc_decref(b);                                                           /* decref 4 */
    /* The collector holds a for its clear (incref 5), which drops b (decref 5, to 0), whose
     * dealloc drops a (decref 6) and frees b (free 1); then a is released (decref 7, free 2). */
    CHECK_EQ(rc_gc_collect(2), 2);
    /* del holder: decref 8 (to 0), its list (decref 9), the string (decref 10); 3 frees. */
    rc_decref(holder);
    if (traced) {
        CHECK_EQ(counts->allocs - before.allocs, 5);
        CHECK_EQ(counts->frees - before.frees, 5);
        CHECK_EQ(counts->increfs - before.increfs, 5);
        CHECK_EQ(counts->decrefs - before.decrefs, 10);
        CHECK_EQ(counts->gc_starts - before.gc_starts, 1);
        CHECK_EQ(counts->gc_ends - before.gc_ends, 1);
        CHECK_EQ(counts->last_gc_generation, 2);
        CHECK_EQ(counts->last_collected, 2);
        CHECK_EQ(counts->last_uncollectable, 0);
        CHECK_EQ(counts->errors, 0);
        CHECK_EQ(dump(text, sizeof text), 0);
        CHECK(strcmp(text, "") == 0);
    }
    CHECK_EQ(rc_class_free(Holder), 0);

    rc_object_t *big = rc_int_from(1000000);
    long before_increfs = counts ? counts->increfs : 0;
    for (long k = 0; k < 50; k++)
        CHECK(keep_live(big, 0.5 * (double)k, k) == keep_plain(big, 0.5 * (double)k, k));
    if (traced)
        CHECK_EQ(counts->increfs - before_increfs, 200);
    CHECK_EQ(rc_getrefcount(big), 2);
    rc_decref(big);
    return check_result("rcrt_hooks");
}
