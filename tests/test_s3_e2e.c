/*
 * test_s3_e2e.c: `run` and `fill` against the real S3 server (Ceph RGW on
 * loopback, the CTest fixture "rgw") write the same keys and byte-identical
 * blobs as against the local store; two processes updating one manifest on
 * S3 lose nothing (100 trials); S3 faults injected by tests/s3proxy.py during
 * a run are retried, and a run that fails part-way never leaves a manifest
 * naming a blob that is not there.
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/manifest.h"
#include "r2cache/naming.h"
#include "r2cache/store.h"
#include "r2cache/timewin.h"
#include "support.h"

static char g_bucket[128], g_endpoint[256];
static char *g_dir;
static char g_sds[4200], g_local[4200], g_cfg_local[4200], g_cfg_s3[4200], g_s3url[512];
static pid_t g_fdsn = -1, g_proxy = -1;
static int g_fdsn_port, g_proxy_port;

static void make_sds(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/s3e2e-sds", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    char cmd[8192];
    const char *synth = rc_test_bin("r2cache-synth");
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && %s sds --out '%s' --rate 100 --from 2025-11-04T00:00:00Z "
             "--to 2025-11-04T07:00:00Z --chan XX.AAA..HHZ && "
             "%s sds --out '%s' --rate 50 --from 2025-11-04T00:00:00Z --to 2025-11-04T07:00:00Z "
             "--chan XX.BBB.00.BHZ --gap 2025-11-04T02:15:00Z/2025-11-04T02:16:00Z && touch '%s'",
             g_sds, synth, g_sds, synth, g_sds, marker);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0, "r2cache-synth failed");
}

static void write_cfg(const char *path, const char *store)
{
    char json[4096];
    snprintf(
        json, sizeof json,
        "{\"source\": \"http://127.0.0.1:%d\", \"store\": \"%s\",\n"
        " \"run\": {\"retry_interval\": \"1s\", \"retry_max\": \"0s\"},\n"
        " \"fetch\": {\"max_attempts\": 3, \"backoff_base_s\": 0.05, \"backoff_cap_s\": 0.2},\n"
        " \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", \"stations\": [\n"
        "  {\"network\": \"XX\", \"station\": \"AAA\", \"channel\": \"HHZ\", \"sample_rate\": "
        "100},\n"
        "  {\"network\": \"XX\", \"station\": \"BBB\", \"location\": \"00\", \"channel\": "
        "\"BHZ\"}\n"
        " ]}]}\n",
        g_fdsn_port, store);
    cr_assert_eq(rc_test_write_file(path, json, strlen(json)), 0);
}

static void setup(void)
{
    if (rc_test_rgw_env(g_bucket, sizeof g_bucket, g_endpoint, sizeof g_endpoint) != 0)
        cr_skip_test("SKIPPED: %s/rgw/env is absent (run through ctest, whose rgw fixture "
                     "starts RGW)",
                     RC_BINARY_DIR);
    unsetenv("R2CACHE_S3_STALL_TIMEOUT");
    make_sds();
    g_dir = rc_test_tmpdir("s3e2e");
    cr_assert(g_dir);
    g_fdsn = rc_test_fdsn_start(g_sds, NULL, &g_fdsn_port);
    cr_assert(g_fdsn > 0, "FDSN test server did not start");
    snprintf(g_local, sizeof g_local, "%s/local", g_dir);
    snprintf(g_s3url, sizeof g_s3url, "s3://%s/e2e-%d-%ld", g_bucket, (int)getpid(),
             (long)time(NULL));
    snprintf(g_cfg_local, sizeof g_cfg_local, "%s/local.json", g_dir);
    snprintf(g_cfg_s3, sizeof g_cfg_s3, "%s/s3.json", g_dir);
    write_cfg(g_cfg_local, g_local);
    write_cfg(g_cfg_s3, g_s3url);
}

static void teardown(void)
{
    rc_test_server_stop(g_fdsn);
    g_fdsn = -1;
    rc_test_server_stop(g_proxy);
    g_proxy = -1;
    if (g_dir) {
        rc_test_rmtree(g_dir);
        free(g_dir);
        g_dir = NULL;
    }
}

static int r2(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s --log-format json", rc_test_bin("r2cache"), args);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    if (rc != 0 && rc != 1)
        fprintf(stderr, "r2cache %s -> %d: %s\n", args, rc, err.data ? err.data : "");
    rc_buf_free(&err);
    return rc;
}

typedef struct keys {
    char **v;
    size_t n, cap;
} keys;

static int collect(void *ud, const rc_obj_info *o)
{
    keys *k = ud;
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 256;
        k->v = realloc(k->v, k->cap * sizeof *k->v);
    }
    k->v[k->n++] = strdup(o->key);
    return 0;
}

static rc_store *open_store(const char *url)
{
    rc_store_opts o;
    rc_store_opts_default(&o);
    rc_store *s = NULL;
    rc_err e;
    cr_assert_eq(rc_store_open(url, &o, &s, &e), RC_OK, "%s", e.msg);
    return s;
}

static void list_all(rc_store *s, keys *k)
{
    rc_err e;
    memset(k, 0, sizeof *k);
    cr_assert_eq(rc_store_list(s, "data/", collect, k, &e), RC_OK, "%s", e.msg);
}

static void free_keys(keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
}

/* Remove what legitimately differs between two writes of the same data. */
static void strip_times(cJSON *o)
{
    static const char *t[] = {"created_at", "updated_at", "written_at", "replaced_at"};
    for (size_t i = 0; i < 4; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(o, t[i]);
    /* when the source was asked: the two fills ran at different times */
    cJSON_DeleteItemFromObjectCaseSensitive(o, "source_empty");
    cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        if (cJSON_IsObject(it) || cJSON_IsArray(it)) strip_times(it);
    }
}

