/*
 * it_redis.c: the gateway while Redis dies, hangs and comes back: /health
 * reports it, answers stay fast (never longer than the Redis timeout), and
 * readiness returns once redis-server is restarted. The recovery tests
 * measure how soon /health and a Redis-backed route (anonymous sign-in)
 * answer again after a long outage, with the default retry=1s.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
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

/* Long enough for the breaker's backoff to reach its largest window. */
#define OUTAGE_MS 8500
/* Recovery must take less than this (the goal is 1 s) ... */
#define RECOVERY_DEADLINE_MS 2500
/* ... and is judged over this window after Redis returns. */
#define OBSERVE_MS 3500

static double clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void start_recovery_gateway(void)
{
    char site[4096], path[400];
    FILE *f;
    it_setup();
    snprintf(path, sizeof(path), "%s/jwt.key", it.dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("it-jwt-secret-0123456789abcdefghijklmnop\n", f);
    fclose(f);
    /* Several worker processes, each with its own breaker; retry= is the
     * default (1s), as in the demo. */
    snprintf(site, sizeof(site),
             "StartServers 3\nServerLimit 4\nThreadsPerChild 8\nMaxRequestWorkers 32\n"
             "CloudBaseEnv demo\n"
             "CloudBasePluginDir %s\n"
             "CloudBaseRedis redis://127.0.0.1:%d connect_timeout=100ms timeout=200ms\n"
             "CloudBaseDatabase %s\n"
             "<CloudBasePlugin auth>\n"
             "  jwt_secret file:%s\n"
             "</CloudBasePlugin>\n",
             it_plugin_dir(), it.redis_port, it_database_value(), path);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* One /health and one anonymous sign-in; 1 when both succeed. */
static int gateway_healthy(void)
{
    static const char *const headers[] = {"X-Device-Id: it-device", NULL};
    it_response r;
    int ok;
    it_request("GET", "/health", NULL, NULL, &r);
    ok = r.status == 200;
    it_free(&r);
    it_request("POST", "/auth/v1/signin/anonymously", headers, "{}", &r);
    ok = ok && r.status == 200;
    it_free(&r);
    return ok;
}

/* Keeps traffic flowing for ms so that every process sees the outage. */
static void drive_traffic(int ms, int expect_healthy)
{
    double until = clock_ms() + ms;
    while (clock_ms() < until) {
        ck_assert_int_eq(gateway_healthy(), expect_healthy);
        usleep(20 * 1000);
    }
}

/* Milliseconds from now until the gateway answered healthily for good:
 * polls for OBSERVE_MS and returns the time of the first success after the
 * last failure, or -1 when the last answer still failed. */
static double measure_recovery(void)
{
    double start = clock_ms(), recovered_at = -1;
    while (clock_ms() - start < OBSERVE_MS) {
        double t = clock_ms() - start;
        if (!gateway_healthy())
            recovered_at = -1;
        else if (recovered_at < 0)
            recovered_at = t;
        usleep(20 * 1000);
    }
    return recovered_at;
}

START_TEST(recovers_within_a_second_after_a_stall)
{
    double ms;
    drive_traffic(300, 1);
    it_redis_pause(1);
    drive_traffic(OUTAGE_MS, 0);
    it_redis_pause(0);
    ms = measure_recovery();
    fprintf(stderr, "redis-down: recovery after a %d ms stall: %.0f ms\n", OUTAGE_MS, ms);
    ck_assert_msg(ms >= 0 && ms < RECOVERY_DEADLINE_MS,
                  "not healthy for good within %d ms of SIGCONT (recovered at %.0f ms)",
                  RECOVERY_DEADLINE_MS, ms);
}
END_TEST

START_TEST(recovers_within_a_second_after_a_restart)
{
    double ms;
    drive_traffic(300, 1);
    it_redis_kill();
    drive_traffic(OUTAGE_MS, 0);
    it_redis_restart();
    ms = measure_recovery();
    fprintf(stderr, "redis-down: recovery after a %d ms kill and restart: %.0f ms\n",
            OUTAGE_MS, ms);
    ck_assert_msg(ms >= 0 && ms < RECOVERY_DEADLINE_MS,
                  "not healthy for good within %d ms of the restart (recovered at %.0f ms)",
                  RECOVERY_DEADLINE_MS, ms);
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
    tc = tcase_create("recovery");
    tcase_add_checked_fixture(tc, start_recovery_gateway, it_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, recovers_within_a_second_after_a_stall);
    tcase_add_test(tc, recovers_within_a_second_after_a_restart);
    suite_add_tcase(s, tc);
    return s;
}
