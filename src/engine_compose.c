/*
 * engine_compose.c: long chunks (1 h, 6 h, 24 h) built from stored base
 * chunks, and the clock phase rules every chunk is described with.
 *
 * Owns: eng_window_phase (offset and phase steps of a run of sub-windows:
 * the first sub-window holding data gives the offset, every later one whose
 * offset differs starts a step), used by the fetch path (engine_fetch.c) and
 * here, so a long chunk describes its base chunks the same way whichever
 * path built it; and eng_compose_pending: a wanted long window whose base
 * windows did not all come from one answer is made of the stored base
 * chunks (read back, decoded, placed by their offsets), gap runs counted
 * once across base boundaries, provisional when any base chunk is.
 *
 * Preconditions: called on the engine's thread from rc_engine_pass after
 * every fetch of the pass has been answered and rc_store_wait has settled
 * the puts (the base blobs it reads are stored); base tasks carry their
 * final state of the pass (done, present, repaired, kept, no data, or still
 * wanted = failed or held). Writes go through eng_emit_body (engine_fetch.c);
 * their manifest entries are flushed by the caller afterwards.
 */
#include "engine_int.h"
#include "r2cache/naming.h"
#include "r2cache/timewin.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Offset and phase steps of the window made of sub-windows [b0, b0 + nb) of
 * a shaped or composed block: the first sub-window holding data gives the
 * offset, and every later one whose offset differs from the one before it
 * starts a step. Both the fetch and the compose path come here, so a long
 * chunk describes its base chunks the same way whichever built it. */
int eng_window_phase(const rc_window *win, int64_t b0, int64_t nb, double *offset,
                     rc_phase_step **steps, int *nsteps)
{
    *offset = 0;
    *steps = NULL;
    *nsteps = 0;
    int have = 0;
    double cur = 0;
    for (int64_t b = b0; b < b0 + nb && b < win->nsub; b++) {
        if (!(win->sub_flags[b] & RC_SUB_DATA)) continue;
        double o = win->sub_offset[b];
        if (!have) {
            *offset = cur = o;
            have = 1;
            continue;
        }
        if (o == cur) continue;
        rc_phase_step *ns = realloc(*steps, (size_t)(*nsteps + 1) * sizeof *ns);
        if (!ns) {
            free(*steps);
            *steps = NULL;
            *nsteps = 0;
            return RC_ENOMEM;
        }
        *steps = ns;
        ns[*nsteps].start = win->start + b * win->base_seconds;
        ns[*nsteps].offset_s = o;
        (*nsteps)++;
        cur = o;
    }
    return RC_OK;
}

/* --- composing long windows from stored base chunks ----------------------- */

static int base_resolved(const wtask *b)
{
    return b->state == W_PRESENT || b->state == W_REPAIR || b->state == W_DONE ||
           b->state == W_NODATA || b->state == W_KEPT || b->state == W_EMPTY;
}

/* What composing reads of a base window's stored chunk: the numbers as
 * an eng_part holds them, the names as strings. */
typedef struct part_view {
    eng_part n;
    const char *codec, *source;
} part_view;

/* The stored chunk of base window b, if it has one: 1 and *v filled. */
static int base_part(const rc_engine *en, const wtask *b, part_view *v)
{
    const rc_mentry *me = NULL;
    if (b->state == W_DONE && b->has_new)
        me = b->newe;
    else if ((b->state == W_PRESENT || b->state == W_REPAIR || b->state == W_KEPT) && b->has_old)
        me = b->old;
    if (me) {
        eng_part_set(&v->n, me);
        v->codec = me->codec;
        v->source = me->source;
        return 1;
    }
    if (b->state == W_PRESENT && b->part) {
        v->n = *b->part;
        v->codec = eng_name(en, b->part->codec);
        v->source = eng_name(en, b->part->source);
        return 1;
    }
    return 0;
}

/* One composed window, worked on a pool thread and stored on the engine's
 * thread (slot k % window of the pool). */
typedef struct cslot {
    size_t task;
    wstate state;                  /* W_WANT: store body; otherwise the window's outcome */
    char err[RC_ERR_MSG_MAX + 64]; /* the target's error to record, "" none */
    int err_weak;                  /* record err only when the target has none yet */
    char warn[1024];               /* log lines (unusable base chunks), '\n'-separated */
    eng_chunk ch;                  /* W_WANT */
    char src[RC_SOURCE_NAME_MAX];  /* the parts' source, "mixed", or "" */
} cslot;

