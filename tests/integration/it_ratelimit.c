/*
 * it_ratelimit.c: CloudBaseRateLimit in real apache2 instances with a real
 * redis-server: the RateLimit-* headers, 429 with Retry-After in the
 * route's dialect, refused requests not counted, keys with a TTL, scopes
 * (IP, user), exactness under concurrency across two gateways sharing one
 * Redis, and the per-node fallback while Redis is down. The Redis-backed
 * tests run again on a three-master Redis Cluster ("ratelimit_cluster").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_cluster.h"
#include "../common/servers.h"

#define EXACT_LIMIT 37

static const char *rate_site(const char *extra)
{
    static char site[8192];
    snprintf(site, sizeof(site),
             "%s"
             "CloudBaseNodeCount 2\n"
             "CloudBaseRateLimit /v1/test/items 3/1h by=ip\n"
             "CloudBaseRateLimit /v1/test/private 2/1h by=user\n"
             "CloudBaseRateLimit /v1/test/proxy %d/1h by=env\n"
             "CloudBaseRateLimit /v1/test/echo 4/1h by=ip redis_down=open\n"
             "CloudBaseRateLimit /v1/test/stream 4/1h by=ip redis_down=closed\n"
             "CloudBaseRateLimit /v1/test/tose-fail 1/1h by=ip\n"
             "%s",
             it_default_site(), EXACT_LIMIT, extra ? extra : "");
    return site;
}

static void start(void)
{
    it_setup();
    if (!it_httpd_start(it_write_config("httpd.conf", "event", rate_site(NULL)))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* One redis-cli command against the test's Redis; its first output line. */
