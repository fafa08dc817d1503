/*
 * apikey_service.h: the auth plugin's "auth.apikeys" service, through
 * which other plugins of the environment (the wallet's TOSE api-keys
 * routes) create, list and revoke the auth plugin's API keys. The keys
 * stay the auth plugin's: same tables, same cache, same X-API-Key check.
 *
 *   const auth_apikey_service *keys = cb_service_lookup(ctx, AUTH_APIKEY_SERVICE,
 *                                                       AUTH_APIKEY_SERVICE_VERSION);
 *   keys->create(keys, p, AUTH_APIKEY_TOSE_PREFIX, "ci", 90 * 86400, &info, &secret);
 */
#ifndef CB_AUTH_APIKEY_SERVICE_H
#define CB_AUTH_APIKEY_SERVICE_H

#include <stdint.h>

#include <apr_pools.h>

#include "cloudbase/json.h"

#define AUTH_APIKEY_SERVICE "auth.apikeys"
#define AUTH_APIKEY_SERVICE_VERSION 1
/* The prefix of TOSE keys (seed 003); NULL asks for the environment's own
 * "cbk_ENV_". No other prefix is accepted. */
#define AUTH_APIKEY_TOSE_PREFIX "tose_sk_"
#define AUTH_APIKEY_NAME_MAX 100

typedef enum {
    AUTH_APIKEY_SVC_OK = 0,
    AUTH_APIKEY_SVC_NOTFOUND,   /* no key has this id in the environment */
    AUTH_APIKEY_SVC_INVALID,    /* a name, prefix or expiry the service refuses */
    AUTH_APIKEY_SVC_DOWN,       /* the database (or Redis) is unavailable */
    AUTH_APIKEY_SVC_ERROR
} auth_apikey_svc_result;

typedef struct auth_apikey_info {
    const char *id;
    const char *name;
    const char *prefix;          /* the display prefix, e.g. "tose_sk_1a2b" */
    int64_t created_at;          /* seconds since the epoch */
    int64_t expires_at;          /* 0: never */
} auth_apikey_info;

typedef struct auth_apikey_service auth_apikey_service;
struct auth_apikey_service {
    void *auth; /* the publishing plugin's state: pass the struct itself to each call */
    /* A new key; expires_in in seconds (0: never). *secret is the whole
     * key, to be shown once and never stored by the caller. */
    auth_apikey_svc_result (*create)(const auth_apikey_service *svc, apr_pool_t *p,
                                     const char *prefix, const char *name, int64_t expires_in,
                                     auth_apikey_info *out, const char **secret);
    /* The environment's unexpired keys, oldest first, as a JSON array of
     * {id, name, prefix, scopes, created_at, expires_at} (no secrets). */
    auth_apikey_svc_result (*list)(const auth_apikey_service *svc, apr_pool_t *p, cb_json **out);
    /* Revokes a key at once in this process, in the others within the
     * auth plugin's staleness bound. */
    auth_apikey_svc_result (*revoke)(const auth_apikey_service *svc, apr_pool_t *p,
                                     const char *id);
};

#endif