/* Same keys, same blob bytes, manifests equal apart from timestamps. */
static size_t compare_stores(const char *url_a, const char *url_b)
{
    rc_store *a = open_store(url_a), *b = open_store(url_b);
    keys ka, kb;
    list_all(a, &ka);
    list_all(b, &kb);
    cr_assert_eq(ka.n, kb.n, "%zu keys in %s, %zu in %s", ka.n, url_a, kb.n, url_b);
    for (size_t i = 0; i < ka.n; i++) {
        cr_assert_str_eq(ka.v[i], kb.v[i]);
        rc_buf x = RC_BUF_INIT, y = RC_BUF_INIT;
        rc_err e;
        cr_assert_eq(rc_store_get(a, ka.v[i], &x, NULL, &e), RC_OK, "%s", e.msg);
        cr_assert_eq(rc_store_get(b, kb.v[i], &y, NULL, &e), RC_OK, "%s", e.msg);
        size_t n = strlen(ka.v[i]);
        if (n > 5 && strcmp(ka.v[i] + n - 5, ".json") == 0) {
            cJSON *jx = cJSON_Parse(x.data), *jy = cJSON_Parse(y.data);
            cr_assert(jx && jy, "manifest %s unreadable", ka.v[i]);
            strip_times(jx);
            strip_times(jy);
            if (!cJSON_Compare(jx, jy, 1)) {
                char *px = cJSON_PrintUnformatted(jx), *py = cJSON_PrintUnformatted(jy);
                size_t k = 0;
                while (px[k] && px[k] == py[k])
                    k++;
                size_t from = k > 200 ? k - 200 : 0;
                cr_assert_fail("manifest %s differs at byte %zu:\n%s: ...%.500s\n%s: ...%.500s",
                               ka.v[i], k, url_a, px + from, url_b, py + from);
            }
            cJSON_Delete(jx);
            cJSON_Delete(jy);
        } else {
            cr_assert_eq(x.len, y.len, "blob %s: %zu vs %zu bytes", ka.v[i], x.len, y.len);
            cr_assert(memcmp(x.data, y.data, x.len) == 0, "blob %s differs", ka.v[i]);
        }
        rc_buf_free(&x);
        rc_buf_free(&y);
    }
    size_t n = ka.n;
    free_keys(&ka);
    free_keys(&kb);
    rc_store_close(a);
    rc_store_close(b);
    return n;
}

