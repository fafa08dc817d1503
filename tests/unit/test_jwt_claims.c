/*
 * test_jwt_claims.c: the JWT payload parser (plugins/auth/jwt_claims.c):
 * claim values and types, escapes, UTF-8, duplicates, nesting and its depth
 * limit, numbers, whitespace and trailing bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"
#include "jwt_claims.h"

#define NOW 1700000000
#define LEEWAY 30
#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"hs-1\"}"

static const unsigned char secret[] = "test-secret-0123456789-abcdefghijklmnop";
static apr_pool_t *pool;
static cb_jwt_keyring *hs_kr;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    hs_kr = cb_jwt_keyring_create(pool);
    ck_assert_ptr_null(cb_jwt_keyring_add_hs256(hs_kr, pool, "hs-1", secret,
                                                sizeof(secret) - 1, 1));
}

/* A token with this header and payload, signed here with OpenSSL's HMAC(). */
static const char *hs(const char *header, const char *payload)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    const char *input = apr_pstrcat(
        pool, cb_base64url_encode(pool, (const unsigned char *)header, strlen(header)), ".",
        cb_base64url_encode(pool, (const unsigned char *)payload, strlen(payload)), NULL);
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)(sizeof(secret) - 1),
                               (const unsigned char *)input, strlen(input), mac, &mac_len));
    return apr_pstrcat(pool, input, ".", cb_base64url_encode(pool, mac, mac_len), NULL);
}

static cb_jwt_result verify(const cb_jwt_keyring *kr, const char *token)
{
    cb_jwt_claims out;
    return cb_jwt_verify(pool, kr, token, strlen(token), "prod", NOW, LEEWAY, &out);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* The required claims with extra (JSON members after a comma) appended. */
static const char *payload_with(const char *extra)
{
    return apr_psprintf(pool, "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\","
                        "\"iat\":%d,\"exp\":%d%s}", NOW, NOW + 60, extra);
}

/* Parses len bytes of payload; *c and *nbf as cb_jwt_claims_parse sets them. */
static cb_jwt_result parse_n(const char *json, size_t len, cb_jwt_claims *c, int64_t *nbf)
{
    return cb_jwt_claims_parse(pool, (const unsigned char *)json, len, c, nbf);
}

static cb_jwt_result parse(const char *json)
{
    cb_jwt_claims c;
    int64_t nbf;
    return parse_n(json, strlen(json), &c, &nbf);
}

/* Each payload must give want. */
static void expect_all(const char *const *payloads, size_t n, cb_jwt_result want)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(parse(payloads[i]) == want, "%s '%s'",
                      want == CB_JWT_OK ? "refused" : "accepted", payloads[i]);
}

