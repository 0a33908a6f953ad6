/*
 * engine.h: plan and execute the caching of windows.
 *
 * The commands (run, fill) tell the engine which windows they are
 * responsible for; the engine works out which are missing (manifest entry
 * absent; a blob without an entry is re-indexed from its metadata instead of
 * refetched), coalesces the missing base windows of each channel into spans
 * of up to a day, packs the spans of many channels into bulk requests, and
 * for every answer shapes, compresses and stores the chunks of every
 * configured span, then updates each channel-day manifest once per batch,
 * always after the blobs it names are stored. Long chunks whose base windows
 * were not all fetched in one span are composed from the stored base chunks.
 *
 * The implementation is split by stage (src/engine.c the driver,
 * engine_plan.c, engine_fetch.c, engine_compose.c), sharing the private
 * src/engine_int.h; nothing here depends on that split.
 */
#ifndef R2CACHE_ENGINE_H
#define R2CACHE_ENGINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "r2cache/config.h"
#include "r2cache/log.h"
#include "r2cache/source.h"
#include "r2cache/store.h"

typedef struct rc_engine_opts {
    const rc_config *cfg;
    rc_store *store;
    rc_source *source; /* may be NULL when dry_run */
    const rc_log *log;
    volatile sig_atomic_t *stop; /* set by SIGTERM/SIGINT; may be NULL */
    int64_t now;
    int force;   /* refetch and rewrite every window in range */
    int upgrade; /* refetch provisional chunks older than upgrade_settle_s */
    int64_t upgrade_settle_s;
    int recheck; /* ask windows confirmed empty at the source again, due or not */
    int dry_run;
    /* ask the source's fdsnws-availability first and fetch only the windows
     * it lists ("source_availability"; engine_avail.c) */
    int availability;
    int64_t max_request_seconds; /* longest span of one request line (default 86400) */
    size_t max_request_bytes;    /* estimated miniSEED bytes per request (default 4 MiB) */
} rc_engine_opts;

typedef struct rc_engine_stats {
    int64_t windows;       /* windows considered */
    int64_t requested;     /* windows that had to be fetched or composed */
    int64_t added;         /* chunks written */
    int64_t present;       /* skipped: already cached */
    int64_t reindexed;     /* blob present, manifest entry restored from its metadata */
    int64_t nodata;        /* source had no sample in the window */
    int64_t source_empty;  /* skipped: confirmed empty at the source, recheck not due */
    int64_t failed;        /* windows that failed (after retries) */
    int64_t held;          /* incomplete, held back for a retry */
    int64_t provisional;   /* written below the completeness threshold */
    int64_t kept;          /* --upgrade/--force candidates kept: the refetch was less
                              complete than the stored chunk (or, upgrading, the same) */
    int64_t not_due;       /* declared windows that have not ended plus the delay */
    int64_t requests;      /* HTTP (or SDS) requests */
    int64_t bytes_fetched; /* miniSEED bytes received */
    int64_t bytes_written; /* chunk bytes stored */
    int64_t samples;       /* samples in written chunks */
    int64_t gap_samples;   /* of which filled */
    int64_t manifests;     /* manifest writes */
    double seconds;
} rc_engine_stats;

typedef struct rc_engine rc_engine;

int rc_engine_new(const rc_engine_opts *o, const rc_target *targets, size_t ntargets,
                  rc_engine **out, rc_err *e);
void rc_engine_free(rc_engine *en);

/* Declare a window the caller is responsible for (duplicates ignored). A
 * window whose end plus the configured delay lies after opts.now is never
 * fetched or written by this engine (counted as not_due): final means
 * final, so an unfinished window is left for a later run. */
int rc_engine_add(rc_engine *en, size_t target, rc_span span, int64_t start, rc_err *e);
/* rc_engine_add for every window of every configured span (opts.cfg) that
 * starts in [from, to), for every target. */
int rc_engine_add_range(rc_engine *en, int64_t from, int64_t to, rc_err *e);

