/*
 * proxy_handoff.c: handing a proxy route's request to mod_proxy, and what
 * the gateway adds around it:
 *
 *   - the hand-off itself, as mod_rewrite's [P] does (proxy: filename);
 *   - a mod_proxy pre_request hook that gives mod_proxy the worker of the
 *     route's upstream directly, so the cost does not grow with the number
 *     of upstreams (mod_proxy's own lookup walks every worker);
 *   - a body that a plugin read before the hand-off is replayed upstream,
 *     and a cap on a body streamed upstream (413 past it);
 *   - headers the gateway answers itself (X-Request-Id, RateLimit-*, CORS)
 *     win over an upstream's copies, which would otherwise be doubled;
 *   - Content-Disposition: attachment on answers a plugin asked it for;
 *   - errors httpd itself produces for a gateway request (an upstream that
 *     refuses or times out, a body too large) rewritten as JSON in the
 *     route's dialect instead of httpd's HTML page.
 */
#include <dlfcn.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_proxy.h"
#include "util_filter.h"
#include "apr_strings.h"

#include "adapter.h"

#define BODY_REPLAY_FILTER "CB_BODY_REPLAY"
#define BODY_LIMIT_FILTER "CB_BODY_LIMIT"
#define ANSWER_FILTER "CB_PROXY_ANSWER"
#define ERROR_FILTER "CB_ERROR_JSON"

/* Registered once; adding by handle skips a lookup by name per request. */
static ap_filter_rec_t *body_replay_handle, *body_limit_handle, *answer_handle, *error_handle;

static cb_req *req_of(request_rec *r)
{
    return ap_get_module_config(r->request_config, &cloudbase_module);
}

/* ----------------------------------------------------------- body replay */

typedef struct replay_ctx {
    const char *data;
    apr_size_t left;
} replay_ctx;

static apr_status_t body_replay_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                       ap_input_mode_t mode, apr_read_type_e block,
                                       apr_off_t readbytes)
{
    replay_ctx *ctx = f->ctx;
    apr_size_t n;
    (void)block;
    if (mode != AP_MODE_READBYTES && mode != AP_MODE_SPECULATIVE)
        return mode == AP_MODE_GETLINE && ctx->left == 0 ? APR_EOF : APR_ENOTIMPL;
    if (ctx->left == 0) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
        return APR_SUCCESS;
    }
    n = readbytes > 0 && (apr_size_t)readbytes < ctx->left ? (apr_size_t)readbytes : ctx->left;
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(ctx->data, n, f->c->bucket_alloc));
    if (mode == AP_MODE_READBYTES) {
        ctx->data += n;
        ctx->left -= n;
    }
    return APR_SUCCESS;
}

/* ----------------------------------------------------------- body cap */

typedef struct limit_ctx {
    apr_off_t limit, seen;
} limit_ctx;

static apr_status_t body_limit_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                      ap_input_mode_t mode, apr_read_type_e block,
                                      apr_off_t readbytes)
{
    limit_ctx *ctx = f->ctx;
    apr_status_t rv = cb_apache_read_counted(f, bb, mode, block, readbytes, &ctx->seen);
    if (rv != APR_SUCCESS || mode != AP_MODE_READBYTES)
        return rv;
    if (ctx->seen > ctx->limit) {
        apr_brigade_cleanup(bb);
        return APR_ENOSPC; /* mod_proxy answers 413 */
    }
    return APR_SUCCESS;
}

/* ----------------------------------------------------------- the answer */

/* Edits the headers once, on the first part of the answer, and flushes
 * the end of it. Nothing is held back, so streams flow as they arrive.
 *
 * The flush: mod_proxy ends a small answer with its data and EOS but no
 * FLUSH, so httpd holds it in the connection's output filter until after
 * it has looked for the client's next request, finds none (the client has
 * not had the answer), and hands the connection to the event MPM's
 * listener: an epoll round and a worker wake-up per request. A FLUSH
 * before EOS puts the answer on the wire first, as the handler does for
 * the gateway's own answers (mod_cloudbase.c, cb_handler). */
