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
#include "r2cache/version.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage_error(const rc_cli *cli, const char *fmt, const char *a)
{
    fprintf(stderr, "r2cache %s: ", cli->cmd);
    fprintf(stderr, fmt, a);
    fprintf(stderr, " (see r2cache %s --help)\n", cli->cmd);
    return RC_EXIT_USAGE;
}

static int on_station(rc_cli *cli, const char *val)
{
    if (cli->nstations >= RC_CLI_MAX_STATIONS)
        return usage_error(cli, "too many --station options (at %s)", val);
    cli->stations[cli->nstations++] = val;
    return 0;
}

static int on_shard(rc_cli *cli, const char *val)
{
    int si = -1, sn = 0;
    char tail = 0;
    if (sscanf(val, "%d/%d%c", &si, &sn, &tail) != 2 || sn < 1 || si < 0 || si >= sn)
        return usage_error(cli, "--shard %s: expected I/N with 0 <= I < N", val);
    cli->shard_index = si;
    cli->shard_count = sn;
    return 0;
}

static int on_log_level(rc_cli *cli, const char *val)
{
    if (rc_log_level_parse(val, &cli->log_level))
        return usage_error(cli, "--log-level %s: use debug, info, warn or error", val);
    return 0;
}

static int on_log_format(rc_cli *cli, const char *val)
{
    if (rc_log_format_parse(val, &cli->log_format))
        return usage_error(cli, "--log-format %s: use auto, text or json", val);
    return 0;
}

static const rc_cli_opt g_config[] = {
    RC_OPT_STRING("config", "FILE", rc_cli, config_path,
                  "configuration file (JSON, see schemas/config.schema.json)"),
    RC_OPT_STRING("source", "URL", rc_cli, source_url,
                  "FDSN base URL (https://service.iris.edu) or sds:///path; overrides the file"),
    RC_OPT_STRING("store", "URL", rc_cli, store_url,
                  "s3://BUCKET[/PREFIX], file:///path or a directory; overrides the file"),
    RC_OPT_STRING("layout", "seed|viewer", rc_cli, layout,
                  "key layout of the store; overrides the file"),
    RC_OPT_INT("workers", "N", rc_cli, workers, 0, 64,
               "threads that compose, compress and hash chunks (0: the cores, at most 8); overrides the file"),
    RC_OPT_FLAG("include-inactive", rc_cli, include_inactive,
                "also stations marked \"active\": false"),
    RC_OPT_END};
static const rc_cli_opt g_scope[] = {
    RC_OPT_FN("station", "NET.STA.LOC.CHA", on_station,
              "only this channel (NET.STA..CHA for an empty location), or those of a "
              "pattern (HV.*..HHZ, AV.GS??..BH?); repeatable"),
    RC_OPT_STRING("volcano", "NAME", rc_cli, volcano, "only the stations of this volcano"),
    RC_OPT_STRING("region", "NAME", rc_cli, region,
                  "only the volcanoes of this region (hawaii, alaska)"),
    RC_OPT_STRING("location", "NAME", rc_cli, region,
                  "the same as --region (in SEED a location is the location code: give "
                  "that in --station)"),
    RC_OPT_FLAG("all", rc_cli, all, "every selected station (the default)"),
    RC_OPT_END};
static const rc_cli_opt g_range[] = {
    RC_OPT_STRING("from", "TIME", rc_cli, from_s,
                  "start, inclusive: ISO 8601 UTC (2025-11-04T22:00:00Z) or an age (7d, 6h)"),
    RC_OPT_STRING("to", "TIME", rc_cli, to_s,
                  "end, exclusive: ISO 8601 UTC, an age, or now (the default)"),
    RC_OPT_END};
static const rc_cli_opt g_now[] = {
    RC_OPT_STRING("now", "TIME", rc_cli, now_s, "pretend the current time is TIME (ISO 8601 UTC)"),
    RC_OPT_END};
static const rc_cli_opt g_json[] = {
    RC_OPT_FLAG("json", rc_cli, json, "print the result as JSON on stdout"), RC_OPT_END};
static const rc_cli_opt g_shard[] = {
    RC_OPT_FN("shard", "I/N", on_shard,
              "work on shard I of N only (channels split by a stable hash)"),
    RC_OPT_END};
