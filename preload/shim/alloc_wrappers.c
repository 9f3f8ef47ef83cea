/* shim/alloc_wrappers.c: the interposed malloc family (hooks.h is the list): malloc, calloc,
 * free, free_sized, free_aligned_sized, realloc, reallocarray, aligned_alloc, memalign,
 * valloc, pvalloc, posix_memalign. Every wrapper has one shape: if not tracing or re-entered
 * (one unlikely test, enter(), and then wrap_enter()'s, below), pass through to the real
 * function (or to the bootstrap arena before it is known); else guard, real call, record on
 * success, errno preserved. A free is
 * recorded before the real free and realloc reserves its free's sequence number before the
 * real call (the ordering rules in shim.c). The fast path must never take a lock, make a
 * system call or allocate from the C library: its whole cost is the real call plus record(). */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* Scrubbing (see LG_SCRUB_MAX_DEFAULT): the bytes of a fresh block that the program has not
 * written are zeroed before the block is recorded, so that no stale word of recycled heap
 * memory (the allocator's free-list words, an old block's pointers) reads as a pointer in a
 * leak check; Memcheck never sees such bytes (unwritten is undefined). A block is zeroed up
 * to its usable size, not only its requested size: the slack is where a later realloc grows
 * in place, and the shim does not know a block's old requested size then. Cost: one
 * malloc_usable_size and one memset per allocation, no lock, no system call.
 *
 * Exception: glibc's chunk header (the word before the block) has an IS_MMAPPED bit; such a
 * chunk was mapped for this block alone, so its bytes are the kernel's zeros. The header is
 * read only when the real malloc is glibc's (__libc_malloc is weak: absent from other C
 * libraries, and an allocator of the program's own is never read outside its blocks). */
extern void *__libc_malloc(size_t) __attribute__((weak));
#define LG_GLIBC_IS_MMAPPED 0x2u /* glibc malloc.c: bit 1 of a chunk's size field */

static inline bool glibc_mmapped(const void *p)
{
    return __libc_malloc && real_malloc == __libc_malloc &&
           (((const size_t *)p)[-1] & LG_GLIBC_IS_MMAPPED);
}

/* Zeroes [from, usable size of p), at most g_scrub_max bytes of it. */
static inline void scrub_from(void *p, size_t from)
{
    size_t end = malloc_usable_size(p);
    if (end <= from) return;
    size_t n = end - from;
    memset((char *)p + from, 0, n < g_scrub_max ? n : g_scrub_max);
}

/* ---- Signal handlers ------------------------------------------------------------------
 * A signal handler that allocates while its thread is inside one of these wrappers re-enters
 * them with the guard held, the same way the shim's own allocations do (the unwinder's libdw,
 * the self-mode drain), which must pass through unrecorded. Its allocations are the program's:
 * Memcheck sees them, and a block it leaks must be reported. They are told apart as follows:
 * when every level of the guard is one of these wrappers (tls.wraps) and the thread is not in
 * record() (the only place where the shim itself allocates inside them), the call can only
 * come from a signal handler; inside record(), it is a handler's only when a signal frame lies
 * on the stack between it and the innermost wrapper (signal_frame_above()). Calls under any
 * other guard (start-up, checks, fork, runtime hooks) pass through as before.
 * A handler's call is recorded, as wrap_enter() says by tls.sig_mode, depending on what it
 * interrupted:
 *   FULL     the wrapper's own code: the ring and the unwinder are free; recorded with its
 *            stack (through the signal frame into the interrupted program);
 *   NOSTACK  the C library's allocator (the handler re-entered it, as it would alone): recorded
 *            without a stack, as the unwinder may allocate;
 *   QUEUE    record(): the event is queued with its sequence numbers and written without a
 *            stack when the interrupted record() leaves (record.c, queue_event()).
 * None drains the self-mode rings (the drain allocates and takes a lock the interrupted code
 * may hold): a full ring, or a full queue, counts the event lost (the report's "events lost";
 * the trace is then incomplete for `leakgraph check`). */
typedef struct lg_wrap {
    uintptr_t sp;
    uint8_t in_real, sig_mode;
} lg_wrap_t;

static inline uintptr_t stack_pointer(void)
{
#if defined(__x86_64__)
    uintptr_t sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    return sp;
#else
    return (uintptr_t)__builtin_frame_address(0);
#endif
}

/* The C library's signal return trampoline (glibc's __restore_rt): the return address of
 * every handler installed through it, read from the action of a signal that has one, and
 * remembered; 0 while no signal has one (looked for again at most once a millisecond). */
