/*
 * test_truth.c: the truth rules of DESIGN.md, end to end with the real
 * binary, the FDSN test server and real miniSEED.
 *
 *  1. Same samples, same bytes: one synthetic day of four 20 Hz channels
 *     whose sample clocks sit off the 10-minute grid (3, 8 and 19.5 ms) and
 *     step by 30 ms inside 6-hour blocks (once exactly on a window boundary,
 *     once inside a window), cached four ways: one fill; a fill killed by
 *     SIGKILL at fixed points and resumed; the cron job every 10 minutes of
 *     simulated time; three overlapping fills running at once. Every way
 *     must give the same keys, byte-identical blobs and manifests equal
 *     apart from their timestamps, and `verify` must find nothing.
 *  2. Times are exact: `get` of a 6-hour chunk composed from stored
 *     10-minute chunks prints the same times and values as the 10-minute
 *     chunks, and the phase steps are in the 6-hour entry and its blob.
 *  3. Real recordings (../shared/data/mseed), most of them off the grid,
 *     cached by `run` at a 6-hour boundary in one go and 10 minutes at a
 *     time: both stores are identical, and every sample libmseed decodes is
 *     in the slot the time rule gives, in the 10-minute and 6-hour chunks.
 */
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <libmseed.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/codec.h"
#include "r2cache/manifest.h"
#include "r2cache/naming.h"
#include "r2cache/store.h"
#include "r2cache/timewin.h"
#include "support.h"
#include "../tools/synth_signal.h"

static char *g_dir;
static char g_sds[4200];
static pid_t g_server = -1, g_slow = -1;
static int g_port, g_slow_port;

/* ---- small helpers ----------------------------------------------------- */

static int r2c(rc_buf *out, rc_buf *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int r2c(rc_buf *out, rc_buf *err, const char *fmt, ...)
{
    char args[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return rc_test_r2cache(args, out, err);
}

static int64_t T(const char *iso)
{
    int64_t t;
    rc_err e;
    cr_assert_eq(rc_time_parse(iso, 0, &t, &e), RC_OK, "%s", e.msg);
    return t;
}

static void write_config(const char *path, const char *source, const char *store,
                         const char *stations)
{
    char json[16384];
    snprintf(json, sizeof json,
             "{\"source\": \"%s\", \"store\": \"%s\", \"spans\": [\"10m\", \"6h\"],\n"
             " \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", "
             "\"stations\": [%s]}]}\n",
             source, store, stations);
    cr_assert_eq(rc_test_write_file(path, json, strlen(json)), 0);
}

/* ---- store snapshots (through the store interface) --------------------- */

typedef struct obj {
    char *key;
    rc_buf body;
} obj;

typedef struct snap {
    obj *v;
    size_t n, cap;
} snap;

static int snap_cb(void *ud, const rc_obj_info *o)
{
    snap *s = ud;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        cr_assert(s->v);
    }
    s->v[s->n].key = strdup(o->key);
    rc_buf_init(&s->v[s->n].body);
    s->n++;
    return 0;
}

static int ends_with(const char *s, const char *suf);

static void snap_take(const char *url, snap *s)
{
    memset(s, 0, sizeof *s);
    rc_store_opts so;
    rc_store_opts_default(&so);
    rc_store *st = NULL;
    rc_err e;
    cr_assert_eq(rc_store_open(url, &so, &st, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_store_list(st, "data/", snap_cb, s, &e), RC_OK, "%s", e.msg);
    for (size_t i = 0; i < s->n; i++)
        cr_assert_eq(rc_store_get(st, s->v[i].key, &s->v[i].body, NULL, &e), RC_OK, "%s", e.msg);
    rc_store_close(st);
    /* A manifest without any chunk holds only the record of what the source
     * was asked and when (source_empty): history, not data; how a day was
     * cached decides whether it exists. */
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        cJSON *m = ends_with(s->v[i].key, ".json")
                       ? cJSON_ParseWithLength(s->v[i].body.data, s->v[i].body.len)
                       : NULL;
        int chunks = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(m, "chunks")) chunks +=
            cJSON_GetArraySize(l);
        int drop = m && !chunks && cJSON_GetObjectItemCaseSensitive(m, "source_empty");
        cJSON_Delete(m);
        if (drop) {
            free(s->v[i].key);
            rc_buf_free(&s->v[i].body);
        } else {
            s->v[k++] = s->v[i];
        }
    }
    s->n = k;
}

static void snap_free(snap *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        rc_buf_free(&s->v[i].body);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

static void strip_times(cJSON *j)
{
    /* the record of what the source was asked and when is history, not data */
    if (cJSON_IsObject(j)) cJSON_DeleteItemFromObjectCaseSensitive(j, "source_empty");
    static const char *const fields[] = {"created_at", "updated_at", "written_at", "replaced_at"};
    if (cJSON_IsObject(j))
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            cJSON_DeleteItemFromObjectCaseSensitive(j, fields[i]);
    cJSON *c;
    cJSON_ArrayForEach(c, j) strip_times(c);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Same keys, byte-identical blobs, manifests equal apart from timestamps. */
static void snap_same(const snap *ref, const snap *got, const char *what)
{
    for (size_t i = 0, j = 0; i < ref->n || j < got->n; i++, j++) {
        int c = i >= ref->n ? 1 : j >= got->n ? -1 : strcmp(ref->v[i].key, got->v[j].key);
        cr_assert_eq(c, 0, "%s: %s %s", what, c < 0 ? "lacks" : "has an extra",
                     c < 0 ? ref->v[i].key : got->v[j].key);
    }
    for (size_t i = 0; i < ref->n; i++) {
        const rc_buf *a = &ref->v[i].body, *b = &got->v[i].body;
        if (!ends_with(ref->v[i].key, ".json")) {
            cr_assert(a->len == b->len && memcmp(a->data, b->data, a->len) == 0,
                      "%s: blob %s differs from the single fill's", what, ref->v[i].key);
            continue;
        }
        cJSON *x = cJSON_ParseWithLength(a->data, a->len),
              *y = cJSON_ParseWithLength(b->data, b->len);
        cr_assert(x && y, "%s: manifest %s does not parse", what, ref->v[i].key);
        strip_times(x);
        strip_times(y);
        if (!cJSON_Compare(x, y, 1)) {
            char *sx = cJSON_PrintUnformatted(x), *sy = cJSON_PrintUnformatted(y);
            size_t k = 0;
            while (sx[k] && sx[k] == sy[k])
                k++;
            size_t from = k > 200 ? k - 200 : 0;
            cr_assert_fail("%s: manifest %s differs from the single fill's at byte %zu:\n"
                           "single: ...%.400s\n   got: ...%.400s",
                           what, ref->v[i].key, k, sx + from, sy + from);
        }
        cJSON_Delete(x);
        cJSON_Delete(y);
    }
}

static const rc_buf *snap_body(const snap *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].key, key)) return &s->v[i].body;
    return NULL;
}

/* ---- processes ---------------------------------------------------------- */

static pid_t spawn_r2cache(const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "exec %s %s >/dev/null 2>&1", rc_test_bin("r2cache"), args);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    cr_assert(pid > 0);
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ======================================================================== */
/* 1. determinism                                                            */

