/*
 * cli.c: option parsing and setup shared by every subcommand.
 *
 * Each command passes its own option table; the common groups are tables
 * here. The same tables print --help, so help can never list an option the
 * parser does not know (and tests/test_cli checks the man page against it).
 */
#include "r2cache/cli.h"
#include "r2cache/engine.h"
#include "r2cache/metrics.h"
#include "r2cache/retry.h"
#include "r2cache/timewin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    O_CONFIG = 1000, O_SOURCE, O_STORE, O_LAYOUT, O_INACTIVE, O_STATION, O_VOLCANO, O_LOCATION,
    O_ALL, O_FROM, O_TO, O_NOW, O_JSON, O_SHARD, O_LOGLEVEL, O_LOGFORMAT, O_HELP,
    O_METRICS_FILE, O_METRICS_PUSH
};

static const rc_cli_opt g_config[] = {
    {"config", "FILE", "configuration file (JSON, see schemas/config.schema.json)", O_CONFIG},
    {"source", "URL", "FDSN base URL (https://service.iris.edu) or sds:///path; overrides the file", O_SOURCE},
    {"store", "URL", "s3://BUCKET[/PREFIX], file:///path or a directory; overrides the file", O_STORE},
    {"layout", "seed|viewer", "key layout of the store; overrides the file", O_LAYOUT},
    {"include-inactive", NULL, "also stations marked \"active\": false", O_INACTIVE},
    {NULL, NULL, NULL, 0}};
static const rc_cli_opt g_scope[] = {
    {"station", "NET.STA.LOC.CHA", "only this channel (repeatable; NET.STA..CHA for an empty location)", O_STATION},
    {"volcano", "NAME", "only the stations of this volcano", O_VOLCANO},
    {"location", "NAME", "only the volcanoes of this region (hawaii, alaska)", O_LOCATION},
    {"all", NULL, "every selected station (the default)", O_ALL},
    {NULL, NULL, NULL, 0}};
static const rc_cli_opt g_range[] = {
    {"from", "TIME", "start, inclusive: ISO 8601 UTC (2025-11-04T22:00:00Z) or an age (7d, 6h)", O_FROM},
    {"to", "TIME", "end, exclusive: ISO 8601 UTC, an age, or now (the default)", O_TO},
    {NULL, NULL, NULL, 0}};
static const rc_cli_opt g_now[] = {
    {"now", "TIME", "pretend the current time is TIME (ISO 8601 UTC)", O_NOW},
    {NULL, NULL, NULL, 0}};
static const rc_cli_opt g_json[] = {
    {"json", NULL, "print the result as JSON on stdout", O_JSON},
    {NULL, NULL, NULL, 0}};
static const rc_cli_opt g_shard[] = {
    {"shard", "I/N", "work on shard I of N only (channels split by a stable hash)", O_SHARD},
    {NULL, NULL, NULL, 0}};
static const rc_cli_opt g_metrics[] = {
    {"metrics-file", "FILE", "write the summary as Prometheus text to FILE (node_exporter textfile collector)", O_METRICS_FILE},
    {"metrics-push", "URL", "push the summary to the Pushgateway at URL (http://pushgateway:9091)", O_METRICS_PUSH},
    {NULL, NULL, NULL, 0}};
static const rc_cli_opt g_always[] = {
    {"log-level", "LEVEL", "debug, info (default), warn, error", O_LOGLEVEL},
    {"log-format", "FORMAT", "auto (text on a terminal, JSON lines otherwise), text, json", O_LOGFORMAT},
    {"help", NULL, "show this help", O_HELP},
    {NULL, NULL, NULL, 0}};

static const rc_cli_opt *find_opt(const rc_cli_opt *t, const char *name, size_t len)
{
    for (; t && t->name; t++)
        if (strlen(t->name) == len && strncmp(t->name, name, len) == 0)
            return t;
    return NULL;
}

static void help_table(FILE *out, const rc_cli_opt *t)
{
    for (; t && t->name; t++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", t->name, t->arg ? " " : "", t->arg ? t->arg : "");
        fprintf(out, "  %-28s %s\n", left, t->help);
    }
}

