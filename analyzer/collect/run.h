/* `leakgraph run`: run a program under the shim, collect the traces of it and its descendants,
 * and take the leak checks they ask for (see run.c). The collector's session (regions,
 * images, trace names) stays inside run.c; nothing here reads a trace back. */
#ifndef LG_RUN_H
#define LG_RUN_H

#include <stdbool.h>
#include <stdint.h>

typedef struct lg_run_opts {
    const char *output; /* trace path of the program's first image; NULL: a default name */
    bool quiet;         /* do not say where traces went */
    uint64_t check_every_ns; /* > 0: ask every traced process for a leak check this often
                              * (its check signal; LEAKGRAPH_CHECK_SIGNAL, RTMIN+3 unless set) */
} lg_run_opts_t;

/* What a run did, beside the status lg_run returns. */
typedef struct lg_run_result {
    int program_status; /* the program's own: its exit status, 128+N for death by signal N,
                         * 126/127 when it could not be executed / was not found; -1 when it was
                         * not started (leakgraph failed first: nothing to check) */
    int failed_traces;  /* traces of the run that could not be created or written completely */
} lg_run_result_t;

/* Runs argv[0] with argv; returns the exit status leakgraph should exit with: the program's
 * own, 128+N for death by signal N, 125 when leakgraph failed before running it or a trace of
 * the run could not be created or written completely (said on stderr), 126/127 when the
 * program could not be executed / was not found. res (may be NULL) says which. */
int lg_run(const lg_run_opts_t *o, char *const argv[], lg_run_result_t *res);

/* `leakgraph __collect`: the collector a shim preloaded by hand starts (run.c says how it
 * serves); writes "OK <pid> <session dir>\n" or "ERR <why>\n" on ready_fd, then closes it.
 * Returns the exit status: 0, or 1 when a trace could not be created or written. */
int lg_collect_attached(const char *base, int starter, int ready_fd);

#endif /* LG_RUN_H */
