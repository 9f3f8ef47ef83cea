/* Suppression rules: reading the three formats, matching records, counting what each rule hid,
 * and writing rules for current leaks (see suppress.h; the formats are specified in
 * docs/ci.md). It never decides verdicts.
 *
 * Matching a rule's frame patterns (leakgraph and Valgrind formats) is anchored at the innermost
 * frame: pattern i must match frame i, except that '...' matches zero or more frames; frames
 * below the last pattern are free (as in Valgrind). A pattern names any of function, file and
 * module; each is a glob on the whole string. A file or module glob without '/' is matched
 * against the base name, one with '/' against the full path.
 *
 * Valgrind's stacks begin with the allocator's replacement (fun:malloc, fun:_Znwm in
 * vgpreload_memcheck); leakgraph's begin with its caller. For Valgrind rules the stack is seen
 * as Valgrind shows it: a synthetic allocator frame is put first, unless the innermost frame is
 * already C++'s operator new or new[] (which then also answers to its mangled name).
 *
 * A rule with limits (max-bytes, max-blocks) hides what it matched only while the sum over
 * every record it matched stays within them; past that it hides nothing, so a known leak that
 * grows is reported in full. A record belongs to the first rule (in load order) that matches. */
#define _GNU_SOURCE
#include "suppress.h"
#include "path.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "records.h"
#include "trace.h"

#define VG_PRELOAD "/usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so"
#define VG_MAX_FRAMES 24 /* Valgrind reads at most 24 frame lines per suppression */

/* C++ allocation functions as libstdc++ demangles them, and as Valgrind names them. */
static const char *const cxx_names[][2] = {
    {"operator new(unsigned long)", "_Znwm"},
    {"operator new[](unsigned long)", "_Znam"},
    {"operator new(unsigned long, std::nothrow_t const&)", "_ZnwmRKSt9nothrow_t"},
    {"operator new[](unsigned long, std::nothrow_t const&)", "_ZnamRKSt9nothrow_t"},
    {"operator new(unsigned long, std::align_val_t)", "_ZnwmSt11align_val_t"},
    {"operator new[](unsigned long, std::align_val_t)", "_ZnamSt11align_val_t"},
};

static const char *mangled(const char *fun)
{
    if (!fun) return NULL;
    for (size_t i = 0; i < sizeof cxx_names / sizeof *cxx_names; i++)
        if (strcmp(fun, cxx_names[i][0]) == 0) return cxx_names[i][1];
    return NULL;
}

bool lg_glob(const char *pat, const char *s)
{
    return fnmatch(pat, s, 0) == 0;
}

static bool path_glob(const char *pat, const char *path)
{
    if (!path) return false;
    return lg_glob(pat, strchr(pat, '/') ? path : lg_basename(path));
}

/* ---- matching ----------------------------------------------------------------------------- */
static bool frame_match(const lg_supp_rule_t *r, const lg_frame_pat_t *p, const lg_frame_t *f)
{
    if (p->fun) {
        if (!f->function) return false;
        const char *m = r->origin == LG_SUPP_VALGRIND ? mangled(f->function) : NULL;
        if (!lg_glob(p->fun, f->function) && !(m && lg_glob(p->fun, m))) return false;
    }
    if (p->file && !path_glob(p->file, f->file)) return false;
    if (p->line && f->line != p->line) return false;
    if (p->mod) {
        if (!f->module) return false;
        /* Valgrind's obj: is a glob on the whole path */
        if (r->origin == LG_SUPP_VALGRIND ? !lg_glob(p->mod, f->module) : !path_glob(p->mod, f->module))
            return false;
    }
    return true;
}

static bool pats_match(const lg_supp_rule_t *r, const lg_frame_pat_t *p, size_t np,
                       const lg_frame_t *f, long nf)
{
    if (np == 0) return true;
    if (p->ellipsis) {
        /* f is NULL for a record without frames: no offset is added to it then */
        for (long j = 0; j <= nf; j++)
            if (pats_match(r, p + 1, np - 1, j ? f + j : f, nf - j)) return true;
        return false;
    }
    return nf > 0 && frame_match(r, p, f) && pats_match(r, p + 1, np - 1, f + 1, nf - 1);
}

