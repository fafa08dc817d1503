/*
 * test_usage_scan.c: the answer's token usage (core/usage_scan.c): a JSON
 * answer, an SSE stream whose last chunk carries usage (with "usage": null
 * before it), the answer cut into pieces at every byte, the counts read
 * (total, prompt + completion, input + output), and what is not usage (a
 * quoted "usage" inside a string, an object too large, bad counts).
 */
#include <string.h>

#include <check.h>

#include "cloudbase/cloudbase.h"
#include "usage_scan.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

/* The tokens found when text is fed in pieces of `step` bytes; -1 for none. */
static int64_t scan(const char *text, size_t step)
{
    cb_usage_scan *s = cb_usage_scan_create(pool);
    size_t len = strlen(text);
    int64_t tokens;
    for (size_t at = 0; at < len; at += step)
        cb_usage_scan_feed(s, text + at, len - at < step ? len - at : step);
    return cb_usage_scan_tokens(s, &tokens) ? tokens : -1;
}

static const char json_answer[] =
    "{\"id\":\"c1\",\"choices\":[{\"message\":{\"content\":\"say \\\"usage\\\": {\\\"total_tokens\\\":1}\"}}],"
    "\"usage\" : {\"prompt_tokens\":12,\"completion_tokens\":30,\"total_tokens\":42,"
    "\"prompt_tokens_details\":{\"cached_tokens\":0}}}";

static const char sse_answer[] =
    "data: {\"choices\":[{\"delta\":{\"content\":\"a}\"}}],\"usage\":null}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}],\"usage\":null}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":5}}\n\n"
    "data: [DONE]\n\n";

START_TEST(json_and_stream_in_any_pieces)
{
    for (size_t step = 1; step <= sizeof(json_answer); step++)
        ck_assert_int_eq(scan(json_answer, step), 42);
    for (size_t step = 1; step <= sizeof(sse_answer); step++)
        ck_assert_int_eq(scan(sse_answer, step), 12);
}
END_TEST

START_TEST(counts_and_not_usage)
{
    char big[CB_USAGE_SCAN_MAX_OBJECT + 64];
    ck_assert_int_eq(scan("{\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}", 5), 7);
    ck_assert_int_eq(scan("{\"usage\":{\"total_tokens\":0}}", 3), 0);
    /* the last object with a count wins; one without a count does not erase it */
    ck_assert_int_eq(scan("{\"usage\":{\"total_tokens\":5}} {\"usage\":{\"total_tokens\":9}}", 4), 9);
    ck_assert_int_eq(scan("{\"usage\":{\"total_tokens\":5}} {\"usage\":{\"x\":1}}", 4), 5);
    ck_assert_int_eq(scan("{\"usage\":null}", 2), -1);
    ck_assert_int_eq(scan("{\"usage\":\"{total_tokens:3}\"}", 2), -1);
    ck_assert_int_eq(scan("{\"text\":\"\\\"usage\\\":{\\\"total_tokens\\\":3}\"}", 1), -1);
    ck_assert_int_eq(scan("{\"usage\":{\"total_tokens\":-1}}", 7), -1);
    ck_assert_int_eq(scan("{\"usage\":{\"total_tokens\":1.5}}", 7), -1);
    ck_assert_int_eq(scan("{\"usage\":{\"total_tokens\":\"8\"}}", 7), -1);
    ck_assert_int_eq(scan("{\"usage\":{\"total_tokens\":9007199254740992}}", 7), -1);
    ck_assert_int_eq(scan("{\"usage\":{\"prompt_tokens\":2}}", 7), -1);
    ck_assert_int_eq(scan("{\"usage\":{\"total_tokens\":3,", 7), -1); /* never closed */
    ck_assert_int_eq(scan("\"usage\"\"usage\":{\"total_tokens\":6}", 1), 6);
    /* a usage object past the bound is skipped, and scanning goes on */
    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"usage\":{\"total_tokens\":4", 26);
    strcpy(big + sizeof(big) - 40, "}} {\"usage\":{\"total_tokens\":11}}");
    ck_assert_int_eq(scan(big, 100), 11);
    ck_assert_int_eq(scan("", 1), -1);
}
END_TEST

Suite *usage_scan_suite(void)
{
    Suite *s = suite_create("usage_scan");
    TCase *tc = tcase_create("scan");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, json_and_stream_in_any_pieces);
    tcase_add_test(tc, counts_and_not_usage);
    suite_add_tcase(s, tc);
    return s;
}
