/*
 * test_mspack.c: records packed by mspack.c decode (libmseed) to exactly
 * the samples and times given: Steim2, the INT32 fallback, both record
 * lengths, fractional rates with microsecond times, sequence numbers.
 */
#include <criterion/criterion.h>
#include <libmseed.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/mspack.h"

typedef struct tgrid {
    int64_t t0;
    double rate;
} tgrid;

static int64_t grid_time(void *ud, size_t i)
{
    const tgrid *g = ud;
    return g->t0 + llround((double)i * 1e6 / g->rate);
}

/* A grid whose samples from 5000 on sit 1 us later (a segment joined across
 * chunks whose times differ by a microsecond): no single msr_pack call can
 * place those records, so they are packed one by one. */
static int64_t step_time(void *ud, size_t i)
{
    return grid_time(ud, i) + (i >= 5000 ? 1 : 0);
}

/* Unpack every record of buf; check codes, quality, length, sequence,
 * encoding; return the samples concatenated and check record start times. */
static void check_t(const rc_buf *b, const rc_chan *c, const int32_t *want, size_t n,
                    rc_mspack_time_fn tf, const tgrid *g, int reclen, int encoding)
{
    size_t off = 0, got = 0;
    int seq = 1;
    cr_assert_eq(b->len % (size_t)reclen, 0, "output is %zu bytes, not whole records", b->len);
    while (off < b->len) {
        MSRecord *msr = NULL;
        int rc = msr_parse(b->data + off, (int)(b->len - off), &msr, reclen, 1, 0);
        cr_assert_eq(rc, MS_NOERROR, "record at %zu does not parse: %d", off, rc);
        cr_assert_eq(msr->reclen, reclen);
        cr_assert_str_eq(msr->network, c->net);
        cr_assert_str_eq(msr->station, c->sta);
        cr_assert_str_eq(msr->location, c->loc);
        cr_assert_str_eq(msr->channel, c->cha);
        cr_assert_eq(msr->dataquality, 'M');
        cr_assert_eq(msr->sequence_number, seq, "record %d has sequence %d", seq,
                     msr->sequence_number);
        cr_assert_eq(msr->encoding, encoding);
        cr_assert_eq(msr->sampletype, 'i');
        cr_assert_eq(msr->starttime, tf((void *)g, got),
                     "record %d starts at %lld, sample %zu is at %lld", seq,
                     (long long)msr->starttime, got, (long long)tf((void *)g, got));
        cr_assert(got + (size_t)msr->numsamples <= n);
        cr_assert_eq(memcmp(msr->datasamples, want + got, (size_t)msr->numsamples * 4), 0,
                     "samples of record %d differ", seq);
        got += (size_t)msr->numsamples;
        off += (size_t)msr->reclen;
        seq++;
        msr_free(&msr);
    }
    cr_assert_eq(got, n, "decoded %zu samples of %zu", got, n);
}

static void check(const rc_buf *b, const rc_chan *c, const int32_t *want, size_t n, const tgrid *g,
                  int reclen, int encoding)
{
    check_t(b, c, want, n, grid_time, g, reclen, encoding);
}

static const rc_chan chan = {"HV", "UWE", "", "HHZ"};

Test(mspack, records_off_the_grid_still_start_exactly)
{
    size_t n = 20000;
    int32_t *s = malloc(n * 4);
    for (size_t i = 0; i < n; i++)
        s[i] = (int32_t)(i % 113) - 56;
    tgrid g = {1762293600LL * 1000000, 100};
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    rc_mspack_opts o = {512, 'M'};
    cr_assert_eq(rc_mspack_segment(&chan, 100, s, n, step_time, &g, &o, &b, &e), RC_OK, "%s",
                 e.msg);
    check_t(&b, &chan, s, n, step_time, &g, 512, DE_STEIM2);
    rc_buf_free(&b);
    free(s);
}

Test(mspack, steim2_512_round_trips_samples_and_times)
{
    rc_mspack_init(); /* and again: it is idempotent */
    rc_mspack_init();
    size_t n = 100000;
    int32_t *s = malloc(n * 4);
    for (size_t i = 0; i < n; i++)
        s[i] = (int32_t)(1000 * sin((double)i / 50.0) + (int32_t)(i % 7) * 3 - 40000);
    tgrid g = {1762293600LL * 1000000 + 123456, 100};
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    rc_mspack_opts o = {512, 'M'};
    cr_assert_eq(rc_mspack_segment(&chan, 100, s, n, grid_time, &g, &o, &b, &e), RC_OK, "%s",
                 e.msg);
    check(&b, &chan, s, n, &g, 512, DE_STEIM2);
    rc_buf_free(&b);
    free(s);
}

Test(mspack, fractional_rate_4096_keeps_microsecond_starts)
{
    size_t n = 50001;
    int32_t *s = malloc(n * 4);
    for (size_t i = 0; i < n; i++)
        s[i] = (int32_t)((i * 2654435761u) % 2001) - 1000;
    tgrid g = {1762300800LL * 1000000 + 7, 40.96};
    rc_chan c = {"AV", "N20K", "20", "BDF"};
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    rc_mspack_opts o = {4096, 'M'};
    cr_assert_eq(rc_mspack_segment(&c, 40.96, s, n, grid_time, &g, &o, &b, &e), RC_OK, "%s", e.msg);
    check(&b, &c, s, n, &g, 4096, DE_STEIM2);
    rc_buf_free(&b);
    free(s);
}

Test(mspack, extreme_int32_values_fall_back_to_int32_encoding)
{
    int32_t s[1000];
    for (int i = 0; i < 1000; i++)
        s[i] = i % 2 ? INT32_MAX : INT32_MIN + i;
    tgrid g = {0, 20};
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    rc_mspack_opts o = {512, 'M'};
    cr_assert_eq(rc_mspack_segment(&chan, 20, s, 1000, grid_time, &g, &o, &b, &e), RC_OK, "%s",
                 e.msg);
    check(&b, &chan, s, 1000, &g, 512, DE_INT32);
    rc_buf_free(&b);
}

Test(mspack, one_sample_and_bad_arguments)
{
    int32_t s[1] = {-7};
    tgrid g = {5, 1};
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    rc_mspack_opts o = {512, 'M'};
    cr_assert_eq(rc_mspack_segment(&chan, 1, s, 1, grid_time, &g, &o, &b, &e), RC_OK, "%s", e.msg);
    check(&b, &chan, s, 1, &g, 512, DE_STEIM2);
    rc_mspack_opts bad = {1024, 'M'};
    cr_assert_eq(rc_mspack_segment(&chan, 1, s, 1, grid_time, &g, &bad, &b, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "miniSEED record length must be 512 or 4096");
    rc_chan longc = {"HV", "TOOLONG", "", "HHZ"};
    cr_assert_eq(rc_mspack_segment(&longc, 1, s, 1, grid_time, &g, &o, &b, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "does not fit miniSEED 2 codes"), "%s", e.msg);
    rc_buf_free(&b);
}
