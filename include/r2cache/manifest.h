/*
 * manifest.h: the daily JSON index of one channel's chunks.
 *
 * Binding fields (seed 002 / DESIGN.md): date, network, volcano, station,
 * location, channel, instrument_type, sample_rate, latitude, longitude,
 * elevation_m, created_at, complete_day, chunks{"10min":[...],"6h":[...]} with
 * entries {start "HH:MM:SS", end "HH:MM:SS", min, max, samples, gap_count,
 * gap_duration_seconds, gap_samples_filled}. The viewer layout uses chunk
 * lists "10m","1h","6h" and "" for an empty location.
 *
 * Extensions (viewers ignore them): per entry bytes, sha256, completeness,
 * provisional, offset_s, phase_steps[] ({start "HH:MM:SS", offset_s}: a long
 * chunk whose base windows have different clock phases), written_at,
 * revision, history[] (what an entry held before a replacement, with
 * replaced_at); top level updated_at, layout.
 *
 * Time rule: slot k of a chunk holds the recorded sample nearest
 * START + offset_s + k/rate; from each phase step on, the step's start and
 * offset_s take the place of START and offset_s, with k counted from the
 * step's first slot. Numbers are finite: a non-finite number in a stored
 * manifest makes it unreadable (RC_EFORMAT), never silently kept.
 * Unknown fields are kept on read and written back unchanged.
 *
 * Chunk lists are sets keyed by start: sorted ascending, never duplicated.
 * complete_day = every base (10-minute) window of the day is present (144).
 *
 * The manifest is an index, not the truth: blobs are written first, and
 * every write (rc_manifest_rmw, and rc_manifest_update on top of it) applies
 * its change to the freshest stored version with a conditional put,
 * re-reading and re-applying on conflict, so concurrent writers never lose
 * each other's entries.
 */
#ifndef R2CACHE_MANIFEST_H
#define R2CACHE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "r2cache/buf.h"
#include "r2cache/codec_compact.h"
#include "r2cache/err.h"
#include "r2cache/naming.h"
#include "r2cache/store.h"

/* Where a long chunk's sample clock phase changes: from the base
 * sub-window starting at start (absolute seconds) on, slot K holds the
 * sample nearest start + offset_s + (K - slot)/rate, slot = round(rate *
 * (start - chunk start)). */
typedef struct rc_phase_step {
    int64_t start;
    double offset_s;
} rc_phase_step;

typedef struct rc_mentry {
    int64_t start, end; /* absolute seconds; end = start + span */
    int32_t min, max;
    int64_t samples;
    int gap_count;
    double gap_duration_seconds;
    int64_t gap_samples_filled;
    /* extensions */
    double completeness;  /* 0..1 */
    int provisional;      /* written below the completeness threshold */
    int64_t bytes;        /* compressed blob size */
    char sha256[65];      /* hex of the blob, "" if unknown */
    double offset_s;      /* sample clock phase after start */
    int64_t gap_head;     /* filled slots at the start of the chunk (0 = none) */
    int64_t gap_tail;     /* filled slots at its end; with gap_head this lets a long
                             chunk composed of stored chunks count a gap that
                             crosses their boundary once */
    rc_phase_step *steps; /* owned; long chunks whose base windows differ in phase */
    int nsteps;
    /* body codec (codec_compact.h), "" = int32-zstd */
    char codec[RC_CODEC_NAME_MAX];
    char written_at[32]; /* ISO time the blob was written */
    int revision;        /* 1 for the first write, +1 per replacement */
    char source[64];     /* name of the source the samples came from ("mixed" for a
                            composed chunk whose parts disagree), "" if unknown */
    cJSON *history;      /* owned array of earlier versions, or NULL */
    cJSON *extra;        /* owned object of unknown fields, or NULL */
} rc_mentry;

typedef struct rc_mlist {
    rc_mentry *v;
    size_t n, cap;
} rc_mlist;

