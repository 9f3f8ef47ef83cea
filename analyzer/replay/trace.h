/* The analyzer's view of one trace file: the process it describes, its module map, its
 * distinct stacks, and the blocks still live at its end. lg_trace_load() reads the file
 * (checking every block), decodes each ring's stream, restores the global order of events by
 * sequence number, and replays them; a caller may also watch every event as it is replayed
 * (`leakgraph dump` does). It never symbolizes and never prints. */
#ifndef LG_TRACE_H
#define LG_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakgraph/trace_format.h"

typedef struct lg_module_info {
    uint32_t id;
    uint64_t bias, start, end;
    char *path;
    uint8_t build_id[64];
    size_t build_id_len;
    uint64_t load_seq, unload_seq; /* [load, unload): UINT64_MAX if never unloaded */
} lg_module_info_t;

typedef struct lg_stack {
    uint32_t depth;
    uint64_t *ips; /* return addresses, innermost first */
    uint64_t hash;
} lg_stack_t;

/* An address range: a live block as a collector's check sees it. */
typedef struct lg_extent {
    uint64_t addr, size;
} lg_extent_t;

typedef struct lg_block {
    uint64_t addr, size, seq;
    uint32_t stack; /* global stack id: index into stacks (0 = none) */
    uint32_t tid;
    uint8_t fn;     /* enum lg_alloc_fn */
} lg_block_t;

/* One replayed event, in sequence order (reallocs arrive as a FREE then an allocation). */
typedef struct lg_event {
    uint64_t seq;
    uint8_t type; /* LG_REC_MALLOC, CALLOC, ALIGNED, REALLOC (the allocation half), FREE,
                     MODULE, UNMODULE, NOP, and the runtime records */
    uint8_t fn;
    uint32_t ring, tid;
    uint32_t stack; /* global stack id */
    union {             /* by type: */
        uint32_t module; /* MODULE / UNMODULE: index into modules */
        uint32_t otype;  /* OBJ_ALLOC: global type id (0 for the other object events) */
        uint32_t gen;    /* GC_START / GC_END */
    };
    union { /* kept small: every event is built and copied through the reordering */
        struct {
            uint64_t addr, size;
            union {
                uint64_t align;   /* ALIGNED */
                int64_t refcount; /* INCREF / DECREF: the count after */
            };
        };
        struct {
            uint64_t collected, uncollectable, ns; /* GC_END */
        };
    };
} lg_event_t;

/* A reference-counted runtime's object event (trace_format.h, LG_REC_OBJ_ALLOC..DECREF), in
 * sequence order. */
typedef struct lg_obj_event {
    uint64_t seq, addr;
    int64_t value;   /* INCREF/DECREF: count after; OBJ_ALLOC: size */
    uint32_t stack;  /* global stack id, 0 in counts-only mode */
    uint32_t type;   /* OBJ_ALLOC: global type id */
    uint32_t tid;
    uint8_t kind;    /* LG_REC_OBJ_ALLOC, LG_REC_OBJ_FREE, LG_REC_INCREF, LG_REC_DECREF */
} lg_obj_event_t;

typedef struct lg_gc_event {
    uint64_t seq;
    uint32_t gen;
    bool end;
    uint64_t collected, uncollectable, ns;
} lg_gc_event_t;

typedef struct lg_walk_obj {
    uint64_t addr, size;
    uint32_t type;     /* global type id */
    int64_t refcount;
    size_t ref_start;  /* its references: refs[ref_start .. next object's ref_start) */
} lg_walk_obj_t;

typedef struct lg_walk_ref {
    uint64_t to;
    int64_t index;     /* -1: none */
    uint32_t label;    /* index into the trace's labels, 0: none */
} lg_walk_ref_t;

/* A runtime's object walk, taken at check `check`. */
typedef struct lg_walk {
    uint32_t check;
    uint64_t seq;
    char *runtime;
    lg_walk_obj_t *objs;
    size_t nobjs, capobjs;
    lg_walk_ref_t *refs;
    size_t nrefs, caprefs;
    int status;        /* the walk's result (0: complete) */
    bool ended;        /* WALK_END seen */
} lg_walk_t;

/* A root region of a snapshot (trace_format.h, enum lg_root_kind). */
typedef struct lg_root_region {
    int kind;
    uint64_t start, end;
    int tid;
    char *name;
} lg_root_region_t;

/* One snapshot: the live blocks at that point, how roots point to them, and every pointer
 * between blocks (compressed sparse rows: the edges of block i are [edge_start[i],
 * edge_start[i+1])). Blocks are in address order. */
typedef struct lg_snapshot {
    uint32_t id, reason, threads, noregs;
    uint64_t seq, scanned, skipped, ns, time_ns;
    size_t nblocks;
    uint64_t *addr, *size;
    uint32_t *stack;     /* allocation stack (global id; 0 if the allocation was not seen) */
    uint64_t *aseq;      /* allocation's sequence number */
    uint8_t *fn;         /* allocator */
    uint8_t *ref_flags;  /* LG_REF_* from roots */
    uint32_t *ref_region;
    lg_root_region_t *regions;
    size_t nregions;
    size_t *edge_start;  /* nblocks + 1 */
    uint32_t *edge_to, *edge_src_off, *edge_dst_off;
    uint8_t *edge_heur;
    size_t nedges;
    /* runtime objects (trace_format.h, LG_KEY_SNAP_OBJECTS): has_objects says whether the
     * section was there. held_*: per object with holders, ascending address, the root words
     * and malloc-block words pointing exactly at it, and where the first one is. ptr_*: words
     * inside objects pointing exactly at objects (word index from the object's address). */
    bool has_objects;
    size_t nobj_scanned, nheld, nptrs;
    uint64_t *held_addr, *held_roots, *held_blocks, *held_first;
    uint64_t *ptr_from, *ptr_to;
    uint32_t *ptr_word;
} lg_snapshot_t;

