/* test_codec.c: unit tests of trace/codec.h (uv/sv varints, the decoding cursor, byte
 * strings, u32le) and of lg_crc32c (trace/writer.c). Inputs that must be rejected are
 * placed in heap buffers of their exact size, so a decoder reading past `end` is caught by
 * ASan in the sanitizer build. */
#include <inttypes.h>
#include <stdlib.h>

#include "codec.h"
#include "harness.h"
#include "lgtest.h"

/* Encodes v, checks the length and the exact bytes (if given), decodes it back from a buffer
 * of exactly that size. */
static void uv_case(uint64_t v, size_t want_len, const uint8_t *want)
{
    uint8_t enc[LG_VARINT_MAX + 1];
    size_t n = (size_t)(lg_put_uv(enc, v) - enc);
    CHECK_EQ(n, want_len);
    if (want) CHECK(memcmp(enc, want, want_len) == 0);
    uint8_t *exact = malloc(n);
    memcpy(exact, enc, n);
    lg_cursor_t c = {exact, exact + n, 0};
    CHECK_EQ(lg_get_uv(&c), v);
    CHECK_EQ(c.bad, 0);
    CHECK(c.p == c.end);
    free(exact);
}

static void sv_case(int64_t v, uint64_t zigzag)
{
    uint8_t a[LG_VARINT_MAX], b[LG_VARINT_MAX];
    size_t na = (size_t)(lg_put_sv(a, v) - a), nb = (size_t)(lg_put_uv(b, zigzag) - b);
    CHECK_EQ(na, nb);
    CHECK(memcmp(a, b, na) == 0); /* sv is zigzag, then uv */
    uint8_t *exact = malloc(na);
    memcpy(exact, a, na);
    lg_cursor_t c = {exact, exact + na, 0};
    CHECK_EQ(lg_get_sv(&c), v);
    CHECK_EQ(c.bad, 0);
    CHECK(c.p == c.end);
    free(exact);
}

/* Decodes `len` bytes as one uv from an exact-size heap buffer; returns the cursor state. */
static lg_cursor_t decode_exact(const uint8_t *bytes, size_t len, uint64_t *v, uint8_t **buf)
{
    *buf = malloc(len ? len : 1);
    if (len) memcpy(*buf, bytes, len);
    lg_cursor_t c = {*buf, *buf + len, 0};
    *v = lg_get_uv(&c);
    return c;
}

