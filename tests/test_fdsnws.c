/*
 * test_fdsnws.c: the FDSN services over a store built by the real
 * `r2cache fill` from a synthetic SDS archive (r2cache-synth): XX.GAP..HHZ
 * at 20 Hz from 2025-11-04T23:00 to 2025-11-05T01:00 (across midnight) with
 * a filled tail (23:29:30-23:30:00), a window without data (23:40-23:50), a
 * filled head (00:10:00-00:10:03) and a filled second inside a chunk
 * (00:31:00-00:31:01); XX.KIL..HHZ whole (configured first, so answers in
 * NET.STA.LOC.CHA order are seen to be sorted). rc_fdsnws_handle is called
 * directly; dataselect is checked against `r2cache get`. The same store
 * filled into RGW (CTest fixture "rgw") gives the same bytes.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <libmseed.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/config.h"
#include "r2cache/fdsnq.h"
#include "r2cache/fdsnws.h"
#include "r2cache/mspack.h"
#include "support.h"

static char *g_dir;
static char g_config[4400];
static rc_config g_cfg;

/* Fill the store at store_url (a directory or s3://...) from the synthetic
 * archive under dir (written when absent); cfgpath gets the configuration. */
static void fixture(const char *dir, const char *store_url, const char *layout, const char *cfgname,
                    char *cfgpath, size_t n)
{
    char cmd[16384];
    const char *synth = rc_test_bin("r2cache-synth");
    snprintf(cmd, sizeof cmd,
             "test -d '%s/sds' || { %s sds --out '%s/sds' --rate 20 --from 2025-11-04T23:00:00Z "
             "--to 2025-11-05T01:00:00Z "
             "--chan XX.GAP..HHZ --gap 2025-11-04T23:29:30Z/2025-11-04T23:30:00Z "
             "--gap 2025-11-04T23:40:00Z/2025-11-04T23:50:00Z "
             "--gap 2025-11-05T00:10:00Z/2025-11-05T00:10:03Z "
             "--gap 2025-11-05T00:31:00Z/2025-11-05T00:31:01Z && "
             "%s sds --out '%s/sds' --rate 20 --from 2025-11-04T23:00:00Z "
             "--to 2025-11-05T01:00:00Z --chan XX.KIL..HHZ; }",
             dir, synth, dir, synth, dir);
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "synth: %s", err.data ? err.data : "");
    rc_buf_free(&err);
    char json[12000];
    snprintf(
        json, sizeof json,
        "{\"source\": \"sds://%s/sds\", \"store\": \"%s\", \"layout\": \"%s\",\n"
        " \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", \"stations\": [\n"
        "  {\"network\": \"XX\", \"station\": \"KIL\", \"location\": \"\", \"channel\": \"HHZ\", "
        "\"sample_rate\": 20},\n"
        "  {\"network\": \"XX\", \"station\": \"GAP\", \"location\": \"\", \"channel\": \"HHZ\", "
        "\"sample_rate\": 20}]}]}\n",
        dir, store_url, layout);
    snprintf(cfgpath, n, "%s/%s", dir, cfgname);
    cr_assert_eq(rc_test_write_file(cfgpath, json, strlen(json)), 0);
    snprintf(cmd, sizeof cmd,
             "fill --config '%s' --all --from 2025-11-04T23:00:00Z --to 2025-11-05T01:00:00Z "
             "--log-format text",
             cfgpath);
    rc_buf eo = RC_BUF_INIT;
    int rc = rc_test_r2cache(cmd, NULL, &eo);
    cr_assert_eq(rc, 0, "fill: exit %d: %s", rc, eo.data ? eo.data : "");
    rc_buf_free(&eo);
}

static void setup(void)
{
    g_dir = rc_test_tmpdir("fdsnws");
    cr_assert(g_dir);
    char store[4400];
    snprintf(store, sizeof store, "%s/store", g_dir);
    fixture(g_dir, store, "seed", "config.json", g_config, sizeof g_config);
    rc_err e;
    cr_assert_eq(rc_config_load(g_config, &g_cfg, &e), RC_OK, "%s", e.msg);
}

static void teardown(void)
{
    rc_config_free(&g_cfg);
    rc_test_rmtree(g_dir);
    free(g_dir);
}

TestSuite(fdsnws, .init = setup, .fini = teardown, .timeout = 120);

static void call(const char *method, const char *path, const char *query, const char *body,
                 rc_fdsnws_reply *r)
{
    rc_fdsnws_ctx ctx = {&g_cfg, NULL, NULL, -1};
    cr_assert_eq(rc_fdsnws_handle(&ctx, method, path, query, body, body ? strlen(body) : 0, r), 0);
}

