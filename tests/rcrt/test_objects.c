/*
 * tests/rcrt/test_objects.c - unit tests of objects and the built-in types: counts,
 * getrefcount and sizeof, the small-int cache, interning, tuple, list and dict operations,
 * instances with slots and dict attributes, a user-defined type, finalizers and resurrection
 * at count zero, and the release of very long chains without overflowing the C stack.
 */
#include <string.h>

#include "harness.h"
#include "rcrt/rcrt.h"

static void test_ints(void)
{
    rc_object_t *a = rc_int_from(256), *b = rc_int_from(256);
    CHECK(a == b);
    rc_object_t *c = rc_int_from(257), *d = rc_int_from(257);
    CHECK(c != d);
    CHECK(rc_equal(c, d));
    CHECK_EQ(rc_hash(c), rc_hash(d));
    CHECK_EQ(rc_int_value(c), 257);
    rc_object_t *m = rc_int_from(-5), *m6 = rc_int_from(-6), *m6b = rc_int_from(-6);
    CHECK(m6 != m6b);
    CHECK_EQ(rc_getrefcount(c), 2);
    CHECK_EQ(rc_sizeof(c), 24);
    CHECK(strcmp(rc_type_name(c), "int") == 0);
    rc_decref(a), rc_decref(b), rc_decref(c), rc_decref(d), rc_decref(m), rc_decref(m6),
        rc_decref(m6b);
}

static void test_strings(void)
{
    rc_object_t *a = rc_str_from("attribute"), *b = rc_str_from("attribute");
    CHECK(a != b);
    CHECK(rc_equal(a, b));
    CHECK_EQ(rc_str_len(a), 9);
    CHECK_EQ(rc_sizeof(a), 40 + 10);
    CHECK_EQ(rc_str_intern_count(), 0);
    rc_object_t *ia = rc_str_intern(a); /* a becomes the interned one */
    CHECK(ia == a);
    rc_object_t *ib = rc_str_intern(b); /* b is dropped, the interned a comes back */
    CHECK(ib == a);
    CHECK_EQ(rc_getrefcount(a), 3);
    CHECK(rc_str_is_interned(a));
    CHECK_EQ(rc_str_intern_count(), 1);
    rc_object_t *ic = rc_str_interned("attribute");
    CHECK(ic == a);
    rc_decref(ia), rc_decref(ib), rc_decref(ic);
    CHECK_EQ(rc_str_intern_count(), 0); /* mortal: the table does not keep it */
    /* Many interned strings (grows the table) */
    rc_object_t *keep[500];
    char buf[32];
    for (int i = 0; i < 500; i++) {
        snprintf(buf, sizeof buf, "name%d", i);
        keep[i] = rc_str_interned(buf);
    }
    CHECK_EQ(rc_str_intern_count(), 500);
    rc_object_t *again = rc_str_interned("name321");
    CHECK(again == keep[321]);
    rc_decref(again);
    for (int i = 0; i < 500; i++)
        rc_decref(keep[i]);
    CHECK_EQ(rc_str_intern_count(), 0);
}

static void test_tuple_and_list(void)
{
    rc_object_t *one = rc_int_from(1000);
    rc_object_t *t = rc_tuple_pack(3, one, one, one);
    CHECK_EQ(rc_getrefcount(one), 5);
    CHECK_EQ(rc_tuple_size(t), 3);
    CHECK(rc_tuple_get(t, 2) == one);
    CHECK_EQ(rc_sizeof(t), 24 + 24 + 3 * 8);
    CHECK(rc_gc_is_tracked(t));
    rc_decref(t);
    CHECK_EQ(rc_getrefcount(one), 2);

    rc_object_t *l = rc_list_new();
    for (int i = 0; i < 100; i++) {
        rc_object_t *v = rc_int_from(i);
        CHECK_EQ(rc_list_append(l, v), 0);
        rc_decref(v);
    }
    CHECK_EQ(rc_list_size(l), 100);
    CHECK_EQ(rc_int_value(rc_list_get(l, 57)), 57);
    CHECK(rc_list_get(l, 100) == NULL);
    CHECK_EQ(rc_list_set(l, 3, one), 0);
    CHECK_EQ(rc_getrefcount(one), 3);
    CHECK_EQ(rc_list_del(l, 3), 0);
    CHECK_EQ(rc_getrefcount(one), 2);
    CHECK_EQ(rc_int_value(rc_list_get(l, 3)), 4);
    CHECK_EQ(rc_list_size(l), 99);
    rc_object_t *last = rc_list_pop(l);
    CHECK_EQ(rc_int_value(last), 99);
    rc_decref(last);
    CHECK_EQ(rc_list_del(l, 500), -22);
    rc_list_clear(l);
    CHECK_EQ(rc_list_size(l), 0);
    CHECK_EQ(rc_sizeof(l), 64);
    rc_decref(l);
    rc_decref(one);
}

