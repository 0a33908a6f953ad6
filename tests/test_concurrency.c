/*
 * test_concurrency.c: writers racing on the same channel-days.
 *
 * Each trial starts, at the same moment on an empty store, the cron `run`,
 * two `fill`s of the same range and (when the binary has it) a `reindex`,
 * waits for all of them and checks every manifest through the store
 * interface: every chunk blob is named by exactly one entry of its
 * manifest, no entry names a missing blob, no start appears twice. 100
 * trials on the local store; 100 more on RGW when the ctest RGW fixture has
 * written build/rgw/env, or the file RC_RGW_ENV names (skipped visibly otherwise). The source is a
 * synthetic SDS archive, so the race is between the writers, not the fetch.
 */
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "r2cache/naming.h"
#include "r2cache/store.h"
#include "support.h"

#define LOCAL_TRIALS 100
#define RGW_TRIALS 100
#define MAX_KEYS 2048

static char g_dir[4200], g_sds[4200], g_cfg[4200];

static void setup(void)
{
    char *d = rc_test_tmpdir("concurrency");
    snprintf(g_dir, sizeof g_dir, "%s", d);
    free(d);
    snprintf(g_sds, sizeof g_sds, "%s/sds", g_dir);
    snprintf(g_cfg, sizeof g_cfg, "%s/config.json", g_dir);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "%s sds --out '%s' --rate 10 --from 2025-11-04T00:00:00Z --to 2025-11-04T02:00:00Z "
             "--chan XX.CCA..HHZ >/dev/null",
             rc_test_bin("r2cache-synth"), g_sds);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    char json[4096];
    snprintf(
        json, sizeof json,
        "{\"source\": \"sds://%s\", \"spans\": [\"10m\", \"1h\"],\n"
        " \"run\": {\"retry_interval\": \"1s\", \"retry_max\": \"1s\"},\n"
        " \"volcanoes\": [{\"name\": \"racevol\", \"stations\": [\n"
        "  {\"network\": \"XX\", \"station\": \"CCA\", \"location\": \"\", \"channel\": \"HHZ\", "
        "\"sample_rate\": 10}]}]}\n",
        g_sds);
    cr_assert_eq(rc_test_write_file(g_cfg, json, strlen(json)), 0);
}

static void teardown(void)
{
    rc_test_rmtree(g_dir);
}

typedef struct keyset {
    char *keys[MAX_KEYS];
    size_t n;
} keyset;

static int collect(void *ud, const rc_obj_info *obj)
{
    keyset *ks = ud;
    if (ks->n < MAX_KEYS) ks->keys[ks->n++] = strdup(obj->key);
    return 0;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Every chunk blob exactly once in its manifest, every entry's blob there. */
static void check_store(const char *url, const char *prefix, int trial, size_t *nchunks)
{
    rc_store_opts o;
    rc_store_opts_default(&o);
    rc_store *st = NULL;
    rc_err e;
    cr_assert_eq(rc_store_open(url, &o, &st, &e), RC_OK, "%s", e.msg);
    keyset ks = {0};
    cr_assert_eq(rc_store_list(st, prefix, collect, &ks, &e), RC_OK, "%s", e.msg);
    size_t plen = strlen(prefix) - strlen("data/");
    int seen[MAX_KEYS] = {0};
    size_t chunks = 0;
    for (size_t i = 0; i < ks.n; i++) {
        if (ends_with(ks.keys[i], ".bin.zst")) chunks++;
        if (!ends_with(ks.keys[i], ".json")) continue;
        rc_key_info info;
        cr_assert_eq(rc_key_parse(RC_LAYOUT_SEED, ks.keys[i] + plen, &info, &e), RC_OK,
                     "trial %d: %s: %s", trial, ks.keys[i], e.msg);
        rc_buf b = RC_BUF_INIT;
        cr_assert_eq(rc_store_get(st, ks.keys[i], &b, NULL, &e), RC_OK, "%s", e.msg);
        cJSON *m = cJSON_ParseWithLength(b.data, b.len);
        rc_buf_free(&b);
        cr_assert(m, "trial %d: manifest %s is not JSON", trial, ks.keys[i]);
        const cJSON *list;
        cJSON_ArrayForEach(list, cJSON_GetObjectItemCaseSensitive(m, "chunks"))
        {
            rc_span span;
            cr_assert_eq(rc_span_parse(list->string, &span, &e), RC_OK);
            const cJSON *en;
            cJSON_ArrayForEach(en, list)
            {
                int hh, mm, ss;
                const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(en, "start"));
                cr_assert(s && sscanf(s, "%d:%d:%d", &hh, &mm, &ss) == 3);
                rc_chunk_id id;
                memset(&id, 0, sizeof id);
                id.chan = info.manifest.chan;
                memcpy(id.volcano, info.manifest.volcano, sizeof id.volcano);
                id.rate = info.manifest.rate;
                id.span = span;
                id.start = info.manifest.day + hh * 3600 + mm * 60 + ss;
                char key[RC_KEY_MAX + 64];
                snprintf(key, sizeof key, "%.*s", (int)plen, ks.keys[i]);
                cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key + plen, sizeof key - plen, &e),
                             RC_OK);
                size_t j = 0;
                while (j < ks.n && strcmp(ks.keys[j], key) != 0)
                    j++;
                cr_assert_lt(j, ks.n, "trial %d: %s names %s, which is not stored", trial,
                             ks.keys[i], key);
                seen[j]++;
                cr_assert_eq(seen[j], 1, "trial %d: %s is in %s twice", trial, key, ks.keys[i]);
            }
        }
        cJSON_Delete(m);
    }
    for (size_t i = 0; i < ks.n; i++)
        if (ends_with(ks.keys[i], ".bin.zst"))
            cr_assert_eq(seen[i], 1, "trial %d: blob %s is in no manifest (lost entry)", trial,
                         ks.keys[i]);
    *nchunks = chunks;
    for (size_t i = 0; i < ks.n; i++)
        free(ks.keys[i]);
    rc_store_close(st);
}

