/* read.c: loading a trace file, the driver of lg_trace_load (trace.h; the format is
 * docs/trace-format.md, its data path through this folder README.md). It owns reading the
 * file (pread, never a mapping), walking and checking its blocks, decompressing them, the
 * PROCESS and END key/value lists, the merge of the rings' blocks by their numbers, and the
 * lifetime of lg_trace_t and of the loader; it hands each ring's record bytes to decode.c and
 * each whole snapshot to snapshot.c. It never symbolizes and never prints.
 *
 * How it works:
 *  1. A first pass (scan) walks the file block by block. Every block's CRC is checked before
 *     its bytes are trusted, and every EVENTS block is decompressed and decoded dry (decode.c:
 *     nothing kept, only whether it decodes); the first damaged or cut block ends the list of
 *     blocks and marks the trace incomplete with the byte offset and the reason. Nothing
 *     before it is lost. The list keeps each block's place, type, lengths and ring.
 *  2. The second pass (replay_blocks) takes the blocks in file order, except that the EVENTS
 *     blocks between two other blocks (a segment) are merged: each ring's blocks are read in
 *     their order into that ring's buffer, and the ring whose last decoded number is the
 *     smallest is decoded on, until its number passes the next smallest ring's (merge). Its
 *     records become events with the state of its ring (previous address, last sequence
 *     number, the ring's stack ids); STACK records are interned into one global table, so
 *     identical stacks from different threads share an id (decode.c).
 *  3. Events are replayed in sequence order. Numbers are dense, so an event is replayed as
 *     soon as every smaller number has been; until then it waits in its ring's FIFO, or, for
 *     an event smaller than the last one waiting in its ring, in a small heap (order.c). The
 *     merge keeps that wait to about one event per ring; a number never written (a gap) is
 *     skipped once LG_READ_MAX_WAITING events wait. A snapshot first replays every waiting
 *     event below its number; at the end the rest is replayed in order, skipping gaps.
 *  4. Replay keeps the live set keyed by address: allocations insert, frees remove. Because
 *     replay follows the sequence order, an address reused by another thread is always freed
 *     before it is allocated again (replay.c).
 *  5. A SNAPSHOT (possibly in several blocks, joined here) gets the allocation stack of each
 *     of its blocks from the live set at its number (snapshot.c).
 *  6. A forked child's trace first takes the blocks its parent's trace held at the fork
 *     (inherit.c), right after its PROCESS block.
 * Memory: the live set, the distinct stacks and the modules, the list of blocks (40 bytes a
 * block), one stored block, one decompressed block per ring and the waiting events (README.md,
 * "Memory"), plus the snapshots and runtime history that a report needs whole. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"

char lg_load_oom[] = "out of memory while recording why the trace is incomplete";

void lg_load_problem(lg_trace_t *t, const char *fmt, ...)
{
    if (t->problem) return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&t->problem, fmt, ap) < 0) t->problem = lg_load_oom;
    va_end(ap);
}

/* A string value: replaces *dst. Returns 0 or -ENOMEM. */
static int set_str(char **dst, const uint8_t *b, size_t n)
{
    char *s = strndup((const char *)b, n);
    if (!s) return -ENOMEM;
    free(*dst);
    *dst = s;
    return 0;
}

/* PROCESS and END blocks: key/value lists. Unknown keys are skipped, and so are the keys of
 * the other block (END's are 32 to 63, PROCESS's below 32): an END block cannot change the
 * ring count the loader was built for. */
