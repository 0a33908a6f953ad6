/*
 * engine_int.h: the engine's private state, shared by its four files.
 *
 *   engine.c          the driver: create/free, declaring windows, one pass,
 *                     the plan reports, statistics; the task table, keys,
 *                     per-channel errors (used by every stage)
 *   engine_plan.c     planning: listing and manifest reads per channel-day,
 *                     each window's state (present, repair, want), requests
 *   engine_fetch.c    execution: fetch answers, emit blobs, queue and
 *                     flush the manifest updates
 *   engine_shape.c    the blocks of an answer shaped, encoded and hashed on
 *                     the worker pool, stored in order
 *   engine_compose.c  long chunks built from stored base chunks, and the
 *                     clock phase rules both fetch and compose describe a
 *                     chunk with
 *   engine_avail.c    planning by the source's own availability service
 *                     (opt-in): unlisted windows are not fetched
 *
 * Threads: everything here runs on the engine's thread (the one calling
 * rc_engine_*), including the fetch and put callbacks (source.h and store.h
 * call them in the calling thread), except the two worker functions that
 * rc_store_par_run runs (engine_plan.c's plan_io, engine_fetch.c's
 * flush_one) and the pool workers of engine_shape.c (block_work) and
 * engine_compose.c (compose_work): those only read the engine and write
 * their own slot.
 * Nothing outside src/engine*.c includes this header.
 */
#ifndef R2CACHE_ENGINE_INT_H
#define R2CACHE_ENGINE_INT_H

#include "r2cache/codec.h"
#include "r2cache/engine.h"
#include "r2cache/manifest.h"
#include "r2cache/shape.h"
#include "r2cache/source.h"
#include "r2cache/store.h"

#include <stddef.h>
#include <stdint.h>

/* Channel-days handled per parallel batch (bounds the per-day state held). */
#define ENGINE_BATCH 256
/* eng_part summaries per allocation block. */
#define ENGINE_PART_BLOCK 1024
/* The most pool workers an engine runs (the `workers` setting's maximum). */
#define ENGINE_MAX_WORKERS 64

typedef enum wstate {
    W_WANT = 0,
    W_PRESENT,
    W_REPAIR,
    W_DONE,
    W_NODATA,
    W_FAILED,
    W_HELD,
    W_KEPT,
    W_NOTDUE, /* has not ended (plus the delay) at `now`: never written yet */
    W_EMPTY   /* confirmed empty at the source and not due for a recheck */
} wstate;

/* What composing needs of a stored base chunk that the run touches for no
 * other reason (a window only needed by a long window, present in the
 * store): a fifth of a full rc_mentry, so that planning many channels
 * stays small. Its codec and source names are interned in the engine
 * (eng_name). */
typedef struct eng_part {
    double offset_s;
    int64_t gap_head, gap_tail, gap_samples_filled;
    int gap_count;
    int provisional;
    uint16_t codec, source; /* eng_name indices */
} eng_part;

typedef struct wtask {
    size_t ti;
    int64_t start;
    rc_span span;
    wstate state;
    int src_index; /* list entry whose answer it was written from (-1: none, composed) */
    /* Entries are held apart (most tasks have neither, and a task table of
     * 10,000 channels' windows must stay small): */
    rc_mentry *old;  /* stored entry (PRESENT, REPAIR, upgrade candidates) */
    eng_part *part;  /* instead of old: an undeclared PRESENT window (eng_task_compact;
                        in the engine's part blocks) */
    rc_mentry *newe; /* entry written in this run */
    /* the manifest's source-empty record covers the window (W_EMPTY, or a
     * recheck that is due): last asked, checks, next recheck */
    int64_t empty_last, empty_next;
    int empty_checks;
    /* flags, a byte each (the table has a task per window) */
    unsigned char declared;  /* the caller asked for it (not only needed by a long window) */
    unsigned char upgrade;   /* replaces a provisional entry if at least as complete */
    unsigned char listed;    /* its blob appeared in the day's listing */
    unsigned char blob_lost; /* manifest entry whose blob is gone: refetched, entry replaced */
    unsigned char notdue;    /* end + delay > now: not fetched, not written */
    unsigned char has_old, has_new;
    unsigned char written_prov;
    unsigned char has_empty;
    unsigned char empty_recorded; /* its empty answer is queued for the manifest */
    unsigned char avail_listed;   /* the source's availability lists data in it (engine_avail.c) */
} wtask;

typedef struct dayop {
    size_t ti;
    int64_t day;
    rc_span span;
    rc_upsert_mode mode;
    rc_mentry entry;
    size_t task;
    int empty; /* record [empty_start, empty_end) as asked and empty, not entry */
    int64_t empty_start, empty_end;
} dayop;

typedef struct tstate {
    double rate; /* configured, learned from the listing, or from data */
    rc_target_result res;
} tstate;

typedef struct line {
    size_t ti;
    int64_t start, end;
} line;

