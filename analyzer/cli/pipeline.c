/* What the CI commands share (see cli.h and docs/ci.md): their options, reading suppressions
 * and a baseline, loading traces, and the pipeline from traces to a verdict, written in every
 * format asked for (the formats themselves are in report/). The pipeline, for every command:
 *   1. load every trace (one that cannot be read is an error: a gate never passes on what it
 *      could not see) and build one leak set over all of them, so a test runner and all its
 *      children get one verdict;
 *   2. symbolize each record and fingerprint it (ci/records.c);
 *   3. suppressions hide records (ci/suppress.c), the baseline marks known ones
 *      (ci/baseline.c);
 *   4. the policy decides (ci/policy.c);
 *   5. the traces it could not see whole are named (ci/complete.c: cut, damaged, events lost,
 *      no final leak check); the exit code follows from 4 and 5.
 * check and run --check go through all of it (lg_ci_cmd_evaluate); baseline and diff stop after
 * step 3's suppressions (lg_ci_cmd_baseline_of). The commands themselves are in cmd_*.c. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci_out.h"
#include "complete.h"
#include "junit.h"
#include "leaks.h"
#include "sarif.h"
#include "trace.h"
#include "lg_version.h"

int lg_ci_cmd_usage_error(const lg_ci_cmd_t *o, const char *msg, const char *arg)
{
    fprintf(stderr, "leakgraph %s: ", o->cmd);
    fprintf(stderr, msg, arg);
    fputc('\n', stderr);
    return LG_EXIT_USAGE;
}

int lg_ci_cmd_policy(lg_ci_cmd_t *o, const char *text, bool file)
{
    char err[512];
    if (o->policy_set) return lg_ci_cmd_usage_error(o, "give one policy (%s)", "--policy or --policy-file");
    int rc = file ? lg_policy_load(&o->policy, text, err, sizeof err)
                  : lg_policy_parse(&o->policy, text, err, sizeof err);
    if (rc) {
        fprintf(stderr, "leakgraph %s: bad policy: %s\n", o->cmd, err);
        return LG_EXIT_USAGE;
    }
    o->policy_set = true;
    return 0;
}

int lg_ci_cmd_option(lg_ci_cmd_t *o, int c, const char *arg)
{
    switch (c) {
    case OPT_POLICY: return lg_ci_cmd_policy(o, arg, false);
    case OPT_POLICY_FILE: return lg_ci_cmd_policy(o, arg, true);
    case OPT_SUPP:
        if (o->nsupp == sizeof o->supp_paths / sizeof *o->supp_paths)
            return lg_ci_cmd_usage_error(o, "too many suppression files (%s)", "64 at most");
        o->supp_paths[o->nsupp++] = arg;
        return 0;
    case OPT_BASELINE: o->baseline_path = arg; return 0;
    case OPT_FORMAT:
        if (!strcmp(arg, "text")) o->format = LG_OUT_TEXT;
        else if (!strcmp(arg, "json")) o->format = LG_OUT_JSON;
        else if (!strcmp(arg, "sarif")) o->format = LG_OUT_SARIF;
        else if (!strcmp(arg, "junit")) o->format = LG_OUT_JUNIT;
        else return lg_ci_cmd_usage_error(o, "unknown format '%s' (text, json, sarif or junit)", arg);
        return 0;
    case OPT_JSON: o->json_out = arg; return 0;
    case OPT_SARIF: o->sarif_out = arg; return 0;
    case OPT_JUNIT: o->junit_out = arg; return 0;
    case OPT_SRCROOT: o->source_root = arg; return 0;
    case OPT_GENSUPP:
        if (!arg || !strcmp(arg, "leakgraph")) o->gen_supp = LG_SUPP_LEAKGRAPH;
        else if (!strcmp(arg, "valgrind")) o->gen_supp = LG_SUPP_VALGRIND;
        else if (!strcmp(arg, "lsan")) o->gen_supp = LG_SUPP_LSAN;
        else return lg_ci_cmd_usage_error(o, "unknown suppression format '%s' (leakgraph, valgrind, lsan)", arg);
        return 0;
    case OPT_CHECKNO: {
        char *end;
        long v = strtol(arg, &end, 10);
        if (*end || v < 1 || v > 1000000) return lg_ci_cmd_usage_error(o, "--check-number takes a number, not '%s'", arg);
        o->check_number = (uint32_t)v;
        return 0;
    }
    case OPT_QUIET: o->quiet = true; return 0;
    case OPT_ALLOW_INCOMPLETE: o->allow_incomplete = true; return 0;
    default: return lg_ci_cmd_usage_error(o, "%s", "bad option (leakgraph help)");
    }
}

void lg_ci_cmd_init(lg_ci_cmd_t *o, const char *cmd)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->gen_supp = -1;
    o->program_status = -1;
    lg_policy_default(&o->policy);
}

void lg_ci_cmd_free(lg_ci_cmd_t *o)
{
    lg_supp_free(&o->supp);
    if (o->have_base) lg_baseline_free(&o->base);
}

int lg_ci_cmd_load_inputs(lg_ci_cmd_t *o)
{
    char err[600];
    for (size_t i = 0; i < o->nsupp; i++) {
        int rc = lg_supp_load(&o->supp, o->supp_paths[i], err, sizeof err);
        if (rc) {
            fprintf(stderr, "leakgraph %s: %s\n", o->cmd, err);
            return rc == -ENOMEM ? LG_EXIT_ERROR : LG_EXIT_USAGE;
        }
    }
    if (o->baseline_path) {
        int rc = lg_baseline_load(&o->base, o->baseline_path, err, sizeof err);
        if (rc) {
            fprintf(stderr, "leakgraph %s: %s\n", o->cmd, err);
            return rc == -ENOMEM ? LG_EXIT_ERROR : LG_EXIT_USAGE;
        }
        o->have_base = true;
    }
    return 0;
}

/* Loads every trace; one that cannot be read fails the command. */
static int load_traces(const lg_ci_cmd_t *o, char **paths, size_t n, lg_trace_t **out)
{
    lg_trace_t *ts = calloc(n ? n : 1, sizeof *ts);
    char err[512];
    if (!ts) return LG_EXIT_ERROR;
    for (size_t i = 0; i < n; i++) {
        if (lg_trace_load(paths[i], &ts[i], NULL, NULL, err, sizeof err)) {
            fprintf(stderr, "leakgraph %s: %s\n", o->cmd, err);
            for (size_t j = 0; j <= i; j++) lg_trace_free(&ts[j]);
            free(ts);
            return LG_EXIT_ERROR;
        }
    }
    *out = ts;
    return 0;
}

