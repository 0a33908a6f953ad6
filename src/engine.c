/*
 * engine.c: from "these windows should be cached" to chunks and manifests;
 * the driver and public API of include/r2cache/engine.h.
 *
 * Design, in the order a pass runs:
 *  1. Plan (once, engine_plan.c): per channel-day, one listing of the day's
 *     keys and one manifest read decide each window's state: PRESENT (entry
 *     exists), REPAIR (blob exists, entry lost: the entry is rebuilt from
 *     the blob's metadata instead of refetching), or WANT. A wanted long
 *     window (1 h, 6 h, 24 h) pulls in its base windows, so missing base
 *     data is fetched with it and present base chunks can be reused.
 *  2. Fetch (engine_plan.c builds the requests, engine_fetch.c handles the
 *     answers): wanted base windows of a channel are coalesced into line
 *     spans of up to a day; lines of many channels are packed into bulk
 *     requests by estimated size; the source runs them concurrently
 *     (bounded).
 *  3. Shape (engine_fetch.c): each answer is cut into blocks of the longest
 *     span; every wanted window inside a block (of any span) is a slice of
 *     the same shaped array, so a long chunk holds exactly its base chunks'
 *     samples.
 *  4. Store (engine_fetch.c): blobs are queued (async on S3), and only once
 *     they are stored do their entries go into the manifest update of their
 *     channel-day, one conditional read-modify-write per channel-day and
 *     batch.
 *  5. Compose (engine_compose.c): wanted long windows whose base chunks
 *     came from different places are built from the stored base chunks.
 * Memory stays bounded by one request's miniSEED plus one block.
 *
 * Owns: the engine's life (create, declare windows, free), the pass loop
 * above and its stops (signal, unusable store or source), the statistics
 * and per-target results, the plan reports, and what every stage shares:
 * the task table (open addressing over (target, span, start)), object keys
 * and per-target errors.
 *
 * Preconditions: an engine is used by one thread at a time (the caller's);
 * the stages it calls run on that thread, except the store workers named
 * in engine_int.h. opts, targets and the store and source they name outlive
 * the engine.
 */
#include "engine_int.h"
#include "r2cache/naming.h"
#include "r2cache/timewin.h"
#include "r2cache/retry.h"
#include "pool.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
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
    uint32_t *nh = calloc(ncap, sizeof *nh);
    if (!nh) return RC_ENOMEM;
    for (size_t i = 0; i < en->ntasks; i++) {
        const wtask *t = &en->tasks[i];
        size_t h = task_hash(t->ti, t->span, t->start) & (ncap - 1);
        while (nh[h])
            h = (h + 1) & (ncap - 1);
        nh[h] = (uint32_t)(i + 1);
    }
    free(en->hash);
    en->hash = nh;
    en->hcap = ncap;
    return RC_OK;
}

