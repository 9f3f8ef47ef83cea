/*
 * demo/tour.c - a tour of rcrt: the seeds of the runtime, each a small Python program (quoted
 * above its C twin) whose output the C version prints and checks. The tour asserts its own
 * results: every printed line is compared with what the Python original prints (or, where
 * rcrt's layout differs, with rcrt's documented value), and the program exits with status 1
 * on the first mismatch. It owns nothing but its own classes and objects, and frees all of
 * them before exit (AddressSanitizer's leak check runs on it in CI).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcrt/rcrt.h"

static int failures;

/* Print a line and check it against the expected text. */
static void say(const char *expected, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("%s\n", line);
    if (strcmp(line, expected) != 0) {
        fprintf(stderr, "tour: MISMATCH: expected \"%s\", got \"%s\"\n", expected, line);
        failures++;
    }
}

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "tour: FAILED: %s\n", what);
        failures++;
    }
}

/* What finalizers and callbacks print goes through this log too, so the tour can check when
 * it was printed. */
static char log_buf[1024];
static void log_line(const char *fmt, ...)
{
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("%s\n", line);
    strncat(log_buf, line, sizeof log_buf - strlen(log_buf) - 2);
    strcat(log_buf, ";");
}
static void expect_log(const char *expected)
{
    if (strcmp(log_buf, expected) != 0) {
        fprintf(stderr, "tour: MISMATCH in printed messages: expected \"%s\", got \"%s\"\n",
                expected, log_buf);
        failures++;
    }
    log_buf[0] = '\0';
}

static void section(const char *title)
{
    printf("\n== %s\n", title);
}

/* class Obj:  def __del__(self): print(self.name, "destroyed") */
static void obj_del(rc_object_t *self)
{
    rc_object_t *name = rc_getattr(self, "name");
    log_line("%s destroyed", name ? rc_str_data(name) : "?");
}

static rc_object_t *named(rc_type_t *cls, const char *name)
{
    rc_object_t *o = rc_instance_new(cls);
    rc_object_t *s = rc_str_from(name);
    rc_setattr(o, "name", s);
    rc_decref(s);
    return o;
}

static void on_dead(rc_object_t *wr, void *data)
{
    (void)wr;
    log_line("callback: %s is gone", (const char *)data);
}

