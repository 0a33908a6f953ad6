/*
 * test_shard.c: --shard I/N splits the work with no overlap and no gap.
 * N processes of `r2cache run --shard i/N`, started together on one machine
 * against the FDSN test server, leave exactly what one unsharded run leaves:
 * the same keys, the same blob bytes, the same manifests (timestamps aside),
 * every blob named by its manifest. Against the local store always, and
 * against RGW (downloaded with awscli) when build/rgw/env exists.
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

#define NOW "2025-11-04T06:02:00Z" /* builds the 00-06 h chunk and the last hour's windows */

static const char *chans[] = {"XX.AAA..HHZ",   "XX.BBB.00.BHZ", "XX.CCC..HHZ", "XX.DDD..EHZ",
                              "XX.EEE.10.HHZ", "XX.FFF..HHZ",   "XX.GGG..BHZ", "XX.HHH..HHZ"};
#define NCHANS 8

static char *g_dir;
static char g_config[4300];
static pid_t g_server = -1;
static int g_port;

static void setup(void)
{
    g_dir = rc_test_tmpdir("shard");
    cr_assert(g_dir);
    char cmd[16384];
    int n = snprintf(cmd, sizeof cmd,
                     "%s sds --out '%s/sds' --rate 100 --from 2025-11-04T00:00:00Z "
                     "--to 2025-11-04T07:00:00Z",
                     rc_test_bin("r2cache-synth"), g_dir);
    for (int i = 0; i < NCHANS; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " --chan %s", chans[i]);
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "synth: %s", err.data ? err.data : "");
    rc_buf_free(&err);
    char sds[4300];
    snprintf(sds, sizeof sds, "%s/sds", g_dir);
    g_server = rc_test_fdsn_start(sds, NULL, &g_port);
    cr_assert(g_server > 0, "FDSN test server did not start");
    char json[8192];
    n = snprintf(json, sizeof json,
                 "{\"source\": \"http://127.0.0.1:%d\",\n"
                 " \"run\": {\"retry_interval\": \"1s\", \"retry_max\": \"2s\"},\n"
                 " \"volcanoes\": [{\"name\": \"north\", \"stations\": [\n",
                 g_port);
    for (int i = 0; i < NCHANS; i++) {
        char net[8], sta[8], loc[8] = "", cha[8];
        const char *c = chans[i];
        sscanf(c, "%7[^.].%7[^.]", net, sta);
        const char *l = strchr(strchr(c, '.') + 1, '.') + 1;
        size_t ll = (size_t)(strchr(l, '.') - l);
        memcpy(loc, l, ll);
        loc[ll] = '\0';
        snprintf(cha, sizeof cha, "%s", strchr(l, '.') + 1);
        n += snprintf(json + n, sizeof json - (size_t)n,
                      "%s  {\"network\": \"%s\", \"station\": \"%s\", \"location\": \"%s\", "
                      "\"channel\": \"%s\", \"sample_rate\": 100}\n",
                      i == 4 ? "]}, {\"name\": \"south\", \"stations\": [\n" : (i ? "," : ""), net,
                      sta, loc, cha);
    }
    n += snprintf(json + n, sizeof json - (size_t)n, "]}]}\n");
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
}

static void teardown(void)
{
    rc_test_server_stop(g_server);
    g_server = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
}

/* ---- comparing two store trees ------------------------------------------ */

typedef struct list {
    char **v;
    size_t n, cap;
} list;

