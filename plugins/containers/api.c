/*
 * api.c: the TestBase-style container API under /api/v1/: create, get,
 * list, update (model, reasoning effort), delete, health and logs of the
 * caller's own containers. The registry is in the database service, the
 * live state (last status, last health check, tasks) in Redis
 * (live_state.c); the engine (or, for an agent type of the static driver,
 * its endpoint: static_driver.c) is asked for health and logs. Errors are
 * {error:{code, message, details}}, details.containerId naming the
 * container of the route; a container of another owner is answered
 * exactly like a missing one.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/encoding.h"
#include "cloudbase/log.h"
#include "containers.h"

#define MAX_CREATE_BODY (64 * 1024)
#define MAX_LOG_LINES 10000

cb_status ct_send_engine_error(cb_req *req, const ct_engine_reply *reply, const char *doing)
{
    cb_log_req(req, CB_LOG_WARNING, "containers: %s: engine answered %ld (%s) %.200s", doing,
               reply->status, reply->error ? reply->error : "", reply->body ? reply->body : "");
    if (reply->status == 0 && reply->error && strstr(reply->error, "timed out"))
        return cb_req_send_error_code(req, "CONTAINER_TIMEOUT",
                                      apr_pstrcat(cb_req_pool(req), "the container engine did "
                                                  "not answer in time while ", doing, NULL));
    if (reply->status == 0)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the container engine is not reachable; try again shortly");
    return cb_req_send_error(req, 502, "BAD_GATEWAY",
                             apr_pstrcat(cb_req_pool(req), "the container engine refused ",
                                         doing, NULL));
}

static cb_status not_found(cb_req *req, const char *id)
{
    return cb_req_send_error_code(req, "CONTAINER_NOT_FOUND",
                                  apr_psprintf(cb_req_pool(req), "Container %s was not found", id));
}

static cb_status registry_down(cb_req *req, cb_db *db)
{
    cb_log_req(req, CB_LOG_WARNING, "containers: registry: %s", cb_db_last_error(db));
    return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                             "the container registry is unavailable; try again shortly");
}

static int id_shape(const char *id)
{
    if (!id || strlen(id) != CT_ID_HEX)
        return 0;
    for (; *id; id++)
        if (!((*id >= '0' && *id <= '9') || (*id >= 'a' && *id <= 'f')))
            return 0;
    return 1;
}

cb_status ct_own_container(cb_req *req, ct_record *r)
{
    const char *id = cb_req_param(req, "id"), *owner = ct_owner(req);
    cb_db *db = cb_req_db(req);
    apr_status_t rv;
    if (!owner)
        return cb_req_send_error(req, 401, "UNAUTHENTICATED", "an API key is required");
    /* every later error of this request is about this container */
    cb_req_set_error_detail(req, "containerId", id ? id : "");
    if (!id_shape(id))
        return not_found(req, id ? id : "");
    rv = ct_registry_get(db, cb_req_pool(req), cb_req_env(req), id, r);
    if (rv == APR_NOTFOUND || (rv == APR_SUCCESS && strcmp(r->owner, owner) != 0))
        return not_found(req, id);
    if (rv != APR_SUCCESS)
        return registry_down(req, db);
    return CB_OK;
}

static cb_status send_object(cb_req *req, int status, const cb_json *o)
{
    return cb_req_send_json(req, status, cb_json_dump(cb_req_pool(req), o));
}

/* The container as the API shows it, with its live state from Redis. */
static cb_status send_record(cb_req *req, ct_plugin *ct, int status, const ct_record *r)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_json *o = ct_record_json(p, r);
    ct_live live;
    ct_live_read(ct, p, r, 1, &live);
    ct_live_to_json(p, o, &live);
    return send_object(req, status, o);
}

/* A container of a static agent type: a registry row (no engine, engine_id
 * ""), answered with the endpoint's live status. */
static cb_status create_static(cb_req *req, ct_plugin *ct, const ct_agent_type *type,
                               ct_record *r)
{
    apr_pool_t *p = cb_req_pool(req);
    int healthy;
    r->status = "registered";
    if (ct_registry_insert(ct->db, p, ct->env, r) != APR_SUCCESS)
        return registry_down(req, ct->db);
    ct_static_status(ct, p, type, &r->status, &healthy);
    return send_record(req, ct, 201, r);
}