static apr_status_t answer_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    cb_req *req = f->ctx;
    const char *const *owned = cb_gateway_answer_headers();
    apr_bucket *b;
    if (!req->upstream_first_byte) {
        /* mod_proxy passes the answer on once the upstream's headers are
         * in: the upstream's time to first byte (or to its failure). */
        req->upstream_first_byte = apr_time_now();
        if (!apr_is_empty_table(r->err_headers_out))
            for (int i = 0; owned[i]; i++)
                if (apr_table_get(r->err_headers_out, owned[i]))
                    apr_table_unset(r->headers_out, owned[i]);
        if (cb_proxy_answer_is_attachment(req->proxy_flags, r->status, r->method,
                                          r->content_type))
            apr_table_setn(r->headers_out, "Content-Disposition", "attachment");
    }
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b))
        if (APR_BUCKET_IS_EOS(b)) {
            if (b == APR_BRIGADE_FIRST(bb) || !APR_BUCKET_IS_FLUSH(APR_BUCKET_PREV(b)))
                APR_BUCKET_INSERT_BEFORE(b, apr_bucket_flush_create(f->c->bucket_alloc));
            ap_remove_output_filter(f);
            break;
        }
    return ap_pass_brigade(f->next, bb);
}

/* ----------------------------------------------------------- hand-off */

void cb_apache_hand_to_proxy(request_rec *r, cb_req *req)
{
    const char *query = strchr(req->proxy_url, '?');
    cb_req_apply_upstream_headers(req, r->headers_in);
    /* As mod_rewrite does: the query travels in r->args, and the URL the
     * plugin built is sent verbatim (no re-encoding of the client's path). */
    r->filename = apr_pstrcat(r->pool, "proxy:",
                              query ? apr_pstrmemdup(r->pool, req->proxy_url,
                                                     (apr_size_t)(query - req->proxy_url))
                                    : req->proxy_url, NULL);
    r->args = query && query[1] ? apr_pstrdup(r->pool, query + 1) : NULL;
    apr_table_setn(r->notes, "proxy-noencode", "1");
    r->proxyreq = PROXYREQ_REVERSE;
    r->handler = "proxy-server";

    if (req->body_read) {
        replay_ctx *ctx = apr_palloc(r->pool, sizeof(*ctx));
        ctx->data = req->body;
        ctx->left = req->body_len;
        apr_table_unset(r->headers_in, "Transfer-Encoding");
        apr_table_setn(r->headers_in, "Content-Length",
                       apr_off_t_toa(r->pool, (apr_off_t)req->body_len));
        ap_add_input_filter_handle(body_replay_handle, ctx, r, r->connection);
        cb_apache_metering_body_was_read(r);
    }
    else if (req->proxy_body_limit > 0) {
        limit_ctx *ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        ctx->limit = (apr_off_t)req->proxy_body_limit;
        ap_add_input_filter_handle(body_limit_handle, ctx, r, r->connection);
    }
    ap_add_output_filter_handle(answer_handle, req, r, r->connection);
    req->upstream_sent = apr_time_now();
}

/* ----------------------------------------------------------- worker choice */

/* mod_proxy's pre_request hook: the route's upstream names its worker. */
static int pick_worker(proxy_worker **worker, proxy_balancer **balancer, request_rec *r,
                       proxy_server_conf *conf, char **url)
{
    cb_req *req = req_of(r);
    cb_server_conf *c;
    proxy_worker *w;
    int idx;
    (void)url;
    if (!req || !req->upstream || *worker || *balancer)
        return DECLINED;
    c = cb_server_conf_get(r->server);
    if (!c->upstream_workers || req->upstream->index >= c->upstream_workers->nelts)
        return DECLINED;
    idx = APR_ARRAY_IDX(c->upstream_workers, req->upstream->index, int);
    if (idx < 0 || idx >= conf->workers->nelts)
        return DECLINED;
    w = &((proxy_worker *)conf->workers->elts)[idx];
    *worker = w;
    return OK;
}

typedef void (*pre_request_hook_fn)(int (*pf)(proxy_worker **, proxy_balancer **,
                                              request_rec *, proxy_server_conf *, char **),
                                    const char *const *pre, const char *const *succ,
                                    int order);

static int hook_registered;

static apr_status_t reset_hook_flag(void *unused)
{
    (void)unused;
    hook_registered = 0;
    return APR_SUCCESS;
}

/* mod_proxy may be loaded after us, so its hook is registered once its
 * symbol exists: after the configuration is read. httpd drops every hook
 * on restart; the flag is reset with the configuration pool. */
