/* test_suppress.c: the suppression matcher (analyzer/ci/suppress.h) on stacks built by hand,
 * each rule file read with lg_supp_load and matched with lg_supp_match, as docs/ci.md specifies:
 * Memcheck-format entries (the allocator's replacement frame put first, C++ operator new also
 * by its mangled name, match-leak-kinds also covering cycles, fun:/obj:/src: globs, '...'
 * for any number of frames, other tools' entries skipped), LeakSanitizer `leak:` lines
 * (substring of any frame's function, file or module; '*' and the '^' '$' anchors), and
 * leakgraph's own rules (kinds, anchored globs with '*' and '?', 'frame ...' and 'frame *',
 * file and module globs on the base name unless they hold a '/'); matching and non-matching
 * stacks for each, and the exact file:line messages of a few syntax errors. Rule files are
 * written to a private temporary directory, removed at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "classify.h"
#include "leakgraph/trace_format.h"
#include "suppress.h"

static char g_dir[4096];
static char g_path[4200];
static int g_nfiles;

/* Writes `text` to a new file of the temporary directory and loads it into a fresh set. */
static int load(lg_supp_set_t *s, const char *text, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    snprintf(g_path, sizeof g_path, "%s/rules%d.supp", g_dir, g_nfiles++);
    FILE *f = fopen(g_path, "w");
    if (!f) return -errno;
    fputs(text, f);
    fclose(f);
    return lg_supp_load(s, g_path, err, errlen);
}

/* Loads `text`, which must be valid. */
static void load_ok(lg_supp_set_t *s, const char *text)
{
    char err[512] = "";
    int rc = load(s, text, err, sizeof err);
    CHECK_MSG(rc == 0, "rules:\n%s\nrc %d: %s", text, rc, err);
}

/* Loads `text`, which must be refused with "FILE:LINE: msg". */
static void load_bad(const char *text, int line, const char *msg)
{
    lg_supp_set_t s;
    char err[512] = "", want[4600];
    CHECK_EQ(load(&s, text, err, sizeof err), -EINVAL);
    snprintf(want, sizeof want, "%s:%d: %s", g_path, line, msg);
    CHECK_STR(err, want);
    lg_supp_free(&s);
}

/* ---- the stacks ----------------------------------------------------------------------------- */
#define APP "/opt/app/bin/app"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define LIBSTDCXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"

/* A C program's allocation: make_buffer <- load_config <- main <- libc. */
static const lg_frame_t stack_c[] = {
    {.function = "make_buffer", .file = "/src/app/buffer.c", .line = 12, .module = APP},
    {.function = "load_config", .file = "/src/app/config.c", .line = 40, .module = APP},
    {.function = "main", .file = "/src/app/main.c", .line = 7, .module = APP},
    {.function = "__libc_start_call_main", .module = LIBC},
};
#define NC ((long)(sizeof stack_c / sizeof *stack_c))

/* A C++ allocation: operator new <- Widget::Widget() <- main. */
static const lg_frame_t stack_cxx[] = {
    {.function = "operator new(unsigned long)", .module = LIBSTDCXX},
    {.function = "Widget::Widget()", .file = "/src/app/widget.cc", .line = 5, .module = APP},
    {.function = "main", .file = "/src/app/main.c", .line = 9, .module = APP},
};
#define NCXX ((long)(sizeof stack_cxx / sizeof *stack_cxx))

static int match_c(const lg_supp_set_t *s, int kind, int fn)
{
    return lg_supp_match(s, kind, fn, stack_c, NC);
}

/* A file of one rule, a record, and whether the rule must match it. */
typedef struct match_case {
    const char *rules;
    int match; /* 1 or 0 (not given) */
    int kind;  /* 0: definite */
    int fn;    /* the allocator: malloc unless given */
    bool cxx;  /* the C++ stack instead of the C stack */
} match_case_t;

static void check_cases(const match_case_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lg_supp_set_t s;
        char err[512] = "";
        int rc = load(&s, c[i].rules, err, sizeof err);
        CHECK_MSG(rc == 0 && s.nrules == 1, "rules:\n%s-> rc %d, %zu rules: %s", c[i].rules, rc,
                  s.nrules, err);
        int kind = c[i].kind ? c[i].kind : LG_KIND_DEFINITE;
        int m = c[i].cxx ? lg_supp_match(&s, kind, c[i].fn, stack_cxx, NCXX)
                         : lg_supp_match(&s, kind, c[i].fn, stack_c, NC);
        CHECK_MSG((m == 0) == c[i].match, "rules:\n%s-> %s", c[i].rules,
                  m == 0 ? "matched" : "did not match");
        lg_supp_free(&s);
    }
}
#define CHECK_CASES(cases) check_cases(cases, sizeof cases / sizeof *cases)
#define MATCH(text)                                                                                \
    {                                                                                              \
        .rules = text, .match = 1                                                                  \
    }
