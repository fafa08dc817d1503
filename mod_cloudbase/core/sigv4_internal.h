/*
 * sigv4_internal.h: the pieces of the SigV4 canonical request that the
 * signer (sigv4.c) and the verifier (sigv4_verify.c) share. Not public.
 */
#ifndef CB_SIGV4_INTERNAL_H
#define CB_SIGV4_INTERNAL_H

#include <stdint.h>
#include <apr_pools.h>

#include "cloudbase/sign.h"

typedef struct {
    const char *canonical;   /* "name:value\n" per header, sorted */
    const char *signed_list; /* "host;x-amz-date" */
} sigv4_canon_headers;

/* YYYYMMDD'T'HHMMSS'Z' of when (UTC). */
void sigv4_amz_date(int64_t when, char out[17]);
/* The hex SHA-256 of an empty body. */
const char *sigv4_empty_payload_hash(void);
/* Names lower-cased, values trimmed, repeated names joined by ','; -1 on a
 * NULL or empty name. */
int sigv4_headers(apr_pool_t *p, const cb_sign_pair *h, size_t n, sigv4_canon_headers *out);
/* q and extra, each name and value percent-encoded, sorted, joined by '&'. */
const char *sigv4_query(apr_pool_t *p, const cb_sign_pair *q, size_t n, const cb_sign_pair *extra,
                        size_t n_extra);
/* The path as the canonical request has it (normalised with
 * CB_SIGV4_NORMALIZE_PATH, then percent-encoded but for '/'). */
const char *sigv4_encoded_path(apr_pool_t *p, const char *path, int flags);
const char *sigv4_canonical(apr_pool_t *p, const char *method, const char *encoded_path,
                            const char *canonical_query, const sigv4_canon_headers *h,
                            const char *payload_hash);
/* Lower-case hex HMAC-SHA256 of the string to sign under the signing key. */
const char *sigv4_signature(apr_pool_t *p, const unsigned char key[CB_SHA256_LEN], const char *sts);

#endif