/* Every manifest entry names a blob that exists. */
static size_t check_entries_have_blobs(const char *url)
{
    rc_store *s = open_store(url);
    keys k;
    list_all(s, &k);
    size_t checked = 0;
    for (size_t i = 0; i < k.n; i++) {
        rc_key_info ki;
        rc_err e;
        if (rc_key_parse(RC_LAYOUT_SEED, k.v[i], &ki, &e) != RC_OK || ki.kind != RC_KEY_MANIFEST)
            continue;
        rc_manifest m;
        cr_assert_eq(rc_manifest_load(s, RC_LAYOUT_SEED, k.v[i], &m, NULL, &e), RC_OK, "%s", e.msg);
        for (int sp = 0; sp < RC_SPAN_COUNT; sp++)
            for (size_t j = 0; j < m.chunks[sp].n; j++) {
                rc_chunk_id id;
                memset(&id, 0, sizeof id);
                id.chan = m.chan;
                snprintf(id.volcano, sizeof id.volcano, "%s", m.volcano);
                id.rate = m.sample_rate;
                id.span = (rc_span)sp;
                id.start = m.chunks[sp].v[j].start;
                char key[RC_KEY_MAX];
                cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_OK);
                int found = 0;
                for (size_t q = 0; q < k.n && !found; q++)
                    found = strcmp(k.v[q], key) == 0;
                cr_assert(found, "manifest %s names %s, which is not stored", k.v[i], key);
                checked++;
            }
        rc_manifest_free(&m);
    }
    free_keys(&k);
    rc_store_close(s);
    return checked;
}

TestSuite(s3e2e, .init = setup, .fini = teardown, .timeout = 600);

Test(s3e2e, run_writes_the_same_keys_and_bytes_as_the_local_store)
{
    char args[8192];
    snprintf(args, sizeof args, "run --config '%s' --now 2025-11-04T06:02:00Z", g_cfg_local);
    cr_assert_eq(r2(args), 0);
    snprintf(args, sizeof args, "run --config '%s' --now 2025-11-04T06:02:00Z", g_cfg_s3);
    cr_assert_eq(r2(args), 0);
    char local_url[4300];
    snprintf(local_url, sizeof local_url, "file://%s", g_local);
    size_t n = compare_stores(local_url, g_s3url);
    /* 2 channels x (36 ten-minute + 1 six-hour) chunks + 2 manifests */
    cr_assert_eq(n, 2 * 37 + 2);
    /* a rerun against S3 writes nothing */
    cr_assert_eq(r2(args), 0);
    cr_assert_eq(compare_stores(local_url, g_s3url), n);
}

Test(s3e2e, fill_writes_the_same_keys_and_bytes_as_the_local_store)
{
    char args[8192];
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-04T00:00:00Z --to 2025-11-04T07:00:00Z",
             g_cfg_local);
    cr_assert_eq(r2(args), 0);
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-04T00:00:00Z --to 2025-11-04T07:00:00Z", g_cfg_s3);
    cr_assert_eq(r2(args), 0);
    char local_url[4300];
    snprintf(local_url, sizeof local_url, "file://%s", g_local);
    size_t n = compare_stores(local_url, g_s3url);
    cr_assert_eq(n, 2 * (42 + 1) + 2);
    cr_assert_eq(check_entries_have_blobs(g_s3url), 2 * 43);
}

