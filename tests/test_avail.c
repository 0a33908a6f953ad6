/*
 * test_avail.c: planning by the source's own availability
 * ("source_availability", src/engine_avail.c, src/source_avail.c) against
 * tests/fdsn_server.py's /fdsnws/availability/1/query.
 *
 *   XX.OUT..HHZ 10 Hz on 2025-11-04, a 16-hour outage 04:00-20:00
 *   (fill-avail-sds); the same day without the outage (fill-avail-full)
 *   for a service that lists what dataselect does not deliver.
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "r2cache/naming.h"
#include "r2cache/source_avail.h"
#include "r2cache/store.h"
#include "support.h"

static char *g_dir;
static char g_sds[1024], g_full[1024], g_config[1024], g_store[1024];
static pid_t g_server = -1;
static int g_port;

#define OUT_MANIFEST "data/2025/11/XX/testvol/OUT//HHZ/XX_OUT__HHZ_10Hz_2025-11-04.json"
#define DAY "--station XX.OUT..HHZ --from 2025-11-04T00:00:00Z --to 2025-11-05T00:00:00Z"

static void make_sds(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/avail-sds", RC_BINARY_DIR);
    snprintf(g_full, sizeof g_full, "%s/test-tmp/avail-full", RC_BINARY_DIR);
    char marker[1100];
    snprintf(marker, sizeof marker, "%s/.complete-1", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    const char *synth = rc_test_bin("r2cache-synth");
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' '%s' && "
             "%s sds --out '%s' --rate 10 --from 2025-11-04 --to 2025-11-05 --chan XX.OUT..HHZ "
             "--gap 2025-11-04T04:00:00Z/2025-11-04T20:00:00Z && "
             "%s sds --out '%s' --rate 10 --from 2025-11-04 --to 2025-11-05 --chan XX.OUT..HHZ && "
             "touch '%s'",
             g_sds, g_full, synth, g_sds, synth, g_full, marker);
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "r2cache-synth failed: %s", err.data);
    rc_buf_free(&err);
}

static void write_config(int availability)
{
    char json[8192];
    snprintf(
        json, sizeof json,
        "{\n  \"source\": \"http://127.0.0.1:%d\",\n  \"store\": \"%s\",\n"
        "  \"source_availability\": %s,\n"
        "  \"fetch\": {\"max_attempts\": 2, \"backoff_base_s\": 0.05, \"backoff_cap_s\": 1},\n"
        "  \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", \"stations\": [\n"
        "    {\"network\": \"XX\", \"station\": \"OUT\", \"location\": \"\", \"channel\": "
        "\"HHZ\", \"sample_rate\": 10}]}]\n}\n",
        g_port, g_store, availability ? "true" : "false");
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
}

/* The server over sds (NULL extra arguments: availability on). */
static void start(const char *const *extra)
{
    g_server = rc_test_fdsn_start(g_sds, extra, &g_port);
    cr_assert(g_server > 0, "FDSN test server did not start");
    write_config(1);
}

static void setup(void)
{
    make_sds();
    g_dir = rc_test_tmpdir("avail");
    cr_assert(g_dir);
    snprintf(g_store, sizeof g_store, "%s/store", g_dir);
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
}