static void walk(const char *root, const char *rel, list *out)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        /* index/: inventory's summaries, a cache that records when it changed */
        if (!*rel && !strcmp(de->d_name, "index")) continue;
        char r[8192];
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", root, r);
        struct stat st;
        if (stat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            walk(root, r, out);
        } else {
            if (out->n == out->cap) {
                out->cap = out->cap ? 2 * out->cap : 64;
                out->v = realloc(out->v, out->cap * sizeof *out->v);
            }
            out->v[out->n++] = strdup(r);
        }
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_free(list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Timestamps say when, not what: drop every "*_at" member (and what follows from them). */
static void strip_times(cJSON *o)
{
    cJSON *c = o ? o->child : NULL;
    while (c) {
        cJSON *next = c->next;
        size_t kl = c->string ? strlen(c->string) : 0;
        /* a sidecar records its file's inode, and its manifest's etag and size,
         * which follow those timestamps; blob bytes are compared directly */
        if ((kl > 3 && strcmp(c->string + kl - 3, "_at") == 0) ||
            (c->string && (!strcmp(c->string, "inode") || !strcmp(c->string, "etag") ||
                           !strcmp(c->string, "size"))))
            cJSON_Delete(cJSON_DetachItemViaPointer(o, c));
        else
            strip_times(c);
        c = next;
    }
}

static char *normal_json(const char *path)
{
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(path, &b), 0);
    cJSON *o = cJSON_Parse(b.data ? b.data : "");
    cr_assert(o, "%s is not JSON", path);
    strip_times(o);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    rc_buf_free(&b);
    return s;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Same files, same blob bytes, same JSON; every blob named by a manifest
 * entry. Returns the number of blobs. */
static size_t assert_same_tree(const char *ref, const char *got)
{
    list a = {0}, b = {0};
    walk(ref, "", &a);
    walk(got, "", &b);
    qsort(a.v, a.n, sizeof *a.v, cmp_str);
    qsort(b.v, b.n, sizeof *b.v, cmp_str);
    for (size_t i = 0; i < a.n || i < b.n; i++) {
        cr_assert(i < a.n && i < b.n && strcmp(a.v[i], b.v[i]) == 0,
                  "key sets differ at %s (unsharded) vs %s (sharded)", i < a.n ? a.v[i] : "(end)",
                  i < b.n ? b.v[i] : "(end)");
    }
    size_t blobs = 0, entries = 0;
    for (size_t i = 0; i < a.n; i++) {
        char pa[8192], pb[8192];
        snprintf(pa, sizeof pa, "%s/%s", ref, a.v[i]);
        snprintf(pb, sizeof pb, "%s/%s", got, a.v[i]);
        const char *base = strrchr(a.v[i], '/') ? strrchr(a.v[i], '/') + 1 : a.v[i];
        if (ends_with(a.v[i], ".json")) {
            char *x = normal_json(pa), *y = normal_json(pb);
            cr_assert_str_eq(x, y, "%s differs", a.v[i]);
            if (base[0] != '.' && strncmp(a.v[i], "data/", 5) == 0) {
                cJSON *m = cJSON_Parse(x);
                cJSON *chunks = cJSON_GetObjectItemCaseSensitive(m, "chunks");
                for (cJSON *s = chunks ? chunks->child : NULL; s; s = s->next)
                    entries += (size_t)cJSON_GetArraySize(s);
                cJSON_Delete(m);
            }
            free(x);
            free(y);
        } else {
            rc_buf x = RC_BUF_INIT, y = RC_BUF_INIT;
            cr_assert_eq(rc_test_read_file(pa, &x), 0);
            cr_assert_eq(rc_test_read_file(pb, &y), 0);
            cr_assert(x.len == y.len && (x.len == 0 || memcmp(x.data, y.data, x.len) == 0),
                      "%s: bytes differ", a.v[i]);
            if (ends_with(a.v[i], ".bin.zst")) blobs++;
            rc_buf_free(&x);
            rc_buf_free(&y);
        }
    }
    cr_assert_eq(entries, blobs, "manifests name %zu chunks, the store holds %zu blobs", entries,
                 blobs);
    list_free(&a);
    list_free(&b);
    return blobs;
}

/* ---- running ------------------------------------------------------------ */

/* Start N sharded runs at once (plus the unsharded one when n == 0) into
 * store; wait for all; return the JSON summaries' channel lists. */
static void run_shards(const char *store, int n, const char *env, cJSON **sums)
{
    char cmd[32768];
    int k = snprintf(cmd, sizeof cmd, "cd '%s' || exit 1; ", g_dir);
    int count = n ? n : 1;
    for (int i = 0; i < count; i++) {
        char shard[32] = "";
        if (n) snprintf(shard, sizeof shard, "--shard %d/%d", i, n);
        k += snprintf(
            cmd + k, sizeof cmd - (size_t)k,
            "(%s %s run --config '%s' --store '%s' --now " NOW
            " --json --log-format json %s > out.%d.json 2> err.%d.txt; echo $? > rc.%d) & ",
            env ? env : "", rc_test_bin("r2cache"), g_config, store, shard, i, i, i);
    }
    snprintf(cmd + k, sizeof cmd - (size_t)k, "wait");
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    for (int i = 0; i < count; i++) {
        char p[4400];
        rc_buf b = RC_BUF_INIT, e = RC_BUF_INIT, rc = RC_BUF_INIT;
        snprintf(p, sizeof p, "%s/rc.%d", g_dir, i);
        rc_test_read_file(p, &rc);
        snprintf(p, sizeof p, "%s/err.%d.txt", g_dir, i);
        rc_test_read_file(p, &e);
        cr_assert(rc.data && atoi(rc.data) == 0, "shard %d/%d exited %s: %s", i, n,
                  rc.data ? rc.data : "?", e.data ? e.data : "");
        snprintf(p, sizeof p, "%s/out.%d.json", g_dir, i);
        rc_test_read_file(p, &b);
        sums[i] = cJSON_Parse(b.data ? b.data : "");
        cr_assert(sums[i], "shard %d printed no summary", i);
        rc_buf_free(&b);
        rc_buf_free(&e);
        rc_buf_free(&rc);
    }
}

/* The shards' channel lists partition the unsharded one. */
static void assert_partition(cJSON *whole, cJSON **parts, int n)
{
    int seen[NCHANS] = {0};
    int nonempty = 0;
    cJSON *st;
    for (int i = 0; i < n; i++) {
        int cnt = 0;
        cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(parts[i], "stations"))
        {
            const char *id = cJSON_GetObjectItemCaseSensitive(st, "channel")->valuestring;
            int found = -1;
            for (int c = 0; c < NCHANS; c++)
                if (strcmp(chans[c], id) == 0) found = c;
            cr_assert(found >= 0, "shard %d works on unknown channel %s", i, id);
            cr_assert_eq(seen[found], 0, "channel %s is in two shards", id);
            seen[found] = 1;
            cnt++;
        }
        nonempty += cnt > 0;
    }
    for (int c = 0; c < NCHANS; c++)
        cr_assert_eq(seen[c], 1, "channel %s is in no shard", chans[c]);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(whole, "stations")), NCHANS);
    cr_assert_geq(nonempty, 2, "the hash put every channel in one shard");
    double written = 0;
    for (int i = 0; i < n; i++)
        written += cJSON_GetObjectItemCaseSensitive(parts[i], "chunks_written")->valuedouble;
    cr_assert_eq(written, cJSON_GetObjectItemCaseSensitive(whole, "chunks_written")->valuedouble);
}

