/*
 * test_run.c: `r2cache run` end to end, as cron runs it: the real binary,
 * the FDSN test server (tests/fdsn_server.py) serving a synthetic SDS
 * archive (tools/synth.c), and the local store. Expected keys are written
 * out literally; expected sample values come from tools/synth_signal.h.
 */
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tools/synth_signal.h"
#include "r2cache/codec.h"
#include "r2cache/version.h"
#include "support.h"

#define T0 1762214400LL /* 2025-11-04T00:00:00Z */

static char *g_dir;
static char g_sds[4200];
static char g_store[4200];
static char g_config[4200];
static pid_t g_server = -1;
static int g_port;

/* The synthetic archive is the same for every test: build it once. */
static void make_sds(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/run-sds", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    char cmd[16384];
    const char *synth = rc_test_bin("r2cache-synth");
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && "
             "%s sds --out '%s' --rate 100 --from 2025-11-04T00:00:00Z --to 2025-11-04T07:00:00Z "
             "--chan XX.AAA..HHZ && "
             "%s sds --out '%s' --rate 50 --from 2025-11-04T00:00:00Z --to 2025-11-04T07:00:00Z "
             "--chan XX.BBB.00.BHZ && "
             "%s sds --out '%s' --rate 100 --from 2025-11-04T00:00:00Z --to 2025-11-04T07:00:00Z "
             "--chan XX.GAP..HHZ --gap 2025-11-04T05:20:00Z/2025-11-04T05:21:00Z && "
             "%s sds --out '%s' --rate 100 --from 2025-11-04T00:00:00Z --to 2025-11-04T07:00:00Z "
             "--chan XX.FLT..HHZ --encoding float32 && touch '%s'",
             g_sds, synth, g_sds, synth, g_sds, synth, g_sds, synth, g_sds, marker);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "r2cache-synth failed: %s", err.data ? err.data : "");
    rc_buf_free(&err);
}

static void write_config(const char *extra_station)
{
    char json[8192];
    snprintf(
        json, sizeof json,
        "{\n"
        "  \"source\": \"http://127.0.0.1:%d\",\n"
        "  \"store\": \"%s\",\n"
        "  \"run\": {\"retry_interval\": \"1s\", \"retry_max\": \"2s\"},\n"
        "  \"fetch\": {\"max_attempts\": 3, \"backoff_base_s\": 0.05, \"backoff_cap_s\": 0.2,\n"
        "             \"timeout_s\": 20, \"stall_timeout_s\": 2},\n"
        "  \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", \"stations\": [\n"
        "    {\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"\", \"channel\": "
        "\"HHZ\",\n"
        "     \"sample_rate\": 100, \"instrument_type\": \"STS-2\", \"latitude\": 19.5,\n"
        "     \"longitude\": -155.5, \"elevation_m\": 1200},\n"
        "    {\"network\": \"XX\", \"station\": \"BBB\", \"location\": \"00\", \"channel\": "
        "\"BHZ\"},\n"
        "    {\"network\": \"XX\", \"station\": \"GAP\", \"channel\": \"HHZ\", \"sample_rate\": "
        "100}%s\n"
        "  ]}]\n}\n",
        g_port, g_store, extra_station ? extra_station : "");
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
}

static void setup(void)
{
    make_sds();
    g_dir = rc_test_tmpdir("run");
    cr_assert(g_dir);
    snprintf(g_store, sizeof g_store, "%s/store", g_dir);
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    g_server = rc_test_fdsn_start(g_sds, NULL, &g_port);
    cr_assert(g_server > 0, "FDSN test server did not start");
    write_config(NULL);
}

static void teardown(void)
{
    rc_test_server_stop(g_server);
    g_server = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

static int run_at(const char *now, const char *more, cJSON **summary, rc_buf *err_out)
{
    char args[4096];
    snprintf(args, sizeof args, "run --config '%s' --now %s --json --log-format json %s", g_config,
             now, more ? more : "");
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_r2cache(args, &out, &err);
    if (summary) {
        *summary = out.data ? cJSON_Parse(out.data) : NULL;
        cr_assert(*summary, "run printed no JSON summary (exit %d): %s", rc,
                  err.data ? err.data : "");
    }
    if (err_out) rc_buf_append(err_out, err.data ? err.data : "", err.len);
    rc_buf_free(&out);
    rc_buf_free(&err);
    return rc;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsNumber(v), "field %s missing", k);
    return v->valuedouble;
}

