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
 * Requests, their signing, the classification of answers and the retries
 * live in s3_xfer.c (shared types: s3_int.h); this file holds the store
 * operations, the upload queue and the configuration.
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
 *   endpoint  opts.endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the AWS
 *             profile's s3/global endpoint_url, else
 *             https://$R2_ACCOUNT_ID.r2.cloudflarestorage.com, else AWS
 *             (https://s3.REGION.amazonaws.com)
 *   region    opts.region unless NULL/""/"auto", AWS_REGION, AWS_DEFAULT_REGION,
 *             the AWS profile's region, "auto"
 *   keys      the AWS credential chain (awscred.h): AWS_ACCESS_KEY_ID +
 *             AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), R2_ACCESS_KEY_ID +
 *             R2_SECRET_ACCESS_KEY, web identity (STS, refreshed), the profile
 *             in ~/.aws/credentials / ~/.aws/config; fetched for every request,
 *             shared with the handles opened from this one's options
 *   bucket    from the URL; "s3://" or "s3:///PREFIX" takes R2_BUCKET_NAME
 *   TLS       always verified; opts.ca_bundle or AWS_CA_BUNDLE adds a CA file
 *   addressing path-style for IP literals, localhost and bucket names that
 *             are not DNS labels; virtual-host otherwise (opts.addressing forces)
 * Secrets stay in this struct: no message or log line carries the secret
 * key, the session token, the Authorization header or a signature.
 */
#include "s3_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/log.h"
#include "r2cache/retry.h"
#include "r2cache/s3xml.h"
#include "r2cache/sigv4.h"

#define S3_DEFAULT_STALL_S 30L
#define S3_QUEUE_FACTOR 4 /* put_async blocks beyond max_connections * this */
/* ... or beyond this many body bytes held (put_async copies each body): a
 * run composing 6-hour chunks of several MB holds a few, not 4 x
 * max_connections of them (memory bounded whatever the chunk size) */
#define S3_QUEUE_BYTES ((size_t)8 << 20)

/* ---- small helpers ---------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
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
    /* hashes the writer already has (of these bytes) are not made again */
    const rc_body_hash *h = meta ? &meta->hash : NULL;
    if (h && strlen(h->sha256) == 64)
        memcpy(x->sha256, h->sha256, 65);
    else
        rc_sigv4_sha256_hex(data, len, x->sha256);
    if (!(h && rc_sigv4_md5_hex_base64(h->md5, x->md5) == 0))
        rc_sigv4_md5_base64(data, len, x->md5);
    return RC_OK;
}

