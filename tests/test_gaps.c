/*
 * test_gaps.c: `r2cache gaps` as people and scripts read it: the table, the
 * JSON (validated against schemas/gaps.schema.json, and fill's output against
 * schemas/fill.schema.json, when python3-jsonschema is installed), the exit
 * status, provisional chunks. The full severity/fill round trip is in
 * test_fill.c. The store is given by URL (RC_GAPS_STORE_URL selects another
 * base, for example an S3 bucket); the source is an SDS archive.
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "r2cache/gaps.h"
#include "r2cache/store.h"
#include "support.h"

static char *g_dir;
static char g_sds[4200];
static char g_store_url[4200];
static char g_config[4200];

#define TST_DIR "data/2025/11/XX/testvol/TST//HHZ/"

static void setup(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/gaps-sds", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete", g_sds);
    struct stat st;
    if (stat(marker, &st) != 0) {
        char cmd[16384];
        const char *synth = rc_test_bin("r2cache-synth");
        /* 03:00-03:01 missing: the 03:00 window is 90 % complete, provisional */
        snprintf(cmd, sizeof cmd,
                 "rm -rf '%s' && %s sds --out '%s' --rate 10 --from 2025-11-04 --to 2025-11-05 "
                 "--chan XX.TST..HHZ --gap 2025-11-04T03:00:00Z/2025-11-04T03:01:00Z && touch '%s'",
                 g_sds, synth, g_sds, marker);
        cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0, "r2cache-synth failed");
    }
    g_dir = rc_test_tmpdir("gaps");
    cr_assert(g_dir);
    const char *base = getenv("RC_GAPS_STORE_URL");
    const char *leaf = strrchr(g_dir, '/');
    if (base && *base)
        snprintf(g_store_url, sizeof g_store_url, "%s/%s", base, leaf ? leaf + 1 : "t");
    else
        snprintf(g_store_url, sizeof g_store_url, "%s/store", g_dir);
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    char json[8192];
    snprintf(
        json, sizeof json,
        "{\"source\": \"sds://%s\", \"store\": \"%s\",\n"
        " \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", \"stations\": [\n"
        "   {\"network\": \"XX\", \"station\": \"TST\", \"location\": \"\", \"channel\": \"HHZ\", "
        "\"sample_rate\": 10}]}]}\n",
        g_sds, g_store_url);
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
}

static void teardown(void)
{
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

TestSuite(gaps, .init = setup, .fini = teardown, .timeout = 120);

static int gaps(const char *more, rc_buf *out, rc_buf *err)
{
    char args[4600];
    snprintf(args, sizeof args, "gaps --config '%s' --now 2025-11-06 --log-format text %s",
             g_config, more);
    return rc_test_r2cache(args, out, err);
}

/* Validate a JSON document against a schema of the repo; 0 = valid, 77 = no jsonschema. */
static int validate(const char *schema, const char *doc)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/doc.json", g_dir);
    cr_assert_eq(rc_test_write_file(path, doc, strlen(doc)), 0);
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sys, json\n"
             "try:\n import jsonschema\nexcept ImportError:\n sys.exit(77)\n"
             "jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))' "
             "'%s/schemas/%s' '%s' 2>&1",
             RC_SOURCE_DIR, schema, path);
    rc_buf out = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, &out, NULL);
    cr_assert(rc == 0 || rc == 77, "%s does not validate: %s\n%s", schema, out.data, doc);
    rc_buf_free(&out);
    return rc;
}

