/*
 * dispatch.c: the life of a gateway request, host-neutral.
 *
 *   match (early; unmatched paths fall through to the site)
 *   -> allowlist/CORS (preflights answered here)
 *   -> identity (plugins' identify hooks; the route's auth level enforced)
 *   -> policies (plugins' access_policy hooks: rate limits, quotas, wallet)
 *   -> handler (or, for proxy routes, the host's reverse proxy)
 *   -> after-response accounting
 *
 * The host adapter calls cb_dispatch_match, cb_dispatch_policies,
 * cb_dispatch_respond and cb_dispatch_after at the matching points of its own
 * request cycle.
 */
#include <string.h>

#include <apr_strings.h>

#include "cb_core.h"
#include "ratelimit.h"

#define PREFLIGHT_MAX_AGE "600"
#define EXPOSED_HEADERS "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, " \
                        "Retry-After, Content-Disposition"
#define IDENTITY_HEADER_PREFIX "X-Cloudbase-"

cb_dispatch_action cb_dispatch_match(cb_req *req)
{
    cb_router_match(req->env->router, req->pool, req->method, req->path, &req->match);
    if (req->match.kind == CB_MATCH_NONE)
        return CB_DISPATCH_DECLINE;
    if (!req->started)
        req->started = apr_time_now();
    req->request_id = cb_request_id(req->pool, apr_table_get(req->headers_in, "X-Request-Id"));
    apr_table_setn(req->headers_out, "X-Request-Id", req->request_id);
    return CB_DISPATCH_RESPOND;
}

static int check_origin(cb_req *req)
{
    const char *origin = apr_table_get(req->headers_in, "Origin");
    if (!origin)
        return 1; /* same-origin navigation or server-to-server: route auth decides */
    apr_table_mergen(req->headers_out, "Vary", "Origin");
    if (cb_origin_is_own(req->pool, req->scheme, apr_table_get(req->headers_in, "Host"), origin))
        return 1;
    if (!cb_allowlist_allows(req->env->allowlist, origin)) {
        cb_req_fail(req, 403, "ORIGIN_NOT_ALLOWED",
                    "this origin is not in the environment's secure domains "
                    "(CloudBaseSecureDomains)");
        return 0;
    }
    apr_table_set(req->headers_out, "Access-Control-Allow-Origin", origin);
    apr_table_setn(req->headers_out, "Access-Control-Allow-Credentials", "true");
    apr_table_setn(req->headers_out, "Access-Control-Expose-Headers", EXPOSED_HEADERS);
    return 1;
}