static int s3_put(rc_store *st, const char *key, const void *data, size_t len, const rc_put_opts *o,
                  char *etag_out, rc_err *e)
{
    s3 *s = st->impl;
    int form = s->ifmatch_form;
    char bare[RC_ETAG_MAX] = "";
    xfer *x = s3_xfer_new(s, "PUT", key, 1);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory putting %s", key);
    int rc = prepare_put(s, x, data, len, o ? o->meta : NULL, e);
    if (rc) goto out;
    if (o && o->if_none_match) x->if_none_match = 1;
    if (o && o->if_match) {
        s3_etag_bare(bare, sizeof bare, o->if_match);
        snprintf(x->if_match, sizeof x->if_match, form == FORM_UNQUOTED ? "%s" : "\"%s\"", bare);
    }
    rc = s3_perform(s, x, e);
    if (o && o->if_match && form == FORM_UNKNOWN) {
        if (rc == RC_OK) {
            s->ifmatch_form = FORM_QUOTED;
        } else if (rc == RC_ECONFLICT && x->status == 412) {
            /* RGW 16.2 compares If-Match with the bare ETag: try that spelling once. */
            snprintf(x->if_match, sizeof x->if_match, "%s", bare);
            rc_err_clear(e);
            rc = s3_perform(s, x, e);
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
out:
    s3_xfer_free(x);
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
    xfer *x = s3_xfer_new(s, "GET", key, 1);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory getting %s", key);
    memcpy(x->sha256, RC_SIGV4_EMPTY_SHA256, 65);
    int rc = s3_perform(s, x, e);
    if (rc) goto out;
    if (x->rh.content_length >= 0 && (int64_t)x->resp.len != x->rh.content_length) {
        rc = rc_err_set(e, RC_EIO, "GET %s: received %zu bytes of %lld", key, x->resp.len,
                        (long long)x->rh.content_length);
        goto out;
    }
    rc_buf_reset(out);
    if (rc_buf_append(out, x->resp.data ? x->resp.data : "", x->resp.len))
        rc = rc_err_set(e, RC_ENOMEM, "out of memory getting %s", key);
    if (info) fill_info(x, key, info, (int64_t)x->resp.len);
out:
    s3_xfer_free(x);
    return rc;
}

static int s3_head(rc_store *st, const char *key, rc_obj_info *info, rc_err *e)
{
    s3 *s = st->impl;
    xfer *x = s3_xfer_new(s, "HEAD", key, 1);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory checking %s", key);
    memcpy(x->sha256, RC_SIGV4_EMPTY_SHA256, 65);
    int rc = s3_perform(s, x, e);
    if (rc == RC_OK) fill_info(x, key, info, x->rh.content_length);
    s3_xfer_free(x);
    return rc;
}

static int s3_del(rc_store *st, const char *key, rc_err *e)
{
    s3 *s = st->impl;
    xfer *x = s3_xfer_new(s, "DELETE", key, 1);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory deleting %s", key);
    memcpy(x->sha256, RC_SIGV4_EMPTY_SHA256, 65);
    int rc = s3_perform(s, x, e);
    if (rc == RC_ENOTFOUND) { /* deleting an absent key is not an error */
        rc_err_clear(e);
        rc = RC_OK;
    }
    s3_xfer_free(x);
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
    xfer *x = NULL;
    int rc = RC_OK;
    rc_obj_info *info = malloc(sizeof *info);
    if (!info || rc_buf_printf(&full, "%s%s", s->prefix, prefix)) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory listing %s", prefix);
        goto out;
    }
    for (int stop = 0; !stop;) {
        x = s3_xfer_new(s, "GET", "", 0);
        if (!x || s3_xfer_query(x, "list-type", "2") || s3_xfer_query(x, "prefix", full.data) ||
            s3_xfer_query(x, "max-keys", "1000") ||
            (token[0] && s3_xfer_query(x, "continuation-token", token))) {
            rc = rc_err_set(e, RC_ENOMEM, "out of memory listing %s", prefix);
            goto out;
        }
        memcpy(x->sha256, RC_SIGV4_EMPTY_SHA256, 65);
        rc = s3_perform(s, x, e);
        if (rc == RC_ENOTFOUND) /* a 404 on the bucket itself without an error code */
            rc = rc_err_set(e, RC_EUNUSABLE,
                            "bucket %s does not exist at %s: create it, or fix "
                            "the bucket in the store URL",
                            s->bucket, s->endpoint);
        if (rc) goto out;
        rc = rc_s3xml_parse_list(x->resp.data, x->resp.len, &page, e);
        if (rc) {
            rc_err_wrap(e, "listing s3://%s/%s at %s", s->bucket, full.data, s->endpoint);
            goto out;
        }
        s3_xfer_free(x);
        x = NULL;
        for (size_t i = 0; i < page.n && !stop; i++) {
            const rc_s3xml_object *o = &page.objects[i];
            if (strncmp(o->key, s->prefix, plen) != 0 || strlen(o->key + plen) >= sizeof info->key)
                continue;
            memset(info, 0, sizeof *info);
            snprintf(info->key, sizeof info->key, "%s", o->key + plen);
            info->size = o->size;
            s3_etag_bare(info->etag, sizeof info->etag, o->etag);
            info->mtime = o->mtime > 0 ? o->mtime : 0;
            stop = cb(ud, info);
        }
        if (!page.is_truncated) break;
        if (strcmp(token, page.next_token) == 0) {
            rc = rc_err_set(e, RC_EIO,
                            "listing s3://%s/%s at %s: the server repeated the same "
                            "continuation token",
                            s->bucket, full.data, s->endpoint);
            goto out;
        }
        snprintf(token, sizeof token, "%s", page.next_token);
    }
out:
    s3_xfer_free(x);
    rc_s3xml_list_free(&page);
    rc_buf_free(&full);
    free(info);
    return rc;
}

/* ---- asynchronous puts ------------------------------------------------ */

static void finish_async(s3 *s, xfer *x, int rc, const rc_err *pe)
{
    if (x->owned_body)
        s->queued_bytes -= x->body_len < s->queued_bytes ? x->body_len : s->queued_bytes;
    if (x->cb) {
        x->cb(x->ud, x->key, rc, pe);
    } else if (rc != RC_OK && !s->async_failed) {
        s->async_failed = 1;
        s->async_err = *pe;
    }
    s3_xfer_free(x);
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
        if (s->unusable) { /* the store stopped answering: fail at once */
            rc_err ue = s->unusable_err;
            finish_async(s, x, RC_EUNUSABLE, &ue);
            continue;
        }
        CURL *h = s->nidle ? s->idle[--s->nidle] : curl_easy_init();
        rc_err pe;
        rc_err_clear(&pe);
        x->attempt++;
        int rc = h ? s3_xfer_setup(s, x, h, &pe)
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
        int out = s3_xfer_outcome(s, x, &pe);
        s->idle[s->nidle++] = h;
        x->easy = NULL;
        if (out == OUT_OK) {
            finish_async(s, x, RC_OK, &pe);
        } else if (out == OUT_RETRY && x->attempt < s->max_attempts) {
            double d = s3_backoff_s(s, x);
            rc_log_debug(s->log, "retry", "PUT %s%s: %s; retrying in %.2f s", s->prefix, x->key,
                         x->last, d);
            x->next_at = rc_retry_monotonic_s() + d;
            x->next = s->waiting;
            s->waiting = x;
            s->nwaiting++;
        } else {
            if (out == OUT_RETRY) s3_give_up(s, x, &pe);
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
    int rc;
    xfer *x = s3_xfer_new(s, "PUT", key, 1);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory queueing %s", key);
    x->owned_body = malloc(len ? len : 1);
    if (!x->owned_body) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory queueing %s (%zu bytes)", key, len);
        goto fail;
    }
    if (len) memcpy(x->owned_body, data, len);
    rc = prepare_put(s, x, x->owned_body, len, meta, e);
    if (rc) goto fail;
    x->cb = cb;
    x->ud = ud;
    if (s->queue_tail)
        s->queue_tail->next = x;
    else
        s->queue_head = x;
    s->queue_tail = x;
    s->nqueued++;
    s->queued_bytes += x->body_len;
    pump(s, 0);
    while (pending(s) > s->max_conn * S3_QUEUE_FACTOR ||
           (pending(s) > 1 && s->queued_bytes > S3_QUEUE_BYTES))
        pump(s, 1);
    return RC_OK;
fail: /* not queued: x is still ours */
    s3_xfer_free(x);
    return rc;
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
        s3_xfer_free(x);
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
        s3_xfer_free(x);
    }
    free(s->slot);
    free_list(s->queue_head);
    free_list(s->waiting);
    for (int i = 0; i < s->nidle; i++)
        curl_easy_cleanup(s->idle[i]);
    free(s->idle);
    if (s->multi) curl_multi_cleanup(s->multi);
    if (s->easy) curl_easy_cleanup(s->easy);
    rc_awscred_free(s->cred);
    free(s->bucket);
    free(s->prefix);
    free(s->scheme);
    free(s->host);
    free(s->endpoint);
    free(s->region);
    free(s->ca_bundle);
    free(s);
    st->impl = NULL;
}

