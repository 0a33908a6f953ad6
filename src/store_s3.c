/*
 * store_s3.c: the S3 backend (AWS S3, Cloudflare R2, Ceph RGW, any
 * S3-compatible server) over libcurl, signed by sigv4.c.
 *
 * Connections: one CURL easy handle per store for synchronous calls, plus a
 * CURLM multi handle with at most max_connections easy handles for
 * put_async, so a fill uploading thousands of small chunks keeps that many
 * requests in flight instead of paying one round trip per object. Handles are
 * reused (curl_easy_reset keeps the connection cache), so requests ride on
 * kept-alive connections.
 *
 * Every attempt is signed afresh (x-amz-date moves) with the real SHA-256
 * of the body in x-amz-content-sha256, plus Content-MD5 on uploads, so both
 * the signature and the storage layer check the payload. "Expect:" is sent
 * empty: R2 does not do 100-continue and it would cost a round trip anyway.
 *
 * Retries: 429, 500, 502, 503 (SlowDown), 504, S3's RequestTimeout, connection
 * resets and stalls are retried with full-jitter exponential backoff
 * (sleep = uniform(0, min(cap, base * 2^attempt))) up to max_attempts; a 429
 * waits at least a second (or Retry-After), because R2 allows one write per
 * second to a key and an early retry would only hit the limit again. A stall
 * is "no byte moved for stall_timeout_s seconds" (default 30; the environment
 * variable R2CACHE_S3_STALL_TIMEOUT overrides it), not a
 * total deadline, so big objects on slow links still complete.
 * Everything else fails at once with one message saying what to fix: bad keys,
 * bad signature, skewed clock, wrong region -> RC_EAUTH; missing bucket ->
 * RC_EUNUSABLE; 412 and 409 -> RC_ECONFLICT; 404 on a key -> RC_ENOTFOUND.
 *
 * If-Match on PUT: AWS and R2 compare the quoted ETag ("\"abc\""), RGW 16.2
 * only the unquoted one. The first conditional replace on a store sends the
 * standard quoted form; if that gets 412 it is retried once unquoted, and
 * whichever form succeeds is used alone from then on. The retry is safe: an
 * ETag that matches in either spelling is the current object's, so the
 * replace is exactly the one the caller asked for; on a real conflict both
 * spellings fail and the caller sees RC_ECONFLICT.
 *
 * Configuration (rc_store_opts fields win over the environment):
 *   endpoint  opts.endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else
 *             https://$R2_ACCOUNT_ID.r2.cloudflarestorage.com, else AWS
 *             (https://s3.REGION.amazonaws.com)
 *   region    opts.region unless NULL/""/"auto", AWS_REGION, AWS_DEFAULT_REGION, "auto"
 *   keys      AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
 *             else R2_ACCESS_KEY_ID + R2_SECRET_ACCESS_KEY
 *   bucket    from the URL; "s3://" or "s3:///PREFIX" takes R2_BUCKET_NAME
 *   TLS       always verified; opts.ca_bundle or AWS_CA_BUNDLE adds a CA file
 *   addressing path-style for IP literals, localhost and bucket names that
 *             are not DNS labels; virtual-host otherwise (opts.addressing forces)
 * Secrets stay in this struct: no message or log line carries the secret
 * key, the session token, the Authorization header or a signature.
 */
#include "store_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "r2cache/log.h"
#include "r2cache/retry.h"
#include "r2cache/s3xml.h"
#include "r2cache/sigv4.h"

#define S3_USER_AGENT "r2cache"
#define S3_CONNECT_TIMEOUT_S 10L
#define S3_DEFAULT_STALL_S 30L
#define S3_QUEUE_FACTOR 4 /* put_async blocks beyond max_connections * this */

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
    char last[320];  /* why the previous attempt failed, for the give-up message */
    curl_off_t seen; /* bytes moved so far in this attempt (both directions) */
    double moved_at; /* when that count last changed */
    long stall_s;
    int stalled;
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
    char *access_key, *secret_key, *token;
    const char *key_env; /* which variables the keys came from, for messages */
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
    int async_failed;
    rc_err async_err; /* first failure of a put_async without callback */
} s3;

/* ---- small helpers ---------------------------------------------------- */

