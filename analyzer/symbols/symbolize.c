/* symbolize.c: pc -> source frames, with libdwfl. This file owns the module table, one lazily
 * opened Dwfl session per module, the (handle, pc) result cache and the interned strings that
 * frames point to. It must not print, abort, or trust its input: a missing or non-ELF file, a
 * module without symbols or a pc outside any code all give a frame with function NULL, never a
 * crash. It knows nothing of the trace format; the caller passes modules and pcs in.
 *
 * Design
 *   modules   an array in registration order; a handle is an index. Each module is in one of
 *             three states: UNOPENED (registered only), READY (it holds a shared file, below),
 *             FAILED (open error kept as a negative errno).
 *   files     one Dwfl per distinct ELF file, shared by every module of every symbolizer of
 *             this process that names the same file: same path, device, inode, size and
 *             modification time (a rebuilt file is another file). A report over the traces of
 *             a fork storm opens the program, libc and the loader once, not once per trace
 *             (a Dwfl with libc's DWARF costs about 16 MB and 50 ms). The file is reported at
 *             its own addresses (load base 0), so one session serves any load bias: a lookup
 *             translates the runtime pc by the module's bias (not for ET_EXEC, whose addresses
 *             are absolute). Counted references: the last module that holds a file ends its
 *             Dwfl. One Dwfl per file, not one for the whole process, because modules may
 *             overlap in time-shared address space.
 *   cache     open addressing, linear probing, keyed by (requested handle, pc, is_return).
 *             A value is a run of frames in one growing frame pool. For handle -1 the entry also
 *             remembers how many modules were registered when it was computed; a later
 *             registration may change which module covers the pc, so such an entry is recomputed.
 *   strings   interned in a hash set: function and file names repeat across thousands of pcs.
 *             Neither table is common/addrmap: their keys are not one non-zero word
 *             (analyzer/symbols/README.md says why).
 *
 * Inlined frames: dwarf_getscopes gives the innermost scope DIE at the pc; dwarf_getscopes_die on
 * that DIE gives its concrete parents in the DIE tree (lexical blocks, inlined_subroutine
 * instances, then the subprogram). dwarf_getscopes' own list is not used past [0] because after
 * an inlined instance it continues with the scopes of the abstract definition, not the caller.
 * Frame k's line is the pc's line for k = 0, else the DW_AT_call_file/line/column of the
 * inlined_subroutine that made frame k-1. */
/* POSIX 2008 for strdup, unsetenv, O_CLOEXEC: the build is strict C11 without extensions. */
#define _POSIX_C_SOURCE 200809L

#include "symbolize.h"
#include "hash.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Tunables ------------------------------------------------------------------------------ */

/* Initial cache slots. A report touches thousands of distinct pcs; start at a size that holds a
 * small one without rehashing. Must be a power of two (the probe masks with size - 1). */
#define LG_SYM_CACHE_INITIAL 4096u
/* Initial string-set slots; same rule. */
#define LG_SYM_STRINGS_INITIAL 1024u
/* Deepest chain of inlined frames kept for one pc. Real code rarely passes 20; the bound keeps
 * the scratch array on the stack. */
#define LG_SYM_MAX_INLINE 64
_Static_assert((LG_SYM_CACHE_INITIAL & (LG_SYM_CACHE_INITIAL - 1)) == 0, "power of two");
_Static_assert((LG_SYM_STRINGS_INITIAL & (LG_SYM_STRINGS_INITIAL - 1)) == 0, "power of two");
_Static_assert(LG_SYM_MAX_INLINE >= 1, "at least the physical frame");

/* __cxa_demangle from libstdc++ (the Itanium C++ ABI). Declared here to keep this file C. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* ---- Types --------------------------------------------------------------------------------- */

enum { LG_MOD_UNOPENED, LG_MOD_READY, LG_MOD_FAILED };

/* One opened ELF file, shared (see "files" in the design note). */
typedef struct lg_sym_file {
    struct lg_sym_file *next; /* in lg_files */
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    size_t refs;          /* modules holding it */
    Dwfl *dwfl;
    Dwfl_Module *mod;
    Dwarf_Addr low, high; /* the file's own address range (load base 0) */
    bool absolute;        /* ET_EXEC: runtime addresses are file addresses */
} lg_sym_file_t;

/* The files opened by this process's symbolizers and still held by one. */
static lg_sym_file_t *lg_files;

