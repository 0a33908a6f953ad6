/*
 * fdsnws.c: FDSN dataselect 1 and availability 1 answered from the cache
 * (see fdsnws.h; behaviour documented in docs/operations.md, "FDSN web
 * services").
 *
 * Dataselect reads each matching channel through readback.c (the read path
 * of `r2cache get`), cuts the samples into continuous segments (a missing
 * chunk, a filled head or tail the manifest locates, or a change of the
 * sample clock phase ends a segment) and packs each segment as one record
 * series (mspack.c). Availability derives the same segments from the
 * manifests alone, so its `request` output asks dataselect for exactly what
 * it returns.
 */
#include "r2cache/fdsnws.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "r2cache/fdsnq.h"
#include "r2cache/manifest.h"
#include "r2cache/mspack.h"
#include "r2cache/readback.h"
#include "r2cache/window.h"
#include "r2cache/timewin.h"

#define DS_VERSION "1.1.0"
#define AV_VERSION "1.0.0"
#define QUALITY 'M'                     /* merged and deduplicated by the cache */
#define MAX_SAMPLES 25000000            /* per dataselect request: the answer is built in memory */
#define MAX_DAYS 3660                   /* channel-days per availability request */
#define CONTIG_US RC_READBACK_CONTIG_US /* times within this are the next sample */

static const char *const T_TEXT = "text/plain; charset=utf-8";
static const char *const T_MSEED = "application/vnd.fdsn.mseed";
static const char *const T_JSON = "application/json";
static const char *const T_CSV = "text/csv; charset=utf-8";
static const char *const T_WADL = "application/xml";

void rc_fdsnws_reply_free(rc_fdsnws_reply *r)
{
    rc_buf_free(&r->body);
}

static const char *reason(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request-URI Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

/* Wall clock in microseconds (FDSN times). */
static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The FDSN web service error document (plain text). */
static int fail(rc_fdsnws_reply *out, int status, const char *path, const char *query,
                const char *version, const char *msg)
{
    rc_buf_reset(&out->body);
    out->status = status;
    out->content_type = T_TEXT;
    char now[32];
    rc_fdsnq_time_format(now_us(), now);
    const char *slash = strrchr(path, '/');
    size_t base = slash ? (size_t)(slash - path) : strlen(path);
    rc_buf_printf(&out->body,
                  "Error %d: %s\n\n%s\n\nUsage details are available from %.*s/application.wadl\n\n"
                  "Request:\n%s%s%s\n\nRequest Submitted:\n%s\n\nService version:\n%s\n",
                  status, reason(status), msg, (int)base, path, path, query && *query ? "?" : "",
                  query ? query : "", now, version);
    return 0;
}

static int nodata(rc_fdsnws_reply *out, int code, const char *path, const char *query,
                  const char *version)
{
    if (code == 404)
        return fail(out, 404, path, query, version, "No data: nothing cached matches the request");
    rc_buf_reset(&out->body);
    out->status = 204;
    out->content_type = T_TEXT;
    return 0;
}

/* --- channels ------------------------------------------------------------ */

typedef struct chan_ref {
    const rc_station *st;
    const rc_volcano *vo;
} chan_ref;

static int chan_cmp(const rc_chan *a, const rc_chan *b)
{
    int c;
    if ((c = strcmp(a->net, b->net)) || (c = strcmp(a->sta, b->sta)) ||
        (c = strcmp(a->loc, b->loc)) || (c = strcmp(a->cha, b->cha)))
        return c;
    return 0;
}

static int ref_cmp(const void *x, const void *y)
{
    return chan_cmp(&((const chan_ref *)x)->st->chan, &((const chan_ref *)y)->st->chan);
}

/* Configured channels matching sel, sorted by NET.STA.LOC.CHA (deduplicated):
 * the order availability lists them in, so its request output read back by
 * dataselect gives the bytes of the GET. */
static size_t match_chans(const rc_config *cfg, const rc_fdsnq_sel *sel, chan_ref **out)
{
    size_t n = 0, cap = 0;
    chan_ref *v = NULL;
    for (size_t i = 0; i < cfg->nvolcanoes; i++)
        for (size_t j = 0; j < cfg->volcanoes[i].nstations; j++) {
            const rc_station *st = &cfg->volcanoes[i].stations[j];
            if (!rc_fdsnq_match(sel->net, st->chan.net) ||
                !rc_fdsnq_match(sel->sta, st->chan.sta) ||
                !rc_fdsnq_match(sel->loc, st->chan.loc) || !rc_fdsnq_match(sel->cha, st->chan.cha))
                continue;
            int dup = 0;
            for (size_t k = 0; k < n && !dup; k++)
                dup = rc_chan_equal(&v[k].st->chan, &st->chan);
            if (dup) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                chan_ref *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    free(v);
                    *out = NULL;
                    return 0;
                }
                v = nv;
            }
            v[n].st = st;
            v[n].vo = &cfg->volcanoes[i];
            n++;
        }
    if (n > 1) qsort(v, n, sizeof *v, ref_cmp);
    *out = v;
    return n;
}

