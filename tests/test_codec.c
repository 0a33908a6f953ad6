/*
 * test_codec.c: chunk bodies round-trip exactly, are one little-endian zstd
 * frame with content size, and every malformed body is refused.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "r2cache/codec.h"

static rc_codec *codec(void)
{
    rc_codec *c = NULL;
    rc_err e = {0};
    cr_assert_eq(rc_codec_new(3, &c, &e), RC_OK, "%s", e.msg);
    return c;
}

static int32_t *ramp(size_t n)
{
    int32_t *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = (int32_t)((i * 2654435761u) % 40001) - 20000;
    return s;
}

Test(codec, round_trip_exact)
{
    rc_codec *c = codec();
    rc_err e = {0};
    rc_buf b = RC_BUF_INIT;
    int32_t *s = ramp(60000);
    s[0] = INT32_MIN;
    s[1] = INT32_MAX;
    /* The same context serves several chunks. */
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(rc_codec_encode(c, s, 60000, &b, &e), RC_OK, "%s", e.msg);
        int32_t *d = NULL;
        size_t n = 0;
        cr_assert_eq(rc_codec_decode(c, b.data, b.len, 60000, &d, &n, &e), RC_OK, "%s", e.msg);
        cr_assert_eq(n, 60000);
        cr_assert_eq(memcmp(d, s, n * 4), 0);
        free(d);
    }
    rc_buf_free(&b);
    free(s);
    rc_codec_free(c);
}

Test(codec, frame_is_little_endian_with_content_size)
{
    rc_codec *c = codec();
    rc_err e = {0};
    rc_buf b = RC_BUF_INIT;
    int32_t s[3] = {1, -2, 0x01020304};
    cr_assert_eq(rc_codec_encode(c, s, 3, &b, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(ZSTD_getFrameContentSize(b.data, b.len), 12);
    cr_assert_eq(ZSTD_findFrameCompressedSize(b.data, b.len), b.len);
    unsigned char raw[12];
    cr_assert_eq(ZSTD_decompress(raw, sizeof raw, b.data, b.len), 12);
    const unsigned char want[12] = {1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 4, 3, 2, 1};
    cr_assert_eq(memcmp(raw, want, 12), 0);
    rc_buf_free(&b);
    rc_codec_free(c);
}

Test(codec, empty_chunk)
{
    rc_codec *c = codec();
    rc_err e = {0};
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_codec_encode(c, NULL, 0, &b, &e), RC_OK, "%s", e.msg);
    int32_t *d = NULL;
    size_t n = 7;
    cr_assert_eq(rc_codec_decode(c, b.data, b.len, 0, &d, &n, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(n, 0);
    free(d);
    rc_buf_free(&b);
    rc_codec_free(c);
}

Test(codec, bad_level)
{
    rc_codec *c = NULL;
    rc_err e = {0};
    cr_assert_eq(rc_codec_new(0, &c, &e), RC_EINVAL);
    cr_assert_null(c);
    cr_assert_eq(rc_codec_new(20, &c, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "1..19"), "%s", e.msg);
}

static void refuse(rc_codec *c, const void *p, size_t len, size_t max, const char *needle)
{
    rc_err e = {0};
    int32_t *d = (int32_t *)1;
    size_t n = 99;
    cr_assert_eq(rc_codec_decode(c, p, len, max, &d, &n, &e), RC_EFORMAT, "accepted: %s", needle);
    cr_assert_null(d);
    cr_assert_eq(n, 0);
    cr_assert(strstr(e.msg, needle), "message '%s' lacks '%s'", e.msg, needle);
}

Test(codec, malformed_bodies_refused)
{
    rc_codec *c = codec();
    rc_err e = {0};
    rc_buf b = RC_BUF_INIT;
    int32_t *s = ramp(6000);
    cr_assert_eq(rc_codec_encode(c, s, 6000, &b, &e), RC_OK, "%s", e.msg);
    size_t len = b.len;
    unsigned char *copy = malloc(2 * len + 16);

    /* truncated */
    refuse(c, b.data, len - 1, 0, "damaged zstd frame");
    refuse(c, b.data, 3, 0, "not a zstd frame");
    /* trailing bytes and a second frame */
    memcpy(copy, b.data, len);
    memcpy(copy + len, "xyz", 3);
    refuse(c, copy, len + 3, 0, "3 bytes after its zstd frame");
    memcpy(copy + len, b.data, len);
    refuse(c, copy, 2 * len, 0, "after its zstd frame");
    /* corrupted payload: caught by the frame checksum or the decoder */
    memcpy(copy, b.data, len);
    copy[len / 2] ^= 0x5a;
    refuse(c, copy, len, 0, "corrupted");
    /* not zstd at all */
    refuse(c, "<html>503</html>", 16, 0, "does not start with a zstd frame");
    /* more samples than the caller allows */
    refuse(c, b.data, len, 5999, "6000 samples, more than the 5999");

    /* size not a multiple of 4 */
    char odd[7] = "abcdefg";
    size_t cap = ZSTD_compressBound(7);
    void *z = malloc(cap);
    size_t zl = ZSTD_compress(z, cap, odd, 7, 3);
    cr_assert(!ZSTD_isError(zl));
    refuse(c, z, zl, 0, "not a whole number of int32 samples");

    /* a frame without content size (streamed) */
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
    ZSTD_outBuffer ob = {z, cap, 0};
    ZSTD_inBuffer ib = {"abcd", 4, 0};
    ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
    ZSTD_freeCCtx(cc);
    refuse(c, z, ob.pos, 0, "content size");

    /* the good body still decodes after all that */
    int32_t *d = NULL;
    size_t n = 0;
    cr_assert_eq(rc_codec_decode(c, b.data, len, 6000, &d, &n, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(n, 6000);
    cr_assert_eq(memcmp(d, s, 6000 * 4), 0);
    free(d);
    free(z);
    free(copy);
    free(s);
    rc_buf_free(&b);
    rc_codec_free(c);
}
