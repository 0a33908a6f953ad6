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
#include "r2cache/timewin.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { O_FORCE = 1, O_UPGRADE, O_SETTLE, O_AUTO, O_MAXGAP, O_DRYRUN, O_MAXRANGE, O_BATCH };

static const rc_cli_opt fill_opts[] = {
    {"force", NULL, "refetch and rewrite every window in the range", O_FORCE},
    {"upgrade", NULL, "refetch provisional chunks older than the settle time; replace each only "
                      "when the new one is at least as complete", O_UPGRADE},
    {"settle", "DURATION", "with --upgrade: how old a provisional chunk must be (default 3d)", O_SETTLE},
    {"auto", NULL, "fill only gaps longer than --max-gap-hours (the 2-hourly recovery job)", O_AUTO},
    {"max-gap-hours", "H", "with --auto: the gap length that triggers a fill (default 6)", O_MAXGAP},
    {"dry-run", NULL, "print the plan (windows, requests, estimated bytes) and change nothing", O_DRYRUN},
    {"max-range", "DURATION", "refuse ranges longer than this (default 366d)", O_MAXRANGE},
    {"batch-days", "N", "days worked on at once (default: enough for the connection limit)", O_BATCH},
    {NULL, NULL, NULL, 0}};

typedef struct fill_args {
    int force, upgrade, autofill, dry_run;
    const char *settle, *max_gap, *max_range, *batch;
} fill_args;

static int on_opt(void *ud, int id, const char *val)
{
    fill_args *a = ud;
    switch (id) {
    case O_FORCE: a->force = 1; break;
    case O_UPGRADE: a->upgrade = 1; break;
    case O_SETTLE: a->settle = val; break;
    case O_AUTO: a->autofill = 1; break;
    case O_MAXGAP: a->max_gap = val; break;
    case O_DRYRUN: a->dry_run = 1; break;
    case O_MAXRANGE: a->max_range = val; break;
    case O_BATCH: a->batch = val; break;
    }
    return 0;
}

/* Progress interval when stderr is not a terminal (logs, cron mail). */
#define PROGRESS_LINE_S 10.0

typedef struct progress_state {
    int tty;
    const rc_log *log;
    double last_print;
} progress_state;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(void *ud, const rc_fill_progress *p)
{
    progress_state *t = ud;
    if (p->batch_end) {
        if (!t->tty && p->days_total > p->batch_days)
            rc_log_info(t->log, "progress", "days %lld/%lld: %lld chunks added so far",
                        (long long)p->days_done, (long long)p->days_total, (long long)p->added);
        return;
    }
    if (!t->tty) {
        double now = mono();
        if (now - t->last_print < PROGRESS_LINE_S)
            return;
        t->last_print = now;
        rc_log_info(t->log, "progress",
                    "days %lld/%lld, requests %zu/%zu of this batch: %lld chunks added so far",
                    (long long)p->days_done, (long long)p->days_total, p->requests_done,
                    p->requests_total, (long long)p->added);
        return;
    }
    fprintf(stderr, "\r  days %lld/%lld  requests %zu/%zu  chunks +%lld  ",
            (long long)p->days_done, (long long)p->days_total, p->requests_done,
            p->requests_total, (long long)p->added);
    fflush(stderr);
}

static void print_json(const cJSON *o)
{
    char *txt = o ? cJSON_Print(o) : NULL;
    if (txt)
        printf("%s\n", txt);
    free(txt);
}

