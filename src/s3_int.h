/*
 * s3_int.h: what the S3 backend's files share (store_s3.c: operations, upload
 * queue, configuration; s3_xfer.c: one request, signed, sent, judged and
 * retried). Private to those two files.
 */
#ifndef R2CACHE_S3_INT_H
#define R2CACHE_S3_INT_H

#include <stdint.h>

#include <curl/curl.h>

#include "r2cache/awscred.h"
#include "r2cache/log.h"
#include "r2cache/retry.h"
#include "r2cache/sigv4.h"
#include "store_int.h"

enum { FORM_UNKNOWN = 0, FORM_QUOTED, FORM_UNQUOTED };
enum { OUT_OK = 0, OUT_RETRY, OUT_FAIL };

typedef struct resp_hdrs {
    char etag[RC_ETAG_MAX];
    char last_modified[64];
    char date[64];
    char request_id[128];
    char bucket_region[64];
    char retry_after[32];
    int64_t content_length;
    rc_obj_meta meta; /* content type, cache control, x-amz-meta-* */
} resp_hdrs;

typedef struct xfer {
    /* request */
    const char *method; /* "GET", "PUT", "HEAD", "DELETE" */
    char *key;          /* the caller's key (no prefix), "" for bucket requests */
    rc_buf path;        /* decoded request path, "/bucket/prefix/key" or "/prefix/key" */
    rc_sigv4_kv query[4];
    char *qval[4];
    size_t nquery;
    rc_obj_meta meta;
    int has_meta;
    char if_match[RC_ETAG_MAX + 2];
    int if_none_match;
    const char *body;
    size_t body_len, body_pos;
    char *owned_body;
    char sha256[65];
    char md5[25];
    /* one attempt */
    struct curl_slist *hdrs;
    long status;
    CURLcode cerr;
    char cerrbuf[CURL_ERROR_SIZE];
    rc_buf resp;
    resp_hdrs rh;
    int attempt;
    double next_at;
    double started;
    char key_tail[8]; /* last four characters of the access key that signed it */
    char last[320];   /* why the previous attempt failed, for the give-up message */
    curl_off_t seen;  /* bytes moved so far in this attempt (both directions) */
    double moved_at;  /* when that count last changed */
    long stall_s;
    int stalled;
    int nstalled; /* attempts of this request that stalled */
    /* async */
    CURL *easy;
    rc_put_done_cb cb;
    void *ud;
    struct xfer *next;
} xfer;

typedef struct s3 {
    rc_store *store;
    char *bucket, *prefix; /* prefix "" or "a/b/" */
    char *scheme, *host;   /* "https", "acct.r2.cloudflarestorage.com[:port]" */
    char *endpoint;        /* for messages: scheme://host */
    char *region;
    rc_awscred *cred;    /* the keys, refreshed when temporary (awscred.c) */
    const char *key_env; /* where the keys came from, for messages (no secret) */
    char *ca_bundle;
    int path_style;
    int ifmatch_form;
    int max_conn, max_attempts;
    long stall_s;
    rc_retry backoff; /* jitter state, base and cap */
    const rc_log *log;
    CURL *easy;
    CURLM *multi;
    CURL **idle; /* handles of finished uploads, reused (max_conn) */
    int nidle;
    xfer **slot;                   /* uploads in flight (max_conn) */
    xfer *queue_head, *queue_tail; /* ready to start */
    xfer *waiting;                 /* backing off until next_at */
    int active, nwaiting, nqueued;
    size_t queued_bytes; /* bodies held by queued, waiting and active uploads */
    int async_failed;
    rc_err async_err; /* first failure of a put_async without callback */
    /* Set when a request stalled on every attempt: the store accepts
     * connections and never answers (a full Ceph cluster blocks writes
     * this way). Every later request of this handle fails at once with it,
     * so a run stops after one bounded wait instead of one per chunk. */
    int unusable;
    rc_err unusable_err;
} s3;

/* ETags travel quoted; the store interface holds them bare. */
void s3_etag_bare(char *dst, size_t cap, const char *v);

/* A request for key (object = 1) or for the bucket (object = 0, key "");
 * NULL when out of memory. */
xfer *s3_xfer_new(s3 *s, const char *method, const char *key, int object);
void s3_xfer_free(xfer *x);
/* Add a query parameter (at most 4): RC_OK, RC_ENOMEM or RC_EINVAL. */
int s3_xfer_query(xfer *x, const char *name, const char *value);
/* Build headers, sign and set up one attempt on handle h. */
int s3_xfer_setup(s3 *s, xfer *x, CURL *h, rc_err *e);
/* Classify the finished attempt (x->cerr, x->easy set): OUT_OK, OUT_RETRY
 * (x->last says why) or OUT_FAIL (e filled). */
int s3_xfer_outcome(s3 *s, xfer *x, rc_err *e);
/* Seconds to wait before the next attempt of x. */
double s3_backoff_s(s3 *s, const xfer *x);
/* The error after the last attempt; returns its code. */
int s3_give_up(s3 *s, xfer *x, rc_err *e);
/* One request on the store's synchronous handle, retried in place. */
int s3_perform(s3 *s, xfer *x, rc_err *e);

#endif
