/*
 * test_jwt.c: the auth plugin's JWT code (plugins/auth/jwt.c): base64url,
 * keyrings, HS256/ES256 round trips, rotation, a known-answer test, tokens
 * made by the OpenSSL command line, and every way a token is refused.
 * The payload parser has its own file, test_jwt_claims.c.
 *
 * ES256 keys are made at test time in a temp dir that teardown removes.
 * Forged tokens are built here with OpenSSL's HMAC() one-shot, independently
 * of jwt.c.
 */
#include <dirent.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_pools.h>
#include <apr_strings.h>
#include <check.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "jwt.h"
#include "jwt_claims.h"

#define NOW 1700000000
#define LEEWAY 30

static apr_pool_t *pool;
static char tmpdir[64];
static cb_jwt_keyring *hs_kr;   /* "hs-1" (signing) */
static cb_jwt_keyring *es_kr;   /* "es-1" private key (signing) */

static const unsigned char secret[] = "test-secret-0123456789-abcdefghijklmnop";
#define SECRET_LEN (sizeof(secret) - 1)

static const char *tmp_path(const char *name)
{
    return apr_pstrcat(pool, tmpdir, "/", name, NULL);
}

/* A fresh P-256 key: the private key to priv, the public key to pub. */
static int write_p256(const char *priv, const char *pub)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    FILE *f = NULL, *g = NULL;
    int ok = pkey && (f = fopen(priv, "w")) && PEM_write_PrivateKey(f, pkey, NULL, NULL, 0,
                                                                     NULL, NULL)
             && (!pub || ((g = fopen(pub, "w")) && PEM_write_PUBKEY(g, pkey)));
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    EVP_PKEY_free(pkey);
    return ok;
}

/* Once per test case, in the parent process, so that the keys are removed
 * even when a forked test fails before its teardown. */
static char es_priv[96], es_pub[96], es2_priv[96];
static int keys_written;

static void make_keys(void)
{
    strcpy(tmpdir, "/tmp/cb_jwt_test_XXXXXX");
    if (!mkdtemp(tmpdir))
        return;
    snprintf(es_priv, sizeof(es_priv), "%s/es.pem", tmpdir);
    snprintf(es_pub, sizeof(es_pub), "%s/es.pub.pem", tmpdir);
    snprintf(es2_priv, sizeof(es2_priv), "%s/es2.pem", tmpdir);
    keys_written = write_p256(es_priv, es_pub) && write_p256(es2_priv, NULL);
}

static void remove_keys(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[sizeof(tmpdir) + 256];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(tmpdir);
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    ck_assert_msg(keys_written, "could not write P-256 test keys under /tmp");
    hs_kr = cb_jwt_keyring_create(pool);
    ck_assert_ptr_null(cb_jwt_keyring_add_hs256(hs_kr, pool, "hs-1", secret, SECRET_LEN, 1));
    es_kr = cb_jwt_keyring_create(pool);
    ck_assert_ptr_null(cb_jwt_keyring_add_es256_pem(es_kr, pool, "es-1", es_priv, 1));
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static cb_jwt_claims claims(void)
{
    cb_jwt_claims c = {"user-42", "prod", "read write", "sess-1", "jti-1", "user",
                       NOW - 10, NOW + 3600};
    return c;
}

static const char *b64(const char *text)
{
    return cb_base64url_encode(pool, (const unsigned char *)text, strlen(text));
}

/* header.payload signed with HMAC-SHA256 under key, built without jwt.c. */
static const char *hmac_token(const char *header, const char *payload,
                              const void *key, size_t key_len)
{
    const char *input = apr_pstrcat(pool, b64(header), ".", b64(payload), NULL);
    unsigned char mac[32];
    unsigned int mac_len = 0;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)input,
                               strlen(input), mac, &mac_len));
    return apr_pstrcat(pool, input, ".", cb_base64url_encode(pool, mac, mac_len), NULL);
}

#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"hs-1\"}"

static const char *payload_with(const char *extra)
{
    return apr_psprintf(pool, "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\","
                        "\"iat\":%d,\"exp\":%d%s}", NOW, NOW + 60, extra);
}

static const char *hs(const char *header, const char *payload)
{
    return hmac_token(header, payload, secret, SECRET_LEN);
}

static cb_jwt_result verify(const cb_jwt_keyring *kr, const char *token)
{
    return cb_jwt_verify(pool, kr, token, strlen(token), "prod", NOW, LEEWAY, NULL);
}

static const char *sign(const cb_jwt_keyring *kr, cb_jwt_claims c)
{
    /* in pool memory: gcc -O3 takes a local's address for a dangling pointer */
    const char **token = apr_pcalloc(pool, sizeof(*token));
    ck_assert_ptr_null(cb_jwt_sign(pool, kr, &c, token));
    return *token;
}

START_TEST(base64url)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    static const char *const bad[] = {"Zg==", "Zm8=", "Z", "Zm9vY", "Zh", "Zm9", "Zm!v",
                                      "Zm+v", "Zm/v", "Zm9v\n", " Zm9v", "Zm\xc3\xa9v"};
    static const unsigned char high[] = {0xfb, 0xff, 0xbf};
    unsigned char *out;
    size_t len;
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        ck_assert_str_eq(b64(plain[i]), coded[i]);
        ck_assert_int_eq(cb_base64url_decode(pool, coded[i], strlen(coded[i]), &out, &len), 0);
        ck_assert_uint_eq(len, strlen(plain[i]));
        ck_assert_str_eq((const char *)out, plain[i]);
    }
    ck_assert_str_eq(cb_base64url_encode(pool, high, sizeof(high)), "-_-_");
    ck_assert_int_eq(cb_base64url_decode(pool, "-_-_", 4, &out, &len), 0);
    ck_assert_mem_eq(out, high, sizeof(high));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(cb_base64url_decode(pool, bad[i], strlen(bad[i]), &out, &len) == -1,
                      "accepted '%s'", bad[i]);
    /* only in_len bytes are read */
    ck_assert_int_eq(cb_base64url_decode(pool, "Zm9v!!", 4, &out, &len), 0);
    ck_assert_str_eq((const char *)out, "foo");
}
END_TEST

