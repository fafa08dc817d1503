/*
 * request_files.c: cloudbase/files.h: the request body read piece by
 * piece, a file handed to the host's static-file path, and the scheme.
 * The host does the serving (the Apache adapter gives the file to httpd's
 * default handler); the core only records what to serve.
 */
#include <apr_strings.h>

#include "cb_core.h"
#include "cloudbase/files.h"

cb_status cb_req_read_chunk(cb_req *req, char *buf, size_t *len)
{
    apr_size_t got = *len;
    if (req->body_read) {
        *len = 0;
        return CB_ERROR;   /* cb_req_read_body took the body already */
    }
    if (req->ops->read(req, buf, &got) != APR_SUCCESS) {
        *len = 0;
        return CB_ERROR;
    }
    *len = got;
    return CB_OK;
}

cb_status cb_req_serve_file(cb_req *req, const char *path, const char *content_type)
{
    if (!req->ops->can_serve_files || !req->ops->can_serve_files(req) || !path ||
        path[0] != '/') {
        cb_req_send_error(req, 501, "SYS_ERR", "this host cannot serve files");
        return CB_ERROR;
    }
    req->serve_path = apr_pstrdup(req->pool, path);
    req->serve_type = content_type ? apr_pstrdup(req->pool, content_type) : NULL;
    return CB_OK;
}

const char *cb_req_scheme(const cb_req *req)
{
    return req->scheme ? req->scheme : "http";
}
