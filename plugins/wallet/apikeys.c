/*
 * apikeys.c: the TOSE api-keys routes, next to the wallet's under
 * /api/workspaces/{slug}/ and in the same {success, data} envelope:
 *   POST   api-keys       {name, expires_in_days?}: {id, key, key_prefix} (201), shown once
 *   GET    api-keys       the keys, never their secret
 *   DELETE api-keys/{id}  revokes one
 * The keys are the auth plugin's (its "auth.apikeys" service,
 * plugins/auth/apikey_service.h), made with the "tose_sk_" prefix; the
 * auth plugin checks them in X-API-Key like its own. Only the admin key
 * manages keys (docs/plugins/wallet.md says why).
 */
#include <string.h>

#include <apr_strings.h>

#include "../auth/apikey_service.h"
#include "cloudbase/json.h"
#include "wallet.h"

#define APIKEYS_MAX_BODY 4096
#define APIKEYS_MAX_DAYS 3650

cb_status wallet_resolve(cb_plugin_ctx *ctx, void *state)
{
    wallet_plugin *w = state;
    /* Optional: without the auth plugin the api-keys routes answer 404. */
    w->apikeys = cb_service_lookup(ctx, AUTH_APIKEY_SERVICE, AUTH_APIKEY_SERVICE_VERSION);
    return CB_OK;
}

/* The admin key on this workspace, and the auth plugin's service; else
 * the error was answered. */
static const auth_apikey_service *keys_service(cb_req *req, wallet_plugin *w, cb_status *st)
{
    if ((*st = wallet_check_caller(req, 1)) != CB_OK)
        return NULL;
    if (!w->apikeys)
        *st = cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND",
                                "API keys are managed by the auth plugin, which this workspace "
                                "does not load");
    return w->apikeys;
}

static cb_status service_failed(cb_req *req, auth_apikey_svc_result r)
{
    if (r == AUTH_APIKEY_SVC_NOTFOUND)
        return cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND", "no API key has this id");
    if (r == AUTH_APIKEY_SVC_DOWN)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "API keys cannot be reached right now; try again shortly");
    return cb_req_send_error(req, 500, "SYS_ERR", "the API key could not be handled");
}

cb_status wallet_apikey_create_route(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    const auth_apikey_service *keys;
    const char *name, *secret;
    cb_json *body, *days_value, *data;
    int64_t days = 0;
    auth_apikey_info info;
    auth_apikey_svc_result r;
    cb_status st;
    if (!(keys = keys_service(req, state, &st)))
        return st;
    if (cb_req_read_json_object(req, APIKEYS_MAX_BODY, &body) != CB_OK)
        return CB_ERROR;
    name = cb_json_get_string(body, "name");
    if (!name || !*name || strlen(name) > AUTH_APIKEY_NAME_MAX)
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 apr_psprintf(p, "name is required: a string of 1 to %d "
                                              "characters", AUTH_APIKEY_NAME_MAX));
    days_value = cb_json_get(body, "expires_in_days");
    if (days_value && (!cb_json_int_value(days_value, &days) || days < 1 ||
                       days > APIKEYS_MAX_DAYS))
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 apr_psprintf(p, "expires_in_days must be a whole number from 1 "
                                              "to %d (leave it out for a key that does not "
                                              "expire)", APIKEYS_MAX_DAYS));
    r = keys->create(keys, p, AUTH_APIKEY_TOSE_PREFIX, name, days * 86400, &info, &secret);
    if (r != AUTH_APIKEY_SVC_OK)
        return service_failed(req, r);
    data = cb_json_new_object(p);
    cb_json_set_string(data, "id", info.id);
    cb_json_set_string(data, "name", info.name);
    cb_json_set_string(data, "key", secret);
    cb_json_set_string(data, "key_prefix", info.prefix);
    cb_json_set_string(data, "created_at", wallet_iso_time(p, info.created_at * 1000));
    if (info.expires_at)
        cb_json_set_string(data, "expires_at", wallet_iso_time(p, info.expires_at * 1000));
    else
        cb_json_set_null(data, "expires_at");
    cb_req_set_header(req, "Cache-Control", "no-store");
    return wallet_send_data(req, 201, data);
}

cb_status wallet_apikey_list_route(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    const auth_apikey_service *keys;
    cb_json *all, *list;
    auth_apikey_svc_result r;
    cb_status st;
    if (!(keys = keys_service(req, state, &st)))
        return st;
    if ((r = keys->list(keys, p, &all)) != AUTH_APIKEY_SVC_OK)
        return service_failed(req, r);
    list = cb_json_new_array(p);
    for (size_t i = 0; i < cb_json_array_size(all); i++) {
        const cb_json *k = cb_json_array_get(all, i);
        cb_json *o = cb_json_new_object(p);
        int64_t created = 0, expires = 0;
        cb_json_get_int(k, "created_at", &created);
        cb_json_get_int(k, "expires_at", &expires);
        cb_json_set_string(o, "id", cb_json_get_string(k, "id"));
        cb_json_set_string(o, "name", cb_json_get_string(k, "name"));
        cb_json_set_string(o, "key_prefix", cb_json_get_string(k, "prefix"));
        cb_json_set_string(o, "created_at", wallet_iso_time(p, created * 1000));
        if (expires)
            cb_json_set_string(o, "expires_at", wallet_iso_time(p, expires * 1000));
        else
            cb_json_set_null(o, "expires_at");
        cb_json_append(list, o);
    }
    return wallet_send_data(req, 200, list);
}

cb_status wallet_apikey_revoke_route(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    const auth_apikey_service *keys;
    const char *id = cb_req_param(req, "id");
    auth_apikey_svc_result r;
    cb_json *data;
    cb_status st;
    if (!(keys = keys_service(req, state, &st)))
        return st;
    if ((r = keys->revoke(keys, p, id)) != AUTH_APIKEY_SVC_OK)
        return service_failed(req, r);
    data = cb_json_new_object(p);
    cb_json_set_string(data, "id", id);
    cb_json_set_bool(data, "revoked", 1);
    return wallet_send_data(req, 200, data);
}
