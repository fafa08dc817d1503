/*
 * proxy_workers.c: pooled upstream connections for proxy routes.
 *
 * Proxy routes hand requests to mod_proxy the way mod_rewrite's [P] does.
 * Without a worker for the upstream, mod_proxy would use its generic worker
 * and open a new connection per request; so for every upstream base URL a
 * plugin declares (cb_ctx_declare_upstream) we define a mod_proxy worker in
 * that virtual host, exactly as a ProxyPass line would, and mod_proxy keeps
 * its keep-alive pool. mod_proxy is a separate module that may be loaded
 * after ours, so its two functions are looked up at run time.
 */
#include <dlfcn.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "mod_proxy.h"
#include "apr_strings.h"

#include "adapter.h"

typedef char *(*define_worker_fn)(apr_pool_t *p, proxy_worker **worker,
                                  proxy_balancer *balancer, proxy_server_conf *conf,
                                  const char *url, int do_malloc);
typedef proxy_worker *(*get_worker_fn)(apr_pool_t *p, proxy_balancer *balancer,
                                       proxy_server_conf *conf, const char *url);

/* The worker's name: the origin itself for plain upstreams (so mod_proxy's
 * own lookup pools cb_req_proxy_to as well), and a private path under it for
 * upstreams with their own timeout or flags, which only our pre_request
 * hook selects. */
static const char *worker_name(apr_pool_t *p, const cb_upstream *up)
{
    if (!up->timeout_ms && !up->flags)
        return up->origin;
    return apr_psprintf(p, "%s/.cloudbase-upstream-%d/", up->origin, up->index);
}

static void apply_upstream_settings(proxy_worker *worker, const cb_upstream *up)
{
    if (up->timeout_ms > 0) {
        worker->s->timeout = apr_time_from_msec(up->timeout_ms);
        worker->s->timeout_set = 1;
        worker->s->conn_timeout = worker->s->timeout;
        worker->s->conn_timeout_set = 1;
    }
    /* A refused connection must not park the upstream for a minute
     * (mod_proxy's default retry): the next request tries again. */
    worker->s->retry = 0;
    worker->s->retry_set = 1;
    if (up->flags & CB_UPSTREAM_WEBSOCKET)
        apr_cpystrn(worker->s->upgrade, "WebSocket", sizeof(worker->s->upgrade));
}

const char *cb_apache_define_upstreams(apr_pool_t *p, server_rec *s, cb_env *env)
{
    module *proxy = ap_find_linked_module("mod_proxy.c");
    cb_server_conf *c = cb_server_conf_get(s);
    define_worker_fn define_worker;
    get_worker_fn get_worker;
    proxy_server_conf *conf;
    c->upstream_workers = NULL;
    if (!env->upstreams->nelts)
        return NULL;
    if (!proxy)
        return "proxy routes are configured but mod_proxy is not loaded: "
               "run 'a2enmod proxy proxy_http'";
    define_worker = (define_worker_fn)dlsym(RTLD_DEFAULT, "ap_proxy_define_worker");
    get_worker = (get_worker_fn)dlsym(RTLD_DEFAULT, "ap_proxy_get_worker");
    if (!define_worker || !get_worker)
        return "this mod_proxy does not export ap_proxy_define_worker";
    conf = ap_get_module_config(s->module_config, proxy);
    c->upstream_workers = apr_array_make(p, env->upstreams->nelts, sizeof(int));
    for (int i = 0; i < env->upstreams->nelts; i++) {
        const cb_upstream *up = APR_ARRAY_IDX(env->upstreams, i, const cb_upstream *);
        const char *name = worker_name(p, up);
        proxy_worker *worker = get_worker(p, NULL, conf, name);
        const char *err;
        if (worker && strcmp(worker->s->name_ex, name) != 0 && (up->timeout_ms || up->flags))
            worker = NULL; /* a broader ProxyPass; ours has its own settings */
        if (!worker) {
            /* Inherits the server's proxy settings, as a ProxyPass line does. */
            if ((err = define_worker(p, &worker, NULL, conf, name, 0)))
                return apr_psprintf(p, "cannot define a proxy worker for %s: %s", name, err);
            PROXY_COPY_CONF_PARAMS(worker, conf);
            apply_upstream_settings(worker, up);
        }
        /* else: the admin's own ProxyPass or <Proxy> for this origin wins. */
        /* Workers live inline in conf->workers, which may grow: keep indexes. */
        APR_ARRAY_PUSH(c->upstream_workers, int) =
            (int)(worker - (proxy_worker *)conf->workers->elts);
    }
    return NULL;
}
