/*
 * inventory.c: per channel-day accounting of the cache from the listing,
 * the manifests for what keys cannot tell, and the per channel-month
 * summaries that make an inventory of a year of data take seconds.
 *
 * Trade-offs: the listing is the truth for what exists (counts, days,
 * bytes); a manifest can lag or be lost, a key cannot. Summaries are a cache
 * of that truth, invalidated by change markers that writers PUT blindly (no
 * read-modify-write on a hot object), and rebuilt by whoever next reads a
 * stale month. Reads of many small objects run on a few threads, each with
 * its own store handle (stores are not thread-safe).
 */
#include "r2cache/inventory.h"
#include "r2cache/codec.h"
#include "r2cache/manifest.h"
#include "r2cache/timewin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#define DAY 86400

void rc_inventory_init(rc_inventory *inv, rc_layout l)
{
    memset(inv, 0, sizeof *inv);
    inv->layout = l;
    inv->threads = 8;
}

static void chan_free(rc_inv_chan *ch)
{
    for (size_t i = 0; i < ch->ndays; i++)
        free(ch->days[i].manifest_key);
    free(ch->days);
    ch->days = NULL;
    ch->ndays = ch->cap = 0;
}

void rc_inventory_free(rc_inventory *inv)
{
    for (size_t i = 0; i < inv->n; i++)
        chan_free(&inv->ch[i]);
    free(inv->ch);
    inv->ch = NULL;
    inv->n = inv->cap = 0;
}

int64_t rc_month_start(int64_t t)
{
    int y, m, d;
    rc_civil_from_days(rc_floor(t, DAY) / DAY, &y, &m, &d);
    return rc_days_from_civil(y, m, 1) * DAY;
}

int64_t rc_month_next(int64_t month)
{
    int y, m, d;
    rc_civil_from_days(rc_floor(month, DAY) / DAY, &y, &m, &d);
    if (++m > 12) {
        m = 1;
        y++;
    }
    return rc_days_from_civil(y, m, 1) * DAY;
}

rc_inv_chan *rc_inventory_chan(rc_inventory *inv, const rc_chan *c, const char *volcano)
{
    /* Listings arrive grouped by channel: the last match is the usual hit. */
    for (size_t k = inv->n; k > 0; k--) {
        rc_inv_chan *ch = &inv->ch[k - 1];
        if (rc_chan_equal(&ch->chan, c) && strcmp(ch->volcano, volcano) == 0)
            return ch;
    }
    if (inv->n == inv->cap) {
        size_t nc = inv->cap ? inv->cap * 2 : 16;
        rc_inv_chan *nv = realloc(inv->ch, nc * sizeof *nv);
        if (!nv)
            return NULL;
        inv->ch = nv;
        inv->cap = nc;
    }
    rc_inv_chan *ch = &inv->ch[inv->n++];
    memset(ch, 0, sizeof *ch);
    ch->chan = *c;
    snprintf(ch->volcano, sizeof ch->volcano, "%s", volcano);
    return ch;
}

rc_inv_day *rc_inventory_day(rc_inv_chan *ch, int64_t day)
{
    size_t lo = 0, hi = ch->ndays;
    if (hi && ch->days[hi - 1].day == day)
        return &ch->days[hi - 1];
    if (hi && ch->days[hi - 1].day < day) {
        lo = hi;
    } else {
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ch->days[mid].day < day)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < ch->ndays && ch->days[lo].day == day)
            return &ch->days[lo];
    }
    if (ch->ndays == ch->cap) {
        size_t nc = ch->cap ? ch->cap * 2 : 32;
        rc_inv_day *nv = realloc(ch->days, nc * sizeof *nv);
        if (!nv)
            return NULL;
        ch->days = nv;
        ch->cap = nc;
    }
    memmove(&ch->days[lo + 1], &ch->days[lo], (ch->ndays - lo) * sizeof *ch->days);
    ch->ndays++;
    rc_inv_day *d = &ch->days[lo];
    memset(d, 0, sizeof *d);
    d->day = day;
    return d;
}

static void note_unparsed(rc_inventory *inv, const char *key)
{
    inv->unparsed++;
    if (inv->nexamples < RC_INV_EXAMPLES)
        snprintf(inv->examples[inv->nexamples++], RC_KEY_MAX, "%s", key);
}

static int code_copy(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n >= RC_CODE_MAX)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* A key that does not parse is still charged to the channel whose folder
 * holds it, when the folder names one, so per-month summaries carry it. */
static int attribute_unparsed(rc_inventory *inv, const char *key)
{
    char seg[10][RC_VOLCANO_MAX];
    int n = 0;
    const char *p = key;
    while (n < 10) {
        const char *sl = strchr(p, '/');
        if (!sl)
            break;
        size_t len = (size_t)(sl - p);
        if (len >= RC_VOLCANO_MAX)
            return RC_OK;
        memcpy(seg[n], p, len);
        seg[n][len] = '\0';
        n++;
        p = sl + 1;
    }
    int viewer = inv->layout == RC_LAYOUT_VIEWER;
    int need = viewer ? 9 : 8; /* data YYYY MM [DD] NET VOLC STA LOC CHA */
    if (n < need || strcmp(seg[0], "data") != 0)
        return RC_OK;
    int y = atoi(seg[1]), m = atoi(seg[2]), d = viewer ? atoi(seg[3]) : 1;
    int64_t day;
    rc_err e;
    if (rc_time_make(y, m, d, 0, 0, 0, &day, &e) != RC_OK)
        return RC_OK;
    int o = viewer ? 4 : 3;
    rc_chan c;
    memset(&c, 0, sizeof c);
    const char *loc = strcmp(seg[o + 3], "--") == 0 ? "" : seg[o + 3];
    if (code_copy(c.net, seg[o]) || code_copy(c.sta, seg[o + 2]) || code_copy(c.loc, loc) ||
        code_copy(c.cha, seg[o + 4]))
        return RC_OK;
    if (rc_chan_validate(&c, &e) != RC_OK || rc_volcano_validate(seg[o + 1], &e) != RC_OK)
        return RC_OK;
    rc_inv_chan *ch = rc_inventory_chan(inv, &c, seg[o + 1]);
    rc_inv_day *dd = ch ? rc_inventory_day(ch, day) : NULL;
    if (!dd)
        return RC_ENOMEM;
    dd->unparsed++;
    return RC_OK;
}