typedef struct tv {
    int64_t t;
    int32_t v;
} tv;

typedef struct tvs {
    tv *v;
    size_t n, cap;
    int series; /* record series (sequence number 1 seen) */
} tvs;

static void tvs_add(tvs *a, int64_t t, int32_t v)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4096;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        cr_assert(a->v);
    }
    a->v[a->n].t = t;
    a->v[a->n].v = v;
    a->n++;
}

/* Decode dataselect's answer: every record 512 bytes, quality M, codes. */
static void decode(const rc_buf *b, const char *sta, tvs *out)
{
    memset(out, 0, sizeof *out);
    cr_assert_eq(b->len % 512, 0);
    for (size_t off = 0; off < b->len; off += 512) {
        MSRecord *msr = NULL;
        cr_assert_eq(msr_parse(b->data + off, 512, &msr, 512, 1, 0), MS_NOERROR);
        cr_assert_str_eq(msr->network, "XX");
        cr_assert_str_eq(msr->station, sta);
        cr_assert_str_eq(msr->location, "");
        cr_assert_str_eq(msr->channel, "HHZ");
        cr_assert_eq(msr->dataquality, 'M');
        cr_assert_eq(msr->samprate, 20.0);
        if (msr->sequence_number == 1) out->series++;
        for (int64_t i = 0; i < msr->numsamples; i++)
            tvs_add(out, msr->starttime + llround((double)i * 1e6 / 20.0),
                    ((int32_t *)msr->datasamples)[i]);
        msr_free(&msr);
    }
}

/* `r2cache get --format csv` of [from, to), and the raw values. */
static void get_samples(const char *chan, const char *from, const char *to, tvs *out)
{
    memset(out, 0, sizeof *out);
    char args[8192];
    snprintf(args, sizeof args, "get %s --config '%s' --from %s --to %s --format csv", chan,
             g_config, from, to);
    rc_buf o = RC_BUF_INIT;
    rc_test_r2cache(args, &o, NULL);
    cr_assert(o.data && !strncmp(o.data, "time,value\n", 11));
    char *save = NULL;
    for (char *line = strtok_r(o.data + 11, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *comma = strchr(line, ',');
        cr_assert(comma);
        *comma = '\0';
        int64_t t;
        rc_err e;
        cr_assert_eq(rc_fdsnq_time_parse(line, &t, &e), RC_OK, "%s", line);
        tvs_add(out, t, (int32_t)strtol(comma + 1, NULL, 10));
    }
    rc_buf_free(&o);
    /* the raw values are the same samples */
    snprintf(args, sizeof args, "get %s --config '%s' --from %s --to %s --format raw", chan,
             g_config, from, to);
    rc_test_r2cache(args, &o, NULL);
    cr_assert_eq(o.len, out->n * 4, "raw gives %zu bytes for %zu csv rows", o.len, out->n);
    for (size_t i = 0; i < out->n; i++) {
        const unsigned char *p = (const unsigned char *)o.data + 4 * i;
        int32_t v = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                              (uint32_t)p[3] << 24);
        cr_assert_eq(v, out->v[i].v);
    }
    rc_buf_free(&o);
}

static int64_t T(const char *s)
{
    int64_t t;
    rc_err e;
    cr_assert_eq(rc_fdsnq_time_parse(s, &t, &e), RC_OK, "%s", s);
    return t;
}

