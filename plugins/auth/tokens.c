/*
 * tokens.c: the CloudBase /auth/v1 routes that sign in, issue and rotate
 * tokens, sign out and describe the caller. Wire format as the official
 * @cloudbase/js-sdk expects: bodies are JSON whatever the content type,
 * token answers carry token_type, access_token, refresh_token (when the
 * grant gives one), expires_in, scope, sub and groups, and errors use the
 * OAuth shape {error, error_description} (the routes' dialect).
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "auth.h"
#include "cloudbase/json.h"

#define MAX_AUTH_BODY (64 * 1024)
#define MAX_PASSWORD_LENGTH 256

cb_status auth_unavailable(cb_req *req)
{
    /* At most one line a second per process: an outage must not flood the log. */
    static apr_uint32_t last_logged;
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    if (apr_atomic_xchg32(&last_logged, now) != now)
        cb_log_req(req, CB_LOG_WARNING, "auth: the session store (Redis) is unavailable");
    cb_req_set_header(req, "Retry-After", "1");
    return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                             "the session store is unavailable; try again shortly");
}

cb_status auth_hashing_busy(cb_req *req)
{
    cb_req_set_header(req, "Retry-After", "1");
    return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                             "too many sign-ins are being checked right now; try again shortly");
}

json_t *auth_read_json(cb_req *req, size_t max_bytes)
{
    const char *data, *problem = NULL;
    size_t len;
    json_t *body;
    if (cb_req_read_body(req, max_bytes, &data, &len) != CB_OK)
        return NULL;
    if (!(body = auth_parse_body(cb_req_pool(req), data, len, &problem)))
        cb_req_send_error(req, 400, "INVALID_REQUEST", problem);
    return body;
}

static json_t *groups_array(const char *groups_json)
{
    json_t *groups = groups_json ? json_loads(groups_json, 0, NULL) : NULL;
    if (!json_is_array(groups)) {
        json_decref(groups);
        groups = json_array();
    }
    return groups;
}

/* Signs an access token for a session and writes the token answer. */
static cb_status send_tokens(cb_req *req, auth_state *st, const auth_session *s,
                             const char *refresh_token)
{
    apr_pool_t *p = cb_req_pool(req);
    int64_t now = apr_time_sec(apr_time_now());
    cb_jwt_claims claims;
    const char *access, *err;
    json_t *answer;
    cb_status rc;
    memset(&claims, 0, sizeof(claims));
    claims.sub = s->uid;
    claims.env = st->env;
    claims.scope = s->scope;
    claims.sid = s->sid;
    claims.jti = cb_random_hex(p, 16);
    claims.kind = s->kind;
    claims.iat = now;
    claims.exp = now + st->access_ttl;
    if ((err = cb_jwt_sign(p, st->keys, &claims, &access)))
        return cb_req_send_error(req, 500, "SYS_ERR", "could not sign the access token");
    answer = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o}", "token_type", "Bearer",
                       "access_token", access, "expires_in", (json_int_t)st->access_ttl,
                       "scope", s->scope, "sub", s->uid, "groups", groups_array(s->groups_json));
    if (refresh_token)
        json_object_set_new(answer, "refresh_token", json_string(refresh_token));
    cb_req_set_header(req, "Cache-Control", "no-store");
    rc = cb_req_send_json(req, 200, cb_json_dump(p, answer));
    json_decref(answer);
    return rc;
}

static cb_status new_session(cb_req *req, auth_state *st, const char *uid, const char *kind,
                             const char *scope, const char *groups_json, int with_refresh)
{
    auth_session session;
    const char *refresh;
    apr_status_t rv = auth_session_create(st, cb_req_pool(req), uid, kind, scope,
                                          groups_json, &session, &refresh);
    if (rv == CB_REDIS_EDOWN)
        return auth_unavailable(req);
    if (rv != APR_SUCCESS)
        return cb_req_send_error(req, 500, "SYS_ERR", "could not create the session");
    return send_tokens(req, st, &session, with_refresh ? refresh : NULL);
}


cb_status auth_signin_anonymously(cb_req *req, void *state)
{
    auth_state *st = state;
    json_t *body;
    if (!st->allow_anonymous)
        return cb_req_send_error(req, 403, "PERMISSION_DENIED",
                                 "anonymous sign-in is disabled in this environment");
    if (!auth_device_id_ok(cb_req_header(req, "X-Device-Id")))
        return cb_req_send_error(req, 400, "INVALID_REQUEST",
                                 "the x-device-id header is required (1-128 printable characters)");
    if (!(body = auth_read_json(req, MAX_AUTH_BODY)))
        return CB_ERROR;
    json_decref(body);
    return new_session(req, st, cb_random_hex(cb_req_pool(req), AUTH_ID_LENGTH / 2),
                       "anonymous", "anonymous", "[]", 1);
}

