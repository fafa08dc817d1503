/*
 * sign.h: request signers for object stores. AWS Signature Version 4
 * (presigned URLs, signed headers for requests the gateway makes itself, and
 * verification of both forms on an incoming request) and Tencent COS's
 * q-sign-algorithm=sha1 authorization. Strings are allocated from the pool
 * given; times are seconds since the epoch (UTC). Secrets never leave these
 * functions except as signatures.
 */
#ifndef CLOUDBASE_SIGN_H
#define CLOUDBASE_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "cloudbase/crypto.h"
#include "cloudbase/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One name and value: a query parameter or a header, not percent-encoded. */
typedef struct {
    const char *name;
    const char *value;
} cb_sign_pair;

/* ---------------------------------------------------------------- SigV4 */

typedef struct {
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* NULL or "" when there is none */
} cb_sigv4_credentials;

/* Where and when a signature applies: the credential scope. */
typedef struct {
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3" */
    int64_t when;        /* the signing time */
} cb_sigv4_scope;

/* Path canonicalisation as AWS does for services other than S3: '.' and '..'
 * segments resolved and empty segments dropped. S3 signs the path as is. */
#define CB_SIGV4_NORMALIZE_PATH 1
/* Header signing also sends and signs x-amz-content-sha256 (S3 needs it). */
#define CB_SIGV4_CONTENT_SHA256_HEADER 2
/* Presigning also adds X-Amz-Content-Sha256 to the query (as the S3
 * presigner of the AWS SDK does). */
#define CB_SIGV4_CONTENT_SHA256_QUERY 4

/* A request to sign. Everything is decoded: the signer percent-encodes the
 * path (each byte but the unreserved ones and '/') and the query. */
typedef struct {
    const char *method;
    const char *host;                /* the Host header (host[:port]), always signed */
    const char *path;                /* starts with '/' */
    const cb_sign_pair *query;       /* n_query parameters */
    size_t n_query;
    const cb_sign_pair *headers;     /* further headers to sign (any case) */
    size_t n_headers;
    const char *payload_hash;        /* hex SHA-256 of the body; NULL: UNSIGNED-PAYLOAD */
    int flags;                       /* CB_SIGV4_* above */
} cb_sigv4_request;

#define CB_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define CB_SIGV4_MAX_EXPIRES 604800 /* seven days, as AWS allows */
#define CB_SIGV4_MAX_SKEW 900       /* fifteen minutes */

/* The signing key: HMAC chain over the date (YYYYMMDD of scope->when),
 * region, service and "aws4_request". It changes once a day, so a caller may
 * keep it. 0 or -1. */
CB_API int cb_sigv4_signing_key(const char *secret_key, const cb_sigv4_scope *scope,
                                unsigned char out[CB_SHA256_LEN]);

/* The canonical request of req as the signature covers it. extra_query (may
 * be NULL) holds further, already decoded parameters (the presigner's
 * X-Amz-*). *signed_headers (may be NULL) receives "host;x-amz-date". NULL on
 * bad input (a path not starting with '/', a NULL method or host). */
CB_API const char *cb_sigv4_canonical_request(apr_pool_t *p, const cb_sigv4_request *req,
                                              const cb_sign_pair *extra_query, size_t n_extra,
                                              const char **signed_headers);
/* "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of canonical request>". */
CB_API const char *cb_sigv4_string_to_sign(apr_pool_t *p, const cb_sigv4_scope *scope,
                                           const char *canonical_request);

/* The headers to send with a request the gateway signs itself. */
typedef struct {
    const char *authorization;  /* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
    const char *amz_date;       /* x-amz-date: YYYYMMDD'T'HHMMSS'Z' */
    const char *content_sha256; /* x-amz-content-sha256, or NULL without CB_SIGV4_CONTENT_SHA256_HEADER */
    const char *security_token; /* x-amz-security-token, or NULL */
    const char *canonical_request; /* for tests and debugging; has no secret */
    const char *string_to_sign;
    const char *signature;
} cb_sigv4_signed;

/* Signs req in the Authorization header: x-amz-date (and the token and
 * content hash headers as out says) are signed too. 0 or -1 on bad input. */
CB_API int cb_sigv4_sign_headers(apr_pool_t *p, const cb_sigv4_credentials *cred,
                                 const cb_sigv4_scope *scope, const cb_sigv4_request *req,
                                 cb_sigv4_signed *out);

/* Presigns req for expires seconds (1 to CB_SIGV4_MAX_EXPIRES): the query
 * string to append after '?' (every parameter, req's and X-Amz-*, encoded
 * and sorted as the AWS SDK writes them), or NULL on bad input. out (may be
 * NULL) receives the canonical request, string to sign and signature. */
