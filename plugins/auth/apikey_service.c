/*
 * apikey_service.c: publishes the "auth.apikeys" service (apikey_service.h)
 * over apikeys.c, so that another plugin creates, lists and revokes this
 * plugin's API keys without copying them.
 */
#include <string.h>

#include <apr_strings.h>

#include "apikey_service.h"
#include "auth.h"

static auth_apikey_svc_result status_of(apr_status_t rv)
{
    if (rv == APR_SUCCESS)
        return AUTH_APIKEY_SVC_OK;
    if (rv == APR_NOTFOUND)
        return AUTH_APIKEY_SVC_NOTFOUND;
    return rv == AUTH_EDOWN ? AUTH_APIKEY_SVC_DOWN : AUTH_APIKEY_SVC_ERROR;
}

static auth_apikey_svc_result svc_create(const auth_apikey_service *svc, apr_pool_t *p,
                                         const char *prefix, const char *name,
                                         int64_t expires_in, auth_apikey_info *out,
                                         const char **secret)
{
    auth_state *st = svc->auth;
    auth_apikey key;
    apr_status_t rv;
    if (prefix && strcmp(prefix, AUTH_APIKEY_TOSE_PREFIX) != 0)
        return AUTH_APIKEY_SVC_INVALID; /* a prefix the X-API-Key check would not know */
    if (!name || !*name || strlen(name) > AUTH_APIKEY_NAME_MAX || expires_in < 0)
        return AUTH_APIKEY_SVC_INVALID;
    rv = auth_apikey_create_prefixed(st, p, prefix, name, expires_in, NULL, &key, secret);
    if (rv != APR_SUCCESS)
        return status_of(rv);
    out->id = key.id;
    out->name = key.name;
    out->prefix = key.prefix;
    out->created_at = key.created_at;
    out->expires_at = key.expires_at;
    return AUTH_APIKEY_SVC_OK;
}

static auth_apikey_svc_result svc_list(const auth_apikey_service *svc, apr_pool_t *p,
                                       cb_json **out)
{
    return status_of(auth_apikey_list(svc->auth, p, out));
}

static auth_apikey_svc_result svc_revoke(const auth_apikey_service *svc, apr_pool_t *p,
                                         const char *id)
{
    if (!id || strlen(id) != AUTH_ID_LENGTH || strspn(id, "0123456789abcdef") != AUTH_ID_LENGTH)
        return AUTH_APIKEY_SVC_NOTFOUND;
    return status_of(auth_apikey_revoke(svc->auth, p, id));
}

cb_status auth_apikey_service_publish(cb_plugin_ctx *ctx, auth_state *st)
{
    /* One per environment, in the plugin's pool: it lives as long as st. */
    auth_apikey_service *svc = apr_pcalloc(cb_ctx_pool(ctx), sizeof(*svc));
    svc->auth = st;
    svc->create = svc_create;
    svc->list = svc_list;
    svc->revoke = svc_revoke;
    return cb_service_register(ctx, AUTH_APIKEY_SERVICE, AUTH_APIKEY_SERVICE_VERSION, svc);
}