cb_status ct_api_create(cb_req *req, void *state)
{
    ct_plugin *ct = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *owner = ct_owner(req), *err;
    const ct_agent_type *type;
    ct_engine_reply reply;
    ct_record r = {0};
    cb_json *body;
    cb_status st;
    if (!owner)
        return cb_req_send_error(req, 401, "UNAUTHENTICATED", "an API key is required");
    if ((st = cb_req_read_json_object(req, MAX_CREATE_BODY, &body)) != CB_OK)
        return st;
    if ((err = ct_parse_create_body(p, body, ct->default_type, &r)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    if (!(type = apr_hash_get(ct->types, r.agent_type, APR_HASH_KEY_STRING)))
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 apr_psprintf(p, "agentType '%s' is not configured",
                                              r.agent_type));
    r.id = cb_random_hex(p, CT_ID_HEX / 2);
    r.owner = owner;
    r.status = "creating";
    r.engine_id = "";
    r.created_ms = apr_time_as_msec(apr_time_now());
    cb_req_set_error_detail(req, "containerId", r.id);
    if (type->driver == CT_DRIVER_STATIC)
        return create_static(req, ct, type, &r);
    /* the row first: the reaper never takes this container for an orphan */
    if (ct_registry_insert(ct->db, p, ct->env, &r) != APR_SUCCESS)
        return registry_down(req, ct->db);
    ct_live_status(ct, p, &r, r.status);
    ct_engine_run(&ct->engine, p, type, ct->env, owner, r.id, &r.engine_id, &reply);
    if (reply.status != 204 && reply.status != 304) {
        if (r.engine_id) {
            ct_engine_reply ignored;
            ct_engine_remove(&ct->engine, p, r.engine_id, &ignored);
        }
        ct_registry_delete(ct->db, p, ct->env, r.id);
        ct_live_removed(ct, p, r.id);
        return ct_send_engine_error(req, &reply, "creating the container");
    }
    r.status = "running";
    if (ct_registry_set_engine(ct->db, p, ct->env, r.id, r.engine_id, r.status) != APR_SUCCESS) {
        ct_engine_reply ignored;
        ct_engine_remove(&ct->engine, p, r.engine_id, &ignored);
        ct_registry_delete(ct->db, p, ct->env, r.id);
        ct_live_removed(ct, p, r.id);
        return registry_down(req, ct->db);
    }
    ct_live_status(ct, p, &r, r.status);
    return send_record(req, ct, 201, &r);
}

cb_status ct_api_get(cb_req *req, void *state)
{
    const ct_agent_type *type;
    ct_record r;
    int healthy;
    cb_status st = ct_own_container(req, &r);
    if (st != CB_OK)
        return st;
    if ((type = ct_static_type(state, &r))) /* the live status, from the endpoint */
        ct_static_status(state, cb_req_pool(req), type, &r.status, &healthy);
    return send_record(req, state, 200, &r);
}

cb_status ct_api_list(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *owner = ct_owner(req);
    apr_array_header_t *rows;
    cb_json *out = cb_json_new_object(p), *list = cb_json_new_array(p);
    ct_live *live;
    if (!owner)
        return cb_req_send_error(req, 401, "UNAUTHENTICATED", "an API key is required");
    if (ct_registry_list(cb_req_db(req), p, cb_req_env(req), owner, &rows) != APR_SUCCESS)
        return registry_down(req, cb_req_db(req));
    live = apr_palloc(p, sizeof(*live) * (size_t)(rows->nelts + 1));
    ct_live_read(state, p, (const ct_record *)rows->elts, rows->nelts, live);
    for (int i = 0; i < rows->nelts; i++) {
        cb_json *o = ct_record_json(p, &APR_ARRAY_IDX(rows, i, ct_record));
        ct_live_to_json(p, o, &live[i]);
        cb_json_append(list, o);
    }
    cb_json_set(out, "containers", list);
    cb_json_set_int(out, "total", rows->nelts);
    return send_object(req, 200, out);
}

cb_status ct_api_patch(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *err;
    ct_record r;
    cb_json *body;
    cb_status st = ct_own_container(req, &r);
    if (st != CB_OK)
        return st;
    if ((st = cb_req_read_json_object(req, MAX_CREATE_BODY, &body)) != CB_OK)
        return st;
    if ((err = ct_parse_patch_body(p, body, &r)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    if (ct_registry_update_settings(cb_req_db(req), p, cb_req_env(req), &r) != APR_SUCCESS)
        return registry_down(req, cb_req_db(req));
    return send_record(req, state, 200, &r);
}

cb_status ct_api_delete(cb_req *req, void *state)
{
    ct_plugin *ct = state;
    apr_pool_t *p = cb_req_pool(req);
    ct_engine_reply reply;
    ct_record r;
    cb_json *out;
    cb_status st = ct_own_container(req, &r);
    if (st != CB_OK)
        return st;
    reply.status = 404; /* a row still `creating` has no container yet */
    /* a static container is not ours to remove: its row only */
    if (*r.engine_id && !ct_static_type(ct, &r))
        ct_engine_remove(&ct->engine, p, r.engine_id, &reply);
    /* 404: already gone from the engine, which is what delete wants */
    if (reply.status != 204 && reply.status != 200 && reply.status != 404)
        return ct_send_engine_error(req, &reply, "removing the container");
    if (ct_registry_delete(cb_req_db(req), p, ct->env, r.id) != APR_SUCCESS)
        return registry_down(req, cb_req_db(req));
    ct_live_removed(ct, p, r.id);
    out = cb_json_new_object(p);
    cb_json_set_string(out, "id", r.id);
    cb_json_set_bool(out, "deleted", 1);
    return send_object(req, 200, out);
}

cb_status ct_api_health(cb_req *req, void *state)
{
    ct_plugin *ct = state;
    apr_pool_t *p = cb_req_pool(req);
    ct_engine_reply reply;
    ct_record r;
    cb_json *out, *inspect, *st_json;
    const char *status = "missing";
    int running = 0;
    const ct_agent_type *type;
    cb_status st = ct_own_container(req, &r);
    if (st != CB_OK)
        return st;
    if ((type = ct_static_type(ct, &r)))
        return ct_static_health(req, ct, type);
    ct_engine_call(&ct->engine, p, "GET", apr_pstrcat(p, "/containers/", r.engine_id, "/json",
                                                       NULL), NULL, &reply);
    if (reply.status == 200) {
        inspect = cb_json_parse(p, reply.body, reply.body_len, NULL);
        st_json = inspect ? cb_json_get(inspect, "State") : NULL;
        if (st_json && cb_json_get_string(st_json, "Status"))
            status = cb_json_get_string(st_json, "Status");
        if (st_json && cb_json_get(st_json, "Running"))
            cb_json_bool_value(cb_json_get(st_json, "Running"), &running);
    } else if (reply.status != 404) {
        return ct_send_engine_error(req, &reply, "inspecting the container");
    }
    ct_live_health(ct, p, &r, status, running);
    out = cb_json_new_object(p);
    cb_json_set_string(out, "status", status);
    cb_json_set_bool(out, "healthy", running);
    return send_object(req, 200, out);
}

cb_status ct_api_logs(cb_req *req, void *state)
{
    ct_plugin *ct = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *lines_text = cb_req_query_param(req, "lines"), *text;
    int64_t lines = 100;
    size_t len;
    ct_engine_reply reply;
    ct_record r;
    const ct_agent_type *type;
    cb_status st = ct_own_container(req, &r);
    if (st != CB_OK)
        return st;
    if (lines_text) {
        char *end;
        lines = strtoll(lines_text, &end, 10);
        if (!*lines_text || *end || lines < 1 || lines > MAX_LOG_LINES)
            return cb_req_send_error(req, 400, "INVALID_PARAM",
                                     "lines must be a number from 1 to 10000");
    }
    if ((type = ct_static_type(ct, &r)))
        return ct_static_logs(req, ct, type, (int)lines);
    ct_engine_logs(&ct->engine, p, r.engine_id, (int)lines, &text, &len, &reply);
    if (reply.status == 404)
        return cb_req_send_error_code(req, "CONTAINER_NOT_FOUND",
                                      apr_psprintf(p, "Container %s is gone from the engine",
                                                   r.id));
    if (reply.status != 200)
        return ct_send_engine_error(req, &reply, "reading the logs");
    cb_req_set_status(req, 200);
    cb_req_set_header(req, "Content-Type", "text/plain; charset=utf-8");
    return cb_req_write(req, text, len);
}