/* The required claims with extra (JSON members after a comma) appended. */
static const char **with_each(const char *const *extras, size_t n)
{
    const char **out = apr_palloc(pool, n * sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = payload_with(extras[i]);
    return out;
}

/* The required claims with iat spelled as given. */
static const char *with_iat(const char *iat)
{
    return apr_psprintf(pool, "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\","
                        "\"iat\":%s,\"exp\":%d}", iat, NOW + 60);
}

/* sub given as the JSON string literal sub_json; returns the decoded sub or
 * NULL when refused. */
static const char *sub_of(const char *sub_json)
{
    cb_jwt_claims c;
    int64_t nbf;
    const char *json = apr_psprintf(pool, "{\"sub\":%s,\"env\":\"prod\",\"sid\":\"s\","
                                    "\"jti\":\"j\",\"iat\":1,\"exp\":2}", sub_json);
    return parse_n(json, strlen(json), &c, &nbf) == CB_JWT_OK ? c.sub : NULL;
}

START_TEST(claims_values)
{
    const char *json = "{\"sub\":\"user-42\",\"env\":\"prod\",\"kind\":\"admin\",\"scope\":\"r w\","
                       "\"sid\":\"s-1\",\"jti\":\"j-1\",\"iat\":1700000000,\"exp\":1700003600,"
                       "\"nbf\":-5}";
    static const char *const bad[] = {
        ",\"scope\":\"\"", ",\"kind\":\"\"", ",\"kind\":\"Admin\"", ",\"kind\":\"admin \"",
        ",\"scope\":[\"a\"]", ",\"kind\":true", ",\"nbf\":null", ",\"nbf\":\"5\"",
    };
    cb_jwt_claims c;
    int64_t nbf = 0;
    ck_assert_int_eq(parse_n(json, strlen(json), &c, &nbf), CB_JWT_OK);
    ck_assert_str_eq(c.sub, "user-42");
    ck_assert_str_eq(c.env, "prod");
    ck_assert_str_eq(c.kind, "admin");
    ck_assert_str_eq(c.scope, "r w");
    ck_assert_str_eq(c.sid, "s-1");
    ck_assert_str_eq(c.jti, "j-1");
    ck_assert_int_eq(c.iat, 1700000000);
    ck_assert_int_eq(c.exp, 1700003600);
    ck_assert_int_eq(nbf, -5);
    /* the strings are copies in the pool, not pointers into the text */
    ck_assert_ptr_ne(c.sub, json + 8);
    json = payload_with("");
    ck_assert_int_eq(parse_n(json, strlen(json), &c, &nbf), CB_JWT_OK);
    ck_assert_ptr_null(c.scope);
    ck_assert_ptr_null(c.kind);
    ck_assert_int_eq(nbf, INT64_MIN);
    for (size_t i = 0; i < 4; i++) {
        static const char *const kinds[] = {"anonymous", "user", "key", "admin"};
        ck_assert_int_eq(parse(payload_with(apr_psprintf(pool, ",\"kind\":\"%s\"", kinds[i]))),
                         CB_JWT_OK);
    }
    expect_all(with_each(bad, sizeof(bad) / sizeof(bad[0])), sizeof(bad) / sizeof(bad[0]),
               CB_JWT_MALFORMED);
    ck_assert_int_eq(cb_jwt_claims_parse(pool, NULL, 0, &c, &nbf), CB_JWT_MALFORMED);
}
END_TEST

START_TEST(claims_escapes)
{
    static const char *const bad[] = {
        "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\U0041\"", "\"\\'\"", "\"\\\"", "\"a\\\"",
        "\"\\ud83d\"", "\"\\ud83dx\"", "\"\\ud83d\\u0041\"", "\"\\ud83d\\ud83d\"", "\"\\ude00\"",
        "\"\\ude00\\ud83d\"", "\"\\ud83d\\n\"", "\"\\ud83d\\\"", "\"\\u0000\"", "\"a\\u0000b\"",
        "\"\\u000\"", "\"\\ud83d\\ude0\"",
    };
    static const char *const bad_elsewhere[] = {
        ",\"x\":\"\\u0000\"", ",\"x\":[\"\\ud800\"]", ",\"x\\u0000\":1", ",\"\\udfff\":1",
        ",\"x\":{\"\\q\":1}",
    };
    cb_jwt_claims c;
    int64_t nbf;
    const char *json;
    ck_assert_str_eq(sub_of("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\""),
                     "a\"b\\c/d\be\ff\ng\rh\ti");
    ck_assert_str_eq(sub_of("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\uD83D\\uDE00\""),
                     "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
    ck_assert_str_eq(sub_of("\"\\u0001\\u001f\\u007f\\uffff\\udbff\\udfff\""),
                     "\x01\x1f\x7f\xef\xbf\xbf\xf4\x8f\xbf\xbf");
    ck_assert_str_eq(sub_of("\"\\u0800\\u07ff\\u0080\""), "\xe0\xa0\x80\xdf\xbf\xc2\x80");
    ck_assert_str_eq(sub_of("\"plain\\\\\""), "plain\\");
    ck_assert_str_eq(sub_of("\"\\/\""), "/");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(sub_of(bad[i]) == NULL, "accepted %s", bad[i]);
    expect_all(with_each(bad_elsewhere, sizeof(bad_elsewhere) / sizeof(bad_elsewhere[0])),
               sizeof(bad_elsewhere) / sizeof(bad_elsewhere[0]), CB_JWT_MALFORMED);
    /* escaped keys are the claims they spell */
    json = "{\"s\\u0075b\":\"x\",\"\\u0065nv\":\"prod\",\"sid\":\"s\",\"jti\":\"j\","
           "\"i\\u0061t\":1,\"exp\":2,\"\\ud83d\\ude00\":\"smile\"}";
    ck_assert_int_eq(parse_n(json, strlen(json), &c, &nbf), CB_JWT_OK);
    ck_assert_str_eq(c.sub, "x");
    ck_assert_str_eq(c.env, "prod");
    ck_assert_int_eq(c.iat, 1);
}
END_TEST

START_TEST(claims_utf8)
{
    static const char *const bad[] = {
        "\"\xff\"", "\"\xfe\"", "\"\x80\"", "\"a\xbf\"", "\"\xc0\xaf\"", "\"\xc1\xbf\"",
        "\"\xe0\x80\xaf\"", "\"\xe0\x9f\xbf\"", "\"\xf0\x80\x80\xaf\"", "\"\xf0\x8f\xbf\xbf\"",
        "\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"",
        "\"\xf8\x88\x80\x80\x80\"", "\"\xe2\x82\"", "\"\xc3\"", "\"\xf0\x9f\x98\"",
        "\"\xc3\xc3\xa9\"", "\"\xe2\x28\xa1\"", "\"\x01\"", "\"\x1f\"", "\"a\nb\"", "\"\t\"",
        "\"\r\"",
    };
    static const char *const bad_elsewhere[] = {
        ",\"x\":\"\xff\"", ",\"\xc0\xaf\":1", ",\"x\":[\"\xed\xa0\x80\"]", ",\xff\"x\":1",
        ",\"x\":\xe2\x82\xac",
    };
    const char *json;
    ck_assert_str_eq(sub_of("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""),
                     "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    ck_assert_str_eq(sub_of("\"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80"
                            "\xf4\x8f\xbf\xbf\xee\x80\x80\""),
                     "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80"
                     "\xf4\x8f\xbf\xbf\xee\x80\x80");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(sub_of(bad[i]) == NULL, "accepted %s", bad[i]);
    expect_all(with_each(bad_elsewhere, sizeof(bad_elsewhere) / sizeof(bad_elsewhere[0])),
               sizeof(bad_elsewhere) / sizeof(bad_elsewhere[0]), CB_JWT_MALFORMED);
    /* a raw NUL byte, in a string or between tokens */
    {
        cb_jwt_claims c;
        int64_t nbf;
        static const char in_string[] = "{\"sub\":\"u\0v\",\"env\":\"prod\",\"sid\":\"s\","
                                        "\"jti\":\"j\",\"iat\":1,\"exp\":2}";
        static const char between[] = "{\"sub\":\"uv\",\0\"env\":\"prod\",\"sid\":\"s\","
                                      "\"jti\":\"j\",\"iat\":1,\"exp\":2}";
        ck_assert_int_eq(parse_n(in_string, sizeof(in_string) - 1, &c, &nbf), CB_JWT_MALFORMED);
        ck_assert_int_eq(parse_n(between, sizeof(between) - 1, &c, &nbf), CB_JWT_MALFORMED);
        /* a multi-byte character cut by the end of the text */
        json = "{\"sub\":\"\xe2\x82\xac";
        ck_assert_int_eq(parse_n(json, strlen(json) - 1, &c, &nbf), CB_JWT_MALFORMED);
    }
}
END_TEST

/* ,"x":{"k0":0,...,"k<n-1>":<n-1>} */
static const char *many_keys(const char *name, int n)
{
    const char *s = apr_psprintf(pool, ",\"%s\":{", name);
    for (int i = 0; i < n; i++)
        s = apr_psprintf(pool, "%s%s\"k%d\":%d", s, i ? "," : "", i, i);
    return apr_pstrcat(pool, s, "}", NULL);
}

START_TEST(claims_duplicates)
{
    static const char *const bad[] = {
        ",\"x\":1,\"x\":2", ",\"x\":1,\"x\":\"1\"", ",\"x\":null,\"y\":0,\"x\":null",
        ",\"x\":1,\"\\u0078\":2", ",\"s\\u0075b\":\"v\"", ",\"\":1,\"\":2",
        ",\"x\":{\"a\":1,\"a\":2}", ",\"x\":[{\"a\":{\"b\":1,\"b\":1}}]",
        ",\"x\":{\"a\":1,\"b\":{},\"a\":1}", ",\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2",
        ",\"nbf\":1,\"nbf\":1", ",\"kind\":\"user\",\"kind\":\"user\"",
    };
    static const char *const good[] = {
        ",\"x\":{\"a\":1},\"y\":{\"a\":1}", ",\"x\":{\"sub\":1,\"x\":2}",
        ",\"x\":[{\"a\":1},{\"a\":2}]", ",\"x\":{\"a\":{\"a\":{\"a\":1}}}",
        ",\"X\":1,\"x\":1", ",\"x\":1,\"x \":1", ",\"\":1", ",\"a\":1,\"a\\u0000\":1",
    };
    const char **bad_payloads = with_each(bad, sizeof(bad) / sizeof(bad[0]));
    size_t n_bad = sizeof(bad) / sizeof(bad[0]);
    /* the last one holds \u0000 and is refused for that: not a duplicate */
    expect_all(with_each(good, sizeof(good) / sizeof(good[0]) - 1),
               sizeof(good) / sizeof(good[0]) - 1, CB_JWT_OK);
    ck_assert_int_eq(parse(payload_with(good[sizeof(good) / sizeof(good[0]) - 1])),
                     CB_JWT_MALFORMED);
    expect_all(bad_payloads, n_bad, CB_JWT_MALFORMED);
    /* more keys than the scanner keeps on its stack (CB_JSON_SCAN_INLINE_KEYS, 64) */
    ck_assert_int_eq(parse(payload_with(many_keys("x", 100))), CB_JWT_OK);
    ck_assert_int_eq(parse(payload_with(apr_pstrcat(pool, many_keys("x", 100), ",\"k0\":1",
                                                    NULL))), CB_JWT_OK);
    ck_assert_int_eq(parse(payload_with(apr_pstrcat(pool, many_keys("x", 100), ",\"sub\":\"u\"",
                                                    NULL))), CB_JWT_MALFORMED);
    ck_assert_int_eq(parse(payload_with(apr_pstrcat(pool, many_keys("x", 100),
                                                    many_keys("x", 1), NULL))), CB_JWT_MALFORMED);
    {
        const char *big = many_keys("x", 100);
        /* ,"x":{"k0":0,...,"k99":99,"k50":1} */
        ck_assert_int_eq(parse(payload_with(apr_pstrcat(pool, apr_pstrndup(pool, big,
                                                        strlen(big) - 1), ",\"k50\":1}", NULL))),
                         CB_JWT_MALFORMED);
    }
    /* through cb_jwt_verify: a duplicate of a claim the gateway ignores */
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, payload_with(",\"aud\":\"a\",\"aud\":\"b\""))),
                     CB_JWT_MALFORMED);
}
END_TEST

