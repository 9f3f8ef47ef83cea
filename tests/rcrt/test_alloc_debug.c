/*
 * tests/rcrt/test_alloc_debug.c - the allocator's debug mode: fresh blocks hold 0xCD, guard
 * bytes around a block are checked at free (an overflow by one byte aborts the process), and
 * a write to a freed pool block is detected when the block is reused. The aborting cases run
 * in child processes.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "rcrt/rcrt.h"

/* Run `fn` in a child; true if the child died of SIGABRT. */
static int aborts(void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void overflow_one_byte(void)
{
    uint8_t *p = rc_malloc(40);
    p[40] = 0; /* into the guard bytes (inside the raw block, so ASan allows it) */
    rc_free(p);
}

static void underflow_one_byte(void)
{
    uint8_t *p = rc_malloc(40);
    p[-1] = 0;
    rc_free(p);
}

static void clean_block(void)
{
    uint8_t *p = rc_malloc(40);
    memset(p, 1, 40);
    rc_free(p);
}

#if !defined(__SANITIZE_ADDRESS__)
/* Under ASan the freed block is poisoned and ASan itself reports this write. */
static void write_after_free(void)
{
    uint8_t *p = rc_malloc(40);
    rc_free(p);
    p[20] = 1;
    uint8_t *q = rc_malloc(40); /* the same block comes back: the check fires */
    rc_free(q);
}
#endif

int main(void)
{
    CHECK_EQ(rc_alloc_set_debug(true), 0);
    CHECK(rc_alloc_debug_enabled());
    uint8_t *p = rc_malloc(33);
    int fresh = 1;
    for (int i = 0; i < 33; i++)
        fresh &= p[i] == 0xCD;
    CHECK(fresh);
    CHECK_EQ(rc_usable_size(p), 33);
    p = rc_realloc(p, 100);
    CHECK_EQ(rc_usable_size(p), 100);
    CHECK_EQ(p[0], 0xCD);
    rc_free(p);
    CHECK_EQ(rc_alloc_set_debug(false), -16 /* EBUSY: blocks were allocated */);
    CHECK(aborts(overflow_one_byte));
    CHECK(aborts(underflow_one_byte));
    CHECK(!aborts(clean_block));
#if !defined(__SANITIZE_ADDRESS__)
    CHECK(aborts(write_after_free));
#endif
    /* Objects work on top of the debug allocator. */
    rc_object_t *l = rc_list_new();
    for (int i = 0; i < 1000; i++) {
        rc_object_t *v = rc_int_from(i);
        rc_list_append(l, v);
        rc_decref(v);
    }
    CHECK_EQ(rc_int_value(rc_list_get(l, 999)), 999);
    rc_decref(l);
    return check_result("rcrt_test_alloc_debug");
}
