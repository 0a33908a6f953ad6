/*
 * engine_shape.c: the blocks of one answer, shaped, encoded and hashed on
 * the worker pool, and stored in order on the engine's thread.
 *
 * Owns: cutting an answer's lines into blocks of the longest span (every
 * wanted window of every span is a slice of one shaped block), the work on
 * a block (rc_shape, each wanted window's statistics, the emit gate, the
 * clock phase, the encoded body and its SHA-256) and the commit of its
 * outcome (task states, errors, logs, eng_emit_body), in block order.
 *
 * Determinism: a block's outcome depends on the block alone (its records,
 * the task states before the answer, the rate known before the blocks
 * ran), never on the worker that ran it or on other blocks of the answer,
 * so the stored bytes and entries are the same whatever the worker count.
 * A channel whose rate is not known yet has its first block of the answer
 * worked and committed before the others (it teaches the rate to them).
 * A long window is provisional when a base window of the same block is, as
 * the block decided it (not as the store has settled it so far).
 *
 * Preconditions: called on the engine's thread from eng_on_fetch with the
 * answer's traces (read-only from here on) and en->foreign set. Workers
 * read the engine (tasks of their own block, options, rates) and write
 * only their slot; everything else happens in block_commit.
 */
#include "engine_int.h"
#include "r2cache/timewin.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What became of one window of a block. */
typedef enum bkind {
    B_STORE,    /* encoded: store body */
    B_STATE,    /* state only (held, kept) */
    B_NOSAMPLE, /* held no recorded sample (no data, or the foreign answer's failure) */
    B_DAMAGED   /* a record in it could not be decoded: failed with the damage */
} bkind;

typedef struct bout {
    size_t task;
    bkind kind;
    wstate state; /* B_STATE */
    eng_chunk ch; /* B_STORE; its body's buffer is kept for the slot's next block */
} bout;

/* One block: [bs, be) of channel ti. */
typedef struct bitem {
    size_t ti;
    int64_t bs, be;
} bitem;

typedef enum bres {
    BR_NONE,   /* no window of it wanted */
    BR_NODATA, /* no recorded sample in the block */
    BR_FAILED, /* the channel could not be shaped: err */
    BR_SHAPED  /* outs */
} bres;

typedef struct bslot {
    bres res;
    char err[RC_ERR_MSG_MAX];
    char damage[320]; /* win.damage, logged */
    double rate;      /* the shaped window's rate */
    int stopped;      /* the stop flag cut it short: the rest stays as it was */
    bout *outs;
    size_t nout, capout;
} bslot;

typedef struct bjob {
    rc_engine *en;
    const rc_traces *tr;
    const bitem *items;
    const double *rates; /* per item: the rate known before the blocks ran */
    bslot *slots;
    size_t window;
} bjob;

/* A base window's decision within its block, for the long windows over it. */
typedef struct bdec {
    unsigned char decided, held, prov;
} bdec;

static bout *slot_out(bslot *c, size_t task, bkind kind)
{
    if (c->nout == c->capout) {
        size_t nc = c->capout ? c->capout * 2 : 8;
        bout *n = realloc(c->outs, nc * sizeof *n);
        if (!n) return NULL;
        memset(n + c->capout, 0, (nc - c->capout) * sizeof *n);
        c->outs = n;
        c->capout = nc;
    }
    bout *o = &c->outs[c->nout++];
    o->task = task;
    o->kind = kind;
    o->state = W_WANT;
    o->ch.steps = NULL;
    o->ch.nsteps = 0;
    return o;
}

static void slot_fail(bslot *c, const char *msg)
{
    c->res = BR_FAILED;
    snprintf(c->err, sizeof c->err, "%s", msg);
}