static const rc_cli_opt g_metrics[] = {
    RC_OPT_STRING("metrics-file", "FILE", rc_cli, metrics_file,
                  "write the summary as Prometheus text to FILE (node_exporter textfile "
                  "collector)"),
    RC_OPT_STRING("metrics-push", "URL", rc_cli, metrics_push,
                  "push the summary to the Pushgateway at URL (http://pushgateway:9091)"),
    RC_OPT_END};
static const rc_cli_opt g_always[] = {
    RC_OPT_FN("log-level", "LEVEL", on_log_level, "debug, info (default), warn, error"),
    RC_OPT_FN("log-format", "FORMAT", on_log_format,
              "auto (text on a terminal, JSON lines otherwise), text, json"),
    {"help", 'h', RC_ARG_FLAG, offsetof(rc_cli, help), NULL, "show this help", 0, 0, NULL},
    RC_OPT_END};

/* The common groups in the order help lists them. */
static const struct group {
    unsigned bit;
    const rc_cli_opt *opts;
} g_groups[] = {{RC_OPT_CONFIG, g_config},  {RC_OPT_SCOPE, g_scope}, {RC_OPT_RANGE, g_range},
                {RC_OPT_NOW, g_now},        {RC_OPT_SHARD, g_shard}, {RC_OPT_JSON, g_json},
                {RC_OPT_METRICS, g_metrics}};
#define NGROUPS (sizeof g_groups / sizeof g_groups[0])

static const rc_cli_opt *find_opt(const rc_cli_opt *t, const char *name, size_t len)
{
    for (; t && t->name; t++)
        if (strlen(t->name) == len && strncmp(t->name, name, len) == 0) return t;
    return NULL;
}

static const rc_cli_opt *find_short(const rc_cli_opt *t, char c)
{
    for (; t && t->name; t++)
        if (t->short_name && t->short_name == c) return t;
    return NULL;
}

static void help_table(FILE *out, const rc_cli_opt *t)
{
    for (; t && t->name; t++) {
        char left[64];
        if (t->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", t->short_name, t->name, t->arg ? " " : "",
                     t->arg ? t->arg : "");
        else
            snprintf(left, sizeof left, "--%s%s%s", t->name, t->arg ? " " : "",
                     t->arg ? t->arg : "");
        fprintf(out, "  %-28s %s\n", left, t->help);
    }
}

void rc_cli_help(FILE *out, const rc_cli *cli, const rc_cmd_spec *spec)
{
    fprintf(out, "usage: %s\n\n%s\n\noptions:\n", spec->usage, spec->description);
    help_table(out, spec->options);
    for (size_t g = 0; g < NGROUPS; g++)
        if (cli->groups & g_groups[g].bit) help_table(out, g_groups[g].opts);
    help_table(out, g_always);
    fprintf(out, "\nexit status: 0 success, 1 partial failure, 2 usage or configuration error,\n"
                 "3 store or source unusable\n");
}

/* Store val as o says, into base (the args struct or rc_cli). */
static int bind_value(rc_cli *cli, const rc_cli_opt *o, void *base, const char *val)
{
    switch (o->kind) {
    case RC_ARG_FLAG:
        *(int *)((char *)base + o->off) = 1;
        return 0;
    case RC_ARG_STRING:
        *(const char **)((char *)base + o->off) = val;
        return 0;
    case RC_ARG_INT: {
        int v = atoi(val);
        if (v < o->min || v > o->max) {
            fprintf(stderr, "r2cache %s: --%s %s: give %d to %d\n", cli->cmd, o->name, val, o->min,
                    o->max);
            return RC_EXIT_USAGE;
        }
        *(int *)((char *)base + o->off) = v;
        return 0;
    }
    case RC_ARG_FN:
        return o->fn(cli, val) ? RC_EXIT_USAGE : 0;
    }
    return RC_EXIT_USAGE;
}

