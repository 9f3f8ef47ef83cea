/*
 * runtime/trace.c - rcrt's side of the leakgraph hook ABI (include/leakgraph/runtime_hooks.h):
 * the one place that names the lg_rt_* functions. It declares them weak, decides once at load
 * time which ones a tracer defines (rc_trace_mask), registers the object walk with the tracer,
 * and forwards events. It must not call a hook whose address is NULL, and nothing outside
 * this file may reference an lg_rt_* symbol: the inline reference-count functions in users'
 * code test rc_trace_mask instead, so programs never carry weak references of their own.
 *
 * Why a mask and not `if (&lg_rt_incref)` at every site: the hook sites are inline in
 * programs (rc_incref), and a weak undefined reference in a program's own code would need the
 * same link care as the static library (see the ABI header); testing the addresses once here
 * gives the same single predictable branch per site, on a word in rcrt's data.
 *
 * Patched sites (rcrt/object.h, RC_TRACE_PATCHED) do not even test the mask: they are NOPs,
 * listed in section rc_trace_sites of their module, and patch_sites below turns the NOPs of
 * the bound keys into jumps to their traced paths, once, from the constructor, before any
 * hook can fire and while the process has one thread. Rules it keeps:
 *   - it patches only its own module's table (__start_/__stop_rc_trace_sites, hidden), i.e.
 *     the library's sites in librcrt.so, or the whole program when rcrt is linked statically;
 *   - it rewrites a site only if it still holds the expected 5-byte NOP, or, for a fused
 *     site (the count's own add/sub, key RC_TRACE_SITE_FUSED), a DS prefix and a REX.W
 *     prefix (the asm in rcrt/object.h makes the instruction at least 5 bytes long);
 *   - if the text cannot be made writable it patches nothing, clears those keys from the mask
 *     (so flag sites stay quiet too: a tracer sees all events of a key or none) and says so
 *     once on stderr; it never aborts the program.
 * No tracer: the table is not even read. Under valgrind, patched text is seen as written before
 * it first runs, so no --smc-check is needed.
 *
 * The hook list exists once, in HOOK_LIST; the mask computation is generated from it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__x86_64__)
#endif

#include "internal.h"
#include "leakgraph/runtime_hooks.h"

#if RC_TRACE_HOOKS

/* name, mask bit */
#define HOOK_LIST(X)                                                                           \
    X(lg_rt_incref, RC_TRACE_REFS)                                                             \
    X(lg_rt_decref, RC_TRACE_REFS)                                                             \
    X(lg_rt_obj_alloc, RC_TRACE_OBJS)                                                          \
    X(lg_rt_obj_free, RC_TRACE_OBJS)                                                           \
    X(lg_rt_gc_start, RC_TRACE_GC)                                                             \
    X(lg_rt_gc_end, RC_TRACE_GC)

/* Two copies of the mask: rc_trace_mask for programs (defined in object.c, so that this file
 * writes it through the GOT: a program linked with librcrt.so may hold a copy-relocated copy,
 * and the GOT points at that one) and rc_trace_mask_internal, hidden, for the library's own
 * hook sites. Both are written once, by trace_init. */
unsigned rc_trace_mask_internal;

static int walk_object(rc_object_t *op, void *arg)
{
    const struct lg_rt_visitor *v = arg;
    if (v->object == NULL)
        return 0;
    return v->object(v->arg, op, op->type->name, rc_object_block_size(op), op->refcnt);
}

/* The traversal reports references of the last object given to walk_object; the visitor
 * structure does not carry `from`, so it travels in a small frame. */
struct walk_frame {
    const struct lg_rt_visitor *v;
    rc_object_t *from;
};

static int walk_object_frame(rc_object_t *op, void *arg)
{
    struct walk_frame *f = arg;
    f->from = op;
    return walk_object(op, (void *)(uintptr_t)f->v);
}

static int walk_ref(rc_object_t *to, const char *label, intptr_t index, void *arg)
{
    struct walk_frame *f = arg;
    if (to == NULL || f->v->ref == NULL)
        return 0;
    return f->v->ref(f->v->arg, f->from, to, label, index);
}

static int walk(void *ctx, const struct lg_rt_visitor *visitor)
{
    (void)ctx;
    struct walk_frame f = {visitor, NULL};
    return rc_gc_walk(walk_object_frame, walk_ref, &f);
}

static const struct lg_rt_ops ops = {
    .abi_version = LG_RT_ABI_VERSION,
    .struct_size = sizeof(struct lg_rt_ops),
    .runtime = "rcrt",
    .ctx = NULL,
    .walk = walk,
};

#if RC_TRACE_PATCHED
/* One entry per patched site, written by the asm in rcrt/object.h: offsets relative to the
 * fields themselves (no relocations, the table stays read-only), and the key bit. */
struct trace_site {
    int32_t site;
    int32_t traced;
    int32_t key;
};
_Static_assert(sizeof(struct trace_site) == 12, "layout of the asm's .long triple");
_Static_assert(RC_TRACE_REFS == 1 && RC_TRACE_OBJS == 2 && RC_TRACE_GC == 4,
               "the keys written in the asm of rcrt/object.h");

extern const struct trace_site __start_rc_trace_sites[] __attribute__((weak, visibility("hidden")));
extern const struct trace_site __stop_rc_trace_sites[] __attribute__((weak, visibility("hidden")));

