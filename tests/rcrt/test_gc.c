/*
 * tests/rcrt/test_gc.c - unit tests of the cycle collector and weak references: results of
 * rc_gc_collect, thresholds and automatic collection, promotion through the generations, the
 * long-lived rule for full collections, PEP 442 finalizers with resurrection, weak references
 * to garbage (cleared, callbacks only for live weak references, newest first, after all are
 * cleared), legacy finalizers and the garbage list, freeze, generation tags, callbacks and statistics.
 */
#include <string.h>

#include "harness.h"
#include "rcrt/rcrt.h"

static rc_type_t *Node, *Fin, *Legacy;

/* A garbage pair a <-> b. */
static void make_pair(rc_type_t *cls)
{
    rc_object_t *a = rc_instance_new(cls), *b = rc_instance_new(cls);
    rc_setattr(a, "other", b);
    rc_setattr(b, "other", a);
    rc_decref(a);
    rc_decref(b);
}

/* A ring of n objects linked by .other; the caller holds one reference to the one returned. */
static rc_object_t *make_ring(rc_type_t *cls, int n)
{
    rc_object_t *first = rc_instance_new(cls), *prev = first;
    rc_incref(prev);
    for (int i = 1; i < n; i++) {
        rc_object_t *o = rc_instance_new(cls);
        rc_setattr(prev, "other", o);
        rc_decref(prev);
        prev = o;
    }
    rc_setattr(prev, "other", first);
    rc_decref(prev);
    return first;
}

static void test_collect_results(void)
{
    CHECK_EQ(rc_gc_collect(2), 0);
    make_pair(Node);
    CHECK_EQ(rc_class_instances(Node), 2);
    CHECK_EQ(rc_gc_collect(0), 2);
    CHECK_EQ(rc_class_instances(Node), 0);
    /* A garbage ring of 10000 and a live ring of 10000 (held by one C reference). */
    rc_decref(make_ring(Node, 10000)); /* garbage now */
    rc_object_t *live = make_ring(Node, 10000);
    CHECK_EQ(rc_gc_collect(2), 10000);
    CHECK_EQ(rc_class_instances(Node), 10000);
    CHECK_EQ(rc_getrefcount(live), 3);
    rc_setattr(live, "other", NULL); /* breaks the ring: all freed by counting */
    rc_decref(live);
    CHECK_EQ(rc_class_instances(Node), 0);
    CHECK_EQ(rc_gc_collect(7), -22);
    /* Objects referenced from a live container in an older generation survive. */
    rc_object_t *holder = rc_list_new();
    rc_gc_collect(2); /* holder -> generation 2 */
    make_pair(Node);
    rc_object_t *a = rc_instance_new(Node);
    rc_list_append(holder, a);
    rc_decref(a);
    CHECK_EQ(rc_gc_collect(0), 2); /* the pair only; `a` is held from generation 2 */
    CHECK_EQ(rc_class_instances(Node), 1);
    rc_decref(holder);
    CHECK_EQ(rc_class_instances(Node), 0);
}

static int starts, stops;
static rc_gc_info_t last_info;
static int gen_runs[3];
static void on_gc(rc_gc_phase_t phase, const rc_gc_info_t *info, void *arg)
{
    (void)arg;
    if (phase == RC_GC_START) {
        starts++;
        gen_runs[info->generation]++;
    } else {
        stops++;
        last_info = *info;
    }
}

