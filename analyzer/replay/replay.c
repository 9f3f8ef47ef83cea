/* replay.c: ordered events -> the live set. It owns the live set (allocations insert, frees
 * remove; because replay follows the sequence order, an address reused by another thread is
 * always freed before it is allocated again), the statistics of lg_trace_t, module load and
 * unload numbers, and the history of runtime events (object and GC events); then calls the
 * caller's callback with the event. A live tracker (live_only) keeps only addresses and sizes
 * in its own table and no history. It must be called in sequence order (order.c does). */
#include <errno.h>

#include "loader.h"

/* ---- live set (loader.h): dense blocks, a 4-byte index on their addresses --------------- */
/* Puts position i + 1 in the index (its address is not there). */
static void live_index(live_table_t *lt, size_t i)
{
    size_t j = lg_addrmap_home(lt->blocks[i].addr, lt->mask);
    while (lt->slots[j]) j = (j + 1) & lt->mask;
    lt->slots[j] = (uint32_t)(i + 1);
}

static int live_grow_index(live_table_t *lt)
{
    size_t cap = lt->slots ? (lt->mask + 1) * 2 : 4096;
    uint32_t *ns = calloc(cap, sizeof *ns);
    if (!ns) return -ENOMEM;
    free(lt->slots);
    lt->slots = ns;
    lt->mask = cap - 1;
    for (size_t i = 0; i < lt->used; i++) live_index(lt, i);
    return 0;
}

int lg_liveset_put(live_table_t *lt, const lg_block_t *b)
{
    lg_block_t *old = lg_liveset_find(lt, b->addr);
    if (old) {
        *old = *b;
        return 0;
    }
    if (lt->used >= UINT32_MAX - 1) return -ENOMEM; /* positions are 32-bit */
    if ((!lt->slots || (lt->used + 1) * 2 > lt->mask + 1) && live_grow_index(lt)) return -ENOMEM;
    if (lt->used == lt->cap) { /* grows by half: at most a third of the blocks unused */
        size_t cap = lt->cap ? lt->cap + lt->cap / 2 : 4096;
        lg_block_t *nb = realloc(lt->blocks, cap * sizeof *nb);
        if (!nb) return -ENOMEM;
        lt->blocks = nb;
        lt->cap = cap;
    }
    lt->blocks[lt->used] = *b;
    live_index(lt, lt->used++);
    return 0;
}

/* The index slot that holds position i (its block is in the index). */
static size_t live_slot_of(const live_table_t *lt, size_t i)
{
    size_t j = lg_addrmap_home(lt->blocks[i].addr, lt->mask);
    while (lt->slots[j] != i + 1) j = (j + 1) & lt->mask;
    return j;
}

static void live_del(live_table_t *lt, lg_block_t *b)
{
    size_t pos = (size_t)(b - lt->blocks), i = live_slot_of(lt, pos), j = i;
    for (;;) { /* shift back every entry whose probe path crossed the hole */
        j = (j + 1) & lt->mask;
        if (!lt->slots[j]) break;
        size_t home = lg_addrmap_home(lt->blocks[lt->slots[j] - 1].addr, lt->mask);
        if (((j - home) & lt->mask) >= ((j - i) & lt->mask)) {
            lt->slots[i] = lt->slots[j];
            i = j;
        }
    }
    lt->slots[i] = 0;
    size_t last = --lt->used;
    if (pos != last) { /* the last block takes the freed place */
        lt->slots[live_slot_of(lt, last)] = (uint32_t)(pos + 1);
        lt->blocks[pos] = lt->blocks[last];
    }
}

/* The latest module decoded with this id (decode.c keeps the index), or -1. */
static int module_index(const loader_t *L, uint32_t id)
{
    const uint64_t *i = lg_addrmap_find(&L->mod_ix, (uint64_t)id + 1);
    return i ? (int)*i : -1;
}

static void replay_oom(loader_t *L)
{
    L->error = -ENOMEM;
    lg_load_problem(L->t, "out of memory while replaying");
}

/* Applies the tracker's queued allocations and frees, in order. */
void lg_replay_flush(loader_t *L)
{
    lg_trace_t *t = L->t;
    for (unsigned i = 0; i < L->nbatch; i++) {
        const struct pending_op *op = &L->batch[i];
        if (op->alloc) {
            if (lg_sizemap_put(&L->compact, op->addr, op->size)) replay_oom(L);
        } else if (lg_sizemap_del(&L->compact, op->addr, NULL)) {
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
    lg_sizemap_prefetch(&L->compact, addr);
    L->batch[L->nbatch++] = (struct pending_op){addr, size, alloc};
    if (L->nbatch == sizeof L->batch / sizeof L->batch[0]) lg_replay_flush(L);
}

void lg_replay_event(loader_t *L, const lg_event_t *ev)
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
        else if (lg_liveset_put(&L->live, &b))
            replay_oom(L);
        break;
    }
    case LG_REC_FREE: {
        if (L->live_only) {
            queue_op(L, ev->addr, 0, false);
            break;
        }
        lg_block_t *b = lg_liveset_find(&L->live, ev->addr);
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
            replay_oom(L);
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
            replay_oom(L);
            break;
        }
        t->gcev[t->ngcev++] = (lg_gc_event_t){ev->seq, ev->gen, ev->type == LG_REC_GC_END,
                                              ev->collected, ev->uncollectable, ev->ns};
        break;
    case LG_REC_UNMODULE: {
        int mi = module_index(L, ev->module);
        if (mi < 0) {
            lg_load_problem(t, "unload of unknown module %u", ev->module);
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

int lg_replay_finish(loader_t *L)
{
    lg_trace_t *t = L->t;
    live_table_t *lt = &L->live; /* its blocks become the trace's: no copy */
    t->live = lt->blocks ? lt->blocks : malloc(sizeof *t->live);
    if (!t->live) return -ENOMEM;
    t->nlive = lt->used;
    free(lt->slots);
    *lt = (live_table_t){0};
    return 0;
}
