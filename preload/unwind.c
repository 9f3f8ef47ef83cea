/* lg_unwind: unw_backtrace() semantics, faster (see unwind.h for the contract).
 *
 * Entry. lg_unwind_backtrace is a few lines of assembly: it takes the caller's return
 * address, stack pointer (its CFA) and RBP exactly as they are at the call, and calls
 * lg_unwind_fast_(). When that gives up (-1) the stub restores the stack and *jumps* to
 * unw_backtrace, which then sees the same caller, registers and stack as if it had been
 * called directly: the fallback result is unw_backtrace's own, buf[0] included.
 *
 * Walk (libunwind 1.6 tdep_trace, for frames it calls "standard"): for the frame at return
 * address pc, its rule (looked up at pc-1, as after a call) gives CFA = (RSP|RBP) + off; the
 * next pc is [CFA-8]; RBP is [CFA+k] or unchanged; RSP becomes the CFA. A next pc below
 * 0x4000 ends the walk (not stored); a rule "return address undefined" ends it after the pc
 * was stored. Anything else is a fallback rule: the whole call goes to unw_backtrace. Frames
 * libunwind treats specially (signal frames, frames without CFI, RBP undefined, CFA
 * expressions) all get fallback rules, so they never reach our arithmetic.
 *
 * Rule cache. One global open-addressing table of {key, rule} (two 8-byte arrays), linear
 * probing, at most LG_UNW_PROBES slots from the home slot; key = pc | epoch << 48.
 * Readers take no lock: a slot is read as key (acquire), rule, key again (seqlock with the
 * key as the version). Writers are serialised by g_fill (a try-lock); a slot is written
 * empty->rule->key, or when a stale one is reused key=BUSY->rule->key. Growth copies live
 * entries into a table twice the size and publishes it; old tables are never unmapped
 * (readers may still be in them; the total retired is less than the live table).
 * lg_unwind_flush() bumps the epoch: keys of older epochs never match and their slots are
 * reused.
 *
 * Rules come from libdw: the module containing pc-1 (dl_iterate_phdr) is opened once
 * (elf_begin on its file, /proc/self/exe for the program; the file's program headers must
 * match the loaded ones), dwarf_getcfi_elf() gives its .eh_frame CFI, dwarf_cfi_addrframe()
 * the row for pc-1. libdw is not thread-safe: it is only used under g_fill. */
#define _GNU_SOURCE
#include "unwind.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- tunables -------------------------------------------------------------------------- */
#define LG_UNW_INIT_BITS 14u  /* first table: 16384 slots, 256 KiB (pages touched lazily) */
#define LG_UNW_PROBES 32u     /* a key sits at most this many slots after its home slot */
#define LG_UNW_MAX_MODS 2048u /* modules opened at once (more: their frames fall back) */

/* ---- rules ----------------------------------------------------------------------------- */
/* 64-bit rule: bit 0 standard frame; bit 1 outermost frame (return address undefined); bit 2
 * CFA base is RBP (else RSP); bit 3 RBP restored from CFA+k; bit 4 fallback; bits 16-31 k
 * (int16; -8 when RBP is not restored, so the walk can load unconditionally); bits 32-63
 * the CFA offset (int32). Never 0. */
#define R_STD 1u
#define R_LAST 2u
#define R_CFA_RBP 4u
#define R_RBP_SAVED 8u
#define R_BAD 16u
#define R_RBP_OFF(r) ((int64_t)(int16_t)(uint16_t)((r) >> 16))
#define R_CFA_OFF(r) ((int64_t)(int32_t)(uint32_t)((r) >> 32))

static uint64_t make_rule(unsigned kind, bool cfa_rbp, bool rbp_saved, int64_t k, int64_t off)
{
    return (uint64_t)kind | (cfa_rbp ? R_CFA_RBP : 0) | (rbp_saved ? R_RBP_SAVED : 0) |
           ((uint64_t)(uint16_t)(int16_t)k << 16) | ((uint64_t)(uint32_t)(int32_t)off << 32);
}