START_TEST(keyring_refusals)
{
    cb_jwt_keyring *kr = cb_jwt_keyring_create(pool);
    static const unsigned char short_secret[] = "only-31-bytes-of-secret-materia";
    const char *err;
    err = cb_jwt_keyring_add_hs256(kr, pool, "k", short_secret, sizeof(short_secret) - 1, 1);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "at least 32"));
    ck_assert_ptr_null(strstr(err, (const char *)short_secret));
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_hs256(kr, pool, "", secret, SECRET_LEN, 1));
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_hs256(kr, pool, NULL, secret, SECRET_LEN, 1));
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_hs256(kr, pool, "a\"b", secret, SECRET_LEN, 1));
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_hs256(kr, pool, "a b", secret, SECRET_LEN, 1));
    ck_assert_ptr_null(cb_jwt_keyring_add_hs256(kr, pool, "k", secret, SECRET_LEN, 1));
    err = cb_jwt_keyring_add_hs256(kr, pool, "k", secret, SECRET_LEN, 1);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(strstr(err, (const char *)secret));
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_es256_pem(kr, pool, "k", es_priv, 0));
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_es256_pem(kr, pool, "e", tmp_path("none.pem"), 0));
    /* a public key cannot sign; an HS secret file is no PEM */
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_es256_pem(kr, pool, "e", es_pub, 1));
    ck_assert_str_eq(cb_jwt_keyring_signing_kid(kr), "k");
    ck_assert_ptr_null(cb_jwt_keyring_add_es256_pem(kr, pool, "e", es_pub, 0));
    ck_assert_str_eq(cb_jwt_keyring_signing_kid(kr), "k");
    /* a private key may serve as a verify-only key */
    ck_assert_ptr_null(cb_jwt_keyring_add_es256_pem(kr, pool, "e2", es2_priv, 0));
    ck_assert_ptr_null(cb_jwt_keyring_signing_kid(cb_jwt_keyring_create(pool)));
}
END_TEST

/* Other curves and key types, made with the openssl command line. */
START_TEST(other_key_types)
{
    cb_jwt_keyring *kr = cb_jwt_keyring_create(pool);
    const char *p384 = tmp_path("p384.pem"), *ed = tmp_path("ed.pem"), *edpub = tmp_path("edp.pem");
    const char *enc = tmp_path("enc.pem");
    const char *err;
    ck_assert_msg(system("openssl version >/dev/null 2>&1") == 0,
                  "the openssl command line tool is missing (scripts/install-deps.sh installs it)");
    ck_assert_int_eq(system(apr_psprintf(pool, "openssl ecparam -name secp384r1 -genkey -noout "
                                         "-out %s 2>/dev/null", p384)), 0);
    ck_assert_int_eq(system(apr_psprintf(pool, "openssl genpkey -algorithm ed25519 -out %s "
                                         "2>/dev/null && openssl pkey -in %s -pubout -out %s "
                                         "2>/dev/null", ed, ed, edpub)), 0);
    ck_assert_int_eq(system(apr_psprintf(pool, "openssl pkey -in %s -aes256 -passout pass:pw "
                                         "-out %s 2>/dev/null", es_priv, enc)), 0);
    err = cb_jwt_keyring_add_es256_pem(kr, pool, "a", p384, 1);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "P-256"));
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_es256_pem(kr, pool, "a", p384, 0));
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_es256_pem(kr, pool, "a", ed, 1));
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_es256_pem(kr, pool, "a", edpub, 0));
    ck_assert_ptr_nonnull(cb_jwt_keyring_add_es256_pem(kr, pool, "a", enc, 1));
    ck_assert_ptr_null(cb_jwt_keyring_signing_kid(kr));
}
END_TEST

START_TEST(hs256_round_trip)
{
    const char *token = sign(hs_kr, claims());
    const char *dot = strchr(token, '.');
    cb_jwt_claims out;
    unsigned char *json;
    size_t len;
    ck_assert_ptr_nonnull(dot);
    ck_assert_str_eq(apr_pstrndup(pool, token, (size_t)(dot - token)), b64(HS_HEADER));
    ck_assert_int_eq(cb_base64url_decode(pool, dot + 1, (size_t)(strrchr(token, '.') - dot - 1),
                                          &json, &len), 0);
    ck_assert_str_eq((const char *)json, "{\"sub\":\"user-42\",\"env\":\"prod\",\"kind\":\"user\","
                     "\"scope\":\"read write\",\"sid\":\"sess-1\",\"jti\":\"jti-1\","
                     "\"iat\":1699999990,\"exp\":1700003600}");
    ck_assert_uint_eq(strlen(strrchr(token, '.') + 1), 43);
    ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, token, strlen(token), "prod", NOW, 0, &out),
                     CB_JWT_OK);
    ck_assert_str_eq(out.sub, "user-42");
    ck_assert_str_eq(out.env, "prod");
    ck_assert_str_eq(out.scope, "read write");
    ck_assert_str_eq(out.sid, "sess-1");
    ck_assert_str_eq(out.jti, "jti-1");
    ck_assert_str_eq(out.kind, "user");
    ck_assert_int_eq(out.iat, NOW - 10);
    ck_assert_int_eq(out.exp, NOW + 3600);
    /* NULL strings are left out; the token need not end with a NUL */
    {
        cb_jwt_claims c = claims();
        char *copy;
        c.scope = NULL;
        c.kind = NULL;
        token = sign(hs_kr, c);
        copy = apr_pstrcat(pool, token, "garbage", NULL);
        ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, copy, strlen(token), "prod", NOW, 0, &out),
                         CB_JWT_OK);
        ck_assert_ptr_null(out.scope);
        ck_assert_ptr_null(out.kind);
        ck_assert_int_ne(verify(hs_kr, copy), CB_JWT_OK);
    }
}
END_TEST

