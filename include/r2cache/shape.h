/*
 * shape.h: miniSEED records -> one window of int32 samples + statistics.
 *
 * rc_traces indexes the records of any number of miniSEED 2 buffers (a bulk
 * FDSN response, SDS day files) by channel, keeping the raw records and
 * decoding them only when a window asks for them, so memory stays near the
 * size of the compressed input.
 *
 * rc_shape() builds a window [start, start + seconds): slot k holds the
 * recorded sample whose time t satisfies
 *     start + offset + k/rate  <=  t  <  start + offset + (k+1)/rate  (k from 0)
 * where offset in [0, 1/rate) is the phase of the recording's sample clock
 * relative to the window grid (never resampled; kept in the window and the
 * manifest). Slots = round(rate * seconds).
 *
 * Timing tolerance: the offset is taken from the earliest record reaching
 * the window, in whole microseconds; a phase within 50 us (or 0.1 sample if
 * that is less) of a grid point counts as 0 (record stamps have 100 us
 * resolution without blockette 1001). Each record's samples then go to the
 * nearest grid point, k = round((t - start - offset) * rate), so timing
 * jitter below half a sample never moves a sample into another slot.
 *
 * Overlaps: a second sample for an occupied slot with the same value is
 * dropped (counted identical); a different value is a conflict, resolved by
 * record quality (M > Q > D > R; same quality: the sample already placed,
 * i.e. the earlier record in input order, wins) and counted.
 *
 * Gaps: the window is cut into base sub-windows of base_seconds (the shortest
 * configured chunk span, usually 600 s). Inside each sub-window that has at
 * least one recorded sample, missing slots between two recorded samples are
 * linearly interpolated (rounded to nearest) and missing slots before the
 * first / after the last recorded sample hold that sample's value. A
 * sub-window with no recorded sample is filled by interpolating between the
 * last filled value of the previous non-empty sub-window and the first of the
 * next (holding at the window's ends). So a long chunk holds exactly the
 * samples of the shorter chunks it covers.
 *
 * A channel that is not int32-decodable (float/double/text encodings), whose
 * sample rate changes, or whose rate differs from the expected rate gives
 * RC_EFORMAT for that channel only; other channels are unaffected.
 */
#ifndef R2CACHE_SHAPE_H
#define R2CACHE_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/err.h"
#include "r2cache/naming.h"

typedef struct rc_traces rc_traces;

int rc_traces_new(rc_traces **out, rc_err *e);
void rc_traces_free(rc_traces *t);

/*
 * Index every record in buf (copied; buf may be freed afterwards). Records
 * of any length 128..65536 and either byte order are accepted. A buffer
 * that is not miniSEED 2 (miniSEED 3, HTML error page, truncated record)
 * gives RC_EFORMAT naming the byte offset; records read before that point
 * stay indexed. miniSEED 3 is recognised and named as such.
 */
int rc_traces_add(rc_traces *t, const void *buf, size_t len, rc_err *e);

/* Number of channels seen, and the i-th of them (order of first appearance). */
size_t rc_traces_nchan(const rc_traces *t);
const rc_chan *rc_traces_chan(const rc_traces *t, size_t i);
/* Nominal sample rate of a channel's records (0 if the channel is absent). */
double rc_traces_rate(const rc_traces *t, const rc_chan *c);
/* Earliest/latest sample time of a channel, microseconds since epoch. */
int rc_traces_extent(const rc_traces *t, const rc_chan *c, int64_t *first_us, int64_t *last_us);

typedef struct rc_window {
    rc_chan chan;
    double rate;
    int64_t start;        /* seconds, aligned */
    int64_t seconds;      /* window length */
    int64_t base_seconds; /* sub-window length used for gap filling */
    int64_t nslots;       /* round(rate * seconds) */
    int32_t *samples;     /* nslots values, gaps already filled */
    uint8_t *present;     /* nslots flags: 1 = recorded sample, 0 = filled */
    double offset_s;      /* time of slot 0 minus start, in [0, 1/rate) */
    int64_t overlap_identical;
    int64_t overlap_conflicts;
} rc_window;

typedef struct rc_window_stats {
    int32_t min, max;        /* over all slots (filled ones included) */
    int64_t samples;         /* slots in the range */
    int64_t present;         /* recorded samples in the range */
    int gap_count;           /* runs of filled slots in the range */
    double gap_duration_seconds; /* gap_samples_filled / rate */
    int64_t gap_samples_filled;  /* filled slots in the range */
    double completeness;     /* present / samples, 0..1 */
} rc_window_stats;

/* Slots in a window: llround(rate * seconds). */
int64_t rc_slots(double rate, int64_t seconds);

/*
 * Shape chan over [start, start + seconds). expected_rate 0 = take the rate
 * from the records. RC_ENODATA when no recorded sample falls in the window
 * (out untouched), RC_EFORMAT for the channel errors above. On success the
 * caller owns out and frees it with rc_window_free.
 */
int rc_shape(const rc_traces *t, const rc_chan *chan, double expected_rate, int64_t start,
             int64_t seconds, int64_t base_seconds, rc_window *out, rc_err *e);

/* Statistics of slots [first, first + n) of w. */
void rc_window_stats_range(const rc_window *w, int64_t first, int64_t n, rc_window_stats *st);

/*
 * Build a long window from base sub-window bodies that were stored earlier
 * (used when the base chunks are already in the store). parts[i] is the
 * body of sub-window i (rc_slots(rate, base_seconds) values) or NULL when
 * that sub-window has no chunk; slots of given parts are flagged present.
 * Empty sub-windows are filled by the rule above and flagged 0.
 * RC_ENODATA when every part is NULL.
 */
int rc_window_compose(const rc_chan *chan, double rate, int64_t start, int64_t seconds,
                      int64_t base_seconds, const int32_t *const *parts, rc_window *out,
                      rc_err *e);

void rc_window_free(rc_window *w);

#endif
