/*
 * cmd_migrate.c: `r2cache migrate --to-layout viewer|seed`, a copy of a
 * cache from one key layout to the other inside the same store, without
 * refetching anything.
 *
 * The unit of work is one channel-day. Its source keys are found by listing
 * the naming module's channel-day prefix and parsing every key with the
 * source layout (so a seed key's rate comes from the key itself); the blobs
 * named by the source manifest, plus any blob the manifest lost (indexed
 * again from its own metadata, as the engine does), are copied byte for byte
 * with the same headers under the key the naming module builds for the
 * destination layout. A seed destination needs the rate in its keys: it is
 * the source manifest's sample_rate.
 *
 * Every copy is verified before the manifest that names it is written (the
 * store's rule: blob first, then the index): the destination is read back,
 * compared byte for byte, decoded to the recorded sample count, and its
 * headers compared. The destination manifest is the source one converted to
 * the other layout, written whole when absent; when present, only the
 * entries it lacks are added through the manifest module's conditional
 * update, so reruns copy only what is missing and never lose what a
 * concurrent writer put there. A destination blob that exists with other
 * bytes is a conflict, reported and never overwritten.
 *
 * Sources are deleted only with --delete-source, only after every
 * channel-day in scope verified, and only the keys that were verified
 * (manifest first, so an interrupted delete leaves blobs a rerun still
 * finds and deletes, never a manifest naming missing blobs).
 */
#include "r2cache/cli.h"
#include "r2cache/codec.h"
#include "r2cache/codec_compact.h"
#include "r2cache/inventory.h"
#include "r2cache/summary.h"
#include "r2cache/manifest.h"
#include "r2cache/naming.h"
#include "r2cache/progress.h"
#include "r2cache/timewin.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct mig_args {
    const char *to_layout, *max_range, *progress_interval;
    double progress_s;
    int dry_run, delete_source;
    rc_layout dst;
    int64_t max_range_s;
} mig_args;

static const rc_cli_opt migrate_opts[] = {
    RC_OPT_STRING("to-layout", "seed|viewer", mig_args, to_layout,
                  "layout to copy the cache into (required; the source layout is "
                  "the configuration's or --layout)"),
    RC_OPT_FLAG("dry-run", mig_args, dry_run,
                "list what would be copied (and deleted) and change nothing"),
    RC_OPT_FLAG("delete-source", mig_args, delete_source,
                "after every copy in scope verified, delete the source keys"),
    RC_OPT_STRING("max-range", "DURATION", mig_args, max_range,
                  "refuse ranges longer than this (default 3660d)"),
    RC_OPT_STRING("progress-interval", "SECONDS", mig_args, progress_interval,
                  "without a terminal: log a progress line this often (default 30; 0: none)"),
    RC_OPT_END};

typedef struct mig_stats {
    int64_t channel_days;      /* channel-days with something in the source */
    int64_t blobs_copied;      /* written and verified */
    int64_t blobs_present;     /* already at the destination with the same bytes (verified) */
    int64_t blobs_failed;      /* missing source, conflict, failed write or verify */
    int64_t blobs_reindexed;   /* source blobs without manifest entry, copied from metadata */
    int64_t manifests_written; /* destination manifests created or extended */
    int64_t manifests_present; /* destination manifest already had every entry */
    int64_t manifests_failed;
    int64_t bytes_copied;
    int64_t deleted; /* source keys deleted */
} mig_stats;

/* One parsed key of the current source listing. */
typedef struct lkey {
    char key[RC_KEY_MAX];
    rc_key_info info;
    int used; /* named by a manifest entry */
} lkey;

/* Growable list of strings (keys to delete, dry-run plan). */
typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

typedef struct mig {
    rc_cli *cli;
    rc_store *st;
    rc_layout src, dst;
    int dry_run, delete_source;
    rc_codec *codec;
    mig_stats s;
    /* listing cache: the seed prefix is a month folder shared by its days */
    char prefix[RC_KEY_MAX];
    int have_listing;
    lkey *keys;
    size_t nkeys, capkeys;
    strlist to_delete; /* verified source keys, manifests before their blobs */
    strlist plan;      /* dry run: one line per action */
    cJSON *errors;     /* array of messages for --json */
    int list_status;   /* listing callback failure */
} mig;

static int strlist_add(strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int strlist_add(strlist *l, const char *fmt, ...)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return RC_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&l->v[l->n], fmt, ap);
    va_end(ap);
    if (r < 0) return RC_ENOMEM;
    l->n++;
    return RC_OK;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Log a per-key failure and keep it for the JSON summary. */
static void fail_msg(mig *m, const rc_err *e)
{
    rc_log_error(&m->cli->log, "error", "%s", e->msg);
    cJSON_AddItemToArray(m->errors, cJSON_CreateString(e->msg));
}

static int list_cb(void *ud, const rc_obj_info *obj)
{
    mig *m = ud;
    rc_key_info info;
    rc_err e;
    /* Keys that are not of the source layout (or not ours) are skipped. */
    if (rc_key_parse(m->src, obj->key, &info, &e) != RC_OK) return 0;
    if (m->nkeys == m->capkeys) {
        size_t cap = m->capkeys ? m->capkeys * 2 : 256;
        lkey *k = realloc(m->keys, cap * sizeof *k);
        if (!k) {
            m->list_status = RC_ENOMEM;
            return 1;
        }
        m->keys = k;
        m->capkeys = cap;
    }
    lkey *k = &m->keys[m->nkeys++];
    snprintf(k->key, sizeof k->key, "%s", obj->key);
    k->info = info;
    k->used = 0;
    return 0;
}