/* LeakSanitizer's template match: '*' is any run of characters, a leading '^' and a trailing
 * '$' anchor; unanchored patterns match anywhere in the string (a substring). */
static bool lsan_here(const char *p, const char *pend, const char *s, bool anchor_end)
{
    for (; p < pend; p++, s++) {
        if (*p == '*') {
            for (const char *t = s;; t++) {
                if (lsan_here(p + 1, pend, t, anchor_end)) return true;
                if (!*t) return false;
            }
        }
        if (!*s || *s != *p) return false;
    }
    return !anchor_end || !*s;
}

static bool lsan_match(const char *pat, const char *s)
{
    if (!s) return false;
    size_t n = strlen(pat);
    bool a0 = n && pat[0] == '^', a1 = n > (size_t)a0 && pat[n - 1] == '$';
    const char *p = pat + a0, *pend = pat + n - a1;
    if (a0) return lsan_here(p, pend, s, a1);
    for (const char *t = s;; t++) {
        if (lsan_here(p, pend, t, a1)) return true;
        if (!*t) return false;
    }
}

static bool rule_match(const lg_supp_rule_t *r, int kind, int fn, const lg_frame_t *fr, long n)
{
    if (r->kinds) {
        unsigned bits = 1u << kind;
        /* a cycle is made of definitely and indirectly lost blocks: Valgrind's rules for those
         * kinds cover it */
        if (kind == LG_KIND_CYCLE && r->origin == LG_SUPP_VALGRIND)
            bits |= 1u << LG_KIND_DEFINITE | 1u << LG_KIND_INDIRECT;
        if (!(r->kinds & bits)) return false;
    }
    if (r->origin == LG_SUPP_LSAN) {
        for (long k = 0; k < n; k++)
            if (lsan_match(r->lsan, fr[k].function) || lsan_match(r->lsan, fr[k].file) ||
                lsan_match(r->lsan, fr[k].module))
                return true;
        return false;
    }
    if (r->origin == LG_SUPP_VALGRIND && !(n > 0 && mangled(fr[0].function))) {
        /* Valgrind's view: the allocator's replacement first */
        lg_frame_t *v = malloc((size_t)(n + 1) * sizeof *v);
        if (!v) return false;
        v[0] = (lg_frame_t){.function = lg_fn_name(fn), .module = VG_PRELOAD};
        if (n) memcpy(v + 1, fr, (size_t)n * sizeof *fr);
        bool m = pats_match(r, r->pats, r->npats, v, n + 1);
        free(v);
        return m;
    }
    return pats_match(r, r->pats, r->npats, fr, n);
}

int lg_supp_match(const lg_supp_set_t *s, int kind, int fn, const lg_frame_t *fr, long n)
{
    for (size_t i = 0; i < s->nrules; i++)
        if (rule_match(&s->rules[i], kind, fn, fr, n)) return (int)i;
    return -1;
}

int lg_supp_apply(lg_supp_set_t *s, lg_ci_set_t *cs)
{
    for (size_t i = 0; i < s->nrules; i++) {
        lg_supp_rule_t *r = &s->rules[i];
        r->records = r->bytes = r->blocks = 0;
        r->over_limit = false;
    }
    for (size_t i = 0; i < cs->nrecs; i++) {
        lg_ci_rec_t *c = &cs->recs[i];
        c->rule = lg_supp_match(s, c->leak->kind, c->leak->fn, c->frames, c->nframes);
        if (c->rule < 0) continue;
        lg_supp_rule_t *r = &s->rules[c->rule];
        r->records++;
        r->bytes += c->leak->bytes;
        r->blocks += c->leak->blocks;
    }
    for (size_t i = 0; i < s->nrules; i++) {
        lg_supp_rule_t *r = &s->rules[i];
        r->over_limit = r->bytes > r->max_bytes || r->blocks > r->max_blocks;
    }
    for (size_t i = 0; i < cs->nrecs; i++)
        if (cs->recs[i].rule >= 0 && s->rules[cs->recs[i].rule].over_limit) cs->recs[i].rule = -1;
    return 0;
}

