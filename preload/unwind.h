/* lg_unwind: a fast stack unwinder for x86-64 Linux that gives exactly what libunwind's
 * unw_backtrace() gives (libunwind 1.6: raw return addresses, innermost first).
 *
 * Per return address it caches a CFA rule taken from the module's loaded .eh_frame (read in
 * memory through its PT_GNU_EH_FRAME segment, no file opened):
 * CFA = RSP|RBP + off, return address at CFA-8, RBP unchanged or restored from CFA+k, or
 * "outermost frame" (the CFI marks the return address undefined: _start, clone3). A walk
 * whose every frame has such a rule runs without locks, allocation or system calls; a walk
 * that meets any other frame (signal trampoline, CFA expression, no CFI, vDSO, frame-pointer
 * guess, ...) is handed whole to unw_backtrace(), so the result is libunwind's by
 * construction. The rule table is global, lock-free for readers, filled under a try-lock
 * (a caller that finds it busy computes the rule without caching it). */
#ifndef LG_UNWIND_H
#define LG_UNWIND_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdint.h>

#define LG_UNWIND_API __attribute__((visibility("hidden")))

/* Initialise once per process; returns 0 or -errno. Idempotent; a forked child needs no
 * call (an atfork handler resets the fill lock). Must not be called from a signal handler.
 * Before it (or if it failed) lg_unwind_backtrace() is unw_backtrace(). */
LG_UNWIND_API int lg_unwind_init(void);

/* Exactly unw_backtrace(buf, max): buf[0] is the return address of this call (an address
 * in the calling function), then the return addresses of the outer frames; returns the
 * number stored (0 when max <= 0). Async-signal-safe after init as long as every frame's
 * rule is cached; a frame not yet cached is looked up in its object's loaded .eh_frame under
 * the loader lock (dl_iterate_phdr): no allocation, no file, no system call but the lock's
 * futex (and mmap when the rule table grows). */
LG_UNWIND_API int lg_unwind_backtrace(void **buf, int max);

/* ---- memo of walks ----------------------------------------------------------------------
 * A walk is a function of the registers at the call (return address, stack pointer, and RBP
 * when a frame's CFA is RBP-based before any RBP is restored) and of the stack words it
 * reads (return addresses, saved RBPs), each read at an address computed from the earlier
 * ones. A memo entry keeps those inputs; a later call whose registers are equal and whose
 * words at the same addresses are equal, checked in order, would walk to the same frames:
 * the entry's `value` (the caller's name for that stack) is the answer, without a walk.
 * Checking in order reads no address the walk itself would not read. One set per thread
 * (the addresses are on that thread's stack): the caller owns it and clears it when the
 * set changes hands. */
#define LG_UNW_MEMO_READS 40u /* walks reading more words are not remembered */
#define LG_UNW_MEMO_WAYS 4u
#define LG_UNW_MEMO_SETS 16u
#define LG_UNW_HIT (-2)

typedef struct lg_unw_memo {
    uintptr_t ra0, sp0, bp0; /* registers at the call */
    uint32_t epoch;          /* rule epoch of the walk (lg_unwind_flush changes it) */
    uint16_t nreads;         /* 0: empty */
    uint8_t use_bp0;         /* the walk used bp0 */
    uint8_t pad;
    int max;                 /* the walk's frame limit */
    uint32_t value;          /* set by the caller after the walk */
    uintptr_t addr[LG_UNW_MEMO_READS], val[LG_UNW_MEMO_READS];
} lg_unw_memo_t;

typedef struct lg_unw_memo_set {
    lg_unw_memo_t e[LG_UNW_MEMO_SETS][LG_UNW_MEMO_WAYS];
    uint32_t clock[LG_UNW_MEMO_SETS]; /* round-robin victim per set */
} lg_unw_memo_set_t;

/* lg_unwind_backtrace(buf, max) through `set`. Returns LG_UNW_HIT with *entry the matching
 * entry (buf untouched: the caller takes entry->value); or the number of frames walked
 * into buf, with *entry the entry that now remembers the walk (the caller sets its value)
 * or NULL when the walk cannot be remembered; or -1 when the fast walk gave up (the caller
 * calls lg_unwind_backtrace). */
LG_UNWIND_API int lg_unwind_memo(void **buf, int max, lg_unw_memo_set_t *set, lg_unw_memo_t **entry);

/* The registers that start a walk at a function's caller: the return address into it, its
 * stack pointer after the return, and RBP (callee-saved, so still the caller's at entry). */
typedef struct lg_unw_regs {
    uintptr_t ra, sp, bp;
} lg_unw_regs_t;

/* lg_unwind_memo, but the walk starts from `at` (captured at the entry of an exported
 * function, see the shim's hook entries) instead of at the call: its first frame is at->ra,
 * and no frame of the callee is read or returned. */
LG_UNWIND_API int lg_unwind_memo_from(void **buf, int max, lg_unw_memo_set_t *set,
                                      lg_unw_memo_t **entry, const lg_unw_regs_t *at);

/* Call after dlopen/dlclose changed the loaded objects: cached rules are dropped (lazily).
 * Not from a signal handler. */
LG_UNWIND_API void lg_unwind_flush(void);

#ifdef LG_UNWIND_STATS
/* Test builds only (-DLG_UNWIND_STATS): calls served by the fast path, calls handed to
 * unw_backtrace, rules computed from .eh_frame, of which not cacheable (fallback rules). */
typedef struct lg_unwind_stats {
    unsigned long fast, fallback, fills, bad_rules, memo_hits;
} lg_unwind_stats_t;
LG_UNWIND_API void lg_unwind_get_stats(lg_unwind_stats_t *out);
#endif

#ifdef __cplusplus
}
#endif
#endif