static int load_listing(mig *m, const rc_target *t, int64_t day, rc_err *e)
{
    char prefix[RC_KEY_MAX];
    int rc = rc_key_prefix_channel_day(m->src, &t->st->chan, t->volc->name, day, prefix,
                                       sizeof prefix, e);
    if (rc) return rc;
    if (m->have_listing && strcmp(prefix, m->prefix) == 0) {
        for (size_t i = 0; i < m->nkeys; i++)
            m->keys[i].used = 0;
        return RC_OK;
    }
    m->nkeys = 0;
    m->have_listing = 0;
    m->list_status = RC_OK;
    rc = rc_store_list(m->st, prefix, list_cb, m, e);
    if (rc == RC_OK && m->list_status)
        rc = rc_err_set(e, m->list_status, "out of memory listing %s", prefix);
    if (rc) return rc_err_wrap(e, "listing %s", prefix);
    snprintf(m->prefix, sizeof m->prefix, "%s", prefix);
    m->have_listing = 1;
    return RC_OK;
}

static int same_channel(const rc_chan *a, const char *va, const rc_target *t)
{
    return rc_target_find(t, 1, a, va) != NULL;
}

/* An empty content type means application/octet-stream (store.h). */
static const char *ctype(const rc_obj_meta *m)
{
    return m->content_type[0] ? m->content_type : "application/octet-stream";
}

static int meta_equal(const rc_obj_meta *a, const rc_obj_meta *b)
{
    if (strcmp(ctype(a), ctype(b)) || strcmp(a->cache_control, b->cache_control) || a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++) {
        const char *v = rc_obj_meta_get(b, a->name[i]);
        if (!v || strcmp(v, a->value[i])) return 0;
    }
    return 1;
}

/* Source body and headers (a backend may leave meta out of a GET). */
static int read_source(mig *m, const char *key, rc_buf *body, rc_obj_meta *meta, rc_err *e)
{
    rc_obj_info info;
    memset(&info, 0, sizeof info);
    int rc = rc_store_get(m->st, key, body, &info, e);
    if (rc) return rc;
    if (!info.meta.content_type[0] && info.meta.n == 0) {
        rc_obj_info h;
        memset(&h, 0, sizeof h);
        if ((rc = rc_store_head(m->st, key, &h, e))) return rc;
        info.meta = h.meta;
    }
    *meta = info.meta;
    return RC_OK;
}

/* Read the destination back and hold it to the source: bytes, sample count, headers. */
static int verify_copy(mig *m, const char *dkey, const rc_buf *src, const rc_obj_meta *smeta,
                       int64_t samples, int *differs, rc_err *e)
{
    rc_buf got = RC_BUF_INIT;
    rc_obj_info info;
    memset(&info, 0, sizeof info);
    *differs = 0;
    int rc = rc_store_get(m->st, dkey, &got, &info, e);
    if (rc) {
        rc_buf_free(&got);
        return rc_err_wrap(e, "verify: reading back %s", dkey);
    }
    if (got.len != src->len || (got.len && memcmp(got.data, src->data, got.len) != 0)) {
        *differs = 1;
        rc = rc_err_set(e, RC_ECONFLICT,
                        "%s exists with other content than its source (%zu bytes, source %zu): "
                        "not overwritten; delete it (or compare the two) and migrate again",
                        dkey, got.len, src->len);
        rc_buf_free(&got);
        return rc;
    }
    int32_t *v = NULL;
    size_t n = 0;
    rc = rc_codec_decode_named(m->codec, rc_obj_meta_get(smeta, "r2c-codec"), got.data, got.len, 0,
                               &v, &n, e);
    free(v);
    rc_buf_free(&got);
    if (rc) return rc_err_wrap(e, "verify: %s does not decode", dkey);
    if ((int64_t)n != samples)
        return rc_err_set(e, RC_EFORMAT,
                          "verify: %s decodes to %zu samples but its manifest entry records "
                          "%lld; the source is inconsistent: run verify on it",
                          dkey, n, (long long)samples);
    rc_obj_info h;
    memset(&h, 0, sizeof h);
    if ((rc = rc_store_head(m->st, dkey, &h, e))) return rc_err_wrap(e, "verify: HEAD %s", dkey);
    if (!meta_equal(smeta, &h.meta))
        return rc_err_set(e, RC_EFORMAT,
                          "verify: %s has other headers than its source (Content-Type \"%s\", "
                          "Cache-Control \"%s\", %d metadata entries; source \"%s\", \"%s\", %d)",
                          dkey, h.meta.content_type, h.meta.cache_control, h.meta.n,
                          smeta->content_type, smeta->cache_control, smeta->n);
    return RC_OK;
}

/*
 * Copy one blob and verify it. Returns RC_OK when the destination holds the
 * source's bytes (copied now or already there); *copied says which. In a dry
 * run only the plan is recorded.
 */
