/* lgtest.c: the trace builder and helpers of lgtest.h. Each record is encoded here from the
 * record table of include/leakgraph/trace_format.h, independently of the shim (preload/), so that a
 * disagreement between the header and the reader shows up as a failing test. It must not
 * call the analyzer. */
#define _GNU_SOURCE
#include "lgtest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"

int lgt_tmpdir(char *out, size_t len)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, len, "%s/lgfmt.XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(out) ? 0 : -1;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void lgt_rmtree(const char *dir)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- process description ---------------------------------------------------------------- */
int lgt_open(lgt_builder_t *b, const char *path)
{
    memset(b, 0, sizeof *b);
    for (uint32_t i = 0; i < LG_RINGS; i++) b->st[i].last_seq = -1;
    snprintf(b->path, sizeof b->path, "%s", path);
    b->r = lg_region_create_private();
    if (!b->r) return -errno;
    lg_region_hdr_t *h = &b->r->hdr;
    h->version = LG_REGION_VERSION;
    h->nrings = LG_RINGS;
    h->ring_bytes = LG_RING_BYTES;
    h->pid = 4242;
    h->ppid = 4241;
    h->start_ns = 1700000000123456789ull;
    /* the description, encoded as the shim encodes it (codec.h) */
    uint8_t *p = h->info;
    const uint8_t *end = h->info + sizeof h->info;
    p = lg_kv_int(p, end, LG_KEY_PID, 4242);
    p = lg_kv_int(p, end, LG_KEY_PPID, 4241);
    p = lg_kv_int(p, end, LG_KEY_START_NS, h->start_ns);
    p = lg_kv_int(p, end, LG_KEY_PARENT_PID, 4000);
    p = lg_kv_str(p, end, LG_KEY_TRACER, "leakgraph test", strlen("leakgraph test"));
    p = lg_kv_str(p, end, LG_KEY_EXE, "/usr/bin/prog", strlen("/usr/bin/prog"));
    p = lg_kv_str(p, end, LG_KEY_CWD, "/home/user", strlen("/home/user"));
    p = lg_kv_str(p, end, LG_KEY_ARG, "prog", strlen("prog"));
    p = lg_kv_str(p, end, LG_KEY_ARG, "arg1", strlen("arg1"));
    p = lg_kv_str(p, end, 200, "an unknown key that readers skip", strlen("an unknown key that readers skip"));
    h->info_len = (uint32_t)(p - h->info);
    atomic_store(&h->state, LG_RS_RUNNING);
    atomic_store(&h->magic, LG_REGION_MAGIC);
    int rc = lg_collector_open(&b->c, b->r, path);
    if (rc) {
        lg_region_unmap(b->r);
        b->r = NULL;
    }
    return rc;
}

void lgt_raw(lgt_builder_t *b, uint32_t ring, const void *bytes, size_t len)
{
    lg_ring_t *rg = &b->r->rings[ring];
    uint64_t head = atomic_load_explicit(&rg->head, memory_order_relaxed);
    if (head + len - atomic_load(&rg->tail) > LG_RING_BYTES) lg_collector_drain(b->c);
    lg_ring_copy_in(rg, head, bytes, len);
    atomic_store_explicit(&rg->head, head + len, memory_order_release);
}

/* ---- records ------------------------------------------------------------------------------ */
static void note_seq(lgt_builder_t *b, uint64_t seq)
{
    if (seq + 1 > b->max_seq_plus1) b->max_seq_plus1 = seq + 1;
}

/* Encoding: tag (type | LG_TAG_SEQ1 when seq = last + 1), else tag + sv(seq - (last + 1)). */
static uint8_t *put_tag_seq(lgt_builder_t *b, uint8_t *p, uint32_t ring, uint8_t type,
                            uint64_t seq)
{
    lgt_stream_t *s = &b->st[ring];
    int64_t d = (int64_t)seq - (s->last_seq + 1);
    if (d == 0) {
        *p++ = (uint8_t)(type | LG_TAG_SEQ1);
    } else {
        *p++ = type;
        p = lg_put_sv(p, d);
    }
    s->last_seq = (int64_t)seq;
    note_seq(b, seq);
    return p;
}

/* Encoding: sv(addr - previous address of the stream). */
static uint8_t *put_addr(lgt_builder_t *b, uint8_t *p, uint32_t ring, uint64_t addr)
{
    p = lg_put_sv(p, (int64_t)(addr - b->st[ring].prev_addr));
    b->st[ring].prev_addr = addr;
    return p;
}

void lgt_thread(lgt_builder_t *b, uint32_t ring, uint32_t tid)
{
    uint8_t buf[16], *p = buf;
    *p++ = LG_REC_THREAD;
    p = lg_put_uv(p, tid);
    lgt_raw(b, ring, buf, (size_t)(p - buf));
}

