/* Suppressions: rules that hide known leak records from CI verdicts. Three formats are read
 * (docs/ci.md): leakgraph's own (kinds, and frame patterns on function, file and module with
 * anchored globs, matched from the innermost frame down; optional limits on what a rule may
 * hide), Valgrind's suppression files (Memcheck:Leak entries, with fun:/obj:/src: and '...'),
 * and LeakSanitizer's `leak:PATTERN` lines (a substring of any frame's function, file or
 * module). Each rule counts what it matched and what it hid. This file matches and counts; it
 * decides nothing about verdicts and prints only rules (--gen-suppressions). */
#ifndef LG_SUPPRESS_H
#define LG_SUPPRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "records.h"
#include "symbolize.h"

enum lg_supp_origin { LG_SUPP_LEAKGRAPH = 0, LG_SUPP_VALGRIND = 1, LG_SUPP_LSAN = 2 };

/* One frame pattern. Fields left NULL match anything. */
typedef struct lg_frame_pat {
    bool ellipsis;      /* '...': zero or more frames */
    char *fun, *file, *mod;
    int line;           /* Valgrind src:FILE:LINE; 0: any */
} lg_frame_pat_t;

typedef struct lg_supp_rule {
    char *name;
    char *where;        /* "file:line" of the rule */
    int origin;         /* enum lg_supp_origin */
    unsigned kinds;     /* bit (1 << kind); 0: every kind */
    lg_frame_pat_t *pats;
    size_t npats;
    char *lsan;         /* LSan pattern */
    uint64_t max_bytes, max_blocks; /* what it may hide; UINT64_MAX: no limit */
    /* usage, filled by matching */
    uint64_t records, bytes, blocks; /* matched */
    bool over_limit;    /* matched more than its limits: it hides nothing */
} lg_supp_rule_t;

typedef struct lg_supp_set {
    lg_supp_rule_t *rules;
    size_t nrules;
    size_t ignored;     /* Valgrind entries of other kinds (Memcheck:Cond ...), LSan non-leak lines */
} lg_supp_set_t;

/* Reads a suppression file into s (appending), guessing its format from its content: a line
 * '{' starts Valgrind entries, 'leak:' lines are LSan's, anything else is leakgraph's.
 * Returns 0, -EINVAL (syntax; message in err with file:line) or a negative errno. */
int lg_supp_load(lg_supp_set_t *s, const char *path, char *err, size_t errlen);
void lg_supp_free(lg_supp_set_t *s);

/* Index of the first rule that matches a record (kind, allocator, frames innermost first), or
 * -1. Does not count. */
int lg_supp_match(const lg_supp_set_t *s, int kind, int fn, const lg_frame_t *fr, long n);

/* Matches every record of a CI set (records.h) against the rules: counts per rule what it
 * matched, marks rules over their limits, and sets each record's rule (-1 if none, or if its
 * rule is over its limits and so hides nothing). Returns 0. */
int lg_supp_apply(lg_supp_set_t *s, lg_ci_set_t *cs);

/* Glob match of a whole string ('*', '?', '[...]'): fnmatch without flags. */
bool lg_glob(const char *pat, const char *s);

/* Prints a rule that matches this record, in `format` (enum lg_supp_origin). `frames`: how
 * many frames to name below the innermost (at least up to the first user frame). */
void lg_supp_gen(FILE *out, int format, const char *name, int kind, int fn, const lg_frame_t *fr,
                 long n, long user, int frames);

#endif /* LG_SUPPRESS_H */
