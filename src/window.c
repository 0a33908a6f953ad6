/*
 * window.c: one window of int32 slots on a chunk grid (rc_window): its
 * allocation, the gap filling of shape.h's rule, its statistics, and the
 * step-by-step build of a long window from stored base chunks (composition).
 * rc_shape (shape.c) places recorded samples into a window; this module owns
 * everything a window does after that, and composition never sees a record.
 */
#include "r2cache/window.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/timewin.h"

int64_t rc_slots(double rate, int64_t seconds)
{
    return (int64_t)llround(rate * (double)seconds);
}

/* Rounded (ties away from zero) a + (b - a) * num / den. */
static int32_t lerp(int32_t a, int32_t b, int64_t num, int64_t den)
{
    int64_t d = ((int64_t)b - a) * num;
    int64_t q = d >= 0 ? (d + den / 2) / den : -((-d + den / 2) / den);
    return (int32_t)(a + q);
}

/* Fill slots strictly between anchors i and j (both filled) by interpolation. */
static void fill_between(int32_t *s, int64_t i, int64_t j)
{
    for (int64_t k = i + 1; k < j; k++)
        s[k] = lerp(s[i], s[j], k - i, j - i);
}

/* Fill the gaps of [lo, hi) from its recorded samples; 0 if it has none. */
static int fill_sub(int32_t *s, const uint8_t *p, int64_t lo, int64_t hi)
{
    int64_t first = -1, prev = -1;
    for (int64_t k = lo; k < hi; k++) {
        if (!p[k]) continue;
        if (first < 0)
            first = k;
        else if (k > prev + 1)
            fill_between(s, prev, k);
        prev = k;
    }
    if (first < 0) return 0;
    for (int64_t k = lo; k < first; k++)
        s[k] = s[first];
    for (int64_t k = prev + 1; k < hi; k++)
        s[k] = s[prev];
    return 1;
}

/* fill_sub for a sub-window whose recorded slots are [lo, rec): the rest
 * holds the last of them; 0 if it has none. */
static int fill_prefix(int32_t *s, int64_t lo, int64_t rec, int64_t hi)
{
    if (rec <= lo) return 0;
    if (rec > hi) rec = hi;
    for (int64_t k = rec; k < hi; k++)
        s[k] = s[rec - 1];
    return 1;
}

int64_t rc_window_sub_lo(const rc_window *w, int64_t b)
{
    int64_t v = rc_slots(w->rate, b * w->base_seconds);
    return v < w->nslots ? v : w->nslots;
}

/*
 * Fill every sub-window of w. Returns 0 when no slot was present at all.
 * Non-empty sub-windows are filled alone; runs of empty ones between them
 * are interpolated from the last slot before to the first slot after.
 */
int rc_window_fill(rc_window *w)
{
    int64_t nsub = w->nsub;
    int64_t empty_from = -1; /* first slot of the current run of empty subs */
    int64_t left = -1;       /* last slot of the previous non-empty sub */
    int any = 0;
    for (int64_t b = 0; b < nsub; b++) {
        int64_t lo = rc_window_sub_lo(w, b), hi = rc_window_sub_lo(w, b + 1);
        if (lo >= hi) continue;
        if (!(w->present ? fill_sub(w->samples, w->present, lo, hi)
                         : fill_prefix(w->samples, lo, lo + w->sub_have[b], hi))) {
            if (empty_from < 0) empty_from = lo;
            continue;
        }
        w->sub_flags[b] |= RC_SUB_DATA;
        any = 1;
        if (empty_from >= 0) {
            if (left >= 0)
                fill_between(w->samples, left, lo);
            else
                for (int64_t k = empty_from; k < lo; k++)
                    w->samples[k] = w->samples[lo];
            empty_from = -1;
        }
        left = hi - 1;
    }
    if (any && empty_from >= 0)
        for (int64_t k = empty_from; k < w->nslots; k++)
            w->samples[k] = w->samples[left];
    return any;
}

