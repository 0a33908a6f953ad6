/*
 * fill.h: the backfill as a library call, shared by `r2cache fill` and the
 * HTTP server so both plan the same windows, run the same engine and answer
 * with the same JSON.
 *
 * rc_fill_run diffs what the store holds against every window of every
 * configured span inside the range (rounded outward to the base span) and
 * fetches only what is missing (or everything with force, settled
 * provisional chunks with upgrade, or only gaps longer than max_gap_s with
 * autofill), in batches of days to keep memory flat. With dry_run it only
 * plans. Progress lives in the store, so a stopped fill resumes when run
 * again.
 */
#ifndef R2CACHE_FILL_H
#define R2CACHE_FILL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "r2cache/buf.h"
#include "r2cache/config.h"
#include "r2cache/engine.h"
#include "r2cache/err.h"
#include "r2cache/log.h"
#include "r2cache/source.h"
#include "r2cache/store.h"

/* Where a fill is, for a progress display. Counters are for the whole fill
 * so far (the batch in hand included). */
typedef struct rc_fill_progress {
    int64_t days_done, days_total;        /* batches of days finished, of all */
    int64_t batch_days;                   /* days per batch */
    size_t requests_done, requests_total; /* of the batch in hand */
    int64_t windows, added, requests, bytes_fetched, bytes_written;
    /* over the whole fill: windows of the finished batches plus the share of
     * the batch in hand its answered requests stand for; windows_total is 0
     * until known (--auto: after the first batch has selected the gaps) */
    int64_t windows_done, windows_total;
    int batch_end; /* 1: called because a batch of days has just finished */
} rc_fill_progress;

/* Called after every answered request and after every batch of days (never
 * during a dry run). Runs on the filling thread; keep it short. */
typedef void (*rc_fill_progress_fn)(void *ud, const rc_fill_progress *p);

typedef struct rc_fill_opts {
    int force;                    /* refetch and rewrite every window in the range */
    int upgrade;                  /* refetch provisional chunks older than settle_s */
    int autofill;                 /* only runs of missing windows longer than max_gap_s */
    int recheck;                  /* ask windows confirmed empty at the source again now */
    int dry_run;                  /* plan only: fetch and write nothing (source may be NULL) */
    int64_t settle_s;             /* default 3 days */
    int64_t max_gap_s;            /* default 6 hours */
    int64_t max_range_s;          /* rc_fill_check refuses longer ranges (default 366 days) */
    int64_t batch_days;           /* days worked on at once; 0 = enough for the connection limit */
    int64_t from, to;             /* the range asked for, [from, to) */
    int64_t now;                  /* the current time (windows not ended plus the delay wait) */
    const rc_log *log;            /* start line and the engine's messages; must not be NULL */
    volatile sig_atomic_t *stop;  /* set to 1 to stop after the chunk in hand; may be NULL */
    rc_fill_progress_fn progress; /* may be NULL */
    void *progress_ud;
} rc_fill_opts;

/* What a fill did (or, dry run, plans to do). */
typedef struct rc_fill_result {
    int dry_run;
    int64_t from, to;      /* the range rounded outward to the base span */
    int64_t days;          /* UTC days it touches */
    rc_engine_stats stats; /* added up over every batch; seconds = wall time */
    /* dry run: the plan added up over every batch */
    int64_t plan_windows, plan_missing, plan_present, plan_reindex;
    size_t plan_requests, plan_nlines;
    double plan_estimated_bytes;
    rc_plan_line *lines;      /* plan_nlines request lines (target indexes into targets) */
    const rc_target *targets; /* borrowed from the caller: names the lines */
    rc_status status; /* how it ended: RC_OK, RC_EINTR (stopped), RC_EAUTH/RC_EUNUSABLE... */
} rc_fill_result;

/* Defaults: settle 3 days, max gap 6 hours, max range 366 days. */
void rc_fill_opts_default(rc_fill_opts *o);

/* The checks a fill request must pass before anything is opened: one of
 * force/upgrade/autofill at most, to after from, the range within
 * max_range_s, at least one target. RC_EINVAL with the reason otherwise. */
rc_status rc_fill_check(const rc_fill_opts *o, size_t ntargets, rc_err *e);

/*
 * Run (or plan) the fill over targets. The return value is also in
 * out->status; per-window failures are in out->stats.failed. out is filled
 * even on failure (what was done until then) and must be released with
 * rc_fill_result_free.
 */
rc_status rc_fill_run(const rc_fill_opts *o, const rc_config *cfg, const rc_target *targets,
                      size_t ntargets, rc_store *store, rc_source *source, rc_fill_result *out,
                      rc_err *e);

void rc_fill_result_free(rc_fill_result *r);

/* "complete", "partial" or "failed" (the store or source could not be used). */
const char *rc_fill_outcome(const rc_fill_result *r);

/* The JSON `r2cache fill --json` prints (schemas/fill.schema.json): the same
 * fields for a fill and its dry run (with the counts the fill would produce),
 * plus the plan (missing, present, reindex, lines, estimated_bytes,
 * lines_detail) for a dry run. NULL when out of memory. */
cJSON *rc_fill_result_json(const rc_fill_result *r);

/* The plan of a dry run as text: a summary line, then one "  fetch" line per
 * request line. */
rc_status rc_fill_plan_text(const rc_fill_result *r, rc_buf *out);

/* Log the summary of a fill that ran (and the not-due note) at info level. */
void rc_fill_log_summary(const rc_log *log, const rc_fill_result *r, const rc_config *cfg);

#endif
