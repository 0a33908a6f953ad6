/*
 * mseed.c: the framing rule of mseed.h.
 *
 * Only headers are read: ms_detect for the length, msr_parse without data
 * for "libmseed can read this header". Decoding samples is the shape
 * module's job; what matters here is whether every byte of an answer belongs
 * to a whole miniSEED 2 record, and if not, a message that says what the
 * bytes are (an HTML page, text, miniSEED 3, a cut record) in words an
 * operator can act on.
 */
#include "r2cache/mseed.h"
#include "r2cache/err.h"

#include <libmseed.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FSDH_LEN 48                     /* fixed section of the data header */
#define LOOKAHEAD ((size_t)1024 * 1024) /* how far to look for the next record */
#define HEAD_CHARS 40                   /* visible characters of an excerpt */

static int is_pow2_reclen(size_t n)
{
    return n >= MINRECLEN && n <= 65536 && (n & (n - 1)) == 0;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return 0;
    return 1;
}

static int is_v3(const unsigned char *p, size_t n)
{
    return n >= 3 && p[0] == 'M' && p[1] == 'S' && p[2] == 3;
}

/* ms_detect, bounded: it takes an int, and a record is at most MAXRECLEN. */
static int detect(const unsigned char *p, size_t left)
{
    if (left < FSDH_LEN) return -1;
    size_t avail = left > MAXRECLEN ? MAXRECLEN : left;
    return ms_detect((const char *)p, (int)avail);
}

size_t rc_mseed_record_len(const void *buf, size_t left)
{
    if (!buf) return 0;
    const unsigned char *p = buf;
    int want = detect(p, left);
    /* No blockette 1000 at the end of the buffer: the rest is the record
     * when that is a valid record length. */
    if (want == 0 && is_pow2_reclen(left)) return left;
    if (want < FSDH_LEN || want > MAXRECLEN || (size_t)want > left) return 0;
    return (size_t)want;
}

static int is_quality(unsigned char c)
{
    return c == 'D' || c == 'R' || c == 'Q' || c == 'M';
}

/* The first bytes of a fixed header as far as they go: a sequence number of
 * digits (or spaces), a quality indicator, a reserved space. Used only for a
 * tail too short for ms_detect, to tell a cut header from stray bytes. */
static int plausible_header_start(const unsigned char *p, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n && i < 6; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || p[i] == ' ' || p[i] == '\0')) return 0;
    if (n > 6 && !is_quality(p[6])) return 0;
    if (n > 7 && p[7] != ' ' && p[7] != '\0') return 0;
    return 1;
}

static int contains_ci(const unsigned char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp((const char *)p + i, needle, k) == 0) return 1;
    return 0;
}

static rc_mseed_kind classify(const unsigned char *p, size_t n)
{
    size_t i = 0;
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) i = 3; /* UTF-8 byte order mark */
    while (i < n && i < 256 && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    size_t win = n < 2048 ? n : 2048;
    if (i < n && p[i] == '<') {
        static const char *const tags[] = {"<!doctype html", "<html",  "<head",
                                           "<body",          "<title", NULL};
        for (int t = 0; tags[t]; t++)
            if (contains_ci(p, win, tags[t])) return RC_MSEED_HTML;
    }
    size_t tn = n < 256 ? n : 256;
    for (size_t k = 0; k < tn; k++) {
        unsigned char c = p[k];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f)
            return RC_MSEED_JUNK;
    }
    return tn ? RC_MSEED_TEXT : RC_MSEED_JUNK;
}

/* Printable excerpt: leading whitespace dropped, runs of whitespace as one
 * space, other unprintable bytes (and non-ASCII) as '.', '"' as '\''. */
