/*
 * readback.h: read one channel's cached samples back, placed at their
 * recorded times. The one read path of `r2cache get` and the FDSN
 * dataselect service (fdsnws.c).
 *
 * Chunks of one span (normally the base span) are read window by window;
 * slot k of a chunk is at START + offset_s + k/rate, from each phase step
 * on the step's start and offset (manifest.h). Only samples whose times
 * fall in [from_us, to_us) are delivered, as runs: consecutive slots of one
 * chunk on one clock grid. A run never crosses a chunk boundary or a phase
 * step, and the filled slots the manifest locates (gap_head at a chunk's
 * start, gap_tail at its end) are delivered as runs of their own with
 * filled = 1. Filled slots inside a chunk (gap_samples_filled beyond
 * gap_head + gap_tail) cannot be located from the manifest and arrive in
 * runs with filled = 0.
 */
#ifndef R2CACHE_READBACK_H
#define R2CACHE_READBACK_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/err.h"
#include "r2cache/naming.h"
#include "r2cache/store.h"

/* A run of samples: sample i is at base_us + llround((first + i) * 1e6 / rate). */
typedef struct rc_readback_run {
    int64_t window;  /* start (seconds) of the chunk it came from */
    int64_t base_us; /* time of slot index 0 of its grid */
    int64_t first;   /* index of the run's first sample on that grid */
    double rate;
    const int32_t *s;
    size_t n;
    int filled; /* 1: slots the manifest marks as filled (gap_head/gap_tail) */
} rc_readback_run;

/* Time of sample i of a run, in microseconds. */
int64_t rc_readback_time_us(const rc_readback_run *r, size_t i);

typedef struct rc_readback_req {
    rc_store *store;
    rc_layout layout;
    rc_chan chan;
    const char *volcano;
    double rate; /* the configured rate; 0 = learn it from the stored keys */
    rc_span span;
    int64_t from_us, to_us; /* [from, to) */
    /* Called per run, in time order; a nonzero return stops the read (that
     * value is returned by rc_readback_read). */
    int (*on_run)(void *ud, const rc_readback_run *r);
    /* Called per window without a readable chunk (may be NULL). msg says why. */
    void (*on_missing)(void *ud, int64_t window, const char *msg);
    void *ud;
} rc_readback_req;

typedef struct rc_readback_stats {
    int64_t samples; /* delivered, filled ones included */
    int64_t chunks;  /* read */
    int64_t missing; /* windows without a readable chunk */
} rc_readback_stats;

/*
 * Continuous segments out of runs, as miniSEED wants them (one record
 * series each; `get --format mseed`, dataselect): a run continues the
 * segment when its first sample is the segment's next slot (within
 * RC_READBACK_CONTIG_US) at the same rate; otherwise (a missing chunk, a
 * gap, a filled head or tail left out, a phase step) a new segment starts.
 * The segment keeps its samples and each run's grid, so the exact time of
 * every sample stays known.
 */
#define RC_READBACK_CONTIG_US 2

typedef struct rc_readback_piece {
    size_t at;           /* index of the run's first sample in the segment */
    rc_readback_run run; /* its grid (s not kept) */
} rc_readback_piece;

typedef struct rc_readback_seg {
    int32_t *s;
    size_t n, cap;
    rc_readback_piece *p;
    size_t np, pcap;
    int64_t start_us, next_us; /* the first sample; the slot after the last */
    double rate;
} rc_readback_seg;

/* 1 when r continues g (g holds samples, r starts at g's next slot, same rate). */
int rc_readback_seg_continues(const rc_readback_seg *g, const rc_readback_run *r);
/* Append r's samples and grid; RC_ENOMEM (g unchanged) or RC_OK. */
int rc_readback_seg_add(rc_readback_seg *g, const rc_readback_run *r);
/* Time of sample i of segment ud (an rc_readback_seg *): the rc_mspack_time_fn shape. */
int64_t rc_readback_seg_time(void *ud, size_t i);
/* Empty g, keeping its buffers; free them. */
void rc_readback_seg_reset(rc_readback_seg *g);
void rc_readback_seg_free(rc_readback_seg *g);

/*
 * The rate of a channel's chunks when the configuration does not give it
 * (seed layout: learnt from the chunk keys of that day). RC_ENOTFOUND
 * when nothing is cached for that channel-day.
 */
int rc_readback_rate(rc_store *st, rc_layout l, const rc_chan *c, const char *volcano, int64_t day,
                     double *rate, rc_err *e);

/*
 * Read. The request's rate must be known (> 0) for the seed layout (see
 * rc_readback_rate); the viewer layout takes it from the manifest. Missing
 * chunks are not errors (on_missing). Returns RC_OK, an on_run value, or
 * RC_ENOMEM / RC_EINVAL.
 */
int rc_readback_read(const rc_readback_req *q, rc_readback_stats *stats, rc_err *e);

#endif