static int copy_blob(mig *m, const char *skey, const char *dkey, int64_t samples, int *copied,
                     rc_err *e)
{
    *copied = 0;
    if (m->dry_run) {
        rc_obj_info h;
        memset(&h, 0, sizeof h);
        int rc = rc_store_head(m->st, dkey, &h, e);
        if (rc == RC_ENOTFOUND) {
            *copied = 1;
            return strlist_add(&m->plan, "copy %s -> %s", skey, dkey);
        }
        return rc;
    }
    rc_buf body = RC_BUF_INIT;
    rc_obj_meta meta;
    int rc = read_source(m, skey, &body, &meta, e);
    if (rc == RC_ENOTFOUND) {
        rc_buf_free(&body);
        return rc_err_set(e, RC_ENOTFOUND,
                          "%s is named by its manifest but is not in the store: not copied "
                          "(run verify --repair on the source layout)",
                          skey);
    }
    if (rc) {
        rc_buf_free(&body);
        return rc_err_wrap(e, "reading %s", skey);
    }
    rc_obj_info h;
    memset(&h, 0, sizeof h);
    rc = rc_store_head(m->st, dkey, &h, e);
    if (rc == RC_ENOTFOUND) {
        /* Create only: a concurrent writer's object is compared, not clobbered. */
        rc_put_opts po = {&meta, NULL, 1};
        rc = rc_store_put(m->st, dkey, body.data, body.len, &po, NULL, e);
        if (rc == RC_OK)
            *copied = 1;
        else if (rc != RC_ECONFLICT) {
            rc_buf_free(&body);
            return rc_err_wrap(e, "writing %s", dkey);
        }
    } else if (rc) {
        rc_buf_free(&body);
        return rc_err_wrap(e, "HEAD %s", dkey);
    }
    int differs = 0;
    rc = verify_copy(m, dkey, &body, &meta, samples, &differs, e);
    if (rc == RC_OK && *copied) m->s.bytes_copied += (int64_t)body.len;
    rc_buf_free(&body);
    return rc;
}

/* A blob without a manifest entry: its entry comes from its own metadata. */
static int entry_from_blob(mig *m, const lkey *k, rc_mentry *en, rc_err *e)
{
    int rc =
        rc_mentry_from_blob(m->st, k->key, k->info.chunk.span, k->info.chunk.start, 0, en, NULL, e);
    if (rc == RC_EFORMAT)
        return rc_err_wrap(e, "%s has no manifest entry and its metadata cannot rebuild one",
                           k->key);
    if (rc) return rc_err_wrap(e, "HEAD %s", k->key);
    return RC_OK;
}

/* What the destination manifest gets: the converted one whole when it is
 * absent (its history, timestamps and unknown fields as they are), else the
 * entries it lacks. */
typedef struct adopt_ctx {
    const rc_manifest *conv;
    const rc_mop *ops;
    size_t nops;
} adopt_ctx;

static int adopt(rc_manifest *dm, int exists, const char *now_iso, void *user, rc_err *e)
{
    const adopt_ctx *c = user;
    if (!exists) {
        rc_manifest_free(dm);
        return rc_manifest_copy(dm, c->conv, e) == RC_OK ? 1 : -1;
    }
    int ch = 0;
    for (size_t i = 0; i < c->nops; i++)
        ch |= rc_manifest_upsert(dm, c->ops[i].span, c->ops[i].entry, c->ops[i].mode, now_iso);
    return ch;
}

/* The destination manifest: created whole, or extended by what it lacks. */
static int write_manifest(mig *m, const char *dkey, const rc_manifest *conv,
                          const rc_obj_meta *meta, rc_span base, int *wrote, rc_err *e)
{
    *wrote = 0;
    rc_manifest cur;
    int rc = rc_manifest_load(m->st, m->dst, dkey, &cur, NULL, e);
    if (rc == RC_ENOTFOUND) {
        /* a day without chunks can still hold the record of the windows
         * the source had no data for: it is carried over */
        size_t n = conv->nempty;
        for (int s = 0; s < RC_SPAN_COUNT; s++)
            n += conv->chunks[s].n;
        if (m->dry_run) {
            *wrote = n > 0;
            return n ? strlist_add(&m->plan, "write %s", dkey) : RC_OK;
        }
        if (!n) return RC_OK;
    } else if (rc) {
        return rc_err_wrap(e, "reading %s", dkey);
    } else {
        rc_manifest_free(&cur);
    }
    size_t nops = 0;
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        nops += conv->chunks[s].n;
    rc_mop *ops = calloc(nops ? nops : 1, sizeof *ops);
    if (!ops) return rc_err_set(e, RC_ENOMEM, "out of memory");
    size_t k = 0;
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        for (size_t i = 0; i < conv->chunks[s].n; i++)
            ops[k++] = (rc_mop){
                .span = (rc_span)s, .entry = &conv->chunks[s].v[i], .mode = RC_UPSERT_IF_ABSENT};
    if (m->dry_run) {
        /* Would anything be added? Apply to a private copy of the stored one. */
        rc_manifest probe;
        rc = rc_manifest_load(m->st, m->dst, dkey, &probe, NULL, e);
        if (rc == RC_OK) {
            int ch = 0;
            for (size_t i = 0; i < nops; i++)
                ch |= rc_manifest_upsert(&probe, ops[i].span, ops[i].entry, ops[i].mode, "");
            rc_manifest_free(&probe);
            *wrote = ch;
            if (ch) rc = strlist_add(&m->plan, "extend %s", dkey);
        }
    } else {
        /* Created with the source's headers; extended with those of every
         * manifest write (Cache-Control as the source's). A writer that
         * creates it meanwhile is merged into, never overwritten. */
        adopt_ctx c = {conv, ops, nops};
        rc_rmw_opts ro = {meta->cache_control, base, 0, 0, meta};
        rc = rc_manifest_rmw(m->st, dkey, conv, adopt, &c, &ro, wrote, e);
    }
    free(ops);
    return rc;
}