/* Base windows [start, end) the source was asked for and answered with no
 * sample ("confirmed empty at the source"): when first and last asked, and
 * how often. Windows with equal history are kept as one range. */
typedef struct rc_srcempty {
    int64_t start, end;
    int64_t first_checked, last_checked; /* epoch seconds */
    int checks;
} rc_srcempty;

typedef struct rc_manifest {
    rc_layout layout;
    int64_t day; /* 00:00 UTC */
    rc_chan chan;
    char volcano[RC_VOLCANO_MAX];
    char instrument_type[64];
    double sample_rate;
    int has_coords;
    double latitude, longitude, elevation_m;
    char created_at[40];
    char updated_at[40];
    int complete_day;
    rc_mlist chunks[RC_SPAN_COUNT];
    rc_srcempty *empty; /* owned, sorted, disjoint ("source_empty") */
    size_t nempty;
    cJSON *extra; /* owned object of unknown top-level fields, or NULL */
} rc_manifest;

/* Empty manifest for a channel-day. */
void rc_manifest_init(rc_manifest *m, rc_layout l, const rc_chan *c, const char *volcano,
                      double rate, int64_t day);
/* Empty manifest of a configured station's channel-day: rc_manifest_init
 * plus the header fields the configuration gives (instrument_type,
 * coordinates when it has them). */
struct rc_station;
void rc_manifest_init_station(rc_manifest *m, rc_layout l, const struct rc_station *st,
                              const char *volcano, double rate, int64_t day);
void rc_manifest_free(rc_manifest *m);
/* Deep copy (history/extra included). */
int rc_manifest_copy(rc_manifest *dst, const rc_manifest *src, rc_err *e);

/* Parse JSON of layout l. Duplicated starts are merged (last wins), lists
 * sorted. RC_EFORMAT naming the field on bad input. */
int rc_manifest_parse(rc_layout l, const char *json, size_t len, rc_manifest *m, rc_err *e);
/* Deterministic JSON (2-space indent, fixed field order, lists sorted,
 * numbers in shortest form: 100, 40.96). Written when set: instrument_type,
 * coordinates (has_coords), updated_at, and per entry bytes > 0, sha256,
 * completeness != 0, provisional, offset_s != 0, written_at, revision > 0,
 * history; "layout" always; gap_duration_seconds in both layouts. Lists: seed
 * "10min","6h" always, "1h","24h" when non-empty; viewer "10m","1h","6h"
 * always, "24h" when non-empty. RC_EINVAL when an entry does not lie within
 * the day (start on the date, end by the next midnight). */
int rc_manifest_serialize(const rc_manifest *m, rc_buf *out, rc_err *e);

const rc_mentry *rc_manifest_find(const rc_manifest *m, rc_span s, int64_t start);

typedef enum rc_upsert_mode {
    RC_UPSERT_IF_ABSENT = 0, /* add only when no entry has this start */
    RC_UPSERT_REPLACE,       /* add or replace (force); old version into history */
    RC_UPSERT_UPGRADE        /* replace only a provisional entry, and only when the
                                new completeness >= old; old version into history
                                (an absent entry is added, as with the other modes) */
} rc_upsert_mode;

/* Apply one entry (deep-copied). now_iso stamps replaced_at in history.
 * Returns 1 when the manifest changed, 0 when not. A replacement whose data
 * fields equal the stored entry's (a retried write) is not a change. New
 * entries get revision 1 unless they carry one; the entry's own history is
 * ignored (history is the manifest's record). */
int rc_manifest_upsert(rc_manifest *m, rc_span s, const rc_mentry *entry, rc_upsert_mode mode,
                       const char *now_iso);
/* Remove an entry (verify --repair of an entry whose blob is gone). 1 if removed. */
int rc_manifest_remove(rc_manifest *m, rc_span s, int64_t start);
/* complete_day from the base span list, and no source-empty record left
 * under a base chunk (data that arrived later wins). base = shortest span
 * in use. */
