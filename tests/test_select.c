/*
 * test_select.c: which channels a command works on (select.c). Wildcards in
 * --station as FDSN and ObsPy users type them (HV.*..HHZ, AV.GS??..BH?,
 * *.*.*.HHZ) select exactly the configured channels they match among those
 * the selection rule keeps; an exact channel still overrides the rule; a
 * pattern that matches nothing is an error naming it, exit 2 from every
 * command that takes --station; --region and its old name --location are
 * the same.
 */
/* Paths here are built from bounded test directories; gcc cannot see that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/config.h"
#include "support.h"

/* Three volcanoes in two regions. The rule: seismic only, 20 km at most.
 * AV.GSMY..BDF is infrasound and AV.GSFAR..BHZ 30 km out: the rule drops
 * both; HV.OLD..HHZ is inactive. */
static const char CONFIG[] =
    "{\"selection\": {\"max_distance_km\": 20, \"data_types\": [\"seismic\"]},\n"
    " \"volcanoes\": [\n"
    "  {\"name\": \"kilauea\", \"location\": \"hawaii\", \"stations\": [\n"
    "   {\"network\": \"HV\", \"station\": \"UWE\", \"location\": \"\", \"channel\": \"HHZ\", "
    "\"distance_km\": 0.4},\n"
    "   {\"network\": \"HV\", \"station\": \"UWE\", \"location\": \"\", \"channel\": \"HHE\", "
    "\"distance_km\": 0.4},\n"
    "   {\"network\": \"HV\", \"station\": \"OBL\", \"location\": \"\", \"channel\": \"HHZ\", "
    "\"distance_km\": 0.5},\n"
    "   {\"network\": \"HV\", \"station\": \"NPT\", \"location\": \"01\", \"channel\": \"HHZ\", "
    "\"distance_km\": 1.0},\n"
    "   {\"network\": \"HV\", \"station\": \"OLD\", \"location\": \"\", \"channel\": \"HHZ\", "
    "\"distance_km\": 1.0, \"active\": false}]},\n"
    "  {\"name\": \"maunaloa\", \"location\": \"hawaii\", \"stations\": [\n"
    "   {\"network\": \"HV\", \"station\": \"MOKD\", \"location\": \"\", \"channel\": \"HHZ\", "
    "\"distance_km\": 1.6},\n"
    "   {\"network\": \"HV\", \"station\": \"SWRD\", \"location\": \"\", \"channel\": \"EHZ\", "
    "\"distance_km\": 2.6}]},\n"
    "  {\"name\": \"greatsitkin\", \"location\": \"alaska\", \"stations\": [\n"
    "   {\"network\": \"AV\", \"station\": \"GSTD\", \"location\": \"\", \"channel\": \"BHZ\", "
    "\"distance_km\": 3.3},\n"
    "   {\"network\": \"AV\", \"station\": \"GSTR\", \"location\": \"\", \"channel\": \"BHN\", "
    "\"distance_km\": 4.1},\n"
    "   {\"network\": \"AV\", \"station\": \"GSMY\", \"location\": \"\", \"channel\": \"BHZ\", "
    "\"distance_km\": 5.2},\n"
    "   {\"network\": \"AV\", \"station\": \"GSMY\", \"location\": \"\", \"channel\": \"BDF\", "
    "\"distance_km\": 5.2},\n"
    "   {\"network\": \"AV\", \"station\": \"GSCK\", \"location\": \"01\", \"channel\": \"BHZ\", "
    "\"distance_km\": 6.0},\n"
    "   {\"network\": \"AV\", \"station\": \"GSFAR\", \"location\": \"\", \"channel\": \"BHZ\", "
    "\"distance_km\": 30},\n"
    "   {\"network\": \"AV\", \"station\": \"GS1\", \"location\": \"\", \"channel\": \"HHZ\", "
    "\"distance_km\": 7.0}]}]}\n";

static rc_config g_cfg;

static void setup(void)
{
    rc_err e;
    cr_assert_eq(rc_config_parse(CONFIG, strlen(CONFIG), "sel.json", &g_cfg, &e), RC_OK, "%s",
                 e.msg);
}

