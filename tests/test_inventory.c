/*
 * test_inventory.c: `r2cache inventory` on a filled cache with known holes
 * gives exactly the true numbers at every scope, by the summary path and by
 * --scan alike; summaries follow change markers (the writers' hook); keys
 * that do not parse are reported; the HTML grid renders in headless
 * Chromium with the right cells, colours and tooltips.
 */
#include "inv_fixture.h"

#include "r2cache/inventory.h"
#include "r2cache/summary.h"

#include <math.h>
#include <sys/wait.h>

TestSuite(inventory, .init = fx_setup, .fini = fx_teardown, .timeout = 300);

/* The holes: AAA loses its 10:00 ten-minute chunk and its 06-12 six-hour
 * chunk of 2025-11-03; BBB loses all of 2025-11-04 (manifest too). */
static void plant_holes(rc_store *st)
{
    fx_delete(st, AAA_DIR "XX_AAA__HHZ_1Hz_2025-11-03-10-00-00_to_2025-11-03-10-10-00.bin.zst");
    fx_delete(st, AAA_DIR "XX_AAA__HHZ_1Hz_2025-11-03-06-00-00_to_2025-11-03-12-00-00.bin.zst");
    char key[512];
    for (int m = 0; m < 144; m++) {
        int h = m / 6, mi = (m % 6) * 10;
        int h2 = (m + 1) / 6, mi2 = ((m + 1) % 6) * 10;
        if (h2 == 24)
            snprintf(key, sizeof key,
                     BBB_DIR
                     "XX_BBB_00_BHZ_1Hz_2025-11-04-%02d-%02d-00_to_2025-11-05-00-00-00.bin.zst",
                     h, mi);
        else
            snprintf(key, sizeof key,
                     BBB_DIR
                     "XX_BBB_00_BHZ_1Hz_2025-11-04-%02d-%02d-00_to_2025-11-04-%02d-%02d-00.bin.zst",
                     h, mi, h2, mi2);
        fx_delete(st, key);
    }
    for (int h = 0; h < 24; h += 6) {
        if (h == 18)
            snprintf(key, sizeof key,
                     BBB_DIR
                     "XX_BBB_00_BHZ_1Hz_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst");
        else
            snprintf(key, sizeof key,
                     BBB_DIR
                     "XX_BBB_00_BHZ_1Hz_2025-11-04-%02d-00-00_to_2025-11-04-%02d-00-00.bin.zst",
                     h, h + 6);
        fx_delete(st, key);
    }
    fx_delete(st, BBB_DIR "XX_BBB_00_BHZ_1Hz_2025-11-04.json");
}

