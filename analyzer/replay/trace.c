/* Reading and replaying a trace (see trace.h and docs/trace-format.md).
 *
 * How it works:
 *  1. The file is mapped and walked block by block. Every block's CRC is checked before its
 *     bytes are trusted; the first damaged or cut block ends the walk and marks the trace
 *     incomplete with the byte offset and the reason. Nothing before it is lost.
 *  2. An EVENTS block is decompressed and its records decoded with the state of its ring
 *     (previous address, last sequence number, the ring's stack ids). STACK records are
 *     interned into one global table, so identical stacks from different threads share an id.
 *  3. Sequenced records go into a min-heap keyed by sequence number. Numbers are dense (the
 *     shim takes one only when it is certain to publish it), so an event is replayed as soon as
 *     every smaller number has been: the heap holds only events that overtook a slower thread.
 *     At the end the heap is emptied in order (gaps can only come from a process that died
 *     mid-record).
 *  4. Replay keeps the live set in an open-addressing table keyed by address: allocations
 *     insert, frees remove. Because replay follows the sequence order, an address reused by
 *     another thread is always freed before it is allocated again.
 * Memory: the live set, the distinct stacks and the modules, plus the reorder heap. */
#define _GNU_SOURCE
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "addrmap.h"
#include "codec.h"

/* ---- small growable arrays ------------------------------------------------------------- */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* ---- global stack table ---------------------------------------------------------------- */
typedef struct stack_table {
    uint32_t *slots; /* global ids, 0 = empty */
    size_t mask, used, cap;
} stack_table_t;

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
static uint32_t intern_stack(lg_trace_t *t, stack_table_t *st, uint64_t *ips, uint32_t depth)
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

/* Adds a string to a table (linear search: type names and labels are few), returning its
 * index, or -1 when out of memory. */
static int64_t intern_string(char ***tab, size_t *n, size_t *cap, const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen((*tab)[i]) == len && !memcmp((*tab)[i], s, len)) return (int64_t)i;
    if (grow((void **)tab, cap, *n + 1, sizeof **tab)) return -1;
    char *copy = strndup((const char *)s, len);
    if (!copy) return -1;
    (*tab)[(*n)++] = copy;
    return (int64_t)(*n - 1);
}

/* ---- live set: open addressing on the address, backward-shift deletion ----------------- */
typedef struct live_table {
    lg_block_t *slots; /* addr 0 = empty */
    size_t mask, used;
} live_table_t;

static inline size_t addr_slot(uint64_t a, size_t mask)
{
    a ^= a >> 29;
    a *= 0xbf58476d1ce4e5b9ull;
    a ^= a >> 32;
    return (size_t)a & mask;
}

static int live_grow(live_table_t *lt)
{
    size_t cap = lt->slots ? (lt->mask + 1) * 2 : 4096;
    lg_block_t *ns = calloc(cap, sizeof *ns);
    if (!ns) return -ENOMEM;
    for (size_t i = 0; lt->slots && i <= lt->mask; i++) {
        if (!lt->slots[i].addr) continue;
        size_t j = addr_slot(lt->slots[i].addr, cap - 1);
        while (ns[j].addr) j = (j + 1) & (cap - 1);
        ns[j] = lt->slots[i];
    }
    free(lt->slots);
    lt->slots = ns;
    lt->mask = cap - 1;
    return 0;
}

static lg_block_t *live_find(live_table_t *lt, uint64_t addr)
{
    if (!lt->slots) return NULL;
    for (size_t j = addr_slot(addr, lt->mask); lt->slots[j].addr; j = (j + 1) & lt->mask)
        if (lt->slots[j].addr == addr) return &lt->slots[j];
    return NULL;
}

static int live_put(live_table_t *lt, const lg_block_t *b)
{
    if ((!lt->slots || (lt->used + 1) * 2 > lt->mask + 1) && live_grow(lt)) return -ENOMEM;
    size_t j = addr_slot(b->addr, lt->mask);
    for (; lt->slots[j].addr; j = (j + 1) & lt->mask)
        if (lt->slots[j].addr == b->addr) break;
    if (!lt->slots[j].addr) lt->used++;
    lt->slots[j] = *b;
    return 0;
}

static void live_del(live_table_t *lt, lg_block_t *slot)
{
    size_t i = (size_t)(slot - lt->slots);
    size_t j = i;
    for (;;) { /* shift back every entry whose probe path crossed the hole */
        j = (j + 1) & lt->mask;
        if (!lt->slots[j].addr) break;
        size_t home = addr_slot(lt->slots[j].addr, lt->mask);
        if (((j - home) & lt->mask) >= ((j - i) & lt->mask)) {
            lt->slots[i] = lt->slots[j];
            i = j;
        }
    }
    lt->slots[i].addr = 0;
    lt->used--;
}

/* ---- reorder heap ---------------------------------------------------------------------- */
typedef struct heap {
    lg_event_t *v;
    size_t n, cap;
} heap_t;

static int heap_push(heap_t *h, const lg_event_t *e)
{
    if (grow((void **)&h->v, &h->cap, h->n + 1, sizeof *h->v)) return -ENOMEM;
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p].seq <= e->seq) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = *e;
    return 0;
}

static lg_event_t heap_pop(heap_t *h)
{
    lg_event_t top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->v[c + 1].seq < h->v[c].seq) c++;
        if (last.seq <= h->v[c].seq) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

/* ---- loading --------------------------------------------------------------------------- */
typedef struct ring_state {
    int64_t last_seq;
    uint64_t prev_addr;
    uint32_t tid;
    uint32_t *stack_ids; /* local id -> global id; [0] = 0 */
    size_t nstack, capstack;
    uint32_t *type_ids;  /* local type id - 1 -> global type id */
    size_t ntype, captype;
    long walk;           /* index of the walk this stream is writing, -1: none */
    uint64_t walk_prev;  /* previous WALK_OBJ address */
} ring_state_t;

