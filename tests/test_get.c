/*
 * test_get.c: `r2cache get` takes data out as a seismologist's tools read
 * it. A synthetic archive (tools/synth_signal.h gives every sample's value)
 * with a gap at a chunk boundary and a missing window is cached, then read
 * back: --format mseed through libmseed's own reader (ms_readmsr) has the
 * exact samples at their exact times, a record break at the gap and none at
 * midnight; --json has the same samples with start, rate, segments and gaps;
 * times take fractional seconds; -h is --help everywhere.
 */
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <libmseed.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tools/synth_signal.h"
#include "r2cache/version.h"
#include "support.h"

static char *g_dir;
static char g_config[4200];

#define RATE 20
#define PERIOD_US 50000LL
#define T(s) ((int64_t)(s)*1000000)
/* 2025-11-04T23:40:00Z .. 2025-11-05T00:20:00Z recorded, except the gap
 * [23:49:57, 23:50:03) (the tail of one ten-minute chunk and the head of the
 * next, which the manifests locate) and all of 00:10-00:20 (no chunk). */
#define T2340 1762299600LL
#define T2350 (T2340 + 600)
#define MIDNIGHT 1762300800LL
#define T0010 (MIDNIGHT + 600)
#define T0020 (MIDNIGHT + 1200)
#define GAP_FROM T(T2350 - 3)
#define GAP_TO T(T2350 + 3)

static int32_t want(const char *id, int64_t t_us)
{
    return rc_synth_value(id, t_us * RATE / 1000000);
}

static void setup(void)
{
    g_dir = rc_test_tmpdir("get");
    cr_assert(g_dir);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "%s sds --out '%s/sds' --chan XX.AAA..HHZ --chan XX.BBB.00.BHZ --rate %d "
             "--from 2025-11-04T23:40:00Z --to 2025-11-05T00:20:00Z "
             "--gap 2025-11-04T23:49:57Z/2025-11-04T23:50:03Z "
             "--gap 2025-11-05T00:10:00Z/2025-11-05T00:20:00Z >/dev/null",
             rc_test_bin("r2cache-synth"), g_dir, RATE);
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "r2cache-synth: %s", err.data);
    rc_buf_free(&err);
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    char cfg[12000];
    snprintf(cfg, sizeof cfg,
             "{\"source\": \"sds://%s/sds\", \"store\": \"%s/store\", \"spans\": [\"10m\", "
             "\"6h\"],\n \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", "
             "\"stations\": [\n"
             "  {\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"\", \"channel\": "
             "\"HHZ\", \"sample_rate\": %d},\n"
             "  {\"network\": \"XX\", \"station\": \"BBB\", \"location\": \"00\", \"channel\": "
             "\"BHZ\", \"sample_rate\": %d}]}]}\n",
             g_dir, g_dir, RATE, RATE);
    cr_assert_eq(rc_test_write_file(g_config, cfg, strlen(cfg)), 0);
    snprintf(cmd, sizeof cmd,
             "fill --config '%s' --from 2025-11-04T23:40:00Z --to 2025-11-05T00:20:00Z "
             "--log-level warn",
             g_config);
    err = (rc_buf)RC_BUF_INIT;
    cr_assert_eq(rc_test_r2cache(cmd, NULL, &err), 0, "fill: %s", err.data);
    rc_buf_free(&err);
}

static void teardown(void)
{
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

TestSuite(get, .init = setup, .fini = teardown, .timeout = 120);

/* `r2cache get ARGS` with the configuration; exit status, stdout, stderr. */
static int get(const char *args, rc_buf *out, rc_buf *err)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "get --config '%s' %s", g_config, args);
    return rc_test_r2cache(cmd, out, err);
}

/* Read a miniSEED file with libmseed's reader and check every sample of it
 * against the signal: the value at its time, never inside a gap. Returns the
 * sample count; *break_at_gap: a record starts exactly where the data
 * resumes; *across_midnight: one record holds samples of both days. */
