/* test_symbolize.c: unit tests of analyzer/symbols/symbolize.c, run inside the process whose
 * code they look up. The module map is taken from dl_iterate_phdr as the shim would record it;
 * pcs come from fixture functions that report a return address and the __LINE__ it must map
 * to. Built twice: as a PIE and as a non-PIE executable (LG_EXPECT_ET_EXEC), both loading the
 * fixture shared library. It must assert exact outcomes, and touch nothing outside its build
 * folder. */
#define _GNU_SOURCE
#include "harness.h"
#include "fixture.h"
#include "symbolize.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

FIX_DECLARE(_so)
FIX_DECLARE(_exe)

/* ---- The module map, as the shim records it -------------------------------------------------- */

typedef struct test_module {
    char path[4096];
    uint64_t bias, start, end;
    uint8_t build_id[64];
    size_t build_id_len;
} test_module_t;

static test_module_t modules[256];
static int nmodules;

/* Copy the GNU build-id note found in the PT_NOTE segment [p, p + size) into m. */
static void read_build_id(test_module_t *m, const char *p, size_t size)
{
    size_t off = 0;
    while (off + sizeof(ElfW(Nhdr)) <= size) {
        const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(p + off);
        size_t name_sz = (nh->n_namesz + 3) & ~(size_t)3;
        size_t desc_sz = (nh->n_descsz + 3) & ~(size_t)3;
        const char *name = p + off + sizeof *nh;
        const char *desc = name + name_sz;
        if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
            nh->n_descsz <= sizeof m->build_id) {
            memcpy(m->build_id, desc, nh->n_descsz);
            m->build_id_len = nh->n_descsz;
            return;
        }
        off += sizeof *nh + name_sz + desc_sz;
    }
}

/* dl_iterate_phdr callback: record each file-backed module. */
static int collect_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (nmodules >= (int)(sizeof modules / sizeof modules[0])) return 1;
    test_module_t *m = &modules[nmodules];
    memset(m, 0, sizeof *m);
    if (info->dlpi_name[0] == '\0' && nmodules == 0) {
        ssize_t n = readlink("/proc/self/exe", m->path, sizeof m->path - 1);
        if (n <= 0) return 0;
        m->path[n] = '\0';
    } else if (info->dlpi_name[0] == '/') {
        snprintf(m->path, sizeof m->path, "%s", info->dlpi_name);
    } else {
        return 0; /* the vdso: no file */
    }
    m->bias = info->dlpi_addr;
    m->start = UINT64_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD) {
            uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
            if (lo < m->start) m->start = lo;
            if (hi > m->end) m->end = hi;
        } else if (ph->p_type == PT_NOTE && !m->build_id_len) {
            read_build_id(m, (const char *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz);
        }
    }
    nmodules++;
    return 0;
}

/* The recorded module containing pc, or NULL. */
static const test_module_t *module_of(const void *pc)
{
    for (int i = 0; i < nmodules; i++) {
        if ((uint64_t)(uintptr_t)pc >= modules[i].start && (uint64_t)(uintptr_t)pc < modules[i].end)
            return &modules[i];
    }
    return NULL;
}

/* Register every recorded module; handles equal indices into modules[]. */
static lg_symbolizer_t *new_symbolizer(void)
{
    lg_symbolizer_t *s = lg_sym_new();
    CHECK(s != NULL);
    for (int i = 0; i < nmodules; i++) {
        const test_module_t *m = &modules[i];
        CHECK_EQ(
            lg_sym_add_module(s, m->path, m->bias, m->start, m->end, m->build_id, m->build_id_len),
            i);
    }
    return s;
}

