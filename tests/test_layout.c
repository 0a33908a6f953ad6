/*
 * test_layout.c: the viewer layout end to end and `r2cache migrate`, with the
 * real binary, the FDSN test server (tests/fdsn_server.py) serving a
 * synthetic SDS archive that crosses a midnight, and the local store.
 * Expected keys are written out literally; sample values come from
 * tools/synth_signal.h; the viewer's own decompressor (fzstd, Node.js) reads
 * the blobs in the last test.
 */
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tools/synth_signal.h"
#include "r2cache/codec.h"
#include "support.h"

#define T1104 1762214400LL /* 2025-11-04T00:00:00Z */
#define T1105 (T1104 + 86400)

static char *g_dir;
static char g_sds[4200];
static char g_store[4200];
static char g_config[4200];
static pid_t g_server = -1;
static int g_port;

/* 20:00 on the 4th to 04:00 on the 5th: a midnight in the middle. */
static void make_sds(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/layout-sds", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    char cmd[16384];
    const char *synth = rc_test_bin("r2cache-synth");
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && "
             "%s sds --out '%s' --rate 100 --from 2025-11-04T20:00:00Z --to 2025-11-05T04:00:00Z "
             "--chan XX.AAA..HHZ >/dev/null && "
             "%s sds --out '%s' --rate 50 --from 2025-11-04T20:00:00Z --to 2025-11-05T04:00:00Z "
             "--chan XX.BBB.00.BHZ >/dev/null && touch '%s'",
             g_sds, synth, g_sds, synth, g_sds, marker);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "r2cache-synth failed: %s", err.data ? err.data : "");
    rc_buf_free(&err);
}

static void write_config(const char *layout, const char *extra)
{
    char json[8192];
    snprintf(
        json, sizeof json,
        "{\n"
        "  \"source\": \"http://127.0.0.1:%d\",\n"
        "  \"store\": \"%s\",\n"
        "  \"layout\": \"%s\",\n"
        "  \"spans\": [\"10m\", \"1h\", \"6h\"],\n"
        "  \"run\": {\"retry_interval\": \"1s\", \"retry_max\": \"1s\"},\n"
        "  \"fetch\": {\"max_attempts\": 3, \"backoff_base_s\": 0.05, \"backoff_cap_s\": 0.2,\n"
        "             \"timeout_s\": 20, \"stall_timeout_s\": 2}%s,\n"
        "  \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", \"stations\": [\n"
        "    {\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"\", \"channel\": "
        "\"HHZ\",\n"
        "     \"sample_rate\": 100},\n"
        "    {\"network\": \"XX\", \"station\": \"BBB\", \"location\": \"00\", \"channel\": "
        "\"BHZ\"}\n"
        "  ]}]\n}\n",
        g_port, g_store, layout, extra ? extra : "");
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
}

static void setup(void)
{
    make_sds();
    g_dir = rc_test_tmpdir("layout");
    cr_assert(g_dir);
    snprintf(g_store, sizeof g_store, "%s/store", g_dir);
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    g_server = rc_test_fdsn_start(g_sds, NULL, &g_port);
    cr_assert(g_server > 0, "FDSN test server did not start");
    write_config("viewer", NULL);
}

static void teardown(void)
{
    rc_test_server_stop(g_server);
    g_server = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

/* Run the binary with the test config; returns the exit status and the
 * parsed --json output in *json (when json != NULL). */
static int r2(const char *args, cJSON **json, rc_buf *err_out)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s --config '%s' --log-format json", rc_test_bin("r2cache"), args,
             g_config);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, &out, &err);
    if (json) {
        *json = out.data ? cJSON_Parse(out.data) : NULL;
        cr_assert(*json, "%s printed no JSON (exit %d): %s", args, rc, err.data ? err.data : "");
    }
    if (err_out) rc_buf_append(err_out, err.data ? err.data : "", err.len);
    rc_buf_free(&out);
    rc_buf_free(&err);
    return rc;
}

#define FILL_ALL "fill --from 2025-11-04T18:00:00Z --to 2025-11-05T06:00:00Z --json"
#define MIG_RANGE "--from 2025-11-04 --to 2025-11-06 --json"

static void fill_all(void)
{
    cJSON *j = NULL;
    int rc = r2(FILL_ALL, &j, NULL);
    cr_assert_eq(rc, 0, "fill exit %d", rc);
    cJSON_Delete(j);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsNumber(v), "field %s missing", k);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsString(v), "field %s missing", k);
    return v->valuestring;
}

/* Local store path of a key: an empty key segment is stored as "%". */
static void store_path(const char *key, char *out, size_t n)
{
    char mapped[4096];
    size_t j = 0;
    for (size_t i = 0; key[i] && j < sizeof mapped - 2; i++) {
        mapped[j++] = key[i];
        if (key[i] == '/' && key[i + 1] == '/') mapped[j++] = '%';
    }
    mapped[j] = '\0';
    snprintf(out, n, "%s/%s", g_store, mapped);
}

static int key_exists(const char *key)
{
    char p[8192];
    store_path(key, p, sizeof p);
    struct stat st;
    return stat(p, &st) == 0;
}

static void read_key(const char *key, rc_buf *b)
{
    char p[8192];
    store_path(key, p, sizeof p);
    rc_buf_reset(b);
    cr_assert_eq(rc_test_read_file(p, b), 0, "key %s missing", key);
}

static int32_t *read_chunk(const char *key, size_t *n)
{
    rc_buf b = RC_BUF_INIT;
    read_key(key, &b);
    rc_codec *c = NULL;
    rc_err e;
    cr_assert_eq(rc_codec_new(3, &c, &e), RC_OK);
    int32_t *s = NULL;
    cr_assert_eq(rc_codec_decode(c, b.data, b.len, 0, &s, n, &e), RC_OK, "%s: %s", key, e.msg);
    rc_codec_free(c);
    rc_buf_free(&b);
    return s;
}

