/*
 * test_sources.c: several sources ("sources" in the configuration,
 * src/sources.c): parsing, routing by network and by age, fall-through on
 * no data and on a source that is down, the manifest's "source" field and
 * the per-source summary. End to end: the built binary against two
 * instances of tests/fdsn_server.py serving different synthetic SDS
 * archives (tools/synth.c), into a local store.
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../tools/synth_signal.h"
#include "r2cache/codec.h"
#include "r2cache/config.h"
#include "r2cache/sources.h"
#include "support.h"

static char *g_dir;
static char g_sds_a[4200], g_sds_b[4200];
static char g_store[4200], g_config[4200];
static pid_t g_srv_a = -1, g_srv_b = -1;
static int g_port_a, g_port_b;

/* the local store spells the empty location folder "%" */
#define DIR_OF(sta) "data/2025/11/XX/testvol/" sta "/%/BHZ/"

/* A holds XX.ONE and XX.AGE; B holds YY.TWO, XX.AGE and XX.FAL. */
static void make_sds(void)
{
    snprintf(g_sds_a, sizeof g_sds_a, "%s/test-tmp/sources-sds-a", RC_BINARY_DIR);
    snprintf(g_sds_b, sizeof g_sds_b, "%s/test-tmp/sources-sds-b", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete-1", g_sds_b);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    const char *synth = rc_test_bin("r2cache-synth");
    static char cmd[65536];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' '%s' && "
             "%s sds --out '%s' --rate 10 --from 2025-11-04 --to 2025-11-04T12:00:00Z "
             "--chan XX.ONE..BHZ && "
             "%s sds --out '%s' --rate 10 --from 2025-11-04 --to 2025-11-06 --chan XX.AGE..BHZ && "
             "%s sds --out '%s' --rate 10 --from 2025-11-04 --to 2025-11-04T12:00:00Z "
             "--chan YY.TWO..BHZ && "
             "%s sds --out '%s' --rate 10 --from 2025-11-04 --to 2025-11-06 --chan XX.AGE..BHZ && "
             "%s sds --out '%s' --rate 10 --from 2025-11-04 --to 2025-11-04T12:00:00Z "
             "--chan XX.FAL..BHZ && touch '%s'",
             g_sds_a, g_sds_b, synth, g_sds_a, synth, g_sds_a, synth, g_sds_b, synth, g_sds_b,
             synth, g_sds_b, marker);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "r2cache-synth failed: %s", err.data ? err.data : "");
    rc_buf_free(&err);
}

static void setup(void)
{
    make_sds();
    g_dir = rc_test_tmpdir("sources");
    cr_assert(g_dir);
    snprintf(g_store, sizeof g_store, "%s/store", g_dir);
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    g_srv_a = rc_test_fdsn_start(g_sds_a, NULL, &g_port_a);
    cr_assert(g_srv_a > 0, "FDSN test server A did not start");
    g_srv_b = rc_test_fdsn_start(g_sds_b, NULL, &g_port_b);
    cr_assert(g_srv_b > 0, "FDSN test server B did not start");
}

static void teardown(void)
{
    rc_test_server_stop(g_srv_a);
    rc_test_server_stop(g_srv_b);
    g_srv_a = g_srv_b = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

TestSuite(sources, .init = setup, .fini = teardown, .timeout = 300);

/* The configuration: top is "\"source\": ..." or "\"sources\": [...]". */
static void write_config(const char *top)
{
    char json[32768];
    snprintf(json, sizeof json,
             "{\n  %s,\n  \"store\": \"%s\",\n"
             "  \"fetch\": {\"max_attempts\": 2, \"backoff_base_s\": 0.05, \"backoff_cap_s\": 1,\n"
             "             \"timeout_s\": 20, \"stall_timeout_s\": 5},\n"
             "  \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", "
             "\"stations\": [\n"
             "    {\"network\": \"XX\", \"station\": \"ONE\", \"location\": \"\", \"channel\": "
             "\"BHZ\", \"sample_rate\": 10},\n"
             "    {\"network\": \"YY\", \"station\": \"TWO\", \"location\": \"\", \"channel\": "
             "\"BHZ\", \"sample_rate\": 10},\n"
             "    {\"network\": \"XX\", \"station\": \"AGE\", \"location\": \"\", \"channel\": "
             "\"BHZ\", \"sample_rate\": 10},\n"
             "    {\"network\": \"XX\", \"station\": \"FAL\", \"location\": \"\", \"channel\": "
             "\"BHZ\", \"sample_rate\": 10}\n"
             "  ]}]\n}\n",
             top, g_store);
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
}

static int fill(const char *more, cJSON **sum, rc_buf *err_out)
{
    char args[8192];
    snprintf(args, sizeof args, "fill --config '%s' --json --log-format text %s", g_config, more);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_r2cache(args, &out, &err);
    *sum = out.data ? cJSON_Parse(out.data) : NULL;
    rc_buf_append(err_out, err.data ? err.data : "", err.len);
    rc_buf_append(err_out, "", 1);
    err_out->len--;
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

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsString(v), "field %s missing", k);
    return v->valuestring;
}

