/*
 * remote.h: buckets kept by an object store instead of the gateway's disk:
 * `backend=s3` (AWS S3, MinIO, R2, COS's S3 endpoint; SigV4) and
 * `backend=cos` (Tencent COS, q-sign-algorithm=sha1). Clients upload and
 * download with URLs the gateway signs; delete and copy are done by the
 * gateway itself over the core's HTTP client. See docs/plugins/storage.md.
 */
#ifndef CB_STORAGE_REMOTE_H
#define CB_STORAGE_REMOTE_H

#include "cloudbase/http.h"
#include "cloudbase/sign.h"
#include "cloudbase/values.h"
#include "storage.h"

typedef enum { ST_REMOTE_S3 = 1, ST_REMOTE_COS } st_remote_kind;

typedef struct st_remote {
    st_remote_kind kind;
    const char *scheme;          /* "http" or "https" */
    const char *host;            /* the object host: host[:port] (virtual-hosted: with the bucket) */
    const char *endpoint;        /* S3: scheme://host[:port] as configured */
    const char *region;
    const char *bucket_name;     /* the bucket in the store (COS: name-APPID) */
    const char *prefix;          /* prepended to every key ("" or ending in '/') */
    int virtual_hosted;          /* S3: BUCKET.host/KEY, else host/BUCKET/KEY */
    const char *access_key;      /* S3 access key / COS SecretId */
    const char *secret_key;      /* never logged */
    const char *session_token;   /* or NULL; never logged */
    int64_t timeout_ms;
    cb_http_client *http;
} st_remote;

/* remote.c: the backend's settings of a bucket line (backend=s3|cos, the
 * flag words in words[1..]), checked; NULL or what to fix. The secrets are
 * read here (file:/env:) and never appear in a message. */
const char *st_remote_parse(apr_pool_t *p, const cb_option_line *line, st_remote **out);
/* Whether key is a setting of backend kind (for the unknown-setting check). */
int st_remote_knows(st_remote_kind kind, const char *key);
/* The object's key in the store: prefix + path when every byte of path is
 * unreserved (A-Z a-z 0-9 - _ . ~) or '/' and it does not start with '~',
 * else prefix + '~' + base64url(path); so no URL of it needs escaping. */
const char *st_remote_key(apr_pool_t *p, const st_remote *r, const char *path);

/* url with each %2F, %3B and %3D written as '/', ';' and '=', which are
 * as good raw in a path or a query value (the store decodes the query before it
 * checks a signature): the keys (st_remote_key) and bucket names need no
 * escaping, so a signed URL then has no '%' at all unless a session token
 * holds a byte other than letters, digits, "-._~/;=" (a '+', say), and the
 * SDK's encodeURI of downloadUrl (which turns '%' into "%25") leaves it
 * unchanged. */
const char *st_remote_unescape(apr_pool_t *p, const char *url);

/* What an upload needs, for the upload-info item. */
typedef struct st_remote_upload {
    const char *url;             /* uploadUrl */
    const char *authorization;   /* "" for S3 (presigned), COS: the q-sign value */
    const char *token;           /* "" or the security token */
} st_remote_upload;

/* The backend's answer to a call the gateway made: NULL, or the message
 * for the client (the details went to the error log). */
typedef const char *st_remote_result;

/* A metadata-complete description of a stored object (HEAD). */
typedef struct st_remote_head {
    int exists;
    int64_t size;
    const char *etag, *type;
} st_remote_head;

/* s3_backend.c / cos_backend.c, chosen by r->kind in remote.c. fileid is
 * the upload info's cloudObjectMeta (COS signs it as x-cos-meta-fileid). */
void st_remote_sign_upload(apr_pool_t *p, const st_remote *r, const char *path,
                           const st_upload_grant *g, const char *fileid, int64_t expires_s,
                           st_remote_upload *out);
const char *st_remote_download_url(apr_pool_t *p, const st_remote *r, const char *path,
                                   int64_t expires_s);
st_remote_result st_remote_delete(cb_req *req, const st_remote *r, const char *path);
st_remote_result st_remote_copy(cb_req *req, const st_remote *src, const char *src_path,
                                const st_remote *dst, const char *dst_path);
st_remote_result st_remote_head_object(cb_req *req, const st_remote *r, const char *path,
                                       st_remote_head *out);
/* Whether an object of a can be copied into b by the store itself. */
int st_remote_same_store(const st_remote *a, const st_remote *b);

/* remote.c: sends a request the backend signed; 2xx (or, with ok_404, a
 * 404) gives NULL, else the client's message, with the backend's status and
 * error code (never a secret) in the error log. *status gets the status. */
st_remote_result st_remote_send(cb_req *req, const st_remote *r, const char *method,
                                const char *url, apr_table_t *headers, int ok_404,
                                long *status, cb_http_response *resp);

/* s3_backend.c / cos_backend.c internals reached through remote.c. */
void st_s3_sign_upload(apr_pool_t *p, const st_remote *r, const char *key,
                       const st_upload_grant *g, int64_t expires_s, st_remote_upload *out);
const char *st_s3_download_url(apr_pool_t *p, const st_remote *r, const char *key,
                               int64_t expires_s);
const char *st_s3_url(apr_pool_t *p, const st_remote *r, const char *key, const char **host,
                      const char **path);
apr_table_t *st_s3_signed_headers(apr_pool_t *p, const st_remote *r, const char *method,
                                  const char *key, const cb_sign_pair *extra, size_t n_extra,
                                  const char **url);
void st_cos_sign_upload(apr_pool_t *p, const st_remote *r, const char *key,
                        const st_upload_grant *g, const char *fileid, int64_t expires_s,
                        st_remote_upload *out);
const char *st_cos_download_url(apr_pool_t *p, const st_remote *r, const char *key,
                                int64_t expires_s);
apr_table_t *st_cos_signed_headers(apr_pool_t *p, const st_remote *r, const char *method,
                                   const char *key, const cb_sign_pair *extra, size_t n_extra,
                                   const char **url);

#endif
