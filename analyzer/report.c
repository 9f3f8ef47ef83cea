/* `leakgraph report`: prints a leak set (leaks.c) as text, in Memcheck's familiar layout, or
 * as JSON (the contract in docs/report-json.md: extend it, never change it). It only formats:
 * grouping and classification are done when the set is built. */
#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- text ------------------------------------------------------------------------------ */
static const char *thousands(uint64_t v, char *buf)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void text_frames(FILE *out, int pid, const char *indent, lg_leakset_t *ls, size_t ti,
                        uint32_t stack, uint64_t seq, int max_frames)
{
    lg_frame_t *fr;
    long n = lg_leakset_frames(ls, ti, stack, seq, max_frames, &fr);
    if (n <= 0) fprintf(out, "==%d== %s(no allocation stack recorded)\n", pid, indent);
    for (long k = 0; k < n; k++) {
        const lg_frame_t *f = &fr[k];
        fprintf(out, "==%d== %s%s 0x%" PRIX64 ": %s", pid, indent, k == 0 ? "at" : "by",
                f->address, f->function ? f->function : "???");
        if (f->file && f->line)
            fprintf(out, " (%s:%d)", base_name(f->file), f->line);
        else if (f->module)
            fprintf(out, " (in %s)", f->module);
        fputc('\n', out);
    }
    free(fr);
}

static const char *kind_phrase(int kind)
{
    switch (kind) {
    case LG_KIND_DEFINITE: return "definitely lost";
    case LG_KIND_INDIRECT: return "indirectly lost";
    case LG_KIND_POSSIBLE: return "possibly lost";
    case LG_KIND_REACHABLE: return "still reachable";
    default: return "unfreed at exit";
    }
}

static const char *snap_reason(uint32_t r)
{
    switch (r) {
    case 1: return "exit";
    case 2: return "lg_check_now";
    case 3: return "signal";
    case 4: return "fatal-signal";
    default: return "unknown";
    }
}

static void text_header(FILE *out, const lg_trace_t *t, const lg_snapshot_t *S)
{
    int pid = t->pid;
    fprintf(out, "==%d== leakgraph: ", pid);
    for (int i = 0; i < t->argc; i++) fprintf(out, "%s%s", i ? " " : "", t->argv[i]);
    if (t->argc == 0 && t->exe) fputs(t->exe, out);
    fprintf(out, " (pid %d", pid);
    if (t->parent_pid) fprintf(out, ", forked from %d", t->parent_pid);
    fprintf(out, ")\n==%d== ", pid);
    switch (t->end_reason) {
    case LG_END_EXIT: fprintf(out, "exited with status %d", t->exit_status); break;
    case LG_END_SIGNAL: fprintf(out, "killed by signal %d", t->signal); break;
    case LG_END_EXEC: fputs("replaced by exec", out); break;
    default: fputs("end not recorded", out); break;
    }
    fprintf(out, "; %" PRIu64 " events\n", t->nevents);
    if (S)
        fprintf(out, "==%d== %s check %u: %zu blocks, %u thread%s stopped, %.1f ms\n", pid,
                snap_reason(S->reason), S->id, S->nblocks, S->threads, S->threads == 1 ? "" : "s",
                (double)S->ns / 1e6);
    else
        fprintf(out, "==%d== no leak check in this trace: showing every block still allocated\n",
                pid);
    if (!t->complete)
        fprintf(out, "==%d== WARNING: the trace is incomplete: %s\n", pid,
                t->problem ? t->problem : "unknown reason");
    fprintf(out, "==%d==\n", pid);
}