static const rc_store_ops s3_ops = {
    .scheme = "s3",
    .body_md5 = 1,
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

    /* keys, and the profile's region and endpoint: the AWS chain (awscred.c) */
    const char *ca = o->ca_bundle && *o->ca_bundle ? o->ca_bundle : env("AWS_CA_BUNDLE");
    if (o->s3_credentials) { /* opened from another S3 handle's options: share its keys */
        s->cred = rc_awscred_ref(o->s3_credentials);
    } else {
        rc_awscred_opts co = {o->log, ca, 0};
        int crc = rc_awscred_open(&co, &s->cred, e);
        if (crc) return rc_err_wrap(e, "store %s", url);
        st->opts.s3_credentials = s->cred;
    }
    s->key_env = rc_awscred_source(s->cred);

    /* region */
    const char *region = NULL, *region_where = "none set";
    if (o->region && *o->region && strcmp(o->region, "auto") != 0) {
        region = o->region;
        region_where = "the store's region setting";
    } else if ((region = env("AWS_REGION"))) {
        region_where = "AWS_REGION";
    } else if ((region = env("AWS_DEFAULT_REGION"))) {
        region_where = "AWS_DEFAULT_REGION";
    } else {
        region = rc_awscred_region(s->cred, &region_where);
        if (!region) region_where = "none set";
    }

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
    } else if ((ep = rc_awscred_endpoint(s->cred, &where))) {
        /* the profile's services s3 endpoint_url or endpoint_url */
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
    rc_log_debug(s->log, "credentials", "%s: credentials: %s; region from %s; endpoint from %s",
                 url, s->key_env, region_where, where);
    /* temporary keys: the first STS call now, so a refusal stops at open */
    rc_awscred_keys *k = malloc(sizeof *k);
    if (!k) return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", url);
    rc = rc_awscred_get(s->cred, k, e);
    rc_awscred_keys_wipe(k);
    free(k);
    if (rc) return rc_err_wrap(e, "store %s", url);
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
    if (rc) goto fail;
    s->easy = curl_easy_init();
    s->multi = curl_multi_init();
    s->idle = calloc((size_t)s->max_conn, sizeof *s->idle);
    s->slot = calloc((size_t)s->max_conn, sizeof *s->slot);
    if (!s->easy || !s->multi || !s->idle || !s->slot) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory opening %s (curl handles)", url);
        goto fail;
    }
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)s->max_conn);
    rc_log_debug(s->log, "store",
                 "%s: endpoint %s, bucket %s, prefix \"%s\", region %s, %s-style, "
                 "keys from %s",
                 url, s->endpoint, s->bucket, s->prefix, s->region,
                 s->path_style ? "path" : "virtual-host", s->key_env);
    return RC_OK;
fail:
    s3_close(st);
    st->ops = NULL;
    return rc;
}
