/*
 * rcrt/object.h - objects, types and reference counts of rcrt.
 *
 * Every rcrt object starts with rc_object_t: a reference count and a pointer to its type.
 * Objects of a type flagged RC_TYPE_GC (containers) also carry a collector header *before*
 * that address, invisible to users. This header owns the inline reference-count operations;
 * it must not grow anything that costs on the fast path beyond one 5-byte NOP per trace-hook
 * site (x86-64, static link or inside the library) or one predictable branch (elsewhere), and
 * nothing when built with RC_TRACE_HOOKS=0.
 *
 * Thread model: one runtime per process, used by one thread at a time. Programs with several
 * threads must serialise every rcrt call with one lock of their own, as CPython does with its
 * interpreter lock. Nothing here is atomic.
 *
 * Reference conventions (as in CPython's C API):
 *   - functions named *_new, *_from, rc_weakref_get and rc_str_intern return a new reference;
 *   - getters (rc_list_get, rc_dict_get, rc_getattr, rc_tuple_get) return borrowed references;
 *   - functions that store an object (rc_list_append, rc_tuple_set, rc_dict_set, rc_setattr)
 *     take their own reference; the caller keeps its own.
 */
#ifndef RCRT_OBJECT_H
#define RCRT_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef RC_TRACE_HOOKS
#define RC_TRACE_HOOKS 1
#endif

#if defined(__GNUC__)
#define RC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RC_LIKELY(x) __builtin_expect(!!(x), 1)
#define RC_COLD __attribute__((cold))
#else
#define RC_UNLIKELY(x) (x)
#define RC_LIKELY(x) (x)
#define RC_COLD
#endif

typedef struct rc_object rc_object_t;
typedef struct rc_type rc_type_t;

/* The header of every object. */
struct rc_object {
    intptr_t refcnt;
    const rc_type_t *type;
};

/* Called by a traverse function once per strong reference it holds. `label` names the
 * reference (attribute name, dict key) or is NULL; `index` is its position or -1. A nonzero
 * result stops the traversal and is returned by it. `ref` may be NULL: visitors skip it. */
typedef int (*rc_visit_fn)(rc_object_t *ref, const char *label, intptr_t index, void *arg);
/* Report every strong reference held by `self` to `visit`. Must not change any count. */
typedef int (*rc_traverse_fn)(rc_object_t *self, rc_visit_fn visit, void *arg);
/* Drop the references held by `self` (set the fields to NULL before decref'ing them). */
typedef void (*rc_clear_fn)(rc_object_t *self);
/* A finalizer (like __del__): called at most once per object, with a reference held; it may
 * store `self` somewhere (resurrection), and the object then lives on. */
typedef void (*rc_finalize_fn)(rc_object_t *self);
/* Release the references and the memory of an object whose count reached zero (call
 * rc_object_free last). */
typedef void (*rc_dealloc_fn)(rc_object_t *self);
typedef uint64_t (*rc_hash_fn)(rc_object_t *self);
typedef bool (*rc_equal_fn)(rc_object_t *a, rc_object_t *b);
typedef size_t (*rc_sizeof_fn)(rc_object_t *self);

/* Type flags. */
#define RC_TYPE_GC 0x1u /* a container: has a collector header, may be tracked */

/* A type. Statically allocated by its module, or made by rc_class_new. */
struct rc_type {
    const char *name;
    size_t basicsize;        /* bytes of the object struct, from the rc_object_t header */
    size_t itemsize;         /* bytes per item of a variable-size object, else 0 */
    unsigned flags;          /* RC_TYPE_* */
    size_t weaklist_offset;  /* offset of an rc_object_t* weak reference list, 0 = none */
    rc_traverse_fn traverse; /* required for RC_TYPE_GC */
    rc_clear_fn clear;       /* breaks cycles; NULL if the type cannot be in one */
    rc_finalize_fn finalize; /* PEP 442 finalizer or NULL; RC_TYPE_GC types only */
    rc_finalize_fn legacy_del; /* non-NULL marks objects uncollectable in a cycle (tp_del) */
    rc_dealloc_fn dealloc;   /* NULL: call clear (if any) and rc_object_free */
    rc_hash_fn hash;         /* NULL: identity */
    rc_equal_fn equal;       /* NULL: identity */
    rc_sizeof_fn size_of;    /* extra bytes owned outside the object block, or NULL */
};

/* Allocate an object of `type` with count 1, body zeroed. GC types are tracked at once (their
 * traverse must accept NULL fields) and count towards the generation-0 threshold, so the
 * allocation may run a collection first. `nitems` is for variable-size types (0 otherwise).
 * Returns NULL (errno ENOMEM) on failure. */
