/*
 * cmd_gaps.c: `r2cache gaps`, where the holes are: options in, the report
 * of gaps.c out (a table, or --json).
 *
 * Exit 1 when a critical gap exists, so a cron job or a monitor can alert
 * on the status alone.
 */
#include "r2cache/cli.h"
#include "r2cache/gaps.h"
#include "r2cache/metrics.h"
#include "r2cache/timewin.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gaps_args {
    const char *minor, *critical;
    int include_empty;
    int compare_source;
    rc_gaps_opts go;
} gaps_args;

static const rc_cli_opt gaps_opts[] = {
    RC_OPT_STRING("minor-hours", "H", gaps_args, minor, "gaps up to H hours are minor (default 2)"),
    RC_OPT_STRING("critical-hours", "H", gaps_args, critical,
                  "gaps longer than H hours are critical (default 12); between the two they "
                  "are moderate"),
    RC_OPT_FLAG("include-source-empty", gaps_args, include_empty,
                "count gaps the source confirmed empty (never recorded there) in the severity "
                "counts and the exit status too; by default only missing gaps count"),
    RC_OPT_FLAG("compare-source", gaps_args, compare_source,
                "ask the source's availability service (fdsnws-availability) what it holds of "
                "each missing gap: source_listed_seconds per gap"),
    RC_OPT_END};

static int parse_hours(const char *opt, const char *val, double *out)
{
    double h;
    if (rc_hours_parse(val, &h) != 0) {
        fprintf(stderr, "r2cache gaps: --%s %s: give a number of hours (for example 2 or 0.5)\n",
                opt, val);
        return -1;
    }
    *out = h;
    return 0;
}

/* Before the configuration: --from and the thresholds. */
static rc_exit check(rc_cli *cli)
{
    gaps_args *a = cli->args;
    if (!cli->from_s) {
        fprintf(stderr, "r2cache gaps: --from is required (ISO 8601 UTC or an age such as 7d)\n");
        return RC_EXIT_USAGE;
    }
    rc_gaps_opts *go = &a->go;
    rc_gaps_opts_default(go);
    go->include_source_empty = a->include_empty;
    if (!a->compare_source) cli->needs &= ~(unsigned)RC_NEED_SOURCE; /* reads the store only */
    if ((a->minor && parse_hours("minor-hours", a->minor, &go->minor_hours)) ||
        (a->critical && parse_hours("critical-hours", a->critical, &go->critical_hours)))
        return RC_EXIT_USAGE;
    if (go->critical_hours < go->minor_hours) {
        fprintf(stderr, "r2cache gaps: --critical-hours (%g) is below --minor-hours (%g)\n",
                go->critical_hours, go->minor_hours);
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

/* After the configuration and the targets. */
static rc_exit prepare(rc_cli *cli)
{
    gaps_args *a = cli->args;
    a->go.from = cli->from;
    a->go.to = cli->to;
    a->go.now = cli->now;
    rc_err e;
    rc_err_clear(&e);
    if (rc_gaps_check(&a->go, cli->ntargets, &e) != RC_OK) {
        fprintf(stderr, "r2cache gaps: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    if (a->compare_source && !cli->cfg.source_url && !cli->source_url) {
        fprintf(stderr, "r2cache gaps: --compare-source needs a source: give \"source\" in the "
                        "configuration or --source URL\n");
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

const rc_cmd_spec rc_cmd_gaps_spec = {
    "r2cache gaps --config FILE scope --from TIME --to TIME "
    "[--minor-hours H --critical-hours H] [--include-source-empty] [--json] "
    "[--metrics-file FILE]",
    "Report the holes in the cache: every expected window of every configured span\n"
    "(10-minute, 6-hour ...) that the store lacks, judged on the manifests and the\n"
    "listing, grouped into gaps per channel and span and classified minor (<= 2 h),\n"
    "moderate (<= 12 h) or critical (> 12 h). Also lists provisional chunks (for\n"
    "`r2cache fill --upgrade`) and blobs whose manifest entry is lost (unindexed).\n"
    "Each gap is `missing` (not cached: never asked, or asked and failed) or\n"
    "`source-empty` (the data centre was asked and has no data there: when it was\n"
    "last asked and when it is asked again are shown). Only missing gaps count for\n"
    "the severity totals and the exit status unless --include-source-empty.\n"
    "Windows ending after --to or after now are not expected yet.\n"
    "Reads only; writes nothing (but --metrics-file: per-channel gap counts and\n"
    "seconds by span, severity and kind, as Prometheus text).\n\n"
    "exit status of gaps: 0 no critical missing gap, 1 critical gaps exist (or a manifest\n"
    "could not be read), 2 usage or configuration error, 3 store unusable",
    gaps_opts,
    sizeof(gaps_args),
    NULL,
    check,
    prepare,
    NULL};

rc_exit rc_cmd_gaps(rc_cli *cli)
{
    gaps_args *a = cli->args;
    rc_gaps_opts go = a->go;
    go.log = &cli->log;
    go.stop = cli->stop;
    rc_err e;
    rc_err_clear(&e);
    rc_gaps_report r;
    rc_status rc = rc_gaps_find(&go, &cli->cfg, cli->targets, cli->ntargets, cli->store, &r, &e);
    if (rc == RC_OK && a->compare_source) {
        if ((rc = rc_gaps_compare_source(&r, cli->source, &e)) != RC_OK)
            rc_err_wrap(&e, "--compare-source");
    }
    rc_exit status = RC_EXIT_OK;
    if (rc != RC_OK) {
        rc_log_error(&cli->log, "error", "%s", e.msg);
        status = rc_exit_for(rc);
        if (status == RC_EXIT_USAGE) /* nothing here is a usage error any more */
            status = RC_EXIT_PARTIAL;
    } else {
        if (rc_gaps_alarm(&r)) status = RC_EXIT_PARTIAL;
        if (cli->json) {
            rc_cli_print_json(cli, rc_gaps_json(&r), status ? "damaged" : "complete");
        } else {
            rc_buf text = RC_BUF_INIT;
            rc_gaps_text(&r, &text);
            fputs(text.data ? text.data : "", stdout);
            rc_buf_free(&text);
        }
    }
    if (cli->metrics_file || cli->metrics_push) {
        rc_buf lb = RC_BUF_INIT, text = RC_BUF_INIT;
        int mrc = rc_metrics_labels("gaps", cli->shard_index, cli->shard_count, &lb);
        if (!mrc && rc == RC_OK) mrc = rc_gaps_metrics(&r, lb.data, &text);
        if (mrc)
            rc_log_warn(&cli->log, "metrics", "out of memory formatting the gap metrics");
        else
            rc_cli_metrics_extra(cli, "gaps", NULL, status, -1, text.data);
        rc_buf_free(&lb);
        rc_buf_free(&text);
    }
    rc_gaps_report_free(&r);
    return status;
}