/* The summary's entry for source i, checked to have that name. */
static const cJSON *src_stat(const cJSON *sum, int i, const char *name)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(sum, "sources");
    cr_assert(cJSON_IsArray(a), "no \"sources\" in the summary");
    const cJSON *o = cJSON_GetArrayItem(a, i);
    cr_assert(o, "no sources[%d]", i);
    cr_assert_str_eq(str(o, "name"), name);
    return o;
}

static cJSON *manifest(const char *key)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", g_store, key);
    rc_buf b = RC_BUF_INIT;
    if (rc_test_read_file(path, &b) != 0) {
        char cmd[8400];
        snprintf(cmd, sizeof cmd, "cd '%s' && find . -name '*.json'", g_store);
        rc_buf l = RC_BUF_INIT;
        rc_test_sh(cmd, &l, NULL);
        cr_assert_fail("no manifest %s; the store holds:\n%s", key, l.data ? l.data : "");
    }
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    cr_assert(j, "%s is not JSON", key);
    rc_buf_free(&b);
    return j;
}

/* Entries of list span ("10min", "6h") in a manifest. */
static const cJSON *chunks(const cJSON *m, const char *span)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "chunks");
    const cJSON *l = c ? cJSON_GetObjectItemCaseSensitive(c, span) : NULL;
    cr_assert(cJSON_IsArray(l), "no chunks.%s", span);
    return l;
}

/* Every entry of span in m from start "HH:MM:SS" (inclusive) to end
 * (exclusive, "24:00:00" for the day's end) names source; returns how many. */
static int assert_sources(const cJSON *m, const char *span, const char *from, const char *to,
                          const char *source)
{
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, chunks(m, span))
    {
        const char *s = str(it, "start");
        if (strcmp(s, from) < 0 || strcmp(s, to) >= 0) continue;
        cr_assert_str_eq(str(it, "source"), source, "%s entry at %s", span, s);
        cr_assert_eq(num(it, "completeness"), 1.0, "%s entry at %s", span, s);
        n++;
    }
    return n;
}

/* The samples of a stored 10-minute chunk are the synthetic signal. */
static void assert_chunk_samples(const char *sta_dir, const char *id, const char *file, int64_t t0)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s%s", g_store, sta_dir, file);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(path, &b), 0, "no chunk %s", path);
    rc_codec *codec = NULL;
    rc_err e;
    cr_assert_eq(rc_codec_new(3, &codec, &e), RC_OK);
    int32_t *s = NULL;
    size_t n = 0;
    cr_assert_eq(rc_codec_decode(codec, b.data, b.len, 0, &s, &n, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(n, 6000);
    for (size_t i = 0; i < n; i += 997)
        cr_assert_eq(s[i], rc_synth_value(id, t0 * 10 + (int64_t)i), "sample %zu", i);
    free(s);
    rc_codec_free(codec);
    rc_buf_free(&b);
}

/* The body of every dataselect request server port got (its /stats keeps
 * the last 10), concatenated. */
static void server_bodies(int port, rc_buf *out, int *requests)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%d/stats", port);
    rc_buf o = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, &o, NULL), 0);
    cJSON *s = cJSON_Parse(o.data);
    cr_assert(s, "no stats: %s", o.data);
    *requests = (int)num(s, "requests");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s, "bodies"))
    {
        if (cJSON_IsString(it)) rc_buf_append(out, it->valuestring, strlen(it->valuestring));
    }
    rc_buf_append(out, "", 1);
    cJSON_Delete(s);
    rc_buf_free(&o);
}

#define DAY "2025-11-04"
#define T0 1762214400 /* 2025-11-04T00:00:00Z */

/* --- configuration -------------------------------------------------------- */

static int parse(const char *top, rc_config *c, rc_err *e)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{%s, \"volcanoes\": [{\"name\": \"v\", \"stations\": [{\"network\": \"XX\", "
             "\"station\": \"A\", \"location\": \"\", \"channel\": \"BHZ\"}]}]}",
             top);
    return rc_config_parse(json, strlen(json), "c.json", c, e);
}