/* What the outputs of a verdict print besides the CI set (report/ci_out.h). */
static lg_ci_out_t out_of(const lg_ci_cmd_t *o, int code)
{
    return (lg_ci_out_t){.cmd = o->cmd, .supp = &o->supp, .base = o->have_base ? &o->base : NULL,
                         .baseline_path = o->baseline_path, .program_status = o->program_status,
                         .program_argv = o->program_argv, .quiet = o->quiet, .exit_code = code};
}

/* Writes the verdict in one format (the outputs are in report/). */
static int emit(FILE *out, int format, const lg_ci_cmd_t *o, const lg_ci_set_t *cs, int code)
{
    lg_ci_out_t co = out_of(o, code);
    switch (format) {
    case LG_OUT_JSON: lg_ci_json(out, cs, &co); break;
    case LG_OUT_SARIF: {
        lg_sarif_opts_t so = {.source_root = o->source_root, .version = LG_VERSION_STRING,
                              .supp = &o->supp, .exit_code = code};
        lg_sarif_write(out, cs, &so);
        break;
    }
    case LG_OUT_JUNIT: {
        lg_junit_opts_t jo = {.program_status = o->program_status};
        lg_junit_write(out, cs, &jo);
        break;
    }
    default: lg_ci_text(out, cs, &co); break;
    }
    return ferror(out) ? -EIO : 0;
}

static int emit_file(const char *path, int format, const lg_ci_cmd_t *o, const lg_ci_set_t *cs, int code)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "leakgraph %s: cannot write %s: %s\n", o->cmd, path, strerror(errno));
        return -errno;
    }
    int rc = emit(f, format, o, cs, code);
    if (fclose(f) != 0) rc = -EIO;
    if (rc) fprintf(stderr, "leakgraph %s: cannot write %s\n", o->cmd, path);
    return rc;
}

/* Traces loaded, their leak set, and its records with the policy and suppressions applied:
 * what check and baseline both start from. */
