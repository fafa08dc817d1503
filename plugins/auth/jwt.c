/*
 * jwt.c: JWT signing and verification for the auth plugin (see jwt.h):
 * a keyring of HS256 (HMAC-SHA256, compared in constant
 * time) and ES256 (P-256, JOSE r||s) keys.
 *
 * Speed: each key keeps a keyed HMAC context (duplicated per call) or its
 * EVP_PKEY, and the base64url header cb_jwt_sign writes for it: a token
 * carrying those exact bytes skips the header's JSON parse. The payload is
 * decoded on the stack and parsed once, after its signature matched, by
 * jwt_claims.c; other headers are read with the core's scanner too
 * (cloudbase/json_scan.h), and signing builds the payload with
 * cloudbase/json.h. Every OpenSSL object gets a cleanup on the pool at hand, run as
 * soon as it is no longer needed.
 */
#include <string.h>
#include <strings.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "cloudbase/crypto.h"
#include "cloudbase/json.h"
#include "cloudbase/json_scan.h"
#include "jwt.h"
#include "jwt_claims.h"

enum { ALG_HS256 = 1, ALG_ES256 = 2 };

#define HS256_SIG_LEN 32
#define ES256_SIG_LEN 64
#define ES256_COORD_LEN 32
/* The largest decoded segment of a token of CB_JWT_MAX_TOKEN_LEN bytes. */
#define MAX_SEGMENT_LEN (CB_JWT_MAX_TOKEN_LEN / 4 * 3 + 3)

typedef struct jwt_key {
    const char *kid;
    int alg;
    const char *header_b64;   /* what cb_jwt_sign writes for this key */
    size_t header_b64_len;
    EVP_MAC_CTX *hmac;        /* HS256: keyed, never used directly (dup) */
    EVP_PKEY *pkey;           /* ES256 */
} jwt_key;

struct cb_jwt_keyring {
    apr_pool_t *pool;
    apr_hash_t *by_kid;       /* kid -> jwt_key */
    apr_hash_t *by_header;    /* header_b64 -> jwt_key */
    const jwt_key *signer;
    EVP_MAC *hmac_alg;        /* fetched once */
};

/* ---- pool cleanups for OpenSSL objects ---- */

static apr_status_t mac_cleanup(void *o) { EVP_MAC_free(o); return APR_SUCCESS; }
static apr_status_t mac_ctx_cleanup(void *o) { EVP_MAC_CTX_free(o); return APR_SUCCESS; }
static apr_status_t pkey_cleanup(void *o) { EVP_PKEY_free(o); return APR_SUCCESS; }
static apr_status_t pkey_ctx_cleanup(void *o) { EVP_PKEY_CTX_free(o); return APR_SUCCESS; }
static apr_status_t md_ctx_cleanup(void *o) { EVP_MD_CTX_free(o); return APR_SUCCESS; }
static apr_status_t bio_cleanup(void *o) { BIO_free(o); return APR_SUCCESS; }
static apr_status_t ecdsa_sig_cleanup(void *o) { ECDSA_SIG_free(o); return APR_SUCCESS; }

/* Ties obj (when not NULL) to p: freed by fn when p is cleared, or earlier
 * with apr_pool_cleanup_run(p, obj, fn). */
static void *own(apr_pool_t *p, void *obj, apr_status_t (*fn)(void *))
{
    if (obj)
        apr_pool_cleanup_register(p, obj, fn, apr_pool_cleanup_null);
    return obj;
}

/* ---- keyring ---- */

cb_jwt_keyring *cb_jwt_keyring_create(apr_pool_t *p)
{
    cb_jwt_keyring *kr = apr_pcalloc(p, sizeof(*kr));
    kr->pool = p;
    kr->by_kid = apr_hash_make(p);
    kr->by_header = apr_hash_make(p);
    return kr;
}

const char *cb_jwt_keyring_signing_kid(const cb_jwt_keyring *kr)
{
    return kr && kr->signer ? kr->signer->kid : NULL;
}

static const char *check_kid(cb_jwt_keyring *kr, apr_pool_t *p, const char *kid)
{
    static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789._:-";
    size_t len = kid ? strlen(kid) : 0;
    if (len == 0 || len > CB_JWT_MAX_KID_LEN || strspn(kid, allowed) != len)
        return "a JWT key id (kid) must have 1-64 characters of [A-Za-z0-9._:-]";
    if (apr_hash_get(kr->by_kid, kid, APR_HASH_KEY_STRING))
        return apr_psprintf(p, "JWT key id '%s' is used twice: give each key its own kid", kid);
    return NULL;
}

