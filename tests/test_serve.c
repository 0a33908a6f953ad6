/*
 * test_serve.c: the real built `r2cache serve` on a free port over a real
 * store filled by the real `r2cache fill` from a synthetic SDS archive
 * (tools/synth.c), called over HTTP with libcurl. Every answer that has a
 * command-line twin is compared with the command's output for the same
 * question; every error code, auth, CORS, the job lifecycle and SIGTERM in
 * the middle of a fill are exercised. The archive lies two days back from
 * today so the gap and age endpoints see recent data. The server is stopped
 * by its pid when each test ends, pass or fail (fini).
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/buf.h"
#include "r2cache/timewin.h"
#include "support.h"

#define TOKEN "t0k-Secret-4711"

static char *g_dir;
static char g_sds[4200], g_config[4200], g_store[4200], g_log[4200];
static char g_day1[32], g_day2[32], g_end[32]; /* ISO: two days ago, yesterday, yesterday 12:00 */
static pid_t g_srv = -1, g_fdsn = -1;
static int g_port;

static void make_sds(void)
{
    int64_t today = rc_day_start((int64_t)time(NULL));
    rc_time_iso(today - 2 * 86400, g_day1);
    rc_time_iso(today - 86400, g_day2);
    rc_time_iso(today - 86400 + 12 * 3600, g_end);
    char date[RC_TIME_STR_MAX];
    rc_time_date(today, date);
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/serve-sds-%s", RC_BINARY_DIR, date);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    char gap_a[32], gap_b[32];
    rc_time_iso(today - 2 * 86400 + 3 * 3600, gap_a);
    rc_time_iso(today - 2 * 86400 + 4 * 3600, gap_b);
    const char *synth = rc_test_bin("r2cache-synth");
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && %s sds --out '%s' --rate 10 --from %s --to %s --chan XX.HOL..BHZ && "
             "%s sds --out '%s' --rate 20 --from %s --to %s --chan XX.KIL..HHZ --gap %s/%s && "
             "touch '%s'",
             g_sds, synth, g_sds, g_day1, g_end, synth, g_sds, g_day1, g_end, gap_a, gap_b, marker);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "r2cache-synth failed: %s", err.data ? err.data : "");
    rc_buf_free(&err);
}

/* The configuration: source (sds:// or an FDSN URL), store, serve block. */
static void write_config(const char *config, const char *source, const char *store,
                         const char *serve)
{
    char json[8192];
    snprintf(
        json, sizeof json,
        "{\n  \"source\": \"%s\",\n  \"store\": \"%s\",\n  \"max_connections\": 1,\n"
        "  \"fetch\": {\"max_attempts\": 2, \"backoff_base_s\": 0.05, \"backoff_cap_s\": 1,\n"
        "             \"timeout_s\": 30, \"stall_timeout_s\": 10},\n"
        "  \"serve\": %s,\n"
        "  \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", \"stations\": [\n"
        "    {\"network\": \"XX\", \"station\": \"HOL\", \"location\": \"\", \"channel\": "
        "\"BHZ\", \"sample_rate\": 10},\n"
        "    {\"network\": \"XX\", \"station\": \"KIL\", \"location\": \"\", \"channel\": "
        "\"HHZ\", \"sample_rate\": 20}\n  ]}]\n}\n",
        source, store, serve);
    cr_assert_eq(rc_test_write_file(config, json, strlen(json)), 0);
}

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    make_sds();
    g_dir = rc_test_tmpdir("serve");
    cr_assert(g_dir);
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    snprintf(g_store, sizeof g_store, "%s/store", g_dir);
    snprintf(g_log, sizeof g_log, "%s/serve.log", g_dir);
    char src[4300];
    snprintf(src, sizeof src, "sds://%s", g_sds);
    write_config(g_config, src, g_store,
                 "{\"cors_origins\": [\"https://viewer.example.org\"], "
                 "\"jobs\": {\"workers\": 1, \"max_queued\": 4}}");
}

static void teardown(void)
{
    if (g_srv > 0) rc_test_serve_stop(g_srv, 10);
    g_srv = -1;
    if (g_fdsn > 0) rc_test_server_stop(g_fdsn);
    g_fdsn = -1;
    if (g_dir && !getenv("RC_KEEP_TMP")) rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
    curl_global_cleanup();
}

TestSuite(serve, .init = setup, .fini = teardown, .timeout = 300);

/* ---- helpers ------------------------------------------------------------- */

static void start_server(const char *config, const char *env)
{
    char args[4400];
    snprintf(args, sizeof args, "--config '%s'", config);
    g_srv = rc_test_serve_start(args, env, g_log, 20, &g_port);
    rc_buf log = RC_BUF_INIT;
    rc_test_read_file(g_log, &log);
    cr_assert(g_srv > 0, "r2cache serve did not start: %s", log.data ? log.data : "(no log)");
    rc_buf_free(&log);
}

typedef struct resp {
    long status;
    rc_buf body, headers;
} resp;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    rc_buf_append(ud, p, size * n);
    return size * n;
}

/* One request; extra headers separated by '\n'. */
static long http(const char *method, const char *path, const char *headers, const char *body,
                 size_t blen, resp *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    cr_assert(c);
    char url[4400];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_port, path);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    char hb[4096];
    snprintf(hb, sizeof hb, "%s", headers ? headers : "");
    for (char *save = NULL, *t = strtok_r(hb, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
        h = curl_slist_append(h, t);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    CURLcode cc = curl_easy_perform(c);
    cr_assert_eq(cc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r->body.data) rc_buf_puts(&r->body, "");
    return r->status;
}

static void resp_free(resp *r)
{
    rc_buf_free(&r->body);
    rc_buf_free(&r->headers);
}

static long get(const char *path, resp *r)
{
    return http("GET", path, NULL, NULL, 0, r);
}

static long post(const char *path, const char *body, resp *r)
{
    return http("POST", path, "Authorization: Bearer " TOKEN "\nContent-Type: application/json",
                body, body ? strlen(body) : 0, r);
}

/* The value of a response header (case-insensitive name), "" when absent. */
static const char *header(const resp *r, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    const char *p = r->headers.data;
    size_t nl = strlen(name);
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        if (!strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t l = (size_t)((eol ? eol : p + strlen(p)) - v);
            while (l && (v[l - 1] == '\r' || v[l - 1] == '\n'))
                l--;
            snprintf(out, n, "%.*s", (int)l, v);
            return out;
        }
        p = eol ? eol + 1 : NULL;
    }
    return out;
}

/* The error body {"error": ..., "status": N}: checks status and that the
 * message contains want. */
static void assert_error(const resp *r, long status, const char *want)
{
    cr_assert_eq(r->status, status, "expected %ld, got %ld: %s", status, r->status, r->body.data);
    cJSON *o = cJSON_Parse(r->body.data);
    cr_assert(o, "error body is not JSON: %s", r->body.data);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "status");
    cr_assert(cJSON_IsString(e) && cJSON_IsNumber(s), "%s", r->body.data);
    cr_assert_eq((long)s->valuedouble, status);
    cr_assert(strstr(e->valuestring, want), "error \"%s\" does not contain \"%s\"", e->valuestring,
              want);
    cr_assert_eq(cJSON_GetArraySize(o), 2, "error body has other fields: %s", r->body.data);
    cJSON_Delete(o);
}