static void teardown(void)
{
    if (g_server > 0) rc_test_server_stop(g_server);
    g_server = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

TestSuite(avail, .init = setup, .fini = teardown, .timeout = 120);

static int fill(const char *more, cJSON **sum, rc_buf *err_out)
{
    char args[8192];
    snprintf(args, sizeof args, "fill --config '%s' --json --log-format text %s", g_config, more);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_r2cache(args, &out, &err);
    if (sum) *sum = out.data ? cJSON_Parse(out.data) : NULL;
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

/* The server's /stats. */
static cJSON *stats(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%d/stats", g_port);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0);
    cJSON *j = cJSON_Parse(out.data);
    cr_assert(j, "no stats: %s", out.data);
    rc_buf_free(&out);
    return j;
}

static int avail_requests(void)
{
    cJSON *s = stats();
    int n = (int)num(cJSON_GetObjectItemCaseSensitive(s, "availability"), "requests");
    cJSON_Delete(s);
    return n;
}

/* The object at key in the test store (NUL-terminated), NULL when absent. */
static char *read_store(const char *key)
{
    rc_store_opts so;
    rc_store_opts_default(&so);
    rc_store *st = NULL;
    rc_err e;
    cr_assert_eq(rc_store_open(g_store, &so, &st, &e), RC_OK, "%s", e.msg);
    rc_buf b = RC_BUF_INIT;
    int rc = rc_store_get(st, key, &b, NULL, &e);
    rc_store_close(st);
    if (rc != RC_OK) return NULL;
    rc_buf_append(&b, "", 1);
    return rc_buf_steal(&b, NULL);
}

Test(avail, parse_reads_the_documented_text_and_refuses_the_rest)
{
    const char *txt = "#Network Station Location Channel Quality SampleRate Earliest Latest\n"
                      "XX OUT -- HHZ D 10.0 2025-11-04T20:00:00.000000Z 2025-11-05T00:00:00Z\n"
                      "XX OUT -- HHZ M 10.0 2025-11-04T00:00:00.5Z 2025-11-04T04:00:00.000000Z\n"
                      "XX OUT -- HHZ M 10.0 2025-11-04T03:00:00Z 2025-11-04T05:00:00Z\n";
    rc_avail a;
    rc_err e;
    cr_assert_eq(rc_avail_parse_text(txt, strlen(txt), "t", &a, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(a.n, 2); /* sorted, the overlapping two merged */
    cr_assert_eq(a.spans[0].start_us, 1762214400LL * 1000000 + 500000);
    cr_assert_eq(a.spans[0].end_us, (1762214400LL + 5 * 3600) * 1000000);
    cr_assert_eq(a.spans[1].start_us, (1762214400LL + 20 * 3600) * 1000000);
    cr_assert_str_eq(a.spans[0].chan.loc, "");
    rc_chan c;
    cr_assert_eq(rc_chan_parse("XX.OUT..HHZ", &c, &e), RC_OK);
    cr_assert_eq(rc_avail_covered(&a, &c, 1762214400LL * 1000000, (1762214400LL + 600) * 1000000),
                 599500000);
    rc_avail_free(&a);
    const char *html = "<!DOCTYPE html>\n<html><body>Welcome</body></html>\n";
    cr_assert_eq(rc_avail_parse_text(html, strlen(html), "t", &a, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "not an FDSN availability text answer"), "%s", e.msg);
    const char *bad = "#Network Station Location Channel Earliest Latest\nXX OUT -- HHZ soon\n";
    cr_assert_eq(rc_avail_parse_text(bad, strlen(bad), "t", &a, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "line 2 does not read as a time span"), "%s", e.msg);
    cr_assert_eq(rc_avail_parse_text("", 0, "t", &a, &e), RC_EFORMAT);
}

Test(avail, state_keys_build_and_parse)
{
    char key[RC_KEY_MAX], host[256];
    rc_err e;
    cr_assert_eq(rc_key_source_state("service.iris.edu", key, sizeof key, &e), RC_OK);
    cr_assert_str_eq(key, "state/sources/service.iris.edu.json");
    cr_assert_eq(rc_key_source_state("127.0.0.1:8080", key, sizeof key, &e), RC_OK);
    cr_assert_str_eq(key, "state/sources/127.0.0.1_8080.json");
    cr_assert_eq(rc_key_source_state_parse(key, host, sizeof host, &e), RC_OK);
    cr_assert_str_eq(host, "127.0.0.1:8080");
    cr_assert_eq(rc_key_source_state("../etc", key, sizeof key, &e), RC_EINVAL);
    cr_assert_eq(rc_key_source_state("Host.EDU", key, sizeof key, &e), RC_EINVAL);
    cr_assert_eq(rc_key_source_state("a:b", key, sizeof key, &e), RC_EINVAL);
    cr_assert_eq(rc_key_source_state_parse("index/sources/x.json", host, sizeof host, &e),
                 RC_EINVAL);
    cr_assert_eq(rc_key_source_state_parse("state/sources/a/b.json", host, sizeof host, &e),
                 RC_EINVAL);
    cr_assert_eq(rc_key_source_state_parse("state/sources/a:1.json", host, sizeof host, &e),
                 RC_EINVAL);
    cr_assert_eq(rc_key_source_state("127.0.0.1:123456", key, sizeof key, &e), RC_EINVAL);
}

Test(avail, an_outage_the_service_does_not_list_is_never_asked_and_recorded_empty)
{
    start(NULL);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill(DAY, &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    char want[512];
    snprintf(want, sizeof want,
             "availability service of http://127.0.0.1:%d lists data in 48 of 144 windows; the "
             "other 96 are not asked",
             g_port);
    cr_assert(strstr(err.data, want), "%s", err.data);
    /* 48 ten-minute chunks and the two 6-hour chunks around the outage; the
     * 96 ten-minute windows and the two 6-hour windows inside it: no data */
    cr_assert_eq(num(sum, "chunks_added"), 50);
    cr_assert_eq(num(sum, "windows_no_data"), 98);
    cr_assert_eq(num(sum, "chunks_failed"), 0);
    cJSON_Delete(sum);
    rc_buf_free(&err);

    cJSON *s = stats();
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(s, "availability");
    cr_assert_eq(num(av, "requests"), 1);
    cr_assert_str_eq(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(av, "bodies"), 0)->valuestring,
        "format=text\nmerge=samplerate,quality,overlap\nnodata=204\n"
        "XX OUT -- HHZ 2025-11-04T00:00:00 2025-11-05T00:00:00\n");
    /* dataselect: the two listed stretches only */
    cr_assert_eq(num(s, "requests"), 1);
    cr_assert_eq(num(s, "lines"), 2);
    const cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "bodies"), 0);
    cr_assert_str_eq(b->valuestring, "XX OUT -- HHZ 2025-11-03T23:59:59 2025-11-04T04:00:00\n"
                                     "XX OUT -- HHZ 2025-11-04T19:59:59 2025-11-05T00:00:00\n");
    cJSON_Delete(s);

    /* the outage is recorded as the source's no-data, one range */
    char *m = read_store(OUT_MANIFEST);
    cr_assert(m, "no manifest");
    cJSON *mj = cJSON_Parse(m);
    const cJSON *se = cJSON_GetObjectItemCaseSensitive(mj, "source_empty");
    cr_assert_eq(cJSON_GetArraySize(se), 1, "%s", m);
    const cJSON *r = cJSON_GetArrayItem(se, 0);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(r, "start")->valuestring,
                     "2025-11-04T04:00:00Z");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(r, "end")->valuestring,
                     "2025-11-04T20:00:00Z");
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(r, "checks")->valueint, 1);
    cJSON_Delete(mj);
    free(m);

    /* the same fill again asks nobody: present or confirmed empty */
    cr_assert_eq(fill(DAY, &sum, NULL), 0);
    cr_assert_eq(num(sum, "windows_source_empty"), 98);
    cr_assert_eq(num(sum, "requests"), 0);
    cJSON_Delete(sum);
    cr_assert_eq(avail_requests(), 1);
}

