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
 * empty->rule->key, or when a stale one is reused key=BUSY->rule->key (a caller that finds the
 * lock busy computes its rule without caching it). Growth copies live
 * entries into a table twice the size and publishes it; old tables are never unmapped
 * (readers may still be in them; the total retired is less than the live table).
 * lg_unwind_flush() bumps the epoch: keys of older epochs never match and their slots are
 * reused.
 *
 * Rules come from the loaded objects' own .eh_frame_hdr and .eh_frame, read in memory under
 * g_fill (see "CFI from memory"): no file is opened, nothing allocated, so a fill needs no
 * system call a sandboxed program (seccomp) may have forbidden itself after start-up. */
#define _GNU_SOURCE
#include "unwind.h"

#include <errno.h>
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

/* ---- CFI from memory ------------------------------------------------------------------
 * The rule of a return address comes from the loaded image itself, as libunwind finds it:
 * dl_iterate_phdr gives the object holding ra-1 and its PT_GNU_EH_FRAME segment (the
 * .eh_frame_hdr), whose sorted table (initial location -> FDE) is binary-searched; the FDE
 * and its CIE are read in the loaded .eh_frame and their call-frame programs are run up to
 * ra-1. Everything happens inside the dl_iterate_phdr callback: the loader lock it holds keeps
 * a concurrent dlclose from unmapping the object while it is read. No file is opened, no
 * memory allocated, no system call made (the loader lock is a futex only when contended).
 *
 * Reads are bounded: a cursor never goes past the segment it reads (the PT_GNU_EH_FRAME
 * segment for the header and table, the readable PT_LOAD segment holding .eh_frame for FDEs
 * and CIEs, and the record's own length within it). Whatever is not understood (a version,
 * an augmentation, an encoding, an opcode, a state stack deeper than LG_UNW_STATES, a 64-bit
 * length) makes the rule a fallback: unw_backtrace then walks that frame, as it always did.
 *
 * Only the rules of RBP (6), RSP (7) and the return address (16) matter to the
 * classification; the other registers' opcodes are parsed (to stay in step) and ignored. */
#define LG_UNW_STATES 8u /* DW_CFA_remember_state depth */
#define LG_UNW_AUG 16u   /* longest augmentation string understood */

typedef struct {
    const uint8_t *p, *end;
} cur_t;

static bool rd_bytes(cur_t *c, void *out, size_t n)
{
    if ((size_t)(c->end - c->p) < n) return false;
    memcpy(out, c->p, n);
    c->p += n;
    return true;
}

static bool rd_u8(cur_t *c, uint8_t *v) { return rd_bytes(c, v, 1); }

static bool rd_uleb(cur_t *c, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        if (shift < 64) r |= (uint64_t)(b & 0x7f) << shift;
        else if (b & 0x7f) return false;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

static bool rd_sleb(cur_t *c, int64_t *v)
{
    uint64_t r = 0;
    unsigned shift = 0;
    while (c->p < c->end) {
        uint8_t b = *c->p++;
        if (shift < 64) r |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40)) r |= ~(uint64_t)0 << shift;
            *v = (int64_t)r;
            return true;
        }
    }
    return false;
}

/* DW_EH_PE_* (the .eh_frame pointer encodings) */
#define PE_OMIT 0xffu
#define PE_FMT 0x0fu
#define PE_APP 0x70u
#define PE_INDIRECT 0x80u
#define PE_PCREL 0x10u
#define PE_DATAREL 0x30u

/* A pointer in encoding enc: absolute, or relative to the field (pcrel) or to datarel (the
 * .eh_frame_hdr; 0: not allowed). An indirect pointer is returned undereferenced: only the
 * personality's is skipped that way (raw != NULL says so). */
static bool rd_enc(cur_t *c, uint8_t enc, uintptr_t datarel, uint64_t *out, bool raw)
{
    const uint8_t *at = c->p;
    uint64_t v;
    switch (enc & PE_FMT) {
    case 0x0: { uint64_t x; if (!rd_bytes(c, &x, 8)) return false; v = x; break; }
    case 0x1: if (!rd_uleb(c, &v)) return false; break;
    case 0x2: { uint16_t x; if (!rd_bytes(c, &x, 2)) return false; v = x; break; }
    case 0x3: { uint32_t x; if (!rd_bytes(c, &x, 4)) return false; v = x; break; }
    case 0x4: { uint64_t x; if (!rd_bytes(c, &x, 8)) return false; v = x; break; }
    case 0x9: { int64_t x; if (!rd_sleb(c, &x)) return false; v = (uint64_t)x; break; }
    case 0xa: { int16_t x; if (!rd_bytes(c, &x, 2)) return false; v = (uint64_t)(int64_t)x; break; }
    case 0xb: { int32_t x; if (!rd_bytes(c, &x, 4)) return false; v = (uint64_t)(int64_t)x; break; }
    case 0xc: { int64_t x; if (!rd_bytes(c, &x, 8)) return false; v = (uint64_t)x; break; }
    default: return false;
    }
    switch (enc & PE_APP) {
    case 0: break;
    case PE_PCREL: v += (uintptr_t)at; break;
    case PE_DATAREL: if (!datarel) return false; v += datarel; break;
    default: return false;
    }
    if ((enc & PE_INDIRECT) && !raw) return false;
    *out = v;
    return true;
}