typedef struct lg_sym_module {
    const char *path; /* interned */
    uint64_t load_bias, start, end;
    uint8_t *build_id;
    size_t build_id_len;
    int state;            /* LG_MOD_* */
    int status;           /* lg_sym_module_status() result, valid unless UNOPENED */
    lg_sym_file_t *file;  /* READY only */
    Dwfl_Module *mod;     /* READY only: file->mod */
} lg_sym_module_t;

typedef struct lg_sym_entry {
    uint64_t pc;
    int32_t handle; /* as requested: -1 or a module index; INT32_MIN marks an empty slot */
    uint32_t is_ret;
    uint32_t nmods; /* modules registered when computed (only checked for handle -1) */
    uint32_t first; /* index of the first frame in the pool */
    uint32_t nframes;
} lg_sym_entry_t;

struct lg_symbolizer {
    lg_sym_module_t *mods;
    size_t nmods, capmods;

    lg_sym_entry_t *cache;
    size_t cache_size, cache_used;

    lg_frame_t *pool;
    size_t npool, cappool;

    char **strings;
    size_t strings_size, strings_used;
};

#define LG_EMPTY_HANDLE INT32_MIN

/* libdwfl callbacks for files read from disk (no live process). debuginfo_path NULL means
 * libdwfl's default search path. Must outlive every Dwfl, hence static. */
static char *lg_debuginfo_path = NULL;
static const Dwfl_Callbacks lg_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &lg_debuginfo_path,
};

/* ---- Hashing and the string set ------------------------------------------------------------ */

/* Double the string set. Returns 0 or -ENOMEM (the set is unchanged then). */
static int lg_strings_grow(lg_symbolizer_t *s)
{
    size_t size = s->strings_size * 2;
    char **t = calloc(size, sizeof *t);
    if (!t) return -ENOMEM;
    for (size_t i = 0; i < s->strings_size; i++) {
        char *str = s->strings[i];
        if (!str) continue;
        size_t j = lg_fnv1a(str) & (size - 1);
        while (t[j])
            j = (j + 1) & (size - 1);
        t[j] = str;
    }
    free(s->strings);
    s->strings = t;
    s->strings_size = size;
    return 0;
}

/* Return the interned copy of `str` (created if new), or NULL for str NULL or out of memory. */
static const char *lg_intern(lg_symbolizer_t *s, const char *str)
{
    if (!str) return NULL;
    if ((s->strings_used + 1) * 2 > s->strings_size && lg_strings_grow(s) < 0) return NULL;
    size_t mask = s->strings_size - 1;
    size_t i = lg_fnv1a(str) & mask;
    while (s->strings[i]) {
        if (strcmp(s->strings[i], str) == 0) return s->strings[i];
        i = (i + 1) & mask;
    }
    char *copy = strdup(str);
    if (!copy) return NULL;
    s->strings[i] = copy;
    s->strings_used++;
    return copy;
}

/* ---- Shared files -------------------------------------------------------------------------- */

/* Drops a module's reference to f; the last one ends its Dwfl. NULL is a no-op. */
static void lg_file_release(lg_sym_file_t *f)
{
    if (!f || --f->refs) return;
    for (lg_sym_file_t **p = &lg_files; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    dwfl_end(f->dwfl);
    free(f->path);
    free(f);
}

/* The shared file for `path` as fstat saw it: found (one more reference), or opened with libdwfl
 * and registered. NULL with *err = -ENOMEM or -ENOEXEC when it cannot be opened. */
static lg_sym_file_t *lg_file_get(const char *path, const struct stat *st, int *err)
{
    for (lg_sym_file_t *f = lg_files; f; f = f->next)
        if (f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
            f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
            strcmp(f->path, path) == 0) {
            f->refs++;
            return f;
        }
    *err = -ENOMEM;
    lg_sym_file_t *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path)) || !(f->dwfl = dwfl_begin(&lg_callbacks))) {
        if (f) free(f->path);
        free(f);
        return NULL;
    }
    *err = -ENOEXEC;
    dwfl_report_begin(f->dwfl);
    /* Base 0 with add_p_vaddr: the module's addresses are the file's own (ET_EXEC's are
     * absolute whatever the base). */
    f->mod = dwfl_report_elf(f->dwfl, path, path, -1, 0, true);
    GElf_Addr bias;
    Elf *elf = f->mod ? dwfl_module_getelf(f->mod, &bias) : NULL;
    GElf_Ehdr eh;
    if (!f->mod || dwfl_report_end(f->dwfl, NULL, NULL) != 0 || !elf || !gelf_getehdr(elf, &eh)) {
        dwfl_end(f->dwfl);
        free(f->path);
        free(f);
        return NULL;
    }
    f->absolute = eh.e_type == ET_EXEC;
    if (!dwfl_module_info(f->mod, NULL, &f->low, &f->high, NULL, NULL, NULL, NULL))
        f->low = f->high = 0;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->size = st->st_size;
    f->mtime = st->st_mtim;
    f->refs = 1;
    f->next = lg_files;
    lg_files = f;
    return f;
}