static cJSON *read_json(const char *key)
{
    rc_buf b = RC_BUF_INIT;
    read_key(key, &b);
    cJSON *m = cJSON_Parse(b.data);
    cr_assert(m, "%s is not JSON", key);
    rc_buf_free(&b);
    return m;
}

/* The local store's sidecar of a key: ".<name>.meta.json" beside it. */
static cJSON *read_sidecar(const char *key)
{
    char p[8192], side[8300];
    store_path(key, p, sizeof p);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    snprintf(side, sizeof side, "%s/.%s.meta.json", p, slash + 1);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(side, &b), 0, "no sidecar for %s", key);
    cJSON *m = cJSON_Parse(b.data);
    cr_assert(m, "sidecar of %s is not JSON", key);
    rc_buf_free(&b);
    return m;
}

/* Number of regular files (not the store's dot-files) under the store, whose
 * path contains sub. */
static int count_keys(const char *sub)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "find '%s' -type f ! -name '.*' | grep -c -- '%s'", g_store, sub);
    rc_buf out = RC_BUF_INIT;
    rc_test_sh(cmd, &out, NULL);
    int n = out.data ? atoi(out.data) : -1;
    rc_buf_free(&out);
    return n;
}

static const cJSON *chunk_list(const cJSON *m, const char *kind)
{
    const cJSON *l =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "chunks"), kind);
    cr_assert(cJSON_IsArray(l), "chunks.%s missing", kind);
    return l;
}

#define AAA4 "data/2025/11/04/XX/testvol/AAA/--/HHZ/"
#define AAA5 "data/2025/11/05/XX/testvol/AAA/--/HHZ/"
#define BBB4 "data/2025/11/04/XX/testvol/BBB/00/BHZ/"
#define BBB5 "data/2025/11/05/XX/testvol/BBB/00/BHZ/"
#define AAA_SEED "data/2025/11/XX/testvol/AAA//HHZ/"
#define BBB_SEED "data/2025/11/XX/testvol/BBB/00/BHZ/"

TestSuite(layout, .init = setup, .fini = teardown, .timeout = 300);

Test(layout, fill_writes_the_exact_viewer_keys_across_midnight)
{
    cJSON *j = NULL;
    cr_assert_eq(r2(FILL_ALL, &j, NULL), 0);
    /* per channel: 48 ten-minute + 8 one-hour windows with data, and the two
     * 6 h windows 18-00 and 00-06, each two thirds covered (provisional) */
    cr_assert_eq(num(j, "chunks_added"), 2 * (48 + 8 + 2));
    cr_assert_eq(num(j, "chunks_provisional"), 4);
    cJSON_Delete(j);
    static const char *const keys[] = {
        AAA4 "10m/XX_AAA_--_HHZ_10m_2025-11-04-20-00-00_to_2025-11-04-20-10-00.bin.zst",
        AAA4 "10m/XX_AAA_--_HHZ_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst",
        AAA5 "10m/XX_AAA_--_HHZ_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst",
        AAA5 "10m/XX_AAA_--_HHZ_10m_2025-11-05-03-50-00_to_2025-11-05-04-00-00.bin.zst",
        AAA4 "1h/XX_AAA_--_HHZ_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst",
        AAA5 "1h/XX_AAA_--_HHZ_1h_2025-11-05-00-00-00_to_2025-11-05-01-00-00.bin.zst",
        AAA4 "6h/XX_AAA_--_HHZ_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst",
        AAA5 "6h/XX_AAA_--_HHZ_6h_2025-11-05-00-00-00_to_2025-11-05-06-00-00.bin.zst",
        AAA4 "XX_AAA_--_HHZ_2025-11-04.json",
        AAA5 "XX_AAA_--_HHZ_2025-11-05.json",
        BBB4 "10m/XX_BBB_00_BHZ_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst",
        BBB5 "10m/XX_BBB_00_BHZ_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst",
        BBB4 "1h/XX_BBB_00_BHZ_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst",
        BBB5 "6h/XX_BBB_00_BHZ_6h_2025-11-05-00-00-00_to_2025-11-05-06-00-00.bin.zst",
        BBB4 "XX_BBB_00_BHZ_2025-11-04.json",
        BBB5 "XX_BBB_00_BHZ_2025-11-05.json",
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        cr_assert(key_exists(keys[i]), "missing %s", keys[i]);
    /* nothing else: exactly these folders, no seed-layout key, no rate in a name */
    cr_assert_eq(count_keys(AAA4 "10m/XX_AAA_--_HHZ_10m_2025-11-04-"), 24);
    cr_assert_eq(count_keys(AAA5 "10m/XX_AAA_--_HHZ_10m_2025-11-05-"), 24);
    cr_assert_eq(count_keys(AAA4 "1h/"), 4);
    cr_assert_eq(count_keys(AAA5 "1h/"), 4);
    cr_assert_eq(count_keys(AAA4 "6h/"), 1);
    cr_assert_eq(count_keys("/data/"), 2 * (48 + 8 + 2) + 4);
    cr_assert_eq(count_keys("Hz"), 0);
    cr_assert(!key_exists(AAA_SEED));

    cJSON *m = read_json(AAA5 "XX_AAA_--_HHZ_2025-11-05.json");
    cr_assert_str_eq(str(m, "date"), "2025-11-05");
    cr_assert_str_eq(str(m, "location"), "");
    cr_assert_str_eq(str(m, "volcano"), "testvol");
    cr_assert_eq(num(m, "sample_rate"), 100);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "complete_day")));
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "10m")), 24);
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "1h")), 4);
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "6h")), 1);
    cr_assert_null(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "chunks"), "10min"));
    cr_assert_str_eq(str(cJSON_GetArrayItem(chunk_list(m, "10m"), 0), "start"), "00:00:00");
    cr_assert_str_eq(str(cJSON_GetArrayItem(chunk_list(m, "10m"), 0), "end"), "00:10:00");
    cJSON_Delete(m);
    m = read_json(BBB4 "XX_BBB_00_BHZ_2025-11-04.json");
    cr_assert_str_eq(str(m, "location"), "00");
    cr_assert_eq(num(m, "sample_rate"), 50);
    /* the chunk ending at midnight is listed in its start day, end 00:00:00 */
    const cJSON *last = cJSON_GetArrayItem(chunk_list(m, "10m"), 23);
    cr_assert_str_eq(str(last, "start"), "23:50:00");
    cr_assert_str_eq(str(last, "end"), "00:00:00");
    cJSON_Delete(m);
}