START_TEST(hs256_known_answer)
{
    static const unsigned char kat_secret[] = "kat-secret-0123456789abcdefghijklmnopqrstuvwxyz";
    static const char expected[] =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImthdC0xIn0."
        "eyJzdWIiOiJ1c2VyLTQyIiwiZW52IjoicHJvZCIsImtpbmQiOiJ1c2VyIiwic2NvcGUiOiJyZWFkIiwic2lk"
        "Ijoicy0xIiwianRpIjoiai0xIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9."
        "wDwAN9ewEky0-hoMjK0nKeZ_5HMOIjM9ZLJiTgb28vg";   /* computed with Python's hmac */
    cb_jwt_keyring *kr = cb_jwt_keyring_create(pool);
    cb_jwt_claims c = {"user-42", "prod", "read", "s-1", "j-1", "user", NOW, NOW + 3600};
    const char *token;
    ck_assert_ptr_null(cb_jwt_keyring_add_hs256(kr, pool, "kat-1", kat_secret,
                                                sizeof(kat_secret) - 1, 1));
    /* the signature, recomputed here with OpenSSL's HMAC() */
    ck_assert_str_eq(hmac_token("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"kat-1\"}",
                                "{\"sub\":\"user-42\",\"env\":\"prod\",\"kind\":\"user\","
                                "\"scope\":\"read\",\"sid\":\"s-1\",\"jti\":\"j-1\","
                                "\"iat\":1700000000,\"exp\":1700003600}",
                                kat_secret, sizeof(kat_secret) - 1), expected);
    token = sign(kr, c);
    ck_assert_str_eq(token, expected);
    ck_assert_int_eq(verify(kr, expected), CB_JWT_OK);
}
END_TEST

/* r||s (64 bytes) <-> DER, independently of jwt.c */
static const char *raw_from_der(const unsigned char *der, long len)
{
    unsigned char raw[64];
    const unsigned char *cursor = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &cursor, len);
    const BIGNUM *r, *s;
    ck_assert_ptr_nonnull(sig);
    ECDSA_SIG_get0(sig, &r, &s);
    ck_assert_int_eq(BN_bn2binpad(r, raw, 32), 32);
    ck_assert_int_eq(BN_bn2binpad(s, raw + 32, 32), 32);
    ECDSA_SIG_free(sig);
    return cb_base64url_encode(pool, raw, sizeof(raw));
}

START_TEST(es256_round_trip)
{
    cb_jwt_keyring *pub = cb_jwt_keyring_create(pool);
    const char *token = sign(es_kr, claims()), *last = strrchr(token, '.') + 1;
    cb_jwt_claims out;
    unsigned char *raw, der[80], *cursor = der;
    size_t raw_len;
    int der_len;
    ck_assert_str_eq(apr_pstrndup(pool, token, (size_t)(strchr(token, '.') - token)),
                     b64("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"es-1\"}"));
    ck_assert_uint_eq(strlen(last), 86);
    ck_assert_int_eq(cb_jwt_verify(pool, es_kr, token, strlen(token), "prod", NOW, 0, &out),
                     CB_JWT_OK);
    ck_assert_str_eq(out.sub, "user-42");
    ck_assert_ptr_null(cb_jwt_keyring_add_es256_pem(pub, pool, "es-1", es_pub, 0));
    ck_assert_int_eq(verify(pub, token), CB_JWT_OK);
    /* OpenSSL itself accepts the signature once converted to DER */
    {
        ECDSA_SIG *sig = ECDSA_SIG_new();
        EVP_PKEY *pkey;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        FILE *f = fopen(es_pub, "r");
        ck_assert_int_eq(cb_base64url_decode(pool, last, strlen(last), &raw, &raw_len), 0);
        ck_assert_uint_eq(raw_len, 64);
        ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
        der_len = i2d_ECDSA_SIG(sig, &cursor);
        ck_assert_ptr_nonnull(pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL));
        fclose(f);
        ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey), 1);
        ck_assert_int_eq(EVP_DigestVerify(md, der, (size_t)der_len, (const unsigned char *)token,
                                          (size_t)(last - 1 - token)), 1);
        EVP_MD_CTX_free(md);
        EVP_PKEY_free(pkey);
        ECDSA_SIG_free(sig);
    }
    /* many signatures: r and s with leading zero bytes convert too */
    for (int i = 0; i < 200; i++) {
        cb_jwt_claims c = claims();
        c.jti = apr_psprintf(pool, "jti-%d", i);
        ck_assert_int_eq(verify(pub, sign(es_kr, c)), CB_JWT_OK);
    }
}
END_TEST

