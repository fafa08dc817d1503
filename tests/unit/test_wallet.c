/*
 * test_wallet.c: the wallet plugin's pure parts (plugins/wallet/parse.c):
 * amounts (whole minor units from 1 to 2^53 - 1; signs, fractions,
 * exponents, leading zeros, strings refused), the route bodies, the
 * `meter` line (units, cap= required for usage prices and refused for
 * N/call, patterns), the match of a path against a pattern, and the cost
 * of a call from its metering record (rounded up, never above the cap,
 * no overflow), and the days of the usage route (plugins/wallet/usage.c).
 */
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "wallet.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

static const char *amount(const char *text, int64_t *out)
{
    return wallet_parse_amount(text, strlen(text), out);
}

START_TEST(amounts)
{
    int64_t v = -1;
    ck_assert_ptr_null(amount("1", &v));
    ck_assert_int_eq(v, 1);
    ck_assert_ptr_null(amount("9007199254740991", &v));
    ck_assert_int_eq(v, INT64_C(9007199254740991));
    ck_assert_ptr_nonnull(strstr(amount("9007199254740992", &v), "at most"));
    ck_assert_ptr_nonnull(strstr(amount("18446744073709551617", &v), "at most"));
    ck_assert_ptr_nonnull(strstr(amount("0", &v), "at least 1"));
    ck_assert_ptr_nonnull(strstr(amount("-3", &v), "positive"));
    ck_assert_ptr_nonnull(strstr(amount("1.0", &v), "whole number"));
    ck_assert_ptr_nonnull(strstr(amount("1e2", &v), "whole number"));
    ck_assert_ptr_nonnull(strstr(amount("01", &v), "leading zeros"));
    ck_assert_ptr_nonnull(amount("", &v));
    ck_assert_ptr_nonnull(amount("12a", &v));
    ck_assert_ptr_nonnull(amount("+1", &v));
    ck_assert_int_eq(v, INT64_C(9007199254740991)); /* untouched by refusals */
}
END_TEST

START_TEST(bodies)
{
    int64_t n = 0;
    const char *d = "x", *b;
    b = "{\"amount\": 250, \"description\": \"fee \\u00e9\"}";
    ck_assert_ptr_null(wallet_parse_body(pool, b, strlen(b), "amount", 0, &n, &d));
    ck_assert_int_eq(n, 250);
    ck_assert_str_eq(d, "fee \xc3\xa9");
    b = "{\"amount\": 5}";
    ck_assert_ptr_null(wallet_parse_body(pool, b, strlen(b), "amount", 0, &n, &d));
    ck_assert_ptr_null(d);
    b = "{\"threshold\": 0}";
    ck_assert_ptr_null(wallet_parse_body(pool, b, strlen(b), "threshold", 1, &n, NULL));
    ck_assert_int_eq(n, 0);
    b = "{\"amount\": 0}";
    ck_assert_ptr_nonnull(wallet_parse_body(pool, b, strlen(b), "amount", 0, &n, NULL));
    b = "{\"amount\": \"5\"}";
    ck_assert_ptr_nonnull(strstr(wallet_parse_body(pool, b, strlen(b), "amount", 0, &n, NULL),
                                 "not a string"));
    b = "{\"amount\": 5, \"amount\": 5}";
    ck_assert_ptr_nonnull(wallet_parse_body(pool, b, strlen(b), "amount", 0, &n, NULL));
    b = "{\"amount\": 5, \"description\": \"a\\u0000b\"}";
    ck_assert_ptr_nonnull(wallet_parse_body(pool, b, strlen(b), "amount", 0, &n, &d));
    b = "{\"amount\": 5, \"description\": \"line\\nbreak\"}";
    ck_assert_ptr_nonnull(wallet_parse_body(pool, b, strlen(b), "amount", 0, &n, &d));
}
END_TEST

