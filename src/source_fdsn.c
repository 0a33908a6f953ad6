/*
 * source_fdsn.c: miniSEED from an FDSN dataselect web service.
 *
 * One thread, one curl multi handle per source (its connection cache is what
 * lets consecutive requests reuse connections), at most max_connections
 * transfers in flight. Each caller request becomes a tree of "parts": the
 * root holds all its lines; a 413 splits a part in two (lines first, then a
 * single line's time span at a whole second) and the halves are fetched like
 * any other part. When every leaf is done the leaves' bodies are
 * concatenated in tree order, so the caller sees the records in the order of
 * its lines whatever the server forced on us. A time split may return the
 * record that straddles the cut twice; the shape module drops identical
 * duplicates, so that is harmless and cheaper than parsing here.
 *
 * Failures are retried per part with full-jitter exponential backoff (retry.c)
 * (AWS's "Exponential Backoff and Jitter"), bounded by a cap and an attempt
 * limit; Retry-After wins over the jitter when the server sends it. Waiting
 * parts sit in a queue with a not-before time, so a backoff never blocks the
 * other transfers. Client errors (400, 401, 403, ...) fail fast: retrying a
 * request the server rejected only hammers the data centre.
 *
 * Nothing is delivered as data before rc_mseed_check has found it to be
 * whole miniSEED 2 records (judge_200); what else can come back, and the
 * status each answer gets, is the table in source.h.
 *
 * Restricted data (rc_source_opts.auth, srcauth.h): with credentials every
 * request goes to /fdsnws/dataselect/1/queryauth with HTTP digest (curl's
 * CURLOPT_USERNAME/PASSWORD, never the URL). An EIDA token is exchanged for
 * temporary credentials at /fdsnws/dataselect/1/auth before the first
 * request (token_exchange, blocking: once per open) and once more when
 * queryauth answers 401 to them. A refusal names where the credentials came
 * from, never what they are.
 */
#include "source_fdsn_int.h"

#include "r2cache/mseed.h"
#include "r2cache/retry.h"
#include "r2cache/srcauth.h"
#include "r2cache/timewin.h"
#include "r2cache/url.h"
#include "r2cache/version.h"

#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define QUERY_PATH "/fdsnws/dataselect/1/query"
#define QUERYAUTH_PATH "/fdsnws/dataselect/1/queryauth"
#define AUTH_PATH "/fdsnws/dataselect/1/auth"
/* Longest answer of the EIDA token service ("user:password"). */
#define AUTH_ANSWER_MAX 4096

enum auth_kind { AUTH_NONE, AUTH_DIGEST, AUTH_TOKEN };

typedef struct fdsn_impl {
    char *query_url; /* what curl asks, credentials included */
    char *shown;     /* query_url through rc_url_redact: what messages name */
    /* Restricted data (srcauth.h): digest credentials for queryauth, given
     * or (AUTH_TOKEN) fetched from auth_url with the token. Secrets live
     * only here and in curl's handles; messages name `where`. */
    enum auth_kind auth;
    char *user, *password; /* NULL until fetched with a token */
    char *token;
    char *where;
    char *auth_url, *auth_shown;
    int cred_gen;     /* bumped whenever user/password change */
    int refetched;    /* the token was exchanged again after a 401 */
    int need_refetch; /* a 401 with the current temporary credentials */
    CURLM *multi;
    struct curl_slist *headers;
    rc_retry backoff;  /* jitter state, base and cap from the options */
    double last_start; /* monotonic time of the last transfer start (rate limit) */
} fdsn_impl;

enum part_state { PART_QUEUED, PART_ACTIVE, PART_DONE, PART_SPLIT };

typedef struct fdsn_req fdsn_req;

typedef struct fdsn_part {
    fdsn_req *req;
    rc_fetch_line *lines; /* own copy: a split rewrites spans */
    size_t n;
    struct fdsn_part *sub[2];
    enum part_state state;
    int status; /* RC_OK or RC_ENODATA once PART_DONE */
    int attempts;
    int sent;     /* counted in req->requests once */
    int cred_gen; /* f->cred_gen when started */
    double not_before;
    CURL *easy;
    rc_buf post;
    rc_buf body;
    double retry_after; /* seconds, -1 when absent */
    size_t limit;       /* max_body_bytes */
    int too_big, nomem;
    char curl_err[CURL_ERROR_SIZE];
    char ctype[80]; /* Content-Type of the last answer, printable, "" when none */
} fdsn_part;

struct fdsn_req {
    size_t index;
    fdsn_part *root;
    size_t open; /* parts queued or in flight */
    int done;    /* delivered (or being abandoned) */
    int failed;
    int http_status;
    int attempts;
    int requests;
    rc_err err;
};

typedef struct fetch_run {
    rc_source *s;
    fdsn_impl *f;
    fdsn_req *reqs;
    size_t nreq;
    size_t delivered;
    fdsn_part **queue; /* parts waiting to start, FIFO */
    size_t qlen, qcap;
    int active;
    rc_fetch_cb cb;
    void *ud;
    int stop;
} fetch_run;

/* ---- parts ---------------------------------------------------------------- */