int main(void)
{
    static const char *const obj_slots[] = {"name", "other", "__weakref__", NULL};
    rc_type_t *Obj = rc_class_new("Obj", obj_slots, obj_del);
    static const char *const node_slots[] = {"other", "me", NULL};
    rc_type_t *Node = rc_class_new("Node", node_slots, NULL);
    rc_gc_collect(2);

    section("a list referenced by three names");
    /* a = []; b = a; c = a
     * print(sys.getrefcount(a))   # 4
     * del b; print(sys.getrefcount(a))   # 3
     * del c; print(sys.getrefcount(a))   # 2 */
    rc_object_t *a = rc_list_new();
    rc_object_t *b = a, *c = a;
    rc_incref(b);
    rc_incref(c);
    say("4", "%ld", (long)rc_getrefcount(a));
    rc_decref(b);
    say("3", "%ld", (long)rc_getrefcount(a));
    rc_decref(c);
    say("2", "%ld", (long)rc_getrefcount(a));
    rc_decref(a);

    section("a reassigned name frees the old object at once");
    /* x = Obj("first"); x = Obj("second")   # prints "first destroyed" right away */
    rc_object_t *x = named(Obj, "first");
    rc_setref(&x, named(Obj, "second"));
    expect_log("first destroyed;");
    say("1", "%zu", rc_class_instances(Obj));
    rc_decref(x);
    expect_log("second destroyed;");

    section("two objects referencing each other");
    /* p = Node(); q = Node(); p.other = q; q.other = p; del p, q
     * print(gc.collect())   # 2 */
    rc_object_t *p = rc_instance_new(Node), *q = rc_instance_new(Node);
    rc_setattr(p, "other", q);
    rc_setattr(q, "other", p);
    rc_decref(p);
    rc_decref(q);
    say("2", "%zu", rc_class_instances(Node)); /* both survive the deletion of their names */
    say("2", "%ld", (long)rc_gc_collect(2));
    say("0", "%zu", rc_class_instances(Node));

    section("finalizers in a cycle run at the collection");
    /* a = Obj("a"); b = Obj("b"); a.other = b; b.other = a; del a, b   # prints nothing
     * print(gc.collect())   # a destroyed / b destroyed / 2 */
    a = named(Obj, "a");
    b = named(Obj, "b");
    rc_setattr(a, "other", b);
    rc_setattr(b, "other", a);
    rc_decref(a);
    rc_decref(b);
    expect_log("");
    say("2", "%ld", (long)rc_gc_collect(2));
    expect_log("a destroyed;b destroyed;");

    section("an object that references itself leaks until collected");
    /* s = Node(); s.me = s; del s; print(gc.collect())   # 1 */
    rc_object_t *s = rc_instance_new(Node);
    rc_setattr(s, "me", s);
    rc_decref(s);
    say("1", "%zu", rc_class_instances(Node));
    say("1", "%ld", (long)rc_gc_collect(2));
    say("0", "%zu", rc_class_instances(Node));

    section("a weak reference does not keep its target alive");
    /* t = Obj("t"); r = weakref.ref(t, lambda r: print("callback: t is gone"))
     * print(r() is t)   # True
     * del t             # t destroyed / callback: t is gone
     * print(r())        # None */
    rc_object_t *t = named(Obj, "t");
    rc_object_t *r = rc_weakref_new(t, on_dead, "t");
    rc_object_t *got = rc_weakref_get(r);
    say("True", "%s", got == t ? "True" : "False");
    rc_decref(got);
    say("2", "%ld", (long)rc_getrefcount(t)); /* the weak reference did not count */
    rc_decref(t);
    expect_log("t destroyed;callback: t is gone;");
    say("None", "%s", rc_weakref_get(r) == NULL ? "None" : "object");
    rc_decref(r);

    section("get_count grows with allocations");
    /* gc.collect(); print(gc.get_count())   # (0, 0, 0)
     * l = [[] for i in range(10)]; print(gc.get_count())   # (11, 0, 0) in rcrt */
    intptr_t cnt[3];
    rc_gc_collect(2);
    rc_gc_get_count(cnt);
    say("(0, 0, 0)", "(%ld, %ld, %ld)", (long)cnt[0], (long)cnt[1], (long)cnt[2]);
    rc_object_t *l = rc_list_new();
    for (int i = 0; i < 10; i++) {
        rc_object_t *e = rc_list_new();
        rc_list_append(l, e);
        rc_decref(e);
    }
    rc_gc_get_count(cnt);
    say("(11, 0, 0)", "(%ld, %ld, %ld)", (long)cnt[0], (long)cnt[1], (long)cnt[2]);
    rc_decref(l);
    rc_gc_get_count(cnt);
    say("(0, 0, 0)", "(%ld, %ld, %ld)", (long)cnt[0], (long)cnt[1], (long)cnt[2]);

    section("disabling the collector keeps cycles alive");
    /* gc.disable()
     * for i in range(1000): n = Node(); n.me = n; del n
     * print(gc.isenabled(), <live Nodes>)   # False 1000
     * gc.enable(); print(gc.collect())     # 1000 */
    rc_gc_disable();
    for (int i = 0; i < 1000; i++) {
        rc_object_t *n = rc_instance_new(Node);
        rc_setattr(n, "me", n);
        rc_decref(n);
    }
    say("False 1000", "%s %zu", rc_gc_isenabled() ? "True" : "False", rc_class_instances(Node));
    rc_gc_enable();
    say("1000", "%ld", (long)rc_gc_collect(2));
    say("0", "%zu", rc_class_instances(Node));

    section("save-all puts the garbage in gc.garbage");
    /* gc.set_debug(gc.DEBUG_SAVEALL)
     * p = Node(); q = Node(); p.other = q; q.other = p; del p, q
     * print(gc.collect(), len(gc.garbage))   # 2 2 (Python: 2 2 with __slots__) */
    static const char *const pair_slots[] = {"other", NULL};
    rc_type_t *Pair = rc_class_new("Pair", pair_slots, NULL);
    rc_gc_set_debug(RC_GC_DEBUG_SAVEALL);
    p = rc_instance_new(Pair);
    q = rc_instance_new(Pair);
    rc_setattr(p, "other", q);
    rc_setattr(q, "other", p);
    rc_decref(p);
    rc_decref(q);
    long found = (long)rc_gc_collect(2);
    say("2 2", "%ld %zu", found, rc_list_size(rc_gc_garbage()));
    say("Pair Pair", "%s %s", rc_type_name(rc_list_get(rc_gc_garbage(), 0)),
        rc_type_name(rc_list_get(rc_gc_garbage(), 1)));
    rc_gc_set_debug(0);
    /* del gc.garbage[:]; gc.collect()   # 2: now they are really freed */
    rc_list_clear(rc_gc_garbage());
    say("2", "%ld", (long)rc_gc_collect(2));
    say("0", "%zu", rc_class_instances(Pair));

    section("small ints and interned strings are shared");
    /* print(int("7") is int("7"), int("1000") is int("1000"))   # True False
     * print(sys.intern("hello") is sys.intern("hel" + "lo"))   # True */
    rc_object_t *i1 = rc_int_from(7), *i2 = rc_int_from(7);
    rc_object_t *j1 = rc_int_from(1000), *j2 = rc_int_from(1000);
    say("True False", "%s %s", i1 == i2 ? "True" : "False", j1 == j2 ? "True" : "False");
    rc_decref(i1);
    rc_decref(i2);
    rc_decref(j1);
    rc_decref(j2);
    rc_object_t *h1 = rc_str_interned("hello");
    rc_object_t *h2 = rc_str_intern(rc_str_from("hello"));
    rc_object_t *h3 = rc_str_from("hello");
    say("True False", "%s %s", h1 == h2 ? "True" : "False", h1 == h3 ? "True" : "False");
    rc_decref(h1);
    rc_decref(h2);
    rc_decref(h3);

    section("sizes of objects");
    /* print(sys.getsizeof(1), sys.getsizeof("abc"), sys.getsizeof(()), sys.getsizeof((1, 2)),
     *       sys.getsizeof([]), sys.getsizeof({}))
     * CPython 3.11: 28 52 40 56 56 64. rcrt:     24 44 48 64 64 88 */
    rc_object_t *o_int = rc_int_from(1), *o_str = rc_str_from("abc"), *o_t0 = rc_tuple_new(0);
    rc_object_t *o_t2 = rc_tuple_pack(2, o_int, o_int), *o_list = rc_list_new();
    rc_object_t *o_dict = rc_dict_new();
    say("24 44 48 64 64 88", "%zu %zu %zu %zu %zu %zu", rc_sizeof(o_int), rc_sizeof(o_str),
        rc_sizeof(o_t0), rc_sizeof(o_t2), rc_sizeof(o_list), rc_sizeof(o_dict));
    rc_list_append(o_list, o_int);
    say("96", "%zu", rc_sizeof(o_list)); /* header + 4 preallocated item slots */
    rc_decref(o_int);
    rc_decref(o_str);
    rc_decref(o_t0);
    rc_decref(o_t2);
    rc_decref(o_list);
    rc_decref(o_dict);

    check(rc_class_free(Obj) == 0, "class Obj freed");
    check(rc_class_free(Node) == 0, "class Node freed");
    check(rc_class_free(Pair) == 0, "class Pair freed");
    check(rc_str_intern_count() == 0, "no interned string left");
    if (failures) {
        fprintf(stderr, "tour: %d failure(s)\n", failures);
        return 1;
    }
    printf("\ntour: all seeds behave like their Python originals\n");
    return 0;
}
