/* SARIF 2.1.0 (OASIS) output of a CI verdict (see sarif.h; the mapping is in docs/ci.md).
 * tests/ci validates it against the official 2.1.0 JSON schema. It only prints.
 *
 *   result.ruleId        "leak/KIND"; result.level: error (fails the verdict), warning
 *                        (tolerated by the policy's limits), note (hidden or known)
 *   result.locations[0]  the first frame in the user's own code with a source file
 *   result.codeFlows     the allocation stack, outermost call first (as code flows read)
 *   result.stacks        the same stack innermost first, with modules and addresses
 *   result.suppressions  the rule that hid it; result.baselineState against a baseline
 *   partialFingerprints  "leakgraph/v1": the fingerprint of baseline.h
 *   invocations[0]       exitCode; executionSuccessful false unless the exit is 0 or 1; one
 *                        toolExecutionNotifications entry per trace not seen whole
 *                        (ci/complete.h), described by the driver's notification
 *                        "leakgraph/incomplete-trace" */
#define _GNU_SOURCE
#include "sarif.h"
#include "complete.h"
#include "path.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

/* A URI for a file: relative to the source root when under it, else file:///abs/path. Bytes
 * outside RFC 3986's unreserved set and '/' are percent-encoded. */
static void uri_chars(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p))
            fputc(*p, out);
        else
            fprintf(out, "%%%02X", *p);
    }
}

static void artifact(FILE *out, const char *file, const char *root)
{
    size_t rl = root ? strlen(root) : 0;
    while (rl > 1 && root[rl - 1] == '/') rl--;
    fputs("{\"uri\":\"", out);
    if (root && file[0] == '/' && strncmp(file, root, rl) == 0 && file[rl] == '/') {
        uri_chars(out, file + rl + 1);
        fputs("\",\"uriBaseId\":\"SRCROOT\"}", out);
        return;
    }
    if (file[0] == '/') fputs("file://", out);
    uri_chars(out, file);
    fputs("\"}", out);
}

static void frame_text(FILE *out, const lg_frame_t *f)
{
    const char *file = f->file ? lg_basename(f->file) : NULL;
    fputc('"', out);
    lg_json_inner(out, f->function ? f->function : "???");
    if (file && f->line) {
        fputs(" (", out);
        lg_json_inner(out, file);
        fprintf(out, ":%d)", f->line);
    } else if (f->module) {
        fputs(" (in ", out);
        lg_json_inner(out, lg_basename(f->module));
        fputc(')', out);
    }
    fputc('"', out);
}

/* A SARIF location for a frame: physical when the file is known, logical (the function)
 * otherwise; with a message naming the frame. */
static void location(FILE *out, const lg_frame_t *f, const char *root)
{
    fputc('{', out);
    if (f->file) {
        fputs("\"physicalLocation\":{\"artifactLocation\":", out);
        artifact(out, f->file, root);
        if (f->line > 0) fprintf(out, ",\"region\":{\"startLine\":%d}", f->line);
        fputs("},", out);
    }
    if (f->function) {
        fputs("\"logicalLocations\":[{\"name\":", out);
        lg_json_str(out, f->function);
        fputs(",\"kind\":\"function\"}],", out);
    }
    fputs("\"message\":{\"text\":", out);
    frame_text(out, f);
    fputs("}}", out);
}

static const char *const kind_title[LG_KIND_COUNT] = {
    [LG_KIND_UNFREED] = "Unfreed at exit",     [LG_KIND_REACHABLE] = "Still reachable",
    [LG_KIND_POSSIBLE] = "Possibly lost",      [LG_KIND_INDIRECT] = "Indirectly lost",
    [LG_KIND_DEFINITE] = "Definitely lost",    [LG_KIND_CYCLE] = "Unreachable cycle",
    [LG_KIND_REFCOUNT] = "Reference count leak",
};
static const char *const kind_rule_name[LG_KIND_COUNT] = {
    [LG_KIND_UNFREED] = "UnfreedAtExit",  [LG_KIND_REACHABLE] = "StillReachable",
    [LG_KIND_POSSIBLE] = "PossiblyLost",  [LG_KIND_INDIRECT] = "IndirectlyLost",
    [LG_KIND_DEFINITE] = "DefinitelyLost", [LG_KIND_CYCLE] = "UnreachableCycle",
    [LG_KIND_REFCOUNT] = "RefcountLeak",
};
static const char *const kind_help[LG_KIND_COUNT] = {
    [LG_KIND_UNFREED] = "Memory still allocated when the process ended (the trace has no leak "
                        "check to classify it).",
    [LG_KIND_REACHABLE] = "Memory still allocated at exit that a root still points to.",
    [LG_KIND_POSSIBLE] = "Memory reached only through pointers into its interior.",
    [LG_KIND_INDIRECT] = "Memory reached only from definitely lost blocks.",
    [LG_KIND_DEFINITE] = "Memory no pointer refers to: the program lost it.",
    [LG_KIND_CYCLE] = "Blocks that point to each other and that nothing reachable points to.",
    [LG_KIND_REFCOUNT] = "An object whose reference count never reached zero.",
};

