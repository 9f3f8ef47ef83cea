/* The text summary of a CI verdict (see ci_out.h), what `check` prints by default and `run
 * --check` prints on stderr: short enough for a CI log, the details are in `leakgraph report`.
 * It only prints. */
#define _GNU_SOURCE
#include "ci_out.h"
#include "complete.h"
#include "path.h"

#include <inttypes.h>

#include "trace.h"

static const char *const status_tag[] = {"ignored", "suppressed", "baseline", "tolerated", "FAIL"};

/* How many records a process lists in the summary before "... and N more". */
#define SUMMARY_RECORDS 20

static void text_record(FILE *out, const lg_ci_out_t *o, const lg_ci_rec_t *r)
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
        fprintf(out, " [rule %s]", o->supp->rules[r->rule].name);
    if (r->base == LG_BASE_GREW) fputs(" [grew beyond the baseline]", out);
    else if (r->base == LG_BASE_NEW) fputs(" [new]", out);
    fputc('\n', out);
}

void lg_ci_text(FILE *out, const lg_ci_set_t *cs, const lg_ci_out_t *o)
{
    const int code = o->exit_code;
    const lg_leakset_t *ls = cs->ls;
    char b1[32], b2[32];
    if (!o->quiet) {
        fprintf(out, "leakgraph %s: policy %s\n", o->cmd, cs->policy->text);
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
            const char *gap = lg_ci_gap(cs, ti);
            fprintf(out, ": %s%s\n", nf ? "FAIL" : "pass",
                    !gap ? "" : cs->gaps_allowed ? " (incomplete, accepted)" : ", INCOMPLETE");
            if (gap)
                fprintf(out, "    incomplete: %s%s\n", gap,
                        ls->procs[ti].snap ? "" : " (its records are 'unfreed')");
            else if (!ls->procs[ti].snap)
                fputs("    note: no leak check in this trace; its records are 'unfreed'\n", out);
            for (size_t i = 0; i < cs->nrecs; i++) {
                const lg_ci_rec_t *r = &cs->recs[i];
                if (r->leak->trace != ti || r->status == LG_REC_IGNORED) continue;
                if (shown++ < SUMMARY_RECORDS) text_record(out, o, r);
                else more++;
            }
            if (more) fprintf(out, "    ... and %" PRIu64 " more (leakgraph report)\n", more);
        }
        for (size_t i = 0; i < o->supp->nrules; i++) {
            const lg_supp_rule_t *r = &o->supp->rules[i];
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
        if (o->base) {
            uint64_t nnew = 0, known = 0, grew = 0, unseen = 0;
            for (size_t i = 0; i < cs->nrecs; i++) {
                int b = cs->recs[i].base;
                nnew += b == LG_BASE_NEW, known += b == LG_BASE_KNOWN, grew += b == LG_BASE_GREW;
            }
            for (size_t i = 0; i < o->base->n; i++) unseen += !o->base->e[i].seen;
            fprintf(out, "  baseline %s: %" PRIu64 " known, %" PRIu64 " new, %" PRIu64
                         " grew; %" PRIu64 " baseline entr%s not seen\n",
                    o->baseline_path, known, nnew, grew, unseen, unseen == 1 ? "y" : "ies");
        }
    }
    for (size_t ti = 0; ti < ls->ntraces; ti++) /* even when quiet: which trace, and why */
        if (lg_ci_gap(cs, ti))
            fprintf(out, "leakgraph %s: incomplete%s: %s (pid %d): %s\n", o->cmd,
                    cs->gaps_allowed ? " (accepted)" : "", ls->traces[ti].path, ls->traces[ti].pid,
                    lg_ci_gap(cs, ti));
    const bool incomplete = cs->ngaps && !cs->gaps_allowed;
    char gaps[96] = "";
    if (incomplete)
        snprintf(gaps, sizeof gaps, "%zu trace%s not seen whole", cs->ngaps, cs->ngaps == 1 ? "" : "s");
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
        if (incomplete) fprintf(out, "; and %s", gaps);
        fprintf(out, " (exit %d)\n", code);
    } else {
        uint64_t sup = 0, base = 0, tol = 0;
        for (size_t i = 0; i < cs->nrecs; i++) {
            int s = cs->recs[i].status;
            sup += s == LG_REC_SUPPRESSED, base += s == LG_REC_BASELINE, tol += s == LG_REC_TOLERATED;
        }
        if (incomplete) fprintf(out, "leakgraph %s: INCOMPLETE: %s; in what was seen, ", o->cmd, gaps);
        else fprintf(out, "leakgraph %s: %s: ", o->cmd, code == LG_EXIT_PASS ? "PASS" : "program FAILED");
        fprintf(out, "no leak fails the policy (%" PRIu64 " suppressed, %" PRIu64
                     " known to the baseline, %" PRIu64 " tolerated) (exit %d)\n",
                sup, base, tol, code);
    }
}
