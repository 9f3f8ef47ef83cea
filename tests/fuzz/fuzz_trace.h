/* fuzz_trace.h: the fuzz target of the analyzer (docs/fuzzing.md) and what its tools share.
 * An input is not a trace file but a description of one to four trace files, which the harness
 * assembles the way trace/writer.c writes them (file header, blocks with their CRC-32C, EVENTS
 * and SNAPSHOT payloads zstd-compressed), so that a mutation of a record reaches the decoders
 * instead of failing the block's checksum. A mode bit leaves the bytes raw instead, to fuzz the
 * framing itself. The harness then runs what `report`, `dump`, `graph`, `check` and `baseline`
 * run on the assembled files: lg_trace_load, the leak set, every report and every output of a
 * CI verdict, all written to /dev/null.
 *
 * The input format, version 1 (all integers little-endian):
 *
 *   u8 mode     bit 7 (LGFZ_MODE_RAW): the rest of the input is one trace file, byte for byte
 *               bit 0: write version 1 in the file header (else 2, LG_TRACE_VERSION)
 *               bit 1: also run `dump` (lg_dump) on each file
 *   u8 options  bits 0-1: the leak set's check number (lg_leak_opts.check, 0..3)
 *               bits 2-3: its `since` (0..3)
 *               bit 4: the text report shows reachable records; bit 5: at most 2 frames each
 *               bits 6-7: the CI policy (lgfz_policies[] in fuzz_trace.c)
 *   then chunks, each:
 *   u8 type     the block type written (1 PROCESS, 2 EVENTS, 3 END, 4 SNAPSHOT, any other is
 *               written as it is), or LGFZ_NEXT_FILE (0xff): the chunks that follow make the
 *               next file (at most LGFZ_MAX_FILES; its payload is ignored)
 *   u8 flags    LGFZ_F_* below
 *   u32 index   EVENTS: the ring index; SNAPSHOT: the part index; others: unused
 *   u32 len     the payload's length (cut to what is left of the input)
 *   len bytes   PROCESS, END, other types: the payload as it is (a key/value list);
 *               EVENTS: the ring's record bytes, uncompressed; SNAPSHOT: the part's bytes,
 *               uncompressed. The harness adds the ring or part prefix and the zstd frame.
 *
 * Files are written as t0.lgt, t1.lgt, ... in a private directory, so that a PARENT_TRACE key
 * naming "t0.lgt" (any directory) finds the first file beside a child (replay/inherit.c). */
#ifndef LG_FUZZ_TRACE_H
#define LG_FUZZ_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define LGFZ_MODE_RAW 0x80u
#define LGFZ_MODE_V1 0x01u
#define LGFZ_MODE_DUMP 0x02u

#define LGFZ_NEXT_FILE 0xffu
#define LGFZ_MAX_FILES 4
#define LGFZ_CHUNK_HEADER 10 /* type, flags, u32 index, u32 len */

enum lgfz_flags {
    LGFZ_F_STORED = 0x01,  /* EVENTS/SNAPSHOT: the payload is the frame itself, not compressed */
    LGFZ_F_BADCRC = 0x02,  /* the block's CRC is wrong by one bit */
    LGFZ_F_RAWLIE = 0x04,  /* the header's raw length is one more than the truth */
    LGFZ_F_NOTLAST = 0x08, /* SNAPSHOT: the part's "last part" flag is clear */
    LGFZ_F_CUT = 0x10,     /* the file ends in the middle of this block (later chunks of the
                              file are dropped) */
    LGFZ_F_REPEAT = 0x60,  /* EVENTS/SNAPSHOT compressed: the payload repeated to fill 64 KiB
                              (0x20), 1 MiB (0x40) or 64 MiB (0x60, LG_TRACE_MAX_BLOCK) before
                              compression: many records, and decompressed volumes far above
                              the file's size, from a small input */
};

/* Writes the trace files an input describes into `dir` (t0.lgt, t1.lgt, ...), replacing
 * earlier ones. Returns the number of files written (0 for an input too short to say anything),
 * or -1 with errno set when a file cannot be written. */
int lgfz_assemble(const uint8_t *data, size_t size, const char *dir);

/* The fuzz target itself (libFuzzer's entry point): assembles the input in a private
 * directory and runs the analyzer on it. Always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* LG_FUZZ_TRACE_H */
