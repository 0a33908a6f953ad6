/*
 * cmd_inventory.c: `r2cache inventory`: what is cached, per station, volcano,
 * location or all: options in, the report of report.c out as a table, the
 * JSON of seed 002's /api/cache-status (--json) or an HTML availability grid
 * (--html, report_html.c).
 */
#include "r2cache/cli.h"
#include "r2cache/report.h"
#include "r2cache/timewin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_SCOPE = 1, O_NETWORK, O_CHANNEL, O_HTML, O_SCAN, O_THREADS };

static const rc_cli_opt inv_opts[] = {
    {"scope", "station|volcano|location|all", "what to report on (default all)", O_SCOPE},
    {"network", "NET", "with --scope station and a bare --station STA: the network", O_NETWORK},
    {"channel", "CHA", "with --scope station and a bare --station STA: the channel", O_CHANNEL},
    {"html", "FILE", "also write a self-contained HTML availability grid to FILE", O_HTML},
    {"scan", NULL, "list every data key instead of reading the summaries (slow, exact; "
                   "rewrites the summaries it finds stale)", O_SCAN},
    {"threads", "N", "parallel readers of manifests and summaries (default 8)", O_THREADS},
    {NULL, NULL, NULL, 0}};

typedef struct inv_args {
    const char *scope, *network, *channel, *html;
    int scan, threads;
} inv_args;

static int on_opt(void *ud, int id, const char *val)
{
    inv_args *a = ud;
    switch (id) {
    case O_SCOPE: a->scope = val; break;
    case O_NETWORK: a->network = val; break;
    case O_CHANNEL: a->channel = val; break;
    case O_HTML: a->html = val; break;
    case O_SCAN: a->scan = 1; break;
    case O_THREADS:
        a->threads = atoi(val);
        if (a->threads < 1 || a->threads > 64) {
            fprintf(stderr, "r2cache inventory: --threads %s: give 1 to 64\n", val);
            return 1;
        }
        break;
    }
    return 0;
}

int rc_cmd_inventory(rc_cli *cli, int argc, char **argv)
{
    static const char usage[] =
        "r2cache inventory --config FILE [--scope station|volcano|location|all] "
        "[--station NET.STA.LOC.CHA | --network NET --station STA --channel CHA] "
        "[--volcano NAME] [--location NAME] [--from T] [--to T] [--json] [--html FILE] [--scan]";
    static const char desc[] =
        "Report what is cached: days, chunks per span, per-day completeness, provisional\n"
        "chunks and sizes, per station, volcano, location or for everything, as a table, as\n"
        "the JSON of seed 002's cache-status API (--json) or as an HTML grid (--html).\n"
        "Reads the per-month summaries under index/ (rebuilding stale ones from the data);\n"
        "--scan lists every key instead. Keys that do not parse are counted and shown.";
    inv_args a = {"all", NULL, NULL, NULL, 0, 8};
    int help = 0;
    cli->groups = RC_OPT_CONFIG | RC_OPT_SCOPE | RC_OPT_RANGE | RC_OPT_JSON;
    int code = rc_cli_parse(cli, argc, argv, inv_opts, on_opt, &a, usage, desc, &help);
    if (code || help)
        return code;
    rc_err e;
    rc_err_clear(&e);
    rc_report_query q;
    rc_report_query_default(&q);
    if (rc_report_scope_parse(a.scope, &q.scope, &e) != RC_OK) {
        fprintf(stderr, "r2cache inventory: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    /* a filter in every scope; scope station needs exactly one */
    if (cli->nstations && (q.scope != RC_REPORT_STATION || cli->nstations == 1))
        q.station = cli->stations[0];
    q.network = a.network;
    q.channel = a.channel;
    q.volcano = cli->volcano;
    q.location = cli->location;
    q.scan = a.scan;
    q.threads = a.threads;
    if (rc_report_check(&q, &e) != RC_OK) {
        fprintf(stderr, "r2cache inventory: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    /* The report selects through the configuration itself, after the
     * bare-station form is resolved against it. */
    cli->nstations = 0;
    cli->volcano = cli->location = NULL;
    cli->all = 1;
    if ((code = rc_cli_setup(cli)))
        return code;
    if (cli->from_s)
        q.from = cli->from;
    if (cli->to_s)
        q.to = cli->to;
    rc_report rep;
    if (rc_report_prepare(&rep, &q, &cli->cfg, &e) != RC_OK) {
        fprintf(stderr, "r2cache inventory: %s\n", e.msg);
        rc_report_free(&rep);
        return RC_EXIT_USAGE;
    }
    if ((code = rc_cli_open(cli, 0))) {
        rc_report_free(&rep);
        return code;
    }
    int rc = rc_report_load(&rep, cli->store, &cli->log, &e);
    if (rc != RC_OK) {
        rc_log_error(&cli->log, "inventory", "%s", e.msg);
        rc_report_free(&rep);
        return rc_cli_exit_for(rc);
    }
    code = RC_EXIT_OK;
    if (a.html) {
        rc_buf html = RC_BUF_INIT;
        rc = rc_report_page(&rep, &html, &e);
        FILE *f = rc == RC_OK ? fopen(a.html, "w") : NULL;
        if (!f || fwrite(html.data, 1, html.len, f) != html.len) {
            fprintf(stderr, "r2cache inventory: cannot write %s: %s\n", a.html,
                    rc == RC_OK ? "write failed" : e.msg);
            code = RC_EXIT_PARTIAL;
        }
        if (f && fclose(f) != 0)
            code = RC_EXIT_PARTIAL;
        rc_buf_free(&html);
    }
    if (cli->json) {
        cJSON *o = rc_report_json(&rep);
        char *s = o ? cJSON_Print(o) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else if (!a.html) {
        rc_buf text = RC_BUF_INIT;
        rc_report_table(&rep, &text);
        fputs(text.data ? text.data : "", stdout);
        rc_buf_free(&text);
    }
    const rc_inventory *inv = &rep.inv;
    rc_log_info(&cli->log, "inventory",
                "%s: %lld keys listed, %lld summaries read, %lld written, %lld manifests read",
                a.scan ? "scan" : "summaries", (long long)inv->listed,
                (long long)inv->summaries_read, (long long)inv->months_rebuilt,
                (long long)inv->manifests_read);
    rc_report_free(&rep);
    return code;
}
