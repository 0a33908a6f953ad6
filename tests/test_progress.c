/*
 * test_progress.c: the progress meter of fill and migrate (src/progress.c)
 * and the fields of JSON log lines (src/log.c).
 *
 * The meter's figures and line are checked exactly on a meter; the built
 * binary is then run over a 4-day, 2-channel fill from a synthetic SDS
 * archive into a local store, once through a pseudo-terminal (forkpty: the
 * line redrawn in place, monotonic, ending at 100 %), once without one (the
 * interval lines as JSON with exact fields), and a migrate through a
 * pseudo-terminal.
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "r2cache/log.h"
#include "r2cache/progress.h"
#include "support.h"

/* 4 days x 2 channels x (144 ten-minute + 4 six-hour windows) */
#define DAYS 4
#define WINDOWS_PER_DAY 148
#define TOTAL_WINDOWS (DAYS * 2 * WINDOWS_PER_DAY)

static char g_sds[4200];
static char *g_dir;
static char g_config[4300];

static void make_sds(void)
{
    snprintf(g_sds, sizeof g_sds, "%s/test-tmp/progress-sds", RC_BINARY_DIR);
    char marker[4300];
    snprintf(marker, sizeof marker, "%s/.complete-4", g_sds);
    struct stat st;
    if (stat(marker, &st) == 0) return;
    const char *synth = rc_test_bin("r2cache-synth");
    char cmd[32768];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && "
             "%s sds --out '%s' --rate 10 --from 2025-11-01 --to 2025-11-05 --chan XX.AAA..BHZ && "
             "%s sds --out '%s' --rate 10 --from 2025-11-01 --to 2025-11-05 --chan XX.BBB..BHZ && "
             "touch '%s'",
             g_sds, synth, g_sds, synth, g_sds, marker);
    rc_buf err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "r2cache-synth failed: %s", err.data ? err.data : "");
    rc_buf_free(&err);
}

static void setup(void)
{
    make_sds();
    g_dir = rc_test_tmpdir("progress");
    cr_assert(g_dir);
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    char json[16384];
    snprintf(
        json, sizeof json,
        "{\"source\": \"sds://%s\", \"store\": \"%s/store\",\n"
        " \"volcanoes\": [{\"name\": \"testvol\", \"location\": \"testland\", \"stations\": [\n"
        "  {\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"\", \"channel\": "
        "\"BHZ\", \"sample_rate\": 10},\n"
        "  {\"network\": \"XX\", \"station\": \"BBB\", \"location\": \"\", \"channel\": "
        "\"BHZ\", \"sample_rate\": 10}]}]}\n",
        g_sds, g_dir);
    cr_assert_eq(rc_test_write_file(g_config, json, strlen(json)), 0);
}

