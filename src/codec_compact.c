/*
 * codec_compact.c: the codec name of a chunk body, the one decoding
 * dispatch every reader goes through, and the compact codec "lms-rice"
 * (byte format in docs/formats.md, "Compact chunk body").
 *
 * lms-rice, in short: the samples are cut into blocks of 256. For every
 * sample five predictions are formed from the samples before it: the fixed
 * polynomial predictors of order 0..3 (0, a, 2a-b, 3a-3b+c) and a 16-tap
 * sign-sign LMS filter over the first differences. Each block uses the one
 * whose zigzagged residuals have the smallest sum, coded as Rice codes with
 * one parameter per block (or nothing at all when they are all zero, as in a
 * gap filled by linear interpolation). The LMS filter adapts on every sample
 * whichever predictor its block uses, so encoder and decoder keep the same
 * state without sending it. All arithmetic is integer (residuals modulo
 * 2^32, the filter in clamped int64), so the bytes are a function of the
 * samples alone on every machine, and any int32 round-trips, INT32_MIN next
 * to INT32_MAX included.
 *
 * Decoding is strict like the zstd codec's: a wrong magic, version, block
 * header, a Rice code that would exceed 32 bits, a truncated stream, stray
 * or non-zero padding bits, trailing bytes, or a checksum of the decoded
 * samples that differs from the header's are RC_EFORMAT, never a shifted or
 * silently wrong trace.
 */
#include "r2cache/codec_compact.h"

#include <stdlib.h>
#include <string.h>

#define LR_MAGIC "R2CL"
#define LR_VERSION 1
#define LR_HEADER 16
#define LR_BLOCK 256
#define LR_PRED_BITS 3
#define LR_PARAM_BITS 6
#define LR_NPRED 5       /* 0..3 fixed order, 4 LMS */
#define LR_ZERO_BLOCK 32 /* parameter value: every residual of the block is 0 */
#define LMS_TAPS 16
#define LMS_SHIFT 12
#define LMS_STEP 16
#define LMS_WMAX (1 << 20)

/* ---- names and dispatch ------------------------------------------------- */

static const char *const names[] = {"int32-zstd", "lms-rice"};

int rc_codec_id_parse(const char *name, rc_codec_id *out, rc_err *e)
{
    if (!name || !*name) {
        *out = RC_CODEC_INT32_ZSTD;
        return RC_OK;
    }
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (rc_codec_id)i;
            return RC_OK;
        }
    return rc_err_set(e, RC_EINVAL,
                      "unknown codec \"%.64s\": this r2cache knows \"int32-zstd\" and "
                      "\"lms-rice\"",
                      name);
}

const char *rc_codec_id_name(rc_codec_id id)
{
    return (unsigned)id < sizeof names / sizeof names[0] ? names[id] : "?";
}

rc_codec_id rc_codec_sniff(const void *data, size_t len)
{
    return data && len >= 4 && memcmp(data, LR_MAGIC, 4) == 0 ? RC_CODEC_LMS_RICE
                                                              : RC_CODEC_INT32_ZSTD;
}

int rc_codec_encode_id(rc_codec *c, rc_codec_id id, const int32_t *samples, size_t n, rc_buf *out,
                       rc_err *e)
{
    if (id == RC_CODEC_LMS_RICE) return rc_lmsrice_encode(samples, n, out, e);
    return rc_codec_encode(c, samples, n, out, e);
}

int rc_codec_decode_named(rc_codec *c, const char *name, const void *data, size_t len,
                          size_t max_samples, int32_t **samples, size_t *n, rc_err *e)
{
    *samples = NULL;
    *n = 0;
    rc_codec_id id = RC_CODEC_INT32_ZSTD;
    rc_err pe;
    if (rc_codec_id_parse(name, &id, &pe) != RC_OK)
        return rc_err_set(e, RC_EFORMAT,
                          "chunk is written in codec \"%.64s\", which this r2cache cannot "
                          "decode (it knows \"int32-zstd\" and \"lms-rice\"); upgrade r2cache",
                          name);
    rc_codec_id got = rc_codec_sniff(data, len);
    if (got != id)
        return rc_err_set(e, RC_EFORMAT,
                          "chunk body is in codec \"%s\" but its entry or metadata names \"%s\"; "
                          "the blob was replaced behind the manifest: run reindex",
                          rc_codec_id_name(got), rc_codec_id_name(id));
    if (id == RC_CODEC_LMS_RICE) return rc_lmsrice_decode(data, len, max_samples, samples, n, e);
    return rc_codec_decode(c, data, len, max_samples, samples, n, e);
}

