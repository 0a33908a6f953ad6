/*
 * test_security.c: hostile input never reaches a key, a path or the log.
 *
 * Station and channel codes are checked against the FDSN rules before any
 * key is built (naming), when a configuration is read (config) and on the
 * command line (the real binary); keys that try to leave a local store's
 * root are refused by the store itself, and so is a symbolic link beneath
 * it (fill, verify and inventory exit 3 naming the link); the FDSN client
 * refuses bodies over its limit and verifies TLS (a self-signed local https server, certificate
 * made by the openssl CLI, must fail with a certificate error, and pass once
 * that certificate is given as the CA); S3 secrets never appear in output,
 * even at debug level.
 */
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "r2cache/config.h"
#include "r2cache/naming.h"
#include "r2cache/source.h"
#include "r2cache/store.h"
#include "support.h"

#define T0 1762214400LL /* 2025-11-04T00:00:00Z */

static rc_chan chan_of(const char *net, const char *sta, const char *loc, const char *cha)
{
    rc_chan c;
    memset(&c, 0, sizeof c);
    snprintf(c.net, sizeof c.net, "%s", net);
    snprintf(c.sta, sizeof c.sta, "%s", sta);
    snprintf(c.loc, sizeof c.loc, "%s", loc);
    snprintf(c.cha, sizeof c.cha, "%s", cha);
    return c;
}

static int path_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---- codes never reach a key ------------------------------------------ */

Test(security, hostile_codes_never_become_keys)
{
    const rc_chan bad[] = {
        chan_of("HV", "..", "", "HHZ"),    chan_of("HV", "../..", "", "HHZ"),
        chan_of("HV", "UWE", "", "../"),   chan_of("HV", "A/B", "", "HHZ"),
        chan_of("HV", "UWE", "0/", "HHZ"), chan_of("hv", "UWE", "", "HHZ"),
        chan_of("HV", "uwe", "", "HHZ"),   chan_of("HV", "UWE", "", "hhz"),
        chan_of("HV", "UW_E", "", "HHZ"),  chan_of("HV", "UWE", "", "HH\nZ"),
        chan_of("", "UWE", "", "HHZ"),     chan_of("HV", "", "", "HHZ"),
        chan_of("HV", "UWE", "", ""),      chan_of("HV", "UW E", "", "HHZ"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc_err e;
        rc_err_clear(&e);
        cr_expect_eq(rc_chan_validate(&bad[i], &e), RC_EINVAL, "case %zu accepted", i);
        for (int l = 0; l <= 1; l++) {
            rc_chunk_id id;
            memset(&id, 0, sizeof id);
            id.chan = bad[i];
            snprintf(id.volcano, sizeof id.volcano, "kilauea");
            id.rate = 100;
            id.span = RC_SPAN_10M;
            id.start = T0;
            char key[RC_KEY_MAX] = "";
            cr_expect_eq(rc_key_chunk((rc_layout)l, &id, key, sizeof key, &e), RC_EINVAL,
                         "case %zu layout %d built key \"%s\"", i, l, key);
            rc_manifest_id mid;
            memset(&mid, 0, sizeof mid);
            mid.chan = bad[i];
            snprintf(mid.volcano, sizeof mid.volcano, "kilauea");
            mid.rate = 100;
            mid.day = T0;
            cr_expect_eq(rc_key_manifest((rc_layout)l, &mid, key, sizeof key, &e), RC_EINVAL,
                         "case %zu layout %d built manifest key \"%s\"", i, l, key);
            cr_expect_eq(rc_key_prefix_channel_day((rc_layout)l, &bad[i], "kilauea", T0, key,
                                                   sizeof key, &e),
                         RC_EINVAL, "case %zu layout %d built prefix \"%s\"", i, l, key);
        }
    }
    /* a 9-character code does not fit the field; the text form is refused */
    const char *bad_text[] = {
        "HV.UWEUWEUWE..HHZ", "HV.UWE..HHZHHZHHZ", "HVHVHVHVH.UWE..HHZ", "HV.UWE.012345678.HHZ",
        "HV.../..HHZ",       "HV.uwe..HHZ",       "HV.UWE..HHZ.X",      "HV.UWE",
        "HV.A/B..HHZ"};
    for (size_t i = 0; i < sizeof bad_text / sizeof bad_text[0]; i++) {
        rc_chan c;
        rc_err e;
        cr_expect_eq(rc_chan_parse(bad_text[i], &c, &e), RC_EINVAL, "\"%s\" accepted", bad_text[i]);
    }
    /* a volcano name is a key segment too */
    const char *bad_volc[] = {"..", "../x", "a/b", "Kilauea", "", ".hidden", "-x"};
    for (size_t i = 0; i < sizeof bad_volc / sizeof bad_volc[0]; i++) {
        rc_err e;
        cr_expect_eq(rc_volcano_validate(bad_volc[i], &e), RC_EINVAL, "volcano \"%s\" accepted",
                     bad_volc[i]);
        rc_chunk_id id;
        memset(&id, 0, sizeof id);
        id.chan = chan_of("HV", "UWE", "", "HHZ");
        snprintf(id.volcano, sizeof id.volcano, "%s", bad_volc[i]);
        id.rate = 100;
        id.start = T0;
        char key[RC_KEY_MAX];
        cr_expect_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_EINVAL,
                     "volcano \"%s\" reached a key", bad_volc[i]);
    }
}