static int open_store(const rc_fdsnws_ctx *ctx, rc_store **st, rc_err *e)
{
    const char *url = ctx->store_url        ? ctx->store_url
                      : ctx->cfg->store_url ? ctx->cfg->store_url
                                            : "./r2cache-data";
    rc_store_opts o;
    if (ctx->store_opts)
        o = *ctx->store_opts;
    else
        rc_store_opts_default(&o);
    return rc_store_open(url, &o, st, e);
}

static rc_layout layout_of(const rc_fdsnws_ctx *ctx)
{
    return ctx->layout < 0 ? ctx->cfg->layout : (rc_layout)ctx->layout;
}

/* The channel's rate: configured, or learnt from the first day of [from,
 * to) that has a chunk (seed layout). 0 when unknown. */
static double chan_rate(rc_store *store, rc_layout l, const chan_ref *c, int64_t from_us,
                        int64_t to_us)
{
    if (c->st->sample_rate > 0 || l != RC_LAYOUT_SEED) return c->st->sample_rate;
    int64_t d0 = rc_day_start(from_us / 1000000), d1 = rc_day_start((to_us - 1) / 1000000);
    for (int64_t d = d0, k = 0; d <= d1 && k < MAX_DAYS; d += 86400, k++) {
        double r;
        rc_err e;
        if (rc_readback_rate(store, l, &c->st->chan, c->vo->name, d, &r, &e) == RC_OK) return r;
    }
    return 0;
}

/* --- dataselect ------------------------------------------------------------ */

typedef struct ds_chan {
    rc_readback_seg *seg;
    size_t nseg, cap;
    int oom;
} ds_chan;

static int on_run(void *ud, const rc_readback_run *r)
{
    ds_chan *c = ud;
    if (r->filled)
        return 0; /* a filled head or tail: not data; the next run starts a new segment */
    rc_readback_seg *g = c->nseg ? &c->seg[c->nseg - 1] : NULL;
    if (!g || !rc_readback_seg_continues(g, r)) {
        if (c->nseg == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 8;
            rc_readback_seg *ns = realloc(c->seg, nc * sizeof *ns);
            if (!ns) return c->oom = 1;
            c->seg = ns;
            c->cap = nc;
        }
        g = &c->seg[c->nseg++];
        memset(g, 0, sizeof *g);
    }
    if (rc_readback_seg_add(g, r) != RC_OK) return c->oom = 1;
    return 0;
}