#define NO_MATCH(text)                                                                             \
    {                                                                                              \
        .rules = text                                                                              \
    }

/* ---- Memcheck's format ------------------------------------------------------------------------
 */
static void test_valgrind(void)
{
    lg_supp_set_t s;
    load_ok(&s, "# known leaks\n"
                "{\n"
                "   buffer_from_config\n"
                "   Memcheck:Leak\n"
                "   match-leak-kinds: definite\n"
                "   fun:malloc\n"
                "   fun:make_buffer\n"
                "   fun:load_config\n"
                "}\n"
                "{\n"
                "   a_race\n"
                "   Helgrind:Race\n"
                "   fun:make_buffer\n"
                "}\n"
                "{\n"
                "   cond\n"
                "   Memcheck:Cond\n"
                "   fun:make_buffer\n"
                "}\n");
    CHECK_EQ(s.nrules, 1);
    CHECK_EQ(s.ignored, 2); /* another tool, another Memcheck kind */
    if (s.nrules == 1) {
        CHECK_STR(s.rules[0].name, "buffer_from_config");
        CHECK_EQ(s.rules[0].origin, LG_SUPP_VALGRIND);
        CHECK_EQ(s.rules[0].npats, 3);
    }
    CHECK_EQ(match_c(&s, LG_KIND_DEFINITE, LG_FN_MALLOC), 0);
    CHECK_EQ(match_c(&s, LG_KIND_CYCLE, LG_FN_MALLOC), 0); /* a cycle's blocks are definite */
    CHECK_EQ(match_c(&s, LG_KIND_INDIRECT, LG_FN_MALLOC), -1);
    CHECK_EQ(match_c(&s, LG_KIND_DEFINITE, LG_FN_CALLOC), -1); /* the allocator frame differs */
    CHECK_EQ(lg_supp_match(&s, LG_KIND_DEFINITE, LG_FN_MALLOC, stack_c + 1, NC - 1), -1);
    CHECK_EQ(lg_supp_match(&s, LG_KIND_DEFINITE, LG_FN_MALLOC, stack_c, 1), -1); /* too short */
    lg_supp_free(&s);

    static const match_case_t cases[] = {
        /* '...' and globs ('*', '?') */
        MATCH("{\n x\n Memcheck:Leak\n fun:*alloc\n ...\n fun:main\n}\n"),
        {.rules = "{\n x\n Memcheck:Leak\n fun:*alloc\n ...\n fun:main\n}\n",
         .match = 1,
         .kind = LG_KIND_POSSIBLE,
         .fn = LG_FN_CALLOC}, /* no match-leak-kinds: every kind */
        MATCH("{\n x\n Memcheck:Leak\n fun:m?lloc\n fun:make_buffer\n}\n"),
        {.rules = "{\n x\n Memcheck:Leak\n fun:m?lloc\n fun:make_buffer\n}\n", .fn = LG_FN_CALLOC},
        MATCH("{\n x\n Memcheck:Leak\n fun:malloc\n ...\n fun:make_buffer\n}\n"),
        MATCH("{\n x\n Memcheck:Leak\n ...\n fun:load_config\n}\n"),
        NO_MATCH("{\n x\n Memcheck:Leak\n fun:malloc\n fun:make_buf\n}\n"), /* whole */
        NO_MATCH("{\n x\n Memcheck:Leak\n fun:malloc\n ...\n fun:no_such_fn\n}\n"),
        NO_MATCH("{\n x\n Memcheck:Leak\n fun:make_buffer\n}\n"), /* malloc first */
        MATCH("{\n x\n Memcheck:Leak\n fun:malloc\n fun:*\n fun:*\n fun:main\n}\n"),
        NO_MATCH("{\n x\n Memcheck:Leak\n fun:malloc\n fun:*\n fun:main\n}\n"),
        /* obj: a glob on the whole path; the replacement frame is in vgpreload_memcheck */
        MATCH("{\n x\n Memcheck:Leak\n obj:*/vgpreload_memcheck*\n obj:*/bin/app\n}\n"),
        NO_MATCH("{\n x\n Memcheck:Leak\n fun:malloc\n obj:app\n}\n"),
        MATCH("{\n x\n Memcheck:Leak\n fun:malloc\n ...\n obj:*/libc.so.*\n}\n"),
        /* src:FILE[:LINE], FILE on the base name */
        MATCH("{\n x\n Memcheck:Leak\n fun:malloc\n src:buffer.c\n src:config.c:40\n}\n"),
        NO_MATCH("{\n x\n Memcheck:Leak\n fun:malloc\n src:buffer.c\n src:config.c:41\n}\n"),
        /* C++: operator new is the innermost frame and also answers to its mangled name */
        {.rules = "{\n x\n Memcheck:Leak\n fun:_Znwm\n fun:Widget::Widget()\n}\n",
         .match = 1,
         .cxx = true},
        {.rules = "{\n x\n Memcheck:Leak\n fun:operator new*\n fun:Widget::*\n}\n",
         .match = 1,
         .cxx = true},
        {.rules = "{\n x\n Memcheck:Leak\n fun:malloc\n fun:operator new*\n}\n",
         .cxx = true}, /* no replacement frame above operator new */
        NO_MATCH("{\n x\n Memcheck:Leak\n fun:_Znwm\n fun:Widget::Widget()\n}\n"),
    };
    CHECK_CASES(cases);
}

