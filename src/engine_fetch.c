/*
 * engine_fetch.c: execution, from answers to stored chunks and manifests.
 *
 * Owns: the fetch callback (an answer is decoded into traces, checked for
 * records nobody asked for, and handed to engine_shape.c, which shapes,
 * encodes and hashes its blocks on the worker pool), the emit gate and the
 * blobs (queued with rc_store_put_async), the queue of manifest entries
 * (eng_add_op: an entry is queued only once its blob is stored) and the
 * flush of that queue, one conditional read-modify-write per channel-day.
 *
 * Preconditions: eng_plan and eng_build_requests have run. eng_on_fetch is
 * called by rc_source_fetch_many on the engine's thread, once per request
 * in completion order; put_done by the store on the engine's thread (within
 * rc_store_put_async or rc_store_wait). eng_flush_manifests runs on the
 * engine's thread and waits for the queued puts first (blob before entry);
 * its flush_one runs on rc_store_par_run workers and reads the engine,
 * writing only its own mgroup slot.
 */
#include "engine_int.h"
#include "r2cache/summary.h"
#include "r2cache/naming.h"
#include "r2cache/timewin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- writing chunks ------------------------------------------------------ */

typedef struct put_ctx {
    rc_engine *en;
    size_t task;
} put_ctx;

/* The blob of t was not stored (pe may be NULL): the window failed, and a
 * store that refuses us ends the run. */
static void store_failed(rc_engine *en, wtask *t, const char *key, const rc_err *pe)
{
    t->state = W_FAILED;
    char msg[RC_ERR_MSG_MAX + RC_KEY_MAX + 32];
    snprintf(msg, sizeof msg, "storing %s: %s", key, pe ? pe->msg : "failed");
    eng_target_error(en, t->ti, msg);
    rc_log_error(en->o.log, "store", "%s", msg);
    eng_note_fatal(en, pe);
}

static void put_done(void *ud, const char *key, int status, const rc_err *pe)
{
    put_ctx *pc = ud;
    rc_engine *en = pc->en;
    wtask *t = &en->tasks[pc->task];
    if (status == RC_OK) {
        rc_upsert_mode mode = (en->o.force && t->declared) || t->blob_lost ? RC_UPSERT_REPLACE
                              : t->upgrade                                 ? RC_UPSERT_UPGRADE
                                                                           : RC_UPSERT_IF_ABSENT;
        if (eng_add_op(en, t->ti, pc->task, t->span, t->newe, mode) == RC_OK) {
            t->state = W_DONE;
            if (t->span == en->base && t->src_index >= 0)
                rc_source_credit(en->o.source, t->src_index, 1);
            en->stats.bytes_written += t->newe->bytes;
            en->stats.samples += t->newe->samples;
            en->stats.gap_samples += t->newe->gap_samples_filled;
            tstate *ts = &en->ts[t->ti];
            ts->res.bytes += t->newe->bytes;
            ts->res.samples += t->newe->samples;
            ts->res.gap_samples += t->newe->gap_samples_filled;
            /* the op holds its copy; the task keeps one only for composing
             * (a base window when a longer span is configured) */
            if (t->span != en->base || en->longest == en->base) eng_task_drop_new(t);
        } else {
            t->state = W_FAILED;
        }
    } else {
        store_failed(en, t, key, pe);
    }
    free(pc);
}

wstate eng_emit_gate(const rc_engine *en, const wtask *t, const rc_window_stats *stv, int prov)
{
    if (prov && !en->final) return W_HELD;
    /* At least as complete as what it replaces: a worse answer (the data
     * centre lost data, a cut transfer that slipped through) never
     * overwrites a better chunk, whether asked by --upgrade or --force. A
     * lost blob is replaced whatever its entry said. */
    int replaces = t->has_old && !t->blob_lost && (t->upgrade || (en->o.force && t->declared));
    if (replaces && stv->completeness + 1e-12 < t->old->completeness) return W_KEPT;
    return W_WANT;
}