static const uint8_t nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};

/* Key flag of a fused site (the 0x101 of RC_TRACE_FUSED_ENTRY in rcrt/object.h). */
#define RC_TRACE_SITE_FUSED 0x100
#define SITE_KEYS (RC_TRACE_REFS | RC_TRACE_OBJS | RC_TRACE_GC)
_Static_assert((RC_TRACE_SITE_FUSED & SITE_KEYS) == 0, "the fused flag is not a key");

/* Does the site still hold what the compiler put there? */
static int site_intact(const uint8_t *at, int32_t key)
{
    if (key & RC_TRACE_SITE_FUSED)
        return at[0] == 0x3e && (at[1] & 0xf8) == 0x48; /* ds; REX.W (add/sub $1, mem) */
    return memcmp(at, nop5, sizeof nop5) == 0;
}

static uint8_t *site_addr(const int32_t *field)
{
    return (uint8_t *)(uintptr_t)field + *field;
}

/* Turn the NOPs of the keys in `mask` into jumps. Returns 0 or a negative errno (nothing was
 * patched then). */
static int patch_sites(unsigned mask)
{
    const struct trace_site *begin = __start_rc_trace_sites, *end = __stop_rc_trace_sites;
    if (begin == NULL || begin == end)
        return 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (const struct trace_site *s = begin; s < end; s++) {
        if (!(s->key & SITE_KEYS & mask))
            continue;
        uintptr_t at = (uintptr_t)site_addr(&s->site);
        lo = at < lo ? at : lo;
        hi = at + 5 > hi ? at + 5 : hi;
    }
    if (hi == 0)
        return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    lo &= ~(page - 1);
    hi = (hi + page - 1) & ~(page - 1);
    /* The sites lie in the module's text, which is mapped read + execute; this code may be
     * in the same pages, so they stay executable while writable. */
    if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        return -errno;
    for (const struct trace_site *s = begin; s < end; s++) {
        uint8_t *at = site_addr(&s->site);
        if (!(s->key & SITE_KEYS & mask) || !site_intact(at, s->key))
            continue;
        int32_t rel = (int32_t)(site_addr(&s->traced) - (at + 5));
        memcpy(at + 1, &rel, sizeof rel);
        at[0] = 0xe9; /* jmp rel32 */
    }
    mprotect((void *)lo, hi - lo, PROT_READ | PROT_EXEC);
    return 0;
}
#endif

/* Relocations are done before any constructor runs, so the weak addresses are final here. */
__attribute__((constructor)) static void trace_init(void)
{
    unsigned mask = 0;
#define X(name, bit)                                                                           \
    if (&name != NULL)                                                                         \
        mask |= bit;
    HOOK_LIST(X)
#undef X
#if RC_TRACE_PATCHED
    int err = patch_sites(mask);
    if (err != 0) {
        fprintf(stderr, "rcrt: cannot patch the trace hook sites (%s); tracing is off\n",
                strerror(-err));
        mask = 0;
    }
#endif
    rc_trace_mask_internal = mask;
    *(volatile unsigned *)&rc_trace_mask = mask;
    if (&lg_rt_register != NULL)
        lg_rt_register(&ops);
}

void rc_incref_traced(rc_object_t *op)
{
    op->refcnt++;
    if (&lg_rt_incref != NULL)
        lg_rt_incref(op, op->refcnt);
}

/* The event comes before the deallocation it may cause (decref, then free). */
void rc_decref_traced(rc_object_t *op)
{
    intptr_t n = --op->refcnt;
    if (&lg_rt_decref != NULL)
        lg_rt_decref(op, n);
    if (n == 0)
        rc_dealloc(op);
}

void rc_trace_obj_alloc(rc_object_t *op)
{
    if (&lg_rt_obj_alloc != NULL)
        lg_rt_obj_alloc(op, op->type->name, rc_object_block_size(op));
}

void rc_trace_obj_free(rc_object_t *op)
{
    if (&lg_rt_obj_free != NULL)
        lg_rt_obj_free(op, op->type->name, rc_object_block_size(op));
}

void rc_trace_gc_start(int generation)
{
    if (&lg_rt_gc_start != NULL)
        lg_rt_gc_start(generation);
}

void rc_trace_gc_end(int generation, size_t collected, size_t uncollectable, uint64_t ns)
{
    if (&lg_rt_gc_end != NULL)
        lg_rt_gc_end(generation, collected, uncollectable, ns);
}

#else /* !RC_TRACE_HOOKS: no hook is referenced; the mask stays 0 for programs that test it */

unsigned rc_trace_mask_internal; /* stays 0 */

void rc_incref_traced(rc_object_t *op)
{
    op->refcnt++;
}
void rc_decref_traced(rc_object_t *op)
{
    if (--op->refcnt == 0)
        rc_dealloc(op);
}
void rc_trace_obj_alloc(rc_object_t *op)
{
    (void)op;
}
void rc_trace_obj_free(rc_object_t *op)
{
    (void)op;
}
void rc_trace_gc_start(int generation)
{
    (void)generation;
}
void rc_trace_gc_end(int generation, size_t collected, size_t uncollectable, uint64_t ns)
{
    (void)generation, (void)collected, (void)uncollectable, (void)ns;
}

#endif
