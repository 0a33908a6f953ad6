/*
 * cmd_fill.c: `r2cache fill`, the backfill.
 *
 * Diffs what the store holds against every window of every configured span
 * inside the range and fetches only what is missing (or everything with
 * --force, or settled provisional chunks with --upgrade, or only gaps longer
 * than --max-gap-hours with --auto). The engine coalesces each channel's
 * missing windows into spans of up to a day and packs channels into bulk
 * requests, so a station-day costs a handful of requests, not 144.
 *
 * Progress lives in the store itself (blobs, then manifest entries), so a
 * fill killed at any point and started again only does what is left; the
 * range is worked through in batches of days to keep memory flat.
 */
#include "r2cache/cli.h"
#include "r2cache/engine.h"
#include "r2cache/fill.h"
#include "r2cache/progress.h"
#include "r2cache/retry.h"
#include "r2cache/timewin.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct fill_args {
    int force, upgrade, autofill, dry_run, recheck;
    const char *settle, *max_gap, *max_range, *batch, *progress_interval;
    double progress_s;
    rc_fill_opts fo;
} fill_args;

static const rc_cli_opt fill_opts[] = {
    RC_OPT_FLAG("force", fill_args, force, "refetch and rewrite every window in the range"),
    RC_OPT_FLAG("upgrade", fill_args, upgrade,
                "refetch provisional chunks older than the settle time; replace each only "
                "when the new one is at least as complete"),
    RC_OPT_STRING("settle", "DURATION", fill_args, settle,
                  "with --upgrade: how old a provisional chunk must be (default 3d)"),
    RC_OPT_FLAG("recheck", fill_args, recheck,
                "ask the source again for windows it confirmed empty, even when no recheck "
                "is due (recheck_no_data in the configuration sets when they are due)"),
    RC_OPT_FLAG("auto", fill_args, autofill,
                "fill only gaps longer than --max-gap-hours (the 2-hourly recovery job)"),
    RC_OPT_STRING("max-gap-hours", "H", fill_args, max_gap,
                  "with --auto: the gap length that triggers a fill (default 6)"),
    RC_OPT_FLAG("dry-run", fill_args, dry_run,
                "print the plan (windows, requests, estimated bytes) and change nothing"),
    RC_OPT_STRING("max-range", "DURATION", fill_args, max_range,
                  "refuse ranges longer than this (default 366d)"),
    RC_OPT_STRING("batch-days", "N", fill_args, batch,
                  "days worked on at once (default: enough for the connection limit)"),
    RC_OPT_STRING("progress-interval", "SECONDS", fill_args, progress_interval,
                  "without a terminal: log a progress line this often (default 30; 0: none)"),
    RC_OPT_END};

/* Before the configuration: the options that need none. */
static rc_exit check(rc_cli *cli)
{
    fill_args *a = cli->args;
    if (!cli->from_s) {
        fprintf(stderr, "r2cache fill: --from is required (ISO 8601 UTC or an age such as 7d)\n");
        return RC_EXIT_USAGE;
    }
    if (a->force + a->upgrade + a->autofill > 1) {
        fprintf(stderr, "r2cache fill: --force, --upgrade and --auto exclude each other\n");
        return RC_EXIT_USAGE;
    }
    rc_err e;
    rc_err_clear(&e);
    rc_fill_opts *fo = &a->fo;
    rc_fill_opts_default(fo);
    fo->force = a->force;
    fo->upgrade = a->upgrade;
    fo->autofill = a->autofill;
    fo->recheck = a->recheck;
    fo->dry_run = a->dry_run;
    if (a->settle && rc_duration_parse(a->settle, &fo->settle_s, &e) != RC_OK) {
        fprintf(stderr, "r2cache fill: --settle %s: %s\n", a->settle, e.msg);
        return RC_EXIT_USAGE;
    }
    if (a->max_range && rc_duration_parse(a->max_range, &fo->max_range_s, &e) != RC_OK) {
        fprintf(stderr, "r2cache fill: --max-range %s: %s\n", a->max_range, e.msg);
        return RC_EXIT_USAGE;
    }
    if (a->max_gap) {
        double h;
        if (rc_hours_parse(a->max_gap, &h) != 0) {
            fprintf(stderr, "r2cache fill: --max-gap-hours %s: give a number of hours\n",
                    a->max_gap);
            return RC_EXIT_USAGE;
        }
        fo->max_gap_s = (int64_t)(h * 3600);
    }
    if (a->batch && atoi(a->batch) > 0) fo->batch_days = atoi(a->batch);
    a->progress_s = RC_PROGRESS_INTERVAL_DEFAULT;
    if (a->progress_interval && rc_progress_interval_parse(a->progress_interval, &a->progress_s)) {
        fprintf(stderr, "r2cache fill: --progress-interval %s: give a number of seconds (0: off)\n",
                a->progress_interval);
        return RC_EXIT_USAGE;
    }
    if (a->dry_run) cli->needs &= ~(unsigned)RC_NEED_SOURCE; /* a plan fetches nothing */
    return RC_EXIT_OK;
}

