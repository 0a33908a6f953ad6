/*
 * test_mseed.c: the framing leaf (src/mseed.c) on real miniSEED 2 and 3 files
 * and on the answers that are not data: HTML pages, text, bytes before the
 * first record, cut records, padding. Every report is checked whole: kind,
 * offset, counts and the exact message.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/err.h"
#include "r2cache/mseed.h"
#include "support.h"

#define COLA2 "testdata-COLA-signal.mseed2" /* 1141 records of 512 bytes */
#define COLA3 "testdata-COLA-signal.mseed3"

static void load(const char *name, rc_buf *b)
{
    char *p = rc_test_mseed_path(name);
    cr_assert(p);
    cr_assert_eq(rc_test_read_file(p, b), 0, "cannot read %s", p);
    free(p);
}

static rc_mseed_report check(const void *buf, size_t len)
{
    rc_mseed_report r;
    int rc = rc_mseed_check(buf, len, &r);
    cr_assert_eq(rc, r.status);
    cr_assert_eq(r.status == RC_OK, r.kind == RC_MSEED_OK, "status %d kind %s", r.status,
                 rc_mseed_kind_name(r.kind));
    if (r.status != RC_OK) cr_assert_eq(r.status, RC_EFORMAT);
    return r;
}

Test(mseed, empty_and_bad_arguments)
{
    rc_mseed_report r = check("", 0);
    cr_assert_eq(r.kind, RC_MSEED_OK);
    cr_assert_eq(r.records, 0);
    cr_assert_eq(r.end, 0);
    cr_assert_str_eq(r.message, "");
    cr_assert_eq(rc_mseed_check(NULL, 0, &r), RC_OK);
    cr_assert_eq(rc_mseed_check(NULL, 5, &r), RC_EINVAL);
    cr_assert_eq(rc_mseed_check("x", 1, NULL), RC_EINVAL);
    cr_assert_eq(rc_mseed_record_len(NULL, 512), 0);
}

Test(mseed, every_real_miniseed2_file_is_whole)
{
    RC_REQUIRE_MSEED();
    const char *files[] = {COLA2,
                           "HV.HOVE..HHZ__20190414T030832Z__20190414T031602Z.mseed",
                           "endiantest.le-header.le-data.mseed",
                           "testdata-oneseries-mixedlengths-mixedorder.mseed2",
                           "test.mseed",
                           "gaps.mseed"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        rc_buf b = RC_BUF_INIT;
        load(files[i], &b);
        rc_mseed_report r = check(b.data, b.len);
        cr_assert_eq(r.kind, RC_MSEED_OK, "%s: %s", files[i], r.message);
        cr_assert_eq(r.end, b.len, "%s", files[i]);
        cr_assert_gt(r.records, 0);
        rc_buf_free(&b);
    }
    rc_buf b = RC_BUF_INIT;
    load(COLA2, &b);
    rc_mseed_report r = check(b.data, b.len);
    cr_assert_eq(r.records, 1141);
    cr_assert_eq(rc_mseed_record_len(b.data, b.len), 512);
    cr_assert_eq(rc_mseed_record_len(b.data, 511), 0, "a cut record is not a record");
    rc_buf_free(&b);
}

Test(mseed, trailing_zero_padding_is_allowed_but_zeros_alone_are_not_data)
{
    RC_REQUIRE_MSEED();
    rc_buf b = RC_BUF_INIT;
    load(COLA2, &b);
    size_t n = b.len;
    char zeros[1000] = {0};
    rc_buf_append(&b, zeros, sizeof zeros);
    rc_mseed_report r = check(b.data, b.len);
    cr_assert_eq(r.kind, RC_MSEED_OK, "%s", r.message);
    cr_assert_eq(r.end, n);
    cr_assert_eq(r.records, 1141);
    rc_buf_free(&b);

    r = check(zeros, sizeof zeros);
    cr_assert_eq(r.kind, RC_MSEED_JUNK);
    cr_assert_eq(r.offset, 0);
    cr_assert_str_eq(r.message, "1000 zero bytes and no miniSEED record");
}