static int parse_kv(lg_trace_t *t, const uint8_t *p, size_t len, bool end)
{
    lg_cursor_t c = {p, p + len, 0};
    while (c.p < c.end && !c.bad) {
        uint64_t key = lg_get_uv(&c);
        size_t n;
        const uint8_t *v = lg_get_bytes(&c, &n);
        if (c.bad) break;
        if (end != (key >= 32 && key < 64)) continue;
        lg_cursor_t vc = {v, v + n, 0};
        uint64_t iv = (key == LG_KEY_EXE || key == LG_KEY_ARG || key == LG_KEY_CWD ||
                       key == LG_KEY_TRACER || key == LG_KEY_PARENT_TRACE)
                          ? 0
                          : lg_get_uv(&vc);
        switch (key) {
        case LG_KEY_PID: t->pid = (int)iv; break;
        case LG_KEY_PPID: t->ppid = (int)iv; break;
        case LG_KEY_PARENT_PID: t->parent_pid = (int)iv; break;
        case LG_KEY_EXEC_FROM: t->exec_from = (int)iv; break;
        case LG_KEY_START_NS: t->start_ns = iv; break;
        case LG_KEY_RINGS: t->nrings = (uint32_t)iv; break;
        case LG_KEY_FORK_SEQ: t->fork_seq = iv; break;
        case LG_KEY_RC_DEPTH: t->rc_depth = iv > 1000 ? 1000 : (int)iv; break;
        case LG_KEY_PARENT_TRACE:
        case LG_KEY_EXE:
        case LG_KEY_CWD:
        case LG_KEY_TRACER: {
            char **dst = key == LG_KEY_EXE   ? &t->exe
                         : key == LG_KEY_CWD ? &t->cwd
                         : key == LG_KEY_TRACER ? &t->tracer
                                                : &t->parent_trace;
            if (set_str(dst, v, n)) return -ENOMEM;
            break;
        }
        case LG_KEY_ARG: {
            char **a = realloc(t->argv, sizeof *a * (size_t)(t->argc + 2));
            if (!a) return -ENOMEM;
            t->argv = a;
            a[t->argc] = NULL;
            if (set_str(&a[t->argc], v, n)) return -ENOMEM;
            a[++t->argc] = NULL;
            break;
        }
        case LG_KEY_END_REASON: t->end_reason = (int)iv; break;
        case LG_KEY_EXIT_STATUS: t->exit_status = (int)iv; break;
        case LG_KEY_SIGNAL: t->signal = (int)iv; break;
        case LG_KEY_EVENTS: t->events_declared = iv; break;
        case LG_KEY_LOST: t->lost = iv; break;
        case LG_KEY_END_NS: t->end_ns = iv; break;
        case LG_KEY_RC_INCREFS: t->rc_increfs = iv; break;
        case LG_KEY_RC_DECREFS: t->rc_decrefs = iv; break;
        default: break;
        }
    }
    return c.bad ? -EBADMSG : 0;
}

int lg_loader_tables(lg_trace_t *t, loader_t *L)
{
    t->stacks = calloc(1, sizeof *t->stacks);
    t->types = calloc(1, sizeof *t->types);
    t->labels = calloc(1, sizeof *t->labels);
    if (t->types && (t->types[0] = strdup("?"))) t->ntypes = 1;
    if (t->labels && (t->labels[0] = strdup(""))) t->nlabels = 1;
    L->stacks.cap = 1;
    t->nstacks = 1;
    L->captypes = L->caplabels = 1;
    return t->stacks && t->ntypes == 1 && t->nlabels == 1 ? 0 : -ENOMEM;
}

int lg_loader_rings(loader_t *L, uint32_t n)
{
    L->nrings = n;
    if (!(L->rings = calloc(n ? n : 1, sizeof *L->rings)) ||
        !(L->fifo = calloc(n ? n : 1, sizeof *L->fifo)) ||
        !(L->active = calloc(n ? n : 1, sizeof *L->active)))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        L->rings[i].last_seq = -1;
        L->rings[i].walk = -1;
        L->rings[i].stack_ids = calloc(16, sizeof(uint32_t));
        L->rings[i].capstack = 16;
        L->rings[i].nstack = 1;
        if (!L->rings[i].stack_ids) return -ENOMEM;
    }
    return 0;
}

void lg_loader_free(loader_t *L)
{
    for (uint32_t i = 0; L->rings && i < L->nrings; i++) {
        free(L->rings[i].stack_ids);
        free(L->rings[i].type_ids);
        if (L->fifo) free(L->fifo[i].v);
        if (L->src) free(L->src[i].buf);
    }
    free(L->src);
    free(L->blocks);
    free(L->fifo);
    free(L->active);
    free(L->rings);
    free(L->stacks.slots);
    free(L->types_ix.slots);
    free(L->labels_ix.slots);
    lg_addrmap_free(&L->mod_ix);
    free(L->live.slots);
    free(L->live.blocks);
    lg_sizemap_free(&L->compact);
    free(L->heap.v);
    free(L->raw);
    free(L->snapbuf);
    ZSTD_freeDCtx(L->zd);
    memset(L, 0, sizeof *L);
}

