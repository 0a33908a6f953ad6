/*
 * cmd_inventory.c: `r2cache inventory`: what is cached, per station, volcano,
 * location or all: options in, the report of report.c out as a table, the
 * JSON that `serve` answers on /api/cache-status (--json) or an HTML
 * availability grid in a file (--html, report_html.c).
 */
#include "r2cache/cli.h"
#include "r2cache/gaps.h"
#include "r2cache/metrics.h"
#include "r2cache/report.h"
#include "r2cache/timewin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct inv_args {
    const char *scope, *network, *channel, *html;
    int scan, threads;
    rc_report_query q;
    rc_report rep;
    int have_rep;
} inv_args;

static const rc_cli_opt inv_opts[] = {
    RC_OPT_STRING("scope", "station|volcano|region|all", inv_args, scope,
                  "what to report on (default all; volcano without --volcano: every volcano; "
                  "location is region's first name)"),
    RC_OPT_STRING("network", "NET", inv_args, network,
                  "with --scope station and a bare --station STA: the network"),
    RC_OPT_STRING("channel", "CHA", inv_args, channel,
                  "with --scope station and a bare --station STA: the channel"),
    RC_OPT_STRING("html", "FILE", inv_args, html,
                  "write a self-contained HTML availability grid to FILE instead of printing "
                  "the table (with --json: the JSON as well)"),
    RC_OPT_FLAG("scan", inv_args, scan,
                "list every data key instead of reading the summaries (slow, exact; rewrites "
                "the summaries it finds stale)"),
    RC_OPT_INT("threads", "N", inv_args, threads, 1, 64,
               "parallel readers of manifests and summaries (default 8)"),
    RC_OPT_END};

static void defaults(void *args)
{
    inv_args *a = args;
    a->scope = "all";
    a->threads = 8;
}

/* Before the configuration: the scope has what it needs. The report then
 * selects through the configuration itself (after the bare-station form is
 * resolved against it), so setup selects everything. */
static rc_exit check(rc_cli *cli)
{
    inv_args *a = cli->args;
    rc_err e;
    rc_err_clear(&e);
    rc_report_query *q = &a->q;
    rc_report_query_default(q);
    if (rc_report_scope_parse(a->scope, &q->scope, &e) != RC_OK) {
        fprintf(stderr, "r2cache inventory: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    /* a filter in every scope; scope station needs exactly one */
    if (cli->nstations && (q->scope != RC_REPORT_STATION || cli->nstations == 1))
        q->station = cli->stations[0];
    if (q->scope == RC_REPORT_STATION && q->station && rc_select_is_pattern(q->station)) {
        fprintf(stderr,
                "r2cache inventory: --scope station takes one channel, not the pattern %s "
                "(--scope all --station PATTERN reports the channels it matches)\n",
                q->station);
        return RC_EXIT_USAGE;
    }
    q->network = a->network;
    q->channel = a->channel;
    q->volcano = cli->volcano;
    q->location = cli->region;
    q->scan = a->scan;
    q->threads = a->threads;
    if (rc_report_check(q, &e) != RC_OK) {
        fprintf(stderr, "r2cache inventory: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    cli->nstations = 0;
    cli->volcano = cli->region = NULL;
    cli->all = 1;
    return RC_EXIT_OK;
}

/* After the configuration: resolve the scope before the store opens. */
static rc_exit prepare(rc_cli *cli)
{
    inv_args *a = cli->args;
    if (cli->from_s) a->q.from = cli->from;
    if (cli->to_s) a->q.to = cli->to;
    rc_err e;
    rc_err_clear(&e);
    a->have_rep = 1;
    if (rc_report_prepare(&a->rep, &a->q, &cli->cfg, &e) != RC_OK) {
        fprintf(stderr, "r2cache inventory: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

static void release(void *args)
{
    inv_args *a = args;
    if (a->have_rep) rc_report_free(&a->rep);
}

const rc_cmd_spec rc_cmd_inventory_spec = {
    "r2cache inventory --config FILE [--scope station|volcano|region|all] "
    "[--station NET.STA.LOC.CHA | --network NET --station STA --channel CHA] "
    "[--volcano NAME] [--region NAME] [--from T] [--to T] [--json] [--html FILE] [--scan]",
    "Report what is cached: days, chunks per span, per-day completeness, provisional\n"
    "chunks and sizes, per station, volcano, location or for everything, as a table, as\n"
    "JSON (--json, the same as r2cache serve answers on /api/cache-status) or as an HTML\n"
    "grid written to a file (--html).\n"
    "Reads the per-month summaries under index/ (rebuilding stale ones from the data);\n"
    "--scan lists every key instead. Keys that do not parse are counted and shown.",
    inv_opts,
    sizeof(inv_args),
    defaults,
    check,
    prepare,
    release};

rc_exit rc_cmd_inventory(rc_cli *cli)
{
    inv_args *a = cli->args;
    rc_report *rep = &a->rep;
    rc_err e;
    rc_err_clear(&e);
    rc_status rc = rc_report_load(rep, cli->store, &cli->log, &e);
    if (rc != RC_OK) {
        rc_log_error(&cli->log, "inventory", "%s", e.msg);
        return rc_exit_for(rc);
    }
    rc_exit code = RC_EXIT_OK;
    if (a->html) {
        rc_buf html = RC_BUF_INIT;
        rc = rc_report_page(rep, rc_store_describe(cli->store), cli->now, &html, &e);
        FILE *f = rc == RC_OK ? fopen(a->html, "w") : NULL;
        if (!f || fwrite(html.data, 1, html.len, f) != html.len) {
            fprintf(stderr, "r2cache inventory: cannot write %s: %s\n", a->html,
                    rc == RC_OK ? "write failed" : e.msg);
            code = RC_EXIT_PARTIAL;
        }
        if (f && fclose(f) != 0) code = RC_EXIT_PARTIAL;
        rc_buf_free(&html);
    }
    if (cli->json) {
        rc_cli_print_json(cli, rc_report_json(rep), rc_cli_status_word(code, 0));
    } else if (!a->html) {
        rc_buf text = RC_BUF_INIT;
        rc_report_table(rep, &text);
        fputs(text.data ? text.data : "", stdout);
        rc_buf_free(&text);
    }
    if (cli->metrics_file || cli->metrics_push) {
        /* per-channel freshness and completeness of the scope's configured channels */
        rc_buf lb = RC_BUF_INIT, health = RC_BUF_INIT;
        if (rep->ntargets &&
            (rc_metrics_labels("inventory", 0, 0, &lb) ||
             rc_gaps_health_metrics(&cli->cfg, rep->targets, rep->ntargets, cli->store, cli->now,
                                    &cli->log, lb.data, &health, &e) != RC_OK)) {
            rc_log_warn(&cli->log, "metrics", "channel freshness: %s", e.msg);
            rc_buf_reset(&health);
        }
        rc_cli_metrics_extra(cli, "inventory", NULL, code, -1, health.data);
        rc_buf_free(&lb);
        rc_buf_free(&health);
    }
    const rc_inventory *inv = &rep->inv;
    rc_log_info(&cli->log, "inventory",
                "%s: %lld keys listed, %lld summaries read, %lld written, %lld manifests read",
                a->scan ? "scan" : "summaries", (long long)inv->listed,
                (long long)inv->summaries_read, (long long)inv->months_rebuilt,
                (long long)inv->manifests_read);
    return code;
}
