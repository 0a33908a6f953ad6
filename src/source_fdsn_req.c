/*
 * source_fdsn_req.c: what the FDSN client sends. The service URL: a base
 * URL, or a pasted dataselect service URL, becomes the base the client
 * appends /fdsnws/dataselect/1/query to, and anything else is refused with
 * the base URL to give instead; copies for messages go through
 * rc_url_redact. The bulk POST body: one line per channel and time span.
 */
#include "source_fdsn_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/timewin.h"
#include "r2cache/url.h"

/* ---- the bulk POST body --------------------------------------------------- */

static int fmt_time(rc_buf *out, int64_t t)
{
    rc_tm tm;
    rc_time_split(t, &tm);
    return rc_buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02d", tm.year, tm.mon, tm.mday, tm.hour,
                         tm.min, tm.sec);
}

int rc_fdsn_post_body(const rc_fetch_line *lines, size_t n, rc_buf *out)
{
    if (!out || (n && !lines)) return RC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const rc_chan *c = &lines[i].chan;
        int rc =
            rc_buf_printf(out, "%s %s %s %s ", c->net, c->sta, c->loc[0] ? c->loc : "--", c->cha);
        if (!rc) rc = fmt_time(out, lines[i].start);
        if (!rc) rc = rc_buf_puts(out, " ");
        if (!rc) rc = fmt_time(out, lines[i].end);
        if (!rc) rc = rc_buf_puts(out, "\n");
        if (rc) return rc;
    }
    return RC_OK;
}

/* ---- the service URL ------------------------------------------------------- */

/* rc_url_redact into a new string (messages only). */
char *fdsn_redact_n(const char *url, size_t n)
{
    char *raw = malloc(n + 1);
    char *out = malloc(2 * n + 8);
    if (raw && out) {
        memcpy(raw, url, n);
        raw[n] = '\0';
        rc_url_redact(raw, out, 2 * n + 8);
    } else {
        free(out);
        out = NULL;
    }
    free(raw);
    return out;
}

/*
 * The base URL (scheme://[userinfo@]host[:port][/prefix]) of s->url into
 * base. A pasted service URL (.../fdsnws, .../fdsnws/dataselect[/1[/query]],
 * trailing slashes) loses its service path, so that a URL copied from a
 * browser works; a query or fragment, spaces, a missing host or another
 * FDSN service path is RC_EINVAL with the base URL to give instead. The
 * query itself is never printed: it may hold a token.
 */
int fdsn_base_url(const rc_source *s, rc_buf *base, rc_err *e)
{
    const char *url = s->url;
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    size_t alen = strcspn(auth, "/?#");
    const char *path = auth + alen;
    size_t plen = strcspn(path, "?#");
    int has_query = path[plen] != '\0';
    size_t n = plen;
    while (n > 0 && path[n - 1] == '/')
        n--;
    size_t keep = n;
    const char *service = NULL;
    for (size_t i = 0; i + 7 <= n; i++) {
        if (memcmp(path + i, "/fdsnws", 7) == 0 && (i + 7 == n || path[i + 7] == '/')) {
            keep = i;
            service = path + i + 7;
            break;
        }
    }
    size_t slen = service ? n - (size_t)(service - path) : 0;
    size_t blen = (size_t)(path - url) + keep;
    if (rc_buf_append(base, url, blen))
        return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", s->shown);
    char *bshown = fdsn_redact_n(url, blen);
    char *ushown = fdsn_redact_n(url, (size_t)(path - url) + plen);
    if (!bshown || !ushown) {
        free(bshown);
        free(ushown);
        return rc_err_set(e, RC_ENOMEM, "out of memory opening %s", s->shown);
    }
    int rc = RC_OK;
    if (alen == 0 || strpbrk(url, " \t\r\n")) {
        rc = rc_err_set(e, RC_EINVAL,
                        "FDSN source URL '%s' must be a base URL such as "
                        "https://service.iris.edu: a host, no spaces (/fdsnws/dataselect/1/query "
                        "is appended)",
                        s->shown);
    } else if (has_query) {
        rc = rc_err_set(e, RC_EINVAL,
                        "FDSN source URL '%s%s...' has a query or fragment: r2cache builds its own "
                        "requests from the configured channels and times, so give the data "
                        "centre's base URL instead: --source %s",
                        ushown, path[plen] == '?' ? "?" : "#", bshown);
    } else if (service && !(slen == 0 || (slen == 11 && !memcmp(service, "/dataselect", 11)) ||
                            (slen == 13 && !memcmp(service, "/dataselect/1", 13)) ||
                            (slen == 19 && !memcmp(service, "/dataselect/1/query", 19)))) {
        rc = rc_err_set(e, RC_EINVAL,
                        "FDSN source URL '%s' names /fdsnws%.*s, not the dataselect service: give "
                        "the data centre's base URL instead: --source %s (r2cache appends "
                        "/fdsnws/dataselect/1/query)",
                        ushown, (int)slen, service, bshown);
    }
    free(bshown);
    free(ushown);
    return rc;
}