typedef struct loader {
    lg_trace_t *t;
    lg_event_cb cb;
    void *ctx;
    ring_state_t *rings;
    stack_table_t stacks;
    live_table_t live;
    heap_t heap;        /* events that arrived out of order within their own ring */
    uint64_t next_seq;
    struct fifo *fifo;  /* per ring: events waiting for a smaller number from another ring */
    uint32_t *active;   /* rings whose fifo is not empty */
    size_t nactive;
    size_t pending;     /* events in fifos and heap */
    size_t modcap;
    uint8_t *raw;
    size_t rawcap;
    ZSTD_DCtx *zd;
    uint8_t *snapbuf; /* parts of the snapshot being read */
    size_t snaplen, snapcap;
    uint32_t snapparts;
    size_t snapcap_arr;
    bool live_only;    /* a live tracker: keep no history of runtime events, no callback,
                          live blocks in `compact` */
    lg_addrmap_t compact; /* the tracker's live set: address -> size. A collector's check needs
                             the live blocks' addresses and sizes, nothing else (the report
                             attaches stacks from its own replay), so the tracker keeps 16-byte
                             entries instead of lg_block_t's 40: 2.5 times less memory for
                             programs that hold millions of blocks, and fewer cache misses per
                             event. */
    /* tracker: allocations and frees queued with their slot prefetched, applied in order */
    struct pending_op { uint64_t addr, size; bool alloc; } batch[32];
    unsigned nbatch;
    uint64_t stop_seq; /* replay only events below it (0: all); loading a fork's parent */
    int depth;         /* fork ancestors being loaded */
    size_t captypes, caplabels, capobjev, capgcev, capwalks;
} loader_t;

static void set_problem(lg_trace_t *t, const char *fmt, ...)
{
    if (t->problem) return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&t->problem, fmt, ap) < 0) t->problem = NULL;
    va_end(ap);
}

static int module_index(const lg_trace_t *t, uint32_t id)
{
    for (size_t i = t->nmods; i-- > 0;)
        if (t->mods[i].id == id) return (int)i;
    return -1;
}

/* Applies the tracker's queued allocations and frees, in order. */
static void flush_batch(loader_t *L)
{
    lg_trace_t *t = L->t;
    for (unsigned i = 0; i < L->nbatch; i++) {
        const struct pending_op *op = &L->batch[i];
        if (op->alloc) {
            if (lg_addrmap_put(&L->compact, op->addr, op->size))
                set_problem(t, "out of memory while replaying");
        } else if (lg_addrmap_del(&L->compact, op->addr, NULL)) {
            t->nfrees++;
        } else {
            t->unknown_frees++;
        }
    }
    L->nbatch = 0;
}

/* The tracker's table is far bigger than the caches: queue the operation and prefetch its
 * slot, so the misses of a batch overlap instead of following one another. */
static void queue_op(loader_t *L, uint64_t addr, uint64_t size, bool alloc)
{
    lg_addrmap_prefetch(&L->compact, addr);
    L->batch[L->nbatch++] = (struct pending_op){addr, size, alloc};
    if (L->nbatch == sizeof L->batch / sizeof L->batch[0]) flush_batch(L);
}

static void replay(loader_t *L, const lg_event_t *ev)
{
    lg_trace_t *t = L->t;
    if (L->stop_seq && ev->seq >= L->stop_seq) return;
    t->nevents++;
    switch (ev->type) {
    case LG_REC_MALLOC:
    case LG_REC_CALLOC:
    case LG_REC_ALIGNED:
    case LG_REC_REALLOC: {
        lg_block_t b = {ev->addr, ev->size, ev->seq, ev->stack, ev->tid, ev->fn};
        t->nallocs++;
        t->allocated_bytes += ev->size;
        if (L->live_only)
            queue_op(L, ev->addr, ev->size, true);
        else if (live_put(&L->live, &b))
            set_problem(t, "out of memory while replaying");
        break;
    }
    case LG_REC_FREE: {
        if (L->live_only) {
            queue_op(L, ev->addr, 0, false);
            break;
        }
        lg_block_t *b = live_find(&L->live, ev->addr);
        if (b) {
            live_del(&L->live, b);
            t->nfrees++;
        } else {
            t->unknown_frees++; /* allocated before tracing started, or by the loader */
        }
        break;
    }
    case LG_REC_MODULE:
        t->mods[ev->module].load_seq = ev->seq;
        break;
    case LG_REC_OBJ_ALLOC:
    case LG_REC_OBJ_FREE:
    case LG_REC_INCREF:
    case LG_REC_DECREF:
        if (L->live_only) break;
        if (grow((void **)&t->objev, &L->capobjev, t->nobjev + 1, sizeof *t->objev)) {
            set_problem(t, "out of memory while replaying");
            break;
        }
        t->objev[t->nobjev++] = (lg_obj_event_t){
            ev->seq, ev->addr, ev->type == LG_REC_OBJ_ALLOC ? (int64_t)ev->size : ev->refcount,
            ev->stack, ev->otype, ev->tid, ev->type};
        break;
    case LG_REC_GC_START:
    case LG_REC_GC_END:
        if (L->live_only) break;
        if (grow((void **)&t->gcev, &L->capgcev, t->ngcev + 1, sizeof *t->gcev)) {
            set_problem(t, "out of memory while replaying");
            break;
        }
        t->gcev[t->ngcev++] = (lg_gc_event_t){ev->seq, ev->gen, ev->type == LG_REC_GC_END,
                                              ev->collected, ev->uncollectable, ev->ns};
        break;
    case LG_REC_UNMODULE: {
        int mi = module_index(t, ev->module);
        if (mi < 0) {
            set_problem(t, "unload of unknown module %u", ev->module);
            return;
        }
        t->mods[mi].unload_seq = ev->seq;
        lg_event_t resolved = *ev;
        resolved.module = (uint32_t)mi;
        if (L->cb) L->cb(L->ctx, t, &resolved);
        return;
    }
    default:
        break;
    }
    if (L->cb) L->cb(L->ctx, t, ev);
}

/* ---- restoring the global order ---------------------------------------------------------
 * Every ring's events arrive in increasing sequence order (one writer takes its numbers in
 * order), so an event that cannot be replayed yet waits in its ring's FIFO, and the next
 * number to replay is always at the head of some FIFO: a step costs a look at the heads of
 * the rings that have waiting events (a handful), not a heap operation per event. The one
 * exception (the shared ring 0, where a realloc's reserved number may be written after a
 * larger one) goes to a small heap. */
typedef struct fifo {
    lg_event_t *v;
    size_t head, n, cap;
    uint64_t last;
} fifo_t;

static int fifo_push(loader_t *L, uint32_t ring, const lg_event_t *ev)
{
    fifo_t *f = &L->fifo[ring];
    if (f->n > f->head && ev->seq < f->last) { /* out of order within the ring */
        if (heap_push(&L->heap, ev)) return -ENOMEM;
        L->pending++;
        return 0;
    }
    if (f->n == f->cap) {
        if (f->head > 0) {
            memmove(f->v, f->v + f->head, (f->n - f->head) * sizeof *f->v);
            f->n -= f->head;
            f->head = 0;
        }
        if (f->n == f->cap && grow((void **)&f->v, &f->cap, f->n + 1, sizeof *f->v)) return -ENOMEM;
    }
    if (f->n == f->head) { /* becomes active */
        f->head = f->n = 0;
        L->active[L->nactive++] = ring;
    }
    f->v[f->n++] = *ev;
    f->last = ev->seq;
    L->pending++;
    return 0;
}

