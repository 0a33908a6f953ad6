/*
 * test_codec_store.c: a store filled with "codec": "lms-rice" answers `get`
 * with exactly the samples of a store filled with the default int32-zstd
 * (10-minute chunks and 6-hour chunks composed from stored ones), names the
 * codec in every entry and blob's metadata, passes verify, gives the same
 * bytes when filled again; and the compact codec is refused with the viewer
 * layout (configuration, --layout, migrate --to-layout viewer), naming both.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support.h"

static char *g_dir;
static char g_sds[1024];

static void make_sds(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/codec-sds", RC_BINARY_DIR);
    char marker[1100];
    snprintf(marker, sizeof marker, "%s/.complete", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    char cmd[8192];
    const char *synth = rc_test_bin("r2cache-synth");
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && "
             "%s sds --out '%s' --rate 100 --from 2025-11-04T00:00:00Z --to 2025-11-04T06:30:00Z "
             "--chan XX.AAA..HHZ >/dev/null && "
             "%s sds --out '%s' --rate 40 --from 2025-11-04T00:00:00Z --to 2025-11-04T06:30:00Z "
             "--chan XX.BBB.00.BHZ >/dev/null && touch '%s'",
             g_sds, synth, g_sds, synth, g_sds, marker);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "r2cache-synth failed: %s", err.data ? err.data : "");
    rc_buf_free(&err);
}

/* config NAME.json for store STORE with the given layout, spans and extra keys */
static void config(const char *name, const char *store, const char *layout, const char *spans,
                   const char *extra)
{
    char json[8192], path[4400];
    snprintf(json, sizeof json,
             "{\"source\": \"sds://%s\", \"store\": \"%s/%s\", \"layout\": \"%s\",\n"
             " \"spans\": %s%s,\n"
             " \"volcanoes\": [{\"name\": \"testvol\", \"stations\": [\n"
             "  {\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"\", \"channel\": "
             "\"HHZ\", \"sample_rate\": 100},\n"
             "  {\"network\": \"XX\", \"station\": \"BBB\", \"location\": \"00\", \"channel\": "
             "\"BHZ\", \"sample_rate\": 40}]}]}\n",
             g_sds, g_dir, store, layout, spans, extra ? extra : "");
    snprintf(path, sizeof path, "%s/%s.json", g_dir, name);
    cr_assert_eq(rc_test_write_file(path, json, strlen(json)), 0);
}

static int r2(const char *cfg, const char *args, rc_buf *out, rc_buf *err)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "%s %s --log-format text --config '%s/%s.json'",
             rc_test_bin("r2cache"), args, g_dir, cfg);
    return rc_test_sh(cmd, out, err);
}

static void fill(const char *cfg)
{
    rc_buf err = RC_BUF_INIT;
    int rc = r2(cfg, "fill --from 2025-11-04T00:00:00Z --to 2025-11-04T06:10:00Z", NULL, &err);
    cr_assert_eq(rc, 0, "fill %s exit %d: %s", cfg, rc, err.data ? err.data : "");
    rc_buf_free(&err);
}

#define AAA "data/2025/11/XX/testvol/AAA/%/HHZ/"
#define K10 AAA "XX_AAA__HHZ_100Hz_2025-11-04-01-00-00_to_2025-11-04-01-10-00.bin.zst"
#define K6H AAA "XX_AAA__HHZ_100Hz_2025-11-04-00-00-00_to_2025-11-04-06-00-00.bin.zst"
#define MAN AAA "XX_AAA__HHZ_100Hz_2025-11-04.json"

static void read_obj(const char *store, const char *key, rc_buf *b)
{
    char path[9000];
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, store, key);
    rc_buf_reset(b);
    cr_assert_eq(rc_test_read_file(path, b), 0, "cannot read %s", path);
}

static cJSON *sidecar(const char *store, const char *key)
{
    char k[1200];
    const char *slash = strrchr(key, '/');
    snprintf(k, sizeof k, "%.*s.%s.meta.json", (int)(slash - key + 1), key, slash + 1);
    rc_buf b = RC_BUF_INIT;
    read_obj(store, k, &b);
    cJSON *j = cJSON_Parse(b.data);
    cr_assert(j, "sidecar of %s is not JSON", key);
    rc_buf_free(&b);
    return j;
}

