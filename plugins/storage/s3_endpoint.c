/*
 * s3_endpoint.c: the storage plugin's S3-compatible endpoint on the local
 * buckets, path-style under s3_prefix ({prefix}/{bucket}/{key}):
 * PutObject (streamed through transfer.c, its x-amz-content-sha256 checked
 * against the body before the object is committed), GetObject and
 * HeadObject (served by the host's static-file path: Range, ETag, 304),
 * DeleteObject and ListObjectsV2 (s3_list.c). Every request carries a SigV4
 * signature (header or presigned query) verified by the core's
 * cb_sigv4_verify against the s3_key access keys; a key acts as the admin
 * or as identity "s3:ACCESS_KEY_ID" under the bucket's ACL preset. Errors
 * are S3 XML errors. The objects are the /v1/storages objects: same
 * files, same metadata rows.
 */
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/crypto.h"
#include "cloudbase/db.h"
#include "cloudbase/files.h"
#include "cloudbase/sign.h"
#include "cloudbase/values.h"
#include "s3.h"
#include "transfer.h"

#define OWNER_PREFIX "s3:"

/* Query parameters that name an S3 operation this endpoint does not do
 * on an object (they would otherwise be read as a plain GET/PUT/DELETE). */
static const char *const object_subresources[] = {
    "acl", "tagging", "uploads", "uploadId", "partNumber", "versionId", "attributes", "torrent",
    "retention", "legal-hold", "restore", "select", NULL};

/* One request's state. */
typedef struct s3_call {
    cb_req *req;
    const st_state *st;
    const st_s3_key *key;
    cb_identity identity;
    st_s3_target target;
    const st_bucket *bucket;
    const char *payload_hash;     /* hex SHA-256 the body must have, or NULL */
    cb_sha256_stream *digest;
    int digest_mismatch;
} s3_call;

static cb_status no_such_key(cb_req *req)
{
    return st_s3_send_error(req, 404, "NoSuchKey", "The specified key does not exist.");
}

static cb_status unavailable(cb_req *req)
{
    st_db_failed(req);
    return st_s3_send_error(req, 503, "ServiceUnavailable",
                            "The storage metadata store is unavailable; retry later.");
}

static const char *secret_of(void *ctx, const char *access_key)
{
    const st_s3 *s3 = ctx;
    const st_s3_key *k = apr_hash_get(s3->keys, access_key, APR_HASH_KEY_STRING);
    return k ? k->secret : NULL;
}

/* Verifies the signature; 0 with the S3 error answered. */
static int authenticate(s3_call *c, const st_s3 *s3)
{
    cb_req *req = c->req;
    cb_sigv4_verified v;
    cb_sigv4_incoming in = {.method = cb_req_method(req), .path = cb_req_path(req),
                            .query = cb_req_query(req),
                            .headers = (apr_table_t *)cb_req_headers(req), .service = "s3",
                            .region = s3->region, .flags = 0,
                            .now = apr_time_sec(apr_time_now()), .secret = secret_of,
                            .secret_ctx = (void *)s3};
    cb_sigv4_status rc = cb_sigv4_verify(cb_req_pool(req), &in, &v);
    if (rc != CB_SIGV4_OK) {
        int malformed = rc == CB_SIGV4_MALFORMED || rc == CB_SIGV4_WRONG_SCOPE;
        st_s3_send_error(req, malformed ? 400 : 403,
                         malformed && v.presigned ? "AuthorizationQueryParametersError"
                                                  : cb_sigv4_status_s3_code(rc),
                         cb_sigv4_status_message(rc));
        return 0;
    }
    c->key = apr_hash_get(s3->keys, v.access_key, APR_HASH_KEY_STRING);
    c->payload_hash = v.payload_hash;
    c->identity.kind = c->key->admin ? CB_IDENTITY_ADMIN : CB_IDENTITY_KEY;
    c->identity.uid = apr_pstrcat(cb_req_pool(req), OWNER_PREFIX, c->key->access_key, NULL);
    c->identity.env = c->st->env;
    cb_req_set_identity(req, &c->identity);
    return 1;
}