struct rc_engine {
    rc_engine_opts o;
    const rc_target *targets;
    size_t ntargets;
    tstate *ts;
    wtask *tasks;
    size_t ntasks, captasks;
    uint32_t *hash; /* open addressing: task index + 1, 0 = empty */
    size_t hcap;
    dayop *ops;
    size_t nops, capops;
    rc_span base;
    rc_span longest;
    int planned;
    int final;
    rc_codec *codec;
    int workers;                          /* shape/compress/hash threads (pool.h), >= 1 */
    rc_codec *wcodec[ENGINE_MAX_WORKERS]; /* workers' codecs beyond the first, made on first use */
    rc_engine_stats stats;
    /* per pass */
    line *lines;
    size_t nlines;
    rc_fetch_line *flines;
    rc_fetch_req *reqs;
    size_t *req_first; /* index of the first line of each request */
    size_t nreqs;
    double t0; /* monotonic seconds at rc_engine_new */
    rc_err fatal;
    rc_engine_progress_cb progress;
    void *progress_ud;
    size_t done_reqs;
    rc_plan_line *plan_lines; /* rc_engine_plan_info's copy */
    /* the answer being processed holds records nobody asked for: windows
     * of it that come out empty are failures naming them, not "no data" */
    char foreign[RC_ERR_MSG_MAX];
    /* the answer being processed: which source gave it (manifest "source",
     * messages); composing sets emit_source per chunk */
    const char *emit_source; /* NULL: not known */
    int emit_source_index;   /* list entry (rc_source_credit), -1 none */
    const char *cur_shown;   /* redacted URL of the answering source */
    int avail_done;          /* the availability service was asked (or skipped) */
    /* codec and source names of the eng_part summaries, each once */
    char (*names)[RC_SOURCE_NAME_MAX];
    size_t nnames, capnames;
    /* the eng_part summaries, ENGINE_PART_BLOCK to a block: packed
     * together, not scattered between what planning frees, so the pages
     * they leave unused go back to the system */
    eng_part **part_blocks;
    size_t nblocks, capblocks, block_used;
};

/* The station of target ti. */
static inline const rc_station *eng_station(const rc_engine *en, size_t ti)
{
    return en->targets[ti].st;
}

/* Still to be fetched or built in this pass (failed and held windows are
 * tried again). t may be NULL (no such task). */
static inline int eng_window_wanted(const wtask *t)
{
    return t && (t->state == W_WANT || t->state == W_HELD || t->state == W_FAILED);
}

/* --- engine.c: task table, keys, errors, statistics ----------------------- */

/* The task of (ti, s, start), NULL if none. */
wtask *eng_task_find(const rc_engine *en, size_t ti, rc_span s, int64_t start);
/* Find or add a task (declared is or-ed in); NULL when out of memory. May
 * move en->tasks: pointers into it are stale afterwards. */
wtask *eng_task_add(rc_engine *en, size_t ti, rc_span s, int64_t start, int declared);
/* A task's entries (held apart from the table): keep a copy of me as the
 * stored entry (a window only needed by a long window keeps it without
 * its revision history and unknown fields, which only a write of the
 * window itself carries on); drop them. */
int eng_task_keep_old(wtask *t, const rc_mentry *me);
void eng_task_drop_old(wtask *t);
/* Replace the stored entry of an undeclared PRESENT window by its eng_part
 * (no-op when out of memory: the entry stays). eng_task_drop_old drops
 * either. A dropped part's slot is not reused: slots are only taken while
 * planning, at most one per task, so the blocks stay bounded by the task
 * table and are freed with the engine. Planning only: the names and
 * blocks do not move while pool workers read them. */
void eng_task_compact(rc_engine *en, wtask *t);
/* The numbers composing reads of a stored entry, into an eng_part (its
 * codec and source indices left 0: the caller interns or names them). */
void eng_part_set(eng_part *p, const rc_mentry *me);
/* An interned name (eng_part's codec and source). */
static inline const char *eng_name(const rc_engine *en, uint16_t i)
{
    return en->names[i];
}
/* The window's stored chunk is provisional (PRESENT or REPAIR). */
static inline int eng_stored_provisional(const wtask *t)
{
    if (t->state != W_PRESENT && t->state != W_REPAIR) return 0;
    return t->part ? t->part->provisional : t->has_old && t->old->provisional;
}
void eng_task_drop_new(wtask *t);
/* Remember msg as target ti's last error (the start of it when too long). */
void eng_target_error(rc_engine *en, size_t ti, const char *msg);
/* A store or source that refuses us (RC_EAUTH) or cannot be used
 * (RC_EUNUSABLE) ends the run: the first such error becomes en->fatal. */