/* ---- the table ------------------------------------------------------------------------- */
/* Key of a slot: the return address (below 2^48) | epoch << 48; 0 empty; KEY_BUSY while a
 * stale slot is rewritten. A key of an older epoch is stale: it never matches a lookup and
 * its slot may be reused. */
#define KEY_BUSY 1u
#define EPOCH_BITS 16u
#define EPOCH_MASK 0xffffu
#define PC_LIMIT ((uint64_t)1 << 48)

static inline uint64_t key_of(uint64_t pc, uint32_t epoch)
{
    return pc | ((uint64_t)(epoch & EPOCH_MASK) << 48);
}

typedef struct lg_table {
    uint64_t mask;
    unsigned shift;          /* 64 - log2(slots) */
    size_t used;             /* non-empty slots (writers only, under g_fill) */
    size_t bytes;
    _Atomic uint64_t *keys;  /* slot i: keys[i], rules[i] (two arrays: scale-8 addressing */
    _Atomic uint64_t *rules; /* on the fast path) */
} lg_table_t;

static _Atomic(lg_table_t *) g_tab;
static _Atomic uint32_t g_epoch = 1;
static atomic_int g_fill;       /* the fill lock: 0 free, 1 held; only ever try-locked */
static atomic_int g_mods_stale; /* set by flush: close every module at the next fill */
static atomic_int g_inited;

#ifdef LG_UNWIND_STATS
static _Atomic unsigned long st_fast, st_fallback, st_fills, st_bad, st_memo;
#define STAT(x) atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed)
#else
#define STAT(x) ((void)0)
#endif

static inline uint64_t home_slot(const lg_table_t *t, uint64_t key)
{
    return (key * 0x9e3779b97f4a7c15ull) >> t->shift;
}

/* The rule cached under key, or 0. t is a copy of the table's header (its fields never
 * change once published), so they stay in registers. */
static inline uint64_t table_get(const lg_table_t t_, uint64_t key)
{
    const lg_table_t *t = &t_;
    uint64_t i = home_slot(t, key);
    for (unsigned n = 0; n < LG_UNW_PROBES; n++, i = (i + 1) & t->mask) {
        uint64_t k = atomic_load_explicit(&t->keys[i], memory_order_acquire);
        if (LIKELY(k == key)) {
            uint64_t r = atomic_load_explicit(&t->rules[i], memory_order_relaxed);
            atomic_thread_fence(memory_order_acquire);
            /* a stale slot being reused under a reader that still holds the old epoch */
            if (UNLIKELY(atomic_load_explicit(&t->keys[i], memory_order_relaxed) != key)) return 0;
            return r;
        }
        if (k == 0) return 0;
    }
    return 0;
}

static lg_table_t *table_new(unsigned bits)
{
    size_t n = (size_t)1 << bits;
    size_t bytes = 64 + 2 * sizeof(uint64_t) * n;
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    lg_table_t *t = m;
    t->keys = (_Atomic uint64_t *)((char *)m + 64);
    t->rules = t->keys + n;
    t->mask = n - 1;
    t->shift = 64 - bits;
    t->used = 0;
    t->bytes = bytes;
    return t;
}

static inline bool key_stale(uint64_t k, uint32_t epoch)
{
    return k > KEY_BUSY && (k >> 48) != (epoch & EPOCH_MASK);
}

/* Writers (under g_fill). Stores rule under key; false when no slot is free within reach. */
static bool table_put(lg_table_t *t, uint64_t key, uint64_t rule, uint32_t epoch)
{
    uint64_t i = home_slot(t, key), reuse = UINT64_MAX;
    for (unsigned n = 0; n < LG_UNW_PROBES; n++, i = (i + 1) & t->mask) {
        uint64_t k = atomic_load_explicit(&t->keys[i], memory_order_relaxed);
        if (k == key) return true; /* already there (same key, same epoch: same rule) */
        if (k == 0) {
            if (reuse != UINT64_MAX) break;
            atomic_store_explicit(&t->rules[i], rule, memory_order_relaxed);
            atomic_store_explicit(&t->keys[i], key, memory_order_release);
            t->used++;
            return true;
        }
        if (reuse == UINT64_MAX && key_stale(k, epoch)) reuse = i;
    }
    if (reuse == UINT64_MAX) return false;
    atomic_store_explicit(&t->keys[reuse], KEY_BUSY, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&t->rules[reuse], rule, memory_order_relaxed);
    atomic_store_explicit(&t->keys[reuse], key, memory_order_release);
    return true;
}