static void test_dict(void)
{
    rc_object_t *d = rc_dict_new();
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        rc_object_t *k = rc_int_from(i * 7), *v = rc_int_from(i);
        CHECK_EQ(rc_dict_set(d, k, v), 0);
        rc_decref(k), rc_decref(v);
    }
    CHECK_EQ(rc_dict_size(d), N);
    int ok = 1;
    for (int i = 0; i < N; i++) {
        rc_object_t *k = rc_int_from(i * 7);
        rc_object_t *v = rc_dict_get(d, k);
        ok &= v != NULL && rc_int_value(v) == i;
        if (i % 2)
            CHECK_EQ(rc_dict_del(d, k), 0);
        rc_decref(k);
    }
    CHECK(ok);
    CHECK_EQ(rc_dict_size(d), N / 2);
    /* Insertion order survives deletions and the compaction of a resize. */
    for (int i = 0; i < N; i++) {
        rc_object_t *k = rc_int_from(-1 - i), *v = rc_int_from(i);
        rc_dict_set(d, k, v);
        rc_decref(k), rc_decref(v);
    }
    size_t pos = 0;
    rc_object_t *k, *v;
    int in_order = 1, idx = 0;
    while (rc_dict_next(d, &pos, &k, &v)) {
        int64_t expect = idx < N / 2 ? idx * 2 * 7 : -1 - (idx - N / 2);
        in_order &= rc_int_value(k) == expect;
        idx++;
    }
    CHECK(in_order);
    CHECK_EQ(idx, N / 2 + N);
    /* Replacing a value keeps the size; str keys compare by content. */
    rc_object_t *val = rc_str_from("value");
    CHECK_EQ(rc_dict_set_str(d, "key", val), 0);
    CHECK_EQ(rc_dict_set_str(d, "key", val), 0);
    CHECK_EQ(rc_dict_size(d), N / 2 + N + 1);
    CHECK(rc_dict_get_str(d, "key") == val);
    CHECK_EQ(rc_getrefcount(val), 3);
    rc_object_t *key = rc_str_from("key");
    CHECK_EQ(rc_dict_del(d, key), 0);
    CHECK_EQ(rc_dict_del(d, key), -2);
    CHECK_EQ(rc_getrefcount(val), 2);
    rc_decref(key);
    rc_decref(val);
    rc_dict_clear(d);
    CHECK_EQ(rc_dict_size(d), 0);
    CHECK_EQ(rc_sizeof(d), 88);
    rc_decref(d);
}

static void test_instances(void)
{
    static const char *const slots[] = {"x", "y", "__dict__", NULL};
    rc_type_t *Point = rc_class_new("Point", slots, NULL);
    CHECK(strcmp(Point->name, "Point") == 0);
    rc_object_t *p = rc_instance_new(Point);
    CHECK(rc_is_instance(p));
    CHECK(strcmp(rc_type_name(p), "Point") == 0);
    rc_object_t *one = rc_int_from(1), *label = rc_str_from("origin");
    CHECK_EQ(rc_setattr(p, "x", one), 0);
    CHECK_EQ(rc_setattr(p, "label", label), 0); /* not a slot: goes to the dict */
    CHECK(rc_getattr(p, "x") == one);
    CHECK(rc_getattr(p, "label") == label);
    CHECK(rc_getattr(p, "y") == NULL);
    CHECK(rc_getattr(p, "z") == NULL);
    CHECK_EQ(rc_getrefcount(label), 3);
    CHECK_EQ(rc_setattr(p, "label", NULL), 0);
    CHECK_EQ(rc_getrefcount(label), 2);
    CHECK_EQ(rc_setattr(p, "label", NULL), -2);
    CHECK_EQ(rc_setattr(p, "y", NULL), -2);
    CHECK_EQ(rc_sizeof(p), 24 + 16 + 2 * 8 + 8); /* gc header, header, x, y, __dict__ */
    CHECK_EQ(rc_class_instances(Point), 1);
    CHECK_EQ(rc_class_free(Point), -16);
    rc_decref(p);
    CHECK_EQ(rc_class_instances(Point), 0);
    rc_decref(one), rc_decref(label);
    CHECK_EQ(rc_class_free(Point), 0);

    /* Slots only (no "__dict__", no "__weakref__"): other attributes are refused, as with
     * Python's AttributeError, and weak references too. Without slots: both exist. */
    static const char *const only_a[] = {"a", NULL};
    rc_type_t *Slotted = rc_class_new("Slotted", only_a, NULL);
    rc_type_t *Plain = rc_class_new("Plain", NULL, NULL);
    rc_object_t *so = rc_instance_new(Slotted), *po = rc_instance_new(Plain);
    CHECK_EQ(rc_sizeof(so), 24 + 16 + 8);
    CHECK_EQ(rc_sizeof(po), 24 + 16 + 8 + 8);
    CHECK_EQ(rc_setattr(so, "b", so), -2);
    CHECK(rc_weakref_new(so, NULL, NULL) == NULL);
    CHECK_EQ(rc_setattr(po, "b", so), 0);
    rc_object_t *w = rc_weakref_new(po, NULL, NULL);
    CHECK(w != NULL && rc_weakref_alive(w));
    rc_decref(po);
    CHECK(!rc_weakref_alive(w));
    rc_decref(w);
    rc_decref(so);
    CHECK_EQ(rc_class_free(Slotted), 0);
    CHECK_EQ(rc_class_free(Plain), 0);
}