/* The waiting event with the smallest number: its ring (or UINT32_MAX for the heap). */
static uint32_t min_waiting(loader_t *L, uint64_t *seq, size_t *slot)
{
    uint32_t best = UINT32_MAX;
    uint64_t bs = UINT64_MAX;
    for (size_t i = 0; i < L->nactive; i++) {
        const fifo_t *f = &L->fifo[L->active[i]];
        if (f->v[f->head].seq < bs) {
            bs = f->v[f->head].seq;
            best = L->active[i];
            *slot = i;
        }
    }
    if (L->heap.n && L->heap.v[0].seq < bs) {
        bs = L->heap.v[0].seq;
        best = UINT32_MAX - 1;
    }
    *seq = bs;
    return best;
}

static lg_event_t take_waiting(loader_t *L, uint32_t ring, size_t slot)
{
    L->pending--;
    if (ring == UINT32_MAX - 1) return heap_pop(&L->heap);
    fifo_t *f = &L->fifo[ring];
    lg_event_t e = f->v[f->head++];
    if (f->head == f->n) { /* no longer active */
        f->head = f->n = 0;
        L->active[slot] = L->active[--L->nactive];
    }
    return e;
}

/* Replays waiting events while the next number is available (or, with `below`, every waiting
 * event numbered below it, skipping gaps). */
static void drain(loader_t *L, uint64_t below)
{
    while (L->pending) {
        uint64_t seq;
        size_t slot = 0;
        uint32_t r = min_waiting(L, &seq, &slot);
        if (seq > L->next_seq && seq >= below) break;
        lg_event_t e = take_waiting(L, r, slot);
        replay(L, &e);
        if (e.seq >= L->next_seq) L->next_seq = e.seq + 1;
    }
}

static int emit(loader_t *L, const lg_event_t *ev)
{
    if (ev->seq == L->next_seq) {
        replay(L, ev);
        L->next_seq++;
        if (L->pending) drain(L, 0);
        return 0;
    }
    if (ev->seq < L->next_seq) { /* a number already passed (damaged input): as it comes */
        replay(L, ev);
        return 0;
    }
    return fifo_push(L, ev->ring, ev);
}


/* Decodes one ring's record bytes. Returns 0, or -EBADMSG with t->problem set. */
static int decode_stream(loader_t *L, uint32_t ring, const uint8_t *p, size_t len)
{
    lg_trace_t *t = L->t;
    ring_state_t *rs = &L->rings[ring];
    lg_cursor_t c = {p, p + len, 0};
    uint64_t ips[LG_MAX_FRAMES];
    while (c.p < c.end) {
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
            ev.fn = type == LG_REC_MALLOC ? LG_FN_MALLOC : LG_FN_CALLOC;
            if (type == LG_REC_ALIGNED) ev.fn = (uint8_t)lg_get_uv(&c);
            rs->prev_addr += (uint64_t)lg_get_sv(&c) * a16;
            ev.addr = rs->prev_addr;
            ev.size = lg_get_uv(&c);
            if (type == LG_REC_ALIGNED) ev.align = lg_get_uv(&c);
            uint64_t sid = lg_get_uv(&c);
            if (sid >= rs->nstack || ev.fn >= LG_FN_COUNT) c.bad = 1;
            else ev.stack = rs->stack_ids[sid];
            if (!c.bad && emit(L, &ev)) return -ENOMEM;
            break;
        }
        case LG_REC_REALLOC: {
            rs->prev_addr += (uint64_t)lg_get_sv(&c);
            uint64_t old = rs->prev_addr;
            rs->prev_addr = old + (uint64_t)lg_get_sv(&c);
            ev.size = lg_get_uv(&c);
            uint64_t sid = lg_get_uv(&c);
            uint64_t d2 = lg_get_uv(&c);
            if (sid >= rs->nstack || d2 == 0) c.bad = 1;
            if (c.bad) break;
            lg_event_t fr = {.seq = ev.seq, .type = LG_REC_FREE, .ring = ring, .tid = rs->tid,
                             .addr = old};
            ev.seq += d2;
            if (ev.seq > INT64_MAX) {
                c.bad = 1;
                break;
            }
            rs->last_seq = (int64_t)ev.seq;
            ev.addr = rs->prev_addr;
            ev.fn = LG_FN_REALLOC;
            ev.stack = rs->stack_ids[sid];
            if (emit(L, &fr) || emit(L, &ev)) return -ENOMEM;
            break;
        }
        case LG_REC_FREE:
            rs->prev_addr += (uint64_t)lg_get_sv(&c) * a16;
            ev.addr = rs->prev_addr;
            if (!c.bad && emit(L, &ev)) return -ENOMEM;
            break;
        case LG_REC_NOP:
            if (!c.bad && emit(L, &ev)) return -ENOMEM;
            break;
        case LG_REC_TYPE: {
            size_t n;
            const uint8_t *name = lg_get_bytes(&c, &n);
            if (c.bad) break;
            int64_t gid = intern_string(&t->types, &t->ntypes, &L->captypes, name, n);
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
            if (c.bad) break;
            ev.stack = rs->stack_ids[sid];
            ev.otype = tid ? rs->type_ids[tid - 1] : 0;
            if (emit(L, &ev)) return -ENOMEM;
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
            if (!c.bad && emit(L, &ev)) return -ENOMEM;
            break;
        case LG_REC_WALK: {
            uint64_t check = lg_get_uv(&c);
            size_t n;
            const uint8_t *name = lg_get_bytes(&c, &n);
            if (c.bad) break;
            if (grow((void **)&t->walks, &L->capwalks, t->nwalks + 1, sizeof *t->walks))
                return -ENOMEM;
            lg_walk_t *w = &t->walks[t->nwalks];
            *w = (lg_walk_t){.check = (uint32_t)check, .seq = ev.seq};
            if (!(w->runtime = strndup((const char *)name, n))) return -ENOMEM;
            rs->walk = (long)t->nwalks++;
            rs->walk_prev = 0;
            if (emit(L, &ev)) return -ENOMEM; /* keeps the sequence dense */
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
            if (c.bad || rs->walk < 0 || t->walks[rs->walk].nobjs == 0) {
                c.bad = 1;
                break;
            }
            lg_walk_t *w = &t->walks[rs->walk];
            int64_t lid = n ? intern_string(&t->labels, &t->nlabels, &L->caplabels, label, n) : 0;
            if (lid < 0 || grow((void **)&w->refs, &w->caprefs, w->nrefs + 1, sizeof *w->refs))
                return -ENOMEM;
            w->refs[w->nrefs++] = (lg_walk_ref_t){w->objs[w->nobjs - 1].addr + (uint64_t)d, index,
                                                  (uint32_t)lid};
            break;
        }
        case LG_REC_WALK_END: {
            uint64_t nobj = lg_get_uv(&c);
            int64_t status = lg_get_sv(&c);
            if (c.bad || rs->walk < 0 || nobj != t->walks[rs->walk].nobjs) {
                c.bad = 1;
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
            if (grow((void **)&rs->stack_ids, &rs->capstack, rs->nstack + 1, sizeof(uint32_t)))
                return -ENOMEM;
            uint32_t gid = intern_stack(t, &L->stacks, ips, (uint32_t)depth);
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
            if (grow((void **)&t->mods, &L->modcap, t->nmods + 1, sizeof *t->mods) ||
                !(m.path = strndup((const char *)path, plen)))
                return -ENOMEM;
            memcpy(m.build_id, bid, blen);
            m.build_id_len = blen;
            ev.module = (uint32_t)t->nmods;
            t->mods[t->nmods++] = m;
            if (emit(L, &ev)) return -ENOMEM;
            break;
        }
        case LG_REC_UNMODULE: {
            /* the module's id; replay() resolves it in sequence order, because the MODULE
               record may sit in another ring's block later in the file */
            uint64_t id = lg_get_uv(&c);
            if (c.bad || id > UINT32_MAX) {
                c.bad = 1;
                break;
            }
            ev.module = (uint32_t)id;
            if (emit(L, &ev)) return -ENOMEM;
            break;
        }
        default:
            c.bad = 1;
            break;
        }
        if (c.bad) {
            set_problem(t, "undecodable record (type %u) in ring %u", type, ring);
            return -EBADMSG;
        }
    }
    return 0;
}