static void test_thresholds_and_generations(void)
{
    int t[3];
    rc_gc_get_threshold(t);
    CHECK_EQ(t[0], 700);
    CHECK_EQ(t[1], 10);
    CHECK_EQ(t[2], 10);
    CHECK_EQ(rc_gc_set_threshold(-1, 1, 1), -22);
    CHECK_EQ(rc_gc_callback_add(on_gc, NULL), 0);
    rc_gc_collect(2);
    starts = stops = 0;
    memset(gen_runs, 0, sizeof gen_runs);
    /* 701 self-cycles: the 701st container allocation exceeds threshold 0. */
    for (int i = 0; i < 351; i++)
        make_pair(Node);
    CHECK_EQ(starts, 1);
    CHECK_EQ(stops, 1);
    CHECK_EQ(last_info.generation, 0);
    CHECK_EQ(last_info.collected, 700);
    CHECK_EQ(last_info.uncollectable, 0);
    CHECK_EQ(rc_class_instances(Node), 2); /* the last pair was made after the collection */
    intptr_t c[3];
    rc_gc_get_count(c);
    /* The allocation that triggered the collection is not counted after it (as in CPython). */
    CHECK_EQ(c[0], 1);
    CHECK_EQ(c[1], 1);
    CHECK_EQ(c[2], 0);
    CHECK_EQ(rc_gc_collect(2), 2);
    CHECK_EQ(last_info.generation, 2);
    CHECK_EQ(last_info.collected, 2);

    /* Promotion: a survivor of a generation-0 collection is in generation 1, then 2. */
    rc_object_t *l = rc_list_new();
    CHECK_EQ(rc_gc_tracked_count(0), 1);
    rc_gc_collect(0);
    CHECK_EQ(rc_gc_tracked_count(0), 0);
    CHECK_EQ(rc_gc_tracked_count(1), 1);
    rc_gc_collect(1);
    CHECK_EQ(rc_gc_tracked_count(2), 1);
    rc_decref(l);

    /* Disabled: no automatic collection. */
    rc_gc_disable();
    starts = 0;
    for (int i = 0; i < 1000; i++)
        make_pair(Node);
    CHECK_EQ(starts, 0);
    rc_gc_enable();
    CHECK_EQ(rc_gc_collect(2), 2000);

    /* The long-lived rule: with thresholds 10/1/1, garbage alone never triggers a full
     * collection while 1000 long-lived objects exist; survivors do, once they reach a
     * quarter of them. */
    rc_object_t *keep = rc_list_new();
    for (int i = 0; i < 999; i++) {
        rc_object_t *e = rc_list_new();
        rc_list_append(keep, e);
        rc_decref(e);
    }
    rc_gc_collect(2); /* long_lived_total = 1000 */
    CHECK_EQ(rc_gc_set_threshold(10, 1, 1), 0);
    memset(gen_runs, 0, sizeof gen_runs);
    for (int i = 0; i < 2000; i++)
        make_pair(Node);
    CHECK(gen_runs[0] > 100);
    CHECK(gen_runs[1] > 50);
    CHECK_EQ(gen_runs[2], 0);
    for (int i = 0; i < 400 && gen_runs[2] == 0; i++) {
        rc_object_t *e = rc_list_new();
        rc_list_append(keep, e);
        rc_decref(e);
    }
    CHECK_EQ(gen_runs[2], 1);
    rc_gc_set_threshold(700, 10, 10);
    rc_decref(keep);
    rc_gc_collect(2);
    CHECK_EQ(rc_class_instances(Node), 0);

    rc_gc_gen_stats_t st[3];
    rc_gc_get_stats(st);
    CHECK(st[0].collections > 100);
    CHECK(st[2].collections >= 5);
    CHECK_EQ(rc_gc_callback_remove(on_gc, NULL), 0);
    CHECK_EQ(rc_gc_callback_remove(on_gc, NULL), -2);
}

/* PEP 442 in a cycle: each finalizer once; resurrection keeps the whole cycle. */
static int fin_calls;
static rc_object_t *saved;
static void fin_del(rc_object_t *self)
{
    fin_calls++;
    if (saved == NULL) {
        rc_incref(self);
        saved = self;
    }
}

static void test_finalizers_and_resurrection(void)
{
    rc_gc_collect(2);
    saved = (rc_object_t *)1; /* no resurrection */
    make_pair(Fin);
    CHECK_EQ(rc_gc_collect(2), 2);
    CHECK_EQ(fin_calls, 2);
    CHECK_EQ(rc_class_instances(Fin), 0);

    fin_calls = 0;
    saved = NULL; /* the first finalizer resurrects its object (and so its partner) */
    make_pair(Fin);
    CHECK_EQ(rc_gc_collect(2), 0);
    CHECK_EQ(fin_calls, 2);
    CHECK_EQ(rc_class_instances(Fin), 2);
    CHECK(rc_gc_is_finalized(saved));
    rc_object_t *s = saved;
    saved = (rc_object_t *)1;
    rc_decref(s); /* garbage again */
    CHECK_EQ(rc_gc_collect(2), 2);
    CHECK_EQ(fin_calls, 2); /* not called again */
    CHECK_EQ(rc_class_instances(Fin), 0);
}