static int dataselect(const rc_fdsnws_ctx *ctx, const rc_fdsnq *q, const char *path,
                      const char *query, rc_fdsnws_reply *out)
{
    rc_err e;
    rc_layout l = layout_of(ctx);
    int64_t now = now_us();
    /* resolve every selection first: the size check comes before any read */
    double est = 0;
    for (size_t i = 0; i < q->nsel; i++) {
        const rc_fdsnq_sel *s = &q->sel[i];
        int64_t end = s->has_end ? s->end_us : now;
        if (end <= s->start_us)
            return fail(out, 400, path, query, DS_VERSION, "endtime: must be after starttime");
        chan_ref *cs = NULL;
        size_t n = match_chans(ctx->cfg, s, &cs);
        for (size_t k = 0; k < n; k++)
            est += (double)(end - s->start_us) / 1e6 *
                   (cs[k].st->sample_rate > 0 ? cs[k].st->sample_rate : 100);
        free(cs);
    }
    if (est > MAX_SAMPLES) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "Request too large: about %.0f samples asked for, at most %d per request; ask "
                 "for fewer channels or a shorter time window",
                 est, MAX_SAMPLES);
        return fail(out, 413, path, query, DS_VERSION, msg);
    }
    rc_store *store = NULL;
    if (open_store(ctx, &store, &e) != RC_OK) return fail(out, 503, path, query, DS_VERSION, e.msg);
    rc_mspack_opts mo = {512, QUALITY};
    rc_span span = rc_config_base_span(ctx->cfg);
    int status = 0;
    char msg[RC_ERR_MSG_MAX + RC_KEY_MAX + 64] = "";
    for (size_t i = 0; i < q->nsel && !status; i++) {
        const rc_fdsnq_sel *s = &q->sel[i];
        int64_t end = s->has_end ? s->end_us : now;
        chan_ref *cs = NULL;
        size_t n = match_chans(ctx->cfg, s, &cs);
        for (size_t k = 0; k < n && !status; k++) {
            if (!rc_fdsnq_match(q->quality, "M")) continue;
            double rate = chan_rate(store, l, &cs[k], s->start_us, end);
            if (rate <= 0 && l == RC_LAYOUT_SEED) continue; /* nothing cached in the window */
            ds_chan dc;
            memset(&dc, 0, sizeof dc);
            rc_readback_req rq;
            memset(&rq, 0, sizeof rq);
            rq.store = store;
            rq.layout = l;
            rq.chan = cs[k].st->chan;
            rq.volcano = cs[k].vo->name;
            rq.rate = rate;
            rq.span = span;
            rq.from_us = s->start_us;
            rq.to_us = end;
            rq.on_run = on_run;
            rq.ud = &dc;
            int rc = rc_readback_read(&rq, NULL, &e);
            if (dc.oom || rc == RC_ENOMEM) {
                status = 500;
                snprintf(msg, sizeof msg, "out of memory reading the cache");
            } else if (rc != RC_OK) {
                status = 500;
                snprintf(msg, sizeof msg, "reading the cache: %s", e.msg);
            }
            /* minimumlength, longestonly */
            size_t longest = 0;
            for (size_t g = 0; g < dc.nseg; g++)
                if (dc.seg[g].n > dc.seg[longest].n) longest = g;
            for (size_t g = 0; g < dc.nseg && !status; g++) {
                rc_readback_seg *sg = &dc.seg[g];
                double secs = (double)sg->n / sg->rate;
                if (q->longestonly && g != longest) continue;
                if (q->minimumlength > 0 && secs < q->minimumlength) continue;
                if (rc_mspack_segment(&cs[k].st->chan, sg->rate, sg->s, sg->n, rc_readback_seg_time,
                                      sg, &mo, &out->body, &e) != RC_OK) {
                    status = 500;
                    snprintf(msg, sizeof msg, "packing miniSEED: %s", e.msg);
                }
            }
            for (size_t g = 0; g < dc.nseg; g++)
                rc_readback_seg_free(&dc.seg[g]);
            free(dc.seg);
        }
        free(cs);
    }
    rc_store_close(store);
    if (status) return fail(out, status, path, query, DS_VERSION, msg);
    if (out->body.len == 0) return nodata(out, q->nodata, path, query, DS_VERSION);
    out->status = 200;
    out->content_type = T_MSEED;
    return 0;
}

/* --- availability ------------------------------------------------------------ */

typedef struct span_t {
    int64_t a, b; /* [a, b) microseconds */
} span_t;

typedef struct source_t {
    rc_chan chan;
    double rate; /* 0 when merged over rates */
    span_t *v;
    size_t n, cap;
    char updated[40];
    int oom;
} source_t;

typedef struct sources {
    source_t *v;
    size_t n, cap;
} sources;

static source_t *source_get(sources *ss, const rc_chan *c, double rate)
{
    for (size_t i = 0; i < ss->n; i++)
        if (rc_chan_equal(&ss->v[i].chan, c) && ss->v[i].rate == rate) return &ss->v[i];
    if (ss->n == ss->cap) {
        size_t nc = ss->cap ? ss->cap * 2 : 16;
        source_t *nv = realloc(ss->v, nc * sizeof *nv);
        if (!nv) return NULL;
        ss->v = nv;
        ss->cap = nc;
    }
    source_t *s = &ss->v[ss->n++];
    memset(s, 0, sizeof *s);
    s->chan = *c;
    s->rate = rate;
    return s;
}