START_TEST(claims_nesting)
{
    static const char *const good[] = {
        ",\"x\":{\"a\":[1,{\"b\":[true,false,null,\"s]}\\\"\"]}],\"c\":{}},\"y\":[],\"z\":[[]]",
        ",\"x\":true", ",\"x\":false", ",\"x\":null", ",\"x\":{\"\":{}}", ",\"x\":[[],[[]],{}]",
        ",\"x\":[ 1 , [ 2 ] , { \"a\" : [ ] } ]", ",\"x\":\"}\",\"y\":\"]\"",
        ",\"x\":[-1,0.5,1e2,\"\",{\"k\":[null]}]",
    };
    static const char *const bad[] = {
        ",\"x\":[1}", ",\"x\":{\"a\":1]", ",\"x\":{\"a\"}", ",\"x\":[1,]", ",\"x\":{,}",
        ",\"x\":{\"a\":1,}", ",\"x\":[", ",\"x\":{", ",\"x\":[1 2]", ",\"x\":{\"a\" 1}",
        ",\"x\":{1:2}", ",\"x\":{a:2}", ",\"x\":nul", ",\"x\":True", ",\"x\":truex",
        ",\"x\":nullnull", ",\"x\":'a'", ",\"x\":", ",\"x\"", ",", ",\"x\":[,1]", ",\"x\":]",
        ",\"x\":}", ",\"x\":[]]", ",\"x\":{}}", ",\"x\":1 2", ",\"x\":\"a\"\"b\"",
        ",\"x\"::1", ",\"x\":{\"a\":1\"b\":2}", ",\"x\":[1]2",
        ",\"sub\":{\"a\":1}", ",\"iat\":true", ",\"exp\":[1]", ",\"env\":null",
    };
    static const char *const bad_claim_types[] = {
        "{\"sub\":{},\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1,\"exp\":2}",
        "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":[],\"jti\":\"j\",\"iat\":1,\"exp\":2}",
        "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":false,\"exp\":2}",
        "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1,\"exp\":null}",
    };
    expect_all(with_each(good, sizeof(good) / sizeof(good[0])), sizeof(good) / sizeof(good[0]),
               CB_JWT_OK);
    expect_all(with_each(bad, sizeof(bad) / sizeof(bad[0])), sizeof(bad) / sizeof(bad[0]),
               CB_JWT_MALFORMED);
    expect_all(bad_claim_types, sizeof(bad_claim_types) / sizeof(bad_claim_types[0]),
               CB_JWT_MALFORMED);
    /* through cb_jwt_verify */
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, payload_with(good[0]))), CB_JWT_OK);
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, payload_with(",\"x\":[1}"))), CB_JWT_MALFORMED);
}
END_TEST