START_TEST(meter_lines)
{
    wallet_meter m;
    ck_assert_ptr_null(wallet_parse_meter(pool, "/v1/functions/* 2/call", &m));
    ck_assert_int_eq(m.unit, WALLET_PER_CALL);
    ck_assert_int_eq(m.price, 2);
    ck_assert_int_eq(m.cap, 2);
    ck_assert(m.rest);
    ck_assert_ptr_null(wallet_parse_meter(pool, "/v1/cloudrun/* 3/s cap=600", &m));
    ck_assert_int_eq(m.unit, WALLET_PER_SECOND);
    ck_assert_int_eq(m.cap, 600);
    ck_assert_ptr_null(wallet_parse_meter(pool, "/v1/storages/*/objects 1/MiB cap=100", &m));
    ck_assert_int_eq(m.unit, WALLET_PER_MIB);
    ck_assert(!m.rest);
    ck_assert_ptr_nonnull(strstr(wallet_parse_meter(pool, "/v1/cloudrun/* 3/s", &m), "cap="));
    ck_assert_ptr_nonnull(strstr(wallet_parse_meter(pool, "/v1/x 1/call cap=5", &m), "cap="));
    ck_assert_ptr_null(wallet_parse_meter(pool, "/v1/ai/* 5/1k-tokens cap=100", &m));
    ck_assert_int_eq(m.unit, WALLET_PER_1K_TOKENS);
    ck_assert_int_eq(m.price, 5);
    ck_assert_int_eq(m.cap, 100);
    ck_assert_ptr_nonnull(strstr(wallet_parse_meter(pool, "/v1/ai/* 5/1k-tokens", &m), "cap="));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/ai/* 5/2k-tokens cap=9", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/x 0/call", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/x 1.5/call", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/x -1/call", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/x 1/hour", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/x 1", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/x", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "v1/x 1/call", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1//x 1/call", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/x/ 1/call", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/fn* 1/call", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/{name} 1/call", &m));
    ck_assert_ptr_nonnull(wallet_parse_meter(pool, "/v1/x 1/call method=GET", &m));
}
END_TEST

START_TEST(patterns)
{
    wallet_meter rest, one, exact;
    ck_assert_ptr_null(wallet_parse_meter(pool, "/v1/functions/* 1/call", &rest));
    ck_assert_ptr_null(wallet_parse_meter(pool, "/v1/*/run 1/call", &one));
    ck_assert_ptr_null(wallet_parse_meter(pool, "/v1/test 1/call", &exact));
    ck_assert(wallet_meter_matches(&rest, "/v1/functions/hello"));
    ck_assert(wallet_meter_matches(&rest, "/v1/functions/a/b/c"));
    ck_assert(wallet_meter_matches(&rest, "/v1/functions//x"));  /* the router's {rest*} */
    ck_assert(!wallet_meter_matches(&rest, "/v1/functions"));
    ck_assert(!wallet_meter_matches(&rest, "/v1/functions/"));
    ck_assert(!wallet_meter_matches(&rest, "/v1/functionsX/a"));
    ck_assert(!wallet_meter_matches(&rest, "/V1/functions/a"));
    ck_assert(wallet_meter_matches(&one, "/v1/abc/run"));
    ck_assert(!wallet_meter_matches(&one, "/v1//run"));
    ck_assert(!wallet_meter_matches(&one, "/v1/a/b/run"));
    ck_assert(!wallet_meter_matches(&one, "/v1/abc/run/x"));
    ck_assert(wallet_meter_matches(&exact, "/v1/test"));
    ck_assert(!wallet_meter_matches(&exact, "/v1/test/"));
    ck_assert(!wallet_meter_matches(&exact, "/v1/tes"));
    ck_assert(!wallet_meter_matches(&exact, ""));
    ck_assert(!wallet_meter_matches(&exact, NULL));
}
END_TEST

