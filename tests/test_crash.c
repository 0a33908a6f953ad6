/*
 * test_crash.c: crash consistency of `r2cache run` and `r2cache fill`.
 *
 * A clean, uninterrupted run writes the reference store. Then, trial after
 * trial, the same command is started on an empty store, killed with SIGKILL
 * (twice per trial: once when the store holds N files, N stepping through
 * the whole write sequence so kills land between a blob and its manifest
 * entry; once at a random delay), the store is checked as the crash left it
 * (every manifest entry has its blob, no entry twice), the command is rerun
 * to completion and the store is compared with the reference: the same
 * keys, the same blob bytes, manifests equal apart from timestamps. The data
 * comes through the FDSN test server (tests/fdsn_server.py --delay-ms) from
 * a synthetic SDS archive, the store is the local one.
 *
 * Each trial appends a line to RC_FAULT_LOG (when set) for docs/fault-matrix.md.
 */
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/naming.h"
#include "support.h"

#define TRIALS_PER_COMMAND 18 /* two kills each: 72 kill points in all */
#define MAX_KEYS 4096

static char g_dir[4200], g_sds[4200], g_cfg[4200];
static pid_t g_server = -1;
static int g_port;

/* ---- store snapshots --------------------------------------------------- */

typedef struct snap {
    char *keys[MAX_KEYS];
    char *paths[MAX_KEYS];
    size_t n;
    size_t files; /* every regular file, dot-files included */
} snap;

static snap *g_walk;
static size_t g_root_len;

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    if (type != FTW_F) return 0;
    g_walk->files++;
    const char *name = path + ftw->base;
    if (name[0] == '.' || g_walk->n >= MAX_KEYS)
        return 0; /* temporary files, sidecars, locks: the store's own */
    /* the local store writes an empty key segment as "%" */
    const char *rel = path + g_root_len + 1;
    char *key = malloc(strlen(rel) + 1);
    size_t j = 0;
    for (size_t i = 0; rel[i]; i++) {
        if (rel[i] == '%' && (i == 0 || rel[i - 1] == '/') && (rel[i + 1] == '/' || !rel[i + 1]))
            continue;
        key[j++] = rel[i];
    }
    key[j] = '\0';
    if (strncmp(key, "data/", 5) != 0) {
        free(key); /* index/: inventory's summaries, a cache that records when it changed */
        return 0;
    }
    g_walk->keys[g_walk->n] = key;
    g_walk->paths[g_walk->n] = strdup(path);
    g_walk->n++;
    return 0;
}

static int cmp_idx_keys(const void *a, const void *b, void *ud)
{
    char **keys = ud;
    return strcmp(keys[*(const size_t *)a], keys[*(const size_t *)b]);
}

static void snap_take(const char *root, snap *s)
{
    memset(s, 0, sizeof *s);
    g_walk = s;
    g_root_len = strlen(root);
    struct stat st;
    if (stat(root, &st) == 0) nftw(root, walk_cb, 16, FTW_PHYS);
    size_t idx[MAX_KEYS];
    for (size_t i = 0; i < s->n; i++)
        idx[i] = i;
    qsort_r(idx, s->n, sizeof idx[0], cmp_idx_keys, s->keys);
    char *k[MAX_KEYS], *p[MAX_KEYS];
    for (size_t i = 0; i < s->n; i++) {
        k[i] = s->keys[idx[i]];
        p[i] = s->paths[idx[i]];
    }
    memcpy(s->keys, k, s->n * sizeof k[0]);
    memcpy(s->paths, p, s->n * sizeof p[0]);
}

static void snap_free(snap *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i]);
        free(s->paths[i]);
    }
    s->n = 0;
}

static size_t count_files(const char *root)
{
    snap s;
    snap_take(root, &s);
    size_t n = s.files;
    snap_free(&s);
    return n;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static const char *snap_find(const snap *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0) return s->paths[i];
    return NULL;
}

/* Timestamps differ between runs by nature, and so does the record of
 * when the source was asked (source_empty); everything else must not. */
/* RC_CRASH_IGNORE="f1,f2" also drops those fields: a diagnosis aid to see
 * past one known difference, never set in the suite. */
static void strip_times(cJSON *j)
{
    static const char *const fields[] = {"created_at", "updated_at", "written_at", "replaced_at",
                                         "source_empty"};
    if (cJSON_IsObject(j)) {
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            cJSON_DeleteItemFromObjectCaseSensitive(j, fields[i]);
        const char *ign = getenv("RC_CRASH_IGNORE");
        char buf[256];
        snprintf(buf, sizeof buf, "%s", ign ? ign : "");
        for (char *sv = NULL, *f = strtok_r(buf, ",", &sv); f; f = strtok_r(NULL, ",", &sv))
            cJSON_DeleteItemFromObjectCaseSensitive(j, f);
    }
    cJSON *c;
    cJSON_ArrayForEach(c, j) strip_times(c);
}