/* A signature made by `openssl dgst -sha256 -sign`, verified by jwt.c. */
START_TEST(es256_openssl_cli)
{
    const char *input = apr_pstrcat(pool, b64("{\"alg\":\"ES256\",\"kid\":\"es-1\"}"), ".",
                                    b64(payload_with("")), NULL);
    const char *in_path = tmp_path("input"), *sig_path = tmp_path("sig.der");
    unsigned char der[128];
    long der_len;
    FILE *f;
    ck_assert_msg(system("openssl version >/dev/null 2>&1") == 0,
                  "the openssl command line tool is missing (scripts/install-deps.sh installs it)");
    ck_assert_ptr_nonnull(f = fopen(in_path, "w"));
    fputs(input, f);
    fclose(f);
    ck_assert_int_eq(system(apr_psprintf(pool, "openssl dgst -sha256 -sign %s -out %s %s",
                                         es_priv, sig_path, in_path)), 0);
    ck_assert_ptr_nonnull(f = fopen(sig_path, "rb"));
    der_len = (long)fread(der, 1, sizeof(der), f);
    fclose(f);
    ck_assert_int_eq(verify(es_kr, apr_pstrcat(pool, input, ".", raw_from_der(der, der_len),
                                               NULL)), CB_JWT_OK);
}
END_TEST

START_TEST(rotation)
{
    cb_jwt_keyring *before = cb_jwt_keyring_create(pool), *after = cb_jwt_keyring_create(pool);
    static const unsigned char new_secret[] = "a-new-secret-after-rotation-0123456789";
    const char *old_token, *new_token, *es_token;
    ck_assert_ptr_null(cb_jwt_keyring_add_hs256(before, pool, "k1", secret, SECRET_LEN, 1));
    old_token = sign(before, claims());
    ck_assert_ptr_null(cb_jwt_keyring_add_hs256(after, pool, "k1", secret, SECRET_LEN, 1));
    ck_assert_ptr_null(cb_jwt_keyring_add_hs256(after, pool, "k2", new_secret,
                                                sizeof(new_secret) - 1, 1));
    ck_assert_str_eq(cb_jwt_keyring_signing_kid(after), "k2");
    new_token = sign(after, claims());
    ck_assert_str_ne(new_token, old_token);
    ck_assert_int_eq(verify(after, old_token), CB_JWT_OK);
    ck_assert_int_eq(verify(after, new_token), CB_JWT_OK);
    ck_assert_int_eq(verify(before, new_token), CB_JWT_UNKNOWN_KID);
    /* from HS256 to ES256: the ES key signs, the HS key keeps verifying */
    ck_assert_ptr_null(cb_jwt_keyring_add_es256_pem(after, pool, "k3", es_priv, 1));
    ck_assert_str_eq(cb_jwt_keyring_signing_kid(after), "k3");
    es_token = sign(after, claims());
    ck_assert_int_eq(verify(after, es_token), CB_JWT_OK);
    ck_assert_int_eq(verify(after, old_token), CB_JWT_OK);
    ck_assert_int_eq(verify(es_kr, es_token), CB_JWT_UNKNOWN_KID);
    /* a verify-only key added last does not take over signing */
    ck_assert_ptr_null(cb_jwt_keyring_add_es256_pem(after, pool, "k4", es_pub, 0));
    ck_assert_str_eq(cb_jwt_keyring_signing_kid(after), "k3");
}
END_TEST

START_TEST(alg_none_and_unknown_algs)
{
    const char *payload = b64(payload_with(""));
    static const char *const algs[] = {"HS384", "RS256", "hs256", "PS256", "EdDSA", ""};
    ck_assert_int_eq(verify(hs_kr, apr_pstrcat(pool, b64("{\"alg\":\"none\",\"typ\":\"JWT\","
                                               "\"kid\":\"hs-1\"}"), ".", payload, ".", NULL)),
                     CB_JWT_BAD_ALG);
    ck_assert_int_eq(verify(hs_kr, apr_pstrcat(pool, b64("{\"alg\":\"none\"}"), ".", payload,
                                               ".", NULL)), CB_JWT_BAD_ALG);
    ck_assert_int_eq(verify(hs_kr, hs("{\"alg\":\"none\",\"kid\":\"hs-1\"}", payload_with(""))),
                     CB_JWT_BAD_ALG);
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        ck_assert_int_eq(verify(hs_kr, hs(apr_psprintf(pool, "{\"alg\":\"%s\",\"kid\":\"hs-1\"}",
                                                       algs[i]), payload_with(""))),
                         CB_JWT_BAD_ALG);
    ck_assert_int_eq(verify(hs_kr, hs("{\"alg\":null,\"kid\":\"hs-1\"}", payload_with(""))),
                     CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"kid\":\"hs-1\"}", payload_with(""))), CB_JWT_MALFORMED);
    /* an HS256 token without a signature */
    ck_assert_int_eq(verify(hs_kr, apr_pstrcat(pool, b64(HS_HEADER), ".", payload, ".", NULL)),
                     CB_JWT_BAD_SIGNATURE);
}
END_TEST