static void check_station_aaa(const cJSON *j, int64_t aaa_bytes)
{
    cr_assert_str_eq(fx_str(j, "scope"), "station");
    cr_assert_str_eq(fx_str(j, "network"), "XX");
    cr_assert_str_eq(fx_str(j, "station"), "AAA");
    cr_assert_str_eq(fx_str(j, "channel"), "HHZ");
    cr_assert_str_eq(fx_str(j, "volcano"), "kilauea");
    cr_assert_str_eq(fx_str(j, "location_code"), "");
    cr_assert_str_eq(fx_str(j, "region"), "hawaii");
    cr_assert_str_eq(fx_str(j, "location"), "hawaii"); /* seed 002's name for the region */
    cr_assert_eq(fx_num(j, "days_cached"), 3);
    const cJSON *dr = cJSON_GetObjectItemCaseSensitive(j, "date_range");
    cr_assert_str_eq(fx_str(dr, "earliest"), "2025-11-03");
    cr_assert_str_eq(fx_str(dr, "latest"), "2025-11-05");
    cr_assert_eq(fx_num(j, "total_chunks.10min"), 143 + 144 + 72);
    cr_assert_eq(fx_num(j, "total_chunks.6h"), 3 + 4 + 2);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "completeness");
    cr_assert_eq(cJSON_GetArraySize(c), 3);
    const cJSON *d3 = cJSON_GetObjectItemCaseSensitive(c, "2025-11-03");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(d3, "complete_day")));
    cr_assert_eq(fx_num(d3, "chunks_10min"), 143);
    cr_assert_eq(fx_num(d3, "chunks_6h"), 3);
    cr_assert_eq(fx_num(d3, "missing_chunks"), 1);
    cr_assert_eq(fx_num(d3, "provisional_chunks"), 0);
    const cJSON *d4 = cJSON_GetObjectItemCaseSensitive(c, "2025-11-04");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d4, "complete_day")));
    cr_assert_eq(fx_num(d4, "chunks_10min"), 144);
    cr_assert_eq(fx_num(d4, "chunks_6h"), 4);
    cr_assert_eq(fx_num(d4, "missing_chunks"), 0);
    /* the 60 s gap: the 05:20 ten-minute chunk and the 00-06 six-hour chunk */
    cr_assert_eq(fx_num(d4, "provisional_chunks"), 2);
    cr_assert_eq(fx_num(d4, "gap_count"), 1);
    cr_assert_eq(fx_num(d4, "gap_samples_filled"), 60);
    const cJSON *d5 = cJSON_GetObjectItemCaseSensitive(c, "2025-11-05");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(d5, "complete_day")));
    cr_assert_eq(fx_num(d5, "chunks_10min"), 72);
    cr_assert_eq(fx_num(d5, "chunks_6h"), 2);
    cr_assert_eq(fx_num(d5, "missing_chunks"), 72);
    cr_assert_eq(fx_num(j, "complete_days"), 1);
    cr_assert_eq(fx_num(j, "total_bytes"), (double)aaa_bytes);
    cr_assert_float_eq(fx_num(j, "total_size_mb"), round(aaa_bytes / 1048576.0 * 1000) / 1000,
                       1e-9);
}

