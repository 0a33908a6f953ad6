/*
 * sigv4.c: AWS Signature Version 4 over OpenSSL libcrypto.
 *
 * Why our own: Debian's libs3 signs with V2 only, and curl 7.88's built-in
 * signer sends no x-amz-content-sha256, leaves the query unsorted, sorts
 * x-amz-meta-* wrongly and signs a suppressed Expect header. The algorithm is
 * small; getting each canonical line byte-exact is the whole job, so each
 * step (URI encoding, query sort, header folding) is a separate function
 * and the tests compare the intermediate strings, not only the signature.
 *
 * The secret only ever enters HMAC: it is never copied into any buffer
 * that a caller could print.
 */
#include "r2cache/sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

static const char hexu[] = "0123456789ABCDEF";
static const char hexl[] = "0123456789abcdef";

void rc_sigv4_out_init(rc_sigv4_out *o)
{
    rc_buf_init(&o->authorization);
    rc_buf_init(&o->canonical_request);
    rc_buf_init(&o->string_to_sign);
    o->signature[0] = '\0';
}

void rc_sigv4_out_free(rc_sigv4_out *o)
{
    rc_buf_free(&o->authorization);
    rc_buf_free(&o->canonical_request);
    rc_buf_free(&o->string_to_sign);
    o->signature[0] = '\0';
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

int rc_sigv4_uri_encode(rc_buf *out, const char *s, size_t len, int keep_slash)
{
    if (rc_buf_reserve(out, len * 3)) return RC_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            out->data[out->len++] = (char)c;
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = hexu[c >> 4];
            out->data[out->len++] = hexu[c & 15];
        }
    }
    out->data[out->len] = '\0';
    return RC_OK;
}

static void to_hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexl[p[i] >> 4];
        out[2 * i + 1] = hexl[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void rc_sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    to_hex(md, sizeof md, out);
}

static void md5(const void *data, size_t len, unsigned char md[16])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_md5(), NULL) || n != 16) memset(md, 0, 16);
}

void rc_sigv4_md5_base64(const void *data, size_t len, char out[25])
{
    unsigned char md[16];
    md5(data, len, md);
    EVP_EncodeBlock((unsigned char *)out, md, 16); /* 24 chars + NUL */
}

int rc_sigv4_md5_hex_base64(const char *hex, char out[25])
{
    unsigned char md[16];
    if (!hex || strlen(hex) != 32) return -1;
    for (int i = 0; i < 16; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) return -1;
            v = v * 16 + (unsigned)d;
        }
        md[i] = (unsigned char)v;
    }
    EVP_EncodeBlock((unsigned char *)out, md, 16);
    return 0;
}

void rc_sigv4_md5_hex(const void *data, size_t len, char out[33])
{
    unsigned char md[16];
    md5(data, len, md);
    to_hex(md, 16, out);
}

void rc_sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* One encoded query pair, sorted as a unit. */
typedef struct qpair {
    char *name;
    char *value;
} qpair;

static int qpair_cmp(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s, int keep_slash)
{
    rc_buf b = RC_BUF_INIT;
    if (!s) s = "";
    if (rc_sigv4_uri_encode(&b, s, strlen(s), keep_slash) || rc_buf_append(&b, "", 0)) {
        rc_buf_free(&b);
        return NULL;
    }
    return rc_buf_steal(&b, NULL);
}

int rc_sigv4_canonical_query(rc_buf *out, const rc_sigv4_kv *q, size_t n)
{
    if (n == 0) return rc_buf_append(out, "", 0);
    qpair *p = calloc(n, sizeof *p);
    if (!p) return RC_ENOMEM;
    int rc = RC_OK;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        p[i].name = encode_dup(q[i].name, 0);
        p[i].value = encode_dup(q[i].value, 0);
        if (!p[i].name || !p[i].value) rc = RC_ENOMEM;
    }
    if (rc == RC_OK) {
        qsort(p, n, sizeof *p, qpair_cmp);
        for (size_t i = 0; i < n && rc == RC_OK; i++)
            rc = rc_buf_printf(out, "%s%s=%s", i ? "&" : "", p[i].name, p[i].value);
    }
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
    return rc;
}

/* One header in canonical form; order keeps repeated names in input order. */
typedef struct hdr {
    char *name;  /* lower case */
    char *value; /* trimmed, inner whitespace runs collapsed */
    size_t order;
} hdr;

static int hdr_cmp(const void *a, const void *b)
{
    const hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim both ends and fold each whitespace run to one space (quoted or not,
 * as AWS's own signers do). */
static char *fold_value(const char *v)
{
    if (!v) v = "";
    size_t n = strlen(v);
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    int pending_space = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_ws(v[i])) {
            pending_space = o > 0;
            continue;
        }
        if (pending_space) out[o++] = ' ';
        pending_space = 0;
        out[o++] = v[i];
    }
    out[o] = '\0';
    return out;
}

static int valid_date(const char *d)
{
    if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z') return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)d[i])) return 0;
    return 1;
}

static int hmac256(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n) ||
        n != 32)
        return -1;
    return 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request") */
static int signing_key(const rc_sigv4_creds *c, const char *date, unsigned char key[32])
{
    size_t sl = strlen(c->secret_key);
    unsigned char *k0 = malloc(sl + 4);
    if (!k0) return RC_ENOMEM;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, c->secret_key, sl);
    unsigned char a[32], b[32];
    int bad = hmac256(k0, sl + 4, date, a) || hmac256(a, 32, c->region, b) ||
              hmac256(b, 32, c->service, a) || hmac256(a, 32, "aws4_request", key);
    OPENSSL_cleanse(k0, sl + 4);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    free(k0);
    return bad ? RC_EIO : RC_OK;
}