/* Seconds of the day of "HH:MM:SS". */
static int64_t hms(const char *s)
{
    int h, mi, se;
    cr_assert_eq(sscanf(s, "%d:%d:%d", &h, &mi, &se), 3, "bad time %s", s);
    return h * 3600 + mi * 60 + se;
}

Test(layout, every_span_is_exact_aligned_and_holds_the_samples_of_the_shorter_ones)
{
    fill_all();
    struct {
        const char *manifest, *kind;
        int64_t span, samples;
    } lists[] = {
        {AAA4 "XX_AAA_--_HHZ_2025-11-04.json", "10m", 600, 60000},
        {AAA4 "XX_AAA_--_HHZ_2025-11-04.json", "1h", 3600, 360000},
        {AAA4 "XX_AAA_--_HHZ_2025-11-04.json", "6h", 21600, 2160000},
        {AAA5 "XX_AAA_--_HHZ_2025-11-05.json", "1h", 3600, 360000},
        {BBB5 "XX_BBB_00_BHZ_2025-11-05.json", "10m", 600, 30000},
        {BBB5 "XX_BBB_00_BHZ_2025-11-05.json", "1h", 3600, 180000},
        {BBB5 "XX_BBB_00_BHZ_2025-11-05.json", "6h", 21600, 1080000},
    };
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        cJSON *m = read_json(lists[i].manifest);
        const cJSON *it;
        cJSON_ArrayForEach(it, chunk_list(m, lists[i].kind))
        {
            int64_t s = hms(str(it, "start"));
            cr_assert_eq(s % lists[i].span, 0, "%s %s start %s not aligned", lists[i].manifest,
                         lists[i].kind, str(it, "start"));
            cr_assert_eq((hms(str(it, "end")) - s + 86400) % 86400, lists[i].span % 86400);
            cr_assert_eq(num(it, "samples"), lists[i].samples, "%s %s %s", lists[i].manifest,
                         lists[i].kind, str(it, "start"));
        }
        cJSON_Delete(m);
    }

    /* The 1 h chunk 23:00-00:00 is its six 10-minute chunks, and those are
     * the synthetic signal itself. */
    size_t nh = 0;
    int32_t *h = read_chunk(
        AAA4 "1h/XX_AAA_--_HHZ_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst", &nh);
    cr_assert_eq(nh, 360000);
    for (int k = 0; k < 6; k++) {
        char key[512], end[32];
        if (k < 5)
            snprintf(end, sizeof end, "2025-11-04-23-%d0-00", k + 1);
        else
            snprintf(end, sizeof end, "2025-11-05-00-00-00");
        snprintf(key, sizeof key, AAA4 "10m/XX_AAA_--_HHZ_10m_2025-11-04-23-%d0-00_to_%s.bin.zst",
                 k, end);
        size_t n = 0;
        int32_t *t = read_chunk(key, &n);
        cr_assert_eq(n, 60000, "%s", key);
        cr_assert(memcmp(t, h + k * 60000, n * sizeof *t) == 0, "1h chunk differs from %s", key);
        free(t);
    }
    int64_t i0 = (T1104 + 23 * 3600) * 100;
    for (size_t k = 0; k < nh; k += 997)
        cr_assert_eq(h[k], rc_synth_value("XX.AAA..HHZ", i0 + (int64_t)k), "slot %zu", k);
    free(h);

    /* The 6 h chunk 00-06 of BBB (50 Hz): its first four hours are the four
     * 1 h chunks; the rest (no data) is held at the last recorded value. */
    size_t n6 = 0;
    int32_t *s6 = read_chunk(
        BBB5 "6h/XX_BBB_00_BHZ_6h_2025-11-05-00-00-00_to_2025-11-05-06-00-00.bin.zst", &n6);
    cr_assert_eq(n6, 1080000);
    for (int k = 0; k < 4; k++) {
        char key[512];
        snprintf(key, sizeof key,
                 BBB5 "1h/XX_BBB_00_BHZ_1h_2025-11-05-0%d-00-00_to_2025-11-05-0%d-00-00.bin.zst", k,
                 k + 1);
        size_t n = 0;
        int32_t *t = read_chunk(key, &n);
        cr_assert_eq(n, 180000);
        cr_assert(memcmp(t, s6 + k * 180000, n * sizeof *t) == 0, "6h chunk differs from %s", key);
        free(t);
    }
    cr_assert_eq(s6[0], rc_synth_value("XX.BBB.00.BHZ", T1105 * 50));
    cr_assert_eq(s6[1079999], s6[719999]);
    free(s6);
}