/* Replays every buffered event numbered below `seq` (a snapshot follows them all). */
static void replay_before(loader_t *L, uint64_t seq)
{
    drain(L, seq);
}

static void free_snapshot(lg_snapshot_t *S)
{
    free(S->addr);
    free(S->size);
    free(S->stack);
    free(S->aseq);
    free(S->fn);
    free(S->ref_flags);
    free(S->ref_region);
    for (size_t i = 0; i < S->nregions; i++) free(S->regions[i].name);
    free(S->regions);
    free(S->edge_start);
    free(S->edge_to);
    free(S->edge_src_off);
    free(S->edge_dst_off);
    free(S->edge_heur);
    free(S->held_addr);
    free(S->held_roots);
    free(S->held_blocks);
    free(S->held_first);
    free(S->ptr_from);
    free(S->ptr_to);
    free(S->ptr_word);
}

/* The optional runtime-object section at the end of a SNAPSHOT payload (LG_KEY_SNAP_OBJECTS).
 * Returns 0, -EBADMSG or -ENOMEM. */
static int parse_snapshot_objects(lg_cursor_t *c, lg_snapshot_t *S, size_t len)
{
    uint64_t nobj = lg_get_uv(c), nh = lg_get_uv(c);
    if (c->bad || nh > len || nobj > len) return -EBADMSG;
    S->nobj_scanned = (size_t)nobj;
    size_t n1 = nh ? (size_t)nh : 1;
    S->held_addr = malloc(n1 * sizeof *S->held_addr);
    S->held_roots = malloc(n1 * sizeof *S->held_roots);
    S->held_blocks = malloc(n1 * sizeof *S->held_blocks);
    S->held_first = malloc(n1 * sizeof *S->held_first);
    if (!S->held_addr || !S->held_roots || !S->held_blocks || !S->held_first) return -ENOMEM;
    uint64_t a = 0;
    for (size_t i = 0; i < nh && !c->bad; i++) {
        a += lg_get_uv(c);
        S->held_addr[i] = a;
        S->held_roots[i] = lg_get_uv(c);
        S->held_blocks[i] = lg_get_uv(c);
        S->held_first[i] = lg_get_uv(c);
    }
    S->nheld = (size_t)nh;
    uint64_t nfrom = lg_get_uv(c);
    if (c->bad || nfrom > len) return -EBADMSG;
    size_t cap = 0;
    a = 0;
    for (uint64_t i = 0; i < nfrom && !c->bad; i++) {
        a += lg_get_uv(c);
        uint64_t k = lg_get_uv(c);
        if (k > len) return -EBADMSG;
        for (uint64_t j = 0; j < k && !c->bad; j++) {
            if (S->nptrs == cap) {
                cap = cap ? cap * 2 : 64;
                uint64_t *f = realloc(S->ptr_from, cap * sizeof *f);
                if (f) S->ptr_from = f;
                uint64_t *t = realloc(S->ptr_to, cap * sizeof *t);
                if (t) S->ptr_to = t;
                uint32_t *w = realloc(S->ptr_word, cap * sizeof *w);
                if (w) S->ptr_word = w;
                if (!f || !t || !w) return -ENOMEM;
            }
            S->ptr_from[S->nptrs] = a;
            S->ptr_word[S->nptrs] = (uint32_t)lg_get_uv(c);
            S->ptr_to[S->nptrs] = lg_get_uv(c);
            S->nptrs++;
        }
    }
    if (c->bad) return -EBADMSG;
    S->has_objects = true;
    return 0;
}

/* Parses a complete SNAPSHOT payload (trace_format.h) and attaches allocation stacks from the
 * live set replayed so far. Returns 0, -EBADMSG or -ENOMEM. */
