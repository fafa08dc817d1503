/*
 * summary.c: the one line the host logs at start-up: the module's version,
 * each environment (CloudBaseEnv) and the plugins it loaded, so that an
 * operator sees in the error log what the gateway serves.
 */
#include <apr_hash.h>
#include <apr_strings.h>

#include "cb_core.h"

/* "demo (plugins auth 0.1.0, functions 0.1.0)" */
static const char *describe_env(apr_pool_t *p, const cb_env *env)
{
    const char *text = NULL;
    for (int i = 0; env->instances && i < env->instances->nelts; i++) {
        const cb_plugin *desc = APR_ARRAY_IDX(env->instances, i, cb_instance *)->plugin->desc;
        const char *one = apr_pstrcat(p, desc->name, desc->version && *desc->version ? " " : "",
                                      desc->version ? desc->version : "", NULL);
        text = text ? apr_pstrcat(p, text, ", ", one, NULL) : one;
    }
    return apr_psprintf(p, "%s (%s%s)", env->id, text ? "plugins " : "no plugins",
                        text ? text : "");
}

const char *cb_startup_summary(apr_pool_t *p, const char *version, cb_env *const *envs,
                               int count)
{
    apr_hash_t *seen = apr_hash_make(p);
    const char *list = NULL;
    int distinct = 0;
    for (int i = 0; i < count; i++) {
        const char *one = describe_env(p, envs[i]);
        /* Virtual hosts of one site (http and https) share an environment. */
        if (apr_hash_get(seen, one, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, one, APR_HASH_KEY_STRING, one);
        list = list ? apr_pstrcat(p, list, "; ", one, NULL) : one;
        distinct++;
    }
    if (!list)
        return apr_psprintf(p, "mod_cloudbase %s started; no CloudBaseEnv is set, the gateway "
                               "is off", version);
    return apr_psprintf(p, "mod_cloudbase %s started; environment%s %s", version,
                        distinct > 1 ? "s" : "", list);
}