static const cJSON *station(const cJSON *sum, const char *id)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(sum, "stations");
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "channel");
        if (cJSON_IsString(c) && strcmp(c->valuestring, id) == 0) return it;
    }
    cr_assert_fail("station %s not in summary", id);
    return NULL;
}

static char *store_path(const char *key)
{
    /* local store: an empty key segment is stored as "%" */
    char *p = malloc(8192);
    char mapped[4096];
    size_t j = 0;
    for (size_t i = 0; key[i] && j < sizeof mapped - 2; i++) {
        mapped[j++] = key[i];
        if (key[i] == '/' && key[i + 1] == '/') mapped[j++] = '%';
    }
    mapped[j] = '\0';
    snprintf(p, 8192, "%s/%s", g_store, mapped);
    return p;
}

static int key_exists(const char *key)
{
    char *p = store_path(key);
    struct stat st;
    int ok = stat(p, &st) == 0;
    free(p);
    return ok;
}

static int32_t *read_chunk(const char *key, size_t *n)
{
    char *p = store_path(key);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(p, &b), 0, "chunk %s missing", key);
    free(p);
    rc_codec *c = NULL;
    rc_err e;
    cr_assert_eq(rc_codec_new(3, &c, &e), RC_OK);
    int32_t *s = NULL;
    cr_assert_eq(rc_codec_decode(c, b.data, b.len, 0, &s, n, &e), RC_OK, "%s", e.msg);
    rc_codec_free(c);
    rc_buf_free(&b);
    return s;
}

static cJSON *read_manifest(const char *key)
{
    char *p = store_path(key);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(p, &b), 0, "manifest %s missing", key);
    free(p);
    cJSON *m = cJSON_Parse(b.data);
    cr_assert(m, "manifest %s is not JSON", key);
    rc_buf_free(&b);
    return m;
}

static const cJSON *chunk_list(const cJSON *m, const char *kind)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "chunks");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(c, kind);
    cr_assert(cJSON_IsArray(l), "chunks.%s missing", kind);
    return l;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsString(v), "field %s missing", k);
    return v->valuestring;
}

#define AAA_DIR "data/2025/11/XX/testvol/AAA//HHZ/"
#define AAA_MANIFEST AAA_DIR "XX_AAA__HHZ_100Hz_2025-11-04.json"

TestSuite(run, .init = setup, .fini = teardown, .timeout = 300);