static int add_obj(rc_inventory *inv, const rc_obj_info *o)
{
    rc_key_info ki;
    rc_err e;
    inv->keys++;
    inv->listed++;
    if (rc_key_parse(inv->layout, o->key, &ki, &e) != RC_OK) {
        note_unparsed(inv, o->key);
        return attribute_unparsed(inv, o->key);
    }
    const rc_chan *c = ki.kind == RC_KEY_CHUNK ? &ki.chunk.chan : &ki.manifest.chan;
    const char *volc = ki.kind == RC_KEY_CHUNK ? ki.chunk.volcano : ki.manifest.volcano;
    rc_inv_chan *ch = rc_inventory_chan(inv, c, volc);
    if (!ch)
        return RC_ENOMEM;
    rc_inv_day *d;
    if (ki.kind == RC_KEY_CHUNK) {
        if (ki.chunk.rate > 0)
            ch->rate = ki.chunk.rate;
        if (!(d = rc_inventory_day(ch, rc_day_start(ki.chunk.start))))
            return RC_ENOMEM;
        d->chunks[ki.chunk.span]++;
        d->bytes += o->size;
    } else {
        if (ki.manifest.rate > 0)
            ch->rate = ki.manifest.rate;
        if (!(d = rc_inventory_day(ch, ki.manifest.day)))
            return RC_ENOMEM;
        d->has_manifest = 1;
        d->manifest_bytes = o->size;
        free(d->manifest_key);
        if (!(d->manifest_key = strdup(o->key)))
            return RC_ENOMEM;
    }
    return RC_OK;
}

int rc_inventory_add(rc_inventory *inv, const rc_obj_info *obj)
{
    return add_obj(inv, obj);
}

typedef struct scan_ctx {
    rc_inventory *inv;
    int rc;
} scan_ctx;

static int scan_cb(void *ud, const rc_obj_info *o)
{
    scan_ctx *sc = ud;
    sc->rc = add_obj(sc->inv, o);
    return sc->rc != RC_OK;
}

int rc_inventory_scan(rc_store *st, rc_inventory *inv, const char *prefix, rc_err *e)
{
    scan_ctx sc = {inv, RC_OK};
    int rc = rc_store_list(st, prefix, scan_cb, &sc, e);
    if (rc == RC_OK && sc.rc != RC_OK)
        rc = rc_err_set(e, sc.rc, "out of memory accounting the listing of %s", prefix);
    return rc;
}

/* ---- manifests --------------------------------------------------------- */

typedef struct mtask {
    const char *key;
    rc_inv_day *day;
} mtask;

typedef struct mread_ctx {
    rc_layout layout;
    mtask *t;
    int64_t read; /* atomic */
} mread_ctx;

static void mread_one(rc_store *st, size_t i, void *ud)
{
    mread_ctx *c = ud;
    rc_inv_day *d = c->t[i].day;
    rc_manifest m;
    rc_err e;
    int rc = rc_manifest_load(st, c->layout, c->t[i].key, &m, NULL, &e);
    if (rc == RC_ENOTFOUND)
        return; /* deleted since the listing */
    if (rc != RC_OK) {
        d->manifest_bad = 1;
        return;
    }
    __atomic_fetch_add(&c->read, 1, __ATOMIC_RELAXED);
    int base = -1;
    for (int s = 0; s < RC_SPAN_COUNT; s++) {
        for (size_t k = 0; k < m.chunks[s].n; k++)
            d->provisional += m.chunks[s].v[k].provisional != 0;
        if (base < 0 && m.chunks[s].n)
            base = s;
    }
    /* Gaps of the shortest span only: longer chunks repeat the same gaps. */
    if (base >= 0)
        for (size_t k = 0; k < m.chunks[base].n; k++) {
            const rc_mentry *en = &m.chunks[base].v[k];
            d->gap_count += en->gap_count;
            d->gap_samples_filled += en->gap_samples_filled;
            d->gap_seconds += en->gap_duration_seconds;
        }
    rc_manifest_free(&m);
}

int rc_inventory_read_manifests(rc_store *st, rc_inventory *inv, int only_selected, rc_err *e)
{
    size_t n = 0;
    for (size_t i = 0; i < inv->n; i++)
        if (!only_selected || inv->ch[i].selected)
            for (size_t k = 0; k < inv->ch[i].ndays; k++)
                n += inv->ch[i].days[k].manifest_key != NULL;
    if (!n)
        return RC_OK;
    mtask *t = calloc(n, sizeof *t);
    if (!t)
        return rc_err_set(e, RC_ENOMEM, "out of memory reading %zu manifests", n);
    size_t j = 0;
    for (size_t i = 0; i < inv->n; i++)
        if (!only_selected || inv->ch[i].selected)
            for (size_t k = 0; k < inv->ch[i].ndays; k++) {
                rc_inv_day *d = &inv->ch[i].days[k];
                if (d->manifest_key) {
                    d->provisional = d->gap_count = d->gap_samples_filled = 0;
                    d->gap_seconds = 0;
                    d->manifest_bad = 0;
                    t[j++] = (mtask){d->manifest_key, d};
                }
            }
    mread_ctx c = {inv->layout, t, 0};
    rc_store_par_run(st, inv->threads, n, mread_one, &c);
    inv->manifests_read += c.read;
    free(t);
    return RC_OK;
}

/* ---- summary keys ------------------------------------------------------ */

#define INDEX_ROOT "index/"

void rc_inventory_summary_prefix(const char *volcano, char *out, size_t n)
{
    if (volcano && volcano[0])
        snprintf(out, n, INDEX_ROOT "%s/", volcano);
    else
        snprintf(out, n, INDEX_ROOT);
}

static int month_key(const rc_chan *c, const char *volcano, int64_t month, const char *ext,
                     char *out, size_t n, rc_err *e)
{
    int rc = rc_chan_validate(c, e);
    if (rc)
        return rc;
    if ((rc = rc_volcano_validate(volcano, e)))
        return rc;
    char cs[RC_CHAN_STR_MAX];
    rc_chan_format(c, cs);
    rc_tm tm;
    rc_time_split(month, &tm);
    int w = snprintf(out, n, INDEX_ROOT "%s/%s/%04d-%02d.%s", volcano, cs, tm.year, tm.mon, ext);
    if (w < 0 || (size_t)w >= n)
        return rc_err_set(e, RC_EINVAL, "summary key for %s is too long", cs);
    return RC_OK;
}