static int64_t read_back(const char *path, const char *id, int reclen, int *break_at_gap,
                         int *across_midnight)
{
    MSRecord *msr = NULL;
    int64_t n = 0, next = -1;
    int rc;
    *break_at_gap = *across_midnight = 0;
    char net[8], sta[8], loc[8], cha[8];
    cr_assert_eq(sscanf(id, "%2[^.].%5[^.].", net, sta), 2);
    const char *l = strchr(strchr(id, '.') + 1, '.') + 1;
    snprintf(loc, sizeof loc, "%.*s", (int)(strchr(l, '.') - l), l);
    snprintf(cha, sizeof cha, "%s", strrchr(id, '.') + 1);
    while ((rc = ms_readmsr(&msr, path, 0, NULL, NULL, 1, 1, 0)) == MS_NOERROR) {
        cr_assert_str_eq(msr->network, net);
        cr_assert_str_eq(msr->station, sta);
        cr_assert_str_eq(msr->location, loc);
        cr_assert_str_eq(msr->channel, cha);
        cr_assert_eq(msr->reclen, reclen);
        cr_assert_eq(msr->dataquality, 'M');
        cr_assert_eq(msr->samprate, RATE);
        cr_assert_eq(msr->sampletype, 'i');
        int64_t t0 = (int64_t)msr->starttime; /* hptime_t: microseconds */
        cr_assert(t0 >= next, "record at %lld overlaps the one before", (long long)t0);
        if (t0 == GAP_TO) *break_at_gap = 1;
        int64_t last = t0 + (msr->numsamples - 1) * PERIOD_US;
        if (t0 < T(MIDNIGHT) && last >= T(MIDNIGHT)) *across_midnight = 1;
        const int32_t *s = msr->datasamples;
        for (int64_t k = 0; k < msr->numsamples; k++) {
            int64_t t = t0 + k * PERIOD_US;
            cr_assert(t < GAP_FROM || t >= GAP_TO, "sample at %lld lies in the gap", (long long)t);
            cr_assert(t < T(T0010), "sample at %lld lies in the missing window", (long long)t);
            cr_assert_eq(s[k], want(id, t), "%s sample at %lld is %d, the archive has %d", id,
                         (long long)t, s[k], want(id, t));
        }
        n += msr->numsamples;
        next = last + PERIOD_US;
    }
    cr_assert_eq(rc, MS_ENDOFFILE, "libmseed stopped reading %s: %s", path, ms_errorstr(rc));
    ms_readmsr(&msr, NULL, 0, NULL, NULL, 0, 0, 0); /* close the file */
    return n;
}

Test(get, mseed_read_back_by_libmseed_has_the_exact_samples_across_a_gap_and_midnight)
{
    static const int reclens[] = {4096, 512};
    for (int r = 0; r < 2; r++) {
        char path[4400], args[8400];
        snprintf(path, sizeof path, "%s/out-%d.mseed", g_dir, reclens[r]);
        snprintf(args, sizeof args,
                 "XX.AAA..HHZ --from 2025-11-04T23:49:55.5Z --to 2025-11-05T00:20:00Z "
                 "--format mseed --reclen %d -o '%s'",
                 reclens[r], path);
        rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
        /* the missing window makes it exit 1 and is named */
        cr_assert_eq(get(args, &out, &err), 1, "%s", err.data);
        cr_assert_eq(out.len, 0, "with -o nothing goes to stdout");
        cr_assert(strstr(err.data, "XX.AAA..HHZ 10m window 2025-11-05T00:10:00Z"), "%s", err.data);
        cr_assert(strstr(err.data, "23970 samples from 3 chunks; 1 windows not cached"), "%s",
                  err.data);
        rc_buf_free(&out);
        rc_buf_free(&err);
        int at_gap, midnight;
        /* 30 samples before the gap, 23:50:03 .. 00:10:00 after it */
        cr_assert_eq(read_back(path, "XX.AAA..HHZ", reclens[r], &at_gap, &midnight),
                     30 + (T0010 - (T2350 + 3)) * RATE);
        cr_assert(at_gap, "no record starts where the data resumes after the gap");
        cr_assert(midnight, "the records break at midnight although the data does not");
    }
    /* a located channel, to stdout, across midnight only */
    char path[4400], args[8400];
    snprintf(path, sizeof path, "%s/bbb.mseed", g_dir);
    snprintf(args, sizeof args,
             "XX.BBB.00.BHZ --from 2025-11-04T23:59:00Z --to 2025-11-05T00:01:00Z "
             "--format mseed > '%s'",
             path);
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(get(args, NULL, &err), 0, "%s", err.data);
    rc_buf_free(&err);
    int at_gap, midnight;
    cr_assert_eq(read_back(path, "XX.BBB.00.BHZ", 4096, &at_gap, &midnight), 120 * RATE);
    cr_assert(midnight);
}