Test(layout, headers_are_recorded_for_final_and_provisional_chunks_and_manifests)
{
    fill_all();
    cJSON *s = read_sidecar(
        AAA4 "10m/XX_AAA_--_HHZ_10m_2025-11-04-20-00-00_to_2025-11-04-20-10-00.bin.zst");
    cr_assert_str_eq(str(s, "content_type"), "application/octet-stream");
    cr_assert_str_eq(str(s, "cache_control"), "public, max-age=31536000, immutable");
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(s, "meta"), "r2c-provisional"), "0");
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(s, "meta"), "r2c-samples"), "60000");
    cJSON_Delete(s);
    s = read_sidecar(AAA4 "1h/XX_AAA_--_HHZ_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst");
    cr_assert_str_eq(str(s, "cache_control"), "public, max-age=31536000, immutable");
    cJSON_Delete(s);
    /* 6 h chunks two thirds covered: provisional, short max-age */
    s = read_sidecar(AAA4 "6h/XX_AAA_--_HHZ_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst");
    cr_assert_str_eq(str(s, "content_type"), "application/octet-stream");
    cr_assert_str_eq(str(s, "cache_control"), "public, max-age=60");
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(s, "meta"), "r2c-provisional"), "1");
    cJSON_Delete(s);
    s = read_sidecar(AAA4 "XX_AAA_--_HHZ_2025-11-04.json");
    cr_assert_str_eq(str(s, "content_type"), "application/json");
    cr_assert_str_eq(str(s, "cache_control"), "public, max-age=60");
    cJSON_Delete(s);

    /* configurable, per kind */
    rc_test_rmtree(g_store);
    write_config("viewer",
                 ",\n  \"cache_control\": {\"final\": \"public, max-age=600, immutable\", "
                 "\"provisional\": \"no-cache\", \"manifest\": \"public, max-age=5\"}");
    fill_all();
    s = read_sidecar(BBB5
                     "10m/XX_BBB_00_BHZ_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst");
    cr_assert_str_eq(str(s, "cache_control"), "public, max-age=600, immutable");
    cJSON_Delete(s);
    s = read_sidecar(BBB5 "6h/XX_BBB_00_BHZ_6h_2025-11-05-00-00-00_to_2025-11-05-06-00-00.bin.zst");
    cr_assert_str_eq(str(s, "cache_control"), "no-cache");
    cJSON_Delete(s);
    s = read_sidecar(BBB5 "XX_BBB_00_BHZ_2025-11-05.json");
    cr_assert_str_eq(str(s, "cache_control"), "public, max-age=5");
    cr_assert_str_eq(str(s, "content_type"), "application/json");
    cJSON_Delete(s);
}

Test(layout, run_and_get_work_unchanged_on_a_viewer_store)
{
    /* The cron run at 01:02 on the 5th: the 10-minute windows of the last
     * hour (00:00-01:00) and the 1 h window 00:00-01:00 that just closed. */
    cJSON *j = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = r2("run --now 2025-11-05T01:02:00Z --json", &j, &err);
    cr_assert_eq(rc, 0, "run exit %d: %s", rc, err.data);
    cr_assert_str_eq(str(j, "status"), "complete");
    cr_assert_eq(num(j, "chunks_written"), 2 * 7);
    cJSON_Delete(j);
    rc_buf_free(&err);
    cr_assert(key_exists(
        AAA5 "10m/XX_AAA_--_HHZ_10m_2025-11-05-00-50-00_to_2025-11-05-01-00-00.bin.zst"));
    cr_assert(
        key_exists(AAA5 "1h/XX_AAA_--_HHZ_1h_2025-11-05-00-00-00_to_2025-11-05-01-00-00.bin.zst"));
    cr_assert(
        key_exists(BBB5 "1h/XX_BBB_00_BHZ_1h_2025-11-05-00-00-00_to_2025-11-05-01-00-00.bin.zst"));
    cr_assert_eq(count_keys("/data/"), 2 * 7 + 2);
    /* the same run again finds everything present */
    cr_assert_eq(r2("run --now 2025-11-05T01:02:00Z --json", &j, NULL), 0);
    cr_assert_eq(num(j, "chunks_written"), 0);
    cJSON_Delete(j);

    /* get across the midnight of the viewer folders, with a located channel */
    fill_all();
    rc_buf out = RC_BUF_INIT;
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "%s get XX.BBB.00.BHZ --config '%s' --from 2025-11-04T23:59:59Z "
             "--to 2025-11-05T00:00:01Z",
             rc_test_bin("r2cache"), g_config);
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0);
    int lines = 0;
    for (const char *p = out.data; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 101, "get printed %d lines", lines); /* header + 2 s at 50 Hz */
    char want[256];
    snprintf(want, sizeof want,
             "\n2025-11-04T23:59:59.980000Z,%d\n2025-11-05T00:00:00.000000Z,%d\n",
             rc_synth_value("XX.BBB.00.BHZ", T1105 * 50 - 1),
             rc_synth_value("XX.BBB.00.BHZ", T1105 * 50));
    cr_assert(strstr(out.data, want), "get output lacks the midnight samples: %.300s", out.data);
    rc_buf_free(&out);
}

/* Every blob and manifest of the store, as (relative path, bytes). */
typedef struct snap {
    char **path;
    rc_buf *body;
    size_t n;
} snap;

