/*
 * test_metrics.c: the Prometheus text of a run summary byte for byte, the
 * atomic file write, the Pushgateway URL and PUT (against
 * tests/push_listener.py, which records what it receives), and the real
 * binary leaving metrics behind on success, on an unusable store, on a bad
 * configuration, and carrying on when the push fails.
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <math.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "r2cache/metrics.h"
#include "r2cache/naming.h"
#include "support.h"

static const char expected_full[] =
    "# HELP r2cache_last_run_timestamp_seconds Unix time at which the last r2cache command of "
    "this label finished.\n"
    "# TYPE r2cache_last_run_timestamp_seconds gauge\n"
    "r2cache_last_run_timestamp_seconds{command=\"run\"} 1762294320\n"
    "# HELP r2cache_run_duration_seconds Wall time of that command, in seconds.\n"
    "# TYPE r2cache_run_duration_seconds gauge\n"
    "r2cache_run_duration_seconds{command=\"run\"} 12.500\n"
    "# HELP r2cache_exit_status Exit status of that command: 0 ok, 1 partial, 2 usage, 3 store or "
    "source unusable.\n"
    "# TYPE r2cache_exit_status gauge\n"
    "r2cache_exit_status{command=\"run\"} 1\n"
    "# HELP r2cache_stations Channels selected by the configuration, scope and shard.\n"
    "# TYPE r2cache_stations gauge\n"
    "r2cache_stations{command=\"run\"} 15\n"
    "# HELP r2cache_stations_failed Channels with at least one failed or incomplete window.\n"
    "# TYPE r2cache_stations_failed gauge\n"
    "r2cache_stations_failed{command=\"run\"} 2\n"
    "# HELP r2cache_windows Windows the last run or fill was responsible for.\n"
    "# TYPE r2cache_windows gauge\n"
    "r2cache_windows{command=\"run\"} 97\n"
    "# HELP r2cache_windows_failed Windows that failed or stayed incomplete after every retry.\n"
    "# TYPE r2cache_windows_failed gauge\n"
    "r2cache_windows_failed{command=\"run\"} 7\n"
    "# HELP r2cache_windows_no_data Windows for which the source had no sample at all.\n"
    "# TYPE r2cache_windows_no_data gauge\n"
    "r2cache_windows_no_data{command=\"run\"} 4\n"
    "# HELP r2cache_chunks_written_total Chunks written (new or replaced).\n"
    "# TYPE r2cache_chunks_written_total counter\n"
    "r2cache_chunks_written_total{command=\"run\"} 21\n"
    "# HELP r2cache_chunks_provisional_total Chunks written provisional, below the completeness "
    "threshold.\n"
    "# TYPE r2cache_chunks_provisional_total counter\n"
    "r2cache_chunks_provisional_total{command=\"run\"} 3\n"
    "# HELP r2cache_chunks_present Windows skipped because their chunk was already cached.\n"
    "# TYPE r2cache_chunks_present gauge\n"
    "r2cache_chunks_present{command=\"run\"} 60\n"
    "# HELP r2cache_requests_total Requests made to the source (HTTP attempts or SDS reads).\n"
    "# TYPE r2cache_requests_total counter\n"
    "r2cache_requests_total{command=\"run\"} 5\n"
    "# HELP r2cache_bytes_fetched miniSEED bytes received from the source.\n"
    "# TYPE r2cache_bytes_fetched gauge\n"
    "r2cache_bytes_fetched{command=\"run\"} 123456789\n"
    "# HELP r2cache_bytes_written Compressed chunk bytes written to the store.\n"
    "# TYPE r2cache_bytes_written gauge\n"
    "r2cache_bytes_written{command=\"run\"} 9876543210\n"
    "# HELP r2cache_gap_samples_filled Samples interpolated into gaps of the written chunks.\n"
    "# TYPE r2cache_gap_samples_filled gauge\n"
    "r2cache_gap_samples_filled{command=\"run\"} 42\n"
    "# HELP r2cache_manifests_written_total Daily manifest writes.\n"
    "# TYPE r2cache_manifests_written_total counter\n"
    "r2cache_manifests_written_total{command=\"run\"} 15\n";

static rc_engine_stats sample_stats(void)
{
    rc_engine_stats s;
    memset(&s, 0, sizeof s);
    s.windows = 97;
    s.added = 21;
    s.present = 60;
    s.nodata = 4;
    s.failed = 5;
    s.held = 2;
    s.provisional = 3;
    s.requests = 5;
    s.bytes_fetched = 123456789;
    s.bytes_written = 9876543210LL;
    s.gap_samples = 42;
    s.manifests = 15;
    return s;
}

Test(metrics, format_exact)
{
    rc_engine_stats s = sample_stats();
    rc_metrics_run m = {"run", 0, 0, 1762294320, 12.5, 1, 15, 2, &s, 0, NULL};
    rc_buf out = RC_BUF_INIT;
    rc_err e;
    cr_assert_eq(rc_metrics_format(&m, &out, &e), RC_OK);
    cr_assert_str_eq(out.data, expected_full);
    rc_buf_free(&out);
}

/* A sharded fill that does not count failed channels: shard label on every
 * series, no r2cache_stations_failed family at all. */