static char *xstrdup(const char *p)
{
    return p ? strdup(p) : NULL;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Last four characters of the access key: enough to tell keys apart. */
static const char *key_tail(const s3 *s)
{
    size_t n = strlen(s->access_key);
    return n > 4 ? s->access_key + n - 4 : s->access_key;
}

static void copy_trim(char *dst, size_t cap, const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* ETags travel quoted; the store interface holds them bare. */
static void etag_bare(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    } else if (n >= 4 && strncmp(v, "W/\"", 3) == 0 && v[n - 1] == '"') {
        v += 3;
        n -= 4;
    }
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* ---- transfers -------------------------------------------------------- */

static void xfer_free(xfer *x)
{
    if (!x) return;
    free(x->key);
    rc_buf_free(&x->path);
    for (size_t i = 0; i < x->nquery; i++)
        free(x->qval[i]);
    free(x->owned_body);
    curl_slist_free_all(x->hdrs);
    rc_buf_free(&x->resp);
    free(x);
}

static xfer *xfer_new(s3 *s, const char *method, const char *key, int object)
{
    xfer *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->method = method;
    x->key = strdup(key ? key : "");
    rc_buf_init(&x->path);
    rc_buf_init(&x->resp);
    int bad = !x->key;
    if (s->path_style) bad = bad || rc_buf_printf(&x->path, "/%s", s->bucket);
    if (object)
        bad = bad || rc_buf_printf(&x->path, "/%s%s", s->prefix, x->key);
    else if (!s->path_style)
        bad = bad || rc_buf_puts(&x->path, "/");
    if (bad) {
        xfer_free(x);
        return NULL;
    }
    return x;
}

static int xfer_query(xfer *x, const char *name, const char *value)
{
    if (x->nquery >= sizeof x->query / sizeof x->query[0]) return RC_EINVAL;
    x->qval[x->nquery] = strdup(value ? value : "");
    if (!x->qval[x->nquery]) return RC_ENOMEM;
    x->query[x->nquery].name = name;
    x->query[x->nquery].value = x->qval[x->nquery];
    x->nquery++;
    return RC_OK;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    return rc_buf_append(&x->resp, p, size * n) == RC_OK ? size * n : 0;
}

static size_t on_upload(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t left = x->body_len - x->body_pos, want = size * n;
    if (want > left) want = left;
    memcpy(p, x->body + x->body_pos, want);
    x->body_pos += want;
    return want;
}

/* A stall is no byte moving either way for stall_s seconds; a slow but
 * moving transfer is never cut (no total deadline). */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    xfer *x = ud;
    double now = rc_retry_monotonic_s();
    if (dlnow + ulnow != x->seen) {
        x->seen = dlnow + ulnow;
        x->moved_at = now;
        return 0;
    }
    if (now - x->moved_at >= (double)x->stall_s) {
        x->stalled = 1;
        return 1;
    }
    return 0;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
    xfer *x = ud;
    if (origin != SEEK_SET || off < 0 || (size_t)off > x->body_len) return CURL_SEEKFUNC_CANTSEEK;
    x->body_pos = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        memset(&x->rh, 0, sizeof x->rh);
        x->rh.content_length = -1;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon) return len;
    size_t nl = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vl = len - nl - 1;
    char name[96];
    if (nl == 0 || nl >= sizeof name) return len;
    for (size_t i = 0; i < nl; i++)
        name[i] = (char)tolower((unsigned char)p[i]);
    name[nl] = '\0';
    resp_hdrs *h = &x->rh;
    char val[RC_META_VAL_MAX];
    copy_trim(val, sizeof val, v, vl);
    if (strcmp(name, "etag") == 0)
        etag_bare(h->etag, sizeof h->etag, val);
    else if (strcmp(name, "last-modified") == 0)
        copy_trim(h->last_modified, sizeof h->last_modified, val, strlen(val));
    else if (strcmp(name, "date") == 0)
        copy_trim(h->date, sizeof h->date, val, strlen(val));
    else if (strcmp(name, "x-amz-request-id") == 0)
        copy_trim(h->request_id, sizeof h->request_id, val, strlen(val));
    else if (strcmp(name, "x-amz-bucket-region") == 0)
        copy_trim(h->bucket_region, sizeof h->bucket_region, val, strlen(val));
    else if (strcmp(name, "retry-after") == 0)
        copy_trim(h->retry_after, sizeof h->retry_after, val, strlen(val));
    else if (strcmp(name, "content-length") == 0)
        h->content_length = strtoll(val, NULL, 10);
    else if (strcmp(name, "content-type") == 0)
        copy_trim(h->meta.content_type, sizeof h->meta.content_type, val, strlen(val));
    else if (strcmp(name, "cache-control") == 0)
        copy_trim(h->meta.cache_control, sizeof h->meta.cache_control, val, strlen(val));
    else if (strncmp(name, "x-amz-meta-", 11) == 0 && name[11])
        rc_obj_meta_set(&h->meta, name + 11, val); /* names we cannot hold are dropped */
    return len;
}

/* Build headers, sign and set up one attempt on handle h. */
static int xfer_setup(s3 *s, xfer *x, CURL *h, rc_err *e)
{
    curl_easy_reset(h);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    rc_buf_reset(&x->resp);
    memset(&x->rh, 0, sizeof x->rh);
    x->rh.content_length = -1;
    x->status = 0;
    x->cerr = CURLE_OK;
    x->cerrbuf[0] = '\0';
    x->body_pos = 0;
    x->started = rc_retry_monotonic_s();
    x->seen = 0;
    x->moved_at = x->started;
    x->stall_s = s->stall_s;
    x->stalled = 0;

    char host[300];
    if (s->path_style)
        snprintf(host, sizeof host, "%s", s->host);
    else
        snprintf(host, sizeof host, "%s.%s", s->bucket, s->host);
    char date[17];
    rc_sigv4_amz_date(time(NULL), date);

    rc_sigv4_kv kv[12 + RC_META_MAX];
    char metaname[RC_META_MAX][RC_META_KEY_MAX + 12];
    size_t n = 0;
    kv[n++] = (rc_sigv4_kv){"host", host};
    kv[n++] = (rc_sigv4_kv){"x-amz-date", date};
    kv[n++] = (rc_sigv4_kv){"x-amz-content-sha256", x->sha256};
    if (s->token) kv[n++] = (rc_sigv4_kv){"x-amz-security-token", s->token};
    if (x->has_meta) {
        kv[n++] =
            (rc_sigv4_kv){"content-type", x->meta.content_type[0] ? x->meta.content_type
                                                                  : "application/octet-stream"};
        if (x->meta.cache_control[0])
            kv[n++] = (rc_sigv4_kv){"cache-control", x->meta.cache_control};
        for (int i = 0; i < x->meta.n && i < RC_META_MAX; i++) {
            snprintf(metaname[i], sizeof metaname[i], "x-amz-meta-%s", x->meta.name[i]);
            kv[n++] = (rc_sigv4_kv){metaname[i], x->meta.value[i]};
        }
    }
    if (strcmp(x->method, "PUT") == 0) kv[n++] = (rc_sigv4_kv){"content-md5", x->md5};
    if (x->if_match[0]) kv[n++] = (rc_sigv4_kv){"if-match", x->if_match};
    if (x->if_none_match) kv[n++] = (rc_sigv4_kv){"if-none-match", "*"};

    rc_sigv4_creds c = {s->access_key, s->secret_key, s->region, "s3"};
    rc_sigv4_req r = {x->method, x->path.data, x->query, x->nquery, kv, n, date, x->sha256};
    rc_sigv4_out so;
    rc_sigv4_out_init(&so);
    int rc = rc_sigv4_sign(&r, &c, &so, e);

    rc_buf url = RC_BUF_INIT, line = RC_BUF_INIT;
    if (rc == RC_OK) {
        int bad = rc_buf_printf(&url, "%s://%s", s->scheme, host) ||
                  rc_sigv4_uri_encode(&url, x->path.data, x->path.len, 1);
        if (!bad && x->nquery)
            bad = rc_buf_puts(&url, "?") || rc_sigv4_canonical_query(&url, x->query, x->nquery);
        for (size_t i = 0; i < n && !bad; i++) {
            rc_buf_reset(&line);
            bad = rc_buf_printf(&line, "%s: %s", kv[i].name, kv[i].value);
            struct curl_slist *l = bad ? NULL : curl_slist_append(x->hdrs, line.data);
            bad = bad || !l;
            if (l) x->hdrs = l;
        }
        rc_buf_reset(&line);
        bad = bad || rc_buf_printf(&line, "Authorization: %s", so.authorization.data);
        const char *extra[] = {line.data, "Expect:", "Accept:", "User-Agent: " S3_USER_AGENT};
        for (size_t i = 0; i < sizeof extra / sizeof extra[0] && !bad; i++) {
            struct curl_slist *l = curl_slist_append(x->hdrs, extra[i]);
            bad = !l;
            if (l) x->hdrs = l;
        }
        if (line.data) /* the Authorization line: wipe our copy */
            memset(line.data, 0, line.cap);
        if (bad) rc = rc_err_set(e, RC_ENOMEM, "out of memory building an S3 request");
    }
    rc_sigv4_out_free(&so);
    if (rc == RC_OK) {
        curl_easy_setopt(h, CURLOPT_URL, url.data);
        curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* keys may hold "//" and "." segments */
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT_S);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (s->ca_bundle) curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_bundle);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->cerrbuf);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(h, CURLOPT_PRIVATE, x);
        if (strcmp(x->method, "PUT") == 0) {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
            curl_easy_setopt(h, CURLOPT_READDATA, x);
            curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
            curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->body_len);
        } else if (strcmp(x->method, "HEAD") == 0) {
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (strcmp(x->method, "DELETE") == 0) {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
        } else {
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        }
    }
    rc_buf_free(&url);
    rc_buf_free(&line);
    return rc;
}

