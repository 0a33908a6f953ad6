/*
 * test_verify.c: `r2cache verify` finds every planted fault, with its exact
 * kind and key, exits 1 on any, and `--repair` fixes the indexes from the
 * blobs without deleting any blob.
 */
#include "inv_fixture.h"

#include "r2cache/inventory.h"
#include "r2cache/summary.h"
#include "r2cache/version.h"

TestSuite(verify, .init = fx_setup, .fini = fx_teardown, .timeout = 300);

#define K_DEL AAA_DIR "XX_AAA__HHZ_1Hz_2025-11-04-01-00-00_to_2025-11-04-01-10-00.bin.zst"
#define K_TRUNC AAA_DIR "XX_AAA__HHZ_1Hz_2025-11-04-02-00-00_to_2025-11-04-02-10-00.bin.zst"
#define K_FLIP BBB_DIR "XX_BBB_00_BHZ_1Hz_2025-11-03-12-00-00_to_2025-11-03-18-00-00.bin.zst"
#define K_ORPHAN AAA_DIR "XX_AAA__HHZ_1Hz_2025-11-05-20-00-00_to_2025-11-05-20-10-00.bin.zst"
#define K_ORPHAN_SRC AAA_DIR "XX_AAA__HHZ_1Hz_2025-11-05-02-00-00_to_2025-11-05-02-10-00.bin.zst"
#define CCC_KEY(t) CCC_DIR "YY_CCC__HHZ_1Hz_" t ".bin.zst"
#define CCC_MANIFEST CCC_DIR "YY_CCC__HHZ_1Hz_2025-11-04.json"

static void get(rc_store *st, const char *key, rc_buf *b, rc_obj_info *info)
{
    rc_err e;
    rc_buf_reset(b);
    cr_assert_eq(rc_store_get(st, key, b, info, &e), RC_OK, "%s", e.msg);
    if (info) cr_assert_eq(rc_store_head(st, key, info, &e), RC_OK, "%s", e.msg);
}

static void put(rc_store *st, const char *key, const void *d, size_t n, const rc_obj_meta *m)
{
    rc_err e;
    rc_put_opts po = {m, NULL, 0};
    cr_assert_eq(rc_store_put(st, key, d, n, &po, NULL, &e), RC_OK, "%s", e.msg);
}

/* Remove the entry starting at hms from a manifest's 10min list, by hand. */
static void drop_entry(rc_store *st, const char *mkey, const char *hms)
{
    rc_buf b = RC_BUF_INIT;
    rc_obj_info info;
    get(st, mkey, &b, &info);
    cJSON *m = cJSON_Parse(b.data);
    cJSON *l =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "chunks"), "10min");
    int idx = -1, i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, l)
    {
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(it, "start")->valuestring, hms)) idx = i;
        i++;
    }
    cr_assert(idx >= 0, "no entry %s in %s", hms, mkey);
    cJSON_DeleteItemFromArray(l, idx);
    char *s = cJSON_Print(m);
    put(st, mkey, s, strlen(s), &info.meta);
    free(s);
    cJSON_Delete(m);
    rc_buf_free(&b);
}

typedef struct want_fault {
    const char *kind, *key;
} want_fault;

static void expect_faults(const cJSON *j, const want_fault *w, int n)
{
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(j, "faults");
    char *all = cJSON_Print(fs);
    cr_assert_eq(cJSON_GetArraySize(fs), n, "faults: %s", all);
    for (int i = 0; i < n; i++) {
        int found = 0;
        const cJSON *f;
        cJSON_ArrayForEach(f, fs)
        {
            if (!strcmp(fx_str(f, "kind"), w[i].kind) && !strcmp(fx_str(f, "key"), w[i].key))
                found = 1;
        }
        cr_assert(found, "fault %s %s not reported; faults: %s", w[i].kind, w[i].key, all);
    }
    free(all);
}

Test(verify, clean_cache_passes)
{
    cJSON *j;
    int rc = fx_json("verify", &j);
    cr_assert_eq(rc, 0, "exit %d", rc);
    cr_assert_str_eq(fx_str(j, "status"), "complete");
    cr_assert_str_eq(fx_str(j, "command"), "verify");
    cr_assert_str_eq(j->child->string, "command");
    cr_assert_str_eq(fx_str(j, "version"), R2CACHE_VERSION);
    /* AAA 3 days 370 chunks, BBB the same, CCC 148 */
    cr_assert_eq(fx_num(j, "blobs"), 370 + 370 + 148);
    cr_assert_eq(fx_num(j, "entries"), 370 + 370 + 148);
    /* YY.CCC's days without data (11-03, 11-05) hold only their source_empty record */
    cr_assert_eq(fx_num(j, "manifests"), 3 + 3 + 3);
    cr_assert_eq(fx_num(j, "fault_count"), 0);
    cJSON_Delete(j);
}

