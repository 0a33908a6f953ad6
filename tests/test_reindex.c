/*
 * test_reindex.c: `r2cache reindex` after every manifest is deleted (or
 * corrupted) gives back manifests equal to the originals apart from their
 * timestamps, from the blobs' own metadata, and from decoded bodies when a
 * blob has no metadata.
 */
#include "inv_fixture.h"

TestSuite(reindex, .init = fx_setup, .fini = fx_teardown, .timeout = 300);

typedef struct keys {
    char k[16][512];
    int n;
} keys;

static int manifest_cb(void *ud, const rc_obj_info *o)
{
    keys *ks = ud;
    size_t n = strlen(o->key);
    if (n > 5 && !strcmp(o->key + n - 5, ".json") && ks->n < 16)
        snprintf(ks->k[ks->n++], 512, "%s", o->key);
    return 0;
}

/* Drop the fields that record when, not what. */
static void strip_times(cJSON *o)
{
    if (!o) return;
    cJSON_DeleteItemFromObjectCaseSensitive(o, "created_at");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "updated_at");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "written_at");
    /* what the source was asked and when: no blob holds it, so a rebuild
     * from blobs does not have it (the windows are only asked again) */
    cJSON_DeleteItemFromObjectCaseSensitive(o, "source_empty");
    cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        if (cJSON_IsObject(it) || cJSON_IsArray(it)) strip_times(it);
    }
}

static cJSON *load(rc_store *st, const char *key)
{
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    cr_assert_eq(rc_store_get(st, key, &b, NULL, &e), RC_OK, "%s: %s", key, e.msg);
    cJSON *j = cJSON_Parse(b.data);
    cr_assert(j, "%s is not JSON", key);
    rc_buf_free(&b);
    strip_times(j);
    return j;
}

/* A manifest of a day without any chunk: it holds only the record of the
 * windows the source had no data for (YY.CCC on 2025-11-03 and -05). */
static int only_source_empty(const char *key)
{
    return strstr(key, "YY_CCC__HHZ_1Hz_2025-11-03.json") ||
           strstr(key, "YY_CCC__HHZ_1Hz_2025-11-05.json");
}

static void check_rebuild(rc_store *st, void (*damage)(rc_store *, const char *))
{
    keys all = {.n = 0}, ks = {.n = 0};
    rc_err e;
    cr_assert_eq(rc_store_list(st, "data/", manifest_cb, &all, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(all.n, 9, "3 + 3 + 3 manifests expected");
    for (int i = 0; i < all.n; i++)
        if (!only_source_empty(all.k[i])) snprintf(ks.k[ks.n++], 512, "%s", all.k[i]);
    cr_assert_eq(ks.n, 7, "3 + 3 + 1 manifests with chunks expected");
    cJSON *orig[16];
    for (int i = 0; i < ks.n; i++) {
        orig[i] = load(st, ks.k[i]);
        damage(st, ks.k[i]);
    }
    cJSON *j;
    int rc = fx_json("reindex", &j);
    cr_assert_eq(rc, 0, "reindex exit %d", rc);
    cr_assert_eq(fx_num(j, "manifests_written"), 7);
    cr_assert_eq(fx_num(j, "entries"), 370 + 370 + 148);
    cr_assert_eq(fx_num(j, "failed"), 0);
    cr_assert_eq(fx_num(j, "summaries_written"), 3);
    cJSON_Delete(j);
    for (int i = 0; i < ks.n; i++) {
        /* written with the configuration's cache_control.manifest, as
         * every manifest write is (it was a hard-coded max-age=60) */
        rc_obj_info info;
        rc_err e;
        cr_assert_eq(rc_store_head(st, ks.k[i], &info, &e), RC_OK, "%s", e.msg);
        cr_assert_str_eq(info.meta.cache_control, "public, max-age=17", "%s", ks.k[i]);
        cJSON *now = load(st, ks.k[i]);
        if (!cJSON_Compare(orig[i], now, 1)) {
            char *a = cJSON_Print(orig[i]), *b = cJSON_Print(now);
            cr_assert_fail("%s differs after reindex:\n--- original\n%.3000s\n--- rebuilt\n%.3000s",
                           ks.k[i], a, b);
        }
        cJSON_Delete(now);
        cJSON_Delete(orig[i]);
    }
    /* idempotent: a second run writes nothing */
    rc = fx_json("reindex", &j);
    cr_assert_eq(rc, 0);
    cr_assert_eq(fx_num(j, "manifests_written"), 0);
    cr_assert_eq(fx_num(j, "summaries_written"), 0);
    cJSON_Delete(j);
    cr_assert_eq(fx_json("verify", &j), 0, "verify after reindex");
    cJSON_Delete(j);
}

static void del(rc_store *st, const char *key)
{
    fx_delete(st, key);
}

static void corrupt(rc_store *st, const char *key)
{
    rc_err e;
    cr_assert_eq(rc_store_put(st, key, "{\"date\": \"2025-11", 17, NULL, NULL, &e), RC_OK, "%s",
                 e.msg);
}

Test(reindex, deleted_manifests_come_back_equal_apart_from_timestamps)
{
    rc_store *st = fx_store();
    check_rebuild(st, del);
    rc_store_close(st);
}

Test(reindex, corrupted_manifests_are_replaced)
{
    rc_store *st = fx_store();
    check_rebuild(st, corrupt);
    rc_store_close(st);
}

Test(reindex, blob_without_metadata_is_indexed_from_its_body)
{
    rc_store *st = fx_store();
    const char *key = CCC_DIR "YY_CCC__HHZ_1Hz_2025-11-04-03-00-00_to_2025-11-04-03-10-00.bin.zst";
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    cr_assert_eq(rc_store_get(st, key, &b, NULL, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_store_put(st, key, b.data, b.len, NULL, NULL, &e), RC_OK, "%s", e.msg);
    rc_buf_free(&b);
    cJSON *orig = load(st, CCC_DIR "YY_CCC__HHZ_1Hz_2025-11-04.json");
    fx_delete(st, CCC_DIR "YY_CCC__HHZ_1Hz_2025-11-04.json");
    cJSON *j;
    cr_assert_eq(fx_json("reindex --volcano spurr", &j), 0);
    cr_assert_eq(fx_num(j, "decoded_bodies"), 1);
    cr_assert_eq(fx_num(j, "manifests_written"), 1);
    cJSON_Delete(j);
    cJSON *now = load(st, CCC_DIR "YY_CCC__HHZ_1Hz_2025-11-04.json");
    const cJSON *lo = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(orig, "chunks"), "10min"),
        18);
    const cJSON *ln = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(now, "chunks"), "10min"),
        18);
    cr_assert_str_eq(fx_str(ln, "start"), "03:00:00");
    cr_assert_eq(fx_num(ln, "samples"), fx_num(lo, "samples"));
    cr_assert_eq(fx_num(ln, "min"), fx_num(lo, "min"));
    cr_assert_eq(fx_num(ln, "max"), fx_num(lo, "max"));
    cr_assert_str_eq(fx_str(ln, "sha256"), fx_str(lo, "sha256"));
    cJSON_Delete(orig);
    cJSON_Delete(now);
    rc_store_close(st);
}