/* The rule of one tracked register (RBP, RSP, RA) in a CFI row. */
enum { RR_UNSPEC, RR_SAME, RR_UNDEF, RR_OFFSET, RR_VALOFF, RR_OTHER };
typedef struct {
    uint8_t kind;
    int64_t off; /* RR_OFFSET: saved at CFA+off; RR_VALOFF: value is CFA+off */
} reg_rule_t;

typedef struct {
    uint64_t cfa_reg;
    int64_t cfa_off;
    bool cfa_expr; /* CFA given by an expression (never a standard frame) */
    reg_rule_t r[3]; /* RBP, RSP, RA */
} row_t;

static int tracked(uint64_t reg)
{
    return reg == 6 ? 0 : reg == 7 ? 1 : reg == 16 ? 2 : -1;
}

static void set_rule(row_t *row, uint64_t reg, uint8_t kind, int64_t off)
{
    if (tracked(reg) >= 0) row->r[tracked(reg)] = (reg_rule_t){kind, off};
}

static void restore_rule(row_t *row, uint64_t reg, const row_t *init)
{
    if (tracked(reg) >= 0) row->r[tracked(reg)] = init->r[tracked(reg)];
}

typedef struct {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    bool signal;    /* 'S': a signal frame */
    cur_t init;     /* initial instructions */
    bool has_z;
} cie_t;

/* Runs the call-frame program in c on row (init: the row after the CIE's initial
 * instructions, for DW_CFA_restore) from location loc until an advance would pass target.
 * false: something not understood. */
