/*
 * test_source_empty.c: windows the data centre has no data for are asked
 * once, recorded in the manifest (source_empty), not asked again until a
 * recheck is due, reported by `gaps` as source-empty (exit 0), and cached
 * as soon as the data appears at the source.
 *
 * The source is tests/fdsn_server.py over a synthetic SDS archive of one
 * 20 Hz channel on 2025-11-04 with a 16-hour outage, 04:00 to 20:00.
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/manifest.h"
#include "r2cache/timewin.h"
#include "support.h"

#define DAY "2025-11-04"
#define OUT_MANIFEST "data/2025/11/XX/testvol/OUT/%/BHZ/XX_OUT__BHZ_20Hz_" DAY ".json"

static char *g_dir;
static char g_sds[4200];
static pid_t g_srv = -1;
static int g_port;

static int r2c(rc_buf *out, rc_buf *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int r2c(rc_buf *out, rc_buf *err, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return rc_test_r2cache(args, out, err);
}

/* The archive: the day with the outage, or (full = 1) the whole day, as
 * when the data centre receives the missing data later. */
static void make_sds(int full)
{
    char cmd[12000];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && %s sds --out '%s' --rate 20 --from " DAY " --to 2025-11-05 "
             "--chan XX.OUT..BHZ %s >/dev/null 2>&1",
             g_sds, rc_test_bin("r2cache-synth"), g_sds,
             full ? "" : "--gap " DAY "T04:00:00Z/" DAY "T20:00:00Z");
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0, "r2cache-synth failed");
}

static void setup(void)
{
    g_dir = rc_test_tmpdir("source-empty");
    cr_assert(g_dir);
    snprintf(g_sds, sizeof g_sds, "%s/sds", g_dir);
    make_sds(0);
    g_srv = rc_test_fdsn_start(g_sds, NULL, &g_port);
    cr_assert(g_srv > 0, "FDSN test server did not start");
}

static void teardown(void)
{
    rc_test_server_stop(g_srv);
    g_srv = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

TestSuite(source_empty, .init = setup, .fini = teardown, .timeout = 300);

static void config(char *cfg, size_t n, const char *extra)
{
    snprintf(cfg, n, "%s/c.json", g_dir);
    char json[4096];
    snprintf(json, sizeof json,
             "{\"source\": \"http://127.0.0.1:%d\", \"store\": \"%s/store\", "
             "\"spans\": [\"10m\", \"6h\"]%s,\n"
             " \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", "
             "\"stations\": [{\"network\": \"XX\", \"station\": \"OUT\", \"location\": \"\", "
             "\"channel\": \"BHZ\", \"sample_rate\": 20}]}]}\n",
             g_port, g_dir, extra);
    cr_assert_eq(rc_test_write_file(cfg, json, strlen(json)), 0);
}

static int requests(void)
{
    rc_buf out = RC_BUF_INIT;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -sf http://127.0.0.1:%d/stats", g_port);
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0);
    cJSON *j = cJSON_Parse(out.data);
    cr_assert(j, "no stats: %s", out.data);
    int n = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "requests"));
    cJSON_Delete(j);
    rc_buf_free(&out);
    return n;
}

static cJSON *json_of(const rc_buf *b)
{
    cJSON *j = b->data ? cJSON_Parse(b->data) : NULL;
    cr_assert(j, "not JSON: %s", b->data ? b->data : "(nothing)");
    return j;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsNumber(x), "no number %s", k);
    return x->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsString(x), "no string %s", k);
    return x->valuestring;
}

/* fill over the day at `now`; returns its JSON summary */
static cJSON *fill(const char *cfg, const char *now, const char *more, int *requests_made)
{
    int before = requests();
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2c(&out, &err,
                 "fill --config '%s' --from " DAY " --to 2025-11-05 --now %s %s --json "
                 "--log-format text",
                 cfg, now, more);
    cr_assert_eq(rc, 0, "fill %s exit %d: %s", more, rc, err.data);
    cJSON *j = json_of(&out);
    rc_buf_free(&out);
    rc_buf_free(&err);
    *requests_made = requests() - before;
    return j;
}

static rc_manifest load_manifest(void)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/store/%s", g_dir, OUT_MANIFEST);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(path, &b), 0, "no manifest %s", path);
    rc_manifest m;
    rc_err e;
    cr_assert_eq(rc_manifest_parse(RC_LAYOUT_SEED, b.data, b.len, &m, &e), RC_OK, "%s", e.msg);
    rc_buf_free(&b);
    return m;
}

