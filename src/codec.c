/*
 * codec.c: chunk bodies, int32 samples <-> one zstd frame.
 *
 * The frame carries its content size so a reader (this one, or a browser
 * viewer's zstd) knows the sample count before decompressing. Decoding is
 * strict on purpose: a blob is only trusted when it is exactly one frame of
 * whole int32 samples, so truncation, concatenation or a stray skippable
 * frame surfaces as RC_EFORMAT instead of a silently shifted trace.
 * A content checksum (XXH64, 4 bytes) is written so a flipped byte inside
 * the compressed data is caught rather than decoded into wrong samples.
 * Samples are little-endian on the wire; on a big-endian host they are
 * swapped through a scratch buffer the codec keeps between calls.
 */
#include "r2cache/codec.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <zstd.h>

struct rc_codec {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    int level;
    uint32_t *scratch; /* big-endian hosts only */
    size_t scratch_n;
};

static int host_is_le(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static uint32_t bswap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

int rc_codec_new(int level, rc_codec **out, rc_err *e)
{
    *out = NULL;
    if (level < 1 || level > 19)
        return rc_err_set(e, RC_EINVAL, "zstd level %d is out of range: use 1..19 (default 3)",
                          level);
    rc_codec *c = calloc(1, sizeof *c);
    if (!c) return rc_err_set(e, RC_ENOMEM, "out of memory creating the zstd codec");
    c->level = level;
    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    if (!c->cctx || !c->dctx) {
        rc_codec_free(c);
        return rc_err_set(e, RC_ENOMEM, "out of memory creating zstd contexts");
    }
    size_t r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 1);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(r)) {
        rc_codec_free(c);
        return rc_err_set(e, RC_EINVAL, "cannot configure zstd (level %d): %s", level,
                          ZSTD_getErrorName(r));
    }
    *out = c;
    return RC_OK;
}

void rc_codec_free(rc_codec *c)
{
    if (!c) return;
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    free(c->scratch);
    free(c);
}

int rc_codec_encode(rc_codec *c, const int32_t *samples, size_t n, rc_buf *out, rc_err *e)
{
    if (n > SIZE_MAX / 4)
        return rc_err_set(e, RC_EINVAL, "chunk of %zu samples is too large to encode", n);
    const void *src = samples;
    size_t srclen = n * 4;
    if (!host_is_le() && n) {
        if (c->scratch_n < n) {
            uint32_t *p = realloc(c->scratch, n * 4);
            if (!p) return rc_err_set(e, RC_ENOMEM, "out of memory encoding %zu samples", n);
            c->scratch = p;
            c->scratch_n = n;
        }
        for (size_t i = 0; i < n; i++)
            c->scratch[i] = bswap32((uint32_t)samples[i]);
        src = c->scratch;
    }
    size_t bound = ZSTD_compressBound(srclen);
    rc_buf_reset(out);
    if (rc_buf_reserve(out, bound))
        return rc_err_set(e, RC_ENOMEM, "out of memory for a %zu-byte compressed chunk", bound);
    /* The context keeps its parameters across calls; reset only the session. */
    ZSTD_CCtx_reset(c->cctx, ZSTD_reset_session_only);
    size_t r = ZSTD_compress2(c->cctx, out->data, bound, src ? src : "", srclen);
    if (ZSTD_isError(r))
        return rc_err_set(e, RC_EFORMAT, "zstd compression of %zu samples failed: %s", n,
                          ZSTD_getErrorName(r));
    out->len = r;
    out->data[r] = '\0';
    return RC_OK;
}

