/*
 * request.c: the cb_req functions plugins call. Fields common to every host
 * live in struct cb_req; I/O goes through the host's cb_req_ops.
 */
#include <string.h>

#include <apr_strings.h>

#include "cb_core.h"
#include "cloudbase/encoding.h"
#include "cloudbase/json.h"
#include "cloudbase/values.h"

#define BODY_READ_CHUNK 8192

void cb_req_init(cb_req *req, apr_pool_t *p, cb_env *env)
{
    memset(req, 0, sizeof(*req));
    req->pool = p;
    req->env = env;
    req->status = 200;
    req->query = "";
}

const char *cb_req_method(const cb_req *req) { return req->method; }
const char *cb_req_path(const cb_req *req) { return req->path; }
const char *cb_req_query(const cb_req *req) { return req->query ? req->query : ""; }
const char *cb_req_query_param(const cb_req *req, const char *name)
{
    return cb_query_param(req->pool, cb_req_query(req), name);
}
const apr_table_t *cb_req_headers(const cb_req *req) { return req->headers_in; }
const char *cb_req_client_ip(const cb_req *req) { return req->client_ip; }
const char *cb_req_id(const cb_req *req) { return req->request_id; }
const char *cb_req_env(const cb_req *req) { return req->env ? req->env->id : NULL; }
const char *cb_req_route_plugin(const cb_req *req)
{
    const cb_instance *inst = req->match.route ? req->match.route->instance : NULL;
    return inst ? inst->plugin->desc->name : NULL;
}
apr_pool_t *cb_req_pool(const cb_req *req) { return req->pool; }
cb_redis *cb_req_redis(const cb_req *req) { return req->env ? req->env->redis : NULL; }
cb_db *cb_req_db(const cb_req *req) { return req->env ? req->env->db : NULL; }
const cb_identity *cb_req_identity(const cb_req *req) { return &req->identity; }

const char *cb_req_header(const cb_req *req, const char *name)
{
    return apr_table_get(req->headers_in, name);
}

const char *cb_req_param(const cb_req *req, const char *name)
{
    return req->match.params ? apr_table_get(req->match.params, name) : NULL;
}

void cb_req_set_identity(cb_req *req, const cb_identity *id)
{
    req->identity = *id;
}

void cb_req_fail(cb_req *req, int status, const char *code, const char *message)
{
    req->error_status = status;
    req->error_code = code;
    req->error_message = message;
}

static cb_status body_too_large(cb_req *req, size_t max_bytes)
{
    cb_req_fail(req, 413, "PAYLOAD_TOO_LARGE",
                apr_psprintf(req->pool, "request body is larger than %" APR_SIZE_T_FMT " bytes",
                             max_bytes));
    return CB_ERROR;
}

cb_status cb_req_read_body(cb_req *req, size_t max_bytes, const char **data, size_t *len)
{
    const char *declared = apr_table_get(req->headers_in, "Content-Length");
    size_t cap = 0, used = 0;
    char *buf = NULL;
    if (req->body_read) {
        /* Read once; a second reader (and a proxy hand-off) sees the same. */
        if (req->body_len > max_bytes) {
            return body_too_large(req, max_bytes);
        }
        *data = req->body;
        *len = req->body_len;
        return CB_OK;
    }
    if (declared) {
        apr_off_t n;
        if (apr_strtoff(&n, declared, NULL, 10) == APR_SUCCESS && n >= 0) {
            if ((apr_uint64_t)n > max_bytes)
                return body_too_large(req, max_bytes);
            /* The usual small body: a buffer of its size, not 16 KiB per
             * request. httpd holds the client to Content-Length, so the
             * loop below only confirms the end (or grows, should it not). */
            if (n < BODY_READ_CHUNK) {
                cap = (size_t)n + 1;
                buf = apr_palloc(req->pool, cap + 1);
            }
        }
    }
    for (;;) {
        apr_size_t got;
        /* Room for a whole chunk per read, except in a buffer sized to the
         * declared length, which only grows when full. */
        if (used == cap || (cap >= BODY_READ_CHUNK && cap - used < BODY_READ_CHUNK)) {
            size_t new_cap = cap >= BODY_READ_CHUNK ? cap * 2 : BODY_READ_CHUNK * 2;
            char *grown = apr_palloc(req->pool, new_cap + 1);
            if (used)
                memcpy(grown, buf, used);
            buf = grown;
            cap = new_cap;
        }
        got = cap - used;
        if (req->ops->read(req, buf + used, &got) != APR_SUCCESS) {
            cb_req_fail(req, 400, "INVALID_REQUEST", "the request body could not be read");
            return CB_ERROR;
        }
        if (got == 0)
            break;
        used += got;
        if (used > max_bytes) {
            return body_too_large(req, max_bytes);
        }
    }
    if (!buf)
        buf = apr_pcalloc(req->pool, 1);
    buf[used] = '\0';
    req->body = buf;
    req->body_len = used;
    req->body_read = 1;
    *data = buf;
    *len = used;
    return CB_OK;
}

