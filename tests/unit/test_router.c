/*
 * test_router.c: route patterns, parameters, rest segments, 404 under a
 * gateway prefix, 405 with Allow, fall-through, and pattern errors.
 */
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "cb_core.h"

static apr_pool_t *pool;
static cb_router *router;

static cb_status dummy(cb_req *req, void *state) { (void)req; (void)state; return CB_OK; }

static void add(const char *method, const char *pattern)
{
    cb_route_def def = {method, pattern, dummy, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0};
    const char *err = cb_router_add(router, &def, NULL);
    ck_assert_msg(err == NULL, "%s", err);
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    router = cb_router_create(pool);
    add("POST", "/auth/v1/signin");
    add("POST", "/auth/v1/signin/anonymously");
    add("GET", "/auth/v1/user/me");
    add("POST", "/v1/functions/{name}");
    add("*", "/v1/cloudrun/{name}/{rest*}");
    add("GET", "/v1/model/{envType}/{model}/list");
    add("POST", "/v1/model/{envType}/{model}/list");
    add("GET", "/v1/model/prod/special/list2");
    add("GET", "/health");
}
static void teardown(void) { apr_pool_destroy(pool); }

static cb_match match(const char *method, const char *path)
{
    cb_match m;
    cb_router_match(router, pool, method, path, &m);
    return m;
}

START_TEST(literal_and_params)
{
    cb_match m = match("POST", "/auth/v1/signin");
    ck_assert_int_eq(m.kind, CB_MATCH_FOUND);
    ck_assert_str_eq(m.route->def.pattern, "/auth/v1/signin");
    m = match("POST", "/auth/v1/signin/anonymously");
    ck_assert_str_eq(m.route->def.pattern, "/auth/v1/signin/anonymously");
    m = match("POST", "/v1/functions/add-two");
    ck_assert_int_eq(m.kind, CB_MATCH_FOUND);
    ck_assert_str_eq(apr_table_get(m.params, "name"), "add-two");
    m = match("GET", "/v1/model/prod/orders/list");
    ck_assert_str_eq(apr_table_get(m.params, "envType"), "prod");
    ck_assert_str_eq(apr_table_get(m.params, "model"), "orders");
    /* Literal wins over a parameter, and backtracking finds the param route. */
    m = match("GET", "/v1/model/prod/special/list2");
    ck_assert_str_eq(m.route->def.pattern, "/v1/model/prod/special/list2");
    m = match("GET", "/v1/model/prod/special/list");
    ck_assert_str_eq(m.route->def.pattern, "/v1/model/{envType}/{model}/list");
    /* Encoded slashes stay inside one segment. */
    m = match("POST", "/v1/functions/a%2Fb");
    ck_assert_str_eq(apr_table_get(m.params, "name"), "a%2Fb");
}
END_TEST

START_TEST(rest_segments)
{
    cb_match m = match("GET", "/v1/cloudrun/svc/a/b/c");
    ck_assert_int_eq(m.kind, CB_MATCH_FOUND);
    ck_assert_str_eq(apr_table_get(m.params, "name"), "svc");
    ck_assert_str_eq(apr_table_get(m.params, "rest"), "a/b/c");
    m = match("DELETE", "/v1/cloudrun/svc");
    ck_assert_int_eq(m.kind, CB_MATCH_FOUND);
    ck_assert_str_eq(apr_table_get(m.params, "rest"), "");
    m = match("GET", "/v1/cloudrun/svc/");
    ck_assert_int_eq(m.kind, CB_MATCH_FOUND);
    ck_assert_str_eq(apr_table_get(m.params, "rest"), "");
}
END_TEST