/* After the write: every converted entry is in the stored destination manifest. */
static int verify_manifest(mig *m, const char *dkey, const rc_manifest *conv, rc_err *e)
{
    rc_manifest got;
    int rc = rc_manifest_load(m->st, m->dst, dkey, &got, NULL, e);
    if (rc) return rc_err_wrap(e, "verify: reading back %s", dkey);
    for (int s = 0; s < RC_SPAN_COUNT && rc == RC_OK; s++)
        for (size_t i = 0; i < conv->chunks[s].n && rc == RC_OK; i++) {
            const rc_mentry *want = &conv->chunks[s].v[i];
            const rc_mentry *have = rc_manifest_find(&got, (rc_span)s, want->start);
            if (!have || have->samples != want->samples || have->min != want->min ||
                have->max != want->max) {
                char hms[RC_TIME_STR_MAX];
                rc_time_hms(want->start, hms);
                rc = rc_err_set(e, RC_EFORMAT,
                                "verify: %s lacks (or holds another version of) the %s entry at "
                                "%s; run migrate again",
                                dkey, rc_span_manifest_key(m->dst, (rc_span)s), hms);
            }
        }
    rc_manifest_free(&got);
    return rc;
}

/* Copy one chunk list entry; failures are counted and reported, not fatal.
 * A verified source key is added to verified (the delete candidates). */
static int migrate_entry(mig *m, const char *skey, const rc_chunk_id *did, const rc_mentry *en,
                         strlist *verified, int *ok, rc_err *e)
{
    char dkey[RC_KEY_MAX];
    *ok = 0;
    int rc = rc_key_chunk(m->dst, did, dkey, sizeof dkey, e);
    /* migrate copies bytes, it does not re-encode: the viewer reads int32-zstd only */
    if (rc == RC_OK && m->dst == RC_LAYOUT_VIEWER && en->codec[0])
        rc = rc_err_set(e, RC_EINVAL,
                        "%s is in codec \"%s\", which the viewer layout cannot hold (the browser "
                        "viewer decodes int32-zstd only); migrate copies bytes and does not "
                        "re-encode: refill that range with codec \"int32-zstd\" instead",
                        skey, en->codec);
    if (rc == RC_OK) {
        int copied = 0;
        rc = copy_blob(m, skey, dkey, en->samples, &copied, e);
        if (rc == RC_OK) {
            *ok = 1;
            if (copied)
                m->s.blobs_copied++;
            else
                m->s.blobs_present++;
            return strlist_add(verified, "%s", skey);
        }
    }
    if (rc == RC_EAUTH || rc == RC_EUNUSABLE || rc == RC_ENOMEM) return rc;
    m->s.blobs_failed++;
    fail_msg(m, e);
    return RC_OK;
}

/*
 * One source manifest (mk may be NULL: only blobs without entries) of one
 * channel-day, with the orphan blobs of that day. Returns a fatal status
 * only; per-key failures are counted.
 */