static void teardown(void)
{
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

/* Run the built r2cache with args on a pseudo-terminal (stdin, stdout and
 * stderr all on it); everything it wrote goes to out. Returns the exit status. */
static int run_pty(const char *args, rc_buf *out)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "exec %s %s", rc_test_bin("r2cache"), args);
    int master = -1;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    cr_assert(pid >= 0, "forkpty: %s", strerror(errno));
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    char tmp[4096];
    for (;;) {
        ssize_t n = read(master, tmp, sizeof tmp);
        if (n > 0) {
            rc_buf_append(out, tmp, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break; /* EIO: the child has closed the terminal */
    }
    close(master);
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A progress line as the terminal shows it, parsed. */
typedef struct pline {
    double percent, per_second;
    long long done, total;
    char unit[32];
} pline;

/* Every redraw of the meter of `command` in out (segments between \r and \n
 * that start with the command's name followed by a percentage). */
static size_t parse_lines(const char *out, const char *command, pline *v, size_t max)
{
    size_t n = 0, cl = strlen(command);
    const char *p = out;
    while (p && *p && n < max) {
        size_t len = strcspn(p, "\r\n");
        if (len > cl && strncmp(p, command, cl) == 0 && p[cl] == ' ') {
            char seg[512];
            snprintf(seg, sizeof seg, "%.*s", (int)len, p);
            char unit[32], unit2[40];
            pline l;
            if (sscanf(seg + cl, " %lf%% %lld/%lld %31s %lf %39s", &l.percent, &l.done, &l.total,
                       unit, &l.per_second, unit2) == 6) {
                snprintf(l.unit, sizeof l.unit, "%s", unit);
                char want[40];
                snprintf(want, sizeof want, "%s/s", unit);
                cr_assert_str_eq(unit2, want, "rate unit in \"%s\"", seg);
                cr_assert(strstr(seg, "elapsed ") && strstr(seg, "ETA "), "fields of \"%s\"", seg);
                /* the line clears what a longer one before it left */
                cr_assert(strncmp(p + len - 3, "\033[K", 3) == 0, "no clear-to-EOL in \"%s\"", seg);
                v[n++] = l;
            }
        }
        p += len;
        while (*p == '\r' || *p == '\n')
            p++;
    }
    return n;
}

/* --- the meter itself ---------------------------------------------------- */

Test(progress, figures_and_line)
{
    rc_progress_opts o = {"fill", "windows", NULL, NULL, 0};
    rc_progress p;
    rc_progress_init(&p, &o, 1000);
    rc_progress_update(&p, 250, 1500000);
    rc_progress_update(&p, 100, 10); /* never backwards */
    rc_progress_figures f;
    rc_progress_figures_at(&p, 10.0, &f);
    cr_assert_eq(f.done, 250);
    cr_assert_eq(f.total, 1000);
    cr_assert_eq(f.bytes, 1500000);
    cr_assert_float_eq(f.percent, 25.0, 1e-9);
    /* rounded down: 99.96 % is not yet 100 % */
    rc_progress r;
    rc_progress_init(&r, &o, 10000);
    rc_progress_update(&r, 9996, 0);
    rc_progress_figures g;
    rc_progress_figures_at(&r, 1.0, &g);
    cr_assert_float_eq(g.percent, 99.9, 1e-9);
    cr_assert_float_eq(f.per_second, 25.0, 1e-9);
    cr_assert_float_eq(f.eta_s, 30.0, 1e-9);
    char line[256];
    rc_progress_format(&p, &f, line, sizeof line);
    cr_assert_str_eq(line,
                     "fill  25.0%  250/1000 windows  25.0 windows/s  1.5 MB  elapsed 10s  ETA 30s");
    rc_progress_figures_at(&p, 3725.0, &f);
    rc_progress_format(&p, &f, line, sizeof line);
    cr_assert_str_eq(
        line, "fill  25.0%  250/1000 windows  0.1 windows/s  1.5 MB  elapsed 1h02m  ETA 3h06m");
    /* nothing done yet: no ETA */
    rc_progress q;
    rc_progress_init(&q, &o, 0);
    rc_progress_figures_at(&q, 5.0, &f);
    cr_assert(f.eta_s < 0);
    rc_progress_format(&q, &f, line, sizeof line);
    cr_assert_str_eq(line, "fill   0.0%  0/0 windows  0.0 windows/s  0 B  elapsed 5s  ETA -");
}

Test(progress, interval_parse)
{
    double v = -1;
    cr_assert_eq(rc_progress_interval_parse("30", &v), 0);
    cr_assert_float_eq(v, 30.0, 1e-9);
    cr_assert_eq(rc_progress_interval_parse("0", &v), 0);
    cr_assert_float_eq(v, 0.0, 1e-9);
    cr_assert_eq(rc_progress_interval_parse("0.5", &v), 0);
    cr_assert_float_eq(v, 0.5, 1e-9);
    cr_assert_eq(rc_progress_interval_parse("-1", &v), -1);
    cr_assert_eq(rc_progress_interval_parse("10s", &v), -1);
    cr_assert_eq(rc_progress_interval_parse("", &v), -1);
}

/* --- JSON log lines with fields ----------------------------------------- */

Test(progress, log_fields_json_and_text)
{
    char *path = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&path, &len);
    cr_assert(mem);
    rc_log lg;
    rc_log_init(&lg, mem, RC_LOG_INFO, RC_LOG_JSON);
    rc_log_field f[] = {
        RC_LOG_STR("channel", "XX.AAA..BHZ"),
        RC_LOG_NUM("chunks_written", 148),
        RC_LOG_NUM("bytes", 4428444),
        RC_LOG_STR("status", "ok"),
        RC_LOG_STR("msg", "not me"),
        RC_LOG_NUM("eta_s", NAN),
        RC_LOG_STR("error", NULL),
    };
    rc_log_kv(&lg, RC_LOG_INFO, "channel", f, sizeof f / sizeof *f, "%s: %d chunks", "XX.AAA..BHZ",
              148);
    rc_log_kv(&lg, RC_LOG_DEBUG, "channel", f, 1, "below the level");
    fflush(mem);
    cr_assert_eq(strchr(path, '\n'), path + len - 1, "one line: %s", path);
    cJSON *o = cJSON_Parse(path);
    cr_assert(o, "not JSON: %s", path);
    const char *want[] = {"ts",    "level",  "event", "channel", "chunks_written",
                          "bytes", "status", "eta_s", "error",   "msg"};
    int i = 0;
    for (cJSON *it = o->child; it; it = it->next, i++) {
        cr_assert(i < 10, "extra field %s", it->string);
        cr_assert_str_eq(it->string, want[i]);
    }
    cr_assert_eq(i, 10);
    cr_assert_str_eq(cJSON_GetObjectItem(o, "level")->valuestring, "info");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "event")->valuestring, "channel");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "channel")->valuestring, "XX.AAA..BHZ");
    cr_assert_eq(cJSON_GetObjectItem(o, "chunks_written")->valuedouble, 148);
    cr_assert_eq(cJSON_GetObjectItem(o, "bytes")->valuedouble, 4428444);
    cr_assert_str_eq(cJSON_GetObjectItem(o, "status")->valuestring, "ok");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "eta_s")));
    cr_assert_str_eq(cJSON_GetObjectItem(o, "error")->valuestring, "");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "msg")->valuestring, "XX.AAA..BHZ: 148 chunks");
    cJSON_Delete(o);
    fclose(mem);
    free(path);

    /* text: the message alone, as before */
    path = NULL;
    mem = open_memstream(&path, &len);
    rc_log_init(&lg, mem, RC_LOG_INFO, RC_LOG_TEXT);
    rc_log_kv(&lg, RC_LOG_WARN, "channel", f, 2, "plain %d", 7);
    fflush(mem);
    cr_assert(len > 25);
    cr_assert_str_eq(path + 24, " warn  plain 7\n", "got \"%s\"", path);
    fclose(mem);
    free(path);
}

