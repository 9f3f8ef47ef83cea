/* The CI commands (see cli_ci.h and docs/ci.md): option parsing, loading traces, the pipeline
 * leak set -> suppressions -> baseline -> policy, and the outputs (a short text summary for CI
 * logs, JSON, SARIF, JUnit). The pipeline, for every command:
 *   1. load every trace (one that cannot be read is an error: a gate never passes on what it
 *      could not see) and build one leak set over all of them, so a test runner and all its
 *      children get one verdict;
 *   2. symbolize each record and fingerprint it (policy.c, baseline.c);
 *   3. suppressions hide records (suppress.c), the baseline marks known ones (baseline.c);
 *   4. the policy decides (policy.c); the exit code follows from it.
 * `run --check` first runs the program (run.c), then checks its trace and the PATH.<pid> traces
 * its descendants wrote during the run. */
#define _GNU_SOURCE
#include "cli.h"
#include "path.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "baseline.h"
#include "junit.h"
#include "leaks.h"
#include "policy.h"
#include "run.h"
#include "sarif.h"
#include "suppress.h"
#include "trace.h"
#include "lg_version.h"

const char lg_ci_usage[] =
    "  check [--policy P | --policy-file F] [--suppressions F]... [--baseline F]\n"
    "        [--format text|json|sarif|junit] [--json F] [--sarif F] [--junit F]\n"
    "        [--source-root DIR] [--gen-suppressions[=leakgraph|valgrind|lsan]]\n"
    "        [--check-number N] [--quiet] TRACE...\n"
    "        the CI verdict of traces (a program and its children): exit 0 pass, 1 leaks\n"
    "        fail the policy, 2 usage, 3 leakgraph error (docs/ci.md)\n"
    "  run --check[=POLICY] [check's options] [--output PATH] -- PROGRAM [ARGS...]\n"
    "        run PROGRAM, then check all its traces; exit 4 if the program itself failed\n"
    "  baseline [--policy P] [--suppressions F]... [--output F] TRACE...\n"
    "        fingerprints of the current leaks (a baseline for check --baseline)\n"
    "  diff [--policy P] [--format text|json] OLD NEW\n"
    "        leaks that appeared, vanished and grew; OLD and NEW are baselines or traces\n";

enum { OUT_TEXT = 0, OUT_JSON, OUT_SARIF, OUT_JUNIT };

typedef struct ci {
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
    /* run --check */
    int program_status; /* -1: not run */
    char **program_argv;
    /* state */
    lg_supp_set_t supp;
    lg_baseline_t base;
    bool have_base;
} ci_t;

enum {
    OPT_POLICY = 1000, OPT_POLICY_FILE, OPT_SUPP, OPT_BASELINE, OPT_FORMAT, OPT_JSON, OPT_SARIF,
    OPT_JUNIT, OPT_SRCROOT, OPT_GENSUPP, OPT_CHECKNO, OPT_QUIET, OPT_OUTPUT, OPT_CHECK,
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
    {"check-number", required_argument, NULL, OPT_CHECKNO}

static int usage_error(const ci_t *o, const char *msg, const char *arg)
{
    fprintf(stderr, "leakgraph %s: ", o->cmd);
    fprintf(stderr, msg, arg);
    fputc('\n', stderr);
    return LG_EXIT_USAGE;
}

static int set_policy(ci_t *o, const char *text, bool file)
{
    char err[512];
    if (o->policy_set) return usage_error(o, "give one policy (%s)", "--policy or --policy-file");
    int rc = file ? lg_policy_load(&o->policy, text, err, sizeof err)
                  : lg_policy_parse(&o->policy, text, err, sizeof err);
    if (rc) {
        fprintf(stderr, "leakgraph %s: bad policy: %s\n", o->cmd, err);
        return LG_EXIT_USAGE;
    }
    o->policy_set = true;
    return 0;
}

/* One CI option. Returns 0, or an exit code. */
static int ci_option(ci_t *o, int c, const char *arg)
{
    switch (c) {
    case OPT_POLICY: return set_policy(o, arg, false);
    case OPT_POLICY_FILE: return set_policy(o, arg, true);
    case OPT_SUPP:
        if (o->nsupp == sizeof o->supp_paths / sizeof *o->supp_paths)
            return usage_error(o, "too many suppression files (%s)", "64 at most");
        o->supp_paths[o->nsupp++] = arg;
        return 0;
    case OPT_BASELINE: o->baseline_path = arg; return 0;
    case OPT_FORMAT:
        if (!strcmp(arg, "text")) o->format = OUT_TEXT;
        else if (!strcmp(arg, "json")) o->format = OUT_JSON;
        else if (!strcmp(arg, "sarif")) o->format = OUT_SARIF;
        else if (!strcmp(arg, "junit")) o->format = OUT_JUNIT;
        else return usage_error(o, "unknown format '%s' (text, json, sarif or junit)", arg);
        return 0;
    case OPT_JSON: o->json_out = arg; return 0;
    case OPT_SARIF: o->sarif_out = arg; return 0;
    case OPT_JUNIT: o->junit_out = arg; return 0;
    case OPT_SRCROOT: o->source_root = arg; return 0;
    case OPT_GENSUPP:
        if (!arg || !strcmp(arg, "leakgraph")) o->gen_supp = LG_SUPP_LEAKGRAPH;
        else if (!strcmp(arg, "valgrind")) o->gen_supp = LG_SUPP_VALGRIND;
        else if (!strcmp(arg, "lsan")) o->gen_supp = LG_SUPP_LSAN;
        else return usage_error(o, "unknown suppression format '%s' (leakgraph, valgrind, lsan)", arg);
        return 0;
    case OPT_CHECKNO: {
        char *end;
        long v = strtol(arg, &end, 10);
        if (*end || v < 1 || v > 1000000) return usage_error(o, "--check-number takes a number, not '%s'", arg);
        o->check_number = (uint32_t)v;
        return 0;
    }
    case OPT_QUIET: o->quiet = true; return 0;
    default: return usage_error(o, "%s", "bad option (leakgraph help)");
    }
}

static void ci_init(ci_t *o, const char *cmd)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->gen_supp = -1;
    o->program_status = -1;
    lg_policy_default(&o->policy);
}

