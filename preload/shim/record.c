/* shim/record.c: one event -> bytes in this thread's ring. record() captures the stack,
 * writes the THREAD, TYPE and STACK records the event needs, takes the sequence number only
 * once space is certain, and encodes the event as trace_format.h and docs/trace-format.md
 * draw it (tag, seq delta, address delta in 16-byte units, ...); record_raw() appends
 * pre-encoded records that carry no sequence number (a runtime walk's). Both run with the guard
 * held. They must never allocate from the C library except through self_drain (self mode),
 * never take a sequence number they do not publish, and never block except on a full ring
 * (wait_space) or ring 0's spin lock. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* Is there room for `need` bytes at `head`? The tail is read again only when the copy read
 * last says no: the collector moves it all the time, and reading it for every event would
 * fetch its cache line from the collector's core each time. */
static inline bool have_space(lg_ring_t *ring, lg_stream_t *st, uint64_t head, size_t need)
{
    if (LIKELY(head + need - st->tail_seen <= LG_RING_BYTES)) return true;
    st->tail_seen = atomic_load_explicit(&ring->tail, memory_order_acquire);
    if (head + need - st->tail_seen <= LG_RING_BYTES) return true;
    bool ok = wait_space(ring, head, need);
    st->tail_seen = atomic_load_explicit(&ring->tail, memory_order_acquire);
    return ok;
}

/* An event to record; fields used depend on `type` (trace_format.h). */
typedef struct lg_event {
    uint8_t type, fn;
    bool stack;
    int depth;             /* frames to capture when `stack` (0: LG_MAX_FRAMES) */
    int64_t seq1;          /* a reserved sequence number, or -1 to take one */
    uint64_t seq2;         /* REALLOC: its second number if reserved with seq1 (queued), else 0 */
    const char *type_name; /* runtime object events */
    const lg_unw_regs_t *at; /* the hook's caller's registers: the stack starts there */
    union { /* by type; kept small, as every event is built on the stack */
        struct {
            uintptr_t addr;
            size_t size;
            union {
                uintptr_t old;    /* REALLOC */
                size_t align;     /* ALIGNED */
                int64_t refcount; /* INCREF / DECREF */
            };
        };
        struct {
            uint64_t gen, collected, uncollectable, ns; /* GC_START / GC_END */
        };
    };
} lg_event_t;

/* Encoding: tag with LG_TAG_SEQ1 when seq follows the stream's last one, else sv delta. */
static uint8_t *put_seq(uint8_t *tag, uint8_t *p, lg_stream_t *st, uint64_t seq)
{
    int64_t d = (int64_t)seq - (st->last_seq + 1);
    if (d == 0)
        *tag |= LG_TAG_SEQ1;
    else
        p = lg_put_sv(p, d);
    st->last_seq = (int64_t)seq;
    return p;
}

static uint8_t *put_addr(uint8_t *p, lg_stream_t *st, uintptr_t a)
{
    p = lg_put_sv(p, (int64_t)(a - st->prev_addr));
    st->prev_addr = a;
    return p;
}

/* Encoding: the one address of a record, as a delta in 16-byte units when it is a multiple
 * of 16 (LG_TAG_A16 set in the tag). */
static inline uint8_t *put_addr16(uint8_t *tag, uint8_t *p, lg_stream_t *st, uintptr_t a)
{
    int64_t d = (int64_t)(a - st->prev_addr);
    st->prev_addr = a;
    if ((d & 15) == 0) {
        *tag |= LG_TAG_A16;
        return lg_put_sv(p, d / 16);
    }
    return lg_put_sv(p, d);
}

/* Writes one event (and the stack and thread records it needs) into this thread's ring.
 * Called with the guard held, through record(). Must not allocate from the C library except
 * through self_drain (self mode), which runs with the guard held too. */