static int parse_snapshot(loader_t *L, const uint8_t *p, size_t len)
{
    lg_trace_t *t = L->t;
    lg_snapshot_t S = {0};
    lg_cursor_t c = {p, p + len, 0};
    size_t kvlen;
    const uint8_t *kv = lg_get_bytes(&c, &kvlen);
    lg_cursor_t k = {kv, kv ? kv + kvlen : NULL, 0};
    while (kv && k.p < k.end && !k.bad) {
        uint64_t key = lg_get_uv(&k);
        size_t n;
        const uint8_t *v = lg_get_bytes(&k, &n);
        lg_cursor_t vc = {v, v ? v + n : NULL, 0};
        uint64_t iv = v ? lg_get_uv(&vc) : 0;
        switch (key) {
        case LG_KEY_SNAP_ID: S.id = (uint32_t)iv; break;
        case LG_KEY_SNAP_REASON: S.reason = (uint32_t)iv; break;
        case LG_KEY_SNAP_SEQ: S.seq = iv; break;
        case LG_KEY_SNAP_THREADS: S.threads = (uint32_t)iv; break;
        case LG_KEY_SNAP_NOREGS: S.noregs = (uint32_t)iv; break;
        case LG_KEY_SNAP_SCANNED: S.scanned = iv; break;
        case LG_KEY_SNAP_SKIPPED: S.skipped = iv; break;
        case LG_KEY_SNAP_NS: S.ns = iv; break;
        case LG_KEY_SNAP_TIME: S.time_ns = iv; break;
        case LG_KEY_SNAP_OBJECTS: S.has_objects = iv == 1; break;
        default: break;
        }
    }
    if (!kv || k.bad) return -EBADMSG;
    replay_before(L, S.seq);
    uint64_t n = lg_get_uv(&c);
    if (c.bad || n > len) return -EBADMSG; /* every block takes at least a byte */
    S.nblocks = (size_t)n;
    size_t nb = S.nblocks ? S.nblocks : 1;
    S.addr = malloc(nb * sizeof *S.addr);
    S.size = malloc(nb * sizeof *S.size);
    S.stack = calloc(nb, sizeof *S.stack);
    S.aseq = calloc(nb, sizeof *S.aseq);
    S.fn = calloc(nb, 1);
    S.ref_flags = calloc(nb, 1);
    S.ref_region = calloc(nb, sizeof *S.ref_region);
    S.edge_start = calloc(nb + 1, sizeof *S.edge_start);
    int rc = -ENOMEM;
    if (!S.addr || !S.size || !S.stack || !S.aseq || !S.fn || !S.ref_flags || !S.ref_region || !S.edge_start)
        goto fail;
    rc = -EBADMSG;
    uint64_t a = 0;
    for (size_t i = 0; i < S.nblocks; i++) {
        a += lg_get_uv(&c);
        S.addr[i] = a;
        S.size[i] = lg_get_uv(&c);
        lg_block_t *b = live_find(&L->live, a);
        if (b) {
            S.stack[i] = b->stack;
            S.aseq[i] = b->seq;
            S.fn[i] = b->fn;
        }
    }
    uint64_t nr = lg_get_uv(&c);
    if (c.bad || nr > len) goto fail;
    S.regions = calloc(nr ? nr : 1, sizeof *S.regions);
    if (!S.regions) {
        rc = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < nr; i++) {
        lg_root_region_t *r = &S.regions[i];
        r->kind = (int)lg_get_uv(&c);
        r->start = lg_get_uv(&c);
        r->end = lg_get_uv(&c);
        r->tid = (int)lg_get_uv(&c);
        size_t nl;
        const uint8_t *nm = lg_get_bytes(&c, &nl);
        if (c.bad) goto fail;
        S.nregions++;
        if (!(r->name = strndup((const char *)nm, nl))) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    uint64_t nrefs = lg_get_uv(&c);
    size_t idx = 0;
    for (uint64_t i = 0; i < nrefs && !c.bad; i++) {
        idx += (size_t)lg_get_uv(&c);
        uint64_t f = lg_get_uv(&c), reg = lg_get_uv(&c);
        if (idx >= S.nblocks || reg >= S.nregions) c.bad = 1;
        else {
            S.ref_flags[idx] = (uint8_t)f;
            S.ref_region[idx] = (uint32_t)reg;
        }
    }
    if (c.bad) goto fail;
    /* edges: count first (the stream is read twice) */
    lg_cursor_t e0 = c;
    size_t total = 0;
    for (size_t i = 0; i < S.nblocks && !c.bad; i++) {
        uint64_t ne = lg_get_uv(&c);
        if (ne > (uint64_t)(c.end - c.p)) c.bad = 1;
        for (uint64_t j = 0; j < ne && !c.bad; j++) {
            lg_get_sv(&c);
            lg_get_uv(&c);
            lg_get_uv(&c);
        }
        total += (size_t)ne;
    }
    if (c.bad) goto fail;
    S.nedges = total;
    size_t ne1 = total ? total : 1;
    S.edge_to = malloc(ne1 * sizeof *S.edge_to);
    S.edge_src_off = malloc(ne1 * sizeof *S.edge_src_off);
    S.edge_dst_off = malloc(ne1 * sizeof *S.edge_dst_off);
    S.edge_heur = malloc(ne1);
    if (!S.edge_to || !S.edge_src_off || !S.edge_dst_off || !S.edge_heur) {
        rc = -ENOMEM;
        goto fail;
    }
    c = e0;
    size_t e = 0;
    for (size_t i = 0; i < S.nblocks; i++) {
        S.edge_start[i] = e;
        uint64_t ne = lg_get_uv(&c);
        for (uint64_t j = 0; j < ne; j++, e++) {
            int64_t to = (int64_t)i + lg_get_sv(&c);
            uint64_t so = lg_get_uv(&c), code = lg_get_uv(&c);
            if (to < 0 || (uint64_t)to >= S.nblocks) c.bad = 1;
            S.edge_to[e] = (uint32_t)to;
            S.edge_src_off[e] = (uint32_t)(so * 8);
            S.edge_dst_off[e] = (uint32_t)(code >> 3);
            S.edge_heur[e] = (uint8_t)(code & 7);
        }
    }
    S.edge_start[S.nblocks] = e;
    if (c.bad) goto fail;
    if (S.has_objects) {
        S.has_objects = false;
        if ((rc = parse_snapshot_objects(&c, &S, len))) goto fail;
        rc = -EBADMSG;
    }
    if (grow((void **)&t->snaps, &L->snapcap_arr, t->nsnaps + 1, sizeof *t->snaps)) {
        rc = -ENOMEM;
        goto fail;
    }
    t->snaps[t->nsnaps++] = S;
    return 0;
fail:
    free_snapshot(&S);
    return rc;
}

static char *dup_bytes(const uint8_t *b, size_t n)
{
    return strndup((const char *)b, n);
}

/* PROCESS and END blocks: key/value lists. Unknown keys are skipped. */
static int parse_kv(lg_trace_t *t, const uint8_t *p, size_t len, bool end)
{
    lg_cursor_t c = {p, p + len, 0};
    while (c.p < c.end && !c.bad) {
        uint64_t key = lg_get_uv(&c);
        size_t n;
        const uint8_t *v = lg_get_bytes(&c, &n);
        if (c.bad) break;
        lg_cursor_t vc = {v, v + n, 0};
        uint64_t iv = (key == LG_KEY_EXE || key == LG_KEY_ARG || key == LG_KEY_CWD ||
                       key == LG_KEY_TRACER || key == LG_KEY_PARENT_TRACE)
                          ? 0
                          : lg_get_uv(&vc);
        switch (key) {
        case LG_KEY_PID: t->pid = (int)iv; break;
        case LG_KEY_PPID: t->ppid = (int)iv; break;
        case LG_KEY_PARENT_PID: t->parent_pid = (int)iv; break;
        case LG_KEY_EXEC_FROM: t->exec_from = (int)iv; break;
        case LG_KEY_START_NS: t->start_ns = iv; break;
        case LG_KEY_RINGS: t->nrings = (uint32_t)iv; break;
        case LG_KEY_FORK_SEQ: t->fork_seq = iv; break;
        case LG_KEY_RC_DEPTH: t->rc_depth = iv > 1000 ? 1000 : (int)iv; break;
        case LG_KEY_PARENT_TRACE: free(t->parent_trace); t->parent_trace = dup_bytes(v, n); break;
        case LG_KEY_EXE: free(t->exe); t->exe = dup_bytes(v, n); break;
        case LG_KEY_CWD: free(t->cwd); t->cwd = dup_bytes(v, n); break;
        case LG_KEY_TRACER: free(t->tracer); t->tracer = dup_bytes(v, n); break;
        case LG_KEY_ARG: {
            char **a = realloc(t->argv, sizeof *a * (size_t)(t->argc + 2));
            if (!a) return -ENOMEM;
            t->argv = a;
            a[t->argc++] = dup_bytes(v, n);
            a[t->argc] = NULL;
            break;
        }
        case LG_KEY_END_REASON: t->end_reason = (int)iv; break;
        case LG_KEY_EXIT_STATUS: t->exit_status = (int)iv; break;
        case LG_KEY_SIGNAL: t->signal = (int)iv; break;
        case LG_KEY_EVENTS: t->events_declared = iv; break;
        case LG_KEY_LOST: t->lost = iv; break;
        case LG_KEY_END_NS: t->end_ns = iv; break;
        case LG_KEY_RC_INCREFS: t->rc_increfs = iv; break;
        case LG_KEY_RC_DECREFS: t->rc_decrefs = iv; break;
        default: break;
        }
    }
    (void)end;
    return c.bad ? -EBADMSG : 0;
}

static void finish_live(loader_t *L)
{
    lg_trace_t *t = L->t;
    t->live = malloc((L->live.used ? L->live.used : 1) * sizeof *t->live);
    if (!t->live) return;
    for (size_t i = 0; L->live.slots && i <= L->live.mask; i++)
        if (L->live.slots[i].addr) t->live[t->nlive++] = L->live.slots[i];
}

static int load_file(const char *path, lg_trace_t *t, lg_event_cb cb, void *ctx, uint64_t stop,
                     int depth, char *err, size_t errlen);

static int trace_init_tables(lg_trace_t *t, loader_t *L);

static void loader_free(loader_t *L)
{
    for (uint32_t i = 0; L->rings && i < L->t->nrings; i++) {
        free(L->rings[i].stack_ids);
        free(L->rings[i].type_ids);
        if (L->fifo) free(L->fifo[i].v);
    }
    free(L->fifo);
    free(L->active);
    free(L->rings);
    free(L->stacks.slots);
    free(L->live.slots);
    lg_addrmap_free(&L->compact);
    free(L->heap.v);
    free(L->raw);
    free(L->snapbuf);
    ZSTD_freeDCtx(L->zd);
    memset(L, 0, sizeof *L);
}

/* A forked child starts with its parent's live blocks: replay the parent's trace up to the
 * fork and take its blocks (and their stacks) as this trace's first events. A missing parent
 * trace is not an error of this trace: the inherited blocks are then unknown, and said so. */
static int inherit(loader_t *L)
{
    lg_trace_t *t = L->t;
    if (!t->parent_trace || !t->fork_seq || L->stop_seq == 1) return 0;
    if (L->depth >= 16) return 0;
    char alt[4096];
    const char *path = t->parent_trace;
    if (access(path, R_OK) != 0) { /* moved with its children: look beside this trace */
        const char *slash = strrchr(t->path, '/'), *pb = strrchr(path, '/');
        snprintf(alt, sizeof alt, "%.*s%s", slash ? (int)(slash - t->path + 1) : 0, t->path,
                 pb ? pb + 1 : path);
        path = alt;
    }
    lg_trace_t pt;
    char err[512];
    if (load_file(path, &pt, NULL, NULL, t->fork_seq, L->depth + 1, err, sizeof err)) {
        if (asprintf(&t->inherit_problem, "blocks inherited from pid %d are unknown: %s",
                     t->parent_pid, err) < 0)
            t->inherit_problem = NULL;
        lg_trace_free(&pt);
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; i < pt.nlive && rc == 0; i++) {
        lg_block_t b = pt.live[i];
        const lg_stack_t *ps = &pt.stacks[b.stack];
        b.stack = ps->depth ? intern_stack(t, &L->stacks, ps->ips, ps->depth) : 0;
        b.seq = 0; /* before every event of this trace */
        if ((ps->depth && !b.stack) || live_put(&L->live, &b)) rc = -ENOMEM;
        t->inherited_blocks++;
    }
    lg_trace_free(&pt);
    return rc;
}

static int load_mapped(loader_t *L, const uint8_t *m, size_t size, char *err, size_t errlen)
{
    lg_trace_t *t = L->t;
    if (size < LG_TRACE_FILE_HEADER_SIZE || memcmp(m, LG_TRACE_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not a leakgraph trace (bad magic)", t->path);
        return -EINVAL;
    }
    uint32_t version = lg_get_u32le(m + 8), hsize = lg_get_u32le(m + 12);
    if (version < LG_TRACE_VERSION_MIN || version > LG_TRACE_VERSION) {
        snprintf(err, errlen,
                 "%s: trace format version %u is not supported (this leakgraph reads versions "
                 "%u to %u)",
                 t->path, version, LG_TRACE_VERSION_MIN, LG_TRACE_VERSION);
        return -EPROTONOSUPPORT;
    }
    if (hsize < LG_TRACE_FILE_HEADER_SIZE || hsize > size) {
        snprintf(err, errlen, "%s: corrupt file header", t->path);
        return -EINVAL;
    }
    size_t off = hsize;
    bool have_process = false;
    while (off < size) {
        if (size - off < LG_TRACE_BLOCK_HEADER_SIZE) {
            set_problem(t, "truncated: cut inside a block header at byte %zu", off);
            break;
        }
        const uint8_t *h = m + off;
        uint32_t type = lg_get_u32le(h), stored = lg_get_u32le(h + 4), raw = lg_get_u32le(h + 8);
        uint32_t crc = lg_get_u32le(h + 12);
        if (stored > LG_TRACE_MAX_BLOCK || raw > LG_TRACE_MAX_BLOCK) {
            set_problem(t, "corrupt block header at byte %zu", off);
            break;
        }
        if (size - off - LG_TRACE_BLOCK_HEADER_SIZE < stored) {
            set_problem(t, "truncated: block at byte %zu is cut short", off);
            break;
        }
        const uint8_t *payload = h + LG_TRACE_BLOCK_HEADER_SIZE;
        if (lg_crc32c(lg_crc32c(0, h, 12), payload, stored) != crc) {
            set_problem(t, "corrupt block at byte %zu (checksum mismatch)", off);
            break;
        }
        t->file_bytes += LG_TRACE_BLOCK_HEADER_SIZE + stored;
        if (!have_process && type != LG_BLOCK_PROCESS) {
            set_problem(t, "block at byte %zu precedes the process description", off);
            break;
        }
        int rc = 0;
        if (type == LG_BLOCK_PROCESS) {
            if (have_process) {
                set_problem(t, "second process description at byte %zu", off);
                break;
            }
            rc = parse_kv(t, payload, stored, false);
            if (!have_process) {
                if (t->nrings == 0 || t->nrings > 65536) rc = -EBADMSG;
                else if (!(L->rings = calloc(t->nrings, sizeof *L->rings)) ||
                         !(L->fifo = calloc(t->nrings, sizeof *L->fifo)) ||
                         !(L->active = calloc(t->nrings, sizeof *L->active)))
                    rc = -ENOMEM;
                for (uint32_t i = 0; L->rings && i < t->nrings; i++) {
                    L->rings[i].last_seq = -1;
                    L->rings[i].walk = -1;
                    L->rings[i].stack_ids = calloc(16, sizeof(uint32_t));
                    L->rings[i].capstack = 16;
                    L->rings[i].nstack = 1;
                    if (!L->rings[i].stack_ids) rc = -ENOMEM;
                }
            }
            if (!have_process && rc == 0) rc = inherit(L);
            have_process = true;
        } else if (type == LG_BLOCK_EVENTS) {
            if (stored < 4 || lg_get_u32le(payload) >= t->nrings) {
                set_problem(t, "corrupt events block at byte %zu", off);
                break;
            }
            if (grow((void **)&L->raw, &L->rawcap, raw ? raw : 1, 1)) {
                snprintf(err, errlen, "%s: out of memory", t->path);
                return -ENOMEM;
            }
            size_t n = ZSTD_decompressDCtx(L->zd, L->raw, raw, payload + 4, stored - 4);
            if (ZSTD_isError(n) || n != raw) {
                set_problem(t, "corrupt events block at byte %zu (%s)", off,
                            ZSTD_isError(n) ? ZSTD_getErrorName(n) : "length mismatch");
                break;
            }
            t->raw_bytes += raw;
            rc = decode_stream(L, lg_get_u32le(payload), L->raw, n);
            if (rc == -EBADMSG) break;
            t->has_end = false; /* events after an END (a failed exec) reopen the trace */
        } else if (type == LG_BLOCK_SNAPSHOT && L->stop_seq) {
            /* loading a fork's parent: its snapshots do not matter */
        } else if (type == LG_BLOCK_SNAPSHOT) {
            if (stored < 8 || lg_get_u32le(payload) != L->snapparts) {
                set_problem(t, "corrupt snapshot block at byte %zu", off);
                break;
            }
            if (grow((void **)&L->snapbuf, &L->snapcap, L->snaplen + (raw ? raw : 1), 1)) {
                snprintf(err, errlen, "%s: out of memory", t->path);
                return -ENOMEM;
            }
            size_t n = ZSTD_decompressDCtx(L->zd, L->snapbuf + L->snaplen, raw, payload + 8,
                                           stored - 8);
            if (ZSTD_isError(n) || n != raw) {
                set_problem(t, "corrupt snapshot block at byte %zu", off);
                break;
            }
            L->snaplen += n;
            L->snapparts++;
            if (lg_get_u32le(payload + 4) & 1) { /* last part */
                rc = parse_snapshot(L, L->snapbuf, L->snaplen);
                L->snaplen = 0;
                L->snapparts = 0;
                if (rc == -EBADMSG) {
                    set_problem(t, "corrupt snapshot ending at byte %zu", off);
                    break;
                }
            }
        } else if (type == LG_BLOCK_END) {
            rc = parse_kv(t, payload, stored, true);
            t->has_end = true;
        } /* unknown block types are skipped: they carry their own length */
        if (rc == -ENOMEM) {
            snprintf(err, errlen, "%s: out of memory", t->path);
            return rc;
        }
        if (rc) {
            set_problem(t, "corrupt block at byte %zu", off);
            break;
        }
        off += LG_TRACE_BLOCK_HEADER_SIZE + stored;
    }
    if (!have_process) {
        snprintf(err, errlen, "%s: %s", t->path,
                 t->problem ? t->problem : "no process description: not a complete trace header");
        return -EINVAL;
    }
    drain(L, UINT64_MAX); /* gaps: a process that died mid-record */
    if (!t->has_end) set_problem(t, "the trace has no end record (the writer stopped early)");
    t->complete = t->problem == NULL;
    finish_live(L);
    return 0;
}

int lg_trace_load(const char *path, lg_trace_t *t, lg_event_cb cb, void *ctx, char *err,
                  size_t errlen)
{
    return load_file(path, t, cb, ctx, 0, 0, err, errlen);
}

static int load_file(const char *path, lg_trace_t *t, lg_event_cb cb, void *ctx, uint64_t stop,
                     int depth, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->exit_status = -1;
    t->rc_depth = -1;
    t->path = strdup(path);
    if (!t->path) return -ENOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -EINVAL;
    }
    size_t size = (size_t)st.st_size;
    const uint8_t *m = NULL;
    if (size > 0) {
        void *mm = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mm == MAP_FAILED) {
            int e = errno;
            snprintf(err, errlen, "%s: %s", path, strerror(e));
            close(fd);
            return -e;
        }
        m = mm;
    }
    close(fd);
    /* stack id 0 is "no stack"; type 0 is unknown; label 0 is none */
    loader_t L = {.t = t, .cb = cb, .ctx = ctx, .zd = ZSTD_createDCtx(), .stop_seq = stop,
                  .depth = depth};
    int rc;
    if (trace_init_tables(t, &L) != 0 || !L.zd) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -ENOMEM;
    } else {
        rc = load_mapped(&L, m ? m : (const uint8_t *)"", size, err, errlen);
    }
    if (m) munmap((void *)m, size);
    loader_free(&L);
    return rc;
}