/* Under g_fill: a new table (twice the size when grow) holding t's live entries. */
static lg_table_t *table_rebuild(lg_table_t *t, bool grow, uint32_t epoch)
{
    unsigned bits = 64 - t->shift + (grow ? 1 : 0);
    for (;; bits++) {
        lg_table_t *nt = table_new(bits);
        if (!nt) return NULL;
        bool ok = true;
        for (uint64_t i = 0; ok && i <= t->mask; i++) {
            uint64_t k = atomic_load_explicit(&t->keys[i], memory_order_relaxed);
            uint64_t r = atomic_load_explicit(&t->rules[i], memory_order_relaxed);
            if (k > KEY_BUSY && !key_stale(k, epoch)) ok = table_put(nt, k, r, epoch);
        }
        if (ok) return nt;
        munmap(nt, nt->bytes);
        if (bits >= 24) return NULL;
    }
}

/* ---- modules --------------------------------------------------------------------------- */
typedef struct {
    uintptr_t lo, hi, bias; /* union of the PT_LOAD ranges, absolute; load bias */
    const void *phdr;       /* dlpi_phdr: identity of the loaded object */
    Elf *elf;
    Dwarf_CFI *cfi; /* NULL: no usable CFI (every frame in it falls back) */
} lg_mod_t;

static lg_mod_t g_mods[LG_UNW_MAX_MODS];
static unsigned g_nmods;

typedef struct {
    uintptr_t pc;
    bool found;
    uintptr_t lo, hi, bias;
    const ElfW(Phdr) *phdr;
    ElfW(Half) phnum;
    const char *name;
} lg_find_t;

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    lg_find_t *q = arg;
    bool hit = false;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
        if (a < lo) lo = a;
        if (b > hi) hi = b;
        if (q->pc >= a && q->pc < b) hit = true;
    }
    if (!hit) return 0;
    q->found = true;
    q->lo = lo;
    q->hi = hi;
    q->bias = info->dlpi_addr;
    q->phdr = info->dlpi_phdr;
    q->phnum = info->dlpi_phnum;
    q->name = info->dlpi_name;
    return 1;
}

/* The file's program headers must be the loaded ones (else it is not the file we run). */
static bool phdrs_match(Elf *elf, const ElfW(Phdr) *mem, ElfW(Half) n)
{
    size_t fn;
    if (elf_getphdrnum(elf, &fn) != 0 || fn != n) return false;
    for (size_t i = 0; i < fn; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph)) return false;
        if (ph.p_type != mem[i].p_type || ph.p_vaddr != mem[i].p_vaddr ||
            ph.p_memsz != mem[i].p_memsz || ph.p_offset != mem[i].p_offset)
            return false;
    }
    return true;
}

static void close_modules(void)
{
    for (unsigned i = 0; i < g_nmods; i++) {
        if (g_mods[i].cfi) dwarf_cfi_end(g_mods[i].cfi);
        if (g_mods[i].elf) elf_end(g_mods[i].elf);
    }
    g_nmods = 0;
}

