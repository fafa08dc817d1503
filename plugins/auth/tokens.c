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

/* Signs an access token for a session and writes the token answer. */
static cb_status send_tokens(cb_req *req, auth_state *st, const auth_session *s,
                             const char *refresh_token)
{
    apr_pool_t *p = cb_req_pool(req);
    int64_t now = apr_time_sec(apr_time_now());
    cb_jwt_claims claims;
    const char *access, *err;
    cb_json *answer;
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
    answer = cb_json_new_object(p);
    cb_json_set_string(answer, "token_type", "Bearer");
    cb_json_set_string(answer, "access_token", access);
    cb_json_set_int(answer, "expires_in", st->access_ttl);
    cb_json_set_string(answer, "scope", s->scope);
    cb_json_set_string(answer, "sub", s->uid);
    cb_json_set(answer, "groups", auth_stored_array(p, s->groups_json));
    if (refresh_token)
        cb_json_set_string(answer, "refresh_token", refresh_token);
    cb_req_set_header(req, "Cache-Control", "no-store");
    return cb_req_send_json(req, 200, cb_json_dump(p, answer));
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
    cb_json *body;
    if (!st->allow_anonymous)
        return cb_req_send_error(req, 403, "PERMISSION_DENIED",
                                 "anonymous sign-in is disabled in this environment");
    if (!auth_device_id_ok(cb_req_header(req, "X-Device-Id")))
        return cb_req_send_error(req, 400, "INVALID_REQUEST",
                                 "the x-device-id header is required (1-128 printable characters)");
    if (cb_req_read_json_object(req, MAX_AUTH_BODY, &body) != CB_OK)
        return CB_ERROR;
    return new_session(req, st, cb_random_hex(cb_req_pool(req), AUTH_ID_LENGTH / 2),
                       "anonymous", "anonymous", "[]", 1);
}

/* The password grant, shared by /signin and /token. */
static cb_status password_grant(cb_req *req, auth_state *st, const cb_json *body)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *username = cb_json_get_string(body, "username");
    const char *password = cb_json_get_string(body, "password");
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
    cb_json *body;
    if (cb_req_read_json_object(req, MAX_AUTH_BODY, &body) != CB_OK)
        return CB_ERROR;
    return password_grant(req, state, body);
}

static cb_status refresh_grant(cb_req *req, auth_state *st, const cb_json *body)
{
    const char *token = cb_json_get_string(body, "refresh_token");
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
    cb_json *body;
    const char *grant;
    if (cb_req_read_json_object(req, MAX_AUTH_BODY, &body) != CB_OK)
        return CB_ERROR;
    grant = cb_json_get_string(body, "grant_type");
    if (!grant)
        return cb_req_send_error(req, 400, "INVALID_REQUEST", "grant_type is required");
    if (strcmp(grant, "refresh_token") == 0)
        return refresh_grant(req, st, body);
    if (strcmp(grant, "password") == 0)
        return password_grant(req, st, body);
    if (strcmp(grant, "client_credentials") == 0)
        return client_credentials_grant(req, st);
    return cb_req_send_error(req, 400, "unsupported_grant_type",
                             "grant_type must be refresh_token, password or client_credentials");
}

cb_status auth_client_credential(cb_req *req, void *state)
{
    cb_json *body;
    if (cb_req_read_json_object(req, MAX_AUTH_BODY, &body) != CB_OK)
        return CB_ERROR;
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
    cb_json *body;
    const char *token, *sid;
    cb_jwt_claims claims;
    if (cb_req_read_json_object(req, MAX_AUTH_BODY, &body) != CB_OK)
        return CB_ERROR;
    token = cb_json_get_string(body, "token");
    if (!token)
        return cb_req_send_error(req, 400, "INVALID_REQUEST", "token is required");
    sid = auth_refresh_token_sid(p, token);
    if (!sid && cb_jwt_verify(p, st->keys, token, strlen(token), st->env,
                              apr_time_sec(apr_time_now()), st->refresh_ttl, &claims) == CB_JWT_OK)
        sid = claims.sid;
    return sid ? end_session(req, st, sid) : cb_req_send_json(req, 200, "{}");
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
    cb_json *me, *groups = cb_json_new_array(p);
    const char *name = "anonymous", *username = "";
    int64_t created = 0, updated = 0;
    if (id->kind == CB_IDENTITY_USER) {
        apr_status_t rv = auth_user_by_id(st, p, id->uid, &user);
        cb_json *names;
        size_t i;
        if (rv == CB_REDIS_EDOWN)
            return auth_unavailable(req);
        if (rv != APR_SUCCESS)
            return cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND", "the user no longer exists");
        name = username = user.username;
        created = user.created_at;
        updated = user.updated_at;
        names = auth_stored_array(p, user.groups_json);
        for (i = 0; i < cb_json_array_size(names); i++) {
            cb_json *g = cb_json_array_get(names, i), *group;
            if (!cb_json_is_string(g))
                continue;
            group = cb_json_new_object(p);
            cb_json_set(group, "id", g);
            cb_json_append(groups, group);
        }
    } else if (id->kind == CB_IDENTITY_KEY || id->kind == CB_IDENTITY_ADMIN) {
        name = id->uid;
    }
    me = cb_json_new_object(p);
    cb_json_set_string(me, "sub", id->uid);
    cb_json_set_string(me, "name", name);
    cb_json_set_string(me, "picture", "");
    cb_json_set_string(me, "username", username);
    cb_json_set_string(me, "email", "");
    cb_json_set_string(me, "phone_number", "");
    cb_json_set(me, "providers", cb_json_new_array(p));
    cb_json_set_string(me, "status", "ACTIVE");
    cb_json_set(me, "groups", groups);
    cb_json_set(me, "meta", cb_json_new_object(p));
    cb_json_set_string(me, "created_at", apr_ltoa(p, (long)created));
    cb_json_set_string(me, "updated_at", apr_ltoa(p, (long)updated));
    cb_json_set_string(me, "user_id", id->uid);
    cb_json_set_bool(me, "has_password", id->kind == CB_IDENTITY_USER);
    return cb_req_send_json(req, 200, cb_json_dump(p, me));
}