static void excerpt(const unsigned char *p, size_t n, char *out, size_t outn)
{
    size_t k = 0, i = 0, shown = 0;
    int space = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    for (; i < n && shown < HEAD_CHARS && k + 4 < outn; i++) {
        unsigned char c = p[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f') {
            space = 1;
            continue;
        }
        if (space) {
            out[k++] = ' ';
            shown++;
            space = 0;
            if (shown >= HEAD_CHARS || k + 4 >= outn) break;
        }
        out[k++] = c == '"' ? '\'' : (c >= 0x20 && c < 0x7f) ? (char)c : '.';
        shown++;
    }
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i < n && k + 4 <= outn) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

/* The next offset after from where a miniSEED 2 record starts, looking at
 * most LOOKAHEAD bytes ahead; RC_MSEED_NONE when there is none. */
static size_t find_next(const unsigned char *b, size_t len, size_t from)
{
    size_t lim = len - from > LOOKAHEAD ? from + LOOKAHEAD : len;
    for (size_t q = from; q + FSDH_LEN <= lim; q++) {
        /* ms_detect's own signature test, cheaply first */
        if (!is_quality(b[q + 6]) || !plausible_header_start(b + q, 8)) continue;
        if (rc_mseed_record_len(b + q, len - q) > 0) return q;
    }
    return RC_MSEED_NONE;
}