/* Shape block k and decide every wanted window in it (pool worker). */
static void block_work(void *wctx, size_t k, void *ud)
{
    bjob *j = ud;
    rc_codec *codec = wctx;
    rc_engine *en = j->en;
    const bitem *it = &j->items[k];
    bslot *c = &j->slots[k % j->window];
    c->res = BR_NONE;
    c->err[0] = c->damage[0] = '\0';
    c->stopped = 0;
    c->nout = 0;
    c->rate = 0;
    size_t ti = it->ti;
    int64_t bs = it->bs, be = it->be;
    if (en->o.stop && *en->o.stop) {
        c->stopped = 1;
        return;
    }
    int any = 0;
    for (int s = 0; s < RC_SPAN_COUNT && !any; s++) {
        if (!en->o.cfg->spans[s] && s != (int)en->base) continue;
        int64_t sp = rc_span_seconds((rc_span)s);
        for (int64_t w = rc_floor(bs + sp - 1, sp); w + sp <= be; w += sp)
            if (eng_window_wanted(eng_task_find(en, ti, (rc_span)s, w))) any = 1;
    }
    if (!any) return;
    const rc_station *st = eng_station(en, ti);
    rc_window win;
    rc_err e;
    int64_t base_s = rc_span_seconds(en->base);
    int rc = rc_shape(j->tr, &st->chan, j->rates[k], bs, be - bs, base_s, &win, &e);
    if (rc == RC_ENODATA) {
        c->res = BR_NODATA;
        return;
    }
    if (rc != RC_OK) {
        slot_fail(c, e.msg);
        return;
    }
    c->res = BR_SHAPED;
    c->rate = win.rate;
    snprintf(c->damage, sizeof c->damage, "%s", win.damage);
    int64_t nbase = (be - bs + base_s - 1) / base_s;
    bdec *dec = calloc((size_t)(nbase > 0 ? nbase : 1), sizeof *dec);
    if (!dec) {
        rc_window_free(&win);
        slot_fail(c, "out of memory shaping a block");
        return;
    }
    double thr = en->o.cfg->completeness_threshold;
    for (int s = 0; s < RC_SPAN_COUNT; s++) {
        if (!en->o.cfg->spans[s] && s != (int)en->base) continue;
        int64_t sp = rc_span_seconds((rc_span)s);
        int is_base = s == (int)en->base;
        for (int64_t w = rc_floor(bs + sp - 1, sp); w + sp <= be; w += sp) {
            const wtask *t = eng_task_find(en, ti, (rc_span)s, w);
            if (!eng_window_wanted(t)) continue;
            if (en->o.stop && *en->o.stop) {
                c->stopped = 1;
                goto out;
            }
            size_t task = (size_t)(t - en->tasks);
            int64_t b0 = (w - bs) / base_s, nb = sp / base_s;
            bdec *d = is_base && b0 < nbase ? &dec[b0] : NULL;
            if (d) d->decided = 1;
            int damaged = 0;
            for (int64_t b = b0; b < b0 + nb && b < win.nsub; b++)
                damaged |= win.sub_flags[b] & RC_SUB_DAMAGED;
            if (damaged) {
                /* never a chunk with made-up samples where a record was lost */
                if (!slot_out(c, task, B_DAMAGED)) goto oom;
                continue;
            }
            int64_t off = rc_slots(win.rate, w - bs);
            int64_t n = rc_slots(win.rate, sp);
            if (off + n > win.nslots) n = win.nslots - off;
            rc_window_stats stv;
            rc_window_stats_range(&win, off, n, &stv);
            if (stv.present == 0) {
                if (!slot_out(c, task, B_NOSAMPLE)) goto oom;
                continue;
            }
            int prov = stv.completeness < thr;
            int held = 0;
            if (!is_base) {
                /* A long chunk is provisional when any chunk it covers is:
                 * as this block decided it, or as it was before the answer. */
                for (int64_t b = w; b < w + sp; b += base_s) {
                    int64_t bi = (b - bs) / base_s;
                    if (b >= bs && bi < nbase && dec[bi].decided) {
                        held |= dec[bi].held;
                        prov |= dec[bi].prov;
                        continue;
                    }
                    const wtask *bt = eng_task_find(en, ti, en->base, b);
                    if (!bt) continue;
                    if (bt->state == W_HELD) held = 1;
                    if ((bt->state == W_DONE && bt->written_prov) || eng_stored_provisional(bt))
                        prov = 1;
                }
            }
            if (held && !en->final) {
                bout *o = slot_out(c, task, B_STATE);
                if (!o) goto oom;
                o->state = W_HELD;
                if (d) d->held = 1;
                continue;
            }
            wstate g = eng_emit_gate(en, t, &stv, prov);
            if (g != W_WANT) {
                bout *o = slot_out(c, task, B_STATE);
                if (!o) goto oom;
                o->state = g;
                if (d) d->held = g == W_HELD;
                continue;
            }
            bout *o = slot_out(c, task, B_STORE);
            if (!o) goto oom;
            o->ch.head = o->ch.tail = 0;
            while (o->ch.head < n && !win.present[off + o->ch.head])
                o->ch.head++;
            while (o->ch.tail < n && !win.present[off + n - 1 - o->ch.tail])
                o->ch.tail++;
            if (eng_window_phase(&win, b0, nb, &o->ch.off, &o->ch.steps, &o->ch.nsteps) != RC_OK) {
                c->nout--;
                goto oom;
            }
            if (rc_codec_encode_id(codec, en->o.cfg->codec, win.samples + off, (size_t)n,
                                   &o->ch.body, &e) != RC_OK) {
                /* the window fails with the codec's message */
                free(o->ch.steps);
                o->ch.steps = NULL;
                o->ch.nsteps = 0;
                c->nout--;
                c->res = BR_FAILED;
                snprintf(c->err, sizeof c->err, "%s", e.msg);
                goto out;
            }
            rc_store_body_hash(en->o.store, o->ch.body.data, o->ch.body.len, &o->ch.hash);
            o->ch.stv = stv;
            o->ch.prov = prov;
            /* what the commit will make of it: kept when an upgrade brings
             * nothing new (eng_emit_body), otherwise written */
            if (d && !(t->upgrade && t->has_old && strcmp(o->ch.hash.sha256, t->old->sha256) == 0))
                d->prov = (unsigned char)prov;
        }
    }
    goto out;
oom:
    c->res = BR_FAILED;
    snprintf(c->err, sizeof c->err, "out of memory shaping a block");
out:
    free(dec);
    rc_window_free(&win);
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

/* Every wanted window of every span inside [bs, be) of ti ends as state. */
static void block_set(rc_engine *en, size_t ti, int64_t bs, int64_t be, int base_only, wstate state)
{
    for (int s = 0; s < RC_SPAN_COUNT; s++) {
        if (base_only && s != (int)en->base) continue;
        int64_t sp = rc_span_seconds((rc_span)s);
        for (int64_t w = rc_floor(bs + sp - 1, sp); w + sp <= be; w += sp) {
            wtask *t = eng_task_find(en, ti, (rc_span)s, w);
            if (!eng_window_wanted(t)) continue;
            if (state == W_NODATA)
                no_sample(en, t);
            else
                t->state = state;
        }
    }
}

/* On the engine's thread, in block order: apply block k's outcome. */
static void block_commit(size_t k, void *ud)
{
    bjob *j = ud;
    rc_engine *en = j->en;
    const bitem *it = &j->items[k];
    bslot *c = &j->slots[k % j->window];
    size_t ti = it->ti;
    if (c->rate > 0 && en->ts[ti].rate <= 0) en->ts[ti].rate = c->rate;
    if (c->res == BR_NODATA) block_set(en, ti, it->bs, it->be, 1, W_NODATA);
    if (c->res == BR_FAILED && c->nout == 0) {
        /* nothing of the block was decided: every wanted window fails */
        block_set(en, ti, it->bs, it->be, 0, W_FAILED);
    }
    if (c->res == BR_FAILED) {
        eng_target_error(en, ti, c->err);
        rc_log_error(en->o.log, "shape", "%s", c->err);
    }
    if (c->damage[0]) rc_log_error(en->o.log, "decode", "%s", c->damage);
    for (size_t i = 0; i < c->nout; i++) {
        bout *o = &c->outs[i];
        wtask *t = &en->tasks[o->task];
        switch (o->kind) {
        case B_DAMAGED:
            t->state = W_FAILED;
            eng_target_error(en, ti, c->damage);
            break;
        case B_NOSAMPLE:
            no_sample(en, t);
            break;
        case B_STATE:
            t->state = o->state;
            break;
        case B_STORE:
            eng_emit_body(en, t, &o->ch);
            break;
        }
        free(o->ch.steps);
        o->ch.steps = NULL;
        o->ch.nsteps = 0;
        /* a long chunk's buffer is not kept from block to block */
        if (o->ch.body.cap > ((size_t)4 << 20)) rc_buf_free(&o->ch.body);
    }
    if (c->res == BR_FAILED && c->nout > 0) {
        /* failed part way (out of memory, the codec): the windows not
         * decided yet fail */
        for (int s = 0; s < RC_SPAN_COUNT; s++) {
            int64_t sp = rc_span_seconds((rc_span)s);
            for (int64_t w = rc_floor(it->bs + sp - 1, sp); w + sp <= it->be; w += sp) {
                wtask *t = eng_task_find(en, ti, (rc_span)s, w);
                if (t && t->state == W_WANT) t->state = W_FAILED;
            }
        }
    }
}

/* The blocks of lines [0, n): each line cut at the longest span's bounds. */
static size_t cut_blocks(const rc_engine *en, const line *lines, size_t n, bitem *out)
{
    int64_t g = rc_span_seconds(en->longest);
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        const line *l = &lines[k];
        for (int64_t b = rc_floor(l->start, g); b < l->end; b += g) {
            if (out) {
                out[m].ti = l->ti;
                out[m].bs = b > l->start ? b : l->start;
                out[m].be = b + g < l->end ? b + g : l->end;
            }
            m++;
        }
    }
    return m;
}

