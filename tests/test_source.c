/*
 * test_source.c: the SDS and FDSN sources against real data.
 *
 * Each test builds an SDS archive in a scratch directory from the real files
 * (split by record start day, as SeisComP writes them), and the expected
 * answers are computed independently from the original files with libmseed.
 * FDSN tests run tests/fdsn_server.py on that archive, inject faults through
 * its /control endpoint and read what it saw from /stats. The last part
 * runs the built r2cache against the server: answers that are not data
 * (HTML, stray bytes, cut records, miniSEED 3, a web server's 404), pasted
 * service URLs, unusable sources and credentials in the URL.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libmseed.h>

#include "r2cache/source.h"
#include "r2cache/timewin.h"
#include "r2cache/version.h"
#include "support.h"

#define HOVE(c) "HV.HOVE..HH" c "__20190414T030832Z__20190414T031602Z.mseed"

/* ---- fixture state (test-only) ------------------------------------------- */

static char *g_sds;
static pid_t g_pid = -1;
static int g_port;

static int64_t T(const char *iso)
{
    int64_t t = 0;
    rc_err e;
    cr_assert_eq(rc_time_parse(iso, 0, &t, &e), RC_OK, "%s", e.msg);
    return t;
}

static rc_fetch_line L(const char *chan, const char *from, const char *to)
{
    rc_fetch_line l;
    memset(&l, 0, sizeof l);
    rc_err e;
    cr_assert_eq(rc_chan_parse(chan, &l.chan, &e), RC_OK, "%s", e.msg);
    l.start = T(from);
    l.end = T(to);
    return l;
}

static void mkdirs(const char *path)
{
    char tmp[4096];
    int len = snprintf(tmp, sizeof tmp, "%s", path);
    cr_assert(len > 0 && (size_t)len < sizeof tmp, "path too long: %s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    mkdir(tmp, 0755);
}

/* File every record of the real file under its start day, SDS style. */
static void sds_add(const char *root, const char *name)
{
    char *src = rc_test_mseed_path(name);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(src, &b), 0, "cannot read %s", src);
    MSRecord *msr = NULL;
    size_t off = 0;
    while (off < b.len) {
        cr_assert_eq(msr_parse(b.data + off, (int)(b.len - off), &msr, 0, 0, 0), 0);
        int64_t t = (int64_t)floor((double)msr->starttime / HPTMODULUS);
        rc_tm tm;
        rc_time_split(t, &tm);
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/%04d/%s/%s/%s.D", root, tm.year, msr->network, msr->station,
                 msr->channel);
        mkdirs(dir);
        snprintf(path, sizeof path, "%s/%s.%s.%s.%s.D.%04d.%03d", dir, msr->network, msr->station,
                 msr->location, msr->channel, tm.year, tm.yday);
        FILE *f = fopen(path, "ab");
        cr_assert(f, "cannot write %s", path);
        fwrite(b.data + off, 1, (size_t)msr->reclen, f);
        fclose(f);
        off += (size_t)msr->reclen;
    }
    msr_free(&msr);
    rc_buf_free(&b);
    free(src);
}

static char *build_sds(void)
{
    char *root = rc_test_tmpdir("sds");
    cr_assert(root);
    const char *files[] = {HOVE("Z"),
                           HOVE("N"),
                           HOVE("E"),
                           "CI.JRC2..HNZ.mseed",
                           "CI.JRC2..HNN.mseed",
                           "CI.JRC2..HNE.mseed",
                           "gaps.mseed"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        sds_add(root, files[i]);
    return root;
}

/* What the sources must return: records of the original file whose coverage
 * (first sample to one period past the last) overlaps [start, end). */
static size_t expected(const char *name, const rc_fetch_line *l, rc_buf *out)
{
    char *src = rc_test_mseed_path(name);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(src, &b), 0);
    MSRecord *msr = NULL;
    size_t off = 0, n = 0;
    char want[RC_CHAN_STR_MAX];
    rc_chan_format(&l->chan, want);
    while (off < b.len) {
        cr_assert_eq(msr_parse(b.data + off, (int)(b.len - off), &msr, 0, 0, 0), 0);
        char got[64];
        snprintf(got, sizeof got, "%s.%s.%s.%s", msr->network, msr->station, msr->location,
                 msr->channel);
        hptime_t rs = msr->starttime;
        hptime_t re = msr_endtime(msr) + (hptime_t)(HPTMODULUS / msr->samprate);
        if (strcmp(got, want) == 0 && rs < (hptime_t)l->end * HPTMODULUS &&
            re > (hptime_t)l->start * HPTMODULUS) {
            rc_buf_append(out, b.data + off, (size_t)msr->reclen);
            n++;
        }
        off += (size_t)msr->reclen;
    }
    msr_free(&msr);
    rc_buf_free(&b);
    free(src);
    return n;
}

static void setup_sds(void)
{
    if (!rc_test_mseed_dir()) return;
    g_sds = build_sds();
}

static void teardown(void)
{
    rc_test_server_stop(g_pid);
    g_pid = -1;
    if (g_sds) rc_test_rmtree(g_sds);
    free(g_sds);
    g_sds = NULL;
}

static void start_server(const char *delay_ms)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/fdsn_server.py", RC_SOURCE_DIR);
    char *argv[] = {"python3", script, "--sds", g_sds, "--delay-ms", (char *)delay_ms, NULL};
    g_pid = rc_test_server_start(argv, 20, &g_port);
    cr_assert(g_pid > 0, "fdsn_server.py did not start");
}

static void setup_server(void)
{
    setup_sds();
    if (g_sds) start_server("0");
}

/* Little-endian headers: the server must read both byte orders. */
static void setup_server_le(void)
{
    if (!rc_test_mseed_dir()) return;
    g_sds = rc_test_tmpdir("sds-le");
    cr_assert(g_sds);
    sds_add(g_sds, "endiantest.le-header.le-data.mseed");
    start_server("0");
}

static void setup_server_slow(void)
{
    setup_sds();
    if (g_sds) start_server("300");
}

/* ---- collecting results ---------------------------------------------------- */

#define MAXRES 32
typedef struct got {
    int n;
    int stop_after; /* 0 = never */
    size_t idx[MAXRES];
    rc_fetch_result res[MAXRES];
} got;

