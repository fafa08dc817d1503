/*
 * test_json.c: the core's opaque JSON values (core/json.c,
 * cloudbase/json.h) and "read the body as a JSON object"
 * (cb_req_read_json_object, core/request.c) through the test host:
 * builders and their output order, typed getters on absent and wrong-typed
 * values, object iteration, arrays, sharing between containers and pools
 * (ASan sees any leak or use after free), strict parsing with its cap, and
 * the body's 413 / 400 answers in the route's dialect.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "cloudbase/json.h"
#include "test_host.h"

static apr_pool_t *pool;

static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

START_TEST(builders_keep_order_and_types)
{
    cb_json *o = cb_json_new_object(pool), *a = cb_json_new_array(pool);
    ck_assert_int_eq(cb_json_set_string(o, "s", "x\"y"), 0);
    ck_assert_int_eq(cb_json_set_int(o, "i", INT64_MIN), 0);
    ck_assert_int_eq(cb_json_set_bool(o, "b", 1), 0);
    ck_assert_int_eq(cb_json_set_real(o, "r", 2.5), 0);
    ck_assert_int_eq(cb_json_set_null(o, "n"), 0);
    ck_assert_int_eq(cb_json_set_string(o, "absent", NULL), 0); /* NULL is null */
    ck_assert_int_eq(cb_json_append_string(a, "one"), 0);
    ck_assert_int_eq(cb_json_append_int(a, 2), 0);
    ck_assert_int_eq(cb_json_append(a, cb_json_new_bool(pool, 0)), 0);
    ck_assert_int_eq(cb_json_set(o, "a", a), 0);
    ck_assert_int_eq(cb_json_set(o, "e", cb_json_new_object(pool)), 0);
    ck_assert_str_eq(cb_json_dump(pool, o),
                     "{\"s\":\"x\\\"y\",\"i\":-9223372036854775808,\"b\":true,\"r\":2.5,"
                     "\"n\":null,\"absent\":null,\"a\":[\"one\",2,false],\"e\":{}}");
    /* Replacing keeps the member's place. */
    ck_assert_int_eq(cb_json_set_int(o, "s", 7), 0);
    ck_assert_str_eq(cb_json_dump(pool, cb_json_get(o, "a")), "[\"one\",2,false]");
    ck_assert(!strncmp(cb_json_dump(pool, o), "{\"s\":7,", 7));
    ck_assert_uint_eq(cb_json_object_size(o), 8);
    ck_assert_str_eq(cb_json_dump(pool, NULL), "null");
    ck_assert_str_eq(cb_json_dump(pool, cb_json_new_string(pool, NULL)), "null");
}
END_TEST

START_TEST(setters_refuse_what_they_cannot_hold)
{
    cb_json *o = cb_json_new_object(pool), *a = cb_json_new_array(pool);
    ck_assert_ptr_null(cb_json_new_string(pool, "\xc3\x28"));
    ck_assert_int_eq(cb_json_set_string(o, "bad", "\xff"), -1);
    ck_assert_int_eq(cb_json_set_string(o, "\xff", "ok"), -1);
    ck_assert_int_eq(cb_json_set(o, "x", NULL), -1);
    ck_assert_int_eq(cb_json_set(o, NULL, a), -1);
    ck_assert_int_eq(cb_json_set_int(a, "x", 1), -1);      /* not an object */
    ck_assert_int_eq(cb_json_append_int(o, 1), -1);        /* not an array */
    ck_assert_int_eq(cb_json_append_string(a, "\xc0\xaf"), -1);
    ck_assert_int_eq(cb_json_set_int(NULL, "x", 1), -1);
    ck_assert_str_eq(cb_json_dump(pool, o), "{}");
    ck_assert_str_eq(cb_json_dump(pool, a), "[]");
}
END_TEST