Test(sources, configuration_entries_are_parsed_with_their_rules)
{
    rc_config c;
    rc_err e;
    int rc = parse("\"sources\": [{\"name\": \"rt\", \"url\": \"http://rt.example.org:8080\", "
                   "\"networks\": [\"HV\", \"AV\"], \"stations\": [\"AV.GS*\"], \"max_age\": "
                   "\"48h\", \"max_connections\": 2, \"rate_limit_rps\": 4, \"timeout_s\": 30, "
                   "\"auth\": {\"user\": \"u\"}}, {\"url\": \"HTTPS://Archive.Example.ORG/x\", "
                   "\"min_age\": \"2d\"}, {\"url\": \"sds:///tmp\"}]",
                   &c, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    cr_assert_null(c.source_url);
    cr_assert(c.sources);
    cr_assert_eq(c.sources->n, 3);
    const rc_sources_entry *a = &c.sources->v[0], *b = &c.sources->v[1];
    cr_assert_str_eq(a->name, "rt");
    cr_assert_str_eq(a->url, "http://rt.example.org:8080");
    cr_assert_eq(a->nnetworks, 2);
    cr_assert_str_eq(a->networks[1], "AV");
    cr_assert_eq(a->nstations, 1);
    cr_assert_str_eq(a->stations[0], "AV.GS*");
    cr_assert_eq(a->has_max_age, 1);
    cr_assert_eq(a->max_age_s, 48 * 3600);
    cr_assert_eq(a->has_min_age, 0);
    cr_assert_eq(a->max_connections, 2);
    cr_assert_eq(a->rate_limit_rps, 4.0);
    cr_assert_eq(a->timeout_s, 30.0);
    cr_assert_eq(a->max_attempts, 0, "not given: the global value");
    cr_assert(a->auth);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a->auth, "user")->valuestring, "u");
    /* default names: the host in lower case, "sds" */
    cr_assert_str_eq(b->name, "archive.example.org");
    cr_assert_eq(b->min_age_s, 2 * 86400);
    cr_assert_eq(b->rate_limit_rps, -1.0);
    cr_assert_str_eq(c.sources->v[2].name, "sds");
    rc_config_free(&c);
}

Test(sources, configuration_errors_name_the_field)
{
    static const struct {
        const char *top, *msg;
    } bad[] = {
        {"\"source\": \"http://a.org\", \"sources\": [{\"url\": \"http://b.org\"}]",
         "c.json: sources: \"source\" and \"sources\" are both given: keep one"},
        {"\"sources\": []", "c.json: sources: must be a non-empty list"},
        {"\"sources\": [{\"name\": \"x\"}]", "c.json: sources[0].url: is required"},
        {"\"sources\": [{\"url\": \"http://a.org\"}, {\"url\": \"http://a.org:81\"}]",
         "c.json: sources[1].name: \"a.org\" is already the name of sources[0]"},
        {"\"sources\": [{\"url\": \"http://a.org\", \"max_age\": \"soon\"}]",
         "c.json: sources[0].max_age: \"soon\" is not a duration"},
        {"\"sources\": [{\"url\": \"http://a.org\", \"min_age\": \"2d\", \"max_age\": \"1d\"}]",
         "c.json: sources[0].max_age: must be longer than min_age"},
        {"\"sources\": [{\"url\": \"http://a.org\", \"stations\": [\"PUHI\"]}]",
         "c.json: sources[0].stations: [0] \"PUHI\" must be NET.STA"},
        {"\"sources\": [{\"url\": \"http://a.org\", \"max_connections\": 6}]",
         "c.json: sources[0].max_connections: 6 is out of range [1, 5]"},
        {"\"sources\": [{\"url\": \"http://a.org\", \"netwrks\": [\"HV\"]}]",
         "c.json: sources[0].netwrks: unknown field"},
        {"\"sources\": [{\"url\": \"http://a.org\", \"name\": \"a b\"}]",
         "c.json: sources[0].name: must be 1 to 63 characters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc_config c;
        rc_err e;
        cr_assert_eq(parse(bad[i].top, &c, &e), RC_EINVAL, "%s", bad[i].top);
        cr_assert(strncmp(e.msg, bad[i].msg, strlen(bad[i].msg)) == 0, "%s\ngot: %s\nwant: %s",
                  bad[i].top, e.msg, bad[i].msg);
    }
}

Test(sources, source_and_sources_together_exit_2_naming_both)
{
    char top[512];
    snprintf(top, sizeof top,
             "\"source\": \"http://127.0.0.1:%d\", \"sources\": [{\"url\": "
             "\"http://127.0.0.1:%d\"}]",
             g_port_a, g_port_b);
    write_config(top);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.FAL..BHZ --from 2025-11-04 --to 2025-11-04T01:00:00Z", &sum, &err);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, err.data);
    cr_assert(strstr(err.data, "\"source\" and \"sources\" are both given"), "%s", err.data);
    cJSON_Delete(sum);
    rc_buf_free(&err);
}

/* --- routing -------------------------------------------------------------- */

Test(sources, windows_are_routed_by_network)
{
    char top[1024];
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"alpha\", \"url\": \"http://127.0.0.1:%d\", "
             "\"networks\": [\"XX\"]}, {\"name\": \"beta\", \"url\": \"http://127.0.0.1:%d\", "
             "\"stations\": [\"Y?.T*\"], \"max_connections\": 1}]",
             g_port_a, g_port_b);
    write_config(top);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.ONE..BHZ --station YY.TWO..BHZ --from 2025-11-04 "
                  "--to 2025-11-04T06:00:00Z",
                  &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cr_assert(sum, "no summary: %s", err.data);
    const cJSON *a = src_stat(sum, 0, "alpha"), *b = src_stat(sum, 1, "beta");
    cr_assert_eq(num(a, "windows"), 36);
    cr_assert_eq(num(a, "lines_data"), 1);
    cr_assert_eq(num(a, "lines_no_data"), 0);
    cr_assert_eq(num(a, "fell_through"), 0);
    cr_assert_eq(num(b, "windows"), 36);
    cr_assert_eq(num(b, "lines_data"), 1);
    cr_assert_eq(num(b, "requests"), 1);
    cr_assert(!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "down")));
    /* each server was asked only for its own network */
    rc_buf ba = RC_BUF_INIT, bb = RC_BUF_INIT;
    int ra, rb;
    server_bodies(g_port_a, &ba, &ra);
    server_bodies(g_port_b, &bb, &rb);
    cr_assert_eq(ra, 1);
    cr_assert_eq(rb, 1);
    cr_assert(strstr(ba.data, "XX ONE -- BHZ 2025-11-03T23:59:59 2025-11-04T06:00:00"), "%s",
              ba.data);
    cr_assert_null(strstr(ba.data, "YY"), "%s", ba.data);
    cr_assert(strstr(bb.data, "YY TWO -- BHZ"), "%s", bb.data);
    cr_assert_null(strstr(bb.data, "XX"), "%s", bb.data);
    cJSON *m1 = manifest(DIR_OF("ONE") "XX_ONE__BHZ_10Hz_" DAY ".json");
    cJSON *m2 = manifest("data/2025/11/YY/testvol/TWO/%/BHZ/YY_TWO__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m1, "10min", "00:00:00", "06:00:00", "alpha"), 36);
    cr_assert_eq(assert_sources(m1, "6h", "00:00:00", "06:00:00", "alpha"), 1);
    cr_assert_eq(assert_sources(m2, "10min", "00:00:00", "06:00:00", "beta"), 36);
    cr_assert_eq(assert_sources(m2, "6h", "00:00:00", "06:00:00", "beta"), 1);
    assert_chunk_samples(DIR_OF("ONE"), "XX.ONE..BHZ",
                         "XX_ONE__BHZ_10Hz_2025-11-04-01-00-00_to_2025-11-04-01-10-00.bin.zst",
                         T0 + 3600);
    cr_assert(strstr(err.data, "alpha (http://127.0.0.1:"), "%s", err.data);
    cJSON_Delete(m1);
    cJSON_Delete(m2);
    cJSON_Delete(sum);
    rc_buf_free(&ba);
    rc_buf_free(&bb);
    rc_buf_free(&err);
}

