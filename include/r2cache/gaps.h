/*
 * gaps.h: where the holes in the cache are, shared by `r2cache gaps` and
 * the server's gap API.
 *
 * Every configured span of every selected channel has one expected window
 * per span length in the range; the engine's read-only plan says for each
 * whether the store holds it, judged on the manifests AND the listing, so a
 * blob whose manifest entry was lost counts as present (and is listed as
 * unindexed) and an entry whose blob is gone counts as missing. Consecutive
 * missing windows of one channel and span form a gap, classified by length
 * (minor <= minor_hours, moderate <= critical_hours, critical beyond).
 * Provisional chunks are listed too: they are the work of `fill --upgrade`.
 */
#ifndef R2CACHE_GAPS_H
#define R2CACHE_GAPS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "r2cache/buf.h"
#include "r2cache/config.h"
#include "r2cache/err.h"
#include "r2cache/log.h"
#include "r2cache/store.h"

typedef enum rc_gap_severity {
    RC_GAP_MINOR = 0,
    RC_GAP_MODERATE = 1,
    RC_GAP_CRITICAL = 2
} rc_gap_severity;

#define RC_GAP_SEVERITIES 3

/* "minor", "moderate", "critical". */
const char *rc_gap_severity_name(rc_gap_severity s);

/* The class of a gap of this many seconds. */
rc_gap_severity rc_gaps_classify(int64_t seconds, double minor_hours, double critical_hours);

/* What a gap is: not cached (never asked, or asked and failed), or asked
 * and confirmed empty at the source (the manifest's source_empty record). */
typedef enum rc_gap_kind { RC_GAP_MISSING = 0, RC_GAP_SOURCE_EMPTY = 1 } rc_gap_kind;

/* "missing", "source-empty". */
const char *rc_gap_kind_name(rc_gap_kind k);

typedef struct rc_gap {
    size_t target; /* index into the targets searched */
    rc_span span;
    rc_gap_kind kind;
    int64_t start, end; /* [start, end) */
    int64_t windows;
    int64_t entry_only; /* of which the manifest named a blob that is gone */
    /* source-empty: latest check, fewest checks, earliest recheck
     * (INT64_MAX: none left, only --recheck), any window due at `now` */
    int64_t last_checked, next_check;
    int checks;
    int due;
    /* --compare-source: seconds of the gap the source's availability service
     * lists (-1: not compared) */
    int64_t source_listed_s;
} rc_gap;

/* A provisional or an unindexed chunk. */
typedef struct rc_gap_note {
    size_t target;
    rc_span span;
    int64_t start;
    double completeness;
    char written_at[32];
} rc_gap_note;

typedef struct rc_gaps_opts {
    double minor_hours;          /* default 2 */
    double critical_hours;       /* default 12 */
    int64_t from, to;            /* the range asked for */
    int64_t now;                 /* windows not ended plus the delay are not expected yet */
    int include_source_empty;    /* severity counts and the alarm count source-empty gaps too */
    const rc_log *log;           /* must not be NULL */
    volatile sig_atomic_t *stop; /* set to 1 to stop between batches; may be NULL */
} rc_gaps_opts;

typedef struct rc_gaps_report {
    int64_t from, to; /* the range searched: rounded to the base span, ending at now at most */
    double minor_hours, critical_hours;
    const rc_target *targets; /* borrowed from the caller */
    size_t ntargets;
    rc_gap *gaps; /* sorted by target, span, start */
    size_t ngaps;
    rc_gap_note *prov; /* provisional chunks, same order */
    size_t nprov;
    rc_gap_note *unidx; /* blobs without manifest entry, same order */
    size_t nunidx;
    int64_t expected, present, missing, unindexed, unreadable; /* windows */
    int64_t source_empty;                    /* windows confirmed empty at the source */
    int include_source_empty;                /* as asked: counts include source-empty gaps */
    int64_t counts[RC_GAP_SEVERITIES];       /* gaps per class: missing ones (and source-empty
                                                ones with include_source_empty) */
    int64_t empty_counts[RC_GAP_SEVERITIES]; /* source-empty gaps per class */
    size_t nempty_gaps;                      /* of gaps[], source-empty ones */
    int compared;                            /* rc_gaps_compare_source ran */
    unsigned span_mask;                      /* bit s: windows of span s were expected */
    /* private */
    size_t capgaps, capprov, capunidx;
    rc_gap *open;
} rc_gaps_report;