/* ---- Lifecycle ----------------------------------------------------------------------------- */

lg_symbolizer_t *lg_sym_new(void)
{
    const char *dbg = getenv("LEAKGRAPH_DEBUGINFOD");
    if (!dbg || strcmp(dbg, "1") != 0) unsetenv("DEBUGINFOD_URLS");

    lg_symbolizer_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cache = malloc(LG_SYM_CACHE_INITIAL * sizeof *s->cache);
    s->strings = calloc(LG_SYM_STRINGS_INITIAL, sizeof *s->strings);
    if (!s->cache || !s->strings) {
        free(s->cache);
        free(s->strings);
        free(s);
        return NULL;
    }
    s->cache_size = LG_SYM_CACHE_INITIAL;
    for (size_t i = 0; i < s->cache_size; i++)
        s->cache[i].handle = LG_EMPTY_HANDLE;
    s->strings_size = LG_SYM_STRINGS_INITIAL;
    return s;
}

void lg_sym_free(lg_symbolizer_t *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nmods; i++) {
        lg_file_release(s->mods[i].file);
        free(s->mods[i].build_id);
    }
    free(s->mods);
    free(s->cache);
    free(s->pool);
    for (size_t i = 0; i < s->strings_size; i++)
        free(s->strings[i]);
    free(s->strings);
    free(s);
}

int lg_sym_add_module(lg_symbolizer_t *s, const char *path, uint64_t load_bias, uint64_t start,
                      uint64_t end, const uint8_t *build_id, size_t build_id_len)
{
    if (!s || !path || (build_id_len && !build_id) || s->nmods >= INT32_MAX) return -EINVAL;
    if (s->nmods == s->capmods) {
        size_t cap = s->capmods ? s->capmods * 2 : 16;
        lg_sym_module_t *m = realloc(s->mods, cap * sizeof *m);
        if (!m) return -ENOMEM;
        s->mods = m;
        s->capmods = cap;
    }
    lg_sym_module_t *m = &s->mods[s->nmods];
    memset(m, 0, sizeof *m);
    m->path = lg_intern(s, path);
    if (!m->path) return -ENOMEM;
    if (build_id_len) {
        m->build_id = malloc(build_id_len);
        if (!m->build_id) return -ENOMEM;
        memcpy(m->build_id, build_id, build_id_len);
        m->build_id_len = build_id_len;
    }
    m->load_bias = load_bias;
    m->start = start;
    m->end = end;
    m->state = LG_MOD_UNOPENED;
    return (int)s->nmods++;
}

/* ---- Modules ------------------------------------------------------------------------------- */

/* Compare the build-id of the opened file with the recorded one: 1 same (or none recorded),
 * 0 different or the file has none. */
static int lg_check_build_id(lg_sym_module_t *m)
{
    if (m->build_id_len == 0) return 1;
    GElf_Addr bias;
    (void)dwfl_module_getelf(m->mod, &bias); /* the build-id is read from the main ELF */
    const unsigned char *bits = NULL;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(m->mod, &bits, &vaddr);
    if (len <= 0 || !bits) return 0;
    return (size_t)len == m->build_id_len && memcmp(bits, m->build_id, m->build_id_len) == 0;
}

/* Open module `m` if not done yet: check the file and take its shared session (opened if no
 * symbolizer holds it yet). Afterwards m->state is READY or FAILED, and m->status is set. Never
 * fails itself. */
static void lg_module_open(lg_sym_module_t *m)
{
    if (m->state != LG_MOD_UNOPENED) return;
    m->state = LG_MOD_FAILED;

    /* Opened once here only to tell "missing" from "unreadable" from "not ELF": libdwfl's own
     * error codes do not carry errno. */
    int fd = open(m->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        m->status = -errno;
        return;
    }
    struct stat st; /* also the file's identity, to share its session */
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    close(fd);
    if (!ok) {
        m->status = -ENOEXEC;
        return;
    }

    if (!(m->file = lg_file_get(m->path, &st, &m->status))) return;
    m->mod = m->file->mod;
    m->state = LG_MOD_READY;
    m->status = lg_check_build_id(m);
}