/* "the last 24 h from the real-time service, older from the archive": both
 * hold the data; the age limit alone decides, cut at now - 24 h =
 * 2025-11-04T13:00:00Z. The 6-hour chunk across the cut is composed of
 * chunks of both: "mixed". */
Test(sources, windows_are_routed_by_age)
{
    char top[1024];
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"rt\", \"url\": \"http://127.0.0.1:%d\", \"max_age\": "
             "\"24h\"}, {\"name\": \"arch\", \"url\": \"http://127.0.0.1:%d\", \"min_age\": "
             "\"24h\"}]",
             g_port_a, g_port_b);
    write_config(top);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.AGE..BHZ --from 2025-11-04T06:00:00Z --to 2025-11-05 "
                  "--now 2025-11-05T13:00:00Z",
                  &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cr_assert(sum, "no summary: %s", err.data);
    const cJSON *rt = src_stat(sum, 0, "rt"), *ar = src_stat(sum, 1, "arch");
    cr_assert_eq(num(rt, "windows"), 66);
    cr_assert_eq(num(ar, "windows"), 42);
    cr_assert_eq(num(rt, "fell_through"), 0);
    cr_assert_eq(num(ar, "fell_through"), 0);
    cr_assert_eq(num(sum, "chunks_added"), 108 + 3);
    rc_buf ba = RC_BUF_INIT, bb = RC_BUF_INIT;
    int ra, rb;
    server_bodies(g_port_a, &ba, &ra);
    server_bodies(g_port_b, &bb, &rb);
    cr_assert(strstr(ba.data, "XX AGE -- BHZ 2025-11-04T12:59:59 2025-11-05T00:00:00"), "%s",
              ba.data);
    cr_assert(strstr(bb.data, "XX AGE -- BHZ 2025-11-04T05:59:59 2025-11-04T13:00:00"), "%s",
              bb.data);
    cJSON *m = manifest(DIR_OF("AGE") "XX_AGE__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m, "10min", "06:00:00", "13:00:00", "arch"), 42);
    cr_assert_eq(assert_sources(m, "10min", "13:00:00", "24:00:00", "rt"), 66);
    cr_assert_eq(assert_sources(m, "6h", "06:00:00", "12:00:00", "arch"), 1);
    cr_assert_eq(assert_sources(m, "6h", "12:00:00", "18:00:00", "mixed"), 1);
    cr_assert_eq(assert_sources(m, "6h", "18:00:00", "24:00:00", "rt"), 1);
    assert_chunk_samples(DIR_OF("AGE"), "XX.AGE..BHZ",
                         "XX_AGE__BHZ_10Hz_2025-11-04-12-50-00_to_2025-11-04-13-00-00.bin.zst",
                         T0 + 12 * 3600 + 50 * 60);
    assert_chunk_samples(DIR_OF("AGE"), "XX.AGE..BHZ",
                         "XX_AGE__BHZ_10Hz_2025-11-04-13-00-00_to_2025-11-04-13-10-00.bin.zst",
                         T0 + 13 * 3600);
    cJSON_Delete(m);
    cJSON_Delete(sum);
    rc_buf_free(&ba);
    rc_buf_free(&bb);
    rc_buf_free(&err);
}

