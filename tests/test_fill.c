/*
 * test_fill.c: `r2cache fill` end to end: the real binary, the FDSN test
 * server (tests/fdsn_server.py) serving synthetic SDS archives
 * (tools/synth.c), and a store given by URL.
 *
 * The store is only reached through the store interface (list, get, put,
 * delete) by its URL, so the same tests can run against the S3 store: set
 * RC_FILL_STORE_URL to a base URL (for example s3://bucket/fill-tests) and
 * every test works under its own prefix of it. Without it the local store is
 * used, in a scratch directory, and the "writes nothing" checks also compare
 * every file's nanosecond mtime.
 *
 * Data sets (built once per build tree):
 *   XX.HOL..BHZ 10 Hz, 2 days, no gaps     holes, dry run, idempotence, faults
 *   XX.KIL..HHZ, XX.KIG..HHZ 20 Hz, 12 h    SIGKILL; KIG has a 60 s gap inside
 *                                           one 10-minute window (provisional)
 *   XX.GAP..HHZ 20 Hz, 6 h, three archives  upgrade: 60 s gap (A), 120 s gap (C),
 *                                           complete (B)
 */
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/store.h"
#include "r2cache/version.h"
#include "support.h"

static char *g_dir;
static char g_sds[4200], g_sds_full[4200], g_sds_less[4200];
static char g_store_url[4200];
static char g_store_dir[4200]; /* "" when the store is not local */
static char g_config[4200];
static pid_t g_server = -1;
static int g_port;

#define HOL_DIR "data/2025/11/XX/testvol/HOL//BHZ/"
#define HOL_DAY1 HOL_DIR "XX_HOL__BHZ_10Hz_2025-11-04.json"
#define HOL_DAY2 HOL_DIR "XX_HOL__BHZ_10Hz_2025-11-05.json"
#define GAP_DIR "data/2025/11/XX/testvol/GAP//HHZ/"
#define GAP_MANIFEST GAP_DIR "XX_GAP__HHZ_20Hz_2025-11-04.json"

static void make_sds(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/fill-sds", RC_BINARY_DIR);
    snprintf(g_sds_full, sizeof g_sds_full, "%s/test-tmp/fill-sds-full", RC_BINARY_DIR);
    snprintf(g_sds_less, sizeof g_sds_less, "%s/test-tmp/fill-sds-less", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete-2", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    const char *synth = rc_test_bin("r2cache-synth");
    char cmd[32768];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' '%s' '%s' && "
             "%s sds --out '%s' --rate 10 --from 2025-11-04 --to 2025-11-06 --chan XX.HOL..BHZ && "
             "%s sds --out '%s' --rate 20 --from 2025-11-04 --to 2025-11-04T12:00:00Z "
             "--chan XX.KIL..HHZ && "
             "%s sds --out '%s' --rate 20 --from 2025-11-04 --to 2025-11-04T12:00:00Z "
             "--chan XX.KIG..HHZ --gap 2025-11-04T03:12:10Z/2025-11-04T03:13:10Z && "
             "%s sds --out '%s' --rate 20 --from 2025-11-04 --to 2025-11-04T06:00:00Z "
             "--chan XX.GAP..HHZ --gap 2025-11-04T05:21:00Z/2025-11-04T05:22:00Z && "
             "%s sds --out '%s' --rate 20 --from 2025-11-04 --to 2025-11-04T06:00:00Z "
             "--chan XX.GAP..HHZ && "
             "%s sds --out '%s' --rate 20 --from 2025-11-04 --to 2025-11-04T06:00:00Z "
             "--chan XX.GAP..HHZ --gap 2025-11-04T05:21:00Z/2025-11-04T05:23:00Z && "
             /* gaps lying exactly on chunk boundaries: a whole 10-minute window, one across a
              * 6-hour boundary, one ending on a boundary, one starting on one */
             "%s sds --out '%s' --rate 20 --from 2025-11-04 --to 2025-11-04T12:00:00Z "
             "--chan XX.BND..HHZ --gap 2025-11-04T01:10:00Z/2025-11-04T01:20:00Z "
             "--gap 2025-11-04T05:50:00Z/2025-11-04T06:10:00Z "
             "--gap 2025-11-04T08:09:30Z/2025-11-04T08:10:00Z "
             "--gap 2025-11-04T09:00:00Z/2025-11-04T09:00:20Z && "
             "touch '%s'",
             g_sds, g_sds_full, g_sds_less, synth, g_sds, synth, g_sds, synth, g_sds, synth, g_sds,
             synth, g_sds_full, synth, g_sds_less, synth, g_sds, marker);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "r2cache-synth failed: %s", err.data ? err.data : "");
    rc_buf_free(&err);
}

/* The test configuration; extra is one more station object (or ""), kept out of the
 * shared list so that scope-wide commands in the other tests see only the four. */
static void write_config_with(int max_attempts, const char *extra)
{
    char json[8192];
    snprintf(
        json, sizeof json,
        "{\n"
        "  \"source\": \"http://127.0.0.1:%d\",\n"
        "  \"store\": \"%s\",\n"
        "  \"fetch\": {\"max_attempts\": %d, \"backoff_base_s\": 0.05, \"backoff_cap_s\": 2,\n"
        "             \"timeout_s\": 20, \"stall_timeout_s\": 2},\n"
        "  \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", \"stations\": [\n"
        "    {\"network\": \"XX\", \"station\": \"HOL\", \"location\": \"\", \"channel\": \"BHZ\", "
        "\"sample_rate\": 10},\n"
        "    {\"network\": \"XX\", \"station\": \"KIL\", \"location\": \"\", \"channel\": \"HHZ\", "
        "\"sample_rate\": 20},\n"
        "    {\"network\": \"XX\", \"station\": \"KIG\", \"location\": \"\", \"channel\": \"HHZ\", "
        "\"sample_rate\": 20},\n"
        "    {\"network\": \"XX\", \"station\": \"GAP\", \"location\": \"\", \"channel\": \"HHZ\", "
        "\"sample_rate\": 20}%s%s\n"
        "  ]}]\n}\n",
        g_port, g_store_url, max_attempts, *extra ? ",\n    " : "", extra);
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
}