static void redis_cli(const char *args, char *out, size_t size)
{
    char cmd[512];
    FILE *p;
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d %s 2>&1", it_redis_port_for_env("demo"), args);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    out[0] = '\0';
    if (!fgets(out, (int)size, p))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

START_TEST(headers_429_and_refusals_not_counted)
{
    it_response r;
    char line[512], key[256];
    for (int i = 0; i < 3; i++) {
        char remaining[8];
        it_request("GET", "/v1/test/items/1", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(it_header(&r, "RateLimit-Limit"), "3");
        snprintf(remaining, sizeof(remaining), "%d", 2 - i);
        ck_assert_str_eq(it_header(&r, "RateLimit-Remaining"), remaining);
        ck_assert_int_gt(atoi(it_header(&r, "RateLimit-Reset")), 3000);
        it_free(&r);
    }
    for (int i = 0; i < 5; i++) {
        it_request("GET", "/v1/test/items/1", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 429);
        ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"RATE_LIMITED\""));
        ck_assert_ptr_nonnull(strstr(r.body, "\"requestId\""));
        ck_assert_str_eq(it_header(&r, "RateLimit-Remaining"), "0");
        ck_assert_int_gt(atoi(it_header(&r, "Retry-After")), 0);
        it_free(&r);
    }
    /* Another client address has its own counter. */
    it_request_from("127.0.0.2", "GET", "/v1/test/items/1", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    /* Refused requests did not count, and the key expires. */
    redis_cli("--scan --pattern 'cb:{demo}:rl:*:ip=127.0.0.1'", key, sizeof(key));
    ck_assert_msg(key[0], "no counter key in Redis");
    snprintf(line, sizeof(line), "HGET '%s' t", key);
    redis_cli(line, line, sizeof(line));
    ck_assert_str_eq(line, "3");
    snprintf(line, sizeof(line), "PTTL '%s'", key);
    redis_cli(line, line, sizeof(line));
    ck_assert_int_gt(atol(line), 0);
    /* Routes without a rule carry no headers. */
    it_request("GET", "/health", NULL, NULL, &r);
    ck_assert_ptr_null(it_header(&r, "RateLimit-Limit"));
    it_free(&r);
}
END_TEST

/* A 429 speaks the dialect of the route it refuses. */
START_TEST(refusal_in_the_route_dialect)
{
    it_response r;
    it_request("GET", "/v1/test/tose-fail", NULL, NULL, &r);
    ck_assert_int_ne(r.status, 429);
    it_free(&r);
    it_request("GET", "/v1/test/tose-fail", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 429);
    ck_assert_ptr_nonnull(strstr(r.body, "\"success\":false"));
    ck_assert_ptr_nonnull(it_header(&r, "Retry-After"));
    it_free(&r);
}
END_TEST

START_TEST(user_scope)
{
    static const char *const dave[] = {"Authorization: Bearer test-user-dave", NULL};
    static const char *const erin[] = {"Authorization: Bearer test-user-erin", NULL};
    it_response r;
    for (int i = 0; i < 2; i++) {
        it_request("GET", "/v1/test/private", dave, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        it_free(&r);
    }
    it_request("GET", "/v1/test/private", dave, NULL, &r);
    ck_assert_int_eq(r.status, 429);
    it_free(&r);
    it_request("GET", "/v1/test/private", erin, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
}
END_TEST

/* Two gateways, one Redis, many concurrent clients: exactly the limit. */
START_TEST(exact_under_concurrency_across_two_gateways)
{
    enum { TOTAL = 200 };
    long statuses[TOTAL];
    int ports[2];
    int accepted = 0, refused = 0;
    ports[0] = it.http_port;
    ports[1] = srv_free_port();
    ck_assert_msg(it_second_httpd_start(rate_site(NULL), ports[1]), "second httpd did not start");
    it_parallel(ports, 2, "GET", "/v1/test/proxy/echo", NULL, NULL, TOTAL, 64, statuses);
    for (int i = 0; i < TOTAL; i++) {
        accepted += statuses[i] == 200;
        refused += statuses[i] == 429;
    }
    ck_assert_msg(accepted == EXACT_LIMIT && refused == TOTAL - EXACT_LIMIT,
                  "%d accepted, %d refused, limit %d", accepted, refused, EXACT_LIMIT);
}
END_TEST

/* Redis down: per-node counters with the limit divided by the node count
 * (3 / 2 -> 1 per window); open and closed rules as configured. */
START_TEST(fallback_while_redis_is_down)
{
    it_response r;
    int accepted = 0;
    it_redis_kill();
    for (int i = 0; i < 4; i++) {
        it_request_from("127.0.0.3", "GET", "/v1/test/items/7", NULL, NULL, &r);
        accepted += r.status == 200;
        ck_assert_msg(r.status == 200 || r.status == 429, "status %ld", r.status);
        ck_assert_msg(r.total_ms < 1000, "took %.0f ms", r.total_ms);
        it_free(&r);
    }
    ck_assert_int_eq(accepted, 1);
    for (int i = 0; i < 6; i++) {
        it_request("GET", "/v1/test/echo", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200); /* redis_down=open */
        it_free(&r);
    }
    it_request("GET", "/v1/test/stream", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 503); /* redis_down=closed */
    ck_assert_ptr_nonnull(strstr(r.body, "SERVICE_UNAVAILABLE"));
    it_free(&r);
    /* Back to the shared counters once Redis returns. */
    it_redis_restart();
    /* Poll until the answering process uses Redis again: the per-node limit
     * is 1, the shared one 3; 127.0.0.4 has no count in the new Redis. */
    for (int i = 0; i < 200; i++) {
        it_request_from("127.0.0.4", "GET", "/v1/test/items/7", NULL, NULL, &r);
        if (it_header(&r, "RateLimit-Limit") && strcmp(it_header(&r, "RateLimit-Limit"), "3") == 0)
            break;
        it_free(&r);
        usleep(50 * 1000);
    }
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(it_header(&r, "RateLimit-Limit"), "3");
    it_free(&r);
}
END_TEST

START_TEST(bad_rules_fail_configtest)
{
    static const char *const bad[] = {
        "CloudBaseRateLimit /v1 100",         "CloudBaseRateLimit /v1 0/1m",
        "CloudBaseRateLimit /v1 10/soon",     "CloudBaseRateLimit v1 10/1m",
        "CloudBaseRateLimit /v1 10/1m by=me", "CloudBaseRateLimit /v1 10/1m redis_down=maybe",
        "CloudBaseNodeCount 0",               NULL};
    char site[4096], output[4096];
    for (int i = 0; bad[i]; i++) {
        snprintf(site, sizeof(site), "%s%s\n", it_default_site(), bad[i]);
        ck_assert_int_ne(it_configtest(it_write_config("bad.conf", "event", site), output,
                                       sizeof(output)), 0);
        ck_assert_msg(strstr(output, "bad.conf"), "no file:line for '%s': %s", bad[i], output);
    }
}
END_TEST

/* More rules than one request may carry fail configtest instead of being
 * skipped at run time; as many as it may carry are accepted. */
START_TEST(rules_past_the_cap_fail_configtest)
{
    char site[8192], output[4096];
    size_t used;
    for (int total = 16; total <= 17; total++) {
        used = (size_t)snprintf(site, sizeof(site), "%s", it_default_site());
        for (int i = 0; i < total; i++)
            used += (size_t)snprintf(site + used, sizeof(site) - used,
                                     "CloudBaseRateLimit /v1/test %d/1m\n", 100 + i);
        if (total == 16) {
            ck_assert_msg(it_configtest(it_write_config("cap.conf", "event", site), output,
                                        sizeof(output)) == 0, "16 rules refused: %s", output);
        }
        else {
            ck_assert_int_ne(it_configtest(it_write_config("cap.conf", "event", site), output,
                                           sizeof(output)), 0);
            ck_assert_msg(strstr(output, "17 rules can apply to one request, at most 16"), "%s",
                          output);
        }
    }
}
END_TEST

/* The tests that run on one Redis and again on a cluster. */
static void add_redis_backed_tests(TCase *tc)
{
    tcase_add_test(tc, headers_429_and_refusals_not_counted);
    tcase_add_test(tc, user_scope);
    tcase_add_test(tc, refusal_in_the_route_dialect);
    tcase_add_test(tc, exact_under_concurrency_across_two_gateways);
}

Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("ratelimit");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 60);
    add_redis_backed_tests(tc);
    tcase_add_test(tc, fallback_while_redis_is_down);
    tcase_add_test(tc, bad_rules_fail_configtest);
    tcase_add_test(tc, rules_past_the_cap_fail_configtest);
    suite_add_tcase(s, tc);
    tc = tcase_create("ratelimit_cluster");
    tcase_add_checked_fixture(tc, it_use_cluster, it_use_single_redis);
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 60);
    add_redis_backed_tests(tc);
    suite_add_tcase(s, tc);
    return s;
}