/* ---- shared model ------------------------------------------------------- */

typedef struct lms {
    /* clamped first differences, newest first: h + pos[0..LMS_TAPS); each
     * value is stored twice (pos and pos + LMS_TAPS) so the window is
     * contiguous without moving it */
    int32_t hh[2 * LMS_TAPS];
    int pos;
    int32_t w[LMS_TAPS];
    int64_t prev; /* the previous sample, 0 before the first */
} lms;

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The filter's predicted difference (|p| < 2^36). */
static int64_t lms_diff(const lms *L)
{
    const int32_t *h = L->hh + L->pos;
    int64_t acc = 0;
    for (int j = 0; j < LMS_TAPS; j++)
        acc += (int64_t)L->w[j] * h[j];
    return acc >= 0 ? acc >> LMS_SHIFT : -((-acc) >> LMS_SHIFT);
}

static void lms_update(lms *L, int32_t x, int64_t p)
{
    int32_t d = (int32_t)clamp64((int64_t)x - L->prev, INT32_MIN, INT32_MAX);
    int64_t e = (int64_t)d - p;
    int32_t step = e > 0 ? LMS_STEP : e < 0 ? -LMS_STEP : 0;
    if (step) {
        const int32_t *h = L->hh + L->pos;
        for (int j = 0; j < LMS_TAPS; j++) {
            int32_t w = L->w[j] + step * ((h[j] > 0) - (h[j] < 0));
            w = w > LMS_WMAX ? LMS_WMAX : w;
            L->w[j] = w < -LMS_WMAX ? -LMS_WMAX : w;
        }
    }
    L->pos = (L->pos + LMS_TAPS - 1) % LMS_TAPS;
    L->hh[L->pos] = L->hh[L->pos + LMS_TAPS] = d;
    L->prev = x;
}

/* The five predictions of the next sample, modulo 2^32. */
static void predict(const uint32_t hist[3], const lms *L, int64_t p, uint32_t out[LR_NPRED])
{
    uint32_t a = hist[0], b = hist[1], c = hist[2];
    out[0] = 0;
    out[1] = a;
    out[2] = 2u * a - b;
    out[3] = 3u * a - 3u * b + c;
    out[4] = (uint32_t)(uint64_t)(L->prev + p);
}

static void push_hist(uint32_t hist[3], uint32_t v)
{
    hist[2] = hist[1];
    hist[1] = hist[0];
    hist[0] = v;
}

static uint32_t zigzag(uint32_t v)
{
    return (v << 1) ^ (0u - (v >> 31));
}

static uint32_t unzigzag(uint32_t r)
{
    return (r >> 1) ^ (0u - (r & 1u));
}