static fdsn_part *part_new(fdsn_req *req, const rc_fetch_line *lines, size_t n)
{
    fdsn_part *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->lines = malloc((n ? n : 1) * sizeof *lines);
    if (!p->lines) {
        free(p);
        return NULL;
    }
    memcpy(p->lines, lines, n * sizeof *lines);
    p->n = n;
    p->req = req;
    p->retry_after = -1;
    rc_buf_init(&p->post);
    rc_buf_init(&p->body);
    if (rc_fdsn_post_body(lines, n, &p->post)) {
        free(p->lines);
        free(p);
        return NULL;
    }
    return p;
}

static void part_free(fetch_run *r, fdsn_part *p)
{
    if (!p) return;
    part_free(r, p->sub[0]);
    part_free(r, p->sub[1]);
    if (p->easy) {
        curl_multi_remove_handle(r->f->multi, p->easy);
        curl_easy_cleanup(p->easy);
        r->active--;
    }
    rc_buf_free(&p->post);
    rc_buf_free(&p->body);
    free(p->lines);
    free(p);
}

static int queue_push(fetch_run *r, fdsn_part *p)
{
    if (r->qlen == r->qcap) {
        size_t cap = r->qcap ? r->qcap * 2 : 64;
        fdsn_part **q = realloc(r->queue, cap * sizeof *q);
        if (!q) return RC_ENOMEM;
        r->queue = q;
        r->qcap = cap;
    }
    p->state = PART_QUEUED;
    r->queue[r->qlen++] = p;
    return RC_OK;
}

static void queue_remove_at(fetch_run *r, size_t i)
{
    memmove(r->queue + i, r->queue + i + 1, (r->qlen - i - 1) * sizeof *r->queue);
    r->qlen--;
}

/* Drop a request's waiting parts before they are freed. */
static void queue_drop_req(fetch_run *r, const fdsn_req *q)
{
    size_t j = 0;
    for (size_t i = 0; i < r->qlen; i++)
        if (r->queue[i]->req != q) r->queue[j++] = r->queue[i];
    r->qlen = j;
}

/* Short description of a part's lines for messages: "HV.HOVE..HHZ
 * 2019-04-14T03:10:00Z..2019-04-14T03:12:00Z (+2 more lines)". */
static void part_what(const fdsn_part *p, char *out, size_t n)
{
    char c[RC_CHAN_STR_MAX];
    rc_chan_format(&p->lines[0].chan, c);
    char a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
    rc_time_iso(p->lines[0].start, a);
    rc_time_iso(p->lines[0].end, b);
    if (p->n > 1)
        snprintf(out, n, "%s %s..%s (+%zu more lines)", c, a, b, p->n - 1);
    else
        snprintf(out, n, "%s %s..%s", c, a, b);
}

/* ---- curl callbacks ------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    fdsn_part *p = ud;
    size_t n = size * nmemb;
    /* MAXFILESIZE only checks an announced Content-Length in this curl. */
    if (n > p->limit - p->body.len) {
        p->too_big = 1;
        return 0;
    }
    if (rc_buf_append(&p->body, ptr, n)) {
        p->nomem = 1;
        return 0;
    }
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    fdsn_part *p = ud;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or 100): forget the previous one. */
        p->retry_after = -1;
        rc_buf_reset(&p->body);
    } else if (n > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
        /* An HTTP-date (-1) falls back to jitter. */
        p->retry_after = rc_retry_after_parse(buf + 12, n - 12);
    }
    return n;
}

/* ---- starting transfers --------------------------------------------------- */

void fdsn_curl_policy(CURL *h, const rc_source_opts *o)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(o->timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)ceil(o->stall_timeout_s));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_bundle) curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_bundle);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
}

static int part_start(fetch_run *r, fdsn_part *p, rc_err *e)
{
    const rc_source_opts *o = &r->s->opts;
    CURL *h = curl_easy_init();
    if (!h) return rc_err_set(e, RC_ENOMEM, "cannot create an HTTP handle for %s", r->f->shown);
    rc_buf_reset(&p->body);
    p->retry_after = -1;
    p->too_big = p->nomem = 0;
    p->limit = o->max_body_bytes;
    p->curl_err[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, r->f->query_url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, p->post.data ? p->post.data : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->post.len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->f->headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "r2cache/" R2CACHE_VERSION);
    if (r->f->user) {
        /* curl copies them; never part of the URL. Not resent to another
         * host on a redirect (CURLOPT_UNRESTRICTED_AUTH stays off). */
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_DIGEST);
        curl_easy_setopt(h, CURLOPT_USERNAME, r->f->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, r->f->password);
    }
    p->cred_gen = r->f->cred_gen;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, p);
    curl_easy_setopt(h, CURLOPT_PRIVATE, p);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, p->curl_err);
    fdsn_curl_policy(h, o);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    /* Refuse an announced oversize body before reading it; on_body_limit
     * catches bodies without Content-Length. */
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body_bytes);
    if (curl_multi_add_handle(r->f->multi, h) != CURLM_OK) {
        curl_easy_cleanup(h);
        return rc_err_set(e, RC_EIO, "cannot start an HTTP transfer to %s", r->f->shown);
    }
    p->easy = h;
    p->state = PART_ACTIVE;
    p->attempts++;
    p->req->attempts++;
    if (!p->sent) {
        p->sent = 1;
        p->req->requests++;
    }
    r->active++;
    r->f->last_start = rc_retry_monotonic_s();
    return RC_OK;
}

/* Start whatever may start now, in FIFO order; return seconds until a
 * waiting part may start (-1 = none waiting). */
