/*
 * leakgraph/runtime_hooks.h - the ABI between a reference-counting runtime (such as rcrt)
 * and a tracer (leakgraph's preloaded shim).
 *
 * The runtime *calls* these functions; the tracer *defines* them. The runtime declares every
 * lg_rt_* function weak (LG_RT_WEAK below), so a program that runs without a tracer still links
 * and loads: the weak references resolve to address 0. This header owns nothing else: no
 * state, no code; it must stay plain C11 and self-contained so both sides can include it.
 *
 * How the binding works
 * ---------------------
 * The runtime's references to lg_rt_* are undefined weak symbols with default visibility. They
 * are resolved by the dynamic linker at load time, against every object in the global lookup
 * scope, and an LD_PRELOAD library comes first in that scope. So when the shim is preloaded and
 * defines (and exports, with default visibility) `lg_rt_incref` etc., the runtime's GOT slots
 * receive the shim's addresses; without the shim they stay 0. Two link situations are tested
 * (tests/rcrt/, test names rcrt_hooks_static and rcrt_hooks_shared):
 *   - runtime as a shared library (librcrt.so): the weak references sit in librcrt.so's
 *     dynamic symbol table with GLOB_DAT relocations; nothing special is needed.
 *   - runtime linked statically into a PIE executable: the executable must keep the undefined
 *     weak symbols dynamic, or the static linker resolves them to 0 for good. rcrt's static
 *     target adds `-Wl,-z,dynamic-undefined-weak` to the link of every program that uses it
 *     (an INTERFACE link option), which makes GNU ld emit the dynamic symbols and relocations.
 * The runtime tests each weak address once, when it starts, and keeps the answer in a flag
 * word; each hook site is then one predictable branch on that word (see rcrt/object.h).
 *
 * Rules for a tracer
 * ------------------
 *   - Define the functions you want, with exactly these signatures, `extern "C"` in C++,
 *     exported with default visibility. Undefined ones are simply not called; but define
 *     lg_rt_register if you want the object walk.
 *   - Hooks may be called before the tracer's own constructor has run (ELF does not order the
 *     constructors of a preloaded library and of an unrelated library), from the thread that
 *     uses the runtime, with the runtime's own lock held if it has one. A hook must not call
 *     back into the runtime (except the walk, from lg_rt_register's ops, outside any hook).
 *   - Hooks must not fail: they return nothing, and the runtime does not look at errno.
 *   - Addresses are those of the objects (the runtime's `rc_object_t *`), which for objects
 *     with a collector header lie a few bytes after the start of their memory block.
 */
#ifndef LEAKGRAPH_RUNTIME_HOOKS_H
#define LEAKGRAPH_RUNTIME_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this ABI. lg_rt_register passes it in lg_rt_ops.abi_version; a tracer must
 * ignore (return -EPROTO from lg_rt_register for) a major version it does not know.
 * Version 1: the functions and structures below. */
#define LG_RT_ABI_VERSION 1

/* How the runtime declares the hooks. A tracer defines them without this attribute. */
#if defined(__GNUC__)
#define LG_RT_WEAK __attribute__((weak))
#else
#define LG_RT_WEAK
#endif

/* The visitor that a walk calls. `arg` is passed back unchanged. Either callback may be NULL.
 * A nonzero return from a callback stops the walk, and walk returns that value. */
struct lg_rt_visitor {
    void *arg;
    /* One tracked object: its address, type name (static for the runtime's lifetime), size of
     * its memory block in bytes, and reference count as the runtime holds it. */
    int (*object)(void *arg, const void *obj, const char *type_name, size_t size,
                  intptr_t refcount);
    /* One outgoing strong reference of the object last reported by `object`: `to` is the
     * referent; `label` names the reference (an attribute name, a dict key) or is NULL;
     * `index` is a position (list or tuple item, dict entry) or -1. The label string is only
     * valid during the call. */
    int (*ref)(void *arg, const void *from, const void *to, const char *label, intptr_t index);
};

/* What a runtime hands the tracer. The structure stays valid for the life of the process. */
struct lg_rt_ops {
    uint32_t abi_version;  /* LG_RT_ABI_VERSION of the runtime's header */
    uint32_t struct_size;  /* sizeof(struct lg_rt_ops) as the runtime knows it */
    const char *runtime;   /* "rcrt" */
    void *ctx;             /* pass to walk */
    /* Visit every object the runtime's collector tracks (containers; atomic objects such as
     * ints and strings appear only as referents), each followed by its references. Must be
     * called from the thread that owns the runtime, outside any hook and outside a collection
     * (for example at exit, or with the program's runtime lock held). Returns 0, the first
     * nonzero visitor result, or -EBUSY during a collection. */
    int (*walk)(void *ctx, const struct lg_rt_visitor *visitor);
};

/* Called once per runtime instance, when the runtime starts (from a constructor or its first
 * use). The tracer keeps `ops`. Returns 0 if accepted, a negative errno otherwise; the runtime
 * ignores the result. */
int lg_rt_register(const struct lg_rt_ops *ops) LG_RT_WEAK;

/* An object was allocated: `size` is the size of its memory block, `type_name` static. Called
 * after its header is initialised and before the runtime returns it. */
void lg_rt_obj_alloc(const void *obj, const char *type_name, size_t size) LG_RT_WEAK;

/* An object is about to be freed: called before its memory goes back to the allocator, so the
 * address cannot be reused before the event is recorded. */
void lg_rt_obj_free(const void *obj, const char *type_name, size_t size) LG_RT_WEAK;

/* A reference count was incremented; `refcount` is the new value. */
void lg_rt_incref(const void *obj, intptr_t refcount) LG_RT_WEAK;

/* A reference count was decremented; `refcount` is the new value. When it is 0 the object is
 * deallocated right after this call (lg_rt_obj_free follows, unless a finalizer resurrects
 * it). */
void lg_rt_decref(const void *obj, intptr_t refcount) LG_RT_WEAK;

/* A collection of generations 0..`generation` starts. */
void lg_rt_gc_start(int generation) LG_RT_WEAK;

/* That collection ended: `collected` unreachable objects were found and destroyed (or saved),
 * `uncollectable` were put in the runtime's garbage list; it took `duration_ns`. */
void lg_rt_gc_end(int generation, size_t collected, size_t uncollectable,
                  uint64_t duration_ns) LG_RT_WEAK;

#ifdef __cplusplus
}
#endif

#endif /* LEAKGRAPH_RUNTIME_HOOKS_H */
