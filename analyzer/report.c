/* `leakgraph report`: groups the blocks live at the end of each trace by allocation stack,
 * symbolizes the stacks, and prints them as text (Memcheck's familiar layout) or as JSON (the
 * contract documented in docs/report-json.md: extend it, never change it). It reads loaded
 * traces only; it does not touch trace files. */
#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize.h"

typedef struct lg_record {
    uint32_t stack;
    uint8_t fn;
    uint64_t bytes, blocks, seq;
} lg_record_t;

static int cmp_block_stack(const void *a, const void *b)
{
    const lg_block_t *x = a, *y = b;
    if (x->stack != y->stack) return x->stack < y->stack ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_record(const void *a, const void *b)
{
    const lg_record_t *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    if (x->blocks != y->blocks) return x->blocks > y->blocks ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Groups t->live by stack (sorting t->live as a side effect). */
static lg_record_t *group_records(lg_trace_t *t, size_t *n)
{
    if (t->nlive > 1) qsort(t->live, t->nlive, sizeof *t->live, cmp_block_stack);
    lg_record_t *r = malloc((t->nlive ? t->nlive : 1) * sizeof *r);
    size_t k = 0;
    if (!r) return NULL;
    for (size_t i = 0; i < t->nlive; i++) {
        const lg_block_t *b = &t->live[i];
        if (k == 0 || r[k - 1].stack != b->stack)
            r[k++] = (lg_record_t){b->stack, b->fn, 0, 0, b->seq};
        r[k - 1].bytes += b->size;
        r[k - 1].blocks++;
    }
    if (k > 1) qsort(r, k, sizeof *r, cmp_record);
    *n = k;
    return r;
}

/* ---- symbolized frames ----------------------------------------------------------------- */
typedef struct frames {
    lg_frame_t *v;
    size_t n, cap;
} frames_t;

/* Symbolizes the stack of a record into fr (inlined frames expanded). */
static int symbolize_stack(lg_symbolizer_t *sym, const lg_trace_t *t, const lg_record_t *rec,
                           int max_frames, frames_t *fr)
{
    const lg_stack_t *s = &t->stacks[rec->stack];
    fr->n = 0;
    for (uint32_t i = 0; i < s->depth && (max_frames <= 0 || (int)i < max_frames); i++) {
        lg_frame_t tmp[16];
        int mi = lg_trace_module_at(t, s->ips[i], rec->seq);
        int n = sym ? lg_sym_lookup(sym, mi, s->ips[i], true, tmp, 16) : -1;
        if (n <= 0) {
            tmp[0] = (lg_frame_t){.address = s->ips[i], .offset = s->ips[i]};
            if (mi >= 0) tmp[0].module = t->mods[mi].path;
            n = 1;
        }
        if (fr->n + (size_t)n > fr->cap) {
            size_t cap = fr->cap ? fr->cap * 2 : 64;
            while (cap < fr->n + (size_t)n) cap *= 2;
            lg_frame_t *v = realloc(fr->v, cap * sizeof *v);
            if (!v) return -ENOMEM;
            fr->v = v;
            fr->cap = cap;
        }
        memcpy(fr->v + fr->n, tmp, (size_t)n * sizeof *tmp);
        fr->n += (size_t)n;
    }
    return 0;
}

static lg_symbolizer_t *make_symbolizer(const lg_trace_t *t)
{
    lg_symbolizer_t *sym = lg_sym_new();
    if (!sym) return NULL;
    for (size_t i = 0; i < t->nmods; i++) {
        const lg_module_info_t *m = &t->mods[i];
        if (lg_sym_add_module(sym, m->path, m->bias, m->start, m->end, m->build_id,
                              m->build_id_len) != (int)i) {
            lg_sym_free(sym);
            return NULL;
        }
    }
    return sym;
}

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

static void text_frame(FILE *out, int pid, bool first, const lg_frame_t *f)
{
    fprintf(out, "==%d==    %s 0x%" PRIX64 ": ", pid, first ? "at" : "by", f->address);
    fputs(f->function ? f->function : "???", out);
    if (f->file && f->line)
        fprintf(out, " (%s:%d)", base_name(f->file), f->line);
    else if (f->module)
        fprintf(out, " (in %s)", f->module);
    fputc('\n', out);
}

static void text_header(FILE *out, const lg_trace_t *t)
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
    if (!t->complete)
        fprintf(out, "==%d== WARNING: the trace is incomplete: %s\n", pid,
                t->problem ? t->problem : "unknown reason");
    fprintf(out, "==%d==\n", pid);
}

static int text_trace(FILE *out, lg_trace_t *t, const lg_report_opts_t *o)
{
    size_t nrec;
    lg_record_t *rec = group_records(t, &nrec);
    if (!rec) return -ENOMEM;
    lg_symbolizer_t *sym = make_symbolizer(t);
    frames_t fr = {0};
    char b1[32], b2[32];
    uint64_t bytes = 0, blocks = 0;
    text_header(out, t);
    for (size_t i = 0; i < nrec; i++) {
        bytes += rec[i].bytes;
        blocks += rec[i].blocks;
        fprintf(out, "==%d== %s bytes in %s blocks are unfreed at exit in loss record %zu of %zu\n",
                t->pid, thousands(rec[i].bytes, b1), thousands(rec[i].blocks, b2), i + 1, nrec);
        fprintf(out, "==%d==    allocated by %s\n", t->pid, lg_fn_name(rec[i].fn));
        if (symbolize_stack(sym, t, &rec[i], o->max_frames, &fr) == 0)
            for (size_t k = 0; k < fr.n; k++) text_frame(out, t->pid, k == 0, &fr.v[k]);
        if (rec[i].stack == 0) fprintf(out, "==%d==    (no stack recorded)\n", t->pid);
        fprintf(out, "==%d==\n", t->pid);
    }
    fprintf(out, "==%d== SUMMARY:\n==%d==    unfreed at exit: %s bytes in %s blocks\n", t->pid,
            t->pid, thousands(bytes, b1), thousands(blocks, b2));
    free(fr.v);
    lg_sym_free(sym);
    free(rec);
    return 0;
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

static void json_program(FILE *out, const lg_trace_t *t)
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
    fprintf(out, ",\"events\":%" PRIu64 "}", t->nevents);
}

static void json_frame(FILE *out, const lg_frame_t *f)
{
    fputs("{\"function\":", out);
    json_str(out, f->function);
    fputs(",\"file\":", out);
    json_str(out, f->file);
    fprintf(out, ",\"line\":%d,\"module\":", f->line);
    json_str(out, f->module);
    fprintf(out, ",\"address\":\"0x%" PRIx64 "\",\"offset\":\"0x%" PRIx64 "\",\"inlined\":%s}",
            f->address, f->offset, f->inlined ? "true" : "false");
}

/* Writes one process object's "summary" and "leaks" members; returns totals through b/k. */
static int json_leaks(FILE *out, lg_trace_t *t, const lg_report_opts_t *o, uint64_t *bytes,
                      uint64_t *blocks, bool with_pid, bool *first)
{
    size_t nrec;
    lg_record_t *rec = group_records(t, &nrec);
    if (!rec) return -ENOMEM;
    lg_symbolizer_t *sym = make_symbolizer(t);
    frames_t fr = {0};
    for (size_t i = 0; i < nrec; i++) {
        *bytes += rec[i].bytes;
        *blocks += rec[i].blocks;
        fputs(*first ? "\n  " : ",\n  ", out);
        *first = false;
        fprintf(out, "{\"kind\":\"unfreed\",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64,
                rec[i].bytes, rec[i].blocks);
        if (with_pid) fprintf(out, ",\"pid\":%d", t->pid);
        fprintf(out, ",\"allocator\":\"%s\",\"stack\":[", lg_fn_name(rec[i].fn));
        if (symbolize_stack(sym, t, &rec[i], o->max_frames, &fr) == 0)
            for (size_t k = 0; k < fr.n; k++) {
                if (k) fputc(',', out);
                json_frame(out, &fr.v[k]);
            }
        fputs("]}", out);
    }
    free(fr.v);
    lg_sym_free(sym);
    free(rec);
    return 0;
}

static void json_summary(FILE *out, uint64_t bytes, uint64_t blocks)
{
    fprintf(out, "{\"unfreed\":{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}}", bytes, blocks);
}

static int json_report(FILE *out, lg_trace_t *ts, size_t n, const lg_report_opts_t *o)
{
    uint64_t bytes = 0, blocks = 0;
    bool first = true;
    fputs("{\"version\":1,\"program\":", out);
    json_program(out, &ts[0]);
    fputs(",\"leaks\":[", out);
    for (size_t i = 0; i < n; i++)
        if (json_leaks(out, &ts[i], o, &bytes, &blocks, n > 1, &first)) return -ENOMEM;
    fputs("],\n\"summary\":", out);
    json_summary(out, bytes, blocks);
    fputs(",\n\"processes\":[", out);
    for (size_t i = 0; i < n; i++) {
        uint64_t pb = 0, pk = 0;
        for (size_t k = 0; k < ts[i].nlive; k++) {
            pb += ts[i].live[k].size;
            pk++;
        }
        fputs(i ? ",\n  {\"program\":" : "\n  {\"program\":", out);
        json_program(out, &ts[i]);
        fputs(",\"summary\":", out);
        json_summary(out, pb, pk);
        fputc('}', out);
    }
    fputs("]}\n", out);
    return 0;
}

int lg_report(FILE *out, lg_trace_t *traces, size_t n, const lg_report_opts_t *o)
{
    if (n == 0) return -EINVAL;
    if (o->format == LG_FORMAT_JSON) return json_report(out, traces, n, o);
    for (size_t i = 0; i < n; i++) {
        if (i) fputc('\n', out);
        int rc = text_trace(out, &traces[i], o);
        if (rc) return rc;
    }
    return 0;
}