Test(security, keys_with_traversal_do_not_parse)
{
    const char *keys[] = {
        "data/2025/11/HV/kilauea/../UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json",
        "data/2025/11/HV/../UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json",
        "../data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json",
        "/data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json",
        "data/2025/11/HV/kilauea/UWE//HHZ/../HV_UWE__HHZ_100Hz_2025-11-04.json",
        "data/2025/11/HV/kilauea/uwe//HHZ/HV_uwe__HHZ_100Hz_2025-11-04.json",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        rc_key_info info;
        rc_err e;
        cr_expect_eq(rc_key_parse(RC_LAYOUT_SEED, keys[i], &info, &e), RC_EINVAL, "\"%s\" parsed",
                     keys[i]);
    }
}

Test(security, config_refuses_hostile_codes_naming_the_field)
{
    static const struct {
        const char *station;
        const char *field;
    } cases[] = {
        {"\"network\": \"XX\", \"station\": \"../..\", \"channel\": \"HHZ\"", "station"},
        {"\"network\": \"XX\", \"station\": \"A/B\", \"channel\": \"HHZ\"", "station"},
        {"\"network\": \"XX\", \"station\": \"AAA\", \"channel\": \"hhz\"", "channel"},
        {"\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"../\", \"channel\": \"HHZ\"",
         "location"},
        {"\"network\": \"XX\", \"station\": \"ABCDEFGHI\", \"channel\": \"HHZ\"", "station"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[1024];
        snprintf(json, sizeof json,
                 "{\"volcanoes\": [{\"name\": \"testvol\", \"stations\": [{%s}]}]}",
                 cases[i].station);
        rc_config c;
        rc_err e;
        rc_err_clear(&e);
        cr_expect_eq(rc_config_parse(json, strlen(json), "sec.json", &c, &e), RC_EINVAL,
                     "case %zu accepted", i);
        cr_expect(strstr(e.msg, "sec.json") && strstr(e.msg, cases[i].field),
                  "case %zu: message does not name the file and field %s: %s", i, cases[i].field,
                  e.msg);
    }
    const char *volc = "{\"volcanoes\": [{\"name\": \"../etc\", \"stations\": "
                       "[{\"network\": \"XX\", \"station\": \"AAA\", \"channel\": \"HHZ\"}]}]}";
    rc_config c;
    rc_err e;
    cr_expect_eq(rc_config_parse(volc, strlen(volc), "sec.json", &c, &e), RC_EINVAL);
    const char *viewer = "{\"networks\": {\"XX\": {\"kilauea\": [{\"station\": \"..\", "
                         "\"location\": \"--\", \"channel\": \"HHZ\"}]}}}";
    cr_expect_eq(rc_config_parse(viewer, strlen(viewer), "sec.json", &c, &e), RC_EINVAL,
                 "viewer config with station \"..\" accepted");
}

/* The real binary: a hostile code in the file or on the command line stops
 * the command (exit 2) before anything is written, and the message says why. */
Test(security, binary_refuses_hostile_codes_before_writing)
{
    char *dir = rc_test_tmpdir("security-cli");
    char store[4200], cfg[4200], cmd[16384];
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(cfg, sizeof cfg, "%s/bad.json", dir);
    char json[8192];
    snprintf(json, sizeof json,
             "{\"source\": \"sds://%s\", \"store\": \"%s\", \"volcanoes\": [{\"name\": \"v\", "
             "\"stations\": [{\"network\": \"XX\", \"station\": \"../../../tmp\", "
             "\"channel\": \"HHZ\"}]}]}",
             dir, store);
    cr_assert_eq(rc_test_write_file(cfg, json, strlen(json)), 0);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    snprintf(cmd, sizeof cmd, "%s run --config '%s' --now 2025-11-04T07:02:00Z --log-format text",
             rc_test_bin("r2cache"), cfg);
    int rc = rc_test_sh(cmd, &out, &err);
    cr_expect_eq(rc, 2, "hostile station in config: exit %d, stderr: %s", rc,
                 err.data ? err.data : "");
    cr_expect(err.data && strstr(err.data, "station"), "message does not name the station: %s",
              err.data ? err.data : "");
    cr_expect(!path_exists(store), "the store was created although the config is invalid");

    /* good file, hostile --station */
    snprintf(json, sizeof json,
             "{\"source\": \"sds://%s\", \"store\": \"%s\", \"volcanoes\": [{\"name\": \"v\", "
             "\"stations\": [{\"network\": \"XX\", \"station\": \"AAA\", \"channel\": \"HHZ\"}]}]}",
             dir, store);
    cr_assert_eq(rc_test_write_file(cfg, json, strlen(json)), 0);
    const char *hostile[] = {"XX.A/B..HHZ", "XX.../..HHZ", "xx.aaa..hhz", "XX.AAAAAAAAA..HHZ"};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        rc_buf_reset(&out);
        rc_buf_reset(&err);
        snprintf(cmd, sizeof cmd,
                 "%s fill --config '%s' --station '%s' --from 2025-11-04T00:00:00Z "
                 "--to 2025-11-04T01:00:00Z --log-format text",
                 rc_test_bin("r2cache"), cfg, hostile[i]);
        rc = rc_test_sh(cmd, &out, &err);
        cr_expect_eq(rc, 2, "--station %s: exit %d, stderr: %s", hostile[i], rc,
                     err.data ? err.data : "");
        cr_expect(!path_exists(store), "--station %s created the store", hostile[i]);
    }
    rc_buf_free(&out);
    rc_buf_free(&err);
    rc_test_rmtree(dir);
    free(dir);
}