/* Weak references to garbage. */
static char order[64];
static rc_object_t *probe; /* a weak reference the callbacks look through */
static void cb(rc_object_t *wr, void *data)
{
    strcat(order, (const char *)data);
    CHECK(!rc_weakref_alive(wr));
    CHECK(rc_weakref_get(wr) == NULL);
    if (probe != NULL)
        CHECK(!rc_weakref_alive(probe)); /* every weakref to garbage is cleared first */
}

static void test_weakrefs(void)
{
    /* By count. */
    rc_object_t *o = rc_instance_new(Node);
    rc_object_t *w1 = rc_weakref_new(o, cb, "1"), *w2 = rc_weakref_new(o, cb, "2");
    rc_object_t *w3 = rc_weakref_new(o, NULL, NULL);
    CHECK_EQ(rc_weakref_count(o), 3);
    CHECK_EQ(rc_getrefcount(o), 2);
    order[0] = '\0';
    rc_decref(o);
    CHECK(strcmp(order, "21") == 0); /* newest first */
    CHECK(!rc_weakref_alive(w3));
    rc_decref(w1), rc_decref(w2), rc_decref(w3);

    /* Not weakly referenceable. */
    rc_object_t *l = rc_list_new();
    CHECK(rc_weakref_new(l, NULL, NULL) == NULL);
    rc_decref(l);

    /* Garbage: a <-> b; live weakrefs to both, with callbacks; b's callback checks that the
     * weakref to a is already cleared. */
    rc_object_t *a = rc_instance_new(Node), *b = rc_instance_new(Node);
    rc_setattr(a, "other", b);
    rc_setattr(b, "other", a);
    rc_object_t *wa = rc_weakref_new(a, cb, "a"), *wb = rc_weakref_new(b, cb, "b");
    probe = wa;
    rc_decref(a), rc_decref(b);
    order[0] = '\0';
    CHECK_EQ(rc_gc_collect(2), 2);
    CHECK(strcmp(order, "ab") == 0);
    CHECK(!rc_weakref_alive(wa) && !rc_weakref_alive(wb));
    probe = NULL;
    rc_decref(wa), rc_decref(wb);

    /* A weakref that is itself garbage does not call back: c <-> d, and d holds a weakref
     * to c with a callback. */
    rc_object_t *c = rc_instance_new(Node), *d = rc_instance_new(Node);
    rc_setattr(c, "other", d);
    rc_object_t *wc = rc_weakref_new(c, cb, "c");
    rc_setattr(d, "other", c);
    rc_setattr(d, "me", wc); /* d holds the weakref */
    rc_decref(wc), rc_decref(c), rc_decref(d);
    order[0] = '\0';
    CHECK_EQ(rc_gc_collect(2), 3); /* c, d and the weakref */
    CHECK(strcmp(order, "") == 0);
    CHECK_EQ(rc_class_instances(Node), 0);
}

/* Legacy finalizers (tp_del): uncollectable, into the garbage list with what they reach. */
static void legacy_del(rc_object_t *self)
{
    (void)self;
}

static void test_garbage_list_and_saveall(void)
{
    rc_gc_collect(2);
    rc_object_t *g = rc_gc_garbage();
    rc_object_t *x = rc_instance_new(Legacy), *y = rc_instance_new(Node);
    rc_setattr(x, "other", y);
    rc_setattr(y, "other", x);
    rc_decref(x), rc_decref(y);
    CHECK_EQ(rc_gc_collect(2), 2);
    CHECK_EQ(rc_list_size(g), 2);
    CHECK(strcmp(rc_type_name(rc_list_get(g, 0)), "Legacy") == 0);
    rc_gc_gen_stats_t st[3];
    rc_gc_get_stats(st);
    CHECK_EQ(st[2].uncollectable, 2);
    /* Break the cycle by hand, then empty the list. */
    rc_setattr(rc_list_get(g, 0), "other", NULL);
    rc_list_clear(g);
    CHECK_EQ(rc_class_instances(Legacy), 0);
    CHECK_EQ(rc_class_instances(Node), 0);

    rc_gc_set_debug(RC_GC_DEBUG_SAVEALL);
    CHECK_EQ(rc_gc_get_debug(), RC_GC_DEBUG_SAVEALL);
    make_pair(Node);
    CHECK_EQ(rc_gc_collect(2), 2);
    CHECK_EQ(rc_list_size(g), 2);
    rc_gc_set_debug(0);
    rc_list_clear(g);
    CHECK_EQ(rc_gc_collect(2), 2);
    CHECK_EQ(rc_class_instances(Node), 0);
}