static void text_cycle(FILE *out, int pid, lg_leakset_t *ls, const lg_cycle_rec_t *cy, size_t k,
                       size_t n, int max_frames)
{
    char b1[32], b2[32];
    fprintf(out, "==%d== %s bytes in %zu blocks form an unreachable cycle (cycle %zu of %zu), "
                 "keeping %s bytes in %" PRIu64 " more blocks alive\n",
            pid, thousands(cy->bytes, b1), cy->nmembers, k, n, thousands(cy->keeps_bytes, b2),
            cy->keeps_blocks);
    for (size_t m = 0; m < cy->nmembers; m++) {
        const lg_cycle_member_t *mb = &cy->members[m];
        fprintf(out, "==%d==    #%zu: 0x%" PRIx64 ", %s bytes, %s, allocated\n", pid, m + 1, mb->addr,
                thousands(mb->size, b1), kind_phrase(mb->kind));
        text_frames(out, pid, "      ", ls, cy->trace, mb->stack, mb->seq, max_frames);
    }
    fprintf(out, "==%d==    pointers:", pid);
    for (size_t e = 0; e < cy->nedges; e++) {
        const lg_cycle_edge_t *ed = &cy->edges[e];
        fprintf(out, "%s #%u+%u -> #%u", e ? "," : "", ed->from + 1, ed->from_off, ed->to + 1);
        if (ed->to_off) fprintf(out, "+%u", ed->to_off);
    }
    fprintf(out, "\n==%d==\n", pid);
}

static void text_trace(FILE *out, lg_leakset_t *ls, size_t ti, const lg_report_opts_t *o)
{
    const lg_trace_t *t = &ls->traces[ti];
    const lg_proc_t *p = &ls->procs[ti];
    int pid = t->pid;
    char b1[32], b2[32], b3[32], b4[32];
    text_header(out, t, p->snap);
    size_t nrec = 0, k = 0, ncy = 0, kcy = 0;
    for (size_t i = 0; i < ls->nleaks; i++) {
        const lg_leak_t *l = &ls->leaks[i];
        if (l->trace != ti) continue;
        if (l->kind == LG_KIND_CYCLE) ncy++;
        else if (l->kind != LG_KIND_REACHABLE || o->show_reachable) nrec++;
    }
    for (size_t i = 0; i < ls->nleaks; i++) {
        const lg_leak_t *l = &ls->leaks[i];
        if (l->trace != ti || l->kind == LG_KIND_CYCLE) continue;
        if (l->kind == LG_KIND_REACHABLE && !o->show_reachable) continue;
        if (l->indirect_bytes)
            fprintf(out, "==%d== %s (%s direct, %s indirect) bytes in %s blocks are %s in loss "
                         "record %zu of %zu\n",
                    pid, thousands(l->bytes + l->indirect_bytes, b1), thousands(l->bytes, b2),
                    thousands(l->indirect_bytes, b3), thousands(l->blocks, b4),
                    kind_phrase(l->kind), ++k, nrec);
        else
            fprintf(out, "==%d== %s bytes in %s blocks are %s in loss record %zu of %zu\n", pid,
                    thousands(l->bytes, b1), thousands(l->blocks, b2), kind_phrase(l->kind), ++k,
                    nrec);
        fprintf(out, "==%d==    allocated by %s\n", pid, lg_fn_name(l->fn));
        text_frames(out, pid, "   ", ls, ti, l->stack, l->seq, o->max_frames);
        fprintf(out, "==%d==\n", pid);
    }
    for (size_t i = 0; i < ls->nleaks; i++) {
        const lg_leak_t *l = &ls->leaks[i];
        if (l->trace == ti && l->kind == LG_KIND_CYCLE)
            text_cycle(out, pid, ls, &ls->cycles[l->cycle], ++kcy, ncy, o->max_frames);
    }
    const lg_totals_t *tt = &p->totals;
    if (p->snap) {
        fprintf(out, "==%d== LEAK SUMMARY:\n", pid);
        static const int order[] = {LG_KIND_DEFINITE, LG_KIND_INDIRECT, LG_KIND_POSSIBLE,
                                    LG_KIND_REACHABLE};
        static const char *const label[] = {"definitely lost", "indirectly lost",
                                            "  possibly lost", "still reachable"};
        for (int i = 0; i < 4; i++)
            fprintf(out, "==%d==    %s: %s bytes in %s blocks\n", pid, label[i],
                    thousands(tt->bytes[order[i]], b1), thousands(tt->blocks[order[i]], b2));
        fprintf(out, "==%d==             cycles: %" PRIu64 " (%s bytes in %s blocks)\n", pid,
                tt->cycles, thousands(tt->cycle_bytes, b1), thousands(tt->cycle_blocks, b2));
        if (!o->show_reachable && tt->blocks[LG_KIND_REACHABLE])
            fprintf(out, "==%d== Reachable blocks (those to which a pointer was found) are not "
                         "shown.\n==%d== To see them, add --show-reachable\n",
                    pid, pid);
    } else {
        fprintf(out, "==%d== SUMMARY:\n==%d==    unfreed at exit: %s bytes in %s blocks\n", pid,
                pid, thousands(tt->live_bytes, b1), thousands(tt->live_blocks, b2));
    }
}

