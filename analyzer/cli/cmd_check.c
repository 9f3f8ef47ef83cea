/* `leakgraph check [options] TRACE...`: the CI verdict of some traces (a program and its
 * children) under a policy, with suppressions and a baseline, in text, JSON, SARIF or JUnit
 * (docs/ci.md). It parses its options and hands the traces to the pipeline (pipeline.c); it
 * computes and formats nothing itself. Exit codes: enum lg_exit (policy.h). */
#define _GNU_SOURCE
#include "cli.h"

#include <getopt.h>
#include <stddef.h>

int lg_cmd_check(int argc, char **argv)
{
    lg_progress_install();
    lg_ci_cmd_t o;
    lg_ci_cmd_init(&o, "check");
    static const struct option opts[] = {CI_LONG_OPTS,
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"quiet", no_argument, NULL, OPT_QUIET},
                                         {0}};
    int c;
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = c == '?' ? LG_EXIT_USAGE : lg_ci_cmd_option(&o, c, optarg);
        if (rc) {
            lg_ci_cmd_free(&o);
            return rc;
        }
    }
    if (optind >= argc) {
        lg_ci_cmd_free(&o);
        return lg_ci_cmd_usage_error(&o, "%s", "no trace given (leakgraph check [options] TRACE...)");
    }
    int code = lg_ci_cmd_load_inputs(&o);
    if (!code) code = lg_ci_cmd_evaluate(&o, argv + optind, (size_t)(argc - optind));
    lg_ci_cmd_free(&o);
    return code;
}