static int is_lower_hex64(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* ---------------------------------------------------------------- PUT */

static cb_status read_and_hash(void *baton, char *buf, size_t *len)
{
    s3_call *c = baton;
    const char *got;
    if (cb_req_read_chunk(c->req, buf, len) != CB_OK)
        return CB_ERROR;
    if (!c->digest)
        return CB_OK;
    if (*len)
        return cb_sha256_stream_update(c->digest, buf, *len) ? CB_ERROR : CB_OK;
    got = cb_sha256_stream_hex(cb_req_pool(c->req), c->digest);
    if (!got || strcmp(got, c->payload_hash)) {
        c->digest_mismatch = 1;   /* the object is not committed */
        return CB_ERROR;
    }
    return CB_OK;
}

/* transfer.c's refusals (CloudBase codes) as S3 errors. */
static cb_status put_failed(cb_req *req, void *baton, int status, const char *code,
                            const char *message)
{
    const s3_call *c = baton;
    if (c->digest_mismatch)
        return st_s3_send_error(req, 400, "XAmzContentSHA256Mismatch",
                                "The provided 'x-amz-content-sha256' header does not match what "
                                "was computed.");
    if (!strcmp(code, "PAYLOAD_TOO_LARGE"))
        return st_s3_send_error(req, 400, "EntityTooLarge", message);
    if (!strcmp(code, "STORAGE_EXCEED_QUOTA"))
        return st_s3_send_error(req, 403, "QuotaExceeded", message);
    if (!strcmp(code, "STORAGE_FULL"))
        return st_s3_send_error(req, 507, "InsufficientStorage", message);
    if (!strcmp(code, "INVALID_REQUEST"))
        return st_s3_send_error(req, 400, "IncompleteBody", message);
    if (!strcmp(code, "SERVICE_UNAVAILABLE"))
        return st_s3_send_error(req, 503, "ServiceUnavailable", message);
    return st_s3_send_error(req, status >= 500 ? status : 500, "InternalError", message);
}

static cb_status put_stored(cb_req *req, void *baton, const char *etag)
{
    (void)baton;
    if (etag)
        cb_req_set_header(req, "ETag", etag);
    cb_req_set_header(req, "x-amz-request-id", cb_req_id(req));
    cb_req_set_status(req, 200);
    return CB_DONE;
}

static cb_status put_object(s3_call *c)
{
    cb_req *req = c->req;
    apr_pool_t *p = cb_req_pool(req);
    const char *encoding = cb_req_header(req, "Content-Encoding");
    st_receive_opts o = {0};
    st_meta meta;
    if (cb_req_header(req, "x-amz-copy-source"))
        return st_s3_send_error(req, 501, "NotImplemented",
                                "CopyObject is not implemented by this endpoint.");
    if (!strncmp(c->payload_hash, "STREAMING-", 10) ||
        (encoding && strstr(encoding, "aws-chunked")))
        return st_s3_send_error(req, 501, "NotImplemented",
                                "aws-chunked uploads (STREAMING-*) are not implemented: send the "
                                "body whole, with x-amz-content-sha256 set to its SHA-256 or to "
                                "UNSIGNED-PAYLOAD.");
    if (strcmp(c->payload_hash, CB_SIGV4_UNSIGNED_PAYLOAD)) {
        if (!is_lower_hex64(c->payload_hash))
            return st_s3_send_error(req, 400, "InvalidArgument",
                                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or the "
                                    "lower-case hex SHA-256 of the body.");
        if (!(c->digest = cb_sha256_stream_new(p)))
            return st_s3_send_error(req, 500, "InternalError", "The body cannot be hashed.");
    }
    else {
        c->payload_hash = NULL;
    }
    if (st_meta_get(cb_req_db(req), p, c->st->env, c->bucket->name, c->target.key, &meta) !=
        APR_SUCCESS)
        return unavailable(req);
    if (!st_may_write(c->bucket->acl, &c->identity, meta.exists ? meta.owner : NULL))
        return st_s3_send_error(req, 403, "AccessDenied",
                                "This access key may not write this object.");
    o.declared = st_declared_length(req);
    o.type = cb_req_header(req, "Content-Type");
    o.success_status = 200;
    o.read = read_and_hash;
    o.baton = c;
    o.owner = c->identity.uid;
    o.fail = put_failed;
    o.stored = put_stored;
    return st_receive_object(req, c->st, c->bucket, c->target.key, &o);
}

/* ---------------------------------------------------------------- GET, HEAD, DELETE */

static int everyone_reads(st_acl acl)
{
    return acl == ST_ACL_READONLY || acl == ST_ACL_ADMINWRITE;
}

static cb_status get_object(s3_call *c)
{
    cb_req *req = c->req;
    apr_pool_t *p = cb_req_pool(req);
    const char *file, *type = NULL, *v;
    apr_finfo_t fi;
    st_meta meta;
    if (st_meta_get(cb_req_db(req), p, c->st->env, c->bucket->name, c->target.key, &meta) ==
        APR_SUCCESS) {
        if (!meta.exists || meta.size < 0)
            return no_such_key(req);
        if (!st_may_read(c->bucket->acl, &c->identity, meta.owner))
            return st_s3_send_error(req, 403, "AccessDenied",
                                    "This access key may not read this object.");
        type = meta.type;
    }
    else if (!everyone_reads(c->bucket->acl) && c->identity.kind != CB_IDENTITY_ADMIN) {
        /* without the owner, only what anyone may read is served */
        return unavailable(req);
    }
    file = st_local_file(p, c->bucket, st_object_hash(p, c->st->env, c->bucket->name,
                                                      c->target.key));
    if (apr_stat(&fi, file, APR_FINFO_TYPE, p) != APR_SUCCESS || fi.filetype != APR_REG)
        return no_such_key(req);
    if ((v = cb_req_query_param(req, "response-content-type")) && *v)
        type = v;
    if ((v = cb_req_query_param(req, "response-content-disposition")) && *v)
        cb_req_set_header(req, "Content-Disposition", v);
    if ((v = cb_req_query_param(req, "response-cache-control")) && *v)
        cb_req_set_header(req, "Cache-Control", v);
    cb_req_set_header(req, "x-amz-request-id", cb_req_id(req));
    if (cb_req_serve_file(req, file, type ? type : "application/octet-stream") != CB_OK)
        return CB_ERROR;
    return CB_DONE;
}

static cb_status delete_object(s3_call *c)
{
    cb_req *req = c->req;
    apr_pool_t *p = cb_req_pool(req);
    const char *code, *problem;
    st_meta meta;
    if (st_meta_get(cb_req_db(req), p, c->st->env, c->bucket->name, c->target.key, &meta) !=
        APR_SUCCESS)
        return unavailable(req);
    if (!st_may_write(c->bucket->acl, &c->identity, meta.exists ? meta.owner : NULL))
        return st_s3_send_error(req, 403, "AccessDenied",
                                "This access key may not delete this object.");
    if ((problem = st_remove_object(req, c->st, c->bucket, c->target.key, &code)))
        return st_s3_send_error(req, 503, "ServiceUnavailable", problem);
    cb_req_set_header(req, "x-amz-request-id", cb_req_id(req));
    cb_req_set_status(req, 204);   /* also when there was no such key, as S3 answers */
    return CB_DONE;
}

/* ---------------------------------------------------------------- the bucket */

static cb_status list_objects(s3_call *c)
{
    cb_req *req = c->req;
    apr_pool_t *p = cb_req_pool(req);
    st_s3_list_query q;
    st_s3_list_page page;
    const char *why, *code = st_s3_parse_list_query(p, cb_req_query(req), &q, &why), *owner = NULL;
    const char *xml;
    if (code)
        return st_s3_send_error(req, strcmp(code, "NotImplemented") ? 400 : 501, code, why);
    if (c->identity.kind != CB_IDENTITY_ADMIN) {
        if (c->bucket->acl == ST_ACL_ADMINONLY)
            return st_s3_send_error(req, 403, "AccessDenied",
                                    "This access key may not list this bucket.");
        if (c->bucket->acl == ST_ACL_PRIVATE)
            owner = c->identity.uid;   /* its own objects only */
    }
    if (st_s3_list(cb_req_db(req), p, c->st->env, c->bucket->name, owner, &q, &page) !=
        APR_SUCCESS)
        return unavailable(req);
    xml = st_s3_list_xml(p, &q, &page);
    cb_req_set_header(req, "x-amz-request-id", cb_req_id(req));
    cb_req_set_header(req, "Content-Type", "application/xml");
    cb_req_set_status(req, 200);
    cb_req_write(req, xml, strlen(xml));
    return CB_DONE;
}

static cb_status bucket_request(s3_call *c)
{
    const char *method = cb_req_method(c->req);
    if (!strcmp(method, "GET"))
        return list_objects(c);
    if (!strcmp(method, "HEAD")) {   /* HeadBucket */
        cb_req_set_header(c->req, "x-amz-request-id", cb_req_id(c->req));
        cb_req_set_status(c->req, 200);
        return CB_DONE;
    }
    return st_s3_send_error(c->req, 501, "NotImplemented",
                            "Only ListObjectsV2 and HeadBucket are implemented on a bucket.");
}

static cb_status s3_handle(cb_req *req, void *state)
{
    const st_state *st = state;
    const char *method = cb_req_method(req), *why, *code;
    s3_call c = {.req = req, .st = st};
    if (!authenticate(&c, st->s3))
        return CB_DONE;
    if ((code = st_s3_parse_target(cb_req_pool(req), st->s3->prefix, cb_req_path(req),
                                   &c.target, &why)))
        return st_s3_send_error(req, 400, code, why);
    c.bucket = apr_hash_get(st->buckets, c.target.bucket, APR_HASH_KEY_STRING);
    if (!c.bucket)
        return st_s3_send_error(req, 404, "NoSuchBucket", "The specified bucket does not exist.");
    if (c.key->buckets && !apr_hash_get(c.key->buckets, c.bucket->name, APR_HASH_KEY_STRING))
        return st_s3_send_error(req, 403, "AccessDenied",
                                "This access key may not use this bucket.");
    if (!c.target.key)
        return bucket_request(&c);
    for (int i = 0; object_subresources[i]; i++)
        if (cb_req_query_param(req, object_subresources[i]))
            return st_s3_send_error(req, 501, "NotImplemented",
                                    apr_psprintf(cb_req_pool(req), "The '%s' subresource is not "
                                                 "implemented by this endpoint.",
                                                 object_subresources[i]));
    if (!strcmp(method, "PUT"))
        return put_object(&c);
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
        return get_object(&c);
    if (!strcmp(method, "DELETE"))
        return delete_object(&c);
    return st_s3_send_error(req, 405, "MethodNotAllowed",
                            "The specified method is not allowed against this resource.");
}

/* ---------------------------------------------------------------- set-up */

static int load_keys(cb_plugin_ctx *ctx, st_s3 *s3)
{
    const apr_array_header_t *lines = cb_opt_list(cb_ctx_options(ctx), "s3_key");
    apr_pool_t *p = cb_ctx_pool(ctx);
    int ok = 1;
    for (int i = 0; i < lines->nelts; i++) {
        const cb_option_item *item = &APR_ARRAY_IDX(lines, i, cb_option_item);
        st_s3_key *k = apr_palloc(p, sizeof(*k));
        const char *err = st_s3_parse_key_line(p, item->text, k);
        if (!err && apr_hash_get(s3->keys, k->access_key, APR_HASH_KEY_STRING))
            err = apr_psprintf(p, "access key %s is configured twice", k->access_key);
        if (!err && (err = cb_parse_secret(p, k->secret_spec, &k->secret)))
            err = apr_psprintf(p, "secret=: %s", err);
        if (!err && (!k->secret || !*k->secret))
            err = "secret= resolves to an empty secret";
        if (err) {
            cb_ctx_error(ctx, "s3_key at %s:%d: %s", item->file ? item->file : "?", item->line,
                         err);
            ok = 0;
            continue;
        }
        apr_hash_set(s3->keys, k->access_key, APR_HASH_KEY_STRING, k);
    }
    return ok;
}

int st_s3_setup(cb_plugin_ctx *ctx, st_state *st)
{
    const cb_options *o = cb_ctx_options(ctx);
    apr_pool_t *p = cb_ctx_pool(ctx);
    const char *prefix = cb_opt_string(o, "s3_prefix"), *region = cb_opt_string(o, "s3_region");
    const char *err;
    st_s3 *s3 = apr_pcalloc(p, sizeof(*s3));
    s3->keys = apr_hash_make(p);
    if (!load_keys(ctx, s3))
        return 0;
    if (!strcmp(prefix, "off") || apr_hash_count(s3->keys) == 0)
        return 1;   /* no endpoint */
    if ((err = st_s3_prefix_problem(prefix))) {
        cb_ctx_error(ctx, "%s", err);
        return 0;
    }
    for (apr_hash_index_t *hi = apr_hash_first(p, s3->keys); hi; hi = apr_hash_next(hi)) {
        const st_s3_key *k = apr_hash_this_val(hi);
        for (apr_hash_index_t *bi = k->buckets ? apr_hash_first(p, k->buckets) : NULL; bi;
             bi = apr_hash_next(bi))
            if (!apr_hash_get(st->buckets, apr_hash_this_key(bi), APR_HASH_KEY_STRING)) {
                cb_ctx_error(ctx, "s3_key %s: bucket=%s is not a configured bucket",
                             k->access_key, (const char *)apr_hash_this_key(bi));
                return 0;
            }
    }
    s3->prefix = prefix;
    s3->region = strcmp(region, "any") ? region : NULL;
    st->s3 = s3;
    {
        cb_route_def bucket_route = {.method = "*", .pattern = apr_pstrcat(p, prefix, "/{bucket}",
                                                                           NULL),
                                     .handler = s3_handle, .auth = CB_AUTH_NONE,
                                     .dialect = CB_DIALECT_CLOUDBASE};
        cb_route_def object_route = bucket_route;
        object_route.pattern = apr_pstrcat(p, prefix, "/{bucket}/{key*}", NULL);
        cb_ctx_add_route(ctx, &bucket_route);
        cb_ctx_add_route(ctx, &object_route);
    }
    return 1;
}