static void del_key(const char *key)
{
    rc_store_opts so;
    rc_store_opts_default(&so);
    rc_store *st = NULL;
    rc_err e;
    cr_assert_eq(rc_store_open(g_store_url, &so, &st, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_store_delete(st, key, &e), RC_OK, "%s", e.msg);
    rc_store_close(st);
}

Test(gaps, empty_store_is_one_critical_gap_per_span)
{
    rc_buf out = RC_BUF_INIT;
    int rc = gaps("--from 2025-11-04 --to 2025-11-05", &out, NULL);
    cr_assert_eq(rc, 1, "exit %d", rc);
    cr_assert_str_eq(
        out.data,
        "gaps 2025-11-04T00:00:00Z .. 2025-11-05T00:00:00Z, 1 channels (minor <= 2 h, moderate "
        "<= 12 h, critical > 12 h)\n"
        "CHANNEL              SPAN START                 END                     HOURS WINDOWS  "
        "SEVERITY\n"
        "XX.TST..HHZ          10m  2025-11-04T00:00:00Z  2025-11-05T00:00:00Z    24.00     144  "
        "critical\n"
        "XX.TST..HHZ          6h   2025-11-04T00:00:00Z  2025-11-05T00:00:00Z    24.00       4  "
        "critical\n"
        "summary: 2 gaps (0 minor, 0 moderate, 2 critical); 148 of 148 windows missing, 0 "
        "unindexed, 0 provisional\n");
    rc_buf_free(&out);
}

Test(gaps, table_json_schema_exit_status_and_provisional_chunks)
{
    char args[4600];
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-04 --to 2025-11-05 --json --log-format text",
             g_config);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_r2cache(args, &out, NULL), 0);
    validate("fill.schema.json", out.data);
    rc_buf_free(&out);
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-04 --to 2025-11-05 --json --dry-run "
             "--log-format text",
             g_config);
    cr_assert_eq(rc_test_r2cache(args, &out, NULL), 0);
    validate("fill.schema.json", out.data);
    rc_buf_free(&out);

    /* two small holes: 08:00-08:20 (minor) and 10:00-13:00 (moderate) */
    const char *gone[] = {"08-00-00_to_2025-11-04-08-10-00", "08-10-00_to_2025-11-04-08-20-00"};
    char key[1024];
    for (int i = 0; i < 2; i++) {
        snprintf(key, sizeof key, TST_DIR "XX_TST__HHZ_10Hz_2025-11-04-%s.bin.zst", gone[i]);
        del_key(key);
    }
    for (int m = 600; m < 780; m += 10) {
        snprintf(key, sizeof key,
                 TST_DIR
                 "XX_TST__HHZ_10Hz_2025-11-04-%02d-%02d-00_to_2025-11-04-%02d-%02d-00.bin.zst",
                 m / 60, m % 60, (m + 10) / 60, (m + 10) % 60);
        del_key(key);
    }

    int rc = gaps("--from 2025-11-04 --to 2025-11-05", &out, NULL);
    cr_assert_eq(rc, 0, "no critical gap: exit 0, got %d", rc);
    cr_assert(strstr(out.data, "XX.TST..HHZ          10m  2025-11-04T08:00:00Z  "
                               "2025-11-04T08:20:00Z     0.33       2  minor (manifest names "
                               "blobs that are gone)\n"),
              "table: %s", out.data);
    cr_assert(strstr(out.data, "XX.TST..HHZ          10m  2025-11-04T10:00:00Z  "
                               "2025-11-04T13:00:00Z     3.00      18  moderate"),
              "table: %s", out.data);
    cr_assert(strstr(out.data, "provisional chunks"), "table: %s", out.data);
    cr_assert(strstr(out.data, "  XX.TST..HHZ          10m  2025-11-04T03:00:00Z  completeness "
                               "0.900  written "),
              "table: %s", out.data);
    cr_assert(strstr(out.data, "  XX.TST..HHZ          6h   2025-11-04T00:00:00Z  completeness "),
              "table: %s", out.data);
    cr_assert(strstr(out.data, "summary: 2 gaps (1 minor, 1 moderate, 0 critical); 20 of 148 "
                               "windows missing, 0 unindexed, 2 provisional\n"),
              "table: %s", out.data);
    rc_buf_free(&out);

    /* the thresholds move the classes: 3 h is critical above 2.5 h */
    rc = gaps("--from 2025-11-04 --to 2025-11-05 --critical-hours 2.5 --json", &out, NULL);
    cr_assert_eq(rc, 1);
    validate("gaps.schema.json", out.data);
    cJSON *j = cJSON_Parse(out.data);
    cr_assert(j);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "gaps");
    cr_assert_eq(cJSON_GetArraySize(g), 2);
    cr_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(g, 1), "severity")->valuestring,
        "critical");
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(g, 1), "hours")->valuedouble,
                 3);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "provisional");
    cr_assert_eq(cJSON_GetArraySize(p), 2);
    cr_assert_float_eq(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(p, 0), "completeness")->valuedouble,
        0.9, 1e-9);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "critical")));
    cJSON_Delete(j);
    rc_buf_free(&out);

    /* windows after "now" are not expected yet, nor those that ended less
     * than the delay (2 min) before it: at 00:00 the 23:50 window and the
     * 18:00 6-hour window are not due (143 + 3) */
    rc = gaps("--from 2025-11-05 --to 2025-11-08 --json", &out, NULL);
    j = cJSON_Parse(out.data);
    cr_assert(j);
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(j, "windows_expected")->valuedouble, 146);
    cr_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "time_range"), "end")
            ->valuestring,
        "2025-11-06T00:00:00Z");
    cJSON_Delete(j);
    rc_buf_free(&out);
    cr_assert_eq(rc, 1);
}

