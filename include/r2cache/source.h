/*
 * source.h: where miniSEED comes from. Knows nothing of stores.
 *
 * Two backends behind one interface (private: src/source_int.h):
 *   FDSN dataselect ("https://service.iris.edu", "http://127.0.0.1:8080"; the
 *   client appends /fdsnws/dataselect/1/query, or /queryauth with
 *   credentials, rc_source_opts.auth): bulk POST, one line per
 *   channel and time span; 413 = split the request (lines first, then time)
 *   and concatenate; never more than max_connections (hard cap 5)
 *   connections to the data centre. A pasted service URL
 *   (".../fdsnws/dataselect/1/query", ".../fdsnws/dataselect/1", with or
 *   without a trailing slash) is accepted as its base URL; a URL with a query
 *   or fragment, or naming another FDSN service, is refused (RC_EINVAL) with
 *   the base URL to give instead.
 *   SDS archive ("sds:///abs/path"): SeisComP layout
 *   YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY; returns the records that
 *   overlap each line's span.
 *
 * Both return whole miniSEED 2 records that overlap the request, as real
 * data centres do; trimming is the shape module's job. Every answer is
 * judged by rc_mseed_check (mseed.h) before it is delivered: a delivered
 * RC_OK is whole miniSEED 2 records and nothing else.
 *
 * What a request's status means (rc_fetch_result.status), and what it
 * becomes for the command (the engine's business; listed so the two agree):
 *
 *   RC_OK        records                                    data
 *   RC_ENODATA   the data centre has nothing: HTTP 204, a   "no data", exit 0
 *                404 whose body is an FDSN error document
 *                ("Error 404..."), 200 with an empty body;
 *                SDS: no day file or no matching record
 *   RC_EIO       transient trouble that outlived every      failed windows, exit 1
 *                retry: 408/429/5xx, resets, timeouts and
 *                stalls once connected, answers cut short
 *                (last record cut, or fewer bytes than the
 *                Content-Length); also 413 on a one-second
 *                span and an answer over max_body_bytes
 *   RC_EFORMAT   an answer that is not miniSEED 2: an HTML  failed windows, exit 1
 *                page or text with status 200, bytes before
 *                or between records, miniSEED 3 (named as
 *                such); SDS: a damaged day file or one in
 *                miniSEED 3 (file and byte offset named)
 *   RC_EINVAL    another 4xx: the request was refused       failed windows, exit 1
 *   RC_EAUTH     401 or 403: credentials refused            source unusable, exit 3
 *   RC_EUNUSABLE nothing answers there: the host does not   source unusable, exit 3
 *                resolve or refuses connections, the TLS
 *                certificate does not verify, the connect
 *                times out (all after every retry), or a
 *                404 that is a web server's page rather
 *                than FDSN's, which means the URL is wrong
 *
 * Retried, with full-jitter exponential backoff up to max_attempts and
 * honouring Retry-After: 408/429/500/502/503/504, resets, timeouts, refused
 * or unresolved connections and answers cut short. Not retried: HTML, text,
 * junk and miniSEED 3 answers (they are what that URL serves, not an accident
 * of one transfer: asking again gets the same bytes and only delays the
 * message that the source is wrong), 401/403/404 and other 4xx.
 *
 * Every message names the URL through rc_url_redact (url.h): credentials in
 * a source URL never reach an output; only curl sees the real URL.
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
#define RC_SOURCE_NAME_MAX 64 /* a source's name (sources.h) plus NUL */
/* Default per-answer limit: max_connections (at most 5) answers of 32 MiB
 * stay well inside the 256 Mi memory limit of the shipped pods; the engine
 * packs requests to about 4 MiB of miniSEED. The configuration's
 * fetch.max_body_mib sets it. */
#define RC_SOURCE_DEFAULT_BODY_MIB 32

struct rc_srcauth; /* srcauth.h */