static void ci_free(ci_t *o)
{
    lg_supp_free(&o->supp);
    if (o->have_base) lg_baseline_free(&o->base);
}

/* Suppressions and baseline. Returns 0 or an exit code. */
static int load_inputs(ci_t *o)
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
static int load_traces(const ci_t *o, char **paths, size_t n, lg_trace_t **out)
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

/* ---- the text summary --------------------------------------------------------------------- */
static const char *const status_tag[] = {"ignored", "suppressed", "baseline", "tolerated", "FAIL"};

/* How many records a process lists in the summary before "... and N more". */
#define SUMMARY_RECORDS 20

static void text_record(FILE *out, const ci_t *o, const lg_ci_rec_t *r)
{
    char b1[32], b2[32], b3[32];
    const lg_leak_t *l = r->leak;
    const lg_frame_t *at = lg_ci_location(r);
    fprintf(out, "    %-10s %-9s ", status_tag[r->status], lg_kind_name(l->kind));
    if (l->indirect_bytes && l->kind == LG_KIND_DEFINITE)
        fprintf(out, "%s (+%s indirect) bytes in %s block%s", lg_thousands(l->bytes, b1),
                lg_thousands(l->indirect_bytes, b3), lg_thousands(l->blocks, b2),
                l->blocks == 1 ? "" : "s");
    else
        fprintf(out, "%s bytes in %s block%s", lg_thousands(l->bytes, b1),
                lg_thousands(l->blocks, b2), l->blocks == 1 ? "" : "s");
    if (at) {
        fprintf(out, " at %s", at->function ? at->function : "???");
        if (at->file && at->line) fprintf(out, " (%s:%d)", lg_basename_or_unknown(at->file), at->line);
    } else if (r->nframes > 0 && r->frames[0].function) {
        fprintf(out, " at %s", r->frames[0].function);
    }
    if (r->status == LG_REC_SUPPRESSED && r->rule >= 0)
        fprintf(out, " [rule %s]", o->supp.rules[r->rule].name);
    if (r->base == LG_BASE_GREW) fputs(" [grew beyond the baseline]", out);
    else if (r->base == LG_BASE_NEW) fputs(" [new]", out);
    fputc('\n', out);
}

