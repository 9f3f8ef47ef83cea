/* `leakgraph run`: run a program under the shim, collect the traces of it and its descendants,
 * and take the leak checks they ask for (see run.c). The collector's session (regions,
 * images, trace names) stays inside run.c; nothing here reads a trace back. */
#ifndef LG_RUN_H
#define LG_RUN_H

#include <stdbool.h>

typedef struct lg_run_opts {
    const char *output; /* trace path of the program's first image; NULL: a default name */
    bool quiet;         /* do not say where traces went */
} lg_run_opts_t;

/* Runs argv[0] with argv; returns the exit status leakgraph should exit with: the program's
 * own, 128+N for death by signal N, 125 when leakgraph failed before running it, 126/127 when
 * the program could not be executed / was not found. */
int lg_run(const lg_run_opts_t *o, char *const argv[]);

#endif /* LG_RUN_H */
