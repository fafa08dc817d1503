/*
 * test_errors.c: error bodies in each dialect, and request ids.
 */
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "cb_core.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

static json_t *body(cb_dialect d, const char *code)
{
    const char *text = cb_error_body(pool, d, 400, code, "bad \"input\"", "rid-1");
    json_t *v = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(v);
    return v;
}

START_TEST(dialects)
{
    json_t *v = body(CB_DIALECT_CLOUDBASE, "INVALID_PARAM");
    ck_assert_str_eq(json_string_value(json_object_get(v, "code")), "INVALID_PARAM");
    ck_assert_str_eq(json_string_value(json_object_get(v, "message")), "bad \"input\"");
    ck_assert_str_eq(json_string_value(json_object_get(v, "requestId")), "rid-1");
    json_decref(v);
    v = body(CB_DIALECT_OAUTH, "INVALID_PARAM");
    ck_assert_str_eq(json_string_value(json_object_get(v, "error")), "invalid_request");
    ck_assert_str_eq(json_string_value(json_object_get(v, "error_description")), "bad \"input\"");
    json_decref(v);
    v = body(CB_DIALECT_TOSE, "PERMISSION_DENIED");
    ck_assert(json_is_false(json_object_get(v, "success")));
    ck_assert_str_eq(json_string_value(json_object_get(v, "error")), "bad \"input\"");
    json_decref(v);
    v = body(CB_DIALECT_TESTBASE, "PERMISSION_DENIED");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "error"), "code")),
                     "forbidden");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(v, "error"), "details"));
    json_decref(v);
    v = body(CB_DIALECT_OAUTH, "SOMETHING_NEW");
    ck_assert_str_eq(json_string_value(json_object_get(v, "error")), "something_new");
    json_decref(v);
}
END_TEST

START_TEST(request_ids)
{
    const char *a = cb_request_id(pool, NULL), *b = cb_request_id(pool, NULL);
    ck_assert_int_eq(strlen(a), 32);
    ck_assert_str_ne(a, b);
    ck_assert_str_eq(cb_request_id(pool, "0f8fad5b-d9cb-469f-a165-70867728950e"),
                     "0f8fad5b-d9cb-469f-a165-70867728950e");
    ck_assert_str_ne(cb_request_id(pool, "bad id\r\nX-Injected: 1"), "bad id\r\nX-Injected: 1");
    ck_assert_int_eq(strlen(cb_request_id(pool, "")), 32);
    ck_assert(!cb_request_id_is_sane("<script>"));
    ck_assert(!cb_request_id_is_sane("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("dialects");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dialects);
    tcase_add_test(tc, request_ids);
    suite_add_tcase(s, tc);
    return s;
}
