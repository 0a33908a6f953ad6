/*
 * manifest.c: the daily index of one channel's chunks: entries and their
 * sorted lists, merging, and the one read-modify-write of a stored manifest.
 * The JSON form is manifest_json.c's.
 *
 * Chunk lists are sorted arrays keyed by start; every insertion keeps them so,
 * which makes retries idempotent (the seed appended blindly and duplicated).
 * rc_manifest_rmw is an optimistic read-modify-write: read with its ETag,
 * apply the change, write If-Match (If-None-Match when new); on a lost
 * race read again and re-apply, so two writers never drop each other's
 * entries. A stored manifest we cannot parse is never overwritten, unless the
 * caller rebuilds it from the blobs (reindex, verify --repair).
 */
#include "manifest_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/codec.h"
#include "r2cache/config.h"
#include "r2cache/retry.h"
#include "r2cache/timewin.h"

#define DAY_SECONDS RC_MANIFEST_DAY

/* ---- entries and lists ------------------------------------------------- */

void rc_mentry_free(rc_mentry *en)
{
    if (!en) return;
    cJSON_Delete(en->history);
    cJSON_Delete(en->extra);
    free(en->steps);
    en->history = NULL;
    en->extra = NULL;
    en->steps = NULL;
    en->nsteps = 0;
}

int rc_mentry_copy(rc_mentry *dst, const rc_mentry *src)
{
    *dst = *src;
    dst->history = NULL;
    dst->extra = NULL;
    dst->steps = NULL;
    dst->nsteps = 0;
    if (src->nsteps > 0) {
        dst->steps = malloc((size_t)src->nsteps * sizeof *dst->steps);
        if (!dst->steps) goto oom;
        memcpy(dst->steps, src->steps, (size_t)src->nsteps * sizeof *dst->steps);
        dst->nsteps = src->nsteps;
    }
    if (src->history && !(dst->history = cJSON_Duplicate(src->history, 1))) goto oom;
    if (src->extra && !(dst->extra = cJSON_Duplicate(src->extra, 1))) goto oom;
    return RC_OK;
oom:
    rc_mentry_free(dst);
    return RC_ENOMEM;
}

static void mlist_free(rc_mlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        rc_mentry_free(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Index of start, or -(insertion point) - 1. */
static ptrdiff_t mlist_search(const rc_mlist *l, int64_t start)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->v[mid].start < start)
            lo = mid + 1;
        else if (l->v[mid].start > start)
            hi = mid;
        else
            return (ptrdiff_t)mid;
    }
    return -(ptrdiff_t)lo - 1;
}

/* Insert (taking ownership of *en) at the sorted position; replaces an entry
 * with the same start. */
int rc_manifest_mlist_put(rc_mlist *l, rc_mentry *en)
{
    ptrdiff_t i = mlist_search(l, en->start);
    if (i >= 0) {
        rc_mentry_free(&l->v[i]);
        l->v[i] = *en;
        return RC_OK;
    }
    size_t pos = (size_t)(-i - 1);
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        rc_mentry *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) return RC_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    memmove(&l->v[pos + 1], &l->v[pos], (l->n - pos) * sizeof *l->v);
    l->v[pos] = *en;
    l->n++;
    return RC_OK;
}

/* ---- manifest lifecycle ------------------------------------------------ */

void rc_manifest_init(rc_manifest *m, rc_layout l, const rc_chan *c, const char *volcano,
                      double rate, int64_t day)
{
    memset(m, 0, sizeof *m);
    m->layout = l;
    m->day = day;
    if (c) m->chan = *c;
    if (volcano) snprintf(m->volcano, sizeof m->volcano, "%s", volcano);
    m->sample_rate = rate;
}

void rc_manifest_init_station(rc_manifest *m, rc_layout l, const rc_station *st,
                              const char *volcano, double rate, int64_t day)
{
    rc_manifest_init(m, l, &st->chan, volcano, rate, day);
    snprintf(m->instrument_type, sizeof m->instrument_type, "%s", st->instrument_type);
    if (st->has_coords) {
        m->has_coords = 1;
        m->latitude = st->latitude;
        m->longitude = st->longitude;
        m->elevation_m = st->elevation_m;
    }
}