static int collect(void *ud, size_t i, rc_fetch_result *r)
{
    got *g = ud;
    cr_assert(g->n < MAXRES);
    g->idx[g->n] = i;
    g->res[g->n] = *r;
    rc_buf_steal(&r->data, NULL); /* now owned by g->res */
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

static void got_free(got *g)
{
    for (int i = 0; i < g->n; i++)
        rc_buf_free(&g->res[i].data);
    g->n = 0;
}

static rc_fetch_result *by_index(got *g, size_t i)
{
    for (int k = 0; k < g->n; k++)
        if (g->idx[k] == i) return &g->res[k];
    cr_assert_fail("no result for request %zu", i);
    return NULL;
}

static void assert_bytes_eq(const rc_buf *a, const rc_buf *b)
{
    cr_assert_eq(a->len, b->len, "lengths differ: %zu vs %zu", a->len, b->len);
    cr_assert(a->len == 0 || memcmp(a->data, b->data, a->len) == 0, "bytes differ");
}

static rc_source *open_url(const char *url, const rc_source_opts *o)
{
    rc_source *s = NULL;
    rc_err e;
    rc_err_clear(&e);
    cr_assert_eq(rc_source_open(url, o, &s, &e), RC_OK, "%s", e.msg);
    return s;
}

static rc_source *open_sds(void)
{
    char url[4200];
    snprintf(url, sizeof url, "sds://%s", g_sds);
    return open_url(url, NULL);
}

/* Fetch one request of n lines from s; the single result goes to g. */
static void fetch1(rc_source *s, const rc_fetch_line *lines, size_t n, got *g)
{
    rc_fetch_req r = {lines, n};
    rc_err e;
    rc_err_clear(&e);
    cr_assert_eq(rc_source_fetch_many(s, &r, 1, collect, g, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(g->n, 1);
}

/* SDS answer for lines, as the reference for FDSN answers. */
static void sds_answer(const rc_fetch_line *lines, size_t n, rc_buf *out)
{
    rc_source *s = open_sds();
    got g = {0};
    fetch1(s, lines, n, &g);
    cr_assert_eq(g.res[0].status, RC_OK, "%s", g.res[0].err.msg);
    rc_buf_append(out, g.res[0].data.data, g.res[0].data.len);
    got_free(&g);
    rc_source_close(s);
}

/* ---- talking to the test server --------------------------------------------- */

static size_t to_buf(char *p, size_t sz, size_t n, void *ud)
{
    rc_buf_append(ud, p, sz * n);
    return sz * n;
}

static long http(const char *method, const char *path, const char *body, rc_buf *out)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_port, path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    rc_buf sink = RC_BUF_INIT;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out ? out : &sink);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    cr_assert_eq(curl_easy_perform(h), CURLE_OK, "%s %s failed", method, url);
    long st = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(h);
    rc_buf_free(&sink);
    return st;
}

static void control(const char *json)
{
    cr_assert_eq(http("POST", "/control", json, NULL), 200);
    cr_assert_eq(http("POST", "/reset-stats", "", NULL), 200);
}

static cJSON *stats(void)
{
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(http("GET", "/stats", NULL, &b), 200);
    cJSON *j = cJSON_Parse(b.data);
    rc_buf_free(&b);
    cr_assert(j);
    return j;
}

static int stat_int(const char *name)
{
    cJSON *j = stats();
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    cr_assert(cJSON_IsNumber(v));
    int n = v->valueint;
    cJSON_Delete(j);
    return n;
}

/* Small timeouts and backoffs so retry tests take fractions of a second. */
static void fast_opts(rc_source_opts *o)
{
    rc_source_opts_default(o);
    o->max_attempts = 3;
    o->backoff_base_s = 0.01;
    o->backoff_cap_s = 0.05;
    o->timeout_s = 10;
    o->connect_timeout_s = 2;
    o->stall_timeout_s = 1;
}

static rc_source *open_fdsn(const rc_source_opts *o)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", g_port);
    return open_url(url, o);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define SPAN_FROM "2019-04-14T03:10:00Z"
#define SPAN_TO "2019-04-14T03:12:00Z"

static void hove3(rc_fetch_line *l)
{
    l[0] = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    l[1] = L("HV.HOVE..HHN", SPAN_FROM, SPAN_TO);
    l[2] = L("HV.HOVE..HHE", SPAN_FROM, SPAN_TO);
}

/* ---- pure ---------------------------------------------------------------- */

Test(source, post_body_exact)
{
    rc_fetch_line l[2];
    memset(l, 0, sizeof l);
    rc_chan_parse("HV.UWE..HHZ", &l[0].chan, NULL);
    l[0].start = T("2025-11-04T22:00:00Z");
    l[0].end = T("2025-11-04T22:10:00Z");
    rc_chan_parse("AV.N20K.20.BDF", &l[1].chan, NULL);
    l[1].start = T("2025-12-31T23:59:59Z");
    l[1].end = T("2026-01-01T06:00:00Z");
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_fdsn_post_body(l, 2, &b), RC_OK);
    cr_assert_str_eq(b.data, "HV UWE -- HHZ 2025-11-04T22:00:00 2025-11-04T22:10:00\n"
                             "AV N20K 20 BDF 2025-12-31T23:59:59 2026-01-01T06:00:00\n");
    rc_buf_free(&b);
}

Test(source, opts_default_and_clamp)
{
    rc_source_opts o;
    rc_source_opts_default(&o);
    cr_assert_eq(o.max_connections, 3);
    cr_assert_eq(o.timeout_s, 120);
    cr_assert_eq(o.connect_timeout_s, 10);
    cr_assert_eq(o.stall_timeout_s, 30);
    cr_assert_eq(o.max_attempts, 5);
    cr_assert_eq(o.backoff_base_s, 1.0);
    cr_assert_eq(o.backoff_cap_s, 30);
    cr_assert_eq(o.rate_limit_rps, 0);
    /* 32 MiB: five connections' answers stay well inside a 256 Mi pod */
    cr_assert_eq(o.max_body_bytes, (size_t)32 * 1024 * 1024);
    cr_assert_leq(RC_SOURCE_MAX_CONNECTIONS * o.max_body_bytes, (size_t)160 * 1024 * 1024);
    cr_assert_null(o.ca_bundle);
    o.max_connections = 9;
    rc_source *s = open_url("http://127.0.0.1:9", &o);
    cr_assert_eq(rc_source_options(s)->max_connections, RC_SOURCE_MAX_CONNECTIONS);
    cr_assert_str_eq(rc_source_describe(s), "http://127.0.0.1:9");
    rc_source_close(s);
}

Test(source, open_rejects_bad_urls)
{
    rc_source *s = NULL;
    rc_err e;
    cr_assert_eq(rc_source_open("ftp://example.org", NULL, &s, &e), RC_EINVAL);
    cr_assert_null(s);
    cr_assert(strstr(e.msg, "'ftp://example.org' is not supported"), "%s", e.msg);
    cr_assert(strstr(e.msg, "sds:///"), "%s", e.msg);
    cr_assert_eq(rc_source_open("sds:///nonexistent/r2cache-archive", NULL, &s, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "SDS archive /nonexistent/r2cache-archive"), "%s", e.msg);
    cr_assert(strstr(e.msg, "No such file or directory"), "%s", e.msg);
    cr_assert_eq(rc_source_open("sds://relative/path", NULL, &s, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "absolute path"), "%s", e.msg);
}

/* ---- SDS ------------------------------------------------------------------ */

Test(source, sds_returns_exactly_the_overlapping_records, .init = setup_sds, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_source *s = open_sds();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    rc_buf want = RC_BUF_INIT;
    size_t nrec = expected(HOVE("Z"), &l, &want);
    cr_assert(nrec > 10 && nrec < 205, "%zu records", nrec);
    got g = {0};
    fetch1(s, &l, 1, &g);
    cr_assert_eq(g.res[0].status, RC_OK, "%s", g.res[0].err.msg);
    cr_assert_eq(g.res[0].data.len, nrec * 512);
    assert_bytes_eq(&g.res[0].data, &want);
    cr_assert_eq(g.res[0].http_status, 0);
    got_free(&g);

    /* A span covering the whole file gives back the file. */
    l = L("HV.HOVE..HHZ", "2019-04-14T03:00:00Z", "2019-04-14T04:00:00Z");
    rc_buf file = RC_BUF_INIT;
    char *p = rc_test_mseed_path(HOVE("Z"));
    rc_test_read_file(p, &file);
    free(p);
    fetch1(s, &l, 1, &g);
    assert_bytes_eq(&g.res[0].data, &file);
    got_free(&g);
    rc_buf_free(&file);
    rc_buf_free(&want);
    rc_source_close(s);
}

Test(source, sds_missing_day_and_channel_is_nodata, .init = setup_sds, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_source *s = open_sds();
    rc_fetch_line l[3] = {L("HV.HOVE..HHZ", "2019-04-20T00:00:00Z", "2019-04-20T00:10:00Z"),
                          L("HV.NOPE..HHZ", SPAN_FROM, SPAN_TO),
                          /* Same day, hours before the data. */
                          L("HV.HOVE..HHZ", "2019-04-14T01:00:00Z", "2019-04-14T01:10:00Z")};
    for (int i = 0; i < 3; i++) {
        got g = {0};
        fetch1(s, &l[i], 1, &g);
        cr_assert_eq(g.res[0].status, RC_ENODATA, "line %d: %d %s", i, g.res[0].status,
                     g.res[0].err.msg);
        cr_assert_eq(g.res[0].data.len, 0);
        got_free(&g);
    }
    rc_source_close(s);
}

Test(source, sds_reads_the_previous_day_and_across_midnight, .init = setup_sds, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    char p365[4200], p001[4200];
    snprintf(p365, sizeof p365, "%s/2007/BW/BGLD/EHE.D/BW.BGLD..EHE.D.2007.365", g_sds);
    snprintf(p001, sizeof p001, "%s/2008/BW/BGLD/EHE.D/BW.BGLD..EHE.D.2008.001", g_sds);
    struct stat st;
    cr_assert_eq(stat(p365, &st), 0, "the archive should hold the record from 2007-12-31");
    cr_assert_eq(stat(p001, &st), 0);
    rc_source *s = open_sds();

    /* The first record starts at 23:59:59.915 and lives in the 2007 file. */
    rc_fetch_line l = L("BW.BGLD..EHE", "2008-01-01T00:00:00Z", "2008-01-01T00:00:01Z");
    rc_buf want = RC_BUF_INIT;
    cr_assert_eq(expected("gaps.mseed", &l, &want), 1);
    got g = {0};
    fetch1(s, &l, 1, &g);
    cr_assert_eq(g.res[0].status, RC_OK, "%s", g.res[0].err.msg);
    assert_bytes_eq(&g.res[0].data, &want);
    got_free(&g);
    rc_buf_reset(&want);

    l = L("BW.BGLD..EHE", "2007-12-31T23:59:00Z", "2008-01-01T00:01:00Z");
    size_t n = expected("gaps.mseed", &l, &want);
    cr_assert(n > 10, "%zu", n);
    fetch1(s, &l, 1, &g);
    assert_bytes_eq(&g.res[0].data, &want);
    got_free(&g);
    rc_buf_free(&want);
    rc_source_close(s);
}