START_TEST(alg_confusion)
{
    cb_jwt_keyring *mixed = cb_jwt_keyring_create(pool);
    const char *pem = NULL, *token;
    apr_size_t pem_len = 0;
    FILE *f = fopen(es_pub, "r");
    char buf[1024];
    ck_assert_ptr_nonnull(f);
    pem_len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    pem = apr_pstrmemdup(pool, buf, pem_len);
    ck_assert_ptr_null(cb_jwt_keyring_add_es256_pem(mixed, pool, "es-1", es_pub, 0));
    ck_assert_ptr_null(cb_jwt_keyring_add_hs256(mixed, pool, "hs-1", secret, SECRET_LEN, 1));
    /* HS256 keyed with the ES256 public key PEM, naming the ES256 key */
    token = hmac_token("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"es-1\"}", payload_with(""),
                       pem, strlen(pem));
    ck_assert_int_eq(verify(mixed, token), CB_JWT_BAD_ALG);
    ck_assert_int_eq(verify(es_kr, token), CB_JWT_BAD_ALG);
    /* the same without the trailing newline, and without typ */
    token = hmac_token("{\"alg\":\"HS256\",\"kid\":\"es-1\"}", payload_with(""), pem,
                       strlen(pem) - 1);
    ck_assert_int_eq(verify(mixed, token), CB_JWT_BAD_ALG);
    /* an ES256 header naming the HS256 key, with a valid ES256 signature */
    {
        cb_jwt_keyring *other = cb_jwt_keyring_create(pool);
        const char *es_token, *rest;
        ck_assert_ptr_null(cb_jwt_keyring_add_es256_pem(other, pool, "hs-1", es_priv, 1));
        es_token = sign(other, claims());
        ck_assert_int_eq(verify(mixed, es_token), CB_JWT_BAD_ALG);
        /* its header swapped for HS256, signature kept */
        rest = strchr(es_token, '.');
        ck_assert_int_eq(verify(mixed, apr_pstrcat(pool, b64(HS_HEADER), rest, NULL)),
                         CB_JWT_BAD_SIGNATURE);
    }
}
END_TEST

START_TEST(kid_checks)
{
    ck_assert_int_eq(verify(hs_kr, hs("{\"alg\":\"HS256\",\"kid\":\"hs-2\"}", payload_with(""))),
                     CB_JWT_UNKNOWN_KID);
    ck_assert_int_eq(verify(hs_kr, hs("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload_with(""))),
                     CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"alg\":\"HS256\",\"kid\":7}", payload_with(""))),
                     CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"alg\":\"HS256\",\"kid\":\"\"}", payload_with(""))),
                     CB_JWT_UNKNOWN_KID);
    ck_assert_int_eq(verify(hs_kr, hs("{\"alg\":\"HS256\",\"kid\":\"hs-1\\u0000\"}",
                                      payload_with(""))), CB_JWT_MALFORMED);
    /* a header spelled differently from ours is parsed and accepted */
    ck_assert_int_eq(verify(hs_kr, hs("{ \"kid\" : \"hs-1\", \"alg\" : \"HS256\", \"x\":[1] }",
                                      payload_with(""))), CB_JWT_OK);
    ck_assert_int_eq(verify(hs_kr, hs("{\"kid\":\"hs-1\",\"alg\":\"HS256\",\"typ\":\"jwt\"}",
                                      payload_with(""))), CB_JWT_OK);
    ck_assert_int_eq(verify(hs_kr, hs("{\"kid\":\"hs-1\",\"alg\":\"HS256\",\"typ\":\"JOSE\"}",
                                      payload_with(""))), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"kid\":\"hs-1\",\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
                                      payload_with(""))), CB_JWT_MALFORMED);
    /* Read as jansson reads it: names and values with escapes are the same
     * member, a key twice or a number no double holds is malformed, any
     * crit (even null) refuses the token, typ must be a string. */
    ck_assert_int_eq(verify(hs_kr, hs("{\"\\u006bid\":\"hs\\u002d1\",\"a\\u006cg\":\"HS\\u0032\\u0035\\u0036\","
                                      "\"t\\u0079p\":\"J\\u0057T\"}", payload_with(""))), CB_JWT_OK);
    ck_assert_int_eq(verify(hs_kr, hs("{\"kid\":\"hs-1\",\"alg\":\"HS256\",\"al\\u0067\":\"HS256\"}",
                                      payload_with(""))), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"kid\":\"hs-1\",\"alg\":\"HS256\",\"x\":1e400}",
                                      payload_with(""))), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"kid\":\"hs-1\",\"alg\":\"HS256\",\"crit\":null}",
                                      payload_with(""))), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"kid\":\"hs-1\",\"alg\":\"HS256\",\"typ\":null}",
                                      payload_with(""))), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"kid\":\"hs-1\",\"alg\":\"HS256\",\"typ\":\"JWTX\"}",
                                      payload_with(""))), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"kid\":\"hs-1\",\"alg\":\"HS2560\"}", payload_with(""))),
                     CB_JWT_BAD_ALG);
    ck_assert_int_eq(verify(hs_kr, hs("[\"alg\",\"HS256\"]", payload_with(""))), CB_JWT_MALFORMED);
}
END_TEST

/* Replaces the character at i with another base64url character. */
static const char *flip(const char *token, size_t i)
{
    char *t = apr_pstrdup(pool, token);
    t[i] = t[i] == 'A' ? 'B' : 'A';
    return t;
}

