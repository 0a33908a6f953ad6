/*
 * engine_plan.c: planning, from declared windows to the requests of a pass.
 *
 * Owns: the per channel-day reads (one listing of the day's keys, one
 * manifest read) and the decision they feed for every window: PRESENT
 * (entry and blob), REPAIR (blob without entry: the entry is rebuilt from
 * the blob's metadata and queued, nothing refetched), WANT (missing, lost
 * blob, --force, --upgrade of a settled provisional chunk) or NOTDUE; a
 * wanted long window pulls in its base windows; blobs no entry names are
 * indexed. Then eng_build_requests coalesces the wanted base windows of a
 * channel into lines of up to a day and packs lines into bulk requests by
 * estimated size.
 *
 * Preconditions: eng_plan runs once per engine (en->planned), on the
 * engine's thread, before any fetch; it reads the store only (repairs are
 * written by the next eng_flush_manifests). Its reads run on worker threads
 * through rc_store_par_run: plan_io/plan_io_day read the engine (ts[].rate
 * is not written while workers run) and write only their dayio slot;
 * plan_apply then applies the slots in (channel, day) order on the engine's
 * thread. eng_build_requests runs on the engine's thread at the start of
 * every pass (and for the plan reports), after eng_plan.
 */
#include "engine_int.h"
#include "r2cache/naming.h"
#include "r2cache/timewin.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- plan ---------------------------------------------------------------- */

typedef struct listed {
    rc_span span;
    int64_t start;
    int64_t size;
} listed;

typedef struct list_ctx {
    const rc_engine *en;
    size_t ti;
    listed *v;
    size_t n, cap;
    int has_manifest;
    char manifest_key[RC_KEY_MAX];
    double rate_seen;
    int stop_at_first;
} list_ctx;

static int list_cb(void *ud, const rc_obj_info *obj)
{
    list_ctx *lc = ud;
    rc_key_info ki;
    rc_err e;
    if (rc_key_parse(lc->en->o.cfg->layout, obj->key, &ki, &e) != RC_OK)
        return 0; /* not ours (verify reports such keys) */
    const rc_chan *want = &eng_station(lc->en, lc->ti)->chan;
    if (ki.kind == RC_KEY_MANIFEST) {
        if (!rc_chan_equal(&ki.manifest.chan, want)) return 0;
        if (ki.manifest.rate > 0) lc->rate_seen = ki.manifest.rate;
        lc->has_manifest = 1;
        snprintf(lc->manifest_key, sizeof lc->manifest_key, "%s", obj->key);
        return lc->stop_at_first;
    }
    if (!rc_chan_equal(&ki.chunk.chan, want)) return 0;
    if (ki.chunk.rate > 0) lc->rate_seen = ki.chunk.rate;
    if (lc->stop_at_first) return 1;
    if (lc->n == lc->cap) {
        size_t nc = lc->cap ? lc->cap * 2 : 64;
        listed *nv = realloc(lc->v, nc * sizeof *nv);
        if (!nv) return 1;
        lc->v = nv;
        lc->cap = nc;
    }
    lc->v[lc->n++] = (listed){ki.chunk.span, ki.chunk.start, obj->size};
    return 0;
}

/* Seed keys carry the rate: when the configuration does not give it, learn
 * it from what is already stored for the channel-day (one short listing).
 * *rate is left as it is when nothing tells. */
static int learn_rate(rc_store *store, const rc_engine *en, size_t ti, int64_t day, double *rate,
                      rc_err *e)
{
    if (*rate > 0 || en->o.cfg->layout == RC_LAYOUT_VIEWER) return RC_OK;
    char prefix[RC_KEY_MAX];
    int rc = rc_key_prefix_channel_day(en->o.cfg->layout, &eng_station(en, ti)->chan,
                                       en->targets[ti].volc->name, day, prefix, sizeof prefix, e);
    if (rc) return rc;
    list_ctx lc = {.en = en, .ti = ti, .stop_at_first = 1};
    rc = rc_store_list(store, prefix, list_cb, &lc, e);
    free(lc.v);
    if (rc) return rc;
    if (lc.rate_seen > 0) *rate = lc.rate_seen;
    return RC_OK;
}

