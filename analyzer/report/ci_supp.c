/* The output of `check --gen-suppressions` (see ci_out.h): a suppression rule for each record
 * the policy names that no suppression hid, named KIND-FUNCTION-N, in leakgraph's, Valgrind's
 * or LSan's format (the rule itself is written by lg_supp_gen in suppress.c). It only prints. */
#define _GNU_SOURCE
#include "ci_out.h"

#include <stdio.h>

void lg_ci_gen_supp(FILE *out, const lg_ci_set_t *cs, int format)
{
    int n = 0;
    for (size_t i = 0; i < cs->nrecs; i++) {
        const lg_ci_rec_t *r = &cs->recs[i];
        if (r->status == LG_REC_IGNORED || r->status == LG_REC_SUPPRESSED) continue;
        /* Valgrind knows no cycles: its rules for the members' kinds cover them */
        if (format == LG_SUPP_VALGRIND && r->leak->kind == LG_KIND_CYCLE) continue;
        const lg_frame_t *at = lg_ci_location(r);
        char name[300];
        snprintf(name, sizeof name, "%s-%s-%d", lg_kind_name(r->leak->kind),
                 at && at->function ? at->function : "unknown", ++n);
        for (char *c = name; *c; c++)
            if (*c == ' ' || *c == '\t' || *c == '"' || *c == '#') *c = '_';
        lg_supp_gen(out, format, name, r->leak->kind, r->leak->fn, r->frames, r->nframes,
                    r->user, 2);
        fputc('\n', out);
    }
}

