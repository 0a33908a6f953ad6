/*
 * source.h: where miniSEED comes from. Knows nothing of stores.
 *
 * Two backends behind one interface:
 *   FDSN dataselect ("https://service.iris.edu", "http://127.0.0.1:8080"; the
 *   client appends /fdsnws/dataselect/1/query): bulk POST, one line per
 *   channel and time span; 204 and 404 = no data; 413 = split the request
 *   (lines first, then time) and concatenate; 408/429/500/502/503/504, resets,
 *   timeouts and truncated bodies = retried with full-jitter exponential
 *   backoff up to max_attempts, honouring Retry-After; never more than
 *   max_connections (hard cap 5) connections to the data centre.
 *   SDS archive ("sds:///abs/path"): SeisComP layout
 *   YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY; returns the records that
 *   overlap each line's span.
 *
 * Both return whole miniSEED records that overlap the request, as real data
 * centres do; trimming is the shape module's job.
 */
#ifndef R2CACHE_SOURCE_H
#define R2CACHE_SOURCE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "r2cache/buf.h"
#include "r2cache/err.h"
#include "r2cache/naming.h"

#define RC_SOURCE_MAX_CONNECTIONS 5

typedef struct rc_source_opts {
    int max_connections;   /* concurrent requests, 1..5 (default 3) */
    double timeout_s;      /* per attempt, whole transfer (default 120) */
    double connect_timeout_s; /* default 10 */
    double stall_timeout_s;   /* abort when < 1 byte/s for this long (default 30) */
    int max_attempts;      /* per request, including the first (default 5) */
    double backoff_base_s; /* default 1.0 */
    double backoff_cap_s;  /* default 30 */
    double rate_limit_rps; /* max requests started per second, 0 = none (default 0) */
    size_t max_body_bytes; /* refuse larger responses (default 512 MiB) */
    const char *ca_bundle; /* NULL = system default; TLS verification is always on */
    /* Set by SIGTERM/SIGINT (may be NULL): transfers in flight are abandoned
     * within a second and rc_source_fetch_many returns RC_EINTR, so a stop
     * never waits for a slow data centre. */
    volatile sig_atomic_t *stop;
} rc_source_opts;

/* Fill o with the defaults above. */
void rc_source_opts_default(rc_source_opts *o);

typedef struct rc_fetch_line {
    rc_chan chan;
    int64_t start, end; /* seconds, [start, end) */
} rc_fetch_line;

typedef struct rc_fetch_req {
    const rc_fetch_line *lines;
    size_t n;
} rc_fetch_req;

typedef struct rc_fetch_result {
    int status;       /* RC_OK (data), RC_ENODATA, or the failure after retries */
    rc_buf data;      /* miniSEED bytes when RC_OK; the callback may steal it */
    rc_err err;       /* why, when status is a failure */
    int http_status;  /* last HTTP status (0 for SDS or no response) */
    int attempts;     /* HTTP attempts made for this request, splits included */
    int requests;     /* HTTP requests sent for this request (>1 after a 413 split) */
} rc_fetch_result;

/* Called once per request, in the calling thread, in completion order.
 * Return nonzero to stop: outstanding requests are abandoned and
 * rc_source_fetch_many returns RC_EINTR. res->data is freed after return
 * unless stolen (rc_buf_steal). */
typedef int (*rc_fetch_cb)(void *ud, size_t req_index, rc_fetch_result *res);

typedef struct rc_source rc_source;

/* url: FDSN base URL or sds:///path. Unknown scheme or missing archive:
 * RC_EINVAL naming the URL and the accepted forms. */
int rc_source_open(const char *url, const rc_source_opts *opts, rc_source **out, rc_err *e);
void rc_source_close(rc_source *s);
/* The URL for logs. */
const char *rc_source_describe(const rc_source *s);

/* Fetch every request (concurrently for FDSN). Returns RC_OK when every
 * request was delivered to cb (whatever its status), RC_EINTR when cb asked
 * to stop, or a setup error. */
int rc_source_fetch_many(rc_source *s, const rc_fetch_req *reqs, size_t nreq, rc_fetch_cb cb,
                         void *ud, rc_err *e);

/* Format the FDSN bulk POST body for lines (exposed for tests):
 * "NET STA LOC CHA 2025-11-04T22:00:00 2025-11-04T22:10:00\n", with "--" for
 * an empty location. */
int rc_fdsn_post_body(const rc_fetch_line *lines, size_t n, rc_buf *out);

/* Backend operations; a new source is one file implementing these. */
typedef struct rc_source_ops {
    const char *scheme;
    int (*fetch_many)(rc_source *s, const rc_fetch_req *reqs, size_t nreq, rc_fetch_cb cb,
                      void *ud, rc_err *e);
    void (*close)(rc_source *s);
} rc_source_ops;

struct rc_source {
    const rc_source_ops *ops;
    char *url;
    rc_source_opts opts;
    void *impl;
};

int rc_source_fdsn_open(rc_source *s, rc_err *e); /* source_fdsn.c */
int rc_source_sds_open(rc_source *s, rc_err *e);  /* source_sds.c */

#endif