#define LG_SA_RESTORER 0x04000000u /* Linux's flag (asm/signal.h; glibc's headers lack it) */
static uintptr_t signal_restorer(void)
{
#if defined(__x86_64__)
    static _Atomic uintptr_t known;
    static _Atomic uint64_t looked;
    uintptr_t r = atomic_load_explicit(&known, memory_order_relaxed);
    if (r) return r;
    uint64_t now = now_ns(CLOCK_MONOTONIC), last = atomic_load_explicit(&looked, memory_order_relaxed);
    if (last && now - last < 1000000) return 0;
    atomic_store_explicit(&looked, now, memory_order_relaxed);
    for (int sig = 1; sig < NSIG && !r; sig++) {
        struct sigaction sa;
        if (__sigaction(sig, NULL, &sa) == 0 && (sa.sa_flags & LG_SA_RESTORER) && sa.sa_restorer)
            r = (uintptr_t)sa.sa_restorer;
    }
    if (r) atomic_store_explicit(&known, r, memory_order_relaxed);
    return r;
#else
    return 0;
#endif
}

/* The stack this scan reads at most (from the caller up to the innermost wrapper). */
#define LG_SIGFRAME_SCAN (256u << 10)

/* Does a signal frame lie between the caller and the innermost wrapper (tls.wrap_sp)? The
 * caller is on another stack than the wrapper when it runs on the alternate signal stack and
 * the wrapper does not: a signal. Else the live stack between them is read for the kernel's
 * frame (x86-64 rt_sigframe): the restorer's address (the handler's return address), then a
 * ucontext with small flags, no link, and a saved stack pointer above it, at most at the
 * wrapper's, with the saved FPU state between the two (the kernel puts it above the frame).
 * (Without the restorer, a ucontext that libunwind's unw_getcontext left there would pass.)
 * Only x86-64 is read; elsewhere the answer is no (the call passes through, as before). */
static bool signal_frame_above(void)
{
#if defined(__x86_64__)
    uintptr_t sp = stack_pointer(), top = tls.wrap_sp;
    stack_t ss;
    if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK)) {
        uintptr_t lo = (uintptr_t)ss.ss_sp, hi = lo + ss.ss_size;
        if (top < lo || top >= hi) return true;
    }
    uintptr_t rt;
    if (top <= sp || top - sp > LG_SIGFRAME_SCAN || !(rt = signal_restorer())) return false;
    for (uintptr_t a = (sp + 7) & ~(uintptr_t)7; a + 8 + sizeof(ucontext_t) <= top; a += 8) {
        const ucontext_t *uc = (const ucontext_t *)(a + 8);
        if (*(const uintptr_t *)a != rt || uc->uc_flags > 0xff || uc->uc_link) continue;
        uintptr_t at = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
        uintptr_t fp = (uintptr_t)uc->uc_mcontext.fpregs;
        if (at > a && at <= top + 256 && fp > a && fp < at &&
            uc->uc_mcontext.gregs[REG_RIP])
            return true;
    }
#endif
    return false;
}

/* How a call that enter() refused is recorded: LG_SIG_NONE (pass through) unless it comes
 * from a signal handler that interrupted a wrapper (see "Signal handlers"). */
static int signal_mode(void)
{
    if (!tracing() || tls.guard == 0 || tls.guard != tls.wraps) return LG_SIG_NONE;
    if (tls.in_record) return signal_frame_above() ? LG_SIG_QUEUE : LG_SIG_NONE;
    return tls.in_real || tls.sig_mode == LG_SIG_NOSTACK ? LG_SIG_NOSTACK : LG_SIG_FULL;
}

/* A wrapper's entry: false to pass through; else the guard is taken (undone by wrap_leave) and
 * the call is recorded, as the program's own or as a signal handler's (tls.sig_mode). */
static inline bool wrap_enter(lg_wrap_t *w)
{
    int mode = LG_SIG_NONE;
    if (UNLIKELY(!enter()) && LIKELY((mode = signal_mode()) == LG_SIG_NONE)) return false;
    *w = (lg_wrap_t){tls.wrap_sp, tls.in_real, tls.sig_mode};
    tls.guard++;
    tls.wraps++;
    tls.wrap_sp = stack_pointer();
    tls.in_real = 0;
    tls.sig_mode = (uint8_t)mode;
    atomic_signal_fence(memory_order_seq_cst);
    return true;
}