/* ---- the local store stays inside its root ----------------------------- */

Test(security, local_store_keys_cannot_escape_the_root)
{
    char *dir = rc_test_tmpdir("security-store");
    char root[4200], secret[4200], outside[4200];
    snprintf(root, sizeof root, "%s/root", dir);
    snprintf(secret, sizeof secret, "%s/secret.txt", dir);
    snprintf(outside, sizeof outside, "%s/escaped", dir);
    cr_assert_eq(mkdir(root, 0755), 0);
    cr_assert_eq(rc_test_write_file(secret, "top secret", 10), 0);
    rc_store_opts o;
    rc_store_opts_default(&o);
    rc_store *st = NULL;
    rc_err e;
    cr_assert_eq(rc_store_open(root, &o, &st, &e), RC_OK, "%s", e.msg);

    const char *put_keys[] = {
        "../escaped", "data/../../escaped", "/tmp/escaped", "data/./../../escaped", "..",
        "data/..",    "./escaped"};
    for (size_t i = 0; i < sizeof put_keys / sizeof put_keys[0]; i++) {
        rc_err_clear(&e);
        int rc = rc_store_put(st, put_keys[i], "x", 1, NULL, NULL, &e);
        cr_expect_neq(rc, RC_OK, "put \"%s\" accepted", put_keys[i]);
        cr_expect(strlen(e.msg) > 0, "put \"%s\" refused without a message", put_keys[i]);
        cr_expect(!path_exists(outside), "put \"%s\" wrote outside the root", put_keys[i]);
    }
    const char *get_keys[] = {"../secret.txt", "data/../../secret.txt", "/etc/passwd",
                              "%2E%2E/secret.txt"};
    for (size_t i = 0; i < sizeof get_keys / sizeof get_keys[0]; i++) {
        rc_buf b = RC_BUF_INIT;
        int rc = rc_store_get(st, get_keys[i], &b, NULL, &e);
        cr_expect_neq(rc, RC_OK, "get \"%s\" read a file outside the root", get_keys[i]);
        cr_expect(!b.data || !strstr(b.data, "top secret"), "get \"%s\" leaked the file",
                  get_keys[i]);
        rc_buf_free(&b);
        if (strstr(get_keys[i], "..") == get_keys[i] || strstr(get_keys[i], "/..") ||
            get_keys[i][0] == '/') /* (an absent ordinary key deletes fine) */
            cr_expect_neq(rc_store_delete(st, get_keys[i], &e), RC_OK, "delete \"%s\" accepted",
                          get_keys[i]);
    }
    cr_expect(path_exists(secret), "a delete removed a file outside the root");
    rc_store_close(st);
    rc_test_rmtree(dir);
    free(dir);
}

