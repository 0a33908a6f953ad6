/*
 * summary.c: the per channel-month summaries of the inventory under index/:
 * building one from the inventory model, merging one into it, writing them,
 * marking them stale, and the fast load that rebuilds the stale ones.
 *
 * Trade-offs: summaries are a cache of the listing's truth, invalidated by
 * change markers that writers PUT blindly (no read-modify-write on a hot
 * object), and rebuilt by whoever next reads a stale month. Reads of many
 * small objects, and the rebuilds of stale months, run on a few threads,
 * each with its own store handle (stores are not thread-safe).
 */
#include "r2cache/summary.h"
#include "r2cache/timewin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- change markers ---------------------------------------------------- */

int rc_summary_touch(rc_store *st, const rc_chan *c, const char *volcano, int64_t day, rc_err *e)
{
    char key[RC_KEY_MAX], body[96], now[40], date[RC_TIME_STR_MAX];
    int rc = rc_key_index(c, volcano, rc_month_start(day), RC_INDEX_MARKER, key, sizeof key, e);
    if (rc) return rc;
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
    if (rc) return rc_err_wrap(e, "marking the inventory summary %s stale", key);
    return RC_OK;
}

/* ---- summary bodies ---------------------------------------------------- */

/* A day bitmap as 36 hex digits (byte 0 first), written only when a bit is
 * set; read back by or-ing into bits. Returns 1 when the field was there. */
static void put_bits(cJSON *dj, const char *name, const uint8_t *bits)
{
    char hex[2 * RC_INV_DAY_BYTES + 1];
    int any = 0;
    for (int i = 0; i < RC_INV_DAY_BYTES; i++) {
        any |= bits[i];
        snprintf(hex + 2 * i, 3, "%02x", bits[i]);
    }
    if (any) cJSON_AddStringToObject(dj, name, hex);
}

static int get_bits(const cJSON *dj, const char *name, uint8_t *bits)
{
    const char *hex = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dj, name));
    if (!hex || strlen(hex) != 2 * RC_INV_DAY_BYTES) return 0;
    for (int i = 0; i < RC_INV_DAY_BYTES; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return 0;
        bits[i] |= (uint8_t)v;
    }
    return 1;
}

static const char *const span_key[RC_SPAN_COUNT] = {"10min", "1h", "6h", "24h"};