#define DAY "2025-11-04"
#define STATIONS                                                                                   \
    "{\"network\": \"XX\", \"station\": \"PHA\", \"location\": \"\", \"channel\": \"BHZ\", "       \
    "\"sample_rate\": 20},"                                                                        \
    "{\"network\": \"XX\", \"station\": \"PHB\", \"location\": \"\", \"channel\": \"BHZ\", "       \
    "\"sample_rate\": 20},"                                                                        \
    "{\"network\": \"XX\", \"station\": \"PHC\", \"location\": \"\", \"channel\": \"BHZ\", "       \
    "\"sample_rate\": 20},"                                                                        \
    "{\"network\": \"XX\", \"station\": \"PHD\", \"location\": \"\", \"channel\": \"BHZ\", "       \
    "\"sample_rate\": 20}"
#define PHA "data/2025/11/XX/testvol/PHA//BHZ/"

static void det_setup(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/truth-sds", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete-1", g_sds);
    struct stat st;
    if (stat(marker, &st) != 0) {
        const char *synth = rc_test_bin("r2cache-synth");
        char cmd[16384];
        /* PHA: 8 ms phase, +30 ms step at 07:13:00 (inside the 07:10 window);
         * PHB: 19.5 ms, a 25-minute gap; PHC: 3 ms, steps inside two 6-hour
         * blocks; PHD: on the grid, +30 ms exactly at 02:00:00 */
        snprintf(cmd, sizeof cmd,
                 "rm -rf '%s' && "
                 "%s sds --out '%s' --rate 20 --from " DAY " --to 2025-11-05 --chan XX.PHA..BHZ "
                 "--offset-us 8000 --phase-step " DAY "T07:13:00Z/30000 && "
                 "%s sds --out '%s' --rate 20 --from " DAY " --to 2025-11-05 --chan XX.PHB..BHZ "
                 "--offset-us 19500 --gap " DAY "T15:00:00Z/" DAY "T15:25:00Z && "
                 "%s sds --out '%s' --rate 20 --from " DAY " --to 2025-11-05 --chan XX.PHC..BHZ "
                 "--offset-us 3000 --phase-step " DAY "T13:40:00Z/30000 "
                 "--phase-step " DAY "T20:05:30Z/10000 && "
                 "%s sds --out '%s' --rate 20 --from " DAY " --to 2025-11-05 --chan XX.PHD..BHZ "
                 "--phase-step " DAY "T02:00:00Z/30000 && touch '%s'",
                 g_sds, synth, g_sds, synth, g_sds, synth, g_sds, synth, g_sds, marker);
        cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0, "r2cache-synth failed");
    }
    g_dir = rc_test_tmpdir("truth");
    cr_assert(g_dir);
    g_server = rc_test_fdsn_start(g_sds, NULL, &g_port);
    cr_assert(g_server > 0, "FDSN test server did not start");
    const char *slow[] = {"--delay-ms", "250", NULL};
    g_slow = rc_test_fdsn_start(g_sds, slow, &g_slow_port);
    cr_assert(g_slow > 0, "slow FDSN test server did not start");
}

static void det_teardown(void)
{
    rc_test_server_stop(g_server);
    rc_test_server_stop(g_slow);
    g_server = g_slow = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

TestSuite(determinism, .init = det_setup, .fini = det_teardown, .timeout = 900);

/* A configuration for store NAME (under the test dir) and the given server. */
static void det_config(const char *name, int port, char *cfg, size_t n, char *store, size_t ns)
{
    snprintf(store, ns, "%s/%s", g_dir, name);
    snprintf(cfg, n, "%s/%s.json", g_dir, name);
    char src[64];
    snprintf(src, sizeof src, "http://127.0.0.1:%d", port);
    write_config(cfg, src, store, STATIONS);
}

static void verify_clean(const char *cfg, const char *what)
{
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2c(&out, &err, "verify --config '%s' --log-format text", cfg);
    cr_assert_eq(rc, 0, "%s: verify exit %d\n%s\n%s", what, rc, out.data ? out.data : "",
                 err.data ? err.data : "");
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(determinism, four_ways_of_caching_a_day_give_the_same_bytes)
{
    char cfg[4400], store[4400];
    const char *range = "--from " DAY " --to 2025-11-05 --now 2025-11-06 --log-format text";

    /* A: one fill */
    det_config("one", g_port, cfg, sizeof cfg, store, sizeof store);
    rc_buf err = RC_BUF_INIT;
    int rc = r2c(NULL, &err, "fill --config '%s' %s", cfg, range);
    cr_assert_eq(rc, 0, "fill exit %d: %s", rc, err.data);
    rc_buf_free(&err);
    verify_clean(cfg, "one fill");
    snap ref;
    snap_take(store, &ref);
    /* 4 channel-days of 144 + 4 chunks and a manifest, less PHB's two empty windows */
    cr_assert_eq(ref.n, 4 * (144 + 4 + 1) - 2, "blobs and manifests of 4 channel-days: %zu", ref.n);

    /* B: killed at fixed points (the slow server stretches the fill over its
     * four requests), resumed each time, then run to completion */
    char cfgb[4400], storeb[4400];
    det_config("killed", g_slow_port, cfgb, sizeof cfgb, storeb, sizeof storeb);
    static const double kill_at[] = {0.12, 0.35, 0.6, 0.9, 1.3, 0.05, 0.75};
    char args[8192];
    snprintf(args, sizeof args, "fill --config '%s' %s", cfgb, range);
    int killed = 0;
    for (size_t i = 0; i < sizeof kill_at / sizeof kill_at[0]; i++) {
        pid_t pid = spawn_r2cache(args);
        nap(kill_at[i]);
        if (kill(pid, SIGKILL) == 0)
            killed += wait_exit(pid) == 128 + SIGKILL;
        else
            wait_exit(pid);
    }
    cr_assert_geq(killed, 4, "only %d of the fills were killed before they finished", killed);
    rc = r2c(NULL, NULL, "%s", args);
    cr_assert_eq(rc, 0, "resumed fill exit %d", rc);
    verify_clean(cfgb, "killed and resumed fill");
    snap s;
    snap_take(storeb, &s);
    snap_same(&ref, &s, "fill killed and resumed");
    snap_free(&s);

    /* C: the cron job every 10 minutes, 00:02 to 00:02 the next day */
    char cfgc[4400], storec[4400];
    det_config("cron", g_port, cfgc, sizeof cfgc, storec, sizeof storec);
    for (int64_t t = T(DAY "T00:02:00Z"); t <= T("2025-11-05T00:02:00Z"); t += 600) {
        char now[RC_TIME_STR_MAX];
        rc_time_iso(t, now);
        rc_buf e2 = RC_BUF_INIT;
        rc = r2c(NULL, &e2, "run --config '%s' --now %s --retry-max 0s --log-format text", cfgc,
                 now);
        cr_assert_eq(rc, 0, "run at %s exit %d: %s", now, rc, e2.data);
        rc_buf_free(&e2);
    }
    verify_clean(cfgc, "cron every 10 minutes");
    snap_take(storec, &s);
    snap_same(&ref, &s, "cron every 10 minutes");
    snap_free(&s);

    /* D: three fills at once over overlapping ranges whose union is the day */
    char cfgd[4400], stored[4400];
    det_config("concurrent", g_port, cfgd, sizeof cfgd, stored, sizeof stored);
    static const char *const ranges[] = {
        "--from " DAY " --to 2025-11-05",
        "--from " DAY "T03:00:00Z --to " DAY "T15:00:00Z",
        "--from " DAY "T06:10:00Z --to " DAY "T13:20:00Z",
    };
    pid_t pids[3];
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "fill --config '%s' %s --now 2025-11-06 --log-format text",
                 cfgd, ranges[i]);
        pids[i] = spawn_r2cache(args);
    }
    for (int i = 0; i < 3; i++)
        cr_assert_eq(wait_exit(pids[i]), 0, "concurrent fill %d failed", i);
    verify_clean(cfgd, "three concurrent fills");
    snap_take(stored, &s);
    snap_same(&ref, &s, "three concurrent fills");
    snap_free(&s);
    snap_free(&ref);
}

