/*
 * mseed.h: is this buffer miniSEED 2, and if not, what is it instead?
 *
 * A leaf (libmseed 2.x, no I/O, no state): rc_mseed_check walks a buffer of
 * concatenated miniSEED 2 records by their lengths (ms_detect, the record
 * length of blockette 1000) and reports the first byte that does not belong
 * to a whole record, with its offset and what the bytes there look like.
 * Sources call it on every answer before delivering it, and the shape module
 * on what it indexes, so "this is not data" is judged by one rule everywhere.
 *
 * The rule, walking from offset 0:
 *   - a whole record (ms_detect finds its length, the length fits in the
 *     buffer, libmseed parses its header) is skipped;
 *   - a record without blockette 1000 is accepted when it is the last thing
 *     in the buffer and what is left is a valid record length (a power of
 *     two from 128 to 65536), as libmseed itself reads such files;
 *   - zero bytes from some offset to the end are padding and end the walk,
 *     but only after at least one record: a buffer of nothing but zeros is
 *     RC_MSEED_JUNK;
 *   - the bytes 'M','S',3 are miniSEED 3 (RC_MSEED_V3): libmseed 2 cannot
 *     read it, and it is named as such, never as damage or as no data;
 *   - a record whose length is known but exceeds what is left, or a record
 *     header cut before its length could be read, is RC_MSEED_TRUNCATED;
 *   - anything else is not a record: RC_MSEED_HTML (an HTML document),
 *     RC_MSEED_TEXT (printable text) or RC_MSEED_JUNK (other bytes); for
 *     those the walk also looks ahead (up to 1 MiB) for the next offset where
 *     a record starts, so "12 bytes before the first record" can be told
 *     from "an HTML page".
 *
 * The report's message is one sentence without context (no URL, no file
 * name): the caller puts what it was reading in front and the advice after.
 */
#ifndef R2CACHE_MSEED_H
#define R2CACHE_MSEED_H

#include <stddef.h>

#define RC_MSEED_NONE ((size_t)-1)
#define RC_MSEED_HEAD_MAX 48 /* printable excerpt, NUL included */
#define RC_MSEED_MSG_MAX 320

typedef enum rc_mseed_kind {
    RC_MSEED_OK = 0,    /* whole miniSEED 2 records (and trailing zero padding) */
    RC_MSEED_V3,        /* a miniSEED 3 record ('M','S',3) at offset */
    RC_MSEED_HTML,      /* an HTML document at offset */
    RC_MSEED_TEXT,      /* printable text at offset */
    RC_MSEED_JUNK,      /* other bytes that are not a record at offset */
    RC_MSEED_TRUNCATED, /* the record at offset ends past the buffer */
    RC_MSEED_NO_LENGTH, /* record at offset without blockette 1000, length unknown */
    RC_MSEED_BAD_HEADER /* ms_detect delimits a record libmseed cannot parse */
} rc_mseed_kind;

typedef struct rc_mseed_report {
    int status;         /* RC_OK, or RC_EFORMAT for every kind but RC_MSEED_OK */
    rc_mseed_kind kind; /* what was found */
    size_t offset;      /* first byte not in a whole record (start of the bad record) */
    size_t records;     /* whole records before offset */
    size_t end;         /* RC_MSEED_OK: end of the last record (padding follows to len) */
    size_t have;        /* TRUNCATED: bytes of the cut record present (len - offset) */
    size_t want;        /* TRUNCATED: the record's length from its header, 0 = unknown */
    size_t next;        /* HTML/TEXT/JUNK: next record start after offset, or RC_MSEED_NONE */
    char head[RC_MSEED_HEAD_MAX];   /* the first bytes at offset, printable ("" when OK) */
    char message[RC_MSEED_MSG_MAX]; /* one sentence, "" when OK */
} rc_mseed_report;

/*
 * Walk len bytes at buf (len 0 is RC_OK with no records) and fill *r.
 * Returns r->status: RC_OK, RC_EFORMAT, or RC_EINVAL for a NULL report or a
 * NULL buffer with len > 0. Messages, for example:
 *   an HTML page, not miniSEED: starts "<!DOCTYPE html><html>"
 *   23 bytes that are not miniSEED before the first record (at byte offset 23): starts "..."
 *   miniSEED 3 at byte offset 0: libmseed 2 reads miniSEED 2 only
 *   the record at byte offset 3584 is cut short: 300 of 512 bytes
 */
int rc_mseed_check(const void *buf, size_t len, rc_mseed_report *r);

/*
 * rc_mseed_check that also hands each whole record to visit as the walk
 * reaches it, in order, so a reader parses every header once: rec is the
 * record's first byte, off its offset in buf, reclen its length, msr its
 * header as libmseed parsed it (no samples; valid only during the call).
 * Records are visited up to the first byte that breaks the rule, then *r
 * reports that byte as rc_mseed_check would: a visitor that must not act on
 * a damaged buffer keeps what it collects until the walk returns RC_OK.
 * A non-zero return from visit stops the walk at that record: rc_mseed_walk
 * returns it, r->status stays RC_OK and r->offset is the record's offset.
 * visit NULL is rc_mseed_check.
 */
struct MSRecord_s;
typedef int (*rc_mseed_visit_fn)(void *ud, const struct MSRecord_s *msr, const void *rec,
                                 size_t off, size_t reclen);
int rc_mseed_walk(const void *buf, size_t len, rc_mseed_visit_fn visit, void *ud,
                  rc_mseed_report *r);

/*
 * Length of the whole miniSEED 2 record starting at buf with left bytes
 * available, by the rule above (blockette 1000, or "the rest" for a last
 * record without it); 0 when buf does not start a whole record. Cheap: reads
 * the header only. Callers that walked a buffer with rc_mseed_check use it to
 * step through the records.
 */
size_t rc_mseed_record_len(const void *buf, size_t left);

/* Short stable name of a kind ("ok", "mseed3", "html", "text", "junk",
 * "truncated", "no-length", "bad-header"), for logs and tests. */
const char *rc_mseed_kind_name(rc_mseed_kind k);

#endif