static void span_add(source_t *s, int64_t a, int64_t b)
{
    if (s->n && llabs(a - s->v[s->n - 1].b) <= CONTIG_US && a >= s->v[s->n - 1].a) {
        if (b > s->v[s->n - 1].b) s->v[s->n - 1].b = b;
        return;
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        span_t *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv) {
            s->oom = 1;
            return;
        }
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n].a = a;
    s->v[s->n].b = b;
    s->n++;
}

static int span_cmp(const void *x, const void *y)
{
    const span_t *a = x, *b = y;
    return a->a < b->a ? -1 : a->a > b->a ? 1 : (a->b < b->b ? -1 : a->b > b->b);
}

/* Sort, then join spans that overlap, touch or lie within gap_us. */
static void spans_normalise(source_t *s, int64_t gap_us)
{
    if (s->n < 2) return;
    qsort(s->v, s->n, sizeof *s->v, span_cmp);
    size_t o = 0;
    for (size_t i = 1; i < s->n; i++) {
        if (s->v[i].a - s->v[o].b <= (gap_us > CONTIG_US ? gap_us : CONTIG_US)) {
            if (s->v[i].b > s->v[o].b) s->v[o].b = s->v[i].b;
        } else
            s->v[++o] = s->v[i];
    }
    s->n = o + 1;
}

/* Time of slot k of an entry (base span entries have no phase steps). */
static int64_t slot_us(const rc_mentry *me, double rate, int64_t k)
{
    return me->start * 1000000 + llround(me->offset_s * 1e6) + llround((double)k * 1e6 / rate);
}

/* The recorded slots of one entry inside [from, to), as a span. */
static void entry_span(source_t *s, const rc_mentry *me, double rate, int64_t from, int64_t to)
{
    int64_t nslots = rc_slots(rate, me->end - me->start);
    int64_t k0 = me->gap_head, k1 = nslots - me->gap_tail; /* [k0, k1) */
    if (k1 <= k0) return;
    /* first slot at or after from, last before to */
    if (slot_us(me, rate, k0) < from) {
        int64_t k = (int64_t)floor((double)(from - slot_us(me, rate, 0)) * rate / 1e6);
        if (k < k0) k = k0;
        while (k < k1 && slot_us(me, rate, k) < from)
            k++;
        while (k > k0 && slot_us(me, rate, k - 1) >= from)
            k--;
        k0 = k;
    }
    if (k1 > k0 && slot_us(me, rate, k1 - 1) >= to) {
        int64_t k = (int64_t)ceil((double)(to - slot_us(me, rate, 0)) * rate / 1e6);
        if (k > k1) k = k1;
        if (k < k0) k = k0;
        while (k > k0 && slot_us(me, rate, k - 1) >= to)
            k--;
        while (k < k1 && slot_us(me, rate, k) < to)
            k++;
        k1 = k;
    }
    if (k1 <= k0) return;
    span_add(s, slot_us(me, rate, k0), slot_us(me, rate, k1));
    if (me->written_at[0] && strcmp(me->written_at, s->updated) > 0)
        snprintf(s->updated, sizeof s->updated, "%s", me->written_at);
}

typedef struct row {
    size_t src;
    int64_t a, b;
    int64_t count;
} row;

typedef struct order_ctx {
    const sources *ss;
    rc_fdsnq_order o;
} order_ctx;