/* The blobs are a function of the samples alone, whatever the number of
 * workers that shape, compose, compress and hash them (issue 16): a fill,
 * and the boundary runs after 12:00 and 18:00 that compose 6-hour chunks
 * from 36 stored 10-minute chunks (phase steps at 07:13 and 13:40, a gap at
 * 15:00 inside them), give the same keys, byte-identical blobs (and so the
 * same sha256) and the same manifests with 1 worker and with 4. */
Test(determinism, the_worker_count_does_not_change_a_byte)
{
    char cfg1[4400], store1[4400], cfg4[4400], store4[4400];
    det_config("w1", g_port, cfg1, sizeof cfg1, store1, sizeof store1);
    det_config("w4", g_port, cfg4, sizeof cfg4, store4, sizeof store4);
    const char *range = "--from " DAY " --to 2025-11-05 --now 2025-11-06 --log-format text";
    rc_buf err = RC_BUF_INIT;
    int rc = r2c(NULL, &err, "fill --config '%s' %s --workers 1", cfg1, range);
    cr_assert_eq(rc, 0, "fill, 1 worker: exit %d: %s", rc, err.data);
    rc = r2c(NULL, &err, "fill --config '%s' %s --workers 4", cfg4, range);
    cr_assert_eq(rc, 0, "fill, 4 workers: exit %d: %s", rc, err.data);
    snap a, b;
    snap_take(store1, &a);
    snap_take(store4, &b);
    cr_assert_eq(a.n, 4 * (144 + 4 + 1) - 2, "blobs and manifests of 4 channel-days: %zu", a.n);
    snap_same(&a, &b, "fill with 4 workers against 1");
    snap_free(&a);
    snap_free(&b);

    /* 10-minute chunks 06:00-17:50 as the cron runs leave them, then the
     * boundary runs compose 06:00-12:00 and 12:00-18:00 */
    char cfgb1[4400], storeb1[4400], cfgb4[4400], storeb4[4400];
    det_config("b1", g_port, cfgb1, sizeof cfgb1, storeb1, sizeof storeb1);
    det_config("b4", g_port, cfgb4, sizeof cfgb4, storeb4, sizeof storeb4);
    rc = r2c(NULL, &err,
             "fill --config '%s' --from " DAY "T06:00:00Z --to " DAY
             "T17:50:00Z --now 2025-11-06 --log-format text",
             cfgb1);
    cr_assert_eq(rc, 0, "base fill: exit %d: %s", rc, err.data);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", storeb1, storeb4);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    static const char *const nows[] = {DAY "T12:02:00Z", DAY "T18:02:00Z"};
    for (int k = 0; k < 2; k++) {
        rc = r2c(NULL, &err,
                 "run --config '%s' --now %s --lookback 10m --retry-max 0s --workers 1 "
                 "--log-format text",
                 cfgb1, nows[k]);
        cr_assert_eq(rc, 0, "boundary run at %s, 1 worker: exit %d: %s", nows[k], rc, err.data);
        rc = r2c(NULL, &err,
                 "run --config '%s' --now %s --lookback 10m --retry-max 0s --workers 4 "
                 "--log-format text",
                 cfgb4, nows[k]);
        cr_assert_eq(rc, 0, "boundary run at %s, 4 workers: exit %d: %s", nows[k], rc, err.data);
    }
    rc_buf_free(&err);
    snap_take(storeb1, &a);
    snap_take(storeb4, &b);
    /* per channel: 72 ten-minute chunks, the two composed 6-hour chunks and
     * the day's manifest (PHB has no 15:00 and 15:10 windows) */
    cr_assert_eq(a.n, 4 * (72 + 2 + 1) - 2, "keys after the boundary runs: %zu", a.n);
    size_t six = 0;
    for (size_t i = 0; i < a.n; i++)
        six += strstr(a.v[i].key, "-06-00-00_to_" DAY "-12-00-00") != NULL ||
               strstr(a.v[i].key, "-12-00-00_to_" DAY "-18-00-00") != NULL;
    cr_assert_eq(six, 8, "composed 6-hour chunks: %zu", six);
    snap_same(&a, &b, "boundary runs with 4 workers against 1");
    verify_clean(cfgb4, "boundary runs with 4 workers");
    snap_free(&a);
    snap_free(&b);
}

static const cJSON *entry_at(const cJSON *m, const char *list, const char *start)
{
    const cJSON *l =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "chunks"), list);
    const cJSON *en;
    cJSON_ArrayForEach(en, l)
    {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(en, "start")), start))
            return en;
    }
    return NULL;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsNumber(x), "field %s missing", k);
    return x->valuedouble;
}

/* The 6-hour chunks the cron job composes from stored 10-minute chunks keep
 * the clock phase of the base windows they hold, steps included: in the
 * entry, in the blob's metadata, and in the times `get` prints. */