/* ---- outcome of one attempt ------------------------------------------- */

static const char *object_name(const s3 *s, const xfer *x, char *buf, size_t cap)
{
    if (x->key[0])
        snprintf(buf, cap, "s3://%s/%s%s", s->bucket, s->prefix, x->key);
    else
        snprintf(buf, cap, "s3://%s/%s", s->bucket, s->prefix);
    return buf;
}

static void skew_text(const s3 *s, const xfer *x, const rc_s3xml_error *er, char *buf, size_t cap)
{
    (void)s;
    time_t server = -1;
    if (x->rh.date[0]) server = curl_getdate(x->rh.date, NULL);
    if (server < 0 && er->server_time[0]) server = (time_t)rc_s3xml_parse_time(er->server_time);
    if (server < 0) {
        snprintf(buf, cap, "this machine's clock is off from the server's by more than 15 minutes");
        return;
    }
    long d = (long)(time(NULL) - server);
    snprintf(buf, cap, "this machine's clock is off by %ld s (%s the server's time)", labs(d),
             d > 0 ? "ahead of" : "behind");
}

/* Classify the finished attempt. OUT_FAIL fills e. */
static int xfer_outcome(s3 *s, xfer *x, rc_err *e)
{
    char obj[1200];
    object_name(s, x, obj, sizeof obj);
    double ms = (rc_retry_monotonic_s() - x->started) * 1000.0;
    if (x->cerr != CURLE_OK) {
        char stallmsg[96];
        snprintf(stallmsg, sizeof stallmsg, "no data moved for %ld s (stalled connection)",
                 x->stall_s);
        const char *why = x->stalled      ? stallmsg
                          : x->cerrbuf[0] ? x->cerrbuf
                                          : curl_easy_strerror(x->cerr);
        rc_log_debug(s->log, "s3", "%s %s: %s (attempt %d, %.0f ms)", x->method, obj, why,
                     x->attempt, ms);
        switch (x->cerr) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
            rc_err_set(e, RC_EUNUSABLE,
                       "%s %s: cannot reach the S3 endpoint %s (%s); check AWS_ENDPOINT_URL / "
                       "R2_ACCOUNT_ID or the store's endpoint setting",
                       x->method, obj, s->endpoint, why);
            return OUT_FAIL;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
            rc_err_set(e, RC_EUNUSABLE,
                       "%s %s: TLS certificate of %s not accepted (%s); verification stays on: "
                       "give the right CA file (ca_bundle / AWS_CA_BUNDLE)",
                       x->method, obj, s->endpoint, why);
            return OUT_FAIL;
        default:
            snprintf(x->last, sizeof x->last, "%s", why);
            return OUT_RETRY;
        }
    }
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
    long st = x->status;
    rc_log_debug(s->log, "s3", "%s %s -> %ld (attempt %d, %.0f ms)", x->method, obj, st, x->attempt,
                 ms);
    if (st >= 200 && st < 300) return OUT_OK;

    rc_s3xml_error er;
    rc_s3xml_parse_error(x->resp.data, x->resp.len, &er);
    char rid[200] = "";
    const char *reqid = er.request_id[0] ? er.request_id : x->rh.request_id;
    if (reqid[0]) snprintf(rid, sizeof rid, " (request id %s)", reqid);
    const char *code = er.code;

    /* S3 says a slow request in a 400 RequestTimeout, not 408 (not retried here) */
    if ((rc_retry_http_status(st) && st != 408) || strcmp(code, "RequestTimeout") == 0 || strcmp(code, "SlowDown") == 0 ||
        strcmp(code, "InternalError") == 0) {
        snprintf(x->last, sizeof x->last, "HTTP %ld%s%s%s", st, code[0] ? " " : "", code, rid);
        return OUT_RETRY;
    }
    if (st == 412 || st == 409) {
        rc_err_set(e, RC_ECONFLICT,
                   "%s %s: conditional write lost (HTTP %ld %s): the object "
                   "changed meanwhile; re-read and retry%s",
                   x->method, obj, st, code[0] ? code : "", rid);
        return OUT_FAIL;
    }
    if (strcmp(code, "NoSuchBucket") == 0) {
        rc_err_set(e, RC_EUNUSABLE,
                   "bucket %s does not exist at %s: create it, or fix the bucket "
                   "in the store URL (s3://BUCKET/...) or R2_BUCKET_NAME%s",
                   s->bucket, s->endpoint, rid);
        return OUT_FAIL;
    }
    if (strcmp(code, "RequestTimeTooSkewed") == 0) {
        char sk[160];
        skew_text(s, x, &er, sk, sizeof sk);
        rc_err_set(e, RC_EAUTH,
                   "S3 at %s refused the request (RequestTimeTooSkewed): %s; fix the "
                   "clock (NTP) and run again%s",
                   s->endpoint, sk, rid);
        return OUT_FAIL;
    }
    if (strcmp(code, "InvalidAccessKeyId") == 0) {
        rc_err_set(e, RC_EAUTH,
                   "S3 at %s does not know the access key ending in ...%s "
                   "(InvalidAccessKeyId): check %s%s",
                   s->endpoint, key_tail(s), s->key_env, rid);
        return OUT_FAIL;
    }
    if (strcmp(code, "SignatureDoesNotMatch") == 0) {
        rc_err_set(e, RC_EAUTH,
                   "S3 at %s rejected the request signature (SignatureDoesNotMatch): "
                   "the secret does not belong to the access key ending in ...%s; "
                   "check %s%s",
                   s->endpoint, key_tail(s), s->key_env, rid);
        return OUT_FAIL;
    }
    if (strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
        strcmp(code, "AuthorizationQueryParametersError") == 0) {
        rc_err_set(e, RC_EAUTH,
                   "S3 at %s refused the credential scope (%s: %s): check AWS_REGION "
                   "(now \"%s\"; R2 uses \"auto\")%s",
                   s->endpoint, code, er.message, s->region, rid);
        return OUT_FAIL;
    }
    if (st == 301 || st == 307 || strcmp(code, "PermanentRedirect") == 0) {
        rc_err_set(e, RC_EUNUSABLE,
                   "bucket %s is not served by %s in region \"%s\"%s%s%s: set "
                   "AWS_REGION (or the endpoint) to the bucket's region%s",
                   s->bucket, s->endpoint, s->region, x->rh.bucket_region[0] ? " (it is in \"" : "",
                   x->rh.bucket_region, x->rh.bucket_region[0] ? "\")" : "", rid);
        return OUT_FAIL;
    }
    if (st == 403) {
        if (code[0])
            rc_err_set(e, RC_EAUTH,
                       "%s %s: access denied by %s (%s%s%s) for the access key ending "
                       "in ...%s: check %s and the key's permissions on bucket %s%s",
                       x->method, obj, s->endpoint, code, er.message[0] ? ": " : "", er.message,
                       key_tail(s), s->key_env, s->bucket, rid);
        else
            rc_err_set(e, RC_EAUTH,
                       "%s %s: access denied by %s (HTTP 403) for the access key ending "
                       "in ...%s: check %s, the clock, and the key's permissions%s",
                       x->method, obj, s->endpoint, key_tail(s), s->key_env, rid);
        return OUT_FAIL;
    }
    if (st == 404) {
        rc_err_set(e, RC_ENOTFOUND, "store %s: no object %s%s", s->store->url, x->key, rid);
        return OUT_FAIL;
    }
    if (strcmp(code, "XAmzContentSHA256Mismatch") == 0 || strcmp(code, "BadDigest") == 0 ||
        strcmp(code, "InvalidDigest") == 0) {
        rc_err_set(e, RC_EIO,
                   "%s %s: the server received a body different from the one signed "
                   "(%s): it was altered in transit%s",
                   x->method, obj, code, rid);
        return OUT_FAIL;
    }
    rc_err_set(e, RC_EIO, "%s %s at %s failed: HTTP %ld%s%s%s%s%s", x->method, obj, s->endpoint, st,
               code[0] ? " " : "", code, er.message[0] ? ": " : "", er.message, rid);
    return OUT_FAIL;
}