static int row_cmp_r(const void *x, const void *y, void *ud)
{
    const row *a = x, *b = y;
    const order_ctx *oc = ud;
    const source_t *sa = &oc->ss->v[a->src], *sb = &oc->ss->v[b->src];
    int c = 0;
    switch (oc->o) {
    case RC_FDSNQ_ORDER_UPDATE:
        c = strcmp(sa->updated, sb->updated);
        break;
    case RC_FDSNQ_ORDER_UPDATE_DESC:
        c = -strcmp(sa->updated, sb->updated);
        break;
    case RC_FDSNQ_ORDER_COUNT:
        c = (a->count > b->count) - (a->count < b->count);
        break;
    case RC_FDSNQ_ORDER_COUNT_DESC:
        c = (a->count < b->count) - (a->count > b->count);
        break;
    default:
        break;
    }
    if (c) return c;
    if ((c = chan_cmp(&sa->chan, &sb->chan))) return c;
    if (a->a != b->a) return a->a < b->a ? -1 : 1;
    if (sa->rate != sb->rate) return sa->rate < sb->rate ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

static void rate_str(double r, char *out, size_t n)
{
    snprintf(out, n, "%.10g", r);
    if (!strpbrk(out, ".e")) strncat(out, ".0", n - strlen(out) - 1);
}

static void write_text(rc_buf *b, const rc_fdsnq *q, const sources *ss, const row *rows,
                       size_t nrows, int geocsv)
{
    int extent = q->service == RC_FDSNQ_AVAIL_EXTENT;
    int upd = extent || q->show_latestupdate;
    char sep = geocsv ? '|' : ' ';
    if (geocsv) {
        rc_buf_puts(b, "#dataset: GeoCSV 2.0\n#delimiter: |\n#field_unit: "
                       "unitless|unitless|unitless|unitless");
        if (!q->merge_quality) rc_buf_puts(b, "|unitless");
        if (!q->merge_samplerate) rc_buf_puts(b, "|hertz");
        rc_buf_puts(b, "|ISO_8601|ISO_8601");
        if (upd) rc_buf_puts(b, "|ISO_8601");
        if (extent) rc_buf_puts(b, "|unitless|unitless");
        rc_buf_puts(b, "\n#field_type: string|string|string|string");
        if (!q->merge_quality) rc_buf_puts(b, "|string");
        if (!q->merge_samplerate) rc_buf_puts(b, "|float");
        rc_buf_puts(b, "|datetime|datetime");
        if (upd) rc_buf_puts(b, "|datetime");
        if (extent) rc_buf_puts(b, "|integer|string");
        rc_buf_puts(b, "\n");
    } else
        rc_buf_puts(b, "#");
    rc_buf_printf(b, "Network%cStation%cLocation%cChannel", sep, sep, sep);
    if (!q->merge_quality) rc_buf_printf(b, "%cQuality", sep);
    if (!q->merge_samplerate) rc_buf_printf(b, "%cSampleRate", sep);
    rc_buf_printf(b, "%cEarliest%cLatest", sep, sep);
    if (upd) rc_buf_printf(b, "%cUpdated", sep);
    if (extent) rc_buf_printf(b, "%cTimeSpans%cRestriction", sep, sep);
    rc_buf_puts(b, "\n");
    for (size_t i = 0; i < nrows; i++) {
        const source_t *s = &ss->v[rows[i].src];
        char a[32], z[32], rs[32];
        rc_fdsnq_time_format(rows[i].a, a);
        rc_fdsnq_time_format(rows[i].b, z);
        rc_buf_printf(b, "%s%c%s%c%s%c%s", s->chan.net, sep, s->chan.sta, sep,
                      s->chan.loc[0] || geocsv ? s->chan.loc : "--", sep, s->chan.cha);
        if (!q->merge_quality) rc_buf_printf(b, "%c%c", sep, QUALITY);
        if (!q->merge_samplerate) {
            rate_str(s->rate, rs, sizeof rs);
            rc_buf_printf(b, "%c%s", sep, rs);
        }
        rc_buf_printf(b, "%c%s%c%s", sep, a, sep, z);
        if (upd) rc_buf_printf(b, "%c%s", sep, s->updated[0] ? s->updated : "NA");
        if (extent) rc_buf_printf(b, "%c%lld%cOPEN", sep, (long long)rows[i].count, sep);
        rc_buf_puts(b, "\n");
    }
}

static void write_request(rc_buf *b, const sources *ss, const row *rows, size_t nrows)
{
    for (size_t i = 0; i < nrows; i++) {
        const source_t *s = &ss->v[rows[i].src];
        char a[32], z[32];
        rc_fdsnq_time_format(rows[i].a, a);
        rc_fdsnq_time_format(rows[i].b, z);
        rc_buf_printf(b, "%s %s %s %s %s %s\n", s->chan.net, s->chan.sta,
                      s->chan.loc[0] ? s->chan.loc : "--", s->chan.cha, a, z);
    }
}

static int write_json(rc_buf *b, const rc_fdsnq *q, const sources *ss, const row *rows,
                      size_t nrows)
{
    int extent = q->service == RC_FDSNQ_AVAIL_EXTENT;
    cJSON *root = cJSON_CreateObject();
    char now[32];
    rc_fdsnq_time_format(now_us(), now);
    cJSON_AddStringToObject(root, "created", now);
    cJSON_AddNumberToObject(root, "version", 1.0);
    cJSON *arr = cJSON_AddArrayToObject(root, "datasources");
    cJSON *ds = NULL, *tsa = NULL;
    size_t cur = (size_t)-1;
    for (size_t i = 0; i < nrows; i++) {
        const source_t *s = &ss->v[rows[i].src];
        char a[32], z[32];
        rc_fdsnq_time_format(rows[i].a, a);
        rc_fdsnq_time_format(rows[i].b, z);
        if (extent || rows[i].src != cur) {
            cur = rows[i].src;
            ds = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, ds);
            cJSON_AddStringToObject(ds, "network", s->chan.net);
            cJSON_AddStringToObject(ds, "station", s->chan.sta);
            cJSON_AddStringToObject(ds, "location", s->chan.loc);
            cJSON_AddStringToObject(ds, "channel", s->chan.cha);
            if (!q->merge_quality) cJSON_AddStringToObject(ds, "quality", "M");
            if (!q->merge_samplerate) cJSON_AddNumberToObject(ds, "samplerate", s->rate);
            if (extent) {
                cJSON_AddStringToObject(ds, "earliest", a);
                cJSON_AddStringToObject(ds, "latest", z);
                if (s->updated[0]) cJSON_AddStringToObject(ds, "updated", s->updated);
                cJSON_AddNumberToObject(ds, "timespanCount", (double)rows[i].count);
                cJSON_AddStringToObject(ds, "restriction", "OPEN");
                continue;
            }
            if (q->show_latestupdate && s->updated[0])
                cJSON_AddStringToObject(ds, "updated", s->updated);
            tsa = cJSON_AddArrayToObject(ds, "timespans");
        }
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(a));
        cJSON_AddItemToArray(pair, cJSON_CreateString(z));
        cJSON_AddItemToArray(tsa, pair);
    }
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!txt) return -1;
    int rc = rc_buf_puts(b, txt);
    rc_buf_puts(b, "\n");
    free(txt);
    return rc;
}