/*
 * One pass. final = 0: chunks below the completeness threshold and failed
 * windows are held for another pass; final = 1: incomplete chunks are
 * written provisional and failures are final. Returns RC_OK, RC_EINTR when
 * stopped, or RC_EUNUSABLE/RC_EAUTH when the store or source cannot be used
 * at all. Per-window failures are in the stats and per-target results.
 */
int rc_engine_pass(rc_engine *en, int final, rc_err *e);

/* Windows still waiting for another pass (held or failed, not final). */
size_t rc_engine_pending(const rc_engine *en);

/* Plan without fetching: writes the plan as text or JSON to out. */
int rc_engine_plan(rc_engine *en, int json, rc_buf *out, rc_err *e);

/* The same plan as figures, for callers that add up several engines (fill
 * works through a long range in batches of days and prints one plan). */
typedef struct rc_plan_line {
    size_t target;
    int64_t start, end; /* one line of a bulk request: [start, end) */
} rc_plan_line;

typedef struct rc_plan_info {
    int64_t windows;           /* declared */
    int64_t missing;           /* declared and to be fetched (missing, forced, upgrade) */
    int64_t present;           /* declared and already cached */
    int64_t reindex;           /* blob without entry: entry rebuilt, nothing fetched */
    size_t requests;           /* bulk requests */
    size_t nlines;             /* request lines (channel x span of time) */
    double estimated_bytes;    /* miniSEED to fetch, from rate x time x 1.5 bytes */
    const rc_plan_line *lines; /* owned by the engine, valid until it is freed */
} rc_plan_info;

int rc_engine_plan_info(rc_engine *en, rc_plan_info *out, rc_err *e);

const rc_engine_stats *rc_engine_stats_get(const rc_engine *en);

/* What the plan found for one declared window (gaps, fill --auto). */
typedef enum rc_window_state {
    RC_WIN_MISSING = 0,     /* no entry and no blob */
    RC_WIN_PRESENT = 1,     /* manifest entry (and presumably its blob) */
    RC_WIN_BLOB_ONLY = 2,   /* blob without manifest entry */
    RC_WIN_OTHER = 3,       /* after a pass: written, no data, failed; or unreadable manifest */
    RC_WIN_ENTRY_ONLY = 4,  /* manifest entry whose blob is gone (fill refetches it) */
    RC_WIN_NOT_DUE = 5,     /* has not ended plus the delay at `now`: not missing yet */
    RC_WIN_SOURCE_EMPTY = 6 /* no chunk; the source was asked and had no sample
                               (rc_window_info.empty_* say when) */
} rc_window_state;

typedef struct rc_window_info {
    size_t target;
    rc_span span;
    int64_t start;
    rc_window_state state;
    int provisional;     /* of the present entry */
    double completeness; /* of the present entry */
    char written_at[32];
    int listed; /* the blob appeared in the listing */
    /* RC_WIN_SOURCE_EMPTY: when the source was last asked (the latest of the
     * window's base windows), how often (the fewest), and when it is asked
     * again (INT64_MAX: only with --recheck or --force); due = next <= now */
    int64_t empty_last_checked, empty_next_check;
    int empty_checks;
    int empty_due;
} rc_window_info;

/* Run the plan if not done yet (reads only) and list every declared window
 * in (target, span, start) order. *out is malloc'd. */
int rc_engine_windows(rc_engine *en, rc_window_info **out, size_t *n, rc_err *e);

/* Called after every answered request and at the end of a pass (may be NULL). */
typedef void (*rc_engine_progress_cb)(void *ud, const rc_engine_stats *s, size_t done_requests,
                                      size_t total_requests);
void rc_engine_set_progress(rc_engine *en, rc_engine_progress_cb cb, void *ud);

typedef struct rc_target_result {
    int64_t added, present, nodata, failed, held, provisional, reindexed, kept;
    int64_t source_empty; /* declared windows confirmed empty at the source, not due */
    int64_t not_due;      /* declared windows not due yet */
    int64_t pending;      /* declared windows not attempted (stopped by a signal) */
    int64_t samples, gap_samples, bytes;
    char error[512]; /* last error for this channel, "" if none */
} rc_target_result;

const rc_target_result *rc_engine_target_result(const rc_engine *en, size_t target);

#endif