void rc_manifest_recompute(rc_manifest *m, rc_span base);

/* --- windows confirmed empty at the source (manifest_empty.c) ------------
 *
 * The record is an index like the rest of the manifest: losing it (a
 * reindex from blobs) only means the windows are asked again. */

/* Record that [start, end) was asked at checked_at and held no sample:
 * windows already recorded keep first_checked and count one more check.
 * Returns 1 when m changed, 0 when not, -1 when out of memory. */
int rc_manifest_mark_empty(rc_manifest *m, int64_t start, int64_t end, int64_t checked_at);
/* Forget [start, end) (data is stored there now). 1 when m changed, -1 OOM. */
int rc_manifest_clear_empty(rc_manifest *m, int64_t start, int64_t end);
/* The record holding second t, or NULL. */
const rc_srcempty *rc_manifest_empty_at(const rc_manifest *m, int64_t t);
/* The first time after last_checked at which a window ending at end is due
 * to be asked again under the ascending ages (data age = time - end):
 * end + the first age above last_checked - end; INT64_MAX when none is
 * left (asked only with --recheck or --force). */
int64_t rc_recheck_next(const int64_t *ages, int nages, int64_t end, int64_t last_checked);
/* JSON of the "source_empty" list (an array; NULL when out of memory), and
 * its parse (RC_EFORMAT naming the field). */
cJSON *rc_manifest_empty_json(const rc_manifest *m);
int rc_manifest_empty_parse(const cJSON *arr, int64_t day, rc_manifest *m, rc_err *e);

typedef enum rc_mop_kind {
    RC_MOP_UPSERT = 0, /* rc_manifest_upsert(span, entry, mode) */
    RC_MOP_EMPTY       /* rc_manifest_mark_empty(start, end, checked_at) */
} rc_mop_kind;

typedef struct rc_mop {
    rc_span span;
    const rc_mentry *entry;
    rc_upsert_mode mode;
    rc_mop_kind kind;
    int64_t start, end, checked_at; /* RC_MOP_EMPTY */
} rc_mop;

/* How a manifest is written: its headers and the retry budget. */
typedef struct rc_rmw_opts {
    const char *cache_control;      /* config cache_control.manifest; NULL = public, max-age=60 */
    rc_span base;                   /* shortest span in use (complete_day) */
    int max_attempts;               /* 0 = 20 */
    int replace_unreadable;         /* 1: a stored manifest that does not parse is rebuilt
                                       from tmpl (reindex, repair); 0: RC_EFORMAT, untouched */
    const rc_obj_meta *create_meta; /* headers of a manifest this call creates (migrate
                                       keeps its source's); NULL = rc_manifest_obj_meta */
} rc_rmw_opts;

/* The content type and Cache-Control every manifest object is written with. */
void rc_manifest_obj_meta(const char *cache_control, rc_obj_meta *meta);

/*
 * Change the freshest stored manifest. Returns 1 when it changed m, 0 when
 * not, -1 on error (with e set). exists = 0 when m is the template.
 * m->updated_at already holds now_iso (a function may set it otherwise).
 */
typedef int (*rc_manifest_mutate_fn)(rc_manifest *m, int exists, const char *now_iso, void *user,
                                     rc_err *e);

/*
 * The one read-modify-write of a manifest: get it (or start from tmpl when
 * absent; tmpl supplies the header fields), apply fn, recompute
 * complete_day, and if anything changed write it back conditionally
 * (If-Match the ETag read, or If-None-Match when it was absent). On
 * RC_ECONFLICT re-read and re-apply, up to max_attempts times with full
 * jitter (10 ms doubling, at most 1 s), so a loser waits out a busy writer.
 * An unreadable stored manifest is not overwritten unless
 * replace_unreadable. *changed (may be NULL) = 1 when a write happened.
 * Every manifest write of r2cache (engine, reindex, verify --repair,
 * migrate) goes through here.
 */