Test(source, sds_many_requests_in_order_and_bad_codes, .init = setup_sds, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_source *s = open_sds();
    rc_fetch_line l[3];
    hove3(l);
    rc_fetch_line bad;
    memset(&bad, 0, sizeof bad);
    strcpy(bad.chan.net, "HV");
    strcpy(bad.chan.sta, "..");
    strcpy(bad.chan.cha, "HHZ");
    bad.start = l[0].start;
    bad.end = l[0].end;
    rc_fetch_req r[3] = {{l, 3}, {&bad, 1}, {l + 2, 1}};
    got g = {0};
    rc_err e;
    cr_assert_eq(rc_source_fetch_many(s, r, 3, collect, &g, &e), RC_OK);
    cr_assert_eq(g.n, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(g.idx[i], (size_t)i);
    rc_buf want = RC_BUF_INIT;
    expected(HOVE("Z"), &l[0], &want);
    expected(HOVE("N"), &l[1], &want);
    expected(HOVE("E"), &l[2], &want);
    assert_bytes_eq(&g.res[0].data, &want);
    cr_assert_eq(g.res[1].status, RC_EINVAL);
    cr_assert_eq(g.res[2].status, RC_OK);
    got_free(&g);

    g.stop_after = 1;
    cr_assert_eq(rc_source_fetch_many(s, r, 3, collect, &g, &e), RC_EINTR);
    cr_assert_eq(g.n, 1);
    got_free(&g);
    rc_buf_free(&want);
    rc_source_close(s);
}

/* ---- FDSN against tests/fdsn_server.py --------------------------------------- */

Test(source, fdsn_bulk_three_channels, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l[3];
    hove3(l);
    rc_buf want = RC_BUF_INIT;
    sds_answer(l, 3, &want);
    rc_source_opts o;
    fast_opts(&o);
    rc_source *s = open_fdsn(&o);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", g_port);
    cr_assert_str_eq(rc_source_describe(s), url);
    control("{}");
    got g = {0};
    fetch1(s, l, 3, &g);
    cr_assert_eq(g.res[0].status, RC_OK, "%s", g.res[0].err.msg);
    cr_assert_eq(g.res[0].http_status, 200);
    cr_assert_eq(g.res[0].attempts, 1);
    cr_assert_eq(g.res[0].requests, 1);
    assert_bytes_eq(&g.res[0].data, &want);

    cJSON *j = stats();
    cr_assert_eq(cJSON_GetObjectItem(j, "requests")->valueint, 1);
    cr_assert_eq(cJSON_GetObjectItem(j, "lines")->valueint, 3);
    cJSON *bodies = cJSON_GetObjectItem(j, "bodies");
    rc_buf body = RC_BUF_INIT;
    rc_fdsn_post_body(l, 3, &body);
    cr_assert_str_eq(cJSON_GetArrayItem(bodies, 0)->valuestring, body.data);
    cJSON *h = cJSON_GetObjectItem(j, "last_headers");
    cr_assert_str_eq(cJSON_GetObjectItem(h, "user-agent")->valuestring, "r2cache/" R2CACHE_VERSION);
    cr_assert_null(cJSON_GetObjectItem(h, "expect"));
    cJSON_Delete(j);
    rc_buf_free(&body);
    got_free(&g);
    rc_buf_free(&want);
    rc_source_close(s);
}

Test(source, fdsn_server_get_and_malformed_body, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    rc_buf want = RC_BUF_INIT, b = RC_BUF_INIT;
    sds_answer(&l, 1, &want);
    cr_assert_eq(http("GET",
                      "/fdsnws/dataselect/1/query?net=HV&sta=HOVE&loc=--&cha=HHZ"
                      "&start=2019-04-14T03:10:00&end=2019-04-14T03:12:00",
                      NULL, &b),
                 200);
    assert_bytes_eq(&b, &want);
    rc_buf_reset(&b);
    cr_assert_eq(http("POST", "/fdsnws/dataselect/1/query", "HV HOVE -- HHZ yesterday\n", &b), 400);
    cr_assert(strstr(b.data, "line 1: expected 'NET STA LOC CHA START END'"), "%s", b.data);
    rc_buf_free(&b);
    rc_buf_free(&want);
}

Test(source, fdsn_server_reads_little_endian_records, .init = setup_server_le, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("NL.HGN.00.BHZ", "2003-05-29T02:13:00Z", "2003-05-29T02:20:00Z");
    rc_buf file = RC_BUF_INIT;
    char *p = rc_test_mseed_path("endiantest.le-header.le-data.mseed");
    rc_test_read_file(p, &file);
    free(p);
    rc_buf want = RC_BUF_INIT;
    cr_assert_eq(expected("endiantest.le-header.le-data.mseed", &l, &want), 2);
    assert_bytes_eq(&want, &file);
    rc_buf sds = RC_BUF_INIT;
    sds_answer(&l, 1, &sds);
    assert_bytes_eq(&sds, &file);
    rc_source_opts o;
    fast_opts(&o);
    rc_source *s = open_fdsn(&o);
    got g = {0};
    fetch1(s, &l, 1, &g);
    cr_assert_eq(g.res[0].status, RC_OK, "%s", g.res[0].err.msg);
    assert_bytes_eq(&g.res[0].data, &file);
    got_free(&g);
    /* A late span overlaps only the second of the two records. */
    rc_buf_reset(&want);
    l = L("NL.HGN.00.BHZ", "2003-05-29T02:18:00Z", "2003-05-29T02:19:00Z");
    cr_assert_eq(expected("endiantest.le-header.le-data.mseed", &l, &want), 1);
    fetch1(s, &l, 1, &g);
    assert_bytes_eq(&g.res[0].data, &want);
    got_free(&g);
    rc_source_close(s);
    rc_buf_free(&sds);
    rc_buf_free(&want);
    rc_buf_free(&file);
}

Test(source, fdsn_204_and_404_are_nodata, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_source_opts o;
    fast_opts(&o);
    rc_source *s = open_fdsn(&o);
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    const char *faults[] = {"{\"faults\":[\"204\"]}", "{\"faults\":[\"404\"]}"};
    int codes[] = {204, 404};
    for (int i = 0; i < 2; i++) {
        control(faults[i]);
        got g = {0};
        fetch1(s, &l, 1, &g);
        cr_assert_eq(g.res[0].status, RC_ENODATA, "%s: %s", faults[i], g.res[0].err.msg);
        cr_assert_eq(g.res[0].http_status, codes[i]);
        cr_assert_eq(g.res[0].attempts, 1);
        got_free(&g);
    }
    /* Real absence of data: the server's own 204. */
    control("{}");
    l = L("HV.HOVE..HHZ", "2019-04-20T00:00:00Z", "2019-04-20T00:10:00Z");
    got g = {0};
    fetch1(s, &l, 1, &g);
    cr_assert_eq(g.res[0].status, RC_ENODATA);
    cr_assert_eq(g.res[0].http_status, 204);
    got_free(&g);
    rc_source_close(s);
}

Test(source, fdsn_413_splits_lines_then_time, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l[3];
    hove3(l);
    rc_buf want = RC_BUF_INIT;
    sds_answer(l, 3, &want);
    rc_source_opts o;
    fast_opts(&o);
    rc_source *s = open_fdsn(&o);

    /* 3 lines -> 413 -> [Z] + [N E] -> 413 -> [N] + [E]: five requests. */
    control("{\"max_lines\":1}");
    got g = {0};
    fetch1(s, l, 3, &g);
    cr_assert_eq(g.res[0].status, RC_OK, "%s", g.res[0].err.msg);
    assert_bytes_eq(&g.res[0].data, &want);
    cr_assert_eq(g.res[0].requests, 5);
    cr_assert_eq(g.res[0].attempts, 5);
    cr_assert_eq(stat_int("requests"), 5);
    cr_assert_eq(stat_int("lines"), 3 + 1 + 2 + 1 + 1);
    got_free(&g);

    /* One line: its span is halved at a whole second (03:11:00). */
    control("{\"max_lines\":0,\"faults\":[\"413\"]}");
    rc_fetch_line h[2] = {L("HV.HOVE..HHZ", SPAN_FROM, "2019-04-14T03:11:00Z"),
                          L("HV.HOVE..HHZ", "2019-04-14T03:11:00Z", SPAN_TO)};
    rc_buf_reset(&want);
    sds_answer(h, 2, &want);
    fetch1(s, l, 1, &g);
    cr_assert_eq(g.res[0].status, RC_OK, "%s", g.res[0].err.msg);
    cr_assert_eq(g.res[0].requests, 3);
    assert_bytes_eq(&g.res[0].data, &want);
    cJSON *j = stats();
    cJSON *bodies = cJSON_GetObjectItem(j, "bodies");
    /* The halves run concurrently: either may reach the server first. */
    const char *b1 = cJSON_GetArrayItem(bodies, 1)->valuestring;
    const char *b2 = cJSON_GetArrayItem(bodies, 2)->valuestring;
    if (strcmp(b1, b2) > 0) {
        const char *t = b1;
        b1 = b2;
        b2 = t;
    }
    cr_assert_str_eq(b1, "HV HOVE -- HHZ 2019-04-14T03:10:00 2019-04-14T03:11:00\n");
    cr_assert_str_eq(b2, "HV HOVE -- HHZ 2019-04-14T03:11:00 2019-04-14T03:12:00\n");
    cJSON_Delete(j);
    got_free(&g);

    /* All parts without data: no data, not an error. */
    control("{\"faults\":[\"413\",\"204\",\"204\"]}");
    fetch1(s, l, 2, &g);
    cr_assert_eq(g.res[0].status, RC_ENODATA, "%s", g.res[0].err.msg);
    cr_assert_eq(g.res[0].requests, 3);
    got_free(&g);
    rc_buf_free(&want);
    rc_source_close(s);
}

Test(source, fdsn_transient_failures_are_retried, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    rc_buf want = RC_BUF_INIT;
    sds_answer(&l, 1, &want);
    const char *faults[] = {"429",   "500",      "502",        "503",  "504",    "408",
                            "reset", "truncate", "cut-record", "half", "stall:3"};
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) {
        /* A fresh source per case: a fresh connection, so curl's own
         * silent retry on a dead reused connection cannot hide a reset. */
        rc_source_opts o;
        fast_opts(&o);
        rc_source *s = open_fdsn(&o);
        char js[128];
        snprintf(js, sizeof js, "{\"faults\":[\"%s\"]}", faults[i]);
        control(js);
        got g = {0};
        fetch1(s, &l, 1, &g);
        cr_assert_eq(g.res[0].status, RC_OK, "%s: %s", faults[i], g.res[0].err.msg);
        cr_assert_eq(g.res[0].attempts, 2, "%s: %d attempts", faults[i], g.res[0].attempts);
        cr_assert_eq(g.res[0].requests, 1);
        cr_assert_eq(stat_int("requests"), 2, "%s", faults[i]);
        assert_bytes_eq(&g.res[0].data, &want);
        got_free(&g);
        rc_source_close(s);
    }
    rc_buf_free(&want);
}

