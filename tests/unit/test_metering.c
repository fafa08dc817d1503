/*
 * test_metering.c: the response record after_response hooks read (status,
 * bytes in and out, duration, route pattern, identity, proxying), each
 * plugin's per-request data slot, and plugins' own error codes in every
 * dialect, through the in-memory test host with the test plugin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <apr_strings.h>
#include <jansson.h>

#include "test_host.h"

static apr_pool_t *pool;
static cb_env *env;
static char record_file[64];

static void setup(void)
{
    const char *err;
    int fd;
    apr_pool_create(&pool, NULL);
    strcpy(record_file, "/tmp/cb-metering-XXXXXX");
    fd = mkstemp(record_file);
    ck_assert_int_ge(fd, 0);
    close(fd);
    {
        const char *const opts[] = {"greeting", "hello", "upstream", "http://127.0.0.1:9/base/",
                                    "fake_identity", "on", "max_body", "64",
                                    "record_file", record_file, NULL};
        env = th_env_create(pool, "demo");
        ck_assert_ptr_null(th_env_add_plugin(env, pool, "testplug", opts));
    }
    err = cb_env_build(env, pool);
    ck_assert_msg(err == NULL, "%s", err);
}

static void teardown(void)
{
    unlink(record_file);
    apr_pool_destroy(pool);
}

/* The line testplug's after_response wrote for a request id. */
static json_t *record_line(const char *request_id)
{
    char line[2048];
    FILE *f = fopen(record_file, "r");
    json_t *found = NULL;
    ck_assert_ptr_nonnull(f);
    while (!found && fgets(line, sizeof(line), f)) {
        json_t *v = json_loads(line, 0, NULL);
        ck_assert_ptr_nonnull(v);
        if (strcmp(json_string_value(json_object_get(v, "requestId")), request_id) == 0)
            found = v;
        else
            json_decref(v);
    }
    fclose(f);
    ck_assert_msg(found != NULL, "no record for %s", request_id);
    return found;
}

START_TEST(record_of_a_handler_route)
{
    static const char *const user[] = {"Authorization", "Bearer test-user-ada", NULL};
    th_response r;
    const cb_response_record *rec;
    json_t *line;
    th_request(env, pool, "POST", "/v1/test/body", user, "hello, world", &r);
    ck_assert_int_eq(r.status, 200);
    rec = cb_req_response_record(r.req);
    ck_assert_int_eq(rec->status, 200);
    ck_assert_int_eq(rec->bytes_in, 12);
    ck_assert_int_eq(rec->bytes_out, (int64_t)r.body_len);
    ck_assert_int_eq(rec->bytes_out, (int64_t)strlen("{\"length\":12}"));
    ck_assert_str_eq(rec->route_pattern, "/v1/test/body");
    ck_assert_str_eq(rec->method, "POST");
    ck_assert_int_eq(rec->identity_kind, CB_IDENTITY_USER);
    ck_assert_str_eq(rec->uid, "ada");
    ck_assert_int_eq(rec->proxied, 0);
    ck_assert_int_eq(rec->upstream_time, -1);
    ck_assert_int_ge(rec->duration, 0);
    /* The plugin read the same record, and got its own slot back. */
    line = record_line(cb_req_id(r.req));
    ck_assert_int_eq(json_integer_value(json_object_get(line, "bytesIn")), 12);
    ck_assert_str_eq(json_string_value(json_object_get(line, "route")), "/v1/test/body");
    ck_assert_str_eq(json_string_value(json_object_get(line, "kind")), "user");
    ck_assert_str_eq(json_string_value(json_object_get(line, "reservation")),
                     apr_pstrcat(pool, "reserved-", cb_req_id(r.req), NULL));
    json_decref(line);
}
END_TEST

START_TEST(record_of_proxy_and_refused_requests)
{
    static const char *const admin[] = {"Authorization", "Bearer test-admin", NULL};
    th_response r;
    const cb_response_record *rec;
    th_request(env, pool, "GET", "/v1/test/proxy/a/b?x=1", admin, NULL, &r);
    ck_assert_int_eq(r.action, CB_DISPATCH_PROXY);
    rec = cb_req_response_record(r.req);
    ck_assert_int_eq(rec->proxied, 1);
    ck_assert_str_eq(rec->route_pattern, "/v1/test/proxy/{rest*}");
    ck_assert_int_eq(rec->identity_kind, CB_IDENTITY_ADMIN);
    ck_assert_str_eq(rec->uid, "admin");
    /* The test host has no proxy: nobody timed the upstream. */
    ck_assert_int_eq(rec->upstream_time, -1);
    /* Not found: no route, no identity, the error's bytes. */
    th_request(env, pool, "GET", "/v1/test/nothing", NULL, NULL, &r);
    rec = cb_req_response_record(r.req);
    ck_assert_int_eq(rec->status, 404);
    ck_assert_ptr_null(rec->route_pattern);
    ck_assert_int_eq(rec->identity_kind, CB_IDENTITY_NONE);
    ck_assert_ptr_null(rec->uid);
    ck_assert_int_eq(rec->bytes_out, (int64_t)r.body_len);
    ck_assert_int_gt(rec->bytes_out, 0);
}
END_TEST