Test(verify, finds_every_planted_fault_and_repair_fixes_the_indexes)
{
    rc_store *st = fx_store();
    rc_buf b = RC_BUF_INIT;
    rc_obj_info info;
    /* 1. deleted blob */
    fx_delete(st, K_DEL);
    /* 2. truncated blob (its sidecar/metadata kept) */
    get(st, K_TRUNC, &b, &info);
    put(st, K_TRUNC, b.data, b.len / 2, &info.meta);
    /* 3. flipped byte in the middle of a 6 h blob */
    get(st, K_FLIP, &b, &info);
    b.data[b.len / 2] ^= 0x40;
    put(st, K_FLIP, b.data, b.len, &info.meta);
    /* 4. a manifest entry removed (its blob stays) */
    drop_entry(st, CCC_MANIFEST, "03:00:00");
    /* 5. an extra orphan: a copy of another window's blob under a key no
     * manifest names (2025-11-05 20:00 was never filled) */
    get(st, K_ORPHAN_SRC, &b, &info);
    put(st, K_ORPHAN, b.data, b.len, &info.meta);

    cJSON *j;
    int rc = fx_json("verify", &j);
    cr_assert_eq(rc, 1, "verify must exit 1 on faults (got %d)", rc);
    cr_assert_str_eq(fx_str(j, "status"), "damaged");
    want_fault w[] = {
        {"missing-blob", K_DEL},
        {"corrupt-blob", K_TRUNC},
        {"corrupt-blob", K_FLIP},
        {"orphan-blob", CCC_KEY("2025-11-04-03-00-00_to_2025-11-04-03-10-00")},
        {"orphan-blob", K_ORPHAN},
    };
    expect_faults(j, w, 5);
    cJSON_Delete(j);

    /* scoped: only the faults of that channel */
    rc = fx_json("verify --station YY.CCC..HHZ", &j);
    cr_assert_eq(rc, 1);
    expect_faults(j, &w[3], 1);
    cJSON_Delete(j);
    /* ranged: 2025-11-03 holds only the flipped 6 h blob */
    rc = fx_json("verify --from 2025-11-03T00:00:00Z --to 2025-11-04T00:00:00Z", &j);
    cr_assert_eq(rc, 1);
    expect_faults(j, &w[2], 1);
    cJSON_Delete(j);

    rc = fx_json("verify --repair", &j);
    cr_assert_eq(rc, 1, "the faults were there when verify ran");
    cr_assert_eq(fx_num(j, "repaired"), 3, "AAA 04 (drop), CCC 04 (add), AAA 05 (add)");
    cJSON_Delete(j);

    /* after repair only the corrupt blobs are left: data is never deleted */
    rc = fx_json("verify", &j);
    cr_assert_eq(rc, 1);
    expect_faults(j, &w[1], 2);
    cJSON_Delete(j);
    rc_err e;
    cr_assert_eq(rc_store_head(st, K_TRUNC, &info, &e), RC_OK, "repair deleted a blob");
    cr_assert_eq(rc_store_head(st, K_FLIP, &info, &e), RC_OK, "repair deleted a blob");
    /* the orphan's entry came from its metadata: the stats of 02:00 */
    rc_buf_reset(&b);
    get(st, AAA_DIR "XX_AAA__HHZ_1Hz_2025-11-05.json", &b, NULL);
    cJSON *m = cJSON_Parse(b.data);
    const cJSON *l =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "chunks"), "10min");
    cr_assert_eq(cJSON_GetArraySize(l), 73);
    const cJSON *last = cJSON_GetArrayItem(l, 72);
    cr_assert_str_eq(fx_str(last, "start"), "20:00:00");
    cr_assert_eq(fx_num(last, "samples"), 600);
    cJSON_Delete(m);
    rc_buf_free(&b);
    rc_store_close(st);
}