typedef struct cworker {
    rc_codec *codec;
    rc_store *store; /* own handle (store handles are never shared), or the engine's */
    rc_window win;   /* reused from window to window (no allocation per window) */
    rc_buf body;     /* a base chunk as read */
} cworker;

typedef struct cjob {
    rc_engine *en;
    const size_t *items; /* task indices */
    cslot *slots;
    size_t window;
} cjob;

static void slot_warn(cslot *c, const char *key, const char *msg)
{
    char line[RC_KEY_MAX + RC_ERR_MSG_MAX + 32];
    int m = snprintf(line, sizeof line, "%sbase chunk %s unusable: %s", c->warn[0] ? "\n" : "", key,
                     msg);
    size_t l = strlen(c->warn);
    if (m > 0 && l + (size_t)m < sizeof c->warn) memcpy(c->warn + l, line, (size_t)m + 1);
}

/* Read, decode, compose, encode and hash one long window. Reads the engine
 * (task table, rates, options) and writes only its slot. */
static void compose_work(void *wctx, size_t k, void *ud)
{
    cjob *j = ud;
    cworker *w = wctx;
    rc_engine *en = j->en;
    cslot *c = &j->slots[k % j->window];
    const wtask *t = &en->tasks[j->items[k]];
    c->task = j->items[k];
    c->state = W_FAILED;
    c->err[0] = c->warn[0] = '\0';
    c->err_weak = 0;
    c->ch.steps = NULL;
    c->ch.nsteps = 0;
    rc_buf_reset(&c->ch.body);
    if (en->o.stop && *en->o.stop) {
        c->state = t->state; /* left as it was */
        return;
    }
    int64_t sp = rc_span_seconds(t->span), base_s = rc_span_seconds(en->base);
    size_t nparts = (size_t)(sp / base_s);
    double rate = en->ts[t->ti].rate;
    if (rate <= 0) {
        c->state = W_NODATA;
        return;
    }
    /* the parts are decoded straight into the window's slots */
    rc_window *win = &w->win;
    rc_err e;
    int rc =
        rc_window_compose_reuse(win, &eng_station(en, t->ti)->chan, rate, t->start, sp, base_s, &e);
    if (rc != RC_OK) {
        snprintf(c->err, sizeof c->err, "%s", e.msg);
        return;
    }
    int held = 0, failed = 0, prov = 0, any = 0;
    rc_window_stats stv;
    memset(&stv, 0, sizeof stv);
    int64_t part_slots = rc_slots(rate, base_s);
    /* Gap runs are counted once even when they cross a base boundary: each
     * stored chunk records how many filled slots it starts and ends with. */
    int prev_tail_gap = 0, head_open = 1;
    int64_t head = 0, tail = 0;
    /* the parts' source: theirs when they all agree, "mixed" otherwise */
    int src_seen = 0;
    c->src[0] = '\0';
    rc_buf *body = &w->body;
    for (size_t p = 0; p < nparts; p++) {
        const wtask *b = eng_task_find(en, t->ti, en->base, t->start + (int64_t)p * base_s);
        part_view pv;
        const part_view *me = b && base_part(en, b, &pv) ? &pv : NULL;
        /* A base window that failed, or is still waiting, leaves a hole that
         * is not known to be empty: the long chunk waits (or fails) too,
         * instead of filling the hole and calling it final. */
        if (b && !base_resolved(b)) {
            if (en->final)
                failed = 1;
            else
                held = 1;
        }
        if (me) {
            char key[RC_KEY_MAX];
            int64_t room;
            int32_t *dst = rc_window_compose_slots(win, (int64_t)p, &room);
            int ok = eng_chunk_key(en, t->ti, en->base, b->start, key, &e) == RC_OK &&
                     rc_store_get(w->store, key, body, NULL, &e) == RC_OK;
            /* the default codec goes straight into the window; another
             * (named by the entry), or a body that is not what the entry
             * says, through rc_codec_decode_named and its messages */
            int plain = (!me->codec[0] || !strcmp(me->codec, "int32-zstd")) &&
                        rc_codec_sniff(body->data, body->len) == RC_CODEC_INT32_ZSTD;
            if (ok && plain && room >= part_slots) {
                ok = rc_codec_decode_into(w->codec, body->data, body->len, dst, (size_t)part_slots,
                                          &e) == RC_OK;
            } else if (ok) {
                /* another codec, or a sub-window one slot short (rounding
                 * at a fractional rate): decode aside and keep what fits */
                int32_t *smp = NULL;
                size_t ns = 0;
                ok = rc_codec_decode_named(w->codec, me->codec, body->data, body->len,
                                           (size_t)part_slots, &smp, &ns, &e) == RC_OK;
                if (ok && (int64_t)ns != part_slots) {
                    ok = 0;
                    snprintf(e.msg, sizeof e.msg,
                             "chunk holds %zu samples where %lld were expected", ns,
                             (long long)part_slots);
                }
                if (ok && room > 0) memcpy(dst, smp, (size_t)room * sizeof *dst);
                free(smp);
            }
            if (ok) {
                rc_window_compose_mark(win, (int64_t)p, part_slots, me->n.offset_s);
                any = 1;
                if (!src_seen++)
                    snprintf(c->src, sizeof c->src, "%s", me->source);
                else if (strcmp(c->src, me->source) != 0)
                    snprintf(c->src, sizeof c->src, "mixed");
                stv.gap_count += me->n.gap_count - (prev_tail_gap && me->n.gap_head > 0 ? 1 : 0);
                stv.gap_samples_filled += me->n.gap_samples_filled;
                prov |= me->n.provisional;
                if (head_open) {
                    head += me->n.gap_head;
                    head_open = me->n.gap_head >= part_slots;
                }
                tail = me->n.gap_tail;
                prev_tail_gap = me->n.gap_tail > 0;
                continue;
            }
            /* a decode that failed half way leaves no trace in the window */
            if (dst && room > 0) memset(dst, 0, (size_t)room * sizeof *dst);
            slot_warn(c, key, e.msg);
            /* listed and indexed, yet unreadable: not a hole to fill */
            if (en->final)
                failed = 1;
            else
                held = 1;
        }
        /* no chunk for this base window: filled from its neighbours */
        stv.gap_samples_filled += part_slots;
        if (!prev_tail_gap) stv.gap_count++;
        if (head_open) head += part_slots;
        tail = prev_tail_gap ? tail + part_slots : part_slots;
        prev_tail_gap = 1;
    }
    if (body->cap > ((size_t)1 << 20)) rc_buf_free(body);
    if (failed) {
        char ts[RC_TIME_STR_MAX];
        rc_time_iso(t->start, ts);
        snprintf(c->err, sizeof c->err,
                 "the %s chunk at %s was not built: a base window in it failed",
                 rc_span_name(t->span), ts);
        c->err_weak = 1;
        return;
    }
    if (held) {
        c->state = W_HELD;
        return;
    }
    if (!any) {
        c->state = W_NODATA;
        return;
    }
    rc = rc_window_compose_end(win, &e);
    if (rc != RC_OK) {
        /* compose_end freed the window (the next one allocates anew) */
        if (rc == RC_ENODATA)
            c->state = W_NODATA;
        else
            snprintf(c->err, sizeof c->err, "%s", e.msg);
        return;
    }
    rc_window_stats full;
    rc_window_stats_range(win, 0, win->nslots, &full);
    stv.min = full.min;
    stv.max = full.max;
    stv.samples = win->nslots;
    stv.present = win->nslots - stv.gap_samples_filled;
    stv.gap_duration_seconds = (double)stv.gap_samples_filled / rate;
    stv.completeness = win->nslots ? (double)stv.present / (double)win->nslots : 0;
    if (stv.completeness < en->o.cfg->completeness_threshold) prov = 1;
    wstate g = eng_emit_gate(en, t, &stv, prov);
    if (g != W_WANT) {
        c->state = g;
    } else if (eng_window_phase(win, 0, win->nsub, &c->ch.off, &c->ch.steps, &c->ch.nsteps) !=
               RC_OK) {
        snprintf(c->err, sizeof c->err, "out of memory describing a chunk's clock phase");
    } else if (rc_codec_encode_id(w->codec, en->o.cfg->codec, win->samples, (size_t)win->nslots,
                                  &c->ch.body, &e) != RC_OK) {
        snprintf(c->err, sizeof c->err, "%s", e.msg);
    } else {
        rc_store_body_hash(en->o.store, c->ch.body.data, c->ch.body.len, &c->ch.hash);
        c->state = W_WANT;
        c->ch.stv = stv;
        c->ch.prov = prov;
        c->ch.head = head;
        c->ch.tail = tail;
    }
}