void rc_manifest_free(rc_manifest *m)
{
    if (!m) return;
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        mlist_free(&m->chunks[s]);
    free(m->empty);
    m->empty = NULL;
    m->nempty = 0;
    cJSON_Delete(m->extra);
    m->extra = NULL;
}

int rc_manifest_copy(rc_manifest *dst, const rc_manifest *src, rc_err *e)
{
    *dst = *src;
    dst->extra = NULL;
    dst->empty = NULL;
    dst->nempty = 0;
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        memset(&dst->chunks[s], 0, sizeof dst->chunks[s]);
    if (src->extra && !(dst->extra = cJSON_Duplicate(src->extra, 1))) goto oom;
    if (src->nempty) {
        if (!(dst->empty = malloc(src->nempty * sizeof *dst->empty))) goto oom;
        memcpy(dst->empty, src->empty, src->nempty * sizeof *dst->empty);
        dst->nempty = src->nempty;
    }
    for (int s = 0; s < RC_SPAN_COUNT; s++) {
        const rc_mlist *sl = &src->chunks[s];
        rc_mlist *dl = &dst->chunks[s];
        if (!sl->n) continue;
        dl->v = calloc(sl->n, sizeof *dl->v);
        if (!dl->v) goto oom;
        dl->cap = sl->n;
        for (size_t i = 0; i < sl->n; i++) {
            if (rc_mentry_copy(&dl->v[i], &sl->v[i])) goto oom;
            dl->n++;
        }
    }
    return RC_OK;
oom:
    rc_manifest_free(dst);
    return rc_err_set(e, RC_ENOMEM, "out of memory copying a manifest");
}

const rc_mentry *rc_manifest_find(const rc_manifest *m, rc_span s, int64_t start)
{
    if ((int)s < 0 || s >= RC_SPAN_COUNT) return NULL;
    ptrdiff_t i = mlist_search(&m->chunks[s], start);
    return i >= 0 ? &m->chunks[s].v[i] : NULL;
}

/* ---- merging ----------------------------------------------------------- */

static int same_steps(const rc_mentry *a, const rc_mentry *b)
{
    if (a->nsteps != b->nsteps) return 0;
    for (int i = 0; i < a->nsteps; i++)
        if (a->steps[i].start != b->steps[i].start || a->steps[i].offset_s != b->steps[i].offset_s)
            return 0;
    return 1;
}

/* Same data (what the blob holds), regardless of bookkeeping fields. */
static int same_data(const rc_mentry *a, const rc_mentry *b)
{
    return a->start == b->start && a->end == b->end && a->min == b->min && a->max == b->max &&
           a->samples == b->samples && a->gap_count == b->gap_count &&
           a->gap_duration_seconds == b->gap_duration_seconds &&
           a->gap_samples_filled == b->gap_samples_filled && a->completeness == b->completeness &&
           a->provisional == b->provisional && a->bytes == b->bytes &&
           !strcmp(a->sha256, b->sha256) && !strcmp(a->codec, b->codec) &&
           a->offset_s == b->offset_s && a->gap_head == b->gap_head && a->gap_tail == b->gap_tail &&
           same_steps(a, b);
}

int rc_manifest_upsert(rc_manifest *m, rc_span s, const rc_mentry *entry, rc_upsert_mode mode,
                       const char *now_iso)
{
    if ((int)s < 0 || s >= RC_SPAN_COUNT || !entry) return 0;
    rc_mlist *l = &m->chunks[s];
    ptrdiff_t i = mlist_search(l, entry->start);
    rc_mentry en;
    if (i < 0) {
        if (rc_mentry_copy(&en, entry)) return 0;
        cJSON_Delete(en.history); /* history is the manifest's to keep */
        en.history = NULL;
        if (en.revision <= 0) en.revision = 1;
        if (rc_manifest_mlist_put(l, &en)) {
            rc_mentry_free(&en);
            return 0;
        }
        return 1;
    }
    rc_mentry *old = &l->v[i];
    switch (mode) {
    case RC_UPSERT_IF_ABSENT:
        return 0;
    case RC_UPSERT_UPGRADE:
        if (!old->provisional || entry->completeness < old->completeness) return 0;
        break;
    case RC_UPSERT_REPLACE:
        break;
    default:
        return 0;
    }
    if (same_data(old, entry)) return 0; /* a retry of the write that is already recorded */

    cJSON *snap = NULL;
    if (rc_manifest_entry_json(old, m->day, 0, &snap, NULL)) return 0;
    if (!cJSON_AddStringToObject(snap, "replaced_at", now_iso ? now_iso : "")) {
        cJSON_Delete(snap);
        return 0;
    }
    if (rc_mentry_copy(&en, entry)) {
        cJSON_Delete(snap);
        return 0;
    }
    cJSON_Delete(en.history);
    en.history = old->history ? old->history : cJSON_CreateArray();
    old->history = NULL;
    if (!en.history) {
        cJSON_Delete(snap);
        rc_mentry_free(&en);
        return 0;
    }
    cJSON_AddItemToArray(en.history, snap);
    en.revision = (old->revision > 0 ? old->revision : 1) + 1;
    rc_mentry_free(old);
    *old = en;
    return 1;
}

