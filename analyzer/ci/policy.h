/* CI verdicts: the policy (which leak kinds fail, within which limits), the CI view of a leak
 * set (each record with its symbolized stack, its fingerprint, and what suppressions and the
 * baseline decided about it), and the evaluation that turns one into a verdict. The syntax and
 * the meaning of policies are specified in docs/ci.md; this file only computes. It prints
 * nothing and reads no trace. */
#ifndef LG_POLICY_H
#define LG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "leaks.h"
#include "text.h"

/* Exit codes of the CI commands (check, baseline, diff, run --check): docs/ci.md. */
enum lg_exit {
    LG_EXIT_PASS = 0,        /* no record fails the policy */
    LG_EXIT_LEAKS = 1,       /* leaks fail the policy (diff: something appeared or grew) */
    LG_EXIT_USAGE = 2,       /* bad option, policy, suppression or baseline file */
    LG_EXIT_ERROR = 3,       /* leakgraph's own failure: unreadable trace, no trace, I/O */
    LG_EXIT_PROGRAM = 4,     /* run --check: the program failed (non-zero status or signal) */
};

/* A limit: 'none' is UINT64_MAX. */
#define LG_NO_LIMIT UINT64_MAX

typedef struct lg_limit {
    uint64_t bytes, blocks;
} lg_limit_t;

typedef struct lg_policy {
    bool fail[LG_KIND_COUNT];        /* kinds that fail */
    lg_limit_t kind[LG_KIND_COUNT];  /* tolerated total per kind */
    lg_limit_t record;               /* tolerated per record */
    lg_limit_t total;                /* tolerated over every failing kind (cycles excluded) */
    char text[512];                  /* the policy in canonical form, for reports */
} lg_policy_t;

/* The default policy: definite, indirect, possible, cycle, refcount; no limits. */
void lg_policy_default(lg_policy_t *p);

/* Parses a policy string (docs/ci.md). Returns 0 or -EINVAL with a message in err. */
int lg_policy_parse(lg_policy_t *p, const char *s, char *err, size_t errlen);

/* Reads a policy file: the same items, separated by commas, newlines or blanks; '#' starts a
 * comment. Returns 0, -EINVAL (message in err) or a negative errno if it cannot be read. */
int lg_policy_load(lg_policy_t *p, const char *path, char *err, size_t errlen);

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
    uint64_t fp;         /* fingerprint (baseline.h) */
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
    const lg_policy_t *policy;
    /* evaluation */
    lg_violation_t *viol;
    size_t nviol;
    uint64_t fail_bytes, fail_blocks, fail_records; /* records LG_REC_FAILED (cycles excluded
                                                       from bytes and blocks) */
    uint64_t no_check_traces; /* traces without a leak check: only "unfreed" records */
    bool failed;
} lg_ci_set_t;

/* Symbolizes every record of ls and computes its fingerprint; statuses start at IGNORED.
 * Returns 0 or -ENOMEM. */
int lg_ci_build(lg_ci_set_t *cs, lg_leakset_t *ls, const lg_policy_t *p);
void lg_ci_free(lg_ci_set_t *cs);

/* Applies the policy to the records that suppressions and the baseline left (rule < 0 and
 * base is NONE, NEW or GREW): sets each record's status, the violations and cs->failed.
 * Returns 0 or -ENOMEM. */
int lg_policy_eval(lg_ci_set_t *cs);

/* Is frame f in the user's own code (not libc, ld.so, libstdc++, libgcc, leakgraph)? */
bool lg_frame_is_user(const lg_frame_t *f);

#endif /* LG_POLICY_H */
