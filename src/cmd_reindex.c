/*
 * cmd_reindex.c: `r2cache reindex`: rebuild the manifests (and the
 * inventory summaries) from the blobs, so a lost or corrupted manifest is
 * never a lost day.
 *
 * Every blob carries its statistics in its own metadata (x-amz-meta-r2c-*,
 * or the local store's sidecar); a blob without them is decoded. Each
 * channel-day's manifest is made to index exactly its blobs with a
 * conditional write: entries that still match their blob are kept as they
 * are (history, written_at, revision), entries that differ are replaced
 * (the old one goes into history), entries without a blob are dropped.
 * Header fields come from the stored manifest when it parses, else from the
 * configuration.
 */
#include "r2cache/cli.h"
#include "r2cache/inventory.h"
#include "r2cache/listing.h"
#include "r2cache/manifest.h"
#include "r2cache/summary.h"
#include "r2cache/timewin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rc_cli_opt reindex_opts[] = {RC_OPT_END};

typedef struct rctx {
    rc_cli *cli;
    int64_t days, written, entries, from_body, failed;
} rctx;

static void reindex_day(rctx *r, const rc_target *t, const rc_listing_obj *o, size_t n)
{
    rc_cli *cli = r->cli;
    rc_layout l = cli->cfg.layout;
    rc_err e;
    const rc_listing_obj *mo = o[0].ki.kind == RC_KEY_MANIFEST ? &o[0] : NULL;
    const rc_listing_obj *chunks = mo ? o + 1 : o;
    size_t nc = mo ? n - 1 : n;
    int64_t day = rc_listing_obj_day(&o[0]);
    r->days++;
    rc_mwant *want = calloc(nc + 1, sizeof *want);
    if (!want) {
        r->failed++;
        return;
    }
    size_t nw = 0;
    double rate = 0;
    for (size_t i = 0; i < nc; i++) {
        int fb = 0;
        if (rc_mentry_from_blob(cli->store, chunks[i].key, chunks[i].ki.chunk.span,
                                chunks[i].ki.chunk.start, RC_MBLOB_DECODE | RC_MBLOB_STAMP,
                                &want[nw].entry, &fb, &e) != RC_OK) {
            rc_log_error(&cli->log, "reindex",
                         "%s: %s (left out of the manifest; the blob is kept)", chunks[i].key,
                         e.msg);
            r->failed++;
            continue;
        }
        if (chunks[i].ki.chunk.rate > 0)
            rate = chunks[i].ki.chunk.rate;
        else if (rate <= 0 && want[nw].entry.samples > 0)
            rate =
                (double)want[nw].entry.samples / (double)rc_span_seconds(chunks[i].ki.chunk.span);
        want[nw].span = chunks[i].ki.chunk.span;
        r->from_body += fb;
        nw++;
    }
    if (t->st->sample_rate > 0 && l == RC_LAYOUT_VIEWER) rate = t->st->sample_rate;
    if (mo && mo->ki.manifest.rate > 0 && rate <= 0) rate = mo->ki.manifest.rate;
    r->entries += (int64_t)nw;
    rc_manifest tmpl;
    rc_manifest_init_station(&tmpl, l, t->st, t->volc->name, rate, day);
    char key[RC_KEY_MAX];
    int rc = RC_OK;
    if (mo) {
        snprintf(key, sizeof key, "%s", mo->key);
    } else {
        rc_manifest_id mid;
        memset(&mid, 0, sizeof mid);
        mid.chan = t->st->chan;
        snprintf(mid.volcano, sizeof mid.volcano, "%s", t->volc->name);
        mid.rate = rate;
        mid.day = day;
        rc = rc_key_manifest(l, &mid, key, sizeof key, &e);
    }
    int changed = 0;
    if (rc == RC_OK && (nw || mo)) {
        rc_mmatch mm = {cli->store, want, nw, 1};
        rc_rmw_opts ro = {cli->cfg.cache_control_manifest, rc_config_base_span(&cli->cfg), 10, 1,
                          NULL};
        rc = rc_manifest_rmw(cli->store, key, &tmpl, rc_manifest_match, &mm, &ro, &changed, &e);
    }
    if (rc != RC_OK) {
        rc_log_error(&cli->log, "reindex", "%s", e.msg);
        r->failed++;
    } else if (changed) {
        r->written++;
        rc_log_info(&cli->log, "reindex", "%s: %zu entries", key, nw);
    }
    rc_manifest_free(&tmpl);
    for (size_t i = 0; i < nw; i++)
        rc_mentry_free(&want[i].entry);
    free(want);
}

