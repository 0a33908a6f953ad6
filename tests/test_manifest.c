/*
 * test_manifest.c: exact JSON in both layouts, lossless round trips,
 * merge rules (set semantics, replace with history, upgrade), complete_day,
 * blob metadata, conditional read-modify-write against the local store
 * including two processes racing on the same manifest, and the JSON Schema.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "r2cache/manifest.h"
#include "r2cache/timewin.h"
#include "support.h"

static int64_t day_of(const char *date)
{
    int64_t t;
    int y, m, d;
    cr_assert_eq(sscanf(date, "%d-%d-%d", &y, &m, &d), 3);
    cr_assert_eq(rc_time_make(y, m, d, 0, 0, 0, &t, NULL), RC_OK);
    return t;
}

static rc_mentry entry(int64_t start, int64_t span, int32_t mn, int32_t mx, int64_t samples)
{
    rc_mentry en;
    memset(&en, 0, sizeof en);
    en.start = start;
    en.end = start + span;
    en.min = mn;
    en.max = mx;
    en.samples = samples;
    return en;
}

static char *ser(const rc_manifest *m)
{
    rc_buf b = RC_BUF_INIT;
    rc_err e;
    rc_err_clear(&e);
    cr_assert_eq(rc_manifest_serialize(m, &b, &e), RC_OK, "%s", e.msg);
    return rc_buf_steal(&b, NULL);
}

static void parse_ok(rc_layout l, const char *json, rc_manifest *m)
{
    rc_err e;
    rc_err_clear(&e);
    cr_assert_eq(rc_manifest_parse(l, json, strlen(json), m, &e), RC_OK, "%s", e.msg);
}

/* The seed document's example (DESIGN.md / seed 002), with our extensions. */
static void seed_manifest(rc_manifest *m)
{
    rc_chan c = {"HV", "UWE", "", "HHZ"};
    int64_t day = day_of("2025-11-04");
    rc_manifest_init(m, RC_LAYOUT_SEED, &c, "kilauea", 100.0, day);
    strcpy(m->instrument_type, "STS-2");
    m->has_coords = 1;
    m->latitude = 19.421;
    m->longitude = -155.287;
    m->elevation_m = 1200;
    strcpy(m->created_at, "2025-11-04T22:12:33.123456Z");
    /* inserted out of order on purpose */
    rc_mentry b = entry(day + 22 * 3600 + 600, 600, -180, 220, 60000);
    b.gap_count = 1;
    b.gap_duration_seconds = 2.345;
    b.gap_samples_filled = 235;
    rc_mentry a = entry(day + 22 * 3600, 600, -150, 200, 60000);
    a.completeness = 1;
    a.bytes = 81234;
    rc_mentry s6 = entry(day + 18 * 3600, 21600, -300, 400, 2160000);
    s6.gap_count = 3;
    s6.gap_duration_seconds = 8.765;
    s6.gap_samples_filled = 877;
    s6.completeness = 0.96;
    s6.provisional = 1;
    cr_assert_eq(rc_manifest_upsert(m, RC_SPAN_10M, &b, RC_UPSERT_IF_ABSENT, "x"), 1);
    cr_assert_eq(rc_manifest_upsert(m, RC_SPAN_10M, &a, RC_UPSERT_IF_ABSENT, "x"), 1);
    cr_assert_eq(rc_manifest_upsert(m, RC_SPAN_6H, &s6, RC_UPSERT_IF_ABSENT, "x"), 1);
}

static const char *SEED_TEXT = "{\n"
                               "  \"date\": \"2025-11-04\",\n"
                               "  \"network\": \"HV\",\n"
                               "  \"volcano\": \"kilauea\",\n"
                               "  \"station\": \"UWE\",\n"
                               "  \"location\": \"\",\n"
                               "  \"channel\": \"HHZ\",\n"
                               "  \"instrument_type\": \"STS-2\",\n"
                               "  \"sample_rate\": 100,\n"
                               "  \"latitude\": 19.421,\n"
                               "  \"longitude\": -155.287,\n"
                               "  \"elevation_m\": 1200,\n"
                               "  \"created_at\": \"2025-11-04T22:12:33.123456Z\",\n"
                               "  \"layout\": \"seed\",\n"
                               "  \"complete_day\": false,\n"
                               "  \"chunks\": {\n"
                               "    \"10min\": [\n"
                               "      {\n"
                               "        \"start\": \"22:00:00\",\n"
                               "        \"end\": \"22:10:00\",\n"
                               "        \"min\": -150,\n"
                               "        \"max\": 200,\n"
                               "        \"samples\": 60000,\n"
                               "        \"gap_count\": 0,\n"
                               "        \"gap_duration_seconds\": 0,\n"
                               "        \"gap_samples_filled\": 0,\n"
                               "        \"bytes\": 81234,\n"
                               "        \"completeness\": 1,\n"
                               "        \"revision\": 1\n"
                               "      },\n"
                               "      {\n"
                               "        \"start\": \"22:10:00\",\n"
                               "        \"end\": \"22:20:00\",\n"
                               "        \"min\": -180,\n"
                               "        \"max\": 220,\n"
                               "        \"samples\": 60000,\n"
                               "        \"gap_count\": 1,\n"
                               "        \"gap_duration_seconds\": 2.345,\n"
                               "        \"gap_samples_filled\": 235,\n"
                               "        \"revision\": 1\n"
                               "      }\n"
                               "    ],\n"
                               "    \"6h\": [\n"
                               "      {\n"
                               "        \"start\": \"18:00:00\",\n"
                               "        \"end\": \"00:00:00\",\n"
                               "        \"min\": -300,\n"
                               "        \"max\": 400,\n"
                               "        \"samples\": 2160000,\n"
                               "        \"gap_count\": 3,\n"
                               "        \"gap_duration_seconds\": 8.765,\n"
                               "        \"gap_samples_filled\": 877,\n"
                               "        \"completeness\": 0.96,\n"
                               "        \"provisional\": true,\n"
                               "        \"revision\": 1\n"
                               "      }\n"
                               "    ]\n"
                               "  }\n"
                               "}\n";

