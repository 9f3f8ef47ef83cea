/* shim/alloc_wrappers.c: the interposed malloc family (hooks.h is the list): malloc, calloc,
 * free, free_sized, free_aligned_sized, realloc, reallocarray, aligned_alloc, memalign,
 * valloc, pvalloc, posix_memalign. Every wrapper has one shape: if not tracing or re-entered
 * (one unlikely test, enter()), pass through to the real function (or to the bootstrap arena
 * before it is known), unless a re-entered call is a program signal handler's (sig_enter(),
 * below); else guard, real call, record on success, errno preserved. A free is
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
 * A program's signal handler that allocates while its thread is inside the shim (here, in
 * record(), in a check, in the self-mode drain, ...) finds the guard held, as the shim's own
 * allocations do (the unwinder's, the drain's), which must pass through unrecorded. Its
 * allocations are the program's: Memcheck sees them, and a block it leaks must be reported.
 * Every program handler runs through the shim's trampoline (signal_view.c), which sets
 * tls.sig_base to the guard it found plus 1 while the handler runs, and restores it after.
 * The shim raises the guard before any work of its own, so a re-entered call with
 * guard + 1 == sig_base is exactly the handler's: no level of the shim was entered between
 * the handler and this call. The shim's own allocations run at least one level above the
 * handler's base, and a handler that interrupted the program (guard 0) records its calls on
 * the ordinary path. A handler left by longjmp leaves a stale sig_base behind: it is the guard
 * of the code it interrupted plus 1, which then runs no more (its guard level is never
 * entered again by the shim: it keeps it), or 1 (a handler that interrupted the program),
 * which no re-entered call can match. No stack is read, so nothing can pass for a handler.
 * A handler's call makes the real call and queues its event (record.c, queue_event()): with
 * its sequence numbers, without a stack, written by the thread's next record(); a full queue
 * counts the event lost. This test runs only on the re-entered path. */
static inline bool sig_enter(void)
{
    if (LIKELY(tls.guard + 1 != tls.sig_base) || tls.guard <= 0 || !tracing()) return false;
    tls.sig_queue++;
    return true;
}

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
    bool q = false;
    if (UNLIKELY(!enter()) && LIKELY(!(q = sig_enter()))) {
        if (UNLIKELY(!real_malloc)) return boot_alloc(n, 16);
        return real_malloc(n);
    }
    tls.guard++;
    void *p = real_malloc(n);
    int e = errno;
    if (p) record_alloc(LG_REC_MALLOC, LG_FN_MALLOC, p, n, 0);
    tls.guard--;
    if (UNLIKELY(q)) tls.sig_queue--;
    errno = e;
    return p;
}

EXPORT void *calloc(size_t n, size_t s)
{
    bool q = false;
    if (UNLIKELY(!enter()) && LIKELY(!(q = sig_enter()))) {
        if (UNLIKELY(!real_calloc)) {
            size_t t;
            if (__builtin_mul_overflow(n, s, &t)) return NULL;
            return boot_alloc(t, 16); /* static memory is zero */
        }
        return real_calloc(n, s);
    }
    tls.guard++;
    void *p = real_calloc(n, s);
    int e = errno;
    if (p) record_alloc(LG_REC_CALLOC, LG_FN_CALLOC, p, n * s, 0);
    tls.guard--;
    if (UNLIKELY(q)) tls.sig_queue--;
    errno = e;
    return p;
}

EXPORT void free(void *p)
{
    if (UNLIKELY(!p || is_boot(p))) return;
    bool q = false;
    if (UNLIKELY(!enter()) && LIKELY(!(q = sig_enter()))) {
        if (real_free) real_free(p);
        return;
    }
    tls.guard++;
    int e = errno;
    record_free(p);
    real_free(p);
    tls.guard--;
    if (UNLIKELY(q)) tls.sig_queue--;
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
    bool q = false;
    if (UNLIKELY(!enter()) && LIKELY(!(q = sig_enter()))) {
        if (UNLIKELY(!real_realloc)) return old ? NULL : boot_alloc(n, 16);
        return array && real_reallocarray ? real_reallocarray(old, nmemb, size)
                                          : real_realloc(old, n);
    }
    tls.guard++;
    /* Reserve the free's sequence number before the real call: once realloc released the old
     * block, another thread may get the same address and record it. */
    size_t had = old && g_scrub_max ? malloc_usable_size(old) : 0;
    int64_t seq1 = old ? (int64_t)atomic_fetch_add(&g_region->hdr.seq, 1) : -1;
    void *p = array && real_reallocarray ? real_reallocarray(old, nmemb, size) : real_realloc(old, n);
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
    tls.guard--;
    if (UNLIKELY(q)) tls.sig_queue--;
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
        bool q = false;                                                                     \
        if (UNLIKELY(!enter()) && LIKELY(!(q = sig_enter()))) {                             \
            if (UNLIKELY(!real_posix_memalign)) return boot_call;                           \
            return real_call;                                                               \
        }                                                                                   \
        tls.guard++;                                                                        \
        void *p_ = real_call;                                                               \
        int e_ = errno;                                                                     \
        if (p_) record_alloc(LG_REC_ALIGNED, fnid, p_, size_expr, align_expr);              \
        tls.guard--;                                                                        \
        if (UNLIKELY(q)) tls.sig_queue--;                                                   \
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
    bool q = false;
    if (UNLIKELY(!enter()) && LIKELY(!(q = sig_enter()))) {
        if (UNLIKELY(!real_posix_memalign)) {
            *out = boot_alloc(n, a);
            return *out ? 0 : ENOMEM;
        }
        return real_posix_memalign(out, a, n);
    }
    tls.guard++;
    int rc = real_posix_memalign(out, a, n);
    int e = errno;
    if (rc == 0 && *out) record_alloc(LG_REC_ALIGNED, LG_FN_POSIX_MEMALIGN, *out, n, a);
    tls.guard--;
    if (UNLIKELY(q)) tls.sig_queue--;
    errno = e;
    return rc;
}
