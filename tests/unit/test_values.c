/*
 * test_values.c: the value parsers (durations, sizes, booleans, integers,
 * URLs, secrets).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcntl.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <check.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/values.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

START_TEST(durations)
{
    int64_t ms;
    ck_assert_ptr_null(cb_parse_duration_ms("250ms", &ms)); ck_assert_int_eq(ms, 250);
    ck_assert_ptr_null(cb_parse_duration_ms("30s", &ms)); ck_assert_int_eq(ms, 30000);
    ck_assert_ptr_null(cb_parse_duration_ms("5m", &ms)); ck_assert_int_eq(ms, 300000);
    ck_assert_ptr_null(cb_parse_duration_ms("2h", &ms)); ck_assert_int_eq(ms, 7200000);
    ck_assert_ptr_null(cb_parse_duration_ms("1d", &ms)); ck_assert_int_eq(ms, 86400000);
    ck_assert_ptr_null(cb_parse_duration_ms("7", &ms)); ck_assert_int_eq(ms, 7000);
    ck_assert_ptr_null(cb_parse_duration_ms("10S", &ms)); ck_assert_int_eq(ms, 10000);
    ck_assert_ptr_nonnull(cb_parse_duration_ms("", &ms));
    ck_assert_ptr_nonnull(cb_parse_duration_ms("s", &ms));
    ck_assert_ptr_nonnull(cb_parse_duration_ms("-5s", &ms));
    ck_assert_ptr_nonnull(cb_parse_duration_ms("5 s", &ms));
    ck_assert_ptr_nonnull(cb_parse_duration_ms("5w", &ms));
    ck_assert_ptr_nonnull(cb_parse_duration_ms("99999999999999999999s", &ms));
    ck_assert_ptr_nonnull(cb_parse_duration_ms("9999999999999999d", &ms));
}
END_TEST

START_TEST(sizes)
{
    int64_t b;
    ck_assert_ptr_null(cb_parse_size("512", &b)); ck_assert_int_eq(b, 512);
    ck_assert_ptr_null(cb_parse_size("64k", &b)); ck_assert_int_eq(b, 65536);
    ck_assert_ptr_null(cb_parse_size("1m", &b)); ck_assert_int_eq(b, 1048576);
    ck_assert_ptr_null(cb_parse_size("1MB", &b)); ck_assert_int_eq(b, 1048576);
    ck_assert_ptr_null(cb_parse_size("2g", &b)); ck_assert_int_eq(b, 2147483648LL);
    ck_assert_ptr_nonnull(cb_parse_size("1t", &b));
    ck_assert_ptr_nonnull(cb_parse_size("k", &b));
    ck_assert_ptr_nonnull(cb_parse_size("1kk", &b));
    ck_assert_ptr_nonnull(cb_parse_size("99999999999999999g", &b));
}
END_TEST

START_TEST(booleans_and_ints)
{
    int v;
    int64_t n;
    ck_assert_ptr_null(cb_parse_bool("On", &v)); ck_assert_int_eq(v, 1);
    ck_assert_ptr_null(cb_parse_bool("false", &v)); ck_assert_int_eq(v, 0);
    ck_assert_ptr_nonnull(cb_parse_bool("maybe", &v));
    ck_assert_ptr_null(cb_parse_int("-42", &n)); ck_assert_int_eq(n, -42);
    ck_assert_ptr_nonnull(cb_parse_int("4x", &n));
    ck_assert_ptr_nonnull(cb_parse_int("", &n));
    ck_assert_ptr_nonnull(cb_parse_int("-", &n));
}
END_TEST

START_TEST(urls)
{
    cb_url u;
    ck_assert_ptr_null(cb_parse_url(pool, "http://127.0.0.1:9000/fn", &u));
    ck_assert_str_eq(u.scheme, "http"); ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_int_eq(u.port, 9000); ck_assert_str_eq(u.path, "/fn");
    ck_assert_ptr_null(cb_parse_url(pool, "HTTPS://Example.COM", &u));
    ck_assert_str_eq(u.host, "example.com"); ck_assert_int_eq(u.port, 443);
    ck_assert_str_eq(u.path, "/");
    ck_assert_ptr_null(cb_parse_url(pool, "http://[::1]:8080/x?y=1", &u));
    ck_assert_str_eq(u.host, "::1"); ck_assert_int_eq(u.port, 8080);
    ck_assert_ptr_nonnull(cb_parse_url(pool, "ftp://example.com/", &u));
    ck_assert_ptr_nonnull(cb_parse_url(pool, "http://user:pw@example.com/", &u));
    ck_assert_ptr_nonnull(cb_parse_url(pool, "http://example.com:0/", &u));
    ck_assert_ptr_nonnull(cb_parse_url(pool, "http://example.com:70000/", &u));
    ck_assert_ptr_nonnull(cb_parse_url(pool, "http:///path", &u));
    ck_assert_ptr_nonnull(cb_parse_url(pool, "http://exa mple.com/", &u));
    ck_assert_ptr_nonnull(cb_parse_url(pool, "http://example.com/#frag", &u));
    ck_assert_ptr_nonnull(cb_parse_url(pool, "http://[::1/", &u));
    ck_assert_ptr_nonnull(cb_parse_url(pool, "", &u));
}
END_TEST

START_TEST(secrets)
{
    const char *v, *err;
    char path[] = "/tmp/cb-secret-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "s3cret\n", 7), 7);
    close(fd);
    ck_assert_ptr_null(cb_parse_secret(pool, apr_pstrcat(pool, "file:", path, NULL), &v));
    ck_assert_str_eq(v, "s3cret");
    setenv("CB_TEST_SECRET", "from-env", 1);
    ck_assert_ptr_null(cb_parse_secret(pool, "env:CB_TEST_SECRET", &v));
    ck_assert_str_eq(v, "from-env");
    err = cb_parse_secret(pool, "env:CB_TEST_SECRET_MISSING", &v);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "CB_TEST_SECRET_MISSING"));
    err = cb_parse_secret(pool, "file:/nonexistent/secret", &v);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(cb_parse_secret(pool, "env:", &v));
    ck_assert_ptr_nonnull(cb_parse_secret(pool, "", &v));
    /* An error never repeats the secret's value. */
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_eq(write(fd, "\n", 1), 1);
    close(fd);
    err = cb_parse_secret(pool, apr_pstrcat(pool, "file:", path, NULL), &v);
    ck_assert_ptr_nonnull(err);
    unlink(path);
}
END_TEST

