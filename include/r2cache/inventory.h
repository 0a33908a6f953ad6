/*
 * inventory.h: what the cache holds, per channel and day, without opening
 * every object.
 *
 * The keys are self-describing (naming.h), so one listing gives, per channel
 * and day, the number of chunks of every span and their bytes; only what a key
 * cannot tell (provisional chunks, gap statistics) comes from the daily
 * manifests, read in parallel. Keys under data/ that do not parse are counted
 * with a few examples, never skipped silently.
 *
 * A listing of a year of 15 channels is ~816,000 keys, over a minute on S3.
 * So the result is also kept as one small summary object per channel and
 * month, beside the data:
 *     index/{VOLCANO}/{NET}.{STA}.{LOC}.{CHA}/{YYYY}-{MM}.json
 * `inventory` reads the summaries of its scope (one short listing plus a few
 * hundred small GETs) instead of the data listing. A summary is rebuilt from
 * the listing of its channel-month (plus that month's manifests) by
 * `reindex`, by `inventory --scan`, and by `inventory` itself whenever the
 * channel-month's change marker
 *     index/{VOLCANO}/{NET}.{STA}.{LOC}.{CHA}/{YYYY}-{MM}.dirty
 * has another ETag than the one the summary recorded when it was built, or
 * when the summary was built from the other key layout (a store being
 * migrated holds both; index/ is shared). The writers (engine, and migrate
 * for the months it copies into or deletes from) call rc_inventory_touch after
 * every change: one tiny PUT, no read, so writers never contend on the
 * summary itself.
 * `verify` checks every summary against the listing.
 */
#ifndef R2CACHE_INVENTORY_H
#define R2CACHE_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "r2cache/buf.h"
#include "r2cache/err.h"
#include "r2cache/manifest.h"
#include "r2cache/naming.h"
#include "r2cache/store.h"

#define RC_INV_EXAMPLES 5

/* One channel-day as the listing (and its manifest) show it. */
typedef struct rc_inv_day {
    int64_t day;                   /* 00:00 UTC */
    int64_t chunks[RC_SPAN_COUNT]; /* blobs per span, from the listing */
    int64_t bytes;                 /* blob bytes */
    int64_t manifest_bytes;        /* 0 when there is no manifest */
    int has_manifest;
    /* from the manifest (0 when absent or unreadable) */
    int manifest_bad; /* manifest present but unreadable */
    int64_t provisional;
    int64_t gap_count;
    int64_t gap_samples_filled;
    double gap_seconds;
    char *manifest_key; /* owned; NULL when known only from a summary */
    int64_t unparsed;   /* keys in this channel's folder that do not parse
                           (seed: counted on the month's first day) */
} rc_inv_day;

typedef struct rc_inv_chan {
    rc_chan chan;
    char volcano[RC_VOLCANO_MAX];
    char location[RC_VOLCANO_MAX]; /* region from the configuration; "" unknown */
    int configured;                /* in the configuration */
    int selected;                  /* in the command's scope */
    double rate;                   /* from seed keys or manifests; 0 unknown */
    rc_inv_day *days;              /* ascending */
    size_t ndays, cap;
} rc_inv_chan;

typedef struct rc_inventory {
    rc_layout layout;
    rc_inv_chan *ch;
    size_t n, cap;
    int64_t keys;     /* objects seen in the listing (or described by summaries) */
    int64_t unparsed; /* keys under data/ that do not parse */
    char examples[RC_INV_EXAMPLES][RC_KEY_MAX];
    int nexamples;
    /* how the answer was obtained */
    int64_t listed;            /* data keys listed */
    int64_t manifests_read;
    int64_t summaries_read;
    int64_t months_rebuilt;    /* summaries (re)written */
    int threads;               /* parallel readers (default 8) */
} rc_inventory;

void rc_inventory_init(rc_inventory *inv, rc_layout l);
void rc_inventory_free(rc_inventory *inv);

/* Channel entry (created when absent). NULL on allocation failure. */
rc_inv_chan *rc_inventory_chan(rc_inventory *inv, const rc_chan *c, const char *volcano);
/* Day entry of a channel (created when absent, kept sorted). */
rc_inv_day *rc_inventory_day(rc_inv_chan *ch, int64_t day);

/* Account one listed object (key without store prefix). Keys that do not
 * parse are counted as unparsed. */
int rc_inventory_add(rc_inventory *inv, const rc_obj_info *obj);

/* List prefix (e.g. "data/") and account every object. */
int rc_inventory_scan(rc_store *st, rc_inventory *inv, const char *prefix, rc_err *e);

/* Read the manifest of every day that has one (parallel, inv->threads),
 * filling provisional and gap statistics. Only channels with selected set
 * when only_selected. Unreadable manifests set manifest_bad. */
int rc_inventory_read_manifests(rc_store *st, rc_inventory *inv, int only_selected, rc_err *e);

/* Summary and marker keys of a channel-month (month = any time in it). */
int rc_inventory_summary_key(const rc_chan *c, const char *volcano, int64_t month, char *out,
                             size_t n, rc_err *e);
int rc_inventory_marker_key(const rc_chan *c, const char *volcano, int64_t month, char *out,
                            size_t n, rc_err *e);
