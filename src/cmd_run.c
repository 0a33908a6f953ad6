/*
 * cmd_run.c: `r2cache run`, the cron job.
 *
 * At time T it is responsible for every window of every configured span
 * whose end lies in (T - delay - lookback, T - delay]: a run at 22:12 caches
 * 22:00-22:10, catches up whatever earlier runs missed within the lookback,
 * and the first run after 00/06/12/18 h builds the 6-hour chunk just ended.
 * Stations are independent. Windows that fail, or come back below the
 * completeness threshold, are retried every retry_interval for at most
 * retry_max; what is still incomplete then is written provisional (a later
 * `fill --upgrade` replaces it).
 */
#include "r2cache/cli.h"
#include "r2cache/engine.h"
#include "r2cache/gaps.h"
#include "r2cache/metrics.h"
#include "r2cache/retry.h"
#include "r2cache/timewin.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct run_args {
    const char *lookback, *delay, *retry_interval, *retry_max;
} run_args;

static const rc_cli_opt run_opts[] = {
    RC_OPT_STRING("lookback", "DURATION", run_args, lookback,
                  "how far back to look for missing windows (default 1h)"),
    RC_OPT_STRING("delay", "DURATION", run_args, delay,
                  "wait this long after a window ends before fetching it (default 2m)"),
    RC_OPT_STRING("retry-interval", "DURATION", run_args, retry_interval,
                  "pause between retries of incomplete stations (default 30s)"),
    RC_OPT_STRING("retry-max", "DURATION", run_args, retry_max,
                  "give up retrying after this long (default 2m)"),
    RC_OPT_END};