START_TEST(not_found_method_and_fall_through)
{
    cb_match m = match("GET", "/v1/functions/x");
    ck_assert_int_eq(m.kind, CB_MATCH_NO_METHOD);
    ck_assert_str_eq(m.allow, "POST");
    m = match("DELETE", "/health");
    ck_assert_int_eq(m.kind, CB_MATCH_NO_METHOD);
    ck_assert_str_eq(m.allow, "GET, HEAD");
    m = match("HEAD", "/health");
    ck_assert_int_eq(m.kind, CB_MATCH_FOUND);
    ck_assert_int_eq(match("POST", "/v1/functions").kind, CB_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("POST", "/v1/functions/a/b").kind, CB_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("POST", "/auth/v1/nope").kind, CB_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/health/x").kind, CB_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/index.html").kind, CB_MATCH_NONE);
    ck_assert_int_eq(match("GET", "/").kind, CB_MATCH_NONE);
    ck_assert_int_eq(match("GET", "/v1").kind, CB_MATCH_NONE);
    ck_assert_int_eq(match("GET", "/v1/other").kind, CB_MATCH_NONE);
    ck_assert_int_eq(match("GET", "/auth").kind, CB_MATCH_NONE);
    ck_assert_int_eq(match("GET", "/authx/v1/signin").kind, CB_MATCH_NONE);
    ck_assert_int_eq(match("GET", "").kind, CB_MATCH_NONE);
    ck_assert_int_eq(match("GET", "*").kind, CB_MATCH_NONE);
}
END_TEST

START_TEST(bad_patterns)
{
    cb_route_def def = {"GET", NULL, dummy, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0};
    static const char *const bad[] = {"no-slash", "/a//b", "/{}", "/{1x}", "/a/{rest*}/b",
                                      "/x{y}", "/{other}", "/health", NULL};
    def.pattern = "/{name}";
    ck_assert_ptr_null(cb_router_add(router, &def, NULL));
    for (int i = 0; bad[i]; i++) {
        def.pattern = bad[i];
        ck_assert_msg(cb_router_add(router, &def, NULL) != NULL, "accepted %s", bad[i]);
    }
}
END_TEST

/* Allow (and a preflight's Access-Control-Allow-Methods) names each
 * method once, also when a route gives HEAD besides its GET (the storage
 * object route) or a method besides "*". */
START_TEST(allow_lists_each_method_once)
{
    cb_match m;
    add("PUT", "/v1/storages/file/{bucket}/{key*}");
    add("POST", "/v1/storages/file/{bucket}/{key*}");
    add("GET", "/v1/storages/file/{bucket}/{key*}");
    add("HEAD", "/v1/storages/file/{bucket}/{key*}");
    m = match("DELETE", "/v1/storages/file/files/a/b.txt");
    ck_assert_int_eq(m.kind, CB_MATCH_NO_METHOD);
    ck_assert_str_eq(m.allow, "PUT, POST, GET, HEAD");
    add("HEAD", "/v1/x/{rest*}");
    add("*", "/v1/x/{rest*}");
    m = match("GET", "/v1/x/y");
    ck_assert_str_eq(m.allow, "HEAD, GET, POST, PUT, PATCH, DELETE, OPTIONS");
}
END_TEST

START_TEST(many_routes)
{
    for (int i = 0; i < 10000; i++)
        add("POST", apr_psprintf(pool, "/v1/bulk/fn%d", i));
    ck_assert_int_eq(cb_router_route_count(router), 10009);
    ck_assert_int_eq(match("POST", "/v1/bulk/fn9999").kind, CB_MATCH_FOUND);
    ck_assert_int_eq(match("POST", "/v1/bulk/fn10000").kind, CB_MATCH_NOT_FOUND);
}
END_TEST

Suite *router_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("match");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, literal_and_params);
    tcase_add_test(tc, rest_segments);
    tcase_add_test(tc, not_found_method_and_fall_through);
    tcase_add_test(tc, bad_patterns);
    tcase_add_test(tc, allow_lists_each_method_once);
    tcase_add_test(tc, many_routes);
    suite_add_tcase(s, tc);
    return s;
}