/* Refuses a block larger than a writer produces, and decompressed bytes beyond
 * LG_READ_MAX_RATIO times the file's size, before anything is decompressed or parsed
 * (docs/trace-format.md, "Limits of a reader"). Returns 0 or a negative errno with err set. */
static int block_limits(loader_t *L, uint32_t type, uint32_t stored, uint32_t raw, size_t off,
                        char *err, size_t errlen)
{
    const char *name = NULL;
    uint32_t max = 0, len = raw;
    switch (type) {
    case LG_BLOCK_PROCESS: name = "PROCESS", max = LG_READ_MAX_KV, len = stored; break;
    case LG_BLOCK_END: name = "END", max = LG_READ_MAX_KV, len = stored; break;
    case LG_BLOCK_EVENTS: name = "EVENTS", max = LG_READ_MAX_EVENTS_RAW; break;
    case LG_BLOCK_SNAPSHOT: name = "SNAPSHOT", max = LG_READ_MAX_SNAPSHOT_PART; break;
    default: return 0; /* skipped unread */
    }
    if (len > max) {
        snprintf(err, errlen,
                 "%s: the %s block at byte %zu holds %u bytes, more than a writer puts in one "
                 "(%u): not a trace a leakgraph writer produced",
                 L->t->path, name, off, len, max);
        return -EFBIG;
    }
    if (type != LG_BLOCK_EVENTS && type != LG_BLOCK_SNAPSHOT) return 0;
    L->volume += raw;
    if (L->volume > L->volume_max) {
        snprintf(err, errlen,
                 "%s: its blocks decompress to more than %u times the file's size (at the block "
                 "at byte %zu): not a trace a leakgraph writer produced",
                 L->t->path, LG_READ_MAX_RATIO, off);
        return -EFBIG;
    }
    return 0;
}

/* ---- the file: read with pread, never mapped -------------------------------------------- */
typedef struct file {
    int fd;
    uint64_t size;
    uint8_t *zbuf; /* one block's stored bytes */
    size_t zcap;
    char damage[160]; /* the first pass's reason to stop (a cut or damaged block), or "" */
    uint64_t done;    /* bytes checked (first pass) plus bytes replayed (second), for progress */
} file_t;

static lg_progress_fn g_progress;
static void *g_progress_ctx;

void lg_trace_set_progress(lg_progress_fn fn, void *ctx)
{
    g_progress = fn;
    g_progress_ctx = ctx;
}

/* Progress of the trace being read (not of a fork's parent): each byte counts twice, once
 * checked and once replayed. */
static void progress(loader_t *L, file_t *F, uint64_t bytes, bool finished)
{
    F->done += bytes;
    if (g_progress && L->depth == 0)
        g_progress(g_progress_ctx, L->t, F->done, 2 * F->size, finished);
}

/* A buffer of exactly `need` bytes or more (rounded to 64 KiB, not doubled: the reader's
 * bound counts these buffers at their largest block). Returns 0 or -ENOMEM. */
static int buf_fit(loader_t *L, uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t n = (need + 0xffff) & ~(size_t)0xffff;
    uint8_t *q = realloc(*buf, n);
    if (!q) return -ENOMEM;
    lg_held(L, (int64_t)(n - *cap));
    *buf = q;
    *cap = n;
    return 0;
}

static void buf_free(loader_t *L, uint8_t **buf, size_t *cap)
{
    lg_held(L, -(int64_t)*cap);
    free(*buf);
    *buf = NULL;
    *cap = 0;
}

