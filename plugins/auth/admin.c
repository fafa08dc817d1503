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
static const char *string_array(apr_pool_t *p, json_t *value, int *ok)
{
    size_t i;
    json_t *v;
    *ok = 1;
    if (!value)
        return "[]";
    if (!json_is_array(value)) {
        *ok = 0;
        return NULL;
    }
    json_array_foreach(value, i, v)
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 64) {
            *ok = 0;
            return NULL;
        }
    return cb_json_dump(p, value);
}

cb_status auth_admin_create_user(cb_req *req, void *state)
{
    auth_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    json_t *body = auth_read_json(req, MAX_ADMIN_BODY), *answer;
    const char *username, *password, *groups, *problem;
    auth_user user;
    apr_status_t rv;
    cb_status rc;
    int ok;
    if (!body)
        return CB_ERROR;
    username = cb_json_string(body, "username");
    password = cb_json_string(body, "password");
    groups = string_array(p, json_object_get(body, "groups"), &ok);
    problem = !username ? "username is required" : auth_username_problem(username);
    if (!problem && (!password || (int64_t)strlen(password) < st->password_min_length))
        problem = apr_psprintf(p, "password must have at least %" APR_INT64_T_FMT " characters",
                               st->password_min_length);
    if (!problem && !ok)
        problem = "groups must be an array of strings";
    if (problem) {
        json_decref(body);
        return cb_req_send_error(req, 400, "INVALID_PARAM", problem);
    }
    if (!auth_hash_gate_enter(st->hash_gate)) {
        json_decref(body);
        return auth_hashing_busy(req);
    }
    rv = auth_user_create(st, p, username, password, groups, &user);
    auth_hash_gate_leave(st->hash_gate);
    json_decref(body);
    if (rv == CB_REDIS_EDOWN)
        return auth_unavailable(req);
    if (rv == APR_EEXIST)
        return cb_req_send_error(req, 409, "RESOURCE_EXISTS", "this username is taken");
    if (rv != APR_SUCCESS)
        return cb_req_send_error(req, 500, "SYS_ERR", "could not create the user");
    answer = json_pack("{s:s, s:s, s:s, s:o}", "sub", user.uid, "user_id", user.uid,
                       "username", user.username, "groups", json_loads(user.groups_json, 0, NULL));
    rc = cb_req_send_json(req, 201, cb_json_dump(p, answer));
    json_decref(answer);
    return rc;
}

cb_status auth_admin_create_key(cb_req *req, void *state)
{
    auth_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    json_t *body = auth_read_json(req, MAX_ADMIN_BODY), *answer, *expires;
    const char *name, *scopes, *secret;
    json_int_t expires_in = 0;
    auth_apikey key;
    apr_status_t rv;
    cb_status rc;
    int ok;
    if (!body)
        return CB_ERROR;
    name = cb_json_string(body, "name");
    scopes = string_array(p, json_object_get(body, "scopes"), &ok);
    expires = json_object_get(body, "expires_in");
    if (expires && (!json_is_integer(expires) || json_integer_value(expires) <= 0)) {
        json_decref(body);
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "expires_in is a number of seconds greater than zero");
    }
    expires_in = expires ? json_integer_value(expires) : 0;
    if (!name || !*name || strlen(name) > 100 || !ok) {
        json_decref(body);
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "name (1-100 characters) is required; scopes is an array of strings");
    }
    rv = auth_apikey_create(st, p, name, (int64_t)expires_in, scopes, &key, &secret);
    json_decref(body);
    if (rv == CB_REDIS_EDOWN)
        return auth_unavailable(req);
    if (rv != APR_SUCCESS)
        return cb_req_send_error(req, 500, "SYS_ERR", "could not create the key");
    answer = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I}", "id", key.id, "name", key.name,
                       "key", secret, "prefix", key.prefix,
                       "scopes", json_loads(key.scopes_json, 0, NULL),
                       "created_at", (json_int_t)key.created_at,
                       "expires_at", (json_int_t)key.expires_at);
    cb_req_set_header(req, "Cache-Control", "no-store");
    rc = cb_req_send_json(req, 201, cb_json_dump(p, answer));
    json_decref(answer);
    return rc;
}

cb_status auth_admin_list_keys(cb_req *req, void *state)
{
    json_t *keys, *answer;
    apr_status_t rv = auth_apikey_list(state, cb_req_pool(req), &keys);
    cb_status rc;
    if (rv == CB_REDIS_EDOWN)
        return auth_unavailable(req);
    if (rv != APR_SUCCESS)
        return cb_req_send_error(req, 500, "SYS_ERR", "could not list the keys");
    answer = json_pack("{s:o}", "data", keys);
    rc = cb_req_send_json(req, 200, cb_json_dump(cb_req_pool(req), answer));
    json_decref(answer);
    return rc;
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