/* The password grant, shared by /signin and /token. */
static cb_status password_grant(cb_req *req, auth_state *st, json_t *body)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *username = cb_json_string(body, "username");
    const char *password = cb_json_string(body, "password");
    const char *ip = cb_req_client_ip(req);
    int64_t retry_after = 0;
    auth_user user;
    apr_status_t rv;
    int ok;
    if (!username || !password || auth_username_problem(username) ||
        strlen(password) > MAX_PASSWORD_LENGTH)
        return cb_req_send_error(req, 400, "INVALID_REQUEST",
                                 "username (2-48 characters) and password are required");
    /* The attempt is counted before its password is checked, so a burst
     * cannot have more passwords checked than the throttle allows. */
    rv = auth_throttle_reserve(st, p, username, ip, &retry_after);
    if (rv == CB_REDIS_EDOWN)
        return auth_unavailable(req);
    if (rv != APR_SUCCESS)
        return cb_req_send_error(req, 500, "SYS_ERR", "the sign-in could not be checked");
    if (retry_after > 0) {
        cb_req_set_header(req, "Retry-After", apr_ltoa(p, (long)retry_after));
        return cb_req_send_error(req, 429, "RATE_LIMITED",
                                 "too many failed sign-ins; wait before trying again");
    }
    rv = auth_user_by_name(st, p, username, &user);
    if (rv == CB_REDIS_EDOWN) {
        auth_throttle_refund(st, p, username, ip);
        return auth_unavailable(req);
    }
    if (!auth_hash_gate_enter(st->hash_gate)) {
        auth_throttle_refund(st, p, username, ip);
        return auth_hashing_busy(req);
    }
    /* A missing user is checked against the decoy hash, through the same
     * gate, so it costs as much time as a wrong password and does not
     * reveal which usernames exist. */
    ok = auth_password_verify(p, rv == APR_SUCCESS ? user.password_hash : st->decoy_hash,
                              password) && rv == APR_SUCCESS;
    auth_hash_gate_leave(st->hash_gate);
    if (!ok)
        return cb_req_send_error(req, 400, "invalid_grant", "wrong username or password");
    auth_throttle_refund(st, p, username, ip);
    return new_session(req, st, user.uid, "user", "user", user.groups_json, 1);
}

cb_status auth_signin(cb_req *req, void *state)
{
    json_t *body = auth_read_json(req, MAX_AUTH_BODY);
    cb_status rc;
    if (!body)
        return CB_ERROR;
    rc = password_grant(req, state, body);
    json_decref(body);
    return rc;
}

static cb_status refresh_grant(cb_req *req, auth_state *st, json_t *body)
{
    const char *token = cb_json_string(body, "refresh_token");
    const char *fresh;
    auth_session session;
    if (!token)
        return cb_req_send_error(req, 400, "INVALID_REQUEST", "refresh_token is required");
    switch (auth_session_refresh(st, cb_req_pool(req), token, &session, &fresh)) {
    case AUTH_REFRESH_OK:
        return send_tokens(req, st, &session, fresh);
    case AUTH_REFRESH_DOWN:
        return auth_unavailable(req);
    case AUTH_REFRESH_REUSED:
        fresh = auth_refresh_token_sid(cb_req_pool(req), token);
        cb_log_req(req, CB_LOG_WARNING, "auth: a used refresh token was presented again; "
                   "session %s revoked", fresh ? fresh : "?");
        return cb_req_send_error(req, 400, "invalid_grant",
                                 "this refresh token was already used; the session is revoked");
    default:
        return cb_req_send_error(req, 400, "invalid_grant",
                                 "the refresh token is not valid or has expired");
    }
}

/* client_credentials: HTTP Basic "KEY_ID:API_KEY" (or ":API_KEY") gives a
 * key token; "ENV:" with an empty secret is the SDK's public client and
 * gives an anonymous token when anonymous sign-in is allowed. No refresh
 * token either way. */
static cb_status client_credentials_grant(cb_req *req, auth_state *st)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *authorization = cb_req_header(req, "Authorization");
    const char *client_id, *client_secret;
    auth_apikey key;
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0) {
        if (st->allow_anonymous)
            return new_session(req, st, cb_random_hex(p, AUTH_ID_LENGTH / 2), "anonymous",
                               "anonymous", "[]", 0);
        return cb_req_send_error(req, 401, "UNAUTHENTICATED",
                                 "client credentials are required (HTTP Basic)");
    }
    if (!auth_parse_basic(p, authorization, &client_id, &client_secret))
        return cb_req_send_error(req, 400, "INVALID_REQUEST", "malformed Basic credentials");
    if (!*client_secret && strcmp(client_id, st->env) == 0 && st->allow_anonymous)
        return new_session(req, st, cb_random_hex(p, AUTH_ID_LENGTH / 2), "anonymous",
                           "anonymous", "[]", 0);
    switch (auth_apikey_verify(st, p, client_secret, &key)) {
    case AUTH_KEY_OK:
        return new_session(req, st, apr_pstrcat(p, "key:", key.id ? key.id : "", NULL), "key",
                           "key", "[]", 0);
    case AUTH_KEY_DOWN:
        return auth_unavailable(req);
    default:
        return cb_req_send_error(req, 401, "invalid_client", "the client credentials are not valid");
    }
}