/* After the configuration and the targets: the range limit, a target. */
static rc_exit prepare(rc_cli *cli)
{
    fill_args *a = cli->args;
    rc_err e;
    rc_err_clear(&e);
    a->fo.from = cli->from;
    a->fo.to = cli->to;
    if (rc_fill_check(&a->fo, cli->ntargets, &e) != RC_OK) {
        fprintf(stderr, "r2cache fill: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

const rc_cmd_spec rc_cmd_fill_spec = {
    "r2cache fill --config FILE scope --from TIME --to TIME "
    "[--force|--upgrade|--auto --max-gap-hours H] [--recheck] [--dry-run] [--json]",
    "Backfill a range: fetch only the windows the store lacks, coalesced into day-long bulk\n"
    "requests. Safe to interrupt and rerun: it resumes where it stopped.",
    fill_opts,
    sizeof(fill_args),
    NULL,
    check,
    prepare,
    NULL};

/* The whole fill's windows on one progress meter (progress.h). */
static void progress(void *ud, const rc_fill_progress *p)
{
    rc_progress *m = ud;
    rc_progress_set_total(m, p->windows_total);
    rc_progress_update(m, p->windows_done, p->bytes_fetched);
    if (p->batch_end) rc_progress_show(m); /* back after the batch's log lines */
}

rc_exit rc_cmd_fill(rc_cli *cli)
{
    fill_args *a = cli->args;
    rc_fill_opts fo = a->fo;
    rc_err e;
    rc_err_clear(&e);
    rc_progress_opts po = {"fill", "windows", isatty(2) && !cli->json ? stderr : NULL, &cli->log,
                           a->progress_s};
    rc_progress meter;
    rc_progress_init(&meter, &po, 0);
    fo.log = &cli->log;
    fo.stop = cli->stop;
    fo.now = cli->now;
    fo.progress = progress;
    fo.progress_ud = &meter;
    rc_fill_result res;
    rc_status rc =
        rc_fill_run(&fo, &cli->cfg, cli->targets, cli->ntargets, cli->store, cli->source, &res, &e);
    if (!fo.dry_run) rc_progress_finish(&meter);
    if (fo.dry_run) {
        if (cli->json) {
            rc_cli_print_json(cli, rc_fill_result_json(&res),
                              rc_cli_status_word(rc_exit_for(rc), rc == RC_EINTR));
        } else {
            rc_buf text = RC_BUF_INIT;
            rc_fill_plan_text(&res, &text);
            fputs(text.data ? text.data : "", stdout);
            rc_buf_free(&text);
        }
        rc_fill_result_free(&res);
        if (rc != RC_OK) {
            rc_log_error(&cli->log, "error", "%s", e.msg);
            return rc_exit_for(rc);
        }
        return RC_EXIT_OK;
    }
    rc_exit status = rc_cli_engine_status(cli, rc, &e, res.stats.failed != 0,
                                          "; run the same fill again to finish");
    rc_fill_log_summary(&cli->log, &res, &cli->cfg);
    if (cli->json)
        rc_cli_print_json(cli, rc_fill_result_json(&res),
                          rc_cli_status_word(status, res.status == RC_EINTR));
    rc_cli_metrics(cli, "fill", &res.stats, status, -1);
    rc_fill_result_free(&res);
    return status;
}