Test(determinism, composed_six_hour_chunks_keep_the_phase_and_its_steps)
{
    char cfg[4400], store[4400];
    det_config("phase", g_port, cfg, sizeof cfg, store, sizeof store);
    /* 10 minutes at a time through 06:00-12:00, then the boundary run */
    for (int64_t t = T(DAY "T06:12:00Z"); t <= T(DAY "T12:02:00Z"); t += 600) {
        char now[RC_TIME_STR_MAX];
        rc_time_iso(t, now);
        cr_assert_eq(
            r2c(NULL, NULL, "run --config '%s' --now %s --lookback 10m --retry-max 0s", cfg, now),
            0, "run at %s", now);
    }
    snap s;
    snap_take(store, &s);
    const rc_buf *mb = snap_body(&s, PHA "XX_PHA__BHZ_20Hz_" DAY ".json");
    cr_assert(mb, "no manifest for PHA");
    cJSON *m = cJSON_ParseWithLength(mb->data, mb->len);
    cr_assert(m);
    const cJSON *six = entry_at(m, "6h", "06:00:00");
    cr_assert(six, "the 06:00 6-hour chunk was not composed");
    cr_assert_eq(num(six, "offset_s"), 0.008);
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(six, "phase_steps");
    cr_assert_eq(cJSON_GetArraySize(steps), 1, "one phase step in the 06:00 block");
    const cJSON *st0 = cJSON_GetArrayItem(steps, 0);
    /* the step at 07:13 is inside the 07:10 window, whose earliest sample is
     * still on the old phase: the new phase starts with the 07:20 window */
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st0, "start")),
                     "07:20:00");
    cr_assert_eq(num(st0, "offset_s"), 0.038);
    cr_assert_eq(num(entry_at(m, "10min", "07:10:00"), "offset_s"), 0.008);
    cr_assert_eq(num(entry_at(m, "10min", "07:20:00"), "offset_s"), 0.038);
    /* one sample lost and one slot filled at the step inside 07:10 (shape.h) */
    cr_assert_eq(num(entry_at(m, "10min", "07:10:00"), "gap_samples_filled"), 1);
    cJSON_Delete(m);
    snap_free(&s);

    /* the blob is self-describing: its metadata carries offset and step */
    rc_store_opts so;
    rc_store_opts_default(&so);
    rc_store *st = NULL;
    rc_err e;
    cr_assert_eq(rc_store_open(store, &so, &st, &e), RC_OK, "%s", e.msg);
    rc_obj_info info;
    cr_assert_eq(rc_store_head(st,
                               PHA "XX_PHA__BHZ_20Hz_" DAY "-06-00-00_to_" DAY "-12-00-00.bin.zst",
                               &info, &e),
                 RC_OK, "%s", e.msg);
    cr_assert_str_eq(rc_obj_meta_get(&info.meta, "r2c-offset"), "0.008");
    cr_assert_str_eq(rc_obj_meta_get(&info.meta, "r2c-phase-steps"), "4800:38000");
    rc_store_close(st);

    /* get --span 6h prints exactly what get --span 10m prints */
    rc_buf a = RC_BUF_INIT, b = RC_BUF_INIT;
    cr_assert_eq(
        r2c(&a, NULL,
            "get XX.PHA..BHZ --config '%s' --from " DAY "T06:55:00Z --to " DAY "T07:45:00Z", cfg),
        0);
    cr_assert_eq(r2c(&b, NULL,
                     "get XX.PHA..BHZ --config '%s' --span 6h --from " DAY "T06:55:00Z --to " DAY
                     "T07:45:00Z",
                     cfg),
                 0);
    cr_assert_str_eq(a.data, b.data, "get of the 6-hour chunk differs from the 10-minute chunks");
    /* and the times are the recording's: sample i at i/20 + 0.008 (+ 0.030
     * after the step), value rc_synth_value; checked away from the step's
     * own window, where the nearest slot may be off by less than a sample */
    int64_t day = T(DAY);
    const int64_t check[] = {(6 * 3600 + 55 * 60) * 20, (7 * 3600 + 5 * 60) * 20 + 7,
                             (7 * 3600 + 30 * 60) * 20 + 3, (7 * 3600 + 44 * 60) * 20 + 19};
    for (size_t i = 0; i < sizeof check / sizeof check[0]; i++) {
        int64_t idx = check[i]; /* of the day; r2cache-synth counts from the epoch */
        int64_t us = idx * 50000 + 8000 + (idx >= (7 * 3600 + 13 * 60) * 20 ? 30000 : 0);
        int64_t sec = day + us / 1000000;
        rc_tm tm;
        rc_time_split(sec, &tm);
        char line[96];
        snprintf(line, sizeof line, "\n%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ,%d\n", tm.year, tm.mon,
                 tm.mday, tm.hour, tm.min, tm.sec, (long long)(us % 1000000),
                 rc_synth_value("XX.PHA..BHZ", day * 20 + idx));
        cr_assert(strstr(b.data, line), "get --span 6h lacks %s", line + 1);
    }
    rc_buf_free(&a);
    rc_buf_free(&b);
}

/* ======================================================================== */
/* 3. real recordings                                                        */

typedef struct rsample {
    int64_t t_us;
    int32_t v;
} rsample;

typedef struct rchan {
    rc_chan chan;
    double rate;
    rsample *s;
    size_t n, cap;
    int64_t first_us;
} rchan;

/* Every record of a miniSEED 2 file: appended to the SDS day file of its
 * channel, and its samples (libmseed's decoding, at libmseed's times) to
 * the channel's list. Returns the number of channels, 0 when the file is
 * not usable here (not int32, several rates per channel). */
static size_t load_real(const char *path, const char *sds, rchan *ch, size_t maxch)
{
    rc_buf f = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(path, &f), 0, "cannot read %s", path);
    MSRecord *msr = NULL;
    size_t nch = 0, off = 0;
    int usable = 1;
    while (off + 48 <= f.len && usable) {
        int r = msr_parse(f.data + off, (int)(f.len - off), &msr, 0, 1, 0);
        if (r != MS_NOERROR) {
            usable = 0;
            break;
        }
        rc_chan c;
        memset(&c, 0, sizeof c);
        snprintf(c.net, sizeof c.net, "%s", msr->network);
        snprintf(c.sta, sizeof c.sta, "%s", msr->station);
        snprintf(c.loc, sizeof c.loc, "%s", msr->location);
        snprintf(c.cha, sizeof c.cha, "%s", msr->channel);
        size_t k = 0;
        while (k < nch && !rc_chan_equal(&ch[k].chan, &c))
            k++;
        if (k == nch) {
            if (nch == maxch) {
                usable = 0;
                break;
            }
            memset(&ch[nch], 0, sizeof ch[nch]);
            ch[nch].chan = c;
            ch[nch].rate = msr->samprate;
            ch[nch].first_us = msr->starttime;
            nch++;
        }
        rchan *x = &ch[k];
        if (msr->sampletype != 'i' || fabs(msr->samprate - x->rate) > 1e-9 * x->rate) {
            usable = 0;
            break;
        }
        if (msr->starttime < x->first_us) x->first_us = msr->starttime;
        for (int64_t j = 0; j < msr->numsamples; j++) {
            if (x->n == x->cap) {
                x->cap = x->cap ? 2 * x->cap : 4096;
                x->s = realloc(x->s, x->cap * sizeof *x->s);
                cr_assert(x->s);
            }
            x->s[x->n].t_us = msr->starttime + llround((double)j * 1e6 / msr->samprate);
            x->s[x->n].v = ((int32_t *)msr->datasamples)[j];
            x->n++;
        }
        /* the SDS day file of the record's start */
        int64_t day = rc_day_start(msr->starttime / 1000000);
        rc_tm tm;
        rc_time_split(day, &tm);
        char dir[4600], file[4800];
        snprintf(dir, sizeof dir, "%s/%04d/%s/%s/%s.D", sds, tm.year, c.net, c.sta, c.cha);
        char mk[4700];
        snprintf(mk, sizeof mk, "mkdir -p '%s'", dir);
        cr_assert_eq(rc_test_sh(mk, NULL, NULL), 0);
        snprintf(file, sizeof file, "%s/%s.%s.%s.%s.D.%04d.%03d", dir, c.net, c.sta, c.loc, c.cha,
                 tm.year, tm.yday);
        FILE *fp = fopen(file, "ab");
        cr_assert(fp);
        cr_assert_eq(fwrite(f.data + off, 1, (size_t)msr->reclen, fp), (size_t)msr->reclen);
        fclose(fp);
        off += (size_t)msr->reclen;
    }
    msr_free(&msr);
    rc_buf_free(&f);
    if (!usable) {
        for (size_t k = 0; k < nch; k++)
            free(ch[k].s);
        return 0;
    }
    return nch;
}