/* ---- the body as a JSON object (cb_req_read_json_object) ---- */

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

void cb_req_set_status(cb_req *req, int status)
{
    req->status = status;
}

void cb_req_set_header(cb_req *req, const char *name, const char *value)
{
    int64_t length;
    if (strcasecmp(name, "Content-Type") == 0)
        req->ops->set_content_type(req, apr_pstrdup(req->pool, value));
    else if (strcasecmp(name, "Content-Length") == 0 && req->ops->set_content_length &&
             !cb_parse_int(value, &length) && length >= 0)
        /* the host's own header: a copy among ours would be a second one */
        req->ops->set_content_length(req, (apr_off_t)length);
    else
        apr_table_set(req->headers_out, name, value);
}

void cb_req_add_header(cb_req *req, const char *name, const char *value)
{
    apr_table_add(req->headers_out, name, value);
}

/* The host commits the status and headers on its first write or flush, and
 * sees body_started still 0 at that moment. */
cb_status cb_req_write(cb_req *req, const void *data, size_t len)
{
    apr_status_t rv = req->ops->write(req, data, len);
    req->body_started = 1;
    if (rv != APR_SUCCESS)
        req->client_gone = 1;
    return rv == APR_SUCCESS ? CB_OK : CB_ERROR;
}

cb_status cb_req_flush(cb_req *req)
{
    apr_status_t rv = req->ops->flush(req);
    req->body_started = 1;
    if (rv != APR_SUCCESS)
        req->client_gone = 1;
    return rv == APR_SUCCESS ? CB_OK : CB_ERROR;
}

int cb_req_aborted(const cb_req *req)
{
    return req->client_gone || (req->ops->aborted && req->ops->aborted(req));
}

cb_status cb_req_send_json(cb_req *req, int status, const char *json)
{
    req->status = status;
    req->ops->set_content_type(req, "application/json; charset=utf-8");
    return cb_req_write(req, json, strlen(json));
}

cb_status cb_req_send_error(cb_req *req, int status, const char *code, const char *message)
{
    cb_dialect dialect;
    const cb_error_code_def *own;
    const char *body;
    if (!req->in_content_phase) {
        /* From a phase hook or a proxy route: the content phase answers it. */
        cb_req_fail(req, status, code, message);
        return CB_DONE;
    }
    dialect = req->match.route ? req->match.route->def.dialect : CB_DIALECT_CLOUDBASE;
    if ((own = cb_env_error_code(req->env, code)))
        body = cb_error_body_with(req->pool, dialect, code, message, req->request_id, own->oauth,
                                  own->testbase, req->error_details);
    else
        body = cb_error_body_details(req->pool, dialect, code, message, req->request_id,
                                     req->error_details);
    if (status == 401 && !apr_table_get(req->headers_out, "WWW-Authenticate"))
        apr_table_set(req->headers_out, "WWW-Authenticate", "Bearer realm=\"cloudbase\"");
    cb_req_send_json(req, status, body);
    return CB_DONE;
}

void cb_req_set_error_detail(cb_req *req, const char *key, const char *value)
{
    if (!key || !value)
        return;
    if (!req->error_details)
        req->error_details = apr_table_make(req->pool, 2);
    apr_table_set(req->error_details, key, value);
}

void cb_req_proxy_to(cb_req *req, const char *url)
{
    req->proxy_url = apr_pstrdup(req->pool, url);
}

void cb_req_proxy_via(cb_req *req, const cb_upstream *up, const char *url)
{
    cb_req_proxy_to(req, url);
    req->upstream = up;
}

void cb_req_proxy_limit_body(cb_req *req, int64_t max_bytes)
{
    req->proxy_body_limit = max_bytes > 0 ? max_bytes : 0;
}

void cb_req_proxy_flags(cb_req *req, unsigned flags)
{
    req->proxy_flags = flags;
}

