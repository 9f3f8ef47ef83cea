/* `leakgraph report [--format text|json] [--show-reachable] [--check N [--since M]]
 * [--max-frames N] [--max-members N] [--max-records N] [--full] TRACE...`: the leaks of some traces (a process and its children) at exit or
 * at leak check N, printed by report/report.c. It parses the options and loads the traces; it
 * decides and formats nothing itself. Exit codes: 0, 1 when a trace cannot be read or the
 * report cannot be written, 2 on a usage error (an unknown option also prints the usage). */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leaks.h"
#include "report.h"
#include "trace.h"

int lg_cmd_report(int argc, char **argv)
{
    lg_progress_install();
    lg_report_opts_t o = {.format = LG_FORMAT_TEXT, .max_frames = 0,
                          .max_members = LG_REPORT_MAX_MEMBERS,
                          .max_records = LG_REPORT_MAX_RECORDS};
    lg_leak_opts_t lo = {0};
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"max-frames", required_argument, NULL, 'm'},
                                         {"show-reachable", no_argument, NULL, 'r'},
                                         {"check", required_argument, NULL, 'c'},
                                         {"since", required_argument, NULL, 's'},
                                         {"max-members", required_argument, NULL, 'M'},
                                         {"max-records", required_argument, NULL, 'R'},
                                         {"full", no_argument, NULL, 'F'},
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
                return LG_CLI_USAGE;
            }
            break;
        case 'm':
        case 'M':
        case 'R':
        case 'c':
        case 's': {
            char *end;
            long v = strtol(optarg, &end, 10);
            bool zero = c == 'm' || c == 'M' || c == 'R'; /* 0: all */
            if (*end || v < (zero ? 0 : 1) || v > 1000000) {
                fprintf(stderr, "leakgraph report: --%s takes a number\n",
                        c == 'c' ? "check" : c == 's' ? "since" : c == 'M' ? "max-members"
                                   : c == 'R' ? "max-records" : "max-frames");
                return LG_CLI_USAGE;
            }
            if (c == 'm') o.max_frames = (int)v;
            else if (c == 'M') o.max_members = (size_t)v;
            else if (c == 'R') o.max_records = (size_t)v;
            else if (c == 'c') lo.check = (uint32_t)v;
            else lo.since = (uint32_t)v;
            break;
        }
        case 'F': o.max_members = o.max_records = 0; break;
        case 'r': o.show_reachable = true; break;
        default: return LG_CLI_SHOW_USAGE;
        }
    }
    int n = argc - optind;
    if (n <= 0) {
        fputs("leakgraph report: no trace given\n", stderr);
        return LG_CLI_USAGE;
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