Test(fdsnws, dataselect_equals_get_across_the_gaps_and_midnight)
{
    rc_fdsnws_reply r;
    call("GET", "/fdsnws/dataselect/1/query",
         "net=XX&sta=GAP&loc=--&cha=HHZ&starttime=2025-11-04T23:15:00&endtime=2025-11-05T00:35:00",
         NULL, &r);
    cr_assert_eq(r.status, 200, "%d: %s", r.status, r.body.data ? r.body.data : "");
    cr_assert_str_eq(r.content_type, "application/vnd.fdsn.mseed");
    tvs ds, get;
    decode(&r.body, "GAP", &ds);
    get_samples("XX.GAP..HHZ", "2025-11-04T23:15:00Z", "2025-11-05T00:35:00Z", &get);
    /* get prints the filled tail and head too (they are in the chunks);
     * dataselect leaves them out, and nothing else */
    int64_t g1a = T("2025-11-04T23:29:30"), g1b = T("2025-11-04T23:30:00");
    int64_t g3a = T("2025-11-05T00:10:00"), g3b = T("2025-11-05T00:10:03");
    size_t j = 0, dropped = 0;
    for (size_t i = 0; i < get.n; i++) {
        int64_t t = get.v[i].t;
        if ((t >= g1a && t < g1b) || (t >= g3a && t < g3b)) {
            dropped++;
            continue;
        }
        cr_assert(j < ds.n, "dataselect ends before get at %lld", (long long)t);
        cr_assert_eq(ds.v[j].t, t, "sample %zu: dataselect time %lld, get %lld", j,
                     (long long)ds.v[j].t, (long long)t);
        cr_assert_eq(ds.v[j].v, get.v[i].v, "sample %zu differs", j);
        j++;
    }
    cr_assert_eq(j, ds.n, "dataselect has %zu samples more than get", ds.n - j);
    cr_assert_eq(dropped, 600 + 60);
    /* 80 minutes less a 10-minute window, 30 s and 3 s */
    cr_assert_eq(ds.n, (size_t)((80 * 60 - 600 - 30 - 3) * 20));
    /* one record series per continuous segment:
     * 23:15-23:29:30, 23:30-23:40, 23:50-00:10, 00:10:03-00:35 */
    cr_assert_eq(ds.series, 4);
    /* the filled second inside 00:30-00:40 cannot be located: returned as stored */
    cr_assert_eq(ds.v[ds.n - 1].t, T("2025-11-05T00:34:59.95"));
    free(ds.v);
    free(get.v);
    rc_fdsnws_reply_free(&r);
}

Test(fdsnws, dataselect_trims_to_the_microsecond)
{
    rc_fdsnws_reply r;
    call("GET", "/fdsnws/dataselect/1/query",
         "network=XX&station=KIL&location=--&channel=HHZ&start=2025-11-04T23:59:59.02&"
         "end=2025-11-05T00:00:01",
         NULL, &r);
    cr_assert_eq(r.status, 200);
    tvs ds;
    decode(&r.body, "KIL", &ds);
    /* samples at .05 .. 00:00:00.95: 39, continuous across midnight, one series */
    cr_assert_eq(ds.n, 39);
    cr_assert_eq(ds.series, 1);
    cr_assert_eq(ds.v[0].t, T("2025-11-04T23:59:59.05"));
    cr_assert_eq(ds.v[38].t, T("2025-11-05T00:00:00.95"));
    tvs get;
    get_samples("XX.KIL..HHZ", "2025-11-04T23:59:59Z", "2025-11-05T00:00:01Z", &get);
    cr_assert_eq(get.n, 40);
    for (size_t i = 0; i < 39; i++) {
        cr_assert_eq(ds.v[i].t, get.v[i + 1].t);
        cr_assert_eq(ds.v[i].v, get.v[i + 1].v);
    }
    free(ds.v);
    free(get.v);
    rc_fdsnws_reply_free(&r);
}

Test(fdsnws, nodata_204_and_404)
{
    rc_fdsnws_reply r;
    call("GET", "/fdsnws/dataselect/1/query", "net=XX&start=2025-11-06&end=2025-11-06T01:00:00",
         NULL, &r);
    cr_assert_eq(r.status, 204);
    cr_assert_eq(r.body.len, 0);
    rc_fdsnws_reply_free(&r);
    call("GET", "/fdsnws/dataselect/1/query",
         "net=XX&start=2025-11-06&end=2025-11-06T01:00:00&nodata=404", NULL, &r);
    cr_assert_eq(r.status, 404);
    static const char nd[] =
        "Error 404: Not Found\n\nNo data: nothing cached matches the request\n";
    cr_assert(!strncmp(r.body.data, nd, sizeof nd - 1), "%s", r.body.data);
    rc_fdsnws_reply_free(&r);
    /* a channel that is not configured, and the window without data */
    call("GET", "/fdsnws/dataselect/1/query", "sta=NOPE&start=2025-11-04T23:00:00", NULL, &r);
    cr_assert_eq(r.status, 204);
    rc_fdsnws_reply_free(&r);
    call("GET", "/fdsnws/dataselect/1/query",
         "sta=GAP&start=2025-11-04T23:41:00&end=2025-11-04T23:49:00", NULL, &r);
    cr_assert_eq(r.status, 204);
    rc_fdsnws_reply_free(&r);
    call("GET", "/fdsnws/availability/1/query",
         "sta=GAP&start=2025-11-04T23:41:00&end=2025-11-04T23:49:00&nodata=404", NULL, &r);
    cr_assert_eq(r.status, 404);
    rc_fdsnws_reply_free(&r);
}