static void text_summary(FILE *out, const ci_t *o, const lg_ci_set_t *cs, int code)
{
    const lg_leakset_t *ls = cs->ls;
    char b1[32], b2[32];
    if (!o->quiet) {
        fprintf(out, "leakgraph %s: policy %s\n", o->cmd, o->policy.text);
        for (size_t ti = 0; ti < ls->ntraces; ti++) {
            const lg_trace_t *t = &ls->traces[ti];
            uint64_t nf = 0, shown = 0, more = 0;
            for (size_t i = 0; i < cs->nrecs; i++)
                if (cs->recs[i].leak->trace == ti && cs->recs[i].status == LG_REC_FAILED) nf++;
            fprintf(out, "  pid %d %s", t->pid, lg_basename_or_unknown(t->exe ? t->exe : t->argc ? t->argv[0] : NULL));
            if (t->parent_pid) fprintf(out, " (forked from %d)", t->parent_pid);
            switch (t->end_reason) {
            case LG_END_EXIT: fprintf(out, ", exited with status %d", t->exit_status); break;
            case LG_END_SIGNAL: fprintf(out, ", killed by signal %d", t->signal); break;
            case LG_END_EXEC: fputs(", replaced by exec", out); break;
            default: fputs(", end not recorded", out); break;
            }
            fprintf(out, ": %s\n", nf ? "FAIL" : "pass");
            if (!ls->procs[ti].snap)
                fputs("    note: no leak check in this trace; its records are 'unfreed' (add "
                      "'unfreed' to the policy to gate on them)\n",
                      out);
            if (!t->complete)
                fprintf(out, "    note: the trace is incomplete: %s\n",
                        t->problem ? t->problem : "unknown reason");
            for (size_t i = 0; i < cs->nrecs; i++) {
                const lg_ci_rec_t *r = &cs->recs[i];
                if (r->leak->trace != ti || r->status == LG_REC_IGNORED) continue;
                if (shown++ < SUMMARY_RECORDS) text_record(out, o, r);
                else more++;
            }
            if (more) fprintf(out, "    ... and %" PRIu64 " more (leakgraph report)\n", more);
        }
        for (size_t i = 0; i < o->supp.nrules; i++) {
            const lg_supp_rule_t *r = &o->supp.rules[i];
            fprintf(out, "  suppression '%s' (%s): ", r->name, r->where);
            if (!r->records) fputs("matched nothing (unused)\n", out);
            else if (r->over_limit)
                fprintf(out, "matched %" PRIu64 " record%s, %s bytes in %s blocks: over its limits, "
                             "hid nothing\n",
                        r->records, r->records == 1 ? "" : "s", lg_thousands(r->bytes, b1),
                        lg_thousands(r->blocks, b2));
            else
                fprintf(out, "hid %" PRIu64 " record%s, %s bytes in %s block%s\n", r->records,
                        r->records == 1 ? "" : "s", lg_thousands(r->bytes, b1),
                        lg_thousands(r->blocks, b2), r->blocks == 1 ? "" : "s");
        }
        if (o->have_base) {
            uint64_t nnew = 0, known = 0, grew = 0, unseen = 0;
            for (size_t i = 0; i < cs->nrecs; i++) {
                int b = cs->recs[i].base;
                nnew += b == LG_BASE_NEW, known += b == LG_BASE_KNOWN, grew += b == LG_BASE_GREW;
            }
            for (size_t i = 0; i < o->base.n; i++) unseen += !o->base.e[i].seen;
            fprintf(out, "  baseline %s: %" PRIu64 " known, %" PRIu64 " new, %" PRIu64
                         " grew; %" PRIu64 " baseline entr%s not seen\n",
                    o->baseline_path, known, nnew, grew, unseen, unseen == 1 ? "y" : "ies");
        }
    }
    if (o->program_status > 0)
        fprintf(out, "leakgraph %s: the program failed: %s %d\n", o->cmd,
                o->program_status > 128 ? "status (128 + signal)" : "exit status",
                o->program_status);
    else if (o->program_status == 0 && !o->quiet)
        fprintf(out, "leakgraph %s: the program exited with status 0\n", o->cmd);
    if (cs->failed) {
        fprintf(out, "leakgraph %s: FAIL: %" PRIu64 " leak record%s fail the policy (%s bytes in "
                     "%s blocks):",
                o->cmd, cs->fail_records, cs->fail_records == 1 ? "" : "s",
                lg_thousands(cs->fail_bytes, b1), lg_thousands(cs->fail_blocks, b2));
        for (size_t i = 0; i < cs->nviol; i++) fprintf(out, "%s %s", i ? ";" : "", cs->viol[i].text);
        fprintf(out, " (exit %d)\n", code);
    } else {
        uint64_t sup = 0, base = 0, tol = 0;
        for (size_t i = 0; i < cs->nrecs; i++) {
            int s = cs->recs[i].status;
            sup += s == LG_REC_SUPPRESSED, base += s == LG_REC_BASELINE, tol += s == LG_REC_TOLERATED;
        }
        fprintf(out, "leakgraph %s: %s: no leak fails the policy (%" PRIu64 " suppressed, %" PRIu64
                     " known to the baseline, %" PRIu64 " tolerated) (exit %d)\n",
                o->cmd, code == LG_EXIT_PASS ? "PASS" : "program FAILED", sup, base, tol, code);
    }
}