Test(metrics, format_shard_and_unknown_failed)
{
    rc_metrics_run m = {"fill", 3, 8, 1762300000, 0.0004, 0, 2, -1, NULL, 0, NULL};
    rc_buf out = RC_BUF_INIT;
    rc_err e;
    cr_assert_eq(rc_metrics_format(&m, &out, &e), RC_OK);
    cr_assert(strstr(out.data, "r2cache_exit_status{command=\"fill\",shard=\"3/8\"} 0\n"));
    cr_assert(
        strstr(out.data, "r2cache_run_duration_seconds{command=\"fill\",shard=\"3/8\"} 0.000\n"));
    cr_assert(strstr(out.data, "r2cache_stations{command=\"fill\",shard=\"3/8\"} 2\n"));
    cr_assert(strstr(out.data, "r2cache_chunks_written_total{command=\"fill\",shard=\"3/8\"} 0\n"));
    cr_assert_null(strstr(out.data, "stations_failed"));
    /* every sample line carries both labels */
    int samples = 0;
    for (char *l = out.data; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (*l == '#') continue;
        samples++;
        cr_assert_eq(strncmp(strchr(l, '{'), "{command=\"fill\",shard=\"3/8\"} ", 29), 0, "%.80s",
                     l);
    }
    cr_assert_eq(samples, 15);
    rc_buf_free(&out);
}

/* The per-channel families byte for byte: labels escaped, integers as
 * integers, +Inf for a channel with nothing cached. */
Test(metrics, channels_exact)
{
    rc_chan a, b;
    rc_err e;
    cr_assert_eq(rc_chan_parse("XX.AAA..HHZ", &a, &e), RC_OK);
    cr_assert_eq(rc_chan_parse("XX.BBB.00.BHZ", &b, &e), RC_OK);
    rc_metrics_chan v[2] = {{&a, 120, 0.5}, {&b, INFINITY, 0}};
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_metrics_channels(v, 2, "command=\"inventory\"", &out), 0);
    cr_assert_str_eq(
        out.data,
        "# HELP r2cache_channel_freshness_seconds Age of the newest cached sample of the channel, "
        "in seconds (+Inf: nothing cached in the last 7 days).\n"
        "# TYPE r2cache_channel_freshness_seconds gauge\n"
        "r2cache_channel_freshness_seconds{command=\"inventory\",network=\"XX\",station=\"AAA\","
        "location=\"\",channel=\"HHZ\"} 120\n"
        "r2cache_channel_freshness_seconds{command=\"inventory\",network=\"XX\",station=\"BBB\","
        "location=\"00\",channel=\"BHZ\"} +Inf\n"
        "# HELP r2cache_channel_completeness_ratio Completeness of the channel's last day of base "
        "windows (0..1; the 24 h ending at the newest window due).\n"
        "# TYPE r2cache_channel_completeness_ratio gauge\n"
        "r2cache_channel_completeness_ratio{command=\"inventory\",network=\"XX\",station=\"AAA\","
        "location=\"\",channel=\"HHZ\"} 0.5\n"
        "r2cache_channel_completeness_ratio{command=\"inventory\",network=\"XX\",station=\"BBB\","
        "location=\"00\",channel=\"BHZ\"} 0\n");
    rc_buf_free(&out);
}