rc_object_t *rc_object_new(const rc_type_t *type, size_t nitems);

/* Give the memory of `obj` back; the last step of a dealloc function. */
void rc_object_free(rc_object_t *obj);

/* Called when a count reaches zero: runs the finalizer, clears weak references, untracks,
 * then calls the type's dealloc. Deep chains are released iteratively (bounded C stack). */
void rc_dealloc(rc_object_t *obj);

/* Trace state: bit set => the tracer defines those hooks. Read by the inline functions where
 * hook sites are not patched (see below), and by programs that want to know. */
#define RC_TRACE_REFS 0x1u /* lg_rt_incref, lg_rt_decref */
#define RC_TRACE_OBJS 0x2u /* lg_rt_obj_alloc, lg_rt_obj_free */
#define RC_TRACE_GC 0x4u   /* lg_rt_gc_start, lg_rt_gc_end */
extern unsigned rc_trace_mask;
/* How inline code reads the word: inside the library through a hidden alias, and in programs
 * linked with the static library as a hidden symbol (RC_STATIC_LINK, set by the `rcrt`
 * target), so that each test is one instruction on a RIP-relative address instead of a GOT
 * load plus a test. Programs using librcrt.so go through the GOT. */
#if defined(RC_BUILDING_RUNTIME) && defined(__GNUC__)
extern unsigned rc_trace_mask_internal __attribute__((visibility("hidden")));
#define RC_TRACE_WORD rc_trace_mask_internal
#elif defined(RC_STATIC_LINK) && defined(__GNUC__)
extern unsigned rc_trace_mask __attribute__((visibility("hidden")));
#define RC_TRACE_WORD rc_trace_mask
#else
#define RC_TRACE_WORD rc_trace_mask
#endif
/* How a hook site asks "is a tracer bound for these hooks?".
 *
 * Patched sites (RC_TRACE_PATCHED: x86-64, GCC or Clang, code in the library or in a program
 * linked with the static library). Each site is a 5-byte NOP that falls through to the
 * untraced path, plus an entry {site, traced path, key} in section rc_trace_sites. When the
 * runtime starts (runtime/trace.c, trace_init) and a tracer defines hooks of a key, it rewrites
 * those NOPs into `jmp` to their traced paths (the text pages are writable for the time of the
 * rewrite). With no tracer a site costs one NOP: no load, no test, no branch. Two forms:
 *   - rc_trace_refs_on(), rc_trace_objs_on(), rc_trace_gc_on() (`asm goto`): a condition
 *     whose true branch the compiler lays out as a cold block calling the traced form. The
 *     traced path is ordinary compiled code with its unwind information, so a tracer can
 *     capture the program's stack through it (an earlier design jumped to hand-written stubs
 *     without unwind information: every captured stack stopped there, and each traced call
 *     saved the whole vector state).
 *   - rc_incref / rc_decref (key 0x101: key 1 and trace.c's fused flag 0x100): no NOP. The
 *     site is the count's own `addq $1` / `subq $1` (with a DS prefix, ignored in 64-bit
 *     mode, so that it is at least 5 bytes long whatever operand the compiler picks);
 *     patching it into a `jmp` skips the count change, which the traced form then does. An
 *     untraced incref or decref executes as many instructions as in a build without hooks.
 * The traced forms are declared cold: the compiler then takes their calls as never made and
 * more often spills what must live across them inside the cold blocks, instead of saving
 * callee-saved registers in the prologue of every function with a site (callgrind, the
 * program workload of bench/rcrt: 1,627 -> 937 extra instructions per iteration that were
 * not NOPs).
 * The table of one executable or shared object holds its own sites only, and each module's
 * copy of trace.c patches its own module: so the sites in a program that uses librcrt.so
 * cannot be patched by the library, and test the trace word instead.
 *
 * Flag sites (everywhere else, or with RC_TRACE_NO_PATCH defined): one load of the trace word
 * and a predictable branch before a call of the traced form. The keys in the asm are literals;
 * trace.c checks that they equal the bits. */
#if RC_TRACE_HOOKS && defined(__x86_64__) && defined(__GNUC__) && !defined(RC_TRACE_NO_PATCH) && \
    (defined(RC_BUILDING_RUNTIME) || defined(RC_STATIC_LINK))
#define RC_TRACE_PATCHED 1
#define RC_TRACE_SITE_FN(name, key)                                                            \
    static inline __attribute__((always_inline)) bool name(void)                               \
    {                                                                                          \
        __asm__ goto("1: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"                                \
                     ".pushsection rc_trace_sites, \"a\"\n\t"                                   \
                     ".balign 4\n\t"                                                           \
                     ".long 1b - ., %l[traced] - ., " #key "\n\t"                               \
                     ".popsection"                                                             \
                     :                                                                         \
                     :                                                                         \
                     :                                                                         \
                     : traced);                                                                \
        return false;                                                                          \
    traced:                                                                                    \
        return true;                                                                           \
    }
