/* symbolize.h: the analyzer's symbolizer. It turns a raw instruction pointer recorded by the
 * shim, plus the module map recorded with it (path, build-id, load bias, address range of each
 * loaded ELF object), into source frames: function, file, line, column, with the frames of
 * inlined calls expanded the way `eu-addr2line -i` does. It owns the libdwfl sessions (one per
 * file, opened lazily, shared by the symbolizers of the process), the result cache and every
 * string it hands out. It must not read the
 * trace, print anything, or touch the traced process: it only reads ELF and DWARF files.
 *
 * Debug information is looked for the way libdwfl's standard search does: in the file itself,
 * through .gnu_debuglink (next to the file, in .debug/ and under /usr/lib/debug), and by build-id
 * under /usr/lib/debug/.build-id/ (where Debian's -dbgsym packages install).
 *
 * Environment:
 *   LEAKGRAPH_DEBUGINFOD=1  allow libdwfl to ask the debuginfod servers listed in
 *                           DEBUGINFOD_URLS for missing debug files. Without it the symbolizer
 *                           never goes to the network: lg_sym_new() removes DEBUGINFOD_URLS from
 *                           this process's environment (the only switch libdwfl has), so call
 *                           it before starting threads that read the environment.
 *
 * Symbolizers share their libdwfl sessions: one per distinct ELF file (path, device, inode, size,
 * modification time) for the whole process, however many symbolizers register it, so a report
 * over many traces of one program opens each file once. Hence not thread-safe, not even across
 * symbolizers: serialize every call of this API. */
#ifndef LG_SYMBOLIZE_H
#define LG_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lg_symbolizer lg_symbolizer_t;

/* One source frame. Strings are owned by the symbolizer and live until lg_sym_free(); equal
 * strings from one symbolizer are the same pointer (they are interned). */
typedef struct lg_frame {
    const char *function; /* demangled name, or NULL if unknown (never "??") */
    const char *file;     /* source path as in DWARF, joined to the CU's comp_dir, or NULL */
    int line;             /* 0 if unknown */
    int column;           /* 0 if unknown */
    const char *module;   /* path of the ELF object as registered, or NULL if no module */
    uint64_t address;     /* the pc as given (runtime address) */
    uint64_t offset;      /* pc - load bias: the address within the module file (pc if no module) */
    bool inlined;         /* true for a frame that was inlined into the next one in the array */
} lg_frame_t;

/* Create an empty symbolizer. Returns NULL on allocation failure. Unless LEAKGRAPH_DEBUGINFOD=1,
 * removes DEBUGINFOD_URLS from the environment (see above). */
lg_symbolizer_t *lg_sym_new(void);

/* Free the symbolizer, its libdwfl sessions and every string it returned. NULL is a no-op. */
void lg_sym_free(lg_symbolizer_t *s);

/* Register a module as it was loaded in the traced process: `path` of the ELF file, `load_bias`
 * (runtime address minus file virtual address; 0 for a non-PIE executable), the runtime range
 * [start, end) it covered, and the build-id recorded at run time (build_id_len 0 if unknown).
 * The file is not opened here. Returns a module handle >= 0 (handles count up from 0 in
 * registration order), or -EINVAL (bad arguments) / -ENOMEM. Modules may overlap in address (one
 * unloaded, another loaded at the same place later): the caller picks the handle at lookup. */
int lg_sym_add_module(lg_symbolizer_t *s, const char *path, uint64_t load_bias, uint64_t start,
                      uint64_t end, const uint8_t *build_id, size_t build_id_len);

/* Symbolize `pc` in module `handle`, or pass -1 to use the latest registered module whose
 * [start, end) contains pc. If is_return_address (every frame of a stack but the innermost),
 * pc - 1 is looked up so the line of the call is reported, but `address` stays pc.
 * Fills out[0..n-1] innermost first: the inlined frames (inlined = true), then the physical
 * function. Returns n >= 1, or -EINVAL (NULL pointers, max < 1, unknown handle) / -ENOMEM.
 * When nothing is known, one frame with function NULL is returned, with module and offset filled
 * if a module was found. If the pc has more than `max` frames, the innermost `max` are returned.
 * Results are cached per (handle, pc, is_return_address): repeated lookups cost a hash probe. */
int lg_sym_lookup(lg_symbolizer_t *s, int handle, uint64_t pc, bool is_return_address,
                  lg_frame_t *out, int max);

/* Build-id check for a module (opens it if not done yet). Returns 1 if the file on disk carries
 * the recorded build-id (or none was recorded, so there is nothing to contradict), 0 if it differs
 * or the file has none (symbols may be wrong; lookups still symbolize), -ENOENT if the file is
 * missing, another negative errno if it cannot be opened (-EACCES ...) or is not ELF (-ENOEXEC),
 * -EINVAL for an unknown handle. */
int lg_sym_module_status(lg_symbolizer_t *s, int handle);

#endif /* LG_SYMBOLIZE_H */