/* ---- reading ------------------------------------------------------------------------------ */
typedef struct reader {
    const char *path;
    int line;
    char *err;
    size_t errlen;
    lg_supp_set_t *s;
    size_t cap;
} reader_t;

static int syntax(reader_t *rd, const char *fmt, const char *what)
{
    char m[300];
    snprintf(m, sizeof m, fmt, what);
    snprintf(rd->err, rd->errlen, "%s:%d: %s", rd->path, rd->line, m);
    return -EINVAL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

static lg_supp_rule_t *new_rule(reader_t *rd, const char *name, int origin)
{
    lg_supp_set_t *s = rd->s;
    if (s->nrules == rd->cap) {
        size_t nc = rd->cap ? rd->cap * 2 : 16;
        lg_supp_rule_t *v = realloc(s->rules, nc * sizeof *v);
        if (!v) return NULL;
        s->rules = v;
        rd->cap = nc;
    }
    lg_supp_rule_t *r = &s->rules[s->nrules];
    *r = (lg_supp_rule_t){.origin = origin, .max_bytes = UINT64_MAX, .max_blocks = UINT64_MAX};
    char where[64];
    snprintf(where, sizeof where, ":%d", rd->line);
    r->name = strdup(name);
    r->where = malloc(strlen(rd->path) + strlen(where) + 1);
    if (!r->name || !r->where) {
        free(r->name);
        free(r->where);
        return NULL;
    }
    strcpy(r->where, rd->path);
    strcat(r->where, where);
    s->nrules++;
    return r;
}

static lg_frame_pat_t *new_pat(lg_supp_rule_t *r)
{
    lg_frame_pat_t *v = realloc(r->pats, (r->npats + 1) * sizeof *v);
    if (!v) return NULL;
    r->pats = v;
    v[r->npats] = (lg_frame_pat_t){0};
    return &v[r->npats++];
}

/* Kinds "definite,indirect" into a bit set; Valgrind's "all" and "none" too. */
static int parse_kinds(reader_t *rd, const char *list, unsigned *out)
{
    unsigned bits = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ", \t\r\n", &save); t; t = strtok_r(NULL, ", \t\r\n", &save)) {
        if (!strcmp(t, "all")) {
            bits = 0;
            for (int k = 0; k < LG_KIND_COUNT; k++) bits |= 1u << k;
            continue;
        }
        if (!strcmp(t, "none")) continue;
        int k = lg_kind_by_name(t, strlen(t));
        if (k < 0) return syntax(rd, "unknown leak kind '%s'", t);
        bits |= 1u << k;
    }
    *out = bits;
    return 0;
}

/* Next token of a leakgraph rule line: KEY=VALUE or a word, VALUE possibly "quoted". Returns
 * the token (in place) or NULL at the end. */
static char *next_token(char **pp)
{
    char *p = *pp;
    while (isspace((unsigned char)*p)) p++;
    if (!*p) return NULL;
    char *tok = p, *o = p;
    bool q = false;
    for (; *p; p++) {
        if (!q && isspace((unsigned char)*p)) break;
        if (*p == '"') {
            q = !q;
            continue;
        }
        if (q && *p == '\\' && (p[1] == '"' || p[1] == '\\')) p++;
        *o++ = *p;
    }
    if (*p) p++;
    *o = 0;
    *pp = p;
    return tok;
}

static int parse_limit(reader_t *rd, const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || *v == '-') return syntax(rd, "'%s': expected a number", v);
    *out = x;
    return 0;
}