/* Full jitter; a 429 waits at least a second (or Retry-After, within the
 * cap): R2 takes one write per second to a key. */
static double backoff_s(s3 *s, const xfer *x)
{
    double d = rc_retry_backoff(&s->backoff, x->attempt);
    if (x->status == 429) {
        double floor = 1.0;
        double ra = rc_retry_after_parse(x->rh.retry_after, strlen(x->rh.retry_after));
        if (ra > floor) floor = ra;
        if (floor > s->backoff.cap_s) floor = s->backoff.cap_s;
        if (d < floor) d = floor;
    }
    return d;
}

static int give_up(s3 *s, xfer *x, rc_err *e)
{
    char obj[1200];
    object_name(s, x, obj, sizeof obj);
    int unreachable = x->cerr == CURLE_COULDNT_CONNECT;
    return rc_err_set(e, unreachable ? RC_EUNUSABLE : RC_EIO,
                      "%s %s at %s: gave up after %d attempts; last error: %s%s", x->method, obj,
                      s->endpoint, x->attempt, x->last,
                      unreachable ? "; is the endpoint right and the server up?" : "");
}

/* One request, retried in place (synchronous calls). */
static int perform(s3 *s, xfer *x, rc_err *e)
{
    x->easy = s->easy;
    for (x->attempt = 1;; x->attempt++) {
        int rc = xfer_setup(s, x, s->easy, e);
        if (rc) return rc;
        x->cerr = curl_easy_perform(s->easy);
        int out = xfer_outcome(s, x, e);
        if (out == OUT_OK) return RC_OK;
        if (out == OUT_FAIL) return e ? (int)e->code : RC_EIO;
        if (x->attempt >= s->max_attempts) return give_up(s, x, e);
        double d = backoff_s(s, x);
        rc_log_debug(s->log, "retry", "%s %s%s: %s; retrying in %.2f s", x->method, s->prefix,
                     x->key, x->last, d);
        rc_retry_sleep(d, NULL);
    }
}

/* ---- operations ------------------------------------------------------- */

static int check_meta(const s3 *s, const char *key, const rc_obj_meta *m, rc_err *e)
{
    const char *vals[2] = {m->content_type, m->cache_control};
    for (int i = 0; i < 2 + m->n; i++) {
        const char *v = i < 2 ? vals[i] : m->value[i - 2];
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
            if (*p < 0x20 || *p >= 0x7f)
                return rc_err_set(e, RC_EINVAL,
                                  "store %s: put %s: metadata must be printable ASCII (S3 headers)",
                                  s->store->url, key);
    }
    return RC_OK;
}