int rc_manifest_remove(rc_manifest *m, rc_span s, int64_t start)
{
    if ((int)s < 0 || s >= RC_SPAN_COUNT) return 0;
    rc_mlist *l = &m->chunks[s];
    ptrdiff_t i = mlist_search(l, start);
    if (i < 0) return 0;
    rc_mentry_free(&l->v[i]);
    memmove(&l->v[i], &l->v[i + 1], (l->n - (size_t)i - 1) * sizeof *l->v);
    l->n--;
    return 1;
}

void rc_manifest_recompute(rc_manifest *m, rc_span base)
{
    int64_t span = rc_span_seconds(base);
    if (span <= 0) {
        m->complete_day = 0;
        return;
    }
    /* data stored in a window is the answer now, whatever was seen before */
    const rc_mlist *bl = &m->chunks[base];
    for (size_t i = 0; m->nempty && i < bl->n; i++)
        (void)rc_manifest_clear_empty(m, bl->v[i].start, bl->v[i].end);
    for (int64_t t = m->day; t < m->day + DAY_SECONDS; t += span) {
        if (!rc_manifest_find(m, base, t)) {
            m->complete_day = 0;
            return;
        }
    }
    m->complete_day = 1;
}

/* ---- store round trips ------------------------------------------------- */

int rc_manifest_load(rc_store *st, rc_layout l, const char *key, rc_manifest *m, char *etag_out,
                     rc_err *e)
{
    rc_buf b = RC_BUF_INIT;
    rc_obj_info info;
    int rc = rc_store_get(st, key, &b, &info, e);
    if (rc) {
        rc_buf_free(&b);
        return rc;
    }
    rc = rc_manifest_parse(l, b.data ? b.data : "", b.len, m, e);
    rc_buf_free(&b);
    if (rc) return rc_err_wrap(e, "stored manifest %s in %s", key, rc_store_describe(st));
    if (etag_out) snprintf(etag_out, RC_ETAG_MAX, "%s", info.etag);
    return RC_OK;
}

/* Between conflicting attempts: full-jitter exponential backoff (10 ms
 * doubling, at most 1 s, retry.c). A writer that keeps updating the same
 * manifest wins every race it starts first, so the loser must be willing to
 * wait out its burst rather than retry at once; R2 also takes at most one
 * write per second to a key. */
#define RMW_BACKOFF_BASE_S 0.010
#define RMW_BACKOFF_CAP_S 1.0

void rc_manifest_obj_meta(const char *cache_control, rc_obj_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    snprintf(meta->content_type, sizeof meta->content_type, "application/json");
    snprintf(meta->cache_control, sizeof meta->cache_control, "%s",
             cache_control && *cache_control ? cache_control : "public, max-age=60");
}