Test(source, fdsn_retry_after_is_honoured_within_the_cap, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    rc_source_opts o;
    fast_opts(&o);
    o.backoff_cap_s = 5;
    rc_source *s = open_fdsn(&o);
    control("{\"faults\":[\"429:retry-after=1\"]}");
    got g = {0};
    double t0 = now_s();
    fetch1(s, &l, 1, &g);
    double dt = now_s() - t0;
    cr_assert_eq(g.res[0].status, RC_OK, "%s", g.res[0].err.msg);
    cr_assert_eq(g.res[0].attempts, 2);
    cr_assert(dt >= 0.95 && dt < 3, "took %.3f s", dt);
    got_free(&g);
    rc_source_close(s);

    /* The cap bounds what the server asks for. */
    o.backoff_cap_s = 0.2;
    s = open_fdsn(&o);
    control("{\"faults\":[\"503:retry-after=30\"]}");
    t0 = now_s();
    fetch1(s, &l, 1, &g);
    dt = now_s() - t0;
    cr_assert_eq(g.res[0].status, RC_OK, "%s", g.res[0].err.msg);
    cr_assert(dt >= 0.15 && dt < 0.9, "took %.3f s", dt);
    got_free(&g);
    rc_source_close(s);
}

Test(source, fdsn_gives_up_after_max_attempts, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    rc_source_opts o;
    fast_opts(&o);
    rc_source *s = open_fdsn(&o);
    control("{\"faults\":[\"503\",\"503\",\"503\",\"503\"]}");
    got g = {0};
    fetch1(s, &l, 1, &g);
    cr_assert_eq(g.res[0].status, RC_EIO);
    cr_assert_eq(g.res[0].attempts, 3);
    cr_assert_eq(g.res[0].http_status, 503);
    cr_assert_eq(g.res[0].data.len, 0);
    const char *m = g.res[0].err.msg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/fdsnws/dataselect/1/query", g_port);
    cr_assert(strstr(m, url), "%s", m);
    cr_assert(strstr(m, "HTTP 503"), "%s", m);
    cr_assert(strstr(m, "after 3 attempts"), "%s", m);
    cr_assert(strstr(m, "HV.HOVE..HHZ"), "%s", m);
    cr_assert_eq(stat_int("requests"), 3);
    got_free(&g);
    rc_source_close(s);
}

Test(source, fdsn_client_errors_fail_fast, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    rc_source_opts o;
    fast_opts(&o);
    rc_source *s = open_fdsn(&o);
    const char *faults[] = {"{\"faults\":[\"400\"]}", "{\"faults\":[\"403\"]}"};
    int status[] = {RC_EINVAL, RC_EAUTH};
    const char *line[] = {"HTTP 400: Error 400: Bad Request", "HTTP 403: Error 403: Forbidden"};
    for (int i = 0; i < 2; i++) {
        control(faults[i]);
        got g = {0};
        fetch1(s, &l, 1, &g);
        cr_assert_eq(g.res[0].status, status[i], "%s", g.res[0].err.msg);
        cr_assert_eq(g.res[0].attempts, 1);
        cr_assert(strstr(g.res[0].err.msg, line[i]), "%s", g.res[0].err.msg);
        cr_assert_eq(stat_int("requests"), 1);
        got_free(&g);
    }
    rc_source_close(s);
}

Test(source, fdsn_max_connections, .init = setup_server_slow, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_source_opts o;
    fast_opts(&o);
    o.max_connections = 5;
    rc_source *s = open_fdsn(&o);
    control("{}");
    rc_fetch_line l[10];
    rc_fetch_req r[10];
    for (int i = 0; i < 10; i++) {
        char a[32], b[32];
        snprintf(a, sizeof a, "2019-04-14T03:%02d:00Z", 9 + i / 2);
        snprintf(b, sizeof b, "2019-04-14T03:%02d:30Z", 9 + i / 2);
        l[i] = L(i % 2 ? "HV.HOVE..HHN" : "HV.HOVE..HHZ", a, b);
        r[i].lines = &l[i];
        r[i].n = 1;
    }
    got g = {0};
    rc_err e;
    double t0 = now_s();
    cr_assert_eq(rc_source_fetch_many(s, r, 10, collect, &g, &e), RC_OK, "%s", e.msg);
    double dt = now_s() - t0;
    cr_assert_eq(g.n, 10);
    for (size_t i = 0; i < 10; i++)
        cr_assert_eq(by_index(&g, i)->status, RC_OK, "request %zu: %s", i,
                     by_index(&g, i)->err.msg);
    int maxc = stat_int("max_concurrent");
    cr_assert(maxc > 1 && maxc <= 5, "max_concurrent %d", maxc);
    cr_assert(dt >= 0.55, "10 requests of 300 ms over 5 connections took only %.3f s", dt);
    cr_assert_eq(stat_int("requests"), 10);
    got_free(&g);

    /* The callback can stop the run. */
    g.stop_after = 2;
    cr_assert_eq(rc_source_fetch_many(s, r, 10, collect, &g, &e), RC_EINTR);
    cr_assert_eq(g.n, 2);
    got_free(&g);
    rc_source_close(s);
}

Test(source, fdsn_rate_limit, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_source_opts o;
    fast_opts(&o);
    o.max_connections = 5;
    o.rate_limit_rps = 10;
    rc_source *s = open_fdsn(&o);
    control("{}");
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, "2019-04-14T03:10:10Z");
    rc_fetch_req r[5] = {{&l, 1}, {&l, 1}, {&l, 1}, {&l, 1}, {&l, 1}};
    got g = {0};
    rc_err e;
    double t0 = now_s();
    cr_assert_eq(rc_source_fetch_many(s, r, 5, collect, &g, &e), RC_OK, "%s", e.msg);
    double dt = now_s() - t0;
    cr_assert_eq(g.n, 5);
    /* Five starts at most 10 per second: the last one no sooner than 0.4 s. */
    cr_assert(dt >= 0.38 && dt < 2, "took %.3f s", dt);
    cr_assert_eq(stat_int("requests"), 5);
    got_free(&g);
    rc_source_close(s);
}

