/*
 * window.h: one window of int32 slots on a chunk's grid, [start, start +
 * seconds) at `rate`, cut into base sub-windows of base_seconds: its slots,
 * which of them were recorded, the per-sub-window clock offsets and flags,
 * the gap filling of shape.h's rule, statistics over any range of slots,
 * and composition (a long window built from stored base chunks).
 * rc_shape (shape.h) fills a window from miniSEED records.
 */
#ifndef R2CACHE_WINDOW_H
#define R2CACHE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/err.h"
#include "r2cache/naming.h"

typedef struct rc_window {
    rc_chan chan;
    double rate;
    int64_t start;        /* seconds, aligned */
    int64_t seconds;      /* window length */
    int64_t base_seconds; /* sub-window length used for gap filling */
    int64_t nslots;       /* round(rate * seconds) */
    int32_t *samples;     /* nslots values, gaps already filled */
    uint8_t *present;     /* nslots flags: 1 = recorded sample, 0 = filled; NULL in a
                             composed window, whose recorded samples are sub_have */
    double offset_s;      /* offset of the first sub-window with a recorded sample */
    int64_t nsub;         /* base sub-windows */
    double *sub_offset;   /* per sub-window: its offset_b (0 when it holds no sample) */
    uint8_t *sub_flags;   /* per sub-window: RC_SUB_DATA, RC_SUB_DAMAGED */
    int64_t *sub_have;    /* composed windows: per sub-window, the recorded slots at its
                             start (its part's length), the rest filled; else NULL */
    int64_t overlap_identical;
    int64_t overlap_conflicts;
    int64_t unplaced;           /* recorded samples between two sub-window grids (phase step) */
    char damage[320];           /* first damaged record, "" if none */
    int64_t cap_slots, cap_sub; /* allocated (rc_window_compose_reuse) */
} rc_window;

enum {
    RC_SUB_DATA = 1,   /* at least one recorded sample */
    RC_SUB_DAMAGED = 2 /* a record touching it could not be decoded */
};

typedef struct rc_window_stats {
    int32_t min, max;            /* over all slots (filled ones included) */
    int64_t samples;             /* slots in the range */
    int64_t present;             /* recorded samples in the range */
    int gap_count;               /* runs of filled slots in the range */
    double gap_duration_seconds; /* gap_samples_filled / rate */
    int64_t gap_samples_filled;  /* filled slots in the range */
    double completeness;         /* present / samples, 0..1 */
} rc_window_stats;

/* Slots in a window: llround(rate * seconds). */
int64_t rc_slots(double rate, int64_t seconds);

/*
 * The steps rc_shape and composition share. alloc: a window of
 * rc_slots(rate, seconds) slots in sub-windows of base_seconds (the whole
 * window when base_seconds is 0 or not shorter), every slot missing, with
 * per-slot present flags (composed = 0: rc_shape) or per-sub-window recorded
 * counts (composed = 1: a composed window's parts are whole). sub_lo: the
 * first slot of sub-window b (nslots for b = nsub). fill: fills every gap by
 * shape.h's rule and sets RC_SUB_DATA on the sub-windows holding a recorded
 * sample; 0 when no slot was recorded at all.
 */
int rc_window_alloc(rc_window *w, const rc_chan *chan, double rate, int64_t start, int64_t seconds,
                    int64_t base_seconds, int composed, rc_err *e);
int64_t rc_window_sub_lo(const rc_window *w, int64_t b);
int rc_window_fill(rc_window *w);

/* Statistics of slots [first, first + n) of w. */
void rc_window_stats_range(const rc_window *w, int64_t first, int64_t n, rc_window_stats *st);

/*
 * Build a long window from base sub-window bodies that were stored earlier
 * (used when the base chunks are already in the store). parts[i] is the
 * body of sub-window i (rc_slots(rate, base_seconds) values) or NULL when
 * that sub-window has no chunk, part_offsets[i] (may be NULL: all 0) its
 * stored offset; slots of given parts count as recorded (sub_have, not
 * per-slot flags: a part is whole, so a composed window needs no nslots
 * bytes of flags, and rc_window_stats_range reads sub_have). Empty
 * sub-windows are filled by the rule above and flagged 0. RC_ENODATA when
 * every part is NULL.
 */
int rc_window_compose(const rc_chan *chan, double rate, int64_t start, int64_t seconds,
                      int64_t base_seconds, const int32_t *const *parts, const double *part_offsets,
                      rc_window *out, rc_err *e);

/* rc_window_compose in steps, for parts that are decoded straight into the
 * window: begin allocates it (every slot missing); compose_slots gives the
 * *n slots of sub-window b, where a part goes (write at most
 * rc_slots(rate, base_seconds) of them); compose_mark records that the first
 * n slots of sub-window b hold recorded samples with clock offset `offset`;
 * compose_end fills the gaps as rc_window_compose does (RC_ENODATA, the
 * window freed, when no part was marked). Same result as rc_window_compose
 * given the same parts. */
int rc_window_compose_begin(const rc_chan *chan, double rate, int64_t start, int64_t seconds,
                            int64_t base_seconds, rc_window *out, rc_err *e);
/* As begin, on a window that is zeroed or was used before (its buffers are
 * kept when large enough, so a worker composing window after window does
 * not allocate); free it with rc_window_free when done. */
int rc_window_compose_reuse(rc_window *w, const rc_chan *chan, double rate, int64_t start,
                            int64_t seconds, int64_t base_seconds, rc_err *e);
int32_t *rc_window_compose_slots(rc_window *w, int64_t b, int64_t *n);
void rc_window_compose_mark(rc_window *w, int64_t b, int64_t n, double offset);
int rc_window_compose_end(rc_window *w, rc_err *e);

void rc_window_free(rc_window *w);

#endif