static void write_config(int max_attempts)
{
    write_config_with(max_attempts, "");
}

static void setup(void)
{
    make_sds();
    g_dir = rc_test_tmpdir("fill");
    cr_assert(g_dir);
    const char *base = getenv("RC_FILL_STORE_URL");
    if (base && *base) {
        /* a fresh prefix per test: the scratch directory's unique name */
        const char *leaf = strrchr(g_dir, '/');
        snprintf(g_store_url, sizeof g_store_url, "%s/%s", base, leaf ? leaf + 1 : "t");
        g_store_dir[0] = '\0';
    } else {
        snprintf(g_store_dir, sizeof g_store_dir, "%s/store", g_dir);
        snprintf(g_store_url, sizeof g_store_url, "%s", g_store_dir);
    }
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    g_server = rc_test_fdsn_start(g_sds, NULL, &g_port);
    cr_assert(g_server > 0, "FDSN test server did not start");
    write_config(4);
}

static void teardown(void)
{
    rc_test_server_stop(g_server);
    g_server = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

/* --- the binary -------------------------------------------------------- */

/* fill --json; *sum is the parsed summary (NULL when none was printed). */
static int fill(const char *more, cJSON **sum, rc_buf *err_out)
{
    char args[4096];
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

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsString(v), "field %s missing", k);
    return v->valuestring;
}

static void server(const char *path, const char *body, rc_buf *out)
{
    char cmd[2048];
    if (body)
        snprintf(cmd, sizeof cmd, "curl -s -X POST -d '%s' http://127.0.0.1:%d%s", body, g_port,
                 path);
    else
        snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%d%s", g_port, path);
    cr_assert_eq(rc_test_sh(cmd, out, NULL), 0, "curl %s failed", path);
}

static int server_requests(void)
{
    rc_buf out = RC_BUF_INIT;
    server("/stats", NULL, &out);
    cJSON *s = cJSON_Parse(out.data);
    cr_assert(s, "no stats: %s", out.data);
    int n = (int)num(s, "requests");
    cJSON_Delete(s);
    rc_buf_free(&out);
    return n;
}

/* --- the store, by URL -------------------------------------------------- */

static rc_store *open_store(void)
{
    rc_store_opts so;
    rc_store_opts_default(&so);
    rc_store *st = NULL;
    rc_err e;
    cr_assert_eq(rc_store_open(g_store_url, &so, &st, &e), RC_OK, "%s", e.msg);
    return st;
}

typedef struct obj {
    char key[512];
    char etag[RC_ETAG_MAX];
    int64_t size;
} obj;

typedef struct snap {
    obj *v;
    size_t n, cap;
} snap;

static int snap_cb(void *ud, const rc_obj_info *o)
{
    snap *s = ud;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
    }
    obj *x = &s->v[s->n++];
    snprintf(x->key, sizeof x->key, "%s", o->key);
    snprintf(x->etag, sizeof x->etag, "%s", o->etag);
    x->size = o->size;
    return 0;
}

/* Every key under data/ with its ETag (a hash of the body on either store). */
static snap take_snap(void)
{
    snap s = {0};
    rc_store *st = open_store();
    rc_err e;
    cr_assert_eq(rc_store_list(st, "data/", snap_cb, &s, &e), RC_OK, "%s", e.msg);
    rc_store_close(st);
    return s;
}

static size_t count_keys(void)
{
    snap s = take_snap();
    size_t n = s.n;
    free(s.v);
    return n;
}

/* 1 when key is stored, else 0. */
static int count_keys_named(const char *key)
{
    rc_store *st = open_store();
    rc_obj_info info;
    rc_err e;
    int rc = rc_store_head(st, key, &info, &e);
    rc_store_close(st);
    return rc == RC_OK;
}

static int is_manifest(const char *key)
{
    size_t n = strlen(key);
    return n > 5 && strcmp(key + n - 5, ".json") == 0;
}

static cJSON *get_json(const char *key)
{
    rc_store *st = open_store();
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    cr_assert_eq(rc_store_get(st, key, &b, NULL, &e), RC_OK, "%s: %s", key, e.msg);
    rc_store_close(st);
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    cr_assert(j, "%s is not JSON", key);
    rc_buf_free(&b);
    return j;
}

static void put_json(const char *key, const cJSON *j)
{
    char *txt = cJSON_Print(j);
    rc_store *st = open_store();
    rc_obj_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.content_type, sizeof meta.content_type, "application/json");
    rc_put_opts po = {&meta, NULL, 0};
    rc_err e;
    cr_assert_eq(rc_store_put(st, key, txt, strlen(txt), &po, NULL, &e), RC_OK, "%s", e.msg);
    rc_store_close(st);
    free(txt);
}

static void del_key(const char *key)
{
    rc_store *st = open_store();
    rc_err e;
    cr_assert_eq(rc_store_delete(st, key, &e), RC_OK, "%s", e.msg);
    rc_store_close(st);
}

/* Timestamps differ between runs by design; everything else must not. */
static void strip_times(cJSON *j)
{
    /* the record of what the source was asked and when is history, not data */
    if (cJSON_IsObject(j)) cJSON_DeleteItemFromObjectCaseSensitive(j, "source_empty");
    if (!j) return;
    if (cJSON_IsObject(j)) {
        cJSON_DeleteItemFromObjectCaseSensitive(j, "written_at");
        cJSON_DeleteItemFromObjectCaseSensitive(j, "created_at");
        cJSON_DeleteItemFromObjectCaseSensitive(j, "updated_at");
    }
    cJSON *c;
    cJSON_ArrayForEach(c, j) strip_times(c);
}

/* Same keys, same blob bytes (same ETag), manifests equal apart from timestamps. */
static void assert_same_store(const snap *a, const snap *b, const char *what)
{
    cr_assert_eq(a->n, b->n, "%s: %zu keys, expected %zu", what, b->n, a->n);
    for (size_t i = 0; i < a->n; i++) {
        cr_assert_str_eq(a->v[i].key, b->v[i].key, "%s: key %zu", what, i);
        if (!is_manifest(a->v[i].key)) {
            cr_assert_str_eq(a->v[i].etag, b->v[i].etag, "%s: blob %s differs", what, a->v[i].key);
            cr_assert_eq(a->v[i].size, b->v[i].size);
        }
    }
}