static int64_t T(const char *iso)
{
    int64_t t;
    rc_err e;
    cr_assert_eq(rc_time_parse(iso, 0, &t, &e), RC_OK, "%s", e.msg);
    return t;
}

static cJSON *gaps(const char *cfg, const char *now, const char *more, int want_exit)
{
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2c(&out, &err,
                 "gaps --config '%s' --from " DAY " --to 2025-11-05 --now %s %s --json "
                 "--log-format text",
                 cfg, now, more);
    cr_assert_eq(rc, want_exit, "gaps %s: exit %d: %s", more, rc, err.data);
    cJSON *j = json_of(&out);
    rc_buf_free(&out);
    rc_buf_free(&err);
    return j;
}

Test(source_empty, an_outage_at_the_source_is_asked_once_then_rechecked_then_cached)
{
    char cfg[4400];
    config(cfg, sizeof cfg, "");
    int req;

    /* 1. the first fill (two days later) asks once and records the outage */
    cJSON *j = fill(cfg, "2025-11-06T00:00:00Z", "", &req);
    cr_assert_eq(req, 1);
    cr_assert_str_eq(str(j, "status"), "complete");
    cr_assert_eq(num(j, "chunks_added"), 48 + 2); /* 10-minute chunks outside, 00-06 and 18-24 */
    cr_assert_eq(num(j, "windows_no_data"), 96 + 2);
    cr_assert_eq(num(j, "windows_source_empty"), 0);
    cJSON_Delete(j);
    rc_manifest m = load_manifest();
    cr_assert_eq(m.nempty, 1);
    cr_assert_eq(m.empty[0].start, T(DAY "T04:00:00Z"));
    cr_assert_eq(m.empty[0].end, T(DAY "T20:00:00Z"));
    cr_assert_eq(m.empty[0].first_checked, T("2025-11-06T00:00:00Z"));
    cr_assert_eq(m.empty[0].last_checked, T("2025-11-06T00:00:00Z"));
    cr_assert_eq(m.empty[0].checks, 1);
    rc_manifest_free(&m);

    /* 2. the recovery job an hour later asks nothing: it converges */
    j = fill(cfg, "2025-11-06T01:00:00Z", "--auto --max-gap-hours 0", &req);
    cr_assert_eq(req, 0, "the recovery job asked the source again");
    cr_assert_eq(num(j, "requests"), 0);
    cJSON_Delete(j);
    /* a plain fill of the day skips the 96 + 2 windows as source-empty */
    j = fill(cfg, "2025-11-06T01:00:00Z", "", &req);
    cr_assert_eq(req, 0);
    cr_assert_eq(num(j, "windows_source_empty"), 96 + 2);
    cr_assert_eq(num(j, "chunks_skipped_present"), 48 + 2);
    cJSON_Delete(j);

    /* 3. gaps: two source-empty gaps, nothing missing, exit 0 */
    j = gaps(cfg, "2025-11-06T01:00:00Z", "", 0);
    cr_assert_eq(num(j, "windows_missing"), 0);
    cr_assert_eq(num(j, "windows_source_empty"), 96 + 2);
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(j, "counts");
    cr_assert_eq(num(counts, "critical"), 0);
    cr_assert_eq(num(cJSON_GetObjectItemCaseSensitive(j, "counts_source_empty"), "critical"), 1);
    const cJSON *ga = cJSON_GetObjectItemCaseSensitive(j, "gaps");
    cr_assert_eq(cJSON_GetArraySize(ga), 2);
    const cJSON *g = cJSON_GetArrayItem(ga, 0);
    cr_assert_str_eq(str(g, "kind"), "source-empty");
    cr_assert_str_eq(str(g, "span"), "10m");
    cr_assert_str_eq(str(g, "start"), DAY "T04:00:00Z");
    cr_assert_str_eq(str(g, "end"), DAY "T20:00:00Z");
    cr_assert_str_eq(str(g, "severity"), "critical");
    cr_assert_str_eq(str(g, "last_checked"), "2025-11-06T00:00:00Z");
    cr_assert_eq(num(g, "checks"), 1);
    /* asked at a data age of 43 h 50 min for the first window: next at 3 days */
    cr_assert_str_eq(str(g, "next_check"), "2025-11-07T04:10:00Z");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(g, "due")));
    g = cJSON_GetArrayItem(ga, 1);
    cr_assert_str_eq(str(g, "kind"), "source-empty");
    cr_assert_str_eq(str(g, "span"), "6h");
    cr_assert_str_eq(str(g, "start"), DAY "T06:00:00Z");
    cr_assert_str_eq(str(g, "end"), DAY "T18:00:00Z");
    cJSON_Delete(j);
    /* counted as well only when asked: then 16 h is critical and exit 1 */
    j = gaps(cfg, "2025-11-06T01:00:00Z", "--include-source-empty", 1);
    cr_assert_eq(num(cJSON_GetObjectItemCaseSensitive(j, "counts"), "critical"), 1);
    cJSON_Delete(j);
    /* the text names the kind and the recheck */
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(r2c(&out, NULL,
                     "gaps --config '%s' --from " DAY " --to 2025-11-05 --now "
                     "2025-11-06T01:00:00Z --log-format text",
                     cfg),
                 0);
    cr_assert(strstr(out.data, "XX.OUT..BHZ          10m  " DAY "T04:00:00Z  " DAY
                               "T20:00:00Z    16.00      96  critical source-empty: asked 1 "
                               "time, last 2025-11-06T00:00:00Z, next 2025-11-07T04:10:00Z\n"),
              "%s", out.data);
    cr_assert(strstr(out.data, "2 source-empty gaps (98 windows the source has no data for, "
                               "not counted above)"),
              "%s", out.data);
    rc_buf_free(&out);

    /* 4. once the recheck is due (data age 3 d for every window), the
     * recovery job asks exactly once more, and records the second check */
    j = gaps(cfg, "2025-11-08T00:00:00Z", "", 0);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "gaps"), 0), "due")));
    cJSON_Delete(j);
    j = fill(cfg, "2025-11-08T00:00:00Z", "--auto --max-gap-hours 0", &req);
    cr_assert_eq(req, 1);
    cr_assert_eq(num(j, "chunks_added"), 0);
    cJSON_Delete(j);
    m = load_manifest();
    cr_assert_eq(m.nempty, 1);
    cr_assert_eq(m.empty[0].first_checked, T("2025-11-06T00:00:00Z"));
    cr_assert_eq(m.empty[0].last_checked, T("2025-11-08T00:00:00Z"));
    cr_assert_eq(m.empty[0].checks, 2);
    rc_manifest_free(&m);
    j = fill(cfg, "2025-11-08T01:00:00Z", "--auto --max-gap-hours 0", &req);
    cr_assert_eq(req, 0, "asked again before the next recheck (7 d)");
    cJSON_Delete(j);

    /* 5. the data centre receives the data; at the 7-day recheck it is
     * cached, the record goes, and the gap closes */
    make_sds(1);
    j = fill(cfg, "2025-11-12T00:00:00Z", "--auto --max-gap-hours 0", &req);
    cr_assert_eq(req, 1);
    cr_assert_eq(num(j, "chunks_added"), 96 + 2);
    cJSON_Delete(j);
    m = load_manifest();
    cr_assert_eq(m.nempty, 0);
    cr_assert_eq(m.chunks[RC_SPAN_10M].n, 144);
    cr_assert(m.complete_day);
    rc_manifest_free(&m);
    j = gaps(cfg, "2025-11-12T00:00:00Z", "--include-source-empty", 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "gaps")), 0);
    cr_assert_eq(num(j, "windows_source_empty"), 0);
    cJSON_Delete(j);
}

