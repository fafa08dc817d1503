/*
 * transfer.c: the local backend's object route /v1/storages/file/{bucket}/
 * {key*}: the signed PUT of an upload, streamed to a temp file in the
 * bucket (never the whole body in memory) with the per-object and quota
 * limits checked before and while reading, then fsynced and renamed; and
 * the signed GET/HEAD of a download, handed to the host's static-file path.
 * The SDK's POST form upload is in form_upload.c.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/files.h"
#include "local.h"
#include "storage.h"
#include "transfer.h"

/* The bucket and path the URL names; NULL with a 404 answered. */
static const st_bucket *url_object(cb_req *req, const st_state *st, const char **path)
{
    const st_bucket *b = apr_hash_get(st->buckets, cb_req_param(req, "bucket"),
                                      APR_HASH_KEY_STRING);
    /* a remote bucket's objects are not served here */
    *path = b && !b->remote ? st_path_of_url_key(cb_req_pool(req), cb_req_param(req, "key"))
                            : NULL;
    if (!*path) {
        cb_req_send_error(req, 404, "STORAGE_FILE_NONEXIST", "no such object URL");
        return NULL;
    }
    return b;
}

int64_t st_declared_length(cb_req *req)
{
    const char *text = cb_req_header(req, "Content-Length");
    char *end;
    long long v;
    if (!text || !*text || *text == '-' || *text == '+')
        return -1;
    v = strtoll(text, &end, 10);
    return *end || v < 0 ? -1 : v;
}

static cb_status fail_storage(cb_req *req, const st_receive_opts *o, st_temp *t, int status,
                              const char *code, const char *message)
{
    if (t)
        st_temp_discard(t);
    if (o->fail)
        return o->fail(req, o->baton, status, code, message);
    return cb_req_send_error(req, status, code, message);
}

static cb_status write_failed(cb_req *req, const st_receive_opts *o, st_temp *t,
                              apr_status_t rv)
{
    if (st_status_is_full(rv))
        return fail_storage(req, o, t, 507, "STORAGE_FULL", "the storage disk is full");
    return fail_storage(req, o, t, 500, "SYS_ERR", "the object could not be stored");
}

cb_status st_receive_object(cb_req *req, const st_state *st, const st_bucket *b,
                            const char *path, const st_receive_opts *o)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_db *db = cb_req_db(req);
    st_meta meta;
    int64_t used = 0, bucket_used = 0, room = INT64_MAX, existing;
    char *buf = apr_palloc(p, ST_IO_CHUNK);
    const char *final_path, *etag;
    st_temp *t;
    apr_status_t rv;
    if (st_meta_get(db, p, st->env, b->name, path, &meta) != APR_SUCCESS ||
        st_meta_usage(db, p, st->env, NULL, &used) != APR_SUCCESS ||
        st_meta_usage(db, p, st->env, b->name, &bucket_used) != APR_SUCCESS)
        return fail_storage(req, o, NULL, 503, "SERVICE_UNAVAILABLE", st_db_failed(req));
    existing = meta.size > 0 ? meta.size : 0;
    if (st->quota)
        room = st->quota - (used - existing);
    if (b->quota && b->quota - (bucket_used - existing) < room)
        room = b->quota - (bucket_used - existing);
    if (o->declared > b->max_object)
        return fail_storage(req, o, NULL, 413, "PAYLOAD_TOO_LARGE",
                            "the object is larger than this bucket's max_object");
    if (o->declared > room)
        return fail_storage(req, o, NULL, 507, "STORAGE_EXCEED_QUOTA",
                            "the object would exceed the storage quota");
    if ((rv = st_temp_open(p, b, &t)) != APR_SUCCESS)
        return write_failed(req, o, NULL, rv);
    for (;;) {
        size_t n = ST_IO_CHUNK;
        if (o->read(o->baton, buf, &n) != CB_OK)
            return fail_storage(req, o, t, 400, "INVALID_REQUEST",
                                "the upload body could not be read");
        if (n == 0)
            break;
        if (t->size + (int64_t)n > b->max_object)
            return fail_storage(req, o, t, 413, "PAYLOAD_TOO_LARGE",
                                "the object is larger than this bucket's max_object");
        if (t->size + (int64_t)n > room)
            return fail_storage(req, o, t, 507, "STORAGE_EXCEED_QUOTA",
                                "the object would exceed the storage quota");
        if ((rv = st_temp_write(t, buf, n)) != APR_SUCCESS)
            return write_failed(req, o, t, rv);
    }
    if (o->declared >= 0 && t->size != o->declared)
        return fail_storage(req, o, t, 400, "INVALID_REQUEST",
                            "the upload body is shorter than its Content-Length");
    final_path = st_local_file(p, b, st_object_hash(p, st->env, b->name, path));
    if ((rv = st_temp_commit(t, final_path)) != APR_SUCCESS)
        return write_failed(req, o, t, rv);
    etag = st_local_etag(p, final_path);
    if (st_meta_complete(db, p, st->env, b->name, path, meta.exists ? meta.owner : o->owner,
                         o->type && *o->type ? o->type : "application/octet-stream", t->size,
                         etag) != APR_SUCCESS) {
        st_db_failed(req);
        return fail_storage(req, o, NULL, 503, "SERVICE_UNAVAILABLE",
                            "the object was stored but its metadata was not; retry");
    }
    if (o->stored)
        return o->stored(req, o->baton, etag);
    if (etag)
        cb_req_set_header(req, "ETag", etag);
    return cb_req_send_json(req, o->success_status, "{}");
}

