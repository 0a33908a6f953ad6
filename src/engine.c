/*
 * engine.c: from "these windows should be cached" to chunks and manifests.
 *
 * Design, in the order a pass runs:
 *  1. Plan (once): per channel-day, one listing of the day's keys and one
 *     manifest read decide each window's state: PRESENT (entry exists),
 *     REPAIR (blob exists, entry lost: the entry is rebuilt from the blob's
 *     metadata instead of refetching), or WANT. A wanted long window (1 h,
 *     6 h, 24 h) pulls in its base windows, so missing base data is fetched
 *     with it and present base chunks can be reused.
 *  2. Fetch: wanted base windows of a channel are coalesced into line spans
 *     of up to a day; lines of many channels are packed into bulk requests
 *     by estimated size; the source runs them concurrently (bounded).
 *  3. Shape: each answer is cut into blocks of the longest span; every
 *     wanted window inside a block (of any span) is a slice of the same
 *     shaped array, so a long chunk holds exactly its base chunks' samples.
 *  4. Store: blobs are queued (async on S3), and only once they are stored
 *     do their entries go into the manifest update of their channel-day,
 *     one conditional read-modify-write per channel-day and batch.
 *  5. Compose: wanted long windows whose base chunks came from different
 *     places are built from the stored base chunks.
 * Memory stays bounded by one request's miniSEED plus one block.
 */
#include "engine_int.h"
#include "r2cache/inventory.h"
#include "r2cache/naming.h"
#include "r2cache/timewin.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t task_hash(size_t ti, rc_span s, int64_t start)
{
    return mix((uint64_t)ti * 1000003u ^ (uint64_t)s * 7919u ^ (uint64_t)start);
}

static int hash_grow(rc_engine *en)
{
    size_t ncap = en->hcap ? en->hcap * 2 : 1024;
    size_t *nh = calloc(ncap, sizeof *nh);
    if (!nh)
        return RC_ENOMEM;
    for (size_t i = 0; i < en->ntasks; i++) {
        const wtask *t = &en->tasks[i];
        size_t h = task_hash(t->ti, t->span, t->start) & (ncap - 1);
        while (nh[h])
            h = (h + 1) & (ncap - 1);
        nh[h] = i + 1;
    }
    free(en->hash);
    en->hash = nh;
    en->hcap = ncap;
    return RC_OK;
}

wtask *eng_task_find(const rc_engine *en, size_t ti, rc_span s, int64_t start)
{
    if (!en->hcap)
        return NULL;
    size_t h = task_hash(ti, s, start) & (en->hcap - 1);
    while (en->hash[h]) {
        wtask *t = &en->tasks[en->hash[h] - 1];
        if (t->ti == ti && t->span == s && t->start == start)
            return t;
        h = (h + 1) & (en->hcap - 1);
    }
    return NULL;
}

wtask *eng_task_add(rc_engine *en, size_t ti, rc_span s, int64_t start, int declared)
{
    wtask *t = eng_task_find(en, ti, s, start);
    if (t) {
        t->declared |= declared;
        return t;
    }
    if ((en->ntasks + 1) * 2 > en->hcap && hash_grow(en))
        return NULL;
    if (en->ntasks == en->captasks) {
        size_t nc = en->captasks ? en->captasks * 2 : 256;
        wtask *nt = realloc(en->tasks, nc * sizeof *nt);
        if (!nt)
            return NULL;
        en->tasks = nt;
        en->captasks = nc;
    }
    t = &en->tasks[en->ntasks];
    memset(t, 0, sizeof *t);
    t->ti = ti;
    t->span = s;
    t->start = start;
    t->declared = declared;
    t->state = W_WANT;
    /* Final means final: a window is written only once it has ended and the
     * configured delay has passed, whoever asks for it. */
    t->notdue = en->o.now > 0 && start + rc_span_seconds(s) + en->o.cfg->delay_s > en->o.now;
    size_t h = task_hash(ti, s, start) & (en->hcap - 1);
    while (en->hash[h])
        h = (h + 1) & (en->hcap - 1);
    en->hash[h] = ++en->ntasks;
    return t;
}

void eng_target_error(rc_engine *en, size_t ti, const char *msg)
{
    /* keep the start of the message: it names the key or channel */
    size_t n = strlen(msg), cap = sizeof en->ts[ti].res.error;
    if (n >= cap)
        n = cap - 1;
    memcpy(en->ts[ti].res.error, msg, n);
    en->ts[ti].res.error[n] = '\0';
}

/* ---------------------------------------------------------------------- */

/* Seconds on the monotonic clock (run time in the stats). */
static double mono_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int rc_engine_new(const rc_engine_opts *o, const rc_target *targets, size_t ntargets,
                  rc_engine **out, rc_err *e)
{
    rc_engine *en = calloc(1, sizeof *en);
    if (!en)
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    en->o = *o;
    if (!en->o.max_request_seconds)
        en->o.max_request_seconds = 86400;
    if (!en->o.max_request_bytes)
        en->o.max_request_bytes = 4u << 20;
    en->targets = targets;
    en->ntargets = ntargets;
    en->ts = calloc(ntargets ? ntargets : 1, sizeof *en->ts);
    if (!en->ts) {
        free(en);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ntargets; i++)
        en->ts[i].rate = targets[i].st->sample_rate;
    en->base = rc_config_base_span(o->cfg);
    en->longest = en->base;
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        if (o->cfg->spans[s])
            en->longest = (rc_span)s;
    int rc = rc_codec_new(o->cfg->zstd_level, &en->codec, e);
    if (rc) {
        free(en->ts);
        free(en);
        return rc;
    }
    en->t0 = mono_seconds();
    *out = en;
    return RC_OK;
}

