/* leakgraph trace format, version 2: the constants shared by the writer (the shim and the
 * collector) and the reader (the analyzer). docs/trace-format.md is the specification; this
 * header mirrors it and must change with it. It holds no code: encoders live in
 * trace/codec.h, the reader in analyzer/replay/. Version 2 adds, to version 1: SNAPSHOT
 * blocks, the fork keys, the reference-counted runtime records and the LG_TAG_A16 flag; a
 * version-1 file is read as it is.
 *
 * A trace file is a fixed file header followed by blocks. Every block has a 16-byte header
 * (type, stored length, raw length, CRC-32C over the first 12 header bytes and the stored
 * bytes). EVENTS blocks carry the
 * zstd-compressed byte stream of one ring (one thread slot of the traced process); records in
 * that stream are tag byte + LEB128 varints. All integers are little-endian. */
#ifndef LEAKGRAPH_TRACE_FORMAT_H
#define LEAKGRAPH_TRACE_FORMAT_H

#include <stdint.h>

#define LG_TRACE_MAGIC "LGTRACE"     /* 8 bytes with the terminating NUL */
#define LG_TRACE_VERSION 2u          /* what writers write */
#define LG_TRACE_VERSION_MIN 1u      /* the oldest version readers accept */
#define LG_TRACE_FILE_HEADER_SIZE 32u
#define LG_TRACE_BLOCK_HEADER_SIZE 16u
#define LG_TRACE_MAX_BLOCK (64u << 20) /* no block's stored or raw length exceeds this */

/* File header: magic[8], u32 version, u32 header_size, u32 flags (0), u32 reserved (0),
 * u64 reserved (0). */

/* Block types (u32 in the block header). */
enum lg_block_type {
    LG_BLOCK_PROCESS = 1, /* key/value list describing the traced process image */
    LG_BLOCK_EVENTS = 2,  /* u32 ring index, then zstd frame holding the ring's record stream */
    LG_BLOCK_END = 3,     /* key/value list: how the process ended; present = trace complete */
    LG_BLOCK_SNAPSHOT = 4, /* u32 part, u32 flags (bit 0: last part), then a zstd frame; the
                              parts of one snapshot, concatenated, are its payload (below) */
};

/* SNAPSHOT payload (written by the collector that scanned the stopped process):
 *   uv kv_len, kv list (LG_KEY_SNAP_*)
 *   uv nblocks, then per block in address order: addr - previous addr (uv), size (uv)
 *   uv nregions, per root region: kind (uv, enum lg_root_kind), start (uv), end (uv),
 *      tid (uv), name (uv len + bytes)
 *   uv nrefs, per block pointed to from a root, ascending: block index - previous (uv),
 *      flags (uv: LG_REF_*), region index of the first such pointer (uv)
 *   per block in address order: uv nedges, then per edge: target index - this index (sv),
 *      offset of the pointer in this block / 8 (uv), (offset in the target << 3 | heuristic)
 *      (uv, enum lg_heuristic)
 * Pointers are aligned words; a word points to a block when it lies in [addr, addr+size)
 * (or equals addr for a zero-sized block).
 * Optional runtime-object section, after the edges, present when kv has LG_KEY_SNAP_OBJECTS = 1
 * (older readers stop before it; analyzer/collect/scan.c, lg_scan_objects, says what is counted):
 *   uv nobjects (the walk's objects that were scanned)
 *   uv nheld, per object with holders, ascending address: addr - previous (uv), root words
 *      pointing exactly at it (uv), malloc-block words pointing exactly at it (uv), address of
 *      the first such word (uv; 0 for a register)
 *   uv nfrom, per object whose own memory holds pointers to objects, ascending address:
 *      addr - previous (uv), uv count, per pointer: word index from the object's address (uv),
 *      the object pointed to (uv) */
enum lg_root_kind {
    LG_ROOT_DATA = 1,      /* a writable segment of a loaded object (name: its path) */
    LG_ROOT_ANON = 2,      /* other writable memory (anonymous or file mappings) */
    LG_ROOT_STACK = 3,     /* a thread's stack from its stack pointer up (tid set) */
    LG_ROOT_REGISTERS = 4, /* a thread's registers (tid set) */
};
#define LG_REF_START 1u    /* some root word points to the block's start */
#define LG_REF_INTERIOR 2u /* some root word points inside it (not its start) */
#define LG_REF_HEUR_SHIFT 2 /* bits 2..4: heuristic that made an interior pointer count */
enum lg_heuristic { /* Memcheck's --leak-check-heuristics, all enabled as its default */
    LG_HEUR_NONE = 0,
    LG_HEUR_STDSTRING = 1,
    LG_HEUR_LENGTH64 = 2,
    LG_HEUR_NEWARRAY = 3,
    LG_HEUR_MULTIPLEINHERITANCE = 4,
};