rc_exit rc_cli_parse(rc_cli *cli, const rc_cmd_spec *spec, int argc, char **argv)
{
    cli->started = rc_retry_monotonic_s();
    cli->log_level = RC_LOG_INFO;
    cli->log_format = RC_LOG_AUTO;
    cli->help = 0;
    cli->workers = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const rc_cli_opt *o = NULL;
        const char *eq = NULL;
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (strcmp(a, "--") == 0) {
                for (i++; i < argc; i++)
                    if (cli->npositional < 8) cli->positional[cli->npositional++] = argv[i];
                break;
            }
            if (a[0] == '-' && a[1] != '\0') {
                if (a[2] == '\0') o = find_short(spec->options, a[1]);
                for (size_t g = 0; g < NGROUPS && !o && a[2] == '\0'; g++)
                    if (cli->groups & g_groups[g].bit) o = find_short(g_groups[g].opts, a[1]);
                if (!o && a[2] == '\0') o = find_short(g_always, a[1]);
                if (!o) return usage_error(cli, "unknown option %s", a);
            } else {
                if (cli->npositional >= 8) return usage_error(cli, "too many arguments at %s", a);
                cli->positional[cli->npositional++] = a;
                continue;
            }
        }
        void *base = cli;
        if (!o) {
            const char *name = a + 2;
            eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            if ((o = find_opt(spec->options, name, len))) base = cli->args;
            for (size_t g = 0; g < NGROUPS && !o; g++)
                if (cli->groups & g_groups[g].bit) o = find_opt(g_groups[g].opts, name, len);
            if (!o) o = find_opt(g_always, name, len);
            if (!o) return usage_error(cli, "unknown option %s", a);
        } else if (find_short(spec->options, a[1]) == o) {
            base = cli->args;
        }
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
        if (bind_value(cli, o, base, val)) return RC_EXIT_USAGE;
    }
    rc_log_init(&cli->log, stderr, cli->log_level, cli->log_format);
    if (cli->npositional && !(cli->groups & RC_OPT_ARGS) && !cli->help)
        return usage_error(cli, "unexpected argument %s", cli->positional[0]);
    if (cli->help) rc_cli_help(stdout, cli, spec);
    return RC_EXIT_OK;
}

/* run and fill run the engine; the others (gaps, inventory) leave only their
 * exit status and their own families */
static int engine_command(const char *command)
{
    return strcmp(command, "run") == 0 || strcmp(command, "fill") == 0;
}

void rc_cli_metrics(const rc_cli *cli, const char *command, const rc_engine_stats *stats,
                    rc_exit exit_status, long stations_failed)
{
    rc_cli_metrics_extra(cli, command, stats, exit_status, stations_failed, NULL);
}

