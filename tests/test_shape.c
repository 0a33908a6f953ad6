/*
 * test_shape.c: miniSEED -> window slots. Real files are compared sample for
 * sample with libmseed's own decode; synthetic records (packed here with
 * libmseed, values from tools/synth_signal.h) pin the placement, overlap
 * and gap-filling rules to exact values.
 */
#include <criterion/criterion.h>
#include <libmseed.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/synth_signal.h"
#include "r2cache/shape.h"
#include "r2cache/timewin.h"
#include "support.h"

/* ---- helpers ---------------------------------------------------------- */

static int64_t T(const char *iso)
{
    int64_t t = 0;
    rc_err e = {0};
    cr_assert_eq(rc_time_parse(iso, 0, &t, &e), RC_OK, "%s", e.msg);
    return t;
}

static rc_chan CH(const char *s)
{
    rc_chan c;
    rc_err e = {0};
    memset(&c, 0, sizeof c);
    /* real files carry codes rc_chan_parse may refuse (XX.KW1.01.001 is fine) */
    cr_assert_eq(rc_chan_parse(s, &c, &e), RC_OK, "%s", e.msg);
    return c;
}

static rc_traces *load(const char *name)
{
    char *path = rc_test_mseed_path(name);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(path, &b), 0, "cannot read %s", path);
    rc_traces *t = NULL;
    rc_err e = {0};
    cr_assert_eq(rc_traces_new(&t, &e), RC_OK);
    cr_assert_eq(rc_traces_add(t, b.data, b.len, &e), RC_OK, "%s: %s", name, e.msg);
    rc_buf_free(&b);
    free(path);
    return t;
}

/* libmseed's own view of a file: one trace group, merged by default tolerances. */
static MSTraceGroup *reference(const char *name)
{
    char *path = rc_test_mseed_path(name);
    MSTraceGroup *g = NULL;
    cr_assert_eq(ms_readtraces(&g, path, 0, -1.0, -1.0, 0, 1, 1, 0), MS_NOERROR);
    free(path);
    return g;
}

static void shape_ok(const rc_traces *t, const char *chan, double rate, int64_t start,
                     int64_t seconds, int64_t base, rc_window *w)
{
    rc_chan c = CH(chan);
    rc_err e = {0};
    cr_assert_eq(rc_shape(t, &c, rate, start, seconds, base, w, &e), RC_OK, "%s", e.msg);
}

/* Every slot of w must be recorded and equal libmseed's sample at that time. */
static void assert_matches_reference(const rc_window *w, const MSTrace *tr)
{
    cr_assert_eq(tr->sampletype, 'i');
    const int32_t *d = tr->datasamples;
    int64_t off_us = llround(w->offset_s * 1e6);
    for (int64_t k = 0; k < w->nslots; k++) {
        double slot_us = (double)w->start * 1e6 + (double)off_us + (double)k * 1e6 / w->rate;
        int64_t j = llround((slot_us - (double)tr->starttime) * w->rate / 1e6);
        cr_assert(j >= 0 && j < tr->numsamples, "slot %lld outside the reference", (long long)k);
        cr_assert_eq(w->present[k], 1, "slot %lld not recorded", (long long)k);
        cr_assert_eq(w->samples[k], d[j], "slot %lld: %d != libmseed %d", (long long)k,
                     w->samples[k], d[j]);
    }
}

static void pack_handler(char *rec, int len, void *arg)
{
    rc_buf_append(arg, rec, (size_t)len);
}

/* Pack n values as one run of records: "NET.STA.LOC.CHA". */
static void pack(rc_buf *out, const char *id, double rate, int64_t start_us, const int32_t *v,
                 int64_t n, int enc, int reclen, char quality)
{
    rc_chan c = CH(id);
    MSTrace *mst = mst_init(NULL);
    MSRecord *tmpl = msr_init(NULL);
    strcpy(mst->network, c.net);
    strcpy(mst->station, c.sta);
    strcpy(mst->location, c.loc);
    strcpy(mst->channel, c.cha);
    mst->dataquality = quality;
    tmpl->dataquality = quality;
    strcpy(tmpl->network, c.net); /* mst_pack takes the codes from the template */
    strcpy(tmpl->station, c.sta);
    strcpy(tmpl->location, c.loc);
    strcpy(tmpl->channel, c.cha);
    struct blkt_1001_s b1001 = {100, 0, 0, 0}; /* microsecond start times */
    msr_addblockette(tmpl, (char *)&b1001, sizeof b1001, 1001, 0);
    mst->samprate = rate;
    mst->starttime = start_us;
    mst->numsamples = mst->samplecnt = n;
    if (enc == DE_FLOAT32) {
        float *f = malloc((size_t)n * sizeof *f);
        for (int64_t i = 0; i < n; i++)
            f[i] = (float)v[i];
        mst->datasamples = f;
        mst->sampletype = 'f';
    } else {
        int32_t *d = malloc((size_t)n * sizeof *d);
        memcpy(d, v, (size_t)n * sizeof *d);
        mst->datasamples = d;
        mst->sampletype = 'i';
    }
    int64_t packed = 0;
    cr_assert(mst_pack(mst, pack_handler, out, reclen, (flag)enc, 1, &packed, 1, 0, tmpl) > 0);
    cr_assert_eq(packed, n);
    msr_free(&tmpl);
    mst_free(&mst);
}