void rc_cli_help(FILE *out, const rc_cli *cli, const rc_cli_opt *own, const char *usage,
                 const char *description)
{
    fprintf(out, "usage: %s\n\n%s\n\noptions:\n", usage, description);
    help_table(out, own);
    if (cli->groups & RC_OPT_CONFIG)
        help_table(out, g_config);
    if (cli->groups & RC_OPT_SCOPE)
        help_table(out, g_scope);
    if (cli->groups & RC_OPT_RANGE)
        help_table(out, g_range);
    if (cli->groups & RC_OPT_NOW)
        help_table(out, g_now);
    if (cli->groups & RC_OPT_SHARD)
        help_table(out, g_shard);
    if (cli->groups & RC_OPT_JSON)
        help_table(out, g_json);
    if (cli->groups & RC_OPT_METRICS)
        help_table(out, g_metrics);
    help_table(out, g_always);
    fprintf(out, "\nexit status: 0 success, 1 partial failure, 2 usage or configuration error,\n"
                 "3 store or source unusable\n");
}

static int usage_error(rc_cli *cli, const char *fmt, const char *a)
{
    fprintf(stderr, "r2cache %s: ", cli->cmd);
    fprintf(stderr, fmt, a);
    fprintf(stderr, " (see r2cache %s --help)\n", cli->cmd);
    return RC_EXIT_USAGE;
}

int rc_cli_parse(rc_cli *cli, int argc, char **argv, const rc_cli_opt *own,
                 int (*on_opt)(void *ud, int id, const char *val), void *ud, const char *usage,
                 const char *description, int *help)
{
    rc_log_level lvl = RC_LOG_INFO;
    rc_log_format fmt = RC_LOG_AUTO;
    cli->started = rc_retry_monotonic_s();
    *help = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (strcmp(a, "--") == 0) {
                for (i++; i < argc; i++)
                    if (cli->npositional < 8)
                        cli->positional[cli->npositional++] = argv[i];
                break;
            }
            if (a[0] == '-' && a[1] != '\0')
                return usage_error(cli, "unknown option %s", a);
            if (cli->npositional >= 8)
                return usage_error(cli, "too many arguments at %s", a);
            cli->positional[cli->npositional++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const rc_cli_opt *o = find_opt(own, name, len);
        if (!o && (cli->groups & RC_OPT_CONFIG))
            o = find_opt(g_config, name, len);
        if (!o && (cli->groups & RC_OPT_SCOPE))
            o = find_opt(g_scope, name, len);
        if (!o && (cli->groups & RC_OPT_RANGE))
            o = find_opt(g_range, name, len);
        if (!o && (cli->groups & RC_OPT_NOW))
            o = find_opt(g_now, name, len);
        if (!o && (cli->groups & RC_OPT_JSON))
            o = find_opt(g_json, name, len);
        if (!o && (cli->groups & RC_OPT_SHARD))
            o = find_opt(g_shard, name, len);
        if (!o && (cli->groups & RC_OPT_METRICS))
            o = find_opt(g_metrics, name, len);
        if (!o)
            o = find_opt(g_always, name, len);
        if (!o)
            return usage_error(cli, "unknown option %s", a);
        const char *val = NULL;
        if (o->arg) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return usage_error(cli, "option %s needs a value", a);
        } else if (eq) {
            return usage_error(cli, "option %s takes no value", a);
        }
        switch (o->id) {
        case O_CONFIG: cli->config_path = val; break;
        case O_SOURCE: cli->source_url = val; break;
        case O_STORE: cli->store_url = val; break;
        case O_LAYOUT: cli->layout = val; break;
        case O_INACTIVE: cli->include_inactive = 1; break;
        case O_STATION:
            if (cli->nstations >= RC_CLI_MAX_STATIONS)
                return usage_error(cli, "too many --station options (at %s)", val);
            cli->stations[cli->nstations++] = val;
            break;
        case O_VOLCANO: cli->volcano = val; break;
        case O_LOCATION: cli->location = val; break;
        case O_ALL: cli->all = 1; break;
        case O_FROM: cli->from_s = val; break;
        case O_TO: cli->to_s = val; break;
        case O_NOW: cli->now_s = val; break;
        case O_JSON: cli->json = 1; break;
        case O_SHARD: {
            int si = -1, sn = 0;
            char tail = 0;
            if (sscanf(val, "%d/%d%c", &si, &sn, &tail) != 2 || sn < 1 || si < 0 || si >= sn)
                return usage_error(cli, "--shard %s: expected I/N with 0 <= I < N", val);
            cli->shard_index = si;
            cli->shard_count = sn;
            break;
        }
        case O_LOGLEVEL:
            if (rc_log_level_parse(val, &lvl))
                return usage_error(cli, "--log-level %s: use debug, info, warn or error", val);
            break;
        case O_LOGFORMAT:
            if (rc_log_format_parse(val, &fmt))
                return usage_error(cli, "--log-format %s: use auto, text or json", val);
            break;
        case O_HELP: *help = 1; break;
        case O_METRICS_FILE: cli->metrics_file = val; break;
        case O_METRICS_PUSH: cli->metrics_push = val; break;
        default:
            if (on_opt && on_opt(ud, o->id, val) != 0)
                return RC_EXIT_USAGE;
        }
    }
    rc_log_init(&cli->log, stderr, lvl, fmt);
    if (cli->npositional && !(cli->groups & RC_OPT_ARGS) && !*help)
        return usage_error(cli, "unexpected argument %s", cli->positional[0]);
    if (*help)
        rc_cli_help(stdout, cli, own, usage, description);
    return RC_EXIT_OK;
}

