/*
 * it_config.c: `apache2 -t` (configtest) against real configurations: a
 * valid one passes; each kind of mistake fails naming file, line and fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

static char output[8192];

/* Writes a config whose site part is `site` and runs configtest. */
static int configtest_site(const char *site)
{
    return it_configtest(it_write_config("test.conf", "event", site), output, sizeof(output));
}

static const char *plugin_dir(void)
{
    return it_plugin_dir();
}

START_TEST(valid_config_passes)
{
    ck_assert_msg(configtest_site(it_default_site()) == 0, "%s", output);
    ck_assert_ptr_nonnull(strstr(output, "Syntax OK"));
}
END_TEST

static void expect_failure(const char *site, const char *const *needles)
{
    int rc = configtest_site(site);
    ck_assert_msg(rc != 0, "configtest passed:\n%s", site);
    for (int i = 0; needles[i]; i++)
        ck_assert_msg(strstr(output, needles[i]) != NULL, "missing '%s' in:\n%s", needles[i],
                      output);
}

START_TEST(plugin_option_errors)
{
    static const char *const unknown[] = {"test.conf:", "plugin testplug",
                                          "unknown option 'greting'", "greeting", NULL};
    static const char *const wrong_type[] = {"test.conf:", "max_body", "expects a size",
                                             NULL};
    static const char *const missing[] = {"test.conf", "missing required option 'greeting'",
                                          NULL};
    static const char *const bad_url[] = {"upstream", "http://", NULL};
    /* Bounds and enum words from the option table, with file:line and the fix. */
    static const char *const too_big[] = {"test.conf:", "plugin testplug",
                                          "'max_body' must be at most 1m", "lower it to 1m",
                                          NULL};
    static const char *const bad_word[] = {"test.conf:", "option 'mode'", "'shout' is not one of plain, loud",
                                           NULL};
    const char *sites[6], *const *needles[6] = {unknown, wrong_type, missing, bad_url, too_big,
                                                bad_word};
    char buf[6][2048];
    snprintf(buf[0], sizeof(buf[0]),
             "CloudBaseEnv demo\nCloudBasePluginDir %s\n<CloudBasePlugin testplug>\n"
             "greting hi\n</CloudBasePlugin>\n", plugin_dir());
    snprintf(buf[1], sizeof(buf[1]),
             "CloudBaseEnv demo\nCloudBasePluginDir %s\n<CloudBasePlugin testplug>\n"
             "greeting hi\nmax_body lots\n</CloudBasePlugin>\n", plugin_dir());
    snprintf(buf[2], sizeof(buf[2]),
             "CloudBaseEnv demo\nCloudBasePluginDir %s\n<CloudBasePlugin testplug>\n"
             "max_body 1k\n</CloudBasePlugin>\n", plugin_dir());
    snprintf(buf[3], sizeof(buf[3]),
             "CloudBaseEnv demo\nCloudBasePluginDir %s\n<CloudBasePlugin testplug>\n"
             "greeting hi\nupstream ftp://x/\n</CloudBasePlugin>\n", plugin_dir());
    snprintf(buf[4], sizeof(buf[4]),
             "CloudBaseEnv demo\nCloudBasePluginDir %s\n<CloudBasePlugin testplug>\n"
             "greeting hi\nmax_body 2m\n</CloudBasePlugin>\n", plugin_dir());
    snprintf(buf[5], sizeof(buf[5]),
             "CloudBaseEnv demo\nCloudBasePluginDir %s\n<CloudBasePlugin testplug>\n"
             "mode shout\ngreeting hi\n</CloudBasePlugin>\n", plugin_dir());
    for (int i = 0; i < 6; i++) {
        sites[i] = buf[i];
        expect_failure(sites[i], needles[i]);
    }
}
END_TEST