void rc_engine_free(rc_engine *en)
{
    if (!en)
        return;
    for (size_t i = 0; i < en->ntasks; i++) {
        if (en->tasks[i].has_old)
            rc_mentry_free(&en->tasks[i].old);
        if (en->tasks[i].has_new)
            rc_mentry_free(&en->tasks[i].newe);
    }
    for (size_t i = 0; i < en->nops; i++)
        rc_mentry_free(&en->ops[i].entry);
    free(en->ops);
    free(en->tasks);
    free(en->hash);
    free(en->ts);
    free(en->plan_lines);
    eng_free_pass(en);
    rc_codec_free(en->codec);
    free(en);
}

int rc_engine_add(rc_engine *en, size_t target, rc_span span, int64_t start, rc_err *e)
{
    if (target >= en->ntargets)
        return rc_err_set(e, RC_EINVAL, "internal: target %zu out of range", target);
    if (rc_floor(start, rc_span_seconds(span)) != start)
        return rc_err_set(e, RC_EINVAL, "internal: window start not aligned to %s",
                          rc_span_name(span));
    if (!eng_task_add(en, target, span, start, 1))
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    return RC_OK;
}

const rc_engine_stats *rc_engine_stats_get(const rc_engine *en)
{
    return &en->stats;
}

const rc_target_result *rc_engine_target_result(const rc_engine *en, size_t target)
{
    return &en->ts[target].res;
}

/* --- keys -------------------------------------------------------------- */

int eng_chunk_key(const rc_engine *en, size_t ti, rc_span s, int64_t start, char *out,
                  rc_err *e)
{
    rc_chunk_id id;
    memset(&id, 0, sizeof id);
    id.chan = eng_station(en, ti)->chan;
    snprintf(id.volcano, sizeof id.volcano, "%s", en->targets[ti].volc->name);
    id.rate = en->ts[ti].rate;
    id.span = s;
    id.start = start;
    return rc_key_chunk(en->o.cfg->layout, &id, out, RC_KEY_MAX, e);
}

static int manifest_key_rate(const rc_engine *en, size_t ti, int64_t day, double rate, char *out,
                             rc_err *e)
{
    rc_manifest_id id;
    memset(&id, 0, sizeof id);
    id.chan = eng_station(en, ti)->chan;
    snprintf(id.volcano, sizeof id.volcano, "%s", en->targets[ti].volc->name);
    id.rate = rate;
    id.day = day;
    return rc_key_manifest(en->o.cfg->layout, &id, out, RC_KEY_MAX, e);
}

int eng_manifest_key(const rc_engine *en, size_t ti, int64_t day, char *out, rc_err *e)
{
    return manifest_key_rate(en, ti, day, en->ts[ti].rate, out, e);
}

/* Listing prefix holding exactly one channel-day's keys: in the seed layout
 * the manifest name minus ".json" is the common start of the day's chunk
 * names; in the viewer layout it is the day folder of the channel. */
int eng_day_prefix(const rc_engine *en, size_t ti, int64_t day, double rate, char *out,
                   rc_err *e)
{
    if (en->o.cfg->layout == RC_LAYOUT_VIEWER)
        return rc_key_prefix_channel_day(RC_LAYOUT_VIEWER, &eng_station(en, ti)->chan,
                                         en->targets[ti].volc->name, day, out, RC_KEY_MAX, e);
    int rc = manifest_key_rate(en, ti, day, rate, out, e);
    if (rc)
        return rc;
    size_t n = strlen(out);
    if (n > 5 && strcmp(out + n - 5, ".json") == 0)
        out[n - 5] = '\0';
    return RC_OK;
}

int eng_add_op(rc_engine *en, size_t ti, size_t task, rc_span s, const rc_mentry *en_,
               rc_upsert_mode mode)
{
    if (en->nops == en->capops) {
        size_t nc = en->capops ? en->capops * 2 : 64;
        dayop *n = realloc(en->ops, nc * sizeof *n);
        if (!n)
            return RC_ENOMEM;
        en->ops = n;
        en->capops = nc;
    }
    dayop *op = &en->ops[en->nops++];
    memset(op, 0, sizeof *op);
    op->ti = ti;
    op->day = rc_day_start(en_->start);
    op->span = s;
    op->mode = mode;
    op->task = task;
    if (rc_mentry_copy(&op->entry, en_) != RC_OK) {
        en->nops--;
        return RC_ENOMEM;
    }
    return RC_OK;
}

/* --- writing chunks ------------------------------------------------------ */

typedef struct put_ctx {
    rc_engine *en;
    size_t task;
} put_ctx;