/* Files key under its kid and its header, and makes it the signer. */
static void keyring_insert(cb_jwt_keyring *kr, jwt_key *key, const char *kid, int signing)
{
    const char *header = apr_psprintf(kr->pool, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                                      key->alg == ALG_HS256 ? "HS256" : "ES256", kid);
    key->kid = apr_pstrdup(kr->pool, kid);
    key->header_b64 = cb_base64url_encode(kr->pool, (const unsigned char *)header,
                                           strlen(header));
    key->header_b64_len = strlen(key->header_b64);
    apr_hash_set(kr->by_kid, key->kid, APR_HASH_KEY_STRING, key);
    apr_hash_set(kr->by_header, key->header_b64, (apr_ssize_t)key->header_b64_len, key);
    if (signing)
        kr->signer = key;
}

const char *cb_jwt_keyring_add_hs256(cb_jwt_keyring *kr, apr_pool_t *p, const char *kid,
                                     const unsigned char *secret, size_t len, int signing)
{
    const char *err = check_kid(kr, p, kid);
    OSSL_PARAM params[2];
    jwt_key *key;
    if (err)
        return err;
    if (!secret || len < CB_JWT_MIN_HS256_SECRET)
        return apr_psprintf(p, "the HS256 secret of JWT key '%s' has %" APR_SIZE_T_FMT
                            " bytes; it needs at least %d random bytes (for example "
                            "'openssl rand -base64 48')", kid, secret ? len : 0,
                            CB_JWT_MIN_HS256_SECRET);
    if (!kr->hmac_alg && !(kr->hmac_alg = own(kr->pool, EVP_MAC_fetch(NULL, "HMAC", NULL),
                                              mac_cleanup))) {
        ERR_clear_error();
        return "OpenSSL has no HMAC implementation";
    }
    key = apr_pcalloc(kr->pool, sizeof(*key));
    key->alg = ALG_HS256;
    key->hmac = own(kr->pool, EVP_MAC_CTX_new(kr->hmac_alg), mac_ctx_cleanup);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!key->hmac || !EVP_MAC_init(key->hmac, secret, len, params)) {
        ERR_clear_error();
        return apr_psprintf(p, "could not set up HMAC-SHA256 for JWT key '%s'", kid);
    }
    keyring_insert(kr, key, kid, signing);
    return NULL;
}

/* Refuses to prompt for a pass phrase: encrypted PEM files fail to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

static int is_p256(EVP_PKEY *pkey)
{
    char name[64];
    size_t len = 0;
    return EVP_PKEY_is_a(pkey, "EC")
           && EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                             sizeof(name), &len)
           && (!strcmp(name, SN_X9_62_prime256v1) || !strcmp(name, "P-256"));
}

const char *cb_jwt_keyring_add_es256_pem(cb_jwt_keyring *kr, apr_pool_t *p, const char *kid,
                                         const char *pem_path, int signing)
{
    const char *err = check_kid(kr, p, kid);
    EVP_PKEY *pkey = NULL;
    BIO *bio;
    jwt_key *key;
    if (err)
        return err;
    if (!pem_path || !*pem_path)
        return apr_psprintf(p, "JWT key '%s': no PEM file given", kid);
    if (!(bio = own(p, BIO_new_file(pem_path, "r"), bio_cleanup))) {
        ERR_clear_error();
        return apr_psprintf(p, "JWT key '%s': cannot open %s", kid, pem_path);
    }
    if (!signing) {
        pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
        if (!pkey)
            (void)BIO_reset(bio);
    }
    if (!pkey)
        pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    apr_pool_cleanup_run(p, bio, bio_cleanup);
    ERR_clear_error();
    if (!pkey)
        return apr_psprintf(p, "JWT key '%s': %s holds no unencrypted PEM %s", kid, pem_path,
                            signing ? "private key (a signing key needs the private key)"
                                    : "public or private key");
    own(kr->pool, pkey, pkey_cleanup);
    if (!is_p256(pkey)) {
        apr_pool_cleanup_run(kr->pool, pkey, pkey_cleanup);
        ERR_clear_error();
        return apr_psprintf(p, "JWT key '%s': %s is not a P-256 (prime256v1) EC key, which "
                            "ES256 requires (openssl ecparam -name prime256v1 -genkey)",
                            kid, pem_path);
    }
    key = apr_pcalloc(kr->pool, sizeof(*key));
    key->alg = ALG_ES256;
    key->pkey = pkey;
    keyring_insert(kr, key, kid, signing);
    return NULL;
}

/* ---- signatures ---- */