static int prepare_put(s3 *s, xfer *x, const void *data, size_t len, const rc_obj_meta *meta,
                       rc_err *e)
{
    if (meta) {
        int rc = check_meta(s, x->key, meta, e);
        if (rc) return rc;
        x->meta = *meta;
    }
    x->has_meta = 1;
    x->body = data;
    x->body_len = len;
    rc_sigv4_sha256_hex(data, len, x->sha256);
    rc_sigv4_md5_base64(data, len, x->md5);
    return RC_OK;
}

static int s3_put(rc_store *st, const char *key, const void *data, size_t len, const rc_put_opts *o,
                  char *etag_out, rc_err *e)
{
    s3 *s = st->impl;
    xfer *x = xfer_new(s, "PUT", key, 1);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory putting %s", key);
    int rc = prepare_put(s, x, data, len, o ? o->meta : NULL, e);
    if (rc == RC_OK && o && o->if_none_match) x->if_none_match = 1;
    int form = s->ifmatch_form;
    char bare[RC_ETAG_MAX];
    if (rc == RC_OK && o && o->if_match) {
        etag_bare(bare, sizeof bare, o->if_match);
        snprintf(x->if_match, sizeof x->if_match, form == FORM_UNQUOTED ? "%s" : "\"%s\"", bare);
    }
    if (rc == RC_OK) rc = perform(s, x, e);
    if (o && o->if_match && form == FORM_UNKNOWN) {
        if (rc == RC_OK) {
            s->ifmatch_form = FORM_QUOTED;
        } else if (rc == RC_ECONFLICT && x->status == 412) {
            /* RGW 16.2 compares If-Match with the bare ETag: try that spelling once. */
            snprintf(x->if_match, sizeof x->if_match, "%s", bare);
            rc_err_clear(e);
            rc = perform(s, x, e);
            if (rc == RC_OK) {
                s->ifmatch_form = FORM_UNQUOTED;
                rc_log_debug(s->log, "s3", "%s: If-Match takes the bare ETag here", s->endpoint);
            }
        }
    }
    if (rc == RC_ENOTFOUND && o && o->if_match) {
        rc_err_clear(e);
        rc = rc_err_set(e, RC_ECONFLICT,
                        "PUT s3://%s/%s%s: conditional replace of ETag %s lost: the "
                        "object is gone; re-read and retry",
                        s->bucket, s->prefix, key, bare);
    }
    if (rc == RC_OK && etag_out) {
        if (x->rh.etag[0])
            snprintf(etag_out, RC_ETAG_MAX, "%s", x->rh.etag);
        else
            rc_sigv4_md5_hex(data, len, etag_out);
    }
    xfer_free(x);
    return rc;
}

static void fill_info(const xfer *x, const char *key, rc_obj_info *info, int64_t size)
{
    memset(info, 0, sizeof *info);
    snprintf(info->key, sizeof info->key, "%s", key);
    info->size = size;
    snprintf(info->etag, sizeof info->etag, "%s", x->rh.etag);
    info->mtime = x->rh.last_modified[0] ? (int64_t)curl_getdate(x->rh.last_modified, NULL) : 0;
    info->meta = x->rh.meta;
}

static int s3_get(rc_store *st, const char *key, rc_buf *out, rc_obj_info *info, rc_err *e)
{
    s3 *s = st->impl;
    xfer *x = xfer_new(s, "GET", key, 1);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory getting %s", key);
    memcpy(x->sha256, RC_SIGV4_EMPTY_SHA256, 65);
    int rc = perform(s, x, e);
    if (rc == RC_OK && x->rh.content_length >= 0 && (int64_t)x->resp.len != x->rh.content_length)
        rc = rc_err_set(e, RC_EIO, "GET %s: received %zu bytes of %lld", key, x->resp.len,
                        (long long)x->rh.content_length);
    if (rc == RC_OK) {
        rc_buf_reset(out);
        if (rc_buf_append(out, x->resp.data ? x->resp.data : "", x->resp.len))
            rc = rc_err_set(e, RC_ENOMEM, "out of memory getting %s", key);
        if (info) fill_info(x, key, info, (int64_t)x->resp.len);
    }
    xfer_free(x);
    return rc;
}

static int s3_head(rc_store *st, const char *key, rc_obj_info *info, rc_err *e)
{
    s3 *s = st->impl;
    xfer *x = xfer_new(s, "HEAD", key, 1);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory checking %s", key);
    memcpy(x->sha256, RC_SIGV4_EMPTY_SHA256, 65);
    int rc = perform(s, x, e);
    if (rc == RC_OK) fill_info(x, key, info, x->rh.content_length);
    xfer_free(x);
    return rc;
}

static int s3_del(rc_store *st, const char *key, rc_err *e)
{
    s3 *s = st->impl;
    xfer *x = xfer_new(s, "DELETE", key, 1);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory deleting %s", key);
    memcpy(x->sha256, RC_SIGV4_EMPTY_SHA256, 65);
    int rc = perform(s, x, e);
    if (rc == RC_ENOTFOUND) { /* deleting an absent key is not an error */
        rc_err_clear(e);
        rc = RC_OK;
    }
    xfer_free(x);
    return rc;
}