static void viewer_manifest(rc_manifest *m)
{
    rc_chan c = {"AV", "GSTD", "", "BHZ"};
    int64_t day = day_of("2025-11-04");
    rc_manifest_init(m, RC_LAYOUT_VIEWER, &c, "greatsitkin", 40.96, day);
    strcpy(m->created_at, "2025-11-05T02:26:32.572100Z");
    rc_mentry a = entry(day + 11 * 3600 + 50 * 60, 600, -547, 6083, 24576);
    rc_mentry h = entry(day + 11 * 3600, 3600, -600, 6100, 147456);
    h.offset_s = 0.0125;
    h.sha256[0] = '\0';
    cr_assert_eq(rc_manifest_upsert(m, RC_SPAN_10M, &a, RC_UPSERT_REPLACE, "x"), 1);
    cr_assert_eq(rc_manifest_upsert(m, RC_SPAN_1H, &h, RC_UPSERT_REPLACE, "x"), 1);
}

static const char *VIEWER_TEXT = "{\n"
                                 "  \"date\": \"2025-11-04\",\n"
                                 "  \"network\": \"AV\",\n"
                                 "  \"volcano\": \"greatsitkin\",\n"
                                 "  \"station\": \"GSTD\",\n"
                                 "  \"location\": \"\",\n"
                                 "  \"channel\": \"BHZ\",\n"
                                 "  \"sample_rate\": 40.96,\n"
                                 "  \"created_at\": \"2025-11-05T02:26:32.572100Z\",\n"
                                 "  \"layout\": \"viewer\",\n"
                                 "  \"complete_day\": false,\n"
                                 "  \"chunks\": {\n"
                                 "    \"10m\": [\n"
                                 "      {\n"
                                 "        \"start\": \"11:50:00\",\n"
                                 "        \"end\": \"12:00:00\",\n"
                                 "        \"min\": -547,\n"
                                 "        \"max\": 6083,\n"
                                 "        \"samples\": 24576,\n"
                                 "        \"gap_count\": 0,\n"
                                 "        \"gap_duration_seconds\": 0,\n"
                                 "        \"gap_samples_filled\": 0,\n"
                                 "        \"revision\": 1\n"
                                 "      }\n"
                                 "    ],\n"
                                 "    \"1h\": [\n"
                                 "      {\n"
                                 "        \"start\": \"11:00:00\",\n"
                                 "        \"end\": \"12:00:00\",\n"
                                 "        \"min\": -600,\n"
                                 "        \"max\": 6100,\n"
                                 "        \"samples\": 147456,\n"
                                 "        \"gap_count\": 0,\n"
                                 "        \"gap_duration_seconds\": 0,\n"
                                 "        \"gap_samples_filled\": 0,\n"
                                 "        \"offset_s\": 0.0125,\n"
                                 "        \"revision\": 1\n"
                                 "      }\n"
                                 "    ],\n"
                                 "    \"6h\": []\n"
                                 "  }\n"
                                 "}\n";

Test(manifest, seed_exact_text)
{
    rc_manifest m;
    seed_manifest(&m);
    char *txt = ser(&m);
    cr_assert_str_eq(txt, SEED_TEXT);
    free(txt);
    rc_manifest_free(&m);
}

Test(manifest, viewer_exact_text)
{
    rc_manifest m;
    viewer_manifest(&m);
    char *txt = ser(&m);
    cr_assert_str_eq(txt, VIEWER_TEXT);
    free(txt);
    rc_manifest_free(&m);
}

static void assert_entries_equal(const rc_mlist *a, const rc_mlist *b)
{
    cr_assert_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const rc_mentry *x = &a->v[i], *y = &b->v[i];
        cr_assert_eq(x->start, y->start);
        cr_assert_eq(x->end, y->end);
        cr_assert_eq(x->min, y->min);
        cr_assert_eq(x->max, y->max);
        cr_assert_eq(x->samples, y->samples);
        cr_assert_eq(x->gap_count, y->gap_count);
        cr_assert_eq(x->gap_duration_seconds, y->gap_duration_seconds);
        cr_assert_eq(x->gap_samples_filled, y->gap_samples_filled);
        cr_assert_eq(x->completeness, y->completeness);
        cr_assert_eq(x->provisional, y->provisional);
        cr_assert_eq(x->bytes, y->bytes);
        cr_assert_str_eq(x->sha256, y->sha256);
        cr_assert_eq(x->offset_s, y->offset_s);
        cr_assert_str_eq(x->written_at, y->written_at);
        cr_assert_eq(x->revision, y->revision);
        cr_assert(cJSON_Compare(x->history, y->history, 1) || (!x->history && !y->history));
        cr_assert(cJSON_Compare(x->extra, y->extra, 1) || (!x->extra && !y->extra));
    }
}

static void assert_manifest_equal(const rc_manifest *a, const rc_manifest *b)
{
    cr_assert_eq(a->layout, b->layout);
    cr_assert_eq(a->day, b->day);
    cr_assert(rc_chan_equal(&a->chan, &b->chan));
    cr_assert_str_eq(a->volcano, b->volcano);
    cr_assert_str_eq(a->instrument_type, b->instrument_type);
    cr_assert_eq(a->sample_rate, b->sample_rate);
    cr_assert_eq(a->has_coords, b->has_coords);
    cr_assert_eq(a->latitude, b->latitude);
    cr_assert_eq(a->longitude, b->longitude);
    cr_assert_eq(a->elevation_m, b->elevation_m);
    cr_assert_str_eq(a->created_at, b->created_at);
    cr_assert_str_eq(a->updated_at, b->updated_at);
    cr_assert_eq(a->complete_day, b->complete_day);
    for (int s = 0; s < RC_SPAN_COUNT; s++)
        assert_entries_equal(&a->chunks[s], &b->chunks[s]);
}