static void assert_same_manifests(cJSON **ref, const snap *s, const char *what)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!is_manifest(s->v[i].key)) continue;
        cJSON *m = get_json(s->v[i].key);
        strip_times(m);
        cr_assert(ref[k], "%s: unexpected manifest %s", what, s->v[i].key);
        if (!cJSON_Compare(ref[k], m, 1)) {
            char *x = cJSON_Print(ref[k]), *y = cJSON_Print(m);
            cr_assert_fail("%s: manifest %s differs:\nexpected %.3000s\ngot %.3000s", what,
                           s->v[i].key, x, y);
        }
        cJSON_Delete(m);
        k++;
    }
}

static cJSON **manifests_of(const snap *s)
{
    cJSON **v = calloc(s->n + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (is_manifest(s->v[i].key)) {
            v[k] = get_json(s->v[i].key);
            strip_times(v[k++]);
        }
    return v;
}

static void free_manifests(cJSON **v)
{
    for (size_t k = 0; v[k]; k++)
        cJSON_Delete(v[k]);
    free(v);
}

/* Local store only: every file's path and nanosecond mtime, sidecars included. */
static rc_buf g_walk;
static int walk_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)f;
    if (type == FTW_F)
        rc_buf_printf(&g_walk, "%s %lld.%09ld %lld\n", p, (long long)st->st_mtim.tv_sec,
                      st->st_mtim.tv_nsec, (long long)st->st_size);
    return 0;
}

static char *mtimes(void)
{
    if (!g_store_dir[0]) return strdup("");
    rc_buf_free(&g_walk);
    g_walk = (rc_buf)RC_BUF_INIT;
    nftw(g_store_dir, walk_cb, 16, FTW_PHYS);
    char *s = strdup(g_walk.data ? g_walk.data : "");
    rc_buf_free(&g_walk);
    return s;
}

static void clear_store(void)
{
    snap s = take_snap();
    for (size_t i = 0; i < s.n; i++)
        del_key(s.v[i].key);
    free(s.v);
    cr_assert_eq(count_keys(), 0);
}

/* Remove chunk entries of one span from a stored manifest. */
static void drop_entries(const char *mkey, const char *list, const char *const *starts, size_t n)
{
    cJSON *m = get_json(mkey);
    cJSON *l =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "chunks"), list);
    cr_assert(cJSON_IsArray(l));
    for (size_t k = 0; k < n; k++) {
        int idx = 0, found = -1;
        const cJSON *it;
        cJSON_ArrayForEach(it, l)
        {
            if (strcmp(str(it, "start"), starts[k]) == 0) found = idx;
            idx++;
        }
        cr_assert(found >= 0, "no entry %s in %s", starts[k], mkey);
        cJSON_DeleteItemFromArray(l, found);
    }
    put_json(mkey, m);
    cJSON_Delete(m);
}

static void hol_key(char *out, size_t cap, const char *day, int h, int m, int span_min)
{
    int e = h * 60 + m + span_min;
    const char *eday = day;
    char nextday[16];
    if (e >= 24 * 60) {
        e -= 24 * 60;
        snprintf(nextday, sizeof nextday, "%.8s%02d", day, atoi(day + 8) + 1);
        eday = nextday;
    }
    snprintf(out, cap, HOL_DIR "XX_HOL__BHZ_10Hz_%s-%02d-%02d-00_to_%s-%02d-%02d-00.bin.zst", day,
             h, m, eday, e / 60, e % 60);
}

TestSuite(fill, .init = setup, .fini = teardown, .timeout = 300);

/* --- holes of every severity, gaps before and after, exact keys --------- */

static const cJSON *gap_at(const cJSON *g, int i)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(g, "gaps");
    cr_assert(cJSON_IsArray(arr));
    const cJSON *x = cJSON_GetArrayItem(arr, i);
    cr_assert(x, "no gap %d", i);
    return x;
}

static void assert_gap(const cJSON *x, const char *span, const char *start, const char *end,
                       int windows, const char *sev)
{
    cr_assert_str_eq(str(x, "channel"), "XX.HOL..BHZ");
    cr_assert_str_eq(str(x, "span"), span);
    cr_assert_str_eq(str(x, "start"), start);
    cr_assert_str_eq(str(x, "end"), end);
    cr_assert_eq(num(x, "windows"), windows, "%s: %g windows", start, num(x, "windows"));
    cr_assert_str_eq(str(x, "severity"), sev, "%s: %s", start, str(x, "severity"));
}

static int gaps_json(const char *more, cJSON **out)
{
    char args[4096];
    snprintf(args, sizeof args,
             "gaps --config '%s' --station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-06 "
             "--now 2025-11-07 --json --log-format text %s",
             g_config, more);
    rc_buf o = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_r2cache(args, &o, &err);
    *out = o.data ? cJSON_Parse(o.data) : NULL;
    cr_assert(*out, "gaps printed no JSON (exit %d): %s", rc, err.data);
    rc_buf_free(&o);
    rc_buf_free(&err);
    return rc;
}

/* Punch the holes of the test below; returns the deleted keys. */
static size_t punch_holes(char (*deleted)[512])
{
    size_t nd = 0;
    char key[512];
    /* minor: 01:00-01:30; moderate: 04:00-07:00; critical: day 1 20:00 to day 2 10:00 */
    struct {
        const char *day;
        int h0, h1;
    } runs[] = {{"2025-11-04", 60, 90},
                {"2025-11-04", 240, 420},
                {"2025-11-04", 1200, 1440},
                {"2025-11-05", 0, 600}};
    for (size_t r = 0; r < 4; r++) {
        const char *starts[200];
        char sbuf[200][16];
        size_t n = 0;
        for (int m = runs[r].h0; m < runs[r].h1; m += 10) {
            hol_key(key, sizeof key, runs[r].day, m / 60, m % 60, 10);
            del_key(key);
            snprintf(deleted[nd++], 512, "%s", key);
            snprintf(sbuf[n], 16, "%02d:%02d:00", m / 60, m % 60);
            starts[n] = sbuf[n];
            n++;
        }
        drop_entries(strcmp(runs[r].day, "2025-11-04") ? HOL_DAY2 : HOL_DAY1, "10min", starts, n);
    }
    /* the 6-hour chunk of day 2 00:00-06:00 (a moderate 6 h gap of its own span) */
    hol_key(key, sizeof key, "2025-11-05", 0, 0, 360);
    del_key(key);
    snprintf(deleted[nd++], 512, "%s", key);
    const char *s6[] = {"00:00:00"};
    drop_entries(HOL_DAY2, "6h", s6, 1);
    /* a lost blob whose entry remains: day 2 15:00 */
    hol_key(key, sizeof key, "2025-11-05", 15, 0, 10);
    del_key(key);
    snprintf(deleted[nd++], 512, "%s", key);
    /* a lost entry whose blob remains: day 1 12:00 (unindexed, not missing) */
    const char *s12[] = {"12:00:00"};
    drop_entries(HOL_DAY1, "10min", s12, 1);
    return nd;
}