/* ,"x": then n nested arrays (or objects {"a":...}) around 1 */
static const char *nested(int n, int objects)
{
    char *s = apr_palloc(pool, (size_t)n * 6 + 16), *o = s;
    o += sprintf(o, ",\"x\":");
    for (int i = 0; i < n; i++)
        o += sprintf(o, objects ? "{\"a\":" : "[");
    *o++ = '1';
    for (int i = 0; i < n; i++)
        *o++ = objects ? '}' : ']';
    *o = '\0';
    return s;
}

START_TEST(claims_depth_limit)
{
    /* the payload object is level 1: MAX - 1 more levels fit */
    for (int objects = 0; objects < 2; objects++) {
        ck_assert_int_eq(parse(payload_with(nested(CB_JWT_CLAIMS_MAX_DEPTH - 1, objects))),
                         CB_JWT_OK);
        ck_assert_int_eq(parse(payload_with(nested(CB_JWT_CLAIMS_MAX_DEPTH, objects))),
                         CB_JWT_MALFORMED);
        ck_assert_int_eq(parse(payload_with(nested(100000, objects))), CB_JWT_MALFORMED);
    }
    /* and the same through a whole token */
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, payload_with(nested(CB_JWT_CLAIMS_MAX_DEPTH - 1,
                                                                     0)))), CB_JWT_OK);
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, payload_with(nested(CB_JWT_CLAIMS_MAX_DEPTH,
                                                                     1)))), CB_JWT_MALFORMED);
    /* unclosed deep nesting */
    ck_assert_int_eq(parse(apr_pstrndup(pool, payload_with(nested(40, 0)),
                                        strlen(payload_with(nested(40, 0))) - 30)),
                     CB_JWT_MALFORMED);
}
END_TEST