static void write_event(const lg_event_t *ev, const uint8_t *extra, size_t extra_len)
{
    uintptr_t raw[LG_MAX_FRAMES + 16];
    const uintptr_t *ips = raw;
    uint32_t ri = tls.gen == atomic_load_explicit(&g_gen, memory_order_relaxed) ? tls.ring
                                                                                : claim_ring();
    lg_ring_t *ring = &g_region->rings[ri];
    lg_stream_t *st = &g_streams[ri];
    /* The stack: the same as one the memo remembers (its id is known), or walked. */
    int depth = 0;
    lg_unw_memo_t *memo = NULL;
    bool known = false;
    if (ev->stack) {
        int max = ev->depth > 0 ? ev->depth : LG_MAX_FRAMES;
        lg_unw_memo_set_t *set = stream_memo(st, ri);
        /* From the hook's caller, no frame of ours is read: `max` frames are enough. */
        int n = !set     ? -1
                : ev->at ? lg_unwind_memo_from((void **)raw, max, set, &memo, ev->at)
                         : lg_unwind_memo((void **)raw, max + 16, set, &memo);
        if (n == LG_UNW_HIT)
            known = true;
        else if (n >= 0)
            depth = skip_shim_frames(raw, n, max, &ips);
        else
            depth = capture_stack(raw, max, &ips);
    }
    if (ri == 0)
        while (atomic_exchange_explicit(&ring->lock, 1, memory_order_acquire)) sched_yield();

    /* Kept small (thread + stack + event records): the shim may run on a signal stack. */
    uint8_t buf[32 + 11 * LG_MAX_FRAMES + 8 * LG_VARINT_MAX + 128 + LG_VARINT_MAX], *p = buf;
    pid_t tid = my_tid();
    if (st->last_tid != tid) {
        *p++ = LG_REC_THREAD;
        p = lg_put_uv(p, (uint64_t)tid);
        st->last_tid = tid;
    }
    uint32_t type_id = 0;
    bool type_new;
    if (ev->type_name && (type_id = type_id_of(st, ev->type_name, &type_new)) && type_new) {
        *p++ = LG_REC_TYPE;
        p = lg_put_bytes(p, ev->type_name, strnlen(ev->type_name, 120));
    }
    bool is_new = false;
    uint32_t sid;
    if (known) {
        sid = memo->value;
    } else {
        sid = intern_stack(st, ips, depth, &is_new);
        if (memo) {
            memo->value = sid;
            if (depth && !sid) memo->nreads = 0; /* not interned: do not remember */
        }
    }
    if (is_new) { /* STACK: depth, ip0, deltas */
        *p++ = LG_REC_STACK;
        p = lg_put_uv(p, (uint64_t)depth);
        p = lg_put_uv(p, ips[0]);
        for (int i = 1; i < depth; i++) p = lg_put_sv(p, (int64_t)(ips[i] - ips[i - 1]));
    }
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    size_t need = (size_t)(p - buf) + 8 * LG_VARINT_MAX + 2 + extra_len;
    if (!have_space(ring, st, head, need)) {
        atomic_fetch_add(&g_region->hdr.lost, 1);
        goto out;
    }
    /* The sequence number is taken only now, once space is certain: a taken number is
     * always published, so the analyzer's reordering never waits for a number that cannot
     * come. */
    uint64_t seq = ev->seq1 >= 0 ? (uint64_t)ev->seq1 : atomic_fetch_add(&g_region->hdr.seq, 1);
    /* An event alone that fits before the ring's end is encoded in place: no copy, and no
     * reload of bytes just stored one by one (which the CPU cannot forward to a wide load). */
    size_t off = (size_t)(head & (LG_RING_BYTES - 1));
    uint8_t *start = buf;
    if (p == buf && !extra_len && off + need <= LG_RING_BYTES) p = start = ring->data + off;
    uint8_t *tag = p++;
    *tag = ev->type;
    p = put_seq(tag, p, st, seq);
    switch (ev->type) {
    case LG_REC_MALLOC:
    case LG_REC_CALLOC:
        p = put_addr16(tag, p, st, ev->addr);
        p = lg_put_uv(p, ev->size);
        p = lg_put_uv(p, sid);
        break;
    case LG_REC_ALIGNED:
        p = lg_put_uv(p, ev->fn);
        p = put_addr16(tag, p, st, ev->addr);
        p = lg_put_uv(p, ev->size);
        p = lg_put_uv(p, ev->align);
        p = lg_put_uv(p, sid);
        break;
    case LG_REC_REALLOC: {
        p = put_addr(p, st, ev->old);
        p = lg_put_sv(p, (int64_t)(ev->addr - ev->old));
        st->prev_addr = ev->addr;
        p = lg_put_uv(p, ev->size);
        p = lg_put_uv(p, sid);
        uint64_t seq2 = ev->seq2 ? ev->seq2 : atomic_fetch_add(&g_region->hdr.seq, 1);
        p = lg_put_uv(p, seq2 - seq);
        st->last_seq = (int64_t)seq2;
        break;
    }
    case LG_REC_FREE:
    case LG_REC_OBJ_FREE:
        p = put_addr16(tag, p, st, ev->addr);
        break;
    case LG_REC_OBJ_ALLOC:
        p = put_addr16(tag, p, st, ev->addr);
        p = lg_put_uv(p, ev->size);
        p = lg_put_uv(p, type_id);
        p = lg_put_uv(p, sid);
        break;
    case LG_REC_INCREF:
    case LG_REC_DECREF:
        p = put_addr16(tag, p, st, ev->addr);
        p = lg_put_sv(p, ev->refcount);
        p = lg_put_uv(p, sid);
        break;
    case LG_REC_GC_START:
        p = lg_put_uv(p, ev->gen);
        break;
    case LG_REC_GC_END:
        p = lg_put_uv(p, ev->gen);
        p = lg_put_uv(p, ev->collected);
        p = lg_put_uv(p, ev->uncollectable);
        p = lg_put_uv(p, ev->ns);
        break;
    default: /* NOP, MODULE, UNMODULE, WALK: payload in extra */
        break;
    }
    size_t len = (size_t)(p - start);
    if (start == buf) lg_ring_copy_in(ring, head, buf, len);
    if (extra_len) lg_ring_copy_in(ring, head + len, extra, extra_len);
    atomic_store_explicit(&ring->head, head + len + extra_len, memory_order_release);
out:
    if (ri == 0) atomic_store_explicit(&ring->lock, 0, memory_order_release);
}

