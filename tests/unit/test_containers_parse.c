/*
 * test_containers_parse.c: the containers plugin's `agent_type` lines
 * (plugins/containers/agent_type.c): the engine driver (the default, and
 * `driver=engine`) and the static driver (`driver=static url=...`): what
 * each takes, the URL kept without trailing slashes, and the refusals
 * (a missing url, the other driver's settings, an unknown driver, URLs
 * that are not plain http(s)); and the static URL's check against the
 * outbound address guard (static_driver.c): loopback only within
 * allow_private, link-local and metadata addresses never.
 */
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "cloudbase/http.h"
#include "containers.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

START_TEST(engine_driver_is_the_default)
{
    ct_agent_type t;
    ck_assert_ptr_null(ct_agent_type_parse(pool, "w image=img:1 command=/bin/sh,-c memory=64m "
                                           "cpus=0.5 network=host", &t));
    ck_assert_int_eq(t.driver, CT_DRIVER_ENGINE);
    ck_assert_str_eq(t.name, "w");
    ck_assert_str_eq(t.image, "img:1");
    ck_assert_int_eq(t.command->nelts, 2);
    ck_assert_int_eq(t.memory_bytes, 64 * 1024 * 1024);
    ck_assert_int_eq(t.nano_cpus, 500000000);
    ck_assert_int_eq(t.host_network, 1);
    ck_assert_ptr_null(t.url);
    ck_assert_ptr_null(ct_agent_type_parse(pool, "w driver=engine image=img command=/a", &t));
    ck_assert_int_eq(t.driver, CT_DRIVER_ENGINE);
    ck_assert_str_eq(t.image, "img");
}
END_TEST

START_TEST(static_driver_takes_a_url)
{
    ct_agent_type t;
    ck_assert_ptr_null(ct_agent_type_parse(pool, "r driver=static url=http://127.0.0.1:8080",
                                           &t));
    ck_assert_int_eq(t.driver, CT_DRIVER_STATIC);
    ck_assert_str_eq(t.name, "r");
    ck_assert_str_eq(t.url, "http://127.0.0.1:8080");
    ck_assert_ptr_null(t.image);
    ck_assert_ptr_null(t.command);
    ck_assert_ptr_null(ct_agent_type_parse(pool, "r driver=static url=https://agents.example/a/b//",
                                           &t));
    ck_assert_str_eq(t.url, "https://agents.example/a/b");
}
END_TEST

static void refused(const char *line, const char *says)
{
    ct_agent_type t;
    const char *err = ct_agent_type_parse(pool, line, &t);
    ck_assert_msg(err != NULL, "accepted: %s", line);
    ck_assert_msg(strstr(err, says) != NULL, "%s: '%s' does not say '%s'", line, err, says);
}

START_TEST(driver_settings_do_not_mix)
{
    refused("r driver=static", "driver=static needs url=");
    refused("r driver=static url=", "not a setting=value pair");
    refused("r driver=static url=http://h image=i", "image= belongs to driver=engine");
    refused("r driver=static url=http://h command=/a", "command= belongs to driver=engine");
    refused("r driver=static url=http://h memory=64m", "memory= belongs to driver=engine");
    refused("r driver=static url=http://h cpus=1", "cpus= belongs to driver=engine");
    refused("r driver=static url=http://h network=none", "network= belongs to driver=engine");
    refused("w image=i command=/a url=http://h", "url= belongs to driver=static");
    refused("w driver=engine image=i command=/a url=http://h", "url= belongs to driver=static");
    refused("w driver=docker image=i command=/a", "driver=engine|static");
    refused("w driver=Static image=i command=/a", "driver=engine|static");
    refused("w driver=static driver=engine url=http://h", "");
    refused("w driver=engine", "image=IMAGE is required");
    refused("w driver=static url=http://h colour=blue", "unknown setting 'colour'");
}
END_TEST

START_TEST(static_urls_are_plain_http)
{
    refused("r driver=static url=ftp://h/", "not an absolute http(s) URL");
    refused("r driver=static url=/relative", "not an absolute http(s) URL");
    refused("r driver=static url=http://user:pw@h/", "not an absolute http(s) URL");
    refused("r driver=static url=http://h/a?b=c", "query");
    refused("r driver=static url=http://h/a#f", "fragment");
    refused("r driver=static url=http://h/\x01", "control");
}
END_TEST

static const char *check_url(const char *url, const char *ranges)
{
    ct_agent_type t = {.name = "r", .driver = CT_DRIVER_STATIC, .url = url};
    cb_cidr_list *allowed = NULL;
    if (ranges)
        ck_assert_ptr_null(cb_cidr_list_parse(pool, ranges, &allowed));
    return ct_static_check_url(pool, &t, allowed);
}

START_TEST(static_url_through_the_guard)
{
    const char *err;
    ck_assert_ptr_null(check_url("http://127.0.0.1:9/agent", "127.0.0.0/8"));
    ck_assert_ptr_null(check_url("https://agents.example", NULL));
    ck_assert_ptr_null(check_url("http://10.1.2.3", "10.0.0.0/8"));
    err = check_url("http://127.0.0.1:9", NULL);
    ck_assert_msg(err && strstr(err, "allow_private"), "loopback without allow_private: %s",
                  err ? err : "accepted");
    ck_assert_ptr_nonnull(check_url("http://10.1.2.3", "127.0.0.0/8"));
    ck_assert_ptr_nonnull(check_url("http://169.254.169.254/", "169.254.0.0/16"));
    ck_assert_ptr_nonnull(check_url("http://metadata.google.internal/", NULL));
}
END_TEST

Suite *containers_parse_suite(void)
{
    Suite *s = suite_create("containers_parse");
    TCase *tc = tcase_create("agent_type");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, engine_driver_is_the_default);
    tcase_add_test(tc, static_driver_takes_a_url);
    tcase_add_test(tc, driver_settings_do_not_mix);
    tcase_add_test(tc, static_urls_are_plain_http);
    tcase_add_test(tc, static_url_through_the_guard);
    suite_add_tcase(s, tc);
    return s;
}