int rc_inventory_summary_key(const rc_chan *c, const char *volcano, int64_t month, char *out,
                             size_t n, rc_err *e)
{
    return month_key(c, volcano, month, "json", out, n, e);
}

int rc_inventory_marker_key(const rc_chan *c, const char *volcano, int64_t month, char *out,
                            size_t n, rc_err *e)
{
    return month_key(c, volcano, month, "dirty", out, n, e);
}

/* index/VOLC/NET.STA.LOC.CHA/YYYY-MM.EXT -> parts. ext_out gets "json"/"dirty". */
static int parse_month_key(const char *key, rc_chan *c, char *volcano, int64_t *month,
                           char *ext_out, size_t ext_n)
{
    size_t rl = strlen(INDEX_ROOT);
    if (strncmp(key, INDEX_ROOT, rl) != 0)
        return -1;
    const char *v = key + rl;
    const char *s1 = strchr(v, '/');
    if (!s1 || s1 == v || (size_t)(s1 - v) >= RC_VOLCANO_MAX)
        return -1;
    const char *s2 = strchr(s1 + 1, '/');
    if (!s2 || (size_t)(s2 - s1 - 1) >= RC_CHAN_STR_MAX)
        return -1;
    char cs[RC_CHAN_STR_MAX];
    memcpy(cs, s1 + 1, (size_t)(s2 - s1 - 1));
    cs[s2 - s1 - 1] = '\0';
    rc_err e;
    if (rc_chan_parse(cs, c, &e) != RC_OK)
        return -1;
    memcpy(volcano, v, (size_t)(s1 - v));
    volcano[s1 - v] = '\0';
    int y, m, used = 0;
    if (sscanf(s2 + 1, "%4d-%2d.%n", &y, &m, &used) != 2 || used != 8 || m < 1 || m > 12)
        return -1;
    const char *ext = s2 + 1 + used;
    if (strchr(ext, '/') || strlen(ext) >= ext_n)
        return -1;
    snprintf(ext_out, ext_n, "%s", ext);
    *month = rc_days_from_civil(y, m, 1) * DAY;
    return 0;
}

int rc_inventory_touch(rc_store *st, const rc_chan *c, const char *volcano, int64_t day,
                       rc_err *e)
{
    char key[RC_KEY_MAX], body[96], now[40], date[RC_TIME_STR_MAX];
    int rc = rc_inventory_marker_key(c, volcano, rc_month_start(day), key, sizeof key, e);
    if (rc)
        return rc;
    /* A body unique per call gives a new ETag on every touch. */
    rc_time_now_iso_us(now);
    rc_time_date(day, date);
    int n = snprintf(body, sizeof body, "%s %s\n", now, date);
    rc_obj_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.content_type, sizeof meta.content_type, "text/plain");
    snprintf(meta.cache_control, sizeof meta.cache_control, "no-store");
    rc_put_opts po = {&meta, NULL, 0};
    rc = rc_store_put(st, key, body, (size_t)n, &po, NULL, e);
    if (rc)
        return rc_err_wrap(e, "marking the inventory summary %s stale", key);
    return RC_OK;
}

/* ---- summary bodies ---------------------------------------------------- */

static const char *const span_key[RC_SPAN_COUNT] = {"10min", "1h", "6h", "24h"};

cJSON *rc_inventory_summary_json(const rc_inventory *inv, const rc_inv_chan *ch, int64_t month,
                                 const char *marker_etag)
{
    char tmp[RC_TIME_STR_MAX];
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    rc_tm tm;
    rc_time_split(month, &tm);
    snprintf(tmp, sizeof tmp, "%04d-%02d", tm.year, tm.mon);
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "layout", rc_layout_name(inv->layout));
    cJSON_AddStringToObject(o, "month", tmp);
    cJSON_AddStringToObject(o, "network", ch->chan.net);
    cJSON_AddStringToObject(o, "station", ch->chan.sta);
    cJSON_AddStringToObject(o, "location", ch->chan.loc);
    cJSON_AddStringToObject(o, "channel", ch->chan.cha);
    cJSON_AddStringToObject(o, "volcano", ch->volcano);
    cJSON_AddNumberToObject(o, "sample_rate", ch->rate);
    cJSON_AddStringToObject(o, "marker_etag", marker_etag ? marker_etag : "");
    cJSON *days = cJSON_AddObjectToObject(o, "days");
    int64_t next = rc_month_next(month);
    for (size_t i = 0; days && i < ch->ndays; i++) {
        const rc_inv_day *d = &ch->days[i];
        if (d->day < month || d->day >= next)
            continue;
        rc_time_date(d->day, tmp);
        cJSON *dj = cJSON_AddObjectToObject(days, tmp);
        if (!dj)
            break;
        cJSON *cj = cJSON_AddObjectToObject(dj, "chunks");
        for (int s = 0; cj && s < RC_SPAN_COUNT; s++)
            if (d->chunks[s])
                cJSON_AddNumberToObject(cj, span_key[s], (double)d->chunks[s]);
        cJSON_AddNumberToObject(dj, "bytes", (double)d->bytes);
        cJSON_AddBoolToObject(dj, "manifest", d->has_manifest);
        cJSON_AddNumberToObject(dj, "manifest_bytes", (double)d->manifest_bytes);
        if (d->manifest_bad)
            cJSON_AddTrueToObject(dj, "manifest_bad");
        cJSON_AddNumberToObject(dj, "provisional", (double)d->provisional);
        cJSON_AddNumberToObject(dj, "gap_count", (double)d->gap_count);
        cJSON_AddNumberToObject(dj, "gap_samples_filled", (double)d->gap_samples_filled);
        cJSON_AddNumberToObject(dj, "gap_duration_seconds", d->gap_seconds);
        if (d->unparsed)
            cJSON_AddNumberToObject(dj, "unparsed", (double)d->unparsed);
    }
    if (!days) {
        cJSON_Delete(o);
        return NULL;
    }
    /* Examples of keys that did not parse, among those this inventory saw
     * in the channel's folders of this month. */
    char pre[64], mid[3 * RC_VOLCANO_MAX];
    rc_time_split(month, &tm);
    snprintf(pre, sizeof pre, "data/%04d/%02d/", tm.year, tm.mon);
    snprintf(mid, sizeof mid, "/%s/%s/%s/", ch->chan.net, ch->volcano, ch->chan.sta);
    cJSON *ex = NULL;
    for (int i = 0; i < inv->nexamples; i++)
        if (strncmp(inv->examples[i], pre, strlen(pre)) == 0 && strstr(inv->examples[i], mid)) {
            if (!ex)
                ex = cJSON_AddArrayToObject(o, "unparsed_examples");
            if (ex)
                cJSON_AddItemToArray(ex, cJSON_CreateString(inv->examples[i]));
        }
    return o;
}

