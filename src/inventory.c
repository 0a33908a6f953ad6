/*
 * inventory.c: the inventory model: per channel-day accounting of the cache
 * from the listing, and the manifests for what keys cannot tell.
 *
 * Trade-offs: the listing is the truth for what exists (counts, days,
 * bytes); a manifest can lag or be lost, a key cannot. Manifests are read on
 * a few threads, each with its own store handle (stores are not
 * thread-safe). The per channel-month summaries are summary.c's.
 */
#include "r2cache/inventory.h"
#include "r2cache/manifest.h"
#include "r2cache/timewin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

rc_inv_chan *rc_inventory_chan(rc_inventory *inv, const rc_chan *c, const char *volcano)
{
    /* Listings arrive grouped by channel: the last match is the usual hit. */
    for (size_t k = inv->n; k > 0; k--) {
        rc_inv_chan *ch = &inv->ch[k - 1];
        if (rc_chan_equal(&ch->chan, c) && strcmp(ch->volcano, volcano) == 0) return ch;
    }
    if (inv->n == inv->cap) {
        size_t nc = inv->cap ? inv->cap * 2 : 16;
        rc_inv_chan *nv = realloc(inv->ch, nc * sizeof *nv);
        if (!nv) return NULL;
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
    if (hi && ch->days[hi - 1].day == day) return &ch->days[hi - 1];
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
        if (lo < ch->ndays && ch->days[lo].day == day) return &ch->days[lo];
    }
    if (ch->ndays == ch->cap) {
        size_t nc = ch->cap ? ch->cap * 2 : 32;
        rc_inv_day *nv = realloc(ch->days, nc * sizeof *nv);
        if (!nv) return NULL;
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

void rc_inventory_note_unparsed(rc_inventory *inv, const char *key)
{
    inv->unparsed++;
    if (inv->nexamples < RC_INV_EXAMPLES)
        snprintf(inv->examples[inv->nexamples++], RC_KEY_MAX, "%s", key);
}

/* A key that does not parse is still charged to the channel whose folder
 * holds it, when the folder names one, so per-month summaries carry it. */
static int attribute_unparsed(rc_inventory *inv, const char *key)
{
    rc_chan c;
    char volcano[RC_VOLCANO_MAX];
    int64_t day;
    if (rc_key_folder(inv->layout, key, &c, volcano, &day) != RC_OK) return RC_OK;
    rc_inv_chan *ch = rc_inventory_chan(inv, &c, volcano);
    rc_inv_day *dd = ch ? rc_inventory_day(ch, day) : NULL;
    if (!dd) return RC_ENOMEM;
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
        rc_inventory_note_unparsed(inv, o->key);
        return attribute_unparsed(inv, o->key);
    }
    const rc_chan *c = ki.kind == RC_KEY_CHUNK ? &ki.chunk.chan : &ki.manifest.chan;
    const char *volc = ki.kind == RC_KEY_CHUNK ? ki.chunk.volcano : ki.manifest.volcano;
    rc_inv_chan *ch = rc_inventory_chan(inv, c, volc);
    if (!ch) return RC_ENOMEM;
    rc_inv_day *d;
    if (ki.kind == RC_KEY_CHUNK) {
        if (ki.chunk.rate > 0) ch->rate = ki.chunk.rate;
        if (!(d = rc_inventory_day(ch, rc_day_start(ki.chunk.start)))) return RC_ENOMEM;
        d->chunks[ki.chunk.span]++;
        d->bytes += o->size;
        if (ki.chunk.span == RC_SPAN_10M) {
            int k = (int)((ki.chunk.start - d->day) / 600);
            if (k >= 0 && k < RC_INV_DAY_WINDOWS) d->present10[k >> 3] |= (uint8_t)(1u << (k & 7));
        }
    } else {
        if (ki.manifest.rate > 0) ch->rate = ki.manifest.rate;
        if (!(d = rc_inventory_day(ch, ki.manifest.day))) return RC_ENOMEM;
        d->has_manifest = 1;
        d->manifest_bytes = o->size;
        free(d->manifest_key);
        if (!(d->manifest_key = strdup(o->key))) return RC_ENOMEM;
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
    if (rc == RC_ENOTFOUND) return; /* deleted since the listing */
    if (rc != RC_OK) {
        d->manifest_bad = 1;
        return;
    }
    __atomic_fetch_add(&c->read, 1, __ATOMIC_RELAXED);
    int base = -1;
    for (int s = 0; s < RC_SPAN_COUNT; s++) {
        for (size_t k = 0; k < m.chunks[s].n; k++)
            d->provisional += m.chunks[s].v[k].provisional != 0;
        if (base < 0 && m.chunks[s].n) base = s;
    }
    /* windows the source confirmed empty, in 10-minute steps */
    for (size_t k = 0; k < m.nempty; k++)
        for (int64_t t = m.empty[k].start; t < m.empty[k].end; t += 600) {
            int w = (int)((t - d->day) / 600);
            if (w < 0 || w >= RC_INV_DAY_WINDOWS || rc_inv_bit(d->empty10, w)) continue;
            d->empty10[w >> 3] |= (uint8_t)(1u << (w & 7));
            d->source_empty++;
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
    if (!n) return RC_OK;
    mtask *t = calloc(n, sizeof *t);
    if (!t) return rc_err_set(e, RC_ENOMEM, "out of memory reading %zu manifests", n);
    size_t j = 0;
    for (size_t i = 0; i < inv->n; i++)
        if (!only_selected || inv->ch[i].selected)
            for (size_t k = 0; k < inv->ch[i].ndays; k++) {
                rc_inv_day *d = &inv->ch[i].days[k];
                if (d->manifest_key) {
                    d->provisional = d->gap_count = d->gap_samples_filled = 0;
                    d->gap_seconds = 0;
                    d->manifest_bad = 0;
                    d->source_empty = 0;
                    memset(d->empty10, 0, sizeof d->empty10);
                    t[j++] = (mtask){d->manifest_key, d};
                }
            }
    mread_ctx c = {inv->layout, t, 0};
    rc_store_par_run(st, inv->threads, n, mread_one, &c);
    inv->manifests_read += c.read;
    free(t);
    return RC_OK;
}
