/*
 * test_url.c: what an operator sees of a URL: credentials never, the rest
 * as given.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "r2cache/url.h"

static const char *red(const char *u)
{
    static char buf[512];
    return rc_url_redact(u, buf, sizeof buf);
}

Test(url, userinfo_is_hidden_whole)
{
    cr_assert_str_eq(red("http://user:password@host:8080/fdsnws"), "http://***@host:8080/fdsnws");
    cr_assert_str_eq(red("https://tok3n@service.example/x"), "https://***@service.example/x");
    cr_assert_str_eq(red("http://a:b@c@host/"), "http://***@host/");
}

Test(url, urls_without_secrets_are_unchanged)
{
    cr_assert_str_eq(red("https://service.iris.edu"), "https://service.iris.edu");
    cr_assert_str_eq(red("s3://bucket/prefix"), "s3://bucket/prefix");
    cr_assert_str_eq(red("sds:///data/archive"), "sds:///data/archive");
    cr_assert_str_eq(red("./r2cache-data"), "./r2cache-data");
    cr_assert_str_eq(red("http://host/path@x"), "http://host/path@x"); /* '@' in the path */
}

Test(url, secret_query_values_are_hidden)
{
    cr_assert_str_eq(red("http://h/q?net=HV&token=abc&sta=UWE"),
                     "http://h/q?net=HV&token=***&sta=UWE");
    cr_assert_str_eq(red("http://h/q?X-Amz-Signature=ff00&X-Amz-Date=1"),
                     "http://h/q?X-Amz-Signature=***&X-Amz-Date=1");
    cr_assert_str_eq(red("http://u:p@h/q?access_token=s#frag"),
                     "http://***@h/q?access_token=***#frag");
    cr_assert_str_eq(red("http://h/q?keyword=x"), "http://h/q?keyword=x");
}

Test(url, output_is_truncated_and_terminated)
{
    char small[12];
    rc_url_redact("http://user:pw@host/long/path", small, sizeof small);
    cr_assert_eq(strlen(small), sizeof small - 1);
    cr_assert_str_eq(small, "http://***@");
    cr_assert_str_eq(rc_url_redact(NULL, small, sizeof small), "");
}