/* Synthetic samples [i0, i1) of id at rate with the clock offset, as r2cache-synth writes. */
static void pack_synth(rc_buf *out, const char *id, double rate, int64_t i0, int64_t i1,
                       int64_t off_us, int reclen)
{
    if (i1 <= i0) return;
    int32_t *v = malloc((size_t)(i1 - i0) * sizeof *v);
    for (int64_t i = i0; i < i1; i++)
        v[i - i0] = rc_synth_value(id, i);
    int64_t start = llroundl((long double)i0 * 1e6L / (long double)rate) + off_us;
    pack(out, id, rate, start, v, i1 - i0, DE_STEIM2, reclen, 'D');
    free(v);
}

static rc_traces *traces_of(const rc_buf *b)
{
    rc_traces *t = NULL;
    rc_err e = {0};
    cr_assert_eq(rc_traces_new(&t, &e), RC_OK);
    cr_assert_eq(rc_traces_add(t, b->data, b->len, &e), RC_OK, "%s", e.msg);
    return t;
}

/* ---- real data -------------------------------------------------------- */

static void real_gap_free(const char *file, const char *chan, const char *from, int64_t seconds,
                          double offset_s)
{
    RC_REQUIRE_MSEED();
    rc_traces *t = load(file);
    MSTraceGroup *g = reference(file);
    cr_assert_eq(g->numtraces, 1);
    rc_window w;
    shape_ok(t, chan, 0, T(from), seconds, 600, &w);
    cr_assert_float_eq(w.offset_s, offset_s, 1e-9, "offset %.9f", w.offset_s);
    cr_assert_eq(w.overlap_identical, 0);
    cr_assert_eq(w.overlap_conflicts, 0);
    assert_matches_reference(&w, g->traces);
    rc_window_stats st;
    rc_window_stats_range(&w, 0, w.nslots, &st);
    cr_assert_eq(st.gap_count, 0);
    cr_assert_eq(st.present, w.nslots);
    cr_assert_float_eq(st.completeness, 1.0, 1e-12);
    rc_window_free(&w);
    mst_freegroup(&g);
    rc_traces_free(t);
}

Test(shape_real, jrc2_hnz_matches_libmseed)
{
    /* first sample 03:19:23.0383 -> clock 8.3 ms after the 100 Hz grid */
    real_gap_free("CI.JRC2..HNZ.mseed", "CI.JRC2..HNZ", "2019-07-06T03:20:00Z", 300, 0.0083);
}

Test(shape_real, hove_hhz_matches_libmseed)
{
    real_gap_free("HV.HOVE..HHZ__20190414T030832Z__20190414T031602Z.mseed", "HV.HOVE..HHZ",
                  "2019-04-14T03:10:00Z", 300, 0.0);
}

Test(shape_real, sts2_one_hour_matches_libmseed)
{
    real_gap_free("ref_STS2", "CA.STS2..EHZ", "2011-02-15T10:30:00Z", 600, 0.0);
}

Test(shape_real, sts2_in_six_hour_window_held_at_edges)
{
    RC_REQUIRE_MSEED();
    rc_traces *t = load("ref_STS2");
    MSTraceGroup *g = reference("ref_STS2");
    const int32_t *d = g->traces->datasamples;
    rc_window w;
    shape_ok(t, "CA.STS2..EHZ", 200, T("2011-02-15T06:00:00Z"), 21600, 600, &w);
    cr_assert_eq(w.nslots, 4320000);
    rc_window_stats st;
    rc_window_stats_range(&w, 0, w.nslots, &st);
    cr_assert_eq(st.present, 720001);
    cr_assert_eq(st.gap_count, 2);
    cr_assert_eq(st.gap_samples_filled, 4320000 - 720001);
    /* 10:21:00 is slot 4.35 h * 720000/h = 3132000; sub-window 10:20-10:30 is held
     * before it, empty sub-windows before that hold the same first value. */
    int64_t k0 = (int64_t)(4 * 3600 + 21 * 60) * 200;
    cr_assert_eq(w.present[k0 - 1], 0);
    cr_assert_eq(w.present[k0], 1);
    cr_assert_eq(w.samples[k0], d[0]);
    cr_assert_eq(w.samples[0], d[0]);
    cr_assert_eq(w.samples[k0 + 720000], d[720000]);
    cr_assert_eq(w.present[k0 + 720001], 0);
    cr_assert_eq(w.samples[w.nslots - 1], d[720000]);
    rc_window_free(&w);
    mst_freegroup(&g);
    rc_traces_free(t);
}

