/*
 * test_dispatch.c: the request phases through the in-memory test host with
 * the test plugin: fall-through, 404/405, request ids, CORS and preflight,
 * identity and auth levels, policies, dialects, body caps, streaming,
 * proxy hand-off with header edits, and after-response accounting.
 */
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "test_host.h"

static apr_pool_t *pool;
static cb_env *env;

static void setup(void)
{
    static const char *const opts[] = {"greeting", "hello", "upstream", "http://127.0.0.1:9/base/",
                                       "fake_identity", "on", "deny_header", "X-Deny",
                                       "max_body", "16", NULL};
    const char *err;
    apr_pool_create(&pool, NULL);
    env = th_env_create(pool, "demo");
    ck_assert_ptr_null(cb_allowlist_add(env->allowlist, pool, "https://app.example.com"));
    ck_assert_ptr_null(th_env_add_plugin(env, pool, "testplug", opts));
    err = cb_env_build(env, pool);
    ck_assert_msg(err == NULL, "%s", err);
}
static void teardown(void) { apr_pool_destroy(pool); }

static json_t *json_of(const th_response *r)
{
    json_t *v = json_loadb(r->body, r->body_len, 0, NULL);
    ck_assert_msg(v != NULL, "not JSON: %s", r->body);
    return v;
}

static const char *jstr(json_t *v, const char *key)
{
    return json_string_value(json_object_get(v, key));
}