Test(manifest, parse_serialize_round_trip)
{
    for (int layout = 0; layout < 2; layout++) {
        rc_manifest m, p;
        if (layout == 0)
            seed_manifest(&m);
        else
            viewer_manifest(&m);
        strcpy(m.updated_at, "2025-11-05T00:00:01.000001Z");
        rc_mentry r = entry(m.day + 600, 600, 1, 2, 3);
        r.gap_duration_seconds = 0.1;
        strcpy(r.written_at, "2025-11-05T00:00:00Z");
        strcpy(r.sha256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &r, RC_UPSERT_REPLACE, "t0"), 1);
        r.max = 5;
        cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &r, RC_UPSERT_REPLACE, "t1"), 1);
        char *txt = ser(&m);
        parse_ok((rc_layout)layout, txt, &p);
        assert_manifest_equal(&m, &p);
        char *txt2 = ser(&p);
        cr_assert_str_eq(txt2, txt);
        free(txt);
        free(txt2);
        rc_manifest_free(&m);
        rc_manifest_free(&p);
    }
}

Test(manifest, unknown_fields_kept)
{
    const char *in = "{\"date\":\"2025-11-04\",\"network\":\"HV\",\"volcano\":\"kilauea\","
                     "\"station\":\"UWE\",\"location\":\"\",\"channel\":\"HHZ\","
                     "\"sample_rate\":100.0,\"created_at\":\"c\",\"complete_day\":false,"
                     "\"latitude\":null,"
                     "\"station_note\":{\"owner\":\"HVO\",\"tags\":[1,2.5,\"x\"]},"
                     "\"chunks\":{\"10min\":[{\"start\":\"00:10:00\",\"end\":\"00:20:00\","
                     "\"min\":1,\"max\":2,\"samples\":60000,\"gap_count\":0,"
                     "\"gap_duration_seconds\":0.0,\"gap_samples_filled\":0,"
                     "\"quality\":\"A\"}],\"6h\":[],\"30m\":[{\"start\":\"00:00:00\"}]}}";
    rc_manifest m;
    parse_ok(RC_LAYOUT_SEED, in, &m);
    cr_assert_eq(m.chunks[RC_SPAN_10M].n, 1);
    cr_assert_eq(m.has_coords, 0);
    char *txt = ser(&m);
    cr_assert(strstr(txt, "  \"station_note\": {\n    \"owner\": \"HVO\",\n    \"tags\": [\n"
                          "      1,\n      2.5,\n      \"x\"\n    ]\n  }"),
              "%s", txt);
    cr_assert(strstr(txt, "  \"latitude\": null"), "%s", txt);
    cr_assert(strstr(txt, "        \"quality\": \"A\"\n"), "%s", txt);
    cr_assert(
        strstr(txt, "    \"30m\": [\n      {\n        \"start\": \"00:00:00\"\n      }\n    ]"),
        "%s", txt);
    /* and they survive another round */
    rc_manifest p;
    parse_ok(RC_LAYOUT_SEED, txt, &p);
    char *txt2 = ser(&p);
    cr_assert_str_eq(txt2, txt);
    free(txt);
    free(txt2);
    rc_manifest_free(&m);
    rc_manifest_free(&p);
}

static void parse_fails(const char *json, const char *needle)
{
    rc_manifest m;
    rc_err e;
    rc_err_clear(&e);
    cr_assert_eq(rc_manifest_parse(RC_LAYOUT_SEED, json, strlen(json), &m, &e), RC_EFORMAT,
                 "accepted: %s", json);
    cr_assert(strstr(e.msg, needle), "message \"%s\" should name %s", e.msg, needle);
}

Test(manifest, parse_errors_name_the_field)
{
#define HDR                                                                                        \
    "{\"date\":\"2025-11-04\",\"network\":\"HV\",\"volcano\":\"kilauea\",\"station\":\"UWE\","     \
    "\"location\":\"\",\"channel\":\"HHZ\",\"sample_rate\":100,"
#define E10(x) "{\"start\":\"" x "\",\"end\":\"00:10:00\",\"min\":1,\"max\":2,\"samples\":3}"
    parse_fails("{", "not valid JSON");
    parse_fails("[]", "not a JSON object");
    parse_fails("{\"network\":\"HV\"}", "\"date\"");
    parse_fails(HDR "\"chunks\":{\"10min\":[" E10("00:00:00") "," E10("25:00:00") "]}}",
                "chunks.10min[1].start");
    parse_fails(HDR "\"chunks\":{\"10min\":[{\"start\":\"00:00:00\",\"min\":\"x\"}]}}",
                "chunks.10min[0].min");
    parse_fails(HDR "\"chunks\":{\"6h\":[{\"start\":\"00:00:00\",\"min\":1,\"max\":2}]}}",
                "chunks.6h[0].samples");
    parse_fails("{\"date\":\"2025-02-30\",\"network\":\"HV\",\"station\":\"UWE\",\"location\":\"\","
                "\"channel\":\"HHZ\",\"sample_rate\":100,\"chunks\":{}}",
                "\"date\"");
    parse_fails("{\"date\":\"2025-11-04\",\"network\":\"HV\",\"station\":\"UWE\",\"location\":\"\","
                "\"channel\":\"HHZ\",\"sample_rate\":\"100\",\"chunks\":{}}",
                "\"sample_rate\"");
    parse_fails(HDR "\"layout\":\"viewer\",\"chunks\":{}}", "\"layout\"");
    parse_fails(HDR "\"chunks\":[]}", "\"chunks\"");
    parse_fails(HDR "\"complete_day\":1,\"chunks\":{}}", "\"complete_day\"");
    /* numbers JSON cannot write back (cJSON reads 01e309 as infinity): the
     * manifest is unreadable, not silently kept (fuzz_manifest found this) */
    parse_fails(HDR "\"chunks\":{\"10min\":[{\"start\":\"00:00:00\",\"min\":1,\"max\":2,"
                    "\"samples\":3,\"completeness\":01e309}]}}",
                "chunks.10min[0].completeness\": not a finite number");
    parse_fails(HDR "\"x_extension\":[1,-1e400],\"chunks\":{}}",
                "x_extension[1]\": not a finite number");
    parse_fails(HDR "\"chunks\":{\"6h\":[{\"start\":\"00:00:00\",\"min\":1,\"max\":2,"
                    "\"samples\":3,\"phase_steps\":[{\"start\":\"07:00:00\",\"offset_s\":-1}]}]}}",
                "chunks.6h[0].phase_steps[0].offset_s");
    parse_fails(HDR "\"chunks\":{\"6h\":[{\"start\":\"06:00:00\",\"min\":1,\"max\":2,"
                    "\"samples\":3,\"phase_steps\":[{\"start\":\"13:00:00\",\"offset_s\":0}]}]}}",
                "chunks.6h[0].phase_steps");
}