void eng_emit_body(rc_engine *en, wtask *t, const eng_chunk *c)
{
    const rc_config *cfg = en->o.cfg;
    rc_err e;
    char key[RC_KEY_MAX];
    const rc_buf body = c->body;
    const rc_window_stats *stv = &c->stv;
    const int prov = c->prov;
    if (eng_chunk_key(en, t->ti, t->span, t->start, key, &e) != RC_OK) {
        t->state = W_FAILED;
        eng_target_error(en, t->ti, e.msg);
        return;
    }
    const char *sha = c->hash.sha256;
    if (t->upgrade && t->has_old && strcmp(sha, t->old->sha256) == 0) {
        /* the data centre has nothing new: rewriting would only restart the
         * settle clock and churn the CDN */
        t->state = W_KEPT;
        return;
    }
    eng_task_drop_new(t);
    rc_mentry *me = calloc(1, sizeof *me);
    if (!me) {
        t->state = W_FAILED;
        eng_target_error(en, t->ti, "out of memory building a chunk entry");
        return;
    }
    t->newe = me;
    t->has_new = 1;
    if (c->nsteps > 0) {
        me->steps = malloc((size_t)c->nsteps * sizeof *me->steps);
        if (!me->steps) {
            t->state = W_FAILED;
            eng_target_error(en, t->ti, "out of memory building a chunk entry");
            return;
        }
        memcpy(me->steps, c->steps, (size_t)c->nsteps * sizeof *me->steps);
        me->nsteps = c->nsteps;
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
    if (cfg->codec != RC_CODEC_INT32_ZSTD)
        snprintf(me->codec, sizeof me->codec, "%s", rc_codec_id_name(cfg->codec));
    me->offset_s = c->off;
    me->gap_head = c->head;
    me->gap_tail = c->tail;
    me->revision = 1;
    snprintf(me->source, sizeof me->source, "%s", en->emit_source ? en->emit_source : "");
    t->src_index = en->emit_source_index;
    memcpy(me->sha256, sha, sizeof me->sha256);
    rc_time_now_iso_us(me->written_at);
    t->written_prov = prov;

    rc_obj_meta meta;
    memset(&meta, 0, sizeof meta);
    rc_mentry_to_meta(me, &meta);
    snprintf(meta.content_type, sizeof meta.content_type, "application/octet-stream");
    meta.hash = c->hash;
    snprintf(meta.cache_control, sizeof meta.cache_control, "%s",
             prov ? cfg->cache_control_provisional : cfg->cache_control_final);
    put_ctx *pc = malloc(sizeof *pc);
    if (!pc) {
        t->state = W_FAILED;
        eng_target_error(en, t->ti, "out of memory queueing a chunk");
        return;
    }
    pc->en = en;
    pc->task = (size_t)(t - en->tasks);
    if (rc_store_put_async(en->o.store, key, body.data, body.len, &meta, put_done, pc, &e) !=
        RC_OK) {
        /* Not queued, so put_done has not run and never will for it
         * (store.h): the outcome is this call's. */
        free(pc);
        store_failed(en, t, key, &e);
    }
}

/* --- manifests ----------------------------------------------------------- */

/* Ops queued for the manifests, written by eng_flush_manifests. */
int eng_add_op(rc_engine *en, size_t ti, size_t task, rc_span s, const rc_mentry *en_,
               rc_upsert_mode mode)
{
    if (en->nops == en->capops) {
        size_t nc = en->capops ? en->capops * 2 : 64;
        dayop *n = realloc(en->ops, nc * sizeof *n);
        if (!n) return RC_ENOMEM;
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

int64_t eng_confirm_age(const rc_engine *en)
{
    return en->o.cfg->nrecheck ? en->o.cfg->recheck_ages[0] : 3600;
}

int eng_add_empty_op(rc_engine *en, size_t task)
{
    const wtask *t = &en->tasks[task];
    int64_t end = t->start + rc_span_seconds(t->span);
    if (en->o.now - end < eng_confirm_age(en)) return RC_OK;
    /* seed manifest names carry the rate: with none known, nothing names it */
    if (en->o.cfg->layout != RC_LAYOUT_VIEWER && en->ts[t->ti].rate <= 0) return RC_OK;
    rc_mentry none;
    memset(&none, 0, sizeof none);
    none.start = t->start;
    none.end = end;
    int rc = eng_add_op(en, t->ti, task, t->span, &none, RC_UPSERT_IF_ABSENT);
    if (rc != RC_OK) return rc;
    dayop *op = &en->ops[en->nops - 1];
    op->empty = 1;
    op->empty_start = t->start;
    op->empty_end = end;
    return RC_OK;
}

/* eng_chday_fn over the ops */
static eng_chday op_chday(const void *ctx, size_t k)
{
    const dayop *op = &((const dayop *)ctx)[k];
    return (eng_chday){op->ti, op->day};
}

static int cmp_op(const void *a, const void *b)
{
    const dayop *x = a, *y = b;
    if (x->ti != y->ti) return x->ti < y->ti ? -1 : 1;
    if (x->day != y->day) return x->day < y->day ? -1 : 1;
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
    if (g->rc != RC_OK) return;
    rc_mop *mops = calloc(j - i, sizeof *mops);
    if (!mops) {
        g->rc = rc_err_set(&g->e, RC_ENOMEM, "out of memory");
        return;
    }
    for (size_t k = i; k < j; k++) {
        const dayop *op = &en->ops[k];
        mops[k - i] = (rc_mop){.span = op->span, .entry = &op->entry, .mode = op->mode};
        if (op->empty) {
            mops[k - i].kind = RC_MOP_EMPTY;
            mops[k - i].start = op->empty_start;
            mops[k - i].end = op->empty_end;
            mops[k - i].checked_at = en->o.now;
        }
    }
    rc_manifest tmpl;
    rc_manifest_init_station(&tmpl, cfg->layout, st, en->targets[ti].volc->name, en->ts[ti].rate,
                             en->ops[i].day);
    g->rc = rc_manifest_update(store, key, &tmpl, mops, j - i, en->base,
                               cfg->cache_control_manifest, 0, &g->changed, &g->e);
    rc_manifest_free(&tmpl);
    free(mops);
    /* keep inventory's per channel-month summary honest */
    if (g->changed)
        g->touch_rc =
            rc_summary_touch(store, &st->chan, en->targets[ti].volc->name, en->ops[i].day, &g->te);
}

int eng_flush_manifests(rc_engine *en)
{
    rc_err e;
    if (rc_store_wait(en->o.store, &e) != RC_OK) rc_log_error(en->o.log, "store", "%s", e.msg);
    if (!en->nops) return RC_OK;
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
        size_t at[ENGINE_BATCH + 1];
        size_t ng = eng_day_runs(&i, en->nops, op_chday, en->ops, at);
        for (size_t k = 0; k < ng; k++) {
            memset(&g[k], 0, sizeof g[k]);
            g[k].i = at[k];
            g[k].j = at[k + 1];
        }
        flush_ctx c = {en, g};
        rc_store_par_run(en->o.store, rc_store_options(en->o.store)->max_connections, ng, flush_one,
                         &c);
        for (size_t k = 0; k < ng; k++) {
            size_t ti = en->ops[g[k].i].ti;
            if (g[k].changed) {
                en->stats.manifests++;
                if (g[k].touch_rc != RC_OK) rc_log_warn(en->o.log, "inventory", "%s", g[k].te.msg);
            }
            if (g[k].rc != RC_OK) {
                eng_target_error(en, ti, g[k].e.msg);
                rc_log_error(en->o.log, "manifest", "%s", g[k].e.msg);
                for (size_t x = g[k].i; x < g[k].j; x++)
                    en->tasks[en->ops[x].task].state = W_FAILED;
                eng_note_fatal(en, &g[k].e);
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

/* The parts of request lines one answer is about: a single source's answer
 * is about its whole request; a source list's names its pieces (source.h). */
typedef struct ans_span {
    size_t ti;
    rc_fetch_line fl; /* as asked (from a little before its first window) */
    int64_t ws, we;   /* its base windows: [ws, we) */
} ans_span;

/* Every wanted base window of the spans ends as state; msg (may be NULL)
 * becomes its target's error. */
static void set_lines(rc_engine *en, const ans_span *sp, size_t n, wstate state, const char *msg)
{
    int64_t base_s = rc_span_seconds(en->base);
    for (size_t k = 0; k < n; k++) {
        for (int64_t w = sp[k].ws; w < sp[k].we; w += base_s) {
            wtask *t = eng_task_find(en, sp[k].ti, en->base, w);
            if (!eng_window_wanted(t)) continue;
            t->state = state;
            if (msg) eng_target_error(en, sp[k].ti, msg);
        }
    }
}

/* Records in an answer that are not what its spans asked for: another
 * channel, or the right channel wholly outside the asked span. Names the
 * first such thing in en->foreign ("" when the answer is clean). */
static void find_foreign(rc_engine *en, const rc_traces *tr, const ans_span *sp, size_t n)
{
    en->foreign[0] = '\0';
    for (size_t c = 0; c < rc_traces_nchan(tr); c++) {
        const rc_chan *ch = rc_traces_chan(tr, c);
        int asked = 0;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t k = 0; k < n; k++) {
            const rc_fetch_line *fl = &sp[k].fl;
            if (!rc_chan_equal(&fl->chan, ch)) continue;
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
                     en->cur_shown, id);
            return;
        }
        int64_t f_us, l_us;
        if (rc_traces_extent(tr, ch, &f_us, &l_us) != RC_OK) continue;
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
                     en->cur_shown, id, a, b, x, y);
            return;
        }
    }
}

int eng_on_fetch(void *ud, size_t ri, rc_fetch_result *res)
{
    rc_engine *en = ud;
    size_t first = en->req_first[ri];
    size_t n = res->pieces ? res->npieces : en->reqs[ri].n;
    ans_span *sp = malloc((n ? n : 1) * sizeof *sp);
    if (!sp) {
        rc_err oe;
        rc_err_set(&oe, RC_ENOMEM, "out of memory handling an answer");
        rc_log_error(en->o.log, "fetch", "%s", oe.msg);
        if (!en->fatal.code) en->fatal = oe;
        return 1;
    }
    int64_t base_s = rc_span_seconds(en->base);
    for (size_t k = 0; k < n; k++) {
        size_t li = first + (res->pieces ? res->piece_line[k] : k);
        const line *l = &en->lines[li];
        sp[k].ti = l->ti;
        sp[k].fl = res->pieces ? res->pieces[k] : en->flines[li];
        int64_t ws = rc_floor(sp[k].fl.start + base_s - 1, base_s);
        sp[k].ws = ws > l->start ? ws : l->start;
        sp[k].we = sp[k].fl.end < l->end ? sp[k].fl.end : l->end;
    }
    en->emit_source = res->source_name ? res->source_name : rc_source_name(en->o.source);
    en->emit_source_index = res->source_name ? res->source_index : -1;
    en->cur_shown = res->source_shown ? res->source_shown : rc_source_describe(en->o.source);
    /* HTTP attempts (retries and 413 splits included); one per SDS request */
    if (res->attempts > 0 || !res->pieces)
        en->stats.requests += res->attempts > 0 ? res->attempts : 1;
    if (res->status == RC_OK) {
        en->stats.bytes_fetched += (int64_t)res->data.len;
        rc_traces *tr = NULL;
        rc_err e;
        int rc = rc_traces_new(&tr, &e);
        if (rc == RC_OK) rc = rc_traces_add(tr, res->data.data, res->data.len, &e);
        rc_buf_free(&res->data);
        if (rc != RC_OK) {
            /* An answer that does not read whole is not data: its windows
             * fail (and are asked again), none is written from a part. */
            char msg[RC_ERR_MSG_MAX + 512];
            snprintf(msg, sizeof msg, "answer from %s: %s", en->cur_shown, e.msg);
            set_lines(en, sp, n, W_FAILED, msg);
            rc_log_error(en->o.log, "decode", "%s", msg);
        } else {
            find_foreign(en, tr, sp, n);
            if (en->foreign[0]) rc_log_error(en->o.log, "fetch", "%s", en->foreign);
            line *ls = malloc(n * sizeof *ls);
            if (ls) {
                for (size_t k = 0; k < n; k++)
                    ls[k] = (line){sp[k].ti, sp[k].ws, sp[k].we};
                eng_shape_lines(en, tr, ls, n);
                free(ls);
            } else {
                set_lines(en, sp, n, W_FAILED, "out of memory handling an answer");
            }
            en->foreign[0] = '\0';
        }
        rc_traces_free(tr);
    } else if (res->status == RC_ENODATA) {
        set_lines(en, sp, n, W_NODATA, NULL);
    } else {
        set_lines(en, sp, n, W_FAILED, res->err.msg);
        rc_log_error(en->o.log, "fetch", "%s", res->err.msg);
        /* a source that refuses us or cannot be reached is unusable */
        if ((res->status == RC_EAUTH || res->status == RC_EUNUSABLE) && !en->fatal.code)
            en->fatal = res->err;
    }
    free(sp);
    en->emit_source = NULL;
    en->emit_source_index = -1;
    /* Settle this answer's uploads (bounds the S3 queue to one request's
     * chunks); the manifests wait for the end of the pass, so each
     * channel-day's manifest is written once per pass, not once per request. */
    rc_err we;
    if (rc_store_wait(en->o.store, &we) != RC_OK) {
        rc_log_error(en->o.log, "store", "%s", we.msg);
        eng_note_fatal(en, &we);
    }
    if (!res->more) en->done_reqs++;
    if (en->progress) {
        eng_tally(en);
        en->progress(en->progress_ud, &en->stats, en->done_reqs, en->nreqs);
    }
    if (en->fatal.code) return 1;
    return en->o.stop && *en->o.stop;
}