/* Each instance sees only its own slot; outside a plugin's hook there is
 * none. */
START_TEST(plugin_slots_are_separate)
{
    th_response r;
    cb_instance *a = APR_ARRAY_IDX(env->instances, 0, cb_instance *), b = *a;
    th_request(env, pool, "GET", "/v1/test/echo", NULL, NULL, &r);
    cb_req_plugin_data_set(r.req, "outside");
    ck_assert_ptr_null(cb_req_plugin_data_get(r.req));
    r.req->active = a;
    ck_assert_str_eq(cb_req_plugin_data_get(r.req),
                     apr_pstrcat(pool, "reserved-", cb_req_id(r.req), NULL));
    r.req->active = &b;
    ck_assert_ptr_null(cb_req_plugin_data_get(r.req));
    cb_req_plugin_data_set(r.req, "b's");
    ck_assert_str_eq(cb_req_plugin_data_get(r.req), "b's");
    r.req->active = a;
    ck_assert_str_eq(cb_req_plugin_data_get(r.req),
                     apr_pstrcat(pool, "reserved-", cb_req_id(r.req), NULL));
}
END_TEST

START_TEST(plugin_error_code_in_every_dialect)
{
    th_response r;
    th_request(env, pool, "GET", "/v1/test/quota", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 402);
    ck_assert_msg(strstr(r.body, "\"code\":\"TEST_QUOTA_EXCEEDED\"") &&
                  strstr(r.body, "\"message\":\"the test quota is used up\""), "%s", r.body);
    th_request(env, pool, "GET", "/v1/test/oauth-quota", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 402);
    ck_assert_msg(strstr(r.body, "\"error\":\"quota_exceeded\""), "%s", r.body);
    th_request(env, pool, "GET", "/v1/test/testbase-quota", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 402);
    ck_assert_msg(strstr(r.body, "\"code\":\"payment_required\""), "%s", r.body);
}
END_TEST

START_TEST(error_code_registration_is_checked)
{
    static const cb_error_code_def core = {"RATE_LIMITED", 429, NULL, NULL, "slow down"};
    static const cb_error_code_def lower = {"bad_code", 400, NULL, NULL, "x"};
    static const cb_error_code_def status = {"TEST_OK", 200, NULL, NULL, "x"};
    static const cb_error_code_def clash = {"TEST_QUOTA_EXCEEDED", 429, NULL, NULL, "x"};
    cb_instance *inst = APR_ARRAY_IDX(env->instances, 0, cb_instance *);
    cb_plugin_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.instance = inst;
    ctx.pool = pool;
    ctx.errors = apr_array_make(pool, 4, sizeof(const char *));
    ck_assert_int_eq(cb_ctx_register_error(&ctx, &core), CB_ERROR);
    ck_assert_ptr_nonnull(strstr(APR_ARRAY_IDX(ctx.errors, 0, const char *), "gateway's own"));
    ck_assert_int_eq(cb_ctx_register_error(&ctx, &lower), CB_ERROR);
    ck_assert_int_eq(cb_ctx_register_error(&ctx, &status), CB_ERROR);
    ck_assert_int_eq(cb_ctx_register_error(&ctx, &clash), CB_ERROR);
    ck_assert_ptr_nonnull(strstr(APR_ARRAY_IDX(ctx.errors, 3, const char *),
                                 "already registered with status 402"));
    /* An unknown code answers 500 rather than a made-up status. */
    {
        th_response r;
        th_request(env, pool, "GET", "/v1/test/echo", NULL, NULL, &r);
        r.req->in_content_phase = 1;
        cb_req_send_error_code(r.req, "NOT_REGISTERED", NULL);
        ck_assert_int_eq(r.req->status, 500);
    }
}
END_TEST

Suite *metering_suite(void)
{
    Suite *s = suite_create("metering");
    TCase *tc = tcase_create("record");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, record_of_a_handler_route);
    tcase_add_test(tc, record_of_proxy_and_refused_requests);
    tcase_add_test(tc, plugin_slots_are_separate);
    tcase_add_test(tc, plugin_error_code_in_every_dialect);
    tcase_add_test(tc, error_code_registration_is_checked);
    suite_add_tcase(s, tc);
    return s;
}
