/*
 * inventory.h: what the cache holds, per channel and day, without opening
 * every object: the inventory model (rc_inventory, rc_inv_chan, rc_inv_day)
 * and how it is filled from a listing and the manifests.
 *
 * The keys are self-describing (naming.h), so one listing gives, per channel
 * and day, the number of chunks of every span and their bytes; only what a key
 * cannot tell (provisional chunks, gap statistics) comes from the daily
 * manifests, read in parallel. Keys under data/ that do not parse are counted
 * with a few examples, never skipped silently.
 *
 * A listing of a year of 15 channels is ~816,000 keys, over a minute on S3:
 * the per channel-month summaries of summary.h keep the answer, and
 * object listings for verify and reindex are listing.h's.
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
/* 144 ten-minute windows a day, one bit each. */
#define RC_INV_DAY_WINDOWS 144
#define RC_INV_DAY_BYTES 18

/* Bit k of a day bitmap. */
static inline int rc_inv_bit(const uint8_t *bits, int k)
{
    return (bits[k >> 3] >> (k & 7)) & 1;
}

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
    /* per 10-minute window of the day (bit k = the window starting at
     * k x 10 min): a 10-minute chunk is listed (from the listing), the
     * source confirmed the window empty (from the manifest's source_empty) */
    uint8_t present10[RC_INV_DAY_BYTES];
    uint8_t empty10[RC_INV_DAY_BYTES];
    int64_t source_empty; /* 10-minute windows confirmed empty at the source */
    char *manifest_key;   /* owned; NULL when known only from a summary */
    int64_t unparsed;     /* keys in this channel's folder that do not parse
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
    int64_t listed; /* data keys listed */
    int64_t manifests_read;
    int64_t summaries_read;
    int64_t months_rebuilt; /* summaries (re)written */
    int threads;            /* parallel readers (default 8) */
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
/* Count key as unparsed (with an example while there is room), without
 * charging it to a channel (listing.c). */
void rc_inventory_note_unparsed(rc_inventory *inv, const char *key);

/* List prefix (e.g. "data/") and account every object. */
int rc_inventory_scan(rc_store *st, rc_inventory *inv, const char *prefix, rc_err *e);

/* Read the manifest of every day that has one (parallel, inv->threads),
 * filling provisional and gap statistics. Only channels with selected set
 * when only_selected. Unreadable manifests set manifest_bad. */
int rc_inventory_read_manifests(rc_store *st, rc_inventory *inv, int only_selected, rc_err *e);

/* Self-contained HTML availability report of the selected channels
 * (report_html.c): one row per channel, one cell per day in [from, to). */
int rc_report_html(const rc_inventory *inv, int64_t from, int64_t to, rc_span base,
                   const char *title, rc_buf *out, rc_err *e);

#endif