static void check_all_scopes(const char *extra, int64_t aaa, int64_t bbb, int64_t ccc)
{
    char args[512];
    cJSON *j;
    snprintf(args, sizeof args, "inventory --scope station --station XX.AAA..HHZ %s", extra);
    cr_assert_eq(fx_json(args, &j), 0);
    check_station_aaa(j, aaa);
    cJSON_Delete(j);

    /* the bare-station form names the same channel */
    snprintf(args, sizeof args,
             "inventory --scope station --network XX --station AAA --channel HHZ %s", extra);
    cr_assert_eq(fx_json(args, &j), 0);
    check_station_aaa(j, aaa);
    cJSON_Delete(j);

    snprintf(args, sizeof args, "inventory --scope volcano --volcano kilauea %s", extra);
    cr_assert_eq(fx_json(args, &j), 0);
    cr_assert_str_eq(fx_str(j, "volcano"), "kilauea");
    const cJSON *sts = cJSON_GetObjectItemCaseSensitive(j, "stations");
    cr_assert_eq(cJSON_GetArraySize(sts), 2);
    const cJSON *a = cJSON_GetArrayItem(sts, 0), *b = cJSON_GetArrayItem(sts, 1);
    cr_assert_str_eq(fx_str(a, "station"), "AAA");
    cr_assert_eq(fx_num(a, "days_cached"), 3);
    cr_assert_eq(fx_num(a, "total_chunks_10min"), 359);
    cr_assert_eq(fx_num(a, "complete_days"), 1);
    cr_assert_str_eq(fx_str(b, "station"), "BBB");
    cr_assert_str_eq(fx_str(b, "location_code"), "00");
    cr_assert_eq(fx_num(b, "days_cached"), 2);
    cr_assert_eq(fx_num(b, "total_chunks_10min"), 144 + 72);
    cr_assert_eq(fx_num(b, "total_chunks_6h"), 4 + 2);
    cr_assert_eq(fx_num(b, "complete_days"), 1);
    cr_assert_float_eq(fx_num(j, "total_size_mb"), round((aaa + bbb) / 1048576.0 * 1000) / 1000,
                       1e-9);
    cJSON_Delete(j);

    snprintf(args, sizeof args, "inventory --scope location --location hawaii %s", extra);
    cr_assert_eq(fx_json(args, &j), 0);
    cr_assert_str_eq(fx_str(j, "location"), "hawaii");
    cr_assert_str_eq(fx_str(j, "region"), "hawaii");
    const cJSON *vs = cJSON_GetObjectItemCaseSensitive(j, "volcanoes");
    cr_assert_eq(cJSON_GetArraySize(vs), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(vs, 0)->valuestring, "kilauea");
    cr_assert_eq(fx_num(j, "total_stations"), 2);
    cr_assert_eq(fx_num(j, "total_days_cached"), 5);
    cr_assert_eq(fx_num(j, "by_volcano.kilauea.stations"), 2);
    cr_assert_eq(fx_num(j, "by_volcano.kilauea.total_chunks_10min"), 359 + 216);
    cJSON_Delete(j);

    /* --region and --scope region are --location and --scope location under the
     * names seismologists expect (in SEED a location is the location code) */
    cJSON *k;
    snprintf(args, sizeof args, "inventory --scope region --region hawaii %s", extra);
    cr_assert_eq(fx_json(args, &k), 0);
    snprintf(args, sizeof args, "inventory --scope location --location hawaii %s", extra);
    cr_assert_eq(fx_json(args, &j), 0);
    cJSON_DeleteItemFromObject(j, "inventory_stats");
    cJSON_DeleteItemFromObject(k, "inventory_stats");
    cr_assert(cJSON_Compare(j, k, 1), "--region and --location answer differently");
    cJSON_Delete(j);
    cJSON_Delete(k);

    /* --scope volcano without --volcano: every volcano, each as --volcano shows it */
    snprintf(args, sizeof args, "inventory --scope volcano %s", extra);
    cr_assert_eq(fx_json(args, &j), 0);
    cr_assert_str_eq(fx_str(j, "scope"), "volcano");
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(j, "volcano"));
    const cJSON *vv = cJSON_GetObjectItemCaseSensitive(j, "volcanoes");
    cr_assert_eq(cJSON_GetArraySize(vv), 2);
    const cJSON *kil = cJSON_GetArrayItem(vv, 0), *spu = cJSON_GetArrayItem(vv, 1);
    cr_assert_str_eq(fx_str(kil, "volcano"), "kilauea");
    cr_assert_str_eq(fx_str(kil, "region"), "hawaii");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(kil, "stations")), 2);
    cr_assert_str_eq(
        fx_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(kil, "stations"), 1),
               "location_code"),
        "00");
    cr_assert_eq(fx_num(kil, "total_bytes"), (double)(aaa + bbb));
    cr_assert_str_eq(fx_str(spu, "volcano"), "spurr");
    cr_assert_str_eq(fx_str(spu, "region"), "alaska");
    const cJSON *spst = cJSON_GetObjectItemCaseSensitive(spu, "stations");
    cr_assert_eq(cJSON_GetArraySize(spst), 1);
    cr_assert_str_eq(fx_str(cJSON_GetArrayItem(spst, 0), "station"), "CCC");
    cr_assert_eq(fx_num(cJSON_GetArrayItem(spst, 0), "total_chunks_10min"), 144);
    cr_assert_eq(fx_num(j, "total_bytes"), (double)(aaa + bbb + ccc));
    /* the kilauea entry is what --volcano kilauea answers */
    snprintf(args, sizeof args, "inventory --scope volcano --volcano kilauea %s", extra);
    cr_assert_eq(fx_json(args, &k), 0);
    cJSON_DeleteItemFromObject(k, "inventory_stats");
    cJSON_DeleteItemFromObject(k, "unparsed_keys");
    cJSON_DeleteItemFromObject(k, "scope");
    /* the answer's leading fields (docs/operations.md, "JSON output") are not the entry's */
    cJSON_DeleteItemFromObject(k, "command");
    cJSON_DeleteItemFromObject(k, "version");
    cJSON_DeleteItemFromObject(k, "status");
    cr_assert(cJSON_Compare(kil, k, 1), "the kilauea entry differs from --volcano kilauea");
    cJSON_Delete(k);
    cJSON_Delete(j);

    snprintf(args, sizeof args, "inventory --scope all %s", extra);
    cr_assert_eq(fx_json(args, &j), 0);
    cr_assert_str_eq(fx_str(j, "scope"), "all");
    cr_assert_eq(fx_num(j, "summary.total_volcanoes"), 2);
    cr_assert_eq(fx_num(j, "summary.total_stations"), 3);
    cr_assert_eq(fx_num(j, "summary.total_days_cached"), 3 + 2 + 1);
    cr_assert_eq(fx_num(j, "summary.total_chunks_10min"), 359 + 216 + 144);
    cr_assert_eq(fx_num(j, "summary.total_chunks_6h"), 9 + 6 + 4);
    cr_assert_eq(fx_num(j, "summary.total_bytes"), (double)(aaa + bbb + ccc));
    cr_assert_eq(fx_num(j, "by_location.hawaii.volcanoes"), 1);
    cr_assert_eq(fx_num(j, "by_location.hawaii.stations"), 2);
    cr_assert_eq(fx_num(j, "by_location.alaska.volcanoes"), 1);
    cr_assert_eq(fx_num(j, "by_location.alaska.stations"), 1);
    cr_assert(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(j, "by_location"),
                            cJSON_GetObjectItemCaseSensitive(j, "by_region"), 1));
    cr_assert_eq(fx_num(j, "by_region.hawaii.stations"), 2);
    cr_assert_str_eq(fx_str(cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(j, "by_volcano"), "spurr"),
                            "region"),
                     "alaska");
    cr_assert_eq(fx_num(j, "by_volcano.spurr.total_chunks_10min"), 144);
    cr_assert_eq(fx_num(j, "by_volcano.spurr.days_cached"), 1);
    cr_assert_eq(fx_num(j, "unparsed_keys.count"), 0);
    cJSON_Delete(j);
}