static const cJSON *item(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(v, "JSON field %s missing", k);
    return v;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = item(o, k);
    cr_assert(cJSON_IsString(v), "JSON field %s is not a string", k);
    return v->valuestring;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = item(o, k);
    cr_assert(cJSON_IsNumber(v), "JSON field %s is not a number", k);
    return v->valuedouble;
}

static void validate(const char *doc)
{
    if (rc_test_sh("python3 -c 'import jsonschema' 2>/dev/null", NULL, NULL) != 0) return;
    char path[4400], cmd[12000];
    snprintf(path, sizeof path, "%s/doc.json", g_dir);
    cr_assert_eq(rc_test_write_file(path, doc, strlen(doc)), 0);
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json, sys, jsonschema; "
             "jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))' "
             "'%s/schemas/get.schema.json' '%s' 2>&1",
             RC_SOURCE_DIR, path);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0, "get --json does not validate: %s", out.data);
    rc_buf_free(&out);
}

Test(get, json_has_the_samples_with_start_rate_segments_and_gaps)
{
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    cr_assert_eq(get("XX.AAA..HHZ --from 2025-11-04T23:49:55.5Z --to 2025-11-05T00:20:00Z --json",
                     &out, &err),
                 1, "%s", err.data);
    validate(out.data);
    cJSON *j = cJSON_Parse(out.data);
    cr_assert(j, "not JSON: %.300s", out.data);
    cr_assert_str_eq(str(j, "command"), "get");
    cr_assert_str_eq(str(j, "version"), R2CACHE_VERSION);
    cr_assert_str_eq(str(j, "status"), "partial");
    cr_assert_str_eq(str(j, "channel"), "XX.AAA..HHZ");
    cr_assert_str_eq(str(j, "network"), "XX");
    cr_assert_str_eq(str(j, "station"), "AAA");
    cr_assert_str_eq(str(j, "location_code"), "");
    cr_assert_str_eq(str(j, "channel_code"), "HHZ");
    cr_assert_str_eq(str(j, "volcano"), "testvol");
    cr_assert_str_eq(str(j, "region"), "testland");
    cr_assert_str_eq(str(j, "from"), "2025-11-04T23:49:55.500000Z");
    cr_assert_str_eq(str(j, "to"), "2025-11-05T00:20:00.000000Z");
    cr_assert_str_eq(str(j, "start"), "2025-11-04T23:49:55.500000Z");
    cr_assert_eq(num(j, "rate"), RATE);
    cr_assert_eq(num(j, "sample_count"), 23970);
    cr_assert_eq(num(j, "chunks_read"), 3);
    cr_assert_eq(num(j, "windows_missing"), 1);
    cr_assert_str_eq(str(j, "span"), "10m");
    const cJSON *segs = item(j, "segments");
    cr_assert_eq(cJSON_GetArraySize(segs), 2);
    const cJSON *a = cJSON_GetArrayItem(segs, 0), *b = cJSON_GetArrayItem(segs, 1);
    cr_assert_str_eq(str(a, "start"), "2025-11-04T23:49:55.500000Z");
    cr_assert_str_eq(str(a, "end"), "2025-11-04T23:49:57.000000Z");
    cr_assert_eq(num(a, "first"), 0);
    cr_assert_eq(num(a, "count"), 30);
    cr_assert_str_eq(str(b, "start"), "2025-11-04T23:50:03.000000Z");
    cr_assert_str_eq(str(b, "end"), "2025-11-05T00:10:00.000000Z");
    cr_assert_eq(num(b, "first"), 30);
    cr_assert_eq(num(b, "count"), 23940);
    const cJSON *gaps = item(j, "gaps");
    cr_assert_eq(cJSON_GetArraySize(gaps), 2);
    cr_assert_eq(num(j, "gap_count"), 2);
    cr_assert_str_eq(str(cJSON_GetArrayItem(gaps, 0), "start"), "2025-11-04T23:49:57.000000Z");
    cr_assert_str_eq(str(cJSON_GetArrayItem(gaps, 0), "end"), "2025-11-04T23:50:03.000000Z");
    cr_assert_str_eq(str(cJSON_GetArrayItem(gaps, 1), "start"), "2025-11-05T00:10:00.000000Z");
    cr_assert_str_eq(str(cJSON_GetArrayItem(gaps, 1), "end"), "2025-11-05T00:20:00.000000Z");
    /* every sample is the archive's value at the time its segment gives it */
    const cJSON *s = item(j, "samples");
    cr_assert_eq(cJSON_GetArraySize(s), 23970);
    for (int i = 0; i < 23970; i++) {
        int64_t t = i < 30 ? T(T2350 - 5) + 500000 + i * PERIOD_US : GAP_TO + (i - 30) * PERIOD_US;
        cr_assert_eq(cJSON_GetArrayItem(s, i)->valueint, want("XX.AAA..HHZ", t), "sample %d", i);
    }
    cJSON_Delete(j);
    rc_buf_free(&out);
    rc_buf_free(&err);

    /* a located channel across midnight, nothing missing: complete, no gaps */
    out = (rc_buf)RC_BUF_INIT;
    err = (rc_buf)RC_BUF_INIT;
    cr_assert_eq(get("XX.BBB.00.BHZ --from 2025-11-04T23:59:59.5Z --to 2025-11-05T00:00:00.5Z "
                     "--format json",
                     &out, &err),
                 0, "%s", err.data);
    validate(out.data);
    j = cJSON_Parse(out.data);
    cr_assert(j);
    cr_assert_str_eq(str(j, "status"), "complete");
    cr_assert_str_eq(str(j, "location_code"), "00");
    cr_assert_str_eq(str(j, "channel"), "XX.BBB.00.BHZ");
    cr_assert_eq(cJSON_GetArraySize(item(j, "gaps")), 0);
    cr_assert_eq(cJSON_GetArraySize(item(j, "segments")), 1);
    s = item(j, "samples");
    cr_assert_eq(cJSON_GetArraySize(s), 20);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(cJSON_GetArrayItem(s, i)->valueint,
                     want("XX.BBB.00.BHZ", T(MIDNIGHT) - 500000 + i * PERIOD_US), "sample %d", i);
    cJSON_Delete(j);
    rc_buf_free(&out);
    rc_buf_free(&err);

    /* a gap in cached data, every window there: exit 0, "complete", the gap listed */
    out = (rc_buf)RC_BUF_INIT;
    err = (rc_buf)RC_BUF_INIT;
    cr_assert_eq(
        get("XX.AAA..HHZ --from 2025-11-04T23:49:00Z --to 2025-11-04T23:51:00Z --json", &out, &err),
        0, "%s", err.data);
    j = cJSON_Parse(out.data);
    cr_assert(j);
    cr_assert_str_eq(str(j, "status"), "complete");
    cr_assert_eq(num(j, "windows_missing"), 0);
    cr_assert_eq(num(j, "gap_count"), 1);
    cr_assert_str_eq(str(cJSON_GetArrayItem(item(j, "gaps"), 0), "start"),
                     "2025-11-04T23:49:57.000000Z");
    cr_assert_eq(num(j, "sample_count"), (120 - 6) * RATE);
    cJSON_Delete(j);
    rc_buf_free(&out);
    rc_buf_free(&err);

    /* --json names one output: another --format with it is refused */
    err = (rc_buf)RC_BUF_INIT;
    cr_assert_eq(get("XX.AAA..HHZ --from 2025-11-04T23:50:00Z --to 2025-11-04T23:51:00Z --json "
                     "--format raw",
                     NULL, &err),
                 2);
    cr_assert(strstr(err.data, "--json and --format raw: give one of them"), "%s", err.data);
    rc_buf_free(&err);
}