/* ---- JSON ------------------------------------------------------------------------------ */
static void json_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (*p < 0x20) fprintf(out, "\\u%04x", *p);
            else fputc(*p, out);
        }
    }
    fputc('"', out);
}

static void json_program(FILE *out, const lg_trace_t *t, const lg_snapshot_t *S)
{
    fputs("{\"path\":", out);
    json_str(out, t->exe);
    fputs(",\"argv\":[", out);
    for (int i = 0; i < t->argc; i++) {
        if (i) fputc(',', out);
        json_str(out, t->argv[i]);
    }
    fprintf(out, "],\"pid\":%d,\"ppid\":%d,\"parent_pid\":%d", t->pid, t->ppid, t->parent_pid);
    if (t->end_reason == LG_END_EXIT)
        fprintf(out, ",\"exit_status\":%d", t->exit_status);
    else
        fputs(",\"exit_status\":null", out);
    fprintf(out, ",\"signal\":%d,\"end\":\"%s\",\"complete\":%s,\"problem\":", t->signal,
            lg_end_reason_name(t->end_reason), t->complete ? "true" : "false");
    json_str(out, t->problem);
    fputs(",\"trace\":", out);
    json_str(out, t->path);
    fprintf(out, ",\"events\":%" PRIu64 ",\"check\":", t->nevents);
    if (S)
        fprintf(out, "{\"id\":%u,\"reason\":\"%s\",\"blocks\":%zu,\"threads\":%u,\"scanned\":%" PRIu64
                     ",\"ns\":%" PRIu64 "}",
                S->id, snap_reason(S->reason), S->nblocks,
                S->threads, S->scanned, S->ns);
    else
        fputs("null", out);
    fputc('}', out);
}

static void json_frames(FILE *out, lg_leakset_t *ls, size_t ti, uint32_t stack, uint64_t seq,
                        int max_frames)
{
    lg_frame_t *fr;
    long n = lg_leakset_frames(ls, ti, stack, seq, max_frames, &fr);
    fputc('[', out);
    for (long k = 0; k < n; k++) {
        const lg_frame_t *f = &fr[k];
        if (k) fputc(',', out);
        fputs("{\"function\":", out);
        json_str(out, f->function);
        fputs(",\"file\":", out);
        json_str(out, f->file);
        fprintf(out, ",\"line\":%d,\"module\":", f->line);
        json_str(out, f->module);
        fprintf(out, ",\"address\":\"0x%" PRIx64 "\",\"offset\":\"0x%" PRIx64 "\",\"inlined\":%s}",
                f->address, f->offset, f->inlined ? "true" : "false");
    }
    fputc(']', out);
    free(fr);
}

static void json_summary(FILE *out, const lg_totals_t *t, bool classified)
{
    fprintf(out, "{\"unfreed\":{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}", t->live_bytes,
            t->live_blocks);
    if (classified) {
        static const int kinds[] = {LG_KIND_DEFINITE, LG_KIND_INDIRECT, LG_KIND_POSSIBLE,
                                    LG_KIND_REACHABLE};
        for (int i = 0; i < 4; i++)
            fprintf(out, ",\"%s\":{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}",
                    lg_kind_name(kinds[i]), t->bytes[kinds[i]], t->blocks[kinds[i]]);
        fprintf(out, ",\"cycles\":{\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}",
                t->cycles, t->cycle_bytes, t->cycle_blocks);
    }
    fputc('}', out);
}