Test(avail, a_listed_window_dataselect_does_not_deliver_fails_naming_it)
{
    const char *extra[] = {"--availability-sds", g_full, NULL};
    start(extra);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill(DAY, &sum, &err);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err.data);
    /* the 96 ten-minute windows of the outage and the two 6-hour windows
     * built from them fail; the 6-hour chunks around the outage are cut
     * from the answer (provisional: they have holes) */
    cr_assert_eq(num(sum, "chunks_added"), 50);
    cr_assert_eq(num(sum, "chunks_provisional"), 2);
    cr_assert_eq(num(sum, "chunks_failed"), 98);
    cr_assert_eq(num(sum, "windows_no_data"), 0);
    char want[512];
    snprintf(want, sizeof want,
             "XX.OUT..HHZ 2025-11-04T04:00:00Z .. 2025-11-04T04:10:00Z: the source's "
             "availability lists data there but dataselect delivered none (http://127.0.0.1:%d)",
             g_port);
    cr_assert(strstr(err.data, want), "%s", err.data);
    cJSON_Delete(sum);
    rc_buf_free(&err);
    /* nothing recorded as the source's no-data */
    char *m = read_store(OUT_MANIFEST);
    cr_assert(m);
    cJSON *mj = cJSON_Parse(m);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(mj, "source_empty"), "%s", m);
    cJSON_Delete(mj);
    free(m);
}