static const char Q_TEXT[] =
    "#Network Station Location Channel Quality SampleRate Earliest Latest\n"
    "XX GAP -- HHZ M 20.0 2025-11-04T23:00:00.000000Z 2025-11-04T23:29:30.000000Z\n"
    "XX GAP -- HHZ M 20.0 2025-11-04T23:30:00.000000Z 2025-11-04T23:40:00.000000Z\n"
    "XX GAP -- HHZ M 20.0 2025-11-04T23:50:00.000000Z 2025-11-05T00:10:00.000000Z\n"
    "XX GAP -- HHZ M 20.0 2025-11-05T00:10:03.000000Z 2025-11-05T01:00:00.000000Z\n"
    "XX KIL -- HHZ M 20.0 2025-11-04T23:00:00.000000Z 2025-11-05T01:00:00.000000Z\n";

Test(fdsnws, availability_query_text_geocsv_json_request)
{
    rc_fdsnws_reply r;
    const char *q = "net=XX&start=2025-11-04T22:00:00&end=2025-11-05T02:00:00";
    call("GET", "/fdsnws/availability/1/query", q, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.content_type, "text/plain; charset=utf-8");
    cr_assert_str_eq(r.body.data, Q_TEXT);
    rc_fdsnws_reply_free(&r);

    call("GET", "/fdsnws/availability/1/query",
         "sta=GAP&start=2025-11-04T23:20:00.01&end=2025-11-05T00:10:02&format=geocsv&"
         "merge=quality&mergegaps=1200",
         NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.content_type, "text/csv; charset=utf-8");
    cr_assert_str_eq(r.body.data,
                     "#dataset: GeoCSV 2.0\n#delimiter: |\n"
                     "#field_unit: unitless|unitless|unitless|unitless|hertz|ISO_8601|ISO_8601\n"
                     "#field_type: string|string|string|string|float|datetime|datetime\n"
                     "Network|Station|Location|Channel|SampleRate|Earliest|Latest\n"
                     "XX|GAP||HHZ|20.0|2025-11-04T23:20:00.050000Z|2025-11-05T00:10:00.000000Z\n");
    rc_fdsnws_reply_free(&r);

    call("GET", "/fdsnws/availability/1/query",
         "sta=GAP&start=2025-11-04T23:35:00&end=2025-11-05T00:20:00&format=json", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.content_type, "application/json");
    cJSON *j = cJSON_Parse(r.body.data);
    cr_assert(j);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(j, "created")));
    cJSON_DeleteItemFromObject(j, "created");
    char *txt = cJSON_PrintUnformatted(j);
    cr_assert_str_eq(txt, "{\"version\":1,\"datasources\":[{\"network\":\"XX\",\"station\":\"GAP\","
                          "\"location\":\"\",\"channel\":\"HHZ\",\"quality\":\"M\",\"samplerate\":"
                          "20,\"timespans\":[[\"2025-11-04T23:35:00.000000Z\",\"2025-11-04T23:40:"
                          "00.000000Z\"],[\"2025-11-04T23:50:00.000000Z\",\"2025-11-05T00:10:00."
                          "000000Z\"],[\"2025-11-05T00:10:03.000000Z\",\"2025-11-05T00:20:00.000000"
                          "Z\"]]}]}");
    free(txt);
    cJSON_Delete(j);
    rc_fdsnws_reply_free(&r);

    call("GET", "/fdsnws/availability/1/query",
         "net=XX&start=2025-11-04T22:00:00&end=2025-11-05T02:00:00&format=request&limit=2", NULL,
         &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body.data,
                     "XX GAP -- HHZ 2025-11-04T23:00:00.000000Z 2025-11-04T23:29:30.000000Z\n"
                     "XX GAP -- HHZ 2025-11-04T23:30:00.000000Z 2025-11-04T23:40:00.000000Z\n");
    rc_fdsnws_reply_free(&r);

    /* POST gives what GET gives */
    call("POST", "/fdsnws/availability/1/query", NULL,
         "format=text\nXX * -- HHZ 2025-11-04T22:00:00 2025-11-05T02:00:00\n", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body.data, Q_TEXT);
    rc_fdsnws_reply_free(&r);
}