Test(run, first_run_after_six_hours_writes_exact_keys_samples_and_manifest)
{
    cJSON *sum = NULL;
    int rc = run_at("2025-11-04T06:02:00Z", NULL, &sum, NULL);
    cr_assert_eq(rc, 0, "exit %d", rc);
    cr_assert_str_eq(str(sum, "status"), "complete");
    /* every --json answer starts with command, version, status */
    cr_assert_str_eq(sum->child->string, "command");
    cr_assert_str_eq(str(sum, "command"), "run");
    cr_assert_str_eq(str(sum, "version"), R2CACHE_VERSION);
    cr_assert_str_eq(sum->child->next->next->string, "status");
    cr_assert_str_eq(str(station(sum, "XX.AAA..HHZ"), "status"), "complete");
    cr_assert_eq(num(sum, "stations_total"), 3);
    cr_assert_eq(num(sum, "stations_failed"), 0);
    /* each station: the 6 ten-minute windows of the last hour and the 6 h
     * window 00-06 were due; the 6 h window pulled in its 30 earlier base
     * windows, which were missing too: 36 + 1 chunks each */
    cr_assert_eq(num(sum, "windows"), 21);
    cr_assert_eq(num(sum, "chunks_written"), 3 * 37);
    cr_assert_eq(num(station(sum, "XX.AAA..HHZ"), "chunks_written"), 37);

    cr_assert(
        key_exists(AAA_DIR "XX_AAA__HHZ_100Hz_2025-11-04-05-50-00_to_2025-11-04-06-00-00.bin.zst"));
    cr_assert(
        key_exists(AAA_DIR "XX_AAA__HHZ_100Hz_2025-11-04-00-00-00_to_2025-11-04-00-10-00.bin.zst"));
    cr_assert(
        key_exists(AAA_DIR "XX_AAA__HHZ_100Hz_2025-11-04-00-00-00_to_2025-11-04-06-00-00.bin.zst"));
    cr_assert(!key_exists(AAA_DIR
                          "XX_AAA__HHZ_100Hz_2025-11-04-06-00-00_to_2025-11-04-06-10-00.bin.zst"));
    cr_assert(key_exists("data/2025/11/XX/testvol/BBB/00/BHZ/"
                         "XX_BBB_00_BHZ_50Hz_2025-11-04-05-00-00_to_2025-11-04-05-10-00.bin.zst"));

    /* sample for sample: slot k of the 05:00 window is sample index
     * (T0 + 5 h) * 100 + k of the synthetic signal */
    size_t n = 0;
    int32_t *s = read_chunk(
        AAA_DIR "XX_AAA__HHZ_100Hz_2025-11-04-05-00-00_to_2025-11-04-05-10-00.bin.zst", &n);
    cr_assert_eq(n, 60000);
    int64_t i0 = (T0 + 5 * 3600) * 100;
    int32_t mn = INT32_MAX, mx = INT32_MIN;
    for (size_t k = 0; k < n; k++) {
        int32_t want = rc_synth_value("XX.AAA..HHZ", i0 + (int64_t)k);
        cr_assert_eq(s[k], want, "slot %zu: %d != %d", k, s[k], want);
        mn = s[k] < mn ? s[k] : mn;
        mx = s[k] > mx ? s[k] : mx;
    }
    free(s);
    /* the 6 h chunk holds exactly the samples of its 36 ten-minute chunks */
    size_t n6 = 0;
    int32_t *s6 = read_chunk(
        AAA_DIR "XX_AAA__HHZ_100Hz_2025-11-04-00-00-00_to_2025-11-04-06-00-00.bin.zst", &n6);
    cr_assert_eq(n6, 2160000);
    cr_assert_eq(s6[5 * 360000 + 123], rc_synth_value("XX.AAA..HHZ", i0 + 123));
    cr_assert_eq(s6[0], rc_synth_value("XX.AAA..HHZ", T0 * 100));
    free(s6);

    cJSON *m = read_manifest(AAA_MANIFEST);
    cr_assert_str_eq(str(m, "date"), "2025-11-04");
    cr_assert_str_eq(str(m, "network"), "XX");
    cr_assert_str_eq(str(m, "station"), "AAA");
    cr_assert_str_eq(str(m, "location"), "");
    cr_assert_str_eq(str(m, "channel"), "HHZ");
    cr_assert_str_eq(str(m, "volcano"), "testvol");
    cr_assert_str_eq(str(m, "instrument_type"), "STS-2");
    cr_assert_eq(num(m, "sample_rate"), 100);
    cr_assert_eq(num(m, "latitude"), 19.5);
    cr_assert_eq(num(m, "elevation_m"), 1200);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "complete_day")));
    const cJSON *ten = chunk_list(m, "10min");
    cr_assert_eq(cJSON_GetArraySize(ten), 36);
    cr_assert_str_eq(str(cJSON_GetArrayItem(ten, 0), "start"), "00:00:00");
    cr_assert_str_eq(str(cJSON_GetArrayItem(ten, 35), "start"), "05:50:00");
    cr_assert_str_eq(str(cJSON_GetArrayItem(ten, 35), "end"), "06:00:00");
    const cJSON *e30 = cJSON_GetArrayItem(ten, 30);
    cr_assert_str_eq(str(e30, "start"), "05:00:00");
    cr_assert_eq(num(e30, "samples"), 60000);
    cr_assert_eq(num(e30, "min"), mn);
    cr_assert_eq(num(e30, "max"), mx);
    cr_assert_eq(num(e30, "gap_count"), 0);
    cr_assert_eq(num(e30, "gap_samples_filled"), 0);
    cr_assert_eq(num(e30, "gap_duration_seconds"), 0);
    const cJSON *six = chunk_list(m, "6h");
    cr_assert_eq(cJSON_GetArraySize(six), 1);
    cr_assert_str_eq(str(cJSON_GetArrayItem(six, 0), "start"), "00:00:00");
    cr_assert_str_eq(str(cJSON_GetArrayItem(six, 0), "end"), "06:00:00");
    cr_assert_eq(num(cJSON_GetArrayItem(six, 0), "samples"), 2160000);
    cJSON_Delete(m);
    cJSON_Delete(sum);
}