/* gaps and inventory carry only the status families before their own. */
Test(metrics, status_only_families)
{
    rc_metrics_run m = {"gaps", 0, 0, 1762294320, 0.25, 1, 3, -1, NULL, 1, "x_extra 1\n"};
    rc_buf out = RC_BUF_INIT;
    rc_err e;
    cr_assert_eq(rc_metrics_format(&m, &out, &e), RC_OK);
    const char *tail = "# TYPE r2cache_stations gauge\nr2cache_stations{command=\"gaps\"} 3\n"
                       "x_extra 1\n";
    cr_assert_str_eq(out.data + out.len - strlen(tail), tail, "%s", out.data);
    cr_assert_null(strstr(out.data, "r2cache_windows"));
    cr_assert_null(strstr(out.data, "r2cache_chunks_written_total"));
    cr_assert(strstr(out.data, "\nr2cache_exit_status{command=\"gaps\"} 1\n"));
    rc_buf_free(&out);
}

Test(metrics, format_needs_command)
{
    rc_metrics_run m = {"", 0, 0, 0, 0, 0, 0, 0, NULL, 0, NULL};
    rc_buf out = RC_BUF_INIT;
    rc_err e;
    cr_assert_eq(rc_metrics_format(&m, &out, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "command"));
    rc_buf_free(&out);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

Test(metrics, write_file_replaces_atomically)
{
    char *dir = rc_test_tmpdir("metrics-file");
    char path[4300];
    snprintf(path, sizeof path, "%s/r2cache-run.prom", dir);
    rc_err e;
    cr_assert_eq(rc_metrics_write_file(path, "a 1\n", 4, &e), RC_OK, "%s", e.msg);
    struct stat st0;
    cr_assert_eq(stat(path, &st0), 0);
    cr_assert_eq(rc_metrics_write_file(path, expected_full, strlen(expected_full), &e), RC_OK);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(path, &b), 0);
    cr_assert_str_eq(b.data, expected_full);
    struct stat st1;
    cr_assert_eq(stat(path, &st1), 0);
    /* a rename gives a new inode; an in-place rewrite would keep the old one */
    cr_assert_neq(st0.st_ino, st1.st_ino);
    cr_assert_eq(st1.st_mode & 0777, 0644);
    cr_assert_eq(count_entries(dir), 1, "a temp file was left behind");
    rc_buf_free(&b);

    char bad[4400];
    snprintf(bad, sizeof bad, "%s/no-such-dir/r2cache.prom", dir);
    cr_assert_eq(rc_metrics_write_file(bad, "a 1\n", 4, &e), RC_EIO);
    cr_assert(strstr(e.msg, bad), "%s", e.msg);
    cr_assert(strstr(e.msg, "No such file or directory"), "%s", e.msg);
    rc_test_rmtree(dir);
    free(dir);
}

Test(metrics, push_url)
{
    rc_buf u = RC_BUF_INIT;
    rc_err e;
    cr_assert_eq(rc_metrics_push_url("http://pgw:9091//", "pod-7.node", "run", &u, &e), RC_OK);
    cr_assert_str_eq(u.data, "http://pgw:9091/metrics/job/r2cache/instance/pod-7.node/command/run");
    rc_buf_reset(&u);
    cr_assert_eq(rc_metrics_push_url("https://pgw.example/base", "a/b c", "fill", &u, &e), RC_OK);
    cr_assert_str_eq(u.data,
                     "https://pgw.example/base/metrics/job/r2cache/instance/a_b_c/command/fill");
    rc_buf_reset(&u);
    cr_assert_eq(rc_metrics_push_url("pgw:9091", "x", "run", &u, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "--metrics-push pgw:9091"), "%s", e.msg);
    rc_buf_free(&u);
}