static double start_ready(fetch_run *r, rc_err *e, int *err)
{
    const rc_source_opts *o = &r->s->opts;
    double wait = -1;
    size_t i = 0;
    while (i < r->qlen) {
        fdsn_part *p = r->queue[i];
        double now = rc_retry_monotonic_s();
        double t = p->not_before;
        if (o->rate_limit_rps > 0 && r->f->last_start > 0) {
            double slot = r->f->last_start + 1.0 / o->rate_limit_rps;
            if (slot > t) t = slot;
        }
        if (t > now || r->active >= o->max_connections) {
            double w = t > now ? t - now : 0;
            if (wait < 0 || w < wait) wait = w;
            i++;
            continue;
        }
        queue_remove_at(r, i);
        if (part_start(r, p, e)) {
            *err = 1;
            return 0;
        }
    }
    return wait;
}

/* ---- completion ------------------------------------------------------------ */

static void concat_leaves(const fdsn_part *p, rc_buf *out, int *nomem)
{
    if (p->state == PART_SPLIT) {
        concat_leaves(p->sub[0], out, nomem);
        concat_leaves(p->sub[1], out, nomem);
    } else if (p->state == PART_DONE && p->status == RC_OK) {
        if (rc_buf_append(out, p->body.data, p->body.len)) *nomem = 1;
    }
}

static void deliver(fetch_run *r, fdsn_req *q)
{
    rc_fetch_result res;
    memset(&res, 0, sizeof res);
    rc_buf_init(&res.data);
    res.http_status = q->http_status;
    res.attempts = q->attempts;
    res.requests = q->requests;
    if (q->failed) {
        res.status = q->err.code;
        res.err = q->err;
    } else {
        int nomem = 0;
        concat_leaves(q->root, &res.data, &nomem);
        if (nomem) {
            rc_buf_free(&res.data);
            res.status = rc_err_set(&res.err, RC_ENOMEM, "out of memory joining the answers of %s",
                                    r->f->shown);
        } else if (res.data.len > r->s->opts.max_body_bytes) {
            rc_buf_free(&res.data);
            res.status = rc_err_set(&res.err, RC_EIO,
                                    "answers from %s exceed the %zu-byte answer limit together "
                                    "(max_body_bytes, set by fetch.max_body_mib): ask for shorter "
                                    "spans or raise fetch.max_body_mib",
                                    r->f->shown, r->s->opts.max_body_bytes);
        } else {
            res.status = res.data.len ? RC_OK : RC_ENODATA;
        }
    }
    q->done = 1;
    /* Frees waiting and in-flight siblings of a failed part too. */
    queue_drop_req(r, q);
    part_free(r, q->root);
    q->root = NULL;
    r->delivered++;
    if (r->cb(r->ud, q->index, &res)) r->stop = 1;
    rc_buf_free(&res.data);
}