static bool run_cfa(cur_t c, const cie_t *cie, uint64_t loc, uint64_t target, row_t *row,
                    const row_t *init)
{
    row_t stack[LG_UNW_STATES];
    unsigned depth = 0;
    while (c.p < c.end) {
        uint8_t op;
        if (!rd_u8(&c, &op)) return false;
        uint64_t reg = 0, u = 0, delta = 0;
        int64_t sv = 0;
        bool adv = false, set = false;
        switch (op & 0xc0) {
        case 0x40: delta = op & 0x3f; adv = true; break;
        case 0x80:
            if (!rd_uleb(&c, &u)) return false;
            reg = op & 0x3f;
            set_rule(row, reg, RR_OFFSET, (int64_t)u * cie->data_align);
            continue;
        case 0xc0:
            reg = op & 0x3f;
            restore_rule(row, reg, init);
            continue;
        default: break;
        }
        if (!adv) switch (op) {
        case 0x00: continue; /* nop */
        case 0x01: { /* set_loc */
            uint64_t a;
            if (!rd_enc(&c, cie->fde_enc, 0, &a, false)) return false;
            if (a > target) return true;
            loc = a;
            set = true;
            break;
        }
        case 0x02: { uint8_t d; if (!rd_u8(&c, &d)) return false; delta = d; adv = true; break; }
        case 0x03: { uint16_t d; if (!rd_bytes(&c, &d, 2)) return false; delta = d; adv = true; break; }
        case 0x04: { uint32_t d; if (!rd_bytes(&c, &d, 4)) return false; delta = d; adv = true; break; }
        case 0x05: /* offset_extended */
            if (!rd_uleb(&c, &reg) || !rd_uleb(&c, &u)) return false;
            set_rule(row, reg, RR_OFFSET, (int64_t)u * cie->data_align);
            continue;
        case 0x06: /* restore_extended */
            if (!rd_uleb(&c, &reg)) return false;
            restore_rule(row, reg, init);
            continue;
        case 0x07: case 0x08: /* undefined, same_value */
            if (!rd_uleb(&c, &reg)) return false;
            set_rule(row, reg, op == 0x07 ? RR_UNDEF : RR_SAME, 0);
            continue;
        case 0x09: /* register */
            if (!rd_uleb(&c, &reg) || !rd_uleb(&c, &u)) return false;
            set_rule(row, reg, RR_OTHER, 0);
            continue;
        case 0x0a: /* remember_state */
            if (depth >= LG_UNW_STATES) return false;
            stack[depth++] = *row;
            continue;
        case 0x0b: /* restore_state: the whole row, the CFA included (as libgcc, libunwind) */
            if (!depth) return false;
            *row = stack[--depth];
            continue;
        case 0x0c: /* def_cfa */
            if (!rd_uleb(&c, &reg) || !rd_uleb(&c, &u)) return false;
            row->cfa_reg = reg;
            row->cfa_off = (int64_t)u;
            row->cfa_expr = false;
            continue;
        case 0x0d: /* def_cfa_register */
            if (!rd_uleb(&c, &reg)) return false;
            if (row->cfa_expr) return false;
            row->cfa_reg = reg;
            continue;
        case 0x0e: /* def_cfa_offset */
            if (!rd_uleb(&c, &u)) return false;
            if (row->cfa_expr) return false;
            row->cfa_off = (int64_t)u;
            continue;
        case 0x0f: /* def_cfa_expression */
            if (!rd_uleb(&c, &u) || u > (uint64_t)(c.end - c.p)) return false;
            c.p += u;
            row->cfa_expr = true;
            continue;
        case 0x10: case 0x16: /* expression, val_expression */
            if (!rd_uleb(&c, &reg) || !rd_uleb(&c, &u) || u > (uint64_t)(c.end - c.p)) return false;
            c.p += u;
            set_rule(row, reg, RR_OTHER, 0);
            continue;
        case 0x11: /* offset_extended_sf */
            if (!rd_uleb(&c, &reg) || !rd_sleb(&c, &sv)) return false;
            set_rule(row, reg, RR_OFFSET, sv * cie->data_align);
            continue;
        case 0x12: /* def_cfa_sf */
            if (!rd_uleb(&c, &reg) || !rd_sleb(&c, &sv)) return false;
            row->cfa_reg = reg;
            row->cfa_off = sv * cie->data_align;
            row->cfa_expr = false;
            continue;
        case 0x13: /* def_cfa_offset_sf */
            if (!rd_sleb(&c, &sv)) return false;
            if (row->cfa_expr) return false;
            row->cfa_off = sv * cie->data_align;
            continue;
        case 0x14: /* val_offset */
            if (!rd_uleb(&c, &reg) || !rd_uleb(&c, &u)) return false;
            set_rule(row, reg, RR_VALOFF, (int64_t)u * cie->data_align);
            continue;
        case 0x15: /* val_offset_sf */
            if (!rd_uleb(&c, &reg) || !rd_sleb(&c, &sv)) return false;
            set_rule(row, reg, RR_VALOFF, sv * cie->data_align);
            continue;
        case 0x2e: /* GNU_args_size */
            if (!rd_uleb(&c, &u)) return false;
            continue;
        case 0x2f: /* GNU_negative_offset_extended */
            if (!rd_uleb(&c, &reg) || !rd_uleb(&c, &u)) return false;
            set_rule(row, reg, RR_OFFSET, -((int64_t)u * cie->data_align));
            continue;
        default: return false;
        }
        if (adv) {
            uint64_t next = loc + delta * cie->code_align;
            if (next > target || next < loc) return true;
            loc = next;
        }
        (void)set;
    }
    return true;
}

/* One CFI record (CIE or FDE) at p in [lo, hi): its body (after the length) in *body, its
 * end; false when it does not fit, is the terminator or uses the 64-bit format. */
static bool record_at(const uint8_t *p, const uint8_t *lo, const uint8_t *hi, cur_t *body)
{
    if (p < lo || p >= hi || (size_t)(hi - p) < 8) return false;
    uint32_t len;
    memcpy(&len, p, 4);
    if (len == 0 || len == 0xffffffffu || len > (size_t)(hi - p) - 4) return false;
    body->p = p + 4;
    body->end = p + 4 + len;
    return true;
}