START_TEST(plugin_loading_errors)
{
    char site[1024];
    static const char *const bad_abi[] = {"built for plugin ABI 4.", "provides ABI 3.",
                                          "rebuild", NULL};
    static const char *const new_minor[] = {"built for plugin ABI 3.", "newer than the ABI 3.",
                                            "upgrade mod_cloudbase", NULL};
    static const char *const missing[] = {"cannot load plugin 'nosuch'", "CloudBasePluginDir",
                                          NULL};
    static const char *const not_plugin[] = {"not a mod_cloudbase plugin", NULL};
    static const char *const create_fails[] = {"greeting 'fail'", NULL};
    snprintf(site, sizeof(site), "CloudBaseEnv demo\nCloudBasePluginDir %s\n"
             "<CloudBasePlugin badabi>\n</CloudBasePlugin>\n", plugin_dir());
    expect_failure(site, bad_abi);
    snprintf(site, sizeof(site), "CloudBaseEnv demo\nCloudBasePluginDir %s\n"
             "<CloudBasePlugin newminor>\n</CloudBasePlugin>\n", plugin_dir());
    expect_failure(site, new_minor);
    snprintf(site, sizeof(site), "CloudBaseEnv demo\nCloudBasePluginDir %s\n"
             "<CloudBasePlugin nosuch>\n</CloudBasePlugin>\n", plugin_dir());
    expect_failure(site, missing);
    snprintf(site, sizeof(site), "CloudBaseEnv demo\nCloudBasePluginDir %s\n"
             "<CloudBasePlugin nosymbol>\n</CloudBasePlugin>\n", plugin_dir());
    expect_failure(site, not_plugin);
    snprintf(site, sizeof(site), "CloudBaseEnv demo\nCloudBasePluginDir %s\n"
             "<CloudBasePlugin testplug>\ngreeting fail\n</CloudBasePlugin>\n", plugin_dir());
    expect_failure(site, create_fails);
}
END_TEST

START_TEST(directive_errors)
{
    static const char *const domain[] = {"CloudBaseSecureDomains", "not an origin", NULL};
    static const char *const wildcard[] = {"too broad", NULL};
    static const char *const redis[] = {"CloudBaseRedis", "redis://", NULL};
    static const char *const redis_opt[] = {"unknown Redis option 'colour'", NULL};
    static const char *const env[] = {"CloudBaseEnv", NULL};
    static const char *const health[] = {"CloudBaseHealthPath", NULL};
    expect_failure("CloudBaseEnv demo\nCloudBaseSecureDomains https://example.com/path\n", domain);
    expect_failure("CloudBaseEnv demo\nCloudBaseSecureDomains https://*.com\n", wildcard);
    expect_failure("CloudBaseEnv demo\nCloudBaseRedis localhost:6379\n", redis);
    expect_failure("CloudBaseEnv demo\nCloudBaseRedis redis://127.0.0.1 colour=red\n", redis_opt);
    expect_failure("CloudBaseEnv \"bad env\"\n", env);
    expect_failure("CloudBaseEnv demo\nCloudBaseHealthPath health\n", health);
}
END_TEST

START_TEST(secret_errors_do_not_leak)
{
    char site[1024];
    static const char *const needles[] = {"CB_IT_UNSET_SECRET", NULL};
    snprintf(site, sizeof(site), "CloudBaseEnv demo\nCloudBasePluginDir %s\n"
             "<CloudBasePlugin testplug>\ngreeting hi\nsecret env:CB_IT_UNSET_SECRET\n"
             "</CloudBasePlugin>\n", plugin_dir());
    expect_failure(site, needles);
    /* A literal secret that is valid never shows up in any output. */
    snprintf(site, sizeof(site), "CloudBaseEnv demo\nCloudBasePluginDir %s\n"
             "<CloudBasePlugin testplug>\ngreeting hi\nsecret s3cr3t-value\nworkers many\n"
             "</CloudBasePlugin>\n", plugin_dir());
    ck_assert_int_ne(configtest_site(site), 0);
    ck_assert_ptr_null(strstr(output, "s3cr3t-value"));
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("configtest");
    TCase *tc = tcase_create("apache2 -t");
    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, valid_config_passes);
    tcase_add_test(tc, plugin_option_errors);
    tcase_add_test(tc, plugin_loading_errors);
    tcase_add_test(tc, directive_errors);
    tcase_add_test(tc, secret_errors_do_not_leak);
    suite_add_tcase(s, tc);
    return s;
}