Test(mseed, miniseed3_is_named_by_its_bytes)
{
    RC_REQUIRE_MSEED();
    rc_buf v3 = RC_BUF_INIT, b = RC_BUF_INIT;
    load(COLA3, &v3);
    rc_mseed_report r = check(v3.data, v3.len);
    cr_assert_eq(r.kind, RC_MSEED_V3);
    cr_assert_eq(r.offset, 0);
    cr_assert_str_eq(r.message, "miniSEED 3 at byte offset 0 (a record starting 'M','S',3): "
                                "libmseed 2 reads miniSEED 2 only");
    /* after miniSEED 2 records: the offset and the count */
    load(COLA2, &b);
    rc_buf_append(&b, v3.data, 4096);
    r = check(b.data, b.len);
    cr_assert_eq(r.kind, RC_MSEED_V3);
    cr_assert_eq(r.offset, 584192);
    cr_assert_eq(r.records, 1141);
    cr_assert_str_eq(r.message, "miniSEED 3 at byte offset 584192 after 1141 miniSEED 2 records "
                                "(a record starting 'M','S',3): libmseed 2 reads miniSEED 2 only");
    /* the text "MS3" is not miniSEED 3 */
    r = check("MS3 is not the signature, the bytes are", 39);
    cr_assert_eq(r.kind, RC_MSEED_TEXT, "%s", rc_mseed_kind_name(r.kind));
    rc_buf_free(&b);
    rc_buf_free(&v3);
}

Test(mseed, html_page)
{
    const char *page = "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n"
                       "<body><h1>Welcome</h1></body></html>\n";
    rc_mseed_report r = check(page, strlen(page));
    cr_assert_eq(r.kind, RC_MSEED_HTML);
    cr_assert_eq(r.offset, 0);
    cr_assert_eq(r.records, 0);
    cr_assert_eq(r.next, RC_MSEED_NONE);
    cr_assert_str_eq(r.head, "<!DOCTYPE html> <html><head><title>Welco...");
    cr_assert_str_eq(r.message, "an HTML page, not miniSEED: starts \"<!DOCTYPE html> "
                                "<html><head><title>Welco...\"");
    /* leading whitespace and a byte order mark, lower case, no doctype */
    const char *p2 = "\xEF\xBB\xBF\r\n  <html lang=\"en\"><body>maintenance</body></html>";
    r = check(p2, strlen(p2));
    cr_assert_eq(r.kind, RC_MSEED_HTML);
    cr_assert_str_eq(r.head, "... <html lang='en'><body>maintenance</b...");
}

Test(mseed, text_and_binary_junk)
{
    const char *t = "Error 500: Internal Server Error\n\nsomething broke\n";
    rc_mseed_report r = check(t, strlen(t));
    cr_assert_eq(r.kind, RC_MSEED_TEXT);
    cr_assert_str_eq(r.message,
                     "text, not miniSEED: starts \"Error 500: Internal Server Error somethi...\"");
    unsigned char junk[300];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 7 + 1);
    r = check(junk, sizeof junk);
    cr_assert_eq(r.kind, RC_MSEED_JUNK);
    cr_assert(strncmp(r.message, "bytes that are not miniSEED: starts \"", 37) == 0, "%s",
              r.message);
    /* short text */
    r = check("ok\n", 3);
    cr_assert_eq(r.kind, RC_MSEED_TEXT);
    cr_assert_str_eq(r.message, "text, not miniSEED: starts \"ok\"");
}

Test(mseed, bytes_before_the_first_record)
{
    RC_REQUIRE_MSEED();
    rc_buf b = RC_BUF_INIT, rec = RC_BUF_INIT;
    load(COLA2, &rec);
    rc_buf_puts(&b, "--frontier\r\nContent-Type: application/vnd.fdsn.mseed\r\n\r\n");
    size_t pre = b.len;
    rc_buf_append(&b, rec.data, rec.len);
    rc_mseed_report r = check(b.data, b.len);
    cr_assert_eq(r.kind, RC_MSEED_TEXT, "%s", rc_mseed_kind_name(r.kind));
    cr_assert_eq(r.offset, 0);
    cr_assert_eq(r.next, pre);
    cr_assert_eq(pre, 56);
    cr_assert_str_eq(r.message, "56 bytes that are not miniSEED before the first record (at byte "
                                "offset 56): starts \"--frontier Content-Type: "
                                "application/vnd...\"");
    /* binary bytes before the first record */
    rc_buf_reset(&b);
    rc_buf_append(&b, "\x01\x02\x03\x04\x05", 5);
    rc_buf_append(&b, rec.data, rec.len);
    r = check(b.data, b.len);
    cr_assert_eq(r.kind, RC_MSEED_JUNK);
    cr_assert_str_eq(r.message, "5 bytes that are not miniSEED before the first record (at byte "
                                "offset 5): starts \".....\"");
    rc_buf_free(&b);
    rc_buf_free(&rec);
}

