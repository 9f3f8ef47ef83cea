/* The outputs of a CI verdict that are leakgraph's own, one file each: the text summary for CI
 * logs (ci_text.c), the CI JSON (ci_json.c, specified in docs/ci.md) and the rules of
 * --gen-suppressions (ci_supp.c); SARIF (sarif.h) and JUnit (junit.h) are the standard ones.
 * What a verdict's outputs print besides the CI set (records.h) is described once, in
 * lg_ci_out_t. These files only print: the verdict is reached in ci/, and the command that asks
 * for it (its options, files and messages) is in cli/. */
#ifndef LG_CI_OUT_H
#define LG_CI_OUT_H

#include <stdbool.h>
#include <stdio.h>

#include "baseline.h"
#include "policy.h"
#include "suppress.h"

/* What a verdict's outputs print besides the CI set. */
typedef struct lg_ci_out {
    const char *cmd;            /* the command, as messages name it: "check", "run", ... */
    const lg_supp_set_t *supp;  /* the suppression rules applied (an empty set: none) */
    const lg_baseline_t *base;  /* the baseline applied, NULL if none */
    const char *baseline_path;  /* its file */
    int program_status;         /* run --check: the program's status; -1 when not run */
    char **program_argv;        /* run --check: the program and its arguments */
    bool quiet;                 /* text: only the verdict's line (and the program's failure) */
    int exit_code;              /* the verdict's exit code (enum lg_exit) */
} lg_ci_out_t;

/* ci_text.c: the summary for CI logs: the policy, each process with its verdict and its records
 * (the first 20 of each), what each suppression hid, the baseline's counts, one line per trace
 * not seen whole (ci/complete.h), then the verdict's line with the violations and the exit
 * code. With o->quiet only the lines of the traces not seen whole, the program's failure and
 * the verdict's line. */
void lg_ci_text(FILE *out, const lg_ci_set_t *cs, const lg_ci_out_t *o);

/* ci_json.c: the verdict as one JSON object (docs/ci.md): verdict, policy, violations, the
 * traces not seen whole, program, summary per status, processes, records with their stacks,
 * suppressions, baseline. */
void lg_ci_json(FILE *out, const lg_ci_set_t *cs, const lg_ci_out_t *o);

/* ci_supp.c: --gen-suppressions: one rule in `format` (enum lg_supp_origin) for each record
 * that the policy names and no suppression hid (in Valgrind's format, not for cycles: the
 * rules for their members' kinds cover them), each followed by a blank line. */
void lg_ci_gen_supp(FILE *out, const lg_ci_set_t *cs, int format);

#endif /* LG_CI_OUT_H */