int rc_manifest_rmw(rc_store *st, const char *key, const rc_manifest *tmpl,
                    rc_manifest_mutate_fn fn, void *user, const rc_rmw_opts *o, int *changed,
                    rc_err *e)
{
    if (changed) *changed = 0;
    int attempts = o && o->max_attempts > 0 ? o->max_attempts : 20;
    rc_retry backoff;
    rc_retry_init(&backoff, RMW_BACKOFF_BASE_S, RMW_BACKOFF_CAP_S, (uintptr_t)key);
    rc_obj_meta jm;
    rc_manifest_obj_meta(o ? o->cache_control : NULL, &jm);

    for (int attempt = 1; attempt <= attempts; attempt++) {
        rc_manifest m;
        char etag[RC_ETAG_MAX] = "";
        char now_iso[40];
        rc_time_now_iso_us(now_iso);
        int rc = rc_manifest_load(st, tmpl->layout, key, &m, etag, e);
        int exists = 1, ch = 0;
        if (rc == RC_EFORMAT && o && o->replace_unreadable) {
            /* reindex and repair rebuild it from the blobs: the unreadable
             * one is replaced, conditionally on being the one we saw */
            rc_obj_info info;
            if ((rc = rc_store_head(st, key, &info, e)) != RC_OK) {
                if (rc == RC_ENOTFOUND) continue; /* gone meanwhile: read again */
                return rc;
            }
            snprintf(etag, sizeof etag, "%s", info.etag);
            if ((rc = rc_manifest_copy(&m, tmpl, e)) != RC_OK) return rc;
            if (!m.created_at[0]) snprintf(m.created_at, sizeof m.created_at, "%s", now_iso);
            ch = 1;
        } else if (rc == RC_ENOTFOUND) {
            exists = 0;
            if ((rc = rc_manifest_copy(&m, tmpl, e)) != RC_OK) return rc;
            if (!m.created_at[0]) snprintf(m.created_at, sizeof m.created_at, "%s", now_iso);
        } else if (rc == RC_EFORMAT) {
            char why[RC_ERR_MSG_MAX];
            snprintf(why, sizeof why, "%s", e ? e->msg : "");
            return rc_err_set(e, RC_EFORMAT,
                              "%s; not overwriting it: run reindex to rebuild it from the blobs",
                              why);
        } else if (rc) {
            return rc;
        }
        snprintf(m.updated_at, sizeof m.updated_at, "%s", now_iso);
        int r = fn(&m, exists, now_iso, user, e);
        if (r < 0) {
            rc_manifest_free(&m);
            return e && e->code ? (int)e->code : RC_EIO;
        }
        ch |= r;
        int was = m.complete_day;
        size_t was_empty = m.nempty;
        rc_manifest_recompute(&m, o ? o->base : RC_SPAN_10M);
        ch |= was != m.complete_day || was_empty != m.nempty;
        if (!ch) {
            rc_manifest_free(&m);
            return RC_OK;
        }
        rc_buf body = RC_BUF_INIT;
        rc = rc_manifest_serialize(&m, &body, e);
        rc_manifest_free(&m);
        if (rc) {
            rc_buf_free(&body);
            return rc_err_wrap(e, "manifest %s", key);
        }
        const rc_obj_meta *meta = !exists && o && o->create_meta ? o->create_meta : &jm;
        rc_put_opts po = {meta, exists ? etag : NULL, !exists};
        rc = rc_store_put(st, key, body.data, body.len, &po, NULL, e);
        rc_buf_free(&body);
        if (rc == RC_OK) {
            if (changed) *changed = 1;
            return RC_OK;
        }
        if (rc != RC_ECONFLICT) return rc;
        if (attempt < attempts) rc_retry_sleep(0.001 + rc_retry_backoff(&backoff, attempt), NULL);
    }
    return rc_err_set(e, RC_ECONFLICT,
                      "manifest %s in %s: still losing to other writers after %d attempts; "
                      "run again later (nothing was lost, the blobs are written)",
                      key, rc_store_describe(st), attempts);
}

typedef struct ops_ctx {
    const rc_mop *ops;
    size_t n;
} ops_ctx;

static int apply_ops(rc_manifest *m, int exists, const char *now_iso, void *user, rc_err *e)
{
    (void)exists;
    const ops_ctx *c = user;
    int ch = 0;
    for (size_t i = 0; i < c->n; i++) {
        const rc_mop *op = &c->ops[i];
        if (op->kind == RC_MOP_EMPTY) {
            int r = rc_manifest_mark_empty(m, op->start, op->end, op->checked_at);
            if (r < 0) {
                rc_err_set(e, RC_ENOMEM, "out of memory");
                return -1;
            }
            ch |= r;
        } else {
            ch |= rc_manifest_upsert(m, op->span, op->entry, op->mode, now_iso);
        }
    }
    return ch;
}