static int s3_list(rc_store *st, const char *prefix, rc_list_cb cb, void *ud, rc_err *e)
{
    s3 *s = st->impl;
    rc_buf full = RC_BUF_INIT;
    rc_s3xml_list page;
    memset(&page, 0, sizeof page);
    char token[sizeof page.next_token] = "";
    size_t plen = strlen(s->prefix);
    rc_obj_info *info = malloc(sizeof *info);
    int rc = (!info || rc_buf_printf(&full, "%s%s", s->prefix, prefix))
                 ? rc_err_set(e, RC_ENOMEM, "out of memory listing %s", prefix)
                 : RC_OK;
    int stop = 0;
    while (rc == RC_OK && !stop) {
        xfer *x = xfer_new(s, "GET", "", 0);
        if (!x) {
            rc = rc_err_set(e, RC_ENOMEM, "out of memory listing %s", prefix);
            break;
        }
        memcpy(x->sha256, RC_SIGV4_EMPTY_SHA256, 65);
        if (xfer_query(x, "list-type", "2") || xfer_query(x, "prefix", full.data) ||
            xfer_query(x, "max-keys", "1000") ||
            (token[0] && xfer_query(x, "continuation-token", token))) {
            xfer_free(x);
            rc = rc_err_set(e, RC_ENOMEM, "out of memory listing %s", prefix);
            break;
        }
        rc = perform(s, x, e);
        if (rc == RC_ENOTFOUND) /* a 404 on the bucket itself without an error code */
            rc = rc_err_set(e, RC_EUNUSABLE,
                            "bucket %s does not exist at %s: create it, or fix "
                            "the bucket in the store URL",
                            s->bucket, s->endpoint);
        if (rc == RC_OK) {
            rc = rc_s3xml_parse_list(x->resp.data, x->resp.len, &page, e);
            if (rc) rc_err_wrap(e, "listing s3://%s/%s at %s", s->bucket, full.data, s->endpoint);
        }
        xfer_free(x);
        for (size_t i = 0; rc == RC_OK && i < page.n && !stop; i++) {
            const rc_s3xml_object *o = &page.objects[i];
            if (strncmp(o->key, s->prefix, plen) != 0 || strlen(o->key + plen) >= sizeof info->key)
                continue;
            memset(info, 0, sizeof *info);
            snprintf(info->key, sizeof info->key, "%s", o->key + plen);
            info->size = o->size;
            etag_bare(info->etag, sizeof info->etag, o->etag);
            info->mtime = o->mtime > 0 ? o->mtime : 0;
            stop = cb(ud, info);
        }
        if (rc == RC_OK && !page.is_truncated) break;
        if (rc == RC_OK && strcmp(token, page.next_token) == 0) {
            rc = rc_err_set(e, RC_EIO,
                            "listing s3://%s/%s at %s: the server repeated the same "
                            "continuation token",
                            s->bucket, full.data, s->endpoint);
            break;
        }
        snprintf(token, sizeof token, "%s", page.next_token);
    }
    rc_s3xml_list_free(&page);
    rc_buf_free(&full);
    free(info);
    return rc;
}

/* ---- asynchronous puts ------------------------------------------------ */

static void finish_async(s3 *s, xfer *x, int rc, const rc_err *pe)
{
    if (x->cb) {
        x->cb(x->ud, x->key, rc, pe);
    } else if (rc != RC_OK && !s->async_failed) {
        s->async_failed = 1;
        s->async_err = *pe;
    }
    xfer_free(x);
}

static void start_ready(s3 *s)
{
    double now = rc_retry_monotonic_s();
    /* due retries go first: they have waited longest */
    xfer **pp = &s->waiting;
    while (*pp) {
        xfer *x = *pp;
        if (x->next_at <= now) {
            *pp = x->next;
            s->nwaiting--;
            x->next = s->queue_head;
            s->queue_head = x;
            if (!s->queue_tail) s->queue_tail = x;
            s->nqueued++;
        } else {
            pp = &x->next;
        }
    }
    while (s->active < s->max_conn && s->queue_head) {
        xfer *x = s->queue_head;
        s->queue_head = x->next;
        if (!s->queue_head) s->queue_tail = NULL;
        s->nqueued--;
        x->next = NULL;
        CURL *h = s->nidle ? s->idle[--s->nidle] : curl_easy_init();
        rc_err pe;
        rc_err_clear(&pe);
        x->attempt++;
        int rc = h ? xfer_setup(s, x, h, &pe)
                   : rc_err_set(&pe, RC_ENOMEM, "out of memory starting an upload");
        if (rc == RC_OK && curl_multi_add_handle(s->multi, h) != CURLM_OK)
            rc = rc_err_set(&pe, RC_EIO, "cannot start an upload (curl multi)");
        if (rc != RC_OK) {
            if (h) s->idle[s->nidle++] = h;
            finish_async(s, x, rc, &pe);
            continue;
        }
        x->easy = h;
        for (int i = 0; i < s->max_conn; i++)
            if (!s->slot[i]) {
                s->slot[i] = x;
                break;
            }
        s->active++;
    }
}

static void collect_done(s3 *s)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *h = m->easy_handle;
        xfer *x = NULL;
        curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
        x->cerr = m->data.result;
        curl_multi_remove_handle(s->multi, h);
        s->active--;
        for (int i = 0; i < s->max_conn; i++)
            if (s->slot[i] == x) s->slot[i] = NULL;
        rc_err pe;
        rc_err_clear(&pe);
        int out = xfer_outcome(s, x, &pe);
        s->idle[s->nidle++] = h;
        x->easy = NULL;
        if (out == OUT_OK) {
            finish_async(s, x, RC_OK, &pe);
        } else if (out == OUT_RETRY && x->attempt < s->max_attempts) {
            double d = backoff_s(s, x);
            rc_log_debug(s->log, "retry", "PUT %s%s: %s; retrying in %.2f s", s->prefix, x->key,
                         x->last, d);
            x->next_at = rc_retry_monotonic_s() + d;
            x->next = s->waiting;
            s->waiting = x;
            s->nwaiting++;
        } else {
            if (out == OUT_RETRY) give_up(s, x, &pe);
            finish_async(s, x, pe.code ? (int)pe.code : RC_EIO, &pe);
        }
    }
}

/* Move transfers along; with block, wait (briefly) for something to happen. */
static void pump(s3 *s, int block)
{
    start_ready(s);
    int running = 0;
    curl_multi_perform(s->multi, &running);
    collect_done(s);
    start_ready(s);
    if (!block) return;
    long tmo = 200;
    curl_multi_timeout(s->multi, &tmo);
    if (tmo < 0 || tmo > 200) tmo = 200;
    double now = rc_retry_monotonic_s();
    for (xfer *x = s->waiting; x; x = x->next) {
        long w = (long)((x->next_at - now) * 1000.0) + 1;
        if (w < tmo) tmo = w < 0 ? 0 : w;
    }
    if (s->active)
        curl_multi_poll(s->multi, NULL, 0, (int)tmo, NULL);
    else if (tmo > 0)
        rc_retry_sleep((double)tmo / 1000.0, NULL);
}

static int pending(const s3 *s)
{
    return s->active + s->nqueued + s->nwaiting;
}

