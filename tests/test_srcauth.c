/*
 * test_srcauth.c: restricted data. rc_srcauth_parse's refusals, and
 * `r2cache fill` end to end against tests/fdsn_server.py with digest auth on
 * /fdsnws/dataselect/1/queryauth and an EIDA-style token exchange at
 * /fdsnws/dataselect/1/auth: right credentials fetch the exact samples,
 * wrong ones exit 3 with the message naming where they came from, and no
 * secret (password, token, temporary password) appears in stdout, stderr
 * (JSON log at debug level), the metrics file or any file of the store.
 *
 * Data: XX.AUT..BHZ, 10 Hz, 2025-11-04 and 2025-11-05 (r2cache-synth).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tools/synth_signal.h"
#include "r2cache/config.h"
#include "r2cache/srcauth.h"
#include "support.h"

#define T0 1762214400LL /* 2025-11-04T00:00:00Z */
#define USER "alice"
#define PASSWORD "pw-Qx7-digest-secret"
#define WRONG_PASSWORD "pw-wrong-Zk2-secret"
#define TOKEN "EIDA-TOKEN-r2cache-test-9f3c1e"

/* ---- rc_srcauth_parse ----------------------------------------------------- */

static char *g_tmp;

static void unit_setup(void)
{
    g_tmp = rc_test_tmpdir("srcauth-unit");
    cr_assert(g_tmp);
    unsetenv("FDSN_USER");
    unsetenv("FDSN_PASSWORD");
}

static void unit_teardown(void)
{
    rc_test_rmtree(g_tmp);
    free(g_tmp);
    g_tmp = NULL;
}

/* Parse json at path; returns the status, *a filled on success. */
static int parse_json(const char *json, const char *path, rc_srcauth *a, rc_err *e)
{
    cJSON *o = cJSON_Parse(json);
    cr_assert(o, "bad test JSON %s", json);
    int rc = rc_srcauth_parse(o, path, a, e);
    cJSON_Delete(o);
    return rc;
}

/* parse then read, as opening a source does */
static int parse_read(const char *json, const char *path, rc_srcauth_secret *sec, rc_srcauth *a,
                      rc_err *e)
{
    int rc = parse_json(json, path, a, e);
    cr_assert_eq(rc, RC_OK, "%s", e->msg);
    return rc_srcauth_read(a, sec, e);
}

/* Parsed, but refused when read, with msg. */
static void expect_read_refusal(const char *json, const char *path, const char *msg)
{
    rc_srcauth a;
    rc_srcauth_secret sec;
    rc_err e;
    rc_err_clear(&e);
    cr_assert_eq(parse_read(json, path, &sec, &a, &e), RC_EINVAL, "read %s", json);
    cr_assert_str_eq(e.msg, msg);
    cr_assert_null(sec.user);
    cr_assert_null(sec.password);
    cr_assert_null(sec.eida_token);
    rc_srcauth_free(&a);
}

static void expect_refusal(const char *json, const char *path, const char *msg)
{
    rc_srcauth a;
    rc_err e;
    rc_err_clear(&e);
    cr_assert_eq(parse_json(json, path, &a, &e), RC_EINVAL, "accepted %s", json);
    cr_assert_str_eq(e.msg, msg);
    cr_assert_null(a.user);
    cr_assert_null(a.path);
    cr_assert_null(a.where);
    rc_srcauth_free(&a);
}

