/*
 * jwt_claims.h: the parser cb_jwt_verify uses for a JWT payload, a JSON
 * object of claims (RFC 8259), instead of a general JSON library: strict,
 * one pass over the core's scanner (cloudbase/json_scan.h), no allocation
 * besides the claim strings it returns (and the keys of a payload with
 * more than CB_JSON_SCAN_INLINE_KEYS of them open at once).
 *
 * It reads the claims of cb_jwt_claims plus nbf with the rules of jwt.h:
 * sub, env, sid, jti non-empty strings and iat, exp integers (required);
 * scope, kind non-empty strings and nbf an integer (optional), kind one of
 * "anonymous", "user", "key", "admin". Every other member may hold any JSON
 * value, which is checked and skipped. Refused (CB_JWT_MALFORMED): anything
 * that is not one JSON object with optional whitespace around it, duplicate
 * keys at any level, invalid UTF-8, raw control characters in strings, bad
 * escapes, lone surrogates, \u0000 (claims are C strings), integers outside
 * int64, reals that overflow a double, and objects or arrays nested deeper
 * than CB_JWT_CLAIMS_MAX_DEPTH. Apart from that depth limit it accepts
 * exactly what json_loadb(JSON_REJECT_DUPLICATES) followed by those claim
 * rules accepts (tests/fuzz/fuzz_jwt.c checks this).
 */
#ifndef CB_AUTH_JWT_CLAIMS_H
#define CB_AUTH_JWT_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

#include "jwt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting of objects and arrays: the payload object is level 1. */
#define CB_JWT_CLAIMS_MAX_DEPTH 64

/* Parses len bytes of JSON text (no NUL needed). On CB_JWT_OK fills *out
 * (strings NUL-terminated, from p; absent optional strings NULL) and *nbf
 * (INT64_MIN when absent); on CB_JWT_MALFORMED both are unspecified. */
cb_jwt_result cb_jwt_claims_parse(apr_pool_t *p, const unsigned char *json, size_t len,
                                  cb_jwt_claims *out, int64_t *nbf);

/* 1 when kind is "anonymous", "user", "key" or "admin", else 0. */
int cb_jwt_claims_is_kind(const char *kind);

#ifdef __cplusplus
}
#endif
#endif