Test(gaps, usage_errors_exit_2_with_a_message)
{
    struct {
        const char *args, *msg;
    } cases[] = {
        {"--to 2025-11-05", "--from is required"},
        {"--from 2025-11-05 --to 2025-11-04", "is not after --from"},
        {"--from 2025-11-04 --minor-hours two", "--minor-hours two: give a number of hours"},
        {"--from 2025-11-04 --minor-hours 6 --critical-hours 3", "is below --minor-hours"},
        {"--from 2025-11-04 --station XX.NOPE..HHZ", "XX.NOPE..HHZ is not in the configuration"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc_buf err = RC_BUF_INIT;
        int rc = gaps(cases[i].args, NULL, &err);
        cr_assert_eq(rc, 2, "%s: exit %d", cases[i].args, rc);
        cr_assert(err.data && strstr(err.data, cases[i].msg), "%s: %s", cases[i].args, err.data);
        rc_buf_free(&err);
    }
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_r2cache("gaps --help", &out, NULL), 0);
    cr_assert(strstr(out.data, "1 critical gaps exist"), "help: %s", out.data);
    rc_buf_free(&out);
}

/* Freshness and last-day completeness from a report (what run and inventory
 * put in their metrics): at 01:02 with a 2 min delay the newest window due
 * ends at 01:00 and the last day is the 144 windows from 01:00 the day before. */
Test(gaps, health_of_a_report)
{
    const int64_t t0 = 1762214400; /* 2025-11-04T00:00:00Z */
    rc_gaps_report r;
    memset(&r, 0, sizeof r);
    r.ntargets = 4;
    r.from = t0 - 7 * 86400;
    r.to = t0 + 3600; /* floor(now) to the base span */
    rc_gap g[] = {
        /* 1: nothing until 00:30, then 00:40-01:00 missing: newest is 00:40 */
        {.target = 1, .span = RC_SPAN_10M, .start = r.from, .end = t0 + 1800, .windows = 0},
        {.target = 1, .span = RC_SPAN_10M, .start = t0 + 2400, .end = t0 + 3600, .windows = 2},
        /* 2: nothing at all in the range */
        {.target = 2, .span = RC_SPAN_10M, .start = r.from, .end = r.to, .windows = 0},
        /* 3: a 6 h gap is not a base-span gap; a missing window before the last day is not
         * in its completeness */
        {.target = 3, .span = RC_SPAN_6H, .start = t0 - 21600, .end = t0, .windows = 1},
        {.target = 3,
         .span = RC_SPAN_10M,
         .start = t0 - 2 * 86400,
         .end = t0 - 2 * 86400 + 600,
         .windows = 1},
    };
    r.gaps = g;
    r.ngaps = sizeof g / sizeof g[0];
    rc_gaps_health h[4];
    rc_gaps_health_of(&r, RC_SPAN_10M, t0 + 3720, 120, h);
    cr_assert_eq(h[0].newest, t0 + 3600);
    cr_assert_float_eq(h[0].completeness, 1.0, 1e-12);
    cr_assert_eq(h[1].newest, t0 + 2400);
    /* missing in the last day: 01:00 .. 00:30 next day (141 windows) and 2 more */
    cr_assert_float_eq(h[1].completeness, 1.0 / 144, 1e-12);
    cr_assert_eq(h[2].newest, 0);
    cr_assert_float_eq(h[2].completeness, 0.0, 1e-12);
    cr_assert_eq(h[3].newest, t0 + 3600);
    cr_assert_float_eq(h[3].completeness, 1.0, 1e-12);
    /* the delay decides the last window due: at 01:01 it is 00:50-01:00's predecessor */
    rc_gaps_health_of(&r, RC_SPAN_10M, t0 + 3660, 120, h);
    cr_assert_eq(h[0].newest, t0 + 3000);
    cr_assert_eq(h[1].newest, t0 + 2400);
    cr_assert_float_eq(h[1].completeness, 1.0 / 144, 1e-12);
}