START_TEST(claims_numbers)
{
    static const struct {
        const char *text;
        int64_t value;
    } good_ints[] = {
        {"0", 0}, {"-0", 0}, {"7", 7}, {"-1", -1}, {"1700000000", 1700000000},
        {"9223372036854775807", INT64_MAX}, {"-9223372036854775808", INT64_MIN},
        {"-9223372036854775807", -INT64_MAX}, {"1000000000000000000", 1000000000000000000},
    };
    static const char *const bad_ints[] = {
        "01", "-01", "00", "-00", "1e3", "1E3", "1e0", "1.0", "1.5", "-0.0", "1.", ".5", "-",
        "+1", "--1", "- 1", "9223372036854775808", "-9223372036854775809",
        "99999999999999999999", "18446744073709551616", "0x10", "1e", "Infinity", "NaN",
        "\"1\"", "1_000", "1 1", "true",
    };
    static const char *const good_others[] = {
        "1e3", "1E+3", "1e-3", "1.0", "-0", "-0.0", "0.5e-10", "1.5e300", "1e-400",
        "123456789012345678901234567890.5", "-9223372036854775808", "9223372036854775807",
        "1.7976931348623157e308", "-1.7976931348623157e308", "0e999999999999", "0.0E-0",
        "2.2250738585072014e-308", "1e0000000000000000000001",
    };
    static const char *const bad_others[] = {
        "01", "1.", ".5", "+1", "1e", "1e+", "1E-", "-", "--1", "-a", "0x1", "1.5.3",
        "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1.8e308", "1e0000000000000000000309",
        "9223372036854775808", "-9223372036854775809", "99999999999999999999", "1ee2",
        "1e2.5", "0.e1", "-.5",
    };
    cb_jwt_claims c;
    int64_t nbf;
    for (size_t i = 0; i < sizeof(good_ints) / sizeof(good_ints[0]); i++) {
        const char *json = with_iat(good_ints[i].text);
        ck_assert_msg(parse_n(json, strlen(json), &c, &nbf) == CB_JWT_OK, "refused iat %s",
                      good_ints[i].text);
        ck_assert_int_eq(c.iat, good_ints[i].value);
    }
    for (size_t i = 0; i < sizeof(bad_ints) / sizeof(bad_ints[0]); i++)
        ck_assert_msg(parse(with_iat(bad_ints[i])) == CB_JWT_MALFORMED, "accepted iat %s",
                      bad_ints[i]);
    /* claims the gateway does not read may be any number jansson takes */
    for (size_t i = 0; i < sizeof(good_others) / sizeof(good_others[0]); i++)
        ck_assert_msg(parse(payload_with(apr_pstrcat(pool, ",\"x\":", good_others[i], NULL)))
                      == CB_JWT_OK, "refused x %s", good_others[i]);
    for (size_t i = 0; i < sizeof(bad_others) / sizeof(bad_others[0]); i++)
        ck_assert_msg(parse(payload_with(apr_pstrcat(pool, ",\"x\":[", bad_others[i], "]", NULL)))
                      == CB_JWT_MALFORMED, "accepted x %s", bad_others[i]);
    /* nbf and exp follow the iat rules */
    ck_assert_int_eq(parse(payload_with(",\"nbf\":1.5")), CB_JWT_MALFORMED);
    ck_assert_int_eq(parse(payload_with(",\"nbf\":01")), CB_JWT_MALFORMED);
    {
        const char *json = payload_with(",\"nbf\":-9223372036854775808");
        ck_assert_int_eq(parse_n(json, strlen(json), &c, &nbf), CB_JWT_OK);
        ck_assert_int_eq(nbf, INT64_MIN);
    }
    ck_assert_int_eq(parse("{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\","
                           "\"iat\":1,\"exp\":1e10}"), CB_JWT_MALFORMED);
    /* a number ending the text */
    ck_assert_int_eq(parse_n("{\"x\":12", 7, &c, &nbf), CB_JWT_MALFORMED);
    ck_assert_int_eq(parse_n("{\"x\":1.", 7, &c, &nbf), CB_JWT_MALFORMED);
    ck_assert_int_eq(parse_n("{\"x\":1e", 7, &c, &nbf), CB_JWT_MALFORMED);
    ck_assert_int_eq(parse_n("{\"x\":-", 6, &c, &nbf), CB_JWT_MALFORMED);
}
END_TEST

