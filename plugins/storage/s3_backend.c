/*
 * s3_backend.c: the S3 side of a remote bucket (backend=s3), signed with
 * the core's SigV4 (cloudbase/sign.h): presigned PUT and GET URLs with
 * UNSIGNED-PAYLOAD for the client (the upload info's authorization stays
 * empty; a PUT also signs the length and type the SDK declared), and header-signed requests the gateway sends itself (HEAD,
 * DELETE, copy). Path-style (host/BUCKET/KEY) or virtual-hosted
 * (BUCKET.host/KEY) as the bucket line says.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/crypto.h"
#include "cloudbase/sign.h"
#include "remote.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static cb_sigv4_credentials credentials(const st_remote *r)
{
    return (cb_sigv4_credentials){.access_key = r->access_key, .secret_key = r->secret_key,
                                  .session_token = r->session_token};
}

/* The presigned URL of key (see st_remote_unescape for why some of its
 * escapes are written raw; the signature is the same). */
static const char *presign(apr_pool_t *p, const st_remote *r, const char *method,
                           const char *key, int64_t expires_s)
{
    cb_sigv4_credentials cred = credentials(r);
    cb_s3_object obj = {.endpoint = r->endpoint, .bucket = r->bucket_name, .key = key,
                        .virtual_hosted = r->virtual_hosted, .method = method};
    const char *url = cb_s3_presign_url(p, &cred, r->region, &obj, apr_time_sec(apr_time_now()),
                                        (int)expires_s);
    return url ? st_remote_unescape(p, url) : NULL;
}

/* A presigned PUT that also signs the Content-Length and Content-Type
 * the SDK declared (X-Amz-SignedHeaders=content-length;content-type;host),
 * so the store refuses another length (max_object holds) or type. */
static const char *presign_put_with_headers(apr_pool_t *p, const st_remote *r, const char *key,
                                            const st_upload_grant *g, int64_t expires_s)
{
    cb_sigv4_credentials cred = credentials(r);
    cb_sigv4_scope scope = {.region = r->region, .service = "s3",
                            .when = apr_time_sec(apr_time_now())};
    cb_sign_pair headers[2];
    cb_sigv4_request req = {.method = "PUT", .headers = headers,
                            .flags = CB_SIGV4_CONTENT_SHA256_QUERY};
    const char *url = st_s3_url(p, r, key, &req.host, &req.path), *query;
    if (g->binds & ST_SIGN_LENGTH)
        headers[req.n_headers++] = (cb_sign_pair){"content-length",
                                                  apr_psprintf(p, "%" APR_INT64_T_FMT, g->length)};
    if (g->binds & ST_SIGN_TYPE)
        headers[req.n_headers++] = (cb_sign_pair){"content-type", g->type};
    query = cb_sigv4_presign_query(p, &cred, &scope, &req, (int)expires_s, NULL);
    return query ? st_remote_unescape(p, apr_pstrcat(p, url, "?", query, NULL)) : NULL;
}

void st_s3_sign_upload(apr_pool_t *p, const st_remote *r, const char *key,
                       const st_upload_grant *g, int64_t expires_s, st_remote_upload *out)
{
    out->url = g->binds ? presign_put_with_headers(p, r, key, g, expires_s)
                        : presign(p, r, "PUT", key, expires_s);
    /* The SDK sends authorization and x-cos-security-token as headers with
     * whatever the upload info holds: empty, since the URL carries the
     * signature (and the session token, as X-Amz-Security-Token). */
    out->authorization = "";
    out->token = "";
}

const char *st_s3_download_url(apr_pool_t *p, const st_remote *r, const char *key,
                               int64_t expires_s)
{
    return presign(p, r, "GET", key, expires_s);
}

const char *st_s3_url(apr_pool_t *p, const st_remote *r, const char *key, const char **host,
                      const char **path)
{
    *host = r->host;
    *path = r->virtual_hosted ? apr_pstrcat(p, "/", key, NULL)
                              : apr_pstrcat(p, "/", r->bucket_name, "/", key, NULL);
    return apr_pstrcat(p, r->scheme, "://", *host, *path, NULL);
}

apr_table_t *st_s3_signed_headers(apr_pool_t *p, const st_remote *r, const char *method,
                                  const char *key, const cb_sign_pair *extra, size_t n_extra,
                                  const char **url)
{
    cb_sigv4_credentials cred = credentials(r);
    cb_sigv4_scope scope = {.region = r->region, .service = "s3",
                            .when = apr_time_sec(apr_time_now())};
    cb_sigv4_request req = {.method = method, .headers = extra, .n_headers = n_extra,
                            .payload_hash = EMPTY_SHA256,
                            .flags = CB_SIGV4_CONTENT_SHA256_HEADER};
    cb_sigv4_signed s;
    apr_table_t *h = apr_table_make(p, 8);
    *url = st_s3_url(p, r, key, &req.host, &req.path);
    if (cb_sigv4_sign_headers(p, &cred, &scope, &req, &s) != 0)
        return h;   /* unsigned: the store refuses it, the item fails */
    apr_table_set(h, "Authorization", s.authorization);
    apr_table_set(h, "x-amz-date", s.amz_date);
    if (s.content_sha256)
        apr_table_set(h, "x-amz-content-sha256", s.content_sha256);
    if (s.security_token)
        apr_table_set(h, "x-amz-security-token", s.security_token);
    for (size_t i = 0; i < n_extra; i++)
        apr_table_set(h, extra[i].name, extra[i].value);
    return h;
}
