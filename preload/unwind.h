/* lg_unwind: a fast stack unwinder for x86-64 Linux that gives exactly what libunwind's
 * unw_backtrace() gives (libunwind 1.6: raw return addresses, innermost first).
 *
 * Per return address it caches a CFA rule taken from the module's .eh_frame (elfutils libdw):
 * CFA = RSP|RBP + off, return address at CFA-8, RBP unchanged or restored from CFA+k, or
 * "outermost frame" (the CFI marks the return address undefined: _start, clone3). A walk
 * whose every frame has such a rule runs without locks, allocation or system calls; a walk
 * that meets any other frame (signal trampoline, CFA expression, no CFI, vDSO, frame-pointer
 * guess, ...) is handed whole to unw_backtrace(), so the result is libunwind's by
 * construction. The rule table is global, lock-free for readers, filled under a try-lock
 * (a caller that finds it busy falls back to unw_backtrace for that call). */
#ifndef LG_UNWIND_H
#define LG_UNWIND_H

#ifdef __cplusplus
extern "C" {
#endif

#define LG_UNWIND_API __attribute__((visibility("hidden")))

/* Initialise once per process; returns 0 or -errno. Idempotent; a forked child needs no
 * call (an atfork handler resets the fill lock). Must not be called from a signal handler.
 * Before it (or if it failed) lg_unwind_backtrace() is unw_backtrace(). */
LG_UNWIND_API int lg_unwind_init(void);

/* Exactly unw_backtrace(buf, max): buf[0] is the return address of this call (an address
 * in the calling function), then the return addresses of the outer frames; returns the
 * number stored (0 when max <= 0). Async-signal-safe after init as long as every frame's
 * rule is cached; a frame not yet cached is looked up with libdw (may allocate, open files
 * and take the loader lock via dl_iterate_phdr). */
LG_UNWIND_API int lg_unwind_backtrace(void **buf, int max);

/* Call after dlopen/dlclose changed the loaded objects: cached rules and opened modules are
 * dropped (lazily). Not from a signal handler. */
LG_UNWIND_API void lg_unwind_flush(void);

#ifdef LG_UNWIND_STATS
/* Test builds only (-DLG_UNWIND_STATS): calls served by the fast path, calls handed to
 * unw_backtrace, rules computed with libdw, of which not cacheable (fallback rules). */
typedef struct lg_unwind_stats {
    unsigned long fast, fallback, fills, bad_rules;
} lg_unwind_stats_t;
LG_UNWIND_API void lg_unwind_get_stats(lg_unwind_stats_t *out);
#endif

#ifdef __cplusplus
}
#endif
#endif
