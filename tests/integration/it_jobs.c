/*
 * it_jobs.c: background jobs through a real httpd: the test plugin's task
 * consumes a cb_queue; while it holds a job (blocked on a marker file) the
 * whole httpd (parent and children) is killed with SIGKILL, so nothing of
 * its shutdown runs. After a restart every job is processed and acked: the
 * one in flight is delivered again once its visibility deadline passes.
 * The same test runs again on a three-master Redis Cluster. And httpd
 * stopped while a task holds a database transaction exits cleanly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_cluster.h"

#define JOBS 6

static char block_path[400];

static const char *jobs_site(void)
{
    static char site[4096];
    const char *base = it_default_site();
    const char *end = strstr(base, "</CloudBasePlugin>");
    ck_assert_ptr_nonnull(end);
    snprintf(block_path, sizeof(block_path), "%s/block", it.dir);
    snprintf(site, sizeof(site),
             "%.*s"
             "  queue_file %s/jobs.log\n"
             "  queue_block_file %s\n"
             "  queue_visibility 1s\n"
             "%s",
             (int)(end - base), base, it.dir, block_path, end);
    return site;
}

/* Lines of jobs.log that start with `what` and name `job`. */
static int log_count(const char *what, const char *job)
{
    char *log = it_read_file("jobs.log");
    char needle[64];
    int n = 0;
    snprintf(needle, sizeof(needle), "%s %s ", what, job);
    for (char *at = log; (at = strstr(at, needle)); at++)
        if (at == log || at[-1] == '\n')
            n++;
    free(log);
    return n;
}

static int queue_count(const char *field)
{
    it_response r;
    char key[32];
    const char *at;
    int value = -1;
    it_request("GET", "/v1/test/jobs", NULL, NULL, &r);
    snprintf(key, sizeof(key), "\"%s\":", field);
    if (r.status == 200 && r.body && (at = strstr(r.body, key)))
        value = atoi(at + strlen(key));
    it_free(&r);
    return value;
}

START_TEST(sigkill_mid_job_loses_no_job)
{
    const char *conf;
    char job[16], first_started[16] = "";
    FILE *f;
    it_setup();
    conf = it_write_config("httpd.conf", "event", jobs_site());
    /* Every job is held until the marker goes away. */
    f = fopen(block_path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_msg(it_httpd_start(conf), "httpd did not start");
    for (int i = 0; i < JOBS; i++) {
        it_response r;
        snprintf(job, sizeof(job), "job-%d", i);
        it_request("POST", "/v1/test/jobs", NULL, job, &r);
        ck_assert_int_eq(r.status, 200);
        it_free(&r);
    }
    /* Wait until the task holds one job in flight. */
    for (int i = 0; i < 400 && !first_started[0]; i++) {
        for (int j = 0; j < JOBS; j++) {
            snprintf(job, sizeof(job), "job-%d", j);
            if (log_count("started", job))
                snprintf(first_started, sizeof(first_started), "%s", job);
        }
        if (!first_started[0])
            usleep(25 * 1000);
    }
    ck_assert_msg(first_started[0], "the queue task never started a job");
    ck_assert_int_eq(queue_count("inflight"), 1);
    ck_assert_int_eq(log_count("processed", first_started), 0);

    ck_assert_int_ge(it_httpd_kill9(), 2);
    unlink(block_path);
    ck_assert_int_eq(log_count("acked", first_started), 0);
    ck_assert_msg(it_httpd_start(conf), "httpd did not start again after SIGKILL");

    /* Every job is processed and acked; the queue drains completely. */
    for (int i = 0; i < 600; i++) {
        int done = 0;
        for (int j = 0; j < JOBS; j++) {
            snprintf(job, sizeof(job), "job-%d", j);
            done += log_count("acked", job) > 0;
        }
        if (done == JOBS)
            break;
        usleep(50 * 1000);
    }
    for (int j = 0; j < JOBS; j++) {
        snprintf(job, sizeof(job), "job-%d", j);
        ck_assert_msg(log_count("acked", job) >= 1, "%s was lost", job);
    }
    /* The job that was in flight was delivered again, as its second attempt. */
    {
        char needle[64];
        char *log = it_read_file("jobs.log");
        snprintf(needle, sizeof(needle), "acked %s attempt 2 ", first_started);
        ck_assert_msg(strstr(log, needle), "no redelivery of %s in:\n%s", first_started, log);
        free(log);
    }
    ck_assert_int_eq(queue_count("ready"), 0);
    ck_assert_int_eq(queue_count("inflight"), 0);
    ck_assert_int_eq(queue_count("delayed"), 0);
    ck_assert_int_eq(queue_count("dead"), 0);
}
END_TEST

/* A background task holding a database connection (an open transaction)
 * while httpd stops: the child's exit waits for the task before it tears
 * down the connection pool. Before, the pool went first and apr_reslist's
 * assertion aborted the child ("exit signal" in the error log, which the
 * teardown checks). */
START_TEST(stop_while_a_task_holds_a_connection)
{
    static char site[4096];
    const char *base, *end;
    char *log;
    it_setup();
    base = it_default_site();
    end = strstr(base, "</CloudBasePlugin>");
    ck_assert_ptr_nonnull(end);
    snprintf(site, sizeof(site), "%.*s  db_hold_file %s/hold.log\n%s", (int)(end - base), base,
             it.dir, end);
    ck_assert_msg(it_httpd_start(it_write_config("httpd.conf", "event", site)),
                  "httpd did not start:\n%s", it_error_log());
    for (int i = 0; i < 100; i++) {
        log = it_read_file("hold.log");
        if (strstr(log, "holding"))
            break;
        free(log);
        log = NULL;
        usleep(100 * 1000);
    }
    if (!log)
        log = it_read_file("hold.log");
    ck_assert_msg(strstr(log, "holding"), "the task never held a transaction");
    free(log);
    it_httpd_stop(it_gateway_conf_path());
    log = it_error_log();
    ck_assert_msg(!strstr(log, "reslist_cleanup"), "the pool went before the task:\n%s", log);
    free(log);
}
END_TEST

Suite *jobs_suite(void)
{
    Suite *s = suite_create("jobs");
    TCase *tc = tcase_create("queue");
    tcase_add_checked_fixture(tc, NULL, it_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sigkill_mid_job_loses_no_job);
    suite_add_tcase(s, tc);
    tc = tcase_create("shutdown");
    tcase_add_checked_fixture(tc, NULL, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stop_while_a_task_holds_a_connection);
    suite_add_tcase(s, tc);
    /* The same on a three-master Redis Cluster. */
    tc = tcase_create("queue_cluster");
    tcase_add_checked_fixture(tc, it_use_cluster, it_use_single_redis);
    tcase_add_checked_fixture(tc, NULL, it_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sigkill_mid_job_loses_no_job);
    suite_add_tcase(s, tc);
    return s;
}
