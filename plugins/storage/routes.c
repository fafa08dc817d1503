/*
 * routes.c: the four batch routes under /v1/storages/, as the official SDK
 * calls them: a JSON array in, a bare JSON array out in request order,
 * each item either its answer or {code, message}. An item's failure never
 * fails the batch; only a body that is not an array of at most
 * max_batch_* items is refused as a whole (400).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/db.h"
#include "cloudbase/files.h"
#include "cloudbase/log.h"
#include "remote.h"
#include "storage.h"

#define BATCH_BODY_MAX (1024 * 1024)
#define DB_DOWN_TEXT "the storage metadata store is unavailable; retry later"

const char *st_db_failed(cb_req *req)
{
    cb_log_req(req, CB_LOG_ERR, "storage: the metadata database failed: %s",
               cb_db_last_error(cb_req_db(req)));
    return DB_DOWN_TEXT;
}

const st_bucket *st_bucket_of(const st_state *st, const st_object_id *id)
{
    if (!id->bucket || !*id->bucket)
        return st->default_bucket;
    return apr_hash_get(st->buckets, id->bucket, APR_HASH_KEY_STRING);
}

/* The body as an array of at most max items; NULL with the error answered. */
static cb_json *read_batch(cb_req *req, const st_state *st, st_route route, cb_status *rc)
{
    const char *data, *error = NULL;
    size_t len;
    cb_json *body;
    *rc = CB_DONE;
    if (cb_req_read_body(req, BATCH_BODY_MAX, &data, &len) != CB_OK) {
        *rc = CB_ERROR;
        return NULL;
    }
    body = cb_json_parse(cb_req_pool(req), data, len, &error);
    if (!cb_json_is_array(body)) {
        cb_req_send_error(req, 400, "INVALID_PARAM",
                          error ? error : "the request body must be a JSON array");
        return NULL;
    }
    if ((int64_t)cb_json_array_size(body) > st->max_batch[route]) {
        cb_req_send_error(req, 400, "INVALID_PARAM",
                          apr_psprintf(cb_req_pool(req), "at most %" APR_INT64_T_FMT
                                       " items per call", st->max_batch[route]));
        return NULL;
    }
    return body;
}

static cb_status send_array(cb_req *req, const cb_json *answer)
{
    return cb_req_send_json(req, 200, cb_json_dump(cb_req_pool(req), answer));
}

static void item_error(cb_json *item, const char *code, const char *message)
{
    cb_json_set_string(item, "code", code);
    cb_json_set_string(item, "message", message);
}

/* The id in member key of the item, parsed; NULL or the problem. */
static const char *item_object(apr_pool_t *p, const st_state *st, const cb_json *item,
                               const char *key, st_object_id *id, const st_bucket **bucket)
{
    const cb_json *v = cb_json_get(item, key);
    size_t len;
    const char *text = cb_json_string_value(v, &len), *problem;
    if (!cb_json_is_object(item))
        return "each item must be a JSON object";
    if (!text)
        return apr_psprintf(p, "%s must be a string", key);
    if ((problem = st_parse_object_id(p, st->env, text, len, id)))
        return problem;
    if (!(*bucket = st_bucket_of(st, id)))
        return apr_psprintf(p, "there is no bucket %s in this environment", id->bucket);
    return NULL;
}