Test(verify, stale_summary_is_a_fault_and_repair_rewrites_it)
{
    rc_store *st = fx_store();
    cJSON *j;
    cr_assert_eq(fx_json("inventory --scope all", &j), 0); /* writes the summaries */
    cJSON_Delete(j);
    cr_assert_eq(fx_json("verify", &j), 0);
    cJSON_Delete(j);
    /* a blob and its entry disappear behind the summary's back */
    fx_delete(st, K_DEL);
    drop_entry(st, AAA_DIR "XX_AAA__HHZ_1Hz_2025-11-04.json", "01:00:00");
    int rc = fx_json("verify", &j);
    cr_assert_eq(rc, 1);
    want_fault w[] = {{"summary-stale", "index/kilauea/XX.AAA..HHZ/2025-11.json"}};
    expect_faults(j, w, 1);
    cJSON_Delete(j);
    /* a pending change marker is not a fault: the next inventory rebuilds it */
    rc_chan c = {"XX", "AAA", "", "HHZ"};
    rc_err e;
    cr_assert_eq(rc_summary_touch(st, &c, "kilauea", 1762214400LL, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(fx_json("verify", &j), 0);
    cJSON_Delete(j);
    cr_assert_eq(fx_json("inventory --scope station --station XX.AAA..HHZ", &j), 0);
    cr_assert_eq(fx_num(j, "total_chunks.10min"), 359);
    cJSON_Delete(j);
    cr_assert_eq(fx_json("verify", &j), 0);
    cJSON_Delete(j);
    rc_store_close(st);
}

/* Set fields of the 10min entry starting at hms in a manifest, by hand. */
static void edit_entry(rc_store *st, const char *mkey, const char *hms, int min, const char *sha)
{
    rc_buf b = RC_BUF_INIT;
    rc_obj_info info;
    get(st, mkey, &b, &info);
    cJSON *m = cJSON_Parse(b.data);
    cJSON *l =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "chunks"), "10min");
    cJSON *it, *found = NULL;
    cJSON_ArrayForEach(it, l)
    {
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(it, "start")->valuestring, hms)) found = it;
    }
    cr_assert(found, "no entry %s in %s", hms, mkey);
    if (sha)
        cJSON_ReplaceItemInObjectCaseSensitive(found, "sha256", cJSON_CreateString(sha));
    else
        cJSON_ReplaceItemInObjectCaseSensitive(found, "min", cJSON_CreateNumber(min));
    char *s = cJSON_Print(m);
    put(st, mkey, s, strlen(s), &info.meta);
    free(s);
    cJSON_Delete(m);
    rc_buf_free(&b);
}

/* An entry that disagrees with its blob (sha256, min) is an index fault:
 * the hint names --repair, and --repair rebuilds the entry from the blob, so
 * verify is clean afterwards; the manifest is written with the configured
 * Cache-Control, as every manifest write is. */
Test(verify, repair_rebuilds_entries_that_disagree_with_their_blob)
{
    rc_store *st = fx_store();
    const char *mkey = AAA_DIR "XX_AAA__HHZ_1Hz_2025-11-04.json";
    edit_entry(st, mkey, "04:00:00", -12345678, NULL);
    edit_entry(st, mkey, "05:00:00", 0,
               "0000000000000000000000000000000000000000000000000000000000000000");
    char a[8192];
    snprintf(a, sizeof a, "verify --config '%s' --log-format text", g_config);
    rc_buf out = RC_BUF_INIT;
    int rc = fx_r2(a, &out, NULL);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(out.data, "min-max         " AAA_DIR), "%s", out.data);
    cr_assert(strstr(out.data, "sha256          " AAA_DIR), "%s", out.data);
    cr_assert(strstr(out.data, "  2 index faults: `r2cache verify --repair` (or `r2cache reindex`) "
                               "rebuilds the manifests and summaries from the blobs\n"),
              "%s", out.data);
    cr_assert_null(strstr(out.data, "blob faults"), "%s", out.data);
    rc_buf_free(&out);
    cJSON *j;
    cr_assert_eq(fx_json("verify --repair", &j), 1, "the faults were there when verify ran");
    cr_assert_eq(fx_num(j, "repaired"), 1, "one manifest rewritten");
    cr_assert_eq(fx_num(j, "unrepaired"), 0);
    cJSON_Delete(j);
    cr_assert_eq(fx_json("verify", &j), 0, "repair left faults");
    cJSON_Delete(j);
    rc_obj_info info;
    rc_err e;
    cr_assert_eq(rc_store_head(st, mkey, &info, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(info.meta.cache_control, "public, max-age=17");
    cr_assert_str_eq(info.meta.content_type, "application/json");
    /* a corrupt blob is a blob fault: the hint names what fetches it again */
    rc_buf b = RC_BUF_INIT;
    get(st, K_TRUNC, &b, &info);
    put(st, K_TRUNC, b.data, b.len / 2, &info.meta);
    rc_buf_free(&b);
    cr_assert_eq(fx_r2(a, &out, NULL), 1);
    cr_assert(strstr(out.data, "  1 blob faults: the blob itself is gone or damaged; `r2cache fill "
                               "--force` over its window fetches it again"),
              "%s", out.data);
    rc_buf_free(&out);
    rc_store_close(st);
}