/* ---- against the recording listener ------------------------------------ */

static pid_t start_listener(const char *out, int status, int *port)
{
    char script[4200], st[16];
    snprintf(script, sizeof script, "%s/tests/push_listener.py", RC_SOURCE_DIR);
    snprintf(st, sizeof st, "%d", status);
    char *argv[] = {"python3", script, "--out", (char *)out, "--status", st, NULL};
    pid_t pid = rc_test_server_start(argv, 20, port);
    cr_assert(pid > 0, "push listener did not start");
    return pid;
}

/* The requests the listener recorded, one JSON object per line. */
static cJSON *recorded(const char *path, int nth)
{
    rc_buf b = RC_BUF_INIT;
    if (rc_test_read_file(path, &b) != 0) return NULL;
    char *line = b.data;
    for (int i = 0; line && i < nth; i++)
        line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
    cJSON *o = line && *line ? cJSON_Parse(line) : NULL;
    rc_buf_free(&b);
    return o;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

Test(metrics, push_put_to_listener)
{
    char *dir = rc_test_tmpdir("metrics-push");
    char rec[4300], url[256];
    snprintf(rec, sizeof rec, "%s/requests.jsonl", dir);
    int port = 0;
    pid_t pid = start_listener(rec, 200, &port);
    snprintf(url, sizeof url,
             "http://127.0.0.1:%d/metrics/job/r2cache/instance/test-host/command/run", port);
    rc_err e;
    rc_err_clear(&e);
    int rc = rc_metrics_push(url, expected_full, strlen(expected_full), 10, &e);
    cJSON *r = recorded(rec, 0);
    rc_test_server_stop(pid);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    cr_assert(r, "the listener recorded no request");
    cr_assert_str_eq(jstr(r, "method"), "PUT");
    cr_assert_str_eq(jstr(r, "path"), "/metrics/job/r2cache/instance/test-host/command/run");
    cr_assert_str_eq(jstr(r, "content_type"), "text/plain; version=0.0.4");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "expect")), "sent an Expect header");
    cr_assert_str_eq(jstr(r, "body"), expected_full);
    cJSON_Delete(r);
    rc_test_rmtree(dir);
    free(dir);
}

Test(metrics, push_rejected_names_status_and_reason)
{
    char *dir = rc_test_tmpdir("metrics-push400");
    char rec[4300], url[256];
    snprintf(rec, sizeof rec, "%s/requests.jsonl", dir);
    int port = 0;
    pid_t pid = start_listener(rec, 400, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/r2cache/instance/h/command/run",
             port);
    rc_err e;
    rc_err_clear(&e);
    int rc = rc_metrics_push(url, "x 1\n", 4, 10, &e);
    rc_test_server_stop(pid);
    cr_assert_eq(rc, RC_EIO);
    char want[512];
    snprintf(want, sizeof want,
             "metrics push to %s: HTTP 400: pushed metrics are invalid or inconsistent ", url);
    cr_assert_str_eq(e.msg, want);
    rc_test_rmtree(dir);
    free(dir);
}

/* ---- the real binary ---------------------------------------------------- */