static void prepare_preflight(cb_req *req)
{
    const char *wanted = apr_table_get(req->headers_in, "Access-Control-Request-Headers");
    req->preflight = 1;
    apr_table_setn(req->headers_out, "Allow", req->match.allow);
    if (!apr_table_get(req->headers_in, "Origin") ||
        !apr_table_get(req->headers_in, "Access-Control-Request-Method"))
        return; /* a plain OPTIONS: Allow says it all */
    apr_table_setn(req->headers_out, "Access-Control-Allow-Methods", req->match.allow);
    if (wanted && cb_cors_header_list_ok(wanted))
        apr_table_set(req->headers_out, "Access-Control-Allow-Headers", wanted);
    apr_table_setn(req->headers_out, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
    apr_table_mergen(req->headers_out, "Vary",
                     "Access-Control-Request-Method, Access-Control-Request-Headers");
}

static int credentials_offered(const cb_req *req)
{
    return apr_table_get(req->headers_in, "Authorization") ||
           apr_table_get(req->headers_in, "X-Api-Key");
}

static int level_satisfied(cb_auth_level level, cb_identity_kind kind)
{
    switch (level) {
    case CB_AUTH_NONE: return 1;
    case CB_AUTH_ANY: return kind != CB_IDENTITY_NONE;
    case CB_AUTH_USER:
        return kind == CB_IDENTITY_USER || kind == CB_IDENTITY_KEY || kind == CB_IDENTITY_ADMIN;
    case CB_AUTH_ADMIN: return kind == CB_IDENTITY_ADMIN;
    }
    return 0;
}

cb_status cb_req_require_auth(cb_req *req, cb_auth_level level)
{
    if (level == CB_AUTH_NONE || level_satisfied(level, req->identity.kind))
        return CB_OK;
    if (req->identity.kind == CB_IDENTITY_NONE)
        cb_req_send_error(req, 401, "UNAUTHENTICATED",
                    req->env->identity_hooks->nelts
                        ? "this route needs credentials: send Authorization: Bearer <token>"
                        : "this route needs credentials, but no identity plugin (auth) is "
                          "enabled in this environment");
    else
        cb_req_send_error(req, 403, "PERMISSION_DENIED", "these credentials may not use this route");
    return CB_DONE;
}

static int establish_identity(cb_req *req)
{
    cb_auth_level level = req->match.route->def.auth;
    apr_array_header_t *hooks = req->env->identity_hooks;
    if (level == CB_AUTH_NONE && !credentials_offered(req))
        return 1;
    for (int i = 0; i < hooks->nelts; i++) {
        cb_instance *inst = APR_ARRAY_IDX(hooks, i, cb_instance *);
        cb_identity id;
        cb_status rc;
        memset(&id, 0, sizeof(id));
        req->active = inst;
        rc = inst->plugin->desc->identify(req, inst->state, &id);
        req->active = NULL;
        if (rc == CB_ERROR || rc == CB_DONE) {
            if (!req->error_status)
                cb_req_fail(req, 401, "UNAUTHENTICATED", "the credentials are not valid");
            return 0;
        }
        if (rc == CB_OK) {
            req->identity = id;
            break;
        }
    }
    return cb_req_require_auth(req, level) == CB_OK;
}

static int run_policies(cb_req *req)
{
    apr_array_header_t *hooks = req->env->policy_hooks;
    if (req->env->ratelimit && !cb_ratelimit_check(req))
        return 0;
    for (int i = 0; i < hooks->nelts; i++) {
        cb_instance *inst = APR_ARRAY_IDX(hooks, i, cb_instance *);
        cb_status rc;
        req->active = inst;
        rc = inst->plugin->desc->access_policy(req, inst->state);
        req->active = NULL;
        if (rc == CB_ERROR || rc == CB_DONE) {
            if (!req->error_status)
                cb_req_fail(req, 403, "PERMISSION_DENIED", "refused by policy");
            return 0;
        }
    }
    return 1;
}

/* Identity and request id travel to upstreams as headers; client-sent
 * copies are always removed first so nobody can claim another identity,
 * under any spelling an upstream might fold into the same name
 * (X_Cloudbase_Uid). Names the gateway sets are removed the same way when
 * the host applies them (cb_req_apply_upstream_headers). */
static void prepare_upstream_headers(cb_req *req)
{
    const apr_array_header_t *arr = apr_table_elts(req->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    for (int i = 0; i < arr->nelts; i++)
        if (e[i].key && cb_header_name_has_prefix(e[i].key, IDENTITY_HEADER_PREFIX))
            cb_req_unset_upstream_header(req, e[i].key);
    cb_req_set_upstream_header(req, "X-Request-Id", req->request_id);
    cb_req_set_upstream_header(req, "X-Cloudbase-Env", req->env->id ? req->env->id : "");
    if (req->identity.kind != CB_IDENTITY_NONE && req->identity.uid)
        cb_req_set_upstream_header(req, "X-Cloudbase-Uid", req->identity.uid);
}

/* Absent, or "chunked" alone: the only framings every path of the gateway
 * (its own body reader, the body replay, mod_proxy's streaming) handles.
 * httpd itself lets "chunked, chunked" or "identity, chunked" through. */
static int transfer_encoding_supported(const char *te)
{
    return !te || strcasecmp(te, "chunked") == 0;
}

/* The route's handler, as its plugin instance (for its data slot). */
static cb_status run_handler(cb_req *req)
{
    const cb_instance *inst = req->match.route->instance;
    cb_status rc;
    req->active = inst;
    rc = req->match.route->def.handler(req, inst ? inst->state : NULL);
    req->active = NULL;
    return rc;
}

cb_dispatch_action cb_dispatch_policies(cb_req *req)
{
    if (!transfer_encoding_supported(apr_table_get(req->headers_in, "Transfer-Encoding"))) {
        /* The body's framing is unknown, so the connection cannot be reused. */
        req->close_connection = 1;
        cb_req_fail(req, 400, "INVALID_REQUEST",
                    "Transfer-Encoding must be absent or exactly \"chunked\"");
        return CB_DISPATCH_RESPOND;
    }
    if (!check_origin(req))
        return CB_DISPATCH_RESPOND;
    if (req->match.kind == CB_MATCH_NOT_FOUND) {
        cb_req_fail(req, 404, "RESOURCE_NOT_FOUND", "no such gateway route");
        return CB_DISPATCH_RESPOND;
    }
    if (strcmp(req->method, "OPTIONS") == 0 &&
        (req->match.kind == CB_MATCH_NO_METHOD ||
         apr_table_get(req->headers_in, "Access-Control-Request-Method"))) {
        prepare_preflight(req);
        return CB_DISPATCH_RESPOND;
    }
    if (req->match.kind == CB_MATCH_NO_METHOD) {
        apr_table_setn(req->headers_out, "Allow", req->match.allow);
        cb_req_fail(req, 405, "METHOD_NOT_ALLOWED",
                    apr_pstrcat(req->pool, "this route accepts ", req->match.allow, NULL));
        return CB_DISPATCH_RESPOND;
    }
    if (!establish_identity(req) || !run_policies(req))
        return CB_DISPATCH_RESPOND;
    if (!(req->match.route->def.flags & CB_ROUTE_PROXY))
        return CB_DISPATCH_RESPOND;
    prepare_upstream_headers(req);
    if (run_handler(req) != CB_OK || !req->proxy_url) {
        if (!req->error_status)
            cb_req_fail(req, 500, "SYS_ERR", "this route has no destination configured");
        return CB_DISPATCH_RESPOND;
    }
    return CB_DISPATCH_PROXY;
}

int cb_dispatch_respond(cb_req *req)
{
    cb_status rc;
    req->in_content_phase = 1;
    if (req->error_status) {
        cb_req_send_error(req, req->error_status, req->error_code, req->error_message);
        return req->status;
    }
    if (req->preflight) {
        req->status = 204;
        return req->status;
    }
    rc = run_handler(req);
    if (rc == CB_ERROR && !req->body_started)
        cb_req_send_error(req, req->error_status ? req->error_status : 500,
                          req->error_code ? req->error_code : "SYS_ERR",
                          req->error_message ? req->error_message : "the gateway failed to answer");
    return req->status;
}

void cb_dispatch_after(cb_req *req)
{
    apr_array_header_t *hooks = req->env->after_hooks;
    cb_req_finish_record(req);
    for (int i = 0; i < hooks->nelts; i++) {
        cb_instance *inst = APR_ARRAY_IDX(hooks, i, cb_instance *);
        req->active = inst;
        inst->plugin->desc->after_response(req, inst->state, &req->record);
    }
    req->active = NULL;
}