Test(shape_real, gaps_counted_and_filled)
{
    RC_REQUIRE_MSEED();
    rc_traces *t = load("gaps.mseed");
    MSTraceGroup *g = reference("gaps.mseed");
    cr_assert_eq(g->numtraces, 4);
    rc_window w;
    shape_ok(t, "BW.BGLD..EHE", 200, T("2008-01-01T00:00:00Z"), 600, 600, &w);
    /* 23:59:59.915 is on the 200 Hz grid: no offset */
    cr_assert_float_eq(w.offset_s, 0.0, 1e-12);
    /* Within the recorded span [00:00:00, last sample] there are exactly 3 gaps.
     * libmseed reports a gap as the time from one segment's last sample to the
     * next one's first (2.065 s, 2.065 s, 4.125 s), which at 200 Hz leaves
     * 2.065*200 - 1 = 412 and 4.125*200 - 1 = 824 missing samples. */
    int64_t first = 0, last = 0;
    int64_t f_us, l_us;
    rc_chan c = CH("BW.BGLD..EHE");
    cr_assert_eq(rc_traces_extent(t, &c, &f_us, &l_us), RC_OK);
    last = llround(((double)l_us - (double)w.start * 1e6) * 200 / 1e6);
    cr_assert_eq(w.present[last], 1);
    rc_window_stats st;
    rc_window_stats_range(&w, first, last + 1, &st);
    cr_assert_eq(st.gap_count, 3);
    int64_t runs[3], nr = 0, run = 0;
    for (int64_t k = first; k <= last; k++) {
        if (!w.present[k])
            run++;
        else if (run) {
            runs[nr++] = run;
            run = 0;
        }
    }
    cr_assert_eq(nr, 3);
    cr_assert_eq(runs[0], 412);
    cr_assert_eq(runs[1], 412);
    cr_assert_eq(runs[2], 824);
    cr_assert_eq(st.gap_samples_filled, 412 + 412 + 824);
    cr_assert_float_eq(st.gap_duration_seconds, 1648 / 200.0, 1e-9);
    /* every recorded slot equals libmseed's segments */
    int64_t checked = 0;
    for (MSTrace *tr = g->traces; tr; tr = tr->next) {
        const int32_t *d = tr->datasamples;
        for (int64_t j = 0; j < tr->numsamples; j++) {
            int64_t k = llround(((double)tr->starttime - (double)w.start * 1e6) * 200 / 1e6) + j;
            if (k < 0 || k >= w.nslots) continue;
            cr_assert_eq(w.present[k], 1);
            cr_assert_eq(w.samples[k], d[j]);
            checked++;
        }
    }
    cr_assert_eq(checked, st.present);
    /* interior gaps are linear between their neighbours */
    int64_t k = first;
    while (w.present[k])
        k++;
    int64_t a = k - 1, b = k + 412;
    cr_assert_eq(w.present[b], 1);
    int32_t va = w.samples[a], vb = w.samples[b];
    int64_t num = (int64_t)(vb - va) * 200, den = b - a;
    int64_t q = num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
    cr_assert_eq(w.samples[a + 200], va + q);
    /* after the last sample the window holds it */
    cr_assert_eq(w.samples[w.nslots - 1], w.samples[last]);
    rc_window_free(&w);
    mst_freegroup(&g);
    rc_traces_free(t);
}

Test(shape_real, quality_flag_copies_are_identical_overlaps)
{
    RC_REQUIRE_MSEED();
    rc_traces *t = load("qualityflags.mseed");
    MSTraceGroup *g = reference("qualityflags.mseed");
    rc_window w;
    shape_ok(t, "BW.BGLD..EHE", 200, T("2007-12-31T23:59:00Z"), 120, 120, &w);
    rc_window_stats st;
    rc_window_stats_range(&w, 0, w.nslots, &st);
    /* 18 copies of one 412-sample record: 17 x 412 identical drops */
    cr_assert_eq(st.present, 412);
    cr_assert_eq(w.overlap_identical, 17 * 412);
    cr_assert_eq(w.overlap_conflicts, 0);
    int64_t k0 = llround(((double)g->traces->starttime - (double)w.start * 1e6) * 200 / 1e6);
    const int32_t *d = g->traces->datasamples;
    for (int64_t j = 0; j < 412; j++)
        cr_assert_eq(w.samples[k0 + j], d[j]);
    rc_window_free(&w);
    mst_freegroup(&g);
    rc_traces_free(t);
}

Test(shape_real, mixed_lengths_and_order)
{
    RC_REQUIRE_MSEED();
    rc_traces *t = load("testdata-oneseries-mixedlengths-mixedorder.mseed2");
    MSTraceGroup *g = reference("testdata-oneseries-mixedlengths-mixedorder.mseed2");
    rc_window w;
    shape_ok(t, "XX.TEST.00.LHZ", 1, T("2010-02-27T06:00:00Z"), 21600, 600, &w);
    /* first sample 06:50:00.069539: 69.539 ms after the 1 Hz grid */
    cr_assert_float_eq(w.offset_s, 0.069539, 1e-9);
    /* 06:50:00 .. 07:55:51 every second is recorded once; the overlaps agree */
    rc_window_stats st;
    int64_t k0 = 50 * 60, n = 3952;
    rc_window_stats_range(&w, k0, n, &st);
    cr_assert_eq(st.present, 3952);
    cr_assert_eq(st.gap_count, 0);
    /* libmseed's "2 overlaps" are segments listed out of time order, not
     * repeated samples: 3952 samples over 3951 s */
    cr_assert_eq(w.overlap_conflicts, 0);
    cr_assert_eq(w.overlap_identical, 0);
    for (MSTrace *tr = g->traces; tr; tr = tr->next) {
        const int32_t *d = tr->datasamples;
        int64_t k = llround(((double)tr->starttime - (double)w.start * 1e6 - 69539) / 1e6);
        for (int64_t j = 0; j < tr->numsamples; j++)
            cr_assert_eq(w.samples[k + j], d[j], "slot %lld", (long long)(k + j));
    }
    rc_window_free(&w);
    mst_freegroup(&g);
    rc_traces_free(t);
}

Test(shape_real, endian_variants_equal)
{
    RC_REQUIRE_MSEED();
    rc_traces *be = load("test.mseed");
    rc_traces *le = load("endiantest.le-header.le-data.mseed");
    MSTraceGroup *g = reference("test.mseed");
    rc_window a, b;
    shape_ok(be, "NL.HGN.00.BHZ", 40, T("2003-05-29T02:14:00Z"), 240, 600, &a);
    shape_ok(le, "NL.HGN.00.BHZ", 40, T("2003-05-29T02:14:00Z"), 240, 600, &b);
    cr_assert_eq(a.nslots, 9600);
    cr_assert_eq(b.nslots, 9600);
    cr_assert_eq(memcmp(a.samples, b.samples, 9600 * 4), 0);
    cr_assert_eq(memcmp(a.present, b.present, 9600), 0);
    cr_assert_float_eq(a.offset_s, b.offset_s, 1e-12);
    assert_matches_reference(&a, g->traces);
    rc_window_free(&a);
    rc_window_free(&b);
    mst_freegroup(&g);
    rc_traces_free(be);
    rc_traces_free(le);
}