static int build_headers(const rc_sigv4_req *r, rc_buf *canon, rc_buf *signed_list, rc_err *e)
{
    size_t n = r->nheaders;
    hdr *h = calloc(n ? n : 1, sizeof *h);
    if (!h) return rc_err_set(e, RC_ENOMEM, "out of memory signing a request");
    int rc = RC_OK;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        const char *nm = r->headers[i].name;
        if (!nm || !*nm) {
            rc = rc_err_set(e, RC_EINVAL, "cannot sign a header with an empty name");
            break;
        }
        size_t l = strlen(nm);
        h[i].name = malloc(l + 1);
        h[i].value = fold_value(r->headers[i].value);
        h[i].order = i;
        if (!h[i].name || !h[i].value) {
            rc = rc_err_set(e, RC_ENOMEM, "out of memory signing a request");
            break;
        }
        for (size_t j = 0; j <= l; j++) {
            unsigned char c = (unsigned char)nm[j];
            if (j < l && (c <= ' ' || c == ':' || c >= 0x7f)) {
                rc = rc_err_set(e, RC_EINVAL, "cannot sign header name \"%s\": bad character", nm);
                break;
            }
            h[i].name[j] = (char)tolower(c);
        }
    }
    if (rc == RC_OK) {
        qsort(h, n, sizeof *h, hdr_cmp);
        for (size_t i = 0; i < n && rc == RC_OK; i++) {
            int same = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
            if (same) {
                rc = rc_buf_printf(canon, ",%s", h[i].value);
                continue;
            }
            if (i > 0) rc = rc_buf_puts(canon, "\n");
            if (rc == RC_OK) rc = rc_buf_printf(canon, "%s:%s", h[i].name, h[i].value);
            if (rc == RC_OK)
                rc = rc_buf_printf(signed_list, "%s%s", signed_list->len ? ";" : "", h[i].name);
        }
        if (rc == RC_OK && n) rc = rc_buf_puts(canon, "\n");
        if (rc != RC_OK) rc = rc_err_set(e, RC_ENOMEM, "out of memory signing a request");
    }
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    return rc;
}

int rc_sigv4_sign(const rc_sigv4_req *r, const rc_sigv4_creds *c, rc_sigv4_out *o, rc_err *e)
{
    rc_buf_reset(&o->authorization);
    rc_buf_reset(&o->canonical_request);
    rc_buf_reset(&o->string_to_sign);
    o->signature[0] = '\0';
    if (!r->method || !r->path || r->path[0] != '/')
        return rc_err_set(e, RC_EINVAL,
                          "cannot sign a request without a method and an absolute path");
    if (!valid_date(r->amz_date))
        return rc_err_set(e, RC_EINVAL, "cannot sign: x-amz-date \"%s\" is not YYYYMMDDTHHMMSSZ",
                          r->amz_date ? r->amz_date : "");
    if (!c->access_key || !c->secret_key || !c->region || !c->service)
        return rc_err_set(e, RC_EINVAL,
                          "cannot sign: access key, secret, region or service missing");
    const char *payload = r->payload_sha256 ? r->payload_sha256 : RC_SIGV4_EMPTY_SHA256;

    rc_buf *cr = &o->canonical_request;
    rc_buf hdrs = RC_BUF_INIT, signed_list = RC_BUF_INIT;
    int rc = build_headers(r, &hdrs, &signed_list, e);
    if (rc == RC_OK) {
        int m = rc_buf_printf(cr, "%s\n", r->method) ||
                rc_sigv4_uri_encode(cr, r->path, strlen(r->path), 1) || rc_buf_puts(cr, "\n") ||
                rc_sigv4_canonical_query(cr, r->query, r->nquery) || rc_buf_puts(cr, "\n") ||
                rc_buf_append(cr, hdrs.data ? hdrs.data : "", hdrs.len) ||
                rc_buf_printf(cr, "\n%s\n%s", signed_list.data ? signed_list.data : "", payload);
        if (m) rc = rc_err_set(e, RC_ENOMEM, "out of memory signing a request");
    }
    char date[9];
    memcpy(date, r->amz_date, 8);
    date[8] = '\0';
    if (rc == RC_OK) {
        char crhash[65];
        rc_sigv4_sha256_hex(cr->data, cr->len, crhash);
        if (rc_buf_printf(&o->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                          r->amz_date, date, c->region, c->service, crhash))
            rc = rc_err_set(e, RC_ENOMEM, "out of memory signing a request");
    }
    if (rc == RC_OK) {
        unsigned char key[32], sig[32];
        rc = signing_key(c, date, key);
        if (rc == RC_OK && hmac256(key, 32, o->string_to_sign.data, sig)) rc = RC_EIO;
        OPENSSL_cleanse(key, sizeof key);
        if (rc != RC_OK)
            rc = rc_err_set(e, rc, "HMAC-SHA256 failed in OpenSSL while signing a request");
        else
            to_hex(sig, 32, o->signature);
    }
    if (rc == RC_OK &&
        rc_buf_printf(&o->authorization,
                      "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                      "Signature=%s",
                      c->access_key, date, c->region, c->service,
                      signed_list.data ? signed_list.data : "", o->signature))
        rc = rc_err_set(e, RC_ENOMEM, "out of memory signing a request");
    rc_buf_free(&hdrs);
    rc_buf_free(&signed_list);
    return rc;
}
