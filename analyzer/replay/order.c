/* order.c: events -> sequence order. Decoded events arrive ring by ring, in the order of the
 * blocks in the file (or of the collector's drain rounds); this file hands them to replay.c
 * (lg_replay_event) in increasing sequence number. Numbers are dense (the shim takes one only
 * when it is certain to publish it), so an event is replayed at once when its number is the
 * next one, and otherwise waits until every smaller number has been replayed. It owns the
 * waiting events and nothing else.
 *
 * Every ring's events arrive in increasing sequence order (one writer takes its numbers in
 * order), so an event that cannot be replayed yet waits in its ring's FIFO, and the next
 * number to replay is always at the head of some FIFO: a step costs a look at the heads of
 * the rings that have waiting events (a handful), not a heap operation per event. The one
 * exception (the shared ring 0, where a realloc's reserved number may be written after a
 * larger one) goes to a small binary heap. How many events wait (the reorder window) depends on
 * the order in which events are fed, not on this code: read.c's merge of the rings keeps it to
 * about one per ring, the live tracker's to about one drain round (README.md, "Memory"). */
#include <errno.h>
#include <string.h>

#include "loader.h"

/* ---- the heap of events that arrived out of order within their own ring ------------------ */
static int heap_push(loader_t *L, heap_t *h, const lg_event_t *e)
{
    size_t cap = h->cap;
    if (grow((void **)&h->v, &h->cap, h->n + 1, sizeof *h->v)) return -ENOMEM;
    lg_held(L, (int64_t)((h->cap - cap) * sizeof *h->v));
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

/* ---- per-ring FIFOs ---------------------------------------------------------------------- */
/* One more event waits: keeps the reader's high-water mark (trace.h). */
static inline void note_waiting(loader_t *L)
{
    if (++L->pending > L->t->read_peak_events) L->t->read_peak_events = L->pending;
}

static int fifo_push(loader_t *L, uint32_t ring, const lg_event_t *ev)
{
    fifo_t *f = &L->fifo[ring];
    if (f->n > f->head && ev->seq < f->last) { /* out of order within the ring */
        if (heap_push(L, &L->heap, ev)) return -ENOMEM;
        note_waiting(L);
        return 0;
    }
    if (f->n == f->cap) {
        if (f->head > 0) {
            memmove(f->v, f->v + f->head, (f->n - f->head) * sizeof *f->v);
            f->n -= f->head;
            f->head = 0;
        }
        size_t cap = f->cap;
        if (f->n == f->cap && grow((void **)&f->v, &f->cap, f->n + 1, sizeof *f->v)) return -ENOMEM;
        lg_held(L, (int64_t)((f->cap - cap) * sizeof *f->v));
    }
    if (f->n == f->head) { /* becomes active */
        f->head = f->n = 0;
        L->active[L->nactive++] = ring;
    }
    f->v[f->n++] = *ev;
    f->last = ev->seq;
    note_waiting(L);
    return 0;
}

/* The waiting event with the smallest number: its ring (UINT32_MAX - 1 for the heap). */
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

/* Replays the waiting event at ring r's head (or the heap's top). */
static void replay_waiting(loader_t *L, uint32_t r, size_t slot)
{
    lg_event_t e = take_waiting(L, r, slot);
    lg_replay_event(L, &e);
    if (e.seq >= L->next_seq) L->next_seq = e.seq + 1;
}

/* Replays waiting events while the next number is available (or, with `below`, every waiting
 * event numbered below it, skipping gaps). */
void lg_order_drain(loader_t *L, uint64_t below)
{
    while (L->pending) {
        uint64_t seq;
        size_t slot = 0;
        uint32_t r = min_waiting(L, &seq, &slot);
        if (seq > L->next_seq && seq >= below) break;
        replay_waiting(L, r, slot);
    }
}

void lg_order_skip(loader_t *L)
{
    if (!L->pending) return;
    uint64_t seq;
    size_t slot = 0;
    uint32_t r = min_waiting(L, &seq, &slot);
    replay_waiting(L, r, slot);
    lg_order_drain(L, 0);
}

int lg_order_emit(loader_t *L, const lg_event_t *ev)
{
    if (ev->seq == L->next_seq) {
        lg_replay_event(L, ev);
        L->next_seq++;
        if (L->pending) lg_order_drain(L, 0);
        return L->error;
    }
    if (ev->seq < L->next_seq) { /* a number already passed (damaged input): as it comes */
        lg_replay_event(L, ev);
        return L->error;
    }
    if (fifo_push(L, ev->ring, ev)) return -ENOMEM;
    if (L->max_waiting && L->pending >= L->max_waiting) lg_order_skip(L); /* a gap */
    return L->error;
}