/* Run the CLI, return its stdout (exit status checked against want_rc). */
static char *cli(const char *args, int want_rc)
{
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_r2cache(args, &out, &err);
    cr_assert_eq(rc, want_rc, "r2cache %s exited %d: %s", args, rc, err.data ? err.data : "");
    rc_buf_free(&err);
    if (!out.data) rc_buf_puts(&out, "");
    return rc_buf_steal(&out, NULL);
}

static void fill_store(const char *config, const char *store)
{
    char args[9000];
    snprintf(args, sizeof args, "fill --config '%s' --store '%s' --from %s --to %s --json", config,
             store, g_day1, g_end);
    free(cli(args, 0));
}

/* Equal JSON texts after dropping the named top-level fields of both. want is
 * the command line's answer: its leading command and version (and status,
 * when the API's answer has none) are not the API's (docs/operations.md,
 * "JSON output"). */
static void assert_json_equal(const char *got, const char *want, const char *const *drop)
{
    cJSON *a = cJSON_Parse(got), *b = cJSON_Parse(want);
    cr_assert(a, "not JSON: %s", got);
    cr_assert(b, "not JSON: %s", want);
    cJSON_DeleteItemFromObjectCaseSensitive(b, "command");
    cJSON_DeleteItemFromObjectCaseSensitive(b, "version");
    if (!cJSON_GetObjectItemCaseSensitive(a, "status"))
        cJSON_DeleteItemFromObjectCaseSensitive(b, "status");
    for (const char *const *d = drop; d && *d; d++) {
        cJSON_DeleteItemFromObjectCaseSensitive(a, *d);
        cJSON_DeleteItemFromObjectCaseSensitive(b, *d);
    }
    char *ta = cJSON_Print(a), *tb = cJSON_Print(b);
    cr_assert_str_eq(ta, tb);
    free(ta);
    free(tb);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static int64_t json_int(const char *text, const char *name)
{
    cJSON *o = cJSON_Parse(text);
    cr_assert(o, "not JSON: %s", text);
    cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    cr_assert(cJSON_IsNumber(x), "no number %s in %s", name, text);
    int64_t v = (int64_t)x->valuedouble;
    cJSON_Delete(o);
    return v;
}

static char *json_str(const char *text, const char *name)
{
    cJSON *o = cJSON_Parse(text);
    cr_assert(o, "not JSON: %s", text);
    cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    cr_assert(cJSON_IsString(x), "no string %s in %s", name, text);
    char *v = strdup(x->valuestring);
    cJSON_Delete(o);
    return v;
}

/* Poll GET /api/jobs/ID until its status is one of want ("complete|cancelled"). */
static char *wait_job(int64_t id, const char *want, int timeout_s)
{
    char path[64];
    snprintf(path, sizeof path, "/api/jobs/%lld", (long long)id);
    for (int i = 0; i < timeout_s * 20; i++) {
        resp r;
        cr_assert_eq(get(path, &r), 200, "%s", r.body.data);
        char *st = json_str(r.body.data, "status");
        char pat[64];
        snprintf(pat, sizeof pat, "|%s|", st);
        char wants[128];
        snprintf(wants, sizeof wants, "|%s|", want);
        free(st);
        if (strstr(wants, pat)) {
            rc_buf_free(&r.headers);
            return rc_buf_steal(&r.body, NULL);
        }
        resp_free(&r);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_fail("job %lld never reached %s", (long long)id, want);
    return NULL;
}

/* One python3 program over a store directory; its stdout. */
static char *py_over(const char *root, const char *prog)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "python3 -c '%s' '%s'", prog, root);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, &out, &err);
    cr_assert_eq(rc, 0, "%s", err.data ? err.data : "");
    rc_buf_free(&err);
    if (!out.data) rc_buf_puts(&out, "");
    return rc_buf_steal(&out, NULL);
}

/* Every data key of a local store (sidecars aside), blobs with their sha256:
 * the same keys and bytes means nothing lost, nothing duplicated. */
static char *tree(const char *root, int blobs_only)
{
    char prog[2048];
    snprintf(prog, sizeof prog,
             "import hashlib,os,sys\n"
             "r=sys.argv[1]\n"
             "for d,_,fs in sorted(os.walk(os.path.join(r,\"data\"))):\n"
             " for f in sorted(fs):\n"
             "  if f.startswith(\".\"): continue\n"
             "  p=os.path.join(d,f); k=os.path.relpath(p,r)\n"
             "  if f.endswith(\".bin.zst\"): print(k, "
             "hashlib.sha256(open(p,\"rb\").read()).hexdigest()[:16])\n"
             "  elif not %d: print(k)\n",
             blobs_only);
    return py_over(root, prog);
}

/* The chunk entries of every manifest, without their timestamps. */
static char *manifests(const char *root)
{
    static const char prog[] =
        "import json,os,sys\n"
        "r=sys.argv[1]\n"
        "for d,_,fs in sorted(os.walk(os.path.join(r,\"data\"))):\n"
        " for f in sorted(fs):\n"
        "  if f.startswith(\".\") or not f.endswith(\".json\"): continue\n"
        "  m=json.load(open(os.path.join(d,f)))\n"
        "  print(f, json.dumps({k: [{x: e.get(x) for x in (\"start\",\"end\",\"min\",\"max\","
        "\"samples\",\"gap_count\",\"gap_samples_filled\",\"provisional\")} for e in v] for k, v "
        "in "
        "m[\"chunks\"].items()}, sort_keys=True))\n";
    return py_over(root, prog);
}

/* ---- answers equal to the command line's ----------------------------------- */

Test(serve, cache_status_is_inventory_json)
{
    fill_store(g_config, g_store);
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
    static const struct {
        const char *query, *args;
    } q[] = {
        {"scope=all", "--scope all"},
        {"scope=volcano&volcano=testvol", "--scope volcano --volcano testvol"},
        {"scope=location&location=testland", "--scope location --location testland"},
        {"scope=region&region=testland", "--scope region --region testland"},
        {"scope=volcano", "--scope volcano"},
        {"scope=station&network=XX&station=HOL&channel=BHZ",
         "--scope station --network XX --station HOL --channel BHZ"},
        {"scope=station&station=XX.KIL..HHZ", "--scope station --station XX.KIL..HHZ"},
    };
    char args[9000];
    for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
        snprintf(args, sizeof args, "inventory --config '%s' %s --json", g_config, q[i].args);
        free(cli(args, 0)); /* the first reader rebuilds stale summaries */
        char path[512];
        snprintf(path, sizeof path, "/api/cache-status?%s", q[i].query);
        resp r;
        cr_assert_eq(get(path, &r), 200, "%s: %s", path, r.body.data);
        char ct[128];
        cr_assert_str_eq(header(&r, "Content-Type", ct, sizeof ct), "application/json");
        char *want = cli(args, 0);
        assert_json_equal(r.body.data, want, NULL); /* the answer of inventory q[i].args */
        free(want);
        resp_free(&r);
    }
    /* the page is inventory --html's */
    resp r;
    cr_assert_eq(get("/", &r), 200);
    char ct[128];
    cr_assert_str_eq(header(&r, "Content-Type", ct, sizeof ct), "text/html; charset=utf-8");
    char html[4300];
    snprintf(html, sizeof html, "%s/page.html", g_dir);
    snprintf(args, sizeof args, "inventory --config '%s' --html '%s'", g_config, html);
    free(cli(args, 0));
    rc_buf want = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(html, &want), 0);
    cr_assert_str_eq(r.body.data, want.data);
    rc_buf_free(&want);
    resp_free(&r);
}