static const char *base_url(cb_req *req, const st_state *st)
{
    const char *host = cb_req_header(req, "Host");
    if (st->public_url)
        return st->public_url;
    if (!host || !*host || host[strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789.-:[]")])
        host = "localhost";
    return apr_pstrcat(cb_req_pool(req), cb_req_scheme(req), "://", host, NULL);
}

static const char *object_url(cb_req *req, const st_state *st, const st_bucket *b,
                              const char *path)
{
    apr_pool_t *p = cb_req_pool(req);
    return apr_pstrcat(p, base_url(req, st), "/v1/storages/file/", b->name, "/",
                       st_url_key(p, path), NULL);
}

static const char *download_url(cb_req *req, const st_state *st, const st_bucket *b,
                                const char *path)
{
    apr_pool_t *p = cb_req_pool(req);
    int64_t expires = apr_time_sec(apr_time_now()) + st->download_expires_s;
    if (b->remote)
        return st_remote_download_url(p, b->remote, path, st->download_expires_s);
    return apr_psprintf(p, "%s?expires=%" APR_INT64_T_FMT "&sign=%s",
                        object_url(req, st, b, path), expires,
                        st_sign_download(p, st->signing_key, st->signing_key_len, st->env,
                                         b->name, path, expires));
}

static const char *caller_uid(cb_req *req)
{
    const cb_identity *id = cb_req_identity(req);
    return id && id->kind != CB_IDENTITY_NONE && id->uid && *id->uid ? id->uid : NULL;
}

/* signedHeader: {"content-length":["2"], "content-type":["text/plain"]},
 * names in any case, values a string or an array of one string. */
static const char *signed_header(const cb_json *headers, const char *name)
{
    cb_json_iter it = {0};
    const char *key;
    cb_json *value;
    while (cb_json_object_next(headers, &it, &key, &value)) {
        if (strcasecmp(key, name) != 0)
            continue;
        if (cb_json_is_array(value))
            value = cb_json_array_size(value) == 1 ? cb_json_array_get(value, 0) : NULL;
        return cb_json_string_value(value, NULL);
    }
    return NULL;
}

/* Fills the grant's length and type from signedHeader; NULL or why not. */
static const char *grant_from_headers(const cb_json *item, const st_bucket *b,
                                      st_upload_grant *g)
{
    const cb_json *headers = cb_json_get(item, "signedHeader");
    const char *length, *type;
    if (!headers)
        return NULL;
    if (!cb_json_is_object(headers))
        return "signedHeader must be an object";
    if ((length = signed_header(headers, "content-length"))) {
        char *end;
        long long v = strtoll(length, &end, 10);
        if (!*length || *end || v < 0 || length[0] == '+' || length[0] == '-')
            return "signedHeader content-length must be a number of bytes";
        if (v > b->max_object)
            return "the object is larger than this bucket's max_object";
        g->binds |= ST_SIGN_LENGTH;
        g->length = v;
    }
    if ((type = signed_header(headers, "content-type"))) {
        for (const char *c = type; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                return "signedHeader content-type holds a control character";
        g->binds |= ST_SIGN_TYPE;
        g->type = type;
    }
    return NULL;
}

/* The object's metadata. A remote bucket's object whose upload was signed
 * but not seen yet (the client PUT it to the store, not to the gateway) is
 * looked up in the store once and recorded complete when there. NULL, or
 * the message for the client (STORAGE_REQUEST_FAIL). */
static const char *read_meta(cb_req *req, const st_state *st, const st_bucket *b,
                             const char *path, st_meta *m)
{
    apr_pool_t *p = cb_req_pool(req);
    st_remote_head head;
    const char *problem;
    if (st_meta_get(cb_req_db(req), p, st->env, b->name, path, m) != APR_SUCCESS)
        return st_db_failed(req);
    if (!b->remote || !m->exists || m->size >= 0)
        return NULL;
    if ((problem = st_remote_head_object(req, b->remote, path, &head)))
        return problem;
    if (!head.exists)
        return NULL;
    if (st_meta_complete(cb_req_db(req), p, st->env, b->name, path, m->owner,
                         head.type ? head.type : "application/octet-stream", head.size,
                         head.etag) != APR_SUCCESS)
        return st_db_failed(req);
    m->size = head.size;
    m->etag = head.etag;
    m->type = head.type;
    return NULL;
}

/* The existing object an item's cloudObjectId names, checked against the
 * bucket's rule for reading (or, with for_write, writing); 0 with the
 * item's error set in out. */
static int existing_object(cb_req *req, const st_state *st, const cb_json *in, cb_json *out,
                           int for_write, st_object_id *id, const st_bucket **b)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *problem;
    st_meta meta;
    if (cb_json_is_object(in) && cb_json_get_string(in, "cloudObjectId"))
        cb_json_set_string(out, "cloudObjectId", cb_json_get_string(in, "cloudObjectId"));
    if ((problem = item_object(p, st, in, "cloudObjectId", id, b))) {
        item_error(out, "INVALID_PARAM", problem);
        return 0;
    }
    if ((problem = read_meta(req, st, *b, id->path, &meta))) {
        item_error(out, "STORAGE_REQUEST_FAIL", problem);
        return 0;
    }
    if (!meta.exists || meta.size < 0) {
        item_error(out, "STORAGE_FILE_NONEXIST", "the object does not exist");
        return 0;
    }
    if (!(for_write ? st_may_write : st_may_read)((*b)->acl, cb_req_identity(req), meta.owner)) {
        item_error(out, "PERMISSION_DENIED",
                   apr_psprintf(p, "bucket %s (%s) does not let this caller %s %s", (*b)->name,
                                st_acl_name((*b)->acl), for_write ? "delete" : "read",
                                id->path));
        return 0;
    }
    return 1;
}

/* Answers one item of a batch into out (an error never fails the batch). */
typedef void (*batch_item_fn)(cb_req *req, const st_state *st, const cb_json *in, cb_json *out);

static cb_status run_batch(cb_req *req, const st_state *st, st_route route, batch_item_fn fn)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_status rc;
    cb_json *body = read_batch(req, st, route, &rc), *answer;
    if (!body)
        return rc;
    answer = cb_json_new_array(p);
    for (size_t i = 0; i < cb_json_array_size(body); i++) {
        cb_json *out = cb_json_new_object(p);
        cb_json_append(answer, out);
        fn(req, st, cb_json_array_get(body, i), out);
    }
    return send_array(req, answer);
}

static void upload_item(cb_req *req, const st_state *st, const cb_json *in, cb_json *out)
{
    apr_pool_t *p = cb_req_pool(req);
    const cb_identity *identity = cb_req_identity(req);
    st_object_id id;
    const st_bucket *b = NULL;
    st_upload_grant g = {0};
    st_meta meta;
    const char *problem, *url, *upload_url, *authorization, *token = "", *fileid;
    if (cb_json_is_object(in) && cb_json_get_string(in, "objectId"))
        cb_json_set_string(out, "objectId", cb_json_get_string(in, "objectId"));
    if ((problem = item_object(p, st, in, "objectId", &id, &b)) ||
        (problem = grant_from_headers(in, b, &g))) {
        item_error(out, "INVALID_PARAM", problem);
        return;
    }
    if (st_meta_get(cb_req_db(req), p, st->env, b->name, id.path, &meta) != APR_SUCCESS) {
        item_error(out, "STORAGE_REQUEST_FAIL", st_db_failed(req));
        return;
    }
    if (!st_may_write(b->acl, identity, meta.exists ? meta.owner : NULL)) {
        item_error(out, "PERMISSION_DENIED",
                   apr_psprintf(p, "bucket %s (%s) does not let this caller write %s",
                                b->name, st_acl_name(b->acl), id.path));
        return;
    }
    if (st_meta_claim(cb_req_db(req), p, st->env, b->name, id.path, caller_uid(req)) !=
        APR_SUCCESS) {
        item_error(out, "STORAGE_REQUEST_FAIL", st_db_failed(req));
        return;
    }
    g.env = st->env;
    g.bucket = b->name;
    g.path = id.path;
    g.expires = apr_time_sec(apr_time_now()) + st->upload_expires_s;
    fileid = st_object_hash(p, st->env, b->name, id.path);
    if (b->remote) {
        st_remote_upload up;
        st_remote_sign_upload(p, b->remote, id.path, &g, fileid, st->upload_expires_s, &up);
        upload_url = up.url;
        authorization = up.authorization;
        token = up.token;
    } else {
        upload_url = object_url(req, st, b, id.path);
        authorization = st_sign_upload(p, st->signing_key, st->signing_key_len, &g);
    }
    url = download_url(req, st, b, id.path);
    if (!upload_url || !authorization || !url) {
        item_error(out, "STORAGE_REQUEST_FAIL", "the upload could not be signed");
        return;
    }
    cb_json_set_string(out, "uploadUrl", upload_url);
    cb_json_set_string(out, "authorization", authorization);
    cb_json_set_string(out, "token", token);
    cb_json_set_string(out, "cloudObjectMeta", fileid);
    cb_json_set_string(out, "cloudObjectId", st_cloud_id(p, st->env, b->name, id.path));
    cb_json_set_string(out, "downloadUrl", url);
    cb_json_set_string(out, "downloadUrlEncoded", url);
}

cb_status st_upload_info(cb_req *req, void *state)
{
    return run_batch(req, state, ST_ROUTE_UPLOAD, upload_item);
}

static void download_item(cb_req *req, const st_state *st, const cb_json *in, cb_json *out)
{
    st_object_id id;
    const st_bucket *b = NULL;
    const char *url;
    if (!existing_object(req, st, in, out, 0, &id, &b))
        return;
    if (!(url = download_url(req, st, b, id.path))) {
        item_error(out, "STORAGE_REQUEST_FAIL", "the download could not be signed");
        return;
    }
    cb_json_set_string(out, "downloadUrl", url);
    cb_json_set_string(out, "downloadUrlEncoded", url);
}

cb_status st_download_info(cb_req *req, void *state)
{
    return run_batch(req, state, ST_ROUTE_DOWNLOAD, download_item);
}

const char *st_remove_object(cb_req *req, const st_state *st, const st_bucket *b,
                             const char *path, const char **code)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *hash = st_object_hash(p, st->env, b->name, path);
    apr_status_t rv;
    *code = "STORAGE_REQUEST_FAIL";
    if (b->remote) {   /* the store first: a refusal leaves the object listed */
        const char *problem = st_remote_delete(req, b->remote, path);
        if (problem)
            return problem;
        return st_meta_delete(cb_req_db(req), p, st->env, b->name, path) == APR_SUCCESS
                   ? NULL : st_db_failed(req);
    }
    if (st_meta_delete(cb_req_db(req), p, st->env, b->name, path) != APR_SUCCESS)
        return st_db_failed(req);
    rv = apr_file_remove(st_local_file(p, b, hash), p);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv))
        return "the object's file could not be removed";
    return NULL;
}