static const char *base_name(const char *path)
{
    if (!path) return NULL;
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- Tests ----------------------------------------------------------------------------------- */

/* A -O0 function: one frame, exact name, file, line, module and offset; its entry address too. */
static void test_plain(const char *sfx, void (*fn)(fix_site_t *), void *(*addr_fn)(void),
                       int decl_line)
{
    char want[64];
    snprintf(want, sizeof want, "fix_plain%s", sfx);
    fix_site_t site = {0};
    fn(&site);
    const test_module_t *m = module_of(site.pc);
    CHECK(m != NULL);
    if (!m) return;

    lg_symbolizer_t *s = new_symbolizer();
    lg_frame_t f[8];
    int n = lg_sym_lookup(s, -1, (uint64_t)(uintptr_t)site.pc, true, f, 8);
    CHECK_EQ(n, 1);
    if (n >= 1) {
        CHECK_STR(f[0].function, want);
        CHECK_STR(base_name(f[0].file), "fixture_plain.c");
        CHECK(f[0].file && f[0].file[0] == '/'); /* joined to comp_dir */
        CHECK_EQ(f[0].line, site.line);
        CHECK(f[0].column > 0);
        CHECK(!f[0].inlined);
        CHECK_STR(f[0].module, m->path);
        CHECK_EQ(f[0].address, (uint64_t)(uintptr_t)site.pc);
        CHECK_EQ(f[0].offset, (uint64_t)(uintptr_t)site.pc - m->bias);
    }

    /* The entry address, not a return address: the function's opening line. */
    uint64_t entry = (uint64_t)(uintptr_t)addr_fn();
    n = lg_sym_lookup(s, (int)(m - modules), entry, false, f, 8);
    CHECK_EQ(n, 1);
    if (n >= 1) {
        CHECK_STR(f[0].function, want);
        CHECK_EQ(f[0].line, decl_line);
        CHECK_EQ(f[0].address, entry);
    }
    lg_sym_free(s);
}

/* A -O2 always_inline function: two frames, the inlined one first with the pc's line, then the
 * named function with the line of the inlined call. */
static void test_inline(const char *sfx, void (*fn)(fix_site_t *))
{
    char want[64];
    snprintf(want, sizeof want, "fix_outer%s", sfx);
    fix_site_t site = {0};
    fn(&site);
    const test_module_t *m = module_of(site.pc);
    CHECK(m != NULL);
    if (!m) return;

    lg_symbolizer_t *s = new_symbolizer();
    lg_frame_t f[8];
    int n = lg_sym_lookup(s, -1, (uint64_t)(uintptr_t)site.pc, true, f, 8);
    CHECK_EQ(n, 2);
    if (n == 2) {
        CHECK_STR(f[0].function, "fix_inner");
        CHECK(f[0].inlined);
        CHECK_STR(base_name(f[0].file), "fixture_inline.c");
        CHECK_EQ(f[0].line, site.inner_line);
        CHECK_STR(f[1].function, want);
        CHECK(!f[1].inlined);
        CHECK_STR(base_name(f[1].file), "fixture_inline.c");
        CHECK_EQ(f[1].line, site.line);
        CHECK_EQ(f[0].address, (uint64_t)(uintptr_t)site.pc);
        CHECK_EQ(f[1].address, (uint64_t)(uintptr_t)site.pc);
        CHECK_EQ(f[1].offset, (uint64_t)(uintptr_t)site.pc - m->bias);
        CHECK_STR(f[1].module, m->path);
    }
    /* A short output array gets the innermost frames (here served from the cache). */
    n = lg_sym_lookup(s, -1, (uint64_t)(uintptr_t)site.pc, true, f, 1);
    CHECK_EQ(n, 1);
    if (n == 1) CHECK_STR(f[0].function, "fix_inner");
    lg_sym_free(s);
}

/* A C function renamed with an asm label: DWARF's DW_AT_name, not the linkage name, and in the
 * stripped copy the ELF symbol (the label), since that is all there is. */
static void test_asm_label(void)
{
    fix_site_t site = {0};
    fix_label_so(&site);
    const test_module_t *m = module_of(site.pc);
    CHECK(m != NULL);
    if (!m) return;
    lg_symbolizer_t *s = new_symbolizer();
    lg_frame_t f[8];
    CHECK_EQ(lg_sym_lookup(s, -1, (uint64_t)(uintptr_t)site.pc, true, f, 8), 1);
    CHECK_STR(f[0].function, "fix_label_so");
    CHECK_EQ(f[0].line, site.line);
    int h = lg_sym_add_module(s, LG_FIX_STRIPPED, m->bias, m->start, m->end, NULL, 0);
    CHECK_EQ(lg_sym_lookup(s, h, (uint64_t)(uintptr_t)site.pc, true, f, 8), 1);
    CHECK_STR(f[0].function, "fix_label_asm_so");
    lg_sym_free(s);
}

/* A C++ method: the demangled name with namespace, class and parameter types. */
static void test_cxx(void)
{
    fix_site_t site = {0};
    fix_cxx_so(&site);
    lg_symbolizer_t *s = new_symbolizer();
    lg_frame_t f[8];
    int n = lg_sym_lookup(s, -1, (uint64_t)(uintptr_t)site.pc, true, f, 8);
    CHECK_EQ(n, 1);
    if (n >= 1) {
        CHECK_STR(f[0].function, "ns::Klass::method(int)");
        CHECK_STR(base_name(f[0].file), "fixture_cxx.cpp");
        CHECK_EQ(f[0].line, site.line);
    }
    lg_sym_free(s);
}

/* The executable's kind matches the build (ET_EXEC at bias 0, or ET_DYN). */
static void test_exe_kind(void)
{
    CHECK(nmodules > 0);
    int fd = open(modules[0].path, O_RDONLY);
    CHECK(fd >= 0);
    if (fd < 0) return;
    ElfW(Ehdr) eh;
    CHECK_EQ(read(fd, &eh, sizeof eh), sizeof eh);
    close(fd);
#ifdef LG_EXPECT_ET_EXEC
    CHECK_EQ(eh.e_type, ET_EXEC);
    CHECK_EQ(modules[0].bias, 0);
#else
    CHECK_EQ(eh.e_type, ET_DYN);
    CHECK(modules[0].bias != 0);
#endif
}

/* A missing file: a frame with function NULL, module and offset set; status -ENOENT. Also: a
 * module registered later over the same range wins for handle -1, even after a cached lookup. */
static void test_missing_and_overlap(void)
{
    fix_site_t site = {0};
    fix_plain_so(&site);
    const test_module_t *m = module_of(site.pc);
    CHECK(m != NULL);
    if (!m) return;
    uint64_t pc = (uint64_t)(uintptr_t)site.pc;

    lg_symbolizer_t *s = new_symbolizer();
    lg_frame_t f[8];
    CHECK_EQ(lg_sym_lookup(s, -1, pc, true, f, 8), 1);
    CHECK_STR(f[0].function, "fix_plain_so");

    const char *gone = "/nonexistent/leakgraph-test/libgone.so";
    int h = lg_sym_add_module(s, gone, m->bias, m->start, m->end, m->build_id, m->build_id_len);
    CHECK_EQ(h, nmodules);
    CHECK_EQ(lg_sym_module_status(s, h), -ENOENT);
    CHECK_EQ(lg_sym_lookup(s, -1, pc, true, f, 8), 1);
    CHECK(f[0].function == NULL);
    CHECK(f[0].file == NULL);
    CHECK_EQ(f[0].line, 0);
    CHECK_STR(f[0].module, gone);
    CHECK_EQ(f[0].offset, pc - m->bias);
    CHECK_EQ(f[0].address, pc);
    /* The original module is still reachable by its handle. */
    CHECK_EQ(lg_sym_lookup(s, (int)(m - modules), pc, true, f, 8), 1);
    CHECK_STR(f[0].function, "fix_plain_so");
    lg_sym_free(s);
}

/* The file on disk has another build-id than recorded: status 0, symbols still given. */
static void test_build_id_mismatch(void)
{
    fix_site_t site = {0};
    fix_plain_so(&site);
    const test_module_t *m = module_of(site.pc);
    CHECK(m != NULL && m->build_id_len > 0);
    if (!m) return;

    lg_symbolizer_t *s = new_symbolizer();
    CHECK_EQ(lg_sym_module_status(s, (int)(m - modules)), 1);
    uint8_t wrong[20];
    memset(wrong, 0xab, sizeof wrong);
    int h = lg_sym_add_module(s, m->path, m->bias, m->start, m->end, wrong, sizeof wrong);
    CHECK(h >= 0);
    CHECK_EQ(lg_sym_module_status(s, h), 0);
    /* No recorded build-id: nothing to contradict. */
    int h2 = lg_sym_add_module(s, m->path, m->bias, m->start, m->end, NULL, 0);
    CHECK_EQ(lg_sym_module_status(s, h2), 1);

    lg_frame_t f[8];
    CHECK_EQ(lg_sym_lookup(s, h, (uint64_t)(uintptr_t)site.pc, true, f, 8), 1);
    CHECK_STR(f[0].function, "fix_plain_so");
    CHECK_EQ(f[0].line, site.line);
    lg_sym_free(s);
}

/* A copy of the library with only .dynsym left: the name comes from the ELF symbol table. */
static void test_stripped(void)
{
    fix_site_t site = {0};
    fix_plain_so(&site);
    const test_module_t *m = module_of(site.pc);
    CHECK(m != NULL);
    if (!m) return;
    lg_symbolizer_t *s = lg_sym_new();
    int h = lg_sym_add_module(s, LG_FIX_STRIPPED, m->bias, m->start, m->end, m->build_id,
                              m->build_id_len);
    CHECK_EQ(lg_sym_module_status(s, h), 1);
    lg_frame_t f[8];
    CHECK_EQ(lg_sym_lookup(s, h, (uint64_t)(uintptr_t)site.pc, true, f, 8), 1);
    CHECK_STR(f[0].function, "fix_plain_so");
    CHECK(f[0].file == NULL);
    CHECK_EQ(f[0].line, 0);
    CHECK_STR(f[0].module, LG_FIX_STRIPPED);
    lg_sym_free(s);
}

/* A copy whose DWARF lives in a separate file found through .gnu_debuglink. */
static void test_debuglink(void)
{
    fix_site_t site = {0};
    fix_outer_so(&site);
    const test_module_t *m = module_of(site.pc);
    CHECK(m != NULL);
    if (!m) return;
    lg_symbolizer_t *s = lg_sym_new();
    int h = lg_sym_add_module(s, LG_FIX_DEBUGLINK, m->bias, m->start, m->end, m->build_id,
                              m->build_id_len);
    lg_frame_t f[8];
    CHECK_EQ(lg_sym_lookup(s, h, (uint64_t)(uintptr_t)site.pc, true, f, 8), 2);
    CHECK_STR(f[0].function, "fix_inner");
    CHECK_EQ(f[0].line, site.inner_line);
    CHECK_STR(f[1].function, "fix_outer_so");
    CHECK_EQ(f[1].line, site.line);
    lg_sym_free(s);
}

/* Bad input never crashes and never invents a name. */
static void test_garbage(void)
{
    lg_symbolizer_t *s = new_symbolizer();
    lg_frame_t f[8];
    /* No module at all. */
    CHECK_EQ(lg_sym_lookup(s, -1, 0x10, true, f, 8), 1);
    CHECK(f[0].function == NULL && f[0].module == NULL && f[0].file == NULL);
    CHECK_EQ(f[0].address, 0x10);
    CHECK_EQ(f[0].offset, 0x10);
    /* Data, not code (in the library; in the non-PIE build, in the executable's copy of it). */
    const test_module_t *m = module_of(&fix_data_so);
    CHECK(m != NULL);
    if (m) {
        int h = (int)(m - modules);
        CHECK_EQ(lg_sym_lookup(s, h, (uint64_t)(uintptr_t)&fix_data_so, false, f, 8), 1);
        CHECK(f[0].function == NULL);
        CHECK_STR(f[0].module, m->path);
        /* Far outside the module, explicitly asked for. */
        CHECK_EQ(lg_sym_lookup(s, h, UINT64_MAX, true, f, 8), 1);
        CHECK(f[0].function == NULL);
        CHECK_EQ(lg_sym_lookup(s, h, 0, true, f, 8), 1);
        CHECK(f[0].function == NULL);
    }
    /* A file that is not ELF. */
    int h = lg_sym_add_module(s, "/proc/self/status", 0, 0x1000, 0x2000, NULL, 0);
    CHECK_EQ(lg_sym_module_status(s, h), -ENOEXEC);
    CHECK_EQ(lg_sym_lookup(s, h, 0x1234, true, f, 8), 1);
    CHECK(f[0].function == NULL);
    /* A directory. */
    h = lg_sym_add_module(s, "/", 0, 0x1000, 0x2000, NULL, 0);
    CHECK_EQ(lg_sym_module_status(s, h), -ENOEXEC);
    /* Bad arguments. */
    CHECK_EQ(lg_sym_lookup(s, 100000, 0x1234, true, f, 8), -EINVAL);
    CHECK_EQ(lg_sym_lookup(s, -2, 0x1234, true, f, 8), -EINVAL);
    CHECK_EQ(lg_sym_lookup(s, -1, 0x1234, true, f, 0), -EINVAL);
    CHECK_EQ(lg_sym_lookup(s, -1, 0x1234, true, NULL, 8), -EINVAL);
    CHECK_EQ(lg_sym_lookup(NULL, -1, 0x1234, true, f, 8), -EINVAL);
    CHECK_EQ(lg_sym_module_status(s, -1), -EINVAL);
    CHECK_EQ(lg_sym_add_module(s, NULL, 0, 0, 0, NULL, 0), -EINVAL);
    CHECK_EQ(lg_sym_add_module(s, "/x", 0, 0, 0, NULL, 4), -EINVAL);
    lg_sym_free(s);
    lg_sym_free(NULL);
}

/* Repeated lookups are served from the cache: same interned strings, and fast. Also grows the
 * cache past its initial size with many distinct pcs. */
static void test_cache(void)
{
    fix_site_t site = {0};
    fix_outer_so(&site);
    uint64_t pc = (uint64_t)(uintptr_t)site.pc;
    lg_symbolizer_t *s = new_symbolizer();
    lg_frame_t a[8], b[8];
    CHECK_EQ(lg_sym_lookup(s, -1, pc, true, a, 8), 2);

    const test_module_t *m = module_of(site.pc);
    for (uint64_t i = 0; m && i < 20000; i++) /* distinct pcs across the library */
        CHECK(lg_sym_lookup(s, -1, m->start + i * 4 % (m->end - m->start), i & 1, b, 8) >= 1);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 1000000; i++) {
        if (lg_sym_lookup(s, -1, pc, true, b, 8) != 2) {
            CHECK(!"cached lookup changed");
            break;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(secs < 2.0); /* about 20 ns a lookup without sanitizers; generous for ASan */
    CHECK(a[0].function == b[0].function && a[1].function == b[1].function);
    CHECK(a[0].file == b[0].file);
    CHECK_EQ(a[1].line, b[1].line);
    lg_sym_free(s);
}

/* Without LEAKGRAPH_DEBUGINFOD=1 the symbolizer turns debuginfod off by removing
 * DEBUGINFOD_URLS; with it, the variable is left alone. Run first, and leaves both unset. */
static void test_debuginfod_env(void)
{
    setenv("DEBUGINFOD_URLS", "http://127.0.0.1:9", 1);
    unsetenv("LEAKGRAPH_DEBUGINFOD");
    lg_symbolizer_t *s = lg_sym_new();
    CHECK(getenv("DEBUGINFOD_URLS") == NULL);
    lg_sym_free(s);

    setenv("DEBUGINFOD_URLS", "http://127.0.0.1:9", 1);
    setenv("LEAKGRAPH_DEBUGINFOD", "1", 1);
    s = lg_sym_new();
    CHECK_STR(getenv("DEBUGINFOD_URLS"), "http://127.0.0.1:9");
    lg_sym_free(s);
    unsetenv("DEBUGINFOD_URLS");
    unsetenv("LEAKGRAPH_DEBUGINFOD");
}

/* Direct calls: taking the address of a library function in a non-PIE executable would make
 * the executable's PLT slot that function's canonical address, also inside the library. */
static void call_plain_exe(fix_site_t *s)
{
    fix_plain_exe(s);
}
static void call_plain_so(fix_site_t *s)
{
    fix_plain_so(s);
}
static void call_outer_exe(fix_site_t *s)
{
    fix_outer_exe(s);
}
static void call_outer_so(fix_site_t *s)
{
    fix_outer_so(s);
}
static void *call_plain_addr_exe(void)
{
    return fix_plain_addr_exe();
}
static void *call_plain_addr_so(void)
{
    return fix_plain_addr_so();
}

int main(void)
{
    dl_iterate_phdr(collect_module, NULL);

    test_debuginfod_env();
    test_exe_kind();
    test_plain("_exe", call_plain_exe, call_plain_addr_exe, fix_plain_decl_line_exe);
    test_plain("_so", call_plain_so, call_plain_addr_so, fix_plain_decl_line_so);
    test_inline("_exe", call_outer_exe);
    test_inline("_so", call_outer_so);
    test_cxx();
    test_asm_label();
    test_missing_and_overlap();
    test_build_id_mismatch();
    test_stripped();
    test_debuglink();
    test_garbage();
    test_cache();

    return check_result("symbolize");
}
