/*
 * source.c: the backend-neutral half of the source interface.
 *
 * rc_source_open picks the backend from the URL scheme (http/https = FDSN
 * dataselect, sds:// = local SeisComP archive), copies and clamps the options
 * once so that backends can trust them, and rc_source_fetch_many checks its
 * arguments before handing over. The backends are named only by the table
 * below (one row per URL scheme); their interface is source_int.h.
 */
#include "source_int.h"

#include "r2cache/url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void rc_source_opts_default(rc_source_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->max_connections = 3;
    o->timeout_s = 120;
    o->connect_timeout_s = 10;
    o->stall_timeout_s = 30;
    o->max_attempts = 5;
    o->backoff_base_s = 1.0;
    o->backoff_cap_s = 30;
    o->rate_limit_rps = 0;
    o->max_body_bytes = (size_t)RC_SOURCE_DEFAULT_BODY_MIB * 1024 * 1024;
    o->ca_bundle = NULL;
}

/* Zero or negative values mean "use the default", so a caller can set only
 * the fields it cares about on a zeroed struct. */
static void opts_sanitize(rc_source_opts *o)
{
    rc_source_opts d;
    rc_source_opts_default(&d);
    if (o->max_connections < 1) o->max_connections = d.max_connections;
    if (o->max_connections > RC_SOURCE_MAX_CONNECTIONS)
        o->max_connections = RC_SOURCE_MAX_CONNECTIONS;
    if (!(o->timeout_s > 0)) o->timeout_s = d.timeout_s;
    if (!(o->connect_timeout_s > 0)) o->connect_timeout_s = d.connect_timeout_s;
    if (!(o->stall_timeout_s > 0)) o->stall_timeout_s = d.stall_timeout_s;
    if (o->max_attempts < 1) o->max_attempts = d.max_attempts;
    if (!(o->backoff_base_s >= 0)) o->backoff_base_s = d.backoff_base_s;
    if (!(o->backoff_cap_s >= 0)) o->backoff_cap_s = d.backoff_cap_s;
    if (!(o->rate_limit_rps >= 0)) o->rate_limit_rps = 0;
    if (o->max_body_bytes == 0) o->max_body_bytes = d.max_body_bytes;
}

/* The backends by URL scheme (case-insensitive, "SCHEME://..."), with the
 * form messages suggest (NULL: said by an earlier row). A new backend is one
 * file and one row here. */
typedef struct rc_source_backend {
    const char *scheme;
    const char *form;
    rc_source_open_fn open;
} rc_source_backend;

static const rc_source_backend source_backends[] = {
    {"http",
     "an FDSN base URL (https://service.iris.edu, http://host:port; "
     "/fdsnws/dataselect/1/query is appended)",
     rc_source_fdsn_open},
    {"https", NULL, rc_source_fdsn_open},
    {"sds", "sds:///absolute/path for a local SDS archive", rc_source_sds_open},
};
#define SOURCE_NBACKENDS (sizeof source_backends / sizeof source_backends[0])

static const rc_source_backend *source_backend(const char *url)
{
    for (size_t i = 0; i < SOURCE_NBACKENDS; i++) {
        size_t n = strlen(source_backends[i].scheme);
        if (strncasecmp(url, source_backends[i].scheme, n) == 0 && strncmp(url + n, "://", 3) == 0)
            return &source_backends[i];
    }
    return NULL;
}

/* "use A, B or C" from the table's forms. */
static int unsupported(const rc_source *s, rc_err *e)
{
    char forms[512] = "";
    size_t len = 0, nf = 0, last = 0;
    for (size_t i = 0; i < SOURCE_NBACKENDS; i++)
        if (source_backends[i].form) last = i;
    for (size_t i = 0; i < SOURCE_NBACKENDS && len < sizeof forms; i++) {
        if (!source_backends[i].form) continue;
        const char *sep = nf++ == 0 ? "" : i == last ? " or " : ", ";
        len +=
            (size_t)snprintf(forms + len, sizeof forms - len, "%s%s", sep, source_backends[i].form);
    }
    return rc_err_set(e, RC_EINVAL, "source URL '%s' is not supported: use %s", s->shown, forms);
}

static void source_free(rc_source *s)
{
    if (!s) return;
    free(s->url);
    free(s->shown);
    free(s->name);
    free((char *)s->opts.ca_bundle);
    free(s);
}

/* The URL as messages show it: credentials in it become "***". */
static char *redacted_copy(const char *url)
{
    /* "***" replaces at least one character per secret, so 2n + 8 holds it */
    size_t n = 2 * strlen(url) + 8;
    char *out = malloc(n);
    if (out) rc_url_redact(url, out, n);
    return out;
}

