/*
 * s3_xfer.c: one S3 request (an "xfer") from signing to the outcome of each
 * attempt, and the synchronous retry loop; the S3 backend (store_s3.c) drives
 * it for its operations and its upload queue.
 *
 * Every attempt is signed afresh (x-amz-date moves) with the real SHA-256
 * of the body in x-amz-content-sha256, plus Content-MD5 on uploads, so both
 * the signature and the storage layer check the payload. "Expect:" is sent
 * empty: R2 does not do 100-continue and it would cost a round trip anyway.
 *
 * Retries: 429, 500, 502, 503 (SlowDown), 504, S3's RequestTimeout, connection
 * resets and stalls are retried with full-jitter exponential backoff (retry.c)
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
 * Secrets: the Authorization line is wiped after use; no message names the
 * secret key, the session token or a signature.
 */
#include "s3_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "r2cache/log.h"
#include "r2cache/retry.h"
#include "r2cache/s3xml.h"
#include "r2cache/sigv4.h"

#define S3_USER_AGENT "r2cache"
#define S3_CONNECT_TIMEOUT_S 10L

/* ---- small helpers ---------------------------------------------------- */

/* Last four characters of the access key that signed x: enough to tell keys apart. */
static const char *key_tail(const xfer *x)
{
    return x->key_tail;
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
void s3_etag_bare(char *dst, size_t cap, const char *v)
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

void s3_xfer_free(xfer *x)
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

xfer *s3_xfer_new(s3 *s, const char *method, const char *key, int object)
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
        s3_xfer_free(x);
        return NULL;
    }
    return x;
}

int s3_xfer_query(xfer *x, const char *name, const char *value)
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
        if (!x->stalled) x->nstalled++;
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
        s3_etag_bare(h->etag, sizeof h->etag, val);
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
int s3_xfer_setup(s3 *s, xfer *x, CURL *h, rc_err *e)
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
    rc_awscred_keys *keys = malloc(sizeof *keys); /* the current ones: temporary keys refresh */
    if (!keys) return rc_err_set(e, RC_ENOMEM, "out of memory building an S3 request");
    int krc = rc_awscred_get(s->cred, keys, e);
    if (krc) {
        free(keys);
        return rc_err_wrap(e, "store %s", s->store->url);
    }
    size_t akl = strlen(keys->access_key);
    memcpy(x->key_tail, keys->access_key + (akl > 4 ? akl - 4 : 0), (akl > 4 ? 4 : akl) + 1);
    if (keys->token[0]) kv[n++] = (rc_sigv4_kv){"x-amz-security-token", keys->token};
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

    rc_sigv4_creds c = {keys->access_key, keys->secret_key, s->region, "s3"};
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
    rc_awscred_keys_wipe(keys);
    free(keys);
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
int s3_xfer_outcome(s3 *s, xfer *x, rc_err *e)
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
    if ((rc_retry_http_status(st) && st != 408) || strcmp(code, "RequestTimeout") == 0 ||
        strcmp(code, "SlowDown") == 0 || strcmp(code, "InternalError") == 0) {
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
                   s->endpoint, key_tail(x), s->key_env, rid);
        return OUT_FAIL;
    }
    if (strcmp(code, "SignatureDoesNotMatch") == 0) {
        rc_err_set(e, RC_EAUTH,
                   "S3 at %s rejected the request signature (SignatureDoesNotMatch): "
                   "the secret does not belong to the access key ending in ...%s; "
                   "check %s%s",
                   s->endpoint, key_tail(x), s->key_env, rid);
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
                       key_tail(x), s->key_env, s->bucket, rid);
        else
            rc_err_set(e, RC_EAUTH,
                       "%s %s: access denied by %s (HTTP 403) for the access key ending "
                       "in ...%s: check %s, the clock, and the key's permissions%s",
                       x->method, obj, s->endpoint, key_tail(x), s->key_env, rid);
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
double s3_backoff_s(s3 *s, const xfer *x)
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

int s3_give_up(s3 *s, xfer *x, rc_err *e)
{
    char obj[1200];
    object_name(s, x, obj, sizeof obj);
    if (x->nstalled >= x->attempt) {
        rc_err le;
        rc_err_set(&le, RC_EUNUSABLE,
                   "%s %s at %s: the store accepts connections but never answers (no byte moved "
                   "for %ld s, %d attempts): it is unusable; check its health (a full cluster "
                   "blocks writes this way). What was stored is kept",
                   x->method, obj, s->endpoint, x->stall_s, x->attempt);
        if (!s->unusable) {
            s->unusable = 1;
            s->unusable_err = le;
        }
        if (e) *e = le;
        return RC_EUNUSABLE;
    }
    int unreachable = x->cerr == CURLE_COULDNT_CONNECT;
    return rc_err_set(e, unreachable ? RC_EUNUSABLE : RC_EIO,
                      "%s %s at %s: gave up after %d attempts; last error: %s%s", x->method, obj,
                      s->endpoint, x->attempt, x->last,
                      unreachable ? "; is the endpoint right and the server up?" : "");
}

/* One request, retried in place (synchronous calls). */
int s3_perform(s3 *s, xfer *x, rc_err *e)
{
    x->easy = s->easy;
    if (s->unusable) {
        if (e) *e = s->unusable_err;
        return RC_EUNUSABLE;
    }
    for (x->attempt = 1;; x->attempt++) {
        int rc = s3_xfer_setup(s, x, s->easy, e);
        if (rc) return rc;
        x->cerr = curl_easy_perform(s->easy);
        int out = s3_xfer_outcome(s, x, e);
        if (out == OUT_OK) return RC_OK;
        if (out == OUT_FAIL) return e ? (int)e->code : RC_EIO;
        if (x->attempt >= s->max_attempts) return s3_give_up(s, x, e);
        double d = s3_backoff_s(s, x);
        rc_log_debug(s->log, "retry", "%s %s%s: %s; retrying in %.2f s", x->method, s->prefix,
                     x->key, x->last, d);
        rc_retry_sleep(d, NULL);
    }
}
