/*
 * readback.c: the cache read back as samples at their recorded times (see
 * readback.h). Used by `r2cache get` and the FDSN dataselect service.
 */
#include "r2cache/readback.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/codec.h"
#include "r2cache/codec_compact.h"
#include "r2cache/manifest.h"
#include "r2cache/window.h"
#include "r2cache/timewin.h"

int64_t rc_readback_time_us(const rc_readback_run *r, size_t i)
{
    return r->base_us + llround((double)(r->first + (int64_t)i) * 1e6 / r->rate);
}

/* --- segments ------------------------------------------------------------ */

int rc_readback_seg_continues(const rc_readback_seg *g, const rc_readback_run *r)
{
    return g->n && g->rate == r->rate &&
           llabs(rc_readback_time_us(r, 0) - g->next_us) <= RC_READBACK_CONTIG_US;
}

int rc_readback_seg_add(rc_readback_seg *g, const rc_readback_run *r)
{
    if (g->n + r->n > g->cap) {
        size_t nc = g->cap ? g->cap : 4096;
        while (nc < g->n + r->n)
            nc *= 2;
        int32_t *ns = realloc(g->s, nc * sizeof *ns);
        if (!ns) return RC_ENOMEM;
        g->s = ns;
        g->cap = nc;
    }
    if (g->np == g->pcap) {
        size_t nc = g->pcap ? g->pcap * 2 : 8;
        rc_readback_piece *np = realloc(g->p, nc * sizeof *np);
        if (!np) return RC_ENOMEM;
        g->p = np;
        g->pcap = nc;
    }
    if (!g->n) {
        g->start_us = rc_readback_time_us(r, 0);
        g->rate = r->rate;
    }
    g->p[g->np].at = g->n;
    g->p[g->np].run = *r;
    g->p[g->np].run.s = NULL;
    g->np++;
    memcpy(g->s + g->n, r->s, r->n * sizeof *r->s);
    g->n += r->n;
    g->next_us = rc_readback_time_us(r, r->n);
    return RC_OK;
}

int64_t rc_readback_seg_time(void *ud, size_t i)
{
    const rc_readback_seg *g = ud;
    size_t lo = 0, hi = g->np;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (g->p[mid].at <= i)
            lo = mid;
        else
            hi = mid;
    }
    return rc_readback_time_us(&g->p[lo].run, i - g->p[lo].at);
}

void rc_readback_seg_reset(rc_readback_seg *g)
{
    g->n = g->np = 0;
}

void rc_readback_seg_free(rc_readback_seg *g)
{
    free(g->s);
    free(g->p);
    memset(g, 0, sizeof *g);
}

typedef struct rate_ctx {
    rc_layout layout;
    const rc_chan *chan;
    double rate;
} rate_ctx;

static int rate_cb(void *ud, const rc_obj_info *o)
{
    rate_ctx *rc = ud;
    rc_key_info ki;
    rc_err e;
    if (rc_key_parse(rc->layout, o->key, &ki, &e) != RC_OK) return 0;
    if (ki.kind == RC_KEY_CHUNK && rc_chan_equal(&ki.chunk.chan, rc->chan) && ki.chunk.rate > 0) {
        rc->rate = ki.chunk.rate;
        return 1;
    }
    return 0;
}

int rc_readback_rate(rc_store *st, rc_layout l, const rc_chan *c, const char *volcano, int64_t day,
                     double *rate, rc_err *e)
{
    char prefix[RC_KEY_MAX];
    rate_ctx rc = {l, c, 0};
    *rate = 0;
    if (rc_key_prefix_channel_day(l, c, volcano, rc_day_start(day), prefix, sizeof prefix, e) !=
        RC_OK)
        return e ? e->code : RC_EINVAL;
    int r = rc_store_list(st, prefix, rate_cb, &rc, e);
    if (r != RC_OK) return r;
    if (rc.rate <= 0)
        return rc_err_set(e, RC_ENOTFOUND, "no chunk key names a sample rate under %s", prefix);
    *rate = rc.rate;
    return RC_OK;
}

/* The first slot k in [a, b) whose time is at or after t (b when none);
 * times grow with k. g gives the grid, slot k at index k - seg_slot. */
static int64_t first_at(const rc_readback_run *g, int64_t seg_slot, int64_t a, int64_t b, int64_t t)
{
    while (a < b) {
        int64_t mid = a + (b - a) / 2;
        if (rc_readback_time_us(g, (size_t)(mid - seg_slot)) >= t)
            b = mid;
        else
            a = mid + 1;
    }
    return a;
}

/* Deliver slots [k0, k1) of one chunk as one run. */
static int deliver(const rc_readback_req *q, rc_readback_stats *st, int64_t w, int64_t base_us,
                   int64_t first, double r, const int32_t *s, size_t n, int filled)
{
    if (n == 0) return 0;
    rc_readback_run run = {w, base_us, first, r, s, n, filled};
    st->samples += (int64_t)n;
    return q->on_run ? q->on_run(q->ud, &run) : 0;
}

