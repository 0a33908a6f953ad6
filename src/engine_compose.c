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
 * wanted = failed or held). Writes go through eng_emit (engine_fetch.c);
 * their manifest entries are flushed by the caller afterwards.
 */
#include "engine_int.h"
#include "r2cache/naming.h"
#include "r2cache/timewin.h"

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

static const rc_mentry *base_entry(const wtask *b)
{
    if (b->state == W_DONE && b->has_new) return &b->newe;
    if ((b->state == W_PRESENT || b->state == W_REPAIR || b->state == W_KEPT) && b->has_old)
        return &b->old;
    return NULL;
}

static void compose_one(rc_engine *en, wtask *t)
{
    int64_t sp = rc_span_seconds(t->span), base_s = rc_span_seconds(en->base);
    size_t nparts = (size_t)(sp / base_s);
    double rate = en->ts[t->ti].rate;
    if (rate <= 0) {
        t->state = W_NODATA;
        return;
    }
    int32_t **parts = calloc(nparts, sizeof *parts);
    double *offs = calloc(nparts, sizeof *offs);
    if (!parts || !offs) {
        free(parts);
        free(offs);
        t->state = W_FAILED;
        eng_target_error(en, t->ti, "out of memory composing a long chunk");
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
    char src[RC_SOURCE_NAME_MAX] = "";
    int src_seen = 0;
    for (size_t k = 0; k < nparts; k++) {
        wtask *b = eng_task_find(en, t->ti, en->base, t->start + (int64_t)k * base_s);
        const rc_mentry *me = b ? base_entry(b) : NULL;
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
            rc_err e;
            rc_buf body = RC_BUF_INIT;
            int32_t *s = NULL;
            size_t ns = 0;
            if (eng_chunk_key(en, t->ti, en->base, b->start, key, &e) == RC_OK &&
                rc_store_get(en->o.store, key, &body, NULL, &e) == RC_OK &&
                rc_codec_decode_named(en->codec, me->codec, body.data, body.len, (size_t)part_slots,
                                      &s, &ns, &e) == RC_OK &&
                (int64_t)ns == part_slots) {
                parts[k] = s;
                offs[k] = me->offset_s;
                any = 1;
                if (!src_seen++)
                    snprintf(src, sizeof src, "%s", me->source);
                else if (strcmp(src, me->source) != 0)
                    snprintf(src, sizeof src, "mixed");
                stv.gap_count += me->gap_count - (prev_tail_gap && me->gap_head > 0 ? 1 : 0);
                stv.gap_samples_filled += me->gap_samples_filled;
                prov |= me->provisional;
                if (head_open) {
                    head += me->gap_head;
                    head_open = me->gap_head >= part_slots;
                }
                tail = me->gap_tail;
                prev_tail_gap = me->gap_tail > 0;
                rc_buf_free(&body);
                continue;
            }
            free(s);
            rc_buf_free(&body);
            rc_log_warn(en->o.log, "compose", "base chunk %s unusable: %s", key, e.msg);
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
    if (failed) {
        t->state = W_FAILED;
        char ts[RC_TIME_STR_MAX], msg[160];
        rc_time_iso(t->start, ts);
        snprintf(msg, sizeof msg, "the %s chunk at %s was not built: a base window in it failed",
                 rc_span_name(t->span), ts);
        if (!en->ts[t->ti].res.error[0]) eng_target_error(en, t->ti, msg);
    } else if (held) {
        t->state = W_HELD;
    } else if (!any) {
        t->state = W_NODATA;
    } else {
        rc_window win;
        rc_err e;
        int rc = rc_window_compose(&eng_station(en, t->ti)->chan, rate, t->start, sp, base_s,
                                   (const int32_t *const *)parts, offs, &win, &e);
        if (rc == RC_OK) {
            rc_window_stats full;
            rc_window_stats_range(&win, 0, win.nslots, &full);
            stv.min = full.min;
            stv.max = full.max;
            stv.samples = win.nslots;
            stv.present = win.nslots - stv.gap_samples_filled;
            stv.gap_duration_seconds = (double)stv.gap_samples_filled / rate;
            stv.completeness = win.nslots ? (double)stv.present / (double)win.nslots : 0;
            if (stv.completeness < en->o.cfg->completeness_threshold) prov = 1;
            double off;
            rc_phase_step *steps;
            int nsteps;
            if (eng_window_phase(&win, 0, win.nsub, &off, &steps, &nsteps) != RC_OK) {
                t->state = W_FAILED;
                eng_target_error(en, t->ti, "out of memory describing a chunk's clock phase");
            } else {
                en->emit_source = src[0] ? src : NULL;
                en->emit_source_index = -1;
                eng_emit(en, t, win.samples, (size_t)win.nslots, &stv, off, steps, nsteps, prov,
                         head, tail);
                en->emit_source = NULL;
                free(steps);
            }
            rc_window_free(&win);
        } else {
            t->state = rc == RC_ENODATA ? W_NODATA : W_FAILED;
            if (rc != RC_ENODATA) eng_target_error(en, t->ti, e.msg);
        }
    }
    for (size_t k = 0; k < nparts; k++)
        free(parts[k]);
    free(parts);
    free(offs);
}

void eng_compose_pending(rc_engine *en)
{
    for (size_t i = 0; i < en->ntasks; i++) {
        wtask *t = &en->tasks[i];
        if (t->span == en->base || !eng_window_wanted(t)) continue;
        if (en->o.stop && *en->o.stop) break;
        compose_one(en, &en->tasks[i]);
    }
}