/* ---- JSON --------------------------------------------------------------------------------- */
static void json_frames(FILE *out, const lg_ci_rec_t *r)
{
    fputc('[', out);
    for (long k = 0; k < r->nframes; k++) {
        const lg_frame_t *f = &r->frames[k];
        fputs(k ? ",{\"function\":" : "{\"function\":", out);
        lg_json_str(out, f->function);
        fputs(",\"file\":", out);
        lg_json_str(out, f->file);
        fprintf(out, ",\"line\":%d,\"module\":", f->line);
        lg_json_str(out, f->module);
        fprintf(out, ",\"address\":\"0x%" PRIx64 "\",\"offset\":\"0x%" PRIx64 "\",\"inlined\":%s,\"user\":%s}",
                f->address, f->offset, f->inlined ? "true" : "false",
                lg_frame_is_user(f) ? "true" : "false");
    }
    fputc(']', out);
}

static void json_limit(FILE *out, uint64_t v)
{
    if (v == LG_NO_LIMIT) fputs("null", out);
    else fprintf(out, "%" PRIu64, v);
}

static void json_report(FILE *out, const ci_t *o, const lg_ci_set_t *cs, int code)
{
    const lg_leakset_t *ls = cs->ls;
    static const char *const status_name[] = {"ignored", "suppressed", "baseline", "tolerated",
                                              "failed"};
    static const char *const base_name_[] = {NULL, "new", "known", "grew"};
    fprintf(out, "{\"version\":1,\"tool\":\"leakgraph\",\"command\":\"%s\",\"verdict\":\"%s\","
                 "\"exit_code\":%d,\"policy\":",
            o->cmd, cs->failed ? "fail" : "pass", code);
    lg_json_str(out, o->policy.text);
    fputs(",\"violations\":[", out);
    for (size_t i = 0; i < cs->nviol; i++) {
        if (i) fputc(',', out);
        lg_json_str(out, cs->viol[i].text);
    }
    fputs("],\n\"program\":", out);
    if (o->program_status >= 0) {
        fputs("{\"argv\":[", out);
        for (char **a = o->program_argv; a && *a; a++) {
            if (a != o->program_argv) fputc(',', out);
            lg_json_str(out, *a);
        }
        fprintf(out, "],\"status\":%d,\"failed\":%s}", o->program_status,
                o->program_status ? "true" : "false");
    } else {
        fputs("null", out);
    }
    uint64_t sb[5] = {0}, sk[5] = {0}, sr[5] = {0};
    for (size_t i = 0; i < cs->nrecs; i++) {
        const lg_ci_rec_t *r = &cs->recs[i];
        sr[r->status]++;
        if (r->leak->kind != LG_KIND_CYCLE) sb[r->status] += r->leak->bytes, sk[r->status] += r->leak->blocks;
    }
    fputs(",\n\"summary\":{", out);
    for (int s = 0; s < 5; s++)
        fprintf(out, "%s\"%s\":{\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}",
                s ? "," : "", status_name[s], sr[s], sb[s], sk[s]);
    fputs("},\n\"processes\":[", out);
    for (size_t ti = 0; ti < ls->ntraces; ti++) {
        const lg_trace_t *t = &ls->traces[ti];
        uint64_t nf = 0;
        for (size_t i = 0; i < cs->nrecs; i++)
            nf += cs->recs[i].leak->trace == ti && cs->recs[i].status == LG_REC_FAILED;
        fprintf(out, "%s\n {\"pid\":%d,\"parent_pid\":%d,\"path\":", ti ? "," : "", t->pid, t->parent_pid);
        lg_json_str(out, t->exe);
        fputs(",\"trace\":", out);
        lg_json_str(out, t->path);
        if (t->end_reason == LG_END_EXIT) fprintf(out, ",\"exit_status\":%d", t->exit_status);
        else fputs(",\"exit_status\":null", out);
        fprintf(out, ",\"signal\":%d,\"end\":\"%s\",\"complete\":%s,\"leak_check\":%s,"
                     "\"failed_records\":%" PRIu64 ",\"verdict\":\"%s\"}",
                t->signal, lg_end_reason_name(t->end_reason), t->complete ? "true" : "false",
                ls->procs[ti].snap ? "true" : "false", nf, nf ? "fail" : "pass");
    }
    fputs("],\n\"records\":[", out);
    for (size_t i = 0; i < cs->nrecs; i++) {
        const lg_ci_rec_t *r = &cs->recs[i];
        const lg_leak_t *l = r->leak;
        fprintf(out, "%s\n {\"kind\":\"%s\",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64
                     ",\"indirect_bytes\":%" PRIu64 ",\"indirect_blocks\":%" PRIu64
                     ",\"pid\":%d,\"allocator\":\"%s\",\"status\":\"%s\",\"suppressed_by\":",
                i ? "," : "", lg_kind_name(l->kind), l->bytes, l->blocks, l->indirect_bytes,
                l->indirect_blocks, ls->traces[l->trace].pid, lg_fn_name(l->fn),
                status_name[r->status]);
        lg_json_str(out, r->status == LG_REC_SUPPRESSED ? o->supp.rules[r->rule].name : NULL);
        fputs(",\"baseline\":", out);
        lg_json_str(out, base_name_[r->base]);
        fprintf(out, ",\"fingerprint\":\"%016" PRIx64 "\",\"signature\":", r->fp);
        lg_json_str(out, r->sig);
        const lg_frame_t *at = lg_ci_location(r);
        fputs(",\"location\":", out);
        if (at) {
            fputs("{\"function\":", out);
            lg_json_str(out, at->function);
            fputs(",\"file\":", out);
            lg_json_str(out, at->file);
            fprintf(out, ",\"line\":%d}", at->line);
        } else {
            fputs("null", out);
        }
        fputs(",\"stack\":", out);
        json_frames(out, r);
        fputc('}', out);
    }
    fputs("],\n\"suppressions\":[", out);
    static const char *const origin[] = {"leakgraph", "valgrind", "lsan"};
    for (size_t i = 0; i < o->supp.nrules; i++) {
        const lg_supp_rule_t *r = &o->supp.rules[i];
        fputs(i ? ",\n {\"name\":" : "\n {\"name\":", out);
        lg_json_str(out, r->name);
        fprintf(out, ",\"format\":\"%s\",\"where\":", origin[r->origin]);
        lg_json_str(out, r->where);
        fprintf(out, ",\"matched\":{\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64
                     "},\"hidden\":{\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64
                     "},\"max_bytes\":",
                r->records, r->bytes, r->blocks, r->over_limit ? 0 : r->records,
                r->over_limit ? 0 : r->bytes, r->over_limit ? 0 : r->blocks);
        json_limit(out, r->max_bytes);
        fputs(",\"max_blocks\":", out);
        json_limit(out, r->max_blocks);
        fprintf(out, ",\"over_limit\":%s,\"used\":%s}", r->over_limit ? "true" : "false",
                r->records ? "true" : "false");
    }
    fputs("],\n\"baseline\":", out);
    if (o->have_base) {
        uint64_t n[4] = {0};
        for (size_t i = 0; i < cs->nrecs; i++) n[cs->recs[i].base]++;
        fputs("{\"file\":", out);
        lg_json_str(out, o->baseline_path);
        fprintf(out, ",\"new\":%" PRIu64 ",\"known\":%" PRIu64 ",\"grew\":%" PRIu64 ",\"unseen\":[",
                n[LG_BASE_NEW], n[LG_BASE_KNOWN], n[LG_BASE_GREW]);
        bool first = true;
        for (size_t i = 0; i < o->base.n; i++) {
            const lg_base_entry_t *e = &o->base.e[i];
            if (e->seen) continue;
            fprintf(out, "%s{\"fingerprint\":\"%016" PRIx64 "\",\"kind\":\"%s\",\"bytes\":%" PRIu64
                         ",\"blocks\":%" PRIu64 ",\"signature\":",
                    first ? "" : ",", e->fp, lg_kind_name(e->kind), e->bytes, e->blocks);
            lg_json_str(out, e->sig);
            fputc('}', out);
            first = false;
        }
        fputs("]}", out);
    } else {
        fputs("null", out);
    }
    fputs("}\n", out);
}