cb_status auth_token(cb_req *req, void *state)
{
    auth_state *st = state;
    json_t *body = auth_read_json(req, MAX_AUTH_BODY);
    const char *grant;
    cb_status rc;
    if (!body)
        return CB_ERROR;
    grant = cb_json_string(body, "grant_type");
    if (!grant)
        rc = cb_req_send_error(req, 400, "INVALID_REQUEST", "grant_type is required");
    else if (strcmp(grant, "refresh_token") == 0)
        rc = refresh_grant(req, st, body);
    else if (strcmp(grant, "password") == 0)
        rc = password_grant(req, st, body);
    else if (strcmp(grant, "client_credentials") == 0)
        rc = client_credentials_grant(req, st);
    else
        rc = cb_req_send_error(req, 400, "unsupported_grant_type",
                               "grant_type must be refresh_token, password or client_credentials");
    json_decref(body);
    return rc;
}

cb_status auth_client_credential(cb_req *req, void *state)
{
    json_t *body = auth_read_json(req, MAX_AUTH_BODY);
    if (!body)
        return CB_ERROR;
    json_decref(body);
    return client_credentials_grant(req, state);
}

/* Ends the session a token belongs to. */
static cb_status end_session(cb_req *req, auth_state *st, const char *sid)
{
    apr_status_t rv = auth_session_revoke(st, cb_req_pool(req), sid);
    if (rv == CB_REDIS_EDOWN)
        return auth_unavailable(req);
    return cb_req_send_json(req, 200, "{}");
}

/* RFC 7009: any token the caller holds, access or refresh; an unknown token
 * is not an error. */
cb_status auth_revoke(cb_req *req, void *state)
{
    auth_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    json_t *body = auth_read_json(req, MAX_AUTH_BODY);
    const char *token, *sid;
    cb_jwt_claims claims;
    cb_status rc;
    if (!body)
        return CB_ERROR;
    token = cb_json_string(body, "token");
    if (!token) {
        json_decref(body);
        return cb_req_send_error(req, 400, "INVALID_REQUEST", "token is required");
    }
    sid = auth_refresh_token_sid(p, token);
    if (!sid && cb_jwt_verify(p, st->keys, token, strlen(token), st->env,
                              apr_time_sec(apr_time_now()), st->refresh_ttl, &claims) == CB_JWT_OK)
        sid = claims.sid;
    rc = sid ? end_session(req, st, sid) : cb_req_send_json(req, 200, "{}");
    json_decref(body);
    return rc;
}

cb_status auth_signout(cb_req *req, void *state)
{
    const cb_identity *id = cb_req_identity(req);
    if (!id->session_id)
        return cb_req_send_error(req, 400, "INVALID_REQUEST",
                                 "these credentials have no session to end");
    return end_session(req, state, id->session_id);
}

cb_status auth_me(cb_req *req, void *state)
{
    auth_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const cb_identity *id = cb_req_identity(req);
    auth_user user;
    json_t *me, *groups = json_array();
    const char *name = "anonymous", *username = "";
    int64_t created = 0, updated = 0;
    cb_status rc;
    if (id->kind == CB_IDENTITY_USER) {
        apr_status_t rv = auth_user_by_id(st, p, id->uid, &user);
        json_t *names;
        size_t i;
        json_t *g;
        if (rv == CB_REDIS_EDOWN)
            return auth_unavailable(req);
        if (rv != APR_SUCCESS)
            return cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND", "the user no longer exists");
        name = username = user.username;
        created = user.created_at;
        updated = user.updated_at;
        names = groups_array(user.groups_json);
        json_array_foreach(names, i, g)
            if (json_is_string(g))
                json_array_append_new(groups, json_pack("{s:O}", "id", g));
        json_decref(names);
    } else if (id->kind == CB_IDENTITY_KEY || id->kind == CB_IDENTITY_ADMIN) {
        name = id->uid;
    }
    me = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:s, s:o, s:{}, s:s, s:s, s:s, s:b}",
                   "sub", id->uid, "name", name, "picture", "", "username", username,
                   "email", "", "phone_number", "", "providers", "status", "ACTIVE",
                   "groups", groups, "meta", "created_at", apr_ltoa(p, (long)created),
                   "updated_at", apr_ltoa(p, (long)updated), "user_id", id->uid,
                   "has_password", id->kind == CB_IDENTITY_USER);
    rc = cb_req_send_json(req, 200, cb_json_dump(p, me));
    json_decref(me);
    return rc;
}