Test(serve, gaps_detect_is_gaps_json)
{
    fill_store(g_config, g_store);
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
    char args[9000];
    snprintf(args, sizeof args, "gaps --config '%s' --from 3d --json", g_config);
    static const char *const drop[] = {"recommendation", NULL};
    int detects = 1; /* the one with thresholds below */
    for (int attempt = 0;; attempt++) {
        resp r;
        detects++;
        cr_assert_eq(get("/gaps/detect?days_back=3", &r), 200, "%s", r.body.data);
        char *want = cli(args, 1); /* exit 1: a critical gap (nothing since yesterday noon) */
        cJSON *a = cJSON_Parse(r.body.data), *b = cJSON_Parse(want);
        int same_range = cJSON_Compare(cJSON_GetObjectItem(a, "time_range"),
                                       cJSON_GetObjectItem(b, "time_range"), 1);
        cJSON *rec = cJSON_GetObjectItemCaseSensitive(a, "recommendation");
        cr_assert(cJSON_IsString(rec) && rec->valuestring[0], "no recommendation");
        cJSON_Delete(a);
        cJSON_Delete(b);
        if (same_range || attempt == 1) { /* a 10-minute boundary between the two: once more */
            assert_json_equal(r.body.data, want, drop);
            free(want);
            resp_free(&r);
            break;
        }
        free(want);
        resp_free(&r);
    }
    /* the KIL gap of an hour two days ago is there, classified with the thresholds given */
    resp r;
    cr_assert_eq(get("/gaps/detect?days_back=3&minor_hours=0.5&critical_hours=48", &r), 200);
    cJSON *g = cJSON_Parse(r.body.data);
    char ga[RC_TIME_STR_MAX];
    rc_time_iso(rc_day_start((int64_t)time(NULL)) - 2 * 86400 + 3 * 3600, ga);
    int found = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(g, "gaps"))
    {
        if (strcmp(cJSON_GetObjectItem(it, "channel")->valuestring, "XX.KIL..HHZ") ||
            strcmp(cJSON_GetObjectItem(it, "span")->valuestring, "10m") ||
            strcmp(cJSON_GetObjectItem(it, "start")->valuestring, ga))
            continue;
        found = 1;
        cr_assert_eq(cJSON_GetObjectItem(it, "windows")->valuedouble, 6);
        cr_assert_str_eq(cJSON_GetObjectItem(it, "severity")->valuestring, "moderate");
    }
    cr_assert(found, "no 10m gap of XX.KIL..HHZ at %s: %s", ga, r.body.data);
    cJSON_Delete(g);
    resp_free(&r);
    /* summary: the newest chunk of each channel ends yesterday 12:00 */
    cr_assert_eq(get("/gaps/summary", &r), 200, "%s", r.body.data);
    cJSON *o = cJSON_Parse(r.body.data);
    cJSON *ch = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "channels"), "XX.HOL..BHZ");
    cr_assert(ch, "%s", r.body.data);
    cr_assert_str_eq(cJSON_GetObjectItem(ch, "newest")->valuestring, g_end);
    cr_assert_str_eq(cJSON_GetObjectItem(ch, "status")->valuestring, "critical");
    double gh = cJSON_GetObjectItem(ch, "gap_hours")->valuedouble;
    double want_h =
        ((double)time(NULL) - (double)(rc_day_start((int64_t)time(NULL)) - 43200)) / 3600;
    cr_assert(gh > want_h - 0.1 && gh < want_h + 0.1, "gap_hours %g, expected %g", gh, want_h);
    cJSON_Delete(o);
    resp_free(&r);
    /* metrics: the same age per channel, jobs by state, requests by endpoint */
    cr_assert_eq(get("/metrics", &r), 200);
    char ct[128];
    cr_assert_str_eq(header(&r, "Content-Type", ct, sizeof ct),
                     "text/plain; version=0.0.4; charset=utf-8");
    const char *m = strstr(r.body.data, "r2cache_channel_newest_sample_age_seconds{channel=\"XX."
                                        "HOL..BHZ\",volcano=\"testvol\"} ");
    cr_assert(m, "%s", r.body.data);
    double age = atof(strchr(m, '}') + 2);
    cr_assert(age > want_h * 3600 - 60 && age < want_h * 3600 + 60, "age %g", age);
    char line[160];
    snprintf(line, sizeof line,
             "r2cache_http_requests_total{endpoint=\"/gaps/detect\",status=\"200\"} %d\n", detects);
    cr_assert(strstr(r.body.data, line), "no %s in %s", line, r.body.data);
    cr_assert(strstr(r.body.data, "r2cache_jobs{state=\"queued\"} 0\n"));
    cr_assert(strstr(r.body.data, "r2cache_http_request_duration_seconds_bucket{le=\"+Inf\"} "));
    resp_free(&r);
}

