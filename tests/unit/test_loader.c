/*
 * test_loader.c: loading plugins: a good one, the ABI rules (another major
 * and a newer minor refused, an older minor accepted with later members
 * zero), a shared object without the descriptor, a missing file and a bad
 * name; and create() errors surfacing from the environment build.
 */
#include <stddef.h>
#include <string.h>

#include <apr_strings.h>
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
    ck_assert_int_eq(a->desc->abi_major, CB_PLUGIN_ABI_MAJOR);
    ck_assert_int_eq(a->desc->abi_minor, CB_PLUGIN_ABI_MINOR);
    ck_assert_uint_eq(a->desc->descriptor_size, sizeof(cb_plugin));
    ck_assert_ptr_nonnull(a->desc->after_response);
    ck_assert_ptr_null(cb_plugin_load(pool, th_plugin_dir(), "testplug", &b));
    ck_assert_ptr_eq(a, b);
}
END_TEST

START_TEST(refuses_bad_plugins)
{
    cb_loaded_plugin *lp;
    const char *err = cb_plugin_load(pool, th_plugin_dir(), "nosymbol", &lp);
    ck_assert_ptr_nonnull(err);
    err = cb_plugin_load(pool, th_plugin_dir(), "nosymbol", &lp);
    ck_assert_ptr_nonnull(strstr(err, "not a mod_cloudbase plugin"));
    err = cb_plugin_load(pool, th_plugin_dir(), "missing", &lp);
    ck_assert_ptr_nonnull(strstr(err, "cannot load plugin 'missing'"));
    err = cb_plugin_load(pool, th_plugin_dir(), "../etc/passwd", &lp);
    ck_assert_ptr_nonnull(strstr(err, "invalid"));
}
END_TEST

START_TEST(refuses_another_major)
{
    cb_loaded_plugin *lp = NULL;
    const char *err = cb_plugin_load(pool, th_plugin_dir(), "badabi", &lp);
    const char *plugin_abi = apr_psprintf(pool, "built for plugin ABI %d.%d",
                                          CB_PLUGIN_ABI_MAJOR + 1, CB_PLUGIN_ABI_MINOR);
    const char *core_abi = apr_psprintf(pool, "provides ABI %d.%d", CB_PLUGIN_ABI_MAJOR,
                                        CB_PLUGIN_ABI_MINOR);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, plugin_abi) && strstr(err, core_abi), "%s", err);
    ck_assert_ptr_nonnull(strstr(err, "rebuild the plugin"));
    ck_assert_ptr_null(lp);
}
END_TEST

START_TEST(refuses_a_newer_minor)
{
    cb_loaded_plugin *lp = NULL;
    const char *err = cb_plugin_load(pool, th_plugin_dir(), "newminor", &lp);
    const char *plugin_abi = apr_psprintf(pool, "built for plugin ABI %d.%d, newer",
                                          CB_PLUGIN_ABI_MAJOR, CB_PLUGIN_ABI_MINOR + 1);
    const char *core_abi = apr_psprintf(pool, "ABI %d.%d this mod_cloudbase provides",
                                        CB_PLUGIN_ABI_MAJOR, CB_PLUGIN_ABI_MINOR);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, plugin_abi) && strstr(err, core_abi), "%s", err);
    ck_assert_ptr_nonnull(strstr(err, "upgrade mod_cloudbase"));
    ck_assert_ptr_null(lp);
}
END_TEST

/* oldminor.so carries the ABI 3.0 descriptor followed by 0xa5 bytes: the
 * core's copy must hold the descriptor and zeros after it (3.1 added
 * functions, no member, so there is nothing after it yet: the byte check
 * guards the first member a 3.x minor adds). */
START_TEST(accepts_an_older_minor)
{
    cb_loaded_plugin *lp = NULL;
    const unsigned char *bytes;
    ck_assert_ptr_null(cb_plugin_load(pool, th_plugin_dir(), "oldminor", &lp));
    ck_assert_str_eq(lp->desc->name, "oldminor");
    ck_assert_int_eq(lp->desc->abi_minor, 0);
    ck_assert_ptr_null(lp->desc->create);
    bytes = (const unsigned char *)lp->desc;
    for (size_t i = lp->desc->descriptor_size; i < sizeof(cb_plugin); i++)
        ck_assert_msg(bytes[i] == 0, "byte %zu past the plugin's descriptor is %#x", i, bytes[i]);
    /* The same descriptor seen by a core one minor ahead: still accepted. */
    ck_assert_ptr_null(cb_plugin_abi_refusal(pool, lp->path, lp->desc, CB_PLUGIN_ABI_MAJOR,
                                             CB_PLUGIN_ABI_MINOR + 1));
}
END_TEST

/* A descriptor smaller than ABI 3.0's, or larger than the core's struct
 * while claiming an older or equal minor, is malformed. */
START_TEST(refuses_malformed_sizes)
{
    cb_plugin desc = {CB_PLUGIN_HEADER, .name = "x"};
    const char *err;
    desc.descriptor_size = offsetof(cb_plugin, resolve);
    err = cb_plugin_abi_refusal(pool, "x.so", &desc, CB_PLUGIN_ABI_MAJOR, CB_PLUGIN_ABI_MINOR);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "CB_PLUGIN_HEADER"));
    desc.descriptor_size = sizeof(cb_plugin) + 8;
    ck_assert_ptr_nonnull(cb_plugin_abi_refusal(pool, "x.so", &desc, CB_PLUGIN_ABI_MAJOR,
                                                CB_PLUGIN_ABI_MINOR));
    desc.descriptor_size = sizeof(cb_plugin);
    ck_assert_ptr_null(cb_plugin_abi_refusal(pool, "x.so", &desc, CB_PLUGIN_ABI_MAJOR,
                                             CB_PLUGIN_ABI_MINOR));
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
    tcase_add_test(tc, refuses_another_major);
    tcase_add_test(tc, refuses_a_newer_minor);
    tcase_add_test(tc, accepts_an_older_minor);
    tcase_add_test(tc, refuses_malformed_sizes);
    tcase_add_test(tc, create_errors_fail_the_build);
    tcase_add_test(tc, missing_required_option);
    suite_add_tcase(s, tc);
    return s;
}
