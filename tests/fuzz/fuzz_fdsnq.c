/*
 * fuzz_fdsnq.c: the FDSN request parsers on arbitrary bytes. The first
 * byte picks the service (dataselect, availability query, extent) and the
 * form (URL query string or POST body). An accepted request must hold at
 * least one selection with a window that is not empty, NUL-terminated
 * pattern lists the matcher can run, and times that format and parse back
 * to the same microsecond.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/fdsnq.h"

static void check_time(int64_t us)
{
    char s[32];
    int64_t back;
    rc_err e;
    rc_fdsnq_time_format(us, s);
    if (rc_fdsnq_time_parse(s, &back, &e) != RC_OK || back != us)
        abort(); /* an accepted time that does not round-trip */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) return 0;
    rc_fdsnq_service svc = (rc_fdsnq_service)(data[0] % 3);
    int post = (data[0] >> 2) & 1;
    rc_fdsnq q;
    rc_err e;
    int rc;
    if (post) {
        /* an exactly sized copy: the parser must not read past len */
        char *body = malloc(size - 1 ? size - 1 : 1);
        if (!body) return 0;
        memcpy(body, data + 1, size - 1);
        rc = rc_fdsnq_parse_post(svc, body, size - 1, &q, &e);
        free(body);
    } else {
        char *query = malloc(size);
        if (!query) return 0;
        memcpy(query, data + 1, size - 1);
        query[size - 1] = '\0';
        rc = rc_fdsnq_parse_query(svc, query, &q, &e);
        free(query);
    }
    if (rc != RC_OK) {
        if (!memchr(e.msg, '\0', sizeof e.msg) || !e.msg[0]) abort(); /* every refusal says why */
        return 0;
    }
    if (q.nsel < 1 || !q.sel) abort();
    for (size_t i = 0; i < q.nsel; i++) {
        const rc_fdsnq_sel *s = &q.sel[i];
        if (!memchr(s->net, '\0', sizeof s->net) || !memchr(s->sta, '\0', sizeof s->sta) ||
            !memchr(s->loc, '\0', sizeof s->loc) || !memchr(s->cha, '\0', sizeof s->cha))
            abort();
        if (s->has_start && s->has_end && s->end_us <= s->start_us)
            abort(); /* an empty window was accepted */
        if (svc == RC_FDSNQ_DATASELECT && !s->has_start) abort();
        if (s->has_start) check_time(s->start_us);
        if (s->has_end) check_time(s->end_us);
        (void)rc_fdsnq_match(s->net, "HV");
        (void)rc_fdsnq_match(s->loc, "");
        (void)rc_fdsnq_match(s->cha, "HHZ");
    }
    if (q.nodata != 204 && q.nodata != 404) abort();
    rc_fdsnq_free(&q);
    return 0;
}