START_TEST(getters_answer_absent_and_wrong_types)
{
    const char *text = "{\"s\":\"h\\u00e9\",\"i\":42,\"r\":1.5,\"t\":true,\"f\":false,\"z\":null,"
                       "\"a\":[\"x\",{\"k\":1}],\"o\":{\"in\":\"side\"}}";
    cb_json *v = cb_json_parse(pool, text, strlen(text), NULL);
    size_t len = 0;
    int64_t i = 0;
    double d = 0;
    int b = -1;
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(cb_json_get_string(v, "s"), "h\xc3\xa9");
    ck_assert_str_eq(cb_json_string_value(cb_json_get(v, "s"), &len), "h\xc3\xa9");
    ck_assert_uint_eq(len, 3);
    ck_assert(cb_json_get_int(v, "i", &i) && i == 42);
    ck_assert(!cb_json_get_int(v, "r", &i));
    ck_assert(!cb_json_get_int(v, "s", &i));
    ck_assert(cb_json_number_value(cb_json_get(v, "r"), &d) && d == 1.5);
    ck_assert(cb_json_number_value(cb_json_get(v, "i"), &d) && d == 42.0);
    ck_assert(cb_json_bool_value(cb_json_get(v, "t"), &b) && b == 1);
    ck_assert(cb_json_bool_value(cb_json_get(v, "f"), &b) && b == 0);
    ck_assert(!cb_json_bool_value(cb_json_get(v, "z"), &b));
    ck_assert_int_eq(cb_json_typeof(cb_json_get(v, "z")), CB_JSON_NULL);
    ck_assert_int_eq(cb_json_typeof(cb_json_get(v, "missing")), CB_JSON_ABSENT);
    ck_assert_int_eq(cb_json_typeof(cb_json_get(v, "i")), CB_JSON_INTEGER);
    ck_assert_int_eq(cb_json_typeof(cb_json_get(v, "r")), CB_JSON_REAL);
    ck_assert_int_eq(cb_json_typeof(cb_json_get(v, "t")), CB_JSON_BOOL);
    ck_assert_int_eq(cb_json_typeof(cb_json_get(v, "a")), CB_JSON_ARRAY);
    ck_assert_int_eq(cb_json_typeof(v), CB_JSON_OBJECT);
    ck_assert_ptr_null(cb_json_get_string(v, "i"));
    ck_assert_ptr_null(cb_json_get_string(v, "missing"));
    ck_assert_ptr_null(cb_json_get_string(NULL, "s"));
    ck_assert_ptr_null(cb_json_get(cb_json_get(v, "a"), "x")); /* an array has no members */
    ck_assert_str_eq(cb_json_get_string(cb_json_get(v, "o"), "in"), "side");
    ck_assert_uint_eq(cb_json_array_size(cb_json_get(v, "a")), 2);
    ck_assert_uint_eq(cb_json_array_size(cb_json_get(v, "o")), 0);
    ck_assert_str_eq(cb_json_string_value(cb_json_array_get(cb_json_get(v, "a"), 0), NULL), "x");
    ck_assert(cb_json_is_object(cb_json_array_get(cb_json_get(v, "a"), 1)));
    ck_assert_ptr_null(cb_json_array_get(cb_json_get(v, "a"), 2));
    ck_assert_ptr_null(cb_json_array_get(v, 0));
    ck_assert_uint_eq(cb_json_object_size(NULL), 0);
}
END_TEST

START_TEST(iteration_in_order)
{
    const char *text = "{\"b\":1,\"a\":2,\"c\":{\"x\":3}}";
    static const char *const keys[] = {"b", "a", "c"};
    cb_json *v = cb_json_parse(pool, text, strlen(text), NULL), *value;
    cb_json_iter it = {0}, empty_it = {0};
    const char *key;
    int n = 0;
    while (cb_json_object_next(v, &it, &key, &value)) {
        ck_assert_int_lt(n, 3);
        ck_assert_str_eq(key, keys[n]);
        ck_assert_ptr_eq(value, cb_json_get(v, key));
        n++;
    }
    ck_assert_int_eq(n, 3);
    ck_assert(!cb_json_object_next(v, &it, &key, &value)); /* stays at the end */
    ck_assert(!cb_json_object_next(cb_json_new_object(pool), &empty_it, &key, &value));
    ck_assert(!cb_json_object_next(cb_json_new_array(pool), &empty_it, &key, &value));
}
END_TEST

/* A value shared by containers of two pools outlives the pool that made it. */
START_TEST(sharing_across_pools)
{
    apr_pool_t *short_lived;
    cb_json *shared, *holder = cb_json_new_object(pool), *list = cb_json_new_array(pool);
    apr_pool_create(&short_lived, pool);
    shared = cb_json_new_object(short_lived);
    cb_json_set_string(shared, "k", "v");
    ck_assert_int_eq(cb_json_set(holder, "shared", shared), 0);
    ck_assert_int_eq(cb_json_append(list, shared), 0);
    cb_json_set_int(shared, "n", 1);                   /* seen from both containers */
    apr_pool_destroy(short_lived);
    ck_assert_str_eq(cb_json_dump(pool, holder), "{\"shared\":{\"k\":\"v\",\"n\":1}}");
    ck_assert_str_eq(cb_json_dump(pool, list), "[{\"k\":\"v\",\"n\":1}]");
}
END_TEST