Test(fdsnws, availability_extent)
{
    rc_fdsnws_reply r;
    call("GET", "/fdsnws/availability/1/extent",
         "net=XX&start=2025-11-04T22:00:00&end=2025-11-05T02:00:00&orderby=timespancount_desc",
         NULL, &r);
    cr_assert_eq(r.status, 200);
    /* Updated is when the blobs were written: check its shape, then the rest exactly */
    char *b = r.body.data;
    const char *head = "#Network Station Location Channel Quality SampleRate Earliest Latest "
                       "Updated TimeSpans Restriction\n";
    cr_assert(!strncmp(b, head, strlen(head)), "%s", b);
    char *l1 = b + strlen(head), *l2 = strchr(l1, '\n') + 1;
    char u1[64], u2[64];
    cr_assert_eq(sscanf(l1 + 77, "%63s", u1), 1);
    cr_assert_eq(sscanf(l2 + 77, "%63s", u2), 1);
    int64_t ut;
    rc_err e;
    cr_assert_eq(rc_fdsnq_time_parse(u1, &ut, &e), RC_OK, "%s: %s", u1, e.msg);
    char want[1024];
    snprintf(want, sizeof want,
             "%sXX GAP -- HHZ M 20.0 2025-11-04T23:00:00.000000Z 2025-11-05T01:00:00.000000Z %s "
             "4 OPEN\nXX KIL -- HHZ M 20.0 2025-11-04T23:00:00.000000Z "
             "2025-11-05T01:00:00.000000Z %s 1 OPEN\n",
             head, u1, u2);
    cr_assert_str_eq(b, want);
    rc_fdsnws_reply_free(&r);

    call("GET", "/fdsnws/availability/1/extent",
         "sta=KIL&start=2025-11-04T22:00:00&end=2025-11-05T02:00:00&format=json", NULL, &r);
    cJSON *j = cJSON_Parse(r.body.data);
    cJSON *ds = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "datasources"), 0);
    cr_assert_str_eq(cJSON_GetObjectItem(ds, "earliest")->valuestring,
                     "2025-11-04T23:00:00.000000Z");
    cr_assert_str_eq(cJSON_GetObjectItem(ds, "latest")->valuestring, "2025-11-05T01:00:00.000000Z");
    cr_assert_eq(cJSON_GetObjectItem(ds, "timespanCount")->valueint, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(ds, "restriction")->valuestring, "OPEN");
    cJSON_Delete(j);
    rc_fdsnws_reply_free(&r);
}

Test(fdsnws, request_output_fed_to_dataselect_post_gives_the_get_bytes)
{
    const char *win = "net=XX&sta=GAP,KIL&start=2025-11-04T23:25:00.01&end=2025-11-05T00:12:00";
    rc_fdsnws_reply av, get, post;
    char q[512];
    snprintf(q, sizeof q, "%s&format=request", win);
    call("GET", "/fdsnws/availability/1/query", q, NULL, &av);
    cr_assert_eq(av.status, 200);
    call("GET", "/fdsnws/dataselect/1/query", win, NULL, &get);
    cr_assert_eq(get.status, 200);
    call("POST", "/fdsnws/dataselect/1/query", NULL, av.body.data, &post);
    cr_assert_eq(post.status, 200, "%s", post.body.data ? post.body.data : "");
    cr_assert_eq(post.body.len, get.body.len);
    cr_assert_eq(memcmp(post.body.data, get.body.data, get.body.len), 0);
    /* GAP's 4 segments in the window (23:25-23:29:30, 23:30-23:40, 23:50-00:10,
     * 00:10:03-00:12), then KIL's one */
    cr_assert_eq(av.body.data[0], 'X');
    size_t lines = 0;
    for (const char *c = av.body.data; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 5, "%s", av.body.data);
    rc_fdsnws_reply_free(&av);
    rc_fdsnws_reply_free(&get);
    rc_fdsnws_reply_free(&post);
}

