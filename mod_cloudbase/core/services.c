/*
 * services.c: services between plugins (cb_service_register / lookup), the
 * plugin API's counterpart of httpd's ap_register_provider. Each environment
 * keeps its own registry: plugins publish from create(), and look up from
 * resolve(), which runs once every instance of the environment was created,
 * so the order plugins are configured in does not matter.
 */
#include <apr_hash.h>
#include <apr_strings.h>

#include "cb_core.h"

static apr_hash_t *registry(cb_env *env, apr_pool_t *p)
{
    if (!env->services)
        env->services = apr_hash_make(p);
    return env->services;
}

cb_status cb_service_register(cb_plugin_ctx *ctx, const char *name, int version,
                              const void *api)
{
    cb_env *env = ctx->instance->env;
    const cb_service *taken;
    cb_service *s;
    if (!name || !*name || version < 1 || !api) {
        cb_ctx_error(ctx, "cb_service_register needs a name, a version of 1 or more and "
                     "the service's struct");
        return CB_ERROR;
    }
    if ((taken = apr_hash_get(registry(env, ctx->pool), name, APR_HASH_KEY_STRING))) {
        cb_ctx_error(ctx, "service '%s' is already published by plugin %s (%s:%d); "
                     "configure only one plugin that publishes it per environment",
                     name, taken->owner->plugin->desc->name, taken->owner->config_file,
                     taken->owner->config_line);
        return CB_ERROR;
    }
    s = apr_pcalloc(ctx->pool, sizeof(*s));
    s->name = apr_pstrdup(ctx->pool, name);
    s->version = version;
    s->api = api;
    s->owner = ctx->instance;
    apr_hash_set(env->services, s->name, APR_HASH_KEY_STRING, s);
    return CB_OK;
}

void cb_ctx_require_service(cb_plugin_ctx *ctx, const char *name, int min_version)
{
    cb_env *env = ctx->instance->env;
    cb_service_need *need;
    if (!env->service_needs)
        env->service_needs = apr_array_make(ctx->pool, 2, sizeof(cb_service_need));
    need = apr_array_push(env->service_needs);
    need->name = apr_pstrdup(ctx->pool, name);
    need->min_version = min_version;
    need->instance = ctx->instance;
}

static const cb_service *find(const cb_env *env, const char *name)
{
    return env->services ? apr_hash_get(env->services, name, APR_HASH_KEY_STRING) : NULL;
}

const void *cb_service_lookup(cb_plugin_ctx *ctx, const char *name, int min_version)
{
    const cb_service *s;
    if (!ctx->resolving) {
        cb_ctx_error(ctx, "service '%s' looked up in create(): look services up in the "
                     "plugin's resolve hook, which runs once every plugin is created", name);
        return NULL;
    }
    s = find(ctx->instance->env, name);
    return s && s->version >= min_version ? s->api : NULL;
}

int cb_service_version(cb_plugin_ctx *ctx, const char *name)
{
    const cb_service *s = find(ctx->instance->env, name);
    return s ? s->version : 0;
}

const char *cb_services_check_needs(cb_env *env, apr_pool_t *p)
{
    const char *errors = NULL;
    for (int i = 0; env->service_needs && i < env->service_needs->nelts; i++) {
        const cb_service_need *need = &APR_ARRAY_IDX(env->service_needs, i, cb_service_need);
        const cb_service *s = find(env, need->name);
        const char *msg;
        if (s && s->version >= need->min_version)
            continue;
        if (s)
            msg = apr_psprintf(p, "%s:%d: plugin %s needs service '%s' version %d or newer; "
                               "plugin %s publishes version %d: upgrade plugin %s",
                               need->instance->config_file, need->instance->config_line,
                               need->instance->plugin->desc->name, need->name,
                               need->min_version, s->owner->plugin->desc->name, s->version,
                               s->owner->plugin->desc->name);
        else
            msg = apr_psprintf(p, "%s:%d: plugin %s needs service '%s' (version %d or "
                               "newer), which no plugin of environment %s publishes; "
                               "configure the plugin that provides it",
                               need->instance->config_file, need->instance->config_line,
                               need->instance->plugin->desc->name, need->name,
                               need->min_version, env->id ? env->id : "-");
        errors = errors ? apr_pstrcat(p, errors, "; ", msg, NULL) : msg;
    }
    return errors;
}