rc_codec *eng_worker_codec(rc_engine *en, int w)
{
    if (w <= 0) return en->codec;
    if (w >= ENGINE_MAX_WORKERS) return NULL;
    rc_err e;
    if (!en->wcodec[w] && rc_codec_new(en->o.cfg->zstd_level, &en->wcodec[w], &e) != RC_OK)
        return NULL;
    return en->wcodec[w];
}

/* ctx[w] = worker w's codec for up to `want` workers; returns how many
 * could be set up (at least 1). */
static int worker_codecs(rc_engine *en, int want, void **ctx)
{
    int ready = 0;
    while (ready < want && ready < ENGINE_MAX_WORKERS && (ctx[ready] = eng_worker_codec(en, ready)))
        ready++;
    return ready;
}

static void run_blocks(rc_engine *en, const rc_traces *tr, const bitem *items, const double *rates,
                       size_t n)
{
    if (n == 0) return;
    void *ctx[ENGINE_MAX_WORKERS];
    int nw = worker_codecs(en, en->workers, ctx);
    if ((size_t)nw > n) nw = (int)n;
    /* one block ahead per worker while the engine's thread stores: memory
     * is bounded by the window (each slot: one block's encoded bodies) */
    size_t window = nw > 1 ? (size_t)nw + 1 : 1;
    if (window > n) window = n;
    bslot *slots = calloc(window, sizeof *slots);
    if (!slots) {
        for (size_t k = 0; k < n; k++) {
            block_set(en, items[k].ti, items[k].bs, items[k].be, 0, W_FAILED);
            eng_target_error(en, items[k].ti, "out of memory shaping an answer");
        }
        return;
    }
    bjob job = {en, tr, items, rates, slots, window};
    rc_pool_run(nw, window, n, ctx, block_work, block_commit, &job);
    for (size_t k = 0; k < window; k++) {
        for (size_t i = 0; i < slots[k].capout; i++) {
            rc_buf_free(&slots[k].outs[i].ch.body);
            free(slots[k].outs[i].ch.steps);
        }
        free(slots[k].outs);
    }
    free(slots);
}