/* The CIE at p (in [lo, hi)). */
static bool parse_cie(const uint8_t *p, const uint8_t *lo, const uint8_t *hi, cie_t *cie)
{
    cur_t c;
    if (!record_at(p, lo, hi, &c)) return false;
    uint32_t id;
    uint8_t version;
    if (!rd_bytes(&c, &id, 4) || id != 0 || !rd_u8(&c, &version)) return false;
    if (version != 1 && version != 3) return false;
    char aug[LG_UNW_AUG];
    unsigned na = 0;
    for (;;) {
        uint8_t ch;
        if (!rd_u8(&c, &ch)) return false;
        if (!ch) break;
        if (na + 1 >= LG_UNW_AUG) return false;
        aug[na++] = (char)ch;
    }
    aug[na] = 0;
    uint64_t ra_reg;
    if (!rd_uleb(&c, &cie->code_align) || !rd_sleb(&c, &cie->data_align)) return false;
    if (version == 1) {
        uint8_t r;
        if (!rd_u8(&c, &r)) return false;
        ra_reg = r;
    } else if (!rd_uleb(&c, &ra_reg))
        return false;
    if (ra_reg != 16 || cie->code_align == 0) return false;
    cie->fde_enc = 0; /* absptr */
    cie->signal = false;
    cie->has_z = false;
    if (na) {
        if (aug[0] != 'z') return false; /* "eh" and other old forms: not understood */
        uint64_t alen;
        if (!rd_uleb(&c, &alen) || alen > (uint64_t)(c.end - c.p)) return false;
        cur_t a = {c.p, c.p + alen};
        c.p += alen;
        cie->has_z = true;
        for (unsigned i = 1; i < na; i++) {
            uint8_t enc;
            uint64_t skip;
            switch (aug[i]) {
            case 'R':
                if (!rd_u8(&a, &cie->fde_enc)) return false;
                break;
            case 'L':
                if (!rd_u8(&a, &enc)) return false;
                break;
            case 'P':
                if (!rd_u8(&a, &enc) || !rd_enc(&a, enc, 0, &skip, true)) return false;
                break;
            case 'S':
                cie->signal = true;
                break;
            default: return false;
            }
        }
    }
    cie->init = c;
    return true;
}

/* The rule (as make_rule) of a CFI row, as libunwind's tdep_stash_frame would classify it. */
static uint64_t classify(const row_t *row)
{
    uint64_t bad = make_rule(R_BAD, false, false, 0, 0);
    if (row->cfa_expr || (row->cfa_reg != 6 && row->cfa_reg != 7)) return bad;
    bool cfa_rbp = row->cfa_reg == 6;
    int64_t off = row->cfa_off;
    if (off <= -(1 << 28) || off >= (1 << 28)) return bad;
    const reg_rule_t *rbp = &row->r[0], *rsp = &row->r[1], *ra = &row->r[2];
    if (ra->kind == RR_UNDEF) return make_rule(R_LAST, cfa_rbp, false, 0, off);
    if (ra->kind != RR_OFFSET || ra->off != -8) return bad;
    /* RSP: unchanged or "value is the CFA"; libunwind sets RSP = CFA either way */
    if (!(rsp->kind == RR_UNSPEC || rsp->kind == RR_SAME ||
          (rsp->kind == RR_VALOFF && rsp->off == 0)))
        return bad;
    /* RBP: unchanged, or saved at CFA+k (undefined makes libunwind stop: fall back) */
    if (rbp->kind == RR_UNSPEC || rbp->kind == RR_SAME) return make_rule(R_STD, cfa_rbp, false, 0, off);
    if (rbp->kind == RR_OFFSET && rbp->off > -(1 << 14) && rbp->off < (1 << 14))
        return make_rule(R_STD, cfa_rbp, true, rbp->off, off);
    return bad;
}

typedef struct {
    uintptr_t pc; /* ra - 1: an address inside the calling function */
    uint64_t rule;
    bool found;   /* the object holding pc was seen */
} lg_find_t;

/* The .eh_frame_hdr of an object (PT_GNU_EH_FRAME at hdr, hdr_len bytes), the readable
 * segment [lo, hi) that holds .eh_frame: the rule of q->pc, or a fallback rule. */