Test(fdsnws, errors_name_the_parameter_and_other_paths)
{
    static const struct {
        const char *method, *path, *query, *body;
        int status;
        const char *line3;
    } cases[] = {
        {"GET", "/fdsnws/dataselect/1/query", "net=XX&start=today", NULL, 400,
         "Bad request: starttime: 'today' is not a time: use YYYY-MM-DDTHH:MM:SS[.ffffff][Z] or "
         "YYYY-MM-DD (UTC)"},
        {"GET", "/fdsnws/dataselect/1/query", "start=2025-11-04&colour=red", NULL, 400,
         "Bad request: colour: unknown parameter for dataselect"},
        {"GET", "/fdsnws/availability/1/query", "net=XX", NULL, 400,
         "starttime: required here (the cache keeps one index per channel-day)"},
        {"GET", "/fdsnws/availability/1/extent", "start=2025-11-04&show=latestupdate", NULL, 400,
         "Bad request: show: unknown parameter for availability extent"},
        {"POST", "/fdsnws/dataselect/1/query", NULL, "XX GAP -- HHZ 2025-11-04\n", 400,
         "Bad request: line 1: a selection line is NET STA LOC CHA START END (6 fields, -- for "
         "an empty location), not 5 fields"},
        {"GET", "/fdsnws/dataselect/1/query", "start=2025-11-04&end=2026-11-04", NULL, 413,
         "Request too large: about 1261440000 samples asked for, at most 25000000 per request; "
         "ask for fewer channels or a shorter time window"},
        {"DELETE", "/fdsnws/dataselect/1/query", NULL, NULL, 405,
         "Method not allowed: use GET or POST"},
        {"GET", "/fdsnws/dataselect/1/queryauth", NULL, NULL, 404,
         "Not found: use query, version or application.wadl"},
        {"GET", "/fdsnws/station/1/query", NULL, NULL, 404,
         "Not found: this server answers /fdsnws/dataselect/1/ and /fdsnws/availability/1/"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc_fdsnws_reply r;
        call(cases[i].method, cases[i].path, cases[i].query, cases[i].body, &r);
        cr_assert_eq(r.status, cases[i].status, "%s %s?%s: %d", cases[i].method, cases[i].path,
                     cases[i].query, r.status);
        cr_assert_str_eq(r.content_type, "text/plain; charset=utf-8");
        char want[1024];
        snprintf(want, sizeof want, "Error %d: ", cases[i].status);
        cr_assert(!strncmp(r.body.data, want, strlen(want)), "%s", r.body.data);
        const char *l3 = strstr(r.body.data, "\n\n");
        cr_assert(l3);
        l3 += 2;
        cr_assert(!strncmp(l3, cases[i].line3, strlen(cases[i].line3)) &&
                      l3[strlen(cases[i].line3)] == '\n',
                  "%s", r.body.data);
        char req[512];
        snprintf(req, sizeof req, "\n\nRequest:\n%s%s%s\n\nRequest Submitted:\n", cases[i].path,
                 cases[i].query ? "?" : "", cases[i].query ? cases[i].query : "");
        cr_assert(strstr(r.body.data, req), "%s", r.body.data);
        rc_fdsnws_reply_free(&r);
    }
    rc_fdsnws_reply r;
    call("GET", "/fdsnws/dataselect/1/version", NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body.data, "1.1.0\n");
    rc_fdsnws_reply_free(&r);
    call("GET", "/fdsnws/availability/1/version", NULL, NULL, &r);
    cr_assert_str_eq(r.body.data, "1.0.0\n");
    rc_fdsnws_reply_free(&r);
    call("GET", "/fdsnws/availability/1/application.wadl", NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.content_type, "application/xml");
    cr_assert(strstr(r.body.data, "<resource path=\"extent\">"));
    cr_assert(strstr(r.body.data, "<param name=\"mergegaps\""));
    rc_fdsnws_reply_free(&r);
}

typedef struct par {
    rc_fdsnws_reply r[2];
} par;

static void *worker(void *ud)
{
    par *p = ud;
    rc_fdsnws_ctx ctx = {&g_cfg, NULL, NULL, -1};
    const char *q = "net=XX&start=2025-11-04T23:00:00&end=2025-11-05T01:00:00";
    if (rc_fdsnws_handle(&ctx, "GET", "/fdsnws/dataselect/1/query", q, NULL, 0, &p->r[0]) ||
        rc_fdsnws_handle(&ctx, "GET", "/fdsnws/availability/1/query", q, NULL, 0, &p->r[1]))
        return (void *)1;
    return NULL;
}

/* serve calls the handler from its thread pool: four at once give the one answer */
Test(fdsnws, concurrent_calls_give_the_same_bytes)
{
    rc_mspack_init();
    par p[4];
    pthread_t th[4];
    memset(p, 0, sizeof p);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, worker, &p[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        cr_assert_null(rv);
    }
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(p[0].r[k].status, 200);
        for (int i = 1; i < 4; i++) {
            cr_assert_eq(p[i].r[k].body.len, p[0].r[k].body.len);
            cr_assert_eq(memcmp(p[i].r[k].body.data, p[0].r[k].body.data, p[0].r[k].body.len), 0);
        }
    }
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 2; k++)
            rc_fdsnws_reply_free(&p[i].r[k]);
}