static int lg_line(reader_t *rd, char *line, lg_supp_rule_t **cur)
{
    char *p = line, *kw = next_token(&p);
    if (!kw) return 0;
    if (!strcmp(kw, "rule")) {
        char *name = trim(p);
        if (!*name) return syntax(rd, "%s needs a name", "rule");
        if (*cur && (*cur)->npats == 0)
            return syntax(rd, "rule '%s' before it has no frame line", (*cur)->name);
        *cur = new_rule(rd, name, LG_SUPP_LEAKGRAPH);
        return *cur ? 0 : -ENOMEM;
    }
    lg_supp_rule_t *r = *cur;
    if (!r) return syntax(rd, "'%s' outside a rule (start one with 'rule NAME')", kw);
    if (!strcmp(kw, "kind")) return parse_kinds(rd, p, &r->kinds);
    if (!strcmp(kw, "max-bytes") || !strcmp(kw, "max-blocks")) {
        char *v = next_token(&p);
        if (!v || next_token(&p)) return syntax(rd, "%s takes one number", kw);
        return parse_limit(rd, v, kw[4] == 'b' && kw[5] == 'y' ? &r->max_bytes : &r->max_blocks);
    }
    if (!strcmp(kw, "frame")) {
        lg_frame_pat_t *fp = new_pat(r);
        if (!fp) return -ENOMEM;
        char *t = next_token(&p);
        if (!t) return syntax(rd, "%s needs '...', '*' or fun=, file=, mod=", "frame");
        if (!strcmp(t, "...") || !strcmp(t, "*")) {
            fp->ellipsis = t[0] == '.';
            if (next_token(&p)) return syntax(rd, "nothing may follow '%s'", t);
            return 0;
        }
        for (; t; t = next_token(&p)) {
            char *eq = strchr(t, '=');
            if (!eq || eq[1] == 0) return syntax(rd, "'%s': expected fun=, file= or mod=GLOB", t);
            *eq = 0;
            char **dst = !strcmp(t, "fun") ? &fp->fun : !strcmp(t, "file") ? &fp->file
                       : !strcmp(t, "mod") ? &fp->mod : NULL;
            if (!dst) return syntax(rd, "'%s': a frame names fun, file or mod", t);
            if (*dst) return syntax(rd, "'%s' given twice", t);
            if (!(*dst = strdup(eq + 1))) return -ENOMEM;
        }
        return 0;
    }
    return syntax(rd, "unknown keyword '%s' (rule, kind, frame, max-bytes, max-blocks)", kw);
}

/* Valgrind: entries "{ NAME TOOL:KIND [match-leak-kinds: ...] FRAME... }", one item a line. */
static int vg_line(reader_t *rd, char *line, int *state, lg_supp_rule_t **cur, char **name)
{
    char *t = trim(line);
    if (!*t || t[0] == '#') return 0;
    switch (*state) {
    case 0: /* outside */
        if (strcmp(t, "{")) return syntax(rd, "expected '{' to start a suppression, got '%s'", t);
        *state = 1;
        return 0;
    case 1: /* the name */
        free(*name);
        if (!(*name = strdup(t))) return -ENOMEM;
        *state = 2;
        return 0;
    case 2: { /* TOOL:KIND */
        char *c = strchr(t, ':');
        if (!c) return syntax(rd, "expected 'Memcheck:Leak' (tool:kind), got '%s'", t);
        bool memcheck = false;
        for (char *save = NULL, *tool = strtok_r(t, ",", &save); tool && tool < c;
             tool = strtok_r(NULL, ",", &save))
            if (!strncmp(tool, "Memcheck", 8)) memcheck = true;
        if (!memcheck || strcmp(c + 1, "Leak")) {
            rd->s->ignored++;
            *state = 4; /* skip to '}' */
            *cur = NULL;
            return 0;
        }
        if (!(*cur = new_rule(rd, *name, LG_SUPP_VALGRIND))) return -ENOMEM;
        *state = 3;
        return 0;
    }
    case 3: /* frames, match-leak-kinds */
        if (!strcmp(t, "}")) {
            if ((*cur)->npats == 0) return syntax(rd, "suppression '%s' has no frame line", (*cur)->name);
            *state = 0;
            return 0;
        }
        if (!strncmp(t, "match-leak-kinds:", 17)) return parse_kinds(rd, t + 17, &(*cur)->kinds);
        if ((*cur)->npats >= VG_MAX_FRAMES)
            return syntax(rd, "more than %s frame lines", "24");
        lg_frame_pat_t *fp = new_pat(*cur);
        if (!fp) return -ENOMEM;
        if (!strcmp(t, "...")) {
            fp->ellipsis = true;
            return 0;
        }
        if (!strncmp(t, "fun:", 4)) return (fp->fun = strdup(t + 4)) ? 0 : -ENOMEM;
        if (!strncmp(t, "obj:", 4)) return (fp->mod = strdup(t + 4)) ? 0 : -ENOMEM;
        if (!strncmp(t, "src:", 4)) {
            char *v = strdup(t + 4), *colon = v ? strrchr(v, ':') : NULL;
            if (!v) return -ENOMEM;
            if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
                fp->line = atoi(colon + 1);
                *colon = 0;
            }
            fp->file = v;
            return 0;
        }
        return syntax(rd, "'%s': expected fun:, obj:, src: or '...'", t);
    default: /* another tool's entry */
        if (!strcmp(t, "}")) *state = 0;
        return 0;
    }
}