/* ---- the live set kept up to date while a trace is written ----------------------------------
 * `leakgraph run`'s collector feeds every ring's bytes, as it drains them, through the same
 * decoding and reordering as a trace file, so that a leak check needs the live blocks without
 * replaying the whole trace (which costs time in proportion to the run, not to the live set).
 * History that only reports need (runtime events) is not kept. */
struct lg_live_tracker {
    lg_trace_t t;
    loader_t L;
};

static int trace_init_tables(lg_trace_t *t, loader_t *L)
{
    t->stacks = calloc(1, sizeof *t->stacks);
    t->types = calloc(1, sizeof *t->types);
    t->labels = calloc(1, sizeof *t->labels);
    if (t->types && (t->types[0] = strdup("?"))) t->ntypes = 1;
    if (t->labels && (t->labels[0] = strdup(""))) t->nlabels = 1;
    L->stacks.cap = 1;
    t->nstacks = 1;
    L->captypes = L->caplabels = 1;
    return t->stacks && t->ntypes == 1 && t->nlabels == 1 ? 0 : -ENOMEM;
}

lg_live_tracker_t *lg_live_new(uint32_t nrings)
{
    lg_live_tracker_t *lt = calloc(1, sizeof *lt);
    if (!lt) return NULL;
    lg_trace_t *t = &lt->t;
    loader_t *L = &lt->L;
    t->exit_status = -1;
    t->rc_depth = -1;
    t->nrings = nrings;
    t->path = strdup("(live)");
    L->t = t;
    L->live_only = true;
    L->rings = calloc(nrings ? nrings : 1, sizeof *L->rings);
    L->fifo = calloc(nrings ? nrings : 1, sizeof *L->fifo);
    L->active = calloc(nrings ? nrings : 1, sizeof *L->active);
    bool ok = t->path && L->rings && L->fifo && L->active && trace_init_tables(t, L) == 0;
    for (uint32_t i = 0; ok && i < nrings; i++) {
        L->rings[i].last_seq = -1;
        L->rings[i].walk = -1;
        L->rings[i].stack_ids = calloc(16, sizeof(uint32_t));
        L->rings[i].capstack = 16;
        L->rings[i].nstack = 1;
        if (!L->rings[i].stack_ids) ok = false;
    }
    if (!ok) {
        lg_live_free(lt);
        return NULL;
    }
    return lt;
}