static void teardown(void)
{
    rc_config_free(&g_cfg);
}

TestSuite(select, .init = setup, .fini = teardown, .timeout = 60);

/* Select with these --station values (and region); the channels as one
 * space-separated string "volcano:NET.STA.LOC.CHA ...", or the error. */
static int sel(const char *const *st, size_t n, const char *region, char *out, size_t cap,
               rc_err *e)
{
    rc_scope sc = {st, n, NULL, region, 0, 0, 0};
    rc_target *t = NULL;
    size_t nt = 0;
    int rc = rc_config_select(&g_cfg, &sc, &t, &nt, e);
    out[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < nt; i++) {
        char id[RC_CHAN_STR_MAX];
        rc_chan_format(&t[i].st->chan, id);
        len += (size_t)snprintf(out + len, cap - len, "%s%s:%s", i ? " " : "", t[i].volc->name, id);
    }
    free(t);
    return rc;
}

static void expect(const char *pattern, const char *want)
{
    char got[4096];
    rc_err e;
    const char *st[1] = {pattern};
    cr_assert_eq(sel(st, 1, NULL, got, sizeof got, &e), RC_OK, "%s: %s", pattern, e.msg);
    cr_assert_str_eq(got, want, "--station %s", pattern);
}

Test(select, wildcards_select_exactly_the_configured_channels_they_match)
{
    expect("HV.*..HHZ", "kilauea:HV.UWE..HHZ kilauea:HV.OBL..HHZ maunaloa:HV.MOKD..HHZ");
    expect("HV.*.*.HHZ", "kilauea:HV.UWE..HHZ kilauea:HV.OBL..HHZ kilauea:HV.NPT.01.HHZ "
                         "maunaloa:HV.MOKD..HHZ");
    expect("AV.GS??..BH?", "greatsitkin:AV.GSTD..BHZ greatsitkin:AV.GSTR..BHN "
                           "greatsitkin:AV.GSMY..BHZ");
    expect("*.*.*.HHZ", "kilauea:HV.UWE..HHZ kilauea:HV.OBL..HHZ kilauea:HV.NPT.01.HHZ "
                        "maunaloa:HV.MOKD..HHZ greatsitkin:AV.GS1..HHZ");
    /* "--" is the empty location as FDSN users write it */
    expect("HV.UWE.--.HH?", "kilauea:HV.UWE..HHZ kilauea:HV.UWE..HHE");
    expect("*.*.01.*", "kilauea:HV.NPT.01.HHZ greatsitkin:AV.GSCK.01.BHZ");
    expect("?V.*.*.?HZ",
           "kilauea:HV.UWE..HHZ kilauea:HV.OBL..HHZ kilauea:HV.NPT.01.HHZ maunaloa:HV.MOKD..HHZ "
           "maunaloa:HV.SWRD..EHZ greatsitkin:AV.GSTD..BHZ greatsitkin:AV.GSMY..BHZ "
           "greatsitkin:AV.GSCK.01.BHZ greatsitkin:AV.GS1..HHZ");
    /* `*` stays within one code and matches an empty run */
    expect("AV.GS*..HHZ", "greatsitkin:AV.GS1..HHZ");
    expect("AV.GS?..*", "greatsitkin:AV.GS1..HHZ");

    /* patterns and exact channels together, in configuration order, once each */
    char got[4096];
    rc_err e;
    const char *two[3] = {"AV.GSMY..BH?", "HV.UWE..HHZ", "AV.*..BHZ"};
    cr_assert_eq(sel(two, 3, NULL, got, sizeof got, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(got, "kilauea:HV.UWE..HHZ greatsitkin:AV.GSTD..BHZ greatsitkin:AV.GSMY..BHZ");
    /* with --region the pattern's channels of that region only */
    const char *all[1] = {"*.*.*.*HZ"};
    cr_assert_eq(sel(all, 1, "alaska", got, sizeof got, &e), RC_OK, "%s", e.msg);
    cr_assert_str_eq(got, "greatsitkin:AV.GSTD..BHZ greatsitkin:AV.GSMY..BHZ "
                          "greatsitkin:AV.GSCK.01.BHZ greatsitkin:AV.GS1..HHZ");
}

Test(select, the_rule_bounds_patterns_but_not_exact_channels)
{
    /* inactive, infrasound and too far: a pattern leaves them out */
    expect("AV.GSMY..*", "greatsitkin:AV.GSMY..BHZ");
    expect("HV.O*..HHZ", "kilauea:HV.OBL..HHZ");
    /* named exactly, each is taken (as before wildcards) */
    expect("AV.GSMY..BDF", "greatsitkin:AV.GSMY..BDF");
    expect("HV.OLD..HHZ", "kilauea:HV.OLD..HHZ");
    expect("AV.GSFAR..BHZ", "greatsitkin:AV.GSFAR..BHZ");
    /* --include-inactive widens the rule, and so the pattern */
    g_cfg.include_inactive = 1;
    expect("HV.O*..HHZ", "kilauea:HV.OBL..HHZ kilauea:HV.OLD..HHZ");
}

static void expect_error(const char *pattern, const char *msg)
{
    char got[4096];
    rc_err e;
    const char *st[1] = {pattern};
    cr_assert_eq(sel(st, 1, NULL, got, sizeof got, &e), RC_EINVAL, "--station %s selected %s",
                 pattern, got);
    cr_assert_str_eq(e.msg, msg);
}

Test(select, a_pattern_that_matches_nothing_is_an_error_naming_it)
{
    expect_error("XX.*..HHZ", "--station XX.*..HHZ matches no channel of the configuration "
                              "sel.json (`*` and `?` match within one code; NET.STA..CHA for "
                              "an empty location)");
    expect_error("HV.UWE..HH", "station HV.UWE..HH is not in the configuration sel.json (use "
                               "NET.STA.LOC.CHA, NET.STA..CHA for an empty location)");
    expect_error("HV.*.HHZ", "--station HV.*.HHZ is not NET.STA.LOC.CHA (exactly three dots; `*` "
                             "and `?` match within one code, NET.STA..CHA for an empty location)");
    expect_error("hv.*..HHZ", "--station hv.*..HHZ: network has lower-case letters; FDSN codes "
                              "are upper case, write it in capitals");
    expect_error("HV.*..HH[ZE]", "--station HV.*..HH[ZE]: the channel pattern has '['; use A-Z, "
                                 "0-9, `*` and `?` (and -- for an empty location)");
    /* matches, but only channels the rule leaves out: said so */
    expect_error("AV.GSMY..BD?", "--station AV.GSMY..BD? matches 1 configured channel of sel.json, "
                                 "but the selection rule leaves it out (inactive, data_types, "
                                 "max_distance_km or max_stations_per_volcano); name a channel "
                                 "exactly, or give --include-inactive");
    expect_error("*.GS*AR..*", "--station *.GS*AR..* matches 1 configured channel of sel.json, "
                               "but the selection rule leaves it out (inactive, data_types, "
                               "max_distance_km or max_stations_per_volcano); name a channel "
                               "exactly, or give --include-inactive");
}

/* --- the binary ------------------------------------------------------------ */

static char *g_dir;
static char g_path[4200];

static void bin_setup(void)
{
    setup();
    g_dir = rc_test_tmpdir("select");
    cr_assert(g_dir);
    snprintf(g_path, sizeof g_path, "%s/sel.json", g_dir);
    cr_assert_eq(rc_test_write_file(g_path, CONFIG, strlen(CONFIG)), 0);
}

static void bin_teardown(void)
{
    teardown();
    rc_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

/* r2cache CMD --config sel.json --store DIR MORE: exit status, stdout, stderr. */
static int r2(const char *cmd, const char *more, rc_buf *out, rc_buf *err)
{
    char args[12000];
    snprintf(args, sizeof args, "%s --config '%s' --store '%s/store' --log-format text %s", cmd,
             g_path, g_dir, more);
    return rc_test_r2cache(args, out, err);
}

/* The channels of gaps --json over an empty store: every selected one has a gap. */
static void gap_channels(const char *more, char *out, size_t cap)
{
    char args[4096];
    snprintf(args, sizeof args,
             "--from 2025-11-04T00:00:00Z --to 2025-11-04T00:10:00Z --json --log-level error %s",
             more);
    rc_buf o = RC_BUF_INIT, err = RC_BUF_INIT;
    int rc = r2("gaps", args, &o, &err);
    cr_assert(rc == 0 || rc == 1, "gaps %s: exit %d: %s", more, rc, err.data);
    cJSON *j = cJSON_Parse(o.data);
    cr_assert(j, "gaps %s printed no JSON: %s", more, err.data);
    const cJSON *g;
    size_t len = 0;
    out[0] = '\0';
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(j, "gaps"))
    {
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? " " : "",
                                cJSON_GetObjectItemCaseSensitive(g, "channel")->valuestring);
    }
    cJSON_Delete(j);
    rc_buf_free(&o);
    rc_buf_free(&err);
}

TestSuite(select_cli, .init = bin_setup, .fini = bin_teardown, .timeout = 120);

Test(select_cli, patterns_reach_the_commands_and_region_is_location)
{
    char got[4096], other[4096];
    gap_channels("--station 'AV.GS??..BH?'", got, sizeof got);
    cr_assert_str_eq(got, "AV.GSTD..BHZ AV.GSTR..BHN AV.GSMY..BHZ");
    gap_channels("--station 'HV.*..HHZ' --station AV.GSMY..BDF", got, sizeof got);
    cr_assert_str_eq(got, "HV.UWE..HHZ HV.OBL..HHZ HV.MOKD..HHZ AV.GSMY..BDF");
    gap_channels("--station '*.*.*.?HZ' --region alaska", got, sizeof got);
    cr_assert_str_eq(got, "AV.GSTD..BHZ AV.GSMY..BHZ AV.GSCK.01.BHZ AV.GS1..HHZ");
    gap_channels("--station '*.*.*.?HZ' --location alaska", other, sizeof other);
    cr_assert_str_eq(got, other, "--location differs from --region");
    gap_channels("--region hawaii", got, sizeof got);
    cr_assert_str_eq(got, "HV.UWE..HHZ HV.UWE..HHE HV.OBL..HHZ HV.NPT.01.HHZ HV.MOKD..HHZ "
                          "HV.SWRD..EHZ");
    gap_channels("--location hawaii", other, sizeof other);
    cr_assert_str_eq(got, other, "--location differs from --region");

    /* a region that is not configured is named, under its new word */
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(r2("gaps", "--from 2025-11-04 --to 2025-11-05 --region iceland", NULL, &err), 2);
    cr_assert(strstr(err.data, "region \"iceland\" is not in the configuration"), "%s", err.data);
    rc_buf_free(&err);
}

Test(select_cli, a_pattern_matching_nothing_is_exit_2_from_every_command)
{
    static const char *const cmds[][2] = {
        {"run", "--now 2025-11-04T01:00:00Z"},
        {"fill", "--from 2025-11-04 --to 2025-11-05"},
        {"gaps", "--from 2025-11-04 --to 2025-11-05"},
        {"migrate", "--to-layout viewer --from 2025-11-04 --to 2025-11-05"},
        {"inventory", ""},
        {"verify", ""},
        {"reindex", ""}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char more[512];
        snprintf(more, sizeof more, "%s --station 'XX.*..HHZ'", cmds[i][1]);
        rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
        cr_assert_eq(r2(cmds[i][0], more, &out, &err), 2, "%s: %s", cmds[i][0], err.data);
        char want[512];
        snprintf(want, sizeof want,
                 "--station XX.*..HHZ matches no channel of the configuration %s (`*` and `?` "
                 "match within one code; NET.STA..CHA for an empty location)",
                 g_path);
        cr_assert(strstr(err.data, want), "%s: %s", cmds[i][0], err.data);
        rc_buf_free(&out);
        rc_buf_free(&err);
    }
    /* inventory --scope station reports one channel: a pattern there is refused */
    rc_buf err = RC_BUF_INIT;
    cr_assert_eq(r2("inventory", "--scope station --station 'HV.*..HHZ'", NULL, &err), 2);
    cr_assert(strstr(err.data, "--scope station takes one channel, not the pattern HV.*..HHZ"),
              "%s", err.data);
    rc_buf_free(&err);
}
