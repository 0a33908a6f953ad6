/*
 * test_store_file.c: the local-directory store and the store wrappers:
 * round trips, reversible key mapping, refusal of escaping keys, listing
 * order, sidecars, conditional puts and crash leftovers; symbolic links,
 * second hard links and special files beneath the root refused by every
 * operation (a root that is itself a link works).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "r2cache/store.h"
#include "support.h"

static char *g_dir;
static rc_store *g_st;

static void setup(void)
{
    g_dir = rc_test_tmpdir("store_file");
    cr_assert_not_null(g_dir);
    rc_err e;
    rc_err_clear(&e);
    int rc = rc_store_open(g_dir, NULL, &g_st, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
}

static void teardown(void)
{
    rc_store_close(g_st);
    rc_test_rmtree(g_dir);
    free(g_dir);
}

static void put_str(const char *key, const char *body)
{
    rc_err e;
    rc_err_clear(&e);
    int rc = rc_store_put(g_st, key, body, strlen(body), NULL, NULL, &e);
    cr_assert_eq(rc, RC_OK, "put %s: %s", key, e.msg);
}

static char *path_of(const char *rel)
{
    char *p = malloc(strlen(g_dir) + strlen(rel) + 2);
    sprintf(p, "%s/%s", g_dir, rel);
    return p;
}

static int write_rel(const char *rel, const char *data, size_t len)
{
    char *p = path_of(rel);
    int r = rc_test_write_file(p, data, len);
    free(p);
    return r;
}

static int exists(const char *rel)
{
    char *p = path_of(rel);
    struct stat st;
    int r = stat(p, &st) == 0;
    free(p);
    return r;
}

typedef struct keys {
    char k[64][512];
    char etag[64][RC_ETAG_MAX];
    int64_t size[64];
    int n;
    int stop_after;
} keys;

static int collect(void *ud, const rc_obj_info *o)
{
    keys *ks = ud;
    if (ks->n < 64) {
        strcpy(ks->k[ks->n], o->key);
        strcpy(ks->etag[ks->n], o->etag);
        ks->size[ks->n] = o->size;
        ks->n++;
    }
    return ks->stop_after && ks->n >= ks->stop_after;
}

static keys *list(const char *prefix)
{
    keys *ks = calloc(1, sizeof *ks);
    rc_err e;
    rc_err_clear(&e);
    int rc = rc_store_list(g_st, prefix, collect, ks, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    return ks;
}

TestSuite(store_file, .init = setup, .fini = teardown);

Test(store_file, round_trip)
{
    rc_err e;
    rc_err_clear(&e);
    char etag[RC_ETAG_MAX] = "";
    const char *key = "data/2025/11/HV/kilauea/UWE/x.bin";
    int rc = rc_store_put(g_st, key, "hello", 5, NULL, etag, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    /* the local ETag: the first 32 hex digits of sha256("hello") */
    cr_assert_str_eq(etag, "2cf24dba5fb0a30e26e83b2ac5b9e29e");

    rc_buf b = RC_BUF_INIT;
    rc_obj_info info;
    rc = rc_store_get(g_st, key, &b, &info, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    cr_assert_eq(b.len, 5);
    cr_assert_str_eq(b.data, "hello");
    cr_assert_str_eq(info.etag, etag);
    cr_assert_eq(info.size, 5);
    cr_assert_str_eq(info.key, key);
    cr_assert_str_eq(info.meta.content_type, "application/octet-stream");

    rc_obj_info h;
    rc = rc_store_head(g_st, key, &h, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    cr_assert_str_eq(h.etag, etag);
    cr_assert_eq(h.size, 5);
    cr_assert_gt(h.mtime, 1700000000);

    keys *ks = list("");
    cr_assert_eq(ks->n, 1);
    cr_assert_str_eq(ks->k[0], key);
    cr_assert_str_eq(ks->etag[0], etag);
    cr_assert_eq(ks->size[0], 5);
    free(ks);

    /* overwrite: new body, new etag */
    put_str(key, "world!");
    rc = rc_store_get(g_st, key, &b, &info, &e);
    cr_assert_eq(rc, RC_OK);
    cr_assert_str_eq(b.data, "world!");
    cr_assert_str_neq(info.etag, etag);

    rc = rc_store_delete(g_st, key, &e);
    cr_assert_eq(rc, RC_OK, "%s", e.msg);
    cr_assert(!exists("data/2025/11/HV/kilauea/UWE/x.bin"));
    cr_assert(!exists("data/2025/11/HV/kilauea/UWE/.x.bin.meta.json"), "sidecar removed too");
    rc = rc_store_get(g_st, key, &b, &info, &e);
    cr_assert_eq(rc, RC_ENOTFOUND);
    cr_assert(strstr(e.msg, key), "message names the key: %s", e.msg);
    cr_assert(strstr(e.msg, g_dir), "message names the store: %s", e.msg);
    rc = rc_store_head(g_st, key, &h, &e);
    cr_assert_eq(rc, RC_ENOTFOUND);
    /* deleting what is absent is fine */
    rc_err_clear(&e);
    cr_assert_eq(rc_store_delete(g_st, key, &e), RC_OK);
    cr_assert_eq(rc_store_delete(g_st, "never/was/here", &e), RC_OK);
    rc_buf_free(&b);
}

/* A put with the writer's hashes (what the engine's workers pass), one
 * without, and a body whose sidecar is gone (the store hashes the file)
 * all give the same ETag for the same bytes; no MD5 is made for it. */
Test(store_file, etag_same_whoever_hashes)
{
    rc_err e;
    rc_err_clear(&e);
    const char body[] = "six hours of samples";
    rc_body_hash h;
    rc_store_body_hash(g_st, body, strlen(body), &h);
    cr_assert_eq(strlen(h.sha256), 64);
    cr_assert_str_eq(h.md5, "", "the local store sends no MD5: none is made");

    char e1[RC_ETAG_MAX] = "", e2[RC_ETAG_MAX] = "";
    rc_obj_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.hash = h;
    rc_put_opts o = {&meta, NULL, 0};
    cr_assert_eq(rc_store_put(g_st, "data/a.bin", body, strlen(body), &o, e1, &e), RC_OK, "%s",
                 e.msg);
    cr_assert_eq(rc_store_put(g_st, "data/b.bin", body, strlen(body), NULL, e2, &e), RC_OK, "%s",
                 e.msg);
    cr_assert_str_eq(e1, e2);
    cr_assert_eq(strncmp(e1, h.sha256, 32), 0);
    cr_assert_eq(strlen(e1), 32);

    /* without its sidecar the body is hashed from the file: same ETag */
    char *side = path_of("data/.a.bin.meta.json");
    cr_assert_eq(unlink(side), 0, "%s: %s", side, strerror(errno));
    free(side);
    rc_obj_info info;
    cr_assert_eq(rc_store_head(g_st, "data/a.bin", &info, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(info.etag, e1);
}

Test(store_file, empty_segment_mapping)
{
    const char *key = "data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json";
    put_str(key, "{}");
    /* on disk the empty location is "%" */
    cr_assert(exists("data/2025/11/HV/kilauea/UWE/%/HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json"));
    put_str("a/100%/b", "p");
    cr_assert(exists("a/100%25/b"));
    put_str("a/.hidden", "h");
    cr_assert(exists("a/%2Ehidden"));

    keys *ks = list("");
    cr_assert_eq(ks->n, 3);
    cr_assert_str_eq(ks->k[0], "a/.hidden");
    cr_assert_str_eq(ks->k[1], "a/100%/b");
    cr_assert_str_eq(ks->k[2], key);
    free(ks);

    ks = list("data/2025/11/HV/kilauea/UWE//");
    cr_assert_eq(ks->n, 1);
    cr_assert_str_eq(ks->k[0], key);
    free(ks);

    rc_buf b = RC_BUF_INIT;
    rc_err e;
    cr_assert_eq(rc_store_get(g_st, key, &b, NULL, &e), RC_OK);
    cr_assert_str_eq(b.data, "{}");
    rc_buf_free(&b);

    rc_buf enc = RC_BUF_INIT;
    cr_assert_eq(rc_store_file_segment_encode("", 0, &enc, &e), RC_OK);
    cr_assert_str_eq(enc.data, "%");
    rc_buf_reset(&enc);
    cr_assert_eq(rc_store_file_segment_encode("%", 1, &enc, &e), RC_OK);
    cr_assert_str_eq(enc.data, "%25");
    rc_buf_reset(&enc);
    cr_assert_eq(rc_store_file_segment_encode("..", 2, &enc, &e), RC_EINVAL);
    rc_buf_free(&enc);
}

Test(store_file, escape_attempts_refused)
{
    const char *bad[] = {"a/../../x", "../x", "/etc/passwd", "a/./b",
                         ".",         "..",   "a/..",        "x/../../../../tmp/evil"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc_err e;
        rc_err_clear(&e);
        int rc = rc_store_put(g_st, bad[i], "x", 1, NULL, NULL, &e);
        cr_assert_eq(rc, RC_EINVAL, "put %s -> %d", bad[i], rc);
        cr_assert(strstr(e.msg, bad[i]), "message names the key: %s", e.msg);
        rc_buf b = RC_BUF_INIT;
        cr_assert_eq(rc_store_get(g_st, bad[i], &b, NULL, &e), RC_EINVAL);
        rc_obj_info h;
        cr_assert_eq(rc_store_head(g_st, bad[i], &h, &e), RC_EINVAL);
        cr_assert_eq(rc_store_delete(g_st, bad[i], &e), RC_EINVAL);
        rc_buf_free(&b);
    }
    /* nothing was written anywhere, inside or beside the root */
    keys *ks = list("");
    cr_assert_eq(ks->n, 0);
    free(ks);
    char *parent_x = path_of("../x");
    struct stat st;
    cr_assert_neq(stat(parent_x, &st), 0);
    free(parent_x);
    /* and a listing prefix with ".." sees nothing */
    put_str("a/b", "1");
    ks = list("a/../");
    cr_assert_eq(ks->n, 0);
    free(ks);
}

Test(store_file, listing_order_and_dotfiles)
{
    /* byte order: '-' (0x2d) < '/' (0x2f) < '0' < 'A' < '_' < 'a' */
    const char *in[] = {"b", "a/b", "a-c", "a0", "a/a/z", "a//x", "aA", "a_", "A"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        put_str(in[i], in[i]);
    /* strays a crash or a human could leave: never listed */
    cr_assert_eq(write_rel(".tmp.abcdef", "junk", 4), 0);
    cr_assert_eq(write_rel("a/.tmp.123456", "junk", 4), 0);
    cr_assert_eq(write_rel("a/%zz", "junk", 4), 0);
    char *hd = path_of(".hidden");
    mkdir(hd, 0755);
    free(hd);
    cr_assert_eq(write_rel(".hidden/k", "junk", 4), 0);

    const char *want[] = {"A", "a-c", "a//x", "a/a/z", "a/b", "a0", "aA", "a_", "b"};
    keys *ks = list("");
    cr_assert_eq(ks->n, 9, "got %d keys", ks->n);
    for (int i = 0; i < 9; i++)
        cr_assert_str_eq(ks->k[i], want[i], "position %d", i);
    free(ks);

    ks = list("a/");
    cr_assert_eq(ks->n, 3);
    cr_assert_str_eq(ks->k[0], "a//x");
    cr_assert_str_eq(ks->k[1], "a/a/z");
    cr_assert_str_eq(ks->k[2], "a/b");
    free(ks);

    /* partial last segment */
    ks = list("a");
    cr_assert_eq(ks->n, 7);
    cr_assert_str_eq(ks->k[0], "a-c");
    cr_assert_str_eq(ks->k[6], "a_");
    free(ks);

    ks = list("zzz/");
    cr_assert_eq(ks->n, 0);
    free(ks);

    /* the callback stops the listing */
    ks = calloc(1, sizeof *ks);
    ks->stop_after = 2;
    rc_err e;
    cr_assert_eq(rc_store_list(g_st, "", collect, ks, &e), RC_OK);
    cr_assert_eq(ks->n, 2);
    free(ks);
}

Test(store_file, sidecar_content)
{
    rc_obj_meta m;
    memset(&m, 0, sizeof m);
    strcpy(m.content_type, "application/json");
    strcpy(m.cache_control, "public, max-age=60");
    cr_assert_eq(rc_obj_meta_set(&m, "r2c-min", "-150"), RC_OK);
    cr_assert_eq(rc_obj_meta_set(&m, "r2c-max", "200"), RC_OK);
    cr_assert_eq(rc_obj_meta_set(&m, "r2c-max", "201"), RC_OK, "replace keeps one");
    cr_assert_eq(m.n, 2);
    cr_assert_eq(rc_obj_meta_set(&m, "Bad Name", "x"), RC_EINVAL);
    cr_assert_eq(rc_obj_meta_set(&m, "ok", "line\nbreak"), RC_EINVAL);
    cr_assert_str_eq(rc_obj_meta_get(&m, "r2c-max"), "201");
    cr_assert_null(rc_obj_meta_get(&m, "nope"));

    rc_put_opts po = {&m, NULL, 0};
    rc_err e;
    char etag[RC_ETAG_MAX];
    cr_assert_eq(rc_store_put(g_st, "d/m.json", "{\"a\":1}", 7, &po, etag, &e), RC_OK, "%s", e.msg);

    rc_buf b = RC_BUF_INIT;
    char *sp = path_of("d/.m.json.meta.json");
    cr_assert_eq(rc_test_read_file(sp, &b), 0);
    free(sp);
    cJSON *j = cJSON_Parse(b.data);
    cr_assert_not_null(j);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "content_type")->valuestring, "application/json");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "cache_control")->valuestring, "public, max-age=60");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "etag")->valuestring, etag);
    cr_assert_eq(cJSON_GetObjectItem(j, "size")->valueint, 7);
    cJSON *um = cJSON_GetObjectItem(j, "meta");
    cr_assert_eq(cJSON_GetArraySize(um), 2);
    cr_assert_str_eq(cJSON_GetObjectItem(um, "r2c-min")->valuestring, "-150");
    cr_assert_str_eq(cJSON_GetObjectItem(um, "r2c-max")->valuestring, "201");
    cJSON_Delete(j);

    rc_obj_info h;
    cr_assert_eq(rc_store_head(g_st, "d/m.json", &h, &e), RC_OK);
    cr_assert_str_eq(h.meta.content_type, "application/json");
    cr_assert_str_eq(h.meta.cache_control, "public, max-age=60");
    cr_assert_eq(h.meta.n, 2);
    cr_assert_str_eq(rc_obj_meta_get(&h.meta, "r2c-min"), "-150");

    /* the sidecar is not a key */
    keys *ks = list("");
    cr_assert_eq(ks->n, 1);
    cr_assert_str_eq(ks->k[0], "d/m.json");
    free(ks);
    rc_buf_free(&b);
}