typedef struct rc_source_opts {
    int max_connections;      /* concurrent requests, 1..5 (default 3) */
    double timeout_s;         /* per attempt, whole transfer (default 120) */
    double connect_timeout_s; /* default 10 */
    double stall_timeout_s;   /* abort when < 1 byte/s for this long (default 30) */
    int max_attempts;         /* per request, including the first (default 5) */
    double backoff_base_s;    /* default 1.0 */
    double backoff_cap_s;     /* default 30 */
    double rate_limit_rps;    /* max requests started per second, 0 = none (default 0) */
    size_t max_body_bytes;    /* refuse larger answers (default 32 MiB; fetch.max_body_mib) */
    const char *ca_bundle;    /* NULL = system default; TLS verification is always on */
    /* Credentials for restricted data (srcauth.h), NULL = open data. FDSN
     * only: user and password go by HTTP digest to
     * /fdsnws/dataselect/1/queryauth; an EIDA token is POSTed to
     * /fdsnws/dataselect/1/auth on the first fetch, and the temporary
     * user:password it answers is used for queryauth (fetched again once
     * when queryauth answers 401). The FDSN backend copies the secrets
     * when it opens; rc_source_options still points at the caller's
     * object. Credentials never go into a URL or a message;
     * a refusal (401/403) is RC_EAUTH naming where they came from. */
    const struct rc_srcauth *auth;
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
    int status;      /* RC_OK (data), RC_ENODATA, or the failure after retries */
    rc_buf data;     /* miniSEED bytes when RC_OK; the callback may steal it */
    rc_err err;      /* why, when status is a failure */
    int http_status; /* last HTTP status (0 for SDS or no response) */
    int attempts;    /* HTTP attempts made for this request, splits included */
    int requests;    /* HTTP requests sent for this request (>1 after a 413 split) */
    /* Set by a source list (sources.h) only; a single source leaves them 0.
     * A list delivers one or more results per request: each is about the
     * pieces (parts of the request's lines, piece_line[i] the index of
     * piece i's line in the request) listed here, and more says whether
     * other results for the same request follow. attempts then counts the
     * attempts since the last result for the request, fall-through
     * included. */
    const rc_fetch_line *pieces;
    const size_t *piece_line;
    size_t npieces;
    int more;
    int source_index;         /* entry of the list that answered (valid when source_name) */
    const char *source_name;  /* its name; NULL: not known (failure at every entry) */
    const char *source_shown; /* its redacted URL for messages, NULL likewise */
} rc_fetch_result;

/* Called once per request (a source list: once or more, see
 * rc_fetch_result.more), in the calling thread, in completion order.
 * Return nonzero to stop: outstanding requests are abandoned and
 * rc_source_fetch_many returns RC_EINTR. res->data is freed after return
 * unless stolen (rc_buf_steal). */
typedef int (*rc_fetch_cb)(void *ud, size_t req_index, rc_fetch_result *res);

typedef struct rc_source rc_source;

/* url: FDSN base URL (or a pasted dataselect service URL, see above) or
 * sds:///path. Unknown scheme, a URL with a query, or a missing archive:
 * RC_EINVAL naming the (redacted) URL and the accepted forms. */
int rc_source_open(const char *url, const rc_source_opts *opts, rc_source **out, rc_err *e);
void rc_source_close(rc_source *s);
/* The URL for logs, with credentials redacted (never the URL curl uses). */
const char *rc_source_describe(const rc_source *s);
/* The default name of a source URL: its host in lower case (characters
 * other than letters, digits, '.', '-', '_' become '-'; never a user or
 * password), "sds" for an SDS archive, "source" when there is no host. */
void rc_source_default_name(const char *url, char out[RC_SOURCE_NAME_MAX]);
/* The source's name for the manifest's "source" field: the configured name
 * of a list entry, or for a single source the default name
 * (rc_source_default_name). NULL for a list (its
 * results name their entry). */
const char *rc_source_name(const rc_source *s);
/* A list counts windows written from entry source_index's answers (the
 * engine tells it); no-op for a single source or an index out of range. */
void rc_source_credit(rc_source *s, int source_index, int64_t windows);
/* The options in effect: the caller's, clamped and defaulted by
 * rc_source_open (max_connections at most RC_SOURCE_MAX_CONNECTIONS). */
const rc_source_opts *rc_source_options(const rc_source *s);

/* Fetch every request (concurrently for FDSN). Returns RC_OK when every
 * request was delivered to cb (whatever its status), RC_EINTR when cb asked
 * to stop, or a setup error. */
int rc_source_fetch_many(rc_source *s, const rc_fetch_req *reqs, size_t nreq, rc_fetch_cb cb,
                         void *ud, rc_err *e);

/* Format the FDSN bulk POST body for lines (exposed for tests):
 * "NET STA LOC CHA 2025-11-04T22:00:00 2025-11-04T22:10:00\n", with "--" for
 * an empty location. */
int rc_fdsn_post_body(const rc_fetch_line *lines, size_t n, rc_buf *out);

#endif