/* Plugins' list lines: leading words, then key=value settings in order. */
START_TEST(option_lines)
{
    cb_option_line l;
    const char *err;
    ck_assert_ptr_null(cb_option_line_parse(pool, "add-two  http://h:1/\tauth=user timeout=5s",
                                            2, 2, &l));
    ck_assert_int_eq(l.word_count, 2);
    ck_assert_str_eq(l.words[0], "add-two");
    ck_assert_str_eq(l.words[1], "http://h:1/");
    ck_assert_int_eq(l.setting_count, 2);
    ck_assert_str_eq(l.keys[0], "auth");
    ck_assert_str_eq(l.values[0], "user");
    ck_assert_str_eq(cb_option_line_get(&l, "timeout"), "5s");
    ck_assert_ptr_null(cb_option_line_get(&l, "max_body"));
    /* A value may hold '=' (a URL's query, base64 padding). */
    ck_assert_ptr_null(cb_option_line_parse(pool, "photos key=YWJj== backend=local", 1, 1, &l));
    ck_assert_str_eq(cb_option_line_get(&l, "key"), "YWJj==");
    /* Past max_words every word must be a setting. */
    err = cb_option_line_parse(pool, "a b c", 1, 2, &l);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "'c' is not a setting=value pair"));
    /* Words after the first setting are not words again. */
    ck_assert_ptr_nonnull(cb_option_line_parse(pool, "a x=1 b", 1, 2, &l));
    ck_assert_ptr_nonnull(strstr(cb_option_line_parse(pool, "a x=1 x=2", 1, 1, &l),
                                 "x= is given twice"));
    ck_assert_ptr_nonnull(cb_option_line_parse(pool, "a =1", 1, 1, &l));
    ck_assert_ptr_nonnull(cb_option_line_parse(pool, "a x=", 1, 1, &l));
    /* The first min_words words are words even with '=' in them: their
     * own parsers (a URL, a name) say what is wrong with them. */
    ck_assert_ptr_null(cb_option_line_parse(pool, "http://h/?a=1 x=1", 1, 2, &l));
    ck_assert_str_eq(l.words[0], "http://h/?a=1");
    ck_assert_str_eq(cb_option_line_get(&l, "x"), "1");
    err = cb_option_line_parse(pool, "x=1", 2, 2, &l);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "expected 2 words before the settings, found 1"));
    ck_assert_int_eq(l.word_count, 1);
    ck_assert_ptr_nonnull(cb_option_line_parse(pool, "", 1, 1, &l));
    ck_assert_ptr_nonnull(cb_option_line_parse(pool, NULL, 1, 1, &l));
    ck_assert_ptr_null(cb_option_line_parse(pool, "", 0, 0, &l));
    ck_assert_int_eq(l.word_count + l.setting_count, 0);
}
END_TEST

Suite *values_suite(void)
{
    Suite *s = suite_create("values");
    TCase *tc = tcase_create("parsers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, booleans_and_ints);
    tcase_add_test(tc, urls);
    tcase_add_test(tc, secrets);
    tcase_add_test(tc, option_lines);
    suite_add_tcase(s, tc);
    return s;
}