/* FNV-1a over the samples as 32-bit words. */
static uint32_t checksum(const int32_t *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint32_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- encoder ------------------------------------------------------------ */

typedef struct bw {
    unsigned char *p;
    uint64_t acc;
    int nacc; /* bits in acc not yet written, 0..7 between calls */
} bw;

static void bw_put(bw *w, uint32_t v, int nbits) /* nbits 0..32 */
{
    if (!nbits) return;
    w->acc = (w->acc << nbits) | (uint64_t)v;
    w->nacc += nbits;
    while (w->nacc >= 8) {
        w->nacc -= 8;
        *w->p++ = (unsigned char)(w->acc >> w->nacc);
    }
}

static void bw_rice(bw *w, uint32_t r, int k)
{
    uint32_t q = k ? r >> k : r;
    while (q >= 31) {
        bw_put(w, 0, 31);
        q -= 31;
    }
    bw_put(w, 1, (int)q + 1);
    if (k) bw_put(w, r & ((1u << k) - 1u), k);
}

static void bw_flush(bw *w)
{
    if (w->nacc) bw_put(w, 0, 8 - w->nacc);
}

static uint64_t rice_cost(const uint32_t *r, size_t m, int k)
{
    uint64_t c = (uint64_t)m * (uint64_t)(k + 1);
    for (size_t i = 0; i < m; i++)
        c += r[i] >> k;
    return c;
}

int rc_lmsrice_encode(const int32_t *samples, size_t n, rc_buf *out, rc_err *e)
{
    if (n > UINT32_MAX)
        return rc_err_set(e, RC_EINVAL, "chunk of %zu samples is too large for lms-rice", n);
    /* at most 34 bits a sample (see the choice of k below) and 9 a block */
    size_t bound = LR_HEADER + (n / LR_BLOCK + 1) * 2 + n / 8 * 34 + 34 + 8;
    rc_buf_reset(out);
    if (rc_buf_reserve(out, bound))
        return rc_err_set(e, RC_ENOMEM, "out of memory for a %zu-byte compressed chunk", bound);
    unsigned char *h = (unsigned char *)out->data;
    memcpy(h, LR_MAGIC, 4);
    h[4] = LR_VERSION;
    h[5] = h[6] = h[7] = 0;
    put_le32(h + 8, (uint32_t)n);
    put_le32(h + 12, checksum(samples, n));
    bw w = {h + LR_HEADER, 0, 0};
    static const size_t rsz = LR_NPRED * LR_BLOCK;
    uint32_t *res = malloc(rsz * sizeof *res);
    if (!res) return rc_err_set(e, RC_ENOMEM, "out of memory encoding %zu samples", n);
    lms L;
    memset(&L, 0, sizeof L);
    uint32_t hist[3] = {0, 0, 0};
    for (size_t s = 0; s < n; s += LR_BLOCK) {
        size_t m = n - s < LR_BLOCK ? n - s : LR_BLOCK;
        uint64_t sum[LR_NPRED] = {0};
        for (size_t i = 0; i < m; i++) {
            int32_t x = samples[s + i];
            int64_t p = lms_diff(&L);
            uint32_t pr[LR_NPRED];
            predict(hist, &L, p, pr);
            for (int c = 0; c < LR_NPRED; c++) {
                uint32_t r = zigzag((uint32_t)x - pr[c]);
                res[c * LR_BLOCK + i] = r;
                sum[c] += r;
            }
            push_hist(hist, (uint32_t)x);
            lms_update(&L, x, p);
        }
        int best = 0;
        for (int c = 1; c < LR_NPRED; c++)
            if (sum[c] < sum[best]) best = c;
        const uint32_t *r = res + best * LR_BLOCK;
        if (sum[best] == 0) {
            bw_put(&w, (uint32_t)best, LR_PRED_BITS);
            bw_put(&w, LR_ZERO_BLOCK, LR_PARAM_BITS);
            continue;
        }
        /* k0 = floor(log2(mean)); the best of k0-1, k0, k0+1 (cost(k0) < 34 m) */
        uint64_t mean = sum[best] / m;
        int k0 = 0;
        while (k0 < 31 && (mean >> (k0 + 1)))
            k0++;
        int k = -1;
        uint64_t kc = 0;
        for (int t = k0 - 1; t <= k0 + 1; t++) {
            if (t < 0 || t > 31) continue;
            uint64_t c = rice_cost(r, m, t);
            if (k < 0 || c < kc) {
                k = t;
                kc = c;
            }
        }
        bw_put(&w, (uint32_t)best, LR_PRED_BITS);
        bw_put(&w, (uint32_t)k, LR_PARAM_BITS);
        for (size_t i = 0; i < m; i++)
            bw_rice(&w, r[i], k);
    }
    bw_flush(&w);
    free(res);
    out->len = (size_t)(w.p - h);
    out->data[out->len] = '\0';
    return RC_OK;
}

/* ---- decoder ------------------------------------------------------------ */

typedef struct br {
    const unsigned char *p;
    size_t nbytes;
    uint64_t pos, nbits;
} br;

/* The next 64 bits from pos (at least 57 of them real; zeros past the end). */
static uint64_t br_peek(const br *b)
{
    size_t i = (size_t)(b->pos >> 3);
    uint64_t v = 0;
    if (i + 8 <= b->nbytes) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&v, b->p + i, 8);
        v = __builtin_bswap64(v);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        memcpy(&v, b->p + i, 8);
#else
        for (int j = 0; j < 8; j++)
            v = v << 8 | b->p[i + j];
#endif
    } else {
        for (int j = 0; j < 8; j++)
            v = v << 8 | (i + (size_t)j < b->nbytes ? b->p[i + (size_t)j] : 0);
    }
    return v << (b->pos & 7);
}

static int br_bits(br *b, int k, uint32_t *v) /* k 1..32 */
{
    if (b->pos + (uint64_t)k > b->nbits) return -1;
    *v = (uint32_t)(br_peek(b) >> (64 - k));
    b->pos += (uint64_t)k;
    return 0;
}

