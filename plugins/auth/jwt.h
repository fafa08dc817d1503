/*
 * jwt.h: JSON Web Tokens for the auth plugin: strict base64url, a keyring of
 * HS256 secrets and ES256 (P-256) keys with rotation, signing of the
 * gateway's access-token claims, and verification that refuses "none",
 * algorithm confusion, unknown keys, bad signatures and stale tokens.
 *
 * Memory comes from APR pools; every OpenSSL object a keyring holds is freed
 * by a cleanup of the keyring's pool. After set-up the keyring is read-only:
 * any number of threads may call cb_jwt_verify and cb_jwt_sign on it at
 * once. Adding keys while other threads use the keyring is not allowed.
 */
#ifndef CB_AUTH_JWT_H
#define CB_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

#include "cloudbase/encoding.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tokens longer than this are refused (CB_JWT_MALFORMED) without work. */
#define CB_JWT_MAX_TOKEN_LEN 4096
/* Shortest HS256 secret a keyring accepts, in bytes (RFC 7518 3.2). */
#define CB_JWT_MIN_HS256_SECRET 32
/* Key ids: 1-64 characters of [A-Za-z0-9._:-]. */
#define CB_JWT_MAX_KID_LEN 64

/* ---- keyring ---- */

typedef struct cb_jwt_keyring cb_jwt_keyring;

/* An empty keyring living in p (keys and OpenSSL objects are freed with p). */
cb_jwt_keyring *cb_jwt_keyring_create(apr_pool_t *p);

/* Adds an HS256 secret (at least CB_JWT_MIN_HS256_SECRET bytes) under kid.
 * With signing != 0 it becomes the signing key (the last such key added
 * signs; earlier ones keep verifying, which is how keys rotate). The key
 * lives in the keyring's pool and OpenSSL keeps its own copy of the secret,
 * so the caller may wipe secret afterwards. Returns NULL, or an error
 * message from p that never contains the secret. */
const char *cb_jwt_keyring_add_hs256(cb_jwt_keyring *kr, apr_pool_t *p, const char *kid,
                                     const unsigned char *secret, size_t len, int signing);

/* Adds an ES256 key from a PEM file: a P-256 private key (required when
 * signing != 0), or for a verify-only key either a P-256 public key
 * ("BEGIN PUBLIC KEY") or a private key. Other curves, RSA, Ed25519 and
 * encrypted PEM files are refused. Returns NULL or an error message. */
const char *cb_jwt_keyring_add_es256_pem(cb_jwt_keyring *kr, apr_pool_t *p, const char *kid,
                                         const char *pem_path, int signing);

/* The kid of the signing key, or NULL when no key signs. */
const char *cb_jwt_keyring_signing_kid(const cb_jwt_keyring *kr);

/* ---- claims ---- */

typedef struct cb_jwt_claims {
    const char *sub;    /* subject: user id, key id, ... (required) */
    const char *env;    /* environment the token is valid in (required) */
    const char *scope;  /* optional */
    const char *sid;    /* session id (required) */
    const char *jti;    /* token id (required) */
    const char *kind;   /* optional: "anonymous", "user", "key" or "admin" */
    int64_t iat;        /* issued at, seconds since the epoch (required) */
    int64_t exp;        /* expires at, seconds since the epoch (required) */
} cb_jwt_claims;

/* Signs claims with the keyring's signing key. The header is
 * {"alg":"HS256"|"ES256","typ":"JWT","kid":"..."}, the payload has exactly
 * the claims above (NULL strings omitted). sub, env, sid and jti must be
 * set, kind must be NULL or one of the four kinds. ES256 signatures are
 * JOSE's 64-byte r||s. Sets *token (from p) and returns NULL, or returns an
 * error message. */
const char *cb_jwt_sign(apr_pool_t *p, const cb_jwt_keyring *kr,
                        const cb_jwt_claims *claims, const char **token);

/* ---- verification ---- */

typedef enum {
    CB_JWT_OK = 0,
    CB_JWT_MALFORMED,      /* not three base64url parts of JSON objects, too
                              long, duplicate keys, no kid, a required claim
                              missing or of the wrong type */
    CB_JWT_BAD_ALG,        /* alg is "none", unknown, or not the kid's own */
    CB_JWT_UNKNOWN_KID,
    CB_JWT_BAD_SIGNATURE,
    CB_JWT_EXPIRED,
    CB_JWT_NOT_YET_VALID,  /* iat (or nbf) later than now + leeway */
    CB_JWT_WRONG_ENV
} cb_jwt_result;

/* A short English description ("signature does not match", ...). */
const char *cb_jwt_result_text(cb_jwt_result r);

/* Verifies token (token_len bytes, no NUL needed), taking scratch memory
 * and the claim strings from p (a pool of the calling thread, such as the
 * request's): structure, header (alg must be the kid's key's own), the
 * signature (HMAC compared in constant time, or ECDSA P-256), then the
 * claims: sub, env, sid, jti (non-empty strings) and iat, exp (integers)
 * are required; scope, kind, nbf are optional, other claims are ignored.
 * Expired when now >= exp + leeway; not yet valid when iat or nbf >
 * now + leeway. env must equal expected_env (NULL skips that check). The
 * payload is parsed only after its signature matched; the first failing
 * check decides the result. On CB_JWT_OK fills *out when out is not NULL;
 * on failure *out is left unspecified. */
cb_jwt_result cb_jwt_verify(apr_pool_t *p, const cb_jwt_keyring *kr,
                            const char *token, size_t token_len,
                            const char *expected_env, int64_t now,
                            int64_t leeway_seconds, cb_jwt_claims *out);

#ifdef __cplusplus
}
#endif
#endif
