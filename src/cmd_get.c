/*
 * cmd_get.c: `r2cache get CHANNEL --from --to`: read the cache back as
 * samples, so anyone can check what was stored and take data out. Reads
 * chunks of one span (the base span by default), places every sample at its
 * recorded time (window start + the manifest's offset + k/rate, through
 * readback.c) and writes those inside [from, to) (times to the microsecond:
 * 2025-11-04T22:00:00.25Z) as
 *   csv    time,value lines (the default);
 *   raw    little-endian int32;
 *   mseed  miniSEED 2 records through libmseed's packer (mspack.c, as the
 *          FDSN dataselect service packs them): exact int32 samples, one
 *          record series per continuous segment, so every gap, missing chunk
 *          or clock phase step is a record break;
 *   json   (--json) the samples with their start, rate, segments and gaps.
 * csv and raw write every slot of a chunk; mseed and json leave out the
 * slots the manifest marks as filled (a gap at a chunk's head or tail), as
 * dataselect does, because those are not recorded data. Windows without a
 * chunk are reported on stderr and make the exit status 1. Output goes to
 * stdout or to -o FILE.
 */
#include "r2cache/cli.h"
#include "r2cache/mspack.h"
#include "r2cache/readback.h"
#include "r2cache/timewin.h"
#include "r2cache/version.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum get_format { FMT_CSV = 0, FMT_RAW, FMT_MSEED, FMT_JSON } get_format;

typedef struct get_args {
    const char *format;
    const char *span;
    const char *output;
    int reclen;
    /* resolved before the store opens */
    get_format fmt;
    rc_chan chan;
    const rc_station *st;
    const rc_volcano *vo;
    rc_span sp;
} get_args;

static const rc_cli_opt get_opts[] = {
    RC_OPT_STRING("format", "csv|raw|mseed|json", get_args, format,
                  "csv (time,value lines, the default), raw little-endian int32, mseed "
                  "(miniSEED 2, a record break at every gap) or json (as --json)"),
    {"output", 'o', RC_ARG_STRING, offsetof(get_args, output), "FILE",
     "write to FILE instead of stdout", 0, 0, NULL},
    RC_OPT_INT("reclen", "BYTES", get_args, reclen, 512, 4096,
               "miniSEED record length, 512 or 4096 (default 4096)"),
    RC_OPT_STRING("span", "10m|1h|6h|24h", get_args, span,
                  "read chunks of this span (default: the shortest configured)"),
    RC_OPT_END};