typedef struct ci_run {
    lg_trace_t *ts;
    size_t n;
    lg_leakset_t ls;
    lg_ci_set_t cs;
} ci_run_t;

static void ci_run_free(ci_run_t *r)
{
    lg_ci_free(&r->cs);
    lg_leakset_free(&r->ls);
    for (size_t i = 0; r->ts && i < r->n; i++) lg_trace_free(&r->ts[i]);
    free(r->ts);
}

/* Returns 0 or an exit code (after saying why); free r with ci_run_free either way. */
static int ci_run_build(lg_ci_cmd_t *o, char **paths, size_t n, ci_run_t *r)
{
    *r = (ci_run_t){.n = n};
    int code = load_traces(o, paths, n, &r->ts);
    if (code) return code;
    lg_leak_opts_t lo = {.check = o->check_number};
    char err[512];
    int rc = lg_leakset_build(&r->ls, r->ts, n, &lo, err, sizeof err);
    if (rc) {
        fprintf(stderr, "leakgraph %s: %s\n", o->cmd, err);
        return rc == -ENOENT ? LG_EXIT_USAGE : LG_EXIT_ERROR;
    }
    if ((rc = lg_ci_build(&r->cs, &r->ls, &o->policy)) || (rc = lg_supp_apply(&o->supp, &r->cs))) {
        fprintf(stderr, "leakgraph %s: %s\n", o->cmd, strerror(-rc));
        return LG_EXIT_ERROR;
    }
    return 0;
}

int lg_ci_cmd_evaluate(lg_ci_cmd_t *o, char **paths, size_t n)
{
    ci_run_t r;
    lg_ci_set_t *cs = &r.cs;
    int rc, code = ci_run_build(o, paths, n, &r);
    if (code) goto out;
    if ((o->have_base && (rc = lg_baseline_apply(&o->base, cs))) || (rc = lg_policy_eval(cs)) ||
        (rc = lg_ci_find_gaps(cs, o->check_number))) {
        fprintf(stderr, "leakgraph %s: %s\n", o->cmd, strerror(-rc));
        code = LG_EXIT_ERROR;
        goto out;
    }
    cs->gaps_allowed = o->allow_incomplete;
    /* precedence (docs/ci.md): leakgraph's error, or a trace not seen whole (a check that did
     * not happen fails the gate, whatever its cause) > the program's failure > leaks > pass */
    code = cs->ngaps && !cs->gaps_allowed ? LG_EXIT_ERROR
           : o->program_status > 0        ? LG_EXIT_PROGRAM
           : cs->failed                   ? LG_EXIT_LEAKS
                                          : LG_EXIT_PASS;
    bool running = o->program_status >= 0;
    if ((o->json_out && emit_file(o->json_out, LG_OUT_JSON, o, cs, code)) ||
        (o->sarif_out && emit_file(o->sarif_out, LG_OUT_SARIF, o, cs, code)) ||
        (o->junit_out && emit_file(o->junit_out, LG_OUT_JUNIT, o, cs, code)))
        code = LG_EXIT_ERROR;
    lg_ci_out_t co = out_of(o, code);
    if (o->gen_supp >= 0) {
        lg_ci_gen_supp(stdout, cs, o->gen_supp);
        lg_ci_text(stderr, cs, &co);
    } else if (running || o->format == LG_OUT_TEXT) {
        lg_ci_text(running ? stderr : stdout, cs, &co);
    } else {
        if (emit(stdout, o->format, o, cs, code)) code = LG_EXIT_ERROR;
        lg_ci_out_t q = out_of(o, code);
        q.quiet = true;
        lg_ci_text(stderr, cs, &q);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "leakgraph %s: cannot write the report: %s\n", o->cmd, strerror(errno));
        code = LG_EXIT_ERROR;
    }
out:
    ci_run_free(&r);
    return code;
}

/* The baseline of some traces (policy and suppressions as in o). Returns 0 or an exit code. */
int lg_ci_cmd_baseline_of(lg_ci_cmd_t *o, char **paths, size_t n, lg_baseline_t *b)
{
    ci_run_t r;
    int rc, code = ci_run_build(o, paths, n, &r);
    if (!code && (rc = lg_baseline_from(b, &r.cs))) {
        fprintf(stderr, "leakgraph %s: %s\n", o->cmd, strerror(-rc));
        code = LG_EXIT_ERROR;
    }
    ci_run_free(&r);
    return code;
}
