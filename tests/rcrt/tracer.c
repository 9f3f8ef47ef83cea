/*
 * tests/rcrt/tracer.c - a tiny tracer for the hook tests: a shared library, preloaded with
 * LD_PRELOAD, that defines every lg_rt_* hook of leakgraph/runtime_hooks.h, counts the events,
 * keeps a table of live objects (address -> type, last count) and checks their order (a free
 * must follow a decref to zero of a known object). The test program finds the counters and
 * the dump function with dlsym, so it also runs (and checks that nothing is traced) without
 * the tracer. Fixed-size tables, no allocation: hooks must not call malloc needlessly.
 */
#include <stdio.h>
#include <string.h>

#include "leakgraph/runtime_hooks.h"

struct lg_test_counts {
    long registers, abi_version;
    long allocs, frees, increfs, decrefs, gc_starts, gc_ends;
    long last_gc_generation, last_collected, last_uncollectable;
    long errors; /* events out of order */
};

__attribute__((visibility("default"))) struct lg_test_counts lg_test_tracer_counts;
static const struct lg_rt_ops *registered;

#define TABLE 4096
static struct live {
    const void *obj;
    const char *type;
    intptr_t last;
} table[TABLE];

static struct live *find(const void *obj, int insert)
{
    size_t h = ((uintptr_t)obj >> 4) % TABLE;
    for (size_t n = 0; n < TABLE; n++, h = (h + 1) % TABLE) {
        if (table[h].obj == obj)
            return &table[h];
        if (table[h].obj == NULL)
            return insert ? &table[h] : NULL;
    }
    return NULL;
}

int lg_rt_register(const struct lg_rt_ops *ops)
{
    lg_test_tracer_counts.registers++;
    lg_test_tracer_counts.abi_version = ops->abi_version;
    if (ops->abi_version != LG_RT_ABI_VERSION)
        return -71; /* EPROTO */
    registered = ops;
    return 0;
}

void lg_rt_obj_alloc(const void *obj, const char *type_name, size_t size)
{
    (void)size;
    lg_test_tracer_counts.allocs++;
    struct live *l = find(obj, 1);
    if (l == NULL || l->obj != NULL) {
        lg_test_tracer_counts.errors++;
        return;
    }
    *l = (struct live){obj, type_name, 1};
}

void lg_rt_obj_free(const void *obj, const char *type_name, size_t size)
{
    (void)size, (void)type_name;
    lg_test_tracer_counts.frees++;
    struct live *l = find(obj, 0);
    if (l == NULL || l->last != 0) {
        lg_test_tracer_counts.errors++;
        return;
    }
    /* Delete with backward shift so later probes still find their entries. */
    size_t i = (size_t)(l - table);
    table[i].obj = NULL;
    for (size_t j = (i + 1) % TABLE; table[j].obj != NULL; j = (j + 1) % TABLE) {
        struct live e = table[j];
        table[j].obj = NULL;
        *find(e.obj, 1) = e;
    }
}

void lg_rt_incref(const void *obj, intptr_t refcount)
{
    lg_test_tracer_counts.increfs++;
    struct live *l = find(obj, 0);
    if (l)
        l->last = refcount;
}

void lg_rt_decref(const void *obj, intptr_t refcount)
{
    lg_test_tracer_counts.decrefs++;
    struct live *l = find(obj, 0);
    if (l)
        l->last = refcount;
}

void lg_rt_gc_start(int generation)
{
    lg_test_tracer_counts.gc_starts++;
    lg_test_tracer_counts.last_gc_generation = generation;
}

void lg_rt_gc_end(int generation, size_t collected, size_t uncollectable, uint64_t duration_ns)
{
    (void)duration_ns;
    lg_test_tracer_counts.gc_ends++;
    if (generation != lg_test_tracer_counts.last_gc_generation)
        lg_test_tracer_counts.errors++;
    lg_test_tracer_counts.last_collected = (long)collected;
    lg_test_tracer_counts.last_uncollectable = (long)uncollectable;
}

/* ---- the walk, as the shim will do it at a snapshot: one line per object,
 *      "<type> size=<n> rc=<n>" then " <label or [index]>-><referent type>" per reference. */
struct dump {
    char *buf;
    size_t len, used;
};

static void put(struct dump *d, const char *s)
{
    size_t n = strlen(s);
    if (d->used + n + 1 <= d->len) {
        memcpy(d->buf + d->used, s, n + 1);
        d->used += n;
    }
}

static int on_object(void *arg, const void *obj, const char *type_name, size_t size,
                     intptr_t refcount)
{
    char line[128];
    struct dump *d = arg;
    (void)obj;
    if (d->used)
        put(d, "\n");
    snprintf(line, sizeof line, "%s size=%zu rc=%ld", type_name, size, (long)refcount);
    put(d, line);
    return 0;
}

static int on_ref(void *arg, const void *from, const void *to, const char *label, intptr_t index)
{
    char line[128];
    (void)from;
    struct live *l = find(to, 0);
    if (label)
        snprintf(line, sizeof line, " %s->%s", label, l ? l->type : "?");
    else
        snprintf(line, sizeof line, " [%ld]->%s", (long)index, l ? l->type : "?");
    put(arg, line);
    return 0;
}

__attribute__((visibility("default"))) int lg_test_tracer_dump(char *buf, size_t len)
{
    if (registered == NULL)
        return -1;
    struct dump d = {buf, len, 0};
    buf[0] = '\0';
    struct lg_rt_visitor v = {&d, on_object, on_ref};
    return registered->walk(registered->ctx, &v);
}