void rc_cli_metrics(const rc_cli *cli, const char *command, const rc_engine_stats *stats,
                    int exit_status, long stations_failed)
{
    if (!cli->metrics_file && !cli->metrics_push)
        return;
    rc_metrics_run m = {0};
    m.command = command;
    m.shard_index = cli->shard_index;
    m.shard_count = cli->shard_count;
    m.finished_at = (int64_t)time(NULL);
    m.duration_s = rc_retry_monotonic_s() - cli->started;
    m.exit_status = exit_status;
    m.stations = (int64_t)cli->ntargets;
    m.stations_failed = stations_failed;
    m.stats = stats;
    rc_err e;
    rc_err_clear(&e);
    rc_buf text = RC_BUF_INIT, url = RC_BUF_INIT;
    if (rc_metrics_format(&m, &text, &e) != RC_OK) {
        rc_log_warn(&cli->log, "metrics", "%s", e.msg);
        rc_buf_free(&text);
        return;
    }
    if (cli->metrics_file &&
        rc_metrics_write_file(cli->metrics_file, text.data, text.len, &e) != RC_OK)
        rc_log_warn(&cli->log, "metrics", "%s", e.msg);
    if (cli->metrics_push) {
        char inst[256];
        rc_metrics_instance(inst, sizeof inst);
        if (rc_metrics_push_url(cli->metrics_push, inst, command, &url, &e) != RC_OK ||
            rc_metrics_push(url.data, text.data, text.len, 10, &e) != RC_OK)
            rc_log_warn(&cli->log, "metrics", "%s", e.msg);
        else
            rc_log_debug(&cli->log, "metrics", "pushed to %s", url.data);
    }
    rc_buf_free(&url);
    rc_buf_free(&text);
}

int rc_cli_engine_status(const rc_cli *cli, int rc, const rc_err *e, int any_failed,
                         const char *stop_hint)
{
    if (rc == RC_EAUTH || rc == RC_EUNUSABLE) {
        rc_log_error(&cli->log, "error", "%s", e->msg);
        return RC_EXIT_UNUSABLE;
    }
    if (rc == RC_EINTR) {
        rc_log_warn(&cli->log, "stop", "%s%s", e->msg, stop_hint ? stop_hint : "");
        return RC_EXIT_PARTIAL;
    }
    if (rc != RC_OK) {
        rc_log_error(&cli->log, "error", "%s", e->msg);
        return RC_EXIT_PARTIAL;
    }
    return any_failed ? RC_EXIT_PARTIAL : RC_EXIT_OK;
}

int rc_cli_exit_for(int status)
{
    switch (status) {
    case RC_OK: return RC_EXIT_OK;
    case RC_EINVAL: return RC_EXIT_USAGE;
    case RC_EAUTH:
    case RC_EUNUSABLE: return RC_EXIT_UNUSABLE;
    default: return RC_EXIT_PARTIAL;
    }
}

static int fail(rc_cli *cli, int code, const char *msg)
{
    rc_log_error(&cli->log, "error", "%s", msg);
    /* a cron job that cannot even start (bad ConfigMap, dead store) must
     * still leave its exit status where the alerts look */
    if (cli->groups & RC_OPT_METRICS)
        rc_cli_metrics(cli, cli->cmd, NULL, code, -1);
    return code;
}