Test(shape_real, miniseed3_refused_by_name)
{
    RC_REQUIRE_MSEED();
    const char *files[] = {"reference-testdata-steim2.mseed3", "testdata-3channel-signal.mseed3",
                           "testdata-COLA-signal.mseed3",
                           "testdata-oneseries-mixedlengths-mixedorder.mseed3"};
    for (size_t i = 0; i < 4; i++) {
        char *path = rc_test_mseed_path(files[i]);
        rc_buf b = RC_BUF_INIT;
        cr_assert_eq(rc_test_read_file(path, &b), 0);
        rc_traces *t = NULL;
        rc_err e = {0};
        rc_traces_new(&t, &e);
        cr_assert_eq(rc_traces_add(t, b.data, b.len, &e), RC_EFORMAT, "%s", files[i]);
        cr_assert(strstr(e.msg, "miniSEED 3"), "%s: %s", files[i], e.msg);
        cr_assert(strstr(e.msg, "byte offset 0"), "%s", e.msg);
        cr_assert_eq(rc_traces_nchan(t), 0);
        rc_traces_free(t);
        rc_buf_free(&b);
        free(path);
    }
}

Test(shape_real, window_without_data_is_enodata)
{
    RC_REQUIRE_MSEED();
    rc_traces *t = load("CI.JRC2..HNZ.mseed");
    rc_chan c = CH("CI.JRC2..HNZ");
    rc_window w;
    memset(&w, 0x5a, sizeof w);
    rc_err e = {0};
    cr_assert_eq(rc_shape(t, &c, 100, T("2019-07-06T04:00:00Z"), 600, 600, &w, &e), RC_ENODATA);
    cr_assert(strstr(e.msg, "CI.JRC2..HNZ"), "%s", e.msg);
    cr_assert(strstr(e.msg, "2019-07-06T04:00:00Z"), "%s", e.msg);
    rc_chan other = CH("CI.JRC2..HNE");
    cr_assert_eq(rc_shape(t, &other, 100, T("2019-07-06T03:20:00Z"), 600, 600, &w, &e), RC_ENODATA);
    cr_assert_eq(w.nslots, (int64_t)0x5a5a5a5a5a5a5a5a, "out touched");
    cr_assert_eq(rc_traces_nchan(t), 1);
    cr_assert_float_eq(rc_traces_rate(t, &c), 100.0, 1e-9);
    int64_t f, l;
    cr_assert_eq(rc_traces_extent(t, &c, &f, &l), RC_OK);
    cr_assert_eq(f, T("2019-07-06T03:19:23Z") * 1000000 + 38300);
    cr_assert_eq(l, T("2019-07-06T03:25:53Z") * 1000000 + 38300);
    rc_traces_free(t);
}

Test(shape_real, multichannel_file)
{
    RC_REQUIRE_MSEED();
    rc_traces *t = load("testdata-COLA-signal.mseed2");
    cr_assert_eq(rc_traces_nchan(t), 3);
    rc_chan c = *rc_traces_chan(t, 2);
    char s[RC_CHAN_STR_MAX];
    rc_chan_format(&c, s);
    cr_assert_str_eq(s, "IU.COLA.00.BHZ");
    MSTraceGroup *g = reference("testdata-COLA-signal.mseed2");
    MSTrace *tr = g->traces;
    while (strcmp(tr->channel, "BHZ"))
        tr = tr->next;
    rc_window w;
    shape_ok(t, "IU.COLA.00.BHZ", 20, T("2010-02-27T07:00:00Z"), 600, 600, &w);
    assert_matches_reference(&w, tr);
    rc_window_free(&w);
    mst_freegroup(&g);
    rc_traces_free(t);
}

/* ---- bad input -------------------------------------------------------- */

Test(shape_input, garbage_truncation_and_padding)
{
    rc_buf b = RC_BUF_INIT;
    pack_synth(&b, "XX.A..HHZ", 100, 0, 2000, 0, 512);
    size_t good = b.len;
    rc_traces *t = NULL;
    rc_err e = {0};
    rc_traces_new(&t, &e);
    /* zero padding after the records is accepted */
    rc_buf_append(&b, (const char[1024]){0}, 1024);
    cr_assert_eq(rc_traces_add(t, b.data, b.len, &e), RC_OK, "%s", e.msg);
    rc_traces_free(t);
    /* a truncated last record names its offset; earlier records stay */
    rc_traces_new(&t, &e);
    cr_assert_eq(rc_traces_add(t, b.data, good - 100, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "truncated"), "%s", e.msg);
    char off[64];
    snprintf(off, sizeof off, "byte offset %zu", good - 512);
    cr_assert(strstr(e.msg, off), "%s", e.msg);
    cr_assert_eq(rc_traces_nchan(t), 1);
    rc_traces_free(t);
    /* a 4096-byte record cut to 512 bytes is truncated, not a short record */
    rc_buf big = RC_BUF_INIT;
    pack_synth(&big, "XX.A..HHZ", 100, 0, 20000, 0, 4096);
    cr_assert_eq(big.len % 4096, 0);
    rc_traces_new(&t, &e);
    cr_assert_eq(rc_traces_add(t, big.data, big.len - 4096 + 512, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "(512 of 4096 bytes)"), "%s", e.msg);
    rc_traces_free(t);
    rc_buf_free(&big);
    /* an HTML error page */
    rc_traces_new(&t, &e);
    const char *html = "<html><body>Service Unavailable</body></html>";
    cr_assert_eq(rc_traces_add(t, html, strlen(html), &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "not miniSEED 2 data at byte offset 0"), "%s", e.msg);
    cr_assert(strstr(e.msg, "<html>"), "%s", e.msg);
    rc_traces_free(t);
    rc_buf_free(&b);
}