static char *make_sds_config(char *cfg, size_t cap, const char *dir, const char *store)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "%s sds --out '%s/sds' --rate 100 --from 2025-11-04T00:00:00Z "
             "--to 2025-11-04T02:00:00Z --chan XX.AAA..HHZ",
             rc_test_bin("r2cache-synth"), dir);
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "synth: %s", err.data ? err.data : "");
    rc_buf_free(&err);
    snprintf(cfg, cap, "%s/config.json", dir);
    char json[8192];
    snprintf(json, sizeof json,
             "{\"source\": \"sds://%s/sds\", \"store\": \"%s\",\n"
             " \"volcanoes\": [{\"name\": \"testvol\", \"stations\": [\n"
             "  {\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"\", \"channel\": "
             "\"HHZ\", \"sample_rate\": 100}]}]}\n",
             dir, store);
    cr_assert_eq(rc_test_write_file(cfg, json, strlen(json)), 0);
    return cfg;
}

static void assert_line(const char *text, const char *line)
{
    char want[512];
    snprintf(want, sizeof want, "\n%s\n", line);
    cr_assert(strstr(text, want), "missing line \"%s\" in:\n%s", line, text);
}

Test(metrics, run_writes_file_and_pushes_the_same_text)
{
    char *dir = rc_test_tmpdir("metrics-run");
    char cfg[4300], store[4300], prom[4300], rec[4300];
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(prom, sizeof prom, "%s/r2cache-run.prom", dir);
    snprintf(rec, sizeof rec, "%s/requests.jsonl", dir);
    make_sds_config(cfg, sizeof cfg, dir, store);
    int port = 0;
    pid_t pid = start_listener(rec, 200, &port);
    char cmd[16384];
    time_t before = time(NULL);
    snprintf(cmd, sizeof cmd,
             "R2CACHE_METRICS_INSTANCE=shard-pod-0 %s run --config '%s' --now "
             "2025-11-04T01:02:00Z --log-format json --metrics-file '%s' "
             "--metrics-push http://127.0.0.1:%d/",
             rc_test_bin("r2cache"), cfg, prom, port);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    time_t after = time(NULL);
    cJSON *r = recorded(rec, 0);
    rc_test_server_stop(pid);
    cr_assert_eq(rc, 0, "run failed: %s", err.data ? err.data : "");
    rc_buf text = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(prom, &text), 0, "no metrics file");
    assert_line(text.data, "r2cache_exit_status{command=\"run\"} 0");
    assert_line(text.data, "r2cache_stations{command=\"run\"} 1");
    assert_line(text.data, "r2cache_stations_failed{command=\"run\"} 0");
    assert_line(text.data, "r2cache_windows{command=\"run\"} 6");
    assert_line(text.data, "r2cache_chunks_written_total{command=\"run\"} 6");
    assert_line(text.data, "r2cache_windows_failed{command=\"run\"} 0");
    assert_line(text.data, "r2cache_manifests_written_total{command=\"run\"} 1");
    /* the newest window due at 01:02 (delay 2 min) ends at 01:00 and is cached: 120 s old;
     * of the last day's 144 windows (02:00 .. 01:00) the run cached 6 */
    assert_line(text.data, "# TYPE r2cache_channel_freshness_seconds gauge\n"
                           "r2cache_channel_freshness_seconds{command=\"run\",network=\"XX\","
                           "station=\"AAA\",location=\"\",channel=\"HHZ\"} 120");
    assert_line(text.data, "# TYPE r2cache_channel_completeness_ratio gauge\n"
                           "r2cache_channel_completeness_ratio{command=\"run\",network=\"XX\","
                           "station=\"AAA\",location=\"\",channel=\"HHZ\"} 0.0416667");
    long long ts = 0;
    const char *p = strstr(text.data, "\nr2cache_last_run_timestamp_seconds{command=\"run\"} ");
    cr_assert(p);
    sscanf(strchr(p, '}') + 2, "%lld", &ts);
    cr_assert(ts >= before && ts <= after, "timestamp %lld not in [%lld, %lld]", ts,
              (long long)before, (long long)after);
    cr_assert(r, "nothing was pushed: %s", err.data ? err.data : "");
    cr_assert_str_eq(jstr(r, "path"), "/metrics/job/r2cache/instance/shard-pod-0/command/run");
    cr_assert_str_eq(jstr(r, "body"), text.data);
    cJSON_Delete(r);
    rc_buf_free(&text);
    rc_buf_free(&err);
    rc_test_rmtree(dir);
    free(dir);
}

