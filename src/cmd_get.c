/*
 * cmd_get.c: `r2cache get CHANNEL --from --to`: read the cache back as
 * samples, so anyone can check what was stored. Reads chunks of one span
 * (the base span by default), places every sample at its recorded time
 * (window start + the manifest's offset + k/rate, through readback.c) and prints those inside
 * [from, to) as CSV (time,value) or raw little-endian int32. Windows without
 * a chunk are reported on stderr and make the exit status 1.
 */
#include "r2cache/cli.h"
#include "r2cache/readback.h"
#include "r2cache/shape.h"
#include "r2cache/timewin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_FORMAT = 1, O_SPAN };

static const rc_cli_opt get_opts[] = {
    {"format", "csv|raw", "csv (time,value lines, the default) or raw little-endian int32", O_FORMAT},
    {"span", "10m|1h|6h|24h", "read chunks of this span (default: the shortest configured)", O_SPAN},
    {NULL, NULL, NULL, 0}};

typedef struct get_args {
    const char *format;
    const char *span;
} get_args;

static int on_opt(void *ud, int id, const char *val)
{
    get_args *a = ud;
    if (id == O_FORMAT)
        a->format = val;
    else if (id == O_SPAN)
        a->span = val;
    return 0;
}

static void iso_us(int64_t us, char *out, size_t n)
{
    int64_t s = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - s * 1000000;
    rc_tm tm;
    rc_time_split(s, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.year, tm.mon, tm.mday, tm.hour,
             tm.min, tm.sec, (long long)frac);
}

typedef struct get_out {
    int raw;
    const char *name;
    rc_span span;
} get_out;

static int print_run(void *ud, const rc_readback_run *r)
{
    const get_out *go = ud;
    for (size_t i = 0; i < r->n; i++) {
        int32_t v = r->s[i];
        if (go->raw) {
            uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
            fwrite(le, 1, 4, stdout);
        } else {
            char ts[48];
            iso_us(rc_readback_time_us(r, i), ts, sizeof ts);
            printf("%s,%d\n", ts, v);
        }
    }
    return 0;
}

static void print_missing(void *ud, int64_t w, const char *msg)
{
    const get_out *go = ud;
    char ts[RC_TIME_STR_MAX];
    rc_time_iso(w, ts);
    fprintf(stderr, "r2cache get: %s %s window %s: %s\n", go->name, rc_span_name(go->span), ts, msg);
}

int rc_cmd_get(rc_cli *cli, int argc, char **argv)
{
    static const char usage[] =
        "r2cache get NET.STA.LOC.CHA --config FILE --from TIME --to TIME [--format csv|raw]";
    static const char desc[] = "Print the cached samples of one channel in a time range.";
    get_args a = {"csv", NULL};
    int help = 0;
    cli->groups = RC_OPT_CONFIG | RC_OPT_RANGE | RC_OPT_ARGS;
    int code = rc_cli_parse(cli, argc, argv, get_opts, on_opt, &a, usage, desc, &help);
    if (code || help)
        return code;
    if (cli->npositional != 1) {
        fprintf(stderr, "r2cache get: give exactly one channel NET.STA.LOC.CHA (see r2cache get "
                        "--help)\n");
        return RC_EXIT_USAGE;
    }
    int raw = 0;
    if (strcmp(a.format, "raw") == 0)
        raw = 1;
    else if (strcmp(a.format, "csv") != 0) {
        fprintf(stderr, "r2cache get: --format %s: use csv or raw\n", a.format);
        return RC_EXIT_USAGE;
    }
    if (!cli->from_s) {
        fprintf(stderr, "r2cache get: --from is required\n");
        return RC_EXIT_USAGE;
    }
    if ((code = rc_cli_setup(cli)))
        return code;
    if (cli->to <= cli->from) {
        fprintf(stderr, "r2cache get: --to must be after --from\n");
        return RC_EXIT_USAGE;
    }
    rc_err e;
    rc_chan chan;
    if (rc_chan_parse(cli->positional[0], &chan, &e) != RC_OK) {
        fprintf(stderr, "r2cache get: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    const rc_station *st = NULL;
    const rc_volcano *vo = NULL;
    for (size_t i = 0; i < cli->cfg.nvolcanoes && !st; i++)
        for (size_t j = 0; j < cli->cfg.volcanoes[i].nstations; j++)
            if (rc_chan_equal(&cli->cfg.volcanoes[i].stations[j].chan, &chan)) {
                st = &cli->cfg.volcanoes[i].stations[j];
                vo = &cli->cfg.volcanoes[i];
                break;
            }
    if (!st) {
        fprintf(stderr, "r2cache get: %s is not in the configuration %s\n", cli->positional[0],
                cli->config_path);
        return RC_EXIT_USAGE;
    }
    rc_span span = rc_config_base_span(&cli->cfg);
    if (a.span && rc_span_parse(a.span, &span, &e) != RC_OK) {
        fprintf(stderr, "r2cache get: --span %s: %s\n", a.span, e.msg);
        return RC_EXIT_USAGE;
    }
    if ((code = rc_cli_open(cli, 0)))
        return code;
    rc_layout layout = cli->cfg.layout;
    double rate = st->sample_rate;
    if (rate <= 0 && layout == RC_LAYOUT_SEED &&
        rc_readback_rate(cli->store, layout, &chan, vo->name, cli->from, &rate, &e) != RC_OK) {
        fprintf(stderr, "r2cache get: nothing cached for %s around %s\n", cli->positional[0],
                cli->from_s);
        return RC_EXIT_PARTIAL;
    }
    get_out go = {raw, cli->positional[0], span};
    rc_readback_req q;
    memset(&q, 0, sizeof q);
    q.store = cli->store;
    q.layout = layout;
    q.chan = chan;
    q.volcano = vo->name;
    q.rate = rate;
    q.span = span;
    q.from_us = cli->from * 1000000;
    q.to_us = cli->to * 1000000;
    q.on_run = print_run;
    q.on_missing = print_missing;
    q.ud = &go;
    if (!raw)
        printf("time,value\n");
    rc_readback_stats rs;
    if (rc_readback_read(&q, &rs, &e) != RC_OK) {
        fprintf(stderr, "r2cache get: %s\n", e.msg);
        return RC_EXIT_PARTIAL;
    }
    int64_t printed = rs.samples, chunks = rs.chunks, missing = rs.missing;
    fprintf(stderr, "r2cache get: %lld samples from %lld chunks; %lld windows not cached\n",
            (long long)printed, (long long)chunks, (long long)missing);
    return missing ? RC_EXIT_PARTIAL : RC_EXIT_OK;
}
