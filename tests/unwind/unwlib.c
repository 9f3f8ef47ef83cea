/* Recursion inside a shared library (or the dlopen'ed module, with -DUNWMOD), then a call
 * back into the program. Varied frames: plain, alloca (CFA on RBP), big locals. */
#include <alloca.h>
#include <string.h>
#include "unwlib.h"

volatile int unwlib_sink;

#ifdef UNWMOD
#define ENTRY unwmod_entry
#define P(x) mod_##x
#else
#define ENTRY unwlib_recurse
#define P(x) lib_##x
#endif

int ENTRY(int depth, unwlib_cb cb, int arg);

__attribute__((noinline)) static int P(plain)(int d, unwlib_cb cb, int arg)
{
    int r = ENTRY(d - 1, cb, arg);
    unwlib_sink += r;
    return r + 1;
}

__attribute__((noinline)) static int P(vla)(int d, unwlib_cb cb, int arg)
{
    char *p = alloca((size_t)(16 + (d & 7) * 8));
    memset(p, d, 16);
    int r = ENTRY(d - 1, cb, arg) + p[3];
    unwlib_sink += r;
    return r;
}

__attribute__((noinline)) int ENTRY(int depth, unwlib_cb cb, int arg)
{
    if (depth <= 0) {
        cb(arg);
        return 1;
    }
    int r = (depth & 1) ? P(plain)(depth, cb, arg) : P(vla)(depth, cb, arg);
    unwlib_sink += r;
    return r;
}
