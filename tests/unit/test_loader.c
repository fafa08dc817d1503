/*
 * test_loader.c: loading plugins: a good one, a wrong ABI version, a shared
 * object without the descriptor, a missing file and a bad name; and create()
 * errors surfacing from the environment build.
 */
#include <string.h>

#include <check.h>

#include "test_host.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

START_TEST(loads_good_plugin_once)
{
    cb_loaded_plugin *a, *b;
    ck_assert_ptr_null(cb_plugin_load(pool, th_plugin_dir(), "testplug", &a));
    ck_assert_str_eq(a->desc->name, "testplug");
    ck_assert_int_eq(a->desc->abi_version, CB_PLUGIN_ABI_VERSION);
    ck_assert_ptr_null(cb_plugin_load(pool, th_plugin_dir(), "testplug", &b));
    ck_assert_ptr_eq(a, b);
}
END_TEST

START_TEST(refuses_bad_plugins)
{
    cb_loaded_plugin *lp;
    const char *err = cb_plugin_load(pool, th_plugin_dir(), "badabi", &lp);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "ABI version 999"));
    ck_assert_ptr_nonnull(strstr(err, "rebuild"));
    err = cb_plugin_load(pool, th_plugin_dir(), "nosymbol", &lp);
    ck_assert_ptr_nonnull(strstr(err, "not a mod_cloudbase plugin"));
    err = cb_plugin_load(pool, th_plugin_dir(), "missing", &lp);
    ck_assert_ptr_nonnull(strstr(err, "cannot load plugin 'missing'"));
    err = cb_plugin_load(pool, th_plugin_dir(), "../etc/passwd", &lp);
    ck_assert_ptr_nonnull(strstr(err, "invalid"));
}
END_TEST

START_TEST(create_errors_fail_the_build)
{
    static const char *const opts[] = {"greeting", "fail", NULL};
    cb_env *env = th_env_create(pool, "t");
    const char *err;
    ck_assert_ptr_null(th_env_add_plugin(env, pool, "testplug", opts));
    err = cb_env_build(env, pool);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "greeting 'fail'"));
}
END_TEST

START_TEST(missing_required_option)
{
    cb_env *env = th_env_create(pool, "t");
    const char *err = th_env_add_plugin(env, pool, "testplug", NULL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "greeting"));
}
END_TEST

Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("plugins");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, loads_good_plugin_once);
    tcase_add_test(tc, refuses_bad_plugins);
    tcase_add_test(tc, create_errors_fail_the_build);
    tcase_add_test(tc, missing_required_option);
    suite_add_tcase(s, tc);
    return s;
}