/* Entry of a chunk from the store's manifest; NULL when absent. */
static const rc_mentry *find_entry(rc_store *st, const rchan *c, rc_span span, int64_t start,
                                   rc_manifest *m, int *have)
{
    int64_t day = rc_day_start(start);
    if (!*have || m->day != day) {
        if (*have) rc_manifest_free(m);
        *have = 0;
        rc_manifest_id id;
        memset(&id, 0, sizeof id);
        id.chan = c->chan;
        snprintf(id.volcano, sizeof id.volcano, "realvol");
        id.rate = c->rate;
        id.day = day;
        char key[RC_KEY_MAX];
        rc_err e;
        cr_assert_eq(rc_key_manifest(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_OK);
        if (rc_manifest_load(st, RC_LAYOUT_SEED, key, m, NULL, &e) != RC_OK) return NULL;
        *have = 1;
    }
    return rc_manifest_find(m, span, start);
}

static int32_t *load_chunk(rc_store *st, rc_codec *codec, const rchan *c, rc_span span,
                           int64_t start, size_t *n)
{
    rc_chunk_id id;
    memset(&id, 0, sizeof id);
    id.chan = c->chan;
    snprintf(id.volcano, sizeof id.volcano, "realvol");
    id.rate = c->rate;
    id.span = span;
    id.start = start;
    char key[RC_KEY_MAX];
    rc_err e;
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_OK);
    rc_buf b = RC_BUF_INIT;
    if (rc_store_get(st, key, &b, NULL, &e) != RC_OK) {
        rc_buf_free(&b);
        return NULL;
    }
    int32_t *s = NULL;
    cr_assert_eq(rc_codec_decode(codec, b.data, b.len, 0, &s, n, &e), RC_OK, "%s", e.msg);
    rc_buf_free(&b);
    return s;
}

/* The slot a chunk gives a sample at t_us by the time rule (manifest.h),
 * or -1 when the rule puts no slot within half a sample of it. */
static int64_t slot_of(const rc_mentry *en, double rate, int64_t t_us)
{
    int64_t seg = en->start, seg_slot = 0;
    double off = en->offset_s;
    for (int i = 0; i < en->nsteps; i++)
        if (t_us >= en->steps[i].start * 1000000 - 50) {
            seg = en->steps[i].start;
            seg_slot = llround(rate * (double)(seg - en->start));
            off = en->steps[i].offset_s;
        }
    double k = ((double)(t_us - seg * 1000000) - off * 1e6) * rate / 1e6;
    int64_t kk = llround(k);
    /* nearest, ties away from zero as the shaper rounds: a recording whose
     * phase steps by half a sample inside a window (NN.SBT..SHZ does) lands
     * exactly between two slots */
    if (fabs(k - (double)kk) > 0.5 + 1e-9) return -1;
    return seg_slot + kk;
}

/* Every libmseed sample is in the slot the time rule gives, in its
 * 10-minute chunk and in its 6-hour chunk; the chunk's recorded count
 * (samples - gap_samples_filled) is the number of samples it holds. */
static void check_slots(const char *store_url, const rchan *c, const char *file)
{
    rc_store_opts so;
    rc_store_opts_default(&so);
    rc_store *st = NULL;
    rc_err e;
    cr_assert_eq(rc_store_open(store_url, &so, &st, &e), RC_OK, "%s", e.msg);
    rc_codec *codec = NULL;
    cr_assert_eq(rc_codec_new(3, &codec, &e), RC_OK);
    char id[RC_CHAN_STR_MAX];
    rc_chan_format(&c->chan, id);
    rc_manifest m;
    int have = 0;
    const rc_span spans[2] = {RC_SPAN_10M, RC_SPAN_6H};
    for (int si = 0; si < 2; si++) {
        int64_t sp = rc_span_seconds(spans[si]);
        int64_t cur = INT64_MIN, count = 0;
        int32_t *chunk = NULL;
        size_t n = 0;
        const rc_mentry *en = NULL;
        rc_mentry hold;
        memset(&hold, 0, sizeof hold);
        for (size_t i = 0; i <= c->n; i++) {
            /* the base window a sample belongs to (shape.h: S - T <= t < S + L - T) */
            int64_t t = i < c->n ? c->s[i].t_us : INT64_MAX;
            double tol = fmin(50.0, 0.1 * 1e6 / c->rate);
            int64_t w = i < c->n ? rc_floor((int64_t)floor(((double)t + tol) / 1e6), 600) : 0;
            int64_t start = i < c->n ? rc_floor(w, sp) : INT64_MAX;
            if (start != cur) {
                if (chunk) {
                    cr_assert_eq(hold.samples - hold.gap_samples_filled, count,
                                 "%s %s: %s chunk at %lld holds %lld recorded samples, libmseed "
                                 "has %lld",
                                 file, id, rc_span_name(spans[si]), (long long)cur,
                                 (long long)(hold.samples - hold.gap_samples_filled),
                                 (long long)count);
                    free(chunk);
                    chunk = NULL;
                }
                rc_mentry_free(&hold);
                if (i == c->n) break;
                cur = start;
                count = 0;
                chunk = load_chunk(st, codec, c, spans[si], start, &n);
                en = find_entry(st, c, spans[si], start, &m, &have);
                cr_assert(chunk && en, "%s %s: no %s chunk at %lld", file, id,
                          rc_span_name(spans[si]), (long long)start);
                cr_assert_eq(rc_mentry_copy(&hold, en), RC_OK);
            }
            int64_t k = slot_of(&hold, c->rate, t);
            cr_assert(k >= 0 && (size_t)k < n,
                      "%s %s: sample at %lld us has no slot in the %s chunk at %lld (offset %g)",
                      file, id, (long long)t, rc_span_name(spans[si]), (long long)cur,
                      hold.offset_s);
            cr_assert_eq(chunk[k], c->s[i].v,
                         "%s %s: %s chunk at %lld slot %lld holds %d, libmseed %d", file, id,
                         rc_span_name(spans[si]), (long long)cur, (long long)k, chunk[k],
                         c->s[i].v);
            count++;
        }
        free(chunk);
        rc_mentry_free(&hold);
    }
    if (have) rc_manifest_free(&m);
    rc_codec_free(codec);
    rc_store_close(st);
}

