/* SARIF 2.1.0 output of a CI verdict: one result per leak record that the policy names (or that
 * a suppression or the baseline hid, marked as such), located at the record's first frame in
 * the user's own code, with the whole allocation stack as a code flow and as a SARIF stack.
 * One of the outputs of a CI verdict (the others: ci_out.h, junit.h). Prints only. */
#ifndef LG_SARIF_H
#define LG_SARIF_H

#include <stdio.h>

#include "policy.h"
#include "suppress.h"
#include "text.h"

typedef struct lg_sarif_opts {
    const char *source_root;  /* files under it get URIs relative to %SRCROOT%; NULL: absolute */
    const char *version;      /* leakgraph's version */
    const lg_supp_set_t *supp; /* the rules, to name what hid a record (may be NULL) */
    int exit_code;            /* the verdict's exit code */
} lg_sarif_opts_t;

void lg_sarif_write(FILE *out, const lg_ci_set_t *cs, const lg_sarif_opts_t *o);

#endif /* LG_SARIF_H */