static int migrate_manifest(mig *m, const rc_target *t, int64_t day, const lkey *mk, int orphans,
                            rc_err *e)
{
    rc_manifest src;
    rc_obj_meta mmeta;
    memset(&mmeta, 0, sizeof mmeta);
    double key_rate = mk ? mk->info.manifest.rate : 0;
    int64_t copied_before = m->s.blobs_copied;
    int rc;
    if (mk) {
        rc_buf body = RC_BUF_INIT;
        rc = read_source(m, mk->key, &body, &mmeta, e);
        if (rc == RC_OK)
            rc = rc_manifest_parse(m->src, body.data ? body.data : "", body.len, &src, e);
        rc_buf_free(&body);
        if (rc) {
            if (rc == RC_EAUTH || rc == RC_EUNUSABLE) return rc;
            rc_err_wrap(e, "source manifest %s", mk->key);
            m->s.manifests_failed++;
            fail_msg(m, e);
            return RC_OK;
        }
    } else {
        /* Orphans only: the rate comes from the keys (seed) or the config. */
        double rate = t->st->sample_rate;
        for (size_t i = 0; i < m->nkeys && rate <= 0; i++)
            if (m->keys[i].info.kind == RC_KEY_CHUNK && m->keys[i].info.chunk.rate > 0)
                rate = m->keys[i].info.chunk.rate;
        rc_manifest_init_station(&src, m->src, t->st, t->volc->name, rate, day);
    }
    char chan_s[RC_CHAN_STR_MAX];
    rc_chan_format(&t->st->chan, chan_s);
    if (m->dst == RC_LAYOUT_SEED && !(src.sample_rate > 0)) {
        rc_err_set(e, RC_EINVAL,
                   "%s on %.10s: the source manifest has no sample_rate and the configuration "
                   "none either, so seed keys (which carry the rate) cannot be named; set "
                   "sample_rate for this station",
                   chan_s, mk ? mk->key : "(no manifest)");
        m->s.manifests_failed++;
        fail_msg(m, e);
        rc_manifest_free(&src);
        return RC_OK;
    }
    rc_manifest conv;
    if ((rc = rc_manifest_copy(&conv, &src, e))) {
        rc_manifest_free(&src);
        return rc;
    }
    conv.layout = m->dst;
    /* The seed layout writes its binding fields as null when unknown, and
     * the manifest module keeps such nulls as verbatim extras; they are that
     * layout's placeholders, not data, so they do not travel to the viewer. */
    if (m->dst == RC_LAYOUT_VIEWER && conv.extra) {
        static const char *const placeholders[] = {"instrument_type", "latitude", "longitude",
                                                   "elevation_m"};
        for (size_t i = 0; i < sizeof placeholders / sizeof *placeholders; i++)
            if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(conv.extra, placeholders[i])))
                cJSON_DeleteItemFromObjectCaseSensitive(conv.extra, placeholders[i]);
    }
    int day_ok = 1;
    strlist verified = {0};
    rc_chunk_id sid, did;
    memset(&sid, 0, sizeof sid);
    sid.chan = t->st->chan;
    snprintf(sid.volcano, sizeof sid.volcano, "%s", t->volc->name);
    did = sid;
    sid.rate = key_rate > 0 ? key_rate : src.sample_rate;
    did.rate = src.sample_rate;
    for (int s = 0; s < RC_SPAN_COUNT && rc == RC_OK; s++) {
        const rc_mlist *l = &src.chunks[s];
        for (size_t i = 0; i < l->n && rc == RC_OK; i++) {
            sid.span = did.span = (rc_span)s;
            sid.start = did.start = l->v[i].start;
            char skey[RC_KEY_MAX];
            int ok = 0;
            if ((rc = rc_key_chunk(m->src, &sid, skey, sizeof skey, e)) == RC_OK) {
                for (size_t k = 0; k < m->nkeys; k++)
                    if (strcmp(m->keys[k].key, skey) == 0) m->keys[k].used = 1;
                rc = migrate_entry(m, skey, &did, &l->v[i], &verified, &ok, e);
            } else if (rc == RC_EINVAL) {
                m->s.blobs_failed++;
                fail_msg(m, e);
                rc = RC_OK;
            }
            if (!ok) rc_manifest_remove(&conv, (rc_span)s, l->v[i].start);
            day_ok &= ok;
        }
    }
    /* Blobs of this day no manifest names (a writer died between blob and
     * manifest, or the manifest was lost). */
    for (size_t k = 0; k < m->nkeys && orphans && rc == RC_OK; k++) {
        lkey *o = &m->keys[k];
        if (o->used || o->info.kind != RC_KEY_CHUNK ||
            !same_channel(&o->info.chunk.chan, o->info.chunk.volcano, t) ||
            rc_day_start(o->info.chunk.start) != day)
            continue;
        if (mk && m->src == RC_LAYOUT_SEED && o->info.chunk.rate != key_rate)
            continue; /* belongs to another rate's manifest */
        o->used = 1;
        rc_mentry en;
        int ok = 0;
        if ((rc = entry_from_blob(m, o, &en, e)) == RC_OK) {
            did.span = o->info.chunk.span;
            did.start = o->info.chunk.start;
            rc = migrate_entry(m, o->key, &did, &en, &verified, &ok, e);
            if (ok) {
                m->s.blobs_reindexed++;
                rc_manifest_upsert(&conv, did.span, &en, RC_UPSERT_IF_ABSENT, "");
            }
            rc_mentry_free(&en);
        } else if (rc != RC_EAUTH && rc != RC_EUNUSABLE) {
            m->s.blobs_failed++;
            fail_msg(m, e);
            rc = RC_OK;
        }
        day_ok &= ok;
    }
    if (rc == RC_OK) {
        rc_manifest_id mid;
        memset(&mid, 0, sizeof mid);
        mid.chan = t->st->chan;
        snprintf(mid.volcano, sizeof mid.volcano, "%s", t->volc->name);
        mid.rate = conv.sample_rate;
        mid.day = day;
        char dkey[RC_KEY_MAX];
        int wrote = 0;
        /* headers the source manifest lacks: those of every manifest write */
        rc_obj_meta dflt;
        rc_manifest_obj_meta(m->cli->cfg.cache_control_manifest, &dflt);
        if (!mmeta.content_type[0])
            snprintf(mmeta.content_type, sizeof mmeta.content_type, "%s", dflt.content_type);
        if (!mmeta.cache_control[0])
            snprintf(mmeta.cache_control, sizeof mmeta.cache_control, "%s", dflt.cache_control);
        rc_manifest_recompute(&conv, rc_config_base_span(&m->cli->cfg));
        int mrc = rc_key_manifest(m->dst, &mid, dkey, sizeof dkey, e);
        if (mrc == RC_OK)
            mrc = write_manifest(m, dkey, &conv, &mmeta, rc_config_base_span(&m->cli->cfg), &wrote,
                                 e);
        if (mrc == RC_OK && !m->dry_run) mrc = verify_manifest(m, dkey, &conv, e);
        if (mrc == RC_OK && !m->dry_run && (wrote || m->s.blobs_copied > copied_before)) {
            /* the destination changed: its channel-month summary is stale
             * (one marker for both layouts; inventory rebuilds per layout) */
            mrc = rc_summary_touch(m->st, &mid.chan, mid.volcano, day, e);
            if (mrc) rc_err_wrap(e, "marking the inventory summary of %s stale", dkey);
        }
        if (mrc == RC_OK) {
            if (wrote)
                m->s.manifests_written++;
            else
                m->s.manifests_present++;
            /* The manifest goes before its blobs so a cut delete never leaves
             * an index naming missing blobs. */
            if (day_ok && m->delete_source) {
                if (mk) rc = strlist_add(&m->to_delete, "%s", mk->key);
                for (size_t i = 0; i < verified.n && rc == RC_OK; i++)
                    rc = strlist_add(&m->to_delete, "%s", verified.v[i]);
            }
        } else if (mrc == RC_EAUTH || mrc == RC_EUNUSABLE || mrc == RC_ENOMEM) {
            rc = mrc;
        } else {
            m->s.manifests_failed++;
            fail_msg(m, e);
        }
    }
    strlist_free(&verified);
    rc_manifest_free(&conv);
    rc_manifest_free(&src);
    return rc;
}