static int report(rc_mseed_report *r, rc_mseed_kind kind, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int report(rc_mseed_report *r, rc_mseed_kind kind, size_t off, const char *fmt, ...)
{
    r->status = RC_EFORMAT;
    r->kind = kind;
    r->offset = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    return r->status;
}

static const char *what_is(rc_mseed_kind k)
{
    switch (k) {
    case RC_MSEED_HTML:
        return "an HTML page";
    case RC_MSEED_TEXT:
        return "text";
    default:
        return "bytes that are not miniSEED";
    }
}

/* Bytes at pos that are not a record and not a cut one. */
static int not_a_record(rc_mseed_report *r, const unsigned char *b, size_t len, size_t pos)
{
    const unsigned char *p = b + pos;
    size_t left = len - pos;
    r->next = find_next(b, len, pos + 1);
    /* judge only the stray bytes, not the record after them */
    size_t stray = r->next != RC_MSEED_NONE ? r->next - pos : left;
    rc_mseed_kind kind = classify(p, stray);
    excerpt(p, stray, r->head, sizeof r->head);
    if (r->records == 0 && r->next != RC_MSEED_NONE)
        return report(r, kind, pos,
                      "%zu bytes that are not miniSEED before the first record (at byte offset "
                      "%zu): starts \"%s\"",
                      r->next, r->next, r->head);
    if (pos == 0) {
        if (kind == RC_MSEED_JUNK && all_zero(p, left))
            return report(r, kind, pos, "%zu zero bytes and no miniSEED record", left);
        if (kind == RC_MSEED_JUNK)
            return report(r, kind, pos, "bytes that are not miniSEED: starts \"%s\"", r->head);
        return report(r, kind, pos, "%s, not miniSEED: starts \"%s\"", what_is(kind), r->head);
    }
    char nextbuf[64] = "";
    if (r->next != RC_MSEED_NONE)
        snprintf(nextbuf, sizeof nextbuf, ", the next record at byte offset %zu", r->next);
    return report(r, kind, pos, "%s at byte offset %zu after %zu whole records%s: starts \"%s\"",
                  what_is(kind), pos, r->records, nextbuf, r->head);
}

int rc_mseed_check(const void *buf, size_t len, rc_mseed_report *r)
{
    return rc_mseed_walk(buf, len, NULL, NULL, r);
}

int rc_mseed_walk(const void *buf, size_t len, rc_mseed_visit_fn visit, void *ud,
                  rc_mseed_report *r)
{
    if (!r) return RC_EINVAL;
    memset(r, 0, sizeof *r);
    r->next = RC_MSEED_NONE;
    if (!buf && len) {
        r->status = RC_EINVAL;
        snprintf(r->message, sizeof r->message, "no buffer for %zu bytes", len);
        return r->status;
    }
    const unsigned char *b = buf;
    MSRecord *msr = NULL;
    size_t pos = 0;
    int rc = RC_OK;
    while (pos < len && rc == RC_OK) {
        const unsigned char *p = b + pos;
        size_t left = len - pos;
        if (is_v3(p, left)) {
            excerpt(p, left, r->head, sizeof r->head);
            char after[64] = "";
            if (r->records)
                snprintf(after, sizeof after, " after %zu miniSEED 2 records", r->records);
            rc = report(r, RC_MSEED_V3, pos,
                        "miniSEED 3 at byte offset %zu%s (a record starting 'M','S',3): libmseed "
                        "2 reads miniSEED 2 only",
                        pos, after);
            break;
        }
        if (r->records && all_zero(p, left)) break; /* trailing padding */
        int want = detect(p, left);
        if (want == 0 && is_pow2_reclen(left)) want = (int)left;
        if (want > 0) {
            if (want < FSDH_LEN || want > MAXRECLEN) {
                rc = report(r, RC_MSEED_BAD_HEADER, pos,
                            "the record at byte offset %zu cannot be read: its blockette 1000 "
                            "gives a record length of %d bytes",
                            pos, want);
            } else if ((size_t)want > left) {
                r->have = left;
                r->want = (size_t)want;
                rc = report(r, RC_MSEED_TRUNCATED, pos,
                            "the record at byte offset %zu is cut short: %zu of %d bytes", pos,
                            left, want);
            } else {
                /* libmseed's API is not const; it only reads the record */
                int pr = msr_parse((char *)p, want, &msr, want, 0, 0);
                if (pr != 0) {
                    rc = report(r, RC_MSEED_BAD_HEADER, pos,
                                "the record at byte offset %zu cannot be read: %s", pos,
                                pr > 0 ? "libmseed wants more bytes than its length"
                                       : ms_errorstr(pr));
                } else if (visit && (rc = visit(ud, msr, p, pos, (size_t)want)) != RC_OK) {
                    r->offset = pos; /* the visitor stopped here; r->status stays RC_OK */
                    break;
                } else {
                    pos += (size_t)want;
                    r->records++;
                }
            }
            if (rc != RC_OK) excerpt(p, left, r->head, sizeof r->head);
            continue;
        }
        if (want == 0 && left >= MINRECLEN) {
            excerpt(p, left, r->head, sizeof r->head);
            rc = report(r, RC_MSEED_NO_LENGTH, pos,
                        "the record at byte offset %zu has no blockette 1000 and its length "
                        "cannot be determined from the %zu bytes left",
                        pos, left);
            break;
        }
        if (want == 0 || (left < FSDH_LEN && plausible_header_start(p, left))) {
            /* a valid header start, cut before its length could be read */
            excerpt(p, left, r->head, sizeof r->head);
            r->have = left;
            r->want = 0;
            rc = report(r, RC_MSEED_TRUNCATED, pos,
                        "the record at byte offset %zu is cut short: %zu bytes, its header "
                        "incomplete",
                        pos, left);
            break;
        }
        rc = not_a_record(r, b, len, pos);
    }
    msr_free(&msr);
    if (rc == RC_OK) r->end = pos < len ? pos : len;
    return r->status != RC_OK ? r->status : rc;
}

const char *rc_mseed_kind_name(rc_mseed_kind k)
{
    switch (k) {
    case RC_MSEED_OK:
        return "ok";
    case RC_MSEED_V3:
        return "mseed3";
    case RC_MSEED_HTML:
        return "html";
    case RC_MSEED_TEXT:
        return "text";
    case RC_MSEED_JUNK:
        return "junk";
    case RC_MSEED_TRUNCATED:
        return "truncated";
    case RC_MSEED_NO_LENGTH:
        return "no-length";
    case RC_MSEED_BAD_HEADER:
        return "bad-header";
    }
    return "unknown";
}