Test(get, times_take_fractional_seconds_where_samples_are_read)
{
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    cr_assert_eq(
        get("XX.AAA..HHZ --from 2025-11-04T23:59:59.51Z --to 2025-11-05T00:00:00.1Z", &out, &err),
        0, "%s", err.data);
    /* samples at .55 .. .95 and 00:00:00.00, .05: 11 lines after the header */
    char exp[1024];
    int64_t t = T(MIDNIGHT) - 450000;
    int n = snprintf(exp, sizeof exp, "time,value\n");
    for (int i = 0; i < 11; i++, t += PERIOD_US) {
        time_t sec = (time_t)(t / 1000000);
        struct tm tm;
        gmtime_r(&sec, &tm);
        n += snprintf(exp + n, sizeof exp - (size_t)n, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ,%d\n",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                      tm.tm_sec, (long long)(t % 1000000), want("XX.AAA..HHZ", t));
    }
    cr_assert_str_eq(out.data, exp);
    rc_buf_free(&out);
    rc_buf_free(&err);

    /* beyond microseconds, and an empty fractional range, are refused */
    err = (rc_buf)RC_BUF_INIT;
    cr_assert_eq(get("XX.AAA..HHZ --from 2025-11-04T23:59:59.1234567Z --to 2025-11-05T00:00:00Z",
                     NULL, &err),
                 2);
    cr_assert(strstr(err.data, "--from: time '2025-11-04T23:59:59.1234567Z': at most 6 "
                               "fractional digits (microseconds)"),
              "%s", err.data);
    rc_buf_free(&err);
    err = (rc_buf)RC_BUF_INIT;
    cr_assert_eq(
        get("XX.AAA..HHZ --from 2025-11-04T23:59:59.25Z --to 2025-11-04T23:59:59.250Z", NULL, &err),
        2);
    cr_assert(strstr(err.data, "--to (2025-11-04T23:59:59.250Z) is not after --from "
                               "(2025-11-04T23:59:59.25Z)"),
              "%s", err.data);
    rc_buf_free(&err);

    /* windows stay whole seconds: fill refuses a fraction as before */
    char cmd[8400];
    snprintf(cmd, sizeof cmd,
             "fill --config '%s' --from 2025-11-04T23:40:00.25Z --to 2025-11-04T23:50:00Z",
             g_config);
    err = (rc_buf)RC_BUF_INIT;
    cr_assert_eq(rc_test_r2cache(cmd, NULL, &err), 2);
    cr_assert(strstr(err.data, "has a fractional second; windows are whole seconds"), "%s",
              err.data);
    rc_buf_free(&err);
}

/* The channel may be a pattern that matches exactly one configured channel. */
Test(get, a_pattern_naming_one_channel_is_that_channel)
{
    rc_buf a = RC_BUF_INIT, b = RC_BUF_INIT, err = RC_BUF_INIT;
    cr_assert_eq(
        get("'XX.B?B.*.BHZ' --from 2025-11-04T23:59:59Z --to 2025-11-05T00:00:01Z", &a, NULL), 0);
    cr_assert_eq(
        get("XX.BBB.00.BHZ --from 2025-11-04T23:59:59Z --to 2025-11-05T00:00:01Z", &b, NULL), 0);
    cr_assert_str_eq(a.data, b.data);
    cr_assert_eq(
        get("'XX.*.*.*' --from 2025-11-04T23:59:59Z --to 2025-11-05T00:00:01Z", NULL, &err), 2);
    cr_assert(strstr(err.data, "r2cache get: XX.*.*.* matches 2 channels (XX.AAA..HHZ, "
                               "XX.BBB.00.BHZ); get reads one: name it, or use a pattern that "
                               "matches only it"),
              "%s", err.data);
    rc_buf_free(&err);
    err = (rc_buf)RC_BUF_INIT;
    cr_assert_eq(
        get("'YY.*..HHZ' --from 2025-11-04T23:59:59Z --to 2025-11-05T00:00:01Z", NULL, &err), 2);
    cr_assert(strstr(err.data, "r2cache get: YY.*..HHZ matches no channel of the configuration"),
              "%s", err.data);
    rc_buf_free(&err);
    rc_buf_free(&a);
    rc_buf_free(&b);
}

/* -h prints exactly what --help prints, for r2cache and every command. */
Test(get, short_h_is_help_everywhere)
{
    static const char *const cmds[] = {"",        "run",       "fill",   "get",     "gaps",
                                       "migrate", "inventory", "verify", "reindex", "serve"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char a[64], b[64];
        snprintf(a, sizeof a, "%s -h", cmds[i]);
        snprintf(b, sizeof b, "%s --help", cmds[i]);
        rc_buf x = RC_BUF_INIT, y = RC_BUF_INIT;
        cr_assert_eq(rc_test_r2cache(a, &x, NULL), 0, "r2cache %s", a);
        cr_assert_eq(rc_test_r2cache(b, &y, NULL), 0, "r2cache %s", b);
        cr_assert(x.data && strstr(x.data, "usage: r2cache"), "r2cache %s: %s", a, x.data);
        cr_assert_str_eq(x.data, y.data, "r2cache %s differs from --help", a);
        if (cmds[i][0]) cr_assert(strstr(x.data, "  -h, --help"), "%s lists no -h", a);
        rc_buf_free(&x);
        rc_buf_free(&y);
    }
}
