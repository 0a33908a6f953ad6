/*
 * inv_fixture.h: the cache the inventory, verify and reindex tests share:
 * r2cache fill against tests/fdsn_server.py serving a synthetic SDS archive,
 * three channels in two volcanoes in two locations, 2025-11-03 00:00 to
 * 2025-11-05 12:00 at 1 Hz (small, fast), one 60 s gap (a provisional day).
 * The store is a parameter: $RC_TEST_STORE_URL (e.g. s3://bucket/prefix,
 * with the RGW env exported) or a fresh local directory. Every change to the
 * cache after the fill goes through the store API, so the tests hold for
 * every backend.
 */
#ifndef R2CACHE_INV_FIXTURE_H
#define R2CACHE_INV_FIXTURE_H

#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/store.h"
#include "support.h"

static char *g_dir;
static char g_sds[4200];
static char g_store_url[4400];
static char g_config[4200];
static pid_t g_server = -1;
static int g_port;

#define AAA_DIR "data/2025/11/XX/kilauea/AAA//HHZ/"
#define BBB_DIR "data/2025/11/XX/kilauea/BBB/00/BHZ/"
#define CCC_DIR "data/2025/11/YY/spurr/CCC//HHZ/"

static void fx_make_sds(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/inv-sds", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    const char *synth = rc_test_bin("r2cache-synth");
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && "
             "%s sds --out '%s' --rate 1 --from 2025-11-03T00:00:00Z --to 2025-11-05T12:00:00Z "
             "--chan XX.AAA..HHZ --gap 2025-11-04T05:20:00Z/2025-11-04T05:21:00Z && "
             "%s sds --out '%s' --rate 1 --from 2025-11-03T00:00:00Z --to 2025-11-05T12:00:00Z "
             "--chan XX.BBB.00.BHZ && "
             "%s sds --out '%s' --rate 1 --from 2025-11-04T00:00:00Z --to 2025-11-05T00:00:00Z "
             "--chan YY.CCC..HHZ && touch '%s'",
             g_sds, synth, g_sds, synth, g_sds, synth, g_sds, marker);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "r2cache-synth failed: %s", err.data ? err.data : "");
    rc_buf_free(&err);
}

static int fx_r2(const char *args, rc_buf *out, rc_buf *err)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s %s", rc_test_bin("r2cache"), args);
    return rc_test_sh(cmd, out, err);
}

/* Run a command with --config and --json; parsed stdout in *json. */
static int fx_json(const char *args, cJSON **json)
{
    char a[8192];
    snprintf(a, sizeof a, "%s --config '%s' --json --log-format json", args, g_config);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = fx_r2(a, &out, &err);
    *json = out.data ? cJSON_Parse(out.data) : NULL;
    cr_assert(*json, "r2cache %s printed no JSON (exit %d): %s", args, rc,
              err.data ? err.data : "");
    rc_buf_free(&out);
    rc_buf_free(&err);
    return rc;
}

__attribute__((unused)) static rc_store *fx_store(void)
{
    rc_store *st = NULL;
    rc_err e;
    cr_assert_eq(rc_store_open(g_store_url, NULL, &st, &e), RC_OK, "%s", e.msg);
    return st;
}

static void fx_setup(void)
{
    fx_make_sds();
    g_dir = rc_test_tmpdir("inv");
    cr_assert(g_dir);
    const char *url = getenv("RC_TEST_STORE_URL");
    if (url && *url)
        snprintf(g_store_url, sizeof g_store_url, "%s/%ld-%d", url, (long)time(NULL), getpid());
    else
        snprintf(g_store_url, sizeof g_store_url, "%s/store", g_dir);
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    g_server = rc_test_fdsn_start(g_sds, NULL, &g_port);
    cr_assert(g_server > 0, "FDSN test server did not start");
    char json[8192];
    snprintf(json, sizeof json,
             "{\n"
             "  \"source\": \"http://127.0.0.1:%d\",\n"
             "  \"store\": \"%s\",\n"
             "  \"cache_control\": {\"manifest\": \"public, max-age=17\"},\n"
             "  \"volcanoes\": [\n"
             "   {\"name\": \"kilauea\", \"location\": \"hawaii\", \"stations\": [\n"
             "    {\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"\", \"channel\": "
             "\"HHZ\",\n"
             "     \"sample_rate\": 1, \"instrument_type\": \"STS-2\", \"latitude\": 19.5,\n"
             "     \"longitude\": -155.5, \"elevation_m\": 1200},\n"
             "    {\"network\": \"XX\", \"station\": \"BBB\", \"location\": \"00\", \"channel\": "
             "\"BHZ\"}]},\n"
             "   {\"name\": \"spurr\", \"location\": \"alaska\", \"stations\": [\n"
             "    {\"network\": \"YY\", \"station\": \"CCC\", \"location\": \"\", \"channel\": "
             "\"HHZ\",\n"
             "     \"sample_rate\": 1}]}\n"
             "  ]\n}\n",
             g_port, g_store_url);
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
    cJSON *sum = NULL;
    int rc = fx_json("fill --from 2025-11-03T00:00:00Z --to 2025-11-05T12:00:00Z", &sum);
    cr_assert_eq(rc, 0, "fill failed (exit %d)", rc);
    cJSON_Delete(sum);
}

static void fx_teardown(void)
{
    rc_test_server_stop(g_server);
    g_server = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

__attribute__((unused)) static void fx_delete(rc_store *st, const char *key)
{
    rc_err e;
    rc_obj_info info;
    cr_assert_eq(rc_store_head(st, key, &info, &e), RC_OK, "key to delete is absent: %s", key);
    cr_assert_eq(rc_store_delete(st, key, &e), RC_OK, "%s", e.msg);
}

typedef struct fx_sum {
    const char *prefix;
    int64_t bytes, n;
} fx_sum;

static int fx_sum_cb(void *ud, const rc_obj_info *o)
{
    fx_sum *s = ud;
    if (strncmp(o->key, s->prefix, strlen(s->prefix)) == 0) {
        s->bytes += o->size;
        s->n++;
    }
    return 0;
}

/* Bytes of every stored object whose key starts with prefix (the truth for
 * sizes, taken independently of the inventory code). */
__attribute__((unused)) static int64_t fx_bytes(rc_store *st, const char *prefix)
{
    fx_sum s = {prefix, 0, 0};
    rc_err e;
    cr_assert_eq(rc_store_list(st, prefix, fx_sum_cb, &s, &e), RC_OK, "%s", e.msg);
    return s.bytes;
}

__attribute__((unused)) static double fx_num(const cJSON *o, const char *path)
{
    /* dotted path; a segment may contain no dots */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *tok = strtok(buf, "."); tok; tok = strtok(NULL, ".")) {
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        cr_assert(cur, "JSON field %s missing (at %s)", path, tok);
    }
    cr_assert(cJSON_IsNumber(cur), "JSON field %s is not a number", path);
    return cur->valuedouble;
}

__attribute__((unused)) static const char *fx_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsString(v), "JSON field %s missing", k);
    return v->valuestring;
}

#endif