static int reindex_run(void *user, const rc_listing_obj *o, size_t n)
{
    rctx *x = user;
    const rc_target *t = rc_target_find(x->cli->targets, x->cli->ntargets,
                                        rc_listing_obj_chan(&o[0]), rc_listing_obj_volcano(&o[0]));
    if (t) reindex_day(x, t, o, n);
    return 0;
}

const rc_cmd_spec rc_cmd_reindex_spec = {
    "r2cache reindex --config FILE [scope] [--from T] [--to T] [--json]",
    "Rebuild the daily manifests of the selected channels from their blobs (statistics\n"
    "from each blob's metadata, or its decoded body), and the inventory summaries of\n"
    "their months. Writes are conditional; blobs are never touched.",
    reindex_opts,
    0,
    NULL,
    NULL,
    NULL,
    NULL};

rc_exit rc_cmd_reindex(rc_cli *cli)
{
    rctx r;
    memset(&r, 0, sizeof r);
    r.cli = cli;
    int64_t from = cli->from_s ? cli->from : INT64_MIN / 2;
    int64_t to = cli->to_s ? cli->to : INT64_MAX / 2;
    rc_err e;
    rc_inventory inv;
    rc_inventory_init(&inv, cli->cfg.layout);
    rc_listing objs = {0};
    cJSON *stored = NULL, *markers = NULL;
    /* Markers before the data: a write racing us leaves its marker newer
     * than what the rebuilt summaries record. */
    int rc = rc_summary_read_all(cli->store, &stored, &markers, &e);
    if (rc == RC_OK)
        rc = rc_listing_list(cli->store, cli->cfg.layout, rc_key_root(), &objs, &inv, &e);
    if (rc == RC_OK) rc_listing_each_day(&objs, from, to, cli->stop, reindex_run, &r);
    /* Summaries of the selected channels, from a fresh listing (manifests
     * just changed). */
    if (rc == RC_OK && !(cli->stop && *cli->stop)) {
        rc_inventory_free(&inv);
        rc_inventory_init(&inv, cli->cfg.layout);
        rc = rc_inventory_scan(cli->store, &inv, rc_key_root(), &e);
        for (size_t k = 0; rc == RC_OK && k < inv.n; k++)
            inv.ch[k].selected = rc_target_find(cli->targets, cli->ntargets, &inv.ch[k].chan,
                                                inv.ch[k].volcano) != NULL;
        if (rc == RC_OK) rc = rc_inventory_read_manifests(cli->store, &inv, 1, &e);
        if (rc == RC_OK) rc = rc_summary_write(cli->store, &inv, 1, stored, markers, &e);
    }
    if (rc != RC_OK) rc_log_error(&cli->log, "reindex", "%s", e.msg);
    int interrupted = cli->stop && *cli->stop;
    rc_exit code = rc != RC_OK               ? rc_cli_exit_for(rc)
                   : interrupted || r.failed ? RC_EXIT_PARTIAL
                                             : RC_EXIT_OK;
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "days", (double)r.days);
        cJSON_AddNumberToObject(o, "manifests_written", (double)r.written);
        cJSON_AddNumberToObject(o, "entries", (double)r.entries);
        cJSON_AddNumberToObject(o, "decoded_bodies", (double)r.from_body);
        cJSON_AddNumberToObject(o, "failed", (double)r.failed);
        cJSON_AddNumberToObject(o, "summaries_written", (double)inv.months_rebuilt);
        cJSON_AddNumberToObject(o, "unparsed_keys", (double)inv.unparsed);
        rc_cli_print_json(cli, o, rc_cli_status_word(code, interrupted));
    } else {
        printf("reindex: %lld channel-days, %lld manifests rewritten, %lld entries (%lld from "
               "decoded bodies), %lld failures, %lld summaries written\n",
               (long long)r.days, (long long)r.written, (long long)r.entries,
               (long long)r.from_body, (long long)r.failed, (long long)inv.months_rebuilt);
    }
    cJSON_Delete(stored);
    cJSON_Delete(markers);
    rc_listing_free(&objs);
    rc_inventory_free(&inv);
    return code;
}
