/* fixture_cxx.cpp: a C++ method for the demangling test (ns::Klass::method(int)), built with
 * -g -O0. Owns nothing else. */
#include "fixture.h"

/* Store `line` (the caller's __LINE__) and return the caller's return address: a pc inside the
 * caller, on the line of the call. */
static __attribute__((noinline)) void *fix_ra(int *line_out, int line)
{
    *line_out = line;
    return __builtin_return_address(0);
}

namespace ns
{
struct Klass {
    fix_site_t *site;
    int method(int x);
};

/* Records a pc on a known line. */
__attribute__((noinline)) int Klass::method(int x)
{
    site->pc = fix_ra(&site->line, __LINE__);
    return x + 1;
}
} // namespace ns

/* C entry point for the test. */
extern "C" void FIX(fix_cxx)(fix_site_t *site)
{
    ns::Klass k;
    k.site = site;
    (void)k.method(1);
}