static cJSON *load_json(const char *path)
{
    rc_buf b = RC_BUF_INIT;
    if (rc_test_read_file(path, &b) != 0) return NULL;
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    rc_buf_free(&b);
    return j;
}

/*
 * What a crash may leave: blobs without entries (the rerun indexes them) and
 * temporary files, never an entry without its blob or an entry twice.
 * Returns the number of blobs that no manifest entry names yet.
 */
static size_t check_crash_state(const snap *s, const char *when)
{
    size_t indexed = 0, blobs = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (ends_with(s->keys[i], ".bin.zst")) blobs++;
        if (!ends_with(s->keys[i], ".json")) continue;
        rc_key_info info;
        rc_err e;
        cr_assert_eq(rc_key_parse(RC_LAYOUT_SEED, s->keys[i], &info, &e), RC_OK,
                     "%s: stray object %s: %s", when, s->keys[i], e.msg);
        cr_assert_eq(info.kind, RC_KEY_MANIFEST);
        cJSON *m = load_json(s->paths[i]);
        cr_assert(m, "%s: manifest %s is not valid JSON (a torn write)", when, s->keys[i]);
        const cJSON *lists = cJSON_GetObjectItemCaseSensitive(m, "chunks");
        const cJSON *list;
        cJSON_ArrayForEach(list, lists)
        {
            rc_span span;
            cr_assert_eq(rc_span_parse(list->string, &span, &e), RC_OK);
            int64_t prev = -1;
            const cJSON *en;
            cJSON_ArrayForEach(en, list)
            {
                const char *st =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(en, "start"));
                int hh, mm, ss;
                cr_assert(st && sscanf(st, "%d:%d:%d", &hh, &mm, &ss) == 3);
                rc_chunk_id id;
                memset(&id, 0, sizeof id);
                id.chan = info.manifest.chan;
                memcpy(id.volcano, info.manifest.volcano, sizeof id.volcano);
                id.rate = info.manifest.rate;
                id.span = span;
                id.start = info.manifest.day + hh * 3600 + mm * 60 + ss;
                cr_assert_gt(id.start, prev, "%s: %s list %s: start %s twice or unsorted", when,
                             s->keys[i], list->string, st);
                prev = id.start;
                char key[RC_KEY_MAX];
                cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_OK);
                cr_assert(snap_find(s, key), "%s: %s names %s, which is not in the store", when,
                          s->keys[i], key);
                indexed++;
            }
        }
        cJSON_Delete(m);
    }
    cr_assert_geq(blobs, indexed);
    return blobs - indexed;
}

/* The first entry (or top-level field) where two manifests differ, for the
 * failure message. Static buffer: one message per failed test. */
static const char *first_difference(const cJSON *a, const cJSON *b)
{
    static char msg[4096];
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(a, "chunks");
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(b, "chunks");
    const cJSON *x;
    cJSON_ArrayForEach(x, la)
    {
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(lb, x->string);
        int n = cJSON_GetArraySize(x), m = cJSON_GetArraySize(y);
        for (int i = 0; i < n || i < m; i++) {
            const cJSON *ex = cJSON_GetArrayItem(x, i), *ey = cJSON_GetArrayItem(y, i);
            if (ex && ey && cJSON_Compare(ex, ey, 1)) continue;
            char *sx = ex ? cJSON_PrintUnformatted(ex) : NULL;
            char *sy = ey ? cJSON_PrintUnformatted(ey) : NULL;
            snprintf(msg, sizeof msg,
                     "list %s (%d vs %d entries), entry %d:\nclean: %s\nafter crash: %s", x->string,
                     n, m, i, sx ? sx : "(none)", sy ? sy : "(none)");
            free(sx);
            free(sy);
            return msg;
        }
    }
    cJSON_ArrayForEach(x, a)
    {
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
        if (!y || !cJSON_Compare(x, y, 1)) {
            char *sx = cJSON_PrintUnformatted(x), *sy = y ? cJSON_PrintUnformatted(y) : NULL;
            snprintf(msg, sizeof msg, "field %s: clean %.1000s, after crash %.1000s", x->string, sx,
                     sy ? sy : "(absent)");
            free(sx);
            free(sy);
            return msg;
        }
    }
    return "(field order)";
}

