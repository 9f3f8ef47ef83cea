/* The collector: drains the rings of one region into one trace file. It runs in the
 * `leakgraph run` parent (one collector per traced process image) or, when the shim was
 * preloaded by hand, inside the traced process itself. It owns the file-level encoding
 * (file header, PROCESS / EVENTS / END blocks, zstd, CRC); it never interprets records.
 *
 * Durability: ring bytes are moved into per-ring staging buffers in the collector's memory and
 * written as a compressed block when a buffer holds LG_STAGE_FLUSH bytes, when its oldest byte
 * has waited LG_STAGE_MAX_AGE_NS (checked at every drain), when lg_collector_flush() is
 * called, and at the end. In the `leakgraph run` parent that memory survives the death of the
 * traced process, so nothing it logged is lost; if the collector itself dies, the trace lacks
 * at most the events of its last LG_STAGE_MAX_AGE_NS.
 *
 * The trace file is created O_CREAT|O_EXCL|O_NOFOLLOW with mode 0600 and re-opened by path
 * (O_APPEND|O_NOFOLLOW) for each write, so a traced program that closes every descriptor or
 * changes directory cannot break it. */
#ifndef LG_WRITER_H
#define LG_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "region.h"

/* Staged raw bytes per ring that trigger a compressed block (bigger compresses better). */
#define LG_STAGE_FLUSH (1u << 20)
/* A stage whose first byte waited this long is written whatever its size: what a killed
 * collector loses. A busy ring fills LG_STAGE_FLUSH in ~15 ms and never reaches it; a quiet
 * one writes at most ~7 blocks a second (mallocbench: see docs/bench.md for bytes/event). */
#define LG_STAGE_MAX_AGE_NS 150000000ull
/* Raw bytes of one SNAPSHOT block (a big snapshot spans several). */
#define LG_SNAPSHOT_PART (32u << 20)

typedef struct lg_collector lg_collector_t;

/* Called with the whole records just drained from ring `ring`, in stream order. */
typedef void (*lg_observer_fn)(void *ctx, uint32_t ring, const uint8_t *bytes, size_t n);
/* Lets the `leakgraph run` collector keep a live set up to date as it drains (analyzer's
 * lg_live_tracker): then a leak check needs no replay of the trace file. */
void lg_collector_set_observer(lg_collector_t *c, lg_observer_fn fn, void *ctx);

/* Creates the trace file at `path` (absolute; never overwrites) and writes its header and
 * PROCESS block from the region's info. Returns 0 or a negative errno. */
int lg_collector_open(lg_collector_t **out, lg_region_t *r, const char *path);
/* Creates the trace file at `path` (never overwrites, never follows a symlink, mode 0600)
 * holding only the file header: the trace a collector will open later with
 * lg_collector_open_reserved(), known to be creatable before the program runs. Returns 0 or a
 * negative errno (then no file is left). */
int lg_trace_reserve(const char *path);
/* lg_collector_open() on a file lg_trace_reserve() made, which must still hold only its
 * header (-EEXIST otherwise). On failure the reserved file is removed. */
int lg_collector_open_reserved(lg_collector_t **out, lg_region_t *r, const char *path);
/* Is the file at `path` a reserved trace never opened (a regular file of only its header)? */
int lg_trace_is_reserved(const char *path);
/* Moves every ring's pending bytes into staging and writes full staging buffers. Returns the
 * number of bytes moved, or a negative errno when writing the trace failed (the rings are
 * still emptied, so producers never block on a collector that cannot write). */
long lg_collector_drain(lg_collector_t *c);
/* Writes every staged byte as blocks. Returns 0 or a negative errno. */
int lg_collector_flush(lg_collector_t *c);
/* Flushes the staged events, then writes a SNAPSHOT payload (trace_format.h) as one or more
 * SNAPSHOT blocks of at most LG_SNAPSHOT_PART raw bytes. Returns 0 or a negative errno. */
int lg_collector_write_snapshot(lg_collector_t *c, const uint8_t *payload, size_t len);
/* Final drain and flush, then the END block (enum lg_end_reason; status or signal). After it
 * the trace is complete. Returns 0 or a negative errno. */
int lg_collector_finish(lg_collector_t *c, int reason, int exit_status, int signal);
/* Takes back the END block the last lg_collector_finish wrote, so that writing goes on (an
 * image whose exec failed: its END said "exec"). Returns 0 or a negative errno. */
int lg_collector_unfinish(lg_collector_t *c);
/* Releases memory; does not touch the region or the file. */
void lg_collector_close(lg_collector_t *c);
/* The trace path, and the first write error (0 if none). */
const char *lg_collector_path(const lg_collector_t *c);
int lg_collector_error(const lg_collector_t *c);

#endif /* LG_WRITER_H */