/* --- the binary: fill and migrate --------------------------------------- */

Test(progress, fill_on_a_terminal, .init = setup, .fini = teardown)
{
    char args[8192];
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-01 --to 2025-11-05 --batch-days 1 "
             "--log-format json",
             g_config);
    rc_buf out = RC_BUF_INIT;
    int rc = run_pty(args, &out);
    cr_assert_eq(rc, 0, "fill failed: %s", out.data ? out.data : "");
    cr_assert(out.data);
    cr_assert_null(strstr(out.data, "days "), "the old per-batch display: %s", out.data);
    pline v[4096];
    size_t n = parse_lines(out.data, "fill", v, 4096);
    cr_assert(n >= 2, "%zu progress lines in: %s", n, out.data);
    cr_assert(v[0].percent < 100, "first line already at %.1f%%", v[0].percent);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(v[i].unit, "windows");
        cr_assert_eq(v[i].total, TOTAL_WINDOWS, "line %zu: total %lld", i, v[i].total);
        cr_assert(v[i].done >= 0 && v[i].done <= v[i].total);
        cr_assert_float_eq(v[i].percent, 100.0 * (double)v[i].done / (double)v[i].total, 0.101);
        if (i) {
            cr_assert(v[i].done >= v[i - 1].done, "line %zu went back: %lld after %lld", i,
                      v[i].done, v[i - 1].done);
            cr_assert(v[i].percent >= v[i - 1].percent);
        }
    }
    cr_assert_float_eq(v[n - 1].percent, 100.0, 1e-9);
    cr_assert_eq(v[n - 1].done, TOTAL_WINDOWS);
    /* the last redraw ends the line, and the summary starts a line of its own */
    const char *last = NULL;
    for (const char *q = strstr(out.data, "fill 100.0%"); q; q = strstr(q + 1, "fill 100.0%"))
        last = q;
    cr_assert(last);
    const char *eol = strstr(last, "\033[K");
    cr_assert(eol && strncmp(eol, "\033[K\r\n", 5) == 0, "the meter line is not ended");
    const char *sum = strstr(out.data, "\"event\":\"summary\"");
    cr_assert(sum);
    while (sum > out.data && *sum != '{')
        sum--;
    cr_assert(sum && sum > last, "no summary line after the meter");
    cr_assert(strncmp(sum - 4, "\r\033[K", 4) == 0 && sum[-5] == '\n',
              "summary not at the start of a line of its own");
    rc_buf_free(&out);
}