static void compare_stores(const snap *ref, const snap *got, const char *what)
{
    for (size_t i = 0, j = 0; i < ref->n || j < got->n;) {
        int c = i >= ref->n ? 1 : j >= got->n ? -1 : strcmp(ref->keys[i], got->keys[j]);
        cr_assert_eq(c, 0, "%s: %s %s", what, c < 0 ? "missing" : "extra",
                     c < 0 ? ref->keys[i] : got->keys[j]);
        i++, j++;
    }
    for (size_t i = 0; i < ref->n; i++) {
        if (ends_with(ref->keys[i], ".json")) {
            cJSON *a = load_json(ref->paths[i]), *b = load_json(got->paths[i]);
            cr_assert(a && b, "%s: %s unreadable", what, ref->keys[i]);
            strip_times(a);
            strip_times(b);
            if (!cJSON_Compare(a, b, 1))
                cr_assert_fail("%s: manifest %s differs from the clean run's: %s", what,
                               ref->keys[i], first_difference(a, b));
            cJSON_Delete(a);
            cJSON_Delete(b);
        } else {
            rc_buf a = RC_BUF_INIT, b = RC_BUF_INIT;
            cr_assert_eq(rc_test_read_file(ref->paths[i], &a), 0);
            cr_assert_eq(rc_test_read_file(got->paths[i], &b), 0);
            cr_assert(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
                      "%s: blob %s differs from the clean run's (%zu vs %zu bytes)", what,
                      ref->keys[i], a.len, b.len);
            rc_buf_free(&a);
            rc_buf_free(&b);
        }
    }
}

/* ---- processes ---------------------------------------------------------- */

static pid_t spawn(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_RDWR);
        dup2(dn, 1);
        dup2(dn, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start the command; SIGKILL it when the store holds at least files_at files
 * or after delay_s seconds, whichever comes first (0 = that trigger is off).
 * Returns 1 when it was killed, 0 when it finished first (exit status in *rc). */
static int run_and_kill(char *const argv[], const char *store, size_t files_at, double delay_s,
                        int *rc)
{
    pid_t pid = spawn(argv);
    cr_assert(pid > 0);
    double t0 = now_s();
    int status;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            return 0;
        }
        if ((files_at && count_files(store) >= files_at) ||
            (delay_s > 0 && now_s() - t0 >= delay_s)) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return 1;
        }
        usleep(500);
    }
}

static int run_to_end(char *const argv[])
{
    pid_t pid = spawn(argv);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- fixtures ------------------------------------------------------------ */

static void setup(void)
{
    char *d = rc_test_tmpdir("crash");
    snprintf(g_dir, sizeof g_dir, "%s", d);
    free(d);
    snprintf(g_sds, sizeof g_sds, "%s/sds", g_dir);
    snprintf(g_cfg, sizeof g_cfg, "%s/config.json", g_dir);
    char cmd[16384];
    snprintf(
        cmd, sizeof cmd,
        "%s sds --out '%s' --rate 20 --from 2025-11-04T00:00:00Z --to 2025-11-05T00:00:00Z "
        "--chan XX.CRA..HHZ --chan XX.CRB.00.BHZ --gap 2025-11-04T13:00:00Z/2025-11-04T13:25:00Z "
        ">/dev/null",
        rc_test_bin("r2cache-synth"), g_sds);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    static const char *const delay[] = {"--delay-ms", "30", NULL};
    g_server = rc_test_fdsn_start(g_sds, delay, &g_port);
    cr_assert(g_server > 0, "FDSN test server did not start");
    char json[4096];
    snprintf(
        json, sizeof json,
        "{\"source\": \"http://127.0.0.1:%d\",\n"
        " \"run\": {\"retry_interval\": \"1s\", \"retry_max\": \"1s\"},\n"
        " \"fetch\": {\"max_attempts\": 2, \"backoff_base_s\": 0.05, \"backoff_cap_s\": 0.1},\n"
        " \"volcanoes\": [{\"name\": \"crashvol\", \"stations\": [\n"
        "  {\"network\": \"XX\", \"station\": \"CRA\", \"location\": \"\", \"channel\": \"HHZ\", "
        "\"sample_rate\": 20},\n"
        "  {\"network\": \"XX\", \"station\": \"CRB\", \"location\": \"00\", \"channel\": \"BHZ\", "
        "\"sample_rate\": 20}]}]}\n",
        g_port);
    cr_assert_eq(rc_test_write_file(g_cfg, json, strlen(json)), 0);
}

static void teardown(void)
{
    rc_test_server_stop(g_server);
    g_server = -1;
    rc_test_rmtree(g_dir);
}

static void fault_log(const char *what, int kills, int between, const char *outcome)
{
    const char *path = getenv("RC_FAULT_LOG");
    if (!path || !*path) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "crash\t%s\t%d SIGKILLs, %d between a blob and its manifest entry\t%s\n", what,
            kills, between, outcome);
    fclose(f);
}