START_TEST(fall_through_and_not_found)
{
    th_response r;
    th_request(env, pool, "GET", "/index.html", NULL, NULL, &r);
    ck_assert_int_eq(r.action, CB_DISPATCH_DECLINE);
    ck_assert_ptr_null(apr_table_get(r.headers, "X-Request-Id"));
    th_request(env, pool, "GET", "/v1/test/nothing", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    json_t *v = json_of(&r);
    ck_assert_str_eq(jstr(v, "code"), "RESOURCE_NOT_FOUND");
    ck_assert_str_eq(jstr(v, "requestId"), apr_table_get(r.headers, "X-Request-Id"));
    json_decref(v);
    th_request(env, pool, "DELETE", "/v1/test/echo", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(apr_table_get(r.headers, "Allow"), "GET, HEAD, POST");
}
END_TEST

START_TEST(echo_params_and_request_id)
{
    static const char *const hdrs[] = {"X-Request-Id", "client-id-1", NULL};
    th_response r;
    th_request(env, pool, "GET", "/v1/test/items/42?x=1", hdrs, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(apr_table_get(r.headers, "X-Request-Id"), "client-id-1");
    ck_assert_str_eq(apr_table_get(r.headers, "Content-Type"), "application/json; charset=utf-8");
    json_t *v = json_of(&r);
    ck_assert_str_eq(jstr(v, "id"), "42");
    ck_assert_str_eq(jstr(v, "query"), "x=1");
    ck_assert_str_eq(jstr(v, "greeting"), "hello");
    ck_assert_str_eq(jstr(v, "env"), "demo");
    json_decref(v);
    th_request(env, pool, "GET", "/v1/test/files/a/b.txt", NULL, NULL, &r);
    v = json_of(&r);
    ck_assert_str_eq(jstr(v, "rest"), "a/b.txt");
    json_decref(v);
}
END_TEST

START_TEST(cors_and_preflight)
{
    static const char *const allowed[] = {"Origin", "https://app.example.com", NULL};
    static const char *const same[] = {"Origin", "http://gateway.test", NULL};
    static const char *const evil[] = {"Origin", "https://app.example.com.evil.com", NULL};
    static const char *const preflight[] = {"Origin", "https://app.example.com",
                                            "Access-Control-Request-Method", "POST",
                                            "Access-Control-Request-Headers", "content-type, x-request-id",
                                            NULL};
    static const char *const bad_preflight[] = {"Origin", "null",
                                                "Access-Control-Request-Method", "POST", NULL};
    th_response r;
    th_request(env, pool, "GET", "/v1/test/echo", allowed, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(apr_table_get(r.headers, "Access-Control-Allow-Origin"), "https://app.example.com");
    ck_assert_str_eq(apr_table_get(r.headers, "Vary"), "Origin");
    th_request(env, pool, "GET", "/v1/test/echo", same, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(apr_table_get(r.headers, "Access-Control-Allow-Origin"));
    th_request(env, pool, "GET", "/v1/test/echo", evil, NULL, &r);
    ck_assert_int_eq(r.status, 403);
    json_t *v = json_of(&r);
    ck_assert_str_eq(jstr(v, "code"), "ORIGIN_NOT_ALLOWED");
    json_decref(v);
    ck_assert_ptr_null(apr_table_get(r.headers, "Access-Control-Allow-Origin"));
    th_request(env, pool, "OPTIONS", "/v1/test/echo", preflight, NULL, &r);
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(apr_table_get(r.headers, "Access-Control-Allow-Methods"), "GET, HEAD, POST");
    ck_assert_str_eq(apr_table_get(r.headers, "Access-Control-Allow-Headers"), "content-type, x-request-id");
    ck_assert_ptr_nonnull(apr_table_get(r.headers, "Access-Control-Max-Age"));
    th_request(env, pool, "OPTIONS", "/v1/test/echo", bad_preflight, NULL, &r);
    ck_assert_int_eq(r.status, 403);
}
END_TEST

START_TEST(identity_and_auth_levels)
{
    static const char *const user[] = {"Authorization", "Bearer test-user-alice", NULL};
    static const char *const anon[] = {"Authorization", "Bearer test-anonymous", NULL};
    static const char *const bad[] = {"Authorization", "Bearer test-garbage", NULL};
    static const char *const admin[] = {"Authorization", "Bearer test-admin", NULL};
    th_response r;
    th_request(env, pool, "GET", "/v1/test/private", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_nonnull(apr_table_get(r.headers, "WWW-Authenticate"));
    th_request(env, pool, "GET", "/v1/test/private", user, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    json_t *v = json_of(&r);
    ck_assert_str_eq(jstr(v, "uid"), "alice");
    json_decref(v);
    th_request(env, pool, "GET", "/v1/test/private", anon, NULL, &r);
    ck_assert_int_eq(r.status, 403);
    th_request(env, pool, "GET", "/v1/test/private", bad, NULL, &r);
    ck_assert_int_eq(r.status, 401);
    /* Bad credentials on an open route are refused too, not ignored. */
    th_request(env, pool, "GET", "/v1/test/echo", bad, NULL, &r);
    ck_assert_int_eq(r.status, 401);
    th_request(env, pool, "GET", "/v1/test/admin", user, NULL, &r);
    ck_assert_int_eq(r.status, 403);
    v = json_of(&r);
    ck_assert_str_eq(jstr(v, "error"), "access_denied");
    json_decref(v);
    th_request(env, pool, "GET", "/v1/test/admin", admin, NULL, &r);
    ck_assert_int_eq(r.status, 200);
}
END_TEST

START_TEST(policies_dialects_and_bodies)
{
    static const char *const deny[] = {"X-Deny", "1", NULL};
    th_response r;
    th_request(env, pool, "GET", "/v1/test/echo", deny, NULL, &r);
    ck_assert_int_eq(r.status, 429);
    th_request(env, pool, "GET", "/v1/test/tose-fail", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 400);
    json_t *v = json_of(&r);
    ck_assert(json_is_false(json_object_get(v, "success")));
    json_decref(v);
    th_request(env, pool, "GET", "/v1/test/testbase-fail", NULL, NULL, &r);
    v = json_of(&r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "error"), "code")),
                     "validation_error");
    json_decref(v);
    th_request(env, pool, "POST", "/v1/test/body", NULL, "0123456789", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"length\":10}");
    th_request(env, pool, "POST", "/v1/test/body", NULL, "0123456789abcdefXYZ", &r);
    ck_assert_int_eq(r.status, 413);
}
END_TEST

START_TEST(streaming_and_proxy)
{
    static const char *const hdrs[] = {"X-Cloudbase-Uid", "forged", "X-Drop-Me", "1",
                                       "Authorization", "Bearer test-user-bob", NULL};
    th_response r;
    th_request(env, pool, "GET", "/v1/test/stream", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.flushes, 3);
    ck_assert_ptr_nonnull(strstr(r.body, "data: event 2\n\n"));
    th_request(env, pool, "POST", "/v1/test/proxy/fn/x?q=1", hdrs, NULL, &r);
    ck_assert_int_eq(r.action, CB_DISPATCH_PROXY);
    ck_assert_str_eq(r.proxy_url, "http://127.0.0.1:9/base/fn/x?q=1");
    ck_assert_str_eq(apr_table_get(r.upstream_headers, "X-Cloudbase-Uid"), "bob");
    ck_assert_str_eq(apr_table_get(r.upstream_headers, "X-Test-Plugin"), "testplug");
    ck_assert_ptr_null(apr_table_get(r.upstream_headers, "X-Drop-Me"));
    ck_assert_str_eq(apr_table_get(r.upstream_headers, "X-Request-Id"), r.req->request_id);
}
END_TEST

/* Upstream stacks fold '_' into '-' (CGI, PHP, WSGI): every spelling of a
 * gateway-owned header is removed, and other headers pass. */
START_TEST(identity_spellings_never_reach_upstream)
{
    static const char *const hdrs[] = {"x_cloudbase_uid", "forged1", "X_CLOUDBASE-ENV", "forged2",
                                       "X-Cloudbase_Anything", "forged3", "x_request_id", "forged4",
                                       "X_Test_Plugin", "forged5", "x_drop_me", "forged6",
                                       "X_Custom_Header", "kept", "Authorization",
                                       "Bearer test-user-bob", NULL};
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    th_response r;
    ck_assert(cb_header_names_match("X_Cloudbase_Uid", "x-cloudbase-uid"));
    ck_assert(!cb_header_names_match("X-Cloudbase-Uidx", "X-Cloudbase-Uid"));
    ck_assert(!cb_header_names_match("X-Cloudbase-Ui", "X-Cloudbase-Uid"));
    ck_assert(cb_header_name_has_prefix("x_CLOUDBASE_", "X-Cloudbase-"));
    ck_assert(!cb_header_name_has_prefix("X-Cloudbas", "X-Cloudbase-"));
    th_request(env, pool, "POST", "/v1/test/proxy/fn", hdrs, NULL, &r);
    ck_assert_int_eq(r.action, CB_DISPATCH_PROXY);
    arr = apr_table_elts(r.upstream_headers);
    e = (const apr_table_entry_t *)arr->elts;
    for (int i = 0; i < arr->nelts; i++)
        ck_assert_msg(!strstr(e[i].val, "forged"), "%s: %s reached the upstream", e[i].key,
                      e[i].val);
    ck_assert_str_eq(apr_table_get(r.upstream_headers, "X-Cloudbase-Uid"), "bob");
    ck_assert_str_eq(apr_table_get(r.upstream_headers, "X-Test-Plugin"), "testplug");
    ck_assert_str_eq(apr_table_get(r.upstream_headers, "X_Custom_Header"), "kept");
}
END_TEST

/* httpd passes lists ending in chunked; only chunked alone can be read
 * and proxied. Refused before the handler, with the connection closed. */
START_TEST(only_chunked_transfer_encoding_is_accepted)
{
    static const char *const doubled[] = {"Transfer-Encoding", "chunked, chunked", NULL};
    static const char *const identity[] = {"Transfer-Encoding", "identity, chunked", NULL};
    static const char *const chunked[] = {"Transfer-Encoding", "Chunked", NULL};
    const char *const *refused[] = {doubled, identity};
    th_response r;
    for (int i = 0; i < 2; i++) {
        th_request(env, pool, "POST", "/v1/test/proxy/fn", refused[i], NULL, &r);
        ck_assert_int_eq(r.action, CB_DISPATCH_RESPOND);
        ck_assert_int_eq(r.status, 400);
        ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"INVALID_REQUEST\""));
        ck_assert_int_eq(r.req->close_connection, 1);
        th_request(env, pool, "POST", "/v1/test/echo", refused[i], NULL, &r);
        ck_assert_int_eq(r.status, 400);
    }
    th_request(env, pool, "POST", "/v1/test/proxy/fn", chunked, NULL, &r);
    ck_assert_int_eq(r.action, CB_DISPATCH_PROXY);
    ck_assert_int_eq(r.req->close_connection, 0);
}
END_TEST

/* The after-response hook runs once per answered request, with its status,
 * and not for requests the gateway declined; the echo route reports what
 * the hook has counted so far. */
START_TEST(after_response_accounting)
{
    th_response r;
    json_int_t before;
    th_request(env, pool, "GET", "/v1/test/echo", NULL, NULL, &r);
    json_t *v = json_of(&r);
    before = json_integer_value(json_object_get(v, "afterCount"));
    json_decref(v);
    th_request(env, pool, "GET", "/v1/test/fail", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 400);
    th_request(env, pool, "GET", "/index.html", NULL, NULL, &r);
    ck_assert_int_eq(r.action, CB_DISPATCH_DECLINE);
    th_request(env, pool, "GET", "/v1/test/echo", NULL, NULL, &r);
    v = json_of(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "afterCount")), before + 2);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "lastStatus")), 400);
    json_decref(v);
}
END_TEST