Test(progress, fill_without_terminal_json_lines, .init = setup, .fini = teardown)
{
    char args[8192];
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-01 --to 2025-11-05 --batch-days 1 "
             "--log-format json --progress-interval 0.000001 </dev/null",
             g_config);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_r2cache(args, &out, &err);
    cr_assert_eq(rc, 0, "fill failed: %s", err.data ? err.data : "");
    cr_assert(err.data);
    cr_assert_null(strchr(err.data, '\r'), "a terminal redraw without a terminal");
    static const char *const keys[] = {"ts",        "level", "event", "command",    "unit",
                                       "percent",   "done",  "total", "per_second", "bytes",
                                       "elapsed_s", "eta_s", "msg"};
    size_t nprog = 0, nchan = 0;
    double last_done = -1, last_pct = -1;
    cJSON *last = NULL, *summary = NULL;
    char *save = NULL;
    for (char *ln = strtok_r(err.data, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(ln);
        cr_assert(o, "not a JSON line: %s", ln);
        const char *ev = cJSON_GetObjectItem(o, "event")->valuestring;
        if (strcmp(ev, "progress") == 0) {
            size_t k = 0;
            for (cJSON *it = o->child; it; it = it->next, k++) {
                cr_assert(k < sizeof keys / sizeof *keys, "extra field %s: %s", it->string, ln);
                cr_assert_str_eq(it->string, keys[k], "%s", ln);
            }
            cr_assert_eq(k, sizeof keys / sizeof *keys, "%s", ln);
            cr_assert_str_eq(cJSON_GetObjectItem(o, "level")->valuestring, "info");
            cr_assert_str_eq(cJSON_GetObjectItem(o, "command")->valuestring, "fill");
            cr_assert_str_eq(cJSON_GetObjectItem(o, "unit")->valuestring, "windows");
            cr_assert_eq(cJSON_GetObjectItem(o, "total")->valuedouble, TOTAL_WINDOWS, "%s", ln);
            double d = cJSON_GetObjectItem(o, "done")->valuedouble;
            double pct = cJSON_GetObjectItem(o, "percent")->valuedouble;
            cr_assert(d >= last_done && pct >= last_pct, "went back: %s", ln);
            cr_assert_float_eq(pct, floor(1000.0 * d / TOTAL_WINDOWS) / 10, 1e-9, "%s", ln);
            cr_assert(strncmp(cJSON_GetObjectItem(o, "msg")->valuestring, "fill ", 5) == 0);
            last_done = d;
            last_pct = pct;
            nprog++;
            cJSON_Delete(last);
            last = o;
            continue;
        }
        if (strcmp(ev, "channel") == 0) {
            /* every channel-day of this synthetic archive is whole */
            char day[16];
            const char *w = cJSON_GetObjectItem(o, "window")->valuestring;
            cr_assert(strlen(w) == 41 && sscanf(w, "2025-11-%2[0-9]", day) == 1, "%s", ln);
            char want[64];
            snprintf(want, sizeof want, "2025-11-%s", day);
            cr_assert(strncmp(w, want, 10) == 0);
            cr_assert_eq(cJSON_GetObjectItem(o, "chunks_written")->valuedouble, WINDOWS_PER_DAY);
            cr_assert_eq(cJSON_GetObjectItem(o, "samples")->valuedouble, 2 * 864000.0, "%s", ln);
            cr_assert_eq(cJSON_GetObjectItem(o, "failed")->valuedouble, 0);
            cr_assert(cJSON_GetObjectItem(o, "bytes")->valuedouble > 0);
            cr_assert_str_eq(cJSON_GetObjectItem(o, "status")->valuestring, "ok");
            const char *ch = cJSON_GetObjectItem(o, "channel")->valuestring;
            cr_assert(!strcmp(ch, "XX.AAA..BHZ") || !strcmp(ch, "XX.BBB..BHZ"), "%s", ch);
            cr_assert_null(cJSON_GetObjectItem(o, "error"));
            nchan++;
        } else if (strcmp(ev, "summary") == 0) {
            cJSON_Delete(summary);
            summary = o;
            continue;
        }
        cJSON_Delete(o);
    }
    cr_assert(nprog >= DAYS, "%zu progress lines", nprog);
    cr_assert_eq(nchan, DAYS * 2);
    cr_assert(last);
    cr_assert_eq(cJSON_GetObjectItem(last, "percent")->valuedouble, 100);
    cr_assert_eq(cJSON_GetObjectItem(last, "done")->valuedouble, TOTAL_WINDOWS);
    cr_assert_eq(cJSON_GetObjectItem(last, "eta_s")->valuedouble, 0);
    cr_assert(summary);
    cr_assert_str_eq(cJSON_GetObjectItem(summary, "command")->valuestring, "fill");
    cr_assert_str_eq(cJSON_GetObjectItem(summary, "status")->valuestring, "complete");
    cr_assert_str_eq(cJSON_GetObjectItem(summary, "window")->valuestring,
                     "2025-11-01T00:00:00Z/2025-11-05T00:00:00Z");
    cr_assert_eq(cJSON_GetObjectItem(summary, "windows")->valuedouble, TOTAL_WINDOWS);
    cr_assert_eq(cJSON_GetObjectItem(summary, "chunks_written")->valuedouble, TOTAL_WINDOWS);
    cr_assert_eq(cJSON_GetObjectItem(summary, "samples")->valuedouble, DAYS * 2 * 2 * 864000.0);
    cr_assert_eq(cJSON_GetObjectItem(summary, "failed")->valuedouble, 0);
    cr_assert_eq(cJSON_GetObjectItem(summary, "requests")->valuedouble, DAYS);
    cJSON_Delete(last);
    cJSON_Delete(summary);
    rc_buf_free(&out);
    rc_buf_free(&err);

    /* 0: no progress line at all; a second run finds everything present */
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-01 --to 2025-11-05 --log-format json "
             "--progress-interval 0",
             g_config);
    rc_buf out2 = RC_BUF_INIT, err2 = RC_BUF_INIT;
    cr_assert_eq(rc_test_r2cache(args, &out2, &err2), 0);
    cr_assert_null(strstr(err2.data, "\"event\":\"progress\""), "%s", err2.data);
    cr_assert_null(strstr(err2.data, "\"event\":\"channel\""), "nothing written: %s", err2.data);
    rc_buf_free(&out2);
    rc_buf_free(&err2);
}

