/*
 * test_options.c: option tables: unknown names, wrong types, duplicates,
 * required values, defaults and the typed getters.
 */
#include <string.h>

#include <check.h>

#include "cb_core.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

static const cb_option_def defs[] = {
    {"name", CB_OPT_STRING, 1, NULL, "what to call it"},
    {"timeout", CB_OPT_DURATION, 0, "30s", "how long to wait"},
    {"max_body", CB_OPT_SIZE, 0, "1m", "largest body"},
    {"enabled", CB_OPT_BOOL, 0, "on", "switch"},
    {"upstream", CB_OPT_URL, 0, NULL, "where to"},
    {"count", CB_OPT_INT, 0, NULL, "how many"},
    {NULL, 0, 0, NULL, NULL}
};

START_TEST(valid_block)
{
    cb_options *o = cb_options_create(pool, defs);
    ck_assert_ptr_null(cb_options_set(o, pool, "name", "x"));
    ck_assert_ptr_null(cb_options_set(o, pool, "Timeout", "2m"));
    ck_assert_ptr_null(cb_options_set(o, pool, "upstream", "http://127.0.0.1:1/"));
    ck_assert_ptr_null(cb_options_finish(o, pool));
    ck_assert_str_eq(cb_opt_string(o, "name"), "x");
    ck_assert_int_eq(cb_opt_duration_ms(o, "timeout", 0), 120000);
    ck_assert_int_eq(cb_opt_size(o, "max_body", 0), 1048576);
    ck_assert_int_eq(cb_opt_bool(o, "enabled", 0), 1);
    ck_assert_int_eq(cb_opt_int(o, "count", 7), 7);
    ck_assert_str_eq(cb_opt_string(o, "upstream"), "http://127.0.0.1:1/");
}
END_TEST

START_TEST(errors_name_the_fix)
{
    cb_options *o = cb_options_create(pool, defs);
    const char *err = cb_options_set(o, pool, "timeuot", "1s");
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "unknown option 'timeuot'"));
    ck_assert_ptr_nonnull(strstr(err, "timeout"));
    err = cb_options_set(o, pool, "timeout", "soon");
    ck_assert_ptr_nonnull(strstr(err, "duration"));
    err = cb_options_set(o, pool, "enabled", "perhaps");
    ck_assert_ptr_nonnull(strstr(err, "boolean"));
    err = cb_options_set(o, pool, "upstream", "ftp://x");
    ck_assert_ptr_nonnull(strstr(err, "http://"));
    ck_assert_ptr_null(cb_options_set(o, pool, "count", "3"));
    err = cb_options_set(o, pool, "count", "4");
    ck_assert_ptr_nonnull(strstr(err, "twice"));
    err = cb_options_finish(o, pool);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "missing required option 'name'"));
}
END_TEST

Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("tables");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, valid_block);
    tcase_add_test(tc, errors_name_the_fix);
    suite_add_tcase(s, tc);
    return s;
}