Test(fill, holes_of_every_severity_are_reported_then_filled_exactly)
{
    cJSON *sum = NULL;
    int rc = fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-06", &sum, NULL);
    cr_assert_eq(rc, 0, "first fill: exit %d", rc);
    cr_assert_eq(num(sum, "chunks_added"), 2 * (144 + 4));
    cJSON_Delete(sum);
    snap full = take_snap();
    cr_assert_eq(full.n, 2 * (144 + 4) + 2);
    cJSON **full_m = manifests_of(&full);

    static char deleted[256][512];
    size_t nd = punch_holes(deleted);
    cr_assert_eq(nd, 3 + 18 + 24 + 60 + 1 + 1);

    cJSON *g = NULL;
    rc = gaps_json("", &g);
    cr_assert_eq(rc, 1, "a critical gap must give exit 1, got %d", rc);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "critical")));
    cr_assert_str_eq(str(g, "command"), "gaps");
    cr_assert_str_eq(str(g, "status"), "damaged");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(g, "gaps")), 5);
    assert_gap(gap_at(g, 0), "10m", "2025-11-04T01:00:00Z", "2025-11-04T01:30:00Z", 3, "minor");
    assert_gap(gap_at(g, 1), "10m", "2025-11-04T04:00:00Z", "2025-11-04T07:00:00Z", 18, "moderate");
    assert_gap(gap_at(g, 2), "10m", "2025-11-04T20:00:00Z", "2025-11-05T10:00:00Z", 84, "critical");
    assert_gap(gap_at(g, 3), "10m", "2025-11-05T15:00:00Z", "2025-11-05T15:10:00Z", 1, "minor");
    cr_assert_eq(num(gap_at(g, 3), "entries_without_blob"), 1);
    assert_gap(gap_at(g, 4), "6h", "2025-11-05T00:00:00Z", "2025-11-05T06:00:00Z", 1, "moderate");
    const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(g, "counts");
    cr_assert_eq(num(cnt, "minor"), 2);
    cr_assert_eq(num(cnt, "moderate"), 2);
    cr_assert_eq(num(cnt, "critical"), 1);
    cr_assert_eq(num(g, "windows_expected"), 296);
    cr_assert_eq(num(g, "windows_missing"), 107);
    cr_assert_eq(num(g, "windows_unindexed"), 1);
    const cJSON *un = cJSON_GetObjectItemCaseSensitive(g, "unindexed");
    cr_assert_eq(cJSON_GetArraySize(un), 1);
    cr_assert_str_eq(str(cJSON_GetArrayItem(un, 0), "start"), "2025-11-04T12:00:00Z");
    cJSON_Delete(g);
    /* thresholds are settings: with critical > 24 h the 14 h gap is moderate, exit 0 */
    rc = gaps_json("--critical-hours 24", &g);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(str(g, "status"), "complete");
    cr_assert_str_eq(str(gap_at(g, 2), "severity"), "moderate");
    cJSON_Delete(g);

    snap holed = take_snap();
    server("/reset-stats", "{}", NULL);
    rc = fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-06", &sum, NULL);
    cr_assert_eq(rc, 0, "fill: exit %d", rc);
    cr_assert_str_eq(str(sum, "status"), "complete");
    cr_assert_str_eq(str(sum, "command"), "fill");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(sum, "dry_run")));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(sum, "lines_detail"));
    cr_assert_eq(num(sum, "chunks_added"), 107);
    cr_assert_eq(num(sum, "chunks_requested"), 108); /* 107 fetched + 1 re-indexed */
    cr_assert_eq(num(sum, "chunks_reindexed"), 1);
    cr_assert_eq(num(sum, "chunks_skipped_present"), 296 - 108);
    cr_assert_eq(num(sum, "chunks_failed"), 0);
    cr_assert_eq(num(sum, "manifests_written"), 2); /* once per channel-day */
    /* one bulk request holds the five runs of missing windows */
    cr_assert_eq(num(sum, "requests"), 1);
    cr_assert_eq(server_requests(), 1);
    cJSON_Delete(sum);

    /* exactly the deleted keys came back, nothing else was added */
    snap after = take_snap();
    cr_assert_eq(after.n, holed.n + nd);
    size_t added = 0;
    for (size_t i = 0, j = 0; i < after.n; i++) {
        if (j < holed.n && strcmp(after.v[i].key, holed.v[j].key) == 0) {
            j++;
            continue;
        }
        int was_deleted = 0;
        for (size_t k = 0; k < nd; k++)
            was_deleted |= strcmp(deleted[k], after.v[i].key) == 0;
        cr_assert(was_deleted, "unexpected key %s", after.v[i].key);
        added++;
    }
    cr_assert_eq(added, nd);
    /* and the store is what the first fill made: same blobs byte for byte,
     * manifests equal apart from timestamps */
    assert_same_store(&full, &after, "after the fill");
    assert_same_manifests(full_m, &after, "after the fill");

    rc = gaps_json("", &g);
    cr_assert_eq(rc, 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(g, "gaps")), 0);
    cr_assert_eq(num(g, "windows_missing"), 0);
    cr_assert_eq(num(g, "windows_unindexed"), 0);
    cJSON_Delete(g);
    free_manifests(full_m);
    free(full.v);
    free(holed.v);
    free(after.v);
}

