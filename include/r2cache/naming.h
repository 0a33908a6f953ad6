/*
 * naming.h: the one place that builds and parses object keys.
 *
 * Two layout profiles (DESIGN.md "Storage layout", "Layout profiles"):
 *
 * seed (default):
 *   data/{YYYY}/{MM}/{NET}/{VOLC}/{STA}/{LOC}/{CHA}/{NET}_{STA}_{LOC}_{CHA}_{RATE}Hz_{START}_to_{END}.bin.zst
 *   data/{YYYY}/{MM}/{NET}/{VOLC}/{STA}/{LOC}/{CHA}/{NET}_{STA}_{LOC}_{CHA}_{RATE}Hz_{DATE}.json
 *   empty location = empty segment ("UWE//HHZ") and empty name field ("HV_UWE__HHZ").
 * viewer:
 *   data/{YYYY}/{MM}/{DD}/{NET}/{VOLC}/{STA}/{LOC}/{CHA}/{TYPE}/{NET}_{STA}_{LOC}_{CHA}_{TYPE}_{START}_to_{END}.bin.zst
 *   data/{YYYY}/{MM}/{DD}/{NET}/{VOLC}/{STA}/{LOC}/{CHA}/{NET}_{STA}_{LOC}_{CHA}_{DATE}.json
 *   empty location = "--"; TYPE = 10m|1h|6h|24h; no rate in names.
 *
 * YEAR/MONTH/DAY/DATE are those of the chunk's start (a chunk ending at
 * midnight lives in its start day). START/END are YYYY-MM-DD-HH-MM-SS, END
 * exclusive. RATE is the shortest decimal that reads back as the same double.
 * Every code is validated (FDSN rules) before it reaches a key, so no key
 * built here contains "/", "..", "_" inside a field, or control bytes.
 * parse(build(x)) == x for every field combination (tests/test_naming.c).
 */
#ifndef R2CACHE_NAMING_H
#define R2CACHE_NAMING_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/err.h"

#define RC_CODE_MAX 9      /* up to 8 characters + NUL */
#define RC_CHAN_STR_MAX 40 /* "NET.STA.LOC.CHA" */
#define RC_VOLCANO_MAX 64
#define RC_KEY_MAX 512
#define RC_RATE_STR_MAX 32

/* A channel: FDSN network, station, location (may be empty), channel codes. */
typedef struct rc_chan {
    char net[RC_CODE_MAX];
    char sta[RC_CODE_MAX];
    char loc[RC_CODE_MAX]; /* "" for the empty location */
    char cha[RC_CODE_MAX];
} rc_chan;

/*
 * FDSN code rules as enforced here: network 1-8, station 1-8, channel 1-8
 * characters of [A-Z0-9]; location 0-8 characters of [A-Z0-9] ("--" and "" both
 * mean empty). Lower case is refused (not silently upcased) with a message.
 */
int rc_chan_validate(const rc_chan *c, rc_err *e);
/* "HV.UWE..HHZ", "HV.UWE.--.HHZ", "AV.N20K.20.BDF" -> rc_chan (validated). */
int rc_chan_parse(const char *s, rc_chan *out, rc_err *e);
/* "NET.STA.LOC.CHA" with empty location as "NET.STA..CHA". out: RC_CHAN_STR_MAX. */
void rc_chan_format(const rc_chan *c, char *out);
int rc_chan_equal(const rc_chan *a, const rc_chan *b);
/* Copy the four codes into c: RC_EINVAL (c zeroed) when one is longer than
 * RC_CODE_MAX - 1 characters; no other check (that is rc_chan_validate). */
int rc_chan_set(rc_chan *c, const char *net, const char *sta, const char *loc, const char *cha);
/* Volcano names: 1-63 characters of [a-z0-9_-], starting with [a-z0-9]. */
int rc_volcano_validate(const char *name, rc_err *e);

typedef enum rc_layout { RC_LAYOUT_SEED = 0, RC_LAYOUT_VIEWER = 1 } rc_layout;
int rc_layout_parse(const char *s, rc_layout *out, rc_err *e); /* "seed" | "viewer" */
const char *rc_layout_name(rc_layout l);

/* Chunk spans, shortest first. The shortest configured span is the base span. */
typedef enum rc_span {
    RC_SPAN_10M = 0,
    RC_SPAN_1H,
    RC_SPAN_6H,
    RC_SPAN_24H,
    RC_SPAN_COUNT
} rc_span;
int64_t rc_span_seconds(rc_span s);
/* Setting / viewer token: "10m", "1h", "6h", "24h". */
const char *rc_span_name(rc_span s);
/* Key of the span's list in a manifest's "chunks": seed "10min","1h","6h","24h";
 * viewer "10m","1h","6h","24h". */
const char *rc_span_manifest_key(rc_layout l, rc_span s);
/* Accepts "10m", "10min", "1h", "6h", "24h". */
int rc_span_parse(const char *s, rc_span *out, rc_err *e);
int rc_span_from_seconds(int64_t seconds, rc_span *out);

