/* The `leakgraph` command line, inside: one function per command (cmd_NAME.c each, called from
 * main.c's table of commands), and what the CI commands (check, baseline, diff, run --check)
 * share: their options and inputs (lg_ci_cmd_t) and the pipeline from traces to a verdict
 * (pipeline.c). It is not a library API: the library's stages are in ci/ and report/, and
 * nothing here formats a verdict (report/ci_out.h, sarif.h, junit.h do). Exit codes: report,
 * dump and graph exit 0 on success, 1 when a trace cannot be read, 2 on a usage error; run
 * exits with the program's status; the CI commands with enum lg_exit (policy.h, docs/ci.md). */
#ifndef LG_CLI_H
#define LG_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "baseline.h"
#include "policy.h"
#include "suppress.h"

/* ---- the commands: argv[0] is the command's name; each returns the exit code -------------- */
int lg_cmd_run(int argc, char **argv);      /* cmd_run.c: `run`, with or without --check */
int lg_cmd_check(int argc, char **argv);    /* cmd_check.c */
int lg_cmd_baseline(int argc, char **argv); /* cmd_baseline.c */
int lg_cmd_diff(int argc, char **argv);     /* cmd_diff.c */
int lg_cmd_report(int argc, char **argv);   /* cmd_report.c */
int lg_cmd_graph(int argc, char **argv);    /* cmd_graph.c */
int lg_cmd_dump(int argc, char **argv);     /* cmd_dump.c */
int lg_cmd_collect(int argc, char **argv);  /* cmd_collect.c: the hidden `__collect` */

/* progress.c: shows the progress of trace loads on stderr when it is a terminal; a command
 * that reads traces calls it first. */
void lg_progress_install(void);

/* Exit code of report, dump and graph on a usage error. */
#define LG_CLI_USAGE 2
/* What a command returns to have main print the whole usage on stderr and exit LG_CLI_USAGE
 * (report does on an unknown option): the usage text is main.c's. */
#define LG_CLI_SHOW_USAGE (-1)

/* ---- pipeline.c: the options, inputs and pipeline of the CI commands --------------------- */
/* The formats of a verdict (check --format, diff --format). */
enum { LG_OUT_TEXT = 0, LG_OUT_JSON, LG_OUT_SARIF, LG_OUT_JUNIT };

/* A CI command's options (set by lg_ci_cmd_option), the program run --check ran, and the inputs
 * lg_ci_cmd_load_inputs read. */
typedef struct lg_ci_cmd {
    const char *cmd;
    lg_policy_t policy;
    bool policy_set;
    const char *supp_paths[64];
    size_t nsupp;
    const char *baseline_path;
    int format;
    const char *json_out, *sarif_out, *junit_out, *source_root;
    int gen_supp; /* -1: no */
    uint32_t check_number;
    bool quiet;
    bool allow_incomplete; /* --allow-incomplete: traces not seen whole do not exit 3 */
    /* run --check */
    int program_status; /* -1: not run */
    char **program_argv;
    /* state */
    lg_supp_set_t supp;
    lg_baseline_t base;
    bool have_base;
} lg_ci_cmd_t;

/* getopt_long codes of the CI options, and the long options that check and run --check share. */
enum {
    OPT_POLICY = 1000, OPT_POLICY_FILE, OPT_SUPP, OPT_BASELINE, OPT_FORMAT, OPT_JSON, OPT_SARIF,
    OPT_JUNIT, OPT_SRCROOT, OPT_GENSUPP, OPT_CHECKNO, OPT_QUIET, OPT_OUTPUT, OPT_CHECK,
    OPT_ALLOW_INCOMPLETE,
};

#define CI_LONG_OPTS                                                                          \
    {"policy", required_argument, NULL, OPT_POLICY},                                         \
    {"policy-file", required_argument, NULL, OPT_POLICY_FILE},                               \
    {"suppressions", required_argument, NULL, OPT_SUPP},                                     \
    {"baseline", required_argument, NULL, OPT_BASELINE},                                     \
    {"json", required_argument, NULL, OPT_JSON},                                             \
    {"sarif", required_argument, NULL, OPT_SARIF},                                           \
    {"junit", required_argument, NULL, OPT_JUNIT},                                           \
    {"source-root", required_argument, NULL, OPT_SRCROOT},                                   \
    {"gen-suppressions", optional_argument, NULL, OPT_GENSUPP},                              \
    {"check-number", required_argument, NULL, OPT_CHECKNO},                                  \
    {"allow-incomplete", no_argument, NULL, OPT_ALLOW_INCOMPLETE}

/* Starts o for command `cmd` with the default policy and no inputs. */
void lg_ci_cmd_init(lg_ci_cmd_t *o, const char *cmd);
/* Frees the inputs (suppressions, baseline). */
void lg_ci_cmd_free(lg_ci_cmd_t *o);

/* Prints "leakgraph CMD: " and msg (one %s, arg) on stderr; returns LG_EXIT_USAGE. */
int lg_ci_cmd_usage_error(const lg_ci_cmd_t *o, const char *msg, const char *arg);

/* Sets the policy from a string or, if file, a policy file; one policy per command. Returns 0
 * or an exit code (after saying why). */
int lg_ci_cmd_policy(lg_ci_cmd_t *o, const char *text, bool file);

/* One CI option (getopt_long's code and argument). Returns 0, or an exit code. */
int lg_ci_cmd_option(lg_ci_cmd_t *o, int c, const char *arg);

/* Reads the suppression files and the baseline the options named. Returns 0 or an exit code. */
int lg_ci_cmd_load_inputs(lg_ci_cmd_t *o);

/* The whole pipeline over some traces, with the inputs loaded (lg_ci_cmd_load_inputs): the
 * verdict, written in every format the options asked for. Returns the exit code. */
int lg_ci_cmd_evaluate(lg_ci_cmd_t *o, char **paths, size_t n);

/* The baseline of some traces (policy and suppressions as in o). Returns 0 or an exit code. */
int lg_ci_cmd_baseline_of(lg_ci_cmd_t *o, char **paths, size_t n, lg_baseline_t *b);

#endif /* LG_CLI_H */