Test(real_data, off_grid_recordings_are_cached_to_the_sample, .timeout = 900)
{
    RC_REQUIRE_MSEED();
    const char *dir = rc_test_mseed_dir();
    char *tmp = rc_test_tmpdir("truth-real");
    cr_assert(tmp);
    DIR *d = opendir(dir);
    cr_assert(d);
    struct dirent *de;
    int files = 0, off_grid = 0;
    char names[64][256];
    int nn = 0;
    while ((de = readdir(d)) && nn < 64) {
        const char *nm = de->d_name;
        /* miniSEED 3 is refused by design; these three hold overlaps with
         * different values by construction, which the slot check cannot
         * attribute to one sample */
        if (nm[0] == '.' || ends_with(nm, ".mseed3") || ends_with(nm, ".md") ||
            strstr(nm, "qualityflags") || strstr(nm, "mixedorder") || strstr(nm, "2015282"))
            continue;
        snprintf(names[nn++], sizeof names[0], "%s", nm);
    }
    closedir(d);
    for (int fi = 0; fi < nn; fi++) {
        char path[4600], sds[4600];
        snprintf(path, sizeof path, "%s/%s", dir, names[fi]);
        snprintf(sds, sizeof sds, "%s/sds-%d", tmp, fi);
        rchan ch[32];
        size_t nch = load_real(path, sds, ch, 32);
        if (!nch) continue;
        files++;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        char stations[8192] = "";
        size_t sl = 0;
        for (size_t k = 0; k < nch; k++) {
            double per = 1e6 / ch[k].rate;
            double ph = fmod((double)ch[k].first_us, per);
            if (ph > 50 && ph < per - 50) off_grid++;
            lo = ch[k].s[0].t_us < lo ? ch[k].s[0].t_us : lo;
            for (size_t j = 0; j < ch[k].n; j++)
                hi = ch[k].s[j].t_us > hi ? ch[k].s[j].t_us : hi;
            sl += (size_t)snprintf(stations + sl, sizeof stations - sl,
                                   "%s{\"network\": \"%s\", \"station\": \"%s\", \"location\": "
                                   "\"%s\", \"channel\": \"%s\", \"sample_rate\": %.10g}",
                                   k ? "," : "", ch[k].chan.net, ch[k].chan.sta, ch[k].chan.loc,
                                   ch[k].chan.cha, ch[k].rate);
        }
        /* the 6-hour boundary after the data, and a lookback back to before it */
        int64_t first = rc_floor(lo / 1000000, 600),
                boundary = rc_floor(hi / 1000000, 21600) + 21600;
        int64_t lookback = boundary - rc_floor(first, 21600);
        char srcurl[4700], one[4700], cron[4700], cfg1[4700], cfg2[4700], now[RC_TIME_STR_MAX];
        snprintf(srcurl, sizeof srcurl, "sds://%s", sds);
        snprintf(one, sizeof one, "%s/one-%d", tmp, fi);
        snprintf(cron, sizeof cron, "%s/cron-%d", tmp, fi);
        snprintf(cfg1, sizeof cfg1, "%s/one-%d.json", tmp, fi);
        snprintf(cfg2, sizeof cfg2, "%s/cron-%d.json", tmp, fi);
        char *v = strstr(stations, ""); /* the volcano is named realvol below */
        (void)v;
        char json[16384];
        snprintf(json, sizeof json,
                 "{\"source\": \"%s\", \"store\": \"%s\", \"spans\": [\"10m\", \"6h\"],\n"
                 " \"volcanoes\": [{\"name\": \"realvol\", \"location\": \"real\", \"stations\": "
                 "[%s]}]}\n",
                 srcurl, one, stations);
        cr_assert_eq(rc_test_write_file(cfg1, json, strlen(json)), 0);
        snprintf(json, sizeof json,
                 "{\"source\": \"%s\", \"store\": \"%s\", \"spans\": [\"10m\", \"6h\"],\n"
                 " \"volcanoes\": [{\"name\": \"realvol\", \"location\": \"real\", \"stations\": "
                 "[%s]}]}\n",
                 srcurl, cron, stations);
        cr_assert_eq(rc_test_write_file(cfg2, json, strlen(json)), 0);
        /* one boundary run: every chunk from one answer */
        rc_time_iso(boundary + 120, now);
        rc_buf err = RC_BUF_INIT;
        int rc = r2c(NULL, &err,
                     "run --config '%s' --now %s --lookback %llds --retry-max 0s --log-format text",
                     cfg1, now, (long long)lookback);
        cr_assert(rc == 0, "%s: boundary run exit %d: %s", names[fi], rc, err.data);
        rc_buf_free(&err);
        /* the cron job every 10 minutes over the data, then the boundary run
         * (which composes the 6-hour chunk from the stored 10-minute ones) */
        for (int64_t t = first + 600 + 120; t <= rc_floor(hi / 1000000, 600) + 600 + 120;
             t += 600) {
            rc_time_iso(t, now);
            rc = r2c(NULL, NULL, "run --config '%s' --now %s --lookback 10m --retry-max 0s", cfg2,
                     now);
            cr_assert_eq(rc, 0, "%s: run at %s exit %d", names[fi], now, rc);
        }
        rc_time_iso(boundary + 120, now);
        rc = r2c(NULL, NULL, "run --config '%s' --now %s --lookback 6h --retry-max 0s", cfg2, now);
        cr_assert_eq(rc, 0, "%s: boundary run of the cron store exit %d", names[fi], rc);
        snap a, b;
        snap_take(one, &a);
        snap_take(cron, &b);
        cr_assert_gt(a.n, 0, "%s: nothing cached", names[fi]);
        char what[400];
        snprintf(what, sizeof what, "%s cached 10 minutes at a time", names[fi]);
        snap_same(&a, &b, what);
        snap_free(&a);
        snap_free(&b);
        for (size_t k = 0; k < nch; k++) {
            check_slots(one, &ch[k], names[fi]);
            free(ch[k].s);
        }
    }
    cr_assert_geq(files, 10, "only %d real files were usable", files);
    cr_assert_geq(off_grid, 4, "only %d channels off the grid", off_grid);
    cr_log_info("%d real files, %d channels off the 10-minute grid, cached to the sample", files,
                off_grid);
    rc_test_rmtree(tmp);
    free(tmp);
}

/* ======================================================================== */
/* 4. final means final; answers that are not data; honest outcomes        */

static char g_hsds[4200], g_hless[4200], g_hdmg[4200];
static pid_t g_hsrv = -1, g_hless_srv = -1, g_hdmg_srv = -1;
static int g_hport, g_hless_port, g_hdmg_port;

#define HON "data/2025/11/XX/testvol/HON//BHZ/"
#define HON_STATION                                                                                \
    "{\"network\": \"XX\", \"station\": \"HON\", \"location\": \"\", \"channel\": \"BHZ\", "       \
    "\"sample_rate\": 20}"

/* Give the record of sds's HON day file that holds t a sample count 50
 * larger than its frames hold: libmseed then refuses to decode it. */
static void damage_record(const char *sds, int64_t t)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/2025/XX/HON/BHZ.D/XX.HON..BHZ.D.2025.308", sds);
    rc_buf f = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(path, &f), 0, "%s", path);
    MSRecord *msr = NULL;
    int done = 0;
    for (size_t off = 0; off + 512 <= f.len && !done; off += 512) {
        cr_assert_eq(msr_parse(f.data + off, 512, &msr, 512, 0, 0), MS_NOERROR);
        int64_t s = msr->starttime, e = s + (int64_t)(msr->samplecnt - 1) * 50000;
        if (s <= t * 1000000 && t * 1000000 <= e) {
            unsigned char *h = (unsigned char *)f.data + off;
            unsigned n = ((unsigned)h[30] << 8 | h[31]) + 50;
            h[30] = (unsigned char)(n >> 8);
            h[31] = (unsigned char)n;
            done = 1;
        }
    }
    msr_free(&msr);
    cr_assert(done, "no record holds %lld", (long long)t);
    cr_assert_eq(rc_test_write_file(path, f.data, f.len), 0);
    rc_buf_free(&f);
}

static void hon_setup(void)
{
    snprintf(g_hsds, sizeof g_hsds, "%s/test-tmp/honest-sds", RC_BINARY_DIR);
    snprintf(g_hless, sizeof g_hless, "%s/test-tmp/honest-sds-less", RC_BINARY_DIR);
    snprintf(g_hdmg, sizeof g_hdmg, "%s/test-tmp/honest-sds-dmg", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete-1", g_hsds);
    struct stat st;
    if (stat(marker, &st) != 0) {
        const char *synth = rc_test_bin("r2cache-synth");
        char cmd[20000];
        snprintf(cmd, sizeof cmd,
                 "rm -rf '%s' '%s' '%s' && "
                 "%s sds --out '%s' --rate 20 --from " DAY " --to 2025-11-05 --chan XX.HON..BHZ "
                 "--chan XX.OTH..BHZ && "
                 "%s sds --out '%s' --rate 20 --from " DAY " --to 2025-11-05 --chan XX.HON..BHZ "
                 "--gap " DAY "T03:02:00Z/" DAY "T03:03:00Z && "
                 "%s sds --out '%s' --rate 20 --from " DAY " --to 2025-11-05 --chan XX.HON..BHZ",
                 g_hsds, g_hless, g_hdmg, synth, g_hsds, synth, g_hless, synth, g_hdmg);
        cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0, "r2cache-synth failed");
        damage_record(g_hdmg, T(DAY "T05:03:00Z"));
        snprintf(cmd, sizeof cmd, "touch '%s'", marker);
        cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    }
    g_dir = rc_test_tmpdir("truth-honest");
    cr_assert(g_dir);
    g_hsrv = rc_test_fdsn_start(g_hsds, NULL, &g_hport);
    g_hless_srv = rc_test_fdsn_start(g_hless, NULL, &g_hless_port);
    g_hdmg_srv = rc_test_fdsn_start(g_hdmg, NULL, &g_hdmg_port);
    cr_assert(g_hsrv > 0 && g_hless_srv > 0 && g_hdmg_srv > 0, "FDSN test servers did not start");
}