static int64_t jint(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int rc_inventory_summary_apply(rc_inventory *inv, const cJSON *sj, rc_err *e)
{
    rc_chan c;
    memset(&c, 0, sizeof c);
    const char *net = jstr(sj, "network"), *sta = jstr(sj, "station"), *loc = jstr(sj, "location"),
               *cha = jstr(sj, "channel"), *volc = jstr(sj, "volcano");
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(sj, "days");
    if (!net || !sta || !loc || !cha || !volc || !cJSON_IsObject(days) || code_copy(c.net, net) ||
        code_copy(c.sta, sta) || code_copy(c.loc, loc) || code_copy(c.cha, cha))
        return rc_err_set(e, RC_EFORMAT,
                          "inventory summary lacks network/station/location/channel/volcano/days; "
                          "run r2cache reindex to rebuild it");
    rc_inv_chan *ch = rc_inventory_chan(inv, &c, volc);
    if (!ch)
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(sj, "sample_rate");
    if (cJSON_IsNumber(r) && r->valuedouble > 0)
        ch->rate = r->valuedouble;
    const cJSON *dj;
    cJSON_ArrayForEach(dj, cJSON_GetObjectItemCaseSensitive(sj, "unparsed_examples"))
    {
        if (cJSON_IsString(dj) && inv->nexamples < RC_INV_EXAMPLES)
            snprintf(inv->examples[inv->nexamples++], RC_KEY_MAX, "%s", dj->valuestring);
    }
    cJSON_ArrayForEach(dj, days)
    {
        int y, m, dd;
        int64_t t;
        rc_err e2;
        if (!dj->string || sscanf(dj->string, "%4d-%2d-%2d", &y, &m, &dd) != 3 ||
            rc_time_make(y, m, dd, 0, 0, 0, &t, &e2) != RC_OK)
            return rc_err_set(e, RC_EFORMAT, "inventory summary of %s.%s: bad day \"%s\"", net,
                              sta, dj->string ? dj->string : "");
        rc_inv_day *d = rc_inventory_day(ch, t);
        if (!d)
            return rc_err_set(e, RC_ENOMEM, "out of memory");
        const cJSON *cj = cJSON_GetObjectItemCaseSensitive(dj, "chunks");
        for (int s = 0; s < RC_SPAN_COUNT; s++) {
            d->chunks[s] += jint(cj, span_key[s]);
            inv->keys += jint(cj, span_key[s]);
        }
        d->bytes += jint(dj, "bytes");
        d->has_manifest |= cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dj, "manifest"));
        inv->keys += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dj, "manifest"));
        d->manifest_bad |= cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dj, "manifest_bad"));
        d->manifest_bytes += jint(dj, "manifest_bytes");
        d->provisional += jint(dj, "provisional");
        d->gap_count += jint(dj, "gap_count");
        d->gap_samples_filled += jint(dj, "gap_samples_filled");
        d->unparsed += jint(dj, "unparsed");
        inv->unparsed += jint(dj, "unparsed");
        inv->keys += jint(dj, "unparsed");
        const cJSON *gs = cJSON_GetObjectItemCaseSensitive(dj, "gap_duration_seconds");
        if (cJSON_IsNumber(gs))
            d->gap_seconds += gs->valuedouble;
    }
    return RC_OK;
}

/* ---- reading the index ------------------------------------------------- */

typedef struct idx_obj {
    char key[RC_KEY_MAX];
    char etag[RC_ETAG_MAX];
    int is_summary;
    rc_chan chan;
    char volcano[RC_VOLCANO_MAX];
    int64_t month;
    char *body; /* summaries, after the GET */
    int failed;
} idx_obj;

typedef struct idx_list {
    idx_obj *v;
    size_t n, cap;
    int oom;
} idx_list;

static int idx_cb(void *ud, const rc_obj_info *o)
{
    idx_list *l = ud;
    rc_chan c;
    char volc[RC_VOLCANO_MAX], ext[16];
    int64_t month;
    if (parse_month_key(o->key, &c, volc, &month, ext, sizeof ext) != 0)
        return 0; /* not ours: ignored */
    int is_sum = strcmp(ext, "json") == 0;
    if (!is_sum && strcmp(ext, "dirty") != 0)
        return 0;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        idx_obj *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            l->oom = 1;
            return 1;
        }
        l->v = nv;
        l->cap = nc;
    }
    idx_obj *x = &l->v[l->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->key, sizeof x->key, "%s", o->key);
    snprintf(x->etag, sizeof x->etag, "%s", o->etag);
    x->is_summary = is_sum;
    x->chan = c;
    snprintf(x->volcano, sizeof x->volcano, "%s", volc);
    x->month = month;
    return 0;
}

static void idx_free(idx_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].body);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int idx_list_prefixes(rc_store *st, const char *const *volcanoes, size_t nv, idx_list *l,
                             rc_err *e)
{
    char prefix[RC_KEY_MAX];
    size_t np = nv ? nv : 1;
    for (size_t i = 0; i < np; i++) {
        rc_inventory_summary_prefix(nv ? volcanoes[i] : NULL, prefix, sizeof prefix);
        int rc = rc_store_list(st, prefix, idx_cb, l, e);
        if (rc)
            return rc;
        if (l->oom)
            return rc_err_set(e, RC_ENOMEM, "out of memory listing %s", prefix);
    }
    return RC_OK;
}