static cb_status read_raw_body(void *baton, char *buf, size_t *len)
{
    return cb_req_read_chunk(baton, buf, len);
}

cb_status st_put_object(cb_req *req, void *state)
{
    const st_state *st = state;
    const char *path, *problem;
    const st_bucket *b = url_object(req, st, &path);
    st_upload_grant g = {0};
    st_receive_opts o = {0};
    if (!b)
        return CB_DONE;
    g.env = st->env;
    g.bucket = b->name;
    g.path = path;
    g.length = st_declared_length(req);
    g.type = cb_req_header(req, "Content-Type");
    problem = st_verify_upload(cb_req_pool(req), st->signing_key, st->signing_key_len,
                               cb_req_header(req, "Authorization"), &g,
                               apr_time_sec(apr_time_now()));
    if (problem)
        return cb_req_send_error(req, 403, "PERMISSION_DENIED", problem);
    o.declared = g.length;
    o.type = g.type;
    o.success_status = 200;
    o.read = read_raw_body;
    o.baton = req;
    return st_receive_object(req, st, b, path, &o);
}

/* A signed download whose signature holds and whose type is cached for the
 * file as it is on disk: served without reading the metadata. */
static int serve_from_cache(cb_req *req, const st_state *st, const st_bucket *b,
                            const char *path, const char *expires, const char *sign)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *hash, *file, *etag, *type;
    if (!expires || !sign ||
        st_verify_download(p, st->signing_key, st->signing_key_len, st->env, b->name, path,
                           expires, sign, apr_time_sec(apr_time_now())))
        return 0;
    hash = st_object_hash(p, st->env, b->name, path);
    file = st_local_file(p, b, hash);
    if (!(etag = st_local_etag(p, file)) || !(type = st_type_cached(st, p, hash, etag)))
        return 0;
    return cb_req_serve_file(req, file, type) == CB_OK;
}

cb_status st_get_object(cb_req *req, void *state)
{
    const st_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *path, *problem, *expires, *sign, *type = NULL, *hash, *file;
    const st_bucket *b = url_object(req, st, &path);
    st_meta meta;
    int meta_known;
    if (!b)
        return CB_DONE;
    expires = cb_req_query_param(req, "expires");
    sign = cb_req_query_param(req, "sign");
    if (serve_from_cache(req, st, b, path, expires, sign))
        return CB_DONE;
    meta_known = st_meta_get(cb_req_db(req), p, st->env, b->name, path, &meta) == APR_SUCCESS;
    if (meta_known && (!meta.exists || meta.size < 0))
        return cb_req_send_error(req, 404, "STORAGE_FILE_NONEXIST", "the object does not exist");
    if (expires || sign) {
        problem = st_verify_download(p, st->signing_key, st->signing_key_len, st->env, b->name,
                                     path, expires, sign, apr_time_sec(apr_time_now()));
        if (problem)
            return cb_req_send_error(req, 403, "PERMISSION_DENIED", problem);
    }
    else if (!meta_known || !st_may_read(b->acl, cb_req_identity(req), meta.owner)) {
        /* unsigned: only what the caller may read by the bucket's rule */
        return cb_req_send_error(req, 403, "PERMISSION_DENIED", "the download URL is not signed");
    }
    hash = st_object_hash(p, st->env, b->name, path);
    file = st_local_file(p, b, hash);
    if (meta_known) {
        const char *etag = st_local_etag(p, file);
        type = meta.type;
        /* cached only for the file version the row describes */
        if (etag && meta.etag && strcmp(etag, meta.etag) == 0)
            st_type_remember(st, p, hash, etag, type);
    }
    if (cb_req_serve_file(req, file, type ? type : "application/octet-stream") != CB_OK)
        return CB_ERROR;
    return CB_DONE;
}