START_TEST(tampering)
{
    const cb_jwt_keyring *rings[] = {hs_kr, es_kr};
    for (int k = 0; k < 2; k++) {
        const char *token = sign(rings[k], claims());
        const char *dot1 = strchr(token, '.'), *dot2 = strrchr(token, '.');
        cb_jwt_claims admin = claims();
        const char *forged;
        size_t len = strlen(token);
        /* each character of the payload and signature */
        for (size_t i = (size_t)(dot1 - token) + 1; i < len; i++)
            if (token[i] != '.')
                ck_assert_int_ne(verify(rings[k], flip(token, i)), CB_JWT_OK);
        ck_assert_int_eq(verify(rings[k], flip(token, (size_t)(dot1 - token) + 3)),
                         CB_JWT_BAD_SIGNATURE);
        ck_assert_int_eq(verify(rings[k], flip(token, (size_t)(dot2 - token) + 5)),
                         CB_JWT_BAD_SIGNATURE);
        /* another payload under the original signature */
        admin.kind = "admin";
        forged = sign(rings[k], admin);
        ck_assert_int_eq(verify(rings[k], apr_pstrcat(pool, apr_pstrndup(pool, forged,
                                                      (size_t)(strrchr(forged, '.') - forged)),
                                                      dot2, NULL)), CB_JWT_BAD_SIGNATURE);
        /* every truncation */
        for (size_t i = 0; i < len; i++)
            ck_assert_int_ne(cb_jwt_verify(pool, rings[k], token, i, "prod", NOW, LEEWAY, NULL),
                             CB_JWT_OK);
        ck_assert_int_eq(verify(rings[k], apr_pstrcat(pool, token, "A", NULL)),
                         CB_JWT_BAD_SIGNATURE);
        ck_assert_int_eq(verify(rings[k], apr_pstrcat(pool, token, "AAAA", NULL)),
                         CB_JWT_BAD_SIGNATURE);
        ck_assert_int_eq(verify(rings[k], apr_pstrcat(pool, token, ".", NULL)), CB_JWT_MALFORMED);
    }
}
END_TEST

START_TEST(times)
{
    cb_jwt_claims c = claims();
    c.exp = NOW - 100;
    ck_assert_int_eq(verify(hs_kr, sign(hs_kr, c)), CB_JWT_EXPIRED);
    c.exp = NOW - 10;                         /* within the leeway */
    ck_assert_int_eq(verify(hs_kr, sign(hs_kr, c)), CB_JWT_OK);
    c.exp = NOW;
    ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, sign(hs_kr, c), strlen(sign(hs_kr, c)), "prod",
                                   NOW, 0, NULL), CB_JWT_EXPIRED);
    c.exp = NOW + 1;
    ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, sign(hs_kr, c), strlen(sign(hs_kr, c)), "prod",
                                   NOW, 0, NULL), CB_JWT_OK);
    c = claims();
    c.iat = NOW + 100;
    ck_assert_int_eq(verify(hs_kr, sign(hs_kr, c)), CB_JWT_NOT_YET_VALID);
    c.iat = NOW + 10;
    ck_assert_int_eq(verify(hs_kr, sign(hs_kr, c)), CB_JWT_OK);
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, payload_with(",\"nbf\":1700000100"))),
                     CB_JWT_NOT_YET_VALID);
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, payload_with(",\"nbf\":1700000000"))),
                     CB_JWT_OK);
    /* extreme values neither overflow nor pass */
    c = claims();
    c.exp = INT64_MAX;
    ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, sign(hs_kr, c), strlen(sign(hs_kr, c)), "prod",
                                   NOW, INT64_MAX, NULL), CB_JWT_OK);
    c.exp = INT64_MIN;
    ck_assert_int_eq(verify(hs_kr, sign(hs_kr, c)), CB_JWT_EXPIRED);
    c = claims();
    c.iat = INT64_MAX;
    ck_assert_int_eq(verify(hs_kr, sign(hs_kr, c)), CB_JWT_NOT_YET_VALID);
}
END_TEST

START_TEST(environments)
{
    const char *token = sign(hs_kr, claims());
    cb_jwt_claims out;
    ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, token, strlen(token), "staging", NOW, 0, &out),
                     CB_JWT_WRONG_ENV);
    ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, token, strlen(token), "pro", NOW, 0, &out),
                     CB_JWT_WRONG_ENV);
    ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, token, strlen(token), "", NOW, 0, &out),
                     CB_JWT_WRONG_ENV);
    ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, token, strlen(token), NULL, NOW, 0, &out),
                     CB_JWT_OK);
    ck_assert_str_eq(out.env, "prod");
}
END_TEST

START_TEST(length_limit)
{
    /* a scope growing one byte at a time across the 4096-byte limit */
    char *scope = apr_palloc(pool, 3200);
    size_t longest_ok = 0, shortest_refused = SIZE_MAX;
    memset(scope, 's', 3200);
    for (size_t n = 2900; n < 3100; n++) {
        const char *token;
        scope[n] = '\0';
        token = hs(HS_HEADER, payload_with(apr_psprintf(pool, ",\"scope\":\"%s\"", scope)));
        scope[n] = 's';
        if (strlen(token) <= CB_JWT_MAX_TOKEN_LEN) {
            ck_assert_int_eq(verify(hs_kr, token), CB_JWT_OK);
            longest_ok = strlen(token) > longest_ok ? strlen(token) : longest_ok;
        } else {
            ck_assert_int_eq(verify(hs_kr, token), CB_JWT_MALFORMED);
            shortest_refused = strlen(token) < shortest_refused ? strlen(token) : shortest_refused;
        }
    }
    ck_assert_uint_ge(longest_ok, CB_JWT_MAX_TOKEN_LEN - 1);
    ck_assert_uint_le(shortest_refused, CB_JWT_MAX_TOKEN_LEN + 2);
    /* signing refuses what verifying would refuse */
    {
        cb_jwt_claims c = claims();
        const char *t;
        scope[3199] = '\0';
        c.scope = scope;
        ck_assert_ptr_nonnull(cb_jwt_sign(pool, hs_kr, &c, &t));
    }
}
END_TEST