static void get_one(rc_store *st, size_t i, void *ud)
{
    idx_obj **v = ud;
    idx_obj *x = v[i];
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    if (rc_store_get(st, x->key, &b, NULL, &e) != RC_OK) {
        x->failed = 1;
        rc_buf_free(&b);
        return;
    }
    x->body = b.data ? rc_buf_steal(&b, NULL) : strdup("");
}

static const idx_obj *find_marker(const idx_list *l, const idx_obj *s)
{
    for (size_t i = 0; i < l->n; i++) {
        const idx_obj *m = &l->v[i];
        if (!m->is_summary && m->month == s->month && rc_chan_equal(&m->chan, &s->chan) &&
            strcmp(m->volcano, s->volcano) == 0)
            return m;
    }
    return NULL;
}

static const idx_obj *find_summary(const idx_list *l, const idx_obj *mk)
{
    for (size_t i = 0; i < l->n; i++) {
        const idx_obj *s = &l->v[i];
        if (s->is_summary && s->month == mk->month && rc_chan_equal(&mk->chan, &s->chan) &&
            strcmp(mk->volcano, s->volcano) == 0)
            return s;
    }
    return NULL;
}

size_t rc_inventory_month_prefixes(rc_layout l, const rc_chan *c, const char *volcano,
                                   int64_t month, char (*out)[RC_KEY_MAX], size_t n)
{
    rc_err e;
    size_t k = 0;
    if (l == RC_LAYOUT_SEED) {
        if (n && rc_key_prefix_channel_day(l, c, volcano, month, out[0], RC_KEY_MAX, &e) == RC_OK)
            k = 1;
        return k;
    }
    for (int64_t d = month; d < rc_month_next(month) && k < n; d += DAY)
        if (rc_key_prefix_channel_day(l, c, volcano, d, out[k], RC_KEY_MAX, &e) == RC_OK)
            k++;
    return k;
}

/* Rebuild one channel-month from its listing and manifests into inv, and
 * store its summary recording marker_etag. */
/* Store one summary body (JSON, never cached by a CDN: it changes). */
static int put_summary(rc_store *st, const char *key, const char *body, rc_err *e)
{
    rc_obj_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.content_type, sizeof meta.content_type, "application/json");
    snprintf(meta.cache_control, sizeof meta.cache_control, "no-cache");
    rc_put_opts po = {&meta, NULL, 0};
    return rc_store_put(st, key, body, strlen(body), &po, NULL, e);
}

/* One channel-month summary to rebuild from the data: a worker lists the
 * month, reads what manifests it needs and stores the new summary (month_io);
 * the caller merges it into the answer in listing order (month_apply). */
typedef struct month_job {
    rc_layout layout;
    int threads;
    rc_chan chan;
    char volcano[RC_VOLCANO_MAX];
    int64_t month;
    char marker_etag[RC_ETAG_MAX];
    cJSON *sj; /* the new summary, NULL on failure */
    int rc;
    rc_err e;
    int64_t listed, manifests_read;
} month_job;

static void month_io(rc_store *st, month_job *j)
{
    rc_err_clear(&j->e);
    rc_inventory tmp;
    rc_inventory_init(&tmp, j->layout);
    tmp.threads = j->threads;
    char pfx[31][RC_KEY_MAX];
    size_t np = rc_inventory_month_prefixes(j->layout, &j->chan, j->volcano, j->month, pfx, 31);
    int rc = RC_OK;
    for (size_t i = 0; i < np && rc == RC_OK; i++) {
        scan_ctx sc = {&tmp, RC_OK};
        rc = rc_store_list(st, pfx[i], scan_cb, &sc, &j->e);
        if (rc == RC_OK && sc.rc)
            rc = rc_err_set(&j->e, sc.rc, "out of memory listing %s", pfx[i]);
    }
    for (size_t i = 0; rc == RC_OK && i < tmp.n; i++)
        tmp.ch[i].selected = rc_chan_equal(&tmp.ch[i].chan, &j->chan) &&
                             strcmp(tmp.ch[i].volcano, j->volcano) == 0;
    if (rc == RC_OK)
        rc = rc_inventory_read_manifests(st, &tmp, 1, &j->e);
    if (rc == RC_OK) {
        rc_inv_chan *src = rc_inventory_chan(&tmp, &j->chan, j->volcano);
        cJSON *sj = src ? rc_inventory_summary_json(&tmp, src, j->month, j->marker_etag) : NULL;
        char *body = sj ? cJSON_PrintUnformatted(sj) : NULL;
        char key[RC_KEY_MAX];
        if (!body) {
            rc = rc_err_set(&j->e, RC_ENOMEM, "out of memory");
        } else if ((rc = rc_inventory_summary_key(&j->chan, j->volcano, j->month, key, sizeof key,
                                                  &j->e)) == RC_OK) {
            rc = put_summary(st, key, body, &j->e);
        }
        free(body);
        if (rc == RC_OK)
            j->sj = sj;
        else
            cJSON_Delete(sj);
    }
    j->rc = rc;
    j->listed = tmp.listed;
    j->manifests_read = tmp.manifests_read;
    rc_inventory_free(&tmp);
}

static void month_io_par(rc_store *st, size_t k, void *ud)
{
    month_io(st, &((month_job *)ud)[k]);
}

static int month_apply(rc_inventory *inv, month_job *j, rc_err *e)
{
    inv->listed += j->listed;
    inv->manifests_read += j->manifests_read;
    if (j->rc != RC_OK) {
        *e = j->e;
        return j->rc;
    }
    inv->months_rebuilt++;
    return rc_inventory_summary_apply(inv, j->sj, e);
}

static void month_job_init(month_job *j, const rc_inventory *inv, int threads, const rc_chan *c,
                           const char *volcano, int64_t month, const char *marker_etag)
{
    memset(j, 0, sizeof *j);
    j->layout = inv->layout;
    j->threads = threads;
    j->chan = *c;
    snprintf(j->volcano, sizeof j->volcano, "%s", volcano);
    j->month = month;
    snprintf(j->marker_etag, sizeof j->marker_etag, "%s", marker_etag ? marker_etag : "");
}

