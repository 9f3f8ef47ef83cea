/* JUnit XML output of a CI verdict: one <testcase> per traced process, failed when a record of
 * that process fails the policy (the records in the failure's text), with an <error> for the
 * main process when the program itself failed (run --check). Prints only. */
#ifndef LG_JUNIT_H
#define LG_JUNIT_H

#include <stdio.h>

#include "policy.h"

typedef struct lg_junit_opts {
    int program_status; /* run --check: the program's status; -1 when not run */
} lg_junit_opts_t;

void lg_junit_write(FILE *out, const lg_ci_set_t *cs, const lg_junit_opts_t *o);

/* s escaped for XML text and attributes (characters XML 1.0 cannot carry become '?'). */
void lg_xml_str(FILE *out, const char *s);

#endif /* LG_JUNIT_H */
