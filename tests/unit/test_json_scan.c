/*
 * test_json_scan.c: the core's strict JSON object scanner
 * (core/json_scan.c, cloudbase/json_scan.h): what it accepts and refuses
 * (jansson's rules), the depth limit, unique keys (escapes decoded, past
 * the keys kept on the stack), jansson's number limits (int64, and reals
 * at the overflow bound, with mantissas longer than the digits kept), the
 * member visitor, and decoding of string spans.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>
#include <check.h>

#include "cloudbase/json_scan.h"

static apr_pool_t *pool;

static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

static int scan(const char *text, unsigned flags, unsigned max_depth)
{
    cb_json_scan_options o = {.flags = flags, .max_depth = max_depth, .pool = pool};
    return cb_json_scan_object(text, strlen(text), &o);
}

static int valid(const char *text)
{
    return cb_json_scan_object(text, strlen(text), NULL);
}

/* Nested arrays `depth` deep inside an object. */
static int nested(int depth, unsigned max_depth)
{
    size_t len = (size_t)depth * 2 + 8;
    char *text = calloc(1, len + 1);
    int ok;
    strcpy(text, "{\"a\":");
    for (int i = 0; i < depth; i++)
        strcat(text, "[");
    for (int i = 0; i < depth; i++)
        strcat(text, "]");
    strcat(text, "}");
    ok = scan(text, 0, max_depth);
    free(text);
    return ok;
}

START_TEST(accepts_and_refuses)
{
    static const char *const objects[] = {
        "{}", " {\"a\":1} ", "{\"a\":[1,2.5,-3e+2,true,false,null,{}],\"b\":\"x\"}",
        "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}", "{\"caf\xc3\xa9\":\"\xf0\x9f\x98\x80\"}",
        "{\"big\":123456789012345678901234567890}", "{\"a\":1,\"a\":2}", "{\"r\":1e400}",
        "\r\n\t{ \"a\" : [ ] , \"b\" : { } }\n", NULL};
    static const char *const refused[] = {
        "", "[]", "1", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{'a':1}",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":-}", "{\"a\":+1}",
        "{\"a\":tru}", "{\"a\":1} x", "{\"a\":1}{}", "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}",
        "{\"a\":\"\\x\"}", "{\"a\":\"tab\there\"}", "{\"a\":\"\xc0\xaf\"}",
        "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}",
        "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":[1,]}", "{\"a\":[,1]}", "{,}", "{\"a\" 1}",
        "{\"a\":\"\\u12\"}", "{\"a\":\"unterminated}", "\xef\xbb\xbf{}", NULL};
    for (int i = 0; objects[i]; i++)
        ck_assert_msg(valid(objects[i]), "refused %s", objects[i]);
    for (int i = 0; refused[i]; i++)
        ck_assert_msg(!valid(refused[i]), "accepted %s", refused[i]);
    ck_assert(!cb_json_scan_object("{\"a\":6\0}", 8, NULL)); /* a raw NUL is never JSON */
    ck_assert(cb_json_scan_object("{\"a\":6}xyz", 7, NULL));  /* only len bytes are read */
    ck_assert(!cb_json_scan_object(NULL, 0, NULL));
}
END_TEST

START_TEST(depth_limit)
{
    ck_assert(nested(2047, 0));                 /* 2048 levels: jansson's limit */
    ck_assert(!nested(2048, 0));
    ck_assert(nested(63, 64));
    ck_assert(!nested(64, 64));
    ck_assert(scan("{\"a\":{\"b\":{}}}", 0, 3));
    ck_assert(!scan("{\"a\":{\"b\":{}}}", 0, 2));
}
END_TEST