int lg_live_feed(lg_live_tracker_t *lt, uint32_t ring, const uint8_t *bytes, size_t n)
{
    if (lt->t.problem) return -EBADMSG; /* failed before: stays stopped */
    int rc = ring < lt->t.nrings ? decode_stream(&lt->L, ring, bytes, n) : -EINVAL;
    if (rc && !lt->t.problem) set_problem(&lt->t, "live tracker stopped: %s", strerror(-rc));
    if (rc && !lt->t.problem) lt->t.problem = strdup("live tracker stopped");
    return rc;
}

long lg_live_blocks(lg_live_tracker_t *lt, uint64_t below, lg_block_t **out)
{
    loader_t *L = &lt->L;
    drain(L, below);
    flush_batch(L);
    lg_block_t *v = malloc((L->compact.used ? L->compact.used : 1) * sizeof *v);
    if (!v) return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < lg_addrmap_capacity(&L->compact); i++)
        if (L->compact.slots[i].key)
            v[n++] = (lg_block_t){.addr = L->compact.slots[i].key, .size = L->compact.slots[i].val};
    *out = v;
    return (long)n;
}

const lg_trace_t *lg_live_trace(const lg_live_tracker_t *lt)
{
    return &lt->t;
}

void lg_live_free(lg_live_tracker_t *lt)
{
    if (!lt) return;
    loader_free(&lt->L);
    lg_trace_free(&lt->t);
    free(lt);
}

