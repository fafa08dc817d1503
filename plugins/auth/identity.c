/*
 * identity.c: the auth plugin's identity hook. Turns the credentials of a
 * request into an identity for every route of the environment:
 *
 *   Authorization: Bearer <admin key>      -> admin
 *   Authorization: Bearer cbk_ENV_...      -> API key (also X-Api-Key)
 *   Authorization: Bearer <access token>   -> anonymous or user
 *
 * Access tokens are JWTs verified locally (signature, expiry, environment);
 * their session must still exist, which the per-process cache answers
 * without Redis for the staleness bound. With Redis down, a session
 * verified within that bound keeps working; after it the route answers 503.
 */
#include <string.h>

#include <apr_strings.h>

#include "auth.h"

static apr_array_header_t *split_words(apr_pool_t *p, const char *text)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    char *copy, *state;
    if (text && *text && !strchr(text, ' ')) { /* one word: the usual case, no copy */
        APR_ARRAY_PUSH(out, const char *) = text;
        return out;
    }
    copy = apr_pstrdup(p, text ? text : "");
    for (char *w = apr_strtok(copy, " ", &state); w; w = apr_strtok(NULL, " ", &state))
        APR_ARRAY_PUSH(out, const char *) = w;
    return out;
}

static apr_array_header_t *json_strings(apr_pool_t *p, const char *json)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    cb_json *array = auth_stored_array(p, json);
    for (size_t i = 0; i < cb_json_array_size(array); i++) {
        const char *s = cb_json_string_value(cb_json_array_get(array, i), NULL);
        if (s)
            APR_ARRAY_PUSH(out, const char *) = s;
    }
    return out;
}

auth_token_result auth_verify_access_token(auth_state *st, apr_pool_t *p, const char *token,
                                           int64_t leeway, cb_jwt_claims *claims,
                                           const char **why)
{
    size_t len = strlen(token);
    int64_t now = apr_time_sec(apr_time_now());
    if (!auth_token_cache_get(st, p, token, len, claims)) {
        cb_jwt_result r = cb_jwt_verify(p, st->keys, token, len, st->env, now, leeway, claims);
        if (r != CB_JWT_OK) {
            *why = cb_jwt_result_text(r);
            return r == CB_JWT_EXPIRED ? AUTH_TOKEN_EXPIRED : AUTH_TOKEN_INVALID;
        }
        auth_token_cache_put(st, token, len, claims, leeway);
    }
    switch (auth_session_active(st, p, claims->sid)) {
    case AUTH_ACTIVE:
        return AUTH_TOKEN_OK;
    case AUTH_INACTIVE:
        *why = "the session has ended (signed out or revoked)";
        return AUTH_TOKEN_INVALID;
    default:
        *why = "the session store is unavailable";
        return AUTH_TOKEN_DOWN;
    }
}

static cb_status identify_key(cb_req *req, auth_state *st, const char *secret, cb_identity *out)
{
    auth_apikey key;
    switch (auth_apikey_verify(st, cb_req_pool(req), secret, &key)) {
    case AUTH_KEY_OK:
        out->kind = CB_IDENTITY_KEY;
        out->uid = key.id ? apr_pstrcat(cb_req_pool(req), "key:", key.id, NULL) : "key";
        out->env = st->env;
        out->scopes = json_strings(cb_req_pool(req), key.scopes_json);
        out->groups = apr_array_make(cb_req_pool(req), 0, sizeof(const char *));
        return CB_OK;
    case AUTH_KEY_DOWN:
        cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                          "the key store is unavailable; try again shortly");
        return CB_ERROR;
    default:
        cb_req_send_error(req, 401, "UNAUTHENTICATED", "the API key is not valid");
        return CB_ERROR;
    }
}

cb_status auth_identify(cb_req *req, void *state, cb_identity *out)
{
    auth_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *authorization = cb_req_header(req, "Authorization");
    const char *api_key = cb_req_header(req, "X-Api-Key");
    const char *token, *why = NULL;
    cb_jwt_claims claims;

    if (api_key) {
        if (st->admin_key && cb_equal_secret_str(api_key, st->admin_key))
            goto admin;
        return identify_key(req, st, api_key, out);
    }
    if (!(token = auth_bearer_token(authorization)))
        return CB_DECLINED; /* Basic and others belong to the token routes */
    if (st->admin_key && cb_equal_secret_str(token, st->admin_key))
        goto admin;
    if (auth_apikey_shape(st, token))
        return identify_key(req, st, token, out);

    switch (auth_verify_access_token(st, p, token, st->token_leeway, &claims, &why)) {
    case AUTH_TOKEN_OK:
        break;
    case AUTH_TOKEN_EXPIRED: /* the SDK refreshes and retries on exactly this */
        cb_req_send_error_code(req, "ACCESS_TOKEN_EXPIRED", NULL);
        return CB_ERROR;
    case AUTH_TOKEN_DOWN:
        cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                          "the session store is unavailable; try again shortly");
        return CB_ERROR;
    default:
        cb_req_send_error(req, 401, "UNAUTHENTICATED",
                          apr_pstrcat(p, "the access token is not valid: ", why, NULL));
        return CB_ERROR;
    }
    out->kind = strcmp(claims.kind ? claims.kind : "", "anonymous") == 0
                    ? CB_IDENTITY_ANONYMOUS : CB_IDENTITY_USER;
    out->uid = claims.sub;
    out->env = claims.env;
    out->session_id = claims.sid;
    out->scopes = split_words(p, claims.scope);
    out->groups = apr_array_make(p, 0, sizeof(const char *));
    return CB_OK;

admin:
    out->kind = CB_IDENTITY_ADMIN;
    out->uid = "admin";
    out->env = st->env;
    out->scopes = split_words(p, "admin");
    out->groups = apr_array_make(p, 0, sizeof(const char *));
    return CB_OK;
}