/* HMAC-SHA256 of msg with key's secret into out (32 bytes). */
static int hs256(apr_pool_t *p, const jwt_key *key, const char *msg, size_t len,
                 unsigned char *out)
{
    size_t out_len = 0;
    EVP_MAC_CTX *ctx = own(p, EVP_MAC_CTX_dup(key->hmac), mac_ctx_cleanup);
    int ok = ctx && EVP_MAC_update(ctx, (const unsigned char *)msg, len)
             && EVP_MAC_final(ctx, out, &out_len, HS256_SIG_LEN) && out_len == HS256_SIG_LEN;
    if (ctx)
        apr_pool_cleanup_run(p, ctx, mac_ctx_cleanup);
    if (!ok)
        ERR_clear_error();
    return ok;
}

/* ECDSA P-256 / SHA-256 of msg, as JOSE r||s into out (64 bytes). */
static int es256_sign(apr_pool_t *p, const jwt_key *key, const char *msg, size_t len,
                      unsigned char *out)
{
    unsigned char der[128];
    const unsigned char *cursor = der;
    size_t der_len = sizeof(der);
    const BIGNUM *r, *s;
    ECDSA_SIG *sig = NULL;
    int ok = 0;
    EVP_MD_CTX *md = own(p, EVP_MD_CTX_new(), md_ctx_cleanup);
    if (md && EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key->pkey, NULL) == 1
        && EVP_DigestSign(md, der, &der_len, (const unsigned char *)msg, len) == 1
        && (sig = own(p, d2i_ECDSA_SIG(NULL, &cursor, (long)der_len), ecdsa_sig_cleanup))) {
        ECDSA_SIG_get0(sig, &r, &s);
        ok = BN_bn2binpad(r, out, ES256_COORD_LEN) == ES256_COORD_LEN
             && BN_bn2binpad(s, out + ES256_COORD_LEN, ES256_COORD_LEN) == ES256_COORD_LEN;
    }
    if (sig)
        apr_pool_cleanup_run(p, sig, ecdsa_sig_cleanup);
    if (md)
        apr_pool_cleanup_run(p, md, md_ctx_cleanup);
    if (!ok)
        ERR_clear_error();
    return ok;
}

/* Appends one 32-byte unsigned big-endian coordinate as a DER INTEGER:
 * leading zero bytes dropped, a zero byte added when the top bit is set. */
static size_t der_integer(unsigned char *out, const unsigned char *v)
{
    size_t skip = 0, n, pad;
    while (skip < ES256_COORD_LEN - 1 && v[skip] == 0)
        skip++;
    n = ES256_COORD_LEN - skip;
    pad = v[skip] & 0x80 ? 1 : 0;
    out[0] = 0x02;
    out[1] = (unsigned char)(n + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, v + skip, n);
    return 2 + pad + n;
}

/* Checks a JOSE r||s signature (64 bytes) of msg with key's public key,
 * given to OpenSSL as the DER SEQUENCE {INTEGER r, INTEGER s}. */
static int es256_verify(apr_pool_t *p, const jwt_key *key, const char *msg, size_t len,
                        const unsigned char *rs)
{
    unsigned char digest[SHA256_DIGEST_LENGTH], der[2 + 2 * (3 + ES256_COORD_LEN)];
    size_t der_len = 2;
    EVP_PKEY_CTX *ctx;
    int ok;
    der_len += der_integer(der + der_len, rs);
    der_len += der_integer(der + der_len, rs + ES256_COORD_LEN);
    der[0] = 0x30;                               /* SEQUENCE, short length form */
    der[1] = (unsigned char)(der_len - 2);
    ctx = own(p, EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL), pkey_ctx_cleanup);
    ok = ctx && cb_sha256(msg, len, digest) == 0
         && EVP_PKEY_verify_init(ctx) == 1
         && EVP_PKEY_verify(ctx, der, der_len, digest, sizeof(digest)) == 1;
    if (ctx)
        apr_pool_cleanup_run(p, ctx, pkey_ctx_cleanup);
    if (!ok)
        ERR_clear_error();
    return ok;
}

/* ---- signing ---- */

/* Adds a string claim; 0 when the value is not valid UTF-8. */
static int set_claim(cb_json *o, const char *name, const char *value)
{
    return !value || cb_json_set_string(o, name, value) == 0;
}