Test(shape_input, float_channel_is_per_channel_error)
{
    rc_buf b = RC_BUF_INIT;
    int32_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i * 3;
    int64_t s = T("2025-01-01T00:00:00Z") * 1000000;
    pack(&b, "XX.F..HHZ", 100, s, v, 100, DE_FLOAT32, 512, 'D');
    pack(&b, "XX.I..HHZ", 100, s, v, 100, DE_STEIM1, 512, 'D');
    rc_traces *t = traces_of(&b);
    rc_chan f = CH("XX.F..HHZ");
    rc_window w;
    rc_err e = {0};
    cr_assert_eq(rc_shape(t, &f, 100, s / 1000000, 600, 600, &w, &e), RC_EFORMAT, "%s", e.msg);
    cr_assert(strstr(e.msg, "XX.F..HHZ is float data"), "%s", e.msg);
    cr_assert(strstr(e.msg, "r2cache stores int32 counts"), "%s", e.msg);
    shape_ok(t, "XX.I..HHZ", 100, s / 1000000, 600, 600, &w);
    cr_assert_eq(w.samples[99], 297);
    cr_assert_eq(w.samples[500], 297);
    rc_window_free(&w);
    rc_traces_free(t);
    rc_buf_free(&b);
}

Test(shape_input, rate_mismatch_and_change)
{
    rc_buf b = RC_BUF_INIT;
    int32_t v[200] = {0};
    int64_t s = T("2025-01-01T00:00:00Z");
    pack(&b, "XX.R..HHZ", 100, s * 1000000, v, 200, DE_STEIM2, 512, 'D');
    pack(&b, "XX.R..HHZ", 50, (s + 2) * 1000000, v, 200, DE_STEIM2, 512, 'D');
    rc_traces *t = traces_of(&b);
    rc_chan c = CH("XX.R..HHZ");
    rc_window w;
    rc_err e = {0};
    cr_assert_eq(rc_shape(t, &c, 100, s, 600, 600, &w, &e), RC_EFORMAT, "%s", e.msg);
    cr_assert(strstr(e.msg, "XX.R..HHZ changes sample rate"), "%s", e.msg);
    cr_assert(strstr(e.msg, "100 Hz and 50 Hz"), "%s", e.msg);
    /* only the 100 Hz records reach [s, s+1): expected 40 Hz is refused, 100 Hz works */
    cr_assert_eq(rc_shape(t, &c, 40, s, 1, 1, &w, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "sample rate 100 Hz but 40 Hz is expected"), "%s", e.msg);
    shape_ok(t, "XX.R..HHZ", 100, s, 1, 1, &w);
    rc_window_free(&w);
    /* within tolerance: 100.005 Hz is 100 Hz */
    shape_ok(t, "XX.R..HHZ", 100.005, s, 1, 1, &w);
    rc_window_free(&w);
    rc_traces_free(t);
    rc_buf_free(&b);
}

/* ---- synthetic: exact rules ------------------------------------------- */

Test(shape_rules, edge_hold_and_interpolation)
{
    int64_t s = T("2025-01-01T00:00:00Z");
    rc_buf b = RC_BUF_INIT;
    int32_t r1[] = {10, 20, 30}, r2[] = {-30, 100}, r3[] = {101}, r4[] = {102}, r5[] = {-1};
    pack(&b, "XX.H..LHZ", 1, (s + 3) * 1000000, r1, 3, DE_INT32, 512, 'D');
    pack(&b, "XX.H..LHZ", 1, (s + 10) * 1000000, r2, 2, DE_INT32, 512, 'D');
    pack(&b, "XX.H..LHZ", 1, (s + 14) * 1000000, r3, 1, DE_INT32, 512, 'D');
    pack(&b, "XX.H..LHZ", 1, (s + 16) * 1000000, r4, 1, DE_INT32, 512, 'D');
    pack(&b, "XX.H..LHZ", 1, (s + 18) * 1000000, r5, 1, DE_INT32, 512, 'D');
    rc_traces *t = traces_of(&b);
    rc_window w;
    shape_ok(t, "XX.H..LHZ", 1, s, 20, 20, &w);
    const int32_t want[20] = {10,  10,  10,  10,  20,  30,  18,  6,  -6, -18,
                              -30, 100, 100, 101, 101, 102, 102, 50, -1, -1};
    const uint8_t pres[20] = {0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0};
    for (int k = 0; k < 20; k++) {
        cr_assert_eq(w.samples[k], want[k], "slot %d: %d != %d", k, w.samples[k], want[k]);
        cr_assert_eq(w.present[k], pres[k], "slot %d presence", k);
    }
    rc_window_stats st;
    rc_window_stats_range(&w, 0, 20, &st);
    cr_assert_eq(st.min, -30);
    cr_assert_eq(st.max, 102);
    cr_assert_eq(st.present, 8);
    cr_assert_eq(st.gap_count, 6);
    cr_assert_eq(st.gap_samples_filled, 12);
    cr_assert_float_eq(st.gap_duration_seconds, 12.0, 1e-12);
    cr_assert_float_eq(st.completeness, 0.4, 1e-12);
    rc_window_stats_range(&w, 3, 3, &st);
    cr_assert_eq(st.gap_count, 0);
    cr_assert_eq(st.min, 10);
    cr_assert_eq(st.max, 30);
    rc_window_free(&w);
    /* Base sub-windows of 10 s: slots 6..9 now belong to the first sub-window
     * and are held at 30, the second starts at its own first sample. */
    shape_ok(t, "XX.H..LHZ", 1, s, 20, 10, &w);
    cr_assert_eq(w.samples[9], 30);
    cr_assert_eq(w.samples[6], 30);
    cr_assert_eq(w.samples[10], -30);
    rc_window_free(&w);
    rc_traces_free(t);
    rc_buf_free(&b);
}