static void put_done(void *ud, const char *key, int status, const rc_err *pe)
{
    put_ctx *pc = ud;
    rc_engine *en = pc->en;
    wtask *t = &en->tasks[pc->task];
    if (status == RC_OK) {
        rc_upsert_mode mode = (en->o.force && t->declared) || t->blob_lost ? RC_UPSERT_REPLACE
                              : t->upgrade               ? RC_UPSERT_UPGRADE
                                                         : RC_UPSERT_IF_ABSENT;
        if (eng_add_op(en, t->ti, pc->task, t->span, &t->newe, mode) == RC_OK) {
            t->state = W_DONE;
            en->stats.bytes_written += t->newe.bytes;
            en->stats.samples += t->newe.samples;
            en->stats.gap_samples += t->newe.gap_samples_filled;
            tstate *ts = &en->ts[t->ti];
            ts->res.bytes += t->newe.bytes;
            ts->res.samples += t->newe.samples;
            ts->res.gap_samples += t->newe.gap_samples_filled;
        } else {
            t->state = W_FAILED;
        }
    } else {
        t->state = W_FAILED;
        char msg[RC_ERR_MSG_MAX + RC_KEY_MAX + 32];
        snprintf(msg, sizeof msg, "storing %s: %s", key, pe ? pe->msg : "failed");
        eng_target_error(en, t->ti, msg);
        rc_log_error(en->o.log, "store", "%s", msg);
        if (pe && (pe->code == RC_EAUTH || pe->code == RC_EUNUSABLE) && !en->fatal.code)
            en->fatal = *pe;
    }
    free(pc);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char *h = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[d[i] >> 4];
        out[2 * i + 1] = h[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Store one chunk (samples already final) and remember its entry. steps
 * (nsteps, may be NULL) are copied. */
void eng_emit(rc_engine *en, wtask *t, const int32_t *samples, size_t n,
              const rc_window_stats *stv, double offset_s, const rc_phase_step *steps,
              int nsteps, int prov, int64_t gap_head, int64_t gap_tail)
{
    const rc_config *cfg = en->o.cfg;
    if (prov && !en->final) {
        t->state = W_HELD;
        return;
    }
    /* At least as complete as what it replaces: a worse answer (the data
     * centre lost data, a cut transfer that slipped through) never
     * overwrites a better chunk, whether asked by --upgrade or --force. A
     * lost blob is replaced whatever its entry said. */
    int replaces = t->has_old && !t->blob_lost && (t->upgrade || (en->o.force && t->declared));
    if (replaces && stv->completeness + 1e-12 < t->old.completeness) {
        t->state = W_KEPT;
        return;
    }
    rc_err e;
    rc_buf body = RC_BUF_INIT;
    char key[RC_KEY_MAX];
    if (rc_codec_encode(en->codec, samples, n, &body, &e) != RC_OK ||
        eng_chunk_key(en, t->ti, t->span, t->start, key, &e) != RC_OK) {
        t->state = W_FAILED;
        eng_target_error(en, t->ti, e.msg);
        rc_buf_free(&body);
        return;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    char sha[65];
    EVP_Digest(body.data, body.len, md, &mdlen, EVP_sha256(), NULL);
    hex(md, 32, sha);
    if (t->upgrade && t->has_old && strcmp(sha, t->old.sha256) == 0) {
        /* the data centre has nothing new: rewriting would only restart the
         * settle clock and churn the CDN */
        t->state = W_KEPT;
        rc_buf_free(&body);
        return;
    }
    if (t->has_new)
        rc_mentry_free(&t->newe);
    rc_mentry *me = &t->newe;
    memset(me, 0, sizeof *me);
    t->has_new = 1;
    if (nsteps > 0) {
        me->steps = malloc((size_t)nsteps * sizeof *me->steps);
        if (!me->steps) {
            t->state = W_FAILED;
            eng_target_error(en, t->ti, "out of memory building a chunk entry");
            rc_buf_free(&body);
            return;
        }
        memcpy(me->steps, steps, (size_t)nsteps * sizeof *me->steps);
        me->nsteps = nsteps;
    }
    me->start = t->start;
    me->end = t->start + rc_span_seconds(t->span);
    me->min = stv->min;
    me->max = stv->max;
    me->samples = stv->samples;
    me->gap_count = stv->gap_count;
    me->gap_duration_seconds = stv->gap_duration_seconds;
    me->gap_samples_filled = stv->gap_samples_filled;
    me->completeness = stv->completeness;
    me->provisional = prov;
    me->bytes = (int64_t)body.len;
    me->offset_s = offset_s;
    me->gap_head = gap_head;
    me->gap_tail = gap_tail;
    me->revision = 1;
    memcpy(me->sha256, sha, sizeof sha);
    rc_time_now_iso_us(me->written_at);
    t->written_prov = prov;

    rc_obj_meta meta;
    memset(&meta, 0, sizeof meta);
    rc_mentry_to_meta(me, &meta);
    snprintf(meta.content_type, sizeof meta.content_type, "application/octet-stream");
    snprintf(meta.cache_control, sizeof meta.cache_control, "%s",
             prov ? cfg->cache_control_provisional : cfg->cache_control_final);
    put_ctx *pc = malloc(sizeof *pc);
    if (!pc) {
        t->state = W_FAILED;
        eng_target_error(en, t->ti, "out of memory queueing a chunk");
        rc_buf_free(&body);
        return;
    }
    pc->en = en;
    pc->task = (size_t)(t - en->tasks);
    if (rc_store_put_async(en->o.store, key, body.data, body.len, &meta, put_done, pc, &e) !=
        RC_OK) {
        /* Not queued, so put_done has not run and never will for it
         * (store.h): the outcome is this call's. */
        free(pc);
        t->state = W_FAILED;
        char msg[RC_ERR_MSG_MAX + RC_KEY_MAX + 32];
        snprintf(msg, sizeof msg, "storing %s: %s", key, e.msg);
        eng_target_error(en, t->ti, msg);
        rc_log_error(en->o.log, "store", "%s", msg);
        if ((e.code == RC_EAUTH || e.code == RC_EUNUSABLE) && !en->fatal.code)
            en->fatal = e;
    }
    rc_buf_free(&body);
}

/* A window of an answer that holds no recorded sample: no data, unless the
 * answer was not what was asked for. */
static void no_sample(rc_engine *en, wtask *t)
{
    if (en->foreign[0]) {
        t->state = W_FAILED;
        eng_target_error(en, t->ti, en->foreign);
    } else {
        t->state = W_NODATA;
    }
}

/* Shape [bs, be) of one channel and emit every wanted window inside it. */
static void process_block(rc_engine *en, const rc_traces *tr, size_t ti, int64_t bs, int64_t be)
{
    int any = 0;
    for (int s = 0; s < RC_SPAN_COUNT && !any; s++) {
        if (!en->o.cfg->spans[s] && s != (int)en->base)
            continue;
        int64_t sp = rc_span_seconds((rc_span)s);
        for (int64_t w = rc_floor(bs + sp - 1, sp); w + sp <= be; w += sp)
            if (eng_window_wanted(eng_task_find(en, ti, (rc_span)s, w)))
                any = 1;
    }
    if (!any)
        return;
    const rc_station *st = eng_station(en, ti);
    double rate = en->ts[ti].rate;
    rc_window win;
    rc_err e;
    int64_t base_s = rc_span_seconds(en->base);
    int rc = rc_shape(tr, &st->chan, rate, bs, be - bs, base_s, &win, &e);
    if (rc == RC_ENODATA) {
        for (int64_t w = bs; w < be; w += base_s) {
            wtask *t = eng_task_find(en, ti, en->base, w);
            if (eng_window_wanted(t))
                no_sample(en, t);
        }
        return;
    }
    if (rc != RC_OK) {
        for (int s = 0; s < RC_SPAN_COUNT; s++) {
            int64_t sp = rc_span_seconds((rc_span)s);
            for (int64_t w = rc_floor(bs + sp - 1, sp); w + sp <= be; w += sp) {
                wtask *t = eng_task_find(en, ti, (rc_span)s, w);
                if (eng_window_wanted(t))
                    t->state = W_FAILED;
            }
        }
        eng_target_error(en, ti, e.msg);
        rc_log_error(en->o.log, "shape", "%s", e.msg);
        return;
    }
    if (en->ts[ti].rate <= 0)
        en->ts[ti].rate = win.rate;
    if (win.damage[0])
        rc_log_error(en->o.log, "decode", "%s", win.damage);
    double thr = en->o.cfg->completeness_threshold;
    for (int s = 0; s < RC_SPAN_COUNT; s++) {
        if (!en->o.cfg->spans[s] && s != (int)en->base)
            continue;
        int64_t sp = rc_span_seconds((rc_span)s);
        for (int64_t w = rc_floor(bs + sp - 1, sp); w + sp <= be; w += sp) {
            wtask *t = eng_task_find(en, ti, (rc_span)s, w);
            if (!eng_window_wanted(t))
                continue;
            if (en->o.stop && *en->o.stop)
                goto out;
            int64_t b0 = (w - bs) / base_s, nb = sp / base_s;
            int damaged = 0;
            for (int64_t b = b0; b < b0 + nb && b < win.nsub; b++)
                damaged |= win.sub_flags[b] & RC_SUB_DAMAGED;
            if (damaged) {
                /* never a chunk with made-up samples where a record was lost */
                t->state = W_FAILED;
                eng_target_error(en, ti, win.damage);
                continue;
            }
            int64_t off = rc_slots(win.rate, w - bs);
            int64_t n = rc_slots(win.rate, sp);
            if (off + n > win.nslots)
                n = win.nslots - off;
            rc_window_stats stv;
            rc_window_stats_range(&win, off, n, &stv);
            if (stv.present == 0) {
                no_sample(en, t);
                continue;
            }
            int prov = stv.completeness < thr;
            int held = 0;
            if (s != (int)en->base) {
                /* A long chunk is provisional when any chunk it covers is. */
                for (int64_t b = w; b < w + sp; b += base_s) {
                    const wtask *bt = eng_task_find(en, ti, en->base, b);
                    if (!bt)
                        continue;
                    if (bt->state == W_HELD)
                        held = 1;
                    if ((bt->state == W_DONE && bt->written_prov) ||
                        ((bt->state == W_PRESENT || bt->state == W_REPAIR) && bt->has_old &&
                         bt->old.provisional))
                        prov = 1;
                }
            }
            if (held && !en->final) {
                t->state = W_HELD;
                continue;
            }
            int64_t head = 0, tail = 0;
            while (head < n && !win.present[off + head])
                head++;
            while (tail < n && !win.present[off + n - 1 - tail])
                tail++;
            double offset;
            rc_phase_step *steps;
            int nsteps;
            if (eng_window_phase(&win, b0, nb, &offset, &steps, &nsteps) != RC_OK) {
                t->state = W_FAILED;
                eng_target_error(en, ti, "out of memory describing a chunk's clock phase");
                continue;
            }
            eng_emit(en, t, win.samples + off, (size_t)n, &stv, offset, steps, nsteps, prov, head,
                     tail);
            free(steps);
        }
    }
out:
    rc_window_free(&win);
}

static void process_line(rc_engine *en, const rc_traces *tr, const line *l)
{
    int64_t g = rc_span_seconds(en->longest);
    for (int64_t b = rc_floor(l->start, g); b < l->end; b += g) {
        int64_t bs = b > l->start ? b : l->start;
        int64_t be = b + g < l->end ? b + g : l->end;
        process_block(en, tr, l->ti, bs, be);
        if (en->o.stop && *en->o.stop)
            return;
    }
}

/* --- manifests ----------------------------------------------------------- */

static int cmp_op(const void *a, const void *b)
{
    const dayop *x = a, *y = b;
    if (x->ti != y->ti)
        return x->ti < y->ti ? -1 : 1;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return 0;
}

/* One channel-day's manifest update: ops [i, j). Workers fill the result; the
 * engine applies it afterwards on its own thread. */
typedef struct mgroup {
    size_t i, j;
    int rc, changed, touch_rc;
    rc_err e, te;
} mgroup;

typedef struct flush_ctx {
    rc_engine *en;
    mgroup *g;
} flush_ctx;

/* Worker: the conditional read-modify-write of one manifest, then its
 * channel-month marker. Reads the engine; writes only its group. */
static void flush_one(rc_store *store, size_t gi, void *ud)
{
    flush_ctx *c = ud;
    const rc_engine *en = c->en;
    mgroup *g = &c->g[gi];
    size_t i = g->i, j = g->j;
    size_t ti = en->ops[i].ti;
    const rc_station *st = eng_station(en, ti);
    const rc_config *cfg = en->o.cfg;
    char key[RC_KEY_MAX];
    rc_err_clear(&g->e);
    g->rc = eng_manifest_key(en, ti, en->ops[i].day, key, &g->e);
    if (g->rc != RC_OK)
        return;
    rc_mop *mops = calloc(j - i, sizeof *mops);
    if (!mops) {
        g->rc = rc_err_set(&g->e, RC_ENOMEM, "out of memory");
        return;
    }
    for (size_t k = i; k < j; k++)
        mops[k - i] = (rc_mop){en->ops[k].span, &en->ops[k].entry, en->ops[k].mode};
    rc_manifest tmpl;
    rc_manifest_init(&tmpl, cfg->layout, &st->chan, en->targets[ti].volc->name, en->ts[ti].rate,
                     en->ops[i].day);
    snprintf(tmpl.instrument_type, sizeof tmpl.instrument_type, "%s", st->instrument_type);
    if (st->has_coords) {
        tmpl.has_coords = 1;
        tmpl.latitude = st->latitude;
        tmpl.longitude = st->longitude;
        tmpl.elevation_m = st->elevation_m;
    }
    g->rc = rc_manifest_update(store, key, &tmpl, mops, j - i, en->base,
                               cfg->cache_control_manifest, 0, &g->changed, &g->e);
    rc_manifest_free(&tmpl);
    free(mops);
    /* keep inventory's per channel-month summary honest */
    if (g->changed)
        g->touch_rc = rc_inventory_touch(store, &st->chan, en->targets[ti].volc->name,
                                         en->ops[i].day, &g->te);
}

int eng_flush_manifests(rc_engine *en)
{
    rc_err e;
    if (rc_store_wait(en->o.store, &e) != RC_OK)
        rc_log_error(en->o.log, "store", "%s", e.msg);
    if (!en->nops)
        return RC_OK;
    qsort(en->ops, en->nops, sizeof *en->ops, cmp_op);
    mgroup *g = malloc(ENGINE_BATCH * sizeof *g);
    if (!g) {
        for (size_t k = 0; k < en->nops; k++)
            en->tasks[en->ops[k].task].state = W_FAILED;
        rc_log_error(en->o.log, "manifest", "out of memory writing manifests");
    }
    size_t i = 0;
    while (g && i < en->nops) {
        /* a batch of channel-days, updated in parallel (one store handle each
         * worker), then accounted here in order */
        size_t ng = 0;
        while (ng < ENGINE_BATCH && i < en->nops) {
            size_t j = i;
            while (j < en->nops && en->ops[j].ti == en->ops[i].ti &&
                   en->ops[j].day == en->ops[i].day)
                j++;
            memset(&g[ng], 0, sizeof g[ng]);
            g[ng].i = i;
            g[ng].j = j;
            ng++;
            i = j;
        }
        flush_ctx c = {en, g};
        rc_store_par_run(en->o.store, en->o.store->opts.max_connections, ng, flush_one, &c);
        for (size_t k = 0; k < ng; k++) {
            size_t ti = en->ops[g[k].i].ti;
            if (g[k].changed) {
                en->stats.manifests++;
                if (g[k].touch_rc != RC_OK)
                    rc_log_warn(en->o.log, "inventory", "%s", g[k].te.msg);
            }
            if (g[k].rc != RC_OK) {
                eng_target_error(en, ti, g[k].e.msg);
                rc_log_error(en->o.log, "manifest", "%s", g[k].e.msg);
                for (size_t x = g[k].i; x < g[k].j; x++)
                    en->tasks[en->ops[x].task].state = W_FAILED;
                if ((g[k].e.code == RC_EAUTH || g[k].e.code == RC_EUNUSABLE) && !en->fatal.code)
                    en->fatal = g[k].e;
            }
        }
    }
    free(g);
    for (size_t k = 0; k < en->nops; k++)
        rc_mentry_free(&en->ops[k].entry);
    en->nops = 0;
    return RC_OK;
}

/* --- fetch callback -------------------------------------------------------- */

/* Every wanted base window of request lines [first, first + n) failed. */
static void fail_lines(rc_engine *en, size_t first, size_t n, const char *msg)
{
    int64_t base_s = rc_span_seconds(en->base);
    for (size_t k = first; k < first + n; k++) {
        const line *l = &en->lines[k];
        for (int64_t w = l->start; w < l->end; w += base_s) {
            wtask *t = eng_task_find(en, l->ti, en->base, w);
            if (!eng_window_wanted(t))
                continue;
            t->state = W_FAILED;
            eng_target_error(en, l->ti, msg);
        }
    }
}

/* Records in an answer that are not what request [first, first + n) asked
 * for: another channel, or the right channel wholly outside the asked span.
 * Names the first such thing in en->foreign ("" when the answer is clean). */
static void find_foreign(rc_engine *en, const rc_traces *tr, size_t first, size_t n)
{
    en->foreign[0] = '\0';
    for (size_t c = 0; c < rc_traces_nchan(tr); c++) {
        const rc_chan *ch = rc_traces_chan(tr, c);
        int asked = 0;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t k = first; k < first + n; k++) {
            const rc_fetch_line *fl = &en->flines[k];
            if (!rc_chan_equal(&fl->chan, ch))
                continue;
            asked = 1;
            lo = fl->start < lo ? fl->start : lo;
            hi = fl->end > hi ? fl->end : hi;
        }
        char id[RC_CHAN_STR_MAX];
        rc_chan_format(ch, id);
        if (!asked) {
            snprintf(en->foreign, sizeof en->foreign,
                     "the data centre %s answered records of %s, which were not asked for; its "
                     "answer is not the requested data (check the source URL and the channel "
                     "codes)",
                     rc_source_describe(en->o.source), id);
            return;
        }
        int64_t f_us, l_us;
        if (rc_traces_extent(tr, ch, &f_us, &l_us) != RC_OK)
            continue;
        /* a record overlapping the asked span reaches into it; allow a
         * second of stamp slop either side */
        if (l_us < lo * 1000000 - 1000000 || f_us >= hi * 1000000 + 1000000) {
            char a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX], x[RC_TIME_STR_MAX], y[RC_TIME_STR_MAX];
            rc_time_iso(f_us / 1000000 - (f_us % 1000000 < 0), a);
            rc_time_iso(l_us / 1000000 - (l_us % 1000000 < 0), b);
            rc_time_iso(lo, x);
            rc_time_iso(hi, y);
            snprintf(en->foreign, sizeof en->foreign,
                     "the data centre %s answered records of %s from %s to %s, outside the "
                     "asked span %s .. %s; its answer is not the requested data",
                     rc_source_describe(en->o.source), id, a, b, x, y);
            return;
        }
    }
}

int eng_on_fetch(void *ud, size_t ri, rc_fetch_result *res)
{
    rc_engine *en = ud;
    size_t first = en->req_first[ri];
    size_t n = en->reqs[ri].n;
    /* HTTP attempts (retries and 413 splits included); one per SDS request */
    en->stats.requests += res->attempts > 0 ? res->attempts : 1;
    if (res->status == RC_OK) {
        en->stats.bytes_fetched += (int64_t)res->data.len;
        rc_traces *tr = NULL;
        rc_err e;
        int rc = rc_traces_new(&tr, &e);
        if (rc == RC_OK)
            rc = rc_traces_add(tr, res->data.data, res->data.len, &e);
        rc_buf_free(&res->data);
        if (rc != RC_OK) {
            /* An answer that does not read whole is not data: its windows
             * fail (and are asked again), none is written from a part. */
            char msg[RC_ERR_MSG_MAX + 512];
            snprintf(msg, sizeof msg, "answer from %s: %s", rc_source_describe(en->o.source),
                     e.msg);
            fail_lines(en, first, n, msg);
            rc_log_error(en->o.log, "decode", "%s", msg);
        } else {
            find_foreign(en, tr, first, n);
            if (en->foreign[0])
                rc_log_error(en->o.log, "fetch", "%s", en->foreign);
            for (size_t k = first; k < first + n; k++) {
                process_line(en, tr, &en->lines[k]);
                if (en->o.stop && *en->o.stop)
                    break;
            }
            en->foreign[0] = '\0';
        }
        rc_traces_free(tr);
    } else if (res->status == RC_ENODATA) {
        int64_t base_s = rc_span_seconds(en->base);
        for (size_t k = first; k < first + n; k++) {
            const line *l = &en->lines[k];
            for (int64_t w = l->start; w < l->end; w += base_s) {
                wtask *t = eng_task_find(en, l->ti, en->base, w);
                if (eng_window_wanted(t))
                    t->state = W_NODATA;
            }
        }
    } else {
        fail_lines(en, first, n, res->err.msg);
        rc_log_error(en->o.log, "fetch", "%s", res->err.msg);
        /* a source that refuses us or cannot be reached is unusable */
        if ((res->status == RC_EAUTH || res->status == RC_EUNUSABLE) && !en->fatal.code)
            en->fatal = res->err;
    }
    /* Settle this answer's uploads (bounds the S3 queue to one request's
     * chunks); the manifests wait for the end of the pass, so each
     * channel-day's manifest is written once per pass, not once per request. */
    rc_err we;
    if (rc_store_wait(en->o.store, &we) != RC_OK) {
        rc_log_error(en->o.log, "store", "%s", we.msg);
        if ((we.code == RC_EAUTH || we.code == RC_EUNUSABLE) && !en->fatal.code)
            en->fatal = we;
    }
    en->done_reqs++;
    if (en->progress) {
        eng_tally(en);
        en->progress(en->progress_ud, &en->stats, en->done_reqs, en->nreqs);
    }
    if (en->fatal.code)
        return 1;
    return en->o.stop && *en->o.stop;
}

/* --- pass -------------------------------------------------------------------- */

void eng_tally(rc_engine *en)
{
    rc_engine_stats *s = &en->stats;
    s->windows = s->requested = s->added = s->present = s->reindexed = 0;
    s->nodata = s->failed = s->held = s->provisional = s->kept = s->not_due = 0;
    for (size_t i = 0; i < en->ntargets; i++) {
        rc_target_result *r = &en->ts[i].res;
        r->added = r->present = r->nodata = r->failed = r->held = r->provisional = 0;
        r->reindexed = r->kept = r->not_due = r->pending = 0;
    }
    for (size_t i = 0; i < en->ntasks; i++) {
        const wtask *t = &en->tasks[i];
        rc_target_result *r = &en->ts[t->ti].res;
        if (t->declared)
            s->windows++;
        switch (t->state) {
        case W_PRESENT:
            if (t->declared) {
                s->present++;
                r->present++;
            }
            break;
        case W_REPAIR:
            s->reindexed++;
            r->reindexed++;
            break;
        case W_DONE:
            s->added++;
            r->added++;
            if (t->written_prov) {
                s->provisional++;
                r->provisional++;
            }
            break;
        case W_NODATA:
            if (t->declared) {
                s->nodata++;
                r->nodata++;
            }
            break;
        case W_FAILED:
            s->failed++;
            r->failed++;
            break;
        case W_HELD:
            s->held++;
            r->held++;
            break;
        case W_KEPT:
            s->kept++;
            r->kept++;
            break;
        case W_NOTDUE:
            if (t->declared) {
                s->not_due++;
                r->not_due++;
            }
            break;
        case W_WANT:
            if (t->declared)
                r->pending++;
            break;
        }
        if (t->state != W_PRESENT && t->state != W_NOTDUE && t->declared)
            s->requested++;
    }
    s->seconds = mono_seconds() - en->t0;
}

/* The store or source became unusable: nothing left can be done in this
 * run, and every window still to do is reported as failed with the reason,
 * so no station looks fine when it is not. */
static void fail_rest(rc_engine *en)
{
    for (size_t i = 0; i < en->ntasks; i++) {
        wtask *t = &en->tasks[i];
        if (t->state != W_WANT && t->state != W_HELD && t->state != W_FAILED)
            continue;
        t->state = W_FAILED;
        if (!en->ts[t->ti].res.error[0])
            eng_target_error(en, t->ti, en->fatal.msg);
    }
}

int rc_engine_pass(rc_engine *en, int final, rc_err *e)
{
    en->final = final;
    int rc;
    if (!en->planned && (rc = eng_plan(en, e)) != RC_OK) {
        if (en->fatal.code)
            fail_rest(en);
        eng_tally(en);
        return rc;
    }
    if (en->o.stop && *en->o.stop) {
        /* stopped while planning: the plan is partial, fetch nothing */
        eng_flush_manifests(en);
        eng_tally(en);
        return rc_err_set(e, RC_EINTR, "stopped by signal before fetching");
    }
    if ((rc = eng_build_requests(en, e)) != RC_OK)
        return rc;
    en->done_reqs = 0;
    en->foreign[0] = '\0';
    for (size_t i = 0; i < en->ntasks; i++)
        if (en->tasks[i].state == W_HELD || en->tasks[i].state == W_FAILED)
            en->tasks[i].state = W_WANT;
    if (en->nreqs) {
        if (!en->o.source) {
            eng_tally(en);
            return rc_err_set(e, RC_EINVAL, "no source configured (give --source or \"source\")");
        }
        rc = rc_source_fetch_many(en->o.source, en->reqs, en->nreqs, eng_on_fetch, en, e);
        if (rc != RC_OK && rc != RC_EINTR) {
            if (!en->fatal.code)
                en->fatal = *e;
            eng_flush_manifests(en); /* what was stored before stays indexed */
            fail_rest(en);
            eng_tally(en);
            *e = en->fatal;
            return e->code ? (int)e->code : rc;
        }
    }
    rc_err we;
    if (rc_store_wait(en->o.store, &we) != RC_OK) /* compose reads the base blobs back */
        rc_log_error(en->o.log, "store", "%s", we.msg);
    if (!en->fatal.code && !(en->o.stop && *en->o.stop))
        eng_compose_pending(en);
    eng_flush_manifests(en); /* restored, fetched and composed entries, once per channel-day */
    if (en->fatal.code) {
        fail_rest(en);
        *e = en->fatal;
        eng_tally(en);
        return en->fatal.code;
    }
    eng_tally(en);
    if (en->o.stop && *en->o.stop)
        return rc_err_set(e, RC_EINTR, "stopped by signal after the chunk in hand");
    return RC_OK;
}

size_t rc_engine_pending(const rc_engine *en)
{
    size_t n = 0;
    for (size_t i = 0; i < en->ntasks; i++)
        if (en->tasks[i].state == W_HELD || en->tasks[i].state == W_FAILED ||
            en->tasks[i].state == W_WANT)
            n++;
    return n;
}

int rc_engine_plan(rc_engine *en, int json, rc_buf *out, rc_err *e)
{
    int rc;
    if (!en->planned && (rc = eng_plan(en, e)) != RC_OK)
        return rc;
    if ((rc = eng_build_requests(en, e)) != RC_OK)
        return rc;
    eng_tally(en);
    double est = 0;
    for (size_t k = 0; k < en->nlines; k++) {
        double rate = en->ts[en->lines[k].ti].rate > 0 ? en->ts[en->lines[k].ti].rate : 100;
        est += rate * (double)(en->lines[k].end - en->lines[k].start) * 1.5;
    }
    int64_t want = 0;
    for (size_t i = 0; i < en->ntasks; i++)
        if (en->tasks[i].state == W_WANT && en->tasks[i].declared)
            want++;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "windows", (double)en->stats.windows);
        cJSON_AddNumberToObject(o, "missing", (double)want);
        cJSON_AddNumberToObject(o, "present", (double)en->stats.present);
        cJSON_AddNumberToObject(o, "reindex", (double)en->stats.reindexed);
        cJSON_AddNumberToObject(o, "requests", (double)en->nreqs);
        cJSON_AddNumberToObject(o, "lines", (double)en->nlines);
        cJSON_AddNumberToObject(o, "estimated_bytes", est);
        cJSON *arr = cJSON_AddArrayToObject(o, "lines_detail");
        for (size_t k = 0; k < en->nlines; k++) {
            char id[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
            rc_chan_format(&eng_station(en, en->lines[k].ti)->chan, id);
            rc_time_iso(en->lines[k].start, a);
            rc_time_iso(en->lines[k].end, b);
            cJSON *l = cJSON_CreateObject();
            cJSON_AddStringToObject(l, "channel", id);
            cJSON_AddStringToObject(l, "start", a);
            cJSON_AddStringToObject(l, "end", b);
            cJSON_AddItemToArray(arr, l);
        }
        char *s = cJSON_Print(o);
        rc_buf_puts(out, s);
        rc_buf_puts(out, "\n");
        free(s);
        cJSON_Delete(o);
    } else {
        rc_buf_printf(out,
                      "plan: %lld windows, %lld missing, %lld present, %lld to re-index from "
                      "blobs; %zu requests (%zu lines), about %.1f MB of miniSEED\n",
                      (long long)en->stats.windows, (long long)want,
                      (long long)en->stats.present, (long long)en->stats.reindexed, en->nreqs,
                      en->nlines, est / 1e6);
        for (size_t k = 0; k < en->nlines; k++) {
            char id[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
            rc_chan_format(&eng_station(en, en->lines[k].ti)->chan, id);
            rc_time_iso(en->lines[k].start, a);
            rc_time_iso(en->lines[k].end, b);
            rc_buf_printf(out, "  fetch %-18s %s .. %s\n", id, a, b);
        }
    }
    return RC_OK;
}

int rc_engine_plan_info(rc_engine *en, rc_plan_info *out, rc_err *e)
{
    int rc;
    if (!en->planned && (rc = eng_plan(en, e)) != RC_OK)
        return rc;
    if ((rc = eng_build_requests(en, e)) != RC_OK)
        return rc;
    eng_tally(en);
    memset(out, 0, sizeof *out);
    for (size_t k = 0; k < en->nlines; k++) {
        double rate = en->ts[en->lines[k].ti].rate > 0 ? en->ts[en->lines[k].ti].rate : 100;
        out->estimated_bytes += rate * (double)(en->lines[k].end - en->lines[k].start) * 1.5;
    }
    for (size_t i = 0; i < en->ntasks; i++)
        if (en->tasks[i].state == W_WANT && en->tasks[i].declared)
            out->missing++;
    out->windows = en->stats.windows;
    out->present = en->stats.present;
    out->reindex = en->stats.reindexed;
    out->requests = en->nreqs;
    out->nlines = en->nlines;
    /* line and rc_plan_line differ in field names only by design: copy */
    rc_plan_line *pl = malloc((en->nlines ? en->nlines : 1) * sizeof *pl);
    if (!pl)
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    for (size_t k = 0; k < en->nlines; k++)
        pl[k] = (rc_plan_line){en->lines[k].ti, en->lines[k].start, en->lines[k].end};
    free(en->plan_lines);
    en->plan_lines = pl;
    out->lines = pl;
    return RC_OK;
}

void rc_engine_set_progress(rc_engine *en, rc_engine_progress_cb cb, void *ud)
{
    en->progress = cb;
    en->progress_ud = ud;
}

static int cmp_info(const void *a, const void *b)
{
    const rc_window_info *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    if (x->span != y->span)
        return (int)x->span - (int)y->span;
    return (x->start > y->start) - (x->start < y->start);
}

int rc_engine_windows(rc_engine *en, rc_window_info **out, size_t *n, rc_err *e)
{
    int rc;
    if (!en->planned && (rc = eng_plan(en, e)) != RC_OK)
        return rc;
    rc_window_info *v = calloc(en->ntasks ? en->ntasks : 1, sizeof *v);
    if (!v)
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < en->ntasks; i++) {
        const wtask *t = &en->tasks[i];
        if (!t->declared)
            continue;
        rc_window_info *w = &v[k++];
        w->target = t->ti;
        w->span = t->span;
        w->start = t->start;
        w->state = t->state == W_PRESENT  ? RC_WIN_PRESENT
                   : t->state == W_REPAIR  ? RC_WIN_BLOB_ONLY
                   : t->state == W_WANT    ? RC_WIN_MISSING
                   : t->state == W_NOTDUE  ? RC_WIN_NOT_DUE
                                           : RC_WIN_OTHER;
        /* force/upgrade re-want present windows: still report them present */
        if (t->state == W_WANT && t->has_old)
            w->state = t->blob_lost ? RC_WIN_ENTRY_ONLY : RC_WIN_PRESENT;
        /* a blob whose metadata could not rebuild its entry is still there */
        if (t->state == W_WANT && !t->has_old && t->listed)
            w->state = RC_WIN_BLOB_ONLY;
        w->listed = t->listed;
        if (t->has_old) {
            w->provisional = t->old.provisional;
            w->completeness = t->old.completeness;
            snprintf(w->written_at, sizeof w->written_at, "%s", t->old.written_at);
        }
    }
    qsort(v, k, sizeof *v, cmp_info);
    *out = v;
    *n = k;
    return RC_OK;
}