uint32_t lgt_stack(lgt_builder_t *b, uint32_t ring, const uint64_t *ips, uint32_t depth)
{
    uint8_t buf[16 + LG_VARINT_MAX * (LG_MAX_FRAMES + 2)], *p = buf;
    *p++ = LG_REC_STACK;
    p = lg_put_uv(p, depth);
    p = lg_put_uv(p, ips[0]);
    for (uint32_t i = 1; i < depth; i++) p = lg_put_sv(p, (int64_t)(ips[i] - ips[i - 1]));
    lgt_raw(b, ring, buf, (size_t)(p - buf));
    return ++b->st[ring].nstack;
}

static void alloc_rec(lgt_builder_t *b, uint32_t ring, uint8_t type, uint64_t seq, uint32_t fn,
                      uint64_t addr, uint64_t size, uint64_t align, uint32_t sid)
{
    uint8_t buf[8 * LG_VARINT_MAX], *p = buf;
    p = put_tag_seq(b, p, ring, type, seq);
    if (type == LG_REC_ALIGNED) p = lg_put_uv(p, fn);
    p = put_addr(b, p, ring, addr);
    p = lg_put_uv(p, size);
    if (type == LG_REC_ALIGNED) p = lg_put_uv(p, align);
    p = lg_put_uv(p, sid);
    lgt_raw(b, ring, buf, (size_t)(p - buf));
}

void lgt_malloc(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint64_t addr, uint64_t size,
                uint32_t sid)
{
    alloc_rec(b, ring, LG_REC_MALLOC, seq, 0, addr, size, 0, sid);
}

void lgt_calloc(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint64_t addr, uint64_t size,
                uint32_t sid)
{
    alloc_rec(b, ring, LG_REC_CALLOC, seq, 0, addr, size, 0, sid);
}

void lgt_aligned(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint32_t fn, uint64_t addr,
                 uint64_t size, uint64_t align, uint32_t sid)
{
    alloc_rec(b, ring, LG_REC_ALIGNED, seq, fn, addr, size, align, sid);
}

/* Encoding: tag+seq(free), sv(old - prev), sv(new - old), uv size, uv stack,
 * uv(seq_alloc - seq_free); the stream's last seq becomes seq_alloc. */
void lgt_realloc(lgt_builder_t *b, uint32_t ring, uint64_t seq_free, uint64_t old, uint64_t addr,
                 uint64_t size, uint32_t sid, uint64_t seq_alloc)
{
    uint8_t buf[8 * LG_VARINT_MAX], *p = buf;
    p = put_tag_seq(b, p, ring, LG_REC_REALLOC, seq_free);
    p = put_addr(b, p, ring, old);
    p = lg_put_sv(p, (int64_t)(addr - old));
    b->st[ring].prev_addr = addr;
    p = lg_put_uv(p, size);
    p = lg_put_uv(p, sid);
    p = lg_put_uv(p, seq_alloc - seq_free);
    b->st[ring].last_seq = (int64_t)seq_alloc;
    note_seq(b, seq_alloc);
    lgt_raw(b, ring, buf, (size_t)(p - buf));
}

void lgt_free(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint64_t addr)
{
    uint8_t buf[4 * LG_VARINT_MAX], *p = buf;
    p = put_tag_seq(b, p, ring, LG_REC_FREE, seq);
    p = put_addr(b, p, ring, addr);
    lgt_raw(b, ring, buf, (size_t)(p - buf));
}

void lgt_nop(lgt_builder_t *b, uint32_t ring, uint64_t seq)
{
    uint8_t buf[2 * LG_VARINT_MAX], *p = buf;
    p = put_tag_seq(b, p, ring, LG_REC_NOP, seq);
    lgt_raw(b, ring, buf, (size_t)(p - buf));
}

void lgt_module(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint32_t id, uint64_t bias,
                uint64_t start, uint64_t end, const char *path, const uint8_t *bid,
                size_t bid_len)
{
    uint8_t buf[8 * LG_VARINT_MAX + 4096 + 64], *p = buf;
    p = put_tag_seq(b, p, ring, LG_REC_MODULE, seq);
    p = lg_put_uv(p, id);
    p = lg_put_uv(p, bias);
    p = lg_put_uv(p, start);
    p = lg_put_uv(p, end);
    p = lg_put_bytes(p, path, strlen(path));
    /* bid may be NULL with bid_len 0, as in the shim for a module without a build id. */
    p = lg_put_bytes(p, bid, bid_len);
    lgt_raw(b, ring, buf, (size_t)(p - buf));
}