Test(source, fdsn_body_limit, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    rc_source_opts o;
    fast_opts(&o);
    o.max_body_bytes = 1000;
    rc_source *s = open_fdsn(&o);
    control("{}");
    got g = {0};
    fetch1(s, &l, 1, &g);
    cr_assert_eq(g.res[0].status, RC_EIO);
    cr_assert_eq(g.res[0].attempts, 1);
    cr_assert(strstr(g.res[0].err.msg,
                     "exceeds the 1000-byte answer limit (max_body_bytes, set by "
                     "fetch.max_body_mib): ask for shorter spans or raise fetch.max_body_mib"),
              "%s", g.res[0].err.msg);
    cr_assert_null(strstr(g.res[0].err.msg, "raise the limit"));
    got_free(&g);
    rc_source_close(s);
}

Test(source, fdsn_connection_refused)
{
    /* A port that was free a moment ago: nothing listens there. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    rc_source_opts o;
    fast_opts(&o);
    o.max_attempts = 2;
    rc_source *s = open_url(url, &o);
    rc_fetch_line l;
    memset(&l, 0, sizeof l);
    rc_chan_parse("HV.HOVE..HHZ", &l.chan, NULL);
    l.start = 1555211400;
    l.end = l.start + 600;
    got g = {0};
    fetch1(s, &l, 1, &g);
    /* nothing listens: the source is unusable (exit 3), after the retries */
    cr_assert_eq(g.res[0].status, RC_EUNUSABLE, "%d: %s", g.res[0].status, g.res[0].err.msg);
    cr_assert_eq(g.res[0].attempts, 2);
    cr_assert_eq(g.res[0].http_status, 0);
    const char *m = g.res[0].err.msg;
    cr_assert(strstr(m, url), "%s", m);
    cr_assert(strstr(m, "Couldn't connect to server"), "%s", m);
    cr_assert(strstr(m, "gave up after 2 attempts; the source cannot be used: check the host "
                        "name and port in the source URL"),
              "%s", m);
    got_free(&g);
    rc_source_close(s);
}

/* ---- answers that are not data (issue 12) ----------------------------------- */

/* One request, a fresh source on url, the server primed with faults (JSON
 * array text); the single result goes to g. */
static void fetch_faulted(const char *url, const char *faults, int max_attempts,
                          const rc_fetch_line *l, got *g)
{
    rc_source_opts o;
    fast_opts(&o);
    o.max_attempts = max_attempts;
    rc_source *s = open_url(url, &o);
    char js[4500];
    snprintf(js, sizeof js, "{\"faults\": %s}", faults);
    control(js);
    fetch1(s, l, 1, g);
    rc_source_close(s);
}

static void base_url(char *out, size_t n)
{
    snprintf(out, n, "http://127.0.0.1:%d", g_port);
}

static void assert_has(const char *msg, const char *part)
{
    cr_assert(strstr(msg, part), "message lacks \"%s\":\n%s", part, msg);
}

Test(source, fdsn_html_and_text_pages_are_format_errors_not_nodata, .init = setup_server,
     .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    char url[64], q[256];
    base_url(url, sizeof url);
    snprintf(q, sizeof q, "FDSN dataselect %s/fdsnws/dataselect/1/query, asked for HV.HOVE..HHZ",
             url);
    got g = {0};
    fetch_faulted(url, "[\"html\", \"html\", \"html\"]", 3, &l, &g);
    const char *m = g.res[0].err.msg;
    cr_assert_eq(g.res[0].status, RC_EFORMAT, "%d: %s", g.res[0].status, m);
    cr_assert_eq(g.res[0].http_status, 200);
    cr_assert_eq(g.res[0].data.len, 0);
    /* not retried: an HTML page is what that URL serves */
    cr_assert_eq(g.res[0].attempts, 1);
    cr_assert_eq(stat_int("requests"), 1);
    assert_has(m, q);
    assert_has(m, "the data centre answered an HTML page (text/html), not miniSEED: starts "
                  "\"<!DOCTYPE html> <html><head><title>Seism...\"; check --source: it takes the "
                  "data centre's base URL, e.g. https://service.iris.edu");
    got_free(&g);

    fetch_faulted(url, "[\"text\"]", 3, &l, &g);
    m = g.res[0].err.msg;
    cr_assert_eq(g.res[0].status, RC_EFORMAT, "%d: %s", g.res[0].status, m);
    cr_assert_eq(g.res[0].attempts, 1);
    assert_has(m, "the data centre answered text (text/plain), not miniSEED: starts \"Service is "
                  "up. Try again with a proper r...\"");
    got_free(&g);
}

Test(source, fdsn_bytes_before_the_first_record_are_named, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    char url[64];
    base_url(url, sizeof url);
    got g = {0};
    fetch_faulted(url, "[\"garbage-prefix\"]", 3, &l, &g);
    const char *m = g.res[0].err.msg;
    cr_assert_eq(g.res[0].status, RC_EFORMAT, "%d: %s", g.res[0].status, m);
    cr_assert_eq(g.res[0].attempts, 1);
    cr_assert_eq(stat_int("requests"), 1);
    assert_has(m, "the answer (application/vnd.fdsn.mseed) is not whole miniSEED 2: 56 bytes that "
                  "are not miniSEED before the first record (at byte offset 56): starts "
                  "\"--frontier Content-Type: application/vnd...\"; the data centre (or a proxy "
                  "in between) adds bytes to its answers");
    got_free(&g);
}

Test(source, fdsn_miniseed3_is_refused_by_name, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    char *v3 = rc_test_mseed_path("testdata-COLA-signal.mseed3");
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    char url[64], faults[4400];
    base_url(url, sizeof url);
    snprintf(faults, sizeof faults, "[\"mseed3:%s\"]", v3);
    got g = {0};
    fetch_faulted(url, faults, 3, &l, &g);
    const char *m = g.res[0].err.msg;
    cr_assert_eq(g.res[0].status, RC_EFORMAT, "%d: %s", g.res[0].status, m);
    cr_assert_eq(g.res[0].attempts, 1);
    cr_assert_eq(stat_int("requests"), 1);
    assert_has(m, "the data centre answered miniSEED 3 (record at byte offset 0, "
                  "application/vnd.fdsn.mseed), not miniSEED 2: libmseed 2 reads miniSEED 2 only; "
                  "ask the data centre for format=miniseed (miniSEED 2)");
    got_free(&g);
    free(v3);
}

/* The answer the server gives when nothing is wrong: its size and the
 * offset of its last record (every HOVE record is 512 bytes). */
static size_t hove_answer_len(const rc_fetch_line *l)
{
    rc_buf want = RC_BUF_INIT;
    sds_answer(l, 1, &want);
    size_t n = want.len;
    rc_buf_free(&want);
    cr_assert(n > 1024 && n % 512 == 0, "%zu", n);
    return n;
}

Test(source, fdsn_cut_answers_are_retried_then_fail_as_io, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    size_t n = hove_answer_len(&l);
    char url[64], want[512];
    base_url(url, sizeof url);

    /* the last record cut in half, Content-Length matching the cut body */
    got g = {0};
    fetch_faulted(url, "[\"cut-record\", \"cut-record\", \"cut-record\", \"cut-record\"]", 3, &l,
                  &g);
    const char *m = g.res[0].err.msg;
    cr_assert_eq(g.res[0].status, RC_EIO, "%d: %s", g.res[0].status, m);
    cr_assert_eq(g.res[0].data.len, 0);
    cr_assert_eq(g.res[0].attempts, 3);
    cr_assert_eq(stat_int("requests"), 3);
    snprintf(want, sizeof want,
             "FDSN dataselect %s/fdsnws/dataselect/1/query failed for HV.HOVE..HHZ "
             "2019-04-14T03:10:00Z..2019-04-14T03:12:00Z: answer cut short at byte %zu, in the "
             "record starting at byte offset %zu (256 of 512 bytes), gave up after 3 attempts; "
             "the data centre (or a proxy) cuts its answers short",
             url, n - 256, n - 512);
    assert_has(m, want);
    got_free(&g);

    /* Content-Length of the whole, half of it sent */
    fetch_faulted(url, "[\"half\", \"half\", \"half\"]", 3, &l, &g);
    m = g.res[0].err.msg;
    cr_assert_eq(g.res[0].status, RC_EIO, "%d: %s", g.res[0].status, m);
    cr_assert_eq(g.res[0].attempts, 3);
    cr_assert_eq(stat_int("requests"), 3);
    snprintf(want, sizeof want,
             "answer cut short at byte %zu of the %zu announced (Content-Length)", n / 2, n);
    assert_has(m, want);
    assert_has(m, "gave up after 3 attempts");
    got_free(&g);
}

