/*
 * mspack.c: miniSEED 2 records from int32 samples (see mspack.h).
 *
 * Every record must start at the exact time of its first sample. libmseed
 * places record k at the segment's start + (samples before it) / rate,
 * rounded to the microsecond, which is exact when the caller's times lie on
 * one grid with a whole-microsecond period (20, 40, 100, 200 Hz, ...): then
 * one msr_pack call packs the segment, and its records' start times are
 * checked against time_us. Otherwise (40.96 Hz, or a segment joined across
 * chunks whose times differ from the grid by a microsecond) records are
 * packed one at a time: msr_pack is given the samples from that record's
 * first on (at most what two records can hold), and only the first record
 * it makes is kept, started at time_us of its first sample.
 */
#include "r2cache/mspack.h"

#include <libmseed.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct first_rec {
    rc_buf *out;
    int taken;
    int nsamples;
    int failed;
} first_rec;

static void take_first(char *rec, int len, void *ud)
{
    first_rec *f = ud;
    if (f->taken) return;
    f->taken = 1;
    /* fixed header: number of samples, big-endian uint16 at byte 30 */
    f->nsamples = ((unsigned char)rec[30] << 8) | (unsigned char)rec[31];
    if (rc_buf_append(f->out, rec, (size_t)len) != 0) f->failed = 1;
}

typedef struct all_recs {
    rc_buf *out;
    int failed;
} all_recs;

static void take_all(char *rec, int len, void *ud)
{
    all_recs *a = ud;
    if (rc_buf_append(a->out, rec, (size_t)len) != 0) a->failed = 1;
}

/* One msr_pack of the whole segment, appended to out. 1 when every record
 * starts at time_us of its first sample, 0 when one does not (out is then
 * cut back), -1 on failure (out cut back). */
static int pack_whole(MSRecord *msr, const int32_t *s, size_t n, rc_mspack_time_fn time_us,
                      void *ud, rc_buf *out)
{
    size_t mark = out->len;
    int32_t *copy = malloc(n * sizeof *copy);
    if (!copy) return -1;
    memcpy(copy, s, n * sizeof *copy);
    msr->datasamples = copy;
    msr->numsamples = (int64_t)n;
    msr->samplecnt = (int64_t)n;
    msr->starttime = (hptime_t)time_us(ud, 0);
    msr->sequence_number = 1;
    all_recs a = {out, 0};
    int64_t packed = 0;
    int nrec = msr_pack(msr, take_all, &a, &packed, 1, 0);
    msr->datasamples = NULL;
    free(copy);
    int ok = nrec >= 1 && !a.failed && packed == (int64_t)n ? 1 : -1;
    size_t at = 0;
    for (size_t off = mark; ok == 1 && off < out->len; off += (size_t)msr->reclen) {
        MSRecord *r = NULL;
        if (msr_parse(out->data + off, msr->reclen, &r, msr->reclen, 0, 0) != MS_NOERROR) {
            ok = -1;
            break;
        }
        if (r->starttime != (hptime_t)time_us(ud, at)) ok = 0;
        at += (size_t)r->samplecnt;
        msr_free(&r);
    }
    if (ok == 1 && at != n) ok = -1;
    if (ok != 1) out->len = mark;
    return ok;
}

static int fits_steim2(const int32_t *s, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        int64_t d = (int64_t)s[i] - (int64_t)s[i - 1];
        if (d < -(1LL << 29) || d > (1LL << 29) - 1) return 0;
    }
    return 1;
}

static void discard(char *rec, int len, void *ud)
{
    (void)rec;
    (void)len;
    (void)ud;
}

void rc_mspack_init(void)
{
    MSRecord *msr = msr_init(NULL);
    if (!msr) return;
    int32_t one = 0;
    snprintf(msr->network, sizeof msr->network, "XX");
    snprintf(msr->station, sizeof msr->station, "INIT");
    snprintf(msr->channel, sizeof msr->channel, "HHZ");
    msr->reclen = 512;
    msr->encoding = DE_STEIM2;
    msr->byteorder = 1;
    msr->samprate = 1;
    msr->sampletype = 'i';
    msr->datasamples = &one;
    msr->numsamples = 1;
    msr->samplecnt = 1;
    int64_t packed = 0;
    msr_pack(msr, discard, NULL, &packed, 1, 0);
    msr->datasamples = NULL;
    msr_free(&msr);
}

