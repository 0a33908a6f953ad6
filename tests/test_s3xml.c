/*
 * test_s3xml.c: ListObjectsV2 and error-body parsing: real-shaped documents
 * from RGW and AWS, entity decoding, paging fields, and refusal of malformed
 * input. Every document is parsed from an exact-size heap copy without a
 * terminator, so ASan catches any read past the end; every prefix and a run
 * of byte mutations of a valid page must be handled without a crash.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/s3xml.h"

/* Exact-size copy without terminator. */
static char *dup_exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    memcpy(p, s, n);
    return p;
}

static int parse_list(const char *doc, size_t n, rc_s3xml_list *l, rc_err *e)
{
    char *p = dup_exact(doc, n);
    int rc = rc_s3xml_parse_list(p, n, l, e);
    free(p);
    return rc;
}

static const char rgw_page[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>r2cache-test</Name><Prefix>data/</Prefix><MaxKeys>1000</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<Contents><Key>data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_"
    "2025-11-04-22-10-00.bin.zst</Key><LastModified>2025-11-04T22:13:05.123Z</LastModified>"
    "<ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>240123</Size>"
    "<StorageClass>STANDARD</StorageClass><Owner><ID>r2cache-test</ID>"
    "<DisplayName>r2cache test</DisplayName></Owner><Type>Normal</Type></Contents>"
    "<Contents><Key>odd/a&amp;b &lt;c&gt; &#233;&#x20AC;&apos;</Key>"
    "<LastModified>2025-11-04T22:13:06.000Z</LastModified><ETag>\"abc\"</ETag><Size>0</Size>"
    "</Contents>"
    "<KeyCount>2</KeyCount>"
    "<NextContinuationToken>1Ab+cd/ef==</NextContinuationToken>"
    "</ListBucketResult>";

Test(s3xml, rgw_page)
{
    rc_s3xml_list l = {0};
    rc_err e = {0};
    cr_assert_eq(parse_list(rgw_page, strlen(rgw_page), &l, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.is_truncated, 1);
    cr_assert_str_eq(l.next_token, "1Ab+cd/ef==");
    cr_assert_str_eq(l.objects[0].key, "data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_"
                                       "2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst");
    cr_assert_eq(l.objects[0].size, 240123);
    cr_assert_str_eq(l.objects[0].etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    cr_assert_str_eq(l.objects[0].last_modified, "2025-11-04T22:13:05.123Z");
    cr_assert_eq(l.objects[0].mtime, 1762294385);
    cr_assert_str_eq(l.objects[1].key, "odd/a&b <c> \xc3\xa9\xe2\x82\xac'");
    cr_assert_eq(l.objects[1].size, 0);
    rc_s3xml_list_free(&l);
}

Test(s3xml, aws_last_page_with_comment_cdata_and_prefixes)
{
    const char *doc = "<?xml version=\"1.0\"?>\n<!-- generated -->\n"
                      "<s3:ListBucketResult xmlns:s3=\"x\">\n"
                      "  <s3:IsTruncated>false</s3:IsTruncated>\n"
                      "  <s3:Contents>\n    <s3:Key><![CDATA[a<b]]></s3:Key>\n"
                      "    <s3:Size>7</s3:Size>\n  </s3:Contents>\n"
                      "  <s3:KeyCount/>\n"
                      "</s3:ListBucketResult>\n";
    rc_s3xml_list l = {0};
    rc_err e = {0};
    cr_assert_eq(parse_list(doc, strlen(doc), &l, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.is_truncated, 0);
    cr_assert_str_eq(l.next_token, "");
    cr_assert_str_eq(l.objects[0].key, "a<b");
    cr_assert_eq(l.objects[0].size, 7);
    cr_assert_eq(l.objects[0].mtime, -1);
    rc_s3xml_list_free(&l);
}

Test(s3xml, empty_listing)
{
    const char *doc = "<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount>"
                      "<IsTruncated>false</IsTruncated></ListBucketResult>";
    rc_s3xml_list l = {0};
    rc_err e = {0};
    cr_assert_eq(parse_list(doc, strlen(doc), &l, &e), RC_OK);
    cr_assert_eq(l.n, 0);
    rc_s3xml_list_free(&l);
}

Test(s3xml, many_objects_grow)
{
    rc_s3xml_list l = {0};
    rc_err e = {0};
    size_t cap = 3000 * 120 + 200;
    char *doc = malloc(cap);
    size_t n = (size_t)snprintf(doc, cap, "<ListBucketResult><IsTruncated>false</IsTruncated>");
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(doc + n, cap - n,
                              "<Contents><Key>k/%05d</Key><Size>%d</Size></Contents>", i, i);
    n += (size_t)snprintf(doc + n, cap - n, "</ListBucketResult>");
    cr_assert_eq(parse_list(doc, n, &l, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(l.n, 3000);
    cr_assert_str_eq(l.objects[2999].key, "k/02999");
    cr_assert_eq(l.objects[2999].size, 2999);
    free(doc);
    rc_s3xml_list_free(&l);
}

Test(s3xml, malformed_lists_are_refused)
{
    const char *bad[] = {
        "",
        "   ",
        "<Error><Code>AccessDenied</Code></Error>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents>",
        "<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Content></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents></"
        "ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&#0;</Key><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&#x110000;</Key><Size>1</Size></Contents></"
        "ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>1x</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
        "<!DOCTYPE x [<!ENTITY a \"b\">]><ListBucketResult></ListBucketResult>",
        "<ListBucketResult></ListBucketResult><ListBucketResult></ListBucketResult>",
        "junk<ListBucketResult></ListBucketResult>",
        "<ListBucketResult><a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p><q></q></p></o></n></m>"
        "</l></k></j></i></h></g></f></e></d></c></b></a></ListBucketResult>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc_s3xml_list l = {0};
        rc_err e = {0};
        cr_assert_eq(parse_list(bad[i], strlen(bad[i]), &l, &e), RC_EFORMAT,
                     "case %zu accepted: %s", i, bad[i]);
        cr_assert(strstr(e.msg, "ListObjectsV2"), "case %zu: %s", i, e.msg);
        cr_assert_eq(l.n, 0);
        rc_s3xml_list_free(&l);
    }
}

Test(s3xml, key_of_1024_bytes_fits_and_1025_does_not)
{
    char doc[4096];
    char key[1026];
    memset(key, 'k', 1025);
    key[1024] = '\0';
    snprintf(doc, sizeof doc,
             "<ListBucketResult><Contents><Key>%s</Key><Size>1</Size></Contents>"
             "</ListBucketResult>",
             key);
    rc_s3xml_list l = {0};
    rc_err e = {0};
    cr_assert_eq(parse_list(doc, strlen(doc), &l, &e), RC_OK);
    cr_assert_eq(strlen(l.objects[0].key), 1024);
    key[1024] = 'k';
    key[1025] = '\0';
    snprintf(doc, sizeof doc,
             "<ListBucketResult><Contents><Key>%s</Key><Size>1</Size></Contents>"
             "</ListBucketResult>",
             key);
    cr_assert_eq(parse_list(doc, strlen(doc), &l, &e), RC_EFORMAT);
    rc_s3xml_list_free(&l);
}

/* Every prefix of a valid page and single-byte mutations: no crash, no
 * over-read (ASan), and a prefix is never mistaken for a complete page. */
Test(s3xml, prefixes_and_mutations)
{
    size_t n = strlen(rgw_page);
    rc_s3xml_list l = {0};
    rc_err e = {0};
    for (size_t k = 0; k < n; k++) {
        int rc = parse_list(rgw_page, k, &l, &e);
        cr_assert_eq(rc, RC_EFORMAT, "prefix of %zu bytes accepted", k);
    }
    const char subst[] = "<>&;/\"'\0x#";
    unsigned seed = 12345;
    for (int i = 0; i < 4000; i++) {
        char *p = dup_exact(rgw_page, n);
        seed = seed * 1103515245u + 12345u;
        p[(seed >> 8) % n] = subst[(seed >> 20) % (sizeof subst - 1)];
        rc_s3xml_parse_list(p, n, &l, &e);
        rc_s3xml_error er;
        rc_s3xml_parse_error(p, n, &er);
        free(p);
    }
    rc_s3xml_list_free(&l);
}

Test(s3xml, error_bodies)
{
    rc_s3xml_error er;
    const char *sig = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch"
                      "</Code><Message></Message><RequestId>tx00000abc-0067</RequestId>"
                      "<HostId>5e7f-default-default</HostId></Error>";
    char *p = dup_exact(sig, strlen(sig));
    cr_assert_eq(rc_s3xml_parse_error(p, strlen(sig), &er), RC_OK);
    free(p);
    cr_assert_str_eq(er.code, "SignatureDoesNotMatch");
    cr_assert_str_eq(er.message, "");
    cr_assert_str_eq(er.request_id, "tx00000abc-0067");

    const char *skew = "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between "
                       "the request time and the current time is too large.</Message>"
                       "<RequestTime>20250101T000000Z</RequestTime>"
                       "<ServerTime>2025-11-04T22:13:00Z</ServerTime>"
                       "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></Error>";
    p = dup_exact(skew, strlen(skew));
    cr_assert_eq(rc_s3xml_parse_error(p, strlen(skew), &er), RC_OK);
    free(p);
    cr_assert_str_eq(er.code, "RequestTimeTooSkewed");
    cr_assert_str_eq(er.server_time, "2025-11-04T22:13:00Z");
    cr_assert_eq(rc_s3xml_parse_time(er.server_time), 1762294380);

    const char *nb = "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not "
                     "exist</Message><BucketName>nope</BucketName></Error>";
    cr_assert_eq(rc_s3xml_parse_error(nb, strlen(nb), &er), RC_OK);
    cr_assert_str_eq(er.resource, "nope");
    cr_assert_str_eq(er.message, "The specified bucket does not exist");

    const char *html = "<html><body>502 Bad Gateway</body></html>";
    cr_assert_eq(rc_s3xml_parse_error(html, strlen(html), &er), RC_EFORMAT);
    cr_assert_str_eq(er.code, "");
    cr_assert_eq(rc_s3xml_parse_error("", 0, &er), RC_EFORMAT);
    /* cut short after the code: the code is still reported */
    cr_assert_eq(rc_s3xml_parse_error(sig, 80, &er), RC_OK);
    cr_assert_str_eq(er.code, "SignatureDoesNotMatch");
}

Test(s3xml, time_parse)
{
    cr_assert_eq(rc_s3xml_parse_time("1970-01-01T00:00:00.000Z"), 0);
    cr_assert_eq(rc_s3xml_parse_time("2024-02-29T12:00:00Z"), 1709208000);
    cr_assert_eq(rc_s3xml_parse_time("2024-02-29 12:00:00"), -1);
    cr_assert_eq(rc_s3xml_parse_time("garbage"), -1);
    cr_assert_eq(rc_s3xml_parse_time(NULL), -1);
}