Test(store_file, if_none_match)
{
    rc_err e;
    rc_put_opts create = {NULL, NULL, 1};
    cr_assert_eq(rc_store_put(g_st, "c/k", "one", 3, &create, NULL, &e), RC_OK, "%s", e.msg);
    rc_err_clear(&e);
    cr_assert_eq(rc_store_put(g_st, "c/k", "two", 3, &create, NULL, &e), RC_ECONFLICT);
    cr_assert(strstr(e.msg, "\"c/k\""), "message names the key: %s", e.msg);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(g_st, "c/k", &b, NULL, &e), RC_OK);
    cr_assert_str_eq(b.data, "one");
    rc_buf_free(&b);
}

Test(store_file, if_match)
{
    rc_err e;
    char e1[RC_ETAG_MAX], e2[RC_ETAG_MAX];
    cr_assert_eq(rc_store_put(g_st, "c/k", "one", 3, NULL, e1, &e), RC_OK);
    rc_put_opts m1 = {NULL, e1, 0};
    cr_assert_eq(rc_store_put(g_st, "c/k", "two", 3, &m1, e2, &e), RC_OK, "%s", e.msg);
    /* e1 is stale now */
    rc_err_clear(&e);
    cr_assert_eq(rc_store_put(g_st, "c/k", "three", 5, &m1, NULL, &e), RC_ECONFLICT);
    cr_assert(strstr(e.msg, "\"c/k\""), "message names the key: %s", e.msg);
    /* quoted form (as S3 returns it) is accepted as well */
    char q[RC_ETAG_MAX + 2];
    snprintf(q, sizeof q, "\"%s\"", e2);
    rc_put_opts m2 = {NULL, q, 0};
    cr_assert_eq(rc_store_put(g_st, "c/k", "three", 5, &m2, NULL, &e), RC_OK, "%s", e.msg);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(g_st, "c/k", &b, NULL, &e), RC_OK);
    cr_assert_str_eq(b.data, "three");
    /* If-Match on an absent key loses */
    cr_assert_eq(rc_store_put(g_st, "c/none", "x", 1, &m2, NULL, &e), RC_ECONFLICT);
    cr_assert_eq(rc_store_get(g_st, "c/none", &b, NULL, &e), RC_ENOTFOUND);
    rc_buf_free(&b);
}