static void fail_part(fetch_run *r, fdsn_part *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail_part(fetch_run *r, fdsn_part *p, int code, const char *fmt, ...)
{
    fdsn_req *q = p->req;
    char msg[RC_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    q->failed = 1;
    rc_err_set(&q->err, code, "%s", msg);
    deliver(r, q);
}

/* First line of an error body, printable bytes only, for messages. */
static void first_line(const rc_buf *b, char *out, size_t n)
{
    size_t j = 0;
    const char *d = b->data ? b->data : "";
    size_t i = 0;
    /* Skip leading blank lines. */
    while (i < b->len && (d[i] == '\n' || d[i] == '\r'))
        i++;
    for (; i < b->len && d[i] != '\n' && d[i] != '\r' && j + 1 < n; i++)
        out[j++] = isprint((unsigned char)d[i]) ? d[i] : '?';
    out[j] = '\0';
    if (j == 0) snprintf(out, n, "(empty body)");
}

/* Advice at the end of a message, by what went wrong. */
#define ADVICE_TRANSIENT "the data centre is unreachable or overloaded, try again later"
#define ADVICE_UNREACHABLE                                                                         \
    "the source cannot be used: check the host name and port in the source URL, and the network "  \
    "(DNS, firewall, proxy)"
#define ADVICE_CUT                                                                                 \
    "the data centre (or a proxy) cuts its answers short: try again later, or ask for shorter "    \
    "spans"
#define ADVICE_URL                                                                                 \
    "check --source: it takes the data centre's base URL, e.g. https://service.iris.edu "          \
    "(r2cache appends /fdsnws/dataselect/1/query)"

/* Another attempt after a backoff, or, once max_attempts are spent, the
 * request fails with code and a message ending in advice. */
static void part_retry_or_fail(fetch_run *r, fdsn_part *p, int code, const char *why,
                               const char *advice)
{
    const rc_source_opts *o = &r->s->opts;
    char what[256];
    part_what(p, what, sizeof what);
    if (p->attempts >= o->max_attempts) {
        fail_part(r, p, code, "FDSN dataselect %s failed for %s: %s, gave up after %d attempts; %s",
                  r->f->shown, what, why, p->attempts, advice);
        return;
    }
    /* Retry-After wins over the jitter, within the cap. */
    double delay = p->retry_after >= 0
                       ? (p->retry_after > o->backoff_cap_s ? o->backoff_cap_s : p->retry_after)
                       : rc_retry_backoff(&r->f->backoff, p->attempts);
    p->not_before = rc_retry_monotonic_s() + delay;
    rc_buf_reset(&p->body);
    if (queue_push(r, p))
        fail_part(r, p, RC_ENOMEM, "out of memory queueing a retry to %s", r->f->shown);
}

/* 413: halve the lines, or a single line's span at a whole second. */
static void part_split(fetch_run *r, fdsn_part *p)
{
    fdsn_part *a = NULL, *b = NULL;
    if (p->n > 1) {
        size_t h = p->n / 2;
        a = part_new(p->req, p->lines, h);
        b = part_new(p->req, p->lines + h, p->n - h);
    } else {
        rc_fetch_line l = p->lines[0];
        int64_t span = l.end - l.start;
        if (span < 2) {
            char what[256];
            part_what(p, what, sizeof what);
            fail_part(r, p, RC_EIO,
                      "FDSN dataselect %s answered 413 (request too large) even for %s, which "
                      "cannot be split further",
                      r->f->shown, what);
            return;
        }
        rc_fetch_line left = l, right = l;
        left.end = right.start = l.start + span / 2;
        a = part_new(p->req, &left, 1);
        b = part_new(p->req, &right, 1);
    }
    if (!a || !b) {
        part_free(r, a);
        part_free(r, b);
        fail_part(r, p, RC_ENOMEM, "out of memory splitting a request to %s", r->f->shown);
        return;
    }
    p->sub[0] = a;
    p->sub[1] = b;
    p->state = PART_SPLIT;
    rc_buf_free(&p->body);
    p->req->open += 1; /* two halves replace p */
    a->not_before = b->not_before = 0;
    if (queue_push(r, a) || queue_push(r, b)) {
        a->state = b->state = PART_DONE;
        fail_part(r, p, RC_ENOMEM, "out of memory splitting a request to %s", r->f->shown);
    }
}

static void part_done(fetch_run *r, fdsn_part *p, int status)
{
    p->state = PART_DONE;
    p->status = status;
    if (status != RC_OK) rc_buf_free(&p->body);
    if (--p->req->open == 0) deliver(r, p->req);
}

/* The media type of a Content-Type header, printable, without parameters. */
static void media_type(const char *ct, char *out, size_t n)
{
    size_t j = 0;
    while (ct && (*ct == ' ' || *ct == '\t'))
        ct++;
    for (; ct && *ct && *ct != ';' && j + 1 < n; ct++)
        out[j++] = isprint((unsigned char)*ct) && *ct != '"' ? *ct : '?';
    while (j > 0 && out[j - 1] == ' ')
        j--;
    out[j] = '\0';
}

/* "the record starting at byte offset M (H of W bytes)" for a cut answer. */
static void cut_record(const rc_mseed_report *rep, char *out, size_t n)
{
    if (rep->kind != RC_MSEED_TRUNCATED)
        snprintf(out, n, "%s", "");
    else if (rep->want)
        snprintf(out, n, ", in the record starting at byte offset %zu (%zu of %zu bytes)",
                 rep->offset, rep->have, rep->want);
    else
        snprintf(out, n, ", in the record starting at byte offset %zu (its header incomplete)",
                 rep->offset);
}

/* Is this 404 FDSN's own "no data" (an FDSN error document, "Error 404:
 * ..."), rather than a web server's page for a URL it does not serve? */
static int fdsn_error_doc(const rc_buf *b, const char *code)
{
    size_t i = 0;
    while (i < b->len && isspace((unsigned char)b->data[i]))
        i++;
    size_t k = strlen(code);
    return b->len - i >= 6 + k && strncasecmp(b->data + i, "Error ", 6) == 0 &&
           strncmp(b->data + i + 6, code, k) == 0;
}

/*
 * A 200 answer is judged by its bytes (mseed.h), whatever its Content-Type
 * says (small servers send miniSEED as text/html): whole miniSEED 2 records
 * are data; a cut last record is retried like any cut transfer; an HTML
 * page, text, stray bytes or miniSEED 3 fail at once with what came back.
 */
static void judge_200(fetch_run *r, fdsn_part *p, const char *what)
{
    if (p->body.len == 0) {
        part_done(r, p, RC_ENODATA);
        return;
    }
    rc_mseed_report rep;
    if (rc_mseed_check(p->body.data, p->body.len, &rep) == RC_OK) {
        p->body.len = rep.end; /* trailing zero padding is not data */
        p->body.data[rep.end] = '\0';
        part_done(r, p, RC_OK);
        return;
    }
    char ct[96];
    if (p->ctype[0])
        snprintf(ct, sizeof ct, "%s", p->ctype);
    else
        snprintf(ct, sizeof ct, "no Content-Type");
    if (rep.kind == RC_MSEED_TRUNCATED) {
        char rec[160], why[320];
        cut_record(&rep, rec, sizeof rec);
        snprintf(why, sizeof why, "answer cut short at byte %zu%s", p->body.len, rec);
        part_retry_or_fail(r, p, RC_EIO, why, ADVICE_CUT);
        return;
    }
    if (rep.kind == RC_MSEED_V3) {
        fail_part(r, p, RC_EFORMAT,
                  "FDSN dataselect %s, asked for %s: the data centre answered miniSEED 3 "
                  "(record at byte offset %zu, %s), not miniSEED 2: libmseed 2 reads miniSEED 2 "
                  "only; ask the data centre for format=miniseed (miniSEED 2), or use a source "
                  "that serves miniSEED 2",
                  r->f->shown, what, rep.offset, ct);
        return;
    }
    int html = rep.kind == RC_MSEED_HTML || strncasecmp(p->ctype, "text/html", 9) == 0;
    if (rep.records == 0 && rep.next == RC_MSEED_NONE) {
        /* nothing in it is miniSEED: the URL serves something else */
        const char *is = html ? "an HTML page" : rep.kind == RC_MSEED_TEXT ? "text" : "bytes";
        fail_part(r, p, RC_EFORMAT,
                  "FDSN dataselect %s, asked for %s: the data centre answered %s (%s), not "
                  "miniSEED: starts \"%s\"; %s",
                  r->f->shown, what, is, ct, rep.head, ADVICE_URL);
        return;
    }
    fail_part(r, p, RC_EFORMAT,
              "FDSN dataselect %s, asked for %s: the answer (%s) is not whole miniSEED 2: %s; "
              "the data centre (or a proxy in between) adds bytes to its answers: report it to "
              "the data centre",
              r->f->shown, what, ct, rep.message);
}

/*
 * queryauth refused the credentials. Temporary credentials from an EIDA
 * token expire: a part that started with credentials since replaced is
 * simply asked again, and the first 401 with the current ones has the token
 * exchanged again (once per source open, in the loop). Otherwise the
 * request fails RC_EAUTH, naming where the credentials came from.
 */
static void auth_refused(fetch_run *r, fdsn_part *p, long st, const char *what)
{
    fdsn_impl *f = r->f;
    if (st == 401 && f->auth == AUTH_TOKEN && (p->cred_gen != f->cred_gen || !f->refetched)) {
        if (p->cred_gen == f->cred_gen) f->need_refetch = 1;
        p->not_before = 0;
        rc_buf_reset(&p->body);
        if (queue_push(r, p))
            fail_part(r, p, RC_ENOMEM, "out of memory queueing a retry to %s", f->shown);
        return;
    }
    fail_part(r, p, RC_EAUTH,
              "the data centre refused the credentials from %s (HTTP %ld) for %s: check "
              "them%s%s",
              f->where, st, f->shown, st == 403 ? " and that they may read " : "",
              st == 403 ? what : "");
}

static void on_complete(fetch_run *r, fdsn_part *p, CURLcode cc)
{
    fdsn_req *q = p->req;
    long st = 0;
    curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &st);
    char *ct = NULL;
    if (curl_easy_getinfo(p->easy, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK) ct = NULL;
    media_type(ct, p->ctype, sizeof p->ctype);
    curl_off_t announced = -1, pre = 0;
    curl_easy_getinfo(p->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
    curl_easy_getinfo(p->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
    long sent = 0;
    curl_easy_getinfo(p->easy, CURLINFO_REQUEST_SIZE, &sent);
    int connected = st > 0 || pre > 0 || sent > 0;
    curl_multi_remove_handle(r->f->multi, p->easy);
    curl_easy_cleanup(p->easy);
    p->easy = NULL;
    r->active--;
    q->http_status = (int)st;
    char what[256];
    part_what(p, what, sizeof what);

    if (cc != CURLE_OK) {
        char why[CURL_ERROR_SIZE + 200];
        snprintf(why, sizeof why, "curl error %d (%s)%s%s", (int)cc, curl_easy_strerror(cc),
                 p->curl_err[0] ? ": " : "", p->curl_err);
        rc_retry_class kind = rc_retry_curl(cc, connected);
        if (p->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
            fail_part(r, p, RC_EIO,
                      "FDSN dataselect %s: the answer for %s exceeds the %zu-byte answer limit "
                      "(max_body_bytes, set by fetch.max_body_mib): ask for shorter spans or "
                      "raise fetch.max_body_mib",
                      r->f->shown, what, r->s->opts.max_body_bytes);
        } else if (p->nomem) {
            fail_part(r, p, RC_ENOMEM, "out of memory receiving %s from %s", what, r->f->shown);
        } else if (cc == CURLE_PARTIAL_FILE && st == 200) {
            /* fewer bytes than the Content-Length announced */
            rc_mseed_report rep;
            rc_mseed_check(p->body.data, p->body.len, &rep);
            char rec[160], an[64] = "";
            cut_record(&rep, rec, sizeof rec);
            if (announced >= 0)
                snprintf(an, sizeof an, " of the %lld announced (Content-Length)",
                         (long long)announced);
            snprintf(why, sizeof why, "answer cut short at byte %zu%s%s", p->body.len, an, rec);
            part_retry_or_fail(r, p, RC_EIO, why, ADVICE_CUT);
        } else if (kind == RC_RETRY_UNREACHED) {
            part_retry_or_fail(r, p, RC_EUNUSABLE, why, ADVICE_UNREACHABLE);
        } else if (kind == RC_RETRY_NEVER) {
            fail_part(r, p, RC_EUNUSABLE,
                      "FDSN dataselect %s cannot be used for %s: curl error %d (%s)%s%s; check "
                      "the source URL%s",
                      r->f->shown, what, (int)cc, curl_easy_strerror(cc),
                      p->curl_err[0] ? ": " : "", p->curl_err,
                      cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE
                          ? " and the CA bundle (ca_bundle) that verifies its certificate"
                          : "");
        } else if (kind == RC_RETRY_TRANSIENT) {
            part_retry_or_fail(r, p, RC_EIO, why, ADVICE_TRANSIENT);
        } else {
            fail_part(r, p, RC_EIO, "FDSN dataselect %s failed for %s: %s", r->f->shown, what, why);
        }
        return;
    }
    if (st == 200) {
        judge_200(r, p, what);
    } else if (st == 204) {
        part_done(r, p, RC_ENODATA);
    } else if (st == 404 && fdsn_error_doc(&p->body, "404")) {
        part_done(r, p, RC_ENODATA); /* FDSN's no data (nodata=404 style) */
    } else if (st == 404) {
        /* a web server's page: there is no dataselect service at this URL */
        rc_mseed_report rep;
        rc_mseed_check(p->body.data, p->body.len, &rep);
        const char *is = p->body.len == 0 ? "an empty body"
                         : rep.kind == RC_MSEED_HTML || strncasecmp(p->ctype, "text/html", 9) == 0
                             ? "a web page"
                             : "a page";
        fail_part(r, p, RC_EUNUSABLE,
                  "FDSN dataselect %s answered 404 Not Found for %s with %s (%s%s%s%s), not an "
                  "FDSN no-data answer: there is no dataselect service at this URL; %s",
                  r->f->shown, what, is, p->ctype[0] ? p->ctype : "no Content-Type",
                  p->body.len ? ", starts \"" : "", p->body.len ? rep.head : "",
                  p->body.len ? "\"" : "", ADVICE_URL);
    } else if (st == 413) {
        part_split(r, p);
    } else if (rc_retry_http_status(st)) {
        char why[64];
        snprintf(why, sizeof why, "HTTP %ld", st);
        part_retry_or_fail(r, p, RC_EIO, why, ADVICE_TRANSIENT);
    } else if ((st == 401 || st == 403) && r->f->auth != AUTH_NONE) {
        auth_refused(r, p, st, what);
    } else {
        char line[200];
        first_line(&p->body, line, sizeof line);
        int code = (st == 401 || st == 403)  ? RC_EAUTH
                   : (st >= 400 && st < 500) ? RC_EINVAL
                                             : RC_EIO;
        fail_part(r, p, code, "FDSN dataselect %s refused %s with HTTP %ld: %s%s", r->f->shown,
                  what, st, line,
                  code == RC_EAUTH ? "; the data centre refused access: check the credentials "
                                     "in the source URL and that they may read these channels"
                                   : "");
    }
}

/* ---- the EIDA token exchange ---------------------------------------------- */

typedef struct auth_answer {
    rc_buf body;
    int too_big;
} auth_answer;

static size_t on_auth_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    auth_answer *a = ud;
    size_t n = size * nmemb;
    if (a->body.len + n > AUTH_ANSWER_MAX) {
        a->too_big = 1;
        return 0;
    }
    return rc_buf_append(&a->body, ptr, n) ? 0 : n;
}

static void wipe_free(char *s)
{
    if (!s) return;
    volatile char *v = s;
    while (*v)
        *v++ = '\0';
    free(s);
}

static void wipe_buf(rc_buf *b)
{
    if (b->data) memset(b->data, 0, b->len);
    rc_buf_free(b);
}

/* The answer "user:password" (surrounding white space dropped) into f. */
static int take_credentials(fdsn_impl *f, rc_buf *b, rc_err *e)
{
    char *d = b->data ? b->data : "";
    size_t n = b->len;
    while (n > 0 && isspace((unsigned char)d[n - 1]))
        n--;
    size_t i = 0;
    while (i < n && isspace((unsigned char)d[i]))
        i++;
    const char *colon = memchr(d + i, ':', n - i);
    int ok = colon && colon > d + i && (size_t)(colon - d) + 1 < n;
    for (size_t k = i; ok && k < n; k++)
        if (!isprint((unsigned char)d[k])) ok = 0;
    if (!ok)
        return rc_err_set(e, RC_EUNUSABLE,
                          "the EIDA token service %s answered 200 but not with temporary "
                          "credentials (user:password, %zu bytes): check that this data centre "
                          "takes EIDA tokens, or give user and password instead",
                          f->auth_shown, b->len);
    char *user = strndup(d + i, (size_t)(colon - (d + i)));
    char *pass = strndup(colon + 1, n - (size_t)(colon + 1 - d));
    if (!user || !pass) {
        free(user);
        wipe_free(pass);
        return rc_err_set(e, RC_ENOMEM, "out of memory reading credentials from %s", f->auth_shown);
    }
    free(f->user);
    wipe_free(f->password);
    f->user = user;
    f->password = pass;
    f->cred_gen++;
    return RC_OK;
}

/*
 * POST the EIDA token to the data centre's /auth and keep the temporary
 * credentials it answers. Blocking (it happens once per source open, and
 * once more after a 401), retried like a dataselect request; the answer is
 * never printed, it is a password.
 */
static int token_exchange(rc_source *s, fdsn_impl *f, rc_err *e)
{
    const rc_source_opts *o = &s->opts;
    for (int attempt = 1;; attempt++) {
        if (o->stop && *o->stop)
            return rc_err_set(e, RC_EINTR, "fetch from %s stopped by the caller", f->shown);
        CURL *h = curl_easy_init();
        if (!h)
            return rc_err_set(e, RC_ENOMEM, "cannot create an HTTP handle for %s", f->auth_shown);
        auth_answer a = {RC_BUF_INIT, 0};
        char cerr[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(h, CURLOPT_URL, f->auth_url);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, f->token);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(f->token));
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, f->headers);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "r2cache/" R2CACHE_VERSION);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_auth_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
        fdsn_curl_policy(h, o);
        CURLcode cc = curl_easy_perform(h);
        long st = 0, sent = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
        curl_easy_cleanup(h);
        int rc = RC_OK, retry = 0;
        char why[CURL_ERROR_SIZE + 200] = "";
        if (cc == CURLE_OK && st == 200) {
            rc = take_credentials(f, &a.body, e);
        } else if (cc != CURLE_OK) {
            snprintf(why, sizeof why, "curl error %d (%s)%s%s", (int)cc, curl_easy_strerror(cc),
                     cerr[0] ? ": " : "", cerr);
            rc_retry_class k = rc_retry_curl(cc, st > 0 || sent > 0);
            if (a.too_big)
                rc = rc_err_set(e, RC_EUNUSABLE,
                                "the EIDA token service %s answered more than %d bytes, not "
                                "temporary credentials: check that this data centre takes EIDA "
                                "tokens",
                                f->auth_shown, AUTH_ANSWER_MAX);
            else if (k == RC_RETRY_TRANSIENT || k == RC_RETRY_UNREACHED)
                retry = 1, rc = k == RC_RETRY_UNREACHED ? RC_EUNUSABLE : RC_EIO;
            else
                rc = rc_err_set(e, RC_EUNUSABLE, "the EIDA token service %s cannot be used: %s",
                                f->auth_shown, why);
        } else if (st == 401 || st == 403) {
            rc = rc_err_set(e, RC_EAUTH,
                            "the data centre refused the credentials from %s (HTTP %ld) for %s: "
                            "check them (an EIDA token expires: download a new one)",
                            f->where, st, f->auth_shown);
        } else if (st == 404) {
            rc = rc_err_set(e, RC_EUNUSABLE,
                            "there is no EIDA token service at %s (HTTP 404): this data centre "
                            "does not take EIDA tokens; give user and password instead",
                            f->auth_shown);
        } else if (rc_retry_http_status(st)) {
            snprintf(why, sizeof why, "HTTP %ld", st);
            retry = 1, rc = RC_EIO;
        } else {
            rc = rc_err_set(e, RC_EIO,
                            "the EIDA token service %s answered HTTP %ld to the token from %s",
                            f->auth_shown, st, f->where);
        }
        wipe_buf(&a.body);
        if (!retry) return rc;
        if (attempt >= o->max_attempts)
            return rc_err_set(e, rc,
                              "the EIDA token service %s failed: %s, gave up after %d attempts; "
                              "%s",
                              f->auth_shown, why, attempt,
                              rc == RC_EUNUSABLE ? ADVICE_UNREACHABLE : ADVICE_TRANSIENT);
        rc_retry_sleep(rc_retry_backoff(&f->backoff, attempt), o->stop);
    }
}