/* ---- the local store never follows a symbolic link ---------------------- */

static int tree_count(const char *dir)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "find '%s' -mindepth 1 | wc -l", dir);
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0);
    int n = atoi(out.data ? out.data : "-1");
    rc_buf_free(&out);
    return n;
}

/* A scratch directory with an SDS archive (one hour of XX.AAA..HHZ at 1 Hz)
 * and a configuration caching it into store (a local path). */
static char *symlink_fixture(const char *tag, const char *store_rel, char *cfg, size_t ncfg)
{
    char *dir = rc_test_tmpdir(tag);
    cr_assert_not_null(dir);
    char cmd[16384], json[8192];
    snprintf(cmd, sizeof cmd,
             "%s sds --out '%s/sds' --rate 1 --from 2025-11-04T00:00:00Z "
             "--to 2025-11-04T01:00:00Z --chan XX.AAA..HHZ",
             rc_test_bin("r2cache-synth"), dir);
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, NULL, &err), 0, "r2cache-synth: %s", err.data ? err.data : "");
    rc_buf_free(&err);
    snprintf(json, sizeof json,
             "{\"source\": \"sds://%s/sds\", \"store\": \"%s/%s\", \"volcanoes\": [{\"name\": "
             "\"kilauea\", \"stations\": [{\"network\": \"XX\", \"station\": \"AAA\", "
             "\"location\": \"\", \"channel\": \"HHZ\", \"sample_rate\": 1}]}]}",
             dir, dir, store_rel);
    snprintf(cfg, ncfg, "%s/config.json", dir);
    cr_assert_eq(rc_test_write_file(cfg, json, strlen(json)), 0);
    return dir;
}

static int r2(const char *cfg, const char *args, rc_buf *err)
{
    char a[8192];
    snprintf(a, sizeof a, "%s --config '%s' --log-format text", args, cfg);
    rc_buf_reset(err);
    return rc_test_r2cache(a, NULL, err);
}

#define FILL_HOUR "fill --station XX.AAA..HHZ --from 2025-11-04T00:00:00Z --to 2025-11-04T01:00:00Z"

/* The month of a local store is a link to a folder elsewhere (an operator
 * moved it to another disk and linked it back): fill writes nothing through
 * it and exits 3; verify and inventory exit 3 saying why instead of reporting
 * an empty store (they reported "0 manifests", exit 0, before). */