Test(shape_rules, overlaps_by_quality_then_first)
{
    int64_t s = T("2025-01-01T00:00:00Z");
    rc_buf b = RC_BUF_INIT;
    int32_t d1[] = {1, 2, 3, 4, 5}, q2[] = {3, 40, 50, 6, 7}, d3[] = {99}, q4[] = {77}, m5[] = {8};
    pack(&b, "XX.O..LHZ", 1, (s + 0) * 1000000, d1, 5, DE_INT32, 512, 'D');
    pack(&b, "XX.O..LHZ", 1, (s + 2) * 1000000, q2, 5, DE_INT32, 512, 'Q');
    pack(&b, "XX.O..LHZ", 1, (s + 3) * 1000000, d3, 1, DE_INT32, 512, 'D');
    pack(&b, "XX.O..LHZ", 1, (s + 5) * 1000000, q4, 1, DE_INT32, 512, 'Q');
    pack(&b, "XX.O..LHZ", 1, (s + 6) * 1000000, m5, 1, DE_INT32, 512, 'M');
    rc_traces *t = traces_of(&b);
    rc_window w;
    shape_ok(t, "XX.O..LHZ", 1, s, 10, 10, &w);
    const int32_t want[7] = {1, 2, 3, 40, 50, 6, 8};
    for (int k = 0; k < 7; k++)
        cr_assert_eq(w.samples[k], want[k], "slot %d: %d", k, w.samples[k]);
    cr_assert_eq(w.overlap_identical, 1); /* slot 2: 3 == 3 */
    cr_assert_eq(w.overlap_conflicts, 5); /* 3,4 (Q beats D), 3 (D loses), 5 (first Q), 6 (M) */
    cr_assert_eq(w.samples[9], 8);
    rc_window_free(&w);
    rc_traces_free(t);
    rc_buf_free(&b);
}

Test(shape_rules, offset_kept_and_jitter_tolerated)
{
    /* sample clock 3 ms after the grid at 100 Hz */
    int64_t s = T("2025-11-04T22:00:00Z");
    rc_buf b = RC_BUF_INIT;
    pack_synth(&b, "XX.OFF..HHZ", 100, s * 100 - 500, s * 100 + 60500, 3000, 512);
    rc_traces *t = traces_of(&b);
    rc_window w;
    shape_ok(t, "XX.OFF..HHZ", 100, s, 600, 600, &w);
    cr_assert_float_eq(w.offset_s, 0.003, 1e-12);
    for (int64_t k = 0; k < 60000; k++) {
        cr_assert_eq(w.present[k], 1);
        cr_assert_eq(w.samples[k], rc_synth_value("XX.OFF..HHZ", s * 100 + k));
    }
    rc_window_free(&w);
    rc_traces_free(t);
    rc_buf_free(&b);

    /* records of 100 samples whose stamps jitter by up to 0.4 sample: no sample
     * moves, nothing overlaps; a stamp 20 us early still means "on the grid" */
    rc_buf_init(&b);
    const int64_t jit[6] = {-20, 4000, -4000, 3000, -1000, 0};
    for (int r = 0; r < 600; r++) {
        int32_t v[100];
        int64_t i0 = s * 100 + (int64_t)r * 100;
        for (int j = 0; j < 100; j++)
            v[j] = rc_synth_value("XX.JIT..HHZ", i0 + j);
        pack(&b, "XX.JIT..HHZ", 100, i0 * 10000 + jit[r % 6], v, 100, DE_STEIM2, 512, 'D');
    }
    t = traces_of(&b);
    shape_ok(t, "XX.JIT..HHZ", 100, s, 600, 600, &w);
    cr_assert_float_eq(w.offset_s, 0.0, 1e-12);
    cr_assert_eq(w.overlap_identical + w.overlap_conflicts, 0);
    for (int64_t k = 0; k < 60000; k++) {
        cr_assert_eq(w.present[k], 1, "slot %lld", (long long)k);
        cr_assert_eq(w.samples[k], rc_synth_value("XX.JIT..HHZ", s * 100 + k));
    }
    rc_window_free(&w);
    rc_traces_free(t);
    rc_buf_free(&b);
}

static void fractional_rate(double rate, int64_t nslots, int reclen)
{
    int64_t s = T("2025-11-04T22:00:00Z");
    int64_t i0 = llround((double)s * rate);
    rc_buf b = RC_BUF_INIT;
    pack_synth(&b, "XX.FR..BHZ", rate, i0 - 5, i0 + nslots * 2, 0, reclen);
    rc_traces *t = traces_of(&b);
    for (int win = 0; win < 2; win++) {
        rc_window w;
        shape_ok(t, "XX.FR..BHZ", rate, s + win * 600, 600, 600, &w);
        cr_assert_eq(w.nslots, nslots);
        cr_assert_eq(rc_slots(rate, 600), nslots);
        cr_assert_float_eq(w.offset_s, 0.0, 1e-12, "rate %g offset %.9f", rate, w.offset_s);
        for (int64_t k = 0; k < nslots; k++) {
            cr_assert_eq(w.present[k], 1, "slot %lld", (long long)k);
            cr_assert_eq(w.samples[k], rc_synth_value("XX.FR..BHZ", i0 + win * nslots + k));
        }
        rc_window_free(&w);
    }
    rc_traces_free(t);
    rc_buf_free(&b);
}