Test(serve, backfill_wait_is_fill_json_on_a_twin_store)
{
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"network\": \"XX\", \"station\": \"KIL\", \"location\": \"\", \"channel\": "
             "\"HHZ\", \"volcano\": \"testvol\", \"start_time\": \"%s\", \"duration_hours\": 24, "
             "\"force\": false}",
             g_day1);
    resp r;
    cr_assert_eq(post("/api/backfill?wait=true", body, &r), 200, "%s", r.body.data);
    char twin[4300], args[9000];
    snprintf(twin, sizeof twin, "%s/twin", g_dir);
    snprintf(args, sizeof args,
             "fill --config '%s' --store '%s' --station XX.KIL..HHZ --from %s --to %s --json",
             g_config, twin, g_day1, g_day2);
    char *want = cli(args, 0);
    static const char *const drop[] = {"seconds", NULL};
    assert_json_equal(r.body.data, want, drop);
    /* the hour KIL lacks is six windows of no data */
    cr_assert_eq(json_int(r.body.data, "windows_no_data"), 6, "%s", r.body.data);
    cr_assert_eq(json_int(r.body.data, "chunks_added"), 144 + 4 - 6, "%s", r.body.data);
    free(want);
    resp_free(&r);
    char *a = tree(g_store, 1), *b = tree(twin, 1);
    cr_assert_str_eq(a, b, "the server's fill wrote other blobs than the CLI's");
    free(a);
    free(b);
    a = manifests(g_store);
    b = manifests(twin);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    /* the same fill again: nothing to do, and the job list shows both */
    cr_assert_eq(post("/api/backfill?wait=true", body, &r), 200, "%s", r.body.data);
    cr_assert_eq(json_int(r.body.data, "chunks_added"), 0);
    cr_assert_eq(json_int(r.body.data, "chunks_skipped_present"), 142, "%s", r.body.data);
    resp_free(&r);
    cr_assert_eq(get("/api/jobs", &r), 200);
    cJSON *o = cJSON_Parse(r.body.data);
    cJSON *jobs = cJSON_GetObjectItem(o, "jobs");
    cr_assert_eq(cJSON_GetArraySize(jobs), 2, "%s", r.body.data);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(jobs, 0), "job")->valuedouble, 2);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(jobs, 1), "status")->valuestring,
                     "complete");
    cJSON_Delete(o);
    resp_free(&r);
    /* a dry run over /gaps/backfill/range is fill --dry-run --json */
    snprintf(body, sizeof body,
             "{\"start_date\": \"%.10s\", \"end_date\": \"%.10s\", \"volcano\": \"testvol\", "
             "\"dry_run\": true}",
             g_day1, g_day1);
    cr_assert_eq(post("/gaps/backfill/range?wait=true", body, &r), 200, "%s", r.body.data);
    snprintf(args, sizeof args,
             "fill --config '%s' --volcano testvol --from %.10s --to %s "
             "--dry-run --json",
             g_config, g_day1, g_day2);
    want = cli(args, 0);
    static const char *const wall[] = {"seconds", NULL}; /* the planning's wall time */
    assert_json_equal(r.body.data, want, wall);
    free(want);
    resp_free(&r);
}

/* ---- errors ------------------------------------------------------------------ */

Test(serve, every_error_code)
{
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
    resp r;
    /* 400 naming the parameter, with the CLI's message */
    get("/api/cache-status?scope=bogus", &r);
    assert_error(&r, 400,
                 "scope: --scope bogus: use station, volcano, region (or location) or all");
    resp_free(&r);
    get("/api/cache-status?scope=location", &r);
    assert_error(&r, 400, "--scope region needs --region NAME (location= in the API)");
    resp_free(&r);
    get("/api/cache-status?scope=all&dayz=1", &r);
    assert_error(&r, 400, "dayz: unknown parameter");
    resp_free(&r);
    get("/api/cache-status?scope=all&scope=volcano", &r);
    assert_error(&r, 400, "scope: given more than once");
    resp_free(&r);
    get("/gaps/detect?days_back=abc", &r);
    assert_error(&r, 400, "days_back=abc: give a whole number of days");
    resp_free(&r);
    get("/api/cache-status?from=yesterday", &r);
    assert_error(&r, 400, "from: ");
    resp_free(&r);
    post("/api/backfill", "{\"start_time\": \"2025-13-01\", \"duration_hours\": 1}", &r);
    assert_error(&r, 400, "start_time: ");
    resp_free(&r);
    post("/api/backfill", "{\"start_time\": \"2025-11-01\", \"duration_hours\": 1, \"forse\": 1}",
         &r);
    assert_error(&r, 400, "forse: unknown field");
    resp_free(&r);
    post("/api/backfill", "{\"start_time\": \"2025-11-01\", \"end_time\": \"2025-10-01\"}", &r);
    assert_error(&r, 400, "is not after");
    resp_free(&r);
    post("/api/backfill",
         "{\"station\": \"NOPE\", \"network\": \"XX\", \"channel\": \"BHZ\", "
         "\"start_time\": \"2025-11-01\", \"duration_hours\": 1}",
         &r);
    assert_error(&r, 400, "station: ");
    resp_free(&r);
    post("/api/backfill",
         "{\"region\": \"atlantis\", \"start_time\": \"2025-11-01\", \"duration_hours\": 1}", &r);
    assert_error(&r, 400, "region: region \"atlantis\" is not in the configuration");
    resp_free(&r);
    get("/api/cache-status?scope=region&region=atlantis", &r);
    assert_error(&r, 400, "region \"atlantis\" is not in the configuration");
    resp_free(&r);
    post("/api/backfill", "not json", &r);
    assert_error(&r, 400, "body: not a JSON object");
    resp_free(&r);
    /* 404, 405 with Allow */
    get("/api/nothing", &r);
    assert_error(&r, 404, "no such endpoint: /api/nothing");
    resp_free(&r);
    get("/api/jobs/99", &r);
    assert_error(&r, 404, "no such job: 99");
    resp_free(&r);
    get("/api/jobs/x1", &r);
    assert_error(&r, 404, "no such job: x1");
    resp_free(&r);
    http("PUT", "/api/backfill", NULL, NULL, 0, &r);
    assert_error(&r, 405, "PUT is not allowed on /api/backfill");
    char allow[128];
    cr_assert_str_eq(header(&r, "Allow", allow, sizeof allow), "POST, OPTIONS");
    resp_free(&r);
    http("DELETE", "/api/cache-status", "Authorization: Bearer " TOKEN, NULL, 0, &r);
    assert_error(&r, 405, "DELETE is not allowed");
    cr_assert_str_eq(header(&r, "Allow", allow, sizeof allow), "GET, HEAD, OPTIONS");
    resp_free(&r);
    /* 413: a body over 64 KiB, refused by its Content-Length */
    size_t big = 65537;
    char *b = malloc(big);
    memset(b, ' ', big);
    http("POST", "/api/backfill", "Authorization: Bearer " TOKEN, b, big, &r);
    assert_error(&r, 413, "request body larger than 65536 bytes");
    resp_free(&r);
    free(b);
    /* 409: a finished job cannot be cancelled */
    char body[512];
    snprintf(body, sizeof body,
             "{\"volcano\": \"testvol\", \"start_time\": \"%s\", "
             "\"duration_hours\": 1, \"dry_run\": true}",
             g_day1);
    cr_assert_eq(post("/api/backfill?wait=true", body, &r), 200, "%s", r.body.data);
    resp_free(&r);
    http("DELETE", "/api/jobs/1", "Authorization: Bearer " TOKEN, NULL, 0, &r);
    assert_error(&r, 409, "job 1 has already ended (complete)");
    resp_free(&r);
    /* the server still serves after all that */
    cr_assert_eq(get("/healthz", &r), 200);
    resp_free(&r);
}