int rc_cli_setup(rc_cli *cli)
{
    rc_err e;
    rc_err_clear(&e);
    cli->now = (int64_t)time(NULL);
    if (cli->now_s && rc_time_parse(cli->now_s, cli->now, &cli->now, &e) != RC_OK) {
        rc_err_wrap(&e, "--now");
        return fail(cli, RC_EXIT_USAGE, e.msg);
    }
    if (cli->groups & RC_OPT_RANGE) {
        if (cli->from_s && rc_time_parse(cli->from_s, cli->now, &cli->from, &e) != RC_OK) {
            rc_err_wrap(&e, "--from");
            return fail(cli, RC_EXIT_USAGE, e.msg);
        }
        cli->to = cli->now;
        if (cli->to_s && rc_time_parse(cli->to_s, cli->now, &cli->to, &e) != RC_OK) {
            rc_err_wrap(&e, "--to");
            return fail(cli, RC_EXIT_USAGE, e.msg);
        }
    }
    if (cli->groups & RC_OPT_CONFIG) {
        if (!cli->config_path) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "no configuration: give --config FILE (for example examples/hearts.json)");
            return fail(cli, RC_EXIT_USAGE, msg);
        }
        if (rc_config_load(cli->config_path, &cli->cfg, &e) != RC_OK)
            return fail(cli, RC_EXIT_USAGE, e.msg);
        cli->have_cfg = 1;
        cli->cfg.include_inactive = cli->include_inactive;
        if (cli->source_url) {
            free(cli->cfg.source_url);
            cli->cfg.source_url = strdup(cli->source_url);
        }
        if (cli->store_url) {
            free(cli->cfg.store_url);
            cli->cfg.store_url = strdup(cli->store_url);
        }
        if (cli->layout && rc_layout_parse(cli->layout, &cli->cfg.layout, &e) != RC_OK) {
            rc_err_wrap(&e, "--layout");
            return fail(cli, RC_EXIT_USAGE, e.msg);
        }
    }
    if ((cli->groups & RC_OPT_SCOPE) && cli->have_cfg) {
        rc_scope sc = {cli->stations, cli->nstations, cli->volcano, cli->location, cli->all,
                       cli->shard_index, cli->shard_count};
        if (rc_config_select(&cli->cfg, &sc, &cli->targets, &cli->ntargets, &e) != RC_OK)
            return fail(cli, RC_EXIT_USAGE, e.msg);
    }
    return RC_EXIT_OK;
}

int rc_cli_open(rc_cli *cli, int need_source)
{
    rc_err e;
    rc_err_clear(&e);
    rc_store_opts so;
    rc_store_opts_default(&so);
    so.endpoint = cli->cfg.s3_endpoint;
    so.region = cli->cfg.s3_region;
    so.ca_bundle = cli->cfg.ca_bundle;
    so.stall_timeout_s = cli->cfg.s3_stall_timeout_s;
    if (cli->cfg.s3_addressing)
        so.addressing = strcmp(cli->cfg.s3_addressing, "path") == 0      ? 1
                        : strcmp(cli->cfg.s3_addressing, "virtual") == 0 ? 2
                                                                         : 0;
    so.log = &cli->log;
    const char *url = cli->cfg.store_url ? cli->cfg.store_url : "./r2cache-data";
    int rc = rc_store_open(url, &so, &cli->store, &e);
    if (rc != RC_OK)
        return fail(cli, rc == RC_EINVAL ? RC_EXIT_USAGE : RC_EXIT_UNUSABLE, e.msg);
    if (need_source) {
        if (!cli->cfg.source_url)
            return fail(cli, RC_EXIT_USAGE,
                        "no source: give --source URL or \"source\" in the configuration");
        rc_source_opts sopts;
        rc_source_opts_default(&sopts);
        sopts.max_connections = cli->cfg.max_connections;
        sopts.max_attempts = cli->cfg.fetch_max_attempts;
        sopts.backoff_base_s = cli->cfg.fetch_backoff_base_s;
        sopts.backoff_cap_s = cli->cfg.fetch_backoff_cap_s;
        sopts.timeout_s = cli->cfg.fetch_timeout_s;
        sopts.stall_timeout_s = cli->cfg.fetch_stall_timeout_s;
        sopts.rate_limit_rps = cli->cfg.fetch_rate_limit_rps;
        sopts.stop = cli->stop;
        sopts.ca_bundle = cli->cfg.ca_bundle;
        rc = rc_source_open(cli->cfg.source_url, &sopts, &cli->source, &e);
        if (rc != RC_OK)
            return fail(cli, rc == RC_EINVAL ? RC_EXIT_USAGE : RC_EXIT_UNUSABLE, e.msg);
    }
    return RC_EXIT_OK;
}

void rc_cli_free(rc_cli *cli)
{
    if (cli->source)
        rc_source_close(cli->source);
    if (cli->store)
        rc_store_close(cli->store);
    free(cli->targets);
    if (cli->have_cfg)
        rc_config_free(&cli->cfg);
}