/* Keys of PROCESS and END blocks: each entry is varint key, varint length, bytes. Integers are
 * stored as a varint inside the bytes; strings as raw bytes (no NUL). Unknown keys are
 * skipped by readers, so keys may be added without a version change. */
enum lg_key {
    LG_KEY_PID = 1,         /* int */
    LG_KEY_PPID = 2,        /* int */
    LG_KEY_EXE = 3,         /* string: /proc/self/exe at start */
    LG_KEY_ARG = 4,         /* string, repeated: argv[0..argc-1] in order */
    LG_KEY_START_NS = 5,    /* int: CLOCK_REALTIME at start, nanoseconds */
    LG_KEY_PARENT_PID = 6,  /* int: the pid this image was forked from (0 if none) */
    LG_KEY_EXEC_FROM = 7,   /* int: 1 if this image replaced another image of the same pid */
    LG_KEY_CWD = 8,         /* string: working directory at start */
    LG_KEY_TRACER = 9,      /* string: leakgraph version that wrote the trace */
    LG_KEY_RINGS = 10,      /* int: number of ring slots (ring indexes are below this) */
    LG_KEY_FORK_SEQ = 11,   /* int: the parent's sequence number at the fork: the parent's
                               blocks allocated before it (and not freed) were inherited */
    LG_KEY_PARENT_TRACE = 12, /* string: the parent's trace (absolute path) */
    LG_KEY_RC_DEPTH = 13,   /* int: frames kept in the stacks of runtime increfs/decrefs
                               (LEAKGRAPH_RC_STACK_DEPTH); 0: counts only, they are counted
                               (END keys 38, 39) and not recorded */
    /* END block */
    LG_KEY_END_REASON = 32, /* int: enum lg_end_reason */
    LG_KEY_EXIT_STATUS = 33, /* int: exit status (0..255) when END_REASON is EXIT */
    LG_KEY_SIGNAL = 34,     /* int: terminating signal when END_REASON is SIGNAL */
    LG_KEY_EVENTS = 35,     /* int: number of sequenced events written */
    LG_KEY_LOST = 36,       /* int: events the shim could not record (tracing stopped) */
    LG_KEY_END_NS = 37,     /* int: CLOCK_REALTIME at the end, nanoseconds */
    LG_KEY_RC_INCREFS = 38, /* int: counts-only mode: increfs of runtime objects (threads still
                               running at the end included up to their last check) */
    LG_KEY_RC_DECREFS = 39, /* int: the same for decrefs */
    /* SNAPSHOT payload */
    LG_KEY_SNAP_ID = 64,     /* int: check number, 1, 2, ... */
    LG_KEY_SNAP_REASON = 65, /* int: 1 exit, 2 lg_check_now(), 3 check signal, 4 fatal signal */
    LG_KEY_SNAP_SEQ = 66,    /* int: events with a smaller sequence number came before it */
    LG_KEY_SNAP_THREADS = 67, /* int: threads stopped */
    LG_KEY_SNAP_NOREGS = 68, /* int: threads whose registers could not be read */
    LG_KEY_SNAP_SCANNED = 69, /* int: bytes of roots and blocks scanned */
    LG_KEY_SNAP_SKIPPED = 70, /* int: bytes that could not be read */
    LG_KEY_SNAP_NS = 71,     /* int: time the scan took, nanoseconds */
    LG_KEY_SNAP_TIME = 72,   /* int: CLOCK_REALTIME of the snapshot, nanoseconds */
    LG_KEY_SNAP_OBJECTS = 73, /* int: 1 = the payload ends with the runtime-object section
                                 (holders and pointer words of the check's walk, below) */
};

enum lg_end_reason {
    LG_END_EXIT = 1,    /* the process exited (exit, return from main, _exit) */
    LG_END_SIGNAL = 2,  /* the process was killed by a signal */
    LG_END_EXEC = 3,    /* the process image was replaced by execve */
    LG_END_UNKNOWN = 4, /* the process is gone and how it ended is not known */
};