static int s3_put_async(rc_store *st, const char *key, const void *data, size_t len,
                        const rc_obj_meta *meta, rc_put_done_cb cb, void *ud, rc_err *e)
{
    s3 *s = st->impl;
    xfer *x = xfer_new(s, "PUT", key, 1);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory queueing %s", key);
    x->owned_body = malloc(len ? len : 1);
    if (!x->owned_body) {
        xfer_free(x);
        return rc_err_set(e, RC_ENOMEM, "out of memory queueing %s (%zu bytes)", key, len);
    }
    if (len) memcpy(x->owned_body, data, len);
    int rc = prepare_put(s, x, x->owned_body, len, meta, e);
    if (rc) {
        xfer_free(x);
        return rc;
    }
    x->cb = cb;
    x->ud = ud;
    if (s->queue_tail)
        s->queue_tail->next = x;
    else
        s->queue_head = x;
    s->queue_tail = x;
    s->nqueued++;
    pump(s, 0);
    while (pending(s) > s->max_conn * S3_QUEUE_FACTOR)
        pump(s, 1);
    return RC_OK;
}

static int s3_wait(rc_store *st, rc_err *e)
{
    s3 *s = st->impl;
    while (pending(s))
        pump(s, 1);
    if (s->async_failed) {
        s->async_failed = 0;
        if (e) *e = s->async_err;
        return s->async_err.code ? (int)s->async_err.code : RC_EIO;
    }
    return RC_OK;
}

static void free_list(xfer *x)
{
    while (x) {
        xfer *n = x->next;
        xfer_free(x);
        x = n;
    }
}

static void s3_close(rc_store *st)
{
    s3 *s = st->impl;
    if (!s) return;
    if (pending(s))
        rc_log_warn(s->log, "store",
                    "%s: closed with %d uploads still pending; they were dropped "
                    "(call rc_store_wait first)",
                    st->url, pending(s));
    for (int i = 0; i < s->max_conn && s->slot; i++) {
        xfer *x = s->slot[i];
        if (!x) continue;
        curl_multi_remove_handle(s->multi, x->easy);
        curl_easy_cleanup(x->easy);
        xfer_free(x);
    }
    free(s->slot);
    free_list(s->queue_head);
    free_list(s->waiting);
    for (int i = 0; i < s->nidle; i++)
        curl_easy_cleanup(s->idle[i]);
    free(s->idle);
    if (s->multi) curl_multi_cleanup(s->multi);
    if (s->easy) curl_easy_cleanup(s->easy);
    if (s->secret_key) memset(s->secret_key, 0, strlen(s->secret_key));
    if (s->token) memset(s->token, 0, strlen(s->token));
    free(s->bucket);
    free(s->prefix);
    free(s->scheme);
    free(s->host);
    free(s->endpoint);
    free(s->region);
    free(s->access_key);
    free(s->secret_key);
    free(s->token);
    free(s->ca_bundle);
    free(s);
    st->impl = NULL;
}

static const rc_store_ops s3_ops = {
    .scheme = "s3",
    .put = s3_put,
    .get = s3_get,
    .head = s3_head,
    .del = s3_del,
    .list = s3_list,
    .put_async = s3_put_async,
    .wait = s3_wait,
    .close = s3_close,
};

/* ---- opening ---------------------------------------------------------- */

static int host_is_local(const char *host)
{
    if (host[0] == '[') return 1;
    size_t n = strcspn(host, ":");
    if (n == 9 && strncmp(host, "localhost", 9) == 0) return 1;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)host[i]) && host[i] != '.') return 0;
    return n > 0;
}

static int dns_bucket(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)b[i]) && !isdigit((unsigned char)b[i]) && b[i] != '-') return 0;
    return 1;
}

static int parse_endpoint(s3 *s, const char *ep, const char *where, rc_err *e)
{
    const char *p = strstr(ep, "://");
    if (!p || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0))
        return rc_err_set(e, RC_EINVAL,
                          "S3 endpoint \"%s\" (from %s) must start with https:// "
                          "(or http:// for a local test server)",
                          ep, where);
    s->scheme = strndup(ep, (size_t)(p - ep));
    const char *h = p + 3;
    size_t n = strcspn(h, "/?#");
    if (n == 0)
        return rc_err_set(e, RC_EINVAL, "S3 endpoint \"%s\" (from %s) has no host", ep, where);
    if (strchr(h, '@') && strchr(h, '@') < h + n)
        return rc_err_set(e, RC_EINVAL,
                          "S3 endpoint (from %s) must not contain credentials; use "
                          "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
                          where);
    const char *rest = h + n;
    if (*rest && strcmp(rest, "/") != 0)
        return rc_err_set(e, RC_EINVAL,
                          "S3 endpoint \"%s\" (from %s): give only scheme://host[:port]; "
                          "the bucket and prefix go in the store URL (s3://BUCKET/PREFIX)",
                          ep, where);
    s->host = strndup(h, n);
    if (!s->scheme || !s->host) return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", ep);
    for (char *q = s->host; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    size_t el = strlen(s->scheme) + strlen(s->host) + 4;
    s->endpoint = malloc(el);
    if (!s->endpoint) return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", ep);
    snprintf(s->endpoint, el, "%s://%s", s->scheme, s->host);
    return RC_OK;
}