static void snapshot(snap *s, int with_dotfiles)
{
    char cmd[8400];
    /* index/ is inventory's summary cache, not part of the layout */
    snprintf(cmd, sizeof cmd, "cd '%s' && find . -type f ! -path './index/*' %s | LC_ALL=C sort",
             g_store, with_dotfiles ? "" : "! -name '.*'");
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0);
    memset(s, 0, sizeof *s);
    size_t cap = 0;
    for (char *line = strtok(out.data ? out.data : (char[1]){0}, "\n"); line;
         line = strtok(NULL, "\n")) {
        if (s->n == cap) {
            cap = cap ? cap * 2 : 256;
            s->path = realloc(s->path, cap * sizeof *s->path);
            s->body = realloc(s->body, cap * sizeof *s->body);
        }
        s->path[s->n] = strdup(line + 2);
        rc_buf_init(&s->body[s->n]);
        char full[8400];
        snprintf(full, sizeof full, "%s/%s", g_store, line + 2);
        cr_assert_eq(rc_test_read_file(full, &s->body[s->n]), 0);
        s->n++;
    }
    rc_buf_free(&out);
}

static void snap_free(snap *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->path[i]);
        rc_buf_free(&s->body[i]);
    }
    free(s->path);
    free(s->body);
}

static void snap_assert_equal(const snap *a, const snap *b, const char *what)
{
    cr_assert_eq(a->n, b->n, "%s: %zu files before, %zu after", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        cr_assert_str_eq(a->path[i], b->path[i], "%s", what);
        cr_assert(
            a->body[i].len == b->body[i].len &&
                (!a->body[i].len || memcmp(a->body[i].data, b->body[i].data, a->body[i].len) == 0),
            "%s: %s changed", what, a->path[i]);
    }
}

Test(layout, migrate_seed_to_viewer_and_back_gives_identical_blobs_and_manifests)
{
    write_config("seed", NULL);
    fill_all();
    snap before;
    snapshot(&before, 0);
    cr_assert_eq(before.n, 2 * (48 + 8 + 2) + 4);
    cr_assert(key_exists(AAA_SEED
                         "XX_AAA__HHZ_100Hz_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst"));

    cJSON *j = NULL;
    int rc = r2("migrate --to-layout viewer --delete-source " MIG_RANGE, &j, NULL);
    cr_assert_eq(rc, 0, "migrate exit %d", rc);
    cr_assert_str_eq(str(j, "status"), "complete");
    cr_assert_str_eq(str(j, "from_layout"), "seed");
    cr_assert_str_eq(str(j, "to_layout"), "viewer");
    cr_assert_eq(num(j, "blobs_copied"), 2 * (48 + 8 + 2));
    cr_assert_eq(num(j, "blobs_failed"), 0);
    cr_assert_eq(num(j, "manifests_written"), 4);
    cr_assert_eq(num(j, "source_keys_deleted"), 2 * (48 + 8 + 2) + 4);
    cJSON_Delete(j);
    /* the viewer keys, with the seed blob's bytes and headers */
    cr_assert_eq(count_keys("Hz"), 0);
    cr_assert_eq(count_keys("/data/2025/11/0"), 2 * (48 + 8 + 2) + 4);
    const char *vkey =
        AAA4 "10m/XX_AAA_--_HHZ_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst";
    rc_buf b = RC_BUF_INIT;
    read_key(vkey, &b);
    int found = 0;
    for (size_t i = 0; i < before.n; i++)
        if (strstr(before.path[i], "XX_AAA__HHZ_100Hz_2025-11-04-23-50-00_to_")) {
            cr_assert(b.len == before.body[i].len && !memcmp(b.data, before.body[i].data, b.len));
            found = 1;
        }
    cr_assert(found);
    rc_buf_free(&b);
    cJSON *s = read_sidecar(vkey);
    cr_assert_str_eq(str(s, "cache_control"), "public, max-age=31536000, immutable");
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(s, "meta"), "r2c-samples"), "60000");
    cJSON_Delete(s);
    s = read_sidecar(AAA4 "6h/XX_AAA_--_HHZ_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst");
    cr_assert_str_eq(str(s, "cache_control"), "public, max-age=60");
    cJSON_Delete(s);
    /* the converted manifest: viewer lists, "" location, same entries */
    cJSON *vm = read_json(AAA4 "XX_AAA_--_HHZ_2025-11-04.json");
    cr_assert_str_eq(str(vm, "layout"), "viewer");
    cr_assert_str_eq(str(vm, "location"), "");
    cr_assert_eq(cJSON_GetArraySize(chunk_list(vm, "10m")), 24);
    cr_assert_eq(cJSON_GetArraySize(chunk_list(vm, "1h")), 4);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(vm, "latitude"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(vm, "instrument_type"));
    cJSON_Delete(vm);

    /* and back: the config says seed, the store is viewer now */
    rc = r2("migrate --layout viewer --to-layout seed --delete-source " MIG_RANGE, &j, NULL);
    cr_assert_eq(rc, 0, "migrate back exit %d", rc);
    cr_assert_eq(num(j, "blobs_copied"), 2 * (48 + 8 + 2));
    cJSON_Delete(j);
    snap after;
    snapshot(&after, 0);
    /* byte-identical blobs; manifests equal as JSON (and here even as bytes) */
    cr_assert_eq(after.n, before.n);
    for (size_t i = 0; i < after.n; i++) {
        cr_assert_str_eq(after.path[i], before.path[i]);
        if (strstr(after.path[i], ".json")) {
            cJSON *x = cJSON_Parse(before.body[i].data), *y = cJSON_Parse(after.body[i].data);
            cr_assert(cJSON_Compare(x, y, 1), "manifest %s is not equivalent", after.path[i]);
            cJSON_Delete(x);
            cJSON_Delete(y);
        } else {
            cr_assert(after.body[i].len == before.body[i].len &&
                          !memcmp(after.body[i].data, before.body[i].data, after.body[i].len),
                      "blob %s differs after the round trip", after.path[i]);
        }
    }
    snap_free(&before);
    snap_free(&after);
}