/* ---- LeakSanitizer's format ------------------------------------------------------------------ */
static void test_lsan(void)
{
    lg_supp_set_t s;
    load_ok(&s, "# LSan\nleak:load_conf\ninterceptor_via_fun:make_buffer\n\nleak:^main$\n");
    CHECK_EQ(s.nrules, 2);
    CHECK_EQ(s.ignored, 1);
    if (s.nrules == 2) {
        CHECK_EQ(s.rules[0].origin, LG_SUPP_LSAN);
        CHECK_STR(s.rules[0].lsan, "load_conf");
    }
    CHECK_EQ(match_c(&s, LG_KIND_DEFINITE, LG_FN_MALLOC), 0);
    CHECK_EQ(match_c(&s, LG_KIND_REACHABLE, LG_FN_CALLOC), 0); /* any kind, any allocator */
    CHECK_EQ(lg_supp_match(&s, LG_KIND_DEFINITE, LG_FN_MALLOC, stack_cxx, NCXX), 1); /* main */
    CHECK_EQ(lg_supp_match(&s, LG_KIND_DEFINITE, LG_FN_MALLOC, stack_cxx, 2), -1);
    lg_supp_free(&s);

    static const match_case_t cases[] = {
        /* a substring of any frame's function, file or module */
        MATCH("leak:_buff\n"),
        MATCH("leak:config.c\n"),
        MATCH("leak:/src/app/\n"),
        MATCH("leak:libc.so\n"),
        MATCH("leak:__libc_start\n"),
        NO_MATCH("leak:widget\n"),
        /* '*' is a wildcard, '^' and '$' anchor; '?' is an ordinary character */
        MATCH("leak:make_*fer\n"),
        MATCH("leak:^load_conf\n"),
        NO_MATCH("leak:^load_conf$\n"),
        MATCH("leak:^load_config$\n"),
        NO_MATCH("leak:^oad_config\n"),
        MATCH("leak:config$\n"),
        MATCH("leak:^*.c$\n"),
        NO_MATCH("leak:m?in\n"),
    };
    CHECK_CASES(cases);
}

/* ---- leakgraph's format -----------------------------------------------------------------------
 */