int rc_source_open(const char *url, const rc_source_opts *opts, rc_source **out, rc_err *e)
{
    if (!out) return rc_err_set(e, RC_EINVAL, "rc_source_open: no output pointer");
    *out = NULL;
    if (!url || !*url)
        return rc_err_set(e, RC_EINVAL,
                          "no source URL given: use an FDSN base URL (https://service.iris.edu, "
                          "http://host:port) or sds:///absolute/path");

    rc_source *s = calloc(1, sizeof *s);
    if (!s) return rc_err_set(e, RC_ENOMEM, "out of memory opening a source");
    if (opts)
        s->opts = *opts;
    else
        rc_source_opts_default(&s->opts);
    opts_sanitize(&s->opts);
    s->opts.ca_bundle = NULL;
    s->url = strdup(url);
    s->shown = redacted_copy(url);
    char name[RC_SOURCE_NAME_MAX];
    rc_source_default_name(url, name);
    s->name = strdup(name);
    if (!s->url || !s->shown || !s->name ||
        (opts && opts->ca_bundle && !(s->opts.ca_bundle = strdup(opts->ca_bundle)))) {
        source_free(s);
        return rc_err_set(e, RC_ENOMEM, "out of memory opening a source");
    }

    const rc_source_backend *b = source_backend(url);
    int rc = b ? b->open(s, e) : unsupported(s, e);
    if (rc != RC_OK) {
        source_free(s);
        return rc;
    }
    *out = s;
    return RC_OK;
}

void rc_source_default_name(const char *url, char out[RC_SOURCE_NAME_MAX])
{
    snprintf(out, RC_SOURCE_NAME_MAX, "source");
    if (!url) return;
    if (strncmp(url, "sds://", 6) == 0) {
        snprintf(out, RC_SOURCE_NAME_MAX, "sds");
        return;
    }
    const char *h = strstr(url, "://");
    if (!h) return;
    h += 3;
    const char *end = h + strcspn(h, "/?#");
    const char *at = memchr(h, '@', (size_t)(end - h));
    if (at) h = at + 1; /* never a user name or password in a name */
    const char *stop = h;
    if (*stop == '[') { /* [v6]:port: the address, its colons as '-' */
        const char *rb = memchr(stop, ']', (size_t)(end - stop));
        h++;
        stop = rb ? rb : end;
    } else {
        while (stop < end && *stop != ':')
            stop++;
    }
    size_t n = 0;
    for (const char *c = h; c < stop && n + 1 < RC_SOURCE_NAME_MAX; c++) {
        unsigned char ch = (unsigned char)*c;
        out[n++] = isalnum(ch) || ch == '.' || ch == '-' || ch == '_' ? (char)tolower(ch) : '-';
    }
    if (n == 0) return;
    out[n] = '\0';
}

int rc_source_wrap(const char *shown, const rc_source_opts *opts, const rc_source_ops *ops,
                   void *impl, rc_source **out, rc_err *e)
{
    *out = NULL;
    rc_source *s = calloc(1, sizeof *s);
    if (!s) return rc_err_set(e, RC_ENOMEM, "out of memory opening a source");
    if (opts)
        s->opts = *opts;
    else
        rc_source_opts_default(&s->opts);
    opts_sanitize(&s->opts);
    s->opts.ca_bundle = NULL;
    s->url = strdup(shown);
    s->shown = strdup(shown);
    if (!s->url || !s->shown ||
        (opts && opts->ca_bundle && !(s->opts.ca_bundle = strdup(opts->ca_bundle)))) {
        source_free(s);
        return rc_err_set(e, RC_ENOMEM, "out of memory opening a source");
    }
    s->ops = ops;
    s->impl = impl;
    *out = s;
    return RC_OK;
}

const char *rc_source_name(const rc_source *s)
{
    return s ? s->name : NULL;
}

void rc_source_credit(rc_source *s, int source_index, int64_t windows)
{
    if (s && s->credit) s->credit(s, source_index, windows);
}

void rc_source_close(rc_source *s)
{
    if (!s) return;
    if (s->ops && s->ops->close) s->ops->close(s);
    source_free(s);
}

const char *rc_source_describe(const rc_source *s)
{
    return s && s->shown ? s->shown : "(no source)";
}

const rc_source_opts *rc_source_options(const rc_source *s)
{
    return &s->opts;
}

int rc_source_fetch_many(rc_source *s, const rc_fetch_req *reqs, size_t nreq, rc_fetch_cb cb,
                         void *ud, rc_err *e)
{
    if (!s || !s->ops || !cb || (nreq && !reqs))
        return rc_err_set(e, RC_EINVAL,
                          "rc_source_fetch_many: missing source, requests or callback");
    for (size_t i = 0; i < nreq; i++) {
        if (reqs[i].n && !reqs[i].lines)
            return rc_err_set(e, RC_EINVAL, "rc_source_fetch_many: request %zu has no lines", i);
        for (size_t j = 0; j < reqs[i].n; j++) {
            const rc_fetch_line *l = &reqs[i].lines[j];
            if (l->end <= l->start) {
                char c[RC_CHAN_STR_MAX];
                rc_chan_format(&l->chan, c);
                return rc_err_set(e, RC_EINVAL,
                                  "fetch from %s: empty time span for %s (start %lld >= end %lld)",
                                  s->shown, c, (long long)l->start, (long long)l->end);
            }
        }
    }
    if (nreq == 0) return RC_OK;
    return s->ops->fetch_many(s, reqs, nreq, cb, ud, e);
}