/* ---- outputs ------------------------------------------------------------------------------ */
static int emit(FILE *out, int format, const ci_t *o, const lg_ci_set_t *cs, int code)
{
    switch (format) {
    case OUT_JSON: json_report(out, o, cs, code); break;
    case OUT_SARIF: {
        lg_sarif_opts_t so = {.source_root = o->source_root, .version = LG_VERSION_STRING,
                              .supp = &o->supp, .exit_code = code};
        lg_sarif_write(out, cs, &so);
        break;
    }
    case OUT_JUNIT: {
        lg_junit_opts_t jo = {.program_status = o->program_status};
        lg_junit_write(out, cs, &jo);
        break;
    }
    default: text_summary(out, o, cs, code); break;
    }
    return ferror(out) ? -EIO : 0;
}

static int emit_file(const char *path, int format, const ci_t *o, const lg_ci_set_t *cs, int code)
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

static void gen_suppressions(FILE *out, const ci_t *o, const lg_ci_set_t *cs)
{
    int n = 0;
    for (size_t i = 0; i < cs->nrecs; i++) {
        const lg_ci_rec_t *r = &cs->recs[i];
        if (r->status == LG_REC_IGNORED || r->status == LG_REC_SUPPRESSED) continue;
        /* Valgrind knows no cycles: its rules for the members' kinds cover them */
        if (o->gen_supp == LG_SUPP_VALGRIND && r->leak->kind == LG_KIND_CYCLE) continue;
        const lg_frame_t *at = lg_ci_location(r);
        char name[300];
        snprintf(name, sizeof name, "%s-%s-%d", lg_kind_name(r->leak->kind),
                 at && at->function ? at->function : "unknown", ++n);
        for (char *c = name; *c; c++)
            if (*c == ' ' || *c == '\t' || *c == '"' || *c == '#') *c = '_';
        lg_supp_gen(out, o->gen_supp, name, r->leak->kind, r->leak->fn, r->frames, r->nframes,
                    r->user, 2);
        fputc('\n', out);
    }
}