Test(run, rerun_writes_nothing_and_next_run_takes_only_the_new_window)
{
    cJSON *sum = NULL;
    cr_assert_eq(run_at("2025-11-04T06:02:00Z", NULL, &sum, NULL), 0);
    cJSON_Delete(sum);
    char *mp = store_path(AAA_MANIFEST);
    struct stat st1, st2;
    cr_assert_eq(stat(mp, &st1), 0);

    cr_assert_eq(run_at("2025-11-04T06:02:00Z", NULL, &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_written"), 0);
    cr_assert_eq(num(sum, "chunks_present"), 21);
    cr_assert_eq(num(sum, "manifests_written"), 0);
    cr_assert_eq(num(sum, "requests"), 0);
    cJSON_Delete(sum);
    cr_assert_eq(stat(mp, &st2), 0);
    cr_assert_eq(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
    cr_assert_eq(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);

    /* 22:12-style arithmetic: at 06:12 only 06:00-06:10 is new */
    cr_assert_eq(run_at("2025-11-04T06:12:00Z", NULL, &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_written"), 3);
    cr_assert_eq(num(station(sum, "XX.AAA..HHZ"), "chunks_written"), 1);
    cJSON_Delete(sum);
    cr_assert(
        key_exists(AAA_DIR "XX_AAA__HHZ_100Hz_2025-11-04-06-00-00_to_2025-11-04-06-10-00.bin.zst"));
    cJSON *m = read_manifest(AAA_MANIFEST);
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "10min")), 37);
    cJSON_Delete(m);
    free(mp);
}

Test(run, missed_runs_are_caught_up_within_the_lookback)
{
    cJSON *sum = NULL;
    cr_assert_eq(run_at("2025-11-04T06:12:00Z", "--station XX.AAA..HHZ", &sum, NULL), 0);
    cJSON_Delete(sum);
    /* runs at 06:22 .. 06:42 missed: the 06:52 run fetches 06:10 .. 06:40 */
    cr_assert_eq(run_at("2025-11-04T06:52:00Z", "--station XX.AAA..HHZ", &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_written"), 4);
    cr_assert_eq(num(sum, "requests"), 1);
    cJSON_Delete(sum);
    cr_assert(
        key_exists(AAA_DIR "XX_AAA__HHZ_100Hz_2025-11-04-06-40-00_to_2025-11-04-06-50-00.bin.zst"));
}

Test(run, incomplete_window_is_retried_then_written_provisional)
{
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = run_at("2025-11-04T05:32:00Z", "--station XX.GAP..HHZ --lookback 10m", &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cr_assert_eq(num(sum, "chunks_written"), 1);
    cr_assert_eq(num(sum, "chunks_provisional"), 1);
    /* held back once, then written on the final pass */
    cr_assert(strstr(err.data, "retrying"), "no retry logged: %s", err.data);
    cJSON_Delete(sum);
    rc_buf_free(&err);
    cJSON *m = read_manifest("data/2025/11/XX/testvol/GAP//HHZ/XX_GAP__HHZ_100Hz_2025-11-04.json");
    const cJSON *e = cJSON_GetArrayItem(chunk_list(m, "10min"), 0);
    cr_assert_str_eq(str(e, "start"), "05:20:00");
    cr_assert_eq(num(e, "gap_count"), 1);
    cr_assert_eq(num(e, "gap_samples_filled"), 6000);
    cr_assert_eq(num(e, "gap_duration_seconds"), 60);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "provisional")));
    cr_assert_float_eq(num(e, "completeness"), 0.9, 1e-9);
    cJSON_Delete(m);
    /* the gap at the window's start is held at the first recorded value */
    size_t n = 0;
    int32_t *s = read_chunk("data/2025/11/XX/testvol/GAP//HHZ/"
                            "XX_GAP__HHZ_100Hz_2025-11-04-05-20-00_to_2025-11-04-05-30-00.bin.zst",
                            &n);
    cr_assert_eq(n, 60000);
    int64_t i0 = (T0 + 5 * 3600 + 20 * 60) * 100;
    int32_t first = rc_synth_value("XX.GAP..HHZ", i0 + 6000);
    cr_assert_eq(s[0], first);
    cr_assert_eq(s[5999], first);
    cr_assert_eq(s[6000], first);
    cr_assert_eq(s[6001], rc_synth_value("XX.GAP..HHZ", i0 + 6001));
    free(s);
}

Test(run, data_centre_faults_are_retried_and_reported)
{
    /* transient faults: retried within the attempt limit, all written */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "curl -s -X POST -d '{\"faults\": [\"503\", \"429:retry-after=1\"]}' "
             "http://127.0.0.1:%d/control",
             g_port);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    cJSON *sum = NULL;
    int rc = run_at("2025-11-04T05:32:00Z", "--station XX.AAA..HHZ --lookback 10m", &sum, NULL);
    cr_assert_eq(rc, 0);
    cr_assert_eq(num(sum, "chunks_written"), 1);
    cr_assert_eq(num(sum, "requests"), 3);
    cJSON_Delete(sum);

    /* 204: no data is not a failure */
    snprintf(cmd, sizeof cmd,
             "curl -s -X POST -d '{\"faults\": [\"204\", \"204\"]}' http://127.0.0.1:%d/control",
             g_port);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    rc = run_at("2025-11-04T05:42:00Z", "--station XX.AAA..HHZ --lookback 10m --retry-max 0s", &sum,
                NULL);
    cr_assert_eq(rc, 0);
    cr_assert_eq(num(sum, "chunks_written"), 0);
    cr_assert_eq(num(sum, "windows_no_data"), 1);
    cJSON_Delete(sum);

    /* a persistent 500: the station fails, exit 1, with the reason */
    snprintf(cmd, sizeof cmd,
             "curl -s -X POST -d '{\"faults\": [\"500\",\"500\",\"500\",\"500\",\"500\",\"500\"]}' "
             "http://127.0.0.1:%d/control",
             g_port);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    rc = run_at("2025-11-04T05:52:00Z", "--station XX.AAA..HHZ --lookback 10m --retry-max 0s", &sum,
                NULL);
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(str(sum, "status"), "partial");
    const cJSON *st = station(sum, "XX.AAA..HHZ");
    cr_assert_str_eq(str(st, "status"), "failed");
    cr_assert(strstr(str(st, "error"), "500"), "error does not name the status: %s",
              str(st, "error"));
    cJSON_Delete(sum);
    cr_assert(!key_exists(AAA_DIR
                          "XX_AAA__HHZ_100Hz_2025-11-04-05-40-00_to_2025-11-04-05-50-00.bin.zst"));
}

Test(run, one_bad_channel_does_not_block_the_others)
{
    write_config(",\n    {\"network\": \"XX\", \"station\": \"FLT\", \"channel\": \"HHZ\", "
                 "\"sample_rate\": 100}");
    cJSON *sum = NULL;
    int rc = run_at("2025-11-04T05:32:00Z", "--lookback 10m --retry-max 0s", &sum, NULL);
    cr_assert_eq(rc, 1);
    cr_assert_eq(num(sum, "stations_failed"), 1);
    cr_assert_eq(num(sum, "stations_ok"), 3);
    const cJSON *st = station(sum, "XX.FLT..HHZ");
    cr_assert_str_eq(str(st, "status"), "failed");
    cr_assert(strstr(str(st, "error"), "float"), "error: %s", str(st, "error"));
    cr_assert_eq(num(station(sum, "XX.AAA..HHZ"), "chunks_written"), 1);
    cJSON_Delete(sum);
}

Test(run, lost_manifest_is_rebuilt_from_blobs_without_refetching)
{
    cJSON *sum = NULL;
    cr_assert_eq(run_at("2025-11-04T05:32:00Z", "--station XX.AAA..HHZ", &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_written"), 6);
    cJSON_Delete(sum);
    cJSON *before = read_manifest(AAA_MANIFEST);
    char *mp = store_path(AAA_MANIFEST);
    cr_assert_eq(unlink(mp), 0);
    free(mp);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "curl -s -X POST http://127.0.0.1:%d/reset-stats", g_port);
    rc_test_sh(cmd, NULL, NULL);
    cr_assert_eq(run_at("2025-11-04T05:32:00Z", "--station XX.AAA..HHZ", &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_written"), 0);
    cr_assert_eq(num(sum, "chunks_reindexed"), 6);
    cr_assert_eq(num(sum, "requests"), 0);
    cJSON_Delete(sum);
    cJSON *after = read_manifest(AAA_MANIFEST);
    const cJSON *a = chunk_list(before, "10min"), *b = chunk_list(after, "10min");
    cr_assert_eq(cJSON_GetArraySize(a), 6);
    cr_assert_eq(cJSON_GetArraySize(b), 6);
    for (int i = 0; i < 6; i++) {
        const cJSON *x = cJSON_GetArrayItem(a, i), *y = cJSON_GetArrayItem(b, i);
        const char *fields[] = {"start", "end"};
        for (int f = 0; f < 2; f++)
            cr_assert_str_eq(str(x, fields[f]), str(y, fields[f]));
        const char *nums[] = {"min", "max", "samples", "gap_count", "gap_samples_filled"};
        for (int f = 0; f < 5; f++)
            cr_assert_eq(num(x, nums[f]), num(y, nums[f]), "%s differs", nums[f]);
    }
    cJSON_Delete(before);
    cJSON_Delete(after);
}

Test(run, sigterm_finishes_the_chunk_in_hand_and_leaves_a_consistent_store)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -s -X POST -d '{\"delay_ms\": 400}' http://127.0.0.1:%d/control", g_port);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    /* 6 hours of one channel, one request per day-span: slow enough to stop */
    char args[4096];
    snprintf(args, sizeof args,
             "exec %s run --config '%s' --now 2025-11-04T06:02:00Z --lookback 6h --log-format json "
             ">/dev/null 2>&1",
             rc_test_bin("r2cache"), g_config);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", args, (char *)NULL);
        _exit(127);
    }
    struct timespec ts = {0, 700 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status), "killed instead of a clean stop");
    cr_assert(WEXITSTATUS(status) == 1 || WEXITSTATUS(status) == 0, "exit %d", WEXITSTATUS(status));
    /* every manifest entry has its blob */
    const char *mans[] = {AAA_MANIFEST};
    for (size_t k = 0; k < 1; k++) {
        char *p = store_path(mans[k]);
        struct stat st;
        int have = stat(p, &st) == 0;
        free(p);
        if (!have) continue;
        cJSON *m = read_manifest(mans[k]);
        const cJSON *it;
        cJSON_ArrayForEach(it, chunk_list(m, "10min"))
        {
            char key[1024];
            snprintf(key, sizeof key, AAA_DIR "XX_AAA__HHZ_100Hz_2025-11-04-%c%c-%c%c-00_to_",
                     str(it, "start")[0], str(it, "start")[1], str(it, "start")[3],
                     str(it, "start")[4]);
            /* the blob name's prefix is enough to find it */
            char *dir = store_path(AAA_DIR);
            char find[4096];
            snprintf(find, sizeof find, "ls '%s' | grep -c '^%s'", dir, key + strlen(AAA_DIR));
            rc_buf out = RC_BUF_INIT;
            rc_test_sh(find, &out, NULL);
            cr_assert(out.data && atoi(out.data) == 1, "entry %s has no blob", str(it, "start"));
            rc_buf_free(&out);
            free(dir);
        }
        cJSON_Delete(m);
    }
}

Test(run, bad_configuration_is_refused_with_the_field_named)
{
    const char *bad = "{\"volcanoes\": [{\"name\": \"testvol\", \"stations\": "
                      "[{\"network\": \"XX\", \"station\": \"AAA\", \"channel\": \"hhz\"}]}]}";
    cr_assert_eq(rc_test_write_file(g_config, bad, strlen(bad)), 0);
    rc_buf err = RC_BUF_INIT;
    char args[4200];
    snprintf(args, sizeof args, "run --config '%s' --log-format text", g_config);
    int rc = rc_test_r2cache(args, NULL, &err);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err.data, "volcanoes[0].stations[0]"), "message: %s", err.data);
    rc_buf_free(&err);

    const char *typo = "{\"volcanoes\": [], \"selection\": {\"max_distanse_km\": 5}}";
    cr_assert_eq(rc_test_write_file(g_config, typo, strlen(typo)), 0);
    rc = rc_test_r2cache(args, NULL, &err);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err.data, "selection.max_distanse_km: unknown field"), "message: %s",
              err.data);
    rc_buf_free(&err);

    write_config(NULL);
    snprintf(args, sizeof args, "run --config '%s' --station XX.NOPE..HHZ --log-format text",
             g_config);
    rc = rc_test_r2cache(args, NULL, &err);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err.data, "XX.NOPE..HHZ is not in the configuration"), "message: %s",
              err.data);
    rc_buf_free(&err);
}