/* Phase steps round-trip through the JSON and through blob metadata. */
Test(manifest, phase_steps_round_trip)
{
    const char *json = HDR "\"chunks\":{\"6h\":[{\"start\":\"06:00:00\",\"end\":\"12:00:00\","
                           "\"min\":1,\"max\":2,\"samples\":432000,\"offset_s\":0.008,"
                           "\"phase_steps\":[{\"start\":\"07:20:00\",\"offset_s\":0.038},"
                           "{\"start\":\"11:50:00\",\"offset_s\":0}]}]}}";
    rc_manifest m;
    parse_ok(RC_LAYOUT_SEED, json, &m);
    const rc_mentry *en = rc_manifest_find(&m, RC_SPAN_6H, day_of("2025-11-04") + 6 * 3600);
    cr_assert(en);
    cr_assert_eq(en->nsteps, 2);
    cr_assert_eq(en->steps[0].start, day_of("2025-11-04") + 7 * 3600 + 20 * 60);
    cr_assert_eq(en->steps[0].offset_s, 0.038);
    cr_assert_eq(en->steps[1].offset_s, 0);
    char *text = ser(&m);
    cr_assert(strstr(text, "        \"offset_s\": 0.008,\n"
                           "        \"phase_steps\": [\n"
                           "          {\n"
                           "            \"start\": \"07:20:00\",\n"
                           "            \"offset_s\": 0.038\n"
                           "          },\n"),
              "%s", text);
    rc_obj_meta meta;
    memset(&meta, 0, sizeof meta);
    rc_mentry_to_meta(en, &meta);
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-phase-steps"), "4800:38000,21000:0");
    rc_mentry back;
    memset(&back, 0, sizeof back);
    rc_err e;
    cr_assert_eq(rc_mentry_from_meta(&meta, en->start, &back, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(back.nsteps, 2);
    cr_assert_eq(back.steps[0].start, en->steps[0].start);
    cr_assert_eq(back.steps[0].offset_s, 0.038);
    cr_assert_eq(back.steps[1].start, en->steps[1].start);
    rc_mentry_free(&back);
    /* a steps list too long for one metadata value spills into -2, -3 */
    rc_mentry many;
    memset(&many, 0, sizeof many);
    many.start = day_of("2025-11-04");
    many.end = many.start + 86400;
    many.nsteps = 143;
    many.steps = calloc(143, sizeof *many.steps);
    for (int i = 0; i < 143; i++) {
        many.steps[i].start = many.start + 600 * (i + 1);
        many.steps[i].offset_s = (double)(999999 - i) / 1e6;
    }
    memset(&meta, 0, sizeof meta);
    rc_mentry_to_meta(&many, &meta);
    cr_assert(rc_obj_meta_get(&meta, "r2c-phase-steps-2"));
    cr_assert_eq(rc_mentry_from_meta(&meta, many.start, &back, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(back.nsteps, 143);
    for (int i = 0; i < 143; i++) {
        cr_assert_eq(back.steps[i].start, many.steps[i].start);
        cr_assert_eq(back.steps[i].offset_s, many.steps[i].offset_s);
    }
    rc_mentry_free(&back);
    rc_mentry_free(&many);
    free(text);
    rc_manifest_free(&m);
}

Test(manifest, duplicates_merged_and_sorted)
{
    const char *in =
        HDR "\"chunks\":{\"10min\":["
            "{\"start\":\"00:20:00\",\"end\":\"00:30:00\",\"min\":1,\"max\":1,\"samples\":1},"
            "{\"start\":\"00:00:00\",\"end\":\"00:10:00\",\"min\":2,\"max\":2,\"samples\":1},"
            "{\"start\":\"00:20:00\",\"end\":\"00:30:00\",\"min\":3,\"max\":3,\"samples\":1}"
            "],\"6h\":[]}}";
    rc_manifest m;
    parse_ok(RC_LAYOUT_SEED, in, &m);
    const rc_mlist *l = &m.chunks[RC_SPAN_10M];
    cr_assert_eq(l->n, 2);
    cr_assert_eq(l->v[0].start, m.day);
    cr_assert_eq(l->v[0].min, 2);
    cr_assert_eq(l->v[1].start, m.day + 1200);
    cr_assert_eq(l->v[1].min, 3, "the later duplicate wins");
    rc_manifest_free(&m);
}

Test(manifest, upsert_same_start_twice_keeps_one)
{
    rc_manifest m;
    seed_manifest(&m);
    rc_mentry en = entry(m.day + 3600, 600, 5, 6, 60000);
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &en, RC_UPSERT_IF_ABSENT, "t"), 1);
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &en, RC_UPSERT_IF_ABSENT, "t"), 0);
    /* a retried force write of the same blob is not a change either */
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &en, RC_UPSERT_REPLACE, "t"), 0);
    rc_mentry other = entry(m.day + 3600, 600, 7, 8, 60000);
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &other, RC_UPSERT_IF_ABSENT, "t"), 0);
    cr_assert_eq(m.chunks[RC_SPAN_10M].n, 3);
    const rc_mentry *f = rc_manifest_find(&m, RC_SPAN_10M, m.day + 3600);
    cr_assert_not_null(f);
    cr_assert_eq(f->min, 5);
    cr_assert_null(f->history);
    cr_assert_eq(m.chunks[RC_SPAN_10M].v[0].start, m.day + 3600, "kept sorted");
    cr_assert_eq(rc_manifest_remove(&m, RC_SPAN_10M, m.day + 3600), 1);
    cr_assert_eq(rc_manifest_remove(&m, RC_SPAN_10M, m.day + 3600), 0);
    cr_assert_eq(m.chunks[RC_SPAN_10M].n, 2);
    rc_manifest_free(&m);
}