Test(shape_rules, fractional_rates)
{
    fractional_rate(40.96, 24576, 512);
    fractional_rate(0.1, 60, 512);
}

/*
 * A 6 h window holds exactly its 36 ten-minute windows shaped alone,
 * including a gap across a 10-minute boundary and an empty 10-minute window;
 * composing the stored 10-minute bodies gives the same 6 h body.
 */
Test(shape_rules, six_hours_equal_their_ten_minute_windows)
{
    const char *id = "XX.SIX..HHZ";
    int64_t s = T("2025-11-04T18:00:00Z");
    int64_t a = s * 100;
    rc_buf b = RC_BUF_INIT;
    /* gaps: [s+595.5, s+612.25) crosses the 600 s boundary;
     *       [s+1795, s+2410) empties sub-window 3 entirely */
    pack_synth(&b, id, 100, a - 1000, a + 59550, 3000, 4096);
    pack_synth(&b, id, 100, a + 61225, a + 179500, 3000, 4096);
    pack_synth(&b, id, 100, a + 241000, a + 2160000 + 1000, 3000, 4096);
    rc_traces *t = traces_of(&b);
    rc_window big;
    shape_ok(t, id, 100, s, 21600, 600, &big);
    cr_assert_eq(big.nslots, 2160000);
    cr_assert_float_eq(big.offset_s, 0.003, 1e-12);
    const int32_t *parts[36];
    rc_window small[36];
    rc_chan c = CH(id);
    for (int i = 0; i < 36; i++) {
        rc_err e = {0};
        int r = rc_shape(t, &c, 100, s + 600 * i, 600, 600, &small[i], &e);
        if (i == 3) {
            cr_assert_eq(r, RC_ENODATA, "%s", e.msg);
            parts[i] = NULL;
            continue;
        }
        cr_assert_eq(r, RC_OK, "%s", e.msg);
        cr_assert_float_eq(small[i].offset_s, 0.003, 1e-12);
        cr_assert_eq(memcmp(small[i].samples, big.samples + 60000 * i, 60000 * 4), 0,
                     "10-minute window %d differs from its part of the 6 h window", i);
        cr_assert_eq(memcmp(small[i].present, big.present + 60000 * i, 60000), 0);
        parts[i] = small[i].samples;
    }
    /* recorded values are the signal; the empty sub-window is a straight line
     * from the last value of sub-window 2 to the first of sub-window 4 */
    for (int64_t k = 0; k < big.nslots; k += 997)
        if (big.present[k]) cr_assert_eq(big.samples[k], rc_synth_value(id, a + k));
    cr_assert_eq(big.present[59549], 1);
    cr_assert_eq(big.present[59550], 0);
    cr_assert_eq(big.present[61224], 0);
    cr_assert_eq(big.present[61225], 1);
    /* gap across the boundary: sub-window 0 holds its last value, 1 its first */
    cr_assert_eq(big.samples[59999], rc_synth_value(id, a + 59549));
    cr_assert_eq(big.samples[60000], rc_synth_value(id, a + 61225));
    int32_t l = rc_synth_value(id, a + 179499), r = rc_synth_value(id, a + 241000);
    cr_assert_eq(big.samples[179999], l); /* held to the end of sub-window 2 */
    cr_assert_eq(big.samples[240000], r); /* held from the start of sub-window 4 */
    int64_t num = (int64_t)(r - l) * (210000 - 179999), den = 240000 - 179999;
    int64_t q = num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
    cr_assert_eq(big.samples[210000], l + q);
    rc_window_stats st;
    rc_window_stats_range(&big, 180000, 60000, &st);
    cr_assert_eq(st.present, 0);
    cr_assert_eq(st.gap_count, 1);

    rc_window comp;
    rc_err e = {0};
    cr_assert_eq(rc_window_compose(&c, 100, s, 21600, 600, parts, NULL, &comp, &e), RC_OK, "%s",
                 e.msg);
    cr_assert_eq(comp.nslots, big.nslots);
    cr_assert_eq(memcmp(comp.samples, big.samples, (size_t)big.nslots * 4), 0);
    rc_window_stats_range(&comp, 180000, 60000, &st);
    cr_assert_eq(st.present, 0);
    rc_window_stats_range(&comp, 0, 60000, &st);
    cr_assert_eq(st.present, 60000);
    rc_window_free(&comp);

    const int32_t *none[36] = {0};
    cr_assert_eq(rc_window_compose(&c, 100, s, 21600, 600, none, NULL, &comp, &e), RC_ENODATA);
    for (int i = 0; i < 36; i++)
        if (i != 3) rc_window_free(&small[i]);
    rc_window_free(&big);
    rc_traces_free(t);
    rc_buf_free(&b);
}

/* A composed window keeps no per-slot flags: its statistics come from each
 * sub-window's recorded length, and must equal a per-slot count. Five
 * sub-windows of 10 slots: whole, missing, missing, one slot short, whole. */
