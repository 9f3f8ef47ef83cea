/* The `leakgraph` command line: parses the subcommand and its options and calls the library
 * (run.c, trace.c, report.c; the CI commands and `run` in cli_ci.c). Exit codes of report and
 * dump: 0 success, 1 a trace could not be read, 2 usage error. `run` exits with the traced
 * program's status (see run.h); with --check, and check, baseline and diff, with the CI codes
 * of docs/ci.md (0 pass, 1 leaks, 2 usage, 3 leakgraph error, 4 the program failed). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph.h"
#include "report.h"
#include "run.h"
#include "selfsnap.h"
#include "trace.h"
#include "lg_version.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fputs("usage: leakgraph <command> [options]\n"
          "\n"
          "commands:\n"
          "  run [--output PATH] [--quiet] -- PROGRAM [ARGS...]\n"
          "        run PROGRAM with the shim preloaded; write its trace to PATH (children\n"
          "        and exec'd images to PATH.<pid>); exit with the program's status\n",
          f);
    fputs(lg_ci_usage, f);
    fputs("  report [--format text|json] [--show-reachable] [--check N [--since M]] [--max-frames N]\n"
          "         TRACE...\n"
          "        leaks at exit (or at check N) with Memcheck's kinds, and unreachable cycles;\n"
          "        --since M: only what grew since check M\n"
          "  graph [--check N] [--output FILE.dot] TRACE\n"
          "        Graphviz DOT of the uncollected cycles and the referrers of refcount-leaked\n"
          "        runtime objects (and FILE.svg when Graphviz's dot is installed)\n"
          "  dump TRACE\n"
          "        the trace as text, one event per line\n"
          "  help, --help, --version\n"
          "\n"
          "environment: LEAKGRAPH_OUTPUT (trace path when preloading libleakgraph.so by hand),\n"
          "LEAKGRAPH_DISABLE=1 (do not trace), LEAKGRAPH_PRELOAD (shim used by run),\n"
          "LEAKGRAPH_DEBUGINFOD=1 (let symbolization fetch debug info from debuginfod)\n",
          f);
}

static int cmd_report(int argc, char **argv)
{
    lg_report_opts_t o = {.format = LG_FORMAT_TEXT, .max_frames = 0};
    lg_leak_opts_t lo = {0};
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"max-frames", required_argument, NULL, 'm'},
                                         {"show-reachable", no_argument, NULL, 'r'},
                                         {"check", required_argument, NULL, 'c'},
                                         {"since", required_argument, NULL, 's'},
                                         {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:m:rc:s:", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "text") == 0) o.format = LG_FORMAT_TEXT;
            else if (strcmp(optarg, "json") == 0) o.format = LG_FORMAT_JSON;
            else {
                fprintf(stderr, "leakgraph report: unknown format '%s' (text or json)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'm':
        case 'c':
        case 's': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < (c == 'm' ? 0 : 1) || v > 1000000) {
                fprintf(stderr, "leakgraph report: --%s takes a number\n",
                        c == 'c' ? "check" : c == 's' ? "since" : "max-frames");
                return EXIT_USAGE;
            }
            if (c == 'm') o.max_frames = (int)v;
            else if (c == 'c') lo.check = (uint32_t)v;
            else lo.since = (uint32_t)v;
            break;
        }
        case 'r': o.show_reachable = true; break;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    int n = argc - optind;
    if (n <= 0) {
        fputs("leakgraph report: no trace given\n", stderr);
        return EXIT_USAGE;
    }
    lg_trace_t *ts = calloc((size_t)n, sizeof *ts);
    if (!ts) return 1;
    int rc = 0, loaded = 0;
    char err[512];
    for (int i = 0; i < n; i++) {
        if (lg_trace_load(argv[optind + i], &ts[loaded], NULL, NULL, err, sizeof err)) {
            fprintf(stderr, "leakgraph: %s\n", err);
            lg_trace_free(&ts[loaded]);
            rc = 1;
            continue;
        }
        loaded++;
    }
    if (loaded) {
        lg_leakset_t ls;
        int brc = lg_leakset_build(&ls, ts, (size_t)loaded, &lo, err, sizeof err);
        if (brc) {
            fprintf(stderr, "leakgraph: %s\n", err);
            rc = 1;
        } else if (lg_report(stdout, &ls, &o)) {
            fprintf(stderr, "leakgraph: out of memory while reporting\n");
            rc = 1;
        }
        lg_leakset_free(&ls);
    }
    for (int i = 0; i < loaded; i++) lg_trace_free(&ts[i]);
    free(ts);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "leakgraph: cannot write the report: %s\n", strerror(errno));
        rc = 1;
    }
    return rc;
}

static int cmd_dump(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fputs("usage: leakgraph dump TRACE\n", stderr);
        return EXIT_USAGE;
    }
    char err[512];
    if (lg_dump(stdout, argv[1], err, sizeof err)) {
        fflush(stdout);
        fprintf(stderr, "leakgraph: %s\n", err);
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run")) return lg_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "check")) return lg_cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "baseline")) return lg_cmd_baseline(argc - 1, argv + 1);
    if (!strcmp(cmd, "diff")) return lg_cmd_diff(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "dump")) return cmd_dump(argc - 1, argv + 1);
    if (!strcmp(cmd, "graph")) return lg_cmd_graph(argc - 1, argv + 1);
    if (!strcmp(cmd, "__snapshot")) return lg_selfsnap_main(argc - 1, argv + 1); /* internal */
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        puts("leakgraph " LG_VERSION_STRING);
        return 0;
    }
    fprintf(stderr, "leakgraph: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