Test(serve, auth_refused_and_accepted_and_never_logged)
{
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
    char body[512];
    snprintf(body, sizeof body,
             "{\"volcano\": \"testvol\", \"start_time\": \"%s\", "
             "\"duration_hours\": 1, \"dry_run\": true}",
             g_day1);
    resp r;
    http("POST", "/api/backfill", NULL, body, strlen(body), &r);
    assert_error(&r, 401, "give the API token as \"Authorization: Bearer TOKEN\"");
    char v[256];
    cr_assert_str_eq(header(&r, "WWW-Authenticate", v, sizeof v), "Bearer realm=\"r2cache\"");
    resp_free(&r);
    http("POST", "/api/backfill", "Authorization: Bearer wrong-" TOKEN, body, strlen(body), &r);
    assert_error(&r, 401, "the bearer token is not the one configured");
    resp_free(&r);
    http("POST", "/api/backfill", "Authorization: Basic " TOKEN, body, strlen(body), &r);
    assert_error(&r, 401, "not the one configured");
    resp_free(&r);
    http("DELETE", "/api/jobs/1", NULL, NULL, 0, &r);
    assert_error(&r, 401, "Authorization: Bearer");
    resp_free(&r);
    cr_assert_eq(post("/api/backfill", body, &r), 202, "%s", r.body.data);
    char loc[128];
    cr_assert_str_eq(header(&r, "Location", loc, sizeof loc), "/api/jobs/1");
    cJSON *o = cJSON_Parse(r.body.data);
    cr_assert_eq(cJSON_GetObjectItem(o, "job")->valuedouble, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "links"), "self")->valuestring,
                     "/api/jobs/1");
    cJSON_Delete(o);
    resp_free(&r);
    free(wait_job(1, "complete", 30));
    /* reads are open */
    cr_assert_eq(get("/api/jobs/1", &r), 200);
    resp_free(&r);
    rc_test_serve_stop(g_srv, 10);
    g_srv = -1;
    rc_buf log = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(g_log, &log), 0);
    cr_assert_null(strstr(log.data, TOKEN), "the token appears in the log:\n%s", log.data);
    cr_assert(strstr(log.data, "POST /api/backfill 401 "), "%s", log.data);
    cr_assert(strstr(log.data, "POST /api/backfill 202 "), "%s", log.data);
    rc_buf_free(&log);

    /* no token configured: 403 saying how to configure one */
    start_server(g_config, "-u R2CACHE_API_TOKEN -u R2CACHE_API_TOKEN_FILE");
    post("/api/backfill", body, &r);
    assert_error(&r, 403, "set R2CACHE_API_TOKEN, or R2CACHE_API_TOKEN_FILE");
    resp_free(&r);
    cr_assert_eq(get("/api/cache-status", &r), 200);
    resp_free(&r);
    rc_test_serve_stop(g_srv, 10);
    g_srv = -1;

    /* the token from a file (a Kubernetes secret), reads closed by configuration */
    char tokfile[4300], cfg2[4300], src[4300];
    snprintf(tokfile, sizeof tokfile, "%s/token", g_dir);
    cr_assert_eq(rc_test_write_file(tokfile, TOKEN "\n", strlen(TOKEN) + 1), 0);
    snprintf(cfg2, sizeof cfg2, "%s/closed.json", g_dir);
    snprintf(src, sizeof src, "sds://%s", g_sds);
    write_config(cfg2, src, g_store, "{\"read_requires_token\": true}");
    char env[4400];
    snprintf(env, sizeof env, "-u R2CACHE_API_TOKEN R2CACHE_API_TOKEN_FILE='%s'", tokfile);
    start_server(cfg2, env);
    get("/api/cache-status", &r);
    assert_error(&r, 401, "Authorization: Bearer");
    resp_free(&r);
    cr_assert_eq(http("GET", "/api/cache-status", "Authorization: Bearer " TOKEN, NULL, 0, &r),
                 200);
    resp_free(&r);
    cr_assert_eq(get("/healthz", &r), 401); /* every read */
    resp_free(&r);
}

Test(serve, cors_preflight)
{
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
    resp r;
    cr_assert_eq(http("OPTIONS", "/api/backfill",
                      "Origin: https://viewer.example.org\nAccess-Control-Request-Method: POST\n"
                      "Access-Control-Request-Headers: authorization, content-type",
                      NULL, 0, &r),
                 204);
    char v[256];
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Origin", v, sizeof v),
                     "https://viewer.example.org");
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Methods", v, sizeof v), "POST, OPTIONS");
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Headers", v, sizeof v),
                     "Authorization, Content-Type");
    cr_assert_str_eq(header(&r, "Vary", v, sizeof v), "Origin");
    resp_free(&r);
    cr_assert_eq(
        http("GET", "/api/cache-status", "Origin: https://viewer.example.org", NULL, 0, &r), 200);
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Origin", v, sizeof v),
                     "https://viewer.example.org");
    resp_free(&r);
    /* another origin: no CORS headers at all */
    cr_assert_eq(http("OPTIONS", "/api/backfill",
                      "Origin: https://evil.example.com\nAccess-Control-Request-Method: POST", NULL,
                      0, &r),
                 204);
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Origin", v, sizeof v), "");
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Methods", v, sizeof v), "");
    resp_free(&r);
    cr_assert_eq(http("OPTIONS", "/nowhere", "Origin: https://viewer.example.org", NULL, 0, &r),
                 404);
    resp_free(&r);
}

Test(serve, starting_answers_503_until_the_store_answers)
{
    /* an S3 store on a port nothing listens on: never ready */
    char cfg2[4300], src[4300];
    snprintf(cfg2, sizeof cfg2, "%s/s3.json", g_dir);
    snprintf(src, sizeof src, "sds://%s", g_sds);
    write_config(cfg2, src, "s3://nobucket", "{}");
    start_server(cfg2, "R2CACHE_API_TOKEN=" TOKEN " AWS_ACCESS_KEY_ID=AKIDEXAMPLE "
                       "AWS_SECRET_ACCESS_KEY=secret AWS_ENDPOINT_URL=http://127.0.0.1:9 "
                       "AWS_REGION=us-east-1");
    resp r;
    get("/api/cache-status", &r);
    assert_error(&r, 503, "starting: the store has not answered yet");
    char v[64];
    cr_assert_str_eq(header(&r, "Retry-After", v, sizeof v), "5");
    resp_free(&r);
    cr_assert_eq(get("/healthz", &r), 200);
    resp_free(&r);
    get("/readyz", &r);
    assert_error(&r, 503, "store not reachable");
    resp_free(&r);
    /* and it stops cleanly */
    cr_assert_eq(rc_test_serve_stop(g_srv, 20), 0);
    g_srv = -1;
}

/* ---- jobs: lifecycle, duplicates, cancel, a full queue, SIGTERM ----------------- */

/* A server whose source is the FDSN test server answering each request after
 * delay_ms, one connection: fills take a few seconds. */
static void slow_server(int delay_ms, int max_queued)
{
    char d[32];
    snprintf(d, sizeof d, "%d", delay_ms);
    const char *extra[] = {"--delay-ms", d, NULL};
    int fport = 0;
    g_fdsn = rc_test_fdsn_start(g_sds, extra, &fport);
    cr_assert(g_fdsn > 0, "FDSN test server did not start");
    char src[64], serve[256];
    snprintf(src, sizeof src, "http://127.0.0.1:%d", fport);
    snprintf(serve, sizeof serve, "{\"jobs\": {\"workers\": 1, \"max_queued\": %d}}", max_queued);
    write_config(g_config, src, g_store, serve);
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
}

