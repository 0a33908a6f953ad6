/*
 * synth.c: r2cache-synth, deterministic synthetic miniSEED 2 for tests, the
 * demo and benchmarks.
 *
 *   r2cache-synth sds   --out DIR  --chan NET.STA.LOC.CHA [--chan ...] --rate HZ
 *                       --from ISO --to ISO [--gap FROM/TO ...] [--reclen 512|4096]
 *                       [--encoding steim1|steim2|int32|float32] [--quality D]
 *                       [--offset-us N] [--phase-step TIME/US ...]
 *   r2cache-synth mseed --out FILE (same options)
 *
 * Sample i of a channel has time i/rate + offset (+ US for every phase step
 * at or before it) and value rc_synth_value(id, i) (synth_signal.h), so a
 * test can compute any expected sample without reading the files back. A
 * phase step is a station clock that jumps: from the first sample at or
 * after TIME on, every sample is US microseconds later. A sample is written when its time
 * lies in [from, to) and in no gap [FROM, TO). Records never cross a UTC
 * day boundary (as in a real SDS archive), and within a day a continuous run
 * is packed as a stream, so only the run's last record is partly filled.
 */
#include <errno.h>
#include <libmseed.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "r2cache/err.h"
#include "r2cache/naming.h"
#include "r2cache/timewin.h"
#include "synth_signal.h"

#define MAX_CHANS 256
#define MAX_GAPS 256
#define MAX_STEPS 64
#define PIECE (1 << 20) /* samples generated per packing step */

typedef struct opts {
    int sds;
    const char *out;
    rc_chan chans[MAX_CHANS];
    int nchan;
    double rate;
    int64_t from, to;
    int64_t gap_from[MAX_GAPS], gap_to[MAX_GAPS];
    int ngap;
    int reclen;
    int encoding;
    char quality;
    int64_t offset_us;
    int64_t step_at[MAX_STEPS], step_us[MAX_STEPS]; /* time (s) and shift (us), ascending */
    int64_t step_idx[MAX_STEPS];                    /* first sample index shifted by it */
    int nstep;
} opts;

typedef struct writer {
    FILE *f;
    const char *path;
    int failed;
    int64_t records;
    int64_t bytes;
} writer;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: r2cache-synth sds   --out DIR  --chan NET.STA.LOC.CHA [--chan ...] --rate HZ\n"
        "                           --from ISO --to ISO [--gap FROM/TO ...] [--reclen 512|4096]\n"
        "                           [--encoding steim1|steim2|int32|float32] [--quality D]\n"
        "                           [--offset-us N] [--phase-step TIME/US ...]\n"
        "       r2cache-synth mseed --out FILE (same options)\n"
        "Writes deterministic synthetic miniSEED 2: sample i has time i/rate + offset (+ US\n"
        "for each --phase-step whose TIME is at or before it) and value rc_synth_value(id,\n"
        "i) (tools/synth_signal.h). sds writes SeisComP SDS day\n"
        "files DIR/YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY; mseed writes one file.\n"
        "Exit status: 0 written, 1 write failed, 2 bad arguments.\n");
}

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "r2cache-synth: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(run r2cache-synth --help for the options)\n");
    return 2;
}