Test(progress, bad_interval_is_a_usage_error, .init = setup, .fini = teardown)
{
    char args[8192];
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-01 --to 2025-11-02 --progress-interval 10s",
             g_config);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    cr_assert_eq(rc_test_r2cache(args, &out, &err), 2);
    cr_assert(strstr(err.data,
                     "r2cache fill: --progress-interval 10s: give a number of seconds (0: off)"),
              "%s", err.data);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(progress, migrate_on_a_terminal, .init = setup, .fini = teardown)
{
    char args[8192];
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-01 --to 2025-11-05 --progress-interval 0 "
             ">/dev/null 2>&1",
             g_config);
    cr_assert_eq(rc_test_r2cache(args, NULL, NULL), 0);
    snprintf(args, sizeof args,
             "migrate --config '%s' --from 2025-11-01 --to 2025-11-05 --to-layout viewer "
             "--log-format json",
             g_config);
    rc_buf out = RC_BUF_INIT;
    int rc = run_pty(args, &out);
    cr_assert_eq(rc, 0, "migrate failed: %s", out.data ? out.data : "");
    pline v[1024];
    size_t n = parse_lines(out.data, "migrate", v, 1024);
    cr_assert(n >= 2, "%zu progress lines in: %s", n, out.data);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(v[i].unit, "channel-days");
        cr_assert_eq(v[i].total, DAYS * 2);
        if (i) cr_assert(v[i].done >= v[i - 1].done);
    }
    cr_assert(v[0].percent < 100);
    cr_assert_float_eq(v[n - 1].percent, 100.0, 1e-9);
    cr_assert_eq(v[n - 1].done, DAYS * 2);
    /* the summary's fields */
    const char *s2 = strstr(out.data, "\"event\":\"summary\"");
    cr_assert(s2);
    const char *b = s2;
    while (b > out.data && *b != '{')
        b--;
    size_t blen = strcspn(b, "\r\n");
    char line[8192];
    snprintf(line, sizeof line, "%.*s", (int)blen, b);
    cJSON *o = cJSON_Parse(line);
    cr_assert(o, "%s", line);
    cr_assert_str_eq(cJSON_GetObjectItem(o, "command")->valuestring, "migrate");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "status")->valuestring, "complete");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "to_layout")->valuestring, "viewer");
    cr_assert_eq(cJSON_GetObjectItem(o, "channel_days")->valuedouble, DAYS * 2);
    cr_assert_eq(cJSON_GetObjectItem(o, "blobs_copied")->valuedouble, TOTAL_WINDOWS);
    cr_assert_eq(cJSON_GetObjectItem(o, "blobs_failed")->valuedouble, 0);
    cJSON_Delete(o);
    rc_buf_free(&out);
}