/* gaps --metrics-file: per channel, span and severity, zeros included; and
 * inventory --metrics-file: per-channel freshness and completeness (its now
 * is the clock: the 2025 data is more than 7 days old, so +Inf and 0). */
Test(metrics, gaps_and_inventory_write_their_families)
{
    char *dir = rc_test_tmpdir("metrics-gaps");
    char cfg[4300], store[4300], prom[4300];
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(prom, sizeof prom, "%s/r2cache-gaps.prom", dir);
    make_sds_config(cfg, sizeof cfg, dir, store);
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s run --config '%s' --now 2025-11-04T01:02:00Z --log-format json",
             rc_test_bin("r2cache"), cfg);
    rc_buf err = RC_BUF_INIT, text = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "%s", err.data ? err.data : "");
    /* 00:00-01:00 cached: 10m 01:00-06:00 (5 h) and 6h 00:00-06:00 are moderate gaps */
    snprintf(cmd, sizeof cmd,
             "%s gaps --config '%s' --from 2025-11-04 --to 2025-11-04T06:00:00Z --now 2025-11-05 "
             "--log-format json --metrics-file '%s'",
             rc_test_bin("r2cache"), cfg, prom);
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "%s", err.data ? err.data : "");
    cr_assert_eq(rc_test_read_file(prom, &text), 0, "no metrics file");
    assert_line(text.data, "r2cache_exit_status{command=\"gaps\"} 0");
    assert_line(text.data, "r2cache_stations{command=\"gaps\"} 1");
    cr_assert_null(strstr(text.data, "r2cache_windows"), "%s", text.data);
#define L "{command=\"gaps\",network=\"XX\",station=\"AAA\",location=\"\",channel=\"HHZ\","
    assert_line(
        text.data,
        "# TYPE r2cache_channel_gaps gauge\n"
        "r2cache_channel_gaps" L "span=\"10m\",kind=\"missing\",severity=\"minor\"} 0\n"
        "r2cache_channel_gaps" L "span=\"10m\",kind=\"missing\",severity=\"moderate\"} 1\n"
        "r2cache_channel_gaps" L "span=\"10m\",kind=\"missing\",severity=\"critical\"} 0\n"
        "r2cache_channel_gaps" L "span=\"10m\",kind=\"source-empty\",severity=\"minor\"} 0\n"
        "r2cache_channel_gaps" L "span=\"10m\",kind=\"source-empty\",severity=\"moderate\"} "
        "0\n"
        "r2cache_channel_gaps" L "span=\"10m\",kind=\"source-empty\",severity=\"critical\"} "
        "0\n"
        "r2cache_channel_gaps" L "span=\"6h\",kind=\"missing\",severity=\"minor\"} 0\n"
        "r2cache_channel_gaps" L "span=\"6h\",kind=\"missing\",severity=\"moderate\"} 1\n"
        "r2cache_channel_gaps" L "span=\"6h\",kind=\"missing\",severity=\"critical\"} 0");
    assert_line(text.data, "# TYPE r2cache_channel_gap_seconds gauge\n"
                           "r2cache_channel_gap_seconds" L
                           "span=\"10m\",kind=\"missing\",severity=\"minor\"} 0\n"
                           "r2cache_channel_gap_seconds" L
                           "span=\"10m\",kind=\"missing\",severity=\"moderate\"} 18000");
    assert_line(text.data, "r2cache_channel_gap_seconds" L
                           "span=\"6h\",kind=\"missing\",severity=\"moderate\"} 21600");
    assert_line(text.data, "r2cache_channel_gap_seconds" L
                           "span=\"6h\",kind=\"source-empty\",severity=\"critical\"} 0");