Test(inventory, exact_truth_at_every_scope_by_summaries_and_by_scan)
{
    rc_store *st = fx_store();
    plant_holes(st);
    int64_t aaa = fx_bytes(st, AAA_DIR), bbb = fx_bytes(st, BBB_DIR), ccc = fx_bytes(st, CCC_DIR);
    /* first run: no summary yet, one full scan answers and writes them */
    cJSON *j;
    cr_assert_eq(fx_json("inventory --scope all", &j), 0);
    cr_assert_str_eq(fx_str(cJSON_GetObjectItemCaseSensitive(j, "inventory_stats"), "method"),
                     "summaries");
    cr_assert_eq(fx_num(j, "inventory_stats.summaries_written"), 3);
    cJSON_Delete(j);
    rc_obj_info info;
    rc_err e;
    cr_assert_eq(rc_store_head(st, "index/kilauea/XX.AAA..HHZ/2025-11.json", &info, &e), RC_OK,
                 "summary not written: %s", e.msg);
    /* every later run reads the three summaries and lists no data key */
    check_all_scopes("", aaa, bbb, ccc);
    cr_assert_eq(fx_json("inventory --scope all", &j), 0);
    cr_assert_eq(fx_num(j, "inventory_stats.summaries_read"), 3);
    cr_assert_eq(fx_num(j, "inventory_stats.keys_listed"), 0);
    cJSON_Delete(j);
    check_all_scopes("--scan", aaa, bbb, ccc);
    rc_store_close(st);
}

