/* fixture_inline.c: an always_inline function inlined into a named one, built with -g -O2, for
 * the inlined-frame tests. Owns nothing else. */
#include "fixture.h"

/* Store `line` (the caller's __LINE__) and return the caller's return address: a pc inside the
 * caller, on the line of the call. One statement, so the two cannot end up on different lines. */
static __attribute__((noinline, noipa)) void *fix_ra(int *line_out, int line)
{
    *line_out = line;
    return __builtin_return_address(0);
}

/* Inlined into fix_outer: the recorded pc is in here, on inner_line; `call_line` is the line of
 * the call in fix_outer. */
static inline __attribute__((always_inline)) void fix_inner(fix_site_t *site, int call_line)
{
    site->line = call_line;
    site->pc = fix_ra(&site->inner_line, __LINE__);
}

/* The physical function; its frame's line is the call of fix_inner. */
__attribute__((noinline)) void FIX(fix_outer)(fix_site_t *site)
{
    fix_inner(site, __LINE__);
}