Test(layout, migrate_dry_run_changes_nothing)
{
    fill_all();
    snap before, after;
    snapshot(&before, 1);
    cJSON *j = NULL;
    int rc = r2("migrate --to-layout seed --dry-run --delete-source " MIG_RANGE, &j, NULL);
    cr_assert_eq(rc, 0);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "dry_run")));
    cr_assert_eq(num(j, "blobs_to_copy"), 2 * (48 + 8 + 2));
    cr_assert_eq(num(j, "manifests_to_write"), 4);
    cr_assert_eq(num(j, "source_keys_to_delete"), 2 * (48 + 8 + 2) + 4);
    const cJSON *plan = cJSON_GetObjectItemCaseSensitive(j, "plan");
    cr_assert_eq(cJSON_GetArraySize(plan), 2 * (2 * (48 + 8 + 2) + 4));
    cr_assert_str_eq(
        cJSON_GetArrayItem(plan, 0)->valuestring,
        "copy " AAA4 "10m/XX_AAA_--_HHZ_10m_2025-11-04-20-00-00_to_2025-11-04-20-10-00.bin.zst"
        " -> " AAA_SEED "XX_AAA__HHZ_100Hz_2025-11-04-20-00-00_to_2025-11-04-20-10-00.bin.zst");
    cJSON_Delete(j);
    snapshot(&after, 1);
    snap_assert_equal(&before, &after, "dry run");
    snap_free(&before);
    snap_free(&after);
}

Test(layout, migrate_rerun_copies_only_what_is_missing)
{
    fill_all();
    cJSON *j = NULL;
    cr_assert_eq(r2("migrate --to-layout seed " MIG_RANGE, &j, NULL), 0);
    cr_assert_eq(num(j, "blobs_copied"), 2 * (48 + 8 + 2));
    cJSON_Delete(j);
    /* the source is kept without --delete-source */
    cr_assert_eq(count_keys("/data/2025/11/0"), 2 * (48 + 8 + 2) + 4);
    cr_assert_eq(count_keys("Hz"), 2 * (48 + 8 + 2) + 4);
    /* a cut migration: two blobs and one manifest of the copy are gone */
    char p[8192];
    store_path(AAA_SEED "XX_AAA__HHZ_100Hz_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst", p,
               sizeof p);
    cr_assert_eq(unlink(p), 0);
    store_path(BBB_SEED "XX_BBB_00_BHZ_50Hz_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst", p,
               sizeof p);
    cr_assert_eq(unlink(p), 0);
    store_path(AAA_SEED "XX_AAA__HHZ_100Hz_2025-11-04.json", p, sizeof p);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(r2("migrate --to-layout seed " MIG_RANGE, &j, NULL), 0);
    cr_assert_eq(num(j, "blobs_copied"), 2);
    cr_assert_eq(num(j, "blobs_present"), 2 * (48 + 8 + 2) - 2);
    /* the lost manifest is written again; the others still name every entry */
    cr_assert_eq(num(j, "manifests_written"), 1);
    cr_assert_eq(num(j, "manifests_present"), 3);
    cJSON_Delete(j);
    cJSON *m = read_json(AAA_SEED "XX_AAA__HHZ_100Hz_2025-11-04.json");
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "10min")), 24);
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "1h")), 4);
    cr_assert_eq(num(m, "sample_rate"), 100);
    cJSON_Delete(m);
    /* and a third run has nothing to do */
    cr_assert_eq(r2("migrate --to-layout seed " MIG_RANGE, &j, NULL), 0);
    cr_assert_eq(num(j, "blobs_copied"), 0);
    cr_assert_eq(num(j, "manifests_written"), 0);
    cJSON_Delete(j);
}

Test(layout, migrate_deletes_the_source_only_after_everything_verified)
{
    fill_all();
    /* a different object already sits at one destination key */
    const char *clash =
        AAA_SEED "XX_AAA__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst";
    char p[8192];
    store_path(clash, p, sizeof p);
    char mk[8400];
    snprintf(mk, sizeof mk, "mkdir -p \"$(dirname '%s')\" && printf 'not this' > '%s'", p, p);
    cr_assert_eq(rc_test_sh(mk, NULL, NULL), 0);
    snap before;
    snapshot(&before, 0);

    cJSON *j = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = r2("migrate --to-layout seed --delete-source " MIG_RANGE, &j, &err);
    cr_assert_eq(rc, 1, "exit %d", rc);
    cr_assert_str_eq(str(j, "status"), "partial");
    cr_assert_eq(num(j, "blobs_failed"), 1);
    cr_assert_eq(num(j, "blobs_copied"), 2 * (48 + 8 + 2) - 1);
    cr_assert_eq(num(j, "source_keys_deleted"), 0);
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
    cr_assert_eq(cJSON_GetArraySize(errs), 1);
    cr_assert(strstr(cJSON_GetArrayItem(errs, 0)->valuestring, clash), "error: %s",
              cJSON_GetArrayItem(errs, 0)->valuestring);
    cr_assert(strstr(cJSON_GetArrayItem(errs, 0)->valuestring, "not overwritten"));
    cr_assert(strstr(err.data, "not deleting any source key"), "log: %s", err.data);
    cJSON_Delete(j);
    rc_buf_free(&err);
    /* every source key is still there, and the clash was not overwritten */
    cr_assert_eq(count_keys("/data/2025/11/0"), 2 * (48 + 8 + 2) + 4);
    rc_buf b = RC_BUF_INIT;
    read_key(clash, &b);
    cr_assert_eq(b.len, 8);
    rc_buf_free(&b);
    /* the seed manifest of that day does not name the chunk it could not copy */
    cJSON *m = read_json(AAA_SEED "XX_AAA__HHZ_100Hz_2025-11-04.json");
    const cJSON *it;
    cJSON_ArrayForEach(it, chunk_list(m, "10min")) cr_assert_str_neq(str(it, "start"), "22:00:00");
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "10min")), 23);
    cJSON_Delete(m);
    snap_free(&before);

    /* the operator removes the stray object: the rerun copies it and only
     * then deletes the viewer keys */
    cr_assert_eq(unlink(p), 0);
    rc = r2("migrate --to-layout seed --delete-source " MIG_RANGE, &j, NULL);
    cr_assert_eq(rc, 0);
    cr_assert_eq(num(j, "blobs_copied"), 1);
    cr_assert_eq(num(j, "source_keys_deleted"), 2 * (48 + 8 + 2) + 4);
    cJSON_Delete(j);
    cr_assert_eq(count_keys("/data/2025/11/0"), 0);
    m = read_json(AAA_SEED "XX_AAA__HHZ_100Hz_2025-11-04.json");
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "10min")), 24);
    cJSON_Delete(m);
}