Test(store_file, crash_leftovers_ignored)
{
    put_str("w/obj", "old body");
    rc_err e;
    rc_obj_info before;
    cr_assert_eq(rc_store_head(g_st, "w/obj", &before, &e), RC_OK);
    /* a writer died after writing its temp file (and even its sidecar) but
     * before renaming the body into place */
    cr_assert_eq(write_rel("w/.tmp.Zq81xP", "new body!", 9), 0);
    cr_assert_eq(write_rel("w/.obj.meta.json",
                           "{\"content_type\":\"text/plain\",\"etag\":\"deadbeef\","
                           "\"size\":8,\"inode\":1,\"meta\":{}}",
                           strlen("{\"content_type\":\"text/plain\",\"etag\":\"deadbeef\","
                                  "\"size\":8,\"inode\":1,\"meta\":{}}")),
                 0);
    rc_buf b = RC_BUF_INIT;
    rc_obj_info info;
    cr_assert_eq(rc_store_get(g_st, "w/obj", &b, &info, &e), RC_OK);
    cr_assert_str_eq(b.data, "old body");
    cr_assert_str_eq(info.etag, before.etag, "stale sidecar is not believed");
    keys *ks = list("w/");
    cr_assert_eq(ks->n, 1);
    cr_assert_str_eq(ks->k[0], "w/obj");
    cr_assert_str_eq(ks->etag[0], before.etag);
    free(ks);
    /* a conditional put against the real ETag still works */
    rc_put_opts m = {NULL, before.etag, 0};
    cr_assert_eq(rc_store_put(g_st, "w/obj", "next", 4, &m, NULL, &e), RC_OK, "%s", e.msg);
    rc_buf_free(&b);
}