const char *cb_jwt_sign(apr_pool_t *p, const cb_jwt_keyring *kr,
                        const cb_jwt_claims *claims, const char **token)
{
    const jwt_key *key = kr ? kr->signer : NULL;
    unsigned char sig[ES256_SIG_LEN];
    size_t payload_len, input_len, sig_len, total;
    const char *json;
    char *out;
    cb_json *o;
    int ok;
    if (!key)
        return "no JWT signing key: add a key with signing on";
    if (!claims || !claims->sub || !*claims->sub || !claims->env || !*claims->env
        || !claims->sid || !*claims->sid || !claims->jti || !*claims->jti)
        return "a JWT needs the claims sub, env, sid and jti";
    if (claims->kind && !cb_jwt_claims_is_kind(claims->kind))
        return apr_psprintf(p, "JWT kind '%s' is not anonymous, user, key or admin",
                            claims->kind);
    if (!(o = cb_json_new_object(p)))
        return "out of memory";
    ok = set_claim(o, "sub", claims->sub) && set_claim(o, "env", claims->env)
         && set_claim(o, "kind", claims->kind) && set_claim(o, "scope", claims->scope)
         && set_claim(o, "sid", claims->sid) && set_claim(o, "jti", claims->jti)
         && cb_json_set_int(o, "iat", claims->iat) == 0
         && cb_json_set_int(o, "exp", claims->exp) == 0;
    if (!ok)
        return "a JWT claim is not valid UTF-8";
    json = cb_json_dump(p, o);
    payload_len = strlen(json);
    input_len = key->header_b64_len + 1 + cb_base64url_encoded_len(payload_len);
    sig_len = key->alg == ALG_HS256 ? HS256_SIG_LEN : ES256_SIG_LEN;
    total = input_len + 1 + cb_base64url_encoded_len(sig_len);
    out = apr_palloc(p, total + 1);
    memcpy(out, key->header_b64, key->header_b64_len);
    out[key->header_b64_len] = '.';
    cb_base64url_encode_into((const unsigned char *)json, payload_len, out + key->header_b64_len + 1);
    if (total > CB_JWT_MAX_TOKEN_LEN)
        return apr_psprintf(p, "the JWT would have %" APR_SIZE_T_FMT " bytes, more than the "
                            "%d accepted: shorten the claims", total, CB_JWT_MAX_TOKEN_LEN);
    ok = key->alg == ALG_HS256 ? hs256(p, key, out, input_len, sig)
                               : es256_sign(p, key, out, input_len, sig);
    if (!ok)
        return apr_psprintf(p, "signing with JWT key '%s' failed", key->kid);
    out[input_len] = '.';
    cb_base64url_encode_into(sig, sig_len, out + input_len + 1);
    out[total] = '\0';
    *token = out;
    return NULL;
}

/* ---- verification ---- */

const char *cb_jwt_result_text(cb_jwt_result r)
{
    static const char *const texts[] = {   /* in the order of cb_jwt_result */
        "valid", "malformed token", "algorithm not allowed for this key",
        "unknown signing key", "signature does not match", "token expired",
        "token not valid yet", "token belongs to another environment"};
    return (unsigned)r < sizeof(texts) / sizeof(texts[0]) ? texts[r] : "unknown result";
}

/* The header members parse_header reads. */
typedef struct {
    cb_json_span alg, typ, kid;
    unsigned seen;                           /* HEADER_* bits */
} header_members;

enum { HEADER_ALG = 1, HEADER_TYP = 2, HEADER_KID = 4, HEADER_CRIT = 8 };

static int read_header_member(void *baton, const cb_json_span *key, const cb_json_span *value)
{
    header_members *h = baton;
    if (cb_json_span_is(key, "alg")) {
        h->alg = *value;
        h->seen |= HEADER_ALG;
    } else if (cb_json_span_is(key, "typ")) {
        h->typ = *value;
        h->seen |= HEADER_TYP;
    } else if (cb_json_span_is(key, "kid")) {
        h->kid = *value;
        h->seen |= HEADER_KID;
    } else if (cb_json_span_is(key, "crit")) {
        h->seen |= HEADER_CRIT;
    }
    return 0;
}

/* A header other than the ones this keyring writes: decoded and read
 * strictly (as jansson's json_loadb with JSON_REJECT_DUPLICATES would);
 * alg must be HS256/ES256 and the kid's key's own, typ absent or "JWT" in
 * any case, crit absent. */