/* inventory --scope all --json with the given layout: the summary object's numbers. */
static void inventory_totals(const char *layout, double *days, double *c10, double *c6,
                             double *bytes, double *rebuilt)
{
    char args[256];
    snprintf(args, sizeof args, "inventory --scope all --json --layout %s", layout);
    cJSON *j = NULL;
    int rc = r2(args, &j, NULL);
    cr_assert_eq(rc, 0, "%s: exit %d", args, rc);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "summary");
    *days = num(s, "total_days_cached");
    *c10 = num(s, "total_chunks_10min");
    *c6 = num(s, "total_chunks_6h");
    *bytes = num(s, "total_bytes");
    *rebuilt = num(cJSON_GetObjectItemCaseSensitive(j, "inventory_stats"), "summaries_written");
    cJSON_Delete(j);
}

/* The per-month summaries under index/ are shared by both layouts: migrate
 * marks the months it changes (copies and deletes) and inventory rebuilds a
 * summary built from the other layout, so neither layout's inventory reads
 * the other's (or deleted) data as its own. */
Test(layout, inventory_after_migrate_describes_each_layout_as_stored)
{
    cJSON *j = NULL;
    double d1, a1, b1, y1, r, d, a, b, y;
    cr_assert_eq(r2("fill --from 2025-11-04T18:00:00Z --to 2025-11-05T00:00:00Z --json", &j, NULL),
                 0);
    cJSON_Delete(j);
    cr_assert_eq(r2("migrate --to-layout seed " MIG_RANGE, &j, NULL), 0);
    cJSON_Delete(j);
    inventory_totals("seed", &d1, &a1, &b1, &y1, &r); /* builds the seed summaries */
    cr_assert(a1 > 0 && a1 < 2 * 48, "first half: %g 10-minute chunks", a1);
    cr_assert(key_exists("index/testvol/XX.AAA..HHZ/2025-11.json"));

    /* the second half reaches the viewer layout (fill marks the month) and the
     * seed summaries absorb that mark while the seed keys are unchanged */
    cr_assert_eq(r2("fill --from 2025-11-05T00:00:00Z --to 2025-11-05T06:00:00Z --json", &j, NULL),
                 0);
    cJSON_Delete(j);
    inventory_totals("seed", &d, &a, &b, &y, &r);
    cr_assert_eq(r, 2);
    cr_assert_eq(a, a1);
    inventory_totals("seed", &d, &a, &b, &y, &r);
    cr_assert_eq(r, 0, "fresh summaries are read, not rebuilt");

    /* migrate copies the second half: it marks the month itself */
    cr_assert_eq(r2("migrate --to-layout seed " MIG_RANGE, &j, NULL), 0);
    cr_assert(num(j, "blobs_copied") > 0);
    cJSON_Delete(j);
    inventory_totals("seed", &d, &a, &b, &y, &r);
    cr_assert_eq(r, 2, "the copies did not mark the month: %g summaries rebuilt", r);
    cr_assert_eq(a, 2 * 48);
    cr_assert_eq(b, 2 * 2);
    cr_assert_eq(d, 2 * 2);
    /* the seed-built summaries are not the viewer's */
    inventory_totals("viewer", &d, &a, &b, &y, &r);
    cr_assert_eq(r, 2);
    cr_assert_eq(a, 2 * 48);

    /* deleting the source marks the month too */
    cr_assert_eq(r2("migrate --to-layout seed --delete-source " MIG_RANGE, &j, NULL), 0);
    cr_assert_eq(num(j, "blobs_copied"), 0);
    cr_assert_eq(num(j, "source_keys_deleted"), 2 * (48 + 8 + 2) + 4);
    cJSON_Delete(j);
    inventory_totals("viewer", &d, &a, &b, &y, &r);
    cr_assert_eq(r, 2, "the deletes did not mark the month: %g summaries rebuilt", r);
    cr_assert_eq(a, 0, "the viewer keys are deleted, yet %g 10-minute chunks reported", a);
    cr_assert_eq(d, 0);
    cr_assert_eq(y, 0);
    inventory_totals("seed", &d, &a, &b, &y, &r);
    cr_assert_eq(r, 2);
    cr_assert_eq(a, 2 * 48);
    cr_assert_eq(b, 2 * 2);
    cr_assert_eq(d, 2 * 2);
    /* every blob and manifest now stored (the seed keys), by size */
    char cmd[4400];
    snprintf(cmd, sizeof cmd,
             "find '%s/data' -type f ! -name '.*' -printf '%%s\\n' | "
             "awk '{t += $1} END {print t}'",
             g_store);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0);
    cr_assert_eq(y, atof(out.data), "total_bytes %.0f, the seed keys hold %s", y, out.data);
    rc_buf_free(&out);
}