/* A user type written against the public API only: a pair with labelled references. */
typedef struct pair {
    rc_object_t ob;
    rc_object_t *first, *second;
} pair_t;

static int pair_traverse(rc_object_t *self, rc_visit_fn visit, void *arg)
{
    pair_t *p = (pair_t *)self;
    int r = p->first ? visit(p->first, "first", -1, arg) : 0;
    if (r == 0 && p->second)
        r = visit(p->second, "second", -1, arg);
    return r;
}

static void pair_clear(rc_object_t *self)
{
    pair_t *p = (pair_t *)self;
    rc_setref(&p->first, NULL);
    rc_setref(&p->second, NULL);
}

static const rc_type_t pair_type = {
    .name = "pair",
    .basicsize = sizeof(pair_t),
    .flags = RC_TYPE_GC,
    .traverse = pair_traverse,
    .clear = pair_clear,
};

struct seen_labels {
    char text[64];
};

static int record_label(rc_object_t *ref, const char *label, intptr_t index, void *arg)
{
    struct seen_labels *s = arg;
    (void)ref, (void)index;
    strcat(s->text, label);
    strcat(s->text, ",");
    return 0;
}

static void test_user_type(void)
{
    rc_object_t *p = rc_object_new(&pair_type, 0);
    rc_object_t *a = rc_int_from(5000), *b = rc_str_from("b");
    rc_incref(a), ((pair_t *)p)->first = a;
    rc_incref(b), ((pair_t *)p)->second = b;
    struct seen_labels s = {""};
    pair_type.traverse(p, record_label, &s);
    CHECK(strcmp(s.text, "first,second,") == 0);
    rc_decref(a), rc_decref(b);
    CHECK_EQ(rc_getrefcount(a), 2);
    rc_decref(p); /* default dealloc: clear + free */
}

/* Finalizer at count zero: runs once, may resurrect. */
static rc_object_t *resurrected;
static int del_calls;
static void del_resurrect(rc_object_t *self)
{
    del_calls++;
    if (resurrected == NULL) {
        rc_incref(self);
        resurrected = self;
    }
}

static void test_finalizer_resurrection(void)
{
    rc_type_t *Phoenix = rc_class_new("Phoenix", NULL, del_resurrect);
    rc_object_t *o = rc_instance_new(Phoenix);
    rc_decref(o);
    CHECK_EQ(del_calls, 1);
    CHECK(resurrected == o);
    CHECK_EQ(rc_class_instances(Phoenix), 1);
    CHECK_EQ(rc_getrefcount(o), 2);
    CHECK(rc_gc_is_finalized(o));
    CHECK(rc_gc_is_tracked(o));
    rc_object_t *r = resurrected;
    resurrected = (rc_object_t *)1; /* do not resurrect again (it would not be called anyway) */
    rc_decref(r);
    CHECK_EQ(del_calls, 1); /* at most once */
    CHECK_EQ(rc_class_instances(Phoenix), 0);
    CHECK_EQ(rc_class_free(Phoenix), 0);
}

/* A chain of a million nodes (each holding the next) and a million nested lists are released
 * by one decref each without overflowing the C stack. */
static void test_long_chains(void)
{
    static const char *const slots[] = {"next", NULL};
    rc_type_t *Link = rc_class_new("Link", slots, NULL);
    rc_gc_disable();
    rc_object_t *head = rc_instance_new(Link);
    for (int i = 0; i < 1000000; i++) {
        rc_object_t *n = rc_instance_new(Link);
        rc_setattr(n, "next", head);
        rc_decref(head);
        head = n;
    }
    CHECK_EQ(rc_class_instances(Link), 1000001);
    rc_decref(head);
    CHECK_EQ(rc_class_instances(Link), 0);
    rc_object_t *outer = rc_list_new();
    for (int i = 0; i < 1000000; i++) {
        rc_object_t *l = rc_list_new();
        rc_list_append(l, outer);
        rc_decref(outer);
        outer = l;
    }
    CHECK_EQ(rc_gc_tracked_count(-1), 1000001);
    rc_decref(outer);
    CHECK_EQ(rc_gc_tracked_count(-1), 0);
    rc_gc_enable();
    CHECK_EQ(rc_class_free(Link), 0);
}

int main(void)
{
    RUN(test_ints);
    RUN(test_strings);
    RUN(test_tuple_and_list);
    RUN(test_dict);
    RUN(test_instances);
    RUN(test_user_type);
    RUN(test_finalizer_resurrection);
    RUN(test_long_chains);
    return check_result("rcrt_test_objects");
}