/* Under g_fill: the module holding pc (an address inside a function), or NULL. */
static lg_mod_t *module_for(uintptr_t pc)
{
    for (unsigned i = 0; i < g_nmods; i++)
        if (pc >= g_mods[i].lo && pc < g_mods[i].hi) return &g_mods[i];
    if (g_nmods >= LG_UNW_MAX_MODS) return NULL;
    lg_find_t q = {.pc = pc};
    dl_iterate_phdr(find_cb, &q);
    if (!q.found) return NULL;
    lg_mod_t *m = &g_mods[g_nmods++];
    *m = (lg_mod_t){.lo = q.lo, .hi = q.hi, .bias = q.bias, .phdr = q.phdr};
    if (q.bias == (uintptr_t)getauxval(AT_SYSINFO_EHDR)) return m; /* the vDSO: no file */
    const char *path = q.name && q.name[0] ? q.name : "/proc/self/exe";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return m;
    m->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (m->elf && elf_kind(m->elf) == ELF_K_ELF && phdrs_match(m->elf, q.phdr, q.phnum) &&
        elf_cntl(m->elf, ELF_C_FDDONE) == 0)
        m->cfi = dwarf_getcfi_elf(m->elf);
    close(fd);
    if (!m->cfi && m->elf) {
        elf_end(m->elf);
        m->elf = NULL;
    }
    return m;
}

/* The op list is CFA + c (c given back), as libdw spells "saved at CFA+c". */
static bool cfa_plus(const Dwarf_Op *ops, size_t nops, int64_t *c)
{
    if (nops == 1 && ops[0].atom == DW_OP_call_frame_cfa) {
        *c = 0;
        return true;
    }
    if (nops == 2 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_plus_uconst) {
        *c = (int64_t)ops[1].number;
        return true;
    }
    return false;
}

/* Under g_fill: the rule for return address ra (CFI row of ra-1), as libunwind's
 * tdep_stash_frame would classify it; R_BAD for anything it would not call standard or
 * that we do not reproduce. */
static uint64_t compute_rule(uintptr_t ra)
{
    uint64_t bad = make_rule(R_BAD, false, false, 0, 0);
    lg_mod_t *m = module_for(ra - 1);
    if (!m || !m->cfi) return bad;
    Dwarf_Frame *fr = NULL;
    if (dwarf_cfi_addrframe(m->cfi, (Dwarf_Addr)(ra - 1 - m->bias), &fr) != 0 || !fr) return bad;
    uint64_t rule = bad;
    Dwarf_Addr start, end;
    bool signalp = false;
    Dwarf_Op mem[3], *ops = NULL;
    size_t nops = 0;
    int64_t off = 0, k = 0;
    bool cfa_rbp = false;
    if (dwarf_frame_info(fr, &start, &end, &signalp) != 16 || signalp) goto out;
    /* CFA = rsp|rbp + off */
    if (dwarf_frame_cfa(fr, &ops, &nops) != 0 || nops != 1) goto out;
    if (ops[0].atom == DW_OP_bregx && (ops[0].number == 6 || ops[0].number == 7)) {
        cfa_rbp = ops[0].number == 6;
        off = (int64_t)ops[0].number2;
    } else if (ops[0].atom == DW_OP_breg6 || ops[0].atom == DW_OP_breg7) {
        cfa_rbp = ops[0].atom == DW_OP_breg6;
        off = (int64_t)ops[0].number;
    } else
        goto out;
    if (off <= -(1 << 28) || off >= (1 << 28)) goto out;
    /* return address: undefined = outermost frame; else saved at CFA-8 */
    if (dwarf_frame_register(fr, 16, mem, &ops, &nops) != 0) goto out;
    if (nops == 0 && ops == mem) {
        rule = make_rule(R_LAST, cfa_rbp, false, 0, off);
        goto out;
    }
    int64_t c;
    if (!cfa_plus(ops, nops, &c) || c != -8) goto out;
    /* RSP: the ABI's "value is the CFA" or unchanged; libunwind sets RSP = CFA either way */
    if (dwarf_frame_register(fr, 7, mem, &ops, &nops) != 0) goto out;
    if (!(nops == 0 && ops == NULL) &&
        !(nops == 2 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_stack_value))
        goto out;
    /* RBP: unchanged, or saved at CFA+k (undefined makes libunwind stop: fall back) */
    if (dwarf_frame_register(fr, 6, mem, &ops, &nops) != 0) goto out;
    bool rbp_saved = false;
    if (nops == 0 && ops == NULL) {
        /* same value */
    } else if (cfa_plus(ops, nops, &k) && k > -(1 << 14) && k < (1 << 14) && k != -1) {
        rbp_saved = true;
    } else
        goto out;
    rule = make_rule(R_STD, cfa_rbp, rbp_saved, k, off);
out:
    free(fr);
    return rule;
}