/* 0 ok, -1 help asked, 2 bad arguments (message printed). */
static int parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->reclen = 512;
    o->encoding = DE_STEIM2;
    o->quality = 'D';
    o->from = o->to = INT64_MIN;
    if (argc < 2) return bad("%s", "missing mode: sds or mseed");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return -1;
    if (!strcmp(argv[1], "sds"))
        o->sds = 1;
    else if (strcmp(argv[1], "mseed"))
        return bad("unknown mode '%s': use sds or mseed", argv[1]);
    int64_t now = (int64_t)time(NULL);
    rc_err e = {0};
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--help")) return -1;
        if (i + 1 >= argc) return bad("option %s needs a value", k);
        const char *v = argv[++i];
        char *end = NULL;
        if (!strcmp(k, "--out")) {
            o->out = v;
        } else if (!strcmp(k, "--chan")) {
            if (o->nchan == MAX_CHANS) return bad("too many --chan (at most %s)", "256");
            if (rc_chan_parse(v, &o->chans[o->nchan], &e)) return bad("%s", e.msg);
            o->nchan++;
        } else if (!strcmp(k, "--rate")) {
            o->rate = strtod(v, &end);
            if (*end || !(o->rate > 0) || !isfinite(o->rate) || o->rate > 1e6)
                return bad("--rate '%s' is not a positive number of Hz", v);
        } else if (!strcmp(k, "--from") || !strcmp(k, "--to")) {
            int64_t t;
            if (rc_time_parse(v, now, &t, &e)) return bad("%s", e.msg);
            *(!strcmp(k, "--from") ? &o->from : &o->to) = t;
        } else if (!strcmp(k, "--gap")) {
            if (o->ngap == MAX_GAPS) return bad("too many --gap (at most %s)", "256");
            char tmp[128];
            snprintf(tmp, sizeof tmp, "%s", v);
            char *slash = strchr(tmp, '/');
            if (!slash) return bad("--gap '%s' must be FROM/TO (ISO times)", v);
            *slash = '\0';
            if (rc_time_parse(tmp, now, &o->gap_from[o->ngap], &e) ||
                rc_time_parse(slash + 1, now, &o->gap_to[o->ngap], &e))
                return bad("%s", e.msg);
            if (o->gap_to[o->ngap] <= o->gap_from[o->ngap])
                return bad("--gap '%s' ends before it starts", v);
            o->ngap++;
        } else if (!strcmp(k, "--reclen")) {
            long r = strtol(v, &end, 10);
            if (*end || (r != 512 && r != 4096)) return bad("--reclen '%s': use 512 or 4096", v);
            o->reclen = (int)r;
        } else if (!strcmp(k, "--encoding")) {
            if (!strcmp(v, "steim1"))
                o->encoding = DE_STEIM1;
            else if (!strcmp(v, "steim2"))
                o->encoding = DE_STEIM2;
            else if (!strcmp(v, "int32"))
                o->encoding = DE_INT32;
            else if (!strcmp(v, "float32"))
                o->encoding = DE_FLOAT32;
            else
                return bad("--encoding '%s': use steim1, steim2, int32 or float32", v);
        } else if (!strcmp(k, "--quality")) {
            if (strlen(v) != 1 || !strchr("DRQM", v[0]))
                return bad("--quality '%s': use D, R, Q or M", v);
            o->quality = v[0];
        } else if (!strcmp(k, "--phase-step")) {
            if (o->nstep == MAX_STEPS) return bad("too many --phase-step (at most %s)", "64");
            char tmp[128];
            snprintf(tmp, sizeof tmp, "%s", v);
            char *slash = strchr(tmp, '/');
            if (!slash) return bad("--phase-step '%s' must be TIME/US", v);
            *slash = '\0';
            long long us = strtoll(slash + 1, &end, 10);
            if (!slash[1] || *end || us <= 0 || us > 1000000000LL)
                return bad("--phase-step '%s': US must be a whole number of microseconds > 0", v);
            int64_t at;
            if (rc_time_parse(tmp, now, &at, &e)) return bad("%s", e.msg);
            if (o->nstep && at <= o->step_at[o->nstep - 1])
                return bad("--phase-step '%s': give the steps in ascending order of time", v);
            o->step_at[o->nstep] = at;
            o->step_us[o->nstep] = us;
            o->nstep++;
        } else if (!strcmp(k, "--offset-us")) {
            long long n = strtoll(v, &end, 10);
            if (*end || n < 0) return bad("--offset-us '%s' must be a whole number >= 0", v);
            o->offset_us = n;
        } else {
            return bad("unknown option '%s'", k);
        }
    }
    if (!o->out) return bad("%s", "--out is required");
    if (!o->nchan) return bad("%s", "at least one --chan NET.STA.LOC.CHA is required");
    if (!(o->rate > 0)) return bad("%s", "--rate is required");
    if (o->from == INT64_MIN || o->to == INT64_MIN)
        return bad("%s", "--from and --to are required");
    if (o->to <= o->from) return bad("%s", "--to must be after --from");
    if ((double)o->offset_us >= 1e6 / o->rate)
        return bad("%s", "--offset-us must be less than one sample period (1e6/rate)");
    /* each step shifts the samples from the first one at or after its time
     * (on the clock as it was before the step) */
    long double shift = 0;
    for (int s = 0; s < o->nstep; s++) {
        long double tu = (long double)o->step_at[s] * 1e6L - shift - (long double)o->offset_us;
        o->step_idx[s] = (int64_t)ceill(tu * (long double)o->rate / 1e6L);
        shift += (long double)o->step_us[s];
    }
    return 0;
}