int rc_manifest_rmw(rc_store *st, const char *key, const rc_manifest *tmpl,
                    rc_manifest_mutate_fn fn, void *user, const rc_rmw_opts *o, int *changed,
                    rc_err *e);

/*
 * A mutate function for rc_manifest_rmw (user = rc_mmatch): make the
 * manifest index exactly the blobs in want. Entries with no blob in want are
 * removed once a HEAD confirms their blob is gone now (the caller's listing
 * may predate a writer that stored it since), blobs without an entry are
 * added, and with replace_differing an entry is replaced by its blob's (the
 * old one kept in history; equal data is no change). reindex and verify
 * --repair.
 */
typedef struct rc_mwant {
    rc_span span;
    rc_mentry entry; /* not owned */
} rc_mwant;

typedef struct rc_mmatch {
    rc_store *st;
    const rc_mwant *want;
    size_t n;
    int replace_differing;
} rc_mmatch;

int rc_manifest_match(rc_manifest *m, int exists, const char *now_iso, void *user, rc_err *e);

/* rc_manifest_rmw applying ops (upserts) in order; cache_control as in
 * rc_rmw_opts (NULL = the default), max_attempts 0 = 20. */
int rc_manifest_update(rc_store *st, const char *key, const rc_manifest *tmpl, const rc_mop *ops,
                       size_t nops, rc_span base, const char *cache_control, int max_attempts,
                       int *changed, rc_err *e);

/* Load a stored manifest: RC_ENOTFOUND when absent. etag_out may be NULL. */
int rc_manifest_load(rc_store *st, rc_layout l, const char *key, rc_manifest *m, char *etag_out,
                     rc_err *e);

/* Object metadata entries (x-amz-meta-*) that make a blob self-describing,
 * so reindex can rebuild its entry from a HEAD or the local sidecar, and back.
 * Names: r2c-min, r2c-max, r2c-samples, r2c-gap-count, r2c-gap-seconds,
 * r2c-gap-filled, r2c-completeness, r2c-provisional ("0"/"1"), r2c-offset,
 * r2c-sha256 (when known), r2c-phase-steps (and r2c-phase-steps-2, -3, ...
 * when long: "SECONDS:MICROSECONDS,..." of each step after the chunk's
 * start); values are short decimal strings. from_meta needs
 * r2c-min, r2c-max and r2c-samples (RC_EFORMAT naming the header otherwise),
 * fills only those fields (phase steps placed after the chunk start given)
 * and leaves start, end, bytes, written_at,
 * revision, history and extra to the caller (they come from the key/HEAD). */
void rc_mentry_to_meta(const rc_mentry *en, rc_obj_meta *meta);
int rc_mentry_from_meta(const rc_obj_meta *meta, int64_t start, rc_mentry *en, rc_err *e);

/*
 * Entry of the blob at key (a chunk of span starting at start) from its
 * metadata (HEAD, or the local store's sidecar): rc_mentry_from_meta, with
 * start and end from the arguments and bytes from the HEAD. Flags:
 * RC_MBLOB_DECODE: when the metadata lacks the statistics, read and decode
 *   the body instead (min, max, samples, sha256; gap fields 0) and set
 *   *from_body (may be NULL) to 1; RC_EFORMAT naming the key when it does
 *   not decode. Without it, RC_EFORMAT from rc_mentry_from_meta.
 * RC_MBLOB_STAMP: written_at from the object's modification time.
 * Errors of the HEAD are returned as they are.
 */
enum { RC_MBLOB_DECODE = 1, RC_MBLOB_STAMP = 2 };
int rc_mentry_from_blob(rc_store *st, const char *key, rc_span span, int64_t start, unsigned flags,
                        rc_mentry *en, int *from_body, rc_err *e);

void rc_mentry_free(rc_mentry *en);
/* Deep copy (steps, history, extra). RC_ENOMEM leaves dst empty. */
int rc_mentry_copy(rc_mentry *dst, const rc_mentry *src);

#endif
