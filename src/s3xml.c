/*
 * s3xml.c: ListObjectsV2 and error-body parsers over one tiny XML scanner.
 *
 * The scanner walks elements with an explicit depth-limited stack and hands
 * each closed element's decoded text to a callback that knows the document
 * (list or error). It is not a general XML parser: attributes are skipped,
 * DTDs with internal subsets are refused, element text is capped. That is
 * all S3 sends, and keeping it this small is what makes it safe to run on
 * whatever a misbehaving proxy returns. Input is (pointer, length); nothing
 * reads past the end or relies on a terminator.
 */
#include "r2cache/s3xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XS_DEPTH 16
#define XS_NAME 48
#define XS_TEXT 4096

typedef struct xscan xscan;
typedef int (*xs_open_fn)(xscan *x);
typedef int (*xs_close_fn)(xscan *x, const char *text, size_t len);

struct xscan {
    const char *p, *end;
    char stack[XS_DEPTH][XS_NAME]; /* local names (prefix stripped) */
    int depth;
    char text[XS_TEXT + 1];
    size_t tlen;
    int roots;
    xs_open_fn on_open;
    xs_close_fn on_close;
    void *ud;
    char err[200];
};

static int xs_fail(xscan *x, const char *what)
{
    if (!x->err[0]) snprintf(x->err, sizeof x->err, "%s at byte %ld", what, (long)(x->end - x->p));
    return -1;
}

/* Find needle in [p, end); NULL when absent. */
static const char *xs_find(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    for (; p + n <= end; p++)
        if (memcmp(p, needle, n) == 0) return p;
    return NULL;
}

static int xs_put(xscan *x, const char *s, size_t n)
{
    if (x->tlen + n > XS_TEXT) return xs_fail(x, "element text too long");
    memcpy(x->text + x->tlen, s, n);
    x->tlen += n;
    x->text[x->tlen] = '\0';
    return 0;
}

static int xs_put_utf8(xscan *x, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return xs_fail(x, "bad character reference");
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return xs_put(x, b, n);
}

/* Text up to the next '<', entities decoded. */
static int xs_text(xscan *x)
{
    while (x->p < x->end && *x->p != '<') {
        if (*x->p != '&') {
            const char *s = x->p;
            while (x->p < x->end && *x->p != '<' && *x->p != '&')
                x->p++;
            if (xs_put(x, s, (size_t)(x->p - s))) return -1;
            continue;
        }
        const char *semi = NULL;
        for (const char *q = x->p + 1; q < x->end && q < x->p + 12; q++)
            if (*q == ';') {
                semi = q;
                break;
            }
        if (!semi) return xs_fail(x, "unterminated entity");
        const char *name = x->p + 1;
        size_t n = (size_t)(semi - name);
        static const struct {
            const char *name;
            char c;
        } named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
        int done = 0;
        for (size_t i = 0; i < sizeof named / sizeof named[0] && !done; i++)
            if (strlen(named[i].name) == n && memcmp(named[i].name, name, n) == 0) {
                if (xs_put(x, &named[i].c, 1)) return -1;
                done = 1;
            }
        if (!done) {
            if (n < 2 || name[0] != '#') return xs_fail(x, "unknown entity");
            int hex = name[1] == 'x' || name[1] == 'X';
            const char *d = name + 1 + hex;
            if (d >= semi) return xs_fail(x, "bad character reference");
            unsigned long cp = 0;
            for (; d < semi; d++) {
                int v;
                if (*d >= '0' && *d <= '9')
                    v = *d - '0';
                else if (hex && *d >= 'a' && *d <= 'f')
                    v = *d - 'a' + 10;
                else if (hex && *d >= 'A' && *d <= 'F')
                    v = *d - 'A' + 10;
                else
                    return xs_fail(x, "bad character reference");
                cp = cp * (hex ? 16 : 10) + (unsigned long)v;
                if (cp > 0x10FFFF) return xs_fail(x, "bad character reference");
            }
            if (xs_put_utf8(x, cp)) return -1;
        }
        x->p = semi + 1;
    }
    return 0;
}

static int name_char(char c)
{
    return c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '=' &&
           c != '<';
}

