/*
 * request_ops.c: the host-neutral request (cb_req) over httpd's request_rec.
 * Headers are httpd's own tables (no copies); the response goes through the
 * output filter chain with ap_rwrite/ap_rflush, so streaming works.
 */
#include "httpd.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "adapter.h"

APLOG_USE_MODULE(cloudbase);

typedef struct apache_req {
    cb_req req;
    request_rec *r;
    int body_setup;
} apache_req;

static apr_status_t op_read(cb_req *req, char *buf, apr_size_t *len)
{
    apache_req *ar = (apache_req *)req;
    long got;
    if (!ar->body_setup) {
        ar->body_setup = 1;
        if (ap_setup_client_block(ar->r, REQUEST_CHUNKED_DECHUNK) != OK)
            return APR_EGENERAL;
        if (!ap_should_client_block(ar->r)) {
            *len = 0;
            ar->body_setup = 2; /* no body */
            return APR_SUCCESS;
        }
    }
    if (ar->body_setup == 2) {
        *len = 0;
        return APR_SUCCESS;
    }
    got = ap_get_client_block(ar->r, buf, *len);
    if (got < 0)
        return APR_EGENERAL;
    *len = (apr_size_t)got;
    return APR_SUCCESS;
}

static void commit_status(apache_req *ar)
{
    if (!ar->req.body_started)
        ar->r->status = ar->req.status;
}

static apr_status_t op_write(cb_req *req, const void *data, apr_size_t len)
{
    apache_req *ar = (apache_req *)req;
    commit_status(ar);
    if (len && ap_rwrite(data, (int)len, ar->r) < 0)
        return APR_EGENERAL;
    return APR_SUCCESS;
}

static apr_status_t op_flush(cb_req *req)
{
    apache_req *ar = (apache_req *)req;
    commit_status(ar);
    return ap_rflush(ar->r) < 0 ? APR_EGENERAL : APR_SUCCESS;
}

static void op_set_content_type(cb_req *req, const char *type)
{
    ap_set_content_type(((apache_req *)req)->r, type);
}

/* httpd marks a connection aborted only when a write to it failed; a
 * streaming handler whose upstream is quiet also asks whether the client
 * closed its end: the socket reads as end-of-file (a non-blocking peek).
 * A request whose body is still unread has data there, so it is never
 * taken for closed. Behind TLS the close_notify alert arrives first, so
 * there it is the next write that notices. */
static int op_aborted(const cb_req *req)
{
    conn_rec *c = ((const apache_req *)req)->r->connection;
    apr_socket_t *sock;
    int at_eof = 0;
    if (c->aborted)
        return 1;
    sock = ap_get_conn_socket(c);
    if (sock && apr_socket_atreadeof(sock, &at_eof) == APR_SUCCESS && at_eof) {
        c->aborted = 1;
        return 1;
    }
    return 0;
}

static int op_can_serve_files(const cb_req *req)
{
    (void)req;
    return 1;
}

static void op_set_content_length(cb_req *req, apr_off_t length)
{
    ap_set_content_length(((apache_req *)req)->r, length);
}

static const cb_req_ops apache_ops = {op_read, op_write, op_flush, op_set_content_type,
                                      op_aborted, op_can_serve_files, op_set_content_length};

/* cb_req_serve_file: hands req->serve_path to the handlers after ours, so
 * httpd's default handler serves it as any static file (Range, ETag,
 * conditional requests, HEAD, sendfile). 404 when it is not a regular
 * file. */
int cb_apache_serve_file(request_rec *r, cb_req *req)
{
    apr_status_t rv = apr_stat(&r->finfo, req->serve_path, APR_FINFO_MIN, r->pool);
    if (rv != APR_SUCCESS || r->finfo.filetype != APR_REG) {
        r->finfo.filetype = APR_NOFILE;
        cb_req_send_error(req, 404, "STORAGE_FILE_NONEXIST", "the object does not exist");
        r->status = req->status;
        return OK;
    }
    r->filename = apr_pstrdup(r->pool, req->serve_path);
    r->path_info = NULL;
    if (req->serve_type)
        ap_set_content_type(r, req->serve_type);
    return DECLINED;
}

cb_req *cb_apache_req_create(request_rec *r, cb_env *env)
{
    apache_req *ar = apr_palloc(r->pool, sizeof(*ar));
    cb_req *req = &ar->req;
    cb_req_init(req, r->pool, env);
    ar->r = r;
    ar->body_setup = 0;
    req->ops = &apache_ops;
    req->host = r;
    req->method = r->method;
    /* The raw path, copied: httpd later decodes its own buffer in place.
     * Percent-escapes stay, so %2F never splits a segment. */
    req->path = apr_pstrdup(r->pool, r->parsed_uri.path ? r->parsed_uri.path : r->uri);
    req->query = r->args ? r->args : "";
    req->client_ip = r->useragent_ip;
    req->scheme = ap_http_scheme(r);
    req->headers_in = r->headers_in;
    /* err_headers_out survives error pages and proxied responses alike. */
    req->headers_out = r->err_headers_out;
    return req;
}

/* cb_log_* lines: a request's against its request_rec (httpd adds the
 * client address), every other one in the main server's error log. */
static void log_request_line(cb_req *req, int level, const char *line)
{
    ap_log_rerror(APLOG_MARK, level, 0, ((apache_req *)req)->r, "%s", line);
}

static void log_process_line(int level, const char *line)
{
    ap_log_error(APLOG_MARK, level, 0, ap_server_conf, "%s", line);
}

void cb_apache_log_register(void)
{
    static const cb_log_host apache_log = {log_request_line, log_process_line};
    cb_log_set_host(&apache_log);
}
