/*
 * request_json.c: "read the body as a JSON object" for plugins
 * (cb_req_read_json_object in cloudbase.h): the body is read with its
 * size cap, parsed strictly (cb_json_parse) and must be an object; the
 * errors are answered in the route's dialect like any other.
 */
#include "cb_core.h"
#include "cloudbase/json.h"

cb_json *cb_body_json_object(apr_pool_t *p, const char *data, size_t len, const char **problem)
{
    const char *error = NULL;
    cb_json *body;
    if (len == 0)
        return cb_json_new_object(p);
    body = cb_json_parse(p, data, len, &error);
    if (!cb_json_is_object(body)) {
        *problem = error ? error : "the request body must be a JSON object";
        return NULL;
    }
    return body;
}

cb_status cb_req_read_json_object(cb_req *req, size_t max_bytes, cb_json **out)
{
    const char *data, *problem = NULL;
    size_t len;
    if (cb_req_read_body(req, max_bytes, &data, &len) != CB_OK)
        return CB_ERROR;                     /* 413, or 400 when it could not be read */
    if (!(*out = cb_body_json_object(req->pool, data, len, &problem))) {
        cb_req_send_error(req, 400, "INVALID_REQUEST", problem);
        return CB_ERROR;
    }
    return CB_OK;
}
