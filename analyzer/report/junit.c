/* JUnit XML output of a CI verdict (see junit.h; the mapping is in docs/ci.md): one test suite
 * "leakgraph", one test case per traced process, named after the program and its pid. A case
 * fails (<failure type="leak">) when a record of its process fails the policy; the failure's
 * text lists those records. The main process's case has an <error> when the program itself
 * failed under run --check, and a case has an <error type="incomplete"> when its trace was not
 * seen whole (ci/complete.h) unless --allow-incomplete accepted it. Its output goes to
 * <system-out>. It only prints. */
#define _GNU_SOURCE
#include "junit.h"
#include "path.h"

#include <inttypes.h>
#include <string.h>

#include "complete.h"
#include "sarif.h"
#include "trace.h"

void lg_xml_str(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&apos;", out); break;
        default:
            if (*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') fputc('?', out);
            else fputc(*p, out);
        }
    }
}

static const char *prog_name(const lg_trace_t *t)
{
    return lg_basename_or_unknown(t->exe ? t->exe : t->argc ? t->argv[0] : NULL);
}

static void record_line(FILE *out, const lg_ci_rec_t *r)
{
    char b1[32], b2[32], line[600];
    const lg_frame_t *at = lg_ci_location(r);
    const char *file = at && at->file ? lg_basename_or_unknown(at->file) : NULL;
    snprintf(line, sizeof line, "%s: %s bytes in %s blocks, allocated by %s at %s", lg_kind_name(r->leak->kind),
             lg_thousands(r->leak->bytes, b1), lg_thousands(r->leak->blocks, b2),
             lg_fn_name(r->leak->fn), at && at->function ? at->function : "???");
    lg_xml_str(out, line);
    if (file && at->line) fprintf(out, " (%s:%d)", file, at->line); /* base names: no XML specials */
    fputc('\n', out);
    for (long k = 0; k < r->nframes; k++) {
        const lg_frame_t *f = &r->frames[k];
        fputs("    ", out);
        lg_xml_str(out, k ? "by " : "at ");
        lg_xml_str(out, f->function ? f->function : "???");
        if (f->file && f->line) {
            fputs(" (", out);
            lg_xml_str(out, lg_basename_or_unknown(f->file));
            fprintf(out, ":%d)", f->line);
        } else if (f->module) {
            fputs(" (in ", out);
            lg_xml_str(out, f->module);
            fputc(')', out);
        }
        fputc('\n', out);
    }
}

void lg_junit_write(FILE *out, const lg_ci_set_t *cs, const lg_junit_opts_t *o)
{
    const lg_leakset_t *ls = cs->ls;
    size_t failures = 0, errors = 0;
    bool prog_failed = o->program_status > 0;
    double total_time = 0;
    for (size_t ti = 0; ti < ls->ntraces; ti++) {
        bool f = false;
        for (size_t i = 0; i < cs->nrecs; i++)
            f |= cs->recs[i].leak->trace == ti && cs->recs[i].status == LG_REC_FAILED;
        failures += f;
        errors += (ti == 0 && prog_failed) || (lg_ci_gap(cs, ti) && !cs->gaps_allowed);
        const lg_trace_t *t = &ls->traces[ti];
        if (t->end_ns > t->start_ns) total_time += (double)(t->end_ns - t->start_ns) / 1e9;
    }
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<testsuites name=\"leakgraph\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
                 "time=\"%.3f\">\n"
                 "  <testsuite name=\"leakgraph\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
                 "skipped=\"0\" time=\"%.3f\">\n"
                 "    <properties>\n      <property name=\"policy\" value=\"",
            ls->ntraces, failures, errors, total_time, ls->ntraces, failures, errors, total_time);
    lg_xml_str(out, cs->policy->text);
    fputs("\"/>\n    </properties>\n", out);
    for (size_t ti = 0; ti < ls->ntraces; ti++) {
        const lg_trace_t *t = &ls->traces[ti];
        uint64_t nb = 0, nk = 0, nr = 0;
        for (size_t i = 0; i < cs->nrecs; i++) {
            const lg_ci_rec_t *r = &cs->recs[i];
            if (r->leak->trace != ti || r->status != LG_REC_FAILED) continue;
            nr++;
            if (r->leak->kind != LG_KIND_CYCLE) nb += r->leak->bytes, nk += r->leak->blocks;
        }
        double secs = t->end_ns > t->start_ns ? (double)(t->end_ns - t->start_ns) / 1e9 : 0;
        fputs("    <testcase classname=\"leakgraph.", out);
        lg_xml_str(out, prog_name(t));
        fputs("\" name=\"", out);
        lg_xml_str(out, prog_name(t));
        fprintf(out, " (pid %d", t->pid);
        if (t->parent_pid) fprintf(out, ", forked from %d", t->parent_pid);
        fprintf(out, ")\" time=\"%.3f\">\n", secs);
        char b1[32], b2[32];
        if (nr) {
            fprintf(out, "      <failure type=\"leak\" message=\"%" PRIu64 " leak record%s fail the "
                         "policy: %s bytes in %s blocks\">",
                    nr, nr == 1 ? "" : "s", lg_thousands(nb, b1), lg_thousands(nk, b2));
            for (size_t i = 0; i < cs->nrecs; i++) {
                const lg_ci_rec_t *r = &cs->recs[i];
                if (r->leak->trace == ti && r->status == LG_REC_FAILED) record_line(out, r);
            }
            fputs("</failure>\n", out);
        }
        if (ti == 0 && prog_failed)
            fprintf(out, "      <error type=\"program\" message=\"the program failed with status %d\"/>\n",
                    o->program_status);
        const char *gap = lg_ci_gap(cs, ti);
        if (gap && !cs->gaps_allowed) { /* the check of this process did not happen, or not whole */
            fputs("      <error type=\"incomplete\" message=\"", out);
            lg_xml_str(out, gap);
            fputs("\">trace ", out);
            lg_xml_str(out, t->path);
            fputs(": ", out);
            lg_xml_str(out, gap);
            fputs("</error>\n", out);
        }
        fputs("      <system-out>trace ", out);
        lg_xml_str(out, t->path);
        switch (t->end_reason) {
        case LG_END_EXIT: fprintf(out, "; exited with status %d", t->exit_status); break;
        case LG_END_SIGNAL: fprintf(out, "; killed by signal %d", t->signal); break;
        case LG_END_EXEC: fputs("; replaced by exec", out); break;
        default: fputs("; end not recorded", out); break;
        }
        if (gap) {
            fputs(cs->gaps_allowed ? "; incomplete (accepted): " : "; incomplete: ", out);
            lg_xml_str(out, gap);
        }
        if (!ls->procs[ti].snap) fputs("; no leak check in this trace (records are 'unfreed')", out);
        fputc('\n', out);
        for (size_t i = 0; i < cs->nrecs; i++) {
            const lg_ci_rec_t *r = &cs->recs[i];
            if (r->leak->trace != ti || r->status == LG_REC_FAILED || r->status == LG_REC_IGNORED)
                continue;
            static const char *const what[] = {"ignored", "suppressed", "known to the baseline",
                                               "tolerated"};
            fprintf(out, "%s: ", what[r->status]);
            record_line(out, r);
        }
        fputs("</system-out>\n    </testcase>\n", out);
    }
    fputs("  </testsuite>\n</testsuites>\n", out);
}