static void test_freeze(void)
{
    rc_gc_collect(2);
    make_pair(Node);
    rc_gc_freeze();
    CHECK_EQ(rc_gc_get_freeze_count(), 2 + 1 /* the garbage list */);
    CHECK_EQ(rc_gc_collect(2), 0);
    CHECK_EQ(rc_class_instances(Node), 2);
    rc_gc_unfreeze();
    CHECK_EQ(rc_gc_get_freeze_count(), 0);
    CHECK_EQ(rc_gc_collect(2), 2);
}

/* Membership in a collection comes from the generation tag in the header: references from
 * frozen and older objects are external, and tags follow promotion, freeze and unfreeze. */
static void test_generation_tags(void)
{
    rc_gc_collect(2);
    rc_object_t *frozen = rc_list_new();
    rc_gc_freeze();
    /* A young object held only by a frozen one survives young and full collections. */
    rc_object_t *y = rc_instance_new(Node);
    rc_list_append(frozen, y);
    rc_decref(y);
    CHECK_EQ(rc_gc_collect(0), 0);
    CHECK_EQ(rc_gc_collect(2), 0);
    CHECK_EQ(rc_class_instances(Node), 1);
    /* A young cycle that also points at the frozen list: the list's count is untouched. */
    make_pair(Node);
    CHECK_EQ(rc_gc_collect(0), 2);
    CHECK_EQ(rc_getrefcount(frozen), 2);
    /* After unfreeze the list is in the oldest generation: a generation-1 collection must
     * not treat it (or what it holds) as a candidate; a full one sees the cycle. */
    rc_gc_unfreeze();
    rc_list_append(frozen, frozen); /* a self-cycle, now garbage once the C reference goes */
    rc_decref(frozen);
    CHECK_EQ(rc_gc_collect(1), 0);
    CHECK_EQ(rc_class_instances(Node), 1);
    CHECK_EQ(rc_gc_collect(2), 2); /* the list and y, which only it holds */
    CHECK_EQ(rc_class_instances(Node), 0);
    /* Survivors of a young collection are promoted: the next generation-0 collection no
     * longer sees a cycle that went to generation 1 while held. */
    rc_object_t *hold = rc_instance_new(Node), *other = rc_instance_new(Node);
    rc_setattr(hold, "other", other);
    rc_setattr(other, "other", hold);
    rc_decref(other);
    CHECK_EQ(rc_gc_collect(0), 0);
    rc_decref(hold);
    CHECK_EQ(rc_gc_collect(0), 0);
    CHECK_EQ(rc_gc_collect(1), 2);
}

int main(void)
{
    static const char *const slots[] = {"other", "me", "__weakref__", NULL};
    Node = rc_class_new("Node", slots, NULL);
    Fin = rc_class_new("Fin", slots, fin_del);
    Legacy = rc_class_new("Legacy", slots, NULL);
    Legacy->legacy_del = legacy_del;
    RUN(test_collect_results);
    RUN(test_thresholds_and_generations);
    RUN(test_finalizers_and_resurrection);
    RUN(test_weakrefs);
    RUN(test_garbage_list_and_saveall);
    RUN(test_freeze);
    RUN(test_generation_tags);
    rc_list_clear(rc_gc_garbage());
    CHECK_EQ(rc_class_free(Node), 0);
    CHECK_EQ(rc_class_free(Fin), 0);
    CHECK_EQ(rc_class_free(Legacy), 0);
    return check_result("rcrt_test_gc");
}