/* --- fall-through ---------------------------------------------------------- */

Test(sources, no_data_at_the_first_source_falls_through_to_the_second)
{
    char top[1024];
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"first\", \"url\": \"http://127.0.0.1:%d\"}, "
             "{\"name\": \"second\", \"url\": \"http://127.0.0.1:%d\"}]",
             g_port_a, g_port_b);
    write_config(top);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.FAL..BHZ --from 2025-11-04 --to 2025-11-04T06:00:00Z", &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cr_assert(sum, "no summary: %s", err.data);
    cr_assert_eq(num(sum, "chunks_added"), 37);
    const cJSON *f = src_stat(sum, 0, "first"), *s = src_stat(sum, 1, "second");
    cr_assert_eq(num(f, "requests"), 1);
    cr_assert_eq(num(f, "lines_no_data"), 1, "%s", cJSON_PrintUnformatted(f));
    cr_assert_eq(num(f, "fell_through"), 1);
    cr_assert_eq(num(f, "windows"), 0);
    cr_assert_eq(num(s, "lines_data"), 1);
    cr_assert_eq(num(s, "windows"), 36);
    cr_assert_eq(num(sum, "requests"), 2);
    cJSON *m = manifest(DIR_OF("FAL") "XX_FAL__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m, "10min", "00:00:00", "06:00:00", "second"), 36);
    cr_assert_eq(assert_sources(m, "6h", "00:00:00", "06:00:00", "second"), 1);
    assert_chunk_samples(DIR_OF("FAL"), "XX.FAL..BHZ",
                         "XX_FAL__BHZ_10Hz_2025-11-04-00-00-00_to_2025-11-04-00-10-00.bin.zst", T0);
    cJSON_Delete(m);
    cJSON_Delete(sum);
    rc_buf_free(&err);
}

Test(sources, a_source_that_is_down_falls_through_and_the_summary_says_so)
{
    char top[1024];
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"down\", \"url\": \"http://op:hunter2@127.0.0.1:1\", "
             "\"max_attempts\": 1}, {\"name\": \"second\", \"url\": \"http://127.0.0.1:%d\"}]",
             g_port_b);
    write_config(top);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.FAL..BHZ --from 2025-11-04 --to 2025-11-04T06:00:00Z", &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cr_assert(sum, "no summary: %s", err.data);
    cr_assert_eq(num(sum, "chunks_added"), 37);
    cr_assert_eq(num(sum, "chunks_failed"), 0);
    const cJSON *d = src_stat(sum, 0, "down"), *s = src_stat(sum, 1, "second");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "down")));
    cr_assert_str_eq(str(d, "url"), "http://***@127.0.0.1:1");
    cr_assert_eq(num(d, "lines_failed"), 1);
    cr_assert_eq(num(d, "fell_through"), 1);
    cr_assert_eq(num(s, "windows"), 36);
    cr_assert(strstr(err.data, "source down (http://***@127.0.0.1:1) was down: 1 lines fell "
                               "through to the next source"),
              "%s", err.data);
    cr_assert_null(strstr(err.data, "hunter2"), "%s", err.data);
    char *txt = cJSON_PrintUnformatted(sum);
    cr_assert_null(strstr(txt, "hunter2"));
    free(txt);
    cJSON *m = manifest(DIR_OF("FAL") "XX_FAL__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m, "10min", "00:00:00", "06:00:00", "second"), 36);
    cJSON_Delete(m);
    cJSON_Delete(sum);
    rc_buf_free(&err);
}

Test(sources, every_source_down_exits_3)
{
    write_config("\"sources\": [{\"name\": \"d1\", \"url\": \"http://127.0.0.1:1\", "
                 "\"max_attempts\": 1}, {\"name\": \"d2\", \"url\": \"http://127.0.0.1:2\", "
                 "\"max_attempts\": 1}]");
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.FAL..BHZ --from 2025-11-04 --to 2025-11-04T01:00:00Z", &sum, &err);
    cr_assert_eq(rc, 3, "exit %d: %s", rc, err.data);
    cr_assert(strstr(err.data, "source d1 (http://127.0.0.1:1) was down"), "%s", err.data);
    cr_assert(strstr(err.data, "source d2 (http://127.0.0.1:2) was down"), "%s", err.data);
    cJSON_Delete(sum);
    rc_buf_free(&err);
}