/* The rule for ra, computed and cached; 0 when the fill lock is busy. */
__attribute__((noinline, cold)) static uint64_t fill(uintptr_t ra, uint32_t epoch)
{
    int z = 0;
    if (!atomic_compare_exchange_strong_explicit(&g_fill, &z, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        return 0;
    if (atomic_exchange_explicit(&g_mods_stale, 0, memory_order_relaxed)) close_modules();
    STAT(st_fills);
    uint64_t rule = compute_rule(ra);
    if (rule & R_BAD) STAT(st_bad);
    lg_table_t *t = atomic_load_explicit(&g_tab, memory_order_relaxed);
    uint64_t key = key_of(ra, epoch);
    if (t) {
        bool full = t->used + 1 > (t->mask + 1) / 2;
        if (full || !table_put(t, key, rule, epoch)) {
            lg_table_t *nt = table_rebuild(t, full, epoch);
            if (nt) { /* t is retired, never unmapped: readers may still be in it */
                table_put(nt, key, rule, epoch);
                atomic_store_explicit(&g_tab, nt, memory_order_release);
            }
        }
    }
    atomic_store_explicit(&g_fill, 0, memory_order_release);
    return rule;
}

/* ---- the walk -------------------------------------------------------------------------- */
/* Notes the nr-th stack word a walk read (counted past the memo's room: then not kept). */
static inline void note_read(lg_unw_memo_t *rec, unsigned *nr, const uintptr_t *at, uintptr_t v)
{
    if (*nr < LG_UNW_MEMO_READS) {
        rec->addr[*nr] = (uintptr_t)at;
        rec->val[*nr] = v;
    }
    (*nr)++;
}

/* Walks from (ra, sp, bp). With rec, also notes every stack word read and whether bp was
 * used before being restored (rec->nreads = 0 if it read more than fits). -1: give up. */
static inline __attribute__((always_inline)) int walk(void **buf, int max, uintptr_t ra,
                                                      uintptr_t sp, uintptr_t bp,
                                                      lg_unw_memo_t *rec)
{
    const lg_table_t *tp = atomic_load_explicit(&g_tab, memory_order_acquire);
    if (UNLIKELY(!tp || max <= 0 || ra < 0x4000 || ra >= PC_LIMIT)) return -1;
    lg_table_t t = *tp;
    uint32_t epoch = atomic_load_explicit(&g_epoch, memory_order_relaxed);
    uint64_t ekey = (uint64_t)(epoch & EPOCH_MASK) << 48;
    uintptr_t pc = ra;
    int n = 0;
    unsigned nr = 0;
    /* RBP matters only where a CFA is computed from it: a restored RBP is noted as an input
     * then (its address depends on words already noted), the initial one flags use_bp0. */
    const uintptr_t *bp_at = NULL; /* where bp was last restored from; NULL: initial */
    bool bp_noted = false, use_bp0 = false;
    buf[n++] = (void *)pc;
    while (n < max) {
        uint64_t r = table_get(t, pc | ekey);
        if (UNLIKELY(!r)) {
            r = fill(pc, epoch);
            if (!r) return -1;
            tp = atomic_load_explicit(&g_tab, memory_order_acquire);
            if (UNLIKELY(!tp)) return -1;
            t = *tp;
        }
        if (LIKELY(r & R_STD)) {
            if (rec && (r & R_CFA_RBP)) {
                if (!bp_at)
                    use_bp0 = true;
                else if (!bp_noted) {
                    note_read(rec, &nr, bp_at, bp);
                    bp_noted = true;
                }
            }
            uintptr_t cfa = ((r & R_CFA_RBP) ? bp : sp) + (uintptr_t)R_CFA_OFF(r);
            const uintptr_t *ra_at = (const uintptr_t *)(cfa - 8);
            uintptr_t next = *ra_at;
            if (rec) note_read(rec, &nr, ra_at, next);
            if (r & R_RBP_SAVED) {
                bp_at = (const uintptr_t *)(cfa + (uintptr_t)R_RBP_OFF(r));
                bp = *bp_at;
                bp_noted = false;
            }
            sp = cfa;
            if (next < 0x4000) break;
            if (UNLIKELY(next >= PC_LIMIT)) return -1;
            buf[n++] = (void *)next;
            pc = next;
        } else if (r & R_LAST)
            break;
        else
            return -1;
    }
    if (rec) {
        rec->nreads = nr <= LG_UNW_MEMO_READS ? (uint16_t)nr : 0;
        rec->use_bp0 = use_bp0;
        rec->epoch = epoch;
    }
    return n;
}

int lg_unwind_fast_(void **buf, int max, uintptr_t ra, uintptr_t sp, uintptr_t bp)
    __attribute__((used, noinline, visibility("hidden")));

int lg_unwind_fast_(void **buf, int max, uintptr_t ra, uintptr_t sp, uintptr_t bp)
{
    int n = walk(buf, max, ra, sp, bp, NULL);
    if (n < 0) STAT(st_fallback);
    else STAT(st_fast);
    return n;
}

/* Does e remember a walk from these registers, and does the stack still hold its words? */
static inline bool memo_matches(const lg_unw_memo_t *e, int max, uintptr_t ra, uintptr_t sp,
                                uintptr_t bp, uint32_t epoch)
{
    if (e->sp0 != sp || e->ra0 != ra || e->max != max || !e->nreads || e->epoch != epoch ||
        (e->use_bp0 && e->bp0 != bp))
        return false;
    /* in order: each address follows from the registers and the words before it, and is one
     * the walk reads */
    for (unsigned i = 0; i < e->nreads; i++)
        if (*(const uintptr_t *)e->addr[i] != e->val[i]) return false;
    return true;
}

int lg_unwind_memo_(void **buf, int max, lg_unw_memo_set_t *set, lg_unw_memo_t **entry,
                    uintptr_t ra, uintptr_t sp, uintptr_t bp)
    __attribute__((used, noinline, visibility("hidden")));

int lg_unwind_memo_(void **buf, int max, lg_unw_memo_set_t *set, lg_unw_memo_t **entry,
                    uintptr_t ra, uintptr_t sp, uintptr_t bp)
{
    *entry = NULL;
    uint32_t epoch = atomic_load_explicit(&g_epoch, memory_order_relaxed);
    unsigned s = (unsigned)((((sp >> 3) ^ ((uint64_t)max << 40)) * 0x9e3779b97f4a7c15ull) >> 58) &
                 (LG_UNW_MEMO_SETS - 1);
    lg_unw_memo_t *ways = set->e[s];
    for (unsigned w = 0; w < LG_UNW_MEMO_WAYS; w++) {
        if (memo_matches(&ways[w], max, ra, sp, bp, epoch)) {
            *entry = &ways[w];
            STAT(st_memo);
            return LG_UNW_HIT;
        }
    }
    lg_unw_memo_t *victim = &ways[set->clock[s]++ % LG_UNW_MEMO_WAYS];
    victim->nreads = 0;
    int n = walk(buf, max, ra, sp, bp, victim); /* a walk that gives up leaves nreads 0 */
    if (n < 0) return -1; /* counted as a fallback by the caller's lg_unwind_backtrace */
    STAT(st_fast);
    if (victim->nreads) {
        victim->ra0 = ra;
        victim->sp0 = sp;
        victim->bp0 = bp;
        victim->max = max;
        victim->value = 0;
        *entry = victim;
    }
    return n;
}

int lg_unwind_memo_from(void **buf, int max, lg_unw_memo_set_t *set, lg_unw_memo_t **entry,
                        const lg_unw_regs_t *at)
{
    return lg_unwind_memo_(buf, max, set, entry, at->ra, at->sp, at->bp);
}

/* The entry: caller's return address, stack pointer after return and RBP as they are at the
 * call; on -1, restore and tail-jump to unw_backtrace with the original arguments. */
__asm__(".text\n"
        ".globl lg_unwind_backtrace\n"
        ".hidden lg_unwind_backtrace\n"
        ".type lg_unwind_backtrace, @function\n"
        ".p2align 4\n"
        "lg_unwind_backtrace:\n"
        ".cfi_startproc\n"
        "  endbr64\n"
        "  movq (%rsp), %rdx\n"
        "  leaq 8(%rsp), %rcx\n"
        "  movq %rbp, %r8\n"
        "  pushq %rdi\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  pushq %rsi\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  subq $8, %rsp\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  call lg_unwind_fast_\n"
        "  addq $8, %rsp\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  popq %rsi\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  popq %rdi\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  testl %eax, %eax\n"
        "  js 1f\n"
        "  ret\n"
        "1:\n"
        "  jmp unw_backtrace@PLT\n"
        ".cfi_endproc\n"
        ".size lg_unwind_backtrace, .-lg_unwind_backtrace\n");

/* The memo's entry: registers as at the call, RBP passed on the stack (7th argument). */
__asm__(".text\n"
        ".globl lg_unwind_memo\n"
        ".hidden lg_unwind_memo\n"
        ".type lg_unwind_memo, @function\n"
        ".p2align 4\n"
        "lg_unwind_memo:\n"
        ".cfi_startproc\n"
        "  endbr64\n"
        "  movq (%rsp), %r8\n"
        "  leaq 8(%rsp), %r9\n"
        "  pushq %rbp\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  call lg_unwind_memo_\n"
        "  addq $8, %rsp\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  ret\n"
        ".cfi_endproc\n"
        ".size lg_unwind_memo, .-lg_unwind_memo\n");

/* ---- init, flush, fork ----------------------------------------------------------------- */
static void atfork_child(void)
{
    /* A thread of the parent may have held the fill lock mid-libdw: abandon (leak) the
     * modules it was using rather than trust their state; the rules stay valid. */
    if (atomic_load_explicit(&g_fill, memory_order_relaxed)) {
        g_nmods = 0;
        atomic_store_explicit(&g_fill, 0, memory_order_relaxed);
    }
}

int lg_unwind_init(void)
{
    int z = 0;
    if (!atomic_compare_exchange_strong(&g_inited, &z, 1)) return 0;
    if (elf_version(EV_CURRENT) == EV_NONE) {
        atomic_store(&g_inited, 0);
        return -EINVAL;
    }
    lg_table_t *t = table_new(LG_UNW_INIT_BITS);
    if (!t) {
        atomic_store(&g_inited, 0);
        return -ENOMEM;
    }
    int e = pthread_atfork(NULL, NULL, atfork_child);
    if (e) {
        munmap(t, t->bytes);
        atomic_store(&g_inited, 0);
        return -e;
    }
    atomic_store_explicit(&g_tab, t, memory_order_release);
    return 0;
}

void lg_unwind_flush(void)
{
    if (!atomic_load(&g_inited)) return;
    atomic_store(&g_mods_stale, 1);
    uint32_t e = atomic_fetch_add(&g_epoch, 1) + 1;
    if ((e & EPOCH_MASK) != 0) return;
    /* The epoch field wrapped: keys 65536 flushes old would read as current. Start an
     * empty table (the old one is retired, not unmapped), and skip epoch 0. */
    for (int z = 0; !atomic_compare_exchange_strong(&g_fill, &z, 1); z = 0) sched_yield();
    lg_table_t *t = atomic_load(&g_tab);
    lg_table_t *nt = table_new(64 - t->shift);
    atomic_store_explicit(&g_tab, nt, memory_order_release); /* NULL: everything falls back */
    atomic_fetch_add(&g_epoch, 1);
    atomic_store_explicit(&g_fill, 0, memory_order_release);
}

#ifdef LG_UNWIND_STATS
void lg_unwind_get_stats(lg_unwind_stats_t *out)
{
    out->fast = atomic_load(&st_fast);
    out->fallback = atomic_load(&st_fallback);
    out->fills = atomic_load(&st_fills);
    out->bad_rules = atomic_load(&st_bad);
    out->memo_hits = atomic_load(&st_memo);
}
#endif