int lg_sym_module_status(lg_symbolizer_t *s, int handle)
{
    if (!s || handle < 0 || (size_t)handle >= s->nmods) return -EINVAL;
    lg_sym_module_t *m = &s->mods[handle];
    lg_module_open(m);
    return m->status;
}

/* The latest registered module whose [start, end) holds pc, or -1. Linear, but only reached on a
 * cache miss. */
static int lg_find_module(const lg_symbolizer_t *s, uint64_t pc)
{
    for (size_t i = s->nmods; i-- > 0;) {
        if (pc >= s->mods[i].start && pc < s->mods[i].end) return (int)i;
    }
    return -1;
}

/* ---- DWARF --------------------------------------------------------------------------------- */

/* Intern the demangled form of an Itanium C++ name (_Z...). NULL if `name` is not one or does not
 * demangle. */
static const char *lg_intern_demangled(lg_symbolizer_t *s, const char *name)
{
    if (!name || name[0] != '_' || name[1] != 'Z') return NULL;
    int status = -1;
    char *d = __cxa_demangle(name, NULL, NULL, &status);
    const char *r = d && status == 0 ? lg_intern(s, d) : NULL;
    free(d);
    return r;
}

/* Intern an ELF symbol name, demangled if it is a C++ name. NULL or "" in, NULL out. */
static const char *lg_intern_symbol(lg_symbolizer_t *s, const char *name)
{
    if (!name || !*name) return NULL;
    const char *d = lg_intern_demangled(s, name);
    return d ? d : lg_intern(s, name);
}

/* Name of a subprogram or inlined_subroutine DIE, following DW_AT_abstract_origin and
 * DW_AT_specification: the linkage name demangled if it is a C++ name (it carries namespaces,
 * classes and parameter types), else DW_AT_name (a C function renamed with an asm label, as
 * glibc's __libc_malloc -> __GI___libc_malloc, has a linkage name that is not its source
 * name), else the raw linkage name. NULL if none. */
static const char *lg_die_name(lg_symbolizer_t *s, Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (!link) link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    const char *d = lg_intern_demangled(s, link);
    if (d) return d;
    const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
    if (name && *name) return lg_intern(s, name);
    return link && *link ? lg_intern(s, link) : NULL;
}

/* Intern `path`, joined to `dir` (a comp_dir) when it is relative. NULL path gives NULL. */
static const char *lg_intern_path(lg_symbolizer_t *s, const char *dir, const char *path)
{
    if (!path || !*path) return NULL;
    if (path[0] == '/' || !dir || !*dir) return lg_intern(s, path);
    size_t ld = strlen(dir), lp = strlen(path);
    char *full = malloc(ld + 1 + lp + 1);
    if (!full) return NULL;
    memcpy(full, dir, ld);
    full[ld] = '/';
    memcpy(full + ld + 1, path, lp + 1);
    const char *r = lg_intern(s, full);
    free(full);
    return r;
}

/* Fill the call site (file, line, column) of inlined_subroutine `inl` into `f`. */
static void lg_call_site(lg_symbolizer_t *s, Dwarf_Die *inl, lg_frame_t *f)
{
    Dwarf_Attribute attr;
    Dwarf_Word val;
    Dwarf_Die cu;
    Dwarf_Files *files;
    size_t nfiles;
    if (!dwarf_diecu(inl, &cu, NULL, NULL)) return;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &val) == 0 &&
        dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 && val < nfiles) {
        const char *dir = dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &attr));
        f->file = lg_intern_path(s, dir, dwarf_filesrc(files, val, NULL, NULL));
    }
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &val) == 0 && val <= INT32_MAX)
        f->line = (int)val;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_column, &attr), &val) == 0 && val <= INT32_MAX)
        f->column = (int)val;
}

/* Fill the line-table location of `addr` (an address of m's file) into `f`. */
static void lg_pc_line(lg_symbolizer_t *s, lg_sym_module_t *m, Dwarf_Addr addr, lg_frame_t *f)
{
    Dwfl_Line *line = dwfl_module_getsrc(m->mod, addr);
    if (!line) return;
    int lineno = 0, col = 0;
    const char *file = dwfl_lineinfo(line, NULL, &lineno, &col, NULL, NULL);
    f->file = lg_intern_path(s, dwfl_line_comp_dir(line), file);
    f->line = lineno > 0 ? lineno : 0;
    f->column = col > 0 ? col : 0;
}

