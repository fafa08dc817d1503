/*
 * test_allowlist.c: the secure-domain allowlist, including every spoof the
 * foundation issue lists.
 */
#include <check.h>

#include "cb_core.h"

static apr_pool_t *pool;
static cb_allowlist *list;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    list = cb_allowlist_create(pool);
    ck_assert_ptr_null(cb_allowlist_add(list, pool, "https://example.com"));
    ck_assert_ptr_null(cb_allowlist_add(list, pool, "https://*.apps.example.org"));
    ck_assert_ptr_null(cb_allowlist_add(list, pool, "http://127.0.0.1:8080"));
    ck_assert_ptr_null(cb_allowlist_add(list, pool, "HTTPS://Shop.Example.NET:443"));
}
static void teardown(void) { apr_pool_destroy(pool); }

START_TEST(exact_entries)
{
    ck_assert(cb_allowlist_allows(list, "https://example.com"));
    ck_assert(cb_allowlist_allows(list, "https://EXAMPLE.com"));
    ck_assert(cb_allowlist_allows(list, "https://example.com:443"));
    ck_assert(cb_allowlist_allows(list, "http://127.0.0.1:8080"));
    ck_assert(cb_allowlist_allows(list, "https://shop.example.net"));
    ck_assert_int_eq(cb_allowlist_count(list), 4);
}
END_TEST

START_TEST(spoofs_refused)
{
    static const char *const spoofs[] = {
        "https://example.com.evil.com", "https://evil-example.com", "null",
        "http://example.com", "https://example.com:8443", "https://example.com/",
        "https://example.com/path", "https://user@example.com", "https://example.com.",
        "https://sub.example.com", "https://example.com\r\nX: y", "https://exa%6dple.com",
        "http://127.0.0.1:8081", "http://127.0.0.1", "https://127.0.0.1:8080", "",
        "example.com", "//example.com", "https://", "https://:443", "https://example..com",
        NULL};
    for (int i = 0; spoofs[i]; i++)
        ck_assert_msg(!cb_allowlist_allows(list, spoofs[i]), "allowed %s", spoofs[i]);
    ck_assert(!cb_allowlist_allows(list, NULL));
}
END_TEST

START_TEST(wildcards)
{
    ck_assert(cb_allowlist_allows(list, "https://a.apps.example.org"));
    ck_assert(cb_allowlist_allows(list, "https://a.b.apps.example.org"));
    ck_assert(!cb_allowlist_allows(list, "https://apps.example.org"));
    ck_assert(!cb_allowlist_allows(list, "https://evilapps.example.org"));
    ck_assert(!cb_allowlist_allows(list, "https://a.apps.example.org.evil.com"));
    ck_assert(!cb_allowlist_allows(list, "http://a.apps.example.org"));
    ck_assert(!cb_allowlist_allows(list, "https://a.apps.example.org:8443"));
}
END_TEST

START_TEST(bad_entries)
{
    static const char *const bad[] = {"example.com", "https://example.com/", "*",
                                      "https://*.com", "https://*", "ftp://example.com",
                                      "https://ex ample.com", "https://a.*.example.com", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(cb_allowlist_add(list, pool, bad[i]) != NULL, "accepted %s", bad[i]);
    /* A refused entry leaves nothing behind (found by fuzz_allowlist). */
    ck_assert_int_eq(cb_allowlist_count(list), 4);
    ck_assert(!cb_allowlist_allows(list, "https://a.com"));
}
END_TEST

START_TEST(normalize)
{
    ck_assert_str_eq(cb_origin_normalize(pool, "HTTP://LocalHost:80"), "http://localhost");
    ck_assert_str_eq(cb_origin_normalize(pool, "http://localhost:8080"), "http://localhost:8080");
    ck_assert_ptr_null(cb_origin_normalize(pool, "null"));
}
END_TEST

Suite *allowlist_suite(void)
{
    Suite *s = suite_create("allowlist");
    TCase *tc = tcase_create("origins");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, exact_entries);
    tcase_add_test(tc, spoofs_refused);
    tcase_add_test(tc, wildcards);
    tcase_add_test(tc, bad_entries);
    tcase_add_test(tc, normalize);
    suite_add_tcase(s, tc);
    return s;
}