START_TEST(garbage)
{
    static const char *const tokens[] = {
        "", ".", "..", "...", "a.b.c", "a.b", "abc", "a..c", ".b.c",
        "eyJhbGciOiJIUzI1NiJ9=.e30.AAAA", "e!J.e30.AAAA", "e30.e30.e30.e30",
    };
    const char *good = sign(hs_kr, claims());
    const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    const char *header = apr_pstrndup(pool, good, (size_t)(dot1 - good));
    const char *payload = apr_pstrndup(pool, dot1 + 1, (size_t)(dot2 - dot1 - 1));
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
        ck_assert_msg(verify(hs_kr, tokens[i]) == CB_JWT_MALFORMED, "'%s'", tokens[i]);
    ck_assert_int_eq(verify(hs_kr, apr_pstrcat(pool, header, ".", payload, "=.", dot2 + 1, NULL)),
                     CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, apr_pstrcat(pool, header, ".", payload, dot2, "=", NULL)),
                     CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, apr_pstrcat(pool, header, ".+", payload + 1, dot2, NULL)),
                     CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, apr_pstrcat(pool, header, ".", payload, ".+/", dot2 + 3,
                                               NULL)), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(NULL, good), CB_JWT_MALFORMED);
    ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, NULL, 0, "prod", NOW, 0, NULL), CB_JWT_MALFORMED);
    /* JSON that is not an object, or not JSON */
    ck_assert_int_eq(verify(hs_kr, hs("[\"HS256\"]", payload_with(""))), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"alg\":\"HS256\",\"kid\":\"hs-1\"", payload_with(""))),
                     CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, "[1,2]")), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, "\"sub\"")), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, "{}")), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, apr_pstrcat(pool, payload_with(""), "x", NULL))),
                     CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, "{\"sub\":\"\xff\",\"env\":\"prod\"}")),
                     CB_JWT_MALFORMED);
}
END_TEST

START_TEST(duplicates_and_claim_types)
{
    static const char *const extras[] = {
        ",\"sub\":\"other\"", ",\"exp\":1700009999", ",\"env\":\"prod\"",
        ",\"kind\":\"root\"", ",\"scope\":5", ",\"nbf\":\"0\"", ",\"kind\":null",
    };
    static const char *const bad_payloads[] = {
        "{\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000060}",
        "{\"sub\":\"u\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000060}",
        "{\"sub\":\"u\",\"env\":\"prod\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000060}",
        "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"iat\":1700000000,\"exp\":1700000060}",
        "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"exp\":1700000060}",
        "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1700000000}",
        "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1700000000,"
        "\"exp\":1700000060.5}",
        "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1700000000,"
        "\"exp\":\"1700000060\"}",
        "{\"sub\":\"\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1700000000,"
        "\"exp\":1700000060}",
        "{\"sub\":[\"u\"],\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1700000000,"
        "\"exp\":1700000060}",
        "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\",\"iat\":1700000000,"
        "\"exp\":99999999999999999999}",
        "{\"sub\":\"u\\u0000admin\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\","
        "\"iat\":1700000000,\"exp\":1700000060}",
    };
    for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++)
        ck_assert_msg(verify(hs_kr, hs(HS_HEADER, payload_with(extras[i]))) == CB_JWT_MALFORMED,
                      "accepted %s", extras[i]);
    for (size_t i = 0; i < sizeof(bad_payloads) / sizeof(bad_payloads[0]); i++)
        ck_assert_msg(verify(hs_kr, hs(HS_HEADER, bad_payloads[i])) == CB_JWT_MALFORMED,
                      "accepted %s", bad_payloads[i]);
    ck_assert_int_eq(verify(hs_kr, hs("{\"alg\":\"HS256\",\"alg\":\"HS256\",\"kid\":\"hs-1\"}",
                                      payload_with(""))), CB_JWT_MALFORMED);
    ck_assert_int_eq(verify(hs_kr, hs("{\"alg\":\"HS256\",\"kid\":\"x\",\"kid\":\"hs-1\"}",
                                      payload_with(""))), CB_JWT_MALFORMED);
    /* claims the gateway does not know are ignored; known kinds pass */
    ck_assert_int_eq(verify(hs_kr, hs(HS_HEADER, payload_with(",\"aud\":[\"x\"],\"kind\":\"key\""))),
                     CB_JWT_OK);
}
END_TEST

START_TEST(sign_refusals)
{
    cb_jwt_claims c = claims();
    const char *token = NULL;
    cb_jwt_keyring *verify_only = cb_jwt_keyring_create(pool);
    ck_assert_ptr_null(cb_jwt_keyring_add_es256_pem(verify_only, pool, "p", es_pub, 0));
    ck_assert_ptr_nonnull(cb_jwt_sign(pool, verify_only, &c, &token));
    ck_assert_ptr_nonnull(cb_jwt_sign(pool, NULL, &c, &token));
    c.sub = NULL;
    ck_assert_ptr_nonnull(cb_jwt_sign(pool, hs_kr, &c, &token));
    c = claims();
    c.jti = "";
    ck_assert_ptr_nonnull(cb_jwt_sign(pool, hs_kr, &c, &token));
    c = claims();
    c.kind = "root";
    ck_assert_ptr_nonnull(cb_jwt_sign(pool, hs_kr, &c, &token));
    c = claims();
    c.sub = "\xff\xfe";
    ck_assert_ptr_nonnull(cb_jwt_sign(pool, hs_kr, &c, &token));
    ck_assert_ptr_null(token);
    c = claims();
    c.sub = "quote \" backslash \\ unicode \xc3\xa9 control \x01";
    ck_assert_ptr_null(cb_jwt_sign(pool, hs_kr, &c, &token));
    {
        cb_jwt_claims out;
        ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, token, strlen(token), "prod", NOW, 0, &out),
                         CB_JWT_OK);
        ck_assert_str_eq(out.sub, c.sub);
    }
}
END_TEST