static void json_report(FILE *out, lg_leakset_t *ls, const lg_report_opts_t *o)
{
    bool classified = false;
    for (size_t i = 0; i < ls->ntraces; i++) classified |= ls->procs[i].snap != NULL;
    fputs("{\"version\":1,\"program\":", out);
    json_program(out, &ls->traces[0], ls->procs[0].snap);
    fputs(",\"leaks\":[", out);
    bool first = true;
    for (size_t i = 0; i < ls->nleaks; i++) {
        const lg_leak_t *l = &ls->leaks[i];
        fputs(first ? "\n  " : ",\n  ", out);
        first = false;
        fprintf(out, "{\"kind\":\"%s\",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64, lg_kind_name(l->kind),
                l->bytes, l->blocks);
        if (l->kind == LG_KIND_DEFINITE)
            fprintf(out, ",\"indirect_bytes\":%" PRIu64 ",\"indirect_blocks\":%" PRIu64,
                    l->indirect_bytes, l->indirect_blocks);
        if (l->kind == LG_KIND_CYCLE)
            fprintf(out, ",\"cycle\":%zu,\"keeps_bytes\":%" PRIu64 ",\"keeps_blocks\":%" PRIu64,
                    l->cycle, l->indirect_bytes, l->indirect_blocks);
        if (ls->ntraces > 1) fprintf(out, ",\"pid\":%d", ls->traces[l->trace].pid);
        fprintf(out, ",\"allocator\":\"%s\",\"stack\":", lg_fn_name(l->fn));
        json_frames(out, ls, l->trace, l->stack, l->seq, o->max_frames);
        fputc('}', out);
    }
    fputs("],\n\"summary\":", out);
    json_summary(out, &ls->totals, classified);
    fputs(",\n\"cycles\":[", out);
    for (size_t c = 0; c < ls->ncycles; c++) {
        const lg_cycle_rec_t *cy = &ls->cycles[c];
        fprintf(out, "%s\n  {\"pid\":%d,\"bytes\":%" PRIu64 ",\"blocks\":%zu,\"keeps\":{\"bytes\":%" PRIu64
                     ",\"blocks\":%" PRIu64 "},\"members\":[",
                c ? "," : "", ls->traces[cy->trace].pid, cy->bytes, cy->nmembers, cy->keeps_bytes,
                cy->keeps_blocks);
        for (size_t m = 0; m < cy->nmembers; m++) {
            const lg_cycle_member_t *mb = &cy->members[m];
            fprintf(out, "%s{\"address\":\"0x%" PRIx64 "\",\"size\":%" PRIu64 ",\"kind\":\"%s\",\"allocator\":\"%s\",\"stack\":",
                    m ? "," : "", mb->addr, mb->size, lg_kind_name(mb->kind), lg_fn_name(mb->fn));
            json_frames(out, ls, cy->trace, mb->stack, mb->seq, o->max_frames);
            fputc('}', out);
        }
        fputs("],\"edges\":[", out);
        for (size_t e = 0; e < cy->nedges; e++)
            fprintf(out, "%s{\"from\":%u,\"from_offset\":%u,\"to\":%u,\"to_offset\":%u}", e ? "," : "",
                    cy->edges[e].from, cy->edges[e].from_off, cy->edges[e].to, cy->edges[e].to_off);
        fputs("]}", out);
    }
    fputs("],\n\"processes\":[", out);
    for (size_t i = 0; i < ls->ntraces; i++) {
        fputs(i ? ",\n  {\"program\":" : "\n  {\"program\":", out);
        json_program(out, &ls->traces[i], ls->procs[i].snap);
        fputs(",\"summary\":", out);
        json_summary(out, &ls->procs[i].totals, ls->procs[i].snap != NULL);
        fputc('}', out);
    }
    fputs("]}\n", out);
}

int lg_report(FILE *out, lg_leakset_t *ls, const lg_report_opts_t *o)
{
    if (ls->ntraces == 0) return -EINVAL;
    if (o->format == LG_FORMAT_JSON) {
        json_report(out, ls, o);
        return 0;
    }
    for (size_t i = 0; i < ls->ntraces; i++) {
        if (i) fputc('\n', out);
        text_trace(out, ls, i, o);
    }
    return 0;
}
