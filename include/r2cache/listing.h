/*
 * listing.h: a listing of the object keys under a prefix, parsed (naming.h)
 * and sorted so that each channel-day is one run, and the walk over those
 * runs. verify and reindex work one channel-day at a time from it.
 */
#ifndef R2CACHE_LISTING_H
#define R2CACHE_LISTING_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "r2cache/err.h"
#include "r2cache/inventory.h"
#include "r2cache/naming.h"
#include "r2cache/store.h"

typedef struct rc_listing_obj {
    char *key; /* owned */
    rc_key_info ki;
    int64_t size, mtime;
} rc_listing_obj;

typedef struct rc_listing {
    rc_listing_obj *v;
    size_t n, cap;
} rc_listing;

/* List prefix into out (parsed keys only; the others go to unparsed, which
 * may be NULL), sorted by channel, volcano, day, then manifest first, span,
 * start, so that a channel-day is one run. */
int rc_listing_list(rc_store *st, rc_layout l, const char *prefix, rc_listing *out,
                    rc_inventory *unparsed, rc_err *e);
void rc_listing_free(rc_listing *o);
const rc_chan *rc_listing_obj_chan(const rc_listing_obj *o);
const char *rc_listing_obj_volcano(const rc_listing_obj *o);
int64_t rc_listing_obj_day(const rc_listing_obj *o);

/* Called with the objects o[0..n) of one channel-day (the manifest first,
 * when there is one). Nonzero stops the walk. */
typedef int (*rc_listing_day_fn)(void *user, const rc_listing_obj *o, size_t n);

/* Walk l one channel-day at a time, in order, calling fn for the days that
 * overlap [from, to); stops before the next day once *stop (may be NULL) is
 * set. Returns what the last call of fn returned (0 when it ran to the end
 * or was stopped). */
int rc_listing_each_day(const rc_listing *l, int64_t from, int64_t to,
                        const volatile sig_atomic_t *stop, rc_listing_day_fn fn, void *user);

#endif