static int availability(const rc_fdsnws_ctx *ctx, const rc_fdsnq *q, const char *path,
                        const char *query, rc_fdsnws_reply *out)
{
    rc_err e;
    rc_layout l = layout_of(ctx);
    int64_t now = now_us();
    for (size_t i = 0; i < q->nsel; i++) {
        const rc_fdsnq_sel *s = &q->sel[i];
        if (!s->has_start)
            return fail(out, 400, path, query, AV_VERSION,
                        "starttime: required here (the cache keeps one index per channel-day)");
        int64_t end = s->has_end ? s->end_us : now;
        if (end <= s->start_us)
            return fail(out, 400, path, query, AV_VERSION, "endtime: must be after starttime");
        if ((end - s->start_us) / 86400000000LL > MAX_DAYS)
            return fail(out, 413, path, query, AV_VERSION,
                        "Request too large: at most 3660 days per selection");
    }
    rc_store *store = NULL;
    if (open_store(ctx, &store, &e) != RC_OK) return fail(out, 503, path, query, AV_VERSION, e.msg);
    rc_span span = rc_config_base_span(ctx->cfg);
    sources ss = {NULL, 0, 0};
    int status = 0;
    char msg[RC_ERR_MSG_MAX + RC_KEY_MAX + 64] = "";
    for (size_t i = 0; i < q->nsel && !status; i++) {
        const rc_fdsnq_sel *s = &q->sel[i];
        int64_t end = s->has_end ? s->end_us : now;
        chan_ref *cs = NULL;
        size_t n = match_chans(ctx->cfg, s, &cs);
        for (size_t k = 0; k < n && !status && rc_fdsnq_match(q->quality, "M"); k++) {
            double rate = chan_rate(store, l, &cs[k], s->start_us, end);
            if (rate <= 0 && l == RC_LAYOUT_SEED) continue;
            int64_t d0 = rc_day_start(s->start_us / 1000000);
            int64_t d1 = rc_day_start((end - 1) / 1000000);
            for (int64_t d = d0; d <= d1 && !status; d += 86400) {
                rc_manifest_id mid;
                memset(&mid, 0, sizeof mid);
                mid.chan = cs[k].st->chan;
                snprintf(mid.volcano, sizeof mid.volcano, "%s", cs[k].vo->name);
                mid.rate = rate;
                mid.day = d;
                char key[RC_KEY_MAX];
                rc_manifest m;
                if (rc_key_manifest(l, &mid, key, sizeof key, &e) != RC_OK) continue;
                int rc = rc_manifest_load(store, l, key, &m, NULL, &e);
                if (rc == RC_ENOTFOUND) continue;
                if (rc != RC_OK) {
                    status = 500;
                    snprintf(msg, sizeof msg, "reading the manifest %s: %s", key, e.msg);
                    break;
                }
                double r = m.sample_rate > 0 ? m.sample_rate : rate;
                if (r > 0) {
                    source_t *src = source_get(&ss, &m.chan, q->merge_samplerate ? 0 : r);
                    if (!src) {
                        status = 500;
                        snprintf(msg, sizeof msg, "out of memory");
                    } else {
                        const rc_mlist *ml = &m.chunks[span];
                        for (size_t j = 0; j < ml->n; j++)
                            entry_span(src, &ml->v[j], r, s->start_us, end);
                        if (src->oom) {
                            status = 500;
                            snprintf(msg, sizeof msg, "out of memory");
                        }
                    }
                }
                rc_manifest_free(&m);
            }
        }
        free(cs);
    }
    rc_store_close(store);
    /* rows */
    row *rows = NULL;
    size_t nrows = 0, cap = 0;
    int extent = q->service == RC_FDSNQ_AVAIL_EXTENT;
    for (size_t i = 0; i < ss.n && !status; i++) {
        source_t *s = &ss.v[i];
        spans_normalise(s, llround(q->mergegaps * 1e6));
        size_t want = extent ? (s->n ? 1 : 0) : s->n;
        if (nrows + want > cap) {
            size_t nc = cap ? cap * 2 : 64;
            while (nc < nrows + want)
                nc *= 2;
            row *nr = realloc(rows, nc * sizeof *nr);
            if (!nr) {
                status = 500;
                snprintf(msg, sizeof msg, "out of memory");
                break;
            }
            rows = nr;
            cap = nc;
        }
        if (extent && s->n)
            rows[nrows++] = (row){i, s->v[0].a, s->v[s->n - 1].b, (int64_t)s->n};
        else
            for (size_t j = 0; j < s->n; j++)
                rows[nrows++] = (row){i, s->v[j].a, s->v[j].b, 1};
    }
    if (!status) {
        order_ctx oc = {&ss, q->orderby};
        if (nrows > 1) qsort_r(rows, nrows, sizeof *rows, row_cmp_r, &oc);
        if (q->limit > 0 && (int64_t)nrows > q->limit) nrows = (size_t)q->limit;
        if (nrows == 0)
            nodata(out, q->nodata, path, query, AV_VERSION);
        else {
            out->status = 200;
            if (!strcmp(q->format, "json")) {
                out->content_type = T_JSON;
                if (write_json(&out->body, q, &ss, rows, nrows) != 0) {
                    status = 500;
                    snprintf(msg, sizeof msg, "out of memory");
                }
            } else if (!strcmp(q->format, "request")) {
                out->content_type = T_TEXT;
                write_request(&out->body, &ss, rows, nrows);
            } else {
                int geo = !strcmp(q->format, "geocsv");
                out->content_type = geo ? T_CSV : T_TEXT;
                write_text(&out->body, q, &ss, rows, nrows, geo);
            }
        }
    }
    free(rows);
    for (size_t i = 0; i < ss.n; i++)
        free(ss.v[i].v);
    free(ss.v);
    if (status) return fail(out, status, path, query, AV_VERSION, msg);
    return 0;
}