START_TEST(costs)
{
    wallet_meter per_s, per_mib, per_call;
    cb_response_record rec = {.status = 200};
    ck_assert_ptr_null(wallet_parse_meter(pool, "/a 3/s cap=20", &per_s));
    ck_assert_ptr_null(wallet_parse_meter(pool, "/a 2/MiB cap=9007199254740991", &per_mib));
    ck_assert_ptr_null(wallet_parse_meter(pool, "/a 7/call", &per_call));
    ck_assert_int_eq(wallet_meter_cost(&per_call, &rec), 7);
    rec.duration = 0;
    ck_assert_int_eq(wallet_meter_cost(&per_s, &rec), 0);
    rec.duration = 1;                                  /* 1 us: rounded up to 1 */
    ck_assert_int_eq(wallet_meter_cost(&per_s, &rec), 1);
    rec.duration = APR_USEC_PER_SEC;                   /* 1 s: 3 */
    ck_assert_int_eq(wallet_meter_cost(&per_s, &rec), 3);
    rec.duration = APR_USEC_PER_SEC * 3 / 2;           /* 1.5 s: 4.5 -> 5 */
    ck_assert_int_eq(wallet_meter_cost(&per_s, &rec), 5);
    rec.duration = APR_USEC_PER_SEC * 100;             /* past the cap */
    ck_assert_int_eq(wallet_meter_cost(&per_s, &rec), 20);
    rec.bytes_in = 1 << 20;
    rec.bytes_out = (1 << 20) + 1;                     /* 2 MiB and a byte: 4.000002 -> 5 */
    ck_assert_int_eq(wallet_meter_cost(&per_mib, &rec), 5);
    ck_assert_ptr_null(wallet_parse_meter(pool, "/a 9007199254740991/MiB cap=9007199254740991",
                                          &per_mib));
    rec.bytes_in = INT64_MAX;
    rec.bytes_out = INT64_MAX;                         /* no overflow: the cap */
    ck_assert_int_eq(wallet_meter_cost(&per_mib, &rec), INT64_C(9007199254740991));
    rec.bytes_in = 0;
    rec.bytes_out = 1;                                 /* a byte: a MiB's price / 2^20, up */
    ck_assert_int_eq(wallet_meter_cost(&per_mib, &rec), INT64_C(8589934592));
}
END_TEST

START_TEST(token_costs)
{
    wallet_meter ai;
    cb_response_record rec = {.status = 200};
    ck_assert_ptr_null(wallet_parse_meter(pool, "/v1/ai/* 5/1k-tokens cap=50", &ai));
    ck_assert_int_eq(wallet_token_cost(&ai, 0), 0);
    ck_assert_int_eq(wallet_token_cost(&ai, 1), 1);        /* 0.005 -> 1 */
    ck_assert_int_eq(wallet_token_cost(&ai, 1000), 5);
    ck_assert_int_eq(wallet_token_cost(&ai, 1234), 7);     /* 6.17 -> 7 */
    ck_assert_int_eq(wallet_token_cost(&ai, 9999), 50);    /* 49.995 -> 50 */
    ck_assert_int_eq(wallet_token_cost(&ai, 10001), 50);   /* the cap */
    ck_assert_int_eq(wallet_token_cost(&ai, INT64_C(9007199254740991)), 50);
    ck_assert_int_eq(wallet_meter_cost(&ai, &rec), 50);    /* not in the record: the cap */
}
END_TEST

START_TEST(days)
{
    int64_t ms = -1;
    ck_assert_ptr_null(wallet_parse_day("1970-01-01", &ms));
    ck_assert_int_eq(ms, 0);
    ck_assert_ptr_null(wallet_parse_day("2024-02-29", &ms));
    ck_assert_int_eq(ms, INT64_C(1709164800000));
    ck_assert_ptr_nonnull(wallet_parse_day("2023-02-29", &ms));
    ck_assert_ptr_nonnull(wallet_parse_day("2026-13-01", &ms));
    ck_assert_ptr_nonnull(wallet_parse_day("1969-12-31", &ms));
    ck_assert_ptr_nonnull(wallet_parse_day("2026-1-01", &ms));
    ck_assert_ptr_nonnull(wallet_parse_day("2026-01-01T00", &ms));
    ck_assert_ptr_nonnull(wallet_parse_day("+026-01-01", &ms));
    ck_assert_ptr_nonnull(wallet_parse_day(NULL, &ms));
}
END_TEST

Suite *wallet_parse_suite(void)
{
    Suite *s = suite_create("wallet_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, amounts);
    tcase_add_test(tc, bodies);
    tcase_add_test(tc, meter_lines);
    tcase_add_test(tc, patterns);
    tcase_add_test(tc, costs);
    tcase_add_test(tc, token_costs);
    tcase_add_test(tc, days);
    suite_add_tcase(s, tc);
    return s;
}
