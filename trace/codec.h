/* Varint, key/value entry and block-level encoding shared by the trace writers (shim,
 * collector, snapshot scan) and the reader (analyzer). Everything here is inline,
 * allocation-free and safe to call from inside a malloc hook. Bounds: a uv/sv takes at most
 * 10 bytes; encoders given an `end` never write past it; decoders never read past `end` and
 * report malformed input instead of trusting it. */
#ifndef LG_CODEC_H
#define LG_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LG_VARINT_MAX 10

/* Encoding: uv = unsigned LEB128. Returns the new write position. */
static inline uint8_t *lg_put_uv(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Encoding: sv = zigzag-mapped signed value, then uv. */
static inline uint8_t *lg_put_sv(uint8_t *p, int64_t v)
{
    return lg_put_uv(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline uint8_t *lg_put_bytes(uint8_t *p, const void *b, size_t n)
{
    p = lg_put_uv(p, n);
    if (n) memcpy(p, b, n); /* b may be NULL when n is 0 */
    return p + n;
}

/* The number of bytes lg_put_uv(p, v) writes (1..LG_VARINT_MAX). */
static inline size_t lg_uv_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Key/value entries: the payload of PROCESS and END blocks, and the key/value part of a
 * SNAPSHOT (docs/trace-format.md). One writer for all of them (shim, trace writer, snapshot
 * scan, test builder); readers skip keys they do not know.
 * Encoding: KV entry = uv key, uv length, that many value bytes.
 * Both encoders write the whole entry or nothing: with less room than the bound before
 * `end` they leave the entry out and return `p` unchanged (the caller sizes `end` so that
 * this only happens to text it may lose, such as a very long argv). */
#define LG_KV_INT_MAX (2 * LG_VARINT_MAX + 1) /* key, length (1 byte), value */

/* Encoding: integer KV entry = uv key, uv length, uv value. The value is encoded twice (its
 * length, then itself) rather than copied from a scratch buffer: no memcpy, and no false
 * -Wstringop-overread from GCC at -O3. Needs LG_KV_INT_MAX bytes before `end`. */
static inline uint8_t *lg_kv_int(uint8_t *p, const uint8_t *end, uint64_t key, uint64_t v)
{
    if (end - p < LG_KV_INT_MAX) return p;
    p = lg_put_uv(p, key);
    p = lg_put_uv(p, lg_uv_len(v));
    return lg_put_uv(p, v);
}

/* Encoding: string KV entry = uv key, uv n, the n bytes of s (no NUL; s may be NULL when n
 * is 0). Needs n + 2 * LG_VARINT_MAX bytes before `end`. */
static inline uint8_t *lg_kv_str(uint8_t *p, const uint8_t *end, uint64_t key, const void *s,
                                 size_t n)
{
    size_t room = (size_t)(end - p);
    if (room < 2 * LG_VARINT_MAX || n > room - 2 * LG_VARINT_MAX) return p;
    p = lg_put_uv(p, key);
    return lg_put_bytes(p, s, n);
}

static inline void lg_put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t lg_get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A decoding cursor. `bad` is set once input ran out or a varint was malformed; from then on
 * every read returns 0, so callers check `bad` once per record. */
typedef struct lg_cursor {
    const uint8_t *p, *end;
    int bad;
} lg_cursor_t;

static inline uint64_t lg_get_uv(lg_cursor_t *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) break;
        uint8_t b = *c->p++;
        if (shift == 63 && b > 1) break; /* a 10th byte may only hold bit 63 */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    c->bad = 1;
    c->p = c->end;
    return 0;
}

static inline int64_t lg_get_sv(lg_cursor_t *c)
{
    uint64_t u = lg_get_uv(c);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static inline uint8_t lg_get_u8(lg_cursor_t *c)
{
    if (c->p >= c->end) {
        c->bad = 1;
        return 0;
    }
    return *c->p++;
}

/* Reads a uv length and returns a pointer to that many bytes, or NULL (and sets bad). */
static inline const uint8_t *lg_get_bytes(lg_cursor_t *c, size_t *len)
{
    uint64_t n = lg_get_uv(c);
    if (c->bad || n > (uint64_t)(c->end - c->p)) {
        c->bad = 1;
        c->p = c->end;
        *len = 0;
        return NULL;
    }
    const uint8_t *b = c->p;
    c->p += n;
    *len = (size_t)n;
    return b;
}

/* CRC-32C (Castagnoli), bitwise-table software version; used on block payloads. */
uint32_t lg_crc32c(uint32_t crc, const void *buf, size_t len);

#endif /* LG_CODEC_H */