Test(security, binary_refuses_a_symlinked_month_in_the_local_store, .timeout = 120)
{
    char cfg[4400], store[4400], moved[4400], link_at[4400], want[8192], cmd[16384];
    char *dir = symlink_fixture("security-symlink", "store", cfg, sizeof cfg);
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(moved, sizeof moved, "%s/moved", dir);
    snprintf(link_at, sizeof link_at, "%s/store/data/2025/11", dir);
    snprintf(want, sizeof want,
             "data/2025/11 is a symbolic link to %s; the local store never follows symbolic links "
             "out of its root: replace data/2025/11 with a directory or remove it",
             moved);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/data/2025' '%s'", store, moved);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    cr_assert_eq(symlink(moved, link_at), 0);
    rc_buf err = RC_BUF_INIT;

    /* a fresh store: nothing may be written through the link */
    int rc = r2(cfg, FILL_HOUR, &err);
    cr_expect_eq(rc, 3, "fill through a linked month: exit %d: %s", rc, err.data ? err.data : "");
    cr_expect(err.data && strstr(err.data, want), "fill does not say \"%s\": %s", want,
              err.data ? err.data : "");
    cr_expect_eq(tree_count(moved), 0, "fill wrote through the link");

    /* a filled month, moved away and linked back */
    cr_assert_eq(unlink(link_at), 0);
    rc = r2(cfg, FILL_HOUR, &err);
    cr_assert_eq(rc, 0, "fill: exit %d: %s", rc, err.data ? err.data : "");
    snprintf(cmd, sizeof cmd, "rmdir '%s' && mv '%s' '%s'", moved, link_at, moved);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    cr_assert_eq(symlink(moved, link_at), 0);
    int before = tree_count(moved);
    cr_assert_gt(before, 6, "the month held %d entries", before);

    rc = r2(cfg, "verify", &err);
    cr_expect_eq(rc, 3, "verify: exit %d: %s", rc, err.data ? err.data : "");
    cr_expect(err.data && strstr(err.data, want), "verify does not say \"%s\": %s", want,
              err.data ? err.data : "");
    rc = r2(cfg, "inventory --scope all", &err);
    cr_expect_eq(rc, 3, "inventory: exit %d: %s", rc, err.data ? err.data : "");
    cr_expect(err.data && strstr(err.data, want), "inventory does not say \"%s\": %s", want,
              err.data ? err.data : "");
    rc = r2(cfg, FILL_HOUR " --force", &err);
    cr_expect_eq(rc, 3, "fill --force: exit %d: %s", rc, err.data ? err.data : "");
    cr_expect(err.data && strstr(err.data, want), "fill --force does not say \"%s\": %s", want,
              err.data ? err.data : "");
    cr_expect_eq(tree_count(moved), before, "fill --force changed the folder behind the link");
    rc_buf_free(&err);
    rc_test_rmtree(dir);
    free(dir);
}

/* The root itself may be a link (/data -> /mnt/data): that is the
 * operator's path, and everything works as with a plain folder. */
Test(security, binary_works_with_a_store_root_that_is_a_symlink, .timeout = 120)
{
    char cfg[4400], real[4400], link_at[4400], cmd[8800];
    char *dir = symlink_fixture("security-rootlink", "link", cfg, sizeof cfg);
    snprintf(real, sizeof real, "%s/real", dir);
    snprintf(link_at, sizeof link_at, "%s/link", dir);
    cr_assert_eq(mkdir(real, 0755), 0);
    cr_assert_eq(symlink("real", link_at), 0);
    rc_buf err = RC_BUF_INIT;
    int rc = r2(cfg, FILL_HOUR, &err);
    cr_assert_eq(rc, 0, "fill: exit %d: %s", rc, err.data ? err.data : "");
    snprintf(cmd, sizeof cmd,
             "test -f '%s/data/2025/11/XX/kilauea/AAA/%%/HHZ/XX_AAA__HHZ_1Hz_2025-11-04.json'",
             real);
    cr_expect_eq(rc_test_sh(cmd, NULL, NULL), 0, "the manifest is not in the linked folder");
    rc = r2(cfg, "verify", &err);
    cr_expect_eq(rc, 0, "verify: exit %d: %s", rc, err.data ? err.data : "");
    rc = r2(cfg, "inventory --scope all", &err);
    cr_expect_eq(rc, 0, "inventory: exit %d: %s", rc, err.data ? err.data : "");
    rc_buf_free(&err);
    rc_test_rmtree(dir);
    free(dir);
}

/* ---- the FDSN client ---------------------------------------------------- */

