/* test_fingerprint.c: the leak fingerprint lg_fingerprint (analyzer/ci/baseline.h) and the
 * signature it hashes. Baseline files persist fingerprints, so the values for fixed inputs are
 * written here once (computed with the code of the first version of this test, and checked
 * against an independent FNV-1a of the signature and the example in docs/ci.md): any change to the
 * signature or the hash fails this test and would make every stored baseline stale. Then the
 * properties docs/ci.md promises: independent of line numbers, columns, addresses and load offsets,
 * and of the directories of sources, modules and executable; only the first LG_FP_FRAMES frames in
 * the user's own code count (libc, libstdc++, ld.so frames are skipped, unless there is no user
 * frame); the kind, a function, a file's or the executable's base name change it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "harness.h"
#include "classify.h"
#include "hash.h"

#define EXE "/usr/local/bin/leakdemo"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define LIBSTDCXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"

/* The example of docs/ci.md: make_lost_buffer <- main <- libc <- _start. */
static const lg_frame_t demo[] = {
    {.function = "make_lost_buffer",
     .file = "/home/u/src/leakdemo.c",
     .line = 31,
     .module = EXE,
     .address = 0x55555555a123,
     .offset = 0x1123},
    {.function = "main",
     .file = "/home/u/src/leakdemo.c",
     .line = 88,
     .module = EXE,
     .address = 0x55555555a456,
     .offset = 0x1456},
    {.function = "__libc_start_call_main", .module = LIBC, .address = 0x7ffff7c29d90},
    {.function = "_start", .module = EXE, .address = 0x55555555a010, .offset = 0x1010},
};

/* The same leak from another build: other directories, lines, addresses. */
static const lg_frame_t demo_rebuilt[] = {
    {.function = "make_lost_buffer",
     .file = "/build/ci/leakdemo.c",
     .line = 35,
     .column = 9,
     .module = "/tmp/x/leakdemo",
     .address = 0x401123,
     .offset = 0x401123},
    {.function = "main",
     .file = "/build/ci/leakdemo.c",
     .line = 120,
     .module = "/tmp/x/leakdemo",
     .address = 0x401456,
     .offset = 0x401456},
    {.function = "__libc_start_call_main", .module = "/lib64/libc.so.6", .address = 0x7f0000001},
    {.function = "_start", .module = "/tmp/x/leakdemo", .address = 0x401010, .offset = 0x401010},
};

/* C++: libstdc++ frames first, four user frames, an unknown function in user code. */
static const lg_frame_t cxx[] = {
    {.function = "operator new(unsigned long)", .module = LIBSTDCXX},
    {.function = "Cache::grow(unsigned long)",
     .file = "/src/cache.cc",
     .line = 12,
     .module = "/opt/app/lib/libcache.so"},
    {.module = "/opt/app/lib/libcache.so", .address = 0x7f00000123}, /* no symbol */
    {.function = "Server::start()", .file = "/src/server.cc", .line = 40, .module = "/opt/app/srv"},
    {.function = "main", .file = "/src/main.cc", .line = 3, .module = "/opt/app/srv"},
};

/* Only system frames: the first LG_FP_FRAMES of them count. */
static const lg_frame_t sys[] = {
    {.function = "_dl_allocate_tls", .file = "dl-tls.c", .module = "/lib64/ld-linux-x86-64.so.2"},
    {.function = "pthread_create", .module = LIBC},
    {.function = "start_thread", .module = LIBC},
    {.function = "clone3", .module = LIBC},
};

#define N(a) ((long)(sizeof(a) / sizeof *(a)))

/* The fingerprint and signature of a record; the signature is checked, then freed. */
static uint64_t fp(int kind, const char *exe, const lg_frame_t *fr, long n, const char *want_sig)
{
    char *sig = NULL;
    uint64_t h = lg_fingerprint(kind, exe, fr, n, &sig);
    CHECK(sig != NULL);
    if (want_sig) CHECK_STR(sig, want_sig);
    if (sig) CHECK_EQ(h, lg_fnv1a(sig)); /* the hash of the signature */
    free(sig);
    return h;
}

/* Fixed values: never change them (see the file's comment). The first is also the example of
 * a baseline line in docs/ci.md. */
