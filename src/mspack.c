/*
 * mspack.c: miniSEED 2 records from int32 samples (see mspack.h).
 *
 * Records are packed one at a time so each gets the exact start time of its
 * first sample: msr_pack is given the samples from that one on (at most
 * what two records can hold), and only the first record it makes is kept.
 */
#include "r2cache/mspack.h"

#include <libmseed.h>
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
    if (f->taken)
        return;
    f->taken = 1;
    /* fixed header: number of samples, big-endian uint16 at byte 30 */
    f->nsamples = ((unsigned char)rec[30] << 8) | (unsigned char)rec[31];
    if (rc_buf_append(f->out, rec, (size_t)len) != 0)
        f->failed = 1;
}

static int fits_steim2(const int32_t *s, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        int64_t d = (int64_t)s[i] - (int64_t)s[i - 1];
        if (d < -(1LL << 29) || d > (1LL << 29) - 1)
            return 0;
    }
    return 1;
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
    if (encoding == DE_INT32)
        cap = (size_t)o->reclen / 4;
    MSRecord *msr = msr_init(NULL);
    if (!msr)
        return rc_err_set(e, RC_ENOMEM, "out of memory packing miniSEED");
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
