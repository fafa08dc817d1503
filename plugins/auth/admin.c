/*
 * admin.c: the admin routes of the auth plugin, open only to the admin key
 * (the auth_admin_key option, a file: or env: secret):
 *
 *   POST   /auth/v1/admin/users          {username, password, groups?}
 *   POST   /auth/v1/admin/apikeys        {name, expires_in?, scopes?}
 *   GET    /auth/v1/admin/apikeys
 *   DELETE /auth/v1/admin/apikeys/{id}
 *
 * A new API key is shown once, in the creation answer; listings show only
 * its display prefix.
 */
#include <string.h>

#include <apr_strings.h>

#include "auth.h"
#include "cloudbase/json.h"

#define MAX_ADMIN_BODY (64 * 1024)

/* A JSON array of strings, or NULL (absent is fine: "[]"). */
static const char *string_array(apr_pool_t *p, const cb_json *value, int *ok)
{
    size_t i, n = cb_json_array_size(value), len;
    *ok = 1;
    if (!value)
        return "[]";
    if (!cb_json_is_array(value)) {
        *ok = 0;
        return NULL;
    }
    for (i = 0; i < n; i++)
        if (!cb_json_string_value(cb_json_array_get(value, i), &len) || len == 0 || len > 64) {
            *ok = 0;
            return NULL;
        }
    return cb_json_dump(p, value);
}

cb_status auth_admin_create_user(cb_req *req, void *state)
{
    auth_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *username, *password, *groups, *problem;
    cb_json *body, *answer;
    auth_user user;
    apr_status_t rv;
    int ok;
    if (cb_req_read_json_object(req, MAX_ADMIN_BODY, &body) != CB_OK)
        return CB_ERROR;
    username = cb_json_get_string(body, "username");
    password = cb_json_get_string(body, "password");
    groups = string_array(p, cb_json_get(body, "groups"), &ok);
    problem = !username ? "username is required" : auth_username_problem(username);
    if (!problem && (!password || (int64_t)strlen(password) < st->password_min_length))
        problem = apr_psprintf(p, "password must have at least %" APR_INT64_T_FMT " characters",
                               st->password_min_length);
    if (!problem && !ok)
        problem = "groups must be an array of strings";
    if (problem)
        return cb_req_send_error(req, 400, "INVALID_PARAM", problem);
    if (!auth_hash_gate_enter(st->hash_gate))
        return auth_hashing_busy(req);
    rv = auth_user_create(st, p, username, password, groups, &user);
    auth_hash_gate_leave(st->hash_gate);
    if (rv == CB_REDIS_EDOWN)
        return auth_unavailable(req);
    if (rv == APR_EEXIST)
        return cb_req_send_error(req, 409, "RESOURCE_EXISTS", "this username is taken");
    if (rv != APR_SUCCESS)
        return cb_req_send_error(req, 500, "SYS_ERR", "could not create the user");
    answer = cb_json_new_object(p);
    cb_json_set_string(answer, "sub", user.uid);
    cb_json_set_string(answer, "user_id", user.uid);
    cb_json_set_string(answer, "username", user.username);
    cb_json_set(answer, "groups", cb_json_parse(p, user.groups_json, strlen(user.groups_json), NULL));
    return cb_req_send_json(req, 201, cb_json_dump(p, answer));
}

cb_status auth_admin_create_key(cb_req *req, void *state)
{
    auth_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *name, *scopes, *secret, *prefix;
    cb_json *body, *answer, *expires;
    int64_t expires_in = 0;
    auth_apikey key;
    apr_status_t rv;
    int ok;
    if (cb_req_read_json_object(req, MAX_ADMIN_BODY, &body) != CB_OK)
        return CB_ERROR;
    name = cb_json_get_string(body, "name");
    scopes = string_array(p, cb_json_get(body, "scopes"), &ok);
    expires = cb_json_get(body, "expires_in");
    if (expires && (!cb_json_int_value(expires, &expires_in) || expires_in <= 0))
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "expires_in is a number of seconds greater than zero");
    if (!name || !*name || strlen(name) > 100 || !ok)
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "name (1-100 characters) is required; scopes is an array of strings");
    prefix = cb_json_get_string(body, "prefix");
    if (cb_json_get(body, "prefix") && !auth_apikey_prefix_ok(prefix))
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "prefix is \"cbk\" (the default) or \"tb\" (TestBase keys)");
    rv = auth_apikey_create(st, p, name, expires_in, scopes, prefix, &key, &secret);
    if (rv == CB_REDIS_EDOWN)
        return auth_unavailable(req);
    if (rv != APR_SUCCESS)
        return cb_req_send_error(req, 500, "SYS_ERR", "could not create the key");
    answer = cb_json_new_object(p);
    cb_json_set_string(answer, "id", key.id);
    cb_json_set_string(answer, "name", key.name);
    cb_json_set_string(answer, "key", secret);
    cb_json_set_string(answer, "prefix", key.prefix);
    cb_json_set(answer, "scopes", cb_json_parse(p, key.scopes_json, strlen(key.scopes_json), NULL));
    cb_json_set_int(answer, "created_at", key.created_at);
    cb_json_set_int(answer, "expires_at", key.expires_at);
    cb_req_set_header(req, "Cache-Control", "no-store");
    return cb_req_send_json(req, 201, cb_json_dump(p, answer));
}

cb_status auth_admin_list_keys(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_json *keys, *answer;
    apr_status_t rv = auth_apikey_list(state, p, &keys);
    if (rv == CB_REDIS_EDOWN)
        return auth_unavailable(req);
    if (rv != APR_SUCCESS)
        return cb_req_send_error(req, 500, "SYS_ERR", "could not list the keys");
    answer = cb_json_new_object(p);
    cb_json_set(answer, "data", keys);
    return cb_req_send_json(req, 200, cb_json_dump(p, answer));
}

cb_status auth_admin_revoke_key(cb_req *req, void *state)
{
    const char *id = cb_req_param(req, "id");
    apr_status_t rv;
    if (strlen(id) != AUTH_ID_LENGTH || strspn(id, "0123456789abcdef") != AUTH_ID_LENGTH)
        return cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND", "no API key has this id");
    rv = auth_apikey_revoke(state, cb_req_pool(req), id);
    if (rv == CB_REDIS_EDOWN)
        return auth_unavailable(req);
    if (rv == APR_NOTFOUND)
        return cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND", "no API key has this id");
    if (rv != APR_SUCCESS)
        return cb_req_send_error(req, 500, "SYS_ERR", "could not revoke the key");
    return cb_req_send_json(req, 200, apr_psprintf(cb_req_pool(req),
                                                   "{\"id\":\"%s\",\"revoked\":true}", id));
}