static void hon_teardown(void)
{
    rc_test_server_stop(g_hsrv);
    rc_test_server_stop(g_hless_srv);
    rc_test_server_stop(g_hdmg_srv);
    g_hsrv = g_hless_srv = g_hdmg_srv = -1;
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

TestSuite(honest, .init = hon_setup, .fini = hon_teardown, .timeout = 600);

/* A configuration under the test dir: store NAME, the server on port, fast
 * retries (two attempts), the stations given. */
static void hon_config(const char *name, int port, const char *stations, char *cfg, size_t n,
                       char *store, size_t ns)
{
    snprintf(store, ns, "%s/%s", g_dir, name);
    snprintf(cfg, n, "%s/%s.json", g_dir, name);
    char json[8192];
    snprintf(
        json, sizeof json,
        "{\"source\": \"http://127.0.0.1:%d\", \"store\": \"%s\", \"spans\": [\"10m\", \"6h\"],\n"
        " \"fetch\": {\"max_attempts\": 2, \"backoff_base_s\": 0.01, \"backoff_cap_s\": 0.02},\n"
        " \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", "
        "\"stations\": [%s]}]}\n",
        port, store, stations);
    cr_assert_eq(rc_test_write_file(cfg, json, strlen(json)), 0);
}

static void faults(int port, const char *json_list)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "curl -sf -X POST -d '{\"faults\": %s}' http://127.0.0.1:%d/control >/dev/null",
             json_list, port);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0, "cannot set faults %s", json_list);
}

static cJSON *parse_out(const rc_buf *out)
{
    cJSON *j = out->data ? cJSON_Parse(out->data) : NULL;
    cr_assert(j, "not JSON: %s", out->data ? out->data : "(nothing)");
    return j;
}

static const cJSON *manifest_entry(const char *store, const char *list, const char *start)
{
    static cJSON *m;
    cJSON_Delete(m);
    m = NULL;
    char path[4600];
    snprintf(path, sizeof path, "%s/" HON "XX_HON__BHZ_20Hz_" DAY ".json", store);
    for (char *p = strstr(path, "//"); p; p = strstr(p + 2, "//"))
        memmove(p + 2, p + 1, strlen(p + 1) + 1), p[1] = '%'; /* the local store's "" segment */
    rc_buf b = RC_BUF_INIT;
    if (rc_test_read_file(path, &b) != 0) return NULL;
    m = cJSON_ParseWithLength(b.data, b.len);
    rc_buf_free(&b);
    return m ? entry_at(m, list, start) : NULL;
}

Test(honest, fill_up_to_now_leaves_the_window_still_running)
{
    char cfg[4400], store[4400];
    hon_config("now", g_hport, HON_STATION, cfg, sizeof cfg, store, sizeof store);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    /* at 11:55:30 the 11:50 window has not ended: it is not written at all,
     * neither final with made-up samples nor provisional */
    int rc = r2c(&out, &err,
                 "fill --config '%s' --from " DAY "T10:00:00Z --to now --now " DAY
                 "T11:55:30Z --json --log-format text",
                 cfg);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cJSON *j = parse_out(&out);
    cr_assert_eq(num(j, "chunks_added"), 11);
    cr_assert_eq(num(j, "windows_not_due"), 1);
    cr_assert(strstr(err.data, "1 not due yet"), "%s", err.data);
    cJSON_Delete(j);
    cr_assert(manifest_entry(store, "10min", "11:40:00"));
    cr_assert_null(manifest_entry(store, "10min", "11:50:00"), "the running window was written");
    rc_buf_free(&out);
    rc_buf_free(&err);
    /* once it has ended plus the delay, the same fill writes it, final */
    rc = r2c(&out, NULL,
             "fill --config '%s' --from " DAY "T10:00:00Z --to now --now " DAY
             "T12:02:00Z --json --log-format text",
             cfg);
    cr_assert_eq(rc, 0);
    j = parse_out(&out);
    cr_assert_eq(num(j, "chunks_added"), 1);
    cr_assert_eq(num(j, "windows_not_due"), 1); /* now 12:00-12:10 is the running one */
    cJSON_Delete(j);
    const cJSON *en = manifest_entry(store, "10min", "11:50:00");
    cr_assert(en);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(en, "provisional"));
    cr_assert_eq(num(en, "completeness"), 1);
    rc_buf_free(&out);
}

