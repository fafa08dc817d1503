/*
 * test_options.c: option tables: unknown names, wrong types, duplicates,
 * required values, defaults, bounds and enums (with the fix in the message),
 * and the typed getters, which abort on a name that is not in the table or
 * on the wrong type (Check forks each test, so the abort is observed as
 * SIGABRT).
 */
#include <signal.h>
#include <string.h>

#include <check.h>

#include "cb_core.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

static const char *const colours[] = {"red", "green", NULL};

static const cb_option_def defs[] = {
    {.name = "name", .type = CB_OPT_STRING, .required = 1, .help = "what to call it"},
    {.name = "timeout", .type = CB_OPT_DURATION, .default_value = "30s", CB_OPT_MIN(1000),
     CB_OPT_MAX(3600000), .help = "how long to wait"},
    {.name = "max_body", .type = CB_OPT_SIZE, .default_value = "1m", CB_OPT_MAX(64 << 20),
     .help = "largest body"},
    {.name = "enabled", .type = CB_OPT_BOOL, .default_value = "on", .help = "switch"},
    {.name = "upstream", .type = CB_OPT_URL, .help = "where to"},
    {.name = "count", .type = CB_OPT_INT, CB_OPT_MIN(0), CB_OPT_MAX(10), .help = "how many"},
    {.name = "colour", .type = CB_OPT_ENUM, .default_value = "green", .choices = colours,
     .help = "what colour"},
    {0}
};

START_TEST(valid_block)
{
    cb_options *o = cb_options_create(pool, defs);
    ck_assert_ptr_null(cb_options_set(o, pool, "name", "x"));
    ck_assert_ptr_null(cb_options_set(o, pool, "Timeout", "2m"));
    ck_assert_ptr_null(cb_options_set(o, pool, "upstream", "http://127.0.0.1:1/"));
    ck_assert_ptr_null(cb_options_finish(o, pool));
    ck_assert_str_eq(cb_opt_string(o, "name"), "x");
    ck_assert_int_eq(cb_opt_duration_ms(o, "timeout"), 120000);
    ck_assert_int_eq(cb_opt_size(o, "max_body"), 1048576);
    ck_assert_int_eq(cb_opt_bool(o, "enabled"), 1);
    ck_assert_int_eq(cb_opt_int(o, "count"), 0);
    ck_assert_int_eq(cb_opt_is_set(o, "count"), 0);
    ck_assert_int_eq(cb_opt_is_set(o, "timeout"), 1);
    ck_assert_int_eq(cb_opt_is_set(o, "max_body"), 0);
    ck_assert_str_eq(cb_opt_string(o, "colour"), "green");
    ck_assert_int_eq(cb_opt_enum(o, "colour"), 1);
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

START_TEST(bounds_and_enums_name_the_fix)
{
    cb_options *o = cb_options_create(pool, defs);
    const char *err = cb_options_set(o, pool, "timeout", "500ms");
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "'timeout' must be at least 1s") && strstr(err, "raise it to 1s"),
                  "%s", err);
    err = cb_options_set(o, pool, "timeout", "2h");
    ck_assert_msg(err && strstr(err, "at most 1h") && strstr(err, "lower it to 1h"), "%s", err);
    err = cb_options_set(o, pool, "max_body", "65m");
    ck_assert_msg(err && strstr(err, "at most 64m"), "%s", err);
    err = cb_options_set(o, pool, "count", "-1");
    ck_assert_msg(err && strstr(err, "at least 0"), "%s", err);
    err = cb_options_set(o, pool, "count", "11");
    ck_assert_msg(err && strstr(err, "at most 10"), "%s", err);
    err = cb_options_set(o, pool, "colour", "blue");
    ck_assert_msg(err && strstr(err, "'blue' is not one of red, green"), "%s", err);
    /* The bounds themselves are allowed, and enum words ignore case. */
    ck_assert_ptr_null(cb_options_set(o, pool, "timeout", "1h"));
    ck_assert_ptr_null(cb_options_set(o, pool, "count", "10"));
    ck_assert_ptr_null(cb_options_set(o, pool, "colour", "RED"));
    ck_assert_ptr_null(cb_options_set(o, pool, "name", "x"));
    ck_assert_ptr_null(cb_options_finish(o, pool));
    ck_assert_str_eq(cb_opt_string(o, "colour"), "red");
    ck_assert_int_eq(cb_opt_enum(o, "colour"), 0);
    ck_assert_int_eq(cb_opt_int(o, "count"), 10);
}
END_TEST

/* A default outside the table's own bounds is the plugin's bug. */
START_TEST(default_outside_bounds_is_a_plugin_bug)
{
    static const cb_option_def bad[] = {
        {.name = "workers", .type = CB_OPT_INT, .default_value = "0", CB_OPT_MIN(1)},
        {0}
    };
    cb_options *o = cb_options_create(pool, bad);
    const char *err = cb_options_finish(o, pool);
    ck_assert_msg(err && strstr(err, "plugin bug: default of option 'workers'"), "%s", err);
}
END_TEST

/* Getters for names not in the table, or of the wrong type, abort. */
START_TEST(getter_unknown_name_aborts)
{
    cb_options *o = cb_options_create(pool, defs);
    ck_assert_ptr_null(cb_options_set(o, pool, "name", "x"));
    ck_assert_ptr_null(cb_options_finish(o, pool));
    (void)cb_opt_int(o, "cuont");
}
END_TEST

START_TEST(getter_unknown_string_aborts)
{
    cb_options *o = cb_options_create(pool, defs);
    (void)cb_opt_string(o, "nmae");
}
END_TEST

START_TEST(getter_wrong_type_aborts)
{
    cb_options *o = cb_options_create(pool, defs);
    (void)cb_opt_int(o, "timeout"); /* a duration: cb_opt_duration_ms */
}
END_TEST

Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("tables");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, valid_block);
    tcase_add_test(tc, errors_name_the_fix);
    tcase_add_test(tc, bounds_and_enums_name_the_fix);
    tcase_add_test(tc, default_outside_bounds_is_a_plugin_bug);
    suite_add_tcase(s, tc);
    tc = tcase_create("getters");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test_raise_signal(tc, getter_unknown_name_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, getter_unknown_string_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, getter_wrong_type_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}