static rc_exit duration_opt(rc_cli *cli, const char *name, const char *val, int64_t *out)
{
    rc_err e;
    if (val && rc_duration_parse(val, out, &e) != RC_OK) {
        fprintf(stderr, "r2cache run: --%s %s: %s\n", name, val, e.msg);
        (void)cli;
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

/* The per-run summary, shared by the log line and --json. */
typedef enum station_st { ST_OK, ST_NODATA, ST_FAILED, ST_STOPPED } station_st;

/* What happened to one station in this run, as its log line and JSON say. */
static station_st station_state(const rc_target_result *r)
{
    if (r->failed || r->held) return ST_FAILED;
    if (r->pending) return ST_STOPPED;
    if (r->nodata && !r->added && !r->present && !r->reindexed && !r->kept) return ST_NODATA;
    return ST_OK;
}

static const char *station_word(station_st s)
{
    return s == ST_FAILED    ? "failed"
           : s == ST_STOPPED ? "interrupted"
           : s == ST_NODATA  ? "no-data"
                             : "complete";
}

static cJSON *summary_json(const rc_cli *cli, const rc_engine *en, size_t ok, size_t nodata,
                           size_t failed)
{
    const rc_engine_stats *s = rc_engine_stats_get(en);
    cJSON *o = cJSON_CreateObject();
    char now[RC_TIME_STR_MAX];
    rc_time_iso(cli->now, now);
    cJSON_AddStringToObject(o, "now", now);
    cJSON_AddStringToObject(o, "store", rc_store_describe(cli->store));
    cJSON_AddNumberToObject(o, "stations_total", (double)cli->ntargets);
    cJSON_AddNumberToObject(o, "stations_ok", (double)ok);
    cJSON_AddNumberToObject(o, "stations_no_data", (double)nodata);
    cJSON_AddNumberToObject(o, "stations_failed", (double)failed);
    cJSON_AddNumberToObject(o, "windows", (double)s->windows);
    cJSON_AddNumberToObject(o, "chunks_written", (double)s->added);
    cJSON_AddNumberToObject(o, "chunks_present", (double)s->present);
    cJSON_AddNumberToObject(o, "chunks_reindexed", (double)s->reindexed);
    cJSON_AddNumberToObject(o, "chunks_provisional", (double)s->provisional);
    cJSON_AddNumberToObject(o, "windows_no_data", (double)s->nodata);
    cJSON_AddNumberToObject(o, "windows_source_empty", (double)s->source_empty);
    cJSON_AddNumberToObject(o, "windows_failed", (double)s->failed + (double)s->held);
    cJSON_AddNumberToObject(o, "samples", (double)s->samples);
    cJSON_AddNumberToObject(o, "gap_samples_filled", (double)s->gap_samples);
    cJSON_AddNumberToObject(o, "bytes_written", (double)s->bytes_written);
    cJSON_AddNumberToObject(o, "bytes_fetched", (double)s->bytes_fetched);
    cJSON_AddNumberToObject(o, "requests", (double)s->requests);
    cJSON_AddNumberToObject(o, "manifests_written", (double)s->manifests);
    cJSON_AddNumberToObject(o, "seconds", s->seconds);
    cJSON *st = cJSON_AddArrayToObject(o, "stations");
    for (size_t i = 0; i < cli->ntargets; i++) {
        const rc_target_result *r = rc_engine_target_result(en, i);
        char id[RC_CHAN_STR_MAX];
        rc_chan_format(&cli->targets[i].st->chan, id);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "channel", id);
        cJSON_AddStringToObject(x, "volcano", cli->targets[i].volc->name);
        cJSON_AddStringToObject(x, "status", station_word(station_state(r)));
        cJSON_AddNumberToObject(x, "chunks_written", (double)r->added);
        cJSON_AddNumberToObject(x, "chunks_present", (double)r->present);
        cJSON_AddNumberToObject(x, "chunks_provisional", (double)r->provisional);
        cJSON_AddNumberToObject(x, "windows_no_data", (double)r->nodata);
        cJSON_AddNumberToObject(x, "windows_failed", (double)(r->failed + r->held));
        cJSON_AddNumberToObject(x, "samples", (double)r->samples);
        cJSON_AddNumberToObject(x, "gap_samples_filled", (double)r->gap_samples);
        cJSON_AddNumberToObject(x, "bytes", (double)r->bytes);
        if (r->error[0]) cJSON_AddStringToObject(x, "error", r->error);
        cJSON_AddItemToArray(st, x);
    }
    return o;
}

/* After the configuration: the durations override it. */
static rc_exit prepare(rc_cli *cli)
{
    run_args *a = cli->args;
    rc_config *cfg = &cli->cfg;
    rc_exit code;
    if ((code = duration_opt(cli, "lookback", a->lookback, &cfg->lookback_s)) ||
        (code = duration_opt(cli, "delay", a->delay, &cfg->delay_s)) ||
        (code = duration_opt(cli, "retry-interval", a->retry_interval, &cfg->retry_interval_s)) ||
        (code = duration_opt(cli, "retry-max", a->retry_max, &cfg->retry_max_s)))
        return code;
    if (cli->ntargets == 0) {
        rc_log_warn(&cli->log, "run", "no station selected by the configuration and scope");
    }
    return RC_EXIT_OK;
}

const rc_cmd_spec rc_cmd_run_spec = {
    "r2cache run --config FILE [--now TIME] [scope] [--json]",
    "Cache every missing window of the last lookback that ended at least delay ago, for "
    "every\nselected station and every configured span (the cron job: run it at :02, :12, "
    "... ).",
    run_opts,
    sizeof(run_args),
    NULL,
    NULL,
    prepare,
    NULL};

rc_exit rc_cmd_run(rc_cli *cli)
{
    rc_config *cfg = &cli->cfg;
    rc_engine_opts eo = {0};
    eo.cfg = cfg;
    eo.store = cli->store;
    eo.source = cli->source;
    eo.log = &cli->log;
    eo.stop = cli->stop;
    eo.now = cli->now;
    rc_engine *en = NULL;
    rc_err e;
    rc_err_clear(&e);
    if (rc_engine_new(&eo, cli->targets, cli->ntargets, &en, &e) != RC_OK) {
        rc_log_error(&cli->log, "error", "%s", e.msg);
        return RC_EXIT_PARTIAL;
    }
    int64_t starts[4096];
    for (size_t i = 0; i < cli->ntargets; i++) {
        for (int s = 0; s < RC_SPAN_COUNT; s++) {
            if (!cfg->spans[s]) continue;
            size_t n = rc_run_windows(cli->now, cfg->lookback_s, cfg->delay_s,
                                      rc_span_seconds((rc_span)s), starts, 4096);
            if (n > 4096) n = 4096;
            for (size_t k = 0; k < n; k++) {
                if (rc_engine_add(en, i, (rc_span)s, starts[k], &e) != RC_OK) {
                    rc_log_error(&cli->log, "error", "%s", e.msg);
                    rc_engine_free(en);
                    return RC_EXIT_PARTIAL;
                }
            }
        }
    }
    char now[RC_TIME_STR_MAX];
    rc_time_iso(cli->now, now);
    rc_log_info(&cli->log, "start", "run at %s: %zu stations, store %s, source %s", now,
                cli->ntargets, rc_store_describe(cli->store), rc_source_describe(cli->source));

    double t0 = rc_retry_monotonic_s();
    int rc = RC_OK;
    int pass = 0;
    for (;;) {
        double elapsed = rc_retry_monotonic_s() - t0;
        int final = elapsed + (double)cfg->retry_interval_s > (double)cfg->retry_max_s;
        rc = rc_engine_pass(en, final, &e);
        pass++;
        if (rc != RC_OK || final || rc_engine_pending(en) == 0) break;
        rc_log_info(&cli->log, "retry",
                    "%zu windows incomplete or failed; retrying in %llds (pass %d)",
                    rc_engine_pending(en), (long long)cfg->retry_interval_s, pass + 1);
        rc_retry_sleep((double)cfg->retry_interval_s, cli->stop);
        if (cli->stop && *cli->stop) {
            rc = RC_EINTR;
            break;
        }
    }

    /* The run's own error first (an unusable store or source), then what
     * happened to each station, then the summary. */
    size_t failed = 0;
    for (size_t i = 0; i < cli->ntargets; i++)
        failed += station_state(rc_engine_target_result(en, i)) == ST_FAILED;
    rc_exit status = rc_cli_engine_status(cli, rc, &e, failed != 0, NULL);
    size_t ok = 0, nodata = 0, stopped = 0;
    for (size_t i = 0; i < cli->ntargets; i++) {
        const rc_target_result *r = rc_engine_target_result(en, i);
        char id[RC_CHAN_STR_MAX];
        rc_chan_format(&cli->targets[i].st->chan, id);
        const char *vn = cli->targets[i].volc->name;
        /* the facts as JSON fields too (log.h), for log queries */
        static const char *const st_names[] = {"ok", "nodata", "failed", "interrupted"};
        rc_log_field f[] = {
            RC_LOG_STR("volcano", vn),
            RC_LOG_STR("channel", id),
            RC_LOG_STR("status", st_names[station_state(r)]),
            RC_LOG_NUM("chunks_written", r->added),
            RC_LOG_NUM("provisional", r->provisional),
            RC_LOG_NUM("samples", r->samples),
            RC_LOG_NUM("bytes", r->bytes),
            RC_LOG_NUM("failed", r->failed + r->held),
            RC_LOG_STR("error", r->error),
        };
        size_t nf = sizeof f / sizeof *f - (r->error[0] ? 0 : 1);
        switch (station_state(r)) {
        case ST_FAILED:
            rc_log_kv(&cli->log, RC_LOG_ERROR, "station", f, nf,
                      "[%s] %s failed: %s (%lld written, %lld failed)", vn, id,
                      r->error[0] ? r->error : "incomplete", (long long)r->added,
                      (long long)(r->failed + r->held));
            break;
        case ST_STOPPED:
            stopped++;
            rc_log_kv(&cli->log, RC_LOG_WARN, "station", f, nf,
                      "[%s] %s interrupted: %lld chunks written, %lld windows not attempted", vn,
                      id, (long long)r->added, (long long)r->pending);
            break;
        case ST_NODATA:
            nodata++;
            rc_log_kv(&cli->log, RC_LOG_WARN, "station", f, nf,
                      "[%s] %s: the source has no data for any of its %lld windows "
                      "(station down or data late?)",
                      vn, id, (long long)r->nodata);
            break;
        case ST_OK:
            ok++;
            rc_log_kv(&cli->log, RC_LOG_INFO, "station", f, nf,
                      "[%s] %s ok: %lld chunks written (%lld provisional), %lld present, "
                      "%lld without data, %lld samples, %lld gap samples filled",
                      vn, id, (long long)r->added, (long long)r->provisional, (long long)r->present,
                      (long long)r->nodata, (long long)r->samples, (long long)r->gap_samples);
            break;
        }
    }
    const rc_engine_stats *s = rc_engine_stats_get(en);
    rc_engine_stats stats = *s; /* for the metrics, after the engine is gone */
    rc_log_field sf[] = {
        RC_LOG_STR("command", "run"),
        RC_LOG_STR("status", rc_cli_status_word(status, rc == RC_EINTR)),
        RC_LOG_NUM("stations_ok", ok),
        RC_LOG_NUM("stations_nodata", nodata),
        RC_LOG_NUM("stations_failed", failed),
        RC_LOG_NUM("chunks_written", s->added),
        RC_LOG_NUM("samples", s->samples),
        RC_LOG_NUM("bytes", s->bytes_written),
        RC_LOG_NUM("requests", s->requests),
    };
    rc_log_kv(&cli->log, RC_LOG_INFO, "summary", sf, sizeof sf / sizeof *sf,
              "stations %zu ok, %zu without data, %zu failed, %zu interrupted; chunks %lld "
              "written (%lld provisional), %lld "
              "present; samples %lld, gap samples filled %lld; %lld bytes; %lld requests; "
              "%.2f s",
              ok, nodata, failed, stopped, (long long)s->added, (long long)s->provisional,
              (long long)s->present, (long long)s->samples, (long long)s->gap_samples,
              (long long)s->bytes_written, (long long)s->requests, s->seconds);
    if (cli->json)
        rc_cli_print_json(cli, summary_json(cli, en, ok, nodata, failed),
                          rc_cli_status_word(status, rc == RC_EINTR));
    rc_engine_free(en);
    /* per-channel freshness and completeness, from what the store holds now */
    rc_buf lb = RC_BUF_INIT, health = RC_BUF_INIT;
    if ((cli->metrics_file || cli->metrics_push) && status != RC_EXIT_UNUSABLE && cli->ntargets &&
        (rc_metrics_labels("run", cli->shard_index, cli->shard_count, &lb) ||
         rc_gaps_health_metrics(cfg, cli->targets, cli->ntargets, cli->store, cli->now, &cli->log,
                                lb.data, &health, &e) != RC_OK)) {
        rc_log_warn(&cli->log, "metrics", "channel freshness: %s", e.msg);
        rc_buf_reset(&health);
    }
    rc_cli_metrics_extra(cli, "run", &stats, status, (long)failed, health.data);
    rc_buf_free(&lb);
    rc_buf_free(&health);
    return status;
}