static void test_leakgraph(void)
{
    lg_supp_set_t s;
    load_ok(&s, "# comment\n"
                "rule lost buffer   # a name may hold blanks\n"
                "  kind definite,indirect\n"
                "  frame fun=make_buffer file=buffer.c\n"
                "  frame ...\n"
                "  frame fun=main mod=app\n"
                "  max-bytes 8192\n"
                "rule widget\n"
                "  frame fun=\"operator new(unsigned long)\"\n"
                "  frame fun=Widget::*\n");
    CHECK_EQ(s.nrules, 2);
    if (s.nrules == 2) {
        CHECK_STR(s.rules[0].name, "lost buffer");
        CHECK_EQ(s.rules[0].origin, LG_SUPP_LEAKGRAPH);
        CHECK_EQ(s.rules[0].kinds, 1u << LG_KIND_DEFINITE | 1u << LG_KIND_INDIRECT);
        CHECK_EQ(s.rules[0].npats, 3);
        CHECK_EQ(s.rules[0].max_bytes, 8192);
        CHECK_EQ(s.rules[0].max_blocks, UINT64_MAX);
        CHECK_EQ(s.rules[1].kinds, 0);
    }
    CHECK_EQ(match_c(&s, LG_KIND_DEFINITE, LG_FN_MALLOC), 0);
    CHECK_EQ(match_c(&s, LG_KIND_INDIRECT, LG_FN_CALLOC), 0);
    CHECK_EQ(match_c(&s, LG_KIND_POSSIBLE, LG_FN_MALLOC), -1);
    CHECK_EQ(match_c(&s, LG_KIND_CYCLE, LG_FN_MALLOC), -1); /* only Valgrind's rules cover it */
    CHECK_EQ(lg_supp_match(&s, LG_KIND_POSSIBLE, LG_FN_MALLOC, stack_cxx, NCXX), 1);
    lg_supp_free(&s);

    /* A record without frames (no stack recorded: fr NULL, n 0) against a rule that starts
     * with "...": no pointer arithmetic on NULL (UBSan stopped here; found by tests/fuzz). */
    load_ok(&s, "rule any\n"
                "  frame ...\n"
                "rule deeper\n"
                "  frame ...\n"
                "  frame fun=main\n");
    CHECK_EQ(lg_supp_match(&s, LG_KIND_DEFINITE, LG_FN_MALLOC, NULL, 0), 0);
    CHECK_EQ(lg_supp_match(&s, LG_KIND_DEFINITE, LG_FN_MALLOC, stack_c, NC), 0);
    lg_supp_free(&s);

    static const match_case_t cases[] = {
        /* anchored at the innermost frame, no allocator frame */
        MATCH("rule r\n frame fun=make_buffer\n"), NO_MATCH("rule r\n frame fun=malloc\n"),
        NO_MATCH("rule r\n frame fun=main\n"), MATCH("rule r\n frame ...\n frame fun=main\n"),
        MATCH("rule r\n frame *\n frame *\n frame fun=main\n"),
        NO_MATCH("rule r\n frame *\n frame fun=main\n"),
        NO_MATCH("rule r\n frame * \n frame * \n frame * \n frame * \n frame *\n"),
        /* globs on the whole string: '*', '?', '[...]' */
        NO_MATCH("rule r\n frame fun=make_buf\n"), MATCH("rule r\n frame fun=make_buf*\n"),
        MATCH("rule r\n frame fun=make_buf?er\n"), NO_MATCH("rule r\n frame fun=make_buf?\n"),
        MATCH("rule r\n frame fun=[lm]ake_buffer\n"),
        /* file and module: the base name, or the full path when the glob has a '/' */
        MATCH("rule r\n frame file=buffer.c mod=app\n"),
        MATCH("rule r\n frame file=/src/*/buffer.c\n"),
        NO_MATCH("rule r\n frame file=src/app/buffer.c\n"), MATCH("rule r\n frame mod=*/bin/app\n"),
        NO_MATCH("rule r\n frame mod=bin/app\n"),
        MATCH("rule r\n frame ...\n frame mod=libc.so.?\n"),
        NO_MATCH("rule r\n frame ...\n frame file=libc.so.6\n"), /* it has no file */
    };
    CHECK_CASES(cases);
}

static void test_syntax_errors(void)
{
    load_bad("frame fun=x\n", 1, "'frame' outside a rule (start one with 'rule NAME')");
    load_bad("rule a\n  kind definite,bogus\n  frame *\n", 2, "unknown leak kind 'bogus'");
    load_bad("rule a\n  frame fun=x\n  color red\n", 3,
             "unknown keyword 'color' (rule, kind, frame, max-bytes, max-blocks)");
    load_bad("rule a\n  frame func=x\n", 2, "'func': a frame names fun, file or mod");
    load_bad("rule a\n  frame fun=x\n  max-bytes lots\n", 3, "'lots': expected a number");
    load_bad("rule a\nrule b\n  frame *\n", 2, "rule 'a' before it has no frame line");
    load_bad("rule a\n  kind definite\n", 2, "rule 'a' has no frame line");
    load_bad("{\n x\n Memcheck:Leak\n fun:malloc\n", 4,
             "the file ends inside a suppression (no closing '}')");
    load_bad("{\n x\n Memcheck:Leak\n}\n", 4, "suppression 'x' has no frame line");
    load_bad("{\n x\n Memcheck:Leak\n fun:malloc\n bogus\n}\n", 5,
             "'bogus': expected fun:, obj:, src: or '...'");
    load_bad("leak:\n", 1, "leak: empty pattern");

    char err[512] = "";
    lg_supp_set_t s = {0};
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/missing.supp", g_dir);
    CHECK_EQ(lg_supp_load(&s, missing, err, sizeof err), -ENOENT);
    CHECK_HAS(err, "cannot read the suppression file");
}

static void test_glob(void)
{
    CHECK(lg_glob("a*c", "abbbc"));
    CHECK(lg_glob("a?c", "abc"));
    CHECK(!lg_glob("a?c", "ac"));
    CHECK(lg_glob("[ab]x", "bx"));
    CHECK(!lg_glob("ab", "abc")); /* the whole string */
    CHECK(lg_glob("a\\*", "a*"));
    CHECK(!lg_glob("a\\*", "ab"));
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/lgsupp.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_valgrind);
    RUN(test_lsan);
    RUN(test_leakgraph);
    RUN(test_syntax_errors);
    RUN(test_glob);
    for (int i = 0; i < g_nfiles; i++) {
        snprintf(g_path, sizeof g_path, "%s/rules%d.supp", g_dir, i);
        unlink(g_path);
    }
    rmdir(g_dir);
    return check_result("test_suppress");
}
