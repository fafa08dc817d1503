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
 *     result must give the input back (one encoding per byte string);
 *  4. a payload's JSON text for the claims parser (jwt_claims.c), checked
 *     against a reference built on jansson (what jwt.c used before): both
 *     must accept or refuse it, and yield the same claims. See reference()
 *     for where the two differ on purpose. Then the same with the input as
 *     the value of one more claim in a payload that is valid otherwise, so
 *     that every JSON value reaches the end of a whole payload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <sanitizer/lsan_interface.h>

#include "jwt.h"
#include "jwt_claims.h"

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

/* ---- 4. the claims parser against jansson ---- */

/* The deepest nesting of objects and arrays in v (a scalar is 0). */
static size_t container_depth(json_t *v)
{
    size_t deepest = 0, i, d;
    const char *key;
    json_t *child;
    if (json_is_object(v)) {
        json_object_foreach(v, key, child)
            if ((d = container_depth(child)) > deepest)
                deepest = d;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child)
            if ((d = container_depth(child)) > deepest)
                deepest = d;
    } else {
        return 0;
    }
    return deepest + 1;
}

/* A non-empty string claim, or with optional an absent one (as jwt.c's
 * claim_string did). */
static int reference_string(json_t *o, const char *name, int optional, const char **out)
{
    json_t *v = json_object_get(o, name);
    *out = NULL;
    if (!v)
        return optional;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return 0;
    *out = apr_pstrmemdup(iteration_pool, json_string_value(v), json_string_length(v));
    return 1;
}

static int reference_int(json_t *o, const char *name, int optional, int64_t *out)
{
    json_t *v = json_object_get(o, name);
    if (!v)
        return optional;
    if (!json_is_integer(v))
        return 0;
    *out = (int64_t)json_integer_value(v);
    return 1;
}

/* The claims of a payload as jwt.c read them with jansson before
 * jwt_claims.c: json_loadb(JSON_REJECT_DUPLICATES), then the claim rules.
 * Returns 1 and fills *c and *nbf, or 0 for CB_JWT_MALFORMED.
 *
 * No extra rule is needed for what jansson refuses by itself, as
 * jwt_claims.c does: \u0000 anywhere (refused without JSON_ALLOW_NUL),
 * integers outside int64 and reals too big for a double (its lexer refuses
 * them in any member), lone surrogates, invalid UTF-8, control characters,
 * duplicate keys in nested objects, bytes after the object.
 *
 * Deliberate differences, applied here as extra rules:
 *  - nesting: jwt_claims.c refuses objects and arrays more than
 *    CB_JWT_CLAIMS_MAX_DEPTH deep (the payload being level 1); jansson
 *    allows 2048 levels of values;
 *  - NUL bytes: jansson's reader loses a raw NUL byte right after a number
 *    or true/false/null (its one-character look-ahead buffer takes NUL for
 *    "empty"), so it accepts {"iat":1<NUL>,...}; jwt_claims.c refuses every
 *    raw NUL byte, as RFC 8259 does (jansson refuses all others too). */
static int reference(const uint8_t *data, size_t size, cb_jwt_claims *c, int64_t *nbf)
{
    json_t *o;
    int ok;
    if (memchr(data, '\0', size))
        return 0;
    if (!(o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL)))
        return 0;
    *nbf = INT64_MIN;
    ok = json_is_object(o) && container_depth(o) <= CB_JWT_CLAIMS_MAX_DEPTH
         && reference_string(o, "sub", 0, &c->sub) && reference_string(o, "env", 0, &c->env)
         && reference_string(o, "sid", 0, &c->sid) && reference_string(o, "jti", 0, &c->jti)
         && reference_string(o, "scope", 1, &c->scope)
         && reference_string(o, "kind", 1, &c->kind) && (!c->kind || is_kind(c->kind))
         && reference_int(o, "iat", 0, &c->iat) && reference_int(o, "exp", 0, &c->exp)
         && reference_int(o, "nbf", 1, nbf);
    json_decref(o);
    return ok;
}

static int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void compare_with_reference(const uint8_t *data, size_t size)
{
    cb_jwt_claims mine, theirs;
    int64_t my_nbf = 0, their_nbf = 0;
    int accepted = cb_jwt_claims_parse(iteration_pool, data, size, &mine, &my_nbf) == CB_JWT_OK;
    int expected = reference(data, size, &theirs, &their_nbf);
    require(accepted == expected, accepted ? "jwt_claims.c accepted a payload jansson refuses"
                                           : "jwt_claims.c refused a payload jansson accepts",
            data, size);
    if (!accepted)
        return;
    require(same_string(mine.sub, theirs.sub) && same_string(mine.env, theirs.env)
            && same_string(mine.scope, theirs.scope) && same_string(mine.sid, theirs.sid)
            && same_string(mine.jti, theirs.jti) && same_string(mine.kind, theirs.kind),
            "jwt_claims.c and jansson read different strings", data, size);
    require(mine.iat == theirs.iat && mine.exp == theirs.exp && my_nbf == their_nbf,
            "jwt_claims.c and jansson read different numbers", data, size);
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
        const char *sig = cb_base64url_encode(iteration_pool, mac, mac_len);
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
    if (cb_base64url_decode(iteration_pool, text, size, &decoded, &decoded_len) == 0) {
        const char *again = cb_base64url_encode(iteration_pool, decoded, decoded_len);
        require(strlen(again) == size && memcmp(again, text, size) == 0,
                "base64url decoding is not canonical", data, size);
    }

    /* 4. as a payload's JSON text, and as the value of an unknown claim */
    compare_with_reference(data, size);
    {
        static const char head[] = "{\"sub\":\"u\",\"env\":\"prod\",\"sid\":\"s\",\"jti\":\"j\","
                                   "\"iat\":1,\"exp\":2,\"x\":";
        size_t len = sizeof(head) - 1 + size + 1;
        uint8_t *payload = malloc(len);     /* exactly sized: ASan sees over-reads */
        if (!payload)
            fail("out of memory", NULL);
        memcpy(payload, head, sizeof(head) - 1);
        memcpy(payload + sizeof(head) - 1, data, size);
        payload[len - 1] = '}';
        compare_with_reference(payload, len);
        free(payload);
    }

    apr_pool_clear(iteration_pool);
    return 0;
}