int rc_manifest_update(rc_store *st, const char *key, const rc_manifest *tmpl, const rc_mop *ops,
                       size_t nops, rc_span base, const char *cache_control, int max_attempts,
                       int *changed, rc_err *e)
{
    ops_ctx c = {ops, nops};
    rc_rmw_opts o = {cache_control, base, max_attempts, 0, NULL};
    return rc_manifest_rmw(st, key, tmpl, apply_ops, &c, &o, changed, e);
}

/* ---- a manifest made to index exactly its blobs ------------------------ */

static const rc_mwant *want_find(const rc_mwant *w, size_t n, rc_span s, int64_t start)
{
    for (size_t i = 0; i < n; i++)
        if (w[i].span == s && w[i].entry.start == start) return &w[i];
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

int rc_manifest_match(rc_manifest *m, int exists, const char *now_iso, void *user, rc_err *e)
{
    (void)exists;
    (void)e;
    const rc_mmatch *c = user;
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
                                     now_iso);
        else if (c->replace_differing)
            ch |= rc_manifest_upsert(m, c->want[i].span, &c->want[i].entry, RC_UPSERT_REPLACE,
                                     now_iso);
    }
    return ch;
}

/* ---- blob metadata ----------------------------------------------------- */

/* Statistics of a blob from its decoded body (no metadata to read them from). */
static int entry_from_body(rc_store *st, const char *key, rc_mentry *en, rc_err *e)
{
    rc_buf body = RC_BUF_INIT;
    int rc = rc_store_get(st, key, &body, NULL, e);
    if (rc) {
        rc_buf_free(&body);
        return rc;
    }
    rc_codec *codec = NULL;
    int32_t *s = NULL;
    size_t n = 0;
    /* no metadata to name the codec: the body's magic does */
    rc_codec_id id = rc_codec_sniff(body.data, body.len);
    if ((rc = rc_codec_new(1, &codec, e)) == RC_OK)
        rc = rc_codec_decode_named(codec, rc_codec_id_name(id), body.data, body.len, 0, &s, &n, e);
    if (rc == RC_OK && id != RC_CODEC_INT32_ZSTD)
        snprintf(en->codec, sizeof en->codec, "%s", rc_codec_id_name(id));
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
        rc_codec_sha256(body.data, body.len, en->sha256);
    } else {
        rc_err_wrap(e, "blob %s has no statistics in its metadata and its body does not decode",
                    key);
    }
    free(s);
    rc_buf_free(&body);
    return rc;
}

int rc_mentry_from_blob(rc_store *st, const char *key, rc_span span, int64_t start, unsigned flags,
                        rc_mentry *en, int *from_body, rc_err *e)
{
    memset(en, 0, sizeof *en);
    if (from_body) *from_body = 0;
    rc_obj_info info;
    memset(&info, 0, sizeof info);
    int rc = rc_store_head(st, key, &info, e);
    if (rc) return rc;
    if (flags & RC_MBLOB_DECODE) {
        rc_err me;
        if (rc_mentry_from_meta(&info.meta, start, en, &me) != RC_OK) {
            rc_mentry_free(en);
            memset(en, 0, sizeof *en);
            if ((rc = entry_from_body(st, key, en, e))) return rc;
            if (from_body) *from_body = 1;
        }
    } else if ((rc = rc_mentry_from_meta(&info.meta, start, en, e))) {
        return rc;
    }
    en->start = start;
    en->end = start + rc_span_seconds(span);
    en->bytes = info.size;
    if (flags & RC_MBLOB_STAMP) rc_time_iso(info.mtime, en->written_at);
    return RC_OK;
}