static pid_t spawn(const char *args, const char *store)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "exec %s %s --config '%s' --store '%s' --log-level error "
             ">/dev/null 2>&1",
             rc_test_bin("r2cache"), args, g_cfg, store);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int have_reindex(void)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s reindex --help >/dev/null 2>&1", rc_test_bin("r2cache"));
    return rc_test_sh(cmd, NULL, NULL) == 0;
}

static void trials(const char *base_url, const char *label, int n)
{
    int reindex = have_reindex();
    if (!reindex)
        cr_log_warn("SKIPPED part: `r2cache reindex` is not a command yet; racing run and two "
                    "fills only");
    size_t expected = 0;
    for (int t = 0; t < n; t++) {
        char store[4400], prefix[256];
        snprintf(store, sizeof store, "%s/t%d", base_url, t);
        snprintf(prefix, sizeof prefix, "data/"); /* keys are relative to the store URL */
        pid_t p[4];
        int np = 0;
        p[np++] = spawn("run --now 2025-11-04T02:02:00Z --lookback 2h", store);
        p[np++] = spawn("fill --from 2025-11-04T00:00:00Z --to 2025-11-04T02:00:00Z", store);
        p[np++] = spawn("fill --from 2025-11-04T00:00:00Z --to 2025-11-04T02:00:00Z", store);
        if (reindex) p[np++] = spawn("reindex --all", store);
        for (int i = 0; i < np; i++) {
            int status;
            waitpid(p[i], &status, 0);
            int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            /* reindex racing writers may report what it could not index yet (1) */
            cr_assert(rc == 0 || (i == 3 && rc == 1), "trial %d: writer %d exited %d", t, i, rc);
        }
        size_t chunks = 0;
        check_store(store, prefix, t, &chunks);
        /* one channel (one contended manifest) x 2 h: 12 ten-minute + 2 one-hour chunks */
        cr_assert_eq(chunks, 14, "trial %d: %zu chunks stored, 14 expected", t, chunks);
        expected += chunks;
    }
    cr_log_info("%d trials, %zu chunks, each exactly once in its manifest", n, expected);
    const char *path = getenv("RC_FAULT_LOG");
    FILE *f = path && *path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f,
                "concurrency\t%s\t%d trials of run + 2 fills%s at once\tevery chunk exactly "
                "once in its manifest\n",
                label, n, reindex ? " + reindex" : "");
        fclose(f);
    }
}

Test(concurrency, local_store, .init = setup, .fini = teardown, .timeout = 600)
{
    trials(g_dir, "local store", LOCAL_TRIALS);
}

Test(concurrency, rgw, .init = setup, .fini = teardown, .timeout = 600)
{
    /* the CTest fixture's file, or RC_RGW_ENV (tests/fault_matrix.py's own RGW) */
    char env[4200];
    const char *given = getenv("RC_RGW_ENV");
    snprintf(env, sizeof env, "%s", given && *given ? given : RC_BINARY_DIR "/rgw/env");
    rc_buf b = RC_BUF_INIT;
    if (rc_test_read_file(env, &b) != 0)
        cr_skip_test("SKIPPED: %s is absent (no RGW fixture), RGW concurrency not tested", env);
    /* "export NAME=value" lines */
    char *save = NULL;
    const char *bucket = NULL;
    for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "export ", 7) == 0) line += 7;
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = '\0';
        setenv(line, eq + 1, 1);
        if (strcmp(line, "RC_TEST_BUCKET") == 0) bucket = eq + 1;
    }
    cr_assert(bucket, "%s names no RC_TEST_BUCKET", env);
    char url[512];
    snprintf(url, sizeof url, "s3://%s/conc-%d", bucket, (int)getpid());
    trials(url, "RGW", RGW_TRIALS);
    rc_buf_free(&b);
}