static int migrate_day(mig *m, const rc_target *t, int64_t day, rc_err *e)
{
    int rc = load_listing(m, t, day, e);
    if (rc) return rc;
    size_t nman = 0, nchunks = 0;
    for (size_t i = 0; i < m->nkeys; i++) {
        const rc_key_info *in = &m->keys[i].info;
        if (in->kind == RC_KEY_MANIFEST && in->manifest.day == day &&
            same_channel(&in->manifest.chan, in->manifest.volcano, t))
            nman++;
        else if (in->kind == RC_KEY_CHUNK && rc_day_start(in->chunk.start) == day &&
                 same_channel(&in->chunk.chan, in->chunk.volcano, t))
            nchunks++;
    }
    if (!nman && !nchunks) return RC_OK;
    m->s.channel_days++;
    for (size_t i = 0; i < m->nkeys && rc == RC_OK; i++) {
        const rc_key_info *in = &m->keys[i].info;
        if (in->kind == RC_KEY_MANIFEST && in->manifest.day == day &&
            same_channel(&in->manifest.chan, in->manifest.volcano, t))
            rc = migrate_manifest(m, t, day, &m->keys[i], nman == 1, e);
    }
    /* Blobs no manifest of the day names (none there, or several rates). */
    int orphans = 0;
    for (size_t i = 0; i < m->nkeys; i++) {
        const rc_key_info *in = &m->keys[i].info;
        orphans |= !m->keys[i].used && in->kind == RC_KEY_CHUNK &&
                   rc_day_start(in->chunk.start) == day &&
                   same_channel(&in->chunk.chan, in->chunk.volcano, t);
    }
    if (rc == RC_OK && orphans) rc = migrate_manifest(m, t, day, NULL, 1, e);
    return rc;
}

/* After a source key is deleted: mark its channel-month's inventory summary
 * stale, once per run of keys of the same channel-month (last holds the
 * marker key touched last). */
static int touch_deleted(mig *m, const char *key, char *last, size_t n, rc_err *e)
{
    rc_key_info ki;
    if (rc_key_parse(m->src, key, &ki, e) != RC_OK)
        return rc_err_wrap(e, "deleted source key %s", key);
    const rc_chan *c = ki.kind == RC_KEY_CHUNK ? &ki.chunk.chan : &ki.manifest.chan;
    const char *volc = ki.kind == RC_KEY_CHUNK ? ki.chunk.volcano : ki.manifest.volcano;
    int64_t day = ki.kind == RC_KEY_CHUNK ? rc_day_start(ki.chunk.start) : ki.manifest.day;
    char mkey[RC_KEY_MAX];
    int rc = rc_key_index(c, volc, day, RC_INDEX_MARKER, mkey, sizeof mkey, e);
    if (rc || strcmp(mkey, last) == 0) return rc;
    if ((rc = rc_summary_touch(m->st, c, volc, day, e)))
        return rc_err_wrap(e, "marking the inventory summary of %s stale", key);
    snprintf(last, n, "%s", mkey);
    return RC_OK;
}