/* Shortest decimal form: 100 -> "100", 40.96 -> "40.96", 0.1 -> "0.1",
 * 0.001 -> "0.001". Non-finite or <= 0 is RC_EINVAL. out: RC_RATE_STR_MAX. */
int rc_rate_format(double rate, char *out, rc_err *e);
int rc_rate_parse(const char *s, double *out, rc_err *e);

/* What a chunk key names. start is aligned to the span; end = start + span. */
typedef struct rc_chunk_id {
    rc_chan chan;
    char volcano[RC_VOLCANO_MAX];
    double rate; /* 0 when parsed from a viewer key (no rate in the name) */
    rc_span span;
    int64_t start;
} rc_chunk_id;

/* What a manifest key names: one channel-day. day = 00:00 UTC of the date. */
typedef struct rc_manifest_id {
    rc_chan chan;
    char volcano[RC_VOLCANO_MAX];
    double rate; /* 0 when parsed from a viewer key */
    int64_t day;
} rc_manifest_id;

int rc_key_chunk(rc_layout l, const rc_chunk_id *id, char *out, size_t n, rc_err *e);
int rc_key_manifest(rc_layout l, const rc_manifest_id *id, char *out, size_t n, rc_err *e);

typedef enum rc_key_kind { RC_KEY_CHUNK = 1, RC_KEY_MANIFEST = 2 } rc_key_kind;

typedef struct rc_key_info {
    rc_key_kind kind;
    rc_chunk_id chunk;       /* valid when kind == RC_KEY_CHUNK */
    rc_manifest_id manifest; /* valid when kind == RC_KEY_MANIFEST */
} rc_key_info;

/*
 * Parse a key of layout l (without any store prefix). Every field is checked:
 * folder fields must agree with the file name, START/END must be aligned and
 * one span apart, the date folder must be the start's. RC_EINVAL with a
 * message naming the offending part otherwise.
 */
int rc_key_parse(rc_layout l, const char *key, rc_key_info *out, rc_err *e);

/* "data/" — every key of both layouts lives under it. */
const char *rc_key_root(void);

/*
 * Smallest listing prefix that holds every key (chunks of all spans and the
 * manifest) of one channel on one day:
 *   seed:   data/YYYY/MM/NET/VOLC/STA/LOC/CHA/   (month folder: filter by date)
 *   viewer: data/YYYY/MM/DD/NET/VOLC/STA/LOC/CHA/
 */
int rc_key_prefix_channel_day(rc_layout l, const rc_chan *c, const char *volcano, int64_t day,
                              char *out, size_t n, rc_err *e);

/*
 * The channel-day whose folders hold key, for a key of layout l that does
 * not parse as a whole (a stray file in a channel folder):
 *   seed:   data/YYYY/MM/NET/VOLC/STA/LOC/CHA/...  (day = the month's first)
 *   viewer: data/YYYY/MM/DD/NET/VOLC/STA/LOC/CHA/...
 * RC_OK with c, volcano (RC_VOLCANO_MAX) and day when the folders name a
 * valid channel and date; RC_EINVAL otherwise (e untouched; may be NULL).
 */
int rc_key_folder(rc_layout l, const char *key, rc_chan *c, char *volcano, int64_t *day);

/*
 * Keys of the inventory index, beside the data (both layouts share it):
 *   index/{VOLCANO}/{NET}.{STA}.{LOC}.{CHA}/{YYYY}-{MM}.json   summary
 *   index/{VOLCANO}/{NET}.{STA}.{LOC}.{CHA}/{YYYY}-{MM}.dirty  change marker
 */
typedef enum rc_index_kind { RC_INDEX_SUMMARY = 1, RC_INDEX_MARKER = 2 } rc_index_kind;

typedef struct rc_index_id {
    rc_chan chan;
    char volcano[RC_VOLCANO_MAX];
    int64_t month; /* first day of the month, 00:00 UTC */
    rc_index_kind kind;
} rc_index_id;

/* Key of a channel-month's summary or marker (month = any time in it). */
int rc_key_index(const rc_chan *c, const char *volcano, int64_t month, rc_index_kind kind,
                 char *out, size_t n, rc_err *e);
/* Parse an index key. RC_EINVAL (e may be NULL) for anything else under
 * index/ (or outside it). */
int rc_key_index_parse(const char *key, rc_index_id *out, rc_err *e);
/* Listing prefix of the index: "index/", or "index/{VOLCANO}/" when volcano
 * is neither NULL nor "". */
void rc_key_index_prefix(const char *volcano, char *out, size_t n);

/*
 * Keys of per-source state (rebuildable: what r2cache learnt about a data
 * centre, never data), beside data/ and index/:
 *   state/sources/{HOST}.json    HOST = "host" or "host_port" for a source
 *                                 at host:port; lower case, [a-z0-9.-]
 * rc_key_source_state takes "host" or "host:port"; the parse gives it back.
 */
int rc_key_source_state(const char *host, char *out, size_t n, rc_err *e);
/* The host of a source state key (host: n bytes); RC_EINVAL (e may be
 * NULL) for any other key. */
int rc_key_source_state_parse(const char *key, char *host, size_t n, rc_err *e);

#endif
