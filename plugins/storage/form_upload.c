/*
 * form_upload.c: the SDK's POST form upload (uploadFile with method:'post'):
 * a multipart/form-data body with the fields key, signature,
 * x-cos-meta-fileid, success_action_status, x-cos-security-token, key again
 * and last the file. The fields are read first (each at most 8 KiB); the
 * signature (the upload info's authorization, which binds no length or
 * type) must allow this object, and key must name it. The file part then
 * streams (multipart.c) into the same temp-file path as a PUT, and success
 * answers 201 (the SDK accepts nothing else).
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/files.h"
#include "multipart.h"
#include "storage.h"
#include "transfer.h"

static cb_status read_request_body(void *baton, char *buf, size_t *len)
{
    return cb_req_read_chunk(baton, buf, len);
}

static cb_status read_file_part(void *baton, char *buf, size_t *len)
{
    return st_form_read(baton, buf, *len, len);
}

static cb_status bad_form(cb_req *req, const char *message)
{
    return cb_req_send_error(req, 400, "INVALID_PARAM", message);
}

cb_status st_post_object(cb_req *req, void *state)
{
    const st_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const st_bucket *b = apr_hash_get(st->buckets, cb_req_param(req, "bucket"),
                                      APR_HASH_KEY_STRING);
    const char *path = b && !b->remote ? st_path_of_url_key(p, cb_req_param(req, "key")) : NULL;
    const char *boundary = st_form_boundary(p, cb_req_header(req, "Content-Type"));
    const char *key = NULL, *signature = NULL, *name, *type, *problem;
    st_form *f;
    st_upload_grant g = {0};
    st_receive_opts o = {0};
    if (!path)
        return cb_req_send_error(req, 404, "STORAGE_FILE_NONEXIST", "no such object URL");
    if (!boundary)
        return bad_form(req, "the upload must be multipart/form-data with a boundary");
    f = st_form_create(p, boundary, read_request_body, req);
    for (;;) {
        if (st_form_next_part(f, p, &name, &type) != CB_OK)
            return bad_form(req, "the multipart body is malformed");
        if (!name)
            return bad_form(req, "the form has no file field");
        if (strcmp(name, "file") == 0)
            break;
        if (strcmp(name, "key") == 0 || strcmp(name, "signature") == 0) {
            const char *value = st_form_field_value(f, p);
            if (!value)
                return bad_form(req, "a form field is malformed or longer than 8 KiB");
            *(strcmp(name, "key") == 0 ? &key : &signature) = value;
        }
    }
    if (!key || strcmp(key, path) != 0)
        return bad_form(req, "the form's key must be the object path of the upload URL");
    g.env = st->env;
    g.bucket = b->name;
    g.path = path;
    g.length = -1;
    problem = st_verify_upload(p, st->signing_key, st->signing_key_len, signature, &g,
                               apr_time_sec(apr_time_now()));
    if (problem)
        return cb_req_send_error(req, 403, "PERMISSION_DENIED", problem);
    o.declared = -1;
    o.type = type;
    o.success_status = 201;
    o.read = read_file_part;
    o.baton = f;
    return st_receive_object(req, st, b, path, &o);
}