/* The whole pipeline over some traces, suppressions and baseline loaded (load_inputs);
 * returns the exit code. */
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
static int ci_run_build(ci_t *o, char **paths, size_t n, ci_run_t *r)
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

static int evaluate(ci_t *o, char **paths, size_t n)
{
    ci_run_t r;
    lg_ci_set_t *cs = &r.cs;
    int rc, code = ci_run_build(o, paths, n, &r);
    if (code) goto out;
    if ((o->have_base && (rc = lg_baseline_apply(&o->base, cs))) || (rc = lg_policy_eval(cs))) {
        fprintf(stderr, "leakgraph %s: %s\n", o->cmd, strerror(-rc));
        code = LG_EXIT_ERROR;
        goto out;
    }
    /* precedence: leakgraph's error > the program's failure > leaks > pass */
    code = o->program_status > 0 ? LG_EXIT_PROGRAM : cs->failed ? LG_EXIT_LEAKS : LG_EXIT_PASS;
    bool running = o->program_status >= 0;
    if ((o->json_out && emit_file(o->json_out, OUT_JSON, o, cs, code)) ||
        (o->sarif_out && emit_file(o->sarif_out, OUT_SARIF, o, cs, code)) ||
        (o->junit_out && emit_file(o->junit_out, OUT_JUNIT, o, cs, code)))
        code = LG_EXIT_ERROR;
    if (o->gen_supp >= 0) {
        gen_suppressions(stdout, o, cs);
        text_summary(stderr, o, cs, code);
    } else if (running || o->format == OUT_TEXT) {
        text_summary(running ? stderr : stdout, o, cs, code);
    } else {
        if (emit(stdout, o->format, o, cs, code)) code = LG_EXIT_ERROR;
        ci_t q = *o;
        q.quiet = true;
        text_summary(stderr, &q, cs, code);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "leakgraph %s: cannot write the report: %s\n", o->cmd, strerror(errno));
        code = LG_EXIT_ERROR;
    }
out:
    ci_run_free(&r);
    return code;
}

/* ---- check -------------------------------------------------------------------------------- */
int lg_cmd_check(int argc, char **argv)
{
    ci_t o;
    ci_init(&o, "check");
    static const struct option opts[] = {CI_LONG_OPTS,
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"quiet", no_argument, NULL, OPT_QUIET},
                                         {0}};
    int c;
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = c == '?' ? LG_EXIT_USAGE : ci_option(&o, c, optarg);
        if (rc) {
            ci_free(&o);
            return rc;
        }
    }
    if (optind >= argc) {
        ci_free(&o);
        return usage_error(&o, "%s", "no trace given (leakgraph check [options] TRACE...)");
    }
    int code = load_inputs(&o);
    if (!code) code = evaluate(&o, argv + optind, (size_t)(argc - optind));
    ci_free(&o);
    return code;
}

/* ---- baseline ----------------------------------------------------------------------------- */
/* The baseline of some traces (policy and suppressions as in o). Returns 0 or an exit code. */
static int baseline_of(ci_t *o, char **paths, size_t n, lg_baseline_t *b)
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

int lg_cmd_baseline(int argc, char **argv)
{
    ci_t o;
    ci_init(&o, "baseline");
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
        else code = c == '?' ? LG_EXIT_USAGE : ci_option(&o, c, optarg);
        if (code) goto out;
    }
    if (optind >= argc) {
        code = usage_error(&o, "%s", "no trace given (leakgraph baseline TRACE... > FILE)");
        goto out;
    }
    if ((code = load_inputs(&o))) goto out;
    lg_baseline_t b;
    if ((code = baseline_of(&o, argv + optind, (size_t)(argc - optind), &b))) goto out;
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
    ci_free(&o);
    return code;
}

/* ---- diff --------------------------------------------------------------------------------- */
static int side(ci_t *o, char *path, lg_baseline_t *b)
{
    if (lg_baseline_sniff(path)) {
        char err[600];
        int rc = lg_baseline_load(b, path, err, sizeof err);
        if (rc) fprintf(stderr, "leakgraph diff: %s\n", err);
        return rc ? LG_EXIT_USAGE : 0;
    }
    return baseline_of(o, &path, 1, b);
}