void eng_note_fatal(rc_engine *en, const rc_err *e);
int eng_chunk_key(const rc_engine *en, size_t ti, rc_span s, int64_t start, char *out, rc_err *e);
int eng_manifest_key(const rc_engine *en, size_t ti, int64_t day, char *out, rc_err *e);
int eng_day_prefix(const rc_engine *en, size_t ti, int64_t day, double rate, char *out, rc_err *e);
/* A channel-day: target and day start. */
typedef struct eng_chday {
    size_t ti;
    int64_t day;
} eng_chday;
typedef eng_chday (*eng_chday_fn)(const void *ctx, size_t k);
/* Cut items [*i, n), sorted by channel-day, into at most ENGINE_BATCH runs
 * of one channel-day each: run r is items [at[r], at[r + 1]) (at holds
 * ENGINE_BATCH + 1). key(ctx, k) is item k's channel-day. Advances *i past
 * the runs and returns their number. */
size_t eng_day_runs(size_t *i, size_t n, eng_chday_fn key, const void *ctx, size_t *at);
/* Recount stats and per-target results from the task states. */
void eng_tally(rc_engine *en);

/* --- engine_plan.c -------------------------------------------------------- */

/* Decide the state of every task (reads only; repairs are queued as ops).
 * Sets en->planned. */
int eng_plan(rc_engine *en, rc_err *e);
/* Coalesce the wanted base windows into lines and pack them into requests
 * (en->lines, flines, reqs, req_first, replacing the last pass's). */
int eng_build_requests(rc_engine *en, rc_err *e);
void eng_free_pass(rc_engine *en);

/* --- engine_fetch.c ------------------------------------------------------- */

/* Queue a manifest entry of task `task` for its channel-day (copied). */
int eng_add_op(rc_engine *en, size_t ti, size_t task, rc_span s, const rc_mentry *entry,
               rc_upsert_mode mode);
/* What storing a chunk would make of t before encoding: W_HELD (provisional and
 * not the final pass), W_KEPT (less complete than the chunk it would
 * replace), or W_WANT (encode and store it). Reads only. */
wstate eng_emit_gate(const rc_engine *en, const wtask *t, const rc_window_stats *stv, int prov);
/* A chunk a pool worker made for a window (engine_shape.c cuts it from an
 * answer, engine_compose.c composes it from stored chunks), stored on the
 * engine's thread by eng_emit_body. */
typedef struct eng_chunk {
    rc_buf body;          /* the encoded blob */
    rc_body_hash hash;    /* of body, made once on the worker (rc_store_body_hash) */
    rc_window_stats stv;  /* the window's statistics */
    double off;           /* clock offset of its first sample, seconds */
    rc_phase_step *steps; /* clock phase steps (nsteps), owned by the worker */
    int nsteps;
    int prov;           /* provisional */
    int64_t head, tail; /* gap samples filled at its start and end */
} eng_chunk;

/* Store chunk c as task t's window and remember its entry. The chunk stays
 * the caller's. */
void eng_emit_body(rc_engine *en, wtask *t, const eng_chunk *c);
/* rc_fetch_cb of rc_source_fetch_many (ud is the engine). */
int eng_on_fetch(void *ud, size_t ri, rc_fetch_result *res);
/* Queue the record that base window `task` was asked at `now` and held no
 * sample (windows younger than the first recheck age are not recorded:
 * late data is normal there, and they are asked on every run anyway). */
int eng_add_empty_op(rc_engine *en, size_t task);
/* The age (since a window's end) from which an empty answer is recorded. */
int64_t eng_confirm_age(const rc_engine *en);
/* Wait for the queued puts, then write every queued op, one conditional
 * update per channel-day; clears the queue. */
int eng_flush_manifests(rc_engine *en);

/* --- engine_avail.c ------------------------------------------------------- */

/* With opts.availability, once per engine, after eng_plan: ask the source's
 * availability service; wanted base windows it does not list become
 * W_NODATA (recorded as confirmed empty), the ones it lists are marked.
 * Never fails the pass: trouble with the service is logged and every
 * window stays wanted. */
void eng_avail_plan(rc_engine *en);
/* After the fetches: a listed window that came back without a sample
 * becomes W_FAILED with a message naming it. */
void eng_avail_check(rc_engine *en);

/* --- engine_shape.c ------------------------------------------------------- */
/* Shape lines [0, n) of one answer (tr) on en->workers threads and store
 * every wanted window in them, in line and block order (en->foreign set). */
void eng_shape_lines(rc_engine *en, const rc_traces *tr, const line *lines, size_t n);
/* Pool worker w's codec: the engine's for 0, made on first use and kept for
 * the engine's life for the others (NULL when it cannot be made). Only the
 * engine's thread calls this, and never while a pool runs. */
rc_codec *eng_worker_codec(rc_engine *en, int w);
/* --- engine_compose.c ----------------------------------------------------- */

/* Offset and phase steps of sub-windows [b0, b0 + nb) of win (*steps is
 * malloc'd, NULL when none). */
int eng_window_phase(const rc_window *win, int64_t b0, int64_t nb, double *offset,
                     rc_phase_step **steps, int *nsteps);
/* Build every still wanted long window from the stored base chunks (after
 * the fetches and rc_store_wait), on en->workers threads (pool.h): each
 * worker reads, decodes, composes, encodes and hashes with its own store
 * handle and codec; the engine's thread stores the results in task order. */
void eng_compose_pending(rc_engine *en);

#endif