static int listed_has(const list_ctx *lc, rc_span s, int64_t start)
{
    for (size_t i = 0; i < lc->n; i++)
        if (lc->v[i].span == s && lc->v[i].start == start) return 1;
    return 0;
}

/* A blob without a manifest entry: rebuild the entry from the blob's own
 * metadata (written with it), so a run killed between blob and manifest
 * never refetches. */
static int repair_entry(rc_engine *en, wtask *t, rc_err *e)
{
    char key[RC_KEY_MAX];
    int rc = eng_chunk_key(en, t->ti, t->span, t->start, key, e);
    if (rc) return rc;
    rc_mentry me;
    rc = rc_mentry_from_blob(en->o.store, key, t->span, t->start, 0, &me, NULL, e);
    if (rc) return rc;
    rc_mentry *keep = malloc(sizeof *keep);
    if (!keep) {
        rc_mentry_free(&me);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    *keep = me;
    eng_task_drop_old(t);
    t->old = keep;
    t->has_old = 1;
    return RC_OK;
}

static int64_t iso_to_time(const char *iso)
{
    int64_t t = 0;
    rc_err e;
    if (!iso || !*iso || rc_time_parse(iso, 0, &t, &e) != RC_OK) {
        /* written_at carries microseconds; parse the seconds part */
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%.19sZ", iso ? iso : "");
        if (rc_time_parse(tmp, 0, &t, &e) != RC_OK) return 0;
    }
    return t;
}

/* The manifest's source-empty record of t's window, when it covers every
 * base window of it: sets t->has_empty and the empty_* figures (latest
 * check, fewest checks, earliest recheck). Returns 1 when the window is
 * skipped: no recheck due at `now`, and neither --recheck nor a --force
 * that names it. */
static int empty_skip(const rc_engine *en, wtask *t, const rc_manifest *m)
{
    if (!m || !m->nempty) return 0;
    const rc_config *c = en->o.cfg;
    int64_t base_s = rc_span_seconds(en->base), sp = rc_span_seconds(t->span);
    int64_t last = 0, next = INT64_MAX;
    int checks = INT_MAX;
    for (int64_t b = t->start; b < t->start + sp; b += base_s) {
        const rc_srcempty *r = rc_manifest_empty_at(m, b);
        if (!r || r->end < b + base_s) return 0;
        if (r->last_checked > last) last = r->last_checked;
        if (r->checks < checks) checks = r->checks;
        int64_t nx = rc_recheck_next(c->recheck_ages, c->nrecheck, b + base_s, r->last_checked);
        if (nx < next) next = nx;
    }
    t->has_empty = 1;
    t->empty_last = last;
    t->empty_checks = checks;
    t->empty_next = next;
    return !en->o.recheck && !(en->o.force && t->declared) && en->o.now < next;
}

/* Decide the state of one task from the day's listing and manifest. */
static void resolve_state(rc_engine *en, wtask *t, const list_ctx *lc, const rc_manifest *m);

static void resolve(rc_engine *en, wtask *t, const list_ctx *lc, const rc_manifest *m)
{
    resolve_state(en, t, lc, m);
    if (t->notdue && t->state == W_WANT) t->state = W_NOTDUE;
}

static void resolve_state(rc_engine *en, wtask *t, const list_ctx *lc, const rc_manifest *m)
{
    const rc_mentry *me = m ? rc_manifest_find(m, t->span, t->start) : NULL;
    t->listed = listed_has(lc, t->span, t->start);
    if (me && eng_task_keep_old(t, me) != RC_OK) {
        t->state = W_FAILED;
        eng_target_error(en, t->ti, "out of memory planning a window");
        return;
    }
    if (me) {
        if (en->o.force && t->declared) {
            t->state = W_WANT;
        } else if (en->o.upgrade && t->declared && me->provisional &&
                   iso_to_time(me->written_at) <= en->o.now - en->o.upgrade_settle_s) {
            t->state = W_WANT;
            t->upgrade = 1;
        } else if (!t->listed) {
            /* A manifest exists, so the day was listed: the entry names a
             * blob that is gone. The entry alone would hide the hole. */
            t->state = W_WANT;
            t->blob_lost = 1;
        } else {
            t->state = W_PRESENT;
            eng_task_compact(en, t);
        }
        return;
    }
    if (t->listed && !(en->o.force && t->declared)) {
        rc_err e;
        if (repair_entry(en, t, &e) == RC_OK) {
            t->state = W_REPAIR;
            eng_add_op(en, t->ti, (size_t)(t - en->tasks), t->span, t->old, RC_UPSERT_IF_ABSENT);
            return;
        }
        rc_log_warn(en->o.log, "repair", "%s; the chunk will be fetched again", e.msg);
    }
    t->state = !t->listed && empty_skip(en, t, m) ? W_EMPTY : W_WANT;
}

static int task_order(const wtask *x, const wtask *y)
{
    if (x->ti != y->ti) return x->ti < y->ti ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (int)x->span - (int)y->span;
}

static int cmp_task_idx(const void *a, const void *b, void *ctx)
{
    const wtask *tasks = ctx;
    return task_order(&tasks[*(const size_t *)a], &tasks[*(const size_t *)b]);
}

/* What the store says about one channel-day, read by a worker (plan_io) and
 * applied by the engine's thread (plan_apply). */
typedef struct dayio {
    size_t ti;
    int64_t day;
    size_t at, n;     /* the day's tasks: idx[at .. at + n) */
    double rate_used; /* rate the listing prefix was built with (seed layout) */
    double rate;      /* rate known after the reads (0: none) */
    list_ctx lc;
    rc_manifest m;
    int have_m;
    int fail; /* 0, DAY_STORE_FAIL or DAY_FAIL */
    rc_err e;
} dayio;

enum { DAY_STORE_FAIL = 1, DAY_FAIL = 2 };

typedef struct plan_ctx {
    const rc_engine *en;
    dayio *d;
} plan_ctx;

/* Worker: the listing of the channel-day and its manifest. Reads the engine
 * (en->ts[].rate is not written while workers run); writes only *d. */
static void plan_io_day(rc_store *store, const rc_engine *en, dayio *d)
{
    rc_err_clear(&d->e);
    d->lc = (list_ctx){.en = en, .ti = d->ti};
    d->have_m = 0;
    d->fail = 0;
    double rate = en->ts[d->ti].rate;
    if (learn_rate(store, en, d->ti, d->day, &rate, &d->e) != RC_OK) {
        d->fail = DAY_STORE_FAIL;
        return;
    }
    d->rate_used = rate;
    d->rate = rate;
    if (rate > 0 || en->o.cfg->layout == RC_LAYOUT_VIEWER) {
        char prefix[RC_KEY_MAX];
        if (eng_day_prefix(en, d->ti, d->day, rate, prefix, &d->e) != RC_OK ||
            rc_store_list(store, prefix, list_cb, &d->lc, &d->e) != RC_OK) {
            d->fail = DAY_STORE_FAIL;
            return;
        }
        if (d->lc.rate_seen > 0 && rate <= 0) rate = d->lc.rate_seen;
        if (d->lc.has_manifest) {
            int rc =
                rc_manifest_load(store, en->o.cfg->layout, d->lc.manifest_key, &d->m, NULL, &d->e);
            if (rc == RC_OK) {
                d->have_m = 1;
            } else if (rc == RC_EFORMAT) {
                rc_err_wrap(&d->e,
                            "manifest %s is unreadable (run `r2cache reindex` to rebuild it)",
                            d->lc.manifest_key);
                d->fail = DAY_FAIL;
            } else if (rc != RC_ENOTFOUND) {
                d->fail = DAY_STORE_FAIL;
            }
        }
    }
    d->rate = rate;
}

static void plan_io(rc_store *store, size_t k, void *ud)
{
    plan_ctx *c = ud;
    plan_io_day(store, c->en, &c->d[k]);
}

static void dayio_free(dayio *d)
{
    free(d->lc.v);
    d->lc.v = NULL;
    if (d->have_m) rc_manifest_free(&d->m);
    d->have_m = 0;
}

/* The engine's thread: decide every task of the channel-day from what
 * plan_io read. */
static int plan_apply(rc_engine *en, dayio *d, const size_t *idx)
{
    size_t ti = d->ti, n = d->n;
    /* A seed listing built with another rate than the one now known for the
     * channel (learnt from an earlier day of this batch) is read again, as a
     * day-by-day plan would have. */
    if (en->o.cfg->layout != RC_LAYOUT_VIEWER && en->ts[ti].rate > 0 &&
        d->rate_used != en->ts[ti].rate) {
        dayio_free(d);
        plan_io_day(en->o.store, en, d);
    }
    if (d->rate > 0 && en->ts[ti].rate <= 0) en->ts[ti].rate = d->rate;
    if (d->fail == DAY_STORE_FAIL) goto store_fail;
    if (d->fail == DAY_FAIL) goto day_fail;
    const list_ctx *lc = &d->lc;
    const rc_manifest *m = d->have_m ? &d->m : NULL;
    for (size_t k = 0; k < n; k++)
        resolve(en, &en->tasks[idx[k]], lc, m);
    /* A wanted long window needs its base windows: present ones are reused,
     * missing ones are fetched with it. */
    size_t base_s = (size_t)rc_span_seconds(en->base);
    for (size_t k = 0; k < n; k++) {
        wtask *t = &en->tasks[idx[k]];
        if (t->span == en->base || t->state != W_WANT) continue;
        int64_t span_s = rc_span_seconds(t->span);
        for (int64_t s = t->start; s < t->start + span_s; s += (int64_t)base_s) {
            wtask *b = eng_task_find(en, ti, en->base, s);
            if (b) continue;
            b = eng_task_add(en, ti, en->base, s, 0);
            if (!b) break;
            t = &en->tasks[idx[k]]; /* tasks may have moved */
            resolve(en, b, lc, m);
        }
    }
    /* Blobs that no manifest entry names (a run killed between its blobs and
     * its manifest, whatever windows it was doing): index them from their
     * own metadata now, so nothing stored stays invisible until a reindex. */
    for (size_t k = 0; k < lc->n; k++) {
        if (m && rc_manifest_find(m, lc->v[k].span, lc->v[k].start)) continue;
        if (eng_task_find(en, ti, lc->v[k].span, lc->v[k].start)) continue;
        wtask *o = eng_task_add(en, ti, lc->v[k].span, lc->v[k].start, 0);
        if (!o) break;
        resolve(en, o, lc, m);
        if (o->state != W_REPAIR)
            o->state = W_PRESENT; /* unreadable metadata: left for verify to report */
    }
    return RC_OK;

store_fail:
    if (d->e.code == RC_EAUTH || d->e.code == RC_EUNUSABLE) {
        en->fatal = d->e;
        return d->e.code;
    }
day_fail:
    for (size_t k = 0; k < n; k++)
        en->tasks[idx[k]].state = W_FAILED;
    eng_target_error(en, ti, d->e.msg);
    rc_log_error(en->o.log, "plan", "%s", d->e.msg);
    return RC_OK;
}

typedef struct task_order_ctx {
    const wtask *tasks;
    const size_t *idx;
} task_order_ctx;

/* eng_chday_fn over the tasks in idx order */
static eng_chday task_chday(const void *ctx, size_t k)
{
    const task_order_ctx *c = ctx;
    const wtask *t = &c->tasks[c->idx[k]];
    return (eng_chday){t->ti, rc_day_start(t->start)};
}

/* Plan every declared window: per channel-day one listing and one manifest
 * read, done in parallel batches (a store handle per worker), then applied
 * in (channel, day) order. */
int eng_plan(rc_engine *en, rc_err *e)
{
    size_t n = en->ntasks;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    dayio *d = malloc(ENGINE_BATCH * sizeof *d);
    if (!idx || !d) {
        free(idx);
        free(d);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, n, sizeof *idx, cmp_task_idx, en->tasks);
    int rc = RC_OK;
    size_t i = 0;
    while (i < n && rc == RC_OK) {
        size_t at[ENGINE_BATCH + 1];
        task_order_ctx tc = {en->tasks, idx};
        size_t nd = eng_day_runs(&i, n, task_chday, &tc, at);
        for (size_t k = 0; k < nd; k++) {
            eng_chday cd = task_chday(&tc, at[k]);
            memset(&d[k], 0, sizeof d[k]);
            d[k].ti = cd.ti;
            d[k].day = cd.day;
            d[k].at = at[k];
            d[k].n = at[k + 1] - at[k];
        }
        plan_ctx c = {en, d};
        rc_store_par_run(en->o.store, rc_store_options(en->o.store)->max_connections, nd, plan_io,
                         &c);
        for (size_t k = 0; k < nd; k++) {
            if (rc == RC_OK) rc = plan_apply(en, &d[k], idx + d[k].at);
            dayio_free(&d[k]);
        }
        if (en->o.stop && *en->o.stop) break;
    }
    free(idx);
    free(d);
    if (rc) {
        *e = en->fatal;
        return rc;
    }
    en->planned = 1;
    return RC_OK;
}

/* --- building requests --------------------------------------------------- */

/* The per-pass request arrays (also freed by rc_engine_free). */
void eng_free_pass(rc_engine *en)
{
    free(en->lines);
    free(en->flines);
    free(en->reqs);
    free(en->req_first);
    en->lines = NULL;
    en->flines = NULL;
    en->reqs = NULL;
    en->req_first = NULL;
    en->nlines = en->nreqs = 0;
}

/* Seconds asked for before a line's first window: at least a second, and
 * at least two sample periods for slow channels. */
static int64_t fetch_margin_s(double rate)
{
    int64_t m = rate > 0 ? (int64_t)ceil(2.0 / rate) : 1;
    return m < 1 ? 1 : m;
}

int eng_build_requests(rc_engine *en, rc_err *e)
{
    eng_free_pass(en);
    size_t n = 0;
    for (size_t i = 0; i < en->ntasks; i++)
        if (en->tasks[i].span == en->base && eng_window_wanted(&en->tasks[i])) n++;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    en->lines = malloc((n ? n : 1) * sizeof *en->lines);
    if (!idx || !en->lines) {
        free(idx);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    n = 0;
    for (size_t i = 0; i < en->ntasks; i++)
        if (en->tasks[i].span == en->base && eng_window_wanted(&en->tasks[i])) idx[n++] = i;
    qsort_r(idx, n, sizeof *idx, cmp_task_idx, en->tasks);
    int64_t base_s = rc_span_seconds(en->base);
    for (size_t k = 0; k < n; k++) {
        const wtask *t = &en->tasks[idx[k]];
        line *last = en->nlines ? &en->lines[en->nlines - 1] : NULL;
        if (last && last->ti == t->ti && last->end == t->start &&
            rc_day_start(last->start) == rc_day_start(t->start) &&
            t->start + base_s - last->start <= en->o.max_request_seconds) {
            last->end = t->start + base_s;
        } else {
            en->lines[en->nlines++] = (line){t->ti, t->start, t->start + base_s};
        }
    }
    free(idx);
    en->flines = malloc((en->nlines ? en->nlines : 1) * sizeof *en->flines);
    en->reqs = malloc((en->nlines ? en->nlines : 1) * sizeof *en->reqs);
    en->req_first = malloc((en->nlines ? en->nlines : 1) * sizeof *en->req_first);
    if (!en->flines || !en->reqs || !en->req_first)
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    /* Pack lines into bulk requests by estimated size (Steim-compressed
     * counts average well under 1.5 bytes a sample). */
    double budget = (double)en->o.max_request_bytes, used = 0;
    for (size_t k = 0; k < en->nlines; k++) {
        const line *l = &en->lines[k];
        double rate = en->ts[l->ti].rate > 0 ? en->ts[l->ti].rate : 100;
        en->flines[k].chan = eng_station(en, l->ti)->chan;
        /* Ask from a little before the first window: a sample stamped a hair
         * before the grid belongs to it (shape.h), and a data centre returns
         * the record holding it only if the request reaches it. Every path
         * then shapes a window from the same records. */
        en->flines[k].start = l->start - fetch_margin_s(rate);
        en->flines[k].end = l->end;
        double est = rate * (double)(l->end - l->start) * 1.5 + 512;
        if (en->nreqs == 0 || used + est > budget) {
            en->req_first[en->nreqs] = k;
            en->reqs[en->nreqs].lines = &en->flines[k];
            en->reqs[en->nreqs].n = 0;
            en->nreqs++;
            used = 0;
        }
        en->reqs[en->nreqs - 1].n++;
        used += est;
    }
    return RC_OK;
}