/* The checks of rc_codec_decode; *ns: the samples the frame holds. */
static int frame_check(const void *data, size_t len, size_t max_samples, unsigned long long *nsout,
                       rc_err *e)
{
    if (len < 4 || !data)
        return rc_err_set(e, RC_EFORMAT,
                          "chunk body of %zu bytes is not a zstd frame (truncated or empty "
                          "object; re-fetch or re-create the chunk)",
                          len);
    const unsigned char *p = data;
    uint32_t magic =
        (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (magic != ZSTD_MAGICNUMBER)
        return rc_err_set(e, RC_EFORMAT,
                          "chunk body does not start with a zstd frame (magic 0x%08x); the "
                          "object is not an r2cache chunk or is corrupted",
                          magic);
    size_t flen = ZSTD_findFrameCompressedSize(data, len);
    if (ZSTD_isError(flen))
        return rc_err_set(e, RC_EFORMAT, "chunk body of %zu bytes is a damaged zstd frame: %s", len,
                          ZSTD_getErrorName(flen));
    if (flen != len)
        return rc_err_set(e, RC_EFORMAT,
                          "chunk body has %zu bytes after its zstd frame (%zu bytes); a chunk "
                          "must be exactly one frame",
                          len - flen, flen);
    unsigned long long csize = ZSTD_getFrameContentSize(data, len);
    if (csize == ZSTD_CONTENTSIZE_UNKNOWN || csize == ZSTD_CONTENTSIZE_ERROR)
        return rc_err_set(e, RC_EFORMAT,
                          "chunk's zstd frame does not record its content size; it was not "
                          "written by r2cache");
    if (csize % 4)
        return rc_err_set(e, RC_EFORMAT,
                          "chunk holds %llu bytes, not a whole number of int32 samples", csize);
    unsigned long long ns = csize / 4;
    if ((max_samples && ns > max_samples) || ns > SIZE_MAX / 4)
        return rc_err_set(e, RC_EFORMAT, "chunk holds %llu samples, more than the %zu expected", ns,
                          max_samples);
    *nsout = ns;
    return RC_OK;
}

static int frame_decode(rc_codec *c, const void *data, size_t len, int32_t *buf, size_t ns,
                        rc_err *e)
{
    size_t csize = ns * 4;
    ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_only);
    size_t r = ZSTD_decompressDCtx(c->dctx, buf, csize, data, len);
    if (ZSTD_isError(r) || r != csize)
        return rc_err_set(e, RC_EFORMAT, "chunk's zstd frame is corrupted: %s",
                          ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size differs from header");
    if (!host_is_le())
        for (size_t i = 0; i < ns; i++)
            buf[i] = (int32_t)bswap32((uint32_t)buf[i]);
    return RC_OK;
}

int rc_codec_decode(rc_codec *c, const void *data, size_t len, size_t max_samples,
                    int32_t **samples, size_t *n, rc_err *e)
{
    *samples = NULL;
    *n = 0;
    unsigned long long ns = 0;
    int rc = frame_check(data, len, max_samples, &ns, e);
    if (rc) return rc;
    int32_t *buf = malloc(ns ? (size_t)ns * 4 : 4);
    if (!buf) return rc_err_set(e, RC_ENOMEM, "out of memory for %llu decoded samples", ns);
    rc = frame_decode(c, data, len, buf, (size_t)ns, e);
    if (rc) {
        free(buf);
        return rc;
    }
    *samples = buf;
    *n = (size_t)ns;
    return RC_OK;
}

int rc_codec_decode_into(rc_codec *c, const void *data, size_t len, int32_t *dst, size_t want,
                         rc_err *e)
{
    unsigned long long ns = 0;
    int rc = frame_check(data, len, 0, &ns, e);
    if (rc) return rc;
    if (ns != want)
        return rc_err_set(e, RC_EFORMAT, "chunk holds %llu samples where %zu were expected", ns,
                          want);
    return frame_decode(c, data, len, dst, want, e);
}

void rc_codec_sha256(const void *data, size_t len, char out[65])
{
    static const char h[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int ml = 0;
    EVP_Digest(data, len, md, &ml, EVP_sha256(), NULL);
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = h[md[i] >> 4];
        out[2 * i + 1] = h[md[i] & 15];
    }
    out[64] = '\0';
}