static void defaults(void *args)
{
    get_args *a = args;
    a->format = "csv";
    a->reclen = 4096;
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

/* --- segments (mseed, json) ---------------------------------------------- */

#define FLUSH_SAMPLES (1 << 20) /* mseed: pack a long segment in pieces of about this */

/* A segment as the json output lists it. */
typedef struct seg_info {
    int64_t start_us, next_us; /* first sample; the slot after the last */
    int64_t first, count;      /* index into "samples", samples */
    double rate;
} seg_info;

typedef struct get_out {
    get_format fmt;
    FILE *f;
    const char *name;
    rc_span span;
    const rc_chan *chan;
    rc_mspack_opts mo;
    rc_readback_seg seg; /* mseed: the segment not yet packed */
    /* json: every segment so far (the samples are written as they come) */
    seg_info *segs;
    size_t nsegs, segcap;
    int open;        /* json: the last of segs may be continued */
    int64_t written; /* samples written */
    rc_buf pack;
    int failed; /* out of memory, a packing or a write error; msg says which */
    char msg[RC_ERR_MSG_MAX + 64];
} get_out;

static int oom(get_out *g)
{
    g->failed = 1;
    snprintf(g->msg, sizeof g->msg, "out of memory");
    return 1;
}

static int write_failed(get_out *g)
{
    g->failed = 1;
    snprintf(g->msg, sizeof g->msg, "write failed: %s", strerror(errno));
    return 1;
}

/* End the current segment: mseed packs and writes its records. */
static int seg_flush(get_out *g)
{
    g->open = 0;
    if (g->fmt != FMT_MSEED || !g->seg.n) return 0;
    rc_err e;
    g->pack.len = 0;
    if (rc_mspack_segment(g->chan, g->seg.rate, g->seg.s, g->seg.n, rc_readback_seg_time, &g->seg,
                          &g->mo, &g->pack, &e) != RC_OK) {
        g->failed = 1;
        snprintf(g->msg, sizeof g->msg, "packing miniSEED: %s", e.msg);
        return 1;
    }
    rc_readback_seg_reset(&g->seg);
    if (fwrite(g->pack.data, 1, g->pack.len, g->f) != g->pack.len) return write_failed(g);
    return 0;
}

static int mseed_run(get_out *g, const rc_readback_run *r)
{
    if (g->seg.n && (!rc_readback_seg_continues(&g->seg, r) || g->seg.n >= FLUSH_SAMPLES))
        if (seg_flush(g)) return 1;
    if (rc_readback_seg_add(&g->seg, r) != RC_OK) return oom(g);
    g->written += (int64_t)r->n;
    return 0;
}

static int json_run(get_out *g, const rc_readback_run *r)
{
    int64_t t0 = rc_readback_time_us(r, 0);
    seg_info *si = g->open ? &g->segs[g->nsegs - 1] : NULL;
    if (!si || si->rate != r->rate || llabs(t0 - si->next_us) > RC_READBACK_CONTIG_US) {
        if (g->nsegs == g->segcap) {
            size_t nc = g->segcap ? g->segcap * 2 : 16;
            seg_info *ns = realloc(g->segs, nc * sizeof *ns);
            if (!ns) return oom(g);
            g->segs = ns;
            g->segcap = nc;
        }
        si = &g->segs[g->nsegs++];
        *si = (seg_info){t0, t0, g->written, 0, r->rate};
        g->open = 1;
    }
    for (size_t i = 0; i < r->n; i++, g->written++)
        if (fprintf(g->f, "%s%s%d", g->written ? "," : "", g->written % 16 ? "" : "\n    ",
                    r->s[i]) < 0)
            return write_failed(g);
    si->count += (int64_t)r->n;
    si->next_us = rc_readback_time_us(r, r->n);
    return 0;
}

static int on_run(void *ud, const rc_readback_run *r)
{
    get_out *go = ud;
    if (go->fmt == FMT_MSEED || go->fmt == FMT_JSON) {
        if (r->filled) return seg_flush(go); /* interpolated slots: not data, a gap */
        return go->fmt == FMT_MSEED ? mseed_run(go, r) : json_run(go, r);
    }
    for (size_t i = 0; i < r->n; i++) {
        int32_t v = r->s[i];
        if (go->fmt == FMT_RAW) {
            uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
            fwrite(le, 1, 4, go->f);
        } else {
            char ts[48];
            iso_us(rc_readback_time_us(r, i), ts, sizeof ts);
            fprintf(go->f, "%s,%d\n", ts, v);
        }
    }
    go->written += (int64_t)r->n;
    return 0;
}

static void print_missing(void *ud, int64_t w, const char *msg)
{
    const get_out *go = ud;
    char ts[RC_TIME_STR_MAX];
    rc_time_iso(w, ts);
    fprintf(stderr, "r2cache get: %s %s window %s: %s\n", go->name, rc_span_name(go->span), ts,
            msg);
}

/* The rest of the json document after the samples: where they are, the gaps
 * in [from, to), the counts. */
static int json_tail(get_out *g, const rc_cli *cli, const get_args *a, double rate,
                     const rc_readback_stats *rs)
{
    FILE *f = g->f;
    char t[48], u[48];
    int64_t from = cli->from_us, to = cli->to_us;
    if (g->nsegs) rate = g->segs[0].rate;
    fprintf(f, "%s],\n", g->written ? "\n  " : "");
    if (g->nsegs) {
        iso_us(g->segs[0].start_us, t, sizeof t);
        fprintf(f, "  \"start\": \"%s\",\n", t);
    } else {
        fprintf(f, "  \"start\": null,\n");
    }
    if (rate > 0)
        fprintf(f, "  \"rate\": %.17g,\n", rate);
    else
        fprintf(f, "  \"rate\": null,\n");
    fprintf(f, "  \"sample_count\": %lld,\n  \"segments\": [", (long long)g->written);
    for (size_t i = 0; i < g->nsegs; i++) {
        const seg_info *s = &g->segs[i];
        iso_us(s->start_us, t, sizeof t);
        iso_us(s->next_us, u, sizeof u);
        fprintf(f,
                "%s\n    {\"start\": \"%s\", \"end\": \"%s\", \"first\": %lld, \"count\": %lld, "
                "\"rate\": %.17g}",
                i ? "," : "", t, u, (long long)s->first, (long long)s->count, s->rate);
    }
    fprintf(f, "%s],\n  \"gaps\": [", g->nsegs ? "\n  " : "");
    /* a gap: [from, to) time in which a sample of the grid is missing */
    int ngaps = 0;
    int64_t at = from;
    for (size_t i = 0; i <= g->nsegs; i++) {
        int64_t next = i < g->nsegs ? g->segs[i].start_us : to;
        double period = i < g->nsegs ? 1e6 / g->segs[i].rate : 0;
        /* before the first segment the grid may start up to one period after
         * from; between segments any slack beyond rounding is a gap */
        int64_t slack = i == 0 && i < g->nsegs ? (int64_t)period - RC_READBACK_CONTIG_US
                                               : RC_READBACK_CONTIG_US;
        if (i == g->nsegs) slack = 0;
        if (next - at > slack && next > at) {
            iso_us(at, t, sizeof t);
            iso_us(next < to ? next : to, u, sizeof u);
            fprintf(f, "%s\n    {\"start\": \"%s\", \"end\": \"%s\"}", ngaps ? "," : "", t, u);
            ngaps++;
        }
        if (i < g->nsegs) at = g->segs[i].next_us;
    }
    fprintf(f, "%s],\n", ngaps ? "\n  " : "");
    fprintf(f,
            "  \"gap_count\": %d,\n  \"chunks_read\": %lld,\n  \"windows_missing\": %lld,\n"
            "  \"span\": \"%s\",\n  \"status\": \"%s\"\n}\n",
            ngaps, (long long)rs->chunks, (long long)rs->missing, rc_span_name(a->sp),
            rs->missing ? "partial" : "complete"); /* as the exit status: 1 = partial */
    return ferror(f) ? -1 : 0;
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
    static const char *const names[] = {"csv", "raw", "mseed", "json"};
    int fmt = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(a->format, names[i]) == 0) fmt = i;
    if (strcmp(a->format, "miniseed") == 0) fmt = FMT_MSEED;
    if (fmt < 0) {
        fprintf(stderr, "r2cache get: --format %s: use csv, raw, mseed or json\n", a->format);
        return RC_EXIT_USAGE;
    }
    if (cli->json && fmt != FMT_CSV && fmt != FMT_JSON) {
        fprintf(stderr, "r2cache get: --json and --format %s: give one of them\n", a->format);
        return RC_EXIT_USAGE;
    }
    a->fmt = cli->json ? FMT_JSON : (get_format)fmt;
    if (a->reclen != 512 && a->reclen != 4096) {
        fprintf(stderr, "r2cache get: --reclen %d: miniSEED records here are 512 or 4096 bytes\n",
                a->reclen);
        return RC_EXIT_USAGE;
    }
    if (a->fmt == FMT_MSEED && !a->output && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "r2cache get: miniSEED is binary: give -o FILE or redirect stdout\n");
        return RC_EXIT_USAGE;
    }
    if (!cli->from_s) {
        fprintf(stderr, "r2cache get: --from is required\n");
        return RC_EXIT_USAGE;
    }
    cli->subsecond = 1;
    return RC_EXIT_OK;
}

