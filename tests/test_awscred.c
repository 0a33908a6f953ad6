/*
 * test_awscred.c: the AWS credential chain (src/awscred.c).
 *
 * Unit part: the shared files' INI dialect and its errors, the order of the
 * sources, the profile's region and endpoint, web identity settings. Every
 * test points HOME, AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE into its
 * own directory, so the machine's ~/.aws never plays a part.
 *
 * RGW part (CTest fixture "rgw", tests/rgw.sh): a profile's keys from a
 * credentials file, AWS_PROFILE, region and endpoint_url from the config
 * file, all with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset; and web
 * identity through tests/sts_stub.py, which hands out real temporary
 * credentials from RGW's STS GetSessionToken, so RGW checks the signature and
 * the session token. Skips visibly when the RGW env file is absent.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/awscred.h"
#include "r2cache/log.h"
#include "r2cache/store.h"
#include "support.h"

static const char *const cred_vars[] = {"AWS_ACCESS_KEY_ID",
                                        "AWS_SECRET_ACCESS_KEY",
                                        "AWS_SESSION_TOKEN",
                                        "AWS_REGION",
                                        "AWS_DEFAULT_REGION",
                                        "AWS_ENDPOINT_URL",
                                        "AWS_ENDPOINT_URL_S3",
                                        "AWS_ENDPOINT_URL_STS",
                                        "AWS_PROFILE",
                                        "AWS_DEFAULT_PROFILE",
                                        "AWS_SHARED_CREDENTIALS_FILE",
                                        "AWS_CONFIG_FILE",
                                        "AWS_ROLE_ARN",
                                        "AWS_WEB_IDENTITY_TOKEN_FILE",
                                        "AWS_ROLE_SESSION_NAME",
                                        "AWS_STS_REGIONAL_ENDPOINTS",
                                        "R2_ACCOUNT_ID",
                                        "R2_ACCESS_KEY_ID",
                                        "R2_SECRET_ACCESS_KEY",
                                        "R2_BUCKET_NAME",
                                        "AWS_CA_BUNDLE"};

static char dir[4096], credf[4200], conff[4200];

/* A fresh directory as HOME; the shared files' paths inside it (not written). */
static void fresh(const char *tag)
{
    for (size_t i = 0; i < sizeof cred_vars / sizeof cred_vars[0]; i++)
        unsetenv(cred_vars[i]);
    char *d = rc_test_tmpdir(tag);
    cr_assert_not_null(d);
    snprintf(dir, sizeof dir, "%s", d);
    free(d);
    setenv("HOME", dir, 1);
    snprintf(credf, sizeof credf, "%s/credentials", dir);
    snprintf(conff, sizeof conff, "%s/config", dir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", credf, 1);
    setenv("AWS_CONFIG_FILE", conff, 1);
}

static void write_text(const char *path, const char *text)
{
    cr_assert_eq(rc_test_write_file(path, text, strlen(text)), 0, "write %s", path);
}

/* Open the chain; returns its status, the handle in *c (or NULL). */
static int open_chain(rc_awscred **c, rc_err *e)
{
    memset(e, 0, sizeof *e);
    return rc_awscred_open(NULL, c, e);
}

static void expect_error(int code, const char *msg)
{
    rc_awscred *c = NULL;
    rc_err e;
    int rc = open_chain(&c, &e);
    cr_assert_eq(rc, code, "rc %d (%s)", rc, e.msg);
    cr_assert_null(c);
    cr_assert_str_eq(e.msg, msg);
}

static void expect_keys(const char *source, const char *ak, const char *sk, const char *tok)
{
    rc_awscred *c = NULL;
    rc_err e;
    int rc = open_chain(&c, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    cr_assert_str_eq(rc_awscred_source(c), source);
    rc_awscred_keys k;
    cr_assert_eq(rc_awscred_get(c, &k, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(k.access_key, ak);
    cr_assert_str_eq(k.secret_key, sk);
    cr_assert_str_eq(k.token, tok);
    rc_awscred_free(c);
}

/* ---- the INI dialect ---- */

Test(awscred, ini_comments_spaces_and_case)
{
    fresh("awscred-ini");
    write_text(credf, "\xEF\xBB\xBF# written by aws configure\r\n"
                      "; another comment\r\n"
                      "\r\n"
                      "[default]\r\n"
                      "aws_access_key_id=AKIDDEFAULT1 ; inline comment\r\n"
                      "AWS_Secret_Access_Key   =   s3cr3t/with+slash==   # trailing\r\n"
                      "\r\n"
                      "[  obs  ]\n"
                      "    aws_access_key_id = AKIDOBS2\n"
                      "    aws_secret_access_key = obs#secret\n"
                      "    aws_session_token = tok;en\n");
    char want[4400];
    snprintf(want, sizeof want, "profile 'default' from %s", credf);
    expect_keys(want, "AKIDDEFAULT1", "s3cr3t/with+slash==", "");
    /* "#" and ";" inside a value without a blank before them are the value's */
    setenv("AWS_PROFILE", "obs", 1);
    snprintf(want, sizeof want, "profile 'obs' from %s", credf);
    expect_keys(want, "AKIDOBS2", "obs#secret", "tok;en");
}

Test(awscred, ini_errors_name_file_and_line)
{
    fresh("awscred-inierr");
    char want[4600];
    write_text(credf, "[default]\n# ok\naws_access_key_id AKID\n");
    snprintf(want, sizeof want,
             "%s:3: expected \"[section]\" or \"name = value\" (or a comment starting with # or ;)",
             credf);
    expect_error(RC_EINVAL, want);

    write_text(credf, "aws_access_key_id = AKID\n[default]\n");
    snprintf(want, sizeof want,
             "%s:1: \"aws_access_key_id\" before any [section]; put it under [default] or a "
             "[profile NAME]",
             credf);
    expect_error(RC_EINVAL, want);

    write_text(credf, "\n[default\n");
    snprintf(want, sizeof want, "%s:2: section header without \"]\"", credf);
    expect_error(RC_EINVAL, want);

    write_text(credf, "[default]\naws_access_key_id = AKID\n    aws_secret_access_key = x\n");
    snprintf(want, sizeof want,
             "%s:3: \"aws_secret_access_key\" is indented more than the line before, which makes "
             "it a continuation of that value; indent it like the other settings",
             credf);
    expect_error(RC_EINVAL, want);

    /* one half of a pair */
    write_text(credf, "[default]\n\naws_access_key_id = AKIDHALF\n");
    snprintf(want, sizeof want,
             "%s:3: profile 'default' has aws_access_key_id but no aws_secret_access_key; give "
             "both (or neither)",
             credf);
    expect_error(RC_EINVAL, want);

    /* what r2cache cannot use is said, not skipped */
    write_text(credf, "");
    write_text(conff, "[default]\nregion = eu-west-1\ncredential_process = /usr/bin/get-keys\n");
    snprintf(want, sizeof want,
             "%s:3: profile 'default' uses credential_process, which r2cache does not support; "
             "give it aws_access_key_id and aws_secret_access_key, or role_arn and "
             "web_identity_token_file",
             conff);
    expect_error(RC_EINVAL, want);

    /* a directory named as the file */
    setenv("AWS_SHARED_CREDENTIALS_FILE", dir, 1);
    snprintf(want, sizeof want, "%s from AWS_SHARED_CREDENTIALS_FILE is a directory, not a file",
             dir);
    expect_error(RC_EINVAL, want);
}

Test(awscred, missing_files_and_missing_profile)
{
    fresh("awscred-missing");
    char want[9000];
    snprintf(want, sizeof want,
             "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
             "R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY), AWS_WEB_IDENTITY_TOKEN_FILE and "
             "AWS_ROLE_ARN, or keys in profile 'default' (looked in %s (absent) and %s (absent))",
             credf, conff);
    expect_error(RC_EAUTH, want);

    /* the default paths under HOME */
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_CONFIG_FILE");
    snprintf(want, sizeof want,
             "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
             "R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY), AWS_WEB_IDENTITY_TOKEN_FILE and "
             "AWS_ROLE_ARN, or keys in profile 'default' (looked in %s/.aws/credentials (absent) "
             "and %s/.aws/config (absent))",
             dir, dir);
    expect_error(RC_EAUTH, want);
    setenv("AWS_SHARED_CREDENTIALS_FILE", credf, 1);
    setenv("AWS_CONFIG_FILE", conff, 1);

    /* a named profile that is in neither file */
    write_text(credf, "[default]\naws_access_key_id = A\naws_secret_access_key = B\n");
    write_text(conff, "[obs]\nregion = eu-west-1\n"); /* no "profile " prefix: not profile obs */
    setenv("AWS_PROFILE", "obs", 1);
    snprintf(want, sizeof want,
             "AWS_PROFILE=obs: no profile [obs] in %s and no [profile obs] in %s; check the name "
             "or set AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE",
             credf, conff);
    expect_error(RC_EINVAL, want);
    unsetenv("AWS_PROFILE");
    setenv("AWS_DEFAULT_PROFILE", "nope", 1);
    snprintf(want, sizeof want,
             "AWS_DEFAULT_PROFILE=nope: no profile [nope] in %s and no [profile nope] in %s; "
             "check the name or set AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE",
             credf, conff);
    expect_error(RC_EINVAL, want);

    /* a profile with settings but no keys */
    unsetenv("AWS_DEFAULT_PROFILE");
    write_text(credf, "");
    write_text(conff, "[default]\nregion = eu-west-1\n");
    snprintf(want, sizeof want,
             "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
             "R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY), AWS_WEB_IDENTITY_TOKEN_FILE and "
             "AWS_ROLE_ARN, or keys in profile 'default' (looked in %s and %s)",
             credf, conff);
    expect_error(RC_EAUTH, want);
}

/* ---- the order of the sources ---- */

Test(awscred, precedence)
{
    fresh("awscred-order");
    char want[9000];
    write_text(credf, "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n"
                      "[obs]\naws_access_key_id = OBSKEY\naws_secret_access_key = obssecret\n");
    write_text(conff, "[profile obs]\naws_access_key_id = CONFKEY\n"
                      "aws_secret_access_key = confsecret\nregion = eu-central-1\n"
                      "[profile other]\naws_access_key_id = OTHERKEY\n"
                      "aws_secret_access_key = othersecret\naws_session_token = othertoken\n");
    snprintf(want, sizeof want, "profile 'default' from %s", credf);
    expect_keys(want, "FILEKEY", "filesecret", "");
    /* the credentials file wins over the config file for the same profile */
    setenv("AWS_PROFILE", "obs", 1);
    snprintf(want, sizeof want, "profile 'obs' from %s", credf);
    expect_keys(want, "OBSKEY", "obssecret", "");
    /* "[profile NAME]" in the config file; AWS_PROFILE over AWS_DEFAULT_PROFILE */
    setenv("AWS_PROFILE", "other", 1);
    setenv("AWS_DEFAULT_PROFILE", "obs", 1);
    snprintf(want, sizeof want, "profile 'other' from %s", conff);
    expect_keys(want, "OTHERKEY", "othersecret", "othertoken");
    /* web identity from the environment over the profile */
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r2cache", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
           1);
    setenv("AWS_REGION", "eu-west-1", 1);
    rc_awscred *c = NULL;
    rc_err e;
    cr_assert_eq(open_chain(&c, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(rc_awscred_source(c),
                     "web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE): role "
                     "arn:aws:iam::123456789012:role/r2cache, token file "
                     "/var/run/secrets/eks.amazonaws.com/serviceaccount/token, STS "
                     "https://sts.eu-west-1.amazonaws.com");
    rc_awscred_free(c);
    setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy", 1);
    cr_assert_eq(open_chain(&c, &e), RC_OK, "%s", e.msg);
    cr_assert(strstr(rc_awscred_source(c), ", STS https://sts.amazonaws.com"), "%s",
              rc_awscred_source(c));
    rc_awscred_free(c);
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:", 1);
    expect_error(RC_EINVAL, "STS endpoint \"http://127.0.0.1:\" (from AWS_ENDPOINT_URL_STS) is not "
                            "https://HOST[:PORT] (or http:// for a local test server)");
    setenv("AWS_ENDPOINT_URL_STS", "sts.example.com", 1);
    expect_error(RC_EINVAL, "STS endpoint \"sts.example.com\" (from AWS_ENDPOINT_URL_STS) is not "
                            "https://HOST[:PORT] (or http:// for a local test server)");
    unsetenv("AWS_ENDPOINT_URL_STS");
    /* the R2 variables over web identity, the AWS variables over both */
    setenv("R2_ACCESS_KEY_ID", "R2KEY", 1);
    setenv("R2_SECRET_ACCESS_KEY", "r2secret", 1);
    expect_keys("R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY", "R2KEY", "r2secret", "");
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    expect_keys("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", "ENVKEY", "envsecret", "");
    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    expect_keys("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN", "ENVKEY",
                "envsecret", "envtoken");
    /* one half of the web identity pair is an error, not silence */
    for (size_t i = 0; i < sizeof cred_vars / sizeof cred_vars[0]; i++)
        if (strncmp(cred_vars[i], "AWS_SHARED", 10) && strncmp(cred_vars[i], "AWS_CONFIG", 10))
            unsetenv(cred_vars[i]);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r2cache", 1);
    expect_error(RC_EINVAL, "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not: web "
                            "identity needs both (EKS sets them for a service account with the "
                            "eks.amazonaws.com/role-arn annotation)");
}

Test(awscred, profile_region_endpoint_and_web_identity)
{
    fresh("awscred-profile");
    write_text(credf, "[obs]\naws_access_key_id = OBSKEY\naws_secret_access_key = obssecret\n");
    write_text(conff,
               "[default]\nregion = us-west-2\n"
               "[profile obs]\nregion = eu-central-1\nendpoint_url = https://s3.obs.example\n"
               "[profile svc]\nservices = local\nendpoint_url = https://global.example\n"
               "role_arn = arn:aws:iam::1:role/svc\n"
               "web_identity_token_file = /tmp/token\nrole_session_name = obs-pod\n"
               "[services local]\ns3 =\n  endpoint_url = http://127.0.0.1:7480\n"
               "sts =\n  endpoint_url = http://127.0.0.1:9999/\n");
    rc_awscred *c = NULL;
    rc_err e;
    const char *where;
    char want[4600];
    setenv("AWS_PROFILE", "obs", 1);
    cr_assert_eq(open_chain(&c, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(rc_awscred_region(c, &where), "eu-central-1");
    snprintf(want, sizeof want, "profile 'obs' (%s line 4)", conff);
    cr_assert_str_eq(where, want);
    cr_assert_str_eq(rc_awscred_endpoint(c, &where), "https://s3.obs.example");
    snprintf(want, sizeof want, "profile 'obs' (%s line 5)", conff);
    cr_assert_str_eq(where, want);
    rc_awscred_free(c);

    /* the services section's s3 endpoint over the profile's own; web identity from the profile */
    setenv("AWS_PROFILE", "svc", 1);
    cr_assert_eq(open_chain(&c, &e), RC_OK, "%s", e.msg);
    cr_assert_null(rc_awscred_region(c, &where));
    cr_assert_null(where);
    cr_assert_str_eq(rc_awscred_endpoint(c, &where), "http://127.0.0.1:7480");
    snprintf(want, sizeof want, "[services local] s3 of profile 'svc' (%s line 14)", conff);
    cr_assert_str_eq(where, want);
    snprintf(want, sizeof want,
             "web identity (profile 'svc' in %s): role arn:aws:iam::1:role/svc, token file "
             "/tmp/token, STS http://127.0.0.1:9999",
             conff);
    cr_assert_str_eq(rc_awscred_source(c), want);
    rc_awscred_free(c);

    /* role_arn with source_profile is named, not ignored */
    write_text(conff, "[profile chain]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = obs\n");
    setenv("AWS_PROFILE", "chain", 1);
    snprintf(want, sizeof want,
             "%s:3: profile 'chain' uses role_arn with source_profile (AssumeRole), which r2cache "
             "does not support; give it aws_access_key_id and aws_secret_access_key, or role_arn "
             "and web_identity_token_file",
             conff);
    expect_error(RC_EINVAL, want);
}

/* ---- against RGW ---- */

static char bucket[128], endpoint[256], rgw_ak[128], rgw_sk[128];

static void need_rgw(const char *tag)
{
    fresh(tag);
    if (rc_test_rgw_env(bucket, sizeof bucket, endpoint, sizeof endpoint) != 0)
        cr_skip_test("SKIPPED: %s/rgw/env is absent (run through ctest, whose rgw fixture starts "
                     "RGW)",
                     RC_BINARY_DIR);
    snprintf(rgw_ak, sizeof rgw_ak, "%s", getenv("AWS_ACCESS_KEY_ID"));
    snprintf(rgw_sk, sizeof rgw_sk, "%s", getenv("AWS_SECRET_ACCESS_KEY"));
    /* the keys go only into the files (or STS) from here on */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
}

static int count_obj(void *ud, const rc_obj_info *o)
{
    (void)o;
    (*(int *)ud)++;
    return 0;
}

/* Open s3://bucket/t-PID-TAG with a debug log into *log (caller frees), put,
 * get, list and delete one object; the store is closed again (*s is NULL
 * then, as the log it wrote to is gone). */
static int open_store(const char *tag, rc_store **s, char **log, rc_err *e)
{
    char url[512];
    snprintf(url, sizeof url, "s3://%s/t-%d-%ld-%s", bucket, (int)getpid(), (long)time(NULL), tag);
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    rc_log lg;
    rc_log_init(&lg, f, RC_LOG_DEBUG, RC_LOG_TEXT);
    rc_store_opts o;
    rc_store_opts_default(&o);
    o.log = &lg;
    o.max_attempts = 2;
    memset(e, 0, sizeof *e);
    *s = NULL;
    int rc = rc_store_open(url, &o, s, e);
    if (rc == RC_OK) {
        /* write, read back, list, delete: every request signed with the chain's keys */
        char etag[RC_ETAG_MAX];
        rc = rc_store_put(*s, "cred/probe.txt", "hello", 5, NULL, etag, e);
        rc_buf b = RC_BUF_INIT;
        if (rc == RC_OK) rc = rc_store_get(*s, "cred/probe.txt", &b, NULL, e);
        if (rc == RC_OK) cr_assert_eq(b.len, 5);
        if (rc == RC_OK) cr_assert_eq(memcmp(b.data, "hello", 5), 0);
        rc_buf_free(&b);
        int nobj = 0;
        if (rc == RC_OK) rc = rc_store_list(*s, "cred/", count_obj, &nobj, e);
        if (rc == RC_OK) cr_assert_eq(nobj, 1);
        if (rc == RC_OK) rc = rc_store_delete(*s, "cred/probe.txt", e);
    }
    rc_store_close(*s);
    *s = NULL;
    fflush(f);
    long n = ftell(f);
    rewind(f);
    *log = calloc(1, (size_t)n + 1);
    cr_assert_eq(fread(*log, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return rc;
}

static void no_secret(const char *text)
{
    cr_assert_null(strstr(text, rgw_sk), "the secret key appears in: %s", text);
}

Test(awscred, rgw_profile_from_credentials_file)
{
    need_rgw("awscred-rgw1");
    char text[4096], want[16000];
    snprintf(text, sizeof text, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
             rgw_ak, rgw_sk);
    write_text(credf, text);
    rc_store *s;
    char *log;
    rc_err e;
    int rc = open_store("profile", &s, &log, &e);
    cr_assert_eq(rc, RC_OK, "%s\nlog: %s", e.msg, log);
    snprintf(want, sizeof want,
             "credentials: profile 'default' from %s; region from AWS_REGION; "
             "endpoint from AWS_ENDPOINT_URL",
             credf);
    cr_assert(strstr(log, want), "%s", log);
    no_secret(log);
    free(log);
    rc_store_close(s);
}

Test(awscred, rgw_aws_profile_selects_a_profile)
{
    need_rgw("awscred-rgw2");
    char text[4096], want[16000];
    snprintf(text, sizeof text,
             "[default]\naws_access_key_id = NOTAKEY0000WRONG\naws_secret_access_key = wrong\n"
             "[obs]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
             rgw_ak, rgw_sk);
    write_text(credf, text);
    rc_store *s;
    char *log;
    rc_err e;
    /* the default profile's key is refused, and the message names the profile */
    int rc = open_store("default", &s, &log, &e);
    cr_assert_eq(rc, RC_EAUTH, "%s", e.msg);
    snprintf(want, sizeof want,
             "does not know the access key ending in ...RONG (InvalidAccessKeyId): check "
             "profile 'default' from %s (request id ",
             credf);
    cr_assert(strstr(e.msg, want), "%s", e.msg);
    cr_assert_null(strstr(e.msg, "wrong"), "%s", e.msg);
    free(log);
    rc_store_close(s);

    setenv("AWS_PROFILE", "obs", 1);
    rc = open_store("obs", &s, &log, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    snprintf(want, sizeof want, "credentials: profile 'obs' from %s;", credf);
    cr_assert(strstr(log, want), "%s", log);
    no_secret(log);
    free(log);
    rc_store_close(s);
}

Test(awscred, rgw_region_and_endpoint_from_config)
{
    need_rgw("awscred-rgw3");
    char text[4096], want[16000];
    snprintf(text, sizeof text, "[obs]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
             rgw_ak, rgw_sk);
    write_text(credf, text);
    snprintf(text, sizeof text,
             "# the observatory's RGW\n[profile obs]\nregion = us-east-1\n"
             "endpoint_url = %s\n",
             endpoint);
    write_text(conff, text);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_REGION");
    setenv("AWS_PROFILE", "obs", 1);
    rc_store *s;
    char *log;
    rc_err e;
    int rc = open_store("config", &s, &log, &e);
    cr_assert_eq(rc, RC_OK, "%s\nlog: %s", e.msg, log);
    snprintf(want, sizeof want,
             "credentials: profile 'obs' from %s; region from profile 'obs' (%s line 3); "
             "endpoint from profile 'obs' (%s line 4)",
             credf, conff, conff);
    cr_assert(strstr(log, want), "%s", log);
    snprintf(want, sizeof want, "endpoint %s, bucket %s", endpoint, bucket);
    cr_assert(strstr(log, want), "%s", log);
    cr_assert(strstr(log, "region us-east-1, path-style"), "%s", log);
    free(log);
    rc_store_close(s);

    /* the environment's endpoint wins over the profile's */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
    FILE *f = tmpfile();
    rc_log lg;
    rc_log_init(&lg, f, RC_LOG_DEBUG, RC_LOG_TEXT);
    rc_store_opts o;
    rc_store_opts_default(&o);
    o.log = &lg;
    rc_store *s2 = NULL;
    cr_assert_eq(rc_store_open("s3://bkt/x", &o, &s2, &e), RC_OK, "%s", e.msg);
    rc_store_close(s2);
    fflush(f);
    rewind(f);
    char buf[8192] = "";
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    fclose(f);
    cr_assert(strstr(buf, "endpoint http://127.0.0.1:9, bucket bkt"), "%s", buf);
    cr_assert(strstr(buf, "; endpoint from AWS_ENDPOINT_URL"), "%s", buf);
}

/* ---- web identity through the STS stub ---- */

static pid_t stub_pid;
static int stub_port;
static char calls_path[4300], token_path[4300];

static void start_stub(int expires_in)
{
    char script[4200], exp[16];
    snprintf(script, sizeof script, "%s/tests/sts_stub.py", RC_SOURCE_DIR);
    snprintf(calls_path, sizeof calls_path, "%s/sts-calls.txt", dir);
    snprintf(token_path, sizeof token_path, "%s/token", dir);
    snprintf(exp, sizeof exp, "%d", expires_in);
    write_text(token_path, "eyJhbGciOiJSUzI1NiJ9.pod-identity-token.sig\n");
    write_text(calls_path, "");
    /* the STS-enabled gateway: the stub asks it for temporary keys, the store uses them there */
    const char *sts_gw = getenv("RC_TEST_STS_ENDPOINT");
    cr_assert(sts_gw && *sts_gw, "RC_TEST_STS_ENDPOINT is not in the RGW env (tests/rgw.sh)");
    snprintf(endpoint, sizeof endpoint, "%s", sts_gw);
    setenv("AWS_ENDPOINT_URL", endpoint, 1);
    /* the stub needs the permanent keys to ask RGW for temporary ones */
    setenv("AWS_ACCESS_KEY_ID", rgw_ak, 1);
    setenv("AWS_SECRET_ACCESS_KEY", rgw_sk, 1);
    char *argv[] = {"python3",      script,    "--rgw",
                    endpoint,       "--token", "eyJhbGciOiJSUzI1NiJ9.pod-identity-token.sig",
                    "--expires-in", exp,       "--calls",
                    calls_path,     NULL};
    stub_pid = rc_test_server_start(argv, 20, &stub_port);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    cr_assert_gt(stub_pid, 0, "sts_stub.py did not start");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", stub_port);
    setenv("AWS_ENDPOINT_URL_STS", url, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r2cache-filler", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_path, 1);
    setenv("AWS_ROLE_SESSION_NAME", "test-pod-1", 1);
}

static void stop_stub(void)
{
    if (stub_pid > 0) rc_test_server_stop(stub_pid);
    stub_pid = 0;
}

/* The stub's call lines; *n is their count. Caller frees. */
static char *calls(int *n)
{
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(calls_path, &b), 0);
    *n = 0;
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] == '\n') (*n)++;
    char *s = b.data ? b.data : strdup("");
    return s;
}

/* The key id of call line i (0-based) into out. */
static void call_key(const char *text, int i, char *out, size_t n)
{
    const char *p = text;
    while (i-- > 0 && p)
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    cr_assert_not_null(p);
    char role[256], sess[128], st[16], key[128];
    cr_assert_eq(sscanf(p, "%255s %127s %15s %127s", role, sess, st, key), 4, "line: %s", p);
    cr_assert_str_eq(role, "arn:aws:iam::123456789012:role/r2cache-filler");
    cr_assert_str_eq(sess, "test-pod-1");
    cr_assert_str_eq(st, "OK");
    snprintf(out, n, "%s", key);
}

typedef struct par_put {
    int failed;
    pthread_mutex_t mu;
    char first_err[RC_ERR_MSG_MAX];
} par_put;

static void put_one(rc_store *st, size_t i, void *ud)
{
    par_put *p = ud;
    char key[64];
    snprintf(key, sizeof key, "cred/par-%zu.txt", i);
    rc_err e = {0};
    int rc = rc_store_put(st, key, "x", 1, NULL, NULL, &e);
    if (rc == RC_OK) rc = rc_store_delete(st, key, &e);
    if (rc) {
        pthread_mutex_lock(&p->mu);
        if (!p->failed++) snprintf(p->first_err, sizeof p->first_err, "%s", e.msg);
        pthread_mutex_unlock(&p->mu);
    }
}

Test(awscred, rgw_web_identity, .fini = stop_stub)
{
    need_rgw("awscred-webid");
    start_stub(3600);
    rc_store *s;
    char *log;
    rc_err e;
    int rc = open_store("webid", &s, &log, &e);
    cr_assert_eq(rc, RC_OK, "%s\nlog: %s", e.msg, log);
    char want[9000];
    snprintf(want, sizeof want,
             "credentials: web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE): role "
             "arn:aws:iam::123456789012:role/r2cache-filler, token file %s, STS "
             "http://127.0.0.1:%d; region from AWS_REGION; endpoint from AWS_ENDPOINT_URL",
             token_path, stub_port);
    cr_assert(strstr(log, want), "%s", log);
    snprintf(want, sizeof want,
             "web identity: STS at http://127.0.0.1:%d gave temporary keys for "
             "arn:aws:iam::123456789012:role/r2cache-filler, expiring ",
             stub_port);
    cr_assert(strstr(log, want), "%s", log);
    cr_assert_null(strstr(log, "pod-identity-token"), "the web identity token is logged: %s", log);
    no_secret(log);
    free(log);
    rc_store_close(s);
    int n;
    char *c = calls(&n);
    cr_assert_eq(n, 1, "STS calls: %s", c);
    char key[128];
    call_key(c, 0, key, sizeof key);
    cr_assert_str_neq(key, rgw_ak, "the stub handed out the permanent key");
    free(c);

    /* per-thread handles (rc_store_par_run) share their handle's keys: one STS call for all */
    char url[300];
    snprintf(url, sizeof url, "s3://%s/t-%d-%ld-par", bucket, (int)getpid(), (long)time(NULL));
    rc_store_opts so;
    rc_store_opts_default(&so);
    cr_assert_eq(rc_store_open(url, &so, &s, &e), RC_OK, "%s", e.msg);
    par_put pp = {0};
    pthread_mutex_init(&pp.mu, NULL);
    rc_store_par_run(s, 4, 40, put_one, &pp);
    cr_assert_eq(pp.failed, 0, "%d failed: %s", pp.failed, pp.first_err);
    rc_store_close(s);
    c = calls(&n);
    cr_assert_eq(n, 2, "STS calls: %s", c);
    free(c);

    /* a token STS does not accept: the open fails with STS's words */
    write_text(token_path, "someone-elses-token");
    rc = open_store("badtoken", &s, &log, &e);
    cr_assert_eq(rc, RC_EAUTH, "%s", e.msg);
    snprintf(url, sizeof url, "s3://%s/t-%d-", bucket, (int)getpid());
    cr_assert(strncmp(e.msg, "store ", 6) == 0 && strstr(e.msg, url), "%s", e.msg);
    snprintf(want, sizeof want,
             "web identity: STS at http://127.0.0.1:%d refused AssumeRoleWithWebIdentity for "
             "arn:aws:iam::123456789012:role/r2cache-filler (HTTP 400 InvalidIdentityToken: "
             "Couldn't retrieve verification key from your identity provider, request id "
             "stub-req-1); check the role's trust policy and the token file %s",
             stub_port, token_path);
    cr_assert(strstr(e.msg, want), "%s", e.msg);
    cr_assert_null(strstr(e.msg, "someone-elses-token"), "%s", e.msg);
    free(log);
    rc_store_close(s);
}

typedef struct getter {
    rc_awscred *c;
    rc_awscred_keys k;
    int rc;
} getter;

static void *get_keys(void *ud)
{
    getter *g = ud;
    rc_err e = {0};
    g->rc = rc_awscred_get(g->c, &g->k, &e);
    return NULL;
}

Test(awscred, rgw_web_identity_refresh, .fini = stop_stub, .timeout = 120)
{
    need_rgw("awscred-refresh");
    /* 20 s of life: refreshed once less than 10 s (half of it) are left */
    start_stub(20);
    rc_awscred *c = NULL;
    rc_err e;
    cr_assert_eq(open_chain(&c, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_awscred_sts_calls(c), 0, "no STS call before the keys are needed");
    rc_awscred_keys k1, k2;
    cr_assert_eq(rc_awscred_get(c, &k1, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_awscred_get(c, &k2, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_awscred_sts_calls(c), 1);
    cr_assert_str_eq(k1.access_key, k2.access_key);
    cr_assert_neq(k1.token[0], '\0');
    int n;
    char *text = calls(&n);
    char key1[128];
    cr_assert_eq(n, 1, "%s", text);
    call_key(text, 0, key1, sizeof key1);
    cr_assert_str_eq(k1.access_key, key1);
    free(text);

    sleep(11);
    /* four threads at once past the refresh point: exactly one more STS call */
    getter g[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        g[i].c = c;
        cr_assert_eq(pthread_create(&t[i], NULL, get_keys, &g[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(rc_awscred_sts_calls(c), 2);
    text = calls(&n);
    cr_assert_eq(n, 2, "%s", text);
    char key2[128];
    call_key(text, 1, key2, sizeof key2);
    free(text);
    cr_assert_str_neq(key1, key2);
    /* the thread that refreshed has the new key; the others, while it waited for STS,
     * kept signing with the old one, which had 9 s left */
    int fresh_keys = 0;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(g[i].rc, RC_OK);
        cr_assert(strcmp(g[i].k.access_key, key1) == 0 || strcmp(g[i].k.access_key, key2) == 0,
                  "thread %d: %s", i, g[i].k.access_key);
        fresh_keys += strcmp(g[i].k.access_key, key2) == 0;
    }
    cr_assert_geq(fresh_keys, 1);
    cr_assert_eq(rc_awscred_get(c, &g[0].k, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(g[0].k.access_key, key2);
    cr_assert_eq(rc_awscred_sts_calls(c), 2);
    rc_awscred_free(c);

    /* the temporary keys are real: RGW refuses them without their session token and
     * takes them with it (here through AWS_SESSION_TOKEN, which wins over web identity) */
    rc_store *s;
    char *log;
    setenv("AWS_ACCESS_KEY_ID", g[0].k.access_key, 1);
    setenv("AWS_SECRET_ACCESS_KEY", g[0].k.secret_key, 1);
    cr_assert_eq(open_store("notoken", &s, &log, &e), RC_EAUTH, "%s", e.msg);
    cr_assert(strstr(e.msg, "AccessDenied"), "%s", e.msg);
    free(log);
    rc_store_close(s);
    setenv("AWS_SESSION_TOKEN", g[0].k.token, 1);
    cr_assert_eq(open_store("envtoken", &s, &log, &e), RC_OK, "%s", e.msg);
    cr_assert(strstr(log, "credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / "
                          "AWS_SESSION_TOKEN;"),
              "%s", log);
    cr_assert_null(strstr(log, g[0].k.token), "the session token is logged: %s", log);
    cr_assert_null(strstr(log, g[0].k.secret_key), "the secret is logged: %s", log);
    free(log);
    rc_store_close(s);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    for (int i = 0; i < 4; i++)
        rc_awscred_keys_wipe(&g[i].k);

    /* and a store signs with web identity keys through the chain */
    cr_assert_eq(open_store("refreshed", &s, &log, &e), RC_OK, "%s", e.msg);
    no_secret(log);
    free(log);
    rc_store_close(s);
}

/* ---- the binary names the source ---- */

Test(awscred, version_verbose_names_the_source)
{
    fresh("awscred-version");
    write_text(credf, "[obs]\naws_access_key_id = AKIDVERSION1\n"
                      "aws_secret_access_key = versionsecretvalue\n");
    write_text(conff, "[profile obs]\nregion = eu-central-1\n");
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "--version --verbose");
    setenv("AWS_PROFILE", "obs", 1);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int st = rc_test_r2cache(cmd, &out, &err);
    cr_assert_eq(st, 0, "%s", err.data);
    char want[9000];
    snprintf(want, sizeof want,
             "S3 credentials: profile 'obs' from %s\n"
             "S3 region from the profile: eu-central-1 (profile 'obs' (%s line 2))\n",
             credf, conff);
    cr_assert(strstr(out.data, want), "%s", out.data);
    cr_assert_null(strstr(out.data, "versionsecretvalue"));
    cr_assert(!err.data || !strstr(err.data, "versionsecretvalue"));
    rc_buf_free(&out);
    rc_buf_free(&err);

    setenv("AWS_PROFILE", "missing", 1);
    st = rc_test_r2cache(cmd, &out, &err);
    cr_assert_eq(st, 0);
    snprintf(want, sizeof want,
             "S3 credentials: none usable: AWS_PROFILE=missing: no profile [missing] in %s and "
             "no [profile missing] in %s; check the name or set AWS_SHARED_CREDENTIALS_FILE / "
             "AWS_CONFIG_FILE\n",
             credf, conff);
    cr_assert(strstr(out.data, want), "%s", out.data);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(awscred, rgw_web_identity_refresh_failure, .fini = stop_stub, .timeout = 120)
{
    need_rgw("awscred-refail");
    /* 8 s of life: due with 4 s left */
    start_stub(8);
    FILE *f = tmpfile();
    rc_log lg;
    rc_log_init(&lg, f, RC_LOG_DEBUG, RC_LOG_TEXT);
    rc_awscred_opts o = {&lg, NULL, 5};
    rc_awscred *c = NULL;
    rc_err e = {0};
    cr_assert_eq(rc_awscred_open(&o, &c, &e), RC_OK, "%s", e.msg);
    rc_awscred_keys k1, k2;
    cr_assert_eq(rc_awscred_get(c, &k1, &e), RC_OK, "%s", e.msg);
    int port = stub_port;
    stop_stub();
    sleep(5);
    /* STS is gone while the keys still have 3 s: a warning, and the current keys */
    cr_assert_eq(rc_awscred_get(c, &k2, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(k2.access_key, k1.access_key);
    cr_assert_eq(rc_awscred_sts_calls(c), 1 + 3, "three attempts at an unreachable STS");
    /* not again at once */
    cr_assert_eq(rc_awscred_get(c, &k2, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_awscred_sts_calls(c), 4);
    fflush(f);
    rewind(f);
    char buf[8192] = "";
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    char want[512];
    snprintf(want, sizeof want,
             "refreshing the temporary keys failed, using the current ones until they expire in ");
    cr_assert(strstr(buf, want), "%s", buf);
    snprintf(want, sizeof want, "s: web identity: STS at http://127.0.0.1:%d unreachable: ", port);
    cr_assert(strstr(buf, want), "%s", buf);
    cr_assert_null(strstr(buf, k1.secret_key));
    cr_assert_null(strstr(buf, k1.token));
    /* expired: an error, never the expired keys */
    sleep(4);
    memset(&e, 0, sizeof e);
    cr_assert_eq(rc_awscred_get(c, &k2, &e), RC_EAUTH);
    cr_assert(strncmp(e.msg, want + 3, strlen(want + 3)) == 0, "%s", e.msg);
    rc_awscred_free(c);
    fclose(f);
    rc_awscred_keys_wipe(&k1);
    rc_awscred_keys_wipe(&k2);
}
