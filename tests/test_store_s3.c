/*
 * test_store_s3.c: the S3 backend against a real RGW (tests/rgw.sh, started
 * by the CTest fixture "rgw"; its DIR/env gives endpoint, keys and bucket),
 * and against the fault-injecting proxy tests/s3proxy.py placed between the
 * client and RGW for the faults RGW cannot make (429, 503 SlowDown, 409,
 * resets, stalls). Skips visibly only when the RGW env file is absent.
 *
 * Every test works under its own prefix (pid + test name), so reruns and
 * parallel ctest runs in other build trees never see each other's keys.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "r2cache/log.h"
#include "r2cache/sigv4.h"
#include "r2cache/store.h"
#include "support.h"

static char bucket[128];
static char endpoint[256];

/* Load RC_BINARY_DIR/rgw/env into the environment; skip when absent. */
static void need_rgw(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/rgw/env", RC_BINARY_DIR);
    FILE *f = fopen(path, "r");
    if (!f)
        cr_skip_test("SKIPPED: %s is absent (start RGW with tests/rgw.sh start %s/rgw, or run "
                     "through ctest, whose rgw fixture does it)",
                     path, RC_BINARY_DIR);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        if (strncmp(p, "export ", 7) == 0) p += 7;
        char *eq = strchr(p, '=');
        if (!eq) continue;
        *eq = '\0';
        setenv(p, eq + 1, 1);
    }
    fclose(f);
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("R2CACHE_S3_STALL_TIMEOUT");
    snprintf(bucket, sizeof bucket, "%s", getenv("RC_TEST_BUCKET"));
    snprintf(endpoint, sizeof endpoint, "%s", getenv("AWS_ENDPOINT_URL"));
}

static rc_store *open_store(const char *tag, rc_store_opts *o)
{
    char url[512];
    snprintf(url, sizeof url, "s3://%s/t-%d-%ld-%s", bucket, (int)getpid(), (long)time(NULL), tag);
    rc_store_opts def;
    rc_store_opts_default(&def);
    rc_store *s = NULL;
    rc_err e = {0};
    int rc = rc_store_open(url, o ? o : &def, &s, &e);
    cr_assert_eq(rc, RC_OK, "open %s: %s", url, e.msg);
    return s;
}

static int put(rc_store *s, const char *key, const char *body, const rc_put_opts *o, char *etag,
               rc_err *e)
{
    return rc_store_put(s, key, body, strlen(body), o, etag, e);
}

/* ---- list collection ---- */

typedef struct keys {
    char **k;
    size_t n, cap;
    int stop_after;
} keys;

static int collect(void *ud, const rc_obj_info *o)
{
    keys *ks = ud;
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? ks->cap * 2 : 64;
        ks->k = realloc(ks->k, ks->cap * sizeof *ks->k);
    }
    ks->k[ks->n++] = strdup(o->key);
    return ks->stop_after && (int)ks->n >= ks->stop_after;
}

static void keys_free(keys *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->k[i]);
    free(ks->k);
    memset(ks, 0, sizeof *ks);
}

/* ---- the fault proxy ---- */

static pid_t proxy_pid;
static int proxy_port;

static void start_proxy(void)
{
    char script[4200];
    snprintf(script, sizeof script, "%s/tests/s3proxy.py", RC_SOURCE_DIR);
    char *argv[] = {"python3", script, endpoint, NULL};
    proxy_pid = rc_test_server_start(argv, 20, &proxy_port);
    cr_assert_gt(proxy_pid, 0, "s3proxy.py did not start");
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", proxy_port);
    setenv("AWS_ENDPOINT_URL", ep, 1);
}

static void stop_proxy(void)
{
    if (proxy_pid > 0) rc_test_server_stop(proxy_pid);
    proxy_pid = 0;
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    rc_buf_append(ud, p, sz * n);
    return sz * n;
}

static void proxy_call(const char *method, const char *path, const char *body, rc_buf *out)
{
    CURL *h = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", proxy_port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    rc_buf tmp = RC_BUF_INIT;
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out ? out : &tmp);
    cr_assert_eq(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    rc_buf_free(&tmp);
}

static void faults(const char *json)
{
    proxy_call("POST", "/__stats", "", NULL); /* fresh counters per scenario */
    proxy_call("POST", "/__control", json, NULL);
}

/* Requests the proxy saw since the last faults() call. */
static int proxy_requests(void)
{
    rc_buf out = RC_BUF_INIT;
    proxy_call("GET", "/__stats", NULL, &out);
    int n = -1;
    const char *p = strstr(out.data, "\"requests\": ");
    if (p) n = atoi(p + 12);
    rc_buf_free(&out);
    return n;
}

static void fast_retries(rc_store_opts *o)
{
    rc_store_opts_default(o);
    o->backoff_base_s = 0.05;
    o->backoff_cap_s = 0.3;
}

/* ===================================================================== */

