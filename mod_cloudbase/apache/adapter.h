/*
 * adapter.h: what the Apache adapter's files share: the per-server
 * configuration, the module record, and the entry points of config.c,
 * request_ops.c and tasks.c.
 */
#ifndef CB_APACHE_ADAPTER_H
#define CB_APACHE_ADAPTER_H

#include "httpd.h"
#include "http_config.h"
#include "util_filter.h"

#include "../core/cb_core.h"
#include "../core/db_internal.h"

/* The module is built with -fvisibility=hidden: httpd finds the module
 * record by name, so it is exported like the public API. */
extern module CB_API AP_MODULE_DECLARE_DATA cloudbase_module;

#define CB_HANDLER_NAME "cloudbase"
#define CB_DEFAULT_HEALTH_PATH "/health"

typedef struct cb_server_conf {
    const char *env_id;             /* CloudBaseEnv; the gateway is off without it */
    const char *health_path;        /* NULL = inherit; "" = off */
    cb_redis_config redis_cfg;
    int redis_set;
    cb_db_config db_cfg;            /* CloudBaseDatabase */
    int db_set;
    cb_allowlist *allowlist;        /* NULL = inherit */
    apr_array_header_t *instances;  /* cb_instance *, from <CloudBasePlugin> */
    apr_array_header_t *rate_rules; /* cb_rl_rule, CloudBaseRateLimit; NULL = inherit */
    int node_count;                 /* CloudBaseNodeCount; 0 = inherit (1) */
    cb_env *env;                    /* built by cb_apache_build_envs */
    apr_array_header_t *upstream_workers; /* int: mod_proxy worker index per upstream */
} cb_server_conf;

static inline cb_server_conf *cb_server_conf_get(server_rec *s)
{
    return ap_get_module_config(s->module_config, &cloudbase_module);
}

/* config.c */
extern const command_rec cb_directives[];
void *cb_create_server_conf(apr_pool_t *p, server_rec *s);
void *cb_merge_server_conf(apr_pool_t *p, void *base, void *add);
void cb_config_reset(void);
/* Builds one cb_env per server with CloudBaseEnv; returns an error. */
const char *cb_apache_build_envs(apr_pool_t *p, server_rec *main_server);

/* request_ops.c */
cb_req *cb_apache_req_create(request_rec *r, cb_env *env);
/* cb_req_serve_file: lets httpd's default handler serve req->serve_path;
 * returns what the handler hook returns. */
int cb_apache_serve_file(request_rec *r, cb_req *req);
/* Sends cb_log_* lines to the error log (ap_log_rerror / ap_log_error). */
void cb_apache_log_register(void);

/* proxy_workers.c: defines pooled mod_proxy workers for declared upstreams. */
const char *cb_apache_define_upstreams(apr_pool_t *p, server_rec *s, cb_env *env);

/* proxy_handoff.c: the hand-off to mod_proxy and the filters around it. */
void cb_apache_hand_to_proxy(request_rec *r, cb_req *req);
void cb_apache_proxy_register_hooks(void);
void cb_apache_proxy_hooks_post_config(apr_pool_t *pconf);

/* metering.c: bytes in and out and the start time for the response record. */
void cb_apache_metering_start(request_rec *r, cb_req *req);
void cb_apache_metering_finish(request_rec *r, cb_req *req);
/* After the policies: when one asked for the answer's token usage, an
 * output filter feeds every piece of the answer to the scanner as it
 * passes. */
void cb_apache_metering_watch_usage(request_rec *r, cb_req *req);
/* The body was read whole by a plugin: its replay is not counted again. */
void cb_apache_metering_body_was_read(request_rec *r);
void cb_apache_metering_register_hooks(void);
/* For input filters that count the body: reads from the next filter and
 * adds the body bytes that arrived to *seen (metering, the body cap). */
apr_status_t cb_apache_read_counted(ap_filter_t *f, apr_bucket_brigade *bb,
                                    ap_input_mode_t mode, apr_read_type_e block,
                                    apr_off_t readbytes, apr_off_t *seen);

/* tasks.c */
void cb_apache_tasks_register_hooks(void);
int cb_apache_tasks_post_config(apr_pool_t *p, server_rec *main_server);
/* Last in child init: stops the task threads before the services they use. */
void cb_apache_tasks_child_init(apr_pool_t *pchild);

#endif