void rc_cli_metrics_extra(const rc_cli *cli, const char *command, const rc_engine_stats *stats,
                          rc_exit exit_status, long stations_failed, const char *extra)
{
    if (!cli->metrics_file && !cli->metrics_push) return;
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
    m.status_only = !engine_command(command);
    m.extra = extra;
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

const char *rc_cli_status_word(rc_exit code, int interrupted)
{
    switch (code) {
    case RC_EXIT_OK:
        return "complete";
    case RC_EXIT_PARTIAL:
        return interrupted ? "interrupted" : "partial";
    default:
        return "failed";
    }
}

void rc_cli_print_json(const rc_cli *cli, cJSON *o, const char *status)
{
    if (!o) {
        fprintf(stderr, "r2cache %s: out of memory printing the JSON answer\n", cli->cmd);
        return;
    }
    cJSON *top = cJSON_CreateObject();
    const cJSON *had = cJSON_GetObjectItemCaseSensitive(o, "status");
    char *word = strdup(status ? status : cJSON_IsString(had) ? had->valuestring : "complete");
    int ok = top && word && cJSON_AddStringToObject(top, "command", cli->cmd) &&
             cJSON_AddStringToObject(top, "version", R2CACHE_VERSION) &&
             cJSON_AddStringToObject(top, "status", word);
    /* the command's own fields after the three, in their order */
    cJSON *c;
    while (ok && (c = o->child) != NULL) {
        cJSON_DetachItemViaPointer(o, c);
        if (c->string && (!strcmp(c->string, "command") || !strcmp(c->string, "version") ||
                          !strcmp(c->string, "status"))) {
            cJSON_Delete(c);
            continue;
        }
        cJSON_AddItemToObject(top, c->string, c);
    }
    char *txt = ok ? cJSON_Print(top) : NULL;
    if (txt)
        printf("%s\n", txt);
    else
        fprintf(stderr, "r2cache %s: out of memory printing the JSON answer\n", cli->cmd);
    free(txt);
    free(word);
    cJSON_Delete(top);
    cJSON_Delete(o);
}

rc_exit rc_cli_engine_status(const rc_cli *cli, rc_status rc, const rc_err *e, int any_failed,
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

static rc_exit fail(rc_cli *cli, rc_exit code, const char *msg)
{
    rc_log_error(&cli->log, "error", "%s", msg);
    /* a cron job that cannot even start (bad ConfigMap, dead store) must
     * still leave its exit status where the alerts look */
    if (cli->groups & RC_OPT_METRICS) rc_cli_metrics(cli, cli->cmd, NULL, code, -1);
    return code;
}

rc_exit rc_cli_setup(rc_cli *cli)
{
    rc_err e;
    rc_err_clear(&e);
    cli->now = (int64_t)time(NULL);
    if (cli->now_s && rc_time_parse(cli->now_s, cli->now, &cli->now, &e) != RC_OK) {
        rc_err_wrap(&e, "--now");
        return fail(cli, RC_EXIT_USAGE, e.msg);
    }
    if (cli->groups & RC_OPT_RANGE) {
        cli->to = cli->now;
        cli->to_us = cli->now * 1000000;
        const char *const given[2] = {cli->from_s, cli->to_s};
        int64_t *sec[2] = {&cli->from, &cli->to}, *us[2] = {&cli->from_us, &cli->to_us};
        for (int k = 0; k < 2; k++) {
            if (!given[k]) continue;
            int rc = cli->subsecond ? rc_time_parse_us(given[k], cli->now, us[k], &e)
                                    : rc_time_parse(given[k], cli->now, sec[k], &e);
            if (rc != RC_OK) {
                rc_err_wrap(&e, k ? "--to" : "--from");
                return fail(cli, RC_EXIT_USAGE, e.msg);
            }
            if (cli->subsecond)
                *sec[k] = rc_floor(*us[k], 1000000) / 1000000;
            else
                *us[k] = *sec[k] * 1000000;
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
        if (cli->workers >= 0) cli->cfg.workers = cli->workers;
        if (cli->layout && rc_layout_parse(cli->layout, &cli->cfg.layout, &e) != RC_OK) {
            rc_err_wrap(&e, "--layout");
            return fail(cli, RC_EXIT_USAGE, e.msg);
        }
        if (rc_config_check_codec(&cli->cfg, &e) != RC_OK) {
            rc_err_wrap(&e, "%s", cli->layout ? "--layout" : cli->config_path);
            return fail(cli, RC_EXIT_USAGE, e.msg);
        }
    }
    if ((cli->groups & RC_OPT_SCOPE) && cli->have_cfg) {
        rc_scope sc = {cli->stations, cli->nstations,   cli->volcano,    cli->region,
                       cli->all,      cli->shard_index, cli->shard_count};
        if (rc_config_select(&cli->cfg, &sc, &cli->targets, &cli->ntargets, &e) != RC_OK)
            return fail(cli, RC_EXIT_USAGE, e.msg);
    }
    if ((cli->needs & RC_NEED_RANGE) && cli->to_us <= cli->from_us) {
        char f[RC_TIME_STR_MAX], t[RC_TIME_STR_MAX];
        rc_time_iso(cli->from, f);
        rc_time_iso(cli->to, t);
        if (cli->subsecond && cli->from_s) snprintf(f, sizeof f, "%s", cli->from_s);
        if (cli->subsecond && cli->to_s) snprintf(t, sizeof t, "%s", cli->to_s);
        fprintf(stderr, "r2cache %s: --to (%s) is not after --from (%s)\n", cli->cmd, t, f);
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

rc_exit rc_cli_open(rc_cli *cli, int need_source)
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
    rc_status rc = rc_store_open(url, &so, &cli->store, &e);
    if (rc != RC_OK) return fail(cli, rc == RC_EINVAL ? RC_EXIT_USAGE : RC_EXIT_UNUSABLE, e.msg);
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
        sopts.auth = cli->cfg.source_auth;
        rc = rc_source_open(cli->cfg.source_url, &sopts, &cli->source, &e);
        if (rc != RC_OK)
            return fail(cli, rc == RC_EINVAL ? RC_EXIT_USAGE : RC_EXIT_UNUSABLE, e.msg);
    }
    return RC_EXIT_OK;
}

void rc_cli_free(rc_cli *cli)
{
    if (cli->source) rc_source_close(cli->source);
    if (cli->store) rc_store_close(cli->store);
    free(cli->targets);
    if (cli->have_cfg) rc_config_free(&cli->cfg);
}
