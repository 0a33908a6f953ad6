/*
 * cmd_gaps.c: `r2cache gaps`, where the holes are: options in, the report
 * of gaps.c out (a table, or --json).
 *
 * Exit 1 when a critical gap exists, so a cron job or a monitor can alert
 * on the status alone.
 */
#include "r2cache/cli.h"
#include "r2cache/gaps.h"
#include "r2cache/timewin.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_MINOR = 1, O_CRITICAL };

static const rc_cli_opt gaps_opts[] = {
    {"minor-hours", "H", "gaps up to H hours are minor (default 2)", O_MINOR},
    {"critical-hours", "H", "gaps longer than H hours are critical (default 12); between the "
                            "two they are moderate", O_CRITICAL},
    {NULL, NULL, NULL, 0}};

typedef struct gaps_args {
    const char *minor, *critical;
} gaps_args;

static int on_opt(void *ud, int id, const char *val)
{
    gaps_args *a = ud;
    if (id == O_MINOR)
        a->minor = val;
    else if (id == O_CRITICAL)
        a->critical = val;
    return 0;
}

static int parse_hours(const char *opt, const char *val, double *out)
{
    char *end = NULL;
    double h = strtod(val, &end);
    if (!end || end == val || *end || !(h >= 0)) {
        fprintf(stderr, "r2cache gaps: --%s %s: give a number of hours (for example 2 or 0.5)\n",
                opt, val);
        return -1;
    }
    *out = h;
    return 0;
}

int rc_cmd_gaps(rc_cli *cli, int argc, char **argv)
{
    static const char usage[] = "r2cache gaps --config FILE scope --from TIME --to TIME "
                                "[--minor-hours H --critical-hours H] [--json]";
    static const char desc[] =
        "Report the holes in the cache: every expected window of every configured span\n"
        "(10-minute, 6-hour ...) that the store lacks, judged on the manifests and the\n"
        "listing, grouped into gaps per channel and span and classified minor (<= 2 h),\n"
        "moderate (<= 12 h) or critical (> 12 h). Also lists provisional chunks (for\n"
        "`r2cache fill --upgrade`) and blobs whose manifest entry is lost (unindexed).\n"
        "Windows ending after --to or after now are not expected yet.\n"
        "Reads only; writes nothing.\n\n"
        "exit status of gaps: 0 no critical gap, 1 critical gaps exist (or a manifest\n"
        "could not be read), 2 usage or configuration error, 3 store unusable";
    gaps_args a = {0};
    int help = 0;
    cli->groups = RC_OPT_CONFIG | RC_OPT_SCOPE | RC_OPT_RANGE | RC_OPT_NOW | RC_OPT_JSON |
                  RC_OPT_SHARD;
    int code = rc_cli_parse(cli, argc, argv, gaps_opts, on_opt, &a, usage, desc, &help);
    if (code || help)
        return code;
    if (!cli->from_s) {
        fprintf(stderr, "r2cache gaps: --from is required (ISO 8601 UTC or an age such as 7d)\n");
        return RC_EXIT_USAGE;
    }
    rc_gaps_opts go;
    rc_gaps_opts_default(&go);
    if ((a.minor && parse_hours("minor-hours", a.minor, &go.minor_hours)) ||
        (a.critical && parse_hours("critical-hours", a.critical, &go.critical_hours)))
        return RC_EXIT_USAGE;
    if (go.critical_hours < go.minor_hours) {
        fprintf(stderr, "r2cache gaps: --critical-hours (%g) is below --minor-hours (%g)\n",
                go.critical_hours, go.minor_hours);
        return RC_EXIT_USAGE;
    }
    if ((code = rc_cli_setup(cli)))
        return code;
    go.from = cli->from;
    go.to = cli->to;
    go.now = cli->now;
    go.log = &cli->log;
    go.stop = cli->stop;
    rc_err e;
    rc_err_clear(&e);
    if (rc_gaps_check(&go, cli->ntargets, &e) != RC_OK) {
        fprintf(stderr, "r2cache gaps: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    if ((code = rc_cli_open(cli, 0)))
        return code;

    rc_gaps_report r;
    int rc = rc_gaps_find(&go, &cli->cfg, cli->targets, cli->ntargets, cli->store, &r, &e);
    int status = RC_EXIT_OK;
    if (rc != RC_OK) {
        rc_log_error(&cli->log, "error", "%s", e.msg);
        status = rc_cli_exit_for(rc);
        if (status == RC_EXIT_USAGE) /* nothing here is a usage error any more */
            status = RC_EXIT_PARTIAL;
    } else {
        if (rc_gaps_alarm(&r))
            status = RC_EXIT_PARTIAL;
        if (cli->json) {
            cJSON *o = rc_gaps_json(&r);
            char *txt = o ? cJSON_Print(o) : NULL;
            if (txt)
                printf("%s\n", txt);
            free(txt);
            cJSON_Delete(o);
        } else {
            rc_buf text = RC_BUF_INIT;
            rc_gaps_text(&r, &text);
            fputs(text.data ? text.data : "", stdout);
            rc_buf_free(&text);
        }
    }
    rc_gaps_report_free(&r);
    return status;
}