Test(sources, a_line_no_source_takes_fails_naming_it)
{
    char top[512];
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"zz\", \"url\": \"http://127.0.0.1:%d\", \"networks\": "
             "[\"ZZ\"]}]",
             g_port_a);
    write_config(top);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.ONE..BHZ --from 2025-11-04 --to 2025-11-04T01:00:00Z", &sum, &err);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err.data);
    cr_assert(strstr(err.data, "no entry of \"sources\" takes XX.ONE..BHZ from "
                               "2025-11-04T00:00:00Z to 2025-11-04T01:00:00Z"),
              "%s", err.data);
    cr_assert_eq(num(sum, "chunks_added"), 0);
    cr_assert_eq(num(src_stat(sum, 0, "zz"), "requests"), 0);
    int ra;
    rc_buf ba = RC_BUF_INIT;
    server_bodies(g_port_a, &ba, &ra);
    cr_assert_eq(ra, 0);
    rc_buf_free(&ba);
    cJSON_Delete(sum);
    rc_buf_free(&err);
}

/* --- one source ------------------------------------------------------------- */

Test(sources, a_single_source_is_a_one_element_list_named_by_its_host)
{
    char top[256];
    snprintf(top, sizeof top, "\"source\": \"http://127.0.0.1:%d\"", g_port_b);
    write_config(top);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.FAL..BHZ --from 2025-11-04 --to 2025-11-04T06:00:00Z", &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(sum, "sources"));
    cr_assert_eq(num(sum, "chunks_added"), 37);
    cJSON *m = manifest(DIR_OF("FAL") "XX_FAL__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m, "10min", "00:00:00", "06:00:00", "127.0.0.1"), 36);
    cr_assert_eq(assert_sources(m, "6h", "00:00:00", "06:00:00", "127.0.0.1"), 1);
    cJSON_Delete(m);
    cJSON_Delete(sum);
    rc_buf_free(&err);
}

Test(sources, source_on_the_command_line_replaces_the_list)
{
    char top[512], more[512];
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"first\", \"url\": \"http://127.0.0.1:%d\"}]", g_port_a);
    write_config(top);
    snprintf(more, sizeof more,
             "--source http://127.0.0.1:%d --station XX.FAL..BHZ --from 2025-11-04 "
             "--to 2025-11-04T01:00:00Z",
             g_port_b);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill(more, &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(sum, "sources"));
    cr_assert_eq(num(sum, "chunks_added"), 6);
    int ra;
    rc_buf ba = RC_BUF_INIT;
    server_bodies(g_port_a, &ba, &ra);
    cr_assert_eq(ra, 0, "the configured list was not asked");
    cJSON *m = manifest(DIR_OF("FAL") "XX_FAL__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m, "10min", "00:00:00", "01:00:00", "127.0.0.1"), 6);
    cJSON_Delete(m);
    rc_buf_free(&ba);
    cJSON_Delete(sum);
    rc_buf_free(&err);
}

/* run: the same list, and its summary says per source what happened. */
Test(sources, run_reports_per_source)
{
    char top[1024];
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"first\", \"url\": \"http://127.0.0.1:%d\"}, "
             "{\"name\": \"second\", \"url\": \"http://127.0.0.1:%d\"}]",
             g_port_a, g_port_b);
    write_config(top);
    char args[8192];
    snprintf(args, sizeof args,
             "run --config '%s' --station XX.FAL..BHZ --now 2025-11-04T01:00:00Z --json "
             "--log-format text",
             g_config);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_r2cache(args, &out, &err);
    rc_buf_append(&err, "", 1);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cJSON *sum = cJSON_Parse(out.data);
    cr_assert(sum, "no summary: %s", err.data);
    cr_assert_eq(num(sum, "chunks_written"), 5);
    const cJSON *f = src_stat(sum, 0, "first"), *s = src_stat(sum, 1, "second");
    /* one request; every line of it (run asks for its whole lookback) came
     * back empty and went on to the second */
    cr_assert_eq(num(f, "requests"), 1);
    cr_assert_gt(num(f, "lines"), 0);
    cr_assert_eq(num(f, "lines_no_data"), num(f, "lines"));
    cr_assert_eq(num(f, "fell_through"), num(f, "lines"));
    cr_assert_eq(num(s, "lines"), num(f, "lines"));
    cr_assert_eq(num(s, "windows"), 5);
    cr_assert(strstr(err.data, "second (http://127.0.0.1:"), "%s", err.data);
    cJSON *m = manifest(DIR_OF("FAL") "XX_FAL__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m, "10min", "00:00:00", "00:50:00", "second"), 5);
    cJSON_Delete(m);
    cJSON_Delete(sum);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

/* examples/sources.json (docs/configuration.md) loads as documented. */
Test(sources, the_example_configuration_loads)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/examples/sources.json", RC_SOURCE_DIR);
    rc_config c;
    rc_err e;
    cr_assert_eq(rc_config_load(path, &c, &e), RC_OK, "%s", e.msg);
    cr_assert(c.sources);
    cr_assert_eq(c.sources->n, 2);
    cr_assert_str_eq(c.sources->v[0].name, "recent");
    cr_assert_eq(c.sources->v[0].max_age_s, 48 * 3600);
    cr_assert_str_eq(c.sources->v[1].name, "archive");
    cr_assert_eq(c.sources->v[1].min_age_s, 48 * 3600);
    cr_assert_str_eq(c.sources->v[1].networks[1], "AV");
    cr_assert_eq(c.sources->v[1].max_attempts, 8);
    rc_config_free(&c);
}

Test(sources, default_names_come_from_the_host)
{
    static const struct {
        const char *url, *name;
    } v[] = {
        {"https://Service.IRIS.edu", "service.iris.edu"},
        {"http://user:secret@127.0.0.1:8080/x", "127.0.0.1"},
        {"http://[::1]:8080", "--1"},
        {"sds:///data/sds", "sds"},
        {"nothing", "source"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char n[RC_SOURCE_NAME_MAX];
        rc_source_default_name(v[i].url, n);
        cr_assert_str_eq(n, v[i].name, "%s", v[i].url);
    }
}

/* A failure that is not "down" (HTTP 500 after its retries) falls through
 * too, and the source is not called down. */
Test(sources, a_failing_source_falls_through_to_the_next)
{
    char top[1024], cmd[512];
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"flaky\", \"url\": \"http://127.0.0.1:%d\", "
             "\"max_attempts\": 1}, {\"name\": \"second\", \"url\": \"http://127.0.0.1:%d\"}]",
             g_port_a, g_port_b);
    write_config(top);
    snprintf(cmd, sizeof cmd,
             "curl -s -X POST -d '{\"faults\": [\"500\"]}' http://127.0.0.1:%d/control", g_port_a);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.AGE..BHZ --from 2025-11-04 --to 2025-11-04T01:00:00Z", &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cr_assert_eq(num(sum, "chunks_added"), 6);
    const cJSON *f = src_stat(sum, 0, "flaky"), *s = src_stat(sum, 1, "second");
    cr_assert_eq(num(f, "requests"), 1);
    cr_assert_eq(num(f, "lines_failed"), 1);
    cr_assert_eq(num(f, "fell_through"), 1);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(f, "down")));
    cr_assert_eq(num(s, "windows"), 6);
    cJSON *m = manifest(DIR_OF("AGE") "XX_AGE__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m, "10min", "00:00:00", "01:00:00", "second"), 6);
    cJSON_Delete(m);
    cJSON_Delete(sum);
    rc_buf_free(&err);
}