/* .fini runs after a failed assertion too: the proxy never outlives its test. */
TestSuite(store_s3, .timeout = 120, .fini = stop_proxy);

Test(store_s3, every_operation_round_trips)
{
    need_rgw();
    rc_store *s = open_store("ops", NULL);
    rc_err e = {0};
    const char *k1 = "data/2025/11/HV/kilauea/UWE//HHZ/"
                     "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst";
    const char *k2 = "odd/a key+with=plus&amp~.bin";
    const char *body = "zstd bytes \x01\x02\x03";

    rc_obj_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.content_type, sizeof m.content_type, "application/zstd");
    snprintf(m.cache_control, sizeof m.cache_control, "public, max-age=31536000, immutable");
    cr_assert_eq(rc_obj_meta_set(&m, "r2c-min", "-1234"), RC_OK);
    cr_assert_eq(rc_obj_meta_set(&m, "r2c-max", "5678"), RC_OK);
    cr_assert_eq(rc_obj_meta_set(&m, "r2c-samples", "60000"), RC_OK);
    rc_put_opts po = {&m, NULL, 0};
    char etag[RC_ETAG_MAX];
    cr_assert_eq(put(s, k1, body, &po, etag, &e), RC_OK, "%s", e.msg);
    char md5[33];
    rc_sigv4_md5_hex(body, strlen(body), md5);
    cr_assert_str_eq(etag, md5);
    cr_assert_eq(put(s, k2, "second", NULL, NULL, &e), RC_OK, "%s", e.msg);

    rc_obj_info info;
    cr_assert_eq(rc_store_head(s, k1, &info, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(info.size, (int64_t)strlen(body));
    cr_assert_str_eq(info.etag, md5);
    cr_assert_str_eq(info.meta.content_type, "application/zstd");
    cr_assert_str_eq(info.meta.cache_control, "public, max-age=31536000, immutable");
    cr_assert_eq(info.meta.n, 3);
    cr_assert_str_eq(rc_obj_meta_get(&info.meta, "r2c-min"), "-1234");
    cr_assert_str_eq(rc_obj_meta_get(&info.meta, "r2c-max"), "5678");
    cr_assert_str_eq(rc_obj_meta_get(&info.meta, "r2c-samples"), "60000");
    cr_assert(info.mtime > time(NULL) - 600 && info.mtime < time(NULL) + 600);

    rc_buf out = RC_BUF_INIT;
    rc_buf_puts(&out, "old content is replaced");
    cr_assert_eq(rc_store_get(s, k1, &out, &info, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(out.len, strlen(body));
    cr_assert_eq(memcmp(out.data, body, out.len), 0);
    cr_assert_str_eq(info.etag, md5);
    cr_assert_str_eq(rc_obj_meta_get(&info.meta, "r2c-min"), "-1234");
    cr_assert_eq(rc_store_get(s, k2, &out, NULL, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(out.data, "second");
    /* an unconditional put with no metadata is application/octet-stream */
    cr_assert_eq(rc_store_head(s, k2, &info, &e), RC_OK);
    cr_assert_str_eq(info.meta.content_type, "application/octet-stream");

    keys ks = {0};
    cr_assert_eq(rc_store_list(s, "", collect, &ks, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(ks.n, 2);
    cr_assert_str_eq(ks.k[0], k1);
    cr_assert_str_eq(ks.k[1], k2);
    keys_free(&ks);
    cr_assert_eq(rc_store_list(s, "odd/", collect, &ks, &e), RC_OK);
    cr_assert_eq(ks.n, 1);
    cr_assert_str_eq(ks.k[0], k2);
    keys_free(&ks);

    cr_assert_eq(rc_store_delete(s, k1, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_store_head(s, k1, &info, &e), RC_ENOTFOUND);
    cr_assert_eq(rc_store_get(s, k1, &out, NULL, &e), RC_ENOTFOUND);
    cr_assert(strstr(e.msg, k1), "%s", e.msg);
    cr_assert_eq(rc_store_delete(s, k1, &e), RC_OK, "deleting an absent key: %s", e.msg);
    cr_assert_eq(rc_store_delete(s, k2, &e), RC_OK);
    cr_assert_eq(rc_store_list(s, "", collect, &ks, &e), RC_OK);
    cr_assert_eq(ks.n, 0);
    keys_free(&ks);
    /* empty body */
    cr_assert_eq(put(s, "empty", "", NULL, etag, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(etag, "d41d8cd98f00b204e9800998ecf8427e");
    cr_assert_eq(rc_store_get(s, "empty", &out, &info, &e), RC_OK);
    cr_assert_eq(out.len, 0);
    cr_assert_eq(info.size, 0);
    rc_store_delete(s, "empty", &e);
    rc_buf_free(&out);
    rc_store_close(s);
}

Test(store_s3, conditional_create_and_replace)
{
    need_rgw();
    rc_store *s = open_store("cond", NULL);
    rc_err e = {0};
    const char *k = "data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json";
    char etag1[RC_ETAG_MAX], etag2[RC_ETAG_MAX], etag3[RC_ETAG_MAX];
    rc_put_opts create = {NULL, NULL, 1};
    cr_assert_eq(put(s, k, "{\"v\":1}", &create, etag1, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(put(s, k, "{\"v\":9}", &create, NULL, &e), RC_ECONFLICT);
    cr_assert(strstr(e.msg, "412"), "%s", e.msg);

    rc_put_opts stale = {NULL, "0123456789abcdef0123456789abcdef", 0};
    cr_assert_eq(put(s, k, "{\"v\":9}", &stale, NULL, &e), RC_ECONFLICT);
    rc_put_opts cur = {NULL, etag1, 0};
    cr_assert_eq(put(s, k, "{\"v\":2}", &cur, etag2, &e), RC_OK, "replace with current ETag: %s",
                 e.msg);
    /* the old ETag is stale now */
    cr_assert_eq(put(s, k, "{\"v\":9}", &cur, NULL, &e), RC_ECONFLICT);
    /* the second replace uses the ETag spelling learnt by the first */
    rc_put_opts cur2 = {NULL, etag2, 0};
    cr_assert_eq(put(s, k, "{\"v\":3}", &cur2, etag3, &e), RC_OK, "%s", e.msg);
    /* a quoted ETag from a caller is accepted too */
    char quoted[RC_ETAG_MAX + 2];
    snprintf(quoted, sizeof quoted, "\"%s\"", etag3);
    rc_put_opts cur3 = {NULL, quoted, 0};
    cr_assert_eq(put(s, k, "{\"v\":4}", &cur3, NULL, &e), RC_OK, "%s", e.msg);

    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(s, k, &out, NULL, &e), RC_OK);
    cr_assert_str_eq(out.data, "{\"v\":4}");
    /* If-Match on a key that is gone is a lost conditional write too */
    rc_store_delete(s, k, &e);
    cr_assert_eq(put(s, "gone.json", "x", &stale, NULL, &e), RC_ECONFLICT, "%s", e.msg);
    rc_buf_free(&out);
    rc_store_close(s);
}

typedef struct async_count {
    int ok, failed;
    char last_err[RC_ERR_MSG_MAX];
} async_count;

static void on_done(void *ud, const char *key, int status, const rc_err *e)
{
    (void)key;
    async_count *c = ud;
    if (status == RC_OK)
        c->ok++;
    else {
        c->failed++;
        snprintf(c->last_err, sizeof c->last_err, "%s", e ? e->msg : "");
    }
}

/* > 1000 keys: two pages. The keys hold "+", "=" and "/" because RGW's
 * continuation token is the last key: the token must be encoded right. */
Test(store_s3, list_pages_over_1000_keys)
{
    need_rgw();
    rc_store_opts o;
    rc_store_opts_default(&o);
    o.max_connections = 16;
    rc_store *s = open_store("paging", &o);
    rc_err e = {0};
    const int n = 1234;
    async_count c = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "pg/a+b=c/%05d", i);
        cr_assert_eq(rc_store_put_async(s, key, key, strlen(key), NULL, on_done, &c, &e), RC_OK,
                     "%s", e.msg);
    }
    cr_assert_eq(rc_store_wait(s, &e), RC_OK, "%s", e.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_eq(c.ok, n, "failed %d: %s", c.failed, c.last_err);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_log_info("%d async puts in %.2f s (%.0f/s)", n, secs, n / secs);

    /* list through the proxy, to count the pages */
    start_proxy();
    rc_store *ls = NULL;
    cr_assert_eq(rc_store_open(rc_store_describe(s), &o, &ls, &e), RC_OK, "%s", e.msg);
    faults("[]");
    keys ks = {0};
    cr_assert_eq(rc_store_list(ls, "pg/", collect, &ks, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(ks.n, (size_t)n);
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "pg/a+b=c/%05d", i);
        cr_assert_str_eq(ks.k[i], key);
    }
    cr_assert_eq(proxy_requests(), 2, "expected two ListObjectsV2 pages");
    keys_free(&ks);

    /* a fault in the middle of paging is retried */
    faults("[\"ok\", \"500\"]");
    cr_assert_eq(rc_store_list(ls, "pg/", collect, &ks, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(ks.n, (size_t)n);
    cr_assert_eq(proxy_requests(), 3);
    keys_free(&ks);
    rc_store_close(ls);
    stop_proxy();

    /* the callback stops the listing */
    ks.stop_after = 5;
    cr_assert_eq(rc_store_list(s, "pg/", collect, &ks, &e), RC_OK);
    cr_assert_eq(ks.n, 5);
    keys_free(&ks);
    /* a sub-prefix */
    cr_assert_eq(rc_store_list(s, "pg/a+b=c/0100", collect, &ks, &e), RC_OK);
    cr_assert_eq(ks.n, 10);
    cr_assert_str_eq(ks.k[0], "pg/a+b=c/01000");
    keys_free(&ks);

    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "pg/a+b=c/%05d", i);
        rc_store_delete(s, key, &e);
    }
    rc_store_close(s);
}

static char *read_all(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *p = calloc(1, (size_t)n + 1);
    rewind(f);
    if (n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n) p[0] = '\0';
    return p;
}

Test(store_s3, wrong_secret_fails_fast_and_never_leaks)
{
    need_rgw();
    const char *real = getenv("AWS_SECRET_ACCESS_KEY");
    char real_copy[256];
    snprintf(real_copy, sizeof real_copy, "%s", real);
    const char *wrong = "WRONGsecretWRONGsecretWRONGsecret0123456";
    setenv("AWS_SECRET_ACCESS_KEY", wrong, 1);

    FILE *logf = tmpfile();
    rc_log lg;
    rc_log_init(&lg, logf, RC_LOG_DEBUG, RC_LOG_TEXT);
    rc_store_opts o;
    fast_retries(&o);
    o.log = &lg;
    rc_store *s = open_store("badsecret", &o);
    rc_err e = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(put(s, "k", "body", NULL, NULL, &e), RC_EAUTH);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_lt(t1.tv_sec - t0.tv_sec, 3, "a 403 must not be retried");
    cr_assert(strstr(e.msg, "SignatureDoesNotMatch"), "%s", e.msg);
    cr_assert(strstr(e.msg, "AWS_SECRET_ACCESS_KEY"), "%s", e.msg);
    cr_assert(strstr(e.msg, "R2_SECRET_ACCESS_KEY") || strstr(e.msg, "AWS_SECRET_ACCESS_KEY"));
    char msgs[4 * RC_ERR_MSG_MAX];
    snprintf(msgs, sizeof msgs, "%s\n", e.msg);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(s, "k", &out, NULL, &e), RC_EAUTH);
    strncat(msgs, e.msg, sizeof msgs - strlen(msgs) - 2);
    rc_obj_info info;
    cr_assert_eq(rc_store_head(s, "k", &info, &e), RC_EAUTH); /* HEAD: 403 without a body */
    cr_assert(strstr(e.msg, "403"), "%s", e.msg);
    strncat(msgs, e.msg, sizeof msgs - strlen(msgs) - 2);
    keys ks = {0};
    cr_assert_eq(rc_store_list(s, "", collect, &ks, &e), RC_EAUTH);
    strncat(msgs, e.msg, sizeof msgs - strlen(msgs) - 2);
    rc_store_close(s);

    char *log = read_all(logf);
    fclose(logf);
    cr_assert(strstr(log, "403"), "the debug log shows the requests: %s", log);
    const char *texts[] = {msgs, log};
    for (int i = 0; i < 2; i++) {
        cr_assert_null(strstr(texts[i], wrong), "secret leaked: %s", texts[i]);
        cr_assert_null(strstr(texts[i], real_copy), "secret leaked: %s", texts[i]);
        cr_assert_null(strstr(texts[i], "Signature="), "signature leaked: %s", texts[i]);
        cr_assert_null(strstr(texts[i], "Authorization"), "authorization leaked: %s", texts[i]);
        /* no 64-hex-digit run (a signature) anywhere */
        int run = 0;
        for (const char *p = texts[i]; *p; p++) {
            run = ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) ? run + 1 : 0;
            cr_assert_lt(run, 64, "a signature-like hex string leaked: %s", texts[i]);
        }
    }
    free(log);
    rc_buf_free(&out);

    /* an unknown access key gets its own message */
    setenv("AWS_SECRET_ACCESS_KEY", real_copy, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIANOSUCHKEY0000XYZ", 1);
    o.log = NULL; /* its file is closed */
    s = open_store("badkey", &o);
    cr_assert_eq(put(s, "k", "body", NULL, NULL, &e), RC_EAUTH);
    cr_assert(strstr(e.msg, "InvalidAccessKeyId"), "%s", e.msg);
    cr_assert(strstr(e.msg, "...0XYZ") && strstr(e.msg, "AWS_ACCESS_KEY_ID"), "%s", e.msg);
    rc_store_close(s);
}

Test(store_s3, missing_bucket_is_unusable)
{
    need_rgw();
    rc_store *s = NULL;
    rc_err e = {0};
    cr_assert_eq(rc_store_open("s3://r2cache-no-such-bucket/p", NULL, &s, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_store_put(s, "k", "x", 1, NULL, NULL, &e), RC_EUNUSABLE);
    char want[512];
    snprintf(want, sizeof want, "bucket r2cache-no-such-bucket does not exist at %s", endpoint);
    cr_assert(strstr(e.msg, want), "%s", e.msg);
    keys ks = {0};
    cr_assert_eq(rc_store_list(s, "", collect, &ks, &e), RC_EUNUSABLE, "%s", e.msg);
    rc_store_close(s);
}

/* A raw signed PUT whose body differs from what was signed: RGW must refuse
 * it (x-amz-content-sha256, then Content-MD5). */
static long raw_put(const char *key, const char *signed_body, const char *sent_body,
                    const char *md5_of, rc_buf *resp)
{
    const char *host = endpoint + strlen("http://");
    char path[512], sha[65], md5[25], date[17], url[1024];
    snprintf(path, sizeof path, "/%s/%s", bucket, key);
    rc_sigv4_sha256_hex(signed_body, strlen(signed_body), sha);
    rc_sigv4_md5_base64(md5_of, strlen(md5_of), md5);
    rc_sigv4_amz_date(time(NULL), date);
    rc_sigv4_kv h[] = {
        {"host", host}, {"x-amz-date", date}, {"x-amz-content-sha256", sha}, {"content-md5", md5}};
    rc_sigv4_creds c = {getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
                        getenv("AWS_REGION"), "s3"};
    rc_sigv4_req r = {"PUT", path, NULL, 0, h, 4, date, sha};
    rc_sigv4_out so;
    rc_sigv4_out_init(&so);
    rc_err e = {0};
    cr_assert_eq(rc_sigv4_sign(&r, &c, &so, &e), RC_OK);
    struct curl_slist *sl = NULL;
    char line[1024];
    for (int i = 0; i < 4; i++) {
        snprintf(line, sizeof line, "%s: %s", h[i].name, h[i].value);
        sl = curl_slist_append(sl, line);
    }
    snprintf(line, sizeof line, "Authorization: %s", so.authorization.data);
    sl = curl_slist_append(sl, line);
    sl = curl_slist_append(sl, "Expect:");
    snprintf(url, sizeof url, "%s%s", endpoint, path);
    CURL *ch = curl_easy_init();
    curl_easy_setopt(ch, CURLOPT_URL, url);
    curl_easy_setopt(ch, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(ch, CURLOPT_POSTFIELDS, sent_body);
    curl_easy_setopt(ch, CURLOPT_HTTPHEADER, sl);
    curl_easy_setopt(ch, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(ch, CURLOPT_WRITEDATA, resp);
    cr_assert_eq(curl_easy_perform(ch), CURLE_OK);
    long st = 0;
    curl_easy_getinfo(ch, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(ch);
    curl_slist_free_all(sl);
    rc_sigv4_out_free(&so);
    return st;
}

Test(store_s3, tampered_payload_is_refused)
{
    need_rgw();
    char key[128];
    snprintf(key, sizeof key, "t-%d-tamper/blob", (int)getpid());
    rc_buf resp = RC_BUF_INIT;
    /* control: the honest request passes, so the refusals below are about the body */
    cr_assert_eq(raw_put(key, "original", "original", "original", &resp), 200, "%s", resp.data);
    rc_buf_reset(&resp);
    cr_assert_eq(raw_put(key, "original", "tampered", "tampered", &resp), 400, "%s", resp.data);
    cr_assert(strstr(resp.data, "XAmzContentSHA256Mismatch"), "%s", resp.data);
    rc_buf_reset(&resp);
    cr_assert_eq(raw_put(key, "tampered", "tampered", "original", &resp), 400, "%s", resp.data);
    cr_assert(strstr(resp.data, "BadDigest"), "%s", resp.data);
    rc_buf_free(&resp);

    rc_store *s = NULL;
    rc_err e = {0};
    char url[256];
    snprintf(url, sizeof url, "s3://%s/t-%d-tamper", bucket, (int)getpid());
    cr_assert_eq(rc_store_open(url, NULL, &s, &e), RC_OK);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(s, "blob", &out, NULL, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(out.data, "original");
    rc_store_delete(s, "blob", &e);
    rc_buf_free(&out);
    rc_store_close(s);
}

Test(store_s3, transient_faults_are_retried)
{
    need_rgw();
    start_proxy();
    rc_store_opts o;
    fast_retries(&o);
    rc_store *s = open_store("faults", &o);
    rc_err e = {0};
    char etag[RC_ETAG_MAX];

    faults("[\"429\", \"503-slowdown\", \"500\", \"reset\"]");
    cr_assert_eq(put(s, "a", "payload-a", NULL, etag, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(proxy_requests(), 5);

    faults("[\"503-slowdown\", \"reset\"]");
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(s, "a", &out, NULL, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(out.data, "payload-a");
    cr_assert_eq(proxy_requests(), 3);

    faults("[\"500\"]");
    rc_obj_info info;
    cr_assert_eq(rc_store_head(s, "a", &info, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(info.etag, etag);
    faults("[\"reset\"]");
    cr_assert_eq(rc_store_delete(s, "a", &e), RC_OK, "%s", e.msg);
    cr_assert_eq(proxy_requests(), 2);

    /* a stall longer than the stall timeout (s3.stall_timeout_s, or the
     * environment variable, which overrides it) is abandoned and retried */
    for (int via_env = 0; via_env < 2; via_env++) {
        rc_store_opts so = o;
        so.stall_timeout_s = via_env ? 3600 : 1;
        if (via_env) setenv("R2CACHE_S3_STALL_TIMEOUT", "1", 1);
        rc_store *s2 = open_store("stall", &so);
        faults("[\"stall:3\"]");
        time_t t0 = time(NULL);
        cr_assert_eq(put(s2, "b", "payload-b", NULL, NULL, &e), RC_OK, "%s", e.msg);
        cr_assert_geq(time(NULL) - t0, 1);
        int nreq = proxy_requests();
        cr_assert_eq(nreq, 2, "via_env %d: requests %d", via_env, nreq);
        cr_assert_eq(rc_store_get(s2, "b", &out, NULL, &e), RC_OK);
        cr_assert_str_eq(out.data, "payload-b");
        rc_store_delete(s2, "b", &e);
        rc_store_close(s2);
        unsetenv("R2CACHE_S3_STALL_TIMEOUT");
    }

    /* conditional puts ride through transient faults too */
    rc_put_opts create = {NULL, NULL, 1};
    faults("[\"503-slowdown\"]");
    cr_assert_eq(put(s, "m.json", "{}", &create, etag, &e), RC_OK, "%s", e.msg);
    rc_store_delete(s, "m.json", &e);
    rc_buf_free(&out);
    rc_store_close(s);
    stop_proxy();
}

Test(store_s3, conflicts_and_exhaustion_are_reported)
{
    need_rgw();
    start_proxy();
    rc_store_opts o;
    fast_retries(&o);
    o.max_attempts = 3;
    rc_store *s = open_store("conflict", &o);
    rc_err e = {0};

    faults("[\"409\"]");
    cr_assert_eq(put(s, "m.json", "{}", NULL, NULL, &e), RC_ECONFLICT);
    cr_assert(strstr(e.msg, "409") && strstr(e.msg, "re-read"), "%s", e.msg);
    cr_assert_eq(proxy_requests(), 1, "a conflict is not retried blindly");
    faults("[\"412\"]");
    cr_assert_eq(put(s, "m.json", "{}", NULL, NULL, &e), RC_ECONFLICT);
    cr_assert_eq(proxy_requests(), 1);

    faults("[\"503-slowdown\", \"503-slowdown\", \"503-slowdown\"]");
    cr_assert_eq(put(s, "x", "x", NULL, NULL, &e), RC_EIO);
    cr_assert(strstr(e.msg, "gave up after 3 attempts"), "%s", e.msg);
    cr_assert(strstr(e.msg, "503 SlowDown"), "%s", e.msg);
    cr_assert(strstr(e.msg, "PUT s3://"), "%s", e.msg);
    cr_assert_eq(proxy_requests(), 3);

    /* six resets for three attempts: curl itself may retry a request once when
     * a reused connection dies before the response */
    faults("[\"reset\", \"reset\", \"reset\", \"reset\", \"reset\", \"reset\"]");
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(s, "x", &out, NULL, &e), RC_EIO, "%s", e.msg);
    cr_assert(strstr(e.msg, "gave up after 3 attempts"), "%s", e.msg);

    faults("[\"skew\"]");
    cr_assert_eq(put(s, "x", "x", NULL, NULL, &e), RC_EAUTH);
    cr_assert(strstr(e.msg, "clock is off by") && strstr(e.msg, "NTP"), "%s", e.msg);
    cr_assert(strstr(e.msg, "behind"), "%s", e.msg);

    /* the object never got written by any of the failed puts */
    faults("[]");
    cr_assert_eq(rc_store_head(s, "x", NULL, &e), RC_ENOTFOUND);
    rc_store_delete(s, "m.json", &e);
    rc_buf_free(&out);
    rc_store_close(s);
    stop_proxy();
}

Test(store_s3, async_puts_survive_faults_and_report_failures)
{
    need_rgw();
    start_proxy();
    rc_store_opts o;
    fast_retries(&o);
    o.max_connections = 4;
    o.max_attempts = 4;
    rc_store *s = open_store("async", &o);
    rc_err e = {0};
    async_count c = {0};
    faults("[\"429\", \"reset\", \"503-slowdown\", \"500\", \"ok\", \"reset\"]");
    for (int i = 0; i < 40; i++) {
        char key[32];
        snprintf(key, sizeof key, "chunk-%02d", i);
        cr_assert_eq(rc_store_put_async(s, key, key, strlen(key), NULL, on_done, &c, &e), RC_OK);
    }
    cr_assert_eq(rc_store_wait(s, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(c.ok, 40, "failed %d: %s", c.failed, c.last_err);
    cr_assert_eq(proxy_requests(), 45);
    keys ks = {0};
    cr_assert_eq(rc_store_list(s, "chunk-", collect, &ks, &e), RC_OK);
    cr_assert_eq(ks.n, 40);
    keys_free(&ks);

    /* beyond the attempt limit: reported through the callback */
    memset(&c, 0, sizeof c);
    faults("[\"500\", \"500\", \"500\", \"500\"]");
    cr_assert_eq(rc_store_put_async(s, "doomed", "x", 1, NULL, on_done, &c, &e), RC_OK);
    cr_assert_eq(rc_store_wait(s, &e), RC_OK);
    cr_assert_eq(c.failed, 1);
    cr_assert(strstr(c.last_err, "gave up after 4 attempts"), "%s", c.last_err);
    /* without a callback the failure comes back from wait */
    faults("[\"500\", \"500\", \"500\", \"500\"]");
    cr_assert_eq(rc_store_put_async(s, "doomed", "x", 1, NULL, NULL, NULL, &e), RC_OK);
    cr_assert_eq(rc_store_wait(s, &e), RC_EIO);
    cr_assert(strstr(e.msg, "doomed"), "%s", e.msg);
    faults("[]");
    for (int i = 0; i < 40; i++) {
        char key[32];
        snprintf(key, sizeof key, "chunk-%02d", i);
        rc_store_delete(s, key, &e);
    }
    rc_store_close(s);
    stop_proxy();
}

/* ---- configuration (no server needed) ---- */

static void clear_s3_env(void)
{
    const char *vars[] = {"AWS_ACCESS_KEY_ID",    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                          "AWS_REGION",           "AWS_DEFAULT_REGION",    "AWS_ENDPOINT_URL",
                          "AWS_ENDPOINT_URL_S3",  "R2_ACCOUNT_ID",         "R2_ACCESS_KEY_ID",
                          "R2_SECRET_ACCESS_KEY", "R2_BUCKET_NAME",        "AWS_CA_BUNDLE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

static char *open_log(const char *url, const rc_store_opts *base, int *rc, rc_err *e)
{
    FILE *f = tmpfile();
    rc_log lg;
    rc_log_init(&lg, f, RC_LOG_DEBUG, RC_LOG_TEXT);
    rc_store_opts o;
    if (base)
        o = *base;
    else
        rc_store_opts_default(&o);
    o.log = &lg;
    rc_store *s = NULL;
    *rc = rc_store_open(url, &o, &s, e);
    rc_store_close(s);
    char *text = read_all(f);
    fclose(f);
    return text;
}

Test(store_s3, configuration_from_environment)
{
    clear_s3_env();
    rc_err e = {0};
    int rc;
    char *log = open_log("s3://bkt/p", NULL, &rc, &e);
    cr_assert_eq(rc, RC_EAUTH);
    cr_assert(strstr(e.msg, "AWS_ACCESS_KEY_ID") && strstr(e.msg, "R2_ACCESS_KEY_ID"), "%s", e.msg);
    free(log);

    /* the seed's R2 variables */
    setenv("R2_ACCOUNT_ID", "0123abcd", 1);
    setenv("R2_ACCESS_KEY_ID", "r2key", 1);
    setenv("R2_SECRET_ACCESS_KEY", "r2secretvalue", 1);
    setenv("R2_BUCKET_NAME", "seismic-cache", 1);
    log = open_log("s3://", NULL, &rc, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    cr_assert(strstr(log,
                     "endpoint https://0123abcd.r2.cloudflarestorage.com, bucket seismic-cache, "
                     "prefix \"\", region auto, virtual-host-style, keys from R2_ACCESS_KEY_ID"),
              "%s", log);
    cr_assert_null(strstr(log, "r2secretvalue"));
    free(log);
    log = open_log("s3:///cache/v1/", NULL, &rc, &e);
    cr_assert(strstr(log, "bucket seismic-cache, prefix \"cache/v1/\""), "%s", log);
    free(log);

    /* AWS variables win over R2's; endpoint variables over the account id */
    setenv("AWS_ACCESS_KEY_ID", "awskey", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "awssecret", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    log = open_log("s3://Bucket_1/x", NULL, &rc, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    cr_assert(strstr(log, "endpoint http://127.0.0.1:9, bucket Bucket_1, prefix \"x/\", region "
                          "eu-west-1, path-style, keys from AWS_ACCESS_KEY_ID"),
              "%s", log);
    free(log);
    setenv("AWS_ENDPOINT_URL_S3", "https://S3.Example.COM", 1);
    log = open_log("s3://bkt", NULL, &rc, &e);
    cr_assert(strstr(log, "endpoint https://s3.example.com, bucket bkt"), "%s", log);
    cr_assert(strstr(log, "virtual-host-style"), "%s", log);
    free(log);

    /* options from the config file override the environment */
    rc_store_opts o;
    rc_store_opts_default(&o);
    o.endpoint = "http://localhost:7480";
    o.region = "us-west-2";
    log = open_log("s3://bkt", &o, &rc, &e);
    cr_assert(strstr(log, "endpoint http://localhost:7480, bucket bkt, prefix \"\", region "
                          "us-west-2, path-style"),
              "%s", log);
    free(log);
    o.addressing = 2;
    o.endpoint = "https://minio.internal:9000";
    log = open_log("s3://bkt", &o, &rc, &e);
    cr_assert(strstr(log, "virtual-host-style"), "%s", log);
    free(log);
    o.addressing = 1;
    log = open_log("s3://bkt", &o, &rc, &e);
    cr_assert(strstr(log, "path-style"), "%s", log);
    free(log);

    /* refusals */
    o.addressing = 0;
    o.endpoint = "ftp://x";
    free(open_log("s3://bkt", &o, &rc, &e));
    cr_assert_eq(rc, RC_EINVAL);
    cr_assert(strstr(e.msg, "https://"), "%s", e.msg);
    o.endpoint = "https://user:pw@host";
    free(open_log("s3://bkt", &o, &rc, &e));
    cr_assert_eq(rc, RC_EINVAL);
    cr_assert_null(strstr(e.msg, "pw"), "%s", e.msg);
    o.endpoint = "https://host/bucket";
    free(open_log("s3://bkt", &o, &rc, &e));
    cr_assert_eq(rc, RC_EINVAL);
    o.endpoint = NULL;
    o.ca_bundle = "/nonexistent/ca.pem";
    free(open_log("s3://bkt", &o, &rc, &e));
    cr_assert_eq(rc, RC_EUNUSABLE);
    cr_assert(strstr(e.msg, "/nonexistent/ca.pem"), "%s", e.msg);
    unsetenv("R2_BUCKET_NAME");
    free(open_log("s3://", NULL, &rc, &e));
    cr_assert_eq(rc, RC_EINVAL);
    cr_assert(strstr(e.msg, "R2_BUCKET_NAME"), "%s", e.msg);
    free(open_log("s3://b?x/p", NULL, &rc, &e));
    cr_assert_eq(rc, RC_EINVAL);
}

/* Nothing listening: retried, then reported as an unusable store. */
Test(store_s3, unreachable_endpoint_is_unusable)
{
    clear_s3_env();
    setenv("AWS_ACCESS_KEY_ID", "k", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
    rc_store_opts o;
    fast_retries(&o);
    o.max_attempts = 2;
    rc_store *s = NULL;
    rc_err e = {0};
    cr_assert_eq(rc_store_open("s3://bkt", &o, &s, &e), RC_OK);
    cr_assert_eq(rc_store_put(s, "k", "x", 1, NULL, NULL, &e), RC_EUNUSABLE);
    cr_assert(strstr(e.msg, "http://127.0.0.1:1") && strstr(e.msg, "gave up after 2 attempts"),
              "%s", e.msg);
    rc_store_close(s);
}

/* A store that accepts connections and never answers (a full Ceph cluster
 * blocks writes this way): a socket that listens and never accepts; the
 * kernel completes the handshakes. One bounded wait (stall timeout x
 * attempts) makes the handle unusable; every later request, sync or async,
 * fails at once with the same message instead of waiting again. */
Test(store_s3, a_store_that_never_answers_is_unusable_after_one_bounded_wait)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 64), 0);
    socklen_t al = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", ntohs(a.sin_port));
    clear_s3_env();
    setenv("AWS_ACCESS_KEY_ID", "k", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    setenv("AWS_ENDPOINT_URL", ep, 1);
    setenv("R2CACHE_S3_STALL_TIMEOUT", "1", 1);
    rc_store_opts o;
    fast_retries(&o);
    o.max_attempts = 2;
    rc_store *s = NULL;
    rc_err e = {0};
    cr_assert_eq(rc_store_open("s3://bkt", &o, &s, &e), RC_OK, "%s", e.msg);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(rc_store_put(s, "k", "x", 1, NULL, NULL, &e), RC_EUNUSABLE, "%s", e.msg);
    char want[256];
    snprintf(want, sizeof want,
             "PUT s3://bkt/k at %s: the store accepts connections but never answers (no byte "
             "moved for 1 s, 2 attempts): it is unusable",
             ep);
    cr_assert(strstr(e.msg, want), "%s\nwant: %s", e.msg, want);
    /* later requests fail at once with the same cause */
    rc_err e2 = {0};
    rc_obj_info info;
    cr_assert_eq(rc_store_head(s, "other", &info, &e2), RC_EUNUSABLE);
    cr_assert(strstr(e2.msg, "never answers"), "%s", e2.msg);
    rc_err e3 = {0};
    cr_assert_eq(rc_store_put_async(s, "a1", "x", 1, NULL, NULL, NULL, &e3), RC_OK, "%s", e3.msg);
    cr_assert_eq(rc_store_put_async(s, "a2", "x", 1, NULL, NULL, NULL, &e3), RC_OK, "%s", e3.msg);
    cr_assert_eq(rc_store_wait(s, &e3), RC_EUNUSABLE, "%s", e3.msg);
    cr_assert(strstr(e3.msg, "never answers"), "%s", e3.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(secs < 20, "%.1f s: later requests waited again", secs);
    rc_store_close(s);
    close(fd);
}