START_TEST(parse_is_strict_and_capped)
{
    const char *error = NULL;
    char *big;
    ck_assert_ptr_null(cb_json_parse(pool, "{\"a\":1,\"a\":2}", 13, &error));
    ck_assert_ptr_nonnull(strstr(error, "same key twice"));
    ck_assert_ptr_null(cb_json_parse(pool, "{\"a\":\"\\u0000\"}", 14, NULL));
    ck_assert_ptr_null(cb_json_parse(pool, "{\"a\":1e999}", 11, NULL));
    ck_assert_ptr_nonnull(cb_json_parse(pool, "[1,{\"a\":[]}]", 12, NULL));
    /* At most CB_JSON_MAX_TEXT bytes: one more is refused before jansson
     * reads any. */
    big = malloc((size_t)CB_JSON_MAX_TEXT + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', (size_t)CB_JSON_MAX_TEXT + 1);
    big[0] = '[';
    big[CB_JSON_MAX_TEXT - 1] = ']';
    ck_assert_ptr_nonnull(cb_json_parse(pool, big, (size_t)CB_JSON_MAX_TEXT, NULL));
    error = NULL;
    ck_assert_ptr_null(cb_json_parse(pool, big, (size_t)CB_JSON_MAX_TEXT + 1, &error));
    ck_assert_ptr_nonnull(strstr(error, "larger than"));
    free(big);
}
END_TEST

/* ---- cb_req_read_json_object through the test host ---- */

static cb_env *env;

static void body_setup(void)
{
    static const char *const opts[] = {"greeting", "hello", "max_body", "64", NULL};
    const char *err;
    apr_pool_create(&pool, NULL);
    env = th_env_create(pool, "demo");
    err = th_env_add_plugin(env, pool, "testplug", opts);
    ck_assert_msg(err == NULL, "%s", err);
    err = cb_env_build(env, pool);
    ck_assert_msg(err == NULL, "%s", err);
}

static cb_json *answer_of(const th_response *r)
{
    cb_json *v = cb_json_parse(pool, r->body, r->body_len, NULL);
    ck_assert_msg(v != NULL, "not JSON: %s", r->body);
    return v;
}

START_TEST(body_objects_are_read)
{
    th_response r;
    int64_t n = -1;
    th_request(env, pool, "POST", "/v1/test/json", NULL, "{\"name\":\"ann\",\"x\":[1]}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(cb_json_get_int(answer_of(&r), "members", &n) && n == 2);
    ck_assert_str_eq(cb_json_get_string(answer_of(&r), "name"), "ann");
    th_request(env, pool, "POST", "/v1/test/json", NULL, NULL, &r); /* empty: {} */
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"members\":0,\"name\":null}");
    th_request(env, pool, "POST", "/v1/test/json", NULL, " \t{}\n", &r);
    ck_assert_int_eq(r.status, 200);
}
END_TEST

START_TEST(body_too_large_is_413)
{
    th_response r;
    const char *body = apr_pstrcat(pool, "{\"name\":\"", apr_psprintf(pool, "%060d", 0), "\"}",
                                   NULL);                   /* 70 bytes, cap 64 */
    th_request(env, pool, "POST", "/v1/test/json", NULL, body, &r);
    ck_assert_int_eq(r.status, 413);
    ck_assert_str_eq(cb_json_get_string(answer_of(&r), "code"), "PAYLOAD_TOO_LARGE");
    th_request(env, pool, "POST", "/v1/test/oauth-json", NULL, body, &r);
    ck_assert_int_eq(r.status, 413);
    ck_assert_ptr_nonnull(cb_json_get_string(answer_of(&r), "error"));
    ck_assert_ptr_nonnull(cb_json_get_string(answer_of(&r), "error_description"));
}
END_TEST

START_TEST(bad_bodies_are_400_in_the_dialect)
{
    static const char *const bad[] = {"[1]", "\"s\"", "12", "{\"a\":", "{\"a\":1,\"a\":2}",
                                      "{\"a\":\"\\u0000\"}", "nope", NULL};
    th_response r;
    cb_json *v;
    for (int i = 0; bad[i]; i++) {
        th_request(env, pool, "POST", "/v1/test/json", NULL, bad[i], &r);
        ck_assert_msg(r.status == 400, "%s: %d", bad[i], r.status);
        v = answer_of(&r);
        ck_assert_str_eq(cb_json_get_string(v, "code"), "INVALID_REQUEST");
        ck_assert_ptr_nonnull(cb_json_get_string(v, "requestId"));
    }
    th_request(env, pool, "POST", "/v1/test/json", NULL, "[1]", &r);
    ck_assert_str_eq(cb_json_get_string(answer_of(&r), "message"),
                     "the request body must be a JSON object");
    th_request(env, pool, "POST", "/v1/test/json", NULL, "{\"a\":1,\"a\":2}", &r);
    ck_assert_ptr_nonnull(strstr(cb_json_get_string(answer_of(&r), "message"),
                                 "not valid JSON (line 1, column"));
    th_request(env, pool, "POST", "/v1/test/oauth-json", NULL, "[1]", &r);
    ck_assert_int_eq(r.status, 400);
    v = answer_of(&r);
    ck_assert_str_eq(cb_json_get_string(v, "error"), "invalid_request");
    ck_assert_str_eq(cb_json_get_string(v, "error_description"),
                     "the request body must be a JSON object");
}
END_TEST

Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *values = tcase_create("values"), *body = tcase_create("request_body");
    tcase_add_checked_fixture(values, setup, teardown);
    tcase_add_test(values, builders_keep_order_and_types);
    tcase_add_test(values, setters_refuse_what_they_cannot_hold);
    tcase_add_test(values, getters_answer_absent_and_wrong_types);
    tcase_add_test(values, iteration_in_order);
    tcase_add_test(values, sharing_across_pools);
    tcase_add_test(values, parse_is_strict_and_capped);
    suite_add_tcase(s, values);
    tcase_add_checked_fixture(body, body_setup, teardown);
    tcase_add_test(body, body_objects_are_read);
    tcase_add_test(body, body_too_large_is_413);
    tcase_add_test(body, bad_bodies_are_400_in_the_dialect);
    suite_add_tcase(s, body);
    return s;
}