Test(manifest, replace_records_history)
{
    rc_manifest m;
    seed_manifest(&m);
    int64_t t = m.day + 22 * 3600;
    rc_mentry en = entry(t, 600, -10, 10, 60000);
    en.completeness = 1;
    strcpy(en.written_at, "2025-11-06T00:00:00Z");
    cr_assert_eq(
        rc_manifest_upsert(&m, RC_SPAN_10M, &en, RC_UPSERT_REPLACE, "2025-11-06T00:00:01.000000Z"),
        1);
    const rc_mentry *f = rc_manifest_find(&m, RC_SPAN_10M, t);
    cr_assert_eq(f->min, -10);
    cr_assert_eq(f->revision, 2);
    cr_assert_eq(cJSON_GetArraySize(f->history), 1);
    cJSON *h = cJSON_GetArrayItem(f->history, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(h, "start")->valuestring, "22:00:00");
    cr_assert_str_eq(cJSON_GetObjectItem(h, "end")->valuestring, "22:10:00");
    cr_assert_eq(cJSON_GetObjectItem(h, "min")->valuedouble, -150);
    cr_assert_eq(cJSON_GetObjectItem(h, "max")->valuedouble, 200);
    cr_assert_eq(cJSON_GetObjectItem(h, "bytes")->valuedouble, 81234);
    cr_assert_eq(cJSON_GetObjectItem(h, "revision")->valuedouble, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(h, "replaced_at")->valuestring,
                     "2025-11-06T00:00:01.000000Z");
    cr_assert_null(cJSON_GetObjectItem(h, "history"), "history does not nest");

    /* a second replacement appends */
    en.max = 11;
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &en, RC_UPSERT_REPLACE, "t3"), 1);
    f = rc_manifest_find(&m, RC_SPAN_10M, t);
    cr_assert_eq(f->revision, 3);
    cr_assert_eq(cJSON_GetArraySize(f->history), 2);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(f->history, 1), "max")->valuedouble, 10);

    char *txt = ser(&m);
    cr_assert(strstr(txt, "        \"written_at\": \"2025-11-06T00:00:00Z\",\n"
                          "        \"revision\": 3,\n"
                          "        \"history\": [\n"
                          "          {\n"
                          "            \"start\": \"22:00:00\",\n"),
              "%s", txt);
    cr_assert(strstr(txt, "            \"replaced_at\": \"t3\"\n"), "%s", txt);
    free(txt);
    rc_manifest_free(&m);
}

Test(manifest, upgrade_only_provisional_and_not_worse)
{
    rc_manifest m;
    seed_manifest(&m);
    int64_t t6 = m.day + 18 * 3600;  /* provisional, completeness 0.96 */
    int64_t t10 = m.day + 22 * 3600; /* final */
    rc_mentry better = entry(t10, 600, 0, 1, 60000);
    better.completeness = 1;
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &better, RC_UPSERT_UPGRADE, "t"), 0,
                 "a final entry is never upgraded");
    cr_assert_eq(rc_manifest_find(&m, RC_SPAN_10M, t10)->min, -150);

    rc_mentry worse = entry(t6, 21600, 0, 1, 2160000);
    worse.completeness = 0.9;
    worse.provisional = 1;
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_6H, &worse, RC_UPSERT_UPGRADE, "t"), 0,
                 "lower completeness does not replace");
    cr_assert_eq(rc_manifest_find(&m, RC_SPAN_6H, t6)->min, -300);

    rc_mentry full = entry(t6, 21600, -301, 401, 2160000);
    full.completeness = 1;
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_6H, &full, RC_UPSERT_UPGRADE, "when"), 1);
    const rc_mentry *f = rc_manifest_find(&m, RC_SPAN_6H, t6);
    cr_assert_eq(f->min, -301);
    cr_assert_eq(f->provisional, 0);
    cr_assert_eq(f->revision, 2);
    cJSON *h = cJSON_GetArrayItem(f->history, 0);
    cr_assert_not_null(h);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(h, "provisional")));
    cr_assert_eq(cJSON_GetObjectItem(h, "completeness")->valuedouble, 0.96);
    cr_assert_str_eq(cJSON_GetObjectItem(h, "replaced_at")->valuestring, "when");
    /* now final: a further upgrade is refused */
    full.max = 999;
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_6H, &full, RC_UPSERT_UPGRADE, "t"), 0);

    /* equal completeness on a provisional entry does replace */
    rc_mentry p1 = entry(m.day, 600, 0, 0, 100), p2 = entry(m.day, 600, 1, 1, 100);
    p1.provisional = p2.provisional = 1;
    p1.completeness = p2.completeness = 0.5;
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &p1, RC_UPSERT_UPGRADE, "t"), 1,
                 "absent: added");
    cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &p2, RC_UPSERT_UPGRADE, "t"), 1);
    cr_assert_eq(rc_manifest_find(&m, RC_SPAN_10M, m.day)->min, 1);
    rc_manifest_free(&m);
}

