/*
 * shape.c: miniSEED 2 records -> one window of int32 slots + statistics.
 *
 * Indexing (rc_traces_add) parses only record headers and copies the raw
 * records into one arena, so holding a day of several channels costs about
 * the compressed size. rc_shape decodes just the records that can reach the
 * window, in input order (which is what the overlap rule ranks by).
 *
 * Placement. The window grid is start + offset + k/rate. The offset is the
 * phase of the recording's sample clock against the grid, taken from the
 * earliest record that reaches the window and kept in whole microseconds.
 * A phase within SNAP_US (or 0.1 sample, if smaller) of a grid point
 * counts as on the grid: record stamps carry only BTIME's 100 us resolution
 * without blockette 1001, and a grid-aligned recording whose stamps are
 * rounded a hair early must not be reported as almost a full sample late,
 * nor should its reported offset wobble from window to window. Each record then lands
 * on consecutive slots from k0 = round((t0 - start - offset) * rate): a
 * sample goes to the nearest grid point, so timing jitter below half a
 * sample never moves a sample into a neighbouring slot, and the per-sample
 * work is a copy. The rate used is the window's (expected) rate; a record's
 * own nominal rate must agree to 1e-4 relative or the channel is refused.
 *
 * Gap filling (window.c) follows shape.h: per base sub-window, interpolate between
 * recorded samples (rounded, ties away from zero) and hold at the
 * sub-window's edges; empty sub-windows interpolate between the neighbouring
 * sub-windows' edge values. Because a non-empty sub-window is filled from
 * its own samples only, a 6 h window holds exactly the 10 min windows.
 */
#include "r2cache/shape.h"

#include <libmseed.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/mseed.h"
#include "r2cache/timewin.h"

#define RATE_TOL 1e-4 /* relative; B100 stores rates as float */
#define SNAP_US 50.0  /* half of BTIME's 100 us resolution */

typedef struct rc_span_us {
    int64_t first, last; /* first and last sample, microseconds */
    const char *why;     /* static text */
} rc_span_us;

typedef struct rec {
    size_t off;    /* into the arena */
    int64_t start; /* first sample, microseconds */
    int64_t last;  /* last sample, microseconds */
    double rate;   /* nominal (or blockette 100) rate */
    uint32_t len;
    int32_t nsamp;
    uint32_t seq; /* input order over the whole rc_traces */
    int8_t encoding;
    char quality;
} rec;

typedef struct chan_idx {
    rc_chan chan;
    rec *recs; /* input order */
    size_t n, cap;
    uint32_t *by_start; /* indexes into recs, ascending start */
    int64_t maxspan;    /* longest record, microseconds */
    int unsorted;       /* by_start needs sorting at the end of an add */
    rc_span_us *bad;    /* time extents of damaged records (not decodable) */
    size_t nbad, capbad;
} chan_idx;

struct rc_traces {
    unsigned char *arena;
    size_t alen, acap;
    chan_idx *ch;
    size_t nch, capch;
    uint32_t seq;
};

int rc_traces_new(rc_traces **out, rc_err *e)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return rc_err_set(e, RC_ENOMEM, "out of memory creating a record index");
    return RC_OK;
}

void rc_traces_free(rc_traces *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nch; i++) {
        free(t->ch[i].recs);
        free(t->ch[i].by_start);
        free(t->ch[i].bad);
    }
    free(t->ch);
    free(t->arena);
    free(t);
}

