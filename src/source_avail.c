/*
 * source_avail.c: the client of an FDSN source's availability service
 * (fdsnws-availability 1, /fdsnws/availability/1/query). One bulk POST per
 * call, the dataselect line format; the answer's text is read by its
 * header's column names. What each answer means: source_avail.h.
 */
#include "source_fdsn_int.h"

#include "r2cache/source_avail.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "r2cache/buf.h"
#include "r2cache/retry.h"
#include "r2cache/timewin.h"
#include "r2cache/url.h"
#include "r2cache/version.h"

#define AVAIL_PATH "/fdsnws/availability/1/query"

static int is_fdsn(const rc_source *s)
{
    return strncasecmp(s->url, "http://", 7) == 0 || strncasecmp(s->url, "https://", 8) == 0;
}

int rc_source_host(const rc_source *s, char *out, size_t n, rc_err *e)
{
    if (!is_fdsn(s))
        return rc_err_set(e, RC_EINVAL, "%s has no availability service (not an FDSN URL)",
                          s->shown);
    const char *a = strstr(s->url, "://") + 3;
    size_t alen = strcspn(a, "/?#");
    const char *at = memchr(a, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    if (alen == 0 || alen >= n) return rc_err_set(e, RC_EINVAL, "%s: no usable host", s->shown);
    for (size_t i = 0; i < alen; i++) {
        char c = (char)tolower((unsigned char)a[i]);
        if (!(isalnum((unsigned char)c) || c == '.' || c == '-' || c == ':'))
            return rc_err_set(e, RC_EINVAL, "%s: host %.*s cannot name a state object", s->shown,
                              (int)alen, a);
        out[i] = c;
    }
    out[alen] = '\0';
    return RC_OK;
}

void rc_avail_free(rc_avail *a)
{
    if (!a) return;
    free(a->spans);
    a->spans = NULL;
    a->n = 0;
}

/* "2025-11-04T08:00:00[.ffffff][Z]" to microseconds. */
static int parse_us(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec, used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
        used != 19)
        return -1;
    int64_t t;
    rc_err e;
    if (rc_time_make(y, mo, d, h, mi, sec, &t, &e) != RC_OK) return -1;
    const char *p = s + 19;
    int64_t us = 0, scale = 100000;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        for (; isdigit((unsigned char)*p); p++) {
            us += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p == 'Z') p++;
    if (*p) return -1;
    *out = t * 1000000 + us;
    return 0;
}