int rc_window_alloc(rc_window *w, const rc_chan *chan, double rate, int64_t start, int64_t seconds,
                    int64_t base_seconds, int composed, rc_err *e)
{
    char cs[RC_CHAN_STR_MAX];
    rc_chan_format(chan, cs);
    memset(w, 0, sizeof *w);
    if (!(rate > 0) || !isfinite(rate) || seconds <= 0)
        return rc_err_set(e, RC_EINVAL, "%s: cannot shape a window of %lld s at %.10g Hz", cs,
                          (long long)seconds, rate);
    int64_t n = rc_slots(rate, seconds);
    if (n <= 0 || n > ((int64_t)1 << 31))
        return rc_err_set(e, RC_EINVAL,
                          "%s: a window of %lld s at %.10g Hz has %lld slots; use a span that "
                          "holds between 1 and 2^31 samples",
                          cs, (long long)seconds, rate, (long long)n);
    w->chan = *chan;
    w->rate = rate;
    w->start = start;
    w->seconds = seconds;
    w->base_seconds = (base_seconds > 0 && base_seconds < seconds) ? base_seconds : seconds;
    w->nslots = n;
    w->nsub = (w->seconds + w->base_seconds - 1) / w->base_seconds;
    w->samples = calloc((size_t)n, sizeof *w->samples);
    if (composed)
        w->sub_have = calloc((size_t)w->nsub, sizeof *w->sub_have);
    else
        w->present = calloc((size_t)n, 1);
    w->sub_offset = calloc((size_t)w->nsub, sizeof *w->sub_offset);
    w->sub_flags = calloc((size_t)w->nsub, 1);
    w->cap_slots = n;
    w->cap_sub = w->nsub;
    if (!w->samples || !(w->present || w->sub_have) || !w->sub_offset || !w->sub_flags) {
        rc_window_free(w);
        return rc_err_set(e, RC_ENOMEM, "%s: out of memory for a window of %lld samples", cs,
                          (long long)n);
    }
    return RC_OK;
}