static inline void wrap_leave(const lg_wrap_t *w)
{
    atomic_signal_fence(memory_order_seq_cst);
    tls.sig_mode = w->sig_mode;
    tls.in_real = w->in_real;
    tls.wrap_sp = w->sp;
    tls.wraps--;
    tls.guard--;
}

/* The real allocator's call, marked for a signal handler that would interrupt it. */
#define REAL(call)                                             \
    ({                                                         \
        tls.in_real = 1;                                       \
        atomic_signal_fence(memory_order_seq_cst);             \
        __typeof__(call) r_ = call;                            \
        atomic_signal_fence(memory_order_seq_cst);             \
        tls.in_real = 0;                                       \
        r_;                                                    \
    })

static inline void record_alloc(uint8_t type, uint8_t fn, void *p, size_t size, size_t align)
{
    /* calloc's bytes are zero already; a chunk mmapped for the block is the kernel's zeros */
    if (type != LG_REC_CALLOC && g_scrub_max && !glibc_mmapped(p)) scrub_from(p, 0);
    lg_event_t ev = {.type = type, .fn = fn, .addr = (uintptr_t)p, .size = size,
                     .align = align, .seq1 = -1, .stack = true};
    record(&ev, NULL, 0);
}

/* Records a free; must run before the real free (see the ordering rules in shim.c). */
static inline void record_free(void *p)
{
    lg_event_t ev = {.type = LG_REC_FREE, .addr = (uintptr_t)p, .seq1 = -1};
    record(&ev, NULL, 0);
}

EXPORT void *malloc(size_t n)
{
    lg_wrap_t w;
    if (UNLIKELY(!wrap_enter(&w))) {
        if (UNLIKELY(!real_malloc)) return boot_alloc(n, 16);
        return real_malloc(n);
    }
    void *p = REAL(real_malloc(n));
    int e = errno;
    if (p) record_alloc(LG_REC_MALLOC, LG_FN_MALLOC, p, n, 0);
    wrap_leave(&w);
    errno = e;
    return p;
}

EXPORT void *calloc(size_t n, size_t s)
{
    lg_wrap_t w;
    if (UNLIKELY(!wrap_enter(&w))) {
        if (UNLIKELY(!real_calloc)) {
            size_t t;
            if (__builtin_mul_overflow(n, s, &t)) return NULL;
            return boot_alloc(t, 16); /* static memory is zero */
        }
        return real_calloc(n, s);
    }
    void *p = REAL(real_calloc(n, s));
    int e = errno;
    if (p) record_alloc(LG_REC_CALLOC, LG_FN_CALLOC, p, n * s, 0);
    wrap_leave(&w);
    errno = e;
    return p;
}

EXPORT void free(void *p)
{
    if (UNLIKELY(!p || is_boot(p))) return;
    lg_wrap_t w;
    if (UNLIKELY(!wrap_enter(&w))) {
        if (real_free) real_free(p);
        return;
    }
    int e = errno;
    record_free(p);
    tls.in_real = 1;
    atomic_signal_fence(memory_order_seq_cst);
    real_free(p);
    atomic_signal_fence(memory_order_seq_cst);
    tls.in_real = 0;
    wrap_leave(&w);
    errno = e;
}

EXPORT void free_sized(void *p, size_t n)
{
    (void)n;
    free(p); /* same as free; real_free_sized need not exist */
}

EXPORT void free_aligned_sized(void *p, size_t a, size_t n)
{
    (void)a;
    (void)n;
    free(p);
}