Test(inventory, change_marker_makes_the_next_inventory_rebuild_that_month)
{
    rc_store *st = fx_store();
    cJSON *j;
    cr_assert_eq(fx_json("inventory --scope station --station XX.AAA..HHZ", &j), 0);
    cr_assert_eq(fx_num(j, "total_chunks.10min"), 360);
    cJSON_Delete(j);
    /* a writer removes a chunk: without its hook the summary is stale ... */
    fx_delete(st, AAA_DIR "XX_AAA__HHZ_1Hz_2025-11-03-10-00-00_to_2025-11-03-10-10-00.bin.zst");
    cr_assert_eq(fx_json("inventory --scope station --station XX.AAA..HHZ", &j), 0);
    cr_assert_eq(fx_num(j, "total_chunks.10min"), 360);
    cJSON_Delete(j);
    /* ... and with it (rc_summary_touch), the month is rebuilt once */
    rc_chan c = {"XX", "AAA", "", "HHZ"};
    rc_err e;
    cr_assert_eq(rc_summary_touch(st, &c, "kilauea", 1762214400LL, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(fx_json("inventory --scope station --station XX.AAA..HHZ", &j), 0);
    cr_assert_eq(fx_num(j, "total_chunks.10min"), 359);
    cr_assert_eq(fx_num(j, "inventory_stats.summaries_written"), 1);
    cr_assert_eq(fx_num(j, "completeness.2025-11-03.missing_chunks"), 1);
    cJSON_Delete(j);
    cr_assert_eq(fx_json("inventory --scope station --station XX.AAA..HHZ", &j), 0);
    cr_assert_eq(fx_num(j, "total_chunks.10min"), 359);
    cr_assert_eq(fx_num(j, "inventory_stats.summaries_written"), 0);
    cJSON_Delete(j);
    rc_store_close(st);
}

Test(inventory, range_and_unparsed_keys_are_reported)
{
    rc_store *st = fx_store();
    rc_err e;
    const char *stray = AAA_DIR "notes.txt";
    cr_assert_eq(rc_store_put(st, stray, "hello", 5, NULL, NULL, &e), RC_OK, "%s", e.msg);
    cJSON *j;
    cr_assert_eq(fx_json("inventory --scope all --scan", &j), 0);
    cr_assert_eq(fx_num(j, "unparsed_keys.count"), 1);
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "unparsed_keys"), "examples");
    cr_assert_str_eq(cJSON_GetArrayItem(ex, 0)->valuestring, stray);
    cJSON_Delete(j);
    /* the summaries carry it too */
    cr_assert_eq(fx_json("inventory --scope all", &j), 0);
    cr_assert_eq(fx_num(j, "unparsed_keys.count"), 1);
    cJSON_Delete(j);
    /* --from/--to: the 04th only, from 06:00 */
    cr_assert_eq(fx_json("inventory --scope station --station XX.AAA..HHZ "
                         "--from 2025-11-04T06:00:00Z --to 2025-11-05T00:00:00Z",
                         &j),
                 0);
    cr_assert_eq(fx_num(j, "days_cached"), 1);
    cr_assert_eq(fx_num(j, "completeness.2025-11-04.missing_chunks"), 0);
    cr_assert_eq(fx_num(j, "total_chunks.10min"), 144);
    cJSON_Delete(j);
    rc_store_close(st);
}

/* ---- HTML in headless Chromium ------------------------------------------ */

static const char *chromium(void)
{
    static const char *const c[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                                    "/usr/bin/google-chrome", NULL};
    for (int i = 0; c[i]; i++)
        if (access(c[i], X_OK) == 0) return c[i];
    return NULL;
}