Test(layout, migrate_refuses_what_it_cannot_do)
{
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(r2("migrate --to-layout viewer " MIG_RANGE, NULL, &err), 2);
    cr_assert(strstr(err.data, "already in the viewer layout"), "%s", err.data);
    rc_buf_reset(&err);
    cr_assert_eq(r2("migrate --to-layout flat " MIG_RANGE, NULL, &err), 2);
    cr_assert(strstr(err.data, "--to-layout flat"), "%s", err.data);
    rc_buf_reset(&err);
    cr_assert_eq(r2("migrate --to-layout seed --to 2025-11-05", NULL, &err), 2);
    cr_assert(strstr(err.data, "--from is required"), "%s", err.data);
    rc_buf_free(&err);
}

/* The viewer's decompressor reads what r2cache wrote (tests/node). */
Test(layout, fzstd_in_node_decodes_the_viewer_blobs)
{
    if (rc_test_sh("command -v node >/dev/null && command -v npm >/dev/null", NULL, NULL) != 0)
        cr_skip_test("SKIPPED: node or npm is not installed; the fzstd check did not run");
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd '%s/tests/node' && { test -d node_modules/fzstd || "
             "npm ci --no-audit --no-fund --silent >&2; }",
             RC_SOURCE_DIR);
    rc_buf err = RC_BUF_INIT;
    if (rc_test_sh(cmd, NULL, &err) != 0)
        cr_skip_test("SKIPPED: npm could not install fzstd: %.300s", err.data ? err.data : "");
    rc_buf_free(&err);
    fill_all();
    snprintf(cmd, sizeof cmd,
             "node '%s/tests/node/check_viewer_blobs.js' '%s' " AAA4
             "XX_AAA_--_HHZ_2025-11-04.json " AAA5 "XX_AAA_--_HHZ_2025-11-05.json " BBB4
             "XX_BBB_00_BHZ_2025-11-04.json " BBB5 "XX_BBB_00_BHZ_2025-11-05.json",
             RC_SOURCE_DIR, g_store);
    rc_buf out = RC_BUF_INIT;
    err = (rc_buf)RC_BUF_INIT;
    int rc = rc_test_sh(cmd, &out, &err);
    cr_assert_eq(rc, 0, "fzstd check failed (%d): %s %s", rc, out.data ? out.data : "",
                 err.data ? err.data : "");
    cJSON *j = cJSON_Parse(out.data);
    cr_assert(j, "fzstd check printed: %s", out.data);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "checked");
    cr_assert_eq(num(c, "10m"), 2 * 48);
    cr_assert_eq(num(c, "1h"), 2 * 8);
    cr_assert_eq(num(c, "6h"), 2 * 2);
    cr_assert_eq(num(j, "samples"),
                 48 * 60000 + 8 * 360000 + 2 * 2160000 + 48 * 30000 + 8 * 180000 + 2 * 1080000);
    cJSON_Delete(j);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(layout, migrate_rebuilds_lost_entries_and_extends_a_partial_destination_manifest)
{
    fill_all();
    /* the source manifest of AAA on the 5th is lost: its 29 blobs remain */
    char p[8192];
    store_path(AAA5 "XX_AAA_--_HHZ_2025-11-05.json", p, sizeof p);
    cr_assert_eq(unlink(p), 0);
    cJSON *j = NULL;
    cr_assert_eq(r2("migrate --to-layout seed --station XX.AAA..HHZ " MIG_RANGE, &j, NULL), 0);
    cr_assert_eq(num(j, "blobs_copied"), 48 + 8 + 2);
    cr_assert_eq(num(j, "blobs_reindexed"), 24 + 4 + 1);
    cr_assert_eq(num(j, "manifests_written"), 2);
    cJSON_Delete(j);
    cJSON *m = read_json(AAA_SEED "XX_AAA__HHZ_100Hz_2025-11-05.json");
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "10min")), 24);
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "1h")), 4);
    const cJSON *e = cJSON_GetArrayItem(chunk_list(m, "10min"), 3);
    cr_assert_str_eq(str(e, "start"), "00:30:00");
    cr_assert_eq(num(e, "samples"), 60000);
    cJSON_Delete(m);

    /* a destination manifest that lacks entries is extended, not replaced */
    const char *dk = AAA_SEED "XX_AAA__HHZ_100Hz_2025-11-04.json";
    m = read_json(dk);
    cJSON *ten =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "chunks"), "10min");
    cJSON_DeleteItemFromArray(ten, 0);
    cJSON_AddStringToObject(m, "note", "kept");
    char *txt = cJSON_Print(m);
    store_path(dk, p, sizeof p);
    cr_assert_eq(rc_test_write_file(p, txt, strlen(txt)), 0);
    free(txt);
    cJSON_Delete(m);
    cr_assert_eq(r2("migrate --to-layout seed --station XX.AAA..HHZ " MIG_RANGE, &j, NULL), 0);
    cr_assert_eq(num(j, "blobs_copied"), 0);
    cr_assert_eq(num(j, "manifests_written"), 1);
    cJSON_Delete(j);
    m = read_json(dk);
    cr_assert_eq(cJSON_GetArraySize(chunk_list(m, "10min")), 24);
    cr_assert_str_eq(str(cJSON_GetArrayItem(chunk_list(m, "10min"), 0), "start"), "20:00:00");
    cr_assert_str_eq(str(m, "note"), "kept");
    cJSON_Delete(m);
}
