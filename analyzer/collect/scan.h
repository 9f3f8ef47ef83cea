/* The conservative scan of a stopped traced process, step 3 and 4 of every leak check
 * (check.c, whoever takes it). It reads the process's memory with process_vm_readv and
 * produces the SNAPSHOT payload of docs/trace-format.md: the live blocks, the blocks pointed to
 * from roots, and every block-to-block pointer; and the holders of runtime objects. It never
 * writes to the process, never stops or resumes it, and classifies nothing (model/classify.c
 * does, from the trace). */
#ifndef LG_SCAN_H
#define LG_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "region.h"
#include "trace.h"

typedef struct lg_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} lg_buf_t;

void lg_buf_uv(lg_buf_t *b, uint64_t v);
void lg_buf_sv(lg_buf_t *b, int64_t v);
void lg_buf_bytes(lg_buf_t *b, const void *p, size_t n);
void lg_buf_kv_int(lg_buf_t *b, uint64_t key, uint64_t v);
void lg_buf_free(lg_buf_t *b);

typedef lg_extent_t lg_scan_block_t; /* a live block: address and size */

typedef struct lg_scan_stats {
    uint64_t scanned, skipped, ns;
    uint32_t noregs;
} lg_scan_stats_t;

/* Scans process `pid`, whose threads are stopped and described by `sc`, for pointers to the
 * `n` live blocks (sorted by address, not overlapping). Appends the SNAPSHOT payload to `out`.
 * Returns 0 or a negative errno (message in err). */
int lg_scan_process(pid_t pid, const lg_snap_ctl_t *sc, const lg_scan_block_t *blocks, size_t n,
                    lg_buf_t *out, lg_scan_stats_t *st, char *err, size_t errlen);

/* A runtime object of the check's walk: [addr, end) is its memory from its address (the
 * runtime's object pointer) to the end of its block. */
typedef struct lg_scan_obj {
    uint64_t addr, end;
} lg_scan_obj_t;

/* Holders of runtime objects (scan.c, "runtime objects"): for the `nobjs` objects (sorted by
 * address), counts the aligned words outside the runtime's object graph that point exactly at
 * each, and lists the words inside objects that point exactly at objects. Appends the section
 * described in trace_format.h (LG_KEY_SNAP_OBJECTS) to `section`. The process must be stopped,
 * as for lg_scan_process. Returns 0 or a negative errno (message in err). */
int lg_scan_objects(pid_t pid, const lg_snap_ctl_t *sc, const lg_scan_block_t *blocks, size_t n,
                    const lg_scan_obj_t *objs, size_t nobjs, lg_buf_t *section, char *err,
                    size_t errlen);

/* Adds `key` = `value` to the kv list of a SNAPSHOT payload and appends `section` at its end.
 * Returns 0, -EINVAL (not a payload) or -ENOMEM (the payload is unchanged then). */
int lg_scan_append_section(lg_buf_t *payload, uint64_t key, uint64_t value,
                           const lg_buf_t *section);

#endif /* LG_SCAN_H */
