/* tests/harness/harness.h: the one set of check macros of the C tests (unit, format, symbolize,
 * rcrt). A CHECK that fails prints "file:line: CHECK failed: ..." with the expression and, for
 * the comparing forms, both values, counts the failure and goes on, so one run shows every
 * broken check; check_result() prints one summary line and gives main() its exit status (1 if
 * any check failed). It owns nothing else: no fixtures, no temporary files, no allocation of its
 * own (it must stay usable in the rcrt tests, whose allocator is under test), and it never
 * aborts.
 *
 * The counters are static: each test program uses the macros from one translation unit (its
 * main file); helpers compiled beside it report through return values. Every macro evaluates
 * its arguments once (CHECK_MSG's explanation only when the check fails). */
#ifndef LG_TESTS_HARNESS_CHECK_H
#define LG_TESTS_HARNESS_CHECK_H

#include <stdio.h>
#include <string.h>

/* Checks made and checks failed in this translation unit. */
static int check_count __attribute__((unused));
static int check_failures __attribute__((unused));

/* Counts one check and returns whether it passed. On failure it prints nothing: the caller has
 * said why, or limits how often it does (a loop over thousands of cases). The macros below are
 * built on it. */
static inline int check_silent(int ok)
{
    check_count++;
    if (!ok) check_failures++;
    return ok;
}
#define CHECK_SILENT(cond) check_silent((cond) ? 1 : 0)

/* A condition. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!CHECK_SILENT(cond))                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
    } while (0)

/* A condition, with a printf-style explanation printed when it fails. */
#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!CHECK_SILENT(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* Two integers (any integer types, compared as 64-bit patterns: -1 equals UINT64_MAX), printed
 * signed and in hex. */
#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        unsigned long long check_a_ = (unsigned long long)(a);                                     \
        unsigned long long check_b_ = (unsigned long long)(b);                                     \
        if (!CHECK_SILENT(check_a_ == check_b_))                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld/0x%llx != %lld/0x%llx)\n",        \
                    __FILE__, __LINE__, #a, #b, (long long)check_a_, check_a_,                     \
                    (long long)check_b_, check_b_);                                                \
    } while (0)

/* Two strings; NULL equals nothing, not even NULL. */
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_sa_ = (a), *check_sb_ = (b);                                             \
        if (!CHECK_SILENT(check_sa_ && check_sb_ && strcmp(check_sa_, check_sb_) == 0))            \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", __FILE__,        \
                    __LINE__, #a, #b, check_sa_ ? check_sa_ : "(null)",                            \
                    check_sb_ ? check_sb_ : "(null)");                                             \
    } while (0)

/* A substring; a NULL haystack fails. */
#define CHECK_HAS(hay, needle)                                                                     \
    do {                                                                                           \
        const char *check_h_ = (hay), *check_n_ = (needle);                                        \
        if (!CHECK_SILENT(check_h_ && strstr(check_h_, check_n_)))                                 \
            fprintf(stderr, "%s:%d: CHECK failed: \"%s\" contains \"%s\"\n", __FILE__, __LINE__,   \
                    check_h_ ? check_h_ : "(null)", check_n_);                                     \
    } while (0)

/* Runs one test function and prints its name with "ok" or "FAILED". */
#define RUN(test)                                                                                  \
    do {                                                                                           \
        int check_before_ = check_failures;                                                        \
        test();                                                                                    \
        printf("%-40s %s\n", #test, check_failures == check_before_ ? "ok" : "FAILED");            \
        fflush(stdout);                                                                            \
    } while (0)

/* The summary line ("NAME: all N checks passed" on stdout, "NAME: F of N check(s) failed" on
 * stderr) and main()'s exit status: 0, or 1 if a check failed or none was made. */
static inline int check_result(const char *name)
{
    if (check_failures || !check_count) {
        fprintf(stderr, "%s: %d of %d check(s) failed%s\n", name, check_failures, check_count,
                check_count ? "" : " (no check was made)");
        return 1;
    }
    printf("%s: all %d checks passed\n", name, check_count);
    return 0;
}

#endif /* LG_TESTS_HARNESS_CHECK_H */