static int lsan_line(reader_t *rd, char *line)
{
    char *t = trim(line);
    if (!*t || t[0] == '#') return 0;
    char *c = strchr(t, ':');
    if (!c || c == t) return syntax(rd, "'%s': expected TYPE:PATTERN, e.g. leak:my_function", t);
    if (strncmp(t, "leak:", 5)) {
        rd->s->ignored++;
        return 0;
    }
    if (!c[1]) return syntax(rd, "%s: empty pattern", "leak");
    lg_supp_rule_t *r = new_rule(rd, t, LG_SUPP_LSAN);
    if (!r) return -ENOMEM;
    return (r->lsan = strdup(c + 1)) ? 0 : -ENOMEM;
}

static int sniff(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    int fmt = -1;
    bool lsan = false;
    while (fmt < 0 && getline(&line, &cap, f) >= 0) {
        char *t = trim(line);
        if (!*t || *t == '#') continue;
        if (!strcmp(t, "{")) fmt = LG_SUPP_VALGRIND;
        else if (!strncmp(t, "rule", 4) && (!t[4] || isspace((unsigned char)t[4]))) fmt = LG_SUPP_LEAKGRAPH;
        else if (strchr(t, ':') && !strchr(t, ' ')) lsan = true;
        else fmt = LG_SUPP_LEAKGRAPH;
    }
    free(line);
    rewind(f);
    return fmt >= 0 ? fmt : lsan ? LG_SUPP_LSAN : LG_SUPP_LEAKGRAPH;
}

int lg_supp_load(lg_supp_set_t *s, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "cannot read the suppression file %s: %s", path, strerror(e));
        return -e;
    }
    reader_t rd = {.path = path, .err = err, .errlen = errlen, .s = s, .cap = s->nrules};
    int fmt = sniff(f), rc = 0, vstate = 0;
    lg_supp_rule_t *cur = NULL;
    char *line = NULL, *vname = NULL;
    size_t cap = 0;
    ssize_t r;
    while (rc == 0 && (r = getline(&line, &cap, f)) >= 0) {
        rd.line++;
        if (fmt == LG_SUPP_LEAKGRAPH) {
            char *h = line; /* '#' starts a comment outside quotes */
            for (bool q = false; *h; h++) {
                if (*h == '"') q = !q;
                else if (*h == '#' && !q) {
                    *h = 0;
                    break;
                }
            }
            /* cur points into s->rules: only new_rule moves them, and it resets cur */
            rc = lg_line(&rd, line, &cur);
        } else if (fmt == LG_SUPP_VALGRIND) {
            rc = vg_line(&rd, line, &vstate, &cur, &vname);
        } else {
            rc = lsan_line(&rd, line);
        }
    }
    if (rc == 0 && fmt == LG_SUPP_LEAKGRAPH && cur && cur->npats == 0)
        rc = syntax(&rd, "rule '%s' has no frame line", cur->name);
    if (rc == 0 && fmt == LG_SUPP_VALGRIND && vstate != 0)
        rc = syntax(&rd, "%s", "the file ends inside a suppression (no closing '}')");
    if (rc == -ENOMEM) snprintf(err, errlen, "out of memory");
    free(line);
    free(vname);
    fclose(f);
    return rc;
}