void rc_mentry_to_meta(const rc_mentry *en, rc_obj_meta *meta)
{
    char v[64];
    snprintf(v, sizeof v, "%" PRId32, en->min);
    rc_obj_meta_set(meta, "r2c-min", v);
    snprintf(v, sizeof v, "%" PRId32, en->max);
    rc_obj_meta_set(meta, "r2c-max", v);
    snprintf(v, sizeof v, "%" PRId64, en->samples);
    rc_obj_meta_set(meta, "r2c-samples", v);
    snprintf(v, sizeof v, "%d", en->gap_count);
    rc_obj_meta_set(meta, "r2c-gap-count", v);
    rc_manifest_fmt_num(en->gap_duration_seconds, v, sizeof v);
    rc_obj_meta_set(meta, "r2c-gap-seconds", v);
    snprintf(v, sizeof v, "%" PRId64, en->gap_samples_filled);
    rc_obj_meta_set(meta, "r2c-gap-filled", v);
    rc_manifest_fmt_num(en->completeness, v, sizeof v);
    rc_obj_meta_set(meta, "r2c-completeness", v);
    rc_obj_meta_set(meta, "r2c-provisional", en->provisional ? "1" : "0");
    rc_manifest_fmt_num(en->offset_s, v, sizeof v);
    rc_obj_meta_set(meta, "r2c-offset", v);
    if (en->gap_head > 0 || en->gap_tail > 0) {
        snprintf(v, sizeof v, "%" PRId64 ",%" PRId64, en->gap_head, en->gap_tail);
        rc_obj_meta_set(meta, "r2c-gap-edges", v);
    }
    if (en->sha256[0]) rc_obj_meta_set(meta, "r2c-sha256", en->sha256);
    /* the entry's "source", so that a re-indexed entry says it too */
    if (en->source[0]) rc_obj_meta_set(meta, "r2c-source", en->source);
    if (en->codec[0]) rc_obj_meta_set(meta, "r2c-codec", en->codec);
    /* Phase steps, "SECONDS:MICROSECONDS" after the chunk's start, packed
     * into as many entries as they need (values are short). */
    char val[RC_META_VAL_MAX], name[RC_META_KEY_MAX];
    size_t len = 0;
    int part = 1;
    val[0] = '\0';
    for (int i = 0; i < en->nsteps; i++) {
        char one[48];
        int k = snprintf(one, sizeof one, "%s%" PRId64 ":%lld", len ? "," : "",
                         en->steps[i].start - en->start, llround(en->steps[i].offset_s * 1e6));
        if (len + (size_t)k >= sizeof val) {
            snprintf(name, sizeof name, part == 1 ? "r2c-phase-steps" : "r2c-phase-steps-%d", part);
            rc_obj_meta_set(meta, name, val);
            part++;
            len = 0;
            k = snprintf(one, sizeof one, "%" PRId64 ":%lld", en->steps[i].start - en->start,
                         llround(en->steps[i].offset_s * 1e6));
        }
        memcpy(val + len, one, (size_t)k + 1);
        len += (size_t)k;
    }
    if (len) {
        snprintf(name, sizeof name, part == 1 ? "r2c-phase-steps" : "r2c-phase-steps-%d", part);
        rc_obj_meta_set(meta, name, val);
    }
}

/* r2c-phase-steps[-N] back into absolute steps of a chunk starting at start. */
static int meta_steps(const rc_obj_meta *meta, int64_t start, rc_mentry *en, rc_err *e)
{
    char name[RC_META_KEY_MAX];
    for (int part = 1;; part++) {
        snprintf(name, sizeof name, part == 1 ? "r2c-phase-steps" : "r2c-phase-steps-%d", part);
        const char *v = rc_obj_meta_get(meta, name);
        if (!v) return RC_OK;
        const char *p = v;
        while (*p) {
            char *end;
            long long sec = strtoll(p, &end, 10);
            if (end == p || *end != ':') goto bad;
            p = end + 1;
            long long us = strtoll(p, &end, 10);
            if (end == p || (*end && *end != ',') || sec <= 0 || us < 0 || us >= 1000000000LL)
                goto bad;
            p = *end ? end + 1 : end;
            int64_t at = start + sec;
            if (en->nsteps > 0 && at <= en->steps[en->nsteps - 1].start) goto bad;
            rc_phase_step *ns = realloc(en->steps, (size_t)(en->nsteps + 1) * sizeof *ns);
            if (!ns) return rc_err_set(e, RC_ENOMEM, "out of memory");
            en->steps = ns;
            en->steps[en->nsteps].start = at;
            en->steps[en->nsteps].offset_s = (double)us / 1e6;
            en->nsteps++;
        }
    }
bad:
    return rc_err_set(e, RC_EFORMAT,
                      "blob metadata x-amz-meta-%s: \"%s\" is not SECONDS:MICROSECONDS,...", name,
                      rc_obj_meta_get(meta, name));
}