Test(srcauth_parse, empty_object_takes_fdsn_user_and_password_from_the_environment,
     .init = unit_setup, .fini = unit_teardown)
{
    rc_srcauth a;
    rc_srcauth_secret sec;
    rc_err e;
    /* parsing reads nothing: the variables may be absent until a source opens */
    cr_assert_eq(parse_json("{}", "source_auth", &a, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(a.where, "FDSN_USER/FDSN_PASSWORD");
    cr_assert_str_eq(a.path, "source_auth");
    setenv("FDSN_USER", USER, 1);
    setenv("FDSN_PASSWORD", PASSWORD, 1);
    cr_assert_eq(rc_srcauth_read(&a, &sec, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(sec.user, USER);
    cr_assert_str_eq(sec.password, PASSWORD);
    cr_assert_null(sec.eida_token);
    rc_srcauth_secret_free(&sec);
    cr_assert_null(sec.password);
    rc_srcauth_free(&a);
    /* named variables */
    setenv("MY_U", "bob", 1);
    setenv("MY_P", "other", 1);
    cr_assert_eq(parse_read("{\"user_env\": \"MY_U\", \"password_env\": \"MY_P\"}",
                            "sources[0].auth", &sec, &a, &e),
                 RC_OK, "%s", e.msg);
    cr_assert_str_eq(sec.user, "bob");
    cr_assert_str_eq(sec.password, "other");
    cr_assert_str_eq(a.where, "MY_U/MY_P");
    rc_srcauth_secret_free(&sec);
    rc_srcauth_free(&a);
    cr_assert_eq(parse_read("{\"user\": \"carol\"}", "source_auth", &sec, &a, &e), RC_OK, "%s",
                 e.msg);
    cr_assert_str_eq(sec.user, "carol");
    cr_assert_str_eq(sec.password, PASSWORD);
    cr_assert_str_eq(a.where, "source_auth.user and FDSN_PASSWORD");
    rc_srcauth_secret_free(&sec);
    rc_srcauth_free(&a);
    unsetenv("MY_U");
    unsetenv("MY_P");
}

Test(srcauth_parse, unset_variables_are_named, .init = unit_setup, .fini = unit_teardown)
{
    setenv("FDSN_USER", USER, 1);
    expect_read_refusal("{}", "source_auth",
                        "source_auth: the environment variable FDSN_PASSWORD (the default for the "
                        "password) is not set: set it, or say where the password is");
    unsetenv("FDSN_USER");
    expect_read_refusal("{\"password_env\": \"P\"}", "source_auth",
                        "source_auth: the environment variable FDSN_USER (the default for the "
                        "user name) is not set: set it, or say where the user name is");
    setenv("EMPTY_P", "", 1);
    expect_read_refusal("{\"user\": \"x\", \"password_env\": \"EMPTY_P\"}", "sources[2].auth",
                        "sources[2].auth.password_env: the environment variable EMPTY_P is "
                        "empty: set it to the password, or name another variable or a file");
    unsetenv("EMPTY_P");
    expect_read_refusal("{\"eida_token_env\": \"NO_TOKEN\"}", "source_auth",
                        "source_auth.eida_token_env: the environment variable NO_TOKEN is not "
                        "set: set it to the EIDA token, or name another variable or a file");
}

Test(srcauth_parse, a_literal_secret_is_refused_without_repeating_it, .init = unit_setup,
     .fini = unit_teardown)
{
    expect_refusal("{\"user\": \"x\", \"password\": \"" PASSWORD "\"}", "source_auth",
                   "source_auth.password: a password is not accepted in the configuration file "
                   "(files are copied, committed and shown): put it in a file readable only by "
                   "r2cache and give password_file, or in the environment and give password_env");
    expect_refusal("{\"eida_token\": \"" TOKEN "\"}", "source_auth",
                   "source_auth.eida_token: a token is not accepted in the configuration file: "
                   "give the file it is in (eida_token_file) or an environment variable "
                   "(eida_token_env)");
}

Test(srcauth_parse, shape_errors_name_the_field, .init = unit_setup, .fini = unit_teardown)
{
    expect_refusal("\"alice\"", "source_auth",
                   "source_auth: must be an object such as {\"user_env\": \"FDSN_USER\", "
                   "\"password_env\": \"FDSN_PASSWORD\"} or {\"eida_token_file\": "
                   "\"/path/token.asc\"}");
    expect_refusal("{\"usr\": \"x\"}", "source_auth",
                   "source_auth.usr: unknown field (allowed here: user, user_env, password_env, "
                   "password_file, eida_token_file, eida_token_env)");
    expect_refusal("{\"user\": 7}", "source_auth", "source_auth.user: must be a non-empty string");
    expect_refusal("{\"user\": \"x\", \"password_env\": \"A\", \"password_file\": \"/f\"}",
                   "source_auth", "source_auth: give password_env or password_file, not both");
    expect_refusal("{\"user\": \"x\", \"user_env\": \"U\"}", "source_auth",
                   "source_auth: give user or user_env, not both");
    expect_refusal("{\"eida_token_file\": \"/t\", \"eida_token_env\": \"T\"}", "source_auth",
                   "source_auth: give eida_token_env or eida_token_file, not both");
    expect_refusal("{\"user\": \"a\\\"b\"}", "source_auth",
                   "source_auth.user: the user name holds a control character or a quote");
    expect_refusal("{\"eida_token_file\": \"/t\", \"user\": \"x\"}", "source_auth",
                   "source_auth: give an EIDA token (eida_token_file or eida_token_env) or a user "
                   "and password, not both");
}

Test(srcauth_parse, files_are_read_and_their_line_end_dropped, .init = unit_setup,
     .fini = unit_teardown)
{
    char pw[4200], tok[4200], empty[4200], two[4200], json[9000];
    snprintf(pw, sizeof pw, "%s/pw", g_tmp);
    snprintf(tok, sizeof tok, "%s/token.asc", g_tmp);
    snprintf(empty, sizeof empty, "%s/empty", g_tmp);
    snprintf(two, sizeof two, "%s/two", g_tmp);
    cr_assert_eq(rc_test_write_file(pw, PASSWORD "\r\n", strlen(PASSWORD) + 2), 0);
    cr_assert_eq(rc_test_write_file(tok, TOKEN "\nline 2\n", strlen(TOKEN) + 8), 0);
    cr_assert_eq(rc_test_write_file(empty, "\n", 1), 0);
    cr_assert_eq(rc_test_write_file(two, "a\nb\n", 4), 0);
    rc_srcauth a;
    rc_srcauth_secret sec;
    rc_err e;
    snprintf(json, sizeof json, "{\"user\": \"" USER "\", \"password_file\": \"%s\"}", pw);
    cr_assert_eq(parse_read(json, "source_auth", &sec, &a, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(sec.user, USER);
    cr_assert_str_eq(sec.password, PASSWORD);
    char where[4300];
    snprintf(where, sizeof where, "source_auth.user and %s", pw);
    cr_assert_str_eq(a.where, where);
    rc_srcauth_secret_free(&sec);
    rc_srcauth_free(&a);
    /* a token is kept whole: it is a signed document */
    snprintf(json, sizeof json, "{\"eida_token_file\": \"%s\"}", tok);
    cr_assert_eq(parse_read(json, "source_auth", &sec, &a, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(sec.eida_token, TOKEN "\nline 2\n");
    cr_assert_null(sec.user);
    cr_assert_null(sec.password);
    snprintf(where, sizeof where, "the EIDA token in %s", tok);
    cr_assert_str_eq(a.where, where);
    rc_srcauth_secret_free(&sec);
    rc_srcauth_free(&a);

    char msg[9000];
    snprintf(json, sizeof json, "{\"user\": \"x\", \"password_file\": \"%s/missing\"}", g_tmp);
    snprintf(msg, sizeof msg,
             "source_auth.password_file: cannot read %s/missing: No such file or directory: put "
             "the password in that file (readable by r2cache only), or use another field",
             g_tmp);
    expect_read_refusal(json, "source_auth", msg);
    snprintf(json, sizeof json, "{\"user\": \"x\", \"password_file\": \"%s\"}", empty);
    snprintf(msg, sizeof msg, "source_auth.password_file: %s is empty: put the password in it",
             empty);
    expect_read_refusal(json, "source_auth", msg);
    snprintf(json, sizeof json, "{\"user\": \"x\", \"password_file\": \"%s\"}", two);
    snprintf(msg, sizeof msg,
             "source_auth.password_file: %s holds more than one line: put only the password in it",
             two);
    expect_read_refusal(json, "source_auth", msg);
}

Test(srcauth_parse, the_configuration_reads_source_auth, .init = unit_setup, .fini = unit_teardown)
{
    static const char vol[] =
        "\"volcanoes\": [{\"name\": \"v\", \"stations\": [{\"network\": \"XX\", \"station\": "
        "\"AUT\", \"location\": \"\", \"channel\": \"BHZ\"}]}]";
    char json[2000];
    rc_config c;
    rc_err e;
    snprintf(json, sizeof json, "{\"source\": \"http://127.0.0.1:1\", %s}", vol);
    cr_assert_eq(rc_config_parse(json, strlen(json), "c.json", &c, &e), RC_OK, "%s", e.msg);
    cr_assert_null(c.source_auth, "no source_auth: open data");
    rc_config_free(&c);
    snprintf(json, sizeof json, "{\"source\": \"http://127.0.0.1:1\", \"source_auth\": {}, %s}",
             vol);
    cr_assert_eq(rc_config_parse(json, strlen(json), "c.json", &c, &e), RC_OK, "%s", e.msg);
    cr_assert_not_null(c.source_auth);
    cr_assert_str_eq(c.source_auth->where, "FDSN_USER/FDSN_PASSWORD");
    rc_config_free(&c);
    snprintf(json, sizeof json,
             "{\"source\": \"http://127.0.0.1:1\", \"source_auth\": {\"password_env\": "
             "\"NOPE_P\"}, %s}",
             vol);
    cr_assert_eq(rc_config_parse(json, strlen(json), "c.json", &c, &e), RC_OK,
                 "an unset variable is an error only when a source opens: %s", e.msg);
    cr_assert_str_eq(c.source_auth->where, "FDSN_USER/NOPE_P");
    rc_config_free(&c);
    snprintf(json, sizeof json,
             "{\"source\": \"http://127.0.0.1:1\", \"source_auth\": {\"user\": \"x\", "
             "\"password\": \"" PASSWORD "\"}, %s}",
             vol);
    cr_assert_eq(rc_config_parse(json, strlen(json), "c.json", &c, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "c.json: source_auth.password: a password is not accepted in the "
                            "configuration file (files are copied, committed and shown): put it "
                            "in a file readable only by r2cache and give password_file, or in "
                            "the environment and give password_env");
}

/* ---- end to end ------------------------------------------------------------- */

static char *g_dir;
static char g_sds[4200], g_config[4200], g_store[4200], g_pwfile[4200], g_tokfile[4200];
static char g_metrics[4200];
static pid_t g_server = -1;
static int g_port;

static void make_sds(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/srcauth-sds", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete-1", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && %s sds --out '%s' --rate 10 --from 2025-11-04 --to 2025-11-06 "
             "--chan XX.AUT..BHZ && touch '%s'",
             g_sds, rc_test_bin("r2cache-synth"), g_sds, marker);
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "r2cache-synth failed: %s",
                 err.data ? err.data : "");
    rc_buf_free(&err);
}

/* Start the server with digest user alice and the token, plus extra args. */
static void start_server(const char *const *extra)
{
    const char *args[16] = {"--auth-user", USER,           "--auth-password",
                            PASSWORD,      "--auth-token", TOKEN};
    size_t n = 6;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    g_server = rc_test_fdsn_start(g_sds, args, &g_port);
    cr_assert(g_server > 0, "FDSN test server did not start");
}

/* The configuration with this source_auth object (JSON text). */
static void write_config(const char *auth)
{
    char json[16384];
    snprintf(json, sizeof json,
             "{\n"
             "  \"source\": \"http://127.0.0.1:%d\",\n"
             "  \"source_auth\": %s,\n"
             "  \"store\": \"%s\",\n"
             "  \"fetch\": {\"max_attempts\": 2, \"backoff_base_s\": 0.05, \"backoff_cap_s\": 1,\n"
             "             \"timeout_s\": 20, \"stall_timeout_s\": 5},\n"
             "  \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", "
             "\"stations\": [\n"
             "    {\"network\": \"XX\", \"station\": \"AUT\", \"location\": \"\", \"channel\": "
             "\"BHZ\", \"sample_rate\": 10}\n"
             "  ]}]\n}\n",
             g_port, auth, g_store);
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
}

static void pw_config(const char *password)
{
    cr_assert_eq(rc_test_write_file(g_pwfile, password, strlen(password)), 0);
    char auth[4400];
    snprintf(auth, sizeof auth, "{\"user\": \"" USER "\", \"password_file\": \"%s\"}", g_pwfile);
    write_config(auth);
}

static void token_config(const char *token)
{
    cr_assert_eq(rc_test_write_file(g_tokfile, token, strlen(token)), 0);
    char auth[4400];
    snprintf(auth, sizeof auth, "{\"eida_token_file\": \"%s\"}", g_tokfile);
    write_config(auth);
}

static void e2e_setup(void)
{
    make_sds();
    g_dir = rc_test_tmpdir("srcauth");
    cr_assert(g_dir);
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    snprintf(g_store, sizeof g_store, "%s/store", g_dir);
    snprintf(g_pwfile, sizeof g_pwfile, "%s/fdsn-password", g_dir);
    snprintf(g_tokfile, sizeof g_tokfile, "%s/token.asc", g_dir);
    snprintf(g_metrics, sizeof g_metrics, "%s/fill.prom", g_dir);
    unsetenv("FDSN_USER");
    unsetenv("FDSN_PASSWORD");
}

static void e2e_teardown(void)
{
    rc_test_server_stop(g_server);
    g_server = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

typedef struct run_out {
    int rc;
    rc_buf out, err;
} run_out;

/* fill over [from, to) with every output on: JSON summary, JSON log at
 * debug level, the metrics file. */
static void fill(const char *from, const char *to, run_out *r)
{
    char args[9000];
    /* one day per batch: a two-day range is two requests, made one after the other */
    snprintf(args, sizeof args,
             "fill --config '%s' --from %s --to %s --batch-days 1 --json --log-format json "
             "--log-level debug --metrics-file '%s'",
             g_config, from, to, g_metrics);
    rc_buf_init(&r->out);
    rc_buf_init(&r->err);
    r->rc = rc_test_r2cache(args, &r->out, &r->err);
}

static void run_free(run_out *r)
{
    rc_buf_free(&r->out);
    rc_buf_free(&r->err);
}

static const char *g_secret; /* for the nftw callback */
static int g_files_scanned;

static int scan_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F) return 0;
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(path, &b), 0, "cannot read %s", path);
    g_files_scanned++;
    cr_assert(!b.data || !memmem(b.data, b.len, g_secret, strlen(g_secret)),
              "the secret appears in %s", path);
    rc_buf_free(&b);
    return 0;
}

/* secret appears in no output of r, not in the metrics file and in no file
 * of the store (manifests, blobs). */
static void assert_secret_absent(const run_out *r, const char *secret)
{
    cr_assert(!r->out.data || !strstr(r->out.data, secret), "the secret is on stdout");
    cr_assert(!r->err.data || !strstr(r->err.data, secret), "the secret is on stderr");
    rc_buf m = RC_BUF_INIT;
    if (rc_test_read_file(g_metrics, &m) == 0)
        cr_assert(!m.data || !strstr(m.data, secret), "the secret is in the metrics file");
    rc_buf_free(&m);
    g_secret = secret;
    struct stat st;
    if (stat(g_store, &st) == 0) nftw(g_store, scan_file, 16, FTW_PHYS);
}

static cJSON *server_stats(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%d/stats", g_port);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0);
    cJSON *s = cJSON_Parse(out.data);
    cr_assert(s, "no stats: %s", out.data);
    rc_buf_free(&out);
    return s;
}

static int auth_stat(const cJSON *s, const char *k)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(s, "auth");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, k);
    cr_assert(cJSON_IsNumber(v), "no auth.%s in the stats", k);
    return v->valueint;
}

/* The first second of 2025-11-04T00:10:00Z read back: exactly the synthetic samples. */
static void assert_samples(void)
{
    char args[4400];
    snprintf(args, sizeof args,
             "get XX.AUT..BHZ --config '%s' --from 2025-11-04T00:10:00Z --to "
             "2025-11-04T00:10:01Z",
             g_config);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_r2cache(args, &out, NULL), 0);
    rc_buf want = RC_BUF_INIT;
    rc_buf_puts(&want, "time,value\n");
    int64_t i0 = (T0 + 600) * 10;
    for (int k = 0; k < 10; k++)
        rc_buf_printf(&want, "2025-11-04T00:10:00.%06dZ,%d\n", k * 100000,
                      rc_synth_value("XX.AUT..BHZ", i0 + k));
    cr_assert_str_eq(out.data, want.data);
    rc_buf_free(&out);
    rc_buf_free(&want);
}

static int store_has_files(void)
{
    g_files_scanned = 0;
    g_secret = "\x01\x02 no such secret";
    struct stat st;
    if (stat(g_store, &st) == 0) nftw(g_store, scan_file, 16, FTW_PHYS);
    return g_files_scanned;
}

Test(srcauth_fill, right_credentials_fetch_the_exact_samples_by_digest, .init = e2e_setup,
     .fini = e2e_teardown)
{
    start_server(NULL);
    pw_config(PASSWORD "\n");
    run_out r;
    fill("2025-11-04T00:00:00Z", "2025-11-04T01:00:00Z", &r);
    cr_assert_eq(r.rc, 0, "fill failed: %s", r.err.data);
    assert_secret_absent(&r, PASSWORD);
    run_free(&r);
    assert_samples();
    cJSON *s = server_stats();
    cr_assert_eq(auth_stat(s, "digest_ok"), 1);
    cr_assert_eq(auth_stat(s, "digest_refused"), 0);
    cr_assert_eq(auth_stat(s, "token_requests"), 0);
    /* the request went to queryauth, credentials only in the Authorization header */
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(s, "last_headers");
    const cJSON *az = cJSON_GetObjectItemCaseSensitive(h, "authorization");
    cr_assert(cJSON_IsString(az) && strncmp(az->valuestring, "Digest username=\"alice\"", 23) == 0,
              "no digest Authorization header");
    cr_assert_null(strstr(az->valuestring, PASSWORD));
    cJSON_Delete(s);
}

Test(srcauth_fill, wrong_credentials_exit_3_naming_where_they_came_from, .init = e2e_setup,
     .fini = e2e_teardown)
{
    start_server(NULL);
    pw_config(WRONG_PASSWORD);
    run_out r;
    fill("2025-11-04T00:00:00Z", "2025-11-04T01:00:00Z", &r);
    cr_assert_eq(r.rc, 3, "exit %d: %s", r.rc, r.err.data);
    char msg[9000];
    snprintf(msg, sizeof msg,
             "the data centre refused the credentials from source_auth.user and %s (HTTP 401) "
             "for http://127.0.0.1:%d/fdsnws/dataselect/1/queryauth: check them",
             g_pwfile, g_port);
    cr_assert(strstr(r.err.data, msg), "no \"%s\" in: %s", msg, r.err.data);
    assert_secret_absent(&r, WRONG_PASSWORD);
    run_free(&r);
    cr_assert_eq(store_has_files(), 0, "a refused fill wrote to the store");
    cJSON *s = server_stats();
    cr_assert_eq(auth_stat(s, "digest_refused"), 1, "a 401 is not retried");
    cJSON_Delete(s);
}

Test(srcauth_fill, credentials_from_the_environment, .init = e2e_setup, .fini = e2e_teardown)
{
    start_server(NULL);
    write_config("{}");
    setenv("FDSN_USER", USER, 1);
    setenv("FDSN_PASSWORD", WRONG_PASSWORD, 1);
    run_out r;
    fill("2025-11-04T00:00:00Z", "2025-11-04T01:00:00Z", &r);
    cr_assert_eq(r.rc, 3, "exit %d: %s", r.rc, r.err.data);
    char msg[9000];
    snprintf(msg, sizeof msg,
             "the data centre refused the credentials from FDSN_USER/FDSN_PASSWORD (HTTP 401) "
             "for http://127.0.0.1:%d/fdsnws/dataselect/1/queryauth: check them",
             g_port);
    cr_assert(strstr(r.err.data, msg), "no \"%s\" in: %s", msg, r.err.data);
    assert_secret_absent(&r, WRONG_PASSWORD);
    run_free(&r);
    setenv("FDSN_PASSWORD", PASSWORD, 1);
    fill("2025-11-04T00:00:00Z", "2025-11-04T01:00:00Z", &r);
    cr_assert_eq(r.rc, 0, "fill failed: %s", r.err.data);
    assert_secret_absent(&r, PASSWORD);
    run_free(&r);
    unsetenv("FDSN_USER");
    unsetenv("FDSN_PASSWORD");
    assert_samples(); /* reading the cache needs no credentials */
}

/* Every secret the token flow involves: the token and the temporary passwords. */
static void assert_token_secrets_absent(const run_out *r, const cJSON *stats)
{
    assert_secret_absent(r, TOKEN);
    const cJSON *issued =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(stats, "auth"), "issued");
    const cJSON *pair;
    cJSON_ArrayForEach(pair, issued)
    {
        const cJSON *pw = cJSON_GetArrayItem(pair, 1);
        cr_assert(cJSON_IsString(pw));
        assert_secret_absent(r, pw->valuestring);
    }
}

Test(srcauth_fill, an_eida_token_is_exchanged_once_for_temporary_credentials, .init = e2e_setup,
     .fini = e2e_teardown)
{
    start_server(NULL);
    token_config(TOKEN "\n");
    run_out r;
    fill("2025-11-04T00:00:00Z", "2025-11-06T00:00:00Z", &r);
    cr_assert_eq(r.rc, 0, "fill failed: %s", r.err.data);
    cJSON *s = server_stats();
    cr_assert_eq(auth_stat(s, "token_requests"), 1, "the token is exchanged once per run");
    cr_assert_eq(auth_stat(s, "tokens_refused"), 0);
    cr_assert_eq(auth_stat(s, "digest_ok"), 2, "two day-long requests");
    cr_assert_eq(auth_stat(s, "digest_refused"), 0);
    assert_token_secrets_absent(&r, s);
    cJSON_Delete(s);
    run_free(&r);
    assert_samples();
}

Test(srcauth_fill, expired_temporary_credentials_are_fetched_again_once, .init = e2e_setup,
     .fini = e2e_teardown)
{
    /* each temporary credential is good for one request: the second day's
     * request gets 401 and the token is exchanged again */
    const char *extra[] = {"--auth-temp-uses", "1", NULL};
    start_server(extra);
    token_config(TOKEN);
    run_out r;
    fill("2025-11-04T00:00:00Z", "2025-11-06T00:00:00Z", &r);
    cr_assert_eq(r.rc, 0, "fill failed: %s", r.err.data);
    cJSON *s = server_stats();
    cr_assert_eq(auth_stat(s, "token_requests"), 2);
    cr_assert_eq(auth_stat(s, "digest_ok"), 2);
    cr_assert_eq(auth_stat(s, "digest_refused"), 1);
    assert_token_secrets_absent(&r, s);
    cJSON_Delete(s);
    run_free(&r);
    assert_samples();
}

Test(srcauth_fill, temporary_credentials_refused_twice_exit_3, .init = e2e_setup,
     .fini = e2e_teardown)
{
    const char *extra[] = {"--auth-temp-uses", "0", NULL};
    start_server(extra);
    token_config(TOKEN);
    run_out r;
    fill("2025-11-04T00:00:00Z", "2025-11-04T01:00:00Z", &r);
    cr_assert_eq(r.rc, 3, "exit %d: %s", r.rc, r.err.data);
    char msg[9000];
    snprintf(msg, sizeof msg,
             "the data centre refused the credentials from the EIDA token in %s (HTTP 401) for "
             "http://127.0.0.1:%d/fdsnws/dataselect/1/queryauth: check them",
             g_tokfile, g_port);
    cr_assert(strstr(r.err.data, msg), "no \"%s\" in: %s", msg, r.err.data);
    cJSON *s = server_stats();
    cr_assert_eq(auth_stat(s, "token_requests"), 2, "one exchange, then one more after a 401");
    cr_assert_eq(auth_stat(s, "digest_refused"), 2);
    assert_token_secrets_absent(&r, s);
    cJSON_Delete(s);
    run_free(&r);
    cr_assert_eq(store_has_files(), 0, "a refused fill wrote to the store");
}

Test(srcauth_fill, a_refused_token_exits_3, .init = e2e_setup, .fini = e2e_teardown)
{
    start_server(NULL);
    token_config("EIDA-TOKEN-not-the-right-one-77");
    run_out r;
    fill("2025-11-04T00:00:00Z", "2025-11-04T01:00:00Z", &r);
    cr_assert_eq(r.rc, 3, "exit %d: %s", r.rc, r.err.data);
    char msg[9000];
    snprintf(msg, sizeof msg,
             "the data centre refused the credentials from the EIDA token in %s (HTTP 401) for "
             "http://127.0.0.1:%d/fdsnws/dataselect/1/auth: check them (an EIDA token expires: "
             "download a new one)",
             g_tokfile, g_port);
    cr_assert(strstr(r.err.data, msg), "no \"%s\" in: %s", msg, r.err.data);
    assert_secret_absent(&r, "EIDA-TOKEN-not-the-right-one-77");
    cJSON *s = server_stats();
    cr_assert_eq(auth_stat(s, "token_requests"), 1);
    cr_assert_eq(auth_stat(s, "challenges"), 0, "no queryauth without credentials");
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(s, "requests")->valueint, 0);
    cJSON_Delete(s);
    run_free(&r);
}