/* Read a tag name at x->p into out (local part only). */
static int xs_name(xscan *x, char out[XS_NAME])
{
    const char *s = x->p;
    while (x->p < x->end && name_char(*x->p))
        x->p++;
    if (x->p == s) return xs_fail(x, "empty tag name");
    const char *local = s;
    for (const char *q = s; q < x->p; q++)
        if (*q == ':') local = q + 1;
    size_t n = (size_t)(x->p - local);
    if (n == 0) return xs_fail(x, "empty tag name");
    if (n >= XS_NAME) n = XS_NAME - 1; /* long names never match anything we read */
    memcpy(out, local, n);
    out[n] = '\0';
    return 0;
}

static int xs_run(xscan *x)
{
    while (x->p < x->end) {
        if (*x->p != '<') {
            if (x->depth == 0) {
                /* only whitespace is allowed outside the root element */
                char c = *x->p;
                if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
                    return xs_fail(x, "text outside the root element");
                x->p++;
                continue;
            }
            if (xs_text(x)) return -1;
            continue;
        }
        size_t left = (size_t)(x->end - x->p);
        if (left >= 2 && x->p[1] == '?') {
            const char *q = xs_find(x->p + 2, x->end, "?>");
            if (!q) return xs_fail(x, "unterminated processing instruction");
            x->p = q + 2;
        } else if (left >= 4 && memcmp(x->p, "<!--", 4) == 0) {
            const char *q = xs_find(x->p + 4, x->end, "-->");
            if (!q) return xs_fail(x, "unterminated comment");
            x->p = q + 3;
        } else if (left >= 9 && memcmp(x->p, "<![CDATA[", 9) == 0) {
            const char *q = xs_find(x->p + 9, x->end, "]]>");
            if (!q) return xs_fail(x, "unterminated CDATA");
            if (x->depth == 0) return xs_fail(x, "CDATA outside the root element");
            if (xs_put(x, x->p + 9, (size_t)(q - (x->p + 9)))) return -1;
            x->p = q + 3;
        } else if (left >= 2 && x->p[1] == '!') {
            const char *q = x->p + 2;
            while (q < x->end && *q != '>' && *q != '[')
                q++;
            if (q >= x->end || *q == '[') return xs_fail(x, "unsupported DOCTYPE");
            x->p = q + 1;
        } else if (left >= 2 && x->p[1] == '/') {
            char name[XS_NAME];
            x->p += 2;
            if (xs_name(x, name)) return -1;
            while (x->p < x->end && *x->p != '>')
                x->p++;
            if (x->p >= x->end) return xs_fail(x, "unterminated end tag");
            x->p++;
            if (x->depth == 0 || strcmp(name, x->stack[x->depth - 1]) != 0)
                return xs_fail(x, "mismatched end tag");
            if (x->on_close(x, x->text, x->tlen)) return -1;
            x->depth--;
            x->tlen = 0;
            x->text[0] = '\0';
        } else {
            x->p++;
            if (x->depth == XS_DEPTH) return xs_fail(x, "elements nested too deep");
            if (x->depth == 0 && x->roots++) return xs_fail(x, "more than one root element");
            if (xs_name(x, x->stack[x->depth])) return -1;
            /* skip attributes, respecting quoted values */
            char quote = 0;
            while (x->p < x->end && (quote || *x->p != '>')) {
                if (quote && *x->p == quote)
                    quote = 0;
                else if (!quote && (*x->p == '"' || *x->p == '\''))
                    quote = *x->p;
                x->p++;
            }
            if (x->p >= x->end) return xs_fail(x, "unterminated start tag");
            int empty = x->p[-1] == '/';
            x->p++;
            x->depth++;
            x->tlen = 0;
            x->text[0] = '\0';
            if (x->on_open && x->on_open(x)) return -1;
            if (empty) {
                if (x->on_close(x, "", 0)) return -1;
                x->depth--;
            }
        }
    }
    if (x->depth != 0) return xs_fail(x, "document ends inside an element (truncated?)");
    if (!x->roots) return xs_fail(x, "no element found");
    return 0;
}

static void xs_init(xscan *x, const char *xml, size_t len, void *ud, xs_open_fn o, xs_close_fn c)
{
    memset(x, 0, sizeof *x);
    x->p = xml;
    x->end = xml + len;
    x->ud = ud;
    x->on_open = o;
    x->on_close = c;
}

static int at(const xscan *x, int depth, const char *name)
{
    return x->depth == depth && strcmp(x->stack[depth - 1], name) == 0;
}