static int meta_int(const rc_obj_meta *meta, const char *name, int required, int64_t lo, int64_t hi,
                    int64_t *out, rc_err *e)
{
    const char *v = rc_obj_meta_get(meta, name);
    if (!v) {
        if (required)
            return rc_err_set(e, RC_EFORMAT,
                              "blob metadata x-amz-meta-%s is missing (blob written by another "
                              "tool?)",
                              name);
        return RC_OK;
    }
    char *end;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || x < lo || x > hi)
        return rc_err_set(e, RC_EFORMAT, "blob metadata x-amz-meta-%s: \"%s\" is not a valid value",
                          name, v);
    *out = x;
    return RC_OK;
}

static int meta_num(const rc_obj_meta *meta, const char *name, double *out, rc_err *e)
{
    const char *v = rc_obj_meta_get(meta, name);
    if (!v) return RC_OK;
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !isfinite(x))
        return rc_err_set(e, RC_EFORMAT, "blob metadata x-amz-meta-%s: \"%s\" is not a number",
                          name, v);
    *out = x;
    return RC_OK;
}

int rc_mentry_from_meta(const rc_obj_meta *meta, int64_t start, rc_mentry *en, rc_err *e)
{
    int64_t mn = 0, mx = 0, samples = 0, gc = 0, gf = 0, prov = 0;
    double gs = 0, comp = 0, off = 0;
    int rc;
    if ((rc = meta_int(meta, "r2c-min", 1, INT32_MIN, INT32_MAX, &mn, e)) ||
        (rc = meta_int(meta, "r2c-max", 1, INT32_MIN, INT32_MAX, &mx, e)) ||
        (rc = meta_int(meta, "r2c-samples", 1, 0, INT64_MAX, &samples, e)) ||
        (rc = meta_int(meta, "r2c-gap-count", 0, 0, INT32_MAX, &gc, e)) ||
        (rc = meta_int(meta, "r2c-gap-filled", 0, 0, INT64_MAX, &gf, e)) ||
        (rc = meta_int(meta, "r2c-provisional", 0, 0, 1, &prov, e)) ||
        (rc = meta_num(meta, "r2c-gap-seconds", &gs, e)) ||
        (rc = meta_num(meta, "r2c-completeness", &comp, e)) ||
        (rc = meta_num(meta, "r2c-offset", &off, e)))
        return rc;
    int64_t head = 0, tail = 0;
    const char *edges = rc_obj_meta_get(meta, "r2c-gap-edges");
    if (edges) {
        long long h = -1, t = -1;
        char extra = 0;
        if (sscanf(edges, "%lld,%lld%c", &h, &t, &extra) != 2 || h < 0 || t < 0 || h > samples ||
            t > samples)
            return rc_err_set(e, RC_EFORMAT,
                              "blob metadata x-amz-meta-r2c-gap-edges: \"%s\" is not HEAD,TAIL",
                              edges);
        head = h;
        tail = t;
    }
    const char *sha = rc_obj_meta_get(meta, "r2c-sha256");
    if (sha && strlen(sha) >= sizeof en->sha256)
        return rc_err_set(e, RC_EFORMAT, "blob metadata x-amz-meta-r2c-sha256 is too long");
    const char *codec = rc_obj_meta_get(meta, "r2c-codec");
    if (codec && strlen(codec) >= sizeof en->codec)
        return rc_err_set(e, RC_EFORMAT, "blob metadata x-amz-meta-r2c-codec is too long");
    snprintf(en->codec, sizeof en->codec, "%s", codec && strcmp(codec, "int32-zstd") ? codec : "");
    en->min = (int32_t)mn;
    en->max = (int32_t)mx;
    en->samples = samples;
    en->gap_count = (int)gc;
    en->gap_samples_filled = gf;
    en->provisional = (int)prov;
    en->gap_duration_seconds = gs;
    en->completeness = comp;
    en->offset_s = off;
    en->gap_head = head;
    en->gap_tail = tail;
    snprintf(en->sha256, sizeof en->sha256, "%s", sha ? sha : "");
    const char *src = rc_obj_meta_get(meta, "r2c-source");
    if (src && strlen(src) >= sizeof en->source)
        return rc_err_set(e, RC_EFORMAT, "blob metadata x-amz-meta-r2c-source is too long");
    snprintf(en->source, sizeof en->source, "%s", src ? src : "");
    en->steps = NULL;
    en->nsteps = 0;
    rc = meta_steps(meta, start, en, e);
    if (rc) {
        free(en->steps);
        en->steps = NULL;
        en->nsteps = 0;
    }
    return rc;
}