/* Symbolize `addr` (an address of m's file, already pc - 1 for return addresses) in the READY
 * module m from DWARF. Writes up to `max` frames to `out` (template-initialized by the caller);
 * returns how many, 0 if DWARF knows no function here. */
static int lg_dwarf_frames(lg_symbolizer_t *s, lg_sym_module_t *m, Dwarf_Addr addr, lg_frame_t *out,
                           int max)
{
    Dwarf_Addr bias = 0;
    Dwarf_Die *cudie = dwfl_module_addrdie(m->mod, addr, &bias);
    if (!cudie) return 0;
    Dwarf_Die *scopes = NULL;
    int nscopes = dwarf_getscopes(cudie, addr - bias, &scopes);
    if (nscopes <= 0) {
        free(scopes);
        return 0;
    }
    /* Without an inlined instance, dwarf_getscopes' list is already the concrete chain; with
     * one, take the concrete parents of the innermost scope (see the design note at the top).
     * The test saves a second walk of the CU on the common, non-inlined pcs. */
    bool has_inline = false;
    for (int i = 0; i < nscopes; i++)
        has_inline |= dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine;
    int nchain = nscopes;
    if (has_inline) {
        Dwarf_Die inner = scopes[0];
        free(scopes);
        scopes = NULL;
        nchain = dwarf_getscopes_die(&inner, &scopes);
        if (nchain <= 0) {
            free(scopes);
            return 0;
        }
    }

    int n = 0;
    Dwarf_Die *made_by = NULL; /* inlined_subroutine that produced the previous frame */
    for (int i = 0; i < nchain && n < max; i++) {
        Dwarf_Die *die = &scopes[i];
        int tag = dwarf_tag(die);
        if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine &&
            tag != DW_TAG_entry_point)
            continue;
        lg_frame_t *f = &out[n];
        f->function = lg_die_name(s, die);
        if (n == 0)
            lg_pc_line(s, m, addr, f);
        else
            lg_call_site(s, made_by, f);
        n++;
        if (tag != DW_TAG_inlined_subroutine) break; /* the physical function: done */
        f->inlined = true;
        made_by = die;
    }
    /* A chain that ends on an inlined frame (no subprogram found) leaves nothing to inline into. */
    if (n > 0 && out[n - 1].inlined && n < max) out[n - 1].inlined = false;
    if (n == 1 && !out[0].function) n = 0; /* nameless: let the ELF symbol table try */
    free(scopes);
    return n;
}

/* Name of the ELF symbol (.symtab, else .dynsym) covering addr, if it is code. NULL if none. */
static const char *lg_elf_name(lg_symbolizer_t *s, lg_sym_module_t *m, Dwarf_Addr addr)
{
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(m->mod, addr, &off, &sym, NULL, NULL, NULL);
    if (!name) return NULL;
    int type = GELF_ST_TYPE(sym.st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) return NULL;
    return lg_intern_symbol(s, name);
}

/* Compute the frames of (handle, pc) into out[0..max-1]; returns how many (>= 1). */
static int lg_symbolize(lg_symbolizer_t *s, int handle, uint64_t pc, bool is_ret, lg_frame_t *out,
                        int max)
{
    lg_frame_t tmpl = {.address = pc, .offset = pc};
    if (handle < 0) handle = lg_find_module(s, pc);
    if (handle < 0) {
        out[0] = tmpl;
        return 1;
    }
    lg_sym_module_t *m = &s->mods[handle];
    tmpl.module = m->path;
    tmpl.offset = pc - m->load_bias;
    for (int i = 0; i < max; i++)
        out[i] = tmpl;

    lg_module_open(m);
    if (m->state != LG_MOD_READY) return 1;
    Dwarf_Addr addr = is_ret && pc > 0 ? pc - 1 : pc;
    if (!m->file->absolute) addr -= m->load_bias; /* the file's own address */
    if (addr < m->file->low || addr >= m->file->high) return 1; /* not in this file at all */

    int n = lg_dwarf_frames(s, m, addr, out, max);
    if (n > 0) return n;
    for (int i = 0; i < max; i++)
        out[i] = tmpl; /* drop any partial DWARF result */
    out[0].function = lg_elf_name(s, m, addr);
    /* Line info may exist without a DWARF function (e.g. assembly with -g). */
    lg_pc_line(s, m, addr, &out[0]);
    return 1;
}

/* ---- Cache --------------------------------------------------------------------------------- */

