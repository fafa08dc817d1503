/*
 * test_url_guard.c: the outbound URL guard. Pure checks: metadata,
 * link-local, unspecified and private addresses, IPv4 inside IPv6, the CIDR
 * list parser (strict) and matching, metadata host names, and IP spellings
 * (decimal, octal, hex) resolved numerically. Integrated with the HTTP
 * client against the test upstream on 127.0.0.1: refused without an allowed
 * range, accepted only when 127.0.0.0/8 is listed, refused again with a
 * list that does not cover it, also when a trusted call left a pooled
 * connection to the same address. Refused URLs never open a socket.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "cloudbase/http.h"
#include "servers.h"

static apr_pool_t *pool;
static int port;
static pid_t upstream;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    port = 0;
    upstream = 0;
}

static void teardown(void)
{
    if (upstream)
        srv_stop(upstream);
    apr_pool_destroy(pool);
}

/* A numeric host resolved the way a libc resolver reads it (inet_aton:
 * decimal, octal and hex parts), never touching DNS. */
static struct sockaddr_storage *numeric(const char *host)
{
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage *out = apr_pcalloc(pool, sizeof(*out));
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_socktype = SOCK_STREAM;
    ck_assert_msg(getaddrinfo(host, "80", &hints, &res) == 0, "%s does not parse", host);
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return out;
}

static const char *guard(const char *host, const char *allowed)
{
    cb_cidr_list *list = NULL;
    if (allowed)
        ck_assert_ptr_null(cb_cidr_list_parse(pool, allowed, &list));
    return cb_url_guard_address((struct sockaddr *)numeric(host), list);
}

START_TEST(refuses_metadata_and_link_local_always)
{
    static const char *const refused[] = {
        "169.254.169.254", "169.254.0.1", "100.100.100.200", "0.0.0.0", "::", "fe80::1",
        "febf:ffff::1", "fd00:ec2::254", "::ffff:169.254.169.254", "::169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        /* the same metadata address spelt as one decimal, octal, hex */
        "2852039166", "0251.0376.0251.0376", "0xa9.0xfe.0xa9.0xfe", "0xA9FEA9FE",
        NULL};
    for (int i = 0; refused[i]; i++) {
        const char *why = guard(refused[i], "0.0.0.0/0 ::/0");
        ck_assert_msg(why && strstr(why, "link-local or metadata"), "%s: %s", refused[i],
                      why ? why : "allowed");
    }
}
END_TEST

START_TEST(private_ranges_only_when_listed)
{
    static const char *const private_hosts[] = {
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.10", "100.64.0.1",
        "::1", "fd12::1", "::ffff:10.0.0.1", "012.1.2.3", "167772161" /* 10.0.0.1 */, NULL};
    for (int i = 0; private_hosts[i]; i++) {
        const char *why = guard(private_hosts[i], NULL);
        ck_assert_msg(why && strstr(why, "private"), "%s: %s", private_hosts[i],
                      why ? why : "allowed");
    }
    ck_assert_ptr_null(guard("10.1.2.3", "10.0.0.0/8"));
    ck_assert_ptr_null(guard("::ffff:10.1.2.3", "10.0.0.0/8"));
    ck_assert_ptr_null(guard("192.168.1.10", "192.168.1.10"));
    ck_assert_ptr_nonnull(guard("192.168.1.11", "192.168.1.10"));
    ck_assert_ptr_nonnull(guard("10.1.2.3", "192.168.0.0/16, fd00::/8"));
    ck_assert_ptr_null(guard("fd12::1", "192.168.0.0/16, fd00::/8"));
    ck_assert_ptr_null(guard("172.32.0.1", NULL));
    ck_assert_ptr_null(guard("8.8.8.8", NULL));
    ck_assert_ptr_null(guard("::ffff:8.8.8.8", NULL));
    ck_assert_ptr_null(guard("2001:db8::1", NULL));
}
END_TEST