static int cmp_span(const void *a, const void *b)
{
    const rc_avail_span *x = a, *y = b;
    char cx[RC_CHAN_STR_MAX], cy[RC_CHAN_STR_MAX];
    rc_chan_format(&x->chan, cx);
    rc_chan_format(&y->chan, cy);
    int c = strcmp(cx, cy);
    if (c) return c;
    return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

/* Sort, then merge spans of one channel that touch or overlap. */
static void merge(rc_avail *a)
{
    if (a->n < 2) return;
    qsort(a->spans, a->n, sizeof *a->spans, cmp_span);
    size_t w = 0;
    for (size_t i = 1; i < a->n; i++) {
        rc_avail_span *last = &a->spans[w], *s = &a->spans[i];
        if (rc_chan_equal(&last->chan, &s->chan) && s->start_us <= last->end_us) {
            if (s->end_us > last->end_us) last->end_us = s->end_us;
        } else {
            a->spans[++w] = *s;
        }
    }
    a->n = w + 1;
}

#define MAX_COLS 16

int rc_avail_parse_text(const char *body, size_t len, const char *what, rc_avail *out, rc_err *e)
{
    memset(out, 0, sizeof *out);
    char *text = malloc(len + 1);
    if (!text) return rc_err_set(e, RC_ENOMEM, "out of memory reading %s", what);
    memcpy(text, body, len);
    text[len] = '\0';
    int col_net = -1, col_sta = -1, col_loc = -1, col_cha = -1, col_t0 = -1, col_t1 = -1, ncols = 0;
    size_t cap = 0;
    int rc = RC_OK, lineno = 0, header = 0;
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        lineno++;
        size_t l = strlen(ln);
        while (l && (ln[l - 1] == '\r' || ln[l - 1] == ' ' || ln[l - 1] == '\t'))
            ln[--l] = '\0';
        if (!l) continue;
        char *f[MAX_COLS];
        int nf = 0;
        char *s2 = NULL;
        int is_header = ln[0] == '#';
        for (char *t = strtok_r(is_header ? ln + 1 : ln, " \t", &s2); t && nf < MAX_COLS;
             t = strtok_r(NULL, " \t", &s2))
            f[nf++] = t;
        if (is_header) {
            if (header) continue; /* a later comment */
            for (int i = 0; i < nf; i++) {
                if (strcasecmp(f[i], "Network") == 0) col_net = i;
                if (strcasecmp(f[i], "Station") == 0) col_sta = i;
                if (strcasecmp(f[i], "Location") == 0) col_loc = i;
                if (strcasecmp(f[i], "Channel") == 0) col_cha = i;
                if (strcasecmp(f[i], "Earliest") == 0) col_t0 = i;
                if (strcasecmp(f[i], "Latest") == 0) col_t1 = i;
            }
            if (col_net < 0 || col_sta < 0 || col_loc < 0 || col_cha < 0 || col_t0 < 0 ||
                col_t1 < 0) {
                rc = rc_err_set(e, RC_EFORMAT,
                                "%s: the header line does not name Network, Station, Location, "
                                "Channel, Earliest and Latest: not an FDSN availability answer",
                                what);
                break;
            }
            header = 1;
            ncols = nf;
            continue;
        }
        if (!header) {
            rc = rc_err_set(e, RC_EFORMAT,
                            "%s: line %d comes before any \"#Network Station ...\" header: not an "
                            "FDSN availability text answer (starts \"%.60s\")",
                            what, lineno, ln);
            break;
        }
        rc_avail_span sp;
        memset(&sp, 0, sizeof sp);
        const char *loc = nf == ncols ? f[col_loc] : "";
        rc_err ce;
        if (nf != ncols ||
            rc_chan_set(&sp.chan, f[col_net], f[col_sta], strcmp(loc, "--") == 0 ? "" : loc,
                        f[col_cha]) != RC_OK ||
            rc_chan_validate(&sp.chan, &ce) != RC_OK || parse_us(f[col_t0], &sp.start_us) ||
            parse_us(f[col_t1], &sp.end_us) || sp.end_us < sp.start_us) {
            rc = rc_err_set(e, RC_EFORMAT, "%s: line %d does not read as a time span (\"%.80s\")",
                            what, lineno, ln);
            break;
        }
        if (out->n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            rc_avail_span *ns = realloc(out->spans, nc * sizeof *ns);
            if (!ns) {
                rc = rc_err_set(e, RC_ENOMEM, "out of memory reading %s", what);
                break;
            }
            out->spans = ns;
            cap = nc;
        }
        out->spans[out->n++] = sp;
    }
    free(text);
    if (rc == RC_OK && !header)
        rc = rc_err_set(e, RC_EFORMAT, "%s: an empty answer with status 200 and no header", what);
    if (rc != RC_OK) {
        rc_avail_free(out);
        return rc;
    }
    merge(out);
    return RC_OK;
}

int64_t rc_avail_covered(const rc_avail *a, const rc_chan *c, int64_t start_us, int64_t end_us)
{
    int64_t sum = 0;
    for (size_t i = 0; i < a->n; i++) {
        const rc_avail_span *s = &a->spans[i];
        if (!rc_chan_equal(&s->chan, c)) continue;
        int64_t lo = s->start_us > start_us ? s->start_us : start_us;
        int64_t hi = s->end_us < end_us ? s->end_us : end_us;
        if (hi > lo) sum += hi - lo;
    }
    return sum;
}

typedef struct body_ctx {
    rc_buf b;
    size_t max;
    int nomem;
} body_ctx;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    body_ctx *c = ud;
    size_t n = size * nmemb;
    if (c->b.len + n > c->max || rc_buf_append(&c->b, ptr, n) != RC_OK) {
        c->nomem = 1;
        return 0;
    }
    return n;
}

/* Is the body an FDSN error document ("Error 404: ...")? */
static int fdsn_error_doc(const rc_buf *b, const char *code)
{
    size_t i = 0;
    while (i < b->len && isspace((unsigned char)b->data[i]))
        i++;
    size_t k = strlen(code);
    return b->len - i >= 6 + k && strncasecmp(b->data + i, "Error ", 6) == 0 &&
           strncmp(b->data + i + 6, code, k) == 0;
}

