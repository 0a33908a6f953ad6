/*
 * cmd_verify.c: `r2cache verify`: prove the cache is sound, or list exactly
 * what is not.
 *
 * One listing of data/ is grouped by channel-day; each day's manifest is
 * checked against its blobs both ways (entry without blob, blob without
 * entry), and every indexed blob is read back and decoded: sample count,
 * min and max, sha256 and size must be what the manifest recorded. The
 * per-month inventory summaries are checked against the same listing.
 * --repair fixes only indexes (manifests, summaries) from the blobs; it never
 * deletes or rewrites a blob, so a corrupt blob stays reported.
 */
#include "r2cache/cli.h"
#include "r2cache/codec.h"
#include "r2cache/codec_compact.h"
#include "r2cache/inventory.h"
#include "r2cache/listing.h"
#include "r2cache/manifest.h"
#include "r2cache/summary.h"
#include "r2cache/timewin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct verify_args {
    int repair;
} verify_args;

static const rc_cli_opt verify_opts[] = {
    RC_OPT_FLAG("repair", verify_args, repair,
                "fix manifests and summaries from the blobs (never deletes data)"),
    RC_OPT_END};

typedef struct vctx {
    rc_cli *cli;
    rc_codec *codec;
    cJSON *faults;
    int64_t manifests, entries, blobs, repaired, unrepaired;
    int64_t index_faults; /* fixed by --repair: entries, orphans, summaries */
    int64_t blob_faults;  /* a blob that is gone or does not decode: only a refetch helps */
    int repair;
} vctx;

enum { BLOB_OK = 0, BLOB_ENTRY_DIFFERS = 1, BLOB_BAD = 2 };

static void fault(vctx *v, const char *kind, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fault(vctx *v, const char *kind, const char *key, const char *fmt, ...)
{
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "kind", kind);
    cJSON_AddStringToObject(f, "key", key);
    cJSON_AddStringToObject(f, "detail", detail);
    cJSON_AddItemToArray(v->faults, f);
    if (!v->cli->json) printf("%-15s %s: %s\n", kind, key, detail);
}

/* Read one indexed blob back and compare with its entry. */
static int check_blob(vctx *v, const rc_listing_obj *o, const rc_mentry *en)
{
    rc_err e;
    rc_buf body = RC_BUF_INIT;
    v->blobs++;
    int rc = rc_store_get(v->cli->store, o->key, &body, NULL, &e);
    if (rc == RC_ENOTFOUND) {
        fault(v, "missing-blob", o->key, "listed, then gone when read");
        rc_buf_free(&body);
        v->blob_faults++;
        return BLOB_BAD;
    }
    if (rc) {
        fault(v, "unreadable-blob", o->key, "%s", e.msg);
        rc_buf_free(&body);
        v->blob_faults++;
        return BLOB_BAD;
    }
    int32_t *s = NULL;
    size_t n = 0;
    if (rc_codec_decode_named(v->codec, en->codec, body.data, body.len, 0, &s, &n, &e) != RC_OK) {
        fault(v, "corrupt-blob", o->key, "%zu bytes (manifest says %lld): %s", body.len,
              (long long)en->bytes, e.msg);
        rc_buf_free(&body);
        v->blob_faults++;
        return BLOB_BAD;
    }
    int32_t mn = n ? s[0] : 0, mx = n ? s[0] : 0;
    for (size_t k = 1; k < n; k++) {
        mn = s[k] < mn ? s[k] : mn;
        mx = s[k] > mx ? s[k] : mx;
    }
    free(s);
    char sha[65];
    rc_codec_sha256(body.data, body.len, sha);
    int r = BLOB_ENTRY_DIFFERS;
    if ((int64_t)n != en->samples)
        fault(v, "sample-count", o->key, "decodes to %zu samples, manifest records %lld", n,
              (long long)en->samples);
    else if (mn != en->min || mx != en->max)
        fault(v, "min-max", o->key, "decoded min %d max %d, manifest records min %d max %d", mn, mx,
              en->min, en->max);
    else if (en->sha256[0] && strcmp(sha, en->sha256) != 0)
        fault(v, "sha256", o->key, "body sha256 %s, manifest records %s", sha, en->sha256);
    else if (en->bytes > 0 && (int64_t)body.len != en->bytes)
        fault(v, "size", o->key, "%zu bytes, manifest records %lld", body.len,
              (long long)en->bytes);
    else
        r = BLOB_OK;
    if (r == BLOB_ENTRY_DIFFERS) v->index_faults++;
    rc_buf_free(&body);
    return r;
}