START_TEST(unique_keys)
{
    ck_assert(scan("{\"a\":1,\"a\":2}", 0, 0));
    ck_assert(!scan("{\"a\":1,\"a\":2}", CB_JSON_SCAN_UNIQUE_KEYS, 0));
    ck_assert(!scan("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}", CB_JSON_SCAN_UNIQUE_KEYS, 0));
    ck_assert(!scan("{\"x\":[{\"a\":1,\"a\":3}]}", CB_JSON_SCAN_UNIQUE_KEYS, 0));
    /* Keys compare after decoding: "a" and "\u0061", "\u00e9" and raw é. */
    ck_assert(!scan("{\"a\":1,\"\\u0061\":2}", CB_JSON_SCAN_UNIQUE_KEYS, 0));
    ck_assert(!scan("{\"\\u00e9\":1,\"\xc3\xa9\":2}", CB_JSON_SCAN_UNIQUE_KEYS, 0));
    ck_assert(!scan("{\"\\/\":1,\"/\":2}", CB_JSON_SCAN_UNIQUE_KEYS, 0));
    ck_assert(scan("{\"a\":1,\"\\u0062\":2,\"ab\":3,\"\":4}", CB_JSON_SCAN_UNIQUE_KEYS, 0));
    /* The same key in sibling or nested objects is fine. */
    ck_assert(scan("{\"a\":{\"a\":1},\"b\":{\"a\":2},\"c\":[{\"a\":1},{\"a\":2}]}",
                   CB_JSON_SCAN_UNIQUE_KEYS, 0));
}
END_TEST

/* An object of n distinct keys k0..k(n-1), then `extra` (a member or ""). */
static const char *many_keys(int n, const char *extra)
{
    const char *text = "{";
    for (int i = 0; i < n; i++)
        text = apr_psprintf(pool, "%s%s\"k%d\":%d", text, i ? "," : "", i, i);
    return apr_pstrcat(pool, text, extra, "}", NULL);
}

START_TEST(unique_keys_past_the_stack)
{
    const int n = 3 * CB_JSON_SCAN_INLINE_KEYS;
    const char *distinct = many_keys(n, ""), *dup_last = many_keys(n, ",\"k1\":0");
    cb_json_scan_options no_pool = {.flags = CB_JSON_SCAN_UNIQUE_KEYS};
    ck_assert(scan(distinct, CB_JSON_SCAN_UNIQUE_KEYS, 0));
    ck_assert(!scan(dup_last, CB_JSON_SCAN_UNIQUE_KEYS, 0));
    /* Without a pool, more keys than the stack holds are refused, never unchecked. */
    ck_assert(cb_json_scan_object(many_keys(CB_JSON_SCAN_INLINE_KEYS, ""),
                                  strlen(many_keys(CB_JSON_SCAN_INLINE_KEYS, "")), &no_pool));
    ck_assert(!cb_json_scan_object(distinct, strlen(distinct), &no_pool));
}
END_TEST

/* 2^1024 - 2^970: the midpoint between DBL_MAX and 2^1024; it and
 * anything above it round to infinity. */
#define OVERFLOW_BOUND                                                                        \
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664" \
    "90179775872070963302864166928879109465555478519404026306574886715058206819089020007083" \
    "83676273854845817711531764475730270069855571366959622842914819860834936475292719074168" \
    "444365510704342711559699508093042880177904174497792"
#define BELOW_BOUND                                                                           \
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664" \
    "90179775872070963302864166928879109465555478519404026306574886715058206819089020007083" \
    "83676273854845817711531764475730270069855571366959622842914819860834936475292719074168" \
    "444365510704342711559699508093042880177904174497791"

static int number(const char *n)
{
    return scan(apr_pstrcat(pool, "{\"n\":", n, "}", NULL), CB_JSON_SCAN_NUMBER_LIMITS, 0);
}

static const char *digits(char d, int n)
{
    char *s = apr_palloc(pool, (apr_size_t)n + 1);
    memset(s, d, (size_t)n);
    s[n] = '\0';
    return s;
}

