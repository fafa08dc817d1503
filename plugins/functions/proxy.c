/*
 * proxy.c: the functions plugin's proxy routes for functions
 * (POST /v1/functions/{name}), Cloud Run services
 * (METHOD /v1/cloudrun/{name}/{path*}) and HTTP access routes (a configured
 * prefix -> a function or service). Each handler picks the service, checks
 * what must be checked before anything is sent upstream (name, version,
 * auth level, body, path, concurrency), and hands the request to the host's
 * reverse proxy, which streams the answer back untouched.
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "cloudbase/json_scan.h"
#include "functions.h"

/* ------------------------------------------------------------ concurrency */

static apr_status_t release_slot(void *counter)
{
    apr_atomic_dec32(counter);
    return APR_SUCCESS;
}

/* One in-flight slot of the service, given back with the request pool. */
static int take_slot(cb_req *req, const fn_service *svc)
{
    if (!svc->in_flight)
        return 1;
    if (apr_atomic_inc32(svc->in_flight) >= (apr_uint32_t)svc->max_concurrency) {
        apr_atomic_dec32(svc->in_flight);
        return 0;
    }
    apr_pool_cleanup_register(cb_req_pool(req), svc->in_flight, release_slot,
                              apr_pool_cleanup_null);
    return 1;
}

/* ------------------------------------------------------------ forwarding */

static const char *service_label(const fn_service *svc)
{
    switch (svc->kind) {
    case FN_FUNCTION: return "function";
    case FN_CLOUDRUN: return "service";
    case FN_AI_PROVIDER: return "AI provider";
    case FN_AGENT: return "agent";
    }
    return "service";
}

cb_status fn_forward(cb_req *req, fn_state *st, const fn_service *svc, const char *url,
                     unsigned how)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *declared = cb_req_header(req, "Content-Length");
    cb_status rc;
    if (!(how & FN_AUTH_CHECKED) && (rc = cb_req_require_auth(req, svc->auth)) != CB_OK)
        return rc;
    if (declared && svc->max_body > 0 && apr_atoi64(declared) > svc->max_body)
        return cb_req_send_error(req, 413, "PAYLOAD_TOO_LARGE",
                                 apr_psprintf(p, "request body is larger than the %s's limit "
                                              "of %" APR_INT64_T_FMT " bytes",
                                              service_label(svc), svc->max_body));
    if (how & FN_JSON_OBJECT) {
        const char *body;
        size_t len;
        if (cb_req_read_body(req, (size_t)svc->max_body, &body, &len) != CB_OK)
            return CB_DONE; /* 413 or 400 recorded */
        if (len > 0 && !cb_json_scan_object(body, len, NULL))
            return cb_req_send_error(req, 400, "FUNCTION_PARAM_INVALID",
                                     "the request body must be a JSON object");
    }
    else if (svc->max_body > 0)
        cb_req_proxy_limit_body(req, svc->max_body);
    if (!take_slot(req, svc))
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 apr_psprintf(p, "%s %s is at its limit of %" APR_INT64_T_FMT
                                              " concurrent requests; retry shortly",
                                              service_label(svc), svc->name,
                                              svc->max_concurrency));
    /* The gateway verified these; the upstream gets X-Cloudbase-* instead. */
    if (st->strip_credentials && cb_req_identity(req)->kind != CB_IDENTITY_NONE) {
        cb_req_unset_upstream_header(req, "Authorization");
        cb_req_unset_upstream_header(req, "X-Api-Key");
    }
    cb_req_proxy_via(req, svc->upstream, url);
    return CB_OK;
}

const fn_service *fn_find(cb_req *req, apr_hash_t *table, const char *name, const char *key,
                          const char *label)
{
    apr_pool_t *p = cb_req_pool(req);
    const fn_service *svc;
    if (!fn_name_is_valid(name)) {
        cb_req_send_error(req, 400, "INVALID_PARAM",
                          apr_pstrcat(p, "a ", label, " name has 2-60 letters, digits, '_' and "
                                      "'-', starts with a letter and ends with a letter "
                                      "or digit", NULL));
        return NULL;
    }
    svc = apr_hash_get(table, key ? key : name, APR_HASH_KEY_STRING);
    if (!svc)
        cb_req_send_error(req, 404, "SERVICE_NOT_FOUND",
                          apr_psprintf(p, "%s %s%s%s is not configured", label, name,
                                       key ? " version " : "",
                                       key ? strchr(key, '@') + 1 : ""));
    return svc;
}