/* Verify one channel-day: objects o[0..n). */
static void verify_day(vctx *v, const rc_target *t, const rc_listing_obj *o, size_t n)
{
    rc_cli *cli = v->cli;
    rc_layout l = cli->cfg.layout;
    const rc_listing_obj *mo = o[0].ki.kind == RC_KEY_MANIFEST ? &o[0] : NULL;
    const rc_listing_obj *chunks = mo ? o + 1 : o;
    size_t nc = mo ? n - 1 : n;
    rc_err e;
    rc_manifest m;
    int have = 0;
    int64_t day = rc_listing_obj_day(&o[0]);
    double rate = 0;
    for (size_t i = 0; i < nc && rate <= 0; i++)
        rate = chunks[i].ki.chunk.rate;
    if (mo) {
        v->manifests++;
        rate = mo->ki.manifest.rate > 0 ? mo->ki.manifest.rate : rate;
        int rc = rc_manifest_load(cli->store, l, mo->key, &m, NULL, &e);
        if (rc == RC_OK)
            have = 1;
        else if (rc != RC_ENOTFOUND) {
            fault(v, "bad-manifest", mo->key, "%s", e.msg);
            v->index_faults++;
        }
    }
    if (have && rate <= 0) rate = m.sample_rate;
    if (rate <= 0) rate = t->st->sample_rate;
    /* entries without blobs */
    rc_mwant *want = calloc(nc + 1, sizeof *want);
    size_t nw = 0;
    if (have)
        for (int s = 0; s < RC_SPAN_COUNT; s++)
            for (size_t k = 0; k < m.chunks[s].n; k++) {
                const rc_mentry *en = &m.chunks[s].v[k];
                v->entries++;
                int found = 0;
                for (size_t i = 0; i < nc && !found; i++)
                    found = chunks[i].ki.chunk.span == (rc_span)s &&
                            chunks[i].ki.chunk.start == en->start;
                if (!found) {
                    rc_chunk_id id;
                    memset(&id, 0, sizeof id);
                    id.chan = t->st->chan;
                    snprintf(id.volcano, sizeof id.volcano, "%s", t->volc->name);
                    id.rate = rate;
                    id.span = (rc_span)s;
                    id.start = en->start;
                    char key[RC_KEY_MAX];
                    if (rc_key_chunk(l, &id, key, sizeof key, &e) != RC_OK)
                        snprintf(key, sizeof key, "%s#%s@%lld", mo->key, rc_span_name(s),
                                 (long long)en->start);
                    fault(v, "missing-blob", key,
                          "manifest %s names it; the store has no such object", mo->key);
                    v->index_faults++; /* repair drops the entry; a fill refetches the window */
                }
            }
    /* blobs: indexed ones are read back; the others are orphans */
    rc_mentry *added = calloc(nc + 1, sizeof *added);
    size_t nadded = 0;
    for (size_t i = 0; i < nc; i++) {
        const rc_listing_obj *c = &chunks[i];
        const rc_mentry *en =
            have ? rc_manifest_find(&m, c->ki.chunk.span, c->ki.chunk.start) : NULL;
        if (en) {
            int r = check_blob(v, c, en);
            if (!want) continue;
            want[nw].span = c->ki.chunk.span;
            want[nw].entry = *en;
            /* The blob is the truth: an entry that disagrees with it is
             * rebuilt from the blob, as reindex would (the old one goes to
             * the entry's history). */
            if (r == BLOB_ENTRY_DIFFERS && v->repair && added) {
                int from_body = 0;
                if (rc_mentry_from_blob(cli->store, c->key, c->ki.chunk.span, c->ki.chunk.start,
                                        RC_MBLOB_DECODE | RC_MBLOB_STAMP, &added[nadded],
                                        &from_body, &e) == RC_OK)
                    want[nw].entry = added[nadded++];
                else {
                    v->unrepaired++;
                    rc_log_warn(&cli->log, "repair", "cannot rebuild the entry of %s: %s", c->key,
                                e.msg);
                }
            }
            nw++;
            continue;
        }
        v->blobs++;
        v->index_faults++;
        fault(v, "orphan-blob", c->key, "%s",
              mo ? "no entry in the day's manifest" : "the day has no manifest");
        if (v->repair && want && added) {
            int from_body = 0;
            if (rc_mentry_from_blob(cli->store, c->key, c->ki.chunk.span, c->ki.chunk.start,
                                    RC_MBLOB_DECODE | RC_MBLOB_STAMP, &added[nadded], &from_body,
                                    &e) == RC_OK) {
                want[nw].span = c->ki.chunk.span;
                want[nw].entry = added[nadded];
                nw++;
                nadded++;
            } else {
                v->unrepaired++;
                rc_log_warn(&cli->log, "repair", "cannot index %s: %s", c->key, e.msg);
            }
        }
    }
    if (v->repair && want) {
        int stale = 0;
        if (have)
            for (int s = 0; s < RC_SPAN_COUNT; s++)
                stale |= m.chunks[s].n > 0;
        size_t before = v->faults ? (size_t)cJSON_GetArraySize(v->faults) : 0;
        (void)before;
        rc_manifest tmpl;
        rc_manifest_init_station(&tmpl, l, t->st, t->volc->name, rate, day);
        rc_manifest_id mid;
        memset(&mid, 0, sizeof mid);
        mid.chan = t->st->chan;
        snprintf(mid.volcano, sizeof mid.volcano, "%s", t->volc->name);
        mid.rate = rate;
        mid.day = day;
        char key[RC_KEY_MAX];
        int changed = 0;
        if (nw || mo) {
            if (mo) snprintf(key, sizeof key, "%s", mo->key);
            int rc = mo ? RC_OK : rc_key_manifest(l, &mid, key, sizeof key, &e);
            if (rc == RC_OK) {
                rc_mmatch mm = {cli->store, want, nw, 1};
                rc_rmw_opts ro = {cli->cfg.cache_control_manifest, rc_config_base_span(&cli->cfg),
                                  10, 1, NULL};
                rc = rc_manifest_rmw(cli->store, key, &tmpl, rc_manifest_match, &mm, &ro, &changed,
                                     &e);
            }
            if (rc != RC_OK) {
                v->unrepaired++;
                rc_log_error(&cli->log, "repair", "%s", e.msg);
            } else if (changed) {
                v->repaired++;
                rc_log_info(&cli->log, "repair", "manifest %s now indexes exactly its %zu blobs",
                            key, nw);
            }
        }
        rc_manifest_free(&tmpl);
        (void)stale;
    }
    for (size_t i = 0; i < nadded; i++)
        rc_mentry_free(&added[i]);
    free(added);
    free(want);
    if (have) rc_manifest_free(&m);
}