static int copy_field(xscan *x, char *dst, size_t cap, const char *text, size_t len, int strict)
{
    if (len >= cap) {
        if (strict) return xs_fail(x, "value too long");
        len = cap - 1;
    }
    memcpy(dst, text, len);
    dst[len] = '\0';
    return 0;
}

int64_t rc_s3xml_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, sec;
    char tail;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &tail) != 7)
        return -1;
    if (tail != '.' && tail != 'Z') return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return (int64_t)timegm(&tm);
}

/* ---- ListObjectsV2 ---- */

static int list_open(xscan *x)
{
    rc_s3xml_list *l = x->ud;
    if (x->depth == 1 && strcmp(x->stack[0], "ListBucketResult") != 0)
        return xs_fail(x, "not a ListBucketResult document");
    if (at(x, 2, "Contents")) {
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 64;
            rc_s3xml_object *o = realloc(l->objects, cap * sizeof *o);
            if (!o) return xs_fail(x, "out of memory");
            l->objects = o;
            l->cap = cap;
        }
        rc_s3xml_object *o = &l->objects[l->n++];
        memset(o, 0, sizeof *o);
        o->size = -1;
        o->mtime = -1;
    }
    return 0;
}

static int list_close(xscan *x, const char *text, size_t len)
{
    rc_s3xml_list *l = x->ud;
    if (x->depth == 3 && strcmp(x->stack[1], "Contents") == 0 && l->n > 0) {
        rc_s3xml_object *o = &l->objects[l->n - 1];
        const char *n = x->stack[2];
        if (strcmp(n, "Key") == 0) {
            if (len == 0 || memchr(text, '\0', len)) return xs_fail(x, "empty or binary Key");
            return copy_field(x, o->key, sizeof o->key, text, len, 1);
        }
        if (strcmp(n, "ETag") == 0) return copy_field(x, o->etag, sizeof o->etag, text, len, 1);
        if (strcmp(n, "LastModified") == 0) {
            copy_field(x, o->last_modified, sizeof o->last_modified, text, len, 0);
            o->mtime = rc_s3xml_parse_time(o->last_modified);
            return 0;
        }
        if (strcmp(n, "Size") == 0) {
            char num[24];
            if (len == 0 || len >= sizeof num) return xs_fail(x, "bad Size");
            memcpy(num, text, len);
            num[len] = '\0';
            char *endp;
            long long v = strtoll(num, &endp, 10);
            if (*endp || v < 0 || num[0] == '-' || num[0] == '+' || num[0] == ' ')
                return xs_fail(x, "bad Size");
            o->size = v;
        }
        return 0;
    }
    if (at(x, 2, "Contents")) {
        const rc_s3xml_object *o = &l->objects[l->n - 1];
        if (!o->key[0] || o->size < 0) return xs_fail(x, "Contents without Key or Size");
        return 0;
    }
    if (at(x, 2, "IsTruncated")) {
        if (len == 4 && memcmp(text, "true", 4) == 0)
            l->is_truncated = 1;
        else if (len == 5 && memcmp(text, "false", 5) == 0)
            l->is_truncated = 0;
        else
            return xs_fail(x, "IsTruncated is neither true nor false");
        return 0;
    }
    if (at(x, 2, "NextContinuationToken"))
        return copy_field(x, l->next_token, sizeof l->next_token, text, len, 1);
    return 0;
}

void rc_s3xml_list_free(rc_s3xml_list *l)
{
    free(l->objects);
    memset(l, 0, sizeof *l);
}

int rc_s3xml_parse_list(const char *xml, size_t len, rc_s3xml_list *l, rc_err *e)
{
    l->n = 0;
    l->is_truncated = 0;
    l->next_token[0] = '\0';
    if (!xml || len > RC_S3XML_MAX_INPUT)
        return rc_err_set(e, RC_EFORMAT, "ListObjectsV2 response of %zu bytes refused (limit %u)",
                          len, RC_S3XML_MAX_INPUT);
    xscan *x = malloc(sizeof *x);
    if (!x) return rc_err_set(e, RC_ENOMEM, "out of memory parsing a listing");
    xs_init(x, xml, len, l, list_open, list_close);
    int rc = RC_OK;
    if (xs_run(x))
        rc = rc_err_set(e, RC_EFORMAT, "unreadable ListObjectsV2 response: %s", x->err);
    else if (x->stack[0][0] && strcmp(x->stack[0], "ListBucketResult") != 0)
        rc = rc_err_set(e, RC_EFORMAT, "unreadable ListObjectsV2 response: root is <%s>",
                        x->stack[0]);
    else if (l->is_truncated && !l->next_token[0])
        rc = rc_err_set(e, RC_EFORMAT,
                        "ListObjectsV2 response is truncated but has no NextContinuationToken");
    free(x);
    if (rc != RC_OK) l->n = 0;
    return rc;
}

