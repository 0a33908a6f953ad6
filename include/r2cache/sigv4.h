/*
 * sigv4.h: AWS Signature Version 4 (AWS4-HMAC-SHA256) for S3 requests.
 *
 * A pure function of its inputs: the caller lists every header it will send
 * and wants signed (host, x-amz-date, x-amz-content-sha256, ...), the signer
 * builds the canonical request, the string to sign and the Authorization
 * value. No clock, no I/O, no globals, so it is tested byte for byte against
 * AWS's published examples.
 *
 * S3 rules, which differ from other services: the path is URI-encoded once
 * (never twice) and "/" is kept; no path normalisation ("//" and "." stay).
 * The same encoder builds the URL that is sent, so what is signed is what
 * goes on the wire.
 */
#ifndef R2CACHE_SIGV4_H
#define R2CACHE_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "r2cache/buf.h"
#include "r2cache/err.h"

#define RC_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define RC_SIGV4_UNSIGNED "UNSIGNED-PAYLOAD"

typedef struct rc_sigv4_kv {
    const char *name;
    const char *value; /* NULL is the same as "" */
} rc_sigv4_kv;

typedef struct rc_sigv4_creds {
    const char *access_key;
    const char *secret_key;
    const char *region;  /* "us-east-1", "auto" */
    const char *service; /* "s3" */
} rc_sigv4_creds;

typedef struct rc_sigv4_req {
    const char *method;       /* "GET", "PUT", ... */
    const char *path;         /* decoded, starting with "/": "/bucket/data/a b" */
    const rc_sigv4_kv *query; /* decoded names and values, any order */
    size_t nquery;
    const rc_sigv4_kv *headers; /* headers to sign, any case and order; a
                                   repeated name is joined with "," in order */
    size_t nheaders;
    const char *amz_date;       /* "YYYYMMDDTHHMMSSZ", as sent in x-amz-date */
    const char *payload_sha256; /* lower-case hex, or RC_SIGV4_UNSIGNED */
} rc_sigv4_req;

typedef struct rc_sigv4_out {
    rc_buf authorization;     /* the Authorization header value */
    rc_buf canonical_request; /* for tests; holds header values (tokens): never log */
    rc_buf string_to_sign;
    char signature[65];
} rc_sigv4_out;

void rc_sigv4_out_init(rc_sigv4_out *o);
void rc_sigv4_out_free(rc_sigv4_out *o);

/* Sign r with c into o (buffers are reset first). RC_EINVAL for malformed
 * input (bad date, header name with a colon or control character). */
int rc_sigv4_sign(const rc_sigv4_req *r, const rc_sigv4_creds *c, rc_sigv4_out *o, rc_err *e);

/* Append the S3 URI encoding of s[0..len): unreserved A-Za-z0-9-_.~ kept,
 * "/" kept when keep_slash, every other byte %XX with upper-case hex. */
int rc_sigv4_uri_encode(rc_buf *out, const char *s, size_t len, int keep_slash);

/* Append the canonical query string ("a=1&b=&c=x%2By"), sorted by encoded
 * name then encoded value; usable as the URL's query string too. */
int rc_sigv4_canonical_query(rc_buf *out, const rc_sigv4_kv *q, size_t n);

/* "YYYYMMDDTHHMMSSZ" of t (UTC) into out[17]. */
void rc_sigv4_amz_date(time_t t, char out[17]);
/* Lower-case hex SHA-256 of data into out[65]. */
void rc_sigv4_sha256_hex(const void *data, size_t len, char out[65]);
/* Base64 of the MD5 of data (Content-MD5) into out[25]. */
void rc_sigv4_md5_base64(const void *data, size_t len, char out[25]);
/* Lower-case hex MD5 of data (the ETag of a single-part upload) into out[33]. */
void rc_sigv4_md5_hex(const void *data, size_t len, char out[33]);
/* Content-MD5 (base64) from an MD5 the caller has in hex; -1 when hex is not
 * 32 lower-case hex digits (out untouched). */
int rc_sigv4_md5_hex_base64(const char *hex, char out[25]);

#endif