static void delete_item(cb_req *req, const st_state *st, const cb_json *in, cb_json *out)
{
    st_object_id id;
    const st_bucket *b = NULL;
    const char *problem, *code;
    if (existing_object(req, st, in, out, 1, &id, &b) &&
        (problem = st_remove_object(req, st, b, id.path, &code)))
        item_error(out, code, problem);
}

cb_status st_delete_objects(cb_req *req, void *state)
{
    return run_batch(req, state, ST_ROUTE_DELETE, delete_item);
}

/* One copy-objects item; NULL or the item's error (code in *code). */
static const char *copy_one(cb_req *req, const st_state *st, const cb_json *in,
                            cb_json *out, const char **code)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_db *db = cb_req_db(req);
    const cb_identity *identity = cb_req_identity(req);
    st_object_id src, dst;
    const st_bucket *sb = NULL, *db_bucket = NULL;
    st_meta sm, dm;
    int overwrite = 1, remove_original = 0;
    int64_t used = 0, bucket_used = 0;
    const char *problem, *dst_file, *etag;
    *code = "INVALID_PARAM";
    if ((problem = item_object(p, st, in, "srcPath", &src, &sb)) ||
        (problem = item_object(p, st, in, "dstPath", &dst, &db_bucket)))
        return problem;
    cb_json_set_string(out, "cloudObjectId", st_cloud_id(p, st->env, db_bucket->name, dst.path));
    if (cb_json_get(in, "overwrite") && !cb_json_bool_value(cb_json_get(in, "overwrite"),
                                                             &overwrite))
        return "overwrite must be true or false";
    if (cb_json_get(in, "removeOriginal") &&
        !cb_json_bool_value(cb_json_get(in, "removeOriginal"), &remove_original))
        return "removeOriginal must be true or false";
    if (sb == db_bucket && strcmp(src.path, dst.path) == 0)
        return "srcPath and dstPath are the same object";
    if ((sb->remote || db_bucket->remote) && !st_remote_same_store(sb->remote, db_bucket->remote))
        return "a copy between buckets of different stores is not supported";
    *code = "STORAGE_REQUEST_FAIL";
    if ((problem = read_meta(req, st, sb, src.path, &sm)) ||
        (problem = read_meta(req, st, db_bucket, dst.path, &dm)))
        return problem;
    if (st_meta_usage(db, p, st->env, NULL, &used) != APR_SUCCESS ||
        st_meta_usage(db, p, st->env, db_bucket->name, &bucket_used) != APR_SUCCESS)
        return st_db_failed(req);
    *code = "STORAGE_FILE_NONEXIST";
    if (!sm.exists || sm.size < 0)
        return "the source object does not exist";
    *code = "PERMISSION_DENIED";
    if (!st_may_read(sb->acl, identity, sm.owner) ||
        (remove_original && !st_may_write(sb->acl, identity, sm.owner)) ||
        !st_may_write(db_bucket->acl, identity, dm.exists ? dm.owner : NULL))
        return "the buckets' access rules do not allow this copy";
    *code = "STORAGE_FILE_EXIST";
    if (dm.exists && dm.size >= 0 && !overwrite)
        return "the destination exists and overwrite is false";
    *code = "STORAGE_EXCEED_QUOTA";
    if (sm.size > db_bucket->max_object)
        return "the object is larger than the destination bucket's max_object";
    if ((st->quota && used - (dm.size > 0 ? dm.size : 0) + sm.size > st->quota) ||
        (db_bucket->quota &&
         bucket_used - (dm.size > 0 ? dm.size : 0) + sm.size > db_bucket->quota))
        return "the copy would exceed the storage quota";
    *code = "STORAGE_REQUEST_FAIL";
    if (db_bucket->remote) {
        if ((problem = st_remote_copy(req, sb->remote, src.path, db_bucket->remote, dst.path)))
            return problem;
        etag = sm.etag;
    } else {
        dst_file = st_local_file(p, db_bucket,
                                 st_object_hash(p, st->env, db_bucket->name, dst.path));
        if (st_local_copy(p, db_bucket,
                          st_local_file(p, sb, st_object_hash(p, st->env, sb->name, src.path)),
                          dst_file) != APR_SUCCESS)
            return "the object could not be copied";
        etag = st_local_etag(p, dst_file);
    }
    if (st_meta_complete(db, p, st->env, db_bucket->name, dst.path,
                         dm.exists && dm.owner ? dm.owner : caller_uid(req), sm.type, sm.size,
                         etag) != APR_SUCCESS)
        return st_db_failed(req);
    if (remove_original)
        return st_remove_object(req, st, sb, src.path, code);
    return NULL;
}

static void copy_item(cb_req *req, const st_state *st, const cb_json *in, cb_json *out)
{
    const char *problem, *code;
    if ((problem = copy_one(req, st, in, out, &code)))
        item_error(out, code, problem);
}

cb_status st_copy_objects(cb_req *req, void *state)
{
    return run_batch(req, state, ST_ROUTE_COPY, copy_item);
}
