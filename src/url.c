/*
 * url.c: redaction of secrets in URLs before they are printed.
 *
 * The rule is deliberately blunt: the whole userinfo goes (a token is often
 * passed as the user name), and so does the value of any query parameter
 * whose name looks like a credential. The shape of the URL (scheme, host,
 * port, path, parameter names) stays, because that is what an operator needs
 * to recognise which endpoint failed.
 */
#include "r2cache/url.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct out_buf {
    char *p;
    size_t n, len;
} out_buf;

static void put(out_buf *o, const char *s, size_t k)
{
    for (size_t i = 0; i < k && o->len + 1 < o->n; i++)
        o->p[o->len++] = s[i];
    o->p[o->len] = '\0';
}

static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

static int secret_name(const char *name, size_t n)
{
    static const char *const words[] = {"token",      "key",     "secret", "password",  "passwd",
                                        "pass",       "pwd",     "auth",   "signature", "sig",
                                        "credential", "session", NULL};
    for (int i = 0; words[i]; i++)
        if (ends_with_ci(name, n, words[i])) return 1;
    return 0;
}

/* Copy a query string ("a=1&token=x#frag"), hiding secret values. */
static void put_query(out_buf *o, const char *q)
{
    while (*q && *q != '#') {
        size_t plen = strcspn(q, "&#");
        const char *eq = memchr(q, '=', plen);
        if (eq && secret_name(q, (size_t)(eq - q))) {
            put(o, q, (size_t)(eq - q) + 1);
            put(o, "***", 3);
        } else {
            put(o, q, plen);
        }
        q += plen;
        if (*q == '&') {
            put(o, "&", 1);
            q++;
        }
    }
    put(o, q, strlen(q)); /* fragment, if any */
}

char *rc_url_redact(const char *url, char *out, size_t n)
{
    if (!out || n == 0) return out;
    out_buf o = {out, n, 0};
    out[0] = '\0';
    if (!url) return out;
    const char *rest = url;
    const char *sep = strstr(url, "://");
    if (sep) {
        put(&o, url, (size_t)(sep - url) + 3);
        rest = sep + 3;
        size_t auth_len = strcspn(rest, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < auth_len; i++)
            if (rest[i] == '@') at = rest + i; /* the last '@' ends the userinfo */
        if (at) {
            put(&o, "***", 3);
            rest = at; /* "@host..." */
        }
    }
    size_t path_len = strcspn(rest, "?");
    put(&o, rest, path_len);
    if (rest[path_len] == '?') {
        put(&o, "?", 1);
        put_query(&o, rest + path_len + 1);
    }
    return out;
}