/* Summaries against the listing (and the manifests just checked). */
static void verify_summaries(vctx *v, const rc_listing *objs, int64_t from, int64_t to)
{
    rc_cli *cli = v->cli;
    rc_err e;
    cJSON *stored = NULL, *markers = NULL;
    if (rc_summary_read_all(cli->store, &stored, &markers, &e) != RC_OK) {
        fault(v, "summary-unreadable", "index/", "%s", e.msg);
        return;
    }
    rc_inventory inv;
    rc_inventory_init(&inv, cli->cfg.layout);
    for (size_t i = 0; i < objs->n; i++) {
        rc_obj_info oi;
        memset(&oi, 0, sizeof oi);
        snprintf(oi.key, sizeof oi.key, "%s", objs->v[i].key);
        oi.size = objs->v[i].size;
        rc_inventory_add(&inv, &oi);
    }
    for (size_t i = 0; i < inv.n; i++)
        inv.ch[i].selected =
            rc_target_find(cli->targets, cli->ntargets, &inv.ch[i].chan, inv.ch[i].volcano) != NULL;
    rc_inventory_read_manifests(cli->store, &inv, 1, &e);
    int have_any = cJSON_GetArraySize(stored) > 0;
    for (size_t i = 0; have_any && i < inv.n; i++) {
        rc_inv_chan *ch = &inv.ch[i];
        if (!ch->selected) continue;
        size_t k = 0;
        while (k < ch->ndays) {
            int64_t month = rc_month_start(ch->days[k].day), next = rc_month_next(month);
            while (k < ch->ndays && ch->days[k].day < next)
                k++;
            if (next <= from || month >= to) continue;
            char key[RC_KEY_MAX], mkey[RC_KEY_MAX];
            rc_key_index(&ch->chan, ch->volcano, month, RC_INDEX_SUMMARY, key, sizeof key, &e);
            rc_key_index(&ch->chan, ch->volcano, month, RC_INDEX_MARKER, mkey, sizeof mkey, &e);
            const cJSON *it, *found = NULL;
            cJSON_ArrayForEach(it, stored)
            {
                const cJSON *sk = cJSON_GetObjectItemCaseSensitive(it, "key");
                if (cJSON_IsString(sk) && strcmp(sk->valuestring, key) == 0) found = it;
            }
            const cJSON *mk = cJSON_GetObjectItemCaseSensitive(markers, mkey);
            const cJSON *sj = found ? cJSON_GetObjectItemCaseSensitive(found, "summary") : NULL;
            const cJSON *absorbed = sj ? cJSON_GetObjectItemCaseSensitive(sj, "marker_etag") : NULL;
            int pending = mk && (!cJSON_IsString(absorbed) ||
                                 strcmp(absorbed->valuestring, mk->valuestring) != 0);
            cJSON *want = rc_summary_json(&inv, ch, month, NULL);
            int same = sj && cJSON_Compare(cJSON_GetObjectItemCaseSensitive(want, "days"),
                                           cJSON_GetObjectItemCaseSensitive(sj, "days"), 1);
            cJSON_Delete(want);
            if (same || pending) continue; /* a pending marker: the next inventory rebuilds it */
            fault(v, found ? "summary-stale" : "summary-missing", key,
                  found ? "differs from the listing and manifests of its month"
                        : "the month holds data but has no summary");
            v->index_faults++;
        }
    }
    if (v->repair && have_any) {
        for (size_t i = 0; i < inv.n; i++)
            if (inv.ch[i].selected) inv.ch[i].selected = 1;
        int64_t before = inv.months_rebuilt;
        if (rc_summary_write(cli->store, &inv, 1, stored, markers, &e) != RC_OK)
            rc_log_error(&cli->log, "repair", "%s", e.msg);
        v->repaired += inv.months_rebuilt - before;
    }
    rc_inventory_free(&inv);
    cJSON_Delete(stored);
    cJSON_Delete(markers);
}

