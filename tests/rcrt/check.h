/*
 * tests/rcrt/check.h - the few macros rcrt's unit tests use: CHECK(cond) and CHECK_EQ(a, b)
 * record a failure with its line and go on; test_main's result is the exit status. No
 * framework, no allocation: a test that cannot fail is not a test, so every CHECK compares a
 * computed result with a value stated in the test.
 */
#ifndef RCRT_TESTS_CHECK_H
#define RCRT_TESTS_CHECK_H

#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        check_count++;                                                                         \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
            check_failures++;                                                                  \
        }                                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                                         \
    do {                                                                                       \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                        \
        check_count++;                                                                         \
        if (check_a_ != check_b_) {                                                            \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, expected %s == %lld\n",      \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_);                           \
            check_failures++;                                                                  \
        }                                                                                      \
    } while (0)

#define RUN(test)                                                                              \
    do {                                                                                       \
        int before_ = check_failures;                                                          \
        test();                                                                                \
        printf("%-40s %s\n", #test, check_failures == before_ ? "ok" : "FAILED");             \
    } while (0)

static inline int check_result(void)
{
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
