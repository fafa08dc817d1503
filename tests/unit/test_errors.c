/*
 * test_errors.c: error bodies in each dialect, request ids, and parse
 * errors worded for the client.
 */
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "cb_core.h"
#include "cloudbase/json.h"

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

/* Details set for a request: beside requestId in the TestBase dialect
 * only; requestId is never replaced; a value that is not UTF-8 is left
 * out. */
START_TEST(testbase_details)
{
    apr_table_t *details = apr_table_make(pool, 3);
    json_t *v, *d;
    apr_table_set(details, "containerId", "abc123");
    apr_table_set(details, "requestId", "forged");
    apr_table_set(details, "bad", "\xff\xfe");
    v = json_loads(cb_error_body_details(pool, CB_DIALECT_TESTBASE, "SERVICE_UNAVAILABLE",
                                         "down", "rid-2", details), 0, NULL);
    ck_assert_ptr_nonnull(v);
    d = json_object_get(json_object_get(v, "error"), "details");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "error"), "code")),
                     "unavailable");
    ck_assert_str_eq(json_string_value(json_object_get(d, "containerId")), "abc123");
    ck_assert_str_eq(json_string_value(json_object_get(d, "requestId")), "rid-2");
    ck_assert_ptr_null(json_object_get(d, "bad"));
    json_decref(v);
    v = json_loads(cb_error_body_details(pool, CB_DIALECT_CLOUDBASE, "SERVICE_UNAVAILABLE",
                                         "down", "rid-2", details), 0, NULL);
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_null(json_object_get(v, "containerId"));
    ck_assert_ptr_null(json_object_get(v, "details"));
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

/* cb_json_parse's messages reach clients (the auth plugin forwards them):
 * the problem in plain words, never jansson's text or flag names. */
START_TEST(json_parse_errors_are_the_gateways_words)
{
    static const struct {
        const char *text;
        size_t len;
        const char *problem;
    } cases[] = {
        {"{\"a\":\"x\\u0000y\"}", 0, "NUL character"},
        {"{\"a\\u0000\":1}", 0, "NUL character"},
        {"{\"a\":\"x\0y\"}", 11, "unexpected text"},
        {"{\"a\":1", 0, "ends too early"},
        {"{\"a\":1,\"a\":2}", 0, "same key twice"},
        {"{} {}", 0, "more text after"},
        {"[1,]", 0, "unexpected text"},
        {"\"\xc3\x28\"", 0, "UTF-8"},
        {"123456789012345678901234567890", 0, "too large"},
    };
    static const char *const internals[] = {"JSON_", "jansson", "near", "' expected", "'['",
                                            NULL};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *error = NULL;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        ck_assert_ptr_null(cb_json_parse(pool, cases[i].text, len, &error));
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(strncmp(error, "the body is not valid JSON (line 1, column ", 43) == 0,
                      "%s", error);
        ck_assert_msg(strstr(error, cases[i].problem), "case %zu: %s", i, error);
        for (int w = 0; internals[w]; w++)
            ck_assert_msg(!strstr(error, internals[w]), "'%s' in %s", internals[w], error);
    }
    ck_assert_ptr_nonnull(cb_json_parse(pool, "{\"a\":[1,2]}", 11, NULL));
}
END_TEST

Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("dialects");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dialects);
    tcase_add_test(tc, testbase_details);
    tcase_add_test(tc, request_ids);
    tcase_add_test(tc, json_parse_errors_are_the_gateways_words);
    suite_add_tcase(s, tc);
    return s;
}