static const char *meta(const cJSON *sc, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(sc, "meta");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void setup(void)
{
    make_sds();
    g_dir = rc_test_tmpdir("codec-store");
    cr_assert(g_dir);
}

static void teardown(void)
{
    rc_test_rmtree(g_dir);
    free(g_dir);
}

TestSuite(codec_store, .init = setup, .fini = teardown, .timeout = 600);

Test(codec_store, compact_store_reads_back_the_same_samples)
{
    const char *lr = ",\n \"codec\": \"lms-rice\"";
    config("plain", "plain", "seed", "[\"10m\", \"6h\"]", NULL);
    /* the compact store is filled in two steps (configurations small10 and
     * small, one store) so that its 6-hour chunk is composed from stored
     * lms-rice 10-minute chunks; "again" fills both spans at once */
    config("small10", "small10", "seed", "[\"10m\"]", lr);
    config("small", "small10", "seed", "[\"10m\", \"6h\"]", lr);
    config("again", "again", "seed", "[\"10m\", \"6h\"]", lr);
    fill("plain");
    fill("small10");
    fill("small");
    fill("again");

    static const char *const gets[] = {
        "get XX.AAA..HHZ --from 2025-11-04T00:59:58Z --to 2025-11-04T01:20:00Z",
        "get XX.AAA..HHZ --span 6h --from 2025-11-04T00:00:00Z --to 2025-11-04T06:00:00Z",
        "get XX.BBB.00.BHZ --from 2025-11-04T02:00:00Z --to 2025-11-04T03:00:00Z",
        "get XX.BBB.00.BHZ --span 6h --from 2025-11-04T03:00:00Z --to 2025-11-04T04:00:00Z",
    };
    for (size_t i = 0; i < sizeof gets / sizeof gets[0]; i++) {
        rc_buf a = RC_BUF_INIT, b = RC_BUF_INIT, err = RC_BUF_INIT;
        cr_assert_eq(r2("plain", gets[i], &a, &err), 0, "%s: %s", gets[i], err.data);
        cr_assert_eq(r2("small", gets[i], &b, &err), 0, "%s: %s", gets[i], err.data);
        cr_assert_gt(a.len, 1000, "%s printed %zu bytes", gets[i], a.len);
        cr_assert_eq(a.len, b.len, "%s: int32-zstd %zu bytes, lms-rice %zu", gets[i], a.len, b.len);
        cr_assert(memcmp(a.data, b.data, a.len) == 0, "%s differs between the codecs", gets[i]);
        rc_buf_free(&a);
        rc_buf_free(&b);
        rc_buf_free(&err);
    }

    /* the bodies: R2CL magic, smaller, the same bytes when filled again */
    rc_buf p10 = RC_BUF_INIT, s10 = RC_BUF_INIT, g10 = RC_BUF_INIT, s6 = RC_BUF_INIT,
           g6 = RC_BUF_INIT;
    read_obj("plain", K10, &p10);
    read_obj("small10", K10, &s10);
    read_obj("again", K10, &g10);
    read_obj("small10", K6H, &s6);
    read_obj("again", K6H, &g6);
    cr_assert(memcmp(p10.data, "\x28\xb5\x2f\xfd", 4) == 0, "default chunk is not zstd");
    cr_assert(memcmp(s10.data, "R2CL", 4) == 0, "compact chunk lacks its magic");
    cr_assert(memcmp(s6.data, "R2CL", 4) == 0, "composed compact chunk lacks its magic");
    cr_assert_lt(s10.len, p10.len);
    cr_assert(s10.len == g10.len && memcmp(s10.data, g10.data, s10.len) == 0,
              "same samples, other bytes (10m)");
    cr_assert(s6.len == g6.len && memcmp(s6.data, g6.data, s6.len) == 0,
              "same samples, other bytes (6h, composed from stored chunks vs in one fill)");

    /* named in the entry and the blob metadata; absent for the default */
    cJSON *sc = sidecar("small10", K10), *pc = sidecar("plain", K10),
          *s6c = sidecar("small10", K6H);
    cr_assert_str_eq(meta(sc, "r2c-codec"), "lms-rice");
    cr_assert_str_eq(meta(s6c, "r2c-codec"), "lms-rice");
    cr_assert_null(meta(pc, "r2c-codec"));
    cJSON_Delete(sc);
    cJSON_Delete(pc);
    cJSON_Delete(s6c);
    rc_buf mb = RC_BUF_INIT;
    read_obj("small10", MAN, &mb);
    cJSON *m = cJSON_Parse(mb.data);
    const cJSON *chunks = cJSON_GetObjectItemCaseSensitive(m, "chunks");
    int n10 = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(chunks, "10min"))
    {
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(it, "codec")->valuestring, "lms-rice");
        n10++;
    }
    cr_assert_eq(n10, 37);
    it = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(chunks, "6h"), 0);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(it, "codec")->valuestring, "lms-rice");
    cJSON_Delete(m);
    read_obj("plain", MAN, &mb);
    cr_assert_null(strstr(mb.data, "\"codec\""), "default entries name no codec");

    /* verify decodes every chunk by its name */
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2("small", "verify --from 2025-11-04 --to 2025-11-05 --json", &out, &err);
    cr_assert_eq(rc, 0, "verify exit %d: %s %s", rc, out.data, err.data);
    cJSON *v = cJSON_Parse(out.data);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(v, "status")->valuestring, "ok");
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(v, "blobs")->valuedouble, 2 * 38);
    cJSON_Delete(v);

    /* reindex rebuilds the entries from the blobs, codec included: from the
     * metadata, and from the body's magic for a blob whose sidecar lost it */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm '%s/small10/%s' && rm '%s/small10/%s.%s.meta.json'", g_dir, MAN,
             g_dir, AAA, strrchr(K10, '/') + 1);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    rc_buf_reset(&err);
    rc = r2("small", "reindex --from 2025-11-04 --to 2025-11-05", NULL, &err);
    cr_assert_eq(rc, 0, "reindex exit %d: %s", rc, err.data);
    read_obj("small10", MAN, &mb);
    m = cJSON_Parse(mb.data);
    chunks = cJSON_GetObjectItemCaseSensitive(m, "chunks");
    n10 = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(chunks, "10min"))
    {
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(it, "codec")->valuestring, "lms-rice");
        n10++;
    }
    cr_assert_eq(n10, 37);
    cJSON_Delete(m);
    rc_buf a1 = RC_BUF_INIT, b1 = RC_BUF_INIT;
    cr_assert_eq(r2("plain", gets[0], &a1, &err), 0);
    cr_assert_eq(r2("small", gets[0], &b1, &err), 0, "%s", err.data);
    cr_assert(a1.len == b1.len && memcmp(a1.data, b1.data, a1.len) == 0,
              "get differs after reindex");
    rc_buf_free(&a1);
    rc_buf_free(&b1);

    /* migrate copies bytes: not into the viewer layout */
    rc_buf_reset(&err);
    rc = r2("small", "migrate --to-layout viewer --from 2025-11-04 --to 2025-11-05", NULL, &err);
    cr_assert_eq(rc, 2, "migrate exit %d", rc);
    cr_assert(strstr(err.data, "codec \"lms-rice\" (the configuration's) cannot be used with "
                               "layout \"viewer\""),
              "%s", err.data);
    /* the configuration back on the default, the store still lms-rice: each
     * compact chunk is refused, nothing is written to the viewer layout */
    config("back", "small10", "seed", "[\"10m\", \"6h\"]", NULL);
    rc_buf_reset(&err);
    rc = r2("back",
            "migrate --to-layout viewer --station XX.AAA..HHZ --from 2025-11-04 --to 2025-11-05",
            NULL, &err);
    cr_assert_eq(rc, 1, "migrate exit %d: %s", rc, err.data);
    cr_assert(strstr(err.data, "is in codec \"lms-rice\", which the viewer layout cannot hold (the "
                               "browser viewer decodes int32-zstd only); migrate copies bytes and "
                               "does not re-encode"),
              "%s", err.data);
    char vdir[4400];
    snprintf(vdir, sizeof vdir, "%s/small10/data/2025/11/04", g_dir);
    struct stat vst;
    if (stat(vdir, &vst) == 0) {
        rc_buf ls = RC_BUF_INIT;
        snprintf(cmd, sizeof cmd, "find '%s' -name '*.zst' | wc -l", vdir);
        cr_assert_eq(rc_test_sh(cmd, &ls, NULL), 0);
        cr_assert_eq(atoi(ls.data), 0, "migrate wrote %s compact chunks into the viewer layout",
                     ls.data);
        rc_buf_free(&ls);
    }
    rc_buf_free(&out);
    rc_buf_free(&err);
    rc_buf_free(&mb);
    rc_buf_free(&p10);
    rc_buf_free(&s10);
    rc_buf_free(&g10);
    rc_buf_free(&s6);
    rc_buf_free(&g6);
}

