/* shim/runtime_hooks.c: the hooks of reference-counting runtimes
 * (include/leakgraph/runtime_hooks.h): registration, object alloc/free, incref/decref, GC
 * start/end, and the walk of every registered runtime's objects and references at a check.
 * The hooks may run before the shim's constructor (enter() starts tracing then). Object
 * events are sequenced like malloc's, so an address reused by the runtime's allocator is
 * replayed in order; incref/decref keep only LG_RC_DEPTH frames (or none: counts-only mode
 * is one thread-local increment). The hooks that record a stack enter through an assembly
 * stub that hands over the caller's registers, so no frame of the shim is walked. A hook
 * must never allocate from the C library or take a lock of its own; the walk runs only in
 * the checking thread with the other threads stopped, never from a signal handler. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

#define LG_MAX_RUNTIMES 4
static const struct lg_rt_ops *g_runtimes[LG_MAX_RUNTIMES];
static _Atomic uint32_t g_nruntimes;
static bool g_rc_counts_only; /* LEAKGRAPH_RC_STACK_DEPTH=0, once tracing */

EXPORT int lg_rt_register(const struct lg_rt_ops *ops)
{
    if (!ops || ops->abi_version != LG_RT_ABI_VERSION ||
        ops->struct_size < sizeof(struct lg_rt_ops))
        return -EPROTO;
    uint32_t i = atomic_fetch_add(&g_nruntimes, 1);
    if (i >= LG_MAX_RUNTIMES) return -ENOSPC;
    g_runtimes[i] = ops;
    return 0;
}

static void rt_event(const lg_event_t *ev)
{
    if (!enter()) return;
    tls.guard++;
    int e = errno;
    record(ev, NULL, 0);
    errno = e;
    tls.guard--;
}

/* The hooks that record a stack are entered through a stub that takes the caller's
 * registers (return address, stack pointer after the return, RBP) and tail-jumps to the C
 * function with them as extra arguments: the walk then starts at the hook's caller and
 * reads none of the shim's own frames (record, rt_event, the hook), which were about a
 * quarter of the words each memo check read, and it stops at the frames kept. */
