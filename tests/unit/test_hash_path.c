/* test_hash_path.c: the header-only helpers of common/: hash.h (lg_fnv1a against the published
 * 64-bit FNV-1a test vectors, since baseline files persist its results; lg_fnv1a_from as its
 * continuation; lg_mix64 spreading aligned keys) and path.h (lg_basename and
 * lg_basename_or_unknown: the last component, a pointer into the argument, never a copy). */
#include <stdint.h>

#include "harness.h"
#include "hash.h"
#include "path.h"

static void test_fnv1a(void)
{
    CHECK_EQ(LG_FNV1A_INIT, 0xcbf29ce484222325ull);
    CHECK_EQ(lg_fnv1a(""), 0xcbf29ce484222325ull);
    CHECK_EQ(lg_fnv1a("a"), 0xaf63dc4c8601ec8cull);
    CHECK_EQ(lg_fnv1a("foobar"), 0x85944171f73967e8ull);
    CHECK_EQ(lg_fnv1a_from(lg_fnv1a("foo"), "bar"), lg_fnv1a("foobar"));
    CHECK_EQ(lg_fnv1a_from(LG_FNV1A_INIT, "foobar"), lg_fnv1a("foobar"));
    CHECK(lg_fnv1a("\xff") != lg_fnv1a("\x7f")); /* bytes are unsigned */
}

static void test_mix64(void)
{
    CHECK_EQ(lg_mix64(0), 0); /* the finalizer maps 0 to 0 */
    /* 4096 addresses 64 bytes apart spread over the low bits of a 256-slot table */
    unsigned hits[256] = {0};
    for (uint64_t i = 1; i <= 4096; i++)
        hits[lg_mix64(0x7f0000000000ull + i * 64) & 255]++;
    unsigned most = 0;
    for (int i = 0; i < 256; i++)
        if (hits[i] > most) most = hits[i];
    CHECK_MSG(most < 48, "a slot got %u of 4096 keys (16 expected)", most);
}

static void test_basename(void)
{
    const char *p = "/usr/lib/libc.so.6";
    CHECK_STR(lg_basename(p), "libc.so.6");
    CHECK(lg_basename(p) == p + 9); /* a pointer into p */
    const char *q = "leakdemo";
    CHECK(lg_basename(q) == q);
    CHECK_STR(lg_basename("dir/"), "");
    CHECK_STR(lg_basename("/"), "");
    CHECK_STR(lg_basename(""), "");
    CHECK_STR(lg_basename("a/b/c.c"), "c.c");
    CHECK_STR(lg_basename("./x"), "x");
    CHECK_STR(lg_basename_or_unknown(NULL), "?");
    CHECK_STR(lg_basename_or_unknown("/opt/app/bin/app"), "app");
    CHECK_STR(lg_basename_or_unknown(""), "");
}

int main(void)
{
    RUN(test_fnv1a);
    RUN(test_mix64);
    RUN(test_basename);
    return check_result("test_hash_path");
}
