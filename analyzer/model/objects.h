/* The runtime-object analysis of one trace (docs/rcrt-analysis.md): the reference graph of a
 * refcounting runtime's walk at the chosen check, who holds each object (walk edges, and the
 * root and malloc words that the collector's object scan counted), which objects are lost,
 * the uncollected cycles among them with the reason the runtime's collector left them, the
 * objects whose count exceeds every explained reference (refcount leaks) with the increments
 * that were never matched, and the collector's activity. Pure computation on a loaded trace
 * plus symbolization through the trace's frames (frames.h); it never prints (report.c and
 * graph.c do) and knows nothing of the leak set (leaks.c builds it and makes its records). */
#ifndef LG_OBJECTS_H
#define LG_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frames.h"
#include "trace.h"

enum lg_obj_state {
    LG_OBJ_HELD = 0,    /* reachable from an object that a root or a malloc block holds */
    LG_OBJ_GARBAGE = 1, /* reachable only through the runtime's garbage list (gc.garbage) */
    LG_OBJ_LOST = 2,    /* reachable from nothing that the program still holds */
};

/* Why the collector did not free a cycle (the first that applies, in this order). */
enum lg_why {
    LG_WHY_GARBAGE = 1,   /* in gc.garbage: uncollectable (legacy finalizer) or SAVEALL */
    LG_WHY_HIDDEN = 2,    /* a member's reference is not reported by its type's traverse */
    LG_WHY_EXTERNAL = 3,  /* a member has references nothing explains (a missing decref) */
    LG_WHY_DISABLED = 4,  /* no collection after it formed though the threshold was passed */
    LG_WHY_NO_GC = 5,     /* no collection ran after it formed */
    LG_WHY_YOUNG = 6,     /* only collections of younger generations ran after it formed */
    LG_WHY_UNKNOWN = 7,   /* a full collection ran after it formed and left it */
};
const char *lg_why_name(int why); /* "garbage-list", "hidden-reference", ... */

typedef struct lg_onode {
    uint64_t addr, size;
    uint32_t type;            /* global type id */
    int64_t refcount;
    uint32_t incoming;        /* walk references to it */
    uint32_t hidden_in;       /* pointers to it inside objects that no walk reference reports,
                                 accepted to explain its count */
    uint64_t roots, blocks;   /* holder words (root regions, malloc blocks) */
    uint64_t first_holder;    /* address of the first holder word (0: a register or none) */
    int64_t unexplained;      /* refcount - incoming - hidden_in - holders, at least 0 */
    uint8_t state;            /* enum lg_obj_state */
    uint32_t stack;           /* allocation stack (0 if the allocation was not seen) */
    uint64_t aseq, last_seq;  /* allocation; last event on it (alloc, incref, decref) */
    uint32_t cycle;           /* index + 1 of its cycle, 0 if none */
    size_t ref_start, ref_end; /* its references in the walk */
} lg_onode_t;

/* One step of a path around a cycle: from member `from` to member `to` through walk
 * reference `ref` (an index into the walk's refs), or a hidden pointer word (ref == SIZE_MAX,
 * word = its index from the object's address). */
typedef struct lg_ostep {
    uint32_t from, to; /* node indices */
    size_t ref;
    uint32_t word;
} lg_ostep_t;

typedef struct lg_ocycle {
    uint32_t *members;        /* node indices; members[0..npath) in path order, then the rest */
    size_t nmembers;
    lg_ostep_t *path;         /* a closed path through members[0] */
    size_t npath;
    uint64_t bytes;
    uint64_t keeps_objects, keeps_bytes; /* lost objects outside it that it reaches */
    uint64_t formed_seq;      /* the last event on any member */
    int why;                  /* enum lg_why */
    uint32_t why_node;        /* the member the reason is about */
    uint64_t why_n;           /* collections, containers, references: depends on why */
    uint64_t gens[3];         /* collections per generation after it formed */
    size_t group;             /* index into the cycle groups */
} lg_ocycle_t;

/* A reference-count event of a leaked object (index into the trace's objev) and what the
 * matching made of it. */
typedef struct lg_ohist {
    size_t ev;
    bool unmatched; /* an increment (or the allocation) no decrement matched */
    bool culprit;   /* one of the `unexplained` references blamed */
} lg_ohist_t;