Test(source_empty, past_the_last_recheck_only_recheck_asks)
{
    char cfg[4400];
    config(cfg, sizeof cfg, ", \"recheck_no_data\": [\"1h\"]");
    int req;
    cJSON *j = fill(cfg, "2025-11-06T00:00:00Z", "", &req);
    cr_assert_eq(req, 1);
    cJSON_Delete(j);
    /* asked at an age over 1 h: no recheck is left, ever */
    j = gaps(cfg, "2026-11-06T00:00:00Z", "", 0);
    const cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "gaps"), 0);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(g, "next_check")));
    cJSON_Delete(j);
    j = fill(cfg, "2026-11-06T00:00:00Z", "--auto --max-gap-hours 0", &req);
    cr_assert_eq(req, 0);
    cJSON_Delete(j);
    j = fill(cfg, "2026-11-06T00:00:00Z", "--recheck", &req);
    cr_assert_eq(req, 1);
    cr_assert_eq(num(j, "windows_no_data"), 96 + 2);
    cJSON_Delete(j);
    rc_manifest m = load_manifest();
    cr_assert_eq(m.empty[0].checks, 2);
    rc_manifest_free(&m);
    /* --force asks too */
    j = fill(cfg, "2026-11-06T01:00:00Z", "--force", &req);
    cr_assert_eq(req, 1);
    cJSON_Delete(j);
}