static void print_summary(mig *m, int status, const char *f_iso, const char *t_iso)
{
    const mig_stats *s = &m->s;
    const char *st = status == RC_EXIT_OK        ? "complete"
                     : status == RC_EXIT_PARTIAL ? "partial"
                                                 : "failed";
    char win[2 * RC_TIME_STR_MAX + 2];
    snprintf(win, sizeof win, "%s/%s", f_iso, t_iso);
    rc_log_field fl[] = {
        RC_LOG_STR("command", "migrate"),
        RC_LOG_STR("window", win),
        RC_LOG_STR("status", st),
        RC_LOG_STR("from_layout", rc_layout_name(m->src)),
        RC_LOG_STR("to_layout", rc_layout_name(m->dst)),
        RC_LOG_NUM("channel_days", s->channel_days),
        RC_LOG_NUM("blobs_copied", s->blobs_copied),
        RC_LOG_NUM("blobs_present", s->blobs_present),
        RC_LOG_NUM("blobs_failed", s->blobs_failed),
        RC_LOG_NUM("manifests_written", s->manifests_written),
        RC_LOG_NUM("bytes", s->bytes_copied),
        RC_LOG_NUM("deleted", s->deleted),
    };
    rc_log_kv(&m->cli->log, RC_LOG_INFO, "summary", fl, sizeof fl / sizeof *fl,
              "migrate%s %s -> %s, %s .. %s: %lld channel-days, %lld blobs %s, %lld already "
              "present, %lld re-indexed from metadata, %lld failed; %lld manifests written, "
              "%lld already complete, %lld failed; %lld bytes copied; %lld source keys deleted",
              m->dry_run ? " (dry run)" : "", rc_layout_name(m->src), rc_layout_name(m->dst), f_iso,
              t_iso, (long long)s->channel_days, (long long)s->blobs_copied,
              m->dry_run ? "to copy" : "copied", (long long)s->blobs_present,
              (long long)s->blobs_reindexed, (long long)s->blobs_failed,
              (long long)s->manifests_written, (long long)s->manifests_present,
              (long long)s->manifests_failed, (long long)s->bytes_copied, (long long)s->deleted);
    if (!m->cli->json) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", st);
    cJSON_AddStringToObject(o, "from_layout", rc_layout_name(m->src));
    cJSON_AddStringToObject(o, "to_layout", rc_layout_name(m->dst));
    cJSON_AddBoolToObject(o, "dry_run", m->dry_run);
    cJSON *tr = cJSON_AddObjectToObject(o, "time_range");
    cJSON_AddStringToObject(tr, "start", f_iso);
    cJSON_AddStringToObject(tr, "end", t_iso);
    cJSON_AddNumberToObject(o, "channel_days", (double)s->channel_days);
    cJSON_AddNumberToObject(o, m->dry_run ? "blobs_to_copy" : "blobs_copied",
                            (double)s->blobs_copied);
    cJSON_AddNumberToObject(o, "blobs_present", (double)s->blobs_present);
    cJSON_AddNumberToObject(o, "blobs_reindexed", (double)s->blobs_reindexed);
    cJSON_AddNumberToObject(o, "blobs_failed", (double)s->blobs_failed);
    cJSON_AddNumberToObject(o, m->dry_run ? "manifests_to_write" : "manifests_written",
                            (double)s->manifests_written);
    cJSON_AddNumberToObject(o, "manifests_present", (double)s->manifests_present);
    cJSON_AddNumberToObject(o, "manifests_failed", (double)s->manifests_failed);
    cJSON_AddNumberToObject(o, "bytes_copied", (double)s->bytes_copied);
    cJSON_AddNumberToObject(o, m->dry_run ? "source_keys_to_delete" : "source_keys_deleted",
                            (double)(m->dry_run ? (double)m->to_delete.n : (double)s->deleted));
    if (m->dry_run) {
        cJSON *p = cJSON_AddArrayToObject(o, "plan");
        for (size_t i = 0; i < m->plan.n; i++)
            cJSON_AddItemToArray(p, cJSON_CreateString(m->plan.v[i]));
    }
    cJSON_AddItemReferenceToObject(o, "errors", m->errors);
    rc_cli_print_json(m->cli, o, NULL); /* command, version and the status above */
}