/* --- WADL and routing ----------------------------------------------------------- */

static void wadl(rc_buf *b, const char *service, const char *const *methods,
                 const char *const *params)
{
    rc_buf_printf(b,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<application xmlns=\"http://wadl.dev.java.net/2009/02\" "
                  "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n"
                  "  <resources base=\"/fdsnws/%s/1/\">\n",
                  service);
    for (const char *const *m = methods; *m; m++) {
        rc_buf_printf(
            b, "    <resource path=\"%s\">\n      <method name=\"GET\">\n        <request>\n", *m);
        for (const char *const *p = params; *p; p++)
            rc_buf_printf(b, "          <param name=\"%s\" style=\"query\" type=\"xsd:string\"/>\n",
                          *p);
        rc_buf_printf(b,
                      "        </request>\n        <response status=\"200\"/>\n"
                      "        <response status=\"204 400 404 413 500 503\"/>\n"
                      "      </method>\n      <method name=\"POST\">\n        <request>\n"
                      "          <representation mediaType=\"text/plain\"/>\n        </request>\n"
                      "      </method>\n    </resource>\n");
    }
    rc_buf_puts(b, "    <resource path=\"version\"><method name=\"GET\"/></resource>\n"
                   "    <resource path=\"application.wadl\"><method name=\"GET\"/></resource>\n"
                   "  </resources>\n</application>\n");
}

