/* lgtest.h: what the unit and format tests of the trace format share: a trace builder that
 * writes records into the rings of a private region by hand (the encodings of
 * include/leakgraph/trace_format.h, as the shim in preload/ writes them) and has the real
 * writer (trace/writer.c) turn them into a trace file.
 * The builder keeps its own per-ring stream state (last sequence number, previous address,
 * next stack id), so tests name global sequence numbers and absolute addresses and the
 * builder produces the deltas. It must not depend on the analyzer: the reader is what the
 * tests check. The checks themselves are tests/harness/harness.h. */
#ifndef LG_TEST_LGTEST_H
#define LG_TEST_LGTEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "writer.h"
#include "leakgraph/trace_format.h"
#include "region.h"

/* ---- the trace builder ------------------------------------------------------------------ */
typedef struct lgt_stream {
    int64_t last_seq;   /* -1 before the first sequenced record */
    uint64_t prev_addr; /* 0 at the start */
    uint32_t nstack;    /* stack ids defined so far (the next one is nstack + 1) */
} lgt_stream_t;

typedef struct lgt_builder {
    lg_region_t *r;
    lg_collector_t *c;
    char path[4096];
    uint64_t max_seq_plus1; /* stored into hdr.seq before finishing (LG_KEY_EVENTS) */
    lgt_stream_t st[LG_RINGS];
} lgt_builder_t;

/* A fresh private temporary directory (mkdtemp under $TMPDIR or /tmp); removed by
 * lgt_rmtree. Returns 0 or -1. */
int lgt_tmpdir(char *out, size_t len);
void lgt_rmtree(const char *dir);

/* Creates the region, fills its process description like describe_process() in the shim
 * (pid, ppid, start_ns, tracer, exe, cwd, argv "prog" "arg1", plus an unknown key 200 that
 * readers must skip) and opens the collector on `path`. Returns 0 or a negative errno. */
int lgt_open(lgt_builder_t *b, const char *path);
/* Appends raw bytes to a ring (draining into the collector if the ring is full) and
 * publishes the new head. */
void lgt_raw(lgt_builder_t *b, uint32_t ring, const void *bytes, size_t len);

/* Records, encoded as trace_format.h says. Sequence numbers are global; the builder writes
 * LG_TAG_SEQ1 or a signed delta. Stack ids are the ring's local ids (0 = none). */
void lgt_thread(lgt_builder_t *b, uint32_t ring, uint32_t tid);
uint32_t lgt_stack(lgt_builder_t *b, uint32_t ring, const uint64_t *ips, uint32_t depth);
void lgt_malloc(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint64_t addr, uint64_t size,
                uint32_t sid);
void lgt_calloc(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint64_t addr, uint64_t size,
                uint32_t sid);
void lgt_aligned(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint32_t fn, uint64_t addr,
                 uint64_t size, uint64_t align, uint32_t sid);
void lgt_realloc(lgt_builder_t *b, uint32_t ring, uint64_t seq_free, uint64_t old, uint64_t addr,
                 uint64_t size, uint32_t sid, uint64_t seq_alloc);
void lgt_free(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint64_t addr);
void lgt_nop(lgt_builder_t *b, uint32_t ring, uint64_t seq);
void lgt_module(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint32_t id, uint64_t bias,
                uint64_t start, uint64_t end, const char *path, const uint8_t *bid,
                size_t bid_len);
void lgt_unmodule(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint32_t id);

/* Collector steps. lgt_finish sets hdr.seq to one past the largest number written (and
 * hdr.lost to `lost`), then calls lg_collector_finish. lgt_close releases the collector and
 * the region (without an END block if lgt_finish was not called). */
long lgt_drain(lgt_builder_t *b);
int lgt_flush(lgt_builder_t *b);
int lgt_finish(lgt_builder_t *b, int reason, int status, int sig, uint64_t lost);
void lgt_close(lgt_builder_t *b);

/* Writes the sample trace the format tests damage: two rings (1 and 2), a module, shared and
 * distinct stacks, ~330 sequenced events (mallocs, callocs, aligned, frees, reallocs with a
 * NOP in the other ring between their two numbers), flushed every 20 allocations so that
 * each ring has several EVENTS blocks and blocks overtake each other in sequence order;
 * then END (exit status 0) if `with_end`. Returns 0 or a negative errno. */
int lgt_write_sample(const char *path, int with_end);

/* Whole-file helpers. lgt_read_file returns a malloc'd buffer (NULL on failure). */
uint8_t *lgt_read_file(const char *path, size_t *len);
int lgt_write_file(const char *path, const void *data, size_t len);

/* Appends a block (type, payload) with a correct header and CRC to `out`; returns the new
 * end. `out` must have room for LG_TRACE_BLOCK_HEADER_SIZE + len bytes. */
uint8_t *lgt_put_block(uint8_t *out, uint32_t type, const void *payload, uint32_t len,
                       uint32_t raw);

#endif /* LG_TEST_LGTEST_H */