static void test_varints(void)
{
    static const uint8_t e0[] = {0x00}, e127[] = {0x7f}, e128[] = {0x80, 0x01},
                         e300[] = {0xac, 0x02}, e16384[] = {0x80, 0x80, 0x01},
                         emax[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
                         e63[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    uv_case(0, 1, e0);
    uv_case(1, 1, NULL);
    uv_case(127, 1, e127);
    uv_case(128, 2, e128);
    uv_case(300, 2, e300);
    uv_case(16383, 2, NULL);
    uv_case(16384, 3, e16384);
    uv_case(UINT32_MAX, 5, NULL);
    uv_case((uint64_t)UINT32_MAX + 1, 5, NULL);
    uv_case((1ull << 56) - 1, 8, NULL);
    uv_case(1ull << 56, 9, NULL);
    uv_case((1ull << 63) - 1, 9, NULL);
    uv_case(1ull << 63, 10, e63);
    uv_case(UINT64_MAX, 10, emax);

    sv_case(0, 0);
    sv_case(-1, 1);
    sv_case(1, 2);
    sv_case(-2, 3);
    sv_case(63, 126);
    sv_case(-64, 127);
    sv_case(64, 128);
    sv_case(INT64_MAX, UINT64_MAX - 1);
    sv_case(INT64_MIN, UINT64_MAX);
    sv_case(INT64_MIN + 1, UINT64_MAX - 2);

    /* Several values back to back, as in a record. */
    uint8_t buf[6 * LG_VARINT_MAX], *p = buf;
    p = lg_put_uv(p, 5);
    p = lg_put_sv(p, -300);
    p = lg_put_uv(p, UINT64_MAX);
    p = lg_put_sv(p, INT64_MIN);
    p = lg_put_bytes(p, "abc", 3);
    *p++ = 0xee;
    lg_cursor_t c = {buf, p, 0};
    CHECK_EQ(lg_get_uv(&c), 5);
    CHECK_EQ(lg_get_sv(&c), -300);
    CHECK_EQ(lg_get_uv(&c), UINT64_MAX);
    CHECK(lg_get_sv(&c) == INT64_MIN);
    size_t n;
    const uint8_t *s = lg_get_bytes(&c, &n);
    CHECK(s && n == 3 && memcmp(s, "abc", 3) == 0);
    CHECK_EQ(lg_get_u8(&c), 0xee);
    CHECK_EQ(c.bad, 0);
    CHECK(c.p == c.end);
    /* reading at the end sets bad and returns 0 */
    CHECK_EQ(lg_get_u8(&c), 0);
    CHECK_EQ(c.bad, 1);
}

static void test_malformed(void)
{
    uint64_t v;
    uint8_t *b;
    lg_cursor_t c;

    /* empty input */
    c = decode_exact(NULL, 0, &v, &b);
    CHECK_EQ(v, 0);
    CHECK_EQ(c.bad, 1);
    CHECK(c.p == c.end);
    free(b);

    /* truncated: continuation bit set on the last available byte, for every length */
    static const uint8_t cont[LG_VARINT_MAX] = {0x80, 0xff, 0x80, 0xff, 0x80,
                                                0xff, 0x80, 0xff, 0x80, 0xff};
    for (size_t len = 1; len <= LG_VARINT_MAX; len++) {
        c = decode_exact(cont, len, &v, &b);
        CHECK_EQ(v, 0);
        CHECK_EQ(c.bad, 1);
        CHECK(c.p == c.end);
        free(b);
    }

    /* too long: 11 bytes (10 with the continuation bit, then a terminator) */
    static const uint8_t eleven[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                       0x80, 0x80, 0x80, 0x80, 0x00};
    c = decode_exact(eleven, sizeof eleven, &v, &b);
    CHECK_EQ(v, 0);
    CHECK_EQ(c.bad, 1);
    CHECK(c.p == c.end); /* it never trusts the rest of a malformed buffer */
    free(b);

    /* The same overlong varint followed by more data: still bad, and every later read
     * returns 0 (the documented "check bad once per record" contract). */
    uint8_t longer[20];
    memset(longer, 0x80, sizeof longer);
    longer[19] = 0x01;
    c = decode_exact(longer, sizeof longer, &v, &b);
    CHECK_EQ(c.bad, 1);
    CHECK_EQ(lg_get_uv(&c), 0);
    CHECK_EQ(lg_get_sv(&c), 0);
    CHECK_EQ(lg_get_u8(&c), 0);
    CHECK_EQ(c.bad, 1);
    free(b);

    /* 10 bytes whose last byte carries more than the one bit left of a 64-bit value: the
     * value does not fit in 64 bits. */
    static const uint8_t over[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    c = decode_exact(over, sizeof over, &v, &b);
    /* Fixed bug (codec-overflow): lg_get_uv accepted a 10th byte > 1 and silently dropped the bits
     * that do not fit (returned UINT64_MAX here) instead of reporting malformed input. */
    CHECK_EQ(c.bad, 1);
    free(b);

    /* byte strings: a length past the end is rejected without reading it */
    static const uint8_t str[] = {0x05, 'a', 'b', 'c'};
    b = malloc(sizeof str);
    memcpy(b, str, sizeof str);
    c = (lg_cursor_t){b, b + sizeof str, 0};
    size_t n = 99;
    CHECK(lg_get_bytes(&c, &n) == NULL);
    CHECK_EQ(n, 0);
    CHECK_EQ(c.bad, 1);
    CHECK(c.p == c.end);
    /* exactly fitting, and empty */
    b[0] = 0x03;
    c = (lg_cursor_t){b, b + sizeof str, 0};
    const uint8_t *s = lg_get_bytes(&c, &n);
    CHECK(s == b + 1 && n == 3 && c.p == c.end && !c.bad);
    b[0] = 0x00;
    c = (lg_cursor_t){b, b + 1, 0};
    s = lg_get_bytes(&c, &n);
    CHECK(s != NULL && n == 0 && !c.bad);
    /* a huge length (2^64-1) does not overflow the bounds check */
    free(b);
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'x'};
    b = malloc(sizeof huge);
    memcpy(b, huge, sizeof huge);
    c = (lg_cursor_t){b, b + sizeof huge, 0};
    CHECK(lg_get_bytes(&c, &n) == NULL);
    CHECK_EQ(c.bad, 1);
    free(b);
}

static void test_u32le(void)
{
    uint8_t b[4];
    lg_put_u32le(b, 0x12345678u);
    CHECK(b[0] == 0x78 && b[1] == 0x56 && b[2] == 0x34 && b[3] == 0x12);
    CHECK_EQ(lg_get_u32le(b), 0x12345678u);
    lg_put_u32le(b, 0xffffffffu);
    CHECK_EQ(lg_get_u32le(b), 0xffffffffu);
}

/* Bit-at-a-time reference CRC-32C (reflected, polynomial 0x82F63B78). */
static uint32_t crc_ref(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
    }
    return ~crc;
}

static void test_crc(void)
{
    /* Check value of CRC-32C, and the iSCSI vectors of RFC 3720, B.4. */
    CHECK_EQ(lg_crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ(lg_crc32c(0, "", 0), 0);
    uint8_t v[32];
    memset(v, 0, sizeof v);
    CHECK_EQ(lg_crc32c(0, v, 32), 0x8A9136AAu);
    memset(v, 0xff, sizeof v);
    CHECK_EQ(lg_crc32c(0, v, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) v[i] = (uint8_t)i;
    CHECK_EQ(lg_crc32c(0, v, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) v[i] = (uint8_t)(31 - i);
    CHECK_EQ(lg_crc32c(0, v, 32), 0x113FDB5Cu);

    /* Every length and alignment against the reference, and chaining: crc(crc(a), b) is
     * crc(a b) (the block CRC is computed as header then payload). */
    uint8_t data[300];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof data; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (uint8_t)x;
    }
    int mismatches = 0;
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof data && len < 200; len++) {
            uint8_t *exact = malloc(len ? len : 1);
            memcpy(exact, data + off, len);
            uint32_t want = crc_ref(0, exact, len);
            if (lg_crc32c(0, exact, len) != want) mismatches++;
            for (size_t cut = 0; cut <= len; cut += 7)
                if (lg_crc32c(lg_crc32c(0, exact, cut), exact + cut, len - cut) != want)
                    mismatches++;
            free(exact);
        }
    CHECK_EQ(mismatches, 0);
    /* a single flipped bit always changes the CRC */
    uint32_t base = lg_crc32c(0, data, 64);
    int same = 0;
    for (int bit = 0; bit < 64 * 8; bit++) {
        data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (lg_crc32c(0, data, 64) == base) same++;
        data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    CHECK_EQ(same, 0);
}

int main(void)
{
    test_varints();
    test_malformed();
    test_u32le();
    test_crc();
    return check_result("test_codec");
}