typedef struct one_result {
    int called;
    int status;
    rc_err err;
    size_t bytes;
} one_result;

static int keep_result(void *ud, size_t i, rc_fetch_result *res)
{
    (void)i;
    one_result *r = ud;
    r->called++;
    r->status = res->status;
    r->err = res->err;
    r->bytes = res->data.len;
    return 0;
}

static void fetch_one(const char *url, const rc_source_opts *o, int64_t start, int64_t end,
                      one_result *r)
{
    rc_source *src = NULL;
    rc_err e;
    cr_assert_eq(rc_source_open(url, o, &src, &e), RC_OK, "%s", e.msg);
    rc_fetch_line line = {chan_of("XX", "SEC", "", "HHZ"), start, end};
    rc_fetch_req req = {&line, 1};
    memset(r, 0, sizeof *r);
    cr_assert_eq(rc_source_fetch_many(src, &req, 1, keep_result, r, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(r->called, 1);
    rc_source_close(src);
}

Test(security, fdsn_response_bodies_are_size_limited)
{
    char *dir = rc_test_tmpdir("security-body");
    char sds[4200], cmd[16384];
    snprintf(sds, sizeof sds, "%s/sds", dir);
    snprintf(cmd, sizeof cmd,
             "%s sds --out '%s' --rate 100 --from 2025-11-04T00:00:00Z "
             "--to 2025-11-04T01:00:00Z --chan XX.SEC..HHZ >/dev/null",
             rc_test_bin("r2cache-synth"), sds);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    int port = 0;
    pid_t srv = rc_test_fdsn_start(sds, NULL, &port);
    cr_assert(srv > 0, "FDSN test server did not start");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);

    rc_source_opts o;
    rc_source_opts_default(&o);
    o.max_attempts = 2;
    o.backoff_base_s = 0.01;
    o.backoff_cap_s = 0.02;
    one_result r;
    fetch_one(url, &o, T0, T0 + 3600, &r); /* the whole hour: well over 16 kB */
    cr_expect_eq(r.status, RC_OK, "unlimited fetch failed: %s", r.err.msg);
    size_t full = r.bytes;
    cr_expect_gt(full, 16384);

    o.max_body_bytes = 16384;
    fetch_one(url, &o, T0, T0 + 3600, &r);
    cr_expect_neq(r.status, RC_OK, "a %zu-byte body passed a 16384-byte limit", full);
    cr_expect_eq(r.bytes, 0, "data delivered past the limit");
    cr_expect(strstr(r.err.msg, "max_body_bytes") && strstr(r.err.msg, "16384"),
              "the message does not name the limit: %s", r.err.msg);
    rc_test_server_stop(srv);
    rc_test_rmtree(dir);
    free(dir);
}

static const char *tls_server_py =
    "import http.server, ssl, sys\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_POST(self):\n"
    "        self.rfile.read(int(self.headers.get('Content-Length') or 0))\n"
    "        self.send_response(204); self.end_headers()\n"
    "    do_GET = do_POST\n"
    "    def log_message(self, *a): pass\n"
    "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
    "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[1], sys.argv[2])\n"
    "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
    "print('READY', s.server_address[1], flush=True)\n"
    "s.serve_forever()\n";

Test(security, tls_is_verified)
{
    char *dir = rc_test_tmpdir("security-tls");
    char cert[4200], key[4200], py[4200], cmd[16384];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(py, sizeof py, "%s/tls_server.py", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' 2>&1",
             key, cert);
    rc_buf out = RC_BUF_INIT;
    if (rc_test_sh("command -v openssl >/dev/null", NULL, NULL) != 0)
        cr_skip_test("SKIPPED: the openssl command is absent, TLS verification not tested");
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0, "openssl failed: %s", out.data ? out.data : "");
    rc_buf_free(&out);
    cr_assert_eq(rc_test_write_file(py, tls_server_py, strlen(tls_server_py)), 0);
    int port = 0;
    char *argv[] = {"python3", py, cert, key, NULL};
    pid_t srv = rc_test_server_start(argv, 20, &port);
    cr_assert(srv > 0, "TLS test server did not start");
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", port);

    rc_source_opts o;
    rc_source_opts_default(&o);
    o.max_attempts = 3;
    o.backoff_base_s = 0.01;
    o.backoff_cap_s = 0.02;
    one_result r;
    fetch_one(url, &o, T0, T0 + 600, &r);
    cr_expect_neq(r.status, RC_OK);
    cr_expect_neq(r.status, RC_ENODATA, "a self-signed server was trusted");
    cr_expect(strstr(r.err.msg, "certificate") && strstr(r.err.msg, url),
              "the message names neither the certificate problem nor the URL: %s", r.err.msg);

    /* the same server is fine once its certificate is the CA: the failure
     * above was verification, not the server */
    o.ca_bundle = cert;
    fetch_one(url, &o, T0, T0 + 600, &r);
    cr_expect_eq(r.status, RC_ENODATA, "with its CA given: status %d: %s", r.status, r.err.msg);
    rc_test_server_stop(srv);
    rc_test_rmtree(dir);
    free(dir);
}