static uint64_t rule_from_hdr(const uint8_t *hdr, size_t hdr_len, const struct dl_phdr_info *info,
                              uintptr_t pc)
{
    uint64_t bad = make_rule(R_BAD, false, false, 0, 0);
    cur_t c = {hdr, hdr + hdr_len};
    uint8_t version, ptr_enc, cnt_enc, tab_enc;
    if (!rd_u8(&c, &version) || version != 1 || !rd_u8(&c, &ptr_enc) || !rd_u8(&c, &cnt_enc) ||
        !rd_u8(&c, &tab_enc))
        return bad;
    uint64_t eh_frame, count;
    if (!rd_enc(&c, ptr_enc, (uintptr_t)hdr, &eh_frame, false) || cnt_enc == PE_OMIT ||
        !rd_enc(&c, cnt_enc, (uintptr_t)hdr, &count, false))
        return bad;
    /* the binary-search table: (initial location, FDE) as datarel sdata4, sorted */
    if (tab_enc != (PE_DATAREL | 0x0b) || count == 0 || count > (size_t)(c.end - c.p) / 8) return bad;
    const uint8_t *tab = c.p;
    /* .eh_frame's segment: the readable PT_LOAD holding it */
    const uint8_t *lo = NULL, *hi = NULL;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && eh_frame >= a &&
            eh_frame < a + ph->p_memsz) {
            lo = (const uint8_t *)a;
            hi = (const uint8_t *)(a + ph->p_memsz);
        }
    }
    if (!lo) return bad;
    /* largest initial location <= pc */
    uint64_t l = 0, h = count;
    while (h - l > 1) {
        uint64_t m = l + (h - l) / 2;
        int32_t loc;
        memcpy(&loc, tab + m * 8, 4);
        if ((uintptr_t)hdr + (uint64_t)(int64_t)loc <= pc) l = m;
        else h = m;
    }
    int32_t loc0, fde_off;
    memcpy(&loc0, tab + l * 8, 4);
    memcpy(&fde_off, tab + l * 8 + 4, 4);
    if ((uintptr_t)hdr + (uint64_t)(int64_t)loc0 > pc) return bad;
    const uint8_t *fde = hdr + fde_off;
    cur_t f;
    if (!record_at(fde, lo, hi, &f)) return bad;
    uint32_t cie_ptr;
    if (!rd_bytes(&f, &cie_ptr, 4) || cie_ptr == 0) return bad;
    const uint8_t *cie_at = fde + 4 - cie_ptr;
    if (cie_ptr > (uintptr_t)(fde + 4 - lo)) return bad; /* before the segment */
    cie_t cie;
    if (!parse_cie(cie_at, lo, hi, &cie) || cie.signal) return bad;
    uint64_t begin, range;
    if (!rd_enc(&f, cie.fde_enc, 0, &begin, false) ||
        !rd_enc(&f, (uint8_t)(cie.fde_enc & PE_FMT), 0, &range, false))
        return bad;
    if (pc < begin || pc - begin >= range) return bad; /* no FDE covers pc */
    if (cie.has_z) {
        uint64_t alen;
        if (!rd_uleb(&f, &alen) || alen > (uint64_t)(f.end - f.p)) return bad;
        f.p += alen;
    }
    row_t row = {.cfa_reg = 7, .cfa_off = 0}, init;
    if (!run_cfa(cie.init, &cie, begin, UINT64_MAX, &row, &row)) return bad;
    init = row;
    if (!run_cfa(f, &cie, begin, pc, &row, &init)) return bad;
    return classify(&row);
}

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    lg_find_t *q = arg;
    bool hit = false;
    const ElfW(Phdr) *eh = NULL;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_EH_FRAME) eh = ph;
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (q->pc >= a && q->pc - a < ph->p_memsz) hit = true;
    }
    if (!hit) return 0;
    q->found = true;
    /* the vDSO: its frames fall back (as they did when rules came from files) */
    if (eh && info->dlpi_addr != (uintptr_t)getauxval(AT_SYSINFO_EHDR))
        q->rule = rule_from_hdr((const uint8_t *)(info->dlpi_addr + eh->p_vaddr), eh->p_memsz,
                                info, q->pc);
    return 1;
}

/* Under g_fill: the rule for return address ra (CFI row of ra-1). */
static uint64_t compute_rule(uintptr_t ra)
{
    lg_find_t q = {.pc = ra - 1, .rule = make_rule(R_BAD, false, false, 0, 0)};
    dl_iterate_phdr(find_cb, &q);
    return q.rule;
}

/* The rule for ra, computed and cached. When the fill lock is busy (another thread fills,
 * or this one was interrupted inside a fill by a signal whose handler allocates) the rule is
 * computed all the same and not cached: compute_rule shares no state, and waiting could
 * deadlock (the holder may wait in dl_iterate_phdr for the loader lock this thread holds).
 * Handing the walk to unw_backtrace instead would have libunwind validate fresh stack pages
 * with mincore, which a sandboxed program may have forbidden itself. */
__attribute__((noinline, cold)) static uint64_t fill(uintptr_t ra, uint32_t epoch)
{
    int z = 0;
    if (!atomic_compare_exchange_strong_explicit(&g_fill, &z, 1, memory_order_acquire,
                                                 memory_order_relaxed)) {
        STAT(st_fills);
        return compute_rule(ra);
    }
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
    /* A thread of the parent may have held the fill lock: it does not exist here. What it
     * was writing is either published whole or never (a table being rebuilt is leaked, a
     * slot left KEY_BUSY never matches); the rules stay valid. */
    atomic_store_explicit(&g_fill, 0, memory_order_relaxed);
}

int lg_unwind_init(void)
{
    int z = 0;
    if (!atomic_compare_exchange_strong(&g_inited, &z, 1)) return 0;
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