Test(honest, force_never_replaces_a_chunk_with_a_less_complete_one)
{
    char cfg[4400], store[4400];
    hon_config("force", g_hport, HON_STATION, cfg, sizeof cfg, store, sizeof store);
    const char *range = "--from " DAY "T03:00:00Z --to " DAY "T03:20:00Z --now 2025-11-06";
    cr_assert_eq(r2c(NULL, NULL, "fill --config '%s' %s", cfg, range), 0);
    snap before;
    snap_take(store, &before);
    /* the data centre has since lost a minute of 03:00-03:10 */
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2c(&out, &err,
                 "fill --config '%s' %s --force --source http://127.0.0.1:%d --json "
                 "--log-format text",
                 cfg, range, g_hless_port);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    cJSON *j = parse_out(&out);
    cr_assert_eq(num(j, "chunks_kept"), 1, "%s", out.data);
    cr_assert_eq(num(j, "chunks_added"), 1, "%s", out.data); /* 03:10, the same data again */
    cJSON_Delete(j);
    cr_assert(strstr(err.data, "1 kept (the stored chunk was more complete)"), "%s", err.data);
    snap after;
    snap_take(store, &after);
    snap_same(&before, &after, "after a forced fill from a worse answer");
    snap_free(&before);
    snap_free(&after);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(honest, a_damaged_record_fails_only_the_windows_it_touches)
{
    char cfg[4400], store[4400];
    hon_config("damaged", g_hdmg_port, HON_STATION, cfg, sizeof cfg, store, sizeof store);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2c(&out, &err,
                 "fill --config '%s' --from " DAY " --to " DAY "T12:00:00Z --now 2025-11-06 --json "
                 "--log-format text",
                 cfg);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err.data);
    cJSON *j = parse_out(&out);
    /* 72 ten-minute and 2 six-hour windows: 05:00 and the 00:00 block fail */
    cr_assert_eq(num(j, "chunks_failed"), 2, "%s", out.data);
    cr_assert_eq(num(j, "chunks_added"), 72, "%s", out.data);
    cr_assert_eq(num(j, "windows_no_data"), 0);
    cJSON_Delete(j);
    cr_assert(strstr(err.data, "damaged miniSEED record starting " DAY "T05:0"), "%s", err.data);
    cr_assert_null(manifest_entry(store, "10min", "05:00:00"));
    cr_assert_null(manifest_entry(store, "6h", "00:00:00"));
    cr_assert(manifest_entry(store, "10min", "04:50:00"));
    cr_assert(manifest_entry(store, "10min", "05:10:00"));
    cr_assert(manifest_entry(store, "6h", "06:00:00"));
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(honest, answers_that_are_not_the_requested_data_are_failures)
{
    struct {
        const char *faults, *msg;
    } cases[] = {
        {"[\"html\"]", "HTML page"},
        {"[\"garbage-prefix\"]", "before the first record"},
        {"[\"cut-record\", \"cut-record\"]", "cut short"},
        {"[\"half\", \"half\"]", "cut short"},
        {"[\"other:XX.OTH..BHZ\"]", "answered records of XX.OTH..BHZ, which were not asked for"},
        {"[\"earlier:7200\"]", "outside the asked span"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32], cfg[4400], store[4400];
        snprintf(name, sizeof name, "answer-%zu", i);
        hon_config(name, g_hport, HON_STATION, cfg, sizeof cfg, store, sizeof store);
        faults(g_hport, cases[i].faults);
        rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
        int rc = r2c(&out, &err,
                     "fill --config '%s' --from " DAY "T02:00:00Z --to " DAY
                     "T03:00:00Z --now 2025-11-06 --json --log-format text",
                     cfg);
        faults(g_hport, "[]");
        cr_assert_eq(rc, 1, "%s: exit %d: %s", cases[i].faults, rc, err.data);
        cr_assert(strstr(err.data, cases[i].msg), "%s: %s", cases[i].faults, err.data);
        cJSON *j = parse_out(&out);
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status")),
                         "partial");
        cr_assert_eq(num(j, "chunks_added"), 0, "%s: %s", cases[i].faults, out.data);
        cr_assert_eq(num(j, "chunks_failed"), 6, "%s: %s", cases[i].faults, out.data);
        cr_assert_eq(num(j, "windows_no_data"), 0, "%s: %s", cases[i].faults, out.data);
        cJSON_Delete(j);
        rc_buf_free(&out);
        rc_buf_free(&err);
    }
    /* the cron job says the station failed, not "complete" */
    char cfg[4400], store[4400];
    hon_config("answer-run", g_hport, HON_STATION, cfg, sizeof cfg, store, sizeof store);
    faults(g_hport, "[\"html\"]");
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2c(&out, &err,
                 "run --config '%s' --now " DAY "T01:02:00Z --lookback 10m --retry-max 0s --json "
                 "--log-format text",
                 cfg);
    faults(g_hport, "[]");
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err.data);
    cJSON *j = parse_out(&out);
    cr_assert_eq(num(j, "stations_failed"), 1);
    cr_assert_eq(num(j, "stations_ok"), 0);
    cr_assert(strstr(err.data, "XX.HON..BHZ failed:"), "%s", err.data);
    cJSON_Delete(j);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(honest, a_source_that_refuses_us_is_unusable_and_every_window_is_failed)
{
    char cfg[4400], store[4400];
    hon_config("refused", g_hport, HON_STATION, cfg, sizeof cfg, store, sizeof store);
    faults(g_hport, "[\"401\"]");
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2c(&out, &err,
                 "fill --config '%s' --from " DAY "T00:00:00Z --to " DAY
                 "T06:00:00Z --now 2025-11-06 --json --log-format text",
                 cfg);
    faults(g_hport, "[]");
    cr_assert_eq(rc, 3, "exit %d: %s", rc, err.data);
    cr_assert(strstr(err.data, "HTTP 401"), "%s", err.data);
    cJSON *j = parse_out(&out);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status")), "failed");
    cr_assert_eq(num(j, "chunks_failed"), 36 + 1, "%s", out.data);
    cr_assert_eq(num(j, "chunks_added"), 0);
    cJSON_Delete(j);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(honest, a_failed_fetch_fails_its_six_hour_window_too)
{
    char cfg[4400], store[4400];
    hon_config("failed-6h", g_hport, HON_STATION, cfg, sizeof cfg, store, sizeof store);
    faults(g_hport, "[\"500\", \"500\"]");
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2c(&out, &err,
                 "run --config '%s' --now " DAY "T06:02:00Z --lookback 10m --retry-max 0s --json "
                 "--log-format text",
                 cfg);
    faults(g_hport, "[]");
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err.data);
    cJSON *j = parse_out(&out);
    /* 05:50-06:00 and 00:00-06:00, whose 36 base windows were fetched with
     * it: all failed, none "no data" */
    cr_assert_eq(num(j, "windows_failed"), 37, "%s", out.data);
    cr_assert_eq(num(j, "windows_no_data"), 0, "%s", out.data);
    cJSON_Delete(j);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(honest, a_station_without_any_data_is_a_warning_not_ok)
{
    char cfg[4400], store[4400];
    hon_config("nodata", g_hport,
               HON_STATION ",{\"network\": \"XX\", \"station\": \"NOD\", \"location\": \"\", "
                           "\"channel\": \"BHZ\", \"sample_rate\": 20}",
               cfg, sizeof cfg, store, sizeof store);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2c(
        &out, &err,
        "run --config '%s' --now " DAY "T01:02:00Z --lookback 10m --json --log-format json", cfg);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err.data);
    int found = 0;
    for (char *line = strtok(err.data, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *l = cJSON_Parse(line);
        cr_assert(l, "not a JSON log line: %s", line);
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "msg"));
        if (msg && strstr(msg, "XX.NOD..BHZ")) {
            cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "level")),
                             "warn", "%s", line);
            cr_assert(strstr(msg, "no data"), "%s", msg);
            found = 1;
        }
        cJSON_Delete(l);
    }
    cr_assert(found, "no log line names XX.NOD..BHZ");
    cJSON *j = parse_out(&out);
    cr_assert_eq(num(j, "stations_ok"), 1);
    cr_assert_eq(num(j, "stations_no_data"), 1);
    const cJSON *st = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "stations"), 1);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "status")),
                     "no-data");
    cJSON_Delete(j);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(honest, an_unusable_store_is_said_first_and_no_station_is_ok)
{
    char cfg[4400], store[4400];
    hon_config("deadstore", g_hport, HON_STATION, cfg, sizeof cfg, store, sizeof store);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    /* an S3 endpoint nothing listens on (each test runs in its own process) */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    int rc = r2c(&out, &err,
                 "run --config '%s' --store s3://nobucket --now " DAY
                 "T01:02:00Z --lookback 10m --retry-max 0s --log-format text",
                 cfg);
    cr_assert_eq(rc, 3, "exit %d: %s", rc, err.data);
    const char *first_err = strstr(err.data, " error ");
    const char *station = strstr(err.data, "XX.HON..BHZ");
    cr_assert(first_err && station && first_err < station, "the store's error comes first: %s",
              err.data);
    cr_assert(strstr(err.data, "XX.HON..BHZ failed:"), "%s", err.data);
    cr_assert(strstr(err.data, "stations 0 ok, 0 without data, 1 failed"), "%s", err.data);
    cr_assert_null(strstr(err.data, " ok: "), "%s", err.data);
    rc_buf_free(&out);
    rc_buf_free(&err);
}