static int64_t submit(const char *body, long want_status)
{
    resp r;
    cr_assert_eq(post("/api/backfill", body, &r), want_status, "%s", r.body.data);
    int64_t id = want_status == 202 ? json_int(r.body.data, "job") : 0;
    resp_free(&r);
    return id;
}

Test(serve, job_lifecycle_duplicate_cancel_and_full_queue)
{
    slow_server(1500, 1);
    char b1[512], b2[512], b3[512];
    snprintf(b1, sizeof b1,
             "{\"volcano\": \"testvol\", \"start_time\": \"%s\", \"end_time\": \"%s\"}", g_day1,
             g_end);
    snprintf(b2, sizeof b2,
             "{\"network\": \"XX\", \"station\": \"HOL\", \"channel\": \"BHZ\", "
             "\"start_time\": \"%s\", \"duration_hours\": 6}",
             g_day1);
    snprintf(b3, sizeof b3,
             "{\"network\": \"XX\", \"station\": \"KIL\", \"channel\": \"HHZ\", "
             "\"start_time\": \"%s\", \"duration_hours\": 6}",
             g_day1);
    int64_t j1 = submit(b1, 202);
    cr_assert_eq(j1, 1);
    free(wait_job(j1, "running", 10));
    /* the identical request returns the running job */
    resp r;
    cr_assert_eq(post("/api/backfill", b1, &r), 202);
    cr_assert_eq(json_int(r.body.data, "job"), 1);
    char *st = json_str(r.body.data, "status");
    cr_assert_str_eq(st, "running");
    free(st);
    cr_assert(strstr(r.body.data, "\"existing\":\ttrue"), "%s", r.body.data);
    resp_free(&r);
    int64_t j2 = submit(b2, 202); /* queued behind it */
    cr_assert_eq(j2, 2);
    /* the queue holds one: a third job is 429 with Retry-After */
    post("/api/backfill", b3, &r);
    assert_error(&r, 429, "the job queue is full");
    char ra[32];
    cr_assert(atoi(header(&r, "Retry-After", ra, sizeof ra)) >= 5, "Retry-After %s", ra);
    resp_free(&r);
    /* cancel the queued one: it never starts */
    cr_assert_eq(http("DELETE", "/api/jobs/2", "Authorization: Bearer " TOKEN, NULL, 0, &r), 200,
                 "%s", r.body.data);
    st = json_str(r.body.data, "status");
    cr_assert_str_eq(st, "cancelled");
    free(st);
    resp_free(&r);
    /* job 1 runs to the end: progress and result */
    char *done = wait_job(j1, "complete", 120);
    cJSON *o = cJSON_Parse(done);
    cJSON *p = cJSON_GetObjectItem(o, "progress");
    cr_assert_eq(cJSON_GetObjectItem(p, "windows_done")->valuedouble,
                 cJSON_GetObjectItem(p, "windows_total")->valuedouble, "%s", done);
    cr_assert(cJSON_GetObjectItem(p, "requests")->valuedouble >= 2, "%s", done);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(o, "started")));
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(o, "ended")));
    cJSON *res = cJSON_GetObjectItem(o, "result");
    cr_assert_str_eq(cJSON_GetObjectItem(res, "status")->valuestring, "complete");
    cr_assert_eq(cJSON_GetObjectItem(res, "chunks_added")->valuedouble, 2 * (216 + 6) - 6, "%s",
                 done);
    cJSON_Delete(o);
    free(done);
    cr_assert_eq(get("/api/jobs/2", &r), 200);
    cr_assert(strstr(r.body.data, "\"started\":\tnull"), "%s", r.body.data);
    resp_free(&r);
    /* cancel a running job: it stops after the chunk in hand */
    snprintf(b1, sizeof b1,
             "{\"volcano\": \"testvol\", \"start_time\": \"%s\", \"end_time\": "
             "\"%s\", \"force\": true}",
             g_day1, g_end);
    int64_t j3 = submit(b1, 202);
    free(wait_job(j3, "running", 10));
    cr_assert_eq(http("DELETE", "/api/jobs/3", "Authorization: Bearer " TOKEN, NULL, 0, &r), 202,
                 "%s", r.body.data);
    cr_assert(strstr(r.body.data, "\"cancelling\":\ttrue"), "%s", r.body.data);
    resp_free(&r);
    free(wait_job(j3, "cancelled", 60));
    cr_assert_eq(get("/metrics", &r), 200);
    cr_assert(strstr(r.body.data, "r2cache_jobs{state=\"cancelled\"} 2\n"), "%s", r.body.data);
    cr_assert(strstr(r.body.data, "r2cache_jobs{state=\"complete\"} 1\n"), "%s", r.body.data);
    resp_free(&r);
}

Test(serve, sigterm_mid_job_exits_0_and_a_rerun_completes)
{
    slow_server(1500, 4);
    char body[512];
    snprintf(body, sizeof body,
             "{\"volcano\": \"testvol\", \"start_time\": \"%s\", \"end_time\": "
             "\"%s\"}",
             g_day1, g_end);
    int64_t id = submit(body, 202);
    free(wait_job(id, "running", 10));
    struct timespec ts = {2, 0}; /* the first request answered, the second in flight */
    nanosleep(&ts, NULL);
    cr_assert_eq(rc_test_serve_stop(g_srv, 30), 0, "r2cache serve did not exit 0 on SIGTERM");
    g_srv = -1;
    rc_buf log = RC_BUF_INIT;
    rc_test_read_file(g_log, &log);
    cr_assert(strstr(log.data, "signal received"), "%s", log.data);
    cr_assert(strstr(log.data, "stopped"), "%s", log.data);
    rc_buf_free(&log);
    char *partial = tree(g_store, 1);
    /* the rerun finishes the job: the same blobs and manifest entries as one
     * uninterrupted fill on a twin store */
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
    resp r;
    cr_assert_eq(post("/api/backfill?wait=true", body, &r), 200, "%s", r.body.data);
    char *st = json_str(r.body.data, "status");
    cr_assert_str_eq(st, "complete");
    free(st);
    cr_assert_eq(json_int(r.body.data, "chunks_failed"), 0);
    int64_t added = json_int(r.body.data, "chunks_added");
    cr_assert(added > 0 && added < 2 * (216 + 6), "the rerun added %lld: the first run did %s",
              (long long)added, strlen(partial) ? "something" : "nothing");
    resp_free(&r);
    char twin[4300], src[4300], cfg2[4300];
    snprintf(twin, sizeof twin, "%s/twin", g_dir);
    snprintf(cfg2, sizeof cfg2, "%s/twin.json", g_dir);
    snprintf(src, sizeof src, "sds://%s", g_sds);
    write_config(cfg2, src, twin, "{}");
    fill_store(cfg2, twin);
    char *a = tree(g_store, 0), *b = tree(twin, 0);
    cr_assert_str_eq(a, b, "interrupted + rerun differs from one fill");
    free(a);
    free(b);
    a = manifests(g_store);
    b = manifests(twin);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    free(partial);
}