int lg_cmd_diff(int argc, char **argv)
{
    ci_t o;
    ci_init(&o, "diff");
    static const struct option opts[] = {{"policy", required_argument, NULL, OPT_POLICY},
                                         {"policy-file", required_argument, NULL, OPT_POLICY_FILE},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {0}};
    int c, code = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        code = c == '?' ? LG_EXIT_USAGE : ci_option(&o, c, optarg);
        if (code) return code;
        if (o.format != OUT_TEXT && o.format != OUT_JSON)
            return usage_error(&o, "%s", "diff prints text or json");
    }
    if (argc - optind != 2) return usage_error(&o, "%s", "usage: leakgraph diff OLD NEW");
    lg_baseline_t a = {0}, b = {0};
    if ((code = side(&o, argv[optind], &a)) || (code = side(&o, argv[optind + 1], &b))) {
        lg_baseline_free(&a);
        return code;
    }
    uint64_t appeared = 0, vanished = 0, grew = 0, same = 0;
    char b1[32], b2[32], b3[32], b4[32];
    bool json = o.format == OUT_JSON;
    if (json) fputs("{\"version\":1,\"tool\":\"leakgraph\",\"command\":\"diff\",\"changes\":[", stdout);
    int nout = 0;
    /* appeared and grew: walk NEW; vanished: walk OLD */
    for (int pass = 0; pass < 2; pass++) {
        const lg_baseline_t *x = pass ? &a : &b, *y = pass ? &b : &a;
        for (size_t i = 0; i < x->n; i++) {
            const lg_base_entry_t *e = &x->e[i], *f = lg_baseline_find(y, e->fp);
            const char *what;
            if (pass == 1) {
                if (f) continue;
                what = "vanished", vanished++;
            } else if (!f) {
                what = "appeared", appeared++;
            } else if (e->bytes > f->bytes || e->blocks > f->blocks) {
                what = "grew", grew++;
            } else {
                same++;
                continue;
            }
            if (json) {
                fprintf(stdout, "%s\n {\"change\":\"%s\",\"kind\":\"%s\",\"fingerprint\":\"%016" PRIx64
                                "\",\"old\":",
                        nout++ ? "," : "", what, lg_kind_name(e->kind), e->fp);
                const lg_base_entry_t *old = pass ? e : f, *nw = pass ? NULL : e;
                if (old) fprintf(stdout, "{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}", old->bytes, old->blocks);
                else fputs("null", stdout);
                fputs(",\"new\":", stdout);
                if (nw) fprintf(stdout, "{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}", nw->bytes, nw->blocks);
                else fputs("null", stdout);
                fputs(",\"signature\":", stdout);
                lg_json_str(stdout, e->sig);
                fputc('}', stdout);
            } else if (!strcmp(what, "grew")) {
                printf("grew      %-9s %s -> %s bytes, %s -> %s blocks  %s\n", lg_kind_name(e->kind),
                       lg_thousands(f->bytes, b1), lg_thousands(e->bytes, b2),
                       lg_thousands(f->blocks, b3), lg_thousands(e->blocks, b4), e->sig);
            } else {
                printf("%-9s %-9s %s bytes in %s blocks  %s\n", what, lg_kind_name(e->kind),
                       lg_thousands(e->bytes, b1), lg_thousands(e->blocks, b2), e->sig);
            }
        }
    }
    code = appeared || grew ? LG_EXIT_LEAKS : LG_EXIT_PASS;
    if (json)
        printf("],\"appeared\":%" PRIu64 ",\"vanished\":%" PRIu64 ",\"grew\":%" PRIu64
               ",\"unchanged\":%" PRIu64 ",\"exit_code\":%d}\n",
               appeared, vanished, grew, same, code);
    else
        printf("leakgraph diff: %" PRIu64 " appeared, %" PRIu64 " vanished, %" PRIu64 " grew, %" PRIu64
               " unchanged\n",
               appeared, vanished, grew, same);
    lg_baseline_free(&a);
    lg_baseline_free(&b);
    if (fflush(stdout) != 0) code = LG_EXIT_ERROR;
    return code;
}