/* Reads n bytes at off. Returns 0, or -1 (a read error, or the file shrank: damage). */
static int read_at(const file_t *F, void *buf, size_t n, uint64_t off)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = pread(F->fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* A block's stored bytes into F->zbuf. Returns 0, -1 (damage) or -ENOMEM. */
static int read_payload(loader_t *L, file_t *F, const file_block_t *b)
{
    if (buf_fit(L, &F->zbuf, &F->zcap, b->stored ? b->stored : 1)) return -ENOMEM;
    return read_at(F, F->zbuf, b->stored, b->off + LG_TRACE_BLOCK_HEADER_SIZE);
}

/* ---- first pass: the blocks, checked ------------------------------------------------------
 * Walks every block header, checks each block's CRC, its limits, the PROCESS block (which
 * fixes the ring count) and that every EVENTS block decompresses and decodes (decode.c's dry
 * decode, with a copy of each ring's state): the first damaged or cut block ends the list
 * (F->damage says why; an undecodable block is kept, and the second pass stops inside it where
 * the dry decode did), so the second pass, which reads the rings' blocks in another order than
 * the file's, replays exactly the blocks before the damage. Nothing is kept of a block but
 * its place, type, lengths and ring (file_block_t). Returns 0 or a negative errno with err
 * set (not a trace, or contents no writer produces). */
static int scan(loader_t *L, file_t *F, char *err, size_t errlen)
{
    lg_trace_t *t = L->t;
    uint8_t h[LG_TRACE_FILE_HEADER_SIZE];
    if (F->size < LG_TRACE_FILE_HEADER_SIZE || read_at(F, h, sizeof h, 0) ||
        memcmp(h, LG_TRACE_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not a leakgraph trace (bad magic)", t->path);
        return -EINVAL;
    }
    uint32_t version = lg_get_u32le(h + 8), hsize = lg_get_u32le(h + 12);
    if (version < LG_TRACE_VERSION_MIN || version > LG_TRACE_VERSION) {
        snprintf(err, errlen,
                 "%s: trace format version %u is not supported (this leakgraph reads versions "
                 "%u to %u)",
                 t->path, version, LG_TRACE_VERSION_MIN, LG_TRACE_VERSION);
        return -EPROTONOSUPPORT;
    }
    if (hsize < LG_TRACE_FILE_HEADER_SIZE || hsize > F->size) {
        snprintf(err, errlen, "%s: corrupt file header", t->path);
        return -EINVAL;
    }
    uint64_t off = hsize, size = F->size;
    bool have_process = false;
    uint32_t snapparts = 0;
    ring_state_t *vr = NULL; /* the dry decode's per-ring state */
    long *last = NULL;       /* per ring: its last EVENTS block so far, -1: none */
    int rc = 0;
    L->volume_max = size * LG_READ_MAX_RATIO;
#define DAMAGE(...) (snprintf(F->damage, sizeof F->damage, __VA_ARGS__))
    while (off < size && rc == 0) {
        if (size - off < LG_TRACE_BLOCK_HEADER_SIZE) {
            DAMAGE("truncated: cut inside a block header at byte %llu", (unsigned long long)off);
            break;
        }
        uint8_t bh[LG_TRACE_BLOCK_HEADER_SIZE];
        if (read_at(F, bh, sizeof bh, off)) {
            DAMAGE("truncated: cut inside a block header at byte %llu", (unsigned long long)off);
            break;
        }
        file_block_t b = {.off = off, .type = lg_get_u32le(bh), .stored = lg_get_u32le(bh + 4),
                          .raw = lg_get_u32le(bh + 8), .next = -1};
        uint32_t crc = lg_get_u32le(bh + 12);
        if (b.stored > LG_TRACE_MAX_BLOCK || b.raw > LG_TRACE_MAX_BLOCK) {
            DAMAGE("corrupt block header at byte %llu", (unsigned long long)off);
            break;
        }
        if (size - off - LG_TRACE_BLOCK_HEADER_SIZE < b.stored) {
            DAMAGE("truncated: block at byte %llu is cut short", (unsigned long long)off);
            break;
        }
        if ((rc = read_payload(L, F, &b)) == -ENOMEM) break;
        const uint8_t *payload = F->zbuf;
        if (rc || lg_crc32c(lg_crc32c(0, bh, 12), payload, b.stored) != crc) {
            rc = 0;
            DAMAGE("corrupt block at byte %llu (checksum mismatch)", (unsigned long long)off);
            break;
        }
        if ((rc = block_limits(L, b.type, b.stored, b.raw, off, err, errlen))) break;
        if (!have_process && b.type != LG_BLOCK_PROCESS) {
            DAMAGE("block at byte %llu precedes the process description", (unsigned long long)off);
            break;
        }
        bool stop = false;
        if (b.type == LG_BLOCK_PROCESS) {
            if (have_process) {
                DAMAGE("second process description at byte %llu", (unsigned long long)off);
                break;
            }
            /* the ring count is fixed here: every EVENTS block's ring is checked against it */
            rc = parse_kv(t, payload, b.stored, false);
            if (rc == 0 && (t->nrings == 0 || t->nrings > 65536)) rc = -EBADMSG;
            if (rc == -EBADMSG) {
                snprintf(err, errlen, "%s: corrupt process description at byte %llu%s", t->path,
                         (unsigned long long)off, t->nrings ? "" : " (no ring count)");
                rc = -EINVAL;
                break;
            }
            if (rc == 0) rc = lg_loader_rings(L, t->nrings);
            if (rc == 0 && (!(vr = calloc(t->nrings, sizeof *vr)) ||
                            !(last = malloc(t->nrings * sizeof *last)) ||
                            !(L->src = calloc(t->nrings, sizeof *L->src))))
                rc = -ENOMEM;
            for (uint32_t i = 0; rc == 0 && i < t->nrings; i++) {
                vr[i] = (ring_state_t){.last_seq = -1, .walk = -1, .nstack = 1};
                last[i] = L->src[i].blk = -1;
            }
            have_process = true;
        } else if (b.type == LG_BLOCK_EVENTS) {
            if (b.stored < 4) {
                DAMAGE("corrupt events block at byte %llu", (unsigned long long)off);
                break;
            }
            b.ring = lg_get_u32le(payload);
            if (b.ring >= L->nrings) {
                snprintf(err, errlen,
                         "%s: the EVENTS block at byte %llu is for ring %u, but the PROCESS block "
                         "declares %u rings: not a trace a leakgraph writer produced",
                         t->path, (unsigned long long)off, b.ring, L->nrings);
                rc = -EINVAL;
                break;
            }
            if ((rc = buf_fit(L, &L->raw, &L->rawcap, b.raw ? b.raw : 1))) break;
            size_t n = ZSTD_decompressDCtx(L->zd, L->raw, b.raw, payload + 4, b.stored - 4);
            if (ZSTD_isError(n) || n != b.raw) {
                DAMAGE("corrupt events block at byte %llu (%s)", (unsigned long long)off,
                       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "length mismatch");
                break;
            }
            /* undecodable: kept, the last block; the second pass stops where this one did */
            stop = lg_decode_check(L, &vr[b.ring], L->raw, n) != 0;
            if (last[b.ring] >= 0) L->blocks[last[b.ring]].next = (long)L->nblocks;
            else L->src[b.ring].blk = (long)L->nblocks;
            last[b.ring] = (long)L->nblocks;
        } else if (b.type == LG_BLOCK_SNAPSHOT && !L->stop_seq) {
            if (b.stored < 8 || lg_get_u32le(payload) != snapparts) {
                DAMAGE("corrupt snapshot block at byte %llu", (unsigned long long)off);
                break;
            }
            snapparts = lg_get_u32le(payload + 4) & 1 ? 0 : snapparts + 1;
        }
        if (grow((void **)&L->blocks, &L->capblocks, L->nblocks + 1, sizeof *L->blocks)) {
            rc = -ENOMEM;
            break;
        }
        L->blocks[L->nblocks++] = b;
        progress(L, F, LG_TRACE_BLOCK_HEADER_SIZE + b.stored, false);
        if (stop) break;
        off += LG_TRACE_BLOCK_HEADER_SIZE + b.stored;
    }
#undef DAMAGE
    free(vr);
    free(last);
    buf_free(L, &L->raw, &L->rawcap);
    if (rc == -ENOMEM) snprintf(err, errlen, "%s: out of memory", t->path);
    if (rc) return rc;
    if (!have_process) {
        snprintf(err, errlen, "%s: %s", t->path,
                 F->damage[0] ? F->damage : "no process description: not a complete trace header");
        return -EINVAL;
    }
    return 0;
}

/* ---- second pass: the rings merged by their numbers ----------------------------------------
 * The EVENTS blocks between two other blocks (PROCESS, SNAPSHOT, END: a snapshot follows every
 * event below its number, and the writer flushes every ring before it) form a segment. Within a
 * segment each ring's blocks are read in their order, and the rings are merged: the ring whose
 * last decoded number is the smallest is decoded on, until its number passes the next
 * smallest ring's. Numbers are dense and each ring's increase, so every number up to that
 * point is then decoded and replayed, and an event waits only while another ring's smaller
 * number is one record ahead: about one waiting event per ring, and one decompressed block per
 * ring, whatever the order of the blocks in the file (README.md, "Memory"). A late number
 * (ring 0) makes events wait until it comes, a gap until LG_READ_MAX_WAITING wait. */

/* Ring r's next block into its buffer. Returns 0, 1 (no block left in the segment: `limit`
 * is the segment's end), -1 (damage, t->problem set) or -ENOMEM. */
static int ring_load(loader_t *L, file_t *F, uint32_t r, size_t limit)
{
    ring_src_t *s = &L->src[r];
    if (s->blk < 0 || (size_t)s->blk >= limit) {
        if (s->blk < 0) buf_free(L, &s->buf, &s->cap); /* the ring's last block is done */
        return 1;
    }
    const file_block_t *b = &L->blocks[s->blk];
    s->blk = b->next;
    int rc = read_payload(L, F, b);
    if (rc == 0) rc = buf_fit(L, &s->buf, &s->cap, b->raw ? b->raw : 1);
    if (rc == -ENOMEM) return rc;
    size_t n = rc ? 0 : ZSTD_decompressDCtx(L->zd, s->buf, b->raw, F->zbuf + 4, b->stored - 4);
    if (rc || ZSTD_isError(n) || n != b->raw) { /* the file changed since the first pass */
        lg_load_problem(L->t, "corrupt events block at byte %llu (changed while read)",
                        (unsigned long long)b->off);
        return -1;
    }
    L->t->raw_bytes += n;
    s->p = s->buf;
    s->end = s->buf + n;
    progress(L, F, LG_TRACE_BLOCK_HEADER_SIZE + b->stored, false);
    return 0;
}

/* Replays the EVENTS blocks of the segment that ends before block `to`. Returns 0, -1 (a ring's block is damaged:
 * the rest of the segment is replayed, then the load stops) or -ENOMEM. */
static int merge(loader_t *L, file_t *F, size_t to, uint32_t *act)
{
    size_t nact = 0;
    for (uint32_t r = 0; r < L->nrings; r++)
        if (L->src[r].blk >= 0 && (size_t)L->src[r].blk < to) act[nact++] = r;
    int damaged = 0;
    while (nact) {
        /* the ring with the smallest last number, and the next smallest number */
        size_t best = 0;
        int64_t k1 = L->rings[act[0]].last_seq, k2 = INT64_MAX;
        for (size_t i = 1; i < nact; i++) {
            int64_t k = L->rings[act[i]].last_seq;
            if (k < k1) {
                k2 = k1;
                k1 = k;
                best = i;
            } else if (k < k2) {
                k2 = k;
            }
        }
        uint32_t r = act[best];
        ring_src_t *s = &L->src[r];
        int rc = 0;
        if (s->p == s->end && (rc = ring_load(L, F, r, to)) == 0) continue;
        if (rc == 0) rc = lg_decode_until(L, r, &s->p, s->end, k2);
        if (rc == -ENOMEM || L->error) return -ENOMEM;
        if (rc) { /* 1: the ring is done with this segment; else damaged: it stops here */
            if (rc != 1) damaged = -1;
            s->p = s->end;
            act[best] = act[--nact];
            continue;
        }
    }
    return L->error ? -ENOMEM : damaged;
}

/* Replays the blocks the first pass listed, in order: PROCESS (the inherited blocks), the
 * segments of EVENTS blocks (merge), SNAPSHOT parts joined and parsed, END. Returns 0 or a
 * negative errno with err set; damage stops it with t->problem set. */
static int replay_blocks(loader_t *L, file_t *F, char *err, size_t errlen)
{
    lg_trace_t *t = L->t;
    size_t i = 0, counted = 0;
    uint32_t *act = malloc((L->nrings ? L->nrings : 1) * sizeof *act);
    if (!act) goto oom;
    bool stopped = false;
    while (i < L->nblocks && !stopped) {
        const file_block_t *b = &L->blocks[i];
        int rc = 0;
        if (b->type != LG_BLOCK_PROCESS && b->type != LG_BLOCK_SNAPSHOT &&
            b->type != LG_BLOCK_END) {
            size_t j = i; /* a segment: EVENTS blocks, and unknown ones (skipped) */
            bool events = false;
            for (; j < L->nblocks && L->blocks[j].type != LG_BLOCK_PROCESS &&
                   L->blocks[j].type != LG_BLOCK_SNAPSHOT && L->blocks[j].type != LG_BLOCK_END;
                 j++)
                events |= L->blocks[j].type == LG_BLOCK_EVENTS;
            if (events) t->has_end = false; /* events after an END (a failed exec) reopen it */
            rc = merge(L, F, j, act);
            if (rc == -ENOMEM) goto oom;
            stopped = rc != 0;
            counted = j;
            i = j;
            continue;
        }
        counted = i + 1;
        progress(L, F, b->type == LG_BLOCK_EVENTS ? 0 : LG_TRACE_BLOCK_HEADER_SIZE + b->stored,
                 false);
        if (b->type == LG_BLOCK_PROCESS) {
            rc = lg_inherit(L);
        } else if (b->type == LG_BLOCK_SNAPSHOT && !L->stop_seq) {
            /* parts were checked in order by the first pass */
            int r = read_payload(L, F, b);
            if (r == -ENOMEM) goto oom;
            if (r == 0 && buf_fit(L, &L->snapbuf, &L->snapcap, L->snaplen + (b->raw ? b->raw : 1)))
                goto oom;
            size_t n = r ? 0
                         : ZSTD_decompressDCtx(L->zd, L->snapbuf + L->snaplen, b->raw,
                                               F->zbuf + 8, b->stored - 8);
            if (r || ZSTD_isError(n) || n != b->raw) {
                lg_load_problem(t, "corrupt snapshot block at byte %llu",
                                (unsigned long long)b->off);
                break;
            }
            L->snaplen += n;
            if (lg_get_u32le(F->zbuf + 4) & 1) { /* last part */
                rc = lg_snapshot_parse(L, L->snapbuf, L->snaplen);
                L->snaplen = 0;
                if (rc == -EBADMSG) {
                    lg_load_problem(t, "corrupt snapshot ending at byte %llu",
                                    (unsigned long long)b->off);
                    break;
                }
            }
        } else if (b->type == LG_BLOCK_END) {
            int r = read_payload(L, F, b);
            if (r == -ENOMEM) goto oom;
            rc = r ? -EBADMSG : parse_kv(t, F->zbuf, b->stored, true);
            t->has_end = true;
        }
        if (rc == -ENOMEM || L->error) goto oom;
        if (rc) {
            lg_load_problem(t, "corrupt block at byte %llu", (unsigned long long)b->off);
            break;
        }
        i++;
    }
    free(act);
    for (size_t k = 0; k < counted && k < L->nblocks; k++)
        t->file_bytes += LG_TRACE_BLOCK_HEADER_SIZE + L->blocks[k].stored;
    /* the first pass's damage, if the replay got there */
    if (i >= L->nblocks && !stopped && F->damage[0]) lg_load_problem(t, "%s", F->damage);
    return 0;
oom:
    free(act);
    snprintf(err, errlen, "%s: out of memory while reading the block at byte %llu", t->path,
             (unsigned long long)(i < L->nblocks ? L->blocks[i].off : F->size));
    return -ENOMEM;
}

static int load_file(loader_t *L, file_t *F, char *err, size_t errlen)
{
    lg_trace_t *t = L->t;
    int rc = scan(L, F, err, errlen);
    if (rc == 0) rc = replay_blocks(L, F, err, errlen);
    if (rc) return rc;
    lg_order_drain(L, UINT64_MAX); /* gaps: a process that died mid-record */
    if (!t->has_end) lg_load_problem(t, "the trace has no end record (the writer stopped early)");
    t->complete = t->problem == NULL;
    if (L->error || lg_replay_finish(L) || t->problem == lg_load_oom) {
        snprintf(err, errlen, "%s: out of memory while replaying its events", t->path);
        return -ENOMEM;
    }
    return 0;
}

int lg_trace_load(const char *path, lg_trace_t *t, lg_event_cb cb, void *ctx, char *err,
                  size_t errlen)
{
    return lg_load_file(path, t, cb, ctx, 0, 0, err, errlen);
}

int lg_load_file(const char *path, lg_trace_t *t, lg_event_cb cb, void *ctx, uint64_t stop,
                 int depth, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->exit_status = -1;
    t->rc_depth = -1;
    t->path = strdup(path);
    if (!t->path) return -ENOMEM;
    /* Never blocks (a FIFO) nor becomes a controlling terminal; a fork's parent (depth > 0)
     * must not be a symbolic link, nor anything but a regular file before it is opened
     * (inherit.c chose its path). */
    struct stat st;
    if (depth > 0 && lstat(path, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (depth > 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return -EINVAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (depth > 0 ? O_NOFOLLOW : 0));
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -EINVAL;
    }
    file_t F = {.fd = fd, .size = (uint64_t)st.st_size};
    /* stack id 0 is "no stack"; type 0 is unknown; label 0 is none */
    loader_t L = {.t = t, .cb = cb, .ctx = ctx, .zd = ZSTD_createDCtx(), .stop_seq = stop,
                  .depth = depth, .max_waiting = LG_READ_MAX_WAITING};
    int rc;
    if (lg_loader_tables(t, &L) != 0 || !L.zd) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -ENOMEM;
    } else {
        rc = load_file(&L, &F, err, errlen);
    }
    progress(&L, &F, 0, true);
    close(fd);
    free(F.zbuf);
    lg_loader_free(&L);
    return rc;
}

void lg_trace_free(lg_trace_t *t)
{
    free(t->path);
    free(t->exe);
    free(t->cwd);
    free(t->tracer);
    if (t->problem != lg_load_oom) free(t->problem);
    free(t->parent_trace);
    free(t->inherit_problem);
    for (int i = 0; i < t->argc; i++) free(t->argv[i]);
    free(t->argv);
    for (size_t i = 0; i < t->nmods; i++) free(t->mods[i].path);
    free(t->mods);
    for (size_t i = 0; i < t->nstacks; i++) free(t->stacks[i].ips);
    free(t->stacks);
    free(t->live);
    for (size_t i = 0; i < t->nsnaps; i++) lg_snapshot_free(&t->snaps[i]);
    free(t->snaps);
    for (size_t i = 0; i < t->ntypes; i++) free(t->types[i]);
    free(t->types);
    for (size_t i = 0; i < t->nlabels; i++) free(t->labels[i]);
    free(t->labels);
    free(t->objev);
    free(t->gcev);
    for (size_t i = 0; i < t->nwalks; i++) {
        free(t->walks[i].runtime);
        free(t->walks[i].objs);
        free(t->walks[i].refs);
    }
    free(t->walks);
    memset(t, 0, sizeof *t);
}

int lg_trace_module_at(const lg_trace_t *t, uint64_t ip, uint64_t seq)
{
    int any = -1;
    for (size_t i = t->nmods; i-- > 0;) {
        const lg_module_info_t *m = &t->mods[i];
        if (ip < m->start || ip >= m->end) continue;
        if (m->load_seq <= seq && seq < m->unload_seq) return (int)i;
        if (any < 0) any = (int)i;
    }
    return any;
}

const char *lg_fn_name(int fn)
{
    static const char *const names[LG_FN_COUNT] = {
        "malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
        "aligned_alloc", "memalign", "valloc", "pvalloc"};
    return fn >= 0 && fn < LG_FN_COUNT ? names[fn] : "?";
}

const char *lg_end_reason_name(int reason)
{
    switch (reason) {
    case LG_END_EXIT: return "exit";
    case LG_END_SIGNAL: return "signal";
    case LG_END_EXEC: return "exec";
    case LG_END_UNKNOWN: return "unknown";
    default: return "none";
    }
}