/* Time of sample i, microseconds (long double: exact for any realistic i). */
static long double sample_us(const opts *o, int64_t i)
{
    long double t = (long double)i * 1e6L / (long double)o->rate + (long double)o->offset_us;
    for (int s = 0; s < o->nstep; s++)
        if (i >= o->step_idx[s]) t += (long double)o->step_us[s];
    return t;
}

/* Index of the first sample whose time is >= t (seconds). */
static int64_t first_index(const opts *o, int64_t t)
{
    long double tu = (long double)t * 1e6L;
    int64_t i = (int64_t)ceill((tu - (long double)o->offset_us) * (long double)o->rate / 1e6L);
    while (sample_us(o, i - 1) >= tu)
        i--;
    while (sample_us(o, i) < tu)
        i++;
    return i;
}

static void record_out(char *rec, int len, void *arg)
{
    writer *w = arg;
    if (fwrite(rec, 1, (size_t)len, w->f) != (size_t)len) w->failed = 1;
    w->records++;
    w->bytes += len;
}

/* Pack samples [i0, i1) of one channel as one continuous stream. */
static int pack_run(const opts *o, const char *id, const rc_chan *c, int64_t i0, int64_t i1,
                    writer *w)
{
    MSTrace *mst = mst_init(NULL);
    MSRecord *tmpl = msr_init(NULL);
    if (!mst || !tmpl) return -1;
    snprintf(mst->network, sizeof mst->network, "%s", c->net);
    snprintf(mst->station, sizeof mst->station, "%s", c->sta);
    snprintf(mst->location, sizeof mst->location, "%s", c->loc);
    snprintf(mst->channel, sizeof mst->channel, "%s", c->cha);
    mst->dataquality = o->quality;
    mst->samprate = o->rate;
    mst->starttime = (hptime_t)llroundl(sample_us(o, i0));
    mst->sampletype = o->encoding == DE_FLOAT32 ? 'f' : 'i';
    /* mst_pack takes codes and quality from the template, not from mst */
    memcpy(tmpl->network, mst->network, sizeof tmpl->network);
    memcpy(tmpl->station, mst->station, sizeof tmpl->station);
    memcpy(tmpl->location, mst->location, sizeof tmpl->location);
    memcpy(tmpl->channel, mst->channel, sizeof tmpl->channel);
    tmpl->dataquality = o->quality;
    /* Blockette 1001 carries the microseconds BTIME (100 us) cannot: fractional
     * rates such as 40.96 Hz then keep exact sample times in every record. */
    struct blkt_1001_s b1001;
    memset(&b1001, 0, sizeof b1001);
    b1001.timing_qual = 100;
    if (!msr_addblockette(tmpl, (char *)&b1001, sizeof b1001, 1001, 0)) {
        msr_free(&tmpl);
        mst_free(&mst);
        return -1;
    }
    int rc = 0;
    int64_t next = i0;
    while (next < i1 || mst->numsamples > 0) {
        int64_t have = mst->numsamples;
        int64_t add = i1 - next;
        if (add > PIECE) add = PIECE;
        void *p = realloc(mst->datasamples, (size_t)(have + add + 1) * 4);
        if (!p) {
            rc = -1;
            break;
        }
        mst->datasamples = p;
        for (int64_t j = 0; j < add; j++) {
            int32_t v = rc_synth_value(id, next + j);
            if (mst->sampletype == 'f')
                ((float *)p)[have + j] = (float)v;
            else
                ((int32_t *)p)[have + j] = v;
        }
        next += add;
        mst->numsamples = have + add;
        mst->samplecnt = mst->numsamples;
        int flush = next >= i1;
        int64_t packed = 0;
        if (mst_pack(mst, record_out, w, o->reclen, (flag)o->encoding, 1, &packed, (flag)flush, 0,
                     tmpl) < 0) {
            rc = -1;
            break;
        }
        if (flush) break;
    }
    msr_free(&tmpl);
    mst_free(&mst);
    return rc;
}