START_TEST(cidr_list_parsing_is_strict)
{
    static const char *const bad[] = {
        "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/", "10.0.0.1/8", "010.0.0.0/8", "10.0.0/8",
        "10.0.0.0/-1", "fd00::/129", "fd00::1/8", "::ffff:10.0.0.0/104", "host.example/8",
        "10.0.0.0/8x", "167772160/8", NULL};
    cb_cidr_list *list;
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(cb_cidr_list_parse(pool, bad[i], &list) != NULL, "accepted %s", bad[i]);
    ck_assert_ptr_null(cb_cidr_list_parse(pool, " 10.0.0.0/8,192.168.0.0/16\tfd00::/8 ,", &list));
    ck_assert_int_eq(cb_cidr_list_count(list), 3);
    ck_assert_ptr_null(cb_cidr_list_parse(pool, "", &list));
    ck_assert_int_eq(cb_cidr_list_count(list), 0);
}
END_TEST

START_TEST(metadata_host_names_refused)
{
    ck_assert_ptr_nonnull(cb_url_guard_host("metadata.google.internal"));
    ck_assert_ptr_nonnull(cb_url_guard_host("METADATA.google.internal."));
    ck_assert_ptr_nonnull(cb_url_guard_host("metadata"));
    ck_assert_ptr_nonnull(cb_url_guard_host("instance-data.ec2.internal"));
    ck_assert_ptr_null(cb_url_guard_host("metadata.example.com"));
    ck_assert_ptr_null(cb_url_guard_host("127.0.0.1"));
}
END_TEST

static apr_status_t fetch(cb_http_client *client, const char *url, int untrusted,
                          const char *allowed, const char **err)
{
    cb_http_request req;
    cb_http_response resp;
    cb_cidr_list *list = NULL;
    memset(&req, 0, sizeof(req));
    if (allowed)
        ck_assert_ptr_null(cb_cidr_list_parse(pool, allowed, &list));
    req.url = url;
    req.untrusted_url = untrusted;
    req.allowed_private = list;
    req.timeout_ms = 5000;
    return cb_http_fetch(client, pool, &req, &resp, err);
}

START_TEST(client_applies_the_guard)
{
    cb_http_client *client = cb_http_client_create(pool, 2);
    const char *url, *err;
    port = srv_free_port();
    upstream = srv_start_upstream(port, NULL);
    ck_assert_msg(srv_wait_port(port, 10000), "upstream did not start");
    url = apr_psprintf(pool, "http://127.0.0.1:%d/echo", port);
    /* Trusted first, leaving a pooled connection to 127.0.0.1. */
    ck_assert_int_eq(fetch(client, url, 0, NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(fetch(client, url, 1, NULL, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "private"));
    ck_assert_int_eq(fetch(client, url, 1, "10.0.0.0/8", &err), APR_EACCES);
    ck_assert_int_eq(fetch(client, url, 1, "127.0.0.0/8", &err), APR_SUCCESS);
    ck_assert_int_eq(fetch(client, apr_psprintf(pool, "http://[::ffff:127.0.0.1]:%d/echo", port),
                           1, NULL, &err), APR_EACCES);
    /* Metadata by name and by spelling: refused before any socket opens. */
    ck_assert_int_eq(fetch(client, "http://metadata.google.internal/computeMetadata/v1/", 1,
                           "0.0.0.0/0", &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "metadata"));
    ck_assert_int_eq(fetch(client, "http://2852039166/latest/meta-data/", 1, "0.0.0.0/0", &err),
                     APR_EACCES);
    ck_assert_int_eq(fetch(client, "http://0251.0376.0251.0376/", 1, NULL, &err), APR_EACCES);
    ck_assert_int_eq(fetch(client, "http://[fe80::1]/", 1, NULL, &err), APR_EACCES);
    ck_assert_int_eq(fetch(client, "http://[::ffff:169.254.169.254]/", 1, NULL, &err),
                     APR_EACCES);
    /* The trusted path still reaches the upstream after all that. */
    ck_assert_int_eq(fetch(client, url, 0, NULL, &err), APR_SUCCESS);
}
END_TEST

Suite *url_guard_suite(void)
{
    Suite *s = suite_create("url_guard");
    TCase *tc = tcase_create("guard");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, refuses_metadata_and_link_local_always);
    tcase_add_test(tc, private_ranges_only_when_listed);
    tcase_add_test(tc, cidr_list_parsing_is_strict);
    tcase_add_test(tc, metadata_host_names_refused);
    tcase_add_test(tc, client_applies_the_guard);
    suite_add_tcase(s, tc);
    return s;
}
