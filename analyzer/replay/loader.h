/* loader.h: the state shared by the files of replay/ while one trace is loaded (lg_trace_load)
 * or kept up to date (lg_live_*): per-ring decoding state, the global stack table, the live
 * set, the reordering queues, and the declarations each file offers the others, grouped under
 * the file that defines them. Internal to this folder: other folders include "trace.h" only.
 * See README.md for the data path through the files. */
#ifndef LG_REPLAY_LOADER_H
#define LG_REPLAY_LOADER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <zstd.h>

#include "addrmap.h"
#include "sizemap.h"
#include "codec.h"
#include "region.h"
#include "trace.h"
#include "writer.h"

/* ---- what a reader accepts (docs/trace-format.md, "Limits of a reader") -----------------
 * A block beyond what trace/writer.c produces is refused before it is decompressed or parsed:
 * its contents did not come from a writer, so the load fails (an error, not an incomplete
 * trace). */
/* An EVENTS block's raw length: the writer writes a ring's staging when it holds
 * LG_STAGE_FLUSH bytes, and one drain adds at most a ring's LG_RING_BYTES. */
#define LG_READ_MAX_EVENTS_RAW (2u << 20)
/* A SNAPSHOT part's raw length (LG_SNAPSHOT_PART). */
#define LG_READ_MAX_SNAPSHOT_PART (32u << 20)
/* A PROCESS or END block: the region's description (LG_INFO_BYTES) and the keys the
 * collector appends. */
#define LG_READ_MAX_KV ((64u << 10) + (4u << 10))
/* All blocks decompressed together, as a multiple of the file's size. Record streams of real
 * programs compress at most about 9000 to 1 (malloc and free of one address in a loop: 6600
 * for a whole `leakgraph run` trace, 8700 for its best block); a block of one repeated byte
 * reaches about 20000. */
#define LG_READ_MAX_RATIO 16384u
/* Events waiting for a smaller number, at most. Reading a file merges the rings by their
 * numbers (read.c), so in a trace whose rings' numbers increase about one event per ring
 * waits; more wait only behind a number written late (ring 0 is shared: a realloc's reserved
 * number can follow larger ones) or never written (a gap: a process that died between taking
 * a number and writing it). When this many wait, the smallest is replayed, skipping the gap:
 * 2^20 events (56 MB) is far more than any late number seen (a realloc overtaken by every
 * other thread's events for the time of one preemption), and a gap costs at most that. */
#define LG_READ_MAX_WAITING (1u << 20)
_Static_assert(LG_READ_MAX_EVENTS_RAW >= LG_STAGE_FLUSH + LG_RING_BYTES,
               "the reader must accept every EVENTS block the writer produces");
_Static_assert(LG_READ_MAX_SNAPSHOT_PART >= LG_SNAPSHOT_PART,
               "the reader must accept every SNAPSHOT part the writer produces");
_Static_assert(LG_READ_MAX_KV >= LG_INFO_BYTES + 1024,
               "the reader must accept every PROCESS block the writer produces");

/* ---- small growable arrays ------------------------------------------------------------- */
static inline int grow(void **p, size_t *cap, size_t need, size_t elem)
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

/* ---- global stack table (decode.c) ----------------------------------------------------- */
typedef struct stack_table {
    uint32_t *slots; /* global ids, 0 = empty */
    size_t mask, used, cap;
} stack_table_t;

/* An index of a string table (type names, labels): open addressing on the string's hash,
 * slots hold table index + 1 (0 = empty). */
typedef struct str_index {
    uint32_t *slots;
    size_t mask, used;
} str_index_t;

/* ---- live set (replay.c) ------------------------------------------------------------------
 * The live blocks, dense in `blocks` (no holes: a freed block's place takes the last one), and
 * an index on their addresses: open addressing with common/addrmap.h's home slot and
 * backward-shift deletion, 4 bytes a slot (the block's position + 1), at most half full. A
 * live block costs 40 bytes and 8 to 16 of index (issue #14: report's memory within 100 bytes
 * a live block), and the end of the replay hands `blocks` over as lg_trace_t.live with no
 * copy. The first table held whole 40-byte blocks in its slots (80 to 160 bytes a live
 * block, and a copy for lg_trace_t.live): 5M live blocks took 671 MB there and 1.17 GB to
 * report. The indirection costs a few % of a report's time (docs/architecture.md). */
