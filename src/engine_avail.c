/*
 * engine_avail.c: planning by the source's own availability (opt-in,
 * "source_availability"). After eng_plan, the wanted base windows'
 * channels and range go to the source's fdsnws-availability service in one
 * request (source_avail.h); a window the service does not list is not
 * fetched: it is "no data" (W_NODATA), recorded in the manifest exactly as
 * a dataselect "no data" is. A window the service lists (at least a second
 * of it) that dataselect then delivers no sample for is a failure naming it.
 *
 * Windows that ended less than AVAIL_SETTLE_S ago are fetched whatever the
 * service says (its database runs behind the data).
 *
 * A service that is absent (a web server's 404, or nothing answering) is
 * remembered in the store, state/sources/{HOST}.json, and not asked again
 * for AVAIL_RECHECK_S; every window is then planned as without the setting.
 * Any other trouble with the service only costs the shortcut: every window
 * is asked from dataselect, and a warning says why.
 */
#include "engine_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/buf.h"
#include "r2cache/log.h"
#include "r2cache/source_avail.h"
#include "r2cache/store.h"
#include "r2cache/timewin.h"

/* An absent service is asked again after a week. */
#define AVAIL_RECHECK_S (7 * 86400)
/* Availability databases are updated behind the data: a window that ended
 * less than this before `now` is fetched even when the service does not
 * list it yet (and fails only if listed and not delivered). */
#define AVAIL_SETTLE_S (2 * 86400)

/* The state object's "availability_absent_at" (0 when none or unreadable). */
static int64_t absent_at(rc_engine *en, const char *key, char *reason, size_t rn)
{
    rc_buf b;
    rc_buf_init(&b);
    rc_err e;
    int64_t t = 0;
    int rc = rc_store_get(en->o.store, key, &b, NULL, &e);
    if (rc == RC_OK) {
        cJSON *j = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "availability_absent_at");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "availability_absent_reason");
        if (cJSON_IsString(a) && rc_time_parse(a->valuestring, 0, &t, &e) != RC_OK) t = 0;
        if (cJSON_IsString(r)) snprintf(reason, rn, "%s", r->valuestring);
        if (!j || (t == 0 && a))
            rc_log_warn(en->o.log, "availability",
                        "%s does not read as a source state object; it is ignored", key);
        cJSON_Delete(j);
    } else if (rc != RC_ENOTFOUND) {
        rc_log_warn(en->o.log, "availability", "%s", e.msg);
    }
    rc_buf_free(&b);
    return t;
}

static void remember_absent(rc_engine *en, const char *key, const char *reason)
{
    char now[RC_TIME_STR_MAX], next[RC_TIME_STR_MAX];
    rc_time_iso(en->o.now, now);
    rc_time_iso(en->o.now + AVAIL_RECHECK_S, next);
    cJSON *j = cJSON_CreateObject();
    char *txt = NULL;
    if (j && cJSON_AddStringToObject(j, "source", rc_source_describe(en->o.source)) &&
        cJSON_AddStringToObject(j, "availability_absent_at", now) &&
        cJSON_AddStringToObject(j, "availability_absent_reason", reason) &&
        cJSON_AddStringToObject(j, "availability_recheck_after", next))
        txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    rc_err e;
    rc_obj_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.content_type, sizeof meta.content_type, "application/json");
    rc_put_opts po = {.meta = &meta};
    if (!txt || rc_store_put(en->o.store, key, txt, strlen(txt), &po, NULL, &e) != RC_OK)
        rc_log_warn(en->o.log, "availability", "cannot remember that in %s: %s", key,
                    txt ? e.msg : "out of memory");
    free(txt);
    rc_log_info(en->o.log, "availability",
                "availability service off for %s: %s; remembered in %s, asked again after %s",
                rc_source_describe(en->o.source), reason, key, next);
}

