/* The collector (see writer.h): ring bytes -> staging -> zstd EVENTS blocks in the trace
 * file. Encodings written here (docs/trace-format.md):
 *   file header  : "LGTRACE\0", u32 version, u32 header size, u32 flags, u32 0, u64 0
 *   block header : u32 type, u32 stored length, u32 raw length, u32 CRC-32C of the first
 *                  12 header bytes followed by the stored bytes
 *   EVENTS       : u32 ring index, then one zstd frame of the ring's record bytes
 *   PROCESS, END : key/value entries (uv key, uv length, bytes: lg_kv_int, codec.h)
 * It must not interpret records: the ring stream is copied as it is. */
#define _GNU_SOURCE
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "codec.h"
#include "leakgraph/trace_format.h"

/* zstd level 1: ~400 MB/s on this kind of data, within 10% of level 3's ratio. */
#define LG_ZSTD_LEVEL 1

typedef struct lg_stage {
    uint8_t *buf;
    size_t len, cap;
    uint64_t since; /* CLOCK_MONOTONIC ns when its first byte was staged (len > 0) */
} lg_stage_t;

struct lg_collector {
    lg_region_t *region;
    char *path;
    ZSTD_CCtx *zc;
    uint8_t *zbuf; /* block header + ring index + compressed bytes */
    size_t zcap;
    int error;
    off_t end_at;  /* the file's size before its END block (lg_collector_unfinish), or -1 */
    lg_observer_fn observer; /* sees every ring's bytes as they are drained */
    void *obs_ctx;
    lg_stage_t stage[LG_RINGS];
};

void lg_collector_set_observer(lg_collector_t *c, lg_observer_fn fn, void *ctx)
{
    c->observer = fn;
    c->obs_ctx = ctx;
}

static uint32_t crc_table[8][256];
static _Atomic int crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
    atomic_store(&crc_ready, 1);
}

/* Slicing-by-8 software CRC-32C. */
uint32_t lg_crc32c(uint32_t crc, const void *buf, size_t len)
{
    if (!atomic_load(&crc_ready)) crc_init();
    const uint8_t *p = buf;
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo = crc ^ lg_get_u32le(p);
        uint32_t hi = lg_get_u32le(p + 4);
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
              crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--) crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

/* Appends `len` bytes to the trace by path; returns 0 or a negative errno. */
static int append_file(lg_collector_t *c, const void *data, size_t len)
{
    if (c->error) return c->error;
    int fd = open(c->path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return c->error = -errno;
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            c->error = -errno;
            close(fd);
            return c->error;
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return 0;
}

static void put_block_header(uint8_t *h, uint32_t type, uint32_t stored, uint32_t raw,
                             const uint8_t *payload)
{
    lg_put_u32le(h, type);
    lg_put_u32le(h + 4, stored);
    lg_put_u32le(h + 8, raw);
    lg_put_u32le(h + 12, lg_crc32c(lg_crc32c(0, h, 12), payload, stored));
}

/* Writes an uncompressed key/value block (PROCESS or END). */
static int write_kv_block(lg_collector_t *c, uint32_t type, const uint8_t *kv, size_t len)
{
    uint8_t *b = malloc(LG_TRACE_BLOCK_HEADER_SIZE + len);
    if (!b) return c->error = -ENOMEM;
    memcpy(b + LG_TRACE_BLOCK_HEADER_SIZE, kv, len);
    put_block_header(b, type, (uint32_t)len, (uint32_t)len, b + LG_TRACE_BLOCK_HEADER_SIZE);
    int rc = append_file(c, b, LG_TRACE_BLOCK_HEADER_SIZE + len);
    free(b);
    return rc;
}

/* A writer of the file at path, which open(2) with flags must accept (it is only tried here:
 * every append opens it again). Returns 0 with *out set, or a negative errno. */
static int collector_new(lg_collector_t **out, const char *path, int flags)
{
    lg_collector_t *c = calloc(1, sizeof *c);
    if (!c) return -ENOMEM;
    c->end_at = -1;
    c->path = strdup(path);
    c->zc = ZSTD_createCCtx();
    if (!c->path || !c->zc) {
        lg_collector_close(c);
        return -ENOMEM;
    }
    ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, LG_ZSTD_LEVEL);
    int fd = open(path, flags, 0600);
    if (fd < 0) {
        int e = -errno;
        lg_collector_close(c);
        return e;
    }
    close(fd);
    *out = c;
    return 0;
}

/* The file header: "LGTRACE\0", u32 version, u32 header size, then zeros. */
static void file_header(uint8_t hdr[LG_TRACE_FILE_HEADER_SIZE])
{
    memset(hdr, 0, LG_TRACE_FILE_HEADER_SIZE);
    memcpy(hdr, LG_TRACE_MAGIC, 8);
    lg_put_u32le(hdr + 8, LG_TRACE_VERSION);
    lg_put_u32le(hdr + 12, LG_TRACE_FILE_HEADER_SIZE);
}