START_TEST(claims_trailing_and_whitespace)
{
    const char *good = payload_with("");
    const char *spaced = " \t\r\n{ \t\r\n\"sub\" \t\r\n: \t\r\n\"u\" \t\r\n, \t\r\n\"env\":\"prod\""
                         "\n,\"sid\"\n:\n\"s\"\n,\n\"jti\":\"j\" , \"iat\" : 5 , \"exp\" :\t6 ,"
                         " \"x\" : [ { \"a\" : [ 1 , true ] } , null ] \t\r\n} \t\r\n";
    const char *bad[] = {
        apr_pstrcat(pool, good, "x", NULL), apr_pstrcat(pool, good, "}", NULL),
        apr_pstrcat(pool, good, " }", NULL), apr_pstrcat(pool, good, "{}", NULL),
        apr_pstrcat(pool, good, ",", NULL), apr_pstrcat(pool, good, " 1", NULL),
        apr_pstrcat(pool, "x", good, NULL), apr_pstrcat(pool, "\f", good, NULL),
        apr_pstrcat(pool, good, "\v", NULL), apr_pstrcat(pool, "\xef\xbb\xbf", good, NULL),
        apr_pstrcat(pool, "[", good, "]", NULL), apr_pstrcat(pool, good, "\xc2\xa0", NULL),
        "", " ", "{", "}", "null", "\"sub\"", "[]", "{}", "1",
        "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1,\"exp\":2,}",
        "{,\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1,\"exp\":2}",
        "{\"sub\":\"u\",,\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1,\"exp\":2}",
        "{\"sub\":\"u\" \"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1,\"exp\":2}",
    };
    cb_jwt_claims c;
    int64_t nbf;
    ck_assert_int_eq(parse_n(spaced, strlen(spaced), &c, &nbf), CB_JWT_OK);
    ck_assert_str_eq(c.sub, "u");
    ck_assert_str_eq(c.jti, "j");
    ck_assert_int_eq(c.iat, 5);
    ck_assert_int_eq(c.exp, 6);
    expect_all(bad, sizeof(bad) / sizeof(bad[0]), CB_JWT_MALFORMED);
    /* only len bytes are read: garbage after them does not count */
    ck_assert_int_eq(parse_n(apr_pstrcat(pool, good, "garbage", NULL), strlen(good), &c, &nbf),
                     CB_JWT_OK);
    /* a NUL byte after the object */
    ck_assert_int_eq(parse_n(good, strlen(good) + 1, &c, &nbf), CB_JWT_MALFORMED);
    /* every truncation of a valid payload is refused */
    for (size_t i = 0; i < strlen(spaced); i++)
        if (strspn(spaced + i, " \t\r\n") != strlen(spaced + i))
            ck_assert_msg(parse_n(spaced, i, &c, &nbf) == CB_JWT_MALFORMED, "accepted %zu", i);
    /* a whitespace-laden token through cb_jwt_verify */
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, apr_psprintf(pool, " {\n\"sub\" : \"u\" ,"
                                      "\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\": %d"
                                      " ,\"exp\":\t%d\r\n}\n", NOW, NOW + 60))), CB_JWT_OK);
}
END_TEST

Suite *jwt_claims_suite(void)
{
    Suite *s = suite_create("jwt_claims");
    TCase *tc = tcase_create("payload");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, claims_values);
    tcase_add_test(tc, claims_escapes);
    tcase_add_test(tc, claims_utf8);
    tcase_add_test(tc, claims_duplicates);
    tcase_add_test(tc, claims_nesting);
    tcase_add_test(tc, claims_depth_limit);
    tcase_add_test(tc, claims_numbers);
    tcase_add_test(tc, claims_trailing_and_whitespace);
    suite_add_tcase(s, tc);
    return s;
}