/* The notification descriptor of a trace not seen whole (ci/complete.h). */
#define INCOMPLETE_ID "leakgraph/incomplete-trace"

/* invocations[0].toolExecutionNotifications: one per trace not seen whole, an error unless
 * --allow-incomplete accepted it (then a warning), located at the trace file. */
static void gap_notifications(FILE *out, const lg_ci_set_t *cs)
{
    if (!cs->ngaps) return;
    fputs(",\"toolExecutionNotifications\":[", out);
    for (size_t ti = 0, k = 0; ti < cs->ls->ntraces; ti++) {
        const char *gap = lg_ci_gap(cs, ti);
        const lg_trace_t *t = &cs->ls->traces[ti];
        if (!gap) continue;
        char msg[1400];
        snprintf(msg, sizeof msg, "%s (pid %d): %s", t->path, t->pid, gap);
        fprintf(out, "%s{\"level\":\"%s\",\"message\":{\"text\":", k++ ? "," : "",
                cs->gaps_allowed ? "warning" : "error");
        lg_json_str(out, msg);
        fputs("},\"descriptor\":{\"id\":\"" INCOMPLETE_ID "\",\"index\":0},\"locations\":"
              "[{\"physicalLocation\":{\"artifactLocation\":",
              out);
        artifact(out, t->path, NULL);
        fprintf(out, "}}],\"properties\":{\"pid\":%d,\"trace\":", t->pid);
        lg_json_str(out, t->path);
        fputs(",\"reason\":", out);
        lg_json_str(out, gap);
        fputs("}}", out);
    }
    fputc(']', out);
}

static bool reported(const lg_ci_rec_t *r)
{
    return r->status != LG_REC_IGNORED;
}