void lgt_unmodule(lgt_builder_t *b, uint32_t ring, uint64_t seq, uint32_t id)
{
    uint8_t buf[3 * LG_VARINT_MAX], *p = buf;
    p = put_tag_seq(b, p, ring, LG_REC_UNMODULE, seq);
    p = lg_put_uv(p, id);
    lgt_raw(b, ring, buf, (size_t)(p - buf));
}

/* ---- collector steps ---------------------------------------------------------------------- */
long lgt_drain(lgt_builder_t *b)
{
    return lg_collector_drain(b->c);
}

int lgt_flush(lgt_builder_t *b)
{
    lg_collector_drain(b->c);
    return lg_collector_flush(b->c);
}

int lgt_finish(lgt_builder_t *b, int reason, int status, int sig, uint64_t lost)
{
    atomic_store(&b->r->hdr.seq, b->max_seq_plus1);
    atomic_store(&b->r->hdr.lost, lost);
    return lg_collector_finish(b->c, reason, status, sig);
}

void lgt_close(lgt_builder_t *b)
{
    lg_collector_close(b->c);
    lg_region_unmap(b->r);
    b->c = NULL;
    b->r = NULL;
}

/* ---- the sample trace -------------------------------------------------------------------- */
int lgt_write_sample(const char *path, int with_end)
{
    static const uint64_t sa[] = {0x401000, 0x402000, 0x403000}, sb[] = {0x7f0000001234, 0x401800},
                          sc[] = {0x405555};
    lgt_builder_t *b = calloc(1, sizeof *b);
    if (!b) return -ENOMEM;
    int rc = lgt_open(b, path);
    if (rc) {
        free(b);
        return rc;
    }
    uint32_t sid[3][3] = {{0}};
    for (uint32_t ring = 1; ring <= 2; ring++) {
        lgt_thread(b, ring, 1000 + ring);
        sid[ring][0] = lgt_stack(b, ring, sa, 3);
        sid[ring][1] = lgt_stack(b, ring, sb, 2);
        sid[ring][2] = ring == 2 ? lgt_stack(b, ring, sc, 1) : 0;
    }
    uint64_t seq = 0;
    lgt_module(b, 1, seq++, 0, 0, 0x400000, 0x410000, "/usr/bin/prog", (const uint8_t *)"id", 2);
    for (uint64_t i = 0; i < 200; i++) {
        uint32_t ring = 1 + (uint32_t)(i % 2), other = ring == 1 ? 2 : 1;
        uint64_t addr = 0x10000 + i * 48;
        if (i % 7 == 3)
            lgt_calloc(b, ring, seq++, addr, i + 1, sid[ring][i % 3]);
        else if (i % 11 == 4)
            lgt_aligned(b, ring, seq++, LG_FN_ALIGNED_ALLOC, addr, 64, 32, sid[ring][1]);
        else
            lgt_malloc(b, ring, seq++, addr, i + 1, sid[ring][i % 3]);
        if (i % 3 == 0 && i > 0 && (i - 1) % 5 != 0)
            lgt_free(b, other, seq++, addr - 48); /* the other ring frees the previous block */
        if (i % 5 == 0) { /* realloc, its two numbers around a NOP of the other ring */
            lgt_realloc(b, ring, seq, addr, 0x900000 + i * 64, i + 100, sid[ring][0], seq + 2);
            lgt_nop(b, other, seq + 1);
            seq += 3;
        }
        if (i % 20 == 19) lgt_flush(b);
    }
    lgt_free(b, 2, seq++, 0x12345); /* an unknown free */
    atomic_store(&b->r->hdr.seq, seq);
    rc = lgt_flush(b);
    if (!rc && with_end) rc = lgt_finish(b, LG_END_EXIT, 0, 0, 0);
    lgt_close(b);
    free(b);
    return rc;
}

/* ---- files --------------------------------------------------------------------------------- */
uint8_t *lgt_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (buf && got != (size_t)st.st_size) {
        free(buf);
        buf = NULL;
    }
    *len = got;
    return buf;
}

int lgt_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    const uint8_t *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        p += n;
        len -= (size_t)n;
    }
    return close(fd) ? -errno : 0;
}

uint8_t *lgt_put_block(uint8_t *out, uint32_t type, const void *payload, uint32_t len,
                       uint32_t raw)
{
    lg_put_u32le(out, type);
    lg_put_u32le(out + 4, len);
    lg_put_u32le(out + 8, raw);
    memmove(out + LG_TRACE_BLOCK_HEADER_SIZE, payload, len);
    uint8_t *stored = out + LG_TRACE_BLOCK_HEADER_SIZE;
    lg_put_u32le(out + 12, lg_crc32c(lg_crc32c(0, out, 12), stored, len));
    return out + LG_TRACE_BLOCK_HEADER_SIZE + len;
}
