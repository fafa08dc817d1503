/*
 * storage.h: what the storage plugin's files share: buckets, the parsed
 * object ids, the access presets, the gateway signatures of the local
 * backend, the metadata in the database and the route handlers.
 * See docs/plugins/storage.md.
 */
#ifndef CB_STORAGE_H
#define CB_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <apr_hash.h>

#include "cloudbase/cloudbase.h"

#define ST_MAX_PATH 1024          /* bytes of an object path */
#define ST_SIGNING_KEY_MIN 32     /* bytes of signing_key */

typedef enum {
    ST_ACL_READONLY = 0,  /* everyone reads, the creator writes */
    ST_ACL_PRIVATE,       /* only the creator reads and writes */
    ST_ACL_ADMINWRITE,    /* everyone reads, only an admin writes */
    ST_ACL_ADMINONLY      /* only an admin reads and writes */
} st_acl;

struct st_remote;             /* remote.h: an S3 or COS bucket */

typedef struct st_bucket {
    const char *name;
    const char *dir;          /* local backend: absolute directory, no trailing '/' */
    const struct st_remote *remote; /* backend=s3|cos, else NULL (local) */
    st_acl acl;
    int is_default;
    int64_t max_object;       /* bytes; 0 = the plugin's default */
    int64_t quota;            /* bytes of this bucket in the environment; 0 = none */
} st_bucket;

/* The batch routes, in the order of their options. */
typedef enum {
    ST_ROUTE_UPLOAD = 0,
    ST_ROUTE_DOWNLOAD,
    ST_ROUTE_DELETE,
    ST_ROUTE_COPY,
    ST_ROUTE_COUNT
} st_route;

typedef struct st_state {
    apr_hash_t *buckets;          /* name -> st_bucket * */
    const st_bucket *default_bucket;
    const char *env;
    const char *signing_key;      /* never logged */
    size_t signing_key_len;
    int64_t upload_expires_s, download_expires_s;
    int64_t max_object;           /* default per-object cap */
    int64_t quota;                /* per environment; 0 = none */
    const char *public_url;       /* scheme://host[:port] clients use, or NULL */
    cb_auth_level auth[ST_ROUTE_COUNT];
    int64_t max_batch[ST_ROUTE_COUNT];
    const struct st_s3 *s3;       /* the S3 endpoint (s3.h), or NULL when off */
    struct cb_cache *type_cache;  /* type_cache.c: per process, may be NULL */
} st_state;

/* ---- object_id.c: pure parsers (fuzzed by tests/fuzz/fuzz_storage.c) ---- */

/* NULL when path (len bytes) is a valid object path: 1..ST_MAX_PATH bytes,
 * no leading '/', no backslash, NUL or control character, no empty, "."
 * or ".." segment, no trailing '/'; else why, for the client. */
const char *st_path_problem(const char *path, size_t len);

typedef struct st_object_id {
    const char *bucket;   /* the bucket name as written ("" = the default) */
    const char *path;
} st_object_id;

/* Parses an object id as the SDK sends it: a bare path in the default
 * bucket, or cloud://{env}.{bucket}/{path} of this environment. NULL, or
 * the problem for the client (another environment's id included). */
const char *st_parse_object_id(apr_pool_t *p, const char *env, const char *text, size_t len,
                               st_object_id *out);
/* cloud://{env}.{bucket}/{path} */
const char *st_cloud_id(apr_pool_t *p, const char *env, const char *bucket, const char *path);

/* The URL form of an object path: the path itself when every byte is one
 * encodeURI leaves alone and it does not start with '~', else '~' and
 * the base64url of the path. Never needs percent-escaping. */
const char *st_url_key(apr_pool_t *p, const char *path);
/* The inverse; NULL for a key that st_url_key cannot have made. */
const char *st_path_of_url_key(apr_pool_t *p, const char *key);

/* An option line without its flag word (which may stand anywhere after
 * the first word); *found tells whether it was there. */
const char *st_without_flag_word(apr_pool_t *p, const char *text, const char *flag,
                                 int *found);

/* ---- acl.c: the access presets ---- */

const char *st_parse_acl(const char *text, st_acl *out);
const char *st_acl_name(st_acl acl);
/* Whether id may read / write an object of owner (NULL: no object yet). */
int st_may_read(st_acl acl, const cb_identity *id, const char *owner);
int st_may_write(st_acl acl, const cb_identity *id, const char *owner);

/* ---- signature.c: the local backend's gateway signatures ---- */