int rc_mspack_segment(const rc_chan *c, double rate, const int32_t *s, size_t n,
                      rc_mspack_time_fn time_us, void *ud, const rc_mspack_opts *o, rc_buf *out,
                      rc_err *e)
{
    if (!o || (o->reclen != 512 && o->reclen != 4096))
        return rc_err_set(e, RC_EINVAL, "miniSEED record length must be 512 or 4096");
    if (!(rate > 0) || n == 0)
        return rc_err_set(e, RC_EINVAL, "miniSEED packing needs a positive rate and samples");
    if (strlen(c->net) > 2 || strlen(c->sta) > 5 || strlen(c->loc) > 2 || strlen(c->cha) > 3)
        return rc_err_set(e, RC_EINVAL,
                          "%s.%s.%s.%s does not fit miniSEED 2 codes (network 2, station 5, "
                          "location 2, channel 3 characters)",
                          c->net, c->sta, c->loc, c->cha);
    int encoding = fits_steim2(s, n) ? DE_STEIM2 : DE_INT32;
    /* the most samples one record can hold: Steim2 packs 7 per word */
    size_t cap = o->reclen == 512 ? 1024 : 8192;
    if (encoding == DE_INT32) cap = (size_t)o->reclen / 4;
    MSRecord *msr = msr_init(NULL);
    if (!msr) return rc_err_set(e, RC_ENOMEM, "out of memory packing miniSEED");
    int32_t *buf = malloc(cap * sizeof *buf);
    if (!buf) {
        msr_free(&msr);
        return rc_err_set(e, RC_ENOMEM, "out of memory packing miniSEED");
    }
    struct blkt_1001_s b1001;
    memset(&b1001, 0, sizeof b1001);
    b1001.timing_qual = 100;
    if (!msr_addblockette(msr, (char *)&b1001, sizeof b1001, 1001, 0)) {
        free(buf);
        msr_free(&msr);
        return rc_err_set(e, RC_ENOMEM, "out of memory packing miniSEED");
    }
    snprintf(msr->network, sizeof msr->network, "%s", c->net);
    snprintf(msr->station, sizeof msr->station, "%s", c->sta);
    snprintf(msr->location, sizeof msr->location, "%s", c->loc);
    snprintf(msr->channel, sizeof msr->channel, "%s", c->cha);
    msr->dataquality = o->quality ? o->quality : 'D';
    msr->reclen = o->reclen;
    msr->encoding = (int8_t)encoding;
    msr->byteorder = 1;
    msr->samprate = rate;
    msr->sampletype = 'i';
    int rc = RC_OK;
    size_t done = 0;
    int32_t seq = 1;
    double period = 1e6 / rate;
    if (fabs(period - nearbyint(period)) < 1e-9 && pack_whole(msr, s, n, time_us, ud, out) == 1)
        done = n;
    while (done < n) {
        size_t take = n - done < cap ? n - done : cap;
        /* msr_pack may modify the samples it is given (it does not, but its
         * interface is not const): give it a copy */
        memcpy(buf, s + done, take * sizeof *buf);
        msr->datasamples = buf;
        msr->numsamples = (int64_t)take;
        msr->samplecnt = (int64_t)take;
        msr->starttime = (hptime_t)time_us(ud, done);
        msr->sequence_number = seq;
        first_rec f = {out, 0, 0, 0};
        int64_t packed = 0;
        int nrec = msr_pack(msr, take_first, &f, &packed, 1, 0);
        if (nrec < 1 || !f.taken || f.nsamples <= 0) {
            rc = rc_err_set(e, RC_EFORMAT, "libmseed could not pack %s.%s.%s.%s at sample %zu",
                            c->net, c->sta, c->loc, c->cha, done);
            break;
        }
        if (f.failed) {
            rc = rc_err_set(e, RC_ENOMEM, "out of memory packing miniSEED");
            break;
        }
        done += (size_t)f.nsamples;
        seq = seq >= 999999 ? 1 : seq + 1;
    }
    msr->datasamples = NULL;
    msr_free(&msr);
    free(buf);
    return rc;
}