Test(codec_store, compact_codec_is_refused_with_the_viewer_layout)
{
    config("v", "v", "viewer", "[\"10m\"]", ",\n \"codec\": \"lms-rice\"");
    rc_buf err = RC_BUF_INIT;
    int rc = r2("v", "fill --from 2025-11-04T00:00:00Z --to 2025-11-04T00:10:00Z", NULL, &err);
    cr_assert_eq(rc, 2, "exit %d", rc);
    cr_assert(strstr(err.data, "v.json: codec \"lms-rice\" cannot be used with layout \"viewer\": "
                               "the browser viewer decodes int32-zstd chunks only; use codec "
                               "\"int32-zstd\" or layout \"seed\""),
              "%s", err.data);
    /* the same by --layout */
    config("s", "s", "seed", "[\"10m\"]", ",\n \"codec\": \"lms-rice\"");
    rc_buf_reset(&err);
    rc = r2("s", "fill --layout viewer --from 2025-11-04T00:00:00Z --to 2025-11-04T00:10:00Z", NULL,
            &err);
    cr_assert_eq(rc, 2, "exit %d", rc);
    cr_assert(
        strstr(err.data, "--layout: codec \"lms-rice\" cannot be used with layout \"viewer\""),
        "%s", err.data);
    /* an unknown codec names the known ones */
    config("u", "u", "seed", "[\"10m\"]", ",\n \"codec\": \"delta-zstd\"");
    rc_buf_reset(&err);
    rc = r2("u", "fill --from 2025-11-04T00:00:00Z --to 2025-11-04T00:10:00Z", NULL, &err);
    cr_assert_eq(rc, 2, "exit %d", rc);
    cr_assert(strstr(err.data, "u.json: codec: must be \"int32-zstd\" (the default) or "
                               "\"lms-rice\""),
              "%s", err.data);
    /* the default with the viewer layout is fine, and nothing was written */
    char path[4400];
    snprintf(path, sizeof path, "%s/v", g_dir);
    struct stat st;
    cr_assert_neq(stat(path, &st), 0, "a refused configuration wrote %s", path);
    rc_buf_free(&err);
}