/* ---- secrets ------------------------------------------------------------ */

/* An S3 store whose endpoint answers nonsense, debug logs on: the secret key
 * and the full access key must not appear in anything the binary prints. */
Test(security, s3_secrets_never_in_output)
{
    char *dir = rc_test_tmpdir("security-secret");
    char sds[4200], cfg[4200], cmd[16384], script[4200];
    snprintf(sds, sizeof sds, "%s/sds", dir);
    snprintf(cfg, sizeof cfg, "%s/c.json", dir);
    snprintf(script, sizeof script, "%s/tests/fdsn_server.py", RC_SOURCE_DIR);
    snprintf(cmd, sizeof cmd,
             "%s sds --out '%s' --rate 10 --from 2025-11-04T06:00:00Z "
             "--to 2025-11-04T07:00:00Z --chan XX.SEC..HHZ >/dev/null",
             rc_test_bin("r2cache-synth"), sds);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    int port = 0;
    char *argv[] = {"python3", script, "--sds", sds, "--port", "0", NULL};
    pid_t srv = rc_test_server_start(argv, 20, &port);
    cr_assert(srv > 0);
    char json[4096];
    snprintf(json, sizeof json,
             "{\"source\": \"sds://%s\", \"store\": \"s3://r2cache-sec/p\", "
             "\"run\": {\"retry_interval\": \"1s\", \"retry_max\": \"1s\"}, "
             "\"volcanoes\": [{\"name\": \"v\", \"stations\": [{\"network\": \"XX\", "
             "\"station\": \"SEC\", \"channel\": \"HHZ\", \"sample_rate\": 10}]}]}",
             sds);
    cr_assert_eq(rc_test_write_file(cfg, json, strlen(json)), 0);
    snprintf(
        cmd, sizeof cmd,
        "env AWS_ACCESS_KEY_ID=AKIDSECRETPREFIXQ7ZX AWS_SECRET_ACCESS_KEY=SeCrEtVaLuE0123456789 "
        "AWS_SESSION_TOKEN=SeSsIoNtOkEn987 AWS_ENDPOINT_URL=http://127.0.0.1:%d "
        "AWS_REGION=us-east-1 %s run --config '%s' --now 2025-11-04T07:02:00Z "
        "--log-level debug --log-format json --json",
        port, rc_test_bin("r2cache"), cfg);
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = rc_test_sh(cmd, &out, &err);
    cr_expect_neq(rc, 0, "a store that answers nonsense was accepted");
    cr_expect(err.len > 0, "no message at all");
    const char *secrets[] = {"SeCrEtVaLuE0123456789", "SeSsIoNtOkEn987", "AKIDSECRETPREFIX"};
    for (size_t i = 0; i < 3; i++) {
        cr_expect(!(out.data && strstr(out.data, secrets[i])), "stdout holds %s", secrets[i]);
        cr_expect(!(err.data && strstr(err.data, secrets[i])), "stderr holds %s:\n%s", secrets[i],
                  err.data);
    }
    rc_buf_free(&out);
    rc_buf_free(&err);
    rc_test_server_stop(srv);
    rc_test_rmtree(dir);
    free(dir);
}