/* libmseed codes are at most 10 characters; ours hold 8 (SEED 2 uses 2..5). */
static void code_copy(char *dst, const char *src)
{
    size_t n = strnlen(src, RC_CODE_MAX - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int same_chan(const rc_chan *a, const rc_chan *b)
{
    return !strcmp(a->net, b->net) && !strcmp(a->sta, b->sta) && !strcmp(a->loc, b->loc) &&
           !strcmp(a->cha, b->cha);
}

static chan_idx *find_chan(const rc_traces *t, const rc_chan *c)
{
    for (size_t i = 0; i < t->nch; i++)
        if (same_chan(&t->ch[i].chan, c)) return &t->ch[i];
    return NULL;
}

static int by_start_cmp(const void *a, const void *b, void *ctx)
{
    const rec *r = ctx;
    const rec *x = &r[*(const uint32_t *)a], *y = &r[*(const uint32_t *)b];
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int64_t span_us(int64_t nsamp, double rate)
{
    if (nsamp <= 1 || rate <= 0) return 0;
    return (int64_t)llround((double)(nsamp - 1) * 1e6 / rate);
}

/*
 * Why a record that parses cannot be used, or NULL. libmseed 2 decodes the
 * uncompressed encodings without checking that the samples the header
 * claims fit in the record (a damaged header makes it read past the end),
 * and absurd sample rates overflow every time computation downstream.
 */
static const char *damaged(const MSRecord *msr)
{
    if (msr->samplecnt < 0) return "negative sample count";
    if (msr->samplecnt > 0 && !(msr->samprate >= 1e-6 && msr->samprate <= 1e6))
        return "sample rate outside 1e-6 .. 1e6 Hz";
    int size = 0;
    switch (msr->encoding) {
    case DE_ASCII:
        size = 1;
        break;
    case DE_INT16:
        size = 2;
        break;
    case DE_INT32:
        size = 4;
        break;
    case DE_FLOAT32:
        size = 4;
        break;
    case DE_FLOAT64:
        size = 8;
        break;
    default:
        return NULL; /* compressed: the decoders bound themselves */
    }
    if (!msr->fsdh) return NULL;
    int64_t payload = (int64_t)msr->reclen - (int64_t)msr->fsdh->data_offset;
    if (msr->fsdh->data_offset < 48 || payload < 0 || (int64_t)msr->samplecnt * size > payload)
        return "more samples claimed than the record holds";
    return NULL;
}

/* The index of the channel of msr, created on first sight. */
static chan_idx *chan_of(rc_traces *t, const MSRecord *msr, chan_idx **last, rc_err *e)
{
    rc_chan c;
    memset(&c, 0, sizeof c);
    code_copy(c.net, msr->network);
    code_copy(c.sta, msr->station);
    code_copy(c.loc, msr->location);
    code_copy(c.cha, msr->channel);
    chan_idx *ch = (*last && same_chan(&(*last)->chan, &c)) ? *last : find_chan(t, &c);
    if (!ch) {
        if (t->nch == t->capch) {
            size_t cap = t->capch ? t->capch * 2 : 4;
            chan_idx *p = realloc(t->ch, cap * sizeof *p);
            if (!p) {
                rc_err_set(e, RC_ENOMEM, "out of memory indexing records");
                return NULL;
            }
            t->ch = p;
            t->capch = cap;
        }
        ch = &t->ch[t->nch++];
        memset(ch, 0, sizeof *ch);
        ch->chan = c;
    }
    *last = ch;
    return ch;
}

/* Remember where a damaged record lies, so the windows it touches fail
 * instead of holding made-up samples. A header too damaged to place in time
 * marks only its start. */
static int note_damage(chan_idx *ch, int64_t first, int64_t last, const char *why, rc_err *e)
{
    if (ch->nbad == ch->capbad) {
        size_t cap = ch->capbad ? ch->capbad * 2 : 4;
        rc_span_us *p = realloc(ch->bad, cap * sizeof *p);
        if (!p) return rc_err_set(e, RC_ENOMEM, "out of memory indexing records");
        ch->bad = p;
        ch->capbad = cap;
    }
    ch->bad[ch->nbad++] = (rc_span_us){first, last > first ? last : first, why};
    return RC_OK;
}

static int index_record(rc_traces *t, const MSRecord *msr, const unsigned char *raw,
                        chan_idx **last, rc_err *e)
{
    if (msr->samplecnt <= 0) return RC_OK; /* no samples: nothing a window could use */
    chan_idx *ch = chan_of(t, msr, last, e);
    if (!ch) return RC_ENOMEM;
    if (ch->n == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 64;
        rec *p = realloc(ch->recs, cap * sizeof *p);
        uint32_t *q = p ? realloc(ch->by_start, cap * sizeof *q) : NULL;
        if (p) ch->recs = p;
        if (!q) return rc_err_set(e, RC_ENOMEM, "out of memory indexing records");
        ch->by_start = q;
        ch->cap = cap;
    }
    /* Keep records 16-byte aligned: libmseed decoders read words in place. */
    size_t off = (t->alen + 15) & ~(size_t)15;
    size_t need = off + (size_t)msr->reclen;
    if (need > t->acap) {
        size_t cap = t->acap ? t->acap : 65536;
        while (cap < need)
            cap *= 2;
        unsigned char *p = realloc(t->arena, cap);
        if (!p) return rc_err_set(e, RC_ENOMEM, "out of memory copying %zu bytes of records", need);
        t->arena = p;
        t->acap = cap;
    }
    memcpy(t->arena + off, raw, (size_t)msr->reclen);
    t->alen = need;

    rec *r = &ch->recs[ch->n];
    r->off = off;
    r->len = (uint32_t)msr->reclen;
    r->start = msr->starttime;
    r->rate = msr->samprate;
    r->nsamp = (int32_t)msr->samplecnt;
    r->last = r->start + span_us(r->nsamp, r->rate);
    r->seq = t->seq++;
    r->encoding = msr->encoding;
    r->quality = msr->dataquality;
    int64_t span = r->last - r->start;
    if (span > ch->maxspan) ch->maxspan = span;
    if (ch->n && ch->recs[ch->by_start[ch->n - 1]].start > r->start) ch->unsorted = 1;
    ch->by_start[ch->n] = (uint32_t)ch->n;
    ch->n++;
    return RC_OK;
}

/* The framing error of an answer as this module has always named it. */
static int framing_error(const rc_mseed_report *r, rc_err *e)
{
    switch (r->kind) {
    case RC_MSEED_V3:
        return rc_err_set(e, RC_EFORMAT,
                          "miniSEED 3 is not supported (libmseed 2.x reads miniSEED 2 only): "
                          "record at byte offset %zu; request or convert the data to miniSEED 2",
                          r->offset);
    case RC_MSEED_TRUNCATED:
        if (r->want)
            return rc_err_set(e, RC_EFORMAT,
                              "truncated miniSEED record at byte offset %zu (%zu of %zu bytes); "
                              "the transfer was probably cut short",
                              r->offset, r->have, r->want);
        return rc_err_set(e, RC_EFORMAT,
                          "truncated miniSEED record at byte offset %zu (%zu bytes, its header "
                          "cut); the transfer was probably cut short",
                          r->offset, r->have);
    case RC_MSEED_NO_LENGTH:
        return rc_err_set(e, RC_EFORMAT,
                          "miniSEED record at byte offset %zu has no blockette 1000 and its "
                          "length cannot be determined from the %zu bytes left",
                          r->offset, r->have);
    default:
        return rc_err_set(e, RC_EFORMAT,
                          "not miniSEED 2 data at byte offset %zu (starts \"%s\"): %s", r->offset,
                          r->head, r->message);
    }
}

/* rc_traces_add's walk: what it indexes into. */
typedef struct add_walk {
    rc_traces *t;
    chan_idx *last;
    rc_err *e;
} add_walk;

static int add_record(void *ud, const struct MSRecord_s *msr, const void *rec, size_t off,
                      size_t reclen)
{
    (void)off;
    (void)reclen;
    add_walk *w = ud;
    const char *why = damaged(msr);
    if (!why) return index_record(w->t, msr, rec, &w->last, w->e);
    /* Delimited but unusable: keep the rest of the answer, and keep where
     * this record lies so that the windows it touches fail. */
    chan_idx *ch = chan_of(w->t, msr, &w->last, w->e);
    int64_t span = msr->samprate >= 1e-6 && msr->samprate <= 1e6 && msr->samplecnt > 0
                       ? span_us(msr->samplecnt, msr->samprate)
                       : 0;
    if (!ch || note_damage(ch, msr->starttime, msr->starttime + span, why, w->e) != RC_OK)
        return RC_ENOMEM;
    return RC_OK;
}

int rc_traces_add(rc_traces *t, const void *buf, size_t len, rc_err *e)
{
    if (len > INT32_MAX)
        return rc_err_set(e, RC_EINVAL, "miniSEED buffer of %zu bytes is too large; split it", len);
    /* One framing rule for every reader (mseed.h), in one walk that also
     * indexes: the records before the first bad byte are indexed, the caller
     * decides what the damage means. */
    add_walk w = {t, NULL, e};
    rc_mseed_report rep;
    int rc = rc_mseed_walk(buf, len, add_record, &w, &rep);
    if (rc != RC_OK && rep.status != RC_OK) rc = framing_error(&rep, e);
    /* Sort what this call appended out of order, for every channel. */
    for (size_t i = 0; i < t->nch; i++) {
        chan_idx *ch = &t->ch[i];
        if (ch->unsorted) {
            qsort_r(ch->by_start, ch->n, sizeof *ch->by_start, by_start_cmp, ch->recs);
            ch->unsorted = 0;
        }
    }
    return rc;
}

size_t rc_traces_nchan(const rc_traces *t)
{
    return t->nch;
}

const rc_chan *rc_traces_chan(const rc_traces *t, size_t i)
{
    return i < t->nch ? &t->ch[i].chan : NULL;
}

double rc_traces_rate(const rc_traces *t, const rc_chan *c)
{
    const chan_idx *ch = find_chan(t, c);
    if (!ch) return 0;
    for (size_t i = 0; i < ch->n; i++)
        if (ch->recs[i].rate > 0) return ch->recs[i].rate;
    return 0;
}

int rc_traces_extent(const rc_traces *t, const rc_chan *c, int64_t *first_us, int64_t *last_us)
{
    const chan_idx *ch = find_chan(t, c);
    if (!ch || !ch->n) return RC_ENODATA;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < ch->n; i++) {
        if (ch->recs[i].start < lo) lo = ch->recs[i].start;
        if (ch->recs[i].last > hi) hi = ch->recs[i].last;
    }
    *first_us = lo;
    *last_us = hi;
    return RC_OK;
}

static int quality_rank(char q)
{
    switch (q) {
    case 'M':
        return 4;
    case 'Q':
        return 3;
    case 'D':
        return 2;
    case 'R':
        return 1;
    default:
        return 0;
    }
}

static const char *text_encoding(int8_t enc)
{
    switch (enc) {
    case DE_ASCII:
        return "text (ASCII)";
    case DE_FLOAT32:
        return "float data (FLOAT32)";
    case DE_FLOAT64:
        return "float data (FLOAT64)";
    case DE_GEOSCOPE24:
    case DE_GEOSCOPE163:
    case DE_GEOSCOPE164:
        return "float data (GEOSCOPE)";
    default:
        return NULL;
    }
}

static int seq_cmp(const void *a, const void *b, void *ctx)
{
    const rec *r = ctx;
    uint32_t x = r[*(const uint32_t *)a].seq, y = r[*(const uint32_t *)b].seq;
    return x < y ? -1 : x > y;
}

static int rate_differs(double a, double b)
{
    return fabs(a - b) > RATE_TOL * (a > b ? a : b);
}

/* Records of ch that can put a sample into [w0, w1) (microseconds), input order. */
static size_t select_records(const chan_idx *ch, int64_t w0, int64_t w1, int64_t slack,
                             uint32_t *sel)
{
    int64_t from = w0 - slack - ch->maxspan;
    size_t lo = 0, hi = ch->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ch->recs[ch->by_start[mid]].start < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    for (size_t i = lo; i < ch->n; i++) {
        const rec *r = &ch->recs[ch->by_start[i]];
        if (r->start >= w1 + slack) break;
        if (r->last >= w0 - slack) sel[n++] = ch->by_start[i];
    }
    qsort_r(sel, n, sizeof *sel, seq_cmp, ch->recs);
    return n;
}

/* Which recorded samples of a record belong to sub-window b, whose start
 * is S (microseconds): sample j has time rstart + j*P, and belongs to b when
 * S - T <= t < S + L - T (T: the snapping tolerance). Computed only from
 * the record and S, so every path that shapes b (a 10-minute run, a day's
 * fill) assigns the same samples to it. [*j0, *j1) may be empty. */
static void members(int64_t rstart, int32_t nsamp, int64_t S, int64_t L, double P, double T,
                    int64_t *j0, int64_t *j1)
{
    double d0 = (double)(rstart - S);
    int64_t lo = (int64_t)ceil((-T - d0) / P), hi = (int64_t)ceil(((double)L - T - d0) / P);
    /* settle rounding at the exact boundaries with the same expression the
     * membership is defined by */
    while (lo > 0 && d0 + (double)(lo - 1) * P >= -T)
        lo--;
    while (d0 + (double)lo * P < -T)
        lo++;
    while (hi > lo && d0 + (double)(hi - 1) * P >= (double)L - T)
        hi--;
    while (d0 + (double)hi * P < (double)L - T)
        hi++;
    if (lo < 0) lo = 0;
    if (hi > nsamp) hi = nsamp;
    *j0 = lo;
    *j1 = hi > lo ? hi : lo;
}

/* Sub-windows [*b0, *b1) whose membership ranges [S - T, S + L - T) meet the
 * time span [first, last] (microseconds). */
static void subs_touched(const rc_window *w, int64_t first, int64_t last, double T, int64_t *b0,
                         int64_t *b1)
{
    int64_t w0 = w->start * 1000000, L = w->base_seconds * 1000000;
    int64_t tol = (int64_t)ceil(T);
    int64_t lo = (first - w0 + tol) >= 0 ? (first - w0 + tol) / L : -1;
    int64_t hi = (last - w0 + tol) >= 0 ? (last - w0 + tol) / L + 1 : 0;
    if (lo < 0) lo = 0;
    if (hi > w->nsub) hi = w->nsub;
    *b0 = lo;
    *b1 = hi > lo ? hi : lo;
}

/* A superset of the sub-windows a record's samples can belong to. */
static void subs_around(const rc_window *w, const rec *r, double T, int64_t *b0, int64_t *b1)
{
    subs_touched(w, r->start, r->last, T, b0, b1);
    if (*b0 > 0) (*b0)--;
    if (*b1 < w->nsub) (*b1)++;
}

static void mark_damage(rc_window *w, int64_t first, int64_t last, double T, const char *why,
                        const char *cs)
{
    int64_t b0, b1;
    subs_touched(w, first, last, T, &b0, &b1);
    for (int64_t b = b0; b < b1; b++)
        w->sub_flags[b] |= RC_SUB_DAMAGED;
    if (b1 > b0 && !w->damage[0]) {
        char ts[RC_TIME_STR_MAX];
        int64_t s = first >= 0 ? first / 1000000 : -((-first + 999999) / 1000000);
        rc_time_iso(s, ts);
        snprintf(w->damage, sizeof w->damage,
                 "%s: damaged miniSEED record starting %s (%s); the windows it touches are not "
                 "cached, the others are",
                 cs, ts, why);
    }
}

int rc_shape(const rc_traces *t, const rc_chan *chan, double expected_rate, int64_t start,
             int64_t seconds, int64_t base_seconds, rc_window *out, rc_err *e)
{
    char cs[RC_CHAN_STR_MAX], ts[RC_TIME_STR_MAX], te[RC_TIME_STR_MAX];
    rc_chan_format(chan, cs);
    rc_time_iso(start, ts);
    rc_time_iso(start + seconds, te);
    if (expected_rate < 0 || !isfinite(expected_rate) || seconds <= 0)
        return rc_err_set(e, RC_EINVAL, "%s: bad window request (%lld s, expected rate %g)", cs,
                          (long long)seconds, expected_rate);
    const chan_idx *ch = find_chan(t, chan);
    if (!ch || (!ch->n && !ch->nbad))
        return rc_err_set(e, RC_ENODATA, "no data for %s in [%s, %s)", cs, ts, te);

    int64_t w0 = start * 1000000, w1 = (start + seconds) * 1000000;
    double rate = expected_rate;
    /* One sample period of slack either side: rounding may pull a sample in. */
    double minrate = expected_rate > 0 ? expected_rate : 0;
    for (size_t i = 0; !(expected_rate > 0) && i < ch->n; i++)
        if (ch->recs[i].rate > 0 && (minrate == 0 || ch->recs[i].rate < minrate))
            minrate = ch->recs[i].rate;
    /* A hostile header can claim a rate of 1e-300 Hz: bound the slack to a
     * day before converting, or the cast overflows. */
    double slack_us = minrate > 0 ? 1e6 / minrate : 86400e6;
    if (!(slack_us <= 86400e6)) slack_us = 86400e6;
    int64_t slack = (int64_t)ceil(slack_us);

    uint32_t *sel = malloc((ch->n ? ch->n : 1) * sizeof *sel);
    if (!sel) return rc_err_set(e, RC_ENOMEM, "%s: out of memory selecting records", cs);
    size_t nsel = select_records(ch, w0, w1, slack, sel);
    int bad_here = 0;
    for (size_t i = 0; i < ch->nbad; i++)
        if (ch->bad[i].last >= w0 - slack && ch->bad[i].first < w1 + slack) bad_here = 1;

    int rc = RC_OK;
    const rec *first = NULL;
    for (size_t i = 0; i < nsel && !rc; i++) {
        const rec *r = &ch->recs[sel[i]];
        const char *bad = text_encoding(r->encoding);
        if (bad) {
            rc = rc_err_set(e, RC_EFORMAT,
                            "%s is %s; r2cache stores int32 counts (record at %lld us "
                            "since the epoch): leave this channel out of the configuration",
                            cs, bad, (long long)r->start);
        } else if (!first) {
            first = r;
            if (!(rate > 0)) rate = r->rate;
            if (rate_differs(r->rate, rate))
                rc = rc_err_set(e, RC_EFORMAT,
                                "%s: records have sample rate %.10g Hz but %.10g Hz is expected; "
                                "fix the channel's rate in the configuration",
                                cs, r->rate, rate);
        } else if (rate_differs(r->rate, first->rate)) {
            rc = rc_err_set(e, RC_EFORMAT,
                            "%s changes sample rate within [%s, %s): %.10g Hz and %.10g Hz; "
                            "r2cache stores one rate per channel",
                            cs, ts, te, first->rate, r->rate);
        }
    }
    if (!rc && !first && !(bad_here && rate > 0))
        rc = bad_here ? rc_err_set(e, RC_EFORMAT,
                                   "%s: the only records in [%s, %s) are damaged; the data "
                                   "centre sent records that cannot be decoded",
                                   cs, ts, te)
                      : rc_err_set(e, RC_ENODATA, "no data for %s in [%s, %s)", cs, ts, te);
    if (!rc && !(rate > 0))
        rc = rc_err_set(e, RC_ENODATA, "no data for %s in [%s, %s)", cs, ts, te);
    if (rc) {
        free(sel);
        return rc;
    }

    rc_window w;
    rc = rc_window_alloc(&w, chan, rate, start, seconds, base_seconds, 0, e);
    uint8_t *qual = rc ? NULL : malloc((size_t)w.nslots);
    double *dmin = rc ? NULL : malloc((size_t)w.nsub * sizeof *dmin);
    int64_t *off_us = rc ? NULL : calloc((size_t)w.nsub, sizeof *off_us);
    if (!rc && (!qual || !dmin || !off_us)) {
        rc_window_free(&w);
        rc = rc_err_set(e, RC_ENOMEM, "%s: out of memory for a window", cs);
    }
    if (rc) {
        free(qual);
        free(dmin);
        free(off_us);
        free(sel);
        return rc;
    }

    /* Phase of each base sub-window: the sample clock of its earliest
     * recorded sample against the sub-window's grid, in whole microseconds,
     * snapped to 0 within the tolerance. Each sub-window has its own, so a
     * station whose clock phase steps gives every path the same chunks. */
    double P = 1e6 / rate;
    double T = fmin(SNAP_US, 0.1 * P);
    int64_t L = w.base_seconds * 1000000;
    for (int64_t b = 0; b < w.nsub; b++)
        dmin[b] = INFINITY;
    for (size_t i = 0; i < nsel; i++) {
        const rec *r = &ch->recs[sel[i]];
        int64_t b0, b1;
        subs_around(&w, r, T, &b0, &b1);
        for (int64_t b = b0; b < b1; b++) {
            int64_t j0, j1, S = w0 + b * L;
            members(r->start, r->nsamp, S, L, P, T, &j0, &j1);
            if (j0 < j1) {
                double d = (double)(r->start - S) + (double)j0 * P;
                if (d < dmin[b]) dmin[b] = d;
            }
        }
    }
    for (int64_t b = 0; b < w.nsub; b++) {
        if (!isfinite(dmin[b])) continue;
        double ph = fmod(dmin[b], P);
        if (ph < 0) ph += P;
        int64_t o = (ph >= P - T || ph < T) ? 0 : llround(ph);
        if ((double)o >= P) o = 0;
        off_us[b] = o;
        w.sub_offset[b] = (double)o / 1e6;
    }

    /* Placement: each record's member samples go to consecutive slots of
     * their sub-window from k0 = round((t0 - S - offset) * rate), so timing
     * jitter below half a sample never moves a sample into another slot. */
    MSRecord *msr = NULL;
    for (size_t i = 0; i < nsel && !rc; i++) {
        const rec *r = &ch->recs[sel[i]];
        int64_t b0, b1;
        subs_around(&w, r, T, &b0, &b1);
        int any = 0;
        for (int64_t b = b0; b < b1 && !any; b++) {
            int64_t j0, j1;
            members(r->start, r->nsamp, w0 + b * L, L, P, T, &j0, &j1);
            any = j0 < j1;
        }
        if (!any) continue;
        char *raw = (char *)t->arena + r->off;
        int ur = msr_unpack(raw, (int)r->len, &msr, 1, 0);
        if (ur == MS_NOERROR && (msr->sampletype == 'f' || msr->sampletype == 'd')) {
            rc = rc_err_set(e, RC_EFORMAT,
                            "%s is float data; r2cache stores int32 counts: leave this "
                            "channel out of the configuration",
                            cs);
            break;
        }
        if (ur != MS_NOERROR || msr->numsamples != r->nsamp || msr->sampletype != 'i') {
            mark_damage(&w, r->start, r->last, T,
                        ur != MS_NOERROR ? ms_errorstr(ur) : "sample count mismatch", cs);
            continue;
        }
        const int32_t *d = msr->datasamples;
        uint8_t rank = (uint8_t)quality_rank(r->quality);
        for (int64_t b = b0; b < b1; b++) {
            int64_t j0, j1, S = w0 + b * L;
            members(r->start, r->nsamp, S, L, P, T, &j0, &j1);
            if (j0 >= j1) continue;
            int64_t lo = rc_window_sub_lo(&w, b), n = rc_window_sub_lo(&w, b + 1) - lo;
            int64_t k0 = llround((double)(r->start - S - off_us[b]) * rate / 1e6);
            for (int64_t j = j0; j < j1; j++) {
                int64_t k = k0 + j;
                if (k < 0 || k >= n) {
                    w.unplaced++; /* between two grids at a phase step */
                    continue;
                }
                k += lo;
                if (!w.present[k]) {
                    w.samples[k] = d[j];
                    w.present[k] = 1;
                    qual[k] = rank;
                } else if (w.samples[k] == d[j]) {
                    w.overlap_identical++;
                } else {
                    w.overlap_conflicts++;
                    if (rank > qual[k]) {
                        w.samples[k] = d[j];
                        qual[k] = rank;
                    }
                }
            }
        }
    }
    msr_free(&msr);
    for (size_t i = 0; i < ch->nbad; i++)
        mark_damage(&w, ch->bad[i].first, ch->bad[i].last, T, ch->bad[i].why, cs);
    free(qual);
    free(dmin);
    free(off_us);
    free(sel);
    int any = rc ? 0 : rc_window_fill(&w);
    if (!rc && !any) {
        int damaged = 0;
        for (int64_t b = 0; b < w.nsub; b++)
            damaged |= w.sub_flags[b] & RC_SUB_DAMAGED;
        if (!damaged) rc = rc_err_set(e, RC_ENODATA, "no data for %s in [%s, %s)", cs, ts, te);
    }
    if (rc) {
        rc_window_free(&w);
        return rc;
    }
    for (int64_t b = 0; b < w.nsub; b++)
        if (!(w.sub_flags[b] & RC_SUB_DATA)) w.sub_offset[b] = 0;
    w.offset_s = 0;
    for (int64_t b = 0; b < w.nsub; b++)
        if (w.sub_flags[b] & RC_SUB_DATA) {
            w.offset_s = w.sub_offset[b];
            break;
        }
    *out = w;
    return RC_OK;
}
