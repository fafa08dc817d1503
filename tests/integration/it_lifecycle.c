/*
 * it_lifecycle.c: httpd's life cycle with the module: graceful and full
 * restarts reload plugins and keep serving with no crash; background tasks
 * run on mod_watchdog; the prefork MPM works as well as event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

static void start_event(void)
{
    it_start_gateway("event");
}

static void start_prefork(void)
{
    it_start_gateway("prefork");
}

static void expect_serving(void)
{
    it_response r;
    it_request("GET", "/v1/test/items/7", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"id\":\"7\""));
    /* The plugin's child_init ran in the process that answered. */
    ck_assert_ptr_nonnull(strstr(r.body, "\"childInitRan\":true"));
    it_free(&r);
    it_request("GET", "/v1/test/proxy/echo", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    it_request("GET", "/health", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
}

static void expect_no_crash(void)
{
    char *log = it_error_log();
    ck_assert_msg(strstr(log, "Segmentation fault") == NULL && strstr(log, "exit signal") == NULL
                  && strstr(log, "AddressSanitizer") == NULL, "crash in error log:\n%s", log);
    free(log);
}

static int task_ticks(void)
{
    char path[400], line[128];
    int n = 0;
    FILE *f;
    snprintf(path, sizeof(path), "%s/task.log", it.dir);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof(line), f))
        n++;
    fclose(f);
    return n;
}

static void reload(const char *action)
{
    it_httpd_signal(it_gateway_conf(), action);
    usleep(500 * 1000);
    ck_assert(it_httpd_ready(10000));
}

START_TEST(graceful_restart)
{
    expect_serving();
    for (int i = 0; i < 3; i++) {
        reload("graceful");
        expect_serving();
    }
    expect_no_crash();
}
END_TEST

/* Redis clients connected now, from `redis-cli info clients`. */
static int redis_clients(void)
{
    char cmd[128], line[256];
    int clients = -1;
    FILE *p;
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d info clients", it.redis_port);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p))
        if (sscanf(line, "connected_clients:%d", &clients) == 1)
            break;
    pclose(p);
    return clients;
}

START_TEST(graceful_reloads_plugins_and_releases_connections)
{
    it_response r;
    char site[4096];
    int baseline;
    for (int i = 0; i < 20; i++) {
        it_request("GET", "/health", NULL, NULL, &r);
        it_free(&r);
    }
    baseline = redis_clients();
    ck_assert_int_ge(baseline, 1);
    /* A changed plugin option takes effect after a graceful restart. */
    snprintf(site, sizeof(site), "%s", it_default_site());
    memcpy(strstr(site, "hello from the gateway"), "HELLO FROM THE GATEWAY", 22);
    it_write_config("httpd.conf", "event", site);
    for (int round = 0; round < 3; round++) {
        reload("graceful");
        for (int i = 0; i < 20; i++) {
            it_request("GET", "/health", NULL, NULL, &r);
            ck_assert_int_eq(r.status, 200);
            it_free(&r);
        }
    }
    usleep(1500 * 1000); /* old children finish and exit */
    it_request("GET", "/v1/test/echo", NULL, NULL, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "HELLO FROM THE GATEWAY"));
    it_free(&r);
    /* Old generations' connections were closed, not leaked. */
    ck_assert_int_le(redis_clients(), baseline + 4);
    expect_no_crash();
}
END_TEST

START_TEST(full_restart)
{
    expect_serving();
    for (int i = 0; i < 3; i++) {
        reload("restart");
        expect_serving();
    }
    expect_no_crash();
}
END_TEST

START_TEST(background_task_runs)
{
    int before;
    for (int i = 0; i < 40 && task_ticks() < 3; i++)
        usleep(100 * 1000);
    ck_assert_int_ge(task_ticks(), 3);
    reload("graceful");
    before = task_ticks();
    usleep(800 * 1000);
    ck_assert_int_gt(task_ticks(), before);
    expect_no_crash();
}
END_TEST

START_TEST(prefork_serves)
{
    it_response r;
    expect_serving();
    it_request("GET", "/v1/test/proxy/sse", NULL, NULL, &r);
    ck_assert_int_ge(r.chunks, 3);
    it_free(&r);
    reload("graceful");
    expect_serving();
    expect_no_crash();
}
END_TEST

Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *event = tcase_create("event");
    TCase *prefork = tcase_create("prefork");
    tcase_add_checked_fixture(event, start_event, it_teardown);
    tcase_set_timeout(event, 90);
    tcase_add_test(event, graceful_restart);
    tcase_add_test(event, full_restart);
    tcase_add_test(event, graceful_reloads_plugins_and_releases_connections);
    tcase_add_test(event, background_task_runs);
    tcase_add_checked_fixture(prefork, start_prefork, it_teardown);
    tcase_set_timeout(prefork, 90);
    tcase_add_test(prefork, prefork_serves);
    suite_add_tcase(s, event);
    suite_add_tcase(s, prefork);
    return s;
}