/* Slot index to probe first for a key. */
static size_t lg_slot(const lg_symbolizer_t *s, int handle, uint64_t pc, bool is_ret)
{
    uint64_t h = lg_mix64(pc ^ ((uint64_t)(uint32_t)handle << 1) ^ (uint64_t)is_ret);
    return (size_t)h & (s->cache_size - 1);
}

/* Double the cache. Returns 0 or -ENOMEM (the cache is unchanged then). */
static int lg_cache_grow(lg_symbolizer_t *s)
{
    size_t old = s->cache_size;
    lg_sym_entry_t *oldc = s->cache;
    lg_sym_entry_t *c = malloc(old * 2 * sizeof *c);
    if (!c) return -ENOMEM;
    for (size_t i = 0; i < old * 2; i++)
        c[i].handle = LG_EMPTY_HANDLE;
    s->cache = c;
    s->cache_size = old * 2;
    for (size_t i = 0; i < old; i++) {
        if (oldc[i].handle == LG_EMPTY_HANDLE) continue;
        size_t j = lg_slot(s, oldc[i].handle, oldc[i].pc, oldc[i].is_ret);
        while (c[j].handle != LG_EMPTY_HANDLE)
            j = (j + 1) & (s->cache_size - 1);
        c[j] = oldc[i];
    }
    free(oldc);
    return 0;
}

/* Append n frames to the pool; returns the index of the first, or -ENOMEM. */
static int64_t lg_pool_append(lg_symbolizer_t *s, const lg_frame_t *f, int n)
{
    if (s->npool + (size_t)n > UINT32_MAX) return -ENOMEM;
    if (s->npool + (size_t)n > s->cappool) {
        size_t cap = s->cappool ? s->cappool * 2 : 1024;
        while (cap < s->npool + (size_t)n)
            cap *= 2;
        lg_frame_t *p = realloc(s->pool, cap * sizeof *p);
        if (!p) return -ENOMEM;
        s->pool = p;
        s->cappool = cap;
    }
    memcpy(&s->pool[s->npool], f, (size_t)n * sizeof *f);
    s->npool += (size_t)n;
    return (int64_t)(s->npool - (size_t)n);
}

int lg_sym_lookup(lg_symbolizer_t *s, int handle, uint64_t pc, bool is_return_address,
                  lg_frame_t *out, int max)
{
    if (!s || !out || max < 1 || handle < -1 || (handle >= 0 && (size_t)handle >= s->nmods))
        return -EINVAL;

    /* Fast path: one hash probe sequence, no allocation. */
    size_t mask = s->cache_size - 1;
    size_t i = lg_slot(s, handle, pc, is_return_address);
    for (; s->cache[i].handle != LG_EMPTY_HANDLE; i = (i + 1) & mask) {
        lg_sym_entry_t *e = &s->cache[i];
        if (e->pc != pc || e->handle != handle || e->is_ret != (uint32_t)is_return_address)
            continue;
        if (handle == -1 && e->nmods != s->nmods) break; /* stale: recompute into this slot */
        int n = (int)e->nframes < max ? (int)e->nframes : max;
        memcpy(out, &s->pool[e->first], (size_t)n * sizeof *out);
        return n;
    }

    /* Slow path: symbolize (up to the inline bound, whatever the caller's max), then cache. */
    lg_frame_t frames[LG_SYM_MAX_INLINE];
    int n = lg_symbolize(s, handle, pc, is_return_address, frames, LG_SYM_MAX_INLINE);
    int64_t first = lg_pool_append(s, frames, n);
    bool fresh = s->cache[i].handle == LG_EMPTY_HANDLE;
    /* A failed grow leaves the table fuller than its bound; past 3/4 stop adding, so that a
     * probe always meets an empty slot. */
    if (fresh && (s->cache_used + 1) * 4 > s->cache_size * 3) first = -ENOMEM;
    if (first >= 0) {
        lg_sym_entry_t e = {.pc = pc,
                            .handle = handle,
                            .is_ret = is_return_address,
                            .nmods = (uint32_t)s->nmods,
                            .first = (uint32_t)first,
                            .nframes = (uint32_t)n};
        s->cache[i] = e;
        if (fresh && ++s->cache_used * 2 > s->cache_size) (void)lg_cache_grow(s);
    }
    /* Out of memory for the cache is not an error for the caller: the result is still right. */
    int r = n < max ? n : max;
    memcpy(out, frames, (size_t)r * sizeof *out);
    return r;
}
