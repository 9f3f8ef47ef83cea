/* `leakgraph graph [--check N] [--output FILE.dot] TRACE`: the Graphviz DOT of the uncollected
 * cycles and of the referrers of refcount-leaked runtime objects (written by report/graph.c), on
 * stdout or to FILE.dot, and then FILE.svg (`dot -Tsvg FILE.dot -o FILE.svg`) when Graphviz's
 * `dot` is found on PATH. Exit codes as report's: 0, 1 when the trace cannot be read or an
 * output cannot be written, 2 on a usage error. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "graph.h"
#include "leaks.h"
#include "trace.h"

/* Runs `dot -Tsvg dotfile -o svgfile`. Returns its exit status, or -1 if dot is not found. */
static int run_dot(const char *dotfile, const char *svgfile)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execlp("dot", "dot", "-Tsvg", dotfile, "-o", svgfile, (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0) return -1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int lg_cmd_graph(int argc, char **argv)
{
    lg_progress_install();
    lg_leak_opts_t lo = {0};
    const char *output = NULL;
    static const struct option opts[] = {{"check", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:", opts, NULL)) != -1) {
        if (c == 'c') {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 1000000) {
                fputs("leakgraph graph: --check takes a number\n", stderr);
                return LG_CLI_USAGE;
            }
            lo.check = (uint32_t)v;
        } else if (c == 'o') {
            output = optarg;
        } else {
            fputs("usage: leakgraph graph [--check N] [--output FILE.dot] TRACE\n", stderr);
            return LG_CLI_USAGE;
        }
    }
    if (argc - optind != 1) {
        fputs("usage: leakgraph graph [--check N] [--output FILE.dot] TRACE\n", stderr);
        return LG_CLI_USAGE;
    }
    lg_trace_t t;
    char err[512];
    if (lg_trace_load(argv[optind], &t, NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "leakgraph: %s\n", err);
        lg_trace_free(&t);
        return 1;
    }
    lg_leakset_t ls;
    int rc = 0;
    if (lg_leakset_build(&ls, &t, 1, &lo, err, sizeof err)) {
        fprintf(stderr, "leakgraph: %s\n", err);
        rc = 1;
    } else {
        FILE *f = output ? fopen(output, "we") : stdout;
        if (!f) {
            fprintf(stderr, "leakgraph: cannot write %s: %s\n", output, strerror(errno));
            rc = 1;
        } else {
            if (lg_graph_dot(f, &ls)) rc = 1;
            if (output && fclose(f)) rc = 1;
            if (!output && fflush(f)) rc = 1;
        }
        if (rc == 0 && output) {
            size_t n = strlen(output);
            char *svg = malloc(n + 5);
            if (svg) {
                memcpy(svg, output, n + 1);
                if (n > 4 && !strcmp(svg + n - 4, ".dot")) svg[n - 4] = 0;
                strcat(svg, ".svg");
                int d = run_dot(output, svg);
                if (d == 0) fprintf(stderr, "leakgraph: wrote %s and %s\n", output, svg);
                else if (d < 0) fprintf(stderr, "leakgraph: wrote %s (Graphviz's dot not found: no SVG)\n", output);
                else {
                    fprintf(stderr, "leakgraph: dot failed on %s\n", output);
                    rc = 1;
                }
                free(svg);
            }
        }
        lg_leakset_free(&ls);
    }
    lg_trace_free(&t);
    return rc;
}
