/*
 * crypto.h: the digests and MACs plugins need (SHA-1, SHA-256, HMAC-SHA1,
 * HMAC-SHA256, and SHA-256 of streamed data), over OpenSSL, without OpenSSL
 * types in the API.
 */
#ifndef CLOUDBASE_CRYPTO_H
#define CLOUDBASE_CRYPTO_H

#include <stddef.h>
#include <apr_pools.h>

#include "cloudbase/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CB_SHA1_LEN 20
#define CB_SHA256_LEN 32

/* Each returns 0, or -1 when the library fails (it should not). */
CB_API int cb_sha1(const void *data, size_t len, unsigned char out[CB_SHA1_LEN]);
CB_API int cb_sha256(const void *data, size_t len, unsigned char out[CB_SHA256_LEN]);
CB_API int cb_hmac_sha1(const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char out[CB_SHA1_LEN]);
CB_API int cb_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                   unsigned char out[CB_SHA256_LEN]);
/* Lower-case hex of the SHA-256 of data, or NULL on failure. */
CB_API const char *cb_sha256_hex(apr_pool_t *p, const void *data, size_t len);

/* SHA-256 of data that arrives piece by piece (a streamed request body).
 * The state lives in p (a pool cleanup frees it); NULL when the library
 * fails. update returns 0 or -1; hex finishes the digest (lower-case hex,
 * NULL on failure) and the stream takes no more data after it. */
typedef struct cb_sha256_stream cb_sha256_stream;
CB_API cb_sha256_stream *cb_sha256_stream_new(apr_pool_t *p);
CB_API int cb_sha256_stream_update(cb_sha256_stream *s, const void *data, size_t len);
CB_API const char *cb_sha256_stream_hex(apr_pool_t *p, cb_sha256_stream *s);

#ifdef __cplusplus
}
#endif
#endif