Test(mseed, bytes_between_records)
{
    RC_REQUIRE_MSEED();
    rc_buf b = RC_BUF_INIT, rec = RC_BUF_INIT;
    load(COLA2, &rec);
    rc_buf_append(&b, rec.data, 2048);
    rc_buf_puts(&b, "<html><body>proxy error</body></html>");
    rc_buf_append(&b, rec.data + 2048, 1024);
    rc_mseed_report r = check(b.data, b.len);
    cr_assert_eq(r.kind, RC_MSEED_HTML);
    cr_assert_eq(r.offset, 2048);
    cr_assert_eq(r.records, 4);
    cr_assert_eq(r.next, 2048 + 37);
    cr_assert_str_eq(r.message, "an HTML page at byte offset 2048 after 4 whole records, the next "
                                "record at byte offset 2085: starts \"<html><body>proxy "
                                "error</body></html>\"");
    rc_buf_free(&b);
    rc_buf_free(&rec);
}

/* What the walk's visitor saw. */
typedef struct seen {
    size_t n, off[8], len[8];
    int stop_at; /* return RC_ENOMEM at this visit (1-based), 0 never */
} seen;

static int see(void *ud, const struct MSRecord_s *msr, const void *rec, size_t off, size_t reclen)
{
    seen *s = ud;
    cr_assert(msr && rec);
    cr_assert_lt(s->n, 8);
    s->off[s->n] = off;
    s->len[s->n] = reclen;
    s->n++;
    return (int)s->n == s->stop_at ? RC_ENOMEM : RC_OK;
}

Test(mseed, walk_visits_each_whole_record_once_up_to_the_damage)
{
    RC_REQUIRE_MSEED();
    rc_buf b = RC_BUF_INIT, rec = RC_BUF_INIT;
    load(COLA2, &rec);
    rc_buf_append(&b, rec.data, 1536);
    rc_buf_puts(&b, "<html><body>proxy error</body></html>");
    rc_buf_append(&b, rec.data + 1536, 512);
    seen s = {0};
    rc_mseed_report r;
    cr_assert_eq(rc_mseed_walk(b.data, b.len, see, &s, &r), RC_EFORMAT);
    /* the same report as rc_mseed_check gives */
    rc_mseed_report c = check(b.data, b.len);
    cr_assert_str_eq(r.message, c.message);
    cr_assert_eq(r.offset, 1536);
    cr_assert_eq(r.records, 3);
    /* the three records before the page, none after it */
    cr_assert_eq(s.n, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(s.off[i], 512 * i);
        cr_assert_eq(s.len[i], 512);
    }

    /* a visitor that stops the walk: its code, no framing report */
    seen t = {.stop_at = 2};
    cr_assert_eq(rc_mseed_walk(rec.data, 2048, see, &t, &r), RC_ENOMEM);
    cr_assert_eq(t.n, 2);
    cr_assert_eq(r.status, RC_OK);
    cr_assert_eq(r.kind, RC_MSEED_OK);
    cr_assert_eq(r.offset, 512);
    cr_assert_eq(r.records, 1);
    cr_assert_str_eq(r.message, "");

    /* whole: every record, the report of a good buffer */
    seen u = {0};
    cr_assert_eq(rc_mseed_walk(rec.data, 2048, see, &u, &r), RC_OK);
    cr_assert_eq(u.n, 4);
    cr_assert_eq(r.end, 2048);
    cr_assert_eq(r.records, 4);
    rc_buf_free(&b);
    rc_buf_free(&rec);
}