/* Write samples of [t0, t1) (seconds) of one channel, skipping the gaps. */
static int write_span(const opts *o, const rc_chan *c, int64_t t0, int64_t t1, writer *w,
                      int64_t *nsamples)
{
    char id[RC_CHAN_STR_MAX];
    rc_chan_format(c, id);
    int64_t i = first_index(o, t0), end = first_index(o, t1);
    while (i < end) {
        /* The run ends at the earliest gap start after i; gaps covering i skip it. */
        int64_t run_end = end;
        int skipped = 0;
        for (int g = 0; g < o->ngap; g++) {
            int64_t g0 = first_index(o, o->gap_from[g]), g1 = first_index(o, o->gap_to[g]);
            if (g0 <= i && i < g1) {
                i = g1;
                skipped = 1;
                break;
            }
            if (g0 > i && g0 < run_end) run_end = g0;
        }
        if (skipped) continue;
        /* a phase step breaks the record stream: the next record starts at
         * the shifted time */
        for (int s = 0; s < o->nstep; s++)
            if (o->step_idx[s] > i && o->step_idx[s] < run_end) run_end = o->step_idx[s];
        if (pack_run(o, id, c, i, run_end, w)) return -1;
        *nsamples += run_end - i;
        i = run_end;
    }
    return w->failed ? -1 : 0;
}

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int r = mkdir(path, 0755);
        *p = '/';
        if (r && errno != EEXIST) return -1;
    }
    if (mkdir(path, 0755) && errno != EEXIST) return -1;
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    int r = parse_args(argc, argv, &o);
    if (r < 0) {
        usage(stdout);
        return 0;
    }
    if (r) return r;
    writer w = {0};
    int64_t nsamples = 0, nfiles = 0;
    if (!o.sds) {
        w.path = o.out;
        w.f = fopen(o.out, "wb");
        if (!w.f) {
            fprintf(stderr, "r2cache-synth: cannot write %s: %s\n", o.out, strerror(errno));
            return 1;
        }
        nfiles = 1;
    }
    for (int c = 0; c < o.nchan && !w.failed; c++) {
        const rc_chan *ch = &o.chans[c];
        for (int64_t day = rc_day_start(o.from); day < o.to && !w.failed; day += 86400) {
            int64_t t0 = day > o.from ? day : o.from;
            int64_t t1 = day + 86400 < o.to ? day + 86400 : o.to;
            if (o.sds) {
                rc_tm tm;
                rc_time_split(day, &tm);
                char dir[4096], path[4200];
                snprintf(dir, sizeof dir, "%s/%04d/%s/%s/%s.D", o.out, tm.year, ch->net, ch->sta,
                         ch->cha);
                snprintf(path, sizeof path, "%s/%s.%s.%s.%s.D.%04d.%03d", dir, ch->net, ch->sta,
                         ch->loc, ch->cha, tm.year, tm.yday);
                if (mkdirs(dir)) {
                    fprintf(stderr, "r2cache-synth: cannot create %s: %s\n", dir, strerror(errno));
                    return 1;
                }
                w.path = path;
                w.f = fopen(path, "wb");
                if (!w.f) {
                    fprintf(stderr, "r2cache-synth: cannot write %s: %s\n", path, strerror(errno));
                    return 1;
                }
                nfiles++;
            }
            int64_t before = w.records;
            if (write_span(&o, ch, t0, t1, &w, &nsamples)) w.failed = 1;
            if (o.sds) {
                if (fclose(w.f)) w.failed = 1;
                w.f = NULL;
                if (w.records == before) { /* the whole day is a gap: no file, as in SDS */
                    remove(w.path);
                    nfiles--;
                }
            }
        }
    }
    if (w.f && fclose(w.f)) w.failed = 1;
    if (w.failed) {
        fprintf(stderr, "r2cache-synth: writing %s failed (disk full or packing error)\n",
                w.path ? w.path : o.out);
        return 1;
    }
    char a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
    rc_time_iso(o.from, a);
    rc_time_iso(o.to, b);
    fprintf(stderr,
            "r2cache-synth: %d channel(s) %s..%s at %.10g Hz: %lld samples, %lld records, "
            "%lld bytes in %lld file(s) under %s\n",
            o.nchan, a, b, o.rate, (long long)nsamples, (long long)w.records, (long long)w.bytes,
            (long long)nfiles, o.out);
    return 0;
}
