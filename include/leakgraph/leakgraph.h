/* leakgraph's in-program API. Include it in a program to ask for leak checks at chosen points.
 * The program needs no link flag and runs unchanged without leakgraph: the symbol is declared
 * weak, so without the preloaded shim lg_check() returns -ENOSYS and does nothing. */
#ifndef LEAKGRAPH_LEAKGRAPH_H
#define LEAKGRAPH_LEAKGRAPH_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defined by libleakgraph.so. Stops every thread of the process, lets the `leakgraph run`
 * collector (or, preloaded by hand, a `leakgraph __snapshot` it starts) scan its memory,
 * records the result in the trace as the next check number, and resumes; other threads may
 * go on allocating meanwhile. Returns the check number (1, 2, ...; `leakgraph report --check
 * N` shows it), or a negative errno: -ENOTSUP when nothing can read the process (the
 * collector is gone, or preloaded by hand without the leakgraph binary), -EBUSY when another
 * check is under way, -EIO when the scan failed. Async-signal-safe. Call it through
 * lg_check(). */
int lg_check_now(void) __attribute__((weak));

/* lg_check_now() when the shim is loaded, else -ENOSYS. */
static inline int lg_check(void)
{
    return lg_check_now ? lg_check_now() : -ENOSYS;
}

#ifdef __cplusplus
}
#endif

#endif /* LEAKGRAPH_LEAKGRAPH_H */