void rc_gaps_opts_default(rc_gaps_opts *o);

/* critical_hours not below minor_hours, to after from, at least one target;
 * RC_EINVAL with the reason otherwise. */
rc_status rc_gaps_check(const rc_gaps_opts *o, size_t ntargets, rc_err *e);

/* Search the store. Reads only. On success out holds the sorted, classified
 * report; release it with rc_gaps_report_free in any case. */
rc_status rc_gaps_find(const rc_gaps_opts *o, const rc_config *cfg, const rc_target *targets,
                       size_t ntargets, rc_store *store, rc_gaps_report *out, rc_err *e);

void rc_gaps_report_free(rc_gaps_report *r);

/* 1 when a critical gap counts (missing ones; source-empty ones only with
 * include_source_empty) or a manifest could not be read (`gaps` exits 1
 * then, so a monitor can alert on the status alone). */
int rc_gaps_alarm(const rc_gaps_report *r);

/* One sentence saying what to do about the report (the gap API's
 * "recommendation"). */
const char *rc_gaps_recommendation(const rc_gaps_report *r);

/* Ask the source's availability service (fdsnws-availability) what it holds
 * of every missing gap and set their source_listed_s: a missing gap the
 * source lists nothing of is not at the source (fetching it would get no
 * data); one it lists is worth a fill. RC_EUNUSABLE when the service is
 * absent there, other errors as source_avail.h says. */
struct rc_source;
rc_status rc_gaps_compare_source(rc_gaps_report *r, struct rc_source *src, rc_err *e);

/* What `r2cache gaps --json` prints. NULL when out of memory. */
cJSON *rc_gaps_json(const rc_gaps_report *r);

/* What `r2cache gaps` prints. */
rc_status rc_gaps_text(const rc_gaps_report *r, rc_buf *out);

/*
 * What `gaps --metrics-file` adds to the status families: per channel, span
 * and severity, r2cache_channel_gaps (how many) and
 * r2cache_channel_gap_seconds (how long in all), zeros included so an alert
 * sees every series; labels are the command's (rc_metrics_labels).
 */
rc_status rc_gaps_metrics(const rc_gaps_report *r, const char *labels, rc_buf *out);

/* How current one channel's cache is, from a report over the last days. */
typedef struct rc_gaps_health {
    int64_t newest;      /* end of the newest cached base window; 0: none in the range */
    double completeness; /* base windows cached of the last day's, 0..1 */
} rc_gaps_health;

/* Days searched back for the newest cached window (as the server's metric). */
#define RC_GAPS_HEALTH_DAYS 7

/*
 * Per target of r: the newest cached base window and the completeness of the
 * last day, the 24 h that end with the newest window due at now (ended at
 * least delay_s before it: the windows run is responsible for). out has
 * r->ntargets entries.
 */
void rc_gaps_health_of(const rc_gaps_report *r, rc_span base, int64_t now, int64_t delay_s,
                       rc_gaps_health *out);

/*
 * The per-channel families r2cache_channel_freshness_seconds and
 * r2cache_channel_completeness_ratio (rc_metrics_channels) of targets at
 * now, from a read-only search of the last RC_GAPS_HEALTH_DAYS days (what
 * `run` and `inventory` add to --metrics-file). Appended to out.
 */
rc_status rc_gaps_health_metrics(const rc_config *cfg, const rc_target *targets, size_t n,
                                 rc_store *store, int64_t now, const rc_log *log,
                                 const char *labels, rc_buf *out, rc_err *e);

#endif