Test(mseed, cut_records)
{
    RC_REQUIRE_MSEED();
    rc_buf b = RC_BUF_INIT;
    load(COLA2, &b);
    size_t n = b.len;
    /* the last record cut after 312 of its 512 bytes */
    rc_mseed_report r = check(b.data, n - 200);
    cr_assert_eq(r.kind, RC_MSEED_TRUNCATED);
    cr_assert_eq(r.offset, n - 512);
    cr_assert_eq(r.records, 1140);
    cr_assert_eq(r.have, 312);
    cr_assert_eq(r.want, 512);
    char want[200];
    snprintf(want, sizeof want, "the record at byte offset %zu is cut short: 312 of 512 bytes",
             n - 512);
    cr_assert_str_eq(r.message, want);
    /* cut inside the fixed header (30 bytes) and just after it (50 bytes):
     * the length is unknown, but it is a record start, not junk */
    size_t cuts[] = {1, 30, 50};
    for (size_t i = 0; i < 3; i++) {
        r = check(b.data, 1024 + cuts[i]);
        cr_assert_eq(r.kind, RC_MSEED_TRUNCATED, "cut %zu: %s", cuts[i], r.message);
        cr_assert_eq(r.offset, 1024);
        cr_assert_eq(r.records, 2);
        cr_assert_eq(r.have, cuts[i]);
        cr_assert_eq(r.want, 0);
        snprintf(want, sizeof want,
                 "the record at byte offset 1024 is cut short: %zu bytes, its header incomplete",
                 cuts[i]);
        cr_assert_str_eq(r.message, want);
    }
    /* 60 bytes: blockette 1000 is in, so the length is known */
    r = check(b.data, 1024 + 60);
    cr_assert_eq(r.kind, RC_MSEED_TRUNCATED);
    cr_assert_eq(r.want, 512);
    cr_assert_eq(r.have, 60);
    rc_buf_free(&b);
}

Test(mseed, kind_names)
{
    cr_assert_str_eq(rc_mseed_kind_name(RC_MSEED_OK), "ok");
    cr_assert_str_eq(rc_mseed_kind_name(RC_MSEED_V3), "mseed3");
    cr_assert_str_eq(rc_mseed_kind_name(RC_MSEED_HTML), "html");
    cr_assert_str_eq(rc_mseed_kind_name(RC_MSEED_TEXT), "text");
    cr_assert_str_eq(rc_mseed_kind_name(RC_MSEED_JUNK), "junk");
    cr_assert_str_eq(rc_mseed_kind_name(RC_MSEED_TRUNCATED), "truncated");
    cr_assert_str_eq(rc_mseed_kind_name(RC_MSEED_NO_LENGTH), "no-length");
    cr_assert_str_eq(rc_mseed_kind_name(RC_MSEED_BAD_HEADER), "bad-header");
}

Test(mseed, every_cut_is_named_at_the_record_it_cuts)
{
    RC_REQUIRE_MSEED();
    rc_buf b = RC_BUF_INIT;
    load(COLA2, &b);
    for (size_t cut = 0; cut <= 3 * 512; cut++) {
        rc_mseed_report r = check(b.data, cut);
        if (cut % 512 == 0) {
            cr_assert_eq(r.kind, RC_MSEED_OK, "cut %zu: %s", cut, r.message);
            cr_assert_eq(r.records, cut / 512);
        } else {
            cr_assert_eq(r.kind, RC_MSEED_TRUNCATED, "cut %zu: %s %s", cut,
                         rc_mseed_kind_name(r.kind), r.message);
            cr_assert_eq(r.offset, cut / 512 * 512, "cut %zu", cut);
            cr_assert_eq(r.have, cut % 512);
            cr_assert(r.want == 0 || r.want == 512);
        }
    }
    rc_buf_free(&b);
}

/* Damaged copies (fixed seed): whatever the bytes, a report that stays in
 * bounds, and no crash or undefined behaviour under the sanitizers. */
Test(mseed, damaged_bytes_give_bounded_reports)
{
    RC_REQUIRE_MSEED();
    rc_buf b = RC_BUF_INIT;
    load(COLA2, &b);
    size_t n = 8 * 512;
    unsigned char *d = malloc(n);
    cr_assert(d);
    uint64_t x = 0x2545F4914F6CDD1DULL;
    for (int it = 0; it < 3000; it++) {
        memcpy(d, b.data, n);
        int flips = 1 + it % 8;
        for (int k = 0; k < flips; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            d[(x >> 8) % n] = (unsigned char)x;
        }
        size_t len = n - (size_t)((x >> 40) % 700);
        rc_mseed_report r = check(d, len);
        cr_assert_leq(r.offset, len);
        cr_assert_leq(r.records, len / 128);
        if (r.kind == RC_MSEED_OK) cr_assert_leq(r.end, len);
        cr_assert(r.next == RC_MSEED_NONE || (r.next > r.offset && r.next < len));
        cr_assert_lt(strlen(r.head), sizeof r.head);
    }
    free(d);
    rc_buf_free(&b);
}
