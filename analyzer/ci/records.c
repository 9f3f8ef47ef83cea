/* The CI records of a leak set and their fingerprints (see records.h; the signature and the
 * fingerprint are specified in docs/ci.md).
 *
 * A signature is "KIND|EXE|F1;F2;F3": EXE the base name of the traced executable, each F a
 * frame as function@file (the source file's base name; the module's when there is no line
 * information; '?' for an unknown function), taken innermost first from the frames in the
 * user's own code (lg_frame_is_user), at most LG_FP_FRAMES of them. A stack with no user frame
 * uses its first frames whatever their module. Nothing in it depends on where a module was
 * loaded, on line numbers or on build paths. The fingerprint is the 64-bit FNV-1a hash of the
 * signature; a baseline file keeps both, and is matched by the signature's hash. Baseline files
 * persist fingerprints: lg_fingerprint, sb_frame and lg_frame_is_user must give the same bytes
 * for the same frames in every version. */
#define _GNU_SOURCE
#include "records.h"
#include "hash.h"
#include "path.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* ---- fingerprints ------------------------------------------------------------------------- */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *s)
{
    size_t n = strlen(s);
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->len + n + 1) * 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void sb_frame(sbuf_t *b, const lg_frame_t *f)
{
    sb_add(b, f->function ? f->function : "?");
    sb_add(b, "@");
    if (f->file) sb_add(b, lg_basename(f->file));
    else if (f->module) sb_add(b, lg_basename(f->module));
    else sb_add(b, "?");
}

uint64_t lg_fingerprint(int kind, const char *exe, const lg_frame_t *fr, long n, char **sig)
{
    sbuf_t b = {0};
    sb_add(&b, lg_kind_name(kind));
    sb_add(&b, "|");
    sb_add(&b, lg_basename(exe ? exe : ""));
    sb_add(&b, "|");
    int taken = 0;
    for (long k = 0; k < n && taken < LG_FP_FRAMES; k++) {
        if (!lg_frame_is_user(&fr[k])) continue;
        if (taken++) sb_add(&b, ";");
        sb_frame(&b, &fr[k]);
    }
    for (long k = 0; taken == 0 && k < n && k < LG_FP_FRAMES; k++) {
        if (k) sb_add(&b, ";");
        sb_frame(&b, &fr[k]);
    }
    if (b.len == 0) sb_add(&b, "");
    if (b.oom) {
        free(b.p);
        *sig = NULL;
        return 0;
    }
    /* a signature is one field of a line: no newlines in it */
    for (char *c = b.p; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
    *sig = b.p;
    return lg_fnv1a(b.p);
}

/* ---- records ------------------------------------------------------------------------------ */
bool lg_frame_is_user(const lg_frame_t *f)
{
    if (!f->module) return false;
    const char *b = lg_basename(f->module);
    /* The C and C++ runtimes, the dynamic loader, and leakgraph's own shim: frames there are
     * how an allocation was made, not where the program made it. */
    static const char *const system[] = {"libc.so*", "libc-*.so", "ld-linux*", "ld-*.so*",
                                         "ld64.so*", "libstdc++.so*", "libgcc_s.so*",
                                         "libpthread.so*", "libpthread-*", "libm.so*",
                                         "libdl.so*", "libleakgraph*", "linux-vdso*"};
    for (size_t i = 0; i < sizeof system / sizeof *system; i++)
        if (fnmatch(system[i], b, 0) == 0) return false;
    return true;
}

int lg_ci_build(lg_ci_set_t *cs, lg_leakset_t *ls, const struct lg_policy *p)
{
    memset(cs, 0, sizeof *cs);
    cs->ls = ls;
    cs->policy = p;
    cs->recs = calloc(ls->nleaks ? ls->nleaks : 1, sizeof *cs->recs);
    if (!cs->recs) return -ENOMEM;
    cs->nrecs = ls->nleaks;
    for (size_t i = 0; i < ls->nleaks; i++) {
        lg_ci_rec_t *r = &cs->recs[i];
        const lg_leak_t *l = &ls->leaks[i];
        r->leak = l;
        r->rule = -1;
        r->user = -1;
        long n = lg_leakset_frames(ls, l->trace, l->stack, l->seq, 0, &r->frames);
        if (n < 0) return (int)n;
        r->nframes = n;
        for (long k = 0; k < n; k++)
            if (lg_frame_is_user(&r->frames[k]) && (r->frames[k].function || r->frames[k].file)) {
                r->user = k;
                break;
            }
        const lg_trace_t *t = &ls->traces[l->trace];
        const char *exe = t->exe ? t->exe : t->argc ? t->argv[0] : "";
        r->fp = lg_fingerprint(l->kind, exe, r->frames, n, &r->sig);
        if (!r->sig) return -ENOMEM;
    }
    return 0;
}

void lg_ci_free(lg_ci_set_t *cs)
{
    for (size_t i = 0; cs->recs && i < cs->nrecs; i++) {
        free(cs->recs[i].frames);
        free(cs->recs[i].sig);
    }
    free(cs->recs);
    free(cs->viol);
    for (size_t i = 0; cs->gap && i < cs->ls->ntraces; i++) free(cs->gap[i]);
    free(cs->gap);
    memset(cs, 0, sizeof *cs);
}

const lg_frame_t *lg_ci_location(const lg_ci_rec_t *r)
{
    for (long k = r->user < 0 ? r->nframes : r->user; k < r->nframes; k++)
        if (lg_frame_is_user(&r->frames[k]) && r->frames[k].file && r->frames[k].line > 0)
            return &r->frames[k];
    return r->user >= 0 ? &r->frames[r->user] : NULL;
}