START_TEST(health_without_redis)
{
    th_response r;
    th_request(env, pool, "GET", "/health", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    json_t *v = json_of(&r);
    ck_assert_str_eq(jstr(v, "status"), "ok");
    ck_assert_str_eq(jstr(json_array_get(json_object_get(v, "plugins"), 0), "name"), "testplug");
    ck_assert(json_is_false(json_object_get(json_object_get(v, "redis"), "configured")));
    json_decref(v);
}
END_TEST

START_TEST(health_path_is_configurable)
{
    th_response r;
    cb_env *other = th_env_create(pool, "other");
    other->health_path = "/ready";
    ck_assert_ptr_null(cb_env_build(other, pool));
    th_request(other, pool, "GET", "/ready", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    th_request(other, pool, "GET", "/health", NULL, NULL, &r);
    ck_assert_int_eq(r.action, CB_DISPATCH_DECLINE);
    other = th_env_create(pool, "none");
    other->health_path = "";
    ck_assert_ptr_null(cb_env_build(other, pool));
    th_request(other, pool, "GET", "/health", NULL, NULL, &r);
    ck_assert_int_eq(r.action, CB_DISPATCH_DECLINE);
}
END_TEST

START_TEST(refused_request_lines_name_their_path)
{
    static const struct {
        const char *line, *method, *path;
    } cases[] = {
        {"GET /v1/functions/x HTTP/1.1", "GET", "/v1/functions/x"},
        {"POST /auth/v1/signin?a=b HTTP/1.1", "POST", "/auth/v1/signin"},
        {"GET   /cut-at-the-limit?aaaaaaaa", "GET", "/cut-at-the-limit"},
        {"GET /a%2Fb#frag HTTP/1.0", "GET", "/a%2Fb"},
        {"GET http://example.com/x HTTP/1.1", NULL, NULL},
        {"GET", NULL, NULL},
        {" /x HTTP/1.1", NULL, NULL},
        {"GET * HTTP/1.1", NULL, NULL},
        {"", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *method = NULL, *path = NULL;
        int found = cb_request_line_target(pool, cases[i].line, &method, &path);
        ck_assert_msg(found == (cases[i].path != NULL), "line %zu: found %d", i, found);
        if (found) {
            ck_assert_str_eq(method, cases[i].method);
            ck_assert_str_eq(path, cases[i].path);
        }
    }
    ck_assert_int_eq(cb_request_line_target(pool, NULL, NULL, NULL), 0);
}
END_TEST

Suite *dispatch_suite(void)
{
    Suite *s = suite_create("dispatch");
    TCase *tc = tcase_create("phases");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fall_through_and_not_found);
    tcase_add_test(tc, echo_params_and_request_id);
    tcase_add_test(tc, after_response_accounting);
    tcase_add_test(tc, cors_and_preflight);
    tcase_add_test(tc, identity_and_auth_levels);
    tcase_add_test(tc, policies_dialects_and_bodies);
    tcase_add_test(tc, streaming_and_proxy);
    tcase_add_test(tc, identity_spellings_never_reach_upstream);
    tcase_add_test(tc, only_chunked_transfer_encoding_is_accepted);
    tcase_add_test(tc, health_without_redis);
    tcase_add_test(tc, health_path_is_configurable);
    tcase_add_test(tc, refused_request_lines_name_their_path);
    suite_add_tcase(s, tc);
    return s;
}