void lg_supp_free(lg_supp_set_t *s)
{
    for (size_t i = 0; i < s->nrules; i++) {
        lg_supp_rule_t *r = &s->rules[i];
        for (size_t j = 0; j < r->npats; j++) {
            free(r->pats[j].fun);
            free(r->pats[j].file);
            free(r->pats[j].mod);
        }
        free(r->pats);
        free(r->name);
        free(r->where);
        free(r->lsan);
    }
    free(s->rules);
    memset(s, 0, sizeof *s);
}

/* ---- writing ------------------------------------------------------------------------------ */
/* A glob that matches exactly s: glob characters escaped. */
static void put_literal(FILE *out, const char *s, bool quote)
{
    bool q = quote && strpbrk(s, " \t\"#") != NULL;
    if (q) fputc('"', out);
    for (; *s; s++) {
        if (strchr("*?[]\\", *s)) fputc('\\', out);
        if (q && *s == '"') fputc('\\', out);
        fputc(*s, out);
    }
    if (q) fputc('"', out);
}

void lg_supp_gen(FILE *out, int format, const char *name, int kind, int fn, const lg_frame_t *fr,
                 long n, long user, int frames)
{
    /* frames to name: through the `frames`-th user frame */
    long last = n - 1;
    int seen = 0;
    for (long k = user < 0 ? 0 : user; k < n; k++)
        if (lg_frame_is_user(&fr[k]) && ++seen == frames) {
            last = k;
            break;
        }
    if (user < 0) last = n < frames ? n - 1 : frames - 1;
    if (format == LG_SUPP_LSAN) {
        const lg_frame_t *f = user >= 0 ? &fr[user] : n ? &fr[0] : NULL;
        fprintf(out, "# %s (%s)\n", name, lg_kind_name(kind));
        if (f && f->function) fprintf(out, "leak:^%s$\n", f->function);
        else if (f && f->module) fprintf(out, "leak:%s\n", f->module);
        return;
    }
    if (format == LG_SUPP_VALGRIND) {
        const char *vk = kind == LG_KIND_CYCLE ? "definite,indirect" : lg_kind_name(kind);
        fprintf(out, "{\n   %s\n   Memcheck:Leak\n   match-leak-kinds: %s\n", name, vk);
        if (!(n > 0 && mangled(fr[0].function))) fprintf(out, "   fun:%s\n", lg_fn_name(fn));
        for (long k = 0; k <= last; k++) {
            const char *m = mangled(fr[k].function);
            if (m || fr[k].function) {
                fputs("   fun:", out);
                if (m) fputs(m, out);
                else put_literal(out, fr[k].function, false);
                fputc('\n', out);
            } else if (fr[k].module) {
                fprintf(out, "   obj:%s\n", fr[k].module);
            } else {
                fputs("   ...\n", out);
            }
        }
        fputs("}\n", out);
        return;
    }
    fprintf(out, "rule %s\n  kind %s\n", name, lg_kind_name(kind));
    for (long k = 0; k <= last; k++) {
        const lg_frame_t *f = &fr[k];
        bool any = false;
        fputs("  frame", out);
        if (f->function) {
            fputs(" fun=", out);
            put_literal(out, f->function, true);
            any = true;
        }
        if (f->file && lg_frame_is_user(f)) {
            fputs(" file=", out);
            put_literal(out, lg_basename(f->file), true);
            any = true;
        } else if (!f->function && f->module) {
            fputs(" mod=", out);
            put_literal(out, lg_basename(f->module), true);
            any = true;
        }
        if (!any) fputs(" *", out);
        fputc('\n', out);
    }
}
