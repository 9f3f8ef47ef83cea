/* decode.c: one ring's record bytes -> events. It owns the per-ring decoding state (previous
 * address, last sequence number, thread, the ring's local stack and type ids), interns stacks
 * into the trace's global table (identical stacks from different threads share an id) and
 * type names and labels into theirs, and builds runtime walks (which are not sequenced). Every
 * sequenced record becomes an lg_event_t handed to order.c (lg_order_emit); it must not
 * replay anything itself nor assume that the events of different rings arrive in order. The
 * record encodings are those of trace_format.h, written by trace/ and the shim. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "loader.h"

/* ---- global stack table ---------------------------------------------------------------- */
static uint64_t hash_ips(const uint64_t *ips, uint32_t depth)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ depth;
    for (uint32_t i = 0; i < depth; i++) {
        h ^= ips[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

/* Returns the global id of this stack, adding it if new; 0 on allocation failure. */
uint32_t lg_intern_stack(lg_trace_t *t, stack_table_t *st, uint64_t *ips, uint32_t depth)
{
    if (st->used * 2 >= st->mask + 1 || !st->slots) {
        size_t cap = st->slots ? (st->mask + 1) * 2 : 1024;
        uint32_t *ns = calloc(cap, sizeof *ns);
        if (!ns) return 0;
        for (size_t i = 0; st->slots && i <= st->mask; i++) {
            uint32_t id = st->slots[i];
            if (!id) continue;
            size_t j = t->stacks[id].hash & (cap - 1);
            while (ns[j]) j = (j + 1) & (cap - 1);
            ns[j] = id;
        }
        free(st->slots);
        st->slots = ns;
        st->mask = cap - 1;
    }
    uint64_t h = hash_ips(ips, depth);
    size_t j = h & st->mask;
    for (; st->slots[j]; j = (j + 1) & st->mask) {
        lg_stack_t *s = &t->stacks[st->slots[j]];
        if (s->hash == h && s->depth == depth && !memcmp(s->ips, ips, depth * sizeof *ips))
            return st->slots[j];
    }
    if (grow((void **)&t->stacks, &st->cap, t->nstacks + 1, sizeof *t->stacks)) return 0;
    uint64_t *copy = malloc(depth * sizeof *ips);
    if (!copy) return 0;
    memcpy(copy, ips, depth * sizeof *ips);
    uint32_t id = (uint32_t)t->nstacks++;
    t->stacks[id] = (lg_stack_t){depth, copy, h};
    st->slots[j] = id;
    st->used++;
    return id;
}

static uint64_t hash_bytes(const uint8_t *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) h = (h ^ s[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

/* Rebuilds the index of a table at twice the size it needs. Returns 0 or -ENOMEM. */
static int index_grow(str_index_t *ix, char **tab, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * (n + 1)) cap *= 2;
    uint32_t *ns = calloc(cap, sizeof *ns);
    if (!ns) return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t j = hash_bytes((const uint8_t *)tab[i], strlen(tab[i])) & (cap - 1);
        while (ns[j]) j = (j + 1) & (cap - 1);
        ns[j] = (uint32_t)i + 1;
    }
    free(ix->slots);
    ix->slots = ns;
    ix->mask = cap - 1;
    ix->used = n;
    return 0;
}

/* Adds a string to a table (type names, labels), returning its index, or -1 when out of
 * memory. The string is kept up to its first NUL, and found again by that; the index makes
 * each call O(1) whatever the number of names a trace defines. */
static int64_t intern_string(char ***tab, size_t *n, size_t *cap, str_index_t *ix,
                             const uint8_t *s, size_t len)
{
    len = strnlen((const char *)s, len);
    if ((!ix->slots || (ix->used + 1) * 2 > ix->mask + 1) && index_grow(ix, *tab, *n)) return -1;
    size_t j = hash_bytes(s, len) & ix->mask;
    for (; ix->slots[j]; j = (j + 1) & ix->mask) {
        const char *e = (*tab)[ix->slots[j] - 1];
        if (strlen(e) == len && !memcmp(e, s, len)) return (int64_t)ix->slots[j] - 1;
    }
    if (*n >= UINT32_MAX - 1 || grow((void **)tab, cap, *n + 1, sizeof **tab)) return -1;
    char *copy = strndup((const char *)s, len);
    if (!copy) return -1;
    (*tab)[(*n)++] = copy;
    ix->slots[j] = (uint32_t)*n;
    ix->used++;
    return (int64_t)(*n - 1);
}

/* Decodes the records at *cp (up to `end`) of ring `ring` with the stream state rs, while
 * the stream's last sequence number is at most `until`; returns with *cp after the last record
 * decoded. `dry` (read.c's first pass, which checks that every block decodes before any is
 * replayed): nothing is emitted, interned or kept, only the state that decides whether a
 * record decodes (numbers, addresses, how many stacks and types the stream defined, the walk's
 * object count), so that a dry pass fails exactly where the real one will. Returns 0, -ENOMEM,
 * or -EBADMSG (with t->problem set, unless dry). Inlined into its two callers below, so that the
 * real decoder's test of `dry` is a constant. */
static inline __attribute__((always_inline)) int
decode_records(loader_t *L, ring_state_t *rs, uint32_t ring, const uint8_t **cp,
               const uint8_t *end, int64_t until, const bool dry)
{
    lg_trace_t *t = L->t;
    lg_cursor_t c = {*cp, end, 0};
    uint64_t ips[LG_MAX_FRAMES];
    while (c.p < c.end && rs->last_seq <= until) {
        uint8_t tag = lg_get_u8(&c);
        uint8_t type = tag & LG_TAG_TYPE_MASK;
        uint64_t a16 = (tag & LG_TAG_A16) ? 16 : 1; /* address deltas in 16-byte units */
        lg_event_t ev = {.type = type, .ring = ring, .tid = rs->tid};
        bool seqd = type != LG_REC_STACK && type != LG_REC_THREAD && type != LG_REC_TYPE &&
                    type != LG_REC_WALK_OBJ && type != LG_REC_WALK_REF && type != LG_REC_WALK_END;
        if (seqd) {
            int64_t d = (tag & LG_TAG_SEQ1) ? 0 : lg_get_sv(&c);
            ev.seq = (uint64_t)rs->last_seq + 1 + (uint64_t)d; /* wraps, never overflows */
            if (ev.seq > INT64_MAX) c.bad = 1;
            rs->last_seq = (int64_t)(ev.seq & INT64_MAX);
        }
        switch (type) {
        case LG_REC_MALLOC:
        case LG_REC_CALLOC:
        case LG_REC_ALIGNED: {
            uint64_t fn = type == LG_REC_MALLOC ? LG_FN_MALLOC : LG_FN_CALLOC;
            if (type == LG_REC_ALIGNED) fn = lg_get_uv(&c);
            ev.fn = (uint8_t)fn;
            rs->prev_addr += (uint64_t)lg_get_sv(&c) * a16;
            ev.addr = rs->prev_addr;
            ev.size = lg_get_uv(&c);
            if (type == LG_REC_ALIGNED) ev.align = lg_get_uv(&c);
            uint64_t sid = lg_get_uv(&c);
            /* address 0 is never recorded (and is the live set's empty slot) */
            if (sid >= rs->nstack || fn >= LG_FN_COUNT || ev.addr == 0) c.bad = 1;
            else if (!dry) ev.stack = rs->stack_ids[sid];
            if (!c.bad && !dry && lg_order_emit(L, &ev)) return -ENOMEM;
            break;
        }
        case LG_REC_REALLOC: {
            rs->prev_addr += (uint64_t)lg_get_sv(&c);
            uint64_t old = rs->prev_addr;
            rs->prev_addr = old + (uint64_t)lg_get_sv(&c);
            ev.size = lg_get_uv(&c);
            uint64_t sid = lg_get_uv(&c);
            uint64_t d2 = lg_get_uv(&c);
            if (sid >= rs->nstack || d2 == 0 || rs->prev_addr == 0) c.bad = 1;
            if (c.bad) break;
            lg_event_t fr = {.seq = ev.seq, .type = LG_REC_FREE, .ring = ring, .tid = rs->tid,
                             .addr = old};
            ev.seq += d2;
            if (ev.seq > INT64_MAX) {
                c.bad = 1;
                break;
            }
            rs->last_seq = (int64_t)ev.seq;
            if (dry) break;
            ev.addr = rs->prev_addr;
            ev.fn = LG_FN_REALLOC;
            ev.stack = rs->stack_ids[sid];
            if (lg_order_emit(L, &fr) || lg_order_emit(L, &ev)) return -ENOMEM;
            break;
        }
        case LG_REC_FREE:
            rs->prev_addr += (uint64_t)lg_get_sv(&c) * a16;
            ev.addr = rs->prev_addr;
            if (!c.bad && !dry && lg_order_emit(L, &ev)) return -ENOMEM;
            break;
        case LG_REC_NOP:
            if (!c.bad && !dry && lg_order_emit(L, &ev)) return -ENOMEM;
            break;
        case LG_REC_TYPE: {
            size_t n;
            const uint8_t *name = lg_get_bytes(&c, &n);
            if (c.bad) break;
            if (dry) {
                rs->ntype++;
                break;
            }
            int64_t gid = intern_string(&t->types, &t->ntypes, &L->captypes, &L->types_ix, name, n);
            if (gid < 0 || grow((void **)&rs->type_ids, &rs->captype, rs->ntype + 1, sizeof(uint32_t)))
                return -ENOMEM;
            rs->type_ids[rs->ntype++] = (uint32_t)gid;
            break;
        }
        case LG_REC_OBJ_ALLOC:
        case LG_REC_OBJ_FREE:
        case LG_REC_INCREF:
        case LG_REC_DECREF: {
            rs->prev_addr += (uint64_t)lg_get_sv(&c) * a16;
            ev.addr = rs->prev_addr;
            uint64_t sid = 0, tid = 0;
            if (type == LG_REC_OBJ_ALLOC) {
                ev.size = lg_get_uv(&c);
                tid = lg_get_uv(&c);
                sid = lg_get_uv(&c);
            } else if (type != LG_REC_OBJ_FREE) {
                ev.refcount = lg_get_sv(&c);
                sid = lg_get_uv(&c);
            }
            if (sid >= rs->nstack || tid > rs->ntype) c.bad = 1;
            if (c.bad || dry) break;
            ev.stack = rs->stack_ids[sid];
            ev.otype = tid ? rs->type_ids[tid - 1] : 0;
            if (lg_order_emit(L, &ev)) return -ENOMEM;
            break;
        }
        case LG_REC_GC_START:
        case LG_REC_GC_END:
            ev.gen = (uint32_t)lg_get_uv(&c);
            if (type == LG_REC_GC_END) {
                ev.collected = lg_get_uv(&c);
                ev.uncollectable = lg_get_uv(&c);
                ev.ns = lg_get_uv(&c);
            }
            if (!c.bad && !dry && lg_order_emit(L, &ev)) return -ENOMEM;
            break;
        case LG_REC_WALK: {
            uint64_t check = lg_get_uv(&c);
            size_t n;
            const uint8_t *name = lg_get_bytes(&c, &n);
            if (c.bad) break;
            if (dry) {
                rs->walk = 0;
                rs->walk_nobjs = 0;
                break;
            }
            if (grow((void **)&t->walks, &L->capwalks, t->nwalks + 1, sizeof *t->walks))
                return -ENOMEM;
            lg_walk_t *w = &t->walks[t->nwalks];
            *w = (lg_walk_t){.check = (uint32_t)check, .seq = ev.seq};
            if (!(w->runtime = strndup((const char *)name, n))) return -ENOMEM;
            rs->walk = (long)t->nwalks++;
            rs->walk_prev = 0;
            if (lg_order_emit(L, &ev)) return -ENOMEM; /* keeps the sequence dense */
            break;
        }
        case LG_REC_WALK_OBJ: {
            lg_walk_obj_t o;
            rs->walk_prev += (uint64_t)lg_get_sv(&c);
            o.addr = rs->walk_prev;
            o.size = lg_get_uv(&c);
            uint64_t tid = lg_get_uv(&c);
            o.refcount = lg_get_sv(&c);
            if (c.bad || rs->walk < 0 || tid > rs->ntype) {
                c.bad = 1;
                break;
            }
            if (dry) {
                rs->walk_nobjs++;
                break;
            }
            o.type = tid ? rs->type_ids[tid - 1] : 0;
            lg_walk_t *w = &t->walks[rs->walk];
            o.ref_start = w->nrefs;
            if (grow((void **)&w->objs, &w->capobjs, w->nobjs + 1, sizeof *w->objs)) return -ENOMEM;
            w->objs[w->nobjs++] = o;
            break;
        }
        case LG_REC_WALK_REF: {
            int64_t d = lg_get_sv(&c), index = lg_get_sv(&c);
            size_t n;
            const uint8_t *label = lg_get_bytes(&c, &n);
            if (c.bad || rs->walk < 0 || (dry ? rs->walk_nobjs : t->walks[rs->walk].nobjs) == 0) {
                c.bad = 1;
                break;
            }
            if (dry) break;
            lg_walk_t *w = &t->walks[rs->walk];
            int64_t lid =
                n ? intern_string(&t->labels, &t->nlabels, &L->caplabels, &L->labels_ix, label, n)
                  : 0;
            if (lid < 0 || grow((void **)&w->refs, &w->caprefs, w->nrefs + 1, sizeof *w->refs))
                return -ENOMEM;
            w->refs[w->nrefs++] = (lg_walk_ref_t){w->objs[w->nobjs - 1].addr + (uint64_t)d, index,
                                                  (uint32_t)lid};
            break;
        }
        case LG_REC_WALK_END: {
            uint64_t nobj = lg_get_uv(&c);
            int64_t status = lg_get_sv(&c);
            if (c.bad || rs->walk < 0 ||
                nobj != (dry ? rs->walk_nobjs : t->walks[rs->walk].nobjs)) {
                c.bad = 1;
                break;
            }
            if (dry) {
                rs->walk = -1;
                break;
            }
            t->walks[rs->walk].status = (int)status;
            t->walks[rs->walk].ended = true;
            rs->walk = -1;
            break;
        }
        case LG_REC_STACK: {
            uint64_t depth = lg_get_uv(&c);
            if (depth == 0 || depth > LG_MAX_FRAMES) {
                c.bad = 1;
                break;
            }
            ips[0] = lg_get_uv(&c);
            for (uint64_t i = 1; i < depth; i++) ips[i] = ips[i - 1] + (uint64_t)lg_get_sv(&c);
            if (c.bad) break;
            if (dry) {
                rs->nstack++;
                break;
            }
            if (grow((void **)&rs->stack_ids, &rs->capstack, rs->nstack + 1, sizeof(uint32_t)))
                return -ENOMEM;
            uint32_t gid = lg_intern_stack(t, &L->stacks, ips, (uint32_t)depth);
            if (!gid) return -ENOMEM;
            rs->stack_ids[rs->nstack++] = gid;
            break;
        }
        case LG_REC_THREAD:
            rs->tid = (uint32_t)lg_get_uv(&c);
            break;
        case LG_REC_MODULE: {
            lg_module_info_t m = {.unload_seq = UINT64_MAX};
            m.id = (uint32_t)lg_get_uv(&c);
            m.bias = lg_get_uv(&c);
            m.start = lg_get_uv(&c);
            m.end = lg_get_uv(&c);
            size_t plen, blen;
            const uint8_t *path = lg_get_bytes(&c, &plen);
            const uint8_t *bid = lg_get_bytes(&c, &blen);
            if (c.bad || blen > sizeof m.build_id || m.end < m.start) {
                c.bad = 1;
                break;
            }
            if (dry) break;
            if (grow((void **)&t->mods, &L->modcap, t->nmods + 1, sizeof *t->mods) ||
                !(m.path = strndup((const char *)path, plen)))
                return -ENOMEM;
            memcpy(m.build_id, bid, blen);
            m.build_id_len = blen;
            ev.module = (uint32_t)t->nmods;
            t->mods[t->nmods++] = m;
            if (lg_addrmap_put(&L->mod_ix, (uint64_t)m.id + 1, ev.module)) return -ENOMEM;
            if (lg_order_emit(L, &ev)) return -ENOMEM;
            break;
        }
        case LG_REC_UNMODULE: {
            /* the module's id; lg_replay_event() resolves it in sequence order, because the MODULE
               record may sit in another ring's block later in the file */
            uint64_t id = lg_get_uv(&c);
            if (c.bad || id > UINT32_MAX) {
                c.bad = 1;
                break;
            }
            ev.module = (uint32_t)id;
            if (!dry && lg_order_emit(L, &ev)) return -ENOMEM;
            break;
        }
        default:
            c.bad = 1;
            break;
        }
        if (c.bad) {
            if (!dry) lg_load_problem(t, "undecodable record (type %u) in ring %u", type, ring);
            return -EBADMSG;
        }
    }
    *cp = c.p;
    return 0;
}

int lg_decode_stream(loader_t *L, uint32_t ring, const uint8_t *p, size_t len)
{
    return decode_records(L, &L->rings[ring], ring, &p, p + len, INT64_MAX, false);
}

int lg_decode_until(loader_t *L, uint32_t ring, const uint8_t **p, const uint8_t *end,
                    int64_t until)
{
    return decode_records(L, &L->rings[ring], ring, p, end, until, false);
}

int lg_decode_check(loader_t *L, ring_state_t *rs, const uint8_t *p, size_t len)
{
    return decode_records(L, rs, 0, &p, p + len, INT64_MAX, true);
}