int rc_cmd_fill(rc_cli *cli, int argc, char **argv)
{
    static const char usage[] = "r2cache fill --config FILE scope --from TIME --to TIME "
                                "[--force|--upgrade|--auto --max-gap-hours H] [--dry-run] [--json]";
    static const char desc[] =
        "Backfill a range: fetch only the windows the store lacks, coalesced into day-long bulk\n"
        "requests. Safe to interrupt and rerun: it resumes where it stopped.";
    fill_args a = {0};
    int help = 0;
    cli->groups = RC_OPT_CONFIG | RC_OPT_SCOPE | RC_OPT_RANGE | RC_OPT_NOW | RC_OPT_JSON |
                  RC_OPT_SHARD | RC_OPT_METRICS;
    int code = rc_cli_parse(cli, argc, argv, fill_opts, on_opt, &a, usage, desc, &help);
    if (code || help)
        return code;
    if (!cli->from_s) {
        fprintf(stderr, "r2cache fill: --from is required (ISO 8601 UTC or an age such as 7d)\n");
        return RC_EXIT_USAGE;
    }
    if (a.force + a.upgrade + a.autofill > 1) {
        fprintf(stderr, "r2cache fill: --force, --upgrade and --auto exclude each other\n");
        return RC_EXIT_USAGE;
    }
    rc_err e;
    rc_err_clear(&e);
    rc_fill_opts fo;
    rc_fill_opts_default(&fo);
    fo.force = a.force;
    fo.upgrade = a.upgrade;
    fo.autofill = a.autofill;
    fo.dry_run = a.dry_run;
    if (a.settle && rc_duration_parse(a.settle, &fo.settle_s, &e) != RC_OK) {
        fprintf(stderr, "r2cache fill: --settle %s: %s\n", a.settle, e.msg);
        return RC_EXIT_USAGE;
    }
    if (a.max_range && rc_duration_parse(a.max_range, &fo.max_range_s, &e) != RC_OK) {
        fprintf(stderr, "r2cache fill: --max-range %s: %s\n", a.max_range, e.msg);
        return RC_EXIT_USAGE;
    }
    if (a.max_gap) {
        char *end = NULL;
        double h = strtod(a.max_gap, &end);
        if (!end || *end || h < 0) {
            fprintf(stderr, "r2cache fill: --max-gap-hours %s: give a number of hours\n",
                    a.max_gap);
            return RC_EXIT_USAGE;
        }
        fo.max_gap_s = (int64_t)(h * 3600);
    }
    if (a.batch && atoi(a.batch) > 0)
        fo.batch_days = atoi(a.batch);
    if ((code = rc_cli_setup(cli)))
        return code;
    fo.from = cli->from;
    fo.to = cli->to;
    if (rc_fill_check(&fo, cli->ntargets, &e) != RC_OK) {
        fprintf(stderr, "r2cache fill: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    if ((code = rc_cli_open(cli, !a.dry_run)))
        return code;

    progress_state ps = {isatty(2) && !cli->json, &cli->log, mono()};
    fo.log = &cli->log;
    fo.stop = cli->stop;
    fo.now = cli->now;
    fo.progress = progress;
    fo.progress_ud = &ps;
    rc_fill_result res;
    int rc = rc_fill_run(&fo, &cli->cfg, cli->targets, cli->ntargets, cli->store, cli->source,
                         &res, &e);
    if (ps.tty)
        fprintf(stderr, "\n");
    if (fo.dry_run) {
        if (cli->json) {
            cJSON *o = rc_fill_result_json(&res);
            print_json(o);
            cJSON_Delete(o);
        } else {
            rc_buf text = RC_BUF_INIT;
            rc_fill_plan_text(&res, &text);
            fputs(text.data ? text.data : "", stdout);
            rc_buf_free(&text);
        }
        rc_fill_result_free(&res);
        if (rc != RC_OK) {
            rc_log_error(&cli->log, "error", "%s", e.msg);
            return rc_cli_exit_for(rc);
        }
        return RC_EXIT_OK;
    }
    int status = rc_cli_engine_status(cli, rc, &e, res.stats.failed != 0,
                                      "; run the same fill again to finish");
    rc_fill_log_summary(&cli->log, &res, &cli->cfg);
    if (cli->json) {
        cJSON *o = rc_fill_result_json(&res);
        print_json(o);
        cJSON_Delete(o);
    }
    rc_cli_metrics(cli, "fill", &res.stats, status, -1);
    rc_fill_result_free(&res);
    return status;
}