/* ---- /fdsnws/ goes to the FDSN handler; its POST is a read ------------------ */

Test(serve, fdsnws_is_handed_over_and_its_post_needs_no_token)
{
    fill_store(g_config, g_store);
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
    resp r;
    cr_assert_eq(get("/fdsnws/dataselect/1/version", &r), 200, "%s", r.body.data);
    char ct[128];
    cr_assert_str_eq(header(&r, "Content-Type", ct, sizeof ct), "text/plain; charset=utf-8");
    resp_free(&r);
    char path[512], line[256];
    snprintf(path, sizeof path,
             "/fdsnws/dataselect/1/query?net=XX&sta=HOL&loc=--&cha=BHZ&start=%.19s&end=%.11s"
             "01:10:00",
             g_day1, g_day1);
    cr_assert_eq(get(path, &r), 200, "%s", path);
    cr_assert_str_eq(header(&r, "Content-Type", ct, sizeof ct), "application/vnd.fdsn.mseed");
    cr_assert(r.body.len >= 512 && r.body.len % 512 == 0, "%zu bytes", r.body.len);
    snprintf(line, sizeof line, "XX HOL -- BHZ %.19s %.11s01:10:00\n", g_day1, g_day1);
    resp p;
    cr_assert_eq(http("POST", "/fdsnws/dataselect/1/query", NULL, line, strlen(line), &p), 200,
                 "%s", p.body.data);
    cr_assert_eq(p.body.len, r.body.len);
    cr_assert_eq(memcmp(p.body.data, r.body.data, r.body.len), 0, "GET and POST differ");
    resp_free(&p);
    resp_free(&r);
}

/* ---- over a real S3 store (RGW) --------------------------------------------- */

static char g_s3[512];

static void setup_rgw(void)
{
    setup();
    char bucket[128], endpoint[256];
    if (!getenv("RC_SERVE_RGW") ||
        rc_test_rgw_env(bucket, sizeof bucket, endpoint, sizeof endpoint) != 0)
        return;
    snprintf(g_s3, sizeof g_s3, "s3://%s/serve-%d-%ld", bucket, (int)getpid(), (long)time(NULL));
    char src[4300];
    snprintf(src, sizeof src, "sds://%s", g_sds);
    write_config(g_config, src, g_s3, "{}");
}

TestSuite(serve_rgw, .init = setup_rgw, .fini = teardown, .timeout = 300);