void cb_apache_proxy_hooks_post_config(apr_pool_t *pconf)
{
    pre_request_hook_fn hook;
    if (hook_registered)
        return;
    hook = (pre_request_hook_fn)dlsym(RTLD_DEFAULT, "proxy_hook_pre_request");
    if (!hook)
        return; /* no mod_proxy: there are no proxy routes either */
    hook(pick_worker, NULL, NULL, APR_HOOK_FIRST);
    hook_registered = 1;
    apr_pool_cleanup_register(pconf, NULL, reset_hook_flag, apr_pool_cleanup_null);
}

/* ----------------------------------------------------------- errors */

/* The facts httpd has about an error it made for a gateway request. */
static cb_host_error describe_error(request_rec *r, cb_req *req)
{
    cb_host_error_facts f;
    f.status = r->status;
    f.proxied = r->proxyreq == PROXYREQ_REVERSE;
    /* mod_proxy_http answers 502 to a read timeout, and notes why. */
    f.upstream_timed_out = apr_table_get(r->notes, "proxy_timedout") != NULL;
    f.upstream_timeout_ms = req->upstream ? req->upstream->timeout_ms : 0;
    f.body_limit = req->proxy_body_limit;
    f.path = req->path;
    return cb_describe_host_error(r->pool, &f);
}

/* Replaces the body of an httpd-made error page with the route's dialect. */
static apr_status_t error_json_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    cb_req *req = req_of(r);
    cb_host_error e;
    const char *body;
    apr_bucket *b;
    int saw_eos = 0;
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b))
        if (APR_BUCKET_IS_EOS(b))
            saw_eos = 1;
    apr_brigade_cleanup(bb);
    if (!saw_eos)
        return APR_SUCCESS; /* httpd's HTML is dropped as it comes */
    e = describe_error(r, req);
    r->status = e.status;
    r->status_line = NULL;
    body = cb_error_body(r->pool, req->match.route ? req->match.route->def.dialect
                                                   : CB_DIALECT_CLOUDBASE,
                         e.status, e.code, e.message, req->request_id);
    ap_set_content_type(r, "application/json; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)strlen(body));
    ap_remove_output_filter(f);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(body, strlen(body),
                                                           f->c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    return ap_pass_brigade(f->next, bb);
}

/* A request httpd refused while reading it (a bad header line, a request
 * line too long or malformed) never reached post_read_request: match it
 * now, so that a gateway path still gets its error in the route's dialect,
 * with a request id. *path_known tells whether there was a path to match. */
static cb_req *match_late(request_rec *r, cb_server_conf *c, int *path_known)
{
    const char *method = r->method, *path = r->parsed_uri.path;
    cb_req *req;
    *path_known = 1;
    if (!method || !path) {
        *path_known = cb_request_line_target(r->pool, r->the_request, &method, &path);
        if (!*path_known)
            return NULL;
    }
    req = cb_apache_req_create(r, c->env);
    req->method = method;
    req->path = path;
    if (cb_dispatch_match(req) == CB_DISPATCH_DECLINE)
        return NULL;
    ap_set_module_config(r->request_config, &cloudbase_module, req);
    return req;
}

static void insert_error_filter(request_rec *r)
{
    cb_req *req = req_of(r);
    if (!req) {
        cb_server_conf *c = cb_server_conf_get(r->server);
        int path_known;
        if (!c->env || r->main || r->prev)
            return;
        req = match_late(r, c, &path_known);
        /* No path at all (the line was garbage): it may have been meant for
         * the gateway, so the answer carries an id, but httpd's page stays,
         * as nothing says which dialect the client speaks. */
        if (!req && !path_known)
            apr_table_setn(r->err_headers_out, "X-Request-Id", cb_request_id(r->pool, NULL));
    }
    if (!req || r->header_only)
        return;
    ap_add_output_filter_handle(error_handle, NULL, r, r->connection);
}

void cb_apache_proxy_register_hooks(void)
{
    body_replay_handle = ap_register_input_filter(BODY_REPLAY_FILTER, body_replay_filter, NULL,
                                                  AP_FTYPE_RESOURCE);
    body_limit_handle = ap_register_input_filter(BODY_LIMIT_FILTER, body_limit_filter, NULL,
                                                 AP_FTYPE_RESOURCE);
    answer_handle = ap_register_output_filter(ANSWER_FILTER, answer_filter, NULL,
                                              AP_FTYPE_CONTENT_SET);
    error_handle = ap_register_output_filter(ERROR_FILTER, error_json_filter, NULL,
                                             AP_FTYPE_CONTENT_SET);
    ap_hook_insert_error_filter(insert_error_filter, NULL, NULL, APR_HOOK_MIDDLE);
}