/* On the engine's thread, in task order: log, record and store slot k. */
static void compose_commit(size_t k, void *ud)
{
    cjob *j = ud;
    rc_engine *en = j->en;
    cslot *c = &j->slots[k % j->window];
    wtask *t = &en->tasks[c->task];
    for (char *line = c->warn; *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        rc_log_warn(en->o.log, "compose", "%s", line);
        if (!nl) break;
        line = nl + 1;
    }
    if (c->state == W_WANT) {
        /* committed in order on the engine's thread: the emit source is set
         * for this chunk alone */
        en->emit_source = c->src[0] ? c->src : NULL;
        en->emit_source_index = -1;
        eng_emit_body(en, t, &c->ch);
        en->emit_source = NULL;
    } else {
        t->state = c->state;
        if (c->err[0] && (!c->err_weak || !en->ts[t->ti].res.error[0]))
            eng_target_error(en, t->ti, c->err);
    }
    free(c->ch.steps);
    c->ch.steps = NULL;
    c->ch.nsteps = 0;
    /* the slot keeps its buffer for its next window (bounded by the pool's
     * window, not by the number of windows) */
}

void eng_compose_pending(rc_engine *en)
{
    size_t n = 0;
    for (size_t i = 0; i < en->ntasks; i++) {
        const wtask *t = &en->tasks[i];
        if (t->span != en->base && eng_window_wanted(t)) n++;
    }
    if (n == 0) return;
    size_t *items = malloc(n * sizeof *items);
    int nw = en->workers < 1 ? 1 : en->workers;
    if ((size_t)nw > n) nw = (int)n;
    /* at most one window per worker between its read and its store: memory
     * is bounded by the worker count (each: one composed window, its
     * compressed body, one zstd context) */
    size_t window = nw > 1 ? (size_t)nw + 1 : 1;
    cslot *slots = calloc(window, sizeof *slots);
    cworker *wk = calloc((size_t)nw, sizeof *wk);
    void **wctx = calloc((size_t)nw, sizeof *wctx);
    if (!items || !slots || !wk || !wctx) {
        free(items);
        free(slots);
        free(wk);
        free(wctx);
        for (size_t i = 0; i < en->ntasks; i++) {
            wtask *t = &en->tasks[i];
            if (t->span == en->base || !eng_window_wanted(t)) continue;
            t->state = W_FAILED;
            eng_target_error(en, t->ti, "out of memory composing long chunks");
        }
        return;
    }
    n = 0;
    for (size_t i = 0; i < en->ntasks; i++) {
        const wtask *t = &en->tasks[i];
        if (t->span != en->base && eng_window_wanted(t)) items[n++] = i;
    }
    /* Worker 0 uses the engine's codec and, alone, the engine's store;
     * every other worker the engine's worker codec w and a store handle of
     * its own (like rc_store_par_run). A worker that cannot be set up is
     * not used. */
    int ready = 1;
    wk[0].codec = en->codec;
    wk[0].store = en->o.store;
    wctx[0] = &wk[0];
    rc_err e;
    for (int w = 1; w < nw; w++) {
        /* the engine's worker codecs (the engine's thread only stores
         * while the pool runs); a store handle of its own each */
        if (!(wk[w].codec = eng_worker_codec(en, w))) break;
        if (rc_store_open(rc_store_describe(en->o.store), rc_store_options(en->o.store),
                          &wk[w].store, &e) != RC_OK) {
            wk[w].codec = NULL;
            break;
        }
        wctx[w] = &wk[w];
        ready++;
    }
    if (ready > 1) {
        /* with threads, worker 0 gets its own store handle too: the
         * engine's is busy with the uploads on the engine's thread */
        rc_store *own = NULL;
        if (rc_store_open(rc_store_describe(en->o.store), rc_store_options(en->o.store), &own,
                          &e) == RC_OK) {
            wk[0].store = own;
        } else {
            /* the others have their own; worker 0 steps aside */
            wctx[0] = wctx[ready - 1];
            wk[0] = wk[ready - 1];
            memset(&wk[ready - 1], 0, sizeof wk[ready - 1]);
            wctx[0] = &wk[0];
            ready--;
        }
    }
    cjob job = {en, items, slots, window};
    rc_pool_run(ready, window, n, wctx, compose_work, compose_commit, &job);
    for (int w = 0; w < nw; w++) {
        if (wk[w].store && wk[w].store != en->o.store) rc_store_close(wk[w].store);
        rc_window_free(&wk[w].win);
        rc_buf_free(&wk[w].body);
    }
    for (size_t k = 0; k < window; k++) {
        rc_buf_free(&slots[k].ch.body);
        free(slots[k].ch.steps);
    }
    free(items);
    free(slots);
    free(wk);
    free(wctx);
}