Test(srcauth_fill, a_password_in_the_configuration_is_a_usage_error, .init = e2e_setup,
     .fini = e2e_teardown)
{
    start_server(NULL);
    write_config("{\"user\": \"" USER "\", \"password\": \"" PASSWORD "\"}");
    run_out r;
    fill("2025-11-04T00:00:00Z", "2025-11-04T01:00:00Z", &r);
    cr_assert_eq(r.rc, 2, "exit %d: %s", r.rc, r.err.data);
    cr_assert(strstr(r.err.data, "source_auth.password: a password is not accepted in the "
                                 "configuration file"),
              "stderr: %s", r.err.data);
    assert_secret_absent(&r, PASSWORD);
    run_free(&r);
    cJSON *s = server_stats();
    cr_assert_eq(auth_stat(s, "challenges"), 0);
    cJSON_Delete(s);
}

Test(srcauth_fill, a_missing_password_file_is_a_usage_error_naming_the_field, .init = e2e_setup,
     .fini = e2e_teardown)
{
    start_server(NULL);
    pw_config(PASSWORD);
    cr_assert_eq(unlink(g_pwfile), 0);
    run_out r;
    fill("2025-11-04T00:00:00Z", "2025-11-04T01:00:00Z", &r);
    cr_assert_eq(r.rc, 2, "exit %d: %s", r.rc, r.err.data);
    char msg[9000];
    snprintf(msg, sizeof msg,
             "source_auth.password_file: cannot read %s: No such file or directory: put the "
             "password in that file (readable by r2cache only), or use another field",
             g_pwfile);
    cr_assert(strstr(r.err.data, msg), "no \"%s\" in: %s", msg, r.err.data);
    run_free(&r);
    cJSON *s = server_stats();
    cr_assert_eq(auth_stat(s, "challenges"), 0);
    cJSON_Delete(s);
}