/* ---- the loop -------------------------------------------------------------- */

static void run_free(fetch_run *r)
{
    for (size_t i = 0; i < r->nreq; i++)
        part_free(r, r->reqs[i].root);
    free(r->reqs);
    free(r->queue);
}

static int fdsn_fetch_many(rc_source *s, const rc_fetch_req *reqs, size_t nreq, rc_fetch_cb cb,
                           void *ud, rc_err *e)
{
    fetch_run r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.f = s->impl;
    r.nreq = nreq;
    r.cb = cb;
    r.ud = ud;
    r.reqs = calloc(nreq, sizeof *r.reqs);
    if (!r.reqs) return rc_err_set(e, RC_ENOMEM, "out of memory preparing %zu requests", nreq);
    for (size_t i = 0; i < nreq; i++) {
        fdsn_req *q = &r.reqs[i];
        q->index = i;
        if (reqs[i].n == 0) continue; /* delivered as no data below */
        q->root = part_new(q, reqs[i].lines, reqs[i].n);
        if (!q->root || queue_push(&r, q->root)) {
            run_free(&r);
            return rc_err_set(e, RC_ENOMEM, "out of memory preparing %zu requests", nreq);
        }
        q->open = 1;
    }
    int rc = RC_OK;
    if (r.f->auth == AUTH_TOKEN && !r.f->user && (rc = token_exchange(s, r.f, e)) != RC_OK) {
        run_free(&r);
        return rc;
    }
    for (size_t i = 0; i < nreq && !r.stop; i++)
        if (!r.reqs[i].root) deliver(&r, &r.reqs[i]);

    while (!r.stop && r.delivered < nreq) {
        if (s->opts.stop && *s->opts.stop) {
            r.stop = 1; /* SIGTERM: nothing of the transfers in flight is in hand yet */
            break;
        }
        if (r.f->need_refetch) {
            /* the temporary credentials expired: once more, then 401 is final */
            r.f->need_refetch = 0;
            r.f->refetched = 1;
            if ((rc = token_exchange(s, r.f, e)) != RC_OK) break;
        }
        int err = 0;
        double wait = start_ready(&r, e, &err);
        if (err) {
            rc = e ? e->code : RC_EIO;
            break;
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(r.f->multi, &running);
        if (mc != CURLM_OK) {
            rc = rc_err_set(e, RC_EIO, "HTTP engine failure talking to %s: %s", r.f->shown,
                            curl_multi_strerror(mc));
            break;
        }
        CURLMsg *m;
        int left, completed = 0;
        while (!r.stop && (m = curl_multi_info_read(r.f->multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            char *priv = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            CURLcode cc = m->data.result;
            on_complete(&r, (fdsn_part *)(void *)priv, cc);
            completed = 1;
        }
        if (r.stop || r.delivered == nreq) break;
        if (completed) continue; /* freed slots or new parts: try to start more first */
        long ms = 1000;
        if (wait >= 0 && r.active < s->opts.max_connections) {
            double w = wait * 1000.0;
            ms = w < 1000 ? (long)ceil(w) : 1000;
        }
        if (r.active == 0 && wait < 0)
            ms = 10; /* nothing in flight or queued: should not happen, don't spin hard */
        curl_multi_poll(r.f->multi, NULL, 0, (int)ms, NULL);
    }
    run_free(&r);
    if (rc == RC_OK && r.stop)
        rc = rc_err_set(e, RC_EINTR, "fetch from %s stopped by the caller", s->shown);
    return rc;
}

/* ---- open / close ---------------------------------------------------------- */

static void fdsn_close(rc_source *s)
{
    fdsn_impl *f = s->impl;
    if (!f) return;
    if (f->multi) curl_multi_cleanup(f->multi);
    curl_slist_free_all(f->headers);
    free(f->query_url);
    free(f->shown);
    free(f->user);
    wipe_free(f->password);
    wipe_free(f->token);
    free(f->where);
    free(f->auth_url);
    free(f->auth_shown);
    free(f);
    s->impl = NULL;
    curl_global_cleanup();
}

static const rc_source_ops fdsn_ops = {"fdsn", fdsn_fetch_many, fdsn_close};

int rc_source_fdsn_open(rc_source *s, rc_err *e)
{
    rc_buf u = RC_BUF_INIT;
    int rc = fdsn_base_url(s, &u, e);
    if (rc != RC_OK) {
        rc_buf_free(&u);
        return rc;
    }
    /* the base without trailing slashes, then the service path */
    while (u.len > 0 && u.data[u.len - 1] == '/')
        u.data[--u.len] = '\0';
    const rc_srcauth *cred = s->opts.auth;
    enum auth_kind kind = !cred                                 ? AUTH_NONE
                          : cred->token_file || cred->token_env ? AUTH_TOKEN
                                                                : AUTH_DIGEST;
    rc_buf au = RC_BUF_INIT;
    if (kind == AUTH_TOKEN && (rc_buf_append(&au, u.data, u.len) || rc_buf_puts(&au, AUTH_PATH))) {
        rc_buf_free(&u);
        rc_buf_free(&au);
        return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", s->shown);
    }
    if (rc_buf_puts(&u, kind == AUTH_NONE ? QUERY_PATH : QUERYAUTH_PATH)) {
        rc_buf_free(&au);
        rc_buf_free(&u);
        return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", s->shown);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc_buf_free(&u);
        rc_buf_free(&au);
        return rc_err_set(e, RC_EIO, "cannot initialise libcurl for %s", s->shown);
    }
    fdsn_impl *f = calloc(1, sizeof *f);
    if (!f) {
        rc_buf_free(&u);
        rc_buf_free(&au);
        curl_global_cleanup();
        return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", s->shown);
    }
    s->impl = f;
    f->shown = fdsn_redact_n(u.data, u.len);
    f->query_url = rc_buf_steal(&u, NULL);
    if (!f->shown || !f->query_url) {
        rc_buf_free(&au);
        goto nomem;
    }
    f->auth = kind;
    if (kind != AUTH_NONE) {
        /* the secrets are read now, not when the configuration was loaded */
        rc_srcauth_secret sec;
        f->where = strdup(cred->where ? cred->where : "the configured credentials");
        if (!f->where) {
            rc_buf_free(&au);
            goto nomem;
        }
        if ((rc = rc_srcauth_read(cred, &sec, e)) != RC_OK) {
            rc_buf_free(&au);
            fdsn_close(s);
            return rc;
        }
        f->user = kind == AUTH_DIGEST ? sec.user : NULL;
        f->password = kind == AUTH_DIGEST ? sec.password : NULL;
        f->token = sec.eida_token;
        if (kind == AUTH_TOKEN) free(sec.user);
    }
    if (kind == AUTH_TOKEN) {
        f->auth_shown = fdsn_redact_n(au.data, au.len);
        f->auth_url = rc_buf_steal(&au, NULL);
        if (!f->auth_shown || !f->auth_url) goto nomem;
    }
    rc_buf_free(&au);
    /* Empty "Expect:" suppresses 100-continue (R2-style servers and some
     * proxies mishandle it); the bulk body is plain text. */
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    if (!h) goto nomem;
    f->headers = h;
    if (!(h = curl_slist_append(f->headers, "Content-Type: text/plain"))) goto nomem;
    f->headers = h;
    f->multi = curl_multi_init();
    if (!f->multi) goto nomem;
    long maxc = s->opts.max_connections;
    curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxc);
    curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, maxc);
    curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, maxc);
    rc_retry_init(&f->backoff, s->opts.backoff_base_s, s->opts.backoff_cap_s, (uintptr_t)f);
    s->ops = &fdsn_ops;
    return RC_OK;
nomem:
    fdsn_close(s);
    return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", s->shown);
}