void cb_req_set_upstream_header(cb_req *req, const char *name, const char *value)
{
    if (!req->upstream_set)
        req->upstream_set = apr_table_make(req->pool, 4);
    apr_table_set(req->upstream_set, name, value);
}

void cb_req_unset_upstream_header(cb_req *req, const char *name)
{
    if (!req->upstream_unset)
        req->upstream_unset = apr_array_make(req->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(req->upstream_unset, const char *) = apr_pstrdup(req->pool, name);
}

/* Header names compare case-insensitively, with '_' and '-' alike: many
 * upstream stacks (CGI, PHP, WSGI) fold X_Cloudbase_Uid and X-Cloudbase-Uid
 * into the same variable. */
static int header_char_folded(char c)
{
    if (c == '_')
        return '-';
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int cb_header_name_has_prefix(const char *name, const char *prefix)
{
    for (; *prefix; name++, prefix++)
        if (header_char_folded(*name) != header_char_folded(*prefix))
            return 0;
    return 1;
}

int cb_header_names_match(const char *a, const char *b)
{
    return cb_header_name_has_prefix(a, b) && strlen(a) == strlen(b);
}

void cb_header_unset_folded(apr_table_t *headers, const char *name, int as_prefix)
{
    const char *doomed[16];
    int n;
    /* Collected first: unsetting moves the entries being walked. Each pass
     * removes up to 16 distinct spellings; more simply take another pass. */
    do {
        const apr_array_header_t *arr = apr_table_elts(headers);
        const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
        n = 0;
        for (int i = 0; i < arr->nelts && n < 16; i++)
            if (e[i].key && (as_prefix ? cb_header_name_has_prefix(e[i].key, name)
                                       : cb_header_names_match(e[i].key, name)))
                doomed[n++] = e[i].key;
        for (int i = 0; i < n; i++)
            apr_table_unset(headers, doomed[i]);
    } while (n == 16);
}

/* Whether name is one the gateway removes or sets (any spelling). */
static int header_is_replaced(const cb_req *req, const char *name)
{
    if (req->upstream_unset)
        for (int i = 0; i < req->upstream_unset->nelts; i++)
            if (cb_header_names_match(name, APR_ARRAY_IDX(req->upstream_unset, i, const char *)))
                return 1;
    if (req->upstream_set) {
        const apr_array_header_t *arr = apr_table_elts(req->upstream_set);
        const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
        for (int i = 0; i < arr->nelts; i++)
            if (cb_header_names_match(name, e[i].key))
                return 1;
    }
    return 0;
}

void cb_req_apply_upstream_headers(const cb_req *req, apr_table_t *headers)
{
    const apr_array_header_t *arr = apr_table_elts(headers);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const char *doomed[16];
    int n = 0, more = 0;
    if (!req->upstream_unset && !req->upstream_set)
        return;
    /* One walk over the outgoing headers finds every client copy of a name
     * the gateway removes or sets, under any spelling (X_Request_Id for
     * X-Request-Id); they are unset after the walk, which unsetting would
     * disturb. More than 16 such copies is an attack, not a client: those
     * take the slow path, name by name. */
    for (int i = 0; i < arr->nelts; i++)
        if (e[i].key && header_is_replaced(req, e[i].key)) {
            if (n == 16) {
                more = 1;
                break;
            }
            doomed[n++] = e[i].key;
        }
    for (int i = 0; i < n; i++)
        apr_table_unset(headers, doomed[i]);
    if (more) {
        if (req->upstream_unset)
            for (int i = 0; i < req->upstream_unset->nelts; i++)
                cb_header_unset_folded(headers,
                                       APR_ARRAY_IDX(req->upstream_unset, i, const char *), 0);
        if (req->upstream_set) {
            const apr_array_header_t *set = apr_table_elts(req->upstream_set);
            for (int i = 0; i < set->nelts; i++)
                cb_header_unset_folded(headers, ((const apr_table_entry_t *)set->elts)[i].key, 0);
        }
    }
    /* A few sets: cheaper than apr_table_overlap, which rebuilds and sorts
     * the whole table. */
    if (req->upstream_set) {
        const apr_array_header_t *set = apr_table_elts(req->upstream_set);
        const apr_table_entry_t *se = (const apr_table_entry_t *)set->elts;
        for (int i = 0; i < set->nelts; i++)
            apr_table_setn(headers, se[i].key, se[i].val);
    }
}
