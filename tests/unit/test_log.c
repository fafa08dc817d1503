/*
 * test_log.c: cb_log_req, cb_log_ctx and cb_log (core/log.c) through the
 * in-memory host's recording log sink: the request id on every request
 * line, the environment and plugin on set-up lines, lines from a background
 * thread, and the values of secret options scrubbed from every line, even
 * when a plugin (the test plugin's failing route, on purpose) logs one.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <check.h>

#include "test_host.h"
#include "cloudbase/log.h"

#define LOG_TEST_SECRET "unit-log-secret-0123456789abcdef"

static apr_pool_t *pool;
static cb_env *env;

static void setup(void)
{
    static const char *const opts[] = {"greeting", "hello", "secret", LOG_TEST_SECRET, NULL};
    const char *err;
    apr_pool_create(&pool, NULL);
    env = th_env_create(pool, "logtest");
    ck_assert_ptr_null(th_env_add_plugin(env, pool, "testplug", opts));
    err = cb_env_build(env, pool);
    ck_assert_msg(err == NULL, "%s", err);
    th_log_start();
}

static void teardown(void)
{
    th_log_stop();
    apr_pool_destroy(pool);
}

START_TEST(request_lines_carry_the_request_id_and_no_secret)
{
    th_response r;
    const char *log, *want;
    th_request(env, pool, "GET", "/v1/test/fail", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(r.req->request_id);
    log = th_log_text(pool);
    want = apr_psprintf(pool, "4 R [req %s] testplug failing as asked (secret [redacted])\n",
                        r.req->request_id);
    ck_assert_msg(strstr(log, want) != NULL, "log was: %s", log);
    ck_assert_msg(strstr(log, LOG_TEST_SECRET) == NULL, "secret in the log: %s", log);
}
END_TEST

START_TEST(ctx_lines_name_env_and_plugin)
{
    struct cb_plugin_ctx ctx;
    const char *log;
    memset(&ctx, 0, sizeof(ctx));
    ctx.instance = APR_ARRAY_IDX(env->instances, 0, cb_instance *);
    ctx.pool = pool;
    cb_log_ctx(&ctx, CB_LOG_NOTICE, "ready with %d routes", 3);
    log = th_log_text(pool);
    ck_assert_str_eq(log, "5 P [env logtest, plugin testplug] ready with 3 routes\n");
}
END_TEST

static void *APR_THREAD_FUNC background(apr_thread_t *t, void *data)
{
    (void)data;
    cb_log(CB_LOG_ERR, "task tick failed: key %s", LOG_TEST_SECRET);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

START_TEST(background_threads_log_without_a_request)
{
    apr_thread_t *t;
    apr_status_t rv;
    ck_assert_int_eq(apr_thread_create(&t, NULL, background, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(apr_thread_join(&rv, t), APR_SUCCESS);
    ck_assert_str_eq(th_log_text(pool), "3 P task tick failed: key [redacted]\n");
}
END_TEST

START_TEST(scrub_replaces_every_occurrence_of_every_secret)
{
    cb_log_register_secret("second-secret-value");
    cb_log_register_secret("short");            /* under 8 bytes: not scrubbed */
    ck_assert_str_eq(cb_log_scrub(pool, "a " LOG_TEST_SECRET " b second-secret-value c "
                                        LOG_TEST_SECRET LOG_TEST_SECRET " short"),
                     "a [redacted] b [redacted] c [redacted][redacted] short");
    ck_assert_str_eq(cb_log_scrub(pool, "nothing here"), "nothing here");
}
END_TEST

Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, request_lines_carry_the_request_id_and_no_secret);
    tcase_add_test(tc, ctx_lines_name_env_and_plugin);
    tcase_add_test(tc, background_threads_log_without_a_request);
    tcase_add_test(tc, scrub_replaces_every_occurrence_of_every_secret);
    suite_add_tcase(s, tc);
    return s;
}
