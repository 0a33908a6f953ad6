/*
 * test_codec_compact.c: the compact chunk codec (lms-rice) round-trips every
 * int32 exactly (real recordings, edge cases, a deterministic fuzz), gives
 * the same bytes for the same samples (pinned by hash, so a change of the
 * format cannot slip through), refuses every damaged body, and the named
 * dispatch refuses unknown or mismatched codec names by name.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <libmseed.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/codec.h"
#include "r2cache/codec_compact.h"
#include "support.h"

static void round_trip(const int32_t *s, size_t n, rc_buf *b)
{
    rc_err e = {0};
    cr_assert_eq(rc_lmsrice_encode(s, n, b, &e), RC_OK, "%s", e.msg);
    int32_t *d = NULL;
    size_t m = 99;
    cr_assert_eq(rc_lmsrice_decode(b->data, b->len, 0, &d, &m, &e), RC_OK, "n=%zu: %s", n, e.msg);
    cr_assert_eq(m, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(d[i], s[i], "n=%zu: sample %zu is %d, not %d", n, i, d[i], s[i]);
    free(d);
    /* same samples, same bytes */
    rc_buf b2 = RC_BUF_INIT;
    cr_assert_eq(rc_lmsrice_encode(s, n, &b2, &e), RC_OK);
    cr_assert_eq(b2.len, b->len);
    cr_assert(memcmp(b2.data, b->data, b->len) == 0);
    rc_buf_free(&b2);
}

static uint64_t lcg(uint64_t *st)
{
    *st = *st * 6364136223846793005ull + 1442695040888963407ull;
    return *st >> 33;
}

Test(codec_compact, edge_cases)
{
    rc_buf b = RC_BUF_INIT;
    /* empty: the 16-byte header alone */
    round_trip(NULL, 0, &b);
    cr_assert_eq(b.len, 16);
    cr_assert(memcmp(b.data, "R2CL\x01\0\0\0\0\0\0\0", 12) == 0);
    int32_t one = -7;
    round_trip(&one, 1, &b);
    int32_t ext[] = {INT32_MIN, INT32_MAX, INT32_MIN, INT32_MAX, 0, -1, 1, INT32_MIN, INT32_MIN};
    round_trip(ext, sizeof ext / sizeof ext[0], &b);
    size_t n = 100000;
    int32_t *s = malloc(n * sizeof *s);
    /* alternating extremes, a whole chunk of them */
    for (size_t i = 0; i < n; i++)
        s[i] = i % 2 ? INT32_MAX : INT32_MIN;
    round_trip(s, n, &b);
    cr_assert_lt(b.len, n * 4 + n / 2, "%zu", b.len); /* never much worse than raw int32 */
    /* long runs: after the first block (where the jump from 0 costs ~380
     * bytes) constants cost the block headers only (9 bits per 256) */
    for (size_t i = 0; i < n; i++)
        s[i] = 123456;
    round_trip(s, n, &b);
    cr_assert_lt(b.len, 16 + 400 + (n / 256 + 1) * 9 / 8 + 2, "%zu", b.len);
    /* a linear interpolation (a filled gap) too, once the predictor has it */
    for (size_t i = 0; i < n; i++)
        s[i] = (int32_t)(i * 37) - 1000000;
    round_trip(s, n, &b);
    cr_assert_lt(b.len, 16 + 520 + (n / 256 + 1) * 9 / 8 + 2, "%zu", b.len);
    /* block boundaries */
    for (size_t len = 250; len < 520; len++) {
        for (size_t i = 0; i < len; i++)
            s[i] = (int32_t)((i * 2654435761u) % 40001) - 20000;
        round_trip(s, len, &b);
    }
    free(s);
    rc_buf_free(&b);
}

Test(codec_compact, deterministic_fuzz)
{
    uint64_t st = 42;
    rc_buf b = RC_BUF_INIT;
    int32_t *s = malloc(70000 * sizeof *s);
    for (int round = 0; round < 300; round++) {
        size_t n = (size_t)(lcg(&st) % (round < 250 ? 3000 : 70000));
        int shape = (int)(lcg(&st) % 5);
        int bits = 1 + (int)(lcg(&st) % 32);
        int64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = (uint32_t)lcg(&st) ^ (uint32_t)(lcg(&st) << 31);
            int32_t noise =
                bits == 32 ? (int32_t)r : (int32_t)(r & ((1u << bits) - 1)) - (1 << (bits - 1));
            switch (shape) {
            case 0:
                s[i] = noise;
                break; /* white */
            case 1:
                v += noise / 8;
                s[i] = (int32_t)(uint32_t)(uint64_t)v;
                break; /* walk, wraps */
            case 2:
                s[i] = (int32_t)(1000.0 * (double)(i % 97)) + noise / 1024;
                break;
            case 3:
                s[i] = lcg(&st) % 50 ? s[i ? i - 1 : 0] : noise;
                break; /* runs + jumps */
            default:
                s[i] = lcg(&st) % 2 ? INT32_MAX - (int32_t)(r & 15) : INT32_MIN + (int32_t)(r & 15);
            }
        }
        round_trip(s, n, &b);
    }
    free(s);
    rc_buf_free(&b);
}