CB_API const char *cb_sigv4_presign_query(apr_pool_t *p, const cb_sigv4_credentials *cred,
                                          const cb_sigv4_scope *scope, const cb_sigv4_request *req,
                                          int expires, cb_sigv4_signed *out);

/* An S3 object URL to presign (UNSIGNED-PAYLOAD, only host signed). */
typedef struct {
    const char *endpoint;      /* "https://s3.us-east-1.amazonaws.com", "http://127.0.0.1:9000" */
    const char *bucket;
    const char *key;           /* the object key, raw */
    int virtual_hosted;        /* 1: https://BUCKET.host/KEY; 0: https://host/BUCKET/KEY */
    const char *method;        /* "GET", "PUT", ... */
    const cb_sign_pair *query; /* further parameters (response-content-type, x-id, ...) */
    size_t n_query;
} cb_s3_object;

/* The presigned URL, byte for byte what @aws-sdk/s3-request-presigner makes
 * for the same inputs, or NULL on bad input (endpoint not http(s)://host). */
CB_API const char *cb_s3_presign_url(apr_pool_t *p, const cb_sigv4_credentials *cred,
                                     const char *region, const cb_s3_object *obj,
                                     int64_t when, int expires);

/* Verification of an incoming request signed either way. */
typedef enum {
    CB_SIGV4_OK = 0,
    CB_SIGV4_MISSING,         /* neither an Authorization header nor X-Amz-Signature */
    CB_SIGV4_MALFORMED,       /* a field missing or unreadable */
    CB_SIGV4_WRONG_SCOPE,     /* another region or service, or a date not the request's */
    CB_SIGV4_UNKNOWN_KEY,     /* the lookup knows no such access key */
    CB_SIGV4_BAD_SIGNATURE,
    CB_SIGV4_EXPIRED,         /* presigned URL past X-Amz-Expires */
    CB_SIGV4_SKEWED           /* signing time more than CB_SIGV4_MAX_SKEW away from now */
} cb_sigv4_status;

/* The secret key of access_key, or NULL when unknown. */
typedef const char *(*cb_sigv4_secret_fn)(void *ctx, const char *access_key);

typedef struct {
    const char *method;
    const char *path;          /* as received: percent-encoded, without the query */
    const char *query;         /* as received, without '?'; NULL or "" when none */
    apr_table_t *headers;      /* the request headers (Host among them) */
    const char *service;       /* the service expected in the scope: "s3" */
    const char *region;        /* the region expected, or NULL for any */
    int flags;                 /* CB_SIGV4_NORMALIZE_PATH for services other than S3 */
    int64_t now;
    cb_sigv4_secret_fn secret;
    void *secret_ctx;
} cb_sigv4_incoming;

typedef struct {
    const char *access_key;    /* set once the credential was read */
    const char *session_token; /* X-Amz-Security-Token / x-amz-security-token, or NULL */
    const char *payload_hash;  /* what the body must hash to, or UNSIGNED-PAYLOAD */
    int presigned;
    int64_t signed_at;
    int64_t expires_at;        /* presigned: the end of validity; else 0 */
} cb_sigv4_verified;

/* Checks in's signature (compared in constant time), its expiry and its
 * clock skew. The caller still checks the body against out->payload_hash. */
CB_API cb_sigv4_status cb_sigv4_verify(apr_pool_t *p, const cb_sigv4_incoming *in,
                                       cb_sigv4_verified *out);
/* The S3 error code for a status ("SignatureDoesNotMatch", ...), and a
 * message a client can read. */
CB_API const char *cb_sigv4_status_s3_code(cb_sigv4_status st);
CB_API const char *cb_sigv4_status_message(cb_sigv4_status st);

/* ------------------------------------------------------------------ COS */

/* What a COS request signs: the object key (raw, '/' prepended when absent),
 * its query parameters and headers (only those COS signs are kept:
 * x-cos-*, x-ci-*, host, content-type, content-length, content-md5 and the
 * other standard ones cos-nodejs-sdk-v5 lists). */
typedef struct {
    const char *secret_id;
    const char *secret_key;
    const char *method;
    const char *key;
    const cb_sign_pair *query;
    size_t n_query;
    const cb_sign_pair *headers;
    size_t n_headers;
    int64_t start;             /* q-sign-time / q-key-time: start;end */
    int64_t end;
} cb_cos_request;

/* The Authorization value "q-sign-algorithm=sha1&q-ak=...&q-signature=...",
 * byte for byte what cos-nodejs-sdk-v5's getAuthorization returns for the
 * same inputs, or NULL on bad input. */
CB_API const char *cb_cos_authorization(apr_pool_t *p, const cb_cos_request *req);

#ifdef __cplusplus
}
#endif
#endif