START_TEST(result_texts)
{
    for (int r = CB_JWT_OK; r <= CB_JWT_WRONG_ENV; r++) {
        ck_assert_ptr_nonnull(cb_jwt_result_text((cb_jwt_result)r));
        ck_assert_str_ne(cb_jwt_result_text((cb_jwt_result)r), "unknown result");
    }
    ck_assert_str_eq(cb_jwt_result_text(CB_JWT_BAD_SIGNATURE), "signature does not match");
    ck_assert_str_eq(cb_jwt_result_text((cb_jwt_result)99), "unknown result");
}
END_TEST

typedef struct {
    const cb_jwt_keyring *kr;
    const char *tokens[2];
    int ok;
} thread_job;

static void *verify_many(void *arg)
{
    thread_job *job = arg;
    apr_pool_t *p;
    apr_pool_create_unmanaged(&p);
    for (int i = 0; i < 400; i++) {
        const char *t = job->tokens[i % 2];
        cb_jwt_claims out;
        if (cb_jwt_verify(p, job->kr, t, strlen(t), "prod", NOW, 0, &out) == CB_JWT_OK
            && !strcmp(out.sub, "user-42"))
            job->ok++;
        if (i % 50 == 0)
            apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(concurrent_verify)
{
    cb_jwt_keyring *kr = cb_jwt_keyring_create(pool);
    pthread_t threads[4];
    thread_job jobs[4];
    const char *hs_token, *es_token;
    ck_assert_ptr_null(cb_jwt_keyring_add_es256_pem(kr, pool, "e", es_priv, 1));
    es_token = sign(kr, claims());
    ck_assert_ptr_null(cb_jwt_keyring_add_hs256(kr, pool, "h", secret, SECRET_LEN, 1));
    hs_token = sign(kr, claims());
    for (int i = 0; i < 4; i++) {
        jobs[i].kr = kr;
        jobs[i].tokens[0] = hs_token;
        jobs[i].tokens[1] = i % 2 ? es_token : hs_token;
        jobs[i].ok = 0;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, verify_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(jobs[i].ok, 400);
    }
}
END_TEST

/* Claims with escapes and non-ASCII text survive a round trip through a
 * token made outside jwt.c. */
START_TEST(claims_through_verify)
{
    cb_jwt_claims out;
    const char *token = hs(HS_HEADER, payload_with(",\"scope\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\""
                                                   " \xc3\xa9\",\"kind\":\"\\u0075ser\","
                                                   "\"aud\":[{\"x\":[1.5e3,null]}]"));
    ck_assert_int_eq(cb_jwt_verify(pool, hs_kr, token, strlen(token), "prod", NOW, LEEWAY, &out),
                     CB_JWT_OK);
    ck_assert_str_eq(out.scope, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \xc3\xa9");
    ck_assert_str_eq(out.kind, "user");
    ck_assert_str_eq(out.sub, "u");
    ck_assert_int_eq(out.exp, NOW + 60);
    /* env compared after decoding */
    token = hs(HS_HEADER, apr_psprintf(pool, "{\"sub\":\"u\",\"env\":\"pr\\u006fd\",\"sid\":\"s\","
                                       "\"jti\":\"j\",\"iat\":%d,\"exp\":%d}", NOW, NOW + 60));
    ck_assert_int_eq(verify(hs_kr, token), CB_JWT_OK);
    token = hs(HS_HEADER, apr_psprintf(pool, "{\"sub\":\"u\",\"env\":\"prod\\u0000\",\"sid\":\"s\","
                                       "\"jti\":\"j\",\"iat\":%d,\"exp\":%d}", NOW, NOW + 60));
    ck_assert_int_eq(verify(hs_kr, token), CB_JWT_MALFORMED);
}
END_TEST

Suite *jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("jwt");
    tcase_add_unchecked_fixture(tc, make_keys, remove_keys);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, base64url);
    tcase_add_test(tc, keyring_refusals);
    tcase_add_test(tc, other_key_types);
    tcase_add_test(tc, hs256_round_trip);
    tcase_add_test(tc, hs256_known_answer);
    tcase_add_test(tc, es256_round_trip);
    tcase_add_test(tc, es256_openssl_cli);
    tcase_add_test(tc, rotation);
    tcase_add_test(tc, alg_none_and_unknown_algs);
    tcase_add_test(tc, alg_confusion);
    tcase_add_test(tc, kid_checks);
    tcase_add_test(tc, tampering);
    tcase_add_test(tc, times);
    tcase_add_test(tc, environments);
    tcase_add_test(tc, length_limit);
    tcase_add_test(tc, garbage);
    tcase_add_test(tc, duplicates_and_claim_types);
    tcase_add_test(tc, sign_refusals);
    tcase_add_test(tc, result_texts);
    tcase_add_test(tc, concurrent_verify);
    tcase_add_test(tc, claims_through_verify);
    suite_add_tcase(s, tc);
    return s;
}
