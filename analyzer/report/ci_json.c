/* The CI JSON of a verdict (see ci_out.h; the contract is in docs/ci.md: extend it, never change
 * it): what `check --format json` and `--json FILE` write. It only prints. */
#define _GNU_SOURCE
#include "ci_out.h"
#include "complete.h"

#include <inttypes.h>

#include "report.h"
#include "trace.h"

static void json_frames(FILE *out, const lg_ci_rec_t *r)
{
    fputc('[', out);
    for (long k = 0; k < r->nframes; k++) {
        const lg_frame_t *f = &r->frames[k];
        if (k) fputc(',', out);
        lg_json_frame_open(out, f); /* the report's frame, and whether it is the user's code */
        fprintf(out, ",\"user\":%s}", lg_frame_is_user(f) ? "true" : "false");
    }
    fputc(']', out);
}

static void json_limit(FILE *out, uint64_t v)
{
    if (v == LG_NO_LIMIT) fputs("null", out);
    else fprintf(out, "%" PRIu64, v);
}

void lg_ci_json(FILE *out, const lg_ci_set_t *cs, const lg_ci_out_t *o)
{
    const int code = o->exit_code;
    const lg_leakset_t *ls = cs->ls;
    static const char *const status_name[] = {"ignored", "suppressed", "baseline", "tolerated",
                                              "failed"};
    static const char *const base_name_[] = {NULL, "new", "known", "grew"};
    fprintf(out, "{\"version\":1,\"tool\":\"leakgraph\",\"command\":\"%s\",\"verdict\":\"%s\","
                 "\"exit_code\":%d,\"policy\":",
            o->cmd, cs->failed ? "fail" : "pass", code);
    lg_json_str(out, cs->policy->text);
    fputs(",\"violations\":[", out);
    for (size_t i = 0; i < cs->nviol; i++) {
        if (i) fputc(',', out);
        lg_json_str(out, cs->viol[i].text);
    }
    fputs("],\n\"incomplete\":[", out);
    for (size_t ti = 0, k = 0; ti < ls->ntraces; ti++) {
        if (!lg_ci_gap(cs, ti)) continue;
        fprintf(out, "%s{\"pid\":%d,\"trace\":", k++ ? "," : "", ls->traces[ti].pid);
        lg_json_str(out, ls->traces[ti].path);
        fputs(",\"reason\":", out);
        lg_json_str(out, lg_ci_gap(cs, ti));
        fputc('}', out);
    }
    fprintf(out, "],\"allow_incomplete\":%s,\n\"program\":", cs->gaps_allowed ? "true" : "false");
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
                     "\"failed_records\":%" PRIu64 ",\"verdict\":\"%s\",\"incomplete\":",
                t->signal, lg_end_reason_name(t->end_reason), t->complete ? "true" : "false",
                ls->procs[ti].snap ? "true" : "false", nf, nf ? "fail" : "pass");
        lg_json_str(out, lg_ci_gap(cs, ti));
        fputc('}', out);
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
        lg_json_str(out, r->status == LG_REC_SUPPRESSED ? o->supp->rules[r->rule].name : NULL);
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
    for (size_t i = 0; i < o->supp->nrules; i++) {
        const lg_supp_rule_t *r = &o->supp->rules[i];
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
    if (o->base) {
        uint64_t n[4] = {0};
        for (size_t i = 0; i < cs->nrecs; i++) n[cs->recs[i].base]++;
        fputs("{\"file\":", out);
        lg_json_str(out, o->baseline_path);
        fprintf(out, ",\"new\":%" PRIu64 ",\"known\":%" PRIu64 ",\"grew\":%" PRIu64 ",\"unseen\":[",
                n[LG_BASE_NEW], n[LG_BASE_KNOWN], n[LG_BASE_GREW]);
        bool first = true;
        for (size_t i = 0; i < o->base->n; i++) {
            const lg_base_entry_t *e = &o->base->e[i];
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