Test(fill, auto_fills_only_the_gaps_longer_than_max_gap_hours)
{
    cJSON *sum = NULL;
    cr_assert_eq(fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-06", &sum, NULL), 0);
    cJSON_Delete(sum);
    static char deleted[256][512];
    punch_holes(deleted);
    /* the 2-hourly recovery job: only the 14 h gap is longer than 6 h */
    int rc = fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-06 --auto "
                  "--max-gap-hours 6",
                  &sum, NULL);
    cr_assert_eq(rc, 0, "fill --auto: exit %d", rc);
    /* its 84 ten-minute windows and the 6-hour chunk of day 2 00-06 it covers */
    cr_assert_eq(num(sum, "chunks_added"), 85);
    cr_assert_eq(num(sum, "chunks_failed"), 0);
    cJSON_Delete(sum);
    char key[512];
    hol_key(key, sizeof key, "2025-11-04", 20, 0, 10);
    cr_assert_eq(count_keys_named(key), 1);
    hol_key(key, sizeof key, "2025-11-04", 1, 0, 10); /* the minor gap stays */
    cr_assert_eq(count_keys_named(key), 0);
    cJSON *g = NULL;
    rc = gaps_json("", &g);
    cr_assert_eq(rc, 0, "no critical gap is left");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(g, "gaps")), 3);
    assert_gap(gap_at(g, 0), "10m", "2025-11-04T01:00:00Z", "2025-11-04T01:30:00Z", 3, "minor");
    assert_gap(gap_at(g, 1), "10m", "2025-11-04T04:00:00Z", "2025-11-04T07:00:00Z", 18, "moderate");
    assert_gap(gap_at(g, 2), "10m", "2025-11-05T15:00:00Z", "2025-11-05T15:10:00Z", 1, "minor");
    cJSON_Delete(g);
}

Test(fill, second_identical_fill_writes_nothing)
{
    cJSON *sum = NULL;
    cr_assert_eq(fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-05", &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_added"), 148);
    cJSON_Delete(sum);
    snap a = take_snap();
    char *ma = mtimes();
    server("/reset-stats", "{}", NULL);
    cr_assert_eq(fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-05", &sum, NULL), 0);
    cr_assert_str_eq(str(sum, "status"), "complete");
    cr_assert_eq(num(sum, "chunks_added"), 0);
    cr_assert_eq(num(sum, "chunks_requested"), 0);
    cr_assert_eq(num(sum, "chunks_skipped_present"), 148);
    cr_assert_eq(num(sum, "manifests_written"), 0);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(sum, "metadata_updated")));
    cr_assert_eq(num(sum, "requests"), 0);
    cJSON_Delete(sum);
    cr_assert_eq(server_requests(), 0);
    snap b = take_snap();
    assert_same_store(&a, &b, "second fill");
    char *mb = mtimes();
    cr_assert_str_eq(ma, mb, "the second fill touched files");
    free(ma);
    free(mb);
    free(a.v);
    free(b.v);
}

Test(fill, dry_run_prints_the_plan_and_changes_nothing)
{
    if (g_store_dir[0]) {
        /* against a local store that does not exist yet: the plan, and no directory */
        struct stat st;
        cr_assert_neq(stat(g_store_dir, &st), 0);
        cr_assert_eq(
            fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-05 --dry-run", NULL, NULL),
            0);
        cr_assert_neq(stat(g_store_dir, &st), 0, "the dry run created %s", g_store_dir);
    }
    cr_assert_eq(fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-06", NULL, NULL), 0);
    static char deleted[256][512];
    punch_holes(deleted);
    snap a = take_snap();
    char *ma = mtimes();
    server("/reset-stats", "{}", NULL);

    char args[4096];
    snprintf(args, sizeof args,
             "fill --config '%s' --station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-06 --dry-run",
             g_config);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_r2cache(args, &out, NULL), 0);
    cr_assert(strstr(out.data, "plan 2025-11-04T00:00:00Z .. 2025-11-06T00:00:00Z: 296 windows, "
                               "107 to fetch, 188 present, 1 to re-index from blobs; 1 requests "
                               "(5 lines), about "),
              "plan: %s", out.data);
    cr_assert(strstr(out.data, "  fetch XX.HOL..BHZ        2025-11-04T04:00:00Z .. "
                               "2025-11-04T07:00:00Z\n"),
              "plan: %s", out.data);
    rc_buf_free(&out);

    cJSON *p = NULL;
    cr_assert_eq(
        fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-06 --dry-run", &p, NULL), 0);
    cr_assert(p);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "dry_run")));
    cr_assert_eq(num(p, "windows"), 296);
    cr_assert_eq(num(p, "missing"), 107);
    cr_assert_eq(num(p, "reindex"), 1);
    cr_assert_eq(num(p, "requests"), 1);
    cr_assert_eq(num(p, "lines"), 5);
    /* 10 Hz x (30 + 180 + 240 + 600 + 10 min) x 60 s x 1.5 bytes */
    cr_assert_eq(num(p, "estimated_bytes"), 10.0 * 1060 * 60 * 1.5);
    const cJSON *ld = cJSON_GetObjectItemCaseSensitive(p, "lines_detail");
    const char *want[5][2] = {{"2025-11-04T01:00:00Z", "2025-11-04T01:30:00Z"},
                              {"2025-11-04T04:00:00Z", "2025-11-04T07:00:00Z"},
                              {"2025-11-04T20:00:00Z", "2025-11-05T00:00:00Z"},
                              {"2025-11-05T00:00:00Z", "2025-11-05T10:00:00Z"},
                              {"2025-11-05T15:00:00Z", "2025-11-05T15:10:00Z"}};
    cr_assert_eq(cJSON_GetArraySize(ld), 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_str_eq(str(cJSON_GetArrayItem(ld, i), "start"), want[i][0]);
        cr_assert_str_eq(str(cJSON_GetArrayItem(ld, i), "end"), want[i][1]);
    }
    /* the fill's own fields, with the counts the fill would produce */
    cr_assert_str_eq(p->child->string, "command", "command is not the first field");
    cr_assert_str_eq(str(p, "command"), "fill");
    cr_assert_str_eq(str(p, "version"), R2CACHE_VERSION);
    cr_assert_str_eq(str(p, "status"), "complete");
    cr_assert_eq(num(p, "chunks_requested"), 107);
    cr_assert_eq(num(p, "chunks_added"), 107);
    cr_assert_eq(num(p, "chunks_skipped_present"), 188);
    cr_assert_eq(num(p, "chunks_reindexed"), 1);
    cr_assert_eq(num(p, "chunks_failed"), 0);
    cr_assert_eq(num(p, "bytes_fetched"), 10.0 * 1060 * 60 * 1.5);
    cr_assert_eq(num(p, "bytes_written"), 0);
    cr_assert_eq(num(p, "manifests_written"), 0);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p, "metadata_updated")));
    cJSON_Delete(p);

    cr_assert_eq(server_requests(), 0, "a dry run asked the data centre");
    snap b = take_snap();
    assert_same_store(&a, &b, "dry run");
    char *mb = mtimes();
    cr_assert_str_eq(ma, mb, "the dry run touched files");
    free(ma);
    free(mb);
    free(a.v);
    free(b.v);
}