Test(source, fdsn_404_is_nodata_only_as_an_fdsn_error_document, .init = setup_server,
     .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    char url[64], want[512];
    base_url(url, sizeof url);
    /* the FDSN error document ("Error 404: Not Found ...") */
    got g = {0};
    fetch_faulted(url, "[\"404\"]", 3, &l, &g);
    cr_assert_eq(g.res[0].status, RC_ENODATA, "%s", g.res[0].err.msg);
    got_free(&g);
    rc_buf b = RC_BUF_INIT;
    control("{\"faults\": [\"404\"]}");
    cr_assert_eq(http("POST", "/fdsnws/dataselect/1/query",
                      "HV HOVE -- HHZ 2019-04-14T03:10:00 2019-04-14T03:12:00\n", &b),
                 404);
    cr_assert(strncmp(b.data, "Error 404: Not Found\n\n", 22) == 0, "%s", b.data);
    assert_has(b.data, "\n\nRequest:\n/fdsnws/dataselect/1/query\n\nRequest Submitted:\n");
    rc_buf_free(&b);

    /* a web server's page: the URL is wrong, not the data absent */
    fetch_faulted(url, "[\"plain404\", \"plain404\"]", 3, &l, &g);
    const char *m = g.res[0].err.msg;
    cr_assert_eq(g.res[0].status, RC_EUNUSABLE, "%d: %s", g.res[0].status, m);
    cr_assert_eq(g.res[0].http_status, 404);
    cr_assert_eq(g.res[0].attempts, 1);
    cr_assert_eq(stat_int("requests"), 1);
    snprintf(want, sizeof want,
             "FDSN dataselect %s/fdsnws/dataselect/1/query answered 404 Not Found for "
             "HV.HOVE..HHZ 2019-04-14T03:10:00Z..2019-04-14T03:12:00Z with a web page "
             "(text/html, starts \"<html> <head><title>404 Not Found</title...\"), not an "
             "FDSN no-data answer: there is no dataselect service at this URL; check --source: "
             "it takes the data centre's base URL, e.g. https://service.iris.edu (r2cache "
             "appends /fdsnws/dataselect/1/query)",
             url);
    cr_assert_str_eq(m, want);
    got_free(&g);

    /* a base URL with a wrong prefix reaches the server's own plain 404 */
    char wrong[128];
    snprintf(wrong, sizeof wrong, "%s/fdsn", url);
    fetch_faulted(wrong, "[]", 3, &l, &g);
    cr_assert_eq(g.res[0].status, RC_EUNUSABLE, "%d: %s", g.res[0].status, g.res[0].err.msg);
    assert_has(g.res[0].err.msg, "/fdsn/fdsnws/dataselect/1/query answered 404 Not Found");
    got_free(&g);
}

Test(source, fdsn_refused_credentials_are_auth_errors, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    char url[64];
    base_url(url, sizeof url);
    const char *faults[] = {"[\"401\", \"401\"]", "[\"403\", \"403\"]"};
    const char *line[] = {"with HTTP 401: Error 401: Unauthorized; the data centre refused access",
                          "with HTTP 403: Error 403: Forbidden; the data centre refused access"};
    for (int i = 0; i < 2; i++) {
        got g = {0};
        fetch_faulted(url, faults[i], 3, &l, &g);
        cr_assert_eq(g.res[0].status, RC_EAUTH, "%d: %s", g.res[0].status, g.res[0].err.msg);
        cr_assert_eq(g.res[0].attempts, 1);
        cr_assert_eq(stat_int("requests"), 1);
        assert_has(g.res[0].err.msg, line[i]);
        got_free(&g);
    }
}

Test(source, fdsn_unresolvable_host_is_unusable_after_the_retries)
{
    rc_fetch_line l;
    memset(&l, 0, sizeof l);
    rc_chan_parse("HV.HOVE..HHZ", &l.chan, NULL);
    l.start = 1555211400;
    l.end = l.start + 600;
    rc_source_opts o;
    fast_opts(&o);
    o.max_attempts = 2;
    /* .invalid never resolves (RFC 6761) */
    rc_source *s = open_url("http://r2cache-test-host.invalid:8080", &o);
    got g = {0};
    fetch1(s, &l, 1, &g);
    const char *m = g.res[0].err.msg;
    cr_assert_eq(g.res[0].status, RC_EUNUSABLE, "%d: %s", g.res[0].status, m);
    cr_assert_eq(g.res[0].attempts, 2);
    assert_has(m, "FDSN dataselect http://r2cache-test-host.invalid:8080/fdsnws/dataselect/1/query "
                  "failed for HV.HOVE..HHZ");
    assert_has(m, "curl error 6 (Couldn't resolve host name)");
    assert_has(m, "gave up after 2 attempts; the source cannot be used: check the host name and "
                  "port in the source URL, and the network (DNS, firewall, proxy)");
    got_free(&g);
    rc_source_close(s);
}

Test(source, fdsn_pasted_service_urls_are_accepted, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    rc_buf want = RC_BUF_INIT;
    sds_answer(&l, 1, &want);
    const char *tails[] = {"/fdsnws/dataselect/1/query",
                           "/fdsnws/dataselect/1/query/",
                           "/fdsnws/dataselect/1",
                           "/fdsnws/dataselect/1/",
                           "/fdsnws/dataselect",
                           "/fdsnws/",
                           "//"};
    for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
        char url[160];
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_port, tails[i]);
        got g = {0};
        fetch_faulted(url, "[]", 3, &l, &g);
        /* the server answers any other path with a plain 404 */
        cr_assert_eq(g.res[0].status, RC_OK, "%s: %d %s", url, g.res[0].status, g.res[0].err.msg);
        cr_assert_eq(g.res[0].attempts, 1);
        assert_bytes_eq(&g.res[0].data, &want);
        got_free(&g);
    }
    rc_buf_free(&want);
}

