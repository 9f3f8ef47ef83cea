/* fixture_plain.c: a plain function for the symbolizer tests, built with -g -O0. It owns no
 * state but fix_data, a global whose address is data, not code (the "garbage pc" test). */
#include "fixture.h"

int FIX(fix_data) = 42;

/* Store `line` (the caller's __LINE__) and return the caller's return address: a pc inside the
 * caller, on the line of the call. One statement, so the two cannot end up on different lines. */
static __attribute__((noinline, noipa)) void *fix_ra(int *line_out, int line)
{
    *line_out = line;
    return __builtin_return_address(0);
}

/* Line of the function's first instruction: gcc puts the prologue on the opening brace. */
const int FIX(fix_plain_decl_line) = __LINE__ + 3;
/* Record a pc on a known line. */
void FIX(fix_plain)(fix_site_t *site)
{
    site->pc = fix_ra(&site->line, __LINE__);
}

/* The entry address of fix_plain, taken inside this module (no PLT in between). */
void *FIX(fix_plain_addr)(void)
{
    return (void *)&FIX(fix_plain);
}

/* Record a pc on a known line, in a function whose symbol is not its source name. */
void FIX(fix_label)(fix_site_t *site)
{
    site->pc = fix_ra(&site->line, __LINE__);
}