static int br_rice(br *b, int k, uint32_t *r)
{
    uint64_t q = 0, qmax = (uint64_t)(UINT32_MAX >> k);
    for (;;) {
        if (b->pos >= b->nbits) return -1;
        uint64_t v = br_peek(b);
        int z = v ? __builtin_clzll(v) : 64;
        if (z < 57) {
            q += (uint64_t)z;
            b->pos += (uint64_t)z + 1;
            break;
        }
        q += 56;
        b->pos += 56;
        if (q > qmax) return -2;
    }
    if (q > qmax) return -2;
    uint32_t low = 0;
    if (k && br_bits(b, k, &low)) return -1;
    *r = (uint32_t)(q << k) | low;
    return 0;
}

int rc_lmsrice_decode(const void *data, size_t len, size_t max_samples, int32_t **samples,
                      size_t *n, rc_err *e)
{
    *samples = NULL;
    *n = 0;
    const unsigned char *h = data;
    if (!data || len < LR_HEADER || memcmp(h, LR_MAGIC, 4) != 0)
        return rc_err_set(e, RC_EFORMAT,
                          "chunk body of %zu bytes is not an lms-rice body (no R2CL header); "
                          "truncated or not written by r2cache",
                          len);
    if (h[4] != LR_VERSION || h[5] || h[6] || h[7])
        return rc_err_set(e, RC_EFORMAT,
                          "lms-rice body has version %u (flags %02x%02x%02x); this r2cache reads "
                          "version 1: upgrade r2cache",
                          h[4], h[5], h[6], h[7]);
    uint32_t ns = get_le32(h + 8), want = get_le32(h + 12);
    if (max_samples && ns > max_samples)
        return rc_err_set(e, RC_EFORMAT, "chunk holds %u samples, more than the %zu expected", ns,
                          max_samples);
    br b = {h + LR_HEADER, len - LR_HEADER, 0, (uint64_t)(len - LR_HEADER) * 8};
    uint64_t nblocks = ((uint64_t)ns + LR_BLOCK - 1) / LR_BLOCK;
    if (nblocks * (LR_PRED_BITS + LR_PARAM_BITS) > b.nbits)
        return rc_err_set(e, RC_EFORMAT,
                          "lms-rice body claims %u samples but holds only %zu bytes: truncated", ns,
                          len);
    int32_t *x = malloc(ns ? (size_t)ns * sizeof *x : sizeof *x);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory for %u decoded samples", ns);
    lms L;
    memset(&L, 0, sizeof L);
    uint32_t hist[3] = {0, 0, 0};
    const char *why = NULL;
    for (size_t s = 0; s < ns && !why; s += LR_BLOCK) {
        size_t m = ns - s < LR_BLOCK ? ns - s : LR_BLOCK;
        uint32_t pred, param;
        if (br_bits(&b, LR_PRED_BITS, &pred) || br_bits(&b, LR_PARAM_BITS, &param)) {
            why = "it ends inside a block header";
            break;
        }
        if (pred >= LR_NPRED || param > LR_ZERO_BLOCK) {
            why = "a block header names an unknown predictor or Rice parameter";
            break;
        }
        for (size_t i = 0; i < m; i++) {
            uint32_t r = 0;
            if (param != LR_ZERO_BLOCK) {
                int rr = br_rice(&b, (int)param, &r);
                if (rr) {
                    why = rr == -1 ? "it ends inside a block" : "a Rice code exceeds 32 bits";
                    break;
                }
            }
            int64_t p = lms_diff(&L);
            uint32_t pr[LR_NPRED];
            predict(hist, &L, p, pr);
            int32_t v = (int32_t)(unzigzag(r) + pr[pred]);
            x[s + i] = v;
            push_hist(hist, (uint32_t)v);
            lms_update(&L, v, p);
        }
    }
    if (!why) {
        uint64_t used = (b.pos + 7) / 8;
        if (used != b.nbytes)
            why = "bytes follow the last block";
        else if (b.pos < b.nbits && (b.p[b.nbytes - 1] & ((1u << (b.nbits - b.pos)) - 1u)))
            why = "its padding bits are not zero";
        else if (checksum(x, ns) != want)
            why = "the decoded samples do not match its checksum";
    }
    if (why) {
        free(x);
        return rc_err_set(e, RC_EFORMAT,
                          "lms-rice chunk body of %zu bytes is corrupted: %s; re-fetch or "
                          "re-create the chunk",
                          len, why);
    }
    *samples = x;
    *n = ns;
    return RC_OK;
}