Test(source, fdsn_urls_with_a_query_or_another_service_are_refused_with_the_base)
{
    const struct {
        const char *url, *msg;
    } bad[] = {
        {"http://127.0.0.1:9/fdsnws/dataselect/1/query?net=HV&sta=UWE&token=SeCrEt",
         "FDSN source URL 'http://127.0.0.1:9/fdsnws/dataselect/1/query?...' has a query or "
         "fragment: r2cache builds its own requests from the configured channels and times, so "
         "give the data centre's base URL instead: --source http://127.0.0.1:9"},
        {"https://user:pw0rd@example.org/eida/fdsnws/dataselect/1/query?",
         "FDSN source URL 'https://***@example.org/eida/fdsnws/dataselect/1/query?...' has a "
         "query or fragment: r2cache builds its own requests from the configured channels and "
         "times, so give the data centre's base URL instead: --source "
         "https://***@example.org/eida"},
        {"http://127.0.0.1:9/#top",
         "FDSN source URL 'http://127.0.0.1:9/#...' has a query or fragment"},
        {"http://127.0.0.1:9/fdsnws/station/1/query",
         "FDSN source URL 'http://127.0.0.1:9/fdsnws/station/1/query' names "
         "/fdsnws/station/1/query, not the dataselect service: give the data centre's base URL "
         "instead: --source http://127.0.0.1:9 (r2cache appends /fdsnws/dataselect/1/query)"},
        {"http://127.0.0.1:9/fdsnws/dataselect/1/queryauth",
         "names /fdsnws/dataselect/1/queryauth, not the dataselect service"},
        {"http:///fdsnws/dataselect/1/query",
         "FDSN source URL 'http:///fdsnws/dataselect/1/query' must be a base URL such as "
         "https://service.iris.edu: a host, no spaces"},
        {"http://127.0.0.1:9/a b", "must be a base URL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc_source *s = NULL;
        rc_err e;
        rc_err_clear(&e);
        cr_assert_eq(rc_source_open(bad[i].url, NULL, &s, &e), RC_EINVAL, "%s", bad[i].url);
        cr_assert_null(s);
        assert_has(e.msg, bad[i].msg);
        cr_assert_null(strstr(e.msg, "SeCrEt"), "%s", e.msg);
        cr_assert_null(strstr(e.msg, "pw0rd"), "%s", e.msg);
        cr_assert_null(strstr(e.msg, "sta=UWE"), "the query is not echoed: %s", e.msg);
    }
}

Test(source, credentials_in_the_url_never_reach_a_message, .init = setup_server, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_fetch_line l = L("HV.HOVE..HHZ", SPAN_FROM, SPAN_TO);
    char url[128], shown[128], q[192];
    snprintf(url, sizeof url, "http://user:password@127.0.0.1:%d", g_port);
    snprintf(shown, sizeof shown, "http://***@127.0.0.1:%d", g_port);
    snprintf(q, sizeof q, "%s/fdsnws/dataselect/1/query", shown);
    rc_source_opts o;
    fast_opts(&o);
    rc_source *s = open_url(url, &o);
    cr_assert_str_eq(rc_source_describe(s), shown);
    rc_source_close(s);

    /* curl does get the real URL: the server sees the Basic credentials */
    got g = {0};
    fetch_faulted(url, "[]", 2, &l, &g);
    cr_assert_eq(g.res[0].status, RC_OK, "%s", g.res[0].err.msg);
    got_free(&g);
    cJSON *j = stats();
    cJSON *h = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "last_headers"), "authorization");
    cr_assert(cJSON_IsString(h));
    cr_assert_str_eq(h->valuestring, "Basic dXNlcjpwYXNzd29yZA=="); /* user:password */
    cJSON_Delete(j);

    const char *faults[] = {"[\"plain404\"]",       "[\"503\", \"503\"]",
                            "[\"html\"]",           "[\"cut-record\", \"cut-record\"]",
                            "[\"half\", \"half\"]", "[\"401\"]",
                            "[\"garbage-prefix\"]", "[\"text\"]"};
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) {
        fetch_faulted(url, faults[i], 2, &l, &g);
        const char *m = g.res[0].err.msg;
        cr_assert_neq(g.res[0].status, RC_OK, "%s", faults[i]);
        cr_assert_null(strstr(m, "password"), "%s: %s", faults[i], m);
        cr_assert_null(strstr(m, "user:"), "%s: %s", faults[i], m);
        assert_has(m, q);
        got_free(&g);
    }
    /* an unreachable one too: curl's own words must not carry it either */
    rc_source *d = open_url("http://user:password@127.0.0.1:9", &o);
    fetch1(d, &l, 1, &g);
    cr_assert_eq(g.res[0].status, RC_EUNUSABLE, "%s", g.res[0].err.msg);
    cr_assert_null(strstr(g.res[0].err.msg, "password"), "%s", g.res[0].err.msg);
    assert_has(g.res[0].err.msg, "http://***@127.0.0.1:9/fdsnws/dataselect/1/query");
    got_free(&g);
    rc_source_close(d);
}

/* ---- SDS: miniSEED 3 and damaged day files ---------------------------------------- */

static void sds_put_day(const char *name, const void *data, size_t len)
{
    char dir[4400], path[4600];
    snprintf(dir, sizeof dir, "%s/2019/XX/BAD/HHZ.D", g_sds);
    mkdirs(dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(rc_test_write_file(path, data, len), 0);
}

Test(source, sds_miniseed3_day_file_is_named_by_its_bytes, .init = setup_sds, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    rc_buf v3 = RC_BUF_INIT;
    char *p = rc_test_mseed_path("testdata-COLA-signal.mseed3");
    cr_assert_eq(rc_test_read_file(p, &v3), 0);
    free(p);
    sds_put_day("XX.BAD..HHZ.D.2019.104", v3.data, v3.len);
    rc_buf_free(&v3);
    rc_source *s = open_sds();
    rc_fetch_line l = L("XX.BAD..HHZ", SPAN_FROM, SPAN_TO);
    got g = {0};
    fetch1(s, &l, 1, &g);
    char want[4800];
    snprintf(want, sizeof want,
             "SDS file %s/2019/XX/BAD/HHZ.D/XX.BAD..HHZ.D.2019.104 holds miniSEED 3 (record at "
             "byte offset 0); libmseed 2 reads miniSEED 2 only: convert the archive to miniSEED 2 "
             "or use an FDSN source that serves miniSEED 2",
             g_sds);
    cr_assert_eq(g.res[0].status, RC_EFORMAT, "%d: %s", g.res[0].status, g.res[0].err.msg);
    cr_assert_str_eq(g.res[0].err.msg, want);
    got_free(&g);
    rc_source_close(s);
}

Test(source, sds_damaged_day_file_names_file_and_offset, .init = setup_sds, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    /* HOVE's records with the last one cut in half */
    rc_buf b = RC_BUF_INIT;
    char *p = rc_test_mseed_path(HOVE("Z"));
    cr_assert_eq(rc_test_read_file(p, &b), 0);
    free(p);
    size_t n = b.len - 256;
    sds_put_day("XX.BAD..HHZ.D.2019.104", b.data, n);
    rc_source *s = open_sds();
    rc_fetch_line l = L("XX.BAD..HHZ", SPAN_FROM, SPAN_TO);
    got g = {0};
    fetch1(s, &l, 1, &g);
    char want[4800];
    snprintf(want, sizeof want,
             "SDS file %s/2019/XX/BAD/HHZ.D/XX.BAD..HHZ.D.2019.104: the record at byte offset %zu "
             "is cut short: 256 of 512 bytes; the file is damaged or not miniSEED 2 (byte offset "
             "%zu of %zu)",
             g_sds, b.len - 512, b.len - 512, n);
    cr_assert_eq(g.res[0].status, RC_EFORMAT, "%d: %s", g.res[0].status, g.res[0].err.msg);
    cr_assert_str_eq(g.res[0].err.msg, want);
    got_free(&g);

    /* text in the middle of the file */
    rc_buf c = RC_BUF_INIT;
    rc_buf_append(&c, b.data, 1024);
    rc_buf_puts(&c, "oops, an editor was here");
    rc_buf_append(&c, b.data + 1024, 1024);
    sds_put_day("XX.BAD..HHZ.D.2019.104", c.data, c.len);
    fetch1(s, &l, 1, &g);
    snprintf(want, sizeof want,
             "SDS file %s/2019/XX/BAD/HHZ.D/XX.BAD..HHZ.D.2019.104: text at byte offset 1024 "
             "after 2 whole records, the next record at byte offset 1048: starts \"oops, an "
             "editor was here\"; the file is damaged or not miniSEED 2 (byte offset 1024 of "
             "2072)",
             g_sds);
    cr_assert_eq(g.res[0].status, RC_EFORMAT);
    cr_assert_str_eq(g.res[0].err.msg, want);
    got_free(&g);
    rc_buf_free(&c);
    rc_buf_free(&b);
    rc_source_close(s);
}

/* ---- end to end: the built r2cache against the test server ------------------------ */

/* One synthetic hour of XX.SRC..HHZ at 10 Hz (six 10-minute windows), a
 * local store and a configuration in a scratch directory; the server runs
 * on the archive. g_sds is the scratch directory, so teardown removes it all. */
static char g_e2e_store[4400], g_e2e_cfg[4400];

#define E2E_SCOPE "--station XX.SRC..HHZ --from 2025-11-04T00:00:00Z --to 2025-11-04T01:00:00Z"

static void setup_e2e(void)
{
    g_sds = rc_test_tmpdir("source-e2e");
    cr_assert(g_sds);
    char sds[4400], cmd[16384];
    snprintf(sds, sizeof sds, "%s/sds", g_sds);
    snprintf(g_e2e_store, sizeof g_e2e_store, "%s/store", g_sds);
    snprintf(g_e2e_cfg, sizeof g_e2e_cfg, "%s/config.json", g_sds);
    snprintf(cmd, sizeof cmd,
             "%s sds --out '%s' --rate 10 --from 2025-11-04T00:00:00Z --to 2025-11-04T01:00:00Z "
             "--chan XX.SRC..HHZ >/dev/null",
             rc_test_bin("r2cache-synth"), sds);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0, "r2cache-synth failed");
    g_pid = rc_test_fdsn_start(sds, NULL, &g_port);
    cr_assert(g_pid > 0, "fdsn_server.py did not start");
    char json[8192];
    snprintf(
        json, sizeof json,
        "{\"source\": \"http://127.0.0.1:%d\", \"store\": \"%s\",\n"
        " \"fetch\": {\"max_attempts\": 2, \"backoff_base_s\": 0.01, \"backoff_cap_s\": 0.05,\n"
        "           \"timeout_s\": 20, \"stall_timeout_s\": 2},\n"
        " \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", \"stations\": [\n"
        "   {\"network\": \"XX\", \"station\": \"SRC\", \"location\": \"\", \"channel\": "
        "\"HHZ\", \"sample_rate\": 10}]}]}\n",
        g_port, g_e2e_store);
    cr_assert_eq(rc_test_write_file(g_e2e_cfg, json, strlen(json)), 0);
}