START_TEST(number_limits)
{
    static const char *const fit[] = {
        "0", "-0", "9223372036854775807", "-9223372036854775808", "1e308", "-1e308",
        "1.7976931348623157e308", "1.7976931348623158e308", "1e-400", "0e999999999999999999",
        "0.0000000000000000000000000000000001e310", "1797693134862315e293", "0.5", "-2.5E+3",
        NULL};
    static const char *const overflow[] = {
        "9223372036854775808", "-9223372036854775809", "123456789012345678901234567890",
        "1.7976931348623159e308", "-1.7976931348623159e308", "1e309", "1e999999999999999999",
        "10e308", "0.1e310", "1797693134862316e293", NULL};
    for (int i = 0; fit[i]; i++)
        ck_assert_msg(number(fit[i]), "refused %s", fit[i]);
    for (int i = 0; overflow[i]; i++) {
        ck_assert_msg(!number(overflow[i]), "accepted %s", overflow[i]);
        /* Without the flag any number is valid JSON. */
        ck_assert(scan(apr_pstrcat(pool, "{\"n\":", overflow[i], "}", NULL), 0, 0));
    }
    /* At the bound itself, with mantissas longer than the digits kept:
     * whatever is dropped must still count. */
    ck_assert(!number(OVERFLOW_BOUND ".0"));
    ck_assert(!number(apr_pstrcat(pool, OVERFLOW_BOUND ".", digits('0', 200), "1", NULL)));
    ck_assert(number(apr_pstrcat(pool, BELOW_BOUND ".", digits('9', 200), NULL)));
    ck_assert(number(apr_pstrcat(pool, BELOW_BOUND ".", digits('9', 50), NULL)));
    ck_assert(!number(apr_pstrcat(pool, "0.", digits('0', 300), OVERFLOW_BOUND, "e609", NULL)));
    ck_assert(number(apr_pstrcat(pool, "0.", digits('0', 300), BELOW_BOUND, "9e609", NULL)));
    /* Nested numbers are checked too. */
    ck_assert(!scan("{\"a\":[{\"b\":1e400}]}", CB_JSON_SCAN_NUMBER_LIMITS, 0));
}
END_TEST

typedef struct {
    int calls;
    int stop_at;                                /* stop on this call (1-based), or 0 */
    cb_json_span keys[8], values[8];
} visits;

static int record(void *baton, const cb_json_span *key, const cb_json_span *value)
{
    visits *v = baton;
    if (v->calls < 8) {
        v->keys[v->calls] = *key;
        v->values[v->calls] = *value;
    }
    return ++v->calls == v->stop_at;
}

START_TEST(visitor_sees_top_level_members)
{
    const char *text = " {\"s\" : \"h\\u00e9llo\\n\", \"n\":-12, \"o\":{\"x\":[1,2]}, "
                       "\"a\":[ true ], \"t\":true, \"f\":false, \"z\":null, \"r\":2.5e1 } ";
    visits v = {0};
    cb_json_scan_options o = {.on_member = record, .baton = &v};
    char buf[32];
    int64_t n;
    ck_assert(cb_json_scan_object(text, strlen(text), &o));
    ck_assert_int_eq(v.calls, 8);                /* nested members are not visited */
    ck_assert(cb_json_span_is(&v.keys[0], "s"));
    ck_assert_int_eq(v.values[0].type, CB_JSON_SCAN_STRING);
    ck_assert(v.values[0].escaped);
    ck_assert_uint_eq(cb_json_span_decode(&v.values[0], buf, sizeof(buf)), 7);
    ck_assert_str_eq(buf, "h\xc3\xa9llo\n");
    ck_assert(cb_json_span_is(&v.values[0], "h\xc3\xa9llo\n"));
    ck_assert(!cb_json_span_is(&v.values[0], "h\xc3\xa9llo"));
    /* A C string's backslash is a plain byte, never an escape. */
    ck_assert(!cb_json_span_is(&v.values[0], "h\\u00e9llo\\n"));
    ck_assert_int_eq(v.values[1].type, CB_JSON_SCAN_NUMBER);
    ck_assert(cb_json_span_int64(&v.values[1], &n));
    ck_assert_int_eq(n, -12);
    ck_assert_int_eq(v.values[2].type, CB_JSON_SCAN_OBJECT);
    ck_assert_uint_eq(v.values[2].len, strlen("{\"x\":[1,2]}"));
    ck_assert(!memcmp(v.values[2].text, "{\"x\":[1,2]}", v.values[2].len));
    ck_assert_int_eq(v.values[3].type, CB_JSON_SCAN_ARRAY);
    ck_assert_uint_eq(v.values[3].len, strlen("[ true ]"));
    ck_assert_int_eq(v.values[4].type, CB_JSON_SCAN_TRUE);
    ck_assert_int_eq(v.values[5].type, CB_JSON_SCAN_FALSE);
    ck_assert_int_eq(v.values[6].type, CB_JSON_SCAN_NULL);
    ck_assert_int_eq(v.values[7].type, CB_JSON_SCAN_NUMBER);
    ck_assert(!cb_json_span_int64(&v.values[7], &n)); /* a real */
    ck_assert(!cb_json_span_is(&v.values[1], "-12")); /* not a string */
    ck_assert_uint_eq(cb_json_span_decode(&v.values[1], buf, sizeof(buf)), (size_t)-1);

    /* A non-zero return stops the scan and refuses the text. */
    memset(&v, 0, sizeof(v));
    v.stop_at = 2;
    ck_assert(!cb_json_scan_object(text, strlen(text), &o));
    ck_assert_int_eq(v.calls, 2);
}
END_TEST