/* ---- run [--check] ------------------------------------------------------------------------ */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The traces of a run: base, and base.<pid>[.<n>] written since `since`. */
static int run_traces(const char *base, const struct timespec *since, char ***out, size_t *n)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", base);
    char *slash = strrchr(dir, '/');
    const char *bn = slash ? slash + 1 : base;
    if (slash) *slash = 0;
    size_t bl = strlen(bn), cap = 8;
    char **v = malloc(cap * sizeof *v);
    if (!v) return -ENOMEM;
    *n = 0;
    v[(*n)++] = strdup(base);
    DIR *d = opendir(slash ? (dir[0] ? dir : "/") : ".");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            const char *s = e->d_name;
            if (strncmp(s, bn, bl) || s[bl] != '.' || !s[bl + 1]) continue;
            if (strspn(s + bl + 1, "0123456789.") != strlen(s + bl + 1)) continue;
            char p[PATH_MAX + 256];
            snprintf(p, sizeof p, "%s/%s", slash ? (dir[0] ? dir : "") : ".", s);
            struct stat st;
            if (lstat(p, &st) || !S_ISREG(st.st_mode)) continue;
            if (st.st_mtim.tv_sec < since->tv_sec ||
                (st.st_mtim.tv_sec == since->tv_sec && st.st_mtim.tv_nsec < since->tv_nsec))
                continue; /* left by an earlier run */
            if (*n == cap) {
                char **nv = realloc(v, (cap *= 2) * sizeof *v);
                if (!nv) break;
                v = nv;
            }
            v[(*n)++] = strdup(p);
        }
        closedir(d);
    }
    for (size_t i = 0; i < *n; i++)
        if (!v[i]) return -ENOMEM;
    if (*n > 2) qsort(v + 1, *n - 1, sizeof *v, cmp_str);
    *out = v;
    return 0;
}

int lg_cmd_run(int argc, char **argv)
{
    ci_t o;
    ci_init(&o, "run");
    lg_run_opts_t ro = {0};
    bool check = false, ci_opts = false;
    const char *check_policy = NULL;
    static const struct option opts[] = {CI_LONG_OPTS,
                                         {"output", required_argument, NULL, 'o'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"check", optional_argument, NULL, OPT_CHECK},
                                         {0}};
    int c, code = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+o:q", opts, NULL)) != -1) {
        switch (c) {
        case 'o': ro.output = optarg; break;
        case 'q': ro.quiet = o.quiet = true; break; /* with --check: only the verdict's line */
        case OPT_CHECK:
            check = true;
            check_policy = optarg;
            break;
        case '?':
            fputs("usage: leakgraph run [--output PATH] [--quiet] [--check[=POLICY] ...] -- PROGRAM "
                  "[ARGS...]\n",
                  stderr);
            return LG_EXIT_USAGE;
        default:
            ci_opts = true;
            if ((code = ci_option(&o, c, optarg))) return code;
        }
    }
    if (optind >= argc) {
        fputs("leakgraph run: no program given (leakgraph run [--output PATH] -- PROGRAM ...)\n",
              stderr);
        return LG_EXIT_USAGE;
    }
    if (!check) {
        if (ci_opts) return usage_error(&o, "%s", "these options need --check");
        return lg_run(&ro, argv + optind);
    }
    if (check_policy && (code = set_policy(&o, check_policy, false))) return code;
    if ((code = load_inputs(&o))) goto out;
    /* Without --output the trace name must be known before the run: leakgraph.PROG.PID.lgt with
     * leakgraph's own pid (a plain run uses the program's pid, which is not known yet). */
    char base[PATH_MAX];
    if (!ro.output) {
        const char *p = lg_basename_or_unknown(argv[optind]);
        struct stat st;
        for (int n = 0;; n++) {
            if (n) snprintf(base, sizeof base, "leakgraph.%s.%d.%d.lgt", p, (int)getpid(), n);
            else snprintf(base, sizeof base, "leakgraph.%s.%d.lgt", p, (int)getpid());
            if (lstat(base, &st) != 0) break;
        }
        ro.output = base;
    }
    struct stat st;
    if (lstat(ro.output, &st) == 0) { /* run would refuse; do not check what is there */
        fprintf(stderr, "leakgraph run: %s exists; refusing to overwrite it\n", ro.output);
        code = LG_EXIT_ERROR;
        goto out;
    }
    struct timespec since;
    clock_gettime(CLOCK_REALTIME, &since);
    since.tv_sec -= 1; /* file times may lag the clock by a tick; older leftovers are older */
    o.program_status = lg_run(&ro, argv + optind);
    o.program_argv = argv + optind;
    if (lstat(ro.output, &st) != 0) {
        fprintf(stderr, "leakgraph run: the program did not run under leakgraph (status %d): no "
                        "trace to check\n",
                o.program_status);
        code = o.program_status == 125 ? LG_EXIT_ERROR : LG_EXIT_PROGRAM;
        goto out;
    }
    char **paths = NULL;
    size_t n = 0;
    if (run_traces(ro.output, &since, &paths, &n)) {
        fputs("leakgraph run: out of memory\n", stderr);
        code = LG_EXIT_ERROR;
        goto out;
    }
    code = evaluate(&o, paths, n);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
out:
    ci_free(&o);
    return code;
}