Test(serve_rgw, cache_status_and_backfill_over_s3)
{
    if (!g_s3[0])
        cr_skip_test(
            "SKIPPED: RGW not started (ctest runs this as serve_rgw with the rgw fixture)");
    char store[600], twin[600];
    snprintf(store, sizeof store, "%s/a", g_s3);
    snprintf(twin, sizeof twin, "%s/b", g_s3);
    fill_store(g_config, store);
    char args[9000];
    snprintf(args, sizeof args, "--config '%s' --store '%s'", g_config, store);
    g_srv = rc_test_serve_start(args, "R2CACHE_API_TOKEN=" TOKEN, g_log, 20, &g_port);
    cr_assert(g_srv > 0, "r2cache serve did not start over %s", store);
    resp r;
    for (int i = 0; i < 100 && get("/readyz", &r) != 200; i++) {
        resp_free(&r);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(r.status, 200, "%s", r.body.data);
    resp_free(&r);
    snprintf(args, sizeof args, "inventory --config '%s' --store '%s' --scope all --json", g_config,
             store);
    free(cli(args, 0));
    for (int i = 0; i < 100 && get("/api/cache-status?scope=all", &r) == 503; i++) {
        resp_free(&r);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(r.status, 200, "%s", r.body.data);
    char *want = cli(args, 0);
    assert_json_equal(r.body.data, want, NULL);
    free(want);
    resp_free(&r);
    /* a fill job writing to S3 answers what fill --json prints for the twin prefix */
    rc_test_serve_stop(g_srv, 10);
    snprintf(args, sizeof args, "--config '%s' --store '%s/c'", g_config, g_s3);
    g_srv = rc_test_serve_start(args, "R2CACHE_API_TOKEN=" TOKEN, g_log, 20, &g_port);
    cr_assert(g_srv > 0);
    char body[512];
    snprintf(body, sizeof body,
             "{\"network\": \"XX\", \"station\": \"HOL\", \"channel\": \"BHZ\", "
             "\"start_time\": \"%s\", \"duration_hours\": 6}",
             g_day1);
    for (int i = 0; i < 100 && post("/api/backfill?wait=true", body, &r) == 503; i++) {
        resp_free(&r);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(r.status, 200, "%s", r.body.data);
    char t6[32];
    rc_time_iso(rc_day_start((int64_t)time(NULL)) - 2 * 86400 + 6 * 3600, t6);
    snprintf(args, sizeof args,
             "fill --config '%s' --store '%s' --station XX.HOL..BHZ --from %s "
             "--to %s --json",
             g_config, twin, g_day1, t6);
    want = cli(args, 0);
    static const char *const drop[] = {"seconds", NULL};
    assert_json_equal(r.body.data, want, drop);
    cr_assert_eq(json_int(r.body.data, "chunks_added"), 36 + 1);
    free(want);
    resp_free(&r);
}

/* ---- refusals at start ---------------------------------------------------------- */

Test(serve, bad_settings_refuse_to_start)
{
    char src[4300], cfg2[4300], args[9000];
    snprintf(src, sizeof src, "sds://%s", g_sds);
    snprintf(cfg2, sizeof cfg2, "%s/bad.json", g_dir);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    /* a body limit above 64 KiB, named by its JSON path */
    write_config(cfg2, src, g_store, "{\"max_body_bytes\": 100000}");
    snprintf(args, sizeof args, "serve --config '%s' --listen 127.0.0.1:0 --log-format text", cfg2);
    cr_assert_eq(rc_test_r2cache(args, &out, &err), 2, "%s", err.data);
    cr_assert(strstr(err.data, "serve.max_body_bytes: 100000 is out of range [1, 65536]"), "%s",
              err.data);
    rc_buf_free(&err);
    write_config(cfg2, src, g_store, "{\"jobs\": {\"worker\": 2}}");
    cr_assert_eq(rc_test_r2cache(args, &out, &err), 2, "%s", err.data);
    cr_assert(strstr(err.data, "serve.jobs"), "%s", err.data);
    cr_assert(strstr(err.data, "worker"), "%s", err.data);
    rc_buf_free(&err);
    /* a listen address without a port */
    snprintf(args, sizeof args, "serve --config '%s' --listen 127.0.0.1 --log-format text",
             g_config);
    cr_assert_eq(rc_test_r2cache(args, &out, &err), 2, "%s", err.data);
    cr_assert(strstr(err.data, "--listen: listen address \"127.0.0.1\": give ADDR:PORT"), "%s",
              err.data);
    rc_buf_free(&err);
    /* a port already taken: exit 3 */
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
    snprintf(args, sizeof args, "serve --config '%s' --listen 127.0.0.1:%d --log-format text",
             g_config, g_port);
    cr_assert_eq(rc_test_r2cache(args, &out, &err), 3, "%s", err.data);
    cr_assert(strstr(err.data, "cannot listen on 127.0.0.1:"), "%s", err.data);
    rc_buf_free(&err);
    /* both token sources set */
    snprintf(args, sizeof args, "serve --config '%s' --listen 127.0.0.1:0 --log-format text",
             g_config);
    char cmd[9500];
    snprintf(cmd, sizeof cmd, "env R2CACHE_API_TOKEN=a R2CACHE_API_TOKEN_FILE=/dev/null %s %s",
             rc_test_bin("r2cache"), args);
    cr_assert_eq(rc_test_sh(cmd, &out, &err), 2, "%s", err.data);
    cr_assert(strstr(err.data, "both R2CACHE_API_TOKEN and R2CACHE_API_TOKEN_FILE are set"), "%s",
              err.data);
    rc_buf_free(&err);
    rc_buf_free(&out);
}

/* ---- hostile clients ----------------------------------------------------------- */

static int raw_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Read until the peer closes (or timeout_ms); what arrived. */
static size_t raw_read_all(int fd, char *buf, size_t n, int timeout_ms)
{
    size_t got = 0;
    while (got < n - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) break;
        ssize_t k = read(fd, buf + got, n - 1 - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    buf[got] = '\0';
    return got;
}

Test(serve, slow_and_malformed_clients_leave_others_served)
{
    char cfg2[4300], src[4300];
    snprintf(cfg2, sizeof cfg2, "%s/slow.json", g_dir);
    snprintf(src, sizeof src, "sds://%s", g_sds);
    write_config(cfg2, src, g_store, "{\"connection_timeout_s\": 2, \"threads\": 2}");
    start_server(cfg2, "R2CACHE_API_TOKEN=" TOKEN);
    /* clients that send half a request and wait, more than there are threads */
    int slow[6];
    for (int i = 0; i < 6; i++) {
        slow[i] = raw_connect();
        const char half[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
        cr_assert_eq(write(slow[i], half, sizeof half - 1), (ssize_t)(sizeof half - 1));
    }
    /* a request line that is not HTTP */
    int bad = raw_connect();
    const char junk[] = "\x16\x03\x01 not http at all\r\n\r\n";
    cr_assert(write(bad, junk, sizeof junk - 1) > 0);
    char buf[2048];
    raw_read_all(bad, buf, sizeof buf, 3000);
    cr_assert(strncmp(buf, "HTTP/1.1 400", 12) == 0 || buf[0] == '\0', "junk answered: %s", buf);
    close(bad);
    /* a body that never comes */
    int stall = raw_connect();
    const char hdr[] = "POST /api/backfill HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
                       "\r\nContent-Length: 100\r\n\r\n{\"volc";
    cr_assert(write(stall, hdr, sizeof hdr - 1) > 0);
    /* everyone else is still served, promptly */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    resp r;
    cr_assert_eq(get("/api/cache-status?scope=all", &r), 200, "%s", r.body.data);
    resp_free(&r);
    cr_assert_eq(get("/healthz", &r), 200);
    resp_free(&r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(sec < 1.5, "two requests took %.2f s beside slow clients", sec);
    /* and the slow ones are closed by the connection timeout */
    for (int i = 0; i < 6; i++) {
        size_t got = raw_read_all(slow[i], buf, sizeof buf, 6000);
        (void)got;
        char one;
        cr_assert_eq(read(slow[i], &one, 1), 0, "slow client %d still connected", i);
        close(slow[i]);
    }
    raw_read_all(stall, buf, sizeof buf, 6000);
    char one;
    cr_assert_eq(read(stall, &one, 1), 0, "stalled upload still connected");
    close(stall);
    cr_assert_eq(get("/healthz", &r), 200);
    resp_free(&r);
}

/* ---- serve.cache_ms --------------------------------------------------------------- */

Test(serve, cache_status_is_reused_until_a_fill_of_ours_ends)
{
    char src[4300];
    snprintf(src, sizeof src, "sds://%s", g_sds);
    write_config(g_config, src, g_store, "{\"cache_ms\": 60000}");
    char args[9000];
    snprintf(args, sizeof args, "fill --config '%s' --station XX.HOL..BHZ --from %s --to %s --json",
             g_config, g_day1, g_day2);
    free(cli(args, 0));
    start_server(g_config, "R2CACHE_API_TOKEN=" TOKEN);
    resp r1, r2, d1, d2;
    cr_assert_eq(get("/api/cache-status?scope=all", &r1), 200);
    /* dataselect: a window of the second day has no data yet (204) */
    char ds[512];
    snprintf(ds, sizeof ds,
             "/fdsnws/dataselect/1/query?net=XX&sta=HOL&loc=--&cha=BHZ&start=%.11s01:00:00&end="
             "%.11s01:10:00",
             g_day2, g_day2);
    cr_assert_eq(get(ds, &d1), 204);
    resp_free(&d1);
    /* another process (the cron job) adds a day: within cache_ms the answer stays */
    snprintf(args, sizeof args, "fill --config '%s' --station XX.HOL..BHZ --from %s --to %s --json",
             g_config, g_day2, g_end);
    free(cli(args, 0));
    cr_assert_eq(get("/api/cache-status?scope=all", &r2), 200);
    cr_assert_str_eq(r2.body.data, r1.body.data);
    resp_free(&r2);
    /* a no-data answer is never reused: the new day's window is there at once,
     * and then reused byte for byte */
    cr_assert_eq(get(ds, &d1), 200);
    cr_assert_eq(get(ds, &d2), 200);
    cr_assert(d1.body.len >= 512 && d1.body.len == d2.body.len, "%zu %zu", d1.body.len,
              d2.body.len);
    cr_assert_eq(memcmp(d1.body.data, d2.body.data, d1.body.len), 0);
    resp_free(&d1);
    resp_free(&d2);
    /* a fill job of the server ending clears it: the answer is inventory's again */
    char body[512];
    snprintf(body, sizeof body,
             "{\"network\": \"XX\", \"station\": \"KIL\", \"channel\": \"HHZ\", \"start_time\": "
             "\"%s\", \"duration_hours\": 1}",
             g_day1);
    cr_assert_eq(post("/api/backfill?wait=true", body, &r2), 200, "%s", r2.body.data);
    resp_free(&r2);
    snprintf(args, sizeof args, "inventory --config '%s' --scope all --json", g_config);
    free(cli(args, 0));
    cr_assert_eq(get("/api/cache-status?scope=all", &r2), 200);
    char *want = cli(args, 0);
    assert_json_equal(r2.body.data, want, NULL);
    cr_assert(strcmp(r2.body.data, r1.body.data) != 0);
    free(want);
    resp_free(&r1);
    resp_free(&r2);
}