Test(avail, an_absent_service_is_remembered_and_not_asked_again)
{
    const char *extra[] = {"--no-availability", NULL};
    start(extra);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill(DAY " --now 2026-01-10T00:00:00Z", &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    /* filled by dataselect alone: the outage is an ordinary "no data" */
    cr_assert_eq(num(sum, "chunks_added"), 50);
    cr_assert_eq(num(sum, "windows_no_data"), 98);
    cJSON_Delete(sum);
    char key[RC_KEY_MAX], host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_port);
    rc_err e;
    cr_assert_eq(rc_key_source_state(host, key, sizeof key, &e), RC_OK);
    char want[1024];
    snprintf(want, sizeof want,
             "availability service off for http://127.0.0.1:%d: "
             "http://127.0.0.1:%d/fdsnws/availability/1/query answers HTTP 404: no availability "
             "service there; remembered in %s, asked again after 2026-01-17T00:00:00Z",
             g_port, g_port, key);
    cr_assert(strstr(err.data, want), "%s", err.data);
    rc_buf_free(&err);
    char *st = read_store(key);
    cr_assert(st, "no %s", key);
    cJSON *j = cJSON_Parse(st);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "availability_absent_at")->valuestring,
                     "2026-01-10T00:00:00Z");
    cJSON_Delete(j);
    free(st);
    cr_assert_eq(avail_requests(), 1);

    /* the next run, a day later, does not ask it */
    err = (rc_buf)RC_BUF_INIT;
    cr_assert_eq(fill(DAY " --force --now 2026-01-11T00:00:00Z", &sum, &err), 0);
    cr_assert_eq(num(sum, "chunks_added"), 50);
    cJSON_Delete(sum);
    snprintf(want, sizeof want,
             "availability service off for http://127.0.0.1:%d: it was absent at "
             "2026-01-10T00:00:00Z",
             g_port);
    cr_assert(strstr(err.data, want), "%s", err.data);
    rc_buf_free(&err);
    cr_assert_eq(avail_requests(), 1);

    /* a week on, it is asked again */
    cr_assert_eq(fill(DAY " --force --now 2026-01-18T00:00:00Z", NULL, NULL), 0);
    cr_assert_eq(avail_requests(), 2);
}

Test(avail, a_service_answering_html_costs_only_the_shortcut)
{
    const char *extra[] = {"--availability-answer", "html", NULL};
    start(extra);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill(DAY, &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    char want[512];
    snprintf(want, sizeof want,
             "availability service: http://127.0.0.1:%d/fdsnws/availability/1/query: line 1 "
             "comes before any \"#Network Station ...\" header: not an FDSN availability text "
             "answer",
             g_port);
    cr_assert(strstr(err.data, want), "%s", err.data);
    cr_assert(strstr(err.data, "every window is asked from dataselect"), "%s", err.data);
    /* not remembered as absent, and every window asked */
    cr_assert_eq(num(sum, "chunks_added"), 50);
    cr_assert_eq(num(sum, "windows_no_data"), 98);
    cJSON_Delete(sum);
    rc_buf_free(&err);
    cJSON *s = stats();
    cr_assert_eq(num(s, "lines"), 1);
    cJSON_Delete(s);
    char key[RC_KEY_MAX], host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_port);
    rc_err e;
    cr_assert_eq(rc_key_source_state(host, key, sizeof key, &e), RC_OK);
    cr_assert_null(read_store(key));
}

Test(avail, the_setting_is_a_boolean)
{
    g_port = 1;
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    const char *json = "{\"source\": \"http://127.0.0.1:1\", \"source_availability\": \"yes\"}";
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
    rc_buf err = RC_BUF_INIT;
    int rc = fill(DAY, NULL, &err);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, err.data);
    cr_assert(strstr(err.data, "source_availability"), "%s", err.data);
    cr_assert(strstr(err.data, "must be true or false"), "%s", err.data);
    rc_buf_free(&err);
}

Test(avail, unlisted_windows_of_the_last_two_days_are_asked_anyway)
{
    start(NULL);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    /* "now" is a day after the outage: the service may not list it yet */
    int rc = fill(DAY " --now 2025-11-05T12:00:00Z", &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    char want[512];
    snprintf(want, sizeof want,
             "availability service of http://127.0.0.1:%d lists data in 48 of 144 windows; 0 are "
             "not asked, 96 of the last two days are asked anyway",
             g_port);
    cr_assert(strstr(err.data, want), "%s", err.data);
    cr_assert_eq(num(sum, "chunks_added"), 50);
    cr_assert_eq(num(sum, "windows_no_data"), 98);
    cJSON_Delete(sum);
    rc_buf_free(&err);
    cJSON *s = stats();
    cr_assert_eq(num(s, "lines"), 1); /* the whole day from dataselect */
    cJSON_Delete(s);
}