#undef L
    /* the file ends with the last family: nothing after it */
    cr_assert_eq(strcmp(text.data + text.len - 2, "0\n"), 0);
    rc_buf_reset(&text);

    snprintf(prom, sizeof prom, "%s/r2cache-inventory.prom", dir);
    snprintf(cmd, sizeof cmd, "%s inventory --config '%s' --log-format json --metrics-file '%s'",
             rc_test_bin("r2cache"), cfg, prom);
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "%s", err.data ? err.data : "");
    cr_assert_eq(rc_test_read_file(prom, &text), 0, "no inventory metrics file");
    assert_line(text.data, "r2cache_exit_status{command=\"inventory\"} 0");
    assert_line(text.data, "r2cache_channel_freshness_seconds{command=\"inventory\",network=\"XX\","
                           "station=\"AAA\",location=\"\",channel=\"HHZ\"} +Inf");
    assert_line(text.data,
                "r2cache_channel_completeness_ratio{command=\"inventory\",network=\"XX\","
                "station=\"AAA\",location=\"\",channel=\"HHZ\"} 0");
    rc_buf_free(&text);
    rc_buf_free(&err);
    rc_test_rmtree(dir);
    free(dir);
}

Test(metrics, failed_push_is_logged_not_fatal)
{
    char *dir = rc_test_tmpdir("metrics-nopush");
    char cfg[4300], store[4300];
    snprintf(store, sizeof store, "%s/store", dir);
    make_sds_config(cfg, sizeof cfg, dir, store);
    char cmd[16384];
    /* port 1 on loopback: connection refused at once */
    snprintf(cmd, sizeof cmd,
             "%s run --config '%s' --now 2025-11-04T01:02:00Z --log-format text "
             "--metrics-push http://127.0.0.1:1 --metrics-file '%s/missing-dir/x.prom'",
             rc_test_bin("r2cache"), cfg, dir);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "a metrics failure changed the exit status: %s", err.data);
    cr_assert(strstr(err.data, "warn  metrics push to http://127.0.0.1:1/metrics/job/r2cache/"),
              "%s", err.data);
    cr_assert(strstr(err.data, "missing-dir/x.prom: cannot create"), "%s", err.data);
    rc_buf_free(&err);
    rc_test_rmtree(dir);
    free(dir);
}

/* A job that cannot start still reports how it ended. */
Test(metrics, unusable_store_and_bad_config_report_exit_status)
{
    char *dir = rc_test_tmpdir("metrics-fail");
    char cfg[4300], store[4300], prom[4300];
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(prom, sizeof prom, "%s/r2cache-run.prom", dir);
    make_sds_config(cfg, sizeof cfg, dir, store);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u R2_ACCESS_KEY_ID "
             "-u R2_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN %s run --config '%s' "
             "--store s3://no-keys-bucket --log-format json --metrics-file '%s'",
             rc_test_bin("r2cache"), cfg, prom);
    rc_buf err = RC_BUF_INIT, text = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 3, "%s", err.data ? err.data : "");
    cr_assert_eq(rc_test_read_file(prom, &text), 0, "no metrics file after exit 3");
    assert_line(text.data, "r2cache_exit_status{command=\"run\"} 3");
    assert_line(text.data, "r2cache_chunks_written_total{command=\"run\"} 0");
    cr_assert_null(strstr(text.data, "stations_failed"));
    rc_buf_reset(&text);
    rc_buf_reset(&err);

    snprintf(cmd, sizeof cmd,
             "%s run --config '%s/no-such-config.json' --log-format json --metrics-file '%s'",
             rc_test_bin("r2cache"), dir, prom);
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 2, "%s", err.data ? err.data : "");
    cr_assert_eq(rc_test_read_file(prom, &text), 0);
    assert_line(text.data, "r2cache_exit_status{command=\"run\"} 2");
    assert_line(text.data, "r2cache_stations{command=\"run\"} 0");
    rc_buf_free(&text);
    rc_buf_free(&err);
    rc_test_rmtree(dir);
    free(dir);
}
