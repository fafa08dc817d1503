/*
 * test_encoding.c: the core's encodings and digests (core/encoding.c,
 * core/crypto.c) against published vectors: RFC 4648 (base64, base64url,
 * hex), FIPS 180 and RFC 4231 / RFC 2202 (SHA and HMAC), RFC 3986 and the
 * AWS SigV4 URI-encoding rules (percent-encoding), the FNV reference values;
 * plus strictness of every decoder, constant-time compare and random tokens.
 */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>
#include <check.h>

#include "cloudbase/crypto.h"
#include "cloudbase/encoding.h"
#include "cloudbase/redis.h"

static apr_pool_t *pool;

static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

static const char *rfc4648_plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *rfc4648_b64[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
static const char *rfc4648_b64url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
static const char *rfc4648_hex[] = { "", "66", "666f", "666f6f", "666f6f62", "666f6f6261",
                                     "666f6f626172" };

START_TEST(base64_rfc4648_vectors)
{
    for (size_t i = 0; i < sizeof(rfc4648_plain) / sizeof(*rfc4648_plain); i++) {
        const char *plain = rfc4648_plain[i];
        unsigned char *out;
        size_t len;
        ck_assert_str_eq(cb_base64_encode(pool, (const unsigned char *)plain, strlen(plain)),
                         rfc4648_b64[i]);
        ck_assert_int_eq(cb_base64_decode(pool, rfc4648_b64[i], strlen(rfc4648_b64[i]), &out, &len), 0);
        ck_assert_uint_eq(len, strlen(plain));
        ck_assert_mem_eq(out, plain, len);
        ck_assert_str_eq(cb_base64url_encode(pool, (const unsigned char *)plain, strlen(plain)),
                         rfc4648_b64url[i]);
        ck_assert_int_eq(cb_base64url_decode(pool, rfc4648_b64url[i], strlen(rfc4648_b64url[i]),
                                             &out, &len), 0);
        ck_assert_uint_eq(len, strlen(plain));
        ck_assert_mem_eq(out, plain, len);
        ck_assert_str_eq(cb_hex_encode(pool, (const unsigned char *)plain, strlen(plain)),
                         rfc4648_hex[i]);
    }
}
END_TEST

START_TEST(base64_alphabets_differ)
{
    static const unsigned char high[] = { 0xfb, 0xff, 0xbf };
    unsigned char *out;
    size_t len;
    ck_assert_str_eq(cb_base64_encode(pool, high, 3), "+/+/");
    ck_assert_str_eq(cb_base64url_encode(pool, high, 3), "-_-_");
    ck_assert_int_eq(cb_base64_decode(pool, "-_-_", 4, &out, &len), -1);
    ck_assert_int_eq(cb_base64url_decode(pool, "+/+/", 4, &out, &len), -1);
}
END_TEST

START_TEST(base64_decoders_are_strict)
{
    static const char *bad_std[] = { "Zg=", "Zg", "Zh==", "Zm9=", "Zm9v\n", "Zg==Zg==", "====",
                                     "Z===", "Zm 9v", "Zm9vY===", "=Zm9" };
    static const char *bad_url[] = { "Zg==", "Z", "Zh", "Zm9", "Zm9v=", "Zm9v ", "Zm9vY" };
    unsigned char *out;
    size_t len;
    for (size_t i = 0; i < sizeof(bad_std) / sizeof(*bad_std); i++)
        ck_assert_msg(cb_base64_decode(pool, bad_std[i], strlen(bad_std[i]), &out, &len) == -1,
                      "base64 accepted '%s'", bad_std[i]);
    for (size_t i = 0; i < sizeof(bad_url) / sizeof(*bad_url); i++)
        ck_assert_msg(cb_base64url_decode(pool, bad_url[i], strlen(bad_url[i]), &out, &len) == -1,
                      "base64url accepted '%s'", bad_url[i]);
    /* a NUL inside the given length is not a character of either alphabet */
    ck_assert_int_eq(cb_base64url_decode(pool, "Zm\0v", 4, &out, &len), -1);
}
END_TEST

START_TEST(hex_decodes_either_case_and_nothing_else)
{
    unsigned char *out;
    size_t len;
    ck_assert_int_eq(cb_hex_decode(pool, "00fFaB7e", 8, &out, &len), 0);
    ck_assert_uint_eq(len, 4);
    ck_assert_mem_eq(out, "\x00\xff\xab\x7e", 4);
    ck_assert_int_eq(cb_hex_decode(pool, "abc", 3, &out, &len), -1);
    ck_assert_int_eq(cb_hex_decode(pool, "0g", 2, &out, &len), -1);
    ck_assert_int_eq(cb_hex_decode(pool, " 0", 2, &out, &len), -1);
}
END_TEST

static const char *hex_of(const unsigned char *d, size_t len) { return cb_hex_encode(pool, d, len); }

START_TEST(sha_fips_vectors)
{
    unsigned char d1[CB_SHA1_LEN], d256[CB_SHA256_LEN];
    ck_assert_int_eq(cb_sha1("abc", 3, d1), 0);
    ck_assert_str_eq(hex_of(d1, sizeof(d1)), "a9993e364706816aba3e25717850c26c9cd0d89d");
    ck_assert_int_eq(cb_sha256("abc", 3, d256), 0);
    ck_assert_str_eq(hex_of(d256, sizeof(d256)),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(cb_sha256_hex(pool, "", 0),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

/* FIPS 180-2's two-block message fed in uneven pieces, and the empty
 * stream; a finished stream takes nothing more. */
START_TEST(sha256_stream_matches_one_shot)
{
    static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    cb_sha256_stream *s = cb_sha256_stream_new(pool);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(cb_sha256_stream_update(s, msg, 1), 0);
    ck_assert_int_eq(cb_sha256_stream_update(s, msg + 1, 0), 0);
    ck_assert_int_eq(cb_sha256_stream_update(s, msg + 1, 30), 0);
    ck_assert_int_eq(cb_sha256_stream_update(s, msg + 31, strlen(msg) - 31), 0);
    ck_assert_str_eq(cb_sha256_stream_hex(pool, s),
                     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    ck_assert_int_eq(cb_sha256_stream_update(s, "x", 1), -1);
    ck_assert_ptr_null(cb_sha256_stream_hex(pool, s));
    s = cb_sha256_stream_new(pool);
    ck_assert_str_eq(cb_sha256_stream_hex(pool, s), cb_sha256_hex(pool, "", 0));
}
END_TEST

/* RFC 4231 test cases 1, 2 and 6; RFC 2202 test cases 1, 2 and 6. */
START_TEST(hmac_rfc4231_and_rfc2202_vectors)
{
    unsigned char k0b[20], kaa[131], m1[CB_SHA1_LEN], m256[CB_SHA256_LEN];
    static const char big_key_msg[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    memset(k0b, 0x0b, sizeof(k0b));
    memset(kaa, 0xaa, sizeof(kaa));

    ck_assert_int_eq(cb_hmac_sha256(k0b, 20, "Hi There", 8, m256), 0);
    ck_assert_str_eq(hex_of(m256, sizeof(m256)),
                     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    ck_assert_int_eq(cb_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, m256), 0);
    ck_assert_str_eq(hex_of(m256, sizeof(m256)),
                     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    ck_assert_int_eq(cb_hmac_sha256(kaa, 131, big_key_msg, strlen(big_key_msg), m256), 0);
    ck_assert_str_eq(hex_of(m256, sizeof(m256)),
                     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

    ck_assert_int_eq(cb_hmac_sha1(k0b, 20, "Hi There", 8, m1), 0);
    ck_assert_str_eq(hex_of(m1, sizeof(m1)), "b617318655057264e28bc0b6fb378c8ef146be00");
    ck_assert_int_eq(cb_hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, m1), 0);
    ck_assert_str_eq(hex_of(m1, sizeof(m1)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    ck_assert_int_eq(cb_hmac_sha1(kaa, 80, big_key_msg, strlen(big_key_msg), m1), 0);
    ck_assert_str_eq(hex_of(m1, sizeof(m1)), "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}
END_TEST

START_TEST(percent_encoding_rfc3986_and_sigv4)
{
    static const char unreserved[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    const char *utf8 = "caf\xc3\xa9";
    ck_assert_str_eq(cb_percent_encode(pool, unreserved, strlen(unreserved), 0), unreserved);
    ck_assert_str_eq(cb_percent_encode(pool, "a b+c=d&e", 9, 0), "a%20b%2Bc%3Dd%26e");
    ck_assert_str_eq(cb_percent_encode(pool, utf8, strlen(utf8), 0), "caf%C3%A9");
    /* SigV4: query values encode '/'; S3 object keys in the path keep it */
    ck_assert_str_eq(cb_percent_encode(pool, "a/b c", 5, 0), "a%2Fb%20c");
    ck_assert_str_eq(cb_percent_encode(pool, "photos/2024/my file+1.jpg", 25,
                                       CB_PERCENT_KEEP_SLASH),
                     "photos/2024/my%20file%2B1.jpg");
    ck_assert_str_eq(cb_percent_encode(pool, "*", 1, CB_PERCENT_KEEP_SLASH), "%2A");
    ck_assert_str_eq(cb_percent_encode(pool, "\0", 1, 0), "%00");
}
END_TEST

START_TEST(percent_decoding_is_strict)
{
    char *out;
    size_t len;
    ck_assert_int_eq(cb_percent_decode(pool, "%7e%7E%41b+c", 12, &out, &len), 0);
    ck_assert_str_eq(out, "~~Ab+c");
    ck_assert_int_eq(cb_percent_decode(pool, "a%00b", 5, &out, &len), 0);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(out, "a\0b", 3);
    ck_assert_int_eq(cb_percent_decode(pool, "%4", 2, &out, &len), -1);
    ck_assert_int_eq(cb_percent_decode(pool, "%", 1, &out, &len), -1);
    ck_assert_int_eq(cb_percent_decode(pool, "%zz", 3, &out, &len), -1);
    ck_assert_int_eq(cb_percent_decode(pool, "a%2", 3, &out, &len), -1);
}
END_TEST

START_TEST(fnv1a_reference_values)
{
    ck_assert_uint_eq(cb_fnv1a(CB_FNV1A_INIT, "", 0), 0xcbf29ce484222325ULL);
    ck_assert_uint_eq(cb_fnv1a(CB_FNV1A_INIT, "a", 1), 0xaf63dc4c8601ec8cULL);
    ck_assert_uint_eq(cb_fnv1a(CB_FNV1A_INIT, "foobar", 6), 0x85944171f73967e8ULL);
    /* chaining pieces is hashing their concatenation */
    ck_assert_uint_eq(cb_fnv1a(cb_fnv1a(CB_FNV1A_INIT, "foo", 3), "bar", 3), 0x85944171f73967e8ULL);
}
END_TEST

START_TEST(secret_compare)
{
    ck_assert_int_eq(cb_equal_secret("abc", 3, "abc", 3), 1);
    ck_assert_int_eq(cb_equal_secret("abc", 3, "abd", 3), 0);
    ck_assert_int_eq(cb_equal_secret("abc", 3, "abcd", 4), 0);
    ck_assert_int_eq(cb_equal_secret("", 0, "", 0), 1);
    ck_assert_int_eq(cb_equal_secret_str("admin-key", "admin-key"), 1);
    ck_assert_int_eq(cb_equal_secret_str("admin-key", "admin-ke"), 0);
    ck_assert_int_eq(cb_equal_secret_str("", "x"), 0);
}
END_TEST

START_TEST(random_tokens)
{
    const char *a = cb_random_hex(pool, 16), *b = cb_random_hex(pool, 16);
    const char *t = cb_random_token(pool, 32);
    unsigned char *raw;
    size_t len;
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(strlen(a), 32);
    ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 32);
    ck_assert_str_ne(a, b);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(cb_base64url_decode(pool, t, strlen(t), &raw, &len), 0);
    ck_assert_uint_eq(len, 32);
    ck_assert_ptr_null(cb_random_hex(pool, 65));
    ck_assert_ptr_null(cb_random_token(pool, 65));
}
END_TEST

START_TEST(query_parameters)
{
    const char *q = "a=1&b=two+words&c=%2Fx%26y&flag&empty=&a=second&bad=%zz&sp%61ced=yes";
    ck_assert_str_eq(cb_query_param(pool, q, "a"), "1");
    ck_assert_str_eq(cb_query_param(pool, q, "b"), "two words");
    ck_assert_str_eq(cb_query_param(pool, q, "c"), "/x&y");
    ck_assert_str_eq(cb_query_param(pool, q, "flag"), "");
    ck_assert_str_eq(cb_query_param(pool, q, "empty"), "");
    ck_assert_str_eq(cb_query_param(pool, q, "spaced"), "yes");
    ck_assert_ptr_null(cb_query_param(pool, q, "bad"));
    ck_assert_ptr_null(cb_query_param(pool, q, "missing"));
    ck_assert_ptr_null(cb_query_param(pool, q, "A"));
    ck_assert_ptr_null(cb_query_param(pool, "", "a"));
    ck_assert_ptr_null(cb_query_param(pool, NULL, "a"));
    ck_assert_str_eq(cb_query_param(pool, "&&x=1&&", "x"), "1");
}
END_TEST

START_TEST(redis_keys_carry_the_env_as_hash_tag)
{
    ck_assert_str_eq(cb_redis_key(pool, "demo", "sess", "abc", NULL), "cb:{demo}:sess:abc");
    ck_assert_str_eq(cb_redis_key(pool, "prod", "rl", NULL), "cb:{prod}:rl");
    ck_assert_str_eq(cb_redis_key(pool, "e", NULL), "cb:{e}");
}
END_TEST

Suite *encoding_suite(void)
{
    Suite *s = suite_create("encoding");
    TCase *tc = tcase_create("encoding");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, base64_rfc4648_vectors);
    tcase_add_test(tc, base64_alphabets_differ);
    tcase_add_test(tc, base64_decoders_are_strict);
    tcase_add_test(tc, hex_decodes_either_case_and_nothing_else);
    tcase_add_test(tc, percent_encoding_rfc3986_and_sigv4);
    tcase_add_test(tc, percent_decoding_is_strict);
    tcase_add_test(tc, fnv1a_reference_values);
    tcase_add_test(tc, secret_compare);
    tcase_add_test(tc, random_tokens);
    tcase_add_test(tc, query_parameters);
    tcase_add_test(tc, redis_keys_carry_the_env_as_hash_tag);
    suite_add_tcase(s, tc);
    tc = tcase_create("crypto");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sha_fips_vectors);
    tcase_add_test(tc, sha256_stream_matches_one_shot);
    tcase_add_test(tc, hmac_rfc4231_and_rfc2202_vectors);
    suite_add_tcase(s, tc);
    return s;
}