/* An SDS archive is an entry like any other (default name "sds"). */
Test(sources, an_sds_archive_in_the_list)
{
    char top[8400];
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"first\", \"url\": \"http://127.0.0.1:%d\"}, {\"url\": "
             "\"sds://%s\"}]",
             g_port_a, g_sds_b);
    write_config(top);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.FAL..BHZ --from 2025-11-04 --to 2025-11-04T06:00:00Z", &sum, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    const cJSON *s = src_stat(sum, 1, "sds");
    cr_assert_eq(num(s, "windows"), 36);
    cr_assert_eq(num(src_stat(sum, 0, "first"), "fell_through"), 1);
    cJSON *m = manifest(DIR_OF("FAL") "XX_FAL__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m, "10min", "00:00:00", "06:00:00", "sds"), 36);
    cr_assert_eq(assert_sources(m, "6h", "00:00:00", "06:00:00", "sds"), 1);
    assert_chunk_samples(DIR_OF("FAL"), "XX.FAL..BHZ",
                         "XX_FAL__BHZ_10Hz_2025-11-04-05-50-00_to_2025-11-04-06-00-00.bin.zst",
                         T0 + 5 * 3600 + 50 * 60);
    cJSON_Delete(m);
    cJSON_Delete(sum);
    rc_buf_free(&err);
}

/* An entry's "auth" goes to that entry only: the open first source gets no
 * Authorization header, the restricted second one is asked by digest on
 * queryauth, and the password appears in no output. */