void lg_sarif_write(FILE *out, const lg_ci_set_t *cs, const lg_sarif_opts_t *o)
{
    const lg_leakset_t *ls = cs->ls;
    int rule_index[LG_KIND_COUNT], nrules = 0;
    char b1[32], b2[32], b3[32];
    for (int k = 0; k < LG_KIND_COUNT; k++) rule_index[k] = -1;
    for (size_t i = 0; i < cs->nrecs; i++)
        if (reported(&cs->recs[i]) && rule_index[cs->recs[i].leak->kind] < 0)
            rule_index[cs->recs[i].leak->kind] = 0;
    fputs("{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
          "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"leakgraph\",\"version\":",
          out);
    lg_json_str(out, o->version);
    fputs(",\"rules\":[", out);
    for (int k = 0; k < LG_KIND_COUNT; k++) {
        if (rule_index[k] < 0) continue;
        rule_index[k] = nrules;
        fprintf(out, "%s\n {\"id\":\"leak/%s\",\"name\":\"%s\",\"shortDescription\":{\"text\":\"%s\"},"
                     "\"fullDescription\":{\"text\":\"%s\"},\"defaultConfiguration\":{\"level\":\"%s\"}}",
                nrules ? "," : "", lg_kind_name(k), kind_rule_name[k], kind_title[k], kind_help[k],
                cs->policy->fail[k] ? "error" : "note");
        nrules++;
    }
    fputs("]", out);
    if (cs->ngaps)
        fputs(",\"notifications\":[{\"id\":\"" INCOMPLETE_ID "\",\"name\":\"IncompleteTrace\","
              "\"shortDescription\":{\"text\":\"A trace was not seen whole\"},\"fullDescription\":"
              "{\"text\":\"The trace is cut or damaged, its shim lost events, or its process has no "
              "final leak check: its blocks were not all checked.\"}}]",
              out);
    fputs("}},", out);
    if (o->source_root) {
        fputs("\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":\"file://", out);
        uri_chars(out, o->source_root);
        size_t rl = strlen(o->source_root);
        if (!rl || o->source_root[rl - 1] != '/') fputc('/', out);
        fputs("\"}},", out);
    }
    fprintf(out, "\"invocations\":[{\"executionSuccessful\":%s,\"exitCode\":%d",
            o->exit_code == LG_EXIT_PASS || o->exit_code == LG_EXIT_LEAKS ? "true" : "false",
            o->exit_code);
    gap_notifications(out, cs);
    fputs("}],", out);
    fputs("\"results\":[", out);
    bool first = true;
    for (size_t i = 0; i < cs->nrecs; i++) {
        const lg_ci_rec_t *r = &cs->recs[i];
        if (!reported(r)) continue;
        const lg_leak_t *l = r->leak;
        const lg_trace_t *t = &ls->traces[l->trace];
        const lg_frame_t *at = lg_ci_location(r);
        const char *level = r->status == LG_REC_FAILED      ? "error"
                            : r->status == LG_REC_TOLERATED ? "warning"
                                                            : "note";
        fprintf(out, "%s\n {\"ruleId\":\"leak/%s\",\"ruleIndex\":%d,\"level\":\"%s\",", first ? "" : ",",
                lg_kind_name(l->kind), rule_index[l->kind], level);
        first = false;
        /* message */
        char msg[512];
        int n;
        if (l->kind == LG_KIND_CYCLE)
            n = snprintf(msg, sizeof msg, "%s bytes in %s blocks form an unreachable cycle, keeping "
                                          "%s more bytes alive",
                         lg_thousands(l->bytes, b1), lg_thousands(l->blocks, b2),
                         lg_thousands(l->indirect_bytes, b3));
        else if (l->indirect_bytes)
            n = snprintf(msg, sizeof msg, "%s (%s direct, %s indirect) bytes in %s blocks are %s",
                         lg_thousands(l->bytes + l->indirect_bytes, b1), lg_thousands(l->bytes, b2),
                         lg_thousands(l->indirect_bytes, b3), lg_thousands(l->blocks, b3),
                         kind_title[l->kind]);
        else
            n = snprintf(msg, sizeof msg, "%s bytes in %s blocks: %s", lg_thousands(l->bytes, b1),
                         lg_thousands(l->blocks, b2), kind_title[l->kind]);
        if (n > 0 && (size_t)n < sizeof msg)
            snprintf(msg + n, sizeof msg - (size_t)n, " (allocated by %s%s%s in process %d)",
                     lg_fn_name(l->fn), at && at->function ? " in " : "",
                     at && at->function ? at->function : "", t->pid);
        fputs("\"message\":{\"text\":", out);
        lg_json_str(out, msg);
        fputs("},", out);
        if (at) {
            fputs("\"locations\":[", out);
            location(out, at, o->source_root);
            fputs("],", out);
        }
        if (r->nframes > 0) {
            fputs("\"codeFlows\":[{\"message\":{\"text\":\"allocation stack\"},\"threadFlows\":[{\"locations\":[", out);
            for (long k = r->nframes - 1, step = 0; k >= 0; k--, step++) {
                fprintf(out, "%s{\"location\":", step ? "," : "");
                location(out, &r->frames[k], o->source_root);
                fprintf(out, ",\"nestingLevel\":%ld,\"executionOrder\":%ld}", step, step + 1);
            }
            fputs("]}]}],\"stacks\":[{\"message\":{\"text\":\"allocated by ", out);
            fputs(lg_fn_name(l->fn), out);
            fputs("\"},\"frames\":[", out);
            for (long k = 0; k < r->nframes; k++) {
                const lg_frame_t *f = &r->frames[k];
                fputs(k ? ",{\"location\":" : "{\"location\":", out);
                location(out, f, o->source_root);
                if (f->module) {
                    fputs(",\"module\":", out);
                    lg_json_str(out, f->module);
                }
                fprintf(out, ",\"properties\":{\"address\":\"0x%" PRIx64 "\",\"offset\":\"0x%" PRIx64
                             "\",\"inlined\":%s}}",
                        f->address, f->offset, f->inlined ? "true" : "false");
            }
            fputs("]}],", out);
        }
        if (r->status == LG_REC_SUPPRESSED) {
            fputs("\"suppressions\":[{\"kind\":\"external\",\"status\":\"accepted\",\"justification\":", out);
            if (o->supp && r->rule >= 0 && (size_t)r->rule < o->supp->nrules) {
                char j[512];
                snprintf(j, sizeof j, "suppression rule '%s' (%s)", o->supp->rules[r->rule].name,
                         o->supp->rules[r->rule].where);
                lg_json_str(out, j);
            } else {
                lg_json_str(out, "suppression rule");
            }
            fputs("}],", out);
        }
        if (r->base != LG_BASE_NONE)
            fprintf(out, "\"baselineState\":\"%s\",",
                    r->base == LG_BASE_NEW ? "new" : r->base == LG_BASE_KNOWN ? "unchanged" : "updated");
        fprintf(out, "\"partialFingerprints\":{\"leakgraph/v1\":\"%016" PRIx64 "\"},", r->fp);
        fprintf(out, "\"properties\":{\"kind\":\"%s\",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64
                     ",\"pid\":%d,\"allocator\":\"%s\",\"signature\":",
                lg_kind_name(l->kind), l->bytes, l->blocks, t->pid, lg_fn_name(l->fn));
        lg_json_str(out, r->sig);
        fputs("}}", out);
    }
    fputs("]}]}\n", out);
}