Test(store_file, open_urls)
{
    rc_err e;
    rc_store *s = NULL;
    char url[4200];
    snprintf(url, sizeof url, "file://%s/sub", g_dir);
    cr_assert_eq(rc_store_open(url, NULL, &s, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(rc_store_describe(s), url);
    cr_assert_eq(rc_store_put(s, "k", "v", 1, NULL, NULL, &e), RC_OK);
    rc_store_close(s);
    cr_assert(exists("sub/k"));
    cr_assert_eq(rc_store_open("file://relative/path", NULL, &s, &e), RC_EINVAL);
    cr_assert_eq(rc_store_open("ftp://x/y", NULL, &s, &e), RC_EINVAL);
    cr_assert_null(s);
    /* a file where the root should be */
    put_str("plainfile", "x");
    char *pf = path_of("plainfile");
    cr_assert_eq(rc_store_open(pf, NULL, &s, &e), RC_EUNUSABLE);
    free(pf);

    rc_store_opts o;
    rc_store_opts_default(&o);
    cr_assert_str_eq(o.region, "auto");
    cr_assert_eq(o.max_connections, 8);
    cr_assert_eq(o.max_attempts, 6);
}

/* A root that does not exist is not created by open: reads see an empty
 * store and leave nothing behind; the first write creates it. */
Test(store_file, missing_root_is_created_by_the_first_write_only)
{
    rc_err e;
    rc_store *s = NULL;
    char root[4300];
    snprintf(root, sizeof root, "%s/a/./b/../new", g_dir);
    cr_assert_eq(rc_store_open(root, NULL, &s, &e), RC_OK, "%s", e.msg);
    cr_assert_not(exists("a"), "open created the store directory");
    keys ks = {0};
    cr_assert_eq(rc_store_list(s, "", collect, &ks, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_store_list(s, "data/2025/", collect, &ks, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(ks.n, 0);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(s, "data/x", &b, NULL, &e), RC_ENOTFOUND);
    cr_assert_eq(rc_store_head(s, "data/x", NULL, &e), RC_ENOTFOUND);
    cr_assert_not(exists("a"), "a read created the store directory");
    cr_assert_eq(rc_store_put(s, "data/2025/k", "v", 1, NULL, NULL, &e), RC_OK, "%s", e.msg);
    cr_assert(exists("a/new/data/2025/k"), "the write went elsewhere");
    cr_assert_eq(rc_store_get(s, "data/2025/k", &b, NULL, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(b.len, 1);
    rc_buf_free(&b);
    rc_store_close(s);

    /* a key at the root of a missing store */
    snprintf(root, sizeof root, "%s/other", g_dir);
    cr_assert_eq(rc_store_open(root, NULL, &s, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_store_put(s, "top", "v", 1, NULL, NULL, &e), RC_OK, "%s", e.msg);
    cr_assert(exists("other/top"));
    rc_store_close(s);

    /* under a plain file: refused at open, naming the file */
    put_str("plain", "x");
    snprintf(root, sizeof root, "%s/plain/sub/store", g_dir);
    cr_assert_eq(rc_store_open(root, NULL, &s, &e), RC_EUNUSABLE);
    cr_assert(strstr(e.msg, "plain is not a directory"), "message: %s", e.msg);
    cr_assert_null(s);
}

typedef struct done_rec {
    int calls;
    int status;
    char key[64];
} done_rec;

static void on_done(void *ud, const char *key, int status, const rc_err *e)
{
    (void)e;
    done_rec *d = ud;
    d->calls++;
    d->status = status;
    snprintf(d->key, sizeof d->key, "%s", key);
}

Test(store_file, put_async_falls_back_to_put)
{
    rc_err e;
    done_rec d = {0, -1, ""};
    cr_assert_eq(rc_store_put_async(g_st, "q/a", "abc", 3, NULL, on_done, &d, &e), RC_OK);
    cr_assert_eq(d.calls, 1);
    cr_assert_eq(d.status, RC_OK);
    cr_assert_str_eq(d.key, "q/a");
    cr_assert_eq(rc_store_wait(g_st, &e), RC_OK);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(g_st, "q/a", &b, NULL, &e), RC_OK);
    cr_assert_str_eq(b.data, "abc");
    rc_buf_free(&b);
    /* a failure is reported to the callback */
    cr_assert_eq(rc_store_put_async(g_st, "q/../../x", "abc", 3, NULL, on_done, &d, &e), RC_OK);
    cr_assert_eq(d.calls, 2);
    cr_assert_eq(d.status, RC_EINVAL);
}

/* ---- symbolic links, hard links and special files under the root ------- */

/* The refusal every operation gives for the symlink at rel (relative to the
 * root) pointing at target: the exact status and the operator's sentence. */
static void expect_link_refusal(int rc, const rc_err *e, const char *rel, const char *target,
                                const char *replace_with, const char *op)
{
    char want[2048];
    cr_assert_eq(rc, RC_EUNUSABLE, "%s: status %d, message: %s", op, rc, e->msg);
    snprintf(want, sizeof want, "%s is a symbolic link to %s;", rel, target);
    cr_assert(strstr(e->msg, want), "%s: message does not say \"%s\": %s", op, want, e->msg);
    snprintf(want, sizeof want,
             "the local store never follows symbolic links out of its root: replace %s with %s "
             "or remove it",
             rel, replace_with);
    cr_assert(strstr(e->msg, want), "%s: message does not say \"%s\": %s", op, want, e->msg);
    cr_assert(strstr(e->msg, g_dir), "%s: message does not name the store: %s", op, e->msg);
}

/* Number of entries below dir (recursively, dot-files included). */
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

static void mkdirs_rel(const char *rel)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", g_dir, rel);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
}

static void symlink_rel(const char *target, const char *rel)
{
    char *p = path_of(rel);
    cr_assert_eq(symlink(target, p), 0, "symlink %s -> %s", p, target);
    free(p);
}

static int is_symlink(const char *rel)
{
    char *p = path_of(rel);
    struct stat st;
    int r = lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
    free(p);
    return r;
}

/* put, conditional puts, get, head, delete and listings of key all refuse
 * with the link's message; nothing changes outside the root. */
static void expect_all_refused(const char *key, const char *list_prefix, const char *rel,
                               const char *target, const char *replace_with)
{
    rc_err e;
    rc_buf b = RC_BUF_INIT;
    rc_obj_info info;
    rc_err_clear(&e);
    expect_link_refusal(rc_store_put(g_st, key, "new", 3, NULL, NULL, &e), &e, rel, target,
                        replace_with, "put");
    rc_put_opts create = {NULL, NULL, 1};
    rc_err_clear(&e);
    expect_link_refusal(rc_store_put(g_st, key, "new", 3, &create, NULL, &e), &e, rel, target,
                        replace_with, "create-only put");
    rc_put_opts match = {NULL, "5d41402abc4b2a76b9719d911017c592", 0};
    rc_err_clear(&e);
    expect_link_refusal(rc_store_put(g_st, key, "new", 3, &match, NULL, &e), &e, rel, target,
                        replace_with, "If-Match put");
    rc_err_clear(&e);
    expect_link_refusal(rc_store_put_async(g_st, key, "new", 3, NULL, NULL, NULL, &e), &e, rel,
                        target, replace_with, "asynchronous put");
    rc_err_clear(&e);
    expect_link_refusal(rc_store_get(g_st, key, &b, &info, &e), &e, rel, target, replace_with,
                        "get");
    cr_assert(!b.data || !strstr(b.data, "outside"), "get read through the link: %s", b.data);
    rc_err_clear(&e);
    expect_link_refusal(rc_store_head(g_st, key, &info, &e), &e, rel, target, replace_with, "head");
    rc_err_clear(&e);
    expect_link_refusal(rc_store_delete(g_st, key, &e), &e, rel, target, replace_with, "delete");
    keys ks = {0};
    rc_err_clear(&e);
    expect_link_refusal(rc_store_list(g_st, "", collect, &ks, &e), &e, rel, target, replace_with,
                        "list of the whole store");
    rc_err_clear(&e);
    expect_link_refusal(rc_store_list(g_st, list_prefix, collect, &ks, &e), &e, rel, target,
                        replace_with, "list of the key's folder");
    rc_buf_free(&b);
}

/* An operator moved a month to another disk and left a link behind. */
Test(store_file, symlinked_month_is_refused_everywhere)
{
    char *out = rc_test_tmpdir("store_file-outside");
    cr_assert_not_null(out);
    /* what the month held: a manifest now reachable only through the link */
    char cmd[8800];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/HV/kilauea/UWE/%%/HHZ' && printf outside > "
             "'%s/HV/kilauea/UWE/%%/HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json'",
             out, out);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    mkdirs_rel("data/2025");
    symlink_rel(out, "data/2025/11");
    put_str("data/2025/10/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-10-31.json", "{}");

    expect_all_refused("data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json",
                       "data/2025/11/HV/kilauea/UWE//HHZ/", "data/2025/11", out, "a directory");
    /* a new day's key through the link: no folder, temporary file or lock outside */
    rc_err e;
    rc_err_clear(&e);
    expect_link_refusal(
        rc_store_put(g_st, "data/2025/11/HV/kilauea/NEW//HHZ/x.bin.zst", "b", 1, NULL, NULL, &e),
        &e, "data/2025/11", out, "a directory", "put of a new folder");
    cr_assert_eq(tree_count(out), 6, "something was written through the link");
    rc_buf b = RC_BUF_INIT;
    snprintf(cmd, sizeof cmd, "%s/HV/kilauea/UWE/%%/HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json", out);
    cr_assert_eq(rc_test_read_file(cmd, &b), 0);
    cr_assert_str_eq(b.data, "outside", "the file behind the link was changed");
    rc_buf_free(&b);
    cr_assert(is_symlink("data/2025/11"), "the link itself was removed or replaced");

    /* listings that cannot reach the link still work; one that can does not */
    keys *ks = list("data/2025/10/");
    cr_assert_eq(ks->n, 1);
    free(ks);
    keys k2 = {0};
    rc_err_clear(&e);
    expect_link_refusal(rc_store_list(g_st, "data/2025/1", collect, &k2, &e), &e, "data/2025/11",
                        out, "a directory", "list of a partial segment");
    rc_test_rmtree(out);
    free(out);
}

/* A manifest or blob that is a link to a file elsewhere. */
Test(store_file, symlinked_object_is_refused_everywhere)
{
    char *out = rc_test_tmpdir("store_file-outside");
    cr_assert_not_null(out);
    char target[4400];
    snprintf(target, sizeof target, "%s/day.json", out);
    cr_assert_eq(rc_test_write_file(target, "outside", 7), 0);
    mkdirs_rel("data/2025/11/HV/kilauea/UWE/%/HHZ");
    const char *dir = "data/2025/11/HV/kilauea/UWE/%/HHZ/";
    char rel[512], key[512];
    snprintf(rel, sizeof rel, "%sHV_UWE__HHZ_100Hz_2025-11-04.json", dir);
    snprintf(key, sizeof key, "data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json");
    symlink_rel(target, rel);

    expect_all_refused(key, "data/2025/11/HV/kilauea/UWE//HHZ/", rel, target, "a plain file");
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(target, &b), 0);
    cr_assert_str_eq(b.data, "outside", "the file behind the link was changed");
    cr_assert(is_symlink(rel), "the link was replaced or removed");
    cr_assert_eq(tree_count(out), 1, "something was written outside the root");

    /* a blob whose link dangles: put must not create the target either */
    char blob_rel[512], blob_target[4400];
    snprintf(blob_rel, sizeof blob_rel,
             "%sHV_UWE__HHZ_100Hz_2025-11-04-00-00-00_to_2025-11-04-00-10-00.bin.zst", dir);
    snprintf(blob_target, sizeof blob_target, "%s/blob.bin.zst", out);
    symlink_rel(blob_target, blob_rel);
    rc_err e;
    rc_err_clear(&e);
    expect_link_refusal(
        rc_store_put(g_st,
                     "data/2025/11/HV/kilauea/UWE//HHZ/"
                     "HV_UWE__HHZ_100Hz_2025-11-04-00-00-00_to_2025-11-04-00-10-00.bin.zst",
                     "zstd", 4, NULL, NULL, &e),
        &e, blob_rel, blob_target, "a plain file", "put of a blob");
    cr_assert_eq(tree_count(out), 1, "the dangling link's target was created");
    rc_buf_free(&b);
    rc_test_rmtree(out);
    free(out);
}

/* A station folder in the middle of the key, linked elsewhere (here even to
 * a folder inside the root: links are never followed, wherever they point). */
Test(store_file, symlinked_middle_segment_is_refused_everywhere)
{
    char *out = rc_test_tmpdir("store_file-outside");
    cr_assert_not_null(out);
    char cmd[8800];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/%%/HHZ' && printf outside > '%s/%%/HHZ/k.json'", out,
             out);
    cr_assert_eq(rc_test_sh(cmd, NULL, NULL), 0);
    mkdirs_rel("data/2025/11/HV/kilauea");
    symlink_rel(out, "data/2025/11/HV/kilauea/UWE");
    expect_all_refused("data/2025/11/HV/kilauea/UWE//HHZ/k.json", "data/2025/11/HV/kilauea/UWE/",
                       "data/2025/11/HV/kilauea/UWE", out, "a directory");
    cr_assert_eq(tree_count(out), 3, "something was written through the link");

    mkdirs_rel("data/2025/11/HV/kilauea/REAL/%/HHZ");
    symlink_rel("REAL", "data/2025/11/HV/kilauea/ALIAS");
    rc_err e;
    rc_err_clear(&e);
    expect_link_refusal(
        rc_store_put(g_st, "data/2025/11/HV/kilauea/ALIAS//HHZ/k.json", "{}", 2, NULL, NULL, &e),
        &e, "data/2025/11/HV/kilauea/ALIAS", "REAL", "a directory", "put through a relative link");
    cr_assert_not(exists("data/2025/11/HV/kilauea/REAL/%/HHZ/k.json"));
    rc_test_rmtree(out);
    free(out);
}

/* The store's own files (sidecars, the lock) are never followed either: a
 * dangling .lock link would otherwise create its target outside the root. */
Test(store_file, symlinked_sidecar_and_lock_are_refused)
{
    char *out = rc_test_tmpdir("store_file-outside");
    cr_assert_not_null(out);
    put_str("s/obj", "body");
    char side_target[4400], lock_target[4400];
    snprintf(side_target, sizeof side_target, "%s/side.json", out);
    snprintf(lock_target, sizeof lock_target, "%s/lockfile", out);
    cr_assert_eq(rc_test_write_file(side_target, "{}", 2), 0);
    char *sp = path_of("s/.obj.meta.json");
    cr_assert_eq(unlink(sp), 0);
    free(sp);
    symlink_rel(side_target, "s/.obj.meta.json");
    rc_err e;
    rc_buf b = RC_BUF_INIT;
    rc_obj_info info;
    rc_err_clear(&e);
    expect_link_refusal(rc_store_get(g_st, "s/obj", &b, &info, &e), &e, "s/.obj.meta.json",
                        side_target, "a plain file", "get with a linked sidecar");
    rc_err_clear(&e);
    expect_link_refusal(rc_store_put(g_st, "s/obj", "next", 4, NULL, NULL, &e), &e,
                        "s/.obj.meta.json", side_target, "a plain file",
                        "put with a linked sidecar");
    keys ks = {0};
    rc_err_clear(&e);
    expect_link_refusal(rc_store_list(g_st, "", collect, &ks, &e), &e, "s/.obj.meta.json",
                        side_target, "a plain file", "list with a linked sidecar");
    rc_buf_reset(&b);
    cr_assert_eq(rc_test_read_file(side_target, &b), 0);
    cr_assert_str_eq(b.data, "{}", "the sidecar's link target was written");

    mkdirs_rel("l");
    symlink_rel(lock_target, "l/.lock");
    rc_err_clear(&e);
    expect_link_refusal(rc_store_put(g_st, "l/k", "v", 1, NULL, NULL, &e), &e, "l/.lock",
                        lock_target, "a plain file", "put with a linked lock");
    struct stat st;
    cr_assert_neq(stat(lock_target, &st), 0, "the lock's link target was created outside");
    cr_assert_not(exists("l/k"));
    cr_assert_eq(tree_count(out), 1);
    rc_buf_free(&b);
    rc_test_rmtree(out);
    free(out);
}

/* A file with a second hard link, a fifo or a device is not the store's. */
Test(store_file, hard_links_and_special_files_are_refused, .timeout = 20)
{
    char *out = rc_test_tmpdir("store_file-outside");
    cr_assert_not_null(out);
    char other[4400];
    snprintf(other, sizeof other, "%s/other.bin", out);
    cr_assert_eq(rc_test_write_file(other, "outside", 7), 0);
    mkdirs_rel("h");
    char *hp = path_of("h/linked.bin");
    cr_assert_eq(link(other, hp), 0);
    free(hp);
    rc_err e;
    rc_buf b = RC_BUF_INIT;
    rc_obj_info info;
    const char *hmsg = "h/linked.bin has 2 hard links; the local store never reads a file that "
                       "is linked elsewhere too: replace h/linked.bin with a copy of its own or "
                       "remove it";
    rc_err_clear(&e);
    cr_assert_eq(rc_store_get(g_st, "h/linked.bin", &b, &info, &e), RC_EUNUSABLE, "%s", e.msg);
    cr_assert(strstr(e.msg, hmsg), "message: %s", e.msg);
    rc_err_clear(&e);
    cr_assert_eq(rc_store_head(g_st, "h/linked.bin", &info, &e), RC_EUNUSABLE, "%s", e.msg);
    cr_assert(strstr(e.msg, hmsg), "message: %s", e.msg);
    keys ks = {0};
    rc_err_clear(&e);
    cr_assert_eq(rc_store_list(g_st, "h/", collect, &ks, &e), RC_EUNUSABLE, "%s", e.msg);
    cr_assert(strstr(e.msg, hmsg), "message: %s", e.msg);
    rc_err_clear(&e);
    cr_assert_eq(rc_store_delete(g_st, "h/linked.bin", &e), RC_EUNUSABLE, "%s", e.msg);
    cr_assert(exists("h/linked.bin"));

    /* a fifo as an object (opening it for reading would block forever) and
     * as a folder */
    char *fp = path_of("f.bin");
    cr_assert_eq(mkfifo(fp, 0644), 0);
    free(fp);
    const char *fmsg = "f.bin is a named pipe (fifo), not a plain file or directory; the local "
                       "store holds only plain files and directories: remove f.bin or move it "
                       "out of the store";
    rc_err_clear(&e);
    cr_assert_eq(rc_store_get(g_st, "f.bin", &b, &info, &e), RC_EUNUSABLE, "%s", e.msg);
    cr_assert(strstr(e.msg, fmsg), "message: %s", e.msg);
    rc_err_clear(&e);
    cr_assert_eq(rc_store_put(g_st, "f.bin/x", "v", 1, NULL, NULL, &e), RC_EUNUSABLE, "%s", e.msg);
    cr_assert(strstr(e.msg, fmsg), "message: %s", e.msg);
    rc_err_clear(&e);
    cr_assert_eq(rc_store_list(g_st, "", collect, &ks, &e), RC_EUNUSABLE, "%s", e.msg);
    cr_assert(strstr(e.msg, "is a named pipe (fifo)"), "message: %s", e.msg);
    b.len = 0;
    cr_assert_eq(rc_test_read_file(other, &b), 0);
    cr_assert_str_eq(b.data, "outside");
    rc_buf_free(&b);
    rc_test_rmtree(out);
    free(out);
}

/* Unchanged: a key under another key's file is refused naming that file;
 * reads of such a key find nothing. */
Test(store_file, key_under_a_plain_file_is_refused_naming_it)
{
    put_str("data/2025/11", "a file where a month should be");
    rc_err e;
    rc_err_clear(&e);
    cr_assert_eq(rc_store_put(g_st, "data/2025/11/HV/x", "v", 1, NULL, NULL, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "data/2025/11 is a file"), "message: %s", e.msg);
    cr_assert(strstr(e.msg, "\"data/2025/11/HV/x\""), "message names the key: %s", e.msg);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(g_st, "data/2025/11/HV/x", &b, NULL, &e), RC_ENOTFOUND);
    cr_assert_eq(rc_store_delete(g_st, "data/2025/11/HV/x", &e), RC_OK);
    keys *ks = list("data/2025/11/");
    cr_assert_eq(ks->n, 0);
    free(ks);
    rc_buf_free(&b);
}

/* The root itself may be a link (/data -> /mnt/data): that is the operator's
 * path, resolved once at open, and everything works beneath it. */
Test(store_file, root_that_is_a_symlink_works)
{
    mkdirs_rel("real");
    symlink_rel("real", "link");
    char root[4300];
    snprintf(root, sizeof root, "%s/link", g_dir);
    rc_store *s = NULL;
    rc_err e;
    rc_err_clear(&e);
    cr_assert_eq(rc_store_open(root, NULL, &s, &e), RC_OK, "%s", e.msg);
    const char *key = "data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json";
    char etag[RC_ETAG_MAX];
    cr_assert_eq(rc_store_put(s, key, "{}", 2, NULL, etag, &e), RC_OK, "%s", e.msg);
    rc_put_opts m = {NULL, etag, 0};
    cr_assert_eq(rc_store_put(s, key, "{\"a\":1}", 7, &m, NULL, &e), RC_OK, "%s", e.msg);
    cr_assert(exists("real/data/2025/11/HV/kilauea/UWE/%/HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json"));
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(s, key, &b, NULL, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(b.data, "{\"a\":1}");
    keys ks = {0};
    cr_assert_eq(rc_store_list(s, "", collect, &ks, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(ks.n, 1);
    cr_assert_str_eq(ks.k[0], key);
    cr_assert_eq(rc_store_delete(s, key, &e), RC_OK, "%s", e.msg);
    cr_assert_not(
        exists("real/data/2025/11/HV/kilauea/UWE/%/HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json"));
    rc_store_close(s);

    /* a root that does not exist yet, under a linked parent: made by the first write */
    snprintf(root, sizeof root, "file://%s/link/sub/store", g_dir);
    cr_assert_eq(rc_store_open(root, NULL, &s, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_store_get(s, "k", &b, NULL, &e), RC_ENOTFOUND);
    cr_assert_not(exists("real/sub"));
    cr_assert_eq(rc_store_put(s, "d/k", "v", 1, NULL, NULL, &e), RC_OK, "%s", e.msg);
    cr_assert(exists("real/sub/store/d/k"));
    rc_store_close(s);
    rc_buf_free(&b);
}
