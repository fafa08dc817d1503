/*
 * cos_backend.c: the Tencent COS side of a remote bucket (backend=cos),
 * signed with the core's q-sign-algorithm=sha1 signer (cb_cos_authorization,
 * byte-identical to cos-nodejs-sdk-v5's getAuthorization): the PUT's
 * authorization (host, x-cos-meta-fileid and the length and type the SDK
 * signed), the security token the SDK sends as x-cos-security-token, a
 * presigned GET URL, and the header-signed requests the gateway sends
 * itself (HEAD, DELETE, copy).
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/encoding.h"
#include "cloudbase/sign.h"
#include "remote.h"

#define COS_MAX_SIGNED 6

static const char *authorization(apr_pool_t *p, const st_remote *r, const char *method,
                                 const char *key, const cb_sign_pair *headers, size_t n,
                                 int64_t expires_s)
{
    int64_t now = apr_time_sec(apr_time_now());
    cb_cos_request req = {.secret_id = r->access_key, .secret_key = r->secret_key,
                          .method = method, .key = key, .headers = headers, .n_headers = n,
                          .start = now - 60, .end = now + expires_s};
    const char *a = cb_cos_authorization(p, &req);
    return a ? a : "";
}

static const char *object_url(apr_pool_t *p, const st_remote *r, const char *key)
{
    return apr_pstrcat(p, r->scheme, "://", r->host, "/", key, NULL);
}

void st_cos_sign_upload(apr_pool_t *p, const st_remote *r, const char *key,
                        const st_upload_grant *g, const char *fileid, int64_t expires_s,
                        st_remote_upload *out)
{
    cb_sign_pair h[COS_MAX_SIGNED];
    size_t n = 0;
    h[n++] = (cb_sign_pair){"host", r->host};
    h[n++] = (cb_sign_pair){"x-cos-meta-fileid", fileid};
    if (g->binds & ST_SIGN_LENGTH)
        h[n++] = (cb_sign_pair){"content-length",
                                apr_psprintf(p, "%" APR_INT64_T_FMT, g->length)};
    if (g->binds & ST_SIGN_TYPE)
        h[n++] = (cb_sign_pair){"content-type", g->type};
    out->url = object_url(p, r, key);
    out->authorization = authorization(p, r, "PUT", key, h, n, expires_s);
    out->token = r->session_token ? r->session_token : "";
}

const char *st_cos_download_url(apr_pool_t *p, const st_remote *r, const char *key,
                                int64_t expires_s)
{
    cb_sign_pair host = {"host", r->host};
    const char *url = apr_pstrcat(p, object_url(p, r, key), "?",
                                  authorization(p, r, "GET", key, &host, 1, expires_s), NULL);
    if (r->session_token)
        url = apr_pstrcat(p, url, "&x-cos-security-token=",
                          st_remote_unescape(p, cb_percent_encode(p, r->session_token,
                                                             strlen(r->session_token), 0)), NULL);
    return url;
}

apr_table_t *st_cos_signed_headers(apr_pool_t *p, const st_remote *r, const char *method,
                                   const char *key, const cb_sign_pair *extra, size_t n_extra,
                                   const char **url)
{
    cb_sign_pair h[COS_MAX_SIGNED];
    size_t n = 0;
    apr_table_t *t = apr_table_make(p, 6);
    h[n++] = (cb_sign_pair){"host", r->host};
    for (size_t i = 0; i < n_extra && n < COS_MAX_SIGNED; i++) {
        h[n++] = extra[i];
        apr_table_set(t, extra[i].name, extra[i].value);
    }
    *url = object_url(p, r, key);
    apr_table_set(t, "Authorization", authorization(p, r, method, key, h, n, 300));
    if (r->session_token)
        apr_table_set(t, "x-cos-security-token", r->session_token);
    return t;
}