Test(manifest, complete_day_at_144)
{
    rc_chan c = {"HV", "UWE", "", "HHZ"};
    int64_t day = day_of("2024-02-29");
    rc_manifest m;
    rc_manifest_init(&m, RC_LAYOUT_SEED, &c, "kilauea", 100, day);
    for (int i = 0; i < 4; i++) {
        rc_mentry s6 = entry(day + i * 21600, 21600, 0, 0, 2160000);
        rc_manifest_upsert(&m, RC_SPAN_6H, &s6, RC_UPSERT_IF_ABSENT, "t");
    }
    rc_manifest_recompute(&m, RC_SPAN_10M);
    cr_assert_eq(m.complete_day, 0, "6-hour chunks do not make the base list complete");
    for (int i = 0; i < 144; i++) {
        if (i == 77) continue;
        rc_mentry en = entry(day + i * 600, 600, 0, 0, 60000);
        cr_assert_eq(rc_manifest_upsert(&m, RC_SPAN_10M, &en, RC_UPSERT_IF_ABSENT, "t"), 1);
    }
    /* an off-grid extra does not fill the hole */
    rc_mentry odd = entry(day + 77 * 600 + 1, 600, 0, 0, 60000);
    rc_manifest_upsert(&m, RC_SPAN_10M, &odd, RC_UPSERT_IF_ABSENT, "t");
    rc_manifest_recompute(&m, RC_SPAN_10M);
    cr_assert_eq(m.chunks[RC_SPAN_10M].n, 144);
    cr_assert_eq(m.complete_day, 0, "143 of 144 windows");
    rc_mentry last = entry(day + 77 * 600, 600, 0, 0, 60000);
    rc_manifest_upsert(&m, RC_SPAN_10M, &last, RC_UPSERT_IF_ABSENT, "t");
    rc_manifest_recompute(&m, RC_SPAN_10M);
    cr_assert_eq(m.complete_day, 1);
    char *txt = ser(&m);
    cr_assert(strstr(txt, "\"complete_day\": true"));
    free(txt);
    rc_manifest_recompute(&m, RC_SPAN_1H);
    cr_assert_eq(m.complete_day, 0, "no 1-hour chunks");
    rc_manifest_free(&m);
}

Test(manifest, six_hours_to_midnight_round_trip)
{
    rc_chan c = {"HV", "UWE", "", "HHZ"};
    int64_t day = day_of("2025-12-31");
    for (int layout = 0; layout < 2; layout++) {
        rc_manifest m, p;
        rc_manifest_init(&m, (rc_layout)layout, &c, "kilauea", 100, day);
        rc_mentry en = entry(day + 18 * 3600, 21600, -1, 1, 2160000);
        rc_manifest_upsert(&m, RC_SPAN_6H, &en, RC_UPSERT_IF_ABSENT, "t");
        rc_mentry d = entry(day, 86400, -1, 1, 8640000);
        rc_manifest_upsert(&m, RC_SPAN_24H, &d, RC_UPSERT_IF_ABSENT, "t");
        char *txt = ser(&m);
        cr_assert(strstr(txt, "        \"start\": \"18:00:00\",\n        \"end\": \"00:00:00\",\n"),
                  "%s", txt);
        cr_assert(strstr(txt, "    \"24h\": [\n      {\n        \"start\": \"00:00:00\",\n"
                              "        \"end\": \"00:00:00\",\n"),
                  "%s", txt);
        parse_ok((rc_layout)layout, txt, &p);
        const rc_mentry *f = rc_manifest_find(&p, RC_SPAN_6H, day + 18 * 3600);
        cr_assert_not_null(f);
        cr_assert_eq(f->end, day + 86400, "00:00:00 after 18:00:00 is the next midnight");
        f = rc_manifest_find(&p, RC_SPAN_24H, day);
        cr_assert_eq(f->end, day + 86400);
        char *txt2 = ser(&p);
        cr_assert_str_eq(txt2, txt);
        free(txt);
        free(txt2);
        rc_manifest_free(&p);
        /* a chunk of the next day cannot be written into this one */
        rc_mentry next = entry(day + 86400, 600, 0, 0, 1);
        rc_manifest_upsert(&m, RC_SPAN_10M, &next, RC_UPSERT_IF_ABSENT, "t");
        rc_buf b = RC_BUF_INIT;
        rc_err e;
        cr_assert_eq(rc_manifest_serialize(&m, &b, &e), RC_EINVAL);
        cr_assert(strstr(e.msg, "2026-01-01T00:00:00Z"), "%s", e.msg);
        rc_buf_free(&b);
        rc_manifest_free(&m);
    }
}

Test(manifest, viewer_layout_reads_legacy_location)
{
    const char *in = "{\"date\":\"2025-11-04\",\"network\":\"HV\",\"volcano\":\"kilauea\","
                     "\"station\":\"OBL\",\"location\":\"--\",\"channel\":\"HHZ\","
                     "\"sample_rate\":100.0,\"created_at\":\"c\",\"complete_day\":false,"
                     "\"chunks\":{\"10m\":[],\"1h\":[],\"6h\":[]}}";
    rc_manifest m;
    parse_ok(RC_LAYOUT_VIEWER, in, &m);
    cr_assert_str_eq(m.chan.loc, "");
    char *txt = ser(&m);
    cr_assert(strstr(txt, "  \"location\": \"\",\n"));
    free(txt);
    rc_manifest_free(&m);
}