Test(fill, invalid_input_is_refused_before_any_request)
{
    struct {
        const char *args, *msg;
    } cases[] = {
        {"--from 2025-11-05 --to 2025-11-04", "--to (2025-11-04T00:00:00Z) is not after --from "
                                              "(2025-11-05T00:00:00Z)"},
        {"--station XX.NOPE..HHZ --from 2025-11-04 --to 2025-11-05",
         "XX.NOPE..HHZ is not in the configuration"},
        {"--from 2024-01-01 --to 2025-11-04", "longer than the limit of 366.0 days"},
        {"--from 2025-11-04 --to 2025-11-06 --max-range 1d", "longer than the limit of 1.0 days"},
        {"--from yesterday", "--from"},
        {"--to 2025-11-05", "--from is required"},
        {"--from 2025-11-04 --to 2025-11-05 --force --upgrade", "exclude each other"},
        {"--from 2025-11-04 --to 2025-11-05 --auto --max-gap-hours nan",
         "--max-gap-hours nan: give a number of hours"},
        {"--from 2025-11-04 --to 2025-11-05 --auto --max-gap-hours inf",
         "--max-gap-hours inf: give a number of hours"},
        {"--from 9999-12-30 --to 9999-12-31T23:59:59Z",
         "--to: time '9999-12-31T23:59:59Z' is outside 0001-01-01 .. 9999-12-30"},
    };
    server("/reset-stats", "{}", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc_buf err = RC_BUF_INIT;
        int rc = fill(cases[i].args, NULL, &err);
        cr_assert_eq(rc, 2, "%s: exit %d", cases[i].args, rc);
        cr_assert(err.data && strstr(err.data, cases[i].msg), "%s: message: %s", cases[i].args,
                  err.data);
        rc_buf_free(&err);
    }
    cr_assert_eq(server_requests(), 0, "the data centre was asked");
    cr_assert_eq(count_keys(), 0);
}

/* --- SIGKILL at many points, then a rerun ------------------------------- */

static pid_t start_fill(const char *more)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "exec %s fill --config '%s' --log-format text %s >/dev/null 2>&1",
             rc_test_bin("r2cache"), g_config, more);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(fill, sigkill_at_any_point_then_rerun_equals_an_uninterrupted_fill, .timeout = 400)
{
    const char *range = "--station XX.KIL..HHZ --station XX.KIG..HHZ --from 2025-11-04 "
                        "--to 2025-11-04T06:00:00Z";
    cJSON *sum = NULL;
    cr_assert_eq(fill(range, &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_added"), 2 * (36 + 1));
    cr_assert_eq(num(sum, "chunks_provisional"), 2); /* KIG 03:10 and its 6 h chunk */
    cJSON_Delete(sum);
    snap ref = take_snap();
    cr_assert_eq(ref.n, 2 * (36 + 1) + 2);
    cJSON **ref_m = manifests_of(&ref);

    /* kill points: by elapsed time (ms, negative = by keys stored) */
    const int points[] = {0, 40, 120, 250, -1, -8, -20, -30, -40, -50, -60, -70};
    const size_t np = sizeof points / sizeof points[0];
    int killed_mid_way = 0;
    for (size_t i = 0; i < np; i++) {
        clear_store();
        pid_t pid = start_fill(range);
        double t0 = now_s();
        int status = 0;
        int done = 0;
        for (;;) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                done = 1;
                break;
            }
            if (points[i] >= 0 && (now_s() - t0) * 1000 >= points[i]) break;
            if (points[i] < 0 && count_keys() >= (size_t)-points[i]) break;
            if (now_s() - t0 > 60) cr_assert_fail("kill point %d never reached", points[i]);
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (!done) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            killed_mid_way += WIFSIGNALED(status);
        }
        size_t had = count_keys();
        rc_buf err = RC_BUF_INIT;
        int rc = fill(range, &sum, &err);
        cr_assert_eq(rc, 0, "rerun after kill point %d (%zu keys stored): exit %d: %s", points[i],
                     had, rc, err.data);
        rc_buf_free(&err);
        cr_assert_eq(num(sum, "chunks_failed"), 0);
        /* nothing stored is fetched again */
        cr_assert(num(sum, "chunks_added") <= 74 - (double)(had > 2 ? had - 2 : 0),
                  "kill point %d: %g added with %zu keys already stored", points[i],
                  num(sum, "chunks_added"), had);
        cJSON_Delete(sum);
        snap s = take_snap();
        char what[64];
        snprintf(what, sizeof what, "kill point %d", points[i]);
        assert_same_store(&ref, &s, what);
        assert_same_manifests(ref_m, &s, what);
        free(s.v);
    }
    cr_assert(killed_mid_way >= 10, "only %d fills were killed mid-way", killed_mid_way);
    free_manifests(ref_m);
    free(ref.v);
}

/* A fill resumed in pieces over gaps lying exactly on chunk boundaries stores the same
 * bytes and the same manifest entries as one uninterrupted fill: the resumed requests
 * start and end on those boundaries, so an empty window, a window whose data stops or
 * starts on its edge, and a 6-hour chunk assembled from either must not depend on
 * where the pieces were cut. */