Test(progress, run_station_and_summary_fields, .init = setup, .fini = teardown)
{
    char args[8192];
    snprintf(args, sizeof args,
             "run --config '%s' --now 2025-11-02T00:02:00Z --log-format json </dev/null", g_config);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_r2cache(args, &out, &err);
    cr_assert_eq(rc, 0, "run failed: %s", err.data ? err.data : "");
    size_t nst = 0, nsum = 0;
    char *save = NULL;
    for (char *ln = strtok_r(err.data, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(ln);
        cr_assert(o, "not a JSON line: %s", ln);
        const char *ev = cJSON_GetObjectItem(o, "event")->valuestring;
        if (strcmp(ev, "station") == 0) {
            const char *ch = cJSON_GetObjectItem(o, "channel")->valuestring;
            cr_assert(!strcmp(ch, "XX.AAA..BHZ") || !strcmp(ch, "XX.BBB..BHZ"), "%s", ln);
            cr_assert_str_eq(cJSON_GetObjectItem(o, "volcano")->valuestring, "testvol");
            cr_assert_str_eq(cJSON_GetObjectItem(o, "status")->valuestring, "ok");
            /* the 6 hours before 00:00: 36 ten-minute chunks and one 6-hour chunk */
            cr_assert_eq(cJSON_GetObjectItem(o, "chunks_written")->valuedouble, 37, "%s", ln);
            cr_assert_eq(cJSON_GetObjectItem(o, "samples")->valuedouble, 2 * 216000.0, "%s", ln);
            cr_assert_eq(cJSON_GetObjectItem(o, "failed")->valuedouble, 0);
            cr_assert(cJSON_GetObjectItem(o, "bytes")->valuedouble > 0);
            cr_assert_null(cJSON_GetObjectItem(o, "error"));
            nst++;
        } else if (strcmp(ev, "summary") == 0) {
            cr_assert_str_eq(cJSON_GetObjectItem(o, "command")->valuestring, "run");
            cr_assert_str_eq(cJSON_GetObjectItem(o, "status")->valuestring, "complete");
            cr_assert_eq(cJSON_GetObjectItem(o, "stations_ok")->valuedouble, 2);
            cr_assert_eq(cJSON_GetObjectItem(o, "stations_failed")->valuedouble, 0);
            cr_assert_eq(cJSON_GetObjectItem(o, "chunks_written")->valuedouble, 74);
            cr_assert_eq(cJSON_GetObjectItem(o, "samples")->valuedouble, 4 * 216000.0);
            nsum++;
        }
        cJSON_Delete(o);
    }
    cr_assert_eq(nst, 2);
    cr_assert_eq(nsum, 1);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

Test(progress, text_logs_keep_channel_lines_for_debug, .init = setup, .fini = teardown)
{
    char args[8192];
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-01 --to 2025-11-02 --log-format text "
             "--progress-interval 0 </dev/null",
             g_config);
    cr_assert_eq(rc_test_r2cache(args, &out, &err), 0, "%s", err.data);
    cr_assert_null(strstr(err.data, "chunks written"), "%s", err.data);
    cr_assert(strstr(err.data, " info  fill 2025-11-01T00:00:00Z .. 2025-11-02T00:00:00Z: 296 "
                               "windows"),
              "%s", err.data);
    rc_buf_free(&out);
    rc_buf_free(&err);
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-02 --to 2025-11-03 --log-format text "
             "--log-level debug --progress-interval 0 </dev/null",
             g_config);
    cr_assert_eq(rc_test_r2cache(args, &out, &err), 0, "%s", err.data);
    cr_assert(strstr(err.data, " debug XX.AAA..BHZ 2025-11-02T00:00:00Z .. 2025-11-03T00:00:00Z: "
                               "148 chunks written (0 provisional), 1728000 samples, "),
              "%s", err.data);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

/* A source that refuses connections: the channel line says failed, as fields. */
Test(progress, failed_channel_line_fields, .init = setup, .fini = teardown)
{
    char cfg[4400], json[8192];
    snprintf(cfg, sizeof cfg, "%s/bad.json", g_dir);
    snprintf(
        json, sizeof json,
        "{\"source\": \"http://127.0.0.1:9\", \"store\": \"%s/store\",\n"
        " \"fetch\": {\"max_attempts\": 1, \"backoff_base_s\": 0.01, \"backoff_cap_s\": 0.01},\n"
        " \"volcanoes\": [{\"name\": \"testvol\", \"stations\": [\n"
        "  {\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"\", \"channel\": "
        "\"BHZ\", \"sample_rate\": 10}]}]}\n",
        g_dir);
    cr_assert_eq(rc_test_write_file(cfg, json, strlen(json)), 0);
    char args[8192];
    snprintf(args, sizeof args,
             "fill --config '%s' --from 2025-11-01 --to 2025-11-02 --log-format json "
             "--progress-interval 0 </dev/null",
             cfg);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    cr_assert_eq(rc_test_r2cache(args, &out, &err), 3, "%s", err.data);
    size_t n = 0;
    char *save = NULL;
    for (char *ln = strtok_r(err.data, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(ln);
        cr_assert(o, "not a JSON line: %s", ln);
        const char *ev = cJSON_GetObjectItem(o, "event")->valuestring;
        if (strcmp(ev, "channel") == 0) {
            cr_assert_str_eq(cJSON_GetObjectItem(o, "level")->valuestring, "error");
            cr_assert_str_eq(cJSON_GetObjectItem(o, "channel")->valuestring, "XX.AAA..BHZ");
            cr_assert_str_eq(cJSON_GetObjectItem(o, "window")->valuestring,
                             "2025-11-01T00:00:00Z/2025-11-02T00:00:00Z");
            cr_assert_str_eq(cJSON_GetObjectItem(o, "status")->valuestring, "failed");
            cr_assert_eq(cJSON_GetObjectItem(o, "failed")->valuedouble, WINDOWS_PER_DAY);
            cr_assert_eq(cJSON_GetObjectItem(o, "chunks_written")->valuedouble, 0);
            cr_assert_eq(cJSON_GetObjectItem(o, "samples")->valuedouble, 0);
            const char *er = cJSON_GetObjectItem(o, "error")->valuestring;
            cr_assert(strncmp(er, "FDSN dataselect http://127.0.0.1:9/", 35) == 0, "%s", er);
            n++;
        } else if (strcmp(ev, "summary") == 0) {
            cr_assert_str_eq(cJSON_GetObjectItem(o, "status")->valuestring, "failed");
            cr_assert_eq(cJSON_GetObjectItem(o, "failed")->valuedouble, WINDOWS_PER_DAY);
        }
        cJSON_Delete(o);
    }
    cr_assert_eq(n, 1);
    rc_buf_free(&out);
    rc_buf_free(&err);
}
