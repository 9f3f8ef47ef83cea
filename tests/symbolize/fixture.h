/* fixture.h: code that the symbolizer tests look up. Each fixture function records a pc inside
 * itself and the source line that pc must map to (__LINE__), so the test can assert exact
 * results. The same sources are compiled into a shared library and into PIE and non-PIE test
 * executables; FIX_SUFFIX (a compile definition: _so or _exe) keeps their names apart.
 * This header must stay valid C and C++, and the fixtures must not depend on the symbolizer. */
#ifndef LG_SYM_FIXTURE_H
#define LG_SYM_FIXTURE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fix_site {
    void *pc;       /* a return address inside the fixture function */
    int line;       /* line of the call in the named (physical) function */
    int inner_line; /* line of the call in the inlined function, for the inline fixture */
} fix_site_t;

#define FIX_CAT2(a, b) a##b
#define FIX_CAT(a, b) FIX_CAT2(a, b)
#define FIX_STR2(a) #a
#define FIX_STR(a) FIX_STR2(a)

/* Declarations of one copy of the fixtures, named with `sfx`. */
#define FIX_DECLARE(sfx)                                                                           \
    void FIX_CAT(fix_plain, sfx)(fix_site_t * site);                                               \
    void *FIX_CAT(fix_plain_addr, sfx)(void);                                                      \
    extern const int FIX_CAT(fix_plain_decl_line, sfx);                                            \
    extern int FIX_CAT(fix_data, sfx);                                                             \
    void FIX_CAT(fix_outer, sfx)(fix_site_t * site);                                               \
    void FIX_CAT(fix_cxx, sfx)(fix_site_t * site);                                                 \
    /* Renamed with an asm label, like glibc's __libc_malloc (__GI___libc_malloc). */              \
    void FIX_CAT(fix_label, sfx)(fix_site_t * site) __asm__("fix_label_asm" FIX_STR(sfx));

#ifdef FIX_SUFFIX
#define FIX(name) FIX_CAT(name, FIX_SUFFIX)
FIX_DECLARE(FIX_SUFFIX)
#endif

#ifdef __cplusplus
}
#endif

#endif /* LG_SYM_FIXTURE_H */
