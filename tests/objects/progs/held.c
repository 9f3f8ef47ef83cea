/*
 * tests/objects/progs/held.c - runtime objects whose references are held from outside the
 * runtime's object graph, and one that nobody holds. Config is held by a global variable (a
 * root), Cached by a malloc'd block that a global points to; both are alive at exit on
 * purpose and are not leaks: the leak check's scan of their holders explains their counts.
 * Orphan got one reference too many (an rc_incref nobody gives back): the one refcount leak,
 * 1 unexplained reference. The check at exit must find the same in both ways of running the
 * shim (under `leakgraph run`, and preloaded by hand), so the object scan must run in both.
 */
#include <stdlib.h>

#include <rcrt/rcrt.h>

struct cache {
    long hits;
    rc_object_t *entry; /* owns one reference */
};

/* not static: the compiler must keep these stores (nothing in the program reads them) */
rc_object_t *g_config; /* owns one reference */
struct cache *g_cache;

static __attribute__((noinline)) void setup(void)
{
    static const char *const slots[] = {"value", NULL};
    rc_type_t *Config = rc_class_new("Config", slots, NULL);
    rc_type_t *Cached = rc_class_new("Cached", slots, NULL);
    rc_type_t *Orphan = rc_class_new("Orphan", slots, NULL);
    g_config = rc_instance_new(Config);
    g_cache = malloc(sizeof *g_cache);
    g_cache->hits = 0;
    g_cache->entry = rc_instance_new(Cached);
    rc_object_t *o = rc_instance_new(Orphan);
    rc_incref(o); /* the leak: this reference is never given back */
    rc_decref(o);
}

int main(void)
{
    setup();
    return 0;
}
