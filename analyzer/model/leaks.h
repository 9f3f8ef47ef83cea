/* The leak set: what every report, check and baseline works from. Built from loaded traces:
 * each trace's chosen snapshot is classified (classify.c) and its blocks grouped into loss
 * records by (kind, allocation stack), as Memcheck groups them; unreachable cycles become
 * records of their own. Without a snapshot (preloaded by hand, or the check failed) every block
 * still allocated at the end is one "unfreed" record per stack. Symbolization is on demand,
 * through each trace's frames (frames.h). This is the model's top: it may use every other
 * file of model/, none of them uses it; it must not print. */
#ifndef LG_LEAKS_H
#define LG_LEAKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "frames.h"
#include "objects.h"
#include "trace.h"

typedef struct lg_leak {
    int kind;          /* enum lg_kind */
    size_t trace;      /* index into the set's traces */
    uint32_t stack;    /* global stack id in that trace (0: unknown) */
    uint8_t fn;        /* allocator */
    uint64_t bytes, blocks;                   /* this record's own blocks */
    uint64_t indirect_bytes, indirect_blocks; /* definite: what its blocks keep alive */
    uint64_t seq;      /* an allocation's sequence number (to pick modules) */
    size_t cycle;      /* kind cycle: index into the set's cycles */
    /* runtime objects (objects.h): kinds cycle and refcount made from a runtime's walk rather
     * than from malloc blocks; `ogroup` indexes the trace's objs->cgroups (cycle) or
     * objs->lgroups (refcount); bytes and blocks are the objects' bytes and count */
    bool object;
    size_t ogroup;
} lg_leak_t;

typedef struct lg_cycle_member {
    uint64_t addr, size, seq;
    uint32_t stack;
    uint8_t fn;
    int kind; /* definite or indirect */
} lg_cycle_member_t;

typedef struct lg_cycle_edge {
    uint32_t from, to;          /* indexes into members */
    uint32_t from_off, to_off;  /* byte offsets within the blocks */
} lg_cycle_edge_t;

typedef struct lg_cycle_rec {
    size_t trace;
    lg_cycle_member_t *members;
    size_t nmembers;
    lg_cycle_edge_t *edges;
    size_t nedges;
    uint64_t bytes, keeps_bytes, keeps_blocks;
} lg_cycle_rec_t;

typedef struct lg_totals {
    uint64_t bytes[LG_KIND_COUNT], blocks[LG_KIND_COUNT];
    uint64_t cycles, cycle_bytes, cycle_blocks;
    uint64_t live_bytes, live_blocks; /* everything still allocated ("unfreed") */
    /* runtime objects: uncollected cycles, and objects with unexplained references */
    uint64_t obj_cycles, obj_cycle_objects, obj_cycle_bytes;
    uint64_t refcount_objects, refcount_bytes, refcount_refs;
} lg_totals_t;

typedef struct lg_proc {
    const lg_snapshot_t *snap; /* the snapshot classified, NULL if none */
    lg_totals_t totals;
} lg_proc_t;

typedef struct lg_leakset {
    lg_trace_t *traces;
    size_t ntraces;
    lg_proc_t *procs;   /* per trace */
    lg_leak_t *leaks;   /* per trace in order; within a trace largest first */
    size_t nleaks;
    lg_cycle_rec_t *cycles;
    size_t ncycles;
    lg_totals_t totals; /* over all traces */
    lg_frames_t *frames;   /* per trace: its symbolized stacks (frames.h) */
    lg_objects_t **objs;   /* per trace: the runtime-object analysis, NULL without a walk */
} lg_leakset_t;

typedef struct lg_leak_opts {
    uint32_t check; /* 0: the exit snapshot (else the last one); N: check number N */
    uint32_t since; /* 0: absolute; M: only the growth since check number M (records whose
                       (kind, stack) holds more bytes or blocks than at M, by the difference) */
} lg_leak_opts_t;

/* Builds the set. Returns 0, -ENOENT if a trace has no check number o->check (message in
 * err), or -ENOMEM. */
int lg_leakset_build(lg_leakset_t *ls, lg_trace_t *traces, size_t n, const lg_leak_opts_t *o,
                     char *err, size_t errlen);
void lg_leakset_free(lg_leakset_t *ls);

/* Symbolized frames of a stack of trace `trace` (inlined frames expanded), at most
 * max_frames physical frames (<= 0: all): lg_frames_stack on the trace's frames. *out is
 * owned by the caller (free()); strings belong to the set. Returns the number of frames or a
 * negative errno. */
long lg_leakset_frames(lg_leakset_t *ls, size_t trace, uint32_t stack, uint64_t seq,
                       int max_frames, lg_frame_t **out);

/* The call site of a stack of trace `trace`: lg_objects_call_site (objects.h) on the trace's
 * frames. Declared here rather than in objects.h because it takes the set. */
bool lg_objects_site(lg_leakset_t *ls, size_t trace, uint32_t stack, uint64_t seq,
                     lg_frame_t *site, bool *store);

#endif /* LG_LEAKS_H */