Test(sources, an_entrys_credentials_go_to_that_entry_only)
{
    const char *extra[] = {"--auth-user", "alice", "--auth-password", "s3cr3t-pw", NULL};
    int port_c = 0;
    pid_t srv_c = rc_test_fdsn_start(g_sds_b, extra, &port_c);
    cr_assert(srv_c > 0, "FDSN test server C did not start");
    char pw[4400], top[9000];
    snprintf(pw, sizeof pw, "%s/pw", g_dir);
    cr_assert_eq(rc_test_write_file(pw, "s3cr3t-pw\n", 10), 0);
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"open\", \"url\": \"http://127.0.0.1:%d\"}, {\"name\": "
             "\"restricted\", \"url\": \"http://127.0.0.1:%d\", \"auth\": {\"user\": \"alice\", "
             "\"password_file\": \"%s\"}}]",
             g_port_a, port_c, pw);
    write_config(top);
    cJSON *sum = NULL;
    rc_buf err = RC_BUF_INIT;
    int rc = fill("--station XX.FAL..BHZ --from 2025-11-04 --to 2025-11-04T01:00:00Z", &sum, &err);
    char cmd[256];
    rc_buf sa = RC_BUF_INIT, sc = RC_BUF_INIT;
    snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%d/stats", g_port_a);
    cr_assert_eq(rc_test_sh(cmd, &sa, NULL), 0);
    snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%d/stats", port_c);
    cr_assert_eq(rc_test_sh(cmd, &sc, NULL), 0);
    rc_test_server_stop(srv_c);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cr_assert_eq(num(src_stat(sum, 1, "restricted"), "windows"), 6);
    cr_assert_eq(num(src_stat(sum, 0, "open"), "fell_through"), 1);
    cJSON *a = cJSON_Parse(sa.data), *c = cJSON_Parse(sc.data);
    cr_assert(a && c);
    const cJSON *ha = cJSON_GetObjectItemCaseSensitive(a, "last_headers");
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(ha, "authorization"),
                   "the open source got credentials");
    const cJSON *au = cJSON_GetObjectItemCaseSensitive(c, "auth");
    cr_assert_eq(num(au, "digest_ok"), 1);
    cr_assert_null(strstr(err.data, "s3cr3t"), "%s", err.data);
    char *txt = cJSON_PrintUnformatted(sum);
    cr_assert_null(strstr(txt, "s3cr3t"));
    free(txt);
    cJSON *m = manifest(DIR_OF("FAL") "XX_FAL__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m, "10min", "00:00:00", "01:00:00", "restricted"), 6);
    cJSON_Delete(m);
    cJSON_Delete(a);
    cJSON_Delete(c);
    rc_buf_free(&sa);
    rc_buf_free(&sc);
    cJSON_Delete(sum);
    rc_buf_free(&err);
}

Test(sources, source_auth_with_sources_is_refused)
{
    rc_config c;
    rc_err e;
    cr_assert_eq(parse("\"sources\": [{\"url\": \"http://a.org\"}], \"source_auth\": {}", &c, &e),
                 RC_EINVAL);
    cr_assert_str_eq(e.msg, "c.json: source_auth: is the credentials of \"source\"; with "
                            "\"sources\" give each entry its own \"auth\"");
    cr_assert_eq(parse("\"sources\": [{\"url\": \"http://a.org\", \"auth\": {\"password\": "
                       "\"x\"}}]",
                       &c, &e),
                 RC_EINVAL);
    cr_assert(strstr(e.msg, "c.json: sources[0].auth.password"), "%s", e.msg);
    cr_assert_null(strstr(e.msg, "\"x\""), "%s", e.msg);
}

/* r2cache serve's fill jobs use the same list. */
Test(sources, serve_fill_jobs_use_the_list)
{
    char top[1024];
    snprintf(top, sizeof top,
             "\"sources\": [{\"name\": \"first\", \"url\": \"http://127.0.0.1:%d\"}, "
             "{\"name\": \"second\", \"url\": \"http://127.0.0.1:%d\"}]",
             g_port_a, g_port_b);
    write_config(top);
    char log[4300], args[4400], cmd[2048];
    snprintf(log, sizeof log, "%s/serve.log", g_dir);
    snprintf(args, sizeof args, "--config '%s'", g_config);
    int sport = 0;
    pid_t srv = rc_test_serve_start(args, "R2CACHE_API_TOKEN=api-token-sources", log, 20, &sport);
    cr_assert(srv > 0, "serve did not start");
    snprintf(cmd, sizeof cmd,
             "curl -s -X POST -H 'Authorization: Bearer api-token-sources' -H 'Content-Type: "
             "application/json' -d '{\"network\": \"XX\", \"station\": \"FAL\", \"location\": "
             "\"\", \"channel\": \"BHZ\", \"start_time\": \"2025-11-04T00:00:00Z\", "
             "\"duration_hours\": 1}' 'http://127.0.0.1:%d/api/backfill?wait=true'",
             sport);
    rc_buf out = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, &out, NULL);
    cr_assert_eq(rc_test_serve_stop(srv, 10), 0);
    cr_assert_eq(rc, 0);
    cJSON *res = cJSON_Parse(out.data);
    cr_assert(res, "not JSON: %s", out.data);
    cr_assert_eq(num(res, "chunks_added"), 6, "%s", out.data);
    cJSON *m = manifest(DIR_OF("FAL") "XX_FAL__BHZ_10Hz_" DAY ".json");
    cr_assert_eq(assert_sources(m, "10min", "00:00:00", "01:00:00", "second"), 6);
    int ra;
    rc_buf ba = RC_BUF_INIT;
    server_bodies(g_port_a, &ba, &ra);
    cr_assert_eq(ra, 1, "the first source was asked first");
    cJSON_Delete(m);
    cJSON_Delete(res);
    rc_buf_free(&ba);
    rc_buf_free(&out);
}