Test(s3e2e, two_processes_updating_one_manifest_lose_nothing_100_trials)
{
    rc_store *s = open_store(g_s3url);
    rc_chan c = {"XX", "AAA", "", "HHZ"};
    const int64_t day = 1762214400; /* 2025-11-04 */
    for (int trial = 0; trial < 100; trial++) {
        rc_manifest_id mid;
        memset(&mid, 0, sizeof mid);
        mid.chan = c;
        snprintf(mid.volcano, sizeof mid.volcano, "race%d", trial);
        mid.rate = 100;
        mid.day = day;
        char key[RC_KEY_MAX];
        rc_err e;
        cr_assert_eq(rc_key_manifest(RC_LAYOUT_SEED, &mid, key, sizeof key, &e), RC_OK);
        pid_t kids[2];
        for (int w = 0; w < 2; w++) {
            kids[w] = fork();
            if (kids[w] == 0) {
                rc_store *cs = open_store(g_s3url);
                rc_manifest tmpl;
                rc_manifest_init(&tmpl, RC_LAYOUT_SEED, &c, mid.volcano, 100, day);
                rc_mentry en;
                memset(&en, 0, sizeof en);
                en.start = day + 600 * w;
                en.end = en.start + 600;
                en.samples = 60000;
                en.min = -w;
                en.max = w;
                rc_mop op = {.span = RC_SPAN_10M, .entry = &en, .mode = RC_UPSERT_IF_ABSENT};
                int changed = 0;
                int rc =
                    rc_manifest_update(cs, key, &tmpl, &op, 1, RC_SPAN_10M, NULL, 0, &changed, &e);
                rc_manifest_free(&tmpl);
                rc_store_close(cs);
                _exit(rc == RC_OK ? 0 : 1);
            }
        }
        for (int w = 0; w < 2; w++) {
            int st = 0;
            waitpid(kids[w], &st, 0);
            cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "trial %d writer %d failed", trial, w);
        }
        rc_manifest m;
        cr_assert_eq(rc_manifest_load(s, RC_LAYOUT_SEED, key, &m, NULL, &e), RC_OK, "%s", e.msg);
        cr_assert_eq(m.chunks[RC_SPAN_10M].n, 2, "trial %d kept %zu entries", trial,
                     m.chunks[RC_SPAN_10M].n);
        cr_assert_eq(m.chunks[RC_SPAN_10M].v[0].start, day);
        cr_assert_eq(m.chunks[RC_SPAN_10M].v[1].start, day + 600);
        rc_manifest_free(&m);
    }
    rc_store_close(s);
}

static void faults(const char *json)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "curl -s -X POST -d '%s' http://127.0.0.1:%d/__control", json,
             g_proxy_port);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
}

Test(s3e2e, store_faults_are_retried_and_never_leave_an_entry_without_its_blob)
{
    char script[4200];
    snprintf(script, sizeof script, "%s/tests/s3proxy.py", RC_SOURCE_DIR);
    char *argv[] = {"python3", script, g_endpoint, NULL};
    g_proxy = rc_test_server_start(argv, 20, &g_proxy_port);
    cr_assert(g_proxy > 0, "s3proxy.py did not start");
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", g_proxy_port);
    setenv("AWS_ENDPOINT_URL", ep, 1);

    /* transient faults on the way: everything is written */
    faults("[\"ok\", \"503-slowdown\", \"ok\", \"500\", \"reset\", \"ok\", \"429\"]");
    char args[8192];
    snprintf(args, sizeof args, "run --config '%s' --now 2025-11-04T03:02:00Z", g_cfg_s3);
    cr_assert_eq(r2(args), 0);
    setenv("AWS_ENDPOINT_URL", g_endpoint, 1);
    cr_assert_eq(check_entries_have_blobs(g_s3url), 2 * 6);

    /* the store failing for good part-way: partial, and still consistent */
    setenv("AWS_ENDPOINT_URL", ep, 1);
    {
        /* a few requests get through (the plan's reads), then every request fails */
        char many[4096] = "[\"ok\", \"ok\", \"ok\", \"ok\"";
        for (int k = 0; k < 300; k++)
            strcat(many, ", \"500\"");
        strcat(many, "]");
        faults(many);
    }
    snprintf(args, sizeof args, "run --config '%s' --now 2025-11-04T04:02:00Z", g_cfg_s3);
    int rc = r2(args);
    cr_assert(rc == 1 || rc == 3, "a failing store must not report success (exit %d)", rc);
    setenv("AWS_ENDPOINT_URL", g_endpoint, 1);
    cr_assert_geq(check_entries_have_blobs(g_s3url), 2 * 6);
    /* and a rerun with the store healthy completes the job */
    snprintf(args, sizeof args, "run --config '%s' --now 2025-11-04T04:02:00Z", g_cfg_s3);
    cr_assert_eq(r2(args), 0);
    cr_assert_eq(check_entries_have_blobs(g_s3url), 2 * 12);
}
