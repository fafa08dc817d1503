/*
 * fuzz_jwt.c: libFuzzer target for the auth plugin's JWT code
 * (plugins/auth/jwt.c).
 *
 * Each input is
 *  1. a token for cb_jwt_verify against a keyring with one HS256 and one
 *     ES256 key. Nobody but this file knows the keys, so CB_JWT_OK would be
 *     a forged signature: abort;
 *  2. "header.payload" that this target signs with the HS256 secret (as if
 *     the key had leaked), so the header and claim checks see arbitrary
 *     JSON. CB_JWT_OK is fine then, but the claims must obey the rules:
 *     required strings present and non-empty, the expected env, not expired,
 *     not issued in the future, a known kind;
 *  3. base64url text: when the strict decoder accepts it, encoding the
 *     result must give the input back (one encoding per byte string).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <sanitizer/lsan_interface.h>

#include "jwt.h"

#define NOW 1700000000
#define LEEWAY 30

static const unsigned char secret[] = "fuzz-secret-0123456789-abcdefghijklmnop";

static apr_pool_t *global_pool;
static apr_pool_t *iteration_pool;
static cb_jwt_keyring *keyring;

static void require(int condition, const char *what, const uint8_t *data, size_t size)
{
    if (condition)
        return;
    fprintf(stderr, "fuzz_jwt invariant broken: %s (input '%.*s')\n", what, (int)size,
            (const char *)data);
    abort();
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_jwt: %s: %s\n", what, detail ? detail : "?");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[] = "/tmp/fuzz_jwt_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    const char *err;
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&global_pool, NULL);
    apr_pool_create(&iteration_pool, global_pool);
    if (!f || !pkey || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL))
        fail("cannot write a P-256 key", path);
    fclose(f);
    EVP_PKEY_free(pkey);
    /* The keyring's OpenSSL objects are referenced only from pool memory,
     * which this APR allocates with mmap where LeakSanitizer does not look:
     * they would be reported as leaks. They live until the process exits. */
    __lsan_disable();
    keyring = cb_jwt_keyring_create(global_pool);
    err = cb_jwt_keyring_add_es256_pem(keyring, global_pool, "es-1", path, 1);
    unlink(path);
    if (err)
        fail("ES256 key", err);
    if ((err = cb_jwt_keyring_add_hs256(keyring, global_pool, "hs-1", secret,
                                        sizeof(secret) - 1, 1)))
        fail("HS256 key", err);
    __lsan_enable();
    return 0;
}

static int is_kind(const char *kind)
{
    return !strcmp(kind, "anonymous") || !strcmp(kind, "user") || !strcmp(kind, "key")
           || !strcmp(kind, "admin");
}

static void check_claims(const cb_jwt_claims *c, const uint8_t *data, size_t size)
{
    require(c->sub && *c->sub && c->env && c->sid && *c->sid && c->jti && *c->jti,
            "a required claim is missing", data, size);
    require(strcmp(c->env, "prod") == 0, "a token of another env passed", data, size);
    require(c->exp > NOW - LEEWAY, "an expired token passed", data, size);
    require(c->iat <= NOW + LEEWAY, "a token issued in the future passed", data, size);
    require(!c->kind || is_kind(c->kind), "an unknown kind passed", data, size);
    require(!c->scope || *c->scope, "an empty scope passed", data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    cb_jwt_claims claims;
    unsigned char *decoded, mac[32];
    unsigned int mac_len = 0;
    size_t decoded_len;
    cb_jwt_result r;

    /* 1. as a token: nothing may verify */
    r = cb_jwt_verify(iteration_pool, keyring, text, size, "prod", NOW, LEEWAY, &claims);
    require(r != CB_JWT_OK, "a token with a forged signature verified", data, size);
    require(strcmp(cb_jwt_result_text(r), "unknown result") != 0, "unknown result", data, size);

    /* 2. as header.payload signed with the HS256 secret */
    if (size <= CB_JWT_MAX_TOKEN_LEN
        && HMAC(EVP_sha256(), secret, (int)sizeof(secret) - 1, data, size, mac, &mac_len)) {
        const char *sig = cb_jwt_b64url_encode(iteration_pool, mac, mac_len);
        size_t sig_len = strlen(sig);
        char *token = apr_palloc(iteration_pool, size + 1 + sig_len);
        memcpy(token, text, size);               /* may hold NUL bytes */
        token[size] = '.';
        memcpy(token + size + 1, sig, sig_len);
        r = cb_jwt_verify(iteration_pool, keyring, token, size + 1 + sig_len, "prod", NOW,
                          LEEWAY, &claims);
        if (r == CB_JWT_OK)
            check_claims(&claims, data, size);
    }

    /* 3. as base64url */
    if (cb_jwt_b64url_decode(iteration_pool, text, size, &decoded, &decoded_len) == 0) {
        const char *again = cb_jwt_b64url_encode(iteration_pool, decoded, decoded_len);
        require(strlen(again) == size && memcmp(again, text, size) == 0,
                "base64url decoding is not canonical", data, size);
    }

    apr_pool_clear(iteration_pool);
    return 0;
}