int rc_source_availability(rc_source *s, const rc_fetch_line *lines, size_t n, rc_avail *out,
                           rc_err *e)
{
    memset(out, 0, sizeof *out);
    if (!is_fdsn(s))
        return rc_err_set(e, RC_EINVAL, "%s has no availability service (not an FDSN URL)",
                          s->shown);
    if (n == 0) return RC_OK;
    rc_buf url, post;
    rc_buf_init(&url);
    rc_buf_init(&post);
    int rc = fdsn_base_url(s, &url, e);
    if (rc != RC_OK) return rc;
    if (rc_buf_puts(&url, AVAIL_PATH) ||
        rc_buf_puts(&post, "format=text\nmerge=samplerate,quality,overlap\nnodata=204\n") ||
        rc_fdsn_post_body(lines, n, &post)) {
        rc_buf_free(&url);
        rc_buf_free(&post);
        return rc_err_set(e, RC_ENOMEM, "out of memory asking %s for its availability", s->shown);
    }
    char *shown = fdsn_redact_n(url.data, url.len);
    const rc_source_opts *o = &s->opts;
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
    struct curl_slist *hdr2 = hdr ? curl_slist_append(hdr, "Content-Type: text/plain") : NULL;
    if (!shown || !h || !hdr2) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory asking %s for its availability", s->shown);
        goto done;
    }
    hdr = hdr2;
    rc_retry rt;
    rc_retry_init(&rt, o->backoff_base_s, o->backoff_cap_s, (uintptr_t)s);
    for (int attempt = 1;; attempt++) {
        body_ctx bc = {.max = o->max_body_bytes};
        rc_buf_init(&bc.b);
        char cerr[CURL_ERROR_SIZE] = "";
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url.data);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post.data);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post.len);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "r2cache/" R2CACHE_VERSION);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &bc);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
        fdsn_curl_policy(h, o);
        CURLcode cc = curl_easy_perform(h);
        long st = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        int retry = 0;
        if (cc != CURLE_OK) {
            rc_retry_class k = rc_retry_curl(cc, st != 0);
            if (bc.nomem)
                rc = rc_err_set(e, RC_EIO, "%s: the answer is larger than %zu bytes", shown,
                                o->max_body_bytes);
            else if (k == RC_RETRY_UNREACHED)
                rc = rc_err_set(e, RC_EUNUSABLE, "%s: nothing answers (%s)", shown,
                                cerr[0] ? cerr : curl_easy_strerror(cc));
            else
                rc =
                    rc_err_set(e, RC_EIO, "%s: %s", shown, cerr[0] ? cerr : curl_easy_strerror(cc));
            retry = !bc.nomem && (k == RC_RETRY_TRANSIENT || k == RC_RETRY_UNREACHED);
        } else if (st == 200) {
            rc = rc_avail_parse_text(bc.b.data ? bc.b.data : "", bc.b.len, shown, out, e);
        } else if (st == 204 || (st == 404 && fdsn_error_doc(&bc.b, "404"))) {
            rc = RC_OK; /* nothing available */
        } else if (st == 404 || st == 405 || st == 501) {
            rc = rc_err_set(e, RC_EUNUSABLE, "%s answers HTTP %ld: no availability service there",
                            shown, st);
        } else if (st == 401 || st == 403) {
            rc = rc_err_set(e, RC_EAUTH, "%s refused the request (HTTP %ld)", shown, st);
        } else if (rc_retry_http_status(st)) {
            rc = rc_err_set(e, RC_EIO, "%s answers HTTP %ld", shown, st);
            retry = 1;
        } else {
            rc = rc_err_set(e, RC_EINVAL, "%s refused the request (HTTP %ld)", shown, st);
        }
        rc_buf_free(&bc.b);
        if (!retry || attempt >= o->max_attempts || (o->stop && *o->stop)) break;
        rc_retry_sleep(rc_retry_backoff(&rt, attempt), o->stop);
    }
done:
    curl_slist_free_all(hdr);
    if (h) curl_easy_cleanup(h);
    free(shown);
    rc_buf_free(&url);
    rc_buf_free(&post);
    return rc;
}