/* The format is pinned: these bytes must never change for these samples. */
Test(codec_compact, bytes_are_pinned)
{
    size_t n = 60000;
    int32_t *s = malloc(n * sizeof *s);
    uint64_t st = 7;
    int64_t y = 0;
    for (size_t i = 0; i < n; i++) {
        y = y - y / 32 + ((int64_t)(lcg(&st) % 2001) - 1000);
        s[i] = (int32_t)y + (i > 30000 && i < 30100 ? 5000000 : 0);
    }
    rc_buf b = RC_BUF_INIT;
    round_trip(s, n, &b);
    char sha[65];
    rc_codec_sha256(b.data, b.len, sha);
    cr_assert_str_eq(sha, "959564c093d50e1eec05c302fe1e2e46a7a9a480f0b373c8dec4e44b78b734cf",
                     "lms-rice bytes changed: %zu bytes, sha256 %s", b.len, sha);
    free(s);
    rc_buf_free(&b);
}

Test(codec_compact, damaged_bodies_are_refused)
{
    size_t n = 1000;
    int32_t s[1000];
    for (size_t i = 0; i < n; i++)
        s[i] = (int32_t)((i * 2654435761u) % 4001) - 2000 + (int32_t)(i * 3);
    rc_buf b = RC_BUF_INIT;
    rc_err e = {0};
    cr_assert_eq(rc_lmsrice_encode(s, n, &b, &e), RC_OK);
    int32_t *d = NULL;
    size_t m = 0;
    /* every truncation */
    for (size_t len = 0; len < b.len; len++) {
        cr_assert_eq(rc_lmsrice_decode(b.data, len, 0, &d, &m, &e), RC_EFORMAT, "len %zu", len);
        cr_assert_null(d);
        cr_assert_eq(m, 0);
    }
    /* a trailing byte */
    unsigned char *c = malloc(b.len + 1);
    memcpy(c, b.data, b.len);
    c[b.len] = 0;
    cr_assert_eq(rc_lmsrice_decode(c, b.len + 1, 0, &d, &m, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "bytes follow the last block"), "%s", e.msg);
    /* every single-bit flip */
    for (size_t bit = 0; bit < b.len * 8; bit++) {
        c[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        int rc = rc_lmsrice_decode(c, b.len, 0, &d, &m, &e);
        cr_assert_neq(rc, RC_OK, "bit %zu flipped decodes", bit);
        cr_assert_null(d);
        c[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    cr_assert_eq(rc_lmsrice_decode(c, b.len, 999, &d, &m, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "more than the 999 expected"), "%s", e.msg);
    c[4] = 2;
    cr_assert_eq(rc_lmsrice_decode(c, b.len, 0, &d, &m, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "version 2"), "%s", e.msg);
    /* a header claiming 4e9 samples in a few bytes allocates nothing */
    unsigned char big[20] = {'R', '2', 'C', 'L', 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    cr_assert_eq(rc_lmsrice_decode(big, sizeof big, 0, &d, &m, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "truncated"), "%s", e.msg);
    free(c);
    rc_buf_free(&b);
}

Test(codec_compact, names_and_dispatch)
{
    rc_codec_id id = RC_CODEC_LMS_RICE;
    rc_err e = {0};
    cr_assert_eq(rc_codec_id_parse(NULL, &id, &e), RC_OK);
    cr_assert_eq(id, RC_CODEC_INT32_ZSTD);
    cr_assert_eq(rc_codec_id_parse("lms-rice", &id, &e), RC_OK);
    cr_assert_eq(id, RC_CODEC_LMS_RICE);
    cr_assert_eq(rc_codec_id_parse("int32-zstd", &id, &e), RC_OK);
    cr_assert_eq(id, RC_CODEC_INT32_ZSTD);
    cr_assert_eq(rc_codec_id_parse("delta-zstd", &id, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "unknown codec \"delta-zstd\": this r2cache knows \"int32-zstd\" and "
                            "\"lms-rice\"");
    cr_assert_str_eq(rc_codec_id_name(RC_CODEC_LMS_RICE), "lms-rice");

    rc_codec *c = NULL;
    cr_assert_eq(rc_codec_new(3, &c, &e), RC_OK);
    int32_t s[3] = {1, -2, 3};
    rc_buf z = RC_BUF_INIT, l = RC_BUF_INIT;
    cr_assert_eq(rc_codec_encode_id(c, RC_CODEC_INT32_ZSTD, s, 3, &z, &e), RC_OK);
    cr_assert_eq(rc_codec_encode_id(c, RC_CODEC_LMS_RICE, s, 3, &l, &e), RC_OK);
    cr_assert_eq(rc_codec_sniff(z.data, z.len), RC_CODEC_INT32_ZSTD);
    cr_assert_eq(rc_codec_sniff(l.data, l.len), RC_CODEC_LMS_RICE);
    int32_t *d = NULL;
    size_t n = 0;
    cr_assert_eq(rc_codec_decode_named(c, NULL, z.data, z.len, 0, &d, &n, &e), RC_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(d[1], -2);
    free(d);
    cr_assert_eq(rc_codec_decode_named(c, "lms-rice", l.data, l.len, 0, &d, &n, &e), RC_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(d[2], 3);
    free(d);
    cr_assert_eq(rc_codec_decode_named(c, "", l.data, l.len, 0, &d, &n, &e), RC_EFORMAT);
    cr_assert_str_eq(e.msg, "chunk body is in codec \"lms-rice\" but its entry or metadata names "
                            "\"int32-zstd\"; the blob was replaced behind the manifest: run "
                            "reindex");
    cr_assert_eq(rc_codec_decode_named(c, "lms-rice", z.data, z.len, 0, &d, &n, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "is in codec \"int32-zstd\" but its entry or metadata names "
                            "\"lms-rice\""),
              "%s", e.msg);
    cr_assert_eq(rc_codec_decode_named(c, "flac", l.data, l.len, 0, &d, &n, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "codec \"flac\", which this r2cache cannot decode"), "%s", e.msg);
    cr_assert_null(d);
    rc_buf_free(&z);
    rc_buf_free(&l);
    rc_codec_free(c);
}

static void no_rec(char *r, int len, void *u)
{
    (void)r;
    (void)len;
    (void)u;
}

static size_t steim2_size(const int32_t *x, size_t n)
{
    MSRecord *msr = msr_init(NULL);
    strcpy(msr->network, "XX");
    strcpy(msr->station, "T");
    strcpy(msr->channel, "HHZ");
    msr->reclen = 4096;
    msr->encoding = DE_STEIM2;
    msr->byteorder = 1;
    msr->samprate = 100;
    msr->sampletype = 'i';
    int32_t *c = malloc(n * 4 + 4);
    memcpy(c, x, n * 4);
    msr->datasamples = c;
    msr->numsamples = (int64_t)n;
    msr->samplecnt = (int64_t)n;
    int64_t packed = 0;
    int nrec = msr_pack(msr, no_rec, NULL, &packed, 1, 0);
    msr->datasamples = NULL;
    free(c);
    msr_free(&msr);
    cr_assert_eq(packed, (int64_t)n);
    return (size_t)nrec * 4096;
}

/* Every trace of every real recording, exactly; and the goal: the
 * total is at most 0.8x the same samples in Steim2 (4096-byte records). */
Test(codec_compact, real_recordings_round_trip, .timeout = 300)
{
    RC_REQUIRE_MSEED();
    const char *dir = rc_test_mseed_dir();
    DIR *dd = opendir(dir);
    cr_assert(dd);
    struct dirent *de;
    size_t traces = 0, files = 0;
    double lr = 0, st2 = 0;
    rc_buf b = RC_BUF_INIT;
    ms_loginit(NULL, NULL, NULL, NULL);
    while ((de = readdir(dd))) {
        const char *nm = de->d_name;
        size_t l = strlen(nm);
        if (nm[0] == '.' || (l > 6 && strcmp(nm + l - 6, "mseed3") == 0) ||
            (l > 3 && strcmp(nm + l - 3, ".md") == 0))
            continue;
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        MSTraceGroup *g = NULL;
        cr_assert_eq(ms_readtraces(&g, path, 0, -1.0, -1.0, 0, 1, 1, 0), MS_NOERROR, "%s", nm);
        files++;
        for (MSTrace *t = g->traces; t; t = t->next) {
            cr_assert_eq(t->sampletype, 'i', "%s", nm);
            round_trip(t->datasamples, (size_t)t->numsamples, &b);
            lr += (double)b.len;
            st2 += (double)steim2_size(t->datasamples, (size_t)t->numsamples);
            traces++;
        }
        mst_freegroup(&g);
    }
    closedir(dd);
    cr_assert_geq(files, 23, "%zu files", files);
    cr_assert_geq(traces, 40, "%zu traces", traces);
    cr_assert_leq(lr, 0.8 * st2, "lms-rice %.0f bytes, Steim2 %.0f", lr, st2);
    rc_buf_free(&b);
}