#define HOOK_ENTRY(name, ra, sp, bp)                                                       \
    __asm__(".text\n"                                                                      \
            ".globl " #name "\n"                                                           \
            ".type " #name ", @function\n"                                                 \
            ".p2align 4\n" #name ":\n"                                                     \
            ".cfi_startproc\n"                                                             \
            "  endbr64\n"                                                                  \
            "  movq (%rsp), %" #ra "\n"                                                    \
            "  leaq 8(%rsp), %" #sp "\n"                                                   \
            "  movq %rbp, %" #bp "\n"                                                      \
            "  jmp " #name "_at\n"                                                         \
            ".cfi_endproc\n"                                                               \
            ".size " #name ", .-" #name "\n")

void lg_rt_obj_alloc_at(const void *obj, const char *type_name, size_t size, uintptr_t ra,
                        uintptr_t sp, uintptr_t bp) __attribute__((used, visibility("hidden")));
HOOK_ENTRY(lg_rt_obj_alloc, rcx, r8, r9);
void lg_rt_obj_alloc_at(const void *obj, const char *type_name, size_t size, uintptr_t ra,
                        uintptr_t sp, uintptr_t bp)
{
    lg_unw_regs_t at = {ra, sp, bp};
    lg_event_t ev = {.type = LG_REC_OBJ_ALLOC, .addr = (uintptr_t)obj, .size = size,
                     .type_name = type_name ? type_name : "?", .seq1 = -1, .stack = true,
                     .at = &at};
    rt_event(&ev);
}

EXPORT void lg_rt_obj_free(const void *obj, const char *type_name, size_t size)
{
    (void)type_name;
    (void)size;
    lg_event_t ev = {.type = LG_REC_OBJ_FREE, .addr = (uintptr_t)obj, .seq1 = -1};
    rt_event(&ev);
}

/* Counts-only mode (LEAKGRAPH_RC_STACK_DEPTH=0): an incref or decref is one thread-local
 * increment, added to the region's totals when the thread exits or takes a check. */
static void rc_fold_counts(void)
{
    if (!g_region || (!tls.rc_inc && !tls.rc_dec)) return;
    atomic_fetch_add(&g_region->hdr.rc_increfs, tls.rc_inc);
    atomic_fetch_add(&g_region->hdr.rc_decrefs, tls.rc_dec);
    tls.rc_inc = tls.rc_dec = 0;
}

/* An incref or decref (`type`): counted in *counted in counts-only mode, else recorded. */
static inline void count_change(uint8_t type, uint64_t *counted, const void *obj,
                                intptr_t refcount, uintptr_t ra, uintptr_t sp, uintptr_t bp)
{
    if (g_rc_counts_only) {
        (*counted)++;
        return;
    }
    lg_unw_regs_t at = {ra, sp, bp};
    lg_event_t ev = {.type = type, .addr = (uintptr_t)obj, .refcount = refcount, .seq1 = -1,
                     .stack = g_rc_depth > 0, .depth = g_rc_depth, .at = &at};
    rt_event(&ev);
}

void lg_rt_incref_at(const void *obj, intptr_t refcount, uintptr_t ra, uintptr_t sp,
                     uintptr_t bp) __attribute__((used, visibility("hidden")));
HOOK_ENTRY(lg_rt_incref, rdx, rcx, r8);
void lg_rt_incref_at(const void *obj, intptr_t refcount, uintptr_t ra, uintptr_t sp, uintptr_t bp)
{
    count_change(LG_REC_INCREF, &tls.rc_inc, obj, refcount, ra, sp, bp);
}

void lg_rt_decref_at(const void *obj, intptr_t refcount, uintptr_t ra, uintptr_t sp,
                     uintptr_t bp) __attribute__((used, visibility("hidden")));
HOOK_ENTRY(lg_rt_decref, rdx, rcx, r8);
void lg_rt_decref_at(const void *obj, intptr_t refcount, uintptr_t ra, uintptr_t sp, uintptr_t bp)
{
    count_change(LG_REC_DECREF, &tls.rc_dec, obj, refcount, ra, sp, bp);
}

EXPORT void lg_rt_gc_start(int generation)
{
    lg_event_t ev = {.type = LG_REC_GC_START, .gen = (uint64_t)generation, .seq1 = -1};
    rt_event(&ev);
}

EXPORT void lg_rt_gc_end(int generation, size_t collected, size_t uncollectable, uint64_t ns)
{
    lg_event_t ev = {.type = LG_REC_GC_END, .gen = (uint64_t)generation, .collected = collected,
                     .uncollectable = uncollectable, .ns = ns, .seq1 = -1};
    rt_event(&ev);
}

/* The walk's visitor: every object and reference becomes a record in this thread's ring. */
typedef struct walk_state {
    uint64_t prev, cur;
    uint64_t objects;
} walk_state_t;

static int walk_object(void *arg, const void *obj, const char *type_name, size_t size,
                       intptr_t refcount)
{
    walk_state_t *w = arg;
    uint32_t type_id = 0;
    /* the type is defined in the stream first: encode after knowing its id */
    record_raw(NULL, 0, type_name ? type_name : "?", &type_id);
    uint8_t b[5 * LG_VARINT_MAX], *p = b;
    *p++ = LG_REC_WALK_OBJ;
    p = lg_put_sv(p, (int64_t)((uintptr_t)obj - w->prev));
    p = lg_put_uv(p, size);
    p = lg_put_uv(p, type_id);
    p = lg_put_sv(p, refcount);
    record_raw(b, (size_t)(p - b), NULL, NULL);
    w->prev = w->cur = (uintptr_t)obj;
    w->objects++;
    return 0;
}

static int walk_ref(void *arg, const void *from, const void *to, const char *label, intptr_t index)
{
    walk_state_t *w = arg;
    (void)from;
    size_t ll = label ? strnlen(label, 120) : 0;
    uint8_t b[3 * LG_VARINT_MAX + 128], *p = b;
    *p++ = LG_REC_WALK_REF;
    p = lg_put_sv(p, (int64_t)((uintptr_t)to - w->cur));
    p = lg_put_sv(p, index);
    p = lg_put_bytes(p, label ? label : "", ll);
    record_raw(b, (size_t)(p - b), NULL, NULL);
    return 0;
}

/* Records every registered runtime's objects and references for check `id`. Runs in the
 * checking thread, with the other threads stopped, outside any hook. */
static void walk_runtimes(uint32_t id)
{
    uint32_t n = atomic_load(&g_nruntimes);
    for (uint32_t i = 0; i < n && i < LG_MAX_RUNTIMES; i++) {
        const struct lg_rt_ops *ops = g_runtimes[i];
        if (!ops || !ops->walk) continue;
        const char *name = ops->runtime ? ops->runtime : "";
        uint8_t extra[LG_VARINT_MAX + 64], *p = extra;
        p = lg_put_uv(p, id);
        p = lg_put_bytes(p, name, strnlen(name, 48));
        lg_event_t ev = {.type = LG_REC_WALK, .seq1 = -1};
        record(&ev, extra, (size_t)(p - extra));
        walk_state_t w = {0};
        struct lg_rt_visitor v = {.arg = &w, .object = walk_object, .ref = walk_ref};
        int rc = ops->walk(ops->ctx, &v);
        uint8_t b[2 * LG_VARINT_MAX + 1], *q = b;
        *q++ = LG_REC_WALK_END;
        q = lg_put_uv(q, w.objects);
        q = lg_put_sv(q, rc);
        record_raw(b, (size_t)(q - b), NULL, NULL);
    }
}
