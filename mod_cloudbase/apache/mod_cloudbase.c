/*
 * mod_cloudbase.c: the module record and httpd hooks that drive the
 * host-neutral dispatcher:
 *
 *   post_read_request       match the route; unmatched requests are left
 *                           alone untouched
 *   translate_name (first)  matched requests skip the filesystem
 *   map_to_storage          no <Directory> walk or stat for gateway routes
 *   fixups (first)          allowlist/CORS, identity, policies; proxy routes
 *                           are handed to mod_proxy as mod_rewrite's [P] does
 *   handler "cloudbase"     errors, preflights and plugin handlers
 *   log_transaction         after-response accounting hooks
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include "adapter.h"


static cb_req *req_of(request_rec *r)
{
    return ap_get_module_config(r->request_config, &cloudbase_module);
}

/* Matches as soon as the request is read, before httpd decodes the path,
 * so that a path httpd itself refuses (an encoded NUL, say) is still
 * answered in the route's dialect. */
static int cb_post_read_request(request_rec *r)
{
    cb_server_conf *c = cb_server_conf_get(r->server);
    cb_req *req;
    if (!c->env || r->main || r->prev || r->proxyreq)
        return DECLINED;
    req = cb_apache_req_create(r, c->env);
    if (cb_dispatch_match(req) == CB_DISPATCH_DECLINE)
        return DECLINED;
    ap_set_module_config(r->request_config, &cloudbase_module, req);
    return DECLINED;
}

static int cb_translate(request_rec *r)
{
    cb_req *req = req_of(r);
    if (!req)
        return DECLINED;
    r->filename = apr_pstrcat(r->pool, "cloudbase:", req->path, NULL);
    return OK;
}

static int cb_map_to_storage(request_rec *r)
{
    return req_of(r) ? OK : DECLINED;
}

static int cb_fixups(request_rec *r)
{
    cb_req *req = req_of(r);
    if (!req)
        return DECLINED;
    cb_apache_metering_start(r, req);
    if (cb_dispatch_policies(req) == CB_DISPATCH_PROXY)
        cb_apache_hand_to_proxy(r, req);
    else
        r->handler = CB_HANDLER_NAME;
    cb_apache_metering_watch_usage(r, req);
    return OK;
}

static int cb_handler(request_rec *r)
{
    cb_req *req;
    if (!r->handler || strcmp(r->handler, CB_HANDLER_NAME) != 0 || !(req = req_of(r)))
        return DECLINED;
    if (req->close_connection)
        r->connection->keepalive = AP_CONN_CLOSE; /* also skips discarding the body */
    cb_dispatch_respond(req);
    if (req->serve_path && !req->body_started && req->status == HTTP_OK)
        return cb_apache_serve_file(r, req);
    if (!req->body_started) {
        r->status = req->status;
        return OK;
    }
    /* End the answer and write it now. httpd otherwise keeps a small answer
     * made of memory buckets in the connection's output filter until after
     * it has looked for the client's next request, finds none yet (the
     * client has not had the answer), and hands the connection to the event
     * MPM's listener: an epoll round and a worker wake-up per request, where
     * a static file's answer is written first and the next request is read
     * by the same thread. Ending the stream here (httpd's own
     * ap_finalize_request_protocol, which it skips later as done) and
     * flushing puts the answer on the wire before the request is logged. */
    ap_finalize_request_protocol(r);
    ap_rflush(r);
    return OK;
}

static int cb_log_transaction(request_rec *r)
{
    cb_req *req = req_of(r);
    if (req) {
        req->status = r->status;
        cb_apache_metering_finish(r, req);
        cb_dispatch_after(req);
    }
    return DECLINED;
}

static int cb_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf; (void)plog; (void)ptemp;
    cb_config_reset();
    return OK;
}

static const char *prepare_proxying(apr_pool_t *p, server_rec *main_server)
{
    for (server_rec *s = main_server; s; s = s->next) {
        cb_server_conf *c = cb_server_conf_get(s);
        const char *err;
        if (!c->env || !c->env->has_proxy_routes)
            continue;
        if (!ap_find_linked_module("mod_proxy.c") || !ap_find_linked_module("mod_proxy_http.c"))
            return "proxy routes are configured but mod_proxy/mod_proxy_http are not loaded: "
                   "run 'a2enmod proxy proxy_http'";
        if ((err = cb_apache_define_upstreams(p, s, c->env)))
            return err;
    }
    return NULL;
}

/* Runs in configtest too, so plugin errors fail `apachectl configtest`. */
static int cb_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    const char *err = cb_apache_build_envs(pconf, s);
    (void)plog; (void)ptemp;
    if (!err)
        err = prepare_proxying(pconf, s);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s, APLOGNO(10901)
                     "mod_cloudbase: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* One notice line per start or restart. httpd reads its configuration twice
 * at start-up; the first pass (AP_SQ_MS_CREATE_PRE_CONFIG) stays silent. */
static void log_startup_summary(apr_pool_t *ptemp, server_rec *main_server)
{
    apr_array_header_t *envs = apr_array_make(ptemp, 4, sizeof(cb_env *));
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return;
    for (server_rec *s = main_server; s; s = s->next) {
        cb_server_conf *c = cb_server_conf_get(s);
        if (c->env)
            APR_ARRAY_PUSH(envs, cb_env *) = c->env;
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, main_server, APLOGNO(10905) "%s",
                 cb_startup_summary(ptemp, CB_VERSION, (cb_env *const *)envs->elts,
                                    envs->nelts));
}

static int cb_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    (void)plog;
    log_startup_summary(ptemp, s);
    cb_apache_proxy_hooks_post_config(pconf);
    return cb_apache_tasks_post_config(pconf, s);
}

static void cb_child_init(apr_pool_t *pchild, server_rec *main_server)
{
    for (server_rec *s = main_server; s; s = s->next) {
        cb_server_conf *c = cb_server_conf_get(s);
        const char *err;
        if (!c->env)
            continue;
        if ((err = cb_env_db_child_init(c->env, pchild)))
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "CloudBaseDatabase %s (env %s): %s",
                         c->env->db ? cb_db_get_config(c->env->db)->display : "", c->env->id,
                         err);
        cb_env_child_init(c->env, pchild);
    }
    cb_apache_tasks_child_init(pchild);
}

static void cb_register_hooks(apr_pool_t *p)
{
    static const char *const run_before_rewrite[] = {"mod_rewrite.c", "mod_proxy.c", NULL};
    /* Watchdog instances must exist before mod_watchdog's post_config. */
    static const char *const run_before_watchdog[] = {"mod_watchdog.c", NULL};
    (void)p;
    ap_hook_pre_config(cb_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(cb_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(cb_post_config, NULL, run_before_watchdog, APR_HOOK_LAST);
    ap_hook_child_init(cb_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(cb_post_read_request, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(cb_translate, NULL, run_before_rewrite, APR_HOOK_FIRST);
    ap_hook_map_to_storage(cb_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_fixups(cb_fixups, NULL, run_before_rewrite, APR_HOOK_FIRST);
    ap_hook_handler(cb_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(cb_log_transaction, NULL, NULL, APR_HOOK_MIDDLE);
    cb_apache_tasks_register_hooks();
    cb_apache_proxy_register_hooks();
    cb_apache_metering_register_hooks();
    cb_apache_log_register();
}

AP_DECLARE_MODULE(cloudbase) = {
    STANDARD20_MODULE_STUFF,
    NULL,                   /* per-directory config: the gateway is per server */
    NULL,
    cb_create_server_conf,
    cb_merge_server_conf,
    cb_directives,
    cb_register_hooks,
    0
};
