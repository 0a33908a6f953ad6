/*
 * test_config.c: settings of the configuration file that reach the store.
 * (Station selection, codes and the viewer's file have their own tests:
 * test_security.c, test_stations_config.c.)
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "r2cache/config.h"

static const char *const VOLC =
    "\"volcanoes\": [{\"name\": \"v\", \"location\": \"l\", \"stations\": "
    "[{\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"\", \"channel\": \"HHZ\"}]}]";

static int parse(const char *s3, rc_config *c, rc_err *e)
{
    char json[2048];
    snprintf(json, sizeof json, "{\"s3\": %s, %s}", s3, VOLC);
    return rc_config_parse(json, strlen(json), "t.json", c, e);
}

Test(config, s3_block_is_read_and_checked_field_by_field)
{
    rc_config c;
    rc_err e;
    cr_assert_eq(
        parse("{\"region\": \"auto\", \"addressing\": \"path\", \"stall_timeout_s\": 7}", &c, &e),
        RC_OK, "%s", e.msg);
    cr_assert_str_eq(c.s3_region, "auto");
    cr_assert_str_eq(c.s3_addressing, "path");
    cr_assert_float_eq(c.s3_stall_timeout_s, 7.0, 1e-9);
    rc_config_free(&c);

    cr_assert_eq(parse("{}", &c, &e), RC_OK, "%s", e.msg);
    cr_assert_float_eq(c.s3_stall_timeout_s, 0.0, 1e-9, "unset: the store's default applies");
    rc_config_free(&c);

    static const struct {
        const char *s3, *msg;
    } bad[] = {
        {"{\"stall_timeout_s\": 0}", "s3.stall_timeout_s: 0 is out of range [1, 3600]"},
        {"{\"stall_timeout_s\": \"30\"}", "s3.stall_timeout_s: must be a number"},
        {"{\"addressing\": \"dns\"}", "s3.addressing: must be \"auto\", \"path\" or \"virtual\""},
        {"{\"stall_timeout\": 30}", "stall_timeout"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(parse(bad[i].s3, &c, &e), RC_EINVAL, "%s was accepted", bad[i].s3);
        cr_assert(strstr(e.msg, bad[i].msg), "%s: message: %s", bad[i].s3, e.msg);
    }
}

Test(config, a_name_given_twice_is_refused_with_its_path)
{
    const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"store\": \"/a\", \"store\": \"/b\", %s}",
         "t.json: (top level): \"store\" is given twice; keep one (the other would be ignored)"},
        {"{\"s3\": {\"region\": \"a\", \"region\": \"b\"}, %s}",
         "t.json: s3: \"region\" is given twice"},
        {"{\"volcanoes\": [{\"name\": \"v\", \"location\": \"l\", \"stations\": "
         "[{\"network\": \"XX\", \"station\": \"AAA\", \"location\": \"\", \"channel\": "
         "\"HHZ\", \"channel\": \"BHZ\"}]}]%s}",
         "t.json: volcanoes[0].stations[0]: \"channel\" is given twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[2048];
        snprintf(json, sizeof json, cases[i].json, i == 2 ? "" : VOLC);
        rc_config c;
        rc_err e;
        cr_assert_eq(rc_config_parse(json, strlen(json), "t.json", &c, &e), RC_EINVAL, "%s", json);
        cr_assert(strstr(e.msg, cases[i].msg), "%s\nwant: %s", e.msg, cases[i].msg);
    }
    /* the same name in two different objects is fine */
    char ok[2048];
    snprintf(ok, sizeof ok,
             "{\"s3\": {\"region\": \"a\"}, \"serve\": {\"listen\": \"127.0.0.1:1\"}, %s}", VOLC);
    rc_config c;
    rc_err e;
    cr_assert_eq(rc_config_parse(ok, strlen(ok), "t.json", &c, &e), RC_OK, "%s", e.msg);
    rc_config_free(&c);
}

Test(config, a_file_that_never_ends_is_refused_by_size)
{
    rc_config c;
    rc_err e;
    cr_assert_eq(rc_config_load("/dev/zero", &c, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "/dev/zero: larger than 64 MiB; that is not an r2cache configuration "
                            "(or stations_config.json): check --config");
}

Test(config, invalid_json_names_line_column_and_cause)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"store\": \"/x\",\n \"volcanoes\": [],\n}",
         "t.json: not valid JSON at line 3, column 1: a trailing comma before '}' (JSON allows "
         "none)"},
        {"{\"volcanoes\": [1, 2,]}",
         "t.json: not valid JSON at line 1, column 21: a trailing comma before ']' (JSON allows "
         "none)"},
        {"{\"store\": }", "t.json: not valid JSON at line 1, column 11: a missing value after ':'"},
        {"{\"store\": \"/x\"\n\n",
         "t.json: not valid JSON at line 2, column 1: the file ends inside an object, array or "
         "string"},
        {"{\"a\": 1 \"b\": 2}",
         "t.json: not valid JSON at line 1, column 9: an unexpected '\"' (a missing comma, quote "
         "or bracket?)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rc_config c;
        rc_err e;
        cr_assert_eq(rc_config_parse(cases[i].json, strlen(cases[i].json), "t.json", &c, &e),
                     RC_EINVAL, "%s", cases[i].json);
        cr_assert_str_eq(e.msg, cases[i].msg);
    }
}