/* "index/" or "index/{VOLCANO}/". */
void rc_inventory_summary_prefix(const char *volcano, char *out, size_t n);

/*
 * The one call writers make after each manifest update of a channel-day:
 * marks the channel-month's summary stale (one small unconditional PUT).
 */
int rc_inventory_touch(rc_store *st, const rc_chan *c, const char *volcano, int64_t day,
                       rc_err *e);

/* Summary of one channel-month as JSON (caller deletes). marker_etag may be "" */
cJSON *rc_inventory_summary_json(const rc_inventory *inv, const rc_inv_chan *ch, int64_t month,
                                 const char *marker_etag);
/* Merge a summary object into inv (its channel and days). RC_EFORMAT on bad input. */
int rc_inventory_summary_apply(rc_inventory *inv, const cJSON *summary, rc_err *e);

/* Write the summary of every channel-month in inv (channels with selected set
 * when only_selected), skipping those whose stored body is identical.
 * markers (object marker key -> ETag, listed BEFORE the data was) lets each
 * summary record the marker it has absorbed; stored (array as from
 * rc_inventory_read_summaries) lets summaries of months that no longer hold
 * anything be emptied. Both may be NULL. */
int rc_inventory_write_summaries(rc_store *st, rc_inventory *inv, int only_selected,
                                 const cJSON *stored, const cJSON *markers, rc_err *e);

/* Self-contained HTML availability report of the selected channels
 * (report_html.c): one row per channel, one cell per day in [from, to). */
int rc_report_html(const rc_inventory *inv, int64_t from, int64_t to, rc_span base,
                   const char *title, rc_buf *out, rc_err *e);

/*
 * The fast path: fill inv from the summaries under index/ (all, or those of
 * the given volcanoes), rebuilding from the data listing every channel-month
 * whose marker changed since its summary was built. When no summary exists at
 * all, falls back to a full scan of data/ and writes every summary.
 */
int rc_inventory_load(rc_store *st, rc_inventory *inv, const char *const *volcanoes,
                      size_t nvolcanoes, rc_err *e);

/* Stored summaries as they are, without refreshing (verify). Each item of
 * *out (a JSON array, caller deletes) is {"key":..., "etag":..., "summary":{...}};
 * markers is an object key -> etag of the change markers found. */
int rc_inventory_read_summaries(rc_store *st, cJSON **out, cJSON **markers, rc_err *e);

/* Listing prefixes that hold every key of a channel-month. out: array of n
 * prefixes of RC_KEY_MAX (seed: 1, viewer: one per day). Returns count. */
size_t rc_inventory_month_prefixes(rc_layout l, const rc_chan *c, const char *volcano,
                                   int64_t month, char (*out)[RC_KEY_MAX], size_t n);

/* ---- object listings for verify and reindex ---------------------------- */

typedef struct rc_inv_obj {
    char *key; /* owned */
    rc_key_info ki;
    int64_t size, mtime;
} rc_inv_obj;

typedef struct rc_inv_objs {
    rc_inv_obj *v;
    size_t n, cap;
} rc_inv_objs;

/* List prefix into out (parsed keys only; the others go to unparsed, which
 * may be NULL), sorted by channel, volcano, day, then manifest first, span,
 * start, so that a channel-day is one run. */
int rc_inventory_list_objects(rc_store *st, rc_layout l, const char *prefix, rc_inv_objs *out,
                              rc_inventory *unparsed, rc_err *e);
void rc_inv_objs_free(rc_inv_objs *o);
const rc_chan *rc_inv_obj_chan(const rc_inv_obj *o);
const char *rc_inv_obj_volcano(const rc_inv_obj *o);
int64_t rc_inv_obj_day(const rc_inv_obj *o);

/*
 * Entry of a blob from its metadata (HEAD / sidecar); when the metadata
 * lacks the statistics, from its decoded body (min, max, samples, sha256;
 * gap fields 0). start/end from the key, bytes from size, written_at from
 * mtime. *from_body = 1 when the body had to be read. RC_EFORMAT when the
 * body does not decode.
 */
int rc_inventory_entry_from_blob(rc_store *st, const rc_inv_obj *o, rc_mentry *en, int *from_body,
                                 rc_err *e);

typedef struct rc_inv_want {
    rc_span span;
    rc_mentry entry; /* not owned */
} rc_inv_want;

/*
 * Make the manifest at key index exactly the blobs in want: entries with no
 * blob in want are removed, blobs without an entry are added, and with
 * replace_differing an entry whose data differs from its blob's is replaced
 * (the old one kept in history). Read-modify-write with If-Match /
 * If-None-Match, re-applied on conflict. A stored manifest that does not
 * parse is replaced (tmpl gives the header). Written through
 * rc_manifest_rmw with cache_control (the configuration's
 * cache_control.manifest). *changed = 1 when written.
 */
int rc_inventory_sync_manifest(rc_store *st, const char *key, const rc_manifest *tmpl,
                               const rc_inv_want *want, size_t n, int replace_differing,
                               rc_span base, const char *cache_control, int *changed, rc_err *e);

/* First day (00:00 UTC) of the month holding t, and of the next month. */
int64_t rc_month_start(int64_t t);
int64_t rc_month_next(int64_t month);

#endif
