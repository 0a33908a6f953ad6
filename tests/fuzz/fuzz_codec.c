/*
 * fuzz_codec.c: the chunk decoders on arbitrary bytes, and the compact
 * encoder on arbitrary samples. The first input byte picks the direction:
 *   even: the rest is a chunk body, decoded by the codec its magic names
 *         (rc_codec_decode_named, as every reader does); an accepted body must
 *         re-encode to a body that decodes to the same samples, and a refusal
 *         must carry a message;
 *   odd:  the rest is little-endian int32 samples, encoded with lms-rice and
 *         decoded again: exactly the same samples, and the same bytes when
 *         encoded twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/codec.h"
#include "r2cache/codec_compact.h"

static rc_codec *zc;

static void same_after_encoding(rc_codec_id id, const int32_t *s, size_t n)
{
    rc_buf b = RC_BUF_INIT, b2 = RC_BUF_INIT;
    rc_err e;
    if (rc_codec_encode_id(zc, id, s, n, &b, &e) != RC_OK) abort();
    int32_t *d = NULL;
    size_t m = 0;
    if (rc_codec_decode_named(zc, rc_codec_id_name(id), b.data, b.len, 0, &d, &m, &e) != RC_OK)
        abort();                                                    /* our own body refused */
    if (m != n || (n && memcmp(d, s, n * sizeof *s) != 0)) abort(); /* not exact */
    if (rc_codec_encode_id(zc, id, s, n, &b2, &e) != RC_OK || b2.len != b.len ||
        memcmp(b2.data, b.data, b.len) != 0)
        abort(); /* same samples, other bytes */
    free(d);
    rc_buf_free(&b);
    rc_buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) return 0;
    rc_err e;
    if (!zc && rc_codec_new(3, &zc, &e) != RC_OK) abort();
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        size_t n = len / 4;
        int32_t *s = malloc(n ? n * sizeof *s : 1);
        if (!s) return 0;
        for (size_t i = 0; i < n; i++)
            s[i] = (int32_t)((uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                             (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24);
        same_after_encoding(RC_CODEC_LMS_RICE, s, n);
        free(s);
        return 0;
    }
    /* an exactly sized copy, so reading past the body is caught */
    uint8_t *body = malloc(len ? len : 1);
    if (!body) return 0;
    memcpy(body, p, len);
    rc_codec_id id = rc_codec_sniff(body, len);
    int32_t *s = NULL;
    size_t n = 0;
    e.msg[0] = '\0';
    int rc = rc_codec_decode_named(zc, rc_codec_id_name(id), body, len, 1u << 22, &s, &n, &e);
    if (rc == RC_OK) {
        same_after_encoding(id, s, n);
    } else if (!e.msg[0] || s || n) {
        abort(); /* a refusal without a message, or with samples */
    }
    free(s);
    free(body);
    return 0;
}
