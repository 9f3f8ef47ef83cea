/* Leak classification of one snapshot, with Memcheck's meanings, and the unreachable cycles.
 * It owns the kinds (enum lg_kind, their names) and the per-block verdicts. Pure computation
 * on a loaded snapshot: it must not do I/O, symbolize, or group blocks into records (leaks.c
 * does). */
#ifndef LG_CLASSIFY_H
#define LG_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

/* Leak kinds: one vocabulary for text, JSON, and (later) suppressions and policies. */
enum lg_kind {
    LG_KIND_UNFREED = 0,   /* still allocated; no snapshot to say more */
    LG_KIND_REACHABLE = 1, /* a root points to it (start, or interior through a heuristic) */
    LG_KIND_POSSIBLE = 2,  /* reached only through interior pointers */
    LG_KIND_INDIRECT = 3,  /* reached only from definitely lost blocks */
    LG_KIND_DEFINITE = 4,  /* nothing reachable points to it */
    LG_KIND_CYCLE = 5,     /* an unreachable strongly connected component (a record, not a state) */
    LG_KIND_REFCOUNT = 6,
    LG_KIND_COUNT = 7,
};

const char *lg_kind_name(int kind); /* "definite", "indirect", ... */
/* The kind named by the n bytes at s (a name lg_kind_name gives), or -1. */
int lg_kind_by_name(const char *s, size_t n);

typedef struct lg_cycle {
    uint32_t *members; /* block indices, ascending */
    size_t nmembers;
    uint64_t bytes;                    /* the members' own bytes */
    uint64_t keeps_bytes, keeps_blocks; /* lost blocks outside it that it reaches */
} lg_cycle_t;

typedef struct lg_class {
    uint8_t *kind;        /* per block: LG_KIND_REACHABLE .. LG_KIND_DEFINITE */
    uint8_t *heur;        /* per block: heuristic that made it reachable (0: none) */
    uint32_t *leader;     /* per indirect block: the clique it joined (a definite block) */
    uint64_t *ind_bytes;  /* per definite block: bytes of its clique (indirect) */
    uint64_t *ind_blocks;
    lg_cycle_t *cycles;
    size_t ncycles;
    uint32_t *cycle_of;   /* per block: cycle index + 1, 0 if in none */
} lg_class_t;

/* Classifies every block of S. Returns 0 or -ENOMEM. */
int lg_classify(const lg_snapshot_t *S, lg_class_t *c);
void lg_class_free(lg_class_t *c);

#endif /* LG_CLASSIFY_H */