/* Starts the trace of region r in c's file: its file header unless `reserved` wrote it, then
 * the PROCESS block. On failure the file is removed and c released. */
static int start_file(lg_collector_t **out, lg_collector_t *c, lg_region_t *r, const char *path,
                      bool reserved)
{
    int rc = 0;
    c->region = r;
    if (!reserved) {
        uint8_t hdr[LG_TRACE_FILE_HEADER_SIZE];
        file_header(hdr);
        rc = append_file(c, hdr, sizeof hdr);
    }

    /* PROCESS block: what the shim wrote into the region, plus the collector's own keys. */
    uint32_t ilen = r->hdr.info_len <= LG_INFO_BYTES ? r->hdr.info_len : 0;
    size_t cap = ilen + LG_KV_INT_MAX;
    uint8_t *kv = malloc(cap);
    if (!kv) rc = -ENOMEM;
    if (rc == 0) {
        memcpy(kv, r->hdr.info, ilen);
        uint8_t *p = kv + ilen;
        p = lg_kv_int(p, kv + cap, LG_KEY_RINGS, LG_RINGS);
        rc = write_kv_block(c, LG_BLOCK_PROCESS, kv, (size_t)(p - kv));
    }
    free(kv);
    if (rc) {
        unlink(path);
        lg_collector_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

int lg_collector_open(lg_collector_t **out, lg_region_t *r, const char *path)
{
    lg_collector_t *c;
    int rc = collector_new(&c, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC);
    return rc ? rc : start_file(out, c, r, path, false);
}

int lg_trace_reserve(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    uint8_t hdr[LG_TRACE_FILE_HEADER_SIZE];
    file_header(hdr);
    ssize_t n;
    while ((n = write(fd, hdr, sizeof hdr)) < 0 && errno == EINTR) {}
    int rc = n == (ssize_t)sizeof hdr ? 0 : n < 0 ? -errno : -ENOSPC;
    if (close(fd) != 0 && !rc && errno != EINTR) rc = -errno; /* NFS reports late */
    if (rc) unlink(path);
    return rc;
}

int lg_trace_is_reserved(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == LG_TRACE_FILE_HEADER_SIZE;
}

int lg_collector_open_reserved(lg_collector_t **out, lg_region_t *r, const char *path)
{
    if (!lg_trace_is_reserved(path)) return -EEXIST;
    lg_collector_t *c;
    int rc = collector_new(&c, path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (rc) {
        unlink(path);
        return rc;
    }
    return start_file(out, c, r, path, true);
}


/* Builds in c->zbuf a block of `type` whose payload is the plen bytes of `prefix` followed by
 * the n bytes of `src` compressed. Returns the block's size, or a negative errno (also kept in
 * c->error). */
static ssize_t compress_block(lg_collector_t *c, uint32_t type, const uint8_t *prefix,
                              size_t plen, const uint8_t *src, size_t n)
{
    size_t bound = ZSTD_compressBound(n) + LG_TRACE_BLOCK_HEADER_SIZE + plen;
    if (bound > c->zcap) {
        uint8_t *nb = realloc(c->zbuf, bound);
        if (!nb) return c->error = -ENOMEM;
        c->zbuf = nb;
        c->zcap = bound;
    }
    uint8_t *payload = c->zbuf + LG_TRACE_BLOCK_HEADER_SIZE;
    memcpy(payload, prefix, plen);
    size_t z = ZSTD_compress2(c->zc, payload + plen, bound - LG_TRACE_BLOCK_HEADER_SIZE - plen,
                              src, n);
    if (ZSTD_isError(z)) return c->error = -EIO;
    put_block_header(c->zbuf, type, (uint32_t)(z + plen), (uint32_t)n, payload);
    return (ssize_t)(LG_TRACE_BLOCK_HEADER_SIZE + plen + z);
}

/* Compresses one ring's staged bytes into an EVENTS block and appends it. */
static int write_stage(lg_collector_t *c, uint32_t ring)
{
    lg_stage_t *s = &c->stage[ring];
    if (s->len == 0) return 0;
    uint8_t prefix[4];
    lg_put_u32le(prefix, ring);
    ssize_t len = compress_block(c, LG_BLOCK_EVENTS, prefix, sizeof prefix, s->buf, s->len);
    if (len < 0) return (int)len;
    s->len = 0;
    return append_file(c, c->zbuf, (size_t)len);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long lg_collector_drain(lg_collector_t *c)
{
    long moved = 0;
    uint64_t now = mono_ns();
    for (uint32_t i = 0; i < LG_RINGS; i++) {
        lg_ring_t *ring = &c->region->rings[i];
        uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
        lg_stage_t *s = &c->stage[i];
        if (s->len && now - s->since >= LG_STAGE_MAX_AGE_NS && !c->error) write_stage(c, i);
        if (head == tail) continue;
        uint64_t n = head - tail;
        if (n > LG_RING_BYTES) { /* corrupted by the traced program: resynchronise */
            atomic_store_explicit(&ring->tail, head, memory_order_release);
            c->error = c->error ? c->error : -EPROTO;
            continue;
        }
        if (s->len + n > s->cap) {
            size_t cap = s->cap ? s->cap : 64 << 10;
            while (cap < s->len + n) cap *= 2;
            uint8_t *nb = realloc(s->buf, cap);
            if (!nb) { /* keep the bytes in the ring; the producer waits for memory */
                c->error = -ENOMEM;
                continue;
            }
            s->buf = nb;
            s->cap = cap;
        }
        if (!s->len) s->since = now;
        lg_ring_copy_out(ring, tail, s->buf + s->len, (size_t)n);
        if (c->observer) c->observer(c->obs_ctx, i, s->buf + s->len, (size_t)n);
        s->len += (size_t)n;
        atomic_store_explicit(&ring->tail, head, memory_order_release);
        moved += (long)n;
        if (s->len >= LG_STAGE_FLUSH && !c->error) write_stage(c, i);
        if (c->error) s->len = 0; /* cannot write: discard so producers never block */
    }
    return c->error ? c->error : moved;
}

int lg_collector_write_snapshot(lg_collector_t *c, const uint8_t *payload, size_t len)
{
    if (lg_collector_flush(c)) return c->error; /* events first: the snapshot follows them */
    uint32_t part = 0;
    size_t off = 0;
    do {
        size_t n = len - off > LG_SNAPSHOT_PART ? LG_SNAPSHOT_PART : len - off;
        uint8_t prefix[8];
        lg_put_u32le(prefix, part);
        lg_put_u32le(prefix + 4, off + n == len ? 1u : 0u);
        ssize_t blen = compress_block(c, LG_BLOCK_SNAPSHOT, prefix, sizeof prefix, payload + off, n);
        if (blen < 0) return (int)blen;
        if (append_file(c, c->zbuf, (size_t)blen)) return c->error;
        off += n;
        part++;
    } while (off < len);
    return 0;
}

int lg_collector_flush(lg_collector_t *c)
{
    for (uint32_t i = 0; i < LG_RINGS; i++)
        if (c->stage[i].len && write_stage(c, i)) break;
    return c->error;
}

int lg_collector_finish(lg_collector_t *c, int reason, int exit_status, int signal)
{
    lg_collector_drain(c);
    if (lg_collector_flush(c)) return c->error;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint8_t kv[7 * LG_KV_INT_MAX], *p = kv, *end = kv + sizeof kv; /* at most 7 keys */
    p = lg_kv_int(p, end, LG_KEY_END_REASON, (uint64_t)reason);
    if (reason == LG_END_EXIT)
        p = lg_kv_int(p, end, LG_KEY_EXIT_STATUS, (uint64_t)(exit_status & 0xff));
    if (reason == LG_END_SIGNAL) p = lg_kv_int(p, end, LG_KEY_SIGNAL, (uint64_t)signal);
    p = lg_kv_int(p, end, LG_KEY_EVENTS, atomic_load(&c->region->hdr.seq));
    p = lg_kv_int(p, end, LG_KEY_LOST, atomic_load(&c->region->hdr.lost));
    uint64_t inc = atomic_load(&c->region->hdr.rc_increfs), dec = atomic_load(&c->region->hdr.rc_decrefs);
    if (inc || dec) {
        p = lg_kv_int(p, end, LG_KEY_RC_INCREFS, inc);
        p = lg_kv_int(p, end, LG_KEY_RC_DECREFS, dec);
    }
    uint64_t end_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    p = lg_kv_int(p, end, LG_KEY_END_NS, end_ns);
    struct stat st;
    c->end_at = lstat(c->path, &st) == 0 ? st.st_size : -1;
    return write_kv_block(c, LG_BLOCK_END, kv, (size_t)(p - kv));
}

int lg_collector_unfinish(lg_collector_t *c)
{
    if (c->error) return c->error;
    if (c->end_at < 0) return c->error = -EINVAL;
    if (truncate(c->path, c->end_at) != 0) return c->error = -errno;
    c->end_at = -1;
    return 0;
}

void lg_collector_close(lg_collector_t *c)
{
    if (!c) return;
    for (uint32_t i = 0; i < LG_RINGS; i++) free(c->stage[i].buf);
    ZSTD_freeCCtx(c->zc);
    free(c->zbuf);
    free(c->path);
    free(c);
}

const char *lg_collector_path(const lg_collector_t *c)
{
    return c->path;
}

int lg_collector_error(const lg_collector_t *c)
{
    return c->error;
}
