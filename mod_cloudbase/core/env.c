/*
 * env.c: an environment (one virtual host) at start-up: runs each plugin
 * instance's create(), builds the router from core and plugin routes,
 * precomputes which instances have phase hooks, and collects background
 * tasks. Also the cb_ctx_* functions plugins call from create().
 */
#include <stdarg.h>
#include <string.h>

#include <apr_shm.h>
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

const cb_upstream *cb_ctx_upstream(cb_plugin_ctx *ctx, const char *url, int64_t timeout_ms,
                                   unsigned flags)
{
    cb_env *env = ctx->instance->env;
    cb_upstream *up;
    cb_url parsed;
    const char *err, *origin;
    if ((err = cb_parse_url(ctx->pool, url, &parsed))) {
        cb_ctx_error(ctx, "upstream '%s': %s", url, err);
        return NULL;
    }
    origin = apr_psprintf(ctx->pool, strchr(parsed.host, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
                          parsed.scheme, parsed.host, parsed.port);
    for (int i = 0; i < env->upstreams->nelts; i++) {
        up = APR_ARRAY_IDX(env->upstreams, i, cb_upstream *);
        if (strcmp(up->origin, origin) == 0 && up->timeout_ms == timeout_ms &&
            up->flags == flags)
            return up;
    }
    up = apr_pcalloc(ctx->pool, sizeof(*up));
    up->origin = origin;
    up->timeout_ms = timeout_ms;
    up->flags = flags;
    up->index = env->upstreams->nelts;
    APR_ARRAY_PUSH(env->upstreams, cb_upstream *) = up;
    return up;
}

void cb_ctx_declare_upstream(cb_plugin_ctx *ctx, const char *base_url)
{
    cb_ctx_upstream(ctx, base_url, 0, 0);
}

/* Anonymous shared memory made before the host forks its workers, so every
 * process of the node sees the same counters. Freed with the pool. */
apr_uint32_t *cb_ctx_shared_counters(cb_plugin_ctx *ctx, int count)
{
    apr_shm_t *shm;
    apr_size_t size = (apr_size_t)(count > 0 ? count : 1) * sizeof(apr_uint32_t);
    void *base;
    if (apr_shm_create(&shm, size, NULL, ctx->pool) != APR_SUCCESS) {
        cb_ctx_error(ctx, "cannot create %d shared counters", count);
        return NULL;
    }
    base = apr_shm_baseaddr_get(shm);
    memset(base, 0, size);
    return base;
}

void cb_ctx_add_task(cb_plugin_ctx *ctx, const char *name, apr_interval_time_t interval,
                     cb_task_fn fn)
{
    cb_task *t = apr_array_push(ctx->tasks);
    t->name = apr_pstrdup(ctx->pool, name);
    t->interval = interval;
    t->fn = fn;
    t->instance = ctx->instance;
    t->state = NULL;
}

void cb_ctx_add_core_task(cb_plugin_ctx *ctx, const char *name, apr_interval_time_t interval,
                          cb_task_fn fn, void *state)
{
    cb_ctx_add_task(ctx, name, interval, fn);
    APR_ARRAY_IDX(ctx->tasks, ctx->tasks->nelts - 1, cb_task).state = state;
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

/* Once every instance is created: required services are checked, then
 * each instance's resolve hook looks up the services it uses. */
static const char *resolve_services(cb_env *env, apr_pool_t *p)
{
    const char *errors = cb_services_check_needs(env, p);
    if (errors)
        return errors;
    for (int i = 0; env->instances && i < env->instances->nelts; i++) {
        cb_instance *inst = APR_ARRAY_IDX(env->instances, i, cb_instance *);
        const cb_plugin *desc = inst->plugin->desc;
        cb_plugin_ctx ctx;
        if (!inst->created || !desc->resolve)
            continue;
        memset(&ctx, 0, sizeof(ctx));
        ctx.instance = inst;
        ctx.pool = p;
        ctx.errors = apr_array_make(p, 1, sizeof(const char *));
        ctx.tasks = env->tasks;
        ctx.resolving = 1;
        if (desc->resolve(&ctx, inst->state) != CB_OK && !ctx.errors->nelts)
            cb_ctx_error(&ctx, "resolve() failed");
        for (int e = 0; e < ctx.errors->nelts; e++) {
            const char *msg = apr_psprintf(p, "%s:%d: plugin %s: %s", inst->config_file,
                                           inst->config_line, desc->name,
                                           APR_ARRAY_IDX(ctx.errors, e, const char *));
            errors = errors ? apr_pstrcat(p, errors, "; ", msg, NULL) : msg;
        }
    }
    return errors;
}

const char *cb_env_build(cb_env *env, apr_pool_t *p)
{
    const char *errors = NULL;
    env->router = cb_router_create(p);
    env->policy_hooks = apr_array_make(p, 2, sizeof(cb_instance *));
    env->identity_hooks = apr_array_make(p, 2, sizeof(cb_instance *));
    env->after_hooks = apr_array_make(p, 2, sizeof(cb_instance *));
    env->tasks = apr_array_make(p, 2, sizeof(cb_task));
    env->upstreams = apr_array_make(p, 2, sizeof(cb_upstream *));
    if (!env->allowlist)
        env->allowlist = cb_allowlist_create(p);
    if (env->redis)
        env->durability = cb_redis_durability_create(p);
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
        memset(&ctx, 0, sizeof(ctx));
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
        inst->created = 1;
    }
    if (errors)
        return errors;
    return resolve_services(env, p);
}

void cb_env_child_init(cb_env *env, apr_pool_t *pchild)
{
    for (int i = 0; env->instances && i < env->instances->nelts; i++) {
        cb_instance *inst = APR_ARRAY_IDX(env->instances, i, cb_instance *);
        if (inst->plugin->desc->child_init)
            inst->plugin->desc->child_init(inst->state, pchild);
    }
}