int rc_readback_read(const rc_readback_req *q, rc_readback_stats *stats, rc_err *e)
{
    rc_readback_stats st = {0, 0, 0};
    if (q->layout == RC_LAYOUT_SEED && q->rate <= 0)
        return rc_err_set(e, RC_EINVAL, "readback: the sample rate of the channel is not known");
    rc_codec *codec = NULL;
    int rc = rc_codec_new(3, &codec, e);
    if (rc != RC_OK) return rc;
    int64_t sp = rc_span_seconds(q->span);
    int64_t from = q->from_us >= 0 ? q->from_us / 1000000 : -((-q->from_us + 999999) / 1000000);
    int64_t mday = INT64_MIN;
    rc_manifest m;
    int have_m = 0;
    int stop = 0;
    rc_err le;
    for (int64_t w = rc_floor(from, sp); w * 1000000 < q->to_us && !stop; w += sp) {
        if (rc_day_start(w) != mday) {
            if (have_m) rc_manifest_free(&m);
            have_m = 0;
            mday = rc_day_start(w);
            rc_manifest_id mid;
            memset(&mid, 0, sizeof mid);
            mid.chan = q->chan;
            snprintf(mid.volcano, sizeof mid.volcano, "%s", q->volcano);
            mid.rate = q->rate;
            mid.day = mday;
            char mkey[RC_KEY_MAX];
            if (rc_key_manifest(q->layout, &mid, mkey, sizeof mkey, &le) == RC_OK &&
                rc_manifest_load(q->store, q->layout, mkey, &m, NULL, &le) == RC_OK)
                have_m = 1;
        }
        rc_chunk_id id;
        memset(&id, 0, sizeof id);
        id.chan = q->chan;
        snprintf(id.volcano, sizeof id.volcano, "%s", q->volcano);
        id.rate = q->rate;
        id.span = q->span;
        id.start = w;
        char key[RC_KEY_MAX];
        rc_buf body = RC_BUF_INIT;
        int32_t *s = NULL;
        size_t n = 0;
        const rc_mentry *me = have_m ? rc_manifest_find(&m, q->span, w) : NULL;
        if (rc_key_chunk(q->layout, &id, key, sizeof key, &le) != RC_OK ||
            rc_store_get(q->store, key, &body, NULL, &le) != RC_OK ||
            rc_codec_decode_named(codec,
                                  /* the entry names the codec; a blob without one is
                                   * judged by its magic */
                                  me ? me->codec
                                     : rc_codec_id_name(rc_codec_sniff(body.data, body.len)),
                                  body.data, body.len, 0, &s, &n, &le) != RC_OK) {
            st.missing++;
            if (q->on_missing) q->on_missing(q->ud, w, le.msg);
            rc_buf_free(&body);
            continue;
        }
        rc_buf_free(&body);
        st.chunks++;
        double r = have_m && m.sample_rate > 0 ? m.sample_rate : q->rate;
        if (r <= 0) {
            free(s);
            st.missing++;
            if (q->on_missing)
                q->on_missing(q->ud, w, "no sample rate in the manifest or the configuration");
            continue;
        }
        int64_t head = me ? me->gap_head : 0, tail = me ? me->gap_tail : 0;
        /* The time rule (manifest.h): slot k is at START + offset_s + k/rate,
         * where from each phase step on its start and offset replace them.
         * Each stretch of slots on one grid is cut to the window by its
         * times (they grow with k), then at the filled head and tail. */
        int64_t seg_start = w, seg_slot = 0;
        double off = me ? me->offset_s : 0;
        int step = 0;
        int64_t ks = 0, nn = (int64_t)n;
        while (ks < nn && !stop) {
            while (me && step < me->nsteps && rc_slots(r, me->steps[step].start - w) <= ks) {
                seg_start = me->steps[step].start;
                seg_slot = rc_slots(r, me->steps[step].start - w);
                off = me->steps[step].offset_s;
                step++;
            }
            int64_t ke = nn;
            if (me && step < me->nsteps) {
                int64_t sl = rc_slots(r, me->steps[step].start - w);
                ke = sl < nn ? sl : nn;
            }
            int64_t base_us = seg_start * 1000000 + llround(off * 1e6);
            rc_readback_run g = {w, base_us, 0, r, NULL, 0, 0};
            int64_t lo = first_at(&g, seg_slot, ks, ke, q->from_us);
            int64_t hi = first_at(&g, seg_slot, lo, ke, q->to_us);
            /* [lo, hi) in the window: runs split where filled changes */
            int64_t cut[4] = {lo, head, nn - tail, hi};
            int64_t r0 = lo;
            int r_filled = lo < head || lo >= nn - tail;
            for (int c = 1; c < 4 && !stop; c++) {
                int64_t k = cut[c];
                if (k <= r0 || k > hi) continue;
                int filled = k < head || k >= nn - tail;
                if (k == hi || filled != r_filled) {
                    stop = deliver(q, &st, w, base_us, r0 - seg_slot, r, s + r0, (size_t)(k - r0),
                                   r_filled);
                    r0 = k;
                    r_filled = filled;
                }
            }
            ks = ke;
        }
        free(s);
    }
    if (have_m) rc_manifest_free(&m);
    rc_codec_free(codec);
    if (stats) *stats = st;
    return stop;
}
