/*
 * awscred.h: where the S3 keys, and the region and endpoint that go with a
 * profile, come from: the places the aws CLI and the AWS SDKs look, in their
 * order, so the files that make `aws s3 ls` work make r2cache work.
 *
 * Keys, the first source that has them:
 *   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 *   2. R2_ACCESS_KEY_ID + R2_SECRET_ACCESS_KEY (the seed's variables)
 *   3. web identity from the environment: AWS_WEB_IDENTITY_TOKEN_FILE +
 *      AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME) -> STS AssumeRoleWithWebIdentity
 *      (EKS IRSA, any OIDC federation)
 *   4. the profile (AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default") in
 *      the shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials,
 *      sections "[NAME]") first, then AWS_CONFIG_FILE (~/.aws/config,
 *      "[profile NAME]" or "[default]"): aws_access_key_id +
 *      aws_secret_access_key (+ aws_session_token), or role_arn +
 *      web_identity_token_file (+ role_session_name) -> STS as in 3.
 * The profile also gives `region` and `endpoint_url` (and the
 * "services" section's `s3 = / endpoint_url = ...`), which the store uses
 * after its own settings and the environment variables.
 *
 * STS: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's sts/global
 * endpoint_url, else https://sts.REGION.amazonaws.com (regional, the SDKs'
 * default) or https://sts.amazonaws.com (no region, or
 * AWS_STS_REGIONAL_ENDPOINTS=legacy). Temporary credentials are refreshed
 * before they expire (when less than 5 minutes, or half their lifetime if
 * shorter, are left); the token file is read again for every call, because
 * the kubelet rotates it.
 *
 * A handle is shared by the store's worker threads: rc_awscred_get takes a
 * mutex, refreshes when due and copies the current keys out. Errors name the
 * file and line, the profile or the variable and what to do; no message or
 * log line carries a secret key, a session token or a web identity token.
 */
#ifndef R2CACHE_AWSCRED_H
#define R2CACHE_AWSCRED_H

#include <stddef.h>

#include "r2cache/err.h"
#include "r2cache/log.h"

#define RC_AWSCRED_TOKEN_MAX 4096

typedef struct rc_awscred rc_awscred;

typedef struct rc_awscred_opts {
    const rc_log *log;     /* refreshes and their failures; may be NULL */
    const char *ca_bundle; /* extra CA file for STS over https; NULL: the system's */
    long timeout_s;        /* one STS request; <= 0: 30 */
} rc_awscred_opts;

/* One set of keys, copied out of the handle; wipe it after use. */
typedef struct rc_awscred_keys {
    char access_key[160];
    char secret_key[160];
    char token[RC_AWSCRED_TOKEN_MAX + 1]; /* "" when none */
} rc_awscred_keys;

/* Resolve the chain (reads the shared files; no network: the first STS call
 * happens in rc_awscred_get). RC_EAUTH "no S3 credentials: ..." when no
 * source has keys, RC_EINVAL for a malformed file (FILE:LINE), a profile
 * AWS_PROFILE names that is in neither file, or a source r2cache cannot use
 * (credential_process, SSO, role_arn with source_profile). o may be NULL. */
int rc_awscred_open(const rc_awscred_opts *o, rc_awscred **out, rc_err *e);
/* Another holder of c (returns c); rc_awscred_free drops one, the last frees. */
rc_awscred *rc_awscred_ref(rc_awscred *c);
void rc_awscred_free(rc_awscred *c);

/* Which source the keys come from, without any secret:
 * "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
 * "profile 'obs' from /root/.aws/credentials",
 * "web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE): role ..., STS ...". */
const char *rc_awscred_source(const rc_awscred *c);
/* The profile's region / S3 endpoint, or NULL; *where (may be NULL) says
 * which file, profile and line it came from. */
const char *rc_awscred_region(const rc_awscred *c, const char **where);
const char *rc_awscred_endpoint(const rc_awscred *c, const char **where);

/* The current keys into k, calling STS first when temporary credentials are
 * missing or due for refresh. Thread-safe. RC_EAUTH when STS refuses (or the
 * token file is unreadable) and no unexpired keys are left; a failed refresh
 * with keys still valid logs a warning and returns those. */
int rc_awscred_get(rc_awscred *c, rc_awscred_keys *k, rc_err *e);
void rc_awscred_keys_wipe(rc_awscred_keys *k);

/* STS calls made so far (successful or not), for tests and debug lines. */
long rc_awscred_sts_calls(rc_awscred *c);

#endif
