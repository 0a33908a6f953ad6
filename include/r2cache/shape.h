/*
 * shape.h: miniSEED records -> one window of int32 samples + statistics.
 *
 * rc_traces indexes the records of any number of miniSEED 2 buffers (a bulk
 * FDSN response, SDS day files) by channel, keeping the raw records and
 * decoding them only when a window asks for them, so memory stays near the
 * size of the compressed input.
 *
 * rc_shape() builds a window [start, start + seconds) out of base
 * sub-windows of base_seconds (the shortest configured chunk span, usually
 * 600 s). Each sub-window b, starting at S = start + b * base_seconds, is
 * shaped on its own grid: its slot k holds the recorded sample nearest
 *     S + offset_b + k/rate
 * where offset_b in [0, 1/rate) is the phase of the sample clock of the
 * earliest recorded sample belonging to b, relative to S (never resampled;
 * whole microseconds; a phase within T = min(50 us, 0.1 sample) of a grid
 * point counts as 0, because record stamps have 100 us resolution without
 * blockette 1001). A recorded sample at time t belongs to b when
 *     S - T <= t < S + base_seconds - T.
 * Every decision about b depends only on the records and S, so a 10-minute
 * window shaped alone (the cron job) and the same window cut from a day's
 * answer (fill) hold the same slots: same samples, same bytes. Slots per
 * sub-window = round(rate * base_seconds), per window round(rate * seconds).
 *
 * A station whose clock phase steps: the sub-windows before and after the
 * step have different offsets (a long window records them as phase steps,
 * see manifest.h). Inside one sub-window, samples after a step go to the
 * nearest slot of that sub-window's grid (an error below half a sample); a
 * sample that falls between two grids is counted in unplaced, and two that
 * land on one slot follow the overlap rule.
 *
 * Overlaps: a second sample for an occupied slot with the same value is
 * dropped (counted identical); a different value is a conflict, resolved by
 * record quality (M > Q > D > R; same quality: the sample already placed,
 * i.e. the earlier record in input order, wins) and counted.
 *
 * Damage: a record that is delimited but cannot be decoded (damaged header
 * or compressed frames) marks the sub-windows its time span touches as
 * damaged (sub_flags, damage message); the other sub-windows are shaped as
 * usual. The caller must not store a window that holds a damaged sub-window.
 *
 * Gaps: inside each sub-window that has at
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
#include "r2cache/window.h"

typedef struct rc_traces rc_traces;

int rc_traces_new(rc_traces **out, rc_err *e);
void rc_traces_free(rc_traces *t);

/*
 * Index every record in buf (copied; buf may be freed afterwards). Records
 * of any length 128..65536 and either byte order are accepted. A buffer
 * that is not miniSEED 2 (miniSEED 3, HTML error page, truncated record)
 * gives RC_EFORMAT naming the byte offset; records read before that point
 * stay indexed. miniSEED 3 is recognised and named as such. A record that
 * is delimited but unusable (its header claims more samples than it holds,
 * an absurd rate) is not an error here: it is indexed as damaged, and
 * rc_shape fails only the sub-windows it touches.
 */
int rc_traces_add(rc_traces *t, const void *buf, size_t len, rc_err *e);

/* Number of channels seen, and the i-th of them (order of first appearance). */
size_t rc_traces_nchan(const rc_traces *t);
const rc_chan *rc_traces_chan(const rc_traces *t, size_t i);
/* Nominal sample rate of a channel's records (0 if the channel is absent). */
double rc_traces_rate(const rc_traces *t, const rc_chan *c);
/* Earliest/latest sample time of a channel, microseconds since epoch. */
int rc_traces_extent(const rc_traces *t, const rc_chan *c, int64_t *first_us, int64_t *last_us);

/*
 * Shape chan over [start, start + seconds). expected_rate 0 = take the rate
 * from the records. RC_ENODATA when no recorded sample falls in the window
 * and no damaged record touches it (out untouched), RC_EFORMAT for the
 * channel errors above. On success (possibly with damaged sub-windows and
 * no sample at all) the caller owns out and frees it with rc_window_free.
 */
int rc_shape(const rc_traces *t, const rc_chan *chan, double expected_rate, int64_t start,
             int64_t seconds, int64_t base_seconds, rc_window *out, rc_err *e);

#endif
