/* read.c: loading a trace file, the driver of lg_trace_load (trace.h; the format is
 * docs/trace-format.md, its data path through this folder README.md). It owns mapping the
 * file, walking and checking its blocks, decompressing them, the PROCESS and END key/value
 * lists, and the lifetime of lg_trace_t and of the loader; it hands each ring's record bytes
 * to decode.c and each whole snapshot to snapshot.c. It never symbolizes and never prints.
 *
 * How it works:
 *  1. The file is mapped and walked block by block. Every block's CRC is checked before its
 *     bytes are trusted; the first damaged or cut block ends the walk and marks the trace
 *     incomplete with the byte offset and the reason. Nothing before it is lost.
 *  2. An EVENTS block is decompressed and its records decoded with the state of its ring
 *     (previous address, last sequence number, the ring's stack ids). STACK records are
 *     interned into one global table, so identical stacks from different threads share an id
 *     (decode.c).
 *  3. Sequenced records are replayed in sequence order. Numbers are dense (the shim takes one
 *     only when it is certain to publish it), so an event is replayed as soon as every smaller
 *     number has been; until then it waits in its ring's FIFO (a ring's own events arrive in
 *     order, so the next number is always at the head of one of them), or, in the rare case
 *     of an event smaller than the last one waiting in its ring, in a small heap. A snapshot
 *     first replays every waiting event below its number; at the end the rest is replayed in
 *     order, skipping gaps (only a process that died mid-record leaves any) (order.c).
 *  4. Replay keeps the live set keyed by address: allocations insert, frees remove. Because
 *     replay follows the sequence order, an address reused by another thread is always freed
 *     before it is allocated again (replay.c).
 *  5. A SNAPSHOT (possibly in several blocks, joined here) gets the allocation stack of each
 *     of its blocks from the live set at its number (snapshot.c).
 *  6. A forked child's trace first takes the blocks its parent's trace held at the fork
 *     (inherit.c), right after its PROCESS block.
 * Memory: the live set, the distinct stacks and the modules, plus the events waiting to be
 * ordered (how many depends on the writer: README.md), plus the snapshots and runtime history
 * that a report needs whole. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    }
    free(L->fifo);
    free(L->active);
    free(L->rings);
    free(L->stacks.slots);
    free(L->types_ix.slots);
    free(L->labels_ix.slots);
    lg_addrmap_free(&L->mod_ix);
    free(L->live.slots);
    lg_addrmap_free(&L->compact);
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

static int load_mapped(loader_t *L, const uint8_t *m, size_t size, char *err, size_t errlen)
{
    lg_trace_t *t = L->t;
    if (size < LG_TRACE_FILE_HEADER_SIZE || memcmp(m, LG_TRACE_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not a leakgraph trace (bad magic)", t->path);
        return -EINVAL;
    }
    uint32_t version = lg_get_u32le(m + 8), hsize = lg_get_u32le(m + 12);
    if (version < LG_TRACE_VERSION_MIN || version > LG_TRACE_VERSION) {
        snprintf(err, errlen,
                 "%s: trace format version %u is not supported (this leakgraph reads versions "
                 "%u to %u)",
                 t->path, version, LG_TRACE_VERSION_MIN, LG_TRACE_VERSION);
        return -EPROTONOSUPPORT;
    }
    if (hsize < LG_TRACE_FILE_HEADER_SIZE || hsize > size) {
        snprintf(err, errlen, "%s: corrupt file header", t->path);
        return -EINVAL;
    }
    size_t off = hsize;
    bool have_process = false;
    L->volume_max = (uint64_t)size * LG_READ_MAX_RATIO;
    while (off < size) {
        if (size - off < LG_TRACE_BLOCK_HEADER_SIZE) {
            lg_load_problem(t, "truncated: cut inside a block header at byte %zu", off);
            break;
        }
        const uint8_t *h = m + off;
        uint32_t type = lg_get_u32le(h), stored = lg_get_u32le(h + 4), raw = lg_get_u32le(h + 8);
        uint32_t crc = lg_get_u32le(h + 12);
        if (stored > LG_TRACE_MAX_BLOCK || raw > LG_TRACE_MAX_BLOCK) {
            lg_load_problem(t, "corrupt block header at byte %zu", off);
            break;
        }
        if (size - off - LG_TRACE_BLOCK_HEADER_SIZE < stored) {
            lg_load_problem(t, "truncated: block at byte %zu is cut short", off);
            break;
        }
        const uint8_t *payload = h + LG_TRACE_BLOCK_HEADER_SIZE;
        if (lg_crc32c(lg_crc32c(0, h, 12), payload, stored) != crc) {
            lg_load_problem(t, "corrupt block at byte %zu (checksum mismatch)", off);
            break;
        }
        t->file_bytes += LG_TRACE_BLOCK_HEADER_SIZE + stored;
        int lim = block_limits(L, type, stored, raw, off, err, errlen);
        if (lim) return lim;
        if (!have_process && type != LG_BLOCK_PROCESS) {
            lg_load_problem(t, "block at byte %zu precedes the process description", off);
            break;
        }
        int rc = 0;
        if (type == LG_BLOCK_PROCESS) {
            if (have_process) {
                lg_load_problem(t, "second process description at byte %zu", off);
                break;
            }
            /* the ring count is fixed here: every EVENTS block's ring is checked against it */
            rc = parse_kv(t, payload, stored, false);
            if (rc == 0 && (t->nrings == 0 || t->nrings > 65536)) rc = -EBADMSG;
            if (rc == -EBADMSG) {
                snprintf(err, errlen, "%s: corrupt process description at byte %zu%s", t->path,
                         off, t->nrings ? "" : " (no ring count)");
                return -EINVAL;
            }
            if (rc == 0) rc = lg_loader_rings(L, t->nrings);
            if (rc == 0) rc = lg_inherit(L);
            have_process = true;
        } else if (type == LG_BLOCK_EVENTS) {
            if (stored < 4) {
                lg_load_problem(t, "corrupt events block at byte %zu", off);
                break;
            }
            if (lg_get_u32le(payload) >= L->nrings) {
                snprintf(err, errlen,
                         "%s: the EVENTS block at byte %zu is for ring %u, but the PROCESS block "
                         "declares %u rings: not a trace a leakgraph writer produced",
                         t->path, off, lg_get_u32le(payload), L->nrings);
                return -EINVAL;
            }
            if (grow((void **)&L->raw, &L->rawcap, raw ? raw : 1, 1)) {
                snprintf(err, errlen, "%s: out of memory", t->path);
                return -ENOMEM;
            }
            size_t n = ZSTD_decompressDCtx(L->zd, L->raw, raw, payload + 4, stored - 4);
            if (ZSTD_isError(n) || n != raw) {
                lg_load_problem(t, "corrupt events block at byte %zu (%s)", off,
                            ZSTD_isError(n) ? ZSTD_getErrorName(n) : "length mismatch");
                break;
            }
            t->raw_bytes += raw;
            rc = lg_decode_stream(L, lg_get_u32le(payload), L->raw, n);
            if (rc == -EBADMSG) break;
            t->has_end = false; /* events after an END (a failed exec) reopen the trace */
        } else if (type == LG_BLOCK_SNAPSHOT && L->stop_seq) {
            /* loading a fork's parent: its snapshots do not matter */
        } else if (type == LG_BLOCK_SNAPSHOT) {
            if (stored < 8 || lg_get_u32le(payload) != L->snapparts) {
                lg_load_problem(t, "corrupt snapshot block at byte %zu", off);
                break;
            }
            if (grow((void **)&L->snapbuf, &L->snapcap, L->snaplen + (raw ? raw : 1), 1)) {
                snprintf(err, errlen, "%s: out of memory", t->path);
                return -ENOMEM;
            }
            size_t n = ZSTD_decompressDCtx(L->zd, L->snapbuf + L->snaplen, raw, payload + 8,
                                           stored - 8);
            if (ZSTD_isError(n) || n != raw) {
                lg_load_problem(t, "corrupt snapshot block at byte %zu", off);
                break;
            }
            L->snaplen += n;
            L->snapparts++;
            if (lg_get_u32le(payload + 4) & 1) { /* last part */
                rc = lg_snapshot_parse(L, L->snapbuf, L->snaplen);
                L->snaplen = 0;
                L->snapparts = 0;
                if (rc == -EBADMSG) {
                    lg_load_problem(t, "corrupt snapshot ending at byte %zu", off);
                    break;
                }
            }
        } else if (type == LG_BLOCK_END) {
            rc = parse_kv(t, payload, stored, true);
            t->has_end = true;
        } /* unknown block types are skipped: they carry their own length */
        if (rc == -ENOMEM || L->error) {
            snprintf(err, errlen, "%s: out of memory while reading the block at byte %zu",
                     t->path, off);
            return -ENOMEM;
        }
        if (rc) {
            lg_load_problem(t, "corrupt block at byte %zu", off);
            break;
        }
        off += LG_TRACE_BLOCK_HEADER_SIZE + stored;
    }
    if (!have_process) {
        snprintf(err, errlen, "%s: %s", t->path,
                 t->problem ? t->problem : "no process description: not a complete trace header");
        return -EINVAL;
    }
    lg_order_drain(L, UINT64_MAX); /* gaps: a process that died mid-record */
    /* the whole mapping, the block buffer and the waiting events */
    t->read_peak_bytes = size + L->rawcap + t->read_peak_events * sizeof(lg_event_t);
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
    size_t size = (size_t)st.st_size;
    const uint8_t *m = NULL;
    if (size > 0) {
        void *mm = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mm == MAP_FAILED) {
            int e = errno;
            snprintf(err, errlen, "%s: %s", path, strerror(e));
            close(fd);
            return -e;
        }
        m = mm;
    }
    close(fd);
    /* stack id 0 is "no stack"; type 0 is unknown; label 0 is none */
    loader_t L = {.t = t, .cb = cb, .ctx = ctx, .zd = ZSTD_createDCtx(), .stop_seq = stop,
                  .depth = depth};
    int rc;
    if (lg_loader_tables(t, &L) != 0 || !L.zd) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -ENOMEM;
    } else {
        rc = load_mapped(&L, m ? m : (const uint8_t *)"", size, err, errlen);
    }
    if (m) munmap((void *)m, size);
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
