/* `leakgraph baseline [--policy P] [--suppressions F]... [--output F] TRACE...`: the
 * fingerprints of the current leaks that the policy names and no suppression hides, written as
 * a baseline file for `check --baseline` (the format is written by ci/baseline.c). Exit codes:
 * enum lg_exit (policy.h). */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

int lg_cmd_baseline(int argc, char **argv)
{
    lg_progress_install();
    lg_ci_cmd_t o;
    lg_ci_cmd_init(&o, "baseline");
    const char *output = NULL;
    static const struct option opts[] = {{"policy", required_argument, NULL, OPT_POLICY},
                                         {"policy-file", required_argument, NULL, OPT_POLICY_FILE},
                                         {"suppressions", required_argument, NULL, OPT_SUPP},
                                         {"check-number", required_argument, NULL, OPT_CHECKNO},
                                         {"output", required_argument, NULL, OPT_OUTPUT},
                                         {0}};
    int c, code = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == OPT_OUTPUT) output = optarg;
        else code = c == '?' ? LG_EXIT_USAGE : lg_ci_cmd_option(&o, c, optarg);
        if (code) goto out;
    }
    if (optind >= argc) {
        code = lg_ci_cmd_usage_error(&o, "%s", "no trace given (leakgraph baseline TRACE... > FILE)");
        goto out;
    }
    if ((code = lg_ci_cmd_load_inputs(&o))) goto out;
    lg_baseline_t b;
    if ((code = lg_ci_cmd_baseline_of(&o, argv + optind, (size_t)(argc - optind), &b))) goto out;
    FILE *f = output ? fopen(output, "w") : stdout;
    if (!f) {
        fprintf(stderr, "leakgraph baseline: cannot write %s: %s\n", output, strerror(errno));
        code = LG_EXIT_ERROR;
    } else {
        lg_baseline_write(f, &b);
        if ((output ? fclose(f) : fflush(f)) != 0) {
            fprintf(stderr, "leakgraph baseline: cannot write the baseline: %s\n", strerror(errno));
            code = LG_EXIT_ERROR;
        }
    }
    if (!code)
        fprintf(stderr, "leakgraph baseline: %zu fingerprint%s (policy %s)\n", b.n,
                b.n == 1 ? "" : "s", o.policy.text);
    lg_baseline_free(&b);
out:
    lg_ci_cmd_free(&o);
    return code;
}