/* realloc and reallocarray: `fn` says which; n is the byte count (already multiplied). */
static void *realloc_common(void *old, size_t n, size_t nmemb, size_t size, bool array)
{
    if (UNLIKELY(is_boot(old))) { /* a bootstrap block: move it to the real heap */
        size_t had = ((size_t *)old)[-1];
        void *p = malloc(n);
        if (p) memcpy(p, old, had < n ? had : n);
        return p;
    }
    lg_wrap_t w;
    if (UNLIKELY(!wrap_enter(&w))) {
        if (UNLIKELY(!real_realloc)) return old ? NULL : boot_alloc(n, 16);
        return array && real_reallocarray ? real_reallocarray(old, nmemb, size)
                                          : real_realloc(old, n);
    }
    /* Reserve the free's sequence number before the real call: once realloc released the old
     * block, another thread may get the same address and record it. */
    size_t had = old && g_scrub_max ? malloc_usable_size(old) : 0;
    int64_t seq1 = old ? (int64_t)atomic_fetch_add(&g_region->hdr.seq, 1) : -1;
    void *p = REAL(array && real_reallocarray ? real_reallocarray(old, nmemb, size)
                                              : real_realloc(old, n));
    int e = errno;
    if (!old) {
        if (p) record_alloc(LG_REC_MALLOC, LG_FN_MALLOC, p, n, 0);
    } else if (p) {
        /* The grown part, moved or in place (a move copies the old block's usable bytes,
         * which were written or scrubbed); after a shrink, the part past the new size: a
         * later growth in place must not find the old data there. A glibc chunk mmapped
         * (or mremapped) for the block past its old size holds the kernel's zeros. */
        if (g_scrub_max && !(n >= had && glibc_mmapped(p))) scrub_from(p, n < had ? n : had);
        lg_event_t ev = {.type = LG_REC_REALLOC, .addr = (uintptr_t)p, .old = (uintptr_t)old,
                         .size = n, .seq1 = seq1, .stack = true};
        record(&ev, NULL, 0);
    } else if (n == 0 && !array) { /* glibc: realloc(p, 0) frees p and returns NULL */
        lg_event_t ev = {.type = LG_REC_FREE, .addr = (uintptr_t)old, .seq1 = seq1};
        record(&ev, NULL, 0);
    } else { /* failed: the old block is untouched; publish the reserved number */
        lg_event_t ev = {.type = LG_REC_NOP, .seq1 = seq1};
        record(&ev, NULL, 0);
    }
    wrap_leave(&w);
    errno = e;
    return p;
}

EXPORT void *realloc(void *p, size_t n)
{
    return realloc_common(p, n, 0, 0, false);
}

EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_common(p, n, nmemb, size, true);
}

/* The aligned family shares one shape; `call` performs the real allocation. */
#define ALIGNED_WRAPPER(fnid, align_expr, size_expr, real_call, boot_call)                 \
    do {                                                                                    \
        lg_wrap_t w_;                                                                       \
        if (UNLIKELY(!wrap_enter(&w_))) {                                                   \
            if (UNLIKELY(!real_posix_memalign)) return boot_call;                           \
            return real_call;                                                               \
        }                                                                                   \
        void *p_ = REAL(real_call);                                                         \
        int e_ = errno;                                                                     \
        if (p_) record_alloc(LG_REC_ALIGNED, fnid, p_, size_expr, align_expr);              \
        wrap_leave(&w_);                                                                    \
        errno = e_;                                                                         \
        return p_;                                                                          \
    } while (0)

static void *via_posix_memalign(size_t a, size_t n)
{
    void *p = NULL;
    int rc = real_posix_memalign(&p, a, n);
    if (rc) {
        errno = rc;
        return NULL;
    }
    return p;
}

EXPORT void *aligned_alloc(size_t a, size_t n)
{
    ALIGNED_WRAPPER(LG_FN_ALIGNED_ALLOC, a, n,
                    real_aligned_alloc ? real_aligned_alloc(a, n) : via_posix_memalign(a, n),
                    boot_alloc(n, a));
}

EXPORT void *memalign(size_t a, size_t n)
{
    ALIGNED_WRAPPER(LG_FN_MEMALIGN, a, n,
                    real_memalign ? real_memalign(a, n) : via_posix_memalign(a, n),
                    boot_alloc(n, a));
}

EXPORT void *valloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    ALIGNED_WRAPPER(LG_FN_VALLOC, pg, n, real_valloc ? real_valloc(n) : via_posix_memalign(pg, n),
                    boot_alloc(n, pg));
}

EXPORT void *pvalloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = (n + pg - 1) & ~(pg - 1);
    if (rounded == 0) rounded = pg;
    ALIGNED_WRAPPER(LG_FN_PVALLOC, pg, rounded,
                    real_pvalloc ? real_pvalloc(n) : via_posix_memalign(pg, rounded),
                    boot_alloc(rounded, pg));
}

EXPORT int posix_memalign(void **out, size_t a, size_t n)
{
    lg_wrap_t w;
    if (UNLIKELY(!wrap_enter(&w))) {
        if (UNLIKELY(!real_posix_memalign)) {
            *out = boot_alloc(n, a);
            return *out ? 0 : ENOMEM;
        }
        return real_posix_memalign(out, a, n);
    }
    int rc = REAL(real_posix_memalign(out, a, n));
    int e = errno;
    if (rc == 0 && *out) record_alloc(LG_REC_ALIGNED, LG_FN_POSIX_MEMALIGN, *out, n, a);
    wrap_leave(&w);
    errno = e;
    return rc;
}
