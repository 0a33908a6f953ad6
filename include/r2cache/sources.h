/*
 * sources.h: several sources, chosen per channel and per age of the data.
 *
 * The configuration's "sources" is an ordered list of entries (parsed here,
 * rc_sources_parse; docs/configuration.md "sources"):
 *
 *   {"name": "realtime", "url": "https://rt.example.org",
 *    "networks": ["HV"], "stations": ["AV.GS*"], "max_age": "48h",
 *    "max_connections": 2, "rate_limit_rps": 5, "auth": {...}}
 *
 *   url       FDSN base URL or sds:///path (required)
 *   name      1..63 characters of [A-Za-z0-9._-]; default: the URL's host
 *             in lower case ("sds" for an SDS archive); names are unique
 *   networks  glob patterns (fnmatch) matched against the network code
 *   stations  glob patterns matched against "NET.STA"
 *             an entry with neither takes every channel; with one or both
 *             it takes a channel that any of its patterns matches
 *   min_age, max_age   durations ("48h", "7d"); see "age" below
 *   max_connections, rate_limit_rps, max_attempts, backoff_base_s,
 *   backoff_cap_s, timeout_s, stall_timeout_s   this source's politeness,
 *             overriding the global max_connections and fetch.* fields
 *   auth      this source's credentials, the object of "source_auth"
 *             (srcauth.h), checked when the configuration loads and given
 *             to this entry's source only (never to another entry)
 *
 * Age. Measured from `now` (the command's --now or the clock) and cut at the
 * base span (10 min), so that a window goes to exactly one side of every
 * limit: with B(d) = now - d rounded down to a multiple of the base span,
 * an entry with max_age d takes the data from B(d) on (windows that start at
 * or after B(d)); an entry with min_age d takes the data before B(d)
 * (windows that end at or before B(d)). A request line that crosses a limit
 * is cut there into pieces, each routed on its own. So max_age "48h" on the
 * real-time service followed by min_age "48h" on the archive splits the
 * data at one instant.
 *
 * Routing and fall-through. Each piece goes to the first entry that matches
 * its channel and age. A piece that comes back as no data (RC_ENODATA, or an
 * answer holding no record that overlaps the piece) or as a failure
 * (RC_EIO, RC_EFORMAT, RC_EINVAL, RC_EAUTH, RC_EUNUSABLE) is asked of the
 * next matching entry, and so on. The outcome delivered for a piece is the
 * best one seen: data > no data > failure; when every matching entry failed,
 * the failure delivered is the first one that still lets the run go on
 * (RC_EIO, RC_EFORMAT, RC_EINVAL), and RC_EAUTH/RC_EUNUSABLE (which stop the
 * run) only when every matching entry failed that way. A piece that no entry
 * matches fails with RC_EINVAL naming the channel and the piece. An entry
 * that answered RC_EUNUSABLE or RC_EAUTH is down for the rest of the list's
 * life (one command): its outstanding requests are abandoned and its pieces
 * go straight to the next entry with that error. The
 * entries are asked one after the other (entry 1's requests, then entry
 * 2's with what entry 1 did not deliver, ...); within one entry its own
 * max_connections and rate_limit_rps apply, as for a single source.
 *
 * The list is an rc_source (source.h) whose callback may run several times
 * per request: every rc_fetch_result it delivers names the pieces it is
 * about, which entry answered, and whether more results for the request
 * follow (source.h, rc_fetch_result).
 */
#ifndef R2CACHE_SOURCES_H
#define R2CACHE_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "r2cache/err.h"
#include "r2cache/log.h"
#include "r2cache/source.h"

#define RC_SOURCES_NAME_MAX RC_SOURCE_NAME_MAX
#define RC_SOURCES_MAX 32 /* entries in one list */

typedef struct rc_sources_entry {
    char name[RC_SOURCES_NAME_MAX];
    char *url;
    char **networks; /* glob patterns, may be NULL */
    size_t nnetworks;
    char **stations; /* "NET.STA" glob patterns, may be NULL */
    size_t nstations;
    int has_min_age, has_max_age;
    int64_t min_age_s, max_age_s;
    /* politeness overrides; 0 / negative = the global value */
    int max_connections;
    int max_attempts;
    double rate_limit_rps;                                            /* < 0 = global */
    double backoff_base_s, backoff_cap_s, timeout_s, stall_timeout_s; /* < 0 = global */
    cJSON *auth;                /* owned copy of "auth", or NULL */
    struct rc_srcauth *srcauth; /* "auth" checked by rc_srcauth_parse (owned), or NULL */
} rc_sources_entry;

typedef struct rc_sources_cfg {
    rc_sources_entry *v;
    size_t n;
} rc_sources_cfg;

/* Parse the "sources" array. Errors are RC_EINVAL "FILE: sources[i].FIELD:
 * what is wrong". out is cleared first; free it with rc_sources_cfg_free. */
int rc_sources_parse(const cJSON *arr, const char *file, rc_sources_cfg *out, rc_err *e);
void rc_sources_cfg_free(rc_sources_cfg *c);

/* Open every entry (each an rc_source of its own, with global's options and
 * the entry's overrides) behind one rc_source. now is the reference of the
 * age rules, base_s the base span they are cut at (600 for 10 min). */
int rc_sources_open(const rc_sources_cfg *cfg, const rc_source_opts *global, int64_t now,
                    int64_t base_s, rc_source **out, rc_err *e);

/* What one entry did, added up over the life of the list. Units: requests
 * are HTTP (or SDS) requests; lines are pieces of request lines (one
 * channel, one span of time) asked of it; windows are base-span chunks
 * written from its answers (counted by the engine, rc_source_credit). */
typedef struct rc_sources_stat {
    const char *name;
    const char *shown;     /* the URL through rc_url_redact */
    int64_t requests;      /* requests sent to it */
    int64_t lines;         /* pieces asked of it */
    int64_t lines_data;    /* pieces it delivered data for */
    int64_t lines_no_data; /* pieces it had no data for */
    int64_t lines_failed;  /* pieces it failed */
    int64_t fell_through;  /* of those (no data or failed), asked of a later entry */
    int64_t windows;       /* base-span chunks written from its data */
    int down;              /* answered RC_EUNUSABLE or RC_EAUTH at least once */
    char down_msg[RC_ERR_MSG_MAX];
} rc_sources_stat;

/* Entries of the list s (0 when s is a single source). */
size_t rc_sources_count(const rc_source *s);
const rc_sources_stat *rc_sources_stat_get(const rc_source *s, size_t i);
/* The per-entry figures as a JSON array (NULL when s is not a list). */
cJSON *rc_sources_json(const rc_source *s);
/* One info line per entry, and a warning for each entry that was down
 * ("source NAME (URL) was down ...: N pieces fell through"). No-op for a
 * single source. */
void rc_sources_log_summary(const rc_source *s, const rc_log *log);

#endif