Test(source_empty, young_windows_are_not_recorded_late_data_is_normal_there)
{
    char cfg[4400];
    config(cfg, sizeof cfg, "");
    int req;
    /* the cron job at 04:32: the 04:00-04:30 windows are 2-32 minutes old */
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2c(&out, &err,
                 "run --config '%s' --now " DAY "T04:32:00Z --lookback 30m --json "
                 "--log-format text",
                 cfg);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    rc_buf_free(&out);
    rc_buf_free(&err);
    char path[4600];
    snprintf(path, sizeof path, "%s/store/%s", g_dir, OUT_MANIFEST);
    rc_buf b = RC_BUF_INIT;
    cr_assert_neq(rc_test_read_file(path, &b), 0, "a manifest was written: %s", b.data);
    /* so a fill an hour later asks for them again */
    cJSON *j = fill(cfg, DAY "T05:32:00Z", "", &req);
    cr_assert_eq(req, 1);
    cJSON_Delete(j);
}

Test(source_empty, bad_recheck_settings_are_refused_with_the_field)
{
    char cfg[4400];
    config(cfg, sizeof cfg, ", \"recheck_no_data\": [\"1d\", \"6h\"]");
    rc_buf err = RC_BUF_INIT;
    int rc = r2c(NULL, &err, "gaps --config '%s' --from " DAY " --to 2025-11-05", cfg);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err.data, "recheck_no_data[1]: must be longer than the age before it"), "%s",
              err.data);
    rc_buf_free(&err);
    config(cfg, sizeof cfg, ", \"recheck_no_data\": \"1h\"");
    rc = r2c(NULL, &err, "gaps --config '%s' --from " DAY " --to 2025-11-05", cfg);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err.data, "recheck_no_data: must be an array of ascending durations"), "%s",
              err.data);
    rc_buf_free(&err);
}

Test(source_empty, gaps_compare_source_says_what_the_source_holds_of_each_missing_gap)
{
    char cfg[4400];
    config(cfg, sizeof cfg, "");
    /* nothing cached: one missing gap per span; the source's availability
     * service lists 00:00-04:00 and 20:00-24:00 of it */
    cJSON *j = gaps(cfg, "2025-11-06T00:00:00Z", "--compare-source", 1);
    const cJSON *ga = cJSON_GetObjectItemCaseSensitive(j, "gaps");
    cr_assert_eq(cJSON_GetArraySize(ga), 2);
    for (int k = 0; k < 2; k++) {
        const cJSON *g = cJSON_GetArrayItem(ga, k);
        cr_assert_str_eq(str(g, "kind"), "missing");
        cr_assert_eq(num(g, "source_listed_seconds"), 8 * 3600);
    }
    cJSON_Delete(j);
    /* after a fill only the outage is left, source-empty: nothing to compare */
    int req;
    cJSON_Delete(fill(cfg, "2025-11-06T00:00:00Z", "", &req));
    j = gaps(cfg, "2025-11-06T01:00:00Z", "--compare-source", 0);
    const cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "gaps"), 0);
    cr_assert_str_eq(str(g, "kind"), "source-empty");
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(g, "source_listed_seconds"));
    cJSON_Delete(j);
    /* without a source it is a usage error */
    char bad[4400];
    snprintf(bad, sizeof bad, "%s/nosource.json", g_dir);
    const char *json = "{\"store\": \"/tmp/x\", \"volcanoes\": [{\"name\": \"v\", \"location\": "
                       "\"l\", \"stations\": [{\"network\": \"XX\", \"station\": \"OUT\", "
                       "\"location\": \"\", \"channel\": \"BHZ\", \"sample_rate\": 20}]}]}";
    cr_assert_eq(rc_test_write_file(bad, json, strlen(json)), 0);
    rc_buf err = RC_BUF_INIT;
    int rc =
        r2c(NULL, &err, "gaps --config '%s' --from " DAY " --to 2025-11-05 --compare-source", bad);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err.data, "--compare-source needs a source"), "%s", err.data);
    rc_buf_free(&err);
}
