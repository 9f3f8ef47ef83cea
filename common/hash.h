/* hash.h: the project's hash functions, written once. Header-only and free of libc calls, so the
 * shim may use it on its hot paths as well as the analyzer.
 *
 * lg_fnv1a is persisted: baseline files store fingerprints made with it (analyzer/ci), so its
 * result must never change. lg_mix64 only spreads keys over in-memory tables. */
#ifndef LG_COMMON_HASH_H
#define LG_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define LG_FNV1A_INIT 0xcbf29ce484222325ull
#define LG_FNV1A_PRIME 0x100000001b3ull

/* 64-bit FNV-1a of a NUL-terminated string, continuing from h (LG_FNV1A_INIT to start). */
static inline uint64_t lg_fnv1a_from(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= LG_FNV1A_PRIME;
    }
    return h;
}

/* 64-bit FNV-1a of a NUL-terminated string. */
static inline uint64_t lg_fnv1a(const char *s)
{
    return lg_fnv1a_from(LG_FNV1A_INIT, s);
}

/* splitmix64's finalizer: a cheap full-avalanche mix, so that aligned addresses and pcs spread
 * over a power-of-two table. */
static inline uint64_t lg_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

#endif