Test(manifest, blob_metadata_round_trip)
{
    rc_mentry en = entry(0, 600, -2147483647 - 1, 2147483647, 60000);
    en.gap_count = 2;
    en.gap_duration_seconds = 2.345;
    en.gap_samples_filled = 235;
    en.completeness = 0.99609375;
    en.provisional = 1;
    en.offset_s = 0.004;
    strcpy(en.sha256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    rc_obj_meta meta;
    memset(&meta, 0, sizeof meta);
    rc_mentry_to_meta(&en, &meta);
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-min"), "-2147483648");
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-max"), "2147483647");
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-samples"), "60000");
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-gap-count"), "2");
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-gap-seconds"), "2.345");
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-gap-filled"), "235");
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-completeness"), "0.99609375");
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-provisional"), "1");
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-offset"), "0.004");
    cr_assert_str_eq(rc_obj_meta_get(&meta, "r2c-sha256"), en.sha256);

    rc_mentry back = entry(0, 600, 0, 0, 0);
    rc_err e;
    cr_assert_eq(rc_mentry_from_meta(&meta, back.start, &back, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(back.min, en.min);
    cr_assert_eq(back.max, en.max);
    cr_assert_eq(back.samples, 60000);
    cr_assert_eq(back.gap_count, 2);
    cr_assert_eq(back.gap_duration_seconds, 2.345);
    cr_assert_eq(back.gap_samples_filled, 235);
    cr_assert_eq(back.completeness, 0.99609375);
    cr_assert_eq(back.provisional, 1);
    cr_assert_eq(back.offset_s, 0.004);
    cr_assert_str_eq(back.sha256, en.sha256);

    rc_obj_meta_set(&meta, "r2c-samples", "12x");
    cr_assert_eq(rc_mentry_from_meta(&meta, back.start, &back, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "r2c-samples"), "%s", e.msg);
    rc_obj_meta none;
    memset(&none, 0, sizeof none);
    cr_assert_eq(rc_mentry_from_meta(&none, back.start, &back, &e), RC_EFORMAT);
    cr_assert(strstr(e.msg, "r2c-min"), "%s", e.msg);
}

/* ---- through the store -------------------------------------------------- */

static const char *MKEY = "data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json";

static rc_store *open_store(const char *dir)
{
    rc_store *st = NULL;
    rc_err e;
    rc_err_clear(&e);
    cr_assert_eq(rc_store_open(dir, NULL, &st, &e), RC_OK, "%s", e.msg);
    return st;
}

Test(manifest, update_creates_merges_and_refuses_garbage)
{
    char *dir = rc_test_tmpdir("manifest_upd");
    rc_store *st = open_store(dir);
    rc_chan c = {"HV", "UWE", "", "HHZ"};
    int64_t day = day_of("2025-11-04");
    rc_manifest tmpl;
    rc_manifest_init(&tmpl, RC_LAYOUT_SEED, &c, "kilauea", 100, day);
    rc_mentry a = entry(day, 600, 1, 2, 60000);
    rc_mop op = {.span = RC_SPAN_10M, .entry = &a, .mode = RC_UPSERT_IF_ABSENT};
    rc_err e;
    int changed = -1;
    cr_assert_eq(rc_manifest_update(st, MKEY, &tmpl, &op, 1, RC_SPAN_10M, NULL, 0, &changed, &e),
                 RC_OK, "%s", e.msg);
    cr_assert_eq(changed, 1);
    cr_assert_eq(rc_manifest_update(st, MKEY, &tmpl, &op, 1, RC_SPAN_10M, NULL, 0, &changed, &e),
                 RC_OK, "%s", e.msg);
    cr_assert_eq(changed, 0, "same entry again: no write");

    rc_manifest m;
    char etag[RC_ETAG_MAX];
    cr_assert_eq(rc_manifest_load(st, RC_LAYOUT_SEED, MKEY, &m, etag, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(m.chunks[RC_SPAN_10M].n, 1);
    cr_assert_neq(m.created_at[0], '\0');
    cr_assert_neq(m.updated_at[0], '\0');
    cr_assert_eq(strlen(etag), 32);
    rc_manifest_free(&m);

    rc_obj_info info;
    cr_assert_eq(rc_store_head(st, MKEY, &info, &e), RC_OK);
    cr_assert_str_eq(info.meta.content_type, "application/json");

    /* a stored manifest we cannot read is left alone */
    const char *junk = "{\"date\": broken";
    cr_assert_eq(rc_store_put(st, MKEY, junk, strlen(junk), NULL, NULL, &e), RC_OK);
    rc_mentry b = entry(day + 600, 600, 1, 2, 60000);
    rc_mop op2 = {.span = RC_SPAN_10M, .entry = &b, .mode = RC_UPSERT_IF_ABSENT};
    cr_assert_eq(rc_manifest_update(st, MKEY, &tmpl, &op2, 1, RC_SPAN_10M, NULL, 0, &changed, &e),
                 RC_EFORMAT);
    cr_assert(strstr(e.msg, MKEY) && strstr(e.msg, "reindex"), "%s", e.msg);
    rc_buf body = RC_BUF_INIT;
    cr_assert_eq(rc_store_get(st, MKEY, &body, NULL, &e), RC_OK);
    cr_assert_str_eq(body.data, junk);
    rc_buf_free(&body);

    cr_assert_eq(rc_manifest_load(st, RC_LAYOUT_SEED, "no/such.json", &m, NULL, &e), RC_ENOTFOUND);
    rc_manifest_free(&tmpl);
    rc_store_close(st);
    rc_test_rmtree(dir);
    free(dir);
}

static int writer(const char *dir, int p, int64_t day)
{
    rc_store *st = NULL;
    rc_err e;
    if (rc_store_open(dir, NULL, &st, &e) != RC_OK) return 2;
    rc_chan c = {"HV", "UWE", "", "HHZ"};
    rc_manifest tmpl;
    rc_manifest_init(&tmpl, RC_LAYOUT_SEED, &c, "kilauea", 100, day);
    int bad = 0;
    for (int j = 0; j < 100 && !bad; j++) {
        rc_mentry en = entry(day + (int64_t)(2 * j + p) * 300, 600, j, p, 60000);
        rc_mop op = {.span = RC_SPAN_10M, .entry = &en, .mode = RC_UPSERT_IF_ABSENT};
        int changed = 0;
        if (rc_manifest_update(st, MKEY, &tmpl, &op, 1, RC_SPAN_10M, NULL, 0, &changed, &e) !=
                RC_OK ||
            !changed) {
            fprintf(stderr, "writer %d entry %d: %s\n", p, j, e.msg);
            bad = 1;
        }
    }
    rc_manifest_free(&tmpl);
    rc_store_close(st);
    return bad;
}

Test(manifest, two_processes_race, .timeout = 300)
{
    int64_t day = day_of("2025-11-04");
    for (int round = 0; round < 3; round++) {
        char *dir = rc_test_tmpdir("manifest_race");
        cr_assert_not_null(dir);
        pid_t pid[2];
        for (int p = 0; p < 2; p++) {
            pid[p] = fork();
            cr_assert_neq(pid[p], -1);
            if (pid[p] == 0) _exit(writer(dir, p, day));
        }
        for (int p = 0; p < 2; p++) {
            int status = 0;
            cr_assert_eq(waitpid(pid[p], &status, 0), pid[p]);
            cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "round %d writer %d failed (status %d)", round, p, status);
        }
        rc_store *st = open_store(dir);
        rc_manifest m;
        rc_err e;
        cr_assert_eq(rc_manifest_load(st, RC_LAYOUT_SEED, MKEY, &m, NULL, &e), RC_OK, "%s", e.msg);
        const rc_mlist *l = &m.chunks[RC_SPAN_10M];
        cr_assert_eq(l->n, 200, "round %d: %zu entries", round, l->n);
        for (size_t i = 0; i < l->n; i++) {
            cr_assert_eq(l->v[i].start, day + (int64_t)i * 300, "round %d entry %zu", round, i);
            cr_assert_eq(l->v[i].max, (int32_t)(i % 2), "written by process %zu", i % 2);
            cr_assert_eq(l->v[i].min, (int32_t)(i / 2));
        }
        /* and exactly once in the stored text, too */
        rc_buf b = RC_BUF_INIT;
        cr_assert_eq(rc_store_get(st, MKEY, &b, NULL, &e), RC_OK);
        int count = 0;
        for (const char *q = b.data; (q = strstr(q, "\"start\": \"")); q++)
            count++;
        cr_assert_eq(count, 200);
        rc_buf_free(&b);
        rc_manifest_free(&m);
        rc_store_close(st);
        rc_test_rmtree(dir);
        free(dir);
    }
}

/* ---- JSON Schema -------------------------------------------------------- */

static int validate(const char *schema, const char *json_path, rc_buf *err)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import json,sys,jsonschema; s=json.load(open(sys.argv[1])); "
             "V=jsonschema.Draft202012Validator; V.check_schema(s); "
             "V(s).validate(json.load(open(sys.argv[2])))\" '%s' '%s' 2>&1",
             schema, json_path);
    rc_buf_reset(err);
    return rc_test_sh(cmd, err, NULL);
}

Test(manifest, json_schema)
{
    rc_buf out = RC_BUF_INIT;
    if (rc_test_sh("python3 -c 'import jsonschema' 2>/dev/null", &out, NULL) != 0)
        cr_skip_test("SKIPPED: python3 with jsonschema not available; schema not checked");
    const char *schema = RC_SOURCE_DIR "/schemas/manifest.schema.json";
    char *dir = rc_test_tmpdir("manifest_schema");
    char path[4400];
    snprintf(path, sizeof path, "%s/m.json", dir);
    for (int layout = 0; layout < 2; layout++) {
        rc_manifest m;
        if (layout == 0)
            seed_manifest(&m);
        else
            viewer_manifest(&m);
        rc_mentry en = entry(m.day + 600, 600, 0, 1, 60000);
        strcpy(en.sha256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        rc_manifest_upsert(&m, RC_SPAN_10M, &en, RC_UPSERT_IF_ABSENT, "t");
        en.max = 2;
        rc_manifest_upsert(&m, RC_SPAN_10M, &en, RC_UPSERT_REPLACE, "t2");
        char *txt = ser(&m);
        cr_assert_eq(rc_test_write_file(path, txt, strlen(txt)), 0);
        int rc = validate(schema, path, &out);
        cr_assert_eq(rc, 0, "layout %d: %s", layout, out.data ? out.data : "");
        /* the validator can say no: a start that is not a time of day */
        char *bad = strstr(txt, "\"start\": \"");
        cr_assert_not_null(bad);
        memcpy(bad + 10, "25", 2);
        cr_assert_eq(rc_test_write_file(path, txt, strlen(txt)), 0);
        cr_assert_neq(validate(schema, path, &out), 0, "schema accepted start 25:..");
        free(txt);
        rc_manifest_free(&m);
    }
    /* the seed document's own example validates as the seed layout */
    const char *seed_doc =
        "{\"date\":\"2025-11-04\",\"network\":\"HV\",\"volcano\":\"kilauea\",\"station\":\"UWE\","
        "\"location\":\"\",\"channel\":\"HHZ\",\"instrument_type\":\"STS-2\",\"sample_rate\":100.0,"
        "\"latitude\":19.421,\"longitude\":-155.287,\"elevation_m\":1200,"
        "\"created_at\":\"2025-11-04T22:12:33.123456Z\",\"complete_day\":false,"
        "\"chunks\":{\"10min\":[{\"start\":\"22:00:00\",\"end\":\"22:10:00\",\"min\":-150,"
        "\"max\":200,\"samples\":60000,\"gap_count\":0,\"gap_duration_seconds\":0.0,"
        "\"gap_samples_filled\":0}],\"6h\":[]}}";
    cr_assert_eq(rc_test_write_file(path, seed_doc, strlen(seed_doc)), 0);
    cr_assert_eq(validate(schema, path, &out), 0, "%s", out.data ? out.data : "");
    rc_buf_free(&out);
    rc_test_rmtree(dir);
    free(dir);
}
