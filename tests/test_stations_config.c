/*
 * test_stations_config.c: the deployed viewer's stations_config.json as
 * --config, end to end: the real binary fills a viewer-layout store from the
 * FDSN test server. Active stations only unless --include-inactive; "--" is
 * the empty location; the distance rule of "config" applies.
 */
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support.h"

static char *g_dir;
static char g_sds[4200];
static char g_store[4200];
static char g_config[4200];
static pid_t g_server = -1;
static int g_port;

static void make_sds(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/stcfg-sds", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    char cmd[16384];
    const char *synth = rc_test_bin("r2cache-synth");
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && for c in XX.AAA..HHZ:100 XX.BBB.00.BHZ:50 XX.CCC..EHZ:100 "
             "XX.FAR..HHZ:100; do %s sds --out '%s' --rate ${c#*:} --from 2025-11-04T23:30:00Z "
             "--to 2025-11-05T00:30:00Z --chan ${c%%:*} >/dev/null || exit 1; done && touch '%s'",
             g_sds, synth, g_sds, marker);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "r2cache-synth failed: %s", err.data ? err.data : "");
    rc_buf_free(&err);
}

static const char stations_config[] =
    "{\n"
    "  \"config\": {\"max_distance_km\": 10, \"data_types\": [\"seismic\"]},\n"
    "  \"networks\": {\n"
    "    \"XX\": {\n"
    "      \"testvol\": [\n"
    "        {\"station\": \"AAA\", \"location\": \"--\", \"channel\": \"HHZ\", \"distance_km\": "
    "1.5,\n"
    "         \"sample_rate\": 100, \"active\": true},\n"
    "        {\"station\": \"BBB\", \"location\": \"00\", \"channel\": \"BHZ\", \"distance_km\": "
    "3.2,\n"
    "         \"sample_rate\": 50, \"active\": true},\n"
    "        {\"station\": \"CCC\", \"location\": \"--\", \"channel\": \"EHZ\", \"distance_km\": "
    "4.0,\n"
    "         \"sample_rate\": 100, \"active\": false},\n"
    "        {\"station\": \"FAR\", \"location\": \"--\", \"channel\": \"HHZ\", \"distance_km\": "
    "40,\n"
    "         \"sample_rate\": 100, \"active\": true}\n"
    "      ]\n"
    "    }\n"
    "  }\n"
    "}\n";

static void setup(void)
{
    make_sds();
    g_dir = rc_test_tmpdir("stcfg");
    cr_assert(g_dir);
    snprintf(g_store, sizeof g_store, "%s/store", g_dir);
    snprintf(g_config, sizeof g_config, "%s/stations_config.json", g_dir);
    cr_assert_eq(rc_test_write_file(g_config, stations_config, strlen(stations_config)), 0);
    g_server = rc_test_fdsn_start(g_sds, NULL, &g_port);
    cr_assert(g_server > 0, "FDSN test server did not start");
}

static void teardown(void)
{
    rc_test_server_stop(g_server);
    g_server = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

/* fill 23:40-00:20 into a viewer store; returns the exit status, JSON in *j. */
static int fill(const char *more, cJSON **j)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "%s fill --config '%s' --source http://127.0.0.1:%d --store '%s' --layout viewer "
             "--from 2025-11-04T23:40:00Z --to 2025-11-05T00:20:00Z --json --log-format json %s",
             rc_test_bin("r2cache"), g_config, g_port, g_store, more ? more : "");
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, &out, &err);
    *j = out.data ? cJSON_Parse(out.data) : NULL;
    cr_assert(*j, "fill printed no JSON (exit %d): %s", rc, err.data ? err.data : "");
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

static int key_exists(const char *key)
{
    char p[8400];
    snprintf(p, sizeof p, "%s/%s", g_store, key);
    struct stat st;
    return stat(p, &st) == 0;
}