wtask *eng_task_find(const rc_engine *en, size_t ti, rc_span s, int64_t start)
{
    if (!en->hcap) return NULL;
    size_t h = task_hash(ti, s, start) & (en->hcap - 1);
    while (en->hash[h]) {
        wtask *t = &en->tasks[en->hash[h] - 1];
        if (t->ti == ti && t->span == s && t->start == start) return t;
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
    if (en->ntasks >= UINT32_MAX - 1) return NULL; /* the hash holds 32-bit indices */
    if ((en->ntasks + 1) * 2 > en->hcap && hash_grow(en)) return NULL;
    if (en->ntasks == en->captasks) {
        size_t nc = en->captasks ? en->captasks * 2 : 256;
        wtask *nt = realloc(en->tasks, nc * sizeof *nt);
        if (!nt) return NULL;
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
    en->hash[h] = (uint32_t)++en->ntasks;
    return t;
}

void eng_target_error(rc_engine *en, size_t ti, const char *msg)
{
    /* keep the start of the message: it names the key or channel */
    size_t n = strlen(msg), cap = sizeof en->ts[ti].res.error;
    if (n >= cap) n = cap - 1;
    memcpy(en->ts[ti].res.error, msg, n);
    en->ts[ti].res.error[n] = '\0';
}

/* ---------------------------------------------------------------------- */

int rc_engine_new(const rc_engine_opts *o, const rc_target *targets, size_t ntargets,
                  rc_engine **out, rc_err *e)
{
    rc_engine *en = calloc(1, sizeof *en);
    if (!en) return rc_err_set(e, RC_ENOMEM, "out of memory");
    en->o = *o;
    if (!en->o.max_request_seconds) en->o.max_request_seconds = 86400;
    if (!en->o.max_request_bytes) en->o.max_request_bytes = 4u << 20;
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
        if (o->cfg->spans[s]) en->longest = (rc_span)s;
    int rc = rc_codec_new(o->cfg->zstd_level, &en->codec, e);
    en->workers = o->cfg->workers > 0 ? o->cfg->workers : rc_pool_default_workers(8);
    if (rc) {
        free(en->ts);
        free(en);
        return rc;
    }
    en->t0 = rc_retry_monotonic_s();
    *out = en;
    return RC_OK;
}

int eng_task_keep_old(wtask *t, const rc_mentry *me)
{
    rc_mentry *c = malloc(sizeof *c);
    if (!c || rc_mentry_copy(c, me) != RC_OK) {
        free(c);
        return RC_ENOMEM;
    }
    if (!t->declared) {
        cJSON_Delete(c->history);
        cJSON_Delete(c->extra);
        c->history = c->extra = NULL;
    }
    eng_task_drop_old(t);
    t->old = c;
    t->has_old = 1;
    return RC_OK;
}

/* Free a task's held entry and clear its flag. */
static void drop_entry(rc_mentry **me, unsigned char *has)
{
    if (*me) {
        rc_mentry_free(*me);
        free(*me);
    }
    *me = NULL;
    *has = 0;
}

void eng_task_drop_old(wtask *t)
{
    drop_entry(&t->old, &t->has_old);
    t->part = NULL; /* its slot is the engine's */
}

/* A slot for an eng_part from the engine's blocks; NULL when out of memory. */
static eng_part *part_slot(rc_engine *en)
{
    if (!en->nblocks || en->block_used == ENGINE_PART_BLOCK) {
        if (en->nblocks == en->capblocks) {
            size_t cap = en->capblocks ? en->capblocks * 2 : 16;
            void *p = realloc(en->part_blocks, cap * sizeof *en->part_blocks);
            if (!p) return NULL;
            en->part_blocks = p;
            en->capblocks = cap;
        }
        eng_part *b = malloc(ENGINE_PART_BLOCK * sizeof *b);
        if (!b) return NULL;
        en->part_blocks[en->nblocks++] = b;
        en->block_used = 0;
    }
    return &en->part_blocks[en->nblocks - 1][en->block_used++];
}

/* The index of name in the engine's table, added if new; -1 when out of
 * memory or the table is full. */
static int intern_name(rc_engine *en, const char *name)
{
    for (size_t i = 0; i < en->nnames; i++)
        if (strcmp(en->names[i], name) == 0) return (int)i;
    if (en->nnames > UINT16_MAX || strlen(name) >= RC_SOURCE_NAME_MAX) return -1;
    if (en->nnames == en->capnames) {
        size_t cap = en->capnames ? en->capnames * 2 : 4;
        void *p = realloc(en->names, cap * sizeof *en->names);
        if (!p) return -1;
        en->names = p;
        en->capnames = cap;
    }
    snprintf(en->names[en->nnames], sizeof en->names[0], "%s", name);
    return (int)en->nnames++;
}

void eng_part_set(eng_part *p, const rc_mentry *me)
{
    p->offset_s = me->offset_s;
    p->gap_head = me->gap_head;
    p->gap_tail = me->gap_tail;
    p->gap_samples_filled = me->gap_samples_filled;
    p->gap_count = me->gap_count;
    p->provisional = me->provisional;
    p->codec = p->source = 0;
}

void eng_task_compact(rc_engine *en, wtask *t)
{
    if (t->declared || t->state != W_PRESENT || !t->has_old || t->part) return;
    const rc_mentry *me = t->old;
    int codec = intern_name(en, me->codec), source = intern_name(en, me->source);
    eng_part *p = codec >= 0 && source >= 0 ? part_slot(en) : NULL;
    if (!p) return;
    eng_part_set(p, me);
    p->codec = (uint16_t)codec;
    p->source = (uint16_t)source;
    drop_entry(&t->old, &t->has_old);
    t->part = p;
}

void eng_task_drop_new(wtask *t)
{
    drop_entry(&t->newe, &t->has_new);
}

void rc_engine_free(rc_engine *en)
{
    if (!en) return;
    for (size_t i = 0; i < en->ntasks; i++) {
        eng_task_drop_old(&en->tasks[i]);
        eng_task_drop_new(&en->tasks[i]);
    }
    for (size_t i = 0; i < en->nops; i++)
        rc_mentry_free(&en->ops[i].entry);
    free(en->ops);
    free(en->tasks);
    free(en->hash);
    free(en->ts);
    free(en->plan_lines);
    free(en->names);
    for (size_t i = 0; i < en->nblocks; i++)
        free(en->part_blocks[i]);
    free(en->part_blocks);
    eng_free_pass(en);
    rc_codec_free(en->codec);
    for (int w = 0; w < ENGINE_MAX_WORKERS; w++)
        rc_codec_free(en->wcodec[w]);
    free(en);
}

int rc_engine_add(rc_engine *en, size_t target, rc_span span, int64_t start, rc_err *e)
{
    if (target >= en->ntargets)
        return rc_err_set(e, RC_EINVAL, "internal: target %zu out of range", target);
    if (rc_floor(start, rc_span_seconds(span)) != start)
        return rc_err_set(e, RC_EINVAL, "internal: window start not aligned to %s",
                          rc_span_name(span));
    if (!eng_task_add(en, target, span, start, 1)) return rc_err_set(e, RC_ENOMEM, "out of memory");
    return RC_OK;
}

int rc_engine_add_range(rc_engine *en, int64_t from, int64_t to, rc_err *e)
{
    enum { BATCH = 1024 };
    int64_t starts[BATCH];
    int rc = RC_OK;
    for (size_t i = 0; i < en->ntargets && rc == RC_OK; i++)
        for (int s = 0; s < RC_SPAN_COUNT && rc == RC_OK; s++) {
            if (!en->o.cfg->spans[s]) continue;
            int64_t sp = rc_span_seconds((rc_span)s);
            for (int64_t w0 = from; w0 < to && rc == RC_OK; w0 += BATCH * sp) {
                int64_t w1 = w0 + BATCH * sp < to ? w0 + BATCH * sp : to;
                size_t n = rc_range_windows(w0, w1, sp, starts, BATCH);
                for (size_t k = 0; k < n && k < BATCH && rc == RC_OK; k++)
                    rc = rc_engine_add(en, i, (rc_span)s, starts[k], e);
            }
        }
    return rc;
}

const rc_engine_stats *rc_engine_stats_get(const rc_engine *en)
{
    return &en->stats;
}

const rc_target_result *rc_engine_target_result(const rc_engine *en, size_t target)
{
    return &en->ts[target].res;
}

void eng_note_fatal(rc_engine *en, const rc_err *e)
{
    if (e && (e->code == RC_EAUTH || e->code == RC_EUNUSABLE) && !en->fatal.code) en->fatal = *e;
}

size_t eng_day_runs(size_t *i, size_t n, eng_chday_fn key, const void *ctx, size_t *at)
{
    size_t nr = 0, j = *i;
    while (nr < ENGINE_BATCH && j < n) {
        eng_chday a = key(ctx, j);
        at[nr++] = j;
        for (j++; j < n; j++) {
            eng_chday b = key(ctx, j);
            if (b.ti != a.ti || b.day != a.day) break;
        }
    }
    at[nr] = j;
    *i = j;
    return nr;
}

/* --- keys -------------------------------------------------------------- */

int eng_chunk_key(const rc_engine *en, size_t ti, rc_span s, int64_t start, char *out, rc_err *e)
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
int eng_day_prefix(const rc_engine *en, size_t ti, int64_t day, double rate, char *out, rc_err *e)
{
    if (en->o.cfg->layout == RC_LAYOUT_VIEWER)
        return rc_key_prefix_channel_day(RC_LAYOUT_VIEWER, &eng_station(en, ti)->chan,
                                         en->targets[ti].volc->name, day, out, RC_KEY_MAX, e);
    int rc = manifest_key_rate(en, ti, day, rate, out, e);
    if (rc) return rc;
    size_t n = strlen(out);
    if (n > 5 && strcmp(out + n - 5, ".json") == 0) out[n - 5] = '\0';
    return RC_OK;
}

/* --- pass -------------------------------------------------------------------- */

/* Base windows the source answered with no sample in this pass: recorded in
 * their manifests, so the next runs skip them until a recheck is due. */
static void record_empty(rc_engine *en)
{
    if (en->o.dry_run) return;
    for (size_t i = 0; i < en->ntasks; i++) {
        wtask *t = &en->tasks[i];
        if (t->span != en->base || t->state != W_NODATA || t->empty_recorded) continue;
        t->empty_recorded = 1;
        if (eng_add_empty_op(en, i) != RC_OK) {
            rc_log_warn(en->o.log, "manifest",
                        "out of memory recording a window without data; it will be asked again");
            return;
        }
    }
}

void eng_tally(rc_engine *en)
{
    rc_engine_stats *s = &en->stats;
    s->windows = s->requested = 0;
    for (size_t i = 0; i < en->ntargets; i++) {
        rc_target_result *r = &en->ts[i].res;
        r->added = r->present = r->nodata = r->failed = r->held = r->provisional = 0;
        r->reindexed = r->kept = r->not_due = r->pending = r->source_empty = 0;
    }
    for (size_t i = 0; i < en->ntasks; i++) {
        const wtask *t = &en->tasks[i];
        rc_target_result *r = &en->ts[t->ti].res;
        if (t->declared) s->windows++;
        switch (t->state) {
        case W_PRESENT:
            if (t->declared) r->present++;
            break;
        case W_REPAIR:
            r->reindexed++;
            break;
        case W_DONE:
            r->added++;
            if (t->written_prov) r->provisional++;
            break;
        case W_NODATA:
            if (t->declared) r->nodata++;
            break;
        case W_FAILED:
            r->failed++;
            break;
        case W_HELD:
            r->held++;
            break;
        case W_KEPT:
            r->kept++;
            break;
        case W_NOTDUE:
            if (t->declared) r->not_due++;
            break;
        case W_EMPTY:
            if (t->declared) r->source_empty++;
            break;
        case W_WANT:
            if (t->declared) r->pending++;
            break;
        }
        if (t->state != W_PRESENT && t->state != W_NOTDUE && t->state != W_EMPTY && t->declared)
            s->requested++;
    }
    /* the run's figures are the sum of the targets' */
    s->added = s->present = s->reindexed = s->nodata = s->failed = s->held = 0;
    s->provisional = s->kept = s->not_due = s->source_empty = 0;
    for (size_t i = 0; i < en->ntargets; i++) {
        const rc_target_result *r = &en->ts[i].res;
        s->added += r->added;
        s->present += r->present;
        s->reindexed += r->reindexed;
        s->nodata += r->nodata;
        s->failed += r->failed;
        s->held += r->held;
        s->provisional += r->provisional;
        s->kept += r->kept;
        s->not_due += r->not_due;
        s->source_empty += r->source_empty;
    }
    s->seconds = rc_retry_monotonic_s() - en->t0;
}

/* The store or source became unusable: nothing left can be done in this
 * run, and every window still to do is reported as failed with the reason,
 * so no station looks fine when it is not. */
static void fail_rest(rc_engine *en)
{
    for (size_t i = 0; i < en->ntasks; i++) {
        wtask *t = &en->tasks[i];
        if (!eng_window_wanted(t)) continue;
        t->state = W_FAILED;
        if (!en->ts[t->ti].res.error[0]) eng_target_error(en, t->ti, en->fatal.msg);
    }
}

int rc_engine_pass(rc_engine *en, int final, rc_err *e)
{
    en->final = final;
    int rc;
    if (!en->planned && (rc = eng_plan(en, e)) != RC_OK) {
        if (en->fatal.code) fail_rest(en);
        eng_tally(en);
        return rc;
    }
    if (en->o.stop && *en->o.stop) {
        /* stopped while planning: the plan is partial, fetch nothing */
        eng_flush_manifests(en);
        eng_tally(en);
        return rc_err_set(e, RC_EINTR, "stopped by signal before fetching");
    }
    eng_avail_plan(en);
    if ((rc = eng_build_requests(en, e)) != RC_OK) return rc;
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
            if (!en->fatal.code) en->fatal = *e;
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
    eng_avail_check(en);
#ifdef __GLIBC__
    /* hand back what planning and fetching freed before composition, which
     * needs a few large buffers (glibc keeps freed memory in its arenas) */
    malloc_trim(0);
#endif
    if (!en->fatal.code && !(en->o.stop && *en->o.stop)) eng_compose_pending(en);
    record_empty(en);
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
        if (eng_window_wanted(&en->tasks[i])) n++;
    return n;
}

/* Plan (if not done yet), build the requests and count: the figures both
 * plan reports give. est: miniSEED bytes to fetch; want: declared windows
 * to fetch. */
static int plan_figures(rc_engine *en, double *est, int64_t *want, rc_err *e)
{
    int rc;
    if (!en->planned && (rc = eng_plan(en, e)) != RC_OK) return rc;
    if ((rc = eng_build_requests(en, e)) != RC_OK) return rc;
    eng_tally(en);
    *est = 0;
    for (size_t k = 0; k < en->nlines; k++) {
        double rate = en->ts[en->lines[k].ti].rate > 0 ? en->ts[en->lines[k].ti].rate : 100;
        *est += rate * (double)(en->lines[k].end - en->lines[k].start) * 1.5;
    }
    *want = 0;
    for (size_t i = 0; i < en->ntasks; i++)
        if (en->tasks[i].state == W_WANT && en->tasks[i].declared) (*want)++;
    return RC_OK;
}

int rc_engine_plan(rc_engine *en, int json, rc_buf *out, rc_err *e)
{
    double est;
    int64_t want;
    int rc = plan_figures(en, &est, &want, e);
    if (rc != RC_OK) return rc;
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
                      (long long)en->stats.windows, (long long)want, (long long)en->stats.present,
                      (long long)en->stats.reindexed, en->nreqs, en->nlines, est / 1e6);
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
    double est;
    int64_t want;
    int rc = plan_figures(en, &est, &want, e);
    if (rc != RC_OK) return rc;
    memset(out, 0, sizeof *out);
    out->estimated_bytes = est;
    out->missing = want;
    out->windows = en->stats.windows;
    out->present = en->stats.present;
    out->reindex = en->stats.reindexed;
    out->requests = en->nreqs;
    out->nlines = en->nlines;
    /* line and rc_plan_line differ in field names only by design: copy */
    rc_plan_line *pl = malloc((en->nlines ? en->nlines : 1) * sizeof *pl);
    if (!pl) return rc_err_set(e, RC_ENOMEM, "out of memory");
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
    if (x->target != y->target) return x->target < y->target ? -1 : 1;
    if (x->span != y->span) return (int)x->span - (int)y->span;
    return (x->start > y->start) - (x->start < y->start);
}

int rc_engine_windows(rc_engine *en, rc_window_info **out, size_t *n, rc_err *e)
{
    int rc;
    if (!en->planned && (rc = eng_plan(en, e)) != RC_OK) return rc;
    rc_window_info *v = calloc(en->ntasks ? en->ntasks : 1, sizeof *v);
    if (!v) return rc_err_set(e, RC_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < en->ntasks; i++) {
        const wtask *t = &en->tasks[i];
        if (!t->declared) continue;
        rc_window_info *w = &v[k++];
        w->target = t->ti;
        w->span = t->span;
        w->start = t->start;
        w->state = t->state == W_PRESENT  ? RC_WIN_PRESENT
                   : t->state == W_REPAIR ? RC_WIN_BLOB_ONLY
                   : t->state == W_WANT   ? RC_WIN_MISSING
                   : t->state == W_NOTDUE ? RC_WIN_NOT_DUE
                   : t->state == W_EMPTY  ? RC_WIN_SOURCE_EMPTY
                                          : RC_WIN_OTHER;
        /* a recheck that is due: still known empty until it is asked */
        if (t->state == W_WANT && t->has_empty && !t->has_old && !t->listed)
            w->state = RC_WIN_SOURCE_EMPTY;
        if (w->state == RC_WIN_SOURCE_EMPTY) {
            w->empty_last_checked = t->empty_last;
            w->empty_next_check = t->empty_next;
            w->empty_checks = t->empty_checks;
            w->empty_due = t->empty_next <= en->o.now;
        }
        /* force/upgrade re-want present windows: still report them present */
        if (t->state == W_WANT && t->has_old)
            w->state = t->blob_lost ? RC_WIN_ENTRY_ONLY : RC_WIN_PRESENT;
        /* a blob whose metadata could not rebuild its entry is still there */
        if (t->state == W_WANT && !t->has_old && t->listed) w->state = RC_WIN_BLOB_ONLY;
        w->listed = t->listed;
        if (t->has_old) {
            w->provisional = t->old->provisional;
            w->completeness = t->old->completeness;
            snprintf(w->written_at, sizeof w->written_at, "%s", t->old->written_at);
        }
    }
    qsort(v, k, sizeof *v, cmp_info);
    *out = v;
    *n = k;
    return RC_OK;
}
