/*
 * cmd_get.c: `r2cache get CHANNEL --from --to`: read the cache back as
 * samples, so anyone can check what was stored. Reads chunks of one span
 * (the base span by default), places every sample at its recorded time
 * (window start + the manifest's offset + k/rate) and prints those inside
 * [from, to) as CSV (time,value) or raw little-endian int32. Windows without
 * a chunk are reported on stderr and make the exit status 1.
 */
#include "r2cache/cli.h"
#include "r2cache/codec.h"
#include "r2cache/manifest.h"
#include "r2cache/shape.h"
#include "r2cache/timewin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct get_args {
    const char *format;
    const char *span;
    /* resolved before the store opens */
    int raw;
    rc_chan chan;
    const rc_station *st;
    const rc_volcano *vo;
    rc_span sp;
} get_args;

static const rc_cli_opt get_opts[] = {
    RC_OPT_STRING("format", "csv|raw", get_args, format,
                  "csv (time,value lines, the default) or raw little-endian int32"),
    RC_OPT_STRING("span", "10m|1h|6h|24h", get_args, span,
                  "read chunks of this span (default: the shortest configured)"),
    RC_OPT_END};

static void defaults(void *args)
{
    ((get_args *)args)->format = "csv";
}

typedef struct rate_ctx {
    rc_layout layout;
    const rc_chan *chan;
    double rate;
} rate_ctx;

