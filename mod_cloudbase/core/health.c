/*
 * health.c: the core's readiness route (GET /health by default,
 * CloudBaseHealthPath to move it). Reports the environment, the loaded
 * plugins and whether Redis and the database (CloudBaseDatabase) answer;
 * 503 while a configured one does not.
 * While Redis answers, redis.warnings lists what threatens the data kept
 * there (no AOF, an evicting maxmemory-policy): advice, never a failure.
 * While the Redis breaker is open the answer costs no network round trip.
 */
#include <apr_strings.h>
#include <jansson.h>

#include "cb_core.h"
#include "cloudbase/json.h"

cb_status cb_health_handler(cb_req *req, void *unused)
{
    cb_env *env = req->env;
    json_t *body = json_object(), *plugins = json_array(), *redis = json_object();
    int redis_ok = 1, db_ok = 1;
    (void)unused;
    for (int i = 0; env->instances && i < env->instances->nelts; i++) {
        const cb_plugin *desc = APR_ARRAY_IDX(env->instances, i, cb_instance *)->plugin->desc;
        json_array_append_new(plugins, json_pack("{s:s, s:s}", "name", desc->name,
                                                 "version", desc->version ? desc->version : ""));
    }
    json_object_set_new(redis, "configured", json_boolean(env->redis != NULL));
    if (env->redis) {
        redis_ok = cb_redis_ping(env->redis, req->pool);
        json_object_set_new(redis, "reachable", json_boolean(redis_ok));
        if (redis_ok && env->durability) {
            apr_array_header_t *found =
                cb_redis_durability_warnings(env->durability, env->redis, req->pool);
            json_t *warnings = json_array();
            for (int i = 0; i < found->nelts; i++)
                json_array_append_new(warnings,
                                      json_string(APR_ARRAY_IDX(found, i, const char *)));
            json_object_set_new(redis, "warnings", warnings);
        }
    }
    if (env->db) {
        db_ok = cb_db_ping(env->db, req->pool);
        json_object_set_new(body, "database",
                            json_pack("{s:b, s:s, s:b}", "configured", 1, "driver",
                                      cb_db_driver(env->db), "reachable", db_ok));
    } else {
        json_object_set_new(body, "database", json_pack("{s:b}", "configured", 0));
    }
    json_object_set_new(body, "status", json_string(redis_ok && db_ok ? "ok" : "degraded"));
    json_object_set_new(body, "env", json_string(env->id ? env->id : ""));
    json_object_set_new(body, "plugins", plugins);
    json_object_set_new(body, "redis", redis);
    json_object_set_new(body, "requestId", json_string(req->request_id));
    cb_req_set_header(req, "Cache-Control", "no-store");
    cb_req_send_json(req, redis_ok && db_ok ? 200 : 503,
                     cb_json_dump(req->pool, (const cb_json *)body)); /* a json_t inside */
    json_decref(body);
    return CB_OK;
}