/* Before the configuration: the target layout, --from, the range limit. */
static rc_exit check(rc_cli *cli)
{
    mig_args *a = cli->args;
    rc_err e;
    rc_err_clear(&e);
    if (!a->to_layout) {
        fprintf(stderr, "r2cache migrate: --to-layout seed|viewer is required\n");
        return RC_EXIT_USAGE;
    }
    if (rc_layout_parse(a->to_layout, &a->dst, &e) != RC_OK) {
        fprintf(stderr, "r2cache migrate: --to-layout %s: %s\n", a->to_layout, e.msg);
        return RC_EXIT_USAGE;
    }
    if (!cli->from_s) {
        fprintf(stderr,
                "r2cache migrate: --from is required (ISO 8601 UTC or an age such as 30d)\n");
        return RC_EXIT_USAGE;
    }
    a->progress_s = RC_PROGRESS_INTERVAL_DEFAULT;
    if (a->progress_interval && rc_progress_interval_parse(a->progress_interval, &a->progress_s)) {
        fprintf(stderr,
                "r2cache migrate: --progress-interval %s: give a number of seconds (0: off)\n",
                a->progress_interval);
        return RC_EXIT_USAGE;
    }
    a->max_range_s = 3660LL * 86400;
    if (a->max_range && rc_duration_parse(a->max_range, &a->max_range_s, &e) != RC_OK) {
        fprintf(stderr, "r2cache migrate: --max-range %s: %s\n", a->max_range, e.msg);
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

/* After the configuration: a different layout, a range within the limit,
 * a target. */
static rc_exit prepare(rc_cli *cli)
{
    mig_args *a = cli->args;
    if (cli->cfg.layout == a->dst) {
        fprintf(stderr,
                "r2cache migrate: the store is already in the %s layout (from the configuration "
                "or --layout); give --layout with the layout the cache is in now\n",
                rc_layout_name(a->dst));
        return RC_EXIT_USAGE;
    }
    if (a->dst == RC_LAYOUT_VIEWER && cli->cfg.codec != RC_CODEC_INT32_ZSTD) {
        fprintf(stderr,
                "r2cache migrate: codec \"%s\" (the configuration's) cannot be used with layout "
                "\"viewer\": the browser viewer decodes int32-zstd chunks only, and migrate "
                "copies bytes without re-encoding\n",
                rc_codec_id_name(cli->cfg.codec));
        return RC_EXIT_USAGE;
    }
    if (cli->to - cli->from > a->max_range_s) {
        fprintf(stderr,
                "r2cache migrate: the range is %.1f days, longer than the limit of %.1f days; "
                "split it or raise --max-range\n",
                (double)(cli->to - cli->from) / 86400, (double)a->max_range_s / 86400);
        return RC_EXIT_USAGE;
    }
    if (cli->ntargets == 0) {
        fprintf(stderr, "r2cache migrate: no station selected by the configuration and scope\n");
        return RC_EXIT_USAGE;
    }
    return RC_EXIT_OK;
}

const rc_cmd_spec rc_cmd_migrate_spec = {
    "r2cache migrate --config FILE --to-layout viewer|seed [scope] --from TIME [--to TIME] "
    "[--dry-run] [--delete-source] [--json]",
    "Copy the cached blobs and manifests of a range from the store's layout (the\n"
    "configuration's, or --layout) to the other one, without refetching: same bytes, same\n"
    "headers, manifests converted. Every copy is read back and verified. Rerunning copies\n"
    "only what is missing. The source stays unless --delete-source is given, and then it is\n"
    "deleted only after everything in scope verified.",
    migrate_opts,
    sizeof(mig_args),
    NULL,
    check,
    prepare,
    NULL};

rc_exit rc_cmd_migrate(rc_cli *cli)
{
    const mig_args a = *(const mig_args *)cli->args;
    const rc_layout dst = a.dst;
    rc_err e;
    rc_err_clear(&e);

    mig m;
    memset(&m, 0, sizeof m);
    m.cli = cli;
    m.st = cli->store;
    m.src = cli->cfg.layout;
    m.dst = dst;
    m.dry_run = a.dry_run;
    m.delete_source = a.delete_source;
    m.errors = cJSON_CreateArray();
    int rc = rc_codec_new(3, &m.codec, &e);
    /* Whole days: a manifest is a day, so a range is widened to the days it touches. */
    int64_t first_day = rc_day_start(cli->from), last_day = rc_day_start(cli->to - 1);
    char f_iso[RC_TIME_STR_MAX], t_iso[RC_TIME_STR_MAX];
    rc_time_iso(first_day, f_iso);
    rc_time_iso(last_day + 86400, t_iso);
    if (rc == RC_OK && !a.dry_run)
        rc_log_info(&cli->log, "start", "migrate %s -> %s, %s .. %s: %zu channels, store %s",
                    rc_layout_name(m.src), rc_layout_name(m.dst), f_iso, t_iso, cli->ntargets,
                    rc_store_describe(m.st));
    int64_t ndays = (last_day - first_day) / 86400 + 1;
    rc_progress_opts po = {"migrate", "channel-days",
                           isatty(2) && !cli->json && !a.dry_run ? stderr : NULL, &cli->log,
                           a.dry_run ? 0 : a.progress_s};
    rc_progress meter;
    rc_progress_init(&meter, &po, ndays * (int64_t)cli->ntargets);
    for (size_t i = 0; i < cli->ntargets && rc == RC_OK; i++) {
        m.have_listing = 0;
        for (int64_t d = first_day; d <= last_day && rc == RC_OK; d += 86400) {
            if (cli->stop && *cli->stop) {
                rc = rc_err_set(&e, RC_EINTR, "stopped by a signal");
                break;
            }
            rc = migrate_day(&m, &cli->targets[i], d, &e);
            if (rc == RC_OK)
                rc_progress_update(&meter, (int64_t)i * ndays + (d - first_day) / 86400 + 1,
                                   m.s.bytes_copied);
        }
    }
    rc_progress_finish(&meter);
    int failed = m.s.blobs_failed + m.s.manifests_failed > 0;
    if (rc == RC_OK && m.delete_source && failed) {
        rc_log_warn(&cli->log, "keep",
                    "not deleting any source key: %lld blobs and %lld manifests failed to "
                    "migrate; fix them and run again",
                    (long long)m.s.blobs_failed, (long long)m.s.manifests_failed);
    } else if (rc == RC_OK && m.delete_source) {
        char last_marker[RC_KEY_MAX] = "";
        for (size_t i = 0; i < m.to_delete.n && rc == RC_OK; i++) {
            if (m.dry_run) {
                rc = strlist_add(&m.plan, "delete %s", m.to_delete.v[i]);
                continue;
            }
            if ((rc = rc_store_delete(m.st, m.to_delete.v[i], &e)) == RC_OK) {
                m.s.deleted++;
                rc = touch_deleted(&m, m.to_delete.v[i], last_marker, sizeof last_marker, &e);
            } else
                rc_err_wrap(&e,
                            "deleting the source key %s (its copy is verified; run again "
                            "to finish)",
                            m.to_delete.v[i]);
        }
    }
    if (a.dry_run && !cli->json)
        for (size_t i = 0; i < m.plan.n; i++)
            printf("%s\n", m.plan.v[i]);
    int status;
    if (rc == RC_EAUTH || rc == RC_EUNUSABLE) {
        fail_msg(&m, &e);
        status = RC_EXIT_UNUSABLE;
    } else if (rc == RC_EINTR) {
        rc_log_warn(&cli->log, "stop", "%s; run the same migrate again to finish", e.msg);
        status = RC_EXIT_PARTIAL;
    } else if (rc != RC_OK) {
        fail_msg(&m, &e);
        status = RC_EXIT_PARTIAL;
    } else {
        status = failed ? RC_EXIT_PARTIAL : RC_EXIT_OK;
    }
    print_summary(&m, status, f_iso, t_iso);
    rc_codec_free(m.codec);
    free(m.keys);
    strlist_free(&m.to_delete);
    strlist_free(&m.plan);
    cJSON_Delete(m.errors);
    return status;
}
