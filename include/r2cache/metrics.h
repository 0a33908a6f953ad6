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

typedef struct rc_metrics_run {
    const char *command;          /* "run" or "fill" */
    int shard_index, shard_count; /* shard_count <= 1: not sharded, no shard label */
    int64_t finished_at;          /* Unix seconds */
    double duration_s;            /* wall time of the whole command */
    int exit_status;              /* the process exit code (0..3) */
    int64_t stations;             /* channels selected */
    int64_t stations_failed;      /* < 0: unknown to the command, series omitted */
    const rc_engine_stats *stats; /* NULL: all counts zero */
} rc_metrics_run;

/* Append the text exposition of m to out (# HELP, # TYPE, one sample per family). */
int rc_metrics_format(const rc_metrics_run *m, rc_buf *out, rc_err *e);

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