void eng_shape_lines(rc_engine *en, const rc_traces *tr, const line *lines, size_t n)
{
    size_t m = cut_blocks(en, lines, n, NULL);
    if (m == 0) return;
    bitem *items = malloc(m * sizeof *items);
    double *rates = malloc(m * sizeof *rates);
    unsigned char *first = calloc(m, 1);
    if (!items || !rates || !first) {
        free(items);
        free(rates);
        free(first);
        for (size_t k = 0; k < n; k++) {
            block_set(en, lines[k].ti, lines[k].start, lines[k].end, 0, W_FAILED);
            eng_target_error(en, lines[k].ti, "out of memory shaping an answer");
        }
        return;
    }
    cut_blocks(en, lines, n, items);
    /* A channel whose rate is not known yet: its first block runs (and
     * teaches the rate) before the others; so does the same in a serial run,
     * which keeps the outcome independent of the worker count. */
    size_t nfirst = 0;
    for (size_t k = 0; k < m; k++) {
        if (en->ts[items[k].ti].rate > 0) continue;
        int seen = 0;
        for (size_t q = 0; q < k && !seen; q++)
            seen = first[q] && items[q].ti == items[k].ti;
        if (!seen) {
            first[k] = 1;
            nfirst++;
        }
    }
    if (nfirst) {
        bitem *fi = malloc(nfirst * sizeof *fi);
        int split = fi != NULL;
        if (fi) {
            size_t q = 0;
            for (size_t k = 0; k < m; k++)
                if (first[k]) {
                    fi[q] = items[k];
                    rates[q] = 0;
                    q++;
                }
            run_blocks(en, tr, fi, rates, nfirst);
            free(fi);
        }
        /* the rest, in their order, without the first blocks */
        size_t q = 0;
        for (size_t k = 0; k < m; k++)
            if (!first[k] || !split) items[q++] = items[k];
        m = q;
    }
    for (size_t k = 0; k < m; k++)
        rates[k] = en->ts[items[k].ti].rate;
    if (!(en->o.stop && *en->o.stop)) run_blocks(en, tr, items, rates, m);
    free(items);
    free(rates);
    free(first);
}