struct lg_trace;
typedef void (*lg_event_cb)(void *ctx, const struct lg_trace *t, const lg_event_t *ev);

typedef struct lg_trace {
    char *path;
    /* PROCESS */
    int pid, ppid, parent_pid, exec_from;
    char *exe, *cwd, *tracer;
    char **argv;
    int argc;
    uint64_t start_ns;
    uint32_t nrings;
    /* a forked child: its parent's trace and the parent's sequence number at the fork */
    char *parent_trace;
    uint64_t fork_seq;
    uint64_t inherited_blocks; /* blocks replayed from the parent's trace */
    char *inherit_problem;     /* why inherited blocks are unknown (NULL if none or fine) */
    /* END */
    bool complete;      /* the file ends with an END block and nothing was damaged */
    bool has_end;
    char *problem;      /* why the trace is incomplete (NULL if complete) */
    int end_reason;     /* enum lg_end_reason, 0 if no END block */
    int exit_status;    /* -1 if unknown */
    int signal;         /* 0 if none */
    uint64_t end_ns, events_declared, lost;
    uint64_t rc_increfs, rc_decrefs; /* counts-only mode: totals (END keys 38, 39) */
    int rc_depth; /* frames of incref/decref stacks (key 13); 0: counts only; -1: not said */
    /* contents */
    lg_module_info_t *mods;
    size_t nmods;
    lg_stack_t *stacks; /* stacks[0] is the empty stack */
    size_t nstacks;
    /* reference-counted runtimes */
    char **types;      /* global type names; types[0] = "?" */
    size_t ntypes;
    char **labels;     /* reference labels; labels[0] = "" */
    size_t nlabels;
    lg_obj_event_t *objev;
    size_t nobjev;
    lg_gc_event_t *gcev;
    size_t ngcev;
    lg_walk_t *walks;
    size_t nwalks;
    lg_snapshot_t *snaps; /* in trace order; the exit snapshot (reason 1) is normally last */
    size_t nsnaps;
    lg_block_t *live;   /* blocks allocated and not freed at the end, in no particular order */
    size_t nlive;
    /* statistics */
    uint64_t nevents, nallocs, nfrees, unknown_frees, allocated_bytes;
    uint64_t file_bytes, raw_bytes;
    /* the reader's high-water marks (docs/trace-format.md, "Limits of a reader"; README.md
     * "Memory"): events decoded and waiting for a smaller number, and bytes of the file held
     * at once (block buffers, waiting events) */
    uint64_t read_peak_events, read_peak_bytes;
} lg_trace_t;

/* Loads `path`. Returns 0 (the trace may still be incomplete: see t->complete/t->problem) or
 * a negative errno with a message in err (not a trace, unknown version, unreadable). */
int lg_trace_load(const char *path, lg_trace_t *t, lg_event_cb cb, void *ctx, char *err,
                  size_t errlen);
void lg_trace_free(lg_trace_t *t);

/* Progress of a load, for a display (analyzer/cli/progress.c): `done` of `total` units of
 * work (bytes of the file, each counted twice: once checked, once replayed), called after
 * each block and once with `finished` at the end of every load (not for a fork's parent read
 * inside it). One hook for the process, NULL for none; set it before loading. */
typedef void (*lg_progress_fn)(void *ctx, const struct lg_trace *t, uint64_t done,
                               uint64_t total, bool finished);
void lg_trace_set_progress(lg_progress_fn fn, void *ctx);

/* The module that held `ip` at sequence number `seq` (or, failing that, any module that
 * contains it, the latest loaded). Returns an index into t->mods or -1. */
int lg_trace_module_at(const lg_trace_t *t, uint64_t ip, uint64_t seq);

/* A live tracker: the live blocks of a trace being written, kept up to date from the ring
 * bytes as they are collected (the same decoding and ordering as lg_trace_load, without the
 * history of runtime events). */
typedef struct lg_live_tracker lg_live_tracker_t;
lg_live_tracker_t *lg_live_new(uint32_t nrings);
/* Feeds whole records of ring `ring` in stream order. Returns 0, -EBADMSG (damaged: the
 * tracker stops and lg_live_trace()->problem says why) or -ENOMEM. */
int lg_live_feed(lg_live_tracker_t *lt, uint32_t ring, const uint8_t *bytes, size_t n);
/* The blocks live before sequence number `below` (every event below it is replayed first):
 * their addresses and sizes, 16 bytes a block (a check's memory beside the tracker's own).
 * *out is malloc'd, in no particular order. Returns the count or a negative errno. */
long lg_live_extents(lg_live_tracker_t *lt, uint64_t below, lg_extent_t **out);
/* Its stacks, modules and runtime walks, read-only. */
const lg_trace_t *lg_live_trace(const lg_live_tracker_t *lt);
void lg_live_free(lg_live_tracker_t *lt);

/* Names for enums, for reports and dumps. */
const char *lg_fn_name(int fn);
const char *lg_end_reason_name(int reason);

#endif /* LG_TRACE_H */