/* The viewer layout (no rate in the keys, its own manifest lists): the same answers. */
Test(fdsnws, the_viewer_layout_gives_the_same_answers)
{
    char store[4400], vcfg[4400];
    snprintf(store, sizeof store, "%s/viewer-store", g_dir);
    fixture(g_dir, store, "viewer", "viewer.json", vcfg, sizeof vcfg);
    rc_config vc;
    rc_err e;
    cr_assert_eq(rc_config_load(vcfg, &vc, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(vc.layout, RC_LAYOUT_VIEWER);
    rc_fdsnws_ctx seed = {&g_cfg, NULL, NULL, -1}, viewer = {&vc, NULL, NULL, -1};
    static const struct {
        const char *path, *query;
    } asks[] = {
        {"/fdsnws/dataselect/1/query",
         "net=XX&start=2025-11-04T23:15:00.01&end=2025-11-05T00:35:00"},
        {"/fdsnws/availability/1/query",
         "net=XX&start=2025-11-04T22:00:00&end=2025-11-05T02:00:00&format=text"},
    };
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        rc_fdsnws_reply a, b;
        cr_assert_eq(rc_fdsnws_handle(&seed, "GET", asks[i].path, asks[i].query, NULL, 0, &a), 0);
        cr_assert_eq(rc_fdsnws_handle(&viewer, "GET", asks[i].path, asks[i].query, NULL, 0, &b), 0);
        cr_assert_eq(a.status, 200);
        cr_assert_eq(b.status, 200, "%s (viewer): %d %s", asks[i].path, b.status,
                     b.body.data ? b.body.data : "");
        cr_assert_eq(a.body.len, b.body.len, "%s", asks[i].path);
        cr_assert_eq(memcmp(a.body.data, b.body.data, a.body.len), 0, "%s", asks[i].path);
        rc_fdsnws_reply_free(&a);
        rc_fdsnws_reply_free(&b);
    }
    rc_config_free(&vc);
}

/* --- a real recording ------------------------------------------------------------ */

/* HV.HOVE..HHZ (100 Hz, 2019-04-14 03:08:32-03:16:02, Steim2) put in an SDS
 * archive, filled, and read back through dataselect: exactly the recorded
 * samples, at their recorded times (the two chunks around it are mostly
 * filled: their head and tail are left out). */
Test(fdsnws_real, a_real_recording_comes_back_sample_for_sample, .timeout = 120)
{
    RC_REQUIRE_MSEED();
    char *src = rc_test_mseed_path("HV.HOVE..HHZ__20190414T030832Z__20190414T031602Z.mseed");
    char *dir = rc_test_tmpdir("fdsnws-real");
    cr_assert(dir);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/sds/2019/HV/HOVE/HHZ.D' && cp '%s' '%s/sds/2019/HV/HOVE/HHZ.D/"
             "HV.HOVE..HHZ.D.2019.104'",
             dir, src, dir);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    char cfgpath[4400], json[9000];
    snprintf(cfgpath, sizeof cfgpath, "%s/config.json", dir);
    snprintf(json, sizeof json,
             "{\"source\": \"sds://%s/sds\", \"store\": \"%s/store\", \"volcanoes\": [{\"name\": "
             "\"kilauea\", \"location\": \"hawaii\", \"stations\": [{\"network\": \"HV\", "
             "\"station\": \"HOVE\", \"location\": \"\", \"channel\": \"HHZ\", \"sample_rate\": "
             "100}]}]}\n",
             dir, dir);
    cr_assert_eq(rc_test_write_file(cfgpath, json, strlen(json)), 0);
    snprintf(cmd, sizeof cmd,
             "fill --config '%s' --all --from 2019-04-14T03:00:00Z --to 2019-04-14T03:20:00Z "
             "--log-format text",
             cfgpath);
    cr_assert_eq(rc_test_r2cache(cmd, NULL, NULL), 0);
    rc_config cfg;
    rc_err e;
    cr_assert_eq(rc_config_load(cfgpath, &cfg, &e), RC_OK, "%s", e.msg);
    rc_fdsnws_ctx ctx = {&cfg, NULL, NULL, -1};
    rc_fdsnws_reply r;
    const char *q = "net=HV&sta=HOVE&cha=HHZ&start=2019-04-14T03:00:00&end=2019-04-14T03:20:00";
    cr_assert_eq(rc_fdsnws_handle(&ctx, "GET", "/fdsnws/dataselect/1/query", q, NULL, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    /* the original, decoded by libmseed */
    MSTraceGroup *mstg = NULL;
    cr_assert_eq(ms_readtraces(&mstg, src, 0, -1.0, -1.0, 0, 1, 1, 0), MS_NOERROR);
    cr_assert_eq(mstg->numtraces, 1, "the recording is one continuous trace");
    MSTrace *t = mstg->traces;
    cr_assert_eq(t->sampletype, 'i');
    /* dataselect, decoded the same way */
    char path[4400];
    snprintf(path, sizeof path, "%s/ds.mseed", dir);
    cr_assert_eq(rc_test_write_file(path, r.body.data, r.body.len), 0);
    MSTraceGroup *dsg = NULL;
    cr_assert_eq(ms_readtraces(&dsg, path, 0, -1.0, -1.0, 0, 1, 1, 0), MS_NOERROR);
    cr_assert_eq(dsg->numtraces, 1, "dataselect gave %d traces", dsg->numtraces);
    MSTrace *d = dsg->traces;
    cr_assert_eq(d->numsamples, t->numsamples, "dataselect %lld samples, recording %lld",
                 (long long)d->numsamples, (long long)t->numsamples);
    cr_assert_eq(memcmp(d->datasamples, t->datasamples, (size_t)t->numsamples * 4), 0);
    /* times: the recording's, placed on the cache's grid (within 50 us) */
    cr_assert(llabs(d->starttime - t->starttime) <= 50, "start %lld vs %lld",
              (long long)d->starttime, (long long)t->starttime);
    cr_assert(llabs(d->endtime - t->endtime) <= 50);
    mst_freegroup(&mstg);
    mst_freegroup(&dsg);
    rc_fdsnws_reply_free(&r);
    /* availability says the same */
    cr_assert_eq(rc_fdsnws_handle(&ctx, "GET", "/fdsnws/availability/1/query",
                                  "net=HV&start=2019-04-14T03:00:00&end=2019-04-14T03:20:00&"
                                  "format=request",
                                  NULL, 0, &r),
                 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(strchr(r.body.data, '\n') - r.body.data + 1, (long)r.body.len, "one span: %s",
                 r.body.data);
    rc_fdsnws_reply_free(&r);
    rc_config_free(&cfg);
    rc_test_rmtree(dir);
    free(dir);
    free(src);
}

/* --- the same over S3 (RGW, started by the CTest fixture "rgw") --------------------- */

static void s3_setup(void)
{
    char bucket[256], endpoint[512];
    if (rc_test_rgw_env(bucket, sizeof bucket, endpoint, sizeof endpoint) != 0)
        cr_skip_test("SKIPPED: %s/rgw/env is absent (run through ctest, whose rgw fixture "
                     "starts RGW)",
                     RC_BINARY_DIR);
    g_dir = rc_test_tmpdir("fdsnws-s3");
    cr_assert(g_dir);
    char store[4400];
    snprintf(store, sizeof store, "%s/store", g_dir);
    fixture(g_dir, store, "seed", "config.json", g_config, sizeof g_config);
    rc_err e;
    cr_assert_eq(rc_config_load(g_config, &g_cfg, &e), RC_OK, "%s", e.msg);
}

TestSuite(fdsnws_s3, .init = s3_setup, .fini = teardown, .timeout = 180);

/* The handler opens an S3 store itself (store_url and store_opts of the
 * context, as serve passes them): the answers are the local store's bytes. */
Test(fdsnws_s3, an_s3_store_gives_the_local_answers)
{
    char bucket[256], endpoint[512], url[1024], s3cfg[4400];
    cr_assert_eq(rc_test_rgw_env(bucket, sizeof bucket, endpoint, sizeof endpoint), 0);
    snprintf(url, sizeof url, "s3://%s/fdsnws-%d-%ld", bucket, (int)getpid(), (long)time(NULL));
    fixture(g_dir, url, "seed", "s3.json", s3cfg, sizeof s3cfg);
    rc_store_opts so;
    rc_store_opts_default(&so);
    so.endpoint = endpoint;
    rc_fdsnws_ctx local = {&g_cfg, NULL, NULL, -1};
    rc_fdsnws_ctx s3 = {&g_cfg, url, &so, (int)g_cfg.layout};
    static const struct {
        const char *path, *query;
    } asks[] = {
        {"/fdsnws/dataselect/1/query",
         "net=XX&start=2025-11-04T23:15:00.01&end=2025-11-05T00:35:00"},
        {"/fdsnws/availability/1/query",
         "net=XX&start=2025-11-04T22:00:00&end=2025-11-05T02:00:00&format=request"},
        {"/fdsnws/availability/1/extent",
         "net=XX&start=2025-11-04T22:00:00&end=2025-11-05T02:00:00&format=request"},
    };
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        rc_fdsnws_reply a, b;
        cr_assert_eq(rc_fdsnws_handle(&local, "GET", asks[i].path, asks[i].query, NULL, 0, &a), 0);
        cr_assert_eq(rc_fdsnws_handle(&s3, "GET", asks[i].path, asks[i].query, NULL, 0, &b), 0);
        cr_assert_eq(a.status, 200, "%s", asks[i].path);
        cr_assert_eq(b.status, 200, "%s over S3: %d %s", asks[i].path, b.status,
                     b.body.data ? b.body.data : "");
        cr_assert_eq(a.body.len, b.body.len, "%s", asks[i].path);
        cr_assert_eq(memcmp(a.body.data, b.body.data, a.body.len), 0, "%s", asks[i].path);
        rc_fdsnws_reply_free(&a);
        rc_fdsnws_reply_free(&b);
    }
}