int rc_inventory_write_summaries(rc_store *st, rc_inventory *inv, int only_selected,
                                 const cJSON *stored, const cJSON *markers, rc_err *e)
{
    /* body by key of what is stored, to skip identical rewrites */
    for (size_t i = 0; i < inv->n; i++) {
        rc_inv_chan *ch = &inv->ch[i];
        if (only_selected && !ch->selected)
            continue;
        size_t k = 0;
        while (k < ch->ndays) {
            int64_t month = rc_month_start(ch->days[k].day);
            char key[RC_KEY_MAX], mkey[RC_KEY_MAX];
            int rc = rc_inventory_summary_key(&ch->chan, ch->volcano, month, key, sizeof key, e);
            if (rc)
                return rc;
            rc_inventory_marker_key(&ch->chan, ch->volcano, month, mkey, sizeof mkey, e);
            const char *metag = markers ? jstr(markers, mkey) : NULL;
            cJSON *sj = rc_inventory_summary_json(inv, ch, month, metag);
            char *body = sj ? cJSON_PrintUnformatted(sj) : NULL;
            cJSON_Delete(sj);
            if (!body)
                return rc_err_set(e, RC_ENOMEM, "out of memory");
            int same = 0;
            const cJSON *it;
            cJSON_ArrayForEach(it, stored)
            {
                const char *sk = jstr(it, "key");
                if (sk && strcmp(sk, key) == 0) {
                    char *old = cJSON_PrintUnformatted(
                        cJSON_GetObjectItemCaseSensitive(it, "summary"));
                    same = old && strcmp(old, body) == 0;
                    free(old);
                }
            }
            if (!same) {
                rc = put_summary(st, key, body, e);
                if (rc) {
                    free(body);
                    return rc_err_wrap(e, "writing inventory summary");
                }
                inv->months_rebuilt++;
            }
            free(body);
            int64_t next = rc_month_next(month);
            while (k < ch->ndays && ch->days[k].day < next)
                k++;
        }
    }
    /* Stored summaries of months that now hold nothing. */
    const cJSON *it;
    cJSON_ArrayForEach(it, stored)
    {
        const char *sk = jstr(it, "key");
        rc_chan c;
        char volc[RC_VOLCANO_MAX], ext[16];
        int64_t month;
        if (!sk || parse_month_key(sk, &c, volc, &month, ext, sizeof ext) != 0)
            continue;
        rc_inv_chan *ch = NULL;
        for (size_t i = 0; i < inv->n && !ch; i++)
            if (rc_chan_equal(&inv->ch[i].chan, &c) && strcmp(inv->ch[i].volcano, volc) == 0)
                ch = &inv->ch[i];
        if (only_selected && (!ch || !ch->selected))
            continue;
        int has = 0;
        for (size_t k = 0; ch && k < ch->ndays && !has; k++)
            has = ch->days[k].day >= month && ch->days[k].day < rc_month_next(month);
        if (has)
            continue;
        rc_inv_chan empty;
        memset(&empty, 0, sizeof empty);
        empty.chan = c;
        snprintf(empty.volcano, sizeof empty.volcano, "%s", volc);
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(it, "summary");
        const cJSON *od = cJSON_GetObjectItemCaseSensitive(old, "days");
        if (cJSON_IsObject(od) && !od->child)
            continue; /* already empty */
        char mkey[RC_KEY_MAX];
        rc_inventory_marker_key(&c, volc, month, mkey, sizeof mkey, e);
        cJSON *sj = rc_inventory_summary_json(inv, &empty, month, markers ? jstr(markers, mkey) : NULL);
        char *body = sj ? cJSON_PrintUnformatted(sj) : NULL;
        cJSON_Delete(sj);
        if (!body)
            return rc_err_set(e, RC_ENOMEM, "out of memory");
        int rc = put_summary(st, sk, body, e);
        free(body);
        if (rc)
            return rc_err_wrap(e, "emptying inventory summary");
        inv->months_rebuilt++;
    }
    return RC_OK;
}

int rc_inventory_read_summaries(rc_store *st, cJSON **out, cJSON **markers, rc_err *e)
{
    idx_list l = {0};
    *out = NULL;
    if (markers)
        *markers = NULL;
    int rc = idx_list_prefixes(st, NULL, 0, &l, e);
    if (rc) {
        idx_free(&l);
        return rc;
    }
    idx_obj **sv = calloc(l.n + 1, sizeof *sv);
    size_t ns = 0;
    for (size_t i = 0; sv && i < l.n; i++)
        if (l.v[i].is_summary)
            sv[ns++] = &l.v[i];
    if (!sv) {
        idx_free(&l);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    rc_store_par_run(st, 8, ns, get_one, sv);
    cJSON *arr = cJSON_CreateArray();
    cJSON *mk = cJSON_CreateObject();
    for (size_t i = 0; arr && i < ns; i++) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "key", sv[i]->key);
        cJSON_AddStringToObject(it, "etag", sv[i]->etag);
        cJSON *sj = sv[i]->body ? cJSON_Parse(sv[i]->body) : NULL;
        if (sj)
            cJSON_AddItemToObject(it, "summary", sj);
        else
            cJSON_AddNullToObject(it, "summary");
        cJSON_AddItemToArray(arr, it);
    }
    for (size_t i = 0; mk && i < l.n; i++)
        if (!l.v[i].is_summary)
            cJSON_AddStringToObject(mk, l.v[i].key, l.v[i].etag);
    free(sv);
    idx_free(&l);
    *out = arr;
    if (markers)
        *markers = mk;
    else
        cJSON_Delete(mk);
    return RC_OK;
}

