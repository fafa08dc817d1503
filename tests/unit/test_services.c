/*
 * test_services.c: services between plugins with two test plugins, svcpub
 * (publishes test.greeter) and svcuse (needs it): either load order works,
 * a missing, too old or twice-published service fails the build with a
 * clear message, and a lookup from create() is refused.
 */
#include <string.h>

#include <check.h>

#include "test_host.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

/* Builds an environment from "plugin", options..., NULL groups. */
static cb_env *env_with(const char *first, const char *const *first_opts, const char *second,
                        const char *const *second_opts, const char **err)
{
    cb_env *env = th_env_create(pool, "svc");
    ck_assert_ptr_null(th_env_add_plugin(env, pool, first, first_opts));
    if (second)
        ck_assert_ptr_null(th_env_add_plugin(env, pool, second, second_opts));
    *err = cb_env_build(env, pool);
    return env;
}

static void assert_greeted(cb_env *env)
{
    th_response r;
    th_request(env, pool, "GET", "/v1/svcuse/hello/ada", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "\"text\":\"hello, ada (from svcpub)\""), "%s", r.body);
}

START_TEST(either_load_order_resolves)
{
    const char *err;
    cb_env *env = env_with("svcpub", NULL, "svcuse", NULL, &err);
    ck_assert_msg(err == NULL, "%s", err);
    assert_greeted(env);
    env = env_with("svcuse", NULL, "svcpub", NULL, &err);
    ck_assert_msg(err == NULL, "%s", err);
    assert_greeted(env);
}
END_TEST

START_TEST(missing_required_service_fails_the_build)
{
    const char *err;
    env_with("svcuse", NULL, NULL, NULL, &err);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "plugin svcuse needs service 'test.greeter' (version 2 or newer)") &&
                      strstr(err, "no plugin of environment svc publishes"), "%s", err);
}
END_TEST

START_TEST(too_old_service_fails_the_build)
{
    static const char *const v1[] = {"version", "1", NULL};
    static const char *const wants3[] = {"min_version", "3", NULL};
    const char *err;
    env_with("svcpub", v1, "svcuse", NULL, &err);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "needs service 'test.greeter' version 2 or newer; plugin svcpub "
                              "publishes version 1"), "%s", err);
    env_with("svcuse", wants3, "svcpub", NULL, &err);
    ck_assert_msg(err && strstr(err, "version 3 or newer"), "%s", err ? err : "(none)");
    /* An older user is served by a newer publisher. */
    {
        static const char *const wants1[] = {"min_version", "1", NULL};
        cb_env *env = env_with("svcuse", wants1, "svcpub", NULL, &err);
        ck_assert_msg(err == NULL, "%s", err);
        assert_greeted(env);
    }
}
END_TEST

START_TEST(optional_service_absent_is_null)
{
    static const char *const optional[] = {"required", "off", NULL};
    const char *err;
    th_response r;
    cb_env *env = env_with("svcuse", optional, NULL, NULL, &err);
    ck_assert_msg(err == NULL, "%s", err);
    th_request(env, pool, "GET", "/v1/svcuse/hello/ada", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 503);
    /* Present but too old counts as absent. */
    {
        static const char *const v1[] = {"version", "1", NULL};
        env = env_with("svcpub", v1, "svcuse", optional, &err);
        ck_assert_msg(err == NULL, "%s", err);
        th_request(env, pool, "GET", "/v1/svcuse/hello/ada", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 503);
    }
}
END_TEST

START_TEST(service_published_twice_fails)
{
    const char *err;
    env_with("svcpub", NULL, "svcpub", NULL, &err);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "service 'test.greeter' is already published by plugin svcpub"),
                  "%s", err);
}
END_TEST

START_TEST(lookup_in_create_is_refused)
{
    static const char *const early[] = {"lookup_in_create", "on", NULL};
    const char *err;
    env_with("svcpub", NULL, "svcuse", early, &err);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "look services up in the plugin's resolve hook"), "%s", err);
}
END_TEST

START_TEST(environments_have_separate_registries)
{
    const char *err;
    cb_env *with = env_with("svcpub", NULL, "svcuse", NULL, &err);
    ck_assert_msg(err == NULL, "%s", err);
    env_with("svcuse", NULL, NULL, NULL, &err);
    ck_assert_ptr_nonnull(err); /* the first environment's greeter is not this one's */
    assert_greeted(with);
}
END_TEST

Suite *services_suite(void)
{
    Suite *s = suite_create("service_registry");
    TCase *tc = tcase_create("registry");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, either_load_order_resolves);
    tcase_add_test(tc, missing_required_service_fails_the_build);
    tcase_add_test(tc, too_old_service_fails_the_build);
    tcase_add_test(tc, optional_service_absent_is_null);
    tcase_add_test(tc, service_published_twice_fails);
    tcase_add_test(tc, lookup_in_create_is_refused);
    tcase_add_test(tc, environments_have_separate_registries);
    suite_add_tcase(s, tc);
    return s;
}
