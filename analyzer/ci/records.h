/* The CI records of a leak set: each leak record with its symbolized stack, the first frame in
 * the user's own code, its fingerprint and signature, and the slots in which the later steps
 * write what they decided (the suppression rule that hid it, its state against a baseline, its
 * status under the policy). It is the bottom of ci/: suppress.c, baseline.c and policy.c each
 * include it and none of them includes another; records.c builds the records and computes
 * fingerprints, it decides nothing and prints nothing. The fingerprint is persisted in baseline
 * files (docs/ci.md): its computation must never change. */
#ifndef LG_RECORDS_H
#define LG_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "leaks.h"
#include "symbolize.h"

struct lg_policy; /* policy.h */

/* What the CI decided about one record. */
enum lg_rec_status {
    LG_REC_IGNORED = 0,    /* its kind is not in the policy */
    LG_REC_SUPPRESSED = 1, /* hidden by a suppression rule */
    LG_REC_BASELINE = 2,   /* known to the baseline, not grown */
    LG_REC_TOLERATED = 3,  /* fails by kind but within the policy's limits */
    LG_REC_FAILED = 4,     /* counts against the verdict */
};

enum lg_base_state { LG_BASE_NONE = 0, LG_BASE_NEW = 1, LG_BASE_KNOWN = 2, LG_BASE_GREW = 3 };

typedef struct lg_ci_rec {
    const lg_leak_t *leak;
    lg_frame_t *frames;  /* symbolized stack, innermost first (owned) */
    long nframes;
    long user;           /* index of the first frame in the user's own code, -1 if none */
    uint64_t fp;         /* fingerprint (lg_fingerprint) */
    char *sig;           /* its readable signature (owned) */
    int rule;            /* suppression rule that hid it, -1 if none */
    int base;            /* enum lg_base_state */
    int status;          /* enum lg_rec_status */
} lg_ci_rec_t;

/* Why a verdict failed: one line each, e.g. "definite: 4,384 bytes in 3 blocks (limit 1,024
 * bytes)". */
typedef struct lg_violation {
    char text[256];
} lg_violation_t;

typedef struct lg_ci_set {
    lg_leakset_t *ls;
    lg_ci_rec_t *recs;   /* one per ls->leaks, same order */
    size_t nrecs;
    const struct lg_policy *policy; /* policy.h */
    /* evaluation, filled by lg_policy_eval (policy.h) */
    lg_violation_t *viol;
    size_t nviol;
    uint64_t fail_bytes, fail_blocks, fail_records; /* records LG_REC_FAILED (cycles excluded
                                                       from bytes and blocks) */
    bool failed;
    /* traces whose verdict is incomplete, filled by lg_ci_find_gaps (complete.h) */
    char **gap;          /* per trace: why (malloc'ed), NULL when the trace was seen whole */
    size_t ngaps;        /* traces with a gap */
    bool gaps_allowed;   /* --allow-incomplete: gaps are named but do not fail the command */
} lg_ci_set_t;

/* How many user frames identify a leak. Three tell apart the same allocator reached from
 * different callers (a helper used by two functions) while staying clear of the frames near
 * main that test harnesses vary; deeper frames change with refactorings that do not change the
 * leak. */
#define LG_FP_FRAMES 3
_Static_assert(LG_FP_FRAMES >= 1 && LG_FP_FRAMES <= 16, "fingerprint depth out of range");

/* The signature of a record and its 64-bit FNV-1a hash. *sig is malloc'ed (NULL on -ENOMEM,
 * then the hash is 0). */
uint64_t lg_fingerprint(int kind, const char *exe, const lg_frame_t *fr, long n, char **sig);

/* Symbolizes every record of ls and computes its fingerprint; statuses start at IGNORED.
 * Returns 0 or -ENOMEM. */
int lg_ci_build(lg_ci_set_t *cs, lg_leakset_t *ls, const struct lg_policy *p);
void lg_ci_free(lg_ci_set_t *cs);

/* Is frame f in the user's own code (not libc, ld.so, libstdc++, libgcc, leakgraph)? */
bool lg_frame_is_user(const lg_frame_t *f);

/* The frame a record is located at: its first user frame with a source file, else its first
 * user frame, else NULL. */
const lg_frame_t *lg_ci_location(const lg_ci_rec_t *r);

#endif /* LG_RECORDS_H */