#define ST_SIGN_LENGTH 0x1   /* the upload signature binds Content-Length */
#define ST_SIGN_TYPE 0x2     /* ... and Content-Type */

typedef struct st_upload_grant {
    const char *env, *bucket, *path;
    int64_t expires;         /* unix seconds */
    unsigned binds;          /* ST_SIGN_* */
    int64_t length;          /* when ST_SIGN_LENGTH */
    const char *type;        /* when ST_SIGN_TYPE */
} st_upload_grant;

/* "CB-HMAC-SHA256 Expires=E, SignedHeaders=content-length;content-type,
 * Signature=HEX" for a PUT (or POST form) of the grant. */
const char *st_sign_upload(apr_pool_t *p, const char *key, size_t key_len,
                           const st_upload_grant *grant);
/* NULL when authorization grants this upload at now (the request's own
 * Content-Length and Content-Type filled in grant->length / grant->type,
 * grant->expires ignored); else why, for the client. */
const char *st_verify_upload(apr_pool_t *p, const char *key, size_t key_len,
                             const char *authorization, st_upload_grant *grant, int64_t now);
/* The hex signature of a download of env/bucket/path until expires. */
const char *st_sign_download(apr_pool_t *p, const char *key, size_t key_len, const char *env,
                             const char *bucket, const char *path, int64_t expires);
/* NULL when expires/signature (query values) allow the download at now. */
const char *st_verify_download(apr_pool_t *p, const char *key, size_t key_len, const char *env,
                               const char *bucket, const char *path, const char *expires,
                               const char *signature, int64_t now);

/* ---- type_cache.c: Content-Types of signed downloads, per process ---- */

struct cb_cache *st_type_cache_create(apr_pool_t *p);
/* The type recorded for the object whose file has this ETag; NULL when
 * not cached for that very version. */
const char *st_type_cached(const st_state *st, apr_pool_t *p, const char *hash, const char *etag);
/* Keeps type for the file version etag (its metadata row's ETag). */
void st_type_remember(const st_state *st, apr_pool_t *p, const char *hash, const char *etag,
                      const char *type);

/* ---- meta.c: object metadata in the database ---- */

typedef struct st_meta {
    int exists;              /* a row; complete once size >= 0 */
    const char *owner;
    const char *type;
    int64_t size;            /* -1 while the upload is pending */
    const char *etag;
    int64_t created;
} st_meta;

extern const cb_db_migration st_migrations[];
/* sha256 hex of env, bucket and path: the object's key and file name. */
const char *st_object_hash(apr_pool_t *p, const char *env, const char *bucket, const char *path);
apr_status_t st_meta_get(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                         const char *path, st_meta *out);
/* Records the owner of an object whose upload is being signed (a pending
 * row unless the object exists). */
apr_status_t st_meta_claim(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                           const char *path, const char *owner);
/* Records a complete object (keeps the owner, or sets owner when new). */
apr_status_t st_meta_complete(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                              const char *path, const char *owner, const char *type,
                              int64_t size, const char *etag);
apr_status_t st_meta_delete(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                            const char *path);
/* Bytes stored by the environment (complete objects), over all buckets
 * or in bucket. */
apr_status_t st_meta_usage(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                           int64_t *out);

/* ---- local.c: files of the local backend ---- */

/* {dir}/{hash[0..1]}/{hash} */
const char *st_local_file(apr_pool_t *p, const st_bucket *b, const char *hash);
/* Copies src to dst through a temp file, fsync and rename. */
apr_status_t st_local_copy(apr_pool_t *p, const st_bucket *b, const char *src, const char *dst);
/* The ETag httpd sends for a file (FileETag MTime Size). */
const char *st_local_etag(apr_pool_t *p, const char *file);

/* ---- routes.c and transfer.c: handlers ---- */

const st_bucket *st_bucket_of(const st_state *st, const st_object_id *id);
/* Logs the database's error; returns the message for the client. */
const char *st_db_failed(cb_req *req);
/* Removes an object's metadata, then its file. NULL or the problem for
 * the client (its code in *code). */
const char *st_remove_object(cb_req *req, const st_state *st, const st_bucket *b,
                             const char *path, const char **code);
cb_status st_upload_info(cb_req *req, void *state);
cb_status st_download_info(cb_req *req, void *state);
cb_status st_delete_objects(cb_req *req, void *state);
cb_status st_copy_objects(cb_req *req, void *state);
cb_status st_put_object(cb_req *req, void *state);
cb_status st_post_object(cb_req *req, void *state);
cb_status st_get_object(cb_req *req, void *state);

#endif