/* Records of a ring's stream. The tag byte holds the type in its low 5 bits; bit 5
 * (LG_TAG_SEQ1) says the record's sequence number is the previous sequenced record's in this
 * stream plus one, otherwise an sv delta d follows the tag (the number is previous + 1 + d). "sv" = zigzag signed varint,
 * "uv" = unsigned LEB128 varint. Address deltas are against the stream's previous address. */
enum lg_rec_type {
    LG_REC_MALLOC = 1,   /* seq, addr(sv), size(uv), stack(uv) */
    LG_REC_CALLOC = 2,   /* seq, addr(sv), size(uv), stack(uv); size = nmemb*size */
    LG_REC_ALIGNED = 3,  /* seq, fn(uv: enum lg_alloc_fn), addr(sv), size(uv), align(uv), stack(uv) */
    LG_REC_REALLOC = 4,  /* seq(of the free), old(sv), new(sv from old), size(uv), stack(uv),
                            seq2 delta(uv): the allocation's seq minus the free's */
    LG_REC_FREE = 5,     /* seq, addr(sv) */
    LG_REC_STACK = 6,    /* depth(uv), ip0(uv), then ip[i]-ip[i-1] (sv); defines the next id */
    LG_REC_THREAD = 7,   /* tid(uv): the thread that now writes this ring */
    LG_REC_MODULE = 8,   /* seq, id(uv), bias(uv), start(uv), end(uv), path(uv len+bytes),
                            build_id(uv len+bytes) */
    LG_REC_UNMODULE = 9, /* seq, id(uv) */
    LG_REC_NOP = 10,     /* seq: a reserved sequence number that carries no event */
    /* Reference-counted runtimes (include/leakgraph/runtime_hooks.h). Type ids are per
     * stream, defined by LG_REC_TYPE records (1, 2, ...). Refcount stacks may be 0 (counts
     * only, LEAKGRAPH_RC_STACK_DEPTH=0). */
    LG_REC_TYPE = 11,      /* name(uv len+bytes): defines the stream's next type id */
    LG_REC_OBJ_ALLOC = 12, /* seq, addr(sv), size(uv), type(uv), stack(uv) */
    LG_REC_OBJ_FREE = 13,  /* seq, addr(sv) */
    LG_REC_INCREF = 14,    /* seq, addr(sv), refcount after(sv), stack(uv) */
    LG_REC_DECREF = 15,    /* seq, addr(sv), refcount after(sv), stack(uv) */
    LG_REC_GC_START = 16,  /* seq, generation(uv) */
    LG_REC_GC_END = 17,    /* seq, generation(uv), collected(uv), uncollectable(uv), ns(uv) */
    /* The runtime's object walk at a check, written by the checking thread just before the
     * check's SNAPSHOT: WALK, then per object WALK_OBJ and its WALK_REFs, then WALK_END. */
    LG_REC_WALK = 18,      /* seq, check id(uv), runtime name(uv len+bytes) */
    LG_REC_WALK_OBJ = 19,  /* addr - previous WALK_OBJ's addr in this walk (sv; the first: from
                              0), size(uv), type(uv), refcount(sv) */
    LG_REC_WALK_REF = 20,  /* to - the object's address(sv), index(sv, -1 none), label(uv
                              len+bytes, empty = none) */
    LG_REC_WALK_END = 21,  /* objects(uv), status(sv: the walk's result, 0 = complete) */
    LG_REC_SEQ_MAX = 31,
};
#define LG_TAG_TYPE_MASK 0x1fu
#define LG_TAG_SEQ1 0x20u
/* On records with one address (MALLOC, CALLOC, ALIGNED, FREE, OBJ_*, INCREF, DECREF): the
 * address delta is stored divided by 16 (allocators return 16-byte aligned blocks, so the
 * delta usually is a multiple of 16 and takes a byte less). */
#define LG_TAG_A16 0x40u

/* Which function made an allocation (LG_REC_ALIGNED carries it explicitly; the others imply
 * it, and realloc-family records say realloc). */
enum lg_alloc_fn {
    LG_FN_MALLOC = 0,
    LG_FN_CALLOC = 1,
    LG_FN_REALLOC = 2,
    LG_FN_REALLOCARRAY = 3,
    LG_FN_POSIX_MEMALIGN = 4,
    LG_FN_ALIGNED_ALLOC = 5,
    LG_FN_MEMALIGN = 6,
    LG_FN_VALLOC = 7,
    LG_FN_PVALLOC = 8,
    LG_FN_COUNT = 9,
};

#define LG_MAX_FRAMES 64 /* deepest stack recorded; deeper stacks keep their innermost frames */

#endif /* LEAKGRAPH_TRACE_FORMAT_H */
