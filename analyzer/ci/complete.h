/* Whether a verdict saw every trace whole: the traces of a CI set whose verdict is incomplete,
 * and why. A gate must never pass on a check that did not happen (docs/ci.md, "Incomplete
 * traces"): a trace that is cut or damaged, whose shim lost events, or whose process has no
 * final leak check holds blocks nobody classified, which the policy would otherwise ignore as
 * "unfreed". This file only decides which traces those are and words the reason; the exit
 * code (3 unless --allow-incomplete) is the CLI's (cli/pipeline.c), the outputs are report/'s.
 * It reads the loaded traces and the set's chosen snapshots; it prints nothing. */
#ifndef LG_COMPLETE_H
#define LG_COMPLETE_H

#include <stdint.h>

#include "records.h"

/* Sets cs->gap[ti] for every trace of the set whose verdict is incomplete, and cs->ngaps.
 * check_number is check's --check-number (0: the verdict is on each process's final check, so
 * a process without one is a gap; N: on check N, which the set already made sure exists).
 * A trace is whole when it is complete (an END, nothing cut or damaged), its shim lost no
 * event, and it has its final leak check (at exit or at a fatal signal) or its image was
 * replaced by exec (its blocks went with it; the new image has a trace of its own).
 * Returns 0 or -ENOMEM. */
int lg_ci_find_gaps(lg_ci_set_t *cs, uint32_t check_number);

/* Why trace `ti`'s verdict is incomplete, one line ("the trace is incomplete: ...; no leak
 * check", "no leak check: the process was killed by SIGKILL (signal 9) ..."), or NULL if it is
 * whole (or lg_ci_find_gaps did not run). */
const char *lg_ci_gap(const lg_ci_set_t *cs, size_t ti);

#endif /* LG_COMPLETE_H */