Test(srcauth_fill, run_exits_3_on_refused_credentials_and_fetches_with_right_ones,
     .init = e2e_setup, .fini = e2e_teardown)
{
    start_server(NULL);
    pw_config(WRONG_PASSWORD "\n");
    char args[9000];
    snprintf(args, sizeof args,
             "run --config '%s' --now 2025-11-04T00:22:00Z --lookback 10m --json --log-format "
             "json --log-level debug --metrics-file '%s'",
             g_config, g_metrics);
    run_out r;
    rc_buf_init(&r.out);
    rc_buf_init(&r.err);
    r.rc = rc_test_r2cache(args, &r.out, &r.err);
    cr_assert_eq(r.rc, 3, "exit %d: %s", r.rc, r.err.data);
    char msg[9000];
    snprintf(msg, sizeof msg,
             "the data centre refused the credentials from source_auth.user and %s (HTTP 401) "
             "for http://127.0.0.1:%d/fdsnws/dataselect/1/queryauth: check them",
             g_pwfile, g_port);
    cr_assert(strstr(r.err.data, msg), "no \"%s\" in: %s", msg, r.err.data);
    assert_secret_absent(&r, WRONG_PASSWORD);
    run_free(&r);
    pw_config(PASSWORD "\n");
    rc_buf_init(&r.out);
    rc_buf_init(&r.err);
    r.rc = rc_test_r2cache(args, &r.out, &r.err);
    cr_assert_eq(r.rc, 0, "exit %d: %s", r.rc, r.err.data);
    assert_secret_absent(&r, PASSWORD);
    run_free(&r);
    assert_samples(); /* the window 00:10..00:20 */
}