static rc_exit span_of(rc_cli *cli)
{
    get_args *a = cli->args;
    rc_err e;
    a->sp = rc_config_base_span(&cli->cfg);
    if (a->span && rc_span_parse(a->span, &a->sp, &e) != RC_OK) {
        fprintf(stderr, "r2cache get: --span %s: %s\n", a->span, e.msg);
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

/* A pattern as the channel (HV.UWE..HH?): fine when it matches exactly one
 * of the channels --station would select with it. */
static rc_exit one_channel(rc_cli *cli)
{
    get_args *a = cli->args;
    rc_err e;
    const char *pat = cli->positional[0];
    rc_scope sc = {&pat, 1, NULL, NULL, 0, 0, 0};
    rc_target *t = NULL;
    size_t n = 0;
    if (rc_config_select(&cli->cfg, &sc, &t, &n, &e) != RC_OK) {
        /* the channel is an argument here, not a --station */
        const char *m = strncmp(e.msg, "--station ", 10) == 0 ? e.msg + 10 : e.msg;
        fprintf(stderr, "r2cache get: %s\n", m);
        return RC_EXIT_USAGE;
    }
    if (n != 1) {
        char list[512] = "";
        size_t len = 0;
        for (size_t i = 0; i < n && i < 5 && len < sizeof list; i++) {
            char id[RC_CHAN_STR_MAX];
            rc_chan_format(&t[i].st->chan, id);
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", id);
        }
        fprintf(stderr,
                "r2cache get: %s matches %zu channels (%s%s); get reads one: name it, or use a "
                "pattern that matches only it\n",
                pat, n, list, n > 5 ? ", ..." : "");
        free(t);
        return RC_EXIT_USAGE;
    }
    a->st = t[0].st;
    a->vo = t[0].volc;
    a->chan = t[0].st->chan;
    free(t);
    return span_of(cli);
}

/* After the configuration: the channel is in it, the span is known. */
static rc_exit prepare(rc_cli *cli)
{
    get_args *a = cli->args;
    rc_err e;
    if (rc_select_is_pattern(cli->positional[0])) return one_channel(cli);
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
    return span_of(cli);
}

const rc_cmd_spec rc_cmd_get_spec = {
    "r2cache get NET.STA.LOC.CHA --config FILE --from TIME --to TIME "
    "[--format csv|raw|mseed|json | --json] [-o FILE]",
    "Write the cached samples of one channel in a time range: as CSV, raw int32,\n"
    "miniSEED 2 (exact samples, a record break at every gap) or JSON (samples with\n"
    "their start, rate, segments and gaps). Times may have a fractional second\n"
    "(2025-11-04T22:00:00.25Z).",
    get_opts,
    sizeof(get_args),
    defaults,
    check,
    prepare,
    NULL};

rc_exit rc_cmd_get(rc_cli *cli)
{
    get_args *a = cli->args;
    rc_err e;
    rc_chan chan = a->chan;
    const rc_station *st = a->st;
    const rc_volcano *vo = a->vo;
    rc_span span = a->sp;
    rc_layout layout = cli->cfg.layout;
    double rate = st->sample_rate;
    if (rate <= 0 && layout == RC_LAYOUT_SEED &&
        rc_readback_rate(cli->store, layout, &chan, vo->name, cli->from, &rate, &e) != RC_OK) {
        fprintf(stderr, "r2cache get: nothing cached for %s around %s\n", cli->positional[0],
                cli->from_s);
        return RC_EXIT_PARTIAL;
    }
    FILE *f = stdout;
    if (a->output && !(f = fopen(a->output, "wb"))) {
        fprintf(stderr, "r2cache get: cannot write %s: %s\n", a->output, strerror(errno));
        return RC_EXIT_PARTIAL;
    }
    get_out go;
    memset(&go, 0, sizeof go);
    go.fmt = a->fmt;
    go.f = f;
    go.name = cli->positional[0];
    go.span = span;
    go.chan = &chan;
    go.mo.reclen = a->reclen;
    go.mo.quality = 'M'; /* merged and deduplicated by the cache, as dataselect says */
    rc_readback_req q;
    memset(&q, 0, sizeof q);
    q.store = cli->store;
    q.layout = layout;
    q.chan = chan;
    q.volcano = vo->name;
    q.rate = rate;
    q.span = span;
    q.from_us = cli->from_us;
    q.to_us = cli->to_us;
    q.on_run = on_run;
    q.on_missing = print_missing;
    q.ud = &go;
    if (go.fmt == FMT_CSV) fprintf(f, "time,value\n");
    if (go.fmt == FMT_JSON) {
        char id[RC_CHAN_STR_MAX], t[48], u[48];
        rc_chan_format(&chan, id);
        iso_us(cli->from_us, t, sizeof t);
        iso_us(cli->to_us, u, sizeof u);
        fprintf(f,
                "{\n  \"command\": \"get\",\n  \"version\": \"%s\",\n  \"channel\": \"%s\",\n"
                "  \"network\": \"%s\",\n  \"station\": \"%s\",\n  \"location_code\": \"%s\",\n"
                "  \"channel_code\": \"%s\",\n  \"volcano\": \"%s\",\n  \"region\": \"%s\",\n"
                "  \"from\": \"%s\",\n  \"to\": \"%s\",\n  \"samples\": [",
                R2CACHE_VERSION, id, chan.net, chan.sta, chan.loc, chan.cha, vo->name, vo->location,
                t, u);
    }
    rc_readback_stats rs;
    memset(&rs, 0, sizeof rs);
    int rc = rc_readback_read(&q, &rs, &e);
    if (rc == RC_OK && !go.failed) seg_flush(&go);
    rc_exit code = RC_EXIT_OK;
    if (go.failed) {
        fprintf(stderr, "r2cache get: %s\n", go.msg);
        code = RC_EXIT_PARTIAL;
    } else if (rc != RC_OK) {
        fprintf(stderr, "r2cache get: %s\n", e.msg);
        code = RC_EXIT_PARTIAL;
    } else if (go.fmt == FMT_JSON && json_tail(&go, cli, a, rate, &rs) != 0) {
        code = RC_EXIT_PARTIAL;
    }
    if (fflush(f) != 0 || ferror(f)) {
        fprintf(stderr, "r2cache get: writing %s failed: %s\n", a->output ? a->output : "stdout",
                strerror(errno));
        code = RC_EXIT_PARTIAL;
    }
    if (f != stdout && fclose(f) != 0 && code == RC_EXIT_OK) {
        fprintf(stderr, "r2cache get: writing %s failed: %s\n", a->output, strerror(errno));
        code = RC_EXIT_PARTIAL;
    }
    rc_readback_seg_free(&go.seg);
    free(go.segs);
    rc_buf_free(&go.pack);
    if (code != RC_EXIT_OK) return code;
    fprintf(stderr, "r2cache get: %lld samples from %lld chunks; %lld windows not cached\n",
            (long long)go.written, (long long)rs.chunks, (long long)rs.missing);
    return rs.missing ? RC_EXIT_PARTIAL : RC_EXIT_OK;
}
