/*
 * test_http_client.c: the outbound HTTP client against the real test
 * upstream: requests and bodies, timeouts, the response cap, connection
 * errors, and refusal of forbidden addresses (checked on resolved addresses;
 * the integrated check uses 0.0.0.0, which never leaves the machine).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "cloudbase/http.h"
#include "servers.h"

static apr_pool_t *pool;
static int port;
static pid_t upstream;
static cb_http_client *client;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    port = srv_free_port();
    upstream = srv_start_upstream(port, NULL);
    ck_assert_msg(srv_wait_port(port, 10000), "upstream did not start");
    client = cb_http_client_create(pool, 4);
}

static void teardown(void)
{
    srv_stop(upstream);
    apr_pool_destroy(pool);
}

static const char *url(const char *path)
{
    return apr_psprintf(pool, "http://127.0.0.1:%d%s", port, path);
}

START_TEST(get_and_post)
{
    cb_http_request req = {0};
    cb_http_response resp;
    const char *err;
    apr_table_t *headers = apr_table_make(pool, 2);
    apr_table_set(headers, "X-Test", "yes");
    req.method = "POST";
    req.url = url("/echo?a=1");
    req.headers = headers;
    req.body = "{\"a\":1}";
    req.body_len = 7;
    ck_assert_int_eq(cb_http_fetch(client, pool, &req, &resp, &err), APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_ptr_nonnull(strstr(resp.body, "\"bodyLength\": 7"));
    ck_assert_ptr_nonnull(strstr(resp.body, "\"x-test\": \"yes\""));
    ck_assert_str_eq(apr_table_get(resp.headers, "content-type"), "application/json");
    ck_assert_int_eq(resp.new_connections, 1);
    /* The next call reuses the pooled connection. */
    req.method = NULL;
    req.body = NULL;
    req.url = url("/status?code=404");
    ck_assert_int_eq(cb_http_fetch(client, pool, &req, &resp, &err), APR_SUCCESS);
    ck_assert_int_eq(resp.status, 404);
    ck_assert_int_eq(resp.new_connections, 0);
}
END_TEST

START_TEST(timeouts_caps_and_errors)
{
    cb_http_request req = {0};
    cb_http_response resp;
    const char *err;
    req.url = url("/slow?ms=2000");
    req.timeout_ms = 200;
    ck_assert_int_eq(cb_http_fetch(client, pool, &req, &resp, &err), APR_TIMEUP);
    ck_assert_str_eq(err, "timed out");
    req.url = url("/big?bytes=100000");
    req.timeout_ms = 0;
    req.max_response_bytes = 1000;
    ck_assert_int_eq(cb_http_fetch(client, pool, &req, &resp, &err), APR_ENOSPC);
    req.max_response_bytes = 0;
    req.url = apr_psprintf(pool, "http://127.0.0.1:%d/", srv_free_port());
    ck_assert_int_ne(cb_http_fetch(client, pool, &req, &resp, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(err);
    req.url = "file:///etc/passwd";
    ck_assert_int_ne(cb_http_fetch(client, pool, &req, &resp, &err), APR_SUCCESS);
}
END_TEST

START_TEST(forbidden_addresses)
{
    cb_http_request req = {0};
    cb_http_response resp;
    const char *err;
    struct sockaddr_in v4 = {0};
    struct sockaddr_in6 v6 = {0};
    static const char *const refused4[] = {"169.254.169.254", "169.254.0.1", "0.0.0.0",
                                           "100.100.100.200", NULL};
    static const char *const allowed4[] = {"127.0.0.1", "10.1.2.3", "8.8.8.8", NULL};
    static const char *const refused6[] = {"fe80::1", "::", "fd00:ec2::254",
                                           "::ffff:169.254.169.254", NULL};
    v4.sin_family = AF_INET;
    v6.sin6_family = AF_INET6;
    for (int i = 0; refused4[i]; i++) {
        inet_pton(AF_INET, refused4[i], &v4.sin_addr);
        ck_assert_msg(cb_address_forbidden((struct sockaddr *)&v4), "%s", refused4[i]);
    }
    for (int i = 0; allowed4[i]; i++) {
        inet_pton(AF_INET, allowed4[i], &v4.sin_addr);
        ck_assert_msg(!cb_address_forbidden((struct sockaddr *)&v4), "%s", allowed4[i]);
    }
    for (int i = 0; refused6[i]; i++) {
        inet_pton(AF_INET6, refused6[i], &v6.sin6_addr);
        ck_assert_msg(cb_address_forbidden((struct sockaddr *)&v6), "%s", refused6[i]);
    }
    inet_pton(AF_INET6, "::1", &v6.sin6_addr);
    ck_assert(!cb_address_forbidden((struct sockaddr *)&v6));
    /* Integrated: the guard refuses before connecting. */
    req.url = apr_psprintf(pool, "http://0.0.0.0:%d/echo", port);
    req.untrusted_url = 1;
    ck_assert_int_eq(cb_http_fetch(client, pool, &req, &resp, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "link-local or metadata"));
    /* The same URL without the guard reaches the upstream (proving the
     * refusal above came from the guard). */
    req.untrusted_url = 0;
    ck_assert_int_eq(cb_http_fetch(client, pool, &req, &resp, &err), APR_SUCCESS);
}
END_TEST

Suite *http_client_suite(void)
{
    Suite *s = suite_create("http_client");
    TCase *tc = tcase_create("fetch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, get_and_post);
    tcase_add_test(tc, timeouts_caps_and_errors);
    tcase_add_test(tc, forbidden_addresses);
    suite_add_tcase(s, tc);
    return s;
}
