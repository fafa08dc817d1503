/*
 * encoding.h: byte encodings every plugin needs, in one place: hex, base64
 * and base64url (strict on decode), RFC 3986 percent-encoding (with the S3
 * flavour that leaves '/' alone), FNV-1a, constant-time comparison and random
 * tokens. Results are allocated from the pool given; decoders return -1 on
 * any input that is not the one canonical encoding of some bytes.
 */
#ifndef CLOUDBASE_ENCODING_H
#define CLOUDBASE_ENCODING_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

#include "cloudbase/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lower-case hex of len bytes. */
CB_API const char *cb_hex_encode(apr_pool_t *p, const unsigned char *data, size_t len);
/* Decodes an even number of hex digits (either case) into *out (NUL
 * terminated, *out_len bytes). 0 or -1. */
CB_API int cb_hex_decode(apr_pool_t *p, const char *in, size_t len, unsigned char **out, size_t *out_len);

/* RFC 4648 section 4 base64 with '=' padding. The decoder wants the padding,
 * no whitespace, and zero unused bits. */
CB_API const char *cb_base64_encode(apr_pool_t *p, const unsigned char *data, size_t len);
CB_API int cb_base64_decode(apr_pool_t *p, const char *in, size_t len, unsigned char **out, size_t *out_len);

/* RFC 4648 section 5 base64url without padding (as in JWTs). The decoder
 * refuses '=', a length of 1 mod 4 and non-zero unused bits. */
CB_API const char *cb_base64url_encode(apr_pool_t *p, const unsigned char *data, size_t len);
CB_API int cb_base64url_decode(apr_pool_t *p, const char *in, size_t len, unsigned char **out, size_t *out_len);
/* Allocation-free forms for hot paths: the encoded length of len bytes; the
 * encoding written to out (no NUL); the decoding of in into out (at most cap
 * bytes), returning its length or -1. */
CB_API size_t cb_base64url_encoded_len(size_t len);
CB_API void cb_base64url_encode_into(const unsigned char *in, size_t len, char *out);
CB_API long cb_base64url_decode_into(const char *in, size_t len, unsigned char *out, size_t cap);

/* RFC 3986 percent-encoding: every byte but the unreserved ones
 * (A-Z a-z 0-9 - . _ ~) becomes %XX with upper-case hex, as AWS SigV4 wants.
 * CB_PERCENT_KEEP_SLASH leaves '/' alone (the S3 object-key flavour). */
#define CB_PERCENT_KEEP_SLASH 1
CB_API const char *cb_percent_encode(apr_pool_t *p, const char *in, size_t len, int flags);
/* Decodes %XX (either case); a '%' not followed by two hex digits is an
 * error. '+' stays '+'. The result is NUL terminated and may contain NULs. */
CB_API int cb_percent_decode(apr_pool_t *p, const char *in, size_t len, char **out, size_t *out_len);

/* The first value of parameter name in query (a query string without '?'),
 * as cb_req_query_param describes. */
CB_API const char *cb_query_param(apr_pool_t *p, const char *query, const char *name);

/* 64-bit FNV-1a of len bytes, continuing from h (start with
 * CB_FNV1A_INIT, or chain a previous result to hash several pieces). For
 * hashing into slots and ids, never for secrets. */
#define CB_FNV1A_INIT 14695981039346656037ULL
CB_API uint64_t cb_fnv1a(uint64_t h, const void *data, size_t len);

/* 1 when a and b hold the same bytes; the time taken depends only on the
 * lengths, never on where the contents differ. */
CB_API int cb_equal_secret(const void *a, size_t a_len, const void *b, size_t b_len);
/* The same for two NUL-terminated strings. */
CB_API int cb_equal_secret_str(const char *a, const char *b);

/* len bytes from the system's cryptographic random source. 0 or -1. */
CB_API int cb_random_bytes(unsigned char *out, size_t len);
/* A random token of bytes random bytes (at most 64) as lower-case hex
 * (2 * bytes characters), or NULL when the random source fails. */
CB_API const char *cb_random_hex(apr_pool_t *p, size_t bytes);
/* The same as unpadded base64url. */
CB_API const char *cb_random_token(apr_pool_t *p, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
