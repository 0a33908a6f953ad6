/*
 * metrics.h: the summary of one run or fill as Prometheus text format
 * (exposition format 0.0.4), for node_exporter's textfile collector
 * (--metrics-file) and for a Pushgateway (--metrics-push).
 *
 * Every series carries command="run"|"fill" (and shard="I/N" when sharded),
 * so the run and fill files of one node, and the pods of a sharded job, never
 * collide. Writing and pushing report failures through rc_err; the caller
 * logs them and carries on: metrics are never a reason for a run to fail.
 */
#ifndef R2CACHE_METRICS_H
#define R2CACHE_METRICS_H

#include <stdint.h>

#include "r2cache/buf.h"
#include "r2cache/engine.h"
#include "r2cache/err.h"
#include "r2cache/naming.h"

typedef struct rc_metrics_run {
    const char *command;          /* "run" or "fill" */
    int shard_index, shard_count; /* shard_count <= 1: not sharded, no shard label */
    int64_t finished_at;          /* Unix seconds */
    double duration_s;            /* wall time of the whole command */
    int exit_status;              /* the process exit code (0..3) */
    int64_t stations;             /* channels selected */
    int64_t stations_failed;      /* < 0: unknown to the command, series omitted */
    const rc_engine_stats *stats; /* NULL: all counts zero */
    int status_only;              /* 1: only timestamp, duration, exit status and stations
                                     (gaps, inventory: commands that do not run the engine) */
    const char *extra;            /* more families appended as they are (per-channel series of
                                     rc_metrics_channels, rc_gaps_metrics), or NULL */
} rc_metrics_run;

/* Append the text exposition of m to out (# HELP, # TYPE, one sample per family). */
int rc_metrics_format(const rc_metrics_run *m, rc_buf *out, rc_err *e);

/*
 * Per-channel series. Every sample of these carries the labels given (the
 * command's, for example command="run") plus network, station, location
 * (the SEED location code) and channel, and optionally one more label.
 */
/* The labels every series of a command carries: command="C"[,shard="I/N"]. */
int rc_metrics_labels(const char *command, int shard_index, int shard_count, rc_buf *out);
/* "# HELP name help\n# TYPE name gauge\n" */
int rc_metrics_gauge_head(rc_buf *out, const char *name, const char *help);
/* name{labels,network="..",station="..",location="..",channel=".."more} value;
 * more: further labels as they are (',span="10m"'; values of our own, not
 * escaped) or NULL. The value is printed as an integer when integral, +Inf
 * as "+Inf", otherwise with %.6g. */
int rc_metrics_chan_sample(rc_buf *out, const char *name, const char *labels, const rc_chan *c,
                           const char *more, double value);

/* The gap families of `gaps --metrics-file` (rc_gaps_metrics writes their
 * samples): "r2cache_channel_gaps", or with seconds "r2cache_channel_gap_seconds";
 * the head (# HELP, # TYPE gauge) of one. */
const char *rc_metrics_gap_family(int seconds);
int rc_metrics_gap_head(rc_buf *out, int seconds);

/* What one channel's cache looks like at `now` (rc_report_health). */
typedef struct rc_metrics_chan {
    const rc_chan *chan;
    double freshness_s;  /* now minus the end of the newest cached sample; +Inf when none */
    double completeness; /* of the last day's base windows, 0..1 */
} rc_metrics_chan;

/* The families r2cache_channel_freshness_seconds and
 * r2cache_channel_completeness_ratio, one sample per channel. */
int rc_metrics_channels(const rc_metrics_chan *v, size_t n, const char *labels, rc_buf *out);

/* Replace path with text atomically: a temp file in the same directory, then
 * rename, so the textfile collector never reads half a file. */
int rc_metrics_write_file(const char *path, const char *text, size_t len, rc_err *e);

/*
 * The Pushgateway URL of a grouping: BASE/metrics/job/r2cache/instance/INSTANCE
 * /command/COMMAND (BASE without trailing slashes; characters of INSTANCE other
 * than [A-Za-z0-9._-] become '_'). Appended to out.
 */
int rc_metrics_push_url(const char *base, const char *instance, const char *command, rc_buf *out,
                        rc_err *e);

/* The instance label: $R2CACHE_METRICS_INSTANCE, else the host name. */
void rc_metrics_instance(char *out, size_t cap);

/* PUT text to the grouping URL (replacing that group's metrics); a non-2xx
 * answer or a transport error is an error naming the URL. timeout_s bounds it. */
int rc_metrics_push(const char *url, const char *text, size_t len, long timeout_s, rc_err *e);

#endif