static int count_under(const char *sub)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "find '%s' -type f ! -name '.*' | grep -c -- '%s'", g_store, sub);
    rc_buf out = RC_BUF_INIT;
    rc_test_sh(cmd, &out, NULL);
    int n = out.data ? atoi(out.data) : -1;
    rc_buf_free(&out);
    return n;
}

TestSuite(stations_config, .init = setup, .fini = teardown, .timeout = 120);

Test(stations_config, active_stations_only_with_the_empty_location_as_dashes)
{
    cJSON *j = NULL;
    int rc = fill(NULL, &j);
    cr_assert_eq(rc, 0, "exit %d", rc);
    /* AAA and BBB: four 10-minute windows each; CCC inactive, FAR too far */
    cr_assert_eq(num(j, "chunks_added"), 8);
    cJSON_Delete(j);
    cr_assert(key_exists("data/2025/11/04/XX/testvol/AAA/--/HHZ/10m/"
                         "XX_AAA_--_HHZ_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst"));
    cr_assert(key_exists("data/2025/11/05/XX/testvol/AAA/--/HHZ/10m/"
                         "XX_AAA_--_HHZ_10m_2025-11-05-00-10-00_to_2025-11-05-00-20-00.bin.zst"));
    cr_assert(key_exists("data/2025/11/05/XX/testvol/BBB/00/BHZ/10m/"
                         "XX_BBB_00_BHZ_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst"));
    cr_assert(key_exists("data/2025/11/05/XX/testvol/AAA/--/HHZ/XX_AAA_--_HHZ_2025-11-05.json"));
    cr_assert_eq(count_under("/CCC/"), 0);
    cr_assert_eq(count_under("/FAR/"), 0);
    cr_assert_eq(count_under("/data/"), 8 + 4);

    /* the manifest keeps the empty location as "" */
    char p[8400];
    snprintf(p, sizeof p, "%s/data/2025/11/04/XX/testvol/AAA/--/HHZ/XX_AAA_--_HHZ_2025-11-04.json",
             g_store);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(p, &b), 0);
    cJSON *m = cJSON_Parse(b.data);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(m, "location")->valuestring, "");
    cr_assert_eq(num(m, "sample_rate"), 100);
    cJSON_Delete(m);
    rc_buf_free(&b);
}

Test(stations_config, include_inactive_adds_the_others_and_dashes_select_a_station)
{
    cJSON *j = NULL;
    cr_assert_eq(fill("--include-inactive", &j), 0);
    cr_assert_eq(num(j, "chunks_added"), 12);
    cJSON_Delete(j);
    cr_assert(key_exists("data/2025/11/04/XX/testvol/CCC/--/EHZ/10m/"
                         "XX_CCC_--_EHZ_10m_2025-11-04-23-40-00_to_2025-11-04-23-50-00.bin.zst"));
    cr_assert_eq(count_under("/FAR/"), 0); /* the distance rule still applies */

    /* "--" in a --station selects the empty location */
    rc_test_rmtree(g_store);
    cr_assert_eq(fill("--station XX.AAA.--.HHZ", &j), 0);
    cr_assert_eq(num(j, "chunks_added"), 4);
    cJSON_Delete(j);
    cr_assert_eq(count_under("/AAA/--/HHZ/10m/"), 4);
    cr_assert_eq(count_under("/BBB/"), 0);
}

Test(stations_config, a_bad_entry_is_refused_with_its_path)
{
    const char *bad = "{\"networks\": {\"XX\": {\"testvol\": [{\"station\": \"AAA\", "
                      "\"location\": \"--\", \"channel\": \"HHZ\", \"active\": \"yes\"}]}}}";
    cr_assert_eq(rc_test_write_file(g_config, bad, strlen(bad)), 0);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "%s fill --config '%s' --store '%s' --from 2025-11-04T23:40:00Z "
             "--to 2025-11-05T00:20:00Z --log-format text",
             rc_test_bin("r2cache"), g_config, g_store);
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 2);
    cr_assert(strstr(err.data, "networks.XX.testvol[0].active"), "message: %s", err.data);
    rc_buf_free(&err);
}