static int verify_run(void *user, const rc_listing_obj *o, size_t n)
{
    vctx *x = user;
    const rc_target *t = rc_target_find(x->cli->targets, x->cli->ntargets,
                                        rc_listing_obj_chan(&o[0]), rc_listing_obj_volcano(&o[0]));
    if (t) verify_day(x, t, o, n);
    return 0;
}

const rc_cmd_spec rc_cmd_verify_spec = {
    "r2cache verify --config FILE [scope] [--from T] [--to T] [--repair] [--json]",
    "Check that every manifest entry has its blob, that every blob decodes to the recorded\n"
    "sample count, min, max, sha256 and size, that no blob is missing from its manifest,\n"
    "and that the inventory summaries match the listing. Exit 1 on any fault.\n"
    "--repair rewrites manifests (adding orphan blobs from their metadata or body,\n"
    "dropping entries whose blob is gone) and summaries; it never deletes data.",
    verify_opts,
    sizeof(verify_args),
    NULL,
    NULL,
    NULL,
    NULL};

rc_exit rc_cmd_verify(rc_cli *cli)
{
    vctx v;
    memset(&v, 0, sizeof v);
    v.cli = cli;
    v.repair = ((const verify_args *)cli->args)->repair;
    int64_t from = cli->from_s ? cli->from : INT64_MIN / 2;
    int64_t to = cli->to_s ? cli->to : INT64_MAX / 2;
    rc_err e;
    rc_inventory unparsed;
    rc_inventory_init(&unparsed, cli->cfg.layout);
    rc_listing objs = {0};
    v.faults = cJSON_CreateArray();
    int rc = rc_codec_new(1, &v.codec, &e);
    if (rc == RC_OK)
        rc = rc_listing_list(cli->store, cli->cfg.layout, rc_key_root(), &objs, &unparsed, &e);
    if (rc != RC_OK) {
        rc_log_error(&cli->log, "verify", "%s", e.msg);
        rc_codec_free(v.codec);
        cJSON_Delete(v.faults);
        rc_listing_free(&objs);
        return rc_cli_exit_for(rc);
    }
    for (int i = 0; i < unparsed.nexamples; i++)
        fault(&v, "unparsed-key", unparsed.examples[i], "does not parse as a %s-layout key",
              rc_layout_name(cli->cfg.layout));
    rc_listing_each_day(&objs, from, to, cli->stop, verify_run, &v);
    verify_summaries(&v, &objs, from, to);
    int nf = cJSON_GetArraySize(v.faults);
    int64_t nunparsed = unparsed.unparsed;
    int interrupted = cli->stop && *cli->stop;
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "manifests", (double)v.manifests);
        cJSON_AddNumberToObject(o, "entries", (double)v.entries);
        cJSON_AddNumberToObject(o, "blobs", (double)v.blobs);
        cJSON_AddNumberToObject(o, "unparsed_keys", (double)nunparsed);
        cJSON_AddNumberToObject(o, "fault_count", nf);
        cJSON_AddItemToObject(o, "faults", v.faults);
        v.faults = NULL;
        if (v.repair) {
            cJSON_AddNumberToObject(o, "repaired", (double)v.repaired);
            cJSON_AddNumberToObject(o, "unrepaired", (double)v.unrepaired);
        }
        rc_cli_print_json(cli, o, interrupted ? "interrupted" : nf ? "damaged" : "complete");
    } else {
        printf("verify: %lld manifests, %lld entries, %lld blobs checked; %d faults\n",
               (long long)v.manifests, (long long)v.entries, (long long)v.blobs, nf);
        /* each hint names the command that fixes what it counts */
        if (!v.repair && v.index_faults)
            printf("  %lld index faults: `r2cache verify --repair` (or `r2cache reindex`) "
                   "rebuilds the manifests and summaries from the blobs\n",
                   (long long)v.index_faults);
        if (v.blob_faults)
            printf("  %lld blob faults: the blob itself is gone or damaged; `r2cache fill --force` "
                   "over its window fetches it again (nothing rewrites it from the index)\n",
                   (long long)v.blob_faults);
        if (v.repair)
            printf("repair: %lld indexes rewritten, %lld faults left as they are\n",
                   (long long)v.repaired, (long long)v.unrepaired);
    }
    rc_log_info(&cli->log, "verify", "%lld blobs, %d faults", (long long)v.blobs, nf);
    cJSON_Delete(v.faults);
    rc_codec_free(v.codec);
    rc_listing_free(&objs);
    rc_inventory_free(&unparsed);
    return interrupted || nf ? RC_EXIT_PARTIAL : RC_EXIT_OK;
}