/* serve's fill jobs open their own source with the same credentials. */
Test(srcauth_fill, serve_fill_jobs_use_the_credentials, .init = e2e_setup, .fini = e2e_teardown)
{
    start_server(NULL);
    pw_config(PASSWORD "\n");
    char log[4300];
    snprintf(log, sizeof log, "%s/serve.log", g_dir);
    char args[4400];
    snprintf(args, sizeof args, "--config '%s' --log-level debug", g_config);
    int sport = 0;
    pid_t srv = rc_test_serve_start(args, "R2CACHE_API_TOKEN=api-token-srcauth", log, 20, &sport);
    cr_assert(srv > 0, "serve did not start");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "curl -s -X POST -H 'Authorization: Bearer api-token-srcauth' -H 'Content-Type: "
             "application/json' -d '{\"network\": \"XX\", \"station\": \"AUT\", \"location\": "
             "\"\", \"channel\": \"BHZ\", \"start_time\": \"2025-11-04T00:00:00Z\", "
             "\"duration_hours\": 1}' 'http://127.0.0.1:%d/api/backfill?wait=true'",
             sport);
    run_out r;
    rc_buf_init(&r.out);
    rc_buf_init(&r.err);
    r.rc = rc_test_sh(cmd, &r.out, &r.err);
    cr_assert_eq(rc_test_serve_stop(srv, 10), 0);
    cr_assert_eq(r.rc, 0);
    cJSON *res = cJSON_Parse(r.out.data);
    cr_assert(res, "not JSON: %s", r.out.data);
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(res, "chunks_added");
    cr_assert(cJSON_IsNumber(added) && added->valueint == 6, "%s", r.out.data);
    cJSON_Delete(res);
    rc_buf slog = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(log, &slog), 0);
    rc_buf_append(&r.err, slog.data, slog.len); /* the server's log is checked too */
    rc_buf_free(&slog);
    assert_secret_absent(&r, PASSWORD);
    run_free(&r);
    cJSON *s = server_stats();
    cr_assert_eq(auth_stat(s, "digest_ok"), 1);
    cJSON_Delete(s);
    assert_samples();
}