void lg_trace_free(lg_trace_t *t)
{
    free(t->path);
    free(t->exe);
    free(t->cwd);
    free(t->tracer);
    free(t->problem);
    free(t->parent_trace);
    free(t->inherit_problem);
    for (int i = 0; i < t->argc; i++) free(t->argv[i]);
    free(t->argv);
    for (size_t i = 0; i < t->nmods; i++) free(t->mods[i].path);
    free(t->mods);
    for (size_t i = 0; i < t->nstacks; i++) free(t->stacks[i].ips);
    free(t->stacks);
    free(t->live);
    for (size_t i = 0; i < t->nsnaps; i++) free_snapshot(&t->snaps[i]);
    free(t->snaps);
    for (size_t i = 0; i < t->ntypes; i++) free(t->types[i]);
    free(t->types);
    for (size_t i = 0; i < t->nlabels; i++) free(t->labels[i]);
    free(t->labels);
    free(t->objev);
    free(t->gcev);
    for (size_t i = 0; i < t->nwalks; i++) {
        free(t->walks[i].runtime);
        free(t->walks[i].objs);
        free(t->walks[i].refs);
    }
    free(t->walks);
    memset(t, 0, sizeof *t);
}

int lg_trace_module_at(const lg_trace_t *t, uint64_t ip, uint64_t seq)
{
    int any = -1;
    for (size_t i = t->nmods; i-- > 0;) {
        const lg_module_info_t *m = &t->mods[i];
        if (ip < m->start || ip >= m->end) continue;
        if (m->load_seq <= seq && seq < m->unload_seq) return (int)i;
        if (any < 0) any = (int)i;
    }
    return any;
}

const char *lg_fn_name(int fn)
{
    static const char *const names[LG_FN_COUNT] = {
        "malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
        "aligned_alloc", "memalign", "valloc", "pvalloc"};
    return fn >= 0 && fn < LG_FN_COUNT ? names[fn] : "?";
}

const char *lg_end_reason_name(int reason)
{
    switch (reason) {
    case LG_END_EXIT: return "exit";
    case LG_END_SIGNAL: return "signal";
    case LG_END_EXEC: return "exec";
    case LG_END_UNKNOWN: return "unknown";
    default: return "none";
    }
}
