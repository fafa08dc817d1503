/*
 * env.c: an environment (one virtual host) at start-up: runs each plugin
 * instance's create(), builds the router from core and plugin routes,
 * precomputes which instances have phase hooks, and collects background
 * tasks. Also the cb_ctx_* functions plugins call from create().
 */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

#include "cb_core.h"

const cb_options *cb_ctx_options(const cb_plugin_ctx *ctx) { return ctx->instance->options; }
apr_pool_t *cb_ctx_pool(const cb_plugin_ctx *ctx) { return ctx->pool; }
const char *cb_ctx_env(const cb_plugin_ctx *ctx) { return ctx->instance->env->id; }
cb_redis *cb_ctx_redis(const cb_plugin_ctx *ctx) { return ctx->instance->env->redis; }

void cb_ctx_error(cb_plugin_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    APR_ARRAY_PUSH(ctx->errors, const char *) = apr_pvsprintf(ctx->pool, fmt, ap);
    va_end(ap);
}

void cb_ctx_add_route(cb_plugin_ctx *ctx, const cb_route_def *route)
{
    cb_instance *inst = ctx->instance;
    cb_route_def *copy;
    if (!inst->extra_routes)
        inst->extra_routes = apr_array_make(ctx->pool, 8, sizeof(cb_route_def));
    copy = apr_array_push(inst->extra_routes);
    *copy = *route;
    copy->method = apr_pstrdup(ctx->pool, route->method);
    copy->pattern = apr_pstrdup(ctx->pool, route->pattern);
}

void cb_ctx_declare_upstream(cb_plugin_ctx *ctx, const char *base_url)
{
    cb_env *env = ctx->instance->env;
    for (int i = 0; i < env->upstreams->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(env->upstreams, i, const char *), base_url) == 0)
            return;
    APR_ARRAY_PUSH(env->upstreams, const char *) = apr_pstrdup(ctx->pool, base_url);
}

void cb_ctx_add_task(cb_plugin_ctx *ctx, const char *name, apr_interval_time_t interval,
                     cb_task_fn fn)
{
    cb_task *t = apr_array_push(ctx->tasks);
    t->name = apr_pstrdup(ctx->pool, name);
    t->interval = interval;
    t->fn = fn;
    t->instance = ctx->instance;
}

static const char *add_routes(cb_env *env, apr_pool_t *p, cb_instance *inst,
                              const cb_route_def *routes, int count)
{
    for (int i = 0; count < 0 ? routes[i].pattern != NULL : i < count; i++) {
        const char *err = cb_router_add(env->router, &routes[i], inst);
        if (routes[i].flags & CB_ROUTE_PROXY)
            env->has_proxy_routes = 1;
        if (err)
            return apr_psprintf(p, "plugin %s: %s", inst->plugin->desc->name, err);
    }
    return NULL;
}

const char *cb_env_build(cb_env *env, apr_pool_t *p)
{
    const char *errors = NULL;
    env->router = cb_router_create(p);
    env->policy_hooks = apr_array_make(p, 2, sizeof(cb_instance *));
    env->identity_hooks = apr_array_make(p, 2, sizeof(cb_instance *));
    env->after_hooks = apr_array_make(p, 2, sizeof(cb_instance *));
    env->tasks = apr_array_make(p, 2, sizeof(cb_task));
    env->upstreams = apr_array_make(p, 2, sizeof(const char *));
    if (!env->allowlist)
        env->allowlist = cb_allowlist_create(p);
    if (env->health_path && *env->health_path) {
        static const cb_route_def health = {"GET", NULL, cb_health_handler, CB_AUTH_NONE,
                                            CB_DIALECT_CLOUDBASE, 0};
        cb_route_def route = health;
        const char *err;
        route.pattern = env->health_path;
        if ((err = cb_router_add(env->router, &route, NULL)))
            return apr_pstrcat(p, "CloudBaseHealthPath: ", err, NULL);
    }

    for (int i = 0; env->instances && i < env->instances->nelts; i++) {
        cb_instance *inst = APR_ARRAY_IDX(env->instances, i, cb_instance *);
        const cb_plugin *desc = inst->plugin->desc;
        cb_plugin_ctx ctx;
        const char *err;
        inst->env = env;
        ctx.instance = inst;
        ctx.pool = p;
        ctx.errors = apr_array_make(p, 1, sizeof(const char *));
        ctx.tasks = env->tasks;
        if (desc->create && desc->create(&ctx, &inst->state) != CB_OK && !ctx.errors->nelts)
            cb_ctx_error(&ctx, "create() failed");
        for (int e = 0; e < ctx.errors->nelts; e++) {
            const char *msg = apr_psprintf(p, "%s:%d: plugin %s: %s", inst->config_file,
                                           inst->config_line, desc->name,
                                           APR_ARRAY_IDX(ctx.errors, e, const char *));
            errors = errors ? apr_pstrcat(p, errors, "; ", msg, NULL) : msg;
        }
        if (ctx.errors->nelts)
            continue;
        if (desc->routes && (err = add_routes(env, p, inst, desc->routes, -1)))
            return err;
        if (inst->extra_routes &&
            (err = add_routes(env, p, inst, (const cb_route_def *)inst->extra_routes->elts,
                              inst->extra_routes->nelts)))
            return err;
        if (desc->access_policy)
            APR_ARRAY_PUSH(env->policy_hooks, cb_instance *) = inst;
        if (desc->identify)
            APR_ARRAY_PUSH(env->identity_hooks, cb_instance *) = inst;
        if (desc->after_response)
            APR_ARRAY_PUSH(env->after_hooks, cb_instance *) = inst;
    }
    return errors;
}

void cb_env_child_init(cb_env *env, apr_pool_t *pchild)
{
    for (int i = 0; env->instances && i < env->instances->nelts; i++) {
        cb_instance *inst = APR_ARRAY_IDX(env->instances, i, cb_instance *);
        if (inst->plugin->desc->child_init)
            inst->plugin->desc->child_init(inst->state, pchild);
    }
}