/* argv for the command: run (cron, --now at the end of the day, 7 h lookback)
 * or fill (09-15 h, the gap inside), on the given store. */
static void build_argv(const char *cmd, const char *store, char **argv, char *storeopt)
{
    snprintf(storeopt, 4300, "%s", store);
    int i = 0;
    argv[i++] = (char *)rc_test_bin("r2cache");
    argv[i++] = (char *)cmd;
    argv[i++] = "--config";
    argv[i++] = g_cfg;
    argv[i++] = "--store";
    argv[i++] = storeopt;
    argv[i++] = "--log-level";
    argv[i++] = "error";
    if (strcmp(cmd, "run") == 0) {
        argv[i++] = "--now";
        argv[i++] = "2025-11-05T00:02:00Z";
        argv[i++] = "--lookback";
        argv[i++] = "7h";
    } else {
        argv[i++] = "--from";
        argv[i++] = "2025-11-04T09:00:00Z";
        argv[i++] = "--to";
        argv[i++] = "2025-11-04T15:00:00Z";
    }
    argv[i] = NULL;
}

static void crash_trials(const char *cmd)
{
    char ref[4300], store[4300], sopt_ref[4300], sopt[4300];
    snprintf(ref, sizeof ref, "%s/ref-%s", g_dir, cmd);
    char *argv_ref[20], *argv[20];
    build_argv(cmd, ref, argv_ref, sopt_ref);
    double t0 = now_s();
    int rc = run_to_end(argv_ref);
    double clean_s = now_s() - t0;
    cr_assert_eq(rc, 0, "clean %s failed with exit %d", cmd, rc);
    snap sref;
    snap_take(ref, &sref);
    cr_assert_gt(sref.n, 20, "clean %s wrote only %zu objects", cmd, sref.n);
    check_crash_state(&sref, "clean run");
    size_t total_files = sref.files;

    srand(7);
    int kills = 0, between = 0;
    for (int t = 0; t < TRIALS_PER_COMMAND; t++) {
        snprintf(store, sizeof store, "%s/%s-%d", g_dir, cmd, t);
        build_argv(cmd, store, argv, sopt);
        /* first kill: after N files, N stepping through the write sequence */
        size_t at = 1 + (size_t)t * total_files / TRIALS_PER_COMMAND;
        /* second kill: at a random moment of a (resumed) run */
        double delay = clean_s * (0.1 + 0.8 * rand() / (double)RAND_MAX);
        for (int k = 0; k < 2; k++) {
            if (run_and_kill(argv, store, k == 0 ? at : 0, k == 0 ? 0 : delay, &rc)) {
                kills++;
                snap s;
                snap_take(store, &s);
                char when[128];
                snprintf(when, sizeof when, "%s trial %d after kill %d", cmd, t, k + 1);
                if (check_crash_state(&s, when) > 0) between++;
                snap_free(&s);
            } else {
                cr_assert_eq(rc, 0, "%s trial %d finished before the kill with exit %d", cmd, t,
                             rc);
            }
        }
        rc = run_to_end(argv);
        cr_assert_eq(rc, 0, "%s trial %d: rerun after the crash failed with exit %d", cmd, t, rc);
        snap s;
        snap_take(store, &s);
        char what[128];
        snprintf(what, sizeof what, "%s trial %d (killed at %zu files and %.3f s)", cmd, t, at,
                 delay);
        check_crash_state(&s, what);
        compare_stores(&sref, &s, what);
        snap_free(&s);
        rc_test_rmtree(store);
    }
    snap_free(&sref);
    cr_log_info("%s: %d SIGKILLs, %d of them between a blob and its manifest entry", cmd, kills,
                between);
    fault_log(cmd, kills, between,
              "rerun completes; store equal to a clean run's (keys, blob bytes, manifests "
              "apart from timestamps); never an entry without its blob or twice");
    /* at least 25 per command: run and fill together are killed 50 times or more */
    cr_assert_geq(kills, 25, "only %d kills landed before %s finished", kills, cmd);
    cr_assert_geq(between, 3, "only %d kills landed between a blob and its manifest entry",
                  between);
}

Test(crash, run_killed_anywhere_loses_nothing, .init = setup, .fini = teardown, .timeout = 600)
{
    crash_trials("run");
}

Test(crash, fill_killed_anywhere_loses_nothing, .init = setup, .fini = teardown, .timeout = 600)
{
    crash_trials("fill");
}