static void test_fixed_values(void)
{
    CHECK_EQ(fp(LG_KIND_DEFINITE, EXE, demo, N(demo),
                "definite|leakdemo|make_lost_buffer@leakdemo.c;main@leakdemo.c;_start@leakdemo"),
             0x56cbbe26dfc868d1ull);
    CHECK_EQ(fp(LG_KIND_INDIRECT, EXE, demo, N(demo),
                "indirect|leakdemo|make_lost_buffer@leakdemo.c;main@leakdemo.c;_start@leakdemo"),
             0x53b37b5aeba72497ull);
    CHECK_EQ(fp(LG_KIND_POSSIBLE, "srv", cxx, N(cxx),
                "possible|srv|Cache::grow(unsigned long)@cache.cc;?@libcache.so;"
                "Server::start()@server.cc"),
             0x34a7218098cac925ull);
    CHECK_EQ(fp(LG_KIND_CYCLE, "/usr/bin/python3", sys, N(sys),
                "cycle|python3|_dl_allocate_tls@dl-tls.c;pthread_create@libc.so.6;"
                "start_thread@libc.so.6"),
             0x8e3a32b809c07c0cull);
    CHECK_EQ(fp(LG_KIND_DEFINITE, NULL, NULL, 0, "definite||"), 0x905d62cbd96c9e21ull);
}

static void test_properties(void)
{
    uint64_t base = fp(LG_KIND_DEFINITE, EXE, demo, N(demo), NULL);
    /* rebuilt elsewhere, loaded elsewhere, lines moved */
    CHECK_EQ(fp(LG_KIND_DEFINITE, "/tmp/x/leakdemo", demo_rebuilt, N(demo_rebuilt), NULL), base);
    CHECK_EQ(fp(LG_KIND_DEFINITE, "leakdemo", demo, N(demo), NULL), base);

    /* frames past the third user frame do not count */
    lg_frame_t more[N(demo) + 2];
    memcpy(more, demo, sizeof demo);
    more[N(demo)] = (lg_frame_t){.function = "deeper", .file = "x.c", .module = EXE};
    more[N(demo) + 1] = (lg_frame_t){.function = "deepest", .file = "y.c", .module = EXE};
    CHECK_EQ(fp(LG_KIND_DEFINITE, EXE, more, N(more), NULL), base);
    /* nor do system frames between user frames, nor frames without a module */
    lg_frame_t mixed[N(demo) + 2];
    mixed[0] = (lg_frame_t){.function = "malloc", .module = "/usr/lib/libleakgraph.so"};
    mixed[1] = demo[0];
    mixed[2] = (lg_frame_t){.function = "jit_stub"}; /* no module: not the user's */
    memcpy(mixed + 3, demo + 1, sizeof demo - sizeof demo[0]);
    CHECK_EQ(fp(LG_KIND_DEFINITE, EXE, mixed, N(mixed), NULL), base);

    /* what does count */
    CHECK(fp(LG_KIND_INDIRECT, EXE, demo, N(demo), NULL) != base);
    CHECK(fp(LG_KIND_DEFINITE, "/usr/local/bin/leakdemo2", demo, N(demo), NULL) != base);
    lg_frame_t renamed[N(demo)];
    memcpy(renamed, demo, sizeof demo);
    renamed[1].function = "main2";
    CHECK(fp(LG_KIND_DEFINITE, EXE, renamed, N(renamed), NULL) != base);
    memcpy(renamed, demo, sizeof demo);
    renamed[0].file = "/home/u/src/leakdemo_util.c";
    CHECK(fp(LG_KIND_DEFINITE, EXE, renamed, N(renamed), NULL) != base);
    CHECK(fp(LG_KIND_DEFINITE, EXE, demo, 2, NULL) != base); /* a shorter stack */

    /* a signature is one field of a line: no newline or tab in it */
    lg_frame_t odd[1] = {{.function = "a\tb\nc\rd", .file = "f.c", .module = EXE}};
    fp(LG_KIND_DEFINITE, EXE, odd, 1, "definite|leakdemo|a b c d@f.c");
}

int main(void)
{
    RUN(test_fixed_values);
    RUN(test_properties);
    return check_result("test_fingerprint");
}