int rc_inventory_load(rc_store *st, rc_inventory *inv, const char *const *volcanoes,
                      size_t nvolcanoes, rc_err *e)
{
    idx_list l = {0};
    int rc = idx_list_prefixes(st, volcanoes, nvolcanoes, &l, e);
    if (rc)
        goto done;
    if (l.n == 0) {
        /* No summary yet: one full scan answers and seeds every summary.
         * Markers are listed first so that a write racing the scan is seen
         * as stale next time. */
        idx_list all = {0};
        cJSON *markers = cJSON_CreateObject();
        rc = idx_list_prefixes(st, NULL, 0, &all, e);
        for (size_t i = 0; rc == RC_OK && i < all.n; i++)
            if (!all.v[i].is_summary)
                cJSON_AddStringToObject(markers, all.v[i].key, all.v[i].etag);
        idx_free(&all);
        if (rc == RC_OK)
            rc = rc_inventory_scan(st, inv, rc_key_root(), e);
        if (rc == RC_OK)
            rc = rc_inventory_read_manifests(st, inv, 0, e);
        if (rc == RC_OK)
            rc = rc_inventory_write_summaries(st, inv, 0, NULL, markers, e);
        cJSON_Delete(markers);
        goto done;
    }
    /* Summaries whose marker moved since they were built (or built from
     * the other layout) are rebuilt from the data, the months in parallel;
     * the others are read as they are (in parallel too). Both are merged in
     * listing order. */
    idx_obj **sv = calloc(l.n, sizeof *sv);
    month_job *jobs = NULL; /* grown as stale months are found */
    size_t nj = 0, jcap = 0;
    size_t *job_of = calloc(l.n ? l.n : 1, sizeof *job_of); /* l.v index -> job + 1, or 0 */
    if (!sv || !job_of) {
        free(sv);
        free(jobs);
        free(job_of);
        rc = rc_err_set(e, RC_ENOMEM, "out of memory");
        goto done;
    }
    size_t ns = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].is_summary)
            sv[ns++] = &l.v[i];
    rc_store_par_run(st, inv->threads, ns, get_one, sv);
    free(sv);
    cJSON **parsed = calloc(l.n ? l.n : 1, sizeof *parsed);
    if (!parsed) {
        free(jobs);
        free(job_of);
        rc = rc_err_set(e, RC_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < l.n && rc == RC_OK; i++) {
        idx_obj *x = &l.v[i];
        if (nj == jcap) {
            size_t nc = jcap ? jcap * 2 : 16;
            month_job *nv = realloc(jobs, nc * sizeof *nv);
            if (!nv) {
                rc = rc_err_set(e, RC_ENOMEM, "out of memory");
                break;
            }
            jobs = nv;
            jcap = nc;
        }
        if (x->is_summary) {
            const idx_obj *mk = find_marker(&l, x);
            cJSON *sj = x->body ? cJSON_Parse(x->body) : NULL;
            const char *absorbed = sj ? jstr(sj, "marker_etag") : NULL;
            const char *built_for = sj ? jstr(sj, "layout") : NULL;
            /* A summary describes the layout it was built from: a store holding
             * both (during a migrate) gets it rebuilt for the layout asked. */
            int stale = !sj || x->failed ||
                        (mk && (!absorbed || strcmp(absorbed, mk->etag) != 0)) ||
                        !built_for || strcmp(built_for, rc_layout_name(inv->layout)) != 0;
            if (!stale) {
                parsed[i] = sj;
                continue;
            }
            cJSON_Delete(sj);
            month_job_init(&jobs[nj], inv, 1, &x->chan, x->volcano, x->month,
                           mk ? mk->etag : "");
            job_of[i] = ++nj;
        } else if (!find_summary(&l, x)) {
            month_job_init(&jobs[nj], inv, 1, &x->chan, x->volcano, x->month, x->etag);
            job_of[i] = ++nj;
        }
    }
    if (rc == RC_OK)
        rc_store_par_run(st, inv->threads, nj, month_io_par, jobs);
    for (size_t i = 0; i < l.n; i++) {
        if (rc == RC_OK && parsed[i]) {
            inv->summaries_read++;
            rc = rc_inventory_summary_apply(inv, parsed[i], e);
            if (rc)
                rc_err_wrap(e, "summary %s", l.v[i].key);
        } else if (rc == RC_OK && job_of[i]) {
            rc = month_apply(inv, &jobs[job_of[i] - 1], e);
        }
        cJSON_Delete(parsed[i]);
    }
    for (size_t k = 0; k < nj; k++)
        cJSON_Delete(jobs[k].sj);
    free(parsed);
    free(jobs);
    free(job_of);
done:
    idx_free(&l);
    return rc;
}

/* ---- object listings (verify, reindex) ---------------------------------- */

const rc_chan *rc_inv_obj_chan(const rc_inv_obj *o)
{
    return o->ki.kind == RC_KEY_CHUNK ? &o->ki.chunk.chan : &o->ki.manifest.chan;
}

const char *rc_inv_obj_volcano(const rc_inv_obj *o)
{
    return o->ki.kind == RC_KEY_CHUNK ? o->ki.chunk.volcano : o->ki.manifest.volcano;
}

int64_t rc_inv_obj_day(const rc_inv_obj *o)
{
    return o->ki.kind == RC_KEY_CHUNK ? rc_day_start(o->ki.chunk.start) : o->ki.manifest.day;
}

typedef struct lobj_ctx {
    rc_layout layout;
    rc_inv_objs *out;
    rc_inventory *unparsed;
    int oom;
} lobj_ctx;

static int lobj_cb(void *ud, const rc_obj_info *o)
{
    lobj_ctx *c = ud;
    rc_key_info ki;
    rc_err e;
    if (rc_key_parse(c->layout, o->key, &ki, &e) != RC_OK) {
        if (c->unparsed)
            note_unparsed(c->unparsed, o->key);
        return 0;
    }
    rc_inv_objs *l = c->out;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        rc_inv_obj *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            c->oom = 1;
            return 1;
        }
        l->v = nv;
        l->cap = nc;
    }
    rc_inv_obj *x = &l->v[l->n];
    x->key = strdup(o->key);
    if (!x->key) {
        c->oom = 1;
        return 1;
    }
    x->ki = ki;
    x->size = o->size;
    x->mtime = o->mtime;
    l->n++;
    return 0;
}

static int obj_cmp(const void *a, const void *b)
{
    const rc_inv_obj *x = a, *y = b;
    char p[RC_CHAN_STR_MAX], q[RC_CHAN_STR_MAX];
    rc_chan_format(rc_inv_obj_chan(x), p);
    rc_chan_format(rc_inv_obj_chan(y), q);
    int c = strcmp(p, q);
    if (!c)
        c = strcmp(rc_inv_obj_volcano(x), rc_inv_obj_volcano(y));
    if (c)
        return c;
    int64_t dx = rc_inv_obj_day(x), dy = rc_inv_obj_day(y);
    if (dx != dy)
        return dx < dy ? -1 : 1;
    if (x->ki.kind != y->ki.kind)
        return x->ki.kind == RC_KEY_MANIFEST ? -1 : 1;
    if (x->ki.kind == RC_KEY_CHUNK) {
        if (x->ki.chunk.span != y->ki.chunk.span)
            return x->ki.chunk.span < y->ki.chunk.span ? -1 : 1;
        if (x->ki.chunk.start != y->ki.chunk.start)
            return x->ki.chunk.start < y->ki.chunk.start ? -1 : 1;
    }
    return strcmp(x->key, y->key);
}