START_TEST(decoding_spans)
{
    const char *text = "{\"k\\ud83d\\ude00\":\"a\\\"\\\\\\/\\b\\f\\n\\r\\tz\",\"p\":\"plain\"}";
    visits v = {0};
    cb_json_scan_options o = {.on_member = record, .baton = &v};
    char buf[16], small[5];
    int64_t n;
    cb_json_span number = {"9223372036854775808", 19, CB_JSON_SCAN_NUMBER, 0};
    ck_assert(cb_json_scan_object(text, strlen(text), &o));
    ck_assert_uint_eq(cb_json_span_decode(&v.keys[0], buf, sizeof(buf)), 5);
    ck_assert_str_eq(buf, "k\xf0\x9f\x98\x80");
    ck_assert(cb_json_span_is(&v.keys[0], "k\xf0\x9f\x98\x80"));
    ck_assert(!cb_json_span_is(&v.keys[0], "k\\ud83d\\ude00"));
    ck_assert_uint_eq(cb_json_span_decode(&v.values[0], buf, sizeof(buf)), 10);
    ck_assert_str_eq(buf, "a\"\\/\b\f\n\r\tz");
    /* Too small a buffer: refused, never cut. Exactly enough: fine. */
    ck_assert_uint_eq(cb_json_span_decode(&v.values[1], small, sizeof(small)), (size_t)-1);
    ck_assert_uint_eq(cb_json_span_decode(&v.values[0], buf, 10), (size_t)-1);
    ck_assert_uint_eq(cb_json_span_decode(&v.values[0], buf, 11), 10);
    ck_assert_uint_eq(cb_json_span_decode(&v.values[1], buf, 6), 5);
    ck_assert_str_eq(buf, "plain");
    ck_assert(!cb_json_span_int64(&number, &n));
    number.len = 18;
    ck_assert(cb_json_span_int64(&number, &n));
    ck_assert_int_eq(n, INT64_C(922337203685477580));
}
END_TEST

Suite *json_scan_suite(void)
{
    Suite *s = suite_create("json_scan");
    TCase *tc = tcase_create("scanner");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, accepts_and_refuses);
    tcase_add_test(tc, depth_limit);
    tcase_add_test(tc, unique_keys);
    tcase_add_test(tc, unique_keys_past_the_stack);
    tcase_add_test(tc, number_limits);
    tcase_add_test(tc, visitor_sees_top_level_members);
    tcase_add_test(tc, decoding_spans);
    suite_add_tcase(s, tc);
    return s;
}