/* A path tail that may go upstream; else 400 recorded. */
static int safe_tail(cb_req *req, const char *rest)
{
    if (fn_path_is_safe(rest))
        return 1;
    cb_req_send_error(req, 400, "INVALID_PARAM",
                      "the path must not contain '.' or '..' segments, encoded slashes or "
                      "control characters");
    return 0;
}

/* ------------------------------------------------------------ functions */

cb_status fn_call_function(cb_req *req, void *state)
{
    fn_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *name = cb_req_param(req, "name");
    const char *qualifier = cb_req_header(req, "X-Qualifier");
    const char *webfn = cb_req_header(req, "X-Tcb-Webfn");
    const fn_service *fn;
    int is_web;
    if (qualifier && !fn_qualifier_is_valid(qualifier))
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "X-Qualifier takes 1-64 of letters, digits, '_', '.', '$' "
                                 "and '-'");
    fn = fn_find(req, st->functions, name,
                 qualifier ? apr_pstrcat(p, name, "@", qualifier, NULL) : NULL, "function");
    if (!fn)
        return CB_DONE;
    is_web = (webfn && strcasecmp(webfn, "true") == 0) || fn_query_has_webfn(cb_req_query(req));
    return fn_forward(req, st, fn, fn_url_with_query(p, fn->url, cb_req_query(req)),
                      is_web ? 0 : FN_JSON_OBJECT);
}

/* ------------------------------------------------------------ Cloud Run */

cb_status fn_call_cloudrun(cb_req *req, void *state)
{
    fn_state *st = state;
    const char *name = cb_req_param(req, "name");
    const char *rest = cb_req_param(req, "path");
    const fn_service *svc = fn_find(req, st->cloudruns, name, NULL, "service");
    if (!svc || !safe_tail(req, rest))
        return CB_DONE;
    if (svc->attachment)
        cb_req_proxy_flags(req, CB_PROXY_ATTACHMENT);
    return fn_forward(req, st, svc, fn_url_join(cb_req_pool(req), svc->url, rest, cb_req_query(req)),
                      0);
}

/* ------------------------------------------------------------ HTTP access */

cb_status fn_call_http_route(cb_req *req, void *state)
{
    fn_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *path = cb_req_path(req);
    const char *rest = cb_req_param(req, "path");
    size_t prefix_len = strlen(path);
    const fn_http_route *route;
    cb_status rc;
    /* The route matched PREFIX or PREFIX/{path*}: the prefix is what is left
     * once the tail is taken off. */
    if (rest) {
        size_t tail = strlen(rest) + 1;
        prefix_len = prefix_len >= tail ? prefix_len - tail : 0;
    }
    while (prefix_len > 1 && path[prefix_len - 1] == '/')
        prefix_len--;
    route = apr_hash_get(st->http_routes, path, (apr_ssize_t)prefix_len);
    if (!route)
        return cb_req_send_error(req, 404, "SERVICE_NOT_FOUND", "no HTTP access route here");
    if (!safe_tail(req, rest))
        return CB_DONE;
    /* The route's auth switch replaces the target's own level. */
    if ((rc = cb_req_require_auth(req, route->auth)) != CB_OK)
        return rc;
    if (route->target->kind == FN_CLOUDRUN && route->target->attachment)
        cb_req_proxy_flags(req, CB_PROXY_ATTACHMENT);
    return fn_forward(req, st, route->target,
                      route->pass_path ? fn_url_join(p, route->target->url, rest, cb_req_query(req))
                                       : fn_url_with_query(p, route->target->url, cb_req_query(req)),
                      FN_AUTH_CHECKED);
}