typedef struct live_table {
    uint32_t *slots;    /* position in blocks + 1; 0 = empty */
    size_t mask;        /* slots: mask + 1, a power of two */
    lg_block_t *blocks; /* the live blocks, [0, used) */
    size_t used, cap;
} live_table_t;

/* The live block at addr (a pointer into the table, valid until the next insert or delete),
 * or NULL. */
static inline lg_block_t *lg_liveset_find(live_table_t *lt, uint64_t addr)
{
    if (!lt->slots) return NULL;
    for (size_t j = lg_addrmap_home(addr, lt->mask); lt->slots[j]; j = (j + 1) & lt->mask)
        if (lt->blocks[lt->slots[j] - 1].addr == addr) return &lt->blocks[lt->slots[j] - 1];
    return NULL;
}

/* ---- reordering (order.c) --------------------------------------------------------------- */
typedef struct heap {
    lg_event_t *v;
    size_t n, cap;
} heap_t;

typedef struct fifo {
    lg_event_t *v;
    size_t head, n, cap;
    uint64_t last;
} fifo_t;

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
    size_t walk_nobjs;   /* a dry decode's count of the walk's objects (decode.c) */
} ring_state_t;

/* A block of the file, as read.c's first pass found it (type, where, lengths, ring). */
typedef struct file_block {
    uint64_t off;
    uint32_t type, stored, raw, ring;
    long next; /* EVENTS: the index of the same ring's next EVENTS block, -1: none */
} file_block_t;

/* A ring's records being merged (read.c): its current EVENTS block, decompressed, and where
 * its decoding stands in it. */
typedef struct ring_src {
    uint8_t *buf;
    size_t cap;
    const uint8_t *p, *end; /* records not decoded yet */
    long blk;               /* the next EVENTS block of this ring to read, -1: none */
} ring_src_t;

typedef struct loader {
    lg_trace_t *t;
    lg_event_cb cb;
    void *ctx;
    ring_state_t *rings;
    uint32_t nrings;    /* ring states: the PROCESS block's RINGS, fixed once it is read */
    int error;          /* a failure that ends the load (-ENOMEM while replaying), 0: none */
    uint64_t volume, volume_max; /* bytes decompressed so far, and the most allowed */
    ring_src_t *src;    /* per ring, read.c's merge */
    file_block_t *blocks; /* the file's whole blocks up to the first damage (read.c) */
    size_t nblocks, capblocks;
    uint64_t held;      /* bytes held now in block buffers and queues (read_peak_bytes) */
    stack_table_t stacks;
    str_index_t types_ix, labels_ix;
    lg_addrmap_t mod_ix; /* module id + 1 -> index into t->mods of its latest MODULE record */
    live_table_t live;
    heap_t heap;        /* events that arrived out of order within their own ring */
    uint64_t next_seq;
    struct fifo *fifo;  /* per ring: events waiting for a smaller number from another ring */
    uint32_t *active;   /* rings whose fifo is not empty */
    size_t nactive;
    size_t pending;     /* events in fifos and heap */
    size_t max_waiting; /* when this many wait, skip the gap (lg_order_skip); 0: never (the
                           live tracker) */
    size_t modcap;
    uint8_t *raw;
    size_t rawcap;
    ZSTD_DCtx *zd;
    uint8_t *snapbuf; /* parts of the snapshot being read */
    size_t snaplen, snapcap;
    size_t snapcap_arr;
    bool live_only;    /* a live tracker: keep no history of runtime events, no callback,
                          live blocks in `compact` */
    lg_sizemap_t compact; /* the tracker's live set: address -> size. A collector's check needs
                             the live blocks' addresses and sizes, nothing else (the report
                             attaches stacks from its own replay), so the tracker keeps one
                             8-byte word a slot (common/sizemap.h: 10 to 15 bytes a block)
                             instead of lg_block_t's 40: less than the program's own malloc
                             metadata for programs that hold millions of blocks. */
    /* tracker: allocations and frees queued with their slot prefetched, applied in order */
    struct pending_op { uint64_t addr, size; bool alloc; } batch[32];
    unsigned nbatch;
    uint64_t stop_seq; /* replay only events below it (0: all); loading a fork's parent */
    int depth;         /* fork ancestors being loaded */
    size_t captypes, caplabels, capobjev, capgcev, capwalks;
} loader_t;