static int s3_configure(rc_store *st, s3 *s, const char *url, rc_err *e)
{
    const rc_store_opts *o = &st->opts;
    /* bucket and prefix */
    const char *b = url + 5;
    size_t bl = strcspn(b, "/");
    const char *pre = b + bl;
    while (*pre == '/')
        pre++;
    if (bl == 0) {
        const char *eb = env("R2_BUCKET_NAME");
        if (!eb)
            return rc_err_set(e, RC_EINVAL,
                              "store URL %s names no bucket: use s3://BUCKET[/PREFIX] "
                              "or set R2_BUCKET_NAME",
                              url);
        s->bucket = strdup(eb);
    } else {
        s->bucket = strndup(b, bl);
    }
    size_t pl = strlen(pre);
    while (pl && pre[pl - 1] == '/')
        pl--;
    s->prefix = malloc(pl + 2);
    if (!s->bucket || !s->prefix) return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", url);
    memcpy(s->prefix, pre, pl);
    if (pl) s->prefix[pl++] = '/';
    s->prefix[pl] = '\0';
    for (const unsigned char *q = (const unsigned char *)s->bucket; *q; q++)
        if (*q <= ' ' || *q >= 0x7f || strchr("/?#%\\", *q))
            return rc_err_set(e, RC_EINVAL, "store URL %s: \"%s\" is not a valid bucket name", url,
                              s->bucket);
    if (strlen(s->bucket) > 255)
        return rc_err_set(e, RC_EINVAL, "store URL %s: bucket name too long", url);

    /* credentials: a pair from one family, never mixed */
    const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
    if (ak && sk) {
        s->key_env = "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY";
        s->token = xstrdup(env("AWS_SESSION_TOKEN"));
    } else {
        ak = env("R2_ACCESS_KEY_ID");
        sk = env("R2_SECRET_ACCESS_KEY");
        s->key_env = "R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY";
    }
    if (!ak || !sk)
        return rc_err_set(e, RC_EAUTH,
                          "store %s: no S3 credentials: set AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY (or R2_ACCESS_KEY_ID and "
                          "R2_SECRET_ACCESS_KEY)",
                          url);
    s->access_key = strdup(ak);
    s->secret_key = strdup(sk);
    if (!s->access_key || !s->secret_key ||
        (env("AWS_SESSION_TOKEN") && ak == env("AWS_ACCESS_KEY_ID") && !s->token))
        return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", url);

    /* region */
    const char *region =
        o->region && *o->region && strcmp(o->region, "auto") != 0 ? o->region : NULL;
    if (!region) region = env("AWS_REGION");
    if (!region) region = env("AWS_DEFAULT_REGION");

    /* endpoint */
    const char *ep = NULL, *where = NULL;
    char r2[256];
    if (o->endpoint && *o->endpoint) {
        ep = o->endpoint;
        where = "the store's endpoint setting";
    } else if ((ep = env("AWS_ENDPOINT_URL_S3"))) {
        where = "AWS_ENDPOINT_URL_S3";
    } else if ((ep = env("AWS_ENDPOINT_URL"))) {
        where = "AWS_ENDPOINT_URL";
    } else if (env("R2_ACCOUNT_ID")) {
        const char *acct = env("R2_ACCOUNT_ID");
        for (const char *q = acct; *q; q++)
            if (!isalnum((unsigned char)*q))
                return rc_err_set(e, RC_EINVAL, "R2_ACCOUNT_ID \"%s\" is not an account id (hex)",
                                  acct);
        snprintf(r2, sizeof r2, "https://%s.r2.cloudflarestorage.com", acct);
        ep = r2;
        where = "R2_ACCOUNT_ID";
    } else {
        if (!region || strcmp(region, "auto") == 0) region = "us-east-1";
        snprintf(r2, sizeof r2, "https://s3.%s.amazonaws.com", region);
        ep = r2;
        where = "AWS_REGION (no endpoint set)";
    }
    s->region = strdup(region ? region : "auto");
    if (!s->region) return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", url);
    int rc = parse_endpoint(s, ep, where, e);
    if (rc) return rc;

    if (o->addressing == 1)
        s->path_style = 1;
    else if (o->addressing == 2)
        s->path_style = 0;
    else
        s->path_style = host_is_local(s->host) || !dns_bucket(s->bucket);
    if (!s->path_style && !dns_bucket(s->bucket))
        return rc_err_set(e, RC_EINVAL,
                          "store %s: bucket \"%s\" cannot be a host name; use "
                          "path-style addressing",
                          url, s->bucket);

    const char *ca = o->ca_bundle && *o->ca_bundle ? o->ca_bundle : env("AWS_CA_BUNDLE");
    if (ca) {
        if (access(ca, R_OK) != 0)
            return rc_err_set(e, RC_EUNUSABLE, "store %s: CA bundle %s is not readable", url, ca);
        s->ca_bundle = strdup(ca);
    }

    s->max_conn = o->max_connections > 0 ? o->max_connections : 8;
    if (s->max_conn > 64) s->max_conn = 64;
    s->max_attempts = o->max_attempts > 0 ? o->max_attempts : 6;
    rc_retry_init(&s->backoff, o->backoff_base_s > 0 ? o->backoff_base_s : 0.2,
                  o->backoff_cap_s > 0 ? o->backoff_cap_s : 10.0, (uintptr_t)s);
    s->stall_s = o->stall_timeout_s >= 1 ? (long)(o->stall_timeout_s + 0.5) : S3_DEFAULT_STALL_S;
    const char *stall = env("R2CACHE_S3_STALL_TIMEOUT");
    if (stall) {
        char *endp;
        long v = strtol(stall, &endp, 10);
        if (*endp || v < 1 || v > 3600)
            return rc_err_set(e, RC_EINVAL,
                              "R2CACHE_S3_STALL_TIMEOUT=\"%s\": give whole seconds "
                              "(1-3600)",
                              stall);
        s->stall_s = v;
    }
    s->log = o->log;
    return RC_OK;
}

int rc_store_s3_open(rc_store *st, const char *url, rc_err *e)
{
    if (!url || strncmp(url, "s3://", 5) != 0)
        return rc_err_set(e, RC_EINVAL, "store URL %s is not s3://BUCKET[/PREFIX]", url ? url : "");
    s3 *s = calloc(1, sizeof *s);
    if (!s) return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", url);
    s->store = st;
    st->impl = s;
    st->ops = &s3_ops;
    int rc = s3_configure(st, s, url, e);
    if (rc == RC_OK) {
        s->easy = curl_easy_init();
        s->multi = curl_multi_init();
        s->idle = calloc((size_t)s->max_conn, sizeof *s->idle);
        s->slot = calloc((size_t)s->max_conn, sizeof *s->slot);
        if (!s->easy || !s->multi || !s->idle || !s->slot)
            rc = rc_err_set(e, RC_ENOMEM, "out of memory opening %s (curl handles)", url);
        else
            curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)s->max_conn);
    }
    if (rc != RC_OK) {
        s3_close(st);
        st->ops = NULL;
        return rc;
    }
    rc_log_debug(s->log, "store",
                 "%s: endpoint %s, bucket %s, prefix \"%s\", region %s, %s-style, "
                 "keys from %s",
                 url, s->endpoint, s->bucket, s->prefix, s->region,
                 s->path_style ? "path" : "virtual-host", s->key_env);
    return RC_OK;
}