Test(inventory, html_grid_renders_in_headless_chromium)
{
    rc_store *st = fx_store();
    plant_holes(st);
    char html[4400], args[9000];
    snprintf(html, sizeof html, "%s/inv.html", g_dir);
    snprintf(args, sizeof args, "inventory --config '%s' --scope all --html '%s'", g_config, html);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    cr_assert_eq(fx_r2(args, &out, &err), 0, "%s", err.data ? err.data : "");
    rc_buf page = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(html, &page), 0);
    cr_assert_null(strstr(page.data, "http://"), "page must make no external request");
    cr_assert_null(strstr(page.data, "https://"), "page must make no external request");
    rc_buf_free(&page);
    const char *chrome = chromium();
    if (!chrome) {
        rc_test_sh("apt-get install -y chromium >/dev/null 2>&1", NULL, NULL);
        chrome = chromium();
    }
    if (!chrome)
        cr_skip_test("SKIPPED: chromium is not installed and apt-get install chromium failed; "
                     "the HTML report was written but not rendered");
    char cmd[20000];
    snprintf(cmd, sizeof cmd,
             "python3 '%s/tests/html_check.py' --chromium '%s' --html '%s' --workdir '%s' "
             "--expect-rows 3 --expect-days 3 "
             "--cell 'XX.AAA..HHZ|2025-11-03|partial-high|143' "
             "--cell 'XX.AAA..HHZ|2025-11-04|complete|144' "
             "--cell 'XX.AAA..HHZ|2025-11-05|partial-mid|72' "
             "--cell 'XX.BBB.00.BHZ|2025-11-04|empty|0' "
             "--cell 'YY.CCC..HHZ|2025-11-03|source-empty|0' "
             "--cell 'YY.CCC..HHZ|2025-11-04|complete|144' "
             "--provisional 'XX.AAA..HHZ|2025-11-04' --gap 'XX.AAA..HHZ|2025-11-04' "
             "--tooltip 'XX.AAA..HHZ|2025-11-03|143/144 10m chunks' "
             "--tooltip 'YY.CCC..HHZ|2025-11-03|144 windows never recorded at the source' "
             "--group 'hawaii / kilauea' --group 'alaska / spurr'",
             RC_SOURCE_DIR, chrome, html, g_dir);
    rc_buf_reset(&out);
    rc_buf_reset(&err);
    int rc = rc_test_sh(cmd, &out, &err);
    cr_assert_eq(rc, 0, "HTML check failed:\n%s\n%s", out.data ? out.data : "",
                 err.data ? err.data : "");
    rc_buf_free(&out);
    rc_buf_free(&err);
    rc_store_close(st);
}

/* Every scope's JSON validates against its schema in schemas/ (python3
 * jsonschema; skipped visibly when the module is absent). */
Test(inventory, json_of_every_scope_matches_its_schema)
{
    if (rc_test_sh("python3 -c 'import jsonschema' 2>/dev/null", NULL, NULL) != 0)
        cr_skip_test("SKIPPED: python3 jsonschema is not installed; schemas not checked");
    static const char *const runs[][2] = {{"station", "--scope station --station XX.AAA..HHZ"},
                                          {"volcano", "--scope volcano --volcano kilauea"},
                                          {"volcano", "--scope volcano"},
                                          {"location", "--scope location --location alaska"},
                                          {"location", "--scope region --region alaska"},
                                          {"all", "--scope all"}};
    for (int i = 0; i < 6; i++) {
        char cmd[16384];
        snprintf(cmd, sizeof cmd,
                 "%s inventory --config '%s' %s --json --log-level error | python3 -c '"
                 "import json, sys, jsonschema; "
                 "s = json.load(open(\"%s/schemas/inventory-%s.schema.json\")); "
                 "jsonschema.validate(json.load(sys.stdin), s)'",
                 rc_test_bin("r2cache"), g_config, runs[i][1], RC_SOURCE_DIR, runs[i][0]);
        rc_buf err = RC_BUF_INIT;
        int rc = rc_test_sh(cmd, NULL, &err);
        cr_assert_eq(rc, 0, "%s: %s", runs[i][0], err.data ? err.data : "");
        rc_buf_free(&err);
    }
    /* and a stored summary validates against the summary schema */
    char cmd[16384];
    snprintf(
        cmd, sizeof cmd,
        "python3 -c 'import json, jsonschema; "
        "s = json.load(open(\"%s/schemas/inventory-summary.schema.json\")); "
        "jsonschema.validate(json.load(open(\"%s/index/kilauea/XX.AAA..HHZ/2025-11.json\")), s)'",
        RC_SOURCE_DIR, g_store_url);
    if (!getenv("RC_TEST_STORE_URL")) {
        rc_buf err = RC_BUF_INIT;
        cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "summary: %s", err.data ? err.data : "");
        rc_buf_free(&err);
    }
}