Test(shape_rules, composed_window_stats_equal_a_per_slot_count)
{
    rc_chan c = CH("XX.CMP..HHZ");
    rc_window w;
    rc_err e = {0};
    cr_assert_eq(rc_window_compose_begin(&c, 1, 1000, 50, 10, &w, &e), RC_OK, "%s", e.msg);
    cr_assert_null(w.present);
    static const int64_t have[5] = {10, 0, 0, 9, 10};
    uint8_t rec[50] = {0};
    for (int64_t b = 0; b < 5; b++) {
        int64_t room = 0;
        int32_t *dst = rc_window_compose_slots(&w, b, &room);
        cr_assert_eq(room, 10);
        for (int64_t k = 0; k < have[b]; k++) {
            dst[k] = (int32_t)(100 * b + k);
            rec[10 * b + k] = 1;
        }
        if (have[b]) rc_window_compose_mark(&w, b, have[b], 0.25);
    }
    cr_assert_eq(rc_window_compose_end(&w, &e), RC_OK, "%s", e.msg);
    /* filled: 10..29 interpolated from 9 to 300, 39 held at 308 */
    cr_assert_eq(w.samples[39], 308);
    cr_assert_eq(w.samples[10], 9 + (int32_t)((300 - 9) * 1 / 21.0 + 0.5));
    static const int64_t ranges[][2] = {{0, 50}, {0, 10}, {5, 10},  {12, 5},  {15, 30},
                                        {29, 2}, {38, 3}, {39, 11}, {40, 10}, {0, 1}};
    for (size_t r = 0; r < sizeof ranges / sizeof *ranges; r++) {
        int64_t f = ranges[r][0], n = ranges[r][1];
        int64_t present = 0;
        int runs = 0;
        int32_t mn = INT32_MAX, mx = INT32_MIN;
        for (int64_t k = f; k < f + n; k++) {
            present += rec[k];
            if (!rec[k] && (k == f || rec[k - 1])) runs++;
            if (w.samples[k] < mn) mn = w.samples[k];
            if (w.samples[k] > mx) mx = w.samples[k];
        }
        rc_window_stats st;
        rc_window_stats_range(&w, f, n, &st);
        cr_assert_eq(st.present, present, "range %lld+%lld: %lld present, want %lld", (long long)f,
                     (long long)n, (long long)st.present, (long long)present);
        cr_assert_eq(st.gap_count, runs, "range %lld+%lld: %d runs, want %d", (long long)f,
                     (long long)n, st.gap_count, runs);
        cr_assert_eq(st.gap_samples_filled, n - present);
        cr_assert_eq(st.min, mn);
        cr_assert_eq(st.max, mx);
    }
    rc_window_stats all;
    rc_window_stats_range(&w, 0, 50, &all);
    cr_assert_eq(all.present, 29);
    cr_assert_eq(all.gap_count, 2);
    rc_window_free(&w);
}

/* ---- r2cache-synth ---------------------------------------------------- */

Test(shape_synth, synth_sds_day_files_read_back)
{
    const char *bin = rc_test_bin("r2cache-synth");
    FILE *f = bin ? fopen(bin, "rb") : NULL;
    if (!f)
        cr_skip_test("SKIPPED: r2cache-synth is not built yet (the r2cache library lacks modules)");
    fclose(f);
    char *dir = rc_test_tmpdir("synth");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "%s sds --out %s --chan XX.SYN..HHZ --rate 100 --from 2025-11-04T23:50:00Z "
             "--to 2025-11-05T00:20:00Z --gap 2025-11-05T00:05:00Z/2025-11-05T00:06:00Z "
             "--offset-us 3000 --reclen 512",
             bin, dir);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, &out, &err), 0, "%s", err.data ? err.data : "");
    cr_assert(strstr(err.data, "174000 samples"), "%s", err.data);
    rc_traces *t = NULL;
    rc_err e = {0};
    rc_traces_new(&t, &e);
    const char *files[2] = {"2025/XX/SYN/HHZ.D/XX.SYN..HHZ.D.2025.308",
                            "2025/XX/SYN/HHZ.D/XX.SYN..HHZ.D.2025.309"};
    for (int i = 0; i < 2; i++) {
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        rc_buf b = RC_BUF_INIT;
        cr_assert_eq(rc_test_read_file(p, &b), 0, "missing %s", p);
        cr_assert_eq(rc_traces_add(t, b.data, b.len, &e), RC_OK, "%s", e.msg);
        rc_buf_free(&b);
    }
    int64_t s = T("2025-11-05T00:00:00Z");
    rc_window w;
    shape_ok(t, "XX.SYN..HHZ", 100, s, 600, 600, &w);
    cr_assert_float_eq(w.offset_s, 0.003, 1e-12);
    for (int64_t k = 0; k < 60000; k++) {
        int in_gap = k >= 30000 && k < 36000;
        cr_assert_eq(w.present[k], !in_gap, "slot %lld", (long long)k);
        if (!in_gap) cr_assert_eq(w.samples[k], rc_synth_value("XX.SYN..HHZ", s * 100 + k));
    }
    rc_window_free(&w);
    /* the day file of 11-04 ends before midnight */
    int64_t f0, l0;
    rc_chan c = CH("XX.SYN..HHZ");
    cr_assert_eq(rc_traces_extent(t, &c, &f0, &l0), RC_OK);
    cr_assert_eq(f0, T("2025-11-04T23:50:00Z") * 1000000 + 3000);
    cr_assert_eq(l0, T("2025-11-05T00:19:59Z") * 1000000 + 993000);
    rc_traces_free(t);
    /* bad arguments: exit 2 with a message */
    snprintf(cmd, sizeof cmd, "%s sds --out %s --chan XX.SYN..HHZ --rate 100", bin, dir);
    rc_buf_reset(&err);
    cr_assert_eq(rc_test_sh(cmd, &out, &err), 2);
    cr_assert(strstr(err.data, "--from and --to are required"), "%s", err.data);
    rc_buf_free(&out);
    rc_buf_free(&err);
    rc_test_rmtree(dir);
    free(dir);
}
