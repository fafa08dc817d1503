/*
 * it_redis.c: the gateway while Redis dies, hangs and comes back: /health
 * reports it, answers stay fast (never longer than the Redis timeout), and
 * readiness returns once redis-server is restarted.
 */
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

/* The site's CloudBaseRedis says timeout=200ms retry=300ms. */
#define REDIS_TIMEOUT_MS 200

static void start(void)
{
    it_start_gateway("event");
}

static long health(it_response *r)
{
    it_request("GET", "/health", NULL, NULL, r);
    return r->status;
}

START_TEST(health_follows_redis)
{
    it_response r;
    ck_assert_int_eq(health(&r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"reachable\":true"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"name\":\"testplug\""));
    it_free(&r);

    it_redis_kill();
    for (int i = 0; i < 30; i++) {
        ck_assert_int_eq(health(&r), 503);
        ck_assert_ptr_nonnull(strstr(r.body, "\"reachable\":false"));
        ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"degraded\""));
        ck_assert_msg(r.total_ms < REDIS_TIMEOUT_MS + 100, "took %.0f ms", r.total_ms);
        it_free(&r);
    }
    /* Routes that do not need Redis keep working. */
    it_request("GET", "/v1/test/echo", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);

    it_redis_restart();
    for (int i = 0; i < 50 && health(&r) != 200; i++) {
        it_free(&r);
        usleep(100 * 1000);
    }
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"reachable\":true"));
    it_free(&r);
}
END_TEST

START_TEST(hung_redis_never_holds_a_request)
{
    it_response r;
    ck_assert_int_eq(health(&r), 200);
    it_free(&r);
    it_redis_pause(1);
    for (int i = 0; i < 20; i++) {
        health(&r);
        ck_assert_int_eq(r.status, 503);
        ck_assert_msg(r.total_ms < REDIS_TIMEOUT_MS + 150, "request %d took %.0f ms", i,
                      r.total_ms);
        it_free(&r);
    }
    it_redis_pause(0);
    for (int i = 0; i < 50 && health(&r) != 200; i++) {
        it_free(&r);
        usleep(100 * 1000);
    }
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
}
END_TEST

Suite *redis_down_suite(void)
{
    Suite *s = suite_create("redis-down");
    TCase *tc = tcase_create("health");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, health_follows_redis);
    tcase_add_test(tc, hung_redis_never_holds_a_request);
    suite_add_tcase(s, tc);
    return s;
}
