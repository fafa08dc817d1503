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

const char *cb_apache_define_upstreams(apr_pool_t *p, server_rec *s, cb_env *env)
{
    module *proxy = ap_find_linked_module("mod_proxy.c");
    define_worker_fn define_worker;
    get_worker_fn get_worker;
    proxy_server_conf *conf;
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
    for (int i = 0; i < env->upstreams->nelts; i++) {
        const char *url = APR_ARRAY_IDX(env->upstreams, i, const char *);
        proxy_worker *worker;
        const char *err;
        if (get_worker(p, NULL, conf, url))
            continue; /* the admin's own ProxyPass or <Proxy> wins */
        if ((err = define_worker(p, &worker, NULL, conf, url, 0)))
            return apr_psprintf(p, "cannot define a proxy worker for %s: %s", url, err);
        /* What ProxyPass does: inherit the server's proxy settings. */
        PROXY_COPY_CONF_PARAMS(worker, conf);
    }
    return NULL;
}
