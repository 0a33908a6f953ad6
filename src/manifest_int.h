/*
 * manifest_int.h: what manifest.c and manifest_json.c share, and nothing
 * else includes. manifest.c owns the model (entries, sorted lists, merging,
 * the store round trips, blob metadata); manifest_json.c owns the JSON form
 * (parse, deterministic serialization).
 */
#ifndef R2CACHE_MANIFEST_INT_H
#define R2CACHE_MANIFEST_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "r2cache/err.h"
#include "r2cache/manifest.h"

#define RC_MANIFEST_DAY 86400

/* Insert en (taken over) into the sorted list, replacing an entry with the
 * same start. RC_ENOMEM leaves en to the caller. (manifest.c) */
int rc_manifest_mlist_put(rc_mlist *l, rc_mentry *en);

/* A number in its shortest exact decimal form (100, 40.96). (manifest_json.c) */
void rc_manifest_fmt_num(double v, char *out, size_t n);

/* One entry as a JSON object in the field order of the manifest (history
 * included when with_history). (manifest_json.c) */
int rc_manifest_entry_json(const rc_mentry *en, int64_t day, int with_history, cJSON **out,
                           rc_err *e);

#endif