Test(fill, resumed_pieces_over_boundary_gaps_equal_one_uninterrupted_fill)
{
    write_config_with(4, "{\"network\": \"XX\", \"station\": \"BND\", \"location\": \"\", "
                         "\"channel\": \"HHZ\", \"sample_rate\": 20}");
    const char *st = "--station XX.BND..HHZ";
    char more[512];
    snprintf(more, sizeof more, "%s --from 2025-11-04 --to 2025-11-04T12:00:00Z", st);
    cJSON *sum = NULL;
    cr_assert_eq(fill(more, &sum, NULL), 0);
    /* 72 ten-minute windows less the empty 01:10, 05:50 and 06:00, plus two 6-hour chunks */
    cr_assert_eq(num(sum, "chunks_added"), 72 - 3 + 2);
    cJSON_Delete(sum);
    snap ref = take_snap();
    cr_assert_eq(ref.n, 72 - 3 + 2 + 1);
    cJSON **ref_m = manifests_of(&ref);

    /* each row: the pieces filled first (in this order), then the whole range */
    static const char *const orders[][4] = {
        {"2025-11-04T00:00:00Z/2025-11-04T01:10:00Z", NULL},
        {"2025-11-04T01:20:00Z/2025-11-04T03:00:00Z", "2025-11-04T06:10:00Z/2025-11-04T08:10:00Z",
         NULL},
        {"2025-11-04T05:50:00Z/2025-11-04T06:10:00Z", "2025-11-04T09:00:00Z/2025-11-04T12:00:00Z",
         "2025-11-04T01:10:00Z/2025-11-04T01:20:00Z", NULL},
        {"2025-11-04T08:10:00Z/2025-11-04T09:00:00Z", "2025-11-04T00:00:00Z/2025-11-04T05:50:00Z",
         NULL},
    };
    for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
        clear_store();
        for (size_t k = 0; orders[o][k]; k++) {
            char from[32], to[32];
            cr_assert_eq(sscanf(orders[o][k], "%31[^/]/%31s", from, to), 2);
            snprintf(more, sizeof more, "%s --from %s --to %s", st, from, to);
            cr_assert_eq(fill(more, NULL, NULL), 0, "piece %s", orders[o][k]);
        }
        snprintf(more, sizeof more, "%s --from 2025-11-04 --to 2025-11-04T12:00:00Z", st);
        cr_assert_eq(fill(more, &sum, NULL), 0);
        cr_assert_eq(num(sum, "chunks_failed"), 0);
        cJSON_Delete(sum);
        snap s = take_snap();
        char what[64];
        snprintf(what, sizeof what, "order %zu", o);
        assert_same_store(&ref, &s, what);
        assert_same_manifests(ref_m, &s, what);
        free(s.v);
    }
    free_manifests(ref_m);
    free(ref.v);
}

Test(fill, sigterm_stops_cleanly_and_a_rerun_finishes)
{
    server("/control", "{\"delay_ms\": 300}", NULL);
    pid_t pid = start_fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-06 "
                           "--batch-days 1");
    struct timespec ts = {0, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status), "killed by the signal instead of stopping");
    cr_assert(WEXITSTATUS(status) == 1 || WEXITSTATUS(status) == 0, "exit %d", WEXITSTATUS(status));
    server("/control", "{\"delay_ms\": 0}", NULL);
    cJSON *sum = NULL;
    cr_assert_eq(fill("--station XX.HOL..BHZ --from 2025-11-04 --to 2025-11-06", &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_added") + num(sum, "chunks_reindexed") +
                     num(sum, "chunks_skipped_present"),
                 296);
    cJSON_Delete(sum);
    cr_assert_eq(count_keys(), 298);
}

/* --- upgrade ------------------------------------------------------------ */

static const cJSON *entry(const cJSON *m, const char *list, const char *start)
{
    const cJSON *l =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "chunks"), list);
    const cJSON *it;
    cJSON_ArrayForEach(it, l) if (strcmp(str(it, "start"), start) == 0) return it;
    cr_assert_fail("no %s entry %s", list, start);
    return NULL;
}

Test(fill, provisional_chunk_is_upgraded_with_an_audit_trail_and_never_downgraded)
{
    const char *range = "--station XX.GAP..HHZ --from 2025-11-04 --to 2025-11-04T06:00:00Z";
    cJSON *sum = NULL;
    cr_assert_eq(fill(range, &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_added"), 37);
    cr_assert_eq(num(sum, "chunks_provisional"), 2);
    cJSON_Delete(sum);
    cJSON *m0 = get_json(GAP_MANIFEST);
    const cJSON *e0 = entry(m0, "10min", "05:20:00");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e0, "provisional")));
    cr_assert_float_eq(num(e0, "completeness"), 0.9, 1e-9);
    char sha0[80];
    snprintf(sha0, sizeof sha0, "%s", str(e0, "sha256"));

    /* not settled yet: the default settle time is 3 days */
    char more[8192];
    snprintf(more, sizeof more, "%s --upgrade --source 'sds://%s'", range, g_sds_full);
    cr_assert_eq(fill(more, &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_added"), 0);
    cJSON_Delete(sum);

    /* a source with less data: the upgrade is refused and the entry kept */
    snprintf(more, sizeof more, "%s --upgrade --settle 0s --source 'sds://%s'", range, g_sds_less);
    cr_assert_eq(fill(more, &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_added"), 0);
    cr_assert_eq(num(sum, "chunks_kept"), 2);
    cJSON_Delete(sum);
    cJSON *m1 = get_json(GAP_MANIFEST);
    strip_times(m0);
    strip_times(m1);
    cr_assert(cJSON_Compare(m0, m1, 1), "a less complete upgrade changed the manifest");
    cJSON_Delete(m1);

    /* the full data: both provisional chunks (10 min and 6 h) are replaced */
    snprintf(more, sizeof more, "%s --upgrade --settle 0s --source 'sds://%s'", range, g_sds_full);
    cr_assert_eq(fill(more, &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_added"), 2);
    cr_assert_eq(num(sum, "chunks_provisional"), 0);
    cr_assert_eq(num(sum, "manifests_written"), 1);
    cJSON_Delete(sum);
    cJSON *m2 = get_json(GAP_MANIFEST);
    const cJSON *e2 = entry(m2, "10min", "05:20:00");
    cr_assert(!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e2, "provisional")));
    cr_assert_eq(num(e2, "completeness"), 1);
    cr_assert_eq(num(e2, "gap_samples_filled"), 0);
    cr_assert_eq(num(e2, "revision"), 2);
    cr_assert_str_neq(str(e2, "sha256"), sha0);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(e2, "history");
    cr_assert_eq(cJSON_GetArraySize(h), 1);
    const cJSON *h0 = cJSON_GetArrayItem(h, 0);
    cr_assert_str_eq(str(h0, "sha256"), sha0);
    cr_assert_float_eq(num(h0, "completeness"), 0.9, 1e-9);
    cr_assert_eq(num(h0, "gap_samples_filled"), 1200);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h0, "provisional")));
    cr_assert(strlen(str(h0, "replaced_at")) >= 20, "replaced_at: %s", str(h0, "replaced_at"));
    const cJSON *six = entry(m2, "6h", "00:00:00");
    cr_assert(!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(six, "provisional")));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(six, "history")), 1);
    /* untouched neighbours keep revision 1 and no history */
    const cJSON *n1 = entry(m2, "10min", "05:10:00");
    cr_assert_eq(num(n1, "revision"), 1);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(n1, "history"));
    cJSON_Delete(m2);

    /* nothing provisional is left: another upgrade does nothing */
    cr_assert_eq(fill(more, &sum, NULL), 0);
    cr_assert_eq(num(sum, "chunks_added"), 0);
    cr_assert_eq(num(sum, "manifests_written"), 0);
    cJSON_Delete(sum);
    cJSON_Delete(m0);
}