void rc_window_stats_range(const rc_window *w, int64_t first, int64_t n, rc_window_stats *st)
{
    memset(st, 0, sizeof *st);
    if (first < 0) first = 0;
    if (first + n > w->nslots) n = w->nslots - first;
    if (n <= 0) return;
    int32_t mn = INT32_MAX, mx = INT32_MIN;
    for (int64_t k = first; k < first + n; k++) {
        int32_t v = w->samples[k];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    int64_t present = 0;
    int runs = 0;
    if (w->present) {
        uint8_t prev = 1;
        for (int64_t k = first; k < first + n; k++) {
            uint8_t p = w->present[k];
            present += p;
            if (!p && prev) runs++;
            prev = p;
        }
    } else {
        /* composed: each sub-window is recorded slots then filled ones */
        int64_t end = first + n, gap_end = -1; /* end of the last filled run seen */
        for (int64_t b = 0; b < w->nsub; b++) {
            int64_t lo = rc_window_sub_lo(w, b), hi = rc_window_sub_lo(w, b + 1);
            int64_t rec = lo + (w->sub_have[b] < hi - lo ? w->sub_have[b] : hi - lo);
            /* recorded [lo, rec), filled [rec, hi), each clipped to the range */
            int64_t a = lo > first ? lo : first, z = rec < end ? rec : end;
            if (z > a) present += z - a;
            a = rec > first ? rec : first;
            z = hi < end ? hi : end;
            if (z > a) {
                if (a != gap_end) runs++;
                gap_end = z;
            }
        }
    }
    st->min = mn;
    st->max = mx;
    st->samples = n;
    st->present = present;
    st->gap_count = runs;
    st->gap_samples_filled = n - present;
    st->gap_duration_seconds = w->rate > 0 ? (double)(n - present) / w->rate : 0;
    st->completeness = (double)present / (double)n;
}

int rc_window_compose_begin(const rc_chan *chan, double rate, int64_t start, int64_t seconds,
                            int64_t base_seconds, rc_window *out, rc_err *e)
{
    return rc_window_alloc(out, chan, rate, start, seconds, base_seconds, 1, e);
}

int rc_window_compose_reuse(rc_window *w, const rc_chan *chan, double rate, int64_t start,
                            int64_t seconds, int64_t base_seconds, rc_err *e)
{
    int64_t n = (rate > 0 && isfinite(rate) && seconds > 0) ? rc_slots(rate, seconds) : 0;
    int64_t bs = (base_seconds > 0 && base_seconds < seconds) ? base_seconds : seconds;
    int64_t nsub = seconds > 0 ? (seconds + bs - 1) / bs : 0;
    if (!w->samples || !w->sub_have || n <= 0 || n > w->cap_slots || nsub > w->cap_sub) {
        rc_window_free(w);
        return rc_window_alloc(w, chan, rate, start, seconds, base_seconds, 1, e);
    }
    rc_window k = *w;
    memset(w, 0, sizeof *w);
    w->chan = *chan;
    w->rate = rate;
    w->start = start;
    w->seconds = seconds;
    w->base_seconds = bs;
    w->nslots = n;
    w->nsub = nsub;
    w->samples = k.samples;
    w->sub_have = k.sub_have;
    w->sub_offset = k.sub_offset;
    w->sub_flags = k.sub_flags;
    w->cap_slots = k.cap_slots;
    w->cap_sub = k.cap_sub;
    memset(w->samples, 0, (size_t)n * sizeof *w->samples);
    memset(w->sub_have, 0, (size_t)nsub * sizeof *w->sub_have);
    memset(w->sub_offset, 0, (size_t)nsub * sizeof *w->sub_offset);
    memset(w->sub_flags, 0, (size_t)nsub);
    return RC_OK;
}

int32_t *rc_window_compose_slots(rc_window *w, int64_t b, int64_t *n)
{
    *n = 0;
    if (b < 0 || b >= w->nsub) return NULL;
    int64_t lo = rc_window_sub_lo(w, b), hi = rc_window_sub_lo(w, b + 1);
    *n = hi > lo ? hi - lo : 0;
    return w->samples + lo;
}

void rc_window_compose_mark(rc_window *w, int64_t b, int64_t n, double offset)
{
    if (b < 0 || b >= w->nsub) return;
    int64_t lo = rc_window_sub_lo(w, b), hi = rc_window_sub_lo(w, b + 1);
    if (n > hi - lo) n = hi - lo;
    if (n <= 0) return;
    w->sub_have[b] = n;
    w->sub_offset[b] = offset;
}

int rc_window_compose_end(rc_window *w, rc_err *e)
{
    if (!rc_window_fill(w)) {
        char cs[RC_CHAN_STR_MAX], ts[RC_TIME_STR_MAX];
        rc_chan_format(&w->chan, cs);
        rc_time_iso(w->start, ts);
        long long seconds = (long long)w->seconds;
        rc_window_free(w);
        return rc_err_set(e, RC_ENODATA,
                          "%s: no stored sub-window to compose the %lld s window at %s", cs,
                          seconds, ts);
    }
    for (int64_t b = 0; b < w->nsub; b++)
        if (w->sub_flags[b] & RC_SUB_DATA) {
            w->offset_s = w->sub_offset[b];
            break;
        }
    return RC_OK;
}

int rc_window_compose(const rc_chan *chan, double rate, int64_t start, int64_t seconds,
                      int64_t base_seconds, const int32_t *const *parts, const double *part_offsets,
                      rc_window *out, rc_err *e)
{
    rc_window w;
    int rc = rc_window_compose_begin(chan, rate, start, seconds, base_seconds, &w, e);
    if (rc) return rc;
    int64_t partlen = rc_slots(rate, w.base_seconds);
    for (int64_t b = 0; b < w.nsub; b++) {
        if (!parts[b]) continue;
        int64_t n;
        int32_t *dst = rc_window_compose_slots(&w, b, &n);
        if (n > partlen) n = partlen;
        if (n <= 0) continue;
        memcpy(dst, parts[b], (size_t)n * sizeof *dst);
        rc_window_compose_mark(&w, b, n, part_offsets ? part_offsets[b] : 0);
    }
    rc = rc_window_compose_end(&w, e);
    if (rc) return rc;
    *out = w;
    return RC_OK;
}

void rc_window_free(rc_window *w)
{
    if (!w) return;
    free(w->samples);
    free(w->present);
    free(w->sub_offset);
    free(w->sub_flags);
    free(w->sub_have);
    w->sub_have = NULL;
    w->samples = NULL;
    w->present = NULL;
    w->sub_offset = NULL;
    w->sub_flags = NULL;
    w->nslots = 0;
    w->nsub = 0;
    w->cap_slots = 0;
    w->cap_sub = 0;
}