static int rate_cb(void *ud, const rc_obj_info *o)
{
    rate_ctx *rc = ud;
    rc_key_info ki;
    rc_err e;
    if (rc_key_parse(rc->layout, o->key, &ki, &e) != RC_OK)
        return 0;
    if (ki.kind == RC_KEY_CHUNK && rc_chan_equal(&ki.chunk.chan, rc->chan) && ki.chunk.rate > 0) {
        rc->rate = ki.chunk.rate;
        return 1;
    }
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

/* Before the configuration: one channel, the format, --from. */
static rc_exit check(rc_cli *cli)
{
    get_args *a = cli->args;
    if (cli->npositional != 1) {
        fprintf(stderr, "r2cache get: give exactly one channel NET.STA.LOC.CHA (see r2cache get "
                        "--help)\n");
        return RC_EXIT_USAGE;
    }
    if (strcmp(a->format, "raw") == 0)
        a->raw = 1;
    else if (strcmp(a->format, "csv") != 0) {
        fprintf(stderr, "r2cache get: --format %s: use csv or raw\n", a->format);
        return RC_EXIT_USAGE;
    }
    if (!cli->from_s) {
        fprintf(stderr, "r2cache get: --from is required\n");
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

/* After the configuration: the channel is in it, the span is known. */
static rc_exit prepare(rc_cli *cli)
{
    get_args *a = cli->args;
    rc_err e;
    if (rc_chan_parse(cli->positional[0], &a->chan, &e) != RC_OK) {
        fprintf(stderr, "r2cache get: %s\n", e.msg);
        return RC_EXIT_USAGE;
    }
    for (size_t i = 0; i < cli->cfg.nvolcanoes && !a->st; i++)
        for (size_t j = 0; j < cli->cfg.volcanoes[i].nstations; j++)
            if (rc_chan_equal(&cli->cfg.volcanoes[i].stations[j].chan, &a->chan)) {
                a->st = &cli->cfg.volcanoes[i].stations[j];
                a->vo = &cli->cfg.volcanoes[i];
                break;
            }
    if (!a->st) {
        fprintf(stderr, "r2cache get: %s is not in the configuration %s\n", cli->positional[0],
                cli->config_path);
        return RC_EXIT_USAGE;
    }
    a->sp = rc_config_base_span(&cli->cfg);
    if (a->span && rc_span_parse(a->span, &a->sp, &e) != RC_OK) {
        fprintf(stderr, "r2cache get: --span %s: %s\n", a->span, e.msg);
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

const rc_cmd_spec rc_cmd_get_spec = {
    "r2cache get NET.STA.LOC.CHA --config FILE --from TIME --to TIME [--format csv|raw]",
    "Print the cached samples of one channel in a time range.",
    get_opts, sizeof(get_args), defaults, check, prepare, NULL};

rc_exit rc_cmd_get(rc_cli *cli)
{
    get_args *a = cli->args;
    rc_err e;
    int raw = a->raw;
    rc_chan chan = a->chan;
    const rc_station *st = a->st;
    const rc_volcano *vo = a->vo;
    rc_span span = a->sp;
    rc_layout layout = cli->cfg.layout;
    double rate = st->sample_rate;
    if (rate <= 0 && layout == RC_LAYOUT_SEED) {
        char prefix[RC_KEY_MAX];
        rate_ctx rc = {layout, &chan, 0};
        if (rc_key_prefix_channel_day(layout, &chan, vo->name, rc_day_start(cli->from), prefix,
                                      sizeof prefix, &e) == RC_OK)
            rc_store_list(cli->store, prefix, rate_cb, &rc, &e);
        rate = rc.rate;
        if (rate <= 0) {
            fprintf(stderr, "r2cache get: nothing cached for %s around %s\n", cli->positional[0],
                    cli->from_s);
            return RC_EXIT_PARTIAL;
        }
    }
    rc_codec *codec = NULL;
    if (rc_codec_new(3, &codec, &e) != RC_OK) {
        fprintf(stderr, "r2cache get: %s\n", e.msg);
        return RC_EXIT_PARTIAL;
    }
    int64_t sp = rc_span_seconds(span);
    int64_t from_us = cli->from * 1000000, to_us = cli->to * 1000000;
    int64_t printed = 0, chunks = 0, missing = 0;
    int64_t mday = INT64_MIN;
    rc_manifest m;
    int have_m = 0;
    if (!raw)
        printf("time,value\n");
    for (int64_t w = rc_floor(cli->from, sp); w < cli->to; w += sp) {
        if (rc_day_start(w) != mday) {
            if (have_m)
                rc_manifest_free(&m);
            have_m = 0;
            mday = rc_day_start(w);
            rc_manifest_id mid;
            memset(&mid, 0, sizeof mid);
            mid.chan = chan;
            snprintf(mid.volcano, sizeof mid.volcano, "%s", vo->name);
            mid.rate = rate;
            mid.day = mday;
            char mkey[RC_KEY_MAX];
            if (rc_key_manifest(layout, &mid, mkey, sizeof mkey, &e) == RC_OK &&
                rc_manifest_load(cli->store, layout, mkey, &m, NULL, &e) == RC_OK)
                have_m = 1;
        }
        rc_chunk_id id;
        memset(&id, 0, sizeof id);
        id.chan = chan;
        snprintf(id.volcano, sizeof id.volcano, "%s", vo->name);
        id.rate = rate;
        id.span = span;
        id.start = w;
        char key[RC_KEY_MAX];
        rc_buf body = RC_BUF_INIT;
        int32_t *s = NULL;
        size_t n = 0;
        if (rc_key_chunk(layout, &id, key, sizeof key, &e) != RC_OK ||
            rc_store_get(cli->store, key, &body, NULL, &e) != RC_OK ||
            rc_codec_decode(codec, body.data, body.len, 0, &s, &n, &e) != RC_OK) {
            char ts[RC_TIME_STR_MAX];
            rc_time_iso(w, ts);
            fprintf(stderr, "r2cache get: %s %s window %s: %s\n", cli->positional[0],
                    rc_span_name(span), ts, e.msg);
            missing++;
            rc_buf_free(&body);
            continue;
        }
        rc_buf_free(&body);
        chunks++;
        const rc_mentry *me = have_m ? rc_manifest_find(&m, span, w) : NULL;
        double r = have_m && m.sample_rate > 0 ? m.sample_rate : rate;
        /* The time rule (manifest.h): slot k is at START + offset_s + k/rate,
         * where from each phase step on its start and offset replace them. */
        int64_t seg_start = w, seg_slot = 0;
        double off = me ? me->offset_s : 0;
        int step = 0;
        for (size_t k = 0; k < n; k++) {
            while (me && step < me->nsteps &&
                   (int64_t)k >= rc_slots(r, me->steps[step].start - w)) {
                seg_start = me->steps[step].start;
                seg_slot = rc_slots(r, me->steps[step].start - w);
                off = me->steps[step].offset_s;
                step++;
            }
            int64_t t_us = seg_start * 1000000 + llround(off * 1e6) +
                           llround((double)((int64_t)k - seg_slot) * 1e6 / r);
            if (t_us < from_us || t_us >= to_us)
                continue;
            if (raw) {
                uint8_t le[4] = {(uint8_t)s[k], (uint8_t)(s[k] >> 8), (uint8_t)(s[k] >> 16),
                                 (uint8_t)(s[k] >> 24)};
                fwrite(le, 1, 4, stdout);
            } else {
                char ts[48];
                iso_us(t_us, ts, sizeof ts);
                printf("%s,%d\n", ts, s[k]);
            }
            printed++;
        }
        free(s);
    }
    if (have_m)
        rc_manifest_free(&m);
    rc_codec_free(codec);
    fflush(stdout);
    fprintf(stderr, "r2cache get: %lld samples from %lld chunks; %lld windows not cached\n",
            (long long)printed, (long long)chunks, (long long)missing);
    return missing ? RC_EXIT_PARTIAL : RC_EXIT_OK;
}