static cb_jwt_result parse_header(apr_pool_t *p, const cb_jwt_keyring *kr, const char *b64,
                                  size_t len, const jwt_key **out)
{
    unsigned char buf[MAX_SEGMENT_LEN];
    char kid[MAX_SEGMENT_LEN], typ[4];
    long n = cb_base64url_decode_into(b64, len, buf, sizeof(buf));
    header_members h = {.seen = 0};
    cb_json_scan_options options = {
        .flags = CB_JSON_SCAN_UNIQUE_KEYS | CB_JSON_SCAN_NUMBER_LIMITS,
        .on_member = read_header_member,
        .baton = &h,
        .pool = p,
    };
    size_t kid_len;
    const jwt_key *key;
    int which;
    if (n < 0 || !cb_json_scan_object((const char *)buf, (size_t)n, &options))
        return CB_JWT_MALFORMED;
    if (!(h.seen & HEADER_ALG) || h.alg.type != CB_JSON_SCAN_STRING)
        return CB_JWT_MALFORMED;
    if (cb_json_span_is(&h.alg, "HS256"))
        which = ALG_HS256;
    else if (cb_json_span_is(&h.alg, "ES256"))
        which = ALG_ES256;
    else
        return CB_JWT_BAD_ALG;               /* "none" and everything else */
    if ((h.seen & HEADER_TYP)
        && (cb_json_span_decode(&h.typ, typ, sizeof(typ)) == (size_t)-1 || strcasecmp(typ, "JWT")))
        return CB_JWT_MALFORMED;
    if ((h.seen & HEADER_CRIT) || !(h.seen & HEADER_KID)
        || (kid_len = cb_json_span_decode(&h.kid, kid, sizeof(kid))) == (size_t)-1)
        return CB_JWT_MALFORMED;
    key = apr_hash_get(kr->by_kid, kid, (apr_ssize_t)kid_len);
    if (!key)
        return CB_JWT_UNKNOWN_KID;
    if (key->alg != which)
        return CB_JWT_BAD_ALG;
    *out = key;
    return CB_JWT_OK;
}

/* Reads the payload's claims (jwt_claims.c), then checks times and env. */
static cb_jwt_result check_claims(apr_pool_t *p, const unsigned char *json, size_t len,
                                  const char *expected_env, int64_t now, int64_t leeway,
                                  cb_jwt_claims *out)
{
    cb_jwt_claims c;
    int64_t nbf;
    if (cb_jwt_claims_parse(p, json, len, &c, &nbf) != CB_JWT_OK)
        return CB_JWT_MALFORMED;
    if (leeway < 0)
        leeway = 0;
    /* now >= exp + leeway, and iat > now + leeway, without overflow */
    if (c.exp <= INT64_MAX - leeway && now >= c.exp + leeway)
        return CB_JWT_EXPIRED;
    if (now <= INT64_MAX - leeway && (c.iat > now + leeway || nbf > now + leeway))
        return CB_JWT_NOT_YET_VALID;
    if (expected_env && strcmp(c.env, expected_env))
        return CB_JWT_WRONG_ENV;
    if (out)
        *out = c;
    return CB_JWT_OK;
}

cb_jwt_result cb_jwt_verify(apr_pool_t *p, const cb_jwt_keyring *kr,
                            const char *token, size_t token_len,
                            const char *expected_env, int64_t now,
                            int64_t leeway_seconds, cb_jwt_claims *out)
{
    unsigned char payload[MAX_SEGMENT_LEN], sig[MAX_SEGMENT_LEN];
    const char *dot1, *dot2, *end = token + token_len;
    const jwt_key *key;
    long payload_len, sig_len;
    size_t input_len;
    int ok;
    if (!kr || !token || token_len == 0 || token_len > CB_JWT_MAX_TOKEN_LEN)
        return CB_JWT_MALFORMED;
    if (!(dot1 = memchr(token, '.', token_len))
        || !(dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)))
        || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1))
        || dot1 == token || dot2 == dot1 + 1)
        return CB_JWT_MALFORMED;                /* an empty signature is checked below */
    key = apr_hash_get(kr->by_header, token, dot1 - token);
    if (!key) {
        cb_jwt_result r = parse_header(p, kr, token, (size_t)(dot1 - token), &key);
        if (r != CB_JWT_OK)
            return r;
    }
    input_len = (size_t)(dot2 - token);
    payload_len = cb_base64url_decode_into(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload,
                                     sizeof(payload));
    sig_len = cb_base64url_decode_into(dot2 + 1, (size_t)(end - dot2 - 1), sig, sizeof(sig));
    if (payload_len < 0 || sig_len < 0)
        return CB_JWT_MALFORMED;
    if (key->alg == ALG_HS256) {
        unsigned char mac[HS256_SIG_LEN];
        ok = sig_len == HS256_SIG_LEN && hs256(p, key, token, input_len, mac)
             && cb_equal_secret(mac, HS256_SIG_LEN, sig, HS256_SIG_LEN);
    } else {
        ok = sig_len == ES256_SIG_LEN && es256_verify(p, key, token, input_len, sig);
    }
    if (!ok)
        return CB_JWT_BAD_SIGNATURE;
    return check_claims(p, payload, (size_t)payload_len, expected_env, now, leeway_seconds,
                        out);
}