/* --- data centre behaviour ---------------------------------------------- */

static double timed_fill(const char *more, int want_exit, cJSON **sum)
{
    double t0 = now_s();
    rc_buf err = RC_BUF_INIT;
    int rc = fill(more, sum, &err);
    cr_assert_eq(rc, want_exit, "%s: exit %d: %s", more, rc, err.data);
    cr_assert(*sum, "no summary");
    rc_buf_free(&err);
    return now_s() - t0;
}

Test(fill, data_centre_answers_give_the_documented_outcome)
{
    const char *hour =
        "--station XX.HOL..BHZ --from 2025-11-04T00:00:00Z --to 2025-11-04T01:00:00Z";
    cJSON *sum = NULL;

    /* 204: no data, not a failure; nothing written, exit 0 */
    server("/control", "{\"faults\": [\"204\"]}", NULL);
    timed_fill(hour, 0, &sum);
    cr_assert_str_eq(str(sum, "status"), "complete");
    cr_assert_eq(num(sum, "windows_no_data"), 6);
    cr_assert_eq(num(sum, "chunks_added"), 0);
    cr_assert_eq(num(sum, "chunks_failed"), 0);
    cJSON_Delete(sum);
    /* only the day's manifest, recording the hour as asked and empty */
    cr_assert_eq(count_keys(), 1);
    /* so the same fill again asks nothing: the hour is confirmed empty */
    server("/reset-stats", "", NULL);
    timed_fill(hour, 0, &sum);
    cr_assert_eq(num(sum, "windows_source_empty"), 6);
    cr_assert_eq(num(sum, "requests"), 0);
    cJSON_Delete(sum);

    /* 429 with Retry-After: 1 s is waited out, then the data comes
     * (--recheck: the source said "no data" for this hour a moment ago) */
    server("/control", "{\"faults\": [\"429:retry-after=1\"]}", NULL);
    char again[256];
    snprintf(again, sizeof again, "--recheck %s", hour);
    double dt = timed_fill(again, 0, &sum);
    cr_assert(dt >= 1.0, "Retry-After not honoured: %.2f s", dt);
    cr_assert_eq(num(sum, "chunks_added"), 6);
    cr_assert_eq(num(sum, "requests"), 2);
    cJSON_Delete(sum);

    /* 503 and a connection reset: retried */
    const char *h2 = "--station XX.HOL..BHZ --from 2025-11-04T01:00:00Z --to 2025-11-04T02:00:00Z";
    server("/control", "{\"faults\": [\"503\", \"reset\"]}", NULL);
    server("/reset-stats", "{}", NULL);
    timed_fill(h2, 0, &sum);
    cr_assert_eq(num(sum, "chunks_added"), 6);
    /* the server saw all three; the source counts a reset (no HTTP answer)
     * in no attempt, so the summary says 2 (reported to the source's owner) */
    cr_assert_eq(server_requests(), 3);
    cr_assert(num(sum, "requests") >= 2, "requests %g", num(sum, "requests"));
    cJSON_Delete(sum);

    /* 413: the request is split (max_lines 1 on a two-channel request) */
    const char *two = "--station XX.KIL..HHZ --station XX.KIG..HHZ --from 2025-11-04T00:00:00Z "
                      "--to 2025-11-04T01:00:00Z";
    server("/reset-stats", "{}", NULL);
    server("/control", "{\"max_lines\": 1}", NULL);
    timed_fill(two, 0, &sum);
    cr_assert_eq(num(sum, "chunks_added"), 12);
    cr_assert_eq(num(sum, "requests"), 3); /* the 413, then one per line */
    cJSON_Delete(sum);
    cr_assert_eq(server_requests(), 3);
    server("/control", "{\"max_lines\": 0}", NULL);

    /* a persistent 503: the windows fail, exit 1, status partial; a rerun
     * later finishes the job */
    const char *h3 = "--station XX.HOL..BHZ --from 2025-11-04T02:00:00Z --to 2025-11-04T03:00:00Z";
    server("/control", "{\"faults\": [\"503\", \"503\", \"503\", \"503\", \"503\"]}", NULL);
    timed_fill(h3, 1, &sum);
    cr_assert_str_eq(str(sum, "status"), "partial");
    cr_assert_eq(num(sum, "chunks_failed"), 6);
    cr_assert_eq(num(sum, "chunks_added"), 0);
    cr_assert_eq(num(sum, "requests"), 4); /* max_attempts */
    cJSON_Delete(sum);
    server("/control", "{\"faults\": []}", NULL);
    timed_fill(h3, 0, &sum);
    cr_assert_eq(num(sum, "chunks_added"), 6);
    cJSON_Delete(sum);
}