/* ---- read.c: the file, its blocks, the loader's lifetime ---------------------------------- */
/* Loads `path` into t; with `stop`, replays only the events numbered below it (a fork's
 * parent); `depth`: fork ancestors being loaded. */
int lg_load_file(const char *path, lg_trace_t *t, lg_event_cb cb, void *ctx, uint64_t stop,
                 int depth, char *err, size_t errlen);
/* Records why the trace is incomplete (the first reason only). Out of memory for the message,
 * t->problem is lg_load_oom (not freed), and the load fails. */
extern char lg_load_oom[];
void lg_load_problem(lg_trace_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The tables whose entry 0 means "none": stacks, types, labels. Returns 0 or -ENOMEM. */
int lg_loader_tables(lg_trace_t *t, loader_t *L);
/* The per-ring state of n rings. Returns 0 or -ENOMEM (lg_loader_free frees what was made). */
int lg_loader_rings(loader_t *L, uint32_t n);
void lg_loader_free(loader_t *L);

/* ---- decode.c: one ring's record bytes -> events ---------------------------------------- */
/* Decodes a whole buffer of ring `ring`'s records (the live tracker). Returns 0, -ENOMEM or
 * -EBADMSG (t->problem set). */
int lg_decode_stream(loader_t *L, uint32_t ring, const uint8_t *p, size_t len);
/* Decodes ring `ring`'s records from *p while its last sequence number is at most `until`
 * (at least one record if it is), moving *p past them (read.c's merge). Same returns. */
int lg_decode_until(loader_t *L, uint32_t ring, const uint8_t **p, const uint8_t *end,
                    int64_t until);
/* Checks that a block's records decode, with the stream state rs (a copy, not the ring's
 * real one), and nothing else: -EBADMSG exactly where lg_decode_stream would fail, t->problem
 * untouched. Returns 0 or -EBADMSG. */
int lg_decode_check(loader_t *L, ring_state_t *rs, const uint8_t *p, size_t len);
uint32_t lg_intern_stack(lg_trace_t *t, stack_table_t *st, uint64_t *ips, uint32_t depth);

/* ---- order.c: events -> sequence order ------------------------------------------------- */
/* Returns 0, or L->error / -ENOMEM once the load cannot go on. */
int lg_order_emit(loader_t *L, const lg_event_t *ev);
void lg_order_drain(loader_t *L, uint64_t below);
/* Replays the smallest waiting event, skipping the gap below it, then what follows it (when
 * max_waiting events wait: docs/trace-format.md "Limits of a reader"). */
void lg_order_skip(loader_t *L);
/* Counts `bytes` more (or fewer) held by the reader, keeping the high-water mark. */
static inline void lg_held(loader_t *L, int64_t bytes)
{
    L->held += (uint64_t)bytes;
    if (L->held > L->t->read_peak_bytes) L->t->read_peak_bytes = L->held;
}

/* ---- replay.c: ordered events -> the live set ------------------------------------------ */
/* Out of memory, it sets L->error (and, for the tracker, t->problem): nothing is dropped
 * silently. */
void lg_replay_event(loader_t *L, const lg_event_t *ev);
void lg_replay_flush(loader_t *L);
/* The live set into t->live. Returns 0 or -ENOMEM. */
int lg_replay_finish(loader_t *L);
/* Adds b to the live set, replacing any block at its address. Returns 0 or -ENOMEM. */
int lg_liveset_put(live_table_t *lt, const lg_block_t *b);

/* ---- snapshot.c: SNAPSHOT payloads ----------------------------------------------------- */
int lg_snapshot_parse(loader_t *L, const uint8_t *p, size_t len);
void lg_snapshot_free(lg_snapshot_t *S);

/* ---- inherit.c: a forked child's blocks from its parent's trace ------------------------- */
int lg_inherit(loader_t *L);

#endif /* LG_REPLAY_LOADER_H */
