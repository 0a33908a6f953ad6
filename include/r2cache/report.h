/*
 * report.h: what is cached, per station, volcano, location or all, shared
 * by `r2cache inventory` and the server's /api/cache-status and / page.
 *
 * A report is built in two steps so a front end can refuse a bad question
 * before it opens anything: rc_report_prepare resolves the scope through
 * the configuration (a bare station code with network and channel, the
 * volcano, the location); rc_report_load reads the inventory from the store
 * (the per-month summaries, or with scan the full data listing, which also
 * rewrites stale summaries) and marks what the scope covers: configured
 * channels (present or not) plus, for scope all and volcano, channels found
 * in the store that the configuration does not name.
 *
 * The JSON follows seed 002's /api/cache-status field for field
 * (extensions are additive).
 */
#ifndef R2CACHE_REPORT_H
#define R2CACHE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "r2cache/buf.h"
#include "r2cache/config.h"
#include "r2cache/err.h"
#include "r2cache/inventory.h"
#include "r2cache/log.h"
#include "r2cache/store.h"

typedef enum rc_report_scope {
    RC_REPORT_STATION = 0,
    RC_REPORT_VOLCANO,
    RC_REPORT_LOCATION,
    RC_REPORT_ALL
} rc_report_scope;

/* "station", "volcano", "location", "all"; RC_EINVAL (naming the word) otherwise. */
rc_status rc_report_scope_parse(const char *s, rc_report_scope *out, rc_err *e);
const char *rc_report_scope_name(rc_report_scope s);

/* The question. Strings are borrowed and must outlive the report. */
typedef struct rc_report_query {
    rc_report_scope scope;
    const char *station;  /* NET.STA.LOC.CHA (a filter in every scope); scope station: also
                             a bare STA with the two below */
    const char *network;  /* with a bare station */
    const char *channel;  /* with a bare station */
    const char *volcano;  /* scope volcano (a filter otherwise) */
    const char *location; /* scope location (a filter otherwise) */
    int64_t from, to;     /* days overlapping [from, to); INT64_MIN/2, INT64_MAX/2 = open */
    int scan;             /* list every data key instead of reading the summaries */
    int threads;          /* parallel readers (1..64; 0 = 8) */
} rc_report_query;

/* An open range, scope all, 8 threads. */
void rc_report_query_default(rc_report_query *q);

typedef struct rc_report {
    rc_report_query q;
    char station[RC_CHAN_STR_MAX]; /* the resolved NET.STA.LOC.CHA (scope station) */
    const rc_config *cfg;
    rc_target *targets; /* of the scope */
    size_t ntargets;
    rc_target *all; /* every configured target */
    size_t nall;
    rc_span base;
    rc_inventory inv; /* after rc_report_load: selected = in scope */
    int loaded;
} rc_report;

/* The checks that need no configuration: the scope has what it needs
 * (--scope volcano a volcano ...), threads within 0..64. RC_EINVAL with the
 * reason otherwise. */
rc_status rc_report_check(const rc_report_query *q, rc_err *e);

/*
 * Check the question and resolve it through cfg (which must outlive the
 * report). RC_EINVAL with the reason when the scope lacks what it needs
 * (--scope volcano without a volcano ...), a bare station code matches no
 * configured channel, or the scope matches nothing. Release with
 * rc_report_free in any case.
 */
rc_status rc_report_prepare(rc_report *r, const rc_report_query *q, const rc_config *cfg,
                            rc_err *e);

/* Read the inventory of the prepared scope from store. Logs a warning when
 * keys do not parse. */
rc_status rc_report_load(rc_report *r, rc_store *store, const rc_log *log, rc_err *e);

void rc_report_free(rc_report *r);

/* What `r2cache inventory --json` prints. NULL when out of memory. */
cJSON *rc_report_json(const rc_report *r);

/* What `r2cache inventory` prints: one line per channel (and, scope
 * station, one per day), then the count of keys that do not parse. */
rc_status rc_report_table(const rc_report *r, rc_buf *out);

/* The HTML availability page of `inventory --html` and the server's "/"
 * (report_html.c). */
rc_status rc_report_page(const rc_report *r, const char *store, int64_t generated, rc_buf *out,
                         rc_err *e);

#endif