cJSON *rc_summary_json(const rc_inventory *inv, const rc_inv_chan *ch, int64_t month,
                       const char *marker_etag)
{
    char tmp[RC_TIME_STR_MAX];
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
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
        if (d->day < month || d->day >= next) continue;
        rc_time_date(d->day, tmp);
        cJSON *dj = cJSON_AddObjectToObject(days, tmp);
        if (!dj) break;
        cJSON *cj = cJSON_AddObjectToObject(dj, "chunks");
        for (int s = 0; cj && s < RC_SPAN_COUNT; s++)
            if (d->chunks[s]) cJSON_AddNumberToObject(cj, span_key[s], (double)d->chunks[s]);
        cJSON_AddNumberToObject(dj, "bytes", (double)d->bytes);
        cJSON_AddBoolToObject(dj, "manifest", d->has_manifest);
        cJSON_AddNumberToObject(dj, "manifest_bytes", (double)d->manifest_bytes);
        if (d->manifest_bad) cJSON_AddTrueToObject(dj, "manifest_bad");
        cJSON_AddNumberToObject(dj, "provisional", (double)d->provisional);
        cJSON_AddNumberToObject(dj, "gap_count", (double)d->gap_count);
        cJSON_AddNumberToObject(dj, "gap_samples_filled", (double)d->gap_samples_filled);
        cJSON_AddNumberToObject(dj, "gap_duration_seconds", d->gap_seconds);
        if (d->unparsed) cJSON_AddNumberToObject(dj, "unparsed", (double)d->unparsed);
        put_bits(dj, "present_10m", d->present10);
        put_bits(dj, "source_empty_10m", d->empty10);
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
            if (!ex) ex = cJSON_AddArrayToObject(o, "unparsed_examples");
            if (ex) cJSON_AddItemToArray(ex, cJSON_CreateString(inv->examples[i]));
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

int rc_summary_apply(rc_inventory *inv, const cJSON *sj, rc_err *e)
{
    rc_chan c;
    const char *net = jstr(sj, "network"), *sta = jstr(sj, "station"), *loc = jstr(sj, "location"),
               *cha = jstr(sj, "channel"), *volc = jstr(sj, "volcano");
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(sj, "days");
    if (!net || !sta || !loc || !cha || !volc || !cJSON_IsObject(days) ||
        rc_chan_set(&c, net, sta, loc, cha) != RC_OK)
        return rc_err_set(e, RC_EFORMAT,
                          "inventory summary lacks network/station/location/channel/volcano/days; "
                          "run r2cache reindex to rebuild it");
    rc_inv_chan *ch = rc_inventory_chan(inv, &c, volc);
    if (!ch) return rc_err_set(e, RC_ENOMEM, "out of memory");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(sj, "sample_rate");
    if (cJSON_IsNumber(r) && r->valuedouble > 0) ch->rate = r->valuedouble;
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
            return rc_err_set(e, RC_EFORMAT, "inventory summary of %s.%s: bad day \"%s\"", net, sta,
                              dj->string ? dj->string : "");
        rc_inv_day *d = rc_inventory_day(ch, t);
        if (!d) return rc_err_set(e, RC_ENOMEM, "out of memory");
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
        get_bits(dj, "present_10m", d->present10);
        if (get_bits(dj, "source_empty_10m", d->empty10)) {
            d->source_empty = 0;
            for (int k = 0; k < RC_INV_DAY_WINDOWS; k++)
                d->source_empty += rc_inv_bit(d->empty10, k);
        }
        inv->unparsed += jint(dj, "unparsed");
        inv->keys += jint(dj, "unparsed");
        const cJSON *gs = cJSON_GetObjectItemCaseSensitive(dj, "gap_duration_seconds");
        if (cJSON_IsNumber(gs)) d->gap_seconds += gs->valuedouble;
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
    rc_index_id id;
    if (rc_key_index_parse(o->key, &id, NULL) != RC_OK) return 0; /* not ours: ignored */
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
    x->is_summary = id.kind == RC_INDEX_SUMMARY;
    x->chan = id.chan;
    snprintf(x->volcano, sizeof x->volcano, "%s", id.volcano);
    x->month = id.month;
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
        rc_key_index_prefix(nv ? volcanoes[i] : NULL, prefix, sizeof prefix);
        int rc = rc_store_list(st, prefix, idx_cb, l, e);
        if (rc) return rc;
        if (l->oom) return rc_err_set(e, RC_ENOMEM, "out of memory listing %s", prefix);
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

/* Listing prefixes that hold every key of a channel-month (seed: one, the
 * month folder; viewer: one per day). Returns how many were named. */
static size_t month_prefixes(rc_layout l, const rc_chan *c, const char *volcano, int64_t month,
                             char (*out)[RC_KEY_MAX], size_t n)
{
    rc_err e;
    size_t k = 0;
    if (l == RC_LAYOUT_SEED) {
        if (n && rc_key_prefix_channel_day(l, c, volcano, month, out[0], RC_KEY_MAX, &e) == RC_OK)
            k = 1;
        return k;
    }
    for (int i = 0, nd = rc_month_days(month); i < nd && k < n; i++)
        if (rc_key_prefix_channel_day(l, c, volcano, rc_month_start(month) + (int64_t)i * 86400,
                                      out[k], RC_KEY_MAX, &e) == RC_OK)
            k++;
    return k;
}

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
    size_t np = month_prefixes(j->layout, &j->chan, j->volcano, j->month, pfx, 31);
    int rc = RC_OK;
    for (size_t i = 0; i < np && rc == RC_OK; i++) {
        rc = rc_inventory_scan(st, &tmp, pfx[i], &j->e);
    }
    for (size_t i = 0; rc == RC_OK && i < tmp.n; i++)
        tmp.ch[i].selected =
            rc_chan_equal(&tmp.ch[i].chan, &j->chan) && strcmp(tmp.ch[i].volcano, j->volcano) == 0;
    if (rc == RC_OK) rc = rc_inventory_read_manifests(st, &tmp, 1, &j->e);
    if (rc == RC_OK) {
        rc_inv_chan *src = rc_inventory_chan(&tmp, &j->chan, j->volcano);
        cJSON *sj = src ? rc_summary_json(&tmp, src, j->month, j->marker_etag) : NULL;
        char *body = sj ? cJSON_PrintUnformatted(sj) : NULL;
        char key[RC_KEY_MAX];
        if (!body) {
            rc = rc_err_set(&j->e, RC_ENOMEM, "out of memory");
        } else if ((rc = rc_key_index(&j->chan, j->volcano, j->month, RC_INDEX_SUMMARY, key,
                                      sizeof key, &j->e)) == RC_OK) {
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
    return rc_summary_apply(inv, j->sj, e);
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

int rc_summary_write(rc_store *st, rc_inventory *inv, int only_selected, const cJSON *stored,
                     const cJSON *markers, rc_err *e)
{
    /* body by key of what is stored, to skip identical rewrites */
    for (size_t i = 0; i < inv->n; i++) {
        rc_inv_chan *ch = &inv->ch[i];
        if (only_selected && !ch->selected) continue;
        size_t k = 0;
        while (k < ch->ndays) {
            int64_t month = rc_month_start(ch->days[k].day);
            char key[RC_KEY_MAX], mkey[RC_KEY_MAX];
            int rc =
                rc_key_index(&ch->chan, ch->volcano, month, RC_INDEX_SUMMARY, key, sizeof key, e);
            if (rc) return rc;
            rc_key_index(&ch->chan, ch->volcano, month, RC_INDEX_MARKER, mkey, sizeof mkey, e);
            const char *metag = markers ? jstr(markers, mkey) : NULL;
            cJSON *sj = rc_summary_json(inv, ch, month, metag);
            char *body = sj ? cJSON_PrintUnformatted(sj) : NULL;
            cJSON_Delete(sj);
            if (!body) return rc_err_set(e, RC_ENOMEM, "out of memory");
            int same = 0;
            const cJSON *it;
            cJSON_ArrayForEach(it, stored)
            {
                const char *sk = jstr(it, "key");
                if (sk && strcmp(sk, key) == 0) {
                    char *old =
                        cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(it, "summary"));
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
        rc_index_id id;
        if (!sk || rc_key_index_parse(sk, &id, NULL) != RC_OK) continue;
        const rc_chan c = id.chan;
        const char *volc = id.volcano;
        int64_t month = id.month;
        rc_inv_chan *ch = NULL;
        for (size_t i = 0; i < inv->n && !ch; i++)
            if (rc_chan_equal(&inv->ch[i].chan, &c) && strcmp(inv->ch[i].volcano, volc) == 0)
                ch = &inv->ch[i];
        if (only_selected && (!ch || !ch->selected)) continue;
        int has = 0;
        for (size_t k = 0; ch && k < ch->ndays && !has; k++)
            has = ch->days[k].day >= month && ch->days[k].day < rc_month_next(month);
        if (has) continue;
        rc_inv_chan empty;
        memset(&empty, 0, sizeof empty);
        empty.chan = c;
        snprintf(empty.volcano, sizeof empty.volcano, "%s", volc);
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(it, "summary");
        const cJSON *od = cJSON_GetObjectItemCaseSensitive(old, "days");
        if (cJSON_IsObject(od) && !od->child) continue; /* already empty */
        char mkey[RC_KEY_MAX];
        rc_key_index(&c, volc, month, RC_INDEX_MARKER, mkey, sizeof mkey, e);
        cJSON *sj = rc_summary_json(inv, &empty, month, markers ? jstr(markers, mkey) : NULL);
        char *body = sj ? cJSON_PrintUnformatted(sj) : NULL;
        cJSON_Delete(sj);
        if (!body) return rc_err_set(e, RC_ENOMEM, "out of memory");
        int rc = put_summary(st, sk, body, e);
        free(body);
        if (rc) return rc_err_wrap(e, "emptying inventory summary");
        inv->months_rebuilt++;
    }
    return RC_OK;
}

int rc_summary_read_all(rc_store *st, cJSON **out, cJSON **markers, rc_err *e)
{
    idx_list l = {0};
    *out = NULL;
    if (markers) *markers = NULL;
    int rc = idx_list_prefixes(st, NULL, 0, &l, e);
    if (rc) {
        idx_free(&l);
        return rc;
    }
    idx_obj **sv = calloc(l.n + 1, sizeof *sv);
    size_t ns = 0;
    for (size_t i = 0; sv && i < l.n; i++)
        if (l.v[i].is_summary) sv[ns++] = &l.v[i];
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
        if (!l.v[i].is_summary) cJSON_AddStringToObject(mk, l.v[i].key, l.v[i].etag);
    free(sv);
    idx_free(&l);
    *out = arr;
    if (markers)
        *markers = mk;
    else
        cJSON_Delete(mk);
    return RC_OK;
}

int rc_summary_load(rc_store *st, rc_inventory *inv, const char *const *volcanoes,
                    size_t nvolcanoes, rc_err *e)
{
    idx_list l = {0};
    int rc = idx_list_prefixes(st, volcanoes, nvolcanoes, &l, e);
    if (rc) goto done;
    if (l.n == 0) {
        /* No summary yet: one full scan answers and seeds every summary.
         * Markers are listed first so that a write racing the scan is seen
         * as stale next time. */
        idx_list all = {0};
        cJSON *markers = cJSON_CreateObject();
        rc = idx_list_prefixes(st, NULL, 0, &all, e);
        for (size_t i = 0; rc == RC_OK && i < all.n; i++)
            if (!all.v[i].is_summary) cJSON_AddStringToObject(markers, all.v[i].key, all.v[i].etag);
        idx_free(&all);
        if (rc == RC_OK) rc = rc_inventory_scan(st, inv, rc_key_root(), e);
        if (rc == RC_OK) rc = rc_inventory_read_manifests(st, inv, 0, e);
        if (rc == RC_OK) rc = rc_summary_write(st, inv, 0, NULL, markers, e);
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
        if (l.v[i].is_summary) sv[ns++] = &l.v[i];
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
                        (mk && (!absorbed || strcmp(absorbed, mk->etag) != 0)) || !built_for ||
                        strcmp(built_for, rc_layout_name(inv->layout)) != 0;
            if (!stale) {
                parsed[i] = sj;
                continue;
            }
            cJSON_Delete(sj);
            month_job_init(&jobs[nj], inv, 1, &x->chan, x->volcano, x->month, mk ? mk->etag : "");
            job_of[i] = ++nj;
        } else if (!find_summary(&l, x)) {
            month_job_init(&jobs[nj], inv, 1, &x->chan, x->volcano, x->month, x->etag);
            job_of[i] = ++nj;
        }
    }
    if (rc == RC_OK) rc_store_par_run(st, inv->threads, nj, month_io_par, jobs);
    for (size_t i = 0; i < l.n; i++) {
        if (rc == RC_OK && parsed[i]) {
            inv->summaries_read++;
            rc = rc_summary_apply(inv, parsed[i], e);
            if (rc) rc_err_wrap(e, "summary %s", l.v[i].key);
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