/* ---- error bodies ---- */

static int error_close(xscan *x, const char *text, size_t len)
{
    rc_s3xml_error *o = x->ud;
    if (x->depth != 2 || strcmp(x->stack[0], "Error") != 0) return 0;
    const char *n = x->stack[1];
    if (strcmp(n, "Code") == 0) return copy_field(x, o->code, sizeof o->code, text, len, 0);
    if (strcmp(n, "Message") == 0)
        return copy_field(x, o->message, sizeof o->message, text, len, 0);
    if (strcmp(n, "RequestId") == 0)
        return copy_field(x, o->request_id, sizeof o->request_id, text, len, 0);
    if (strcmp(n, "Resource") == 0 || (strcmp(n, "BucketName") == 0 && !o->resource[0]))
        return copy_field(x, o->resource, sizeof o->resource, text, len, 0);
    if (strcmp(n, "ServerTime") == 0)
        return copy_field(x, o->server_time, sizeof o->server_time, text, len, 0);
    return 0;
}

int rc_s3xml_parse_error(const char *xml, size_t len, rc_s3xml_error *out)
{
    memset(out, 0, sizeof *out);
    if (!xml || len == 0 || len > RC_S3XML_MAX_INPUT) return RC_EFORMAT;
    xscan *x = malloc(sizeof *x);
    if (!x) return RC_ENOMEM;
    xs_init(x, xml, len, out, NULL, error_close);
    xs_run(x); /* keep what was found even if the body is cut short */
    free(x);
    return out->code[0] ? RC_OK : RC_EFORMAT;
}

/* ---- STS answers ---- */

static int sts_close(xscan *x, const char *text, size_t len)
{
    rc_s3xml_sts *o = x->ud;
    if (x->depth < 2) return 0;
    const char *parent = x->stack[x->depth - 2], *n = x->stack[x->depth - 1];
    if (strcmp(parent, "Credentials") == 0) {
        if (strcmp(n, "AccessKeyId") == 0)
            return copy_field(x, o->access_key, sizeof o->access_key, text, len, 1);
        if (strcmp(n, "SecretAccessKey") == 0)
            return copy_field(x, o->secret_key, sizeof o->secret_key, text, len, 1);
        if (strcmp(n, "SessionToken") == 0)
            return copy_field(x, o->session_token, sizeof o->session_token, text, len, 1);
        if (strcmp(n, "Expiration") == 0)
            return copy_field(x, o->expiration, sizeof o->expiration, text, len, 0);
    } else if (strcmp(parent, "Error") == 0) {
        rc_s3xml_error *er = &o->error;
        if (strcmp(n, "Code") == 0) return copy_field(x, er->code, sizeof er->code, text, len, 0);
        if (strcmp(n, "Message") == 0)
            return copy_field(x, er->message, sizeof er->message, text, len, 0);
    } else if (strcmp(n, "RequestId") == 0) {
        return copy_field(x, o->error.request_id, sizeof o->error.request_id, text, len, 0);
    }
    return 0;
}

int rc_s3xml_parse_sts(const char *xml, size_t len, rc_s3xml_sts *out)
{
    memset(out, 0, sizeof *out);
    if (!xml || len == 0 || len > RC_S3XML_MAX_INPUT) return RC_EFORMAT;
    xscan *x = malloc(sizeof *x);
    if (!x) return RC_ENOMEM;
    xs_init(x, xml, len, out, NULL, sts_close);
    int bad = xs_run(x);
    memset(x, 0, sizeof *x); /* its text buffer held the secret */
    free(x);
    if (bad || !out->access_key[0] || !out->secret_key[0] || !out->session_token[0]) {
        out->access_key[0] = out->secret_key[0] = out->session_token[0] = '\0';
        return RC_EFORMAT;
    }
    return RC_OK;
}