int rc_fdsnws_handle(const rc_fdsnws_ctx *ctx, const char *method, const char *path,
                     const char *query, const char *body, size_t body_len, rc_fdsnws_reply *out)
{
    memset(out, 0, sizeof *out);
    rc_buf_init(&out->body);
    static const char ds[] = "/fdsnws/dataselect/1/", av[] = "/fdsnws/availability/1/";
    int is_ds = !strncmp(path, ds, sizeof ds - 1), is_av = !strncmp(path, av, sizeof av - 1);
    const char *version = is_ds ? DS_VERSION : AV_VERSION;
    if (!is_ds && !is_av)
        return fail(out, 404, path, query, DS_VERSION,
                    "Not found: this server answers /fdsnws/dataselect/1/ and "
                    "/fdsnws/availability/1/");
    const char *leaf = path + (is_ds ? sizeof ds - 1 : sizeof av - 1);
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    if (!strcmp(leaf, "version") || !strcmp(leaf, "application.wadl")) {
        if (!get) return fail(out, 405, path, query, version, "Method not allowed: use GET");
        out->status = 200;
        if (leaf[0] == 'v') {
            out->content_type = T_TEXT;
            rc_buf_puts(&out->body, version);
            rc_buf_puts(&out->body, "\n");
        } else {
            static const char *const dsm[] = {"query", NULL}, *const avm[] = {"query", "extent",
                                                                              NULL};
            static const char *const dsp[] = {"starttime",   "endtime", "network", "station",
                                              "location",    "channel", "quality", "minimumlength",
                                              "longestonly", "format",  "nodata",  NULL};
            static const char *const avp[] = {"starttime",         "endtime", "network", "station",
                                              "location",          "channel", "quality", "merge",
                                              "mergegaps",         "show",    "limit",   "orderby",
                                              "includerestricted", "format",  "nodata",  NULL};
            out->content_type = T_WADL;
            wadl(&out->body, is_ds ? "dataselect" : "availability", is_ds ? dsm : avm,
                 is_ds ? dsp : avp);
        }
        return 0;
    }
    rc_fdsnq_service svc;
    if (is_ds && !strcmp(leaf, "query"))
        svc = RC_FDSNQ_DATASELECT;
    else if (is_av && !strcmp(leaf, "query"))
        svc = RC_FDSNQ_AVAIL_QUERY;
    else if (is_av && !strcmp(leaf, "extent"))
        svc = RC_FDSNQ_AVAIL_EXTENT;
    else
        return fail(out, 404, path, query, version,
                    is_ds ? "Not found: use query, version or application.wadl"
                          : "Not found: use query, extent, version or application.wadl");
    if (!get && !post)
        return fail(out, 405, path, query, version, "Method not allowed: use GET or POST");
    rc_fdsnq q;
    rc_err e;
    int rc = get ? rc_fdsnq_parse_query(svc, query, &q, &e)
                 : rc_fdsnq_parse_post(svc, body ? body : "", body ? body_len : 0, &q, &e);
    if (rc == RC_ENOMEM)
        return fail(out, 500, path, query, version, "out of memory parsing the request");
    if (rc != RC_OK) {
        char msg[RC_ERR_MSG_MAX + 32];
        snprintf(msg, sizeof msg, "Bad request: %s", e.msg);
        return fail(out, 400, path, query, version, msg);
    }
    if (post && query && *query) {
        rc_fdsnq_free(&q);
        return fail(out, 400, path, query, version,
                    "Bad request: query: a POST request takes its parameters in the body");
    }
    rc = svc == RC_FDSNQ_DATASELECT ? dataselect(ctx, &q, path, query, out)
                                    : availability(ctx, &q, path, query, out);
    rc_fdsnq_free(&q);
    return rc;
}
