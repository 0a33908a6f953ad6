/*
 * s3xml.h: the two S3 XML documents r2cache reads: ListObjectsV2 results and
 * error bodies. No XML library: a small bounded scanner that understands
 * exactly what S3, R2 and RGW send (elements, text, the five named entities
 * and numeric character references, comments, CDATA, namespace prefixes).
 *
 * Each parser takes (const char *, size_t), never reads past len and needs no
 * NUL terminator, so it can be fed arbitrary bytes by a fuzzer.
 */
#ifndef R2CACHE_S3XML_H
#define R2CACHE_S3XML_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/err.h"

#define RC_S3XML_MAX_INPUT (64u << 20) /* a list page is ~300 kB; refuse absurd bodies */
#define RC_S3XML_KEY_MAX 1025          /* S3 keys are at most 1024 bytes */

typedef struct rc_s3xml_object {
    char key[RC_S3XML_KEY_MAX];
    int64_t size;
    char etag[80];          /* entity-decoded, quotes kept as sent */
    char last_modified[40]; /* "2025-11-04T22:13:00.000Z" */
    int64_t mtime;          /* seconds since epoch, -1 when absent/unparsable */
} rc_s3xml_object;

typedef struct rc_s3xml_list {
    rc_s3xml_object *objects;
    size_t n, cap;
    int is_truncated;
    char next_token[2048]; /* NextContinuationToken, decoded; "" when none */
} rc_s3xml_list;

/* Parse one ListObjectsV2 page into l (reset first). RC_EFORMAT with a
 * message when the document is not a ListBucketResult or is malformed. */
int rc_s3xml_parse_list(const char *xml, size_t len, rc_s3xml_list *l, rc_err *e);
void rc_s3xml_list_free(rc_s3xml_list *l);

typedef struct rc_s3xml_error {
    char code[64]; /* "SignatureDoesNotMatch" */
    char message[512];
    char request_id[128];
    char resource[256];   /* Resource or BucketName when sent */
    char server_time[40]; /* RequestTimeTooSkewed: ServerTime */
} rc_s3xml_error;

/* Parse an S3 <Error> body. Returns RC_OK when a Code was found, RC_EFORMAT
 * otherwise (fields that were found are still filled). */
int rc_s3xml_parse_error(const char *xml, size_t len, rc_s3xml_error *out);

/* The temporary credentials in an STS answer (AssumeRoleWithWebIdentity,
 * GetSessionToken: a Credentials element at any depth), or its error
 * (ErrorResponse/Error or Error: Code, Message, RequestId). */
typedef struct rc_s3xml_sts {
    char access_key[160];
    char secret_key[160];
    char session_token[4097];
    char expiration[40]; /* as sent, "2026-12-02T04:00:00Z" */
    rc_s3xml_error error;
} rc_s3xml_sts;

/* RC_OK when AccessKeyId, SecretAccessKey and SessionToken were all found;
 * RC_EFORMAT otherwise (out->error.code says why when the body was an error). */
int rc_s3xml_parse_sts(const char *xml, size_t len, rc_s3xml_sts *out);

/* "2025-11-04T22:13:00.000Z" (ISO 8601, UTC) to seconds since epoch; -1 on error. */
int64_t rc_s3xml_parse_time(const char *s);

#endif