int rc_inventory_list_objects(rc_store *st, rc_layout l, const char *prefix, rc_inv_objs *out,
                              rc_inventory *unparsed, rc_err *e)
{
    lobj_ctx c = {l, out, unparsed, 0};
    int rc = rc_store_list(st, prefix, lobj_cb, &c, e);
    if (rc == RC_OK && c.oom)
        rc = rc_err_set(e, RC_ENOMEM, "out of memory listing %s", prefix);
    if (rc == RC_OK && out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, obj_cmp);
    return rc;
}

void rc_inv_objs_free(rc_inv_objs *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].key);
    free(o->v);
    memset(o, 0, sizeof *o);
}

static void hexs(const unsigned char *p, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[p[i] >> 4];
        out[2 * i + 1] = h[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int rc_inventory_entry_from_blob(rc_store *st, const rc_inv_obj *o, rc_mentry *en, int *from_body,
                                 rc_err *e)
{
    memset(en, 0, sizeof *en);
    *from_body = 0;
    rc_obj_info info;
    memset(&info, 0, sizeof info);
    int rc = rc_store_head(st, o->key, &info, e);
    if (rc)
        return rc;
    rc_err me;
    if (rc_mentry_from_meta(&info.meta, o->ki.chunk.start, en, &me) != RC_OK) {
        /* No statistics in the metadata: decode the body. */
        rc_buf body = RC_BUF_INIT;
        if ((rc = rc_store_get(st, o->key, &body, NULL, e)) != RC_OK) {
            rc_buf_free(&body);
            return rc;
        }
        rc_codec *codec = NULL;
        int32_t *s = NULL;
        size_t n = 0;
        if ((rc = rc_codec_new(1, &codec, e)) == RC_OK)
            rc = rc_codec_decode(codec, body.data, body.len, 0, &s, &n, e);
        rc_codec_free(codec);
        if (rc == RC_OK) {
            int32_t mn = n ? s[0] : 0, mx = n ? s[0] : 0;
            for (size_t k = 1; k < n; k++) {
                mn = s[k] < mn ? s[k] : mn;
                mx = s[k] > mx ? s[k] : mx;
            }
            en->min = mn;
            en->max = mx;
            en->samples = (int64_t)n;
            unsigned char md[32];
            unsigned int ml = 0;
            EVP_Digest(body.data, body.len, md, &ml, EVP_sha256(), NULL);
            hexs(md, 32, en->sha256);
            *from_body = 1;
        } else {
            rc_err_wrap(e, "blob %s has no statistics in its metadata and its body does not "
                           "decode",
                        o->key);
        }
        free(s);
        rc_buf_free(&body);
        if (rc)
            return rc;
    }
    en->start = o->ki.chunk.start;
    en->end = o->ki.chunk.start + rc_span_seconds(o->ki.chunk.span);
    en->bytes = info.size > 0 ? info.size : o->size;
    rc_time_iso(info.mtime ? info.mtime : o->mtime, en->written_at);
    return RC_OK;
}

static const rc_inv_want *want_find(const rc_inv_want *w, size_t n, rc_span s, int64_t start)
{
    for (size_t i = 0; i < n; i++)
        if (w[i].span == s && w[i].entry.start == start)
            return &w[i];
    return NULL;
}

/* An entry is dropped only when its blob is confirmed absent now: the caller's
 * listing may predate a concurrent writer that stored the blob and added its
 * entry since, and dropping that entry would lose it. */
static int blob_gone(rc_store *st, const rc_manifest *m, rc_span s, int64_t start)
{
    rc_chunk_id id;
    memset(&id, 0, sizeof id);
    id.chan = m->chan;
    snprintf(id.volcano, sizeof id.volcano, "%s", m->volcano);
    id.rate = m->sample_rate;
    id.span = s;
    id.start = start;
    char key[RC_KEY_MAX];
    rc_err e;
    if (rc_key_chunk(m->layout, &id, key, sizeof key, &e) != RC_OK)
        return 1; /* an entry no key can name has no blob */
    rc_obj_info info;
    return rc_store_head(st, key, &info, &e) == RC_ENOTFOUND;
}

typedef struct sync_ctx {
    rc_store *st;
    const rc_inv_want *want;
    size_t n;
    int replace_differing;
} sync_ctx;

static int sync_apply(rc_manifest *m, int exists, const char *now, void *user, rc_err *e)
{
    (void)exists;
    (void)e;
    const sync_ctx *c = user;
    int ch = 0;
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        for (size_t k = m->chunks[s].n; k > 0; k--)
            if (!want_find(c->want, c->n, (rc_span)s, m->chunks[s].v[k - 1].start) &&
                blob_gone(c->st, m, (rc_span)s, m->chunks[s].v[k - 1].start))
                ch |= rc_manifest_remove(m, (rc_span)s, m->chunks[s].v[k - 1].start);
    for (size_t i = 0; i < c->n; i++) {
        int had = rc_manifest_find(m, c->want[i].span, c->want[i].entry.start) != NULL;
        if (!had)
            ch |= rc_manifest_upsert(m, c->want[i].span, &c->want[i].entry, RC_UPSERT_IF_ABSENT,
                                     now);
        else if (c->replace_differing)
            ch |= rc_manifest_upsert(m, c->want[i].span, &c->want[i].entry, RC_UPSERT_REPLACE,
                                     now);
    }
    return ch;
}

int rc_inventory_sync_manifest(rc_store *st, const char *key, const rc_manifest *tmpl,
                               const rc_inv_want *want, size_t n, int replace_differing,
                               rc_span base, const char *cache_control, int *changed, rc_err *e)
{
    sync_ctx c = {st, want, n, replace_differing};
    rc_rmw_opts o = {cache_control, base, 10, 1};
    return rc_manifest_rmw(st, key, tmpl, sync_apply, &c, &o, changed, e);
}