/* Queues the event of a program's signal handler that interrupted the shim on this thread
 * (tls.sig_queue; alloc_wrappers.c, "Signal handlers"): the ring, its stream and the unwinder
 * may be mid-use by the interrupted code, and the ring may be full (draining it allocates and
 * takes a lock the interrupted code may hold), so the handler touches none of them. Its
 * sequence numbers are taken now: the event keeps its place among every thread's events (a
 * free is queued before the real free, as it is recorded before it). A full queue counts the
 * event lost (the trace's LOST). Only this thread and its handlers touch the queue, and only
 * record() outside a handler's call reads it, never while a handler fills it: a handler runs
 * to its end before the code it interrupted goes on. A nested handler may interrupt another's
 * reservation, hence the compare-and-swap. */
static void queue_event(const lg_event_t *ev)
{
    uint32_t w = atomic_load_explicit(&tls.pend_w, memory_order_relaxed);
    do {
        if (w - atomic_load_explicit(&tls.pend_r, memory_order_relaxed) >= LG_PENDING) {
            atomic_fetch_add(&g_region->hdr.lost, 1);
            return;
        }
    } while (!atomic_compare_exchange_weak_explicit(&tls.pend_w, &w, w + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    lg_pending_t *q = &tls.pend[w % LG_PENDING];
    q->type = ev->type;
    q->fn = ev->fn;
    q->addr = ev->addr;
    q->old = ev->type == LG_REC_REALLOC ? ev->old : 0;
    q->align = ev->type == LG_REC_ALIGNED ? ev->align : 0;
    q->size = ev->size;
    q->seq1 = ev->seq1 >= 0 ? (uint64_t)ev->seq1 : atomic_fetch_add(&g_region->hdr.seq, 1);
    q->seq2 = ev->type == LG_REC_REALLOC ? atomic_fetch_add(&g_region->hdr.seq, 1) : 0;
    atomic_signal_fence(memory_order_seq_cst);
}

static inline bool have_pending(void)
{
    return atomic_load_explicit(&tls.pend_r, memory_order_relaxed) !=
           atomic_load_explicit(&tls.pend_w, memory_order_relaxed);
}

/* Writes the queued events, oldest first, without a stack (the handler's stack is gone). */
__attribute__((noinline, cold)) static void write_pending(void)
{
    atomic_signal_fence(memory_order_seq_cst);
    while (have_pending()) {
        uint32_t r = atomic_load_explicit(&tls.pend_r, memory_order_relaxed);
        lg_pending_t *q = &tls.pend[r % LG_PENDING];
        lg_event_t qe = {.type = q->type, .fn = q->fn, .addr = q->addr, .size = q->size,
                         .seq1 = (int64_t)q->seq1, .seq2 = q->seq2};
        if (q->type == LG_REC_REALLOC) qe.old = q->old;
        if (q->type == LG_REC_ALIGNED) qe.align = q->align;
        *q = (lg_pending_t){0}; /* thread memory is a root of the leak check: no address */
        atomic_signal_fence(memory_order_seq_cst);
        atomic_store_explicit(&tls.pend_r, r + 1, memory_order_relaxed);
        write_event(&qe, NULL, 0);
    }
}

/* Records one event: see write_event(). A signal handler's event is queued instead
 * (queue_event()); the queue is written by this thread's next record(), before its own event
 * (the queued ones are older) and after it (a handler that interrupted write_event()). The
 * cost on the fast path: one load of sig_queue and two of the queue's counts. */
static void record(const lg_event_t *ev, const uint8_t *extra, size_t extra_len)
{
    if (UNLIKELY(tls.sig_queue)) {
        queue_event(ev);
        return;
    }
    if (UNLIKELY(have_pending())) write_pending();
    write_event(ev, extra, extra_len);
    atomic_signal_fence(memory_order_seq_cst);
    if (UNLIKELY(have_pending())) write_pending();
}

/* Writes pre-encoded records that carry no sequence number (the walk's) into this thread's
 * ring, defining `type_name` first if the stream does not know it yet. Guard held. */
static void record_raw(const uint8_t *bytes, size_t n, const char *type_name, uint32_t *type_id)
{
    uint32_t ri = tls.gen == atomic_load_explicit(&g_gen, memory_order_relaxed) ? tls.ring
                                                                                : claim_ring();
    lg_ring_t *ring = &g_region->rings[ri];
    lg_stream_t *st = &g_streams[ri];
    if (ri == 0)
        while (atomic_exchange_explicit(&ring->lock, 1, memory_order_acquire)) sched_yield();
    uint8_t pre[16 + 128 + LG_VARINT_MAX], *p = pre;
    pid_t tid = my_tid();
    if (st->last_tid != tid) {
        *p++ = LG_REC_THREAD;
        p = lg_put_uv(p, (uint64_t)tid);
        st->last_tid = tid;
    }
    bool type_new;
    if (type_name && type_id && (*type_id = type_id_of(st, type_name, &type_new)) && type_new) {
        *p++ = LG_REC_TYPE;
        p = lg_put_bytes(p, type_name, strnlen(type_name, 120));
    }
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    size_t plen = (size_t)(p - pre);
    if (wait_space(ring, head, plen + n)) {
        if (plen) lg_ring_copy_in(ring, head, pre, plen);
        if (n) lg_ring_copy_in(ring, head + plen, bytes, n);
        atomic_store_explicit(&ring->head, head + plen + n, memory_order_release);
    }
    if (ri == 0) atomic_store_explicit(&ring->lock, 0, memory_order_release);
}