typedef struct lg_oleak {
    uint32_t node;
    int64_t unexplained;
    uint64_t keeps_objects, keeps_bytes;
    lg_ohist_t *hist;
    size_t nhist;
    bool history_complete;    /* the allocation was seen and every event since */
    size_t group;
} lg_oleak_t;

/* Records as the leak set shows them: cycles with the same shape (member types, allocation
 * stacks, labels, reason), and refcount leaks with the same type and allocation stack. */
typedef struct lg_ogroup {
    size_t first;   /* the first cycle / leak of the group */
    size_t count;   /* cycles / leaked objects */
    uint64_t objects, bytes, refs; /* refs: unexplained references (refcount groups) */
    uint64_t keeps_objects, keeps_bytes;
} lg_ogroup_t;

/* A call site: the first frame of a stack outside the runtime. */
typedef struct lg_osite {
    lg_frame_t frame;
    uint32_t stack;           /* an example stack */
    uint64_t seq;
    uint64_t count, objects;  /* culprit references; objects with at least one */
    uint32_t type;            /* collected-by-site: unused; by type: the type */
} lg_osite_t;

typedef struct lg_ogen {
    uint64_t collections, collected, uncollectable, pause_ns, pause_max_ns;
} lg_ogen_t;

typedef struct lg_objects {
    size_t trace;
    const lg_walk_t *walk;
    const lg_snapshot_t *snap;
    bool holders_known;       /* the snapshot has the object section */
    bool stacks;              /* increments and decrements carry stacks */
    bool counted_only;        /* increfs/decrefs were counted, not recorded (stack depth 0):
                                 histories hold the allocation only, nothing is blamed */
    lg_onode_t *nodes;
    size_t n;
    int64_t garbage_list;     /* node index of gc.garbage, -1 if none */
    lg_ocycle_t *cycles;
    size_t ncycles;
    lg_ogroup_t *cgroups;
    size_t ncgroups;
    lg_oleak_t *leaks;
    size_t nleaks;
    lg_ogroup_t *lgroups;
    size_t nlgroups;
    lg_osite_t *culprits;     /* missing decrefs, ranked by count */
    size_t nculprits;
    /* collector */
    lg_ogen_t gen[3];
    uint64_t collections, pause_ns, pause_max_ns;
    lg_osite_t *collected_types, *collected_sites; /* ranked by count */
    size_t ncollected_types, ncollected_sites;
    uint64_t collected_objects; /* objects freed during collections */
    /* totals */
    uint64_t lost_objects, lost_bytes, cycle_objects, cycle_bytes, leak_refs;
} lg_objects_t;

/* Analyses the trace of fr (trace number ti of the set, kept in o->trace) at the walk of
 * snapshot S (or the last walk if S is NULL), symbolizing through fr. *out is NULL when the
 * trace has no walk. Returns 0 or -ENOMEM. */
int lg_objects_build(lg_frames_t *fr, size_t ti, const lg_snapshot_t *S, lg_objects_t **out);
void lg_objects_free(lg_objects_t *o);

/* The call site of a stack (its first frame outside the runtime); *store is set when a
 * runtime function other than the count primitives lies between the event and that frame (the
 * runtime stored or released the reference on the caller's behalf). Returns false when the
 * stack is empty or unknown. The leak set's form, lg_objects_site, is in leaks.h. */
bool lg_objects_call_site(lg_frames_t *fr, uint32_t stack, uint64_t seq, lg_frame_t *site,
                          bool *store);

/* "Node@2": the node's type and its number within `o` (1-based walk order). */
const char *lg_objects_name(const lg_objects_t *o, const lg_trace_t *t, uint32_t node, char *buf,
                            size_t len);

/* The label of a walk reference as a path step: ".next", "[3]", "['key']", or "+24 (hidden)"
 * for a hidden pointer word. */
const char *lg_objects_step(const lg_objects_t *o, const lg_trace_t *t, const lg_ostep_t *s,
                            char *buf, size_t len);

/* One sentence: why the collector left the cycle. */
const char *lg_objects_why(const lg_objects_t *o, const lg_trace_t *t, const lg_ocycle_t *c,
                           char *buf, size_t len);

#endif /* LG_OBJECTS_H */