TestSuite(shard, .init = setup, .fini = teardown, .timeout = 300);

Test(shard, three_processes_equal_one_run_local_store)
{
    char ref[4400], got[4400];
    snprintf(ref, sizeof ref, "%s/ref", g_dir);
    snprintf(got, sizeof got, "%s/sharded", g_dir);
    cJSON *whole[1], *parts[3];
    run_shards(ref, 0, NULL, whole);
    run_shards(got, 3, NULL, parts);
    assert_partition(whole[0], parts, 3);
    size_t blobs = assert_same_tree(ref, got);
    /* at least, per channel, the last hour's 6 ten-minute chunks and the 6-hour one */
    cr_assert_geq(blobs, NCHANS * 7);
    cJSON_Delete(whole[0]);
    for (int i = 0; i < 3; i++)
        cJSON_Delete(parts[i]);
}

Test(shard, many_shards_some_empty_still_equal_one_run)
{
    char ref[4400], got[4400];
    snprintf(ref, sizeof ref, "%s/ref", g_dir);
    snprintf(got, sizeof got, "%s/sharded", g_dir);
    cJSON *whole[1], *parts[11];
    run_shards(ref, 0, NULL, whole);
    run_shards(got, 11, NULL, parts);
    assert_partition(whole[0], parts, 11);
    assert_same_tree(ref, got);
    cJSON_Delete(whole[0]);
    for (int i = 0; i < 11; i++)
        cJSON_Delete(parts[i]);
}

/* Same against S3 (RGW), downloaded with awscli for the comparison. */
Test(shard, three_processes_equal_one_run_rgw)
{
    char envf[4300];
    snprintf(envf, sizeof envf, "%s/rgw/env", RC_BINARY_DIR);
    if (access(envf, R_OK) != 0)
        cr_skip_test("SKIPPED: no RGW (%s); sharding checked on the local store only", envf);
    rc_buf out = RC_BUF_INIT;
    if (rc_test_sh("command -v aws", &out, NULL) != 0)
        cr_skip_test("SKIPPED: awscli absent; cannot download the RGW result to compare");
    rc_buf_free(&out);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "shard-%ld", (long)getpid());
    char ref[4400], got[4400];
    /* run_shards quotes the store URL: resolve the bucket name first */
    rc_buf bucket = RC_BUF_INIT;
    char q[4600];
    snprintf(q, sizeof q, ". '%s' && printf %%s \"$RC_TEST_BUCKET\"", envf);
    cr_assert_eq(rc_test_sh(q, &bucket, NULL), 0);
    snprintf(ref, sizeof ref, "s3://%s/%s/ref", bucket.data, prefix);
    snprintf(got, sizeof got, "s3://%s/%s/sharded", bucket.data, prefix);
    cJSON *whole[1], *parts[3];
    char envp[4600];
    snprintf(envp, sizeof envp, "set -a; . '%s'; set +a; ", envf);
    run_shards(ref, 0, envp, whole);
    run_shards(got, 3, envp, parts);
    assert_partition(whole[0], parts, 3);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "set -a; . '%s'; set +a; aws --endpoint-url \"$AWS_ENDPOINT_URL\" s3 sync --quiet "
             "'%s' '%s/dl-ref' && aws --endpoint-url \"$AWS_ENDPOINT_URL\" s3 sync --quiet '%s' "
             "'%s/dl-sharded'",
             envf, ref, g_dir, got, g_dir);
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "aws s3 sync: %s", err.data ? err.data : "");
    char dref[4400], dgot[4400];
    snprintf(dref, sizeof dref, "%s/dl-ref", g_dir);
    snprintf(dgot, sizeof dgot, "%s/dl-sharded", g_dir);
    size_t blobs = assert_same_tree(dref, dgot);
    cr_assert_geq(blobs, NCHANS * 7);
    rc_buf_free(&err);
    rc_buf_free(&bucket);
    cJSON_Delete(whole[0]);
    for (int i = 0; i < 3; i++)
        cJSON_Delete(parts[i]);
}
