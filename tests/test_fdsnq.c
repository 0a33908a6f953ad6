/*
 * test_fdsnq.c: FDSN request parsing: aliases, repeated code parameters,
 * percent-decoding, wildcards, "--", POST bodies, times, and the 400
 * messages that name the parameter.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "r2cache/fdsnq.h"

Test(fdsnq, aliases_lists_decoding_and_defaults)
{
    rc_fdsnq q;
    rc_err e;
    cr_assert_eq(rc_fdsnq_parse_query(RC_FDSNQ_DATASELECT,
                                      "net=HV&sta=UWE%2CNPT&station=K%3FL&loc=--&cha=hh*&"
                                      "start=2025-11-04T23:59:00&endtime=2025-11-05T00:01:00.5Z&"
                                      "nodata=404",
                                      &q, &e),
                 RC_OK, "%s", e.msg);
    cr_assert_eq(q.nsel, 1);
    cr_assert_str_eq(q.sel[0].net, "HV");
    cr_assert_str_eq(q.sel[0].sta, "UWE,NPT,K?L");
    cr_assert_str_eq(q.sel[0].loc, "--");
    cr_assert_str_eq(q.sel[0].cha, "HH*");
    cr_assert_eq(q.sel[0].start_us, 1762300740LL * 1000000);
    cr_assert_eq(q.sel[0].end_us, 1762300860LL * 1000000 + 500000);
    cr_assert_eq(q.nodata, 404);
    cr_assert_str_eq(q.format, "miniseed");
    cr_assert_str_eq(q.quality, "*");
    rc_fdsnq_free(&q);
    cr_assert_eq(rc_fdsnq_parse_query(RC_FDSNQ_AVAIL_QUERY,
                                      "starttime=2025-11-04&loc=&"
                                      "merge=quality,samplerate&mergegaps=1.5&show=latestupdate&"
                                      "limit=3&orderby=latestupdate_desc&format=JSON",
                                      &q, &e),
                 RC_OK, "%s", e.msg);
    cr_assert_str_eq(q.sel[0].net, "*");
    cr_assert_str_eq(q.sel[0].loc, "--");
    cr_assert_eq(q.sel[0].has_end, 0);
    cr_assert(q.merge_quality && q.merge_samplerate && !q.merge_overlap);
    cr_assert_float_eq(q.mergegaps, 1.5, 1e-12);
    cr_assert(q.show_latestupdate);
    cr_assert_eq(q.limit, 3);
    cr_assert_eq(q.orderby, RC_FDSNQ_ORDER_UPDATE_DESC);
    cr_assert_str_eq(q.format, "json");
    cr_assert_eq(q.nodata, 204);
    rc_fdsnq_free(&q);
}

typedef struct bad {
    rc_fdsnq_service svc;
    const char *query;
    const char *msg;
} bad;

Test(fdsnq, bad_queries_name_the_parameter)
{
    static const bad cases[] = {
        {RC_FDSNQ_DATASELECT, "net=HV", "starttime: required (YYYY-MM-DDTHH:MM:SS)"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&foo=1", "foo: unknown parameter for dataselect"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&merge=quality",
         "merge: unknown parameter for dataselect"},
        {RC_FDSNQ_AVAIL_EXTENT, "start=2025-11-04&mergegaps=1",
         "mergegaps: unknown parameter for availability extent"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&starttime=2025-11-05",
         "starttime: given more than once"},
        {RC_FDSNQ_DATASELECT, "start=2025-13-04",
         "starttime: '2025-13-04' is not a valid date and time: month 13 is out of range (01-12)"},
        {RC_FDSNQ_DATASELECT, "start=yesterday",
         "starttime: 'yesterday' is not a time: use YYYY-MM-DDTHH:MM:SS[.ffffff][Z] or "
         "YYYY-MM-DD (UTC)"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04T00:00:00.1234567",
         "starttime: '2025-11-04T00:00:00.1234567': at most 6 fractional digits (microseconds)"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-05&end=2025-11-04",
         "endtime: must be after starttime"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&nodata=500", "nodata: '500': use 204 or 404"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&format=sac",
         "format: 'sac': this service answers miniseed only"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&net=H_V",
         "network: 'H_V': only letters, digits, ? and * are allowed"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&sta=ABCDEFGHI",
         "station: 'ABCDEFGHI' is longer than 8 characters"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&cha=HHZ,,HHN",
         "channel: empty item in the list 'HHZ,,HHN'"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&loc=-0",
         "location: '-0': use -- for the empty "
         "location"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&net=",
         "network: empty value (leave the "
         "parameter out to match every code)"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&net", "net: needs a value (name=value)"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&net=%4",
         "query: a % that is not followed by two "
         "hex digits"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&net=A%00",
         "query: a NUL byte (%00) is not "
         "allowed"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&longestonly=yes",
         "longestonly: 'yes': use true or false"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&minimumlength=-1",
         "minimumlength: '-1' is not a number of seconds >= 0"},
        {RC_FDSNQ_DATASELECT, "start=2025-11-04&quality=X", "quality: 'X': use D, R, Q, M, B or *"},
        {RC_FDSNQ_AVAIL_QUERY, "limit=0", "limit: '0' is not a whole number >= 1"},
        {RC_FDSNQ_AVAIL_QUERY, "merge=rate",
         "merge: 'rate': use samplerate, quality, overlap "
         "(comma list)"},
        {RC_FDSNQ_AVAIL_QUERY, "orderby=timespancount",
         "orderby: 'timespancount': use nslc_time_quality_samplerate, latestupdate or "
         "latestupdate_desc"},
        {RC_FDSNQ_AVAIL_QUERY, "format=xml", "format: 'xml': use text, geocsv, json or request"},
        {RC_FDSNQ_AVAIL_QUERY, "show=all", "show: 'all': use latestupdate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc_fdsnq q;
        rc_err e;
        cr_assert_eq(rc_fdsnq_parse_query(cases[i].svc, cases[i].query, &q, &e), RC_EINVAL,
                     "%s was accepted", cases[i].query);
        cr_assert_str_eq(e.msg, cases[i].msg, "%s", cases[i].query);
        cr_assert_null(q.sel);
    }
}

Test(fdsnq, post_bodies)
{
    const char body[] = "quality=M\r\nnodata=404\n\n"
                        "HV UWE -- HHZ 2025-11-04T23:59:00 2025-11-05T00:01:00\n"
                        "  XX  K*L  00  BH?   2025-11-04   2025-11-05T00:00:00.25Z  \n";
    rc_fdsnq q;
    rc_err e;
    cr_assert_eq(rc_fdsnq_parse_post(RC_FDSNQ_DATASELECT, body, sizeof body - 1, &q, &e), RC_OK,
                 "%s", e.msg);
    cr_assert_eq(q.nsel, 2);
    cr_assert_eq(q.nodata, 404);
    cr_assert_str_eq(q.quality, "M");
    cr_assert_str_eq(q.sel[0].loc, "--");
    cr_assert_str_eq(q.sel[1].sta, "K*L");
    cr_assert_str_eq(q.sel[1].cha, "BH?");
    cr_assert_eq(q.sel[1].start_us, 1762214400LL * 1000000);
    cr_assert_eq(q.sel[1].end_us, 1762300800LL * 1000000 + 250000);
    rc_fdsnq_free(&q);

    static const struct {
        const char *body;
        const char *msg;
    } bads[] = {
        {"", "request: no selection lines (NET STA LOC CHA START END)"},
        {"format=miniseed\n", "request: no selection lines (NET STA LOC CHA START END)"},
        {"HV UWE -- HHZ 2025-11-04\n", "line 1: a selection line is NET STA LOC CHA START END "
                                       "(6 fields, -- for an empty location), not 5 fields"},
        {"HV UWE -- HHZ 2025-11-04 2025-11-05\nnodata=404\n",
         "line 2: name=value lines must come before the selection lines"},
        {"net=HV\nHV UWE -- HHZ 2025-11-04 2025-11-05\n",
         "network: in a POST body give channels and times on the selection lines (NET STA LOC "
         "CHA START END)"},
        {"bogus=1\n", "bogus: unknown parameter for dataselect"},
        {"HV UWE -- HHZ 2025-11-04 2025-11-0x\n",
         "line 1: endtime: '2025-11-0x' is not a time: use YYYY-MM-DDTHH:MM:SS[.ffffff][Z] or "
         "YYYY-MM-DD (UTC)"},
        {"HV UWE -- HHZ 2025-11-05 2025-11-04\n", "line 1: endtime: must be after starttime"},
        {"HV U.E -- HHZ 2025-11-04 2025-11-05\n",
         "line 1: station: 'U.E': only letters, digits, ? and * are allowed"},
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        cr_assert_eq(
            rc_fdsnq_parse_post(RC_FDSNQ_DATASELECT, bads[i].body, strlen(bads[i].body), &q, &e),
            RC_EINVAL, "%s was accepted", bads[i].body);
        cr_assert_str_eq(e.msg, bads[i].msg);
    }
    /* a body need not end in NUL: parsing stops at len */
    const char cut[] = "HV UWE -- HHZ 2025-11-04 2025-11-05\nGARBAGE";
    cr_assert_eq(rc_fdsnq_parse_post(RC_FDSNQ_DATASELECT, cut, 36, &q, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(q.nsel, 1);
    rc_fdsnq_free(&q);
}

Test(fdsnq, wildcards_and_empty_location)
{
    cr_assert(rc_fdsnq_match("*", ""));
    cr_assert(rc_fdsnq_match("*", "UWE"));
    cr_assert(rc_fdsnq_match("U?E", "UWE"));
    cr_assert_not(rc_fdsnq_match("U?E", "UE"));
    cr_assert(rc_fdsnq_match("N*K", "N20K"));
    cr_assert(rc_fdsnq_match("N*K", "NK"));
    cr_assert_not(rc_fdsnq_match("N*K", "N20KX"));
    cr_assert(rc_fdsnq_match("*Z", "HHZ"));
    cr_assert(rc_fdsnq_match("BHZ,HH*", "HHN"));
    cr_assert_not(rc_fdsnq_match("BHZ,HH*", "EHZ"));
    cr_assert(rc_fdsnq_match("--", ""));
    cr_assert_not(rc_fdsnq_match("--", "00"));
    cr_assert(rc_fdsnq_match("00,--", ""));
    cr_assert_not(rc_fdsnq_match("??", ""));
    cr_assert(rc_fdsnq_match("*A*B*", "XAYBZ"));
}

Test(fdsnq, times_round_trip)
{
    int64_t us;
    rc_err e;
    cr_assert_eq(rc_fdsnq_time_parse("2025-11-04T23:59:59.000001Z", &us, &e), RC_OK);
    cr_assert_eq(us, 1762300799LL * 1000000 + 1);
    char out[32];
    rc_fdsnq_time_format(us, out);
    cr_assert_str_eq(out, "2025-11-04T23:59:59.000001Z");
    cr_assert_eq(rc_fdsnq_time_parse("2025-11-04T23:59:59.5", &us, &e), RC_OK);
    rc_fdsnq_time_format(us, out);
    cr_assert_str_eq(out, "2025-11-04T23:59:59.500000Z");
    cr_assert_eq(rc_fdsnq_time_parse("2024-02-29", &us, &e), RC_OK);
    cr_assert_eq(rc_fdsnq_time_parse("2025-02-29", &us, &e), RC_EINVAL);
    cr_assert_eq(rc_fdsnq_time_parse("2025-11-04T24:00:00", &us, &e), RC_EINVAL);
    cr_assert_eq(rc_fdsnq_time_parse("2025-11-04T10:00", &us, &e), RC_EINVAL);
    cr_assert_eq(rc_fdsnq_time_parse("2025-11-04T10:00:00.", &us, &e), RC_EINVAL);
    cr_assert_eq(rc_fdsnq_time_parse("2025-11-04T10:00:00ZZ", &us, &e), RC_EINVAL);
}