/* r2cache fill over the hour with --source source (shell-quoted here);
 * stdout and stderr together in *out. Returns the exit status. */
static int e2e_fill(const char *source, const char *more, rc_buf *out)
{
    char args[8192];
    snprintf(args, sizeof args,
             "fill --config '%s' --source '%s' " E2E_SCOPE " --log-format text %s", g_e2e_cfg,
             source, more ? more : "");
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_r2cache(args, out, &err);
    rc_buf_append(out, err.data ? err.data : "", err.len);
    rc_buf_free(&err);
    return rc;
}

static int e2e_chunks(void)
{
    char cmd[4600];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.bin.zst' 2>/dev/null | wc -l", g_e2e_store);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0);
    int n = atoi(out.data ? out.data : "0");
    rc_buf_free(&out);
    return n;
}

static const char *text(const rc_buf *b)
{
    return b->data ? b->data : "";
}

Test(source, e2e_answers_that_are_not_data_exit_1_with_the_message, .init = setup_e2e,
     .fini = teardown)
{
    char url[64];
    base_url(url, sizeof url);
    const struct {
        const char *faults, *msg;
    } cases[] = {
        {"[\"html\"]", "the data centre answered an HTML page (text/html), not miniSEED: starts "
                       "\"<!DOCTYPE html> <html><head><title>Seism...\"; check --source"},
        {"[\"garbage-prefix\"]", "56 bytes that are not miniSEED before the first record (at "
                                 "byte offset 56)"},
        {"[\"cut-record\", \"cut-record\"]", "in the record starting at byte offset"},
        {"[\"half\", \"half\"]", "announced (Content-Length)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char js[256];
        snprintf(js, sizeof js, "{\"faults\": %s}", cases[i].faults);
        control(js);
        rc_buf out = RC_BUF_INIT;
        int rc = e2e_fill(url, NULL, &out);
        cr_assert_eq(rc, 1, "%s: exit %d\n%s", cases[i].faults, rc, text(&out));
        cr_assert(strstr(text(&out), cases[i].msg), "%s: no \"%s\" in\n%s", cases[i].faults,
                  cases[i].msg, text(&out));
        if (strstr(cases[i].faults, "cut") || strstr(cases[i].faults, "half"))
            cr_assert(strstr(text(&out), "answer cut short at byte"), "%s", text(&out));
        cr_assert_eq(e2e_chunks(), 0, "%s: chunks written from a bad answer", cases[i].faults);
        rc_buf_free(&out);
    }
}

/* miniSEED 3 from the data centre, when the real file is there (a visible
 * skip otherwise: Criterion counts a logged warning as a failed run). */
Test(source, e2e_miniseed3_answer_exits_1_by_name, .init = setup_e2e, .fini = teardown)
{
    RC_REQUIRE_MSEED();
    char url[64];
    base_url(url, sizeof url);
    char *v3 = rc_test_mseed_path("testdata-COLA-signal.mseed3");
    cr_assert_not_null(v3);
    char js[4600];
    snprintf(js, sizeof js, "{\"faults\": [\"mseed3:%s\"]}", v3);
    free(v3);
    control(js);
    rc_buf out = RC_BUF_INIT;
    int rc = e2e_fill(url, NULL, &out);
    cr_assert_eq(rc, 1, "exit %d\n%s", rc, text(&out));
    cr_assert(strstr(text(&out), "the data centre answered miniSEED 3"), "%s", text(&out));
    rc_buf_free(&out);
}

Test(source, e2e_pasted_service_url_fills, .init = setup_e2e, .fini = teardown)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/fdsnws/dataselect/1/query", g_port);
    control("{}");
    rc_buf out = RC_BUF_INIT;
    int rc = e2e_fill(url, NULL, &out);
    cr_assert_eq(rc, 0, "exit %d\n%s", rc, text(&out));
    cr_assert_eq(e2e_chunks(), 6, "%s", text(&out));
    cr_assert_eq(stat_int("requests"), 1);
    rc_buf_free(&out);
    /* with a query it is refused before anything is done: exit 2 */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/fdsnws/dataselect/1/query?net=XX", g_port);
    rc = e2e_fill(url, NULL, &out);
    cr_assert_eq(rc, 2, "exit %d\n%s", rc, text(&out));
    char want[256];
    snprintf(want, sizeof want,
             "give the data centre's base URL instead: --source http://127.0.0.1:%d", g_port);
    cr_assert(strstr(text(&out), want), "%s", text(&out));
    rc_buf_free(&out);
}

/* Exit 3 needs the engine to treat RC_EUNUSABLE / RC_EAUTH from the source
 * as fatal, as it does for the store (issue 12, the engine's part). */
Test(source, e2e_unusable_source_exits_3, .init = setup_e2e, .fini = teardown)
{
    char url[64];
    base_url(url, sizeof url);
    /* a web server's 404: the URL is wrong */
    control("{\"faults\": [\"plain404\"]}");
    rc_buf out = RC_BUF_INIT;
    int rc = e2e_fill(url, NULL, &out);
    cr_expect_eq(rc, 3, "plain 404: exit %d\n%s", rc, text(&out));
    cr_expect(strstr(text(&out), "not an FDSN no-data answer: there is no dataselect service at "
                                 "this URL"),
              "%s", text(&out));
    rc_buf_free(&out);
    /* refused credentials */
    control("{\"faults\": [\"401\"]}");
    rc = e2e_fill(url, NULL, &out);
    cr_expect_eq(rc, 3, "401: exit %d\n%s", rc, text(&out));
    cr_expect(strstr(text(&out), "with HTTP 401"), "%s", text(&out));
    rc_buf_free(&out);
    /* nothing listens there; a host that does not resolve */
    control("{}");
    rc = e2e_fill("http://127.0.0.1:9", NULL, &out);
    cr_expect_eq(rc, 3, "refused: exit %d\n%s", rc, text(&out));
    cr_expect(strstr(text(&out), "the source cannot be used"), "%s", text(&out));
    rc_buf_free(&out);
    rc = e2e_fill("http://r2cache-test-host.invalid", NULL, &out);
    cr_expect_eq(rc, 3, "unresolvable: exit %d\n%s", rc, text(&out));
    cr_expect(strstr(text(&out), "Couldn't resolve host name"), "%s", text(&out));
    rc_buf_free(&out);
    cr_assert_eq(e2e_chunks(), 0);
}

Test(source, e2e_password_in_the_source_url_is_never_printed, .init = setup_e2e, .fini = teardown)
{
    char url[160], shown[160];
    snprintf(url, sizeof url, "http://user:password@127.0.0.1:%d", g_port);
    snprintf(shown, sizeof shown, "http://***@127.0.0.1:%d", g_port);
    const char *faults[] = {"[]",
                            "[\"plain404\"]",
                            "[\"html\"]",
                            "[\"503\", \"503\"]",
                            "[\"cut-record\", \"cut-record\"]",
                            "[\"401\"]"};
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) {
        char js[256];
        snprintf(js, sizeof js, "{\"faults\": %s}", faults[i]);
        control(js);
        rc_buf out = RC_BUF_INIT;
        int rc = e2e_fill(url, "--log-level debug --force", &out);
        cr_assert(out.len > 0, "%s: nothing printed", faults[i]);
        cr_assert_null(strstr(text(&out), "password"), "%s: exit %d, the password is printed:\n%s",
                       faults[i], rc, text(&out));
        if (i > 0) {
            cr_assert_neq(rc, 0, "%s", faults[i]);
            cr_assert(strstr(text(&out), shown), "%s: the redacted URL is not named:\n%s",
                      faults[i], text(&out));
        } else {
            cr_assert_eq(rc, 0, "%s", text(&out));
        }
        rc_buf_free(&out);
    }
    /* a refused URL with a query and a token */
    char q[256];
    snprintf(q, sizeof q, "http://user:password@127.0.0.1:%d/fdsnws/dataselect/1/query?token=tok3n",
             g_port);
    rc_buf out = RC_BUF_INIT;
    int rc = e2e_fill(q, NULL, &out);
    cr_assert_eq(rc, 2, "exit %d\n%s", rc, text(&out));
    cr_assert_null(strstr(text(&out), "password"), "%s", text(&out));
    cr_assert_null(strstr(text(&out), "tok3n"), "%s", text(&out));
    rc_buf_free(&out);
}
