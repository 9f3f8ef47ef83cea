/* CI verdicts: the policy (which leak kinds fail, within which limits) and the evaluation that
 * turns the CI records of a leak set (records.h), once suppressions and the baseline have marked
 * them, into a verdict: a status per record, the violations, pass or fail. The syntax and the
 * meaning of policies are specified in docs/ci.md; this file only computes. It prints nothing,
 * reads no trace, and knows nothing of suppression rules or baseline files. */
#ifndef LG_POLICY_H
#define LG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "leaks.h"
#include "records.h"
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



/* Applies the policy to the records that suppressions and the baseline left (rule < 0 and
 * base is NONE, NEW or GREW): sets each record's status, the violations and cs->failed.
 * Returns 0 or -ENOMEM. */
int lg_policy_eval(lg_ci_set_t *cs);

#endif /* LG_POLICY_H */
