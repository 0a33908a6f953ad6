/*
 * fdsnq.h: the requests of FDSN dataselect 1 and availability 1: URL query
 * strings, POST bulk bodies, FDSN times, and code patterns.
 *
 * Query strings: name=value pairs separated by '&', percent-decoded ('+' is
 * a space). Names are case-insensitive; aliases: net/network, sta/station,
 * loc/location, cha/channel, start/starttime, end/endtime. The code
 * parameters may be given more than once (or under both names): their lists
 * are joined. Any other parameter given twice, a parameter the service does
 * not know, or a bad value is RC_EINVAL with a message that starts with
 * the parameter's name ("starttime: ...").
 *
 * POST bodies: "name=value" lines first, then selection lines
 * "NET STA LOC CHA START END" (whitespace separated; "--" for the empty
 * location). Blank lines are skipped. Errors name the parameter or the line.
 *
 * Codes: comma lists of patterns of [A-Z0-9] with '?' (one character) and
 * '*' (any run, also empty); lower case is taken as upper case. Location
 * "--" (or an empty loc= value) is the empty location.
 *
 * Times: YYYY-MM-DDTHH:MM:SS[.f to .ffffff][Z] or YYYY-MM-DD, UTC, to the
 * microsecond.
 */
#ifndef R2CACHE_FDSNQ_H
#define R2CACHE_FDSNQ_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/err.h"

typedef enum rc_fdsnq_service {
    RC_FDSNQ_DATASELECT = 0,
    RC_FDSNQ_AVAIL_QUERY = 1,
    RC_FDSNQ_AVAIL_EXTENT = 2
} rc_fdsnq_service;

#define RC_FDSNQ_LIST_MAX 256 /* a comma list of patterns, as given */
#define RC_FDSNQ_MAX_SEL 10000

/* One selection: comma lists of patterns ("*" = any) and a time window. */
typedef struct rc_fdsnq_sel {
    char net[RC_FDSNQ_LIST_MAX], sta[RC_FDSNQ_LIST_MAX], loc[RC_FDSNQ_LIST_MAX],
        cha[RC_FDSNQ_LIST_MAX];
    int has_start, has_end;
    int64_t start_us, end_us;
} rc_fdsnq_sel;

typedef enum rc_fdsnq_order {
    RC_FDSNQ_ORDER_NSLC = 0, /* nslc_time_quality_samplerate (default) */
    RC_FDSNQ_ORDER_UPDATE,
    RC_FDSNQ_ORDER_UPDATE_DESC,
    RC_FDSNQ_ORDER_COUNT,     /* timespancount (extent only) */
    RC_FDSNQ_ORDER_COUNT_DESC /* timespancount_desc (extent only) */
} rc_fdsnq_order;

typedef struct rc_fdsnq {
    rc_fdsnq_service service;
    rc_fdsnq_sel *sel; /* owned */
    size_t nsel;
    int nodata;      /* 204 (default) or 404 */
    char format[16]; /* dataselect: miniseed; availability: text|geocsv|json|request */
    char quality[RC_FDSNQ_LIST_MAX]; /* pattern list; "*" = any (default) */
    double minimumlength;            /* seconds, dataselect */
    int longestonly;                 /* dataselect */
    int merge_samplerate, merge_quality, merge_overlap;
    double mergegaps;      /* seconds, 0 = none (query) */
    int show_latestupdate; /* query */
    int64_t limit;         /* 0 = no limit */
    rc_fdsnq_order orderby;
    int includerestricted;
} rc_fdsnq;

/* A query string (without '?'; NULL or "" = no parameters). */
int rc_fdsnq_parse_query(rc_fdsnq_service svc, const char *query, rc_fdsnq *out, rc_err *e);
/* A POST body (len bytes, need not be NUL-terminated). */
int rc_fdsnq_parse_post(rc_fdsnq_service svc, const char *body, size_t len, rc_fdsnq *out,
                        rc_err *e);
void rc_fdsnq_free(rc_fdsnq *q);

/* An FDSN time -> microseconds since 1970. RC_EINVAL saying what is wrong. */
int rc_fdsnq_time_parse(const char *s, int64_t *us, rc_err *e);
/* Microseconds -> YYYY-MM-DDTHH:MM:SS.ffffffZ (out: at least 32 bytes). */
void rc_fdsnq_time_format(int64_t us, char *out);

/* 1 when code matches one pattern of the comma list (for locations "--"
 * matches only the empty code). */
int rc_fdsnq_match(const char *list, const char *code);

#endif