void eng_avail_plan(rc_engine *en)
{
    if (!en->o.availability || en->avail_done || !en->o.source || en->o.dry_run) return;
    en->avail_done = 1;
    char host[256], key[RC_KEY_MAX], reason[RC_ERR_MSG_MAX] = "";
    rc_err e;
    if (rc_source_host(en->o.source, host, sizeof host, &e) != RC_OK ||
        rc_key_source_state(host, key, sizeof key, &e) != RC_OK) {
        rc_log_info(en->o.log, "availability", "availability service off: %s", e.msg);
        return;
    }
    int64_t was = absent_at(en, key, reason, sizeof reason);
    if (was && en->o.now < was + AVAIL_RECHECK_S) {
        char a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX];
        rc_time_iso(was, a);
        rc_time_iso(was + AVAIL_RECHECK_S, b);
        rc_log_info(en->o.log, "availability",
                    "availability service off for %s: it was absent at %s (%s, %s); asked again "
                    "after %s",
                    rc_source_describe(en->o.source), a, reason[0] ? reason : "no reason kept", key,
                    b);
        return;
    }
    /* one line per channel: from its first wanted base window to its last */
    int64_t base_s = rc_span_seconds(en->base);
    rc_fetch_line *ln = calloc(en->ntargets ? en->ntargets : 1, sizeof *ln);
    size_t *at = malloc((en->ntargets ? en->ntargets : 1) * sizeof *at);
    size_t nl = 0, nwant = 0;
    if (!ln || !at) {
        rc_log_warn(en->o.log, "availability",
                    "availability service: out of memory; every window is asked");
        goto out;
    }
    for (size_t ti = 0; ti < en->ntargets; ti++)
        at[ti] = SIZE_MAX;
    for (size_t i = 0; i < en->ntasks; i++) {
        const wtask *t = &en->tasks[i];
        if (t->span != en->base || !eng_window_wanted(t)) continue;
        nwant++;
        if (at[t->ti] == SIZE_MAX) {
            at[t->ti] = nl;
            ln[nl].chan = eng_station(en, t->ti)->chan;
            ln[nl].start = t->start;
            ln[nl].end = t->start + base_s;
            nl++;
            continue;
        }
        rc_fetch_line *l = &ln[at[t->ti]];
        if (t->start < l->start) l->start = t->start;
        if (t->start + base_s > l->end) l->end = t->start + base_s;
    }
    if (!nl) goto out;
    rc_avail av;
    int rc = rc_source_availability(en->o.source, ln, nl, &av, &e);
    if (rc == RC_EUNUSABLE) {
        remember_absent(en, key, e.msg);
        goto out;
    }
    if (rc != RC_OK) {
        rc_log_warn(en->o.log, "availability",
                    "availability service: %s; every window is asked from dataselect", e.msg);
        goto out;
    }
    size_t skipped = 0, listed = 0, recent = 0;
    for (size_t i = 0; i < en->ntasks; i++) {
        wtask *t = &en->tasks[i];
        if (t->span != en->base || !eng_window_wanted(t)) continue;
        int64_t cov = rc_avail_covered(&av, &eng_station(en, t->ti)->chan, t->start * 1000000,
                                       (t->start + base_s) * 1000000);
        if (cov == 0 && t->start + base_s > en->o.now - AVAIL_SETTLE_S) {
            recent++; /* too recent to trust "not listed" */
        } else if (cov == 0) {
            t->state = W_NODATA;
            skipped++;
        } else {
            listed++;
            if (cov >= 1000000) t->avail_listed = 1;
        }
    }
    rc_avail_free(&av);
    if (recent)
        rc_log_info(en->o.log, "availability",
                    "availability service of %s lists data in %zu of %zu windows; %zu are not "
                    "asked, %zu of the last two days are asked anyway",
                    rc_source_describe(en->o.source), listed, nwant, skipped, recent);
    else
        rc_log_info(en->o.log, "availability",
                    "availability service of %s lists data in %zu of %zu windows; the other %zu "
                    "are not asked",
                    rc_source_describe(en->o.source), listed, nwant, skipped);
out:
    free(ln);
    free(at);
}

void eng_avail_check(rc_engine *en)
{
    if (!en->o.availability) return;
    int64_t base_s = rc_span_seconds(en->base);
    for (size_t i = 0; i < en->ntasks; i++) {
        wtask *t = &en->tasks[i];
        if (!t->avail_listed || t->state != W_NODATA) continue;
        char cs[RC_CHAN_STR_MAX], a[RC_TIME_STR_MAX], b[RC_TIME_STR_MAX], msg[RC_ERR_MSG_MAX];
        rc_chan_format(&eng_station(en, t->ti)->chan, cs);
        rc_time_iso(t->start, a);
        rc_time_iso(t->start + base_s, b);
        snprintf(msg, sizeof msg,
                 "%s %s .. %s: the source's availability lists data there but dataselect "
                 "delivered none (%s)",
                 cs, a, b, rc_source_describe(en->o.source));
        t->state = W_FAILED;
        eng_target_error(en, t->ti, msg);
        rc_log_error(en->o.log, "availability", "%s", msg);
    }
}
