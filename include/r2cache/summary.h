/*
 * summary.h: the per channel-month summaries of the inventory under index/,
 * their change markers, and their rebuilds.
 *
 * A listing of a year of 15 channels is ~816,000 keys, over a minute on S3.
 * So the inventory (inventory.h) is also kept as one small summary object per
 * channel and month, beside the data (keys built and parsed by naming.h):
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
 * for the months it copies into or deletes from) call rc_summary_touch after
 * every change: one tiny PUT, no read, so writers never contend on the
 * summary itself.
 * `verify` checks every summary against the listing.
 */
#ifndef R2CACHE_SUMMARY_H
#define R2CACHE_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "r2cache/err.h"
#include "r2cache/inventory.h"
#include "r2cache/naming.h"
#include "r2cache/store.h"

/*
 * The one call writers make after each manifest update of a channel-day:
 * marks the channel-month's summary stale (one small unconditional PUT).
 */
int rc_summary_touch(rc_store *st, const rc_chan *c, const char *volcano, int64_t day, rc_err *e);

/* Summary of one channel-month as JSON (caller deletes). marker_etag may be "" */
cJSON *rc_summary_json(const rc_inventory *inv, const rc_inv_chan *ch, int64_t month,
                       const char *marker_etag);
/* Merge a summary object into inv (its channel and days). RC_EFORMAT on bad input. */
int rc_summary_apply(rc_inventory *inv, const cJSON *summary, rc_err *e);

/* Write the summary of every channel-month in inv (channels with selected set
 * when only_selected), skipping those whose stored body is identical.
 * markers (object marker key -> ETag, listed BEFORE the data was) lets each
 * summary record the marker it has absorbed; stored (array as from
 * rc_summary_read_all) lets summaries of months that no longer hold
 * anything be emptied. Both may be NULL. */
int rc_summary_write(rc_store *st, rc_inventory *inv, int only_selected, const cJSON *stored,
                     const cJSON *markers, rc_err *e);

/*
 * The fast path: fill inv from the summaries under index/ (all, or those of
 * the given volcanoes), rebuilding from the data listing every channel-month
 * whose marker changed since its summary was built (the months in parallel,
 * inv->threads). When no summary exists at all, falls back to a full scan of
 * data/ and writes every summary.
 */
int rc_summary_load(rc_store *st, rc_inventory *inv, const char *const *volcanoes,
                    size_t nvolcanoes, rc_err *e);

/* Stored summaries as they are, without refreshing (verify). Each item of
 * *out (a JSON array, caller deletes) is {"key":..., "etag":..., "summary":{...}};
 * markers is an object key -> etag of the change markers found. */
int rc_summary_read_all(rc_store *st, cJSON **out, cJSON **markers, rc_err *e);

#endif