RC_TRACE_SITE_FN(rc_trace_objs_on, 2)
RC_TRACE_SITE_FN(rc_trace_gc_on, 4)
#undef RC_TRACE_SITE_FN
/* The table entry of a fused site whose instruction starts at local label 1. */
#define RC_TRACE_FUSED_ENTRY                                                                   \
    ".pushsection rc_trace_sites, \"a\"\n\t"                                                   \
    ".balign 4\n\t"                                                                           \
    ".long 1b - ., %l[traced] - ., 0x101\n\t"                                                  \
    ".popsection"
#else
#define RC_TRACE_PATCHED 0
static inline bool rc_trace_gc_on(void)
{
    return (RC_TRACE_WORD & RC_TRACE_GC) != 0;
}
#endif

/* The traced forms of rc_incref / rc_decref (count change, hook, and dealloc at zero). */
RC_COLD void rc_incref_traced(rc_object_t *obj);
RC_COLD void rc_decref_traced(rc_object_t *obj);

/* Take a reference. Fast path: one add; with patched sites the add itself is the site, with
 * flag sites one predictable branch comes before it. The traced form is a separate call, so
 * the untraced path never has a call in the middle of it (no spills, no reload of the
 * count). */
static inline void rc_incref(rc_object_t *obj)
{
#if RC_TRACE_PATCHED
    __asm__ goto("1: .byte 0x3e\n\t"
                 "addq $1, %0\n\t" RC_TRACE_FUSED_ENTRY
                 : "+m"(obj->refcnt)
                 :
                 : "cc"
                 : traced);
    return;
traced:
    rc_incref_traced(obj);
#else
#if RC_TRACE_HOOKS
    if (RC_UNLIKELY(RC_TRACE_WORD & RC_TRACE_REFS)) {
        rc_incref_traced(obj);
        return;
    }
#endif
    obj->refcnt++;
#endif
}

/* Drop a reference; deallocates at zero. */
static inline void rc_decref(rc_object_t *obj)
{
#if RC_TRACE_PATCHED
    __asm__ goto("1: .byte 0x3e\n\t"
                 "subq $1, %0\n\t"
                 "jz %l[dealloc]\n\t" RC_TRACE_FUSED_ENTRY
                 : "+m"(obj->refcnt)
                 :
                 : "cc"
                 : traced, dealloc);
    return;
dealloc:
    rc_dealloc(obj);
    return;
traced:
    rc_decref_traced(obj);
#else
#if RC_TRACE_HOOKS
    if (RC_UNLIKELY(RC_TRACE_WORD & RC_TRACE_REFS)) {
        rc_decref_traced(obj);
        return;
    }
#endif
    if (--obj->refcnt == 0)
        rc_dealloc(obj);
#endif
}

/* rc_incref / rc_decref that accept NULL. */
static inline void rc_xincref(rc_object_t *obj)
{
    if (obj)
        rc_incref(obj);
}
static inline void rc_xdecref(rc_object_t *obj)
{
    if (obj)
        rc_decref(obj);
}

/* Replace *slot by `value` (a new reference the caller gives), dropping the old one last. */
static inline void rc_setref(rc_object_t **slot, rc_object_t *value)
{
    rc_object_t *old = *slot;
    *slot = value;
    rc_xdecref(old);
}

/* The name of the object's type. */
static inline const char *rc_type_name(const rc_object_t *obj)
{
    return obj->type->name;
}

/* Like sys.getrefcount(obj): the count plus one. Python's result includes the reference held
 * by the call's own argument; a C caller passes a borrowed pointer, so rcrt adds that one to
 * give the same numbers as the Python program it mirrors. */
intptr_t rc_getrefcount(const rc_object_t *obj);

/* Like sys.getsizeof(obj): bytes of the object struct and its items, plus the collector
 * header for containers, plus memory the object owns outside its block (a list's item array,
 * a dict's tables), as CPython counts them. Layouts differ from CPython's, so the numbers do
 * too (a list is 64 bytes here, 56 in CPython 3.11). */
size_t rc_sizeof(const rc_object_t *obj);

/* Hash and equality as a dict uses them (identity unless the type says otherwise). */
uint64_t rc_hash(rc_object_t *obj);
bool rc_equal(rc_object_t *a, rc_object_t *b);

#ifdef __cplusplus
}
#endif

#endif /* RCRT_OBJECT_H */