Test(run, get_reads_back_the_stored_samples)
{
    cr_assert_eq(run_at("2025-11-04T05:32:00Z", "--station XX.AAA..HHZ --lookback 10m", NULL, NULL),
                 0);
    char args[4200];
    snprintf(args, sizeof args,
             "get XX.AAA..HHZ --config '%s' --from 2025-11-04T05:20:00Z --to 2025-11-04T05:20:01Z",
             g_config);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_r2cache(args, &out, NULL), 0);
    int64_t i0 = (T0 + 5 * 3600 + 20 * 60) * 100;
    char want[256];
    snprintf(want, sizeof want,
             "time,value\n2025-11-04T05:20:00.000000Z,%d\n2025-11-04T05:20:00.010000Z,%d\n",
             rc_synth_value("XX.AAA..HHZ", i0), rc_synth_value("XX.AAA..HHZ", i0 + 1));
    cr_assert(strncmp(out.data, want, strlen(want)) == 0, "got: %.200s", out.data);
    int lines = 0;
    for (const char *p = out.data; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 101); /* header + 100 samples */
    rc_buf_free(&out);
    /* a window that is not cached: exit 1 */
    snprintf(args, sizeof args,
             "get XX.AAA..HHZ --config '%s' --from 2025-11-04T04:00:00Z --to 2025-11-04T04:00:01Z",
             g_config);
    cr_assert_eq(rc_test_r2cache(args, NULL, NULL), 1);
}

Test(run, sigterm_does_not_wait_for_a_slow_data_centre)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -s -X POST -d '{\"delay_ms\": 20000}' http://127.0.0.1:%d/control", g_port);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    char args[4096];
    snprintf(args, sizeof args,
             "exec %s run --config '%s' --now 2025-11-04T05:32:00Z --station XX.AAA..HHZ "
             "--lookback 10m --log-format json >/dev/null 2>&1",
             rc_test_bin("r2cache"), g_config);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", args, (char *)NULL);
        _exit(127);
    }
    struct timespec ts = {0, 800 * 1000 * 1000};
    nanosleep(&ts, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(WIFEXITED(status), "killed instead of a clean stop");
    cr_assert_eq(WEXITSTATUS(status), 1, "an interrupted run is partial (exit %d)",
                 WEXITSTATUS(status));
    /* the request in flight (20 s) is abandoned, not waited for */
    cr_assert_lt(took, 5.0, "stopping took %.1f s", took);
    cr_assert(!key_exists(AAA_DIR
                          "XX_AAA__HHZ_100Hz_2025-11-04-05-20-00_to_2025-11-04-05-30-00.bin.zst"));
}
